package broker

import (
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// TestAlterConfigsWithoutZooKeeper: ZkAdminManager reads and writes configs
// through KafkaZkClient, which holds a call while ZooKeeper is unreachable
// (retryRequestsUntilConnected); the client's request times out. Ours
// answers each resource that needed ZooKeeper REQUEST_TIMED_OUT without a
// message, never UNKNOWN_SERVER_ERROR; what is refused before ZooKeeper is
// reached (an invalid value, another broker's id) keeps its own error; and
// once ZooKeeper is back the same request succeeds.
func TestAlterConfigsWithoutZooKeeper(t *testing.T) {
	var down atomic.Bool
	s := zkTestServer(t, func(_ zkmeta.Request, send func() error) error {
		if down.Load() {
			return zkmeta.ErrConnectionLoss // what a call gets while no server is reachable
		}
		return send()
	})
	knowPartition(s.cache, 0, 1, 1, []int32{1}, []int32{1}) // topic t

	incremental := func(typ kmsg.ConfigResourceType, name, key, value string) (int16, *string) {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = typ, name
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = key, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
		r.Configs = append(r.Configs, c)
		req.Resources = append(req.Resources, r)
		out := s.handleIncrementalAlterConfigs(req).(*kmsg.IncrementalAlterConfigsResponse).Resources[0]
		return out.ErrorCode, out.ErrorMessage
	}
	legacy := func(typ kmsg.ConfigResourceType, name, key, value string) (int16, *string) {
		req := kmsg.NewPtrAlterConfigsRequest()
		r := kmsg.NewAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = typ, name
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = key, kmsg.StringPtr(value)
		r.Configs = append(r.Configs, c)
		req.Resources = append(req.Resources, r)
		out := s.handleAlterConfigs(req).(*kmsg.AlterConfigsResponse).Resources[0]
		return out.ErrorCode, out.ErrorMessage
	}
	type call func(kmsg.ConfigResourceType, string, string, string) (int16, *string)
	cases := []struct {
		name  string
		call  call
		typ   kmsg.ConfigResourceType
		res   string
		key   string
		value string
		want  int16 // with ZooKeeper down; NONE once it is back unless refused before ZooKeeper
	}{
		{"incremental broker throttle", incremental, kmsg.ConfigResourceTypeBroker, "1", "follower.replication.throttled.rate", "1000", kerr.RequestTimedOut.Code},
		{"incremental broker default", incremental, kmsg.ConfigResourceTypeBroker, "", "leader.replication.throttled.rate", "1000", kerr.RequestTimedOut.Code},
		{"incremental topic", incremental, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "60000", kerr.RequestTimedOut.Code},
		{"alter broker throttle", legacy, kmsg.ConfigResourceTypeBroker, "1", "follower.replication.throttled.rate", "1000", kerr.RequestTimedOut.Code},
		{"alter topic", legacy, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "60000", kerr.RequestTimedOut.Code},
		{"alter topic invalid value", legacy, kmsg.ConfigResourceTypeTopic, "t", "retention.ms", "soon", kerr.InvalidConfig.Code},
		{"alter another broker", legacy, kmsg.ConfigResourceTypeBroker, "2", "follower.replication.throttled.rate", "1000", kerr.InvalidRequest.Code},
	}
	down.Store(true)
	for _, tc := range cases {
		code, msg := tc.call(tc.typ, tc.res, tc.key, tc.value)
		if code != tc.want {
			t.Errorf("%s without ZooKeeper: %v (%v), want %v", tc.name, kerr.ErrorForCode(code), errMsg(msg), kerr.ErrorForCode(tc.want))
		}
		if tc.want == kerr.RequestTimedOut.Code && msg != nil {
			t.Errorf("%s without ZooKeeper: message %q, want none", tc.name, *msg)
		}
	}
	down.Store(false)
	for _, tc := range cases {
		want := tc.want
		if want == kerr.RequestTimedOut.Code {
			want = 0
		}
		if code, msg := tc.call(tc.typ, tc.res, tc.key, tc.value); code != want {
			t.Errorf("%s with ZooKeeper back: %v (%v), want %v", tc.name, kerr.ErrorForCode(code), errMsg(msg), kerr.ErrorForCode(want))
		}
	}
}

func errMsg(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
