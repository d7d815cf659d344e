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
	resp := req.ResponseKind().(*kmsg.MetadataResponse)
	for _, b := range s.cache.liveBrokers() {
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
	v0 := req.Version == 0

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, name := range s.cache.topicNames() {
			t, ok := s.cache.topic(name)
			if ok {
				resp.Topics = append(resp.Topics, s.metadataTopic(t, v0, topicOps))
			}
		}
		return resp
	}
	allowAuto := s.cfg.AutoCreateTopics && (req.Version < 4 || req.AllowAutoTopicCreation)
	var toCreate []string
	for _, rt := range req.Topics {
		var t *cachedTopic
		ok := false
		switch {
		case rt.Topic != nil:
			t, ok = s.cache.topic(*rt.Topic)
		case rt.TopicID != [16]byte{}:
			if name, found := s.cache.topicName(rt.TopicID); found {
				t, ok = s.cache.topic(name)
			}
		}
		if ok {
			resp.Topics = append(resp.Topics, s.metadataTopic(t, v0, topicOps))
			continue
		}
		out := kmsg.NewMetadataResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		out.AuthorizedOperations = topicOps
		switch {
		case rt.Topic == nil:
			out.ErrorCode = kerr.UnknownTopicID.Code
			out.AuthorizedOperations = authorizedOperationsOmitted
		case zkmeta.ValidateTopicName(*rt.Topic) != nil:
			out.ErrorCode = kerr.InvalidTopicException.Code
		case allowAuto && !zkmeta.IsInternalTopic(*rt.Topic):
			out.ErrorCode = kerr.LeaderNotAvailable.Code
			toCreate = append(toCreate, *rt.Topic)
		default:
			out.ErrorCode = kerr.UnknownTopicOrPartition.Code
		}
		resp.Topics = append(resp.Topics, out)
	}
	if len(toCreate) > 0 {
		s.autoCreateTopics(ctx, toCreate)
	}
	return resp
}

// metadataTopic is a known topic's answer; filterUnavailable is Metadata
// v0's errorUnavailableEndpoints (ZkMetadataCache.getPartitionMetadata).
func (s *Server) metadataTopic(t *cachedTopic, filterUnavailable bool, ops int32) kmsg.MetadataResponseTopic {
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
		if filterUnavailable {
			mp.Replicas, mp.ISR = s.liveOnly(p.Replicas), s.liveOnly(p.ISR)
			if len(mp.Replicas) < len(p.Replicas) || len(mp.ISR) < len(p.ISR) {
				mp.ErrorCode = kerr.ReplicaNotAvailable.Code
			}
		}
		if _, live := s.cache.broker(p.Leader); !live {
			mp.Leader = -1
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
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

// liveOnly is ids without the brokers that are not alive.
func (s *Server) liveOnly(ids []int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if _, live := s.cache.broker(id); live {
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
// num.partitions and default.replication.factor, without waiting for their
// leaders; errors are logged (the client retries its Metadata request).
func (s *Server) autoCreateTopics(ctx context.Context, topics []string) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 0
	for _, t := range topics {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic = t
		rt.NumPartitions = s.cfg.NumPartitions
		rt.ReplicationFactor = s.cfg.DefaultReplicationFactor
		req.Topics = append(req.Topics, rt)
	}
	resp, err := s.createTopicsViaController(ctx, req)
	if err != nil {
		s.logger.Warn("auto topic creation failed", "topics", topics, "err", err)
		return
	}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 && t.ErrorCode != kerr.TopicAlreadyExists.Code {
			s.logger.Warn("auto topic creation failed", "topic", t.Topic, "err", kerr.ErrorForCode(t.ErrorCode))
		} else if t.ErrorCode == 0 {
			s.logger.Info("auto-created topic", "topic", t.Topic)
		}
	}
}
