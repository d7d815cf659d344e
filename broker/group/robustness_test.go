package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Regression tests of the review of the coordinator: races between offset
// expiry and partition reloads, failed loads, concurrent static rejoins,
// failed generations, transactional leftovers and group id rules.

// drain waits until the coordinator's worker ran every task queued so far
// (loads and unloads run there in order).
func drain(t *testing.T, c *Coordinator) {
	t.Helper()
	done := make(chan struct{})
	c.schedule(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("coordinator worker stuck")
	}
}

// startCoordinator is newTestCoordinator over any store.
func startCoordinator(t *testing.T, cfg Config, store Store, clock *fakeClock) *Coordinator {
	t.Helper()
	c := New(cfg, store, clock, slog.New(slog.DiscardHandler))
	c.Start(1)
	t.Cleanup(c.Close)
	c.Elected(0, 0)
	waitOwned(t, c, 0)
	return c
}

func simpleCommit(t *testing.T, c *Coordinator, groupID string, tp TopicPartition, offset int64) {
	t.Helper()
	res := c.CommitOffsets(context.Background(), CommitRequest{Group: groupID, Generation: -1, RetentionMs: -1,
		Offsets: []CommitOffset{{TopicPartition: tp, Offset: offset, LeaderEpoch: -1, CommitTimestamp: -1}}})
	if res[0].Err != nil {
		t.Fatalf("commit %s: %v", groupID, res[0].Err)
	}
}

func fetchedOffset(t *testing.T, c *Coordinator, groupID string, tp TopicPartition) int64 {
	t.Helper()
	err, f := c.FetchOffsets(groupID, false, []TopicPartition{tp})
	if err != nil {
		t.Fatalf("fetch %s: %v", groupID, err)
	}
	return f[0].Offset
}

// groupsOn returns two group ids, the first on partition 0 and the second
// on partition 1 of a two-partition topic, in that (sorted) order.
func groupsOn() (string, string) {
	var a, b string
	for i := 0; a == "" || b == ""; i++ {
		id := fmt.Sprintf("g%03d", i)
		switch PartitionFor(id, 2) {
		case 0:
			if a == "" && b == "" {
				a = id
			}
		case 1:
			if a != "" && b == "" {
				b = id
			}
		}
	}
	return a, b
}

// holdingStore blocks the first tombstone append (waitReplication false)
// after it is armed until released.
type holdingStore struct {
	*memStore
	mu      sync.Mutex
	armed   bool
	blocked chan struct{}
	release chan struct{}
}

func (s *holdingStore) Append(p int32, recs []Record, wait bool) (int64, func(context.Context) error, error) {
	s.mu.Lock()
	hit := s.armed && !wait
	if hit {
		s.armed = false
	}
	s.mu.Unlock()
	if hit {
		close(s.blocked)
		<-s.release
	}
	return s.memStore.Append(p, recs, wait)
}

