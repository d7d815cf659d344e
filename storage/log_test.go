package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// appendN appends n batches of recs records each with increasing
// timestamps and returns the appended bytes as stored (patched).
func appendN(t testing.TB, l *Log, n, recs, valueSize int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 0; i < n; i++ {
		b := buildBatch(t, batchSpec{records: recs, valueSize: valueSize, baseTs: int64(1000 + 100*i), tsStep: 1})
		mustAppend(t, l, b)
		out = append(out, b)
	}
	return out
}

func TestAppendReadAcrossRolls(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	cfg := Config{SegmentBytes: 2048, IndexIntervalBytes: 300}
	l := mustOpen(t, dir, cfg, false)
	defer l.Close()
	const n, recs = 60, 3
	batches := appendN(t, l, n, recs, 50)
	if got := l.LogEndOffset(); got != n*recs {
		t.Fatalf("LEO %d, want %d", got, n*recs)
	}
	if l.NumSegments() < 3 {
		t.Fatalf("expected several segments, got %d", l.NumSegments())
	}
	// Stored batches carry assigned offsets and the leader epoch, CRC intact.
	for i, b := range batches {
		h, err := checkBatch(b)
		if err != nil || h.BaseOffset != int64(i*recs) || h.PartitionLeaderEpoch != 5 {
			t.Fatalf("batch %d: %+v, %v", i, h, err)
		}
	}
	// Segment files are named by base offset and each starts with that offset.
	bases, err := segmentBases(OSFileSystem{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range bases {
		for _, suf := range []string{".log", ".index", ".timeindex"} {
			if _, err := os.Stat(segmentName(dir, base, suf)); err != nil {
				t.Fatalf("missing %s file for %d: %v", suf, base, err)
			}
		}
		data, err := os.ReadFile(segmentName(dir, base, ".log"))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 2048 {
			t.Fatalf("segment %d has %d bytes, above segment.bytes", base, len(data))
		}
		if hs := sliceHeaders(t, data); hs[0].BaseOffset != base {
			t.Fatalf("segment %020d starts with offset %d", base, hs[0].BaseOffset)
		}
	}
	// Every offset is readable and lands in the batch holding it.
	for off := int64(0); off < n*recs; off++ {
		fs, err := l.Read(off, 1<<20, 1<<40, true)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		hs := sliceHeaders(t, readSlice(t, fs))
		if hs[0].BaseOffset > off || hs[0].LastOffset() < off {
			t.Fatalf("Read(%d) starts with batch [%d, %d]", off, hs[0].BaseOffset, hs[0].LastOffset())
		}
		if want := batches[off/recs]; !bytes.Equal(readSlice(t, fs)[:len(want)], want) {
			t.Fatalf("Read(%d) bytes differ from appended batch", off)
		}
	}
	// Walking with Read from 0 returns the whole log, one segment at a time.
	var all []byte
	for off := int64(0); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<40, false)
		if err != nil || fs.Size == 0 {
			t.Fatalf("Read(%d): %v, size %d", off, err, fs.Size)
		}
		data := readSlice(t, fs)
		hs := sliceHeaders(t, data)
		all = append(all, data...)
		off = hs[len(hs)-1].NextOffset()
	}
	if !bytes.Equal(all, bytes.Join(batches, nil)) {
		t.Fatal("concatenated reads differ from appended data")
	}
}

