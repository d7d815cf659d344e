package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Partition reassignment, as Kafka's KafkaController.onPartitionReassignment
// (ZooKeeper mode):
//
//	RS = target ++ original (distinct); adding = RS − original; removing = RS − target
//	U1. write RS, adding and removing to the topic znode
//	A.  while target ⊄ ISR: bump the leader epoch and send LeaderAndIsr to RS
//	    (new replicas start and catch up; the leader adds them to the ISR
//	    through AlterPartition, which brings us back here)
//	B.  once target ⊆ ISR: elect a leader from the target if the current one
//	    is not in it (else bump the epoch), drop removed replicas from the ISR,
//	    StopReplica(delete) them, and write the final assignment last.
//
// The decisions are pure functions (replicaAssignment.reassignTo for U,
// nextReassignmentStep for A and B); startReassignment,
// onPartitionReassignment and completeReassignment apply them.

// replicaAssignment is one partition's full replica assignment, Kafka's
// ReplicaAssignment: RS, and while a reassignment is under way the replicas
// it adds (AR) and removes (RR).
type replicaAssignment struct {
	replicas, adding, removing []int32
}

// origin is ORS = RS − AR, the replica set before the reassignment; a
// cancellation reassigns the partition to it.
func (a replicaAssignment) origin() []int32 { return without(a.replicas, a.adding) }

// target is TRS = RS − RR, where the reassignment is going.
func (a replicaAssignment) target() []int32 { return without(a.replicas, a.removing) }

// without is replicas, in order, less those in drop.
func without(replicas, drop []int32) []int32 {
	var out []int32
	for _, r := range replicas {
		if !slices.Contains(drop, r) {
			out = append(out, r)
		}
	}
	return out
}

// reassignSets computes RS, adding and removing for a target given the
// partition's current replicas and its in-flight adding replicas.
func reassignSets(current, adding, target []int32) (rs, add, remove []int32) {
	origin := replicaAssignment{replicas: current, adding: adding}.origin()
	for _, r := range append(slices.Clone(target), origin...) {
		if !slices.Contains(rs, r) {
			rs = append(rs, r)
		}
	}
	for _, r := range rs {
		if !slices.Contains(origin, r) {
			add = append(add, r)
		}
		if !slices.Contains(target, r) {
			remove = append(remove, r)
		}
	}
	return rs, add, remove
}

// reassignTo is phase U of a reassignment to target (Kafka's
// updateCurrentReassignment): the assignment to write (U1), and the
// replicas of the current RS that the new one drops (U3: adding replicas
// of a reassignment this one replaces or cancels), to be stopped.
func (a replicaAssignment) reassignTo(target []int32) (next replicaAssignment, unneeded []int32) {
	next.replicas, next.adding, next.removing = reassignSets(a.replicas, a.adding, target)
	for _, r := range a.replicas {
		if !slices.Contains(next.replicas, r) {
			unneeded = append(unneeded, r)
		}
	}
	return next, unneeded
}

// reassignmentStep is what onPartitionReassignment does next for a
// partition being reassigned.
type reassignmentStep struct {
	// complete: TRS ⊆ ISR, phase B; otherwise phase A.
	complete bool
	// next goes to ZooKeeper and to the replicas in LeaderAndIsr. Both
	// phases write it: phase A bumps the leader epoch even of a partition
	// without a leader (updateLeaderEpoch: "increment the leader epoch even
	// if there are no leader or isr changes").
	next zkmeta.LeaderAndIsr
	// final is the replica set once complete (B2, B6: RS = TRS).
	final []int32
	// stop are the replicas of RR: out of the ISR (B4), then
	// StopReplica(delete) (B5).
	stop []int32
	// noTargetLeader: the leader had to move (not in TRS, or not live)
	// but no replica of TRS is live and in the ISR; the leader epoch is
	// bumped, and the leader stays unless it is in RR: then there is none.
	noTargetLeader bool
}

