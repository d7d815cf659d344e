package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// deleteTopicsController marks every topic it is asked for, answering
// with a message as the controller does, and records the names; unless
// keep, the topics leave the metadata cache at once (the controller's
// UpdateMetadata starting their deletion).
type deleteTopicsController struct {
	Controller
	cache    *metadataCache
	keep     bool
	asked    []string
	timeouts []int32
}

func (c *deleteTopicsController) Active() bool { return true }

func (c *deleteTopicsController) DeleteTopics(_ context.Context, req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteTopicsResponse)
	c.timeouts = append(c.timeouts, req.TimeoutMillis)
	for _, n := range req.TopicNames {
		c.asked = append(c.asked, n)
		if !c.keep {
			c.cache.update(c.cache.controller(), 1, c.cache.liveBrokers(),
				[]partitionUpdate{{Topic: n, Partition: 0, State: cachedPartition{Leader: leaderDuringDelete}}})
		}
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic, rt.TopicID = kmsg.StringPtr(n), [16]byte{1}
		rt.ErrorMessage = kmsg.StringPtr("controller message")
		resp.Topics = append(resp.Topics, rt)
	}
	for _, t := range req.Topics {
		c.asked = append(c.asked, "topics-field")
		_ = t
	}
	return resp
}

// DeleteTopics as KafkaApis.handleDeleteTopicsRequest answers it at each
// version: names and ids as asked (a resolved id gets its name), only
// error codes (never a message), deletion disabled INVALID_REQUEST before
// v3, both name and id INVALID_REQUEST for the whole request, an unknown
// id UNKNOWN_TOPIC_ID, a null name TOPIC_AUTHORIZATION_FAILED, a repeated
// name answered twice with the code on the first, timeout <= 0
// REQUEST_TIMED_OUT for a marked topic.
func TestDeleteTopicsVersions(t *testing.T) {
	type topic struct {
		name *string
		id   [16]byte
	}
	type answer struct {
		name *string
		id   [16]byte
		code *kerr.Error
	}
	name := kmsg.StringPtr
	tID := [16]byte{1}
	for _, tc := range []struct {
		testName  string
		version   int16
		keep      bool // the topic stays in the metadata cache
		disabled  bool
		notCtl    bool
		timeout   int32
		topics    []topic
		want      []answer
		wantAsked []string
	}{
		{testName: "v0 ok", version: 0, timeout: 1000, topics: []topic{{name: name("t")}},
			want: []answer{{name: name("t")}}, wantAsked: []string{"t"}},
		{testName: "v5 unknown name no message", version: 5, timeout: 1000, topics: []topic{{name: name("nope")}, {name: name("t")}},
			want: []answer{{name: name("nope"), code: kerr.UnknownTopicOrPartition}, {name: name("t")}}, wantAsked: []string{"t"}},
		{testName: "v5 repeated name", version: 5, timeout: 1000, topics: []topic{{name: name("t")}, {name: name("t")}},
			want: []answer{{name: name("t")}, {name: name("t")}}, wantAsked: []string{"t"}},
		{testName: "v5 timeout 0", version: 5, timeout: 0, topics: []topic{{name: name("t")}},
			want: []answer{{name: name("t"), code: kerr.RequestTimedOut}}, wantAsked: []string{"t"}},
		{testName: "v4 still in metadata", version: 4, keep: true, timeout: 1, topics: []topic{{name: name("t")}},
			want: []answer{{name: name("t"), code: kerr.RequestTimedOut}}, wantAsked: []string{"t"}},
		{testName: "v2 disabled", version: 2, disabled: true, timeout: 1000, topics: []topic{{name: name("nope")}},
			want: []answer{{name: name("nope"), code: kerr.InvalidRequest}}},
		{testName: "v3 disabled", version: 3, disabled: true, timeout: 1000, topics: []topic{{name: name("t")}},
			want: []answer{{name: name("t"), code: kerr.TopicDeletionDisabled}}},
		{testName: "v6 not controller", version: 6, notCtl: true, timeout: 1000, topics: []topic{{id: tID}},
			want: []answer{{id: tID, code: kerr.NotController}}},
		{testName: "v6 by id", version: 6, timeout: 1000, topics: []topic{{id: tID}},
			want: []answer{{name: name("t"), id: tID}}, wantAsked: []string{"t"}},
		{testName: "v6 by name keeps zero id", version: 6, timeout: 1000, topics: []topic{{name: name("t")}},
			want: []answer{{name: name("t")}}, wantAsked: []string{"t"}},
		{testName: "v6 unknown id", version: 6, timeout: 1000, topics: []topic{{id: [16]byte{9}}},
			want: []answer{{id: [16]byte{9}, code: kerr.UnknownTopicID}}},
		{testName: "v6 null name", version: 6, timeout: 1000, topics: []topic{{}},
			want: []answer{{code: kerr.TopicAuthorizationFailed}}},
		{testName: "v6 empty name", version: 6, timeout: 1000, topics: []topic{{name: name("")}},
			want: []answer{{name: name(""), code: kerr.UnknownTopicOrPartition}}},
		{testName: "v6 name and id", version: 6, timeout: 1000, topics: []topic{{name: name("t"), id: tID}, {name: name("x")}},
			want: []answer{{name: name("t"), id: tID, code: kerr.InvalidRequest}, {name: name("x"), code: kerr.InvalidRequest}}},
	} {
		t.Run(tc.testName, func(t *testing.T) {
			s := newCacheTestServer(t, 0)
			s.cfg.DeleteTopicEnable = !tc.disabled
			c := &deleteTopicsController{cache: s.cache, keep: tc.keep}
			if !tc.notCtl {
				s.SetController(c)
			}
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.Version, req.TimeoutMillis = tc.version, tc.timeout
			for _, tp := range tc.topics {
				if tc.version < 6 {
					req.TopicNames = append(req.TopicNames, *tp.name)
					continue
				}
				rt := kmsg.NewDeleteTopicsRequestTopic()
				rt.Topic, rt.TopicID = tp.name, tp.id
				req.Topics = append(req.Topics, rt)
			}
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleDeleteTopics(context.Background(), r.(*kmsg.DeleteTopicsRequest))
			}).(*kmsg.DeleteTopicsResponse)
			if len(resp.Topics) != len(tc.want) {
				t.Fatalf("%d answers, want %d: %+v", len(resp.Topics), len(tc.want), resp.Topics)
			}
			for i, w := range tc.want {
				r := resp.Topics[i]
				if (r.Topic == nil) != (w.name == nil) || (r.Topic != nil && *r.Topic != *w.name) {
					t.Errorf("answer %d: name %v, want %v", i, r.Topic, w.name)
				}
				if r.TopicID != w.id {
					t.Errorf("answer %d: id %x, want %x", i, r.TopicID, w.id)
				}
				if r.ErrorCode != errCode(w.code) {
					t.Errorf("answer %d: %v, want %v", i, kerr.ErrorForCode(r.ErrorCode), w.code)
				}
				if r.ErrorMessage != nil {
					t.Errorf("answer %d: message %q, want null", i, *r.ErrorMessage)
				}
			}
			if len(c.asked) != len(tc.wantAsked) || (len(c.asked) > 0 && c.asked[0] != tc.wantAsked[0]) {
				t.Errorf("controller asked for %v, want %v", c.asked, tc.wantAsked)
			}
			for _, to := range c.timeouts {
				if to != 0 {
					t.Errorf("controller asked to wait %dms; the broker waits on its metadata cache", to)
				}
			}
		})
	}
}