func TestReadBounds(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{}, false)
	defer l.Close()
	batches := appendN(t, l, 5, 2, 100) // offsets 0..9, batches of 2
	size := int64(len(batches[0]))
	tests := []struct {
		name             string
		offset, maxBytes int64
		maxOffset        int64
		minOne           bool
		wantFirst        int64 // base offset of first batch, -1 for empty
		wantBatches      int
		wantErr          error
	}{
		{"all", 0, 1 << 20, 100, false, 0, 5, nil},
		{"mid batch", 3, 1 << 20, 100, false, 2, 4, nil},
		{"maxBytes two batches", 0, 2 * size, 100, false, 0, 2, nil},
		{"maxBytes exact", 0, 2 * size, 100, false, 0, 2, nil},
		{"hw excludes batch holding it", 0, 1 << 20, 5, false, 0, 2, nil},
		{"hw at batch end", 0, 1 << 20, 6, false, 0, 3, nil},
		{"at hw", 6, 1 << 20, 6, false, -1, 0, nil},
		{"above hw", 8, 1 << 20, 6, false, -1, 0, nil},
		{"at leo", 10, 1 << 20, 10, false, -1, 0, nil},
		{"kip74 min one", 2, 10, 100, true, 2, 1, nil},
		{"too small without min one", 2, 10, 100, false, -1, 0, nil},
		{"zero max bytes min one", 4, 0, 100, true, 4, 1, nil},
		{"above leo", 11, 1 << 20, 100, false, 0, 0, ErrOffsetOutOfRange},
		{"negative", -1, 1 << 20, 100, false, 0, 0, ErrOffsetOutOfRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := l.Read(tc.offset, tc.maxBytes, tc.maxOffset, tc.minOne)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantFirst < 0 {
				if fs.Size != 0 {
					t.Fatalf("want empty, got %d bytes", fs.Size)
				}
				return
			}
			hs := sliceHeaders(t, readSlice(t, fs))
			if hs[0].BaseOffset != tc.wantFirst || len(hs) != tc.wantBatches {
				t.Fatalf("got first %d and %d batches", hs[0].BaseOffset, len(hs))
			}
		})
	}
	// The slice goes on to maxBytes: the last batch may be partial (Kafka's
	// LogSegment.read), and never past the batch holding the high watermark.
	for _, tc := range []struct {
		name                string
		maxBytes, maxOffset int64
		wantSize            int64
	}{
		{"whole batches only at leo", 2*size + 1, 100, 2 * size},
		{"stops at hw batch", 3*size + 7, 4, 2 * size},
		{"hw mid batch", 1 << 20, 5, 2 * size},
		{"whole log", 1 << 20, 10, 5 * size},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := l.Read(0, tc.maxBytes, tc.maxOffset, false)
			if err != nil || fs.Pos != 0 || fs.Size != tc.wantSize {
				t.Fatalf("Read: pos %d size %d err %v, want size %d", fs.Pos, fs.Size, err, tc.wantSize)
			}
		})
	}
}

// readIndex decodes an index file in Kafka's layout.
func readIndex(t *testing.T, path string, entrySize int) [][2]int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data)%entrySize != 0 {
		t.Fatalf("%s: %d bytes is not a multiple of %d", path, len(data), entrySize)
	}
	var out [][2]int64
	for i := 0; i < len(data); i += entrySize {
		if entrySize == offsetIndexEntrySize {
			out = append(out, [2]int64{int64(int32(binary.BigEndian.Uint32(data[i:]))), int64(int32(binary.BigEndian.Uint32(data[i+4:])))})
		} else {
			out = append(out, [2]int64{int64(binary.BigEndian.Uint64(data[i:])), int64(int32(binary.BigEndian.Uint32(data[i+8:])))})
		}
	}
	return out
}

func TestIndexLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	const interval = 500
	l := mustOpen(t, dir, Config{IndexIntervalBytes: interval}, false)
	// Expected entries per LogSegment.append: before writing, if more than
	// interval bytes went in since the last entry, index (last offset of
	// this append, its start position) and the max timestamp so far.
	var wantIdx, wantTime [][2]int64
	var pos, since, next, maxTs, maxTsOff int64 = 0, 0, 0, -1, 0
	for i := 0; i < 40; i++ {
		recs := 1 + i%4
		// Timestamps go back and forth so the time index skips some.
		ts := int64(10_000 + 50*i - 120*(i%3))
		b := buildBatch(t, batchSpec{records: recs, valueSize: 40 + 7*i, baseTs: ts, tsStep: 3})
		info := mustAppend(t, l, b)
		last := next + int64(recs) - 1
		if info.FirstOffset != next || info.LastOffset != last {
			t.Fatalf("append %d: offsets [%d, %d], want [%d, %d]", i, info.FirstOffset, info.LastOffset, next, last)
		}
		if bmax := ts + int64(recs-1)*3; bmax > maxTs {
			maxTs, maxTsOff = bmax, last
		}
		if since > interval {
			wantIdx = append(wantIdx, [2]int64{last, pos})
			if len(wantTime) == 0 || maxTs > wantTime[len(wantTime)-1][0] {
				wantTime = append(wantTime, [2]int64{maxTs, maxTsOff})
			}
			since = 0
		}
		since += int64(len(b))
		pos += int64(len(b))
		next = last + 1
	}
	// Close appends the final time index entry.
	if len(wantTime) == 0 || maxTs > wantTime[len(wantTime)-1][0] {
		wantTime = append(wantTime, [2]int64{maxTs, maxTsOff})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	gotIdx := readIndex(t, segmentName(dir, 0, ".index"), offsetIndexEntrySize)
	gotTime := readIndex(t, segmentName(dir, 0, ".timeindex"), timeIndexEntrySize)
	if len(wantIdx) < 5 {
		t.Fatalf("test expects several index entries, computed %d", len(wantIdx))
	}
	if !equalPairs(gotIdx, wantIdx) {
		t.Fatalf("offset index\n got %v\nwant %v", gotIdx, wantIdx)
	}
	if !equalPairs(gotTime, wantTime) {
		t.Fatalf("time index\n got %v\nwant %v", gotTime, wantTime)
	}
	// Recovery rebuilds the same offset index (one batch per append); the
	// active segment's indexes are preallocated until it closes.
	l = mustOpen(t, dir, Config{IndexIntervalBytes: interval}, true)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readIndex(t, segmentName(dir, 0, ".index"), offsetIndexEntrySize); !equalPairs(got, wantIdx) {
		t.Fatalf("rebuilt offset index\n got %v\nwant %v", got, wantIdx)
	}
	if got := readIndex(t, segmentName(dir, 0, ".timeindex"), timeIndexEntrySize); !equalPairs(got, wantTime) {
		t.Fatalf("rebuilt time index\n got %v\nwant %v", got, wantTime)
	}
}

