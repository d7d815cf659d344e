package group

import (
	"context"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// Cases from GroupCoordinatorTest / GroupMetadataManagerTest (the
// transactional offset commit cases) and research log.md 13 #51-#62.

// flushTasks waits until the coordinator's worker ran everything queued
// before (CompleteTransaction is asynchronous, as Kafka's
// scheduleHandleTxnCompletion).
func flushTasks(t *testing.T, c *Coordinator) {
	t.Helper()
	done := make(chan struct{})
	c.schedule(func() { close(done) })
	answered(t, done)
}

func txnOff(topic string, p int32, o int64) CommitOffset {
	md := "m"
	return CommitOffset{TopicPartition: TopicPartition{topic, p}, Offset: o, LeaderEpoch: 2, Metadata: &md, CommitTimestamp: -1}
}

func txnReq(groupID string, pid int64, offs ...CommitOffset) TxnCommitRequest {
	return TxnCommitRequest{Group: groupID, TransactionalID: "tx", ProducerID: pid, ProducerEpoch: 1, Generation: -1, Offsets: offs}
}

// fetchOne is the group's offset of t-0 as OffsetFetch answers it.
func fetchOne(t *testing.T, c *Coordinator, groupID string, requireStable bool) FetchedOffset {
	t.Helper()
	err, got := c.FetchOffsets(groupID, requireStable, []TopicPartition{{"t", 0}})
	if err != nil || len(got) != 1 {
		t.Fatalf("fetch: %v %+v", err, got)
	}
	return got[0]
}

func wantFetched(t *testing.T, what string, f FetchedOffset, offset int64, err *kerr.Error) {
	t.Helper()
	if f.Offset != offset || f.Err != err {
		t.Fatalf("%s: got offset %d err %v, want %d %v", what, f.Offset, f.Err, offset, err)
	}
}

// TestTxnOffsetCommitCompletion: offsets committed in a transaction are
// invisible (UNSTABLE_OFFSET_COMMIT with require_stable) until the
// marker; COMMIT makes them the committed offsets, ABORT drops them; a
// plain commit written after the transactional one wins (#51-#54).
func TestTxnOffsetCommitCompletion(t *testing.T) {
	for _, tc := range []struct {
		name       string
		plainFirst bool // a plain commit of 5 before the transaction
		plainAfter bool // a plain commit of 7 after the txn record, before the marker
		commit     bool
		partitions []int32 // the marker's __consumer_offsets partitions
		want       int64
		stillOpen  bool // the marker did not reach the group
	}{
		{name: "commit", commit: true, partitions: []int32{0}, want: 10},
		{name: "commit over an older plain commit", plainFirst: true, commit: true, partitions: []int32{0}, want: 10},
		{name: "abort", plainFirst: true, partitions: []int32{0}, want: 5},
		{name: "abort without earlier offset", partitions: []int32{0}, want: -1},
		{name: "plain commit after the txn record wins", plainAfter: true, commit: true, partitions: []int32{0}, want: 7},
		{name: "marker of another partition", commit: true, partitions: []int32{3}, want: -1, stillOpen: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			c := newTestCoordinator(t, testConfig(), store, newFakeClock())
			ctx := context.Background()
			plain := func(o int64) {
				res := c.CommitOffsets(ctx, CommitRequest{Group: "g", Generation: -1, RetentionMs: -1, Offsets: []CommitOffset{txnOff("t", 0, o)}})
				wantErr(t, "plain commit", res[0].Err, nil)
			}
			if tc.plainFirst {
				plain(5)
			}
			before := int64(-1)
			if tc.plainFirst {
				before = 5
			}
			res := c.CommitTransactionalOffsets(ctx, txnReq("g", 42, txnOff("t", 0, 10)))
			wantErr(t, "txn commit", res[0].Err, nil)
			wantFetched(t, "before the marker", fetchOne(t, c, "g", false), before, nil)
			wantFetched(t, "before the marker, require_stable", fetchOne(t, c, "g", true), -1, kerr.UnstableOffsetCommit)
			if tc.plainAfter {
				plain(7)
				before = 7
			}
			store.appendMarker(0, 42, tc.commit)
			c.CompleteTransaction(42, 1, tc.partitions, tc.commit)
			flushTasks(t, c)
			wantFetched(t, "after the marker", fetchOne(t, c, "g", false), tc.want, nil)
			if tc.stillOpen {
				wantFetched(t, "after the marker, require_stable", fetchOne(t, c, "g", true), -1, kerr.UnstableOffsetCommit)
				return
			}
			wantFetched(t, "after the marker, require_stable", fetchOne(t, c, "g", true), tc.want, nil)
			// A reload from the log agrees with the cache.
			c2 := newTestCoordinator(t, testConfig(), store, newFakeClock())
			wantFetched(t, "reloaded", fetchOne(t, c2, "g", true), tc.want, nil)
		})
	}
}

