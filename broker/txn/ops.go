package txn

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// InitProducerID is TransactionCoordinator.handleInitProducerId for a
// non-empty transactional id (the idempotent path without one stays in
// the broker). expectedProducerID/expectedEpoch are the KIP-360 fields,
// both -1 when absent. On error the producer id and epoch are -1.
func (c *Coordinator) InitProducerID(ctx context.Context, txnID string, txnTimeoutMs int32, expectedProducerID int64, expectedEpoch int16) (producerID int64, epoch int16, err *kerr.Error) {
	fail := func(e *kerr.Error) (int64, int16, *kerr.Error) { return noProducerID, noProducerEpoch, e }
	if txnID == "" {
		return fail(kerr.InvalidRequest)
	}
	// KafkaApis.handleInitProducerIdRequest: exactly one of the two is -1.
	hasExpected := expectedProducerID != noProducerID || expectedEpoch != noProducerEpoch
	if hasExpected && (expectedProducerID == noProducerID || expectedEpoch == noProducerEpoch) {
		return fail(kerr.InvalidRequest)
	}
	// TransactionStateManager.validateTransactionTimeoutMs.
	if txnTimeoutMs <= 0 || int64(txnTimeoutMs) > c.cfg.MaxTimeout.Milliseconds() {
		return fail(kerr.InvalidTransactionTimeout)
	}
	coordEpoch, m, kerrr := c.lookup(txnID, nil)
	if kerrr != nil {
		return fail(kerrr)
	}
	if m == nil {
		pid, perr := c.pids(ctx)
		if perr != nil {
			return fail(producerIDError(perr))
		}
		// A new id: epoch -1, written as epoch 0 by the bump below; it is
		// cached before anything is logged (putIfNotExists).
		coordEpoch, m, kerrr = c.lookup(txnID, func() *txnMetadata {
			return newMetadata(txnID, pid, txnTimeoutMs, c.nowMs())
		})
		if kerrr != nil {
			return fail(kerrr)
		}
	}

	m.mu.Lock()
	t, fence, kerrr := c.prepareInitProducerIDTransit(ctx, m, txnTimeoutMs, expectedProducerID, expectedEpoch, hasExpected)
	if kerrr != nil {
		m.mu.Unlock()
		return fail(kerrr)
	}
	if fence {
		// An open transaction of an older producer instance: fence it by
		// aborting with the bumped epoch (endTransaction with isFromClient
		// false). The fence and the PrepareAbort are prepared under one
		// lock hold. The caller retries and gets CONCURRENT_TRANSACTIONS
		// until the abort completes.
		abort, aerr := m.applyEpochFence(t, c.nowMs())
		m.mu.Unlock()
		if aerr != nil {
			c.logger.Error("fencing a transactional id", "transactional_id", txnID, "err", aerr)
			return fail(kerr.UnknownServerError)
		}
		if e := c.writePrepareAndSendMarkers(ctx, m, coordEpoch, abort, false, true); e != nil {
			return fail(e)
		}
		return fail(kerr.ConcurrentTransactions)
	}
	m.mu.Unlock()
	if e := c.appendTransition(ctx, m, coordEpoch, t, nil); e != nil {
		return fail(e)
	}
	return t.producerID, t.producerEpoch, nil
}

// producerIDError is the error of a failed producer-id allocation
// (Errors.forException).
func producerIDError(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	return kerr.UnknownServerError
}

