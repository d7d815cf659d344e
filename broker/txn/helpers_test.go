package txn

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"
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

// pendingTimers counts the timers not yet fired or stopped.
func (c *fakeClock) pendingTimers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

type memRecord struct {
	key, value []byte
	epoch      int32
}

// memStore is an in-memory __transaction_state: appendErr, if set, decides
// the error of each append (the record is not written on error);
// appendGate, if set, holds every append until it receives; loadGate holds
// every load.
type memStore struct {
	mu         sync.Mutex
	records    map[int32][]memRecord
	appendErr  func(key, value []byte) error
	appendGate chan struct{}
	loadGate   chan struct{}
	loadErr    error
	appends    int
}

func newMemStore() *memStore { return &memStore{records: map[int32][]memRecord{}} }

func (s *memStore) Append(ctx context.Context, partition, coordinatorEpoch int32, key, value []byte, timeout time.Duration) error {
	if timeout <= 0 {
		return errors.New("no append timeout")
	}
	s.mu.Lock()
	gate := s.appendGate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	if s.appendErr != nil {
		if err := s.appendErr(key, value); err != nil {
			return err
		}
	}
	s.records[partition] = append(s.records[partition], memRecord{key: key, value: value, epoch: coordinatorEpoch})
	return nil
}

func (s *memStore) Load(ctx context.Context, partition int32, fn func(key, value []byte) error) error {
	s.mu.Lock()
	gate := s.loadGate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	recs := append([]memRecord(nil), s.records[partition]...)
	lerr := s.loadErr
	s.mu.Unlock()
	for _, r := range recs {
		if err := fn(r.key, r.value); err != nil {
			return err
		}
	}
	return lerr
}

func (s *memStore) setAppendErr(f func(key, value []byte) error) {
	s.mu.Lock()
	s.appendErr = f
	s.mu.Unlock()
}

func (s *memStore) put(partition int32, key, value []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[partition] = append(s.records[partition], memRecord{key: key, value: value})
}

// values decodes the partition's records for id (nil entries are tombstones).
func (s *memStore) values(t *testing.T, partition int32, id string) []*TxnLogValue {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*TxnLogValue
	for _, r := range s.records[partition] {
		k, err := DecodeKey(r.key)
		if err != nil || k != id {
			continue
		}
		if r.value == nil {
			out = append(out, nil)
			continue
		}
		v, err := DecodeValue(r.value)
		if err != nil {
			t.Fatalf("stored value of %s: %v", id, err)
		}
		out = append(out, &v)
	}
	return out
}

func (s *memStore) count(partition int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records[partition])
}

// fakeMarkers records marker requests; with auto set it completes them at
// once, else the test calls complete.
type fakeMarkers struct {
	mu      sync.Mutex
	auto    bool
	sent    []MarkerRequest
	pending map[string]func()
	removed []int32
}

func newFakeMarkers(auto bool) *fakeMarkers {
	return &fakeMarkers{auto: auto, pending: map[string]func(){}}
}

func (f *fakeMarkers) Send(m MarkerRequest, done func()) {
	f.mu.Lock()
	f.sent = append(f.sent, m)
	auto := f.auto
	if !auto {
		f.pending[m.TransactionalID] = done
	}
	f.mu.Unlock()
	if auto {
		done()
	}
}

func (f *fakeMarkers) RemoveForTxnTopicPartition(partition int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, partition)
	for id := range f.pending {
		if PartitionFor(id, 1) == partition || true {
			delete(f.pending, id)
		}
	}
}

// complete calls the done function of id's queued markers.
func (f *fakeMarkers) complete(t *testing.T, id string) {
	t.Helper()
	f.mu.Lock()
	done := f.pending[id]
	delete(f.pending, id)
	f.mu.Unlock()
	if done == nil {
		t.Fatalf("no markers queued for %s", id)
	}
	done()
}

func (f *fakeMarkers) requests() []MarkerRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]MarkerRequest(nil), f.sent...)
}

func (f *fakeMarkers) queued(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending[id] != nil
}

