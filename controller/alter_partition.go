package controller

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// AlterPartition applies ISR changes proposed by partition leaders, as
// Kafka's KafkaController.processAlterPartition (ZooKeeper mode): the
// sender's broker epoch must be current (STALE_BROKER_EPOCH), each
// partition's leader epoch current (FENCED_LEADER_EPOCH), its partition
// epoch (the state znode version) current (INVALID_UPDATE_VERSION), and
// every ISR member live and not shutting down (INELIGIBLE_REPLICA;
// OPERATION_NOT_ATTEMPTED before v2). Accepted states are written with CAS
// and answered; every broker gets UpdateMetadata.
func (c *Controller) AlterPartition(_ context.Context, req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	resp.Version = req.Version
	ran := c.submit(func() { c.alterPartition(req, resp) })
	if !ran {
		resp.ErrorCode = kerr.NotController.Code
		resp.Topics = nil
	}
	return resp
}

// alterPartition runs on the event loop.
func (c *Controller) alterPartition(req *kmsg.AlterPartitionRequest, resp *kmsg.AlterPartitionResponse) {
	b, ok := c.state.liveBrokers[req.BrokerID]
	if !ok || (req.BrokerEpoch != -1 && req.BrokerEpoch != b.Epoch) {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return
	}
	var touched []topicPartition
	for _, t := range req.Topics {
		rt := kmsg.NewAlterPartitionResponseTopic()
		rt.Topic, rt.TopidID = t.Topic, t.TopicID
		name := t.Topic
		if req.Version >= 2 {
			name = ""
			for n, a := range c.state.topics {
				if a.TopicID == t.TopicID {
					name = n
					break
				}
			}
		}
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionResponseTopicPartition()
			rp.Partition = p.Partition
			if name == "" && req.Version >= 2 {
				rp.ErrorCode = kerr.UnknownTopicID.Code
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			tp := topicPartition{name, p.Partition}
			newISR := p.NewISR
			if req.Version >= 3 {
				newISR = nil
				for _, e := range p.NewEpochISR {
					newISR = append(newISR, e.BrokerID)
				}
			}
			st, code := c.alterOne(tp, p, newISR, req.Version, req.BrokerID)
			rp.ErrorCode = code
			if code == 0 {
				rp.LeaderID, rp.LeaderEpoch, rp.ISR = st.Leader, st.LeaderEpoch, slices.Clone(st.ISR)
				rp.LeaderRecoveryState, rp.PartitionEpoch = st.LeaderRecoveryState, st.ZkVersion
				touched = append(touched, tp)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	if len(touched) > 0 {
		sortPartitions(touched)
		c.sendUpdateMetadata(nil, touched)
		for _, tp := range touched {
			if c.state.reassigning(tp) {
				c.maybeCompleteReassignment(tp)
			}
		}
	}
}

// alterOne validates and writes one partition's proposed state.
func (c *Controller) alterOne(tp topicPartition, p kmsg.AlterPartitionRequestTopicPartition, newISR []int32, version int16, sender int32) (zkmeta.LeaderAndIsr, int16) {
	// Kafka's tryProcessAlterPartition knows a partition while it has a
	// leader and ISR, also when its topic is queued for deletion: a
	// reassignment the deletion waits for completes through it.
	cur, ok := c.state.partitions[tp]
	if !ok {
		return cur, kerr.UnknownTopicOrPartition.Code
	}
	switch {
	case p.PartitionEpoch > cur.ZkVersion || p.LeaderEpoch > cur.LeaderEpoch:
		// The leader knows a newer state than ours: we are likely not the
		// controller any more, or our cache missed a write; reread it so a
		// retry meets the real state.
		c.reloadPartitionState(tp)
		return cur, kerr.NotController.Code
	case p.LeaderEpoch < cur.LeaderEpoch:
		return cur, kerr.FencedLeaderEpoch.Code
	case cur.Leader != sender:
		return cur, kerr.FencedLeaderEpoch.Code
	case slices.Equal(sortedCopy(newISR), sortedCopy(cur.ISR)) && p.LeaderRecoveryState == cur.LeaderRecoveryState:
		return cur, 0 // already in the proposed state: idempotent
	case p.PartitionEpoch < cur.ZkVersion:
		return cur, kerr.InvalidUpdateVersion.Code
	case p.LeaderRecoveryState == 1 && len(newISR) > 1,
		cur.LeaderRecoveryState == 0 && p.LeaderRecoveryState == 1,
		len(newISR) == 0:
		return cur, kerr.InvalidRequest.Code
	}
	for _, r := range newISR {
		if !c.state.isEligible(r) || !slices.Contains(c.state.replicas(tp), r) {
			if version < 2 {
				return cur, kerr.OperationNotAttempted.Code
			}
			return cur, kerr.IneligibleReplica.Code
		}
	}
	next := cur
	next.ISR = slices.Clone(newISR)
	next.LeaderRecoveryState = p.LeaderRecoveryState
	next.ControllerEpoch = c.epoch
	written, err := c.updatePartitionState(tp, next)
	if err != nil {
		c.logger.Warn("AlterPartition write failed", "topic", tp.Topic, "partition", tp.Partition, "err", err)
		if errors.Is(err, zkmeta.ErrControllerMoved) {
			return cur, kerr.NotController.Code
		}
		return cur, kerr.InvalidUpdateVersion.Code
	}
	c.logger.Info("ISR changed", "topic", tp.Topic, "partition", tp.Partition, "isr", written.ISR, "partition_epoch", written.ZkVersion)
	return written, 0
}

func sortedCopy(s []int32) []int32 {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
