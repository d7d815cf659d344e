// Metadata: API key 3, versions 0-12.
//
// Answers brokers, controller, cluster id and topic partitions from the
// metadata cache fed by UpdateMetadata. Unknown topics are auto-created via
// the controller when auto.create.topics.enable allows (always before v4,
// then per request) and answer LEADER_NOT_AVAILABLE until elected. v0 hides
// replicas on dead brokers (REPLICA_NOT_AVAILABLE). v7 adds leader epochs
// (KIP-320), v8 authorized operations (KIP-430; cluster ones dropped in
// v11, KIP-700), v10 topic ids and v12 lookup by topic id (KIP-516).
//
// With an authorizer, metadataAuthorized (acl_checks.go) filters the topics
// and fills in the authorized operations. Brokers and leaders are those of
// the listener the request came in on. Deviation from Kafka 3.9: the
// transaction state topic is never auto-created.

package broker

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// authorizedOperationsOmitted is Kafka's value when operations were not asked for.
const authorizedOperationsOmitted = -2147483648

// handleMetadata answers from the metadata cache. Unknown topics are
// auto-created through the controller when auto.create.topics.enable is set
// and the client allows it (always before v4), and answered with
// LEADER_NOT_AVAILABLE until their leaders are elected.
func (s *Server) handleMetadata(ctx context.Context, req *kmsg.MetadataRequest) kmsg.Response {
	if s.authz != nil && !aclChecked(ctx) {
		return s.metadataAuthorized(ctx, req) // KafkaApis' DESCRIBE and CREATE checks (acl_checks.go)
	}
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	listener := sessionFrom(ctx).listener
	// getAliveBrokerNodes(request.context.listenerName): brokers without the
	// request's listener are left out.
	for _, b := range s.cache.aliveNodes(listener) {
		resp.Brokers = append(resp.Brokers, kmsg.MetadataResponseBroker{NodeID: b.ID, Host: b.Host, Port: b.Port, Rack: b.Rack})
	}
	clusterID := s.clusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = s.cache.controller()
	resp.AuthorizedOperations = authorizedOperationsOmitted
	// KafkaApis.handleTopicMetadataRequest: from v8 the operations are
	// filled in when asked for (the cluster's only up to v10); without an
	// authorizer every operation is allowed.
	topicOps := int32(authorizedOperationsOmitted)
	if req.Version >= 8 {
		if req.Version <= 10 && req.IncludeClusterAuthorizedOperations {
			resp.AuthorizedOperations = allClusterOperations
		}
		if req.IncludeTopicAuthorizedOperations {
			topicOps = allTopicOperations
		}
	}
	// Version 0 leaves replicas on unavailable brokers out and reports
	// REPLICA_NOT_AVAILABLE (errorUnavailableEndpoints).
	// From v6 a leader without the request's listener is LISTENER_NOT_FOUND
	// (errorUnavailableListeners), before it LEADER_NOT_AVAILABLE.
	view := metadataView{listener: listener, filterUnavailable: req.Version == 0, listenerErrors: req.Version >= 6}

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, name := range s.cache.topicNames() {
			t, ok := s.cache.topic(name)
			if ok {
				resp.Topics = append(resp.Topics, s.metadataTopic(t, view, topicOps))
			}
		}
		return resp
	}
	// Before v12 topics are asked by name only: a null name or a topic id
	// fails the request (InvalidRequestException).
	if req.Version < 12 {
		for _, rt := range req.Topics {
			if rt.Topic == nil || rt.TopicID != [16]byte{} {
				return metadataErrorResponse(req, kerr.InvalidRequest)
			}
		}
	}
	// From v12, once any topic id is given the request is by id and names
	// are ignored; an unknown id is UNKNOWN_TOPIC_ID without a name.
	var ids [][16]byte
	for _, rt := range req.Topics {
		if rt.TopicID != [16]byte{} && !slices.Contains(ids, rt.TopicID) {
			ids = append(ids, rt.TopicID)
		}
	}
	if len(ids) > 0 {
		for _, id := range ids {
			if name, found := s.cache.topicName(id); found {
				if t, ok := s.cache.topic(name); ok {
					resp.Topics = append(resp.Topics, s.metadataTopic(t, view, topicOps))
					continue
				}
			}
			out := kmsg.NewMetadataResponseTopic()
			out.TopicID, out.ErrorCode = id, kerr.UnknownTopicID.Code
			out.AuthorizedOperations = authorizedOperationsOmitted
			resp.Topics = append(resp.Topics, out)
		}
		return resp
	}
	allowAuto := s.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	var toCreate []string
	created := map[string]int{} // topic to be created -> its answer's index
	seen := map[string]bool{}   // Kafka answers from a set of names
	for _, rt := range req.Topics {
		if rt.Topic == nil {
			out := kmsg.NewMetadataResponseTopic()
			out.ErrorCode = kerr.UnknownTopicID.Code
			out.AuthorizedOperations = authorizedOperationsOmitted
			resp.Topics = append(resp.Topics, out)
			continue
		}
		name := *rt.Topic
		if seen[name] {
			continue
		}
		seen[name] = true
		if t, ok := s.cache.topic(name); ok {
			resp.Topics = append(resp.Topics, s.metadataTopic(t, view, topicOps))
			continue
		}
		out := kmsg.NewMetadataResponseTopic()
		out.Topic = kmsg.StringPtr(name)
		out.IsInternal = zkmeta.IsInternalTopic(name)
		out.AuthorizedOperations = topicOps
		switch {
		case zkmeta.ValidateTopicName(name) != nil:
			out.ErrorCode = kerr.InvalidTopicException.Code
		case allowAuto && (name == offsetsTopic || !out.IsInternal): // no transaction state topic yet
			created[name] = len(resp.Topics)
			toCreate = append(toCreate, name)
		default:
			out.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(toCreate) > 0 {
		for name, code := range s.autoCreateTopics(ctx, toCreate) {
			resp.Topics[created[name]].ErrorCode = code
		}
	}
	return resp
}

// metadataErrorResponse is MetadataRequest.getErrorResponse: every asked
// topic with the error (a null name as ""), nothing else.
func metadataErrorResponse(req *kmsg.MetadataRequest, err *kerr.Error) *kmsg.MetadataResponse {
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, rt := range req.Topics {
		out := kmsg.NewMetadataResponseTopic()
		out.Topic = kmsg.StringPtr(deref(rt.Topic))
		out.TopicID, out.ErrorCode = rt.TopicID, err.Code
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// metadataView is how ZkMetadataCache.getPartitionMetadata looks at the
// cache for one request: from its listener, with Metadata v0's
// errorUnavailableEndpoints and v6+'s errorUnavailableListeners.
type metadataView struct {
	listener          string
	filterUnavailable bool
	listenerErrors    bool
}

// metadataTopic is a known topic's answer (ZkMetadataCache.getPartitionMetadata).
func (s *Server) metadataTopic(t *cachedTopic, view metadataView, ops int32) kmsg.MetadataResponseTopic {
	out := kmsg.NewMetadataResponseTopic()
	name := t.Name
	out.Topic = &name
	out.TopicID = t.ID
	out.IsInternal = zkmeta.IsInternalTopic(t.Name)
	out.AuthorizedOperations = ops
	ids := make([]int32, 0, len(t.Partitions))
	for id := range t.Partitions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p := t.Partitions[id]
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = id
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = p.Replicas
		mp.ISR = p.ISR
		mp.OfflineReplicas = p.OfflineReplicas
		if view.filterUnavailable {
			mp.Replicas, mp.ISR = s.liveOnly(p.Replicas, view.listener), s.liveOnly(p.ISR, view.listener)
			if len(mp.Replicas) < len(p.Replicas) || len(mp.ISR) < len(p.ISR) {
				mp.ErrorCode = kerr.ReplicaNotAvailable.Code
			}
		}
		if _, ok := s.cache.aliveNode(p.Leader, view.listener); !ok {
			mp.Leader = -1
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
			if _, live := s.cache.broker(p.Leader); live && view.listenerErrors {
				mp.ErrorCode = kerr.ListenerNotFound.Code
			}
		}
		if mp.Replicas == nil {
			mp.Replicas = []int32{}
		}
		if mp.ISR == nil {
			mp.ISR = []int32{}
		}
		if mp.OfflineReplicas == nil {
			mp.OfflineReplicas = []int32{}
		}
		out.Partitions = append(out.Partitions, mp)
	}
	return out
}

// liveOnly is ids without the brokers that are not alive or lack the
// listener (maybeFilterAliveReplicas: hasAliveEndpoint).
func (s *Server) liveOnly(ids []int32, listener string) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if _, live := s.cache.aliveNode(id, listener); live {
			out = append(out, id)
		}
	}
	return out
}

