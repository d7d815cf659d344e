package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// testBroker is one broker run in-process by Run, so the race detector sees
// the broker and the controller together.
type testBroker struct {
	id       int32
	addr     string
	logDir   string
	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
}

func startBroker(t *testing.T, zkConnect string, id int32, overrides ...string) *testBroker {
	t.Helper()
	return startBrokerWith(t, zkConnect, id, zkmeta.Options{}, overrides...)
}

// startBrokerWith is startBroker with the ZooKeeper client's test seams.
func startBrokerWith(t *testing.T, zkConnect string, id int32, zkOpts zkmeta.Options, overrides ...string) *testBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "server.properties")
	// Like Kafka's test setups: one replica of __consumer_offsets unless a
	// test overrides it, and no initial rebalance delay.
	props := fmt.Sprintf("broker.id=%d\nlisteners=PLAINTEXT://%s\nlog.dirs=%s\nzookeeper.connect=%s\nzookeeper.session.timeout.ms=6000\n"+
		"offsets.topic.replication.factor=1\ngroup.initial.rebalance.delay.ms=0\n",
		id, addr, filepath.Join(dir, "logs"), zkConnect)
	if err := os.WriteFile(cfg, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &testBroker{id: id, addr: addr, logDir: filepath.Join(dir, "logs"), cancel: cancel, done: make(chan error, 1)}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("test_broker", id)
	}
	go func() { b.done <- run(ctx, cfg, overrides, logger, nil, zkOpts) }()
	t.Cleanup(func() { b.stop(t) })
	return b
}

func (b *testBroker) stop(t *testing.T) {
	b.stopOnce.Do(func() {
		b.cancel()
		select {
		case err := <-b.done:
			if err != nil {
				t.Errorf("broker %d stopped with error: %v", b.id, err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("broker %d did not stop", b.id)
		}
	})
}

// startSingleBroker runs ZooKeeper and broker 0 and returns the broker with
// a client that already sees it in Metadata.
func startSingleBroker(t *testing.T) (*testBroker, *kgo.Client) {
	t.Helper()
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0)
	cl := newClient(t, []string{b.addr})
	waitForBrokers(t, cl, 1)
	return b, cl
}

func newClient(t *testing.T, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// waitFor polls cond until it holds, bounded to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitForBrokers(t *testing.T, cl *kgo.Client, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d brokers in metadata", n), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		return err == nil && len(resp.Brokers) == n && resp.ControllerID >= 0
	})
}

func TestSingleBrokerProduceConsume(t *testing.T) {
	b, cl := startSingleBroker(t)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	created, err := adm.CreateTopic(ctx, 3, 1, nil, "events")
	if err != nil || created.Err != nil {
		t.Fatalf("create topic: %v %v", err, created.Err)
	}
	if created.ID == [16]byte{} {
		t.Fatal("topic id must be non-zero")
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "events"); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second create: got %v, want TOPIC_ALREADY_EXISTS", err)
	}

	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	want := map[string]bool{}
	for name, codec := range codecs {
		p := newClient(t, []string{b.addr}, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic("events"))
		var recs []*kgo.Record
		for i := range 200 {
			v := fmt.Sprintf("%s-%d", name, i)
			want[v] = true
			recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i % 7)), Value: []byte(v)})
		}
		if err := p.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce %s: %v", name, err)
		}
	}

	consumer := newClient(t, []string{b.addr}, kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for len(got) < len(want) {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d: %v", len(got), len(want), err)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		fetches.EachRecord(func(r *kgo.Record) {
			if got[string(r.Value)] {
				t.Fatalf("duplicate record %q at offset %d", r.Value, r.Offset)
			}
			got[string(r.Value)] = true
		})
	}
	for v := range want {
		if !got[v] {
			t.Fatalf("record %q missing", v)
		}
	}

	offsets, err := adm.ListEndOffsets(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	offsets.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != int64(len(want)) {
		t.Fatalf("sum of end offsets = %d, want %d", total, len(want))
	}
}

func TestLongPollFetchWakesOnProduce(t *testing.T) {
	b, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "poll"); err != nil {
		t.Fatal(err)
	}
	consumer := newClient(t, []string{b.addr}, kgo.ConsumeTopics("poll"), kgo.FetchMaxWait(10*time.Second))
	got := make(chan string, 1)
	go func() {
		fetches := consumer.PollFetches(ctx)
		fetches.EachRecord(func(r *kgo.Record) {
			select {
			case got <- string(r.Value):
			default:
			}
		})
	}()
	// Produce only once the consumer's fetch is parked on the partition.
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "poll", Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	select {
	case v := <-got:
		if v != "wake" {
			t.Fatalf("got %q", v)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the parked fetch was not woken by the append (took %v)", time.Since(start))
		}
	case <-ctx.Done():
		t.Fatal("consumer never received the record")
	}
}

