package group

import (
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeClock is a manual clock: timers fire, in order, when Advance
// passes them, on the goroutine calling Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Advance moves time forward by d, firing every timer due on the way.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		sort.SliceStable(c.timers, func(i, j int) bool { return c.timers[i].at.Before(c.timers[j].at) })
		var next *fakeTimer
		for i, t := range c.timers {
			if t.stopped {
				continue
			}
			if !t.at.After(target) {
				next = t
				c.timers = append(c.timers[:i:i], c.timers[i+1:]...)
			}
			break
		}
		if next == nil {
			break
		}
		next.stopped = true
		if next.at.After(c.now) {
			c.now = next.at
		}
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// memStore is an in-memory __consumer_offsets.
type memStore struct {
	mu           sync.Mutex
	batches      map[int32][]Batch
	next         map[int32]int64
	appendErr    error         // returned by Append
	txnAppendErr error         // returned by AppendTransactional
	guards       []uint64      // verification guards of the transactional appends
	waitErr      error         // returned by the wait function (REQUEST_TIMED_OUT waits for the deadline first)
	loadGate     chan struct{} // if set, Load waits for it
}

func newMemStore() *memStore {
	return &memStore{batches: map[int32][]Batch{}, next: map[int32]int64{}}
}

func (s *memStore) Append(partition int32, records []Record, wait bool) (int64, func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appendErr != nil {
		return 0, nil, s.appendErr
	}
	base := s.next[partition]
	s.batches[partition] = append(s.batches[partition], Batch{BaseOffset: base, ProducerID: -1, Records: records})
	s.next[partition] = base + int64(len(records))
	werr := s.waitErr
	return base, func(ctx context.Context) error {
		if werr == kerr.RequestTimedOut {
			<-ctx.Done()
		}
		return werr
	}, nil
}

// AppendTransactional appends a transactional batch of the producer.
// txnAppendErr, if set, fails it (as the log's producer checks would).
func (s *memStore) AppendTransactional(partition int32, producer TxnProducer, records []Record) (int64, func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appendErr != nil {
		return 0, nil, s.appendErr
	}
	if s.txnAppendErr != nil {
		return 0, nil, s.txnAppendErr
	}
	base := s.next[partition]
	s.batches[partition] = append(s.batches[partition], Batch{BaseOffset: base, ProducerID: producer.ID, Transactional: true, Records: records})
	s.next[partition] = base + int64(len(records))
	s.guards = append(s.guards, producer.VerificationGuard)
	werr := s.waitErr
	return base, func(ctx context.Context) error {
		if werr == kerr.RequestTimedOut {
			<-ctx.Done()
		}
		return werr
	}, nil
}

// appendMarker appends a COMMIT or ABORT control batch of the producer,
// as the partition leader does for WriteTxnMarkers.
func (s *memStore) appendMarker(partition int32, producerID int64, commit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	typ := byte(0)
	if commit {
		typ = 1
	}
	base := s.next[partition]
	s.batches[partition] = append(s.batches[partition], Batch{BaseOffset: base, ProducerID: producerID, Transactional: true, Control: true,
		Records: []Record{{Key: []byte{0, 0, 0, typ}, Value: []byte{0, 0, 0, 0, 0, 0}}}})
	s.next[partition] = base + 1
}

// logEnd is the partition's next offset (its LEO).
func (s *memStore) logEnd(partition int32) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next[partition]
}

func (s *memStore) Load(ctx context.Context, partition int32, fn func(Batch) error) error {
	if s.loadGate != nil {
		select {
		case <-s.loadGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	batches := append([]Batch(nil), s.batches[partition]...)
	s.mu.Unlock()
	for _, b := range batches {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// records lists every record of the partition.
func (s *memStore) records(partition int32) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, b := range s.batches[partition] {
		out = append(out, b.Records...)
	}
	return out
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.NumPartitions = 1
	cfg.RetentionCheck = 0 // tests call ExpireOffsets
	cfg.CommitTimeout = 200 * time.Millisecond
	return cfg
}

// newTestCoordinator starts a coordinator owning partition 0 of a
// one-partition __consumer_offsets.
func newTestCoordinator(t *testing.T, cfg Config, store *memStore, clock *fakeClock) *Coordinator {
	t.Helper()
	c := New(cfg, store, clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.Start(1)
	t.Cleanup(c.Close)
	c.Elected(0, 0)
	waitOwned(t, c, 0)
	return c
}

func waitOwned(t *testing.T, c *Coordinator, p int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.partMu.Lock()
		owned := c.owned[p]
		c.partMu.Unlock()
		if owned {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("partition %d not owned", p)
		}
		time.Sleep(time.Millisecond)
	}
}

// consumerMeta is a consumer protocol subscription to topics.
func consumerMeta(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func rangeProtocols(topics ...string) []Protocol {
	return []Protocol{{Name: "range", Metadata: consumerMeta(topics...)}}
}

func joinReq(groupID, memberID, clientID string, protocols []Protocol) JoinRequest {
	return JoinRequest{
		Group: groupID, MemberID: memberID, RequireKnownMemberID: true, ClientID: clientID, ClientHost: "/127.0.0.1",
		RebalanceTimeoutMs: 10000, SessionTimeoutMs: 10000, ProtocolType: "consumer", Protocols: protocols,
	}
}

func startJoin(c *Coordinator, req JoinRequest) chan JoinResult {
	ch := make(chan JoinResult, 1)
	c.handleJoin(req, ch)
	return ch
}

func startSync(c *Coordinator, req SyncRequest) chan SyncResult {
	ch := make(chan SyncResult, 1)
	c.handleSync(req, ch)
	return ch
}

// answered waits (briefly: answers that need a store append come from a
// goroutine) for a result.
func answered[T any](t *testing.T, ch chan T) T {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no answer")
	}
	var zero T
	return zero
}

// pending checks that a request is still parked.
func pending[T any](t *testing.T, ch chan T) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("unexpected answer %+v", r)
	case <-time.After(20 * time.Millisecond):
	}
}

func wantErr(t *testing.T, what string, got, want *kerr.Error) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// joinNew joins a dynamic member through MEMBER_ID_REQUIRED and returns
// its id and the parked second join.
func joinNew(t *testing.T, c *Coordinator, groupID, clientID string, protocols []Protocol) (string, chan JoinResult) {
	t.Helper()
	r := answered(t, startJoin(c, joinReq(groupID, "", clientID, protocols)))
	wantErr(t, "first join", r.Err, kerr.MemberIDRequired)
	if r.MemberID == "" {
		t.Fatal("no member id handed out")
	}
	return r.MemberID, startJoin(c, joinReq(groupID, r.MemberID, clientID, protocols))
}

func stateOf(c *Coordinator, groupID string) string {
	g := c.getGroup(groupID)
	if g == nil {
		return "none"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state.String()
}
