package txn

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Elected is called when this broker becomes the leader of
// __transaction_state-partition with coordinatorEpoch (its leader epoch)
// (TransactionCoordinator.onElection): queued markers of the partition are
// dropped, requests for its ids get COORDINATOR_LOAD_IN_PROGRESS at once,
// and the partition is loaded in the background.
func (c *Coordinator) Elected(partition, coordinatorEpoch int32) {
	if c.ctx.Err() != nil {
		return // closed
	}
	c.logger.Info("elected as the transaction coordinator for partition", "partition", partition, "coordinator_epoch", coordinatorEpoch)
	c.markers.RemoveForTxnTopicPartition(partition)
	c.stateMu.Lock()
	c.loading[partition] = coordinatorEpoch
	c.stateMu.Unlock()
	c.goTracked(func() { c.loadPartition(partition, coordinatorEpoch, 1) })
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

var (
	errLoadSuperseded = errors.New("load superseded")
	errBadRecord      = errors.New("undecodable __transaction_state record")
)

// Backoff of the retries of a failed read: doubling from loadRetryMin up
// to loadRetryMax (as broker/group's loads).
const (
	loadRetryMin = 100 * time.Millisecond
	loadRetryMax = 10 * time.Second
)

func loadRetryBackoff(failed int) time.Duration {
	d := loadRetryMin
	for i := 1; i < failed && d < loadRetryMax; i++ {
		d *= 2
	}
	return min(d, loadRetryMax)
}

// readPartition reads the partition's records into a map: later records
// override earlier ones, tombstones delete, keys of an unknown version are
// skipped. A record that does not decode ends the read with errBadRecord
// and what was read so far.
func (c *Coordinator) readPartition(partition, coordinatorEpoch int32) (loaded map[string]*txnMetadata, records, skipped int, err error) {
	loaded = map[string]*txnMetadata{}
	err = c.store.Load(c.ctx, partition, func(key, value []byte) error {
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
			return fmt.Errorf("%w: record %d: %w", errBadRecord, records, err)
		}
		if value == nil {
			delete(loaded, id)
			return nil
		}
		v, err := DecodeValue(value)
		if err != nil {
			return fmt.Errorf("%w: transactional id %q: %w", errBadRecord, id, err)
		}
		loaded[id] = metadataFromValue(id, v)
		return nil
	})
	return loaded, records, skipped, err
}

// loadPartition is TransactionStateManager.loadTransactionsForTxnTopicPartition.
// A record that does not decode (Kafka's IllegalStateException) ends the
// load and what was read is installed, as Kafka does. A failed read is
// retried with a backoff while the partition is still loading at this
// epoch (Kafka would install what it read); a read that finds this broker
// no longer the leader ends the load (NOT_COORDINATOR until the
// resignation). The transactions found in PrepareCommit or PrepareAbort
// get their completion prepared and their markers resent; Ongoing ones are
// left to the timeout task.
func (c *Coordinator) loadPartition(partition, coordinatorEpoch int32, attempt int) {
	loaded, records, skipped, err := c.readPartition(partition, coordinatorEpoch)
	switch {
	case errors.Is(err, errLoadSuperseded) || c.ctx.Err() != nil:
		c.logger.Info("transaction state load ended early: partition no longer loading at this epoch",
			"partition", partition, "coordinator_epoch", coordinatorEpoch)
		return
	case errors.Is(err, kerr.NotLeaderForPartition):
		c.logger.Info("transaction state load ended: no longer the leader", "partition", partition, "coordinator_epoch", coordinatorEpoch)
		c.stateMu.Lock()
		if e, ok := c.loading[partition]; ok && e == coordinatorEpoch {
			delete(c.loading, partition)
			if pc := c.caches[partition]; pc != nil && pc.coordinatorEpoch <= coordinatorEpoch {
				delete(c.caches, partition) // an older election's state: not the coordinator any more
			}
		}
		c.stateMu.Unlock()
		return
	case errors.Is(err, errBadRecord):
		c.logger.Error("error loading transactions from the transaction log; using what was read", "partition", partition, "err", err)
	case err != nil:
		backoff := loadRetryBackoff(attempt)
		c.logger.Warn("reading the transaction log failed; retrying", "partition", partition, "coordinator_epoch", coordinatorEpoch,
			"attempt", attempt, "retry_in", backoff.String(), "err", err)
		c.afterFunc(backoff, func() {
			if c.stillLoading(partition, coordinatorEpoch) {
				c.loadPartition(partition, coordinatorEpoch, attempt+1)
			}
		})
		return
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
