package storage

// Transactions in the log cleaner (Kafka's LogCleaner CleanedTransactionMetadata,
// Cleaner.buildOffsetMapForSegment, the cleaner's RecordFilter and
// MemoryRecords.filterTo):
//   - cleaning stops at the last stable offset: an open transaction's data is
//     never compacted (LogCleanerManager.cleanableOffsets);
//   - data of aborted transactions is removed, and never shadows an older
//     committed value of its key in the offset map;
//   - a transaction marker stays while data of its transaction may remain;
//     the first pass that finds none gives it a delete horizon of
//     now + delete.retention.ms, and a pass after the horizon removes it,
//     unless it is its producer's last record (kept as an empty batch).
//
// The aborted transactions come from the segments' .txnindex files
// (collectAbortedTransactions), the producers' last records from the
// producer state; a cleaned segment gets a .txnindex of the aborted
// transactions whose markers it keeps with their data (cleanedIndex).

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
)

// Control record types (ControlRecordType).
const (
	controlTypeAbort  = 0
	controlTypeCommit = 1
)

// controlRecordType reads the type of a control batch's first record
// (ControlRecordType.parse: a key shorter than 4 bytes or with a negative
// version is invalid). ok is false for an empty control batch.
func controlRecordType(batch []byte, h BatchHeader) (typ int16, ok bool, err error) {
	body, err := Decompress(h.Compression(), batch[BatchHeaderSize:])
	if err != nil {
		return 0, false, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	var perr error
	err = walkRecords(body, func(ri recordInfo) bool {
		if ri.KeyNull || len(ri.Key) < 4 {
			perr = fmt.Errorf("%w: control record key of %d bytes", ErrInvalidRecord, len(ri.Key))
			return false
		}
		if v := int16(binary.BigEndian.Uint16(ri.Key)); v < 0 {
			perr = fmt.Errorf("%w: control record key version %d", ErrInvalidRecord, v)
			return false
		}
		typ, ok = int16(binary.BigEndian.Uint16(ri.Key[2:])), true
		return false
	})
	if err == nil {
		err = perr
	}
	if err != nil {
		return 0, false, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	return typ, ok, nil
}

// isLastRecordOfProducer is the cleaner's isBatchLastRecordOfProducer: the
// batch must stay (empty if need be) so the producer's state survives.
func (r *cleanRun) isLastRecordOfProducer(h BatchHeader) bool {
	if !h.HasProducerID() {
		return false
	}
	lr, ok := r.lastRecords[h.ProducerID]
	if !ok {
		return false
	}
	if lr.lastDataOffset >= 0 {
		return h.LastOffset() == lr.lastDataOffset
	}
	return h.IsControl() && h.ProducerEpoch == lr.epoch
}

// cleanedTxnMeta is Kafka's CleanedTransactionMetadata: the transaction
// state while the cleaner reads batches in offset order.
type cleanedTxnMeta struct {
	aborted          []AbortedTxn // not yet reached, by first offset
	ongoingAborted   map[int64]*ongoingAbort
	ongoingCommitted map[int64]bool
	// cleanedIndex collects the aborted transactions whose markers are
	// kept with their data (the cleaned segment's .txnindex entries).
	cleanedIndex []AbortedTxn
}

type ongoingAbort struct {
	txn          AbortedTxn
	observedData bool // lastObservedBatchOffset is defined
}

// newCleanedTxnMeta starts with the aborted transactions of the log
// (addAbortedTransactions: a min-heap by first offset).
func newCleanedTxnMeta(aborted []AbortedTxn) *cleanedTxnMeta {
	aborted = slices.Clone(aborted)
	sort.SliceStable(aborted, func(i, j int) bool { return aborted[i].FirstOffset < aborted[j].FirstOffset })
	return &cleanedTxnMeta{aborted: aborted, ongoingAborted: map[int64]*ongoingAbort{}, ongoingCommitted: map[int64]bool{}}
}

// consumeUpTo is consumeAbortedTxnsUpTo.
func (m *cleanedTxnMeta) consumeUpTo(offset int64) {
	for len(m.aborted) > 0 && m.aborted[0].FirstOffset <= offset {
		a := m.aborted[0]
		m.aborted = m.aborted[1:]
		if _, ok := m.ongoingAborted[a.ProducerID]; !ok {
			m.ongoingAborted[a.ProducerID] = &ongoingAbort{txn: a}
		}
	}
}

// onBatchRead is onBatchRead for a data batch: true when it belongs to an
// aborted transaction (it may be discarded).
func (m *cleanedTxnMeta) onBatchRead(h BatchHeader) bool {
	m.consumeUpTo(h.LastOffset())
	if !h.IsTransactional() {
		return false
	}
	if oa, ok := m.ongoingAborted[h.ProducerID]; ok {
		oa.observedData = true
		return true
	}
	m.ongoingCommitted[h.ProducerID] = true
	return false
}

// onControlBatchRead is onControlBatchRead: true when the marker may be
// discarded (no data of its transaction was seen in this pass).
func (m *cleanedTxnMeta) onControlBatchRead(batch []byte, h BatchHeader) (bool, error) {
	m.consumeUpTo(h.LastOffset())
	typ, ok, err := controlRecordType(batch, h)
	if err != nil {
		return false, err
	}
	if !ok {
		return true, nil // an empty control batch was already cleaned
	}
	switch typ {
	case controlTypeAbort:
		oa, ok := m.ongoingAborted[h.ProducerID]
		delete(m.ongoingAborted, h.ProducerID)
		if ok && oa.observedData {
			// Retain the marker until all batches of the transaction are gone.
			m.cleanedIndex = append(m.cleanedIndex, oa.txn)
			return false, nil
		}
		return true, nil
	case controlTypeCommit:
		seen := m.ongoingCommitted[h.ProducerID]
		delete(m.ongoingCommitted, h.ProducerID)
		return !seen, nil
	}
	return false, nil
}
