package broker

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// leaderController creates every topic (or partition count) it is asked
// for, except the topic named "exists"; unless leaderless, the new
// partitions get a leader in the metadata cache at once (the controller's
// UpdateMetadata after KafkaController.onNewPartitionCreation).
type leaderController struct {
	Controller
	cache      *metadataCache
	leaderless bool
}

func (c *leaderController) Active() bool { return true }

func (c *leaderController) lead(topic string, n int32) {
	if c.leaderless {
		return
	}
	var parts []partitionUpdate
	for p := int32(0); p < n; p++ {
		parts = append(parts, partitionUpdate{Topic: topic, TopicID: [16]byte{7}, Partition: p,
			State: cachedPartition{Leader: 1, ISR: []int32{1}, Replicas: []int32{1}}})
	}
	c.cache.update(c.cache.controller(), 1, c.cache.liveBrokers(), parts)
}

func (c *leaderController) CreateTopics(_ context.Context, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic = t.Topic
		if t.Topic == "exists" {
			rt.ErrorCode, rt.ErrorMessage = kerr.TopicAlreadyExists.Code, kmsg.StringPtr("Topic 'exists' already exists.")
		} else {
			rt.TopicID, rt.NumPartitions, rt.ReplicationFactor = [16]byte{7}, 2, 1
			if !req.ValidateOnly {
				c.lead(t.Topic, 2)
			}
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func (c *leaderController) CreatePartitions(_ context.Context, req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse {
	resp := req.ResponseKind().(*kmsg.CreatePartitionsResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		if t.Topic == "exists" {
			rt.ErrorCode, rt.ErrorMessage = kerr.InvalidPartitions.Code, kmsg.StringPtr("Topic already has 3 partitions.")
		} else if !req.ValidateOnly {
			c.lead(t.Topic, t.Count)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// createTimeoutCase is one request of the timeout tables below.
type createTimeoutCase struct {
	timeout      int32
	validateOnly bool
	leaderless   bool
	wantTimedOut bool // the created topic answers REQUEST_TIMED_OUT
}

// The timeout cases of ZkAdminManager.createTopics/createPartitions: with
// timeout <= 0 (not validate_only) a created topic is REQUEST_TIMED_OUT
// at once; validate_only answers NONE; with a timeout the answer waits
// (DelayedCreatePartitions) until every partition has a leader in the
// metadata cache, and a topic still leaderless when the timeout passes is
// REQUEST_TIMED_OUT. A topic that failed keeps its error.
var createTimeoutCases = []createTimeoutCase{
	{timeout: 0, wantTimedOut: true},
	{timeout: -1, wantTimedOut: true},
	{timeout: 0, validateOnly: true},
	{timeout: -1, validateOnly: true, leaderless: true},
	{timeout: 60000},
	{timeout: 30, leaderless: true, wantTimedOut: true},
	{timeout: 30, validateOnly: true, leaderless: true},
}

// CreateTopics per version: a REQUEST_TIMED_OUT topic has a null message
// and, from v5, the configs, num_partitions and replication_factor that
// KafkaApis.handleCreateTopicsResults resets (empty, -1, -1,
// topic_config_error_code NONE); its topic id (v7) stays.
func TestCreateTopicsTimeoutVersions(t *testing.T) {
	for version := int16(0); version <= 7; version++ {
		for _, tc := range createTimeoutCases {
			name := fmt.Sprintf("v%d timeout=%d validate_only=%v leaderless=%v", version, tc.timeout, tc.validateOnly, tc.leaderless)
			s := newReplicaTestServer(t, 1, t.TempDir())
			s.SetController(&leaderController{cache: s.cache, leaderless: tc.leaderless})
			req := kmsg.NewPtrCreateTopicsRequest()
			req.Version, req.TimeoutMillis = version, tc.timeout
			if version >= 1 {
				req.ValidateOnly = tc.validateOnly
			} else if tc.validateOnly {
				continue
			}
			for _, n := range []string{"new", "exists"} {
				rt := kmsg.NewCreateTopicsRequestTopic()
				rt.Topic, rt.NumPartitions, rt.ReplicationFactor = n, 2, 1
				req.Topics = append(req.Topics, rt)
			}
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleCreateTopics(context.Background(), r.(*kmsg.CreateTopicsRequest))
			}).(*kmsg.CreateTopicsResponse)
			if len(resp.Topics) != 2 {
				t.Fatalf("%s: %d answers", name, len(resp.Topics))
			}
			created, failed := resp.Topics[0], resp.Topics[1]
			if failed.ErrorCode != kerr.TopicAlreadyExists.Code {
				t.Errorf("%s: failed topic %v, want TOPIC_ALREADY_EXISTS", name, kerr.ErrorForCode(failed.ErrorCode))
			}
			if version >= 1 && (failed.ErrorMessage == nil || *failed.ErrorMessage != "Topic 'exists' already exists.") {
				t.Errorf("%s: failed topic message %v", name, failed.ErrorMessage)
			}
			if !tc.wantTimedOut {
				if created.ErrorCode != 0 {
					t.Errorf("%s: created topic %v, want NONE", name, kerr.ErrorForCode(created.ErrorCode))
				}
				if version >= 5 && (created.NumPartitions != 2 || created.ReplicationFactor != 1 || len(created.Configs) == 0) {
					t.Errorf("%s: counts %d/%d, %d configs", name, created.NumPartitions, created.ReplicationFactor, len(created.Configs))
				}
				continue
			}
			if created.ErrorCode != kerr.RequestTimedOut.Code || created.ErrorMessage != nil {
				t.Errorf("%s: created topic %v %v, want REQUEST_TIMED_OUT without message", name, kerr.ErrorForCode(created.ErrorCode), created.ErrorMessage)
			}
			if version >= 5 && (created.NumPartitions != -1 || created.ReplicationFactor != -1 || len(created.Configs) != 0 || created.ConfigErrorCode != 0) {
				t.Errorf("%s: counts %d/%d, %d configs, config error %d; want -1/-1, none, 0", name,
					created.NumPartitions, created.ReplicationFactor, len(created.Configs), created.ConfigErrorCode)
			}
			if version >= 7 && created.TopicID != ([16]byte{7}) {
				t.Errorf("%s: topic id %x, want it kept", name, created.TopicID)
			}
		}
	}
}

// CreatePartitions per version: the same timeout rules, and a
// REQUEST_TIMED_OUT topic has a null message.
func TestCreatePartitionsTimeoutVersions(t *testing.T) {
	for version := int16(0); version <= 3; version++ {
		for _, tc := range createTimeoutCases {
			name := fmt.Sprintf("v%d timeout=%d validate_only=%v leaderless=%v", version, tc.timeout, tc.validateOnly, tc.leaderless)
			s := newReplicaTestServer(t, 1, t.TempDir())
			s.SetController(&leaderController{cache: s.cache, leaderless: tc.leaderless})
			req := kmsg.NewPtrCreatePartitionsRequest()
			req.Version, req.TimeoutMillis, req.ValidateOnly = version, tc.timeout, tc.validateOnly
			for _, n := range []string{"new", "exists"} {
				rt := kmsg.NewCreatePartitionsRequestTopic()
				rt.Topic, rt.Count = n, 3
				req.Topics = append(req.Topics, rt)
			}
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleCreatePartitions(context.Background(), r.(*kmsg.CreatePartitionsRequest))
			}).(*kmsg.CreatePartitionsResponse)
			codes := map[string]int16{}
			for _, r := range resp.Topics {
				codes[r.Topic] = r.ErrorCode
				if r.Topic == "new" && r.ErrorMessage != nil {
					t.Errorf("%s: message %q, want null", name, *r.ErrorMessage)
				}
			}
			want := int16(0)
			if tc.wantTimedOut {
				want = kerr.RequestTimedOut.Code
			}
			if len(resp.Topics) != 2 || codes["new"] != want || codes["exists"] != kerr.InvalidPartitions.Code {
				t.Errorf("%s: answers %+v, want new=%v exists=INVALID_PARTITIONS", name, resp.Topics, kerr.ErrorForCode(want))
			}
		}
	}
}
