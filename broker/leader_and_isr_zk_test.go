package broker

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// TestLeaderAndIsrReadsConfigOnlyForNewLogs: Kafka reads a topic's config
// from ZooKeeper in LeaderAndIsr only when it creates the partition's log
// (Partition.createLogIfNotExists -> LogManager.getOrCreateLog ->
// fetchLogConfig); a hosted partition's config comes from the config
// change notifications. So with ZooKeeper unreachable a LeaderAndIsr for
// hosted partitions completes at once (and the UpdateMetadata queued
// behind it is not held up: soak fault 36, where a broker's metadata stayed
// stale for 38 s behind a LeaderAndIsr waiting on ZooKeeper).
func TestLeaderAndIsrReadsConfigOnlyForNewLogs(t *testing.T) {
	var reads atomic.Int32
	var down atomic.Bool
	s := zkTestServer(t, func(req zkmeta.Request, send func() error) error {
		if strings.HasSuffix(req.Path, "/config/topics/t") {
			reads.Add(1)
		}
		if down.Load() {
			return zkmeta.ErrConnectionLoss
		}
		return send()
	})
	both := []int32{1, 2}
	steps := []struct {
		name             string
		partition, epoch int32
		zkDown           bool
		wantReads        bool
	}{
		{"new log t-0", 0, 1, false, true},
		{"hosted t-0, new leader epoch", 0, 2, false, false},
		{"hosted t-0, ZooKeeper down", 0, 3, true, false},
		{"new log t-1, ZooKeeper down", 1, 1, true, true}, // read tried, fails: broker defaults
		{"hosted t-1", 1, 2, false, false},
	}
	for _, st := range steps {
		down.Store(st.zkDown)
		before := reads.Load()
		if err := leaderAndIsr(t, s, st.partition, 1, st.epoch, both, both); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := reads.Load() > before; got != st.wantReads {
			t.Errorf("%s: read /config/topics/t: %v, want %v", st.name, got, st.wantReads)
		}
		if p, ok := s.replicas.get("t", st.partition); !ok || p.currentLeaderEpoch() != st.epoch {
			t.Errorf("%s: partition not at leader epoch %d", st.name, st.epoch)
		}
	}
}
