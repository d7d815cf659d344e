package broker

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// produceEntry is one partition's records of a produce request and, once
// appendRecords returns, its outcome (Kafka's PartitionResponse).
type produceEntry struct {
	topic     string
	partition int32
	records   []byte
	// topicIndex and partitionIndex locate the partition in the response.
	topicIndex, partitionIndex int

	result appendResult // offsets -1 when err is set
	err    error
}

// appendRecords appends each entry's records to the partition this broker
// leads (ReplicaManager.appendRecords / appendToLocalLog) and, with acks=all
// (-1), waits in the produce purgatory until the HW covers each append,
// bounded by timeout. legacy marks Produce v0-v2, whose message sets of
// magic 0 or 1 the log up-converts; an empty one appends nothing and
// answers offset -1 (UnifiedLog.append). acks was validated by the caller.
// Each entry's result and err are set.
func (rm *replicaManager) appendRecords(ctx context.Context, timeout time.Duration, acks int16, legacy bool, entries []produceEntry) {
	var pending []pendingAck
	for i := range entries {
		e := &entries[i]
		p, res, err := rm.appendToLocalLog(e.topic, e.partition, e.records, acks, legacy)
		if err != nil {
			// No offsets (PartitionResponse(error),
			// LogAppendInfo.UNKNOWN_LOG_APPEND_INFO).
			e.result = appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: -1, logAppendTime: -1}
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
func (rm *replicaManager) appendToLocalLog(topic string, partition int32, records []byte, acks int16, legacy bool) (*partition, appendResult, error) {
	p, err := rm.leaderPartition(topic, partition)
	if err != nil {
		return nil, appendResult{}, err
	}
	if legacy && len(records) == 0 {
		return p, appendResult{baseOffset: -1, lastOffset: -1, logStartOffset: p.log.LogStartOffset(), logAppendTime: -1,
			leaderEpoch: p.currentLeaderEpoch()}, nil
	}
	res, err := p.appendRecordsToLeader(records, acks, legacy, rm.nowMs())
	if err != nil {
		var ke *kerr.Error
		if !errors.As(err, &ke) {
			rm.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		}
		return nil, appendResult{}, err
	}
	return p, res, nil
}

// clock is the replica manager's time (time.Now unless a test sets now).
func (rm *replicaManager) clock() time.Time {
	if rm.now == nil {
		return time.Now()
	}
	return rm.now()
}

func (rm *replicaManager) nowMs() int64 { return rm.clock().UnixMilli() }
