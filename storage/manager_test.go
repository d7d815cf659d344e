package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePartitionDir(t *testing.T) {
	for _, tc := range []struct {
		in string
		tp TopicPartition
		ok bool
	}{
		{"orders-0", TopicPartition{"orders", 0}, true},
		{"my-topic-12", TopicPartition{"my-topic", 12}, true},
		{"__consumer_offsets-49", TopicPartition{"__consumer_offsets", 49}, true},
		{"orders", TopicPartition{}, false},
		{"orders-", TopicPartition{}, false},
		{"-3", TopicPartition{}, false},
		{"orders-x", TopicPartition{}, false},
		{"orders--1", TopicPartition{"orders-", 1}, true},
		{"orders-+1", TopicPartition{}, false},
		{"orders-0.abc-delete", TopicPartition{}, false},
	} {
		tp, ok := ParsePartitionDir(tc.in)
		if ok != tc.ok || tp != tc.tp {
			t.Errorf("ParsePartitionDir(%q) = %v, %v; want %v, %v", tc.in, tp, ok, tc.tp, tc.ok)
		}
	}
}

func TestManagerLifecycle(t *testing.T) {
	dirs := []string{filepath.Join(t.TempDir(), "d1"), filepath.Join(t.TempDir(), "d2")}
	cfg := Config{SegmentBytes: 1000, IndexIntervalBytes: 100}
	m, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if m.CleanShutdown() {
		t.Fatal("fresh dirs have no marker, so the shutdown is not clean")
	}
	id := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	for p := int32(0); p < 4; p++ {
		l, err := m.GetOrCreate("my-topic", p, id)
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, l, int(p)+3, 2, 50)
	}
	if _, err := m.GetOrCreate("my-topic", 0, [16]byte{9}); err == nil {
		t.Fatal("a different topic id must be refused")
	}
	if _, err := m.GetOrCreate("../evil", 0, id); err == nil {
		t.Fatal("path-like topic name accepted")
	}
	// Partitions are spread over both dirs.
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "my-topic-0")); err == nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "my-topic-1")); err != nil {
			t.Fatalf("dir %s got no partition", d)
		}
	}
	l, ok := m.Get("my-topic", 2)
	if !ok {
		t.Fatal("Get")
	}
	meta, err := os.ReadFile(filepath.Join(l.Dir(), PartitionMetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := "version: 0\ntopic_id: AQIDBAUGBwgJCgsMDQ4PEA\n"; string(meta) != want {
		t.Fatalf("partition.metadata %q, want %q", meta, want)
	}
	if err := m.WriteMetaProperties(3, "clusterABC"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("my-topic", 3); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// Checkpoints in Kafka's text format, one per dir, sorted.
	var lines []string
	for _, d := range dirs {
		data, err := os.ReadFile(filepath.Join(d, RecoveryPointCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		ls := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if ls[0] != "0" {
			t.Fatalf("checkpoint version line %q", ls[0])
		}
		lines = append(lines, ls[2:]...)
		if _, err := os.Stat(filepath.Join(d, CleanShutdownFile)); err != nil {
			t.Fatalf("no clean shutdown marker in %s", d)
		}
		if _, err := os.Stat(filepath.Join(d, LogStartOffsetCheckpoint)); err != nil {
			t.Fatalf("no log start checkpoint in %s", d)
		}
	}
	joined := strings.Join(lines, ";")
	for _, want := range []string{"my-topic 0 6", "my-topic 1 8", "my-topic 2 10"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("recovery points %q lack %q", joined, want)
		}
	}
	if strings.Contains(joined, "my-topic 3 ") {
		t.Fatalf("deleted partition still checkpointed: %q", joined)
	}

	// Clean restart.
	m, err = OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	if !m.CleanShutdown() {
		t.Fatal("restart after Close must be clean")
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, CleanShutdownFile)); err == nil {
			t.Fatal("marker must be removed at open")
		}
	}
	if got := m.Partitions(); len(got) != 3 || got[0] != (TopicPartition{"my-topic", 0}) {
		t.Fatalf("partitions %v", got)
	}
	l, _ = m.Get("my-topic", 1)
	if l.LogEndOffset() != 8 {
		t.Fatalf("LEO %d after restart", l.LogEndOffset())
	}
	bid, cid, ok, err := m.ReadMetaProperties()
	if err != nil || !ok || bid != 3 || cid != "clusterABC" {
		t.Fatalf("meta.properties: %d %q %v %v", bid, cid, ok, err)
	}
	// Simulate a crash: tear the tail of a log, do not Close the manager.
	l2, _ := m.Get("my-topic", 2)
	appendN(t, l2, 1, 2, 50)
	bases, err := segmentBases(OSFileSystem{}, l2.Dir())
	if err != nil {
		t.Fatal(err)
	}
	path := segmentName(l2.Dir(), bases[len(bases)-1], ".log")
	if err := l2.Flush(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range m.Partitions() {
		lg, _ := m.Get(tp.Topic, tp.Partition)
		if err := lg.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(path, fi.Size()-7); err != nil {
		t.Fatal(err)
	}
	m, err = OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.CleanShutdown() {
		t.Fatal("crash must be detected")
	}
	l2, _ = m.Get("my-topic", 2)
	if l2.LogEndOffset() != 10 {
		t.Fatalf("LEO after crash recovery %d, want 10", l2.LogEndOffset())
	}
}

func TestMetaPropertiesFile(t *testing.T) {
	dir := t.TempDir()
	if _, _, ok, err := ReadMetaPropertiesFile(dir); ok || err != nil {
		t.Fatalf("missing file: %v %v", ok, err)
	}
	// As Kafka writes it (java.util.Properties.store).
	kafka := "#\n#Thu Nov 21 19:24:00 UTC 2024\ncluster.id=Xq1yZ-abcDEF_ghiJKLmnA\nversion=0\nbroker.id=7\n"
	if err := os.WriteFile(filepath.Join(dir, MetaPropertiesFile), []byte(kafka), 0o644); err != nil {
		t.Fatal(err)
	}
	id, cid, ok, err := ReadMetaPropertiesFile(dir)
	if err != nil || !ok || id != 7 || cid != "Xq1yZ-abcDEF_ghiJKLmnA" {
		t.Fatalf("got %d %q %v %v", id, cid, ok, err)
	}
	if err := WriteMetaPropertiesFile(dir, 8, "c"); err != nil {
		t.Fatal(err)
	}
	if id, cid, _, _ := ReadMetaPropertiesFile(dir); id != 8 || cid != "c" {
		t.Fatalf("round trip %d %q", id, cid)
	}
}

func TestOffsetCheckpointRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	in := map[TopicPartition]int64{{"b", 1}: 5, {"a", 2}: 0, {"a", 10}: 123456789012}
	if err := WriteOffsetCheckpoint(path, in); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if want := "0\n3\na 2 0\na 10 123456789012\nb 1 5\n"; string(data) != want {
		t.Fatalf("file %q, want %q", data, want)
	}
	out, err := ReadOffsetCheckpoint(path)
	if err != nil || len(out) != 3 || out[TopicPartition{"a", 10}] != 123456789012 {
		t.Fatalf("read back %v %v", out, err)
	}
	if err := os.WriteFile(path, []byte("0\n2\na 1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadOffsetCheckpoint(path); err == nil {
		t.Fatal("count mismatch accepted")
	}
}

// TestDeleteRewritesCheckpoints: deleting a partition rewrites the
// recovery-point and log-start checkpoints of its log dir
// (LogManager.asyncDelete: checkpointRecoveryOffsetsInDir and
// checkpointLogStartOffsetsInDir), so a topic re-created under the same
// name that crashes before the next periodic checkpoint does not inherit
// the old log start (its data hidden, log start = LEO) or recovery point.
func TestDeleteRewritesCheckpoints(t *testing.T) {
	dirs := []string{t.TempDir()}
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1200
	cfg.FileDeleteDelayMs = 0
	m, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	other, err := m.GetOrCreate("other", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, other, buildBatch(t, batchSpec{records: 3}))
	l, err := m.GetOrCreate("t", 0, [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: 1000}))
	}
	l.SetHighWatermark(40)
	if _, err := m.DeleteRecordsBefore("t", 0, 30); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	tp := TopicPartition{"t", 0}
	if err := m.Delete("t", 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RecoveryPointCheckpoint, LogStartOffsetCheckpoint} {
		cp, err := ReadOffsetCheckpoint(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		if off, ok := cp[tp]; ok {
			t.Fatalf("%s still holds the deleted partition at %d", name, off)
		}
		if _, ok := cp[TopicPartition{"other", 0}]; !ok {
			t.Fatalf("%s lost the partition still hosted", name)
		}
	}
	// Re-created with a new topic id; five records; then a crash: a second
	// manager opens the dir without the first shutting down.
	l, err = m.GetOrCreate("t", 0, [16]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1, valueSize: 200, baseTs: 1000}))
	}
	m2, err := OpenManager(dirs, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	defer m.Close() // the "crashed" manager's files, after m2 is done
	if m2.CleanShutdown() {
		t.Fatal("the crash was taken for a clean shutdown")
	}
	l2, ok := m2.Get("t", 0)
	if !ok {
		t.Fatal("re-created partition not loaded")
	}
	if l2.LogStartOffset() != 0 || l2.LogEndOffset() != 5 {
		t.Fatalf("re-created log after the crash: start %d, LEO %d; want 0, 5", l2.LogStartOffset(), l2.LogEndOffset())
	}
	if recs, _ := readRecords(t, l2); len(recs) != 5 {
		t.Fatalf("read %d records of the re-created log, want 5", len(recs))
	}
}

