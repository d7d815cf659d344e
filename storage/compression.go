package storage

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression codecs: attribute bits 0-2 of a v2 batch (CompressionType).
const (
	CodecNone   int8 = 0
	CodecGzip   int8 = 1
	CodecSnappy int8 = 2
	CodecLZ4    int8 = 3
	CodecZstd   int8 = 4
)

// attrDeleteHorizon is attribute bit 6: baseTimestamp holds the delete
// horizon of a compacted batch with tombstones (KIP-534).
const attrDeleteHorizon = 0x40

// MaxDecompressedBytes bounds what one batch may decompress to, so a small
// corrupt or hostile batch cannot exhaust memory.
const MaxDecompressedBytes = 256 << 20

// CodecName is Kafka's CompressionType.name for a codec id.
func CodecName(codec int8) string {
	switch codec {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("unknown(%d)", codec)
}

// RecordHeader is one record header; Value is nil for a null value.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Record is one decoded v2 record with its absolute offset and timestamp.
// Key and Value are nil when null (KeyNull/ValueNull); they may alias the
// batch or its decompressed body.
type Record struct {
	Offset    int64
	Timestamp int64
	Key       []byte
	Value     []byte
	KeyNull   bool
	ValueNull bool
	Headers   []RecordHeader
}

// xerial framing, as written by snappy-java's SnappyOutputStream, which
// Kafka's SnappyFactory uses: magic, version 1, compatible version 1, then
// blocks of [int32 length][raw snappy block] of at most 32 KiB input each.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const (
	xerialHeaderLen = 16
	xerialBlockSize = 32 << 10
)

// zstd encoders and decoders are costly to build and safe for concurrent
// EncodeAll/DecodeAll, so one of each is built on first use and then only read.
var (
	zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
		return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	})
	zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
		return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0),
			zstd.WithDecoderMaxMemory(MaxDecompressedBytes), zstd.WithDecoderMaxWindow(zstdMaxWindow))
	})
)

func corrupt(codec int8, err error) error {
	return fmt.Errorf("%w: %s decompression failed: %v", ErrCorruptMessage, CodecName(codec), err)
}

// errLZ4Frame is an LZ4 frame Kafka's Lz4BlockInputStream refuses in
// readHeader. Kafka's Lz4Compression.wrapForInput turns any such failure
// into a KafkaException, which ReplicaManager.appendToLocalLog answers with
// UNKNOWN_SERVER_ERROR: the error carries no Kafka code on purpose.
var errLZ4Frame = errors.New("lz4 frame refused")

// checkLZ4Frame is Lz4BlockInputStream.readHeader with FLG.validate and
// BD.validate: at least 6 bytes, the frame magic (no legacy or skippable
// frames), FLG reserved bits 0, block independence set ("Dependent block
// stream is unsupported": Kafka decodes each block on its own), version 1,
// BD reserved bits 0, block maximum size 4..7 (64 KiB to 4 MiB), the content
// size (8 bytes) present when flagged, and the descriptor checksum (HC:
// second byte of xxHash32 of FLG..content size). Kafka skips HC only for
// magic v0 message sets (old clients' wrong checksums); the decoder checks
// it for those too. Block checksums and sizes, and the content checksum
// (read but not verified by Kafka, verified by the decoder), are the
// decoder's.
func checkLZ4Frame(data []byte) (hdrLen int, err error) {
	refuse := func(msg string) error { return fmt.Errorf("%w: %s", errLZ4Frame, msg) }
	if len(data) < 6 {
		return 0, refuse("Stream ended prematurely")
	}
	if binary.LittleEndian.Uint32(data) != lz4FrameMagic {
		return 0, refuse("Stream unsupported (invalid magic bytes)")
	}
	flg, bd := data[4], data[5]
	switch {
	case flg&3 != 0:
		return 0, refuse("Reserved bits must be 0")
	case flg>>5&1 != 1:
		return 0, refuse("Dependent block stream is unsupported")
	case flg>>6 != 1:
		return 0, refuse(fmt.Sprintf("Version %d is unsupported", flg>>6))
	case bd&15 != 0:
		return 0, refuse("Reserved2 field must be 0")
	case bd>>4&7 < 4:
		return 0, refuse("Block size value must be between 4 and 7")
	case bd>>7 != 0:
		return 0, refuse("Reserved3 field must be 0")
	}
	end := 6
	if flg>>3&1 == 1 {
		end += 8
	}
	if len(data) < end+1 {
		return 0, refuse("Stream ended prematurely")
	}
	if hc := byte(xxh32(data[4:end], 0) >> 8); data[end] != hc {
		return 0, refuse("Stream frame descriptor corrupted")
	}
	return end + 1, nil
}

