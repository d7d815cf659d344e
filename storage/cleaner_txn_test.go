package storage

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// txnDataBatch is a transactional batch of producer pid, epoch epoch.
func txnDataBatch(t testing.TB, pid int64, epoch int16, transactional bool, ts int64, recs []kv) []byte {
	t.Helper()
	h := BatchHeader{PartitionLeaderEpoch: -1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: 0, LastOffsetDelta: int32(len(recs) - 1)}
	if transactional {
		h.Attributes |= attrTransactional
	}
	rs := make([]Record, len(recs))
	for i, r := range recs {
		rs[i] = Record{Offset: int64(i), Timestamp: ts + int64(i), Key: r.key, KeyNull: r.key == nil, Value: r.val, ValueNull: r.val == nil}
	}
	b, err := BuildBatch(h, rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// txnMarker is an end-transaction marker (a control batch of one record:
// key {version 0, type}, value {version 0, coordinator epoch}).
func txnMarker(t testing.TB, pid int64, epoch int16, commit bool, ts int64) []byte {
	t.Helper()
	key := []byte{0, 0, 0, controlTypeAbort}
	if commit {
		key[3] = controlTypeCommit
	}
	val := make([]byte, 6)
	binary.BigEndian.PutUint32(val[2:], 5)
	h := BatchHeader{Attributes: attrTransactional | attrControl, PartitionLeaderEpoch: -1, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: -1}
	b, err := BuildBatch(h, []Record{{Offset: 0, Timestamp: ts, Key: key, Value: val}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// batchList prints a log's batches: [base-last pid n records flags].
func batchList(t testing.TB, l *Log) string {
	t.Helper()
	recs, hs := readRecords(t, l)
	var out []string
	ri := 0
	for _, h := range hs {
		s := fmt.Sprintf("%d-%d p%d n%d", h.BaseOffset, h.LastOffset(), h.ProducerID, h.RecordCount)
		switch {
		case h.IsControl():
			s += " ctl"
		case h.IsTransactional():
			s += " txn"
		}
		if h.Attributes&attrDeleteHorizon != 0 {
			s += fmt.Sprintf(" h%d", h.BaseTimestamp)
		}
		if !h.IsControl() {
			for range max(h.RecordCount, 0) {
				s += " " + string(recs[ri].Key) + "=" + string(recs[ri].Value)
				ri++
			}
		} else {
			ri += int(max(h.RecordCount, 0))
		}
		out = append(out, "["+s+"]")
	}
	return strings.Join(out, " ")
}

// abortedList prints the log's .txnindex entries: [first-last pPID].
func abortedList(t testing.TB, l *Log) string {
	t.Helper()
	ts, err := l.AbortedTransactions(l.LogStartOffset(), l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range ts {
		out = append(out, fmt.Sprintf("[%d-%d p%d]", a.FirstOffset, a.LastOffset, a.ProducerID))
	}
	return strings.Join(out, " ")
}

// §13 cases 46-48, 50 (LogCleanerTest.testAbortMarkerRemoval,
// testCommitMarkerRemoval, testAbortedTransactionsNotShadow...,
// testEmptyBatchRemovalWithSequences): aborted data goes in the first
// pass and never shadows an older committed value; a marker stays while
// its transaction's data is there, gets a delete horizon in the first pass
// that finds none, and goes in a pass after the horizon, unless it is its
// producer's last record (then an empty batch).
func TestCleanerTransactions(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), compactConfig(), false)
	defer l.Close()
	appendAll := func(bs ...[]byte) {
		for _, b := range bs {
			mustAppend(t, l, b)
		}
	}
	appendAll(
		compactBatch(t, CodecNone, -1, 100, []kv{{str("a"), str("v1")}}),    // 0
		txnDataBatch(t, 1, 0, true, 101, []kv{{str("a"), str("x")}}),        // 1 aborted
		txnMarker(t, 1, 0, false, 102),                                      // 2 ABORT
		txnDataBatch(t, 2, 0, true, 103, []kv{{str("b"), str("v2")}}),       // 3 committed
		txnMarker(t, 2, 0, true, 104),                                       // 4 COMMIT
		compactBatch(t, CodecNone, -1, 105, []kv{{str("b"), str("v3")}}),    // 5 shadows b=v2
		txnDataBatch(t, 3, 0, true, 106, []kv{{str("c"), str("y")}}),        // 6 aborted by
		txnMarker(t, 3, 1, false, 107),                                      // 7 a fencing ABORT (epoch bump): pid 3's last record
		compactBatch(t, CodecNone, -1, 108, []kv{{str("d"), str("1")}}),     // 8
		txnDataBatch(t, 4, 0, true, 109, []kv{{str("e"), str("kept")}}),     // 9 committed, last of pid 4
		txnMarker(t, 4, 0, true, 110),                                       // 10 COMMIT
		compactBatch(t, CodecNone, -1, 111, []kv{{str("e"), str("later")}}), // 11 shadows e=kept
		txnDataBatch(t, 5, 0, false, 112, []kv{{str("d5"), str("2")}}),      // 12 idempotent
		txnDataBatch(t, 1, 0, false, 113, []kv{{str("z"), str("1")}}),       // 13 pid 1 goes on
		txnDataBatch(t, 2, 0, false, 114, []kv{{str("y"), str("2")}}),       // 14 pid 2 goes on
		compactBatch(t, CodecNone, -1, 115, []kv{{str("f"), str("1")}}),     // 15
		compactBatch(t, CodecNone, -1, 116, []kv{{str("g"), str("1")}}),     // 16
		compactBatch(t, CodecNone, -1, 117, []kv{{str("h"), str("1")}}),     // 17
	)
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	appendAll(compactBatch(t, CodecNone, -1, 200, []kv{{str("active"), str("1")}}))
	if got := abortedList(t, l); got != "[1-2 p1] [6-7 p3]" {
		t.Fatalf("txn index before cleaning: %s", got)
	}
	passes := []struct {
		now     int64
		want    string
		aborted string // the .txnindex entries left
	}{
		// Aborted data gone (pid 1's and pid 3's: neither is its producer's
		// last record); a=v1 survives; markers with data seen stay as they
		// are; pid 4's superseded committed batch stays empty (last data of
		// pid 4).
		{1000, "[0-0 p-1 n1 a=v1] [2-2 p1 n1 ctl] [4-4 p2 n1 ctl] [5-5 p-1 n1 b=v3] [7-7 p3 n1 ctl] [8-8 p-1 n1 d=1] " +
			"[9-9 p4 n0 txn] [10-10 p4 n1 ctl] [11-11 p-1 n1 e=later] [12-12 p5 n1 d5=2]", "[1-2 p1] [6-7 p3]"},
		// No data of those transactions left: markers get horizon now+1000,
		// except pid 4's COMMIT whose (empty) batch is still read.
		{2000, "[0-0 p-1 n1 a=v1] [2-2 p1 n1 ctl h3000] [4-4 p2 n1 ctl h3000] [5-5 p-1 n1 b=v3] [7-7 p3 n1 ctl h3000] [8-8 p-1 n1 d=1] " +
			"[9-9 p4 n0 txn] [10-10 p4 n1 ctl] [11-11 p-1 n1 e=later] [12-12 p5 n1 d5=2]", ""},
		// Before the horizon nothing changes.
		{2999, "[0-0 p-1 n1 a=v1] [2-2 p1 n1 ctl h3000] [4-4 p2 n1 ctl h3000] [5-5 p-1 n1 b=v3] [7-7 p3 n1 ctl h3000] [8-8 p-1 n1 d=1] " +
			"[9-9 p4 n0 txn] [10-10 p4 n1 ctl] [11-11 p-1 n1 e=later] [12-12 p5 n1 d5=2]", ""},
		// At the horizon the markers go; pid 3's, its last record, stays empty.
		{3000, "[0-0 p-1 n1 a=v1] [5-5 p-1 n1 b=v3] [7-7 p3 n0 ctl] [8-8 p-1 n1 d=1] " +
			"[9-9 p4 n0 txn] [10-10 p4 n1 ctl] [11-11 p-1 n1 e=later] [12-12 p5 n1 d5=2]", ""},
	}
	for _, p := range passes {
		if _, err := cleanAt(t, l, -1, p.now, nil); err != nil {
			t.Fatalf("clean at %d: %v", p.now, err)
		}
		got := batchList(t, l)
		tail := " [13-13 p1 n1 z=1] [14-14 p2 n1 y=2] [15-15 p-1 n1 f=1] [16-16 p-1 n1 g=1] [17-17 p-1 n1 h=1] [18-18 p-1 n1 active=1]"
		if got != p.want+tail {
			t.Fatalf("after the clean at %d:\n got %s\nwant %s", p.now, got, p.want+tail)
		}
		if got := abortedList(t, l); got != p.aborted {
			t.Fatalf("txn index after the clean at %d: %q, want %q", p.now, got, p.aborted)
		}
	}
}

// §13 case 49 (LogCleanerManagerTest.testUndecidedTransactionalDataNotCleanable):
// the cleaner stops at the first offset of an open transaction.
func TestCleanerStopsAtOpenTransaction(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), compactConfig(), false)
	defer l.Close()
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 100, []kv{{str("a"), str("1")}}))
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 101, []kv{{str("a"), str("2")}}))
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, txnDataBatch(t, 4, 0, true, 102, []kv{{str("a"), str("open")}})) // 2: open transaction
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 103, []kv{{str("a"), str("3")}}))
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 104, []kv{{str("b"), str("1")}}))
	stats, err := cleanAt(t, l, -1, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stats.EndOffset > 2 {
		t.Fatalf("cleaned up to %d, past the open transaction at 2", stats.EndOffset)
	}
	want := "[1-1 p-1 n1 a=2] [2-2 p4 n1 txn a=open] [3-3 p-1 n1 a=3] [4-4 p-1 n1 b=1]"
	if got := batchList(t, l); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	// The marker closes it: everything below the active segment is cleanable.
	mustAppend(t, l, txnMarker(t, 4, 0, true, 105))
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 106, []kv{{str("c"), str("1")}}))
	if _, err := cleanAt(t, l, -1, 1000, nil); err != nil {
		t.Fatal(err)
	}
	// pid 4's batch is its last data: kept empty; its COMMIT saw it, stays.
	want = "[2-2 p4 n0 txn] [3-3 p-1 n1 a=3] [4-4 p-1 n1 b=1] [5-5 p4 n1 ctl] [6-6 p-1 n1 c=1]"
	if got := batchList(t, l); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// ControlRecordType.parse: a key shorter than 4 bytes or with a negative
