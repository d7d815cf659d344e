package broker

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Names of the resources a request touches, for the authorization checks
// the handlers make at their top (KafkaApis' filterByAuthorized calls).

// produceWritable is WRITE on each topic of a produce request; nil without
// an authorizer.
func (s *Server) produceWritable(ctx context.Context, req *kmsg.ProduceRequest) map[string]bool {
	if s.authz == nil {
		return nil
	}
	names := make([]string, 0, len(req.Topics))
	for _, t := range req.Topics {
		names = append(names, t.Topic)
	}
	return s.authorizedNames(ctx, opWrite, resTopic, names)
}

// fetchReadable is a consumer fetch's READ on the topic, memoised per
// request; followers were checked for CLUSTER_ACTION already.
func (s *Server) fetchReadable(ctx context.Context, replicaID int32, topic string, memo map[string]bool) bool {
	if replicaID >= 0 || s.authz == nil {
		return true
	}
	ok, seen := memo[topic]
	if !seen {
		ok = s.authorize(ctx, opRead, resTopic, topic)
		memo[topic] = ok
	}
	return ok
}

// Kafka's default messages of the authorization errors (Errors).
var (
	msgTopicAuthFailed   = "Topic authorization failed."
	msgClusterAuthFailed = "Cluster authorization failed."
	msgGroupAuthFailed   = "Group authorization failed."
	msgTxnIDAuthFailed   = "Transactional Id authorization failed."
)

const (
	errTopicAuthFailed int16 = 29
	errGroupAuthFailed int16 = 30
	errTxnIDAuthFailed int16 = 53
)

