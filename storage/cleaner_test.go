package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// kv is one test record; val nil is a tombstone, key nil a keyless record.
type kv struct {
	key, val []byte
}

func str(s string) []byte { return []byte(s) }

// compactBatch builds a batch of records with the codec and producer id
// (-1 for none), timestamps ts, ts+1, ...
func compactBatch(t testing.TB, codec int8, pid int64, ts int64, recs []kv) []byte {
	t.Helper()
	h := BatchHeader{Attributes: int16(codec), PartitionLeaderEpoch: -1, ProducerID: pid, ProducerEpoch: -1, BaseSequence: -1}
	if pid >= 0 {
		h.ProducerEpoch, h.BaseSequence = 0, 0
	}
	rs := make([]Record, len(recs))
	for i, r := range recs {
		rs[i] = Record{Offset: int64(i), Timestamp: ts + int64(i), Key: r.key, KeyNull: r.key == nil,
			Value: r.val, ValueNull: r.val == nil}
	}
	h.LastOffsetDelta = int32(len(recs) - 1)
	b, err := BuildBatch(h, rs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compactConfig() LogConfig {
	cfg := DefaultLogConfig()
	cfg.CleanupPolicy = []string{"compact"}
	cfg.SegmentBytes = 1024
	cfg.IndexIntervalBytes = 128
	cfg.FileDeleteDelayMs = 0
	cfg.MinCleanableDirtyRatio = 0.01
	cfg.DeleteRetentionMs = 1000
	return cfg
}

func testCleanerConfig(now int64) CleanerConfig {
	cfg := DefaultCleanerConfig()
	cfg.DedupeBufferSize = 1 << 20
	cfg.Now = func() time.Time { return time.UnixMilli(now) }
	return cfg
}

// readRecords decodes every record from the log start to the LEO.
func readRecords(t testing.TB, l *Log) ([]Record, []BatchHeader) {
	t.Helper()
	var recs []Record
	var hs []BatchHeader
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			t.Fatal(err)
		}
		data := readSlice(t, fs)
		if len(data) == 0 {
			break
		}
		bhs := sliceHeaders(t, data)
		for _, h := range bhs {
			rs, err := Records(data[:h.Size()])
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, rs...)
			hs = append(hs, h)
			data = data[h.Size():]
			off = h.NextOffset()
		}
	}
	return recs, hs
}

