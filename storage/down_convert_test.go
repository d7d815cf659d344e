package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// decodedMsg is one decoded message of a message set, for the tests.
type decodedMsg struct {
	offset    int64
	magic     int8
	attrs     int8
	timestamp int64
	key       []byte
	value     []byte
	keyNull   bool
}

// decodeMessageSet decodes whole messages with kmsg, checking each CRC,
// and stops at a partial one. It returns the messages and the bytes used.
func decodeMessageSet(t *testing.T, b []byte) ([]decodedMsg, int) {
	t.Helper()
	var out []decodedMsg
	pos := 0
	for len(b)-pos >= logOverhead {
		size := int(int32(binary.BigEndian.Uint32(b[pos+8:])))
		if size < 0 || pos+logOverhead+size > len(b) {
			break
		}
		entry := b[pos : pos+logOverhead+size]
		if got, want := crc32.ChecksumIEEE(entry[logOverhead+4:]), binary.BigEndian.Uint32(entry[logOverhead:]); got != want {
			t.Fatalf("message at %d: crc %x, want %x", pos, want, got)
		}
		var m decodedMsg
		switch magic := int8(entry[legacyEntryMagicAt]); magic {
		case 0:
			var v kmsg.MessageV0
			if err := v.ReadFrom(entry); err != nil {
				t.Fatalf("message v0 at %d: %v", pos, err)
			}
			m = decodedMsg{offset: v.Offset, magic: 0, attrs: v.Attributes, timestamp: -1, key: v.Key, value: v.Value, keyNull: v.Key == nil}
		case 1:
			var v kmsg.MessageV1
			if err := v.ReadFrom(entry); err != nil {
				t.Fatalf("message v1 at %d: %v", pos, err)
			}
			m = decodedMsg{offset: v.Offset, magic: 1, attrs: v.Attributes, timestamp: v.Timestamp, key: v.Key, value: v.Value, keyNull: v.Key == nil}
		default:
			t.Fatalf("message at %d has magic %d", pos, magic)
		}
		out = append(out, m)
		pos += len(entry)
	}
	return out, pos
}

// innerMessages decompresses a wrapper's value and decodes its messages.
func innerMessages(t *testing.T, w decodedMsg) []decodedMsg {
	t.Helper()
	data := w.value
	codec := w.attrs & attrCompressionMask
	if codec == CodecLZ4 && w.magic == 0 {
		hcAt := 6
		if got, want := data[hcAt], byte(xxh32(data[:hcAt], 0)>>8); got != want {
			t.Fatalf("magic 0 lz4 header checksum %x, want Kafka's old checksum %x", got, want)
		}
		data = fixLZ4HeaderChecksum(data)
	}
	raw, err := Decompress(codec, data)
	if err != nil {
		t.Fatalf("decompress %s wrapper: %v", CodecName(codec), err)
	}
	msgs, used := decodeMessageSet(t, raw)
	if used != len(raw) {
		t.Fatalf("inner message set: %d of %d bytes decoded", used, len(raw))
	}
	return msgs
}

