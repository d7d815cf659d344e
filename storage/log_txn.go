package storage

// Transactions on the log (KIP-98, KIP-890 part 1): the producer state's
// checks on every append (UnifiedLog.analyzeAndValidateProducerState), the
// markers, the last stable offset and the aborted-transaction index.
//
// Locking: l.mu guards l.producers and every segment's txnIndex. Appends
// analyse the producer state and apply it under l.mu with the write, so
// the state always reflects the log up to its end, on leaders and
// followers alike.

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"
)

// txnBatch is one batch of an append as the producer state sees it: its
// header and, for a control batch with a record, its marker.
type txnBatch struct {
	h         BatchHeader
	marker    endTxnMarker
	markerTs  int64
	hasMarker bool
}

// producerUpdate is what an append does to the producer state, computed
// before anything is written (UnifiedLog.analyzeAndValidateProducerState's
// updatedProducers and completedTxns).
type producerUpdate struct {
	infos     map[int64]*producerAppendInfo
	order     []int64 // producer ids in batch order
	completed []completedTxn
	// txnProducers wrote a transactional batch or marker: their KIP-890
	// verification entry goes (UnifiedLog.updateProducers).
	txnProducers []int64
}

// analyze validates batches against the producer state without changing
// it (UnifiedLog.analyzeAndValidateProducerState): for a client append, a
// batch already in the log is returned as dup and nothing else runs; the
// KIP-890 gate (client and coordinator origins) refuses a transactional
// data batch that would start a transaction with a guard that is not the
// producer's current one; then ProducerAppendInfo's rules per batch.
//
// The contract of this code base: guard 0 means the append was not
// verified and skips the gate (the broker verifies when
// transaction.partition.verification.enable is on).
func (m *producerStateManager) analyze(batches []txnBatch, origin appendOrigin, guard VerificationGuard) (*producerUpdate, *batchMetadata, error) {
	u := &producerUpdate{}
	for _, b := range batches {
		h := b.h
		if h.ProducerID < 0 {
			continue
		}
		if origin == originClient {
			if e, ok := m.producers[h.ProducerID]; ok {
				if dup, ok := e.findDuplicate(h); ok {
					return nil, &dup, nil
				}
			}
		}
		if origin != originReplication && h.IsTransactional() && !h.IsControl() && guard != 0 &&
			!m.hasOngoingTransaction(h.ProducerID) && m.verificationGuard(h.ProducerID) != guard {
			return nil, nil, fmt.Errorf("%w: record was not part of an ongoing transaction", ErrInvalidTxnState)
		}
		if u.infos == nil {
			u.infos = map[int64]*producerAppendInfo{}
		}
		a, ok := u.infos[h.ProducerID]
		if !ok {
			a = m.prepareUpdate(h.ProducerID, origin)
			u.infos[h.ProducerID] = a
			u.order = append(u.order, h.ProducerID)
		}
		switch {
		case !h.IsControl():
			if err := a.appendDataBatch(h); err != nil {
				return nil, nil, err
			}
		case b.hasMarker:
			ct, err := a.appendEndTxnMarker(b.marker, h.ProducerEpoch, h.BaseOffset, b.markerTs)
			if err != nil {
				return nil, nil, err
			}
			if ct != nil {
				u.completed = append(u.completed, *ct)
			}
		}
		// An empty control batch (its records cleaned away) changes nothing.
		if h.IsTransactional() {
			u.txnProducers = append(u.txnProducers, h.ProducerID)
		}
	}
	return u, nil, nil
}

// errTxnIndexWrite marks a failed .txnindex write: an I/O error.
var errTxnIndexWrite = errors.New("transaction index write failed")

// applyProducerUpdateLocked applies an append's producer state after its
// batches are written to seg (UnifiedLog.append): the producers, then each
// completed transaction in order with the LSO it leaves written in seg's
// transaction index when it aborted (writeIndex; a replay of batches whose
// index is already on disk does not write), then the map end offset.
func (l *Log) applyProducerUpdateLocked(u *producerUpdate, seg *segment, writeIndex bool, nextOffset int64) error {
	m := l.producers
	if u != nil {
		for _, pid := range u.order {
			m.update(u.infos[pid])
		}
		for _, pid := range u.txnProducers {
			delete(m.verification, pid)
		}
		for _, ct := range u.completed {
			lso := m.lastStableOffsetFor(ct)
			if ct.aborted && writeIndex {
				t := AbortedTxn{ProducerID: ct.producerID, FirstOffset: ct.firstOffset, LastOffset: ct.lastOffset, LastStableOffset: lso}
				if err := seg.txn.append(seg, t); err != nil {
					// UnifiedLog.append: the LEO has moved, the map end
					// offset and the LSO do not; recovery rebuilds the index.
					return fmt.Errorf("%w: %w: %w", ErrStorage, errTxnIndexWrite, err)
				}
			}
			if err := m.completeTxn(ct); err != nil {
				return err
			}
		}
	}
	m.lastMapOffset = max(m.lastMapOffset, nextOffset)
	return nil
}

