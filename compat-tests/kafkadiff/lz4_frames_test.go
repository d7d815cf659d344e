package kafkadiff_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/storage"
)

// xxh32Short is xxHash32 (seed 0) of fewer than 16 bytes: an LZ4 frame
// descriptor's checksum input.
func xxh32Short(b []byte) uint32 {
	const p1, p2, p3, p4, p5 uint32 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	h := p5 + uint32(len(b))
	for ; len(b) >= 4; b = b[4:] {
		h = rotl(h+binary.LittleEndian.Uint32(b)*p3, 17) * p4
	}
	for _, c := range b {
		h = rotl(h+uint32(c)*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}

// lz4FrameBatch is a v2 batch of three records compressed with LZ4 whose
// frame descriptor bytes FLG and BD are replaced (0: kept), with the
// descriptor checksum recomputed (broken when badHC) and the batch CRC
// fixed.
func lz4FrameBatch(t *testing.T, flg, bd byte, badHC bool) []byte {
	t.Helper()
	recs := []storage.Record{{Offset: 0, Value: []byte("a")}, {Offset: 1, Value: []byte("bb")}, {Offset: 2, Value: []byte("ccc")}}
	b, err := storage.BuildBatch(storage.BatchHeader{Attributes: int16(storage.CodecLZ4), ProducerID: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	frame := b[storage.BatchHeaderSize:]
	if flg != 0 {
		frame[4] = flg
	}
	if bd != 0 {
		frame[5] = bd
	}
	frame[6] = byte(xxh32Short(frame[4:6]) >> 8)
	if badHC {
		frame[6]++
	}
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// lz4CutBatch cuts the last n bytes off a batch's records section, fixing
// its length and CRC.
func lz4CutBatch(b []byte, n int) []byte {
	b = b[:len(b)-n]
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// lz4FramesAgainstKafka produces LZ4 batches whose frame descriptors
// Lz4BlockInputStream.readHeader (FLG.validate, BD.validate) accepts or
// refuses to Apache Kafka 3.9 (kafka) and to our broker (ours) and
// compares the answers: the partition's error code and log start offset.
// Kafka refuses dependent blocks (what lz4js, kafkajs's LZ4 codec, writes)
// with UNKNOWN_SERVER_ERROR. It runs inside TestSASLAgainstKafka39, which
// starts both brokers (one JVM start for both comparisons).
func lz4FramesAgainstKafka(t *testing.T, ours, kafka string) {
	const topic = "lz4-frames"
	cases := []struct {
		name  string
		batch []byte
	}{
		// Our writer: version 1, independent blocks, content checksum (0x64), 64 KiB blocks (0x40).
		{"independent blocks", lz4FrameBatch(t, 0, 0, false)},
		{"independent blocks, no content checksum flag, 4 MiB", lz4FrameBatch(t, 0x60, 0x70, false)},
		{"dependent blocks", lz4FrameBatch(t, 0x44, 0, false)},
		{"FLG reserved bit", lz4FrameBatch(t, 0x66, 0, false)},
		{"version 0", lz4FrameBatch(t, 0x24, 0, false)},
		{"version 3", lz4FrameBatch(t, 0xe4, 0, false)},
		{"BD block size 3", lz4FrameBatch(t, 0, 0x30, false)},
		{"BD reserved bits", lz4FrameBatch(t, 0, 0x41, false)},
		{"descriptor checksum wrong", lz4FrameBatch(t, 0, 0, true)},
		{"block checksum flag without block checksums", lz4FrameBatch(t, 0x74, 0, false)},
		{"first block larger than the maximum", func() []byte {
			b := lz4FrameBatch(t, 0, 0, false)
			binary.LittleEndian.PutUint32(b[storage.BatchHeaderSize+7:], 128<<10) // 64 KiB blocks declared
			binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
			return b
		}()},
		{"frame cut before its end mark", lz4CutBatch(lz4FrameBatch(t, 0, 0, false), 8)},
		{"content checksum cut short", lz4CutBatch(lz4FrameBatch(t, 0, 0, false), 2)},
		{"bytes after the frame", func() []byte {
			b := append(lz4FrameBatch(t, 0, 0, false), 1, 2, 3, 4, 5)
			binary.BigEndian.PutUint32(b[8:], uint32(len(b)-12))
			binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
			return b
		}()},
		{"content checksum wrong (Kafka reads, does not verify it)", func() []byte {
			b := lz4FrameBatch(t, 0, 0, false)
			b[len(b)-1]++
			binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
			return b
		}()},
	}
	answers := map[string]map[string]string{}
	for _, side := range []struct{ name, addr string }{{"kafka", kafka}, {"ours", ours}} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(side.addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil || resp.Err != nil {
			t.Fatalf("%s: CreateTopic: %v %v", side.name, err, resp.Err)
		}
		answers[side.name] = map[string]string{}
		for _, tc := range cases {
			var answer string
			harness.Poll(t, 30*time.Second, side.name+" "+tc.name+" answered", func() (bool, string) {
				req := kmsg.NewPtrProduceRequest()
				req.Version, req.Acks, req.TimeoutMillis = 9, -1, 10000
				pt := kmsg.NewProduceRequestTopic()
				pt.Topic = topic
				pp := kmsg.NewProduceRequestTopicPartition()
				pp.Records = tc.batch
				pt.Partitions = append(pt.Partitions, pp)
				req.Topics = append(req.Topics, pt)
				resp, err := req.RequestWith(ctx, cl)
				if err != nil {
					return false, err.Error()
				}
				p := resp.Topics[0].Partitions[0]
				name := "NONE"
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil {
					name = e.(*kerr.Error).Message
				}
				answer = fmt.Sprintf("%s logStart=%d", name, p.LogStartOffset)
				// The new topic's leader may not be known yet.
				return p.ErrorCode != kerr.NotLeaderForPartition.Code && p.ErrorCode != kerr.UnknownTopicOrPartition.Code, answer
			})
			answers[side.name][tc.name] = answer
		}
	}
	for _, tc := range cases {
		if k, o := answers["kafka"][tc.name], answers["ours"][tc.name]; k != o {
			t.Errorf("%s:\nKafka: %s\n ours: %s", tc.name, k, o)
		} else {
			t.Logf("%s: %s", tc.name, k)
		}
	}
}
