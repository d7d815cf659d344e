package kafkadiff_test

import (
	"bufio"
	"context"
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
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// readmeSwapped are the example's keys the test replaces (addresses and
// paths of the machine it runs on); every other line is used as written.
var readmeSwapped = []string{"zookeeper.connect", "log.dirs", "listeners", "advertised.listeners", "ssl.keystore.location"}

// readmeBlock returns the fenced code block of README.md between
// <!-- name:begin --> and <!-- name:end -->.
func readmeBlock(t *testing.T, readme, name string) string {
	t.Helper()
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block", begin, end)
	}
	body := strings.TrimSpace(readme[i+len(begin) : j])
	lines := strings.Split(body, "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "```") || lines[len(lines)-1] != "```" {
		t.Fatalf("README.md %s: not one fenced code block:\n%s", name, body)
	}
	return strings.Join(lines[1:len(lines)-1], "\n")
}

// shellWords splits a command line as sh does for the README's commands:
// blanks separate words, single quotes keep blanks; nothing else is special.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case !quoted && (r == ' ' || r == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// readmeCommands are the block's commands: comments dropped, "\" lines
// joined, each split into words.
func readmeCommands(t *testing.T, block string) [][]string {
	t.Helper()
	var cmds [][]string
	var pending string
	sc := bufio.NewScanner(strings.NewReader(block))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending += cont + " "
			continue
		}
		words, err := shellWords(pending + line)
		if err != nil {
			t.Fatal(err)
		}
		pending = ""
		cmds = append(cmds, words)
	}
	return cmds
}

