package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/pierrec/lz4/v4"
)

// legacyMsg is a v0/v1 message to encode in tests; a nil key or value is
// null.
type legacyMsg struct {
	magic int8
	attrs int8
	ts    int64
	key   []byte
	value []byte
}

// encodeLegacy encodes a message (crc through value) with a correct CRC.
func encodeLegacy(m legacyMsg) []byte {
	b := []byte{0, 0, 0, 0, byte(m.magic), byte(m.attrs)}
	if m.magic >= 1 {
		b = binary.BigEndian.AppendUint64(b, uint64(m.ts))
	}
	for _, f := range [][]byte{m.key, m.value} {
		if f == nil {
			b = binary.BigEndian.AppendUint32(b, 0xffffffff)
			continue
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	binary.BigEndian.PutUint32(b, crc32.ChecksumIEEE(b[4:]))
	return b
}

// appendEntry appends offset, size and the message.
func appendEntry(dst []byte, offset int64, msg []byte) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msg)))
	return append(dst, msg...)
}

// messageSet encodes msgs as a message set with the given offsets (nil:
// 0, 1, 2, ...).
func messageSet(msgs []legacyMsg, offsets []int64) []byte {
	var b []byte
	for i, m := range msgs {
		off := int64(i)
		if offsets != nil {
			off = offsets[i]
		}
		b = appendEntry(b, off, encodeLegacy(m))
	}
	return b
}

// lz4Broken rewrites an LZ4 frame's header checksum the way Kafka's first
// LZ4 implementation computed it, over the frame magic as well.
func lz4Broken(frame []byte) []byte {
	out := bytes.Clone(frame)
	hcAt := 6
	if out[4]&0x08 != 0 {
		hcAt += 8
	}
	out[hcAt] = byte(xxh32(out[:hcAt], 0) >> 8)
	return out
}

// wrapper encodes a single compressed wrapper entry around inner.
func wrapper(t testing.TB, magic, codec int8, wrapperOffset, ts int64, logAppend bool, inner []byte) []byte {
	t.Helper()
	var payload []byte
	var err error
	switch codec {
	case -CodecSnappy: // raw snappy, no xerial framing
		payload, codec = snappy.Encode(nil, inner), CodecSnappy
	default:
		if payload, err = Compress(codec, inner); err != nil {
			t.Fatal(err)
		}
		if codec == CodecLZ4 && magic == 0 {
			payload = lz4Broken(payload)
		}
	}
	attrs := codec
	if logAppend {
		attrs |= attrTimestampType
	}
	return appendEntry(nil, wrapperOffset, encodeLegacy(legacyMsg{magic: magic, attrs: attrs, ts: ts, value: payload}))
}

func sampleMsgs(magic int8) []legacyMsg {
	return []legacyMsg{
		{magic: magic, ts: 1_700_000_000_000, key: []byte("k1"), value: []byte("v1")},
		{magic: magic, ts: 1_700_000_000_005, key: nil, value: []byte("no key")},
		{magic: magic, ts: 1_699_999_999_990, key: []byte("k3"), value: nil},
		{magic: magic, ts: 1_700_000_000_007, key: []byte{}, value: bytes.Repeat([]byte("x"), 3000)},
	}
}