// An expiry pass works on a snapshot of the groups. A group unloaded with
// its partition and loaded again meanwhile is another group value: the
// pass must not write tombstones for the old one after a newer commit was
// acknowledged to the new one.
func TestExpirySkipsGroupsReloadedMeanwhile(t *testing.T) {
	clock := newFakeClock()
	store := &holdingStore{memStore: newMemStore(), blocked: make(chan struct{}), release: make(chan struct{})}
	cfg := testConfig()
	cfg.NumPartitions = 2
	cfg.OffsetsRetention = time.Hour
	c := New(cfg, store, clock, slog.New(slog.DiscardHandler))
	c.Start(2)
	t.Cleanup(c.Close)
	c.Elected(0, 0)
	c.Elected(1, 0)
	waitOwned(t, c, 0)
	waitOwned(t, c, 1)
	a, b := groupsOn()
	tp := TopicPartition{"t", 0}
	simpleCommit(t, c, a, tp, 1)
	simpleCommit(t, c, b, tp, 5)
	clock.Advance(2 * time.Hour) // both expire

	store.mu.Lock()
	store.armed = true
	store.mu.Unlock()
	done := make(chan int, 1)
	go func() { done <- c.ExpireOffsets() }()
	<-store.blocked // writing a's tombstone; b is in the pass's snapshot
	c.Resigned(1, 1)
	c.Elected(1, 2)
	drain(t, c)
	waitOwned(t, c, 1)
	if got := fetchedOffset(t, c, b, tp); got != 5 {
		t.Fatalf("%s reloaded with offset %d, want 5", b, got)
	}
	simpleCommit(t, c, b, tp, 9) // acknowledged to the reloaded group
	close(store.release)
	if n := <-done; n != 1 {
		t.Fatalf("expiry removed %d offsets, want 1 (%s's only)", n, a)
	}
	if got := fetchedOffset(t, c, b, tp); got != 9 {
		t.Fatalf("cached offset of %s %d, want 9", b, got)
	}
	c.Resigned(1, 3)
	c.Elected(1, 4)
	drain(t, c)
	waitOwned(t, c, 1)
	if got := fetchedOffset(t, c, b, tp); got != 9 {
		t.Fatalf("acknowledged commit of %s lost after a reload: offset %d, want 9", b, got)
	}
}

// cleanupGroupMetadata skips groups of its snapshot that left the cache
// since: unloaded (and replaced by a reload) or deleted by DeleteGroups,
// which writes the tombstones itself.
func TestCleanupSkipsGroupsThatLeftTheCache(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	c := newTestCoordinator(t, testConfig(), store, clock)
	tp := TopicPartition{"t", 0}
	simpleCommit(t, c, "reloaded", tp, 1)
	simpleCommit(t, c, "deleted", tp, 2)
	snapshot := c.allGroups()
	all := func(g *group) []TopicPartition { return g.removeAllOffsets() }

	if out := c.DeleteGroups([]string{"deleted"}); out[0].Err != nil {
		t.Fatalf("delete: %+v", out)
	}
	c.Resigned(0, 1)
	c.Elected(0, 2)
	drain(t, c)
	waitOwned(t, c, 0)
	simpleCommit(t, c, "reloaded", tp, 3)
	before := len(store.records(0))
	if n := c.cleanupGroupMetadata(snapshot, all); n != 0 {
		t.Fatalf("cleanup of stale groups removed %d offsets", n)
	}
	if after := len(store.records(0)); after != before {
		t.Fatalf("cleanup of stale groups appended %d records", after-before)
	}
	c.Resigned(0, 3)
	c.Elected(0, 4)
	drain(t, c)
	waitOwned(t, c, 0)
	if got := fetchedOffset(t, c, "reloaded", tp); got != 3 {
		t.Fatalf("offset after reload %d, want 3", got)
	}
	if s := stateOf(c, "deleted"); s != "none" {
		t.Fatalf("deleted group is back after reload: %s", s)
	}
}

// flakyStore fails its loads with err while failures remain, counting them.
type flakyStore struct {
	*memStore
	mu       sync.Mutex
	failures int
	err      error
	loads    int
}

func (s *flakyStore) Load(ctx context.Context, p int32, fn func(Batch) error) error {
	s.mu.Lock()
	s.loads++
	fail := s.failures > 0
	if fail {
		s.failures--
	}
	err := s.err
	s.mu.Unlock()
	if fail {
		return err
	}
	return s.memStore.Load(ctx, p, fn)
}

func (s *flakyStore) set(failures int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures, s.err, s.loads = failures, err, 0
}

func (s *flakyStore) loadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// advanceUntil moves the fake clock on, a backoff at a time, until cond
// holds (retries are scheduled from the coordinator's worker).
func advanceUntil(t *testing.T, clock *fakeClock, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		clock.Advance(loadRetryMax)
		time.Sleep(time.Millisecond)
	}
}

func coordinatorStatus(c *Coordinator, groupID string) *kerr.Error {
	err, _ := c.FetchOffsets(groupID, false, nil)
	return err
}

