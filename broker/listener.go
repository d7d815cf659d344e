package broker

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Listener is one entry of listeners or advertised.listeners, parsed as
// Kafka's SocketServerConfigs.listenerListToEndPoints does: the name
// normalised to upper case (ListenerName.normalised), an empty host kept
// empty (Kafka stores it as null: bind the wildcard address), the security
// protocol looked up in listener.security.protocol.map.
type Listener struct {
	Name     string
	Host     string
	Port     int32
	Protocol SecurityProtocol
}

// String is EndPoint.connectionString: "NAME://host:port", an IPv6 host in
// brackets (Utils.formatAddress), "NAME://:port" without a host.
func (l Listener) String() string {
	if l.Host == "" {
		return l.Name + "://:" + strconv.Itoa(int(l.Port))
	}
	return l.Name + "://" + net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
}

// Addr is the host:port to bind or dial.
func (l Listener) Addr() string { return net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port))) }

// DefaultListenerProtocols is Kafka's default listener.security.protocol.map:
// every security protocol is a listener name mapped to itself.
func DefaultListenerProtocols() map[string]SecurityProtocol {
	return map[string]SecurityProtocol{"PLAINTEXT": Plaintext, "SSL": SSL, "SASL_PLAINTEXT": SASLPlaintext, "SASL_SSL": SASLSSL}
}

// ParseListenerProtocols reads listener.security.protocol.map as
// KafkaConfig.effectiveListenerSecurityProtocolMap does (Csv.parseCsvMap:
// entries split at commas, each at its last colon; names normalised to
// upper case; SecurityProtocol.forName is case-insensitive).
func ParseListenerProtocols(value string) (map[string]SecurityProtocol, error) {
	out := map[string]SecurityProtocol{}
	if strings.TrimSpace(value) == "" {
		return out, nil
	}
	for _, e := range strings.Split(value, ",") {
		e = strings.TrimSpace(e)
		i := strings.LastIndexByte(e, ':')
		if i < 0 {
			// Csv.parseCsvMap: substring(0, -1) throws.
			return nil, fmt.Errorf("Error parsing configuration property 'listener.security.protocol.map': begin 0, end -1, length %d", len(e))
		}
		name, proto := strings.TrimSpace(e[:i]), strings.TrimSpace(e[i+1:])
		if name == "" {
			return nil, fmt.Errorf("The provided listener name is null or empty string")
		}
		p, ok := ParseSecurityProtocol(proto)
		if !ok {
			return nil, fmt.Errorf("Invalid security protocol `%s` defined in listener.security.protocol.map", proto)
		}
		out[strings.ToUpper(name)] = p
	}
	return out, nil
}

// listenerRE is SocketServerConfigs.URI_PARSE_REGEXP (matched whole).
var listenerRE = regexp.MustCompile(`^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$`)

// ParseListeners reads a listeners or advertised.listeners value as
// CoreUtils.listenerListToEndPoints: each entry NAME://host:port with a
// protocol in protocols, names distinct and, when distinctPorts (listeners,
// not advertised.listeners), ports distinct unless one IPv4 and one IPv6
// address share one (port 0 is exempt). Errors carry Kafka's messages.
func ParseListeners(value string, protocols map[string]SecurityProtocol, distinctPorts bool) ([]Listener, error) {
	wrap := func(msg string) error {
		return fmt.Errorf("Error creating broker listeners from '%s': %s", value, msg)
	}
	var out []Listener
	for _, e := range strings.Split(strings.TrimSpace(value), ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		m := listenerRE.FindStringSubmatch(e)
		if m == nil {
			return nil, wrap(fmt.Sprintf("Unable to parse %s to a broker endpoint", e))
		}
		if strings.TrimSpace(m[1]) == "" {
			return nil, wrap("The provided listener name is null or empty string")
		}
		name := strings.ToUpper(m[1])
		port, err := strconv.ParseInt(m[3], 10, 32)
		if err != nil {
			return nil, wrap(fmt.Sprintf("For input string: \"%s\"", m[3]))
		}
		if port < 0 || port > 65535 {
			// Kafka only finds out when it binds.
			return nil, wrap(fmt.Sprintf("port %d of listener %s is out of range", port, name))
		}
		proto, ok := protocols[name]
		if !ok {
			return nil, wrap("No security protocol defined for listener " + name)
		}
		out = append(out, Listener{Name: name, Host: m[2], Port: int32(port), Protocol: proto})
	}
	// CoreUtils.listenerListToEndPoints.validate
	seen := map[string]bool{}
	for _, l := range out {
		if seen[l.Name] {
			return nil, fmt.Errorf("requirement failed: Each listener must have a different name, listeners: %s", value)
		}
		seen[l.Name] = true
	}
	if !distinctPorts {
		return out, nil
	}
	byPort := map[int32][]Listener{}
	var ports []int32
	for _, l := range out {
		if l.Port == 0 {
			continue
		}
		if len(byPort[l.Port]) == 0 {
			ports = append(ports, l.Port)
		}
		byPort[l.Port] = append(byPort[l.Port], l)
	}
	for _, port := range ports {
		eps := byPort[port]
		if len(eps) < 2 {
			continue
		}
		var withIP, withoutIP []Listener
		for _, l := range eps {
			if l.Host != "" && net.ParseIP(l.Host) != nil {
				withIP = append(withIP, l)
			} else {
				withoutIP = append(withoutIP, l)
			}
		}
		if len(withoutIP) > 1 {
			return nil, fmt.Errorf("requirement failed: Each listener must have a different port, listeners: %s", value)
		}
		switch len(withIP) {
		case 0:
		case 2:
			msg := fmt.Sprintf("If you have two listeners on the same port then one needs to be IPv4 and the other IPv6, listeners: %s, port: %d", value, port)
			if !oneIPv4OneIPv6(withIP[0].Host, withIP[1].Host) {
				return nil, fmt.Errorf("requirement failed: %s", msg)
			}
			if len(withoutIP) > 0 {
				return nil, fmt.Errorf("%s", msg)
			}
		default:
			return nil, fmt.Errorf("Each listener must have a different port unless exactly one listener has an IPv4 address and the other IPv6 address, listeners: %s, port: %d", value, port)
		}
	}
	return out, nil
}

func oneIPv4OneIPv6(a, b string) bool {
	v4 := func(s string) bool { ip := net.ParseIP(s); return ip != nil && !strings.Contains(s, ":") }
	v6 := func(s string) bool { ip := net.ParseIP(s); return ip != nil && strings.Contains(s, ":") }
	return (v4(a) && v6(b)) || (v6(a) && v4(b))
}

// protectedListener is ConnectionQuotas.protectedListener: with more than
// one listener, the inter-broker listener is held by neither the
// broker-wide max.connections nor the broker-wide
// max.connection.creation.rate (only by its own listener's limits), so
// brokers can always reach each other.
func (s *Server) protectedListener(listener string) bool {
	return len(s.bound) > 1 && listener == s.cfg.interBrokerListener()
}
