package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// fillDirs writes n batches to each of parts partitions over dirs and
// closes the manager uncleanly or cleanly; it returns each partition's
// batches.
func fillDirs(t *testing.T, dirs []string, parts, n int, clean bool) map[TopicPartition][][]byte {
	t.Helper()
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 600
	cfg.IndexIntervalBytes = 1
	m, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	out := map[TopicPartition][][]byte{}
	for p := 0; p < parts; p++ {
		tp := TopicPartition{Topic: "t", Partition: int32(p)}
		l, err := m.GetOrCreate(tp.Topic, tp.Partition, [16]byte{7})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			b := encodeBatch(batchSpec{records: 2, valueSize: 50, baseTs: int64(1000 + i), fill: byte(i + p)})
			if _, err := l.Append(b, 1); err != nil {
				t.Fatal(err)
			}
			out[tp] = append(out[tp], b)
		}
		l.flushWG.Wait()
	}
	if clean {
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		// A crash: the files stay as written, no checkpoint, no marker.
		for _, ml := range m.logs {
			ml.log.closeHandles()
		}
	}
	return out
}

// checkBatches reads a log whole and compares it with want.
func checkBatches(t *testing.T, l *Log, want [][]byte) {
	t.Helper()
	var got [][]byte
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatalf("read %s at %d: %v", l.Dir(), off, err)
		}
		data := readSlice(t, fs)
		for _, h := range sliceHeaders(t, data) {
			got = append(got, data[:h.Size()])
			data = data[h.Size():]
			off = h.NextOffset()
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%s holds %d batches, want %d", l.Dir(), len(got), len(want))
	}
	for i := range got {
		if string(got[i]) != string(want[i]) {
			t.Fatalf("%s: batch %d differs", l.Dir(), i)
		}
	}
}

// TestStartWithFailingDir: a log dir whose loading meets an I/O error goes
// offline from the start and the broker starts with the others
// (LogManager.loadLogs: handleIOException, then maybeAddOfflineLogDir);
// nothing is written to it; every dir failing refuses the start as Kafka
// halts. A dir failing through each of the calls of its loading is tried.
func TestStartWithFailingDir(t *testing.T) {
	cases := []struct {
		op     FileOp
		suffix string
		clean  bool
	}{
		{OpMkdir, "/d1", true},
		{OpStat, CleanShutdownFile, true},
		{OpRemove, CleanShutdownFile, true},
		{OpReadFile, RecoveryPointCheckpoint, true},
		{OpReadFile, LogStartOffsetCheckpoint, true},
		{OpReadDir, "/d1", true},
		{OpReadDir, "/d1/t-0", true}, // cleanupTempFiles
		{OpOpen, ".log", true},
		{OpCreate, ".index", true},
		{OpMmap, ".index", true},
		{OpRead, ".log", true}, // loadTail
		{OpReadFile, LeaderEpochCheckpointFile, true},
		{OpTruncate, ".index", true}, // trim of an inactive segment
		{OpRead, ".log", false},      // recovery
		{OpTruncate, ".index", false},
		{OpSync, ".log", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s_%s_clean=%v", tc.op, strings.TrimPrefix(tc.suffix, "/"), tc.clean), func(t *testing.T) {
			root := fastTempDir(t)
			d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
			want := fillDirs(t, []string{d1, d2}, 4, 8, tc.clean)
			fs := NewFaultFS(true)
			fs.Inject(Fault{Op: tc.op, Dir: d1, Suffix: tc.suffix, Dead: true})
			m, err := OpenManager([]string{d1, d2}, DefaultLogConfig(), quietLogger(), WithFileSystem(fs))
			if err != nil {
				t.Fatalf("open with %s failing: %v", d1, err)
			}
			if !fs.Fired() {
				t.Fatal("the fault never fired")
			}
			if m.IsLogDirOnline(d1) || !m.IsLogDirOnline(d2) {
				t.Fatalf("offline dirs %v, want [%s]", m.OfflineLogDirs(), d1)
			}
			select {
			case d := <-m.LogDirFailures():
				if d != d1 {
					t.Fatalf("reported %s", d)
				}
			default:
				t.Fatal("the failed dir was not reported")
			}
			for tp, batches := range want {
				dir, _ := m.LogDirOf(tp.Topic, tp.Partition)
				l, ok := m.Get(tp.Topic, tp.Partition)
				if ok != (dir == d2) {
					t.Fatalf("%s hosted=%v in %q", tp, ok, dir)
				}
				if ok {
					checkBatches(t, l, batches)
				}
			}
			if l, err := m.GetOrCreate("new", 0, [16]byte{1}); err != nil || filepath.Dir(l.Dir()) != d2 {
				t.Fatalf("new log: %v in %v", err, l)
			}
			n := len(fs.Calls())
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range fs.Calls()[n:] {
				if c.Op.mutating() && under(c.Path, d1) {
					t.Fatalf("closing wrote to the failed dir: %s %s", c.Op, c.Path)
				}
			}
			// With the disk healthy again, every batch is there.
			m, err = OpenManager([]string{d1, d2}, DefaultLogConfig(), quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for tp, batches := range want {
				l, ok := m.Get(tp.Topic, tp.Partition)
				if !ok {
					t.Fatalf("%s missing after healing", tp)
				}
				checkBatches(t, l, batches)
			}
		})
	}
	t.Run("all dirs fail", func(t *testing.T) {
		root := fastTempDir(t)
		d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
		fillDirs(t, []string{d1, d2}, 2, 3, true)
		fs := NewFaultFS(false)
		fs.Inject(Fault{Op: OpReadDir, Dir: d1, Dead: true})
		fs.Inject(Fault{Op: OpReadDir, Dir: d2, Dead: true})
		if _, err := OpenManager([]string{d1, d2}, DefaultLogConfig(), quietLogger(), WithFileSystem(fs)); !errors.Is(err, ErrAllLogDirsOffline) {
			t.Fatalf("open with every dir failing: %v, want ErrAllLogDirsOffline", err)
		}
	})
}