// txnBatchesOf reads the markers of an append's control batches.
func txnBatchesOf(records []byte, hs []BatchHeader) ([]txnBatch, error) {
	out := make([]txnBatch, len(hs))
	pos := 0
	for i, h := range hs {
		out[i].h = h
		if h.IsControl() && h.ProducerID >= 0 {
			mk, ts, ok, err := readEndTxnMarker(records[pos:pos+int(h.Size())], h)
			if err != nil {
				return nil, err
			}
			out[i].marker, out[i].markerTs, out[i].hasMarker = mk, ts, ok
		}
		pos += int(h.Size())
	}
	return out, nil
}

// maxControlBatchBytes bounds a control batch read from disk while
// replaying: a marker batch is 78 bytes.
const maxControlBatchBytes = 1 << 20

// rebuildProducerStateLocked rebuilds the producer state from the log up
// to upTo (the LEO at load, the truncation point after a truncation): from
// an empty state at the log start, every batch with a producer id is
// replayed with origin replication (UnifiedLog.rebuildProducerState
// without a snapshot: ProducerStateManager.truncateAndReload, then
// loadProducersFromRecords). Segments marked txnStale (recovered at load)
// get their .txnindex rewritten while they are replayed
// (LogSegment.recover's updateTxnIndex), then fsynced.
//
// This is the one place that loads producer state: a snapshot loader
// starts the state from the newest snapshot at or below upTo instead
// (loadEntry, lastMapOffset) and replays from its offset; it must not
// start above the base of a txnStale segment.
func (l *Log) rebuildProducerStateLocked(upTo int64) error {
	m := newProducerStateManager()
	m.lastMapOffset = l.logStart
	l.producers = m
	return l.replayProducerStateLocked(upTo)
}

// replayProducerStateLocked applies the batches from l.producers'
// lastMapOffset to upTo.
func (l *Log) replayProducerStateLocked(upTo int64) error {
	m := l.producers
	from := m.lastMapOffset
	for i := l.segmentFor(from); i < len(l.segs) && l.segs[i].base < upTo; i++ {
		s := l.segs[i]
		start := int64(0)
		if from > s.base {
			start = s.lookup(from)
		}
		sc := newScanner(l.fs, s.log, start, s.size)
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				if errors.Is(err, ErrCorruptMessage) || errors.Is(err, ErrInvalidRecord) {
					// A batch a clean start did not check (Kafka does not
					// scan after a clean shutdown): reads stop there too.
					l.logger.Warn("producer state rebuilt only up to a corrupt batch", "segment", s.base, "position", sc.pos, "err", err)
					break
				}
				return fmt.Errorf("%w: rebuilding the producer state: %w", ErrStorage, err)
			}
			if !ok || h.BaseOffset >= upTo {
				break
			}
			if h.LastOffset() < from {
				continue
			}
			if h.ProducerID < 0 {
				m.lastMapOffset = max(m.lastMapOffset, h.NextOffset())
				continue
			}
			tb := txnBatch{h: h}
			if h.IsControl() {
				if h.Size() > maxControlBatchBytes {
					l.logger.Warn("skipping an oversized control batch while rebuilding the producer state", "offset", h.BaseOffset, "size", h.Size())
					continue
				}
				buf := make([]byte, h.Size())
				if _, err := l.fs.ReadAt(s.log, buf, pos); err != nil {
					return fmt.Errorf("%w: rebuilding the producer state: read %s at %d: %w", ErrStorage, s.log.Name(), pos, err)
				}
				mk, ts, ok, err := readEndTxnMarker(buf, h)
				if err != nil {
					l.logger.Warn("skipping an unreadable transaction marker while rebuilding the producer state", "offset", h.BaseOffset, "err", err)
					continue
				}
				tb.marker, tb.markerTs, tb.hasMarker = mk, ts, ok
			}
			u, _, err := m.analyze([]txnBatch{tb}, originReplication, 0)
			if err != nil {
				// Kafka fails the load here; a log a leader accepted never
				// holds such a batch, so it is logged and skipped.
				l.logger.Warn("skipping a batch inconsistent with the producer state while rebuilding it", "offset", h.BaseOffset, "producer_id", h.ProducerID, "err", err)
				continue
			}
			if err := l.applyProducerUpdateLocked(u, s, s.txnStale, h.NextOffset()); err != nil {
				return err
			}
		}
		if s.txnStale {
			if err := s.txn.sync(l.fs); err != nil {
				return fmt.Errorf("%w: %w", ErrStorage, err)
			}
			s.txnStale = false
		}
	}
	m.lastMapOffset = max(m.lastMapOffset, upTo)
	m.onHighWatermarkUpdated(l.highWatermark)
	return nil
}

