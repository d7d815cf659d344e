package group

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Backoff of the retries of a failed load: doubling from loadRetryMin up
// to loadRetryMax.
const (
	loadRetryMin = 100 * time.Millisecond
	loadRetryMax = 10 * time.Second
)

// pendingLoad is a partition being loaded. Guarded by Coordinator.partMu.
type pendingLoad struct {
	epoch    int32
	attempts int
	retry    Timer // the backoff before the next attempt, nil while reading
}

func (pl *pendingLoad) stopRetry() {
	if pl.retry != nil {
		pl.retry.Stop()
		pl.retry = nil
	}
}

// loadRetryBackoff is the wait before attempt n+1 after n failed attempts.
func loadRetryBackoff(failed int) time.Duration {
	d := loadRetryMin
	for i := 1; i < failed && d < loadRetryMax; i++ {
		d *= 2
	}
	return min(d, loadRetryMax)
}

// loadPartition is GroupMetadataManager.loadGroupsAndOffsets: unless a
// newer leader epoch was seen or the partition is already owned or
// loading, it marks the partition loading (requests get
// COORDINATOR_LOAD_IN_PROGRESS), reads it from the log start to the end,
// and then owns it.
func (c *Coordinator) loadPartition(partition, epoch int32) {
	c.partMu.Lock()
	if !c.active {
		c.partMu.Unlock()
		return
	}
	if !c.maybeUpdateEpochLocked(partition, epoch) {
		c.partMu.Unlock()
		c.logger.Info("not loading offsets and group metadata: a newer epoch was seen", "partition", partition, "epoch", epoch)
		return
	}
	if c.owned[partition] || c.loading[partition] != nil {
		c.partMu.Unlock()
		c.logger.Info("already loaded or loading offsets and group metadata", "partition", partition)
		return
	}
	pl := &pendingLoad{epoch: epoch}
	c.loading[partition] = pl
	c.partMu.Unlock()
	c.attemptLoad(partition, pl)
}

// retryLoad runs the next attempt of a failed load unless the partition
// was unloaded (or loaded again) meanwhile.
func (c *Coordinator) retryLoad(partition int32, pl *pendingLoad) {
	c.partMu.Lock()
	current := c.active && c.loading[partition] == pl
	if current {
		pl.retry = nil
	}
	c.partMu.Unlock()
	if current {
		c.attemptLoad(partition, pl)
	}
}

// attemptLoad reads the partition once. Unlike Kafka, which owns the
// partition even after a failed load (serving empty groups, so consumers
// reset their positions), only a lost leadership ends a load (the
// resignation that follows unloads the partition); any other error keeps
// the partition loading and the read is retried with a backoff until it
// succeeds or the partition is unloaded.
//
// Loads and unloads run one at a time on the coordinator's worker, so
// nothing unloads the partition while it is read.
func (c *Coordinator) attemptLoad(partition int32, pl *pendingLoad) {
	start := time.Now()
	groups, offsets, pending, err := c.readPartition(partition)
	switch {
	case err == nil:
		c.installLoaded(partition, groups, offsets, pending)
		c.logger.Info("finished loading offsets and group metadata", "partition", partition, "epoch", pl.epoch,
			"groups", len(groups), "offsets", countOffsets(offsets), "took", time.Since(start).String())
		c.partMu.Lock()
		if c.loading[partition] == pl {
			delete(c.loading, partition)
			c.owned[partition] = true
		}
		c.partMu.Unlock()
	case c.ctx.Err() != nil:
		// Closing: Close clears the partition.
	case errors.Is(err, ErrLeadershipLost):
		c.logger.Info("stopped loading offsets and group metadata: leadership lost", "partition", partition, "epoch", pl.epoch, "err", err)
		c.partMu.Lock()
		if c.loading[partition] == pl {
			delete(c.loading, partition)
		}
		c.partMu.Unlock()
	default:
		c.partMu.Lock()
		defer c.partMu.Unlock()
		if !c.active || c.loading[partition] != pl {
			return
		}
		pl.attempts++
		backoff := loadRetryBackoff(pl.attempts)
		c.logger.Error("error loading offsets and group metadata; the partition stays loading and the load is retried",
			"partition", partition, "epoch", pl.epoch, "attempts", pl.attempts, "retry_in", backoff.String(), "err", err)
		pl.retry = c.clock.AfterFunc(backoff, func() { c.schedule(func() { c.retryLoad(partition, pl) }) })
	}
}

