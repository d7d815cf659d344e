package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type alterOp struct {
	name  string
	value *string
	op    kmsg.IncrementalAlterConfigOp
}

type alterRes struct {
	typ  kmsg.ConfigResourceType
	name string
	ops  []alterOp
}

type alterWant struct {
	code *kerr.Error
	msg  *string // nil: null message
}

// alterAnswer is one resource's answer, from either API's response.
type alterAnswer struct {
	code int16
	msg  *string
	typ  kmsg.ConfigResourceType
	name string
}

func checkAlterAnswers(t *testing.T, res []alterRes, got []alterAnswer, want []alterWant) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d answers, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.typ != res[i].typ || g.name != res[i].name {
			t.Errorf("answer %d for %v %q", i, g.typ, g.name)
		}
		if g.code != errCode(w.code) {
			t.Errorf("answer %d: %v, want %v", i, kerr.ErrorForCode(g.code), w.code)
		}
		if (g.msg == nil) != (w.msg == nil) || (g.msg != nil && *g.msg != *w.msg) {
			t.Errorf("answer %d: message %v, want %v", i, showMsg(g.msg), showMsg(w.msg))
		}
	}
}

func showMsg(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// AlterConfigs and IncrementalAlterConfigs as ConfigAdminManager.preprocess
// and ZkAdminManager answer them, at every version: a resource named twice
// fails each time, duplicate keys and null values fail the resource, a
// broker name is checked as this node's id, unknown types (and
// BROKER_LOGGER for the legacy API) are refused, CLIENT_METRICS is refused
// in ZooKeeper mode; an unknown operation on a broker is INVALID_REQUEST,
// on a topic UNKNOWN_SERVER_ERROR; operations are checked before the
// topic's existence.
func TestAlterConfigsVersions(t *testing.T) {
	msg := kmsg.StringPtr
	v := msg("1000")
	legacy := []alterRes{
		{kmsg.ConfigResourceTypeTopic, "a", nil},
		{kmsg.ConfigResourceTypeTopic, "a", nil},
		{kmsg.ConfigResourceTypeTopic, "b", nil},
		{kmsg.ConfigResourceTypeTopic, "c", []alterOp{{name: "retention.ms", value: v}, {name: "retention.ms", value: v}}},
		{kmsg.ConfigResourceTypeTopic, "d", []alterOp{{name: "retention.ms"}, {name: "segment.ms"}}},
		{kmsg.ConfigResourceTypeBroker, "one", nil},
		{kmsg.ConfigResourceTypeBroker, "5", nil},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", nil},
		{kmsg.ConfigResourceTypeUnknown, "x", nil},
		{kmsg.ConfigResourceTypeClientMetrics, "m", nil},
	}
	legacyWant := []alterWant{
		{kerr.InvalidRequest, msg("Each resource must appear at most once.")},
		{kerr.InvalidRequest, msg("Each resource must appear at most once.")},
		{kerr.UnknownTopicOrPartition, msg("The topic 'b' does not exist.")},
		{kerr.InvalidRequest, msg("Error due to duplicate config keys")},
		{kerr.InvalidRequest, msg("Null value not supported for : retention.ms, segment.ms")},
		{kerr.InvalidRequest, msg("Node id must be an integer, but it is: one")},
		{kerr.InvalidRequest, msg("Unexpected broker id, expected 1, but received 5")},
		{kerr.InvalidRequest, msg("Unknown resource type 8")},
		{kerr.InvalidRequest, msg("Unknown resource type 0")},
		{kerr.InvalidRequest, msg("AlterConfigs is only supported for topics and brokers, but resource type is CLIENT_METRICS")},
	}
	for version := int16(0); version <= 2; version++ {
		s := newReplicaTestServer(t, 1, t.TempDir())
		req := kmsg.NewPtrAlterConfigsRequest()
		req.Version = version
		for _, r := range legacy {
			rr := kmsg.NewAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = r.typ, r.name
			for _, o := range r.ops {
				c := kmsg.NewAlterConfigsRequestResourceConfig()
				c.Name, c.Value = o.name, o.value
				rr.Configs = append(rr.Configs, c)
			}
			req.Resources = append(req.Resources, rr)
		}
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleAlterConfigs(r.(*kmsg.AlterConfigsRequest))
		}).(*kmsg.AlterConfigsResponse)
		var got []alterAnswer
		for _, r := range resp.Resources {
			got = append(got, alterAnswer{r.ErrorCode, r.ErrorMessage, r.ResourceType, r.ResourceName})
		}
		t.Run("AlterConfigs v"+string(rune('0'+version)), func(t *testing.T) { checkAlterAnswers(t, legacy, got, legacyWant) })
	}

	incremental := []alterRes{
		{kmsg.ConfigResourceTypeTopic, "a", nil},
		{kmsg.ConfigResourceTypeTopic, "a", nil},
		{kmsg.ConfigResourceTypeTopic, "c", []alterOp{{name: "retention.ms", value: v}, {name: "retention.ms", op: kmsg.IncrementalAlterConfigOpDelete}}},
		{kmsg.ConfigResourceTypeTopic, "d", []alterOp{{name: "retention.ms"}, {name: "segment.ms", op: kmsg.IncrementalAlterConfigOpDelete}}},
		{kmsg.ConfigResourceTypeTopic, "e", []alterOp{{name: "segment.ms", op: kmsg.IncrementalAlterConfigOpDelete}}},
		{kmsg.ConfigResourceTypeTopic, "f", []alterOp{{name: "retention.ms", value: v, op: 7}}},
		{kmsg.ConfigResourceTypeBroker, "1", []alterOp{{name: "log.cleaner.backoff.ms", value: v, op: 7}}},
		{kmsg.ConfigResourceTypeTopic, "g", []alterOp{{name: "retention.ms", value: v, op: kmsg.IncrementalAlterConfigOpAppend}}},
		{kmsg.ConfigResourceTypeBroker, "one", nil},
		{kmsg.ConfigResourceTypeUnknown, "x", nil},
		{kmsg.ConfigResourceTypeClientMetrics, "m", nil},
	}
	incrementalWant := []alterWant{
		{kerr.InvalidRequest, msg("Each resource must appear at most once.")},
		{kerr.InvalidRequest, msg("Each resource must appear at most once.")},
		{kerr.InvalidRequest, msg("Error due to duplicate config keys")},
		{kerr.InvalidRequest, msg("Null value not supported for : retention.ms")},
		{kerr.UnknownTopicOrPartition, msg("The topic 'e' does not exist.")},
		{kerr.UnknownServerError, nil},
		{kerr.InvalidRequest, msg("Unknown operations type 7")},
		{kerr.InvalidConfig, msg("Config value append is not allowed for config key: retention.ms")},
		{kerr.InvalidRequest, msg("Node id must be an integer, but it is: one")},
		{kerr.InvalidRequest, msg("Unknown resource type 0")},
		{kerr.InvalidRequest, msg("AlterConfigs is only supported for topics and brokers, but resource type is CLIENT_METRICS")},
	}
	for version := int16(0); version <= 1; version++ {
		s := newReplicaTestServer(t, 1, t.TempDir())
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		req.Version = version
		for _, r := range incremental {
			rr := kmsg.NewIncrementalAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = r.typ, r.name
			for _, o := range r.ops {
				c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
				c.Name, c.Value, c.Op = o.name, o.value, o.op
				rr.Configs = append(rr.Configs, c)
			}
			req.Resources = append(req.Resources, rr)
		}
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleIncrementalAlterConfigs(r.(*kmsg.IncrementalAlterConfigsRequest))
		}).(*kmsg.IncrementalAlterConfigsResponse)
		var got []alterAnswer
		for _, r := range resp.Resources {
			got = append(got, alterAnswer{r.ErrorCode, r.ErrorMessage, r.ResourceType, r.ResourceName})
		}
		t.Run("IncrementalAlterConfigs v"+string(rune('0'+version)), func(t *testing.T) {
			checkAlterAnswers(t, incremental, got, incrementalWant)
		})
	}
}