// writeReadmeKeystore writes a PKCS12 key store (password pass) with a key
// and a self-signed certificate for 127.0.0.1, and returns the certificate.
func writeReadmeKeystore(t *testing.T, path, pass string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "kafka-1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true, IsCA: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(key, cert, nil, pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, p12, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestReadmeSecurityExample starts a broker with README.md's SASL_SSL +
// SCRAM + ACLs server.properties (only readmeSwapped changed), after
// creating the SCRAM users with the README's kafka-configs.sh --zookeeper
// commands, then runs the README's remaining commands (kafka-configs.sh
// through the broker, kafka-acls.sh) on the INTERNAL listener and checks,
// on EXTERNAL (TLS verified against the broker's certificate, SCRAM-SHA-512):
// alice produces to orders, bob (a SCRAM user without ACLs) gets
// TOPIC_AUTHORIZATION_FAILED, a wrong password SASL_AUTHENTICATION_FAILED,
// and a client without TLS does not get in. So the README cannot rot. The
// broker is ours, then Apache Kafka 3.9 with the same file and the same
// commands (this binary's tools): the example must mean the same to both.
func TestReadmeSecurityExample(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	readme := string(data)
	props := readmeBlock(t, readme, "readme-security-example")
	cmds := readmeCommands(t, readmeBlock(t, readme, "readme-security-commands"))
	bin := cluster.Binary(t)
	zk := zktest.Start(t)
	for _, target := range []string{"ours", "kafka39"} {
		t.Run(target, func(t *testing.T) { checkReadmeExample(t, target, bin, zk, props, cmds) })
	}
}

func checkReadmeExample(t *testing.T, target, bin string, zk *zktest.Server, props string, cmds [][]string) {
	connect := zk.Chroot(t)
	dir := t.TempDir()
	internal, external := harness.FreeLoopbackAddr(t), harness.FreeLoopbackAddr(t)

	// The example's values of the swapped keys become this machine's.
	orig := map[string]string{}
	settings := map[string]string{}
	var lines []string
	swapped := 0
	for _, line := range strings.Split(props, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if ok && !strings.HasPrefix(line, "#") {
			orig[k] = v
			switch k {
			case "zookeeper.connect":
				line, swapped = k+"="+connect, swapped+1
			case "log.dirs":
				line, swapped = k+"="+filepath.Join(dir, "data"), swapped+1
			case "listeners", "advertised.listeners":
				line, swapped = k+"=INTERNAL://"+internal+",EXTERNAL://"+external, swapped+1
			case "ssl.keystore.location":
				line, swapped = k+"="+filepath.Join(dir, "kafka-1.p12"), swapped+1
			}
			k, v, _ = strings.Cut(line, "=")
			settings[k] = v
		}
		lines = append(lines, line)
	}
	if swapped != len(readmeSwapped) {
		t.Fatalf("README example: %d of the keys %v found; the test swaps exactly those", swapped, readmeSwapped)
	}
	for _, k := range []string{"ssl.keystore.password", "listener.security.protocol.map", "authorizer.class.name", "super.users"} {
		if orig[k] == "" {
			t.Fatalf("README example lacks %s", k)
		}
	}
	ca := writeReadmeKeystore(t, filepath.Join(dir, "kafka-1.p12"), orig["ssl.keystore.password"])
	cfg := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// The README's commands, with its ZooKeeper and broker addresses made ours.
	// zk-1:2181/kafka: the first server and the chroot of zookeeper.connect.
	zc := orig["zookeeper.connect"]
	slash := strings.LastIndexByte(zc, '/')
	if slash < 0 {
		t.Fatalf("README example: zookeeper.connect %q has no chroot", zc)
	}
	readmeZK := strings.SplitN(zc, ",", 2)[0] + zc[slash:]
	readmeInternal := strings.TrimPrefix(strings.SplitN(orig["advertised.listeners"], ",", 2)[0], "INTERNAL://")
	run := func(words []string) string {
		t.Helper()
		if !strings.HasPrefix(words[0], "bin/") {
			t.Fatalf("README command %q does not start with bin/", strings.Join(words, " "))
		}
		args := make([]string, 0, len(words))
		for _, w := range words[1:] {
			switch w {
			case readmeZK:
				w = connect
			case readmeInternal:
				w = internal
			}
			args = append(args, w)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{strings.TrimPrefix(words[0], "bin/")}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README command %s: %v\n%s", strings.Join(words, " "), err, out)
		}
		return string(out)
	}
	var before, after [][]string
	for _, c := range cmds {
		if len(c) > 1 && c[1] == "--zookeeper" {
			before = append(before, c)
		} else {
			after = append(after, c)
		}
	}
	if len(before) == 0 || len(after) == 0 {
		t.Fatalf("README commands: want kafka-configs.sh --zookeeper ones and ones through a broker, got %q", cmds)
	}
	for _, c := range before {
		run(c)
	}

	var brokerLog func() string
	if target == "kafka39" {
		port, err := strconv.Atoi(internal[strings.LastIndexByte(internal, ':')+1:])
		if err != nil {
			t.Fatal(err)
		}
		id, err := strconv.Atoi(orig["broker.id"])
		if err != nil {
			t.Fatalf("README example: broker.id %q: %v", orig["broker.id"], err)
		}
		// zookeeper.connect is the chroot made above; StartKafkaRef sets it.
		delete(settings, "zookeeper.connect")
		k := cluster.StartKafkaRef(t, zk.Addr, cluster.KafkaRefOptions{ID: int32(id), Port: port,
			Chroot: strings.TrimPrefix(connect, zk.Addr), Overrides: settings})
		brokerLog = func() string { return k.LogTail(40) }
	} else {
		brokerLog = startReadmeBroker(t, bin, cfg, internal)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// orders exists before the ACL commands (admin, a super user, on EXTERNAL).
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	extClient := func(user, pass string, more ...kgo.Opt) *kgo.Client {
		t.Helper()
		cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(external),
			kgo.DialTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}),
			kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()), kgo.RequestRetries(1)}, more...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	adm := extClient("admin", "admin-secret")
	ct := kmsg.NewPtrCreateTopicsRequest()
	tp := kmsg.NewCreateTopicsRequestTopic()
	tp.Topic, tp.NumPartitions, tp.ReplicationFactor = "orders", 1, 1
	ct.Topics, ct.TimeoutMillis = append(ct.Topics, tp), 30000
	if resp, err := ct.RequestWith(ctx, adm); err != nil || kerr.ErrorForCode(resp.Topics[0].ErrorCode) != nil {
		t.Fatalf("admin (SCRAM-SHA-512 over EXTERNAL) creating orders: %v %v\n%s", err, resp, brokerLog())
	}
	var listed string
	for _, c := range after {
		listed = run(c)
	}
	if !strings.Contains(listed, "User:alice") || !strings.Contains(listed, "operation=WRITE") {
		t.Errorf("the README's last command (kafka-acls.sh --list) shows no WRITE ACL for alice:\n%s", listed)
	}

	produce := func(cl *kgo.Client) error {
		pctx, pcancel := context.WithTimeout(ctx, 20*time.Second)
		defer pcancel()
		return cl.ProduceSync(pctx, &kgo.Record{Topic: "orders", Value: []byte("order-1")}).FirstErr()
	}
	if err := produce(extClient("alice", "alice-secret")); err != nil {
		t.Errorf("alice (WRITE on orders) producing over EXTERNAL: %v\n%s", err, brokerLog())
	}
	// bob's credential came from the README's --bootstrap-server command: a
	// login as bob that fails for lack of ACLs, not of the credential.
	if err := produce(extClient("bob", "bob-secret")); !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Errorf("bob (no ACL) producing: got %v, want TOPIC_AUTHORIZATION_FAILED", err)
	}
	mctx, mcancel := context.WithTimeout(ctx, 15*time.Second)
	defer mcancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(mctx, extClient("alice", "wrong")); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Errorf("alice with a wrong password: got %v, want SASL_AUTHENTICATION_FAILED", err)
	}
	if target == "ours" {
		checkToolsOverSASLSSL(t, bin, dir, external, ca)
	}
	// EXTERNAL without TLS: the broker reads the client's ApiVersions as a
	// TLS record and closes; no answer comes.
	var m sasl.Mechanism = scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()
	plain, err := kgo.NewClient(kgo.SeedBrokers(external), kgo.SASL(m), kgo.RequestRetries(0), kgo.DialTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
	defer pcancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(pctx, plain); err == nil {
		t.Errorf("a client without TLS got an answer on the SASL_SSL listener")
	}
}

