package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// producerBatch is a batch of n records from producer pid at epoch,
// starting at sequence seq; txn sets the transactional bit.
func producerBatch(t testing.TB, pid int64, epoch int16, seq int32, n int, txn bool) []byte {
	t.Helper()
	var attrs int16
	if txn {
		attrs = attrTransactional
	}
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Offset: int64(i), Timestamp: 1000 + int64(i), Key: []byte{byte(i)}, Value: []byte("v")}
	}
	b, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, Attributes: attrs, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// at places a batch at offset for a follower append.
func at(b []byte, offset int64) []byte {
	patchBatch(b, offset, 1)
	return b
}

func marker(t testing.TB, pid int64, epoch int16, coordEpoch int32, commit bool) []byte {
	t.Helper()
	b, err := BuildEndTxnMarker(EndTxnMarker{ProducerID: pid, ProducerEpoch: epoch, CoordinatorEpoch: coordEpoch, Commit: commit, Timestamp: 5000})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openTestLog(t testing.TB) *Log {
	t.Helper()
	l := mustOpen(t, t.TempDir(), DefaultLogConfig(), false)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("%s: %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// Kafka's EndTransactionMarker and MemoryRecords.withEndTransactionMarker
// (research table case 1).
func TestBuildEndTxnMarker(t *testing.T) {
	b := marker(t, 7, 3, 5, true)
	if len(b) != EndTxnMarkerBatchSize {
		t.Fatalf("marker batch is %d bytes, want %d", len(b), EndTxnMarkerBatchSize)
	}
	h, err := checkBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Attributes != 0x30 || h.BaseSequence != -1 || h.ProducerID != 7 || h.ProducerEpoch != 3 || h.RecordCount != 1 ||
		h.LastOffsetDelta != 0 || h.PartitionLeaderEpoch != -1 || h.BaseTimestamp != 5000 || h.MaxTimestamp != 5000 {
		t.Fatalf("header %+v", h)
	}
	recs, err := Records(b)
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %v %v", recs, err)
	}
	if !bytes.Equal(recs[0].Key, []byte{0, 0, 0, 1}) || !bytes.Equal(recs[0].Value, []byte{0, 0, 0, 0, 0, 5}) || len(recs[0].Headers) != 0 {
		t.Fatalf("record key %x value %x", recs[0].Key, recs[0].Value)
	}
	mk, ts, ok, err := readEndTxnMarker(b, h)
	if err != nil || !ok || !mk.commit || mk.coordinatorEpoch != 5 || ts != 5000 {
		t.Fatalf("read back %+v %d %v %v", mk, ts, ok, err)
	}
	abort := marker(t, 7, 3, 5, false)
	if ra, _ := Records(abort); !bytes.Equal(ra[0].Key, []byte{0, 0, 0, 0}) {
		t.Fatalf("abort key %x", ra[0].Key)
	}
}

// ControlRecordType.parse and EndTransactionMarker.deserialize (cases 2, 3).
func TestParseEndTxnMarker(t *testing.T) {
	val := []byte{0, 0, 0, 0, 0, 9}
	cases := []struct {
		name       string
		key, value []byte
		commit     bool
		want       error
	}{
		{"commit", []byte{0, 0, 0, 1}, val, true, nil},
		{"abort", []byte{0, 0, 0, 0}, val, false, nil},
		{"key version 1 read as 0", []byte{0, 1, 0, 0}, val, false, nil},
		{"value version 1 and extra bytes", []byte{0, 0, 0, 1}, []byte{0, 1, 0, 0, 0, 9, 7, 7}, true, nil},
		{"key of 3 bytes", []byte{0, 0, 0}, val, false, ErrInvalidRecord},
		{"value of 5 bytes", []byte{0, 0, 0, 1}, val[:5], false, ErrInvalidRecord},
		{"key version -1", []byte{0xff, 0xff, 0, 1}, val, false, ErrInvalidRecord},
		{"value version -1", []byte{0, 0, 0, 1}, []byte{0xff, 0xff, 0, 0, 0, 9}, false, ErrInvalidRecord},
		{"leader change is no marker", []byte{0, 0, 0, 2}, val, false, ErrInvalidRecord},
		{"unknown type", []byte{0, 0, 0, 77}, val, false, ErrInvalidRecord},
		{"null value", []byte{0, 0, 0, 1}, nil, false, ErrInvalidRecord},
	}
	for _, c := range cases {
		commit, ce, err := ParseEndTxnMarker(c.key, c.value)
		wantErr(t, c.name, err, c.want)
		if c.want == nil && (commit != c.commit || ce != 9) {
			t.Errorf("%s: commit %v coordinator epoch %d", c.name, commit, ce)
		}
	}
	if typ, err := ParseControlRecordKey([]byte{0, 0, 0, 77}); err != nil || typ != ControlUnknown {
		t.Fatalf("unknown control type: %v %v", typ, err)
	}
}

// A client may not write control batches (case 4).
func TestProduceControlBatchRefused(t *testing.T) {
	l := openTestLog(t)
	_, err := l.AppendAsLeader(marker(t, 1, 0, 0, true), 1, false)
	wantErr(t, "control batch from a client", err, ErrInvalidRecord)
	if l.LogEndOffset() != 0 {
		t.Fatal("written")
	}
}

// ProducerAppendInfo's data-batch rules on AppendAsLeader (cases 5-9, 15).
func TestProducerAppendRules(t *testing.T) {
	type step struct {
		name  string
		batch func(t testing.TB) []byte
		want  error
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"continues", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 0, 5, false) }, nil},
			{"next", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 5, 1, false) }, nil},
		}},
		{"gap", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 0, 5, false) }, nil},
			{"gap", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 6, 1, false) }, ErrOutOfOrderSequence},
		}},
		{"repeat of an older sequence", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 0, 5, false) }, nil},
			{"overlap", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 2, 1, false) }, ErrOutOfOrderSequence},
		}},
		{"older epoch", []step{
			{"epoch 2", func(t testing.TB) []byte { return producerBatch(t, 1, 2, 0, 1, false) }, nil},
			{"epoch 1", func(t testing.TB) []byte { return producerBatch(t, 1, 1, 1, 1, false) }, ErrInvalidProducerEpoch},
		}},
		{"newer epoch from 0", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 0, 5, false) }, nil},
			{"bump", func(t testing.TB) []byte { return producerBatch(t, 7, 4, 0, 1, false) }, nil},
		}},
		{"newer epoch not from 0", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 7, 3, 0, 5, false) }, nil},
			{"bump", func(t testing.TB) []byte { return producerBatch(t, 7, 4, 3, 1, false) }, ErrOutOfOrderSequence},
		}},
		{"unknown producer, any sequence", []step{
			{"seq 42", func(t testing.TB) []byte { return producerBatch(t, 8, 0, 42, 1, false) }, nil},
		}},
		{"sequence wraps", []step{
			{"to max", func(t testing.TB) []byte { return producerBatch(t, 8, 0, math.MaxInt32-1, 2, false) }, nil},
			{"0", func(t testing.TB) []byte { return producerBatch(t, 8, 0, 0, 1, false) }, nil},
		}},
		{"non-transactional write in a transaction", []step{
			{"txn", func(t testing.TB) []byte { return producerBatch(t, 1, 0, 0, 2, true) }, nil},
			{"plain", func(t testing.TB) []byte { return producerBatch(t, 1, 0, 2, 1, false) }, ErrInvalidTxnState},
		}},
		{"duplicate", []step{
			{"first", func(t testing.TB) []byte { return producerBatch(t, 1, 0, 0, 2, false) }, nil},
			{"retry", func(t testing.TB) []byte { return producerBatch(t, 1, 0, 0, 2, false) }, nil},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := openTestLog(t)
			for _, s := range c.steps {
				leo := l.LogEndOffset()
				_, err := l.AppendAsLeader(s.batch(t), 1, false)
				wantErr(t, s.name, err, s.want)
				if s.want != nil && l.LogEndOffset() != leo {
					t.Fatalf("%s: refused append moved the LEO from %d to %d", s.name, leo, l.LogEndOffset())
				}
			}
		})
	}
}

