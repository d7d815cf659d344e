package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The __transaction_state record schemas (Kafka's TransactionLogKey and
// TransactionLogValue, transaction-coordinator/src/main/resources/common/
// message): both are "version-prefixed" (MessageUtil.toVersionPrefixedBytes),
// an int16 version then the message body in the generated-message encoding
// of that version. The key has version 0 only, never flexible; the value has
// versions 0 (classic) and 1 (flexible, KIP-482 compact forms and tagged
// fields). Kafka 3.9 in ZooKeeper mode writes value version 0
// (TransactionStateManager.usesFlexibleRecords is false without the
// transaction.version feature) and reads both.
const (
	KeyVersion          int16 = 0
	ValueVersion0       int16 = 0
	ValueVersion1       int16 = 1
	highestValueVersion       = ValueVersion1
)

// TxnLogValue is one __transaction_state value: the target state of a
// transition (TransactionLog.valueToBytes writes the transit metadata).
type TxnLogValue struct {
	Version             int16 // ValueVersion0 or ValueVersion1
	ProducerID          int64
	ProducerEpoch       int16
	TimeoutMs           int32
	State               State
	Partitions          []TopicPartition // nil when written as null (state Empty)
	LastUpdateTimestamp int64
	StartTimestamp      int64 // -1 when no transaction started
}

// UnknownKeyVersionError is DecodeKey's error for a key version other than
// 0: TransactionLog.readTxnRecordKey returns UnknownKey for it, which the
// loader skips and kafka-dump-log prints as "unknown::version=<v>".
type UnknownKeyVersionError struct{ Version int16 }

func (e *UnknownKeyVersionError) Error() string {
	return "unknown __transaction_state key version " + strconv.Itoa(int(e.Version))
}

// ErrMalformed is wrapped by every decoding error of damaged bytes.
var ErrMalformed = errors.New("malformed __transaction_state record")

// EncodeKey is TransactionLog.keyToBytes: version 0, the transactional id
// as an int16-length string.
func EncodeKey(txnID string) []byte {
	b := make([]byte, 0, 4+len(txnID))
	b = binary.BigEndian.AppendUint16(b, uint16(KeyVersion))
	b = binary.BigEndian.AppendUint16(b, uint16(len(txnID)))
	return append(b, txnID...)
}

// DecodeKey is TransactionLog.readTxnRecordKey; a key of another version
// fails with *UnknownKeyVersionError.
func DecodeKey(b []byte) (string, error) {
	r := reader{b: b}
	v := r.int16()
	if r.err != nil {
		return "", r.err
	}
	if v != KeyVersion {
		return "", &UnknownKeyVersionError{Version: v}
	}
	id := r.string(false)
	// The generated reader ignores bytes after the last field, as Kafka does.
	return id, r.err
}

// EncodeValue is TransactionLog.valueToBytes for v.Version: state Empty
// is written with null partitions (and may not carry any, Kafka's
// IllegalStateException), other states with the partitions grouped by
// topic, topics and partitions in ascending order.
func EncodeValue(v TxnLogValue) ([]byte, error) {
	if v.Version != ValueVersion0 && v.Version != ValueVersion1 {
		return nil, fmt.Errorf("unsupported __transaction_state value version %d", v.Version)
	}
	if v.State == Empty && len(v.Partitions) > 0 {
		return nil, fmt.Errorf("transaction is not expected to have any partitions since its state is Empty: %v", v.Partitions)
	}
	if !v.State.valid() {
		return nil, fmt.Errorf("unknown transaction state %d", v.State)
	}
	flexible := v.Version >= ValueVersion1
	b := make([]byte, 0, 64)
	b = binary.BigEndian.AppendUint16(b, uint16(v.Version))
	b = binary.BigEndian.AppendUint64(b, uint64(v.ProducerID))
	b = binary.BigEndian.AppendUint16(b, uint16(v.ProducerEpoch))
	b = binary.BigEndian.AppendUint32(b, uint32(v.TimeoutMs))
	b = append(b, byte(v.State))
	if v.State == Empty {
		if flexible {
			b = binary.AppendUvarint(b, 0)
		} else {
			b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // -1: null
		}
	} else {
		groups := groupByTopic(v.Partitions)
		b = appendArrayLen(b, len(groups), flexible)
		for _, g := range groups {
			b = appendString(b, g.topic, flexible)
			b = appendArrayLen(b, len(g.partitions), flexible)
			for _, p := range g.partitions {
				b = binary.BigEndian.AppendUint32(b, uint32(p))
			}
			if flexible {
				b = binary.AppendUvarint(b, 0) // no tagged fields
			}
		}
	}
	b = binary.BigEndian.AppendUint64(b, uint64(v.LastUpdateTimestamp))
	b = binary.BigEndian.AppendUint64(b, uint64(v.StartTimestamp))
	if flexible {
		b = binary.AppendUvarint(b, 0)
	}
	return b, nil
}

type topicGroup struct {
	topic      string
	partitions []int32
}

func groupByTopic(parts []TopicPartition) []topicGroup {
	byTopic := map[string][]int32{}
	for _, tp := range parts {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partition)
	}
	out := make([]topicGroup, 0, len(byTopic))
	for t, ps := range byTopic {
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		out = append(out, topicGroup{topic: t, partitions: ps})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].topic < out[j].topic })
	return out
}

