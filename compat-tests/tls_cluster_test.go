package compat_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// tlsPKI is a CA and one server certificate per broker (SAN 127.0.0.1,
// where the cluster's brokers are reached), made in Go; the JKS and PKCS12
// stores are written by the JDK's keytool, as Kafka users make them.
type tlsPKI struct {
	dir      string
	ca       *x509.Certificate
	caKey    *ecdsa.PrivateKey
	caPEM    string
	caFile   string // PEM
	trustJKS string // JKS truststore holding the CA, password trustPass
}

const trustPass = "trust-secret"

func newTLSPKI(t *testing.T) *tlsPKI {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "compat-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &tlsPKI{dir: dir, ca: ca, caKey: key, caPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	p.caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p.caFile, []byte(p.caPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	p.trustJKS = filepath.Join(dir, "trust.jks")
	keytool(t, "-importcert", "-noprompt", "-storetype", "JKS", "-keystore", p.trustJKS, "-storepass", trustPass, "-alias", "ca", "-file", p.caFile)
	return p
}

func keytool(t *testing.T, args ...string) {
	t.Helper()
	kt, err := exec.LookPath("keytool")
	if err != nil {
		t.Fatalf("keytool not found (it comes with the JDK 17 that `make deps` expects): %v", err)
	}
	if out, err := exec.Command(kt, args...).CombinedOutput(); err != nil {
		t.Fatalf("keytool %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// issue makes a key and a CA-signed certificate with SAN 127.0.0.1 and
// localhost, good for server and client authentication.
func (p *tlsPKI) issue(t *testing.T, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// keystore writes a key store of the given type (JKS, PKCS12 or PEM) for
// cn and returns the ssl.* settings that load it.
func (p *tlsPKI) keystore(t *testing.T, typ, cn string) []string {
	t.Helper()
	key, cert := p.issue(t, cn)
	const pass = "store-secret"
	switch typ {
	case "PEM":
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(p.dir, cn+".pem")
		data := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})) +
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})) + p.caPEM
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"ssl.keystore.type=PEM", "ssl.keystore.location=" + f}
	default:
		src := filepath.Join(p.dir, cn+"-src.p12")
		pfx, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{p.ca}, pass)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, pfx, 0o600); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(p.dir, cn+"."+strings.ToLower(typ))
		keytool(t, "-importkeystore", "-noprompt", "-srckeystore", src, "-srcstoretype", "PKCS12", "-srcstorepass", pass,
			"-destkeystore", dst, "-deststoretype", typ, "-deststorepass", pass)
		return []string{"ssl.keystore.type=" + typ, "ssl.keystore.location=" + dst, "ssl.keystore.password=" + pass}
	}
}

func (p *tlsPKI) clientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	return &tls.Config{RootCAs: pool}
}

// waitForTLSBrokers is WaitForBrokers over TLS: every broker answers
// Metadata listing all ids.
func waitForTLSBrokers(t *testing.T, c *cluster.Cluster, cfg *tls.Config, ids ...int32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(id).Addr), kgo.DialTLSConfig(cfg))
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, rerr := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
				cancel()
				cl.Close()
				if rerr == nil && len(resp.Brokers) == len(ids) {
					break
				}
			}
			if !c.Running(id) {
				t.Fatalf("broker %d exited: %s", id, c.LogTail(id, 30))
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %d not ready over TLS in time: %s", id, c.LogTail(id, 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// Three brokers whose only listener is SSL (the PLAINTEXT name mapped to
// SSL, so also the inter-broker listener) with a JKS, a PKCS12 and a PEM
// key store: a topic with RF 3 and min.insync.replicas=3 takes acks=all
// writes only if the followers fetch over TLS, and the controller reaches
// every broker over TLS. A fourth broker with a wrong key store password
// does not start and names the key.
func TestTLSClusterReplicates(t *testing.T) {
	p := newTLSPKI(t)
	c := cluster.Start(t, 0)
	common := []string{"listener.security.protocol.map=PLAINTEXT:SSL",
		"ssl.truststore.location=" + p.trustJKS, "ssl.truststore.password=" + trustPass,
		"ssl.client.auth=requested", "offsets.topic.replication.factor=3"}
	for i, typ := range []string{"JKS", "PKCS12", "PEM"} {
		c.AddBroker(int32(i), append(append([]string{}, common...), p.keystore(t, typ, fmt.Sprintf("broker%d", i))...)...)
	}
	cfg := p.clientTLS()
	waitForTLSBrokers(t, c, cfg, 0, 1, 2)

	cl := c.Client(kgo.DialTLSConfig(cfg), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ConsumeTopics("tls-rep"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	minISR := "3"
	if resp, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "tls-rep"); err != nil || resp.Err != nil {
		t.Fatalf("create topic over TLS: %v %v", err, resp.Err)
	}
	const n = 300
	for i := range n {
		r := &kgo.Record{Topic: "tls-rep", Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Repeat("r", 1000+i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("acks=all produce %d (min.insync.replicas=3, replication over TLS): %v", i, err)
		}
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d", got, n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		got += fs.NumRecords()
	}
	// Every replica in every ISR: the followers caught up over TLS.
	md, err := adm.Metadata(ctx, "tls-rep")
	if err != nil {
		t.Fatal(err)
	}
	for _, pd := range md.Topics["tls-rep"].Partitions {
		if len(pd.ISR) != 3 {
			t.Errorf("partition %d ISR %v, want all 3 replicas", pd.Partition, pd.ISR)
		}
	}

	// Kafka 3.9's own console producer and consumer over SSL with a JKS
	// truststore (one JVM for both).
	t.Run("java-client", func(t *testing.T) {
		k := startKafkaTools(t)
		props := filepath.Join(t.TempDir(), "ssl.properties")
		if err := os.WriteFile(props, []byte("security.protocol=SSL\nssl.truststore.location="+p.trustJKS+
			"\nssl.truststore.password="+trustPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		bs := c.Bootstrap()
		if _, err := adm.CreateTopic(ctx, 1, 3, nil, "tls-java"); err != nil {
			t.Fatal(err)
		}
		k.ok("one\ntwo\nthree\n", ktProducer, "--bootstrap-server", bs, "--topic", "tls-java", "--producer.config", props)
		out := k.ok("", ktConsumer, "--bootstrap-server", bs, "--topic", "tls-java", "--from-beginning",
			"--max-messages", "3", "--timeout-ms", "30000", "--consumer.config", props)
		if got := strings.Fields(out); strings.Join(got, ",") != "one,two,three" {
			t.Fatalf("Java console consumer over SSL read %q", out)
		}
	})

	// A wrong key store password stops the broker at start-up, naming the key.
	bad := append(append([]string{}, common...), p.keystore(t, "JKS", "broker3")...)
	bad[len(bad)-1] = "ssl.keystore.password=wrong"
	c.AddBroker(3, bad...)
	deadline := time.Now().Add(30 * time.Second)
	for c.Running(3) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.Running(3) {
		t.Fatalf("a broker with a wrong ssl.keystore.password is still running: %s", c.LogTail(3, 10))
	}
	if log := c.LogTail(3, 10); !strings.Contains(log, "Invalid value [hidden] for configuration ssl.keystore.password") {
		t.Errorf("start-up error does not name ssl.keystore.password:\n%s", log)
	}
}
