package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func deleteTopic(tc *testCluster, topic string) {
	tc.t.Helper()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TopicNames = []string{topic}
	req.TimeoutMillis = 0 // no wait for the brokers
	resp := tc.c.DeleteTopics(context.Background(), req)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		tc.t.Fatalf("DeleteTopics: %+v", resp.Topics)
	}
}

func createTopicCode(tc *testCluster, topic string) int16 {
	tc.t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 2
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 0
	resp := tc.c.CreateTopics(context.Background(), req)
	return resp.Topics[0].ErrorCode
}

func topicExists(tc *testCluster, topic string) bool {
	tc.t.Helper()
	_, _, ok, err := tc.zk.TopicAssignment(topic)
	if err != nil {
		tc.t.Fatal(err)
	}
	return ok
}

// Topic deletion, as Kafka's TopicDeletionManager: the topic's znodes go
// only once every replica has answered StopReplica(delete) without error; a
// replica whose deletion failed is retried when its broker starts again.
// Until then the topic cannot be created again (its old logs may live on).
func TestTopicDeletionWaitsForEveryReplica(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	hold := make(chan struct{})
	tc.brokers[2].setAnswer(func(req kmsg.Request) kmsg.Response {
		if sr, ok := req.(*kmsg.StopReplicaRequest); ok {
			<-hold // answered when the test says, with a failed deletion
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
	tc.waitFor("StopReplica(delete) to both replicas", func() bool {
		return len(tc.brokers[1].stopReplicas()) > 0 && len(tc.brokers[2].stopReplicas()) > 0
	})
	if !topicExists(tc, "t") {
		t.Fatal("topic znode deleted before any replica confirmed its deletion")
	}
	replicaState := func(r int32) (st deletionState, halted bool) {
		tc.onLoop(func() {
			st = tc.c.state.replicaDeletion[partitionReplica{topicPartition{"t", 0}, r}]
			halted = tc.c.state.deletionHalted["t"]
		})
		return st, halted
	}
	tc.waitFor("broker 1's deletion to be confirmed", func() bool {
		st, _ := replicaState(1)
		return st == deletionSuccessful
	})
	if !topicExists(tc, "t") {
		t.Fatal("topic znode deleted while broker 2 has not answered")
	}
	if code := createTopicCode(tc, "t"); code != kerr.TopicAlreadyExists.Code {
		t.Fatalf("CreateTopics of a topic being deleted: error %d, want TOPIC_ALREADY_EXISTS", code)
	}

	close(hold) // broker 2 fails to delete its replica
	tc.waitFor("broker 2's failure to be seen", func() bool {
		// Failed, then reset for a retry (OfflineReplica); the deletion
		// is halted until broker 2 starts again.
		st, halted := replicaState(2)
		return st == 0 && halted
	})
	if !topicExists(tc, "t") {
		t.Fatal("topic znode deleted although broker 2 failed to delete its replica")
	}

	// Broker 2 restarts, healthy: its replica's deletion is retried and the topic goes.
	tc.brokers[2].setAnswer(nil)
	tc.bounce(2)
	tc.waitFor("the topic znode to go", func() bool { return !topicExists(tc, "t") })
	if marked, err := tc.zk.TopicDeletions(); err != nil || len(marked) != 0 {
		t.Fatalf("deletion marks left: %v %v", marked, err)
	}
	if n := len(tc.brokers[2].stopReplicas()); n < 2 {
		t.Fatalf("broker 2 got %d StopReplica(delete), want a retry", n)
	}
	if code := createTopicCode(tc, "t"); code != 0 {
		t.Fatalf("CreateTopics after the deletion: error %d", code)
	}
}

func TestStopReplicaOutcome(t *testing.T) {
	tp := func(p int32) topicPartition { return topicPartition{"t", p} }
	asked := []topicPartition{tp(0), tp(1), tp(2)}
	part := func(p int32, code int16) kmsg.StopReplicaResponsePartition {
		return kmsg.StopReplicaResponsePartition{Topic: "t", Partition: p, ErrorCode: code}
	}
	cases := []struct {
		name            string
		resp            kmsg.StopReplicaResponse
		deleted, failed []topicPartition
	}{
		{"all deleted", kmsg.StopReplicaResponse{Partitions: []kmsg.StopReplicaResponsePartition{part(0, 0), part(1, 0), part(2, 0)}},
			asked, nil},
		{"one storage error", kmsg.StopReplicaResponse{Partitions: []kmsg.StopReplicaResponsePartition{part(0, 0), part(1, 56), part(2, 0)}},
			[]topicPartition{tp(0), tp(2)}, []topicPartition{tp(1)}},
		{"request error fails all", kmsg.StopReplicaResponse{ErrorCode: kerr.StaleControllerEpoch.Code},
			nil, asked},
		{"missing partition failed", kmsg.StopReplicaResponse{Partitions: []kmsg.StopReplicaResponsePartition{part(0, 0), part(2, 0)}},
			[]topicPartition{tp(0), tp(2)}, []topicPartition{tp(1)}},
	}
	for _, c := range cases {
		deleted, failed := stopReplicaOutcome(&c.resp, asked)
		if !slices.Equal(deleted, c.deleted) || !slices.Equal(failed, c.failed) {
			t.Errorf("%s: deleted %v failed %v", c.name, deleted, failed)
		}
	}
}

func TestLeaderAndIsrOutcome(t *testing.T) {
	id := [16]byte{1}
	resp := kmsg.LeaderAndISRResponse{Topics: []kmsg.LeaderAndISRResponseTopic{
		{TopicID: id, Partitions: []kmsg.LeaderAndISRResponseTopicPartition{
			{Partition: 0, ErrorCode: kerr.KafkaStorageError.Code}, {Partition: 1}, {Partition: 2, ErrorCode: kerr.FencedLeaderEpoch.Code}}},
		{TopicID: [16]byte{9}, Partitions: []kmsg.LeaderAndISRResponseTopicPartition{{Partition: 0, ErrorCode: kerr.KafkaStorageError.Code}}},
	}}
	offline, online := leaderAndIsrOutcome(&resp, map[[16]byte]string{id: "t"})
	if !slices.Equal(offline, []topicPartition{{"t", 0}}) || !slices.Equal(online, []topicPartition{{"t", 1}}) {
		t.Fatalf("offline %v online %v", offline, online)
	}
}

// A KAFKA_STORAGE_ERROR for a partition in a LeaderAndIsr response marks
// that replica offline: its partition elects another leader and the replica
// leaves the ISR (Kafka's processLeaderAndIsrResponseReceived ->
// onReplicasBecomeOffline).
func TestLeaderAndIsrStorageErrorMovesLeadership(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}, 1: {1, 2}})
	tc.brokers[1].setAnswer(func(req kmsg.Request) kmsg.Response {
		r, ok := req.(*kmsg.LeaderAndISRRequest)
		if !ok {
			return nil
		}
		resp := fakeAnswer(r, 0).(*kmsg.LeaderAndISRResponse)
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if resp.Topics[i].Partitions[j].Partition == 0 { // broker 1 cannot host t-0
					resp.Topics[i].Partitions[j].ErrorCode = kerr.KafkaStorageError.Code
				}
			}
		}
		return resp
	})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("t-0 to move to broker 2", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 2
	})
	if st := tc.partitionState("t", 0); !slices.Equal(st.ISR, []int32{2}) || st.LeaderEpoch != 1 {
		t.Fatalf("t-0: %+v, want leader 2 epoch 1 isr [2]", st)
	}
	if st := tc.partitionState("t", 1); st.Leader != 1 || !slices.Equal(st.ISR, []int32{1, 2}) {
		t.Fatalf("t-1 must stay: %+v", st)
	}
}

