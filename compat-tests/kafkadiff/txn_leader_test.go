package kafkadiff_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestTxnLeaderKafka39 plays one sequence of transactional produces and
// WriteTxnMarkers requests against a real Kafka 3.9 broker and against
// ours (both with transaction.partition.verification.enable=false, so raw
// transactional batches need no coordinator) and compares, after each
// step, what the partition leader answers: read_committed and
// read_uncommitted Fetch (HW, LSO, aborted transactions, the offsets
// returned), ListOffsets LATEST per isolation level, the markers' errors
// and DescribeProducers. Producer ids are named by role (A, B), as the
// brokers hand out different ones.
func TestTxnLeaderKafka39(t *testing.T) {
	overrides := map[string]string{"auto.create.topics.enable": "false", "transaction.partition.verification.enable": "false"}
	ours := cluster.Start(t, 1, "auto.create.topics.enable=false", "transaction.partition.verification.enable=false")
	ref := cluster.StartKafkaRef(t, ours.ZK.Addr, cluster.KafkaRefOptions{Overrides: overrides})
	sides := []*txnSide{{name: "kafka", addr: ref.Addr}, {name: "ours", addr: ours.Broker(0).Addr}}
	const topic = "txn-leader"
	for _, s := range sides {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		s.cl = cl
		s.createTopic(t, topic)
		s.pids = map[int64]string{}
		for _, role := range []string{"A", "B", "C"} {
			pid := s.producerID(t)
			s.pids[pid] = role
			s.roles = append(s.roles, pid)
		}
	}
	steps := []struct {
		name string
		do   func(t *testing.T, s *txnSide) string
	}{
		{"transactional without an id", func(t *testing.T, s *txnSide) string {
			return s.produceRaw(t, nil, topic, s.txnRecords(0, 0, 0, 1, true), s.txnRecords(-1, 0, 0, 1, false))
		}},
		{"two transactional producers", func(t *testing.T, s *txnSide) string {
			id := "txn-leader-diff"
			return s.produceRaw(t, &id, topic, s.txnRecords(0, 0, 0, 1, true), s.txnRecords(1, 0, 0, 1, true))
		}},
		{"plain records 0-1", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, -1, 0, 0, 2, false) }},
		{"A's transaction 2-3", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, 0, 0, 0, 2, true) }},
		{"B's transaction 4", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, 1, 0, 0, 1, true) }},
		{"two open", func(t *testing.T, s *txnSide) string { return s.view(t, topic) }},
		{"C's transaction 5", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, 2, 0, 0, 1, true) }},
		{"abort C", func(t *testing.T, s *txnSide) string { return s.marker(t, 2, 0, 3, false, topic) }},
		// Kafka lists C, aborted above the LSO, though the read stops below
		// it: the search runs up to the offset-index entry past the bytes
		// read, else the segment's end (LogSegment.fetchUpperBoundOffset).
		{"C aborted above the LSO", func(t *testing.T, s *txnSide) string { return s.view(t, topic) }},
		{"abort A, unknown partition", func(t *testing.T, s *txnSide) string {
			return s.marker(t, 0, 0, 3, false, topic, "txn-nosuch")
		}},
		{"A aborted", func(t *testing.T, s *txnSide) string { return s.view(t, topic) }},
		{"commit B", func(t *testing.T, s *txnSide) string { return s.marker(t, 1, 0, 3, true, topic) }},
		{"B older coordinator epoch", func(t *testing.T, s *txnSide) string { return s.marker(t, 1, 0, 2, true, topic) }},
		{"B committed again", func(t *testing.T, s *txnSide) string { return s.marker(t, 1, 0, 3, true, topic) }},
		{"B committed", func(t *testing.T, s *txnSide) string { return s.view(t, topic) }},
		{"A's second transaction", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, 0, 0, 2, 1, true) }},
		{"A open", func(t *testing.T, s *txnSide) string { return s.view(t, topic) + " " + s.describeProducers(t, topic) }},
		{"A bumped abort", func(t *testing.T, s *txnSide) string { return s.marker(t, 0, 1, 4, false, topic) }},
		{"A older producer epoch", func(t *testing.T, s *txnSide) string { return s.marker(t, 0, 0, 4, false, topic) }},
		{"A fenced", func(t *testing.T, s *txnSide) string { return s.produce(t, topic, 0, 0, 3, 1, true) }},
		{"end", func(t *testing.T, s *txnSide) string { return s.view(t, topic) + " " + s.describeProducers(t, topic) }},
		{"unknown isolation level", func(t *testing.T, s *txnSide) string { return s.fetch(t, topic, 0, 2) }},
		{"refused partitions", func(t *testing.T, s *txnSide) string {
			return s.fetchPartition(t, topic, 3) + " " + s.describeProducers(t, "bad/name") + " " + s.describeProducers(t, "txn-nosuch")
		}},
		{"consumers", func(t *testing.T, s *txnSide) string {
			// A plain record last: the consumers read until they see it.
			sentinel := s.produce(t, topic, -1, 0, 0, 1, false)
			var last int64
			if _, err := fmt.Sscanf(sentinel, "NONE@%d", &last); err != nil {
				t.Fatalf("%s: sentinel record: %s", s.name, sentinel)
			}
			return "read_committed " + s.consume(t, topic, kgo.ReadCommitted(), last) + " read_uncommitted " + s.consume(t, topic, kgo.ReadUncommitted(), last)
		}},
	}
	for _, st := range steps {
		k, o := st.do(t, sides[0]), st.do(t, sides[1])
		t.Logf("%s: Kafka 3.9: %s; ours: %s", st.name, k, o)
		if k != o {
			t.Errorf("%s: answers differ:\n  Kafka 3.9: %s\n  ours:      %s", st.name, k, o)
		}
	}
}