// lz4FrameReader is the LZ4 frame of data as Kafka's Lz4BlockInputStream
// reads it, for the decoder: the descriptor checked (checkLZ4Frame), then
// the blocks walked as readBlock does - a block larger than the
// descriptor's maximum ("Block size %d exceeded max: %d"), a block, its
// checksum or the content checksum cut short, or no end mark all fail
// with errLZ4Frame (Kafka: an IOException or buffer underflow, a
// KafkaException for the append, UNKNOWN_SERVER_ERROR) - and nothing after
// the end mark: Kafka reads but does not verify the content checksum, and
// ignores any bytes after the frame. The decoder is handed the descriptor
// without the content checksum flag (its checksum recomputed) and the frame
// cut after the end mark; it still checks block contents and checksums.
func lz4FrameReader(data []byte) (io.Reader, error) {
	hdrLen, err := checkLZ4Frame(data)
	if err != nil {
		return nil, err
	}
	refuse := func(msg string) error { return fmt.Errorf("%w: %s", errLZ4Frame, msg) }
	flg := data[4]
	maxBlock := 1 << (2*int(data[5]>>4&7) + 8)
	for pos := hdrLen; ; {
		if len(data)-pos < 4 {
			return nil, refuse("Stream ended prematurely")
		}
		size := int(binary.LittleEndian.Uint32(data[pos:]) &^ (1 << 31))
		pos += 4
		if size == 0 {
			if flg&0x04 != 0 && len(data)-pos < 4 {
				return nil, refuse("content checksum cut short")
			}
			if flg&0x04 == 0 && pos == len(data) {
				return bytes.NewReader(data), nil // nothing to change
			}
			hdr := slices.Clone(data[:hdrLen])
			hdr[4] &^= 0x04
			hdr[hdrLen-1] = byte(xxh32(hdr[4:hdrLen-1], 0) >> 8)
			return io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(data[hdrLen:pos])), nil
		}
		if size > maxBlock {
			return nil, refuse(fmt.Sprintf("Block size %d exceeded max: %d", size, maxBlock))
		}
		if len(data)-pos < size {
			return nil, refuse("Stream ended prematurely")
		}
		pos += size
		if flg&0x10 != 0 {
			if len(data)-pos < 4 {
				return nil, refuse("block checksum cut short")
			}
			pos += 4
		}
	}
}

// Decompress returns the decompressed records section of a batch. Corrupt
// input gives an error wrapping ErrCorruptMessage; an unknown codec one
// wrapping ErrInvalidRecord. Codec none returns data itself.
func Decompress(codec int8, data []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return data, nil
	case CodecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, corrupt(codec, err)
		}
		out, err := readLimited(zr, len(data))
		if err != nil {
			return nil, corrupt(codec, err)
		}
		return out, nil
	case CodecSnappy:
		out, err := decodeSnappy(data)
		if err != nil {
			return nil, corrupt(codec, err)
		}
		return out, nil
	case CodecLZ4:
		// Legacy message sets and the cleaner read frames here: a refused
		// descriptor stays CORRUPT_MESSAGE on these paths.
		fr, err := lz4FrameReader(data)
		if err != nil {
			return nil, corrupt(codec, err)
		}
		out, err := readLimited(lz4.NewReader(fr), len(data))
		if err != nil {
			return nil, corrupt(codec, err)
		}
		return out, nil
	case CodecZstd:
		dec, err := zstdDecoder()
		if err != nil {
			return nil, fmt.Errorf("zstd decoder: %w", err)
		}
		out, err := dec.DecodeAll(data, nil)
		if err != nil {
			return nil, corrupt(codec, err)
		}
		if len(out) > MaxDecompressedBytes {
			return nil, corrupt(codec, errors.New("output exceeds the decompression limit"))
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, codec)
}

// readLimited reads r to EOF, failing beyond MaxDecompressedBytes.
func readLimited(r io.Reader, inLen int) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, min(4*inLen+512, MaxDecompressedBytes)))
	n, err := buf.ReadFrom(io.LimitReader(r, MaxDecompressedBytes+1))
	if err != nil {
		return nil, err
	}
	if n > MaxDecompressedBytes {
		return nil, errors.New("output exceeds the decompression limit")
	}
	return buf.Bytes(), nil
}