func openCompactManager(t testing.TB, dir string, cfg LogConfig) (*Manager, *Log) {
	t.Helper()
	m, err := OpenManager([]string{dir}, DefaultLogConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	m.SetTopicConfig("c", cfg)
	l, err := m.GetOrCreate("c", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	return m, l
}

// TestCompactionKeepsLatestPerKey: across several segments and for each
// codec, only the latest value of each key below the active segment is
// kept, with offsets, timestamps and codec unchanged; the active segment
// is untouched; reads and timestamp lookups work; it survives a reopen.
func TestCompactionKeepsLatestPerKey(t *testing.T) {
	for _, codec := range []int8{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd} {
		t.Run(CodecName(codec), func(t *testing.T) {
			dir := t.TempDir()
			m, l := openCompactManager(t, dir, compactConfig())
			type rec struct {
				off       int64
				ts        int64
				key, val  string
				tombstone bool
			}
			var all []rec
			const batches, perBatch, keys = 40, 3, 7
			for b := 0; b < batches; b++ {
				var kvs []kv
				for i := 0; i < perBatch; i++ {
					n := b*perBatch + i
					k, v := fmt.Sprintf("k%d", n%keys), fmt.Sprintf("v%d-%s", n, bytes.Repeat([]byte("x"), 20))
					kvs = append(kvs, kv{str(k), str(v)})
				}
				info := mustAppend(t, l, compactBatch(t, codec, -1, int64(10000+100*b), kvs))
				for i, r := range kvs {
					all = append(all, rec{off: info.FirstOffset + int64(i), ts: int64(10000+100*b) + int64(i), key: string(r.key), val: string(r.val)})
				}
			}
			if l.NumSegments() < 4 {
				t.Fatalf("setup: %d segments", l.NumSegments())
			}
			l.mu.RLock()
			act := l.active()
			activeBase, activeSize := act.base, act.size
			l.mu.RUnlock()
			commitAll(l)
			activeBefore, err := os.ReadFile(segmentName(l.Dir(), activeBase, ".log"))
			if err != nil {
				t.Fatal(err)
			}
			stats, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(20000))
			if err != nil || !cleaned {
				t.Fatalf("clean: cleaned=%v err=%v", cleaned, err)
			}
			if stats.EndOffset != activeBase {
				t.Fatalf("end offset %d, want the active base %d", stats.EndOffset, activeBase)
			}
			// Expected: below the active base, the latest of each key there.
			latest := map[string]int64{}
			for _, r := range all {
				if r.off < activeBase {
					latest[r.key] = r.off
				}
			}
			var want []rec
			for _, r := range all {
				if r.off >= activeBase || latest[r.key] == r.off {
					want = append(want, r)
				}
			}
			check := func(l *Log) {
				t.Helper()
				got, hs := readRecords(t, l)
				if len(got) != len(want) {
					t.Fatalf("%d records after compaction, want %d", len(got), len(want))
				}
				for i, w := range want {
					g := got[i]
					if g.Offset != w.off || g.Timestamp != w.ts || string(g.Key) != w.key || string(g.Value) != w.val {
						t.Fatalf("record %d: got off %d ts %d %s=%s, want off %d ts %d %s=%s", i, g.Offset, g.Timestamp, g.Key, g.Value, w.off, w.ts, w.key, w.val)
					}
				}
				for _, h := range hs {
					if h.Compression() != codec {
						t.Fatalf("batch at %d has codec %d, want %d", h.BaseOffset, h.Compression(), codec)
					}
				}
				// Every kept record is found by its timestamp.
				for _, w := range want {
					off, _, found, err := l.OffsetForTimestamp(w.ts)
					if err != nil || !found || off > w.off {
						t.Fatalf("OffsetForTimestamp(%d) = %d, %v, %v; want <= %d", w.ts, off, found, err, w.off)
					}
					if codec == CodecNone && off != w.off {
						t.Fatalf("OffsetForTimestamp(%d) = %d, want %d", w.ts, off, w.off)
					}
				}
				// Reading at each kept offset starts at its batch.
				for _, w := range want {
					fs, err := l.Read(w.off, 1<<20, 1<<62, true)
					if err != nil {
						t.Fatal(err)
					}
					hs := sliceHeaders(t, readSlice(t, fs))
					if len(hs) == 0 || hs[0].BaseOffset > w.off || hs[0].LastOffset() < w.off {
						t.Fatalf("read at %d returned batch %+v", w.off, hs)
					}
				}
			}
			check(l)
			activeAfter, err := os.ReadFile(segmentName(l.Dir(), activeBase, ".log"))
			if err != nil || !bytes.Equal(activeAfter[:activeSize], activeBefore[:activeSize]) {
				t.Fatalf("active segment changed (err %v)", err)
			}
			if off, ok := m.CleanerCheckpoint("c", 0); !ok || off != activeBase {
				t.Fatalf("checkpoint %d %v, want %d", off, ok, activeBase)
			}
			cps, err := ReadOffsetCheckpoint(filepath.Join(dir, CleanerOffsetCheckpoint))
			if err != nil || cps[TopicPartition{"c", 0}] != activeBase {
				t.Fatalf("checkpoint file %v %v", cps, err)
			}
			// Nothing dirty is left: no second clean.
			if _, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(20000)); cleaned || err != nil {
				t.Fatalf("second clean: %v %v", cleaned, err)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			m2, l2 := openCompactManager(t, dir, compactConfig())
			defer m2.Close()
			if l2.Recovery().IndexesRebuilt != 0 {
				t.Fatalf("indexes rebuilt after reopen")
			}
			check(l2)
			if off, ok := m2.CleanerCheckpoint("c", 0); !ok || off != activeBase {
				t.Fatalf("checkpoint after reopen %d %v", off, ok)
			}
		})
	}
}

// commitAll moves the high watermark to the LEO, as a single-replica
// leader would: the cleaner and retention act only below it.
func commitAll(l *Log) { l.SetHighWatermark(l.LogEndOffset()) }

// cleanAt cleans l once at now, whatever its dirty ratio, from the
// checkpoint cp (-1: the log start), with everything appended committed;
// it returns the stats.
func cleanAt(t testing.TB, l *Log, cp int64, now int64, hooks *cleanHooks) (CleanStats, error) {
	t.Helper()
	commitAll(l)
	ltc, err := l.cleanableRange(cp, cp >= 0, now)
	if err != nil {
		t.Fatal(err)
	}
	ltc.log, ltc.tp = l, TopicPartition{"c", 0}
	return cleanLog(context.Background(), ltc, newOffsetMap(1<<20, 0.9), now, hooks)
}

// TestCompactionTombstones: a tombstone kept by a first clean gets the
// delete horizon (now + delete.retention.ms) in its batch; later cleans
// keep it until the horizon, then drop it. A keyless record below the
// offset map's end is dropped (LogCleaner.shouldRetainRecord).
func TestCompactionTombstones(t *testing.T) {
	for _, codec := range []int8{CodecNone, CodecLZ4} {
		t.Run(CodecName(codec), func(t *testing.T) {
			cfg := compactConfig()
			l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), cfg, false)
			defer l.Close()
			mustAppend(t, l, compactBatch(t, codec, -1, 100, []kv{{str("a"), str("1")}, {str("b"), str("1")}, {nil, str("nokey")}}))
			mustAppend(t, l, compactBatch(t, codec, -1, 200, []kv{{str("a"), nil}, {str("c"), str("1")}}))
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, compactBatch(t, codec, -1, 300, []kv{{str("d"), str("1")}}))
			const t0 = 50000
			keys := func() []string {
				recs, _ := readRecords(t, l)
				var out []string
				for _, r := range recs {
					v := string(r.Value)
					if r.ValueNull {
						v = "<nil>"
					}
					out = append(out, fmt.Sprintf("%d:%s=%s", r.Offset, r.Key, v))
				}
				return out
			}
			steps := []struct {
				now  int64
				want string
			}{
				{t0, "[1:b=1 3:a=<nil> 4:c=1 5:d=1]"},
				{t0 + cfg.DeleteRetentionMs - 1, "[1:b=1 3:a=<nil> 4:c=1 5:d=1]"},
				{t0 + cfg.DeleteRetentionMs, "[1:b=1 4:c=1 5:d=1]"},
			}
			for i, st := range steps {
				if _, err := cleanAt(t, l, -1, st.now, nil); err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(keys()); got != st.want {
					t.Fatalf("step %d: %s, want %s", i, got, st.want)
				}
				if i == 0 {
					_, hs := readRecords(t, l)
					for _, h := range hs {
						if h.BaseOffset == 3 && (h.Attributes&attrDeleteHorizon == 0 || h.BaseTimestamp != t0+cfg.DeleteRetentionMs) {
							t.Fatalf("tombstone batch attrs %x base ts %d, want horizon %d", h.Attributes, h.BaseTimestamp, t0+cfg.DeleteRetentionMs)
						}
						if h.BaseOffset == 3 && h.MaxTimestamp != 201 {
							t.Fatalf("max timestamp %d", h.MaxTimestamp)
						}
					}
				}
			}
		})
	}
}

