package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// A topic marked for deletion while one of its partitions is being
// reassigned waits for the reassignment to complete (Kafka's
// onPartitionReassignment and processTopicDeletion mark it ineligible for
// deletion); the completion resumes it (resumeDeletionForTopics). Meanwhile
// the leader's AlterPartition, which completes the reassignment, is
// accepted.
func TestDeletionWaitsForReassignment(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	alterReassignment(tc, "t", 0, []int32{1, 3})
	deleteTopic(tc, "t")
	var started bool
	tc.onLoop(func() {
		started = tc.c.state.anyReplicaInDeletionState("t", deletionStarted) || tc.c.state.anyReplicaInDeletionState("t", deletionSuccessful)
	})
	for _, id := range []int32{1, 2, 3} {
		if got := tc.brokers[id].stopReplicas(); len(got) != 0 || started {
			t.Fatalf("deletion started during the reassignment: broker %d StopReplica %v, started %v", id, got, started)
		}
	}
	if !topicExists(tc, "t") {
		t.Fatal("topic deleted during its reassignment")
	}

	// Broker 3 catches up: the reassignment completes, then the deletion runs.
	leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3})
	tc.waitFor("the topic znode to go", func() bool { return !topicExists(tc, "t") })
	for _, id := range []int32{1, 3} {
		if got := tc.brokers[id].stopReplicas(); !slices.Equal(got, []string{"t-0 delete=true"}) {
			t.Fatalf("broker %d StopReplica: %v", id, got)
		}
	}
	if got := tc.brokers[2].stopReplicas(); !slices.Contains(got, "t-0 delete=true") {
		t.Fatalf("removed replica 2 StopReplica: %v", got)
	}
}

// At failover a topic queued for deletion with a reassignment under way
// has the reassignment resumed and its deletion halted until it completes
// (KafkaController.fetchTopicDeletionsInProgress,
// initializePartitionReassignments).
func TestDeletionWaitsForReassignmentAfterFailover(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	a := zkmeta.TopicAssignment{Topic: "t", TopicID: zkmeta.NewTopicID(),
		Partitions:       map[int32][]int32{0: {1, 3, 2}},
		AddingReplicas:   map[int32][]int32{0: {3}},
		RemovingReplicas: map[int32][]int32{0: {2}}}
	if err := tc.zk.CreateTopic(a, nil); err != nil {
		t.Fatal(err)
	}
	st := zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2}, ControllerEpoch: 1}
	if err := tc.zk.CreateRecursive(zkmeta.PartitionStatePath("t", 0), zkmeta.EncodePartitionState(st), 0); err != nil {
		t.Fatal(err)
	}
	if err := tc.zk.MarkTopicForDeletion("t"); err != nil {
		t.Fatal(err)
	}
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("the reassignment to be resumed", func() bool {
		return len(tc.brokers[3].leaderAndIsrStates("t", 0)) > 0
	})
	var started bool
	tc.onLoop(func() {
		started = tc.c.state.anyReplicaInDeletionState("t", deletionStarted) || tc.c.state.anyReplicaInDeletionState("t", deletionSuccessful)
	})
	if started || !topicExists(tc, "t") {
		t.Fatalf("deletion started during the reassignment (started %v)", started)
	}
	leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3})
	tc.waitFor("the topic znode to go", func() bool { return !topicExists(tc, "t") })
}

// ListPartitionReassignments lists a reassignment whose topic is queued for
// deletion (processListPartitionReassignments does not filter them): the
// deletion waits for it.
func TestListReassignmentOfTopicBeingDeleted(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	alterReassignment(tc, "t", 0, []int32{1, 3})
	deleteTopic(tc, "t")
	resp := tc.c.ListPartitionReassignments(context.Background(), kmsg.NewPtrListPartitionReassignmentsRequest())
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || resp.Topics[0].Topic != "t" || len(resp.Topics[0].Partitions) != 1 ||
		!slices.Equal(resp.Topics[0].Partitions[0].AddingReplicas, []int32{3}) {
		t.Fatalf("ListPartitionReassignments: %+v", resp)
	}
}
