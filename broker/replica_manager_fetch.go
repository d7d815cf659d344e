package broker

import (
	"context"
	"errors"
	"time"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// fetchParams is what a fetch asks of the replica manager (Kafka's
// FetchParams).
type fetchParams struct {
	replicaID int32 // the follower's broker id; negative for a consumer
	maxWait   time.Duration
	minBytes  int64
	maxBytes  int64 // for the whole response
	// fetchOnlyLeader: a follower's fetch, or a consumer's without rack
	// awareness (before v11), must be served by the leader.
	fetchOnlyLeader bool
	// hardMaxBytesLimit: up to v2 max bytes are a hard limit; later
	// versions get at least one whole batch (KIP-74).
	hardMaxBytesLimit bool
	// readCommitted: a consumer's isolation_level 1 (Fetch v4+, KIP-98).
	readCommitted bool
}

func (fp *fetchParams) isFromFollower() bool { return fp.replicaID >= 0 }

// isolation is FetchIsolation.of: a replica reads to the log end, a
// read_committed consumer to the LSO, any other consumer to the HW.
func (fp *fetchParams) isolation() fetchIsolation {
	switch {
	case fp.isFromFollower():
		return isolationLogEnd
	case fp.readCommitted:
		return isolationTxnCommitted
	}
	return isolationHighWatermark
}

// partitionFetch is one partition of a fetch and, once read, its outcome
// (Kafka's FetchRequest.PartitionData and LogReadResult).
type partitionFetch struct {
	topic              string
	partition          int32
	fetchOffset        int64
	currentLeaderEpoch int32 // negative: not given
	lastFetchedEpoch   int32 // negative: not given (or before v12)
	followerLogStart   int64 // the follower's log start offset
	maxBytes           int64 // the partition's limit

	// The outcome of the last read.
	err              error // answered with no offsets
	highWatermark    int64
	lastStableOffset int64
	logStartOffset   int64
	// abortedTxns are the aborted transactions overlapping the read, for
	// a read_committed fetch (nil otherwise: answered null).
	abortedTxns    []storage.AbortedTxn
	diverged       bool // the fetcher's log diverged: truncate to divergingEpoch's end
	divergingEpoch int32
	divergingEnd   int64
	records        protocol.FileRange
}

// fetchMessages reads every partition (ReplicaManager.fetchMessages) and
// long-polls: it answers once the bytes read reach minBytes, a partition
// has an error or a diverging epoch, or maxWait passes; until then an
// append to, or a HW move of, one of the partitions wakes it to read again.
// A follower's fetch position is recorded by the first read only.
func (rm *replicaManager) fetchMessages(ctx context.Context, params fetchParams, parts []partitionFetch) {
	// Nothing to read (a consumer closing its fetch session sends no
	// partitions; or every partition was refused before): answered at once,
	// as ReplicaManager.fetchMessages does for empty fetchInfos.
	if len(parts) == 0 {
		return
	}
	deadline := rm.clock().Add(params.maxWait)
	wake := make(chan struct{}, 1)
	var waitingOn []*partition
	defer func() {
		for _, p := range waitingOn {
			p.removeWaiter(wake)
		}
	}()
	registered := false
	for first := true; ; first = false {
		total, found, hasError := rm.readFromLog(params, parts, first)
		if total >= params.minBytes || hasError || !rm.clock().Before(deadline) {
			return
		}
		// Long poll (DelayedFetch): wait for an append to one of the
		// partitions, or the deadline.
		if !registered {
			for _, p := range found {
				p.addWaiter(wake)
			}
			waitingOn, registered = found, true
			continue // re-read once registered, so no append is missed
		}
		timer := time.NewTimer(deadline.Sub(rm.clock()))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		if ctx.Err() != nil {
			return
		}
	}
}

// readFromLog reads each partition once (ReplicaManager.readFromLog),
// honouring the fetch's and each partition's byte limits, and sets each
// partition's outcome. It returns the bytes read, the partitions found
// (to wait on) and whether any partition has an error or diverged.
//
// A follower's fetch reads up to the leader's LEO and, if
// updateFetchState, reports the follower's position
// (Partition.updateFollowerFetchState), which moves the HW and may propose
// an ISR expansion to the AlterPartition manager. A consumer's reads up to
// the HW. Either gets a diverging epoch when its last fetched epoch does
// not end where it is fetching (KIP-320).
func (rm *replicaManager) readFromLog(params fetchParams, parts []partitionFetch, updateFetchState bool) (int64, []*partition, bool) {
	remaining := params.maxBytes
	var total int64
	var found []*partition
	hasError := false
	leaderQuota := rm.fetchers.quotas.leader
	now := rm.clock()
	for i := range parts {
		fp := &parts[i]
		fp.records = protocol.FileRange{}
		fp.diverged = false
		fp.abortedTxns = nil
		p, err := rm.localPartition(fp.topic, fp.partition, fp.currentLeaderEpoch, params.fetchOnlyLeader)
		if err != nil {
			fp.err, hasError = err, true
			continue
		}
		found = append(found, p)
		if fp.lastFetchedEpoch >= 0 {
			epoch, end, diverged, err := p.divergingEpoch(fp.lastFetchedEpoch, fp.fetchOffset)
			if err != nil {
				fp.err, hasError = err, true
				continue
			}
			if diverged {
				fp.err = nil
				fp.diverged, fp.divergingEpoch, fp.divergingEnd = true, epoch, end
				fp.highWatermark = p.highWatermark()
				fp.lastStableOffset = p.lastStableOffset()
				fp.logStartOffset = p.log.LogStartOffset()
				hasError = true // answer at once
				continue
			}
		}
		// ReplicaManager.readFromLog: at least one whole batch for the
		// first partition with data, unless max bytes are a hard limit.
		minOneMessage := total == 0 && !params.hardMaxBytesLimit
		slice, leo, err := p.readRecords(fp.fetchOffset, min(fp.maxBytes, remaining), params.isolation(), minOneMessage)
		// ReplicaManager.shouldLeaderThrottle: a throttled replica out of
		// the ISR gets no records while the leader quota is exceeded.
		if err == nil && params.isFromFollower() && leaderQuota.isThrottled(fp.topic, fp.partition) &&
			!p.inISR(params.replicaID) && leaderQuota.isQuotaExceeded(now) {
			slice.Size = 0
		}
		if params.isFromFollower() && updateFetchState && err == nil {
			alter, ferr := p.followerFetch(params.replicaID, fp.fetchOffset, fp.followerLogStart, leo, rm.nowMs(), rm.isLive(params.replicaID))
			if ferr != nil {
				fp.err, hasError = ferr, true
				continue
			}
			if alter != nil {
				rm.logger.Info("expanding ISR", "topic", fp.topic, "partition", fp.partition, "new_isr", alter.newISR)
				rm.alter.submit(alter)
			}
		}
		fp.err = err
		fp.highWatermark = p.highWatermark()
		// Every fetch answers the LSO (ReplicaManager.readFromLocalLog:
		// offsetSnapshot.lastStableOffset), whatever its isolation.
		fp.lastStableOffset = p.lastStableOffset()
		fp.logStartOffset = p.log.LogStartOffset()
		if err == nil && params.isolation() == isolationTxnCommitted {
			// LocalLog.read with includeAbortedTxns: an empty read lists
			// none (emptyFetchDataInfo), a read of records those it overlaps.
			if fp.abortedTxns, err = p.abortedTransactions(fp.fetchOffset, slice); err != nil {
				fp.err = err
			}
		}
		if err != nil {
			if !errors.Is(err, storage.ErrOffsetOutOfRange) {
				rm.logger.Error("fetch read failed", "topic", fp.topic, "partition", fp.partition, "err", err)
			}
			hasError = true
			continue
		}
		if slice.Size > 0 {
			fp.records = protocol.FileRange{File: slice.File, Offset: slice.Pos, Size: slice.Size}
			total += slice.Size
			remaining -= slice.Size
		}
	}
	return total, found, hasError
}

// getLogConfig is ReplicaManager.getLogConfig: the settings of the log of
// a partition hosted here online; ok is false for any other.
func (rm *replicaManager) getLogConfig(topic string, partition int32) (storage.LogConfig, bool) {
	p, ok := rm.get(topic, partition)
	if !ok || p.isOffline() {
		return storage.LogConfig{}, false
	}
	return p.log.Config(), true
}
