package controller

import (
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// What a broker change touches, as Kafka's onBrokerFailure and
// onBrokerStartup pick it: the partitions with a replica on the brokers,
// the replicas whose topic deletion fails with them, the reassignments
// restarted when a target replica starts (maybeResumeReassignments) and
// the deletions resumed.
func TestBrokerChangeEffects(t *testing.T) {
	s := newClusterState()
	s.topics["a"] = zkmeta.TopicAssignment{Topic: "a", Partitions: map[int32][]int32{0: {1, 2}, 1: {2, 3}}}
	s.topics["d"] = zkmeta.TopicAssignment{Topic: "d", Partitions: map[int32][]int32{0: {1, 3}, 1: {3, 1}}}
	s.deleting["d"] = true
	// r-0 moves from [1, 2] to [4, 1]: RS [4, 1, 2], adding 4, removing 2.
	s.topics["r"] = zkmeta.TopicAssignment{Topic: "r", Partitions: map[int32][]int32{0: {4, 1, 2}},
		AddingReplicas: map[int32][]int32{0: {4}}, RemovingReplicas: map[int32][]int32{0: {2}}}
	a0, a1, d0, d1, r0 := topicPartition{"a", 0}, topicPartition{"a", 1}, topicPartition{"d", 0}, topicPartition{"d", 1}, topicPartition{"r", 0}
	cases := []struct {
		name             string
		brokers          []int32
		wantPartitions   []topicPartition
		wantDeleting     []partitionReplica
		wantReassign     []topicPartition
		wantDeleteTopics []string
	}{
		{"none", nil, nil, nil, nil, nil},
		{"broker 1", []int32{1}, []topicPartition{a0, d0, d1, r0}, []partitionReplica{{d0, 1}, {d1, 1}}, []topicPartition{r0}, []string{"d"}},
		// 2 is only being removed from r-0: not a target replica.
		{"broker 2, removed by a reassignment", []int32{2}, []topicPartition{a0, a1, r0}, nil, nil, nil},
		{"broker 4, added by a reassignment", []int32{4}, []topicPartition{r0}, nil, []topicPartition{r0}, nil},
		{"brokers 3 and 1", []int32{3, 1}, []topicPartition{a0, a1, d0, d1, r0},
			[]partitionReplica{{d0, 1}, {d0, 3}, {d1, 3}, {d1, 1}}, []topicPartition{r0}, []string{"d"}},
		{"an unknown broker", []int32{9}, nil, nil, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := s.partitionsOnBrokers(c.brokers); !slices.Equal(got, c.wantPartitions) {
				t.Errorf("partitionsOnBrokers = %v, want %v", got, c.wantPartitions)
			}
			if got := s.deletingReplicasOn(c.brokers); !slices.Equal(got, c.wantDeleting) {
				t.Errorf("deletingReplicasOn = %v, want %v", got, c.wantDeleting)
			}
			if got := s.reassignmentsTargeting(c.brokers); !slices.Equal(got, c.wantReassign) {
				t.Errorf("reassignmentsTargeting = %v, want %v", got, c.wantReassign)
			}
			if got := s.deletingTopicsOn(c.brokers); !slices.Equal(got, c.wantDeleteTopics) {
				t.Errorf("deletingTopicsOn = %v, want %v", got, c.wantDeleteTopics)
			}
		})
	}
}