// decodeSnappy reads xerial-framed snappy (what Kafka's producer writes) or
// a single raw snappy block (what snappy-java also accepts, and what some
// clients send).
func decodeSnappy(data []byte) ([]byte, error) {
	if len(data) < xerialHeaderLen || !bytes.Equal(data[:len(xerialMagic)], xerialMagic) {
		return decodeSnappyBlock(nil, data)
	}
	var out []byte
	for p := data[xerialHeaderLen:]; len(p) > 0; {
		if len(p) < 4 {
			return nil, fmt.Errorf("xerial block length cut short: %d bytes", len(p))
		}
		n := binary.BigEndian.Uint32(p)
		p = p[4:]
		if uint64(n) > uint64(len(p)) {
			return nil, fmt.Errorf("xerial block of %d bytes, %d left", n, len(p))
		}
		var err error
		if out, err = decodeSnappyBlock(out, p[:n]); err != nil {
			return nil, err
		}
		p = p[n:]
	}
	return out, nil
}

// decodeSnappyBlock appends the decoding of one raw snappy block to dst.
// Strict snappy expands at most 64 bytes per 3 input bytes, so a declared
// length beyond that is corrupt and is refused before allocating.
func decodeSnappyBlock(dst, block []byte) ([]byte, error) {
	n, err := s2.DecodedLen(block)
	if err != nil {
		return nil, err
	}
	if n > 22*len(block)+64 || len(dst)+n > MaxDecompressedBytes {
		return nil, fmt.Errorf("snappy block declares %d bytes from %d", n, len(block))
	}
	start := len(dst)
	dst = growLen(dst, n)
	if _, err := snappy.DecodeStrict(dst[start:], block); err != nil {
		return nil, err
	}
	return dst, nil
}

// growLen extends b by n bytes, reallocating as needed.
func growLen(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b[:len(b)+n]
	}
	nb := make([]byte, len(b)+n, max(2*cap(b), len(b)+n))
	copy(nb, b)
	return nb
}

// Compress compresses a batch's records section with a codec, in the
// framing Kafka's own producer writes: gzip members, xerial-framed snappy,
// LZ4 frames with 64 KiB blocks (KafkaLZ4BlockOutputStream), zstd frames.
func Compress(codec int8, data []byte) ([]byte, error) {
	switch codec {
	case CodecNone:
		return data, nil
	case CodecGzip:
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write(data); err != nil {
			return nil, fmt.Errorf("gzip compress: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip compress: %w", err)
		}
		return buf.Bytes(), nil
	case CodecSnappy:
		out := make([]byte, 0, xerialHeaderLen+len(data)+len(data)/6+64)
		out = append(out, xerialMagic...)
		out = binary.BigEndian.AppendUint32(out, 1) // version
		out = binary.BigEndian.AppendUint32(out, 1) // compatible version
		// Empty input still gets one (empty) block: some readers want one.
		for p, first := data, true; len(p) > 0 || first; first = false {
			chunk := p[:min(len(p), xerialBlockSize)]
			p = p[len(chunk):]
			lenAt := len(out)
			out = append(out, 0, 0, 0, 0)
			start := len(out)
			buf := growLen(out, s2.MaxEncodedLen(len(chunk)))
			enc := s2.EncodeSnappy(buf[start:], chunk) // in place: buf[start:] is long enough
			out = append(buf[:start], enc...)          // a self-copy when in place
			binary.BigEndian.PutUint32(out[lenAt:], uint32(len(enc)))
		}
		return out, nil
	case CodecLZ4:
		var buf bytes.Buffer
		zw := lz4.NewWriter(&buf)
		if err := zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb)); err != nil {
			return nil, fmt.Errorf("lz4 options: %w", err)
		}
		if _, err := zw.Write(data); err != nil {
			return nil, fmt.Errorf("lz4 compress: %w", err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("lz4 compress: %w", err)
		}
		return buf.Bytes(), nil
	case CodecZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		return enc.EncodeAll(data, make([]byte, 0, len(data)/2+64)), nil
	}
	return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, codec)
}

