package storage

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"time"
)

// Sizes used by Kafka's lazy down-conversion (LazyDownConversionRecordsSend).
const (
	downConvertChunk   = 128 << 10   // MAX_READ_SIZE: source bytes converted at a time
	minOverflowMessage = logOverhead // MIN_OVERFLOW_MESSAGE_LENGTH
)

// DownConversion is the result of DownConvert: the message set to send and
// the cost of producing it (Kafka's RecordValidationStats).
type DownConversion struct {
	Records []byte
	// ConvertedRecords counts the records written in the older format.
	ConvertedRecords int
	// TemporaryBytes is the memory the conversion held: the source batches
	// plus the uncompressed bytes written.
	TemporaryBytes int64
	Duration       time.Duration
}

// DownConvert converts records, a log read of v2 batches (possibly with a
// partial trailing batch), to a message set of toMagic (0 or 1), as Kafka
// answers Fetch v0-v3 (KafkaApis.maybeConvertFetchedData with
// LazyDownConversionRecords, RecordsUtil.downConvert and
// MemoryRecordsBuilder):
//
//   - control batches are dropped; the records of transactional batches are
//     kept (old formats know no transactions);
//   - an uncompressed batch becomes one message per record at its own
//     offset, records before fetchOffset left out; a compressed batch
//     becomes one wrapper message at the batch's last record offset holding
//     every record, with inner offsets relative to its first record for
//     magic 1 and absolute for magic 0, compressed with the batch's codec
//     (LZ4 with the old frame header checksum for magic 0);
//   - headers are dropped; magic 1 keeps each record's timestamp, or for a
//     LogAppendTime batch the batch's max timestamp with the timestamp-type
//     attribute set, and a wrapper carries the inner messages' max timestamp;
//   - the answer is max(len(records), size of the first converted batch)
//     bytes: a longer conversion is cut (a partial trailing message, which
//     old clients ignore), a shorter one is padded with "overflow" message
//     headers (offset -1, a size past the end) that clients discard.
//
// A zstd batch among the first convertible ones is ErrUnsupportedCompression;
// a later one ends the conversion there, the rest being overflow padding
// (the client then fetches the zstd batch and gets the error). Records that
// cannot be decoded are an error wrapping ErrCorruptMessage.
//
// Kafka re-sends the first converted batch when control batches precede
// it (its send iterator skips only one source batch); here it is sent once.
func DownConvert(records []byte, toMagic int8, fetchOffset int64) (DownConversion, error) {
	start := time.Now()
	if toMagic != 0 && toMagic != 1 {
		return DownConversion{}, fmt.Errorf("%w: cannot down-convert to magic %d", ErrInvalidRecord, toMagic)
	}
	batches := completeBatches(records)
	var res DownConversion
	// LazyDownConversionRecords: the first batch whose conversion is not
	// empty fixes the least size of the answer.
	var first []byte
	next := len(batches)
	for i := range batches {
		out, n, tmp, err := downConvertBatches(batches[i:i+1], toMagic, fetchOffset)
		if err != nil {
			return DownConversion{}, err
		}
		res.ConvertedRecords += n
		res.TemporaryBytes += tmp
		if len(out) > 0 {
			first, next = out, i+1
			break
		}
	}
	size := int64(len(records))
	switch {
	case first != nil:
		size = max(size, int64(len(first)))
	case len(batches) > 0:
		// Batches, none left after conversion: an overflow message lets
		// the client see there is more (RecordTooLargeException).
		size = minOverflowMessage
	default:
		size = 0
	}
	if size > math.MaxInt32 {
		size = math.MaxInt32
	}
	out := make([]byte, 0, size)
	out = appendCut(out, first, size)
	// LazyDownConversionRecordsSend: the rest in chunks of up to 128 KiB
	// of source batches, at least one batch each.
	for i := next; i < len(batches) && int64(len(out)) < size; {
		j, sum := i+1, int64(len(batches[i]))
		for j < len(batches) && sum+int64(len(batches[j])) <= downConvertChunk {
			sum += int64(len(batches[j]))
			j++
		}
		chunk, n, tmp, err := downConvertBatches(batches[i:j], toMagic, fetchOffset)
		if err != nil {
			break // overflow padding from here on
		}
		res.ConvertedRecords += n
		res.TemporaryBytes += tmp
		out = appendCut(out, chunk, size)
		i = j
	}
	res.Records = appendOverflow(out, size-int64(len(out)))
	res.Duration = time.Since(start)
	return res, nil
}

