package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"
)

// goldenProducers are the entries Gold.java.txt gives Kafka's writeSnapshot.
func goldenProducers() map[int64]*producerStateEntry {
	idem := newProducerStateEntry(3)
	idem.lastTimestamp = 1700000000123
	idem.batches = []batchMetadata{{firstSeq: 10, lastSeq: 14, firstOffset: 100, lastOffset: 104, timestamp: 1700000000123}}
	txn := newProducerStateEntry(0)
	txn.lastTimestamp, txn.coordinatorEpoch, txn.currentTxnFirstOffset = 1700000000456, 5, 200
	txn.batches = []batchMetadata{{firstSeq: 2, lastSeq: 2, firstOffset: 210, lastOffset: 210, timestamp: 1700000000456}}
	bumped := newProducerStateEntry(32767)
	bumped.lastTimestamp, bumped.coordinatorEpoch = 1700000000789, 9
	return map[int64]*producerStateEntry{7: idem, 1000: txn, 1 << 62: bumped}
}

// Our encoder writes the bytes Kafka 3.9's writeSnapshot wrote for the same
// entries, and decoding Kafka's file gives them back (§13 case 34, 43).
func TestProducerSnapshotGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/producer-snapshot/kafka39-00000000000000000215.snapshot")
	if err != nil {
		t.Fatal(err)
	}
	if got := encodeProducerSnapshot(goldenProducers()); !bytes.Equal(got, golden) {
		t.Fatalf("encoded snapshot differs from Kafka's:\n got %x\nwant %x", got, golden)
	}
	if len(golden) != producerSnapshotHeader+3*producerSnapshotEntrySize {
		t.Fatalf("golden file is %d bytes", len(golden))
	}
	got, err := decodeProducerSnapshot(golden)
	if err != nil {
		t.Fatal(err)
	}
	if want := goldenProducers(); !reflect.DeepEqual(got, want) {
		for id, e := range got {
			t.Logf("%d: %+v", id, *e)
		}
		t.Fatal("decoded entries differ")
	}
}

// Only each producer's newest batch is written; the CRC covers bytes 6..end.
func TestProducerSnapshotKeepsNewestBatch(t *testing.T) {
	e := newProducerStateEntry(1)
	e.batches = []batchMetadata{
		{firstSeq: 0, lastSeq: 1, firstOffset: 0, lastOffset: 1},
		{firstSeq: 2147483646, lastSeq: 1, firstOffset: 2, lastOffset: 5, timestamp: 9}, // sequence wrap
	}
	e.lastTimestamp = 9
	b := encodeProducerSnapshot(map[int64]*producerStateEntry{42: e})
	got, err := decodeProducerSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []batchMetadata{e.batches[1]}
	if !reflect.DeepEqual(got[42].batches, want) {
		t.Fatalf("batches %+v, want %+v", got[42].batches, want)
	}
	b[len(b)-1] ^= 1
	if _, err := decodeProducerSnapshot(b); !errors.Is(err, errCorruptSnapshot) {
		t.Fatalf("a flipped last byte must fail the CRC: %v", err)
	}
}

// §13 case 35: every way a snapshot is unreadable is a CorruptSnapshotException.
func TestProducerSnapshotCorrupt(t *testing.T) {
	good := encodeProducerSnapshot(goldenProducers())
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:9]},
		{"truncated entry", good[:len(good)-1]},
		{"version 2", mod(func(b []byte) []byte { b[1] = 2; return b })},
		{"version 0", mod(func(b []byte) []byte { b[1] = 0; return b })},
		{"crc", mod(func(b []byte) []byte { b[3] ^= 0xff; return b })},
		{"flipped entry byte", mod(func(b []byte) []byte { b[20] ^= 1; return b })},
		{"negative count", mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[6:], 0xffffffff)
			return b
		})},
		{"count beyond the file", mod(func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[6:], 4)
			return b
		})},
	}
	for _, c := range cases {
		if _, err := decodeProducerSnapshot(c.b); !errors.Is(err, errCorruptSnapshot) {
			t.Errorf("%s: got %v, want a corrupt snapshot", c.name, err)
		}
	}
}

