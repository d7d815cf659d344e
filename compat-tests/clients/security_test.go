package clients_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
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
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/kafkazk/kafkazk/compat-tests/clients/driver"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// The security columns run against a cluster of their own, started only
// when one of them is selected: one broker with the listeners
//
//	PLAINTEXT  the runner's admin connection and inter-broker traffic (User:ANONYMOUS, a super user)
//	SSL        server authentication only
//	MTLS       SSL with ssl.client.auth=required (principal User:CN=matrix-client, a super user)
//	SASL_SSL   PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
//
// and Kafka's AclAuthorizer. The same settings start our broker or, with
// MATRIX_REFERENCE=kafka39, Apache Kafka 3.9.
const (
	secPass      = "changeit" // the Java stores' password
	secAdmin     = "admin"    // a super user, PLAIN and SCRAM
	secAdminPass = "admin-secret"
	secAlice     = "alice" // WRITE and DESCRIBE on the acl-denied cell's topic
	secAlicePass = "alice-secret"
	secMallory   = "mallory" // no ACL
	secMallPass  = "mallory-secret"
	secClientCN  = "matrix-client"
)

// secEnv is the security cluster as the cells see it.
type secEnv struct {
	*env                    // the runner's admin view, over PLAINTEXT
	addr  map[string]string // listener name -> bootstrap
	files secFiles
	// down is why the cluster did not start ("" when it did): every
	// security cell fails with it.
	down string
	// scramDown is why the SCRAM users are missing: the SCRAM cells fail
	// with it.
	scramDown string
}

// secFiles are the certificates and stores the drivers are given.
type secFiles struct {
	dir                   string
	ca                    string // PEM CA
	brokerPEM             string // the broker's key (PKCS#8) and chain: ssl.keystore.type=PEM
	clientCert, clientKey string // PEM
	clientP12             string // PKCS12 keystore with the client's key and chain (Java)
	truststore            string // JKS truststore with the CA (Java, keytool)
}

// secFeatures are the security columns.
func secFeatures() []feature {
	return []feature{
		{name: "tls", secure: true, desc: "produce and consume over an SSL listener; the client verifies the broker's certificate (CA, hostname 127.0.0.1)", run: cellSecure("SSL", "tls")},
		{name: "mtls", secure: true, desc: "the same on a listener with ssl.client.auth=required; the client presents its certificate", run: cellSecure("MTLS", "mtls")},
		{name: "sasl-plain", secure: true, desc: "the same over SASL_SSL with PLAIN", run: cellSecure("SASL_SSL", "PLAIN")},
		{name: "sasl-scram-256", secure: true, desc: "the same over SASL_SSL with SCRAM-SHA-256 (credentials made with AlterUserScramCredentials)", run: cellSecure("SASL_SSL", "SCRAM-SHA-256")},
		{name: "sasl-scram-512", secure: true, desc: "the same with SCRAM-SHA-512", run: cellSecure("SASL_SSL", "SCRAM-SHA-512")},
		{name: "acl-denied", secure: true, desc: "AclAuthorizer: alice (WRITE, DESCRIBE on the topic) produces; mallory (no ACL) gets TOPIC_AUTHORIZATION_FAILED from the client", run: cellACLDenied},
	}
}

// secListeners are the listener names beside PLAINTEXT.
var secListeners = []string{"SSL", "MTLS", "SASL_SSL"}

