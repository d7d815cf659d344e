package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

func alterReassignment(tc *testCluster, topic string, p int32, replicas []int32) {
	tc.t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = p, replicas
	req.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: topic, Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{rp}}}
	resp := tc.c.AlterPartitionReassignments(context.Background(), req)
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		tc.t.Fatalf("AlterPartitionReassignments %v: %+v", replicas, resp)
	}
}

// leaderAddsToISR plays the partition leader's AlterPartition.
func leaderAddsToISR(tc *testCluster, topic string, p int32, isr []int32) {
	tc.t.Helper()
	st := tc.partitionState(topic, p)
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 1
	req.BrokerID, req.BrokerEpoch = st.Leader, tc.brokers[st.Leader].Epoch()
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.NewISR, rp.PartitionEpoch = p, st.LeaderEpoch, isr, st.ZkVersion
	req.Topics = []kmsg.AlterPartitionRequestTopic{{Topic: topic, Partitions: []kmsg.AlterPartitionRequestTopicPartition{rp}}}
	resp := tc.c.AlterPartition(context.Background(), req)
	if resp.ErrorCode != 0 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		tc.t.Fatalf("AlterPartition %v: %+v", isr, resp)
	}
}

// Cancelling a reassignment, or replacing it by another, stops and deletes
// the adding replicas it drops and takes them out of the ISR, as Kafka's
// updateCurrentReassignment -> stopRemovedReplicasOfReassignedPartition
// (OfflineReplica, then StopReplica(delete)).
func TestReassignmentDropsUnneededReplicas(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3, 4, 5)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})

	// Replace: [3,4] is under way (3 caught up) when [5,4] replaces it.
	alterReassignment(tc, "t", 0, []int32{3, 4})
	leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3})
	alterReassignment(tc, "t", 0, []int32{5, 4})
	if st := tc.partitionState("t", 0); slices.Contains(st.ISR, 3) {
		t.Fatalf("dropped replica 3 still in the ISR: %+v", st)
	}
	tc.waitFor("broker 3 to be told to delete its replica", func() bool {
		return slices.Equal(tc.brokers[3].stopReplicas(), []string{"t-0 delete=true"})
	})
	if got := tc.brokers[4].stopReplicas(); len(got) != 0 {
		t.Fatalf("broker 4, still adding, was stopped: %v", got)
	}

	// Cancel: the adding replicas 5 and 4 go too.
	alterReassignment(tc, "t", 0, nil)
	a, _, _, err := tc.zk.TopicAssignment("t")
	if err != nil || !slices.Equal(a.Partitions[0], []int32{1, 2}) || len(a.AddingReplicas) != 0 || len(a.RemovingReplicas) != 0 {
		t.Fatalf("assignment after cancel: %+v %v", a, err)
	}
	for _, id := range []int32{4, 5} {
		tc.waitFor("the cancelled replicas to be told to delete", func() bool {
			return slices.Equal(tc.brokers[id].stopReplicas(), []string{"t-0 delete=true"})
		})
	}
	if st := tc.partitionState("t", 0); !slices.Equal(st.ISR, []int32{1, 2}) || st.Leader != 1 {
		t.Fatalf("state after cancel: %+v", st)
	}
}

func reassignCode(tc *testCluster, topic string, p int32, replicas []int32) int16 {
	tc.t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = p, replicas
	req.Topics = []kmsg.AlterPartitionAssignmentsRequestTopic{{Topic: topic, Partitions: []kmsg.AlterPartitionAssignmentsRequestTopicPartition{rp}}}
	resp := tc.c.AlterPartitionReassignments(context.Background(), req)
	if resp.ErrorCode != 0 {
		tc.t.Fatalf("AlterPartitionReassignments: %+v", resp)
	}
	return resp.Topics[0].Partitions[0].ErrorCode
}

// Kafka's validateReplicas requires only the adding replicas to be live: a
// reassignment keeping a replica whose broker is down is accepted.
func TestReassignmentRequiresOnlyAddingReplicasLive(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	tc.brokers[2].zk.Close()
	tc.waitFor("broker 2 to be seen gone", func() bool {
		live := true
		tc.onLoop(func() { live = tc.c.state.isLive(2) })
		return !live
	})
	if code := reassignCode(tc, "t", 0, []int32{1, 4}); code != kerr.InvalidReplicaAssignment.Code {
		t.Fatalf("adding a broker that is not live: error %d, want INVALID_REPLICA_ASSIGNMENT", code)
	}
	if code := reassignCode(tc, "t", 0, []int32{1, 2, 3}); code != 0 {
		t.Fatalf("keeping the down broker 2, adding live 3: error %d, want none", code)
	}
	a, _, _, err := tc.zk.TopicAssignment("t")
	if err != nil || !slices.Equal(a.AddingReplicas[0], []int32{3}) {
		t.Fatalf("assignment: %+v %v", a, err)
	}
}

// An API reassignment of a partition takes it out of the legacy
// /admin/reassign_partitions znode (Kafka's processApiPartitionReassignment
// -> maybeRemoveFromZkReassignment); other entries stay.
func TestAPIReassignmentRemovesLegacyEntry(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.createTopic("u", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leaders", func() bool {
		st, ok, err := tc.zk.PartitionState("u", 0)
		return err == nil && ok && st.Leader == 1
	})
	legacy := []zkmeta.PartitionReplicas{{Topic: "t", Partition: 0, Replicas: []int32{1, 3}}, {Topic: "u", Partition: 0, Replicas: []int32{1, 3}}}
	if err := tc.zk.CreateRecursive(zkmeta.ReassignPath, zkmeta.EncodeReassignPartitions(legacy), 0); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("the legacy reassignments to start", func() bool {
		a, _, _, err := tc.zk.TopicAssignment("u")
		b, _, _, err2 := tc.zk.TopicAssignment("t")
		return err == nil && err2 == nil && len(a.AddingReplicas[0]) > 0 && len(b.AddingReplicas[0]) > 0
	})
	if code := reassignCode(tc, "t", 0, []int32{1, 2, 3}); code != 0 { // under way until 3 catches up
		t.Fatalf("API reassignment: error %d", code)
	}
	data, _, err := tc.zk.Get(zkmeta.ReassignPath)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := zkmeta.DecodeReassignPartitions(data)
	if err != nil || len(parts) != 1 || parts[0].Topic != "u" {
		t.Fatalf("/admin/reassign_partitions after the API reassignment of t-0: %+v %v", parts, err)
	}
}
