package storage

import (
	"fmt"
	"math"
	"sort"
)

// numBatchesToRetain is how many recent batches per producer Kafka keeps for
// duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN), matching a
// producer's max.in.flight.requests.per.connection of 5.
const numBatchesToRetain = 5

// appendOrigin is who writes an append (Kafka's AppendOrigin): it decides
// how much of the producer state is validated (ProducerAppendInfo).
type appendOrigin int8

const (
	// originClient: a produce request; epoch, sequence, duplicate and
	// transaction checks all apply.
	originClient appendOrigin = iota
	// originCoordinator: the transaction coordinator's markers (and the
	// group coordinator's appends): epoch and coordinator-epoch checks,
	// no sequence check.
	originCoordinator
	// originReplication: a follower's fetched batches, and the replay of
	// the log at load or after a truncation: fencing is only logged.
	originReplication
)

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

// lastDataOffset is the last offset of the producer's newest cached batch,
// -1 if none (ProducerStateEntry.lastDataOffset).
func (e *producerStateEntry) lastDataOffset() int64 {
	if len(e.batches) == 0 {
		return -1
	}
	return e.batches[len(e.batches)-1].lastOffset
}

// withoutBatches is a copy of e with no cached batch
// (ProducerStateEntry.withProducerIdAndBatchMetadata(id, empty)).
func (e *producerStateEntry) withoutBatches() *producerStateEntry {
	c := *e
	c.batches = nil
	return &c
}

// maybeUpdateEpoch adopts epoch, forgetting the batches of an older one
// (ProducerStateEntry.maybeUpdateProducerEpoch).
func (e *producerStateEntry) maybeUpdateEpoch(epoch int16) {
	if e.epoch != epoch {
		e.batches = nil
		e.epoch = epoch
	}
}

func (e *producerStateEntry) addBatchMetadata(bm batchMetadata) {
	if len(e.batches) == numBatchesToRetain {
		e.batches = append(e.batches[:0], e.batches[1:]...)
	}
	e.batches = append(e.batches, bm)
}

// addBatch is ProducerStateEntry.addBatch.
func (e *producerStateEntry) addBatch(epoch int16, bm batchMetadata) {
	e.maybeUpdateEpoch(epoch)
	e.addBatchMetadata(bm)
	e.lastTimestamp = bm.timestamp
}

// merge applies the state an append computed (ProducerStateEntry.update(next)).
func (e *producerStateEntry) merge(next *producerStateEntry) {
	e.maybeUpdateEpoch(next.epoch)
	for _, bm := range next.batches {
		e.addBatchMetadata(bm)
	}
	e.coordinatorEpoch = next.coordinatorEpoch
	e.currentTxnFirstOffset = next.currentTxnFirstOffset
	e.lastTimestamp = next.lastTimestamp
}

// findDuplicate is ProducerStateEntry.findDuplicateBatch: a cached batch of
// the same epoch with the same sequence range.
func (e *producerStateEntry) findDuplicate(h BatchHeader) (batchMetadata, bool) {
	if h.ProducerEpoch != e.epoch {
		return batchMetadata{}, false
	}
	last := h.LastSequence()
	for _, bm := range e.batches {
		if bm.firstSeq == h.BaseSequence && bm.lastSeq == last {
			return bm, true
		}
	}
	return batchMetadata{}, false
}

// txnMetadata is a transaction with data in this partition (TxnMetadata):
// ongoing until its marker, then unreplicated until the marker is below
// the high watermark.
type txnMetadata struct {
	producerID  int64
	firstOffset int64
	lastOffset  int64 // the marker's offset, -1 while ongoing
}

// completedTxn is a transaction a marker closed (CompletedTxn).
type completedTxn struct {
	producerID  int64
	firstOffset int64
	lastOffset  int64 // the marker's offset
	aborted     bool
}

// VerificationGuard is KIP-890's token that a transactional append was
// verified with the transaction coordinator (Kafka's VerificationGuard,
// compared by identity there; here every guard a log hands out is a new
// number). 0 is the sentinel: no verification.
type VerificationGuard uint64

// verificationStateEntry is VerificationStateEntry: the guard handed out
// for a producer without an ongoing transaction, the lowest sequence and
// the epoch seen while verifying.
type verificationStateEntry struct {
	guard          VerificationGuard
	timestamp      int64 // ms, when created (expired with the producers)
	lowestSequence int32
	epoch          int16
}

// maybeUpdate is VerificationStateEntry.maybeUpdateLowestSequenceAndEpoch.
func (v *verificationStateEntry) maybeUpdate(seq int32, epoch int16) {
	if epoch == v.epoch && seq < v.lowestSequence {
		v.lowestSequence = seq
	}
	if epoch > v.epoch {
		v.epoch, v.lowestSequence = epoch, seq
	}
}

