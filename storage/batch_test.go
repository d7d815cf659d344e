package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func TestParseBatchHeader(t *testing.T) {
	b := buildBatch(t, batchSpec{records: 3, baseTs: 1000, tsStep: 10, attrs: 0x10 | 0x08 | 3, producerID: 7, seq: 40})
	h, err := ParseBatchHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size() != int64(len(b)) || h.RecordCount != 3 || h.LastOffsetDelta != 2 || h.Magic != 2 {
		t.Fatalf("header %+v, len %d", h, len(b))
	}
	if h.BaseTimestamp != 1000 || h.MaxTimestamp != 1020 || h.ProducerID != 7 || h.BaseSequence != 40 {
		t.Fatalf("header %+v", h)
	}
	if !h.IsTransactional() || h.IsControl() || h.Compression() != 3 || !h.LogAppendTime() {
		t.Fatalf("attribute accessors wrong for %x", h.Attributes)
	}
	if h.LastOffset() != 2 || h.LastSequence() != 42 {
		t.Fatalf("last offset %d, last sequence %d", h.LastOffset(), h.LastSequence())
	}
	if _, err := ParseBatchHeader(b[:60]); !errors.Is(err, ErrCorruptMessage) {
		t.Fatalf("short header: %v", err)
	}
}

func TestLastSequenceWraps(t *testing.T) {
	for _, tc := range []struct {
		base, delta, want int32
	}{
		{0, 0, 0},
		{10, 4, 14},
		{math.MaxInt32, 0, math.MaxInt32},
		{math.MaxInt32, 1, 0},
		{math.MaxInt32 - 1, 3, 1},
		{-1, 5, -1},
	} {
		h := BatchHeader{BaseSequence: tc.base, LastOffsetDelta: tc.delta}
		if got := h.LastSequence(); got != tc.want {
			t.Errorf("LastSequence(%d, +%d) = %d, want %d", tc.base, tc.delta, got, tc.want)
		}
	}
}

