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
	mech := defaultInterBrokerSASLMechanism
	if v, ok := s.cfg.StaticConfigs[saslMechanismInterBrokerProtocol]; ok && strings.TrimSpace(v) != "" {
		mech = strings.TrimSpace(v)
	}
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