// TestCompactionProducerLastBatch: a batch whose records are all
// superseded is dropped, unless it is its producer's last batch, which
// stays as an empty batch keeping the producer fields and last offset.
func TestCompactionProducerLastBatch(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), compactConfig(), false)
	defer l.Close()
	mustAppend(t, l, compactBatch(t, CodecNone, 7, 100, []kv{{str("a"), str("1")}, {str("b"), str("1")}})) // 0-1, superseded, not last of 7
	mustAppend(t, l, compactBatch(t, CodecNone, 7, 110, []kv{{str("a"), str("2")}}))                       // 2, superseded, last of 7
	mustAppend(t, l, compactBatch(t, CodecNone, 9, 120, []kv{{str("c"), str("1")}}))                       // 3, superseded, not last of 9
	mustAppend(t, l, compactBatch(t, CodecNone, -1, 130, []kv{{str("a"), str("3")}, {str("b"), str("2")}, {str("c"), str("2")}}))
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, compactBatch(t, CodecNone, 9, 140, []kv{{str("z"), str("1")}}))
	if _, err := cleanAt(t, l, -1, 1000, nil); err != nil {
		t.Fatal(err)
	}
	_, hs := readRecords(t, l)
	var got []string
	for _, h := range hs {
		got = append(got, fmt.Sprintf("[%d-%d pid %d n %d]", h.BaseOffset, h.LastOffset(), h.ProducerID, h.RecordCount))
	}
	want := "[[2-2 pid 7 n 0] [4-6 pid -1 n 3] [7-7 pid 9 n 1]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("batches %v, want %s", got, want)
	}
}

