package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// apiError is an error code with Kafka's message for it.
type apiError struct {
	code int16
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func newAPIError(err *kerr.Error, format string, args ...any) *apiError {
	return &apiError{code: err.Code, msg: fmt.Sprintf(format, args...)}
}

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
			if seen[t.Topic] > 1 {
				r.ErrorCode = kerr.InvalidRequest.Code
				r.ErrorMessage = ptr(fmt.Sprintf("Create topics request from client contains duplicate topic %s", t.Topic))
				results[i] = r
				continue
			}
			a, done, err := c.createTopic(t, req.ValidateOnly)
			if err != nil {
				var ae *apiError
				if errors.As(err, &ae) {
					r.ErrorCode, r.ErrorMessage = ae.code, &ae.msg
				} else {
					c.logger.Error("create topic failed", "topic", t.Topic, "err", err)
					r.ErrorCode, r.ErrorMessage = kerr.UnknownServerError.Code, ptr(err.Error())
				}
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

// createTopic runs on the event loop.
func (c *Controller) createTopic(t kmsg.CreateTopicsRequestTopic, validateOnly bool) (zkmeta.TopicAssignment, []<-chan error, error) {
	var a zkmeta.TopicAssignment
	if err := zkmeta.ValidateTopicName(t.Topic); err != nil {
		return a, nil, newAPIError(kerr.InvalidTopicException, "%s", err)
	}
	if _, exists := c.state.topics[t.Topic]; exists {
		return a, nil, newAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
	}
	configs := map[string]string{}
	for _, cfg := range t.Configs {
		if !slices.Contains(zkmeta.TopicConfigNames, cfg.Name) {
			return a, nil, newAPIError(kerr.InvalidConfig, "Unknown topic config name: %s", cfg.Name)
		}
		if cfg.Value != nil {
			configs[cfg.Name] = *cfg.Value
		}
	}
	partitions, err := c.topicAssignment(t)
	if err != nil {
		return a, nil, err
	}
	a = zkmeta.TopicAssignment{Topic: t.Topic, TopicID: zkmeta.NewTopicID(), Partitions: partitions}
	if validateOnly {
		return a, nil, nil
	}
	if err := c.zk.CreateTopic(a, configs); err != nil {
		if errors.Is(err, zkmeta.ErrTopicExists) {
			return a, nil, newAPIError(kerr.TopicAlreadyExists, "Topic '%s' already exists.", t.Topic)
		}
		return a, nil, fmt.Errorf("writing topic %s: %w", t.Topic, err)
	}
	c.logger.Info("created topic", "topic", t.Topic, "topic_id", zkmeta.UUIDString(a.TopicID), "assignment", partitions)
	_, version, _, err := c.zk.TopicAssignment(t.Topic)
	if err != nil {
		return a, nil, fmt.Errorf("reading back topic %s: %w", t.Topic, err)
	}
	c.state.topics[t.Topic] = a
	c.state.topicVersions[t.Topic] = version
	return a, c.onNewPartitions(c.state.partitionsOf(t.Topic)), nil
}

// topicAssignment is the explicit replica assignment of the request, checked,
// or Kafka's rack-unaware assignment over the live brokers.
func (c *Controller) topicAssignment(t kmsg.CreateTopicsRequestTopic) (map[int32][]int32, error) {
	if len(t.ReplicaAssignment) > 0 {
		if t.NumPartitions != -1 || t.ReplicationFactor != -1 {
			return nil, newAPIError(kerr.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
		}
		out := map[int32][]int32{}
		for _, ra := range t.ReplicaAssignment {
			out[ra.Partition] = ra.Replicas
		}
		if err := c.checkAssignment(out, 0); err != nil {
			return nil, err
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
		return nil, newAPIError(kerr.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.")
	}
	if rf <= 0 {
		return nil, newAPIError(kerr.InvalidReplicationFactor, "Replication factor must be larger than 0.")
	}
	live := c.state.liveBrokerIDs()
	if int(rf) > len(live) {
		return nil, newAPIError(kerr.InvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, len(live))
	}
	out, err := assignForBrokers(c.liveBrokerRacks(), n, rf, -1, 0, c.rnd)
	if err != nil {
		return nil, newAPIError(kerr.InvalidReplicaAssignment, "%s", err)
	}
	return out, nil
}

// checkAssignment applies Kafka's rules to an explicit assignment: partition
// ids consecutive from first, equal non-zero replica counts, no duplicate
// replicas, every broker known.
func (c *Controller) checkAssignment(a map[int32][]int32, first int32) error {
	rf := -1
	for i := first; i < first+int32(len(a)); i++ {
		replicas, ok := a[i]
		if !ok {
			return newAPIError(kerr.InvalidReplicaAssignment, "Partitions should be a consecutive 0-based integer sequence")
		}
		if len(replicas) == 0 {
			return newAPIError(kerr.InvalidReplicaAssignment, "Replica assignment of partition %d is empty", i)
		}
		if rf >= 0 && len(replicas) != rf {
			return newAPIError(kerr.InvalidReplicaAssignment, "All partitions should have the same number of replicas")
		}
		rf = len(replicas)
		s := slices.Clone(replicas)
		slices.Sort(s)
		if len(slices.Compact(s)) != len(replicas) {
			return newAPIError(kerr.InvalidReplicaAssignment, "Duplicate brokers not allowed in replica assignment: %v for partition id %d", replicas, i)
		}
		for _, r := range replicas {
			if !c.state.isLive(r) {
				return newAPIError(kerr.BrokerNotAvailable, "Unknown broker(s) in replica assignment: %d.", r)
			}
		}
	}
	return nil
}

// DeleteTopics marks topics for deletion (/admin/delete_topics) and deletes
// them: StopReplica with delete to every live replica, UpdateMetadata
// without them, then the znodes.
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
				r.ErrorCode, r.ErrorMessage = err.code, &err.msg
			case !c.cfg.DeleteTopicEnable:
				r.ErrorCode = kerr.TopicDeletionDisabled.Code
				r.ErrorMessage = ptr("Topic deletion is disabled.")
			default:
				r.Topic, r.TopicID = &name, c.state.topics[name].TopicID
				if err := c.zk.MarkTopicForDeletion(name); err != nil && !errors.Is(err, zkmeta.ErrTopicMarked) {
					r.ErrorCode, r.ErrorMessage = kerr.UnknownServerError.Code, ptr(err.Error())
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

func (c *Controller) resolveTopic(name *string, id [16]byte) (string, *apiError) {
	if name != nil && *name != "" {
		if _, ok := c.state.topics[*name]; !ok {
			return "", newAPIError(kerr.UnknownTopicOrPartition, "This server does not host this topic-partition.")
		}
		return *name, nil
	}
	for n, a := range c.state.topics {
		if a.TopicID == id {
			return n, nil
		}
	}
	return "", newAPIError(kerr.UnknownTopicID, "This server does not host this topic ID.")
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

// deleteTopics starts the deletion of topics marked for deletion, as
// Kafka's TopicDeletionManager: the topic's partitions leave every broker's
// metadata, every live replica is stopped and deleted, and once every
// replica has been deleted (all replicas were live) the znodes go. While a
// replica's broker is down the topic stays in /admin/delete_topics; the
// deletion resumes when the broker returns (retryDeletions).
func (c *Controller) deleteTopics(topics []string) []<-chan error {
	var parts []topicPartition
	for _, t := range topics {
		c.state.deleting[t] = true
		parts = append(parts, c.state.partitionsOf(t)...)
	}
	if len(parts) == 0 {
		return nil
	}
	done := c.sendUpdateMetadata(nil, parts)
	done = append(done, c.sendStopReplica(parts, true)...)
	for _, t := range topics {
		if offline := c.offlineReplicasOf(t); len(offline) > 0 {
			c.logger.Info("topic deletion waits for offline replicas", "topic", t, "offline_brokers", offline)
			continue
		}
		if err := c.zk.DeleteTopicZnodes(c.epochZkVersion, t); err != nil {
			c.logger.Error("deleting topic znodes failed", "topic", t, "err", c.fenced(err))
			continue
		}
		for _, tp := range c.state.partitionsOf(t) {
			delete(c.state.partitions, tp)
			delete(c.state.legacyReassign, tp)
		}
		delete(c.state.topics, t)
		delete(c.state.topicVersions, t)
		delete(c.state.deleting, t)
		c.logger.Info("deleted topic", "topic", t)
	}
	return done
}

// offlineReplicasOf lists the brokers holding a replica of topic that are
// not live.
func (c *Controller) offlineReplicasOf(topic string) []int32 {
	var out []int32
	for _, tp := range c.state.partitionsOf(topic) {
		for _, r := range c.state.replicas(tp) {
			if !c.state.isLive(r) && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	slices.Sort(out)
	return out
}

// retryDeletions resumes the deletion of topics that waited for brokers.
func (c *Controller) retryDeletions() {
	var todo []string
	for t := range c.state.deleting {
		todo = append(todo, t)
	}
	slices.Sort(todo)
	c.deleteTopics(todo)
}

// CreatePartitions adds partitions to topics: Kafka's assignment continues
// the existing layout (start index of partition 0's first replica, partition
// ids from the current count).
func (c *Controller) CreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	results := make([]kmsg.CreatePartitionsResponseTopic, len(req.Topics))
	var waits []<-chan error
	ran := c.submit(func() {
		for i, t := range req.Topics {
			r := kmsg.NewCreatePartitionsResponseTopic()
			r.Topic = t.Topic
			done, err := c.createPartitions(t, req.ValidateOnly)
			if err != nil {
				var ae *apiError
				if errors.As(err, &ae) {
					r.ErrorCode, r.ErrorMessage = ae.code, &ae.msg
				} else {
					r.ErrorCode, r.ErrorMessage = kerr.UnknownServerError.Code, ptr(err.Error())
				}
			}
			waits = append(waits, done...)
			results[i] = r
		}
	})
	if !ran {
		for i, t := range req.Topics {
			r := kmsg.NewCreatePartitionsResponseTopic()
			r.Topic, r.ErrorCode = t.Topic, kerr.NotController.Code
			results[i] = r
		}
	}
	waitAll(ctx, waits, time.Duration(req.TimeoutMillis)*time.Millisecond)
	resp.Topics = results
	return resp
}

func (c *Controller) createPartitions(t kmsg.CreatePartitionsRequestTopic, validateOnly bool) ([]<-chan error, error) {
	a, ok := c.state.topics[t.Topic]
	if !ok || c.state.deleting[t.Topic] {
		return nil, newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", t.Topic)
	}
	current := int32(len(a.Partitions))
	if t.Count < current {
		return nil, newAPIError(kerr.InvalidPartitions, "Topic currently has %d partitions, which is higher than the requested %d.", current, t.Count)
	}
	if t.Count == current {
		return nil, newAPIError(kerr.InvalidPartitions, "Topic already has %d partitions.", current)
	}
	add := t.Count - current
	var added map[int32][]int32
	if len(t.Assignment) > 0 {
		if int32(len(t.Assignment)) != add {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "Increasing the number of partitions by %d but %d assignments provided.", add, len(t.Assignment))
		}
		added = map[int32][]int32{}
		for i, ra := range t.Assignment {
			added[current+int32(i)] = ra.Replicas
		}
		if err := c.checkAssignment(added, current); err != nil {
			return nil, err
		}
	} else {
		live := c.state.liveBrokerIDs()
		rf := int16(len(a.Partitions[0]))
		if int(rf) > len(live) {
			return nil, newAPIError(kerr.InvalidReplicationFactor, "Replication factor: %d larger than available brokers: %d.", rf, len(live))
		}
		// Kafka's AdminZkClient.createPartitions: start from partition 0's first replica.
		start := max(0, slices.IndexFunc(live, func(b int32) bool { return b >= a.Partitions[0][0] }))
		var err error
		added, err = assignForBrokers(c.liveBrokerRacks(), add, rf, start, current, c.rnd)
		if err != nil {
			return nil, newAPIError(kerr.InvalidReplicaAssignment, "%s", err)
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
