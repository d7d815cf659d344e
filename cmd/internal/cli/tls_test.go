package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	keystore "github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/twmb/franz-go/pkg/kerr"
	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// tlsFixture is a CA, a broker certificate for 127.0.0.1 and a client
// certificate, with the CA written as PEM, JKS and PKCS12 trust stores and
// the client's key as a PKCS12 key store.
type tlsFixture struct {
	dir                       string
	caPEM, clientKeyPEM       string
	clientChainPEM            string
	caFile, caJKS, caP12      string
	clientP12                 string
	ca                        *x509.Certificate
	caKey                     *ecdsa.PrivateKey
	brokerCert, otherHostCert tls.Certificate
}

func newTLSFixture(t *testing.T) *tlsFixture {
	t.Helper()
	f := &tlsFixture{dir: t.TempDir()}
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	f.caKey = key()
	serial := int64(1)
	sign := func(tmpl *x509.Certificate, pub any, parent *x509.Certificate, signer *ecdsa.PrivateKey) *x509.Certificate {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.ca = sign(&x509.Certificate{Subject: pkix.Name{CommonName: "test-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}, &f.caKey.PublicKey, nil, f.caKey)
	leaf := func(cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (tls.Certificate, *ecdsa.PrivateKey, *x509.Certificate) {
		k := key()
		c := sign(&x509.Certificate{Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: ips, DNSNames: dns}, &k.PublicKey, f.ca, f.caKey)
		return tls.Certificate{Certificate: [][]byte{c.Raw}, PrivateKey: k, Leaf: c}, k, c
	}
	f.brokerCert, _, _ = leaf("localhost", x509.ExtKeyUsageServerAuth, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"})
	f.otherHostCert, _, _ = leaf("other", x509.ExtKeyUsageServerAuth, nil, []string{"other.example"})
	_, clientKey, clientCert := leaf("alice", x509.ExtKeyUsageClientAuth, nil, nil)

	pemOf := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	f.caPEM = pemOf("CERTIFICATE", f.ca.Raw)
	f.clientChainPEM = pemOf("CERTIFICATE", clientCert.Raw)
	pk8, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	f.clientKeyPEM = pemOf("PRIVATE KEY", pk8)

	write := func(name string, data []byte) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.caFile = write("ca.pem", []byte(f.caPEM))
	p12, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{f.ca}, "trust-secret")
	if err != nil {
		t.Fatal(err)
	}
	f.caP12 = write("trust.p12", p12)
	ks := keystore.New()
	if err := ks.SetTrustedCertificateEntry("ca", keystore.TrustedCertificateEntry{CreationTime: time.Now(),
		Certificate: keystore.Certificate{Type: "X509", Content: f.ca.Raw}}); err != nil {
		t.Fatal(err)
	}
	var jks bytes.Buffer
	if err := ks.Store(&jks, []byte("trust-secret")); err != nil {
		t.Fatal(err)
	}
	f.caJKS = write("trust.jks", jks.Bytes())
	clientP12, err := pkcs12.Modern.Encode(clientKey, clientCert, nil, "client-secret")
	if err != nil {
		t.Fatal(err)
	}
	f.clientP12 = write("client.p12", clientP12)
	return f
}

// handshake runs one TLS handshake of cfg against a server on 127.0.0.1
// with cert, requiring a client certificate when mtls; it dials as
// franz-go's DialTLSConfig does (ServerName = the host dialled).
func (f *tlsFixture) handshake(t *testing.T, cfg *tls.Config, cert tls.Certificate, mtls bool, maxVersion uint16) error {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(f.ca)
	srv := &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool, MaxVersion: maxVersion, MinVersion: maxVersion}
	if mtls {
		srv.ClientAuth = tls.RequireAndVerifyClientCert
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		done <- c.(*tls.Conn).Handshake()
	}()
	c := cfg.Clone()
	c.ServerName = "127.0.0.1"
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), c)
	if err == nil {
		// With TLS 1.3 a rejected client certificate shows on the first read.
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Write([]byte{0})
		if err == nil {
			if _, rerr := conn.Read(make([]byte, 1)); rerr != nil && !strings.Contains(rerr.Error(), "EOF") {
				err = rerr
			}
		}
		conn.Close()
	}
	srvErr := <-done
	if err == nil {
		err = srvErr
	}
	return err
}

// TLSOpts / TLSConfig: the client keys of CommonClientConfigs and SslConfigs
// as Kafka's clients read them (DefaultSslEngineFactory), each checked by a
// real handshake.
func TestTLSConfig(t *testing.T) {
	f := newTLSFixture(t)
	ssl := func(kv ...string) map[string]string {
		m := map[string]string{"security.protocol": "SSL"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name      string
		props     map[string]string
		noTLS     bool   // PLAINTEXT / SASL_PLAINTEXT: no TLS config
		wantErr   string // from building the config
		server    *tls.Certificate
		mtls      bool
		serverMax uint16
		wantFail  string // from the handshake
	}{
		{name: "plaintext ignores ssl keys", props: map[string]string{"ssl.truststore.location": "/nonexistent"}, noTLS: true},
		{name: "sasl_plaintext ignores ssl keys", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "ssl.truststore.location": "/nonexistent"}, noTLS: true},
		{name: "unknown protocol", props: map[string]string{"security.protocol": "TLS"},
			wantErr: "Invalid value TLS for configuration security.protocol: String must be one of (case insensitive): SASL_SSL, PLAINTEXT, SSL, SASL_PLAINTEXT"},
		{name: "PEM trust store file", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile)},
		{name: "lower-case ssl, PEM inline", props: map[string]string{"security.protocol": " ssl ", "ssl.truststore.type": "PEM", "ssl.truststore.certificates": f.caPEM}},
		{name: "JKS trust store (the default type)", props: ssl("ssl.truststore.location", f.caJKS, "ssl.truststore.password", "trust-secret")},
		{name: "PKCS12 trust store", props: ssl("ssl.truststore.type", "PKCS12", "ssl.truststore.location", f.caP12, "ssl.truststore.password", "trust-secret")},
		{name: "SASL_SSL dials TLS", props: map[string]string{"security.protocol": "SASL_SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": f.caFile}},
		{name: "no trust store: system roots", props: ssl(), wantFail: "certificate signed by unknown authority"},
		{name: "host name checked by default", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile),
			server: &f.otherHostCert, wantFail: "127.0.0.1"},
		{name: "empty identification algorithm: chain only", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile,
			"ssl.endpoint.identification.algorithm", ""), server: &f.otherHostCert},
		{name: "empty identification algorithm still verifies the chain", props: ssl("ssl.endpoint.identification.algorithm", ""),
			wantFail: "certificate signed by unknown authority"},
		{name: "unknown identification algorithm", props: ssl("ssl.endpoint.identification.algorithm", "ldaps"),
			wantErr: "Invalid value ldaps for configuration ssl.endpoint.identification.algorithm"},
		{name: "mTLS with PEM inline key", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile,
			"ssl.keystore.type", "PEM", "ssl.keystore.key", f.clientKeyPEM, "ssl.keystore.certificate.chain", f.clientChainPEM), mtls: true},
		{name: "mTLS with PKCS12 key store", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile,
			"ssl.keystore.type", "PKCS12", "ssl.keystore.location", f.clientP12, "ssl.keystore.password", "client-secret"), mtls: true},
		{name: "mTLS without a key store", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile), mtls: true,
			wantFail: "certificate"},
		{name: "enabled protocols TLSv1.2 against a TLSv1.3 server", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile,
			"ssl.enabled.protocols", "TLSv1.2"), serverMax: tls.VersionTLS13, wantFail: "protocol version"},
		{name: "ssl.protocol TLSv1.2", props: ssl("ssl.truststore.type", "PEM", "ssl.truststore.location", f.caFile,
			"ssl.protocol", "TLSv1.2"), serverMax: tls.VersionTLS12},
		{name: "unknown enabled protocol", props: ssl("ssl.enabled.protocols", "TLSv9"),
			wantErr: "Invalid value TLSv9 for configuration ssl.enabled.protocols: Unsupported protocol: TLSv9"},
		{name: "unknown ssl.protocol", props: ssl("ssl.protocol", "TLSv9"),
			wantErr: "Invalid value TLSv9 for configuration ssl.protocol: TLSv9 SSLContext not available"},
		{name: "wrong trust store password", props: ssl("ssl.truststore.location", f.caJKS, "ssl.truststore.password", "nope"),
			wantErr: "Invalid value [hidden] for configuration ssl.truststore.password"},
		{name: "missing trust store file", props: ssl("ssl.truststore.location", filepath.Join(f.dir, "none.jks")),
			wantErr: "for configuration ssl.truststore.location"},
		{name: "trust certificates need type PEM", props: ssl("ssl.truststore.certificates", f.caPEM),
			wantErr: "for configuration ssl.truststore.certificates: SSL trust store certs can be specified only for PEM, but trust store type is JKS."},
		{name: "unknown trust store type", props: ssl("ssl.truststore.type", "BKS", "ssl.truststore.location", f.caJKS),
			wantErr: "Invalid value BKS for configuration ssl.truststore.type: BKS not found"},
		{name: "PEM key without its chain", props: ssl("ssl.keystore.type", "PEM", "ssl.keystore.key", f.clientKeyPEM),
			wantErr: "for configuration ssl.keystore.key: SSL private key is specified, but certificate chain is not specified."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLSConfig(tc.props)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			opts, err := TLSOpts(tc.props)
			if err != nil {
				t.Fatal(err)
			}
			if tc.noTLS {
				if cfg != nil || len(opts) != 0 {
					t.Fatalf("TLS config %v, %d options for %q", cfg, len(opts), tc.props["security.protocol"])
				}
				return
			}
			if cfg == nil || len(opts) != 1 {
				t.Fatalf("no TLS config (%d options)", len(opts))
			}
			server := f.brokerCert
			if tc.server != nil {
				server = *tc.server
			}
			err = f.handshake(t, cfg, server, tc.mtls, tc.serverMax)
			switch {
			case tc.wantFail == "" && err != nil:
				t.Fatalf("handshake: %v", err)
			case tc.wantFail != "" && (err == nil || !strings.Contains(err.Error(), tc.wantFail)):
				t.Fatalf("handshake error %v, want %q", err, tc.wantFail)
			}
		})
	}
}

