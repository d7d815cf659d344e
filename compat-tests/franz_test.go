package compat_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// compressionSeen records the codec of every produced and fetched batch.
type compressionSeen struct {
	mu       sync.Mutex
	produced map[uint8]int
	fetched  map[uint8]int
}

func (h *compressionSeen) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.produced[m.CompressionType]++
}

func (h *compressionSeen) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fetched[m.CompressionType]++
}

// produceAll produces values (keyed k<i>) synchronously to partition 0.
func produceAll(t *testing.T, cl *kgo.Client, topic string, values [][]byte) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recs := make([]*kgo.Record, len(values))
	for i, v := range values {
		recs[i] = &kgo.Record{Topic: topic, Partition: 0, Key: fmt.Appendf(nil, "k%d", i), Value: v,
			Headers: []kgo.RecordHeader{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}}}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	return recs
}

// consumeN reads n records of topic partition 0 from the start.
func consumeN(t *testing.T, c *cluster.Cluster, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	cl := c.Client(opts...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: got %d of %d records before timeout", topic, len(got), n)
		}
		fs.EachError(func(tp string, p int32, err error) {
			t.Errorf("fetch %s/%d: %v", tp, p, err)
		})
		got = append(got, fs.Records()...)
	}
	return got
}

func sameRecords(t *testing.T, want, got []*kgo.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Offset != w.Offset || !bytes.Equal(g.Key, w.Key) || !bytes.Equal(g.Value, w.Value) ||
			len(g.Headers) != 1 || !bytes.Equal(g.Headers[0].Value, w.Headers[0].Value) {
			t.Fatalf("record %d: got offset %d key %q value %q headers %v, want offset %d key %q value %q",
				i, g.Offset, g.Key, harness.Clip(string(g.Value), 60), g.Headers, w.Offset, w.Key, harness.Clip(string(w.Value), 60))
		}
	}
}

