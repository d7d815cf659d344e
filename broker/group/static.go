package group

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// doStaticNewMemberJoin handles a static member (group.instance.id) that
// joins without a member id: a known instance gets a new member id that
// replaces the old one (fencing it), a new instance joins as a new member.
func (c *Coordinator) doStaticNewMemberJoin(g *group, req JoinRequest, newID string, ch chan<- JoinResult) {
	instanceID := *req.InstanceID
	oldID, ok := g.currentStaticMemberID(instanceID)
	if !ok {
		c.logger.Info("static member with unknown member id joins group; created a new member id", "group", g.id,
			"group_instance_id", instanceID, "state", g.state.String(), "member", newID)
		c.addMemberAndRebalance(g, req, newID, ch)
		return
	}
	c.logger.Info("static member with unknown member id joins group; replacing the previously mapped member", "group", g.id,
		"group_instance_id", instanceID, "state", g.state.String(), "old_member", oldID, "member", newID)
	c.updateStaticMemberAndRebalance(g, oldID, newID, instanceID, req, ch)
}

// updateStaticMemberAndRebalance is GroupCoordinator's: the replaced
// member keeps its assignment. In a Stable group whose protocol does not
// change no rebalance happens: the new member id is persisted and the
// member answered with the current generation (a v9+ leader is told to
// skip the assignment; before v9 the old leader id is returned so the
// member does not act as leader).
func (c *Coordinator) updateStaticMemberAndRebalance(g *group, oldID, newID, instanceID string, req JoinRequest, ch chan<- JoinResult) {
	currentLeader := g.leaderID
	m, ok := g.replaceStaticMember(instanceID, oldID, newID)
	if !ok {
		reply(ch, joinError("", kerr.UnknownMemberID))
		return
	}
	// The old member id's heartbeat expiry no longer applies.
	c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)

	oldRebalance, oldSession, oldProtocols := m.rebalanceTimeoutMs, m.sessionTimeoutMs, m.protocols
	g.updateMember(m, req.Protocols, req.RebalanceTimeoutMs, req.SessionTimeoutMs, ch)

	switch g.state {
	case stateStable:
		next, ok := g.selectProtocol()
		if !ok || g.protocolName == nil || *g.protocolName != next {
			c.maybePrepareRebalance(g, fmt.Sprintf("group's selected protocol will change because static member %s with instance id %s joined with change of protocol; client reason: %s",
				m.id, instanceID, reasonOf(req)))
			return
		}
		c.logger.Info("static member which joins during Stable stage and doesn't affect the selected protocol will not trigger rebalance", "group", g.id, "member", newID)
		assignment := map[string][]byte{}
		for _, mm := range g.members {
			assignment[mm.id] = mm.assignment
		}
		generation := g.generation
		c.storeGroup(g, assignment, func(err *kerr.Error) {
			if g.members[newID] != m {
				// Superseded: another JoinGroup of the instance replaced
				// newID (fencing this request) or the member left. The
				// member, and its waiting request, are another join's
				// now: neither revert nor answer through it. (This
				// request was answered when it was fenced or removed.)
				c.logger.Info("static member id replaced again before its metadata was persisted", "group", g.id,
					"group_instance_id", instanceID, "member", newID, "err", err)
				reply(ch, joinError("", kerr.FencedInstanceID))
				return
			}
			if err != nil {
				c.logger.Warn("failed to persist metadata for group", "group", g.id, "err", err)
				// Revert the replacement: the old member id stays.
				g.updateMember(m, oldProtocols, oldRebalance, oldSession, nil)
				if old, ok := g.replaceStaticMember(instanceID, newID, oldID); ok {
					c.scheduleHeartbeat(g, old, old.sessionTimeoutMs)
				}
				reply(ch, JoinResult{Err: err, MemberID: "", Generation: g.generation, ProtocolType: g.protocolType,
					ProtocolName: g.protocolName, LeaderID: currentLeader})
				return
			}
			if req.SupportSkippingAssignment {
				isLeader := g.isLeader(newID)
				res := c.currentJoinResult(g, newID, isLeader)
				res.Generation = generation
				g.maybeInvokeJoin(m, res)
				return
			}
			g.maybeInvokeJoin(m, JoinResult{MemberID: newID, Generation: generation, ProtocolType: g.protocolType,
				ProtocolName: g.protocolName, LeaderID: currentLeader})
		})
	case stateCompletingRebalance:
		// The leader may already have computed an assignment with the old
		// member id: rebalance so the new id gets one.
		c.prepareRebalance(g, fmt.Sprintf("updating metadata for static member %s with instance id %s; client reason: %s", m.id, instanceID, reasonOf(req)))
	case statePreparingRebalance:
	default:
		c.logger.Error("unknown static member rejoined a group in an unexpected state", "group", g.id, "state", g.state.String())
		g.maybeInvokeJoin(m, joinError("", kerr.UnknownServerError))
	}
}
