// What triggers leader elections, Kafka's ElectionTrigger: the
// ElectLeaders API (AdminClientTriggered), the legacy
// /admin/preferred_replica_election znode (ZkTriggered), the automatic
// leader rebalance (AutoTriggered), and unclean.leader.election.enable
// turning true in a topic or broker config. Each decides which partitions to
// elect, runs the strategies of leader_election.go and applies the result.

package controller

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Election types of ElectLeaders.
const (
	electionPreferred int8 = 0
	electionUnclean   int8 = 1
)

// electionOutcome is one partition's result of an ElectLeaders request.
type electionOutcome struct {
	code int16
	msg  *string
}

// ElectLeaders runs preferred or unclean elections (API key 43), for the
// listed partitions or, when Topics is null, for every partition. It waits
// (bounded by the request timeout) until the brokers have the new leaders.
func (c *Controller) ElectLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	resp.Version = req.Version
	var waits []<-chan error
	var order []topicPartition
	results := map[topicPartition]electionOutcome{}
	ran := c.submit(func() {
		var parts []topicPartition
		if req.Topics == nil {
			parts = c.notDeleting(c.state.allPartitions())
		} else {
			for _, t := range req.Topics {
				for _, p := range t.Partitions {
					parts = append(parts, topicPartition{t.Topic, p})
				}
			}
		}
		order = parts
		var changed []topicPartition
		for _, tp := range parts {
			out, ok := c.electOne(tp, req.ElectionType)
			results[tp] = out
			if ok {
				changed = append(changed, tp)
			}
		}
		if len(changed) > 0 { // nothing to tell (nor wait for) otherwise
			waits = c.sendLeaderAndIsr(changed)
			waits = append(waits, c.sendUpdateMetadata(nil, changed)...)
		}
	})
	byTopic := map[string]int{}
	for _, tp := range order {
		i, ok := byTopic[tp.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[tp.Topic] = i
			resp.Topics = append(resp.Topics, kmsg.ElectLeadersResponseTopic{Topic: tp.Topic})
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = tp.Partition
		rp.ErrorCode, rp.ErrorMessage = results[tp].code, results[tp].msg
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	if !ran {
		resp.ErrorCode = kerr.NotController.Code
		if req.Version == 0 {
			for _, t := range req.Topics {
				rt := kmsg.ElectLeadersResponseTopic{Topic: t.Topic}
				for _, p := range t.Partitions {
					rp := kmsg.NewElectLeadersResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, kerr.NotController.Code
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp
	}
	waitAll(ctx, waits, time.Duration(req.TimeoutMillis)*time.Millisecond)
	return resp
}

// electionFor decides one partition's election of an ElectLeaders request,
// as Kafka's processReplicaLeaderElection: unknown partitions
// (UNKNOWN_TOPIC_OR_PARTITION) and topics being deleted
// (INVALID_TOPIC_EXCEPTION) are skipped; a partition already led by its
// preferred replica (preferred), or by a live broker (unclean), needs no
// election (ELECTION_NOT_NEEDED); otherwise the strategy runs, and when it
// finds no leader the answer is PREFERRED_LEADER_NOT_AVAILABLE or
// ELIGIBLE_LEADERS_NOT_AVAILABLE. elect reports a next state to write.
func electionFor(s *clusterState, tp topicPartition, kind int8, controllerEpoch int32) (next zkmeta.LeaderAndIsr, out electionOutcome, elect bool) {
	cur, ok := s.partitions[tp]
	if _, known := s.topics[tp.Topic].Partitions[tp.Partition]; !known || !ok {
		return next, electionOutcome{kerr.UnknownTopicOrPartition.Code, ptr("The partition does not exist.")}, false
	}
	if s.deleting[tp.Topic] {
		return next, electionOutcome{kerr.InvalidTopicException.Code, ptr("The topic is being deleted")}, false
	}
	replicas := s.replicas(tp)
	switch kind {
	case electionPreferred:
		if len(replicas) > 0 && cur.Leader == replicas[0] {
			return next, electionOutcome{kerr.ElectionNotNeeded.Code, ptr("Leader election not needed for topic partition.")}, false
		}
		if next, ok = electPreferredLeader(cur, replicas, s.onlineFor(tp), controllerEpoch); !ok {
			return next, electionOutcome{kerr.PreferredLeaderNotAvailable.Code,
				ptr(fmt.Sprintf("Failed to elect leader for partition %s-%d under strategy PreferredReplicaPartitionLeaderElectionStrategy", tp.Topic, tp.Partition))}, false
		}
	case electionUnclean:
		if cur.Leader != noLeader && s.isLive(cur.Leader) {
			return next, electionOutcome{kerr.ElectionNotNeeded.Code, ptr("Leader election not needed for topic partition.")}, false
		}
		if next, ok = electUncleanLeader(cur, replicas, s.onlineFor(tp), controllerEpoch); !ok {
			return next, electionOutcome{kerr.EligibleLeadersNotAvailable.Code,
				ptr(fmt.Sprintf("Failed to elect leader for partition %s-%d under strategy OfflinePartitionLeaderElectionStrategy(true)", tp.Topic, tp.Partition))}, false
		}
	default:
		return next, electionOutcome{kerr.InvalidRequest.Code, ptr(fmt.Sprintf("Unknown election type %d", kind))}, false
	}
	return next, electionOutcome{}, true
}

// electOne runs one election on the event loop and writes its result; ok
// reports a new leader.
func (c *Controller) electOne(tp topicPartition, kind int8) (electionOutcome, bool) {
	next, out, elect := electionFor(c.state, tp, kind, c.epoch)
	if !elect {
		return out, false
	}
	if !c.writeState(tp, next) {
		return electionOutcome{kerr.UnknownServerError.Code, ptr("Writing the partition state failed.")}, false
	}
	c.logger.Info("leader elected", "topic", tp.Topic, "partition", tp.Partition, "leader", next.Leader, "election_type", kind)
	return electionOutcome{}, true
}

// runPreferredElections elects preferred leaders for parts (skipping those
// already led by their preferred replica) and tells the brokers. Partitions
// being reassigned are not skipped: their preferred replica is the head of
// their full replica set, as in Kafka.
func (c *Controller) runPreferredElections(parts []topicPartition) {
	var changed []topicPartition
	for _, tp := range parts {
		if _, ok := c.electOne(tp, electionPreferred); ok {
			changed = append(changed, tp)
		}
	}
	if len(changed) > 0 {
		c.sendLeaderAndIsr(changed)
		c.sendUpdateMetadata(nil, changed)
	}
}

// handlePreferredElectionZnode processes the legacy
// /admin/preferred_replica_election znode: elect, then delete the znode.
func (c *Controller) handlePreferredElectionZnode(events chan func()) {
	parts, ok, watch, err := c.zk.WatchPreferredReplicaElection()
	if watch != nil {
		c.onWatch(events, watch, func() { c.handlePreferredElectionZnode(events) })
	}
	if err != nil {
		c.logger.Error("reading /admin/preferred_replica_election failed", "err", err)
		if ok {
			_ = c.fenced(c.zk.DeletePreferredReplicaElection(c.epochZkVersion))
		}
		return
	}
	if !ok {
		return
	}
	var tps []topicPartition
	for _, p := range parts {
		tp := topicPartition{p.Topic, p.Partition}
		if _, known := c.state.partitions[tp]; known && !c.state.deleting[tp.Topic] {
			tps = append(tps, tp)
		}
	}
	sortPartitions(tps)
	c.runPreferredElections(tps)
	if err := c.zk.DeletePreferredReplicaElection(c.epochZkVersion); err != nil {
		c.logger.Error("deleting /admin/preferred_replica_election failed", "err", c.fenced(err))
	}
}

// autoRebalanceFirstDelay is when the first automatic leader rebalance
// runs after a failover (KafkaController.onControllerFailover).
const autoRebalanceFirstDelay = 5 * time.Second

// scheduleAutoLeaderRebalance is Kafka's scheduleAutoLeaderRebalanceTask:
// after d the check runs on the event loop and schedules the next one
// leader.imbalance.check.interval later; nothing runs once the loop ends.
func (c *Controller) scheduleAutoLeaderRebalance(events chan func(), d time.Duration) {
	c.onLoopAfter(events, d, func() {
		c.checkLeaderImbalance()
		c.scheduleAutoLeaderRebalance(events, c.cfg.LeaderImbalanceCheckInterval)
	})
}

// checkLeaderImbalance is Kafka's checkAndTriggerAutoLeaderRebalance: it
// runs the preferred elections autoRebalanceElections decides.
func (c *Controller) checkLeaderImbalance() {
	if c.state == nil {
		return
	}
	for _, e := range autoRebalanceElections(c.state, c.cfg.LeaderImbalancePerBrokerPercentage) {
		c.logger.Info("leader imbalance; moving leaders back to their preferred replica", "broker", e.broker, "partitions", len(e.partitions))
		c.runPreferredElections(e.partitions)
	}
}

// rebalanceElection is the preferred elections the automatic leader
// rebalance runs for one broker.
type rebalanceElection struct {
	broker     int32
	partitions []topicPartition
}

// autoRebalanceElections decides the automatic leader rebalance, as Kafka's
// checkAndTriggerAutoLeaderRebalance: the partitions of topics not being
// deleted (reassigning ones included) are grouped by their preferred
// replica, the head of their full replica set; for each broker whose share
// of them led by another broker is above
// leader.imbalance.per.broker.percentage (pct), preferred elections run for
// those where it can lead (canPreferredReplicaBeLeader: online and in the
// ISR). A partition without a state counts in the share's denominator only.
// Brokers come in id order; one with nothing to elect is left out.
func autoRebalanceElections(s *clusterState, pct int) []rebalanceElection {
	byPreferred := map[int32][]topicPartition{}
	for _, tp := range s.allPartitions() {
		replicas := s.replicas(tp)
		if len(replicas) == 0 || s.deleting[tp.Topic] {
			continue
		}
		byPreferred[replicas[0]] = append(byPreferred[replicas[0]], tp)
	}
	leader := func(tp topicPartition) int32 {
		if st, ok := s.partitions[tp]; ok {
			return st.Leader
		}
		return s.replicas(tp)[0] // no leadership info: not counted as led elsewhere
	}
	var out []rebalanceElection
	for _, b := range imbalancedBrokers(byPreferred, leader, pct) {
		var todo []topicPartition
		for _, tp := range byPreferred[b] {
			st, ok := s.partitions[tp]
			if ok && st.Leader != b && s.isReplicaOnline(b, tp) && slices.Contains(st.ISR, b) {
				todo = append(todo, tp)
			}
		}
		if len(todo) > 0 {
			out = append(out, rebalanceElection{b, todo})
		}
	}
	return out
}

// imbalancedBrokers lists, in id order, the brokers whose share of
// partitions (among those preferring them) led by another broker is above
// pct percent.
func imbalancedBrokers(byPreferred map[int32][]topicPartition, leader func(topicPartition) int32, pct int) []int32 {
	var out []int32
	for b, tps := range byPreferred {
		notLed := 0
		for _, tp := range tps {
			if leader(tp) != b {
				notLed++
			}
		}
		if len(tps) > 0 && float64(notLed)/float64(len(tps)) > float64(pct)/100 {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

// configChangesRetry is the wait before watching /config/changes again
// after a failure.
const configChangesRetry = time.Second

// handleConfigChanges reads the /config/changes notifications after the
// last one seen and re-arms the watch (event loop). A topic whose
// unclean.leader.election.enable override turns true gets its offline
// partitions elected at once (Kafka's TopicConfigHandler ->
// KafkaController.enableTopicUncleanLeaderElection). On failover, before
// its elections, the notifications present are only skipped: those
// elections read every topic's config. When the watch cannot be set it is
// tried again later (ZkNodeChangeNotificationListener processes every
// notification it has not seen once it can read them again).
func (c *Controller) handleConfigChanges(events chan func(), failover bool) {
	names, watch, err := c.zk.WatchConfigChanges()
	if err != nil {
		c.logger.Error("watching config changes failed; retrying", "err", err)
		c.onLoopAfter(events, configChangesRetry, func() { c.handleConfigChanges(events, false) })
		return
	}
	c.onWatch(events, watch, func() { c.handleConfigChanges(events, false) })
	for _, n := range names {
		seq, ok := zkmeta.ConfigChangeSeq(n)
		if !ok || seq <= c.state.lastConfigChange {
			continue
		}
		c.state.lastConfigChange = seq
		if failover {
			continue
		}
		entity, err := c.zk.ConfigChange(n)
		if err != nil { // purged meanwhile, or unreadable: nothing to act on
			continue
		}
		kind, name, _ := strings.Cut(entity, "/")
		switch {
		case kind == "topics" && c.topicUncleanOverride(name):
			c.onTopicUncleanEnabled(name)
		case kind == "brokers" && (name == defaultBrokerEntity || name == strconv.Itoa(int(c.cfg.BrokerID))):
			c.onBrokerConfigChange()
		}
	}
}

// defaultBrokerEntity names the cluster-wide dynamic broker config,
// /config/brokers/<default> (ZooKeeperInternals.DEFAULT_STRING).
const defaultBrokerEntity = "<default>"

// readUncleanDefault is the broker default of
// unclean.leader.election.enable as Kafka's DynamicBrokerConfig layers it
// for the controller's broker: its own /config/brokers/<id>, else the
// cluster default /config/brokers/<default>, else the static config. A
// layer that cannot be read or decoded is skipped with an error logged, as
// DynamicBrokerConfig skips an invalid dynamic config: it must not stop a
// failover.
func (c *Controller) readUncleanDefault() bool {
	v := c.cfg.UncleanLeaderElectionEnable
	for _, name := range []string{defaultBrokerEntity, strconv.Itoa(int(c.cfg.BrokerID))} {
		cfg, err := c.zk.EntityConfig("brokers", name)
		if err != nil {
			c.logger.Error("reading a dynamic broker config failed; ignoring it", "entity", name, "err", err)
			continue
		}
		if s, ok := cfg["unclean.leader.election.enable"]; ok {
			if b, err := strconv.ParseBool(s); err == nil {
				v = b
			}
		}
	}
	return v
}

// onBrokerConfigChange re-reads the dynamic broker default of
// unclean.leader.election.enable; turned on, it elects every new and
// offline partition (DynamicLogConfig.reconfigure ->
// enableDefaultUncleanLeaderElection -> processUncleanLeaderElectionEnable
// -> triggerOnlinePartitionStateChange).
func (c *Controller) onBrokerConfigChange() {
	v := c.readUncleanDefault()
	was := c.state.uncleanDefault
	c.state.uncleanDefault = v
	if !v || was {
		return
	}
	c.logger.Info("unclean leader election has been enabled by default")
	c.electOfflinePartitions(c.notDeleting(c.state.allPartitions()))
}

// topicUncleanOverride reports whether a topic's own config sets
// unclean.leader.election.enable to true (ConfigHandler looks at the
// topic's overrides only).
func (c *Controller) topicUncleanOverride(topic string) bool {
	cfg, err := c.zk.TopicConfig(topic)
	if err != nil {
		c.logger.Warn("reading topic config failed", "topic", topic, "err", err)
		return false
	}
	b, err := strconv.ParseBool(cfg["unclean.leader.election.enable"])
	return err == nil && b
}

// onTopicUncleanEnabled is processTopicUncleanLeaderElectionEnable:
// triggerOnlinePartitionStateChange for the topic's new and offline
// partitions, now allowed to elect uncleanly.
func (c *Controller) onTopicUncleanEnabled(topic string) {
	if _, ok := c.state.topics[topic]; !ok || c.state.deleting[topic] {
		return
	}
	c.logger.Info("unclean leader election enabled for topic", "topic", topic)
	c.electOfflinePartitions(c.state.partitionsOf(topic))
}

// electOfflinePartitions is triggerOnlinePartitionStateChange for parts:
// those without a state or whose leader is gone are elected.
func (c *Controller) electOfflinePartitions(parts []topicPartition) {
	var offline []topicPartition
	for _, tp := range parts {
		st, ok := c.state.partitions[tp]
		if !ok || st.Leader == noLeader || c.state.replicaGone(st.Leader, tp) {
			offline = append(offline, tp)
		}
	}
	if changed := c.electLeaders(offline); len(changed) > 0 {
		c.sendLeaderAndIsr(changed)
		c.sendUpdateMetadata(nil, changed)
	}
}
