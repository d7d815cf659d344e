package clients_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStreamsWordCount runs the Kafka Streams word count of
// compat-tests/java/driver (WordCount: at-least-once, groupBy on the word
// through a repartition topic, a counting store with a changelog), built
// against kafka-streams 3.9.2 and 4.4.0, against three of our brokers, one
// application per version at once. It feeds lines to the input topic and
// checks that the output topic's last count of every word is exactly the
// word's count, that Streams created its internal topics with the configs it
// asks for (the changelog compacted; the repartition topic delete, unlimited
// retention, 50 MB segments) and RF 3, that the changelog holds the same
// final counts, that Streams purged the repartition topic it consumed
// (DeleteRecords), and that the application shuts down cleanly.
func TestStreamsWordCount(t *testing.T) {
	e := javaEnv(t, "Kafka Streams")
	prefix := "wc" + strconv.FormatInt(time.Now().UnixMilli()%1e7, 36)
	for _, v := range javaClients {
		t.Run(v.row, func(t *testing.T) {
			t.Parallel()
			runWordCount(t, e, v.version, prefix+"-"+strings.ReplaceAll(v.version, ".", ""))
		})
	}
}

// wordLines are the input: line i of n, words of mixed case and
// punctuation, so the count depends on WordCount's split (lower case, runs
// of [A-Za-z0-9_]).
func wordLines(n int) []string {
	words := []string{"Kafka", "zookeeper", "broker", "STREAM", "log", "offset", "group", "topic", "replica", "leader", "isr"}
	var lines []string
	for i := range n {
		var b strings.Builder
		for j := range 1 + i%7 {
			if j > 0 {
				b.WriteString([]string{" ", ", ", " - ", "; "}[(i+j)%4])
			}
			b.WriteString(words[(i*3+j*5)%len(words)])
		}
		if i%5 == 0 {
			b.WriteString("!")
		}
		lines = append(lines, b.String())
	}
	return lines
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]+`)

func countWords(lines []string) map[string]int64 {
	want := map[string]int64{}
	for _, l := range lines {
		for _, w := range nonWord.Split(strings.ToLower(l), -1) {
			if w != "" {
				want[w]++
			}
		}
	}
	return want
}

// lastCounts is the last 8-byte big-endian count per key of a topic's
// records (a key's records sit in one partition, in offset order).
func lastCounts(recs []*kgo.Record) (map[string]int64, error) {
	got := map[string]int64{}
	for _, r := range recs {
		if len(r.Value) < 8 {
			return nil, fmt.Errorf("%d/%d: value of %d bytes, want a count (8 bytes at the end)", r.Partition, r.Offset, len(r.Value))
		}
		got[string(r.Key)] = int64(binary.BigEndian.Uint64(r.Value[len(r.Value)-8:]))
	}
	return got, nil
}

func diffCounts(got, want map[string]int64) string {
	var d []string
	for w, n := range want {
		if got[w] != n {
			d = append(d, fmt.Sprintf("%s=%d (want %d)", w, got[w], n))
		}
	}
	for w, n := range got {
		if _, ok := want[w]; !ok {
			d = append(d, fmt.Sprintf("%s=%d (not a word of the input)", w, n))
		}
	}
	return strings.Join(d, ", ")
}

// streamsApp is a running WordCount JVM.
type streamsApp struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	mu     sync.Mutex
	out    strings.Builder
	errb   strings.Builder
	states []string
	done   chan struct{}
}

func (a *streamsApp) has(state string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.states {
		if s == state {
			return true
		}
	}
	return false
}

func (a *streamsApp) report() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return fmt.Sprintf("states %v\n--- stdout:\n%s--- stderr tail:\n%s", a.states, tailLines(a.out.String(), 10), tailLines(a.errb.String(), 30))
}

// startWordCount starts WordCount; extra flags come after the defaults
// (a repeated flag wins: --state-dir, --timeout, --guarantee).
func startWordCount(t *testing.T, version, bootstrap, app, input, output string, extra ...string) *streamsApp {
	argv := append(javaArgv(version, "io.github.kafkazk.compat.WordCount"), "--bootstrap", bootstrap, "--app-id", app,
		"--input", input, "--output", output, "--state-dir", filepath.Join(t.TempDir(), "state"), "--timeout", "150")
	argv = append(argv, extra...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	a := &streamsApp{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &a.mu, w: &a.errb}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	a.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the Streams application: %v", err)
	}
	t.Cleanup(func() {
		select {
		case <-a.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-a.done
		}
	})
	stateRE := regexp.MustCompile(`^\{"state":"([A-Z_]+)"\}$`)
	go func() {
		defer close(a.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			a.mu.Lock()
			a.out.WriteString(line + "\n")
			if m := stateRE.FindStringSubmatch(line); m != nil {
				a.states = append(a.states, m[1])
			}
			a.mu.Unlock()
		}
		_ = cmd.Wait()
	}()
	return a
}

func runWordCount(t *testing.T, e *env, version, app string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	begin := time.Now()
	input, output := app+"-lines", app+"-counts"
	for _, topic := range []string{input, output} {
		if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
			t.Fatal(err)
		}
	}
	a := startWordCount(t, version, e.bootstrap, app, input, output)
	if err := waitFor(ctx, 90*time.Second, func() error {
		if !a.has("RUNNING") {
			return fmt.Errorf("the application is not RUNNING")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, a.report())
	}
	t.Logf("kafka-streams %s RUNNING after %v", version, time.Since(begin).Round(time.Millisecond))

	// Two rounds of lines, the second after the first was counted, so the
	// store's counts carry on from its earlier values.
	lines := wordLines(300)
	var recs []*kgo.Record
	for i, l := range lines {
		recs = append(recs, &kgo.Record{Partition: int32(i % 3), Key: []byte("line" + strconv.Itoa(i)), Value: []byte(l)})
	}
	check := func(topic string, want map[string]int64) error {
		return waitFor(ctx, 60*time.Second, func() error {
			out, err := e.readAll(ctx, topic)
			if err != nil {
				return err
			}
			got, err := lastCounts(out)
			if err != nil {
				return err
			}
			if d := diffCounts(got, want); d != "" {
				return fmt.Errorf("%s: last counts differ: %s", topic, d)
			}
			return nil
		})
	}
	if err := e.produce(ctx, input, "", recs[:150]); err != nil {
		t.Fatal(err)
	}
	if err := check(output, countWords(lines[:150])); err != nil {
		t.Fatalf("%v\n%s", err, a.report())
	}
	if err := e.produce(ctx, input, "", recs[150:]); err != nil {
		t.Fatal(err)
	}
	want := countWords(lines)
	if err := check(output, want); err != nil {
		t.Fatalf("%v\n%s", err, a.report())
	}
	t.Logf("kafka-streams %s: the output has the final counts of %d words after %v", version, len(want), time.Since(begin).Round(time.Millisecond))

	// The internal topics, as Streams asked for them.
	repartition, changelog := app+"-words-repartition", app+"-counts-changelog"
	wantConfigs := map[string]map[string]string{
		changelog:   {"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"},
		repartition: {"cleanup.policy": "delete", "retention.ms": "-1", "segment.bytes": "52428800", "message.timestamp.type": "CreateTime"},
	}
	tds, err := e.adm.ListTopics(ctx, repartition, changelog)
	if err != nil {
		t.Fatal(err)
	}
	for topic, cfgs := range wantConfigs {
		td := tds[topic]
		if td.Err != nil {
			t.Errorf("%s: %v", topic, td.Err)
			continue
		}
		if len(td.Partitions) != 3 {
			t.Errorf("%s has %d partitions, want 3 (the input's)", topic, len(td.Partitions))
		}
		for _, p := range td.Partitions {
			if len(p.Replicas) != 3 {
				t.Errorf("%s/%d has replicas %v, want 3 (replication.factor=3)", topic, p.Partition, p.Replicas)
			}
		}
		rcs, err := e.adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := rcs.On(topic, nil)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]string{}
		for _, c := range rc.Configs {
			have[c.Key] = c.MaybeValue()
		}
		for k, v := range cfgs {
			if have[k] != v {
				t.Errorf("%s: %s=%q, want %q", topic, k, have[k], v)
			}
		}
	}
	if err := check(changelog, want); err != nil {
		t.Errorf("%v", err)
	}
	// Streams deletes the records of the repartition topic it committed
	// (DeleteRecords, every repartition.purge.interval.ms = 30 s by default,
	// 200 ms in WordCount).
	if err := waitFor(ctx, 30*time.Second, func() error {
		starts, err := e.adm.ListStartOffsets(ctx, repartition)
		if err != nil {
			return err
		}
		purged := int64(0)
		starts.Each(func(o kadm.ListedOffset) { purged += o.Offset })
		if purged == 0 {
			return fmt.Errorf("%s: the log start offsets are all 0, nothing purged", repartition)
		}
		return nil
	}); err != nil {
		t.Errorf("%v", err)
	}

	_, _ = io.WriteString(a.stdin, "stop\n")
	select {
	case <-a.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the application did not exit within 60s of the stop line\n%s", a.report())
	}
	// (the state listener's NOT_RUNNING line may come after "ok")
	if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains("\n"+a.out.String(), "\nok\n") {
		t.Errorf("the application exited with %d\n%s", code, a.report())
	}
	t.Logf("kafka-streams %s done after %v", version, time.Since(begin).Round(time.Millisecond))
}
