package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

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

// reassignSets computes RS, adding and removing for a target given the
// partition's current replicas and its in-flight adding replicas.
func reassignSets(current, adding, target []int32) (rs, add, remove []int32) {
	var origin []int32
	for _, r := range current {
		if !slices.Contains(adding, r) {
			origin = append(origin, r)
		}
	}
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

// originReplicas is the replica set a partition had before its reassignment.
func (c *Controller) originReplicas(tp topicPartition) []int32 {
	a := c.state.topics[tp.Topic]
	var out []int32
	for _, r := range a.Partitions[tp.Partition] {
		if !slices.Contains(a.AddingReplicas[tp.Partition], r) {
			out = append(out, r)
		}
	}
	return out
}

// targetReplicas is where a reassigning partition is going: RS − removing.
func (c *Controller) targetReplicas(tp topicPartition) []int32 {
	a := c.state.topics[tp.Topic]
	var out []int32
	for _, r := range a.Partitions[tp.Partition] {
		if !slices.Contains(a.RemovingReplicas[tp.Partition], r) {
			out = append(out, r)
		}
	}
	return out
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
	a := c.state.topics[tp.Topic]
	_, adding, _ := reassignSets(a.Partitions[tp.Partition], a.AddingReplicas[tp.Partition], target)
	for _, r := range adding {
		if !c.state.isEligible(r) {
			var live []int32
			for _, id := range c.state.liveBrokerIDs() {
				if c.state.isEligible(id) {
					live = append(live, id)
				}
			}
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Replica assignment has brokers that are not alive. Replica list: %v, live broker list: %v", adding, live)
		}
	}
	return nil
}

func sortedCompact(s []int32) []int32 {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// startReassignment writes RS/adding/removing and moves the partition on
// (event loop).
func (c *Controller) startReassignment(tp topicPartition, target []int32) error {
	a := c.state.topics[tp.Topic]
	rs, add, remove := reassignSets(a.Partitions[tp.Partition], a.AddingReplicas[tp.Partition], target)
	next := cloneAssignment(a)
	next.Partitions[tp.Partition] = rs
	setOrDelete(next.AddingReplicas, tp.Partition, add)
	setOrDelete(next.RemovingReplicas, tp.Partition, remove)
	if err := c.writeAssignment(next); err != nil {
		return err
	}
	c.logger.Info("reassigning partition", "topic", tp.Topic, "partition", tp.Partition, "target", target, "replicas", rs, "adding", add, "removing", remove)
	// updateCurrentReassignment: adding replicas of a reassignment this one
	// replaces or cancels are not needed any more.
	var unneeded []int32
	for _, r := range a.Partitions[tp.Partition] {
		if !slices.Contains(rs, r) {
			unneeded = append(unneeded, r)
		}
	}
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

// onPartitionReassignment advances a reassigning partition (event loop).
func (c *Controller) onPartitionReassignment(tp topicPartition) {
	target := c.targetReplicas(tp)
	cur, ok := c.state.partitions[tp]
	if !ok {
		return
	}
	if isSubset(target, cur.ISR) {
		c.completeReassignment(tp, target)
		return
	}
	// Phase A: bump the leader epoch so every replica of RS (new ones too)
	// learns the replica set, and start the new replicas.
	next := cur
	next.LeaderEpoch++
	next.ControllerEpoch = c.epoch
	if cur.Leader != noLeader && c.writeState(tp, next) {
		c.sendLeaderAndIsr([]topicPartition{tp})
	}
	c.sendUpdateMetadata(nil, []topicPartition{tp})
}

// maybeCompleteReassignment finishes a reassignment once its target has
// caught up (called after ISR changes).
func (c *Controller) maybeCompleteReassignment(tp topicPartition) {
	target := c.targetReplicas(tp)
	if st, ok := c.state.partitions[tp]; ok && isSubset(target, st.ISR) {
		c.completeReassignment(tp, target)
	}
}

// completeReassignment is phase B (event loop).
func (c *Controller) completeReassignment(tp topicPartition, target []int32) {
	a := c.state.topics[tp.Topic]
	removing := slices.Clone(a.RemovingReplicas[tp.Partition])
	cur := c.state.partitions[tp]
	// B2: the replica set is the target from here on (requests carry it).
	final := cloneAssignment(a)
	final.Partitions[tp.Partition] = slices.Clone(target)
	delete(final.AddingReplicas, tp.Partition)
	delete(final.RemovingReplicas, tp.Partition)
	c.state.topics[tp.Topic] = final
	// B3: a leader from the target, or the same leader with a new epoch.
	next := cur
	if cur.Leader == noLeader || !slices.Contains(target, cur.Leader) || !c.state.isEligible(cur.Leader) {
		if n, ok := electReassignmentLeader(cur, target, c.state.isEligible, c.epoch); ok {
			next = n
		} else {
			next.LeaderEpoch++
			next.ControllerEpoch = c.epoch
			c.logger.Warn("no live in-sync replica of the reassignment target can lead", "topic", tp.Topic, "partition", tp.Partition, "target", target)
		}
	} else {
		next.LeaderEpoch++
		next.ControllerEpoch = c.epoch
	}
	// B4: removed replicas leave the ISR (never emptied).
	var isr []int32
	for _, r := range next.ISR {
		if !slices.Contains(removing, r) {
			isr = append(isr, r)
		}
	}
	if len(isr) > 0 {
		next.ISR = isr
	}
	if !c.writeState(tp, next) {
		c.state.topics[tp.Topic] = a
		return
	}
	c.sendLeaderAndIsr([]topicPartition{tp})
	for _, r := range removing {
		if s, ok := c.senders[r]; ok && c.state.isLive(r) {
			s.send(c.stopReplicaRequest(r, []topicPartition{tp}, true))
		}
	}
	// B5: the final assignment goes to ZooKeeper last.
	c.state.topics[tp.Topic] = a
	if err := c.writeAssignment(final); err != nil {
		c.logger.Error("writing the final assignment failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		c.state.topics[tp.Topic] = final
	}
	c.sendUpdateMetadata(nil, []topicPartition{tp})
	c.logger.Info("reassignment completed", "topic", tp.Topic, "partition", tp.Partition, "replicas", target)
	if _, ok := c.state.legacyReassign[tp]; ok {
		delete(c.state.legacyReassign, tp)
		c.writeLegacyReassignments()
	}
	// A deletion of the topic waiting for this reassignment may go on
	// (onPartitionReassignment -> resumeDeletionForTopics).
	c.resumeDeletionForTopics([]string{tp.Topic})
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
	}
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
		replicas = c.originReplicas(tp)
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
