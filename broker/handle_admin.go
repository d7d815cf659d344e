package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic administration is served by the controller, as in Kafka's ZooKeeper
// mode: any other broker answers NOT_CONTROLLER and the client retries on
// the controller named in Metadata.

func (s *Server) handleCreateTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.CreateTopics(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode = kerr.NotController.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (s *Server) handleDeleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.DeleteTopics(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	add := func(name *string, id [16]byte) {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = name, id
		rt.ErrorCode = kerr.NotController.Code
		resp.Topics = append(resp.Topics, rt)
	}
	for _, n := range req.TopicNames {
		name := n
		add(&name, [16]byte{})
	}
	for _, t := range req.Topics {
		add(t.Topic, t.TopicID)
	}
	return resp
}

func (s *Server) handleCreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.CreatePartitions(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		rt.ErrorCode = kerr.NotController.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// ValidateTopicConfigs checks a new topic's config values against this
// broker's log defaults with storage's rules (LogConfig.validate); the
// controller's CreateTopics calls it last, as Kafka's validateTopicCreate.
func (s *Server) ValidateTopicConfigs(configs map[string]string) error {
	_, err := validateTopicConfigs(s.logs.DefaultConfig(), configs)
	return err
}
