package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// produceEntry is one partition's records of a produce request and, once
// appendRecords returns, its outcome (Kafka's PartitionResponse).
type produceEntry struct {
	topic     string
	partition int32
	records   []byte
	// topicIndex and partitionIndex locate the partition in the response.
	topicIndex, partitionIndex int

	// transactional: the records hold a transactional batch; baseSequence
	// is the first batch's; guard is the verification guard of a batch
	// that starts a transaction here (KIP-890, 0: none).
	transactional bool
	baseSequence  int32
	guard         storage.VerificationGuard

	result appendResult // offsets -1 when err is set
	err    error
	// errMessage is a custom message for err (a failed verification).
	errMessage *string
}

// appendRecords appends each entry's records to the partition this broker
// leads (ReplicaManager.appendRecords / appendToLocalLog) and, with acks=all
// (-1), waits in the produce purgatory until the HW covers each append,
// bounded by timeout. legacy marks Produce v0-v2, whose message sets of
// magic 0 or 1 the log up-converts; an empty one appends nothing and
// answers offset -1 (UnifiedLog.append). acks was validated by the caller.
// Each entry's result and err are set.
func (rm *replicaManager) appendRecords(ctx context.Context, timeout time.Duration, acks int16, legacy, internalTopicsAllowed bool, entries []produceEntry) {
	var pending []pendingAck
	for i := range entries {
		e := &entries[i]
		if e.err != nil {
			continue // refused before the append (transaction verification)
		}
		var p *partition
		var res appendResult
		var err error
		if zkmeta.IsInternalTopic(e.topic) && !internalTopicsAllowed {
			// appendToLocalLog: only the admin client's id may write to an
			// internal topic.
			err = fmt.Errorf("%w: cannot append to internal topic %s", kerr.InvalidTopicException, e.topic)
		} else {
			p, res, err = rm.appendToLocalLog(e.topic, e.partition, e.records, acks, legacy, e.guard)
		}
		if err != nil {
			// No offsets (LogAppendInfo.UNKNOWN_LOG_APPEND_INFO), but the
			// log start offset for a failure other than the known ones.
			e.result = appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: rm.failedAppendLogStart(e.topic, e.partition, err), logAppendTime: -1}
			e.err = err
			continue
		}
		e.result = res
		if acks == -1 {
			pending = append(pending, pendingAck{p: p, required: res.lastOffset + 1, leaderEpoch: res.leaderEpoch, entry: e})
		}
	}
	if len(pending) > 0 {
		rm.awaitReplication(ctx, pending, timeout)
	}
}

// appendToLocalLog appends one partition's records as its leader. Errors
// without a Kafka code are unexpected and logged (appendToLocalLog: "Error
// processing append operation").
func (rm *replicaManager) appendToLocalLog(topic string, partition int32, records []byte, acks int16, legacy bool, guard storage.VerificationGuard) (*partition, appendResult, error) {
	p, err := rm.leaderPartition(topic, partition)
	if err != nil {
		return nil, appendResult{}, err
	}
	if legacy && len(records) == 0 {
		return p, appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: p.log.LogStartOffset(), logAppendTime: -1,
			leaderEpoch: p.currentLeaderEpoch()}, nil
	}
	res, err := p.appendRecordsToLeaderVerified(records, acks, legacy, rm.nowMs(), guard)
	if err != nil {
		var ke *kerr.Error
		if !errors.As(err, &ke) {
			rm.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		}
		return nil, appendResult{}, err
	}
	return p, res, nil
}

// failedAppendLogStart is the log start offset a failed append answers
// (ReplicaManager.appendToLocalLog): none (-1) for the known failures -
// unknown partition, not leader, too large, corrupt, storage error, an
// internal topic - and the partition's log start offset for anything
// else (processFailedRecord: NOT_ENOUGH_REPLICAS, sequence and epoch
// errors, record validation).
func (rm *replicaManager) failedAppendLogStart(topic string, partition int32, err error) int64 {
	for _, known := range []error{kerr.UnknownTopicOrPartition, kerr.NotLeaderForPartition, kerr.MessageTooLarge,
		kerr.RecordListTooLarge, kerr.CorruptMessage, kerr.KafkaStorageError, kerr.InvalidTopicException} {
		if errors.Is(err, known) {
			return -1
		}
	}
	p, ok := rm.get(topic, partition)
	if !ok || p.isOffline() {
		return -1
	}
	return p.log.LogStartOffset()
}

// clock is the replica manager's time (time.Now unless a test sets now).
func (rm *replicaManager) clock() time.Time {
	if rm.now == nil {
		return time.Now()
	}
	return rm.now()
}

func (rm *replicaManager) nowMs() int64 { return rm.clock().UnixMilli() }