// The last numBatchesToRetain batches are duplicates; older ones are not.
func TestProducerDuplicateWindow(t *testing.T) {
	l := openTestLog(t)
	for i := range 7 {
		if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, int32(i*2), 2, false), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	dup, err := l.AppendAsLeader(producerBatch(t, 1, 0, 12, 2, false), 1, false)
	if err != nil || dup.FirstOffset != 12 || dup.LastOffset != 13 || len(dup.Batches) != 0 || l.LogEndOffset() != 14 {
		t.Fatalf("retry of the last batch: %+v %v", dup, err)
	}
	if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 0, 2, false), 1, false); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("retry of a batch beyond the window: %v", err)
	}
}

// A follower accepts what a leader would refuse for fencing (case 6).
func TestFollowerFencingOnlyLogged(t *testing.T) {
	l := openTestLog(t)
	if _, err := l.AppendAsFollower(at(producerBatch(t, 1, 2, 0, 1, false), 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsFollower(at(producerBatch(t, 1, 1, 1, 1, false), 1)); err != nil {
		t.Fatalf("older epoch on a follower: %v", err)
	}
	// A marker with an older coordinator epoch, too (case 10).
	if _, err := l.AppendAsFollower(at(producerBatch(t, 2, 0, 0, 1, true), 2)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsFollower(at(marker(t, 2, 0, 5, true), 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsFollower(at(marker(t, 2, 0, 4, true), 4)); err != nil {
		t.Fatalf("older coordinator epoch on a follower: %v", err)
	}
}

// ProducerAppendInfo.appendEndTxnMarker (cases 10-14).
func TestEndTxnMarkerRules(t *testing.T) {
	l := openTestLog(t)
	if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 0, 2, true), 1, false); err != nil {
		t.Fatal(err)
	}
	if !l.HasOngoingTransaction(1, 0) {
		t.Fatal("no ongoing transaction after a transactional batch")
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 5, Commit: true}, 1); err != nil {
		t.Fatal(err)
	}
	if l.HasOngoingTransaction(1, 0) {
		t.Fatal("transaction still open after its marker")
	}
	leo := l.LogEndOffset()
	_, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 4, Commit: true}, 1)
	wantErr(t, "older coordinator epoch", err, ErrTransactionCoordinatorFenced)
	// Case 13: a marker for a producer without an open transaction.
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 5, Commit: false}, 1); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != leo+1 {
		t.Fatal("the empty transaction's marker is not in the log")
	}
	if got, _ := l.AbortedTransactions(0, 100); len(got) != 0 {
		t.Fatalf("empty transaction indexed: %v", got)
	}
	// Case 12: the coordinator's fencing abort carries the bumped epoch.
	if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 2, 1, true), 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 1, CoordinatorEpoch: 5}, 1); err != nil {
		t.Fatal(err)
	}
	ps := l.ActiveProducers()
	if len(ps) != 1 || ps[0].ProducerEpoch != 1 || ps[0].LastSequence != -1 || ps[0].CurrentTxnStartOffset != -1 || ps[0].CoordinatorEpoch != 5 || ps[0].LastTimestamp != 0 {
		t.Fatalf("after the fencing abort: %+v", ps)
	}
	// Case 11: the zombie's epoch is fenced, data and markers alike.
	_, err = l.AppendAsLeader(producerBatch(t, 1, 0, 3, 1, true), 1, false)
	wantErr(t, "zombie data", err, ErrInvalidProducerEpoch)
	_, err = l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 0, CoordinatorEpoch: 5}, 1)
	wantErr(t, "zombie marker", err, ErrInvalidProducerEpoch)
	// The bumped epoch starts over at sequence 0.
	_, err = l.AppendAsLeader(producerBatch(t, 1, 1, 3, 1, false), 1, false)
	wantErr(t, "bumped epoch at sequence 3", err, ErrOutOfOrderSequence)
	if _, err := l.AppendAsLeader(producerBatch(t, 1, 1, 0, 1, false), 1, false); err != nil {
		t.Fatal(err)
	}
	// Case 14: an empty control batch (the cleaner's) changes nothing.
	empty, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, Attributes: attrTransactional | attrControl, ProducerID: 1, ProducerEpoch: 1, BaseSequence: -1, MaxTimestamp: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := l.ActiveProducers()
	if _, err := l.AppendAsFollower(at(empty, l.LogEndOffset())); err != nil {
		t.Fatal(err)
	}
	if after := l.ActiveProducers(); after[0] != before[0] {
		t.Fatalf("empty control batch changed the state: %+v -> %+v", before, after)
	}
}

