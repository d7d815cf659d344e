package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestOffsetIndexLookupBetweenEntries(t *testing.T) {
	dir := t.TempDir()
	ix, err := openIndex(OSFileSystem{}, filepath.Join(dir, "0.index"), offsetIndexEntrySize)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.close(false)
	if err := ix.activate(1024); err != nil {
		t.Fatal(err)
	}
	if ix.maxEntries != 128 || ix.n != 0 {
		t.Fatalf("max %d n %d", ix.maxEntries, ix.n)
	}
	s := &segment{base: 100, oidx: offsetIndex{ix}, size: 1 << 20}
	// Entries (relative offset, position): (10, 1000), (20, 2000), ... (50, 5000).
	for i := int32(1); i <= 5; i++ {
		if err := s.oidx.append(offsetEntry{rel: 10 * i, pos: 1000 * i}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		offset, wantPos int64
	}{
		{100, 0},       // below the first entry: scan from the start
		{109, 0},       // just below the first entry
		{110, 1000},    // exact hit
		{115, 1000},    // between entries
		{129, 2000},    // just below the third entry
		{130, 3000},    // exact
		{149, 4000},    // between the last two
		{150, 5000},    // the last
		{10_000, 5000}, // beyond the last
		{50, 0},        // below the segment
	} {
		if got := s.lookup(tc.offset); got != tc.wantPos {
			t.Errorf("lookup(%d) = %d, want %d", tc.offset, got, tc.wantPos)
		}
	}
	// The preallocated file reopens with the right count (first all-zero
	// entry ends it) and trims to its entries.
	if err := ix.sync(); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "0.index")); fi.Size() != 1024 {
		t.Fatalf("active index not preallocated: %d bytes", fi.Size())
	}
	ix2, err := openIndex(OSFileSystem{}, filepath.Join(dir, "0.index"), offsetIndexEntrySize)
	if err != nil {
		t.Fatal(err)
	}
	if ix2.n != 5 {
		t.Fatalf("reopened entry count %d, want 5", ix2.n)
	}
	if err := ix2.close(true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "0.index")); fi.Size() != 5*offsetIndexEntrySize {
		t.Fatalf("trimmed index has %d bytes", fi.Size())
	}
}

func TestTimeIndexLookup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 1 // an index entry for nearly every batch
	l := mustOpen(t, dir, cfg, false)
	defer l.Close()
	// Batch i: 2 records at 10_000+1000i and +1.
	for i := 0; i < 50; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 2, baseTs: int64(10_000 + 1000*i), tsStep: 1}))
	}
	l.mu.RLock()
	s := l.active()
	if s.tidx.n < 40 {
		l.mu.RUnlock()
		t.Fatalf("time index has %d entries", s.tidx.n)
	}
	for _, tc := range []struct {
		ts, wantOffset int64
	}{
		{0, 0},        // before every entry: the base offset
		{10_000, 0},   // first batch is never indexed (bytes since last entry start at 0)
		{12_001, 5},   // exact: batch 2's max timestamp at offset 5
		{12_500, 5},   // between entries
		{20_001, 21},  // batch 10
		{1 << 40, 99}, // beyond: the last entry
	} {
		if got := s.timeLookup(tc.ts); got != tc.wantOffset {
			t.Errorf("timeLookup(%d) = %d, want %d", tc.ts, got, tc.wantOffset)
		}
	}
	l.mu.RUnlock()
	// The public search lands on the exact record.
	off, ts, found, err := l.OffsetForTimestamp(23_001)
	if err != nil || !found || off != 27 || ts != 23_001 {
		t.Fatalf("OffsetForTimestamp: %d %d %v %v", off, ts, found, err)
	}
}

func TestIndexEntryCountStopsAtZeroEntry(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries int
		zeros   int
	}{
		{"empty", 0, 0},
		{"zeros only", 0, 10},
		{"one", 1, 0},
		{"preallocated", 7, 100},
		{"full", 64, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b []byte
			for i := 1; i <= tc.entries; i++ {
				b = binary.BigEndian.AppendUint32(b, uint32(i))
				b = binary.BigEndian.AppendUint32(b, uint32(i*100))
			}
			b = append(b, make([]byte, tc.zeros*offsetIndexEntrySize)...)
			path := filepath.Join(t.TempDir(), "x.index")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			ix, err := openIndex(OSFileSystem{}, path, offsetIndexEntrySize)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.close(false)
			if ix.n != tc.entries {
				t.Fatalf("n = %d, want %d", ix.n, tc.entries)
			}
		})
	}
}

