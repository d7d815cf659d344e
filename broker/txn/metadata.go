package txn

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// TopicPartition names a partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// javaHashCode is org.apache.kafka.common.TopicPartition.hashCode.
func (tp TopicPartition) javaHashCode() int32 {
	const prime = 31
	result := prime + tp.Partition
	return prime*result + zkmeta.JavaStringHash(tp.Topic)
}

// State is a transaction's state, Kafka's TransactionState; the value is
// the state id stored in __transaction_state.
type State int8

// The states and their ids (TransactionState.scala).
const (
	Empty             State = 0
	Ongoing           State = 1
	PrepareCommit     State = 2
	PrepareAbort      State = 3
	CompleteCommit    State = 4
	CompleteAbort     State = 5
	Dead              State = 6
	PrepareEpochFence State = 7
)

var stateNames = [...]string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

// String is Kafka's state name, as DescribeTransactions and
// ListTransactions answer it.
func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

func (s State) valid() bool { return s >= Empty && s <= PrepareEpochFence }

// StateFromName is TransactionState.fromName (exact, case-sensitive).
func StateFromName(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// validPreviousStates is TransactionState.validPreviousStates.
func (s State) validPrevious(prev State) bool {
	switch s {
	case Empty:
		return prev == Empty || prev == CompleteCommit || prev == CompleteAbort
	case Ongoing:
		return prev == Ongoing || prev == Empty || prev == CompleteCommit || prev == CompleteAbort
	case PrepareCommit:
		return prev == Ongoing
	case PrepareAbort:
		return prev == Ongoing || prev == PrepareEpochFence
	case CompleteCommit:
		return prev == PrepareCommit
	case CompleteAbort:
		return prev == PrepareAbort
	case Dead:
		return prev == Empty || prev == CompleteAbort || prev == CompleteCommit
	case PrepareEpochFence:
		return prev == Ongoing
	}
	return false
}

// expirationAllowed is TransactionState.isExpirationAllowed.
func (s State) expirationAllowed() bool {
	return s == Empty || s == CompleteCommit || s == CompleteAbort
}

const (
	noProducerID    int64 = -1
	noProducerEpoch int16 = -1
)

// isEpochExhausted is TransactionMetadata.isEpochExhausted: 32767 is kept
// so that the coordinator can always fence.
func isEpochExhausted(e int16) bool { return e >= math.MaxInt16-1 }

// txnMetadata is Kafka's TransactionMetadata: one transactional id's
// state. mu guards every field but id.
type txnMetadata struct {
	id string
	mu sync.Mutex

	producerID          int64
	lastProducerID      int64
	producerEpoch       int16
	lastProducerEpoch   int16
	timeoutMs           int32
	state               State
	partitions          map[TopicPartition]struct{}
	startTimestamp      int64
	lastUpdateTimestamp int64

	pending             State // meaningful when hasPending
	hasPending          bool
	hasFailedEpochFence bool
}

// transit is TxnTransitMetadata: the immutable target of a transition.
type transit struct {
	producerID          int64
	lastProducerID      int64
	producerEpoch       int16
	lastProducerEpoch   int16
	timeoutMs           int32
	state               State
	partitions          []TopicPartition
	startTimestamp      int64
	lastUpdateTimestamp int64
}

func newMetadata(id string, pid int64, timeoutMs int32, nowMs int64) *txnMetadata {
	return &txnMetadata{
		id: id, producerID: pid, lastProducerID: noProducerID,
		producerEpoch: noProducerEpoch, lastProducerEpoch: noProducerEpoch,
		timeoutMs: timeoutMs, state: Empty, partitions: map[TopicPartition]struct{}{},
		startTimestamp: -1, lastUpdateTimestamp: nowMs,
	}
}

// metadataFromValue is TransactionLog.readTxnRecordValue: the last
// producer id and epoch are not stored and load as -1.
func metadataFromValue(id string, v TxnLogValue) *txnMetadata {
	m := &txnMetadata{
		id: id, producerID: v.ProducerID, lastProducerID: noProducerID,
		producerEpoch: v.ProducerEpoch, lastProducerEpoch: noProducerEpoch,
		timeoutMs: v.TimeoutMs, state: v.State, partitions: map[TopicPartition]struct{}{},
		startTimestamp: v.StartTimestamp, lastUpdateTimestamp: v.LastUpdateTimestamp,
	}
	if v.State != Empty {
		for _, tp := range v.Partitions {
			m.partitions[tp] = struct{}{}
		}
	}
	return m
}

func (m *txnMetadata) partitionList() []TopicPartition {
	out := make([]TopicPartition, 0, len(m.partitions))
	for tp := range m.partitions {
		out = append(out, tp)
	}
	sortPartitions(out)
	return out
}

func sortPartitions(ps []TopicPartition) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Topic != ps[j].Topic {
			return ps[i].Topic < ps[j].Topic
		}
		return ps[i].Partition < ps[j].Partition
	})
}