// prepareInitProducerIDTransit is
// TransactionCoordinator.prepareInitProducerIdTransit; m.mu is held.
// fence reports a PrepareEpochFence transit.
func (c *Coordinator) prepareInitProducerIDTransit(ctx context.Context, m *txnMetadata, timeoutMs int32, expectedPID int64, expectedEpoch int16, hasExpected bool) (t transit, fence bool, err *kerr.Error) {
	if m.hasPending {
		return transit{}, false, kerr.ConcurrentTransactions
	}
	// isValidProducerId: a just-created id, the current producer id, or
	// the previous one with an exhausted epoch (a retry after a rotation).
	if hasExpected && !(m.producerEpoch == noProducerEpoch || expectedPID == m.producerID ||
		(expectedPID == m.lastProducerID && isEpochExhausted(expectedEpoch))) {
		return transit{}, false, kerr.ProducerFenced
	}
	now := c.nowMs()
	var perr error
	switch m.state {
	case PrepareAbort, PrepareCommit:
		// The client retries until the markers complete.
		return transit{}, false, kerr.ConcurrentTransactions
	case Empty, CompleteCommit, CompleteAbort:
		if isEpochExhausted(m.producerEpoch) && (!hasExpected || expectedEpoch == m.producerEpoch) {
			pid, err := c.pids(ctx)
			if err != nil {
				return transit{}, false, producerIDError(err)
			}
			t, perr = m.prepareProducerIDRotation(pid, timeoutMs, now, hasExpected)
		} else {
			t, perr = m.prepareIncrementProducerEpoch(timeoutMs, expectedEpoch, hasExpected, now)
		}
	case Ongoing:
		t, perr = m.prepareFenceProducerEpoch(now)
		fence = true
	default: // Dead, PrepareEpochFence: always behind a pending state
		perr = illegal("transactional id %s in unexpected state %v", m.id, m.state)
	}
	if perr == errFencedEpoch {
		return transit{}, false, kerr.ProducerFenced
	}
	if perr != nil {
		c.logger.Error("preparing InitProducerId", "transactional_id", m.id, "err", perr)
		return transit{}, false, kerr.UnknownServerError
	}
	return t, fence, nil
}

// applyEpochFence turns a prepared PrepareEpochFence transit into the
// abort of TransactionCoordinator.endTransaction: the pending fence is
// cleared, the bumped epoch is enforced in memory before anything is
// written (lastProducerEpoch -1), then PrepareAbort is prepared. m.mu is
// held.
func (m *txnMetadata) applyEpochFence(fence transit, nowMs int64) (transit, error) {
	m.hasPending = false
	m.producerEpoch = fence.producerEpoch
	m.lastProducerEpoch = noProducerEpoch
	return m.prepareAbortOrCommit(PrepareAbort, nowMs)
}

// AddPartitions is TransactionCoordinator.handleAddPartitionsToTransaction:
// one error for every partition.
func (c *Coordinator) AddPartitions(ctx context.Context, txnID string, producerID int64, epoch int16, parts []TopicPartition) *kerr.Error {
	if txnID == "" {
		return kerr.InvalidRequest
	}
	coordEpoch, m, kerrr := c.lookup(txnID, nil)
	if kerrr != nil {
		return kerrr
	}
	if m == nil {
		return kerr.InvalidProducerIDMapping
	}
	m.mu.Lock()
	switch {
	case m.producerID != producerID:
		m.mu.Unlock()
		return kerr.InvalidProducerIDMapping
	case m.producerEpoch != epoch:
		m.mu.Unlock()
		return kerr.ProducerFenced
	case m.hasPending, m.state == PrepareCommit, m.state == PrepareAbort:
		m.mu.Unlock()
		return kerr.ConcurrentTransactions
	case m.state == Ongoing && m.containsAll(parts):
		m.mu.Unlock()
		return nil
	}
	t, err := m.prepareAddPartitions(parts, c.nowMs())
	m.mu.Unlock()
	if err != nil {
		c.logger.Error("preparing AddPartitionsToTxn", "transactional_id", txnID, "err", err)
		return kerr.UnknownServerError
	}
	return c.appendTransition(ctx, m, coordEpoch, t, nil)
}

func (m *txnMetadata) containsAll(parts []TopicPartition) bool {
	for _, tp := range parts {
		if _, ok := m.partitions[tp]; !ok {
			return false
		}
	}
	return true
}

// VerifyPartitions is TransactionCoordinator.handleVerifyPartitionsInTransaction
// (KIP-890 part 1, AddPartitionsToTxn v4 VerifyOnly): per partition NONE
// when it is in the transaction, TRANSACTION_ABORTABLE otherwise; nothing is
// written. The pending state is not checked, as in Kafka.
func (c *Coordinator) VerifyPartitions(txnID string, producerID int64, epoch int16, parts []TopicPartition) map[TopicPartition]*kerr.Error {
	all := func(e *kerr.Error) map[TopicPartition]*kerr.Error {
		out := make(map[TopicPartition]*kerr.Error, len(parts))
		for _, tp := range parts {
			out[tp] = e
		}
		return out
	}
	if txnID == "" {
		return all(kerr.InvalidRequest)
	}
	_, m, kerrr := c.lookup(txnID, nil)
	if kerrr != nil {
		return all(kerrr)
	}
	if m == nil {
		return all(kerr.InvalidProducerIDMapping)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.producerID != producerID:
		return all(kerr.InvalidProducerIDMapping)
	case m.producerEpoch != epoch:
		return all(kerr.ProducerFenced)
	case m.state == PrepareCommit, m.state == PrepareAbort:
		return all(kerr.ConcurrentTransactions)
	}
	out := make(map[TopicPartition]*kerr.Error, len(parts))
	for _, tp := range parts {
		if _, ok := m.partitions[tp]; ok {
			out[tp] = nil
		} else {
			out[tp] = kerr.TransactionAbortable
		}
	}
	return out
}