// txnSide is one broker of TestTxnLeaderKafka39.
type txnSide struct {
	name    string
	addr    string
	cl      *kgo.Client
	topicID [16]byte
	pids    map[int64]string // producer id -> role
	roles   []int64          // role index -> producer id
	epoch   int16            // the transactional producer's epoch (TestTxnVerificationKafka39)
}

func (s *txnSide) do(t *testing.T, req kmsg.Request) kmsg.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.cl.Broker(0).Request(ctx, req) // unsharded: errors come back as the broker answers
	if err != nil {
		t.Fatalf("%s: %s: %v", s.name, kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

func (s *txnSide) waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s: %s", s.name, what, why)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *txnSide) createTopic(t *testing.T, topic string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 2, 1
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	if code := s.do(t, req).(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("%s: creating %s: %v", s.name, topic, kerr.ErrorForCode(code))
	}
	s.waitFor(t, topic+" has a leader", func() (bool, string) {
		req := kmsg.NewPtrMetadataRequest()
		mt := kmsg.NewMetadataRequestTopic()
		mt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, mt)
		md := s.do(t, req).(*kmsg.MetadataResponse)
		if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != 2 ||
			md.Topics[0].Partitions[0].Leader < 0 || md.Topics[0].Partitions[1].Leader < 0 {
			return false, fmt.Sprintf("%+v", md.Topics)
		}
		s.topicID = md.Topics[0].TopicID
		return true, ""
	})
}

// producerID is an idempotent producer id (InitProducerId without a
// transactional id), once the broker has its first block.
func (s *txnSide) producerID(t *testing.T) int64 {
	t.Helper()
	var pid int64
	s.waitFor(t, "InitProducerId", func() (bool, string) {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = 60000, -1, -1
		resp := s.do(t, req).(*kmsg.InitProducerIDResponse)
		pid = resp.ProducerID
		return resp.ErrorCode == 0, codeName(resp.ErrorCode)
	})
	return pid
}