func FuzzDecodeProducerSnapshot(f *testing.F) {
	f.Add(encodeProducerSnapshot(goldenProducers()))
	f.Add(encodeProducerSnapshot(nil))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeProducerSnapshot(b)
		if err != nil {
			if !errors.Is(err, errCorruptSnapshot) {
				t.Fatalf("error not marked corrupt: %v", err)
			}
			return
		}
		// What decodes re-encodes to a file that decodes the same.
		m2, err := decodeProducerSnapshot(encodeProducerSnapshot(m))
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func snapshotOffsets(t *testing.T, dir string) []int64 {
	t.Helper()
	offs, err := listProducerSnapshots(OSFileSystem{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	return offs
}

// appendIdem appends n-record idempotent batches as the leader.
func appendIdem(t *testing.T, l *Log, pid int64, seq int32, n int) AppendInfo {
	t.Helper()
	info, err := l.AppendAsLeader(producerBatch(t, pid, 0, seq, n, false), 0, false)
	if err != nil {
		t.Fatalf("AppendAsLeader pid %d seq %d: %v", pid, seq, err)
	}
	return info
}

// producerStateOf copies the log's producer state.
func producerStateOf(t *testing.T, l *Log) map[int64]producerStateEntry {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]producerStateEntry{}
	for id, e := range l.producers.producers {
		c := *e
		// A snapshot keeps only the newest batch.
		c.batches = slices.Clone(c.batches[max(len(c.batches)-1, 0):])
		out[id] = c
	}
	return out
}

func openFS(t *testing.T, dir string, cfg Config, fs FileSystem, recover bool) *Log {
	t.Helper()
	l, err := openLog(dir, cfg, openOptions{recover: recover, recoveryPoint: -1, logStart: -1, fs: fs}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// withPlantedProducer rewrites the snapshot at off with an extra producer
// 99: a state holding it afterwards was loaded from that snapshot.
func withPlantedProducer(t *testing.T, dir string, off int64) {
	t.Helper()
	path := producerSnapshotName(dir, off)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := decodeProducerSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	e := newProducerStateEntry(4)
	e.lastTimestamp = 77
	m[99] = e
	if err := os.WriteFile(path, encodeProducerSnapshot(m), 0o644); err != nil {
		t.Fatal(err)
	}
}

// §13 cases 36-38, 42: a roll writes <newBase>.snapshot, a clean close one
// at the LEO; reopening after a clean close loads that one and replays
// nothing, after a crash the newest snapshot and the batches after it,
// without any snapshot the whole log (the upgrade rule). An open
// transaction in a snapshot is open again after the load.
func TestProducerSnapshotRollCloseReopen(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	l := mustOpen(t, dir, cfg, false)
	for i := range 12 {
		appendIdem(t, l, int64(1+i%3), int32(i/3*2), 2)
	}
	// An open transaction of producer 8.
	if _, err := l.AppendAsLeader(producerBatch(t, 8, 0, 0, 1, true), 0, false); err != nil {
		t.Fatal(err)
	}
	bases := l.SegmentBaseOffsets()
	if len(bases) < 3 {
		t.Fatalf("want several segments, got %v", bases)
	}
	if got := snapshotOffsets(t, dir); !reflect.DeepEqual(got, bases[1:]) {
		t.Fatalf("snapshots %v, want one per rolled segment base %v", got, bases[1:])
	}
	want := producerStateOf(t, l)
	fuo, _ := l.FirstUnstableOffset()
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, dir); got[len(got)-1] != leo {
		t.Fatalf("clean close wrote no snapshot at the LEO %d: %v", leo, got)
	}

	// Clean close: the LEO snapshot is the state.
	withPlantedProducer(t, dir, leo)
	l = mustOpen(t, dir, cfg, false)
	state := producerStateOf(t, l)
	if _, ok := state[99]; !ok {
		t.Fatal("the LEO snapshot was not loaded")
	}
	delete(state, 99)
	if !reflect.DeepEqual(state, want) {
		t.Fatalf("state after reopen %+v, want %+v", state, want)
	}
	if got, ok := l.FirstUnstableOffset(); !ok || got != fuo {
		t.Fatalf("first unstable offset after reopen %d %v, want %d", got, ok, fuo)
	}
	// The state goes on from there: the next sequences are accepted.
	appendIdem(t, l, 1, 8, 1)
	if _, err := l.AppendAsLeader(producerBatch(t, 2, 0, 9, 1, false), 0, false); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("a gap after reload: %v", err)
	}
	want = producerStateOf(t, l)
	delete(want, 99)

	// Crash (no close): the newest roll snapshot and the batches after it.
	l.closeHandles()
	_ = os.Remove(producerSnapshotName(dir, leo))
	last := bases[len(bases)-1]
	withPlantedProducer(t, dir, last)
	l = mustOpen(t, dir, cfg, false)
	state = producerStateOf(t, l)
	if _, ok := state[99]; !ok {
		t.Fatal("the newest roll snapshot was not loaded")
	}
	delete(state, 99)
	if !reflect.DeepEqual(state, want) {
		t.Fatalf("state after crash %+v, want %+v", state, want)
	}

	// No snapshot at all (the upgrade case): the whole log is replayed.
	l.closeHandles()
	if err := deleteProducerSnapshotsWhere(OSFileSystem{}, dir, func(int64) bool { return true }); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	if state = producerStateOf(t, l); !reflect.DeepEqual(state, want) {
		t.Fatalf("state after a full replay %+v, want %+v", state, want)
	}
	if got := snapshotOffsets(t, dir); len(got) != 0 {
		t.Fatalf("loading wrote snapshots: %v", got)
	}
}

// §13 case 35 at load: a corrupt newest snapshot is deleted and the next
// older one used; the state is still right.
func TestProducerSnapshotCorruptFallsBack(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	l := mustOpen(t, dir, cfg, false)
	for i := range 10 {
		appendIdem(t, l, 5, int32(i), 1)
	}
	want := producerStateOf(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	offs := snapshotOffsets(t, dir)
	newest := producerSnapshotName(dir, offs[len(offs)-1])
	b, _ := os.ReadFile(newest)
	b[len(b)-3] ^= 0x55
	if err := os.WriteFile(newest, b, 0o644); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	if got := producerStateOf(t, l); !reflect.DeepEqual(got, want) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	if _, err := os.Stat(newest); err == nil {
		t.Fatal("corrupt snapshot left in place")
	}
}

// §13 cases 39-41: truncation drops snapshots above the new end, retention
// the snapshot of a deleted segment, a full truncation all of them; at
// open, stray snapshots go except the largest above every segment base.
func TestProducerSnapshotDeletion(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	cfg.RetentionBytes = 1 // everything below the HW and the active segment
	l := mustOpen(t, dir, cfg, false)
	for i := range 20 {
		appendIdem(t, l, 5, int32(i), 1)
	}
	bases := l.SegmentBaseOffsets()
	if len(bases) < 4 {
		t.Fatalf("segments %v", bases)
	}
	// Truncation into the third segment.
	cut := bases[2] + 1
	if err := l.TruncateTo(cut); err != nil {
		t.Fatal(err)
	}
	for _, o := range snapshotOffsets(t, dir) {
		if o > cut {
			t.Fatalf("snapshot %d above the truncation point %d survived", o, cut)
		}
	}
	if got := producerStateOf(t, l); got[5].batches[0].lastOffset != cut-1 {
		t.Fatalf("state after truncation: %+v", got[5])
	}
	// Retention of the first two segments.
	l.SetHighWatermark(l.LogEndOffset())
	if n, err := l.DeleteOldSegments(); err != nil || n == 0 {
		t.Fatalf("retention deleted %d segments: %v", n, err)
	}
	for _, o := range snapshotOffsets(t, dir) {
		if o < l.LogStartOffset() {
			t.Fatalf("snapshot %d of a deleted segment survived (log start %d)", o, l.LogStartOffset())
		}
	}
	if err := l.TruncateFullyAndStartAt(100); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, dir); len(got) != 0 {
		t.Fatalf("snapshots after a full truncation: %v", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Stray snapshots: at open, one at no segment base goes, the LEO one
	// (a clean close's) stays, a leftover .tmp goes.
	dir2 := t.TempDir()
	l = mustOpen(t, dir2, cfg, false)
	for i := range 8 {
		appendIdem(t, l, 5, int32(i), 1)
	}
	bases = l.SegmentBaseOffsets()
	leo := l.LogEndOffset()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(producerSnapshotName(dir2, bases[1]-1), encodeProducerSnapshot(nil), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(producerSnapshotName(dir2, leo)+".tmp", []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir2, cfg, false)
	defer l.Close()
	got := snapshotOffsets(t, dir2)
	if slices.Contains(got, bases[1]-1) || !slices.Contains(got, leo) {
		t.Fatalf("snapshots after open %v (bases %v, LEO %d)", got, bases, leo)
	}
	if _, err := os.Stat(producerSnapshotName(dir2, leo) + ".tmp"); err == nil {
		t.Fatal("a leftover .tmp snapshot was kept")
	}
}

// ProducerStateManager.removeStraySnapshots: every snapshot at no segment
// base goes, except the largest stray one when it is above every base.
func TestRemoveStraySnapshots(t *testing.T) {
	cases := []struct {
		name        string
		bases, snap []int64
		want        []int64
	}{
		{"bases only", []int64{0, 10, 20}, []int64{10, 20}, []int64{10, 20}},
		{"largest stray above the bases", []int64{0, 10}, []int64{5, 10, 15, 17}, []int64{10, 17}},
		{"largest stray below the last base", []int64{0, 10, 20}, []int64{5, 10, 15}, []int64{10}},
		{"no segments", nil, []int64{3, 4}, []int64{4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, o := range c.snap {
				if err := os.WriteFile(producerSnapshotName(dir, o), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := removeStraySnapshots(OSFileSystem{}, dir, c.bases); err != nil {
				t.Fatal(err)
			}
			if got := snapshotOffsets(t, dir); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("kept %v, want %v", got, c.want)
			}
		})
	}
}

// A failed snapshot write at a roll fails the roll and so the append, with
// nothing written (UnifiedLog.roll: takeSnapshot's IOException is a
// KafkaStorageException, the log dir goes offline); a crash between the
// temp write and the rename leaves a .tmp the next open removes, and the
// state is rebuilt right from the log.
func TestProducerSnapshotWriteFailure(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	fs := NewFaultFS(false)
	l := openFS(t, dir, cfg, fs, false)
	var infos []AppendInfo
	for i := 0; len(l.SegmentBaseOffsets()) < 2; i++ {
		infos = append(infos, appendIdem(t, l, 9, int32(i), 1))
	}
	want := producerStateOf(t, l)
	leo := l.LogEndOffset()
	fs.Inject(Fault{Op: OpRename, Dir: dir, Suffix: producerSnapshotSuffix, Sticky: true})
	var err error
	for i := len(infos); err == nil && i < 100; i++ {
		_, err = l.AppendAsLeader(producerBatch(t, 9, 0, int32(i), 1, false), 0, false)
		if err == nil {
			want = producerStateOf(t, l)
			leo = l.LogEndOffset()
		}
	}
	if !errors.Is(err, ErrStorage) || !fs.Fired() {
		t.Fatalf("append whose roll could not write the snapshot: %v (fault fired %v)", err, fs.Fired())
	}
	if got := l.LogEndOffset(); got != leo {
		t.Fatalf("the failed append moved the LEO to %d from %d", got, leo)
	}
	// Crash between the temp write and the rename: the .tmp is on disk.
	tmp := producerSnapshotName(dir, leo) + ".tmp"
	if err := os.WriteFile(tmp, encodeProducerSnapshot(nil), 0o644); err != nil {
		t.Fatal(err)
	}
	l.closeHandles()
	fs.Heal()
	l = openFS(t, dir, cfg, fs, true)
	defer l.Close()
	if _, err := os.Stat(tmp); err == nil {
		t.Fatal(".tmp snapshot kept at open")
	}
	if got := producerStateOf(t, l); !reflect.DeepEqual(got, want) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
	appendIdem(t, l, 9, want[9].batches[0].lastSeq+1, 1)
}

// The roll's snapshot is fsynced by the flush the roll schedules; a failed
// fsync fails the log dir (UnifiedLog.flushProducerStateSnapshot under
// maybeHandleIOException).
func TestProducerSnapshotFsyncFailureFailsDir(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	fs := NewFaultFS(false)
	fs.Inject(Fault{Op: OpSync, Dir: dir, Suffix: producerSnapshotSuffix})
	l := openFS(t, dir, cfg, fs, false)
	defer l.Close()
	failed := make(chan error, 8)
	l.dirFailed = func(err error) { failed <- err }
	for i := 0; len(l.SegmentBaseOffsets()) < 2; i++ {
		appendIdem(t, l, 9, int32(i), 1)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, ErrStorage) {
			t.Fatalf("dir failure %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failed snapshot fsync did not fail the dir")
	}
}

// A follower keeps the producer state and snapshots it at its rolls too,
// so a follower's restart (then leadership) replays only the tail.
func TestProducerSnapshotFollowerRolls(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 400
	l := mustOpen(t, dir, cfg, false)
	for i := range 12 {
		if _, err := l.AppendAsFollower(at(producerBatch(t, 3, 0, int32(i), 1, false), int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	bases := l.SegmentBaseOffsets()
	if got := snapshotOffsets(t, dir); len(bases) < 2 || !reflect.DeepEqual(got, bases[1:]) {
		t.Fatalf("follower snapshots %v, segment bases %v", got, bases)
	}
	want := producerStateOf(t, l)
	l.closeHandles() // a crash: no snapshot at the LEO
	withPlantedProducer(t, dir, bases[len(bases)-1])
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	got := producerStateOf(t, l)
	if _, ok := got[99]; !ok {
		t.Fatal("the newest roll snapshot was not loaded")
	}
	delete(got, 99)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("state %+v, want %+v", got, want)
	}
}