// checkConverted validates the batch as the produce path does and compares
// its records with msgs.
func checkConverted(t *testing.T, batch []byte, codec int8, msgs []legacyMsg, wantTs []int64) {
	t.Helper()
	hs, err := ValidateBatches(batch)
	if err != nil {
		t.Fatalf("converted batch does not validate: %v", err)
	}
	h := hs[0]
	if h.Compression() != codec || h.LogAppendTime() || h.ProducerID != -1 || h.BaseSequence != -1 || h.ProducerEpoch != -1 {
		t.Fatalf("header %+v: want codec %d, CreateTime, no producer", h, codec)
	}
	recs, err := Records(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(msgs) {
		t.Fatalf("%d records, want %d", len(recs), len(msgs))
	}
	maxTs := int64(-1)
	for i, r := range recs {
		m := msgs[i]
		if r.Offset != int64(i) {
			t.Errorf("record %d: offset %d", i, r.Offset)
		}
		if r.KeyNull != (m.key == nil) || !bytes.Equal(r.Key, m.key) {
			t.Errorf("record %d: key %q (null %v), want %q", i, r.Key, r.KeyNull, m.key)
		}
		if r.ValueNull != (m.value == nil) || !bytes.Equal(r.Value, m.value) {
			t.Errorf("record %d: value of %d bytes (null %v), want %d", i, len(r.Value), r.ValueNull, len(m.value))
		}
		if r.Timestamp != wantTs[i] {
			t.Errorf("record %d: timestamp %d, want %d", i, r.Timestamp, wantTs[i])
		}
		if len(r.Headers) != 0 {
			t.Errorf("record %d: headers %v", i, r.Headers)
		}
		maxTs = max(maxTs, wantTs[i])
	}
	if h.MaxTimestamp != maxTs {
		t.Errorf("max timestamp %d, want %d", h.MaxTimestamp, maxTs)
	}
}

func timestamps(msgs []legacyMsg) []int64 {
	ts := make([]int64, len(msgs))
	for i, m := range msgs {
		ts[i] = m.ts
		if m.magic == 0 {
			ts[i] = -1
		}
	}
	return ts
}

func TestConvertLegacyMessageSet(t *testing.T) {
	codecs := []struct {
		name  string
		codec int8 // -CodecSnappy: raw snappy
	}{
		{"none", CodecNone}, {"gzip", CodecGzip}, {"snappy", CodecSnappy},
		{"snappy-raw", -CodecSnappy}, {"lz4", CodecLZ4},
	}
	for _, magic := range []int8{0, 1} {
		for _, c := range codecs {
			t.Run(c.name+"/magic"+string(rune('0'+magic)), func(t *testing.T) {
				msgs := sampleMsgs(magic)
				want := max(c.codec, -c.codec)
				var set []byte
				if c.codec == CodecNone {
					set = messageSet(msgs, []int64{7, 7, 7, 7}) // outer offsets are ignored
				} else {
					inner := messageSet(msgs, nil)
					set = wrapper(t, magic, c.codec, int64(len(msgs)-1), 42, false, inner)
				}
				out, err := ConvertLegacyMessageSet(set)
				if err != nil {
					t.Fatal(err)
				}
				checkConverted(t, out, want, msgs, timestamps(msgs))
			})
		}
	}
}

func TestConvertLegacyWrapperOffsetsAndTimestamps(t *testing.T) {
	msgs := sampleMsgs(1)
	tests := []struct {
		name          string
		innerOffsets  []int64
		wrapperOffset int64
		logAppend     bool
		wantErr       error
		wantTs        []int64
	}{
		{name: "relative offsets, wrapper at the last", innerOffsets: []int64{0, 1, 2, 3}, wrapperOffset: 3},
		{name: "wrapper offset 0 (librdkafka)", innerOffsets: []int64{0, 1, 2, 3}, wrapperOffset: 0},
		{name: "absolute-looking wrapper offset", innerOffsets: []int64{0, 1, 2, 3}, wrapperOffset: 1000},
		{name: "gaps in inner offsets are renumbered", innerOffsets: []int64{5, 9, 10, 12}, wrapperOffset: 0},
		{name: "wrapper below the last inner offset", innerOffsets: []int64{0, 1, 2, 3}, wrapperOffset: 2, wantErr: ErrInvalidRecord},
		{name: "LogAppendTime wrapper gives its timestamp", innerOffsets: []int64{0, 1, 2, 3}, wrapperOffset: 3, logAppend: true,
			wantTs: []int64{99, 99, 99, 99}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := wrapper(t, 1, CodecGzip, tt.wrapperOffset, 99, tt.logAppend, messageSet(msgs, tt.innerOffsets))
			out, err := ConvertLegacyMessageSet(set)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantTs
			if want == nil {
				want = timestamps(msgs)
			}
			checkConverted(t, out, CodecGzip, msgs, want)
		})
	}
}