func TestIndexesPreallocatedWhileActiveTrimmedOnRoll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 4000
	cfg.IndexIntervalBytes = 100
	cfg.MaxIndexBytes = 4096
	l := mustOpen(t, dir, cfg, false)
	appendN(t, l, 40, 2, 60)
	bases := l.SegmentBaseOffsets()
	if len(bases) < 3 {
		t.Fatalf("want several segments, got %v", bases)
	}
	size := func(base int64, suf string) int64 {
		fi, err := os.Stat(segmentName(dir, base, suf))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	act := bases[len(bases)-1]
	if got := size(act, ".index"); got != 4096 {
		t.Fatalf("active .index is %d bytes, want 4096", got)
	}
	if got := size(act, ".timeindex"); got != 4092 {
		t.Fatalf("active .timeindex is %d bytes, want 4092 (whole entries)", got)
	}
	for _, b := range bases[:len(bases)-1] {
		if s := size(b, ".index"); s == 0 || s%8 != 0 || s >= 4096 {
			t.Fatalf("rolled .index of %d not trimmed: %d bytes", b, s)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if got := size(act, ".index"); got >= 4096 || got%8 != 0 {
		t.Fatalf(".index not trimmed on close: %d bytes", got)
	}
}

func TestRoll(t *testing.T) {
	base := func() LogConfig {
		c := DefaultLogConfig()
		c.IndexIntervalBytes = 100
		return c
	}
	tests := []struct {
		name    string
		cfg     func() LogConfig
		batches func(i int) batchSpec
		n       int
		want    func(t *testing.T, bases []int64)
	}{
		{"by size", func() LogConfig { c := base(); c.SegmentBytes = 1000; return c },
			func(i int) batchSpec { return batchSpec{records: 1, valueSize: 150, baseTs: 1000} }, 30,
			func(t *testing.T, bases []int64) {
				// ~230-byte batches: 4 fit in 1000 bytes.
				if len(bases) != 8 || bases[1] != 4 {
					t.Fatalf("segments %v", bases)
				}
			}},
		{"by time of first batch", func() LogConfig { c := base(); c.SegmentMs = 10_000; return c },
			// Timestamps step 3 s: a segment holds batches within 10 s of its first.
			func(i int) batchSpec { return batchSpec{records: 1, baseTs: int64(1_000_000 + 3000*i)} }, 12,
			func(t *testing.T, bases []int64) {
				want := []int64{0, 4, 8}
				if fmt.Sprint(bases) != fmt.Sprint(want) {
					t.Fatalf("segments %v, want %v", bases, want)
				}
			}},
		{"by full offset index", func() LogConfig { c := base(); c.IndexIntervalBytes = 0; c.MaxIndexBytes = 40; return c },
			// With interval 0 every append after the first adds an entry: 5 fit.
			func(i int) batchSpec { return batchSpec{records: 1, baseTs: 1000} }, 20,
			func(t *testing.T, bases []int64) {
				want := []int64{0, 6, 12, 18}
				if fmt.Sprint(bases) != fmt.Sprint(want) {
					t.Fatalf("segments %v, want %v", bases, want)
				}
			}},
		{"by full time index", func() LogConfig { c := base(); c.IndexIntervalBytes = 0; c.MaxIndexBytes = 48; return c },
			// 4 time entries (48/12), the last reserved for the roll: 3 rising
			// timestamps then roll; the offset index (6 entries) is not full.
			func(i int) batchSpec { return batchSpec{records: 1, baseTs: int64(1000 + i)} }, 12,
			func(t *testing.T, bases []int64) {
				want := []int64{0, 4, 8}
				if fmt.Sprint(bases) != fmt.Sprint(want) {
					t.Fatalf("segments %v, want %v", bases, want)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "t-0")
			l := mustOpen(t, dir, tc.cfg(), false)
			defer l.Close()
			for i := 0; i < tc.n; i++ {
				mustAppend(t, l, buildBatch(t, tc.batches(i)))
			}
			tc.want(t, l.SegmentBaseOffsets())
		})
	}
}

func TestRollJitterInRange(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentMs = 1000
	cfg.SegmentJitterMs = 5000 // capped at segment.ms
	for i := 0; i < 200; i++ {
		if j := randomJitter(cfg); j < 0 || j >= 1000 {
			t.Fatalf("jitter %d outside [0, 1000)", j)
		}
	}
	cfg.SegmentJitterMs = 0
	if j := randomJitter(cfg); j != 0 {
		t.Fatalf("jitter %d without segment.jitter.ms", j)
	}
}

// TestManySegmentsByBaseOffset: segment.bytes=1048576 and 100 MB appended
// give ~100 segments named by their base offsets, each with its indexes.
func TestManySegmentsByBaseOffset(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100 MB")
	}
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1 << 20
	l := mustOpen(t, dir, cfg, false)
	proto := buildBatch(t, batchSpec{records: 10, valueSize: 1000, baseTs: 1000})
	batch := make([]byte, len(proto))
	var total int64
	for total < 100<<20 {
		copy(batch, proto)
		mustAppend(t, l, batch)
		total += int64(len(batch))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	bases, err := segmentBases(OSFileSystem{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(bases) < 95 {
		t.Fatalf("%d segments for 100 MB at 1 MiB each", len(bases))
	}
	perSeg := int64((1 << 20) / len(proto) * 10) // records per full segment
	for i, b := range bases {
		if b != int64(i)*perSeg {
			t.Fatalf("segment %d has base %d, want %d", i, b, int64(i)*perSeg)
		}
		for _, suf := range []string{".log", ".index", ".timeindex"} {
			if _, err := os.Stat(segmentName(dir, b, suf)); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(segmentName(dir, b, ".log"))
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 1<<20 || !bytes.Equal(data[:8], binary.BigEndian.AppendUint64(nil, uint64(b))) {
			t.Fatalf("segment %d: %d bytes, first offset %x", b, len(data), data[:8])
		}
	}
	// Reopen and check every segment's index passes the sanity check.
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	if st := l.Recovery(); st.IndexesRebuilt != 0 || st.SegmentsRecovered != 0 {
		t.Fatalf("clean reopen rebuilt or recovered: %+v", st)
	}
}
