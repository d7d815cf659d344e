package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// onControllerFailover loads the cluster from ZooKeeper and brings every
// broker up to date, as Kafka's KafkaController.onControllerFailover: watch
// brokers, topics and deletions; send UpdateMetadata to all live brokers;
// elect leaders for new and offline partitions; send LeaderAndIsr to every
// live replica; resume topic deletions.
func (c *Controller) onControllerFailover(events chan func()) error {
	c.state = newClusterState()
	// KafkaController.onControllerFailover: maybeSetupFeatureVersioning first
	// (IBP 3.9 >= 2.7: enableFeatureVersioning).
	if _, err := c.zk.EnableFeatureVersioning(); err != nil {
		return err
	}
	if err := c.loadBrokers(events); err != nil {
		return err
	}
	if err := c.loadTopics(events); err != nil {
		return err
	}
	for _, id := range c.state.liveBrokerIDs() {
		c.startSender(id)
	}
	// Topics queued for deletion get no leaders and no LeaderAndIsr
	// (TopicDeletionManager's init); handleDeletions resumes them below.
	if c.cfg.DeleteTopicEnable {
		queued, err := c.zk.TopicDeletions()
		if err != nil {
			return fmt.Errorf("reading %s: %w", zkmeta.DeleteTopicsPath, err)
		}
		for _, t := range queued {
			if _, ok := c.state.topics[t]; ok {
				c.state.deleting[t] = true
			}
		}
	}
	// The notifications present are marked seen and the watch armed before
	// the elections read the topics' configs: one arriving from now on is
	// acted on once the failover is done, as Kafka queues
	// TopicUncleanLeaderElectionEnable behind Startup.
	c.handleConfigChanges(events, true)
	c.state.uncleanDefault = c.readUncleanDefault()
	c.clearLogDirEvents(events) // deleteLogDirEventNotifications: the LeaderAndIsr below finds offline replicas
	all := c.state.allPartitions()
	c.sendUpdateMetadata(nil, all)
	// NewPartition -> OnlinePartition (partitions created while none of
	// their replicas was live) sends IsNew; replicas already online do not
	// (ReplicaStateMachine.startup: OnlineReplica, isNew = false).
	changed, created := c.electLeadersCreating(all)
	c.sendLeaderAndIsrWith(c.notDeleting(all), -1, createdPartitions(created))
	if len(changed) > 0 {
		c.sendUpdateMetadata(nil, changed)
	}
	c.resumeReassignments()
	c.handleReassignZnode(events)
	c.handlePreferredElectionZnode(events)
	c.handleDeletions(events, true)
	if c.cfg.AutoLeaderRebalanceEnable && c.cfg.LeaderImbalanceCheckInterval > 0 {
		c.scheduleAutoLeaderRebalance(events, autoRebalanceFirstDelay)
	}
	return nil
}

// notDeleting filters out partitions of topics being deleted.
func (c *Controller) notDeleting(parts []topicPartition) []topicPartition {
	out := make([]topicPartition, 0, len(parts))
	for _, tp := range parts {
		if !c.state.deleting[tp.Topic] {
			out = append(out, tp)
		}
	}
	return out
}

func (c *Controller) startSender(id int32) {
	if _, ok := c.senders[id]; ok {
		return
	}
	c.senders[id] = newBrokerSender(c.state.liveBrokers[id], c.cfg.controllerToBrokerListener(), c.cfg.BrokerID, c.cfg.RequestTimeout, c.logger, c.cfg.InterBrokerTLS, c.cfg.InterBrokerAuth)
}