func TestConvertLegacyErrors(t *testing.T) {
	one := messageSet(sampleMsgs(1)[:1], nil)
	flip := func(b []byte, at int) []byte {
		b = bytes.Clone(b)
		b[at] ^= 0x40
		return b
	}
	// withCRC re-signs a message after editing it.
	withCRC := func(msg []byte) []byte {
		binary.BigEndian.PutUint32(msg, crc32.ChecksumIEEE(msg[4:]))
		return msg
	}
	inner := messageSet(sampleMsgs(1), nil)
	nested := append(bytes.Clone(inner), wrapper(t, 1, CodecGzip, 0, 0, false, inner)...)
	badInnerCRC := flip(inner, len(inner)-1)
	badInnerMagic := append(bytes.Clone(inner), messageSet([]legacyMsg{{magic: 0, value: []byte("v0")}}, []int64{4})...)
	v2 := buildBatch(t, batchSpec{records: 2, valueSize: 3})

	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrInvalidRecord},
		{"outer CRC flip", flip(one, len(one)-1), ErrCorruptMessage},
		{"outer CRC field flip", flip(one, 12), ErrCorruptMessage},
		{"truncated", one[:len(one)-1], ErrCorruptMessage},
		{"trailing bytes", append(bytes.Clone(one), 0, 0, 0), ErrCorruptMessage},
		{"cut before magic", one[:14], ErrCorruptMessage},
		{"size below overhead", appendEntry(nil, 0, make([]byte, 13)), ErrCorruptMessage},
		{"invalid magic", func() []byte {
			m := encodeLegacy(legacyMsg{magic: 0, value: []byte("v")})
			m[4] = 3
			return appendEntry(nil, 0, withCRC(m))
		}(), ErrCorruptMessage},
		{"key longer than the message", func() []byte {
			m := encodeLegacy(legacyMsg{magic: 0, key: []byte("k"), value: []byte("v")})
			binary.BigEndian.PutUint32(m[6:], 1000)
			return appendEntry(nil, 0, withCRC(m))
		}(), ErrCorruptMessage},
		{"magic 1 shorter than its overhead", func() []byte {
			m := encodeLegacy(legacyMsg{magic: 0, value: nil})
			m[4] = 1
			return appendEntry(nil, 0, withCRC(m))
		}(), ErrCorruptMessage},
		{"mixed magics", messageSet([]legacyMsg{{magic: 0, value: []byte("a")}, {magic: 1, value: []byte("b")}}, nil), ErrInvalidRecord},
		{"legacy then v2", append(bytes.Clone(one), v2...), ErrInvalidRecord},
		{"two wrappers", append(wrapper(t, 1, CodecGzip, 0, 0, false, inner), wrapper(t, 1, CodecGzip, 0, 0, false, inner)...), ErrInvalidRecord},
		{"uncompressed then wrapper", append(bytes.Clone(one), wrapper(t, 1, CodecGzip, 0, 0, false, inner)...), ErrInvalidRecord},
		{"nested compression", wrapper(t, 1, CodecGzip, 0, 0, false, nested), ErrInvalidRecord},
		{"inner magic differs", wrapper(t, 1, CodecSnappy, 0, 0, false, badInnerMagic), ErrInvalidRecord},
		{"inner CRC flip", wrapper(t, 1, CodecLZ4, 0, 0, false, badInnerCRC), ErrCorruptMessage},
		{"inner size below overhead", wrapper(t, 0, CodecGzip, 0, 0, false, appendEntry(nil, 0, make([]byte, 10))), ErrCorruptMessage},
		{"no inner messages", wrapper(t, 1, CodecGzip, 0, 0, false, nil), ErrInvalidRecord},
		{"zstd wrapper", appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 1, attrs: CodecZstd, value: []byte{1, 2, 3}})), ErrInvalidRecord},
		{"unknown codec", appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 1, attrs: 6, value: []byte{1, 2, 3}})), ErrInvalidRecord},
		{"null wrapper value", appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 0, attrs: CodecGzip})), ErrInvalidRecord},
		{"undecodable gzip", appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 0, attrs: CodecGzip, value: []byte("not gzip")})), ErrCorruptMessage},
		{"undecodable lz4", appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 0, attrs: CodecLZ4, value: []byte{4, 0x22, 0x4d, 0x18, 0x64, 0x40}})), ErrCorruptMessage},
		{"magic 1 lz4 with the broken checksum", func() []byte {
			payload, err := Compress(CodecLZ4, inner)
			if err != nil {
				t.Fatal(err)
			}
			return appendEntry(nil, 0, encodeLegacy(legacyMsg{magic: 1, attrs: CodecLZ4, value: lz4Broken(payload)}))
		}(), ErrCorruptMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ConvertLegacyMessageSet(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v (output %d bytes), want %v", err, len(out), tt.want)
			}
		})
	}
}