// nextReassignmentStep decides a reassigning partition's next step from its
// assignment and its state, as Kafka's onPartitionReassignment:
//
//	A (TRS ⊄ ISR): bump the leader epoch so that every replica of RS, the
//	   new ones too, learns the replica set (A1, A2); the new replicas
//	   start, catch up, and the leader adds them to the ISR through
//	   AlterPartition, which brings the partition back here.
//	B (TRS ⊆ ISR): RS = TRS (B2); a leader from TRS if the current one is
//	   not in it or not live (B3, moveReassignedPartitionLeaderIfRequired
//	   with ReassignPartitionLeaderElectionStrategy), else the same leader
//	   with a new epoch; RR leaves the ISR, never emptying it, one more
//	   leader epoch for each in-sync replica of RR (B4), and is stopped
//	   and deleted (B5).
//
// isEligible tells a broker that may lead: live and not shutting down.
func nextReassignmentStep(a replicaAssignment, cur zkmeta.LeaderAndIsr, isEligible func(int32) bool, controllerEpoch int32) reassignmentStep {
	target := a.target()
	bumped := cur
	bumped.LeaderEpoch++
	bumped.ControllerEpoch = controllerEpoch
	if !isSubset(target, cur.ISR) {
		return reassignmentStep{next: bumped}
	}
	step := reassignmentStep{complete: true, next: bumped, final: target, stop: slices.Clone(a.removing)}
	if cur.Leader == noLeader || !slices.Contains(target, cur.Leader) || !isEligible(cur.Leader) {
		if n, ok := electReassignmentLeader(cur, target, isEligible, controllerEpoch); ok {
			step.next = n
		} else {
			step.noTargetLeader = true
			// B4's OfflineReplica transition of RR
			// (removeReplicasFromIsr): a leader leaving the replica
			// set leaves the partition leaderless, for the next broker
			// change to elect from the ISR.
			if slices.Contains(a.removing, cur.Leader) {
				step.next.Leader = noLeader
			}
		}
	}
	var isr []int32
	for _, r := range step.next.ISR {
		if !slices.Contains(a.removing, r) {
			isr = append(isr, r)
		}
	}
	if len(isr) > 0 {
		// B4 takes RR out of the ISR one replica at a time
		// (OfflineReplica: removeReplicasFromIsr per replica), each a
		// new leader epoch after B3's: Kafka's leader epoch ends one
		// higher per removed in-sync replica. (A failed B3 election
		// writes nothing; its bump stands for the first of them.)
		extra := int32(len(step.next.ISR) - len(isr))
		if step.noTargetLeader {
			extra = max(extra-1, 0)
		}
		step.next.LeaderEpoch += extra
		step.next.ISR = isr
	}
	return step
}

// assignmentOf is a partition's full replica assignment.
func (s *clusterState) assignmentOf(tp topicPartition) replicaAssignment {
	a := s.topics[tp.Topic]
	return replicaAssignment{
		replicas: a.Partitions[tp.Partition],
		adding:   a.AddingReplicas[tp.Partition],
		removing: a.RemovingReplicas[tp.Partition],
	}
}

// validateTarget applies Kafka's checks on a reassignment target.
func (c *Controller) validateTarget(tp topicPartition, target []int32) *protocol.APIError {
	if _, ok := c.state.topics[tp.Topic].Partitions[tp.Partition]; !ok || c.state.deleting[tp.Topic] {
		return protocol.NewAPIError(kerr.UnknownTopicOrPartition, "The partition does not exist.")
	}
	if len(target) == 0 {
		return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Empty replica list specified in partition reassignment.")
	}
	if len(sortedCompact(target)) != len(target) {
		return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Duplicate replica ids in partition reassignment replica list: %v", target)
	}
	for _, r := range target {
		if r < 0 {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Invalid broker id in replica list: %v", target)
		}
	}
	// KafkaController.validateReplicas: only the replicas the reassignment
	// adds must be live (and not shutting down); kept ones may be down.
	next, _ := c.state.assignmentOf(tp).reassignTo(target)
	for _, r := range next.adding {
		if !c.state.isEligible(r) {
			var live []int32
			for _, id := range c.state.liveBrokerIDs() {
				if c.state.isEligible(id) {
					live = append(live, id)
				}
			}
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Replica assignment has brokers that are not alive. Replica list: %v, live broker list: %v", next.adding, live)
		}
	}
	return nil
}

