package group

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

func TestPartitionForMatchesJava(t *testing.T) {
	// Expected values from Java's String.hashCode and Utils.abs.
	for _, tc := range []struct {
		group string
		hash  int32
		p50   int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"group", 98629247, 47},
		{"console-consumer-12345", 158455506, 6},
		{"polygenelubricants", -2147483648, 0}, // Math.abs would stay negative; Utils.abs gives 0
		{"héllo", 103094734, 34},
		{"g😀", 1871882, 32},           // a surrogate pair
		{"my-group", -1906497762, 12}, // Utils.abs, not a mask (which gives 36)
		{"billing", -109829509, 9},
	} {
		if h := zkmeta.JavaStringHash(tc.group); h != tc.hash {
			t.Errorf("hash(%q) = %d, want %d", tc.group, h, tc.hash)
		}
		if p := PartitionFor(tc.group, 50); p != tc.p50 {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tc.group, p, tc.p50)
		}
	}
}

// TestRebalanceFlow walks a dynamic group through Kafka's states: the
// initial delay, MEMBER_ID_REQUIRED, leader election and the member list,
// SyncGroup waiting for the leader, REBALANCE_IN_PROGRESS on heartbeats,
// ILLEGAL_GENERATION, a session timeout, and LeaveGroup down to Empty.
func TestRebalanceFlow(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)

	m1, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	if !strings.HasPrefix(m1, "c1-") {
		t.Fatalf("member id %q is not clientId-uuid", m1)
	}
	pending(t, j1) // group.initial.rebalance.delay.ms
	if s := stateOf(c, "g"); s != "PreparingRebalance" {
		t.Fatalf("state %s", s)
	}
	clock.Advance(cfg.InitialRebalanceDelay)
	r1 := answered(t, j1)
	if r1.Err != nil || r1.Generation != 1 || r1.LeaderID != m1 || len(r1.Members) != 1 || *r1.ProtocolName != "range" || *r1.ProtocolType != "consumer" {
		t.Fatalf("leader join: %+v", r1)
	}
	s1 := answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m1, Assignments: map[string][]byte{m1: []byte("a1")}}))
	if s1.Err != nil || string(s1.Assignment) != "a1" || *s1.ProtocolName != "range" {
		t.Fatalf("leader sync: %+v", s1)
	}
	if s := stateOf(c, "g"); s != "Stable" {
		t.Fatalf("state %s", s)
	}
	wantErr(t, "heartbeat", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 1}), nil)
	wantErr(t, "heartbeat of an old generation", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 0}), kerr.IllegalGeneration)
	wantErr(t, "heartbeat of a stranger", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: "x", Generation: 1}), kerr.UnknownMemberID)

	// A second member: the group rebalances without the initial delay.
	m2, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	pending(t, j2)
	wantErr(t, "heartbeat during rebalance", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 1}), kerr.RebalanceInProgress)
	wantErr(t, "sync during rebalance", answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m1})).Err, kerr.RebalanceInProgress)
	j1 = startJoin(c, joinReq("g", m1, "c1", rangeProtocols("t")))
	r1, r2 := answered(t, j1), answered(t, j2)
	if r1.Generation != 2 || r2.Generation != 2 || r1.LeaderID != m1 || r2.LeaderID != m1 || len(r1.Members) != 2 || len(r2.Members) != 0 {
		t.Fatalf("second generation: leader %+v, follower %+v", r1, r2)
	}
	// Commits are refused while the assignment is pending.
	res := c.CommitOffsets(context.Background(), CommitRequest{Group: "g", MemberID: m2, Generation: 2, RetentionMs: -1,
		Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}})
	wantErr(t, "commit while completing the rebalance", res[0].Err, kerr.RebalanceInProgress)
	sf := startSync(c, SyncRequest{Group: "g", Generation: 2, MemberID: m2})
	pending(t, sf) // the follower waits for the leader's assignment
	sl := startSync(c, SyncRequest{Group: "g", Generation: 2, MemberID: m1, Assignments: map[string][]byte{m1: []byte("a1"), m2: []byte("a2")}})
	if r := answered(t, sf); string(r.Assignment) != "a2" {
		t.Fatalf("follower sync: %+v", r)
	}
	if r := answered(t, sl); string(r.Assignment) != "a1" {
		t.Fatalf("leader sync: %+v", r)
	}
	res = c.CommitOffsets(context.Background(), CommitRequest{Group: "g", MemberID: m2, Generation: 1, RetentionMs: -1,
		Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}})
	wantErr(t, "commit of an old generation", res[0].Err, kerr.IllegalGeneration)

	// m2 stops heartbeating: after its session timeout it is removed and
	// m1 rebalances alone.
	for range 3 {
		clock.Advance(3 * time.Second)
		wantErr(t, "heartbeat", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 2}), nil)
	}
	clock.Advance(3 * time.Second) // m2's 10 s session timeout passes
	wantErr(t, "heartbeat after expiry", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 2}), kerr.RebalanceInProgress)
	r1 = answered(t, startJoin(c, joinReq("g", m1, "c1", rangeProtocols("t"))))
	if r1.Generation != 3 || len(r1.Members) != 1 {
		t.Fatalf("after m2's expiry: %+v", r1)
	}
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 3, MemberID: m1, Assignments: map[string][]byte{m1: []byte("all")}}))

	// The last member leaves: Empty, and the empty generation is stored.
	top, results := c.LeaveGroup("g", []LeavingMember{{MemberID: m1}, {MemberID: "nobody"}})
	if top != nil || results[0].Err != nil || results[1].Err != kerr.UnknownMemberID {
		t.Fatalf("leave: %v %+v", top, results)
	}
	if s := stateOf(c, "g"); s != "Empty" {
		t.Fatalf("state %s", s)
	}
	recs := store.records(0)
	var v kmsg.GroupMetadataValue
	if err := v.ReadFrom(recs[len(recs)-1].Value); err != nil || v.Generation != 4 || len(v.Members) != 0 || v.Protocol != nil || v.ProtocolType != "consumer" {
		t.Fatalf("last group record %+v: %v", v, err)
	}
}

