package broker

import (
	"context"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// finalizedFeatures is ZkMetadataCache's feature cache: the finalized
// features epoch is /feature's znode version. A ZooKeeper-mode broker never
// reports metadata.version as finalized (FinalizedFeatures with kraftMode
// false) and supports no other feature, so the list itself stays empty.
type finalizedFeatures struct {
	epoch int64
}

// watchFeature is FinalizedFeatureChangeListener: it reads /feature at
// start and on every change (existence watch), and keeps the cache that
// ApiVersions v3+ answers from.
func (s *Server) watchFeature(ctx context.Context) {
	const backoff = time.Second
	for ctx.Err() == nil {
		data, version, ok, events, err := s.zk.WatchFeature()
		if err != nil {
			s.logger.Warn("watching /feature failed; retrying", "err", err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			continue
		}
		s.applyFeatureZNode(data, version, ok)
		select {
		case <-ctx.Done():
			return
		case _, open := <-events:
			if !open && !sleepCtx(ctx, backoff) {
				return
			}
		}
	}
}

// applyFeatureZNode is FinalizedFeatureChangeListener.updateLatestOrThrow
// with ZkMetadataCache.updateFeaturesOrThrow: an absent, undecodable or
// disabled /feature clears the cache (epoch -1); an enabled one sets the
// epoch to its znode version, unless that is below the cached epoch or it
// finalizes a feature this broker does not support (every feature but
// metadata.version, which ZooKeeper mode drops): Kafka treats those as
// fatal, here the cache is left as it was and the error logged.
func (s *Server) applyFeatureZNode(data []byte, version int32, ok bool) {
	if !ok {
		s.logger.Info("feature ZK node /feature does not exist")
		s.features.Store(nil)
		return
	}
	f, err := zkmeta.DecodeFeatureZNode(data)
	if err != nil {
		s.logger.Error("unable to deserialize feature ZK node /feature", "err", err)
		s.features.Store(nil)
		return
	}
	if !f.Enabled {
		s.logger.Info("feature ZK node /feature is in disabled status")
		s.features.Store(nil)
		return
	}
	if cur := s.features.Load(); cur != nil && cur.epoch > int64(version) {
		s.logger.Error("finalized feature cache update failed: epoch went back", "cached", cur.epoch, "new", version)
		return
	}
	for name := range f.Features {
		if name != "metadata.version" {
			s.logger.Error("finalized feature cache update failed: unsupported finalized feature", "feature", name, "level", f.Features[name])
			return
		}
	}
	s.features.Store(&finalizedFeatures{epoch: int64(version)})
}
