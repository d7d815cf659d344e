// Leader election strategies, as Kafka's PartitionLeaderElectionAlgorithms
// (offline clean and unclean, reassignment, preferred replica, controlled
// shutdown), and the ISR shrink of an offline replica. Every function here
// is pure: it computes a partition's next LeaderAndIsr from the current one,
// the assignment and who is live, and writes nothing. The callers in
// partition_state_machine.go, election_triggers.go, reassign.go and
// shutdown.go apply the result (ZooKeeper write, then LeaderAndIsr and
// UpdateMetadata).

package controller

import (
	"slices"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// noLeader is the leader id of a partition without a leader.
const noLeader = -1

// leaderRecovering is LeaderRecoveryState.RECOVERING (KIP-704): the leader
// was elected from outside the ISR.
const leaderRecovering int8 = 1

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

// electUncleanLeader is the offline election with
// unclean.leader.election.enable: when no live in-sync replica exists, the
// first live replica in assignment order leads and the ISR becomes just it
// (Kafka's offlinePartitionLeaderElection with unclean allowed). A clean
// candidate is still preferred. A leader from outside the ISR marks the
// partition RECOVERING (KIP-704, leaderForOffline's
// newRecoveringLeaderAndIsr); a clean election keeps the recovery state.
func electUncleanLeader(cur zkmeta.LeaderAndIsr, replicas []int32, isLive func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	if next, ok := electOfflineLeader(cur, replicas, isLive, controllerEpoch); ok {
		return next, true
	}
	for _, r := range replicas {
		if isLive(r) {
			next := cur
			next.Leader, next.LeaderEpoch, next.ISR, next.ControllerEpoch = r, cur.LeaderEpoch+1, []int32{r}, controllerEpoch
			next.LeaderRecoveryState = leaderRecovering
			return next, true
		}
	}
	return zkmeta.LeaderAndIsr{}, false
}

// electPreferredLeader moves leadership to the first replica of the
// assignment when it is live and in the ISR; the ISR is unchanged (Kafka's
// preferredReplicaPartitionLeaderElection).
func electPreferredLeader(cur zkmeta.LeaderAndIsr, replicas []int32, isLive func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	if len(replicas) == 0 {
		return zkmeta.LeaderAndIsr{}, false
	}
	p := replicas[0]
	if !isLive(p) || !slices.Contains(cur.ISR, p) {
		return zkmeta.LeaderAndIsr{}, false
	}
	next := cur
	next.ISR = slices.Clone(cur.ISR)
	next.Leader, next.LeaderEpoch, next.ControllerEpoch = p, cur.LeaderEpoch+1, controllerEpoch
	return next, true
}

// electControlledShutdownLeader is the election for a partition whose leader
// is shutting down: the first replica in assignment order that is live, in
// the ISR and not shutting down leads; shutting-down brokers leave the ISR
// (Kafka's controlledShutdownPartitionLeaderElection).
func electControlledShutdownLeader(cur zkmeta.LeaderAndIsr, replicas []int32, isLive, shuttingDown func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	for _, r := range replicas {
		if isLive(r) && !shuttingDown(r) && slices.Contains(cur.ISR, r) {
			next := cur
			next.ISR = nil
			for _, i := range cur.ISR {
				if !shuttingDown(i) {
					next.ISR = append(next.ISR, i)
				}
			}
			next.Leader, next.LeaderEpoch, next.ControllerEpoch = r, cur.LeaderEpoch+1, controllerEpoch
			return next, true
		}
	}
	return zkmeta.LeaderAndIsr{}, false
}

// electReassignmentLeader is the election when the current leader is not in
// a reassignment's target: the first replica of the target that is live and
// in the ISR leads; the ISR is unchanged (Kafka's
// reassignPartitionLeaderElection).
func electReassignmentLeader(cur zkmeta.LeaderAndIsr, target []int32, isLive func(int32) bool, controllerEpoch int32) (zkmeta.LeaderAndIsr, bool) {
	for _, r := range target {
		if isLive(r) && slices.Contains(cur.ISR, r) {
			next := cur
			next.ISR = slices.Clone(cur.ISR)
			next.Leader, next.LeaderEpoch, next.ControllerEpoch = r, cur.LeaderEpoch+1, controllerEpoch
			return next, true
		}
	}
	return zkmeta.LeaderAndIsr{}, false
}
