package group

import (
	"context"
	"errors"
	"slices"
	"unicode/utf16"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
)

// CommitOffset is one partition of an OffsetCommit request.
type CommitOffset struct {
	TopicPartition
	Offset          int64
	LeaderEpoch     int32   // -1 unknown
	Metadata        *string // nil: ""
	CommitTimestamp int64   // v1 only; -1: now
}

// CommitRequest is an OffsetCommit request (v1+).
type CommitRequest struct {
	Group       string
	MemberID    string
	InstanceID  *string
	Generation  int32 // -1: a client that does not use group management
	RetentionMs int64 // v2-v4; -1: offsets.retention.minutes
	Offsets     []CommitOffset
}

// PartitionResult is a per-partition error.
type PartitionResult struct {
	TopicPartition
	Err *kerr.Error
}

// FetchedOffset is one partition of an OffsetFetch answer.
type FetchedOffset struct {
	TopicPartition
	Offset      int64 // -1: none
	LeaderEpoch int32 // -1: none
	Metadata    string
	Err         *kerr.Error
}

func allResults(offsets []CommitOffset, err *kerr.Error) []PartitionResult {
	out := make([]PartitionResult, len(offsets))
	for i, o := range offsets {
		out[i] = PartitionResult{TopicPartition: o.TopicPartition, Err: err}
	}
	return out
}

// asKafkaError is err's Kafka error, UNKNOWN_SERVER_ERROR if it has none.
func asKafkaError(err error) *kerr.Error {
	if errors.Is(err, context.Canceled) {
		// A write whose wait was cut short is answered as one that timed out.
		return kerr.RequestTimedOut
	}
	ke, _ := kerr.ErrorForCode(protocol.ErrorCode(err)).(*kerr.Error) // nil for a nil err
	return ke
}

// convertOffsetCommitError is GroupMetadataManager.maybeConvertOffsetCommitError.
func convertOffsetCommitError(err error) *kerr.Error {
	code := asKafkaError(err)
	switch code {
	case kerr.NetworkException:
		// A failed KIP-890 verification of a TxnOffsetCommit: retriable
		// without a coordinator lookup.
		return kerr.CoordinatorLoadInProgress
	case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
		return kerr.NotCoordinator
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidFetchSize:
		return kerr.InvalidCommitOffsetSize
	}
	return code
}

// metadataTooLarge compares the metadata's length in UTF-16 code units
// (Java's String.length) with offset.metadata.max.bytes.
func (c *Coordinator) metadataTooLarge(md *string) bool {
	if md == nil {
		return false
	}
	n := 0
	for _, r := range *md {
		n += utf16.RuneLen(r)
		if n > c.cfg.MaxMetadataSize {
			return true
		}
	}
	return false
}

// CommitOffsets serves an OffsetCommit request: offsets of a member of the
// current generation, or of a client that does not use group management
// (generation -1) while the group is Empty, are appended to the group's
// partition and acknowledged once committed (acks=all).
func (c *Coordinator) CommitOffsets(ctx context.Context, req CommitRequest) []PartitionResult {
	if err := c.validateGroupStatus(req.Group, apiEmptyGroupIDOK); err != nil {
		return allResults(req.Offsets, err)
	}
	g := c.getGroup(req.Group)
	if g == nil {
		if req.Generation >= 0 {
			// A commit from an older generation of a group that is gone.
			return allResults(req.Offsets, kerr.IllegalGeneration)
		}
		var err error
		if g, err = c.getOrMaybeCreateGroup(req.Group, true); err != nil {
			return allResults(req.Offsets, errNotCoordinator)
		}
	}
	g.mu.Lock()
	if err := c.validateOffsetCommit(g, req.Generation, req.MemberID, req.InstanceID, false); err != nil {
		g.mu.Unlock()
		return allResults(req.Offsets, err)
	}
	switch g.state {
	case stateEmpty:
	case stateStable, statePreparingRebalance:
		// Commits continue while a rebalance is prepared; the heartbeat
		// response tells the member about the rebalance.
		if m, ok := g.members[req.MemberID]; ok {
			c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
		}
	case stateCompletingRebalance:
		g.mu.Unlock()
		return allResults(req.Offsets, kerr.RebalanceInProgress)
	default:
		g.mu.Unlock()
		return allResults(req.Offsets, kerr.CoordinatorNotAvailable)
	}
	return c.storeOffsets(ctx, g, req) // unlocks g
}