// A topic deleted while a replica's broker is down keeps its znodes until
// that broker is back and has deleted its replica (the replica is
// ReplicaDeletionIneligible meanwhile); then it can be created again.
func TestTopicDeletionWaitsForDownBroker(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	b2 := tc.brokers[2]
	b2.zk.Close() // broker 2 goes down
	tc.waitFor("the controller to see broker 2 gone", func() bool {
		live := true
		tc.onLoop(func() { live = tc.c.state.isLive(2) })
		return !live
	})
	deleteTopic(tc, "t")
	tc.waitFor("broker 1's deletion to be confirmed", func() bool {
		var st deletionState
		tc.onLoop(func() { st = tc.c.state.replicaDeletion[partitionReplica{topicPartition{"t", 0}, 1}] })
		return st == deletionSuccessful
	})
	if !topicExists(tc, "t") {
		t.Fatal("topic znode deleted while broker 2 still holds a replica")
	}
	tc.register(b2) // broker 2 is back
	tc.waitFor("the topic znode to go", func() bool { return !topicExists(tc, "t") })
	if got := b2.stopReplicas(); !slices.Equal(got, []string{"t-0 delete=true"}) {
		t.Fatalf("broker 2 StopReplica: %v", got)
	}
	if code := createTopicCode(tc, "t"); code != 0 {
		t.Fatalf("CreateTopics after the deletion: error %d", code)
	}
}