// aclGate makes, before the handler runs, the authorization checks
// KafkaApis makes for the request's principal. A non-nil response answers
// the request without the handler (the whole request is refused). Else
// the request may have been rewritten without its unauthorized parts, and
// a non-nil patch adds their errors to the handler's response. Produce,
// Fetch, Metadata and the ACL APIs check in their handlers.
func (s *Server) aclGate(ctx context.Context, req kmsg.Request) (kmsg.Response, func(kmsg.Response)) {
	if s.authz == nil {
		return nil, nil
	}
	switch r := req.(type) {
	// Inter-broker requests: CLUSTER_ACTION (authorizeClusterOperation;
	// the request's getErrorResponse).
	case *kmsg.LeaderAndISRRequest:
		if !s.authorizeCluster(ctx, opClusterAction) {
			return leaderAndIsrError(r, errClusterAuthorizationFailed), nil
		}
	case *kmsg.UpdateMetadataRequest:
		if !s.authorizeCluster(ctx, opClusterAction) {
			resp := r.ResponseKind().(*kmsg.UpdateMetadataResponse)
			resp.ErrorCode = errClusterAuthorizationFailed
			return resp, nil
		}
	case *kmsg.StopReplicaRequest:
		if !s.authorizeCluster(ctx, opClusterAction) {
			resp := r.ResponseKind().(*kmsg.StopReplicaResponse)
			resp.ErrorCode = errClusterAuthorizationFailed
			for _, t := range stopReplicaTopics(r) {
				for _, p := range t.partitions {
					e := kmsg.NewStopReplicaResponsePartition()
					e.Topic, e.Partition, e.ErrorCode = t.topic, p, errClusterAuthorizationFailed
					resp.Partitions = append(resp.Partitions, e)
				}
			}
			return resp, nil
		}
	case *kmsg.ControlledShutdownRequest:
		if !s.authorizeCluster(ctx, opClusterAction) {
			resp := r.ResponseKind().(*kmsg.ControlledShutdownResponse)
			resp.ErrorCode = errClusterAuthorizationFailed
			return resp, nil
		}
	case *kmsg.AlterPartitionRequest:
		if !s.authorizeCluster(ctx, opClusterAction) {
			resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
			resp.ErrorCode = errClusterAuthorizationFailed
			return resp, nil
		}

	// Cluster administration.
	case *kmsg.AlterPartitionAssignmentsRequest:
		if !s.authorizeCluster(ctx, opAlter) {
			resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
			msg := clusterNotAuthorized(ctx, true)
			resp.ErrorCode, resp.ErrorMessage = errClusterAuthorizationFailed, msg
			for _, t := range r.Topics {
				rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.ErrorMessage = p.Partition, errClusterAuthorizationFailed, msg
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
	case *kmsg.ListPartitionReassignmentsRequest:
		if !s.authorizeCluster(ctx, opDescribe) {
			resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
			resp.ErrorCode, resp.ErrorMessage = errClusterAuthorizationFailed, clusterNotAuthorized(ctx, true)
			for _, t := range r.Topics {
				rt := kmsg.NewListPartitionReassignmentsResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
					rp.Partition = p
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
	case *kmsg.ElectLeadersRequest:
		// KafkaApis.handleElectLeaders: every asked partition and the
		// top-level error are CLUSTER_AUTHORIZATION_FAILED.
		if !s.authorizeCluster(ctx, opAlter) {
			resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
			resp.ErrorCode = errClusterAuthorizationFailed
			for _, t := range r.Topics {
				rt := kmsg.NewElectLeadersResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewElectLeadersResponseTopicPartition()
					rp.Partition, rp.ErrorCode = p, errClusterAuthorizationFailed
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp, nil
		}
	case *kmsg.DescribeClusterRequest:
		// AuthHelper.computeDescribeClusterResponse: no check of its own,
		// the authorized operations only when asked (0 without DESCRIBE).
		if r.IncludeClusterAuthorizedOperations {
			ops := int32(0)
			if s.authorizeCluster(ctx, opDescribe) {
				ops = s.authorizedOperations(ctx, resCluster, clusterResourceName)
			}
			return nil, func(resp kmsg.Response) {
				if d, ok := resp.(*kmsg.DescribeClusterResponse); ok && d.ErrorCode == 0 {
					d.ClusterAuthorizedOperations = ops
				}
			}
		}
	case *kmsg.InitProducerIDRequest:
		// With a transactional id: WRITE on it; without: IDEMPOTENT_WRITE
		// on the cluster or WRITE on some topic.
		resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		if r.TransactionalID != nil {
			if !s.authorize(ctx, opWrite, resTransactionalID, *r.TransactionalID) {
				resp.ErrorCode = errTxnIDAuthFailed
				return resp, nil
			}
		} else if !s.authorizeCluster(ctx, opIdempotentWrite) && !s.authorizeByResourceType(ctx, opWrite, resTopic) {
			resp.ErrorCode = errClusterAuthorizationFailed
			return resp, nil
		}

	// Transactions (acl_checks_txn.go).
	case *kmsg.AddPartitionsToTxnRequest, *kmsg.AddOffsetsToTxnRequest, *kmsg.EndTxnRequest,
		*kmsg.WriteTxnMarkersRequest, *kmsg.TxnOffsetCommitRequest, *kmsg.DescribeProducersRequest,
		*kmsg.DescribeTransactionsRequest, *kmsg.ListTransactionsRequest:
		deny, patch, _ := s.gateTxnAPIs(ctx, r)
		return deny, patch

	// SCRAM credentials (KafkaApis.handleDescribeUserScramCredentialsRequest,
	// handleAlterUserScramCredentialsRequest). SaslHandshake and
	// SaslAuthenticate are never authorized: they come before a principal.
	case *kmsg.DescribeUserSCRAMCredentialsRequest:
		if !s.authorizeCluster(ctx, opDescribe) {
			return describeScramRefused(r), nil
		}
	case *kmsg.AlterUserSCRAMCredentialsRequest:
		// NOT_CONTROLLER comes first (the handler's), then ALTER.
		if s.activeController() != nil && !s.authorizeCluster(ctx, opAlter) {
			return alterScramRefused(r), nil
		}

	// Groups.
	case *kmsg.JoinGroupRequest:
		if !s.authorize(ctx, opRead, resGroup, r.Group) {
			resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
			resp.ErrorCode = errGroupAuthFailed
			return resp, nil
		}
	case *kmsg.SyncGroupRequest:
		if !s.authorize(ctx, opRead, resGroup, r.Group) {
			resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
			resp.ErrorCode = errGroupAuthFailed
			return resp, nil
		}
	case *kmsg.HeartbeatRequest:
		if !s.authorize(ctx, opRead, resGroup, r.Group) {
			resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
			resp.ErrorCode = errGroupAuthFailed
			return resp, nil
		}
	case *kmsg.LeaveGroupRequest:
		if !s.authorize(ctx, opRead, resGroup, r.Group) {
			resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
			resp.ErrorCode = errGroupAuthFailed
			return resp, nil
		}
	case *kmsg.OffsetCommitRequest:
		return s.gateOffsetCommit(ctx, r)
	case *kmsg.OffsetFetchRequest:
		return s.gateOffsetFetch(ctx, r)
	case *kmsg.FindCoordinatorRequest:
		return s.gateFindCoordinator(ctx, r) // acl_checks_txn.go
	case *kmsg.DescribeGroupsRequest:
		return nil, s.gateDescribeGroups(ctx, r)
	case *kmsg.ListGroupsRequest:
		// KafkaApis.handleListGroupsRequest: DESCRIBE on the cluster lists
		// every group, else those the principal may describe.
		if !s.authorizeCluster(ctx, opDescribe) {
			return nil, func(resp kmsg.Response) {
				l := resp.(*kmsg.ListGroupsResponse)
				kept := l.Groups[:0]
				for _, g := range l.Groups {
					if s.authorize(ctx, opDescribe, resGroup, g.Group) {
						kept = append(kept, g)
					}
				}
				l.Groups = kept
			}
		}
	case *kmsg.DeleteGroupsRequest:
		ok := s.authorizedNames(ctx, opDelete, resGroup, r.Groups)
		var denied []string
		kept := r.Groups[:0:0]
		for _, g := range r.Groups {
			if ok[g] {
				kept = append(kept, g)
			} else {
				denied = append(denied, g)
			}
		}
		r.Groups = kept
		if len(denied) > 0 {
			return nil, func(resp kmsg.Response) {
				d := resp.(*kmsg.DeleteGroupsResponse)
				for _, g := range denied {
					x := kmsg.NewDeleteGroupsResponseGroup()
					x.Group, x.ErrorCode = g, errGroupAuthFailed
					d.Groups = append(d.Groups, x)
				}
			}
		}
	case *kmsg.OffsetDeleteRequest:
		return s.gateOffsetDelete(ctx, r)

	// Topics.
	case *kmsg.ListOffsetsRequest:
		return nil, s.gateListOffsets(ctx, r)
	case *kmsg.OffsetForLeaderEpochRequest:
		return nil, s.gateOffsetForLeaderEpoch(ctx, r)
	case *kmsg.CreateTopicsRequest:
		return nil, s.gateCreateTopics(ctx, r)
	case *kmsg.DeleteTopicsRequest:
		return nil, s.gateDeleteTopics(ctx, r)
	case *kmsg.CreatePartitionsRequest:
		return nil, s.gateCreatePartitions(ctx, r)
	case *kmsg.DeleteRecordsRequest:
		return nil, s.gateDeleteRecords(ctx, r)
	case *kmsg.DescribeConfigsRequest:
		return nil, s.gateDescribeConfigs(ctx, r)
	case *kmsg.AlterConfigsRequest:
		return nil, s.gateAlterConfigs(ctx, r)
	case *kmsg.IncrementalAlterConfigsRequest:
		return nil, s.gateIncrementalAlterConfigs(ctx, r)
	}
	return nil, nil
}

func leaderAndIsrError(r *kmsg.LeaderAndISRRequest, code int16) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.LeaderAndISRResponse)
	resp.ErrorCode = code
	if r.Version < 5 {
		states := r.PartitionStates
		for _, t := range r.TopicStates {
			for _, p := range t.PartitionStates {
				p.Topic = t.Topic
				states = append(states, p)
			}
		}
		for _, p := range states {
			e := kmsg.NewLeaderAndISRResponseTopicPartition()
			e.Topic, e.Partition, e.ErrorCode = p.Topic, p.Partition, code
			resp.Partitions = append(resp.Partitions, e)
		}
		return resp
	}
	for _, t := range r.TopicStates {
		rt := kmsg.NewLeaderAndISRResponseTopic()
		rt.TopicID = t.TopicID
		for _, p := range t.PartitionStates {
			e := kmsg.NewLeaderAndISRResponseTopicPartition()
			e.Partition, e.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, e)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

type topicPartitions struct {
	topic      string
	partitions []int32
}

func stopReplicaTopics(r *kmsg.StopReplicaRequest) []topicPartitions {
	var out []topicPartitions
	for _, t := range r.Topics {
		tp := topicPartitions{topic: t.Topic}
		switch {
		case r.Version == 0:
			tp.partitions = []int32{t.Partition}
		case r.Version <= 2:
			tp.partitions = t.Partitions
		default:
			for _, p := range t.PartitionStates {
				tp.partitions = append(tp.partitions, p.Partition)
			}
		}
		out = append(out, tp)
	}
	return out
}

// gateOffsetCommit: READ on the group, else every partition
// GROUP_AUTHORIZATION_FAILED; READ on each topic, else its partitions
// TOPIC_AUTHORIZATION_FAILED, listed first (KafkaApis.handleOffsetCommitRequest).
func (s *Server) gateOffsetCommit(ctx context.Context, r *kmsg.OffsetCommitRequest) (kmsg.Response, func(kmsg.Response)) {
	errorAll := func(topics []kmsg.OffsetCommitRequestTopic, code int16) []kmsg.OffsetCommitResponseTopic {
		var out []kmsg.OffsetCommitResponseTopic
		for _, t := range topics {
			rt := kmsg.NewOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			out = append(out, rt)
		}
		return out
	}
	if !s.authorize(ctx, opRead, resGroup, r.Group) {
		resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
		resp.Topics = errorAll(r.Topics, errGroupAuthFailed)
		return resp, nil
	}
	var denied, kept []kmsg.OffsetCommitRequestTopic
	for _, t := range r.Topics {
		if s.authorize(ctx, opRead, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil, nil
	}
	r.Topics = kept
	return nil, func(resp kmsg.Response) {
		c := resp.(*kmsg.OffsetCommitResponse)
		c.Topics = append(errorAll(denied, errTopicAuthFailed), c.Topics...)
	}
}

// gateOffsetFetch: DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED;
// asked topics the principal may not describe answer
// TOPIC_AUTHORIZATION_FAILED after the others; a fetch of all topics
// leaves them out (KafkaApis.handleOffsetFetchRequestFromCoordinator).
func (s *Server) gateOffsetFetch(ctx context.Context, r *kmsg.OffsetFetchRequest) (kmsg.Response, func(kmsg.Response)) {
	if r.Version >= 8 {
		groupDenied := map[string]bool{}
		deniedTopics := map[string][]kmsg.OffsetFetchRequestGroupTopic{}
		allTopics := map[string]bool{}
		for i := range r.Groups {
			g := &r.Groups[i]
			if !s.authorize(ctx, opDescribe, resGroup, g.Group) {
				groupDenied[g.Group] = true
				g.Topics = []kmsg.OffsetFetchRequestGroupTopic{} // asked of no topic; answered below
				continue
			}
			if g.Topics == nil {
				allTopics[g.Group] = true
				continue
			}
			var kept []kmsg.OffsetFetchRequestGroupTopic
			for _, t := range g.Topics {
				if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
					kept = append(kept, t)
				} else {
					deniedTopics[g.Group] = append(deniedTopics[g.Group], t)
				}
			}
			if kept == nil {
				kept = []kmsg.OffsetFetchRequestGroupTopic{}
			}
			g.Topics = kept
		}
		return nil, func(resp kmsg.Response) {
			f := resp.(*kmsg.OffsetFetchResponse)
			for i := range f.Groups {
				g := &f.Groups[i]
				switch {
				case groupDenied[g.Group]:
					g.ErrorCode, g.Topics = errGroupAuthFailed, nil
				case allTopics[g.Group]:
					kept := g.Topics[:0]
					for _, t := range g.Topics {
						if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
							kept = append(kept, t)
						}
					}
					g.Topics = kept
				default:
					for _, t := range deniedTopics[g.Group] {
						rt := kmsg.NewOffsetFetchResponseGroupTopic()
						rt.Topic = t.Topic
						for _, p := range t.Partitions {
							rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
							rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, errTopicAuthFailed
							empty := ""
							rp.Metadata = &empty
							rt.Partitions = append(rt.Partitions, rp)
						}
						g.Topics = append(g.Topics, rt)
					}
				}
			}
		}
	}
	if !s.authorize(ctx, opDescribe, resGroup, r.Group) {
		resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = errGroupAuthFailed
		if r.Version < 2 {
			for _, t := range r.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, errGroupAuthFailed
					empty := ""
					rp.Metadata = &empty
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp, nil
	}
	if r.Topics == nil {
		return nil, func(resp kmsg.Response) {
			f := resp.(*kmsg.OffsetFetchResponse)
			kept := f.Topics[:0]
			for _, t := range f.Topics {
				if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
					kept = append(kept, t)
				}
			}
			f.Topics = kept
		}
	}
	var denied []kmsg.OffsetFetchRequestTopic
	kept := []kmsg.OffsetFetchRequestTopic{}
	for _, t := range r.Topics {
		if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil, nil
	}
	r.Topics = kept
	return nil, func(resp kmsg.Response) {
		f := resp.(*kmsg.OffsetFetchResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch, rp.ErrorCode = p, -1, -1, errTopicAuthFailed
				empty := ""
				rp.Metadata = &empty
				rt.Partitions = append(rt.Partitions, rp)
			}
			f.Topics = append(f.Topics, rt)
		}
	}
}

// gateDescribeGroups: DESCRIBE on each group, else
// GROUP_AUTHORIZATION_FAILED for it; the authorized operations when asked.
func (s *Server) gateDescribeGroups(ctx context.Context, r *kmsg.DescribeGroupsRequest) func(kmsg.Response) {
	// KafkaApis.handleDescribeGroupsRequest: the refused groups come first,
	// then the coordinator's answers for the others.
	var denied []kmsg.DescribeGroupsResponseGroup
	kept := r.Groups[:0:0]
	for _, g := range r.Groups {
		if s.authorize(ctx, opDescribe, resGroup, g) {
			kept = append(kept, g)
			continue
		}
		x := kmsg.NewDescribeGroupsResponseGroup()
		x.Group, x.ErrorCode = g, errGroupAuthFailed
		denied = append(denied, x)
	}
	r.Groups = kept
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DescribeGroupsResponse)
		for i := range d.Groups {
			if g := &d.Groups[i]; r.IncludeAuthorizedOperations && g.ErrorCode == 0 {
				g.AuthorizedOperations = s.authorizedOperations(ctx, resGroup, g.Group)
			}
		}
		d.Groups = append(denied, d.Groups...)
	}
}

// gateOffsetDelete: DELETE on the group, else GROUP_AUTHORIZATION_FAILED;
// READ on each topic, else its partitions TOPIC_AUTHORIZATION_FAILED
// (GroupCoordinator path of KafkaApis.handleOffsetDeleteRequest).
func (s *Server) gateOffsetDelete(ctx context.Context, r *kmsg.OffsetDeleteRequest) (kmsg.Response, func(kmsg.Response)) {
	if !s.authorize(ctx, opDelete, resGroup, r.Group) {
		resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.ErrorCode = errGroupAuthFailed
		return resp, nil
	}
	var denied, kept []kmsg.OffsetDeleteRequestTopic
	for _, t := range r.Topics {
		if s.authorize(ctx, opRead, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil, nil
	}
	r.Topics = kept
	return nil, func(resp kmsg.Response) {
		o := resp.(*kmsg.OffsetDeleteResponse)
		var front []kmsg.OffsetDeleteResponseTopic
		for _, t := range denied {
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopicAuthFailed
				rt.Partitions = append(rt.Partitions, rp)
			}
			front = append(front, rt)
		}
		o.Topics = append(front, o.Topics...)
	}
}

// gateListOffsets: DESCRIBE on each topic, else its partitions
// TOPIC_AUTHORIZATION_FAILED, after the others (KafkaApis.handleListOffsetRequest).
func (s *Server) gateListOffsets(ctx context.Context, r *kmsg.ListOffsetsRequest) func(kmsg.Response) {
	var denied, kept []kmsg.ListOffsetsRequestTopic
	for _, t := range r.Topics {
		if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		l := resp.(*kmsg.ListOffsetsResponse)
		for _, t := range denied {
			rt := kmsg.NewListOffsetsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewListOffsetsResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopicAuthFailed
				if r.Version == 0 {
					rp.OldStyleOffsets = []int64{}
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			l.Topics = append(l.Topics, rt)
		}
	}
}

// gateOffsetForLeaderEpoch: CLUSTER_ACTION allows every topic; else
// DESCRIBE on each, the rest TOPIC_AUTHORIZATION_FAILED after the others.
func (s *Server) gateOffsetForLeaderEpoch(ctx context.Context, r *kmsg.OffsetForLeaderEpochRequest) func(kmsg.Response) {
	if s.authorizeCluster(ctx, opClusterAction) {
		return nil
	}
	var denied, kept []kmsg.OffsetForLeaderEpochRequestTopic
	for _, t := range r.Topics {
		if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		o := resp.(*kmsg.OffsetForLeaderEpochResponse)
		for _, t := range denied {
			rt := kmsg.NewOffsetForLeaderEpochResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, errTopicAuthFailed
				rt.Partitions = append(rt.Partitions, rp)
			}
			o.Topics = append(o.Topics, rt)
		}
	}
}

// gateCreateTopics: CREATE on the cluster or on each topic, else
// TOPIC_AUTHORIZATION_FAILED "Authorization failed." (a topic named twice
// is the handler's INVALID_REQUEST first); without DESCRIBE_CONFIGS on a
// topic its config error is TOPIC_AUTHORIZATION_FAILED and neither its
// configs nor its id, partitions and replication factor are returned.
// Results stay in request order.
func (s *Server) gateCreateTopics(ctx context.Context, r *kmsg.CreateTopicsRequest) func(kmsg.Response) {
	count := map[string]int{}
	for _, t := range r.Topics {
		count[t.Topic]++
	}
	clusterCreate := s.authorizeCluster(ctx, opCreate)
	denied := map[string]bool{}
	kept := r.Topics[:0:0]
	for _, t := range r.Topics {
		if count[t.Topic] == 1 && !clusterCreate && !s.authorize(ctx, opCreate, resTopic, t.Topic) {
			denied[t.Topic] = true
			continue
		}
		kept = append(kept, t)
	}
	order := make([]string, 0, len(r.Topics))
	for _, t := range r.Topics {
		order = append(order, t.Topic)
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		c := resp.(*kmsg.CreateTopicsResponse)
		byName := map[string][]kmsg.CreateTopicsResponseTopic{}
		for _, t := range c.Topics {
			byName[t.Topic] = append(byName[t.Topic], t)
		}
		out := make([]kmsg.CreateTopicsResponseTopic, 0, len(order))
		for _, name := range order {
			var t kmsg.CreateTopicsResponseTopic
			if denied[name] {
				t = kmsg.NewCreateTopicsResponseTopic()
				msg := "Authorization failed."
				t.Topic, t.ErrorCode, t.ErrorMessage = name, errTopicAuthFailed, &msg
			} else if l := byName[name]; len(l) > 0 {
				t, byName[name] = l[0], l[1:]
			} else {
				continue
			}
			// ZkAdminManager.createTopics fills in the configs, partitions,
			// replication factor and topic id only for topics the principal
			// may DESCRIBE_CONFIGS; a failed creation resets the config error.
			if (denied[name] || t.ErrorCode == 0) && !s.authorize(ctx, opDescribeConfigs, resTopic, name) {
				t.ConfigErrorCode, t.Configs = errTopicAuthFailed, nil
				t.NumPartitions, t.ReplicationFactor, t.TopicID = -1, -1, [16]byte{}
			}
			out = append(out, t)
		}
		c.Topics = out
	}
}

// gateDeleteTopics: DELETE on each topic named, else
// TOPIC_AUTHORIZATION_FAILED; a topic given by id needs DESCRIBE too, or
// its name is withheld (KafkaApis.handleDeleteTopicsRequest).
func (s *Server) gateDeleteTopics(ctx context.Context, r *kmsg.DeleteTopicsRequest) func(kmsg.Response) {
	type deny struct {
		name   *string
		id     [16]byte
		byID   bool
		hidden bool
	}
	var denied []deny
	if r.Version < 6 {
		kept := r.TopicNames[:0:0]
		for _, n := range r.TopicNames {
			if s.authorize(ctx, opDelete, resTopic, n) {
				kept = append(kept, n)
			} else {
				n := n
				denied = append(denied, deny{name: &n})
			}
		}
		r.TopicNames = kept
	} else {
		kept := r.Topics[:0:0]
		for _, t := range r.Topics {
			name, byID := t.Topic, false
			if name == nil && t.TopicID != [16]byte{} {
				if n, ok := s.cache.topicName(t.TopicID); ok {
					name, byID = &n, true
				}
			}
			switch {
			case name == nil:
				kept = append(kept, t) // the handler's UNKNOWN_TOPIC_ID
			case byID && !s.authorize(ctx, opDescribe, resTopic, *name):
				denied = append(denied, deny{id: t.TopicID, byID: true, hidden: true})
			case !s.authorize(ctx, opDelete, resTopic, *name):
				denied = append(denied, deny{name: name, id: t.TopicID, byID: byID})
			default:
				kept = append(kept, t)
			}
		}
		r.Topics = kept
	}
	if len(denied) == 0 {
		return nil
	}
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DeleteTopicsResponse)
		for _, x := range denied {
			t := kmsg.NewDeleteTopicsResponseTopic()
			t.ErrorCode = errTopicAuthFailed
			if !x.hidden {
				t.Topic = x.name
			}
			if x.byID {
				t.TopicID = x.id
			} else if x.name != nil {
				if ct, ok := s.cache.topic(*x.name); ok {
					t.TopicID = ct.ID
				}
			}
			d.Topics = append(d.Topics, t)
		}
	}
}

