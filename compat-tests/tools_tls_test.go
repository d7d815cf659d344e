package compat_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
	"github.com/kafkazk/kafkazk/compat-tests/internal/tlspki"
)

// toolsTLSKnownDifferences are where our tools and Kafka 3.9's part ways
// over SSL and SASL_SSL; the test asserts each still holds.
var toolsTLSKnownDifferences = map[string]string{
	"plaintext-on-ssl-port": "a tool without TLS settings on an SSL port: Kafka's admin client retries until default.api.timeout.ms and " +
		"fails with TimeoutException: Timed out waiting for a node assignment; ours fails at once with KafkaException: ... is TLS missing? " +
		"(franz-go's message for a connection closed during ApiVersions)",
	"bad-store": "a trust store that does not load: Kafka's first line is KafkaException: Failed to create new KafkaAdminClient (the " +
		"store error is a Caused by of the stack trace); ours prints the store error first, naming the key as our broker does",
	"groups-auth-failure": "kafka-consumer-groups --list with a wrong SCRAM password: Kafka's ListGroups finds no usable broker " +
		"(Error: ... ExecutionException: KafkaException: Failed to find brokers to send ListGroups); ours names the cause " +
		"(Error: ... SaslAuthenticationException: <the broker's message>); both exit 0",
	"bad-enabled-protocol": "ssl.enabled.protocols naming an unknown protocol: Kafka's client does not check it and times out " +
		"(TimeoutException: Timed out waiting for a node assignment); ours refuses the config at once, naming the key",
}

