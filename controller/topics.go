package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// CreateTopics validates each topic, computes its replica assignment with
// Kafka's algorithm, writes /config/topics/<t> and /brokers/topics/<t>, elects
// the first leaders and tells the brokers. It waits (up to the request's
// timeout) for the brokers to acknowledge, so the topic is usable when the
// response arrives.
func (c *Controller) CreateTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	resp.Version = req.Version
	results := make([]kmsg.CreateTopicsResponseTopic, len(req.Topics))
	seen := map[string]int{}
	for _, t := range req.Topics {
		seen[t.Topic]++
	}
	var waits []<-chan error
	ran := c.submit(func() {
		for i, t := range req.Topics {
			r := kmsg.NewCreateTopicsResponseTopic()
			r.Topic = t.Topic
			// KafkaApis.handleCreateTopicsRequest, before the topic's checks.
			if t.Topic == clusterMetadataTopic {
				r.ErrorCode = kerr.InvalidRequest.Code
				r.ErrorMessage = ptr("Creation of internal topic " + clusterMetadataTopic + " is prohibited.")
				results[i] = r
				continue
			}
			if seen[t.Topic] > 1 {
				r.ErrorCode = kerr.InvalidRequest.Code
				r.ErrorMessage = ptr("Found multiple entries for this topic.")
				results[i] = r
				continue
			}
			a, done, err := c.createTopic(t, req.ValidateOnly)
			if err != nil {
				r.ErrorCode, r.ErrorMessage = c.answerError("create topic failed", t.Topic, err)
				results[i] = r
				continue
			}
			r.TopicID = a.TopicID
			r.NumPartitions = int32(len(a.Partitions))
			r.ReplicationFactor = int16(len(a.Partitions[0]))
			results[i] = r
			waits = append(waits, done...)
		}
	})
	if !ran {
		for i, t := range req.Topics {
			r := kmsg.NewCreateTopicsResponseTopic()
			r.Topic = t.Topic
			r.ErrorCode = kerr.NotController.Code
			results[i] = r
		}
	}
	waitAll(ctx, waits, time.Duration(req.TimeoutMillis)*time.Millisecond)
	resp.Topics = results
	return resp
}

// createTopic runs on the event loop. It checks in
// ZkAdminManager.createTopics' order: the topic known to the metadata
// (one being deleted is not), null config values, numbers and an
// assignment both given, Kafka's automatic assignment, then
// AdminZkClient.validateTopicCreate: the name, a deletion under way, the
// topic's existence, colliding names, the manual assignment (replica
// counts, duplicates, partition ids; its brokers are not checked: a
// replica on an unknown broker is offline until that broker registers),
// and last the config names and values.
func (c *Controller) createTopic(t kmsg.CreateTopicsRequestTopic, validateOnly bool) (zkmeta.TopicAssignment, []<-chan error, error) {
	var a zkmeta.TopicAssignment
	if _, exists := c.state.topics[t.Topic]; exists && !c.state.deleting[t.Topic] {
		return a, nil, protocol.NewAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
	}
	var nullConfigs []string
	configs := map[string]string{}
	for _, cfg := range t.Configs {
		if cfg.Value == nil {
			nullConfigs = append(nullConfigs, cfg.Name)
			continue
		}
		configs[cfg.Name] = *cfg.Value
	}
	if len(nullConfigs) > 0 {
		return a, nil, protocol.NewAPIError(kerr.InvalidConfig, "Null value not supported for topic configs: %s", strings.Join(nullConfigs, ","))
	}
	partitions, err := c.topicAssignment(t)
	if err != nil {
		return a, nil, err
	}
	if err := zkmeta.ValidateTopicName(t.Topic); err != nil {
		return a, nil, protocol.NewAPIError(kerr.InvalidTopicException, "%s", err)
	}
	if c.state.deleting[t.Topic] {
		return a, nil, protocol.NewAPIError(kerr.TopicAlreadyExists, "Topic '%s' is marked for deletion.", t.Topic)
	}
	if _, exists := c.state.topics[t.Topic]; exists {
		return a, nil, protocol.NewAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
	}
	if colliding := c.collidingTopics(t.Topic); len(colliding) > 0 {
		return a, nil, protocol.NewAPIError(kerr.InvalidTopicException, "Topic '%s' collides with existing topics: %s", t.Topic, strings.Join(colliding, ", "))
	}
	if err := checkTopicAssignment(partitions); err != nil {
		return a, nil, err
	}
	for _, cfg := range t.Configs { // LogConfig.validate: validateNames
		if !slices.Contains(zkmeta.TopicConfigNames, cfg.Name) {
			return a, nil, protocol.NewAPIError(kerr.InvalidConfig, "Unknown topic config name: %s", cfg.Name)
		}
	}
	if c.cfg.ValidateTopicConfigs != nil {
		if err := c.cfg.ValidateTopicConfigs(configs); err != nil {
			return a, nil, protocol.NewAPIError(kerr.InvalidConfig, "%s", err)
		}
	}
	a = zkmeta.TopicAssignment{Topic: t.Topic, TopicID: zkmeta.NewTopicID(), Partitions: partitions}
	if validateOnly {
		return a, nil, nil
	}
	if err := c.zk.CreateTopic(a, configs); err != nil {
		if errors.Is(err, zkmeta.ErrTopicExists) {
			return a, nil, protocol.NewAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
		}
		return a, nil, fmt.Errorf("writing topic %s: %w", t.Topic, err)
	}
	c.logger.Info("created topic", "topic", t.Topic, "topic_id", zkmeta.UUIDString(a.TopicID), "assignment", partitions)
	// Watched like a topic found by the /brokers/topics watch
	// (registerPartitionModificationsHandlers), so partitions added by an
	// admin path are seen.
	c.watchTopic(t.Topic)
	_, version, _, err := c.zk.TopicAssignment(t.Topic)
	if err != nil {
		return a, nil, fmt.Errorf("reading back topic %s: %w", t.Topic, err)
	}
	c.state.topics[t.Topic] = a
	c.state.topicVersions[t.Topic] = version
	return a, c.onNewPartitions(c.state.partitionsOf(t.Topic)), nil
}

