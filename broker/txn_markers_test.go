package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
)

// markerCluster is the fake side of txnMarkerSender tests: partition
// leaders, and brokers answering WriteTxnMarkers with answer.
type markerCluster struct {
	mu      sync.Mutex
	leaders map[txn.TopicPartition]int32 // -1: unknown; absent: deleted
	// answer gives the error code of one partition's marker at broker id,
	// or an error for the whole request (a disconnection).
	answer func(id int32, pid int64, tp txn.TopicPartition) (int16, error)
	sent   []sentMarkers
	hold   chan struct{} // if set, each broker's first request waits for it
	dialed map[int32]int
	v0Only bool // the brokers serve WriteTxnMarkers v0 only
	// failEvery > 0 fails every failEvery-th WriteTxnMarkers request as a
	// disconnection would.
	failEvery int64
	requestN  atomic.Int64
}

// sentMarkers is one WriteTxnMarkers request as a broker received it.
type sentMarkers struct {
	broker  int32
	version int16
	markers map[int64][]txn.TopicPartition
}

func newMarkerCluster() *markerCluster {
	return &markerCluster{leaders: map[txn.TopicPartition]int32{}, dialed: map[int32]int{},
		answer: func(int32, int64, txn.TopicPartition) (int16, error) { return 0, nil }}
}

func (c *markerCluster) setLeader(tp txn.TopicPartition, id int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.leaders[tp] = id
}

func (c *markerCluster) route(tp txn.TopicPartition) (int32, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.leaders[tp]
	if !ok {
		return -1, "", false
	}
	if id < 0 {
		return -1, "", true
	}
	return id, fmt.Sprintf("127.0.0.1:%d", id), true
}

func (c *markerCluster) requests() []sentMarkers {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

type fakeMarkerClient struct {
	c     *markerCluster
	id    int32
	first atomic.Bool
}

func (f *fakeMarkerClient) Close() error { return nil }

func (f *fakeMarkerClient) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c := f.c
	if c.hold != nil && !f.first.Swap(true) {
		select {
		case <-c.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch r := req.(type) {
	case *kmsg.ApiVersionsRequest:
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MaxVersion = int16(kmsg.WriteTxnMarkers), 1
		if c.v0Only {
			k.MaxVersion = 0
		}
		resp.ApiKeys = append(resp.ApiKeys, k)
		return resp, nil
	case *kmsg.WriteTxnMarkersRequest:
		resp := r.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
		got := sentMarkers{broker: f.id, version: r.Version, markers: map[int64][]txn.TopicPartition{}}
		var failed error
		for _, m := range r.Markers {
			rm := kmsg.NewWriteTxnMarkersResponseMarker()
			rm.ProducerID = m.ProducerID
			for _, t := range m.Topics {
				rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					tp := txn.TopicPartition{Topic: t.Topic, Partition: p}
					got.markers[m.ProducerID] = append(got.markers[m.ProducerID], tp)
					code, err := c.answer(f.id, m.ProducerID, tp)
					if err != nil {
						failed = err
					}
					rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
					rp.Partition, rp.ErrorCode = p, code
					rt.Partitions = append(rt.Partitions, rp)
				}
				rm.Topics = append(rm.Topics, rt)
			}
			resp.Markers = append(resp.Markers, rm)
		}
		c.mu.Lock()
		c.sent = append(c.sent, got)
		c.mu.Unlock()
		if n := c.requestN.Add(1); c.failEvery > 0 && n%c.failEvery == 0 {
			return nil, errors.New("connection reset")
		}
		if failed != nil {
			return nil, failed
		}
		return resp, nil
	}
	return nil, errors.New("unexpected request")
}

func newTestMarkerSender(t *testing.T, c *markerCluster) *txnMarkerSender {
	m := newMarkerSender(slog.New(slog.DiscardHandler), time.Millisecond, 5*time.Second, c.route,
		func(id int32, _ string) markerClient {
			c.mu.Lock()
			c.dialed[id]++
			c.mu.Unlock()
			return &fakeMarkerClient{c: c, id: id}
		})
	t.Cleanup(m.Close)
	return m
}

// waitFor polls cond (bounded) and fails with what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (m *txnMarkerSender) isPending(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.pending[id]
	return ok
}