// validateOffsetCommit is GroupCoordinator.validateOffsetCommit.
// Transactional commits (TxnOffsetCommit) without member information are
// accepted whatever the group's state: TxnOffsetCommit v0-2 carries none
// (KIP-447 added it in v3).
func (c *Coordinator) validateOffsetCommit(g *group, generation int32, memberID string, instanceID *string, transactional bool) *kerr.Error {
	switch {
	case g.state == stateDead:
		return kerr.CoordinatorNotAvailable
	case generation < 0 && g.state == stateEmpty:
		return nil
	case generation >= 0 || memberID != "" || instanceID != nil:
		op := "offset-commit"
		if transactional {
			op = "txn-offset-commit"
		}
		if err := c.validateCurrentMember(g, memberID, instanceID, op); err != nil {
			return err
		}
		if generation != g.generation {
			return kerr.IllegalGeneration
		}
		return nil
	case !transactional && g.state != stateEmpty:
		// Only members commit to a group that has members.
		return kerr.UnknownMemberID
	}
	return nil
}

// storeOffsets is GroupMetadataManager.storeOffsets; called with g locked,
// it returns with g unlocked.
func (c *Coordinator) storeOffsets(ctx context.Context, g *group, req CommitRequest) []PartitionResult {
	now := c.nowMs()
	expire := int64(-1)
	if req.RetentionMs != -1 {
		expire = now + req.RetentionMs
	}
	filtered := map[TopicPartition]offsetAndMetadata{}
	var order []TopicPartition
	for _, o := range req.Offsets {
		if c.metadataTooLarge(o.Metadata) {
			continue
		}
		om := offsetAndMetadata{Offset: o.Offset, LeaderEpoch: o.LeaderEpoch, CommitTimestamp: o.CommitTimestamp, ExpireTimestamp: expire}
		if o.Metadata != nil {
			om.Metadata = *o.Metadata
		}
		if om.CommitTimestamp == -1 {
			om.CommitTimestamp = now
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
	g.receivedConsumerCommits = true
	records := offsetCommitRecords(g.id, order, filtered)
	for tp, om := range filtered {
		g.pendingOffsetCommits[tp] = om
	}
	fail := func(err error) []PartitionResult {
		if g.state != stateDead {
			for tp, om := range filtered {
				g.failPendingOffsetWrite(tp, om)
			}
		}
		g.mu.Unlock()
		c.logger.Debug("offset commit failed when appending to log", "group", g.id, "member", req.MemberID, "err", err)
		return finish(convertOffsetCommitError(err))
	}
	base, wait, err := c.store.Append(c.partitionOf(g.id), records, true)
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
			g.onOffsetCommitAppend(tp, commitRecord{batchOffset: base, om: om})
		}
	}
	g.mu.Unlock()
	return finish(nil)
}

// onOffsetCommitAppend installs an appended commit unless a later append
// of the partition already did.
func (g *group) onOffsetCommitAppend(tp TopicPartition, r commitRecord) {
	if _, pending := g.pendingOffsetCommits[tp]; pending {
		if cur, ok := g.offsets[tp]; !ok || cur.batchOffset < r.batchOffset {
			g.offsets[tp] = r
		}
	}
	if staged, ok := g.pendingOffsetCommits[tp]; ok && staged == r.om {
		delete(g.pendingOffsetCommits, tp)
	}
}

func (g *group) failPendingOffsetWrite(tp TopicPartition, om offsetAndMetadata) {
	if staged, ok := g.pendingOffsetCommits[tp]; ok && staged == om {
		delete(g.pendingOffsetCommits, tp)
	}
}

