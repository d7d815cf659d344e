package storage

import (
	"encoding/binary"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// costOf measures f: wall time and bytes allocated (process-wide; the best
// of three runs, to keep other goroutines' noise out).
func costOf(f func()) (time.Duration, uint64) {
	bestWall, bestAlloc := time.Duration(1<<62), uint64(1<<62)
	for i := 0; i < 3; i++ {
		wall, alloc := costOnce(f)
		bestWall, bestAlloc = min(bestWall, wall), min(bestAlloc, alloc)
	}
	return bestWall, bestAlloc
}

// costOnce is one run of f: wall time and bytes allocated (process-wide).
func costOnce(f func()) (time.Duration, uint64) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f()
	wall := time.Since(start)
	runtime.ReadMemStats(&after)
	return wall, after.TotalAlloc - before.TotalAlloc
}

// checkRecordsCost fails t when f, reading the records in in, takes
// more than recordsMaxWall or allocates more than batchAllocBound; one
// run, then the best of three when over (the pooled zstd decoder, noise).
func checkRecordsCost(t *testing.T, in []byte, what string, f func()) {
	t.Helper()
	bound := batchAllocBound(in)
	wall, alloc := costOnce(f)
	if wall > recordsMaxWall || alloc > bound {
		wall, alloc = costOf(f)
	}
	if wall > recordsMaxWall || alloc > bound {
		t.Fatalf("%s of %d bytes cost %v and %d bytes allocated (bounds %v, %d)", what, len(in), wall, alloc, recordsMaxWall, bound)
	}
}

// Cost bounds for reading records: generous for -race on a loaded box.
const recordsMaxWall = 100 * time.Millisecond

func recordsAllocBound(inLen int) uint64 { return 64*uint64(inLen) + 1<<20 }

// zstdWindowOf is the window a zstd frame at the start of data declares
// (RFC 8878 3.1.1.1: the Window_Descriptor, or the content size of a
// single-segment frame), 0 for anything else. A decoder taken fresh from
// an empty pool allocates that window once, as the native library does for
// Kafka; under -race sync.Pool drops some of its items at random, so the
// cost bounds allow it.
func zstdWindowOf(data []byte) uint64 {
	if len(data) < 6 || binary.LittleEndian.Uint32(data) != 0xFD2FB528 {
		return 0
	}
	fhd := data[4]
	if fhd&0x20 == 0 { // a Window_Descriptor follows
		wd := data[5]
		base := uint64(1) << (10 + wd>>3)
		return base + base/8*uint64(wd&7)
	}
	// Single segment: the window is the frame content size.
	fcsLen := [4]int{1, 2, 4, 8}[fhd>>6]
	off := 5 + [4]int{0, 1, 2, 4}[fhd&3]
	if len(data) < off+fcsLen {
		return 0
	}
	var fcs uint64
	for i := fcsLen - 1; i >= 0; i-- {
		fcs = fcs<<8 | uint64(data[off+i])
	}
	if fcsLen == 2 {
		fcs += 256
	}
	return fcs
}

// batchAllocBound is recordsAllocBound for a record batch, plus the window
// of its records section when that is a zstd frame.
func batchAllocBound(b []byte) uint64 {
	bound := recordsAllocBound(len(b))
	if len(b) > BatchHeaderSize {
		bound += zstdWindowOf(b[BatchHeaderSize:])
	}
	return bound
}

// bombBatch is a batch of codec whose records section is one small record
// (key "k", value "v"), or, with declaredSize > 0, one record declaring that
// size, followed by pad zero bytes, compressed: a small batch that inflates
// to pad bytes beyond what its declared record count holds.
func bombBatch(t testing.TB, codec int8, declaredSize int64, pad int) []byte {
	t.Helper()
	plain, err := BuildBatch(BatchHeader{ProducerID: -1, BaseSequence: -1},
		[]Record{{Offset: 0, Key: []byte("k"), Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	body := append([]byte(nil), plain[BatchHeaderSize:]...)
	if declaredSize > 0 {
		body = binary.AppendVarint(nil, declaredSize)
	}
	body = append(body, make([]byte, pad)...)
	comp, err := Compress(codec, body)
	if err != nil {
		t.Fatal(err)
	}
	b := append(plain[:BatchHeaderSize:BatchHeaderSize], comp...)
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(codec))
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-logOverhead))
	fixCRC(b)
	return b
}

