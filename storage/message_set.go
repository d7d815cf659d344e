package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// Legacy message sets (message format v0 and v1, Kafka's LegacyRecord) are
// what Produce v0-v2 may carry. Each entry is
//
//	offset int64, size int32, then the message of size bytes:
//	crc int32 (CRC-32 IEEE of the rest), magic int8, attributes int8,
//	[timestamp int64, magic 1 only], key bytes, value bytes
//
// where bytes are an int32 length (negative: null) and the data. Attribute
// bits 0-2 are the codec; a compressed "wrapper" message's value holds an
// inner message set compressed with that codec, whose magic 1 offsets are
// relative (0, 1, ...). Bit 3 (magic 1) is the timestamp type.

// Sizes of the fixed part of a legacy message (LegacyRecord).
const (
	legacyOverheadV0   = 14 // crc, magic, attributes, key length, value length
	legacyOverheadV1   = 22 // and the timestamp
	legacyMagicAt      = 4  // within the message
	legacyEntryMagicAt = logOverhead + legacyMagicAt
)

// legacyMessage is one parsed v0/v1 message.
type legacyMessage struct {
	magic     int8
	attrs     int8
	timestamp int64 // -1 (NO_TIMESTAMP) for magic 0
	key       []byte
	value     []byte
	keyNull   bool
	valueNull bool
}

func (m *legacyMessage) codec() int8 { return m.attrs & attrCompressionMask }

func (m *legacyMessage) logAppendTime() bool { return m.attrs&attrTimestampType != 0 }

// legacyEntry is one entry of an outer message set.
type legacyEntry struct {
	offset int64
	magic  int8
	msg    []byte // the message after offset and size
}

// ConvertLegacyMessageSet converts the records of a Produce v0-v2 request
// into one v2 record batch, as Kafka's LogValidator up-converts on the
// leader (toMagic 2): every message becomes a record with its key, value
// and timestamp (NO_TIMESTAMP for magic 0), offsets 0..n-1, no producer id,
// and the batch is compressed with the wrapper message's codec (what
// compression.type=producer keeps); the batch's timestamp type is
// CreateTime, as the log then stamps LogAppendTime topics itself.
//
// Records that begin with a v2 batch are returned unchanged: Kafka accepts
// v2 batches in any Produce version and the v2 checks then apply.
//
// Errors wrap ErrCorruptMessage (a bad CRC, impossible sizes, a message cut
// short, undecodable compressed data) or ErrInvalidRecord (mixed magics,
// a compressed message that is not alone, a nested compressed message, an
// inner magic other than the wrapper's, a wrapper with a null value or no
// inner messages, an unknown codec), the codes Kafka answers with.
// Empty records are ErrInvalidRecord; Kafka appends nothing for them, so
// the caller decides.
func ConvertLegacyMessageSet(records []byte) ([]byte, error) {
	if len(records) == 0 {
		return nil, fmt.Errorf("%w: empty message set", ErrInvalidRecord)
	}
	if len(records) > legacyEntryMagicAt && records[legacyEntryMagicAt] == 2 {
		return records, nil
	}
	entries, err := splitLegacyEntries(records)
	if err != nil {
		return nil, err
	}
	first := entries[0]
	var outer []legacyMessage
	for i, e := range entries {
		if e.magic != first.magic {
			return nil, fmt.Errorf("%w: message %d has magic %d, the first has %d", ErrInvalidRecord, i, e.magic, first.magic)
		}
		m, err := parseLegacyMessage(e.msg)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		outer = append(outer, m)
	}
	codec := CodecNone
	for _, m := range outer {
		if m.codec() != CodecNone {
			codec = m.codec()
		}
	}
	var recs []Record
	if codec == CodecNone {
		recs = make([]Record, len(outer))
		for i := range outer {
			recs[i] = outer[i].record(int64(i), outer[i].timestamp)
		}
	} else {
		if len(outer) != 1 {
			return nil, fmt.Errorf("%w: a compressed message set must be a single wrapper message, got %d messages", ErrInvalidRecord, len(outer))
		}
		if recs, err = unwrapLegacy(first.offset, &outer[0]); err != nil {
			return nil, err
		}
	}
	h := BatchHeader{
		PartitionLeaderEpoch: -1,
		Attributes:           int16(codec),
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
	}
	batch, err := BuildBatch(h, recs)
	if err != nil {
		return nil, fmt.Errorf("building the converted batch: %w", err)
	}
	return batch, nil
}

