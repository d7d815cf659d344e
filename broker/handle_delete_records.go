// DeleteRecords (key 21) v0-2: moves partitions' log start offset forward
// (KIP-107); -1 means the high watermark. Only the leader serves it;
// internal topics are INVALID_TOPIC_EXCEPTION, non-delete cleanup policies
// POLICY_VIOLATION, offsets above the high watermark OFFSET_OUT_OF_RANGE.
// A partition asked twice is answered once with the last offset. The low
// watermark (smallest log start of live replicas) is awaited up to
// timeout_ms as DelayedDeleteRecords does; a partition still behind is
// REQUEST_TIMED_OUT. v1 only adds throttle behaviour (KIP-219), v2 is
// flexible (KIP-482).
// Authorization: DELETE on each topic, checked by aclGate (acl_checks.go).

package broker

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
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
//
// KafkaApis.handleDeleteRecordsRequest keys the partitions by
// topic-partition: one asked twice is answered once, with the last offset
// asked, and each topic has one entry. ReplicaManager.deleteRecords answers
// each partition's low watermark (the smallest log start offset of its
// live replicas) and, when one is still below its requested offset, waits
// as DelayedDeleteRecords for the followers to move theirs, up to
// timeout_ms: a partition still behind is then REQUEST_TIMED_OUT with the
// low watermark first answered.
func (s *Server) handleDeleteRecords(ctx context.Context, req *kmsg.DeleteRecordsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteRecordsResponse)
	type asked struct {
		tp     topicPartition
		offset int64
	}
	var all []asked
	index := map[topicPartition]int{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			tp := topicPartition{rt.Topic, rp.Partition}
			if i, ok := index[tp]; ok {
				all[i].offset = rp.Offset
				continue
			}
			index[tp] = len(all)
			all = append(all, asked{tp, rp.Offset})
		}
	}
	results := make([]kmsg.DeleteRecordsResponseTopicPartition, len(all))
	var pending []pendingDeleteRecords
	for i, a := range all {
		r := kmsg.NewDeleteRecordsResponseTopicPartition()
		r.Partition = a.tp.Partition
		r.LowWatermark = -1
		p, requested, err := s.deleteRecords(a.tp.Topic, a.tp.Partition, a.offset)
		var low int64
		if err == nil {
			low, err = p.lowWatermarkIfLeader()
		}
		switch {
		case err != nil:
			r.ErrorCode = protocol.ErrorCode(err)
		case low < requested:
			r.LowWatermark, r.ErrorCode = low, kerr.RequestTimedOut.Code
			pending = append(pending, pendingDeleteRecords{p: p, required: requested, result: i})
		default:
			r.LowWatermark = low
		}
		results[i] = r
	}
	if len(pending) > 0 {
		s.awaitLowWatermarks(ctx, pending, time.Duration(req.TimeoutMillis)*time.Millisecond, results)
	}
	topics := map[string]int{}
	for i, a := range all {
		t, ok := topics[a.tp.Topic]
		if !ok {
			t = len(resp.Topics)
			topics[a.tp.Topic] = t
			resp.Topics = append(resp.Topics, kmsg.DeleteRecordsResponseTopic{Topic: a.tp.Topic})
		}
		resp.Topics[t].Partitions = append(resp.Topics[t].Partitions, results[i])
	}
	return resp
}

// pendingDeleteRecords is one partition of a DeleteRecords waiting for its
// low watermark to reach the requested offset.
type pendingDeleteRecords struct {
	p        *partition
	required int64
	result   int // index in the results
}

// awaitLowWatermarks is the DeleteRecords purgatory (Kafka's
// DelayedDeleteRecords): woken by the partitions (follower fetches moving
// their log start, role changes) and a slow tick, it completes a partition
// when its low watermark reaches the requested offset, or with the error
// that stops it (NOT_LEADER_OR_FOLLOWER, KAFKA_STORAGE_ERROR,
// UNKNOWN_TOPIC_OR_PARTITION, low watermark -1). What is still waiting when
// timeout passes keeps REQUEST_TIMED_OUT.
func (s *Server) awaitLowWatermarks(ctx context.Context, pending []pendingDeleteRecords, timeout time.Duration, results []kmsg.DeleteRecordsResponseTopicPartition) {
	wake := make(chan struct{}, 1)
	for _, pd := range pending {
		pd.p.addWaiter(wake)
	}
	defer func() {
		for _, pd := range pending {
			pd.p.removeWaiter(wake)
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	tick := time.NewTicker(purgatoryRecheck)
	defer tick.Stop()
	for {
		// tryComplete: checked after registering so no wake-up is missed.
		rest := pending[:0:0]
		for _, pd := range pending {
			low, err := pd.p.lowWatermarkIfLeader()
			r := &results[pd.result]
			switch {
			case err != nil:
				r.ErrorCode, r.LowWatermark = protocol.ErrorCode(err), -1
			case low >= pd.required:
				r.ErrorCode, r.LowWatermark = 0, low
			default:
				rest = append(rest, pd)
			}
		}
		pending = rest
		if len(pending) == 0 {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// deleteRecords checks as Kafka does, in its order: the metadata cache
// (KafkaApis.handleDeleteRecordsRequest), internal topics and the
// partition's state (ReplicaManager.deleteRecordsOnLocalLog), leadership,
// cleanup.policy and the offset (Partition.deleteRecordsOnLeader), then
// moves the leader's log start; it returns the partition and the requested
// offset (the high watermark for -1).
func (s *Server) deleteRecords(topic string, index int32, offset int64) (*partition, int64, error) {
	if !s.cache.containsPartition(topic, index) {
		return nil, 0, kerr.UnknownTopicOrPartition
	}
	if zkmeta.IsInternalTopic(topic) {
		return nil, 0, kerr.InvalidTopicException
	}
	p, err := s.replicas.leaderPartition(topic, index)
	if err != nil {
		return nil, 0, err
	}
	if !p.log.Config().Delete() {
		return nil, 0, kerr.PolicyViolation
	}
	hw := p.highWatermark()
	if offset == deleteRecordsToHighWatermark {
		offset = hw
	}
	if offset < 0 || offset > hw {
		return nil, 0, kerr.OffsetOutOfRange
	}
	if _, err := s.logs.DeleteRecordsBefore(topic, index, offset); err != nil {
		if !errors.Is(err, storage.ErrOffsetOutOfRange) {
			s.logger.Error("delete records failed", "topic", topic, "partition", index, "err", err)
		}
		return nil, 0, err
	}
	return p, offset, nil
}
