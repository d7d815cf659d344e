package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// restartBroker runs a stopped test broker again on its log dir and address.
func restartBroker(t *testing.T, b *testBroker, overrides ...string) *testBroker {
	t.Helper()
	cfg := filepath.Join(filepath.Dir(b.logDir), "server.properties")
	ctx, cancel := context.WithCancel(context.Background())
	nb := &testBroker{id: b.id, addr: b.addr, logDir: b.logDir, cancel: cancel, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test_broker", b.id)
	}
	go func() { nb.done <- Run(ctx, cfg, overrides, logger, nil) }()
	t.Cleanup(func() { nb.stop(t) })
	return nb
}

// segmentBytes is the concatenation of a partition's .log files on a broker.
func segmentBytes(t *testing.T, b *testBroker, dir string) []byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(b.logDir, dir, "*.log"))
	sort.Strings(files)
	var out []byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil
		}
		out = append(out, data...)
	}
	return out
}

// rawProduce sends one record and returns the partition's answer; acks
// must match the client's kgo.RequiredAcks, which kgo sends regardless.
func rawProduce(ctx context.Context, cl *kgo.Client, topic string, topicID [16]byte, acks int16, value string) (kmsg.ProduceResponseTopicPartition, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch(-1, -1, -1, value)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return kmsg.ProduceResponseTopicPartition{}, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return kmsg.ProduceResponseTopicPartition{}, fmt.Errorf("malformed produce response %+v", resp)
	}
	return resp.Topics[0].Partitions[0], nil
}

// TestReplicationAcksAllISRAndFailover runs three brokers, a topic with RF 3
// and min.insync.replicas=2 and checks Kafka's replication guarantees:
// followers hold byte-identical logs, the ISR follows live followers (out
// and back in, visible in the state znode), acks=all needs min.insync.replicas,
// and a new leader elected from the ISR holds every acknowledged record.
func TestReplicationAcksAllISRAndFailover(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	overrides := []string{"replica.lag.time.max.ms=1000", "replica.fetch.wait.max.ms=100"}
	brokers := map[int32]*testBroker{}
	for id := int32(0); id < 3; id++ {
		brokers[id] = startBroker(t, connect, id, overrides...)
	}
	zc, err := zkmeta.Connect(context.Background(), connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	addrs := []string{brokers[0].addr, brokers[1].addr, brokers[2].addr}
	cl := newClient(t, addrs)
	waitForBrokers(t, cl, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	const topic = "replicated"
	created, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": ptr("2")}, topic)
	if err != nil {
		t.Fatal(err)
	}
	topicID := created.ID
	state := func() zkmeta.LeaderAndIsr {
		st, ok, err := zc.PartitionState(topic, 0)
		if err != nil || !ok {
			t.Fatalf("state of %s-0: %v %v", topic, ok, err)
		}
		return st
	}
	waitFor(t, "a leader with a full ISR", func() bool { st := state(); return st.Leader >= 0 && len(st.ISR) == 3 })

	// acks=all: every acknowledged record is on every replica.
	producer := newClient(t, addrs, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	acked := map[string]bool{}
	produce := func(from, to int) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i)})
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("acks=all produce: %v", err)
		}
		for _, r := range recs {
			acked[string(r.Value)] = true
		}
	}
	produce(0, 500)
	sameLogs := func(ids ...int32) func() bool {
		return func() bool {
			ref := segmentBytes(t, brokers[ids[0]], topic+"-0")
			if len(ref) == 0 {
				return false
			}
			for _, id := range ids[1:] {
				if !bytes.Equal(ref, segmentBytes(t, brokers[id], topic+"-0")) {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, "byte-identical logs on the three replicas", sameLogs(0, 1, 2))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := ends.Lookup(topic, 0); o.Offset != 500 {
		t.Fatalf("high watermark %d after 500 acks=all records, want 500", o.Offset)
	}

	// One follower down: it leaves the ISR; acks=all still works with two.
	leader := state().Leader
	var followers []int32
	for id := int32(0); id < 3; id++ {
		if id != leader {
			followers = append(followers, id)
		}
	}
	brokers[followers[0]].stop(t)
	waitFor(t, fmt.Sprintf("broker %d out of the ISR", followers[0]), func() bool {
		return !slices.Contains(state().ISR, followers[0])
	})
	produce(500, 600)

	// Two of three down: acks=all is refused before the append, acks=1 works.
	brokers[followers[1]].stop(t)
	waitFor(t, "the ISR down to the leader", func() bool {
		st := state()
		return len(st.ISR) == 1 && st.ISR[0] == leader
	})
	leaderClient := newClient(t, []string{brokers[leader].addr}, kgo.RequiredAcks(kgo.AllISRAcks()))
	waitFor(t, "acks=all refused with NOT_ENOUGH_REPLICAS", func() bool {
		rp, err := rawProduce(ctx, leaderClient, topic, topicID, -1, "refused")
		return err == nil && rp.ErrorCode == kerr.NotEnoughReplicas.Code
	})
	// kgo sends its own acks setting on every Produce.
	leaderAcks1 := newClient(t, []string{brokers[leader].addr}, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	rp, err := rawProduce(ctx, leaderAcks1, topic, topicID, 1, "acks1")
	if err != nil || rp.ErrorCode != 0 {
		t.Fatalf("acks=1 with the ISR at the leader alone: %v %v", err, kerr.ErrorForCode(rp.ErrorCode))
	}
	acked["acks1"] = true

	// Both followers back: they catch up and the leader adds them to the ISR.
	for _, id := range followers {
		brokers[id] = restartBroker(t, brokers[id], overrides...)
	}
	waitFor(t, "the full ISR back", func() bool { return len(state().ISR) == 3 })
	waitFor(t, "byte-identical logs after the followers caught up", sameLogs(0, 1, 2))
	produce(600, 700)

	// Leader stopped: the new leader comes from the ISR with every acknowledged record.
	brokers[leader].stop(t)
	waitFor(t, "a new leader", func() bool { st := state(); return st.Leader >= 0 && st.Leader != leader })
	var live []string
	for _, id := range followers {
		live = append(live, brokers[id].addr)
	}
	consumer := newClient(t, live, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]bool{}
	for missing := len(acked); missing > 0; {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d acknowledged records missing after failover", missing)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if acked[string(r.Value)] && !seen[string(r.Value)] {
				seen[string(r.Value)] = true
				missing--
			}
		})
	}
	newProducer := newClient(t, live, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err := newProducer.ProduceSync(ctx, &kgo.Record{Value: []byte("after failover")}).FirstErr(); err != nil {
		t.Fatalf("acks=all produce to the new leader: %v", err)
	}
}