// AppendAsLeaderVerified is AppendAsLeader with the KIP-890 guard the
// broker got from MaybeStartTransactionVerification and the coordinator's
// answer: a transactional batch that starts a transaction with a guard
// that no longer is the producer's (an abort marker, or another
// verification, came in between) fails with ErrInvalidTxnState. Guard 0
// skips the check.
func (l *Log) AppendAsLeaderVerified(records []byte, leaderEpoch int32, upConvert bool, guard VerificationGuard) (AppendInfo, error) {
	return l.appendValidated(records, leaderEpoch, upConvert, originClient, guard)
}

// AppendAsCoordinator appends a coordinator's records as the leader
// (AppendOrigin.COORDINATOR: the group coordinator's transactional offset
// commits): validated as a produce is, the producer epoch is checked but
// not the sequence, and no duplicate is looked for (every transactional
// offset commit of a transaction starts at sequence 0).
func (l *Log) AppendAsCoordinator(records []byte, leaderEpoch int32, guard VerificationGuard) (AppendInfo, error) {
	return l.appendValidated(records, leaderEpoch, false, originCoordinator, guard)
}

func (l *Log) appendValidated(records []byte, leaderEpoch int32, upConvert bool, origin appendOrigin, guard VerificationGuard) (AppendInfo, error) {
	records, _, err := validateAsLeader(records, l.Config(), filepath.Base(l.dir), upConvert, time.Now().UnixMilli())
	if err != nil {
		return AppendInfo{}, err
	}
	return l.appendAndMaybeFlush(records, appendParams{assign: true, leaderEpoch: leaderEpoch, origin: origin, guard: guard})
}

// AppendEndTxnMarker appends one transaction marker as the leader of
// leaderEpoch (WriteTxnMarkers: MemoryRecords.withEndTransactionMarker
// appended with AppendOrigin.COORDINATOR). The producer state validates
// it (ProducerAppendInfo.appendEndTxnMarker): an epoch older than the
// producer's is ErrInvalidProducerEpoch, a coordinator epoch older than
// the producer's last marker's is ErrTransactionCoordinatorFenced. The
// marker closes the producer's open transaction, if any; an abort gets
// its .txnindex entry.
func (l *Log) AppendEndTxnMarker(m EndTxnMarker, leaderEpoch int32) (AppendInfo, error) {
	b, err := BuildEndTxnMarker(m)
	if err != nil {
		return AppendInfo{}, err
	}
	return l.appendAndMaybeFlush(b, appendParams{assign: true, leaderEpoch: leaderEpoch, origin: originCoordinator})
}

// FirstUnstableOffset is the first offset of the earliest transaction
// that is open or whose marker is not yet below the high watermark, at
// least the log start offset (UnifiedLog.firstUnstableOffset); ok is
// false when there is none.
func (l *Log) FirstUnstableOffset() (int64, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.firstUnstableOffsetLocked()
}

func (l *Log) firstUnstableOffsetLocked() (int64, bool) {
	if l.producers == nil {
		return 0, false
	}
	off, ok := l.producers.firstUnstableOffset(l.highWatermark)
	if !ok {
		return 0, false
	}
	// UnifiedLog.maybeIncrementFirstUnstableOffset: never below the log start.
	return max(off, l.logStart), true
}

// LastStableOffset is the offset up to which read_committed consumers
// read (UnifiedLog.lastStableOffset): the first unstable offset if below
// the high watermark, else the high watermark. It follows the high
// watermark as it moves.
func (l *Log) LastStableOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if off, ok := l.firstUnstableOffsetLocked(); ok && off < l.highWatermark {
		return off
	}
	return l.highWatermark
}