// The LSO (UnifiedLog.lastStableOffset; cases 16-19 and research §3's
// worked example).
func TestLastStableOffset(t *testing.T) {
	l := openTestLog(t)
	for i := 0; i < 10; i++ {
		if _, err := l.AppendAsLeader(buildBatch(t, batchSpec{}), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	l.SetHighWatermark(10)
	if lso := l.LastStableOffset(); lso != 10 {
		t.Fatalf("no transactions: LSO %d, want the HW 10", lso)
	}
	if _, ok := l.FirstUnstableOffset(); ok {
		t.Fatal("first unstable offset without transactions")
	}
	mustAppend := func(b []byte) {
		t.Helper()
		if _, err := l.AppendAsLeader(b, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	mustMarker := func(pid int64, commit bool) {
		t.Helper()
		if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: pid, CoordinatorEpoch: 0, Commit: commit}, 1); err != nil {
			t.Fatal(err)
		}
	}
	mustAppend(producerBatch(t, 1, 0, 0, 1, true)) // P1 @10
	mustAppend(producerBatch(t, 2, 0, 0, 1, true)) // P2 @11
	l.SetHighWatermark(12)
	if lso := l.LastStableOffset(); lso != 10 {
		t.Fatalf("LSO %d, want 10", lso)
	}
	mustMarker(1, true) // @12
	for _, c := range []struct{ hw, want int64 }{{12, 10}, {13, 11}} {
		hw, want := c.hw, c.want
		l.SetHighWatermark(hw)
		if lso := l.LastStableOffset(); lso != want {
			t.Fatalf("HW %d: LSO %d, want %d", hw, lso, want)
		}
	}
	mustMarker(2, false) // @13
	if lso := l.LastStableOffset(); lso != 11 {
		t.Fatalf("abort not replicated: LSO %d, want 11", lso)
	}
	l.SetHighWatermark(14)
	if lso := l.LastStableOffset(); lso != 14 {
		t.Fatalf("all decided and replicated: LSO %d, want the HW 14", lso)
	}
	got, err := l.AbortedTransactions(0, 100)
	if err != nil || len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 2, FirstOffset: 11, LastOffset: 13, LastStableOffset: 14}) {
		t.Fatalf("aborted %v %v", got, err)
	}
}