// collidingTopics lists, sorted, the existing topics whose names equal
// topic once '.' and '_' are unified (Kafka's Topic.hasCollision: both
// become '_' in metric names).
func (c *Controller) collidingTopics(topic string) []string {
	if !strings.ContainsAny(topic, "._") { // Topic.hasCollisionChars
		return nil
	}
	unified := strings.ReplaceAll(topic, ".", "_")
	var out []string
	for t := range c.state.topics {
		if t != topic && strings.ReplaceAll(t, ".", "_") == unified {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// topicAssignment is the explicit replica assignment of the request (a
// later entry for the same partition replaces an earlier one, as Kafka's
// map), checked by checkTopicAssignment, or Kafka's automatic assignment
// over the live brokers (AdminUtils.assignReplicasToBrokers).
func (c *Controller) topicAssignment(t kmsg.CreateTopicsRequestTopic) (map[int32][]int32, error) {
	if len(t.ReplicaAssignment) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return nil, protocol.NewAPIError(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		out := map[int32][]int32{}
		for _, ra := range t.ReplicaAssignment {
			out[ra.Partition] = ra.Replicas
		}
		return out, nil
	}
	n, rf := t.NumPartitions, t.ReplicationFactor
	if n == -1 {
		n = c.cfg.NumPartitions
	}
	if rf == -1 {
		rf = c.cfg.DefaultReplicationFactor
	}
	if n <= 0 {
		return nil, protocol.NewAPIError(kerr.InvalidPartitions, "Number of partitions must be larger than 0.")
	}
	if rf <= 0 {
		return nil, protocol.NewAPIError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0.")
	}
	live := c.state.liveBrokerIDs()
	if int(rf) > len(live) {
		return nil, protocol.NewAPIError(kerr.InvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, len(live))
	}
	out, err := assignForBrokers(c.liveBrokerRacks(), n, rf, -1, 0, c.rnd)
	if err != nil {
		return nil, assignmentError(err)
	}
	return out, nil
}

// checkTopicAssignment is validateTopicCreate's check of a new topic's
// assignment: one replica count for all partitions, no duplicate broker in
// a partition, partition ids 0..n-1. Kafka lets a topic whose every
// partition has no replica through; it is refused here with the message
// of its CreatePartitions counterpart, and so are ids that pass Kafka's
// sum-of-ids test without being 0..n-1.
func checkTopicAssignment(a map[int32][]int32) error {
	ids := slices.Sorted(maps.Keys(a))
	rf := -1
	for _, p := range ids {
		if rf >= 0 && len(a[p]) != rf {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "All partitions should have the same number of replicas")
		}
		rf = len(a[p])
	}
	for _, p := range ids {
		if hasDuplicate(a[p]) {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Duplicate replica assignment found: %s", scalaAssignmentString(a))
		}
	}
	for i, p := range ids {
		if p != int32(i) {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "partitions should be a consecutive 0-based integer sequence")
		}
	}
	if rf == 0 {
		return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Cannot have replication factor of 0 for partition id %d.", ids[0])
	}
	return nil
}

// scalaAssignmentString renders an assignment as Kafka's message shows its
// mutable.HashMap[Int, ArrayBuffer[Int]]: small partition ids iterate in
// ascending order.
func scalaAssignmentString(a map[int32][]int32) string {
	var b strings.Builder
	b.WriteString("HashMap(")
	for i, p := range slices.Sorted(maps.Keys(a)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d -> ArrayBuffer(%s)", p, joinIDs(a[p]))
	}
	b.WriteString(")")
	return b.String()
}

// DeleteTopics marks topics for deletion (/admin/delete_topics) and starts
// deleting them: UpdateMetadata without them, StopReplica with delete to
// every live replica, and the znodes once every replica has confirmed.
func (c *Controller) DeleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	for _, n := range req.TopicNames {
		name := n
		targets = append(targets, target{name: &name})
	}
	for _, t := range req.Topics {
		targets = append(targets, target{name: t.Topic, id: t.TopicID})
	}
	var waits []<-chan error
	results := make([]kmsg.DeleteTopicsResponseTopic, len(targets))
	ran := c.submit(func() {
		var marked []string
		for i, t := range targets {
			r := kmsg.NewDeleteTopicsResponseTopic()
			r.Topic, r.TopicID = t.name, t.id
			name, err := c.resolveTopic(t.name, t.id)
			switch {
			case err != nil:
				r.ErrorCode, r.ErrorMessage = protocol.ErrorCodeMessage(err)
			case !c.cfg.DeleteTopicEnable:
				r.ErrorCode = kerr.TopicDeletionDisabled.Code
				r.ErrorMessage = ptr("Topic deletion is disabled.")
			default:
				r.Topic, r.TopicID = &name, c.state.topics[name].TopicID
				if err := c.zk.MarkTopicForDeletion(name); err != nil && !errors.Is(err, zkmeta.ErrTopicMarked) {
					r.ErrorCode, r.ErrorMessage = kerr.UnknownServerError.Code, ptr(err.Error())
					if zkUnavailable(err) {
						r.ErrorCode, r.ErrorMessage = kerr.RequestTimedOut.Code, nil
					}
					break
				}
				marked = append(marked, name)
			}
			results[i] = r
		}
		var fresh []string
		for _, t := range marked {
			if !c.state.deleting[t] {
				fresh = append(fresh, t)
			}
		}
		waits = c.deleteTopics(fresh)
	})
	if !ran {
		for i, t := range targets {
			r := kmsg.NewDeleteTopicsResponseTopic()
			r.Topic, r.TopicID, r.ErrorCode = t.name, t.id, kerr.NotController.Code
			results[i] = r
		}
	}
	waitAll(ctx, waits, time.Duration(req.TimeoutMillis)*time.Millisecond)
	resp.Topics = results
	return resp
}