// TestCompactionSelection: the dirty ratio against
// min.cleanable.dirty.ratio, min.compaction.lag.ms and
// max.compaction.lag.ms decide whether and how far a log is cleaned.
func TestCompactionSelection(t *testing.T) {
	const now = 1_000_000
	cases := []struct {
		name      string
		mod       func(*LogConfig)
		policy    string
		cleaned   bool
		endBefore int64 // end offset must be < this (0: the active base)
	}{
		{name: "ratio above minimum", mod: func(c *LogConfig) {}, cleaned: true},
		{name: "ratio below minimum", mod: func(c *LogConfig) { c.MinCleanableDirtyRatio = 1 }, cleaned: false},
		{name: "delete policy only", mod: func(c *LogConfig) { c.CleanupPolicy = []string{"delete"} }, cleaned: false},
		{name: "compact,delete", mod: func(c *LogConfig) { c.CleanupPolicy = []string{"compact", "delete"}; c.RetentionMs = -1 }, cleaned: true},
		{name: "max lag forces a clean below the ratio", mod: func(c *LogConfig) {
			c.MinCleanableDirtyRatio = 1
			c.MaxCompactionLagMs = 1000
		}, cleaned: true},
		{name: "max lag not reached", mod: func(c *LogConfig) {
			c.MinCleanableDirtyRatio = 1
			c.MaxCompactionLagMs = 10 * now
		}, cleaned: false},
		{name: "min lag keeps recent segments", mod: func(c *LogConfig) { c.MinCompactionLagMs = now - 5000 }, cleaned: true, endBefore: 60},
		{name: "min lag keeps everything", mod: func(c *LogConfig) { c.MinCompactionLagMs = now }, cleaned: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := compactConfig()
			tc.mod(&cfg)
			m, l := openCompactManager(t, t.TempDir(), cfg)
			defer m.Close()
			// 100 one-record batches, timestamps 0..9900 (ms).
			for i := 0; i < 100; i++ {
				mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(100*i), []kv{{str(fmt.Sprint(i % 5)), bytes.Repeat([]byte("v"), 40)}}))
			}
			activeBase := l.SegmentBaseOffsets()[l.NumSegments()-1]
			commitAll(l)
			stats, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(now))
			if err != nil || cleaned != tc.cleaned {
				t.Fatalf("cleaned=%v err=%v, want cleaned=%v", cleaned, err, tc.cleaned)
			}
			if !cleaned {
				return
			}
			if tc.endBefore == 0 && stats.EndOffset != activeBase {
				t.Fatalf("end %d, want the active base %d", stats.EndOffset, activeBase)
			}
			if tc.endBefore > 0 && (stats.EndOffset >= tc.endBefore || stats.EndOffset == 0) {
				t.Fatalf("end %d, want in (0, %d)", stats.EndOffset, tc.endBefore)
			}
		})
	}
}