func TestJoinValidation(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	cfg.MaxSize = 2
	c := newTestCoordinator(t, cfg, newMemStore(), clock)

	req := joinReq("g", "", "c", rangeProtocols("t"))
	req.SessionTimeoutMs = 1000
	wantErr(t, "short session timeout", answered(t, startJoin(c, req)).Err, kerr.InvalidSessionTimeout)
	req = joinReq("", "", "c", rangeProtocols("t"))
	wantErr(t, "empty group id", answered(t, startJoin(c, req)).Err, kerr.InvalidGroupID)
	req = joinReq("g", "", "c", nil)
	wantErr(t, "no protocols", answered(t, startJoin(c, req)).Err, kerr.InconsistentGroupProtocol)
	wantErr(t, "known member id of an unknown group", answered(t, startJoin(c, joinReq("g", "x", "c", rangeProtocols("t")))).Err, kerr.UnknownMemberID)

	m1, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	clock.Advance(cfg.InitialRebalanceDelay)
	answered(t, j1)
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m1, Assignments: map[string][]byte{m1: nil}}))

	other := joinReq("g", "", "c2", rangeProtocols("t"))
	other.ProtocolType = "connect"
	wantErr(t, "other protocol type", answered(t, startJoin(c, other)).Err, kerr.InconsistentGroupProtocol)
	other = joinReq("g", "", "c2", []Protocol{{Name: "roundrobin"}})
	wantErr(t, "no common protocol", answered(t, startJoin(c, other)).Err, kerr.InconsistentGroupProtocol)
	_, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	pending(t, j2)
	answered(t, startJoin(c, joinReq("g", m1, "c1", rangeProtocols("t"))))
	if r := answered(t, j2); r.Err != nil || r.Generation != 2 {
		t.Fatalf("second member: %+v", r)
	}
	wantErr(t, "over group.max.size", answered(t, startJoin(c, joinReq("g", "", "c3", rangeProtocols("t")))).Err, kerr.GroupMaxSizeReached)
	wantErr(t, "sync protocol name", answered(t, startSync(c, SyncRequest{Group: "g", Generation: 2, MemberID: m1, ProtocolName: ptr("roundrobin")})).Err, kerr.InconsistentGroupProtocol)
}

func ptr(s string) *string { return &s }

