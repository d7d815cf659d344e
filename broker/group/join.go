package group

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

var errNotCoordinator = kerr.NotCoordinator

// JoinRequest is a JoinGroup request, normalised over versions.
type JoinRequest struct {
	Group      string
	MemberID   string
	InstanceID *string // group.instance.id (v5+)
	// RequireKnownMemberID: v4+ without group.instance.id, a member without
	// an id gets one with MEMBER_ID_REQUIRED and must join again.
	RequireKnownMemberID bool
	// SupportSkippingAssignment: v9+ (a rejoining static leader of a
	// Stable group is told to skip the assignment).
	SupportSkippingAssignment bool
	ClientID                  string
	ClientHost                string
	RebalanceTimeoutMs        int32 // v0: the session timeout
	SessionTimeoutMs          int32
	ProtocolType              string
	Protocols                 []Protocol
	Reason                    string
}

// JoinMember is one member listed to the leader.
type JoinMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// JoinResult is the answer to a JoinGroup request.
type JoinResult struct {
	Err            *kerr.Error
	MemberID       string
	Generation     int32
	ProtocolType   *string
	ProtocolName   *string
	LeaderID       string
	SkipAssignment bool
	Members        []JoinMember
}

func joinError(memberID string, err *kerr.Error) JoinResult {
	return JoinResult{Err: err, MemberID: memberID, Generation: -1}
}

// reply delivers a result to a waiting request without ever blocking:
// every channel is buffered for the one answer its request gets.
func reply[T any](ch chan<- T, r T) {
	select {
	case ch <- r:
	default:
	}
}

// awaitReply waits for a parked request's answer until ctx (the client's
// connection) or coordinator (its lifetime) ends; an answer that raced in
// still wins, else the request gets gone.
func awaitReply[T any](ctx, coordinator context.Context, ch <-chan T, gone T) T {
	select {
	case r := <-ch:
		return r
	case <-ctx.Done():
	case <-coordinator.Done():
	}
	select {
	case r := <-ch:
		return r
	default:
		return gone
	}
}

// JoinGroup serves a JoinGroup request. It blocks until the rebalance
// step answers the member, ctx ends, or the coordinator closes (both
// answered NOT_COORDINATOR, so the client looks for the coordinator again).
func (c *Coordinator) JoinGroup(ctx context.Context, req JoinRequest) JoinResult {
	ch := make(chan JoinResult, 1)
	c.handleJoin(req, ch)
	return awaitReply(ctx, c.ctx, ch, joinError(req.MemberID, errNotCoordinator))
}

// acceptJoiningMember is GroupCoordinator.acceptJoiningMember: may the
// group take this member without passing group.max.size?
func (c *Coordinator) acceptJoiningMember(g *group, memberID string) bool {
	switch g.state {
	case stateEmpty, stateDead:
		return true
	case statePreparingRebalance:
		m, ok := g.members[memberID]
		return (ok && m.awaitingJoin()) || int32(g.numAwaitingJoin) < c.cfg.MaxSize
	default:
		return g.has(memberID) || int32(len(g.members)) < c.cfg.MaxSize
	}
}

func (c *Coordinator) handleJoin(req JoinRequest, ch chan<- JoinResult) {
	if err := c.validateGroupStatus(req.Group, apiGroupIDRequired); err != nil {
		reply(ch, joinError(req.MemberID, err))
		return
	}
	if ms(req.SessionTimeoutMs) < c.cfg.MinSessionTimeout || ms(req.SessionTimeoutMs) > c.cfg.MaxSessionTimeout {
		reply(ch, joinError(req.MemberID, kerr.InvalidSessionTimeout))
		return
	}
	unknown := req.MemberID == ""
	g, err := c.getOrMaybeCreateGroup(req.Group, unknown)
	if err != nil {
		reply(ch, joinError(req.MemberID, errNotCoordinator))
		return
	}
	if g == nil {
		reply(ch, joinError(req.MemberID, kerr.UnknownMemberID))
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case !c.acceptJoiningMember(g, req.MemberID):
		g.remove(req.MemberID)
		reply(ch, joinError("", kerr.GroupMaxSizeReached))
	case unknown:
		c.doNewMemberJoin(g, req, ch)
	default:
		c.doCurrentMemberJoin(g, req, ch)
	}
	if g.state == statePreparingRebalance {
		c.tryCompleteJoin(g)
	}
}