func TestAutoCreateTopicOnMetadata(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, "num.partitions=2")
	cl := newClient(t, []string{b.addr}, kgo.AllowAutoTopicCreation())
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "auto", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatalf("produce to an auto-created topic: %v", err)
	}
	md, err := kadm.NewClient(cl).Metadata(ctx, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(md.Topics["auto"].Partitions); n != 2 {
		t.Fatalf("auto-created topic has %d partitions, want num.partitions=2", n)
	}
}

// batch builds one v2 record batch with a valid CRC-32C.
func batch(producerID int64, epoch int16, seq int32, values ...string) []byte {
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(values) - 1),
		FirstTimestamp: now, MaxTimestamp: now, ProducerID: producerID, ProducerEpoch: epoch,
		FirstSequence: seq, NumRecords: int32(len(values)),
	}
	var records []byte
	for i, v := range values {
		records = appendRecord(records, int32(i), []byte(v))
	}
	b.Records = records
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12)) // batchLength
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(raw[17:], crc)
	return raw
}

// appendRecord encodes one record of a v2 batch: varint length, attributes,
// timestamp delta, offset delta, key (null), value, no headers.
func appendRecord(dst []byte, offsetDelta int32, value []byte) []byte {
	var body []byte
	body = append(body, 0)                        // attributes
	body = appendVarint(body, 0)                  // timestamp delta
	body = appendVarint(body, int64(offsetDelta)) // offset delta
	body = appendVarint(body, -1)                 // null key
	body = appendVarint(body, int64(len(value)))  // value length
	body = append(body, value...)
	body = appendVarint(body, 0) // header count
	return append(appendVarint(dst, int64(len(body))), body...)
}

func appendVarint(dst []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

func produceRaw(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, topicID [16]byte, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID // by name up to v12, by id from v13
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = 0
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Topics[0].Partitions[0]
}

func TestProduceValidationAndIdempotence(t *testing.T) {
	_, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	small := "200"
	topic, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &small}, "checked")
	if err != nil {
		t.Fatal(err)
	}

	init := kmsg.NewPtrInitProducerIDRequest()
	ipid, err := init.RequestWith(ctx, cl)
	if err != nil || ipid.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v %v", err, ipid)
	}
	pid := ipid.ProducerID
	ipid2, err := init.RequestWith(ctx, cl)
	if err != nil || ipid2.ProducerID == pid {
		t.Fatalf("InitProducerId must hand out distinct ids: %d and %d (%v)", pid, ipid2.ProducerID, err)
	}

	corrupt := batch(-1, -1, -1, "x")
	corrupt[len(corrupt)-1] ^= 0xff
	cases := []struct {
		name       string
		records    []byte
		wantCode   int16
		wantOffset int64
	}{
		{"first batch", batch(pid, 0, 0, "a", "b"), 0, 0},
		{"next in sequence", batch(pid, 0, 2, "c"), 0, 2},
		{"duplicate of the first batch gets its offset", batch(pid, 0, 0, "a", "b"), 0, 0},
		{"gap in sequence", batch(pid, 0, 9, "z"), kerr.OutOfOrderSequenceNumber.Code, -1},
		{"new epoch must start at sequence 0", batch(pid, 1, 5, "z"), kerr.OutOfOrderSequenceNumber.Code, -1},
		{"new epoch at sequence 0", batch(pid, 1, 0, "d"), 0, 3},
		{"older epoch is fenced", batch(pid, 0, 3, "z"), kerr.InvalidProducerEpoch.Code, -1},
		{"bad crc", corrupt, kerr.CorruptMessage.Code, -1},
		{"too large for max.message.bytes", batch(-1, -1, -1, string(make([]byte, 300))), kerr.MessageTooLarge.Code, -1},
		{"plain batch after idempotent ones", batch(-1, -1, -1, "p"), 0, 4},
	}
	for _, c := range cases {
		p := produceRaw(t, ctx, cl, "checked", topic.ID, c.records)
		if p.ErrorCode != c.wantCode {
			t.Errorf("%s: error code %d, want %d", c.name, p.ErrorCode, c.wantCode)
			continue
		}
		if c.wantCode == 0 && p.BaseOffset != c.wantOffset {
			t.Errorf("%s: base offset %d, want %d", c.name, p.BaseOffset, c.wantOffset)
		}
	}
	end, err := adm.ListEndOffsets(ctx, "checked")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("checked", 0); o.Offset != 5 {
		t.Fatalf("log end offset %d, want 5 (the duplicate must not be appended)", o.Offset)
	}
}

