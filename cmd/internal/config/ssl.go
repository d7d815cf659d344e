package config

import (
	"strings"

	"github.com/kafkazk/kafkazk/broker"
)

// sslConfig builds the TLS side of every SSL and SASL_SSL listener and of
// the inter-broker connections (broker.Config's TLS block), loading the key
// and trust stores now: an unreadable store, a wrong password or a key
// that does not fit stops the broker at start-up with an error naming the
// key, as Kafka's SslFactory validation does.
func sslConfig(s map[string]string, c *broker.Config) error {
	protocols := listenerProtocols(s, c.Listeners)
	c.TLSListeners = map[string]*broker.TLSListener{}
	for _, l := range c.Listeners {
		name, _, _ := strings.Cut(l, "://")
		name = strings.ToUpper(name)
		proto := protocols[name]
		if !proto.TLS() {
			continue
		}
		tl, err := broker.NewTLSListener(broker.ResolveSSLSettings(s, name), proto)
		if err != nil {
			return err
		}
		c.TLSListeners[name] = tl
	}
	// The inter-broker listener: inter.broker.listener.name, else the
	// listener named as security.inter.broker.protocol (PLAINTEXT unless
	// set). Its client side uses that listener's ssl settings
	// (ChannelBuilders.clientChannelBuilder with the listener prefix).
	ib := strings.ToUpper(strings.TrimSpace(s["inter.broker.listener.name"]))
	if ib == "" {
		ib = strings.ToUpper(strings.TrimSpace(s["security.inter.broker.protocol"]))
		if ib == "" {
			ib = "PLAINTEXT"
		}
	}
	if p, ok := protocols[ib]; ok && p.TLS() {
		cfg, err := broker.NewTLSClientConfig(broker.ResolveSSLSettings(s, ib))
		if err != nil {
			return err
		}
		c.InterBrokerTLS = cfg
		if l := c.TLSListeners[ib]; l != nil {
			if err := broker.ValidateInterBrokerTLS(l, cfg); err != nil {
				return err
			}
		}
	}
	return nil
}

// listenerProtocols maps each listener name (upper case) to its security
// protocol: listener.security.protocol.map when set, else the name itself
// (Kafka's default map names every protocol after itself).
func listenerProtocols(s map[string]string, listeners []string) map[string]broker.SecurityProtocol {
	out := map[string]broker.SecurityProtocol{}
	for _, l := range listeners {
		name, _, _ := strings.Cut(l, "://")
		if p, ok := broker.ParseSecurityProtocol(name); ok {
			out[strings.ToUpper(name)] = p
		}
	}
	if v, ok := s["listener.security.protocol.map"]; ok {
		for _, e := range strings.Split(v, ",") {
			name, proto, ok := strings.Cut(strings.TrimSpace(e), ":")
			if !ok {
				continue
			}
			if p, ok := broker.ParseSecurityProtocol(strings.TrimSpace(proto)); ok {
				out[strings.ToUpper(strings.TrimSpace(name))] = p
			}
		}
	}
	return out
}
