package broker

import (
	"math"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
)

// numBatchesToRetain is how many recent batches per producer Kafka keeps for
// duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN), matching a
// producer's max.in.flight.requests.per.connection of 5.
const numBatchesToRetain = 5

// batchMetadata identifies an appended batch of an idempotent producer.
type batchMetadata struct {
	firstSeq, lastSeq       int32
	firstOffset, lastOffset int64
}

type producerEntry struct {
	epoch   int16
	batches []batchMetadata // oldest first, at most numBatchesToRetain
}

func (e *producerEntry) lastSeq() int32 {
	if len(e.batches) == 0 {
		return -1
	}
	return e.batches[len(e.batches)-1].lastSeq
}

// producerStateTable tracks, per producer id, the epoch and last sequences
// written to one partition. The partition's mutex guards it.
type producerStateTable struct {
	entries map[int64]*producerEntry
}

// loadProducerState rebuilds the table from the batches in the log, as
// Kafka does when no snapshot covers them.
func loadProducerState(log *storage.Log) (*producerStateTable, error) {
	t := &producerStateTable{entries: map[int64]*producerEntry{}}
	err := log.Batches(log.LogStartOffset(), func(h storage.BatchHeader) error {
		if h.ProducerID >= 0 && !h.IsControl() {
			t.record(h, h.BaseOffset)
		}
		return nil
	})
	return t, err
}

func (t *producerStateTable) record(h storage.BatchHeader, baseOffset int64) {
	e, ok := t.entries[h.ProducerID]
	if !ok || h.ProducerEpoch != e.epoch {
		e = &producerEntry{epoch: h.ProducerEpoch}
		t.entries[h.ProducerID] = e
	}
	e.batches = append(e.batches, batchMetadata{
		firstSeq: h.BaseSequence, lastSeq: h.LastSequence(),
		firstOffset: baseOffset, lastOffset: baseOffset + int64(h.LastOffsetDelta),
	})
	if len(e.batches) > numBatchesToRetain {
		e.batches = e.batches[len(e.batches)-numBatchesToRetain:]
	}
}

// findDuplicate reports a batch of the request that is already in the log
// (same producer, epoch and sequence range).
func (t *producerStateTable) findDuplicate(batches []storage.BatchHeader) (batchMetadata, bool) {
	for _, b := range batches {
		if b.ProducerID < 0 {
			continue
		}
		e, ok := t.entries[b.ProducerID]
		if !ok || e.epoch != b.ProducerEpoch {
			continue
		}
		for _, m := range e.batches {
			if m.firstSeq == b.BaseSequence && m.lastSeq == b.LastSequence() {
				return m, true
			}
		}
	}
	return batchMetadata{}, false
}

// pendingProducer is the validated state of one producer within a request.
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
func (t *producerStateTable) validate(batches []storage.BatchHeader) error {
	pending := map[int64]*pendingProducer{}
	for _, b := range batches {
		if b.ProducerID < 0 {
			continue
		}
		pp, ok := pending[b.ProducerID]
		if !ok {
			pp = &pendingProducer{epoch: -1, lastSeq: -1}
			if e, ok := t.entries[b.ProducerID]; ok {
				pp.epoch, pp.lastSeq, pp.known = e.epoch, e.lastSeq(), true
			}
			pending[b.ProducerID] = pp
		}
		switch {
		case pp.known && b.ProducerEpoch < pp.epoch:
			return kerr.InvalidProducerEpoch
		case b.ProducerEpoch != pp.epoch:
			if b.BaseSequence != 0 && pp.known {
				return kerr.OutOfOrderSequenceNumber
			}
		case pp.known && !inSequence(pp.lastSeq, b.BaseSequence):
			return kerr.OutOfOrderSequenceNumber
		}
		pp.epoch, pp.lastSeq, pp.known = b.ProducerEpoch, b.LastSequence(), true
	}
	return nil
}

// commit records the appended batches (with their assigned offsets).
func (t *producerStateTable) commit(appended []storage.BatchHeader) {
	for _, h := range appended {
		if h.ProducerID >= 0 && !h.IsControl() {
			t.record(h, h.BaseOffset)
		}
	}
}

func inSequence(last, next int32) bool {
	return next == last+1 || (last == math.MaxInt32 && next == 0)
}
