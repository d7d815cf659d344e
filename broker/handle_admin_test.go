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

// CreateTopics' answer per version (ZkAdminManager.createTopics,
// maybePopulateMetadataAndConfigs, populateIds): from v5 a created topic
// carries every topic config with its source (retention.ms given:
// DYNAMIC_TOPIC_CONFIG; cleanup.policy not given: DEFAULT_CONFIG); a
// validate_only answer has the configs and counts but no topic id.
func TestCreateTopicsResponseVersions(t *testing.T) {
	for _, tc := range []struct {
		version      int16
		validateOnly bool
		wantConfigs  bool
		wantID       [16]byte
	}{
		{version: 4},
		{version: 5, wantConfigs: true},
		{version: 5, validateOnly: true, wantConfigs: true},
		{version: 7, wantConfigs: true, wantID: [16]byte{7}},
		{version: 7, validateOnly: true, wantConfigs: true},
	} {
		s := newReplicaTestServer(t, 1, t.TempDir())
		s.SetController(&leaderController{cache: s.cache})
		req := kmsg.NewPtrCreateTopicsRequest()
		req.Version, req.ValidateOnly, req.TimeoutMillis = tc.version, tc.validateOnly, 1000
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "new", 1, 1
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = "retention.ms", kmsg.StringPtr("1000")
		rt.Configs = append(rt.Configs, cfg)
		req.Topics = append(req.Topics, rt)
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleCreateTopics(context.Background(), r.(*kmsg.CreateTopicsRequest))
		}).(*kmsg.CreateTopicsResponse)
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("v%d: answer %+v", tc.version, resp.Topics)
		}
		r := resp.Topics[0]
		if r.TopicID != tc.wantID {
			t.Errorf("v%d validate_only=%v: topic id %x, want %x", tc.version, tc.validateOnly, r.TopicID, tc.wantID)
		}
		sources := map[string]int8{}
		values := map[string]string{}
		for _, c := range r.Configs {
			sources[c.Name] = c.Source
			if c.Value != nil {
				values[c.Name] = *c.Value
			}
		}
		if !tc.wantConfigs {
			if len(r.Configs) != 0 {
				t.Errorf("v%d: %d configs, want none", tc.version, len(r.Configs))
			}
			continue
		}
		if values["retention.ms"] != "1000" || sources["retention.ms"] != int8(kmsg.ConfigSourceDynamicTopicConfig) {
			t.Errorf("v%d: retention.ms %q source %d", tc.version, values["retention.ms"], sources["retention.ms"])
		}
		if values["cleanup.policy"] != "delete" || sources["cleanup.policy"] != int8(kmsg.ConfigSourceDefaultConfig) {
			t.Errorf("v%d: cleanup.policy %q source %d", tc.version, values["cleanup.policy"], sources["cleanup.policy"])
		}
		if len(r.Configs) != len(topicConfigNames()) {
			t.Errorf("v%d: %d configs, want %d", tc.version, len(r.Configs), len(topicConfigNames()))
		}
	}
}

// CreatePartitions off the controller answers NOT_CONTROLLER without a
// message once per topic name, at every version
// (KafkaApis.handleCreatePartitionsRequest's map by name).
func TestCreatePartitionsNotControllerOncePerTopic(t *testing.T) {
	s := newCacheTestServer(t, 1)
	for version := int16(0); version <= 3; version++ {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.Version = version
		for _, name := range []string{"a", "b", "a"} {
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = name, 3
			req.Topics = append(req.Topics, rt)
		}
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleCreatePartitions(context.Background(), r.(*kmsg.CreatePartitionsRequest))
		}).(*kmsg.CreatePartitionsResponse)
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: %d answers, want 2 (one per topic): %+v", version, len(resp.Topics), resp.Topics)
		}
		for _, r := range resp.Topics {
			if r.ErrorCode != kerr.NotController.Code || r.ErrorMessage != nil {
				t.Errorf("v%d %s: %v %v, want NOT_CONTROLLER, null message", version, r.Topic, kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage)
			}
		}
	}
}
