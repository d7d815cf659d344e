package group

import (
	"crypto/rand"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupState is a classic group's state (Kafka's GroupState).
type groupState int8

const (
	// stateEmpty: no members; offsets linger until they expire. Joins of
	// new members start a rebalance.
	stateEmpty groupState = iota
	// statePreparingRebalance: JoinGroup requests are parked until every
	// known member rejoined or the rebalance timeout passed.
	statePreparingRebalance
	// stateCompletingRebalance: waiting for the leader's assignment in
	// SyncGroup.
	stateCompletingRebalance
	// stateStable: members heartbeat; SyncGroup returns the assignment.
	stateStable
	// stateDead: the group is being removed (unloaded, deleted, expired).
	stateDead
)

func (s groupState) String() string {
	switch s {
	case stateEmpty:
		return "Empty"
	case statePreparingRebalance:
		return "PreparingRebalance"
	case stateCompletingRebalance:
		return "CompletingRebalance"
	case stateStable:
		return "Stable"
	case stateDead:
		return "Dead"
	}
	return "Unknown"
}

// validPreviousStates is GroupState.validPreviousStates.
func validPreviousStates(s groupState) []groupState {
	switch s {
	case statePreparingRebalance:
		return []groupState{stateStable, stateCompletingRebalance, stateEmpty}
	case stateCompletingRebalance:
		return []groupState{statePreparingRebalance}
	case stateStable:
		return []groupState{stateCompletingRebalance}
	case stateEmpty:
		return []groupState{statePreparingRebalance}
	case stateDead:
		return []groupState{stateStable, statePreparingRebalance, stateCompletingRebalance, stateEmpty, stateDead}
	}
	return nil
}

// consumerProtocolType is ConsumerProtocol.PROTOCOL_TYPE.
const consumerProtocolType = "consumer"

// Protocol is one (name, metadata) entry of a JoinGroup request, in the
// member's order of preference.
type Protocol struct {
	Name     string
	Metadata []byte
}

// member is Kafka's MemberMetadata.
type member struct {
	id                 string
	instanceID         *string // group.instance.id of a static member
	clientID           string
	clientHost         string
	rebalanceTimeoutMs int32
	sessionTimeoutMs   int32
	protocolType       string
	protocols          []Protocol
	assignment         []byte
	seq                uint64 // order of joining, for stable listings

	joinCh chan<- JoinResult // awaiting join when set
	syncCh chan<- SyncResult // awaiting sync when set
	isNew  bool

	// Heartbeat expiration (DelayedHeartbeat): satisfied by any sign of
	// life; hbSeq invalidates superseded timers.
	heartbeatSatisfied bool
	hbTimer            Timer
	hbSeq              uint64
}

func (m *member) isStatic() bool     { return m.instanceID != nil }
func (m *member) awaitingJoin() bool { return m.joinCh != nil }
func (m *member) awaitingSync() bool { return m.syncCh != nil }

// metadata is the member's metadata for protocol, nil if it has none.
func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// hasSatisfiedHeartbeat is MemberMetadata.hasSatisfiedHeartbeat.
func (m *member) hasSatisfiedHeartbeat() bool {
	switch {
	case m.isNew:
		return m.heartbeatSatisfied
	case m.awaitingJoin() || m.awaitingSync():
		return true
	}
	return m.heartbeatSatisfied
}

// matches reports whether protocols equal the member's, in order.
func (m *member) matches(protocols []Protocol) bool {
	if len(protocols) != len(m.protocols) {
		return false
	}
	for i, p := range protocols {
		q := m.protocols[i]
		if p.Name != q.Name || string(p.Metadata) != string(q.Metadata) {
			return false
		}
	}
	return true
}

// vote is the member's most preferred protocol among candidates.
func (m *member) vote(candidates map[string]bool) (string, bool) {
	for _, p := range m.protocols {
		if candidates[p.Name] {
			return p.Name, true
		}
	}
	return "", false
}

func protocolNames(ps []Protocol) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

// commitRecord is a committed offset with the offset of the batch that
// wrote it (-1 while unknown), so the latest append always wins
// (CommitRecordMetadataAndOffset).
type commitRecord struct {
	batchOffset int64
	om          offsetAndMetadata
}

