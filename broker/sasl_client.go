package broker

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/protocol"
)

// InterBrokerAuthenticator is how this broker authenticates its own
// connections (controller requests, replica fetches, forwarding) to the
// SASL listener named listener, as Kafka's inter-broker channel builder
// does: the mechanism of sasl.mechanism.inter.broker.protocol (default
// GSSAPI), which must be enabled on that listener, with the username and
// password of the listener's JAAS entry for it. Nil for a listener without
// SASL. To be used where the inter-broker listener is chosen
// (inter.broker.listener.name / security.inter.broker.protocol).
func (s *Server) InterBrokerAuthenticator(listener string) (protocol.Authenticator, error) {
	st := s.saslSettings()
	if st == nil {
		return nil, nil
	}
	ls := st.listeners[listener]
	if ls == nil {
		return nil, nil
	}
	mech := interBrokerMechanism(s.cfg.StaticConfigs)
	if !slices.Contains(ls.mechanisms, mech) {
		// KafkaConfig.validateValues.
		return nil, fmt.Errorf("%s must be included in %s when SASL is used for inter-broker communication", saslMechanismInterBrokerProtocol, saslEnabledMechanismsKey)
	}
	login := ls.clientLogin[mech]
	var m sasl.Mechanism
	switch mech {
	case mechPlain:
		m = plain.Auth{User: login[0], Pass: login[1]}.AsMechanism()
	case mechScramSHA256:
		m = scram.Auth{User: login[0], Pass: login[1]}.AsSha256Mechanism()
	case mechScramSHA512:
		m = scram.Auth{User: login[0], Pass: login[1]}.AsSha512Mechanism()
	default:
		return nil, fmt.Errorf("%s %s is not served by this broker", saslMechanismInterBrokerProtocol, mech)
	}
	return protocol.SASLAuthenticator(m), nil
}

// interBrokerMechanism is sasl.mechanism.inter.broker.protocol (Kafka's
// default GSSAPI). The controller's channel uses it too, on the control
// plane listener (ControllerChannelManager.addNewBroker).
func interBrokerMechanism(static map[string]string) string {
	if v, ok := static[saslMechanismInterBrokerProtocol]; ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return defaultInterBrokerSASLMechanism
}

// ValidateInterBrokerSASL is KafkaConfig.validateValues' rule for SASL
// between brokers: when the inter-broker listener's protocol is
// SASL_PLAINTEXT or SASL_SSL, sasl.mechanism.inter.broker.protocol must be
// among the listener's sasl.enabled.mechanisms (listener-prefixed or not;
// default GSSAPI). Kafka checks the inter-broker listener only.
func ValidateInterBrokerSASL(cfg Config) error {
	listener := cfg.interBrokerListener()
	if p, ok := cfg.protocols()[listener]; !ok || !p.SASL() {
		return nil
	}
	raw, ok := listenerConfig(cfg.StaticConfigs, listener, saslEnabledMechanismsKey)
	if !ok {
		raw = defaultSASLMechanism
	}
	var enabled []string
	for _, m := range strings.Split(raw, ",") {
		enabled = append(enabled, strings.TrimSpace(m))
	}
	if !slices.Contains(enabled, interBrokerMechanism(cfg.StaticConfigs)) {
		return fmt.Errorf("invalid configuration %s: requirement failed: %s must be included in %s when SASL is used for inter-broker communication",
			saslMechanismInterBrokerProtocol, saslMechanismInterBrokerProtocol, saslEnabledMechanismsKey)
	}
	return nil
}

// secureClient sets up c, a client of this broker dialing another broker's
// listener, with that listener's security as Kafka's client channel
// builder does: TLS for SSL and SASL_SSL, and for SASL_PLAINTEXT and
// SASL_SSL a SASL login with sasl.mechanism.inter.broker.protocol and the
// listener's JAAS username and password (renewed before the session the
// server grants ends, protocol/client_sasl.go).
func (s *Server) secureClient(c *protocol.Client, listener string) {
	c.SetTLS(s.cfg.ClientTLS(listener)) // nil: plaintext (tls.go)
	a, err := s.InterBrokerAuthenticator(listener)
	if err != nil {
		// Left unauthenticated, the SASL listener refuses the connection,
		// which is retried as any connection failure.
		s.logger.Error("no SASL login for inter-broker connections", "listener", listener, "err", err)
	}
	c.SetAuthenticator(a)
}

// ControllerClientAuthenticator is the SASL login of the controller's
// channel to every broker: its control.plane.listener.name, else the
// inter-broker listener; nil when that listener has no SASL. Valid after
// Listen.
func (s *Server) ControllerClientAuthenticator() (protocol.Authenticator, error) {
	return s.InterBrokerAuthenticator(s.cfg.controllerListener())
}