// A load that fails for another reason than a lost leadership keeps the
// partition loading (COORDINATOR_LOAD_IN_PROGRESS, never an empty cache
// that makes consumers reset) and is retried until it succeeds, the
// partition is unloaded, or the leadership is lost.
func TestFailedLoadIsRetried(t *testing.T) {
	tp := TopicPartition{"t", 0}
	badValue := Batch{Records: []Record{{Key: offsetCommitKey("g", TopicPartition{"u", 0}), Value: []byte{0, 9, 1, 2}}}}
	for _, tc := range []struct {
		name     string
		failures int
		err      error
		badBatch bool // an unknown value version in the log instead of err
	}{
		{name: "read error", failures: 1 << 30, err: errors.New("disk read failed")},
		{name: "unknown value version", badBatch: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			store := &flakyStore{memStore: newMemStore()}
			c := startCoordinator(t, testConfig(), store, clock)
			simpleCommit(t, c, "g", tp, 42)
			c.Resigned(0, 1)
			drain(t, c)
			store.set(tc.failures, tc.err)
			if tc.badBatch {
				store.memStore.mu.Lock()
				store.memStore.batches[0] = append(store.memStore.batches[0], badValue)
				store.memStore.mu.Unlock()
			}
			c.Elected(0, 2)
			drain(t, c)
			wantErr(t, "after a failed load", coordinatorStatus(c, "g"), kerr.CoordinatorLoadInProgress)
			advanceUntil(t, clock, "two more attempts", func() bool { return store.loadCount() >= 3 })
			wantErr(t, "while retrying", coordinatorStatus(c, "g"), kerr.CoordinatorLoadInProgress)
			// The cause goes away.
			if tc.badBatch {
				store.memStore.mu.Lock()
				store.memStore.batches[0] = store.memStore.batches[0][:len(store.memStore.batches[0])-1]
				store.memStore.mu.Unlock()
			}
			store.mu.Lock()
			store.failures = 0
			store.mu.Unlock()
			advanceUntil(t, clock, "the load", func() bool { return coordinatorStatus(c, "g") == nil })
			if got := fetchedOffset(t, c, "g", tp); got != 42 {
				t.Fatalf("offset after the retried load %d, want 42", got)
			}
		})
	}
}

func TestFailedLoadStopsOnUnloadAndLostLeadership(t *testing.T) {
	tp := TopicPartition{"t", 0}
	clock := newFakeClock()
	store := &flakyStore{memStore: newMemStore()}
	c := startCoordinator(t, testConfig(), store, clock)
	simpleCommit(t, c, "g", tp, 7)

	// Unloaded while retrying: no more attempts.
	c.Resigned(0, 1)
	drain(t, c)
	store.set(1000, errors.New("disk read failed"))
	c.Elected(0, 2)
	advanceUntil(t, clock, "a retry", func() bool { return store.loadCount() >= 2 })
	c.Resigned(0, 3)
	drain(t, c)
	wantErr(t, "after the resignation", coordinatorStatus(c, "g"), kerr.NotCoordinator)
	n := store.loadCount()
	for range 5 {
		clock.Advance(loadRetryMax)
		drain(t, c)
	}
	if got := store.loadCount(); got != n {
		t.Fatalf("%d load attempts after the partition was unloaded", got-n)
	}

	// Leadership lost during the load: the load ends without owning the
	// partition (NOT_COORDINATOR, no empty cache); a new election loads it.
	store.set(1, fmt.Errorf("loading: %w", ErrLeadershipLost))
	c.Elected(0, 4)
	drain(t, c)
	wantErr(t, "after leadership was lost", coordinatorStatus(c, "g"), kerr.NotCoordinator)
	clock.Advance(loadRetryMax)
	drain(t, c)
	if got := store.loadCount(); got != 1 {
		t.Fatalf("%d load attempts after a lost leadership, want 1", got)
	}
	c.Elected(0, 5)
	drain(t, c)
	if got := fetchedOffset(t, c, "g", tp); got != 7 {
		t.Fatalf("offset after loading again %d, want 7", got)
	}

	// Close stops a retrying load.
	c.Resigned(0, 6)
	drain(t, c)
	store.set(1000, errors.New("disk read failed"))
	c.Elected(0, 7)
	drain(t, c)
	c.Close()
	n = store.loadCount()
	clock.Advance(loadRetryMax)
	if got := store.loadCount(); got != n {
		t.Fatalf("load retried after Close")
	}
}