var (
	tpA0 = txn.TopicPartition{Topic: "a", Partition: 0}
	tpA1 = txn.TopicPartition{Topic: "a", Partition: 1}
	tpB0 = txn.TopicPartition{Topic: "b", Partition: 0}
)

func markerReq(id string, pid int64, txnPartition int32, parts ...txn.TopicPartition) txn.MarkerRequest {
	return txn.MarkerRequest{TransactionalID: id, ProducerID: pid, ProducerEpoch: 3, CoordinatorEpoch: 7, Commit: true,
		TxnPartition: txnPartition, Partitions: parts}
}

// TestMarkerSenderBatchesPerBroker: TransactionMarkerChannelManager sends
// one WriteTxnMarkers v1 per destination broker with every marker queued
// for it; each transaction completes once all its partitions answered.
func TestMarkerSenderBatchesPerBroker(t *testing.T) {
	c := newMarkerCluster()
	c.setLeader(tpA0, 1)
	c.setLeader(tpA1, 2)
	c.setLeader(tpB0, 1)
	c.hold = make(chan struct{})
	m := newTestMarkerSender(t, c)
	var doneX, doneY atomic.Bool
	m.Send(markerReq("x", 10, 0, tpA0, tpA1), func() { doneX.Store(true) })
	m.Send(markerReq("y", 11, 0, tpB0), func() { doneY.Store(true) })
	close(c.hold)
	waitFor(t, "both transactions done", func() bool { return doneX.Load() && doneY.Load() })
	var toBroker1 []sentMarkers
	for _, r := range c.requests() {
		if r.version != 1 {
			t.Errorf("WriteTxnMarkers v%d, want v1", r.version)
		}
		if r.broker == 1 {
			toBroker1 = append(toBroker1, r)
		}
	}
	if len(toBroker1) != 1 || len(toBroker1[0].markers) != 2 ||
		!slices.Equal(toBroker1[0].markers[10], []txn.TopicPartition{tpA0}) || !slices.Equal(toBroker1[0].markers[11], []txn.TopicPartition{tpB0}) {
		t.Fatalf("broker 1 got %+v, want one request with both markers", toBroker1)
	}
	if m.isPending("x") || m.isPending("y") {
		t.Fatal("completed transactions still pending")
	}
}

// TestMarkerSenderResponseErrors is TransactionMarkerRequestCompletionHandler's
// table: retriable errors resend that partition only, fencing errors drop
// the transaction without completing it, a message format without markers
// counts as written.
func TestMarkerSenderResponseErrors(t *testing.T) {
	for _, tc := range []struct {
		code     int16
		wantDone bool
		retried  bool
	}{
		{code: 0, wantDone: true},
		{code: kerr.NotLeaderForPartition.Code, wantDone: true, retried: true},
		{code: kerr.UnknownTopicOrPartition.Code, wantDone: true, retried: true},
		{code: kerr.NotEnoughReplicas.Code, wantDone: true, retried: true},
		{code: kerr.NotEnoughReplicasAfterAppend.Code, wantDone: true, retried: true},
		{code: kerr.RequestTimedOut.Code, wantDone: true, retried: true},
		{code: kerr.KafkaStorageError.Code, wantDone: true, retried: true},
		{code: kerr.UnsupportedForMessageFormat.Code, wantDone: true},
		{code: kerr.UnsupportedVersion.Code, wantDone: true},
		{code: kerr.InvalidProducerEpoch.Code},
		{code: kerr.TransactionCoordinatorFenced.Code},
		{code: kerr.CorruptMessage.Code}, // Kafka: IllegalStateException
	} {
		name := "NONE"
		if err := kerr.ErrorForCode(tc.code); err != nil {
			name = err.Error()
		}
		t.Run(name, func(t *testing.T) {
			c := newMarkerCluster()
			c.setLeader(tpA0, 1)
			c.setLeader(tpA1, 1)
			var calls atomic.Int32
			c.answer = func(_ int32, _ int64, tp txn.TopicPartition) (int16, error) {
				if tp == tpA1 && calls.Add(1) == 1 {
					return tc.code, nil // the first answer for a-1 only
				}
				return 0, nil
			}
			m := newTestMarkerSender(t, c)
			var done atomic.Bool
			m.Send(markerReq("x", 10, 0, tpA0, tpA1), func() { done.Store(true) })
			waitFor(t, "the transaction to leave the pending set", func() bool { return !m.isPending("x") })
			if done.Load() != tc.wantDone {
				t.Fatalf("done %v, want %v", done.Load(), tc.wantDone)
			}
			reqs := c.requests()
			if tc.retried {
				if len(reqs) != 2 || !slices.Equal(reqs[1].markers[10], []txn.TopicPartition{tpA1}) {
					t.Fatalf("requests %+v, want the retry of a-1 alone", reqs)
				}
			} else if len(reqs) != 1 {
				t.Fatalf("requests %+v, want one", reqs)
			}
		})
	}
}