func sortedCompact(s []int32) []int32 {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// startReassignment is phase U (event loop): it writes RS/adding/removing,
// stops the replicas the new assignment drops, and moves the partition on.
func (c *Controller) startReassignment(tp topicPartition, target []int32) error {
	a := c.state.topics[tp.Topic]
	ra, unneeded := c.state.assignmentOf(tp).reassignTo(target)
	next := cloneAssignment(a)
	next.Partitions[tp.Partition] = ra.replicas
	setOrDelete(next.AddingReplicas, tp.Partition, ra.adding)
	setOrDelete(next.RemovingReplicas, tp.Partition, ra.removing)
	if err := c.writeAssignment(next); err != nil {
		return err
	}
	c.logger.Info("reassigning partition", "topic", tp.Topic, "partition", tp.Partition, "target", target, "replicas", ra.replicas, "adding", ra.adding, "removing", ra.removing)
	if len(unneeded) > 0 {
		c.stopRemovedReplicas(tp, unneeded)
	}
	c.onPartitionReassignment(tp)
	return nil
}

// stopRemovedReplicas is Kafka's stopRemovedReplicasOfReassignedPartition
// for replicas no longer in a partition's replica set: OfflineReplica (out
// of the ISR, the remaining replicas told through LeaderAndIsr), then
// StopReplica(delete) so they stop fetching and delete their logs.
func (c *Controller) stopRemovedReplicas(tp topicPartition, removed []int32) {
	c.logger.Info("stopping replicas a reassignment no longer needs", "topic", tp.Topic, "partition", tp.Partition, "replicas", removed)
	if _, ok := c.state.partitions[tp]; ok && c.transition(tp, func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
		return removeFromISR(cur, removed, c.epoch)
	}) {
		c.sendLeaderAndIsr([]topicPartition{tp})
		c.sendUpdateMetadata(nil, []topicPartition{tp})
	}
	for _, r := range removed {
		if s, ok := c.senders[r]; ok && c.state.isLive(r) {
			s.send(c.stopReplicaRequest(r, []topicPartition{tp}, true))
		}
	}
}

// onPartitionReassignment advances a reassigning partition by the step
// nextReassignmentStep decides (event loop).
func (c *Controller) onPartitionReassignment(tp topicPartition) {
	cur, ok := c.state.partitions[tp]
	if !ok {
		return
	}
	step := nextReassignmentStep(c.state.assignmentOf(tp), cur, c.state.isEligible, c.epoch)
	if step.complete {
		c.completeReassignment(tp, step)
		return
	}
	// Phase A: every replica of RS, new ones too, learns the replica set;
	// the adding replicas get IsNew (A1 and A2, NewReplica).
	if c.writeState(tp, step.next) {
		c.sendLeaderAndIsrWith([]topicPartition{tp}, -1, c.addingReplicas)
	}
	c.sendUpdateMetadata(nil, []topicPartition{tp})
}

// maybeCompleteReassignment finishes a reassignment once its target has
// caught up (called after ISR changes).
func (c *Controller) maybeCompleteReassignment(tp topicPartition) {
	cur, ok := c.state.partitions[tp]
	if !ok {
		return
	}
	if step := nextReassignmentStep(c.state.assignmentOf(tp), cur, c.state.isEligible, c.epoch); step.complete {
		c.completeReassignment(tp, step)
	}
}