// TestCompactionPicksFilthiest: of two compacted logs the one with the
// higher dirty ratio is cleaned first.
func TestCompactionPicksFilthiest(t *testing.T) {
	m, err := OpenManager([]string{t.TempDir()}, DefaultLogConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	cfg := compactConfig()
	m.SetTopicConfig("c", cfg)
	m.SetTopicConfig("d", cfg)
	lc, _ := m.GetOrCreate("c", 0, [16]byte{})
	ld, _ := m.GetOrCreate("d", 0, [16]byte{})
	for i := 0; i < 60; i++ {
		mustAppend(t, lc, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 3)), bytes.Repeat([]byte("v"), 40)}}))
		mustAppend(t, ld, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 3)), bytes.Repeat([]byte("v"), 40)}}))
	}
	// Clean d, then dirty it a little: c is now the filthier.
	if _, err := cleanAt(t, ld, -1, 1000, nil); err != nil {
		t.Fatal(err)
	}
	m.cleaning.mu.Lock()
	m.cleaning.init()
	m.cleaning.checkpointFor(m.Dirs()[0], m)[TopicPartition{"d", 0}] = ld.SegmentBaseOffsets()[ld.NumSegments()-1]
	m.cleaning.mu.Unlock()
	for i := 0; i < 15; i++ {
		mustAppend(t, ld, compactBatch(t, CodecNone, -1, int64(i), []kv{{str("x"), bytes.Repeat([]byte("v"), 40)}}))
	}
	commitAll(lc)
	commitAll(ld)
	stats, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(1000))
	if err != nil || !cleaned || stats.Partition.Topic != "c" {
		t.Fatalf("cleaned %v (%v), err %v; want c", cleaned, stats.Partition, err)
	}
}

var errCrash = errors.New("simulated crash")

// TestCompactionCrash: a crash with a complete .cleaned segment leaves the
// log as before; a crash after .cleaned -> .swap completes the swap at the
// next open, giving what an uninterrupted clean gives (LogLoader's rules).
func TestCompactionCrash(t *testing.T) {
	const now = 5000
	build := func(t *testing.T, dir string) *Log {
		l := mustOpen(t, dir, compactConfig(), false)
		for i := 0; i < 60; i++ {
			mustAppend(t, l, compactBatch(t, CodecGzip, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("v"), 50)}}))
		}
		return l
	}
	cases := []struct {
		name     string
		crash    func(l *Log, cleaned *segment) error
		swapDone bool // the first group's clean is in the log after recovery
	}{
		{"crash with .cleaned", func(l *Log, cleaned *segment) error {
			return errors.Join(cleaned.finish(), cleaned.sync(), cleaned.close(true))
		}, false},
		{"crash with .swap", func(l *Log, cleaned *segment) error {
			return errors.Join(cleaned.finish(), cleaned.sync(), cleaned.close(true), cleaned.changeSuffix(swapSuffix))
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "c-0")
			l := build(t, dir)
			before := readAllBatches(t, l)
			want := before
			hooks := &cleanHooks{beforeReplace: func(l *Log, cleaned *segment, old []*segment) error {
				// What the swap would give: the cleaned group, then the rest.
				data := make([]byte, cleaned.size)
				if _, err := cleaned.log.ReadAt(data, 0); err != nil {
					return err
				}
				var oldSize int64
				for _, s := range old {
					oldSize += s.size
				}
				if bytes.Equal(data, before[:oldSize]) {
					t.Error("setup: the clean changes nothing")
				}
				if tc.swapDone {
					want = append(data, before[oldSize:]...)
				}
				if err := tc.crash(l, cleaned); err != nil {
					return err
				}
				return errCrash
			}}
			if _, err := cleanAt(t, l, -1, now, hooks); !errors.Is(err, errCrash) {
				t.Fatalf("clean: %v", err)
			}
			// The crashed process's files stay; close without cleanup.
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			ents, _ := os.ReadDir(dir)
			var temp int
			for _, e := range ents {
				if ext := filepath.Ext(e.Name()); ext == ".cleaned" || ext == ".swap" {
					temp++
				}
			}
			if temp == 0 {
				t.Fatal("no temporary files left by the crash")
			}
			l2 := mustOpen(t, dir, compactConfig(), true)
			defer l2.Close()
			if got := readAllBatches(t, l2); !bytes.Equal(got, want) {
				t.Fatalf("content after recovery differs (%d bytes, want %d)", len(got), len(want))
			}
			ents, _ = os.ReadDir(dir)
			for _, e := range ents {
				if ext := filepath.Ext(e.Name()); ext == ".cleaned" || ext == ".swap" {
					t.Fatalf("leftover %s", e.Name())
				}
			}
		})
	}
}

