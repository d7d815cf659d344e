package controller

import (
	"slices"
	"sort"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// topicPartition names one partition.
type topicPartition struct {
	Topic     string
	Partition int32
}

// clusterState is the controller's copy of what ZooKeeper holds (Kafka's
// ControllerContext): live brokers, topic assignments and partition states.
type clusterState struct {
	liveBrokers map[int32]zkmeta.BrokerInfo
	topics      map[string]zkmeta.TopicAssignment
	// topicVersions are the /brokers/topics/<t> znode versions, for CAS.
	topicVersions map[string]int32
	partitions    map[topicPartition]zkmeta.LeaderAndIsr
	// deleting holds topics whose deletion is under way.
	deleting map[string]bool
	// shuttingDown holds brokers in controlled shutdown: live, but never
	// elected leader nor admitted to an ISR until they deregister.
	shuttingDown map[int32]bool
	// legacyReassign holds the targets of reassignments that came from the
	// /admin/reassign_partitions znode (removed from it when done).
	legacyReassign map[topicPartition][]int32
}

func newClusterState() *clusterState {
	return &clusterState{
		liveBrokers:    map[int32]zkmeta.BrokerInfo{},
		topics:         map[string]zkmeta.TopicAssignment{},
		topicVersions:  map[string]int32{},
		partitions:     map[topicPartition]zkmeta.LeaderAndIsr{},
		deleting:       map[string]bool{},
		shuttingDown:   map[int32]bool{},
		legacyReassign: map[topicPartition][]int32{},
	}
}

// isEligible reports whether a broker may lead or join an ISR: live and not
// in controlled shutdown (Kafka's isReplicaOnline without shutting-down
// brokers).
func (s *clusterState) isEligible(id int32) bool {
	return s.isLive(id) && !s.shuttingDown[id]
}

// reassigning reports whether a partition has a reassignment under way.
func (s *clusterState) reassigning(tp topicPartition) bool {
	a := s.topics[tp.Topic]
	return len(a.AddingReplicas[tp.Partition]) > 0 || len(a.RemovingReplicas[tp.Partition]) > 0
}

func (s *clusterState) isLive(id int32) bool {
	_, ok := s.liveBrokers[id]
	return ok
}

func (s *clusterState) liveBrokerIDs() []int32 {
	ids := make([]int32, 0, len(s.liveBrokers))
	for id := range s.liveBrokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *clusterState) replicas(tp topicPartition) []int32 {
	return s.topics[tp.Topic].Partitions[tp.Partition]
}

// partitionsOf lists a topic's partitions in order.
func (s *clusterState) partitionsOf(topic string) []topicPartition {
	a := s.topics[topic]
	out := make([]topicPartition, 0, len(a.Partitions))
	for p := range a.Partitions {
		out = append(out, topicPartition{topic, p})
	}
	sortPartitions(out)
	return out
}

// allPartitions lists every partition with an assignment, in order.
func (s *clusterState) allPartitions() []topicPartition {
	var out []topicPartition
	for t := range s.topics {
		out = append(out, s.partitionsOf(t)...)
	}
	sortPartitions(out)
	return out
}

func sortPartitions(tps []topicPartition) {
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
}
