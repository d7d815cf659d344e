// LeaderAndIsr: API key 4, versions 0-7 (controller to broker).
//
// Makes this broker leader or follower of the partitions the controller
// names and points followers at the live leaders. A stale broker epoch (v2+,
// KIP-380) or controller epoch fails the whole request; an older leader
// epoch fails the partition with STALE_CONTROLLER_EPOCH. The first request
// starts the high watermark checkpoints. v1 adds IsNew (KIP-112), v2 groups
// partitions by topic, v3 adds adding/removing replicas (KIP-455), v5 topic
// ids and the request type with a per-topic response (KIP-516), v6 the
// leader recovery state (KIP-704), v7 IsKRaftController (KIP-866).
//
// IsNew is honoured as LogManager.getOrCreateLog does: a replica without a
// log and not IsNew is refused with KAFKA_STORAGE_ERROR while a log dir is
// offline. A v0 request has no IsNew (false); Kafka halts the broker on a
// log dir failure under IBP < 1.0 instead, which ZooKeeper-mode 3.9
// clusters do not run.
//
// Deviations from Kafka 3.9: adding/removing replicas, the leader
// recovery state and IsKRaftController are ignored (no ZK-to-KRaft
// migration), and a FULL request type does not remove stray local logs.

package broker

import (
	"net"
	"strconv"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleLeaderAndIsr makes this broker leader or follower of the partitions
// the controller names. Requests from an older controller epoch are refused;
// a partition state whose leader epoch is older than the one we hold is
// refused with STALE_CONTROLLER_EPOCH, as Kafka's ReplicaManager does; the
// same epoch with a partition epoch (zk version) not older updates the ISR.
func (s *Server) handleLeaderAndIsr(req *kmsg.LeaderAndISRRequest) kmsg.Response {
	s.stateChangeMu.Lock()
	defer s.stateChangeMu.Unlock()
	resp := req.ResponseKind().(*kmsg.LeaderAndISRResponse)
	// KafkaApis checks the broker epoch before anything else.
	if req.Version >= 2 && s.brokerEpochStale(req.BrokerEpoch) {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	if !s.acceptControllerEpoch(req.ControllerEpoch) {
		resp.ErrorCode = kerr.StaleControllerEpoch.Code
		return resp
	}
	leaders := map[int32]string{} // the live leaders the request names, for the fetchers
	for _, l := range req.LiveLeaders {
		leaders[l.BrokerID] = net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
	}
	configured := map[string]bool{} // one topic config read per topic, before its logs exist
	apply := func(topic string, id [16]byte, p kmsg.LeaderAndISRRequestTopicPartition) int16 {
		// Partition.createLogIfNotExists -> LogManager.getOrCreateLog
		// (fetchLogConfig): ZooKeeper is read only for a log the broker
		// does not host yet; a hosted partition's config is kept current
		// by the config change notifications, so its LeaderAndIsr never
		// waits on ZooKeeper (nor do the requests queued behind it).
		if _, hosted := s.replicas.get(topic, p.Partition); !hosted && !configured[topic] {
			configured[topic] = true
			if err := s.replicas.refreshTopicConfig(topic); err != nil {
				s.logger.Warn("topic config not applied", "topic", topic, "err", err)
			}
			if err := s.refreshTopicThrottles(topic); err != nil {
				s.logger.Warn("topic throttles not applied", "topic", topic, "err", err)
			}
		}
		err := s.replicas.applyLeaderAndIsr(topic, id, partitionState{
			Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.ZKVersion,
			ISR: p.ISR, Replicas: p.Replicas, LeaderAddr: leaders[p.Leader], IsNew: p.IsNew,
		}, s.cfg.BrokerID)
		if err != nil {
			return protocol.ErrorCode(err)
		}
		return 0
	}
	for _, p := range req.PartitionStates {
		resp.Partitions = append(resp.Partitions, kmsg.LeaderAndISRResponseTopicPartition{
			Topic: p.Topic, Partition: p.Partition, ErrorCode: apply(p.Topic, [16]byte{}, p),
		})
	}
	for _, t := range req.TopicStates {
		rt := kmsg.LeaderAndISRResponseTopic{TopicID: t.TopicID}
		for _, p := range t.PartitionStates {
			rp := kmsg.LeaderAndISRResponseTopicPartition{Topic: t.Topic, Partition: p.Partition, ErrorCode: apply(t.Topic, t.TopicID, p)}
			if req.Version >= 5 {
				rt.Partitions = append(rt.Partitions, rp)
			} else {
				resp.Partitions = append(resp.Partitions, rp)
			}
		}
		if req.Version >= 5 {
			resp.Topics = append(resp.Topics, rt)
		}
	}
	// The HW checkpoint starts after the first LeaderAndIsr read it
	// (ReplicaManager.becomeLeaderOrFollower).
	s.replicas.startHighWatermarkCheckpoints()
	return resp
}