func appendArrayLen(b []byte, n int, flexible bool) []byte {
	if flexible {
		return binary.AppendUvarint(b, uint64(n)+1)
	}
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

func appendString(b []byte, s string, flexible bool) []byte {
	if flexible {
		b = binary.AppendUvarint(b, uint64(len(s))+1)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	}
	return append(b, s...)
}

// DecodeValue is TransactionLog.readTxnRecordValue for a non-null value:
// versions 0 and 1 (unknown tagged fields skipped); any other version, an
// unknown state id (TransactionState.fromId) or damaged bytes fail. The
// partitions of an Empty state are dropped as Kafka does.
func DecodeValue(b []byte) (TxnLogValue, error) {
	r := reader{b: b}
	var v TxnLogValue
	v.Version = r.int16()
	if r.err != nil {
		return TxnLogValue{}, r.err
	}
	if v.Version < ValueVersion0 || v.Version > highestValueVersion {
		return TxnLogValue{}, fmt.Errorf("unknown version %d from the transaction log message value", v.Version)
	}
	flexible := v.Version >= ValueVersion1
	v.ProducerID = r.int64()
	v.ProducerEpoch = r.int16()
	v.TimeoutMs = r.int32()
	v.State = State(r.int8())
	n, null := r.arrayLen(flexible, 2+4)
	var parts []TopicPartition
	if !null {
		parts = []TopicPartition{}
		for i := 0; i < n && r.err == nil; i++ {
			topic := r.string(flexible)
			m, pnull := r.arrayLen(flexible, 4)
			if pnull && r.err == nil {
				r.fail("non-nullable field partitionIds was serialized as null")
			}
			for j := 0; j < m && r.err == nil; j++ {
				parts = append(parts, TopicPartition{Topic: topic, Partition: r.int32()})
			}
			if flexible {
				r.skipTaggedFields()
			}
		}
	}
	v.LastUpdateTimestamp = r.int64()
	v.StartTimestamp = r.int64()
	if flexible {
		r.skipTaggedFields()
	}
	if r.err != nil {
		return TxnLogValue{}, r.err
	}
	if !v.State.valid() {
		return TxnLogValue{}, fmt.Errorf("%w: unknown transaction state id %d", ErrMalformed, v.State)
	}
	if v.State != Empty {
		// TransactionMetadata.addPartitions over a set: duplicates collapse.
		v.Partitions = dedupePartitions(parts)
		if v.Partitions == nil {
			v.Partitions = []TopicPartition{}
		}
	}
	return v, nil
}

func dedupePartitions(parts []TopicPartition) []TopicPartition {
	if len(parts) == 0 {
		return parts
	}
	seen := make(map[TopicPartition]bool, len(parts))
	out := parts[:0:0]
	for _, tp := range parts {
		if !seen[tp] {
			seen[tp] = true
			out = append(out, tp)
		}
	}
	return out
}

// reader decodes Kafka's generated-message encoding; the first failure
// sticks and later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(msg string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, msg)
	}
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) int8() int8 {
	if b := r.take(1); b != nil {
		return int8(b[0])
	}
	return 0
}

func (r *reader) int16() int16 {
	if b := r.take(2); b != nil {
		return int16(binary.BigEndian.Uint16(b))
	}
	return 0
}

func (r *reader) int32() int32 {
	if b := r.take(4); b != nil {
		return int32(binary.BigEndian.Uint32(b))
	}
	return 0
}