// completeBatches splits records into its whole batches, stopping at a
// partial one (FileLogInputStream.nextBatch).
func completeBatches(records []byte) [][]byte {
	var out [][]byte
	for p := records; len(p) >= logOverhead; {
		size := int64(int32(binary.BigEndian.Uint32(p[offLength:]))) + logOverhead
		if size < logOverhead || size > int64(len(p)) {
			break
		}
		out = append(out, p[:size:size])
		p = p[size:]
	}
	return out
}

// appendCut appends as much of b as fits in size bytes.
func appendCut(out, b []byte, size int64) []byte {
	room := size - int64(len(out))
	if room <= 0 {
		return out
	}
	return append(out, b[:min(int64(len(b)), room)]...)
}

// appendOverflow pads with overflow messages, as
// LazyDownConversionRecordsSend.buildOverflowBatch: offset -1 and a size
// beyond the bytes left, so that a client reads it as a partial message.
func appendOverflow(out []byte, remaining int64) []byte {
	for remaining > 0 {
		n := max(minOverflowMessage, min(remaining+1, downConvertChunk))
		msg := make([]byte, n)
		binary.BigEndian.PutUint64(msg, math.MaxUint64) // -1
		binary.BigEndian.PutUint32(msg[8:], uint32(max(remaining+1, BatchHeaderSize)))
		w := min(n, remaining)
		out = append(out, msg[:w]...)
		remaining -= w
	}
	return out
}

// downConvertBatches is RecordsUtil.downConvert over whole batches: the
// converted bytes, the records converted and the temporary memory used.
func downConvertBatches(batches [][]byte, toMagic int8, fetchOffset int64) ([]byte, int, int64, error) {
	var (
		out []byte
		n   int
		tmp int64
	)
	for _, b := range batches {
		if len(b) > offMagic && int8(b[offMagic]) <= toMagic {
			// Already in a format the client reads: sent as it is.
			out = append(out, b...)
			tmp += int64(len(b))
			continue
		}
		h, err := ParseBatchHeader(b)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("down-conversion: %w", err)
		}
		if h.IsControl() {
			continue
		}
		if h.Compression() == CodecZstd {
			return nil, 0, 0, fmt.Errorf("%w: batch at offset %d", ErrUnsupportedCompression, h.BaseOffset)
		}
		recs, err := Records(b)
		if err != nil {
			return nil, 0, 0, fmt.Errorf("down-conversion: %w", err)
		}
		if h.Compression() == CodecNone {
			// Uncompressed v0/v1 messages are not batched: records before
			// the fetch offset can be left out (some librdkafka versions
			// rely on it).
			kept := recs[:0]
			for _, r := range recs {
				if r.Offset >= fetchOffset {
					kept = append(kept, r)
				}
			}
			recs = kept
		}
		if len(recs) == 0 {
			continue
		}
		tmp += int64(len(b))
		before := len(out)
		out, err = appendLegacyBatch(out, h, recs, toMagic)
		if err != nil {
			return nil, 0, 0, err
		}
		n += len(recs)
		tmp += int64(len(out) - before)
	}
	return out, n, tmp, nil
}