func TestLoadRetryBackoff(t *testing.T) {
	for _, tc := range []struct {
		failed int
		want   time.Duration
	}{
		{1, loadRetryMin}, {2, 2 * loadRetryMin}, {3, 4 * loadRetryMin}, {8, loadRetryMax}, {1000, loadRetryMax},
	} {
		if got := loadRetryBackoff(tc.failed); got != tc.want {
			t.Errorf("backoff after %d failures: %v, want %v", tc.failed, got, tc.want)
		}
	}
}

// gatedStore holds each acks=all append's replication wait, once gated,
// until the test releases it with a result.
type gatedStore struct {
	*memStore
	mu    sync.Mutex
	gated bool
	gates []chan error
}

func (s *gatedStore) Append(p int32, recs []Record, wait bool) (int64, func(context.Context) error, error) {
	base, w, err := s.memStore.Append(p, recs, wait)
	if err != nil {
		return base, w, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.gated || !wait {
		return base, w, nil
	}
	ch := make(chan error, 1)
	s.gates = append(s.gates, ch)
	return base, func(ctx context.Context) error {
		select {
		case e := <-ch:
			return e
		case <-ctx.Done():
			return kerr.RequestTimedOut
		}
	}, nil
}

func (s *gatedStore) waitGates(t *testing.T, n int) []chan error {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		gates := append([]chan error(nil), s.gates...)
		s.mu.Unlock()
		if len(gates) >= n {
			return gates
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d gated appends, want %d", len(gates), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A static member rejoins twice while the first rejoin's metadata is
// still being written: the first request is fenced by the second, and
// whatever the first write's outcome, it neither takes back nor answers
// the second request, which gets its own write's answer.
func TestStaticRejoinTwiceWhileStoring(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second error
	}{
		{"first write fails", kerr.NotEnoughReplicas, nil},
		{"first write succeeds", nil, nil},
		{"both fail", kerr.NotEnoughReplicas, kerr.NotEnoughReplicas},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			store := &gatedStore{memStore: newMemStore()}
			cfg := testConfig()
			cfg.CommitTimeout = 10 * time.Second
			c := startCoordinator(t, cfg, store, clock)
			iid := "inst"
			req := joinReq("g", "", "c", rangeProtocols("t"))
			req.InstanceID, req.RequireKnownMemberID = &iid, false
			j := startJoin(c, req)
			clock.Advance(cfg.InitialRebalanceDelay)
			r := answered(t, j)
			if r.Err != nil {
				t.Fatalf("join: %+v", r)
			}
			s := answered(t, startSync(c, SyncRequest{Group: "g", Generation: r.Generation, MemberID: r.MemberID, InstanceID: &iid,
				Assignments: map[string][]byte{r.MemberID: []byte("a")}}))
			if s.Err != nil || stateOf(c, "g") != "Stable" {
				t.Fatalf("sync: %+v, state %s", s, stateOf(c, "g"))
			}
			original := r.MemberID

			store.mu.Lock()
			store.gated = true
			store.mu.Unlock()
			j1 := startJoin(c, req)
			j2 := startJoin(c, req)
			wantErr(t, "first rejoin", answered(t, j1).Err, kerr.FencedInstanceID)
			gates := store.waitGates(t, 2)
			gates[0] <- tc.first
			pending(t, j2) // the first write's outcome is not the second's
			gates[1] <- tc.second
			r2 := answered(t, j2)
			g := c.getGroup("g")
			g.mu.Lock()
			current, _ := g.currentStaticMemberID(iid)
			members := len(g.members)
			g.mu.Unlock()
			if members != 1 {
				t.Fatalf("%d members, want 1", members)
			}
			if tc.second != nil {
				if r2.Err != kerr.NotEnoughReplicas && r2.Err != kerr.CoordinatorNotAvailable {
					t.Fatalf("second rejoin: %+v", r2)
				}
				return
			}
			if r2.Err != nil || r2.MemberID == "" || r2.MemberID == original {
				t.Fatalf("second rejoin: %+v", r2)
			}
			if current != r2.MemberID {
				t.Fatalf("instance maps to %s, want the second rejoin's %s", current, r2.MemberID)
			}
			wantErr(t, "heartbeat of the second id", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: r2.MemberID, InstanceID: &iid, Generation: r2.Generation}), nil)
		})
	}
}