func equalPairs(a, b [][2]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReopenKeepsState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-3")
	cfg := Config{SegmentBytes: 3000, IndexIntervalBytes: 200}
	l := mustOpen(t, dir, cfg, false)
	batches := appendN(t, l, 30, 2, 60)
	segs := l.NumSegments()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(buildBatch(t, batchSpec{}), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	for _, recover := range []bool{false, true} {
		l = mustOpen(t, dir, cfg, recover)
		if l.LogEndOffset() != 60 || l.NumSegments() != segs || l.LogStartOffset() != 0 {
			t.Fatalf("recover=%v: LEO %d, %d segments", recover, l.LogEndOffset(), l.NumSegments())
		}
		fs, err := l.Read(41, 1<<20, 100, false)
		if err != nil {
			t.Fatal(err)
		}
		if data := readSlice(t, fs); !bytes.HasPrefix(data, batches[20]) {
			t.Fatalf("recover=%v: Read(41) does not start with batch 20", recover)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	info := mustAppend(t, l, buildBatch(t, batchSpec{records: 4}))
	if info.FirstOffset != 60 || info.LastOffset != 63 {
		t.Fatalf("append after reopen: %+v", info)
	}
}

func TestRecovery(t *testing.T) {
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string, lastStart, size int64)
		wantLEO int64
	}{
		{"truncated mid batch", func(t *testing.T, path string, lastStart, size int64) {
			if err := os.Truncate(path, lastStart+20); err != nil {
				t.Fatal(err)
			}
		}, 18},
		{"corrupt crc in tail", func(t *testing.T, path string, lastStart, size int64) {
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xde, 0xad}, size-5); err != nil {
				t.Fatal(err)
			}
		}, 18},
		{"garbage appended", func(t *testing.T, path string, lastStart, size int64) {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}, 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			cfg := Config{IndexIntervalBytes: 100}
			l := mustOpen(t, dir, cfg, false)
			batches := appendN(t, l, 10, 2, 30)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			path := segmentName(dir, 0, ".log")
			total := int64(len(bytes.Join(batches, nil)))
			tc.damage(t, path, total-int64(len(batches[9])), total)

			l = mustOpen(t, dir, cfg, true)
			defer l.Close()
			if got := l.LogEndOffset(); got != tc.wantLEO {
				t.Fatalf("LEO after recovery %d, want %d", got, tc.wantLEO)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			keep := bytes.Join(batches[:tc.wantLEO/2], nil)
			if fi.Size() != int64(len(keep)) {
				t.Fatalf("log size %d after recovery, want %d", fi.Size(), len(keep))
			}
			for _, e := range readIndex(t, segmentName(dir, 0, ".index"), offsetIndexEntrySize) {
				if e[1] >= fi.Size() || e[0] >= tc.wantLEO {
					t.Fatalf("index entry %v beyond the recovered log", e)
				}
			}
			info := mustAppend(t, l, buildBatch(t, batchSpec{records: 2}))
			if info.FirstOffset != tc.wantLEO {
				t.Fatalf("append after recovery got offset %d", info.FirstOffset)
			}
			fs, err := l.Read(0, 1<<20, 1<<40, false)
			if err != nil {
				t.Fatal(err)
			}
			if hs := sliceHeaders(t, readSlice(t, fs)); len(hs) != int(tc.wantLEO/2)+1 {
				t.Fatalf("read %d batches after recovery", len(hs))
			}
		})
	}
}

func TestRecoveryRebuildsMissingIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := Config{SegmentBytes: 1500, IndexIntervalBytes: 100}
	l := mustOpen(t, dir, cfg, false)
	appendN(t, l, 20, 2, 40)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := readIndex(t, segmentName(dir, 0, ".index"), offsetIndexEntrySize)
	if err := os.Remove(segmentName(dir, 0, ".index")); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, false)
	// An empty index is valid, so only a torn one forces a rebuild; reads
	// still work from position 0.
	fs, err := l.Read(5, 1<<20, 100, false)
	if err != nil || fs.Size == 0 {
		t.Fatalf("read: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(segmentName(dir, 0, ".index"), []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	l2 := mustOpen(t, dir, cfg, false)
	defer l2.Close()
	if got := readIndex(t, segmentName(dir, 0, ".index"), offsetIndexEntrySize); !equalPairs(got, want) {
		t.Fatalf("rebuilt index %v, want %v", got, want)
	}
}

func TestOffsetForTimestamp(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{SegmentBytes: 1200, IndexIntervalBytes: 150}, false)
	defer l.Close()
	// Batch i holds 3 records with timestamps 1000+100i, +10, +20.
	for i := 0; i < 20; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 3, valueSize: 20, baseTs: int64(1000 + 100*i), tsStep: 10}))
	}
	// One compressed-flagged batch at the end (records are not decompressed).
	mustAppend(t, l, buildBatch(t, batchSpec{records: 2, baseTs: 9000, tsStep: 5, attrs: 1}))
	if l.NumSegments() < 2 {
		t.Fatalf("want several segments, got %d", l.NumSegments())
	}
	tests := []struct {
		ts, wantOff, wantTs int64
		found               bool
	}{
		{0, 0, 1000, true},
		{1000, 0, 1000, true},
		{1001, 1, 1010, true},
		{1020, 2, 1020, true},
		{1021, 3, 1100, true},
		{1510, 16, 1510, true},
		{2920, 59, 2920, true},
		{2921, 60, 9005, true}, // compressed batch: base offset, max timestamp
		{9005, 60, 9005, true},
		{9006, 0, 0, false},
	}
	for _, tc := range tests {
		off, ts, found, err := l.OffsetForTimestamp(tc.ts)
		if err != nil {
			t.Fatal(err)
		}
		if found != tc.found || (found && (off != tc.wantOff || ts != tc.wantTs)) {
			t.Errorf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d, %v", tc.ts, off, ts, found, tc.wantOff, tc.wantTs, tc.found)
		}
	}
}

func TestBatchesWalk(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{SegmentBytes: 1000, IndexIntervalBytes: 100}, false)
	defer l.Close()
	appendN(t, l, 25, 2, 30)
	var bases []int64
	if err := l.Batches(7, func(h BatchHeader) error { bases = append(bases, h.BaseOffset); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(bases) != 22 || bases[0] != 6 || bases[21] != 48 {
		t.Fatalf("walk from 7 visited %v", bases)
	}
	stop := errors.New("stop")
	n := 0
	if err := l.Batches(0, func(BatchHeader) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("stop: %v after %d", err, n)
	}
}

func TestConcurrentAppendRead(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{SegmentBytes: 4000, IndexIntervalBytes: 256}, false)
	defer l.Close()
	const n = 200
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				leo := l.LogEndOffset()
				if leo == 0 {
					continue
				}
				fs, err := l.Read(int64(i)%leo, 1<<20, leo, true)
				if err != nil {
					errc <- err
					return
				}
				b := make([]byte, fs.Size)
				if _, err := fs.File.ReadAt(b, fs.Pos); err != nil {
					errc <- err
					return
				}
				if _, err := SplitBatches(b); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if _, err := l.Append(buildBatch(t, batchSpec{records: 2, valueSize: 50}), 1); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

func TestDelete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := mustOpen(t, dir, Config{}, false)
	appendN(t, l, 3, 1, 10)
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("dir still there: %v", err)
	}
}