// appendLegacyBatch writes recs, the records of the v2 batch h, as magic 0
// or 1 messages (MemoryRecordsBuilder with RecordsUtil.convertRecordBatch's
// settings: the batch's codec and timestamp type, base offset the first
// record's).
func appendLegacyBatch(out []byte, h BatchHeader, recs []Record, magic int8) ([]byte, error) {
	lat := h.LogAppendTime()
	var tsAttr int8
	if lat && magic > 0 {
		tsAttr = attrTimestampType
	}
	timestamp := func(r *Record) int64 {
		if lat {
			return h.MaxTimestamp
		}
		return r.Timestamp
	}
	codec := h.Compression()
	if codec == CodecNone {
		for i := range recs {
			r := &recs[i]
			out = appendLegacyEntry(out, r.Offset, magic, tsAttr, timestamp(r), r.Key, r.KeyNull, r.Value, r.ValueNull)
		}
		return out, nil
	}
	base := recs[0].Offset
	var inner []byte
	maxTs := int64(-1) // NO_TIMESTAMP
	for i := range recs {
		r := &recs[i]
		off := r.Offset
		if magic > 0 {
			off -= base // MemoryRecordsBuilder.toInnerOffset
		}
		ts := timestamp(r)
		if magic > 0 && ts > maxTs {
			maxTs = ts
		}
		inner = appendLegacyEntry(inner, off, magic, tsAttr, ts, r.Key, r.KeyNull, r.Value, r.ValueNull)
	}
	value, err := Compress(codec, inner)
	if err != nil {
		return nil, fmt.Errorf("down-conversion: %w", err)
	}
	if codec == CodecLZ4 && magic == 0 {
		value = breakLZ4HeaderChecksum(value)
	}
	wrapperTs := maxTs
	if lat {
		wrapperTs = h.MaxTimestamp
	}
	last := recs[len(recs)-1].Offset
	return appendLegacyEntry(out, last, magic, codec|tsAttr, wrapperTs, nil, true, value, false), nil
}

// appendLegacyEntry writes one message set entry: offset, size, then the
// message (LegacyRecord.write): crc, magic, attributes, timestamp (magic 1),
// key and value as int32-length bytes, -1 for null.
func appendLegacyEntry(out []byte, offset int64, magic, attrs int8, ts int64, key []byte, keyNull bool, value []byte, valueNull bool) []byte {
	size := legacyOverheadV0 + len(key) + len(value)
	if magic > 0 {
		size = legacyOverheadV1 + len(key) + len(value)
	}
	out = binary.BigEndian.AppendUint64(out, uint64(offset))
	out = binary.BigEndian.AppendUint32(out, uint32(size))
	crcAt := len(out)
	out = append(out, 0, 0, 0, 0, byte(magic), byte(attrs))
	if magic > 0 {
		out = binary.BigEndian.AppendUint64(out, uint64(ts))
	}
	out = appendLegacyBytes(out, key, keyNull)
	out = appendLegacyBytes(out, value, valueNull)
	binary.BigEndian.PutUint32(out[crcAt:], crc32.ChecksumIEEE(out[crcAt+legacyMagicAt:]))
	return out
}

func appendLegacyBytes(out, b []byte, null bool) []byte {
	if null {
		return binary.BigEndian.AppendUint32(out, math.MaxUint32) // -1
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}

// breakLZ4HeaderChecksum rewrites an LZ4 frame's header checksum the way
// Kafka's first LZ4 framing computed it, over the frame magic too, which is
// what magic 0 readers expect (Lz4BlockOutputStream's
// useBrokenFlagDescriptorChecksum).
func breakLZ4HeaderChecksum(data []byte) []byte {
	if len(data) < 7 || binary.LittleEndian.Uint32(data) != lz4FrameMagic {
		return data
	}
	descLen := 2
	if data[4]&0x08 != 0 {
		descLen += 8
	}
	if data[4]&0x01 != 0 {
		descLen += 4
	}
	hcAt := 4 + descLen
	if len(data) <= hcAt {
		return data
	}
	data[hcAt] = byte(xxh32(data[:hcAt], 0) >> 8)
	return data
}
