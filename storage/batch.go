// Package storage is the partition log on disk, in Kafka's on-disk format:
// segments of record batches (.log) with offset (.index) and time
// (.timeindex) indexes, checkpoints, the clean-shutdown marker and recovery.
package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
)

// BatchHeaderSize is the size of the fixed part of a v2 record batch
// (Kafka's DefaultRecordBatch.RECORD_BATCH_OVERHEAD).
const BatchHeaderSize = 61

// Offsets of the v2 batch header fields (DefaultRecordBatch).
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// logOverhead is baseOffset + batchLength (Records.LOG_OVERHEAD).
	logOverhead = 12
)

// Batch attribute bits (DefaultRecordBatch).
const (
	attrCompressionMask = 0x07
	attrTimestampType   = 0x08
	attrTransactional   = 0x10
	attrControl         = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BatchHeader is the parsed fixed part of a v2 record batch.
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // batchLength field: bytes after this field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the total size of the batch in bytes.
func (h BatchHeader) Size() int64 { return logOverhead + int64(h.Length) }

// LastOffset is the offset of the last record of the batch.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset following the batch.
func (h BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// LastSequence is the sequence of the last record. Sequences wrap from
// MaxInt32 to 0 (DefaultRecordBatch.incrementSequence); -1 stays -1.
func (h BatchHeader) LastSequence() int32 {
	if h.BaseSequence < 0 {
		return -1
	}
	return incrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

func incrementSequence(seq, inc int32) int32 {
	if seq > math.MaxInt32-inc {
		return inc - (math.MaxInt32 - seq) - 1
	}
	return seq + inc
}

// IsTransactional reports attribute bit 4.
func (h BatchHeader) IsTransactional() bool { return h.Attributes&attrTransactional != 0 }

// IsControl reports attribute bit 5.
func (h BatchHeader) IsControl() bool { return h.Attributes&attrControl != 0 }

// Compression is the codec in attribute bits 0-2 (0 none, 1 gzip, 2 snappy,
// 3 lz4, 4 zstd).
func (h BatchHeader) Compression() int8 { return int8(h.Attributes & attrCompressionMask) }

// LogAppendTime reports attribute bit 3 (timestamp type LogAppendTime).
func (h BatchHeader) LogAppendTime() bool { return h.Attributes&attrTimestampType != 0 }

// HasProducerID reports whether the batch carries a producer id
// (RecordBatch.NO_PRODUCER_ID is -1).
func (h BatchHeader) HasProducerID() bool { return h.ProducerID >= 0 }

// ParseBatchHeader parses the fixed part of a v2 batch at the start of b. It
// checks the size field and magic, not the CRC. Magic 0 and 1 give
// ErrInvalidRecord (only v2 is accepted, as produce v3+); any other magic or
// a batch length below the v2 overhead gives ErrCorruptMessage, as in
// Kafka's ByteBufferLogInputStream and DefaultRecordBatch.ensureValid.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, fmt.Errorf("%w: %d bytes, batch header needs %d", ErrCorruptMessage, len(b), BatchHeaderSize)
	}
	be := binary.BigEndian
	h := BatchHeader{
		BaseOffset:           int64(be.Uint64(b[offBaseOffset:])),
		Length:               int32(be.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  be.Uint32(b[offCRC:]),
		Attributes:           int16(be.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(be.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(be.Uint32(b[offRecordCount:])),
	}
	if h.Size() < BatchHeaderSize {
		return h, fmt.Errorf("%w: batch size %d is smaller than the minimum overhead %d", ErrCorruptMessage, h.Size(), BatchHeaderSize)
	}
	switch {
	case h.Magic == 2:
	case h.Magic == 0 || h.Magic == 1:
		return h, fmt.Errorf("%w: record batch magic %d, only magic 2 is supported", ErrInvalidRecord, h.Magic)
	default:
		return h, fmt.Errorf("%w: invalid magic %d", ErrCorruptMessage, h.Magic)
	}
	return h, nil
}

// batchCRC computes the CRC-32C of a whole batch from the attributes field on.
func batchCRC(batch []byte) uint32 {
	return crc32.Checksum(batch[offAttributes:], castagnoli)
}

// checkBatch verifies the size and CRC of one complete batch (ensureValid).
func checkBatch(batch []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return h, err
	}
	if h.Size() != int64(len(batch)) {
		return h, fmt.Errorf("%w: batch size %d, have %d bytes", ErrCorruptMessage, h.Size(), len(batch))
	}
	if got := batchCRC(batch); got != h.CRC {
		return h, fmt.Errorf("%w: CRC-32C is %08x, header says %08x", ErrCorruptMessage, got, h.CRC)
	}
	return h, nil
}

// SplitBatches walks concatenated v2 batches and checks each batch's size,
// magic and CRC-32C (the checks Kafka applies to any append, including
// replication). Trailing bytes that do not form a whole batch are an error.
func SplitBatches(records []byte) ([]BatchHeader, error) {
	var hs []BatchHeader
	for pos := 0; pos < len(records); {
		rest := records[pos:]
		if len(rest) < BatchHeaderSize {
			return nil, fmt.Errorf("%w: %d trailing bytes at position %d do not hold a batch header", ErrCorruptMessage, len(rest), pos)
		}
		h, err := ParseBatchHeader(rest)
		if err != nil {
			return nil, fmt.Errorf("batch at position %d: %w", pos, err)
		}
		if h.Size() > int64(len(rest)) {
			return nil, fmt.Errorf("%w: batch at position %d needs %d bytes, only %d left", ErrCorruptMessage, pos, h.Size(), len(rest))
		}
		if _, err := checkBatch(rest[:h.Size()]); err != nil {
			return nil, fmt.Errorf("batch at position %d: %w", pos, err)
		}
		hs = append(hs, h)
		pos += int(h.Size())
	}
	return hs, nil
}

// ValidateBatches checks a produce request's records for one partition the
// way Kafka does before appending:
//   - at least one batch, and exactly one (produce v3+ with magic 2,
//     ProduceRequest.validateRecords / LogValidator);
//   - complete size, magic 2, CRC-32C (ErrCorruptMessage for size and CRC);
//   - baseOffset 0 for a client append (UnifiedLog.analyzeAndValidateRecords);
//   - recordCount >= 1 and lastOffsetDelta+1 == recordCount, no control
//     batch, baseSequence >= 0 when a producer id is set
//     (LogValidator.validateBatch for AppendOrigin.CLIENT);
//   - the records parse and their number matches recordCount; a
//     compressed batch is inflated only as far as its declared records go
//     (streamRecords), so a decompression bomb is refused, not inflated.
//
// Errors wrap ErrCorruptMessage or ErrInvalidRecord. Timestamp checks
// (INVALID_TIMESTAMP) depend on topic config and are left to the caller.
func ValidateBatches(records []byte) ([]BatchHeader, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: produce request has no record batch", ErrInvalidRecord)
	}
	hs, err := SplitBatches(records)
	if err != nil {
		return nil, err
	}
	if len(hs) != 1 {
		return nil, fmt.Errorf("%w: produce requests with magic 2 must carry exactly one record batch per partition, got %d", ErrInvalidRecord, len(hs))
	}
	h := hs[0]
	switch {
	case h.BaseOffset != 0:
		return nil, fmt.Errorf("%w: base offset of a produced batch must be 0, is %d", ErrInvalidRecord, h.BaseOffset)
	case h.LastOffsetDelta < 0:
		return nil, fmt.Errorf("%w: batch has an invalid offset range: last offset delta %d", ErrInvalidRecord, h.LastOffsetDelta)
	case h.RecordCount <= 0:
		return nil, fmt.Errorf("%w: invalid reported count for record batch: %d", ErrInvalidRecord, h.RecordCount)
	case int64(h.LastOffsetDelta)+1 != int64(h.RecordCount):
		return nil, fmt.Errorf("%w: inconsistent batch offset range (last offset delta %d) and count of records %d", ErrInvalidRecord, h.LastOffsetDelta, h.RecordCount)
	case h.IsControl():
		return nil, fmt.Errorf("%w: clients are not allowed to write control records", ErrInvalidRecord)
	case h.HasProducerID() && h.BaseSequence < 0:
		return nil, fmt.Errorf("%w: invalid sequence number %d for producer id %d", ErrInvalidRecord, h.BaseSequence, h.ProducerID)
	case h.Compression() > 4:
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, h.Compression())
	}
	n := 0
	count := func(recordInfo) bool { n++; return true }
	data := records[BatchHeaderSize:h.Size()]
	if h.Compression() == 0 {
		err = walkRecords(data, count)
	} else {
		// LogValidator.validateMessagesAndAssignOffsetsCompressed reads every
		// record of a compressed batch too (skipKeyValueIterator), inflating
		// only as far as the declared records go (streamRecords).
		err = streamRecords(h, data, false, count)
	}
	if err != nil {
		return nil, err
	}
	if n != int(h.RecordCount) {
		return nil, fmt.Errorf("%w: batch declares %d records, holds %d", ErrInvalidRecord, h.RecordCount, n)
	}
	return hs, nil
}

// recordInfo is the part of a v2 record that storage needs. Key and Value
// alias the parsed bytes; Headers is only filled by walkRecordsFull.
type recordInfo struct {
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte
	KeyNull        bool
	ValueNull      bool
	Headers        []RecordHeader
}

// walkRecords parses uncompressed v2 records (DefaultRecord) and calls fn
// for each until fn returns false. Any structural error is ErrInvalidRecord,
// as Kafka's DefaultRecord.readFrom raises InvalidRecordException.
func walkRecords(b []byte, fn func(recordInfo) bool) error {
	return walkRecordsFull(b, false, fn)
}

// walkRecordsFull is walkRecords that also collects headers when asked
// (which allocates, so the append path does not).
func walkRecordsFull(b []byte, withHeaders bool, fn func(recordInfo) bool) error {
	for len(b) > 0 {
		length, n := binary.Varint(b)
		if n <= 0 || length < 0 || length > int64(len(b)-n) {
			return fmt.Errorf("%w: bad record length", ErrInvalidRecord)
		}
		body := b[n : n+int(length)]
		b = b[n+int(length):]
		ri, err := parseRecordBody(body, withHeaders)
		if err != nil {
			return err
		}
		if !fn(ri) {
			return nil
		}
	}
	return nil
}

func parseRecordBody(body []byte, withHeaders bool) (recordInfo, error) {
	var ri recordInfo
	bad := func(what string) (recordInfo, error) {
		return recordInfo{}, fmt.Errorf("%w: invalid record structure: %s", ErrInvalidRecord, what)
	}
	if len(body) < 1 {
		return bad("empty record")
	}
	p := body[1:] // attributes, unused
	v, n := binary.Varint(p)
	if n <= 0 {
		return bad("timestamp delta")
	}
	ri.TimestampDelta = v
	p = p[n:]
	v, n = binary.Varint(p)
	if n <= 0 || v < math.MinInt32 || v > math.MaxInt32 {
		return bad("offset delta")
	}
	ri.OffsetDelta = int32(v)
	p = p[n:]
	// key and value: varint length, -1 for null.
	for i, what := range []string{"key", "value"} {
		l, n := binary.Varint(p)
		if n <= 0 || l < -1 || l > int64(len(p)-n) {
			return bad(what)
		}
		p = p[n:]
		var field []byte
		if l >= 0 {
			field = p[:l:l]
			p = p[l:]
		}
		if i == 0 {
			ri.Key, ri.KeyNull = field, l < 0
		} else {
			ri.Value, ri.ValueNull = field, l < 0
		}
	}
	hc, n := binary.Varint(p)
	if n <= 0 || hc < 0 || hc > int64(len(p)) {
		return bad("header count")
	}
	p = p[n:]
	for i := int64(0); i < hc; i++ {
		kl, n := binary.Varint(p)
		if n <= 0 || kl < 0 || kl > int64(len(p)-n) {
			return bad("header key")
		}
		hk := p[n : n+int(kl)]
		p = p[n+int(kl):]
		vl, n := binary.Varint(p)
		if n <= 0 || vl < -1 || vl > int64(len(p)-n) {
			return bad("header value")
		}
		p = p[n:]
		var hv []byte // nil for a null header value
		if vl >= 0 {
			hv = p[:vl:vl]
			p = p[vl:]
		}
		if withHeaders {
			ri.Headers = append(ri.Headers, RecordHeader{Key: string(hk), Value: hv})
		}
	}
	if len(p) != 0 {
		return bad(fmt.Sprintf("%d bytes left after the record body", len(p)))
	}
	return ri, nil
}

// patchBatch sets baseOffset and partitionLeaderEpoch in place; both lie
// before the CRC'd range, so the CRC stays valid.
// stampLogAppendTime gives a batch the broker's time (LogValidator with
// message.timestamp.type=LogAppendTime: DefaultRecordBatch.setMaxTimestamp):
// the timestamp-type attribute is set and the max timestamp becomes now,
// which every record then reports; the CRC covers both, so it is redone.
func stampLogAppendTime(batch []byte, h BatchHeader, nowMs int64) BatchHeader {
	h.Attributes |= attrTimestampType
	h.MaxTimestamp = nowMs
	binary.BigEndian.PutUint16(batch[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint64(batch[offMaxTimestamp:], uint64(nowMs))
	h.CRC = batchCRC(batch)
	binary.BigEndian.PutUint32(batch[offCRC:], h.CRC)
	return h
}

func patchBatch(b []byte, baseOffset int64, leaderEpoch int32) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(baseOffset))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(leaderEpoch))
}
