package controller

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// DESIGN.md's election table, the rows this file covers: unclean,
// preferred, controlled shutdown and reassignment.
func TestElectionTable(t *testing.T) {
	shutting := func(ids ...int32) func(int32) bool {
		return func(id int32) bool { return slices.Contains(ids, id) }
	}
	type result struct {
		ok     bool
		leader int32
		isr    []int32
	}
	cases := []struct {
		name     string
		elect    func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool)
		cur      zkmeta.LeaderAndIsr
		expected result
	}{
		{"unclean prefers a clean candidate",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electUncleanLeader(cur, []int32{1, 2, 3}, liveSet(2, 3), 7)
			}, zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 3}}, result{true, 3, []int32{3}}},
		{"unclean picks the first live replica, ISR = [leader]",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electUncleanLeader(cur, []int32{1, 2, 3}, liveSet(3, 2), 7)
			}, zkmeta.LeaderAndIsr{Leader: -1, ISR: []int32{1}}, result{true, 2, []int32{2}}},
		{"unclean with nothing live",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electUncleanLeader(cur, []int32{1, 2}, liveSet(), 7)
			}, zkmeta.LeaderAndIsr{Leader: -1, ISR: []int32{1}}, result{false, 0, nil}},
		{"preferred: first replica live and in ISR, ISR unchanged",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electPreferredLeader(cur, []int32{1, 2, 3}, liveSet(1, 2, 3), 7)
			}, zkmeta.LeaderAndIsr{Leader: 2, ISR: []int32{2, 3, 1}}, result{true, 1, []int32{2, 3, 1}}},
		{"preferred: first replica out of ISR",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electPreferredLeader(cur, []int32{1, 2, 3}, liveSet(1, 2, 3), 7)
			}, zkmeta.LeaderAndIsr{Leader: 2, ISR: []int32{2, 3}}, result{false, 0, nil}},
		{"preferred: first replica dead",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electPreferredLeader(cur, []int32{1, 2, 3}, liveSet(2, 3), 7)
			}, zkmeta.LeaderAndIsr{Leader: 2, ISR: []int32{1, 2, 3}}, result{false, 0, nil}},
		{"controlled shutdown: next ISR replica not shutting down; shutting-down brokers leave the ISR",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electControlledShutdownLeader(cur, []int32{1, 2, 3}, liveSet(1, 2, 3), shutting(1, 2), 7)
			}, zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2, 3}}, result{true, 3, []int32{3}}},
		{"controlled shutdown: assignment order, live and in ISR",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electControlledShutdownLeader(cur, []int32{1, 2, 3, 4}, liveSet(1, 3, 4), shutting(1), 7)
			}, zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2, 4, 3}}, result{true, 3, []int32{2, 4, 3}}},
		{"controlled shutdown: no other in-sync replica",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electControlledShutdownLeader(cur, []int32{1, 2}, liveSet(1, 2), shutting(1), 7)
			}, zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1}}, result{false, 0, nil}},
		{"reassignment: first live in-ISR replica of the target",
			func(cur zkmeta.LeaderAndIsr) (zkmeta.LeaderAndIsr, bool) {
				return electReassignmentLeader(cur, []int32{4, 5, 2}, liveSet(2, 4, 5), 7)
			}, zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2, 5}}, result{true, 5, []int32{1, 2, 5}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cur.LeaderEpoch = 4
			got, ok := c.elect(c.cur)
			if ok != c.expected.ok {
				t.Fatalf("ok = %v, want %v (%+v)", ok, c.expected.ok, got)
			}
			if !ok {
				return
			}
			if got.Leader != c.expected.leader || !slices.Equal(got.ISR, c.expected.isr) || got.LeaderEpoch != 5 || got.ControllerEpoch != 7 {
				t.Fatalf("got %+v, want leader %d isr %v epoch 5", got, c.expected.leader, c.expected.isr)
			}
		})
	}
}

func TestReassignSets(t *testing.T) {
	cases := []struct {
		name                         string
		current, adding, target      []int32
		wantRS, wantAdding, wantRemv []int32
	}{
		// The seed: commission broker 3 for a partition on 0,1,2.
		{"move one replica", []int32{0, 1, 2}, nil, []int32{0, 1, 3}, []int32{0, 1, 3, 2}, []int32{3}, []int32{2}},
		{"raise the replication factor", []int32{1}, nil, []int32{1, 2, 3}, []int32{1, 2, 3}, []int32{2, 3}, nil},
		{"shrink", []int32{0, 1, 2}, nil, []int32{0, 1}, []int32{0, 1, 2}, nil, []int32{2}},
		// A new target while one is in flight starts from the original replicas.
		{"retarget in flight", []int32{0, 1, 3, 2}, []int32{3}, []int32{0, 1, 4}, []int32{0, 1, 4, 2}, []int32{4}, []int32{2}},
		// Cancelling: the target is the original.
		{"cancel", []int32{0, 1, 3, 2}, []int32{3}, []int32{0, 1, 2}, []int32{0, 1, 2}, nil, nil},
	}
	for _, c := range cases {
		rs, add, rem := reassignSets(c.current, c.adding, c.target)
		if !slices.Equal(rs, c.wantRS) || !slices.Equal(add, c.wantAdding) || !slices.Equal(rem, c.wantRemv) {
			t.Errorf("%s: got RS %v adding %v removing %v", c.name, rs, add, rem)
		}
	}
}

