package storage

import (
	"fmt"
	"math"
)

// numBatchesToRetain is how many recent batches per producer Kafka keeps for
// duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN), matching a
// producer's max.in.flight.requests.per.connection of 5.
const numBatchesToRetain = 5

// batchMetadata identifies an appended batch of an idempotent producer
// (Kafka's BatchMetadata).
type batchMetadata struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
	timestamp               int64 // the batch's max timestamp as appended
}

// producerStateEntry is one producer's state in a partition
// (ProducerStateEntry): its epoch and its last batches.
type producerStateEntry struct {
	epoch   int16
	batches []batchMetadata // oldest first, at most numBatchesToRetain
	// coordinatorEpoch is the coordinator epoch of the producer's last
	// transaction marker, -1 before any (ProducerStateEntry.coordinatorEpoch).
	coordinatorEpoch int32
	// currentTxnFirstOffset is the offset of the first batch of the
	// producer's open transaction, -1 when none is open
	// (ProducerStateEntry.currentTxnFirstOffset).
	currentTxnFirstOffset int64
	// lastTimestamp is the max timestamp of the producer's last batch or
	// marker (ProducerStateEntry.lastTimestamp), used by producer-id expiry.
	lastTimestamp int64
}

// newProducerStateEntry is an entry with no batch, marker or transaction yet
// (ProducerStateEntry.empty).
func newProducerStateEntry(epoch int16) *producerStateEntry {
	return &producerStateEntry{epoch: epoch, coordinatorEpoch: -1, currentTxnFirstOffset: -1, lastTimestamp: -1}
}

func (e *producerStateEntry) lastSeq() int32 {
	if len(e.batches) == 0 {
		return -1
	}
	return e.batches[len(e.batches)-1].lastSeq
}

// producerStateManager tracks, per producer id, the epoch and last
// sequences written to one log (Kafka's ProducerStateManager, without
// snapshots or transactions yet). The Log owns it; Log.producerMu guards it.
type producerStateManager struct {
	producers map[int64]*producerStateEntry
}

func newProducerStateManager() *producerStateManager {
	return &producerStateManager{producers: map[int64]*producerStateEntry{}}
}

// update records an appended batch (ProducerAppendInfo.append then
// ProducerStateManager.update). Batches without a producer id and control
// batches leave the state as it is.
func (m *producerStateManager) update(h BatchHeader) {
	if h.ProducerID < 0 || h.IsControl() {
		return
	}
	e, ok := m.producers[h.ProducerID]
	if !ok || h.ProducerEpoch != e.epoch {
		e = newProducerStateEntry(h.ProducerEpoch)
		m.producers[h.ProducerID] = e
	}
	e.batches = append(e.batches, batchMetadata{
		firstSeq: h.BaseSequence, lastSeq: h.LastSequence(),
		firstOffset: h.BaseOffset, lastOffset: h.LastOffset(), timestamp: h.MaxTimestamp,
	})
	e.lastTimestamp = h.MaxTimestamp
	if len(e.batches) > numBatchesToRetain {
		e.batches = e.batches[len(e.batches)-numBatchesToRetain:]
	}
}

// findDuplicate reports a batch of the append that is already in the log
// (same producer, epoch and sequence range; ProducerStateEntry.findDuplicateBatch).
func (m *producerStateManager) findDuplicate(batches []BatchHeader) (batchMetadata, bool) {
	for _, b := range batches {
		if b.ProducerID < 0 {
			continue
		}
		e, ok := m.producers[b.ProducerID]
		if !ok || e.epoch != b.ProducerEpoch {
			continue
		}
		for _, bm := range e.batches {
			if bm.firstSeq == b.BaseSequence && bm.lastSeq == b.LastSequence() {
				return bm, true
			}
		}
	}
	return batchMetadata{}, false
}

// pendingProducer is the validated state of one producer within an append.
type pendingProducer struct {
	epoch   int16
	lastSeq int32
	known   bool
}