// hasOffsets is GroupMetadata.hasOffsets: committed offsets, commits
// being written, or a producer's pending transactional commits (so an
// Empty group waiting for a transaction's marker is not removed).
func (g *group) hasOffsets() bool {
	return len(g.offsets) > 0 || len(g.pendingOffsetCommits) > 0 || len(g.pendingTxnOffsets) > 0
}

// removeOffsets drops the partitions' offsets, pending ones included
// (every producer's transactional ones too), and returns the partitions
// that had a committed offset.
func (g *group) removeOffsets(tps []TopicPartition) []TopicPartition {
	var out []TopicPartition
	for _, tp := range tps {
		delete(g.pendingOffsetCommits, tp)
		for _, pending := range g.pendingTxnOffsets {
			// GroupMetadata.removeOffsets leaves a producer's emptied map.
			delete(pending, tp)
		}
		if _, ok := g.offsets[tp]; ok {
			delete(g.offsets, tp)
			out = append(out, tp)
		}
	}
	return out
}

func (g *group) removeAllOffsets() []TopicPartition {
	tps := make([]TopicPartition, 0, len(g.offsets))
	for tp := range g.offsets {
		tps = append(tps, tp)
	}
	sortTPs(tps)
	return g.removeOffsets(tps)
}

func sortTPs(tps []TopicPartition) {
	slices.SortFunc(tps, func(a, b TopicPartition) int {
		if a.Topic != b.Topic {
			if a.Topic < b.Topic {
				return -1
			}
			return 1
		}
		return int(a.Partition) - int(b.Partition)
	})
}

// removeExpiredOffsets is GroupMetadata.removeExpiredOffsets (KIP-211):
// for an Empty group, offsets expire retention after the group became
// Empty (or after their commit, for groups loaded without that time);
// for a Stable consumer group, offsets of topics it no longer subscribes
// to expire retention after their commit; a group without a protocol type
// (a simple consumer) expires offsets retention after their commit.
// Offsets with an explicit expire timestamp (v2-v4 commits) expire then.
// Pending commits never expire.
func (g *group) removeExpiredOffsets(nowMs, retentionMs int64) []TopicPartition {
	expired := func(base func(commitRecord) int64, subscribed map[string]bool) []TopicPartition {
		var out []TopicPartition
		for tp, r := range g.offsets {
			if subscribed[tp.Topic] {
				continue
			}
			if _, pending := g.pendingOffsetCommits[tp]; pending {
				continue
			}
			if r.om.ExpireTimestamp >= 0 {
				if nowMs >= r.om.ExpireTimestamp {
					out = append(out, tp)
				}
				continue
			}
			if nowMs-base(r) >= retentionMs {
				out = append(out, tp)
			}
		}
		return out
	}
	commitTime := func(r commitRecord) int64 { return r.om.CommitTimestamp }
	var tps []TopicPartition
	switch {
	case g.protocolType != nil && g.state == stateEmpty:
		tps = expired(func(r commitRecord) int64 {
			if g.stateTimestamp >= 0 {
				return g.stateTimestamp
			}
			return r.om.CommitTimestamp
		}, nil)
	case g.isConsumerGroup() && g.subscribedTopics != nil && g.state == stateStable:
		tps = expired(commitTime, g.subscribedTopics)
	case g.protocolType == nil:
		tps = expired(commitTime, nil)
	}
	sortTPs(tps)
	for _, tp := range tps {
		delete(g.offsets, tp)
	}
	return tps
}