// TestCompactionReadersAndTruncation: a slice read before a clean stays
// readable after it; a truncation during a clean aborts the swap.
func TestCompactionReadersAndTruncation(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), compactConfig(), false)
	defer l.Close()
	for i := 0; i < 60; i++ {
		mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("v"), 50)}}))
	}
	fs, err := l.Read(0, 4096, 1<<62, true)
	if err != nil {
		t.Fatal(err)
	}
	want := readSlice(t, fs)
	if _, err := cleanAt(t, l, -1, 1000, nil); err != nil {
		t.Fatal(err)
	}
	if got := readSlice(t, fs); !bytes.Equal(got, want) {
		t.Fatal("slice read before the clean changed")
	}
	for i := 0; i < 30; i++ {
		mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("w"), 50)}}))
	}
	before := readAllBatches(t, l)
	hooks := &cleanHooks{beforeReplace: func(l *Log, cleaned *segment, old []*segment) error {
		return l.TruncateTo(l.LogEndOffset() - 1)
	}}
	_, err = cleanAt(t, l, -1, 1000, hooks)
	if !errors.Is(err, errCleaningAborted) {
		t.Fatalf("clean across a truncation: %v", err)
	}
	got := readAllBatches(t, l)
	if !bytes.Equal(got, before[:len(got)]) {
		t.Fatal("aborted clean changed the log")
	}
	ents, _ := os.ReadDir(l.Dir())
	for _, e := range ents {
		if filepath.Ext(e.Name()) == ".cleaned" {
			t.Fatalf("leftover %s", e.Name())
		}
	}
}

// TestRunCleaner: the background threads clean a dirty compacted log and
// write the checkpoint; a deleted log's entry leaves the checkpoint.
func TestRunCleaner(t *testing.T) {
	dir := t.TempDir()
	m, l := openCompactManager(t, dir, compactConfig())
	defer m.Close()
	for i := 0; i < 60; i++ {
		mustAppend(t, l, compactBatch(t, CodecSnappy, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("v"), 50)}}))
	}
	commitAll(l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cfg := DefaultCleanerConfig()
		cfg.Threads, cfg.Backoff, cfg.DedupeBufferSize = 2, 10*time.Millisecond, 1<<20
		m.RunCleanerWith(ctx, cfg)
	}()
	waitFor(t, "cleaner checkpoint", func() bool {
		cps, err := ReadOffsetCheckpoint(filepath.Join(dir, CleanerOffsetCheckpoint))
		return err == nil && cps[TopicPartition{"c", 0}] > 0
	})
	cancel()
	<-done
	recs, _ := readRecords(t, l)
	if len(recs) >= 60 {
		t.Fatalf("%d records after cleaning", len(recs))
	}
	if err := m.Delete("c", 0); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.CleanerCheckpoint("c", 0); ok {
		t.Fatal("deleted partition still has a checkpoint")
	}
	// LogManager.asyncDelete: cleaner.updateCheckpoints(partitionToRemove).
	if cps, err := ReadOffsetCheckpoint(filepath.Join(dir, CleanerOffsetCheckpoint)); err != nil || hasKey(cps, TopicPartition{"c", 0}) {
		t.Fatalf("cleaner checkpoint file after delete: %v, %v", cps, err)
	}
}