func (c *Controller) resolveTopic(name *string, id [16]byte) (string, *protocol.APIError) {
	if name != nil && *name != "" {
		if _, ok := c.state.topics[*name]; !ok {
			return "", protocol.NewAPIError(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
		}
		return *name, nil
	}
	for n, a := range c.state.topics {
		if a.TopicID == id {
			return n, nil
		}
	}
	return "", protocol.NewAPIError(kerr.UnknownTopicID, "This server does not host this topic ID.")
}

// handleDeletions reads /admin/delete_topics, re-arms its watch, and
// deletes what is marked (or unmarks it when deletion is disabled). On
// failover (resume) topics already marked as deleting are retried too.
func (c *Controller) handleDeletions(events chan func(), resume bool) {
	names, watch, err := c.zk.WatchTopicDeletions()
	if err != nil {
		c.logger.Error("watching /admin/delete_topics failed", "err", err)
		return
	}
	c.onWatch(events, watch, func() { c.handleDeletions(events, false) })
	var todo []string
	for _, t := range names {
		switch {
		case !c.cfg.DeleteTopicEnable:
			c.logger.Info("topic deletion is disabled; removing the deletion mark", "topic", t)
			_ = c.fenced(c.zk.UnmarkTopicForDeletion(c.epochZkVersion, t))
		case c.state.topics[t].Partitions == nil:
			_ = c.fenced(c.zk.UnmarkTopicForDeletion(c.epochZkVersion, t)) // not a topic
		case resume || !c.state.deleting[t]:
			todo = append(todo, t)
		}
	}
	c.deleteTopics(todo)
}

// deleteTopics queues topics for deletion and moves every deletion on
// (Kafka's TopicDeletionManager.enqueueTopicsForDeletion).
func (c *Controller) deleteTopics(topics []string) []<-chan error {
	for _, t := range topics {
		c.state.deleting[t] = true
		if c.state.topicReassigning(t) {
			c.logger.Info("topic deletion halted: topic reassignment in progress", "topic", t)
		}
	}
	return c.resumeDeletions()
}

// topicReassigning reports whether any partition of a topic is being
// reassigned: its deletion waits meanwhile (Kafka's onPartitionReassignment
// and processTopicDeletion mark it ineligible for deletion, and the
// reassignment's completion resumes it).
func (s *clusterState) topicReassigning(topic string) bool {
	for _, tp := range s.partitionsOf(topic) {
		if s.reassigning(tp) {
			return true
		}
	}
	return false
}

// deletionStep is what resumeDeletions does for a topic queued for
// deletion.
type deletionStep int8

const (
	deletionStepInFlight deletionStep = iota // replica deletions under way: wait for their answers
	deletionStepComplete                     // every replica deleted: the topic's znodes go
	deletionStepHalted                       // failed replicas reset, but the deletion waits (a broker to start, or a reassignment)
	deletionStepStart                        // failed replicas reset and the deletion (re)started
)

// nextDeletionStep decides a topic's deletion as Kafka's
// TopicDeletionManager.resumeDeletions: done once all its replicas are
// deleted; nothing while a replica deletion is in flight; else its failed
// replicas are retried (retryDeletionForIneligibleReplicas) and, unless
// halted until a broker starts or one of its partitions is being
// reassigned, its deletion starts.
func nextDeletionStep(s *clusterState, topic string) deletionStep {
	switch {
	case s.allReplicasDeleted(topic):
		return deletionStepComplete
	case s.anyReplicaInDeletionState(topic, deletionStarted):
		return deletionStepInFlight
	case s.deletionHalted[topic] || s.topicReassigning(topic):
		return deletionStepHalted
	}
	return deletionStepStart
}

// resumeDeletions is TopicDeletionManager.resumeDeletions (event loop): it
// applies nextDeletionStep to every topic queued for deletion.
func (c *Controller) resumeDeletions() []<-chan error {
	topics := make([]string, 0, len(c.state.deleting))
	for t := range c.state.deleting {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	var start []string
	for _, t := range topics {
		step := nextDeletionStep(c.state, t)
		switch step {
		case deletionStepComplete:
			c.completeDeleteTopic(t)
			continue
		case deletionStepInFlight:
			continue
		}
		for pr, st := range c.state.replicaDeletion {
			if pr.tp.Topic == t && st == deletionIneligible {
				delete(c.state.replicaDeletion, pr)
			}
		}
		if step == deletionStepStart {
			start = append(start, t)
		}
	}
	if len(start) == 0 {
		return nil
	}
	return c.onTopicDeletion(start)
}

// replicaDeletionMoves sorts the replicas of partitions being deleted as
// Kafka's onPartitionDeletion: a replica not yet deleted whose broker is
// online gets StopReplica(delete) and moves to ReplicaDeletionStarted
// (start, by broker); an offline one moves to ReplicaDeletionIneligible and
// halts its topic's deletion until a broker holding it starts.
func replicaDeletionMoves(s *clusterState, parts []topicPartition) (start map[int32][]topicPartition, ineligible []partitionReplica) {
	start = map[int32][]topicPartition{}
	for _, tp := range parts {
		for _, r := range s.replicas(tp) {
			pr := partitionReplica{tp, r}
			switch {
			case s.replicaDeletion[pr] == deletionSuccessful:
			case !s.isReplicaOnline(r, tp):
				ineligible = append(ineligible, pr)
			default:
				start[r] = append(start[r], tp)
			}
		}
	}
	return start, ineligible
}

// onTopicDeletion is TopicDeletionManager.onTopicDeletion and
// onPartitionDeletion: the topics' partitions leave every broker's
// metadata, then the moves replicaDeletionMoves decides are applied.
func (c *Controller) onTopicDeletion(topics []string) []<-chan error {
	var parts []topicPartition
	for _, t := range topics {
		parts = append(parts, c.state.partitionsOf(t)...)
	}
	done := c.sendUpdateMetadata(nil, parts)
	start, ineligible := replicaDeletionMoves(c.state, parts)
	for _, pr := range ineligible {
		c.state.replicaDeletion[pr] = deletionIneligible
		if !c.state.deletionHalted[pr.tp.Topic] {
			c.logger.Info("topic deletion waits for offline replicas", "topic", pr.tp.Topic, "broker", pr.replica)
		}
		c.state.deletionHalted[pr.tp.Topic] = true
	}
	for id, tps := range start {
		for _, tp := range tps {
			c.state.replicaDeletion[partitionReplica{tp, id}] = deletionStarted
		}
	}
	for _, id := range c.state.liveBrokerIDs() {
		if tps := start[id]; len(tps) > 0 {
			done = append(done, c.sendDeletingStopReplica(id, tps))
		}
	}
	return done
}

// sendDeletingStopReplica sends StopReplica(delete) for replicas of topics
// being deleted; the answer completes or fails each replica's deletion.
func (c *Controller) sendDeletingStopReplica(id int32, tps []topicPartition) <-chan error {
	epoch := c.state.liveBrokers[id].Epoch
	topicIDs := map[string][16]byte{}
	for _, tp := range tps {
		topicIDs[tp.Topic] = c.state.topics[tp.Topic].TopicID
	}
	return c.sendTracked(id, c.stopReplicaRequest(id, tps, true), func(resp kmsg.Response, err error) {
		c.onDeletingStopReplicaResponse(id, epoch, tps, topicIDs, resp, err)
	})
}

// onDeletingStopReplicaResponse is Kafka's
// processTopicDeletionStopReplicaResponseReceived (event loop). Only
// replicas still in ReplicaDeletionStarted for the same topic (same topic
// ID) count, and only answers (or their absence) from the incarnation of
// the broker that was asked: once it left or bounced, its failure has
// failed the replica and its restart retried it, and the retry's answer
// decides (a late failure from before the bounce would halt the deletion
// until yet another restart).
func (c *Controller) onDeletingStopReplicaResponse(id int32, epoch int64, asked []topicPartition, topicIDs map[string][16]byte, resp kmsg.Response, err error) {
	if b, live := c.state.liveBrokers[id]; !live || b.Epoch != epoch {
		return
	}
	var pending []topicPartition
	for _, tp := range asked {
		if c.state.deleting[tp.Topic] && c.state.topics[tp.Topic].TopicID == topicIDs[tp.Topic] &&
			c.state.replicaDeletion[partitionReplica{tp, id}] == deletionStarted {
			pending = append(pending, tp)
		}
	}
	if len(pending) == 0 {
		return
	}
	var deleted, failed []topicPartition
	r, ok := resp.(*kmsg.StopReplicaResponse)
	switch {
	case err != nil || !ok:
		failed = pending
	default:
		deleted, failed = stopReplicaOutcome(r, pending)
	}
	if len(failed) > 0 {
		c.logger.Warn("replica deletion failed; retried when the broker starts again", "broker", id, "partitions", failed)
	}
	var fail, complete []partitionReplica
	for _, tp := range failed {
		fail = append(fail, partitionReplica{tp, id})
	}
	for _, tp := range deleted {
		complete = append(complete, partitionReplica{tp, id})
	}
	c.failReplicaDeletion(fail)
	for _, pr := range complete {
		c.state.replicaDeletion[pr] = deletionSuccessful
	}
	c.resumeDeletions()
}

// stopReplicaOutcome splits the partitions asked in a StopReplica(delete)
// into deleted and failed: a request-level error fails them all, else each
// partition's error code decides; a partition missing from the answer
// failed.
func stopReplicaOutcome(r *kmsg.StopReplicaResponse, asked []topicPartition) (deleted, failed []topicPartition) {
	if r.ErrorCode != 0 {
		return nil, asked
	}
	codes := map[topicPartition]int16{}
	for _, p := range r.Partitions {
		codes[topicPartition{p.Topic, p.Partition}] = p.ErrorCode
	}
	for _, tp := range asked {
		if code, ok := codes[tp]; ok && code == 0 {
			deleted = append(deleted, tp)
		} else {
			failed = append(failed, tp)
		}
	}
	return deleted, failed
}

// failReplicaDeletion is TopicDeletionManager.failReplicaDeletion without
// its resume: the replicas move to ReplicaDeletionIneligible and their
// topics' deletion halts until a broker holding them starts.
func (c *Controller) failReplicaDeletion(prs []partitionReplica) {
	for _, pr := range prs {
		if !c.state.deleting[pr.tp.Topic] || c.state.replicaDeletion[pr] == deletionSuccessful {
			continue
		}
		c.state.replicaDeletion[pr] = deletionIneligible
		c.state.deletionHalted[pr.tp.Topic] = true
	}
}

// resumeDeletionForTopics is TopicDeletionManager.resumeDeletionForTopics:
// a broker holding replicas of these topics started, so their deletion may
// go on.
func (c *Controller) resumeDeletionForTopics(topics []string) {
	resume := false
	for _, t := range topics {
		if c.state.deleting[t] {
			delete(c.state.deletionHalted, t)
			resume = true
		}
	}
	if resume {
		c.resumeDeletions()
	}
}

// allReplicasDeleted reports whether every replica of a topic is in
// ReplicaDeletionSuccessful.
func (s *clusterState) allReplicasDeleted(topic string) bool {
	for _, tp := range s.partitionsOf(topic) {
		for _, r := range s.replicas(tp) {
			if s.replicaDeletion[partitionReplica{tp, r}] != deletionSuccessful {
				return false
			}
		}
	}
	return true
}

func (s *clusterState) anyReplicaInDeletionState(topic string, st deletionState) bool {
	for pr, x := range s.replicaDeletion {
		if pr.tp.Topic == topic && x == st {
			return true
		}
	}
	return false
}

// completeDeleteTopic is TopicDeletionManager.completeDeleteTopic: every
// replica is deleted, so the topic's znodes go and the controller forgets it.
func (c *Controller) completeDeleteTopic(t string) {
	if err := c.zk.DeleteTopicZnodes(c.epochZkVersion, t); err != nil {
		c.logger.Error("deleting topic znodes failed", "topic", t, "err", c.fenced(err))
		return
	}
	for _, tp := range c.state.partitionsOf(t) {
		delete(c.state.partitions, tp)
		delete(c.state.legacyReassign, tp)
		for _, r := range c.state.replicas(tp) {
			delete(c.state.replicaDeletion, partitionReplica{tp, r})
		}
		for id, offline := range c.state.offlineReplicas {
			delete(offline, tp)
			if len(offline) == 0 {
				delete(c.state.offlineReplicas, id)
			}
		}
	}
	delete(c.state.topics, t)
	delete(c.state.topicVersions, t)
	delete(c.state.deleting, t)
	delete(c.state.deletionHalted, t)
	c.logger.Info("deleted topic", "topic", t)
}

// CreatePartitions adds partitions to topics: Kafka's assignment continues
// the existing layout (start index of partition 0's first replica, partition
// ids from the current count). As KafkaApis.handleCreatePartitionsRequest,
// a topic named twice gets one INVALID_REQUEST answer and a topic queued
// for deletion INVALID_TOPIC_EXCEPTION before any other check.
func (c *Controller) CreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	var topics []kmsg.CreatePartitionsRequestTopic // one per name: Kafka answers a map
	for _, t := range req.Topics {
		if seen[t.Topic]++; seen[t.Topic] == 1 {
			topics = append(topics, t)
		}
	}
	results := make([]kmsg.CreatePartitionsResponseTopic, len(topics))
	var waits []<-chan error
	ran := c.submit(func() {
		for i, t := range topics {
			r := kmsg.NewCreatePartitionsResponseTopic()
			r.Topic = t.Topic
			var done []<-chan error
			var err error
			switch {
			case seen[t.Topic] > 1:
				err = protocol.NewAPIError(kerr.InvalidRequest, "Duplicate topic in request.")
			case c.state.deleting[t.Topic]: // isTopicQueuedForDeletion
				err = protocol.NewAPIError(kerr.InvalidTopicException, "The topic is queued for deletion.")
			default:
				done, err = c.createPartitions(t, req.ValidateOnly)
			}
			if err != nil {
				r.ErrorCode, r.ErrorMessage = c.answerError("create partitions failed", t.Topic, err)
			}
			waits = append(waits, done...)
			results[i] = r
		}
	})
	if !ran {
		for i, t := range topics {
			r := kmsg.NewCreatePartitionsResponseTopic()
			r.Topic, r.ErrorCode = t.Topic, kerr.NotController.Code
			results[i] = r
		}
	}
	waitAll(ctx, waits, time.Duration(req.TimeoutMillis)*time.Millisecond)
	resp.Topics = results
	return resp
}

// createPartitions checks in ZkAdminManager.createPartitions' order: a
// reassignment under way, the topic's existence, a count lower than or
// equal to the current one, unknown brokers in the manual assignment, the
// number of partitions it assigns, then each new partition's replicas
// (AdminZkClient.createNewPartitionsAssignment, validateReplicaAssignment).
func (c *Controller) createPartitions(t kmsg.CreatePartitionsRequestTopic, validateOnly bool) ([]<-chan error, error) {
	a, ok := c.state.topics[t.Topic]
	for p := range a.Partitions {
		if c.state.reassigning(topicPartition{t.Topic, p}) {
			return nil, protocol.NewAPIError(kerr.ReassignmentInProgress, "A partition reassignment is in progress for the topic '%s'.", t.Topic)
		}
	}
	if !ok || len(a.Partitions) == 0 {
		return nil, protocol.NewAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", t.Topic)
	}
	current := int32(len(a.Partitions))
	if t.Count < current {
		return nil, protocol.NewAPIError(kerr.InvalidPartitions, "Topic currently has %d partitions, which is higher than the requested %d.", current, t.Count)
	}
	if t.Count == current {
		return nil, protocol.NewAPIError(kerr.InvalidPartitions, "Topic already has %d partitions.", current)
	}
	add := t.Count - current
	replicas0, ok := a.Partitions[0]
	if !ok || len(replicas0) == 0 {
		// createNewPartitionsAssignment: an AdminOperationException,
		// answered UNKNOWN_SERVER_ERROR without its message.
		c.logger.Error("existing replica assignment has no partition 0", "topic", t.Topic, "assignment", a.Partitions)
		return nil, &protocol.APIError{Code: kerr.UnknownServerError}
	}
	var added map[int32][]int32
	if t.Assignment != nil { // a null assignment list asks for Kafka's
		var unknown []string
		for _, ra := range t.Assignment {
			for _, b := range ra.Replicas {
				name := strconv.Itoa(int(b))
				if !c.state.isLive(b) && !slices.Contains(unknown, name) {
					unknown = append(unknown, name)
				}
			}
		}
		if len(unknown) > 0 {
			return nil, protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Unknown broker(s) in replica assignment: %s.", strings.Join(unknown, ", "))
		}
		if int32(len(t.Assignment)) != add {
			return nil, protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Increasing the number of partitions by %d but %d assignments provided.", add, len(t.Assignment))
		}
		added = map[int32][]int32{}
		for i, ra := range t.Assignment {
			added[current+int32(i)] = ra.Replicas
		}
		if err := checkNewPartitionsAssignment(added, current, len(replicas0)); err != nil {
			return nil, err
		}
	} else {
		live := c.state.liveBrokerIDs()
		rf := int16(len(replicas0))
		if int(rf) > len(live) {
			return nil, protocol.NewAPIError(kerr.InvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, len(live))
		}
		// Kafka's AdminZkClient.createPartitions: start from partition 0's first replica.
		start := max(0, slices.IndexFunc(live, func(b int32) bool { return b >= replicas0[0] }))
		var err error
		added, err = assignForBrokers(c.liveBrokerRacks(), add, rf, start, current, c.rnd)
		if err != nil {
			return nil, assignmentError(err)
		}
	}
	if validateOnly {
		return nil, nil
	}
	next := a
	next.Partitions = map[int32][]int32{}
	for p, r := range a.Partitions {
		next.Partitions[p] = r
	}
	for p, r := range added {
		next.Partitions[p] = r
	}
	if err := c.zk.SetTopicAssignmentFenced(c.epochZkVersion, next, c.state.topicVersions[t.Topic]); err != nil {
		return nil, fmt.Errorf("writing assignment of %s: %w", t.Topic, c.fenced(err))
	}
	c.state.topics[t.Topic] = next
	if _, v, _, err := c.zk.TopicAssignment(t.Topic); err == nil {
		c.state.topicVersions[t.Topic] = v
	}
	var parts []topicPartition
	for p := range added {
		parts = append(parts, topicPartition{t.Topic, p})
	}
	sortPartitions(parts)
	c.logger.Info("added partitions", "topic", t.Topic, "count", strconv.Itoa(int(t.Count)))
	return c.onNewPartitions(parts), nil
}

// checkNewPartitionsAssignment is AdminZkClient.validateReplicaAssignment
// for partitions first.. of a manual CreatePartitions assignment: each
// partition in order has replicas and no duplicate, then every one has
// partition 0's replication factor (its brokers are known: checked before).
func checkNewPartitionsAssignment(added map[int32][]int32, first int32, rf int) error {
	last := first + int32(len(added))
	for p := first; p < last; p++ {
		replicas := added[p]
		if len(replicas) == 0 {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Cannot have replication factor of 0 for partition id %d.", p)
		}
		if hasDuplicate(replicas) {
			return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Duplicate brokers not allowed in replica assignment: %s for partition id %d.", joinIDs(replicas), p)
		}
	}
	var bad, badRF []int32
	for p := first; p < last; p++ {
		if len(added[p]) != rf {
			bad, badRF = append(bad, p), append(badRF, int32(len(added[p])))
		}
	}
	if len(bad) > 0 {
		return protocol.NewAPIError(kerr.InvalidReplicaAssignment, "Inconsistent replication factor between partitions, partition 0 has %d while partitions [%s] have replication factors [%s], respectively.",
			rf, joinIDs(bad), joinIDs(badRF))
	}
	return nil
}

func hasDuplicate(ids []int32) bool {
	s := slices.Clone(ids)
	slices.Sort(s)
	return len(slices.Compact(s)) != len(ids)
}

// joinIDs renders ids as Scala's mkString(", ").
func joinIDs(ids []int32) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.Itoa(int(id))
	}
	return strings.Join(out, ", ")
}