// pidSource hands out producer ids 1000, 1001, ...
type pidSource struct {
	mu   sync.Mutex
	next int64
	err  error
}

func (p *pidSource) source(ctx context.Context) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return 0, p.err
	}
	if p.next == 0 {
		p.next = 1000
	}
	p.next++
	return p.next - 1, nil
}

type env struct {
	c       *Coordinator
	store   *memStore
	markers *fakeMarkers
	clock   *fakeClock
	pids    *pidSource
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.NumPartitions = 1
	cfg.AbortTimedOutInterval = 0 // tests call the tasks
	cfg.RemoveExpiredInterval = 0
	return cfg
}

// newEnv starts a coordinator of a one-partition __transaction_state that
// owns partition 0 at coordinator epoch 1; markers complete at once unless
// manualMarkers.
func newEnv(t *testing.T, manualMarkers bool) *env {
	t.Helper()
	return newEnvWith(t, testConfig(), newMemStore(), manualMarkers)
}

func newEnvWith(t *testing.T, cfg Config, store *memStore, manualMarkers bool) *env {
	t.Helper()
	e := &env{store: store, markers: newFakeMarkers(!manualMarkers), clock: newFakeClock(), pids: &pidSource{}}
	e.c = NewCoordinator(cfg, store, e.markers, e.pids.source, e.clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.c.Start(cfg.NumPartitions)
	t.Cleanup(e.c.Close)
	e.c.Elected(0, 1)
	waitLoaded(t, e.c, 0)
	return e
}

func waitLoaded(t *testing.T, c *Coordinator, p int32) {
	t.Helper()
	waitFor(t, "partition loaded", func() bool {
		c.stateMu.RLock()
		defer c.stateMu.RUnlock()
		_, loading := c.loading[p]
		return !loading && c.caches[p] != nil
	})
}

// waitFor polls cond (the asynchronous marker completion and loads run
// on their own goroutines), failing after a bound.
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

// meta returns a copy of id's metadata fields.
func (e *env) meta(t *testing.T, id string) (*txnMetadata, bool) {
	t.Helper()
	_, m, err := e.c.lookup(id, nil)
	if err != nil {
		t.Fatalf("lookup %s: %v", id, err)
	}
	if m == nil {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := &txnMetadata{
		id: m.id, producerID: m.producerID, lastProducerID: m.lastProducerID, producerEpoch: m.producerEpoch,
		lastProducerEpoch: m.lastProducerEpoch, timeoutMs: m.timeoutMs, state: m.state,
		partitions: map[TopicPartition]struct{}{}, startTimestamp: m.startTimestamp,
		lastUpdateTimestamp: m.lastUpdateTimestamp, pending: m.pending, hasPending: m.hasPending,
		hasFailedEpochFence: m.hasFailedEpochFence,
	}
	for tp := range m.partitions {
		cp.partitions[tp] = struct{}{}
	}
	return cp, true
}

// seed installs id's metadata directly in partition 0's cache.
func (e *env) seed(t *testing.T, m *txnMetadata) *txnMetadata {
	t.Helper()
	if m.partitions == nil {
		m.partitions = map[TopicPartition]struct{}{}
	}
	e.c.stateMu.RLock()
	pc := e.c.caches[e.c.PartitionFor(m.id)]
	e.c.stateMu.RUnlock()
	pc.mu.Lock()
	pc.ids[m.id] = m
	pc.mu.Unlock()
	return m
}

// waitState waits until id reaches state with no pending transition.
func (e *env) waitState(t *testing.T, id string, s State) {
	t.Helper()
	waitFor(t, id+" in "+s.String(), func() bool {
		m, ok := e.meta(t, id)
		return ok && m.state == s && !m.hasPending
	})
}

func tps(s ...any) []TopicPartition {
	var out []TopicPartition
	for i := 0; i < len(s); i += 2 {
		out = append(out, TopicPartition{Topic: s[i].(string), Partition: int32(s[i+1].(int))})
	}
	return out
}