// allTopicOperations is every TOPIC operation (AclEntry.supportedOperations;
// without an authorizer all are allowed): READ(3), WRITE(4), CREATE(5),
// DELETE(6), ALTER(7), DESCRIBE(8), DESCRIBE_CONFIGS(10), ALTER_CONFIGS(11).
const allTopicOperations = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

// autoCreateTopics asks the controller to create topics with the broker's
// num.partitions and default.replication.factor (__consumer_offsets with
// its own settings), without waiting for their leaders, and returns each
// topic's Metadata error (AutoTopicCreationManager.createTopicsInZk):
// created or already there (TOPIC_ALREADY_EXISTS, or REQUEST_TIMED_OUT with
// timeout 0) is LEADER_NOT_AVAILABLE, any other creation error is the
// answer, and a controller that could not be asked gives
// UNKNOWN_TOPIC_OR_PARTITION (the client retries).
func (s *Server) autoCreateTopics(ctx context.Context, topics []string) map[string]int16 {
	out := make(map[string]int16, len(topics))
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 0
	for _, t := range topics {
		out[t] = kerr.UnknownTopicOrPartition.Code
		if t == offsetsTopic {
			req.Topics = append(req.Topics, s.offsetsTopicRequest().Topics...)
			continue
		}
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = t
		rt.NumPartitions = s.cfg.NumPartitions
		rt.ReplicationFactor = s.cfg.DefaultReplicationFactor
		req.Topics = append(req.Topics, rt)
	}
	resp, err := s.createTopicsViaController(ctx, req)
	if err != nil {
		s.logger.Warn("auto topic creation failed", "topics", topics, "err", err)
		return out
	}
	for _, t := range resp.Topics {
		if _, asked := out[t.Topic]; !asked {
			continue
		}
		switch t.ErrorCode {
		case 0, kerr.TopicAlreadyExists.Code, kerr.RequestTimedOut.Code:
			if t.ErrorCode != kerr.TopicAlreadyExists.Code {
				s.logger.Info("auto-created topic", "topic", t.Topic)
			}
			out[t.Topic] = kerr.LeaderNotAvailable.Code
		default:
			s.logger.Warn("auto topic creation failed", "topic", t.Topic, "err", kerr.ErrorForCode(t.ErrorCode), "message", deref(t.ErrorMessage))
			out[t.Topic] = t.ErrorCode
		}
	}
	return out
}