// TestTruncationWritesRecoveryPointCheckpoint: a truncation moves the
// recovery point back, and the log dir's recovery-point checkpoint is
// written at once (LogManager.truncateTo and truncateFullyAndStartAt:
// checkpointRecoveryOffsetsInDir). Otherwise a crash before the periodic
// checkpoint reopens the log with the old, higher recovery point and skips
// recovering what was written after the truncation.
func TestTruncationWritesRecoveryPointCheckpoint(t *testing.T) {
	dirs := []string{t.TempDir()}
	m, err := OpenManager(dirs, DefaultLogConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.GetOrCreate("t", 0, [16]byte{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		mustAppend(t, l, buildBatch(t, batchSpec{records: 1}))
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := m.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	tp := TopicPartition{"t", 0}
	checkpointed := func() (int64, int64) {
		t.Helper()
		rps, err := ReadOffsetCheckpoint(filepath.Join(dirs[0], RecoveryPointCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		starts, err := ReadOffsetCheckpoint(filepath.Join(dirs[0], LogStartOffsetCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		return rps[tp], starts[tp]
	}
	if rp, _ := checkpointed(); rp != 10 {
		t.Fatalf("setup: recovery point checkpoint %d, want 10", rp)
	}
	if err := l.TruncateTo(4); err != nil {
		t.Fatal(err)
	}
	if rp, _ := checkpointed(); rp != 4 {
		t.Fatalf("recovery point checkpoint %d after TruncateTo(4), want 4", rp)
	}
	if err := l.TruncateFullyAndStartAt(2); err != nil {
		t.Fatal(err)
	}
	if rp, start := checkpointed(); rp != 2 || start != 2 {
		t.Fatalf("checkpoints after TruncateFullyAndStartAt(2): recovery point %d, log start %d; want 2, 2", rp, start)
	}
}
