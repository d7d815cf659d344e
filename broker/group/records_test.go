package group

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseOlderValueVersions(t *testing.T) {
	for _, tc := range []struct {
		version int16
		epoch   int32
		expire  int64
	}{
		{0, -1, -1}, {1, -1, 99}, {2, -1, -1}, {3, 5, -1},
	} {
		v := kmsg.NewOffsetCommitValue()
		v.Version, v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp, v.ExpireTimestamp = tc.version, 42, 5, "md", 7, 99
		o, err := parseOffsetValue(v.AppendTo(nil))
		if err != nil || o.Offset != 42 || o.LeaderEpoch != tc.epoch || o.ExpireTimestamp != tc.expire || o.Metadata != "md" || o.CommitTimestamp != 7 {
			t.Errorf("offset value v%d: %+v %v", tc.version, o, err)
		}
	}
	gv := kmsg.NewGroupMetadataValue()
	gv.Version, gv.ProtocolType, gv.Generation = 0, "consumer", 4
	gv.Protocol, gv.Leader = ptr("range"), ptr("m1")
	m := kmsg.NewGroupMetadataValueMember()
	m.MemberID, m.ClientID, m.ClientHost, m.SessionTimeoutMillis = "m1", "c", "/h", 6000
	m.Subscription, m.Assignment = consumerMeta("t"), []byte("a")
	gv.Members = append(gv.Members, m)
	g, err := parseGroupValue("g", gv.AppendTo(nil))
	if err != nil {
		t.Fatal(err)
	}
	mm := g.members["m1"]
	if g.state != stateStable || g.generation != 4 || g.leaderID != "m1" || mm == nil || mm.rebalanceTimeoutMs != 6000 || string(mm.assignment) != "a" ||
		g.stateTimestamp != -1 || !g.subscribedTopics["t"] {
		t.Fatalf("group from a v0 value: %+v", g)
	}
	if _, err := parseKey([]byte{0}); err == nil {
		t.Fatal("a one-byte key must not parse")
	}
	if k, err := parseKey([]byte{0, 9}); err != nil || k.kind != keyUnknown {
		t.Fatalf("unknown key version: %+v %v", k, err)
	}
}

// TestLoadReplaysTheLog: the latest record per key wins, tombstones
// delete, transactional commits count only after a COMMIT marker, groups
// with only offsets load as Empty.
func TestLoadReplaysTheLog(t *testing.T) {
	store := newMemStore()
	tp := func(topic string) TopicPartition { return TopicPartition{topic, 0} }
	rec := func(group, topic string, off int64) Record {
		return Record{Key: offsetCommitKey(group, tp(topic)), Value: offsetCommitValue(offsetAndMetadata{Offset: off, LeaderEpoch: -1, ExpireTimestamp: -1})}
	}
	g := newGroup("gone", stateEmpty, 1)
	g.generation = 3
	emptyGroup, _ := groupMetadataValue(g, nil)
	control := func(pid int64, typ byte) Batch {
		return Batch{ProducerID: pid, Control: true, Records: []Record{{Key: []byte{0, 0, 0, typ}, Value: []byte{0, 0, 0, 0, 0, 0}}}}
	}
	batches := []Batch{
		{Records: []Record{rec("a", "t", 1), rec("a", "u", 2)}},
		{Records: []Record{rec("a", "t", 3), {Key: offsetCommitKey("a", tp("u"))}}},
		{Records: []Record{{Key: groupMetadataKey("gone"), Value: emptyGroup}, rec("gone", "t", 9)}},
		{Records: []Record{{Key: groupMetadataKey("gone")}, {Key: offsetCommitKey("gone", tp("t"))}}},
		{ProducerID: 7, Transactional: true, Records: []Record{rec("txn", "t", 5)}},
		{ProducerID: 8, Transactional: true, Records: []Record{rec("txn", "u", 6)}},
		control(7, 1), // commit
		control(8, 0), // abort
		{Records: []Record{{Key: []byte{0, 7, 1}, Value: []byte("future record")}}},
	}
	for i := range batches {
		batches[i].BaseOffset = int64(i * 10)
	}
	store.batches[0] = batches
	c := newTestCoordinator(t, testConfig(), store, newFakeClock())
	check := func(groupID string, want map[TopicPartition]int64) {
		t.Helper()
		_, got := c.FetchOffsets(groupID, false, nil)
		if len(got) != len(want) {
			t.Fatalf("%s: offsets %+v, want %v", groupID, got, want)
		}
		for _, f := range got {
			if want[f.TopicPartition] != f.Offset {
				t.Fatalf("%s: offsets %+v, want %v", groupID, got, want)
			}
		}
	}
	check("a", map[TopicPartition]int64{tp("t"): 3})
	check("txn", map[TopicPartition]int64{tp("t"): 5})
	check("gone", nil)
	if stateOf(c, "gone") != "none" || stateOf(c, "a") != "Empty" {
		t.Fatalf("gone: %s, a: %s", stateOf(c, "gone"), stateOf(c, "a"))
	}
}