// FetchOffsets serves one group of an OffsetFetch request; partitions nil
// means every partition with a committed offset. Unknown offsets are -1
// with no error; with requireStable a partition whose commit is still
// being written, or with a transaction's commit not yet completed by its
// marker, answers UNSTABLE_OFFSET_COMMIT (KIP-447; the consumer retries).
func (c *Coordinator) FetchOffsets(groupID string, requireStable bool, partitions []TopicPartition) (*kerr.Error, []FetchedOffset) {
	if err := c.validateGroupStatus(groupID, apiEmptyGroupIDOK); err != nil {
		return err, nil
	}
	none := func(tp TopicPartition) FetchedOffset {
		return FetchedOffset{TopicPartition: tp, Offset: -1, LeaderEpoch: -1}
	}
	g := c.getGroup(groupID)
	var out []FetchedOffset
	if g == nil {
		for _, tp := range partitions {
			out = append(out, none(tp))
		}
		return nil, out
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		for _, tp := range partitions {
			out = append(out, none(tp))
		}
		return nil, out
	}
	if partitions == nil {
		for tp := range g.offsets {
			partitions = append(partitions, tp)
		}
		sortTPs(partitions)
	}
	for _, tp := range partitions {
		if requireStable && g.hasPendingOffsetCommitsForTopicPartition(tp) {
			f := none(tp)
			f.Err = kerr.UnstableOffsetCommit
			out = append(out, f)
			continue
		}
		r, ok := g.offsets[tp]
		if !ok {
			out = append(out, none(tp))
			continue
		}
		out = append(out, FetchedOffset{TopicPartition: tp, Offset: r.om.Offset, LeaderEpoch: r.om.LeaderEpoch, Metadata: r.om.Metadata})
	}
	return nil, out
}

// DeleteOffsets serves an OffsetDelete request: an Empty group's offsets
// go; a consumer group with members keeps those of topics it subscribes
// to (GROUP_SUBSCRIBED_TO_TOPIC); another non-empty group is
// NON_EMPTY_GROUP.
func (c *Coordinator) DeleteOffsets(groupID string, partitions []TopicPartition) (*kerr.Error, []PartitionResult) {
	if err := c.validateGroupStatus(groupID, apiGroupIDRequired); err != nil {
		return err, nil
	}
	notFound := func() *kerr.Error {
		if c.groupNotExists(groupID) {
			return kerr.GroupIDNotFound
		}
		return errNotCoordinator
	}
	g := c.getGroup(groupID)
	if g == nil {
		return notFound(), nil
	}
	var eligible []TopicPartition
	results := make([]PartitionResult, len(partitions))
	g.mu.Lock()
	switch {
	case g.state == stateDead:
		// Unloaded or deleted meanwhile (notFound locks the partitions
		// and the group: unlock first).
		g.mu.Unlock()
		return notFound(), nil
	case g.state == stateEmpty:
		eligible = partitions
		for i, tp := range partitions {
			results[i] = PartitionResult{TopicPartition: tp}
		}
	case g.isConsumerGroup():
		for i, tp := range partitions {
			results[i] = PartitionResult{TopicPartition: tp}
			if g.isSubscribedToTopic(tp.Topic) {
				results[i].Err = kerr.GroupSubscribedToTopic
			} else {
				eligible = append(eligible, tp)
			}
		}
	default:
		g.mu.Unlock()
		return kerr.NonEmptyGroup, nil
	}
	if len(eligible) > 0 {
		// Not Dead, so still the cached group.
		n := c.cleanupGroupLocked(g, g.removeOffsets(eligible))
		c.logger.Info("deleted offsets of group", "group", groupID, "partitions", len(eligible), "offsets_removed", n)
	}
	g.mu.Unlock()
	return nil, results
}

// cleanupGroupMetadata removes offsets chosen by selector from each group
// (GroupMetadataManager.cleanupGroupMetadata) and returns the number of
// offsets removed. groups is a snapshot: a group that left the cache since
// (unloaded with its partition, deleted, or expired; all of them Dead) is
// skipped, as its partition's state is now another group value's, or
// another coordinator's: a tombstone written for it could delete a newer
// commit acknowledged to the group that replaced it.
func (c *Coordinator) cleanupGroupMetadata(groups []*group, selector func(*group) []TopicPartition) int {
	removed := 0
	for _, g := range groups {
		g.mu.Lock()
		if g.state != stateDead && c.getGroup(g.id) == g {
			removed += c.cleanupGroupLocked(g, selector(g))
		}
		g.mu.Unlock()
	}
	return removed
}