func TestProtocolSelection(t *testing.T) {
	g := newGroup("g", stateEmpty, 0)
	add := func(id string, names ...string) {
		var ps []Protocol
		for _, n := range names {
			ps = append(ps, Protocol{Name: n})
		}
		if err := g.add(&member{id: id, protocolType: "consumer", protocols: ps}, nil); err != nil {
			t.Fatal(err)
		}
	}
	add("a", "range", "roundrobin", "sticky")
	add("b", "roundrobin", "range", "sticky")
	add("c", "roundrobin", "sticky")
	g.state = stateStable
	// range is not supported by c; roundrobin gets b's and c's votes.
	if p, ok := g.selectProtocol(); !ok || p != "roundrobin" {
		t.Fatalf("selected %q", p)
	}
	if !g.supportsProtocols("consumer", []string{"sticky"}) || g.supportsProtocols("consumer", []string{"range"}) {
		t.Fatal("supportsProtocols must require a protocol every member has")
	}
}

// TestStaticMembership: a static member that restarts (no member id,
// same group.instance.id) replaces its old id without a rebalance and
// keeps its assignment; the old id is fenced.
func TestStaticMembership(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)
	instance := "host-1"
	static := func(memberID string, version9 bool) JoinRequest {
		r := joinReq("g", memberID, "c", rangeProtocols("t"))
		r.InstanceID = &instance
		r.RequireKnownMemberID = false
		r.SupportSkippingAssignment = version9
		return r
	}
	j := startJoin(c, static("", false)) // static members get their id at once
	clock.Advance(cfg.InitialRebalanceDelay)
	r := answered(t, j)
	old := r.MemberID
	if r.Err != nil || r.LeaderID != old || !strings.HasPrefix(old, "host-1-") {
		t.Fatalf("static join: %+v", r)
	}
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: old, InstanceID: &instance, Assignments: map[string][]byte{old: []byte("mine")}}))

	// The instance restarts.
	r = answered(t, startJoin(c, static("", false)))
	if r.Err != nil || r.Generation != 1 || r.MemberID == old || r.LeaderID != old {
		t.Fatalf("replacing join (before v9 the old leader id is returned): %+v", r)
	}
	fresh := r.MemberID
	if s := stateOf(c, "g"); s != "Stable" {
		t.Fatalf("a static replacement must not rebalance: %s", s)
	}
	wantErr(t, "old member id", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: old, InstanceID: &instance, Generation: 1}), kerr.FencedInstanceID)
	if s := answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: fresh, InstanceID: &instance})); string(s.Assignment) != "mine" {
		t.Fatalf("the replaced member keeps its assignment: %+v", s)
	}
	// v9: the static leader is told to skip the assignment.
	r = answered(t, startJoin(c, static("", true)))
	if r.Err != nil || !r.SkipAssignment || r.LeaderID != r.MemberID || len(r.Members) != 1 {
		t.Fatalf("v9 replacing join of the leader: %+v", r)
	}
	// Administrative removal by instance id.
	top, res := c.LeaveGroup("g", []LeavingMember{{InstanceID: &instance}})
	if top != nil || res[0].Err != nil || stateOf(c, "g") != "Empty" {
		t.Fatalf("leave by instance id: %v %+v %s", top, res, stateOf(c, "g"))
	}
}

