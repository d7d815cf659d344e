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
