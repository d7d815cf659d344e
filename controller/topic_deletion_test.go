package controller

import (
	"maps"
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// deletingState is a cluster with brokers 1, 2, 3 live and topic "t", one
// partition on replicas [1, 2], queued for deletion.
func deletingState() *clusterState {
	s := oneTopicState([]int32{1, 2, 3}, []int32{1, 2}, &zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}})
	s.deleting["t"] = true
	return s
}

// The cases of Kafka's TopicDeletionManager.resumeDeletions for one topic.
func TestNextDeletionStep(t *testing.T) {
	r1, r2 := partitionReplica{topicPartition{"t", 0}, 1}, partitionReplica{topicPartition{"t", 0}, 2}
	cases := []struct {
		name     string
		replicas map[partitionReplica]deletionState
		setup    func(s *clusterState)
		want     deletionStep
	}{
		{"nothing started yet", nil, nil, deletionStepStart},
		{"every replica deleted", map[partitionReplica]deletionState{r1: deletionSuccessful, r2: deletionSuccessful}, nil, deletionStepComplete},
		{"a deletion in flight", map[partitionReplica]deletionState{r1: deletionSuccessful, r2: deletionStarted}, nil, deletionStepInFlight},
		{"a failed replica is retried", map[partitionReplica]deletionState{r1: deletionSuccessful, r2: deletionIneligible}, nil, deletionStepStart},
		{"halted until a broker holding a replica starts", map[partitionReplica]deletionState{r2: deletionIneligible},
			func(s *clusterState) { s.deletionHalted["t"] = true }, deletionStepHalted},
		{"waits for a reassignment of the topic", nil, func(s *clusterState) {
			a := s.topics["t"]
			a.Partitions[0] = []int32{3, 1, 2}
			a.AddingReplicas = map[int32][]int32{0: {3}}
			a.RemovingReplicas = map[int32][]int32{0: {2}}
			s.topics["t"] = a
		}, deletionStepHalted},
		{"in flight wins over halted", map[partitionReplica]deletionState{r1: deletionStarted},
			func(s *clusterState) { s.deletionHalted["t"] = true }, deletionStepInFlight},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := deletingState()
			maps.Copy(s.replicaDeletion, c.replicas)
			if c.setup != nil {
				c.setup(s)
			}
			if got := nextDeletionStep(s, "t"); got != c.want {
				t.Fatalf("step = %d, want %d", got, c.want)
			}
		})
	}
}

// The cases of Kafka's onPartitionDeletion: online replicas not yet deleted
// get StopReplica(delete), offline ones become ineligible.
func TestReplicaDeletionMoves(t *testing.T) {
	tp := topicPartition{"t", 0}
	cases := []struct {
		name           string
		setup          func(s *clusterState)
		wantStart      map[int32][]topicPartition
		wantIneligible []partitionReplica
	}{
		{"all online", nil, map[int32][]topicPartition{1: {tp}, 2: {tp}}, nil},
		{"a broker down", func(s *clusterState) { delete(s.liveBrokers, 2) },
			map[int32][]topicPartition{1: {tp}}, []partitionReplica{{tp, 2}}},
		{"a broker shutting down", func(s *clusterState) { s.shuttingDown[2] = true },
			map[int32][]topicPartition{1: {tp}}, []partitionReplica{{tp, 2}}},
		{"a log directory offline", func(s *clusterState) { s.offlineReplicas[1] = map[topicPartition]bool{tp: true} },
			map[int32][]topicPartition{2: {tp}}, []partitionReplica{{tp, 1}}},
		{"a replica already deleted is left alone, down or not", func(s *clusterState) {
			s.replicaDeletion[partitionReplica{tp, 1}] = deletionSuccessful
			delete(s.liveBrokers, 1)
		}, map[int32][]topicPartition{2: {tp}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := deletingState()
			if c.setup != nil {
				c.setup(s)
			}
			start, ineligible := replicaDeletionMoves(s, []topicPartition{tp})
			if !maps.EqualFunc(start, c.wantStart, slices.Equal) || !slices.Equal(ineligible, c.wantIneligible) {
				t.Fatalf("start %v ineligible %v, want %v %v", start, ineligible, c.wantStart, c.wantIneligible)
			}
		})
	}
}