// TestTxnOffsetCommitBatch: one transactional batch of the producer with
// Kafka's offset commit records.
func TestTxnOffsetCommitBatch(t *testing.T) {
	store := newMemStore()
	clock := newFakeClock()
	c := newTestCoordinator(t, testConfig(), store, clock)
	req := txnReq("g", 42, txnOff("t", 0, 10), txnOff("t", 1, 11))
	req.Verify = func(_ context.Context, p int32) (uint64, *kerr.Error) {
		if p != 0 {
			t.Errorf("verified partition %d", p)
		}
		return 77, nil
	}
	for _, r := range c.CommitTransactionalOffsets(context.Background(), req) {
		wantErr(t, "commit", r.Err, nil)
	}
	store.mu.Lock()
	b := store.batches[0][0]
	guards := store.guards
	store.mu.Unlock()
	if !b.Transactional || b.ProducerID != 42 || len(b.Records) != 2 || len(guards) != 1 || guards[0] != 77 {
		t.Fatalf("batch %+v guards %v", b, guards)
	}
	var k kmsg.OffsetCommitKey
	var v kmsg.OffsetCommitValue
	if err := k.ReadFrom(b.Records[1].Key); err != nil || k.Version != 1 || k.Group != "g" || k.Topic != "t" || k.Partition != 1 {
		t.Fatalf("key %+v: %v", k, err)
	}
	if err := v.ReadFrom(b.Records[1].Value); err != nil || v.Version != 3 || v.Offset != 11 || v.LeaderEpoch != 2 || v.Metadata != "m" ||
		v.CommitTimestamp != clock.Now().UnixMilli() {
		t.Fatalf("value %+v: %v", v, err)
	}
}

// TestTxnOffsetCommitValidation: group status, KIP-447 fencing through
// the generation (v3+), v0-2 commits without member information, unknown
// groups; a rejected commit appends nothing (#55-#58).
func TestTxnOffsetCommitValidation(t *testing.T) {
	clock := newFakeClock()
	store := newMemStore()
	cfg := testConfig()
	c := newTestCoordinator(t, cfg, store, clock)
	instance := "host-1"
	jr := joinReq("g", "", "c", rangeProtocols("t"))
	jr.InstanceID, jr.RequireKnownMemberID = &instance, false
	j := startJoin(c, jr)
	clock.Advance(cfg.InitialRebalanceDelay)
	m := answered(t, j).MemberID
	answered(t, startSync(c, SyncRequest{Group: "g", Generation: 1, MemberID: m, InstanceID: &instance, Assignments: map[string][]byte{m: nil}}))
	other := "host-2"
	for _, tc := range []struct {
		name     string
		group    string
		member   string
		instance *string
		gen      int32
		want     *kerr.Error
	}{
		{name: "v3 wrong generation", group: "g", member: m, instance: &instance, gen: 2, want: kerr.IllegalGeneration},
		{name: "v3 unknown member", group: "g", member: "nobody", gen: 1, want: kerr.UnknownMemberID},
		{name: "v3 instance mapped to another member", group: "g", member: "nobody", instance: &instance, gen: 1, want: kerr.FencedInstanceID},
		{name: "v3 unknown instance", group: "g", member: m, instance: &other, gen: 1, want: kerr.UnknownMemberID},
		{name: "v3 generation without member", group: "g", gen: 1, want: kerr.UnknownMemberID},
		{name: "empty group id", group: "", want: kerr.InvalidGroupID},
		{name: "v3 member of the generation", group: "g", member: m, instance: &instance, gen: 1},
		{name: "v0 commit to a group with members", group: "g", gen: -1},
		{name: "unknown group is created Empty", group: "new", gen: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leo := store.logEnd(0)
			req := txnReq(tc.group, 42, txnOff("t", 0, 10))
			req.MemberID, req.InstanceID, req.Generation = tc.member, tc.instance, tc.gen
			res := c.CommitTransactionalOffsets(context.Background(), req)
			wantErr(t, "commit", res[0].Err, tc.want)
			if grew := store.logEnd(0) != leo; grew != (tc.want == nil) {
				t.Fatalf("log end moved %v (from %d to %d)", grew, leo, store.logEnd(0))
			}
		})
	}
	if s := stateOf(c, "new"); s != "Empty" {
		t.Fatalf("group created by a TxnOffsetCommit is %s", s)
	}
	// A partition not owned (yet) answers as for any group API.
	c.Resigned(0, 1)
	flushTasks(t, c)
	wantErr(t, "not owned", c.CommitTransactionalOffsets(context.Background(), txnReq("g", 42, txnOff("t", 0, 1)))[0].Err, kerr.NotCoordinator)
}

