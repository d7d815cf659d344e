// OffsetForLeaderEpoch: API key 23, versions 0-4.
//
// For each partition this broker leads, returns the end offset of the
// asked leader epoch: the log end for the current epoch, else the start of
// the next higher epoch, with the largest epoch not above the asked one.
// Followers use it to truncate (v0, KIP-101; v1 returns the epoch,
// KIP-279); clients to detect truncation (v2 fences on CurrentLeaderEpoch,
// KIP-320). v3 adds the replica id (KIP-392), v4 flexible versions.
//
// Authorization: CLUSTER_ACTION, else DESCRIBE on each topic, checked by
// aclGate (acl_checks.go).

package broker

import (
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleOffsetForLeaderEpoch answers, for each partition this broker leads,
// the end offset of the asked leader epoch (Kafka's
// Partition.lastOffsetForLeaderEpoch): the LEO for the current epoch, else
// the start offset of the next higher epoch, with the largest epoch <= the
// asked one. Followers use it to truncate (KIP-101, KIP-279), clients to
// detect log truncation (KIP-320). CurrentLeaderEpoch (v2+) is fenced as in
// Fetch.
func (s *Server) handleOffsetForLeaderEpoch(req *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range req.Topics {
		respTopic := kmsg.NewOffsetForLeaderEpochResponseTopic()
		respTopic.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			out := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			out.Partition = rp.Partition
			// ReplicaManager.lastOffsetForLeaderEpoch: the hosted state
			// (getPartition; the metadata cache for one not hosted), then
			// Partition.lastOffsetForLeaderEpoch with fetchOnlyFromLeader:
			// the current leader epoch, then leadership.
			p, err := s.replicas.localPartition(rt.Topic, rp.Partition, rp.CurrentLeaderEpoch, true)
			if err != nil {
				out.ErrorCode = protocol.ErrorCode(err)
			} else {
				out.LeaderEpoch, out.EndOffset = p.log.LeaderEpochs().EndOffsetFor(rp.LeaderEpoch, p.log.LogEndOffset())
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	return resp
}
