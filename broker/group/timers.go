package group

import (
	"time"
)

// newMemberJoinTimeoutMs bounds how long a new member's JoinGroup may wait
// (GroupCoordinator.NewMemberJoinTimeoutMs): it cannot heartbeat yet.
const newMemberJoinTimeoutMs = 5 * 60 * 1000

// delayedOp is one of the group's delayed rebalance operations: the join
// (DelayedJoin, or InitialDelayedJoin for a group leaving Empty) or the
// sync (DelayedSync) phase. A timer that fires for an op that is no longer
// the group's current one does nothing.
type delayedOp struct {
	timer Timer

	// InitialDelayedJoin: never completes early; on expiry it waits again
	// (up to the rebalance timeout) if new members joined meanwhile.
	initial    bool
	configured int32 // group.initial.rebalance.delay.ms
	delayMs    int32
	remaining  int32

	generation int32 // DelayedSync: the generation it watches
}

func ms(v int32) time.Duration { return time.Duration(v) * time.Millisecond }

// watchJoin installs op as the group's join operation: a DelayedJoin
// completes at once if every member already joined, else on the timer.
func (c *Coordinator) watchJoin(g *group, op *delayedOp) {
	c.cancelJoinOp(g)
	g.joinOp = op
	if !op.initial && g.hasAllMembersJoined() {
		g.joinOp = nil
		c.onCompleteJoin(g)
		return
	}
	op.timer = c.clock.AfterFunc(ms(op.delayMs), func() { c.expireJoin(g, op) })
}

func (c *Coordinator) cancelJoinOp(g *group) {
	if g.joinOp != nil && g.joinOp.timer != nil {
		g.joinOp.timer.Stop()
	}
	g.joinOp = nil
}

// tryCompleteJoin is DelayedJoin.tryComplete: complete the join phase once
// every known member rejoined (checkAndComplete on the group's join key).
func (c *Coordinator) tryCompleteJoin(g *group) {
	op := g.joinOp
	if op == nil || op.initial || !g.hasAllMembersJoined() {
		return
	}
	c.cancelJoinOp(g)
	c.onCompleteJoin(g)
}

func (c *Coordinator) expireJoin(g *group, op *delayedOp) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.joinOp != op {
		return
	}
	g.joinOp = nil
	if op.initial && g.newMemberAdded && op.remaining != 0 {
		g.newMemberAdded = false
		delay := min(op.configured, op.remaining)
		remaining := max(op.remaining-op.delayMs, 0)
		c.watchJoin(g, &delayedOp{initial: true, configured: op.configured, delayMs: delay, remaining: remaining})
		return
	}
	c.onCompleteJoin(g)
}

// schedulePendingSync starts the sync phase's timeout: members that do
// not send SyncGroup within the rebalance timeout are removed.
func (c *Coordinator) schedulePendingSync(g *group) {
	c.cancelSyncOp(g)
	op := &delayedOp{generation: g.generation, delayMs: g.rebalanceTimeoutMs()}
	g.syncOp = op
	if c.tryCompletePendingSync(g) {
		return
	}
	op.timer = c.clock.AfterFunc(ms(op.delayMs), func() { c.expirePendingSync(g, op) })
}

func (c *Coordinator) cancelSyncOp(g *group) {
	if g.syncOp != nil && g.syncOp.timer != nil {
		g.syncOp.timer.Stop()
	}
	g.syncOp = nil
}

// tryCompletePendingSync is DelayedSync.tryComplete: the sync phase is
// over when the generation moved on, the group left the sync phase, or
// every member sent SyncGroup.
func (c *Coordinator) tryCompletePendingSync(g *group) bool {
	op := g.syncOp
	if op == nil {
		return true
	}
	done := op.generation != g.generation
	switch g.state {
	case stateDead, stateEmpty, statePreparingRebalance:
		done = true
	case stateCompletingRebalance, stateStable:
		done = done || len(g.pendingSyncMembers) == 0
	}
	if done {
		c.cancelSyncOp(g)
	}
	return done
}

