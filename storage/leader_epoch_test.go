package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestLeaderEpochCache(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenLeaderEpochCache(dir)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		op   func() error
		want string
	}{
		{func() error { return c.Assign(1, 0) }, "[{1 0}]"},
		{func() error { return c.Assign(1, 5) }, "[{1 0}]"}, // same epoch, later offset: no change
		{func() error { return c.Assign(3, 10) }, "[{1 0} {3 10}]"},
		{func() error { return c.Assign(4, 20) }, "[{1 0} {3 10} {4 20}]"},
		{func() error { return c.Assign(-1, 30) }, "[{1 0} {3 10} {4 20}]"},
		{func() error { return c.Assign(5, 15) }, "[{1 0} {3 10} {5 15}]"}, // replaces entries at or above offset 15
		{func() error { return c.TruncateFromEnd(15) }, "[{1 0} {3 10}]"},
		{func() error { return c.Assign(6, 30) }, "[{1 0} {3 10} {6 30}]"},
		{func() error { return c.TruncateFromStart(12) }, "[{3 12} {6 30}]"},
		{func() error { return c.TruncateFromStart(5) }, "[{3 12} {6 30}]"},
	}
	for i, s := range steps {
		if err := s.op(); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(c.Entries()); got != s.want {
			t.Fatalf("step %d: %s, want %s", i, got, s.want)
		}
	}
	for _, tc := range []struct {
		epoch           int32
		wantEpoch       int32
		wantOffset, leo int64
	}{
		{6, 6, 50, 50}, // latest: the LEO
		{3, 3, 30, 50}, // known: next epoch's start
		{4, 3, 30, 50}, // unknown in between: floor epoch, next start
		{2, 2, 12, 50}, // below every epoch
		{7, UndefinedEpoch, UndefinedEpochOffset, 50},  // above every epoch
		{-1, UndefinedEpoch, UndefinedEpochOffset, 50}, // undefined
	} {
		e, o := c.EndOffsetFor(tc.epoch, tc.leo)
		if e != tc.wantEpoch || o != tc.wantOffset {
			t.Errorf("EndOffsetFor(%d) = %d, %d; want %d, %d", tc.epoch, e, o, tc.wantEpoch, tc.wantOffset)
		}
	}
	// The file is Kafka's format and reloads.
	data, err := os.ReadFile(filepath.Join(dir, LeaderEpochCheckpointFile))
	if err != nil || string(data) != "0\n2\n3 12\n6 30\n" {
		t.Fatalf("checkpoint %q, %v", data, err)
	}
	c2, err := OpenLeaderEpochCache(dir)
	if err != nil || fmt.Sprint(c2.Entries()) != "[{3 12} {6 30}]" {
		t.Fatalf("reloaded %v, %v", c2.Entries(), err)
	}
}

func TestLeaderEpochCheckpointMalformed(t *testing.T) {
	for _, body := range []string{"", "1\n0\n", "0\n2\n1 0\n", "0\n1\nx 0\n", "0\n1\n1 2 3\n"} {
		path := filepath.Join(t.TempDir(), LeaderEpochCheckpointFile)
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadLeaderEpochCheckpoint(path); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}

func TestLogMaintainsLeaderEpochs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 600
	l := mustOpen(t, dir, cfg, false)
	for i, epoch := range []int32{0, 0, 2, 2, 2, 5, 5} {
		if _, err := l.Append(buildBatch(t, batchSpec{records: 2, valueSize: 100}), epoch); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if got := fmt.Sprint(l.LeaderEpochs().Entries()); got != "[{0 0} {2 4} {5 10}]" {
		t.Fatalf("epochs %s", got)
	}
	if err := l.TruncateTo(8); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(l.LeaderEpochs().Entries()); got != "[{0 0} {2 4}]" {
		t.Fatalf("after truncation %s", got)
	}
	if _, err := l.DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(l.LeaderEpochs().Entries()); got != "[{2 5}]" {
		t.Fatalf("after log start moved %s", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, cfg, true)
	defer l.Close()
	if got := fmt.Sprint(l.LeaderEpochs().Entries()); got != "[{2 5}]" {
		t.Fatalf("after reopen %s", got)
	}
}

func TestReplicationCheckpoint(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	m, err := OpenManager(dirs, DefaultLogConfig(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for p := int32(0); p < 2; p++ {
		if _, err := m.GetOrCreate("rep", p, [16]byte{}); err != nil {
			t.Fatal(err)
		}
	}
	hws := map[TopicPartition]int64{{"rep", 0}: 7, {"rep", 1}: 9, {"gone", 0}: 3}
	if err := m.WriteReplicationCheckpoint(hws, nil); err != nil {
		t.Fatal(err)
	}
	got, unreadable := m.ReadReplicationCheckpoint()
	if unreadable != nil || len(got) != 2 || got[TopicPartition{"rep", 0}] != 7 || got[TopicPartition{"rep", 1}] != 9 {
		t.Fatalf("read back %v, %v", got, unreadable)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, ReplicationOffsetCheckpoint)); err != nil {
			t.Fatal(err)
		}
	}

	// One dir's file unreadable: the other dir's HWs are still read, and a
	// write skipping that dir leaves its file alone.
	dir0, ok := m.LogDirOf("rep", 0)
	if !ok || dir0 != dirs[0] {
		t.Fatalf("rep-0 in %q (%v), want %s", dir0, ok, dirs[0])
	}
	bad := filepath.Join(dirs[0], ReplicationOffsetCheckpoint)
	if err := os.WriteFile(bad, []byte("garbage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, unreadable = m.ReadReplicationCheckpoint()
	if len(unreadable) != 1 || unreadable[dirs[0]] == nil || len(got) != 1 || got[TopicPartition{"rep", 1}] != 9 {
		t.Fatalf("with %s unreadable: read %v, unreadable %v", dirs[0], got, unreadable)
	}
	if err := m.WriteReplicationCheckpoint(map[TopicPartition]int64{{"rep", 0}: 8, {"rep", 1}: 10}, map[string]bool{dirs[0]: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(bad); err != nil || string(b) != "garbage\n" {
		t.Fatalf("skipped dir's checkpoint rewritten: %q %v", b, err)
	}
	if got, _ := m.ReadReplicationCheckpoint(); got[TopicPartition{"rep", 1}] != 10 {
		t.Fatalf("other dir's checkpoint %v, want rep-1 at 10", got)
	}
}
