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
		b, ok := c.state.liveBrokers[req.BrokerID]
		if !ok {
			resp.ErrorCode = kerr.BrokerNotAvailable.Code
			return
		}
		if req.Version >= 2 && req.BrokerEpoch != -1 && req.BrokerEpoch < b.Epoch {
			resp.ErrorCode = kerr.StaleBrokerEpoch.Code
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

// doControlledShutdown runs on the event loop.
func (c *Controller) doControlledShutdown(id int32) ([]topicPartition, []<-chan error) {
	c.state.shuttingDown[id] = true
	c.logger.Info("controlled shutdown", "broker", id)
	var led, followed []topicPartition
	for _, tp := range c.state.allPartitions() {
		replicas := c.state.replicas(tp)
		st, ok := c.state.partitions[tp]
		if !ok || len(replicas) <= 1 || c.state.deleting[tp.Topic] || !slices.Contains(replicas, id) {
			continue
		}
		if st.Leader == id {
			led = append(led, tp)
		} else {
			followed = append(followed, tp)
		}
	}
	var changed []topicPartition
	for _, tp := range led {
		moved := c.transition(tp, func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
			next, ok := electControlledShutdownLeader(cur, c.state.replicas(tp), c.state.isLive,
				func(b int32) bool { return c.state.shuttingDown[b] }, c.epoch)
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
	var remaining []topicPartition
	for _, tp := range c.state.allPartitions() {
		if c.state.partitions[tp].Leader == id && len(c.state.replicas(tp)) > 1 && !c.state.deleting[tp.Topic] {
			remaining = append(remaining, tp)
		}
	}
	return remaining, waits
}