// When the next generation cannot start (here: no protocol every member
// supports), the members waiting in JoinGroup get an error instead of
// waiting forever, and the group rebalances again when they rejoin.
func TestFailedNextGenerationAnswersMembers(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)
	m1, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	m2, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	// The members' protocols diverge behind the join checks.
	g := c.getGroup("g")
	g.mu.Lock()
	g.supportedProtocols["range"]--
	g.supportedProtocols["roundrobin"]++
	g.members[m2].protocols = []Protocol{{Name: "roundrobin", Metadata: consumerMeta("t")}}
	g.mu.Unlock()
	clock.Advance(10 * time.Second) // the initial delay, extended up to the rebalance timeout
	for i, j := range []chan JoinResult{j1, j2} {
		if r := answered(t, j); r.Err != kerr.UnknownServerError {
			t.Fatalf("member %d: %+v, want UNKNOWN_SERVER_ERROR", i+1, r)
		}
	}
	g.mu.Lock()
	generation, state, op := g.generation, g.state, g.joinOp
	g.mu.Unlock()
	if generation != 0 || state != statePreparingRebalance || op == nil {
		t.Fatalf("after the failure: generation %d, state %s, join op %v", generation, state, op)
	}
	// The members cannot agree (a rejoin must support a protocol every
	// member has): the new join phase ends at the rebalance timeout, which
	// removes them, and the group starts over.
	wantErr(t, "rejoin", answered(t, startJoin(c, joinReq("g", m1, "c1", rangeProtocols("t")))).Err, kerr.InconsistentGroupProtocol)
	clock.Advance(10 * time.Second)
	if s := stateOf(c, "g"); s != "Empty" {
		t.Fatalf("after the rebalance timeout: %s", s)
	}
	m3, j3 := joinNew(t, c, "g", "c3", rangeProtocols("t"))
	clock.Advance(cfg.InitialRebalanceDelay)
	if r := answered(t, j3); r.Err != nil || r.Generation != 2 || r.LeaderID != m3 {
		t.Fatalf("new member: %+v", r)
	}
}