// A follower keeps the same producer state, LSO and index (case 20) and
// keeps them through a truncation.
func TestFollowerMaintainsTransactions(t *testing.T) {
	leader, follower := openTestLog(t), openTestLog(t)
	appends := []func() (AppendInfo, error){
		func() (AppendInfo, error) { return leader.AppendAsLeader(producerBatch(t, 1, 0, 0, 2, true), 1, false) },
		func() (AppendInfo, error) { return leader.AppendAsLeader(producerBatch(t, 2, 0, 0, 1, true), 1, false) },
		func() (AppendInfo, error) {
			return leader.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, CoordinatorEpoch: 3}, 1)
		},
		func() (AppendInfo, error) {
			return leader.AppendAsLeader(producerBatch(t, 3, 0, 0, 1, false), 1, false)
		},
	}
	for _, a := range appends {
		info, err := a()
		if err != nil {
			t.Fatal(err)
		}
		fs, err := leader.Read(info.FirstOffset, 1<<20, info.LastOffset+1, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := follower.AppendAsFollower(readSlice(t, fs)); err != nil {
			t.Fatal(err)
		}
	}
	for _, hw := range []int64{3, 4, 5} {
		leader.SetHighWatermark(hw)
		follower.SetHighWatermark(hw)
		if a, b := leader.LastStableOffset(), follower.LastStableOffset(); a != b {
			t.Fatalf("HW %d: leader LSO %d, follower %d", hw, a, b)
		}
	}
	la, _ := leader.AbortedTransactions(0, 100)
	fa, _ := follower.AbortedTransactions(0, 100)
	if len(la) != 1 || len(fa) != 1 || la[0] != fa[0] {
		t.Fatalf("aborted: leader %v follower %v", la, fa)
	}
	if lp, fp := leader.ActiveProducers(), follower.ActiveProducers(); len(lp) != 3 || len(fp) != 3 || lp[0] != fp[0] || lp[1] != fp[1] || lp[2] != fp[2] {
		t.Fatalf("producers: leader %+v follower %+v", lp, fp)
	}
	// Truncating the abort marker reopens P1's transaction and drops
	// its index entry (research §14).
	if err := follower.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if !follower.HasOngoingTransaction(1, 0) {
		t.Fatal("the truncated marker's transaction is not open again")
	}
	if fa, _ := follower.AbortedTransactions(0, 100); len(fa) != 0 {
		t.Fatalf("index entry of a truncated marker: %v", fa)
	}
	if off, ok := follower.FirstUnstableOffset(); !ok || off != 0 {
		t.Fatalf("first unstable offset %d %v, want 0", off, ok)
	}
}