// Records decodes every record of one v2 batch, decompressing as needed.
// It checks the batch size and structure but not the CRC (callers that
// need it check it, as Kafka's iterators do not either). Offsets are
// baseOffset + offsetDelta; timestamps baseTimestamp + timestampDelta, or
// the batch max timestamp for LogAppendTime batches (DefaultRecordBatch).
func Records(batch []byte) ([]Record, error) {
	h, err := ParseBatchHeader(batch)
	if err != nil {
		return nil, err
	}
	if h.Size() != int64(len(batch)) {
		return nil, fmt.Errorf("%w: batch size %d, have %d bytes", ErrCorruptMessage, h.Size(), len(batch))
	}
	if h.RecordCount < 0 {
		return nil, fmt.Errorf("%w: invalid record count %d", ErrInvalidRecord, h.RecordCount)
	}
	// Each record takes at least 7 bytes (uncompressed), which bounds a
	// corrupt count before anything is allocated by it.
	data := batch[BatchHeaderSize:]
	recs := make([]Record, 0, min(int(h.RecordCount), len(data)/7+1))
	visit := func(ri recordInfo) bool {
		ts := h.BaseTimestamp + ri.TimestampDelta
		if h.LogAppendTime() {
			ts = h.MaxTimestamp
		}
		recs = append(recs, Record{
			Offset:    h.BaseOffset + int64(ri.OffsetDelta),
			Timestamp: ts,
			Key:       ri.Key,
			Value:     ri.Value,
			KeyNull:   ri.KeyNull,
			ValueNull: ri.ValueNull,
			Headers:   ri.Headers,
		})
		return true
	}
	if h.Compression() == CodecNone {
		err = walkRecordsFull(data, true, visit)
	} else {
		err = streamRecords(h, data, true, visit)
	}
	if err != nil {
		return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	if len(recs) != int(h.RecordCount) {
		return nil, fmt.Errorf("%w: batch at offset %d declares %d records, holds %d", ErrInvalidRecord, h.BaseOffset, h.RecordCount, len(recs))
	}
	return recs, nil
}

// BuildBatch encodes a v2 batch of records, compressed with the codec in
// h.Attributes, with correct length, count, timestamps and CRC-32C. From h
// it takes BaseOffset, PartitionLeaderEpoch, Attributes, ProducerID,
// ProducerEpoch and BaseSequence; a LastOffsetDelta beyond the last record is
// kept (the cleaner keeps a batch's last offset so the producer's last
// sequence survives, MemoryRecords.filterTo). With the delete-horizon bit
// set, h.BaseTimestamp is the horizon and becomes baseTimestamp; otherwise
// the first record's timestamp does (MemoryRecordsBuilder). For
// LogAppendTime batches, maxTimestamp is h.MaxTimestamp. With no records
// it writes Kafka's empty batch (writeEmptyHeader): uncompressed, count 0,
// timestamps h.MaxTimestamp. Record offsets must be increasing and at most
// MaxInt32 past BaseOffset.
func BuildBatch(h BatchHeader, records []Record) ([]byte, error) {
	codec := h.Compression()
	if codec < CodecNone || codec > CodecZstd {
		return nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, codec)
	}
	attrs := h.Attributes
	baseTs, maxTs := h.MaxTimestamp, h.MaxTimestamp
	lastDelta := h.LastOffsetDelta
	var body []byte
	if len(records) == 0 {
		attrs &^= attrCompressionMask | attrDeleteHorizon
		codec = CodecNone
	} else {
		baseTs = records[0].Timestamp
		if attrs&attrDeleteHorizon != 0 {
			baseTs = h.BaseTimestamp
		}
		if !h.LogAppendTime() {
			maxTs = math.MinInt64
		}
		prev := int64(-1)
		var rec []byte
		for i := range records {
			r := &records[i]
			delta := r.Offset - h.BaseOffset
			if delta <= prev || delta > math.MaxInt32 {
				return nil, fmt.Errorf("%w: record offset %d does not follow %d in a batch based at %d", ErrInvalidRecord, r.Offset, h.BaseOffset+prev, h.BaseOffset)
			}
			prev = delta
			if !h.LogAppendTime() {
				maxTs = max(maxTs, r.Timestamp)
			}
			rec = appendRecordBody(rec[:0], r, int32(delta), r.Timestamp-baseTs)
			body = binary.AppendVarint(body, int64(len(rec)))
			body = append(body, rec...)
		}
		lastDelta = max(lastDelta, int32(prev))
	}
	payload, err := Compress(codec, body)
	if err != nil {
		return nil, err
	}
	if BatchHeaderSize+len(payload) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: batch of %d bytes is too large", ErrInvalidRecord, BatchHeaderSize+len(payload))
	}
	be := binary.BigEndian
	b := make([]byte, BatchHeaderSize, BatchHeaderSize+len(payload))
	be.PutUint64(b[offBaseOffset:], uint64(h.BaseOffset))
	be.PutUint32(b[offLength:], uint32(BatchHeaderSize-logOverhead+len(payload)))
	be.PutUint32(b[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	b[offMagic] = 2
	be.PutUint16(b[offAttributes:], uint16(attrs))
	be.PutUint32(b[offLastOffsetDelta:], uint32(lastDelta))
	be.PutUint64(b[offBaseTimestamp:], uint64(baseTs))
	be.PutUint64(b[offMaxTimestamp:], uint64(maxTs))
	be.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	be.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	be.PutUint32(b[offRecordCount:], uint32(len(records)))
	b = append(b, payload...)
	be.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
	return b, nil
}

// appendRecordBody encodes a DefaultRecord without its length prefix:
// attributes (0), timestampDelta, offsetDelta, key, value, headers; lengths
// are varints with -1 for null.
func appendRecordBody(b []byte, r *Record, offsetDelta int32, tsDelta int64) []byte {
	appendBytes := func(b, v []byte, null bool) []byte {
		if null {
			return binary.AppendVarint(b, -1)
		}
		b = binary.AppendVarint(b, int64(len(v)))
		return append(b, v...)
	}
	b = append(b, 0)
	b = binary.AppendVarint(b, tsDelta)
	b = binary.AppendVarint(b, int64(offsetDelta))
	b = appendBytes(b, r.Key, r.KeyNull)
	b = appendBytes(b, r.Value, r.ValueNull)
	b = binary.AppendVarint(b, int64(len(r.Headers)))
	for _, hd := range r.Headers {
		b = binary.AppendVarint(b, int64(len(hd.Key)))
		b = append(b, hd.Key...)
		b = appendBytes(b, hd.Value, hd.Value == nil)
	}
	return b
}

// decompressor returns a reader of a compressed records section, read as
// it is consumed (Kafka's Compression.wrapForInput), and a function that
// releases it.
func decompressor(codec int8, data []byte) (io.Reader, func(), error) {
	switch codec {
	case CodecGzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, nil, corrupt(codec, err)
		}
		return zr, func() { _ = zr.Close() }, nil
	case CodecLZ4:
		fr, err := lz4FrameReader(data)
		if err != nil {
			return nil, nil, err
		}
		return lz4.NewReader(fr), func() {}, nil
	case CodecZstd:
		// A streaming decoder holds some MiB of buffers: pooled.
		zr, _ := zstdStreams.Get().(*zstd.Decoder)
		if zr == nil {
			var err error
			zr, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxMemory(MaxDecompressedBytes), zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(zstdMaxWindow))
			if err != nil {
				return nil, nil, fmt.Errorf("zstd decoder: %w", err)
			}
		}
		// Hidden behind a plain io.Reader: given a *bytes.Buffer the
		// decoder would decode it whole (its small-buffer shortcut).
		if err := zr.Reset(struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
			zstdStreams.Put(zr)
			return nil, nil, corrupt(codec, err)
		}
		return zr, func() { _ = zr.Reset(nil); zstdStreams.Put(zr) }, nil
	case CodecSnappy:
		if len(data) >= xerialHeaderLen && bytes.Equal(data[:len(xerialMagic)], xerialMagic) {
			return &xerialReader{p: data[xerialHeaderLen:]}, func() {}, nil
		}
		// One raw block expands at most ~22 times (decodeSnappyBlock).
		out, err := decodeSnappyBlock(nil, data)
		if err != nil {
			return nil, nil, corrupt(codec, err)
		}
		return bytes.NewReader(out), func() {}, nil
	}
	return nil, nil, fmt.Errorf("%w: unknown compression codec %d", ErrInvalidRecord, codec)
}

