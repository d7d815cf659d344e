package controller

import (
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// KafkaController.onControllerFailover -> enableFeatureVersioning (IBP 3.9
// >= 2.7): /feature is created enabled with no features (a ZooKeeper-mode
// broker's BrokerFeatures are empty) in FeatureZNode.encode's bytes; an
// existing one is kept when already enabled v2, rewritten otherwise
// (disabled -> enabled with no features; v1 -> v2 keeping enabled features).
func TestFailoverEnablesFeatureVersioning(t *testing.T) {
	for _, tc := range []struct {
		name        string
		existing    string // "" = absent
		want        string
		wantVersion int32
	}{
		{"absent", "", `{"features":{},"version":2,"status":1}`, 0},
		{"enabled v2 kept", `{"features":{},"version":2,"status":1}`, `{"features":{},"version":2,"status":1}`, 0},
		{"disabled", `{"features":{"x":{"max_version_level":2,"min_version_level":1}},"version":1,"status":0}`,
			`{"features":{},"version":2,"status":1}`, 1},
		{"enabled v1", `{"features":{"x":{"max_version_level":3,"min_version_level":1}},"version":1,"status":1}`,
			`{"features":{"x":{"max_version_level":3}},"version":2,"status":1}`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCluster(t, 1)
			if tc.existing != "" {
				if err := c.zk.CreateRecursive(zkmeta.FeaturePath, []byte(tc.existing), zkmeta.Persistent); err != nil {
					t.Fatal(err)
				}
			}
			c.start(Config{BrokerID: 100})
			data, st, err := c.zk.Get(zkmeta.FeaturePath)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.want || st.Version != tc.wantVersion {
				t.Errorf("/feature = %s (version %d), want %s (version %d)", data, st.Version, tc.want, tc.wantVersion)
			}
		})
	}
}

// An undecodable /feature fails the failover, as FeatureZNode.decode's
// exception fails Kafka's onControllerFailover (the controller resigns).
func TestFailoverMalformedFeatureZNode(t *testing.T) {
	c := newTestCluster(t, 1)
	if err := c.zk.CreateRecursive(zkmeta.FeaturePath, []byte(`{"features":{},"version":3,"status":1}`), zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	if _, err := c.zk.EnableFeatureVersioning(); err == nil {
		t.Fatal("EnableFeatureVersioning accepted version 3")
	}
}
