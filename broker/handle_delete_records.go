package broker

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// deleteRecordsToHighWatermark is DeleteRecords' offset meaning "up to the
// high watermark" (Kafka's DeleteRecordsRequest.HIGH_WATERMARK).
const deleteRecordsToHighWatermark = -1

// handleDeleteRecords moves each partition's log start offset forward, as
// kafka-delete-records.sh asks: segments wholly below it are deleted, and
// reads below it get OFFSET_OUT_OF_RANGE. Only the leader serves it; an
// offset above the high watermark is OFFSET_OUT_OF_RANGE.
func (s *Server) handleDeleteRecords(req *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	for _, rt := range req.Topics {
		out := kmsg.DeleteRecordsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			r := kmsg.NewDeleteRecordsResponseTopicPartition()
			r.Partition = rp.Partition
			low, err := s.deleteRecords(rt.Topic, rp.Partition, rp.Offset)
			if err != nil {
				r.LowWatermark = -1
				r.ErrorCode = errorCode(err)
			} else {
				r.LowWatermark = low
			}
			out.Partitions = append(out.Partitions, r)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// deleteRecords checks as Kafka does, in its order: the metadata cache
// (KafkaApis.handleDeleteRecordsRequest), internal topics and the
// partition's state (ReplicaManager.deleteRecordsOnLocalLog), leadership,
// cleanup.policy and the offset (Partition.deleteRecordsOnLeader).
func (s *Server) deleteRecords(topic string, partition int32, offset int64) (int64, error) {
	if !s.cache.containsPartition(topic, partition) {
		return 0, kerr.UnknownTopicOrPartition
	}
	if zkmeta.IsInternalTopic(topic) {
		return 0, kerr.InvalidTopicException
	}
	p, err := s.replicas.leaderPartition(topic, partition)
	if err != nil {
		return 0, err
	}
	if !p.log.Config().Delete() {
		return 0, kerr.PolicyViolation
	}
	hw := p.highWatermark()
	if offset == deleteRecordsToHighWatermark {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return 0, kerr.OffsetOutOfRange
	}
	low, err := s.logs.DeleteRecordsBefore(topic, partition, offset)
	if errors.Is(err, storage.ErrOffsetOutOfRange) {
		return 0, kerr.OffsetOutOfRange
	}
	if err != nil {
		s.logger.Error("delete records failed", "topic", topic, "partition", partition, "err", err)
		return 0, kerr.KafkaStorageError
	}
	return low, nil
}
