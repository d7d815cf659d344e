package controller

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// isNewEntry is one partition state of a LeaderAndIsr a broker received.
type isNewEntry struct {
	key   string // "b<broker> <topic>-<partition>"
	isNew bool
}

// leaderAndIsrEntries lists the partition states each broker received in
// LeaderAndIsr requests, skipping the first from[id] requests of broker id.
func (tc *testCluster) leaderAndIsrEntries(from map[int32]int) []isNewEntry {
	var out []isNewEntry
	for id, b := range tc.brokers {
		reqs := b.received(kmsg.LeaderAndISR.Int16())
		for _, r := range reqs[min(from[id], len(reqs)):] {
			for _, t := range r.(*kmsg.LeaderAndISRRequest).TopicStates {
				for _, ps := range t.PartitionStates {
					out = append(out, isNewEntry{fmt.Sprintf("b%d %s-%d", id, t.Topic, ps.Partition), ps.IsNew})
				}
			}
		}
	}
	return out
}

func (tc *testCluster) leaderAndIsrCounts() map[int32]int {
	out := map[int32]int{}
	for id, b := range tc.brokers {
		out[id] = len(b.received(kmsg.LeaderAndISR.Int16()))
	}
	return out
}

// IsNew (KIP-112) is set only where Kafka's ZooKeeper controller sets it:
// the first LeaderAndIsr of a partition whose state is created
// (PartitionStateMachine.initializeLeaderAndIsrForPartitions: topic
// creation, partition addition, and a partition created while none of its
// replicas was live that gets its state at a failover) and the replicas a
// reassignment adds (updateLeaderEpochAndSendRequest for the adding
// replicas, NewReplica). Everything else - replicas going online at a
// failover or a broker start, elections, reassignment completion - sends
// isNew = false, so a broker with an offline log dir refuses to create an
// empty log for a replica that should have had one.
func TestLeaderAndIsrIsNew(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	// "old" has a state from an earlier controller; "fresh" has none.
	prev := tc.session()
	won, epoch, epochZkVersion, err := prev.ElectController(99)
	if err != nil || !won {
		t.Fatal(won, err)
	}
	tc.createTopic("old", map[int32][]int32{0: {1, 2}})
	if err := prev.CreatePartitionStates(epochZkVersion, "old", map[int32]zkmeta.LeaderAndIsr{
		0: {Leader: 1, ISR: []int32{1, 2}, ControllerEpoch: epoch},
	}); err != nil {
		t.Fatal(err)
	}
	tc.createTopic("fresh", map[int32][]int32{0: {1, 2}})
	prev.Close()

	steps := []struct {
		name string
		do   func()
		// want names every (broker, partition) state the step must send,
		// with its IsNew; any other state the step sends must be false.
		want map[string]bool
	}{
		{"controller failover", func() { tc.start(Config{BrokerID: 100}) }, map[string]bool{
			"b1 old-0": false, "b2 old-0": false, "b1 fresh-0": true, "b2 fresh-0": true,
		}},
		{"topic creation", func() { tc.createTopic("t", map[int32][]int32{0: {1, 2}}) }, map[string]bool{
			"b1 t-0": true, "b2 t-0": true,
		}},
		{"partition addition", func() {
			req := kmsg.NewPtrCreatePartitionsRequest()
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = "t", 2
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = []int32{2, 3}
			rt.Assignment = append(rt.Assignment, a)
			req.Topics = append(req.Topics, rt)
			if resp := tc.c.CreatePartitions(context.Background(), req); resp.Topics[0].ErrorCode != 0 {
				t.Fatalf("CreatePartitions: %+v", resp.Topics[0])
			}
		}, map[string]bool{"b2 t-1": true, "b3 t-1": true}},
		{"reassignment start", func() { alterReassignment(tc, "t", 0, []int32{2, 3}) }, map[string]bool{
			"b1 t-0": false, "b2 t-0": false, "b3 t-0": true,
		}},
		{"reassignment completion", func() { leaderAddsToISR(tc, "t", 0, []int32{1, 2, 3}) }, map[string]bool{
			"b2 t-0": false, "b3 t-0": false,
		}},
		{"broker restart", func() { tc.bounce(2) }, map[string]bool{
			"b2 old-0": false, "b2 fresh-0": false, "b2 t-0": false, "b2 t-1": false,
		}},
		{"broker failure, leaders elected", func() { tc.brokers[1].zk.Close() }, map[string]bool{
			"b2 old-0": false, "b2 fresh-0": false,
		}},
	}
	for _, s := range steps {
		mark := tc.leaderAndIsrCounts()
		s.do()
		tc.waitFor(s.name+": LeaderAndIsr to every replica", func() bool {
			seen := map[string]bool{}
			for _, e := range tc.leaderAndIsrEntries(mark) {
				seen[e.key] = true
			}
			for k := range s.want {
				if !seen[k] {
					return false
				}
			}
			return true
		})
		var bad []string
		for _, e := range tc.leaderAndIsrEntries(mark) {
			if want := s.want[e.key]; e.isNew != want {
				bad = append(bad, fmt.Sprintf("%s IsNew=%v", e.key, e.isNew))
			}
		}
		slices.Sort(bad)
		if len(bad) > 0 {
			t.Errorf("%s: wrong IsNew: %v", s.name, bad)
		}
	}
}

// The request builder sets IsNew per replica: the same partition is new on
// one broker and not on another.
func TestLeaderAndIsrRequestIsNewPerReplica(t *testing.T) {
	c := &Controller{state: newClusterState()}
	c.state.topics["t"] = zkmeta.TopicAssignment{Topic: "t", Partitions: map[int32][]int32{0: {1, 2, 3}, 1: {1, 2}},
		AddingReplicas: map[int32][]int32{0: {3}}}
	tp0, tp1 := topicPartition{"t", 0}, topicPartition{"t", 1}
	c.state.partitions[tp0] = zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}}
	c.state.partitions[tp1] = zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}}
	for _, id := range []int32{1, 2, 3} {
		c.state.liveBrokers[id] = zkmeta.BrokerInfo{ID: id}
	}
	cases := []struct {
		name   string
		broker int32
		isNew  isNewFunc
		want   []bool // t-0, t-1
	}{
		{"none new", 3, nil, []bool{false, false}},
		{"adding replica", 3, c.addingReplicas, []bool{true, false}},
		{"original replica of a reassignment", 1, c.addingReplicas, []bool{false, false}},
		{"created partition", 2, createdPartitions([]topicPartition{tp1}), []bool{false, true}},
		{"nothing created", 2, createdPartitions(nil), []bool{false, false}},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			req := c.leaderAndIsrRequestWith(cs.broker, []topicPartition{tp0, tp1}, cs.isNew)
			var got []bool
			for _, ts := range req.TopicStates {
				for _, ps := range ts.PartitionStates {
					got = append(got, ps.IsNew)
				}
			}
			if !slices.Equal(got, cs.want) {
				t.Fatalf("IsNew %v, want %v", got, cs.want)
			}
		})
	}
}
