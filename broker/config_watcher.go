package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// configChangeExpiry is how old a /config/changes notification gets before
// brokers delete it (ZkNodeChangeNotificationListener's changeExpirationMs).
const configChangeExpiry = 15 * time.Minute

// watchConfigChanges is Kafka's ZkConfigManager for topics and brokers: it
// first applies every stored config (the dynamic broker configs of this
// broker and the cluster default, every topic's throttled replicas), then
// watches /config/changes, and for every config_change_<seq> newer than the
// last one processed re-reads the entity's config; a topic's new overrides
// go to its live logs at once, a broker's to the replication quotas, a
// user's SCRAM credentials to the credential cache. Client and ip configs
// (quotas) are not supported and their notifications skipped.
func (s *Server) watchConfigChanges(ctx context.Context) {
	last := int64(-1)
	backoff := time.Second
	synced := false
	for ctx.Err() == nil {
		if !synced {
			if err := s.loadAllDynamicConfigs(); err != nil {
				s.logger.Warn("reading stored dynamic configs failed; retrying", "err", err)
				if !sleepCtx(ctx, backoff) {
					return
				}
				continue
			}
			synced = true
		}
		names, events, err := s.zk.WatchConfigChanges()
		if err != nil {
			s.logger.Warn("watching config changes failed; retrying", "err", err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			continue
		}
		last = s.processConfigChanges(names, last)
		if err := s.zk.PurgeConfigChanges(names, time.Now().Add(-configChangeExpiry)); err != nil {
			s.logger.Debug("purging old config change notifications failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok && !sleepCtx(ctx, backoff) {
				return
			}
		}
	}
}

// processConfigChanges applies the notifications after last (names sorted
// by sequence) and returns the last sequence processed.
func (s *Server) processConfigChanges(names []string, last int64) int64 {
	for _, n := range names {
		seq, ok := zkmeta.ConfigChangeSeq(n)
		if !ok || seq <= last {
			continue
		}
		entity, err := s.zk.ConfigChange(n)
		if errors.Is(err, zkmeta.ErrNoNode) {
			last = seq // purged meanwhile by another broker
			continue
		}
		if err != nil {
			s.logger.Warn("reading config change notification failed", "notification", n, "err", err)
			return last // retried on the next watch event
		}
		last = seq
		entityType, name, _ := strings.Cut(entity, "/")
		if entityType == "brokers" && name != "" {
			if err := s.refreshBrokerConfig(name); err != nil {
				s.logger.Warn("applying broker config change failed", "broker", name, "err", err)
			}
			continue
		}
		if entityType == "users" && name != "" {
			if err := s.refreshUserCredentials(name); err != nil {
				s.logger.Warn("applying user config change failed", "user", name, "err", err)
			}
			continue
		}
		if entityType != "topics" || name == "" {
			s.logger.Debug("config change ignored: only topic and broker configs are dynamic here", "entity", entity)
			continue
		}
		if err := s.replicas.refreshTopicConfig(name); err != nil {
			s.logger.Warn("applying topic config change failed", "topic", name, "err", err)
			continue
		}
		if err := s.refreshTopicThrottles(name); err != nil {
			s.logger.Warn("applying topic throttles failed", "topic", name, "err", err)
		}
		s.logger.Info("applied topic config change", "topic", name, "notification", n)
	}
	return last
}

// sleepCtx waits d or until ctx ends; it reports whether to go on.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// defaultBrokerEntity is the znode name of the cluster-wide broker default
// (ZooKeeperInternals.DEFAULT_STRING).
const defaultBrokerEntity = "<default>"

// loadAllDynamicConfigs applies every stored config the broker reacts to,
// as ZkConfigManager.startup does before it processes notifications.
func (s *Server) loadAllDynamicConfigs() error {
	for _, name := range []string{defaultBrokerEntity, strconv.Itoa(int(s.cfg.BrokerID))} {
		if err := s.refreshBrokerConfig(name); err != nil {
			return err
		}
	}
	if err := s.loadAllUserCredentials(); err != nil {
		return err
	}
	topics, err := s.zk.Children("/config/topics")
	if errors.Is(err, zkmeta.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing topic configs: %w", err)
	}
	for _, t := range topics {
		if err := s.refreshTopicThrottles(t); err != nil {
			return err
		}
	}
	return nil
}

// refreshBrokerConfig re-reads /config/brokers/<name> when name is this
// broker's id or the default, and applies it (BrokerConfigHandler).
func (s *Server) refreshBrokerConfig(name string) error {
	perBroker := name != defaultBrokerEntity
	if perBroker {
		id, err := strconv.ParseInt(strings.TrimSpace(name), 10, 32)
		if err != nil || int32(id) != s.cfg.BrokerID {
			return nil // another broker's config
		}
	}
	s.dynamic.refreshMu.Lock()
	defer s.dynamic.refreshMu.Unlock()
	props, err := s.zk.EntityConfig("brokers", name)
	if err != nil {
		return fmt.Errorf("reading config of broker %s: %w", name, err)
	}
	// DynamicBrokerConfig.updateBrokerConfig / updateDefaultConfig, then the
	// reconfigurables: replication quotas, log defaults, the log cleaner
	// (restarted by RunLogCleaner).
	cleaner := s.logCleanerConfig()
	s.dynamic.set(perBroker, props)
	s.replicas.fetchers.quotas.setBrokerConfigs(perBroker, props)
	s.applyDynamicLogDefaults()
	if next := s.logCleanerConfig(); next.Threads != cleaner.Threads || next.Backoff != cleaner.Backoff ||
		next.DedupeBufferSize != cleaner.DedupeBufferSize || next.DedupeBufferLoadFactor != cleaner.DedupeBufferLoadFactor {
		s.dynamic.wakeCleaner()
	}
	s.logger.Info("applied dynamic broker config", "entity", name, "config", props)
	return nil
}

// refreshTopicThrottles re-reads the topic's throttled-replicas configs
// into the replication quotas (TopicConfigHandler.updateThrottledList).
func (s *Server) refreshTopicThrottles(topic string) error {
	if s.zk == nil {
		return nil
	}
	overrides, err := s.zk.TopicConfig(topic)
	if err != nil {
		return fmt.Errorf("reading config of topic %s: %w", topic, err)
	}
	s.replicas.fetchers.quotas.setTopicConfig(topic, overrides)
	return nil
}