func (c *Coordinator) doNewMemberJoin(g *group, req JoinRequest, ch chan<- JoinResult) {
	switch {
	case g.state == stateDead:
		// The group was just removed (unloaded or deleted): the member
		// retries, maybe with another coordinator.
		reply(ch, joinError("", kerr.CoordinatorNotAvailable))
	case !g.supportsProtocols(req.ProtocolType, protocolNames(req.Protocols)):
		reply(ch, joinError("", kerr.InconsistentGroupProtocol))
	default:
		newID := newMemberID(req.ClientID, req.InstanceID)
		if req.InstanceID != nil {
			c.doStaticNewMemberJoin(g, req, newID, ch)
			return
		}
		if req.RequireKnownMemberID {
			c.logger.Info("dynamic member with unknown member id joins group; created a new member id and requested a rejoin with it",
				"group", g.id, "state", g.state.String(), "member", newID)
			g.pendingMembers[newID] = true
			c.addPendingMemberExpiration(g, newID, req.SessionTimeoutMs)
			reply(ch, joinError(newID, kerr.MemberIDRequired))
			return
		}
		c.addMemberAndRebalance(g, req, newID, ch)
	}
}

// validateCurrentMember checks that a static member's instance id maps to
// memberID (else FENCED_INSTANCE_ID or UNKNOWN_MEMBER_ID) and that the
// member exists.
func (c *Coordinator) validateCurrentMember(g *group, memberID string, instanceID *string, op string) *kerr.Error {
	if instanceID != nil {
		cur, ok := g.currentStaticMemberID(*instanceID)
		switch {
		case ok && cur != memberID:
			c.logger.Info("request of a static member fenced by its current member id", "group", g.id,
				"member", memberID, "group_instance_id", *instanceID, "current", cur, "operation", op)
			return kerr.FencedInstanceID
		case !ok:
			return kerr.UnknownMemberID
		}
		return nil
	}
	if !g.has(memberID) {
		return kerr.UnknownMemberID
	}
	return nil
}

func (c *Coordinator) doCurrentMemberJoin(g *group, req JoinRequest, ch chan<- JoinResult) {
	switch {
	case g.state == stateDead:
		reply(ch, joinError(req.MemberID, kerr.CoordinatorNotAvailable))
		return
	case !g.supportsProtocols(req.ProtocolType, protocolNames(req.Protocols)):
		reply(ch, joinError(req.MemberID, kerr.InconsistentGroupProtocol))
		return
	case g.isPendingMember(req.MemberID):
		if req.InstanceID != nil {
			// A pending member is never static (Kafka throws here).
			reply(ch, joinError(req.MemberID, kerr.UnknownMemberID))
			return
		}
		c.addMemberAndRebalance(g, req, req.MemberID, ch)
		return
	}
	if err := c.validateCurrentMember(g, req.MemberID, req.InstanceID, "join-group"); err != nil {
		reply(ch, joinError(req.MemberID, err))
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case statePreparingRebalance:
		c.updateMemberAndRebalance(g, m, req, ch, fmt.Sprintf("member %s joining group during %s; client reason: %s", m.id, g.state, reasonOf(req)))
	case stateCompletingRebalance:
		if !m.matches(req.Protocols) {
			c.updateMemberAndRebalance(g, m, req, ch, fmt.Sprintf("updating metadata for member %s during %s; client reason: %s", m.id, g.state, reasonOf(req)))
			return
		}
		// The same metadata again (the member missed the JoinGroup
		// response): answer with the current generation.
		res := c.currentJoinResult(g, m.id, false)
		if !g.isLeader(m.id) {
			res.Members = nil
		}
		reply(ch, res)
	case stateStable:
		switch {
		case g.isLeader(m.id):
			// A leader's JoinGroup forces a rebalance (topic metadata changed).
			c.updateMemberAndRebalance(g, m, req, ch, fmt.Sprintf("leader %s re-joining group during %s; client reason: %s", m.id, g.state, reasonOf(req)))
		case !m.matches(req.Protocols):
			c.updateMemberAndRebalance(g, m, req, ch, fmt.Sprintf("updating metadata for member %s during %s; client reason: %s", m.id, g.state, reasonOf(req)))
		default:
			res := c.currentJoinResult(g, m.id, false)
			res.Members = nil
			reply(ch, res)
		}
	default:
		c.logger.Warn("rejoining member in an unexpected group state", "group", g.id, "member", m.id, "state", g.state.String())
		reply(ch, joinError(req.MemberID, kerr.UnknownMemberID))
	}
}

