package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

var allCodecs = []int8{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// testPayloads: empty, tiny, incompressible and compressible inputs, some
// spanning several xerial/lz4 blocks.
func testPayloads() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	return map[string][]byte{
		"empty":        {},
		"one byte":     {'x'},
		"random 200K":  random,
		"repeated 1M":  bytes.Repeat([]byte("kafka log segment "), 1<<20/18),
		"block edge":   bytes.Repeat([]byte{7}, xerialBlockSize),
		"block edge+1": bytes.Repeat([]byte{7}, xerialBlockSize+1),
	}
}

func TestCompressRoundTrip(t *testing.T) {
	for _, codec := range allCodecs {
		for name, in := range testPayloads() {
			t.Run(fmt.Sprintf("%s/%s", CodecName(codec), name), func(t *testing.T) {
				c, err := Compress(codec, in)
				if err != nil {
					t.Fatalf("Compress: %v", err)
				}
				out, err := Decompress(codec, c)
				if err != nil {
					t.Fatalf("Decompress: %v", err)
				}
				if !bytes.Equal(out, in) {
					t.Fatalf("round trip differs: %d bytes in, %d out", len(in), len(out))
				}
			})
		}
	}
}

// franz-go's own codecs must read what we write and we what they write.
func TestCompressInteropWithKgo(t *testing.T) {
	kcodecs := map[int8]kgo.CompressionCodec{
		CodecGzip: kgo.GzipCompression(), CodecSnappy: kgo.SnappyCompression(),
		CodecLZ4: kgo.Lz4Compression(), CodecZstd: kgo.ZstdCompression(),
	}
	dec := kgo.DefaultDecompressor()
	for codec, kc := range kcodecs {
		comp, err := kgo.DefaultCompressor(kc)
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range testPayloads() {
			t.Run(fmt.Sprintf("%s/%s", CodecName(codec), name), func(t *testing.T) {
				ours, err := Compress(codec, in)
				if err != nil {
					t.Fatal(err)
				}
				got, err := dec.Decompress(ours, kgo.CompressionCodecType(codec))
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("kgo cannot read our %s: err %v, equal %v", CodecName(codec), err, bytes.Equal(got, in))
				}
				theirs, used := comp.Compress(new(bytes.Buffer), in)
				if int8(used) != codec {
					t.Fatalf("kgo used codec %d", used)
				}
				got, err = Decompress(codec, theirs)
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("we cannot read kgo's %s: err %v, equal %v", CodecName(codec), err, bytes.Equal(got, in))
				}
			})
		}
	}
}

func TestDecompressRawAndXerialSnappy(t *testing.T) {
	in := bytes.Repeat([]byte("abcdefgh"), 20000)
	framed, err := Compress(CodecSnappy, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(framed, xerialMagic) {
		t.Fatalf("Compress(snappy) is not xerial framed: % x", framed[:8])
	}
	if n := bytes.Count(framed, []byte{0, 0, 0, 1}); n < 2 {
		t.Fatalf("xerial header lacks version/compat fields")
	}
	raw := framed[xerialHeaderLen+4:] // first block alone is a raw snappy block
	n := int(uint32(framed[16])<<24 | uint32(framed[17])<<16 | uint32(framed[18])<<8 | uint32(framed[19]))
	out, err := Decompress(CodecSnappy, raw[:n])
	if err != nil || !bytes.Equal(out, in[:xerialBlockSize]) {
		t.Fatalf("raw snappy block: err %v", err)
	}
}

func TestDecompressCorruptNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	in := bytes.Repeat([]byte("the quick brown fox "), 3000)
	for _, codec := range allCodecs[1:] {
		good, err := Compress(codec, in)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 400; i++ {
			bad := append([]byte(nil), good...)
			switch i % 3 {
			case 0: // flip bytes
				for j := 0; j < 1+rng.IntN(4); j++ {
					bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
				}
			case 1: // truncate
				bad = bad[:rng.IntN(len(bad))]
			case 2: // garbage with the right prefix
				bad = append(bad[:min(len(bad), 16)], make([]byte, rng.IntN(64))...)
				for j := 16; j < len(bad); j++ {
					bad[j] = byte(rng.Uint32())
				}
			}
			out, err := Decompress(codec, bad)
			if err == nil && !bytes.Equal(out, in) && len(out) > MaxDecompressedBytes {
				t.Fatalf("%s: corrupt input decoded beyond the limit", CodecName(codec))
			}
			if err != nil && !errors.Is(err, ErrCorruptMessage) {
				t.Fatalf("%s: error %v does not wrap ErrCorruptMessage", CodecName(codec), err)
			}
		}
	}
	if _, err := Decompress(5, []byte{1}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("codec 5: %v", err)
	}
	// A snappy block declaring 4 GiB from a few bytes is refused before allocating.
	if _, err := Decompress(CodecSnappy, []byte{0xff, 0xff, 0xff, 0xff, 0x0f, 0}); err == nil {
		t.Fatal("snappy bomb accepted")
	}
}