// gateCreatePartitions: ALTER on each topic, else
// TOPIC_AUTHORIZATION_FAILED "The topic authorization is failed.".
func (s *Server) gateCreatePartitions(ctx context.Context, r *kmsg.CreatePartitionsRequest) func(kmsg.Response) {
	var denied []string
	kept := r.Topics[:0:0]
	for _, t := range r.Topics {
		if s.authorize(ctx, opAlter, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t.Topic)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		c := resp.(*kmsg.CreatePartitionsResponse)
		for _, n := range denied {
			t := kmsg.NewCreatePartitionsResponseTopic()
			msg := "The topic authorization is failed."
			t.Topic, t.ErrorCode, t.ErrorMessage = n, errTopicAuthFailed, &msg
			c.Topics = append(c.Topics, t)
		}
	}
}

// gateDeleteRecords: DELETE on each topic, else its partitions
// TOPIC_AUTHORIZATION_FAILED with low watermark -1.
func (s *Server) gateDeleteRecords(ctx context.Context, r *kmsg.DeleteRecordsRequest) func(kmsg.Response) {
	var denied, kept []kmsg.DeleteRecordsRequestTopic
	for _, t := range r.Topics {
		if s.authorize(ctx, opDelete, resTopic, t.Topic) {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DeleteRecordsResponse)
		for _, t := range denied {
			rt := kmsg.NewDeleteRecordsResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDeleteRecordsResponseTopicPartition()
				rp.Partition, rp.LowWatermark, rp.ErrorCode = p.Partition, -1, errTopicAuthFailed
				rt.Partitions = append(rt.Partitions, rp)
			}
			d.Topics = append(d.Topics, rt)
		}
	}
}