// KIP-890 part 1 (research §2.4a, case 67).
func TestTransactionVerificationGuard(t *testing.T) {
	l := openTestLog(t)
	g := l.MaybeStartTransactionVerification(1, 0, 0)
	if g == 0 {
		t.Fatal("no guard for a producer without a transaction")
	}
	if again := l.MaybeStartTransactionVerification(1, 0, 0); again != g {
		t.Fatal("a second verification got another guard")
	}
	_, err := l.AppendAsLeaderVerified(producerBatch(t, 1, 0, 0, 1, true), 1, false, g+100)
	wantErr(t, "stale guard", err, ErrInvalidTxnState)
	if _, err := l.AppendAsLeaderVerified(producerBatch(t, 1, 0, 0, 1, true), 1, false, g); err != nil {
		t.Fatal(err)
	}
	if g2 := l.MaybeStartTransactionVerification(1, 1, 0); g2 != 0 {
		t.Fatal("a producer with an ongoing transaction needs no verification")
	}
	// ABA: verify, the transaction aborts, a new transaction with the old guard.
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, ProducerEpoch: 0}, 1); err != nil {
		t.Fatal(err)
	}
	_, err = l.AppendAsLeaderVerified(producerBatch(t, 1, 0, 1, 1, true), 1, false, g)
	wantErr(t, "guard of an earlier transaction", err, ErrInvalidTxnState)
	// The lowest sequence seen while verifying bounds the first batch.
	g3 := l.MaybeStartTransactionVerification(1, 1, 0)
	_, err = l.AppendAsLeaderVerified(producerBatch(t, 1, 0, 2, 1, true), 1, false, g3)
	wantErr(t, "first batch above the verified sequence", err, ErrOutOfOrderSequence)
}

