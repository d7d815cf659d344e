package group

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
)

// SyncRequest is a SyncGroup request.
type SyncRequest struct {
	Group        string
	Generation   int32
	MemberID     string
	InstanceID   *string
	ProtocolType *string // v5+
	ProtocolName *string // v5+
	Assignments  map[string][]byte
}

// SyncResult is the answer to a SyncGroup request.
type SyncResult struct {
	Err          *kerr.Error
	ProtocolType *string
	ProtocolName *string
	Assignment   []byte
}

// SyncGroup serves a SyncGroup request; a member of a group completing its
// rebalance waits for the leader's assignment.
func (c *Coordinator) SyncGroup(ctx context.Context, req SyncRequest) SyncResult {
	ch := make(chan SyncResult, 1)
	c.handleSync(req, ch)
	return awaitReply(ctx, c.ctx, ch, SyncResult{Err: errNotCoordinator})
}

func (c *Coordinator) handleSync(req SyncRequest, ch chan<- SyncResult) {
	if err := c.validateGroupStatus(req.Group, apiGroupIDRequired); err != nil {
		if err == kerr.CoordinatorLoadInProgress {
			// The rebalance state is lost while loading: the member
			// rejoins without looking for the coordinator again (older
			// clients do not expect COORDINATOR_LOAD_IN_PROGRESS here).
			err = kerr.RebalanceInProgress
		}
		reply(ch, SyncResult{Err: err})
		return
	}
	g := c.getGroup(req.Group)
	if g == nil {
		reply(ch, SyncResult{Err: kerr.UnknownMemberID})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c.doSync(g, req, ch)
}

func (c *Coordinator) validateSync(g *group, req SyncRequest) *kerr.Error {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable
	}
	if err := c.validateCurrentMember(g, req.MemberID, req.InstanceID, "sync-group"); err != nil {
		return err
	}
	switch {
	case req.Generation != g.generation:
		return kerr.IllegalGeneration
	case req.ProtocolType != nil && (g.protocolType == nil || *g.protocolType != *req.ProtocolType):
		return kerr.InconsistentGroupProtocol
	case req.ProtocolName != nil && (g.protocolName == nil || *g.protocolName != *req.ProtocolName):
		return kerr.InconsistentGroupProtocol
	}
	return nil
}

func (c *Coordinator) doSync(g *group, req SyncRequest, ch chan<- SyncResult) {
	if err := c.validateSync(g, req); err != nil {
		reply(ch, SyncResult{Err: err})
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case stateEmpty:
		reply(ch, SyncResult{Err: kerr.UnknownMemberID})
	case statePreparingRebalance:
		reply(ch, SyncResult{Err: kerr.RebalanceInProgress})
	case stateCompletingRebalance:
		if m.awaitingSync() {
			// A repeated SyncGroup replaces the first, whose connection is gone.
			reply(m.syncCh, SyncResult{Err: kerr.RebalanceInProgress})
		}
		m.syncCh = ch
		c.removePendingSyncMember(g, m.id)
		if !g.isLeader(m.id) {
			return
		}
		c.logger.Info("assignment received from leader for group", "group", g.id, "leader", m.id, "generation", g.generation,
			"members", len(g.members), "static_members", len(g.staticMembers))
		assignment := map[string][]byte{}
		for id, a := range req.Assignments {
			assignment[id] = a
		}
		for _, mm := range g.members {
			if _, ok := assignment[mm.id]; !ok {
				c.logger.Warn("setting empty assignment for member missing from the leader's assignment", "group", g.id, "member", mm.id, "generation", g.generation)
				assignment[mm.id] = []byte{}
			}
		}
		generation := g.generation
		c.storeGroup(g, assignment, func(err *kerr.Error) {
			// A member may have joined meanwhile: only the same generation,
			// still completing its rebalance, takes the assignment.
			if g.state != stateCompletingRebalance || g.generation != generation {
				return
			}
			if err != nil {
				c.resetAndPropagateAssignmentError(g, err)
				c.maybePrepareRebalance(g, "error "+err.Message+" when storing group assignment during SyncGroup (member: "+m.id+")")
				return
			}
			c.setAndPropagateAssignment(g, assignment)
			c.transition(g, stateStable)
		})
	case stateStable:
		c.removePendingSyncMember(g, m.id)
		reply(ch, SyncResult{ProtocolType: g.protocolType, ProtocolName: g.protocolName, Assignment: m.assignment})
		c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
	}
}

func (c *Coordinator) setAndPropagateAssignment(g *group, assignment map[string][]byte) {
	for _, m := range g.members {
		m.assignment = assignment[m.id]
	}
	c.propagateAssignment(g, nil)
}

func (c *Coordinator) resetAndPropagateAssignmentError(g *group, err *kerr.Error) {
	for _, m := range g.members {
		m.assignment = []byte{}
	}
	c.propagateAssignment(g, err)
}

// propagateAssignment answers every member waiting in SyncGroup and
// restarts its session timeout (which may have passed unnoticed while it
// waited).
func (c *Coordinator) propagateAssignment(g *group, err *kerr.Error) {
	var pt, pn *string
	if err == nil {
		pt, pn = g.protocolType, g.protocolName
	}
	for _, m := range g.sortedMembers() {
		if len(m.assignment) == 0 && err == nil {
			c.logger.Warn("sending empty assignment to member", "group", g.id, "member", m.id, "generation", g.generation)
		}
		if g.maybeInvokeSync(m, SyncResult{Err: err, ProtocolType: pt, ProtocolName: pn, Assignment: m.assignment}) {
			c.scheduleHeartbeat(g, m, m.sessionTimeoutMs)
		}
	}
}

// storeGroup appends the group's metadata with this assignment to its
// partition (under the group lock, so the log follows the group's order)
// and, once the append is committed or failed, calls done under the group
// lock with the error mapped as GroupMetadataManager.storeGroup does.
func (c *Coordinator) storeGroup(g *group, assignment map[string][]byte, done func(*kerr.Error)) {
	value, err := groupMetadataValue(g, assignment)
	if err != nil {
		c.logger.Error("encoding group metadata failed", "group", g.id, "err", err)
		done(kerr.UnknownServerError)
		return
	}
	rec := Record{Key: groupMetadataKey(g.id), Value: value}
	_, wait, err := c.store.Append(c.partitionOf(g.id), []Record{rec}, true)
	if err != nil {
		done(storeGroupError(c, g, err))
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.CommitTimeout)
		werr := wait(ctx)
		cancel()
		g.mu.Lock()
		defer g.mu.Unlock()
		if werr != nil {
			done(storeGroupError(c, g, werr))
			return
		}
		done(nil)
	}()
}

// storeGroupError maps an append error to the group's answer.
func storeGroupError(c *Coordinator, g *group, err error) *kerr.Error {
	code := asKafkaError(err)
	c.logger.Debug("metadata of group failed when appending to log", "group", g.id, "generation", g.generation, "err", err)
	switch code {
	case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
		return kerr.NotCoordinator
	case kerr.RequestTimedOut:
		return kerr.RebalanceInProgress
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidFetchSize:
		c.logger.Error("appending metadata message for group failed; returning UNKNOWN error code to the client", "group", g.id, "err", err)
		return kerr.UnknownServerError
	}
	return code
}