func (m *txnMetadata) snapshot() transit {
	return transit{
		producerID: m.producerID, lastProducerID: m.lastProducerID,
		producerEpoch: m.producerEpoch, lastProducerEpoch: m.lastProducerEpoch,
		timeoutMs: m.timeoutMs, state: m.state, partitions: m.partitionList(),
		startTimestamp: m.startTimestamp, lastUpdateTimestamp: m.lastUpdateTimestamp,
	}
}

// value is the record TransactionLog.valueToBytes writes for t.
func (t transit) value() TxnLogValue {
	v := TxnLogValue{
		Version: ValueVersion0, ProducerID: t.producerID, ProducerEpoch: t.producerEpoch,
		TimeoutMs: t.timeoutMs, State: t.state, LastUpdateTimestamp: t.lastUpdateTimestamp,
		StartTimestamp: t.startTimestamp,
	}
	if t.state != Empty {
		v.Partitions = append([]TopicPartition{}, t.partitions...)
	}
	return v
}

// errIllegalState marks a transition Kafka rejects with an
// IllegalStateException: a bug or an impossible request.
type errIllegalState struct{ msg string }

func (e *errIllegalState) Error() string { return e.msg }

func illegal(format string, args ...any) error {
	return &errIllegalState{msg: fmt.Sprintf(format, args...)}
}

// prepareTransitionTo is TransactionMetadata.prepareTransitionTo: it
// checks the target and marks it pending.
func (m *txnMetadata) prepareTransitionTo(t transit) (transit, error) {
	if m.hasPending {
		return transit{}, illegal("preparing transaction state transition to %v while it already has a pending state %v", t.state, m.pending)
	}
	if t.producerID < 0 {
		return transit{}, illegal("cannot transit to %v with invalid producer id %d", t.state, t.producerID)
	}
	if t.state != Dead && t.producerEpoch < 0 {
		return transit{}, illegal("cannot transit to %v with invalid producer epoch %d", t.state, t.producerEpoch)
	}
	if !t.state.validPrevious(m.state) {
		return transit{}, illegal("transactional id %s: cannot transit from %v to %v", m.id, m.state, t.state)
	}
	m.pending, m.hasPending = t.state, true
	return t, nil
}

// base is the transit every preparer starts from: lastProducerId is the
// current producer id (TransactionMetadata.prepareTransitionTo).
func (m *txnMetadata) base(state State, nowMs int64) transit {
	t := m.snapshot()
	t.lastProducerID = m.producerID
	t.state = state
	t.lastUpdateTimestamp = nowMs
	return t
}