// configResourceAllowed is the check of ConfigHelper / KafkaApis for one
// config resource: a topic's own op, a broker's (or broker logger's) on
// the cluster. Other types pass to the handler.
func (s *Server) configResourceAllowed(ctx context.Context, op aclOperation, typ kmsg.ConfigResourceType, name string) (bool, int16, *string) {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return s.authorize(ctx, op, resTopic, name), errTopicAuthFailed, &msgTopicAuthFailed
	case kmsg.ConfigResourceTypeBroker, kmsg.ConfigResourceTypeBrokerLogger:
		return s.authorizeCluster(ctx, op), errClusterAuthorizationFailed, &msgClusterAuthFailed
	}
	return true, 0, nil
}

// gateDescribeConfigs: DESCRIBE_CONFIGS, the refused resources after the
// others with Kafka's default message.
func (s *Server) gateDescribeConfigs(ctx context.Context, r *kmsg.DescribeConfigsRequest) func(kmsg.Response) {
	var denied []kmsg.DescribeConfigsResponseResource
	kept := r.Resources[:0:0]
	for _, res := range r.Resources {
		ok, code, msg := s.configResourceAllowed(ctx, opDescribeConfigs, res.ResourceType, res.ResourceName)
		if ok {
			kept = append(kept, res)
			continue
		}
		x := kmsg.NewDescribeConfigsResponseResource()
		x.ResourceType, x.ResourceName, x.ErrorCode, x.ErrorMessage = res.ResourceType, res.ResourceName, code, msg
		x.Configs = []kmsg.DescribeConfigsResponseResourceConfig{}
		denied = append(denied, x)
	}
	if len(denied) == 0 {
		return nil
	}
	r.Resources = kept
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DescribeConfigsResponse)
		d.Resources = append(d.Resources, denied...)
	}
}

