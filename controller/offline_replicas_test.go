package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offlineReplicasInUpdateMetadata reports whether a broker received an
// UpdateMetadata listing replica as offline for topic's partition p.
func offlineReplicasInUpdateMetadata(b *fakeBroker, topic string, p, replica int32) bool {
	for _, r := range b.received(kmsg.UpdateMetadata.Int16()) {
		for _, ts := range r.(*kmsg.UpdateMetadataRequest).TopicStates {
			for _, ps := range ts.PartitionStates {
				if ts.Topic == topic && ps.Partition == p && slices.Contains(ps.OfflineReplicas, replica) {
					return true
				}
			}
		}
	}
	return false
}

// Broker 2 reports KAFKA_STORAGE_ERROR for t-0 while it is neither t-0's
// leader nor in its ISR: no partition state changes, yet the brokers must
// learn that the replica is offline (KafkaController.onReplicasBecomeOffline
// and the OfflineReplica transition send UpdateMetadata for it).
func TestStorageErrorOutsideISRSendsUpdateMetadata(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	leaderAddsToISR(tc, "t", 0, []int32{1}) // broker 2 fell behind
	if offlineReplicasInUpdateMetadata(tc.brokers[1], "t", 0, 2) {
		t.Fatal("replica 2 already offline in metadata")
	}
	tc.onLoop(func() {
		resp := kmsg.NewPtrLeaderAndISRResponse()
		resp.Version = leaderAndIsrVersion
		resp.Topics = []kmsg.LeaderAndISRResponseTopic{{TopicID: tc.c.state.topics["t"].TopicID,
			Partitions: []kmsg.LeaderAndISRResponseTopicPartition{{Partition: 0, ErrorCode: kerr.KafkaStorageError.Code}}}}
		tc.c.onLeaderAndIsrResponse(2, tc.c.state.liveBrokers[2].Epoch, resp, nil)
	})
	tc.waitFor("UpdateMetadata with replica 2 of t-0 offline", func() bool {
		return offlineReplicasInUpdateMetadata(tc.brokers[1], "t", 0, 2)
	})
	if st := tc.partitionState("t", 0); st.Leader != 1 || !slices.Equal(st.ISR, []int32{1}) {
		t.Fatalf("t-0 changed: %+v", st)
	}
}
