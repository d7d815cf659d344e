package compat_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// toolsTLSKnownDifferences are where our tools and Kafka 3.9's part ways
// over SSL and SASL_SSL; the test asserts each still holds.
var toolsTLSKnownDifferences = map[string]string{
	"plaintext-on-ssl-port": "a tool without TLS settings on an SSL port: Kafka's admin client retries until default.api.timeout.ms and " +
		"fails with TimeoutException: Timed out waiting for a node assignment; ours fails at once with KafkaException: ... is TLS missing? " +
		"(franz-go's message for a connection closed during ApiVersions)",
}

// TestToolsOverTLS: our command-line tools take Kafka's client keys in
// --command-config / --producer.config / --consumer.config
// (security.protocol, ssl.truststore.*, ssl.keystore.*, sasl.*) and work
// against a broker's SSL listener (client certificate required: mTLS with
// a PKCS12 key store, JKS trust store) and its SASL_SSL listener
// (SCRAM-SHA-512, PEM trust store): kafka-topics --create/--list,
// kafka-configs --describe, kafka-acls --add/--list, kafka-consumer-groups
// --list and the console producer and consumer. Kafka 3.9's own tools run
// the same commands with the same files (one JVM) and print the same.
// Without TLS settings our tool fails on the SSL port, as Kafka's does.
func TestToolsOverTLS(t *testing.T) {
	p := newTLSPKI(t)
	c := cluster.StartListeners(t, 1, []string{"SSL", "SASL_SSL"}, append([]string{
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
		"ssl.truststore.location=" + p.trustJKS, "ssl.truststore.password=" + trustPass,
		"listener.name.ssl.ssl.client.auth=required",
		"sasl.enabled.mechanisms=SCRAM-SHA-512",
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "allow.everyone.if.no.acl.found=true",
		"super.users=User:admin", "offsets.topic.replication.factor=1", "connection.failed.authentication.delay.ms=0",
	}, p.keystore(t, "JKS", "broker0")...)...)
	b := c.Broker(0)
	sslAddr, saslAddr := b.Listeners["SSL"], b.Listeners["SASL_SSL"]
	bin := cluster.Binary(t)

	// The SCRAM user, over the PLAINTEXT listener.
	if out, errOut, code := c.Tool("kafka-configs.sh", "--bootstrap-server", c.Bootstrap(), "--alter", "--entity-type", "users",
		"--entity-name", "admin", "--add-config", "SCRAM-SHA-512=[password=admin-secret]"); code != 0 {
		t.Fatalf("kafka-configs --add-config SCRAM: exit %d\n%s%s", code, out, errOut)
	}

	dir := t.TempDir()
	writeProps := func(name string, lines ...string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	mtls := writeProps("ssl.properties", append([]string{"security.protocol=SSL",
		"ssl.truststore.location=" + p.trustJKS, "ssl.truststore.password=" + trustPass},
		p.keystore(t, "PKCS12", "tool-client")...)...)
	scram := writeProps("sasl_ssl.properties", "security.protocol=SASL_SSL",
		"ssl.truststore.type=PEM", "ssl.truststore.location="+p.caFile, "sasl.mechanism=SCRAM-SHA-512",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";`)
	plain := writeProps("plain.properties", "request.timeout.ms=1000", "default.api.timeout.ms=2000")

	ours := func(stdin, tool string, args ...string) (string, string, int) {
		t.Helper()
		out, errOut, err := run(t, 60*time.Second, []byte(stdin), bin, append([]string{tool}, args...)...)
		code := 0
		if err != nil {
			code = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
		}
		return string(out), errOut, code
	}
	oursOK := func(stdin, tool string, args ...string) string {
		t.Helper()
		out, errOut, code := ours(stdin, tool, args...)
		if code != 0 {
			t.Fatalf("our %s %v: exit %d\n%s\n%s", tool, args, code, out, clip(errOut, 3000))
		}
		return out
	}
	k := startKafkaTools(t)

	for _, tc := range []struct {
		name, addr, props string
	}{
		{"SSL-mTLS", sslAddr, mtls},
		{"SASL_SSL-SCRAM", saslAddr, scram},
	} {
		// No subtests: the Kafka tool runner fails the test it was started by.
		func() {
			topic, javaTopic := "tls-"+strings.ToLower(tc.name[:3]), "java-"+strings.ToLower(tc.name[:3])
			cc := []string{"--bootstrap-server", tc.addr, "--command-config", tc.props}
			with := func(args ...string) []string { return append(append([]string{}, cc...), args...) }
			same := func(what, oursOut, kafkaOut string) {
				t.Helper()
				if oursOut != kafkaOut {
					t.Errorf("%s over %s:\n ours: %q\nKafka: %q", what, tc.name, oursOut, kafkaOut)
				}
			}

			// kafka-topics --create / --list.
			out := oursOK("", "kafka-topics.sh", with("--create", "--topic", topic, "--partitions", "2", "--replication-factor", "1")...)
			jout := k.ok("", ktTopics, with("--create", "--topic", javaTopic, "--partitions", "2", "--replication-factor", "1")...)
			same("kafka-topics --create", strings.ReplaceAll(out, topic, "T"), strings.ReplaceAll(jout, javaTopic, "T"))
			out = oursOK("", "kafka-topics.sh", with("--list")...)
			if !strings.Contains(out, topic+"\n") || !strings.Contains(out, javaTopic+"\n") {
				t.Errorf("our kafka-topics --list over %s: %q", tc.name, out)
			}
			same("kafka-topics --list", out, k.ok("", ktTopics, with("--list")...))

			// kafka-configs --describe.
			desc := []string{"--describe", "--entity-type", "topics", "--entity-name", topic}
			same("kafka-configs --describe", oursOK("", "kafka-configs.sh", with(desc...)...), k.ok("", ktConfigs, with(desc...)...))

			// kafka-acls --add / --list (the SCRAM admin is a super user;
			// the mTLS principal is allowed where no ACL is found).
			aclTopic := "acl-" + topic
			add := []string{"--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", aclTopic}
			out = oursOK("", "kafka-acls.sh", with(add...)...)
			if !strings.Contains(out, "principal=User:alice") {
				t.Errorf("our kafka-acls --add over %s: %q", tc.name, out)
			}
			list := []string{"--list", "--topic", aclTopic}
			out = oursOK("", "kafka-acls.sh", with(list...)...)
			if !strings.Contains(out, "principal=User:alice, host=*, operation=READ, permissionType=ALLOW") {
				t.Errorf("our kafka-acls --list over %s: %q", tc.name, out)
			}
			same("kafka-acls --list", out, k.ok("", "kafka.admin.AclCommand", with(list...)...))

			// Console producer and consumer: ours writes, ours and Kafka's read.
			prodCfg := []string{"--bootstrap-server", tc.addr, "--topic", topic, "--producer.config", tc.props}
			oursOK("one\ntwo\nthree\n", "kafka-console-producer.sh", prodCfg...)
			consume := []string{"--bootstrap-server", tc.addr, "--topic", topic, "--from-beginning", "--max-messages", "3",
				"--timeout-ms", "30000", "--consumer.config", tc.props, "--group", "g-" + topic}
			sorted := func(s string) string {
				f := strings.Fields(s)
				if len(f) != 3 {
					return s
				}
				slices.Sort(f)
				return strings.Join(f, ",")
			}
			out = oursOK("", "kafka-console-consumer.sh", consume...)
			if got := sorted(out); got != "one,three,two" {
				t.Errorf("our console consumer over %s read %q", tc.name, out)
			}
			consume[len(consume)-1] += "-java"
			if got := sorted(k.ok("", ktConsumer, consume...)); got != "one,three,two" {
				t.Errorf("Kafka's console consumer over %s read %q (our producer's records)", tc.name, got)
			}

			// kafka-consumer-groups --list sees both groups.
			groups := with("--list")
			out = oursOK("", "kafka-consumer-groups.sh", groups...)
			if !strings.Contains(out, "g-"+topic+"\n") || !strings.Contains(out, "g-"+topic+"-java\n") {
				t.Errorf("our kafka-consumer-groups --list over %s: %q", tc.name, out)
			}
			jgroups := k.ok("", ktGroups, groups...)
			same("kafka-consumer-groups --list", sortedLines(out), sortedLines(jgroups))
		}()
	}

	// Without TLS settings the tools cannot talk to the SSL port: both fail.
	{
		args := []string{"--bootstrap-server", sslAddr, "--command-config", plain, "--list"}
		out, errOut, code := ours("", "kafka-topics.sh", args...)
		if code == 0 {
			t.Errorf("our kafka-topics --list on the SSL port without TLS: exit 0\n%s%s", out, errOut)
		}
		if !strings.Contains(errOut, "is TLS missing?") {
			t.Errorf("known difference plaintext-on-ssl-port no longer holds for ours: %s", clip(errOut, 600))
		}
		out, errOut, code = k.run("", ktTopics, args...)
		if code == 0 {
			t.Errorf("Kafka's kafka-topics --list on the SSL port without TLS: exit 0\n%s%s", out, errOut)
		}
		if !strings.Contains(out+errOut, "TimeoutException: Timed out waiting for a node assignment. Call: listTopics") {
			t.Errorf("known difference plaintext-on-ssl-port no longer holds for Kafka: %s", clip(out+errOut, 600))
		}
	}
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}