// loadBrokers reads the live brokers and re-arms the /brokers/ids watch.
func (c *Controller) loadBrokers(events chan func()) error {
	ids, watch, err := c.zk.WatchBrokerIDs()
	if err != nil {
		return fmt.Errorf("watching /brokers/ids: %w", err)
	}
	c.onWatch(events, watch, func() { c.onBrokerChange(events) })
	live := map[int32]zkmeta.BrokerInfo{}
	for _, id := range ids {
		b, ok, err := c.zk.Broker(id)
		if errors.Is(err, zkmeta.ErrMalformed) {
			// Kafka's BrokerIdZNode.decode throws and fails the event; we
			// take the broker for not live until its registration decodes.
			c.logger.Error("skipping broker: malformed registration znode", "broker", id, "path", zkmeta.BrokerPath(id), "err", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("reading broker %d: %w", id, err)
		}
		if ok {
			live[id] = b
		}
	}
	c.state.liveBrokers = live
	return nil
}

// loadTopics reads every topic's assignment and partition states and
// re-arms the /brokers/topics watch.
func (c *Controller) loadTopics(events chan func()) error {
	names, watch, err := c.zk.WatchTopics()
	if err != nil {
		return fmt.Errorf("watching /brokers/topics: %w", err)
	}
	c.onWatch(events, watch, func() { c.onTopicChange(events) })
	for _, t := range names {
		if err := c.loadTopic(events, t); err != nil {
			return err
		}
	}
	return nil
}

// loadTopic reads one topic (assignment with a data watch for new
// partitions, and its partition states).
//
// Malformed znode data (written by hand or by a foreign tool) is logged
// naming the path and skipped, so one bad znode costs only its topic or
// partition. Kafka differs: TopicZNode.decode takes data that is not JSON
// for a topic without partitions, and wrong types or missing fields in the
// topic or a state znode throw, failing the controller's failover (it
// resigns and is elected again, over and over).
func (c *Controller) loadTopic(events chan func(), topic string) error {
	a, watch, err := c.zk.WatchTopicAssignment(topic)
	if errors.Is(err, zkmeta.ErrNoNode) {
		return nil
	}
	if errors.Is(err, zkmeta.ErrMalformed) {
		c.logger.Error("skipping topic: malformed assignment znode", "topic", topic, "path", zkmeta.TopicPath(topic), "err", err)
		// Loaded once the znode is rewritten (one watch per topic).
		c.state.malformedTopics[topic] = true
		c.onWatch(events, watch, func() { c.onMalformedTopicChange(events, topic) })
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading topic %s: %w", topic, err)
	}
	c.onWatch(events, watch, func() { c.onPartitionChange(events, topic) })
	_, version, _, err := c.zk.TopicAssignment(topic)
	if err != nil {
		return fmt.Errorf("reading topic %s: %w", topic, err)
	}
	states, err := c.zk.PartitionStates(topic)
	if err != nil && !errors.Is(err, zkmeta.ErrMalformed) {
		return fmt.Errorf("reading partition states of %s: %w", topic, err)
	}
	c.state.topics[topic] = a
	c.state.topicVersions[topic] = version
	if err != nil {
		c.logger.Error("skipping partitions: malformed state znodes", "topic", topic, "err", err)
		for p := range a.Partitions {
			if _, ok := states[p]; ok {
				continue
			}
			// Absent (a partition still to be created) or malformed.
			if exists, _, err := c.zk.Exists(zkmeta.PartitionStatePath(topic, p)); err != nil || exists {
				c.state.malformedStates[topicPartition{topic, p}] = true
			}
		}
	}
	for p, st := range states {
		c.state.partitions[topicPartition{topic, p}] = st
	}
	return nil
}

// onMalformedTopicChange loads a topic skipped for a malformed assignment
// once its znode changes, and elects leaders for its partitions.
func (c *Controller) onMalformedTopicChange(events chan func(), topic string) {
	delete(c.state.malformedTopics, topic)
	if _, ok := c.state.topics[topic]; ok {
		return
	}
	if err := c.loadTopic(events, topic); err != nil {
		c.logger.Error("loading topic failed", "topic", topic, "err", err)
		return
	}
	if _, ok := c.state.topics[topic]; ok {
		c.onNewPartitions(c.state.partitionsOf(topic))
	}
}

// watchTopic arms the partition-change watch of a topic this controller
// created itself (event loop).
func (c *Controller) watchTopic(topic string) {
	c.mu.Lock()
	events := c.events
	c.mu.Unlock()
	_, watch, err := c.zk.WatchTopicAssignment(topic)
	if err != nil {
		c.logger.Error("watching topic failed", "topic", topic, "err", err)
		return
	}
	c.onWatch(events, watch, func() { c.onPartitionChange(events, topic) })
}

func (c *Controller) reloadPartitionState(tp topicPartition) {
	if st, ok, err := c.zk.PartitionState(tp.Topic, tp.Partition); err == nil && ok {
		c.state.partitions[tp] = st
	}
}

// brokerChange sorts a change of /brokers/ids as Kafka's
// processBrokerChange: brokers new to the controller, brokers gone, and
// bounced brokers, registered again (same id) with a newer broker epoch
// than the one the controller knows. Each list is sorted.
func brokerChange(before, after map[int32]int64) (added, dead, bounced []int32) {
	for id, epoch := range after {
		old, ok := before[id]
		switch {
		case !ok:
			added = append(added, id)
		case epoch > old:
			bounced = append(bounced, id)
		}
	}
	for id := range before {
		if _, ok := after[id]; !ok {
			dead = append(dead, id)
		}
	}
	slices.Sort(added)
	slices.Sort(dead)
	slices.Sort(bounced)
	return added, dead, bounced
}

func brokerEpochs(brokers map[int32]zkmeta.BrokerInfo) map[int32]int64 {
	out := make(map[int32]int64, len(brokers))
	for id, b := range brokers {
		out[id] = b.Epoch
	}
	return out
}

// onBrokerChange handles brokers joining, leaving and bouncing, as Kafka's
// processBrokerChange: a bounced broker goes through onBrokerFailure (with
// its registration gone) and then onBrokerStartup, so that partitions it led
// get a new leader or at least a new leader epoch, which every replica
// takes; dead brokers go through onBrokerFailure.
func (c *Controller) onBrokerChange(events chan func()) {
	before := c.state.liveBrokers
	if err := c.loadBrokers(events); err != nil {
		c.logger.Error("reloading brokers failed", "err", err)
		c.state.liveBrokers = before
		return
	}
	after := c.state.liveBrokers
	added, dead, bounced := brokerChange(brokerEpochs(before), brokerEpochs(after))
	if len(added) == 0 && len(dead) == 0 && len(bounced) == 0 {
		return
	}
	c.logger.Info("broker change", "added", added, "dead", dead, "bounced", bounced, "live", c.state.liveBrokerIDs())
	failed := append(slices.Clone(dead), bounced...)
	started := append(slices.Clone(added), bounced...)
	slices.Sort(failed)
	slices.Sort(started)
	for _, id := range failed {
		if s, ok := c.senders[id]; ok {
			s.stop()
			delete(c.senders, id)
		}
		delete(c.state.shuttingDown, id) // a bounced broker is a new broker
		delete(c.state.offlineReplicas, id)
	}
	for _, id := range added {
		delete(c.state.offlineReplicas, id)
	}
	var changed []topicPartition
	// onBrokerFailure: the failed brokers' replicas go offline; partitions
	// they led elect another in-sync replica (or go leaderless) and they
	// leave every ISR. The bounced brokers are not live meanwhile.
	if len(failed) > 0 {
		live := maps.Clone(after)
		for _, id := range bounced {
			delete(live, id)
		}
		c.state.liveBrokers = live
		changed = append(changed, c.electLeaders(c.notDeleting(c.state.partitionsOnBrokers(failed)))...)
		c.state.liveBrokers = after
		// Replicas of topics being deleted fail their deletion
		// (onReplicasBecomeOffline -> failReplicaDeletion).
		c.failReplicaDeletion(c.state.deletingReplicasOn(failed))
	}
	for _, id := range started {
		c.startSender(id)
	}
	all := c.state.allPartitions()
	// Every live broker learns the new broker set; new brokers learn everything.
	c.sendUpdateMetadata(nil, all)
	// onBrokerStartup: offline partitions the started brokers can lead are
	// elected, and every replica of the affected partitions learns its role.
	affected := c.notDeleting(c.state.partitionsOnBrokers(append(slices.Clone(failed), started...)))
	// OnlineReplica from a non-new state: isNew = false, but a partition
	// whose state is first created here is new (initializeLeaderAndIsrForPartitions).
	elected, created := c.electLeadersCreating(affected)
	changed = append(changed, elected...)
	c.sendLeaderAndIsrWith(affected, -1, createdPartitions(created))
	if len(changed) > 0 {
		sortPartitions(changed)
		c.sendUpdateMetadata(nil, slices.Compact(changed))
	}
	// onBrokerStartup -> maybeResumeReassignments: reassignments whose
	// target includes a started broker are restarted.
	for _, tp := range c.state.reassignmentsTargeting(started) {
		c.onPartitionReassignment(tp)
	}
	// onBrokerStartup: deletions waiting for the started brokers go on.
	c.resumeDeletionForTopics(c.state.deletingTopicsOn(started))
	if len(failed) > 0 {
		c.resumeDeletions()
	}
}

// partitionsOnBrokers lists the partitions with a replica on any of ids.
func (s *clusterState) partitionsOnBrokers(ids []int32) []topicPartition {
	var out []topicPartition
	for _, tp := range s.allPartitions() {
		for _, r := range s.replicas(tp) {
			if slices.Contains(ids, r) {
				out = append(out, tp)
				break
			}
		}
	}
	return out
}

// deletingReplicasOn lists the replicas on brokers ids of topics being
// deleted: when the brokers fail, their deletion fails
// (onReplicasBecomeOffline -> failReplicaDeletion).
func (s *clusterState) deletingReplicasOn(ids []int32) []partitionReplica {
	var out []partitionReplica
	for _, tp := range s.partitionsOnBrokers(ids) {
		for _, r := range s.replicas(tp) {
			if s.deleting[tp.Topic] && slices.Contains(ids, r) {
				out = append(out, partitionReplica{tp, r})
			}
		}
	}
	return out
}

// reassignmentsTargeting lists the partitions being reassigned whose target
// includes one of the brokers ids: when they start, those reassignments
// are restarted (onBrokerStartup -> maybeResumeReassignments).
func (s *clusterState) reassignmentsTargeting(ids []int32) []topicPartition {
	var out []topicPartition
	for _, tp := range s.allPartitions() {
		if !s.reassigning(tp) {
			continue
		}
		if slices.ContainsFunc(s.assignmentOf(tp).target(), func(r int32) bool { return slices.Contains(ids, r) }) {
			out = append(out, tp)
		}
	}
	return out
}

// deletingTopicsOn lists, in order, the topics being deleted with a replica
// on one of the brokers ids: when they start, those deletions may go on
// (onBrokerStartup -> resumeDeletionForTopics).
func (s *clusterState) deletingTopicsOn(ids []int32) []string {
	var out []string
	for _, tp := range s.partitionsOnBrokers(ids) {
		if s.deleting[tp.Topic] && !slices.Contains(out, tp.Topic) {
			out = append(out, tp.Topic)
		}
	}
	return out
}

// onTopicChange picks up topics created in ZooKeeper (by this controller's
// CreateTopics, or by any other admin path).
func (c *Controller) onTopicChange(events chan func()) {
	names, watch, err := c.zk.WatchTopics()
	if err != nil {
		c.logger.Error("watching /brokers/topics failed", "err", err)
		return
	}
	c.onWatch(events, watch, func() { c.onTopicChange(events) })
	var created []string
	for _, t := range names {
		if _, ok := c.state.topics[t]; !ok && !c.state.malformedTopics[t] {
			created = append(created, t)
		}
	}
	for _, t := range created {
		if err := c.loadTopic(events, t); err != nil {
			c.logger.Error("loading new topic failed", "topic", t, "err", err)
			continue
		}
		c.onNewPartitions(c.state.partitionsOf(t))
	}
}

// onPartitionChange picks up partitions added to an existing topic.
func (c *Controller) onPartitionChange(events chan func(), topic string) {
	if _, ok := c.state.topics[topic]; !ok || c.state.deleting[topic] {
		return
	}
	a, watch, err := c.zk.WatchTopicAssignment(topic)
	if err != nil {
		if !errors.Is(err, zkmeta.ErrNoNode) {
			c.logger.Error("watching topic failed", "topic", topic, "err", err)
		}
		return
	}
	c.onWatch(events, watch, func() { c.onPartitionChange(events, topic) })
	_, version, _, err := c.zk.TopicAssignment(topic)
	if err == nil {
		c.state.topicVersions[topic] = version
	}
	old := c.state.topics[topic]
	c.state.topics[topic] = a
	var added []topicPartition
	for p := range a.Partitions {
		if _, ok := old.Partitions[p]; !ok {
			added = append(added, topicPartition{topic, p})
		}
	}
	sortPartitions(added)
	c.onNewPartitions(added)
}

// onNewPartitions elects the first leaders of new partitions and tells the
// brokers; it returns the outcomes of the requests it sent.
func (c *Controller) onNewPartitions(parts []topicPartition) []<-chan error {
	var fresh []topicPartition
	for _, tp := range parts {
		if _, ok := c.state.partitions[tp]; !ok {
			fresh = append(fresh, tp)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	// PartitionStateMachine.initializeLeaderAndIsrForPartitions: the
	// first LeaderAndIsr of a new partition has isNew = true.
	changed, created := c.electLeadersCreating(fresh)
	done := c.sendLeaderAndIsrWith(changed, -1, createdPartitions(created))
	return append(done, c.sendUpdateMetadata(nil, changed)...)
}
