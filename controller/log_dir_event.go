package controller

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Log dir failures (KIP-112), the controller's half. A broker whose log dir
// failed writes /log_dir_event_notification/log_dir_event_<seq>. The
// controller (LogDirEventNotificationHandler -> processLogDirEventNotification)
// reads the broker ids, asks each of those brokers for the state of all its
// replicas with a LeaderAndIsr (onBrokerLogDirFailure: the OnlineReplica
// transition), and deletes the notifications. The brokers answer
// KAFKA_STORAGE_ERROR for the replicas in their offline dirs;
// onLeaderAndIsrResponse then marks those replicas offline
// (replicasOnOfflineDirs) and onReplicasBecomeOffline elects other leaders
// and shrinks the ISRs. Offline replicas come back when the broker
// registers again.

// logDirEventRetry is the wait before reading the notifications again after a
// failed read (Kafka retries until connected).
const logDirEventRetry = time.Second

// clearLogDirEvents is onControllerFailover's deleteLogDirEventNotifications:
// the notifications present are deleted unread, since the failover's
// LeaderAndIsr to every replica finds the offline ones anyway, and the
// children watch is armed.
func (c *Controller) clearLogDirEvents(events chan func()) {
	names, watch, err := c.zk.WatchLogDirEvents()
	if err != nil {
		c.logger.Error("watching /log_dir_event_notification failed", "err", err)
		return
	}
	c.onWatch(events, watch, func() { c.onLogDirEventNotification(events) })
	if len(names) == 0 {
		return
	}
	if err := c.zk.DeleteLogDirEvents(c.epochZkVersion, names); err != nil {
		c.logger.Error("deleting log dir event notifications failed", "err", c.fenced(err))
	}
}

// onLogDirEventNotification is processLogDirEventNotification (event
// loop): it re-arms the watch, reads the brokers of the notifications,
// queries their replicas and deletes the notifications, also when reading
// failed (Kafka deletes them in a finally).
func (c *Controller) onLogDirEventNotification(events chan func()) {
	names, watch, err := c.zk.WatchLogDirEvents()
	if err != nil {
		c.logger.Error("reading /log_dir_event_notification failed", "err", err)
		if !c.sessionLost() {
			c.onLoopAfter(events, logDirEventRetry, func() { c.onLogDirEventNotification(events) })
		}
		return
	}
	c.onWatch(events, watch, func() { c.onLogDirEventNotification(events) })
	if len(names) == 0 {
		return
	}
	ids, bad, err := c.zk.LogDirEventBrokers(names)
	if bad != nil {
		c.logger.Error("skipping log dir event notifications that cannot be read", "err", bad)
	}
	if err != nil {
		c.logger.Error("reading log dir event notifications failed", "err", err)
	} else {
		c.onBrokerLogDirFailure(ids)
	}
	if err := c.zk.DeleteLogDirEvents(c.epochZkVersion, names); err != nil {
		c.logger.Error("deleting log dir event notifications failed", "err", c.fenced(err))
	}
}

// onBrokerLogDirFailure sends LeaderAndIsr for every replica on the brokers
// ids, as KafkaController.onBrokerLogDirFailure moves them to OnlineReplica,
// and UpdateMetadata for those partitions to every live broker (the
// request batch adds it to each LeaderAndIsr). Replicas in an offline dir
// answer KAFKA_STORAGE_ERROR (onLeaderAndIsrResponse).
func (c *Controller) onBrokerLogDirFailure(ids []int32) {
	targets := logDirFailureTargets(c.state, ids)
	if len(targets) == 0 {
		return
	}
	c.logger.Info("handling log directory failure", "brokers", slices.Compact(slices.Sorted(slices.Values(ids))))
	var all []topicPartition
	for _, id := range c.state.liveBrokerIDs() {
		tps := targets[id]
		if len(tps) == 0 {
			continue
		}
		all = append(all, tps...)
		epoch := c.state.liveBrokers[id].Epoch
		c.sendTracked(id, c.leaderAndIsrRequest(id, tps), func(resp kmsg.Response, err error) {
			c.onLeaderAndIsrResponse(id, epoch, resp, err)
		})
	}
	sortPartitions(all)
	c.sendUpdateMetadata(nil, slices.Compact(all))
}

// logDirFailureTargets is ControllerContext.replicasOnBrokers for the
// OnlineReplica transition: for each live broker of ids, the partitions
// with a replica on it that have a leader and ISR, topics being deleted
// left out (their replicas are in the deletion's states, from which
// OnlineReplica is not a valid transition). Replicas already marked
// offline are asked again, as Kafka does. Sorted per broker.
func logDirFailureTargets(s *clusterState, ids []int32) map[int32][]topicPartition {
	out := map[int32][]topicPartition{}
	for _, id := range ids {
		if !s.isLive(id) || out[id] != nil {
			continue
		}
		var tps []topicPartition
		for _, tp := range s.allPartitions() {
			if s.deleting[tp.Topic] || !slices.Contains(s.replicas(tp), id) {
				continue
			}
			if _, ok := s.partitions[tp]; !ok {
				continue
			}
			tps = append(tps, tp)
		}
		if len(tps) > 0 {
			sortPartitions(tps)
			out[id] = tps
		}
	}
	return out
}
