package controller

import (
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

func liveSet(ids ...int32) func(int32) bool {
	return func(id int32) bool { return slices.Contains(ids, id) }
}

func TestInitialState(t *testing.T) {
	cases := []struct {
		name      string
		replicas  []int32
		live      []int32
		wantOK    bool
		wantState zkmeta.LeaderAndIsr
	}{
		{"all live", []int32{2, 0, 1}, []int32{0, 1, 2}, true, zkmeta.LeaderAndIsr{Leader: 2, ISR: []int32{2, 0, 1}, ControllerEpoch: 5}},
		{"first replica down", []int32{2, 0, 1}, []int32{0, 1}, true, zkmeta.LeaderAndIsr{Leader: 0, ISR: []int32{0, 1}, ControllerEpoch: 5}},
		{"none live", []int32{2}, []int32{0}, false, zkmeta.LeaderAndIsr{}},
	}
	for _, c := range cases {
		got, ok := initialState(c.replicas, liveSet(c.live...), 5)
		if ok != c.wantOK || got.Leader != c.wantState.Leader || !slices.Equal(got.ISR, c.wantState.ISR) || got.LeaderEpoch != 0 {
			t.Errorf("%s: got %+v %v, want %+v %v", c.name, got, ok, c.wantState, c.wantOK)
		}
	}
}

func TestElectOfflineLeaderIsClean(t *testing.T) {
	cur := zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 4, ISR: []int32{1, 2}}
	cases := []struct {
		name       string
		replicas   []int32
		live       []int32
		wantOK     bool
		wantLeader int32
		wantISR    []int32
	}{
		// First replica in assignment order that is live and in the ISR.
		{"in-sync replica takes over", []int32{1, 0, 2}, []int32{0, 2}, true, 2, []int32{2}},
		// Broker 0 is live but out of sync: never elected without unclean election.
		{"out-of-sync replica never leads", []int32{1, 0}, []int32{0}, false, 0, nil},
		{"assignment order decides", []int32{2, 1}, []int32{1, 2}, true, 2, []int32{1, 2}},
	}
	for _, c := range cases {
		got, ok := electOfflineLeader(cur, c.replicas, liveSet(c.live...), 9)
		if ok != c.wantOK {
			t.Errorf("%s: ok=%v", c.name, ok)
			continue
		}
		if ok && (got.Leader != c.wantLeader || !slices.Equal(got.ISR, c.wantISR) || got.LeaderEpoch != 5 || got.ControllerEpoch != 9) {
			t.Errorf("%s: got %+v", c.name, got)
		}
	}
}

func TestRemoveFromISRNeverEmpties(t *testing.T) {
	cases := []struct {
		name       string
		cur        zkmeta.LeaderAndIsr
		dead       []int32
		wantLeader int32
		wantISR    []int32
		wantChange bool
	}{
		{"follower dies", zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}}, []int32{2}, 1, []int32{1}, true},
		{"last member stays", zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1}}, []int32{1}, noLeader, []int32{1}, true},
		{"all die", zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}}, []int32{1, 2}, noLeader, []int32{2}, true},
		{"unrelated broker", zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1}}, []int32{3}, 1, []int32{1}, false},
	}
	for _, c := range cases {
		got, changed := removeFromISR(c.cur, c.dead, 1)
		if changed != c.wantChange || got.Leader != c.wantLeader || !slices.Equal(got.ISR, c.wantISR) {
			t.Errorf("%s: got %+v changed=%v", c.name, got, changed)
		}
		if changed && got.LeaderEpoch != c.cur.LeaderEpoch+1 {
			t.Errorf("%s: leader epoch must be bumped once", c.name)
		}
	}
}

// The OnlinePartition transition of a partition with replicas [1, 2, 3]
// after broker changes (Kafka's onBrokerFailure/onBrokerStartup ->
// triggerOnlinePartitionStateChange, then OfflineReplica for lost replicas).
func TestOnlinePartitionState(t *testing.T) {
	st := func(leader int32, isr ...int32) *zkmeta.LeaderAndIsr {
		return &zkmeta.LeaderAndIsr{Leader: leader, LeaderEpoch: 4, ISR: isr}
	}
	cases := []struct {
		name        string
		live        []int32
		offlineDir  []int32 // brokers whose log directory of the partition is offline
		cur         *zkmeta.LeaderAndIsr
		unclean     bool
		wantNext    *zkmeta.LeaderAndIsr // nil: no change
		wantUnclean bool
		wantAsked   bool // whether unclean.leader.election.enable is read
	}{
		{"all live: nothing changes", []int32{1, 2, 3}, nil, st(1, 1, 2, 3), false, nil, false, false},
		{"follower lost: out of the ISR", []int32{1, 2}, nil, st(1, 1, 2, 3), false, st(1, 1, 2), false, false},
		{"leader lost: clean election in assignment order", []int32{2, 3}, nil, st(1, 1, 3, 2), false, st(2, 3, 2), false, false},
		{"leader's log directory offline counts as lost", []int32{1, 2, 3}, []int32{1}, st(1, 1, 3, 2), false, st(2, 3, 2), false, false},
		{"leaderless partition, an in-sync replica back", []int32{2}, nil, st(noLeader, 2), false, st(2, 2), false, false},
		{"no live in-sync replica, unclean disabled: leaderless, the ISR keeps its last member", []int32{2, 3}, nil, st(1, 1), false, st(noLeader, 1), false, true},
		{"no live in-sync replica, unclean enabled: first live replica", []int32{2, 3}, nil, st(1, 1), true, st(2, 2), true, true},
		{"nothing live, unclean enabled: leaderless", nil, nil, st(1, 1, 2), true, st(noLeader, 2), false, true},
		{"already leaderless, nothing live: nothing changes", nil, nil, st(noLeader, 2), true, nil, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := oneTopicState(c.live, []int32{1, 2, 3}, c.cur)
			tp := topicPartition{"t", 0}
			for _, id := range c.offlineDir {
				s.offlineReplicas[id] = map[topicPartition]bool{tp: true}
			}
			asked := false
			next, ok, unclean := onlinePartitionState(s, tp, *c.cur, func() bool { asked = true; return c.unclean }, 7)
			if ok != (c.wantNext != nil) || unclean != c.wantUnclean || asked != c.wantAsked {
				t.Fatalf("ok %v unclean %v asked %v (%+v), want next %+v unclean %v asked %v", ok, unclean, asked, next, c.wantNext, c.wantUnclean, c.wantAsked)
			}
			if ok && (next.Leader != c.wantNext.Leader || !slices.Equal(next.ISR, c.wantNext.ISR) || next.LeaderEpoch != 5 || next.ControllerEpoch != 7) {
				t.Fatalf("next = %+v, want leader %d ISR %v", next, c.wantNext.Leader, c.wantNext.ISR)
			}
		})
	}
}