// prepareIncrementProducerEpoch is
// TransactionMetadata.prepareIncrementProducerEpoch. expectedEpoch < 0
// means none was given. A fenced expected epoch returns errFencedEpoch.
func (m *txnMetadata) prepareIncrementProducerEpoch(timeoutMs int32, expectedEpoch int16, hasExpected bool, nowMs int64) (transit, error) {
	if isEpochExhausted(m.producerEpoch) {
		return transit{}, illegal("cannot allocate any more producer epochs for producer id %d", m.producerID)
	}
	var epoch, lastEpoch int16
	switch {
	case !hasExpected:
		// No epoch given: a new producer instance; bump and clear lastEpoch.
		epoch, lastEpoch = m.producerEpoch+1, noProducerEpoch
	case m.producerEpoch == noProducerEpoch || expectedEpoch == m.producerEpoch:
		// KIP-360: the producer's current epoch; bump and remember it.
		epoch, lastEpoch = m.producerEpoch+1, m.producerEpoch
	case expectedEpoch == m.lastProducerEpoch:
		// A retry of a bump that already succeeded.
		epoch, lastEpoch = m.producerEpoch, m.lastProducerEpoch
	default:
		return transit{}, errFencedEpoch
	}
	t := m.base(Empty, nowMs)
	t.producerEpoch, t.lastProducerEpoch = epoch, lastEpoch
	t.timeoutMs = timeoutMs
	t.partitions = nil
	t.startTimestamp = -1
	return m.prepareTransitionTo(t)
}

var errFencedEpoch = illegal("producer fenced")

// prepareProducerIDRotation is TransactionMetadata.prepareProducerIdRotation.
func (m *txnMetadata) prepareProducerIDRotation(newPID int64, timeoutMs int32, nowMs int64, recordLastEpoch bool) (transit, error) {
	if m.hasPending {
		return transit{}, illegal("cannot rotate producer ids while a transaction is still pending")
	}
	t := m.base(Empty, nowMs)
	t.producerID, t.producerEpoch = newPID, 0
	t.lastProducerEpoch = noProducerEpoch
	if recordLastEpoch {
		t.lastProducerEpoch = m.producerEpoch
	}
	t.timeoutMs = timeoutMs
	t.partitions = nil
	t.startTimestamp = -1
	return m.prepareTransitionTo(t)
}

// prepareFenceProducerEpoch is TransactionMetadata.prepareFenceProducerEpoch:
// the epoch is bumped unless an earlier fence failed to be written (its
// bumped epoch was never returned to anyone, so it is reused).
func (m *txnMetadata) prepareFenceProducerEpoch(nowMs int64) (transit, error) {
	if m.producerEpoch == math.MaxInt16 {
		return transit{}, illegal("cannot fence producer with epoch equal to Short.MaxValue since this would overflow")
	}
	epoch := m.producerEpoch
	if !m.hasFailedEpochFence {
		epoch++
	}
	t := m.base(PrepareEpochFence, nowMs)
	t.producerEpoch, t.lastProducerEpoch = epoch, noProducerEpoch
	return m.prepareTransitionTo(t)
}

// prepareAddPartitions is TransactionMetadata.prepareAddPartitions.
func (m *txnMetadata) prepareAddPartitions(add []TopicPartition, nowMs int64) (transit, error) {
	t := m.base(Ongoing, nowMs)
	switch m.state {
	case Empty, CompleteCommit, CompleteAbort:
		t.startTimestamp = nowMs
	}
	set := make(map[TopicPartition]struct{}, len(m.partitions)+len(add))
	for tp := range m.partitions {
		set[tp] = struct{}{}
	}
	for _, tp := range add {
		set[tp] = struct{}{}
	}
	t.partitions = make([]TopicPartition, 0, len(set))
	for tp := range set {
		t.partitions = append(t.partitions, tp)
	}
	sortPartitions(t.partitions)
	return m.prepareTransitionTo(t)
}

// prepareAbortOrCommit is TransactionMetadata.prepareAbortOrCommit.
func (m *txnMetadata) prepareAbortOrCommit(state State, nowMs int64) (transit, error) {
	return m.prepareTransitionTo(m.base(state, nowMs))
}