// SecurityOpts: TLS and SASL together, per security.protocol.
func TestSecurityOpts(t *testing.T) {
	const scramJAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";`
	for _, tc := range []struct {
		name    string
		props   map[string]string
		opts    int
		wantErr string
	}{
		{name: "default PLAINTEXT", props: map[string]string{}},
		{name: "SSL", props: map[string]string{"security.protocol": "SSL"}, opts: 1},
		{name: "SASL_PLAINTEXT", props: map[string]string{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256", "sasl.jaas.config": scramJAAS}, opts: 1},
		{name: "SASL_SSL", props: map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": scramJAAS}, opts: 2},
		{name: "SASL_SSL without JAAS", props: map[string]string{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}, wantErr: "sasl.jaas.config"},
		{name: "bad protocol", props: map[string]string{"security.protocol": "PLAIN"}, wantErr: "for configuration security.protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := SecurityOpts(tc.props)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(opts) != tc.opts {
				t.Fatalf("%d options, %v", len(opts), err)
			}
		})
	}
}

// AuthErrorClass: Kafka's exceptions for failed SASL and TLS logins.
func TestAuthErrorClass(t *testing.T) {
	f := newTLSFixture(t)
	pemTrust := map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM", "ssl.truststore.location": f.caFile}
	handshakeErr := func(props map[string]string, server tls.Certificate, mtls bool) error {
		cfg, err := TLSConfig(props)
		if err != nil {
			t.Fatal(err)
		}
		return f.handshake(t, cfg, server, mtls, 0)
	}
	saslErr := fmt.Errorf("metadata: %w", fmt.Errorf("%w: %s", kerr.SaslAuthenticationFailed,
		"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"))
	const sslClass = "org.apache.kafka.common.errors.SslAuthenticationException"
	for _, tc := range []struct {
		name       string
		err        error
		class, msg string
	}{
		{"wrong SCRAM password", saslErr, "org.apache.kafka.common.errors.SaslAuthenticationException",
			"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"},
		{"SASL failure without a message", kerr.SaslAuthenticationFailed, "org.apache.kafka.common.errors.SaslAuthenticationException",
			kerr.SaslAuthenticationFailed.Description},
		{"untrusted broker", handshakeErr(map[string]string{"security.protocol": "SSL"}, f.brokerCert, false), sslClass, "SSL handshake failed"},
		{"untrusted broker, no host check", handshakeErr(map[string]string{"security.protocol": "SSL", "ssl.endpoint.identification.algorithm": ""},
			f.brokerCert, false), sslClass, "SSL handshake failed"},
		{"wrong host", handshakeErr(pemTrust, f.otherHostCert, false), sslClass, "SSL handshake failed"},
		{"no client certificate (TLS 1.3)", handshakeErr(pemTrust, f.brokerCert, true), sslClass, "Failed to process post-handshake messages"},
		{"no client certificate (TLS 1.2)", handshakeErr(map[string]string{"security.protocol": "SSL", "ssl.truststore.type": "PEM",
			"ssl.truststore.location": f.caFile, "ssl.enabled.protocols": "TLSv1.2"}, f.brokerCert, true), sslClass, "SSL handshake failed"},
		{"other", errors.New("boom"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			class, msg, ok := AuthErrorClass(tc.err)
			if class != tc.class || msg != tc.msg || ok != (tc.class != "") {
				t.Fatalf("%v: got %q %q %v, want %q %q", tc.err, class, msg, ok, tc.class, tc.msg)
			}
		})
	}
}