// group is Kafka's GroupMetadata. Every field is guarded by mu.
type group struct {
	id string
	mu sync.Mutex

	state          groupState
	stateTimestamp int64   // ms of the last transition, -1 unknown (currentStateTimestamp)
	protocolType   *string // nil: none yet
	protocolName   *string
	generation     int32
	leaderID       string // "" none

	members            map[string]*member
	nextSeq            uint64
	staticMembers      map[string]string // group.instance.id -> member id
	pendingMembers     map[string]bool   // member ids handed out by MEMBER_ID_REQUIRED
	pendingTimers      map[string]Timer
	numAwaitingJoin    int
	supportedProtocols map[string]int
	pendingSyncMembers map[string]bool
	newMemberAdded     bool

	subscribedTopics map[string]bool // nil: not known (computeSubscribedTopics)

	offsets              map[TopicPartition]commitRecord
	pendingOffsetCommits map[TopicPartition]offsetAndMetadata
	// pendingTxnOffsets are transactional offset commits per producer id,
	// invisible until the producer's COMMIT marker
	// (GroupMetadata.pendingTransactionalOffsetCommits); batchOffset is -1
	// until the commit's batch is appended.
	pendingTxnOffsets map[int64]map[TopicPartition]commitRecord
	// receivedConsumerCommits, receivedTxnCommits: OffsetCommit and
	// TxnOffsetCommit were served (hasReceivedConsistentOffsetCommits).
	receivedConsumerCommits, receivedTxnCommits bool

	joinOp *delayedOp // DelayedJoin / InitialDelayedJoin
	syncOp *delayedOp // DelayedSync
}

func newGroup(id string, state groupState, stateTimestamp int64) *group {
	return &group{
		id: id, state: state, stateTimestamp: stateTimestamp,
		members: map[string]*member{}, staticMembers: map[string]string{}, pendingMembers: map[string]bool{},
		pendingTimers: map[string]Timer{}, supportedProtocols: map[string]int{}, pendingSyncMembers: map[string]bool{},
		offsets: map[TopicPartition]commitRecord{}, pendingOffsetCommits: map[TopicPartition]offsetAndMetadata{},
		pendingTxnOffsets: map[int64]map[TopicPartition]commitRecord{},
	}
}

func (g *group) has(id string) bool { _, ok := g.members[id]; return ok }

func (g *group) isLeader(id string) bool { return g.leaderID != "" && g.leaderID == id }

func (g *group) protocolTypeOrEmpty() string {
	if g.protocolType == nil {
		return ""
	}
	return *g.protocolType
}

func (g *group) isConsumerGroup() bool {
	return g.protocolType != nil && *g.protocolType == consumerProtocolType
}

