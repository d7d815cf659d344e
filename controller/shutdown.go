package controller

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// ControlledShutdown is Kafka's KafkaController.doControlledShutdown: the
// broker joins the shutting-down set (never elected, never added to an ISR
// until it deregisters), every partition it leads moves to the first live
// in-sync replica that is not shutting down, and it leaves the ISR of the
// partitions it follows (the last ISR member stays). The response lists the
// partitions it still leads (those with more than one replica).
func (c *Controller) ControlledShutdown(ctx context.Context, req *kmsg.ControlledShutdownRequest) *kmsg.ControlledShutdownResponse {
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	resp.Version = req.Version
	var waits []<-chan error
	ran := c.submit(func() {
		if resp.ErrorCode = controlledShutdownError(c.state, req.BrokerID, req.Version, req.BrokerEpoch); resp.ErrorCode != 0 {
			return
		}
		var remaining []topicPartition
		remaining, waits = c.doControlledShutdown(req.BrokerID)
		for _, tp := range remaining {
			resp.PartitionsRemaining = append(resp.PartitionsRemaining, kmsg.ControlledShutdownResponsePartitionsRemaining{Topic: tp.Topic, Partition: tp.Partition})
		}
	})
	if !ran {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	waitAll(ctx, waits, c.cfg.RequestTimeout)
	return resp
}

// controlledShutdownError is the check of a ControlledShutdown request
// before anything moves, in KafkaController.doControlledShutdown's order:
// from v2 (KIP-380) a known broker epoch (not -1) is compared first with
// the registered one, STALE_BROKER_EPOCH when older; Kafka reads the
// registered epoch with liveBrokerIdAndEpochs(id), which throws
// NoSuchElementException for an unregistered id, so a known epoch for an
// unknown broker is UNKNOWN_SERVER_ERROR (-1). Then the broker must be
// registered (BROKER_NOT_AVAILABLE). 0 lets the shutdown go on.
func controlledShutdownError(s *clusterState, id int32, version int16, brokerEpoch int64) int16 {
	b, ok := s.liveBrokers[id]
	if version >= 2 && brokerEpoch != -1 {
		if !ok {
			return kerr.UnknownServerError.Code
		}
		if brokerEpoch < b.Epoch {
			return kerr.StaleBrokerEpoch.Code
		}
	}
	if !ok {
		return kerr.BrokerNotAvailable.Code
	}
	return 0
}

// controlledShutdownMoves sorts the partitions with a replica on broker id,
// in controlled shutdown, as Kafka's doControlledShutdown: of those with
// more than one replica, a leadership and a topic not being deleted, the
// ones it leads get a new leader (controlledShutdownLeaderMove) and it
// leaves the ISR of the ones it follows (StopReplica keeping the log, then
// OfflineReplica: removeFromISR). A partition with one replica is left as
// it is; its leader goes down with the broker.
func controlledShutdownMoves(s *clusterState, id int32) (led, followed []topicPartition) {
	for _, tp := range s.allPartitions() {
		replicas := s.replicas(tp)
		st, ok := s.partitions[tp]
		if !ok || len(replicas) <= 1 || s.deleting[tp.Topic] || !slices.Contains(replicas, id) {
			continue
		}
		if st.Leader == id {
			led = append(led, tp)
		} else {
			followed = append(followed, tp)
		}
	}
	return led, followed
}

// controlledShutdownLeaderMove is the next state of a partition led by a
// broker in controlled shutdown (ControlledShutdownPartitionLeaderElection
// with the cluster's shutting-down brokers); ok is false when no replica
// can take over, and the partition then stays in the reply's remaining
// partitions.
func controlledShutdownLeaderMove(s *clusterState, tp topicPartition, cur zkmeta.LeaderAndIsr, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	return electControlledShutdownLeader(cur, s.replicas(tp), s.isLive, func(b int32) bool { return s.shuttingDown[b] }, controllerEpoch)
}

// partitionLeadersOnBroker is what a ControlledShutdown reply lists as
// remaining, Kafka's ControllerContext.partitionLeadersOnBroker: the
// partitions the broker still leads that have more than one replica and a
// topic not being deleted. The broker retries its controlled shutdown
// while any remain.
func partitionLeadersOnBroker(s *clusterState, id int32) []topicPartition {
	var out []topicPartition
	for _, tp := range s.allPartitions() {
		if st, ok := s.partitions[tp]; ok && st.Leader == id && len(s.replicas(tp)) > 1 && !s.deleting[tp.Topic] {
			out = append(out, tp)
		}
	}
	return out
}

// doControlledShutdown applies controlledShutdownMoves (event loop): it
// writes the new states, tells the brokers, and returns the partitions
// remaining and the outcomes of the requests sent.
func (c *Controller) doControlledShutdown(id int32) ([]topicPartition, []<-chan error) {
	c.state.shuttingDown[id] = true
	c.logger.Info("controlled shutdown", "broker", id)
	led, followed := controlledShutdownMoves(c.state, id)
	var changed []topicPartition
	for _, tp := range led {
		moved := c.transition(tp, func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
			next, ok := controlledShutdownLeaderMove(c.state, tp, cur, c.epoch)
			if !ok {
				c.logger.Warn("no replica can take over leadership for controlled shutdown", "topic", tp.Topic, "partition", tp.Partition, "broker", id)
			}
			return next, ok
		})
		if moved {
			changed = append(changed, tp)
		}
	}
	// Followers: StopReplica (keep the log) to the broker, then it leaves the
	// ISR (Kafka's OfflineReplica transition).
	var waits []<-chan error
	var shrunk []topicPartition
	for _, tp := range followed {
		if c.transition(tp, func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
			return removeFromISR(cur, []int32{id}, c.epoch)
		}) {
			shrunk = append(shrunk, tp)
		}
	}
	waits = append(waits, c.sendLeaderAndIsr(changed)...)
	waits = append(waits, c.sendLeaderAndIsrExcept(shrunk, id)...)
	all := append(slices.Clone(changed), shrunk...)
	sortPartitions(all)
	if len(all) > 0 {
		waits = append(waits, c.sendUpdateMetadata(nil, all)...)
	}
	if len(followed) > 0 {
		if s, ok := c.senders[id]; ok {
			waits = append(waits, s.send(c.stopReplicaRequest(id, followed, false)))
		}
	}
	return partitionLeadersOnBroker(c.state, id), waits
}