func TestParseGroupValueRejectsDuplicateMembers(t *testing.T) {
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation = 3, "consumer", 2
	p := "range"
	v.Protocol, v.Leader = &p, kmsg.StringPtr("m")
	for range 2 {
		m := kmsg.NewGroupMetadataValueMember()
		m.MemberID, m.ClientID, m.SessionTimeoutMillis = "m", "c", 10000
		m.Subscription, m.Assignment = consumerMeta("t"), []byte{}
		v.Members = append(v.Members, m)
	}
	if _, err := parseGroupValue("g", v.AppendTo(nil)); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate member ids: %v", err)
	}
	v.Members[1].MemberID = "n"
	g, err := parseGroupValue("g", v.AppendTo(nil))
	if err != nil || len(g.members) != 2 || g.supportedProtocols["range"] != 2 {
		t.Fatalf("distinct members: %v", err)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// GroupCoordinator.isValidGroupId: OffsetDelete needs a group id, the
// offset APIs, DescribeGroups and DeleteGroups accept the empty one.
func TestEmptyGroupIDPerAPI(t *testing.T) {
	c := newTestCoordinator(t, testConfig(), newMemStore(), newFakeClock())
	if err, _ := c.DeleteOffsets("", []TopicPartition{{"t", 0}}); err != kerr.InvalidGroupID {
		t.Fatalf("OffsetDelete: %v", err)
	}
	if err := c.Heartbeat(HeartbeatRequest{}); err != kerr.InvalidGroupID {
		t.Fatalf("Heartbeat: %v", err)
	}
	if err, _ := c.LeaveGroup("", nil); err != kerr.InvalidGroupID {
		t.Fatalf("LeaveGroup: %v", err)
	}
	simpleCommit(t, c, "", TopicPartition{"t", 0}, 3)
	if got := fetchedOffset(t, c, "", TopicPartition{"t", 0}); got != 3 {
		t.Fatalf("OffsetFetch of the empty group: %d", got)
	}
	if err, _ := c.DescribeGroup(""); err != nil {
		t.Fatalf("DescribeGroups: %v", err)
	}
	if out := c.DeleteGroups([]string{""}); out[0].Err != nil {
		t.Fatalf("DeleteGroups: %v", out[0].Err)
	}
}

// FuzzParseRecords: no __consumer_offsets key or value, however damaged,
// panics the loader or a group built from it.
func FuzzParseRecords(f *testing.F) {
	v := kmsg.NewGroupMetadataValue()
	v.Version, v.ProtocolType, v.Generation = 3, "consumer", 4
	p := "range"
	v.Protocol, v.Leader = &p, &p
	for i := range 3 {
		m := kmsg.NewGroupMetadataValueMember()
		m.MemberID, m.ClientID, m.ClientHost, m.SessionTimeoutMillis = fmt.Sprintf("m%d", i), "c", "/h", 6000
		m.Subscription, m.Assignment = consumerMeta("t", "u"), []byte("a")
		v.Members = append(v.Members, m)
	}
	v4 := v
	v4.Version = 4
	o4 := kmsg.NewOffsetCommitValue()
	o4.Version, o4.Offset, o4.Metadata = 4, 1, "m"
	for _, seed := range [][]byte{
		v.AppendTo(nil),
		offsetCommitValue(offsetAndMetadata{Offset: 1, Metadata: "x", ExpireTimestamp: -1}),
		offsetCommitValue(offsetAndMetadata{Offset: 1, ExpireTimestamp: 5}),
		offsetCommitKey("g", TopicPartition{"t", 1}),
		groupMetadataKey("g"),
		{0, 9},
		{},
		// v4 values ending in a tag count of 2^31-16 (refused) and of
		// 2^32-16 (no field to Kafka's Java int).
		withTagCount(v4.AppendTo(nil), 0x07),
		withTagCount(v4.AppendTo(nil), 0x0f),
		withTagCount(o4.AppendTo(nil), 0x07),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Issue 15: a record read from disk costs what it weighs.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, _ = parseOffsetValue(b)
		_, _ = parseGroupValue("g", b)
		wall := time.Since(start)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; wall > 50*time.Millisecond || alloc > 64*uint64(len(b))+64<<10 {
			t.Fatalf("%d bytes took %v and %d bytes allocated to parse", len(b), wall, alloc)
		}
		_, _ = parseKey(b)
		_, _ = parseOffsetValue(b)
		subscriptionTopics(b)
		if g, err := parseGroupValue("g", b); err == nil {
			g.selectProtocol()
			g.currentMemberMetadata()
			if _, err := groupMetadataValue(g, map[string][]byte{}); err == nil && len(g.members) > 0 {
				t.Fatalf("encoded a group with members but no assignments")
			}
		}
	})
}

// withTagCount replaces a flexible value's last byte (its empty tag section)
// with a 5-byte tag count whose last byte is last.
func withTagCount(b []byte, last byte) []byte {
	return append(b[:len(b)-1:len(b)-1], 0xf0, 0xff, 0xff, 0xff, last)
}

