package controller

import (
	"slices"
	"testing"
)

// Turning unclean.leader.election.enable on for a topic elects its offline
// partitions at once, as Kafka's TopicConfigHandler ->
// enableTopicUncleanLeaderElection -> triggerOnlinePartitionStateChange(topic).
func TestTopicUncleanEnableElectsOfflinePartitions(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.createTopic("u", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leaders", func() bool {
		st, ok, err := tc.zk.PartitionState("u", 0)
		return err == nil && ok && st.Leader == 1
	})
	leaderAddsToISR(tc, "t", 0, []int32{1}) // broker 2 fell behind
	leaderAddsToISR(tc, "u", 0, []int32{1})
	tc.brokers[1].zk.Close() // the only in-sync replica dies
	tc.waitFor("t-0 and u-0 to go offline", func() bool {
		a, b := tc.partitionState("t", 0), tc.partitionState("u", 0)
		return a.Leader == noLeader && b.Leader == noLeader
	})

	if err := tc.zk.ChangeEntityConfig("topics", "t", map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("t-0 to elect broker 2 uncleanly", func() bool { return tc.partitionState("t", 0).Leader == 2 })
	if st := tc.partitionState("t", 0); !slices.Equal(st.ISR, []int32{2}) {
		t.Fatalf("t-0 after the unclean election: %+v", st)
	}
	// Another topic's change and u's own notification without the key leave u offline.
	if err := tc.zk.ChangeEntityConfig("topics", "u", map[string]string{"retention.ms": "1000"}); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("the controller to read u's notification", func() bool {
		var seen int64
		tc.onLoop(func() { seen = tc.c.state.lastConfigChange })
		return seen >= 1
	})
	if st := tc.partitionState("u", 0); st.Leader != noLeader {
		t.Fatalf("u-0 elected without unclean election enabled: %+v", st)
	}
}