// producerStateManager tracks, per producer id, the epoch, last sequences
// and open transaction of the producers that wrote to one log, and the
// transactions not yet stable (Kafka's ProducerStateManager). The Log owns
// it; l.mu guards it.
type producerStateManager struct {
	producers map[int64]*producerStateEntry
	// ongoing are the open transactions, sorted by first offset
	// (ProducerStateManager.ongoingTxns).
	ongoing []txnMetadata
	// unreplicated are the transactions whose marker is written but not
	// yet below the high watermark, sorted by first offset
	// (ProducerStateManager.unreplicatedTxns).
	unreplicated []txnMetadata
	// verification holds KIP-890 verification entries by producer id
	// (ProducerStateManager.verificationStates); not in snapshots.
	verification map[int64]*verificationStateEntry
	// lastMapOffset is the offset up to which the state reflects the log:
	// the next offset to apply (ProducerStateManager.lastMapOffset).
	lastMapOffset int64
}

func newProducerStateManager() *producerStateManager {
	return &producerStateManager{producers: map[int64]*producerStateEntry{}, verification: map[int64]*verificationStateEntry{}}
}

// truncateFullyAndStartAt forgets everything: the log restarts empty at
// offset (ProducerStateManager.truncateFullyAndStartAt).
func (m *producerStateManager) truncateFullyAndStartAt(offset int64) {
	m.producers = map[int64]*producerStateEntry{}
	m.ongoing, m.unreplicated = nil, nil
	m.verification = map[int64]*verificationStateEntry{}
	m.lastMapOffset = offset
}

// entries is the producers' state, for writing a snapshot. The map and
// its entries are the manager's own: read them under the log's lock.
func (m *producerStateManager) entries() map[int64]*producerStateEntry { return m.producers }

// loadEntry puts a producer's state read from a snapshot
// (ProducerStateManager.loadProducerEntry): an open transaction
// (currentTxnFirstOffset >= 0) becomes ongoing again.
func (m *producerStateManager) loadEntry(pid int64, e *producerStateEntry) {
	m.producers[pid] = e
	if e.currentTxnFirstOffset >= 0 {
		m.ongoing = insertTxn(m.ongoing, txnMetadata{producerID: pid, firstOffset: e.currentTxnFirstOffset, lastOffset: -1})
	}
}

// insertTxn adds t to txns sorted by first offset (a TreeMap put: a
// transaction with the same first offset is replaced).
func insertTxn(txns []txnMetadata, t txnMetadata) []txnMetadata {
	i := sort.Search(len(txns), func(i int) bool { return txns[i].firstOffset >= t.firstOffset })
	if i < len(txns) && txns[i].firstOffset == t.firstOffset {
		txns[i] = t
		return txns
	}
	txns = append(txns, txnMetadata{})
	copy(txns[i+1:], txns[i:])
	txns[i] = t
	return txns
}

// hasOngoingTransaction is UnifiedLog.hasOngoingTransaction: the producer
// has an open transaction in this partition.
func (m *producerStateManager) hasOngoingTransaction(pid int64) bool {
	e, ok := m.producers[pid]
	return ok && e.currentTxnFirstOffset >= 0
}

// maybeCreateVerification is maybeCreateVerificationStateEntry: the
// producer's verification entry, created with a new guard if absent, and
// its lowest sequence and epoch updated.
func (m *producerStateManager) maybeCreateVerification(pid int64, seq int32, epoch int16, nowMs int64, newGuard func() VerificationGuard) *verificationStateEntry {
	v, ok := m.verification[pid]
	if !ok {
		v = &verificationStateEntry{guard: newGuard(), timestamp: nowMs, lowestSequence: seq, epoch: epoch}
		m.verification[pid] = v
	}
	v.maybeUpdate(seq, epoch)
	return v
}

// verificationGuard is UnifiedLog.verificationGuard: the guard of the
// producer's verification entry, else the sentinel.
func (m *producerStateManager) verificationGuard(pid int64) VerificationGuard {
	if v, ok := m.verification[pid]; ok {
		return v.guard
	}
	return 0
}

// firstUnstableOffset is the first offset of the earliest transaction that
// is ongoing or whose marker is not yet replicated
// (ProducerStateManager.firstUnstableOffset). Unreplicated transactions
// whose marker is below hw no longer count, even before
// onHighWatermarkUpdated drops them.
func (m *producerStateManager) firstUnstableOffset(hw int64) (int64, bool) {
	off, ok := int64(0), false
	if len(m.ongoing) > 0 {
		off, ok = m.ongoing[0].firstOffset, true
	}
	for _, t := range m.unreplicated {
		if t.lastOffset < hw {
			continue
		}
		if !ok || t.firstOffset < off {
			off, ok = t.firstOffset, true
		}
		break // sorted by first offset: the first still unreplicated is the smallest
	}
	return off, ok
}

