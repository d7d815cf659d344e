// Produce: API key 0, versions 0-11.
//
// Appends each partition's batches to the leader's log. acks=1 answers after
// the local append, acks=all waits in purgatory until the HW passes the
// batch or the timeout ends, acks=0 sends nothing and closes the connection
// on failure. v0-v2 message sets (magic 0/1) are up-converted to one v2
// batch; v3+ (KIP-98) take exactly one magic 2 batch, zstd only from v7
// (KIP-110). Idempotent sequences are checked per producer. v5 returns the
// log start offset (KIP-107), v8 error messages (KIP-467), v10 the current
// leader on NOT_LEADER_OR_FOLLOWER (KIP-951); v11 (KIP-890) only allows
// TRANSACTION_ABORTABLE, which is never returned here.
//
// Only record validation failures (a keyless record on a compacted topic, a
// timestamp outside message.timestamp.before/after.max.ms) carry a message
// and, from v8, the record errors (KIP-467); internal topics take appends
// only from the admin client id.
//
// Deviations from Kafka 3.9: transactions are not built, so a transactional
// produce gets TRANSACTIONAL_ID_AUTHORIZATION_FAILED; a producer's batch
// flagged LogAppendTime is accepted.

package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// adminClientID is the client id of Kafka's admin tools
// (AdminUtils.ADMIN_CLIENT_ID): a produce with it may write to internal
// topics.
const adminClientID = "__admin_client"

// handleProduce appends each partition's record batches to its log. The data
// path: socket -> protocol.ParseRequest -> here (the checks KafkaApis makes)
// -> replicaManager.appendRecords -> partition.appendRecordsToLeader ->
// storage.Log.AppendAsLeader (validation, producer state) -> the active
// segment's .log file. acks=1 answers after the local append; acks=all waits
// in the produce purgatory until the high watermark passes each batch,
// bounded by the request's timeout.
//
// internalTopicsAllowed: the request comes from the admin client's id
// (KafkaApis: clientId == "__admin_client"), which may write to internal
// topics.
func (s *Server) handleProduce(ctx context.Context, req *kmsg.ProduceRequest, internalTopicsAllowed bool) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	validAcks := req.Acks == -1 || req.Acks == 0 || req.Acks == 1
	writable := s.produceWritable(ctx, req) // KafkaApis: WRITE on each topic; nil without an authorizer
	var entries []produceEntry
	for ti, rt := range req.Topics {
		topic := rt.Topic // by name: topic ids arrive with v13, which Kafka 3.9 does not have
		respTopic := kmsg.ProduceResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			out := kmsg.NewProduceResponseTopicPartition()
			out.Partition = rp.Partition
			// A failed partition has no offsets (PartitionResponse(error),
			// LogAppendInfo.UNKNOWN_LOG_APPEND_INFO).
			out.BaseOffset = -1
			recordsErr := validateProduceRecords(req.Version, rp.Records)
			// KafkaApis.handleProduceRequest checks the metadata cache and
			// the records (validateRecords) before
			// ReplicaManager.appendRecords checks the acks.
			switch {
			case req.TransactionID != nil:
				// Transactions are not served yet: nothing advertises them.
				out.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			case topic == "":
				out.ErrorCode = kerr.UnknownTopicID.Code
			case writable != nil && !writable[topic]:
				out.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !s.cache.containsPartition(topic, rp.Partition):
				out.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case recordsErr != nil:
				out.ErrorCode = protocol.ErrorCode(recordsErr)
			case !validAcks:
				out.ErrorCode = kerr.InvalidRequiredAcks.Code
			default:
				entries = append(entries, produceEntry{topic: topic, partition: rp.Partition, records: rp.Records,
					topicIndex: ti, partitionIndex: len(respTopic.Partitions)})
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	if len(entries) > 0 {
		timeout := time.Duration(max(req.TimeoutMillis, 0)) * time.Millisecond
		s.replicas.appendRecords(ctx, timeout, req.Acks, req.Version <= 2, internalTopicsAllowed, entries)
		for i := range entries {
			e := &entries[i]
			setProduceResult(&resp.Topics[e.topicIndex].Partitions[e.partitionIndex], e)
		}
	}
	if req.Version >= 10 {
		s.addProduceCurrentLeaders(resp, sessionFrom(ctx).listener)
	}
	return resp
}

// setProduceResult writes a partition's append outcome into its response.
// Only a record validation failure carries a message and record errors
// (ReplicaManager.appendToLocalLog: hasCustomErrorMessage); any other
// error is answered by its code alone.
func setProduceResult(out *kmsg.ProduceResponseTopicPartition, e *produceEntry) {
	out.ErrorCode = protocol.ErrorCode(e.err)
	var rve *storage.RecordValidationError
	if errors.As(e.err, &rve) {
		msg := rve.Message
		out.ErrorMessage = &msg
		for _, r := range rve.Records {
			m := r.Message
			out.ErrorRecords = append(out.ErrorRecords, kmsg.ProduceResponseTopicPartitionErrorRecord{RelativeOffset: r.Index, ErrorMessage: &m})
		}
	}
	out.BaseOffset = e.result.baseOffset
	out.LogStartOffset = e.result.logStartOffset
	out.LogAppendTime = e.result.logAppendTime
}

// addProduceCurrentLeaders names, from v10, the current leader of each
// partition answered NOT_LEADER_OR_FOLLOWER and the endpoints of those
// leaders (KafkaApis.handleProduceRequest's sendResponseCallback, KIP-951).
func (s *Server) addProduceCurrentLeaders(resp *kmsg.ProduceResponse, listener string) {
	seen := map[int32]bool{}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			if rp.ErrorCode != kerr.NotLeaderForPartition.Code {
				continue
			}
			id, epoch, node := s.currentLeader(rt.Topic, rp.Partition, listener)
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = id, epoch
			if node != nil && !seen[node.ID] {
				seen[node.ID] = true
				resp.Brokers = append(resp.Brokers, kmsg.ProduceResponseBroker{NodeID: node.ID, Host: node.Host, Port: node.Port, Rack: node.Rack})
			}
		}
	}
}