func TestConvertLegacyPassesV2Through(t *testing.T) {
	v2 := buildBatch(t, batchSpec{records: 3, valueSize: 4})
	out, err := ConvertLegacyMessageSet(v2)
	if err != nil || !bytes.Equal(out, v2) {
		t.Fatalf("v2 batch: err %v, changed %v", err, !bytes.Equal(out, v2))
	}
}

// An inner message cut short ends the inner set, as Kafka's
// DataLogInputStream reads it: the whole messages before it are kept.
func TestConvertLegacyInnerTruncated(t *testing.T) {
	msgs := sampleMsgs(0)
	inner := messageSet(msgs, nil)
	set := wrapper(t, 0, CodecGzip, 0, 0, false, inner[:len(inner)-5])
	out, err := ConvertLegacyMessageSet(set)
	if err != nil {
		t.Fatal(err)
	}
	checkConverted(t, out, CodecGzip, msgs[:3], []int64{-1, -1, -1})
}

func TestXXH32(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want uint32
	}{
		{"", 0x02cc5d05},
		{"a", 0x550d7456},
		{"abc", 0x32d153ff},
		{"Nobody inspects the spammish repetition", 0xe2293b2f},
	} {
		if got := xxh32([]byte(tt.in), 0); got != tt.want {
			t.Errorf("xxh32(%q) = %08x, want %08x", tt.in, got, tt.want)
		}
	}
	// The header checksum agrees with the LZ4 library's, with and without
	// a content size in the descriptor.
	for _, opts := range [][]lz4.Option{nil, {lz4.SizeOption(5)}} {
		var buf bytes.Buffer
		zw := lz4.NewWriter(&buf)
		if err := zw.Apply(opts...); err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		frame := buf.Bytes()
		if fixed := fixLZ4HeaderChecksum(frame); &fixed[0] != &frame[0] {
			t.Errorf("a correct LZ4 header (options %v) was rewritten", opts)
		}
		if fixed := fixLZ4HeaderChecksum(lz4Broken(frame)); !bytes.Equal(fixed, frame) {
			t.Errorf("a broken LZ4 header (options %v) was not repaired", opts)
		}
	}
}

func FuzzConvertLegacyMessageSet(f *testing.F) {
	msgs := sampleMsgs(1)[:3]
	msgs[2].value = []byte("short")
	f.Add(messageSet(msgs, nil))
	f.Add(messageSet(sampleMsgs(0)[:2], nil))
	for _, codec := range []int8{CodecGzip, CodecSnappy, -CodecSnappy, CodecLZ4} {
		f.Add(wrapper(f, 1, codec, 2, 5, false, messageSet(msgs, nil)))
		f.Add(wrapper(f, 0, codec, 0, 0, false, messageSet(sampleMsgs(0)[:2], nil)))
	}
	f.Add([]byte{})
	f.Add(buildBatch(f, batchSpec{records: 2, valueSize: 3}))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, err := ConvertLegacyMessageSet(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("the input was modified")
		}
		if err != nil {
			if !errors.Is(err, ErrCorruptMessage) && !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(in) > legacyEntryMagicAt && in[legacyEntryMagicAt] == 2 {
			if !bytes.Equal(out, in) {
				t.Fatal("a v2 input was changed")
			}
			return
		}
		if _, err := ValidateBatches(out); err != nil {
			t.Fatalf("converted batch does not validate: %v", err)
		}
		if _, err := Records(out); err != nil {
			t.Fatalf("converted batch does not decode: %v", err)
		}
	})
}