// validate checks each idempotent batch against its producer's state, as
// Kafka's ProducerAppendInfo.checkProducerEpoch and checkSequence do:
//   - an older epoch is fenced (INVALID_PRODUCER_EPOCH);
//   - a newer epoch must start at sequence 0, unless the producer is unknown;
//   - the same epoch must continue at lastSeq+1, unless the producer is unknown
//     (its state may have been removed by retention), which accepts any sequence.
func (m *producerStateManager) validate(batches []BatchHeader) error {
	pending := map[int64]*pendingProducer{}
	for _, b := range batches {
		if b.ProducerID < 0 {
			continue
		}
		pp, ok := pending[b.ProducerID]
		if !ok {
			pp = &pendingProducer{epoch: -1, lastSeq: -1}
			if e, ok := m.producers[b.ProducerID]; ok {
				pp.epoch, pp.lastSeq, pp.known = e.epoch, e.lastSeq(), true
			}
			pending[b.ProducerID] = pp
		}
		switch {
		case pp.known && b.ProducerEpoch < pp.epoch:
			return fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, b.ProducerID, b.ProducerEpoch, pp.epoch)
		case b.ProducerEpoch != pp.epoch:
			if b.BaseSequence != 0 && pp.known {
				return fmt.Errorf("%w: producer %d's new epoch %d starts at sequence %d, not 0", ErrOutOfOrderSequence, b.ProducerID, b.ProducerEpoch, b.BaseSequence)
			}
		case pp.known && !inSequence(pp.lastSeq, b.BaseSequence):
			return fmt.Errorf("%w: producer %d expected sequence %d, got %d", ErrOutOfOrderSequence, b.ProducerID, pp.lastSeq+1, b.BaseSequence)
		}
		pp.epoch, pp.lastSeq, pp.known = b.ProducerEpoch, b.LastSequence(), true
	}
	return nil
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}

// LoadProducerState rebuilds the producer state from the batches in the
// log, as Kafka does when no snapshot covers them
// (ProducerStateManager.truncateAndReload, UnifiedLog.loadProducerState).
// The partition calls it on becoming leader. State already loaded, and
// maintained by the leader's appends since, is kept; follower appends and
// truncations drop it, so it is rebuilt here.
func (l *Log) LoadProducerState() error {
	l.producerMu.Lock()
	defer l.producerMu.Unlock()
	// UnifiedLog.loadProducerState reads the log under
	// maybeHandleIOException.
	return l.ioErr("load producer state", l.loadProducerStateLocked())
}

// loadProducerStateLocked is LoadProducerState with l.producerMu held.
func (l *Log) loadProducerStateLocked() error {
	if l.producers != nil {
		return nil
	}
	m := newProducerStateManager()
	// UnifiedLog.rebuildProducerState: the newest snapshot, then only the
	// batches after it; then a snapshot at the end replayed to.
	from, snap, ok, err := l.loadProducerSnapshot()
	if err != nil {
		return fmt.Errorf("loading the producer snapshot: %w", err)
	}
	if ok {
		m.producers = snap
	} else {
		from = l.LogStartOffset()
	}
	end := from
	if from < l.LogEndOffset() {
		err = l.Batches(from, func(h BatchHeader) error {
			m.update(h)
			end = h.NextOffset()
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("rebuilding the producer state: %w", err)
	}
	l.producers = m
	if end > from {
		if err := l.snapshotProducersAt(end, true); err != nil {
			l.logger.Warn("could not write the producer snapshot after loading", "offset", end, "err", err)
		}
	}
	return nil
}

// invalidateProducerState drops the producer state, rebuilt from the log on
// the next LoadProducerState: the follower's appends and truncations do not
// maintain it. Called without l.mu (lock order: producerMu before mu).
func (l *Log) invalidateProducerState() {
	l.producerMu.Lock()
	l.producers = nil
	l.producerMu.Unlock()
}
