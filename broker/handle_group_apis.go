// The classic consumer-group APIs: JoinGroup (11) v0-9, SyncGroup (14)
// v0-5, Heartbeat (12) v0-4, LeaveGroup (13) v0-5, OffsetCommit (8) v0-8,
// OffsetFetch (9) v0-8, OffsetDelete (47) v0, ListGroups (16) v0-4,
// DescribeGroups (15) v0-5, DeleteGroups (42) v0-2, TxnOffsetCommit (28)
// v0-4; KIP-848 versions are not served. OffsetCommit and OffsetFetch v0
// use ZooKeeper, as Kafka does.
// Version steps: JoinGroup v4 known member id (KIP-394), v5 static members
// (KIP-345), v9 skip assignment (KIP-814); LeaveGroup v3 batches (KIP-345);
// OffsetFetch v7 require_stable (KIP-447), v8 many groups (KIP-709);
// ListGroups v4 state filter (KIP-518); DescribeGroups v3 authorized ops;
// TxnOffsetCommit v0 (KIP-98): offsets committed inside a transaction,
// visible once its COMMIT marker is written to the group's partition, gone
// with its ABORT marker (OffsetFetch with require_stable answers
// UNSTABLE_OFFSET_COMMIT meanwhile), v2 committed leader epoch (KIP-320),
// v3 the consumer's generation, member id and group instance id, fencing
// zombie producers with ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID /
// FENCED_INSTANCE_ID (KIP-447), v4 TRANSACTION_ABORTABLE (KIP-890); v0-1
// get COORDINATOR_NOT_AVAILABLE for COORDINATOR_LOAD_IN_PROGRESS
// (KAFKA-7296). With transaction.partition.verification.enable the
// group's offsets partition is verified with the transaction coordinator
// first (KIP-890 part 1).
// Authorization and, with an authorizer, the authorized operations are
// aclGate's (acl_checks.go). Deviation: OffsetFetch v0-1 keeps group errors per
// partition, having no group-level error field.

package broker

import (
	"bytes"
	"context"
	"net"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// clientAddrKey carries a connection's remote address in the context its
// requests are served with.
type clientAddrKey struct{}

// withClientAddr returns ctx carrying the client's address.
func withClientAddr(ctx context.Context, addr net.Addr) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// clientHost is the client's address as Kafka prints it
// (InetAddress.toString: "/127.0.0.1"); "" when the connection did not
// record it.
func clientHost(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(net.Addr)
	if addr == nil {
		return ""
	}
	if ta, ok := addr.(*net.TCPAddr); ok {
		return "/" + ta.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "/" + addr.String()
	}
	return "/" + host
}

func errCode(e *kerr.Error) int16 {
	if e == nil {
		return 0
	}
	return e.Code
}

func (s *Server) handleJoinGroup(ctx context.Context, hdr protocol.RequestHeader, req *kmsg.JoinGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	rebalance := req.RebalanceTimeoutMillis
	if req.Version == 0 {
		rebalance = req.SessionTimeoutMillis // v0 has no rebalance timeout
	}
	// Byte fields alias the request frame, which is reused once the
	// response is out: the coordinator keeps copies.
	protocols := make([]group.Protocol, len(req.Protocols))
	for i, p := range req.Protocols {
		protocols[i] = group.Protocol{Name: p.Name, Metadata: bytes.Clone(p.Metadata)}
	}
	r := s.groups.JoinGroup(ctx, group.JoinRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID,
		RequireKnownMemberID:      req.Version >= 4 && req.InstanceID == nil,
		SupportSkippingAssignment: req.Version >= 9,
		ClientID:                  deref(hdr.ClientID), ClientHost: clientHost(ctx),
		RebalanceTimeoutMs: rebalance, SessionTimeoutMs: req.SessionTimeoutMillis,
		ProtocolType: req.ProtocolType, Protocols: protocols, Reason: deref(req.Reason),
	})
	resp.ErrorCode = errCode(r.Err)
	resp.Generation = r.Generation
	resp.ProtocolType = r.ProtocolType
	resp.Protocol = r.ProtocolName
	// Before v7 the protocol name is not nullable; from v7 "" is null.
	if req.Version < 7 && resp.Protocol == nil {
		empty := ""
		resp.Protocol = &empty
	}
	if req.Version >= 7 && resp.Protocol != nil && *resp.Protocol == "" {
		resp.Protocol = nil
	}
	resp.LeaderID = r.LeaderID
	resp.SkipAssignment = r.SkipAssignment
	resp.MemberID = r.MemberID
	for _, m := range r.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberID, m.InstanceID, m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

func (s *Server) handleSyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	resp.MemberAssignment = []byte{}
	if req.Version >= 5 && (req.ProtocolType == nil || req.Protocol == nil) {
		resp.ErrorCode = kerr.InconsistentGroupProtocol.Code
		return resp
	}
	assignments := make(map[string][]byte, len(req.GroupAssignment))
	for _, a := range req.GroupAssignment {
		assignments[a.MemberID] = bytes.Clone(a.MemberAssignment) // the frame is reused
	}
	r := s.groups.SyncGroup(ctx, group.SyncRequest{
		Group: req.Group, Generation: req.Generation, MemberID: req.MemberID, InstanceID: req.InstanceID,
		ProtocolType: req.ProtocolType, ProtocolName: req.Protocol, Assignments: assignments,
	})
	resp.ErrorCode = errCode(r.Err)
	resp.ProtocolType, resp.Protocol = r.ProtocolType, r.ProtocolName
	if r.Assignment != nil {
		resp.MemberAssignment = r.Assignment
	}
	return resp
}