// sortedMembers lists the members in joining order.
func (g *group) sortedMembers() []*member {
	out := make([]*member, 0, len(g.members))
	for _, m := range g.members {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// add puts a member in the group; joinCh, if set, makes it await join.
func (g *group) add(m *member, joinCh chan<- JoinResult) error {
	if m.instanceID != nil {
		if _, ok := g.staticMembers[*m.instanceID]; ok {
			return fmt.Errorf("static member with group.instance.id %s cannot be added to group %s since it is already a member", *m.instanceID, g.id)
		}
		g.staticMembers[*m.instanceID] = m.id
	}
	if len(g.members) == 0 {
		pt := m.protocolType
		g.protocolType = &pt
	}
	if g.leaderID == "" {
		g.leaderID = m.id
	}
	g.nextSeq++
	m.seq = g.nextSeq
	g.members[m.id] = m
	for _, p := range protocolNames(m.protocols) {
		g.supportedProtocols[p]++
	}
	m.joinCh = joinCh
	if m.awaitingJoin() {
		g.numAwaitingJoin++
	}
	g.removePending(m.id)
	return nil
}

// remove takes a member out of the group. A request of the member still
// waiting for its join or sync answer gets UNKNOWN_MEMBER_ID, so no
// handler waits for an answer that can no longer come.
func (g *group) remove(id string) {
	if m, ok := g.members[id]; ok {
		delete(g.members, id)
		for _, p := range protocolNames(m.protocols) {
			g.supportedProtocols[p]--
		}
		if m.awaitingJoin() {
			g.numAwaitingJoin--
			reply(m.joinCh, joinError("", kerr.UnknownMemberID))
			m.joinCh = nil
		}
		if m.awaitingSync() {
			reply(m.syncCh, SyncResult{Err: kerr.UnknownMemberID})
			m.syncCh = nil
		}
		if m.instanceID != nil {
			delete(g.staticMembers, *m.instanceID)
		}
		if m.hbTimer != nil {
			m.hbTimer.Stop()
			m.hbSeq++
		}
	}
	if g.isLeader(id) {
		g.leaderID = ""
		if ms := g.sortedMembers(); len(ms) > 0 {
			g.leaderID = ms[0].id
		}
	}
	g.removePending(id)
	delete(g.pendingSyncMembers, id)
}

func (g *group) removePending(id string) {
	delete(g.pendingMembers, id)
	if t, ok := g.pendingTimers[id]; ok {
		t.Stop()
		delete(g.pendingTimers, id)
	}
}

// maybeElectNewJoinedLeader keeps the leader if it rejoined, else picks a
// member that did; false if the group has no leader or nobody rejoined.
func (g *group) maybeElectNewJoinedLeader() bool {
	if g.leaderID == "" {
		return false
	}
	leader, ok := g.members[g.leaderID]
	if ok && leader.awaitingJoin() {
		return true
	}
	for _, m := range g.sortedMembers() {
		if m.awaitingJoin() {
			g.leaderID = m.id
			return true
		}
	}
	return false
}

// replaceStaticMember gives a static member a new member id, fencing
// requests of the old one that still wait.
func (g *group) replaceStaticMember(instanceID, oldID, newID string) (*member, bool) {
	m, ok := g.members[oldID]
	if !ok {
		return nil, false
	}
	delete(g.members, oldID)
	g.maybeInvokeJoin(m, joinError(oldID, kerr.FencedInstanceID))
	g.maybeInvokeSync(m, SyncResult{Err: kerr.FencedInstanceID})
	m.id = newID
	g.members[newID] = m
	if g.isLeader(oldID) {
		g.leaderID = newID
	}
	g.staticMembers[instanceID] = newID
	return m, true
}

func (g *group) isPendingMember(id string) bool { return g.pendingMembers[id] }

func (g *group) currentStaticMemberID(instanceID string) (string, bool) {
	id, ok := g.staticMembers[instanceID]
	return id, ok
}

func (g *group) hasAllMembersJoined() bool {
	return len(g.members) == g.numAwaitingJoin && len(g.pendingMembers) == 0
}

// rebalanceTimeoutMs is the largest rebalance timeout of the members.
func (g *group) rebalanceTimeoutMs() int32 {
	var t int32
	for _, m := range g.members {
		t = max(t, m.rebalanceTimeoutMs)
	}
	return t
}

func (g *group) canRebalance() bool {
	return slices.Contains(validPreviousStates(statePreparingRebalance), g.state)
}

// transitionTo changes state, refusing transitions Kafka never makes.
func (g *group) transitionTo(s groupState, nowMs int64) error {
	if !slices.Contains(validPreviousStates(s), g.state) {
		return fmt.Errorf("group %s should be in one of the states %v before moving to %s, but it is %s",
			g.id, validPreviousStates(s), s, g.state)
	}
	g.state = s
	g.stateTimestamp = nowMs
	return nil
}

// candidateProtocols are the protocols every member supports.
func (g *group) candidateProtocols() map[string]bool {
	out := map[string]bool{}
	for p, n := range g.supportedProtocols {
		if n == len(g.members) {
			out[p] = true
		}
	}
	return out
}

// selectProtocol lets every member vote for its most preferred protocol
// among those all members support and picks the one with most votes; a
// tie goes to the protocol the earliest member prefers.
func (g *group) selectProtocol() (string, bool) {
	candidates := g.candidateProtocols()
	votes := map[string]int{}
	var order []string
	for _, m := range g.sortedMembers() {
		p, ok := m.vote(candidates)
		if !ok {
			continue
		}
		if votes[p] == 0 {
			order = append(order, p)
		}
		votes[p]++
	}
	best, bestVotes := "", 0
	for _, p := range order {
		if votes[p] > bestVotes {
			best, bestVotes = p, votes[p]
		}
	}
	return best, bestVotes > 0
}

// supportsProtocols reports whether a member with this protocol type and
// protocols may join: any non-empty set joins an Empty group; otherwise
// the type must match and one protocol must be supported by all members.
func (g *group) supportsProtocols(protocolType string, names []string) bool {
	if g.state == stateEmpty {
		return protocolType != "" && len(names) > 0
	}
	if g.protocolType == nil || *g.protocolType != protocolType {
		return false
	}
	for _, n := range names {
		if g.supportedProtocols[n] == len(g.members) {
			return true
		}
	}
	return false
}

// updateMember replaces a member's protocols and timeouts; joinCh, if
// set, makes it await join.
func (g *group) updateMember(m *member, protocols []Protocol, rebalanceTimeoutMs, sessionTimeoutMs int32, joinCh chan<- JoinResult) {
	for _, p := range protocolNames(m.protocols) {
		g.supportedProtocols[p]--
	}
	m.protocols = protocols
	for _, p := range protocolNames(m.protocols) {
		g.supportedProtocols[p]++
	}
	m.rebalanceTimeoutMs = rebalanceTimeoutMs
	m.sessionTimeoutMs = sessionTimeoutMs
	switch {
	case joinCh != nil && !m.awaitingJoin():
		g.numAwaitingJoin++
	case joinCh == nil && m.awaitingJoin():
		g.numAwaitingJoin--
	case joinCh != nil && m.awaitingJoin():
		// A second JoinGroup of the same member replaces the first, whose
		// connection is gone: answer it so its handler does not wait.
		reply(m.joinCh, joinError(m.id, kerr.RebalanceInProgress))
	}
	m.joinCh = joinCh
}

func (g *group) maybeInvokeJoin(m *member, res JoinResult) {
	if !m.awaitingJoin() {
		return
	}
	reply(m.joinCh, res)
	m.joinCh = nil
	g.numAwaitingJoin--
}

func (g *group) maybeInvokeSync(m *member, res SyncResult) bool {
	if !m.awaitingSync() {
		return false
	}
	reply(m.syncCh, res)
	m.syncCh = nil
	return true
}

// initNextGeneration starts the next generation: CompletingRebalance with
// the selected protocol, or Empty without members. On error (no protocol
// every member supports) the group is left as it was.
func (g *group) initNextGeneration(nowMs int64) error {
	next := stateEmpty
	var protocol *string
	if len(g.members) > 0 {
		p, ok := g.selectProtocol()
		if !ok {
			return fmt.Errorf("group %s: no protocol supported by every member", g.id)
		}
		next, protocol = stateCompletingRebalance, &p
	}
	if err := g.transitionTo(next, nowMs); err != nil {
		return err
	}
	g.generation++
	g.protocolName = protocol
	g.computeSubscribedTopics()
	clear(g.pendingSyncMembers)
	return nil
}

// currentMemberMetadata is what the leader's JoinGroup response lists.
func (g *group) currentMemberMetadata() []JoinMember {
	var out []JoinMember
	protocol := ""
	if g.protocolName != nil {
		protocol = *g.protocolName
	}
	for _, m := range g.sortedMembers() {
		md := m.metadata(protocol)
		if md == nil {
			md = []byte{}
		}
		out = append(out, JoinMember{MemberID: m.id, InstanceID: m.instanceID, Metadata: md})
	}
	return out
}

// computeSubscribedTopics collects the topics the members of a consumer
// group subscribe to; unknown (nil) for other protocol types or when a
// subscription does not parse.
func (g *group) computeSubscribedTopics() {
	g.subscribedTopics = nil
	if !g.isConsumerGroup() {
		return
	}
	if len(g.members) == 0 {
		g.subscribedTopics = map[string]bool{}
		return
	}
	if g.protocolName == nil {
		return
	}
	topics := map[string]bool{}
	for _, m := range g.members {
		ts, ok := subscriptionTopics(m.metadata(*g.protocolName))
		if !ok {
			return
		}
		for _, t := range ts {
			topics[t] = true
		}
	}
	g.subscribedTopics = topics
}

// isSubscribedToTopic is true when the group subscribes to topic or the
// subscriptions are not known.
func (g *group) isSubscribedToTopic(topic string) bool {
	if g.subscribedTopics == nil {
		return true
	}
	return g.subscribedTopics[topic]
}

// subscriptionTopics reads the topics of a consumer protocol subscription
// (ConsumerProtocol.deserializeSubscription); false when it does not parse.
func subscriptionTopics(b []byte) ([]string, bool) {
	var m kmsg.ConsumerMemberMetadata
	if err := m.ReadFrom(b); err != nil {
		return nil, false
	}
	return m.Topics, true
}

// newMemberID is clientId (or group.instance.id) + "-" + a random UUID.
func newMemberID(clientID string, instanceID *string) string {
	prefix := clientID
	if instanceID != nil {
		prefix = *instanceID
	}
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%s-%x-%x-%x-%x-%x", prefix, u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
