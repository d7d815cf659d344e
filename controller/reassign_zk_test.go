package controller

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// A reassignment whose completion (onPartitionReassignment phase B) cannot
// write to ZooKeeper completes once ZooKeeper answers again. Kafka's
// KafkaZkClient holds the write until ZooKeeper is back
// (retryRequestsUntilConnected), so the steps never stop half-way; ours
// fails at once and tries the step again. Both of phase B's writes are
// cut: the partition state (B3/B4: new leader epoch, ISR without RR) and
// the final assignment (B6: RS = TRS, no adding or removing replicas).
func TestReassignmentCompletesAfterZooKeeperOutage(t *testing.T) {
	cases := []struct {
		name string
		path string // the znode whose writes fail
		skip int32  // writes of it that pass first (the leader's ISR change)
	}{
		{"partition state write (B3, B4)", "/brokers/topics/t/partitions/0/state", 1},
		{"final assignment write (B6)", "/brokers/topics/t", 0},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			tc := newTestCluster(t, 1, 2, 3)
			var down atomic.Bool
			var skip, failed atomic.Int32
			zk := tc.hookedSession(func(req zkmeta.Request, send func() error) error {
				if down.Load() && changesZnode(req, func(p string) bool { return strings.HasSuffix(p, cs.path) }) {
					if skip.Add(-1) >= 0 {
						return send()
					}
					failed.Add(1)
					return zkmeta.ErrConnectionLoss // what a write gets while no server is reachable
				}
				return send()
			})
			tc.zk = zk
			tc.createTopic("t", map[int32][]int32{0: {1, 2}})
			tc.start(Config{BrokerID: 100})
			tc.waitFor("first leader", func() bool {
				st, ok, err := tc.zk.PartitionState("t", 0)
				return err == nil && ok && st.Leader == 1
			})
			alterReassignment(tc, "t", 0, []int32{1, 3}) // adding 3, removing 2

			skip.Store(cs.skip)
			down.Store(true)
			leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3}) // the target is in the ISR: phase B
			tc.waitFor("phase B's write to fail twice (the step and a retry)", func() bool { return failed.Load() >= 2 })
			a, _, _, err := tc.zk.TopicAssignment("t")
			if err != nil || len(a.AddingReplicas[0]) == 0 {
				t.Fatalf("ZooKeeper's assignment while its writes fail: %+v %v, want the reassignment still there", a, err)
			}
			down.Store(false)
			tc.waitFor("the reassignment to complete in ZooKeeper", func() bool {
				a, _, _, err := tc.zk.TopicAssignment("t")
				return err == nil && slices.Equal(a.Partitions[0], []int32{1, 3}) && len(a.AddingReplicas) == 0 && len(a.RemovingReplicas) == 0
			})
			tc.waitFor("the partition state without the removed replica", func() bool {
				st, ok, err := tc.zk.PartitionState("t", 0)
				return err == nil && ok && slices.Equal(st.ISR, []int32{1, 3}) && st.Leader == 1
			})
			tc.waitFor("broker 2 to be told to delete its replica", func() bool {
				return slices.Contains(tc.brokers[2].stopReplicas(), "t-0 delete=true")
			})
			var listed bool
			tc.onLoop(func() { listed = tc.c.state.reassigning(topicPartition{"t", 0}) })
			if listed {
				t.Fatal("the controller still lists the reassignment")
			}
		})
	}
}
