package txn

import (
	"errors"
	"fmt"
)

// Elected is called when this broker becomes the leader of
// __transaction_state-partition with coordinatorEpoch (its leader epoch)
// (TransactionCoordinator.onElection): queued markers of the partition are
// dropped, requests for its ids get COORDINATOR_LOAD_IN_PROGRESS at once,
// and the partition is loaded in the background.
func (c *Coordinator) Elected(partition, coordinatorEpoch int32) {
	c.logger.Info("elected as the transaction coordinator for partition", "partition", partition, "coordinator_epoch", coordinatorEpoch)
	c.markers.RemoveForTxnTopicPartition(partition)
	c.stateMu.Lock()
	c.loading[partition] = coordinatorEpoch
	c.stateMu.Unlock()
	c.goTracked(func() { c.loadPartition(partition, coordinatorEpoch) })
}

// Resigned is called when this broker stops leading the partition
// (becomes a follower, or the replica is stopped); coordinatorEpoch < 0
// means unknown (TransactionCoordinator.onResignation): a load under way
// ends without installing anything, the partition's ids are dropped
// (requests get NOT_COORDINATOR) and so are its queued markers. A
// resignation for an epoch older than the partition's current one is
// ignored.
func (c *Coordinator) Resigned(partition, coordinatorEpoch int32) {
	c.logger.Info("resigned as the transaction coordinator for partition", "partition", partition, "coordinator_epoch", coordinatorEpoch)
	c.stateMu.Lock()
	if e, ok := c.loading[partition]; ok && (coordinatorEpoch < 0 || e <= coordinatorEpoch) {
		delete(c.loading, partition)
	}
	if pc := c.caches[partition]; pc != nil && (coordinatorEpoch < 0 || pc.coordinatorEpoch <= coordinatorEpoch) {
		delete(c.caches, partition)
	}
	c.stateMu.Unlock()
	c.markers.RemoveForTxnTopicPartition(partition)
}

func (c *Coordinator) stillLoading(partition, coordinatorEpoch int32) bool {
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	e, ok := c.loading[partition]
	return ok && e == coordinatorEpoch
}

var errLoadSuperseded = errors.New("load superseded")

// loadPartition is TransactionStateManager.loadTransactionsForTxnTopicPartition:
// later records override earlier ones, tombstones delete, keys of an
// unknown version are skipped. A failed read is logged and what was read
// is installed, as Kafka does; the transactions found in PrepareCommit or
// PrepareAbort get their completion prepared and their markers resent.
func (c *Coordinator) loadPartition(partition, coordinatorEpoch int32) {
	loaded := map[string]*txnMetadata{}
	records, skipped := 0, 0
	err := c.store.Load(c.ctx, partition, func(key, value []byte) error {
		if !c.stillLoading(partition, coordinatorEpoch) || c.ctx.Err() != nil {
			return errLoadSuperseded
		}
		records++
		id, err := DecodeKey(key)
		var uk *UnknownKeyVersionError
		if errors.As(err, &uk) {
			skipped++
			return nil
		}
		if err != nil {
			return fmt.Errorf("record %d: %w", records, err)
		}
		if value == nil {
			delete(loaded, id)
			return nil
		}
		v, err := DecodeValue(value)
		if err != nil {
			return fmt.Errorf("transactional id %q: %w", id, err)
		}
		loaded[id] = metadataFromValue(id, v)
		return nil
	})
	if errors.Is(err, errLoadSuperseded) || c.ctx.Err() != nil {
		c.logger.Info("transaction state load ended early: partition no longer loading at this epoch",
			"partition", partition, "coordinator_epoch", coordinatorEpoch)
		return
	}
	if err != nil {
		c.logger.Error("error loading transactions from the transaction log", "partition", partition, "err", err)
	}

	type resend struct {
		req      MarkerRequest
		m        *txnMetadata
		complete transit
	}
	var resends []resend
	c.stateMu.Lock()
	if e, ok := c.loading[partition]; !ok || e != coordinatorEpoch {
		c.stateMu.Unlock()
		c.logger.Info("transaction state loaded but no longer needed", "partition", partition, "coordinator_epoch", coordinatorEpoch)
		return
	}
	if _, ok := c.caches[partition]; ok {
		c.logger.Warn("unloaded previous transaction metadata of a partition replaced by a new load", "partition", partition)
	}
	c.caches[partition] = &partitionCache{coordinatorEpoch: coordinatorEpoch, ids: loaded}
	now := c.nowMs()
	for _, m := range loaded {
		if m.state != PrepareCommit && m.state != PrepareAbort {
			continue
		}
		m.mu.Lock()
		complete, perr := m.prepareComplete(now)
		req := MarkerRequest{
			TransactionalID: m.id, ProducerID: m.producerID, ProducerEpoch: m.producerEpoch,
			CoordinatorEpoch: coordinatorEpoch, Commit: m.state == PrepareCommit, TxnPartition: partition,
			Partitions: m.partitionList(),
		}
		m.mu.Unlock()
		if perr != nil {
			c.logger.Error("preparing the completion of a loaded transaction", "transactional_id", m.id, "err", perr)
			continue
		}
		resends = append(resends, resend{req, m, complete})
	}
	delete(c.loading, partition)
	ids := len(loaded)
	c.stateMu.Unlock()
	c.logger.Info("finished loading transaction metadata", "partition", partition, "coordinator_epoch", coordinatorEpoch,
		"records", records, "transactional_ids", ids, "resending_markers", len(resends), "skipped_unknown_keys", skipped)
	for _, r := range resends {
		c.sendMarkers(r.req, r.m, r.complete)
	}
}