// kgoBatches produces records with franz-go under a codec to an in-process
// kfake cluster and returns the raw batches fetched back, as kgo built them.
func kgoBatches(t *testing.T, codec kgo.CompressionCodec, recs []*kgo.Record) [][]byte {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ProducerBatchCompression(codec),
		kgo.MaxVersions(kversion.V3_0_0()), kgo.ProducerLinger(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fresh := make([]*kgo.Record, len(recs)) // kgo keeps a produced record's context
	for i, r := range recs {
		fresh[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp}
	}
	if err := cl.ProduceSync(ctx, fresh...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis, req.MaxBytes = 100, 64<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 64 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("fetch response: %+v", resp)
	}
	raw := resp.Topics[0].Partitions[0].RecordBatches
	hs, err := SplitBatches(raw)
	if err != nil {
		t.Fatalf("kgo batches fail our checks: %v", err)
	}
	var out [][]byte
	for _, h := range hs {
		out = append(out, raw[:h.Size()])
		raw = raw[h.Size():]
	}
	return out
}

func TestRecordsAndBuildBatchOnKgoBatches(t *testing.T) {
	ts := time.UnixMilli(1700000000000)
	var recs []*kgo.Record
	for i := 0; i < 300; i++ {
		r := &kgo.Record{Topic: "t", Timestamp: ts.Add(time.Duration(i%7) * time.Millisecond)}
		switch i % 5 {
		case 0: // null key, null value (tombstone)
		case 1:
			r.Key, r.Value = []byte{}, []byte{}
		case 2:
			r.Key, r.Value = []byte(fmt.Sprintf("k%d", i)), bytes.Repeat([]byte("v"), 1000+i)
			r.Headers = []kgo.RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2"}}
		default:
			r.Key, r.Value = []byte(fmt.Sprintf("k%d", i%13)), []byte(fmt.Sprintf("value-%d", i))
		}
		recs = append(recs, r)
	}
	kc := map[int8]kgo.CompressionCodec{
		CodecNone: kgo.NoCompression(), CodecGzip: kgo.GzipCompression(), CodecSnappy: kgo.SnappyCompression(),
		CodecLZ4: kgo.Lz4Compression(), CodecZstd: kgo.ZstdCompression(),
	}
	for _, codec := range allCodecs {
		t.Run(CodecName(codec), func(t *testing.T) {
			batches := kgoBatches(t, kc[codec], recs)
			i := 0
			for _, b := range batches {
				h, err := ParseBatchHeader(b)
				if err != nil {
					t.Fatal(err)
				}
				if h.Compression() != codec {
					t.Fatalf("kgo wrote codec %d, want %d", h.Compression(), codec)
				}
				got, err := Records(b)
				if err != nil {
					t.Fatalf("Records: %v", err)
				}
				for _, r := range got {
					want := recs[i]
					if r.Offset != int64(i) || r.Timestamp != want.Timestamp.UnixMilli() ||
						r.KeyNull != (want.Key == nil) || r.ValueNull != (want.Value == nil) ||
						!bytes.Equal(r.Key, want.Key) || !bytes.Equal(r.Value, want.Value) || len(r.Headers) != len(want.Headers) {
						t.Fatalf("record %d: got %+v, want %+v", i, r, want)
					}
					for j, hd := range r.Headers {
						if hd.Key != want.Headers[j].Key || !bytes.Equal(hd.Value, want.Headers[j].Value) || (hd.Value == nil) != (want.Headers[j].Value == nil) {
							t.Fatalf("record %d header %d: %+v vs %+v", i, j, hd, want.Headers[j])
						}
					}
					i++
				}
				// Rebuilding with the same header and records gives an equivalent batch.
				rebuilt, err := BuildBatch(h, got)
				if err != nil {
					t.Fatalf("BuildBatch: %v", err)
				}
				if _, err := checkBatch(rebuilt); err != nil {
					t.Fatalf("rebuilt batch invalid: %v", err)
				}
				rh, _ := ParseBatchHeader(rebuilt)
				if codec == CodecNone && !bytes.Equal(rebuilt, b) {
					t.Fatalf("uncompressed rebuild differs from kgo's batch")
				}
				if rh.BaseTimestamp != h.BaseTimestamp || rh.MaxTimestamp != h.MaxTimestamp || rh.LastOffsetDelta != h.LastOffsetDelta ||
					rh.RecordCount != h.RecordCount || rh.Attributes != h.Attributes || rh.ProducerID != h.ProducerID || rh.BaseSequence != h.BaseSequence {
					t.Fatalf("rebuilt header %+v, kgo's %+v", rh, h)
				}
				again, err := Records(rebuilt)
				if err != nil || len(again) != len(got) {
					t.Fatalf("re-read: %v", err)
				}
				// kmsg and kgo read the rebuilt batch too.
				var kb kmsg.RecordBatch
				if err := kb.ReadFrom(rebuilt); err != nil {
					t.Fatalf("kmsg cannot read rebuilt batch: %v", err)
				}
				if _, err := kgo.DefaultDecompressor().Decompress(kb.Records, kgo.CompressionCodecType(codec)); err != nil {
					t.Fatalf("kgo cannot decompress rebuilt batch: %v", err)
				}
			}
			if i != len(recs) {
				t.Fatalf("read %d records, produced %d", i, len(recs))
			}
		})
	}
}

func TestBuildBatchCompaction(t *testing.T) {
	recs := []Record{
		{Offset: 102, Timestamp: 5000, Key: []byte("a"), Value: []byte("1")},
		{Offset: 105, Timestamp: 4000, Key: []byte("b"), ValueNull: true},
		{Offset: 107, Timestamp: 6000, KeyNull: true, Value: []byte("3"), Headers: []RecordHeader{{Key: "n"}}},
	}
	tests := []struct {
		name      string
		h         BatchHeader
		wantBase  int64
		wantMax   int64
		wantDelta int32
		wantAttrs int16
		wantCount int32
	}{
		{name: "keeps last offset", h: BatchHeader{BaseOffset: 100, LastOffsetDelta: 9, Attributes: int16(CodecZstd), ProducerID: 7, ProducerEpoch: 1, BaseSequence: 40, PartitionLeaderEpoch: 3},
			wantBase: 5000, wantMax: 6000, wantDelta: 9, wantAttrs: int16(CodecZstd), wantCount: 3},
		{name: "last record beyond", h: BatchHeader{BaseOffset: 100, LastOffsetDelta: 2, Attributes: int16(CodecGzip), ProducerID: -1, BaseSequence: -1},
			wantBase: 5000, wantMax: 6000, wantDelta: 7, wantAttrs: int16(CodecGzip), wantCount: 3},
		{name: "delete horizon", h: BatchHeader{BaseOffset: 100, Attributes: int16(CodecLZ4) | attrDeleteHorizon, BaseTimestamp: 99999, ProducerID: -1, BaseSequence: -1},
			wantBase: 99999, wantMax: 6000, wantDelta: 7, wantAttrs: int16(CodecLZ4) | attrDeleteHorizon, wantCount: 3},
		{name: "log append time", h: BatchHeader{BaseOffset: 100, Attributes: int16(CodecSnappy) | attrTimestampType, MaxTimestamp: 8000, ProducerID: -1, BaseSequence: -1},
			wantBase: 5000, wantMax: 8000, wantDelta: 7, wantAttrs: int16(CodecSnappy) | attrTimestampType, wantCount: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := BuildBatch(tc.h, recs)
			if err != nil {
				t.Fatal(err)
			}
			h, err := checkBatch(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.BaseTimestamp != tc.wantBase || h.MaxTimestamp != tc.wantMax || h.LastOffsetDelta != tc.wantDelta ||
				h.Attributes != tc.wantAttrs || h.RecordCount != tc.wantCount || h.BaseOffset != tc.h.BaseOffset ||
				h.ProducerID != tc.h.ProducerID || h.ProducerEpoch != tc.h.ProducerEpoch || h.BaseSequence != tc.h.BaseSequence ||
				h.PartitionLeaderEpoch != tc.h.PartitionLeaderEpoch {
				t.Fatalf("header %+v", h)
			}
			got, err := Records(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				w := recs[i]
				wantTs := w.Timestamp
				if h.LogAppendTime() {
					wantTs = h.MaxTimestamp
				}
				if r.Offset != w.Offset || r.Timestamp != wantTs || r.KeyNull != w.KeyNull || r.ValueNull != w.ValueNull ||
					!bytes.Equal(r.Key, w.Key) || !bytes.Equal(r.Value, w.Value) || len(r.Headers) != len(w.Headers) {
					t.Fatalf("record %d: %+v, want %+v", i, r, w)
				}
			}
			if got[2].Headers[0].Value != nil {
				t.Fatal("null header value came back non-null")
			}
		})
	}
	t.Run("empty batch", func(t *testing.T) {
		h := BatchHeader{BaseOffset: 50, LastOffsetDelta: 4, Attributes: int16(CodecZstd) | attrTransactional | attrDeleteHorizon, MaxTimestamp: 1234, ProducerID: 9, ProducerEpoch: 2, BaseSequence: 10}
		b, err := BuildBatch(h, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := checkBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != BatchHeaderSize || got.RecordCount != 0 || got.LastOffset() != 54 || got.Attributes != attrTransactional ||
			got.BaseTimestamp != 1234 || got.MaxTimestamp != 1234 || got.LastSequence() != 14 {
			t.Fatalf("empty batch header %+v", got)
		}
	})
	t.Run("bad offsets", func(t *testing.T) {
		for _, rs := range [][]Record{
			{{Offset: 99}},
			{{Offset: 101}, {Offset: 101}},
			{{Offset: 100 + 1<<31}},
		} {
			if _, err := BuildBatch(BatchHeader{BaseOffset: 100}, rs); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("offsets %+v: %v", rs, err)
			}
		}
		if _, err := BuildBatch(BatchHeader{Attributes: 6}, []Record{{}}); !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("codec 6: %v", err)
		}
	})
}