// ElectLeaders for a partition of a topic being deleted answers
// INVALID_TOPIC_EXCEPTION "The topic is being deleted"
// (KafkaController.processReplicaLeaderElection).
func TestElectLeadersOnTopicBeingDeleted(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	tc.brokers[2].setAnswer(func(req kmsg.Request) kmsg.Response {
		if _, ok := req.(*kmsg.StopReplicaRequest); ok {
			<-hold // the deletion stays under way
		}
		return nil
	})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.waitFor("first leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 1
	})
	deleteTopic(tc, "t")
	for _, kind := range []int8{electionPreferred, electionUnclean} {
		req := kmsg.NewPtrElectLeadersRequest()
		req.Version, req.ElectionType = 1, kind
		req.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		resp := tc.c.ElectLeaders(context.Background(), req)
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.InvalidTopicException.Code || p.ErrorMessage == nil || *p.ErrorMessage != "The topic is being deleted" {
			t.Fatalf("election type %d: error %d %v, want INVALID_TOPIC_EXCEPTION", kind, p.ErrorCode, p.ErrorMessage)
		}
	}
}

// A topic the controller created itself is watched like any other: a
// partition added to its znode by an admin path gets its first leader
// (Kafka registers a partition-modifications handler for every new topic).
func TestCreatedTopicIsWatched(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.start(Config{BrokerID: 100})
	if code := createTopicCode(tc, "t"); code != 0 {
		t.Fatalf("CreateTopics: error %d", code)
	}
	a, version, ok, err := tc.zk.TopicAssignment("t")
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	a.Partitions[1] = []int32{2, 1}
	if err := tc.zk.SetTopicAssignment(a, version); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("t-1 to get a leader", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 1)
		return err == nil && ok && st.Leader == 2
	})
}

// CreateTopics refuses a name that collides with an existing topic's once
// '.' and '_' are unified (AdminZkClient.validateTopicCreate,
// Topic.hasCollision): their metric names would clash.
func TestCreateTopicsRefusesCollidingNames(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.start(Config{BrokerID: 100})
	if code := createTopicCode(tc, "a_b.c"); code != 0 {
		t.Fatalf("CreateTopics a_b.c: error %d", code)
	}
	for _, name := range []string{"a.b.c", "a_b_c", "a.b_c"} {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 1, 1
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 0
		r := tc.c.CreateTopics(context.Background(), req).Topics[0]
		want := "Topic '" + name + "' collides with existing topics: a_b.c"
		if r.ErrorCode != kerr.InvalidTopicException.Code || r.ErrorMessage == nil || *r.ErrorMessage != want {
			t.Fatalf("CreateTopics %s: error %d %v, want INVALID_TOPIC_EXCEPTION %q", name, r.ErrorCode, r.ErrorMessage, want)
		}
	}
	if code := createTopicCode(tc, "a_b.c"); code != kerr.TopicAlreadyExists.Code {
		t.Fatalf("the same name again: error %d, want TOPIC_ALREADY_EXISTS", code)
	}
	if code := createTopicCode(tc, "ab"); code != 0 {
		t.Fatalf("CreateTopics ab: error %d", code)
	}
}
