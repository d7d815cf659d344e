package storage

import (
	"context"
	"time"
)

// Producer-id expiry (KIP-854: producer.id.expiration.ms, checked every
// producer.id.expiration.check.interval.ms): an idle producer's state is
// dropped so the map does not grow without bound.

// Kafka's defaults (ProducerStateManagerConfig, KIP-854).
const (
	defaultProducerIDExpiration              = 24 * time.Hour
	defaultProducerIDExpirationCheckInterval = 10 * time.Minute
)

// RemoveExpiredProducers drops the producers with no open transaction whose
// last batch or marker timestamp is expiration or more before nowMs
// (ProducerStateManager.removeExpiredProducers / isProducerExpired). A
// producer with an open transaction never expires: its coordinator aborts
// the transaction on timeout. A log whose state is not loaded has nothing
// to expire; the snapshot it loads from is filtered at the next check.
func (l *Log) RemoveExpiredProducers(nowMs int64, expiration time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	m := l.producers
	for id, e := range m.producers {
		if producerExpired(e, nowMs, expiration) {
			delete(m.producers, id)
		}
	}
	exp := expiration.Milliseconds()
	// removeExpiredProducers also drops KIP-890 verification entries
	// older than the same expiration.
	for id, v := range m.verification {
		if nowMs-v.timestamp >= exp {
			delete(m.verification, id)
		}
	}
}

// WithProducerExpiration sets producer.id.expiration.ms and
// producer.id.expiration.check.interval.ms for the manager's Run; the
// defaults are Kafka's (1 day, 10 minutes).
func WithProducerExpiration(expiration, checkInterval time.Duration) ManagerOption {
	return func(m *Manager) {
		if expiration > 0 {
			m.producerExpiration = expiration
		}
		if checkInterval > 0 {
			m.producerExpirationCheck = checkInterval
		}
	}
}

// RemoveExpiredProducers runs one producer-id expiry pass over every open
// log at nowMs (UnifiedLog's PeriodicProducerExpirationCheck task). Run
// calls it every check interval; tests call it with their own clock.
func (m *Manager) RemoveExpiredProducers(nowMs int64) {
	exp := m.producerExpirationOrDefault()
	for _, ml := range m.logsSnapshot() {
		ml.log.RemoveExpiredProducers(nowMs, exp)
	}
}

// runProducerExpiry is Run's producer-id expiry loop.
func (m *Manager) runProducerExpiry(ctx context.Context) {
	every := m.producerExpirationCheck
	if every <= 0 {
		every = defaultProducerIDExpirationCheckInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.RemoveExpiredProducers(now.UnixMilli())
		}
	}
}

// producerExpirationOrDefault is producer.id.expiration.ms.
func (m *Manager) producerExpirationOrDefault() time.Duration {
	if m.producerExpiration > 0 {
		return m.producerExpiration
	}
	return defaultProducerIDExpiration
}

// producerExpired is ProducerStateManager.isProducerExpired: no open
// transaction and idle for expiration or more.
func producerExpired(e *producerStateEntry, nowMs int64, expiration time.Duration) bool {
	return e.currentTxnFirstOffset < 0 && nowMs-e.lastTimestamp >= expiration.Milliseconds()
}
