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

	allTopics := req.Topics == nil || (req.Version == 0 && len(req.Topics) == 0)
	if allTopics {
		for _, name := range s.cache.topicNames() {
			t, ok := s.cache.topic(name)
			if ok {
				resp.Topics = append(resp.Topics, s.metadataTopic(t))
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
			resp.Topics = append(resp.Topics, s.metadataTopic(t))
			continue
		}
		out := kmsg.NewMetadataResponseTopic()
		out.Topic, out.TopicID = rt.Topic, rt.TopicID
		out.AuthorizedOperations = authorizedOperationsOmitted
		switch {
		case rt.Topic == nil:
			out.ErrorCode = kerr.UnknownTopicID.Code
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

func (s *Server) metadataTopic(t *cachedTopic) kmsg.MetadataResponseTopic {
	out := kmsg.NewMetadataResponseTopic()
	name := t.Name
	out.Topic = &name
	out.TopicID = t.ID
	out.IsInternal = zkmeta.IsInternalTopic(t.Name)
	out.AuthorizedOperations = authorizedOperationsOmitted
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
