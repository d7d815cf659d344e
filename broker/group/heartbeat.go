package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// HeartbeatRequest is a Heartbeat request.
type HeartbeatRequest struct {
	Group      string
	MemberID   string
	InstanceID *string
	Generation int32
}

// Heartbeat serves a Heartbeat request: it restarts the member's session
// timeout and tells it REBALANCE_IN_PROGRESS while the group rebalances.
func (c *Coordinator) Heartbeat(req HeartbeatRequest) *kerr.Error {
	if err := c.validateGroupStatus(req.Group, apiGroupIDRequired); err != nil {
		if err == kerr.CoordinatorLoadInProgress {
			return nil // the group is still loading: answer blindly
		}
		return err
	}
	g := c.getGroup(req.Group)
	if g == nil {
		return kerr.UnknownMemberID
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable
	}
	if err := c.validateCurrentMember(g, req.MemberID, req.InstanceID, "heartbeat"); err != nil {
		return err
	}
	if req.Generation != g.generation {
		return kerr.IllegalGeneration
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID
	case stateCompletingRebalance, stateStable:
		// Members may heartbeat right after their JoinGroup response.
		c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
		return nil
	case statePreparingRebalance:
		c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
		return kerr.RebalanceInProgress
	}
	return kerr.CoordinatorNotAvailable
}
