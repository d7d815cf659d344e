package controller

import (
	"slices"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// noLeader is the leader id of a partition without a leader.
const noLeader = -1

// initialState is the election for a new partition: the first live replica
// in assignment order leads, the live replicas form the ISR, leader epoch 0.
func initialState(replicas []int32, isLive func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	var live []int32
	for _, r := range replicas {
		if isLive(r) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return zkmeta.LeaderAndIsr{}, false
	}
	return zkmeta.LeaderAndIsr{Leader: live[0], LeaderEpoch: 0, ISR: live, ControllerEpoch: controllerEpoch}, true
}

// electOfflineLeader is the clean election for a partition whose leader is
// gone: the first replica in assignment order that is live and in the ISR
// leads, and the ISR shrinks to its live members. ok is false when no such
// replica exists (unclean election is a later feature).
func electOfflineLeader(cur zkmeta.LeaderAndIsr, replicas []int32, isLive func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	var liveISR []int32
	for _, r := range cur.ISR {
		if isLive(r) {
			liveISR = append(liveISR, r)
		}
	}
	for _, r := range replicas {
		if slices.Contains(liveISR, r) {
			next := cur
			next.Leader, next.LeaderEpoch, next.ISR, next.ControllerEpoch = r, cur.LeaderEpoch+1, liveISR, controllerEpoch
			return next, true
		}
	}
	return zkmeta.LeaderAndIsr{}, false
}

// removeFromISR takes dead replicas out of the ISR as Kafka's
// removeReplicasFromIsr does, one replica at a time: the leader becomes
// noLeader if it is removed, and an ISR is never emptied (its last member
// stays). The leader epoch is bumped once when anything changed.
func removeFromISR(cur zkmeta.LeaderAndIsr, dead []int32, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	next := cur
	next.ISR = slices.Clone(cur.ISR)
	changed := false
	for _, d := range dead {
		if next.Leader == d {
			next.Leader = noLeader
			changed = true
		}
		if i := slices.Index(next.ISR, d); i >= 0 && len(next.ISR) > 1 {
			next.ISR = slices.Delete(next.ISR, i, i+1)
			changed = true
		}
	}
	if changed {
		next.LeaderEpoch++
		next.ControllerEpoch = controllerEpoch
	}
	return next, changed
}
