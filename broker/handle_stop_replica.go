// StopReplica: API key 5, versions 0-4 (controller to broker).
//
// Stops serving the named partitions and, when asked, deletes their logs
// (topic deletion, reassignment away from this broker). A stale broker
// epoch (v1+, KIP-380) or controller epoch fails the whole request; a
// failed partition reports its own error (KAFKA_STORAGE_ERROR for a log
// that is offline or cannot be deleted).
// v2 is flexible, v3 moves the delete flag per partition and adds the
// leader epoch that fences stale requests (KIP-570), v4 IsKRaftController
// (KIP-866).
//
// Deviations from Kafka 3.9: IsKRaftController is ignored, as ZooKeeper to
// KRaft migration is not built.

package broker

import (
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleStopReplica stops serving the named partitions and, when asked,
// deletes their logs (topic deletion, reassignment away from this broker).
// A request for an earlier life of this broker is refused with
// STALE_BROKER_EPOCH, one from an older controller with STALE_CONTROLLER_EPOCH.
func (s *Server) handleStopReplica(req *kmsg.StopReplicaRequest) kmsg.Response {
	s.stateChangeMu.Lock()
	defer s.stateChangeMu.Unlock()
	resp := req.ResponseKind().(*kmsg.StopReplicaResponse)
	if req.Version >= 1 && s.brokerEpochStale(req.BrokerEpoch) {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	if !s.acceptControllerEpoch(req.ControllerEpoch) {
		resp.ErrorCode = kerr.StaleControllerEpoch.Code
		return resp
	}
	stop := func(topic string, partition int32, del bool, leaderEpoch int32) {
		code := int16(0)
		if err := s.replicas.stopReplica(topic, partition, del, leaderEpoch); err != nil {
			s.logger.Warn("stop replica failed", "topic", topic, "partition", partition, "leader_epoch", leaderEpoch, "err", err)
			code = protocol.ErrorCode(err)
		}
		resp.Partitions = append(resp.Partitions, kmsg.StopReplicaResponsePartition{Topic: topic, Partition: partition, ErrorCode: code})
	}
	for _, t := range req.Topics {
		switch {
		case req.Version == 0:
			stop(t.Topic, t.Partition, req.DeletePartitions, noLeaderEpoch)
		case req.Version <= 2:
			for _, p := range t.Partitions {
				stop(t.Topic, p, req.DeletePartitions, noLeaderEpoch)
			}
		default:
			for _, p := range t.PartitionStates {
				stop(t.Topic, p.Partition, p.Delete, p.LeaderEpoch)
			}
		}
	}
	return resp
}
