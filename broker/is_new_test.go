package broker

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// leaderAndIsrIsNew sends one partition state of topic t (v5) with IsNew
// (leader 1, replicas [1 2]) and returns the partition's error.
func leaderAndIsrIsNew(t *testing.T, s *Server, partition, epoch int32, isNew bool) error {
	t.Helper()
	return leaderAndIsrState(t, s, partition, 1, epoch, []int32{1, 2}, []int32{1, 2}, isNew)
}

// LeaderAndIsr's IsNew at a broker (KIP-112), in the order of
// ReplicaManager.becomeLeaderOrFollower -> Partition.createLogIfNotExists ->
// LogManager.getOrCreateLog: with a log dir offline (here a regular file
// in place of the dir, so it could not even be listed at start-up) a
// replica with no log and not IsNew answers KAFKA_STORAGE_ERROR and
// nothing is created (its log may have lived in the offline dir); the
// partition stays offline (markPartitionOffline -> HostedPartition.Offline:
// a later IsNew does not revive it). IsNew creates the log in the online
// dir; an existing log is used whatever IsNew says; with every dir online
// a missing log is created.
func TestLeaderAndIsrIsNewWithOfflineDir(t *testing.T) {
	healthy := t.TempDir()
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	// t-5 has a log in the healthy dir from before.
	pre := newReplicaTestServerDirs(t, 1, []string{healthy})
	if err := leaderAndIsrIsNew(t, pre, 5, 1, true); err != nil {
		t.Fatal(err)
	}
	pre.replicas.shutdown()
	if err := pre.logs.Close(); err != nil {
		t.Fatal(err)
	}

	type step struct {
		partition int32
		isNew     bool
		wantErr   error // nil or kerr.KafkaStorageError
		wantLog   bool  // a log exists afterwards (in the healthy dir)
	}
	cases := []struct {
		name    string
		offline bool
		steps   []step
	}{
		{"not new, a dir offline: refused, stays offline", true, []step{
			{0, false, kerr.KafkaStorageError, false},
			{0, false, kerr.KafkaStorageError, false},
			{0, true, kerr.KafkaStorageError, false},
		}},
		{"new, a dir offline: created in the online dir", true, []step{{1, true, nil, true}, {1, false, nil, true}}},
		{"existing log, not new, a dir offline", true, []step{{5, false, nil, true}}},
		{"not new, every dir online: created", false, []step{{2, false, nil, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dirs := []string{healthy}
			if c.offline {
				dirs = append(dirs, broken)
			}
			s := newReplicaTestServerDirs(t, 1, dirs)
			if got := len(s.logs.OfflineLogDirs()); c.offline && got != 1 {
				t.Fatalf("offline dirs %v, want %s", s.logs.OfflineLogDirs(), broken)
			}
			for i, st := range c.steps {
				err := leaderAndIsrIsNew(t, s, st.partition, int32(i+2), st.isNew)
				if !errors.Is(err, st.wantErr) || (st.wantErr == nil && err != nil) {
					t.Fatalf("step %d: LeaderAndIsr t-%d IsNew=%v: %v, want %v", i, st.partition, st.isNew, err, st.wantErr)
				}
				d, ok := s.logs.LogDirOf("t", st.partition)
				if ok != st.wantLog || ok && d != healthy {
					t.Fatalf("step %d: t-%d log in %q (%v), want present=%v in %s", i, st.partition, d, ok, st.wantLog, healthy)
				}
				_, statErr := os.Stat(filepath.Join(healthy, "t-"+strconv.Itoa(int(st.partition))))
				if exists := statErr == nil; exists != st.wantLog {
					t.Fatalf("step %d: t-%d dir on disk %v, want %v", i, st.partition, exists, st.wantLog)
				}
			}
			if got := len(s.logs.OfflineLogDirs()); c.offline && got != 1 || !c.offline && got != 0 {
				t.Fatalf("offline dirs after: %v", s.logs.OfflineLogDirs())
			}
		})
	}
}