// txnRecords is a v2 batch of n records; role < 0 is a plain batch.
func (s *txnSide) txnRecords(role int, epoch int16, seq int32, n int, transactional bool) []byte {
	pid, pe, fs := int64(-1), int16(-1), int32(-1)
	if role >= 0 {
		pid, pe, fs = s.roles[role], epoch, seq
	}
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: now,
		MaxTimestamp: now, ProducerID: pid, ProducerEpoch: pe, FirstSequence: fs, NumRecords: int32(n)}
	if transactional {
		b.Attributes = 0x10
	}
	for i := range n {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'x')
		body = binary.AppendVarint(body, 0)
		b.Records = append(binary.AppendVarint(b.Records, int64(len(body))), body...)
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// produce sends one batch with a transactional id (Produce v9, acks -1)
// and answers its error and base offset.
func (s *txnSide) produce(t *testing.T, topic string, role int, epoch int16, seq int32, n int, transactional bool) string {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	id := "txn-leader-diff"
	req.Version, req.Acks, req.TimeoutMillis, req.TransactionID = 9, -1, 30000, &id
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = s.txnRecords(role, epoch, seq, n, transactional)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	p := s.do(t, req).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	return fmt.Sprintf("%s@%d", codeName(p.ErrorCode), p.BaseOffset)
}

// produceRaw sends one batch per partition (0, 1, ...) of topic with
// transactional id txnID and answers each partition's error and message.
func (s *txnSide) produceRaw(t *testing.T, txnID *string, topic string, batches ...[]byte) string {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis, req.TransactionID = -1, 30000, txnID
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	for i, b := range batches {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = int32(i), b
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	var out []string
	for _, rt := range s.do(t, req).(*kmsg.ProduceResponse).Topics {
		for _, p := range rt.Partitions {
			msg := ""
			if p.ErrorMessage != nil {
				msg = " " + strconv.Quote(*p.ErrorMessage)
			}
			out = append(out, fmt.Sprintf("%d:%s@%d%s", p.Partition, codeName(p.ErrorCode), p.BaseOffset, msg))
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// marker sends one WriteTxnMarkers v1 marker for role on topics' partition 0.
func (s *txnSide) marker(t *testing.T, role int, epoch int16, coordinatorEpoch int32, commit bool, topics ...string) string {
	t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.CoordinatorEpoch, m.Committed = s.roles[role], epoch, coordinatorEpoch, commit
	for _, topic := range topics {
		mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
		mt.Topic, mt.Partitions = topic, []int32{0}
		m.Topics = append(m.Topics, mt)
	}
	req.Markers = append(req.Markers, m)
	resp := s.do(t, req).(*kmsg.WriteTxnMarkersResponse)
	var out []string
	for _, rm := range resp.Markers {
		for _, rt := range rm.Topics {
			for _, rp := range rt.Partitions {
				out = append(out, fmt.Sprintf("%s:%s-%d=%s", s.pids[rm.ProducerID], rt.Topic, rp.Partition, codeName(rp.ErrorCode)))
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// view is the partition as consumers see it: a read_committed and a
// read_uncommitted Fetch v11 from offset 0, and ListOffsets v5 LATEST per
// isolation level.
func (s *txnSide) view(t *testing.T, topic string) string {
	t.Helper()
	var out []string
	for _, iso := range []int8{1, 0} {
		out = append(out, s.fetch(t, topic, 0, iso))

		lr := kmsg.NewPtrListOffsetsRequest()
		lr.Version, lr.ReplicaID, lr.IsolationLevel = 5, -1, iso
		lt := kmsg.NewListOffsetsRequestTopic()
		lt.Topic = topic
		lp := kmsg.NewListOffsetsRequestTopicPartition()
		lp.Partition, lp.Timestamp, lp.CurrentLeaderEpoch = 0, -1, -1
		lt.Partitions = append(lt.Partitions, lp)
		lr.Topics = append(lr.Topics, lt)
		l := s.do(t, lr).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		out = append(out, fmt.Sprintf("latest(iso=%d): %s %d", iso, codeName(l.ErrorCode), l.Offset))
	}
	return strings.Join(out, "; ")
}

// fetch is one partition's Fetch from offset 0 with isolation level iso.
func (s *txnSide) fetch(t *testing.T, topic string, partition int32, iso int8) string {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.IsolationLevel = 11, -1, 0, 1, 1<<20, iso
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, s.topicID // kgo sends the newest version both know
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = partition, 0, 1<<20, -1, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return fmt.Sprintf("fetch(iso=%d): top-level %s, %d topics", iso, codeName(resp.ErrorCode), len(resp.Topics))
	}
	p := resp.Topics[0].Partitions[0]
	aborted := "null"
	if p.AbortedTransactions != nil {
		var as []string
		for _, a := range p.AbortedTransactions {
			as = append(as, fmt.Sprintf("%s@%d", s.pids[a.ProducerID], a.FirstOffset))
		}
		aborted = "[" + strings.Join(as, " ") + "]"
	}
	return fmt.Sprintf("fetch(iso=%d): %s hw=%d lso=%d batches=%s aborted=%s", iso, codeName(p.ErrorCode),
		p.HighWatermark, p.LastStableOffset, s.batches(p.RecordBatches), aborted)
}

// fetchPartition is a partition's Fetch per isolation level.
func (s *txnSide) fetchPartition(t *testing.T, topic string, partition int32) string {
	t.Helper()
	return s.fetch(t, topic, partition, 1) + "; " + s.fetch(t, topic, partition, 0)
}

// consume reads the partition from the start with a kgo consumer of
// isolation level iso until the record at offset last and lists the
// offsets of the records it hands to the application.
func (s *txnSide) consume(t *testing.T, topic string, iso kgo.IsolationLevel, last int64) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.FetchIsolationLevel(iso),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var offsets []string
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: consuming %s: %v after %v", s.name, topic, ctx.Err(), offsets)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("%s: consuming %s: %v", s.name, topic, err) })
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			offsets = append(offsets, fmt.Sprint(r.Offset))
			done = done || r.Offset >= last
		})
		if done {
			return "[" + strings.Join(offsets, " ") + "]"
		}
	}
}

// batches describes fetched batches: base-last offsets, producer role,
// t for transactional, c for control.
func (s *txnSide) batches(records []byte) string {
	var out []string
	for len(records) >= 61 {
		size := int(binary.BigEndian.Uint32(records[8:12])) + 12
		if size > len(records) {
			break
		}
		base := int64(binary.BigEndian.Uint64(records[0:8]))
		last := base + int64(binary.BigEndian.Uint32(records[23:27]))
		attrs := binary.BigEndian.Uint16(records[21:23])
		pid := int64(binary.BigEndian.Uint64(records[43:51]))
		d := fmt.Sprintf("%d-%d", base, last)
		if role, ok := s.pids[pid]; ok {
			d += role
		}
		if attrs&0x10 != 0 {
			d += "t"
		}
		if attrs&0x20 != 0 {
			d += "c"
		}
		out = append(out, d)
		records = records[size:]
	}
	return "[" + strings.Join(out, " ") + "]"
}

func (s *txnSide) describeProducers(t *testing.T, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 5}
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.DescribeProducersResponse)
	var out []string
	for _, p := range resp.Topics[0].Partitions {
		var ps []string
		for _, ap := range p.ActiveProducers {
			ps = append(ps, fmt.Sprintf("%s(epoch=%d seq=%d coord=%d txn=%d)", s.pids[ap.ProducerID], ap.ProducerEpoch,
				ap.LastSequence, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset))
		}
		slices.Sort(ps)
		msg := ""
		if p.ErrorMessage != nil {
			msg = " " + strconv.Quote(*p.ErrorMessage)
		}
		out = append(out, fmt.Sprintf("producers(%d): %s%s %v", p.Partition, codeName(p.ErrorCode), msg, ps))
	}
	return strings.Join(out, "; ")
}

func codeName(code int16) string {
	if code == 0 {
		return "NONE"
	}
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return e.Message
	}
	return fmt.Sprint(code)
}

