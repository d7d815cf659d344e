package broker

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
)

// partition is one replica hosted here. As leader it appends produced
// batches and serves fetches up to the high watermark.
//
// Replication is not built yet: a leader's HW follows its own LEO, so
// acks=all is complete once the leader's log has the batch.
type partition struct {
	topic   string
	index   int32
	topicID [16]byte
	log     *storage.Log

	mu          sync.Mutex // serialises appends and role changes
	initialized bool
	leading     bool
	stopped     bool
	leader      int32
	leaderEpoch int32
	isr         []int32
	replicas    []int32
	producers   *producerStateTable

	hw atomic.Int64

	waitMu  sync.Mutex
	waiters map[chan struct{}]struct{}
}

func newPartition(topic string, index int32, topicID [16]byte, log *storage.Log) *partition {
	return &partition{topic: topic, index: index, topicID: topicID, log: log, leader: -1, waiters: map[chan struct{}]struct{}{}}
}

func (p *partition) isLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leading && !p.stopped
}

func (p *partition) currentLeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// becomeLeaderOrFollower applies a LeaderAndIsr partition state. Leader
// epochs never go backwards: an older one is refused.
func (p *partition) becomeLeaderOrFollower(st partitionState, self int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.initialized && st.LeaderEpoch < p.leaderEpoch {
		return kerr.StaleControllerEpoch
	}
	p.initialized = true
	p.stopped = false
	p.leader, p.leaderEpoch = st.Leader, st.LeaderEpoch
	p.isr, p.replicas = slices.Clone(st.ISR), slices.Clone(st.Replicas)
	p.leading = st.Leader == self
	if p.leading {
		if p.producers == nil {
			table, err := loadProducerState(p.log)
			if err != nil {
				return fmt.Errorf("rebuilding producer state of %s-%d: %w", p.topic, p.index, err)
			}
			p.producers = table
		}
		p.setHighWatermark(p.log.LogEndOffset())
	}
	return nil
}

func (p *partition) stop() {
	p.mu.Lock()
	p.stopped = true
	p.leading = false
	p.mu.Unlock()
	p.wake()
}

// appendResult is what a produce learns of its append.
type appendResult struct {
	baseOffset     int64
	logStartOffset int64
}

// appendRecords validates a produce request's records for this partition
// and appends them: batch checks (CRC-32C, sizes, magic) first, then the
// topic's max.message.bytes, then the idempotent producer's sequence rules.
func (p *partition) appendRecords(records []byte) (appendResult, error) {
	batches, err := storage.ValidateBatches(records)
	if err != nil {
		switch {
		case errors.Is(err, storage.ErrCorruptMessage):
			return appendResult{}, kerr.CorruptMessage
		default:
			return appendResult{}, kerr.InvalidRecord
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leading || p.stopped {
		return appendResult{}, kerr.NotLeaderForPartition
	}
	// Topic configs are read per append: a config change applies at once.
	cfg := p.log.Config()
	for _, b := range batches {
		if b.Size() > int64(cfg.MaxMessageBytes) {
			return appendResult{}, kerr.MessageTooLarge
		}
	}
	if cfg.Compact() {
		if err := requireKeys(records); err != nil {
			return appendResult{}, err
		}
	}
	// Idempotence: a retried batch already in the log is answered with its
	// original offsets; anything else must continue its producer's sequence.
	if dup, ok := p.producers.findDuplicate(batches); ok {
		return appendResult{baseOffset: dup.firstOffset, logStartOffset: p.log.LogStartOffset()}, nil
	}
	if err := p.producers.validate(batches); err != nil {
		return appendResult{}, err
	}
	info, err := p.log.Append(records, p.leaderEpoch)
	if err != nil {
		return appendResult{}, fmt.Errorf("appending to %s-%d: %w", p.topic, p.index, err)
	}
	p.producers.commit(info.Batches)
	p.setHighWatermark(p.log.LogEndOffset())
	p.wake()
	return appendResult{baseOffset: info.FirstOffset, logStartOffset: p.log.LogStartOffset()}, nil
}

// setHighWatermark moves the HW; the log keeps retention below it.
func (p *partition) setHighWatermark(hw int64) {
	p.hw.Store(hw)
	p.log.SetHighWatermark(hw)
}

// highWatermark is the offset below which records are visible to consumers.
func (p *partition) highWatermark() int64 { return p.hw.Load() }

// addWaiter registers ch to be signalled on the next append.
func (p *partition) addWaiter(ch chan struct{}) {
	p.waitMu.Lock()
	p.waiters[ch] = struct{}{}
	p.waitMu.Unlock()
}

func (p *partition) removeWaiter(ch chan struct{}) {
	p.waitMu.Lock()
	delete(p.waiters, ch)
	p.waitMu.Unlock()
}

// wake signals every waiting fetch without blocking.
func (p *partition) wake() {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	for ch := range p.waiters {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// requireKeys is LogValidator's rule for compacted topics: every record
// needs a key ("Compacted topic cannot accept message without key").
// Compressed batches are decompressed to check.
func requireKeys(records []byte) error {
	recs, err := storage.Records(records)
	if err != nil {
		return kerr.CorruptMessage
	}
	for _, r := range recs {
		if r.KeyNull {
			return kerr.InvalidRecord
		}
	}
	return nil
}
