package controller

import (
	"errors"
	"fmt"
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
	all := c.state.allPartitions()
	c.sendUpdateMetadata(nil, all)
	changed := c.electLeaders(all)
	c.sendLeaderAndIsr(c.notDeleting(all))
	if len(changed) > 0 {
		c.sendUpdateMetadata(nil, changed)
	}
	c.resumeReassignments()
	c.handleReassignZnode(events)
	c.handlePreferredElectionZnode(events)
	c.handleDeletions(events, true)
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
	c.senders[id] = newBrokerSender(c.state.liveBrokers[id], c.cfg.BrokerID, c.cfg.RequestTimeout, c.logger)
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
func (c *Controller) loadTopic(events chan func(), topic string) error {
	a, watch, err := c.zk.WatchTopicAssignment(topic)
	if errors.Is(err, zkmeta.ErrNoNode) {
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
	c.state.topics[topic] = a
	c.state.topicVersions[topic] = version
	states, err := c.zk.PartitionStates(topic)
	if err != nil {
		return fmt.Errorf("reading partition states of %s: %w", topic, err)
	}
	for p, st := range states {
		c.state.partitions[topicPartition{topic, p}] = st
	}
	return nil
}

// electLeaders creates the state of partitions that have none and elects
// leaders for partitions whose leader is not live; dead replicas leave the
// ISR. It returns the partitions whose state changed.
func (c *Controller) electLeaders(parts []topicPartition) []topicPartition {
	var changed []topicPartition
	newByTopic := map[string]map[int32]zkmeta.LeaderAndIsr{}
	for _, tp := range parts {
		if c.state.deleting[tp.Topic] {
			continue
		}
		_, ok := c.state.partitions[tp]
		if !ok {
			st, ok := initialState(c.state.replicas(tp), c.state.isEligible, c.epoch)
			if !ok {
				c.logger.Warn("new partition has no live replica", "topic", tp.Topic, "partition", tp.Partition)
				continue
			}
			if newByTopic[tp.Topic] == nil {
				newByTopic[tp.Topic] = map[int32]zkmeta.LeaderAndIsr{}
			}
			newByTopic[tp.Topic][tp.Partition] = st
			continue
		}
		if c.transition(tp, func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) { return c.nextState(tp, cur) }) {
			changed = append(changed, tp)
		}
	}
	topics := make([]string, 0, len(newByTopic))
	for t := range newByTopic {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	for _, t := range topics {
		states := newByTopic[t]
		if err := c.zk.CreatePartitionStates(c.epochZkVersion, t, states); err != nil {
			c.logger.Error("creating partition states failed", "topic", t, "err", c.fenced(err))
			continue
		}
		for p := range states {
			tp := topicPartition{t, p}
			st, _, err := c.zk.PartitionState(t, p)
			if err != nil {
				st = states[p]
			}
			c.state.partitions[tp] = st
			changed = append(changed, tp)
		}
	}
	sortPartitions(changed)
	return changed
}

// nextState is the state a partition should move to given the live
// brokers: a clean election if its leader is gone, dead replicas out of the
// ISR. ok is false when nothing changes.
func (c *Controller) nextState(tp topicPartition, cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
	replicas := c.state.replicas(tp)
	if cur.Leader == noLeader || !c.state.isLive(cur.Leader) {
		if next, ok := electOfflineLeader(cur, replicas, c.state.isEligible, c.epoch); ok {
			return next, true
		}
		if c.uncleanEnabled(tp.Topic) {
			if next, ok := electUncleanLeader(cur, replicas, c.state.isEligible, c.epoch); ok {
				c.logger.Warn("unclean leader election", "topic", tp.Topic, "partition", tp.Partition, "leader", next.Leader)
				return next, true
			}
		}
	}
	var dead []int32
	for _, r := range cur.ISR {
		if !c.state.isLive(r) {
			dead = append(dead, r)
		}
	}
	if cur.Leader >= 0 && !c.state.isLive(cur.Leader) && !slices.Contains(dead, cur.Leader) {
		dead = append(dead, cur.Leader)
	}
	slices.Sort(dead)
	return removeFromISR(cur, dead, c.epoch)
}

func (c *Controller) reloadPartitionState(tp topicPartition) {
	if st, ok, err := c.zk.PartitionState(tp.Topic, tp.Partition); err == nil && ok {
		c.state.partitions[tp] = st
	}
}

// onBrokerChange handles brokers joining and leaving (Kafka's
// onBrokerStartup / onBrokerFailure).
func (c *Controller) onBrokerChange(events chan func()) {
	before := c.state.liveBrokers
	if err := c.loadBrokers(events); err != nil {
		c.logger.Error("reloading brokers failed", "err", err)
		c.state.liveBrokers = before
		return
	}
	var added, removed []int32
	for id := range c.state.liveBrokers {
		if _, ok := before[id]; !ok {
			added = append(added, id)
		}
	}
	for id := range before {
		if _, ok := c.state.liveBrokers[id]; !ok {
			removed = append(removed, id)
		}
	}
	// A broker that re-registered (new epoch) between two reads is both gone and back.
	for id, b := range c.state.liveBrokers {
		if old, ok := before[id]; ok && old.Epoch != b.Epoch {
			removed, added = append(removed, id), append(added, id)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return
	}
	slices.Sort(added)
	slices.Sort(removed)
	c.logger.Info("broker change", "added", added, "removed", removed, "live", c.state.liveBrokerIDs())
	for _, id := range removed {
		if s, ok := c.senders[id]; ok {
			s.stop()
			delete(c.senders, id)
		}
		delete(c.state.shuttingDown, id) // a bounced broker is a new broker
	}
	for _, id := range added {
		c.startSender(id)
	}
	all := c.state.allPartitions()
	// Every live broker learns the new broker set; new brokers learn everything.
	c.sendUpdateMetadata(nil, all)
	var affected []topicPartition
	for _, tp := range all {
		for _, r := range c.state.replicas(tp) {
			if slices.Contains(removed, r) || slices.Contains(added, r) {
				affected = append(affected, tp)
				break
			}
		}
	}
	affected = c.notDeleting(affected)
	changed := c.electLeaders(affected)
	c.sendLeaderAndIsr(affected)
	if len(changed) > 0 {
		c.sendUpdateMetadata(nil, changed)
	}
	if len(added) > 0 { // TopicDeletionManager.resumeDeletionForTopics
		c.retryDeletions()
	}
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
		if _, ok := c.state.topics[t]; !ok {
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
	changed := c.electLeaders(fresh)
	done := c.sendLeaderAndIsr(changed)
	return append(done, c.sendUpdateMetadata(nil, changed)...)
}
