package compat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// TestKafka39Reference starts a real Apache Kafka 3.9 broker in ZooKeeper
// mode (cluster.StartKafkaRef) and, beside it, one of ours; the subtests use
// both, so the JVMs start once.
func TestKafka39Reference(t *testing.T) {
	zk := zktest.Start(t)
	ref := cluster.StartKafkaRef(t, zk.Addr, cluster.KafkaRefOptions{})
	t.Run("ProduceConsume", func(t *testing.T) { refProduceConsume(t, ref) })
	t.Run("Restart", func(t *testing.T) { refRestart(t, ref) })
}

// refProduceConsume creates a topic on the reference broker, produces keyed
// records with headers and reads them all back.
func refProduceConsume(t *testing.T, ref *cluster.KafkaRef) {
	const topic, n = "ref-smoke", 60
	cl := ref.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("CreateTopic: %v %v", err, resp.Err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "v%03d", i),
			Headers: []kgo.RecordHeader{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}}})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons := ref.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]string{}
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), n, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Headers) != 1 || r.Headers[0].Key != "i" || "v"+fmt.Sprintf("%03s", r.Headers[0].Value) != string(r.Value) {
				t.Errorf("record %s: headers %v", r.Value, r.Headers)
			}
			got[string(r.Value)] = string(r.Key)
		})
	}
	for i := range n {
		if k := got[fmt.Sprintf("v%03d", i)]; k != fmt.Sprintf("k%d", i%7) {
			t.Errorf("record v%03d: key %q", i, k)
		}
	}
}

// refRestart stops the reference broker (controlled shutdown), starts it
// again on the same port and log dir, and reads the smoke topic back.
func refRestart(t *testing.T, ref *cluster.KafkaRef) {
	start := time.Now()
	ref.Stop(t)
	t.Logf("stopped in %v", time.Since(start))
	if ref.Running() {
		t.Fatal("still running after Stop")
	}
	ref.Stop(t) // idempotent
	start = time.Now()
	ref.Restart(t)
	t.Logf("restarted in %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons := ref.Client(t, kgo.ConsumeTopics("ref-smoke"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	n := 0
	for n < 60 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("after restart, consumed %d of 60 records: %v", n, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		n += fs.NumRecords()
	}
}
