package compat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
)

var ktKnownDiffs = []kafkatools.KnownDiff{
	{
		What: "consumer-groups --reset-offsets",
		Note: "Kafka 3.9.2 prints the NEW-OFFSET table with no line breaks (header and rows on one line, no final " +
			"newline: printOffsetsToReset's printf has no %n, a regression of the Java port fixed upstream by " +
			"\"Fix broken output layout of kafka-consumer-groups.sh\" #17058); ours prints one line each, as Kafka 3.7 and 4.0",
		Fix: ktBreakTable("GROUP", "NEW-OFFSET"),
	},
	{
		What: "consumer-groups --delete-offsets",
		Note: "Kafka 3.9.2 prints the TOPIC/PARTITION/STATUS table with no line breaks (same regression, #17058); " +
			"ours prints one line each",
		Fix: ktBreakTable("TOPIC", "STATUS"),
	},
	{
		What: "consumer-groups --describe (offsets)",
		Note: "Kafka 3.9.2 ends the offsets table without a newline (printOffsets starts each line with \\n and " +
			"prints none after the last row; #17058 adds it); ours ends it with one, as Kafka 3.7 and 4.0",
		Fix: func(s string) string {
			if s == "" || strings.HasSuffix(s, "\n") {
				return s
			}
			// Each group's table ends with a newline (so a blank line
			// separates the groups' tables).
			return s[:1] + strings.ReplaceAll(s[1:], "\nGROUP ", "\n\nGROUP ") + "\n"
		},
	},
}

// ktBreakTable re-inserts the line breaks Kafka 3.9.2 leaves out of a
// fixed-width table that starts with a header line from first to last.
func ktBreakTable(first, last string) func(string) string {
	return func(s string) string {
		i := strings.Index(s, "\n"+first+" ")
		if i < 0 {
			return s
		}
		head, table := s[:i+1], s[i+1:]
		j := strings.Index(table, last)
		if j < 0 {
			return s
		}
		// The header ends after last and its padding; each row is as wide
		// as the header.
		w := j + len(last)
		for w < len(table) && table[w] == ' ' {
			w++
		}
		if strings.HasSuffix(table, "\n") || w >= len(table) {
			return s
		}
		var b strings.Builder
		for len(table) > 0 {
			n := min(w, len(table))
			b.WriteString(table[:n] + "\n")
			table = table[n:]
		}
		return head + b.String()
	}
}

// ktCompare checks our Go tool's output against Kafka's for the same
// cluster state, after the known differences listed for what.
func ktCompare(t *testing.T, what, kafka, ours string) {
	t.Helper()
	k := kafka
	for _, d := range ktKnownDiffs {
		if d.What != what {
			continue
		}
		fixed := d.Fix(k)
		if fixed == k {
			t.Errorf("%s: known difference %q no longer occurs: remove it from ktKnownDiffs\nKafka:\n%s", what, d.Note, kafka)
		}
		k = fixed
	}
	if k != ours {
		t.Errorf("%s: our tool's output differs from Kafka 3.9's\nKafka:\n%s\nours:\n%s", what, kafka, ours)
	}
}

// ours runs our Go tool of the same name, which must exit 0.
func ktOurs(t *testing.T, c *cluster.Cluster, name string, args ...string) string {
	t.Helper()
	out, errOut, code := c.Tool(name, args...)
	if code != 0 {
		t.Fatalf("our %s %v: exit %d\nstdout:\n%s\nstderr:\n%s", name, args, code, out, errOut)
	}
	return out
}

// ktUnsupported asserts that our Go tool still refuses what Kafka's does:
// a known difference, written down in TestKafkaTools where it is called.
func ktUnsupported(t *testing.T, c *cluster.Cluster, name string, args ...string) {
	t.Helper()
	if out, _, code := c.Tool(name, args...); code == 0 {
		t.Errorf("known difference gone? our %s %v now succeeds: compare it with Kafka's\n%s", name, args, out)
	}
}

func ktSortedLines(s string) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}