// splitLegacyEntries walks an outer message set, checking each entry's size
// and magic (ByteBufferLogInputStream) and each legacy message's CRC
// (UnifiedLog.analyzeAndValidateRecords); all of these are
// CORRUPT_MESSAGE. A v2 batch after legacy messages is only delimited: the
// magic mismatch is found afterwards.
func splitLegacyEntries(records []byte) ([]legacyEntry, error) {
	var entries []legacyEntry
	for pos := 0; pos < len(records); {
		rest := records[pos:]
		if len(rest) < logOverhead {
			return nil, fmt.Errorf("%w: %d trailing bytes at position %d do not hold a message header", ErrCorruptMessage, len(rest), pos)
		}
		size := int32(binary.BigEndian.Uint32(rest[8:]))
		if size < legacyOverheadV0 {
			return nil, fmt.Errorf("%w: message at position %d has size %d, less than the minimum record overhead %d", ErrCorruptMessage, pos, size, legacyOverheadV0)
		}
		if len(rest) <= legacyEntryMagicAt {
			return nil, fmt.Errorf("%w: message at position %d is cut short before its magic", ErrCorruptMessage, pos)
		}
		magic := int8(rest[legacyEntryMagicAt])
		if magic < 0 || magic > 2 {
			return nil, fmt.Errorf("%w: invalid magic %d at position %d", ErrCorruptMessage, magic, pos)
		}
		if int64(size) > int64(len(rest)-logOverhead) {
			return nil, fmt.Errorf("%w: message at position %d needs %d bytes, only %d left", ErrCorruptMessage, pos, size, len(rest)-logOverhead)
		}
		msg := rest[logOverhead : logOverhead+int(size)]
		if magic < 2 {
			if got, want := crc32.ChecksumIEEE(msg[legacyMagicAt:]), binary.BigEndian.Uint32(msg); got != want {
				return nil, fmt.Errorf("%w: message at position %d: stored crc %d, computed crc %d", ErrCorruptMessage, pos, want, got)
			}
		}
		entries = append(entries, legacyEntry{offset: int64(binary.BigEndian.Uint64(rest)), magic: magic, msg: msg})
		pos += logOverhead + int(size)
	}
	return entries, nil
}

// parseLegacyMessage reads the fields of a v0/v1 message whose size and CRC
// are already checked. A key or value running past the message is corrupt;
// bytes after the value are ignored, as LegacyRecord does.
func parseLegacyMessage(b []byte) (legacyMessage, error) {
	m := legacyMessage{magic: int8(b[legacyMagicAt]), attrs: int8(b[legacyMagicAt+1]), timestamp: -1}
	p := b[legacyMagicAt+2:]
	if m.magic == 1 {
		if len(b) < legacyOverheadV1 {
			return m, fmt.Errorf("%w: magic 1 message of %d bytes, the minimum is %d", ErrCorruptMessage, len(b), legacyOverheadV1)
		}
		m.timestamp = int64(binary.BigEndian.Uint64(p))
		p = p[8:]
	}
	var err error
	if m.key, m.keyNull, p, err = legacyBytes(p, "key"); err != nil {
		return m, err
	}
	if m.value, m.valueNull, _, err = legacyBytes(p, "value"); err != nil {
		return m, err
	}
	return m, nil
}

// legacyBytes reads an int32-length-prefixed field (negative: null).
func legacyBytes(p []byte, what string) (data []byte, null bool, rest []byte, err error) {
	if len(p) < 4 {
		return nil, false, nil, fmt.Errorf("%w: message cut short before its %s length", ErrCorruptMessage, what)
	}
	n := int32(binary.BigEndian.Uint32(p))
	p = p[4:]
	if n < 0 {
		return nil, true, p, nil
	}
	if int64(n) > int64(len(p)) {
		return nil, false, nil, fmt.Errorf("%w: %s of %d bytes in a message with %d left", ErrCorruptMessage, what, n, len(p))
	}
	return p[:n:n], false, p[n:], nil
}

// record is the v2 record for this message at offset with timestamp ts.
func (m *legacyMessage) record(offset, ts int64) Record {
	return Record{
		Offset:    offset,
		Timestamp: ts,
		Key:       m.key,
		Value:     m.value,
		KeyNull:   m.keyNull,
		ValueNull: m.valueNull,
	}
}

