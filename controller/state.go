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
}

func newClusterState() *clusterState {
	return &clusterState{
		liveBrokers:   map[int32]zkmeta.BrokerInfo{},
		topics:        map[string]zkmeta.TopicAssignment{},
		topicVersions: map[string]int32{},
		partitions:    map[topicPartition]zkmeta.LeaderAndIsr{},
		deleting:      map[string]bool{},
	}
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
