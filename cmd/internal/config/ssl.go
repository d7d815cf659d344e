package config

import (
	"crypto/tls"

	"github.com/kafkazk/kafkazk/broker"
)

// sslConfig builds the TLS side of every SSL and SASL_SSL listener and of
// the broker's own connections to the inter-broker and control-plane
// listeners (broker.Config's TLS block), loading the key and trust stores
// now: an unreadable store, a wrong password or a key that does not fit
// stops the broker at start-up with an error naming the key, as Kafka's
// SslFactory validation does. The listeners, their protocols and the
// inter-broker and control-plane listener names are resolveListeners'
// (listeners.go): one source of truth.
func sslConfig(s map[string]string, c *broker.Config) error {
	// KafkaConfig.validateValues, before any store is loaded (SslFactory
	// runs when the channel builders are made): SASL between brokers needs
	// its mechanism enabled on the inter-broker listener.
	if err := broker.ValidateInterBrokerSASL(*c); err != nil {
		return err
	}
	listeners, err := c.BindListeners()
	if err != nil {
		return err
	}
	c.TLSListeners = map[string]*broker.TLSListener{}
	for _, l := range listeners {
		if !l.Protocol.TLS() {
			continue
		}
		tl, err := broker.NewTLSListener(broker.ResolveSSLSettings(s, l.Name), l.Protocol)
		if err != nil {
			return err
		}
		c.TLSListeners[l.Name] = tl
	}
	// The client side of the inter-broker listener and, when set, of
	// control.plane.listener.name (the controller's channel): each uses its
	// own listener's ssl settings (ChannelBuilders.clientChannelBuilder with
	// the listener prefix).
	clientTLS := func(name string) (*tls.Config, error) {
		p, ok := c.ListenerProtocols[name]
		if !ok || !p.TLS() {
			return nil, nil
		}
		cfg, err := broker.NewTLSClientConfig(broker.ResolveSSLSettings(s, name))
		if err != nil {
			return nil, err
		}
		if l := c.TLSListeners[name]; l != nil {
			if err := broker.ValidateInterBrokerTLS(l, cfg); err != nil {
				return nil, err
			}
		}
		return cfg, nil
	}
	if c.InterBrokerTLS, err = clientTLS(c.InterBrokerListener); err != nil {
		return err
	}
	if c.ControlPlaneListener != "" {
		if c.ControlPlaneTLS, err = clientTLS(c.ControlPlaneListener); err != nil {
			return err
		}
	}
	return nil
}