// onHighWatermarkUpdated drops the completed transactions whose marker is
// below hw (ProducerStateManager.onHighWatermarkUpdated /
// removeUnreplicatedTransactions).
func (m *producerStateManager) onHighWatermarkUpdated(hw int64) {
	kept := m.unreplicated[:0]
	for _, t := range m.unreplicated {
		if t.lastOffset >= hw {
			kept = append(kept, t)
		}
	}
	m.unreplicated = kept
}

// onLogStartOffsetIncremented is ProducerStateManager's: transactions
// completed below the new log start are forgotten, and the state is at
// least at the log start. Producers stay until they expire (KIP-360).
func (m *producerStateManager) onLogStartOffsetIncremented(logStart int64) {
	m.onHighWatermarkUpdated(logStart)
	if m.lastMapOffset < logStart {
		m.lastMapOffset = logStart
	}
}

// lastStableOffsetFor is ProducerStateManager.lastStableOffset(completedTxn):
// the first offset of the earliest ongoing transaction of another
// producer, else the offset after the marker. It is the LSO written in the
// aborted transaction's index entry.
func (m *producerStateManager) lastStableOffsetFor(ct completedTxn) int64 {
	for _, t := range m.ongoing {
		if t.producerID != ct.producerID {
			return t.firstOffset
		}
	}
	return ct.lastOffset + 1
}

// completeTxn moves a transaction from ongoing to unreplicated with its
// marker offset (ProducerStateManager.completeTxn).
func (m *producerStateManager) completeTxn(ct completedTxn) error {
	i := sort.Search(len(m.ongoing), func(i int) bool { return m.ongoing[i].firstOffset >= ct.firstOffset })
	if i == len(m.ongoing) || m.ongoing[i].firstOffset != ct.firstOffset {
		return fmt.Errorf("attempted to complete transaction of producer %d at first offset %d (marker %d), which is not ongoing",
			ct.producerID, ct.firstOffset, ct.lastOffset)
	}
	t := m.ongoing[i]
	m.ongoing = append(m.ongoing[:i], m.ongoing[i+1:]...)
	t.lastOffset = ct.lastOffset
	m.unreplicated = insertTxn(m.unreplicated, t)
	return nil
}

// producerAppendInfo is the producer state one append computes for one
// producer before anything is written (ProducerAppendInfo).
type producerAppendInfo struct {
	pid          int64
	origin       appendOrigin
	current      *producerStateEntry // the state before the append (an empty entry for a new producer)
	updated      *producerStateEntry // current without batches, plus the append's
	verification *verificationStateEntry
	started      []txnMetadata
}

// prepareUpdate is ProducerStateManager.prepareUpdate.
func (m *producerStateManager) prepareUpdate(pid int64, origin appendOrigin) *producerAppendInfo {
	cur, ok := m.producers[pid]
	if !ok {
		cur = newProducerStateEntry(-1) // RecordBatch.NO_PRODUCER_EPOCH
	}
	return &producerAppendInfo{pid: pid, origin: origin, current: cur, updated: cur.withoutBatches(), verification: m.verification[pid]}
}

// checkProducerEpoch is ProducerAppendInfo.checkProducerEpoch: an older
// epoch is fenced, except in replication where it is only logged.
func (a *producerAppendInfo) checkProducerEpoch(epoch int16, offset int64) (fenced bool, err error) {
	if epoch >= a.updated.epoch {
		return false, nil
	}
	if a.origin == originReplication {
		return true, nil
	}
	// Since Kafka 2.7 (KIP-588) INVALID_PRODUCER_EPOCH, not PRODUCER_FENCED.
	return true, fmt.Errorf("%w: epoch of producer %d at offset %d is %d, which is smaller than the last seen epoch %d",
		ErrInvalidProducerEpoch, a.pid, offset, epoch, a.updated.epoch)
}