func TestOffsetMap(t *testing.T) {
	m := newOffsetMap(24*100, 0.5)
	m.reset()
	for i := 0; i < 50; i++ {
		if !m.put([]byte(fmt.Sprint("k", i)), int64(i)) {
			t.Fatalf("put %d failed", i)
		}
	}
	if m.put([]byte("new"), 99) {
		t.Fatal("put into a full map succeeded")
	}
	if !m.put([]byte("k3"), 77) || m.get([]byte("k3")) != 77 || m.get([]byte("k4")) != 4 || m.get([]byte("nope")) != -1 {
		t.Fatal("lookups wrong")
	}
	if m.latest != 77 {
		t.Fatalf("latest %d", m.latest)
	}
	m.reset()
	if m.get([]byte("k3")) != -1 || m.size != 0 || m.latest != -1 {
		t.Fatal("reset left entries")
	}
}

// TestCompactionCheckpointAfterTruncation: a truncation below the cleaner
// checkpoint moves it back (maybeTruncateCheckpoint), and a checkpoint
// below the log start moves up to it.
func TestCompactionCheckpointAfterTruncation(t *testing.T) {
	m, l := openCompactManager(t, t.TempDir(), compactConfig())
	defer m.Close()
	for i := 0; i < 60; i++ {
		mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("v"), 50)}}))
	}
	cfg := testCleanerConfig(1000)
	commitAll(l)
	if _, cleaned, err := m.CleanFilthiestLog(context.Background(), cfg); !cleaned || err != nil {
		t.Fatalf("clean: %v %v", cleaned, err)
	}
	if cp, _ := m.CleanerCheckpoint("c", 0); cp <= 20 {
		t.Fatalf("checkpoint %d", cp)
	}
	if err := l.TruncateTo(20); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.CleanFilthiestLog(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cp, ok := m.CleanerCheckpoint("c", 0); !ok || cp > 20 {
		t.Fatalf("checkpoint %d after truncating to 20", cp)
	}
	for i := 0; i < 40; i++ {
		mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(i), []kv{{str(fmt.Sprint(i % 4)), bytes.Repeat([]byte("v"), 50)}}))
	}
	commitAll(l)
	if _, err := l.DeleteRecordsBefore(l.LogEndOffset() - 5); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.CleanFilthiestLog(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cp, ok := m.CleanerCheckpoint("c", 0); !ok || cp < l.LogStartOffset() {
		t.Fatalf("checkpoint %d below the log start %d", cp, l.LogStartOffset())
	}
}

