package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// oldMessage is one decoded magic 0/1 message, inner ones flattened.
type oldMessage struct {
	offset    int64 // absolute
	magic     int8
	timestamp int64
	key       string
	value     string
}

// decodeOldMessageSet decodes a Fetch v0-v3 message set with kmsg,
// unwrapping compressed wrappers, and stops at a partial message.
func decodeOldMessageSet(t *testing.T, b []byte) []oldMessage {
	t.Helper()
	var out []oldMessage
	for len(b) >= 12 {
		size := int(int32(binary.BigEndian.Uint32(b[8:])))
		if size < 0 || 12+size > len(b) {
			break
		}
		entry := b[:12+size]
		b = b[12+size:]
		var m oldMessage
		var attrs int8
		var value []byte
		switch magic := int8(entry[16]); magic {
		case 0:
			var v kmsg.MessageV0
			if err := v.ReadFrom(entry); err != nil {
				t.Fatal(err)
			}
			m, attrs, value = oldMessage{v.Offset, 0, -1, string(v.Key), string(v.Value)}, v.Attributes, v.Value
		case 1:
			var v kmsg.MessageV1
			if err := v.ReadFrom(entry); err != nil {
				t.Fatal(err)
			}
			m, attrs, value = oldMessage{v.Offset, 1, v.Timestamp, string(v.Key), string(v.Value)}, v.Attributes, v.Value
		default:
			t.Fatalf("message with magic %d", magic)
		}
		codec := attrs & 7
		if codec == 0 {
			out = append(out, m)
			continue
		}
		if codec == storage.CodecLZ4 && m.magic == 0 {
			// Kafka's old frame header checksum covers the frame magic too.
			if value[6] != byte(xxh32ForTest(value[:6])>>8) {
				t.Fatalf("magic 0 lz4 wrapper at %d: header checksum %x is not the old one", m.offset, value[6])
			}
			value = append([]byte(nil), value...)
			value[6] = byte(xxh32ForTest(value[4:6]) >> 8)
		}
		raw, err := storage.Decompress(codec, value)
		if err != nil {
			t.Fatalf("wrapper at %d: %v", m.offset, err)
		}
		inner := decodeOldMessageSet(t, raw)
		for i := range inner {
			if m.magic == 1 {
				inner[i].offset += m.offset - inner[len(inner)-1].offset // relative to the wrapper's
			}
		}
		out = append(out, inner...)
	}
	return out
}

// appendTestBatch appends a v2 batch of n records (key kI, value vI,
// timestamp 1000+I or the log append time 5000, one header) as leader and returns its base offset.
func appendTestBatch(t *testing.T, p *partition, attrs int16, pid int64, n int, prefix string) int64 {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{Offset: int64(i), Timestamp: 1000 + int64(i), Key: []byte(fmt.Sprintf("%sk%d", prefix, i)),
			Value: []byte(fmt.Sprintf("%sv%d", prefix, i)), Headers: []storage.RecordHeader{{Key: "h", Value: []byte("x")}}}
	}
	h := storage.BatchHeader{Attributes: attrs, ProducerID: pid, ProducerEpoch: -1, BaseSequence: -1, MaxTimestamp: 5000} // the log append time of LogAppendTime batches
	if pid >= 0 {
		h.ProducerEpoch, h.BaseSequence = 0, 0
	}
	b, err := storage.BuildBatch(h, recs)
	if err != nil {
		t.Fatal(err)
	}
	info, err := p.log.Append(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	p.setHighWatermark(p.log.LogEndOffset())
	return info.FirstOffset
}

// oldFetch sends one Fetch of t-0 through handleFetch and decodes the
// frame with kmsg, checking that kmsg encodes the same bytes back.
func oldFetch(t *testing.T, s *Server, version int16, replica int32, offset int64) kmsg.FetchResponseTopicPartition {
	t.Helper()
	return oldFetchMax(t, s, version, replica, offset, 1<<20)
}

