package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deletedFiles lists the .deleted files in dir.
func deletedFiles(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), deletedSuffix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// retentionLog makes a log of 10 segments of 4 one-record batches each;
// batch i has timestamp ts(i).
func retentionLog(t *testing.T, cfg LogConfig, ts func(i int) int64) (*Log, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg.SegmentBytes = 4 * 300
	cfg.IndexIntervalBytes = 100
	l := mustOpen(t, dir, cfg, false)
	for i := 0; i < 40; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: ts(i)}))
	}
	if n := l.NumSegments(); n != 10 {
		t.Fatalf("setup: %d segments", n)
	}
	return l, dir
}

func TestRetention(t *testing.T) {
	now := time.Now().UnixMilli()
	hour := int64(time.Hour / time.Millisecond)
	tests := []struct {
		name      string
		cfg       func(c *LogConfig)
		ts        func(i int) int64
		prepare   func(t *testing.T, l *Log)
		wantStart int64
		wantSegs  int
	}{
		{"time: segments older than retention.ms", func(c *LogConfig) { c.RetentionMs = 2 * hour },
			// Batches 0..19 are 3 h old, 20..39 fresh.
			func(i int) int64 {
				if i < 20 {
					return now - 3*hour
				}
				return now
			}, nil, 20, 5},
		{"time: largest timestamp counts", func(c *LogConfig) { c.RetentionMs = 2 * hour },
			// Segment 2 (batches 8..11) has one fresh record: it and later stay.
			func(i int) int64 {
				if i < 20 && i != 10 {
					return now - 3*hour
				}
				return now
			}, nil, 8, 8},
		{"time: active segment rolled and deleted", func(c *LogConfig) { c.RetentionMs = hour },
			func(i int) int64 { return now - 3*hour }, nil, 40, 1},
		{"time: -1 keeps all", func(c *LogConfig) { c.RetentionMs = -1 },
			func(i int) int64 { return 0 }, nil, 0, 10},
		{"size: retention.bytes per partition", func(c *LogConfig) { c.RetentionBytes = 3*1200 + 100 },
			// 10 segments of ~1120 bytes over a limit of ~3.1 segments: the
			// oldest 6 go, never leaving less than the limit.
			func(i int) int64 { return now }, nil, 24, 4},
		{"size and time: compact-only topic keeps all", func(c *LogConfig) {
			c.RetentionBytes = 0
			c.RetentionMs = 0
			c.CleanupPolicy = []string{"compact"}
		}, func(i int) int64 { return 0 }, nil, 0, 10},
		{"start offset: segments wholly below it", func(c *LogConfig) { c.RetentionMs = -1 },
			func(i int) int64 { return now }, func(t *testing.T, l *Log) {
				l.mu.Lock()
				l.logStart = 13
				l.mu.Unlock()
			}, 13, 7},
		{"start offset applies to compact-only topics", func(c *LogConfig) { c.CleanupPolicy = []string{"compact"} },
			func(i int) int64 { return now }, func(t *testing.T, l *Log) {
				l.mu.Lock()
				l.logStart = 8
				l.mu.Unlock()
			}, 8, 8},
		{"high watermark bounds deletion", func(c *LogConfig) { c.RetentionMs = hour },
			func(i int) int64 { return now - 3*hour }, func(t *testing.T, l *Log) { l.SetHighWatermark(10) }, 8, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultLogConfig()
			cfg.FileDeleteDelayMs = 200
			tc.cfg(&cfg)
			l, dir := retentionLog(t, cfg, tc.ts)
			defer l.Close()
			commitAll(l)
			if tc.prepare != nil {
				tc.prepare(t, l)
			}
			n, err := l.DeleteOldSegments()
			if err != nil {
				t.Fatal(err)
			}
			if got := l.LogStartOffset(); got != tc.wantStart || l.NumSegments() != tc.wantSegs {
				t.Fatalf("start %d, %d segments (deleted %d); want %d, %d", got, l.NumSegments(), n, tc.wantStart, tc.wantSegs)
			}
			if l.LogEndOffset() != 40 {
				t.Fatalf("LEO moved to %d", l.LogEndOffset())
			}
			if _, err := l.Read(tc.wantStart-1, 1<<20, 1<<40, true); tc.wantStart > 0 && !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatalf("read below log start: %v", err)
			}
			if tc.wantStart < 40 {
				fs, err := l.Read(tc.wantStart, 1<<20, 1<<40, true)
				if err != nil || fs.Size == 0 {
					t.Fatalf("read at log start: %v", err)
				}
			}
			// Deleted segments: 3 .deleted files each, appearing at once,
			// gone after file.delete.delay.ms.
			if got := len(deletedFiles(t, dir)); got != 3*n {
				t.Fatalf("%d .deleted files for %d deleted segments", got, n)
			}
			waitFor(t, ".deleted files to go", func() bool { return len(deletedFiles(t, dir)) == 0 })
			bases, err := segmentBases(OSFileSystem{}, dir)
			if err != nil || len(bases) != tc.wantSegs {
				t.Fatalf("segments on disk %v (%v)", bases, err)
			}
		})
	}
}

