// Produce: API key 0, versions 0-11.
//
// Appends each partition's batches to the leader's log. acks=1 answers after
// the local append, acks=all waits in purgatory until the HW passes the
// batch or the timeout ends, acks=0 sends nothing and closes the connection
// on failure. v0-v2 message sets (magic 0/1) are up-converted to one v2
// batch; v3+ (KIP-98) take exactly one magic 2 batch, zstd only from v7
// (KIP-110). Idempotent sequences are checked per producer. v5 returns the
// log start offset (KIP-107), v8 error messages (KIP-467), v10 the current
// leader on NOT_LEADER_OR_FOLLOWER (KIP-951); v11 (KIP-890) lets a failed
// transaction verification answer TRANSACTION_ABORTABLE (older versions get
// INVALID_TXN_STATE).
//
// Transactions (KIP-98): transactional batches need the request's
// transactional id and WRITE on it, else the whole request is
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; transactional batches of more than
// one producer id and epoch make it INVALID_PRODUCER_ID_MAPPING. With
// transaction.partition.verification.enable (KIP-890 part 1) a batch that
// would start a transaction on a partition is appended only once the
// transaction coordinator confirmed the partition is in the transaction
// (txn_verify.go); a retriable verification failure is answered
// NOT_ENOUGH_REPLICAS so every client retries.
//
// Only record validation failures (a keyless record on a compacted topic, a
// timestamp outside message.timestamp.before/after.max.ms) and failed
// verifications carry a message and, from v8, the record errors (KIP-467);
// internal topics take appends only from the admin client id.
//
// Deviations from Kafka 3.9: a producer's batch flagged LogAppendTime is
// accepted; a whole-request error lists the partitions in request order
// (Kafka: hash order).

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
	// KafkaApis.handleProduceRequest: transactional records need the
	// request's transactional id with WRITE on it.
	if produceHasTransactionalRecords(req) &&
		(req.TransactionID == nil || !s.authorize(ctx, opWrite, resTransactionalID, *req.TransactionID)) {
		return produceErrorResponse(req, kerr.TransactionalIDAuthorizationFailed.Code, nil)
	}
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
		// ReplicaManager.handleProduceAppend: one transactional producer per request.
		txn, err := transactionalProducer(entries)
		if err != nil {
			msg := err.Error()
			return produceErrorResponse(req, kerr.InvalidProducerIDMapping.Code, &msg)
		}
		if txn.found {
			s.verifyTransactionalEntries(ctx, req, txn, entries)
		}
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
	out.ErrorMessage = e.errMessage
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

// produceErrorResponse is ProduceRequest.getErrorResponse: every partition
// of the request answered code, with no offsets.
func produceErrorResponse(req *kmsg.ProduceRequest, code int16, msg *string) *kmsg.ProduceResponse {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	for _, rt := range req.Topics {
		respTopic := kmsg.ProduceResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			out := kmsg.NewProduceResponseTopicPartition()
			out.Partition, out.ErrorCode, out.ErrorMessage = rp.Partition, code, msg
			out.BaseOffset, out.LogAppendTime, out.LogStartOffset = -1, -1, -1
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	return resp
}

// batchInfo is what the produce path reads of a v2 batch header
// (DefaultRecordBatch): its producer and whether it is transactional.
type batchInfo struct {
	producerID    int64
	producerEpoch int16
	baseSequence  int32
	transactional bool
}

// eachBatchInfo calls fn for every complete magic 2 batch header of
// records, in order, as MemoryRecords.batches() iterates: it stops at an
// incomplete batch; older magics carry no producer.
func eachBatchInfo(records []byte, fn func(batchInfo)) {
	const (
		logOverhead      = 12
		headerSize       = 61 // RECORD_BATCH_OVERHEAD
		magicOffset      = 16
		attributesOffset = 21
		producerIDOffset = 43
		epochOffset      = 51
		sequenceOffset   = 53
		transactionalBit = 0x10
	)
	for pos := 0; len(records)-pos >= logOverhead; {
		rest := records[pos:]
		size := int64(int32(binary.BigEndian.Uint32(rest[8:12])))
		if size < 0 || int64(len(rest)) < size+logOverhead {
			return
		}
		if len(rest) >= headerSize && rest[magicOffset] == 2 {
			fn(batchInfo{
				producerID:    int64(binary.BigEndian.Uint64(rest[producerIDOffset:])),
				producerEpoch: int16(binary.BigEndian.Uint16(rest[epochOffset:])),
				baseSequence:  int32(binary.BigEndian.Uint32(rest[sequenceOffset:])),
				transactional: binary.BigEndian.Uint16(rest[attributesOffset:])&transactionalBit != 0,
			})
		}
		pos += int(size) + logOverhead
	}
}

// produceHasTransactionalRecords is RequestUtils.hasTransactionalRecords:
// any batch of any partition is transactional.
func produceHasTransactionalRecords(req *kmsg.ProduceRequest) bool {
	found := false
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			eachBatchInfo(rp.Records, func(b batchInfo) { found = found || b.transactional })
		}
	}
	return found
}