// EndTxn is TransactionCoordinator.endTransaction from a client: NONE as
// soon as PrepareCommit/PrepareAbort is written; the markers and the
// CompleteCommit/CompleteAbort record follow asynchronously, and requests
// meanwhile get CONCURRENT_TRANSACTIONS.
func (c *Coordinator) EndTxn(ctx context.Context, txnID string, producerID int64, epoch int16, commit bool) *kerr.Error {
	if txnID == "" {
		return kerr.InvalidRequest
	}
	coordEpoch, m, kerrr := c.lookup(txnID, nil)
	if kerrr != nil {
		return kerrr
	}
	if m == nil {
		return kerr.InvalidProducerIDMapping
	}
	m.mu.Lock()
	t, proceed, kerrr := c.decideEndTxn(m, producerID, epoch, commit)
	m.mu.Unlock()
	if !proceed {
		return kerrr
	}
	return c.writePrepareAndSendMarkers(ctx, m, coordEpoch, t, commit, false)
}

// decideEndTxn is phase A of TransactionCoordinator.endTransaction for a
// client request; m.mu is held. proceed reports a prepared
// PrepareCommit/PrepareAbort to write; otherwise err is the answer (nil:
// NONE, a retry of a finished transaction).
func (c *Coordinator) decideEndTxn(m *txnMetadata, producerID int64, epoch int16, commit bool) (t transit, proceed bool, err *kerr.Error) {
	switch {
	case m.producerID != producerID:
		return transit{}, false, kerr.InvalidProducerIDMapping
	case epoch != m.producerEpoch:
		return transit{}, false, kerr.ProducerFenced
	case m.hasPending && m.pending != PrepareEpochFence:
		return transit{}, false, kerr.ConcurrentTransactions
	}
	target := PrepareAbort
	if commit {
		target = PrepareCommit
	}
	switch m.state {
	case Ongoing:
		if m.hasPending { // PrepareEpochFence pending: a fence in progress
			return transit{}, false, kerr.ConcurrentTransactions
		}
		var perr error
		t, perr = m.prepareAbortOrCommit(target, c.nowMs())
		if perr != nil {
			c.logger.Error("preparing EndTxn", "transactional_id", m.id, "err", perr)
			return transit{}, false, kerr.UnknownServerError
		}
		return t, true, nil
	case CompleteCommit:
		if commit {
			return transit{}, false, nil
		}
	case CompleteAbort:
		if !commit {
			return transit{}, false, nil
		}
	case PrepareCommit:
		if commit {
			return transit{}, false, kerr.ConcurrentTransactions
		}
	case PrepareAbort:
		if !commit {
			return transit{}, false, kerr.ConcurrentTransactions
		}
	}
	return transit{}, false, kerr.InvalidTxnState
}

// writePrepareAndSendMarkers is phases B and C of
// TransactionCoordinator.endTransaction: write the prepared
// PrepareCommit/PrepareAbort t, then re-check, prepare the completion and
// hand the markers to the sender. epochFence marks the abort of a fence
// (InitProducerId or the timeout task): a failed write sets
// hasFailedEpochFence so that the next fence reuses the bumped epoch.
func (c *Coordinator) writePrepareAndSendMarkers(ctx context.Context, m *txnMetadata, coordEpoch int32, t transit, commit, epochFence bool) *kerr.Error {
	if e := c.appendTransition(ctx, m, coordEpoch, t, nil); e != nil {
		if epochFence && c.stillOwned(m, coordEpoch) {
			m.mu.Lock()
			m.hasFailedEpochFence = true
			m.mu.Unlock()
		}
		return e
	}
	if !c.stillOwned(m, coordEpoch) {
		return kerr.NotCoordinator
	}
	m.mu.Lock()
	want := PrepareAbort
	if commit {
		want = PrepareCommit
	}
	var kerrr *kerr.Error
	switch {
	case m.producerID != t.producerID:
		kerrr = kerr.InvalidProducerIDMapping
	case m.producerEpoch != t.producerEpoch:
		kerrr = kerr.ProducerFenced
	case m.hasPending:
		kerrr = kerr.ConcurrentTransactions
	case m.state != want:
		kerrr = kerr.InvalidTxnState
	}
	if kerrr != nil {
		m.mu.Unlock()
		return kerrr
	}
	complete, err := m.prepareComplete(c.nowMs())
	req := MarkerRequest{
		TransactionalID: m.id, ProducerID: m.producerID, ProducerEpoch: m.producerEpoch,
		CoordinatorEpoch: coordEpoch, Commit: commit, TxnPartition: c.PartitionFor(m.id),
		Partitions: m.partitionList(),
	}
	m.mu.Unlock()
	if err != nil {
		c.logger.Error("preparing the completion of a transaction", "transactional_id", m.id, "err", err)
		return kerr.UnknownServerError
	}
	c.sendMarkers(req, m, complete)
	return nil
}

