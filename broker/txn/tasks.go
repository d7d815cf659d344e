package txn

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// abortTimedOutTransactions is TransactionCoordinator.abortTimedOutTransactions:
// every Ongoing transaction without a pending transition whose start plus
// timeout has passed is fenced (epoch bumped, or reused after a failed
// fence) and aborted, so the timed-out producer's next request is
// PRODUCER_FENCED.
func (c *Coordinator) abortTimedOutTransactions() {
	now := c.nowMs()
	type candidate struct {
		m          *txnMetadata
		pid        int64
		coordEpoch int32
	}
	var cands []candidate
	c.stateMu.RLock()
	for _, pc := range c.caches {
		for _, m := range pc.all() {
			m.mu.Lock()
			// TransactionStateManager.timedOutTransactions.
			if m.state == Ongoing && !m.hasPending && m.startTimestamp+int64(m.timeoutMs) < now {
				cands = append(cands, candidate{m, m.producerID, pc.coordinatorEpoch})
			}
			m.mu.Unlock()
		}
	}
	c.stateMu.RUnlock()
	for _, cd := range cands {
		if c.ctx.Err() != nil {
			return
		}
		m := cd.m
		if !c.stillOwned(m, cd.coordEpoch) {
			continue
		}
		m.mu.Lock()
		if m.producerID != cd.pid || m.hasPending || m.state != Ongoing {
			m.mu.Unlock()
			c.logger.Debug("skipping the abort of a timed-out transaction", "transactional_id", m.id)
			continue
		}
		fence, err := m.prepareFenceProducerEpoch(now)
		var abort transit
		if err == nil {
			abort, err = m.applyEpochFence(fence, now)
		}
		m.mu.Unlock()
		if err != nil {
			c.logger.Error("fencing a timed-out transaction", "transactional_id", m.id, "err", err)
			continue
		}
		c.logger.Info("aborting a timed-out transaction", "transactional_id", m.id, "producer_id", abort.producerID, "producer_epoch", abort.producerEpoch)
		switch e := c.writePrepareAndSendMarkers(c.ctx, m, cd.coordEpoch, abort, false, true); e {
		case nil:
		case kerr.InvalidProducerIDMapping, kerr.ProducerFenced, kerr.ConcurrentTransactions:
			c.logger.Debug("aborting a timed-out transaction failed", "transactional_id", m.id, "err", e)
		default:
			c.logger.Warn("aborting a timed-out transaction failed", "transactional_id", m.id, "err", e)
		}
	}
}

// removeExpiredTransactionalIDs is
// TransactionStateManager.removeExpiredTransactionalIds: an id in Empty,
// CompleteCommit or CompleteAbort with no pending transition, last updated
// at least transactional.id.expiration.ms ago, gets a tombstone and leaves
// the cache (pending Dead meanwhile); a failed tombstone keeps it.
func (c *Coordinator) removeExpiredTransactionalIDs() {
	if c.cfg.IDExpiration <= 0 {
		return
	}
	now := c.nowMs()
	expireBefore := now - c.cfg.IDExpiration.Milliseconds()
	type expiring struct {
		m          *txnMetadata
		pc         *partitionCache
		partition  int32
		coordEpoch int32
		epoch      int16
	}
	var exp []expiring
	c.stateMu.RLock()
	for p, pc := range c.caches {
		for _, m := range pc.all() {
			m.mu.Lock()
			if m.state.expirationAllowed() && !m.hasPending && m.lastUpdateTimestamp <= expireBefore {
				if _, err := m.prepareDead(); err == nil {
					exp = append(exp, expiring{m, pc, p, pc.coordinatorEpoch, m.producerEpoch})
				}
			}
			m.mu.Unlock()
		}
	}
	c.stateMu.RUnlock()
	for _, e := range exp {
		err := c.store.Append(c.ctx, e.partition, e.coordEpoch, EncodeKey(e.m.id), nil, c.cfg.RequestTimeout)
		m := e.m
		c.stateMu.RLock()
		sameEpoch := c.caches[e.partition] == e.pc
		m.mu.Lock()
		if sameEpoch && err == nil && m.hasPending && m.pending == Dead && m.producerEpoch == e.epoch {
			e.pc.mu.Lock()
			if e.pc.ids[m.id] == m {
				delete(e.pc.ids, m.id)
			}
			e.pc.mu.Unlock()
			c.logger.Info("removed expired transactional id", "transactional_id", m.id)
		} else {
			c.logger.Warn("failed to remove expired transactional id", "transactional_id", m.id, "err", err)
			if m.hasPending && m.pending == Dead {
				m.hasPending = false
			}
		}
		m.mu.Unlock()
		c.stateMu.RUnlock()
	}
}
