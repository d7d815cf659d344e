package controller

import (
	"slices"
	"testing"
)

// A broker that starts while a reassignment adds a replica to it restarts
// that reassignment (Kafka's onBrokerStartup -> maybeResumeReassignments
// for reassignments whose target includes a new broker ->
// onPartitionReassignment): the leader epoch is bumped and every replica
// of the partition, the started one too, learns it.
func TestBrokerStartupResumesReassignment(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	alterReassignment(tc, "t", 0, []int32{1, 3})
	b3 := tc.brokers[3]
	b3.zk.Close() // broker 3, the adding replica, goes down
	tc.waitFor("the controller to see broker 3 gone", func() bool {
		live := true
		tc.onLoop(func() { live = tc.c.state.isLive(3) })
		return !live
	})
	before := tc.partitionState("t", 0)
	tc.register(b3) // and starts again
	tc.waitFor("the reassignment to be restarted with a new leader epoch", func() bool {
		return tc.partitionState("t", 0).LeaderEpoch > before.LeaderEpoch
	})
	st := tc.partitionState("t", 0)
	if st.Leader != 1 || !slices.Equal(st.ISR, before.ISR) {
		t.Fatalf("state after broker 3 started: %+v, was %+v", st, before)
	}
	for _, id := range []int32{1, 2, 3} {
		tc.waitFor("every replica to learn the new epoch", func() bool {
			states := tc.brokers[id].leaderAndIsrStates("t", 0)
			return len(states) > 0 && states[len(states)-1].LeaderEpoch == st.LeaderEpoch
		})
	}
}
