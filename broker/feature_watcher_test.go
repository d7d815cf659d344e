package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// ApiVersions v3+ answers the finalized features from /feature as a
// ZooKeeper-mode Kafka 3.9 broker does (FinalizedFeatureChangeListener,
// ZkMetadataCache.features, ApiVersionsResponse.createFinalizedFeatureKeys):
// no features, epoch = the znode's version while it is enabled, -1 when
// absent, disabled or undecodable; v0-v2 do not carry the fields.
func TestApiVersionsFinalizedFeatures(t *testing.T) {
	s := describeConfigsTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.watchFeature(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })

	zc, path := s.zk, zkmeta.FeaturePath
	ask := func(version int16) *kmsg.ApiVersionsResponse {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = version, "kafkazk", "1.0"
		return roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleApiVersions(r.(*kmsg.ApiVersionsRequest))
		}).(*kmsg.ApiVersionsResponse)
	}
	waitEpoch := func(step string, want int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for ask(4).FinalizedFeaturesEpoch != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: finalized features epoch %d, want %d", step, ask(4).FinalizedFeaturesEpoch, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for v := int16(0); v <= 4; v++ {
			resp := ask(v)
			wantV := want
			if v < 3 {
				wantV = -1 // not on the wire: the default
			}
			if resp.FinalizedFeaturesEpoch != wantV || len(resp.FinalizedFeatures) != 0 {
				t.Errorf("%s: v%d finalized features %v epoch %d, want none epoch %d", step, v, resp.FinalizedFeatures, resp.FinalizedFeaturesEpoch, wantV)
			}
		}
	}

	waitEpoch("absent", -1)
	if _, err := s.zk.EnableFeatureVersioning(); err != nil { // the controller's failover
		t.Fatal(err)
	}
	waitEpoch("created enabled", 0)
	if _, err := zc.Set(path, zkmeta.EncodeFeatureZNode(zkmeta.FeatureZNode{Version: 2}), -1); err != nil {
		t.Fatal(err)
	}
	waitEpoch("disabled", -1)
	if _, err := zc.Set(path, zkmeta.EncodeFeatureZNode(zkmeta.FeatureZNode{Version: 2, Enabled: true}), -1); err != nil {
		t.Fatal(err)
	}
	waitEpoch("enabled again", 2)
	if _, err := zc.Set(path, []byte(`{"features":{},"version":7,"status":1}`), -1); err != nil {
		t.Fatal(err)
	}
	waitEpoch("undecodable", -1)
	if _, err := zc.Set(path, zkmeta.EncodeFeatureZNode(zkmeta.FeatureZNode{Version: 2, Enabled: true,
		Features: map[string]int16{"metadata.version": 21}}), -1); err != nil {
		t.Fatal(err)
	}
	waitEpoch("metadata.version only (dropped in ZooKeeper mode)", 4)
	if err := zc.Delete(path, -1); err != nil {
		t.Fatal(err)
	}
	waitEpoch("deleted", -1)
}

// A finalized feature a ZooKeeper-mode broker does not support, or an
// epoch going back, leaves the cache as it was (Kafka's
// updateFeaturesOrThrow refuses both; Kafka then exits the broker).
func TestApplyFeatureZNodeRefusals(t *testing.T) {
	s := newCacheTestServer(t, 0)
	enabled := zkmeta.EncodeFeatureZNode(zkmeta.FeatureZNode{Version: 2, Enabled: true})
	s.applyFeatureZNode(enabled, 5, true)
	s.applyFeatureZNode(enabled, 3, true)
	if f := s.features.Load(); f == nil || f.epoch != 5 {
		t.Fatalf("after an older epoch: %+v, want epoch 5", f)
	}
	s.applyFeatureZNode(zkmeta.EncodeFeatureZNode(zkmeta.FeatureZNode{Version: 2, Enabled: true,
		Features: map[string]int16{"kraft.version": 1}}), 6, true)
	if f := s.features.Load(); f == nil || f.epoch != 5 {
		t.Fatalf("after an unsupported feature: %+v, want epoch 5", f)
	}
}
