package clients_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// TestStreamsWordCountEOS runs WordCount with processing.guarantee=
// exactly_once_v2 (kafka-streams 3.9.2 and 4.4.0, one application each)
// and kills the application (SIGKILL) while it counts, then restarts it on
// the same state directory (its process id, so its transactional ids). The
// output and the changelog, read with read_committed, must hold exactly the
// input's counts: a count incremented twice for one line (what
// at-least-once does after such a kill) fails, and so does a count that
// ever goes down or repeats out of order in a key's committed history.
//
// MATRIX_REFERENCE=kafka39 runs it against three Apache Kafka 3.9 brokers
// instead of ours.
func TestStreamsWordCountEOS(t *testing.T) {
	var e *env
	switch ref := os.Getenv("MATRIX_REFERENCE"); ref {
	case "":
		e = javaEnv(t, "Kafka Streams")
	case "kafka39":
		for _, v := range javaClients {
			if why := javaMissing(v.version); why != "" {
				t.Fatalf("Kafka Streams %s: %s", v.version, why)
			}
		}
		zk := zktest.Start(t)
		refs := cluster.StartKafkaRefCluster(t, zk.Addr, 3, map[string]string{
			"offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0"})
		e = newEnv(t, cluster.KafkaRefBootstrap(refs))
	default:
		t.Fatalf("MATRIX_REFERENCE=%s: the only reference is kafka39", ref)
	}
	prefix := "eos" + strconv.FormatInt(time.Now().UnixMilli()%1e7, 36)
	for _, v := range javaClients {
		t.Run(v.row, func(t *testing.T) {
			t.Parallel()
			runWordCountEOS(t, e, v.version, prefix+"-"+strings.ReplaceAll(v.version, ".", ""))
		})
	}
}

func newEnv(t *testing.T, bootstrap string) *env {
	brokers := strings.Split(bootstrap, ",")
	kcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kcl.Close)
	return &env{bootstrap: bootstrap, brokers: brokers, kcl: kcl, adm: kadm.NewClient(kcl)}
}

// committedCounts reads a count topic with read_committed and returns the
// last count per word; a key whose committed counts go down (or repeat) is
// an error.
func (e *env) committedCounts(ctx context.Context, topic string) (map[string]int64, error) {
	recs, err := e.readIsolated(ctx, topic, 3, true)
	if err != nil {
		return nil, err
	}
	last := map[string]int64{}
	for _, r := range recs {
		got, err := lastCounts([]*kgo.Record{r})
		if err != nil {
			return nil, err
		}
		w := string(r.Key)
		if prev, ok := last[w]; ok && got[w] <= prev {
			return nil, fmt.Errorf("%s: %q counted %d after %d (%d/%d): a duplicate or lost increment", topic, w, got[w], prev, r.Partition, r.Offset)
		}
		last[w] = got[w]
	}
	return last, nil
}

func runWordCountEOS(t *testing.T, e *env, version, app string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	input, output := app+"-lines", app+"-counts"
	for _, topic := range []string{input, output} {
		if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
			t.Fatal(err)
		}
	}
	state := filepath.Join(t.TempDir(), "state")
	startApp := func() *streamsApp {
		a := startWordCount(t, version, e.bootstrap, app, input, output, "--guarantee", "exactly_once_v2", "--state-dir", state,
			"--timeout", "240")
		if err := waitFor(ctx, 90*time.Second, func() error {
			if !a.has("RUNNING") {
				return fmt.Errorf("the application is not RUNNING")
			}
			return nil
		}); err != nil {
			t.Fatalf("%v\n%s", err, a.report())
		}
		return a
	}
	a := startApp()
	t.Logf("kafka-streams %s (exactly_once_v2) RUNNING after %v", version, time.Since(begin).Round(time.Millisecond))

	lines := wordLines(600)
	var recs []*kgo.Record
	for i, l := range lines {
		recs = append(recs, &kgo.Record{Partition: int32(i % 3), Key: []byte("line" + strconv.Itoa(i)), Value: []byte(l)})
	}
	// The first 300 lines; once some counts are committed, SIGKILL the
	// application in the middle of its work (more lines keep coming).
	if err := e.produce(ctx, input, "", recs[:300]); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, 60*time.Second, func() error {
		got, err := e.committedCounts(ctx, output)
		if err != nil {
			return err
		}
		if len(got) == 0 {
			return fmt.Errorf("no committed count yet")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v\n%s", err, a.report())
	}
	if err := e.produce(ctx, input, "", recs[300:450]); err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.done
	t.Logf("kafka-streams %s killed (SIGKILL) at %v", version, time.Since(begin).Round(time.Millisecond))
	if err := e.produce(ctx, input, "", recs[450:]); err != nil {
		t.Fatal(err)
	}
	a = startApp()
	want := countWords(lines)
	check := func(topic string) error {
		return waitFor(ctx, 90*time.Second, func() error {
			got, err := e.committedCounts(ctx, topic)
			if err != nil {
				return err
			}
			if d := diffCounts(got, want); d != "" {
				return fmt.Errorf("%s (read_committed): last counts differ: %s", topic, d)
			}
			return nil
		})
	}
	if err := check(output); err != nil {
		t.Fatalf("%v\n%s", err, a.report())
	}
	if err := check(app + "-counts-changelog"); err != nil {
		t.Errorf("%v", err)
	}
	t.Logf("kafka-streams %s (exactly_once_v2): exact counts of %d words after the kill, %v", version, len(want), time.Since(begin).Round(time.Millisecond))
	_, _ = a.stdin.Write([]byte("stop\n"))
	select {
	case <-a.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("the application did not exit within 60s of the stop line\n%s", a.report())
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains("\n"+a.out.String(), "\nok\n") {
		t.Errorf("the application exited with %d\n%s", code, a.report())
	}
}