func (s *Server) handleHeartbeat(req *kmsg.HeartbeatRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = errCode(s.groups.Heartbeat(group.HeartbeatRequest{
		Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID, Generation: req.Generation,
	}))
	return resp
}

// handleLeaveGroup serves single (v0-v2) and batched (v3+) leaves; before
// v3 the answer is the group's error, else the member's.
func (s *Server) handleLeaveGroup(req *kmsg.LeaveGroupRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	var members []group.LeavingMember
	if req.Version < 3 {
		members = []group.LeavingMember{{MemberID: req.MemberID}}
	} else {
		for _, m := range req.Members {
			members = append(members, group.LeavingMember{MemberID: m.MemberID, InstanceID: m.InstanceID, Reason: deref(m.Reason)})
		}
	}
	top, results := s.groups.LeaveGroup(req.Group, members)
	if req.Version < 3 {
		resp.ErrorCode = errCode(top)
		if top == nil && len(results) == 1 {
			resp.ErrorCode = errCode(results[0].Err)
		}
		return resp
	}
	resp.ErrorCode = errCode(top)
	for _, r := range results {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = r.MemberID, r.InstanceID, errCode(r.Err)
		resp.Members = append(resp.Members, rm)
	}
	return resp
}

// knownPartition reports whether the metadata cache has the partition.
func (s *Server) knownPartition(topic string, p int32) bool {
	t, ok := s.cache.topic(topic)
	if !ok {
		return false
	}
	_, ok = t.Partitions[p]
	return ok
}

