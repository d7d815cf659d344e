package driver

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Security is how a driver connects: the contract's security flags, common
// to every driver (each maps them onto its client's own settings):
//
//	--security-protocol PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL
//	--ca FILE                 PEM CA that verifies the broker (hostname verification on)
//	--truststore FILE --truststore-password P   the same CA as JKS (Java)
//	--cert FILE --key FILE    PEM client certificate and key (mTLS)
//	--keystore FILE --keystore-password P       the same as PKCS12 (Java)
//	--sasl-mechanism PLAIN|SCRAM-SHA-256|SCRAM-SHA-512 --sasl-user U --sasl-password P
//
// A driver takes the flags it needs and ignores the others' formats.
type Security struct {
	Protocol                   string
	CA, Cert, Key              string
	Truststore, TruststorePass string
	Keystore, KeystorePass     string
	Mechanism, User, Password  string
}

func (s *Security) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.Protocol, "security-protocol", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
	fs.StringVar(&s.CA, "ca", "", "PEM CA file")
	fs.StringVar(&s.Truststore, "truststore", "", "JKS truststore (Java)")
	fs.StringVar(&s.TruststorePass, "truststore-password", "", "truststore password")
	fs.StringVar(&s.Cert, "cert", "", "PEM client certificate")
	fs.StringVar(&s.Key, "key-file", "", "PEM client key")
	fs.StringVar(&s.Keystore, "keystore", "", "PKCS12 keystore (Java)")
	fs.StringVar(&s.KeystorePass, "keystore-password", "", "keystore password")
	fs.StringVar(&s.Mechanism, "sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	fs.StringVar(&s.User, "sasl-user", "", "SASL user")
	fs.StringVar(&s.Password, "sasl-password", "", "SASL password")
}

// TLS says whether the protocol is SSL or SASL_SSL.
func (s Security) TLS() bool { return s.Protocol == "SSL" || s.Protocol == "SASL_SSL" }

// SASL says whether the protocol is SASL_PLAINTEXT or SASL_SSL.
func (s Security) SASL() bool { return strings.HasPrefix(s.Protocol, "SASL_") }

// Plain says whether nothing but PLAINTEXT is asked for.
func (s Security) Plain() bool { return s.Protocol == "" || s.Protocol == "PLAINTEXT" }

func (s Security) check() error {
	switch s.Protocol {
	case "", "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL":
	default:
		return fmt.Errorf("unknown --security-protocol %q", s.Protocol)
	}
	if s.SASL() {
		switch s.Mechanism {
		case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		default:
			return fmt.Errorf("--sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
		}
	}
	if (s.Cert == "") != (s.Key == "") {
		return errors.New("--cert and --key-file go together")
	}
	return nil
}

// TLSConfig is the Go clients' TLS configuration: the CA as the only root,
// the client certificate when given. ServerName stays empty: each client
// sets it to the host it dials, so the broker's certificate is verified
// against that host (127.0.0.1 or localhost), as the clients do by default.
func (s Security) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CA != "" {
		pem, err := os.ReadFile(s.CA)
		if err != nil {
			return nil, fmt.Errorf("reading --ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca %s holds no PEM certificate", s.CA)
		}
		cfg.RootCAs = pool
	}
	if s.Cert != "" {
		cert, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Secured is implemented by the clients that take the security flags.
type Secured interface {
	WithSecurity(Security) (Client, error)
}

// IsDenied says whether a client's error is an authorization failure
// (TOPIC_AUTHORIZATION_FAILED as each client names it: "Topic
// authorization failed", TopicAuthorizationException, "not authorized to
// access this topic", ...).
func IsDenied(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "authoriz")
}

// LibrdkafkaProps are the security flags as librdkafka's settings (kcat,
// confluent-kafka-go): security.protocol, ssl.ca.location,
// ssl.certificate.location / ssl.key.location, sasl.mechanisms,
// sasl.username / sasl.password. librdkafka verifies the broker's hostname
// by default (ssl.endpoint.identification.algorithm=https since 2.0).
func LibrdkafkaProps(s Security) map[string]string {
	m := map[string]string{"security.protocol": strings.ToLower(s.Protocol)}
	if s.TLS() {
		if s.CA != "" {
			m["ssl.ca.location"] = s.CA
		}
		if s.Cert != "" {
			m["ssl.certificate.location"], m["ssl.key.location"] = s.Cert, s.Key
		}
	}
	if s.SASL() {
		m["sasl.mechanisms"], m["sasl.username"], m["sasl.password"] = s.Mechanism, s.User, s.Password
	}
	return m
}

// HidesDenial is implemented by a client whose producer does not surface
// the broker's authorization error: HidesDenial returns why when err is
// what it reports instead ("" otherwise).
type HidesDenial interface {
	HidesDenial(err error) string
}