func BenchmarkAppend(b *testing.B) {
	l := mustOpen(b, filepath.Join(b.TempDir(), "bench-0"), Config{SegmentBytes: 64 << 20}, false)
	defer l.Close()
	proto := buildBatch(b, batchSpec{records: 10, valueSize: 90})
	batch := make([]byte, len(proto))
	b.SetBytes(int64(len(proto)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(batch, proto)
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestTruncateTo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := Config{SegmentBytes: 1000, IndexIntervalBytes: 100}
	l := mustOpen(t, dir, cfg, false)
	batches := appendN(t, l, 30, 2, 40) // offsets 0..59, batches of 2
	segs := l.NumSegments()
	if segs < 4 {
		t.Fatalf("want several segments, got %d", segs)
	}
	if err := l.TruncateTo(100); err != nil || l.LogEndOffset() != 60 {
		t.Fatalf("truncate above LEO: %v, LEO %d", err, l.LogEndOffset())
	}
	// Mid-segment truncation at a batch boundary.
	if err := l.TruncateTo(30); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 30 || l.NumSegments() >= segs {
		t.Fatalf("LEO %d, %d segments", l.LogEndOffset(), l.NumSegments())
	}
	if _, err := l.Read(31, 100, 100, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read above new LEO: %v", err)
	}
	fs, err := l.Read(0, 1<<20, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(bytes.Join(batches, nil), readSlice(t, fs)) {
		t.Fatal("kept data differs")
	}
	// Truncating into a batch removes the whole batch.
	if err := l.TruncateTo(25); err != nil || l.LogEndOffset() != 24 {
		t.Fatalf("truncate mid batch: %v, LEO %d", err, l.LogEndOffset())
	}
	if off, _, found, err := l.OffsetForTimestamp(1000 + 100*12); err != nil || found {
		t.Fatalf("timestamp of a truncated batch still found at %d (%v)", off, err)
	}
	info := mustAppend(t, l, buildBatch(t, batchSpec{records: 3, baseTs: 50_000}))
	if info.FirstOffset != 24 {
		t.Fatalf("append after truncate at %d", info.FirstOffset)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, true)
	if l.LogEndOffset() != 27 {
		t.Fatalf("LEO after reopen %d", l.LogEndOffset())
	}
	if err := l.TruncateFullyAndStartAt(500); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 500 || l.LogStartOffset() != 500 || l.NumSegments() != 1 {
		t.Fatalf("after full truncation: LEO %d start %d segments %d", l.LogEndOffset(), l.LogStartOffset(), l.NumSegments())
	}
	if _, err := l.Read(0, 100, 1000, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below start: %v", err)
	}
	mustAppend(t, l, buildBatch(t, batchSpec{records: 1}))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if bases, _ := segmentBases(OSFileSystem{}, dir); len(bases) != 1 || bases[0] != 500 {
		t.Fatalf("segments on disk %v", bases)
	}
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	if l.LogEndOffset() != 501 || l.LogStartOffset() != 500 {
		t.Fatalf("reopen: LEO %d start %d", l.LogEndOffset(), l.LogStartOffset())
	}
}

func TestAppendAsFollower(t *testing.T) {
	leader := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{}, false)
	defer leader.Close()
	appendN(t, leader, 5, 3, 20)
	fs, err := leader.Read(0, 1<<20, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	fetched := readSlice(t, fs)
	if _, err := SplitBatches(fetched); err != nil {
		t.Fatal(err)
	}
	follower := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{SegmentBytes: 300}, false)
	defer follower.Close()
	info, err := follower.AppendAsFollower(fetched)
	if err != nil {
		t.Fatal(err)
	}
	if info.FirstOffset != 0 || info.LastOffset != 14 || follower.LogEndOffset() != 15 {
		t.Fatalf("follower append %+v, LEO %d", info, follower.LogEndOffset())
	}
	// Same bytes (offsets and epochs kept), possibly over several segments.
	var all []byte
	for off := int64(0); off < 15; {
		fs, err := follower.Read(off, 1<<20, 100, false)
		if err != nil {
			t.Fatal(err)
		}
		data := readSlice(t, fs)
		hs := sliceHeaders(t, data)
		all = append(all, data...)
		off = hs[len(hs)-1].NextOffset()
	}
	if !bytes.Equal(all, fetched) {
		t.Fatal("follower log differs from leader batches")
	}
	if _, err := follower.AppendAsFollower(fetched); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("re-appending old offsets: %v", err)
	}
	// A fresh follower starting at a later offset moves its empty segment.
	f2dir := filepath.Join(t.TempDir(), "t-0")
	f2 := mustOpen(t, f2dir, Config{}, false)
	defer f2.Close()
	tail, err := leader.Read(9, 1<<20, 100, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f2.AppendAsFollower(readSlice(t, tail)); err != nil {
		t.Fatal(err)
	}
	if f2.LogEndOffset() != 15 || f2.LogStartOffset() != 9 {
		t.Fatalf("LEO %d, start %d", f2.LogEndOffset(), f2.LogStartOffset())
	}
	if bases, _ := segmentBases(OSFileSystem{}, f2dir); len(bases) != 1 || bases[0] != 9 {
		t.Fatalf("segments %v", bases)
	}
}

// A broker that became leader (epoch 5 assigned at its LEO) and lost
// leadership before appending: truncating to the LEO as a follower drops
// that empty epoch, as UnifiedLog.truncateTo does, so its next
// OffsetForLeaderEpoch asks about the epoch its records really carry.
func TestTruncateAtLEODropsEmptyEpoch(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{}, false)
	appendN(t, l, 2, 2, 40)
	if err := l.LeaderEpochs().Assign(3, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.LeaderEpochs().Assign(5, l.LogEndOffset()); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(l.LogEndOffset()); err != nil || l.LogEndOffset() != 4 {
		t.Fatalf("truncate at LEO: %v, LEO %d", err, l.LogEndOffset())
	}
	if got := l.LeaderEpochs().LatestEpoch(); got != 3 {
		t.Fatalf("latest epoch %d after truncating at the LEO, want 3", got)
	}
}

// message.timestamp.type=LogAppendTime: the leader stamps each batch with
// its own time (attribute bit 3, max timestamp = now, CRC redone) and says
// so in the append result; a follower's append keeps what the leader wrote.
func TestLogAppendTimeStamped(t *testing.T) {
	cfg := Config{MessageTimestampType: "LogAppendTime"}
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
	before := time.Now().UnixMilli()
	info := mustAppend(t, l, buildBatch(t, batchSpec{records: 3, baseTs: 1000}))
	after := time.Now().UnixMilli()
	if info.LogAppendTime < before || info.LogAppendTime > after || info.MaxTimestamp != info.LogAppendTime {
		t.Fatalf("append info %+v, want LogAppendTime in [%d, %d]", info, before, after)
	}
	fs, err := l.Read(0, 1<<20, 100, true)
	if err != nil {
		t.Fatal(err)
	}
	batch := readSlice(t, fs)
	h, err := checkBatch(batch)
	if err != nil {
		t.Fatalf("stamped batch fails its CRC check: %v", err)
	}
	if !h.LogAppendTime() || h.MaxTimestamp != info.LogAppendTime || h.BaseTimestamp != 1000 {
		t.Fatalf("stored header %+v", h)
	}
	if off, ts, found, err := l.OffsetForTimestamp(info.LogAppendTime); err != nil || !found || off != 0 || ts != info.LogAppendTime {
		t.Fatalf("time index lookup by the append time: %d %d %v %v", off, ts, found, err)
	}

	follower := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
	fi, err := follower.AppendAsFollower(batch)
	if err != nil || fi.LogAppendTime != -1 || fi.MaxTimestamp != info.LogAppendTime {
		t.Fatalf("follower append %+v %v", fi, err)
	}
}

// TestAppendAsFollowerChecksCRC: batches fetched from the leader are
// CRC-checked like any append (UnifiedLog.analyzeAndValidateRecords
// validates every origin, CorruptRecordException): a corrupt batch, even
// after good ones in the same fetch, fails with ErrCorruptMessage and
// nothing of the fetch is appended.
func TestAppendAsFollowerChecksCRC(t *testing.T) {
	batchAt := func(off int64, fill byte) []byte {
		b := buildBatch(t, batchSpec{records: 2, valueSize: 30, fill: fill})
		binary.BigEndian.PutUint64(b, uint64(off)) // before the CRC'd range
		return b
	}
	corrupt := func(b []byte) []byte {
		b[len(b)-1] ^= 0xff // a record byte: the CRC no longer matches
		return b
	}
	for _, tc := range []struct {
		name    string
		fetched []byte
	}{
		{"one corrupt batch", corrupt(batchAt(2, 1))},
		{"corrupt batch after a good one", append(batchAt(2, 1), corrupt(batchAt(4, 2))...)},
		{"corrupt batch between good ones", bytes.Join([][]byte{batchAt(2, 1), corrupt(batchAt(4, 2)), batchAt(6, 3)}, nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{}, false)
			defer l.Close()
			if _, err := l.AppendAsFollower(batchAt(0, 0)); err != nil {
				t.Fatal(err)
			}
			size := l.Size()
			if _, err := l.AppendAsFollower(tc.fetched); !errors.Is(err, ErrCorruptMessage) {
				t.Fatalf("follower append of a corrupt batch: %v, want ErrCorruptMessage", err)
			}
			if l.LogEndOffset() != 2 || l.Size() != size {
				t.Fatalf("after the refused append: LEO %d, %d bytes; want 2, %d", l.LogEndOffset(), l.Size(), size)
			}
			// The next fetch brings good bytes: appended from the same offset.
			if info, err := l.AppendAsFollower(batchAt(2, 1)); err != nil || info.FirstOffset != 2 || l.LogEndOffset() != 4 {
				t.Fatalf("append after the corrupt fetch: %+v, %v, LEO %d", info, err, l.LogEndOffset())
			}
		})
	}
}

// TestTruncateBelowLogStart: truncation lowers the log start offset to
// the target when it lies below it and keeps it otherwise
// (UnifiedLog.truncateTo: logStartOffset = min(targetOffset,
// logStartOffset); a target below the first segment truncates fully and
// starts the log there), so the log start never ends above the LEO and the
// log takes appends and reads from there.
func TestTruncateBelowLogStart(t *testing.T) {
	cfg := Config{SegmentBytes: 1000, IndexIntervalBytes: 100}
	for _, tc := range []struct {
		name                 string
		deleteBefore, target int64
		wantStart            int64
	}{
		// Segments start at 0, 12, 24, ...: deleting below 17 leaves the
		// first segment at 12 with the log start inside it.
		{"target above the log start keeps it", 17, 20, 17},
		// 17 is in the batch 16..17, which the truncation cuts: records
		// below the log start must not come back (the log restarts empty
		// at the log start, keeping it).
		{"target inside the batch holding the log start", 17, 17, 17},
		{"target between the first segment's base and the log start", 17, 14, 14},
		{"target at the first segment's base", 17, -1, -1}, // -1: the first segment's base
		{"target below the first segment", 17, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
			defer l.Close()
			appendN(t, l, 30, 2, 40) // offsets 0..59, batches of 2
			if _, err := l.DeleteRecordsBefore(tc.deleteBefore); err != nil {
				t.Fatal(err)
			}
			first := l.SegmentBaseOffsets()[0]
			if first == 0 || first >= tc.deleteBefore {
				t.Fatalf("setup: first segment at %d, log start %d", first, l.LogStartOffset())
			}
			target, wantStart := tc.target, tc.wantStart
			if target < 0 {
				target, wantStart = first, first
			}
			if err := l.TruncateTo(target); err != nil {
				t.Fatal(err)
			}
			if l.LogEndOffset() != target || l.LogStartOffset() != wantStart {
				t.Fatalf("after TruncateTo(%d): start %d, LEO %d; want %d, %d", target, l.LogStartOffset(), l.LogEndOffset(), wantStart, target)
			}
			if hw := l.HighWatermark(); hw < l.LogStartOffset() || hw > l.LogEndOffset() {
				t.Fatalf("HW %d outside [%d, %d]", hw, l.LogStartOffset(), l.LogEndOffset())
			}
			if _, err := l.Read(l.LogStartOffset(), 1<<20, 1<<40, true); err != nil {
				t.Fatalf("read at the log start: %v", err)
			}
			if info := mustAppend(t, l, buildBatch(t, batchSpec{records: 2})); info.FirstOffset != target {
				t.Fatalf("append after truncation at %d, want %d", info.FirstOffset, target)
			}
		})
	}
}