// gateAlterConfigs: ALTER_CONFIGS, the refused resources after the others
// without a message (configsAuthorizationApiError).
func (s *Server) gateAlterConfigs(ctx context.Context, r *kmsg.AlterConfigsRequest) func(kmsg.Response) {
	var denied []kmsg.AlterConfigsResponseResource
	kept := r.Resources[:0:0]
	for _, res := range r.Resources {
		ok, code, _ := s.configResourceAllowed(ctx, opAlterConfigs, res.ResourceType, res.ResourceName)
		if ok {
			kept = append(kept, res)
			continue
		}
		x := kmsg.NewAlterConfigsResponseResource()
		x.ResourceType, x.ResourceName, x.ErrorCode = res.ResourceType, res.ResourceName, code
		denied = append(denied, x)
	}
	if len(denied) == 0 {
		return nil
	}
	r.Resources = kept
	return func(resp kmsg.Response) {
		a := resp.(*kmsg.AlterConfigsResponse)
		a.Resources = append(a.Resources, denied...)
	}
}

// gateIncrementalAlterConfigs: as gateAlterConfigs.
func (s *Server) gateIncrementalAlterConfigs(ctx context.Context, r *kmsg.IncrementalAlterConfigsRequest) func(kmsg.Response) {
	var denied []kmsg.IncrementalAlterConfigsResponseResource
	kept := r.Resources[:0:0]
	for _, res := range r.Resources {
		ok, code, _ := s.configResourceAllowed(ctx, opAlterConfigs, res.ResourceType, res.ResourceName)
		if ok {
			kept = append(kept, res)
			continue
		}
		x := kmsg.NewIncrementalAlterConfigsResponseResource()
		x.ResourceType, x.ResourceName, x.ErrorCode = res.ResourceType, res.ResourceName, code
		denied = append(denied, x)
	}
	if len(denied) == 0 {
		return nil
	}
	r.Resources = kept
	return func(resp kmsg.Response) {
		a := resp.(*kmsg.IncrementalAlterConfigsResponse)
		a.Resources = append(a.Resources, denied...)
	}
}