func TestDeletedSegmentStillReadable(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.FileDeleteDelayMs = 0
	l, dir := retentionLog(t, cfg, func(int) int64 { return time.Now().UnixMilli() })
	defer l.Close()
	fs, err := l.Read(0, 1<<20, 1<<40, true)
	if err != nil {
		t.Fatal(err)
	}
	want := readSlice(t, fs)
	if low, err := l.DeleteRecordsBefore(20); err != nil || low != 20 {
		t.Fatalf("DeleteRecordsBefore: %d, %v", low, err)
	}
	waitFor(t, "files removed", func() bool { return len(deletedFiles(t, dir)) == 0 })
	// The slice handed out before keeps reading the unlinked file.
	if got := readSlice(t, fs); string(got) != string(want) {
		t.Fatal("in-flight slice changed after deletion")
	}
}

func TestDeleteRecordsBefore(t *testing.T) {
	dirs := []string{t.TempDir()}
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1200
	cfg.FileDeleteDelayMs = 0
	m, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.GetOrCreate("dr", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: 1000}))
	}
	for _, tc := range []struct {
		offset, wantLow int64
		wantErr         error
		wantSegs        int
	}{
		{2, 2, nil, 10}, // inside the first segment: nothing deleted
		{1, 2, nil, 10}, // never backwards
		{9, 9, nil, 8},  // segments [0..3] and [4..7] wholly below
		{41, 9, ErrOffsetOutOfRange, 8},
		{40, 40, nil, 1}, // everything below the LEO: the active segment stays
	} {
		low, err := m.DeleteRecordsBefore("dr", 0, tc.offset)
		if !errors.Is(err, tc.wantErr) || low != tc.wantLow || l.NumSegments() != tc.wantSegs {
			t.Fatalf("DeleteRecordsBefore(%d) = %d, %v, %d segments; want %d, %v, %d",
				tc.offset, low, err, l.NumSegments(), tc.wantLow, tc.wantErr, tc.wantSegs)
		}
		starts, err := ReadOffsetCheckpoint(filepath.Join(dirs[0], LogStartOffsetCheckpoint))
		if err != nil || starts[TopicPartition{"dr", 0}] != low {
			t.Fatalf("checkpointed start %v, %v; want %d", starts, err, low)
		}
	}
	if _, err := l.Read(39, 1<<20, 1<<40, true); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below the low watermark: %v", err)
	}
	info := mustAppend(t, l, buildBatch(t, batchSpec{}))
	if info.FirstOffset != 40 {
		t.Fatalf("append after DeleteRecords at %d", info.FirstOffset)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, _ = m.Get("dr", 0)
	if l.LogStartOffset() != 40 || l.LogEndOffset() != 41 {
		t.Fatalf("after reopen: start %d LEO %d", l.LogStartOffset(), l.LogEndOffset())
	}
}

func TestManagerRunRetentionAndFlush(t *testing.T) {
	dirs := []string{t.TempDir()}
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1200
	cfg.FileDeleteDelayMs = 0
	cfg.RetentionBytes = 2400
	m, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	flushCfg := cfg
	flushCfg.FlushMs = 0 // every tick
	m.SetTopicConfig("flushy", flushCfg)
	l, err := m.GetOrCreate("ret", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	fl, err := m.GetOrCreate("flushy", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: 1000}))
	}
	commitAll(l)
	mustAppend(t, fl, buildBatch(t, batchSpec{records: 3}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx, 10*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "retention by size", func() bool { return l.NumSegments() <= 3 })
	waitFor(t, "log start checkpoint", func() bool {
		starts, _ := ReadOffsetCheckpoint(filepath.Join(dirs[0], LogStartOffsetCheckpoint))
		return starts[TopicPartition{"ret", 0}] == l.LogStartOffset()
	})
	waitFor(t, "flush by flush.ms", func() bool { return fl.RecoveryPoint() == 3 })
}

