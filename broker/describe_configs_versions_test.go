package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeConfigs as ConfigHelper answers it: is_default is never set (v0
// answers false for every key); an unknown resource type fails the whole
// request (getErrorResponse: INVALID_REQUEST with its default message for
// every resource); BROKER_LOGGER names are checked as broker ids;
// CLIENT_METRICS is KRaft only.
func TestDescribeConfigsVersions(t *testing.T) {
	type res struct {
		typ  kmsg.ConfigResourceType
		name string
	}
	type want struct {
		code *kerr.Error
		msg  string
	}
	for _, tc := range []struct {
		name    string
		version int16
		res     []res
		want    []want
	}{
		{name: "v0 broker", version: 0, res: []res{{kmsg.ConfigResourceTypeBroker, "1"}}, want: []want{{}}},
		{name: "v1 unknown type fails all", version: 1,
			res:  []res{{kmsg.ConfigResourceTypeBroker, "1"}, {kmsg.ConfigResourceTypeUnknown, "x"}},
			want: []want{{kerr.InvalidRequest, kerr.InvalidRequest.Description}, {kerr.InvalidRequest, kerr.InvalidRequest.Description}}},
		{name: "v4 group type fails all", version: 4, res: []res{{kmsg.ConfigResourceTypeGroupConfig, "g"}},
			want: []want{{kerr.InvalidRequest, kerr.InvalidRequest.Description}}},
		{name: "v2 broker loggers", version: 2,
			res: []res{{kmsg.ConfigResourceTypeBrokerLogger, ""}, {kmsg.ConfigResourceTypeBrokerLogger, "one"},
				{kmsg.ConfigResourceTypeBrokerLogger, "5"}},
			want: []want{{kerr.InvalidRequest, "Broker id must not be empty"},
				{kerr.InvalidRequest, "Broker id must be an integer, but it is: one"},
				{kerr.InvalidRequest, "Unexpected broker id, expected 1 but received 5"}}},
		{name: "v3 client metrics", version: 3,
			res: []res{{kmsg.ConfigResourceTypeClientMetrics, ""}, {kmsg.ConfigResourceTypeClientMetrics, "sub"}},
			want: []want{{kerr.InvalidRequest, "Client metrics subscription name must not be empty"},
				{kerr.InvalidRequest, "Config type client-metrics is only supported on KRaft clusters"}}},
		{name: "v1 other broker", version: 1, res: []res{{kmsg.ConfigResourceTypeBroker, "2"}},
			want: []want{{kerr.InvalidRequest, "Unexpected broker id, expected 1 or empty string, but received 2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newReplicaTestServer(t, 1, t.TempDir())
			req := kmsg.NewPtrDescribeConfigsRequest()
			req.Version = tc.version
			for _, r := range tc.res {
				rr := kmsg.NewDescribeConfigsRequestResource()
				rr.ResourceType, rr.ResourceName = r.typ, r.name
				req.Resources = append(req.Resources, rr)
			}
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleDescribeConfigs(r.(*kmsg.DescribeConfigsRequest))
			}).(*kmsg.DescribeConfigsResponse)
			if len(resp.Resources) != len(tc.want) {
				t.Fatalf("%d answers, want %d", len(resp.Resources), len(tc.want))
			}
			for i, w := range tc.want {
				r := resp.Resources[i]
				if r.ResourceName != tc.res[i].name || r.ResourceType != tc.res[i].typ {
					t.Errorf("answer %d for %v %q", i, r.ResourceType, r.ResourceName)
				}
				if r.ErrorCode != errCode(w.code) {
					t.Errorf("answer %d: %v, want %v", i, kerr.ErrorForCode(r.ErrorCode), w.code)
				}
				if w.code != nil && (r.ErrorMessage == nil || *r.ErrorMessage != w.msg) {
					t.Errorf("answer %d: message %v, want %q", i, r.ErrorMessage, w.msg)
				}
				if w.code != nil && len(r.Configs) != 0 {
					t.Errorf("answer %d: error with %d configs", i, len(r.Configs))
				}
				if w.code == nil && len(r.Configs) == 0 {
					t.Errorf("answer %d: no configs", i)
				}
				for _, c := range r.Configs {
					if c.IsDefault {
						t.Errorf("answer %d: %s is_default true; Kafka never sets it", i, c.Name)
						break
					}
				}
			}
		})
	}
}
