package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// The disk fault sweep (issue 15, item 3). A scenario drives one log dir
// through every kind of I/O a broker does: creating a partition
// (partition.metadata), appends that roll segments and flush
// (flush.messages), change leader epochs (leader-epoch-checkpoint) and
// write index entries, reads, a truncation, DeleteRecords (segments to
// .deleted, checkpoints), a timestamp lookup, a compaction (.cleaned,
// .swap, cleaner-offset-checkpoint), the replication checkpoint and the
// clean shutdown. A first run records every file call; then, for each
// call, the scenario runs again with that call failing (EIO, and the disk
// dead from then on; writes also torn or ENOSPC). Kafka's rules checked
// each time (LogDirFailureChannel, maybeHandleIOException):
//   - the operation meeting the error fails with ErrStorage (the cleaner's
//     with the I/O error), and the dir is reported exactly once;
//   - a Read after it serves only whole batches that were appended, never
//     a torn one;
//   - once the disk is healthy again, reopening (recovery) finds every
//     acknowledged batch intact; anything else in the log is a whole batch
//     whose append failed (as in Kafka, an append that failed after its
//     write, at the flush, may survive), never a partial one.

type sweepRun struct {
	t    *testing.T
	fs   *FaultFS
	dir  string
	cfg  LogConfig
	m    *Manager
	tl   *Log
	cl   *Log
	ack  map[int64][]byte // t-0: acknowledged batches by base offset
	try  map[int64][]byte // t-0: batches whose append failed, or whose fate is open (nil: any whole batch)
	from int64            // t-0: the model's log start offset
	// c-0 (compacted): the latest acknowledged value of each key, and
	// values of failed appends.
	cLatest map[string]string
	cTried  map[string]map[string]bool
	clean   bool // the scenario ended with a successful Close
}

const sweepTopicID = "sweep"

func sweepLogConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 700
	cfg.IndexIntervalBytes = 1
	cfg.MaxIndexBytes = 4096
	cfg.FlushMessages = 5
	cfg.FileDeleteDelayMs = 60000 // removed at close: deterministic
	return cfg
}

func (r *sweepRun) appendT(i int, epoch int32) error {
	b := encodeBatch(batchSpec{records: 2, valueSize: 40, baseTs: int64(1000 + 10*i), tsStep: 1, fill: byte(i)})
	leo := r.tl.LogEndOffset()
	info, err := r.tl.Append(b, epoch)
	r.tl.flushWG.Wait() // the flush after a roll: calls in a fixed order
	if err != nil {
		r.try[leo] = b
		return err
	}
	r.ack[info.FirstOffset] = b
	return nil
}

func (r *sweepRun) appendC(i int) error {
	key, val := fmt.Sprintf("k%d", i%3), fmt.Sprintf("v%d", i)
	b := compactBatch(r.t, CodecNone, -1, int64(100+i), []kv{{str(key), str(val)}})
	_, err := r.cl.Append(b, 1)
	r.cl.flushWG.Wait()
	if err != nil {
		if r.cTried[key] == nil {
			r.cTried[key] = map[string]bool{}
		}
		r.cTried[key][val] = true
		return err
	}
	r.cLatest[key] = val
	return nil
}

// maybe moves acknowledged batches for which pred holds to the open set:
// an operation failed half-way, they may or may not be there.
func (r *sweepRun) maybe(pred func(base int64) bool) {
	for base, b := range r.ack {
		if pred(base) {
			r.try[base] = b
			delete(r.ack, base)
		}
	}
}

type sweepStep struct {
	name string
	fn   func(r *sweepRun) error
}