// validateProduceRecords is ProduceRequest.validateRecords, which
// KafkaApis.handleProduceRequest applies before the acks and the replica
// manager: from v3 a partition's records are one magic 2 batch, not zstd
// before v7. Batches are iterated as MemoryRecords.batches() does
// (ByteBufferLogInputStream): an incomplete batch ends the iteration, a
// length below 14 or a magic above 2 is CORRUPT_MESSAGE.
func validateProduceRecords(version int16, records []byte) error {
	if version < 3 {
		return nil
	}
	const (
		logOverhead       = 12 // offset, length
		headerUpToMagic   = 17
		minRecordOverhead = 14 // LegacyRecord.RECORD_OVERHEAD_V0
		magicOffset       = 16
		attributesOffset  = 21
	)
	// next returns the size of the batch at records[pos:], 0 if none is complete.
	next := func(pos int) (int, error) {
		rest := records[pos:]
		if len(rest) < logOverhead {
			return 0, nil
		}
		size := int32(binary.BigEndian.Uint32(rest[8:12]))
		if size < minRecordOverhead {
			return 0, kerr.CorruptMessage
		}
		if len(rest) < headerUpToMagic {
			return 0, nil
		}
		if magic := int8(rest[magicOffset]); magic < 0 || magic > 2 {
			return 0, kerr.CorruptMessage
		}
		if int64(len(rest)) < int64(size)+logOverhead {
			return 0, nil
		}
		return int(size) + logOverhead, nil
	}
	n, err := next(0)
	if err != nil {
		return err
	}
	if n == 0 {
		return kerr.InvalidRecord // "must have at least one record batch per partition"
	}
	if records[magicOffset] != 2 {
		return kerr.InvalidRecord // "only allowed to contain record batches with magic version 2"
	}
	if version < 7 && len(records) > attributesOffset+1 && records[attributesOffset+1]&0x07 == 4 {
		return kerr.UnsupportedCompressionType // "not allowed to use ZStandard compression"
	}
	if more, err := next(n); err != nil {
		return err
	} else if more > 0 {
		return kerr.InvalidRecord // "only allowed to contain exactly one record batch per partition"
	}
	return nil
}

// acksZeroOutcome: with acks=0 the client gets no response, so, as Kafka
// does, a failed append closes the connection to make the client notice.
func (s *Server) acksZeroOutcome(resp *kmsg.ProduceResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return fmt.Errorf("acks=0 produce to %s-%d failed: %v", t.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	return nil
}