func reasonOf(req JoinRequest) string {
	if req.Reason == "" {
		return "not provided"
	}
	return req.Reason
}

// currentJoinResult describes the current generation to memberID; the
// leader gets the member list.
func (c *Coordinator) currentJoinResult(g *group, memberID string, skip bool) JoinResult {
	res := JoinResult{
		MemberID: memberID, Generation: g.generation, ProtocolType: g.protocolType, ProtocolName: g.protocolName,
		LeaderID: g.leaderID, SkipAssignment: skip,
	}
	if g.isLeader(memberID) {
		res.Members = g.currentMemberMetadata()
	}
	return res
}

func (c *Coordinator) addMemberAndRebalance(g *group, req JoinRequest, memberID string, ch chan<- JoinResult) {
	m := &member{
		id: memberID, instanceID: req.InstanceID, clientID: req.ClientID, clientHost: req.ClientHost,
		rebalanceTimeoutMs: req.RebalanceTimeoutMs, sessionTimeoutMs: req.SessionTimeoutMs,
		protocolType: req.ProtocolType, protocols: req.Protocols, isNew: true,
	}
	// New members may extend the initial rebalance delay.
	if g.state == statePreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	if err := g.add(m, ch); err != nil {
		c.logger.Error("adding member failed", "group", g.id, "err", err)
		reply(ch, joinError(memberID, kerr.UnknownServerError))
		return
	}
	// A new member cannot heartbeat before its JoinGroup is answered; its
	// join is bounded instead, so members whose clients went away do not
	// linger in long rebalances.
	c.scheduleHeartbeat(g, m, newMemberJoinTimeoutMs)
	instance := "None"
	if req.InstanceID != nil {
		instance = "Some(" + *req.InstanceID + ")"
	}
	c.maybePrepareRebalance(g, fmt.Sprintf("adding new member %s with group instance id %s; client reason: %s", memberID, instance, reasonOf(req)))
}

func (c *Coordinator) updateMemberAndRebalance(g *group, m *member, req JoinRequest, ch chan<- JoinResult, reason string) {
	g.updateMember(m, req.Protocols, req.RebalanceTimeoutMs, req.SessionTimeoutMs, ch)
	c.maybePrepareRebalance(g, reason)
}

func (c *Coordinator) maybePrepareRebalance(g *group, reason string) {
	if g.canRebalance() {
		c.prepareRebalance(g, reason)
	}
}

