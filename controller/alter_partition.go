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
// every ISR member live and not shutting down, and every added one not on
// a failed log dir (INELIGIBLE_REPLICA; OPERATION_NOT_ATTEMPTED before v2). Accepted states are written with CAS
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

// alterPartitionVerdict is the controller's answer to one partition of an
// AlterPartition request.
type alterPartitionVerdict struct {
	code int16
	// reload: the leader knows a newer state than the cached one; it is
	// read again from ZooKeeper so that a retry meets the real state.
	reload bool
	// write: next goes to ZooKeeper; otherwise next is the current state
	// (the answer when code is 0: already in the proposed state).
	write bool
	next  zkmeta.LeaderAndIsr
}

// decideAlterPartition checks one partition's proposed ISR as Kafka's
// tryProcessAlterPartition (ZooKeeper mode): the partition must have a
// state (UNKNOWN_TOPIC_OR_PARTITION; topics queued for deletion included,
// so that a reassignment their deletion waits for completes through it),
// the sender must lead it with the current leader epoch
// (FENCED_LEADER_EPOCH; a newer epoch or partition epoch than ours means
// we are stale: NOT_CONTROLLER), a proposal equal to the current state is
// answered as is, the partition epoch must be current
// (INVALID_UPDATE_VERSION), the ISR non-empty and a RECOVERING leader alone
// in it, never back to RECOVERING (INVALID_REQUEST), and every member an
// eligible replica (INELIGIBLE_REPLICA, KIP-841; OPERATION_NOT_ATTEMPTED
// before v2).
func decideAlterPartition(s *clusterState, tp topicPartition, p kmsg.AlterPartitionRequestTopicPartition, newISR []int32, version int16, sender, controllerEpoch int32) alterPartitionVerdict {
	cur, ok := s.partitions[tp]
	if !ok {
		return alterPartitionVerdict{code: kerr.UnknownTopicOrPartition.Code, next: cur}
	}
	reject := func(code int16) alterPartitionVerdict { return alterPartitionVerdict{code: code, next: cur} }
	switch {
	case p.PartitionEpoch > cur.ZkVersion || p.LeaderEpoch > cur.LeaderEpoch:
		return alterPartitionVerdict{code: kerr.NotController.Code, reload: true, next: cur}
	case p.LeaderEpoch < cur.LeaderEpoch:
		return reject(kerr.FencedLeaderEpoch.Code)
	case cur.Leader != sender:
		return reject(kerr.FencedLeaderEpoch.Code)
	case slices.Equal(sortedCopy(newISR), sortedCopy(cur.ISR)) && p.LeaderRecoveryState == cur.LeaderRecoveryState:
		return reject(0) // already in the proposed state: idempotent
	case p.PartitionEpoch < cur.ZkVersion:
		return reject(kerr.InvalidUpdateVersion.Code)
	case p.LeaderRecoveryState == leaderRecovering && len(newISR) > 1,
		cur.LeaderRecoveryState == 0 && p.LeaderRecoveryState == leaderRecovering,
		len(newISR) == 0:
		return reject(kerr.InvalidRequest.Code)
	}
	for _, r := range newISR {
		// Kafka's ZooKeeper controller checks only that the broker is live.
		// We also refuse to add a replica the controller knows is on a
		// failed log dir (isReplicaOnline), as KIP-841's "replicas being
		// added must be online" intends: a leader's expansion retried after
		// the replica went offline would otherwise put a replica with no log
		// back in the ISR until the leader shrinks it.
		adding := !slices.Contains(cur.ISR, r)
		if !s.isEligible(r) || !slices.Contains(s.replicas(tp), r) || (adding && !s.isReplicaOnline(r, tp)) {
			if version < 2 {
				return reject(kerr.OperationNotAttempted.Code)
			}
			return reject(kerr.IneligibleReplica.Code)
		}
	}
	next := cur
	next.ISR = slices.Clone(newISR)
	next.LeaderRecoveryState = p.LeaderRecoveryState
	next.ControllerEpoch = controllerEpoch
	return alterPartitionVerdict{write: true, next: next}
}

// alterOne decides and writes one partition's proposed state.
func (c *Controller) alterOne(tp topicPartition, p kmsg.AlterPartitionRequestTopicPartition, newISR []int32, version int16, sender int32) (zkmeta.LeaderAndIsr, int16) {
	v := decideAlterPartition(c.state, tp, p, newISR, version, sender, c.epoch)
	if v.reload {
		c.reloadPartitionState(tp)
	}
	if !v.write {
		return v.next, v.code
	}
	cur := c.state.partitions[tp]
	written, err := c.updatePartitionState(tp, v.next)
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
