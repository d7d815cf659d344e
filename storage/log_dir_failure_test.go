package storage

import (
	"errors"
	"path/filepath"
	"testing"
)

// An I/O error in one log's append takes its whole log dir offline: the dir
// is delivered once on LogDirFailures, HandleLogDirFailure forgets every log
// in it, new partitions go to the other dir, and the other dir's logs keep
// appending. Losing the last dir is ErrAllLogDirsOffline.
func TestLogDirFailure(t *testing.T) {
	d1, d2 := filepath.Join(t.TempDir(), "d1"), filepath.Join(t.TempDir(), "d2")
	m, err := OpenManager([]string{d1, d2}, Config{}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	logs := map[int32]*Log{}
	dirOf := map[int32]string{}
	for p := int32(0); p < 4; p++ {
		l, err := m.GetOrCreate("t", p, [16]byte{})
		if err != nil {
			t.Fatal(err)
		}
		logs[p] = l
		dirOf[p], _ = m.LogDirOf("t", p)
	}
	// Break partition 0's active segment behind the log's back.
	failed := dirOf[0]
	_ = logs[0].active().log.Close()
	if _, err := logs[0].AppendAsLeader(buildBatch(t, batchSpec{}), 0, false); !errors.Is(err, ErrStorage) {
		t.Fatalf("append on a broken segment: %v, want ErrStorage", err)
	}
	select {
	case d := <-m.LogDirFailures():
		if d != failed {
			t.Fatalf("failed dir %s, want %s", d, failed)
		}
	default:
		t.Fatal("no log dir failure delivered")
	}
	m.ReportLogDirFailure(failed, errors.New("again")) // a second report is ignored
	select {
	case d := <-m.LogDirFailures():
		t.Fatalf("dir %s delivered twice", d)
	default:
	}
	if m.IsLogDirOnline(failed) || len(m.OfflineLogDirs()) != 1 {
		t.Fatalf("offline dirs %v", m.OfflineLogDirs())
	}
	tps, err := m.HandleLogDirFailure(failed)
	if err != nil {
		t.Fatal(err)
	}
	for p, d := range dirOf {
		_, hosted := m.Get("t", p)
		if (d == failed) == hosted {
			t.Errorf("partition %d in %s: hosted=%v after the failure", p, d, hosted)
		}
		if d != failed {
			mustAppend(t, logs[p], buildBatch(t, batchSpec{}))
		}
	}
	if len(tps) != 2 {
		t.Fatalf("HandleLogDirFailure returned %v, want the two partitions of %s", tps, failed)
	}
	l, err := m.GetOrCreate("u", 0, [16]byte{})
	if err != nil || filepath.Dir(l.Dir()) == failed {
		t.Fatalf("new partition in %v (err %v), want the online dir", l, err)
	}
	other := d1
	if failed == d1 {
		other = d2
	}
	m.ReportLogDirFailure(other, errors.New("disk gone"))
	if _, err := m.HandleLogDirFailure(other); !errors.Is(err, ErrAllLogDirsOffline) {
		t.Fatalf("last dir failed: %v, want ErrAllLogDirsOffline", err)
	}
	if _, err := m.GetOrCreate("v", 0, [16]byte{}); !errors.Is(err, ErrStorage) {
		t.Fatalf("create with no online dir: %v", err)
	}
}