// The log's producer state survives a follower append and a reopen.
func TestProducerStateRebuiltAtOpen(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, DefaultLogConfig(), false)
	if _, err := l.AppendAsLeader(producerBatch(t, 9, 0, 0, 3, false), 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsLeader(producerBatch(t, 4, 0, 0, 1, true), 1, false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 4, CoordinatorEpoch: 2}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsLeader(producerBatch(t, 5, 0, 0, 1, true), 1, false); err != nil {
		t.Fatal(err)
	}
	want := l.ActiveProducers()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, recover := range []bool{false, true} {
		// Without snapshots the whole log is replayed (a snapshot, as
		// Kafka's, does not hold the not yet replicated abort).
		if err := deleteProducerSnapshotsWhere(OSFileSystem{}, dir, func(int64) bool { return true }); err != nil {
			t.Fatal(err)
		}
		l = mustOpen(t, dir, DefaultLogConfig(), recover)
		if off, ok := l.FirstUnstableOffset(); !ok || off != 3 {
			t.Fatalf("recover %v: first unstable offset %d %v before the HW is set, want 3 (the abort is not known replicated)", recover, off, ok)
		}
		l.SetHighWatermark(l.LogEndOffset())
		if got := l.ActiveProducers(); len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Fatalf("recover %v: producers %+v, want %+v", recover, got, want)
		}
		if off, ok := l.FirstUnstableOffset(); !ok || off != 5 {
			t.Fatalf("recover %v: first unstable offset %d %v, want 5", recover, off, ok)
		}
		if a, _ := l.AbortedTransactions(0, 100); len(a) != 1 || a[0] != (AbortedTxn{ProducerID: 4, FirstOffset: 3, LastOffset: 4, LastStableOffset: 5}) {
			t.Fatalf("recover %v: aborted %v", recover, a)
		}
		dup, err := l.AppendAsLeader(producerBatch(t, 9, 0, 0, 3, false), 1, false)
		if err != nil || len(dup.Batches) != 0 || dup.FirstOffset != 0 {
			t.Fatalf("recover %v: retry after reopening: %+v %v", recover, dup, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInSequenceWraps(t *testing.T) {
	if !inSequence(math.MaxInt32, 0) || !inSequence(4, 5) || inSequence(4, 6) || inSequence(math.MaxInt32, math.MinInt32) {
		t.Fatal("sequence arithmetic is wrong")
	}
}

// A refused batch in the middle of an append leaves the log and the
// producer state as they were (research §14).
func TestRefusedAppendChangesNothing(t *testing.T) {
	l := openTestLog(t)
	if _, err := l.AppendAsFollower(at(producerBatch(t, 1, 0, 0, 1, true), 0)); err != nil {
		t.Fatal(err)
	}
	before := l.ActiveProducers()
	fetched := append(at(producerBatch(t, 2, 0, 0, 1, true), 1), at(producerBatch(t, 1, 0, 1, 1, false), 2)...)
	_, err := l.AppendAsFollower(fetched)
	wantErr(t, "plain batch of a producer in a transaction, second of two", err, ErrInvalidTxnState)
	if l.LogEndOffset() != 1 {
		t.Fatalf("LEO %d, want 1", l.LogEndOffset())
	}
	if after := l.ActiveProducers(); len(after) != 1 || after[0] != before[0] {
		t.Fatalf("state %+v, want %+v", after, before)
	}
	if l.HasOngoingTransaction(2, 0) {
		t.Fatal("the refused append's transaction was started")
	}
}

// The new errors carry Kafka's codes (protocol.ErrorCode finds them
// through Unwrap).
func TestTxnErrorCodes(t *testing.T) {
	for err, code := range map[error]int16{ErrInvalidTxnState: 48, ErrTransactionCoordinatorFenced: 52, ErrInvalidProducerEpoch: 47, ErrOutOfOrderSequence: 45} {
		var ke *kerr.Error
		if !errors.As(fmt.Errorf("wrapped: %w", err), &ke) || ke.Code != code {
			t.Errorf("%v: code %v, want %d", err, ke, code)
		}
	}
}

// Readers of the transaction state run beside appends, markers and
// high-watermark moves (go test -race).
func TestTxnStateConcurrentReaders(t *testing.T) {
	l := openTestLog(t)
	done := make(chan struct{})
	readers := make(chan struct{})
	go func() {
		defer close(readers)
		for {
			select {
			case <-done:
				return
			default:
			}
			// The HW only grows here: read it after the LSO, which was
			// computed against it or an older one.
			lso := l.LastStableOffset()
			if hw := l.HighWatermark(); lso > hw {
				t.Errorf("LSO %d above the HW %d", lso, hw)
				return
			}
			_, _ = l.AbortedTransactions(0, 1<<40)
			_ = l.ActiveProducers()
			_ = l.HasOngoingTransaction(1, 0)
			_ = l.MaybeStartTransactionVerification(2, 0, 0)
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, int32(i), 1, true), 1, false); err != nil {
			t.Fatal(err)
		}
		if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1, Commit: i%2 == 0}, 1); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(l.LogEndOffset())
	}
	close(done)
	<-readers
	if got, _ := l.AbortedTransactions(0, 1<<40); len(got) != 25 {
		t.Fatalf("%d aborted transactions, want 25", len(got))
	}
}