// TestInitialDelayExtends: group.initial.rebalance.delay.ms waits again
// while new members keep arriving, up to the rebalance timeout.
func TestInitialDelayExtends(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, newMemStore(), clock)
	_, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	clock.Advance(2 * time.Second)
	_, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	clock.Advance(time.Second) // the first delay ends: a member was added, wait again
	pending(t, j1)
	clock.Advance(2 * time.Second)
	pending(t, j2)
	clock.Advance(time.Second)
	r1, r2 := answered(t, j1), answered(t, j2)
	if r1.Generation != 1 || r2.Generation != 1 || len(r1.Members)+len(r2.Members) != 2 {
		t.Fatalf("joins: %+v %+v", r1, r2)
	}
}

// TestRebalanceAndSyncTimeouts: a dynamic member that does not rejoin
// within the rebalance timeout is removed; so is one that does not send
// SyncGroup in time, which starts another rebalance.
func TestRebalanceAndSyncTimeouts(t *testing.T) {
	clock := newFakeClock()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, newMemStore(), clock)
	m1, j1 := joinNew(t, c, "g", "c1", rangeProtocols("t"))
	m2, j2 := joinNew(t, c, "g", "c2", rangeProtocols("t"))
	clock.Advance(2 * cfg.InitialRebalanceDelay) // m2's arrival extended the delay once
	answered(t, j1)
	answered(t, j2)
	// Only the leader syncs; m2 never does.
	sl := startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m1, Assignments: map[string][]byte{m1: []byte("a"), m2: []byte("b")}})
	answered(t, sl)
	clock.Advance(5 * time.Second)
	wantErr(t, "heartbeat", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m1, Generation: 1}), nil)
	clock.Advance(5 * time.Second) // the rebalance timeout of the sync phase
	if s := stateOf(c, "g"); s != "PreparingRebalance" {
		t.Fatalf("after the sync timeout: %s", s)
	}
	r := answered(t, startJoin(c, joinReq("g", m1, "c1", rangeProtocols("t"))))
	if r.Generation != 2 || len(r.Members) != 1 {
		t.Fatalf("m2 must be gone: %+v", r)
	}
	wantErr(t, "removed member", c.Heartbeat(HeartbeatRequest{Group: "g", MemberID: m2, Generation: 1}), kerr.UnknownMemberID)
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 2, MemberID: m1, Assignments: map[string][]byte{m1: []byte("a")}}))

	// A new member joins; m1 never rejoins and is dropped at the
	// rebalance timeout.
	m3, j3 := joinNew(t, c, "g", "c3", rangeProtocols("t"))
	pending(t, j3)
	clock.Advance(10 * time.Second)
	r = answered(t, j3)
	if r.Generation != 3 || r.LeaderID != m3 || len(r.Members) != 1 {
		t.Fatalf("after the join timeout: %+v", r)
	}
}
