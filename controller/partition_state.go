package controller

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// stateReadBackTimeout bounds how long a write of unknown outcome waits for
// ZooKeeper to answer the read that settles it.
const stateReadBackTimeout = 5 * time.Second

// updatePartitionState writes a partition's next state (CAS on its version,
// fenced by the controller epoch) and caches it. When the write fails in a
// way that leaves its outcome unknown (the connection dropped mid-request)
// or meets a version conflict, the znode is read back: if it already holds
// next, the write went through (Kafka's
// ReplicationUtils.checkLeaderAndIsrZkData); otherwise the cache takes what
// ZooKeeper holds and the write's error is returned.
func (c *Controller) updatePartitionState(tp topicPartition, next zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, error) {
	v, err := c.zk.UpdatePartitionState(c.epochZkVersion, tp.Topic, tp.Partition, next)
	if err == nil {
		next.ZkVersion = v
		c.state.partitions[tp] = next
		return next, nil
	}
	if errors.Is(c.fenced(err), zkmeta.ErrControllerMoved) {
		return next, err
	}
	cur, readErr := c.readPartitionStateBack(tp)
	if readErr != nil {
		return next, fmt.Errorf("%w (reading it back: %v)", err, readErr)
	}
	c.state.partitions[tp] = cur
	if sameLeaderAndIsr(cur, next) {
		return cur, nil
	}
	return cur, err
}

// readPartitionStateBack reads the state znode, retrying while the
// ZooKeeper connection is re-established (within stateReadBackTimeout).
func (c *Controller) readPartitionStateBack(tp topicPartition) (zkmeta.LeaderAndIsr, error) {
	deadline := time.Now().Add(stateReadBackTimeout)
	backoff := 50 * time.Millisecond
	for {
		st, ok, err := c.zk.PartitionState(tp.Topic, tp.Partition)
		if err == nil && !ok {
			err = fmt.Errorf("state of %s-%d: %w", tp.Topic, tp.Partition, zkmeta.ErrNoNode)
		}
		if err == nil || time.Now().Add(backoff).After(deadline) {
			return st, err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Second)
	}
}

// sameLeaderAndIsr reports whether two states carry the same content,
// whatever their znode versions.
func sameLeaderAndIsr(a, b zkmeta.LeaderAndIsr) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.ControllerEpoch == b.ControllerEpoch &&
		a.LeaderRecoveryState == b.LeaderRecoveryState && slices.Equal(a.ISR, b.ISR)
}
