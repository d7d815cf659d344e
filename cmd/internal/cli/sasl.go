package cli

import (
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/broker"
)

// SASLOpts are the client options of a Kafka client config's SASL keys:
// with security.protocol SASL_PLAINTEXT, sasl.mechanism (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512; Kafka's default GSSAPI is not served) and
// the username and password of sasl.jaas.config's PlainLoginModule or
// ScramLoginModule. Other protocols take no SASL options (Kafka ignores
// the sasl.* keys then).
func SASLOpts(props map[string]string) ([]kgo.Opt, error) {
	proto := strings.ToUpper(strings.TrimSpace(props["security.protocol"]))
	if proto != "SASL_PLAINTEXT" && proto != "SASL_SSL" {
		return nil, nil
	}
	mech := strings.TrimSpace(props["sasl.mechanism"])
	if mech == "" {
		mech = "GSSAPI"
	}
	jaas, ok := props["sasl.jaas.config"]
	if !ok {
		return nil, fmt.Errorf("sasl.jaas.config: a JAAS configuration with the %s login module is needed (a JAAS file is not read here)", mech)
	}
	module, opts, err := broker.ParseJAASLogin(jaas)
	if err != nil {
		return nil, fmt.Errorf("invalid value for configuration sasl.jaas.config: %w", err)
	}
	user, pass := opts["username"], opts["password"]
	switch mech {
	case "PLAIN":
		if module != "org.apache.kafka.common.security.plain.PlainLoginModule" {
			return nil, fmt.Errorf("sasl.jaas.config: mechanism PLAIN needs org.apache.kafka.common.security.plain.PlainLoginModule, not %s", module)
		}
		return []kgo.Opt{kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism())}, nil
	case "SCRAM-SHA-256", "SCRAM-SHA-512":
		if module != "org.apache.kafka.common.security.scram.ScramLoginModule" {
			return nil, fmt.Errorf("sasl.jaas.config: mechanism %s needs org.apache.kafka.common.security.scram.ScramLoginModule, not %s", mech, module)
		}
		a := scram.Auth{User: user, Pass: pass}
		if mech == "SCRAM-SHA-256" {
			return []kgo.Opt{kgo.SASL(a.AsSha256Mechanism())}, nil
		}
		return []kgo.Opt{kgo.SASL(a.AsSha512Mechanism())}, nil
	}
	return nil, fmt.Errorf("sasl.mechanism %s is not supported by this tool (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)", mech)
}