// startReadmeBroker starts our broker with cfg, stops it when the test
// ends and waits until Metadata on internal lists it; it returns a function
// giving the broker's log.
func startReadmeBroker(t *testing.T, bin, cfg, internal string) func() string {
	logFile := filepath.Join(filepath.Dir(cfg), "broker.log")
	logf, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "kafka-server-start.sh", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	brokerLog := func() string { b, _ := os.ReadFile(logFile); return harness.Clip(string(b), 4000) }
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		if ok := func() bool {
			cl, err := kgo.NewClient(kgo.SeedBrokers(internal), kgo.RequestRetries(0))
			if err != nil {
				return false
			}
			defer cl.Close()
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			defer rcancel()
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(rctx, cl)
			return err == nil && len(resp.Brokers) == 1
		}(); ok {
			return brokerLog
		}
		select {
		case <-done:
			t.Fatalf("the broker exited with the README's configuration:\n%s", brokerLog())
		case <-ctx.Done():
			t.Fatalf("the broker never answered Metadata on INTERNAL:\n%s", brokerLog())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkToolsOverSASLSSL runs our kafka-acls.sh --list on the SASL_SSL
// listener with the client config a user of Kafka's tools writes there
// (security.protocol, SCRAM, a truststore holding the broker's CA): it
// lists alice's ACLs on orders, made by the README's commands.
func checkToolsOverSASLSSL(t *testing.T, bin, dir, external string, ca *x509.Certificate) {
	t.Helper()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "admin-sasl-ssl.properties")
	if err := os.WriteFile(cfg, []byte(strings.Join([]string{
		"security.protocol=SASL_SSL",
		"sasl.mechanism=SCRAM-SHA-512",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";`,
		"ssl.truststore.type=PEM",
		"ssl.truststore.location=" + caFile,
		"",
	}, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "kafka-acls.sh", "--bootstrap-server", external, "--command-config", cfg,
		"--list", "--topic", "orders").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "User:alice") || !strings.Contains(string(out), "operation=WRITE") {
		t.Errorf("our kafka-acls.sh --list over SASL_SSL: %v\n%s", err, harness.Clip(string(out), 1000))
	}
}