// cleanupGroupLocked, with g locked and in the cache, writes tombstones
// for tps, offsets just removed from g: an Empty group left without
// offsets becomes Dead and leaves the cache, with a tombstone for its
// metadata if it ever had a generation. The tombstones are appended to the
// group's partition without waiting for replication (a lost tombstone is
// written again by the next cleanup). It returns len(tps) once appended.
func (c *Coordinator) cleanupGroupLocked(g *group, tps []TopicPartition) int {
	if g.state == stateEmpty && !g.hasOffsets() {
		c.logger.Info("group transitioned to Dead", "group", g.id, "generation", g.generation)
		c.transition(g, stateDead)
	}
	var records []Record
	for _, tp := range tps {
		records = append(records, Record{Key: offsetCommitKey(g.id, tp)})
	}
	dead := g.state == stateDead
	if dead && g.generation > 0 {
		// A group used only for offset storage (generation 0) never
		// wrote metadata: no tombstone.
		records = append(records, Record{Key: groupMetadataKey(g.id)})
	}
	removed := 0
	if len(records) > 0 {
		if _, _, err := c.store.Append(c.partitionOf(g.id), records, false); err != nil {
			c.logger.Error("failed to append tombstones for expired or deleted offsets and group metadata",
				"group", g.id, "tombstones", len(records), "err", err)
		} else {
			removed = len(tps)
		}
	}
	if dead {
		c.removeGroup(g)
	}
	return removed
}

// ExpireOffsets runs the offset expiration once (the
// delete-expired-group-metadata task).
func (c *Coordinator) ExpireOffsets() int {
	now := c.nowMs()
	retention := c.cfg.OffsetsRetention.Milliseconds()
	n := c.cleanupGroupMetadata(c.allGroups(), func(g *group) []TopicPartition { return g.removeExpiredOffsets(now, retention) })
	if n > 0 {
		c.logger.Info("removed expired offsets", "offsets", n)
	}
	return n
}

func (c *Coordinator) runExpiry() {
	tick := make(chan struct{}, 1)
	for {
		t := c.clock.AfterFunc(c.cfg.RetentionCheck, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-c.ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
		c.ExpireOffsets()
	}
}

// OnPartitionsDeleted removes the offsets of deleted topic partitions from
// every group (GroupCoordinator.handleDeletedPartitions).
func (c *Coordinator) OnPartitionsDeleted(tps []TopicPartition) {
	n := c.cleanupGroupMetadata(c.allGroups(), func(g *group) []TopicPartition { return g.removeOffsets(tps) })
	c.logger.Info("removed offsets associated with deleted partitions", "offsets", n, "partitions", len(tps))
}

// commitResults answers every requested offset with err, or with
// OFFSET_METADATA_TOO_LARGE where its metadata was refused
// (GroupMetadataManager.storeOffsets' response for both kinds of commit).
func (c *Coordinator) commitResults(offsets []CommitOffset, err *kerr.Error) []PartitionResult {
	out := make([]PartitionResult, len(offsets))
	for i, o := range offsets {
		out[i] = PartitionResult{TopicPartition: o.TopicPartition, Err: err}
		if c.metadataTooLarge(o.Metadata) {
			out[i].Err = kerr.OffsetMetadataTooLarge
		}
	}
	return out
}

// warnMixedCommits is GroupMetadata.hasReceivedConsistentOffsetCommits:
// a group committed to by consumers and by transactional producers only
// gets a warning. Called with g locked.
func (c *Coordinator) warnMixedCommits(g *group) {
	if g.receivedConsumerCommits && g.receivedTxnCommits {
		c.logger.Warn("group has received offset commits from consumers as well as transactional producers; mixing both types of offset commits will generally result in surprises and should be avoided",
			"group", g.id, "leader", g.leaderID)
	}
}

// offsetCommitRecords are the offset commit records of a group's
// accepted offsets, in request order.
func offsetCommitRecords(groupID string, order []TopicPartition, offsets map[TopicPartition]offsetAndMetadata) []Record {
	records := make([]Record, 0, len(order))
	for _, tp := range order {
		records = append(records, Record{Key: offsetCommitKey(groupID, tp), Value: offsetCommitValue(offsets[tp])})
	}
	return records
}
