// The partition state machine, as Kafka's ZkPartitionStateMachine: a
// partition's next state is decided by pure functions (onlinePartitionState
// here, the strategies of leader_election.go), then written to ZooKeeper
// with CAS (computed again from ZooKeeper's state after a version conflict)
// and cached.

package controller

import (
	"errors"
	"slices"
	"strconv"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// electLeaders creates the state of partitions that have none and elects
// leaders for partitions whose leader is not live; dead replicas leave the
// ISR. It returns the partitions whose state changed.
func (c *Controller) electLeaders(parts []topicPartition) []topicPartition {
	changed, _ := c.electLeadersCreating(parts)
	return changed
}

// electLeadersCreating is electLeaders also returning the partitions whose
// state it created (NewPartition -> OnlinePartition): the LeaderAndIsr
// that follows marks their replicas new (IsNew).
func (c *Controller) electLeadersCreating(parts []topicPartition) (changed, created []topicPartition) {
	newByTopic := map[string]map[int32]zkmeta.LeaderAndIsr{}
	for _, tp := range parts {
		if c.state.deleting[tp.Topic] {
			continue
		}
		_, ok := c.state.partitions[tp]
		if !ok && c.state.malformedStates[tp] {
			c.logger.Warn("no election for a partition whose state znode is malformed", "topic", tp.Topic, "partition", tp.Partition,
				"path", zkmeta.PartitionStatePath(tp.Topic, tp.Partition))
			continue
		}
		if !ok {
			st, ok := initialState(c.state.replicas(tp), c.state.onlineFor(tp), c.epoch)
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
			created = append(created, tp)
		}
	}
	sortPartitions(changed)
	sortPartitions(created)
	return changed, created
}

// nextState is onlinePartitionState for a partition of the cluster,
// logging an unclean election; ok is false when nothing changes.
func (c *Controller) nextState(tp topicPartition, cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
	next, ok, unclean := onlinePartitionState(c.state, tp, cur, func() bool { return c.uncleanEnabled(tp.Topic) }, c.epoch)
	if unclean {
		c.logger.Warn("unclean leader election", "topic", tp.Topic, "partition", tp.Partition, "leader", next.Leader)
	}
	return next, ok
}

// onlinePartitionState is the state a partition should move to given the
// live brokers (Kafka's OnlinePartition transition with
// OfflinePartitionLeaderElectionStrategy, then OfflineReplica for lost
// replicas): a clean election if its leader is gone, an unclean one when
// no live in-sync replica exists and uncleanAllowed (asked only then: it
// reads the topic's config), and lost replicas out of the ISR. A replica
// is lost when its broker is down or its log directory is offline
// (isReplicaOnline). ok is false when nothing changes.
func onlinePartitionState(s *clusterState, tp topicPartition, cur zkmeta.LeaderAndIsr, uncleanAllowed func() bool, controllerEpoch int32) (next zkmeta.LeaderAndIsr, ok, unclean bool) {
	replicas := s.replicas(tp)
	online := s.onlineFor(tp)
	if cur.Leader == noLeader || s.replicaGone(cur.Leader, tp) {
		if next, ok := electOfflineLeader(cur, replicas, online, controllerEpoch); ok {
			return next, true, false
		}
		if uncleanAllowed() {
			if next, ok := electUncleanLeader(cur, replicas, online, controllerEpoch); ok {
				return next, true, true
			}
		}
	}
	var dead []int32
	for _, r := range cur.ISR {
		if s.replicaGone(r, tp) {
			dead = append(dead, r)
		}
	}
	if cur.Leader >= 0 && s.replicaGone(cur.Leader, tp) && !slices.Contains(dead, cur.Leader) {
		dead = append(dead, cur.Leader)
	}
	slices.Sort(dead)
	next, ok = removeFromISR(cur, dead, controllerEpoch)
	return next, ok, false
}

// uncleanEnabled is unclean.leader.election.enable for a topic: its
// /config/topics override, else the broker default (the dynamic one when
// set, see readUncleanDefault). It is read only when a clean election has
// failed, so the ZooKeeper read is rare.
func (c *Controller) uncleanEnabled(topic string) bool {
	cfg, err := c.zk.TopicConfig(topic)
	if err != nil {
		c.logger.Warn("reading topic config failed; using the broker default for unclean election", "topic", topic, "err", err)
		return c.state.uncleanDefault
	}
	if v, ok := cfg["unclean.leader.election.enable"]; ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return c.state.uncleanDefault
}

// writeState writes a partition's next state (updatePartitionState) and
// logs a failure; the cache then holds what ZooKeeper holds.
func (c *Controller) writeState(tp topicPartition, next zkmeta.LeaderAndIsr) bool {
	return c.writeStateErr(tp, next) == nil
}

func (c *Controller) writeStateErr(tp topicPartition, next zkmeta.LeaderAndIsr) error {
	_, err := c.updatePartitionState(tp, next)
	if err != nil {
		c.logger.Error("writing partition state failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
	}
	return err
}

// transition moves a partition to the state compute derives from the
// cached one. After a version conflict the cache holds ZooKeeper's state
// and the change is computed again from it, as Kafka's partition state
// machine retries the partitions whose update failed.
func (c *Controller) transition(tp topicPartition, compute func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool)) bool {
	for range 3 {
		next, ok := compute(c.state.partitions[tp])
		if !ok {
			return false
		}
		err := c.writeStateErr(tp, next)
		if err == nil {
			return true
		}
		if !errors.Is(err, zkmeta.ErrBadVersion) {
			return false
		}
	}
	return false
}