func TestOffsetsCommitFetchAndReload(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	cfg.MaxMetadataSize = 5
	c := newTestCoordinator(t, cfg, store, clock)
	ctx := context.Background()
	commit := func(groupID string, gen int32, member string, offs ...CommitOffset) []PartitionResult {
		return c.CommitOffsets(ctx, CommitRequest{Group: groupID, Generation: gen, MemberID: member, RetentionMs: -1, Offsets: offs})
	}
	off := func(topic string, p int32, o int64, md string) CommitOffset {
		return CommitOffset{TopicPartition: TopicPartition{topic, p}, Offset: o, LeaderEpoch: 3, Metadata: &md, CommitTimestamp: -1}
	}
	res := commit("simple", -1, "", off("t", 0, 10, "ok"), off("t", 1, 11, "too long"), off("u", 0, 12, ""))
	if res[0].Err != nil || res[1].Err != kerr.OffsetMetadataTooLarge || res[2].Err != nil {
		t.Fatalf("commit: %+v", res)
	}
	wantErr(t, "commit of an old generation to an unknown group", commit("gone", 3, "m", off("t", 0, 1, ""))[0].Err, kerr.IllegalGeneration)
	err, got := c.FetchOffsets("simple", false, nil)
	if err != nil || len(got) != 2 || got[0].Offset != 10 || got[0].Metadata != "ok" || got[0].LeaderEpoch != 3 || got[1].Offset != 12 {
		t.Fatalf("fetch all: %v %+v", err, got)
	}
	err, got = c.FetchOffsets("simple", true, []TopicPartition{{"t", 1}, {"t", 0}})
	if err != nil || got[0].Offset != -1 || got[0].Err != nil || got[1].Offset != 10 {
		t.Fatalf("fetch some: %v %+v", err, got)
	}
	// Records as Kafka 3.7 writes them.
	recs := store.records(0)
	var k kmsg.OffsetCommitKey
	var v kmsg.OffsetCommitValue
	if err := k.ReadFrom(recs[0].Key); err != nil || k.Version != 1 || k.Group != "simple" || k.Topic != "t" || k.Partition != 0 {
		t.Fatalf("key %+v: %v", k, err)
	}
	if err := v.ReadFrom(recs[0].Value); err != nil || v.Version != 3 || v.Offset != 10 || v.LeaderEpoch != 3 || v.Metadata != "ok" || v.CommitTimestamp != clock.Now().UnixMilli() {
		t.Fatalf("value %+v: %v", v, err)
	}
	// A retention time (v2-v4) writes value v1 with the expire timestamp.
	c.CommitOffsets(ctx, CommitRequest{Group: "simple", Generation: -1, RetentionMs: 1000, Offsets: []CommitOffset{off("u", 1, 5, "")}})
	recs = store.records(0)
	if err := v.ReadFrom(recs[len(recs)-1].Value); err != nil || v.Version != 1 || v.ExpireTimestamp != clock.Now().UnixMilli()+1000 {
		t.Fatalf("value with expiry %+v: %v", v, err)
	}

	// Another coordinator of the same partition loads it all back.
	c2 := newTestCoordinator(t, cfg, store, clock)
	err, got = c2.FetchOffsets("simple", false, nil)
	if err != nil || len(got) != 3 || got[0].Offset != 10 || got[2].Offset != 5 {
		t.Fatalf("reloaded: %v %+v", err, got)
	}
	if s := stateOf(c2, "simple"); s != "Empty" {
		t.Fatalf("reloaded simple group is %s", s)
	}
}

// TestCommitsOfAGroupWithMembers: only members of the current generation
// commit to a group with members.
func TestCommitsOfAGroupWithMembers(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, newMemStore(), clock)
	m, j := joinNew(t, c, "g", "c", rangeProtocols("t"))
	clock.Advance(cfg.InitialRebalanceDelay)
	answered(t, j)
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m, Assignments: map[string][]byte{m: nil}}))
	o := []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}
	for _, tc := range []struct {
		member string
		gen    int32
		want   *kerr.Error
	}{
		{"", -1, kerr.UnknownMemberID},
		{"other", 1, kerr.UnknownMemberID},
		{m, 2, kerr.IllegalGeneration},
		{m, 1, nil},
	} {
		res := c.CommitOffsets(context.Background(), CommitRequest{Group: "g", MemberID: tc.member, Generation: tc.gen, RetentionMs: -1, Offsets: o})
		wantErr(t, "commit by "+tc.member, res[0].Err, tc.want)
	}
}