// TestMarkerSenderLeaderChanges: a partition with an unknown leader waits
// until one is known; NOT_LEADER_OR_FOLLOWER and a disconnection resend to
// the leader known then; a deleted partition is skipped
// (addTxnMarkersToBrokerQueue, TransactionMarkerRequestCompletionHandler).
func TestMarkerSenderLeaderChanges(t *testing.T) {
	t.Run("unknown leader appears", func(t *testing.T) {
		c := newMarkerCluster()
		c.setLeader(tpA0, -1)
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0, tpA0), func() { done.Store(true) })
		waitFor(t, "a few unknown-queue rounds", func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return len(m.unknown) == 1
		})
		if done.Load() || len(c.requests()) != 0 {
			t.Fatal("sent without a leader")
		}
		c.setLeader(tpA0, 2)
		waitFor(t, "done", done.Load)
		if r := c.requests(); len(r) != 1 || r[0].broker != 2 {
			t.Fatalf("requests %+v, want one to broker 2", r)
		}
	})
	t.Run("leader moves", func(t *testing.T) {
		c := newMarkerCluster()
		c.setLeader(tpA0, 1)
		c.answer = func(id int32, _ int64, _ txn.TopicPartition) (int16, error) {
			if id == 1 {
				c.mu.Lock()
				c.leaders[tpA0] = 3 // the controller moved it meanwhile
				c.mu.Unlock()
				return kerr.NotLeaderForPartition.Code, nil
			}
			return 0, nil
		}
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0, tpA0), func() { done.Store(true) })
		waitFor(t, "done", done.Load)
		if r := c.requests(); len(r) != 2 || r[0].broker != 1 || r[1].broker != 3 {
			t.Fatalf("requests %+v, want broker 1 then 3", r)
		}
	})
	t.Run("disconnection", func(t *testing.T) {
		c := newMarkerCluster()
		c.setLeader(tpA0, 1)
		var calls atomic.Int32
		c.answer = func(int32, int64, txn.TopicPartition) (int16, error) {
			if calls.Add(1) == 1 {
				return 0, errors.New("connection reset")
			}
			return 0, nil
		}
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0, tpA0), func() { done.Store(true) })
		waitFor(t, "done", done.Load)
		if r := c.requests(); len(r) != 2 {
			t.Fatalf("requests %+v, want the first resent", r)
		}
	})
	t.Run("deleted partition", func(t *testing.T) {
		c := newMarkerCluster()
		c.setLeader(tpA0, 1) // a-1 is not in the metadata: deleted
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0, tpA0, tpA1), func() { done.Store(true) })
		waitFor(t, "done", done.Load)
		if r := c.requests(); len(r) != 1 || !slices.Equal(r[0].markers[10], []txn.TopicPartition{tpA0}) {
			t.Fatalf("requests %+v, want a-0's marker only", r)
		}
	})
	t.Run("broker with v0 only", func(t *testing.T) {
		c := newMarkerCluster()
		c.setLeader(tpA0, 1)
		c.v0Only = true
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0, tpA0), func() { done.Store(true) })
		waitFor(t, "done", done.Load)
		if r := c.requests(); len(r) != 1 || r[0].version != 0 {
			t.Fatalf("requests %+v, want one WriteTxnMarkers v0", r)
		}
	})
	t.Run("nothing to send", func(t *testing.T) {
		c := newMarkerCluster()
		m := newTestMarkerSender(t, c)
		var done atomic.Bool
		m.Send(markerReq("x", 10, 0), func() { done.Store(true) })
		waitFor(t, "done", done.Load)
	})
}