type aclCheckedKey struct{}

// metadataAuthorized is KafkaApis.handleTopicMetadataRequest's
// authorization around handleMetadata: only topics the principal may
// DESCRIBE are answered (of all topics the others are left out; asked by
// name they are TOPIC_AUTHORIZATION_FAILED without id, asked by id
// without name); a missing topic that would be auto-created needs CREATE
// on the cluster or the topic, else TOPIC_AUTHORIZATION_FAILED; the
// authorized operations are the principal's. The refused topics come
// after the others, as in Kafka.
func (s *Server) metadataAuthorized(ctx context.Context, req *kmsg.MetadataRequest) kmsg.Response {
	inner := context.WithValue(ctx, aclCheckedKey{}, true)
	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	var deniedDescribe, deniedCreate []string
	byID := false
	if !allTopics {
		for _, rt := range req.Topics {
			if rt.TopicID != [16]byte{} {
				byID = true
			}
		}
	}
	if !allTopics && !byID {
		allowAuto := s.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
		clusterCreate := -1 // unknown yet
		kept := req.Topics[:0:0]
		seen := map[string]bool{}
		for _, rt := range req.Topics {
			if rt.Topic == nil {
				kept = append(kept, rt)
				continue
			}
			name := *rt.Topic
			first := !seen[name]
			seen[name] = true
			if !s.authorize(ctx, opDescribe, resTopic, name) {
				if first {
					deniedDescribe = append(deniedDescribe, name)
				}
				continue
			}
			if _, exists := s.cache.topic(name); !exists && allowAuto {
				if clusterCreate < 0 {
					clusterCreate = 0
					if s.authorizeCluster(ctx, opCreate) {
						clusterCreate = 1
					}
				}
				if clusterCreate == 0 && !s.authorize(ctx, opCreate, resTopic, name) {
					if first {
						deniedCreate = append(deniedCreate, name)
					}
					continue
				}
			}
			kept = append(kept, rt)
		}
		req.Topics = kept
	}
	emptyAfterFilter := !allTopics && !byID && len(req.Topics) == 0
	resp := s.handleMetadata(inner, req).(*kmsg.MetadataResponse)
	if emptyAfterFilter {
		resp.Topics = nil // v0's empty list would otherwise mean every topic
	}
	kept := resp.Topics[:0]
	var deniedIDs []kmsg.MetadataResponseTopic
	for _, t := range resp.Topics {
		if t.Topic != nil && (allTopics || byID) && t.ErrorCode != kerr.UnknownTopicID.Code &&
			!s.authorize(ctx, opDescribe, resTopic, *t.Topic) {
			if byID {
				x := kmsg.NewMetadataResponseTopic()
				x.TopicID, x.ErrorCode = t.TopicID, errTopicAuthFailed
				x.Partitions = []kmsg.MetadataResponseTopicPartition{}
				deniedIDs = append(deniedIDs, x)
			}
			continue
		}
		kept = append(kept, t)
	}
	resp.Topics = kept
	if req.Version >= 8 {
		if req.Version <= 10 && req.IncludeClusterAuthorizedOperations {
			resp.AuthorizedOperations = 0
			if s.authorizeCluster(ctx, opDescribe) {
				resp.AuthorizedOperations = s.authorizedOperations(ctx, resCluster, clusterResourceName)
			}
		}
		if req.IncludeTopicAuthorizedOperations {
			for i := range resp.Topics {
				if t := &resp.Topics[i]; t.Topic != nil {
					t.AuthorizedOperations = s.authorizedOperations(ctx, resTopic, *t.Topic)
				}
			}
		}
	}
	for _, n := range deniedCreate {
		x := kmsg.NewMetadataResponseTopic()
		x.Topic, x.ErrorCode, x.IsInternal = kmsg.StringPtr(n), errTopicAuthFailed, zkmeta.IsInternalTopic(n)
		x.Partitions = []kmsg.MetadataResponseTopicPartition{}
		resp.Topics = append(resp.Topics, x)
	}
	for _, n := range deniedDescribe {
		x := kmsg.NewMetadataResponseTopic()
		x.Topic, x.ErrorCode = kmsg.StringPtr(n), errTopicAuthFailed
		x.Partitions = []kmsg.MetadataResponseTopicPartition{}
		resp.Topics = append(resp.Topics, x)
	}
	resp.Topics = append(resp.Topics, deniedIDs...)
	return resp
}