// TransactionDescription is one transactional id as DescribeTransactions
// answers it.
type TransactionDescription struct {
	TransactionalID string
	State           State
	TimeoutMs       int32
	StartTimestamp  int64
	ProducerID      int64
	ProducerEpoch   int16
	Partitions      []TopicPartition // sorted by topic then partition
}

// DescribeTransaction is TransactionCoordinator.handleDescribeTransactions
// for one id.
func (c *Coordinator) DescribeTransaction(txnID string) (TransactionDescription, *kerr.Error) {
	if !c.isActive() {
		return TransactionDescription{}, kerr.CoordinatorNotAvailable
	}
	if txnID == "" {
		return TransactionDescription{}, kerr.InvalidRequest
	}
	_, m, kerrr := c.lookup(txnID, nil)
	if kerrr != nil {
		return TransactionDescription{}, kerrr
	}
	if m == nil {
		return TransactionDescription{}, kerr.TransactionalIDNotFound
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state == Dead {
		return TransactionDescription{}, kerr.TransactionalIDNotFound
	}
	return TransactionDescription{
		TransactionalID: txnID, State: m.state, TimeoutMs: m.timeoutMs, StartTimestamp: m.startTimestamp,
		ProducerID: m.producerID, ProducerEpoch: m.producerEpoch, Partitions: m.partitionList(),
	}, nil
}

// TransactionListing is one transactional id as ListTransactions answers it.
type TransactionListing struct {
	TransactionalID string
	ProducerID      int64
	State           State
}

// ListTransactions is TransactionStateManager.listTransactionStates:
// COORDINATOR_LOAD_IN_PROGRESS while any partition loads; unknown state
// names are returned in unknownStates (and a non-empty filter of only
// unknown names matches nothing); Dead is never listed; minDurationMs < 0
// is no duration filter, else only transactions started more than
// minDurationMs ago. The list is sorted by transactional id.
func (c *Coordinator) ListTransactions(states []string, producerIDs []int64, minDurationMs int64) (list []TransactionListing, unknownStates []string, err *kerr.Error) {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	if !c.active {
		return nil, nil, kerr.CoordinatorNotAvailable
	}
	if len(c.loading) > 0 {
		return nil, nil, kerr.CoordinatorLoadInProgress
	}
	filterStates := map[State]bool{}
	for _, name := range states {
		if s, ok := StateFromName(name); ok {
			filterStates[s] = true
		} else {
			unknownStates = append(unknownStates, name)
		}
	}
	filterPIDs := map[int64]bool{}
	for _, pid := range producerIDs {
		filterPIDs[pid] = true
	}
	now := c.nowMs()
	list = []TransactionListing{}
	for _, pc := range c.caches {
		for _, m := range pc.all() {
			m.mu.Lock()
			include := m.state != Dead &&
				(len(filterPIDs) == 0 || filterPIDs[m.producerID]) &&
				(len(states) == 0 || filterStates[m.state]) &&
				(minDurationMs < 0 || now-m.startTimestamp > minDurationMs)
			if include {
				list = append(list, TransactionListing{TransactionalID: m.id, ProducerID: m.producerID, State: m.state})
			}
			m.mu.Unlock()
		}
	}
	sortListings(list)
	return list, unknownStates, nil
}

func (c *Coordinator) isActive() bool {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	return c.active
}