// TestTxnOffsetCommitErrors: metadata too large (#61), append and
// verification errors mapped as offset commit errors (#62), and a failed
// append leaves nothing pending.
func TestTxnOffsetCommitErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		appendErr error
		waitErr   error
		verifyErr *kerr.Error
		want      *kerr.Error
	}{
		{name: "stale producer epoch", appendErr: storage.ErrInvalidProducerEpoch, want: kerr.InvalidProducerEpoch},
		{name: "not leader", appendErr: kerr.NotLeaderForPartition, want: kerr.NotCoordinator},
		{name: "not enough replicas", appendErr: kerr.NotEnoughReplicas, want: kerr.CoordinatorNotAvailable},
		{name: "too large", appendErr: kerr.MessageTooLarge, want: kerr.InvalidCommitOffsetSize},
		{name: "replication timeout", waitErr: kerr.RequestTimedOut, want: kerr.RequestTimedOut},
		{name: "verification network error", verifyErr: kerr.NetworkException, want: kerr.CoordinatorLoadInProgress},
		{name: "verification invalid txn state", verifyErr: kerr.InvalidTxnState, want: kerr.InvalidTxnState},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			c := newTestCoordinator(t, testConfig(), store, newFakeClock())
			store.txnAppendErr, store.waitErr = tc.appendErr, tc.waitErr
			req := txnReq("g", 42, txnOff("t", 0, 10))
			if tc.verifyErr != nil {
				req.Verify = func(context.Context, int32) (uint64, *kerr.Error) { return 0, tc.verifyErr }
			}
			wantErr(t, "commit", c.CommitTransactionalOffsets(context.Background(), req)[0].Err, tc.want)
			wantFetched(t, "nothing pending", fetchOne(t, c, "g", true), -1, nil)
			c.producersMu.Lock()
			open := len(c.openGroupsForProducer)
			c.producersMu.Unlock()
			if open != 0 {
				t.Fatalf("producer still linked to %d groups", open)
			}
		})
	}
	store := newMemStore()
	cfg := testConfig()
	cfg.MaxMetadataSize = 3
	c := newTestCoordinator(t, cfg, store, newFakeClock())
	long := txnOff("t", 1, 11)
	md := "too long"
	long.Metadata = &md
	res := c.CommitTransactionalOffsets(context.Background(), txnReq("g", 42, txnOff("t", 0, 10), long))
	if res[0].Err != nil || res[1].Err != kerr.OffsetMetadataTooLarge || len(store.records(0)) != 1 {
		t.Fatalf("one partition's metadata too large: %+v, %d records", res, len(store.records(0)))
	}
	res = c.CommitTransactionalOffsets(context.Background(), txnReq("g", 42, long))
	if res[0].Err != kerr.OffsetMetadataTooLarge || len(store.records(0)) != 1 {
		t.Fatalf("every partition's metadata too large: %+v, %d records", res, len(store.records(0)))
	}
}