// unwrapLegacy decompresses a wrapper message and returns its inner
// messages as records (AbstractLegacyRecordBatch's deep iterator with
// LogValidator's checks): inner messages of a LogAppendTime magic 1 wrapper
// take the wrapper's timestamp.
func unwrapLegacy(wrapperOffset int64, w *legacyMessage) ([]Record, error) {
	codec := w.codec()
	switch {
	case codec >= CodecZstd:
		return nil, fmt.Errorf("%w: compression codec %s is not allowed with magic %d", ErrInvalidRecord, CodecName(codec), w.magic)
	case w.valueNull:
		return nil, fmt.Errorf("%w: compressed message with a null value (magic %d)", ErrInvalidRecord, w.magic)
	}
	data := w.value
	if codec == CodecLZ4 && w.magic == 0 {
		// Kafka's first LZ4 framing checksummed the frame magic too; magic 0
		// wrappers are read ignoring that byte (KafkaLZ4BlockInputStream's
		// ignoreFlagDescriptorChecksum), so it is recomputed here.
		data = fixLZ4HeaderChecksum(data)
	}
	inner, err := Decompress(codec, data)
	if err != nil {
		return nil, fmt.Errorf("compressed message: %w", err)
	}
	var (
		recs       []Record
		lastOffset int64
		badMagic   error
	)
	// DataLogInputStream: an entry cut short ends the inner set quietly;
	// one declaring less than the minimum overhead is corrupt.
	for p := inner; len(p) >= logOverhead; {
		off := int64(binary.BigEndian.Uint64(p))
		size := int32(binary.BigEndian.Uint32(p[8:]))
		if size < legacyOverheadV0 {
			return nil, fmt.Errorf("%w: inner message of size %d, less than the minimum record overhead %d", ErrCorruptMessage, size, legacyOverheadV0)
		}
		if int64(size) > int64(len(p)-logOverhead) {
			break
		}
		msg := p[logOverhead : logOverhead+int(size)]
		p = p[logOverhead+int(size):]
		lastOffset = off
		magic, attrs := int8(msg[legacyMagicAt]), int8(msg[legacyMagicAt+1])
		if attrs&attrCompressionMask != 0 {
			return nil, fmt.Errorf("%w: inner messages must not be compressed", ErrInvalidRecord)
		}
		if magic != w.magic {
			// LogValidator collects this record error and goes on; a later
			// corrupt record still answers CORRUPT_MESSAGE.
			if badMagic == nil {
				badMagic = fmt.Errorf("%w: inner message %d has magic %d, the wrapper %d", ErrInvalidRecord, len(recs), magic, w.magic)
			}
			recs = append(recs, Record{})
			continue
		}
		if got, want := crc32.ChecksumIEEE(msg[legacyMagicAt:]), binary.BigEndian.Uint32(msg); got != want {
			return nil, fmt.Errorf("%w: inner message %d: stored crc %d, computed crc %d", ErrCorruptMessage, len(recs), want, got)
		}
		m, err := parseLegacyMessage(msg)
		if err != nil {
			return nil, fmt.Errorf("inner message %d: %w", len(recs), err)
		}
		ts := m.timestamp
		if w.magic == 1 && w.logAppendTime() {
			ts = w.timestamp
		}
		recs = append(recs, m.record(int64(len(recs)), ts))
	}
	if badMagic != nil {
		return nil, badMagic
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: compressed message set with no inner messages", ErrInvalidRecord)
	}
	if w.magic == 1 && wrapperOffset != 0 && wrapperOffset < lastOffset {
		return nil, fmt.Errorf("%w: wrapper offset %d is less than the last inner message offset %d and it is not zero", ErrInvalidRecord, wrapperOffset, lastOffset)
	}
	return recs, nil
}

// lz4FrameMagic is the LZ4 frame format's magic number, little-endian.
const lz4FrameMagic = 0x184D2204

// fixLZ4HeaderChecksum returns an LZ4 frame whose header checksum byte is
// the correct one (the second byte of the XXH32 of the frame descriptor).
// Anything that is not an LZ4 frame header is returned unchanged for the
// decoder to refuse.
func fixLZ4HeaderChecksum(data []byte) []byte {
	if len(data) < 7 || binary.LittleEndian.Uint32(data) != lz4FrameMagic {
		return data
	}
	flg := data[4]
	descLen := 2 // FLG, BD
	if flg&0x08 != 0 {
		descLen += 8 // content size
	}
	if flg&0x01 != 0 {
		descLen += 4 // dictionary id
	}
	hcAt := 4 + descLen
	if len(data) <= hcAt {
		return data
	}
	hc := byte(xxh32(data[4:hcAt], 0) >> 8)
	if data[hcAt] == hc {
		return data
	}
	out := make([]byte, len(data))
	copy(out, data)
	out[hcAt] = hc
	return out
}

// XXH32 primes.
const (
	xxhPrime1 uint32 = 2654435761
	xxhPrime2 uint32 = 2246822519
	xxhPrime3 uint32 = 3266489917
	xxhPrime4 uint32 = 668265263
	xxhPrime5 uint32 = 374761393
)

// xxh32 is the 32-bit xxHash of b, which the LZ4 frame format checksums
// with.
func xxh32(b []byte, seed uint32) uint32 {
	n := uint32(len(b))
	var h uint32
	if len(b) >= 16 {
		v1 := seed + xxhPrime1 + xxhPrime2
		v2 := seed + xxhPrime2
		v3 := seed
		v4 := seed - xxhPrime1
		round := func(v uint32, lane []byte) uint32 {
			return bits.RotateLeft32(v+binary.LittleEndian.Uint32(lane)*xxhPrime2, 13) * xxhPrime1
		}
		for ; len(b) >= 16; b = b[16:] {
			v1 = round(v1, b[0:])
			v2 = round(v2, b[4:])
			v3 = round(v3, b[8:])
			v4 = round(v4, b[12:])
		}
		h = bits.RotateLeft32(v1, 1) + bits.RotateLeft32(v2, 7) + bits.RotateLeft32(v3, 12) + bits.RotateLeft32(v4, 18)
	} else {
		h = seed + xxhPrime5
	}
	h += n
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * xxhPrime3
		h = bits.RotateLeft32(h, 17) * xxhPrime4
	}
	for _, c := range b {
		h += uint32(c) * xxhPrime5
		h = bits.RotateLeft32(h, 11) * xxhPrime1
	}
	h ^= h >> 15
	h *= xxhPrime2
	h ^= h >> 13
	h *= xxhPrime3
	h ^= h >> 16
	return h
}
