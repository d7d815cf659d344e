package storage

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Golden files written by Kafka 3.9's own classes
// (testdata/txn/GenTxnGolden.java says how): our marker batches and our
// .txnindex entries are byte for byte Kafka's.
func TestTxnGoldenKafka(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("testdata", "txn", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	commit, err := BuildEndTxnMarker(EndTxnMarker{ProducerID: 7, ProducerEpoch: 3, CoordinatorEpoch: 5, Commit: true, Timestamp: 1700000000123})
	if err != nil {
		t.Fatal(err)
	}
	if want := read("commit-marker.bin"); !bytes.Equal(commit, want) {
		t.Fatalf("commit marker\n got %x\nwant %x", commit, want)
	}
	abort, err := BuildEndTxnMarker(EndTxnMarker{ProducerID: 8, ProducerEpoch: 0, CoordinatorEpoch: 2, Timestamp: 1700000000456})
	if err != nil {
		t.Fatal(err)
	}
	patchBatch(abort, 42, 9) // what the append does; outside the CRC
	if want := read("abort-marker.bin"); !bytes.Equal(abort, want) {
		t.Fatalf("abort marker\n got %x\nwant %x", abort, want)
	}
	file := read("00000000000000000000.txnindex")
	entries, err := decodeTxnIndex(file, 0)
	want := []AbortedTxn{{8, 10, 15, 12}, {9, 11, 20, 21}}
	if err != nil || len(entries) != 2 || entries[0] != want[0] || entries[1] != want[1] {
		t.Fatalf("Kafka's index read as %v %v", entries, err)
	}
	var enc []byte
	for _, e := range want {
		enc = appendAbortedTxn(enc, e)
	}
	if !bytes.Equal(enc, file) {
		t.Fatalf("index\n got %x\nwant %x", enc, file)
	}
}

func segFiles(t *testing.T, dir, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

// An abort's entry goes to the segment holding its marker, with the LSO
// of the other producer's open transaction (case 21); a commit writes none
// (case 22).
func TestTxnIndexEntryPlacement(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, DefaultLogConfig(), false)
	defer l.Close()
	for i := 0; i < 10; i++ {
		if _, err := l.AppendAsLeader(buildBatch(t, batchSpec{}), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	steps := []func() (AppendInfo, error){
		func() (AppendInfo, error) { return l.AppendAsLeader(producerBatch(t, 1, 0, 0, 1, true), 1, false) }, // 10
		func() (AppendInfo, error) { return l.AppendAsLeader(producerBatch(t, 3, 0, 0, 1, true), 1, false) }, // 11
		func() (AppendInfo, error) { return l.AppendAsLeader(producerBatch(t, 2, 0, 0, 1, true), 1, false) }, // 12
		func() (AppendInfo, error) { return l.AppendAsLeader(producerBatch(t, 1, 0, 1, 2, true), 1, false) }, // 13-14
	}
	for _, s := range steps {
		if _, err := s(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 3, Commit: true}, 1); err != nil { // 15: commit P3
		t.Fatal(err)
	}
	if got := segFiles(t, dir, txnIndexSuffix); len(got) != 0 {
		t.Fatalf("a commit created %v", got)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1}, 1); err != nil { // 16: abort P1
		t.Fatal(err)
	}
	got := segFiles(t, dir, txnIndexSuffix)
	if len(got) != 1 || got[0] != "00000000000000000016.txnindex" {
		t.Fatalf("index files %v, want the marker's segment's", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if want := appendAbortedTxn(nil, AbortedTxn{ProducerID: 1, FirstOffset: 10, LastOffset: 16, LastStableOffset: 12}); !bytes.Equal(b, want) {
		t.Fatalf("index file %x, want %x (34 bytes)", b, want)
	}
}

func bareSegment(t *testing.T) *segment {
	return &segment{fs: OSFileSystem{}, dir: t.TempDir(), base: 5}
}

// TransactionIndexTest: append order (case 23), truncateTo (case 24),
// collect's completeness (case 25), reading a bad file (case 26).
func TestTxnIndexRules(t *testing.T) {
	s := bareSegment(t)
	for _, e := range []AbortedTxn{{1, 0, 10, 11}, {2, 3, 15, 16}, {3, 12, 20, 30}} {
		if err := s.txn.append(s, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.txn.append(s, AbortedTxn{4, 12, 20, 31}); err == nil {
		t.Fatal("an entry whose last offset does not increase was appended")
	}
	got, complete := s.txn.collect(0, 16, nil)
	if !complete || len(got) != 2 {
		t.Fatalf("collect [0, 16): %v complete %v, want the first two, complete (lso 16 >= 16)", got, complete)
	}
	got, complete = s.txn.collect(11, 100, nil)
	if complete || len(got) != 2 || got[0].ProducerID != 2 {
		t.Fatalf("collect [11, 100): %v complete %v", got, complete)
	}
	if got, _ = s.txn.collect(21, 100, nil); len(got) != 0 {
		t.Fatalf("collect after every marker: %v", got)
	}
	if err := s.txn.truncateTo(s.fs, 15); err != nil {
		t.Fatal(err)
	}
	name := segmentName(s.dir, s.base, txnIndexSuffix)
	if fi, err := os.Stat(name); err != nil || fi.Size() != abortedTxnSize || len(s.txn.entries) != 1 {
		t.Fatalf("after truncateTo(15): %v entries, file %v %v", s.txn.entries, fi, err)
	}
	_ = s.txn.close()

	bad := appendAbortedTxn(nil, AbortedTxn{1, 0, 10, 11})
	v1 := append([]byte(nil), bad...)
	v1[1] = 1
	cases := []struct {
		name string
		b    []byte
		torn bool
	}{
		{"version 1", v1, false},
		{"marker below the base", appendAbortedTxn(nil, AbortedTxn{1, 0, 4, 5}), false},
		{"not increasing", appendAbortedTxn(bad, AbortedTxn{1, 0, 10, 11}), false},
		{"first after last", appendAbortedTxn(nil, AbortedTxn{1, 12, 10, 11}), false},
		{"torn", append(append([]byte(nil), bad...), 0, 0, 0), true},
	}
	for _, c := range cases {
		entries, err := decodeTxnIndex(c.b, 5)
		if err == nil || errors.Is(err, errTornTxnIndex) != c.torn {
			t.Errorf("%s: %v %v", c.name, entries, err)
		}
	}
}

// A .txnindex that does not decode is rebuilt from the segment's batches
// (TransactionIndex.sanityCheck -> recovery), even after a clean shutdown.
func TestTxnIndexCorruptRebuilt(t *testing.T) {
	spoil := map[string]func(b []byte) []byte{
		"version 1":  func(b []byte) []byte { b[1] = 1; return b },
		"torn":       func(b []byte) []byte { return b[:len(b)-3] },
		"garbage":    func(b []byte) []byte { return bytes.Repeat([]byte{0xff}, 100) },
		"wrong base": func(b []byte) []byte { return appendAbortedTxn(nil, AbortedTxn{1, 0, 0, 2}) },
	}
	for name, fn := range spoil {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := mustOpen(t, dir, DefaultLogConfig(), false)
			if _, err := l.AppendAsLeader(buildBatch(t, batchSpec{}), 1, false); err != nil {
				t.Fatal(err)
			}
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
			if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 0, 1, true), 1, false); err != nil {
				t.Fatal(err)
			}
			if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1}, 1); err != nil {
				t.Fatal(err)
			}
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
			want, _ := l.AbortedTransactions(0, 100)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			name := segmentName(dir, 1, txnIndexSuffix)
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, fn(append([]byte(nil), b...)), 0o644); err != nil {
				t.Fatal(err)
			}
			l = mustOpen(t, dir, DefaultLogConfig(), false)
			defer l.Close()
			if l.Recovery().IndexesRebuilt != 1 {
				t.Fatalf("recovery %+v, want one index rebuilt", l.Recovery())
			}
			got, _ := l.AbortedTransactions(0, 100)
			if len(got) != 1 || got[0] != want[0] {
				t.Fatalf("rebuilt index %v, want %v", got, want)
			}
			if b2, _ := os.ReadFile(name); !bytes.Equal(b2, b) {
				t.Fatalf("rebuilt file %x, want %x", b2, b)
			}
		})
	}
}