// TestTxnOffsetsKeepTheGroup: an Empty group whose only offsets are a
// transaction's pending ones is not removed by the offset cleanup
// (GroupMetadata.hasOffsets); OffsetDelete drops the pending offsets of
// its partitions; after an abort the group goes.
func TestTxnOffsetsKeepTheGroup(t *testing.T) {
	store := newMemStore()
	c := newTestCoordinator(t, testConfig(), store, newFakeClock())
	ctx := context.Background()
	c.CommitTransactionalOffsets(ctx, txnReq("g", 42, txnOff("t", 0, 10), txnOff("t", 1, 11)))
	c.ExpireOffsets()
	if s := stateOf(c, "g"); s != "Empty" {
		t.Fatalf("group with pending transactional offsets: %s", s)
	}
	if err, _ := c.DeleteOffsets("g", []TopicPartition{{"t", 0}}); err != nil {
		t.Fatal(err)
	}
	wantFetched(t, "deleted pending offset", fetchOne(t, c, "g", true), -1, nil)
	_, got := c.FetchOffsets("g", true, []TopicPartition{{"t", 1}})
	wantFetched(t, "other partition", got[0], -1, kerr.UnstableOffsetCommit)
	store.appendMarker(0, 42, false)
	c.CompleteTransaction(42, 1, []int32{0}, false)
	flushTasks(t, c)
	c.ExpireOffsets()
	if s := stateOf(c, "g"); s != "none" {
		t.Fatalf("group after the abort and a cleanup: %s", s)
	}
}

// logBuilder writes __consumer_offsets batches as the broker would.
type logBuilder struct {
	store *memStore
}

func (l logBuilder) plain(groupID string, o int64) {
	om := offsetAndMetadata{Offset: o, LeaderEpoch: -1, CommitTimestamp: 1, ExpireTimestamp: -1}
	l.store.Append(0, []Record{{Key: offsetCommitKey(groupID, TopicPartition{"t", 0}), Value: offsetCommitValue(om)}}, false)
}

func (l logBuilder) txn(pid int64, groupID string, o int64) {
	om := offsetAndMetadata{Offset: o, LeaderEpoch: -1, CommitTimestamp: 1, ExpireTimestamp: -1}
	l.store.AppendTransactional(0, TxnProducer{ID: pid}, []Record{{Key: offsetCommitKey(groupID, TopicPartition{"t", 0}), Value: offsetCommitValue(om)}})
}

func (l logBuilder) txnTombstone(pid int64, groupID string) {
	l.store.AppendTransactional(0, TxnProducer{ID: pid}, []Record{{Key: offsetCommitKey(groupID, TopicPartition{"t", 0})}})
}

func (l logBuilder) emptyControl(pid int64) {
	l.store.mu.Lock()
	defer l.store.mu.Unlock()
	base := l.store.next[0]
	l.store.batches[0] = append(l.store.batches[0], Batch{BaseOffset: base, ProducerID: pid, Transactional: true, Control: true})
	l.store.next[0] = base + 1
}