// prepareComplete is TransactionMetadata.prepareComplete; it clears
// hasFailedEpochFence.
func (m *txnMetadata) prepareComplete(nowMs int64) (transit, error) {
	state := CompleteAbort
	if m.state == PrepareCommit {
		state = CompleteCommit
	}
	m.hasFailedEpochFence = false
	t := m.base(state, nowMs)
	t.partitions = nil
	return m.prepareTransitionTo(t)
}

// prepareDead is TransactionMetadata.prepareDead: the last update time is
// kept.
func (m *txnMetadata) prepareDead() (transit, error) {
	t := m.base(Dead, m.lastUpdateTimestamp)
	t.partitions = nil
	return m.prepareTransitionTo(t)
}

// completeTransitionTo is TransactionMetadata.completeTransitionTo: it
// applies a transit once written, after Kafka's "should not happen"
// checks.
func (m *txnMetadata) completeTransitionTo(t transit) error {
	if !m.hasPending || m.pending != t.state {
		return illegal("completing transaction state transition to %v while its pending state is %v (%v)", t.state, m.pending, m.hasPending)
	}
	if !t.state.validPrevious(m.state) {
		return illegal("transactional id %s: cannot complete transition from %v to %v", m.id, m.state, t.state)
	}
	switch t.state {
	case Empty:
		validBump := t.producerEpoch == m.producerEpoch || t.producerEpoch == m.producerEpoch+1 ||
			(t.producerEpoch == 0 && t.producerID != m.producerID)
		if !validBump || len(t.partitions) != 0 || t.startTimestamp != -1 {
			return illegal("transactional id %s: unexpected transit to Empty %+v", m.id, t)
		}
		m.timeoutMs = t.timeoutMs
		m.producerEpoch, m.lastProducerEpoch = t.producerEpoch, t.lastProducerEpoch
		m.producerID, m.lastProducerID = t.producerID, t.lastProducerID
	case Ongoing:
		if t.producerID != m.producerID || t.producerEpoch != m.producerEpoch || t.timeoutMs != m.timeoutMs || !m.subsetOf(t.partitions) {
			return illegal("transactional id %s: unexpected transit to Ongoing %+v", m.id, t)
		}
		m.startTimestamp = t.startTimestamp
		for _, tp := range t.partitions {
			m.partitions[tp] = struct{}{}
		}
	case PrepareCommit, PrepareAbort:
		if t.producerID != m.producerID || t.producerEpoch != m.producerEpoch || t.timeoutMs != m.timeoutMs ||
			t.startTimestamp != m.startTimestamp || !m.sameSet(t.partitions) {
			return illegal("transactional id %s: unexpected transit to %v %+v", m.id, t.state, t)
		}
	case CompleteCommit, CompleteAbort:
		if t.producerID != m.producerID || t.producerEpoch != m.producerEpoch || t.timeoutMs != m.timeoutMs || t.startTimestamp == -1 {
			return illegal("transactional id %s: unexpected transit to %v %+v", m.id, t.state, t)
		}
		m.startTimestamp = t.startTimestamp
		clear(m.partitions)
	default: // PrepareEpochFence, Dead: never completed
		return illegal("transactional id %s: transition to %v is never completed", m.id, t.state)
	}
	m.lastUpdateTimestamp = t.lastUpdateTimestamp
	m.hasPending = false
	m.state = t.state
	return nil
}

func (m *txnMetadata) subsetOf(ps []TopicPartition) bool {
	set := make(map[TopicPartition]struct{}, len(ps))
	for _, tp := range ps {
		set[tp] = struct{}{}
	}
	for tp := range m.partitions {
		if _, ok := set[tp]; !ok {
			return false
		}
	}
	return true
}

func (m *txnMetadata) sameSet(ps []TopicPartition) bool {
	if len(ps) != len(m.partitions) {
		return false
	}
	for _, tp := range ps {
		if _, ok := m.partitions[tp]; !ok {
			return false
		}
	}
	return true
}