// TestStartWithFullDisk: a broker that stopped uncleanly starts on a disk
// with no space left. Recovery only truncates and rebuilds indexes; when
// the index pages cannot be allocated it leaves the rest unindexed, so the
// start succeeds, nothing valid is cut or deleted, and every batch is
// served. The first append then fails with ErrStorage and the dir is
// reported; once space is freed, a reopen serves every batch and the new
// appends.
func TestStartWithFullDisk(t *testing.T) {
	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprintf("torn=%v", torn), func(t *testing.T) {
			dir := filepath.Join(fastTempDir(t), "d")
			want := fillDirs(t, []string{dir}, 2, 10, false)
			if torn {
				// Half a batch at the end of t-0, as a crash leaves it.
				bases, _ := segmentBases(OSFileSystem{}, filepath.Join(dir, "t-0"))
				seg := segmentName(filepath.Join(dir, "t-0"), bases[len(bases)-1], logSuffix)
				f, err := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				half := encodeBatch(batchSpec{records: 3, valueSize: 50})
				if _, err := f.Write(half[:len(half)/2]); err != nil {
					t.Fatal(err)
				}
				_ = f.Close()
			}
			fs := NewFaultFS(true)
			// A full disk: nothing that needs a new block succeeds.
			for _, op := range []FileOp{OpWrite, OpAllocate} {
				fs.Inject(Fault{Op: op, Err: syscall.ENOSPC, Sticky: true})
			}
			m, err := OpenManager([]string{dir}, DefaultLogConfig(), quietLogger(), WithFileSystem(fs))
			if err != nil {
				t.Fatalf("start on a full disk: %v", err)
			}
			if len(m.OfflineLogDirs()) != 0 {
				t.Fatalf("dir offline after a start on a full disk: %v", m.OfflineLogDirs())
			}
			refused := 0
			for _, c := range fs.Calls() {
				if c.Failed && c.Op == OpAllocate {
					refused++
				}
			}
			if refused == 0 {
				t.Fatal("recovery never needed index space: the test does not test a full disk")
			}
			for tp, batches := range want {
				l, ok := m.Get(tp.Topic, tp.Partition)
				if !ok {
					t.Fatalf("%s not loaded", tp)
				}
				checkBatches(t, l, batches)
			}
			l, _ := m.Get("t", 0)
			if _, err := l.Append(encodeBatch(batchSpec{records: 1}), 1); !errors.Is(err, ErrStorage) {
				t.Fatalf("append on a full disk: %v, want ErrStorage", err)
			}
			if d := <-m.LogDirFailures(); d != dir {
				t.Fatalf("reported %s", d)
			}
			if _, err := m.HandleLogDirFailure(dir); !errors.Is(err, ErrAllLogDirsOffline) {
				t.Fatal(err)
			}
			_ = m.Close()
			m, err = OpenManager([]string{dir}, DefaultLogConfig(), quietLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for tp, batches := range want {
				l, _ := m.Get(tp.Topic, tp.Partition)
				checkBatches(t, l, batches)
				b := encodeBatch(batchSpec{records: 1, fill: 9})
				if _, err := l.Append(b, 1); err != nil {
					t.Fatalf("append after freeing space: %v", err)
				}
				checkBatches(t, l, append(batches, b))
			}
		})
	}
}
