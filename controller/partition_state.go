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
//
// Once the controller's session has expired nothing is written nor read
// back: ZooKeeperClient fails every call on an expired session at once
// with SESSIONEXPIRED and KafkaZkClient retries only CONNECTIONLOSS, so the
// event fails fast and the controller resigns (Expire) before its broker's
// next session can open.
func (c *Controller) updatePartitionState(tp topicPartition, next zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, error) {
	if c.sessionLost() {
		return next, fmt.Errorf("update %s-%d state: %w", tp.Topic, tp.Partition, zkmeta.ErrSessionExpired)
	}
	v, err := c.zk.UpdatePartitionState(c.epochZkVersion, tp.Topic, tp.Partition, next)
	if err == nil {
		next.ZkVersion = v
		c.state.partitions[tp] = next
		return next, nil
	}
	if errors.Is(c.fenced(err), zkmeta.ErrControllerMoved) || errors.Is(err, zkmeta.ErrSessionExpired) || c.sessionLost() {
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
// ZooKeeper connection is re-established (within stateReadBackTimeout): a
// connection loss, the one failure ZooKeeperClient waits out. A session
// expiry ends it at once.
func (c *Controller) readPartitionStateBack(tp topicPartition) (zkmeta.LeaderAndIsr, error) {
	deadline := time.Now().Add(stateReadBackTimeout)
	backoff := 50 * time.Millisecond
	for {
		st, ok, err := c.zk.PartitionState(tp.Topic, tp.Partition)
		if err == nil && !ok {
			err = fmt.Errorf("state of %s-%d: %w", tp.Topic, tp.Partition, zkmeta.ErrNoNode)
		}
		if err == nil || errors.Is(err, zkmeta.ErrSessionExpired) || c.sessionLost() || time.Now().Add(backoff).After(deadline) {
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
