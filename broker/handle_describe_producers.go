// DescribeProducers: API key 61, version 0 (flexible; KIP-664).
//
// Lists the active producers of each requested partition from the replica's
// producer state: producer id and epoch, last sequence, last timestamp,
// coordinator epoch and the first offset of its open transaction (-1 if
// none). Leaders and followers answer alike (Partition.activeProducerState:
// any replica with a log), which kafka-transactions.sh describe-producers
// and find-hanging rely on. An invalid topic name is INVALID_TOPIC_EXCEPTION,
// a topic without READ TOPIC_AUTHORIZATION_FAILED (aclGate's,
// acl_checks_txn.go), one unknown to the metadata cache
// UNKNOWN_TOPIC_OR_PARTITION, both with the error's default message as
// Kafka's ApiError gives it; a partition not hosted here is
// NOT_LEADER_OR_FOLLOWER if the cache knows it, else
// UNKNOWN_TOPIC_OR_PARTITION; an offline one KAFKA_STORAGE_ERROR.
// Deviations from Kafka 3.9: none known.

package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// handleDescribeProducers is KafkaApis.handleDescribeProducersRequest.
func (s *Server) handleDescribeProducers(req *kmsg.DescribeProducersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeProducersResponse)
	for _, rt := range req.Topics {
		out := kmsg.NewDescribeProducersResponseTopic()
		out.Topic = rt.Topic
		var topicErr int16
		var topicMsg *string
		switch {
		case zkmeta.ValidateTopicName(rt.Topic) != nil:
			msg := zkmeta.ValidateTopicName(rt.Topic).Error()
			topicErr, topicMsg = kerr.InvalidTopicException.Code, &msg
		default:
			if _, ok := s.cache.topic(rt.Topic); !ok {
				// new ApiError(Errors.UNKNOWN_TOPIC_OR_PARTITION): the default message.
				msg := kerr.UnknownTopicOrPartition.Description
				topicErr, topicMsg = kerr.UnknownTopicOrPartition.Code, &msg
			}
		}
		for _, part := range rt.Partitions {
			rp := kmsg.NewDescribeProducersResponseTopicPartition()
			rp.Partition = part
			if topicErr != 0 {
				rp.ErrorCode, rp.ErrorMessage = topicErr, topicMsg
			} else {
				s.activeProducerState(rt.Topic, &rp)
			}
			out.Partitions = append(out.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// activeProducerState is ReplicaManager.activeProducerState.
func (s *Server) activeProducerState(topic string, rp *kmsg.DescribeProducersResponseTopicPartition) {
	p, err := s.replicas.partitionOrError(topic, rp.Partition)
	if err != nil {
		rp.ErrorCode = protocol.ErrorCode(err)
		return
	}
	for _, ap := range p.log.ActiveProducers() {
		out := kmsg.NewDescribeProducersResponseTopicPartitionActiveProducer()
		out.ProducerID, out.ProducerEpoch, out.LastSequence = ap.ProducerID, int32(ap.ProducerEpoch), ap.LastSequence
		out.LastTimestamp, out.CoordinatorEpoch, out.CurrentTxnStartOffset = ap.LastTimestamp, ap.CoordinatorEpoch, ap.CurrentTxnStartOffset
		rp.ActiveProducers = append(rp.ActiveProducers, out)
	}
	if rp.ActiveProducers == nil {
		rp.ActiveProducers = []kmsg.DescribeProducersResponseTopicPartitionActiveProducer{}
	}
}