// assignmentError answers a failure of Kafka's automatic assignment that
// its checks before did not catch: brokers with and without racks, an
// AdminOperationException Kafka answers UNKNOWN_SERVER_ERROR without a
// message (ApiError.fromThrowable).
func assignmentError(err error) error {
	return &protocol.APIError{Code: kerr.UnknownServerError, Cause: err}
}

// liveBrokerRacks lists the live brokers with their racks, by id.
func (c *Controller) liveBrokerRacks() []brokerRack {
	ids := c.state.liveBrokerIDs()
	out := make([]brokerRack, 0, len(ids))
	for _, id := range ids {
		b := brokerRack{ID: id}
		if r := c.state.liveBrokers[id].Rack; r != nil {
			b.Rack = *r
		}
		out = append(out, b)
	}
	return out
}

// waitAll waits for the brokers' acknowledgements, bounded by timeout and ctx.
func waitAll(ctx context.Context, waits []<-chan error, timeout time.Duration) {
	if timeout <= 0 || len(waits) == 0 {
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func ptr[T any](v T) *T { return &v }

// clusterMetadataTopic is KRaft's metadata log (Topic.CLUSTER_METADATA_TOPIC_NAME),
// a name CreateTopics refuses in every mode.
const clusterMetadataTopic = "__cluster_metadata"

// zkUnavailable reports an error of a ZooKeeper call that could not reach
// ZooKeeper (connection lost, session expired). Kafka's ZooKeeperClient
// holds such a call until ZooKeeper is back (retryRequestsUntilConnected),
// so its client's request times out; ours fails at once and answers
// REQUEST_TIMED_OUT, the TimeoutException the client would have seen.
func zkUnavailable(err error) bool {
	return errors.Is(err, zkmeta.ErrConnectionLoss) || errors.Is(err, zkmeta.ErrSessionExpired)
}

// answerError is the code and message a topic's result carries for err
// (ApiError.fromThrowable: UNKNOWN_SERVER_ERROR has no message); the cause
// of an unexpected error is logged.
func (c *Controller) answerError(what, topic string, err error) (int16, *string) {
	if zkUnavailable(err) {
		c.logger.Warn(what+": ZooKeeper unavailable", "topic", topic, "err", err)
		return kerr.RequestTimedOut.Code, nil
	}
	var ae *protocol.APIError
	switch {
	case !errors.As(err, &ae):
		c.logger.Error(what, "topic", topic, "err", err)
	case ae.Cause != nil:
		c.logger.Warn(what, "topic", topic, "err", ae.Cause)
	}
	return protocol.ErrorCodeMessage(err)
}