func testBatch(t *testing.T, base int64, attrs int16, maxTs int64, n int) []byte {
	t.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{
			Offset:    base + int64(i),
			Timestamp: 1000 + int64(i)*10,
			Key:       []byte(fmt.Sprintf("k%d", i)),
			Value:     []byte(fmt.Sprintf("value-%d", i)),
			Headers:   []RecordHeader{{Key: "h", Value: []byte("x")}},
		}
	}
	recs[n-1].Key, recs[n-1].KeyNull = nil, true
	b, err := BuildBatch(BatchHeader{BaseOffset: base, Attributes: attrs, MaxTimestamp: maxTs, PartitionLeaderEpoch: 3,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDownConvertFormats(t *testing.T) {
	const base, n, lat = 10, 3, int64(5000)
	for _, codec := range []int8{CodecNone, CodecGzip, CodecSnappy, CodecLZ4} {
		for _, magic := range []int8{0, 1} {
			for _, logAppend := range []bool{false, true} {
				name := fmt.Sprintf("%s/magic%d/logAppendTime=%v", CodecName(codec), magic, logAppend)
				t.Run(name, func(t *testing.T) {
					attrs := int16(codec)
					if logAppend {
						attrs |= attrTimestampType
					}
					src := testBatch(t, base, attrs, lat, n)
					res, err := DownConvert(src, magic, base)
					if err != nil {
						t.Fatal(err)
					}
					if res.ConvertedRecords != n {
						t.Errorf("converted %d records, want %d", res.ConvertedRecords, n)
					}
					msgs, _ := decodeMessageSet(t, res.Records)
					wantTsAttr := int8(0)
					if logAppend && magic == 1 {
						wantTsAttr = attrTimestampType
					}
					wantTs := func(i int) int64 {
						switch {
						case magic == 0:
							return -1
						case logAppend:
							return lat
						}
						return 1000 + int64(i)*10
					}
					if codec != CodecNone {
						if len(msgs) != 1 {
							t.Fatalf("%d wrapper messages, want 1", len(msgs))
						}
						w := msgs[0]
						if w.offset != base+n-1 || w.magic != magic || w.attrs != codec|wantTsAttr || !w.keyNull || w.timestamp != wantTs(n-1) {
							t.Fatalf("wrapper %+v: want offset %d, magic %d, attrs %d, null key, timestamp %d", w, base+n-1, magic, codec|wantTsAttr, wantTs(n-1))
						}
						msgs = innerMessages(t, w)
					}
					if len(msgs) != n {
						t.Fatalf("%d messages, want %d", len(msgs), n)
					}
					for i, m := range msgs {
						off := int64(base + i)
						if codec != CodecNone && magic == 1 {
							off = int64(i) // relative inner offsets
						}
						if m.offset != off || m.magic != magic || m.attrs != wantTsAttr || m.timestamp != wantTs(i) {
							t.Errorf("message %d: %+v, want offset %d magic %d attrs %d timestamp %d", i, m, off, magic, wantTsAttr, wantTs(i))
						}
						if string(m.value) != fmt.Sprintf("value-%d", i) {
							t.Errorf("message %d value %q", i, m.value)
						}
						if i == n-1 {
							if !m.keyNull {
								t.Errorf("message %d key %q, want null", i, m.key)
							}
						} else if string(m.key) != fmt.Sprintf("k%d", i) {
							t.Errorf("message %d key %q", i, m.key)
						}
					}
				})
			}
		}
	}
}

// RecordsUtil.downConvert: only uncompressed batches lose the records
// before the fetch offset.
func TestDownConvertFetchOffsetInsideBatch(t *testing.T) {
	plain := testBatch(t, 0, int16(CodecNone), 0, 4)
	res, err := DownConvert(plain, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := decodeMessageSet(t, res.Records)
	if len(msgs) != 2 || msgs[0].offset != 2 || msgs[1].offset != 3 {
		t.Fatalf("uncompressed from offset 2: %+v", msgs)
	}
	gz := testBatch(t, 0, int16(CodecGzip), 0, 4)
	res, err = DownConvert(gz, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ = decodeMessageSet(t, res.Records)
	if len(msgs) != 1 || len(innerMessages(t, msgs[0])) != 4 {
		t.Fatalf("compressed from offset 2: want one wrapper with 4 messages, got %+v", msgs)
	}
}

func TestDownConvertControlAndTransactional(t *testing.T) {
	txn := testBatch(t, 0, attrTransactional, 0, 2)
	ctrl := testBatch(t, 2, attrTransactional|attrControl, 0, 1)
	data := testBatch(t, 3, int16(CodecNone), 0, 1)
	src := bytes.Join([][]byte{txn, ctrl, data}, nil)
	res, err := DownConvert(src, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, _ := decodeMessageSet(t, res.Records)
	var offsets []int64
	for _, m := range msgs {
		offsets = append(offsets, m.offset)
	}
	if fmt.Sprint(offsets) != "[0 1 3]" {
		t.Fatalf("offsets %v: want the transactional records 0 1 and 3, the control batch at 2 dropped", offsets)
	}

	// Only a control batch: a 12-byte overflow message.
	res, err = DownConvert(ctrl, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != logOverhead || int64(binary.BigEndian.Uint64(res.Records)) != -1 ||
		binary.BigEndian.Uint32(res.Records[8:]) != BatchHeaderSize {
		t.Fatalf("control batch only: %x, want an overflow message header", res.Records)
	}
	res, err = DownConvert(nil, 1, 0)
	if err != nil || len(res.Records) != 0 {
		t.Fatalf("no records: %x, %v", res.Records, err)
	}
}

func TestDownConvertZstd(t *testing.T) {
	z := testBatch(t, 0, int16(CodecZstd), 0, 2)
	if _, err := DownConvert(z, 1, 0); !errors.Is(err, ErrUnsupportedCompression) {
		t.Fatalf("zstd first: %v, want ErrUnsupportedCompression", err)
	}
	// A zstd batch after a convertible one: the first is sent, then overflow padding.
	gz := testBatch(t, 0, int16(CodecGzip), 0, 2)
	z = testBatch(t, 2, int16(CodecZstd), 0, 2)
	src := append(append([]byte(nil), gz...), z...)
	res, err := DownConvert(src, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	msgs, used := decodeMessageSet(t, res.Records)
	if len(msgs) != 1 || msgs[0].offset != 1 {
		t.Fatalf("messages %+v, want the gzip wrapper at offset 1", msgs)
	}
	checkOverflow(t, res.Records[used:])
	if len(res.Records) != len(src) {
		t.Fatalf("%d bytes, want the source size %d", len(res.Records), len(src))
	}
}

// checkOverflow checks that b is overflow padding: offset -1 and a size
// past the end.
func checkOverflow(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < logOverhead {
		t.Fatalf("overflow padding of %d bytes", len(b))
	}
	if off := int64(binary.BigEndian.Uint64(b)); off != -1 {
		t.Fatalf("overflow offset %d", off)
	}
	if size := int(binary.BigEndian.Uint32(b[8:])); size <= len(b)-logOverhead {
		t.Fatalf("overflow size %d fits in the %d bytes left", size, len(b)-logOverhead)
	}
}

// LazyDownConversionRecords: the answer is max(source size, first
// converted batch) bytes, cut or padded.
func TestDownConvertSize(t *testing.T) {
	// Uncompressed, magic 0 per-message overhead is smaller than v2's
	// batch header for one batch of one record, larger for many tiny ones.
	one := testBatch(t, 0, int16(CodecNone), 0, 1)
	res, err := DownConvert(one, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != len(one) {
		t.Fatalf("%d bytes, want the source's %d", len(res.Records), len(one))
	}
	msgs, used := decodeMessageSet(t, res.Records)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	checkOverflow(t, res.Records[used:])

	// A partial trailing batch counts in the size and is not converted.
	partial := append(append([]byte(nil), one...), testBatch(t, 1, int16(CodecNone), 0, 1)[:20]...)
	res, err = DownConvert(partial, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Records) != len(partial) {
		t.Fatalf("%d bytes, want %d", len(res.Records), len(partial))
	}

	// Many small batches: conversion grows beyond the source and is cut
	// after the first batch's messages, which are always whole.
	var src []byte
	first := testBatch(t, 0, int16(CodecNone), 0, 200)
	src = append(src, first...)
	src = append(src, testBatch(t, 200, int16(CodecNone), 0, 200)...)
	res, err = DownConvert(src, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	firstOnly, err := DownConvert(first, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := max(len(src), len(firstOnly.Records)); len(res.Records) != want {
		t.Fatalf("%d bytes, want %d", len(res.Records), want)
	}
	msgs, _ = decodeMessageSet(t, res.Records)
	if len(msgs) < 200 {
		t.Fatalf("%d whole messages, want at least the first batch's 200", len(msgs))
	}
	for i, m := range msgs {
		if m.offset != int64(i) {
			t.Fatalf("message %d at offset %d", i, m.offset)
		}
	}
}

// DownConvert reads the log's bytes, which a damaged disk may garble: it
// must answer or fail, never panic, and an answer with messages is never
// shorter than what was read.
func FuzzDownConvert(f *testing.F) {
	f.Add(testBatchF(f, int16(CodecNone)), int8(1), int64(0))
	f.Add(testBatchF(f, int16(CodecGzip)), int8(0), int64(1))
	f.Add(testBatchF(f, int16(CodecLZ4)|attrTimestampType), int8(0), int64(0))
	f.Add(testBatchF(f, attrTransactional|attrControl), int8(1), int64(0))
	f.Fuzz(func(t *testing.T, records []byte, magic int8, fetchOffset int64) {
		magic &= 1
		res, err := DownConvert(records, magic, fetchOffset)
		if err != nil {
			return
		}
		// No whole batch: nothing; none left after conversion: one
		// overflow header; else at least what was read.
		if n := len(res.Records); n < len(records) && n != 0 && n != logOverhead {
			t.Fatalf("%d bytes for %d bytes read", len(res.Records), len(records))
		}
	})
}

func testBatchF(f *testing.F, attrs int16) []byte {
	recs := []Record{{Offset: 0, Timestamp: 5, Key: []byte("k"), Value: []byte("v")}, {Offset: 1, Timestamp: 6, ValueNull: true}}
	b, err := BuildBatch(BatchHeader{Attributes: attrs, MaxTimestamp: 9, ProducerID: 1, ProducerEpoch: 0, BaseSequence: 0}, recs)
	if err != nil {
		f.Fatal(err)
	}
	return b
}