// completeReassignment applies phase B (event loop).
func (c *Controller) completeReassignment(tp topicPartition, step reassignmentStep) {
	a := c.state.topics[tp.Topic]
	// B2: the replica set is the target from here on (requests carry it).
	final := cloneAssignment(a)
	final.Partitions[tp.Partition] = slices.Clone(step.final)
	delete(final.AddingReplicas, tp.Partition)
	delete(final.RemovingReplicas, tp.Partition)
	c.state.topics[tp.Topic] = final
	if step.noTargetLeader {
		c.logger.Warn("no live in-sync replica of the reassignment target can lead", "topic", tp.Topic, "partition", tp.Partition, "target", step.final)
	}
	// B3, B4: the new leader (or epoch) and the ISR without RR.
	if err := c.writeStateErr(tp, step.next); err != nil {
		c.state.topics[tp.Topic] = a
		c.retryReassignmentLater(tp, err)
		return
	}
	c.sendLeaderAndIsr([]topicPartition{tp})
	// B5: RR stop and delete their logs.
	for _, r := range step.stop {
		if s, ok := c.senders[r]; ok && c.state.isLive(r) {
			s.send(c.stopReplicaRequest(r, []topicPartition{tp}, true))
		}
	}
	// B6: the final assignment goes to ZooKeeper last.
	c.state.topics[tp.Topic] = a
	if err := c.writeAssignment(final); err != nil {
		c.logger.Error("writing the final assignment failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		c.state.topics[tp.Topic] = final
		c.retryReassignmentLater(tp, err)
	}
	c.sendUpdateMetadata(nil, []topicPartition{tp})
	c.logger.Info("reassignment completed", "topic", tp.Topic, "partition", tp.Partition, "replicas", step.final)
	if _, ok := c.state.legacyReassign[tp]; ok {
		delete(c.state.legacyReassign, tp)
		c.writeLegacyReassignments()
	}
	// A deletion of the topic waiting for this reassignment may go on
	// (onPartitionReassignment -> resumeDeletionForTopics).
	c.resumeDeletionForTopics([]string{tp.Topic})
}

// reassignmentRetry is how soon a reassignment step that could not reach
// ZooKeeper is tried again.
const reassignmentRetry = time.Second

// retryReassignmentLater tries a completion step again later when its
// ZooKeeper write failed for want of ZooKeeper (or on a stale version
// after such a failure). Kafka's KafkaZkClient holds the write until
// ZooKeeper is back (retryRequestsUntilConnected), so phase B never stops
// half-way on an outage; ours fails at once, and without a retry nothing
// would move the partition on: the target is in the ISR already, so no
// AlterPartition comes. A session expiry ends the event loop, and with it
// the retries; the next controller resumes from ZooKeeper.
func (c *Controller) retryReassignmentLater(tp topicPartition, err error) {
	if !zkUnavailable(err) && !errors.Is(err, zkmeta.ErrBadVersion) {
		return
	}
	c.mu.Lock()
	events := c.events
	c.mu.Unlock()
	if events == nil || c.sessionLost() {
		return
	}
	c.logger.Warn("reassignment step failed; retrying", "topic", tp.Topic, "partition", tp.Partition, "in", reassignmentRetry, "err", err)
	c.onLoopAfter(events, reassignmentRetry, func() { c.resumeReassignment(tp) })
}

// resumeReassignment is the retry of a completion step (event loop): a
// partition still reassigning goes through onPartitionReassignment again;
// one the cache has completed while ZooKeeper still holds its adding and
// removing replicas (B6 not written) gets its final assignment written.
func (c *Controller) resumeReassignment(tp topicPartition) {
	if _, ok := c.state.topics[tp.Topic].Partitions[tp.Partition]; !ok {
		return // the topic is gone
	}
	if c.state.reassigning(tp) {
		c.onPartitionReassignment(tp)
		return
	}
	stored, ver, ok, err := c.zk.TopicAssignment(tp.Topic)
	if err != nil {
		c.retryReassignmentLater(tp, err)
		return
	}
	if !ok || (len(stored.AddingReplicas[tp.Partition]) == 0 && len(stored.RemovingReplicas[tp.Partition]) == 0) {
		return // written meanwhile
	}
	c.state.topicVersions[tp.Topic] = ver
	if err := c.writeAssignment(c.state.topics[tp.Topic]); err != nil {
		c.logger.Error("writing the final assignment failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		c.retryReassignmentLater(tp, err)
		return
	}
	c.logger.Info("final assignment written", "topic", tp.Topic, "partition", tp.Partition, "replicas", c.state.topics[tp.Topic].Partitions[tp.Partition])
}

// writeAssignment writes a topic znode with CAS and caches it.
func (c *Controller) writeAssignment(a zkmeta.TopicAssignment) error {
	v, err := c.zk.UpdateTopicAssignmentFenced(c.epochZkVersion, a, c.state.topicVersions[a.Topic])
	if err != nil {
		err = c.fenced(err)
		if _, ver, ok, rerr := c.zk.TopicAssignment(a.Topic); rerr == nil && ok {
			c.state.topicVersions[a.Topic] = ver
		}
		return fmt.Errorf("writing assignment of %s: %w", a.Topic, err)
	}
	c.state.topics[a.Topic] = a
	c.state.topicVersions[a.Topic] = v
	return nil
}

// resumeReassignments continues reassignments found in topic znodes at
// failover, those of topics queued for deletion too: their deletion waits
// for them (initializePartitionReassignments).
func (c *Controller) resumeReassignments() {
	for _, tp := range c.state.allPartitions() {
		if c.state.reassigning(tp) {
			c.onPartitionReassignment(tp)
		}
	}
}

// AlterPartitionReassignments starts or cancels (null replicas)
// reassignments (API key 45).
func (c *Controller) AlterPartitionReassignments(_ context.Context, req *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.Version = req.Version
	resp.AllowReplicationFactorChange = req.AllowReplicationFactorChange
	ran := c.submit(func() {
		for _, t := range req.Topics {
			rt := kmsg.AlterPartitionAssignmentsResponseTopic{Topic: t.Topic}
			for _, p := range t.Partitions {
				rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
				rp.Partition = p.Partition
				if err := c.alterReassignment(topicPartition{t.Topic, p.Partition}, p.Replicas); err != nil {
					rp.ErrorCode, rp.ErrorMessage = protocol.ErrorCodeMessage(err)
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
	})
	if !ran {
		resp.ErrorCode = kerr.NotController.Code
		resp.Topics = nil
		return resp
	}
	// KafkaApis answers per-partition results without setting the
	// top-level message: the schema's default, "".
	resp.ErrorMessage = kmsg.StringPtr("")
	return resp
}

// alterReassignment starts (replicas non-nil) or cancels one reassignment.
func (c *Controller) alterReassignment(tp topicPartition, replicas []int32) *protocol.APIError {
	if replicas == nil {
		if _, ok := c.state.topics[tp.Topic].Partitions[tp.Partition]; !ok || c.state.deleting[tp.Topic] {
			return protocol.NewAPIError(kerr.UnknownTopicOrPartition, "The partition does not exist.")
		}
		if !c.state.reassigning(tp) {
			return protocol.NewAPIError(kerr.NoReassignmentInProgress, "No reassignment in progress for %s-%d.", tp.Topic, tp.Partition)
		}
		replicas = c.state.assignmentOf(tp).origin() // cancellation: back to ORS
	} else if err := c.validateTarget(tp, replicas); err != nil {
		return err
	}
	// The latest reassignment wins: an API one drops the partition from
	// the legacy znode (maybeRemoveFromZkReassignment).
	c.removeLegacyReassignment(tp)
	if err := c.startReassignment(tp, replicas); err != nil {
		c.logger.Error("reassignment failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		return protocol.NewAPIError(kerr.UnknownServerError, "%s", err)
	}
	return nil
}

// ListPartitionReassignments lists reassignments under way (API key 46).
func (c *Controller) ListPartitionReassignments(_ context.Context, req *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse {
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	resp.Version = req.Version
	ran := c.submit(func() {
		var parts []topicPartition
		if req.Topics == nil {
			parts = c.state.allPartitions()
		} else {
			for _, t := range req.Topics {
				for _, p := range t.Partitions {
					parts = append(parts, topicPartition{t.Topic, p})
				}
			}
		}
		byTopic := map[string]int{}
		for _, tp := range parts {
			// Topics queued for deletion included: their deletion waits
			// for their reassignments (processListPartitionReassignments).
			if !c.state.reassigning(tp) {
				continue
			}
			a := c.state.topics[tp.Topic]
			i, ok := byTopic[tp.Topic]
			if !ok {
				i = len(resp.Topics)
				byTopic[tp.Topic] = i
				resp.Topics = append(resp.Topics, kmsg.ListPartitionReassignmentsResponseTopic{Topic: tp.Topic})
			}
			rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			rp.Partition = tp.Partition
			rp.Replicas = slices.Clone(a.Partitions[tp.Partition])
			rp.AddingReplicas = append([]int32{}, a.AddingReplicas[tp.Partition]...)
			rp.RemovingReplicas = append([]int32{}, a.RemovingReplicas[tp.Partition]...)
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
		}
	})
	if !ran {
		resp.ErrorCode = kerr.NotController.Code
	}
	return resp
}

// handleReassignZnode processes the legacy /admin/reassign_partitions
// znode: new entries start reassignments; invalid ones are dropped from it.
func (c *Controller) handleReassignZnode(events chan func()) {
	parts, ok, watch, err := c.zk.WatchReassignPartitions()
	if watch != nil {
		c.onWatch(events, watch, func() { c.handleReassignZnode(events) })
	}
	if err != nil {
		c.logger.Error("reading /admin/reassign_partitions failed", "err", err)
		return
	}
	if !ok {
		return
	}
	dirty := false
	for _, p := range parts {
		tp := topicPartition{p.Topic, p.Partition}
		if old, ok := c.state.legacyReassign[tp]; ok && slices.Equal(old, p.Replicas) {
			continue
		}
		if aerr := c.validateTarget(tp, p.Replicas); aerr != nil {
			c.logger.Warn("ignoring legacy reassignment", "topic", tp.Topic, "partition", tp.Partition, "err", aerr.Message)
			dirty = true
			continue
		}
		c.state.legacyReassign[tp] = slices.Clone(p.Replicas)
		if err := c.startReassignment(tp, p.Replicas); err != nil {
			c.logger.Error("legacy reassignment failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
			delete(c.state.legacyReassign, tp)
			dirty = true
		}
	}
	if dirty {
		c.writeLegacyReassignments()
	}
}

// removeLegacyReassignment takes one partition out of
// /admin/reassign_partitions as Kafka's maybeRemoveFromZkReassignment: the
// znode is read, and rewritten without it (deleted when nothing remains).
func (c *Controller) removeLegacyReassignment(tp topicPartition) {
	delete(c.state.legacyReassign, tp)
	data, _, err := c.zk.Get(zkmeta.ReassignPath)
	if errors.Is(err, zkmeta.ErrNoNode) {
		return
	}
	if err != nil {
		c.logger.Error("reading /admin/reassign_partitions failed", "err", err)
		return
	}
	parts, err := zkmeta.DecodeReassignPartitions(data)
	if err != nil {
		c.logger.Warn("unreadable /admin/reassign_partitions", "err", err)
		return
	}
	kept := slices.DeleteFunc(parts, func(p zkmeta.PartitionReplicas) bool { return p.Topic == tp.Topic && p.Partition == tp.Partition })
	if len(kept) == len(parts) {
		return
	}
	if err := c.zk.SetReassignPartitions(c.epochZkVersion, kept); err != nil {
		c.logger.Error("updating /admin/reassign_partitions failed", "err", c.fenced(err))
	}
}

// writeLegacyReassignments rewrites /admin/reassign_partitions with the
// legacy reassignments still under way (deleting it when none remain).
func (c *Controller) writeLegacyReassignments() {
	var parts []zkmeta.PartitionReplicas
	for tp, target := range c.state.legacyReassign {
		parts = append(parts, zkmeta.PartitionReplicas{Topic: tp.Topic, Partition: tp.Partition, Replicas: target})
	}
	if err := c.zk.SetReassignPartitions(c.epochZkVersion, parts); err != nil {
		c.logger.Error("updating /admin/reassign_partitions failed", "err", c.fenced(err))
	}
}

func isSubset(sub, set []int32) bool {
	for _, r := range sub {
		if !slices.Contains(set, r) {
			return false
		}
	}
	return true
}

func cloneAssignment(a zkmeta.TopicAssignment) zkmeta.TopicAssignment {
	out := a
	out.Partitions = cloneMap(a.Partitions)
	out.AddingReplicas = cloneMap(a.AddingReplicas)
	out.RemovingReplicas = cloneMap(a.RemovingReplicas)
	return out
}

func cloneMap(m map[int32][]int32) map[int32][]int32 {
	out := make(map[int32][]int32, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func setOrDelete(m map[int32][]int32, p int32, v []int32) {
	if len(v) == 0 {
		delete(m, p)
		return
	}
	m[p] = v
}