func sweepSteps() []sweepStep {
	var steps []sweepStep
	add := func(name string, fn func(r *sweepRun) error) { steps = append(steps, sweepStep{name, fn}) }
	add("create", func(r *sweepRun) error {
		var err error
		r.tl, err = r.m.GetOrCreate("t", 0, [16]byte{1, 2, 3})
		return err
	})
	for i := 0; i < 9; i++ {
		epoch := int32(1)
		if i >= 4 {
			epoch = 2
		}
		add(fmt.Sprintf("append %d", i), func(r *sweepRun) error { return r.appendT(i, epoch) })
	}
	add("read", func(r *sweepRun) error { return r.checkRead() })
	add("truncate", func(r *sweepRun) error {
		// To the base of the 7th batch: two batches and an epoch go.
		err := r.tl.TruncateTo(12)
		if err != nil {
			r.maybe(func(base int64) bool { return base >= 12 })
			return err
		}
		for base := range r.ack {
			if base >= 12 {
				delete(r.ack, base)
			}
		}
		for base := range r.try {
			if base >= 12 {
				delete(r.try, base)
			}
		}
		return nil
	})
	for i := 9; i < 12; i++ {
		add(fmt.Sprintf("append %d", i), func(r *sweepRun) error { return r.appendT(i, 3) })
	}
	add("delete records", func(r *sweepRun) error {
		r.tl.SetHighWatermark(r.tl.LogEndOffset())
		_, err := r.m.DeleteRecordsBefore("t", 0, 6)
		if err != nil {
			r.maybe(func(base int64) bool { return base < 6 })
			return err
		}
		r.from = 6
		return nil
	})
	add("checkpoint", func(r *sweepRun) error { return r.m.Checkpoint() })
	add("offset for timestamp", func(r *sweepRun) error {
		_, _, _, err := r.tl.OffsetForTimestamp(1051)
		return err
	})
	add("search offset by timestamp", func(r *sweepRun) error {
		_, _, err := r.tl.SearchOffsetByTimestamp(1071)
		return err
	})
	add("offset of max timestamp", func(r *sweepRun) error {
		_, _, err := r.tl.OffsetOfMaxTimestamp()
		return err
	})
	add("append as leader", func(r *sweepRun) error {
		// An idempotent batch: the producer state, kept through the
		// truncation, checks it.
		b := encodeBatch(batchSpec{records: 2, valueSize: 40, producerID: 77, seq: 0, fill: 0xaa})
		binary.BigEndian.PutUint16(b[offProducerEpoch:], 0)
		fixCRC(b)
		leo := r.tl.LogEndOffset()
		info, err := r.tl.AppendAsLeader(b, 3, false)
		r.tl.flushWG.Wait()
		if err != nil {
			r.try[leo] = nil
			return err
		}
		fs, err := r.tl.Read(info.FirstOffset, 1<<20, info.LastOffset+1, true)
		if err != nil {
			r.try[info.FirstOffset] = nil // appended; its bytes unknown
			return err
		}
		r.ack[info.FirstOffset] = readSlice(r.t, fs)
		return nil
	})
	add("append as follower", func(r *sweepRun) error {
		leo := r.tl.LogEndOffset()
		b := encodeBatch(batchSpec{records: 2, valueSize: 40, baseTs: 2000, fill: 0xbb})
		patchBatch(b, leo, 3)
		_, err := r.tl.AppendAsFollower(b)
		r.tl.flushWG.Wait()
		if err != nil {
			r.try[leo] = b
			return err
		}
		r.ack[leo] = b
		return nil
	})
	add("create x", func(r *sweepRun) error {
		l, err := r.m.GetOrCreate("x", 0, [16]byte{9})
		if err != nil {
			return err
		}
		_, err = l.Append(encodeBatch(batchSpec{records: 1}), 1)
		return err
	})
	add("truncate fully x", func(r *sweepRun) error {
		l, _ := r.m.Get("x", 0)
		return l.TruncateFullyAndStartAt(100)
	})
	add("roll x", func(r *sweepRun) error {
		l, _ := r.m.Get("x", 0)
		if _, err := l.Append(encodeBatch(batchSpec{records: 1}), 1); err != nil {
			return err
		}
		err := l.Roll()
		l.flushWG.Wait()
		return err
	})
	add("delete x", func(r *sweepRun) error { return r.m.Delete("x", 0) })
	add("retention", func(r *sweepRun) error {
		// retention.bytes: the oldest segments go to .deleted.
		cfg := r.tl.Config()
		cfg.RetentionBytes = 1000
		r.tl.SetConfig(cfg)
		r.tl.SetHighWatermark(r.tl.LogEndOffset())
		_, err := r.m.CleanupLogs()
		first := r.tl.SegmentBaseOffsets()[0]
		if err != nil {
			r.maybe(func(base int64) bool { return base < first })
			return err
		}
		r.from = max(r.from, first)
		return nil
	})
	add("create compacted", func(r *sweepRun) error {
		cfg := compactConfig()
		cfg.SegmentBytes = 300
		cfg.FileDeleteDelayMs = 60000
		r.m.SetTopicConfig("c", cfg)
		var err error
		r.cl, err = r.m.GetOrCreate("c", 0, [16]byte{})
		return err
	})
	for i := 0; i < 8; i++ {
		add(fmt.Sprintf("append compacted %d", i), func(r *sweepRun) error { return r.appendC(i) })
	}
	add("clean", func(r *sweepRun) error {
		commitAll(r.cl)
		_, _, err := r.m.CleanFilthiestLog(context.Background(), testCleanerConfig(1000))
		return err
	})
	add("replication checkpoint", func(r *sweepRun) error {
		return r.m.WriteReplicationCheckpoint(map[TopicPartition]int64{{Topic: "t", Partition: 0}: r.tl.LogEndOffset()}, nil)
	})
	add("close", func(r *sweepRun) error {
		err := r.m.Close()
		if err == nil {
			r.clean = true
		}
		return err
	})
	return steps
}

