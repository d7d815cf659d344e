package storage

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// oneKiBBatch is a v2 batch of one record, 1024 bytes in all.
func oneKiBBatch(b *testing.B) []byte {
	b.Helper()
	proto := buildBatch(b, batchSpec{records: 1, valueSize: 1024 - 61 - 16})
	if len(proto) < 1000 || len(proto) > 1048 {
		b.Fatalf("batch of %d bytes", len(proto))
	}
	return proto
}

// BenchmarkAppend1KiB appends 1 KiB batches to a log (default segment and
// index settings, no fsync: as Kafka, durability is left to the page cache).
func BenchmarkAppend1KiB(b *testing.B) {
	l := mustOpen(b, filepath.Join(b.TempDir(), "bench-0"), DefaultLogConfig(), false)
	defer l.Close()
	proto := oneKiBBatch(b)
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

// BenchmarkWriteSyscall1KiB is the baseline: plain sequential write(2) of
// the same bytes to one file.
func BenchmarkWriteSyscall1KiB(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "plain"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	proto := oneKiBBatch(b)
	batch := make([]byte, len(proto))
	b.SetBytes(int64(len(proto)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(batch, proto)
		if _, err := f.Write(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOffsetLookupFullSegment looks offsets up in the index of a full
// 1 GiB segment: one entry per 4096 bytes (index.interval.bytes), 4 records
// per KiB; only the .index is built.
func BenchmarkOffsetLookupFullSegment(b *testing.B) {
	ix, err := openIndex(OSFileSystem{}, filepath.Join(b.TempDir(), "0.index"), offsetIndexEntrySize)
	if err != nil {
		b.Fatal(err)
	}
	defer ix.close(false)
	if err := ix.activate(DefaultLogConfig().MaxIndexBytes); err != nil {
		b.Fatal(err)
	}
	const segBytes, interval = 1 << 30, 4096
	s := &segment{base: 0, oidx: offsetIndex{ix}, size: segBytes}
	for pos := int64(interval); pos < segBytes; pos += interval {
		if err := s.oidx.append(offsetEntry{rel: int32(pos / 256), pos: int32(pos)}); err != nil {
			b.Fatal(err)
		}
	}
	maxOffset := int64(segBytes / 256)
	offsets := make([]int64, 4096)
	for i := range offsets {
		offsets[i] = rand.Int64N(maxOffset)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off := offsets[i%len(offsets)]
		if pos := s.lookup(off); pos > off*256 {
			b.Fatalf("lookup(%d) = %d", off, pos)
		}
	}
	b.ReportMetric(float64(s.oidx.n), "entries")
}

// BenchmarkRecovery revalidates a 64 MiB log (CRC-32C of every batch,
// index rebuild) from recovery point 0; MB/s via SetBytes.
func BenchmarkRecovery(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "rec-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 16 << 20
	l := mustOpen(b, dir, cfg, false)
	proto := buildBatch(b, batchSpec{records: 10, valueSize: 1600})
	batch := make([]byte, len(proto))
	for l.Size() < 64<<20 {
		copy(batch, proto)
		if _, err := l.Append(batch, 0); err != nil {
			b.Fatal(err)
		}
	}
	size := l.Size()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l, err := openLog(dir, cfg, openOptions{recover: true, recoveryPoint: 0, logStart: -1}, quietLogger())
		if err != nil {
			b.Fatal(err)
		}
		if st := l.Recovery(); st.BytesRecovered != size || st.TruncatedBytes != 0 {
			b.Fatalf("recovery stats %+v", st)
		}
		b.StopTimer()
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