// txnProducer is the one transactional producer of a produce request.
type txnProducer struct {
	found         bool
	producerID    int64
	producerEpoch int16
}

// transactionalProducer is ReplicaManager.handleProduceAppend's check:
// the transactional batches (with a producer id) of the partitions to
// append must all be of one producer id and epoch, else
// InvalidPidMappingException answers the whole request. Each entry with
// transactional batches is marked, with its first batch's base sequence.
func transactionalProducer(entries []produceEntry) (txnProducer, error) {
	var out txnProducer
	multiple := false
	for i := range entries {
		e := &entries[i]
		first := true
		eachBatchInfo(e.records, func(b batchInfo) {
			if first {
				e.baseSequence, first = b.baseSequence, false
			}
			if !b.transactional || b.producerID < 0 {
				return
			}
			e.transactional = true
			switch {
			case !out.found:
				out = txnProducer{found: true, producerID: b.producerID, producerEpoch: b.producerEpoch}
			case out.producerID != b.producerID || out.producerEpoch != b.producerEpoch:
				multiple = true
			}
		})
	}
	if multiple {
		return txnProducer{}, errors.New("Transactional records contained more than one producer ID")
	}
	return out, nil
}

// verifyTransactionalEntries is
// ReplicaManager.maybeStartTransactionVerificationForPartitions and its
// postVerificationCallback (KIP-890 part 1): each partition the producer
// has no ongoing transaction on gets a verification guard from its log,
// and the transaction coordinator must confirm the partition is in the
// transaction before the batch is appended. Failed partitions get their
// error and are not appended. Nothing is verified without a transactional
// id or with transaction.partition.verification.enable false.
func (s *Server) verifyTransactionalEntries(ctx context.Context, req *kmsg.ProduceRequest, txn txnProducer, entries []produceEntry) {
	if req.TransactionID == nil || !s.transactionVerificationEnabled() || s.txnVerifier == nil {
		return
	}
	failed := verifyResult{}
	var need []topicPartition
	index := map[topicPartition]int{}
	for i := range entries {
		e := &entries[i]
		if !e.transactional {
			continue
		}
		tp := topicPartition{e.topic, e.partition}
		index[tp] = i
		p, err := s.replicas.partitionOrError(e.topic, e.partition)
		var guard storage.VerificationGuard
		if err == nil {
			guard, err = p.maybeStartTransactionVerification(txn.producerID, e.baseSequence, txn.producerEpoch)
		}
		switch {
		case err != nil:
			failed[tp] = protocol.ErrorCode(err)
		case guard != 0:
			e.guard = guard
			need = append(need, tp)
		}
	}
	if len(need) > 0 {
		done := make(chan verifyResult, 1)
		// Produce v11+ understands TRANSACTION_ABORTABLE
		// (transactionSupportedOperation genericError).
		s.txnVerifier.verifyTransaction(*req.TransactionID, txn.producerID, txn.producerEpoch, need, req.Version > 10,
			func(r verifyResult) { done <- r })
		select {
		case r := <-done:
			for tp, code := range r {
				failed[tp] = code
			}
		case <-ctx.Done():
			for _, tp := range need {
				failed[tp] = kerr.NetworkException.Code
			}
		}
	}
	for tp, code := range failed {
		e := &entries[index[tp]]
		e.guard = 0
		e.err, e.errMessage = verificationError(code)
		e.result = appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: -1, logAppendTime: -1}
	}
}
