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
		return s.createTopicsValidated(ctx, c, req)
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

// createTopicsValidated checks each topic's config values with storage's
// rules (the controller cannot import storage) and passes the valid topics
// on; an invalid one gets INVALID_CONFIG, in request order.
func (s *Server) createTopicsValidated(ctx context.Context, c Controller, req *kmsg.CreateTopicsRequest) kmsg.Response {
	rejected := map[int]kmsg.CreateTopicsResponseTopic{}
	var valid []kmsg.CreateTopicsRequestTopic
	for i, t := range req.Topics {
		props := map[string]string{}
		for _, cfg := range t.Configs {
			if cfg.Value != nil {
				props[cfg.Name] = *cfg.Value
			}
		}
		if _, err := validateTopicConfigs(s.logs.DefaultConfig(), props); err != nil && unknownTopicConfig(props) == "" {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic = t.Topic
			rt.ErrorCode = kerr.InvalidConfig.Code
			msg := err.Error()
			rt.ErrorMessage = &msg
			rejected[i] = rt
			continue
		}
		valid = append(valid, t)
	}
	if len(rejected) == 0 {
		return c.CreateTopics(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	var forwarded []kmsg.CreateTopicsResponseTopic
	if len(valid) > 0 {
		sub := *req
		sub.Topics = valid
		r := c.CreateTopics(ctx, &sub)
		resp.ThrottleMillis = r.ThrottleMillis
		forwarded = r.Topics
	}
	for i := range req.Topics {
		if rt, ok := rejected[i]; ok {
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		if len(forwarded) > 0 {
			resp.Topics = append(resp.Topics, forwarded[0])
			forwarded = forwarded[1:]
		}
	}
	return resp
}