func (r *reader) int64() int64 {
	if b := r.take(8); b != nil {
		return int64(binary.BigEndian.Uint64(b))
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > math.MaxUint32 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// string reads a non-nullable string (int16 length, or compact uvarint
// length+1 when flexible).
func (r *reader) string(flexible bool) string {
	var n int
	if flexible {
		n = int(r.uvarint()) - 1
	} else {
		n = int(r.int16())
	}
	if r.err != nil {
		return ""
	}
	if n < 0 {
		r.fail("non-nullable string was serialized as null")
		return ""
	}
	b := r.take(n)
	if b != nil && !utf8.Valid(b) {
		// Java decodes malformed UTF-8 with replacement characters.
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// arrayLen reads an array length; a negative one is null. minElem bounds
// the count by the bytes left, as Kafka's "Tried to allocate a collection
// of size N" check does.
func (r *reader) arrayLen(flexible bool, minElem int) (n int, null bool) {
	if flexible {
		n = int(r.uvarint()) - 1
	} else {
		n = int(r.int32())
	}
	if r.err != nil {
		return 0, false
	}
	if n < 0 {
		return 0, true
	}
	if n*minElem > len(r.b) {
		r.fail(fmt.Sprintf("tried to allocate a collection of size %d, but there are only %d bytes remaining", n, len(r.b)))
		return 0, false
	}
	return n, false
}

func (r *reader) skipTaggedFields() {
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		r.uvarint() // tag
		size := r.uvarint()
		r.take(int(size))
	}
}

// FormatRecordKeyAndValue is TransactionLog.formatRecordKeyAndValue, what
// kafka-dump-log --transaction-log-decoder prints for a record: the key
// "transaction_metadata::transactionalId=<id>" and the payload
// "producerId:<pid>,producerEpoch:<e>,state=<State>,partitions=[t-0,...],
// txnLastUpdateTimestamp=<ms>,txnTimeoutMs=<ms>", or "<DELETE>" for a
// tombstone (value nil); a key of an unknown version prints
// "unknown::version=<v>" and no payload. Undecodable bytes (an exception in
// Kafka) return an error.
func FormatRecordKeyAndValue(key, value []byte) (keyText, payload string, hasPayload bool, err error) {
	id, err := DecodeKey(key)
	var uk *UnknownKeyVersionError
	if errors.As(err, &uk) {
		return "unknown::version=" + strconv.Itoa(int(uk.Version)), "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	keyText = "transaction_metadata::transactionalId=" + id
	if value == nil {
		return keyText, "<DELETE>", true, nil
	}
	v, err := DecodeValue(value)
	if err != nil {
		return "", "", false, err
	}
	payload = "producerId:" + strconv.FormatInt(v.ProducerID, 10) +
		",producerEpoch:" + strconv.Itoa(int(v.ProducerEpoch)) +
		",state=" + v.State.String() +
		",partitions=" + formatPartitionSet(v.Partitions) +
		",txnLastUpdateTimestamp=" + strconv.FormatInt(v.LastUpdateTimestamp, 10) +
		",txnTimeoutMs=" + strconv.Itoa(int(v.TimeoutMs))
	return keyText, payload, true, nil
}

// FormatRecord is FormatRecordKeyAndValue as DumpLogSegments prints it
// after the record's header: "key: <key> payload: <payload>" (no payload
// part for an unknown key version); an undecodable record gives the error
// text.
func FormatRecord(key, value []byte) string {
	k, p, ok, err := FormatRecordKeyAndValue(key, value)
	if err != nil {
		return "Error: " + err.Error()
	}
	if !ok {
		return "key: " + k
	}
	return "key: " + k + " payload: " + p
}

// formatPartitionSet prints a partition set as Scala's mkString("[", ",",
// "]") over TransactionMetadata.topicPartitions does, "topic-partition"
// each, in scalaSetOrder.
func formatPartitionSet(parts []TopicPartition) string {
	ordered := scalaSetOrder(parts)
	var sb strings.Builder
	sb.WriteByte('[')
	for i, tp := range ordered {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(tp.Topic)
		sb.WriteByte('-')
		sb.WriteString(strconv.Itoa(int(tp.Partition)))
	}
	sb.WriteByte(']')
	return sb.String()
}

// scalaSetOrder orders partitions as the iteration of the Scala 2.13
// mutable.HashSet that holds them does (approximated: by bucket of the
// spread TopicPartition.hashCode in the smallest table that holds them,
// then by hash within a bucket).
func scalaSetOrder(parts []TopicPartition) []TopicPartition {
	out := append([]TopicPartition(nil), parts...)
	size := 16
	for float64(len(out)+1) > float64(size)*0.75 {
		size *= 2
	}
	type keyed struct {
		tp   TopicPartition
		hash int32
	}
	ks := make([]keyed, len(out))
	for i, tp := range out {
		h := tp.javaHashCode()
		ks[i] = keyed{tp, h ^ int32(uint32(h)>>16)}
	}
	sort.SliceStable(ks, func(i, j int) bool {
		bi, bj := int(ks[i].hash)&(size-1), int(ks[j].hash)&(size-1)
		if bi != bj {
			return bi < bj
		}
		return ks[i].hash < ks[j].hash
	})
	for i := range ks {
		out[i] = ks[i].tp
	}
	return out
}