// checkRead reads t-0 from its start to its end: whole batches only, each
// one appended (acknowledged or failed).
func (r *sweepRun) checkRead() error {
	l := r.tl
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			return err
		}
		data := readSlice(r.t, fs)
		hs, err := SplitBatches(data)
		if err != nil || len(hs) == 0 {
			r.t.Fatalf("read at %d (log [%d, %d), segments %v) served %d bytes that are not whole batches: %v", off, l.LogStartOffset(), l.LogEndOffset(), l.SegmentBaseOffsets(), len(data), err)
		}
		for _, h := range hs {
			r.checkBatch(h, data[:h.Size()])
			data = data[h.Size():]
			off = h.NextOffset()
		}
	}
	return nil
}

func (r *sweepRun) checkBatch(h BatchHeader, got []byte) {
	want, ok := r.ack[h.BaseOffset]
	if !ok {
		want, ok = r.try[h.BaseOffset]
	}
	if !ok && h.LastOffset() >= r.from {
		r.t.Fatalf("batch at %d was never appended", h.BaseOffset)
	}
	if ok && want != nil && !bytes.Equal(got, want) {
		r.t.Fatalf("batch at %d differs from the one appended", h.BaseOffset)
	}
}

// verifyReopened opens the dir with a healthy disk and checks the model.
func (r *sweepRun) verifyReopened() {
	t := r.t
	healthy := NewFaultFS(false)
	healthy.NoSync = true
	m, err := OpenManager([]string{r.dir}, r.cfg, quietLogger(), WithFileSystem(healthy))
	if err != nil {
		t.Fatalf("reopen with a healthy disk: %v", err)
	}
	defer m.Close()
	if r.clean && !r.fs.Fired() && !m.CleanShutdown() {
		t.Fatal("Close succeeded but the next start is not clean")
	}
	l, ok := m.Get("t", 0)
	if !ok {
		if len(r.ack) > 0 {
			t.Fatalf("t-0 gone after reopening, %d acknowledged batches", len(r.ack))
		}
	} else {
		r.tl = l
		if err := r.checkRead(); err != nil {
			t.Fatalf("read after reopening: %v", err)
		}
		seen := map[int64]bool{}
		if err := l.Batches(l.LogStartOffset(), func(h BatchHeader) error { seen[h.BaseOffset] = true; return nil }); err != nil {
			t.Fatal(err)
		}
		for base, b := range r.ack {
			h, _ := ParseBatchHeader(b)
			if h.LastOffset() >= r.from && !seen[base] {
				t.Fatalf("acknowledged batch at %d lost (log [%d, %d))", base, l.LogStartOffset(), l.LogEndOffset())
			}
		}
	}
	cl, ok := m.Get("c", 0)
	if !ok {
		if len(r.cLatest) > 0 {
			t.Fatal("c-0 gone after reopening")
		}
		return
	}
	recs, _ := readRecords(t, cl)
	latest := map[string]string{}
	for _, rec := range recs {
		latest[string(rec.Key)] = string(rec.Value)
	}
	for k, v := range r.cLatest {
		if latest[k] != v && !r.cTried[k][latest[k]] {
			t.Fatalf("c-0 key %s: latest value %q, acknowledged %q", k, latest[k], v)
		}
	}
}

// runSweep runs the scenario on a fresh dir with fs; it returns the
// step that failed ("" if none).
func runSweep(t *testing.T, fs *FaultFS) string {
	r := &sweepRun{t: t, fs: fs, dir: filepath.Join(fastTempDir(t), "d"), cfg: sweepLogConfig(),
		ack: map[int64][]byte{}, try: map[int64][]byte{}, cLatest: map[string]string{}, cTried: map[string]map[string]bool{}}
	var err error
	fs.Mark("open")
	r.m, err = OpenManager([]string{r.dir}, r.cfg, quietLogger(), WithFileSystem(fs))
	failedAt := ""
	if err != nil {
		// The only dir failed while loading.
		if !errors.Is(err, ErrAllLogDirsOffline) {
			t.Fatalf("open with a failing disk: %v, want ErrAllLogDirsOffline", err)
		}
		failedAt = "open"
	} else {
		for _, st := range sweepSteps() {
			fs.Mark(strings.TrimRight(st.name, " 0123456789"))
			err := st.fn(r)
			reported := len(r.m.LogDirFailures()) > 0
			if err == nil && !reported {
				continue
			}
			failedAt = st.name
			if err != nil {
				ok := errors.Is(err, ErrStorage) || (st.name == "clean" && isIOError(err))
				if !ok {
					t.Fatalf("step %s: %v, want ErrStorage", st.name, err)
				}
			}
			if !reported {
				t.Fatalf("step %s failed (%v) but the dir was not reported", st.name, err)
			}
			if d := <-r.m.LogDirFailures(); d != r.dir {
				t.Fatalf("reported dir %s, want %s", d, r.dir)
			}
			r.m.ReportLogDirFailure(r.dir, errors.New("again"))
			if len(r.m.LogDirFailures()) != 0 {
				t.Fatal("dir reported twice")
			}
			if st.name != "close" && r.tl != nil {
				// Whatever failed, reads serve only whole appended batches.
				if err := r.checkRead(); err != nil && !errors.Is(err, ErrStorage) {
					t.Fatalf("read after the failure: %v", err)
				}
			}
			if _, err := r.m.HandleLogDirFailure(r.dir); !errors.Is(err, ErrAllLogDirsOffline) {
				t.Fatalf("HandleLogDirFailure of the only dir: %v", err)
			}
			if err := r.m.Close(); err != nil {
				t.Fatalf("close with the dir offline: %v", err)
			}
			break
		}
	}
	fs.Heal()
	r.verifyReopened()
	return failedAt
}