// zstdMaxWindow is the largest window a zstd frame may declare: the native
// library's default limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27), which
// Kafka's zstd-jni decoder keeps, so a frame Kafka refuses ("Frame requires
// too much memory for decoding") is refused here too. A decoder allocates
// its frame's window once; the pool below reuses it.
const zstdMaxWindow = 1 << 27

// zstdStreams pools streaming zstd decoders for streamRecords.
var zstdStreams sync.Pool

// xerialReader decodes xerial-framed snappy one block (at most 32 KiB of
// input each as Kafka writes them) at a time, as it is read.
type xerialReader struct {
	p   []byte // blocks not yet decoded
	out []byte // the current block, decoded
	pos int
}

func (x *xerialReader) Read(b []byte) (int, error) {
	for x.pos == len(x.out) {
		if len(x.p) == 0 {
			return 0, io.EOF
		}
		if len(x.p) < 4 {
			return 0, fmt.Errorf("xerial block length cut short: %d bytes", len(x.p))
		}
		n := binary.BigEndian.Uint32(x.p)
		x.p = x.p[4:]
		if uint64(n) > uint64(len(x.p)) {
			return 0, fmt.Errorf("xerial block of %d bytes, %d left", n, len(x.p))
		}
		out, err := decodeSnappyBlock(x.out[:0], x.p[:n])
		if err != nil {
			return 0, err
		}
		x.out, x.pos, x.p = out, 0, x.p[n:]
	}
	c := copy(b, x.out[x.pos:])
	x.pos += c
	return c, nil
}