// checkSequence is ProducerAppendInfo.checkSequence (client appends only).
func (a *producerAppendInfo) checkSequence(epoch int16, firstSeq int32, offset int64) error {
	if a.verification != nil && firstSeq > a.verification.lowestSequence {
		// KIP-890: the first batch of a verified transaction is the lowest
		// sequence seen while verifying.
		return fmt.Errorf("%w: producer %d at offset %d: %d (incoming seq. number), %d (earliest seen sequence)",
			ErrOutOfOrderSequence, a.pid, offset, firstSeq, a.verification.lowestSequence)
	}
	if epoch != a.updated.epoch {
		if firstSeq != 0 && a.updated.epoch != -1 {
			return fmt.Errorf("%w: invalid sequence number for new epoch of producer %d at offset %d: %d (request epoch), %d (seq. number), %d (current producer epoch)",
				ErrOutOfOrderSequence, a.pid, offset, epoch, firstSeq, a.updated.epoch)
		}
		return nil
	}
	var lastSeq int32
	switch {
	case len(a.updated.batches) > 0:
		lastSeq = a.updated.lastSeq()
	case epoch == a.current.epoch:
		lastSeq = a.current.lastSeq()
	default:
		lastSeq = -1
	}
	// A producer of unknown epoch (its records removed by retention or
	// DeleteRecords) may write any sequence.
	if a.current.epoch != -1 && !inSequence(lastSeq, firstSeq) {
		return fmt.Errorf("%w: producer %d at offset %d: %d (incoming seq. number), %d (current end sequence number)",
			ErrOutOfOrderSequence, a.pid, offset, firstSeq, lastSeq)
	}
	return nil
}

func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (last == math.MaxInt32 && next == 0)
}

// appendDataBatch is ProducerAppendInfo.appendDataBatch.
func (a *producerAppendInfo) appendDataBatch(h BatchHeader) error {
	if _, err := a.checkProducerEpoch(h.ProducerEpoch, h.BaseOffset); err != nil {
		return err
	}
	if a.origin == originClient {
		if err := a.checkSequence(h.ProducerEpoch, h.BaseSequence, h.BaseOffset); err != nil {
			return err
		}
	}
	a.updated.addBatch(h.ProducerEpoch, batchMetadata{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(),
		firstOffset: h.BaseOffset, lastOffset: h.LastOffset(), timestamp: h.MaxTimestamp})
	switch {
	case a.updated.currentTxnFirstOffset >= 0 && !h.IsTransactional():
		return fmt.Errorf("%w: expected transactional write from producer %d at offset %d", ErrInvalidTxnState, a.pid, h.BaseOffset)
	case a.updated.currentTxnFirstOffset < 0 && h.IsTransactional():
		// The batch begins a transaction.
		a.updated.currentTxnFirstOffset = h.BaseOffset
		a.started = append(a.started, txnMetadata{producerID: a.pid, firstOffset: h.BaseOffset, lastOffset: -1})
	}
	return nil
}

// appendEndTxnMarker is ProducerAppendInfo.appendEndTxnMarker: a marker
// closes the producer's open transaction; one for a producer with none
// (an empty transaction) completes nothing.
func (a *producerAppendInfo) appendEndTxnMarker(mk endTxnMarker, epoch int16, offset, timestamp int64) (*completedTxn, error) {
	if _, err := a.checkProducerEpoch(epoch, offset); err != nil {
		return nil, err
	}
	if a.updated.coordinatorEpoch > mk.coordinatorEpoch && a.origin != originReplication {
		return nil, fmt.Errorf("%w: invalid coordinator epoch for producer %d at offset %d: %d (zombie), %d (current)",
			ErrTransactionCoordinatorFenced, a.pid, offset, mk.coordinatorEpoch, a.updated.coordinatorEpoch)
	}
	var ct *completedTxn
	if a.updated.currentTxnFirstOffset >= 0 {
		ct = &completedTxn{producerID: a.pid, firstOffset: a.updated.currentTxnFirstOffset, lastOffset: offset, aborted: !mk.commit}
	}
	// ProducerStateEntry.update(epoch, coordinatorEpoch, timestamp).
	a.updated.maybeUpdateEpoch(epoch)
	a.updated.coordinatorEpoch = mk.coordinatorEpoch
	a.updated.currentTxnFirstOffset = -1
	a.updated.lastTimestamp = timestamp
	return ct, nil
}

// update applies an append's state for one producer
// (ProducerStateManager.update).
func (m *producerStateManager) update(a *producerAppendInfo) {
	if cur, ok := m.producers[a.pid]; ok {
		cur.merge(a.updated)
	} else {
		m.producers[a.pid] = a.updated
	}
	for _, t := range a.started {
		m.ongoing = insertTxn(m.ongoing, t)
	}
}

// LoadProducerState is kept for callers from before the producer state
// was maintained on every append: the state is built when the log opens
// and kept by every append (leader and follower) and truncation, as
// Kafka's, so becoming leader needs no rebuild. It returns nil.
func (l *Log) LoadProducerState() error { return nil }