// TestMarkerSenderResignation: RemoveForTxnTopicPartition drops the
// queued markers of the resigned __transaction_state partition only; a
// newer Send for the same id replaces the older one.
func TestMarkerSenderResignation(t *testing.T) {
	c := newMarkerCluster()
	c.setLeader(tpA0, -1)
	c.setLeader(tpB0, -1)
	m := newTestMarkerSender(t, c)
	var doneX, doneY atomic.Bool
	m.Send(markerReq("x", 10, 4, tpA0), func() { doneX.Store(true) })
	m.Send(markerReq("y", 11, 5, tpB0), func() { doneY.Store(true) })
	m.RemoveForTxnTopicPartition(4)
	if m.isPending("x") || !m.isPending("y") {
		t.Fatal("resignation of partition 4 must drop x only")
	}
	c.setLeader(tpA0, 1)
	c.setLeader(tpB0, 1)
	waitFor(t, "y done", doneY.Load)
	for _, r := range c.requests() {
		if _, ok := r.markers[10]; ok {
			t.Fatalf("marker of resigned x sent: %+v", r)
		}
	}
	if doneX.Load() {
		t.Fatal("resigned transaction completed")
	}

	// A second Send for y replaces the first: only the second completes.
	c.setLeader(tpB0, -1)
	var first, second atomic.Bool
	m.Send(markerReq("y", 11, 5, tpB0), func() { first.Store(true) })
	m.Send(markerReq("y", 11, 5, tpA0), func() { second.Store(true) })
	waitFor(t, "second done", second.Load)
	if first.Load() {
		t.Fatal("replaced markers completed")
	}
}

// TestMarkerSenderConcurrent: many transactions over three brokers with
// retriable errors, disconnections and leader moves sprinkled in; every
// transaction completes exactly once (run with -race).
func TestMarkerSenderConcurrent(t *testing.T) {
	c := newMarkerCluster()
	var parts []txn.TopicPartition
	for p := range int32(6) {
		tp := txn.TopicPartition{Topic: "c", Partition: p}
		parts = append(parts, tp)
		c.setLeader(tp, p%3)
	}
	var calls atomic.Int64
	c.answer = func(id int32, _ int64, tp txn.TopicPartition) (int16, error) {
		switch calls.Add(1) % 7 {
		case 1:
			return kerr.NotLeaderForPartition.Code, nil
		case 3:
			c.mu.Lock()
			c.leaders[tp] = (id + 1) % 3
			c.mu.Unlock()
			return kerr.NotLeaderForPartition.Code, nil
		case 5:
			return kerr.RequestTimedOut.Code, nil
		}
		return 0, nil
	}
	c.failEvery = 4
	m := newTestMarkerSender(t, c)
	const n = 50
	var done [n]atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Send(markerReq(fmt.Sprintf("txn-%d", i), int64(100+i), int32(i%4), parts[i%6], parts[(i+1)%6], parts[(i+3)%6]),
				func() { done[i].Add(1) })
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < n; {
		if done[i].Load() > 0 {
			i++
			continue
		}
		if time.Now().After(deadline) {
			m.mu.Lock()
			var state []string
			for id, pt := range m.pending {
				state = append(state, fmt.Sprintf("%s remaining %v", id, pt.remaining))
			}
			for id, d := range m.dests {
				state = append(state, fmt.Sprintf("dest %d queue %d", id, len(d.queue)))
			}
			state = append(state, fmt.Sprintf("unknown %d", len(m.unknown)))
			m.mu.Unlock()
			t.Fatalf("txn-%d not done: %v", i, state)
		}
		time.Sleep(time.Millisecond)
	}
	for i := range n {
		if d := done[i].Load(); d != 1 {
			t.Fatalf("txn-%d completed %d times", i, d)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pending) != 0 {
		t.Fatalf("%d transactions still pending", len(m.pending))
	}
}