func countOffsets(m map[string]map[TopicPartition]commitRecord) int {
	n := 0
	for _, o := range m {
		n += len(o)
	}
	return n
}

// readPartition replays the partition: the latest record per key wins,
// tombstones delete; transactional offset commits count once their
// producer's COMMIT marker is read.
func (c *Coordinator) readPartition(partition int32) (map[string]*group, map[string]map[TopicPartition]commitRecord, map[string]map[int64]map[TopicPartition]commitRecord, error) {
	type groupTP struct {
		group string
		tp    TopicPartition
	}
	loadedOffsets := map[groupTP]commitRecord{}
	pending := map[int64]map[groupTP]commitRecord{} // per producer, until its marker
	loadedGroups := map[string]*group{}
	removedGroups := map[string]bool{}

	err := c.store.Load(c.ctx, partition, func(b Batch) error {
		if b.Control {
			if len(b.Records) > 0 {
				if typ, ok := controlRecordType(b.Records[0].Key); ok && typ == 1 {
					for k, r := range pending[b.ProducerID] {
						if cur, ok := loadedOffsets[k]; !ok || cur.batchOffset < r.batchOffset {
							loadedOffsets[k] = r
						}
					}
				}
				delete(pending, b.ProducerID)
			}
			return nil
		}
		for _, r := range b.Records {
			if r.Key == nil {
				return fmt.Errorf("record without key in batch at offset %d", b.BaseOffset)
			}
			k, err := parseKey(r.Key)
			if err != nil {
				return fmt.Errorf("batch at offset %d: %w", b.BaseOffset, err)
			}
			switch k.kind {
			case keyOffset:
				key := groupTP{k.group, k.tp}
				if b.Transactional && pending[b.ProducerID] == nil {
					pending[b.ProducerID] = map[groupTP]commitRecord{}
				}
				if r.Value == nil {
					if b.Transactional {
						delete(pending[b.ProducerID], key)
					} else {
						delete(loadedOffsets, key)
					}
					continue
				}
				om, err := parseOffsetValue(r.Value)
				if err != nil {
					return fmt.Errorf("batch at offset %d: %w", b.BaseOffset, err)
				}
				rec := commitRecord{batchOffset: b.BaseOffset, om: om}
				if b.Transactional {
					pending[b.ProducerID][key] = rec
				} else {
					loadedOffsets[key] = rec
				}
			case keyGroup:
				if r.Value == nil {
					delete(loadedGroups, k.group)
					removedGroups[k.group] = true
					continue
				}
				g, err := parseGroupValue(k.group, r.Value)
				if err != nil {
					return fmt.Errorf("batch at offset %d: %w", b.BaseOffset, err)
				}
				delete(removedGroups, k.group)
				loadedGroups[k.group] = g
			default:
				c.logger.Warn("unknown message key version while loading offsets and group metadata; ignoring it",
					"partition", partition, "version", k.version)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	offsets := map[string]map[TopicPartition]commitRecord{}
	for k, r := range loadedOffsets {
		if offsets[k.group] == nil {
			offsets[k.group] = map[TopicPartition]commitRecord{}
		}
		offsets[k.group][k.tp] = r
	}
	// Transactional commits without a marker yet stay pending in their
	// group, and the producer is linked to it, so that the marker, when
	// it comes, completes them (doLoadGroupsAndOffsets: pendingOffsetsByGroup
	// and addProducerGroup).
	pendingByGroup := map[string]map[int64]map[TopicPartition]commitRecord{}
	for pid, m := range pending {
		for k, r := range m {
			byProducer := pendingByGroup[k.group]
			if byProducer == nil {
				byProducer = map[int64]map[TopicPartition]commitRecord{}
				pendingByGroup[k.group] = byProducer
			}
			if byProducer[pid] == nil {
				byProducer[pid] = map[TopicPartition]commitRecord{}
			}
			byProducer[pid][k.tp] = r
		}
	}
	return loadedGroups, offsets, pendingByGroup, nil
}

// installLoaded puts the loaded groups in the cache: groups with
// metadata, then groups that only have offsets or pending transactional
// offsets (simple consumers, transactional producers, or groups whose
// members all left), each as Empty.
func (c *Coordinator) installLoaded(partition int32, groups map[string]*group, offsets map[string]map[TopicPartition]commitRecord,
	pending map[string]map[int64]map[TopicPartition]commitRecord) {
	for id, byProducer := range pending {
		for pid := range byProducer {
			c.addProducerGroup(pid, id)
		}
	}
	install := func(g *group) {
		for tp, r := range offsets[g.id] {
			g.offsets[tp] = r
		}
		for pid, m := range pending[g.id] {
			g.pendingTxnOffsets[pid] = m
		}
		if cur := c.addGroup(g); cur != g {
			c.logger.Debug("loaded group not installed: a group with its id is cached", "group", g.id)
			return
		}
		g.mu.Lock()
		c.onGroupLoaded(g)
		g.mu.Unlock()
	}
	for _, g := range groups {
		install(g)
	}
	for _, id := range slices.Sorted(maps.Keys(offsets)) {
		if _, ok := groups[id]; ok {
			continue
		}
		install(newGroup(id, stateEmpty, c.nowMs()))
	}
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		_, ok := groups[id]
		if _, ok2 := offsets[id]; ok || ok2 {
			continue
		}
		install(newGroup(id, stateEmpty, c.nowMs()))
	}
}

// onGroupLoaded schedules the session timeouts of a loaded group's
// members and rebalances a group over group.max.size.
func (c *Coordinator) onGroupLoaded(g *group) {
	c.logger.Info("loaded group metadata", "group", g.id, "generation", g.generation, "state", g.state.String(), "members", len(g.members))
	if int32(len(g.members)) > c.cfg.MaxSize {
		c.prepareRebalance(g, fmt.Sprintf("freshly-loaded group is over capacity (%d); rebalancing in order to give a chance for consumers to commit offsets", c.cfg.MaxSize))
	}
	for _, m := range g.sortedMembers() {
		c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
	}
}

// unloadPartition is GroupMetadataManager.removeGroupsAndOffsets: unless
// a newer epoch was seen, the partition is no longer owned and its groups
// are unloaded.
func (c *Coordinator) unloadPartition(partition, epoch int32) {
	c.partMu.Lock()
	defer c.partMu.Unlock()
	if !c.maybeUpdateEpochLocked(partition, epoch) {
		c.logger.Info("not unloading offsets and group metadata: a newer epoch was seen", "partition", partition, "epoch", epoch)
		return
	}
	delete(c.owned, partition)
	if pl := c.loading[partition]; pl != nil {
		pl.stopRetry()
		delete(c.loading, partition)
	}
	n, offsets := 0, 0
	for _, g := range c.allGroups() {
		if c.PartitionFor(g.id) != partition {
			continue
		}
		g.mu.Lock()
		c.onGroupUnloaded(g)
		offsets += len(g.offsets)
		g.mu.Unlock()
		c.removeGroup(g)
		c.removeGroupFromAllProducers(g.id)
		n++
	}
	c.logger.Info("finished unloading offsets and group metadata", "partition", partition, "epoch", epoch, "groups", n, "offsets", offsets)
}

// onGroupUnloaded marks the group Dead and answers its waiting JoinGroup
// and SyncGroup requests with NOT_COORDINATOR, so the members find the new
// coordinator.
func (c *Coordinator) onGroupUnloaded(g *group) {
	prev := g.state
	c.transition(g, stateDead)
	for _, m := range g.sortedMembers() {
		switch prev {
		case statePreparingRebalance:
			g.maybeInvokeJoin(m, joinError(m.id, errNotCoordinator))
		case stateStable, stateCompletingRebalance:
			g.maybeInvokeSync(m, SyncResult{Err: errNotCoordinator})
		}
		// Answer anything else still waiting too (the member's requests
		// may be parked whatever the state).
		g.maybeInvokeJoin(m, joinError(m.id, errNotCoordinator))
		g.maybeInvokeSync(m, SyncResult{Err: errNotCoordinator})
		if m.hbTimer != nil {
			m.hbTimer.Stop()
			m.hbSeq++
		}
	}
	for id := range g.pendingTimers {
		g.removePending(id)
	}
	c.cancelJoinOp(g)
	c.cancelSyncOp(g)
	clear(g.pendingSyncMembers)
}
