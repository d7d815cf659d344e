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
// The aborted transactions and the open ones (for the LSO) come from one
// scan of the batch headers, reading only the records of control batches:
// an aborted transaction is a producer's transactional data followed by
// its ABORT marker, which is what the .txnindex records. Once the cleaner
// has removed the aborted data the marker alone no longer makes an entry,
// as Kafka's cleaned index drops it.

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Control record types (ControlRecordType).
const (
	controlTypeAbort  = 0
	controlTypeCommit = 1
)

// abortedRange is one aborted transaction of a producer: its first data
// offset and its ABORT marker's offset (AbortedTxn).
type abortedRange struct {
	producerID, firstOffset, lastOffset int64
}

// producerLastRecord is what the cleaner must keep of an active producer
// (UnifiedLog.lastRecordsOfActiveProducers): the last data batch of its
// current epoch, or, without one, a control batch of that epoch.
type producerLastRecord struct {
	epoch    int16
	lastData int64 // -1: none in the current epoch
}

// txnScan is what one pass over the batch headers of the log finds.
type txnScan struct {
	aborted       []abortedRange // ordered by first offset
	firstUnstable int64          // first offset of the oldest open transaction, -1 if none
	lastRecords   map[int64]producerLastRecord
}

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

// scanTransactions walks every batch header of segs once.
func (r *cleanRun) scanTransactions(segs []segSnap) (txnScan, error) {
	res := txnScan{firstUnstable: -1, lastRecords: map[int64]producerLastRecord{}}
	open := map[int64]int64{} // producer -> first offset of its open transaction
	for _, s := range segs {
		if err := r.checkDone(); err != nil {
			return res, err
		}
		sc := newScanner(s.seg.fs, s.seg.log, 0, s.size)
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				return res, fmt.Errorf("scan producers: %w", err)
			}
			if !ok {
				break
			}
			if !h.HasProducerID() {
				continue
			}
			pid := h.ProducerID
			lr, known := res.lastRecords[pid]
			if !known || lr.epoch != h.ProducerEpoch {
				// ProducerStateEntry.maybeUpdateProducerEpoch: a new epoch
				// forgets the batches of the old one.
				lr = producerLastRecord{epoch: h.ProducerEpoch, lastData: -1}
			}
			if !h.IsControl() {
				lr.lastData = h.LastOffset()
				if _, isOpen := open[pid]; h.IsTransactional() && !isOpen {
					open[pid] = h.BaseOffset
				}
				res.lastRecords[pid] = lr
				continue
			}
			res.lastRecords[pid] = lr
			first, isOpen := open[pid]
			if !isOpen || h.RecordCount <= 0 {
				continue
			}
			if h.Size() > 1<<20 {
				return res, fmt.Errorf("%w: control batch at offset %d of %d bytes", ErrCorruptMessage, h.BaseOffset, h.Size())
			}
			batch := make([]byte, h.Size())
			if _, err := s.seg.fs.ReadAt(s.seg.log, batch, pos); err != nil {
				return res, r.readError(s, pos, err)
			}
			typ, ok, err := controlRecordType(batch, h)
			if err != nil {
				return res, err
			}
			if !ok || (typ != controlTypeAbort && typ != controlTypeCommit) {
				continue
			}
			if typ == controlTypeAbort {
				res.aborted = append(res.aborted, abortedRange{producerID: pid, firstOffset: first, lastOffset: h.LastOffset()})
			}
			delete(open, pid)
		}
	}
	for _, first := range open {
		if res.firstUnstable < 0 || first < res.firstUnstable {
			res.firstUnstable = first
		}
	}
	sort.SliceStable(res.aborted, func(i, j int) bool { return res.aborted[i].firstOffset < res.aborted[j].firstOffset })
	return res, nil
}

// isLastRecordOfProducer is the cleaner's isBatchLastRecordOfProducer: the
// batch must stay (empty if need be) so the producer's state survives.
func (r *cleanRun) isLastRecordOfProducer(h BatchHeader) bool {
	if !h.HasProducerID() {
		return false
	}
	lr, ok := r.txns.lastRecords[h.ProducerID]
	if !ok {
		return false
	}
	if lr.lastData >= 0 {
		return h.LastOffset() == lr.lastData
	}
	return h.IsControl() && h.ProducerEpoch == lr.epoch
}

// cleanedTxnMeta is Kafka's CleanedTransactionMetadata: the transaction
// state while the cleaner reads batches in offset order.
type cleanedTxnMeta struct {
	aborted          []abortedRange // not yet reached, by first offset
	ongoingAborted   map[int64]*ongoingAbort
	ongoingCommitted map[int64]bool
	// cleanedIndex collects the aborted transactions whose markers are
	// kept with their data (the cleaned segment's .txnindex entries).
	cleanedIndex []abortedRange
}

type ongoingAbort struct {
	txn          abortedRange
	observedData bool // lastObservedBatchOffset is defined
}

func newCleanedTxnMeta(aborted []abortedRange) *cleanedTxnMeta {
	return &cleanedTxnMeta{aborted: aborted, ongoingAborted: map[int64]*ongoingAbort{}, ongoingCommitted: map[int64]bool{}}
}

// consumeUpTo is consumeAbortedTxnsUpTo.
func (m *cleanedTxnMeta) consumeUpTo(offset int64) {
	for len(m.aborted) > 0 && m.aborted[0].firstOffset <= offset {
		a := m.aborted[0]
		m.aborted = m.aborted[1:]
		if _, ok := m.ongoingAborted[a.producerID]; !ok {
			m.ongoingAborted[a.producerID] = &ongoingAbort{txn: a}
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