// TestTxnLeaderEndToEnd runs franz-go's transactional producer against
// three brokers of ours with transaction.partition.verification.enable on
// (KIP-890: each partition leader verifies a transaction's first batch
// with the coordinator, which may be another broker) and replicated
// partitions (markers appended with acks=-1): committed transactions are
// what a read_committed consumer reads, an aborted one is skipped (its
// records listed in the aborted transactions), a read_uncommitted consumer
// reads everything, and no transaction is left open (DescribeProducers).
func TestTxnLeaderEndToEnd(t *testing.T) {
	const topic, partitions = "eos", 3
	c := cluster.Start(t, 3, "transaction.state.log.num.partitions=5")
	adm := c.Client()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 3
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 30000
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, adm)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("creating %s: %v %+v", topic, err, resp)
	}
	producer := c.Client(kgo.TransactionalID("eos-txn"), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(30*time.Second))
	txn := func(prefix string, commit kgo.TransactionEndTry) {
		t.Helper()
		if err := producer.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		var recs []*kgo.Record
		for i := range 6 {
			recs = append(recs, &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, "%s-%d", prefix, i)})
		}
		if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("transaction %s: produce: %v", prefix, err)
		}
		if err := producer.EndTransaction(ctx, commit); err != nil {
			t.Fatalf("transaction %s: end: %v", prefix, err)
		}
	}
	txn("c1", kgo.TryCommit)
	txn("a2", kgo.TryAbort)
	txn("c3", kgo.TryCommit)
	// A plain record last in every partition: consumers read until they
	// have seen all of them.
	plain := c.Client(kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for p := range int32(partitions) {
		if err := plain.ProduceSync(ctx, &kgo.Record{Partition: p, Value: []byte("end")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consume := func(iso kgo.IsolationLevel) []string {
		t.Helper()
		cl := c.Client(kgo.FetchIsolationLevel(iso), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {
			0: kgo.NewOffset().AtStart(), 1: kgo.NewOffset().AtStart(), 2: kgo.NewOffset().AtStart()}}))
		defer cl.Close()
		var got []string
		ends := 0
		for ends < partitions {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consuming: %v after %v", ctx.Err(), got)
			}
			fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("consuming: %v", err) })
			fs.EachRecord(func(r *kgo.Record) {
				if string(r.Value) == "end" {
					ends++
					return
				}
				got = append(got, string(r.Value))
			})
		}
		slices.Sort(got)
		return got
	}
	var committed, all []string
	for _, prefix := range []string{"a2", "c1", "c3"} {
		for i := range 6 {
			v := fmt.Sprintf("%s-%d", prefix, i)
			all = append(all, v)
			if prefix != "a2" {
				committed = append(committed, v)
			}
		}
	}
	slices.Sort(committed)
	slices.Sort(all)
	if got := consume(kgo.ReadCommitted()); !slices.Equal(got, committed) {
		t.Errorf("read_committed consumer read %v, want %v", got, committed)
	}
	if got := consume(kgo.ReadUncommitted()); !slices.Equal(got, all) {
		t.Errorf("read_uncommitted consumer read %v, want %v", got, all)
	}
	// A transactional batch of a partition never added to the transaction
	// (no AddPartitionsToTxn): the leader's verification with the
	// coordinator refuses it, and nothing is written.
	rawID := "eos-raw"
	var pid int64
	var epoch int16
	deadline := time.Now().Add(60 * time.Second)
	for {
		ip := kmsg.NewPtrInitProducerIDRequest()
		ip.TransactionalID, ip.TransactionTimeoutMillis, ip.ProducerID, ip.ProducerEpoch = &rawID, 30000, -1, -1
		ir, err := ip.RequestWith(ctx, adm)
		if err == nil && ir.ErrorCode == 0 {
			pid, epoch = ir.ProducerID, ir.ProducerEpoch
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("InitProducerId: %v %+v", err, ir)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pr := kmsg.NewPtrProduceRequest()
	pr.Acks, pr.TimeoutMillis, pr.TransactionID = -1, 30000, &rawID
	prt := kmsg.NewProduceRequestTopic()
	prt.Topic = topic
	prp := kmsg.NewProduceRequestTopicPartition()
	prp.Partition, prp.Records = 0, rawTxnBatch(pid, epoch)
	prt.Partitions = append(prt.Partitions, prp)
	pr.Topics = append(pr.Topics, prt)
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, adm)
	if err != nil {
		t.Fatal(err)
	}
	leader := int32(-1)
	for _, mt := range md.Topics {
		for _, mp := range mt.Partitions {
			if mt.Topic != nil && *mt.Topic == topic && mp.Partition == 0 {
				leader = mp.Leader
			}
		}
	}
	raw, err := adm.Broker(int(leader)).Request(ctx, pr) // to the leader itself: kgo does not route a raw Produce
	if err != nil {
		t.Fatal(err)
	}
	presp := raw.(*kmsg.ProduceResponse)
	// kgo sends Produce v11, which gets the coordinator's
	// TRANSACTION_ABORTABLE as it is (older versions: INVALID_TXN_STATE).
	if p := presp.Topics[0].Partitions[0]; pr.Version != 11 || p.ErrorCode != kerr.TransactionAbortable.Code || p.ErrorMessage != nil {
		t.Errorf("unverified transactional produce v%d: %s %v", pr.Version, codeName(p.ErrorCode), p.ErrorMessage)
	}

	txnOffsetsEndToEnd(t, ctx, c, topic)
	sameProducersOnReplicas(t, ctx, c, topic)

	dp := kmsg.NewPtrDescribeProducersRequest()
	dt := kmsg.NewDescribeProducersRequestTopic()
	dt.Topic, dt.Partitions = topic, []int32{0, 1, 2}
	dp.Topics = append(dp.Topics, dt)
	for _, shard := range adm.RequestSharded(ctx, dp) {
		if shard.Err != nil {
			t.Fatalf("DescribeProducers on broker %d: %v", shard.Meta.NodeID, shard.Err)
		}
		for _, rt := range shard.Resp.(*kmsg.DescribeProducersResponse).Topics {
			for _, p := range rt.Partitions {
				if p.ErrorCode != 0 || len(p.ActiveProducers) < 2 {
					t.Errorf("DescribeProducers %s-%d on broker %d: %v, producers %+v", rt.Topic, p.Partition, shard.Meta.NodeID,
						codeName(p.ErrorCode), p.ActiveProducers)
				}
				for _, ap := range p.ActiveProducers {
					if ap.CurrentTxnStartOffset != -1 {
						t.Errorf("%s-%d: producer %d still has a transaction open at %d", rt.Topic, p.Partition, ap.ProducerID, ap.CurrentTxnStartOffset)
					}
				}
			}
		}
	}
}

