package broker

import "slices"

// The leader's view of its followers and the rules that move the high
// watermark and the ISR (Kafka's Replica, Partition.maybeIncrementLeaderHW,
// maybeShrinkIsr, maybeExpandIsr). The functions here are pure so they can
// be tested without a broker; partition.go calls them under its lock.

// unknownOffset is a follower's LEO before its first fetch.
const unknownOffset int64 = -1

// followerState is what the leader knows of one follower from its fetches.
type followerState struct {
	leo                int64 // the fetch offset of its last fetch
	logStartOffset     int64
	lastCaughtUpMs     int64 // last time its LEO was known to reach the leader's LEO
	lastFetchMs        int64
	lastFetchLeaderLEO int64 // the leader's LEO at its last fetch
}

// newFollowerState is a follower's state when this broker becomes leader:
// its LEO is unknown; an ISR member counts as caught up now, others never
// (Replica.resetReplicaState).
func newFollowerState(inISR bool, nowMs, leaderLEO int64) *followerState {
	f := &followerState{leo: unknownOffset, logStartOffset: unknownOffset, lastFetchLeaderLEO: unknownOffset}
	if inISR {
		f.lastCaughtUpMs, f.lastFetchMs, f.lastFetchLeaderLEO = nowMs, nowMs, leaderLEO
	}
	return f
}

// reelected is Replica.resetReplicaState for a leader re-elected in a new
// epoch (isNewLeader false): the follower's LEO and log start are kept; it
// counts as caught up and as having fetched now if it is in the ISR, else
// never, so it neither holds the HW back nor rejoins the ISR before it
// fetches.
func (f *followerState) reelected(inISR bool, nowMs, leaderLEO int64) {
	f.lastFetchLeaderLEO = leaderLEO
	f.lastCaughtUpMs, f.lastFetchMs = 0, 0
	if inISR {
		f.lastCaughtUpMs, f.lastFetchMs = nowMs, nowMs
	}
}

// updateFetch records a fetch at fetchOffset while the leader's LEO was
// leaderLEO (Replica.updateFetchState): a follower that reached the leader's
// LEO is caught up now; one that reached the LEO the leader had at its
// previous fetch was caught up at that previous fetch.
func (f *followerState) updateFetch(fetchOffset, logStartOffset, nowMs, leaderLEO int64) {
	switch {
	case fetchOffset >= leaderLEO:
		f.lastCaughtUpMs = max(f.lastCaughtUpMs, nowMs)
	case fetchOffset >= f.lastFetchLeaderLEO:
		f.lastCaughtUpMs = max(f.lastCaughtUpMs, f.lastFetchMs)
	}
	f.leo, f.logStartOffset = fetchOffset, logStartOffset
	f.lastFetchLeaderLEO, f.lastFetchMs = leaderLEO, nowMs
}

// caughtUp is Replica.isCaughtUp: at the leader's LEO, or caught up within
// replica.lag.time.max.ms.
func (f *followerState) caughtUp(leaderLEO, nowMs, lagMaxMs int64) bool {
	return f.leo == leaderLEO || nowMs-f.lastCaughtUpMs <= lagMaxMs
}

// highWatermarkFor is the HW the leader may expose: the minimum LEO over
// the maximal ISR (members with an AlterPartition in flight included) and
// over caught-up, ISR-eligible (live) replicas about to join the ISR, never
// above the leader's LEO. The caller keeps the HW from going backwards.
func highWatermarkFor(self int32, leaderLEO int64, maximalISR []int32, followers map[int32]*followerState, nowMs, lagMaxMs int64, eligible func(int32) bool) int64 {
	hw := leaderLEO
	for id, f := range followers {
		if id == self || f.leo >= hw {
			continue
		}
		if slices.Contains(maximalISR, id) || (f.leo >= 0 && f.caughtUp(leaderLEO, nowMs, lagMaxMs) && eligible(id)) {
			hw = f.leo
		}
	}
	return max(hw, unknownOffset)
}

// outOfSyncReplicas lists the ISR followers that have not caught up within
// replica.lag.time.max.ms (Partition.getOutOfSyncReplicas). The leader is
// never one of them.
func outOfSyncReplicas(self int32, leaderLEO int64, isr []int32, followers map[int32]*followerState, nowMs, lagMaxMs int64) []int32 {
	var out []int32
	for _, id := range isr {
		if id == self {
			continue
		}
		f, ok := followers[id]
		if !ok || !f.caughtUp(leaderLEO, nowMs, lagMaxMs) {
			out = append(out, id)
		}
	}
	return out
}

// followerInSync is Partition.isFollowerInSync: a follower may join the ISR
// once its LEO reaches the HW and the start of the leader's epoch.
func followerInSync(leo, hw, leaderEpochStartOffset int64) bool {
	return leo >= 0 && leo >= hw && leo >= leaderEpochStartOffset
}

// truncationOffset is where a follower truncates given the leader's answer
// for an epoch (AbstractFetcherThread.getOffsetTruncationState). leaderEpoch
// and leaderEnd are the leader's epoch and end offset; localEpoch and
// localEnd the follower's own answer for leaderEpoch; leo the follower's
// LEO. complete is false when the follower should ask again with an older
// epoch.
func truncationOffset(leaderEpoch int32, leaderEnd int64, localEpoch int32, localEnd int64, leo, hw int64) (offset int64, complete bool) {
	switch {
	case leaderEnd < 0:
		// The leader knows no such epoch: fall back to the high watermark.
		return min(hw, leo), true
	case leaderEpoch < 0 || localEnd < 0:
		return min(leaderEnd, leo), true
	case localEpoch != leaderEpoch:
		// We do not have the leader's epoch: go back to the end of our
		// largest epoch below it and ask again.
		return min(localEnd, leo), false
	default:
		return min(leaderEnd, localEnd, leo), true
	}
}

// effectiveMinISR is Partition.effectiveMinIsr: min.insync.replicas capped
// at the number of replicas (the assignment's remote replicas plus the
// leader), so a topic whose min.insync.replicas exceeds its replication
// factor still accepts acks=all.
func effectiveMinISR(minInsyncReplicas, self int32, replicas []int32) int32 {
	n := int32(1)
	for _, id := range replicas {
		if id != self {
			n++
		}
	}
	return min(minInsyncReplicas, n)
}

// underMinISR is Partition.isUnderMinIsr: this broker leads and the
// committed ISR is smaller than the effective min ISR. The leader's HW does
// not move meanwhile (Partition.maybeIncrementLeaderHW).
func underMinISR(self int32, leading bool, isr, replicas []int32, minInsyncReplicas int32) bool {
	return leading && int32(len(isr)) < effectiveMinISR(minInsyncReplicas, self, replicas)
}