// handleOffsetCommit checks that every partition exists
// (UNKNOWN_TOPIC_OR_PARTITION otherwise) and commits the rest: v0 to
// ZooKeeper, as Kafka does in ZooKeeper mode, later versions to the group
// coordinator. Partitions are answered in request order.
func (s *Server) handleOffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	type slot struct{ t, p int }
	codes := make([][]int16, len(req.Topics))
	index := map[group.TopicPartition][]slot{}
	var commits []group.CommitOffset
	for ti, t := range req.Topics {
		codes[ti] = make([]int16, len(t.Partitions))
		for pi, p := range t.Partitions {
			if !s.knownPartition(t.Topic, p.Partition) {
				codes[ti][pi] = kerr.UnknownTopicOrPartition.Code
				continue
			}
			tp := group.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			index[tp] = append(index[tp], slot{ti, pi})
			commits = append(commits, group.CommitOffset{TopicPartition: tp, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch,
				Metadata: p.Metadata, CommitTimestamp: p.Timestamp})
		}
	}
	if len(commits) > 0 {
		var results []group.PartitionResult
		if req.Version == 0 {
			results = s.commitOffsetsToZooKeeper(req.Group, commits)
		} else {
			if req.Version != 1 {
				for i := range commits {
					commits[i].CommitTimestamp = -1
				}
			}
			if req.Version < 6 {
				for i := range commits {
					commits[i].LeaderEpoch = -1
				}
			}
			retention := req.RetentionTimeMillis
			if req.Version < 2 || req.Version > 4 {
				retention = -1
			}
			results = s.groups.CommitOffsets(ctx, group.CommitRequest{
				Group: req.Group, MemberID: req.MemberID, InstanceID: req.InstanceID, Generation: req.Generation,
				RetentionMs: retention, Offsets: commits,
			})
		}
		for _, r := range results {
			for _, sl := range index[r.TopicPartition] {
				codes[sl.t][sl.p] = errCode(r.Err)
			}
		}
	}
	for ti, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for pi, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, codes[ti][pi]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// handleTxnOffsetCommit is KafkaApis.handleTxnOffsetCommitRequest after
