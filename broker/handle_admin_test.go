package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createTopicsController answers CreateTopics as a controller that finds
// every topic existing.
type createTopicsController struct {
	Controller
	asked []string
}

func (c *createTopicsController) Active() bool { return true }

func (c *createTopicsController) CreateTopics(_ context.Context, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		c.asked = append(c.asked, t.Topic)
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.ErrorCode = t.Topic, kerr.TopicAlreadyExists.Code
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// The broker leaves a new topic's config values to the controller, which
// checks them last (AdminZkClient.validateTopicCreate ends with
// LogConfig.validate) through Server.ValidateTopicConfigs: an existing
// topic asked with an invalid value is TOPIC_ALREADY_EXISTS.
func TestCreateTopicsLeavesConfigValuesToController(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	c := &createTopicsController{}
	s.SetController(c)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "exists", 1, 1
	cfg := kmsg.NewCreateTopicsRequestTopicConfig()
	cfg.Name, cfg.Value = "retention.ms", kmsg.StringPtr("soon")
	rt.Configs = append(rt.Configs, cfg)
	req.Topics = append(req.Topics, rt)
	resp := s.handleCreateTopics(context.Background(), req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.TopicAlreadyExists.Code || len(c.asked) != 1 {
		t.Fatalf("answer %+v, controller asked for %v; want the controller's TOPIC_ALREADY_EXISTS", resp.Topics, c.asked)
	}
	if err := s.ValidateTopicConfigs(map[string]string{"retention.ms": "soon"}); err == nil {
		t.Error("retention.ms=soon accepted")
	}
	if err := s.ValidateTopicConfigs(map[string]string{"retention.ms": "1000"}); err != nil {
		t.Errorf("retention.ms=1000: %v", err)
	}
}