// aclChecked reports whether ctx is already past metadataAuthorized.
func aclChecked(ctx context.Context) bool {
	v, _ := ctx.Value(aclCheckedKey{}).(bool)
	return v
}

// describeScramRefused is DescribeUserScramCredentialsRequest
// .getErrorResponse(CLUSTER_AUTHORIZATION_FAILED): the top-level error and
// one result per named user carrying it, without the user's name (Kafka
// sets none). Deviation: Kafka's getErrorResponse walks data.users(),
// null when every user is asked for, and fails with a
// NullPointerException there; we answer the top-level error alone.
func describeScramRefused(r *kmsg.DescribeUserSCRAMCredentialsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	msg := msgClusterAuthFailed
	resp.ErrorCode, resp.ErrorMessage = errClusterAuthorizationFailed, &msg
	for range r.Users {
		x := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		x.ErrorCode, x.ErrorMessage = errClusterAuthorizationFailed, &msg
		resp.Results = append(resp.Results, x)
	}
	return resp
}

// alterScramRefused is AlterUserScramCredentialsRequest
// .getErrorResponse(CLUSTER_AUTHORIZATION_FAILED): one result per user of
// the deletions and upsertions, once each, sorted by name.
func alterScramRefused(r *kmsg.AlterUserSCRAMCredentialsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	users := map[string]bool{}
	for _, d := range r.Deletions {
		users[d.Name] = true
	}
	for _, u := range r.Upsertions {
		users[u.Name] = true
	}
	for _, u := range slices.Sorted(maps.Keys(users)) {
		msg := msgClusterAuthFailed
		x := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
		x.User, x.ErrorCode, x.ErrorMessage = u, errClusterAuthorizationFailed, &msg
		resp.Results = append(resp.Results, x)
	}
	return resp
}