func TestImbalancedBrokers(t *testing.T) {
	tp := func(p int32) topicPartition { return topicPartition{"t", p} }
	byPreferred := map[int32][]topicPartition{
		0: {tp(0), tp(1), tp(2), tp(3), tp(4), tp(5), tp(6), tp(7), tp(8), tp(9)},
		1: {tp(10), tp(11)},
		2: {tp(12)},
	}
	leaders := map[topicPartition]int32{tp(0): 1} // broker 0: 1 of 10 not led = 10%, not above
	for _, x := range byPreferred[0][1:] {
		leaders[x] = 0
	}
	leaders[tp(10)], leaders[tp(11)] = 1, 0 // broker 1: 50%
	leaders[tp(12)] = 2
	got := imbalancedBrokers(byPreferred, func(x topicPartition) int32 { return leaders[x] }, 10)
	if !slices.Equal(got, []int32{1}) {
		t.Fatalf("imbalanced = %v, want [1]", got)
	}
	leaders[tp(1)] = 2 // broker 0: 20%
	got = imbalancedBrokers(byPreferred, func(x topicPartition) int32 { return leaders[x] }, 10)
	if !slices.Equal(got, []int32{0, 1}) {
		t.Fatalf("imbalanced = %v, want [0 1]", got)
	}
}

// Kafka's AdminRackAwareTest.testGetRackAlternatedBrokerListAndAssignReplicasToBrokers.
func TestRackAwareAssignmentMatchesKafka(t *testing.T) {
	racks := map[int32]string{0: "rack1", 1: "rack3", 2: "rack3", 3: "rack2", 4: "rack2", 5: "rack1"}
	if got := rackAlternatedBrokers(racks); !slices.Equal(got, []int32{0, 3, 1, 5, 4, 2}) {
		t.Fatalf("rack alternated list = %v", got)
	}
	without5 := map[int32]string{}
	for k, v := range racks {
		if k != 5 {
			without5[k] = v
		}
	}
	if got := rackAlternatedBrokers(without5); !slices.Equal(got, []int32{0, 3, 1, 4, 2}) {
		t.Fatalf("rack alternated list without 5 = %v", got)
	}
	var brokers []brokerRack
	for id, r := range racks {
		brokers = append(brokers, brokerRack{id, r})
	}
	got, err := assignForBrokers(brokers, 7, 3, 0, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]int32{
		0: {0, 3, 1}, 1: {3, 1, 5}, 2: {1, 5, 4}, 3: {5, 4, 2}, 4: {4, 2, 0}, 5: {2, 0, 3}, 6: {0, 4, 2},
	}
	for p, w := range want {
		if !slices.Equal(got[p], w) {
			t.Errorf("partition %d: got %v want %v", p, got[p], w)
		}
	}
}

// Every partition's replicas span min(rf, racks) racks and are distinct,
// whatever the random start.
func TestRackAwareAssignmentSpreadsRacks(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	brokers := []brokerRack{{0, "a"}, {1, "a"}, {2, "b"}, {3, "b"}, {4, "c"}, {5, "c"}}
	rackOf := map[int32]string{}
	for _, b := range brokers {
		rackOf[b.ID] = b.Rack
	}
	for rf := int16(1); rf <= 6; rf++ {
		for range 10 {
			got, err := assignForBrokers(brokers, 12, rf, -1, 0, rnd)
			if err != nil {
				t.Fatal(err)
			}
			for p, r := range got {
				racks := map[string]bool{}
				for _, b := range r {
					racks[rackOf[b]] = true
				}
				if len(sortedCompact(r)) != int(rf) || len(racks) != min(int(rf), 3) {
					t.Fatalf("rf %d partition %d: replicas %v", rf, p, r)
				}
			}
		}
	}
	if _, err := assignForBrokers([]brokerRack{{0, "a"}, {1, ""}}, 1, 1, -1, 0, rnd); err == nil {
		t.Fatal("a mix of brokers with and without racks must be refused")
	}
}