// Many members join, sync, heartbeat, commit (transactionally too), fetch
// and leave, and transactions complete, while the partitions move away and
// back, offsets expire and groups are deleted: nothing deadlocks and no
// request stays parked.
func TestCoordinatorStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress")
	}
	cfg := testConfig()
	cfg.NumPartitions = 2
	cfg.InitialRebalanceDelay = 20 * time.Millisecond
	cfg.MinSessionTimeout = 10 * time.Millisecond
	cfg.CommitTimeout = 50 * time.Millisecond
	cfg.OffsetsRetention = 50 * time.Millisecond
	c := New(cfg, newMemStore(), SystemClock(), slog.New(slog.DiscardHandler))
	c.Start(2)
	t.Cleanup(c.Close)
	c.Elected(0, 0)
	c.Elected(1, 0)
	waitOwned(t, c, 0)
	waitOwned(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			groupID, memberID := fmt.Sprintf("g%d", w%3), ""
			var instance *string
			if w%4 == 0 {
				id := fmt.Sprintf("i%d", w)
				instance = &id
			}
			for i := 0; ctx.Err() == nil; i++ {
				req := joinReq(groupID, memberID, fmt.Sprintf("c%d", w), rangeProtocols("t"))
				req.SessionTimeoutMs, req.RebalanceTimeoutMs = 200, 200
				if instance != nil {
					req.InstanceID, req.RequireKnownMemberID = instance, false
				}
				jctx, jcancel := context.WithTimeout(ctx, time.Second)
				r := c.JoinGroup(jctx, req)
				jcancel()
				if r.MemberID != "" {
					memberID = r.MemberID
				}
				if r.Err != nil {
					if i%3 == 0 {
						memberID = ""
					}
					continue
				}
				assignments := map[string][]byte{}
				for _, m := range r.Members {
					assignments[m.MemberID] = []byte("x")
				}
				sctx, scancel := context.WithTimeout(ctx, time.Second)
				c.SyncGroup(sctx, SyncRequest{Group: groupID, Generation: r.Generation, MemberID: memberID, InstanceID: instance, Assignments: assignments})
				scancel()
				c.Heartbeat(HeartbeatRequest{Group: groupID, MemberID: memberID, InstanceID: instance, Generation: r.Generation})
				c.CommitOffsets(ctx, CommitRequest{Group: groupID, MemberID: memberID, InstanceID: instance, Generation: r.Generation, RetentionMs: -1,
					Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", int32(i % 3)}, Offset: int64(i), LeaderEpoch: -1, CommitTimestamp: -1}}})
				c.CommitTransactionalOffsets(ctx, TxnCommitRequest{Group: groupID, ProducerID: int64(w), MemberID: memberID, InstanceID: instance,
					Generation: r.Generation, Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", int32(i % 3)}, Offset: int64(i), LeaderEpoch: -1}}})
				c.FetchOffsets(groupID, true, nil)
				if i%5 == 4 {
					c.LeaveGroup(groupID, []LeavingMember{{MemberID: memberID, InstanceID: instance}})
					memberID = ""
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		epoch := int32(0)
		for i := 0; ctx.Err() == nil; i++ {
			epoch++
			if i%2 == 0 {
				c.Resigned(int32(i/2%2), epoch)
			} else {
				c.Elected(int32(i/2%2), epoch)
			}
			c.ExpireOffsets()
			c.DeleteGroups([]string{"g1", "simple"})
			c.CommitOffsets(ctx, CommitRequest{Group: "simple", Generation: -1, RetentionMs: -1,
				Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}})
			c.OnPartitionsDeleted([]TopicPartition{{"t", 2}})
			c.CommitTransactionalOffsets(ctx, TxnCommitRequest{Group: "simple", ProducerID: 99, Generation: -1,
				Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 1}, Offset: 1, LeaderEpoch: -1}}})
			c.CompleteTransaction(int64(i%11), 0, []int32{0, 1}, i%3 != 0)
			c.CompleteTransaction(99, 0, []int32{int32(i % 2)}, i%2 == 0)
			c.ListGroups(nil)
			c.DescribeGroup("g0")
			time.Sleep(5 * time.Millisecond)
		}
	}()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("workers stuck: a deadlock or a request parked for good")
	}
}
