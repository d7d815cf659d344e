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
	// replicaDeletion is each replica's progress in its topic's deletion
	// (Kafka's ReplicaDeletionStarted/Successful/Ineligible); absent means
	// not started.
	replicaDeletion map[partitionReplica]deletionState
	// deletionHalted holds topics whose deletion waits for a broker holding
	// one of their replicas to start (Kafka's topicsIneligibleForDeletion).
	deletionHalted map[string]bool
	// offlineReplicas holds, per broker, the partitions whose replica it
	// reported KAFKA_STORAGE_ERROR for (Kafka's replicasOnOfflineDirs),
	// until the broker restarts or reports it healthy.
	offlineReplicas map[int32]map[topicPartition]bool
	// malformedStates holds partitions whose state znode exists but could
	// not be decoded: they get no election and no requests (their state
	// znode is never overwritten) until the controller loads them again.
	malformedStates map[topicPartition]bool
	// malformedTopics holds topics skipped for a malformed assignment
	// znode; a watch on the znode loads them once it changes.
	malformedTopics map[string]bool
	// lastConfigChange is the sequence number of the last
	// /config/changes notification read (-1: none).
	lastConfigChange int64
	// uncleanDefault is the broker default of
	// unclean.leader.election.enable, dynamic configs included.
	uncleanDefault bool
}

// partitionReplica names one replica of one partition.
type partitionReplica struct {
	tp      topicPartition
	replica int32
}

// deletionState is a replica's state in its topic's deletion.
type deletionState int8

const (
	deletionStarted    deletionState = iota + 1 // StopReplica(delete) sent, no answer yet
	deletionSuccessful                          // the broker deleted it
	deletionIneligible                          // failed, or its broker is down: retried when the broker starts
)

func newClusterState() *clusterState {
	return &clusterState{
		liveBrokers:    map[int32]zkmeta.BrokerInfo{},
		topics:         map[string]zkmeta.TopicAssignment{},
		topicVersions:  map[string]int32{},
		partitions:     map[topicPartition]zkmeta.LeaderAndIsr{},
		deleting:       map[string]bool{},
		shuttingDown:   map[int32]bool{},
		legacyReassign: map[topicPartition][]int32{},

		replicaDeletion: map[partitionReplica]deletionState{},
		deletionHalted:  map[string]bool{},
		offlineReplicas: map[int32]map[topicPartition]bool{},
		malformedStates: map[topicPartition]bool{},
		malformedTopics: map[string]bool{},

		lastConfigChange: -1,
	}
}

// isEligible reports whether a broker may lead or join an ISR: live and not
// in controlled shutdown (Kafka's isReplicaOnline without shutting-down
// brokers).
func (s *clusterState) isEligible(id int32) bool {
	return s.isLive(id) && !s.shuttingDown[id]
}

// isReplicaOnline is Kafka's ControllerContext.isReplicaOnline: the broker
// is live, not shutting down, and has not reported the replica's log
// directory offline.
func (s *clusterState) isReplicaOnline(id int32, tp topicPartition) bool {
	return s.isEligible(id) && !s.offlineReplicas[id][tp]
}

// onlineFor is isReplicaOnline for one partition, for the elections.
func (s *clusterState) onlineFor(tp topicPartition) func(int32) bool {
	return func(id int32) bool { return s.isReplicaOnline(id, tp) }
}

// replicaGone reports whether a replica is lost to its partition: its
// broker is not live or its log directory is offline (shutting-down
// brokers still count, their controlled shutdown moves them out).
func (s *clusterState) replicaGone(id int32, tp topicPartition) bool {
	return !s.isLive(id) || s.offlineReplicas[id][tp]
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