func TestStoreErrorsAreMapped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		appendErr error
		waitErr   error
		commit    *kerr.Error
		sync      *kerr.Error
	}{
		{"not enough replicas", kerr.NotEnoughReplicas, nil, kerr.CoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
		{"not leader", kerr.NotLeaderForPartition, nil, kerr.NotCoordinator, kerr.NotCoordinator},
		{"too large", kerr.MessageTooLarge, nil, kerr.InvalidCommitOffsetSize, kerr.UnknownServerError},
		{"after append", nil, kerr.NotEnoughReplicasAfterAppend, kerr.CoordinatorNotAvailable, kerr.CoordinatorNotAvailable},
		{"timeout", nil, kerr.RequestTimedOut, kerr.RequestTimedOut, kerr.RebalanceInProgress},
		{"other", errors.New("disk on fire"), nil, kerr.UnknownServerError, kerr.UnknownServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			store := newMemStore()
			cfg := testConfig()
			c := newTestCoordinator(t, cfg, store, clock)
			m, j := joinNew(t, c, "g", "c", rangeProtocols("t"))
			clock.Advance(cfg.InitialRebalanceDelay)
			answered(t, j)
			store.mu.Lock()
			store.appendErr, store.waitErr = tc.appendErr, tc.waitErr
			store.mu.Unlock()
			s := answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m, Assignments: map[string][]byte{m: []byte("x")}}))
			wantErr(t, "sync", s.Err, tc.sync)
			if stateOf(c, "g") != "PreparingRebalance" {
				t.Fatalf("a failed store must rebalance, group is %s", stateOf(c, "g"))
			}
			res := c.CommitOffsets(context.Background(), CommitRequest{Group: "simple", Generation: -1, RetentionMs: -1,
				Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}})
			wantErr(t, "commit", res[0].Err, tc.commit)
			if err, got := c.FetchOffsets("simple", false, nil); err != nil || len(got) != 0 {
				t.Fatalf("a failed commit must not be visible: %v %+v", err, got)
			}
		})
	}
}

// TestUnloadAndLoadInProgress: requests for a partition being loaded get
// COORDINATOR_LOAD_IN_PROGRESS (heartbeats are answered blindly, SyncGroup
// with REBALANCE_IN_PROGRESS); when the partition is resigned, parked
// requests get NOT_COORDINATOR and later ones NOT_COORDINATOR.
func TestUnloadAndLoadInProgress(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)
	m, j := joinNew(t, c, "g", "c", rangeProtocols("t"))
	pending(t, j)
	c.Resigned(0, 1)
	if r := answered(t, j); r.Err != kerr.NotCoordinator {
		t.Fatalf("parked join after resignation: %+v", r)
	}
	wantErr(t, "heartbeat", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m, Generation: 0}), kerr.NotCoordinator)
	if err, _ := c.FetchOffsets("g", false, nil); err != kerr.NotCoordinator {
		t.Fatalf("fetch: %v", err)
	}
	// A stale election (older epoch) is ignored.
	c.Elected(0, 0)
	store.loadGate = make(chan struct{})
	c.Elected(0, 2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err, _ := c.FetchOffsets("g", false, nil); err == kerr.CoordinatorLoadInProgress {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no COORDINATOR_LOAD_IN_PROGRESS while loading")
		}
		time.Sleep(time.Millisecond)
	}
	wantErr(t, "heartbeat while loading", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m}), nil)
	wantErr(t, "sync while loading", answered(t, startSync(c, SyncRequest{Group: "g", MemberID: m})).Err, kerr.RebalanceInProgress)
	if err, _ := c.ListGroups(nil); err != kerr.CoordinatorLoadInProgress {
		t.Fatalf("list groups while loading: %v", err)
	}
	close(store.loadGate)
	waitOwned(t, c, 0)
}