// its ACL checks (aclGate): partitions of unknown topics or unknown
// partitions answer UNKNOWN_TOPIC_OR_PARTITION, the rest go to the group
// coordinator. Partitions are answered in request order.
func (s *Server) handleTxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	type slot struct{ t, p int }
	codes := make([][]int16, len(req.Topics))
	index := map[group.TopicPartition][]slot{}
	var commits []group.CommitOffset
	for ti, t := range req.Topics {
		codes[ti] = make([]int16, len(t.Partitions))
		for pi, p := range t.Partitions {
			if !s.knownPartition(t.Topic, p.Partition) {
				codes[ti][pi] = kerr.UnknownTopicOrPartition.Code
				continue
			}
			tp := group.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			index[tp] = append(index[tp], slot{ti, pi})
			epoch := p.LeaderEpoch
			if req.Version < 2 {
				epoch = -1
			}
			commits = append(commits, group.CommitOffset{TopicPartition: tp, Offset: p.Offset, LeaderEpoch: epoch,
				Metadata: p.Metadata, CommitTimestamp: -1})
		}
	}
	if len(commits) > 0 {
		r := group.TxnCommitRequest{
			Group: req.Group, TransactionalID: req.TransactionalID, ProducerID: req.ProducerID, ProducerEpoch: req.ProducerEpoch,
			Generation: -1, Offsets: commits,
		}
		if req.Version >= 3 {
			r.Generation, r.MemberID, r.InstanceID = req.Generation, req.MemberID, req.InstanceID
		}
		// KIP-890: v4+ understands TRANSACTION_ABORTABLE; older versions
		// get INVALID_TXN_STATE for it (transactionSupportedOperation).
		r.Verify = s.txnOffsetsVerifier(req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Version >= 4)
		for _, res := range s.groups.CommitTransactionalOffsets(ctx, r) {
			for _, sl := range index[res.TopicPartition] {
				codes[sl.t][sl.p] = errCode(res.Err)
			}
		}
	}
	for ti, t := range req.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for pi, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, codes[ti][pi]
			if req.Version < 2 && rp.ErrorCode == kerr.CoordinatorLoadInProgress.Code {
				// Clients before 2.0 may crash on the loading error (KAFKA-7296).
				rp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// commitOffsetsToZooKeeper is OffsetCommit v0 (KafkaApis.commitOffsetsToZookeeper).
func (s *Server) commitOffsetsToZooKeeper(groupID string, commits []group.CommitOffset) []group.PartitionResult {
	out := make([]group.PartitionResult, len(commits))
	for i, c := range commits {
		out[i].TopicPartition = c.TopicPartition
		if c.Metadata != nil && utf16Len(*c.Metadata) > int(s.cfg.OffsetMetadataMaxBytes) {
			out[i].Err = kerr.OffsetMetadataTooLarge
			continue
		}
		if s.zk == nil {
			out[i].Err = kerr.UnknownServerError
			continue
		}
		tp := c.TopicPartition
		if err := s.zk.SetOrCreateConsumerOffset(groupID, tp.Topic, tp.Partition, c.Offset); err != nil {
			s.logger.Warn("committing an offset to ZooKeeper failed", "group", groupID,
				"path", zkmeta.ConsumerOffsetPath(groupID, tp.Topic, tp.Partition), "err", err)
			out[i].Err = kerr.UnknownServerError
		}
	}
	return out
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// fetchOffsetsFromZooKeeper is OffsetFetch v0: offsets of unknown
// partitions, and missing offsets, are UNKNOWN_TOPIC_OR_PARTITION.
func (s *Server) fetchOffsetsFromZooKeeper(groupID string, tp group.TopicPartition) group.FetchedOffset {
	f := group.FetchedOffset{TopicPartition: tp, Offset: -1, LeaderEpoch: -1}
	if !s.knownPartition(tp.Topic, tp.Partition) || s.zk == nil {
		f.Err = kerr.UnknownTopicOrPartition
		return f
	}
	off, ok, err := s.zk.ConsumerOffset(groupID, tp.Topic, tp.Partition)
	if err != nil {
		f.Err = kerr.UnknownServerError
		return f
	}
	if !ok {
		f.Err = kerr.UnknownTopicOrPartition
		return f
	}
	f.Offset = off
	return f
}

// handleOffsetFetch serves one group (v0-v7: v0 from ZooKeeper) or many
// (v8+). Topics null asks for every committed offset of the group.
func (s *Server) handleOffsetFetch(req *kmsg.OffsetFetchRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		for _, rg := range req.Groups {
			var tps []group.TopicPartition
			if rg.Topics != nil {
				tps = []group.TopicPartition{}
				for _, t := range rg.Topics {
					for _, p := range t.Partitions {
						tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
					}
				}
			}
			gerr, fetched := s.groups.FetchOffsets(rg.Group, req.RequireStable, tps)
			out := kmsg.NewOffsetFetchResponseGroup()
			out.Group = rg.Group
			out.ErrorCode = errCode(gerr)
			if gerr == nil {
				for _, t := range byTopic(fetched) {
					rt := kmsg.NewOffsetFetchResponseGroupTopic()
					rt.Topic = t.topic
					for _, f := range t.offsets {
						rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
						rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = f.Partition, f.Offset, f.LeaderEpoch, errCode(f.Err)
						md := f.Metadata
						rp.Metadata = &md
						rt.Partitions = append(rt.Partitions, rp)
					}
					out.Topics = append(out.Topics, rt)
				}
			}
			resp.Groups = append(resp.Groups, out)
		}
		return resp
	}
	var tps []group.TopicPartition
	if req.Topics != nil {
		tps = []group.TopicPartition{}
		for _, t := range req.Topics {
			for _, p := range t.Partitions {
				tps = append(tps, group.TopicPartition{Topic: t.Topic, Partition: p})
			}
		}
	}
	var gerr *kerr.Error
	var fetched []group.FetchedOffset
	if req.Version == 0 {
		for _, tp := range tps {
			fetched = append(fetched, s.fetchOffsetsFromZooKeeper(req.Group, tp))
		}
	} else {
		gerr, fetched = s.groups.FetchOffsets(req.Group, req.RequireStable, tps)
	}
	if gerr != nil {
		if req.Version >= 2 {
			resp.ErrorCode = gerr.Code
			return resp
		}
		// Before v2 there is no group-level error: every partition carries it.
		fetched = fetched[:0]
		for _, tp := range tps {
			fetched = append(fetched, group.FetchedOffset{TopicPartition: tp, Offset: -1, LeaderEpoch: -1, Err: gerr})
		}
	}
	for _, t := range byTopic(fetched) {
		rt := kmsg.NewOffsetFetchResponseTopic()
		rt.Topic = t.topic
		for _, f := range t.offsets {
			rp := kmsg.NewOffsetFetchResponseTopicPartition()
			rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = f.Partition, f.Offset, f.LeaderEpoch, errCode(f.Err)
			md := f.Metadata
			rp.Metadata = &md
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// topicOffsets is one topic of an OffsetFetch answer.
type topicOffsets struct {
	topic   string
	offsets []group.FetchedOffset
}

// byTopic groups fetched offsets by topic in the order topics first
// appear, each partition once (its first answer): a request may name a
// topic, or a partition, more than once, and Kafka answers from a map
// keyed by partition, listing each topic once.
func byTopic(fetched []group.FetchedOffset) []topicOffsets {
	var out []topicOffsets
	index := map[string]int{}
	seen := map[group.TopicPartition]bool{}
	for _, f := range fetched {
		if seen[f.TopicPartition] {
			continue
		}
		seen[f.TopicPartition] = true
		i, ok := index[f.Topic]
		if !ok {
			i = len(out)
			index[f.Topic] = i
			out = append(out, topicOffsets{topic: f.Topic})
		}
		out[i].offsets = append(out[i].offsets, f)
	}
	return out
}

// handleOffsetDelete deletes committed offsets of existing partitions;
// unknown ones are UNKNOWN_TOPIC_OR_PARTITION.
func (s *Server) handleOffsetDelete(req *kmsg.OffsetDeleteRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	var tps []group.TopicPartition
	codes := map[group.TopicPartition]int16{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := group.TopicPartition{Topic: t.Topic, Partition: p.Partition}
			if !s.knownPartition(t.Topic, p.Partition) {
				codes[tp] = kerr.UnknownTopicOrPartition.Code
				continue
			}
			tps = append(tps, tp)
		}
	}
	gerr, results := s.groups.DeleteOffsets(req.Group, tps)
	if gerr != nil {
		resp.ErrorCode = gerr.Code
		return resp
	}
	for _, r := range results {
		codes[r.TopicPartition] = errCode(r.Err)
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = codes[group.TopicPartition{Topic: t.Topic, Partition: p.Partition}]
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// handleListGroups lists the groups this broker coordinates (clients ask
// every broker), filtered by state from v4.
func (s *Server) handleListGroups(req *kmsg.ListGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	gerr, groups := s.groups.ListGroups(req.StatesFilter)
	resp.ErrorCode = errCode(gerr)
	for _, g := range groups {
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState = g.GroupID, g.ProtocolType, g.State
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// groupAuthorizedOperations is every operation of a GROUP resource (READ,
// DELETE, DESCRIBE): without an authorizer Kafka allows them all.
const groupAuthorizedOperations = 1<<3 | 1<<6 | 1<<8

func (s *Server) handleDescribeGroups(req *kmsg.DescribeGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	for _, id := range req.Groups {
		gerr, sum := s.groups.DescribeGroup(id)
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = id
		rg.ErrorCode = errCode(gerr)
		rg.State, rg.ProtocolType, rg.Protocol = sum.State, sum.ProtocolType, sum.Protocol
		rg.AuthorizedOperations = authorizedOperationsOmitted
		if gerr == nil && req.Version >= 3 && req.IncludeAuthorizedOperations {
			rg.AuthorizedOperations = groupAuthorizedOperations
		}
		for _, m := range sum.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.ClientID, rm.ClientHost = m.MemberID, m.InstanceID, m.ClientID, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = m.Metadata, m.Assignment
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

func (s *Server) handleDeleteGroups(req *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	for _, r := range s.groups.DeleteGroups(req.Groups) {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group, rg.ErrorCode = r.GroupID, errCode(r.Err)
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