// oldFetchMax is oldFetch with a partition max bytes.
func oldFetchMax(t *testing.T, s *Server, version int16, replica int32, offset int64, partitionMax int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = version, replica, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes = offset, partitionMax
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	hdr := protocol.RequestHeader{APIKey: 1, APIVersion: version, CorrelationID: 9, HeaderVersion: 1}
	frame, err := s.handleFetch(context.Background(), hdr, req).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 || binary.BigEndian.Uint32(frame[4:]) != 9 {
		t.Fatalf("frame size %d for %d bytes, correlation id %d", got, len(frame)-4, binary.BigEndian.Uint32(frame[4:]))
	}
	body := frame[8:]
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = version
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("v%d response: %v", version, err)
	}
	if again := resp.AppendTo(nil); !bytes.Equal(again, body) {
		t.Fatalf("v%d response is not kmsg's encoding:\n got %x\nwant %x", version, body, again)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("response %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

func newDownConvertServer(t *testing.T) (*Server, *partition) {
	t.Helper()
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	p, ok := s.replicas.get("t", 0)
	if !ok {
		t.Fatal("partition t-0 not hosted")
	}
	return s, p
}

// Fetch v0-v3 down-convert the log's v2 batches (KafkaApis.maybeConvertFetchedData):
// magic 0 up to v1, magic 1 for v2-v3, offsets kept, control batches
// dropped, transactional records kept, every codec but zstd.
func TestFetchDownConversion(t *testing.T) {
	for _, codec := range []int8{storage.CodecNone, storage.CodecGzip, storage.CodecSnappy, storage.CodecLZ4} {
		s, p := newDownConvertServer(t)
		appendTestBatch(t, p, int16(codec), -1, 3, "a") // offsets 0-2
		appendTestBatch(t, p, 0x10, 5, 2, "b")          // transactional, 3-4
		// control (producer 5's commit marker), 5
		if _, err := p.log.AppendEndTxnMarker(storage.EndTxnMarker{ProducerID: 5, Commit: true}, 1); err != nil {
			t.Fatal(err)
		}
		p.setHighWatermark(p.log.LogEndOffset())
		appendTestBatch(t, p, int16(codec)|0x08, -1, 1, "d") // LogAppendTime, 6
		wantOffsets := []int64{0, 1, 2, 3, 4, 6}
		wantKeys := []string{"ak0", "ak1", "ak2", "bk0", "bk1", "dk0"}
		for v := int16(0); v <= 3; v++ {
			t.Run(fmt.Sprintf("%s/v%d", storage.CodecName(codec), v), func(t *testing.T) {
				out := oldFetch(t, s, v, -1, 0)
				if out.ErrorCode != 0 || out.HighWatermark != 7 {
					t.Fatalf("error %d, high watermark %d", out.ErrorCode, out.HighWatermark)
				}
				msgs := decodeOldMessageSet(t, out.RecordBatches)
				wantMagic := int8(1)
				if v <= 1 {
					wantMagic = 0
				}
				if len(msgs) != len(wantOffsets) {
					t.Fatalf("%d messages %+v, want offsets %v", len(msgs), msgs, wantOffsets)
				}
				for i, m := range msgs {
					if m.offset != wantOffsets[i] || m.key != wantKeys[i] || m.magic != wantMagic {
						t.Errorf("message %d: %+v, want offset %d key %s magic %d", i, m, wantOffsets[i], wantKeys[i], wantMagic)
					}
				}
				if wantMagic == 1 && (msgs[1].timestamp != 1001 || msgs[5].timestamp != 5000) {
					t.Errorf("timestamps %d (CreateTime 1001) and %d (LogAppendTime 5000)", msgs[1].timestamp, msgs[5].timestamp)
				}
			})
		}
	}
}

// message.downconversion.enable=false: a client's Fetch v0-v3 gets
// UNSUPPORTED_VERSION for the partition; followers and v4+ are served.
func TestFetchDownConversionDisabled(t *testing.T) {
	s, p := newDownConvertServer(t)
	appendTestBatch(t, p, 0, -1, 2, "a")
	cfg := p.log.Config()
	cfg.DownConversionDisabled = true
	p.log.SetConfig(cfg)
	for v := int16(0); v <= 3; v++ {
		out := oldFetch(t, s, v, -1, 0)
		if out.ErrorCode != kerr.UnsupportedVersion.Code || out.HighWatermark != -1 || len(out.RecordBatches) != 0 {
			t.Errorf("v%d: error %d, high watermark %d, %d bytes: want UNSUPPORTED_VERSION and no data", v, out.ErrorCode, out.HighWatermark, len(out.RecordBatches))
		}
	}
	if out := oldFetch(t, s, 3, 2, 0); out.ErrorCode != 0 || len(decodeOldMessageSet(t, out.RecordBatches)) != 2 {
		t.Errorf("follower v3: error %d, want its records converted", out.ErrorCode)
	}
	if out := oldFetch(t, s, 4, -1, 0); out.ErrorCode != 0 || len(out.RecordBatches) == 0 {
		t.Errorf("v4: error %d, want the v2 batches", out.ErrorCode)
	}
}

// zstd: a topic whose compression.type is zstd is UNSUPPORTED_COMPRESSION_TYPE
// below Fetch v10; a zstd batch cannot be down-converted.
func TestFetchZstdBelowV10(t *testing.T) {
	s, p := newDownConvertServer(t)
	appendTestBatch(t, p, int16(storage.CodecZstd), -1, 2, "z")
	if out := oldFetch(t, s, 3, -1, 0); out.ErrorCode != kerr.UnsupportedCompressionType.Code {
		t.Errorf("zstd batch, v3: error %d, want UNSUPPORTED_COMPRESSION_TYPE", out.ErrorCode)
	}
	if out := oldFetch(t, s, 9, -1, 0); out.ErrorCode != 0 {
		t.Errorf("zstd batch, producer compression, v9: error %d", out.ErrorCode)
	}
	cfg := p.log.Config()
	cfg.CompressionType = "zstd"
	p.log.SetConfig(cfg)
	for _, v := range []int16{0, 3, 4, 9} {
		if out := oldFetch(t, s, v, -1, 0); out.ErrorCode != kerr.UnsupportedCompressionType.Code || out.HighWatermark != -1 {
			t.Errorf("zstd topic, v%d: error %d, want UNSUPPORTED_COMPRESSION_TYPE", v, out.ErrorCode)
		}
	}
	if out := oldFetch(t, s, 10, -1, 0); out.ErrorCode != 0 {
		t.Errorf("zstd topic, v10: error %d", out.ErrorCode)
	}
}

// Uncompressed records before the fetch offset are left out.
func TestFetchDownConversionFromMidBatch(t *testing.T) {
	s, p := newDownConvertServer(t)
	appendTestBatch(t, p, 0, -1, 4, "a")
	msgs := decodeOldMessageSet(t, oldFetch(t, s, 2, -1, 2).RecordBatches)
	if len(msgs) != 2 || msgs[0].offset != 2 || msgs[1].offset != 3 {
		t.Fatalf("messages %+v, want offsets 2 and 3", msgs)
	}
}

// xxh32ForTest is XXH32 with seed 0 of a short input (under 16 bytes).
func xxh32ForTest(b []byte) uint32 {
	const p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	h := uint32(p5) + uint32(len(b))
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	for ; len(b) >= 4; b = b[4:] {
		h += binary.LittleEndian.Uint32(b) * p3
		h = rotl(h, 17) * p4
	}
	for _, c := range b {
		h += uint32(c) * p5
		h = rotl(h, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}

// ReplicaManager.readFromLog: up to v2 the partition max bytes are a hard
// limit (a first batch larger than them gives nothing to convert); from v3
// the first partition gets at least its first whole batch.
func TestFetchOldMaxBytesHardLimit(t *testing.T) {
	s, p := newDownConvertServer(t)
	appendTestBatch(t, p, 0, -1, 20, "a")
	for v := int16(0); v <= 3; v++ {
		out := oldFetchMax(t, s, v, -1, 0, 100)
		msgs := decodeOldMessageSet(t, out.RecordBatches)
		if want := map[bool]int{true: 0, false: 20}[v <= 2]; out.ErrorCode != 0 || len(msgs) != want {
			t.Errorf("v%d, partition max 100 bytes: error %d, %d messages, want %d", v, out.ErrorCode, len(msgs), want)
		}
	}
}