func TestFlushMessages(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.FlushMessages = 5
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
	defer l.Close()
	for i, want := range []int64{0, 0, 6, 6, 6, 12} {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 2}))
		if got := l.RecoveryPoint(); got != want {
			t.Fatalf("after append %d: recovery point %d, want %d", i, got, want)
		}
	}
}

func TestRollFlushesOldSegment(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1000
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
	defer l.Close()
	for i := 0; i < 10; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200}))
	}
	bases := l.SegmentBaseOffsets()
	waitFor(t, "recovery point at the active segment", func() bool { return l.RecoveryPoint() == bases[len(bases)-1] })
}

// TestUnsetHighWatermarkIsLogStart: a log whose high watermark has not been
// set yet (no LeaderAndIsr so far) starts it at the log start offset, as
// UnifiedLog does, so retention (UnifiedLog.deletableSegments) and the
// cleaner (LogCleanerManager.cleanableOffsets) touch nothing at or above it
// rather than treating the LEO as the limit.
func TestUnsetHighWatermarkIsLogStart(t *testing.T) {
	t.Run("retention", func(t *testing.T) {
		cfg := DefaultLogConfig()
		cfg.RetentionMs = 1000
		cfg.FileDeleteDelayMs = 0
		l, _ := retentionLog(t, cfg, func(int) int64 { return 1 }) // every batch expired
		defer l.Close()
		if hw := l.HighWatermark(); hw != 0 {
			t.Fatalf("initial high watermark %d, want the log start 0", hw)
		}
		if n, err := l.DeleteOldSegments(); n != 0 || err != nil || l.LogStartOffset() != 0 || l.NumSegments() != 10 {
			t.Fatalf("retention with the HW unset deleted %d segments (%v): start %d, %d segments",
				n, err, l.LogStartOffset(), l.NumSegments())
		}
		l.SetHighWatermark(10)
		if n, err := l.DeleteOldSegments(); n != 2 || err != nil || l.LogStartOffset() != 8 {
			t.Fatalf("retention below HW 10 deleted %d segments (%v), start %d; want 2, 8", n, err, l.LogStartOffset())
		}
	})
	t.Run("reopened log starts at its log start", func(t *testing.T) {
		dirs := []string{t.TempDir()}
		cfg := DefaultLogConfig()
		cfg.SegmentBytes = 1200
		cfg.RetentionMs = 1000
		cfg.FileDeleteDelayMs = 0
		m, err := OpenManager(dirs, cfg, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		l, err := m.GetOrCreate("r", 0, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i++ {
			mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: 1}))
		}
		l.SetHighWatermark(6)
		if low, err := m.DeleteRecordsBefore("r", 0, 6); low != 6 || err != nil {
			t.Fatalf("DeleteRecordsBefore: %d, %v", low, err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		m, err = OpenManager(dirs, cfg, quietLogger())
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l, _ = m.Get("r", 0)
		if hw := l.HighWatermark(); hw != 6 {
			t.Fatalf("reopened high watermark %d, want the log start 6", hw)
		}
		if n, err := m.CleanupLogs(); n != 0 || err != nil || l.LogStartOffset() != 6 {
			t.Fatalf("retention after reopen deleted %d segments (%v), start %d", n, err, l.LogStartOffset())
		}
	})
	t.Run("kept within [log start, LEO]", func(t *testing.T) {
		l, _ := retentionLog(t, DefaultLogConfig(), func(int) int64 { return 1 })
		defer l.Close()
		l.SetHighWatermark(1000)
		if hw := l.HighWatermark(); hw != 40 {
			t.Fatalf("HW above the LEO: %d, want 40", hw)
		}
		if _, err := l.DeleteRecordsBefore(12); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(3)
		if hw := l.HighWatermark(); hw != 12 {
			t.Fatalf("HW below the log start: %d, want 12", hw)
		}
		if err := l.TruncateTo(20); err != nil {
			t.Fatal(err)
		}
		l.SetHighWatermark(30)
		if hw := l.HighWatermark(); hw != 20 {
			t.Fatalf("HW after truncation to 20: %d", hw)
		}
		l.SetHighWatermark(15)
		if err := l.TruncateTo(14); err != nil {
			t.Fatal(err)
		}
		if hw := l.HighWatermark(); hw != 14 {
			t.Fatalf("truncation below the HW left it at %d, want 14 (UnifiedLog.truncateTo)", hw)
		}
		if err := l.TruncateFullyAndStartAt(50); err != nil {
			t.Fatal(err)
		}
		if hw := l.HighWatermark(); hw != 50 {
			t.Fatalf("HW after TruncateFullyAndStartAt(50): %d", hw)
		}
	})
}

// TestFlushSyncsDirAfterNewSegment: with flush.messages=1 every append is
// fsynced, and the flush that first covers a new segment also fsyncs the
// partition directory so the segment's files survive a power loss
// (LocalLog.flush: flushDirIfExists when a flushed segment's base is at or
// above the recovery point). Appends into an existing segment do not sync
// the directory; a failing directory sync fails the flush and keeps the
// recovery point.
func TestFlushSyncsDirAfterNewSegment(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1000
	cfg.FlushMessages = 1
	dir := filepath.Join(t.TempDir(), "t-0")
	l := mustOpen(t, dir, cfg, false)
	defer l.Close()
	var mu sync.Mutex
	syncs := 0
	var syncErr error
	l.dirSyncer = func(d string) error {
		mu.Lock()
		defer mu.Unlock()
		if d != dir {
			t.Errorf("synced %s, want the partition dir %s", d, dir)
		}
		syncs++
		return syncErr
	}
	synced := func() int {
		mu.Lock()
		defer mu.Unlock()
		return syncs
	}
	for i := 0; i < 12; i++ {
		before, segsBefore := synced(), l.NumSegments()
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200}))
		if l.RecoveryPoint() != l.LogEndOffset() {
			t.Fatalf("append %d: recovery point %d, LEO %d with flush.messages=1", i, l.RecoveryPoint(), l.LogEndOffset())
		}
		newSeg := i == 0 || l.NumSegments() > segsBefore // the first append flushes the segment made at open
		if got := synced() - before; newSeg && got == 0 || !newSeg && got != 0 {
			t.Fatalf("append %d (new segment %v): %d directory syncs", i, newSeg, got)
		}
	}
	if l.NumSegments() < 3 {
		t.Fatalf("setup: %d segments", l.NumSegments())
	}
	mu.Lock()
	syncErr = errors.New("disk gone")
	mu.Unlock()
	rp := l.RecoveryPoint()
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(buildBatch(t, batchSpec{records: 1, valueSize: 200}), 5); err == nil {
		t.Fatal("append whose directory sync failed succeeded")
	}
	if l.RecoveryPoint() != rp {
		t.Fatalf("recovery point moved to %d after a failed directory sync, want %d", l.RecoveryPoint(), rp)
	}
}

