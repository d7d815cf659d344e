package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	cfg.MaxIndexBytes = 8192
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

// checkLoaded fails the test unless m hosts every partition of want
// holding exactly its batches; missing says how a missing one is missing.
func checkLoaded(t *testing.T, m *Manager, want map[TopicPartition][][]byte, missing string) {
	t.Helper()
	for tp, batches := range want {
		l, ok := m.Get(tp.Topic, tp.Partition)
		if !ok {
			t.Fatalf("%s %s", tp, missing)
		}
		checkBatches(t, l, batches)
	}
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
			// The broker's handler gets the partitions the failed dir held.
			tps, err := m.HandleLogDirFailure(d1)
			if err != nil {
				t.Fatal(err)
			}
			inD1 := 0
			for tp := range want {
				if part, _ := partitionDirOf(d1, tp); part != "" {
					inD1++
					if !slices.Contains(tps, tp) && tc.op != OpMkdir && !(tc.op == OpReadDir && tc.suffix == "/d1") {
						t.Fatalf("HandleLogDirFailure returned %v, missing %s", tps, tp)
					}
				}
			}
			if len(tps) > inD1 {
				t.Fatalf("HandleLogDirFailure returned %v, d1 holds %d", tps, inD1)
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
			checkLoaded(t, m, want, "missing after healing")
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
			// No time index ends short of its segment's largest timestamp
			// (the next start reads it from there for retention by time);
			// one that got no space at all is empty, and the file's mtime
			// stands in.
			for tp := range want {
				l, _ := m.Get(tp.Topic, tp.Partition)
				for _, seg := range l.segs {
					if e, ok := seg.tidx.last(); ok && e.ts != seg.maxTs {
						t.Fatalf("%s segment %d: time index ends at %+v (ok %v), largest timestamp %d", tp, seg.base, e, ok, seg.maxTs)
					}
				}
			}
			checkLoaded(t, m, want, "not loaded")
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

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStartFaultSweep fails, one at a time, every kind of file call that
// loading an uncleanly stopped log dir makes (checkpoints, listing,
// leftovers of a delete and a compaction, segment and index opening,
// recovery's reads, truncation of a torn tail, index rebuilding and
// fsync), with the disk dead from then on. The dir must go offline and be
// reported, the other dir must open with all its data, nothing may be
// written to the failed dir afterwards, and once the disk is healthy
// every batch is there: a recovery that cannot finish never cuts or
// deletes good data. ENOSPC on index space alone leaves the dir online
// (TestStartWithFullDisk).
func TestStartFaultSweep(t *testing.T) {
	tmpl := fastTempDir(t)
	d1, d2 := filepath.Join(tmpl, "d1"), filepath.Join(tmpl, "d2")
	want := fillDirs(t, []string{d1, d2}, 4, 10, false)
	// Leftovers in each of d1's partitions: a segment being deleted, a
	// compaction result not yet swapped in, and a torn tail.
	for tp := range want {
		part, _ := partitionDirOf(d1, tp)
		if part == "" {
			continue
		}
		for _, name := range []string{"00000000000000000099.log.deleted", "00000000000000000000.log.cleaned"} {
			if err := os.WriteFile(filepath.Join(part, name), []byte("leftover"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		f, err := os.OpenFile(lastSegment(t, part), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		half := encodeBatch(batchSpec{records: 2, valueSize: 50})
		_, _ = f.Write(half[:len(half)/2])
		_ = f.Close()
	}
	open := func(root string, fs FileSystem) (*Manager, error) {
		cfg := DefaultLogConfig()
		cfg.MaxIndexBytes = 8192
		return OpenManager([]string{filepath.Join(root, "d1"), filepath.Join(root, "d2")}, cfg, quietLogger(), WithFileSystem(fs))
	}
	// Record the calls of one load.
	recRoot := fastTempDir(t)
	copyTree(t, tmpl, recRoot)
	rec := NewFaultFS(true)
	rec.NoSync = true
	m, err := open(recRoot, rec)
	if err != nil {
		t.Fatal(err)
	}
	rec.Mark("close")
	_ = m.Close()
	type site struct {
		op     FileOp
		suffix string
		n      int
	}
	var sites []site
	nth := map[[2]string]int{}
	class := map[[2]string]bool{}
	for _, c := range rec.Calls() {
		if c.Label != "" || !under(c.Path, filepath.Join(recRoot, "d1")) {
			continue
		}
		k := [2]string{string(c.Op), c.Path}
		n := nth[k]
		nth[k]++
		if ck := [2]string{string(c.Op), kindOf(c.Path)}; !class[ck] {
			class[ck] = true
			sites = append(sites, site{c.Op, strings.TrimPrefix(c.Path, recRoot), n})
		}
	}
	t.Logf("%d sites in loading a dir", len(sites))
	for _, s := range sites {
		t.Run(fmt.Sprintf("%s_%s_%d", s.op, filepath.Base(s.suffix), s.n), func(t *testing.T) {
			root := fastTempDir(t)
			copyTree(t, tmpl, root)
			r1 := filepath.Join(root, "d1")
			fs := NewFaultFS(true)
			fs.NoSync = true
			fs.Inject(Fault{Op: s.op, Dir: r1, Suffix: s.suffix, Skip: s.n, Dead: true})
			m, err := open(root, fs)
			if err != nil {
				t.Fatalf("open with d1 failing: %v", err)
			}
			if !fs.Fired() {
				m.Close()
				t.Fatal("the fault never fired")
			}
			fs.Mark("after open")
			if m.IsLogDirOnline(r1) {
				m.Close()
				t.Fatalf("d1 online after %s failed", s.op)
			}
			if d := <-m.LogDirFailures(); d != r1 {
				t.Fatalf("reported %s", d)
			}
			for tp, batches := range want {
				if l, ok := m.Get(tp.Topic, tp.Partition); ok {
					if dir, _ := m.LogDirOf(tp.Topic, tp.Partition); dir == r1 {
						t.Fatalf("%s served from the failed dir", tp)
					}
					checkBatches(t, l, batches)
				} else if part, _ := partitionDirOf(filepath.Join(root, "d2"), tp); part != "" {
					t.Fatalf("%s of d2 not loaded", tp)
				}
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range fs.Calls() {
				if c.Label == "after open" && c.Op.mutating() && under(c.Path, r1) {
					t.Fatalf("wrote to the failed dir: %s %s", c.Op, c.Path)
				}
			}
			fs.Heal()
			m, err = open(root, fs)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			checkLoaded(t, m, want, "missing with the disk healthy again")
		})
	}
}

// TestMetaPropertiesDirFailure: meta.properties that cannot be read or
// written takes only its dir offline (MetaPropertiesEnsemble.Loader's
// error dirs; the copier's write error handler), the other dirs answer;
// with none left the call fails with ErrAllLogDirsOffline. A file that
// does not parse still stops the start.
func TestMetaPropertiesDirFailure(t *testing.T) {
	root := fastTempDir(t)
	d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
	for _, d := range []string{d1, d2} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := WriteMetaPropertiesFile(d, 5, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	fs := NewFaultFS(false)
	m, err := OpenManager([]string{d1, d2}, DefaultLogConfig(), quietLogger(), WithFileSystem(fs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fs.Inject(Fault{Op: OpReadFile, Dir: d1, Suffix: MetaPropertiesFile, Dead: true})
	id, cid, ok, err := m.ReadMetaProperties()
	if err != nil || !ok || id != 5 || cid != "c1" {
		t.Fatalf("read with d1 failing: %d %q %v %v", id, cid, ok, err)
	}
	if m.IsLogDirOnline(d1) || !m.IsLogDirOnline(d2) {
		t.Fatalf("offline %v, want [%s]", m.OfflineLogDirs(), d1)
	}
	fs.Inject(Fault{Op: OpWrite, Dir: d2, Suffix: MetaPropertiesFile + ".tmp"})
	if err := m.WriteMetaProperties(5, "c1"); !errors.Is(err, ErrAllLogDirsOffline) {
		t.Fatalf("write with the last dir failing: %v", err)
	}
	if got := len(m.LogDirFailures()); got != 2 {
		t.Fatalf("%d dirs reported, want 2", got)
	}

	// Content that does not parse is not a disk failure.
	d3 := filepath.Join(root, "d3")
	if err := os.MkdirAll(d3, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d3, MetaPropertiesFile), []byte("version=7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m3, err := OpenManager([]string{d3}, DefaultLogConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m3.Close()
	if _, _, _, err := m3.ReadMetaProperties(); err == nil || !m3.IsLogDirOnline(d3) {
		t.Fatalf("unparsable meta.properties: %v, online %v", err, m3.IsLogDirOnline(d3))
	}
}

// TestRecoveryOutOfIndexSpaceKeepsLargestTimestamp: recovery that runs out
// of index space part-way leaves a time index holding the segment's
// largest timestamp, so a later clean start reads the right value for
// retention by time (the entries cut short would have said less).
func TestRecoveryOutOfIndexSpaceKeepsLargestTimestamp(t *testing.T) {
	dir := filepath.Join(fastTempDir(t), "t-0")
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 1
	l, err := OpenLog(dir, cfg, false, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1200; i++ {
		if _, err := l.Append(encodeBatch(batchSpec{records: 1, baseTs: int64(1000 + i)}), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	l.flushWG.Wait()
	l.closeHandles() // a crash
	fs := NewFaultFS(false)
	// The first page of each index is there, nothing more.
	fs.Inject(Fault{Op: OpAllocate, Skip: 2, Err: syscall.ENOSPC, Sticky: true})
	l, err = openLog(dir, cfg, openOptions{recover: true, recoveryPoint: 0, logStart: -1, fs: fs}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if !fs.Fired() {
		t.Fatal("recovery never ran out of index space")
	}
	seg := l.segs[0]
	if e, ok := seg.tidx.last(); !ok || e.ts != 2199 || seg.maxTs != 2199 {
		t.Fatalf("time index ends at %+v (%v), largest timestamp %d; want 2199", e, ok, seg.maxTs)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	if got := l.segs[0].largestTimestamp(); got != 2199 {
		t.Fatalf("after a clean start the segment's largest timestamp is %d, want 2199", got)
	}
	if off, _, ok, err := l.OffsetForTimestamp(1700); err != nil || !ok || off != 700 {
		t.Fatalf("OffsetForTimestamp(1700) = %d, %v, %v", off, ok, err)
	}
}
