package group

import (
	"context"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Transactional offset commits (KIP-98 TxnOffsetCommit, KIP-447 fencing
// through the group generation): the offsets are appended to the group's
// __consumer_offsets partition as a transactional batch of the producer,
// held pending per producer id in the group (invisible to OffsetFetch,
// UNSTABLE_OFFSET_COMMIT with require_stable), and become the committed
// offsets when the producer's COMMIT marker is written to that partition
// (CompleteTransaction), or vanish with its ABORT marker.

// TxnProducer is the transactional producer an append is made for.
type TxnProducer struct {
	ID    int64
	Epoch int16
	// VerificationGuard is the KIP-890 guard of the verification of the
	// partition with the transaction coordinator; 0: not verified.
	VerificationGuard uint64
}

// TxnCommitRequest is a TxnOffsetCommit request.
type TxnCommitRequest struct {
	Group           string
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	// v3+ (KIP-447): the consumer's group metadata; generation -1, member
	// "" and no instance id for v0-2.
	MemberID   string
	InstanceID *string
	Generation int32
	Offsets    []CommitOffset
	// Verify, when set, verifies with the transaction coordinator that
	// the group's partition of __consumer_offsets is in the producer's
	// transaction (KIP-890 part 1,
	// ReplicaManager.maybeStartTransactionVerificationForPartition) and
	// returns the guard to append with; its error is answered for every
	// partition, converted as an offset commit append error.
	Verify func(ctx context.Context, offsetsPartition int32) (guard uint64, err *kerr.Error)
}

// CommitTransactionalOffsets serves a TxnOffsetCommit request
// (GroupCoordinator.handleTxnCommitOffsets / doTxnCommitOffsets,
// GroupMetadataManager.storeOffsets with a producer id). A group that does
// not exist is created Empty. The offsets are acknowledged once their
// batch is committed (acks=all) but only become visible with the
// producer's COMMIT marker.
func (c *Coordinator) CommitTransactionalOffsets(ctx context.Context, req TxnCommitRequest) []PartitionResult {
	// GroupCoordinator.isValidGroupId: TxnOffsetCommit, unlike
	// OffsetCommit, needs a non-empty group id.
	if err := c.validateGroupStatus(req.Group, apiGroupIDRequired); err != nil {
		return allResults(req.Offsets, err)
	}
	g, err := c.getOrMaybeCreateGroup(req.Group, true)
	if err != nil {
		return allResults(req.Offsets, errNotCoordinator)
	}
	var guard uint64
	if req.Verify != nil {
		gd, verr := req.Verify(ctx, c.partitionOf(g.id))
		if verr != nil {
			return allResults(req.Offsets, convertOffsetCommitError(verr))
		}
		guard = gd
	}
	g.mu.Lock()
	if err := c.validateOffsetCommit(g, req.Generation, req.MemberID, req.InstanceID, true); err != nil {
		g.mu.Unlock()
		return allResults(req.Offsets, err)
	}
	return c.storeTxnOffsets(ctx, g, req, TxnProducer{ID: req.ProducerID, Epoch: req.ProducerEpoch, VerificationGuard: guard}) // unlocks g
}

// storeTxnOffsets is GroupMetadataManager.storeOffsets for a producer:
// called with g locked, it returns with g unlocked. Partitions whose
// metadata is too large are answered OFFSET_METADATA_TOO_LARGE and left
// out of the batch (all of them: nothing is written).
func (c *Coordinator) storeTxnOffsets(ctx context.Context, g *group, req TxnCommitRequest, producer TxnProducer) []PartitionResult {
	now := c.nowMs()
	filtered := map[TopicPartition]offsetAndMetadata{}
	var order []TopicPartition
	for _, o := range req.Offsets {
		if c.metadataTooLarge(o.Metadata) {
			continue
		}
		om := offsetAndMetadata{Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, CommitTimestamp: now, ExpireTimestamp: -1}
		if o.Metadata != nil {
			om.Metadata = *o.Metadata
		}
		if om.LeaderEpoch < 0 {
			om.LeaderEpoch = -1
		}
		if _, ok := filtered[o.TopicPartition]; !ok {
			order = append(order, o.TopicPartition)
		}
		filtered[o.TopicPartition] = om
	}
	finish := func(err *kerr.Error) []PartitionResult { return c.commitResults(req.Offsets, err) }
	if len(filtered) == 0 {
		g.mu.Unlock()
		return finish(kerr.OffsetMetadataTooLarge)
	}
	c.warnMixedCommits(g)
	g.receivedTxnCommits = true
	records := offsetCommitRecords(g.id, order, filtered)
	c.addProducerGroup(producer.ID, g.id)
	g.prepareTxnOffsetCommit(producer.ID, filtered)
	fail := func(err error) []PartitionResult {
		if g.state != stateDead {
			for tp := range filtered {
				g.failPendingTxnOffsetCommit(producer.ID, tp)
			}
			if !g.hasPendingOffsetCommitsFromProducer(producer.ID) {
				c.removeProducerGroup(producer.ID, g.id)
			}
		}
		g.mu.Unlock()
		c.logger.Debug("transactional offset commit failed when appending to log", "group", g.id,
			"producer_id", producer.ID, "producer_epoch", producer.Epoch, "err", err)
		return finish(convertOffsetCommitError(err))
	}
	base, wait, err := c.store.AppendTransactional(c.partitionOf(g.id), producer, records)
	if err != nil {
		return fail(err)
	}
	g.mu.Unlock()

	wctx, cancel := context.WithTimeout(ctx, c.cfg.CommitTimeout)
	werr := wait(wctx)
	cancel()

	g.mu.Lock()
	if werr != nil {
		return fail(werr)
	}
	if g.state != stateDead {
		for tp, om := range filtered {
			g.onTxnOffsetCommitAppend(producer.ID, tp, commitRecord{batchOffset: base, om: om})
		}
	}
	g.mu.Unlock()
	return finish(nil)
}

// prepareTxnOffsetCommit stages the producer's offsets, not yet appended
// (GroupMetadata.prepareTxnOffsetCommit).
func (g *group) prepareTxnOffsetCommit(producerID int64, offsets map[TopicPartition]offsetAndMetadata) {
	pending := g.pendingTxnOffsets[producerID]
	if pending == nil {
		pending = map[TopicPartition]commitRecord{}
		g.pendingTxnOffsets[producerID] = pending
	}
	for tp, om := range offsets {
		pending[tp] = commitRecord{batchOffset: -1, om: om}
	}
}

// onTxnOffsetCommitAppend records the batch offset of an appended pending
// commit unless the pending value changed meanwhile
// (GroupMetadata.onTxnOffsetCommitAppend).
func (g *group) onTxnOffsetCommitAppend(producerID int64, tp TopicPartition, r commitRecord) {
	pending := g.pendingTxnOffsets[producerID]
	if cur, ok := pending[tp]; ok && cur.om == r.om {
		pending[tp] = r
	}
}

// failPendingTxnOffsetCommit drops a pending commit whose batch was not
// written (GroupMetadata.failPendingTxnOffsetCommit).
func (g *group) failPendingTxnOffsetCommit(producerID int64, tp TopicPartition) {
	pending, ok := g.pendingTxnOffsets[producerID]
	if !ok {
		return
	}
	delete(pending, tp)
	if len(pending) == 0 {
		delete(g.pendingTxnOffsets, producerID)
	}
}

// completePendingTxnOffsetCommit ends the producer's transaction in the
// group (GroupMetadata.completePendingTxnOffsetCommit): on commit each
// pending offset becomes the committed one unless a commit appended later
// in the log is there (CommitRecordMetadataAndOffset.olderThan); on abort
// they are dropped. It returns the partitions whose pending commit had no
// batch offset (Kafka throws IllegalStateException for those).
func (g *group) completePendingTxnOffsetCommit(producerID int64, commit bool) []TopicPartition {
	pending, ok := g.pendingTxnOffsets[producerID]
	if !ok {
		return nil
	}
	delete(g.pendingTxnOffsets, producerID)
	if !commit {
		return nil
	}
	var unappended []TopicPartition
	for _, tp := range slices.SortedFunc(maps.Keys(pending), compareTPs) {
		r := pending[tp]
		if r.batchOffset < 0 {
			unappended = append(unappended, tp)
			continue
		}
		if cur, ok := g.offsets[tp]; !ok || cur.batchOffset < r.batchOffset {
			g.offsets[tp] = r
		}
	}
	return unappended
}

func (g *group) hasPendingOffsetCommitsFromProducer(producerID int64) bool {
	_, ok := g.pendingTxnOffsets[producerID]
	return ok
}

// hasPendingOffsetCommitsForTopicPartition: a commit of the partition
// being written, or any producer's transactional commit of it.
func (g *group) hasPendingOffsetCommitsForTopicPartition(tp TopicPartition) bool {
	if _, ok := g.pendingOffsetCommits[tp]; ok {
		return true
	}
	for _, pending := range g.pendingTxnOffsets {
		if _, ok := pending[tp]; ok {
			return true
		}
	}
	return false
}

// addProducerGroup links a producer to a group it has pending offsets in
// (GroupMetadataManager.openGroupsForProducer).
func (c *Coordinator) addProducerGroup(producerID int64, groupID string) {
	c.producersMu.Lock()
	defer c.producersMu.Unlock()
	gs := c.openGroupsForProducer[producerID]
	if gs == nil {
		gs = map[string]bool{}
		c.openGroupsForProducer[producerID] = gs
	}
	gs[groupID] = true
}

func (c *Coordinator) removeProducerGroup(producerID int64, groupID string) {
	c.producersMu.Lock()
	defer c.producersMu.Unlock()
	gs := c.openGroupsForProducer[producerID]
	delete(gs, groupID)
	if len(gs) == 0 {
		delete(c.openGroupsForProducer, producerID)
	}
}

// removeGroupFromAllProducers unlinks an unloaded group.
func (c *Coordinator) removeGroupFromAllProducers(groupID string) {
	c.producersMu.Lock()
	defer c.producersMu.Unlock()
	for pid, gs := range c.openGroupsForProducer {
		delete(gs, groupID)
		if len(gs) == 0 {
			delete(c.openGroupsForProducer, pid)
		}
	}
}

// groupsBelongingToPartitions lists the producer's groups whose partition
// is one of partitions, sorted.
func (c *Coordinator) groupsBelongingToPartitions(producerID int64, partitions []int32) []string {
	c.producersMu.Lock()
	defer c.producersMu.Unlock()
	var out []string
	for id := range c.openGroupsForProducer[producerID] {
		if slices.Contains(partitions, c.PartitionFor(id)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// CompleteTransaction is called once a producer's COMMIT (commit set) or
// ABORT marker is written to partitions of __consumer_offsets this broker
// leads (GroupCoordinator.onTransactionCompleted): on the coordinator's
// worker, after any load or unload queued before it
// (GroupMetadataManager.scheduleHandleTxnCompletion), the producer's
// pending offsets in the groups of those partitions are committed or
// dropped. Groups of partitions this broker no longer owns were unloaded
// and are left alone; the producer epoch is not used, as in Kafka.
func (c *Coordinator) CompleteTransaction(producerID int64, producerEpoch int16, partitions []int32, commit bool) {
	partitions = slices.Clone(partitions)
	c.schedule(func() { c.handleTxnCompletion(producerID, producerEpoch, partitions, commit) })
}

// handleTxnCompletion is GroupMetadataManager.handleTxnCompletion.
func (c *Coordinator) handleTxnCompletion(producerID int64, producerEpoch int16, partitions []int32, commit bool) {
	for _, id := range c.groupsBelongingToPartitions(producerID, partitions) {
		g := c.getGroup(id)
		if g == nil {
			c.logger.Info("group has moved away from this broker after the transaction marker was written but before the cache was updated; the cache of the new group owner is updated instead",
				"group", id, "producer_id", producerID)
			// Kafka keeps the link of a deleted group; nothing reads it.
			c.removeProducerGroup(producerID, id)
			continue
		}
		g.mu.Lock()
		if g.state != stateDead {
			if bad := g.completePendingTxnOffsetCommit(producerID, commit); len(bad) > 0 {
				c.logger.Error("completing a transactional offset commit whose record was not appended to the log; those offsets are dropped",
					"group", id, "producer_id", producerID, "producer_epoch", producerEpoch, "partitions", bad)
			}
			c.removeProducerGroup(producerID, id)
		}
		g.mu.Unlock()
	}
}

func compareTPs(a, b TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition) - int(b.Partition)
}