// streamRecords reads a compressed batch's records as Kafka's
// DefaultRecordBatch.StreamRecordIterator does: exactly the declared count
// of records, each a varint size and that many bytes, then the stream must
// be at its end ("Incorrect declared batch size, records still remaining").
// Decompression stops there: a small batch that would inflate far beyond
// what its declared records hold is refused, not inflated. Memory follows
// the bytes actually decompressed, never a declared size; it is bounded by
// MaxDecompressedBytes. With keep, the records' key, value and headers stay
// valid after the call; without, one buffer is reused record to record.
// Structural errors wrap ErrInvalidRecord, decompression failures
// ErrCorruptMessage.
func streamRecords(h BatchHeader, data []byte, keep bool, fn func(recordInfo) bool) error {
	r, release, err := decompressor(h.Compression(), data)
	if err != nil {
		return err
	}
	defer release()
	br := bufio.NewReaderSize(r, 4<<10)
	var (
		buf   []byte
		total int64
	)
	readFailed := func(err error, what string) error {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// DefaultRecord.readFrom: fewer bytes than declared.
			return fmt.Errorf("%w: incorrect declared batch size, premature EOF reached (%s)", ErrInvalidRecord, what)
		}
		return corrupt(h.Compression(), err)
	}
	for i := int32(0); i < h.RecordCount; i++ {
		size, err := binary.ReadVarint(br)
		if err != nil {
			return readFailed(err, fmt.Sprintf("record %d size", i))
		}
		if size < 0 || size > math.MaxInt32 {
			// ByteUtils.readVarint: a 32-bit varint.
			return fmt.Errorf("%w: record %d of size %d", ErrInvalidRecord, i, size)
		}
		if !keep {
			buf = buf[:0]
		} else if cap(buf)-len(buf) < 64 {
			buf = nil // records kept so far alias the old buffer
		}
		start := len(buf)
		// Read in steps so a declared size costs only the bytes that come.
		for left := size; left > 0; {
			step := min(left, 64<<10)
			if cap(buf)-len(buf) < int(step) {
				nb := make([]byte, len(buf), max(2*cap(buf), len(buf)+int(step)))
				copy(nb, buf)
				if keep {
					// Earlier records alias the old array: start afresh.
					nb = append(nb[:0], buf[start:]...)
					start = 0
				}
				buf = nb
			}
			n, err := io.ReadFull(br, buf[len(buf):len(buf)+int(step)])
			buf = buf[:len(buf)+n]
			if err != nil {
				return readFailed(err, fmt.Sprintf("record %d", i))
			}
			left -= step
			if total += step; total > MaxDecompressedBytes {
				return corrupt(h.Compression(), errors.New("output exceeds the decompression limit"))
			}
		}
		ri, err := parseRecordBody(buf[start:len(buf):len(buf)], keep)
		if err != nil {
			return err
		}
		if !fn(ri) {
			return nil
		}
	}
	switch _, err := br.ReadByte(); {
	case err == nil:
		return fmt.Errorf("%w: incorrect declared batch size, records still remaining after %d", ErrInvalidRecord, h.RecordCount)
	case !errors.Is(err, io.EOF):
		return corrupt(h.Compression(), err)
	}
	return nil
}