// TestDecompressionBombRefused: a batch declaring one record whose
// compressed section inflates to 32 MiB beyond it, or whose one record
// declares 2 GiB, is refused as Kafka's stream iterator refuses it
// (INVALID_RECORD: records still remaining / premature EOF), after
// inflating no further than the declared records, by Records and by
// ValidateBatches alike.
func TestDecompressionBombRefused(t *testing.T) {
	// The pooled zstd decoder's buffers are allocated once, not per batch.
	_, _ = Records(bombBatch(t, CodecZstd, 0, 0))
	for _, codec := range allCodecs[1:] {
		for _, tc := range []struct {
			name     string
			declared int64
			pad      int
		}{
			{"32MiB-after-the-record", 0, 32 << 20},
			{"record-declaring-2GiB", 2<<30 - 1, 64 << 10},
		} {
			t.Run(CodecName(codec)+"/"+tc.name, func(t *testing.T) {
				b := bombBatch(t, codec, tc.declared, tc.pad)
				for _, fn := range []struct {
					name string
					run  func() error
				}{
					{"Records", func() error { _, err := Records(b); return err }},
					{"ValidateBatches", func() error { _, err := ValidateBatches(b); return err }},
				} {
					var err error
					wall, alloc := costOf(func() { err = fn.run() })
					if !errors.Is(err, ErrInvalidRecord) {
						t.Errorf("%s of a %d-byte bomb: %v, want INVALID_RECORD", fn.name, len(b), err)
					}
					// Snappy cannot shrink 32 MiB much (about 1.6 MiB): its
					// bound follows its larger input.
					if alloc > batchAllocBound(b) || wall > recordsMaxWall {
						t.Errorf("%s of a %d-byte bomb cost %v and %d bytes (bounds %v, %d)", fn.name, len(b), wall, alloc, recordsMaxWall, batchAllocBound(b))
					}
					t.Logf("%s: %d-byte batch refused in %v, %d bytes allocated: %v", fn.name, len(b), wall, alloc, err)
				}
			})
		}
	}
}

// addBombSeeds adds, for every codec, a valid compressed batch and two
// bombs (1 MiB past its one record; one record declaring 2 GiB).
func addBombSeeds(f *testing.F) {
	for _, codec := range allCodecs[1:] {
		f.Add(bombBatch(f, codec, 0, 0))
		f.Add(bombBatch(f, codec, 0, 1<<20))
		f.Add(bombBatch(f, codec, 2<<30-1, 4<<10))
	}
}

// TestZstdWindowLimit: a zstd frame declaring a window beyond the native
// library's default limit (2^27) is refused, as Kafka's zstd-jni refuses it,
// before any window is allocated; one at the limit's size class below is read.
func TestZstdWindowLimit(t *testing.T) {
	for _, tc := range []struct {
		windowLog byte
		ok        bool
	}{{20, true}, {27, true}, {28, false}, {31, false}} {
		b := bombBatch(t, CodecZstd, 0, 0)
		enc, err := zstd.NewWriter(nil, zstd.WithSingleSegment(false), zstd.WithWindowSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := BuildBatch(BatchHeader{ProducerID: -1, BaseSequence: -1}, []Record{{Offset: 0, Key: []byte("k"), Value: []byte("v")}})
		frame := enc.EncodeAll(plain[BatchHeaderSize:], nil)
		if frame[4]&0x20 != 0 {
			t.Fatal("the encoder wrote a single-segment frame")
		}
		frame[5] = (tc.windowLog - 10) << 3 // Window_Descriptor: 2^windowLog
		b = append(b[:BatchHeaderSize:BatchHeaderSize], frame...)
		binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-logOverhead))
		fixCRC(b)
		var rerr error
		_, alloc := costOf(func() { _, rerr = Records(b) })
		if (rerr == nil) != tc.ok {
			t.Errorf("window 2^%d: Records: %v, want ok=%v", tc.windowLog, rerr, tc.ok)
		}
		if !tc.ok && alloc > recordsAllocBound(len(b)) {
			t.Errorf("window 2^%d refused after allocating %d bytes", tc.windowLog, alloc)
		}
	}
}
