package controller

import (
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Phase U of Kafka's onPartitionReassignment (updateCurrentReassignment):
// the assignment written for a new target, and the replicas of the current
// RS it drops (U3), stopped at once.
func TestReassignTo(t *testing.T) {
	cases := []struct {
		name         string
		cur          replicaAssignment
		target       []int32
		want         replicaAssignment
		wantUnneeded []int32
	}{
		{"start: ORS {1,2,3} to TRS {4,5,6}", replicaAssignment{replicas: []int32{1, 2, 3}}, []int32{4, 5, 6},
			replicaAssignment{[]int32{4, 5, 6, 1, 2, 3}, []int32{4, 5, 6}, []int32{1, 2, 3}}, nil},
		{"overlapping target: the target leads RS", replicaAssignment{replicas: []int32{1, 2, 3}}, []int32{3, 4, 2},
			replicaAssignment{[]int32{3, 4, 2, 1}, []int32{4}, []int32{1}}, nil},
		{"raise the replication factor", replicaAssignment{replicas: []int32{1}}, []int32{1, 2},
			replicaAssignment{[]int32{1, 2}, []int32{2}, nil}, nil},
		{"shrink", replicaAssignment{replicas: []int32{1, 2, 3}}, []int32{1, 2},
			replicaAssignment{[]int32{1, 2, 3}, nil, []int32{3}}, nil},
		// A reassignment replacing one in flight starts from ORS; the adding
		// replicas it drops are stopped.
		{"replace in flight", replicaAssignment{[]int32{3, 4, 1, 2}, []int32{3, 4}, []int32{1, 2}}, []int32{5, 4},
			replicaAssignment{[]int32{5, 4, 1, 2}, []int32{5, 4}, []int32{1, 2}}, []int32{3}},
		// Cancellation: the target is ORS; every adding replica is stopped.
		{"cancel", replicaAssignment{[]int32{3, 4, 1, 2}, []int32{3, 4}, []int32{1, 2}}, []int32{1, 2},
			replicaAssignment{[]int32{1, 2}, nil, nil}, []int32{3, 4}},
		{"same target again", replicaAssignment{[]int32{4, 1}, []int32{4}, []int32{1}}, []int32{4},
			replicaAssignment{[]int32{4, 1}, []int32{4}, []int32{1}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, unneeded := c.cur.reassignTo(c.target)
			if !slices.Equal(got.replicas, c.want.replicas) || !slices.Equal(got.adding, c.want.adding) ||
				!slices.Equal(got.removing, c.want.removing) || !slices.Equal(unneeded, c.wantUnneeded) {
				t.Fatalf("got %+v unneeded %v, want %+v unneeded %v", got, unneeded, c.want, c.wantUnneeded)
			}
			if !slices.Equal(got.target(), c.target) {
				t.Fatalf("target of %+v = %v, want %v", got, got.target(), c.target)
			}
		})
	}
}

func TestReplicaAssignmentOriginAndTarget(t *testing.T) {
	a := replicaAssignment{[]int32{4, 5, 6, 1, 2, 3}, []int32{4, 5, 6}, []int32{1, 2, 3}}
	if got := a.origin(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("origin = %v", got)
	}
	if got := a.target(); !slices.Equal(got, []int32{4, 5, 6}) {
		t.Errorf("target = %v", got)
	}
	settled := replicaAssignment{replicas: []int32{1, 2}}
	if !slices.Equal(settled.origin(), settled.replicas) || !slices.Equal(settled.target(), settled.replicas) {
		t.Errorf("a partition not being reassigned: origin %v target %v", settled.origin(), settled.target())
	}
}

// Phases A and B of Kafka's onPartitionReassignment, with the rows of its
// ORS {1,2,3} -> TRS {4,5,6} example and the cases of
// moveReassignedPartitionLeaderIfRequired.
func TestNextReassignmentStep(t *testing.T) {
	away := replicaAssignment{[]int32{4, 5, 6, 1, 2, 3}, []int32{4, 5, 6}, []int32{1, 2, 3}} // {1,2,3} -> {4,5,6}
	swap := replicaAssignment{[]int32{1, 2, 4, 3}, []int32{4}, []int32{3}}                   // {1,2,3} -> {1,2,4}
	st := func(leader int32, isr ...int32) zkmeta.LeaderAndIsr {
		return zkmeta.LeaderAndIsr{Leader: leader, LeaderEpoch: 4, ISR: isr, ControllerEpoch: 2}
	}
	cases := []struct {
		name     string
		a        replicaAssignment
		cur      zkmeta.LeaderAndIsr
		eligible []int32
		want     reassignmentStep
		epoch    int32 // the leader epoch of want.next (the current one is 4)
	}{
		// Phase A: the leader epoch is bumped, nothing else changes.
		{"A: new replicas not started", away, st(1, 1, 2, 3), []int32{1, 2, 3, 4, 5, 6},
			reassignmentStep{next: st(1, 1, 2, 3)}, 5},
		{"A: part of the target caught up", away, st(1, 1, 2, 3, 4, 5), []int32{1, 2, 3, 4, 5, 6},
			reassignmentStep{next: st(1, 1, 2, 3, 4, 5)}, 5},
		{"A: no leader: the epoch is bumped all the same", away, st(noLeader, 1), []int32{4, 5, 6},
			reassignmentStep{next: st(noLeader, 1)}, 5},
		// Phase B: B3 bumps the leader epoch, and B4 once more for each
		// replica of RR it takes out of the ISR (Kafka 3.9 moving dd-b-0
		// from 0,1 to 2,0 writes leader epochs 1, 2, 3).
		{"B: leader not in the target moves to the first target replica in the ISR", away, st(1, 1, 2, 3, 4, 5, 6), []int32{1, 2, 3, 4, 5, 6},
			reassignmentStep{complete: true, next: st(4, 4, 5, 6), final: []int32{4, 5, 6}, stop: []int32{1, 2, 3}}, 8},
		{"B: assignment order of the target decides, among eligible replicas", away, st(1, 1, 2, 3, 6, 5, 4), []int32{1, 2, 3, 5, 6},
			reassignmentStep{complete: true, next: st(5, 6, 5, 4), final: []int32{4, 5, 6}, stop: []int32{1, 2, 3}}, 8},
		{"B: leader in the target and live keeps leading, epoch bumped", swap, st(2, 1, 2, 3, 4), []int32{1, 2, 3, 4},
			reassignmentStep{complete: true, next: st(2, 1, 2, 4), final: []int32{1, 2, 4}, stop: []int32{3}}, 6},
		{"B: leader in the target but dead is replaced", swap, st(2, 1, 2, 3, 4), []int32{1, 3, 4},
			reassignmentStep{complete: true, next: st(1, 1, 2, 4), final: []int32{1, 2, 4}, stop: []int32{3}}, 6},
		{"B: a shutting-down leader in the target is replaced", swap, st(1, 1, 2, 3, 4), []int32{2, 3, 4},
			reassignmentStep{complete: true, next: st(2, 1, 2, 4), final: []int32{1, 2, 4}, stop: []int32{3}}, 6},
		{"B: a leaderless partition gets a leader from the target", swap, st(noLeader, 1, 2, 4), []int32{2, 4},
			reassignmentStep{complete: true, next: st(2, 1, 2, 4), final: []int32{1, 2, 4}, stop: []int32{3}}, 5},
		// The failed election leaves the leader; B4's OfflineReplica of RR
		// (removeReplicasFromIsr) then takes away a leader that is in RR:
		// the partition is leaderless until a target replica can lead.
		{"B: no target replica can lead, leader in RR: leaderless", away, st(1, 1, 4, 5, 6), []int32{1},
			reassignmentStep{complete: true, next: st(noLeader, 4, 5, 6), final: []int32{4, 5, 6}, stop: []int32{1, 2, 3}, noTargetLeader: true}, 5},
		{"B: no target replica can lead, leader in TRS but dead: it stays", swap, st(4, 1, 2, 3, 4), []int32{3},
			reassignmentStep{complete: true, next: st(4, 1, 2, 4), final: []int32{1, 2, 4}, stop: []int32{3}, noTargetLeader: true}, 5},
		// After a cancellation nothing is adding or removing: TRS = RS.
		{"B: cancelled, ORS in sync", replicaAssignment{replicas: []int32{1, 2}}, st(1, 1, 2), []int32{1, 2},
			reassignmentStep{complete: true, next: st(1, 1, 2), final: []int32{1, 2}}, 5},
		{"A: cancelled, ORS not all in sync", replicaAssignment{replicas: []int32{1, 2}}, st(1, 1), []int32{1, 2},
			reassignmentStep{next: st(1, 1)}, 5},
		// Two in-sync replicas of RR: B3's epoch and one each in B4.
		{"B: two in-sync replicas leave, two more epochs", replicaAssignment{[]int32{1, 2, 3}, nil, []int32{2, 3}}, st(1, 1, 2, 3), []int32{1, 2, 3},
			reassignmentStep{complete: true, next: st(1, 1), final: []int32{1}, stop: []int32{2, 3}}, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := c.cur
			cur.ISR = slices.Clone(c.cur.ISR)
			got := nextReassignmentStep(c.a, cur, liveSet(c.eligible...), 7)
			want := c.want
			want.next.ControllerEpoch = 7
			want.next.LeaderEpoch = c.epoch
			if got.complete != want.complete || got.noTargetLeader != want.noTargetLeader ||
				got.next.Leader != want.next.Leader || !slices.Equal(got.next.ISR, want.next.ISR) ||
				got.next.LeaderEpoch != want.next.LeaderEpoch || got.next.ControllerEpoch != want.next.ControllerEpoch ||
				!slices.Equal(got.final, want.final) || !slices.Equal(got.stop, want.stop) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
			if !slices.Equal(cur.ISR, c.cur.ISR) {
				t.Fatalf("the current state's ISR was modified: %v", cur.ISR)
			}
		})
	}
}
