package storage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkProducerStateLoad1GiB is the figure: a partition holding
// 1 GiB of idempotent batches (1 KiB batches of 1000 producers, 128 MiB
// segments) is opened and its producer state loaded, as when it becomes
// leader:
//   - clean: after a clean close (snapshot at the LEO: nothing replayed);
//   - crash: the LEO snapshot lost (replay from the newest roll snapshot);
//   - rescan: no snapshot at all (the full scan every load did before).
//
// It writes 1 GiB to a temp dir, so it only runs with
// KAFKAZK_BENCH_1GIB=1 (make bench sets it), never in make test. The page
// cache is warm: a cold read of the segments costs the rescan more.
func BenchmarkProducerStateLoad1GiB(b *testing.B) {
	if os.Getenv("KAFKAZK_BENCH_1GIB") == "" {
		b.Skip("set KAFKAZK_BENCH_1GIB=1 to write and load a 1 GiB log")
	}
	dir := filepath.Join(b.TempDir(), "bench-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 128 << 20
	const producers, size = 1000, 1 << 30
	l := mustOpen(b, dir, cfg, false)
	proto := buildBatch(b, batchSpec{records: 1, valueSize: 1024 - 61 - 16, producerID: 1, seq: 0})
	binary.BigEndian.PutUint16(proto[offProducerEpoch:], 0)
	batch := make([]byte, len(proto))
	for i := 0; int64(i)*int64(len(proto)) < size; i++ {
		copy(batch, proto)
		binary.BigEndian.PutUint64(batch[offProducerID:], uint64(i%producers))
		binary.BigEndian.PutUint32(batch[offBaseSequence:], uint32(i/producers))
		fixCRC(batch)
		if _, err := l.AppendAsLeader(batch, 0, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	snaps, err := listProducerSnapshots(OSFileSystem{}, dir)
	if err != nil || len(snaps) < 2 {
		b.Fatalf("snapshots %v: %v", snaps, err)
	}
	leoSnap := snaps[len(snaps)-1]
	saved, err := os.ReadFile(producerSnapshotName(dir, leoSnap))
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, prepare func()) {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				prepare()
				b.StartTimer()
				l := mustOpen(b, dir, cfg, false) // loads the producer state
				b.StopTimer()
				l.mu.Lock()
				n := len(l.producers.producers)
				l.mu.Unlock()
				if n != producers {
					b.Fatalf("%d producers loaded, want %d", n, producers)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	removeAll := func(keep func(off int64) bool) {
		if err := deleteProducerSnapshotsWhere(OSFileSystem{}, dir, func(o int64) bool { return !keep(o) }); err != nil {
			b.Fatal(err)
		}
	}
	restoreLEO := func() {
		if err := os.WriteFile(producerSnapshotName(dir, leoSnap), saved, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	run("clean", restoreLEO)
	run("crash", func() { removeAll(func(o int64) bool { return o < leoSnap }) })
	run("rescan", func() { removeAll(func(int64) bool { return false }) })
	restoreLEO()
}