func TestValidateBatches(t *testing.T) {
	good := func() []byte { return buildBatch(t, batchSpec{records: 3, valueSize: 10}) }
	mod := func(f func(b []byte) []byte) []byte { return f(good()) }
	be := binary.BigEndian
	// compressed is good()'s records compressed with codec, the declared
	// count (and last offset delta) moved by skew.
	compressed := func(codec int8, skew int32) []byte {
		recs, err := Records(good())
		if err != nil {
			t.Fatal(err)
		}
		b, err := BuildBatch(BatchHeader{Attributes: int16(codec), ProducerID: -1, BaseSequence: -1}, recs)
		if err != nil {
			t.Fatal(err)
		}
		be.PutUint32(b[offRecordCount:], uint32(int32(len(recs))-skew))
		be.PutUint32(b[offLastOffsetDelta:], uint32(int32(len(recs))-skew-1))
		fixCRC(b)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error // nil: valid
	}{
		{"valid", good(), nil},
		{"valid idempotent", buildBatch(t, batchSpec{records: 2, producerID: 9, seq: 0}), nil},
		{"valid compressed", compressed(CodecGzip, 0), nil},
		{"valid compressed zstd", compressed(CodecZstd, 0), nil},
		// Kafka answers UNKNOWN_SERVER_ERROR (the decompressing stream's
		// KafkaException), we CORRUPT_MESSAGE.
		{"compressed attr on plain records", mod(func(b []byte) []byte { b[offAttributes+1] |= 1; fixCRC(b); return b }), ErrCorruptMessage},
		// DefaultRecordBatch.RecordIterator: records beyond the declared
		// count, or fewer, are INVALID_RECORD.
		{"compressed with records beyond its count", compressed(CodecLZ4, 1), ErrInvalidRecord},
		{"compressed with fewer records than its count", compressed(CodecSnappy, -1), ErrInvalidRecord},
		{"empty", nil, ErrInvalidRecord},
		{"corrupt crc", mod(func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }), ErrCorruptMessage},
		{"crc field wrong", mod(func(b []byte) []byte { b[offCRC] ^= 1; return b }), ErrCorruptMessage},
		{"short batch", mod(func(b []byte) []byte { return b[:len(b)-3] }), ErrCorruptMessage},
		{"short header", mod(func(b []byte) []byte { return b[:30] }), ErrCorruptMessage},
		{"length below overhead", mod(func(b []byte) []byte { be.PutUint32(b[offLength:], 10); return b }), ErrCorruptMessage},
		{"magic 1", mod(func(b []byte) []byte { b[offMagic] = 1; return b }), ErrInvalidRecord},
		{"magic 3", mod(func(b []byte) []byte { b[offMagic] = 3; return b }), ErrCorruptMessage},
		{"two batches", append(good(), good()...), ErrInvalidRecord},
		{"trailing bytes", append(good(), 0, 0, 0), ErrCorruptMessage},
		{"nonzero base offset", mod(func(b []byte) []byte { be.PutUint64(b, 5); return b }), ErrInvalidRecord},
		{"count mismatch", mod(func(b []byte) []byte { be.PutUint32(b[offRecordCount:], 4); fixCRC(b); return b }), ErrInvalidRecord},
		{"zero count", mod(func(b []byte) []byte {
			be.PutUint32(b[offRecordCount:], 0)
			be.PutUint32(b[offLastOffsetDelta:], math.MaxUint32)
			fixCRC(b)
			return b
		}), ErrInvalidRecord},
		{"records fewer than declared", mod(func(b []byte) []byte {
			be.PutUint32(b[offRecordCount:], 4)
			be.PutUint32(b[offLastOffsetDelta:], 3)
			fixCRC(b)
			return b
		}), ErrInvalidRecord},
		{"control batch", mod(func(b []byte) []byte { b[offAttributes+1] |= 0x20; fixCRC(b); return b }), ErrInvalidRecord},
		{"producer id without sequence", buildBatch(t, batchSpec{records: 1, producerID: 3, seq: -1}), ErrInvalidRecord},
		{"bad codec", mod(func(b []byte) []byte { b[offAttributes+1] |= 7; fixCRC(b); return b }), ErrInvalidRecord},
		{"garbled record", mod(func(b []byte) []byte { b[BatchHeaderSize] = 0x7f; fixCRC(b); return b }), ErrInvalidRecord},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := ValidateBatches(tc.in)
			if tc.want == nil {
				if err != nil || len(hs) != 1 {
					t.Fatalf("got %v, %d headers", err, len(hs))
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSplitBatchesMany(t *testing.T) {
	var all []byte
	for i := 0; i < 4; i++ {
		all = append(all, buildBatch(t, batchSpec{records: i + 1})...)
	}
	hs, err := SplitBatches(all)
	if err != nil || len(hs) != 4 {
		t.Fatalf("SplitBatches: %v, %d", err, len(hs))
	}
	if hs[3].RecordCount != 4 {
		t.Fatalf("fourth batch %+v", hs[3])
	}
}

func FuzzValidateBatches(f *testing.F) {
	f.Add(buildBatch(f, batchSpec{records: 2, valueSize: 5}))
	f.Add(buildBatch(f, batchSpec{records: 1, producerID: 1, seq: 0, attrs: 0x10}))
	f.Add([]byte{})
	f.Add(make([]byte, BatchHeaderSize))
	addBombSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRecordsCost(t, b, "ValidateBatches", func() { _, _ = ValidateBatches(b) })
		hs, err := ValidateBatches(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptMessage) && !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(hs) != 1 || hs[0].Size() != int64(len(b)) {
			t.Fatalf("accepted %d bytes as %+v", len(b), hs)
		}
		if got := batchCRC(b); got != hs[0].CRC {
			t.Fatalf("accepted bad CRC")
		}
	})
}
