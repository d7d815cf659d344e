package group

import (
	"slices"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// GroupOverview is one group of a ListGroups answer.
type GroupOverview struct {
	GroupID      string
	ProtocolType string
	State        string
}

// ListGroups lists the groups this coordinator holds, optionally only
// those in the given states ("Stable", "empty", ... in any case). The error is
// COORDINATOR_LOAD_IN_PROGRESS while a partition loads (the groups known
// so far are still listed).
func (c *Coordinator) ListGroups(states []string) (*kerr.Error, []GroupOverview) {
	c.partMu.Lock()
	active, loading := c.active, len(c.loading) > 0
	c.partMu.Unlock()
	if !active {
		return kerr.CoordinatorNotAvailable, nil
	}
	var code *kerr.Error
	if loading {
		code = kerr.CoordinatorLoadInProgress
	}
	// The state filter is case-insensitive (GroupCoordinator.handleListGroups,
	// GroupMetadata.isInStates).
	lower := make([]string, len(states))
	for i, st := range states {
		lower[i] = strings.ToLower(st)
	}
	var out []GroupOverview
	for _, g := range c.allGroups() {
		g.mu.Lock()
		o := GroupOverview{GroupID: g.id, ProtocolType: g.protocolTypeOrEmpty(), State: g.state.String()}
		g.mu.Unlock()
		if len(states) == 0 || slices.Contains(lower, strings.ToLower(o.State)) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GroupID < out[j].GroupID })
	return code, out
}

// MemberSummary is one member of a DescribeGroups answer.
type MemberSummary struct {
	MemberID   string
	InstanceID *string
	ClientID   string
	ClientHost string
	Metadata   []byte
	Assignment []byte
}

// GroupSummary is a DescribeGroups answer for one group.
type GroupSummary struct {
	State        string
	ProtocolType string
	Protocol     string
	Members      []MemberSummary
}

// DescribeGroup describes a group; an unknown group is Dead without error.
// Member metadata and assignments are given only for a Stable group.
func (c *Coordinator) DescribeGroup(groupID string) (*kerr.Error, GroupSummary) {
	if err := c.validateGroupStatus(groupID, apiEmptyGroupIDOK); err != nil {
		return err, GroupSummary{}
	}
	g := c.getGroup(groupID)
	if g == nil {
		return nil, GroupSummary{State: stateDead.String(), Members: []MemberSummary{}}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := GroupSummary{State: g.state.String(), ProtocolType: g.protocolTypeOrEmpty(), Members: []MemberSummary{}}
	stable := g.state == stateStable && g.protocolName != nil
	if stable {
		s.Protocol = *g.protocolName
	}
	for _, m := range g.sortedMembers() {
		ms := MemberSummary{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost,
			Metadata: []byte{}, Assignment: []byte{}}
		if stable {
			if md := m.metadata(s.Protocol); md != nil {
				ms.Metadata = md
			}
			if m.assignment != nil {
				ms.Assignment = m.assignment
			}
		}
		s.Members = append(s.Members, ms)
	}
	return nil, s
}

// DeleteGroupResult is the outcome for one group of DeleteGroups.
type DeleteGroupResult struct {
	GroupID string
	Err     *kerr.Error
}

// DeleteGroups deletes Empty groups with their offsets; a group with
// members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
func (c *Coordinator) DeleteGroups(groupIDs []string) []DeleteGroupResult {
	out := make([]DeleteGroupResult, 0, len(groupIDs))
	var deleted []string
	removed := 0
	seen := map[string]bool{}
	for _, id := range groupIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		res := DeleteGroupResult{GroupID: id}
		if err := c.validateGroupStatus(id, apiEmptyGroupIDOK); err != nil {
			res.Err = err
			out = append(out, res)
			continue
		}
		notFound := func() *kerr.Error {
			if c.groupNotExists(id) {
				return kerr.GroupIDNotFound
			}
			return errNotCoordinator
		}
		g := c.getGroup(id)
		if g == nil {
			res.Err = notFound()
			out = append(out, res)
			continue
		}
		g.mu.Lock()
		switch g.state {
		case stateDead:
			g.mu.Unlock()
			res.Err = notFound()
		case stateEmpty:
			// Not Dead, so still the cached group: it goes with its
			// offsets under one hold of its lock.
			c.transition(g, stateDead)
			removed += c.cleanupGroupLocked(g, g.removeAllOffsets())
			g.mu.Unlock()
			deleted = append(deleted, id)
		default:
			g.mu.Unlock()
			res.Err = kerr.NonEmptyGroup
		}
		out = append(out, res)
	}
	if len(deleted) > 0 {
		c.logger.Info("deleted groups", "groups", deleted, "offsets_removed", removed)
	}
	return out
}