// rawTxnBatch is one transactional record of producer pid/epoch at sequence 0.
func rawTxnBatch(pid int64, epoch int16) []byte {
	s := &txnSide{roles: []int64{pid}}
	return s.txnRecords(0, epoch, 0, 1, true)
}

// txnOffsetsEndToEnd runs a franz-go consume-transform-produce session
// (GroupTransactSession): its transactions commit the consumed offsets
// through TxnOffsetCommit, and the COMMIT marker WriteTxnMarkers writes to
// the group's __consumer_offsets partition makes them the group's
// committed offsets (GroupCoordinator.onTransactionCompleted).
func txnOffsetsEndToEnd(t *testing.T, ctx context.Context, c *cluster.Cluster, out string) {
	t.Helper()
	const in, group, n = "eos-in", "eos-group", 10
	adm := c.Client()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = in, 1, 3
	req.Topics, req.TimeoutMillis = append(req.Topics, rt), 30000
	if resp, err := req.RequestWith(ctx, adm); err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("creating %s: %v %+v", in, err, resp)
	}
	plain := c.Client(kgo.DefaultProduceTopic(in))
	for i := range n {
		if err := plain.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "in-%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...),
		kgo.TransactionalID("eos-session"), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.DefaultProduceTopic(out),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.TransactionTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	for consumed := 0; consumed < n; {
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		fs := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("session: %v after %d records", ctx.Err(), consumed)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("session fetch: %v", err) })
		var recs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, &kgo.Record{Value: append([]byte("out-"), r.Value...)}) })
		if len(recs) > 0 {
			if err := sess.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("session produce: %v", err)
			}
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			t.Fatalf("session end: %v", err)
		}
		if committed {
			consumed += len(recs)
		}
	}
	// The group's committed offset, stable (require_stable: no
	// transactional offsets pending), is the end of the input.
	deadline := time.Now().Add(60 * time.Second)
	for {
		of := kmsg.NewPtrOffsetFetchRequest()
		of.Group, of.RequireStable = group, true
		ot := kmsg.NewOffsetFetchRequestTopic()
		ot.Topic, ot.Partitions = in, []int32{0}
		of.Topics = append(of.Topics, ot)
		resp, err := of.RequestWith(ctx, adm)
		var offset int64 = -2
		var code int16
		if err == nil && len(resp.Topics) == 1 && len(resp.Topics[0].Partitions) == 1 {
			offset, code = resp.Topics[0].Partitions[0].Offset, resp.Topics[0].Partitions[0].ErrorCode
		}
		if err == nil && resp.ErrorCode == 0 && code == 0 && offset == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s's offset of %s-0: %d (%s, %v), want %d", group, in, offset, codeName(code), err, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sameProducersOnReplicas asks every replica (leader and followers) of
// topic-0 for its producers: followers keep the producer state from the
// batches they fetch, so all answer alike once caught up (log research
// case 68).
func sameProducersOnReplicas(t *testing.T, ctx context.Context, c *cluster.Cluster, topic string) {
	t.Helper()
	cl := c.Client()
	if err := cl.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		answers := map[int32]string{}
		for id := range int32(3) {
			req := kmsg.NewPtrDescribeProducersRequest()
			rt := kmsg.NewDescribeProducersRequestTopic()
			rt.Topic, rt.Partitions = topic, []int32{0}
			req.Topics = append(req.Topics, rt)
			raw, err := cl.Broker(int(id)).Request(ctx, req)
			if err != nil {
				t.Fatalf("DescribeProducers on broker %d: %v", id, err)
			}
			p := raw.(*kmsg.DescribeProducersResponse).Topics[0].Partitions[0]
			var ps []string
			for _, ap := range p.ActiveProducers {
				ps = append(ps, fmt.Sprintf("%d(epoch=%d seq=%d coord=%d txn=%d ts=%d)", ap.ProducerID, ap.ProducerEpoch,
					ap.LastSequence, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset, ap.LastTimestamp))
			}
			answers[id] = codeName(p.ErrorCode) + " " + strings.Join(ps, " ")
		}
		if answers[0] == answers[1] && answers[1] == answers[2] && strings.HasPrefix(answers[0], "NONE ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas of %s-0 answer DescribeProducers differently: %v", topic, answers)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTxnVerificationKafka39 compares the produce path's KIP-890
// verification (transaction.partition.verification.enable, default true)
// with Kafka 3.9's: a transactional producer's batches to a partition the
// coordinator has not added are refused (TRANSACTION_ABORTABLE from
// Produce v11, INVALID_TXN_STATE with Kafka's message before), accepted
// once AddPartitionsToTxn added it and while the transaction is open,
// refused again after the abort, and a wrong epoch or producer id gets
// the coordinator's answer translated.
func TestTxnVerificationKafka39(t *testing.T) {
	settings := map[string]string{"auto.create.topics.enable": "false", "transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr": "1", "transaction.state.log.num.partitions": "3"}
	var extra []string
	for k, v := range settings {
		extra = append(extra, k+"="+v)
	}
	ours := cluster.Start(t, 1, extra...)
	ref := cluster.StartKafkaRef(t, ours.ZK.Addr, cluster.KafkaRefOptions{Overrides: settings})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Kafka 3.9 log tail:\n%s", ref.LogTail(60))
		}
	})
	sides := []*txnSide{{name: "kafka", addr: ref.Addr}, {name: "ours", addr: ours.Broker(0).Addr}}
	const topic, txnID = "txn-verify", "verify-txn"
	v10 := map[*txnSide]*kgo.Client{}
	for _, s := range sides {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		s.cl = cl
		s.createTopic(t, topic)
		versions := kversion.V3_9_0()
		versions.SetMaxKeyVersion(int16(kmsg.Produce), 10)
		versions.SetMaxKeyVersion(int16(kmsg.AddPartitionsToTxn), 3) // a client's version (v4+: brokers' batches)
		old, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.RequestRetries(0), kgo.MaxVersions(versions))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(old.Close)
		v10[s] = old
		// The transactional producer: its id and epoch once the
		// coordinator has loaded __transaction_state.
		s.pids = map[int64]string{}
		s.waitFor(t, "InitProducerId "+txnID, func() (bool, string) {
			fc := kmsg.NewPtrFindCoordinatorRequest()
			fc.CoordinatorKey, fc.CoordinatorKeys, fc.CoordinatorType = txnID, []string{txnID}, 1 // v4+: the keys
			r := s.do(t, fc).(*kmsg.FindCoordinatorResponse)
			code := r.ErrorCode
			if len(r.Coordinators) == 1 {
				code = r.Coordinators[0].ErrorCode
			}
			if code != 0 {
				return false, "FindCoordinator " + codeName(code)
			}
			id := txnID
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = &id, 60000, -1, -1
			resp := s.do(t, req).(*kmsg.InitProducerIDResponse)
			if resp.ErrorCode != 0 {
				return false, codeName(resp.ErrorCode)
			}
			s.roles, s.epoch = []int64{resp.ProducerID}, resp.ProducerEpoch
			s.pids[resp.ProducerID] = "P"
			return true, ""
		})
	}
	produce := func(t *testing.T, s *txnSide, cl *kgo.Client, txn string, epoch int16, seq int32) string {
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis, req.TransactionID = -1, 30000, &txn
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = s.txnRecords(0, s.epoch+epoch, seq, 1, true)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		raw, err := cl.Broker(0).Request(ctx, req)
		if err != nil {
			t.Fatalf("%s: Produce: %v", s.name, err)
		}
		p := raw.(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		msg := ""
		if p.ErrorMessage != nil {
			msg = " " + strconv.Quote(*p.ErrorMessage)
		}
		return fmt.Sprintf("v%d %s@%d%s", req.Version, codeName(p.ErrorCode), p.BaseOffset, msg)
	}
	addPartition := func(t *testing.T, s *txnSide) string {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = txnID, s.roles[0], s.epoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		req.Topics = append(req.Topics, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		raw, err := v10[s].Broker(0).Request(ctx, req)
		if err != nil {
			t.Fatalf("%s: AddPartitionsToTxn: %v", s.name, err)
		}
		resp := raw.(*kmsg.AddPartitionsToTxnResponse)
		return fmt.Sprintf("v%d %s", req.Version, codeName(resp.Topics[0].Partitions[0].ErrorCode))
	}
	endTxn := func(t *testing.T, s *txnSide, commit bool) string {
		var code int16
		s.waitFor(t, "EndTxn", func() (bool, string) {
			req := kmsg.NewPtrEndTxnRequest()
			req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = txnID, s.roles[0], s.epoch, commit
			code = s.do(t, req).(*kmsg.EndTxnResponse).ErrorCode
			return code != kerr.ConcurrentTransactions.Code, codeName(code)
		})
		return codeName(code)
	}
	steps := []struct {
		name string
		do   func(t *testing.T, s *txnSide) string
	}{
		{"not added, v11", func(t *testing.T, s *txnSide) string { return produce(t, s, s.cl, txnID, 0, 0) }},
		{"not added, v10", func(t *testing.T, s *txnSide) string { return produce(t, s, v10[s], txnID, 0, 0) }},
		{"unknown transactional id", func(t *testing.T, s *txnSide) string { return produce(t, s, s.cl, "verify-nosuch", 0, 0) }},
		{"newer epoch", func(t *testing.T, s *txnSide) string { return produce(t, s, s.cl, txnID, 1, 0) }},
		{"add the partition", addPartition},
		{"added", func(t *testing.T, s *txnSide) string { return produce(t, s, s.cl, txnID, 0, 0) }},
		{"ongoing", func(t *testing.T, s *txnSide) string { return produce(t, s, v10[s], txnID, 0, 1) }},
		{"abort", func(t *testing.T, s *txnSide) string { return endTxn(t, s, false) }},
		{"after the abort", func(t *testing.T, s *txnSide) string {
			// The markers may still be on their way: the first answer
			// may differ in timing only, so wait for the final one.
			var out string
			s.waitFor(t, "the abort marker", func() (bool, string) {
				out = s.view(t, topic)
				return strings.HasPrefix(out, "fetch(iso=1): NONE hw=3 lso=3 "), out
			})
			return out + " " + produce(t, s, s.cl, txnID, 0, 2)
		}},
	}
	for _, st := range steps {
		k, o := st.do(t, sides[0]), st.do(t, sides[1])
		t.Logf("%s: Kafka 3.9: %s; ours: %s", st.name, k, o)
		if k != o {
			t.Errorf("%s: answers differ:\n  Kafka 3.9: %s\n  ours:      %s", st.name, k, o)
		}
	}
}