// sweepSite is one file call to fail: the n-th call of op on path.
type sweepSite struct {
	op   FileOp
	path string
	n    int
}

func TestDiskFaultSweep(t *testing.T) {
	rec := NewFaultFS(true)
	rec.NoSync = true
	if at := runSweep(t, rec); at != "" {
		t.Fatalf("the scenario failed without a fault at %s", at)
	}
	// One site per code path: the first call of each kind of call on
	// each kind of file in each kind of step (an append that rolls is
	// told from one that does not by the files it creates).
	var sites []sweepSite
	nth := map[[2]string]int{}
	class := map[[3]string]bool{}
	for _, c := range rec.Calls() {
		k := [2]string{string(c.Op), c.Path}
		n := nth[k]
		nth[k]++
		ck := [3]string{string(c.Op), kindOf(c.Path), c.Label}
		if class[ck] {
			continue
		}
		class[ck] = true
		sites = append(sites, sweepSite{c.Op, c.Path, n})
	}
	t.Logf("%d file calls recorded, %d sites swept", len(rec.Calls()), len(sites))
	type variant struct {
		name    string
		err     error
		partial bool
		dead    bool
	}
	steps := map[string]int{}
	for _, s := range sites {
		variants := []variant{{"eio-dead", syscall.EIO, false, true}}
		// A segment write may also be torn, and leave the disk working
		// (ENOSPC: the append's own truncation cleans up) or not (EIO:
		// recovery does); index space may run out alone.
		if s.op == OpWrite && kindOf(s.path) == logSuffix {
			variants = append(variants, variant{"enospc-torn", syscall.ENOSPC, true, false}, variant{"eio-torn-dead", syscall.EIO, true, true})
		}
		if s.op == OpAllocate {
			variants = append(variants, variant{"enospc", syscall.ENOSPC, false, false})
		}
		for _, v := range variants {
			name := fmt.Sprintf("%s_%s_%d_%s", s.op, filepath.Base(s.path), s.n, v.name)
			t.Run(name, func(t *testing.T) {
				fs := NewFaultFS(false)
				fs.NoSync = true
				fs.Inject(Fault{Op: s.op, Suffix: relName(s.path), Skip: s.n, Err: v.err, Partial: v.partial, Dead: v.dead})
				at := runSweep(t, fs)
				if !fs.Fired() {
					t.Fatalf("the fault never fired (the scenario changed)")
				}
				if at == "" && !strings.HasPrefix(filepath.Base(s.path), CleanShutdownFile) {
					// Only the marker's write is swallowed (LogManager.shutdown:
					// CoreUtils.swallow); every other failure is reported.
					t.Fatalf("the fault fired and nothing failed or was reported")
				}
				steps[at]++
			})
		}
	}
	var names []string
	for n, c := range steps {
		names = append(names, fmt.Sprintf("%s:%d", n, c))
	}
	sort.Strings(names)
	t.Logf("failing step per injected fault: %s", strings.Join(names, " "))
}

// relName is the path from the run's log dir "d" on ("/d",
// "/d/t-0/00000000000000000000.log"): run dirs differ, this does not.
func relName(path string) string {
	if i := strings.LastIndex(path, "/d/"); i >= 0 {
		return path[i:]
	}
	return "/" + filepath.Base(path)
}

func kindOf(path string) string {
	b := filepath.Base(path)
	if i := strings.IndexByte(b, '.'); i > 0 && strings.Trim(b[:i], "0123456789") == "" {
		return b[i:]
	}
	return b
}

// fastTempDir is a temp dir in memory (/dev/shm) when there is one: the
// sweep makes thousands of file system calls and needs no real disk.
func fastTempDir(t *testing.T) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "kafkazk-sweep-"); err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}
