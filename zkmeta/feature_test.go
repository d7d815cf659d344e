package zkmeta

import (
	"maps"
	"testing"
)

// FeatureZNode.encode: Kafka 3.9's bytes, v2 with max_version_level only,
// v1 with both levels.
func TestEncodeFeatureZNode(t *testing.T) {
	for _, tc := range []struct {
		f    FeatureZNode
		want string
	}{
		{FeatureZNode{Version: 2, Enabled: true}, `{"features":{},"version":2,"status":1}`},
		{FeatureZNode{Version: 2}, `{"features":{},"version":2,"status":0}`},
		{FeatureZNode{Version: 2, Enabled: true, Features: map[string]int16{"b": 2, "a": 1}},
			`{"features":{"a":{"max_version_level":1},"b":{"max_version_level":2}},"version":2,"status":1}`},
		{FeatureZNode{Version: 1, Enabled: true, Features: map[string]int16{"a": 3}},
			`{"features":{"a":{"max_version_level":3,"min_version_level":3}},"version":1,"status":1}`},
	} {
		if got := string(EncodeFeatureZNode(tc.f)); got != tc.want {
			t.Errorf("EncodeFeatureZNode(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
}

// FeatureZNode.decode's checks.
func TestDecodeFeatureZNode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    FeatureZNode
		wantErr bool
	}{
		{in: `{"features":{},"version":2,"status":1}`, want: FeatureZNode{Version: 2, Enabled: true, Features: map[string]int16{}}},
		{in: `{"version":2,"status":0,"features":{"x":{"max_version_level":4}}}`, want: FeatureZNode{Version: 2, Features: map[string]int16{"x": 4}}},
		{in: `{"version":1,"status":1,"features":{"x":{"min_version_level":1,"max_version_level":4}}}`, want: FeatureZNode{Version: 1, Enabled: true, Features: map[string]int16{"x": 4}}},
		{in: `{"version":2,"status":1,"features":{"x":{"min_version_level":0,"max_version_level":4}}}`, want: FeatureZNode{Version: 2, Enabled: true, Features: map[string]int16{"x": 4}}},
		{in: ``, wantErr: true},
		{in: `{"features":{},"status":1}`, wantErr: true},                                                              // no version
		{in: `{"features":{},"version":3,"status":1}`, wantErr: true},                                                  // unsupported version
		{in: `{"features":{},"version":2}`, wantErr: true},                                                             // no status
		{in: `{"features":{},"version":2,"status":2}`, wantErr: true},                                                  // malformed status
		{in: `{"version":2,"status":1}`, wantErr: true},                                                                // no features
		{in: `{"features":{"x":{}},"version":2,"status":1}`, wantErr: true},                                            // no max
		{in: `{"features":{"x":{"max_version_level":0}},"version":2,"status":1}`, wantErr: true},                       // max < 1
		{in: `{"features":{"x":{"max_version_level":2}},"version":1,"status":1}`, wantErr: true},                       // v1 without min
		{in: `{"features":{"x":{"max_version_level":2,"min_version_level":3}},"version":1,"status":1}`, wantErr: true}, // v1 min > max
	} {
		got, err := DecodeFeatureZNode([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("DecodeFeatureZNode(%s) error %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if err == nil && (got.Version != tc.want.Version || got.Enabled != tc.want.Enabled || !maps.Equal(got.Features, tc.want.Features)) {
			t.Errorf("DecodeFeatureZNode(%s) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
