package broker

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// Per-address connection limits (Kafka's ConnectionQuotas):
// max.connections.per.ip and max.connections.per.ip.overrides, static or
// dynamic broker configs. A new connection from an address that already
// has its maximum is closed at once (TooManyConnectionsException); the
// connections it has stay. The broker-wide and per-listener
// max.connections and max.connection.creation.rate are stored but have no
// effect here yet.

// parseConnectionOverrides is Csv.parseCsvMap for
// max.connections.per.ip.overrides: "host:count,host:count", each entry
// split at its last colon.
func parseConnectionOverrides(v string) (map[string]int, error) {
	out := map[string]int{}
	v = strings.TrimSpace(v)
	if v == "" {
		return out, nil
	}
	for _, e := range strings.Split(v, ",") {
		i := strings.LastIndex(e, ":")
		if i < 0 {
			return nil, fmt.Errorf("Error parsing configuration property 'max.connections.per.ip.overrides': entry %q has no count", strings.TrimSpace(e))
		}
		n, err := strconv.Atoi(strings.TrimSpace(e[i+1:]))
		if err != nil {
			return nil, fmt.Errorf("For input string: %q", strings.TrimSpace(e[i+1:]))
		}
		out[strings.TrimSpace(e[:i])] = n
	}
	return out, nil
}

// checkConnectionLimits is KafkaConfig.validateValues' rule for the
// effective values: max.connections.per.ip may be zero only with overrides.
func checkConnectionLimits(perIP string, perIPSet bool, overrides string) error {
	o, err := parseConnectionOverrides(overrides)
	if err != nil {
		return err
	}
	if perIPSet && strings.TrimSpace(perIP) == "0" && len(o) == 0 {
		return fmt.Errorf("requirement failed: max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.")
	}
	return nil
}

// maxConnectionsPerIP is the limit for a connection from ip: its override,
// else max.connections.per.ip, else unlimited (Kafka's Int.MaxValue).
// Override hosts are matched as IP addresses; host names are not resolved.
func (s *Server) maxConnectionsPerIP(ip string) int {
	if v, ok := s.effectiveBrokerConfig("max.connections.per.ip.overrides"); ok {
		if o, err := parseConnectionOverrides(v); err == nil {
			for host, n := range o {
				if h := net.ParseIP(host); h != nil && h.Equal(net.ParseIP(ip)) {
					return n
				}
			}
		}
	}
	if v, ok := s.effectiveBrokerConfig("max.connections.per.ip"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return math.MaxInt32
}

// remoteIP is the address a connection's quota is counted by.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}