// expirePendingSync is GroupCoordinator.onExpirePendingSync.
func (c *Coordinator) expirePendingSync(g *group, op *delayedOp) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.syncOp != op {
		return
	}
	g.syncOp = nil
	if op.generation != g.generation {
		c.logger.Error("unexpected sync expiration for an old generation", "group", g.id, "generation", op.generation, "current", g.generation)
		return
	}
	switch g.state {
	case stateCompletingRebalance, stateStable:
		if len(g.pendingSyncMembers) == 0 {
			return
		}
		var missing []string
		for id := range g.pendingSyncMembers {
			missing = append(missing, id)
		}
		for _, id := range missing {
			g.remove(id)
		}
		c.logger.Info("removed members who have not sent their sync request", "group", g.id, "members", missing)
		c.prepareRebalance(g, "removing members on pending sync request expiration")
	default:
		c.logger.Error("unexpected sync expiration", "group", g.id, "state", g.state.String())
	}
}

// removePendingSyncMember notes a member's SyncGroup.
func (c *Coordinator) removePendingSyncMember(g *group, id string) {
	delete(g.pendingSyncMembers, id)
	c.tryCompletePendingSync(g)
}

// removeSyncExpiration ends the sync phase's timeout.
func (c *Coordinator) removeSyncExpiration(g *group) {
	clear(g.pendingSyncMembers)
	c.tryCompletePendingSync(g)
}

// scheduleHeartbeat is completeAndScheduleNextHeartbeatExpiration.
func (c *Coordinator) scheduleHeartbeat(g *group, m *member, timeoutMs int32) {
	if m.hbTimer != nil {
		m.hbTimer.Stop()
		m.hbTimer = nil
	}
	m.hbSeq++
	m.heartbeatSatisfied = false
	// DelayedHeartbeat completes at once for a member awaiting join or
	// sync: its liveness is checked again when that ends.
	if m.hasSatisfiedHeartbeat() {
		return
	}
	seq, id := m.hbSeq, m.id
	m.hbTimer = c.clock.AfterFunc(ms(timeoutMs), func() { c.expireHeartbeat(g, id, seq) })
}

// stopHeartbeat is removeHeartbeatForLeavingMember.
func (c *Coordinator) stopHeartbeat(m *member) {
	if m.hbTimer != nil {
		m.hbTimer.Stop()
		m.hbTimer = nil
	}
	m.hbSeq++
}

// expireHeartbeat is onExpireHeartbeat: a member without a sign of life
// within its session timeout leaves the group.
func (c *Coordinator) expireHeartbeat(g *group, memberID string, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return
	}
	m, ok := g.members[memberID]
	if !ok || m.hbSeq != seq {
		return
	}
	m.hbTimer = nil
	if !m.hasSatisfiedHeartbeat() {
		c.logger.Info("member has failed, removing it from the group", "group", g.id, "member", memberID)
		c.removeMemberAndUpdateGroup(g, m, "removing member "+memberID+" on heartbeat expiration")
	}
}

// addPendingMemberExpiration drops a member id handed out with
// MEMBER_ID_REQUIRED if the member does not join with it in time.
func (c *Coordinator) addPendingMemberExpiration(g *group, memberID string, timeoutMs int32) {
	if t, ok := g.pendingTimers[memberID]; ok {
		t.Stop()
	}
	var t Timer
	t = c.clock.AfterFunc(ms(timeoutMs), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.pendingTimers[memberID] != t {
			return
		}
		delete(g.pendingTimers, memberID)
		if g.state == stateDead || g.has(memberID) {
			return
		}
		c.logger.Info("pending member has been removed after session timeout expiration", "group", g.id, "member", memberID)
		c.removePendingMemberAndUpdateGroup(g, memberID)
	})
	g.pendingTimers[memberID] = t
}