// Aborted transactions over several segments come in marker order
// (case 30), bounded as a fetch is (LocalLog.addAbortedTransactions).
func TestAbortedTransactionsAcrossSegments(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 1 // an index entry per append
	l := mustOpen(t, t.TempDir(), cfg, false)
	defer l.Close()
	app := func(b []byte) {
		t.Helper()
		if _, err := l.AppendAsLeader(b, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	abort := func(pid int64) {
		t.Helper()
		if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: pid}, 1); err != nil {
			t.Fatal(err)
		}
	}
	app(producerBatch(t, 1, 0, 0, 1, true)) // 0
	app(producerBatch(t, 2, 0, 0, 1, true)) // 1
	abort(2)                                // 2
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	app(buildBatch(t, batchSpec{})) // 3
	abort(1)                        // 4
	app(buildBatch(t, batchSpec{})) // 5
	l.SetHighWatermark(l.LogEndOffset())
	got, err := l.AbortedTransactions(0, l.LastStableOffset())
	want := []AbortedTxn{{2, 1, 2, 0}, {1, 0, 4, 5}}
	if err != nil || len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("aborted %v %v, want %v", got, err, want)
	}
	// Fetching only offset 3 of the second segment: the first entry at or
	// after the bytes read bounds it (offset 4), so the abort at 4 is in.
	fs, err := l.Read(3, 1, 6, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err = l.FetchAbortedTransactions(3, fs)
	if err != nil || len(got) != 1 || got[0] != want[1] {
		t.Fatalf("fetch at 3: %v %v", got, err)
	}
	// Fetching the first segment whole: bounded by the next segment's base;
	// entry 1 (lso 0 < 3) does not complete the search, entry 2 does.
	fs, err = l.Read(0, 1<<20, 6, true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err = l.FetchAbortedTransactions(0, fs); err != nil || len(got) != 2 {
		t.Fatalf("fetch at 0: %v %v", got, err)
	}
	if got, err = l.FetchAbortedTransactions(0, FileSlice{}); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty read: %v %v, want an empty list", got, err)
	}
}

