package compat_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// groupsTool runs kafka-consumer-groups.sh against the cluster; it exits 0 even when it reports an
// error, as Kafka's does.
func groupsTool(t *testing.T, c *cluster.Cluster, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := c.Tool("kafka-consumer-groups.sh", append([]string{"--bootstrap-server", c.Bootstrap()}, args...)...)
	if code != 0 {
		t.Fatalf("kafka-consumer-groups.sh %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out, errOut
}

// consoleConsume runs kafka-console-consumer.sh until it has printed max messages.
func consoleConsume(t *testing.T, c *cluster.Cluster, max int, args ...string) []string {
	t.Helper()
	all := append([]string{"kafka-console-consumer.sh", "--bootstrap-server", c.Bootstrap(), "--max-messages", strconv.Itoa(max),
		"--timeout-ms", "60000"}, args...)
	out, errOut, err := run(t, 90*time.Second, nil, cluster.Binary(t), all...)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("Processed a total of %d messages\n", max); !strings.HasSuffix(errOut, want) {
		t.Fatalf("console consumer stderr %q does not end with %q", errOut, want)
	}
	return splitLines(out)
}

// describeRow is one line of the --describe offsets table.
type describeRow struct {
	topic                                       string
	partition                                   int
	current, end, lag, consumerID, host, client string
}

var describeHeader = []string{"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"}

// describeOffsets runs --describe --group and parses its table (empty when the group has no rows).
func describeOffsets(t *testing.T, c *cluster.Cluster, group string) (map[int]describeRow, string) {
	t.Helper()
	out, errOut := groupsTool(t, c, "--describe", "--group", group)
	rows := map[int]describeRow{}
	if strings.TrimSpace(out) == "" {
		return rows, errOut
	}
	ls := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if ls[0] != "" || !slices.Equal(strings.Fields(ls[1]), describeHeader) {
		t.Fatalf("--describe output does not start with a blank line and the header:\n%s", out)
	}
	// Columns are padded to at least 15 characters; PARTITION to 10.
	if !strings.HasPrefix(ls[1], fmt.Sprintf("%-15s %-15s %-10s %-15s %-15s %-15s ", "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")) {
		t.Errorf("header is not padded as Kafka pads it: %q", ls[1])
	}
	for _, l := range ls[2:] {
		f := strings.Fields(l)
		if len(f) != 9 || f[0] != group {
			t.Fatalf("bad --describe row %q in:\n%s", l, out)
		}
		p, _ := strconv.Atoi(f[2])
		rows[p] = describeRow{f[1], p, f[3], f[4], f[5], f[6], f[7], f[8]}
	}
	return rows, errOut
}

// planRows parses a reset plan table (GROUP TOPIC PARTITION NEW-OFFSET) into partition -> offset.
func planRows(t *testing.T, out, group string) map[int]int64 {
	t.Helper()
	rows := map[int]int64{}
	seenHeader := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) == 0:
		case slices.Equal(f, []string{"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}):
			seenHeader = true
		case len(f) == 4 && f[0] == group:
			p, _ := strconv.Atoi(f[2])
			rows[p], _ = strconv.ParseInt(f[3], 10, 64)
		default:
			t.Fatalf("unexpected line %q in reset plan:\n%s", l, out)
		}
	}
	if !seenHeader {
		t.Fatalf("no plan header in:\n%s", out)
	}
	return rows
}

// TestGroupTools drives kafka-console-producer.sh, kafka-console-consumer.sh and
// kafka-consumer-groups.sh together against a real broker, checking what Kafka 3.7's tools print.
func TestGroupTools(t *testing.T) {
	c := cluster.Start(t, 1, "offsets.topic.num.partitions=5")
	const topic, group, n = "gt", "gt-group", 30
	harness.CreateTopic(t, c, topic, 3, 1)

	var in bytes.Buffer
	var want []string
	for i := range n {
		fmt.Fprintf(&in, "key-%d:value-%d\n", i, i)
		want = append(want, fmt.Sprintf("key-%d:value-%d", i, i))
	}
	if _, errOut, err := run(t, 60*time.Second, in.Bytes(), cluster.Binary(t), "kafka-console-producer.sh",
		"--bootstrap-server", c.Bootstrap(), "--topic", topic, "--property", "parse.key=true", "--property", "key.separator=:"); err != nil || errOut != "" {
		t.Fatalf("console producer: %v, stderr %q", err, errOut)
	}

	got := consoleConsume(t, c, n, "--topic", topic, "--group", group, "--from-beginning",
		"--property", "print.key=true", "--property", "key.separator=:")
	sort.Strings(got)
	sort.Strings(want)
	sameLines(t, want, got)

	// The keys went where the Java producer's partitioner puts them, and the group committed
	// everything it printed.
	rows, errOut := describeOffsets(t, c, group)
	if len(rows) != 3 {
		t.Fatalf("--describe shows %d partitions, want 3", len(rows))
	}
	var total int64
	ends := map[int]int64{}
	for p, r := range rows {
		end, err := strconv.ParseInt(r.end, 10, 64)
		if err != nil || r.current != r.end || r.lag != "0" || r.consumerID != "-" || r.host != "-" || r.client != "-" {
			t.Errorf("partition %d row %+v: want CURRENT-OFFSET = LOG-END-OFFSET, LAG 0, no consumer", p, r)
		}
		ends[p] = end
		total += end
	}
	if total != n {
		t.Errorf("log-end offsets add up to %d, want %d", total, n)
	}
	if errOut != "\nConsumer group '"+group+"' has no active members.\n" {
		t.Errorf("--describe stderr %q", errOut)
	}

	if out, _ := groupsTool(t, c, "--list"); !slices.Contains(strings.Fields(out), group) {
		t.Errorf("--list %q lacks %s", out, group)
	}
	if out, _ := groupsTool(t, c, "--list", "--state", "Empty"); !strings.Contains(out, fmt.Sprintf("%-25s %-20s\n", group, "Empty")) || !strings.HasPrefix(out, fmt.Sprintf("%-25s %-20s\n", "GROUP", "STATE")) {
		t.Errorf("--list --state Empty:\n%s", out)
	}

	t.Run("dryRunPlans", func(t *testing.T) {
		dir := t.TempDir()
		export, _ := groupsTool(t, c, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--dry-run", "--export")
		csv := filepath.Join(dir, "plan.csv")
		if err := os.WriteFile(csv, []byte(export), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(export, topic+",") || !strings.Contains(export, topic+",0,0\n") {
			t.Errorf("--export CSV:\n%s", export)
		}
		clamp := func(v, end int64) int64 { return max(0, min(v, end)) }
		for _, s := range []struct {
			args []string
			want func(p int) int64
		}{
			{[]string{"--all-topics", "--to-earliest"}, func(int) int64 { return 0 }},
			{[]string{"--topic", topic, "--to-latest"}, func(p int) int64 { return ends[p] }},
			{[]string{"--topic", topic, "--to-current"}, func(p int) int64 { return ends[p] }},
			{[]string{"--topic", topic, "--to-offset", "1"}, func(p int) int64 { return clamp(1, ends[p]) }},
			{[]string{"--topic", topic, "--shift-by", "-1"}, func(p int) int64 { return clamp(ends[p]-1, ends[p]) }},
			{[]string{"--topic", topic, "--to-datetime", "2000-01-01T00:00:00.000"}, func(int) int64 { return 0 }},
			{[]string{"--topic", topic, "--by-duration", "P1D"}, func(int) int64 { return 0 }},
			{[]string{"--from-file", csv}, func(int) int64 { return 0 }},
		} {
			out, _ := groupsTool(t, c, append([]string{"--reset-offsets", "--group", group, "--dry-run"}, s.args...)...)
			plan := planRows(t, out, group)
			if len(plan) != 3 {
				t.Errorf("%v: plan has %d partitions:\n%s", s.args, len(plan), out)
			}
			for p, off := range plan {
				if off != s.want(p) {
					t.Errorf("%v: partition %d new offset %d, want %d", s.args, p, off, s.want(p))
				}
			}
		}
		out, _ := groupsTool(t, c, "--reset-offsets", "--group", group, "--topic", topic+":1", "--to-earliest", "--dry-run")
		if plan := planRows(t, out, group); len(plan) != 1 || plan[1] != 0 {
			t.Errorf("--topic %s:1 plan %v", topic, plan)
		}
		// A dry run changes nothing.
		after, _ := describeOffsets(t, c, group)
		for p, r := range after {
			if r.current != rows[p].current {
				t.Errorf("partition %d CURRENT-OFFSET %s after dry runs, was %s", p, r.current, rows[p].current)
			}
		}
	})

	t.Run("resetExecute", func(t *testing.T) {
		out, _ := groupsTool(t, c, "--reset-offsets", "--group", group, "--topic", topic, "--to-earliest", "--execute")
		for p, off := range planRows(t, out, group) {
			if off != 0 {
				t.Errorf("executed plan partition %d offset %d", p, off)
			}
		}
		rows, _ := describeOffsets(t, c, group)
		for p, r := range rows {
			if r.current != "0" || r.lag != r.end {
				t.Errorf("after --to-earliest --execute partition %d: %+v", p, r)
			}
		}
		// The next consumer of the group starts at the beginning (no --from-beginning).
		got := consoleConsume(t, c, n, "--topic", topic, "--group", group)
		sort.Strings(got)
		var values []string
		for i := range n {
			values = append(values, fmt.Sprintf("value-%d", i))
		}
		sort.Strings(values)
		sameLines(t, values, got)
	})

	t.Run("activeGroup", func(t *testing.T) {
		const active = "gt-active"
		cmd := exec.Command(cluster.Binary(t), "kafka-console-consumer.sh", "--bootstrap-server", c.Bootstrap(),
			"--topic", topic, "--group", active, "--from-beginning")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		defer func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				<-done
			}
		}()
		var member []string
		harness.Poll(t, 60*time.Second, "the console consumer owns all partitions", func() (bool, string) {
			out, _ := groupsTool(t, c, "--describe", "--group", active, "--members")
			ls := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(ls) != 3 {
				return false, out
			}
			member = strings.Fields(ls[2])
			return member[len(member)-1] == "3", out
		})
		// GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS; Kafka's HOST is the client's address as
		// InetAddress.toString prints it.
		if len(member) != 5 || member[0] != active || !strings.HasPrefix(member[1], "console-consumer-") ||
			member[2] != "/127.0.0.1" || member[3] != "console-consumer" {
			t.Errorf("--members row %q, want [%s console-consumer-<uuid> /127.0.0.1 console-consumer 3]", member, active)
		}
		out, _ := groupsTool(t, c, "--describe", "--group", active, "--state")
		if f := strings.Fields(out); len(f) < 10 || f[len(f)-2] != "Stable" || f[len(f)-1] != "1" || f[len(f)-3] != "range" {
			t.Errorf("--state:\n%s", out)
		}
		out, _ = groupsTool(t, c, "--reset-offsets", "--group", active, "--topic", topic, "--to-earliest", "--execute")
		wantErr := "\nError: Assignments can only be reset if the group '" + active + "' is inactive, but the current state is Stable.\n"
		if !strings.HasPrefix(out, wantErr) {
			t.Errorf("reset of an active group:\n%s", out)
		}
		// SIGTERM ends the consumer cleanly: it commits and reports, with the JVM's exit status.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("the console consumer did not stop on SIGTERM")
		}
		if code := cmd.ProcessState.ExitCode(); code != 143 || !strings.HasSuffix(stderr.String(), fmt.Sprintf("Processed a total of %d messages\n", n)) {
			t.Errorf("after SIGTERM: exit %d, stderr %q", code, stderr.String())
		}
		rows, _ := describeOffsets(t, c, active)
		for p, r := range rows {
			if r.lag != "0" {
				t.Errorf("%s partition %d after SIGTERM: %+v", active, p, r)
			}
		}
	})

	t.Run("emptyPartitionsCommitted", func(t *testing.T) {
		// The Java consumer's auto-commit commits the position of every assigned partition, also
		// of those it read nothing from: --describe shows them at their log-end offset.
		const sparse = "gt-sparse"
		harness.CreateTopic(t, c, sparse, 3, 1)
		if _, errOut, err := run(t, 60*time.Second, []byte("only:record\n"), cluster.Binary(t), "kafka-console-producer.sh",
			"--bootstrap-server", c.Bootstrap(), "--topic", sparse, "--property", "parse.key=true", "--property", "key.separator=:"); err != nil {
			t.Fatalf("console producer: %v %s", err, errOut)
		}
		if got := consoleConsume(t, c, 1, "--topic", sparse, "--group", sparse, "--from-beginning"); !slices.Equal(got, []string{"record"}) {
			t.Fatalf("consumed %q", got)
		}
		rows, _ := describeOffsets(t, c, sparse)
		if len(rows) != 3 {
			t.Fatalf("--describe shows %d partitions, want 3: %v", len(rows), rows)
		}
		for p, r := range rows {
			if r.current != r.end || r.lag != "0" {
				t.Errorf("partition %d: %+v", p, r)
			}
		}
	})

	t.Run("deleteOffsetsAndGroup", func(t *testing.T) {
		out, _ := groupsTool(t, c, "--delete-offsets", "--group", group, "--topic", topic)
		if !strings.HasPrefix(out, "Request succeed for deleting offsets with topic "+topic+" group "+group+"\n") ||
			strings.Count(out, "Successful") != 3 {
			t.Errorf("--delete-offsets:\n%s", out)
		}
		// An empty group left without offsets is removed, as in Kafka.
		if out, _ := groupsTool(t, c, "--describe", "--group", group); out != "\nError: Consumer group '"+group+"' does not exist.\n" {
			t.Errorf("--describe after --delete-offsets: %q", out)
		}
		const active = "gt-active"
		out, _ = groupsTool(t, c, "--delete", "--group", active)
		if out != "Deletion of requested consumer groups ('"+active+"') was successful.\n" {
			t.Errorf("--delete: %q", out)
		}
		if out, _ := groupsTool(t, c, "--list"); slices.Contains(strings.Fields(out), active) {
			t.Errorf("--list still shows %s after --delete:\n%s", active, out)
		}
		out, _ = groupsTool(t, c, "--delete", "--group", active)
		want := "\nError: Deletion of some consumer groups failed:\n* Group '" + active +
			"' could not be deleted due to: java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.\n"
		if out != want {
			t.Errorf("second --delete: %q, want %q", out, want)
		}
	})
}
