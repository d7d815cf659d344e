package controller

import (
	"slices"
	"testing"
)

// A broker that restarts faster than the controller notices (same id, new
// session, so a new broker epoch) is failed over and then started, as
// Kafka's processBrokerChange does for bounced brokers: partitions it led
// move to another in-sync replica at a new leader epoch, and a partition it
// alone can lead is led by it again at a new epoch, so every replica takes
// the LeaderAndIsr (a same-epoch one is ignored by followers).
func TestBouncedBrokerIsFailedOver(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}, 1: {1}})
	tc.start(Config{BrokerID: 100})
	tc.waitFor("first leaders", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 1)
		return err == nil && ok && st.Leader == 1
	})
	if st := tc.partitionState("t", 0); st.Leader != 1 || st.LeaderEpoch != 0 || !slices.Equal(st.ISR, []int32{1, 2}) {
		t.Fatalf("initial state %+v", st)
	}

	release := tc.blockLoop()
	epoch := tc.bounce(1) // re-registered before the controller reads /brokers/ids
	release()
	tc.waitFor("the controller to see the new broker epoch", func() bool {
		var seen int64
		tc.onLoop(func() { seen = tc.c.state.liveBrokers[1].Epoch })
		return seen == epoch
	})

	// Failure: broker 2, the other in-sync replica, leads t-0; broker 1 left the ISR.
	if st := tc.partitionState("t", 0); st.Leader != 2 || st.LeaderEpoch != 1 || !slices.Equal(st.ISR, []int32{2}) {
		t.Fatalf("t-0 after the bounce: %+v, want leader 2 epoch 1 isr [2]", st)
	}
	// Failure then startup: t-1 went offline (ISR kept [1]), then broker 1 leads it again.
	if st := tc.partitionState("t", 1); st.Leader != 1 || st.LeaderEpoch != 2 || !slices.Equal(st.ISR, []int32{1}) {
		t.Fatalf("t-1 after the bounce: %+v, want leader 1 epoch 2 isr [1]", st)
	}
	tc.waitFor("broker 2 to learn it leads t-0", func() bool {
		states := tc.brokers[2].leaderAndIsrStates("t", 0)
		return len(states) > 0 && states[len(states)-1].Leader == 2 && states[len(states)-1].LeaderEpoch == 1
	})
	tc.waitFor("the bounced broker to learn its roles", func() bool {
		s0, s1 := tc.brokers[1].leaderAndIsrStates("t", 0), tc.brokers[1].leaderAndIsrStates("t", 1)
		return len(s0) > 0 && s0[len(s0)-1].LeaderEpoch == 1 && len(s1) > 0 && s1[len(s1)-1].LeaderEpoch == 2
	})
}

// Kafka's processBrokerChange: new ids, gone ids, and ids registered again
// with a newer broker epoch (bounced).
func TestBrokerChange(t *testing.T) {
	cases := []struct {
		name                 string
		before, after        map[int32]int64
		added, dead, bounced []int32
	}{
		{"nothing", map[int32]int64{1: 10, 2: 11}, map[int32]int64{1: 10, 2: 11}, nil, nil, nil},
		{"new broker", map[int32]int64{1: 10}, map[int32]int64{1: 10, 2: 11}, []int32{2}, nil, nil},
		{"dead broker", map[int32]int64{1: 10, 2: 11}, map[int32]int64{1: 10}, nil, []int32{2}, nil},
		{"bounced broker", map[int32]int64{1: 10, 2: 11}, map[int32]int64{1: 20, 2: 11}, nil, nil, []int32{1}},
		{"all at once", map[int32]int64{1: 10, 2: 11, 3: 12}, map[int32]int64{3: 30, 1: 10, 4: 31, 5: 32},
			[]int32{4, 5}, []int32{2}, []int32{3}},
		// Kafka counts only a newer epoch as a bounce.
		{"older epoch is no bounce", map[int32]int64{1: 10}, map[int32]int64{1: 9}, nil, nil, nil},
	}
	for _, c := range cases {
		added, dead, bounced := brokerChange(c.before, c.after)
		if !slices.Equal(added, c.added) || !slices.Equal(dead, c.dead) || !slices.Equal(bounced, c.bounced) {
			t.Errorf("%s: added %v dead %v bounced %v, want %v %v %v", c.name, added, dead, bounced, c.added, c.dead, c.bounced)
		}
	}
}