// TestKafkaTools runs Apache Kafka 3.9's own command-line tools against a
// cluster of our brokers, in the scenarios users run them in, and compares
// the output of our Go tools of the same names run with the same arguments
// on the same cluster state.
func TestKafkaTools(t *testing.T) {
	k := kafkatools.Start(t)
	c := cluster.Start(t, 3)
	bs := c.Bootstrap()
	dir := t.TempDir()
	boot := []string{"--bootstrap-server", bs}
	with := func(args ...string) []string { return append(append([]string{}, boot...), args...) }

	// kafka-topics: create / list / describe / alter partitions / delete.
	out := k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-a", "--partitions", "3", "--replication-factor", "2", "--config", "retention.ms=86400000")...)
	ours := ktOurs(t, c, "kafka-topics.sh", with("--create", "--topic", "kt-o", "--partitions", "3", "--replication-factor", "2", "--config", "retention.ms=86400000")...)
	ktCompare(t, "topics --create", out, strings.ReplaceAll(ours, "kt-o", "kt-a"))
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-b", "--partitions", "1", "--replication-factor", "3")...)
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-perf", "--partitions", "3", "--replication-factor", "3", "--config", "segment.bytes=300000")...)
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-gone", "--partitions", "2", "--replication-factor", "1")...)
	ktCompare(t, "topics --list", k.OK("", kafkatools.Topics, with("--list")...), ktOurs(t, c, "kafka-topics.sh", with("--list")...))
	out = k.OK("", kafkatools.Topics, with("--alter", "--topic", "kt-a", "--partitions", "4")...)
	if out != "" {
		t.Errorf("topics --alter printed %q, want nothing", out)
	}
	for _, topic := range []string{"kt-a", "kt-b"} {
		out = k.OK("", kafkatools.Topics, with("--describe", "--topic", topic)...)
		ktCompare(t, "topics --describe", out, ktOurs(t, c, "kafka-topics.sh", with("--describe", "--topic", topic)...))
	}
	harness.WantContains(t, "topics --describe", out, "Topic: kt-b\tTopicId: ", "\tPartitionCount: 1\tReplicationFactor: 3\tConfigs: \n")
	out = k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-a")...)
	harness.WantContains(t, "topics --describe", out, "PartitionCount: 4\tReplicationFactor: 2\tConfigs: retention.ms=86400000\n", "\tPartition: 3\tLeader: ")
	k.OK("", kafkatools.Topics, with("--delete", "--topic", "kt-gone")...)
	harness.Poll(t, 30*time.Second, "deleted topic leaves Kafka's --list", func() (bool, string) {
		l := k.OK("", kafkatools.Topics, with("--list")...)
		return !strings.Contains(l, "kt-gone"), l
	})
	ktCompare(t, "topics --describe (all)", k.OK("", kafkatools.Topics, with("--describe", "--under-replicated-partitions")...),
		ktOurs(t, c, "kafka-topics.sh", with("--describe", "--under-replicated-partitions")...))

	// Explicit replica assignments, and the errors users meet most often:
	// same exit status and same message from both tools.
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-r", "--replica-assignment", "0:1,1:2,2:0")...)
	k.OK("", kafkatools.Topics, with("--alter", "--topic", "kt-r", "--partitions", "4", "--replica-assignment", "0:1,1:2,2:0,1:0")...)
	out = k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-r")...)
	harness.WantContains(t, "topics --describe (replica assignment)", out, "\tPartition: 3\tLeader: 1\tReplicas: 1,0\tIsr: 1,0\t")
	ktCompare(t, "topics --describe", out, ktOurs(t, c, "kafka-topics.sh", with("--describe", "--topic", "kt-r")...))
	ktCompare(t, "topics --list --exclude-internal", k.OK("", kafkatools.Topics, with("--list", "--exclude-internal")...),
		ktOurs(t, c, "kafka-topics.sh", with("--list", "--exclude-internal")...))
	for _, args := range [][]string{
		{"kafka-topics.sh", kafkatools.Topics, "--create", "--topic", "bad name!", "--partitions", "1"},
		{"kafka-topics.sh", kafkatools.Topics, "--create", "--topic", "kt-big", "--partitions", "1", "--replication-factor", "5"},
		{"kafka-topics.sh", kafkatools.Topics, "--create", "--topic", "kt-a", "--partitions", "1"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "topics", "--entity-name", "kt-a", "--alter", "--add-config", "retention.ms=abc"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "topics", "--entity-name", "kt-a", "--alter", "--add-config", "no.such.config=1"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "log.cleaner.threads=abc"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "broker.id=7"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "no.such.logger=DEBUG"},
		{"kafka-configs.sh", kafkatools.Configs, "--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "root=LOUD"},
		{"kafka-consumer-groups.sh", kafkatools.Groups, "--describe", "--group", "no-such-group"},
		{"kafka-consumer-groups.sh", kafkatools.Groups, "--list", "--state", "sleepy"},
	} {
		kOut, kErr, kCode := k.Run("", args[1], with(args[2:]...)...)
		oOut, oErr, oCode := c.Tool(args[0], with(args[2:]...)...)
		what := args[0] + " " + strings.Join(args[2:], " ")
		if kCode != oCode {
			t.Errorf("%s: Kafka exits %d, ours %d\nKafka:\n%s%s\nours:\n%s%s", what, kCode, oCode, kOut, harness.Clip(kErr, 2000), oOut, oErr)
		}
		// The message, without Kafka's stack trace (the "\tat " lines), its
		// usage text, or the log line's time stamp.
		msg := func(s string) string {
			var keep []string
			for _, l := range strings.Split(s, "\n") {
				if strings.HasPrefix(l, "\tat ") || strings.HasPrefix(l, "\t... ") || strings.HasPrefix(l, "Option ") {
					break
				}
				if i := strings.Index(l, "] ERROR "); strings.HasPrefix(l, "[") && i > 0 {
					l = l[i+2:]
				}
				keep = append(keep, l)
			}
			return strings.TrimSpace(strings.Join(keep, "\n"))
		}
		ktCompare(t, "error: "+what, msg(kOut)+"\n"+msg(kErr), msg(oOut)+"\n"+msg(oErr))
	}

	// kafka-configs: topics and brokers, add/delete, describe, --all.
	for _, e := range [][2]string{{"kt-a", ""}, {"kt-o", "ours"}} {
		args := with("--entity-type", "topics", "--entity-name", e[0], "--alter", "--add-config", "segment.bytes=1048576,cleanup.policy=compact")
		if e[1] == "" {
			out = k.OK("", kafkatools.Configs, args...)
		} else {
			out = strings.ReplaceAll(ktOurs(t, c, "kafka-configs.sh", args...), "kt-o", "kt-a")
		}
		ktCompare(t, "configs --alter --add-config", "Completed updating config for topic kt-a.\n", out)
	}
	describeTopic := with("--entity-type", "topics", "--entity-name", "kt-a", "--describe")
	out = k.OK("", kafkatools.Configs, describeTopic...)
	harness.WantContains(t, "configs --describe", out, "Dynamic configs for topic kt-a are:\n",
		"  cleanup.policy=compact sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n")
	ktCompare(t, "configs --describe topic", out, ktOurs(t, c, "kafka-configs.sh", describeTopic...))
	ktCompare(t, "configs --describe topic (ours altered)", out,
		strings.ReplaceAll(ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "topics", "--entity-name", "kt-o", "--describe")...), "kt-o", "kt-a"))
	k.OK("", kafkatools.Configs, with("--entity-type", "topics", "--entity-name", "kt-a", "--alter", "--delete-config", "cleanup.policy")...)
	ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "topics", "--entity-name", "kt-o", "--alter", "--delete-config", "cleanup.policy")...)
	out = k.OK("", kafkatools.Configs, append(describeTopic, "--all")...)
	harness.WantContains(t, "configs --describe --all", out, "All configs for topic kt-a are:\n", "  cleanup.policy=delete sensitive=false synonyms={DEFAULT_CONFIG:log.cleanup.policy=delete}\n")
	ktCompare(t, "configs --describe --all topic", out, ktOurs(t, c, "kafka-configs.sh", append(describeTopic, "--all")...))
	out = k.OK("", kafkatools.Configs, with("--entity-type", "brokers", "--entity-name", "1", "--alter", "--add-config", "log.cleaner.threads=2")...)
	harness.WantContains(t, "configs --alter broker", out, "Completed updating config for broker 1.\n")
	ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "log.retention.ms=3600000")...)
	for _, args := range [][]string{
		{"--entity-type", "brokers", "--entity-name", "1", "--describe"},
		{"--entity-type", "brokers", "--entity-default", "--describe"},
		{"--entity-type", "brokers", "--entity-name", "1", "--describe", "--all"},
	} {
		out = k.OK("", kafkatools.Configs, with(args...)...)
		ktCompare(t, "configs "+strings.Join(args, " "), out, ktOurs(t, c, "kafka-configs.sh", with(args...)...))
	}
	harness.WantContains(t, "configs --describe --all broker", out, "All configs for broker 1 are:\n",
		"  log.cleaner.threads=2 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.threads=2, DEFAULT_CONFIG:log.cleaner.threads=1}\n",
		"  log.retention.ms=3600000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=3600000, DEFAULT_CONFIG:log.retention.hours=168}\n")
	k.OK("", kafkatools.Configs, with("--entity-type", "brokers", "--entity-name", "1", "--alter", "--delete-config", "log.cleaner.threads")...)
	k.OK("", kafkatools.Configs, with("--entity-type", "brokers", "--entity-default", "--alter", "--delete-config", "log.retention.ms")...)
	out = k.OK("", kafkatools.Configs, with("--entity-type", "brokers", "--entity-name", "1", "--describe")...)
	ktCompare(t, "configs --describe broker after --delete-config", "Dynamic configs for broker 1 are:\n", out)
	// All topics (Kafka lists them in the order of a Java HashSet: blocks
	// compared sorted) and all brokers.
	blocks := func(s string) string {
		parts := strings.Split(s, "Dynamic configs for ")
		slices.Sort(parts)
		return strings.Join(parts, "|")
	}
	out = k.OK("", kafkatools.Configs, with("--entity-type", "topics", "--describe")...)
	harness.WantContains(t, "configs --describe all topics", out, "Dynamic configs for topic kt-a are:\n", "Dynamic configs for topic __consumer_offsets are:\n  cleanup.policy=compact ")
	ktCompare(t, "configs --entity-type topics --describe", blocks(out), blocks(ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "topics", "--describe")...)))
	ktCompare(t, "configs --entity-type brokers --describe", k.OK("", kafkatools.Configs, with("--entity-type", "brokers", "--describe")...),
		ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "brokers", "--describe")...))
	// Broker loggers: every logger the broker reports, whatever its source;
	// Kafka's tool sets broker 0's root logger, ours broker 1's.
	out = k.OK("", kafkatools.Configs, with("--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "root=DEBUG")...)
	ktCompare(t, "configs broker-loggers --alter", "Completed updating config for broker-logger 0.\n", out)
	ours = ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "broker-loggers", "--entity-name", "1", "--alter", "--add-config", "root=DEBUG")...)
	ktCompare(t, "configs broker-loggers --alter", "Completed updating config for broker-logger 1.\n", ours)
	for _, id := range []string{"0", "1"} {
		a := with("--entity-type", "broker-loggers", "--entity-name", id, "--describe")
		out = k.OK("", kafkatools.Configs, a...)
		harness.WantContains(t, "configs broker-loggers", out, "Dynamic configs for broker-logger "+id+" are:\n", "  root=DEBUG sensitive=false synonyms={}\n")
		ktCompare(t, "configs broker-loggers", out, ktOurs(t, c, "kafka-configs.sh", a...))
	}
	k.OK("", kafkatools.Configs, with("--entity-type", "broker-loggers", "--entity-name", "0", "--alter", "--add-config", "root=INFO")...)
	ktOurs(t, c, "kafka-configs.sh", with("--entity-type", "broker-loggers", "--entity-name", "1", "--alter", "--add-config", "root=INFO")...)
	// Client quotas: our broker does not implement DescribeClientQuotas (48).
	_, errOut, code := k.Run("", kafkatools.Configs, with("--entity-type", "clients", "--describe")...)
	if code != 1 || !strings.Contains(errOut, "UnsupportedVersionException: The node does not support DESCRIBE_CLIENT_QUOTAS") {
		t.Errorf("known difference gone? Kafka's ConfigCommand --entity-type clients: exit %d\n%s", code, harness.Clip(errOut, 3000))
	}
	ktUnsupported(t, c, "kafka-configs.sh", with("--entity-type", "clients", "--describe")...)

	// Console producer with keys, then console consumers from the beginning.
	var in, want strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
		fmt.Fprintf(&want, "k%d\tv%d\n", i, i)
	}
	out = k.OK(in.String(), kafkatools.Producer, with("--topic", "kt-b", "--property", "parse.key=true", "--property", "key.separator=:")...)
	consume := func(group string) []string {
		return with("--topic", "kt-b", "--from-beginning", "--max-messages", "30", "--property", "print.key=true", "--group", group)
	}
	for _, g := range []string{"kt-g", "kt-g3"} {
		out, errOut, code := k.Run("", kafkatools.Consumer, consume(g)...)
		if code != 0 || out != want.String() || errOut != "Processed a total of 30 messages\n" {
			t.Errorf("Kafka's ConsoleConsumer: exit %d\nstdout:\n%s\nstderr:\n%s\nwant stdout:\n%s", code, out, errOut, want.String())
		}
	}
	for _, g := range []string{"kt-g2", "kt-g4"} {
		ktCompare(t, "console-consumer", want.String(), ktOurs(t, c, "kafka-console-consumer.sh", consume(g)...))
	}
	// Our console producer with the same input and arguments, read back by
	// Kafka's console consumer: the same keys and values.
	oursIn := filepath.Join(dir, "producer.in")
	harness.WriteFile(t, dir, "producer.in", in.String())
	if _, _, err := run(t, 60*time.Second, []byte(in.String()), cluster.Binary(t), append([]string{"kafka-console-producer.sh"},
		with("--topic", "kt-o", "--property", "parse.key=true", "--property", "key.separator=:")...)...); err != nil {
		t.Fatalf("our console producer (input %s): %v", oursIn, err)
	}
	fromOurs, errOut, code := k.Run("", kafkatools.Consumer, with("--topic", "kt-o", "--from-beginning", "--max-messages", "30", "--property", "print.key=true")...)
	if code != 0 || errOut != "Processed a total of 30 messages\n" {
		t.Errorf("Kafka's ConsoleConsumer on our producer's records: exit %d\n%s\n%s", code, fromOurs, errOut)
	}
	if got := ktSortedLines(fromOurs); got != ktSortedLines(want.String()) {
		t.Errorf("records our console producer wrote, as Kafka's console consumer reads them:\n%s\nwant (any order):\n%s", got, want.String())
	}

	// Headers, keys, a null marker, and every print.* property of the
	// console consumer: Kafka's producer writes, both consumers print.
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-h", "--partitions", "1", "--replication-factor", "2")...)
	k.OK("h1:v1,h2:v2\tk1\tone\nh1:\tk2\ttwo\nh3:NULL\tNULL\tthree\n", kafkatools.Producer, with("--topic", "kt-h",
		"--property", "parse.key=true", "--property", "parse.headers=true", "--property", "null.marker=NULL")...)
	printAll := with("--topic", "kt-h", "--from-beginning", "--max-messages", "3", "--property", "print.timestamp=true",
		"--property", "print.key=true", "--property", "print.offset=true", "--property", "print.partition=true",
		"--property", "print.headers=true", "--property", "print.value=true", "--property", "key.separator=|")
	out = k.OK("", kafkatools.Consumer, printAll...)
	if !regexp.MustCompile(`^CreateTime:\d+\|Partition:0\|Offset:0\|h1:v1,h2:v2\|k1\|one\n`).MatchString(out) ||
		!strings.Contains(out, "|Offset:2|h3:null|null|three\n") {
		t.Errorf("Kafka's console consumer with every print.* property:\n%s", out)
	}
	ktCompare(t, "console-consumer print.*", out, ktOurs(t, c, "kafka-console-consumer.sh", printAll...))

	// kafka-consumer-groups: list / describe / reset-offsets / delete-offsets / delete.
	sortedLines := ktSortedLines
	out = k.OK("", kafkatools.Groups, with("--list")...)
	ktCompare(t, "consumer-groups --list", sortedLines(out), sortedLines(ktOurs(t, c, "kafka-consumer-groups.sh", with("--list")...)))
	// (and the console-consumer-NNNNN group of the consumer run without --group)
	if l := sortedLines(out); !strings.HasPrefix(l, "console-consumer-") || !strings.HasSuffix(l, "\nkt-g\nkt-g2\nkt-g3\nkt-g4") {
		t.Errorf("consumer-groups --list:\n%s", out)
	}
	groupCmp := func(what string, g string, args ...string) string {
		t.Helper()
		a := with(append([]string{"--group", g}, args...)...)
		kafka := k.OK("", kafkatools.Groups, a...)
		ktCompare(t, "consumer-groups "+what, kafka, ktOurs(t, c, "kafka-consumer-groups.sh", a...))
		return kafka
	}
	out = groupCmp("--describe (offsets)", "kt-g", "--describe")
	harness.WantContains(t, "consumer-groups --describe", out, "\nGROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG ",
		"\nkt-g            kt-b            0          30              30              0               -               -               -")
	groupCmp("--describe --state", "kt-g", "--describe", "--state")
	groupCmp("--describe --members", "kt-g", "--describe", "--members")
	groupCmp("--describe (offsets)", "kt-g", "--describe", "--offsets")
	for _, g := range []string{"kt-g", "kt-g2"} {
		a := with("--group", g, "--reset-offsets", "--topic", "kt-b", "--to-offset", "5", "--execute")
		kafka := k.OK("", kafkatools.Groups, a...)
		harness.WantContains(t, "consumer-groups --reset-offsets", kafka, "kt-b                           0          5              ")
		ktCompare(t, "consumer-groups --reset-offsets", kafka, ktOurs(t, c, "kafka-consumer-groups.sh", a...))
	}
	out = groupCmp("--describe (offsets)", "kt-g2", "--describe")
	harness.WantContains(t, "consumer-groups --describe after reset", out, "\nkt-g2           kt-b            0          5               30              25 ")
	groupCmp("--reset-offsets", "kt-g", "--reset-offsets", "--topic", "kt-b", "--to-earliest", "--dry-run")
	for _, args := range [][]string{
		{"--list", "--state"},
		{"--list", "--state", "empty,stable"},
	} {
		out = k.OK("", kafkatools.Groups, with(args...)...)
		ktCompare(t, "consumer-groups "+strings.Join(args, " "), sortedLines(out), sortedLines(ktOurs(t, c, "kafka-consumer-groups.sh", with(args...)...)))
	}
	// GROUP is as wide as the longest group id (console-consumer-NNNNN) + 10.
	if !regexp.MustCompile(`(?m)^GROUP {20,} STATE {15}\n(.|\n)*^kt-g4 {20,} Empty {15}$`).MatchString(out) {
		t.Errorf("consumer-groups --list --state:\n%s", out)
	}
	out = k.OK("", kafkatools.Groups, with("--describe", "--group", "kt-g2", "--group", "kt-g4")...)
	ktCompare(t, "consumer-groups --describe (offsets)", out, ktOurs(t, c, "kafka-consumer-groups.sh", with("--describe", "--group", "kt-g2", "--group", "kt-g4")...))
	for _, args := range [][]string{
		{"--group", "kt-g4", "--all-topics", "--shift-by", "-2", "--dry-run"},
		{"--group", "kt-g4", "--topic", "kt-b:0", "--to-datetime", "2020-01-01T00:00:00.000", "--dry-run"},
		{"--group", "kt-g4", "--topic", "kt-b", "--to-latest", "--dry-run"},
	} {
		a := with(append([]string{"--reset-offsets"}, args...)...)
		ktCompare(t, "consumer-groups --reset-offsets", k.OK("", kafkatools.Groups, a...), ktOurs(t, c, "kafka-consumer-groups.sh", a...))
	}
	a := with("--reset-offsets", "--group", "kt-g4", "--all-topics", "--by-duration", "PT1H", "--dry-run", "--export")
	out = k.OK("", kafkatools.Groups, a...)
	ktCompare(t, "consumer-groups --reset-offsets --export", "kt-b,0,0\n\n", out)
	ktCompare(t, "consumer-groups --reset-offsets --export", out, ktOurs(t, c, "kafka-consumer-groups.sh", a...))
	// Kafka's tool deletes kt-g's offsets, ours kt-g2's (the same state).
	out = k.OK("", kafkatools.Groups, with("--group", "kt-g", "--delete-offsets", "--topic", "kt-b")...)
	ours = ktOurs(t, c, "kafka-consumer-groups.sh", with("--group", "kt-g2", "--delete-offsets", "--topic", "kt-b")...)
	harness.WantContains(t, "consumer-groups --delete-offsets", out, "Request succeed for deleting offsets with topic kt-b group kt-g\n")
	ktCompare(t, "consumer-groups --delete-offsets", out, strings.ReplaceAll(ours, "group kt-g2", "group kt-g"))
	out = k.OK("", kafkatools.Groups, with("--delete", "--group", "kt-g3")...)
	ktCompare(t, "consumer-groups --delete", out, strings.ReplaceAll(ktOurs(t, c, "kafka-consumer-groups.sh", with("--delete", "--group", "kt-g4")...), "kt-g4", "kt-g3"))
	harness.WantContains(t, "consumer-groups --delete", out, "Deletion of requested consumer groups ('kt-g3') was successful.\n")

	// A group with an active member (a franz-go consumer, range assignor, no
	// commits): --members --verbose, --state and the offsets table with the
	// member's columns, both tools on the same state.
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(bs, ",")...), kgo.ConsumerGroup("kt-active"),
		kgo.ConsumeTopics("kt-a"), kgo.Balancers(kgo.RangeBalancer()), kgo.DisableAutoCommit(), kgo.ClientID("kt-member"))
	if err != nil {
		t.Fatal(err)
	}
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for !cl.PollFetches(context.Background()).IsClientClosed() {
		}
	}()
	harness.Poll(t, 60*time.Second, "the franz-go member owns kt-a's 4 partitions", func() (bool, string) {
		out := k.OK("", kafkatools.Groups, with("--describe", "--group", "kt-active", "--members")...)
		return strings.Contains(out, " kt-member       4               \n"), out
	})
	for _, args := range [][]string{{"--members", "--verbose"}, {"--state"}, {"--offsets"}} {
		a := with(append([]string{"--describe", "--group", "kt-active"}, args...)...)
		out = k.OK("", kafkatools.Groups, a...)
		ours := ktOurs(t, c, "kafka-consumer-groups.sh", a...)
		if args[0] == "--offsets" {
			// A member's partitions come in the order of a Java HashSet.
			ktCompare(t, "consumer-groups --describe --offsets (active, rows sorted)", ktSortedLines(out), ktSortedLines(ours))
			continue
		}
		ktCompare(t, "consumer-groups --describe "+args[0], out, ours)
	}
	harness.WantContains(t, "consumer-groups --describe --offsets (active)", out, "/127.0.0.1      kt-member")
	cl.Close()
	<-polled

	// Perf tests and get-offsets (latest, earliest, by timestamp).
	before := time.Now().Add(-time.Second).UnixMilli()
	out = k.OK("", kafkatools.ProdPerf, "--topic", "kt-perf", "--num-records", "20000", "--record-size", "100", "--throughput", "-1",
		"--producer-props", "bootstrap.servers="+bs, "acks=all")
	harness.WantContains(t, "producer-perf-test", out, "20000 records sent, ")
	out = k.OK("", kafkatools.ConsPerf, with("--topic", "kt-perf", "--messages", "20000", "--timeout", "30000")...)
	if ls := strings.Split(strings.TrimSpace(out), "\n"); len(ls) != 2 || !strings.HasPrefix(ls[0], "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg,") ||
		len(strings.Split(ls[1], ", ")) != 10 || strings.Split(ls[1], ", ")[4] != "20000" {
		t.Errorf("consumer-perf-test: want a header and one row with data.consumed.in.nMsg 20000:\n%s", out)
	}
	out = k.OK("", kafkatools.Offsets, with("--topic", "kt-perf", "--time", "-1")...)
	total := 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(l, ":")
		n, err := strconv.Atoi(f[len(f)-1])
		if len(f) != 3 || f[0] != "kt-perf" || err != nil {
			t.Fatalf("get-offsets --time -1: line %q", l)
		}
		total += n
	}
	if total != 20000 {
		t.Errorf("get-offsets --time -1: end offsets add up to %d, want 20000:\n%s", total, out)
	}
	ktCompare(t, "get-offsets --time -2", "kt-perf:0:0\nkt-perf:1:0\nkt-perf:2:0\n", k.OK("", kafkatools.Offsets, with("--topic", "kt-perf", "--time", "-2")...))
	ktCompare(t, "get-offsets by timestamp", "kt-perf:0:0\nkt-perf:1:0\nkt-perf:2:0\n",
		k.OK("", kafkatools.Offsets, with("--topic", "kt-perf", "--time", strconv.FormatInt(before, 10))...))
	out = k.OK("", kafkatools.ProdPerf, "--topic", "kt-r", "--num-records", "2000", "--record-size", "50", "--throughput", "-1",
		"--producer-props", "bootstrap.servers="+bs, "acks=all", "enable.idempotence=true", "compression.type=zstd")
	harness.WantContains(t, "producer-perf-test idempotent zstd", out, "2000 records sent, ")
	out = k.OK("", kafkatools.Offsets, with("--topic-partitions", "kt-r:0-4,kt-b", "--time", "-3")...)
	if !regexp.MustCompile(`^kt-b:0:\d+\n(kt-r:[0-3]:\d+\n)+$`).MatchString(out) {
		t.Errorf("get-offsets --time -3 (max timestamp): want a line for kt-b:0 and for each non-empty kt-r partition:\n%s", out)
	}
	out = k.OK("", kafkatools.Offsets, with("--time", "-2")...)
	harness.WantContains(t, "get-offsets all topics", out, "kt-a:3:0\n", "kt-b:0:0\n", "__consumer_offsets:49:0\n")

	// kafka-delete-records from a JSON file, ours on the same file after.
	del := harness.WriteFile(t, dir, "delete.json", `{"version":1,"partitions":[{"topic":"kt-b","partition":0,"offset":10}]}`)
	out = k.OK("", kafkatools.Delete, with("--offset-json-file", del)...)
	ktCompare(t, "delete-records", "Executing records delete operation\nRecords delete operation completed:\npartition: kt-b-0\tlow_watermark: 10\n", out)
	ktCompare(t, "delete-records", out, ktOurs(t, c, "kafka-delete-records.sh", with("--offset-json-file", del)...))
	ktCompare(t, "get-offsets after delete-records", "kt-b:0:10\n", k.OK("", kafkatools.Offsets, with("--topic", "kt-b", "--time", "-2")...))

	// kafka-dump-log on our segment files (a rolled segment of kt-perf: an
	// active segment's preallocated time index fails Kafka's
	// --index-sanity-check, Kafka's own as ours), ours with the same arguments.
	pdir := filepath.Join(c.Broker(0).LogDir, "kt-perf-0")
	bdir := filepath.Join(c.Broker(0).LogDir, "kt-b-0")
	for _, args := range [][]string{
		{"--files", filepath.Join(bdir, "00000000000000000000.log"), "--deep-iteration", "--index-sanity-check", "--print-data-log"},
		{"--files", filepath.Join(pdir, "00000000000000000000.log"), "--deep-iteration", "--index-sanity-check"},
		{"--files", filepath.Join(pdir, "00000000000000000000.index")},
		{"--files", filepath.Join(pdir, "00000000000000000000.index"), "--index-sanity-check"},
		{"--files", filepath.Join(pdir, "00000000000000000000.timeindex")},
		{"--files", filepath.Join(pdir, "00000000000000000000.timeindex"), "--index-sanity-check"},
	} {
		out = k.OK("", kafkatools.DumpLog, args...)
		ktCompare(t, "dump-log "+strings.Join(args[2:], " ")+" "+filepath.Ext(args[1]), out, ktOurs(t, c, "kafka-dump-log.sh", args...))
		harness.WantContains(t, "dump-log", out, "Dumping "+args[1]+"\n")
	}

	// Kafka's --offsets-decoder reads our __consumer_offsets records (group
	// metadata and offset commits) as its own; ours prints the same.
	var offsetsLogs []string
	for id := range int32(3) {
		m, _ := filepath.Glob(filepath.Join(c.Broker(id).LogDir, "__consumer_offsets-*", "00000000000000000000.log"))
		for _, f := range m {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 0 {
				offsetsLogs = append(offsetsLogs, f)
			}
		}
	}
	var decoded strings.Builder
	for _, f := range offsetsLogs {
		for _, args := range [][]string{{"--files", f, "--offsets-decoder"}, {"--files", f, "--offsets-decoder", "--deep-iteration", "--index-sanity-check"}} {
			out := k.OK("", kafkatools.DumpLog, args...)
			decoded.WriteString(out)
			ktCompare(t, "dump-log --offsets-decoder", out, ktOurs(t, c, "kafka-dump-log.sh", args...))
		}
	}
	harness.WantContains(t, "dump-log --offsets-decoder", decoded.String(),
		` key: {"type":"2","data":{"group":"kt-g"}} payload: {"version":"3","data":{"protocolType":"consumer","generation":1,"protocol":"range","leader":"console-consumer-`,
		`"subscription":{"topics":["kt-b"],"userData":null,"ownedPartitions":[],"generationId":-1,"rackId":null},"assignment":{"assignedPartitions":[{"topic":"kt-b","partitions":[0]}],"userData":null}}]}}`,
		` key: {"type":"1","data":{"group":"kt-g","topic":"kt-b","partition":0}} payload: {"version":"3","data":{"offset":30,"leaderEpoch":`,
		` key: {"type":"2","data":{"group":"kt-g3"}} payload: <DELETE>`)
	// Our broker writes a producer-state snapshot (<offset>.snapshot) at
	// each roll of a log with idempotent producers, as Kafka does: Kafka's
	// DumpLogSegments reads them and prints what ours prints.
	snaps, _ := filepath.Glob(filepath.Join(pdir, "*.snapshot"))
	if len(snaps) == 0 {
		t.Errorf("no producer-state snapshot in %s after its rolls", pdir)
	}
	for _, f := range snaps {
		out := k.OK("", kafkatools.DumpLog, "--files", f)
		harness.WantContains(t, "dump-log of "+f, out, "producerId: ", "producerEpoch: ")
		ktCompare(t, "dump-log .snapshot", out, ktOurs(t, c, "kafka-dump-log.sh", "--files", f))
	}

	// Two more stock tools: kafka-cluster cluster-id works; kafka-log-dirs
	// does not, our broker not implementing DescribeLogDirs (35) - a known
	// difference (Kafka 3.9 answers it in ZooKeeper mode).
	out = k.OK("", "org.apache.kafka.tools.ClusterTool", "cluster-id", "--bootstrap-server", bs)
	if !regexp.MustCompile(`^Cluster ID: [A-Za-z0-9_-]{22}\n$`).MatchString(out) {
		t.Errorf("kafka-cluster cluster-id: %q", out)
	}
	if _, errOut, code := k.Run("", "org.apache.kafka.tools.LogDirsCommand", with("--describe")...); code != 1 ||
		!strings.Contains(errOut, "UnsupportedVersionException: The node does not support DESCRIBE_LOG_DIRS") {
		t.Errorf("known difference gone? Kafka's LogDirsCommand --describe: exit %d\n%s", code, harness.Clip(errOut, 3000))
	}

	// kafka-broker-api-versions: every broker, with its versions.
	out = k.OK("", kafkatools.Versions, boot...)
	for id := range int32(3) {
		harness.WantContains(t, "broker-api-versions", out, fmt.Sprintf("%s (id: %d rack: null) -> (\n", c.Broker(id).Addr, id))
	}
	harness.WantContains(t, "broker-api-versions", out, "\tProduce(0): ", "\tFetch(1): ", "\tMetadata(3): ", "\tApiVersions(18): ")

	// kafka-leader-election: a preferred election after broker 1 restarted
	// (its partitions' leadership moved away), then unclean on a healthy one.
	preferredOf1 := []string{}
	for _, l := range strings.Split(k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-a")...), "\n") {
		if strings.Contains(l, "\tReplicas: 1,") {
			f := strings.Fields(l)
			preferredOf1 = append(preferredOf1, "kt-a-"+f[3])
		}
	}
	if len(preferredOf1) == 0 {
		t.Fatalf("no kt-a partition has broker 1 as preferred leader")
	}
	c.Stop(1)
	c.Restart(1)
	harness.Poll(t, 60*time.Second, "broker 1 back in the ISR of the partitions it prefers", func() (bool, string) {
		d := k.OK("", kafkatools.Topics, with("--describe")...)
		for _, l := range strings.Split(d, "\n") {
			f := map[string]string{}
			for _, kv := range strings.Split(l, "\t") {
				if key, v, ok := strings.Cut(kv, ": "); ok {
					f[key] = v
				}
			}
			if strings.HasPrefix(f["Replicas"], "1,") && !slices.Contains(strings.Split(f["Isr"], ","), "1") {
				return false, d
			}
		}
		return true, d
	})
	out = k.OK("", kafkatools.Election, with("--election-type", "preferred", "--all-topic-partitions")...)
	harness.WantContains(t, "leader-election preferred", out, "Successfully completed leader election (PREFERRED) for partitions ")
	for _, p := range preferredOf1 {
		harness.WantContains(t, "leader-election preferred", out, p)
	}
	// Again for all partitions: every one has its preferred leader now. The
	// list is in the order of a Java HashSet, so compared sorted.
	electionList := func(s string) string {
		head, list, _ := strings.Cut(strings.TrimSpace(s), " for partitions ")
		l := strings.Split(list, ", ")
		slices.Sort(l)
		return head + ": " + strings.Join(l, ", ")
	}
	all := with("--election-type", "preferred", "--all-topic-partitions")
	out = k.OK("", kafkatools.Election, all...)
	harness.WantContains(t, "leader-election preferred (again)", out, "Valid replica already elected for partitions ")
	ktCompare(t, "leader-election preferred --all-topic-partitions", electionList(out), electionList(ktOurs(t, c, "kafka-leader-election.sh", all...)))
	out = k.OK("", kafkatools.Election, with("--election-type", "preferred", "--topic", "kt-a", "--partition", "0")...)
	ktCompare(t, "leader-election preferred (again)", out, ktOurs(t, c, "kafka-leader-election.sh", with("--election-type", "preferred", "--topic", "kt-a", "--partition", "0")...))
	out = k.OK("", kafkatools.Election, with("--election-type", "unclean", "--topic", "kt-a", "--partition", "0")...)
	ktCompare(t, "leader-election unclean", "Valid replica already elected for partitions kt-a-0\n", out)
	ktCompare(t, "leader-election unclean", out, ktOurs(t, c, "kafka-leader-election.sh", with("--election-type", "unclean", "--topic", "kt-a", "--partition", "0")...))

	// kafka-reassign-partitions, the seed's walk-through: commission broker
	// 3 (move replicas onto it), then decommission broker 0 with the plan
	// --generate proposes for brokers 1,2,3; --verify until done.
	c.AddBroker(3)
	c.WaitForBrokers(3)
	reassign := func(file string) {
		t.Helper()
		out := k.OK("", kafkatools.Reassign, with("--execute", "--reassignment-json-file", file)...)
		harness.WantContains(t, "reassign --execute", out, "Current partition replica assignment\n\n{\"version\":1,\"partitions\":[",
			"Save this to use as the --reassignment-json-file option during rollback\nSuccessfully started partition reassignments for ")
		var kafka string
		harness.Poll(t, 60*time.Second, "reassignment completes (Kafka's --verify)", func() (bool, string) {
			kafka = k.OK("", kafkatools.Reassign, with("--verify", "--reassignment-json-file", file)...)
			// "There is no active reassignment ... but replica set is" is
			// the moment between the controller ending the reassignment and
			// the brokers' metadata showing the new replica set.
			return !strings.Contains(kafka, "is still in progress") && !strings.Contains(kafka, "There is no active reassignment"), kafka
		})
		harness.WantContains(t, "reassign --verify", kafka, "Status of partition reassignment:\n", " is completed.\n", "Clearing broker-level throttles on brokers ")
		ktCompare(t, "reassign --verify", kafka, ktOurs(t, c, "kafka-reassign-partitions.sh", with("--verify", "--reassignment-json-file", file)...))
	}
	reassign(harness.WriteFile(t, dir, "commission.json",
		`{"version":1,"partitions":[{"topic":"kt-a","partition":0,"replicas":[3,1]},{"topic":"kt-a","partition":1,"replicas":[1,3]},{"topic":"kt-b","partition":0,"replicas":[3,1,2]}]}`))
	move := harness.WriteFile(t, dir, "move.json", `{"version":1,"topics":[{"topic":"kt-a"},{"topic":"kt-b"},{"topic":"kt-perf"}]}`)
	gen := with("--generate", "--topics-to-move-json-file", move, "--broker-list", "1,2,3")
	out = k.OK("", kafkatools.Reassign, gen...)
	ours = ktOurs(t, c, "kafka-reassign-partitions.sh", gen...)
	// The proposal is random (a random start broker), so only the current
	// assignment is compared, and the proposal checked for its shape.
	cur, proposed, ok := strings.Cut(out, "\n\nProposed partition reassignment configuration\n")
	ourCur, _, _ := strings.Cut(ours, "\n\nProposed partition reassignment configuration\n")
	if !ok || !strings.HasPrefix(cur, "Current partition replica assignment\n{\"version\":1,\"partitions\":[") {
		t.Fatalf("reassign --generate:\n%s", out)
	}
	ktCompare(t, "reassign --generate (current)", cur, ourCur)
	plan := strings.TrimSpace(proposed)
	if strings.Contains(plan, "[0,") || strings.Contains(plan, ",0]") || strings.Contains(plan, ",0,") || strings.Contains(plan, "[0]") {
		t.Fatalf("--generate for brokers 1,2,3 proposes broker 0:\n%s", plan)
	}
	reassign(harness.WriteFile(t, dir, "decommission.json", plan))
	for _, topic := range []string{"kt-a", "kt-b", "kt-perf"} {
		d := k.OK("", kafkatools.Topics, with("--describe", "--topic", topic)...)
		for _, l := range strings.Split(strings.TrimSpace(d), "\n")[1:] {
			f := strings.Split(l, "\t")
			if strings.Contains(","+strings.TrimPrefix(f[4], "Replicas: ")+",", ",0,") {
				t.Errorf("broker 0 still holds a replica after decommissioning: %q", l)
			}
		}
		ktCompare(t, "topics --describe after reassignment", d, ktOurs(t, c, "kafka-topics.sh", with("--describe", "--topic", topic)...))
	}

	// A reassignment held in progress (broker 0's fetches from the leader cut
	// off): both tools' --describe show the adding and removing replicas,
	// both --verify say it is in progress; Kafka's --cancel ends it.
	field := func(line, name string) string {
		for _, kv := range strings.Split(line, "\t") {
			if k, v, ok := strings.Cut(kv, ": "); ok && k == name {
				return v
			}
		}
		return ""
	}
	d := k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-b")...)
	line := strings.Split(strings.TrimSpace(d), "\n")[1]
	replicas, leader := strings.Split(field(line, "Replicas"), ","), field(line, "Leader")
	leaderID, _ := strconv.Atoi(leader)
	if len(replicas) != 3 || slices.Contains(replicas, "0") {
		t.Fatalf("kt-b-0 after decommissioning broker 0: %q", line)
	}
	removed := replicas[2]
	if removed == leader {
		removed = replicas[1]
	}
	target := slices.Clone(replicas)
	target[slices.Index(target, removed)] = "0"
	c.CutFetches(0, int32(leaderID))
	held := harness.WriteFile(t, dir, "held.json", `{"version":1,"partitions":[{"topic":"kt-b","partition":0,"replicas":[`+strings.Join(target, ",")+`]}]}`)
	out = k.OK("", kafkatools.Reassign, with("--execute", "--reassignment-json-file", held)...)
	harness.WantContains(t, "reassign --execute", out, "Successfully started partition reassignment for kt-b-0\n")
	adding := "\tAdding Replicas: 0\tRemoving Replicas: " + removed + "\t"
	harness.Poll(t, 30*time.Second, "kt-b-0's reassignment in --describe", func() (bool, string) {
		// (ListPartitionReassignments shows it before the brokers' metadata
		// has the full replica set)
		d = k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-b")...)
		return strings.Contains(d, adding) && strings.Contains(d, "\tReplicas: "+strings.Join(append(slices.Clone(target), removed), ",")+"\t"), d
	})
	harness.WantContains(t, "topics --describe during a reassignment", d, "\tPartitionCount: 1\tReplicationFactor: 3\t")
	ktCompare(t, "topics --describe during a reassignment", d, ktOurs(t, c, "kafka-topics.sh", with("--describe", "--topic", "kt-b")...))
	out = k.OK("", kafkatools.Reassign, with("--verify", "--reassignment-json-file", held)...)
	harness.WantContains(t, "reassign --verify in progress", out, "Reassignment of partition kt-b-0 is still in progress.\n")
	ktCompare(t, "reassign --verify in progress", out, ktOurs(t, c, "kafka-reassign-partitions.sh", with("--verify", "--reassignment-json-file", held)...))
	out = k.OK("", kafkatools.Reassign, with("--cancel", "--reassignment-json-file", held)...)
	harness.WantContains(t, "reassign --cancel", out, "Successfully cancelled partition reassignment for: kt-b-0\n")
	c.HealAll()
	// Back on its replicas, in the order Kafka's controller gives them: the
	// full set less the adding ones (so not always the original order).
	harness.Poll(t, 30*time.Second, "kt-b-0 back on its replicas", func() (bool, string) {
		d = k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-b")...)
		back := strings.Join(slices.DeleteFunc(append(slices.Clone(target), removed), func(r string) bool { return r == "0" }), ",")
		return strings.Contains(d, "\tReplicas: "+back+"\t") && !strings.Contains(d, "Adding Replicas"), d
	})

	// kafka-leader-election --election-type unclean where it is needed:
	// kt-u's replicas are 3,0; broker 0 stops (the ISR shrinks to 3), then
	// broker 3 (no leader, ISR 3), then 0 starts again: out of the ISR, it
	// becomes leader only by an unclean election. Kafka's tool elects
	// partition 0, ours partition 1.
	k.OK("", kafkatools.Topics, with("--create", "--topic", "kt-u", "--replica-assignment", "3:0,3:0")...)
	k.OK("kv\n", kafkatools.Producer, with("--topic", "kt-u")...)
	describeU := func() string { return k.OK("", kafkatools.Topics, with("--describe", "--topic", "kt-u")...) }
	c.Stop(0)
	harness.Poll(t, 60*time.Second, "kt-u's ISR shrinks to broker 3", func() (bool, string) {
		d := describeU()
		return strings.Count(d, "\tLeader: 3\tReplicas: 3,0\tIsr: 3\t") == 2, d
	})
	c.Stop(3)
	harness.Poll(t, 60*time.Second, "kt-u has no leader", func() (bool, string) {
		d := describeU()
		return strings.Count(d, "\tLeader: none\tReplicas: 3,0\tIsr: 3\t") == 2, d
	})
	// With brokers 0 and 3 down: the filtered describes agree (polled, as
	// leadership settles after the shutdowns).
	for _, filter := range []string{"--unavailable-partitions", "--under-replicated-partitions", "--under-min-isr-partitions", "--at-min-isr-partitions"} {
		var kafka, ours string
		harness.Poll(t, 30*time.Second, "Kafka's and our --describe "+filter+" agree", func() (bool, string) {
			kafka = k.OK("", kafkatools.Topics, with("--describe", filter)...)
			ours = ktOurs(t, c, "kafka-topics.sh", with("--describe", filter)...)
			return kafka == ours, "Kafka:\n" + kafka + "\nours:\n" + ours
		})
		if filter == "--unavailable-partitions" {
			harness.WantContains(t, "topics --describe "+filter, kafka, "\tTopic: kt-u\tPartition: 0\tLeader: none\tReplicas: 3,0\tIsr: 3\t")
		}
	}
	c.Restart(0)
	out = describeU()
	if strings.Count(out, "\tLeader: none\t") != 2 {
		t.Fatalf("kt-u got a leader without an unclean election:\n%s", out)
	}
	out = k.OK("", kafkatools.Election, with("--election-type", "unclean", "--topic", "kt-u", "--partition", "0")...)
	ktCompare(t, "leader-election unclean", "Successfully completed leader election (UNCLEAN) for partitions kt-u-0\n", out)
	ours = ktOurs(t, c, "kafka-leader-election.sh", with("--election-type", "unclean", "--topic", "kt-u", "--partition", "1")...)
	ktCompare(t, "leader-election unclean", out, strings.ReplaceAll(ours, "kt-u-1", "kt-u-0"))
	harness.Poll(t, 30*time.Second, "broker 0 leads kt-u", func() (bool, string) {
		d := describeU()
		return strings.Count(d, "\tLeader: 0\tReplicas: 3,0\tIsr: 0\t") == 2, d
	})
}