type requestSizeKey struct{}

// withRequestSize records the size of the request's frame (without its
// length prefix), which Kafka's refusal message prints.
func withRequestSize(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, requestSizeKey{}, n)
}

// clusterNotAuthorized is the message of AuthHelper.authorizeClusterOperation's
// ClusterAuthorizationException, s"Request $request is not authorized.",
// with RequestChannel.Request's toString: the network processor, the
// connection id (local-remote-index), the session (a Java object without
// toString: class@identity hash), the listener, its protocol, the request
// buffer and the envelope. The buffer is released (null) after parsing
// unless the API keeps it (ApiKeys.requiresDelayedAllocation: forwardable
// APIs and those with bytes fields): then a HeapByteBuffer read to its
// end, as large as the request. Deviation: our processor and connection
// index are 0 and the session's hash is one of the connection id; Kafka's
// are its processor thread, its connection counter and the JVM's identity
// hash.
func clusterNotAuthorized(ctx context.Context, retained bool) *string {
	sess := sessionFrom(ctx)
	connID := addrID(sess.localAddr) + "-" + addrID(sess.clientAddr) + "-0"
	buffer := "null"
	if retained {
		n, _ := ctx.Value(requestSizeKey{}).(int)
		buffer = fmt.Sprintf("java.nio.HeapByteBuffer[pos=%d lim=%d cap=%d]", n, n, n)
	}
	msg := fmt.Sprintf("Request Request(processor=0, connectionId=%s, session=org.apache.kafka.network.Session@%x, "+
		"listenerName=ListenerName(%s), securityProtocol=%s, buffer=%s, envelope=None) is not authorized.",
		connID, crc32.ChecksumIEEE([]byte(connID)), sess.listener, sess.protocol, buffer)
	return &msg
}

// addrID is an address as Kafka's ConnectionId prints it: host:port, the
// host an IP address.
func addrID(a net.Addr) string {
	if a == nil {
		return "0.0.0.0:0"
	}
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host + ":" + port
}

// forwardedByBroker reports whether req is a request another broker
// forwarded to this one as the controller (controller_forwarder.go: auto
// topic creation's CreateTopics) whose original principal that broker has
// authorized already. Kafka 3.9 in ZooKeeper mode does not forward (the
// broker writes ZooKeeper itself), so the rule is that of KafkaApis.
// handleEnvelope (KIP-590), which trusts the forwarding broker: the
// request comes on the privileged listener (fromPrivilegedListener:
// control.plane.listener.name, else the inter-broker listener) from a principal with
// CLUSTER_ACTION on the Cluster. The forwarder's client id
// (broker-<id>-forwarder) only marks the request as forwarded: a client
// copying it still needs CLUSTER_ACTION, and without it gets the ordinary
// checks of its own principal.
func (s *Server) forwardedByBroker(ctx context.Context, clientID *string, req kmsg.Request) bool {
	if s.authz == nil || clientID == nil {
		return false
	}
	if _, ok := req.(*kmsg.CreateTopicsRequest); !ok {
		return false
	}
	id, ok1 := strings.CutPrefix(*clientID, "broker-")
	id, ok2 := strings.CutSuffix(id, forwarderClientIDSuffix)
	if !ok1 || !ok2 {
		return false
	}
	if n, err := strconv.ParseInt(id, 10, 32); err != nil || n < 0 || strconv.FormatInt(n, 10) != id {
		return false
	}
	// SocketServer: the control plane listener is the privileged one when
	// set, else the inter-broker listener; the forwarder dials it.
	if sessionFrom(ctx).listener != s.cfg.controllerListener() {
		return false
	}
	return s.authorizeCluster(ctx, opClusterAction)
}

// aclGateFor is aclGate for a request with the header's client id: a
// request forwarded by a broker (forwardedByBroker) skips the checks its
// forwarding broker made.
func (s *Server) aclGateFor(ctx context.Context, clientID *string, req kmsg.Request) (kmsg.Response, func(kmsg.Response)) {
	if s.forwardedByBroker(ctx, clientID, req) {
		return nil, nil
	}
	return s.aclGate(ctx, req)
}