// TestFranzGo covers franz-go's default (idempotent) producer, every
// compression codec, and idempotent duplicate handling at the wire level.
func TestFranzGo(t *testing.T) {
	c := cluster.Start(t, 1)

	t.Run("defaultRoundTrip", func(t *testing.T) {
		harness.CreateTopic(t, c, "franz-default", 1, 1)
		cl := c.Client()
		values := make([][]byte, 5000)
		for i := range values {
			values[i] = fmt.Appendf(nil, "value-%d-%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i%300))
		}
		want := produceAll(t, cl, "franz-default", values)
		for i, r := range want {
			if r.Offset != int64(i) {
				t.Fatalf("record %d got offset %d", i, r.Offset)
			}
		}
		sameRecords(t, want, consumeN(t, c, "franz-default", len(want)))
	})

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
		attr  uint8 // record batch attributes bits 0-2
	}{
		{"gzip", kgo.GzipCompression(), 1},
		{"snappy", kgo.SnappyCompression(), 2},
		{"lz4", kgo.Lz4Compression(), 3},
		{"zstd", kgo.ZstdCompression(), 4},
	}
	for _, tc := range codecs {
		t.Run("compression-"+tc.name, func(t *testing.T) {
			topic := "franz-" + tc.name
			harness.CreateTopic(t, c, topic, 1, 1)
			seen := &compressionSeen{produced: map[uint8]int{}, fetched: map[uint8]int{}}
			cl := c.Client(kgo.ProducerBatchCompression(tc.codec), kgo.WithHooks(seen), kgo.ProducerLinger(5*time.Millisecond))
			values := make([][]byte, 2000)
			for i := range values {
				// Compressible, and distinct per record.
				values[i] = fmt.Appendf(nil, "%s-%d-%s", tc.name, i, bytes.Repeat([]byte("compress me "), 1+i%40))
			}
			want := produceAll(t, cl, topic, values)
			got := consumeN(t, c, topic, len(want), kgo.WithHooks(seen))
			sameRecords(t, want, got)
			seen.mu.Lock()
			defer seen.mu.Unlock()
			// The broker keeps the producer's codec (compression.type=producer).
			if seen.produced[tc.attr] == 0 {
				t.Errorf("no batch produced with codec %d: %v", tc.attr, seen.produced)
			}
			if seen.fetched[tc.attr] == 0 || len(seen.fetched) != 1 {
				t.Errorf("fetched batches by codec %v, want only codec %d", seen.fetched, tc.attr)
			}
		})
	}

	t.Run("idempotence", func(t *testing.T) {
		harness.CreateTopic(t, c, "franz-idem", 1, 1)
		// Through the client: two records get consecutive offsets.
		cl := c.Client()
		recs := produceAll(t, cl, "franz-idem", [][]byte{[]byte("one"), []byte("two")})
		if recs[1].Offset != recs[0].Offset+1 {
			t.Fatalf("offsets %d, %d are not consecutive", recs[0].Offset, recs[1].Offset)
		}

		// On the wire: a retried batch (same producer id, epoch and
		// sequence) is not appended again and returns the original offset.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		initReq := kmsg.NewPtrInitProducerIDRequest()
		initReq.TransactionTimeoutMillis = 60000
		initResp, err := initReq.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("InitProducerID: %v", err)
		}
		if err := kerr.ErrorForCode(initResp.ErrorCode); err != nil {
			t.Fatalf("InitProducerID: %v", err)
		}
		pid, epoch := initResp.ProducerID, initResp.ProducerEpoch
		topicID := topicID(t, cl, "franz-idem")
		if pid < 0 {
			t.Fatalf("InitProducerID returned producer id %d", pid)
		}
		produce := func(seq int32, value string) (int64, int16) {
			t.Helper()
			batch := harness.IdempotentBatch(pid, epoch, seq, []byte(value))
			req := kmsg.NewPtrProduceRequest()
			req.Acks = -1
			req.TimeoutMillis = 10000
			rt := kmsg.NewProduceRequestTopic()
			rt.Topic = "franz-idem"
			rt.TopicID = topicID // Produce v13+ names topics by id
			rp := kmsg.NewProduceRequestTopicPartition()
			rp.Partition = 0
			rp.Records = batch
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			if err != nil {
				t.Fatalf("produce seq %d: %v", seq, err)
			}
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				t.Fatalf("produce seq %d: unexpected response shape %+v", seq, resp)
			}
			p := resp.Topics[0].Partitions[0]
			return p.BaseOffset, p.ErrorCode
		}
		first, code := produce(0, "three")
		if code != 0 {
			t.Fatalf("produce seq 0: error %v", kerr.ErrorForCode(code))
		}
		if first != recs[1].Offset+1 {
			t.Errorf("seq 0 got offset %d, want %d", first, recs[1].Offset+1)
		}
		dup, code := produce(0, "three")
		if code != 0 || dup != first {
			t.Errorf("duplicate seq 0: offset %d error %v, want offset %d and no error (Kafka returns the original offset)",
				dup, kerr.ErrorForCode(code), first)
		}
		next, code := produce(1, "four")
		if code != 0 || next != first+1 {
			t.Errorf("seq 1: offset %d error %v, want offset %d", next, kerr.ErrorForCode(code), first+1)
		}
		// A gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER (45).
		_, code = produce(5, "gap")
		if code != kerr.OutOfOrderSequenceNumber.Code {
			t.Errorf("seq 5 after 1: error %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", kerr.ErrorForCode(code))
		}

		got := consumeN(t, c, "franz-idem", 4)
		var values []string
		for _, r := range got {
			values = append(values, string(r.Value))
		}
		if fmt.Sprint(values) != "[one two three four]" {
			t.Errorf("log holds %q, want [one two three four]", values)
		}
		// Nothing beyond the 4 records (no duplicate appended).
		end := listEnd(t, cl, "franz-idem")
		if end != 4 {
			t.Errorf("log end offset %d, want 4", end)
		}
	})
}

// listEnd returns the latest offset of partition 0 via ListOffsets.
func listEnd(t *testing.T, cl *kgo.Client, topic string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = 0
	rp.Timestamp = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("ListOffsets: unexpected response %+v", resp)
	}
	p := resp.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
		t.Fatalf("ListOffsets %s: %v", topic, err)
	}
	return p.Offset
}

// topicID returns a topic's id from Metadata.
func topicID(t *testing.T, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || resp.Topics[0].TopicID == [16]byte{} {
		t.Fatalf("Metadata for %s: unexpected response %+v", topic, resp.Topics)
	}
	return resp.Topics[0].TopicID
}