// TestOffsetExpiry follows KIP-211: an Empty group's offsets expire
// offsets.retention.minutes after it became Empty; a Stable consumer
// group keeps the offsets of topics it subscribes to; a simple consumer's
// expire after their commit. Expired offsets get tombstones.
func TestOffsetExpiry(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	cfg.OffsetsRetention = time.Hour
	c := newTestCoordinator(t, cfg, store, clock)
	ctx := context.Background()
	o := func(topic string) CommitOffset {
		return CommitOffset{TopicPartition: TopicPartition{topic, 0}, Offset: 7, LeaderEpoch: -1, CommitTimestamp: -1}
	}
	c.CommitOffsets(ctx, CommitRequest{Group: "simple", Generation: -1, RetentionMs: -1, Offsets: []CommitOffset{o("t")}})

	m, j := joinNew(t, c, "active", "c", rangeProtocols("t"))
	clock.Advance(cfg.InitialRebalanceDelay)
	answered(t, j)
	answered(t, startSync(c, SyncRequest{Group: "active", Generation: 1, MemberID: m, Assignments: map[string][]byte{m: nil}}))
	res := c.CommitOffsets(ctx, CommitRequest{Group: "active", Generation: 1, MemberID: m, RetentionMs: -1, Offsets: []CommitOffset{o("t"), o("unsubscribed")}})
	if res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("commit: %+v", res)
	}
	heartbeat := func() {
		wantErr(t, "heartbeat", c.Heartbeat(HeartbeatRequest{Group: "active", MemberID: m, Generation: 1}), nil)
	}
	for range 13 * 60 { // an hour and a bit, heartbeating
		clock.Advance(5 * time.Second)
		heartbeat()
	}
	if n := c.ExpireOffsets(); n != 2 {
		t.Fatalf("expired %d offsets, want 2 (the simple consumer's and the unsubscribed topic's)", n)
	}
	if stateOf(c, "simple") != "none" {
		t.Fatal("a simple group without offsets must be gone")
	}
	if _, got := c.FetchOffsets("active", false, nil); len(got) != 1 || got[0].Topic != "t" {
		t.Fatalf("active group offsets: %+v", got)
	}
	// The member leaves; the offsets expire an hour after the group
	// became Empty, although they were committed long before.
	c.LeaveGroup("active", []LeavingMember{{MemberID: m}})
	clock.Advance(59 * time.Minute)
	if n := c.ExpireOffsets(); n != 0 {
		t.Fatalf("expired %d offsets too early", n)
	}
	clock.Advance(time.Minute)
	if n := c.ExpireOffsets(); n != 1 || stateOf(c, "active") != "none" {
		t.Fatalf("expired %d offsets; group %s", n, stateOf(c, "active"))
	}
	// Tombstones: offsets, and the group that had a generation.
	var tombstones []string
	for _, r := range store.records(0) {
		if r.Value != nil {
			continue
		}
		k, err := parseKey(r.Key)
		if err != nil {
			t.Fatal(err)
		}
		tombstones = append(tombstones, k.group+"/"+k.tp.Topic)
	}
	if want := []string{"active/unsubscribed", "simple/t", "active/t", "active/"}; !slices.Equal(tombstones, want) {
		t.Fatalf("tombstones %v, want %v", tombstones, want)
	}
	// And a reload sees none of it.
	c2 := newTestCoordinator(t, cfg, store, clock)
	if groups := c2.allGroups(); len(groups) != 0 {
		t.Fatalf("reloaded groups after expiry: %d", len(groups))
	}
}

func TestDeleteGroupsAndOffsets(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)
	ctx := context.Background()
	o := func(topic string) CommitOffset {
		return CommitOffset{TopicPartition: TopicPartition{topic, 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}
	}
	c.CommitOffsets(ctx, CommitRequest{Group: "simple", Generation: -1, RetentionMs: -1, Offsets: []CommitOffset{o("t"), o("u")}})
	m, j := joinNew(t, c, "active", "c", rangeProtocols("t"))
	clock.Advance(cfg.InitialRebalanceDelay)
	answered(t, j)
	answered(t, startSync(c, SyncRequest{Group: "active", Generation: 1, MemberID: m, Assignments: map[string][]byte{m: nil}}))
	c.CommitOffsets(ctx, CommitRequest{Group: "active", Generation: 1, MemberID: m, RetentionMs: -1, Offsets: []CommitOffset{o("t"), o("u")}})

	err, res := c.DeleteOffsets("active", []TopicPartition{{"t", 0}, {"u", 0}})
	if err != nil || res[0].Err != kerr.GroupSubscribedToTopic || res[1].Err != nil {
		t.Fatalf("delete offsets of an active group: %v %+v", err, res)
	}
	if err, _ := c.DeleteOffsets("nobody", nil); err != kerr.GroupIDNotFound {
		t.Fatalf("delete offsets of an unknown group: %v", err)
	}
	out := c.DeleteGroups([]string{"active", "nobody", "simple", "simple"})
	if len(out) != 3 || out[0].Err != kerr.NonEmptyGroup || out[1].Err != kerr.GroupIDNotFound || out[2].Err != nil {
		t.Fatalf("delete groups: %+v", out)
	}
	if _, got := c.FetchOffsets("simple", false, nil); len(got) != 0 {
		t.Fatalf("offsets of a deleted group: %+v", got)
	}
	c.LeaveGroup("active", []LeavingMember{{MemberID: m}})
	if out := c.DeleteGroups([]string{"active"}); out[0].Err != nil {
		t.Fatalf("delete the emptied group: %+v", out)
	}
	// The deleted group had generations: its metadata gets a tombstone too.
	recs := store.records(0)
	last := recs[len(recs)-1]
	if k, _ := parseKey(last.Key); k.kind != keyGroup || k.group != "active" || last.Value != nil {
		t.Fatalf("last record %+v", k)
	}
	if _, groups := c.ListGroups(nil); len(groups) != 0 {
		t.Fatalf("groups left: %+v", groups)
	}
}