// secSettings are the security cluster's broker settings (both ours and
// Kafka's), Kafka 3.9's names.
func secSettings(f secFiles) map[string]string {
	jaasPlain := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required user_%s="%s" user_%s="%s" user_%s="%s";`,
		secAdmin, secAdminPass, secAlice, secAlicePass, secMallory, secMallPass)
	jaasScram := `org.apache.kafka.common.security.scram.ScramLoginModule required;`
	return map[string]string{
		"listener.security.protocol.map":                        "PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL",
		"inter.broker.listener.name":                            "PLAINTEXT",
		"ssl.keystore.type":                                     "PEM",
		"ssl.keystore.location":                                 f.brokerPEM,
		"ssl.truststore.type":                                   "PEM",
		"ssl.truststore.location":                               f.ca,
		"listener.name.mtls.ssl.client.auth":                    "required",
		"sasl.enabled.mechanisms":                               "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_ssl.plain.sasl.jaas.config":         jaasPlain,
		"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": jaasScram,
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaasScram,
		"authorizer.class.name":                                 "kafka.security.authorizer.AclAuthorizer",
		"super.users":                                           "User:ANONYMOUS;User:" + secAdmin + ";User:CN=" + secClientCN,
		"offsets.topic.replication.factor":                      "1",
		"group.initial.rebalance.delay.ms":                      "0",
	}
}

// startSecure starts the security cluster: Kafka 3.9 when reference is
// set, else our broker. A start that fails does not fail the test: the
// cells fail with the reason (our broker before issue 16's listeners, TLS,
// SASL and ACLs are in).
func startSecure(t *testing.T, reference bool) *secEnv {
	begin := time.Now()
	s := &secEnv{env: &env{}, addr: map[string]string{}}
	files, err := makeSecFiles(t.TempDir())
	if err != nil {
		t.Fatalf("certificates: %v", err)
	}
	s.files = files
	settings := secSettings(files)
	ok := softly(t, func(tb testing.TB) {
		if reference {
			zk := zktest.Start(tb)
			ports := map[string]string{"PLAINTEXT": "", "SSL": "", "MTLS": "", "SASL_SSL": ""}
			var ls []string
			plain := cluster.FreePort(tb)
			for _, name := range append([]string{"PLAINTEXT"}, secListeners...) {
				p := plain
				if name != "PLAINTEXT" {
					p = cluster.FreePort(tb)
				}
				ports[name] = fmt.Sprintf("127.0.0.1:%d", p)
				ls = append(ls, name+"://"+ports[name])
			}
			settings["listeners"] = strings.Join(ls, ",")
			settings["advertised.listeners"] = settings["listeners"]
			k := cluster.StartKafkaRef(tb, zk.Addr, cluster.KafkaRefOptions{Port: plain, Overrides: settings})
			s.addr = ports
			s.addr["PLAINTEXT"] = k.Addr
			return
		}
		var extra []string
		for k, v := range settings {
			extra = append(extra, k+"="+v)
		}
		cl := cluster.StartListeners(tb, 1, secListeners, extra...)
		b := cl.Broker(0)
		s.addr["PLAINTEXT"] = b.Addr
		for name, a := range b.Listeners {
			s.addr[name] = a
		}
	})
	if !ok.ok {
		s.down = "the security cluster did not start: " + startError(ok.msg)
		t.Logf("%s\n%s", s.down, ok.msg)
		return s
	}
	s.bootstrap = s.addr["PLAINTEXT"]
	s.brokers = []string{s.bootstrap}
	kcl, err := kgo.NewClient(kgo.SeedBrokers(s.bootstrap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kcl.Close)
	s.kcl, s.adm = kcl, kadm.NewClient(kcl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.scramUsers(ctx); err != nil {
		s.scramDown = "creating the SCRAM users (AlterUserScramCredentials, then a SCRAM login): " + err.Error()
	}
	t.Logf("security cluster (%s) up after %v: %v", map[bool]string{true: "Kafka 3.9", false: "ours"}[reference], time.Since(begin).Round(time.Millisecond), s.addr)
	return s
}

// scramUsers gives admin SCRAM-SHA-256 and -512 credentials with
// AlterUserScramCredentials, as `kafka-configs --alter --add-config
// 'SCRAM-SHA-256=[...]'` does, and waits until the broker authenticates
// with them (the credential reaches the broker through ZooKeeper's change
// notification).
func (s *secEnv) scramUsers(ctx context.Context) error {
	var ups []kadm.UpsertSCRAM
	for _, m := range []kadm.ScramMechanism{kadm.ScramSha256, kadm.ScramSha512} {
		ups = append(ups, kadm.UpsertSCRAM{User: secAdmin, Mechanism: m, Iterations: 8192, Password: secAdminPass})
	}
	res, err := s.adm.AlterUserSCRAMs(ctx, nil, ups)
	if err != nil {
		return err
	}
	if err := res.Error(); err != nil {
		return err
	}
	return waitFor(ctx, 20*time.Second, func() error {
		for _, mech := range []string{"SCRAM-SHA-256", "SCRAM-SHA-512"} {
			if err := s.probe(ctx, mech); err != nil {
				return fmt.Errorf("%s: %w", mech, err)
			}
		}
		return nil
	})
}

// probe authenticates on SASL_SSL with franz-go and asks for metadata.
func (s *secEnv) probe(ctx context.Context, mech string) error {
	c, err := franzSecure(s, mech, secAdmin, secAdminPass)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = kadm.NewClient(c).BrokerMetadata(ctx)
	return err
}

// secFlags are the driver flags of a cell: listener SSL or MTLS (mech
// "tls"/"mtls"), or SASL_SSL with a mechanism.
func (s *secEnv) secFlags(listener, mech, user, pass string) []string {
	f := s.files
	args := []string{"--ca", f.ca, "--truststore", f.truststore, "--truststore-password", secPass}
	switch listener {
	case "SSL":
		args = append(args, "--security-protocol", "SSL")
	case "MTLS":
		args = append(args, "--security-protocol", "SSL", "--cert", f.clientCert, "--key-file", f.clientKey,
			"--keystore", f.clientP12, "--keystore-password", secPass)
	default:
		args = append(args, "--security-protocol", "SASL_SSL", "--sasl-mechanism", mech, "--sasl-user", user, "--sasl-password", pass)
	}
	return args
}

// cellSecure: the runner creates a topic over PLAINTEXT; the driver, on
// the listener, produces 20 records and consumes them back (roundtrip: one
// process, one JVM for Java); the runner finds the 20 in the log.
func cellSecure(listener, mech string) func(context.Context, *env, client, string) result {
	return func(ctx context.Context, e *env, c client, topic string) result {
		s := e.sec
		if s.down != "" {
			return fail("%s", s.down)
		}
		if strings.HasPrefix(mech, "SCRAM") && s.scramDown != "" {
			return fail("%s", s.scramDown)
		}
		if err := s.createTopic(ctx, topic, 1, 1, nil); err != nil {
			return fail("%v", err)
		}
		flags := s.secFlags(listener, mech, secAdmin, secAdminPass)
		r := invoke(ctx, c, s.addr[listener], "roundtrip", 60*time.Second, append([]string{"--topic", topic, "--n", "20", "--partitions", "1"}, flags...)...)
		if res, done := skipOrFail(r); done {
			return res
		}
		recs, err := s.readAtLeast(ctx, topic, 20)
		if err != nil {
			return fail("%v", err)
		}
		if err := checkProduced(recs, 20, 1, false); err != nil {
			return fail("%v", err)
		}
		seen := map[string]bool{}
		for _, rec := range r.recs() {
			seen[rec.V] = true
		}
		for _, rec := range recs {
			if !seen[string(rec.Value)] {
				return fail("the driver did not consume %s (got %d distinct of 20)", rec.Value, len(seen))
			}
		}
		return pass()
	}
}

// cellACLDenied: alice, with WRITE and DESCRIBE on the topic (LITERAL),
// produces over SASL_SSL/PLAIN; mallory, with no ACL, must get an
// authorization error from the client (produce --expect-denied) and
// nothing of hers is stored.
func cellACLDenied(ctx context.Context, e *env, c client, topic string) result {
	s := e.sec
	if s.down != "" {
		return fail("%s", s.down)
	}
	if err := s.createTopic(ctx, topic, 1, 1, nil); err != nil {
		return fail("%v", err)
	}
	b := kadm.NewACLs().Allow("User:"+secAlice).AllowHosts("*").Topics(topic).
		ResourcePatternType(kadm.ACLPatternLiteral).Operations(kadm.OpWrite, kadm.OpDescribe)
	res, err := s.adm.CreateACLs(ctx, b)
	if err == nil {
		for _, r := range res {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	if err != nil {
		return fail("creating alice's ACLs: %v", err)
	}
	r := invoke(ctx, c, s.addr["SASL_SSL"], "produce", 60*time.Second,
		append([]string{"--topic", topic, "--n", "20", "--partitions", "1"}, s.secFlags("SASL_SSL", "PLAIN", secAlice, secAlicePass)...)...)
	if res, done := skipOrFail(r); done {
		res.reason = "alice (allowed): " + res.reason
		return res
	}
	r = invoke(ctx, c, s.addr["SASL_SSL"], "produce", 30*time.Second,
		append([]string{"--topic", topic, "--n", "5", "--partitions", "1", "--expect-denied"}, s.secFlags("SASL_SSL", "PLAIN", secMallory, secMallPass)...)...)
	if res, done := skipOrFail(r); done {
		res.reason = "mallory (no ACL): " + res.reason
		return res
	}
	denied := r.with("denied")
	if len(denied) != 1 {
		return fail("mallory: no {\"denied\":...} line")
	}
	msg := strings.ToLower(string(denied[0]["denied"]))
	if !strings.Contains(msg, "topic") {
		return fail("mallory: the error does not name the topic authorization: %s", denied[0]["denied"])
	}
	recs, err := s.readAll(ctx, topic)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkProduced(recs, 20, 1, false); err != nil {
		return fail("after mallory: %v", err)
	}
	return pass()
}

// franzSecure is a franz-go client on the SASL_SSL listener.
func franzSecure(s *secEnv, mech, user, pass string) (*kgo.Client, error) {
	tc, err := secTLS(s.files, false)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(s.addr["SASL_SSL"]), kgo.DialTLSConfig(tc)}
	m, err := franzMechanism(mech, user, pass)
	if err != nil {
		return nil, err
	}
	return kgo.NewClient(append(opts, kgo.SASL(m))...)
}

// softResult is what softly saw.
type softResult struct {
	ok  bool
	msg string
}

// softTB is the test's TB with Fatal and Error recorded instead of failing
// the test: a start that fails ends f (runtime.Goexit) and is reported.
// Cleanups still go to the test.
type softTB struct {
	testing.TB
	mu   sync.Mutex
	msgs []string
}

func (s *softTB) record(msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, msg)
}
func (s *softTB) Error(args ...any)                 { s.record(fmt.Sprint(args...)) }
func (s *softTB) Errorf(format string, args ...any) { s.record(fmt.Sprintf(format, args...)) }
func (s *softTB) Fatal(args ...any)                 { s.record(fmt.Sprint(args...)); runtime.Goexit() }
func (s *softTB) Fatalf(format string, args ...any) {
	s.record(fmt.Sprintf(format, args...))
	runtime.Goexit()
}
func (s *softTB) FailNow() { s.record("FailNow"); runtime.Goexit() }
func (s *softTB) Fail()    { s.record("Fail") }

// Failed is the test's: a start that failed softly keeps no broker logs
// (its reason and log tail are in the cells and the test's log).
func (s *softTB) Failed() bool { return s.TB.Failed() }

// softly runs f with a softTB in its own goroutine.
func softly(t *testing.T, f func(tb testing.TB)) softResult {
	tb := &softTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return softResult{ok: len(tb.msgs) == 0, msg: strings.Join(tb.msgs, "\n")}
}

// makeSecFiles writes a CA, the broker's certificate (SANs 127.0.0.1 and
// localhost) and a client certificate (CN=matrix-client) as PEM, the
// client's as a PKCS12 keystore and the CA as a JKS truststore (keytool).
func makeSecFiles(dir string) (secFiles, error) {
	f := secFiles{dir: dir, ca: filepath.Join(dir, "ca.pem"), brokerPEM: filepath.Join(dir, "broker.pem"),
		clientCert: filepath.Join(dir, "client-cert.pem"), clientKey: filepath.Join(dir, "client-key.pem"),
		clientP12: filepath.Join(dir, "client.p12"), truststore: filepath.Join(dir, "truststore.jks")}
	now := time.Now()
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return f, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "matrix-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return f, err
	}
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP, dns []string) (*rsa.PrivateKey, []byte, error) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: ips, DNSNames: dns}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		return key, der, err
	}
	bKey, bDER, err := leaf(2, "localhost", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")}, []string{"localhost"})
	if err != nil {
		return f, err
	}
	cKey, cDER, err := leaf(3, secClientCN, x509.ExtKeyUsageClientAuth, nil, nil)
	if err != nil {
		return f, err
	}
	certPEM := func(der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}) }
	keyPEM := func(k *rsa.PrivateKey) ([]byte, error) {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), err
	}
	bk, err := keyPEM(bKey)
	if err != nil {
		return f, err
	}
	ck, err := keyPEM(cKey)
	if err != nil {
		return f, err
	}
	cCert, err := x509.ParseCertificate(cDER)
	if err != nil {
		return f, err
	}
	p12, err := pkcs12.Modern.Encode(cKey, cCert, []*x509.Certificate{caCert}, secPass)
	if err != nil {
		return f, err
	}
	for path, data := range map[string][]byte{
		f.ca:         certPEM(caDER),
		f.brokerPEM:  append(append(bk, certPEM(bDER)...), certPEM(caDER)...),
		f.clientCert: append(certPEM(cDER), certPEM(caDER)...),
		f.clientKey:  ck,
		f.clientP12:  p12,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return f, err
		}
	}
	keytool, err := exec.LookPath("keytool")
	if err != nil {
		return f, fmt.Errorf("keytool (the JDK's, make deps) is needed for the Java truststore: %w", err)
	}
	out, err := exec.Command(keytool, "-importcert", "-noprompt", "-alias", "matrix-ca", "-file", f.ca,
		"-keystore", f.truststore, "-storetype", "JKS", "-storepass", secPass).CombinedOutput()
	if err != nil {
		return f, fmt.Errorf("keytool: %v: %s", err, out)
	}
	return f, nil
}

// secTLS is the runner's TLS configuration: the CA, and the client's
// certificate when withCert.
func secTLS(f secFiles, withCert bool) (*tls.Config, error) {
	s := driver.Security{Protocol: "SSL", CA: f.ca}
	if withCert {
		s.Cert, s.Key = f.clientCert, f.clientKey
	}
	return s.TLSConfig()
}

// franzMechanism is franz-go's SASL mechanism by Kafka's name.
func franzMechanism(mech, user, pass string) (sasl.Mechanism, error) {
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("unknown mechanism %q", mech)
}

// startError is the telling line of a failed start: the broker's last
// ERROR line, else the first line.
func startError(msg string) string {
	lines := strings.Split(msg, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "ERROR") {
			return oneLine(l)
		}
	}
	return oneLine(msg)
}
