package txn

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
)

// sendMarkers is TransactionMarkerChannelManager.addTxnMarkersToSend: the
// markers of a transaction whose completion (complete, pending on m) is
// written once every partition has its marker. A transaction without
// partitions completes at once (maybeWriteTxnCompletion).
func (c *Coordinator) sendMarkers(req MarkerRequest, m *txnMetadata, complete transit) {
	done := func() {
		c.goTracked(func() { c.writeTxnCompletion(req, m, complete) })
	}
	if len(req.Partitions) == 0 {
		done()
		return
	}
	c.markers.Send(req, done)
}

// writeTxnCompletion is TransactionMarkerChannelManager.writeTxnCompletion
// and tryAppendToLog: write CompleteCommit/CompleteAbort if still the
// coordinator at the marker's epoch. COORDINATOR_NOT_AVAILABLE keeps the
// pending state and is retried (txnLogAppendRetryQueue); NOT_COORDINATOR
// and COORDINATOR_LOAD_IN_PROGRESS give up (the new coordinator redoes the
// markers from the log).
func (c *Coordinator) writeTxnCompletion(req MarkerRequest, m *txnMetadata, complete transit) {
	if c.ctx.Err() != nil {
		return
	}
	if !c.stillOwned(m, req.CoordinatorEpoch) {
		c.logger.Info("no longer the coordinator of a transaction whose markers were written; the new coordinator completes it",
			"transactional_id", m.id, "coordinator_epoch", req.CoordinatorEpoch)
		return
	}
	retry := func(e *kerr.Error) bool { return e == kerr.CoordinatorNotAvailable }
	err := c.appendTransition(c.ctx, m, req.CoordinatorEpoch, complete, retry)
	switch err {
	case nil:
		c.logger.Debug("transaction completed", "transactional_id", m.id, "state", complete.state)
	case kerr.NotCoordinator, kerr.CoordinatorLoadInProgress:
		c.logger.Info("writing a transaction's completion: no longer the coordinator", "transactional_id", m.id, "err", err)
	case kerr.CoordinatorNotAvailable:
		c.logger.Warn("writing a transaction's completion failed; retrying", "transactional_id", m.id, "err", err)
		c.afterFunc(completionRetryBackoff, func() { c.writeTxnCompletion(req, m, complete) })
	default:
		c.logger.Error("writing a transaction's completion failed", "transactional_id", m.id, "err", err)
	}
}

func sortListings(l []TransactionListing) {
	sort.Slice(l, func(i, j int) bool { return l[i].TransactionalID < l[j].TransactionalID })
}
