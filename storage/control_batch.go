package storage

import (
	"encoding/binary"
	"fmt"
)

// ControlRecordType is the type in a control record's key
// (ControlRecordType). Transaction markers are ABORT and COMMIT.
type ControlRecordType int16

// Control record types (ControlRecordType); ids Kafka does not know parse
// as ControlUnknown.
const (
	ControlUnknown        ControlRecordType = -1
	ControlAbort          ControlRecordType = 0
	ControlCommit         ControlRecordType = 1
	ControlLeaderChange   ControlRecordType = 2
	ControlSnapshotHeader ControlRecordType = 3
	ControlSnapshotFooter ControlRecordType = 4
	ControlKRaftVersion   ControlRecordType = 5
	ControlKRaftVoters    ControlRecordType = 6
)

// String is Kafka's enum name.
func (t ControlRecordType) String() string {
	switch t {
	case ControlAbort:
		return "ABORT"
	case ControlCommit:
		return "COMMIT"
	case ControlLeaderChange:
		return "LEADER_CHANGE"
	case ControlSnapshotHeader:
		return "SNAPSHOT_HEADER"
	case ControlSnapshotFooter:
		return "SNAPSHOT_FOOTER"
	case ControlKRaftVersion:
		return "KRAFT_VERSION"
	case ControlKRaftVoters:
		return "KRAFT_VOTERS"
	}
	return "UNKNOWN"
}

const (
	controlKeySize      = 4 // int16 version, int16 type
	endTxnMarkerValSize = 6 // int16 version, int32 coordinator epoch
	// EndTxnMarkerBatchSize is the size of a transaction marker batch:
	// the 61-byte header and one 17-byte record of a 4-byte key and a
	// 6-byte value (EndTransactionMarker.CURRENT_END_TXN_SCHEMA_RECORD_SIZE).
	EndTxnMarkerBatchSize = 78
)

// ParseControlRecordKey reads a control record's type
// (ControlRecordType.parse): fewer than 4 bytes or a negative version is
// ErrInvalidRecord; a version above 0 is read as version 0; an unknown
// type id is ControlUnknown.
func ParseControlRecordKey(key []byte) (ControlRecordType, error) {
	if len(key) < controlKeySize {
		return ControlUnknown, fmt.Errorf("%w: invalid value size found for end control record key: must have at least 4 bytes, but found only %d", ErrInvalidRecord, len(key))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return ControlUnknown, fmt.Errorf("%w: invalid version found for control record: %d, may indicate data corruption", ErrInvalidRecord, v)
	}
	t := ControlRecordType(int16(binary.BigEndian.Uint16(key[2:])))
	if t < ControlAbort || t > ControlKRaftVoters {
		return ControlUnknown, nil
	}
	return t, nil
}

// ParseEndTxnMarker reads a transaction marker record
// (EndTransactionMarker.deserialize): the key's type must be ABORT or
// COMMIT; the value is at least 6 bytes, version >= 0 (a later version is
// read as 0, extra bytes ignored), then the coordinator epoch. Errors wrap
// ErrInvalidRecord.
func ParseEndTxnMarker(key, value []byte) (commit bool, coordinatorEpoch int32, err error) {
	t, err := ParseControlRecordKey(key)
	if err != nil {
		return false, 0, err
	}
	if t != ControlAbort && t != ControlCommit {
		return false, 0, fmt.Errorf("%w: invalid control record type for end transaction marker: %s", ErrInvalidRecord, t)
	}
	if len(value) < endTxnMarkerValSize {
		return false, 0, fmt.Errorf("%w: invalid value size found for end transaction marker: must have at least 6 bytes, but found only %d", ErrInvalidRecord, len(value))
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 {
		return false, 0, fmt.Errorf("%w: invalid version found for end transaction marker: %d, may indicate data corruption", ErrInvalidRecord, v)
	}
	return t == ControlCommit, int32(binary.BigEndian.Uint32(value[2:])), nil
}

// EndTxnMarker is one transaction marker to write to a partition
// (WriteTxnMarkers' marker for one partition). Timestamp is the leader's
// wall clock in ms when it handles the request.
type EndTxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool
	Timestamp        int64
}

// endTxnMarker is a parsed marker record.
type endTxnMarker struct {
	commit           bool
	coordinatorEpoch int32
}

// BuildEndTxnMarker encodes m as Kafka's marker batch
// (MemoryRecords.withEndTransactionMarker): magic 2, attributes
// transactional|control, base offset 0, partition leader epoch -1 (both
// set by the append), producer id and epoch, base sequence -1, first and
// max timestamp m.Timestamp, no compression, and one record at offset
// delta 0: key {version 0, type ABORT 0 / COMMIT 1}, value {version 0,
// coordinator epoch}, no headers; CRC-32C. It is EndTxnMarkerBatchSize
// bytes.
func BuildEndTxnMarker(m EndTxnMarker) ([]byte, error) {
	key := make([]byte, controlKeySize)
	if m.Commit {
		binary.BigEndian.PutUint16(key[2:], uint16(ControlCommit))
	}
	val := make([]byte, endTxnMarkerValSize)
	binary.BigEndian.PutUint32(val[2:], uint32(m.CoordinatorEpoch))
	b, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, Attributes: attrTransactional | attrControl,
		ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, BaseSequence: -1},
		[]Record{{Offset: 0, Timestamp: m.Timestamp, Key: key, Value: val}})
	if err != nil {
		return nil, fmt.Errorf("building a transaction marker: %w", err)
	}
	return b, nil
}

// readEndTxnMarker reads the marker of a control batch with a producer id
// (ProducerAppendInfo.append): ok is false for an empty control batch (its
// records were cleaned away), which changes nothing. ts is the record's
// timestamp (the batch max timestamp for LogAppendTime).
func readEndTxnMarker(batch []byte, h BatchHeader) (mk endTxnMarker, ts int64, ok bool, err error) {
	if int64(len(batch)) < h.Size() {
		return mk, 0, false, fmt.Errorf("%w: control batch at offset %d is cut short", ErrCorruptMessage, h.BaseOffset)
	}
	body := batch[BatchHeaderSize:h.Size()]
	var (
		first  recordInfo
		found  bool
		walkFn = func(r recordInfo) bool { first, found = r, true; return false }
	)
	if h.Compression() == 0 {
		err = walkRecords(body, walkFn)
	} else {
		err = streamRecords(h, body, true, walkFn)
	}
	if err != nil {
		return mk, 0, false, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	if !found {
		return mk, 0, false, nil
	}
	var key, value []byte
	if !first.KeyNull {
		key = first.Key
	}
	if !first.ValueNull {
		value = first.Value
	}
	commit, ce, err := ParseEndTxnMarker(key, value)
	if err != nil {
		return mk, 0, false, fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
	}
	ts = h.BaseTimestamp + first.TimestampDelta
	if h.LogAppendTime() {
		ts = h.MaxTimestamp
	}
	return endTxnMarker{commit: commit, coordinatorEpoch: ce}, ts, true, nil
}