// AbortedTransactions lists the aborted transactions overlapping
// [startOffset, upperBoundOffset) in marker order, from the .txnindex of
// the segment holding startOffset onward, stopping at the first entry
// whose LSO reached upperBoundOffset (UnifiedLog.collectAbortedTransactions).
func (l *Log) AbortedTransactions(startOffset, upperBoundOffset int64) ([]AbortedTxn, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, fmt.Errorf("%w: %w", ErrStorage, ErrClosed)
	}
	if startOffset < l.segs[0].base {
		return []AbortedTxn{}, nil // LocalLog: no floor segment
	}
	return l.collectAbortedLocked(l.segmentFor(startOffset), startOffset, upperBoundOffset), nil
}

func (l *Log) collectAbortedLocked(from int, startOffset, upperBound int64) []AbortedTxn {
	out := []AbortedTxn{}
	for _, s := range l.segs[from:] {
		var complete bool
		out, complete = s.txn.collect(startOffset, upperBound, out)
		if complete {
			break
		}
	}
	return out
}

// FetchAbortedTransactions is the aborted transactions a read_committed
// fetch at fetchOffset answers with the bytes of slice (a Read result):
// the upper bound is the offset of the first offset-index entry at or
// after the slice's end, else the next segment's base, else the LEO
// (LocalLog.addAbortedTransactions, LogSegment.fetchUpperBoundOffset). An
// empty slice has none.
func (l *Log) FetchAbortedTransactions(fetchOffset int64, slice FileSlice) ([]AbortedTxn, error) {
	if slice.Size <= 0 {
		return []AbortedTxn{}, nil
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, fmt.Errorf("%w: %w", ErrStorage, ErrClosed)
	}
	i := -1
	for j, s := range l.segs {
		if s.log == slice.File {
			i = j
			break
		}
	}
	if i < 0 {
		// The segment left the log meanwhile: bound by the LEO.
		if fetchOffset < l.segs[0].base {
			return []AbortedTxn{}, nil
		}
		return l.collectAbortedLocked(l.segmentFor(fetchOffset), fetchOffset, l.active().next), nil
	}
	s := l.segs[i]
	upper := s.next
	if i+1 < len(l.segs) {
		upper = l.segs[i+1].base
	}
	end := slice.Pos + slice.Size
	k := sort.Search(s.oidx.n, func(k int) bool { return int64(s.oidx.at(k).pos) >= end })
	if k < s.oidx.n {
		upper = s.base + int64(s.oidx.at(k).rel)
	}
	return l.collectAbortedLocked(i, fetchOffset, upper), nil
}

// ProducerInfo is one producer's state in a partition (DescribeProducers'
// ProducerState, UnifiedLog.activeProducers).
type ProducerInfo struct {
	ProducerID            int64
	ProducerEpoch         int16
	LastSequence          int32 // -1 if no batch is cached
	LastTimestamp         int64
	CoordinatorEpoch      int32
	CurrentTxnStartOffset int64 // -1 if no transaction is open
}

// ActiveProducers lists the producers the partition's state holds, by
// producer id.
func (l *Log) ActiveProducers() []ProducerInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.producers == nil {
		return nil
	}
	out := make([]ProducerInfo, 0, len(l.producers.producers))
	for pid, e := range l.producers.producers {
		out = append(out, ProducerInfo{ProducerID: pid, ProducerEpoch: e.epoch, LastSequence: e.lastSeq(),
			LastTimestamp: e.lastTimestamp, CoordinatorEpoch: e.coordinatorEpoch, CurrentTxnStartOffset: e.currentTxnFirstOffset})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProducerID < out[j].ProducerID })
	return out
}

// HasOngoingTransaction reports whether the producer has an open
// transaction in this partition (UnifiedLog.hasOngoingTransaction). Kafka
// 3.9 looks at the producer id only; producerEpoch is not compared.
func (l *Log) HasOngoingTransaction(producerID int64, producerEpoch int16) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.producers != nil && l.producers.hasOngoingTransaction(producerID)
}

// MaybeStartTransactionVerification is UnifiedLog's (KIP-890 part 1): 0
// (no verification needed) when the producer has an ongoing transaction
// here, else the guard of its verification entry, created if absent, with
// the lowest sequence and newest epoch seen. The broker verifies the
// partition with the transaction coordinator and appends with the guard.
func (l *Log) MaybeStartTransactionVerification(producerID int64, baseSequence int32, producerEpoch int16) VerificationGuard {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.producers == nil || l.producers.hasOngoingTransaction(producerID) {
		return 0
	}
	v := l.producers.maybeCreateVerification(producerID, baseSequence, producerEpoch, time.Now().UnixMilli(), func() VerificationGuard {
		l.guardSeq++
		return VerificationGuard(l.guardSeq)
	})
	return v.guard
}