// TestLoadTransactionalOffsets: replaying __consumer_offsets, a
// transaction's offsets count from its COMMIT marker, vanish with its
// ABORT marker, and stay pending (UNSTABLE_OFFSET_COMMIT, completed by a
// later CompleteTransaction) without one (GroupMetadataManager
// doLoadGroupsAndOffsets, #60).
func TestLoadTransactionalOffsets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		write   func(l logBuilder)
		want    int64 // the loaded offset of g t-0
		pending bool  // still pending after the load
		after   int64 // after a COMMIT of producer 1 then completed
	}{
		{name: "commit", write: func(l logBuilder) { l.txn(1, "g", 10); l.store.appendMarker(0, 1, true) }, want: 10, after: 10},
		{name: "abort", write: func(l logBuilder) { l.plain("g", 5); l.txn(1, "g", 10); l.store.appendMarker(0, 1, false) }, want: 5, after: 5},
		{name: "no marker yet", write: func(l logBuilder) { l.plain("g", 5); l.txn(1, "g", 10) }, want: 5, pending: true, after: 10},
		{name: "marker of another producer ignored", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.store.appendMarker(0, 2, true)
		}, want: -1, pending: true, after: 10},
		{name: "interleaved producers", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.txn(2, "g", 20)
			l.store.appendMarker(0, 2, true)
			l.store.appendMarker(0, 1, true)
		}, want: 20, after: 20}, // producer 2's record is later in the log
		{name: "interleaved producers, abort of the later", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.txn(2, "g", 20)
			l.store.appendMarker(0, 2, false)
			l.store.appendMarker(0, 1, true)
		}, want: 10, after: 10},
		{name: "plain commit after the txn record wins", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.plain("g", 7)
			l.store.appendMarker(0, 1, true)
		}, want: 7, after: 7},
		{name: "txn across batches", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.txn(1, "g", 11)
			l.store.appendMarker(0, 1, true)
		}, want: 11, after: 11},
		{name: "transactional tombstone", write: func(l logBuilder) {
			l.plain("g", 5)
			l.txn(1, "g", 10)
			l.txnTombstone(1, "g")
			l.store.appendMarker(0, 1, true)
		}, want: 5, after: 5},
		{name: "marker without offsets", write: func(l logBuilder) {
			l.store.appendMarker(0, 1, true)
			l.plain("g", 5)
		}, want: 5, after: 5},
		{name: "empty control batch ignored", write: func(l logBuilder) {
			l.txn(1, "g", 10)
			l.emptyControl(1)
		}, want: -1, pending: true, after: 10},
		{name: "group with only a pending commit", write: func(l logBuilder) { l.txn(1, "g", 10) }, want: -1, pending: true, after: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := newMemStore()
			tc.write(logBuilder{store})
			c := newTestCoordinator(t, testConfig(), store, newFakeClock())
			if s := stateOf(c, "g"); s != "Empty" {
				t.Fatalf("loaded group is %s", s)
			}
			wantFetched(t, "loaded", fetchOne(t, c, "g", false), tc.want, nil)
			if tc.pending {
				wantFetched(t, "loaded, require_stable", fetchOne(t, c, "g", true), -1, kerr.UnstableOffsetCommit)
			} else {
				wantFetched(t, "loaded, require_stable", fetchOne(t, c, "g", true), tc.want, nil)
			}
			store.appendMarker(0, 1, true)
			c.CompleteTransaction(1, 0, []int32{0}, true)
			flushTasks(t, c)
			wantFetched(t, "after a commit marker", fetchOne(t, c, "g", true), tc.after, nil)
		})
	}
}

// TestCompleteTransactionAfterUnload: a marker whose partition was
// unloaded meanwhile leaves the groups alone; the next owner loads the
// outcome from the log.
func TestCompleteTransactionAfterUnload(t *testing.T) {
	store := newMemStore()
	c := newTestCoordinator(t, testConfig(), store, newFakeClock())
	wantErr(t, "commit", c.CommitTransactionalOffsets(context.Background(), txnReq("g", 42, txnOff("t", 0, 10)))[0].Err, nil)
	c.Resigned(0, 1)
	store.appendMarker(0, 42, true)
	c.CompleteTransaction(42, 1, []int32{0}, true)
	flushTasks(t, c)
	c.producersMu.Lock()
	open := len(c.openGroupsForProducer)
	c.producersMu.Unlock()
	if open != 0 || c.getGroup("g") != nil {
		t.Fatalf("unloaded partition: %d producers linked, group %v", open, c.getGroup("g"))
	}
	c.Elected(0, 2)
	waitOwned(t, c, 0)
	wantFetched(t, "reloaded", fetchOne(t, c, "g", true), 10, nil)
}

