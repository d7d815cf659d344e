package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// stopReplicaEpochs lists the leader epochs a broker received in
// StopReplica requests for one partition, in order.
func (b *fakeBroker) stopReplicaEpochs(topic string, p int32) []int32 {
	var out []int32
	for _, r := range b.received(kmsg.StopReplica.Int16()) {
		for _, t := range r.(*kmsg.StopReplicaRequest).Topics {
			for _, ps := range t.PartitionStates {
				if t.Topic == topic && ps.Partition == p {
					out = append(out, ps.LeaderEpoch)
				}
			}
		}
	}
	return out
}

// The leader epoch of a StopReplica is Kafka's ControllerContext.leaderEpoch:
// -2 (EpochDuringDelete) for a topic queued for deletion, whatever the
// request; otherwise the partition's current leader epoch, or -1 (NoEpoch)
// when it has no leader and ISR yet.
func TestStopEpoch(t *testing.T) {
	st := zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 7, ISR: []int32{1}}
	for _, tc := range []struct {
		name     string
		st       zkmeta.LeaderAndIsr
		hasState bool
		deleting bool
		want     int32
	}{
		{"being deleted", st, true, true, -2},
		{"being deleted, no state", zkmeta.LeaderAndIsr{}, false, true, -2},
		{"current epoch", st, true, false, 7},
		{"no state", zkmeta.LeaderAndIsr{}, false, false, -1},
	} {
		if got := stopEpoch(tc.st, tc.hasState, tc.deleting); got != tc.want {
			t.Errorf("%s: epoch %d, want %d", tc.name, got, tc.want)
		}
	}
}

// A reassignment removing a replica deletes it with the partition's current
// leader epoch, not the deletion sentinel -2: brokers fence StopReplica
// with an older epoch (ReplicaManager.stopReplicas), and -2 would let a
// delayed StopReplica(delete) of this reassignment delete the replica of a
// later reassignment moving it back.
func TestReassignmentStopReplicaCarriesLeaderEpoch(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	alterReassignment(tc, "t", 0, []int32{1, 3})
	leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3})
	tc.waitFor("broker 2 to be told to delete its replica", func() bool {
		return len(tc.brokers[2].stopReplicaEpochs("t", 0)) > 0
	})
	st := tc.partitionState("t", 0)
	if got := tc.brokers[2].stopReplicaEpochs("t", 0); len(got) != 1 || got[0] != st.LeaderEpoch {
		t.Fatalf("StopReplica leader epochs to the removed replica: %v, want [%d] (the current one)", got, st.LeaderEpoch)
	}
}
