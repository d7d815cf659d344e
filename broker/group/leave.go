package group

import (
	"github.com/twmb/franz-go/pkg/kerr"
)

// LeavingMember identifies one member of a LeaveGroup request (v3+
// batches them; before, one member id). A member id "" with an instance
// id removes that static member (administrative removal).
type LeavingMember struct {
	MemberID   string
	InstanceID *string
	Reason     string
}

// LeaveResult is the outcome for one leaving member.
type LeaveResult struct {
	MemberID   string
	InstanceID *string
	Err        *kerr.Error
}

// LeaveGroup serves a LeaveGroup request: the group-level error and one
// result per member.
func (c *Coordinator) LeaveGroup(groupID string, members []LeavingMember) (*kerr.Error, []LeaveResult) {
	if err := c.validateGroupStatus(groupID, apiGroupIDRequired); err != nil {
		return err, nil
	}
	results := make([]LeaveResult, 0, len(members))
	g := c.getGroup(groupID)
	if g == nil {
		for _, lm := range members {
			results = append(results, LeaveResult{MemberID: lm.MemberID, InstanceID: lm.InstanceID, Err: kerr.UnknownMemberID})
		}
		return nil, results
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable, nil
	}
	remove := func(id, reason string) {
		m := g.members[id]
		if reason == "" {
			reason = "not provided"
		}
		c.removeMemberAndUpdateGroup(g, m, "removing member "+id+" on LeaveGroup; client reason: "+reason)
		c.stopHeartbeat(m)
		c.logger.Info("member has left group through explicit LeaveGroup", "group", g.id, "member", id, "reason", reason)
	}
	for _, lm := range members {
		res := LeaveResult{MemberID: lm.MemberID, InstanceID: lm.InstanceID}
		switch {
		case lm.MemberID == "":
			id, ok := "", false
			if lm.InstanceID != nil {
				id, ok = g.currentStaticMemberID(*lm.InstanceID)
			}
			if ok {
				remove(id, lm.Reason)
			} else {
				res.Err = kerr.UnknownMemberID
			}
		case g.isPendingMember(lm.MemberID):
			c.removePendingMemberAndUpdateGroup(g, lm.MemberID)
			c.logger.Info("pending member has left group through explicit LeaveGroup", "group", g.id, "member", lm.MemberID)
		default:
			if err := c.validateCurrentMember(g, lm.MemberID, lm.InstanceID, "leave-group"); err != nil {
				res.Err = err
			} else {
				remove(lm.MemberID, lm.Reason)
			}
		}
		results = append(results, res)
	}
	return nil, results
}
