package controller

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// queued is the number of events waiting on the controller's loop.
func (tc *testCluster) queued() int {
	tc.c.mu.Lock()
	defer tc.c.mu.Unlock()
	return len(tc.c.events)
}

// A StopReplica(delete) answer of a broker's earlier incarnation that the
// controller reads after the broker bounced does not fail the deletion
// retried on the new incarnation: only the new one's answer counts, as for
// LeaderAndIsr answers. It used to halt the topic's deletion until the
// broker restarted once more.
func TestStaleStopReplicaAnswerAfterBounce(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	hold := make(chan struct{})
	tc.brokers[2].setAnswer(func(req kmsg.Request) kmsg.Response {
		if sr, ok := req.(*kmsg.StopReplicaRequest); ok {
			<-hold
			return fakeAnswer(sr, kerr.KafkaStorageError.Code)
		}
		return nil
	})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	deleteTopic(tc, "t")
	tc.waitFor("broker 1's deletion to be confirmed and broker 2 asked", func() bool {
		var st deletionState
		tc.onLoop(func() { st = tc.c.state.replicaDeletion[partitionReplica{topicPartition{"t", 0}, 1}] })
		return st == deletionSuccessful && len(tc.brokers[2].stopReplicas()) == 1
	})

	release := tc.blockLoop()
	tc.brokers[2].setAnswer(nil) // the new incarnation deletes fine
	tc.bounce(2)
	tc.waitFor("the bounce to be queued", func() bool { return tc.queued() == 1 })
	close(hold) // the old incarnation's failure arrives after it
	tc.waitFor("the old answer to be queued", func() bool { return tc.queued() == 2 })
	release()

	tc.waitFor("the topic znode to go", func() bool { return !topicExists(tc, "t") })
}