func TestRecordsCorruptNeverPanics(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var recs []Record
	for i := 0; i < 40; i++ {
		recs = append(recs, Record{Offset: int64(i), Timestamp: int64(1000 + i), Key: []byte{byte(i)}, Value: bytes.Repeat([]byte{byte(i)}, 30),
			Headers: []RecordHeader{{Key: "k", Value: []byte("v")}}})
	}
	for _, codec := range allCodecs {
		good, err := BuildBatch(BatchHeader{Attributes: int16(codec), ProducerID: -1, BaseSequence: -1}, recs)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 500; i++ {
			bad := append([]byte(nil), good...)
			if i%2 == 0 {
				for j := 0; j < 1+rng.IntN(3); j++ {
					bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
				}
			} else {
				bad = bad[:rng.IntN(len(bad))]
			}
			if got, err := Records(bad); err == nil && len(got) > len(bad) {
				t.Fatalf("%s: %d records from %d bytes", CodecName(codec), len(got), len(bad))
			}
		}
	}
}

// FuzzRecords feeds arbitrary bytes to Records and Decompress; Records
// costs what its input weighs (checkRecordsCost).
func FuzzRecords(f *testing.F) {
	for _, codec := range allCodecs {
		b, err := BuildBatch(BatchHeader{Attributes: int16(codec), ProducerID: -1, BaseSequence: -1},
			[]Record{{Offset: 0, Key: []byte("k"), Value: []byte("v")}, {Offset: 1, ValueNull: true}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	addBombSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRecordsCost(t, b, "Records", func() { _, _ = Records(b) })
		for _, codec := range allCodecs {
			_, _ = Decompress(codec, b)
		}
	})
}

func BenchmarkCodecs(b *testing.B) {
	var recs []Record
	for i := 0; i < 1000; i++ {
		recs = append(recs, Record{Offset: int64(i), Timestamp: 1700000000000 + int64(i),
			Key: []byte(fmt.Sprintf("key-%d", i%100)), Value: []byte(fmt.Sprintf(`{"id":%d,"name":"user-%d","active":true}`, i, i))})
	}
	plain, _ := BuildBatch(BatchHeader{ProducerID: -1, BaseSequence: -1}, recs)
	body := plain[BatchHeaderSize:]
	for _, codec := range allCodecs[1:] {
		c, _ := Compress(codec, body)
		b.Run(CodecName(codec)+"/compress", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if _, err := Compress(codec, body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(CodecName(codec)+"/decompress", func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if _, err := Decompress(codec, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// lz4Batch is a v2 batch of three records compressed with LZ4, its frame
// descriptor changed by mod (FLG, BD), the descriptor checksum recomputed
// unless badHC, and the batch CRC fixed.
func lz4Batch(t *testing.T, mod func(flg, bd byte) (byte, byte), badHC bool) []byte {
	t.Helper()
	recs := []Record{{Offset: 0, Value: []byte("a")}, {Offset: 1, Value: []byte("bb")}, {Offset: 2, Value: []byte("ccc")}}
	b, err := BuildBatch(BatchHeader{Attributes: int16(CodecLZ4), ProducerID: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	frame := b[BatchHeaderSize:]
	if frame[4] != 0x64 || frame[5] != 0x40 {
		t.Fatalf("the writer's descriptor is %02x %02x, not version 1, independent blocks, content checksum, 64 KiB", frame[4], frame[5])
	}
	if mod != nil {
		frame[4], frame[5] = mod(frame[4], frame[5])
	}
	end := 6
	if frame[4]&0x08 != 0 {
		end += 8 // the writer sets no content size; a test that sets it has no such bytes
	}
	frame[end] = byte(xxh32(frame[4:end], 0) >> 8)
	if badHC {
		frame[end]++
	}
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// lz4WrongContentChecksum is lz4Batch's frame with its content checksum
// (the last 4 bytes) changed.
func lz4WrongContentChecksum(t *testing.T) []byte {
	b := lz4Batch(t, nil, false)
	b[len(b)-1]++
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// lz4Cut is lz4Batch's batch with the last n bytes of its frame cut off
// (batch length and CRC fixed).
func lz4Cut(t *testing.T, n int) []byte {
	b := lz4Batch(t, nil, false)
	b = b[:len(b)-n]
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestLZ4FrameRules: Lz4BlockInputStream.readHeader with FLG.validate and
// BD.validate decides which LZ4 frames Kafka reads; a refused frame fails
// the append without a Kafka code (Kafka: a KafkaException,
// UNKNOWN_SERVER_ERROR).
func TestLZ4FrameRules(t *testing.T) {
	set := func(flgOr, flgAndNot, bdOr, bdAndNot byte) func(flg, bd byte) (byte, byte) {
		return func(flg, bd byte) (byte, byte) { return flg&^flgAndNot | flgOr, bd&^bdAndNot | bdOr }
	}
	cases := []struct {
		name  string
		batch []byte
		want  string // "" accepted, else the refusal
	}{
		{"as written (independent blocks, content checksum)", lz4Batch(t, nil, false), ""},
		{"content checksum flag cleared, checksum bytes left after the frame", lz4Batch(t, set(0, 0x04, 0, 0), false), ""},
		{"content checksum wrong (Kafka does not verify it)", lz4WrongContentChecksum(t), ""},
		// The end mark is read as the block's checksum, the content checksum as the next block's size.
		{"block checksum flag without checksums", lz4Batch(t, set(0x10, 0, 0, 0), false), "exceeded max"},
		{"frame cut before its end mark", lz4Cut(t, 8), "Stream ended prematurely"},
		{"content checksum cut short", lz4Cut(t, 2), "content checksum cut short"},
		{"block max 4 MiB", lz4Batch(t, set(0, 0, 0x70, 0x70), false), ""},
		{"dependent blocks", lz4Batch(t, set(0, 0x20, 0, 0), false), "Dependent block stream is unsupported"},
		{"FLG reserved bit 0 (dictionary id)", lz4Batch(t, set(0x01, 0, 0, 0), false), "Reserved bits must be 0"},
		{"FLG reserved bit 1", lz4Batch(t, set(0x02, 0, 0, 0), false), "Reserved bits must be 0"},
		{"version 0", lz4Batch(t, set(0, 0xc0, 0, 0), false), "Version 0 is unsupported"},
		{"version 2", lz4Batch(t, set(0x80, 0x40, 0, 0), false), "Version 2 is unsupported"},
		{"BD reserved low bits", lz4Batch(t, set(0, 0, 0x01, 0), false), "Reserved2 field must be 0"},
		{"BD block size 3", lz4Batch(t, set(0, 0, 0x30, 0x70), false), "Block size value must be between 4 and 7"},
		{"BD reserved high bit", lz4Batch(t, set(0, 0, 0x80, 0), false), "Reserved3 field must be 0"},
		{"descriptor checksum wrong", lz4Batch(t, nil, true), "Stream frame descriptor corrupted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ValidateBatches(tc.batch)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			lz4 := errors.Is(err, errLZ4Frame)
			if !lz4 {
				t.Fatalf("not refused as Lz4BlockInputStream refuses (errLZ4Frame): %v", err)
			}
			if got := corruptOrInvalid(err); lz4 && (errors.Is(got, ErrInvalidRecord) || errors.Is(got, ErrCorruptMessage)) {
				t.Fatalf("a refused frame got a Kafka code: %v", got)
			}
		})
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"short", []byte{0x04, 0x22, 0x4d, 0x18, 0x60}, "Stream ended prematurely"},
		{"legacy frame magic", []byte{0x02, 0x21, 0x4c, 0x18, 0, 0, 0, 0}, "invalid magic bytes"},
		{"skippable frame", []byte{0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0}, "invalid magic bytes"},
	} {
		// Decompress (legacy message sets, the cleaner) keeps CORRUPT_MESSAGE.
		if _, err := Decompress(CodecLZ4, tc.data); !errors.Is(err, ErrCorruptMessage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
	}
}