// FuzzLoadTransactionalOffsets replays random sequences of plain and
// transactional offset commits, transactional tombstones and markers
// (empty control batches too) of a few producers and groups, and checks
// the load against a direct model of doLoadGroupsAndOffsets: a COMMIT
// moves the producer's pending offsets in unless a record later in the log
// is there, ABORT drops them, offsets without a marker stay pending.
func FuzzLoadTransactionalOffsets(f *testing.F) {
	f.Add([]byte{0x10, 0x21, 0x30, 0x11, 0x41, 0x50})
	f.Add([]byte{0x11, 0x12, 0x31, 0x02, 0x61, 0x70, 0x11})
	f.Add([]byte{0x40, 0x11, 0x23, 0x51, 0x63})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		store := newMemStore()
		l := logBuilder{store}
		type key struct {
			group string
			pid   int64
		}
		type rec struct {
			offset int64 // the committed offset
			pos    int64 // the record's batch offset
		}
		committed := map[string]rec{}
		pendingModel := map[key]*rec{} // nil value: tombstoned
		groups := []string{"a", "b"}
		for i, op := range ops {
			pid := int64(op&0x3) + 1
			g := groups[(op>>2)&1]
			pos := store.logEnd(0)
			off := int64(i)
			switch op >> 4 & 0x7 {
			case 0, 1: // transactional commit
				l.txn(pid, g, off)
				pendingModel[key{g, pid}] = &rec{off, pos}
			case 2: // plain commit
				l.plain(g, off)
				committed[g] = rec{off, pos}
			case 3: // transactional tombstone
				l.txnTombstone(pid, g)
				pendingModel[key{g, pid}] = nil
			case 4, 5: // COMMIT or ABORT marker
				commit := op>>4&0x7 == 4
				store.appendMarker(0, pid, commit)
				for k, r := range pendingModel {
					if k.pid != pid {
						continue
					}
					if commit && r != nil {
						if cur, ok := committed[k.group]; !ok || cur.pos < r.pos {
							committed[k.group] = *r
						}
					}
					delete(pendingModel, k)
				}
			default: // an empty control batch (cleaned): no effect
				l.emptyControl(pid)
			}
		}
		c := New(testConfig(), store, newFakeClock(), slog.New(slog.DiscardHandler))
		defer c.Close()
		_, offsets, pending, err := c.readPartition(0)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			want, ok := committed[g]
			got, gotOK := offsets[g][TopicPartition{"t", 0}]
			if ok != gotOK || (ok && (got.om.Offset != want.offset || got.batchOffset != want.pos)) {
				t.Fatalf("group %s: loaded %+v (%v), want %+v (%v)", g, got, gotOK, want, ok)
			}
		}
		for k, r := range pendingModel {
			got, ok := pending[k.group][k.pid][TopicPartition{"t", 0}]
			if r == nil {
				if ok {
					t.Fatalf("tombstoned pending offset of %v loaded: %+v", k, got)
				}
				continue
			}
			if !ok || got.om.Offset != r.offset || got.batchOffset != r.pos {
				t.Fatalf("pending offset of %v: %+v (%v), want %+v", k, got, ok, *r)
			}
		}
		for g, byProducer := range pending {
			for pid, m := range byProducer {
				if _, ok := pendingModel[key{g, pid}]; !ok && len(m) > 0 {
					t.Fatalf("unexpected pending offsets of producer %d in %s: %+v", pid, g, m)
				}
			}
		}
	})
}

// TestDeleteGroupWithPendingTxnOffsets: DeleteGroups removes an Empty
// group even with a transaction's offsets pending
// (GroupCoordinator.handleDeleteGroups looks at the state only); the
// marker that follows finds no group.
func TestDeleteGroupWithPendingTxnOffsets(t *testing.T) {
	store := newMemStore()
	c := newTestCoordinator(t, testConfig(), store, newFakeClock())
	wantErr(t, "commit", c.CommitTransactionalOffsets(context.Background(), txnReq("g", 42, txnOff("t", 0, 10)))[0].Err, nil)
	if res := c.DeleteGroups([]string{"g"}); res[0].Err != nil || stateOf(c, "g") != "none" {
		t.Fatalf("delete: %+v, group %s", res, stateOf(c, "g"))
	}
	store.appendMarker(0, 42, true)
	c.CompleteTransaction(42, 1, []int32{0}, true)
	flushTasks(t, c)
	c.producersMu.Lock()
	open := len(c.openGroupsForProducer)
	c.producersMu.Unlock()
	if open != 0 || stateOf(c, "g") != "none" {
		t.Fatalf("after the marker: %d producers linked, group %s", open, stateOf(c, "g"))
	}
}