func TestControllerFailoverAndLeaderElection(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	b0 := startBroker(t, connect, 0)
	zc, err := zkmeta.Connect(context.Background(), connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	waitFor(t, "broker 0 to be controller", func() bool {
		info, ok, err := zc.Controller()
		return err == nil && ok && info.BrokerID == 0
	})
	b1 := startBroker(t, connect, 1)
	cl := newClient(t, []string{b0.addr, b1.addr})
	waitForBrokers(t, cl, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 4, 2, nil, "replicated"); err != nil {
		t.Fatal(err)
	}
	st, ok, err := zc.PartitionState("replicated", 0)
	if err != nil || !ok || len(st.ISR) != 2 || st.LeaderEpoch != 0 {
		t.Fatalf("initial state of replicated-0: %+v %v %v", st, ok, err)
	}
	epochBefore := controllerEpoch(t, zc)

	b0.stop(t) // clean shutdown of the controller
	waitFor(t, "broker 1 to take over as controller", func() bool {
		info, ok, err := zc.Controller()
		return err == nil && ok && info.BrokerID == 1
	})
	epochAfter := controllerEpoch(t, zc)
	if epochAfter != epochBefore+1 {
		t.Fatalf("controller epoch %d after failover, want %d", epochAfter, epochBefore+1)
	}
	for p := int32(0); p < 4; p++ {
		p := p
		waitFor(t, fmt.Sprintf("replicated-%d led by broker 1", p), func() bool {
			st, ok, err := zc.PartitionState("replicated", p)
			return err == nil && ok && st.Leader == 1 && len(st.ISR) == 1 && st.ISR[0] == 1
		})
	}
	// A delivery timeout turns a stuck produce into a failure, not a hang.
	cl1 := newClient(t, []string{b1.addr}, kgo.RecordDeliveryTimeout(30*time.Second))
	if err := cl1.ProduceSync(ctx, &kgo.Record{Topic: "replicated", Partition: 0, Value: []byte("after failover")}).FirstErr(); err != nil {
		t.Fatalf("produce after failover: %v", err)
	}
}

func controllerEpoch(t *testing.T, zc *zkmeta.Client) int32 {
	t.Helper()
	e, _, err := zc.ControllerEpoch()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestGeneratedBrokerID(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	startBroker(t, connect, -1)
	zc, err := zkmeta.Connect(context.Background(), connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	// Kafka's first generated id: /brokers/seqid version 1 + reserved.broker.max.id 1000.
	waitFor(t, "broker 1001 to register", func() bool {
		ids, err := zc.BrokerIDs()
		return err == nil && len(ids) == 1 && ids[0] == 1001
	})
}

func TestCreatePartitionsAndRecreateTopic(t *testing.T) {
	_, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	first, err := adm.CreateTopic(ctx, 2, 1, nil, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adm.UpdatePartitions(ctx, 4, "grow"); err != nil {
		t.Fatalf("grow to 4 partitions: %v", err)
	}
	resp, err := adm.UpdatePartitions(ctx, 3, "grow")
	if err == nil {
		err = resp["grow"].Err
	}
	if !errors.Is(err, kerr.InvalidPartitions) {
		t.Fatalf("shrinking must be refused with INVALID_PARTITIONS, got %v", err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "grow", Partition: 3, Value: []byte("new partition")}).FirstErr(); err != nil {
		t.Fatalf("produce to the new partition: %v", err)
	}

	if _, err := adm.DeleteTopics(ctx, "grow"); err != nil {
		t.Fatal(err)
	}
	// The topic leaves the metadata before its deletion completes; until then
	// a re-create is refused as "marked for deletion" (TOPIC_ALREADY_EXISTS),
	// as in Kafka.
	var second kadm.CreateTopicResponse
	waitFor(t, "topic to be re-created", func() bool {
		second, err = adm.CreateTopic(ctx, 1, 1, nil, "grow")
		return err == nil
	})
	if second.ID == first.ID || second.ID == [16]byte{} {
		t.Fatalf("a re-created topic needs a new topic id: %v then %v", first.ID, second.ID)
	}
	end, err := adm.ListEndOffsets(ctx, "grow")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := end.Lookup("grow", 0); o.Offset != 0 {
		t.Fatalf("the re-created topic must start empty, end offset %d", o.Offset)
	}
}