// version is invalid (the clean of that log fails), a later version or an
// unknown type is read.
func TestControlRecordType(t *testing.T) {
	cases := []struct {
		name    string
		key     []byte
		wantTyp int16
		wantErr bool
	}{
		{"abort", []byte{0, 0, 0, 0}, controlTypeAbort, false},
		{"commit, version 1", []byte{0, 1, 0, 1}, controlTypeCommit, false},
		{"unknown type", []byte{0, 0, 0, 7}, 7, false},
		{"short key", []byte{0, 0, 1}, 0, true},
		{"negative version", []byte{0xff, 0xff, 0, 1}, 0, true},
	}
	for _, c := range cases {
		h := BatchHeader{Attributes: attrTransactional | attrControl, PartitionLeaderEpoch: -1, ProducerID: 1, BaseSequence: -1}
		b, err := BuildBatch(h, []Record{{Key: c.key, Value: make([]byte, 6)}})
		if err != nil {
			t.Fatal(err)
		}
		hh, err := ParseBatchHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		typ, ok, err := controlRecordType(b, hh)
		if (err != nil) != c.wantErr || (!c.wantErr && (!ok || typ != c.wantTyp)) {
			t.Errorf("%s: type %d ok %v err %v", c.name, typ, ok, err)
		}
	}
}
