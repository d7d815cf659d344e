package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
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

// AuthErrorClass is how Kafka's clients report a connection that failed
// authentication (NetworkClient: the AuthenticationException of the
// channel): a refused SASL login is SaslAuthenticationException with the
// broker's message; a failed TLS handshake (the broker's certificate not
// trusted or not for the host, or the broker refusing ours) is
// SslAuthenticationException "SSL handshake failed" ("Failed to process
// post-handshake messages" for TLS 1.3's certificate_required). ok is
// false for other errors.
func AuthErrorClass(err error) (class, msg string, ok bool) {
	var ke *kerr.Error
	if errors.As(err, &ke) && ke.Code == kerr.SaslAuthenticationFailed.Code {
		msg = ke.Description
		// franz-go's error is "<code>: <broker message>".
		if text, prefix := err.Error(), ke.Error()+": "; strings.Contains(text, prefix) {
			msg = text[strings.Index(text, prefix)+len(prefix):]
		}
		return "org.apache.kafka.common.errors.SaslAuthenticationException", msg, true
	}
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		ierr x509.CertificateInvalidError
		herr x509.HostnameError
		oerr *net.OpError
	)
	const sslAuth = "org.apache.kafka.common.errors.SslAuthenticationException"
	if errors.As(err, &oerr) && oerr.Op == "remote error" && strings.Contains(oerr.Err.Error(), "certificate required") {
		// TLS 1.3's certificate_required alert comes after the client's
		// handshake is done: SslTransportLayer reports it so.
		return sslAuth, "Failed to process post-handshake messages", true
	}
	if errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &ierr) || errors.As(err, &herr) ||
		(errors.As(err, &oerr) && oerr.Op == "remote error") {
		return sslAuth, "SSL handshake failed", true
	}
	return "", "", false
}