// TestCloseSyncsDirOfUnflushedSegment: closing a log whose active segment
// was created since the last flush fsyncs the directory as well
// (LogManager.shutdown flushes every log through LocalLog.flush).
func TestCloseSyncsDirOfUnflushedSegment(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), DefaultLogConfig(), false)
	var syncs atomic.Int32
	l.dirSyncer = func(string) error { syncs.Add(1); return nil }
	mustAppend(t, l, buildBatch(t, batchSpec{records: 2}))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if syncs.Load() != 1 || l.RecoveryPoint() != 2 {
		t.Fatalf("close: %d directory syncs, recovery point %d; want 1, 2", syncs.Load(), l.RecoveryPoint())
	}
}

// TestAppendFlushFailureIsStorageError: a flush that fails after the
// records were written (here the directory fsync) fails the append with
// ErrStorage, as UnifiedLog.append runs the write and the flush inside
// maybeHandleIOException (a KafkaStorageException): the caller must treat
// the log as failed, not the records as refused. The records are in the
// log. A refused batch is not a storage error.
func TestAppendFlushFailureIsStorageError(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.FlushMessages = 1
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), cfg, false)
	defer l.Close()
	l.dirSyncer = func(string) error { return errors.New("disk gone") }
	_, err := l.Append(buildBatch(t, batchSpec{records: 2}), 5)
	if !errors.Is(err, ErrStorage) {
		t.Fatalf("append whose flush failed: %v, want ErrStorage", err)
	}
	if l.LogEndOffset() != 2 {
		t.Fatalf("LEO %d after the failed flush, want 2 (the write happened)", l.LogEndOffset())
	}
	bad := buildBatch(t, batchSpec{records: 1})
	bad[len(bad)-1] ^= 0xff
	if _, err := l.AppendAsFollower(bad); err == nil || errors.Is(err, ErrStorage) {
		t.Fatalf("corrupt follower batch: %v, want a validation error, not ErrStorage", err)
	}
}
