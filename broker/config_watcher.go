package broker

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// configChangeExpiry is how old a /config/changes notification gets before
// brokers delete it (ZkNodeChangeNotificationListener's changeExpirationMs).
const configChangeExpiry = 15 * time.Minute

// watchConfigChanges is Kafka's ZkConfigManager for topics: it watches
// /config/changes, and for every config_change_<seq> newer than the last
// one processed re-reads the entity's config; a topic's new overrides go to
// its live logs at once. Dynamic broker, user and client configs are not
// supported and their notifications are skipped.
func (s *Server) watchConfigChanges(ctx context.Context) {
	last := int64(-1)
	backoff := time.Second
	for ctx.Err() == nil {
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
		seq, ok := configChangeSeq(n)
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
		if entityType != "topics" || name == "" {
			s.logger.Debug("config change ignored: only topic configs are dynamic here", "entity", entity)
			continue
		}
		if err := s.replicas.refreshTopicConfig(name); err != nil {
			s.logger.Warn("applying topic config change failed", "topic", name, "err", err)
			continue
		}
		s.logger.Info("applied topic config change", "topic", name, "notification", n)
	}
	return last
}

func configChangeSeq(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, zkmeta.ConfigChangePrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil
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
