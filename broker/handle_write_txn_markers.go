// WriteTxnMarkers: API key 27, versions 0-1 (v1 flexible, KIP-482).
//
// The transaction coordinator's request to a partition leader to end a
// producer's transaction on its partitions (KIP-98): each marker becomes one
// control batch (COMMIT or ABORT with the coordinator epoch) appended as
// leader with acks=-1; the answer comes once every append is replicated to
// the ISR, failed (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS,
// INVALID_PRODUCER_EPOCH for a marker older than the producer's epoch,
// TRANSACTION_COORDINATOR_FENCED for an older coordinator epoch) or timed
// out (request.timeout.ms). A partition this broker does not host is
// UNKNOWN_TOPIC_OR_PARTITION. A marker on a __consumer_offsets partition
// then completes the producer's transactional offset commits in the group
// coordinator. The LSO moves and waiting read_committed fetches wake.
// The cluster authorization (ALTER, else CLUSTER_ACTION) is aclGate's.
//
// Deviations from Kafka 3.9: results are grouped per producer id in request
// order (Kafka: hash order); the append timeout is request.timeout.ms's
// default, 30 s; UNSUPPORTED_FOR_MESSAGE_FORMAT never occurs (every log is
// magic 2, as Kafka's with inter.broker.protocol.version 3.0+).

package broker

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// markerAppend is one partition's marker append and its outcome.
type markerAppend struct {
	marker int // index in the request
	tp     topicPartition
	entry  produceEntry
}

// handleWriteTxnMarkers is KafkaApis.handleWriteTxnMarkersRequest.
func (s *Server) handleWriteTxnMarkers(ctx context.Context, req *kmsg.WriteTxnMarkersRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	if len(req.Markers) == 0 {
		return resp
	}
	var appends []*markerAppend
	var pending []pendingAck
	now := s.replicas.nowMs()
	for mi, m := range req.Markers {
		for _, t := range m.Topics {
			for _, part := range t.Partitions {
				a := &markerAppend{marker: mi, tp: topicPartition{t.Topic, part}}
				a.entry.result = appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: -1, logAppendTime: -1}
				appends = append(appends, a)
				// ReplicaManager.getMagic: only a partition hosted here
				// online has a log to write to.
				p, ok := s.replicas.get(t.Topic, part)
				if !ok || p.isOffline() {
					a.entry.err = kerr.UnknownTopicOrPartition
					continue
				}
				res, err := p.appendEndTxnMarker(storage.EndTxnMarker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch,
					CoordinatorEpoch: m.CoordinatorEpoch, Commit: m.Committed, Timestamp: now}, now)
				if err != nil {
					var ke *kerr.Error
					if !errors.As(err, &ke) {
						s.logger.Error("transaction marker append failed", "topic", t.Topic, "partition", part, "producer_id", m.ProducerID, "err", err)
					}
					a.entry.err = err
					continue
				}
				a.entry.result = res
				// requiredAcks -1: the marker must reach the ISR.
				pending = append(pending, pendingAck{p: p, required: res.lastOffset + 1, leaderEpoch: res.leaderEpoch, entry: &a.entry})
			}
		}
	}
	if len(pending) > 0 {
		s.replicas.awaitReplication(ctx, pending, txnRequestTimeout)
	}
	// KafkaApis.maybeSendResponseCallback: the markers written to
	// __consumer_offsets materialise (commit) or drop (abort) the
	// producer's pending offsets.
	codes := make([]int16, len(appends))
	for i, a := range appends {
		codes[i] = protocol.ErrorCode(a.entry.err)
	}
	if s.groups != nil { // GroupCoordinator.onTransactionCompleted
		for mi, m := range req.Markers {
			var parts []int32
			for i, a := range appends {
				if a.marker == mi && a.tp.Topic == offsetsTopic && codes[i] == 0 {
					parts = append(parts, a.tp.Partition)
				}
			}
			if len(parts) > 0 {
				s.groups.CompleteTransaction(m.ProducerID, m.ProducerEpoch, parts, m.Committed)
			}
		}
	}
	// WriteTxnMarkersResponse: one result per producer id, its partitions'
	// errors merged across the request's markers.
	for i, a := range appends {
		pid := req.Markers[a.marker].ProducerID
		mi := slices.IndexFunc(resp.Markers, func(r kmsg.WriteTxnMarkersResponseMarker) bool { return r.ProducerID == pid })
		if mi < 0 {
			r := kmsg.NewWriteTxnMarkersResponseMarker()
			r.ProducerID = pid
			resp.Markers = append(resp.Markers, r)
			mi = len(resp.Markers) - 1
		}
		rm := &resp.Markers[mi]
		ti := slices.IndexFunc(rm.Topics, func(t kmsg.WriteTxnMarkersResponseMarkerTopic) bool { return t.Topic == a.tp.Topic })
		if ti < 0 {
			t := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			t.Topic = a.tp.Topic
			rm.Topics = append(rm.Topics, t)
			ti = len(rm.Topics) - 1
		}
		rt := &rm.Topics[ti]
		pi := slices.IndexFunc(rt.Partitions, func(p kmsg.WriteTxnMarkersResponseMarkerTopicPartition) bool { return p.Partition == a.tp.Partition })
		if pi >= 0 {
			rt.Partitions[pi].ErrorCode = codes[i] // a later marker's outcome replaces it (putAll)
			continue
		}
		p := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
		p.Partition, p.ErrorCode = a.tp.Partition, codes[i]
		rt.Partitions = append(rt.Partitions, p)
	}
	return resp
}