// TestCompactionNeverAboveUnsetHighWatermark: before the partition sets the
// high watermark it is the log start offset (UnifiedLog), so the first
// uncleanable offset (LogCleanerManager.cleanableOffsets: never past the last
// stable offset, which is at most the HW) is the log start and the cleaner
// leaves every record alone; once the HW is set it cleans up to it.
func TestCompactionNeverAboveUnsetHighWatermark(t *testing.T) {
	dir := t.TempDir()
	m, l := openCompactManager(t, dir, compactConfig())
	defer m.Close()
	for b := 0; b < 30; b++ {
		mustAppend(t, l, compactBatch(t, CodecNone, -1, int64(10000+b), []kv{{str("k"), str(fmt.Sprintf("v%d-%s", b, bytes.Repeat([]byte("x"), 40)))}}))
	}
	if l.NumSegments() < 4 {
		t.Fatalf("setup: %d segments", l.NumSegments())
	}
	if stats, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(20000)); cleaned || err != nil {
		t.Fatalf("cleaned with the HW unset: %v %v, end offset %d", cleaned, err, stats.EndOffset)
	}
	if recs, _ := readRecords(t, l); len(recs) != 30 {
		t.Fatalf("%d records left with the HW unset, want 30", len(recs))
	}
	bases := l.SegmentBaseOffsets()
	hw := bases[2]
	l.SetHighWatermark(hw)
	stats, cleaned, err := m.CleanFilthiestLog(context.Background(), testCleanerConfig(20000))
	if !cleaned || err != nil || stats.EndOffset != hw {
		t.Fatalf("clean below HW %d: %v %v, end offset %d", hw, cleaned, err, stats.EndOffset)
	}
	recs, _ := readRecords(t, l)
	if len(recs) != 1+30-int(hw) || recs[0].Offset != hw-1 {
		t.Fatalf("after cleaning below HW %d: %d records from %d", hw, len(recs), recs[0].Offset)
	}
}

// TestCompactionKeylessRecords pins Kafka's rule for records without a key
// (LogCleaner.shouldRetainRecord): a record past the offset map's latest
// offset is kept whatever it holds; at or below it, a keyless record is
// dropped (counted invalid) since compaction cannot place it. Compacted
// topics refuse keyless records at produce time (LogValidator.validateKey),
// so such records only come from before the topic became compacted.
func TestCompactionKeylessRecords(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mapMemory int64 // offset map bytes: 24 a slot, half of them usable
		wantEnd   int64
		want      string
	}{
		// The map covers the whole dirty section (latest offset 5).
		{"keyless below the map's end dropped", 1 << 20, 6, "[2:k2=a 3:k3=a 5:k1=b 6:k9=a]"},
		// Two keys fit: the map stops before batch [3, 4] (latest offset 2);
		// past it everything stays, the keyless record included.
		{"keyless past the map's end kept", 24 * 4, 3, "[0:k1=a 2:k2=a 3:k3=a 4:=y 5:k1=b 6:k9=a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, filepath.Join(t.TempDir(), "c-0"), compactConfig(), false)
			defer l.Close()
			mustAppend(t, l, compactBatch(t, CodecNone, -1, 100, []kv{{str("k1"), str("a")}, {nil, str("x")}, {str("k2"), str("a")}}))
			mustAppend(t, l, compactBatch(t, CodecNone, -1, 200, []kv{{str("k3"), str("a")}, {nil, str("y")}}))
			mustAppend(t, l, compactBatch(t, CodecNone, -1, 300, []kv{{str("k1"), str("b")}}))
			if err := l.Roll(); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, l, compactBatch(t, CodecNone, -1, 400, []kv{{str("k9"), str("a")}}))
			commitAll(l)
			ltc, err := l.cleanableRange(0, false, 1000)
			if err != nil {
				t.Fatal(err)
			}
			ltc.log, ltc.tp = l, TopicPartition{"c", 0}
			stats, err := cleanLog(context.Background(), ltc, newOffsetMap(tc.mapMemory, 0.5), 1000, nil)
			if err != nil || stats.EndOffset != tc.wantEnd {
				t.Fatalf("clean: end %d, %v; want end %d", stats.EndOffset, err, tc.wantEnd)
			}
			recs, _ := readRecords(t, l)
			var got []string
			for _, r := range recs {
				got = append(got, fmt.Sprintf("%d:%s=%s", r.Offset, r.Key, r.Value))
			}
			if fmt.Sprint(got) != tc.want {
				t.Fatalf("after cleaning: %v, want %s", got, tc.want)
			}
		})
	}
}
