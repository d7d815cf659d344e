package controller

import (
	"slices"
	"strings"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
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

// KIP-704: a leader elected from outside the ISR marks the partition
// RECOVERING (PartitionLeaderElectionAlgorithms / leaderForOffline:
// newRecoveringLeaderAndIsr); a clean election keeps the recovery state.
func TestUncleanElectionMarksRecovering(t *testing.T) {
	cases := []struct {
		name     string
		cur      zkmeta.LeaderAndIsr
		live     []int32
		leader   int32
		recovery int8
	}{
		{"unclean: leader from outside the ISR", zkmeta.LeaderAndIsr{Leader: -1, ISR: []int32{1}}, []int32{2, 3}, 2, 1},
		{"clean candidate: recovered", zkmeta.LeaderAndIsr{Leader: -1, ISR: []int32{1, 3}}, []int32{2, 3}, 3, 0},
		{"clean candidate keeps a recovering state", zkmeta.LeaderAndIsr{Leader: -1, ISR: []int32{1, 3}, LeaderRecoveryState: 1}, []int32{3}, 3, 1},
	}
	for _, c := range cases {
		next, ok := electUncleanLeader(c.cur, []int32{1, 2, 3}, liveSet(c.live...), 5)
		if !ok || next.Leader != c.leader || next.LeaderRecoveryState != c.recovery {
			t.Errorf("%s: %+v %v, want leader %d recovery state %d", c.name, next, ok, c.leader, c.recovery)
		}
	}
	// The state znode carries it as Kafka's TopicPartitionStateZNode writes it.
	data := zkmeta.EncodePartitionState(zkmeta.LeaderAndIsr{Leader: 2, LeaderEpoch: 3, ISR: []int32{2}, ControllerEpoch: 5, LeaderRecoveryState: 1})
	if !strings.Contains(string(data), `"leader_recovery_state":1`) {
		t.Fatalf("state znode %s", data)
	}
}

// Turning unclean.leader.election.enable on as a dynamic broker default
// (/config/brokers/<default>, or the controller broker's own
// /config/brokers/<id>) elects every offline partition without a topic
// override, as Kafka's DynamicLogConfig.reconfigure ->
// enableDefaultUncleanLeaderElection -> triggerOnlinePartitionStateChange;
// the controller's elections then use the dynamic default
// (KafkaConfig.originals in collectUncleanLeaderElectionState). A topic
// override false still wins.
func TestDefaultUncleanEnableElectsOfflinePartitions(t *testing.T) {
	for _, entity := range []string{"<default>", "100"} {
		t.Run(entity, func(t *testing.T) {
			tc := newTestCluster(t, 1, 2)
			tc.createTopic("t", map[int32][]int32{0: {1, 2}})
			tc.createTopic("u", map[int32][]int32{0: {1, 2}})
			if err := tc.zk.ChangeEntityConfig("topics", "u", map[string]string{"unclean.leader.election.enable": "false"}); err != nil {
				t.Fatal(err)
			}
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

			if err := tc.zk.ChangeEntityConfig("brokers", entity, map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
				t.Fatal(err)
			}
			tc.waitFor("t-0 to elect broker 2 uncleanly", func() bool { return tc.partitionState("t", 0).Leader == 2 })
			if st := tc.partitionState("u", 0); st.Leader != noLeader {
				t.Fatalf("u-0 (override false) elected uncleanly: %+v", st)
			}
		})
	}
}

// At failover the elections use the dynamic broker default too.
func TestFailoverUsesDynamicUncleanDefault(t *testing.T) {
	tc := newTestCluster(t, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	st := zkmeta.LeaderAndIsr{Leader: noLeader, LeaderEpoch: 3, ISR: []int32{1}, ControllerEpoch: 1}
	if err := tc.zk.CreateRecursive(zkmeta.PartitionStatePath("t", 0), zkmeta.EncodePartitionState(st), 0); err != nil {
		t.Fatal(err)
	}
	if err := tc.zk.ChangeEntityConfig("brokers", "<default>", map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Fatal(err)
	}
	tc.start(Config{BrokerID: 100})
	tc.waitFor("t-0 to elect broker 2 uncleanly", func() bool { return tc.partitionState("t", 0).Leader == 2 })
}

// An unreadable dynamic broker config is ignored (logged) rather than
// failing the failover.
func TestFailoverIgnoresMalformedBrokerConfig(t *testing.T) {
	tc := newTestCluster(t, 1)
	tc.createTopic("t", map[int32][]int32{0: {1}})
	if err := tc.zk.CreateRecursive(zkmeta.EntityConfigPath("brokers", "<default>"), []byte("{not json"), 0); err != nil {
		t.Fatal(err)
	}
	tc.start(Config{BrokerID: 100})
	tc.waitFor("t-0 to be elected", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
}