// A follower's fetch may carry batches of many producers: each is
// checked against its own state within the append.
func TestFollowerAppendManyProducers(t *testing.T) {
	l := openTestLog(t)
	var fetched []byte
	off := int64(0)
	for round := int32(0); round < 2; round++ {
		for pid := int64(1); pid <= 20; pid++ {
			fetched = append(fetched, at(producerBatch(t, pid, 0, round, 1, pid%2 == 0), off)...)
			off++
		}
	}
	if _, err := l.AppendAsFollower(fetched); err != nil {
		t.Fatal(err)
	}
	ps := l.ActiveProducers()
	if len(ps) != 20 {
		t.Fatalf("%d producers, want 20", len(ps))
	}
	for _, p := range ps {
		wantTxn := int64(-1)
		if p.ProducerID%2 == 0 {
			wantTxn = p.ProducerID - 1
		}
		if p.LastSequence != 1 || p.CurrentTxnStartOffset != wantTxn {
			t.Fatalf("producer %+v", p)
		}
	}
	// The same within one append: a plain batch after a transactional one.
	bad := append(at(producerBatch(t, 99, 0, 0, 1, true), off), at(producerBatch(t, 99, 0, 1, 1, false), off+1)...)
	_, err := l.AppendAsFollower(bad)
	wantErr(t, "plain after transactional in one append", err, ErrInvalidTxnState)
}

// The cleaner's views of the state: each producer's last data offset and
// epoch (LastRecord), the aborted transactions from a segment on; and the
// late-transaction check.
func TestTxnStateForCleanerAndLateTxn(t *testing.T) {
	l := openTestLog(t)
	if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 0, 2, true), 1, false); err != nil { // 0-1, ts 1000-1001
		t.Fatal(err)
	}
	if _, err := l.AppendAsLeader(producerBatch(t, 2, 0, 0, 1, true), 1, false); err != nil { // 2
		t.Fatal(err)
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 2, ProducerEpoch: 1}, 1); err != nil { // 3
		t.Fatal(err)
	}
	lr := l.lastRecordsOfActiveProducers()
	if lr[1] != (lastRecord{lastDataOffset: 1, epoch: 0}) || lr[2] != (lastRecord{lastDataOffset: -1, epoch: 1}) {
		t.Fatalf("last records %+v", lr)
	}
	if got := l.collectAbortedTransactionsForCleaning(0, 4); len(got) != 1 || got[0].ProducerID != 2 {
		t.Fatalf("aborted for cleaning %v", got)
	}
	const maxTimeout = 900000
	if l.HasLateTransaction(1001+maxTimeout+lateTransactionBufferMs, maxTimeout) {
		t.Fatal("late at the limit")
	}
	if !l.HasLateTransaction(1002+maxTimeout+lateTransactionBufferMs, maxTimeout) {
		t.Fatal("not late past the limit")
	}
}
