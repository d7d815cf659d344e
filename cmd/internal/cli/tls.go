package cli

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/broker"
)

// securityProtocols are CommonClientConfigs' security.protocol values
// (SecurityProtocol's names, case insensitive), in the order Kafka 3.9's
// ConfigException lists them (CaseInsensitiveValidString's HashSet).
var securityProtocols = []string{"SASL_SSL", "PLAINTEXT", "SSL", "SASL_PLAINTEXT"}

// SecurityProtocol returns a client config's security.protocol upper-cased
// (PLAINTEXT when unset), or Kafka's ConfigException (a *JavaError) for an
// unknown name (ConfigDef.CaseInsensitiveValidString).
func SecurityProtocol(props map[string]string) (string, error) {
	v, ok := props["security.protocol"]
	if !ok {
		return "PLAINTEXT", nil
	}
	p := strings.ToUpper(strings.TrimSpace(v)) // ConfigDef.parseType trims STRING values
	for _, s := range securityProtocols {
		if p == s {
			return p, nil
		}
	}
	return "", &JavaError{Class: "org.apache.kafka.common.config.ConfigException",
		Msg: fmt.Sprintf("Invalid value %s for configuration security.protocol: String must be one of (case insensitive): %s", strings.TrimSpace(v), strings.Join(securityProtocols, ", "))}
}

// TLSConfig builds the client side TLS of a client config with
// security.protocol SSL or SASL_SSL (nil for the other protocols, which
// ignore the ssl.* keys as Kafka's ChannelBuilders do): the broker's own
// store loaders read ssl.truststore.* (JKS, PKCS12, PEM file or
// ssl.truststore.certificates), ssl.keystore.* / ssl.key.password (a
// client certificate for mTLS, also PEM inline in ssl.keystore.key and
// ssl.keystore.certificate.chain), ssl.enabled.protocols, ssl.protocol,
// ssl.cipher.suites and ssl.endpoint.identification.algorithm (https,
// the default, checks the broker's host name; empty does not). Errors are
// Kafka's "Invalid value V for configuration K: ..." naming the key.
func TLSConfig(props map[string]string) (*tls.Config, error) {
	proto, err := SecurityProtocol(props)
	if err != nil {
		return nil, err
	}
	if proto != "SSL" && proto != "SASL_SSL" {
		return nil, nil
	}
	// No listener prefix on the client side: only the plain ssl.* keys.
	cfg, err := broker.NewTLSClientConfig(broker.ResolveSSLSettings(props, ""))
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// TLSOpts are the franz-go options of TLSConfig: kgo.DialTLSConfig, which
// sets each broker's host as the server name (SNI and host check).
func TLSOpts(props map[string]string) ([]kgo.Opt, error) {
	cfg, err := TLSConfig(props)
	if err != nil || cfg == nil {
		return nil, err
	}
	return []kgo.Opt{kgo.DialTLSConfig(cfg)}, nil
}

// SecurityOpts are all the security options of a client config: the
// security.protocol check, TLS (SSL, SASL_SSL) and SASL (SASL_PLAINTEXT,
// SASL_SSL). Every tool that takes a client config passes its properties
// through here.
func SecurityOpts(props map[string]string) ([]kgo.Opt, error) {
	tlsOpts, err := TLSOpts(props)
	if err != nil {
		return nil, err
	}
	saslOpts, err := SASLOpts(props)
	if err != nil {
		return nil, err
	}
	return append(tlsOpts, saslOpts...), nil
}