// TestToolsOverTLS: our command-line tools take Kafka's client keys in
// --command-config / --producer.config / --consumer.config
// (security.protocol, ssl.truststore.*, ssl.keystore.*, sasl.*) and work
// against a broker's SSL listener (client certificate required: mTLS with
// a PKCS12 key store, JKS trust store) and its SASL_SSL listener
// (SCRAM-SHA-512, PEM trust store): kafka-topics --create/--list,
// kafka-configs --describe, kafka-acls --add/--list, kafka-consumer-groups
// --list, the console producer and consumer, kafka-delete-records,
// kafka-reassign-partitions --list and kafka-leader-election. Kafka 3.9's own tools run
// the same commands with the same files (one JVM) and print the same.
// Failures (no TLS settings, a bad store, an untrusted broker, a wrong
// password, a bad protocol name) are compared with Kafka's tool.
func TestToolsOverTLS(t *testing.T) {
	p := tlspki.New(t)
	c := cluster.StartListeners(t, 1, []string{"SSL", "SASL_SSL"}, append([]string{
		"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL",
		"ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=" + tlspki.TrustPass,
		"listener.name.ssl.ssl.client.auth=required",
		"sasl.enabled.mechanisms=SCRAM-SHA-512",
		"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "allow.everyone.if.no.acl.found=true",
		"super.users=User:admin", "offsets.topic.replication.factor=1", "connection.failed.authentication.delay.ms=0",
	}, p.Keystore(t, "JKS", "broker0")...)...)
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
		"ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=" + tlspki.TrustPass},
		p.Keystore(t, "PKCS12", "tool-client")...)...)
	scram := writeProps("sasl_ssl.properties", "security.protocol=SASL_SSL",
		"ssl.truststore.type=PEM", "ssl.truststore.location="+p.CAFile, "sasl.mechanism=SCRAM-SHA-512",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";`)

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
			t.Fatalf("our %s %v: exit %d\n%s\n%s", tool, args, code, out, harness.Clip(errOut, 3000))
		}
		return out
	}
	k := kafkatools.Start(t)

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
			jout := k.OK("", kafkatools.Topics, with("--create", "--topic", javaTopic, "--partitions", "2", "--replication-factor", "1")...)
			same("kafka-topics --create", strings.ReplaceAll(out, topic, "T"), strings.ReplaceAll(jout, javaTopic, "T"))
			out = oursOK("", "kafka-topics.sh", with("--list")...)
			if !strings.Contains(out, topic+"\n") || !strings.Contains(out, javaTopic+"\n") {
				t.Errorf("our kafka-topics --list over %s: %q", tc.name, out)
			}
			same("kafka-topics --list", out, k.OK("", kafkatools.Topics, with("--list")...))

			// kafka-configs --describe.
			desc := []string{"--describe", "--entity-type", "topics", "--entity-name", topic}
			same("kafka-configs --describe", oursOK("", "kafka-configs.sh", with(desc...)...), k.OK("", kafkatools.Configs, with(desc...)...))

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
			same("kafka-acls --list", out, k.OK("", "kafka.admin.AclCommand", with(list...)...))

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
			if got := sorted(k.OK("", kafkatools.Consumer, consume...)); got != "one,three,two" {
				t.Errorf("Kafka's console consumer over %s read %q (our producer's records)", tc.name, got)
			}

			// kafka-consumer-groups --list sees both groups.
			groups := with("--list")
			out = oursOK("", "kafka-consumer-groups.sh", groups...)
			if !strings.Contains(out, "g-"+topic+"\n") || !strings.Contains(out, "g-"+topic+"-java\n") {
				t.Errorf("our kafka-consumer-groups --list over %s: %q", tc.name, out)
			}
			jgroups := k.OK("", kafkatools.Groups, groups...)
			same("kafka-consumer-groups --list", sortedLines(out), sortedLines(jgroups))

			// The other tools that take a client config: kafka-delete-records
			// and kafka-reassign-partitions (--command-config),
			// kafka-leader-election (--admin.config).
			offsets := writeProps("offsets-"+topic+".json", `{"version":1,"partitions":[{"topic":"`+topic+`","partition":0,"offset":0}]}`)
			del := with("--offset-json-file", offsets)
			same("kafka-delete-records", oursOK("", "kafka-delete-records.sh", del...), k.OK("", kafkatools.Delete, del...))
			reassignList := with("--list")
			same("kafka-reassign-partitions --list", oursOK("", "kafka-reassign-partitions.sh", reassignList...), k.OK("", kafkatools.Reassign, reassignList...))
			elect := []string{"--bootstrap-server", tc.addr, "--admin.config", tc.props, "--election-type", "preferred", "--topic", topic, "--partition", "0"}
			eo, ee, ec := ours("", "kafka-leader-election.sh", elect...)
			ko, ke, kc := k.Run("", kafkatools.Election, elect...)
			if eo != ko || ec != kc || ec != 0 || !strings.Contains(eo, topic+"-0") {
				t.Errorf("kafka-leader-election over %s:\n ours: exit %d %q %s\nKafka: exit %d %q %s", tc.name, ec, eo, harness.Clip(ee, 500), kc, ko, harness.Clip(ke, 500))
			}
		}()
	}

	// Failures: each case either prints the same as Kafka's tool or is a
	// known difference (asserted both ways).
	timeouts := []string{"request.timeout.ms=1000", "default.api.timeout.ms=2000"}
	pemTrust := []string{"ssl.truststore.type=PEM", "ssl.truststore.location=" + p.CAFile}
	badSCRAM := append([]string{"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
		`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="wrong";`}, pemTrust...)
	const scramFailed = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
	for i, tc := range []struct {
		name, addr, tool, diff string
		props                  []string
		exit0                  bool   // the tool reports the failure but exits 0
		ours, kafka            string // in stdout+stderr
	}{
		{name: "plaintext-on-ssl-port", addr: sslAddr, tool: "kafka-topics.sh", diff: "plaintext-on-ssl-port",
			ours: "is TLS missing?", kafka: "TimeoutException: Timed out waiting for a node assignment. Call: listTopics"},
		{name: "unknown-protocol", addr: sslAddr, tool: "kafka-topics.sh", props: []string{"security.protocol=TLS"},
			ours: "org.apache.kafka.common.config.ConfigException: Invalid value TLS for configuration security.protocol: " +
				"String must be one of (case insensitive): SASL_SSL, PLAINTEXT, SSL, SASL_PLAINTEXT\n"},
		{name: "unknown-protocol-producer", addr: sslAddr, tool: "kafka-console-producer.sh", props: []string{"security.protocol=tls"},
			ours: "org.apache.kafka.common.config.ConfigException: Invalid value tls for configuration security.protocol: " +
				"String must be one of (case insensitive): SASL_SSL, PLAINTEXT, SSL, SASL_PLAINTEXT\n"},
		{name: "bad-store", addr: sslAddr, tool: "kafka-topics.sh", diff: "bad-store",
			props: []string{"security.protocol=SSL", "ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=wrong"},
			ours:  "Invalid value [hidden] for configuration ssl.truststore.password: Failed to load SSL keystore " + p.TrustJKS + " of type JKS",
			kafka: "org.apache.kafka.common.KafkaException: Failed to create new KafkaAdminClient"},
		{name: "untrusted-broker", addr: sslAddr, tool: "kafka-topics.sh", props: []string{"security.protocol=SSL"},
			ours: "Error while executing topic command : SSL handshake failed\n"},
		{name: "untrusted-broker-class", addr: sslAddr, tool: "kafka-topics.sh", props: []string{"security.protocol=SSL"},
			ours: "ERROR org.apache.kafka.common.errors.SslAuthenticationException: SSL handshake failed"},
		{name: "no-client-certificate", addr: sslAddr, tool: "kafka-topics.sh", props: append([]string{"security.protocol=SSL"}, pemTrust...),
			ours: "ERROR org.apache.kafka.common.errors.SslAuthenticationException: Failed to process post-handshake messages"},
		{name: "bad-enabled-protocol", addr: sslAddr, tool: "kafka-topics.sh", diff: "bad-enabled-protocol",
			props: append([]string{"security.protocol=SSL", "ssl.enabled.protocols=TLSv9"}, pemTrust...),
			ours:  "Invalid value TLSv9 for configuration ssl.enabled.protocols: Unsupported protocol: TLSv9",
			kafka: "TimeoutException: Timed out waiting for a node assignment. Call: listTopics"},
		{name: "wrong-scram-password", addr: saslAddr, tool: "kafka-topics.sh",
			props: append([]string{"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
				`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="wrong";`}, pemTrust...),
			ours: "Error while executing topic command : Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512\n"},
		{name: "wrong-scram-password-class", addr: saslAddr, tool: "kafka-topics.sh",
			props: append([]string{"security.protocol=SASL_SSL", "sasl.mechanism=SCRAM-SHA-512",
				`sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="wrong";`}, pemTrust...),
			ours: "ERROR org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"},
		{name: "wrong-scram-password-acls", addr: saslAddr, tool: "kafka-acls.sh", props: badSCRAM,
			ours: "Error while executing ACL command: org.apache.kafka.common.errors.SaslAuthenticationException: " + scramFailed + "\n"},
		{name: "wrong-scram-password-configs", addr: saslAddr, tool: "kafka-configs.sh", props: badSCRAM,
			ours: "org.apache.kafka.common.errors.SaslAuthenticationException: " + scramFailed + "\n"},
		// ConsumerGroupCommand prints the failure and exits 0.
		{name: "wrong-scram-password-groups", addr: saslAddr, tool: "kafka-consumer-groups.sh", props: badSCRAM, exit0: true,
			diff:  "groups-auth-failure",
			ours:  "Error: Executing consumer group command failed due to org.apache.kafka.common.errors.SaslAuthenticationException: " + scramFailed + "\n",
			kafka: "Error: Executing consumer group command failed due to java.util.concurrent.ExecutionException: org.apache.kafka.common.KafkaException: Failed to find brokers to send ListGroups\n"},
		{name: "untrusted-broker-acls", addr: sslAddr, tool: "kafka-acls.sh", props: []string{"security.protocol=SSL"},
			ours: "Error while executing ACL command: org.apache.kafka.common.errors.SslAuthenticationException: SSL handshake failed\n"},
	} {
		f := writeProps(fmt.Sprintf("fail-%d.properties", i), append(append([]string{}, tc.props...), timeouts...)...)
		var args []string
		var class, stdin string
		switch tc.tool {
		case "kafka-topics.sh":
			args, class = []string{"--bootstrap-server", tc.addr, "--command-config", f, "--list"}, kafkatools.Topics
		case "kafka-acls.sh":
			args, class = []string{"--bootstrap-server", tc.addr, "--command-config", f, "--list"}, "kafka.admin.AclCommand"
		case "kafka-configs.sh":
			args, class = []string{"--bootstrap-server", tc.addr, "--command-config", f, "--describe", "--entity-type", "topics"}, kafkatools.Configs
		case "kafka-consumer-groups.sh":
			args, class = []string{"--bootstrap-server", tc.addr, "--command-config", f, "--list"}, kafkatools.Groups
		case "kafka-console-producer.sh":
			args, class, stdin = []string{"--bootstrap-server", tc.addr, "--topic", "tls-ssl", "--producer.config", f}, kafkatools.Producer, "x\n"
		}
		if tc.kafka == "" {
			tc.kafka = tc.ours
		}
		if (tc.diff != "") != (tc.ours != tc.kafka) || (tc.diff != "" && toolsTLSKnownDifferences[tc.diff] == "") {
			t.Fatalf("%s: a difference must be listed in toolsTLSKnownDifferences", tc.name)
		}
		out, errOut, code := ours(stdin, tc.tool, args...)
		if (code == 0) != tc.exit0 || !strings.Contains(out+errOut, tc.ours) {
			t.Errorf("%s: our %s exit %d, want %q in\n%s%s", tc.name, tc.tool, code, tc.ours, out, harness.Clip(errOut, 3000))
		}
		out, errOut, code = k.Run(stdin, class, args...)
		if (code == 0) != tc.exit0 || !strings.Contains(out+errOut, tc.kafka) {
			t.Errorf("%s: Kafka's %s exit %d, want %q in\n%s%s", tc.name, tc.tool, code, tc.kafka, out, harness.Clip(errOut, 3000))
		}
	}
}

func sortedLines(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}
