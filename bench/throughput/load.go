package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createTopic creates topic with the given partition count and RF 1, then waits until Metadata shows a leader
// for every partition (our controller elects leaders asynchronously).
func createTopic(ctx context.Context, bootstrap, topic string, partitions int32) error {
	return createTopicRF(ctx, bootstrap, topic, partitions, 1)
}

// createTopicRF is createTopic with a replication factor.
func createTopicRF(ctx context.Context, bootstrap, topic string, partitions int32, rf int16) error {
	cl, err := kgo.NewClient(clientOpts(bootstrap)...)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = topic
	rt.NumPartitions = partitions
	rt.ReplicationFactor = rf
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if len(resp.Topics) != 1 {
		return fmt.Errorf("create topic %s: %d topics in response", topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return waitLeaders(ctx, cl, topic, int(partitions))
}

func waitLeaders(ctx context.Context, cl *kgo.Client, topic string, partitions int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		if resp, err := req.RequestWith(ctx, cl); err == nil && len(resp.Topics) == 1 {
			t := resp.Topics[0]
			ready := t.ErrorCode == 0 && len(t.Partitions) == partitions
			for _, p := range t.Partitions {
				ready = ready && p.ErrorCode == 0 && p.Leader >= 0
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topic %s: no leaders: %w", topic, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// deleteTopic removes a finished topic so kfake's in-memory log does not keep growing; errors are ignored
// by the caller because the figures are already taken.
func deleteTopic(ctx context.Context, bootstrap, topic string) error {
	cl, err := kgo.NewClient(clientOpts(bootstrap)...)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.TopicNames = append(req.TopicNames, topic)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	for _, t := range resp.Topics {
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("delete topic %s: %w", topic, err)
		}
	}
	return nil
}

// produce sends n records of size-byte values to topic with kgo's defaults (acks=all, idempotent, default
// linger and batching) and returns the wall time from the first Produce call to the last ack.
func produce(ctx context.Context, bootstrap, topic string, n int, values *valuePool, wire *wireStats) (time.Duration, error) {
	cl, err := kgo.NewClient(clientOpts(bootstrap, kgo.DefaultProduceTopic(topic), kgo.WithHooks(wire))...)
	if err != nil {
		return 0, fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, fmt.Errorf("producer ping: %w", err)
	}
	var (
		acked    atomic.Int64
		errOnce  sync.Once
		firstErr error
		lastAck  atomic.Int64 // unix nanos of the n-th ack
		done     = make(chan struct{})
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			errOnce.Do(func() { firstErr = err })
		}
		if acked.Add(1) == int64(n) {
			lastAck.Store(time.Now().UnixNano())
			close(done)
		}
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		// Produce blocks while kgo's buffer (MaxBufferedRecords) is full; that is the back-pressure we measure.
		cl.Produce(ctx, &kgo.Record{Value: values.get(i)}, promise)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, fmt.Errorf("produce: %d/%d acked: %w", acked.Load(), n, ctx.Err())
	}
	elapsed := time.Duration(lastAck.Load() - start.UnixNano())
	errOnce.Do(func() {}) // publishes firstErr written inside the Once
	if firstErr != nil {
		return 0, fmt.Errorf("produce: %w", firstErr)
	}
	return elapsed, nil
}

// prime produces one record to each partition of topic (acks=all, idempotent) and waits for the acks.
func prime(ctx context.Context, bootstrap, topic string, partitions int32, values *valuePool) error {
	cl, err := kgo.NewClient(clientOpts(bootstrap, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		return fmt.Errorf("producer: %w", err)
	}
	defer cl.Close()
	rs := make([]*kgo.Record, partitions)
	for p := range partitions {
		rs[p] = &kgo.Record{Value: values.get(int(p)), Partition: p}
	}
	if err := cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("priming %s: %w", topic, err)
	}
	return nil
}

// consume reads topic from the start until it has n records and returns the time from the client's creation
// to the last record. It checks that offsets are dense from 0 in every partition and values have size bytes.
func consume(ctx context.Context, bootstrap, topic string, n, size int, wire *wireStats) (time.Duration, error) {
	start := time.Now()
	cl, err := kgo.NewClient(clientOpts(bootstrap,
		kgo.WithHooks(wire),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	)...)
	if err != nil {
		return 0, fmt.Errorf("consumer: %w", err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	got := 0
	var bad error
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return 0, fmt.Errorf("consume: %d/%d records: %w", got, n, ctx.Err())
		}
		for _, fe := range fs.Errors() {
			return 0, fmt.Errorf("consume %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if bad != nil {
				return
			}
			switch {
			case r.Offset != next[r.Partition]:
				bad = fmt.Errorf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
			case len(r.Value) != size:
				bad = fmt.Errorf("partition %d offset %d: value of %d bytes, want %d", r.Partition, r.Offset, len(r.Value), size)
			}
			next[r.Partition] = r.Offset + 1
			got++
		})
		if bad != nil {
			return 0, fmt.Errorf("consume: %w", bad)
		}
	}
	elapsed := time.Since(start)
	if got != n {
		return 0, fmt.Errorf("consume: got %d records, want %d", got, n)
	}
	return elapsed, nil
}

// valuePool hands out size-byte record values as windows of one shared buffer, so values need no per-record
// allocation. Random contents keep kgo's default snappy compression from shrinking batches to almost nothing
// (a repeated value would compress ~20x and the benchmark would measure little but the client).
type valuePool struct {
	buf  []byte
	size int
}

func newValuePool(size int, compressible bool) *valuePool {
	// 8 MiB: a value repeats only every ~80k records, far outside snappy's 64 KiB window.
	buf := make([]byte, 8<<20+size)
	if compressible {
		for i := range buf {
			buf[i] = byte('a' + i%26)
		}
	} else {
		r := rand.New(rand.NewPCG(1, 2))
		for i := range buf {
			buf[i] = byte(r.Uint32())
		}
	}
	return &valuePool{buf: buf, size: size}
}

func (p *valuePool) get(i int) []byte {
	if p.size == 0 {
		return nil
	}
	off := (i * p.size) % (len(p.buf) - p.size)
	return p.buf[off : off+p.size : off+p.size]
}

// wireStats counts the Produce or Fetch requests a client sends, the response bytes it reads and the summed
// round-trip time (write start to response fully read), to tell "more round trips" from "slower round trips"
// when comparing targets.
type wireStats struct {
	key       int16 // kmsg.Produce or kmsg.Fetch
	requests  atomic.Int64
	respBytes atomic.Int64
	e2eNanos  atomic.Int64
}

var _ kgo.HookBrokerE2E = (*wireStats)(nil)

func (w *wireStats) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e kgo.BrokerE2E) {
	if key != w.key || e.Err() != nil {
		return
	}
	w.requests.Add(1)
	w.respBytes.Add(int64(e.BytesRead))
	w.e2eNanos.Add(int64(e.DurationE2E()))
}

// meanRTT is the mean round trip per request.
func (w *wireStats) meanRTT() time.Duration {
	n := w.requests.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(w.e2eNanos.Load() / n)
}
