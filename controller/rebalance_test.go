package controller

import (
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Auto leader rebalance counts and elects partitions being reassigned too,
// with the head of their full replica set as preferred replica (Kafka's
// checkAndTriggerAutoLeaderRebalance groups controllerContext.allPartitions
// by partitionReplicaAssignment(tp).head and skips only topics being
// deleted).
func TestAutoLeaderRebalanceIncludesReassigningPartitions(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100, LeaderImbalancePerBrokerPercentage: 10})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	alterReassignment(tc, "t", 0, []int32{2, 1, 3}) // under way until 3 catches up
	tc.onLoop(func() {
		if !tc.c.state.reassigning(topicPartition{"t", 0}) {
			t.Error("reassignment not under way")
		}
		tc.c.checkLeaderImbalance()
	})
	if st := tc.partitionState("t", 0); st.Leader != 2 {
		t.Fatalf("t-0 after the rebalance: %+v, want its preferred replica 2 to lead", st)
	}
}

// The first automatic rebalance runs 5 seconds after the controller takes
// over, not one check interval later (KafkaController.onControllerFailover:
// scheduleAutoLeaderRebalanceTask(delay = 5 s); each run then schedules the
// next one interval later).
func TestAutoLeaderRebalanceFirstRunAfterFailover(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	// Left by an earlier controller: led by 2, 1 in sync.
	st := zkmeta.LeaderAndIsr{Leader: 2, LeaderEpoch: 3, ISR: []int32{2, 1}}
	if err := tc.zk.CreateRecursive(zkmeta.PartitionStatePath("t", 0), zkmeta.EncodePartitionState(st), 0); err != nil {
		t.Fatal(err)
	}
	tc.start(Config{BrokerID: 100, AutoLeaderRebalanceEnable: true, LeaderImbalanceCheckInterval: time.Hour,
		LeaderImbalancePerBrokerPercentage: 10})
	tc.waitFor("the first rebalance to move t-0 to broker 1", func() bool { return tc.partitionState("t", 0).Leader == 1 })
}