// A segment's .txnindex follows it: renamed to .deleted and removed by
// retention, dropped by truncation, carried into a cleaned segment.
func TestTxnIndexFollowsSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.FileDeleteDelayMs = 60000 // removed at close: deterministic
	l := mustOpen(t, dir, cfg, false)
	defer l.Close()
	abortedSegment := func(pid int64) {
		t.Helper()
		if _, err := l.AppendAsLeader(producerBatch(t, pid, 0, 0, 1, true), 1, false); err != nil {
			t.Fatal(err)
		}
		if _, err := l.AppendEndTxnMarker(EndTxnMarker{ProducerID: pid}, 1); err != nil {
			t.Fatal(err)
		}
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
	}
	for pid := int64(1); pid <= 4; pid++ {
		abortedSegment(pid) // segments 0, 2, 4, 6; active 8
	}
	if got := segFiles(t, dir, txnIndexSuffix); len(got) != 4 {
		t.Fatalf("index files %v", got)
	}
	// Truncation into segment 6 (its marker at 7 goes) and of segment 8.
	if err := l.TruncateTo(7); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(segmentName(dir, 6, txnIndexSuffix)); err != nil || fi.Size() != 0 {
		t.Fatalf("truncated segment's index: %v %v", fi, err)
	}
	if got, _ := l.AbortedTransactions(0, 100); len(got) != 3 {
		t.Fatalf("after truncation: %v", got)
	}
	// The cleaner's swap keeps the entries of the segments it replaces.
	l.mu.RLock()
	old := append([]*segment(nil), l.segs[1:3]...) // 2 and 4
	l.mu.RUnlock()
	ns, err := l.newCleanedSegment(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range old {
		b := make([]byte, s.size)
		if _, err := s.fs.ReadAt(s.log, b, 0); err != nil {
			t.Fatal(err)
		}
		if err := ns.appendBatches(b, cfg.IndexIntervalBytes); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.replaceSegments(ns, old); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.AbortedTransactions(0, 100); len(got) != 3 || got[1].ProducerID != 2 || got[2].ProducerID != 3 {
		t.Fatalf("after the swap: %v", got)
	}
	if got := segFiles(t, dir, txnIndexSuffix); len(got) != 3 || got[1] != "00000000000000000002.txnindex" {
		t.Fatalf("index files after the swap %v", got)
	}
	// Retention: everything below the HW goes (the log rolls first).
	cfg.RetentionBytes = 0
	l.SetConfig(cfg)
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.DeleteOldSegments(); err != nil {
		t.Fatal(err)
	}
	if got := segFiles(t, dir, txnIndexSuffix+deletedSuffix); len(got) != 4 { // 2 and 4 from the swap, then 0, 2 and 6
		t.Fatalf("index files waiting for deletion %v", got)
	}
	if err := l.Close(); err != nil { // removes what waits for deletion
		t.Fatal(err)
	}
	if got := segFiles(t, dir, txnIndexSuffix); len(got) != 0 {
		t.Fatalf("index files after retention %v", got)
	}
	if got := segFiles(t, dir, deletedSuffix); len(got) != 0 {
		t.Fatalf("left behind: %v", got)
	}
}

// A crash between the marker and its index entry loses nothing: the
// segment is above the recovery point, so recovery rebuilds the index
// from the marker (LogSegment.recover; research §14).
func TestTxnIndexWriteFailureRecovered(t *testing.T) {
	for _, fault := range []Fault{
		{Op: OpCreate, Suffix: txnIndexSuffix},
		{Op: OpWrite, Suffix: txnIndexSuffix, Partial: true},
	} {
		t.Run(string(fault.Op), func(t *testing.T) {
			dir := t.TempDir()
			ffs := NewFaultFS(false)
			l, err := openLog(dir, DefaultLogConfig(), openOptions{recoveryPoint: -1, logStart: -1, fs: ffs}, quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			var failed error
			l.dirFailed = func(err error) { failed = err }
			if _, err := l.AppendAsLeader(producerBatch(t, 1, 0, 0, 1, true), 1, false); err != nil {
				t.Fatal(err)
			}
			ffs.Inject(fault)
			_, err = l.AppendEndTxnMarker(EndTxnMarker{ProducerID: 1}, 1)
			if !errors.Is(err, ErrStorage) || failed == nil {
				t.Fatalf("marker append with a failing index: %v (dir failure %v), want ErrStorage", err, failed)
			}
			if l.LogEndOffset() != 2 {
				t.Fatalf("LEO %d: the marker is written before its index entry", l.LogEndOffset())
			}
			l.closeHandles() // the dir went offline: nothing more is written
			ffs.Heal()
			l = mustOpen(t, dir, DefaultLogConfig(), true)
			defer l.Close()
			l.SetHighWatermark(2)
			got, _ := l.AbortedTransactions(0, 100)
			if len(got) != 1 || got[0] != (AbortedTxn{ProducerID: 1, FirstOffset: 0, LastOffset: 1, LastStableOffset: 2}) {
				t.Fatalf("after recovery: %v", got)
			}
			if lso := l.LastStableOffset(); lso != 2 {
				t.Fatalf("LSO %d after recovery, want 2", lso)
			}
		})
	}
}

// FuzzTxnIndex: any bytes as a .txnindex decode or are refused, never
// panic; openTxnIndex reports a file that does not decode as corrupt (the
// log then recovers the segment: TestTxnIndexCorruptRebuilt) and serves
// one that does as it is.
func FuzzTxnIndex(f *testing.F) {
	f.Add(appendAbortedTxn(nil, AbortedTxn{1, 0, 1, 2}))
	f.Add(appendAbortedTxn(appendAbortedTxn(nil, AbortedTxn{1, 0, 1, 2}), AbortedTxn{2, 0, 3, 4})[:50])
	f.Add([]byte{0, 1})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := decodeTxnIndex(b, 1)
		if err == nil {
			var enc []byte
			for _, e := range entries {
				enc = appendAbortedTxn(enc, e)
			}
			if !bytes.Equal(enc, b) {
				t.Fatalf("round trip %x -> %x", b, enc)
			}
		}
		if err := os.WriteFile(segmentName(dir, 1, txnIndexSuffix), b, 0o644); err != nil {
			t.Fatal(err)
		}
		ix, corrupt, ioErr := openTxnIndex(OSFileSystem{}, dir, 1, "")
		if ioErr != nil {
			t.Fatal(ioErr)
		}
		defer ix.close()
		if (corrupt == nil) != (err == nil) || (corrupt == nil && len(ix.entries) != len(entries)) {
			t.Fatalf("openTxnIndex: %d entries, corrupt %v; decode: %v", len(ix.entries), corrupt, err)
		}
		got, _ := ix.collect(0, math.MaxInt64, nil)
		if len(got) != len(ix.entries) {
			t.Fatalf("collect over everything: %v of %v", got, ix.entries)
		}
	})
}