// prepareRebalance moves the group to PreparingRebalance: members waiting
// for an assignment are told REBALANCE_IN_PROGRESS, and the join phase
// waits for every member up to the rebalance timeout (an Empty group
// first waits group.initial.rebalance.delay.ms for more members).
func (c *Coordinator) prepareRebalance(g *group, reason string) {
	if g.state == stateCompletingRebalance {
		c.resetAndPropagateAssignmentError(g, kerr.RebalanceInProgress)
	}
	c.removeSyncExpiration(g)
	var op *delayedOp
	if g.state == stateEmpty {
		delay := int32(c.cfg.InitialRebalanceDelay.Milliseconds())
		op = &delayedOp{initial: true, configured: delay, delayMs: delay, remaining: max(g.rebalanceTimeoutMs()-delay, 0)}
	} else {
		op = &delayedOp{delayMs: g.rebalanceTimeoutMs()}
	}
	c.transition(g, statePreparingRebalance)
	c.logger.Info("preparing to rebalance group", "group", g.id, "state", g.state.String(), "old_generation", g.generation,
		"partition", c.partitionOf(g.id), "reason", reason)
	c.watchJoin(g, op)
}

// removeMemberAndUpdateGroup removes a member (leave, session expiry) and
// rebalances the rest.
func (c *Coordinator) removeMemberAndUpdateGroup(g *group, m *member, reason string) {
	// A new member may still wait in JoinGroup: it retries.
	g.maybeInvokeJoin(m, joinError("", kerr.UnknownMemberID))
	g.remove(m.id)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		c.maybePrepareRebalance(g, reason)
	case statePreparingRebalance:
		c.tryCompleteJoin(g)
	}
}

func (c *Coordinator) removePendingMemberAndUpdateGroup(g *group, memberID string) {
	g.remove(memberID)
	if g.state == statePreparingRebalance {
		c.tryCompleteJoin(g)
	}
}

// onCompleteJoin ends the join phase: dynamic members that did not rejoin
// are removed, a new generation starts with the protocol the members
// voted for, and every waiting member gets its JoinGroup answer (the
// leader with the member list).
func (c *Coordinator) onCompleteJoin(g *group) {
	for _, m := range g.sortedMembers() {
		if !m.awaitingJoin() && !m.isStatic() {
			c.logger.Info("removing dynamic member who has not rejoined", "group", g.id, "member", m.id)
			g.remove(m.id)
			c.stopHeartbeat(m)
		}
	}
	if g.state == stateDead {
		c.logger.Info("group is dead, skipping rebalance stage", "group", g.id)
		return
	}
	if !g.maybeElectNewJoinedLeader() && len(g.members) > 0 {
		// Nobody rejoined: wait again until the session timeouts remove
		// the silent members.
		c.logger.Error("group could not complete rebalance because no members rejoined", "group", g.id)
		c.watchJoin(g, &delayedOp{delayMs: g.rebalanceTimeoutMs()})
		return
	}
	if err := g.initNextGeneration(c.nowMs()); err != nil {
		// Kafka throws here and never answers the members. Tell every
		// waiting member instead (their clients retry the join) and
		// start the join phase again: members that do not rejoin within
		// the rebalance timeout are removed as usual.
		c.logger.Error("starting the next generation failed; answering the waiting members and rebalancing again",
			"group", g.id, "generation", g.generation, "err", err)
		for _, m := range g.sortedMembers() {
			if m.awaitingJoin() {
				g.maybeInvokeJoin(m, joinError(m.id, kerr.UnknownServerError))
				c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
			}
		}
		c.watchJoin(g, &delayedOp{delayMs: g.rebalanceTimeoutMs()})
		return
	}
	if g.state == stateEmpty {
		c.logger.Info("group is now empty", "group", g.id, "generation", g.generation, "partition", c.partitionOf(g.id))
		c.storeGroup(g, map[string][]byte{}, func(err *kerr.Error) {
			if err != nil {
				c.logger.Warn("failed to write empty metadata for group", "group", g.id, "err", err)
			}
		})
		return
	}
	c.logger.Info("stabilized group", "group", g.id, "generation", g.generation, "partition", c.partitionOf(g.id),
		"members", len(g.members), "protocol", *g.protocolName)
	for _, m := range g.sortedMembers() {
		g.maybeInvokeJoin(m, c.currentJoinResult(g, m.id, false))
		c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
		m.isNew = false
		g.pendingSyncMembers[m.id] = true
	}
	c.schedulePendingSync(g)
}