func TestDescribeAndListGroups(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, newMemStore(), clock)
	m, j := joinNew(t, c, "g", "client", rangeProtocols("t"))
	err, s := c.DescribeGroup("g")
	if err != nil || s.State != "PreparingRebalance" || s.Protocol != "" || len(s.Members) != 1 || len(s.Members[0].Metadata) != 0 {
		t.Fatalf("describe while rebalancing: %v %+v", err, s)
	}
	clock.Advance(cfg.InitialRebalanceDelay)
	answered(t, j)
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m, Assignments: map[string][]byte{m: []byte("asg")}}))
	err, s = c.DescribeGroup("g")
	if err != nil || s.State != "Stable" || s.Protocol != "range" || s.ProtocolType != "consumer" || len(s.Members) != 1 {
		t.Fatalf("describe: %v %+v", err, s)
	}
	mm := s.Members[0]
	if mm.MemberID != m || mm.ClientID != "client" || mm.ClientHost != "/127.0.0.1" || string(mm.Assignment) != "asg" || len(mm.Metadata) == 0 {
		t.Fatalf("member %+v", mm)
	}
	if err, s := c.DescribeGroup("nobody"); err != nil || s.State != "Dead" {
		t.Fatalf("describe unknown: %v %+v", err, s)
	}
	c.CommitOffsets(context.Background(), CommitRequest{Group: "simple", Generation: -1, RetentionMs: -1,
		Offsets: []CommitOffset{{TopicPartition: TopicPartition{"t", 0}, Offset: 1, LeaderEpoch: -1, CommitTimestamp: -1}}})
	for _, tc := range []struct {
		states []string
		want   []string
	}{
		{nil, []string{"g", "simple"}},
		{[]string{"Stable"}, []string{"g"}},
		{[]string{"Empty", "Dead"}, []string{"simple"}},
		// Case-insensitive, as Kafka 3.9's GroupCoordinator.handleListGroups.
		{[]string{"stable"}, []string{"g"}},
		{[]string{"EMPTY", "preparingrebalance"}, []string{"simple"}},
	} {
		err, groups := c.ListGroups(tc.states)
		var ids []string
		for _, g := range groups {
			ids = append(ids, g.GroupID)
		}
		if err != nil || !slices.Equal(ids, tc.want) {
			t.Errorf("ListGroups(%v) = %v %v, want %v", tc.states, err, ids, tc.want)
		}
	}
}

// TestCloseReleasesParkedRequests: a JoinGroup parked in the join phase
// and a SyncGroup waiting for the leader are answered NOT_COORDINATOR when
// the coordinator closes (broker shutdown).
func TestCloseReleasesParkedRequests(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, newMemStore(), clock)
	m1, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	m2, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	clock.Advance(2 * cfg.InitialRebalanceDelay)
	answered(t, j1)
	answered(t, j2)
	syncDone := make(chan SyncResult, 1)
	go func() {
		syncDone <- c.SyncGroup(context.Background(), SyncRequest{Group: "g", Generation: 1, MemberID: m2})
	}()
	joinDone := make(chan JoinResult, 1)
	go func() { joinDone <- c.JoinGroup(context.Background(), joinReq("other", "", "c3", rangeProtocols("t"))) }()
	r := answered(t, joinDone)
	if r.Err != kerr.MemberIDRequired {
		t.Fatalf("first join: %+v", r)
	}
	go func() {
		joinDone <- c.JoinGroup(context.Background(), joinReq("other", r.MemberID, "c3", rangeProtocols("t")))
	}()
	pending(t, syncDone)
	pending(t, joinDone) // the initial rebalance delay
	c.Close()
	if r := answered(t, syncDone); r.Err != kerr.NotCoordinator {
		t.Fatalf("parked sync after close: %+v", r)
	}
	if r := answered(t, joinDone); r.Err != kerr.NotCoordinator {
		t.Fatalf("parked join after close: %+v", r)
	}
	wantErr(t, "heartbeat after close", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 1}), kerr.CoordinatorNotAvailable)
}
