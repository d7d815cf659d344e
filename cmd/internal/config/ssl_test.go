package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a PEM key store (key and certificate for 127.0.0.1)
// and returns its path.
func selfSigned(t *testing.T, dir, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true, IsCA: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k8, _ := x509.MarshalPKCS8PrivateKey(key)
	path := filepath.Join(dir, name+".pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// SSL listeners come from the listener names or listener.security.protocol.map;
// the inter-broker listener's TLS client is built from its settings and,
// as Kafka's SslFactory does at start-up, must be able to connect to the
// listener's own server side.
func TestSSLListenersAndInterBroker(t *testing.T) {
	dir := t.TempDir()
	a, b := selfSigned(t, dir, "a"), selfSigned(t, dir, "b")
	base := []string{"KAFKA_ZOOKEEPER_CONNECT=zk:2181", "KAFKA_BROKER_ID=0"}
	store := func(prefix, ks, ts string) []string {
		return []string{prefix + "SSL_KEYSTORE_TYPE=PEM", prefix + "SSL_KEYSTORE_LOCATION=" + ks,
			prefix + "SSL_TRUSTSTORE_TYPE=PEM", prefix + "SSL_TRUSTSTORE_LOCATION=" + ts}
	}
	cases := []struct {
		name            string
		env             []string
		tlsListeners    []string
		interBrokerTLS  bool
		wantErrContains string
	}{
		{"SSL listener, plaintext between brokers",
			append([]string{"KAFKA_LISTENERS=PLAINTEXT://:9092,SSL://:9093"}, store("KAFKA_", a, b)...),
			[]string{"SSL"}, false, ""},
		{"PLAINTEXT name mapped to SSL is the inter-broker listener",
			append([]string{"KAFKA_LISTENERS=PLAINTEXT://:9092", "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=PLAINTEXT:SSL"}, store("KAFKA_", a, a)...),
			[]string{"PLAINTEXT"}, true, ""},
		{"security.inter.broker.protocol=SSL",
			append([]string{"KAFKA_LISTENERS=PLAINTEXT://:9092,SSL://:9093", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"}, store("KAFKA_", a, a)...),
			[]string{"SSL"}, true, ""},
		{"listener-prefixed stores",
			append([]string{"KAFKA_LISTENERS=SSL://:9093", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"}, store("KAFKA_LISTENER_NAME_SSL_", a, a)...),
			[]string{"SSL"}, true, ""},
		{"inter-broker truststore does not trust the key store",
			append([]string{"KAFKA_LISTENERS=SSL://:9093", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"}, store("KAFKA_", a, b)...),
			nil, false, "A client SSLEngine created with the provided settings can't connect to a server SSLEngine created with those settings."},
		{"SSL listener without a key store",
			[]string{"KAFKA_LISTENERS=SSL://:9093", "KAFKA_SECURITY_INTER_BROKER_PROTOCOL=SSL"}, nil, false, "Invalid value null for configuration ssl.keystore.location"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load("", append(append([]string{}, base...), c.env...), nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if c.wantErrContains != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErrContains) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErrContains)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for n := range cfg.TLSListeners {
				got = append(got, n)
			}
			if strings.Join(got, ",") != strings.Join(c.tlsListeners, ",") {
				t.Errorf("TLS listeners %v, want %v", got, c.tlsListeners)
			}
			if (cfg.InterBrokerTLS != nil) != c.interBrokerTLS {
				t.Errorf("inter-broker TLS %v, want %v", cfg.InterBrokerTLS != nil, c.interBrokerTLS)
			}
		})
	}
}

// The listeners and protocols ssl.go secures are resolveListeners' own:
// control.plane.listener.name gets TLS by its own protocol (the
// controller's channel uses its settings), and SASL between brokers needs
// sasl.mechanism.inter.broker.protocol among the inter-broker listener's
// sasl.enabled.mechanisms (KafkaConfig.validateValues), checked for the
// inter-broker listener only, as Kafka does.
func TestInterBrokerSecurity(t *testing.T) {
	dir := t.TempDir()
	a := selfSigned(t, dir, "a")
	stores := "ssl.keystore.type=PEM\nssl.keystore.location=" + a + "\nssl.truststore.type=PEM\nssl.truststore.location=" + a + "\n"
	base := "broker.id=0\nzookeeper.connect=h:2181\n"
	plainJAAS := func(l string) string {
		return "listener.name." + l + ".plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"broker\" password=\"p\" user_broker=\"p\";\n"
	}
	scramJAAS := func(l string) string {
		return "listener.name." + l + ".scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"p\";\n"
	}
	const mustInclude = "invalid configuration sasl.mechanism.inter.broker.protocol: requirement failed: sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication"
	cases := []struct {
		name                   string
		props                  string
		interBroker, ctrlPlane bool // TLS client configs built
		wantErr                string
	}{
		{name: "SASL_SSL between brokers with SCRAM-SHA-512",
			props: base + stores + "listeners=SASL_SSL://:9093\nsecurity.inter.broker.protocol=SASL_SSL\nsasl.enabled.mechanisms=SCRAM-SHA-512\n" +
				"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n" + scramJAAS("sasl_ssl"),
			interBroker: true},
		{name: "listener-prefixed enabled mechanisms count",
			props: base + "listeners=SASL_PLAINTEXT://:9093\nsecurity.inter.broker.protocol=SASL_PLAINTEXT\nlistener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN\n" +
				"sasl.mechanism.inter.broker.protocol=PLAIN\n" + plainJAAS("sasl_plaintext")},
		{name: "mechanism not enabled on the inter-broker listener",
			props: base + "listeners=SASL_PLAINTEXT://:9093\nsecurity.inter.broker.protocol=SASL_PLAINTEXT\nsasl.enabled.mechanisms=PLAIN\n" +
				"sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n" + plainJAAS("sasl_plaintext"),
			wantErr: mustInclude},
		{name: "default GSSAPI not enabled",
			props:   base + "listeners=SASL_PLAINTEXT://:9093\nsecurity.inter.broker.protocol=SASL_PLAINTEXT\nsasl.enabled.mechanisms=PLAIN\n" + plainJAAS("sasl_plaintext"),
			wantErr: mustInclude},
		{name: "SASL listener not used between brokers: no rule",
			props: base + "listeners=PLAINTEXT://:9092,SASL_PLAINTEXT://:9093\nsasl.enabled.mechanisms=PLAIN\nsasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n" + plainJAAS("sasl_plaintext")},
		{name: "control plane listener gets its own TLS",
			props:     base + stores + "listeners=PLAINTEXT://:9092,CTRL://:9094\nlistener.security.protocol.map=PLAINTEXT:PLAINTEXT,CTRL:SSL\ncontrol.plane.listener.name=CTRL\n",
			ctrlPlane: true},
		{name: "named SASL_SSL inter-broker listener",
			props: base + stores + "listeners=EXTERNAL://:9092,INTERNAL://:9093\nlistener.security.protocol.map=EXTERNAL:PLAINTEXT,INTERNAL:SASL_SSL\ninter.broker.listener.name=INTERNAL\n" +
				"sasl.enabled.mechanisms=PLAIN\nsasl.mechanism.inter.broker.protocol=PLAIN\n" + plainJAAS("internal"),
			interBroker: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(writeProps(t, c.props), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (cfg.InterBrokerTLS != nil) != c.interBroker || (cfg.ControlPlaneTLS != nil) != c.ctrlPlane {
				t.Errorf("TLS clients: inter-broker %v control plane %v, want %v %v", cfg.InterBrokerTLS != nil, cfg.ControlPlaneTLS != nil, c.interBroker, c.ctrlPlane)
			}
			if got := cfg.ClientTLS(cfg.ControllerListener()) != nil; got != (c.ctrlPlane || c.interBroker) {
				t.Errorf("controller channel TLS %v", got)
			}
		})
	}
}
