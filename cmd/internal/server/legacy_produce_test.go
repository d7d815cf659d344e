package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// oldMsg is a message format v0/v1 message; a nil key or value is null.
type oldMsg struct {
	magic int8
	attrs int8
	ts    int64
	key   []byte
	value []byte
}

// encodeOldMsg encodes a legacy message (crc through value), CRC-32 signed.
func encodeOldMsg(m oldMsg) []byte {
	b := []byte{0, 0, 0, 0, byte(m.magic), byte(m.attrs)}
	if m.magic == 1 {
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

// oldSet encodes messages as a message set with offsets 0, 1, 2, ...
func oldSet(msgs ...oldMsg) []byte {
	var b []byte
	for i, m := range msgs {
		b = binary.BigEndian.AppendUint64(b, uint64(i))
		enc := encodeOldMsg(m)
		b = binary.BigEndian.AppendUint32(b, uint32(len(enc)))
		b = append(b, enc...)
	}
	return b
}

// oldWrapper compresses msgs (relative offsets) into one wrapper message
// whose offset is the last inner one, as the Java producer wrote them.
func oldWrapper(t *testing.T, magic, codec int8, ts int64, msgs ...oldMsg) []byte {
	t.Helper()
	payload, err := storage.Compress(codec, oldSet(msgs...))
	if err != nil {
		t.Fatal(err)
	}
	if codec == storage.CodecLZ4 && magic == 0 {
		// Kafka 0.8/0.9 checksummed the LZ4 frame magic too (KAFKA-3160);
		// a broker reads magic 0 wrappers ignoring that byte.
		payload[6] ^= 0x5a
	}
	w := oldSet(oldMsg{magic: magic, attrs: codec, ts: ts, value: payload})
	binary.BigEndian.PutUint64(w, uint64(len(msgs)-1))
	return w
}

func oldMsgs(magic int8, prefix string, n int, ts int64) []oldMsg {
	msgs := make([]oldMsg, n)
	for i := range msgs {
		msgs[i] = oldMsg{magic: magic, ts: ts + int64(i), key: []byte(fmt.Sprintf("k%d", i%3)), value: []byte(fmt.Sprintf("%s-%d", prefix, i))}
	}
	return msgs
}

// legacyProduce sends one Produce request at version v with records for
// topic's partition and returns the partition's answer.
func legacyProduce(ctx context.Context, pc *protocol.Client, v int16, acks int16, topic string, partition int32, records []byte) (kmsg.ProduceResponseTopicPartition, error) {
	req := kmsg.NewPtrProduceRequest()
	req.Version = v
	req.Acks = acks
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := pc.Request(ctx, req)
	if err != nil {
		return kmsg.ProduceResponseTopicPartition{}, err
	}
	pr := resp.(*kmsg.ProduceResponse)
	if len(pr.Topics) != 1 || len(pr.Topics[0].Partitions) != 1 {
		return kmsg.ProduceResponseTopicPartition{}, fmt.Errorf("malformed produce response %+v", pr)
	}
	return pr.Topics[0].Partitions[0], nil
}

// TestLegacyProduce sends Produce v0-v2 with message format v0/v1 sets, as
// pre-0.11 clients and librdkafka before 2.x feature detection do, and reads
// the records back with a v2 consumer: the broker up-converts them to v2
// batches compressed with the wrapper's codec.
func TestLegacyProduce(t *testing.T) {
	b, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	for topic, cfg := range map[string]map[string]*string{
		"legacy":         nil,
		"legacy-compact": {"cleanup.policy": ptr("compact")},
		"legacy-lat":     {"message.timestamp.type": ptr("LogAppendTime")},
	} {
		if _, err := adm.CreateTopic(ctx, 1, 1, cfg, topic); err != nil {
			t.Fatal(err)
		}
	}

	versions, err := adm.ApiVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	versions.Each(func(bv kadm.BrokerApiVersions) {
		if lo, hi, ok := bv.KeyVersions(int16(kmsg.Produce)); bv.Err != nil || !ok || lo != 0 || hi != 11 {
			t.Errorf("ApiVersions (err %v) advertises Produce %d..%d, want 0..11 (Kafka 3.9's)", bv.Err, lo, hi)
		}
	})

	pc := protocol.NewClient(b.addr, "legacy-test", 5*time.Second)
	t.Cleanup(func() { pc.Close() })

	type want struct {
		key, value string
		ts         int64 // -1: none (magic 0)
	}
	var stored []want
	expect := func(msgs []oldMsg) {
		for _, m := range msgs {
			ts := m.ts
			if m.magic == 0 {
				ts = -1
			}
			stored = append(stored, want{string(m.key), string(m.value), ts})
		}
	}
	const ts0 = 1_700_000_000_000
	appends := []struct {
		name    string
		version int16
		acks    int16
		msgs    []oldMsg
		codec   int8
		magic   int8
	}{
		{"v0 magic 0 uncompressed acks=1", 0, 1, oldMsgs(0, "a", 3, 0), storage.CodecNone, 0},
		{"v1 magic 0 gzip acks=all", 1, -1, oldMsgs(0, "b", 4, 0), storage.CodecGzip, 0},
		{"v0 magic 0 lz4 with the old header checksum", 0, 1, oldMsgs(0, "c", 2, 0), storage.CodecLZ4, 0},
		{"v2 magic 1 uncompressed", 2, 1, oldMsgs(1, "d", 3, ts0), storage.CodecNone, 1},
		{"v2 magic 1 snappy acks=all", 2, -1, oldMsgs(1, "e", 5, ts0+100), storage.CodecSnappy, 1},
		{"v2 magic 1 lz4", 2, 1, oldMsgs(1, "f", 2, ts0+200), storage.CodecLZ4, 1},
	}
	var codecs []int8
	next := int64(0)
	for _, a := range appends {
		records := oldSet(a.msgs...)
		if a.codec != storage.CodecNone {
			records = oldWrapper(t, a.magic, a.codec, 0, a.msgs...)
		}
		got, err := legacyProduce(ctx, pc, a.version, a.acks, "legacy", 0, records)
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if got.ErrorCode != 0 || got.BaseOffset != next || got.LogAppendTime != -1 {
			t.Fatalf("%s: error %v, base offset %d (want %d), log append time %d", a.name, kerr.ErrorForCode(got.ErrorCode), got.BaseOffset, next, got.LogAppendTime)
		}
		next += int64(len(a.msgs))
		expect(a.msgs)
		codecs = append(codecs, a.codec)
	}

	// A v2 batch is accepted at Produce v2 too (Kafka does not check the
	// magic below v3).
	got, err := legacyProduce(ctx, pc, 2, 1, "legacy", 0, batch(-1, -1, -1, "v2-in-v2"))
	if err != nil || got.ErrorCode != 0 || got.BaseOffset != next {
		t.Fatalf("v2 batch at Produce v2: %v %+v", err, got)
	}
	codecs = append(codecs, storage.CodecNone)
	stored = append(stored, want{"", "v2-in-v2", -2})
	next++

	// acks=0 at v0: no answer on the connection, the next request's answer
	// is the next frame.
	acks0 := oldMsgs(0, "z", 2, 0)
	legacyAcksZero(t, b.addr, oldSet(acks0...))
	expect(acks0)
	codecs = append(codecs, storage.CodecNone)

	// Errors, with Kafka's codes; leadership is checked before the records.
	crcFlip := oldSet(oldMsgs(1, "x", 2, ts0)...)
	crcFlip[len(crcFlip)-1] ^= 1
	nested := oldWrapper(t, 1, storage.CodecGzip, 0, oldMsg{magic: 1, attrs: storage.CodecGzip, value: []byte("x")})
	for _, e := range []struct {
		name      string
		topic     string
		partition int32
		records   []byte
		want      *kerr.Error
	}{
		{"crc flip", "legacy", 0, crcFlip, kerr.CorruptMessage},
		{"truncated", "legacy", 0, oldSet(oldMsgs(0, "x", 2, 0)...)[:30], kerr.CorruptMessage},
		{"nested compression", "legacy", 0, nested, kerr.InvalidRecord},
		{"keyless on a compacted topic", "legacy-compact", 0, oldSet(oldMsg{magic: 1, ts: ts0, value: []byte("v")}), kerr.InvalidRecord},
		{"unknown partition before the records", "legacy", 7, crcFlip, kerr.UnknownTopicOrPartition},
	} {
		got, err := legacyProduce(ctx, pc, 2, 1, e.topic, e.partition, e.records)
		if err != nil {
			t.Fatalf("%s: %v", e.name, err)
		}
		if got.ErrorCode != e.want.Code {
			t.Errorf("%s: error %v, want %v", e.name, kerr.ErrorForCode(got.ErrorCode), e.want)
		}
	}

	// An empty message set appends nothing (offset -1), as Kafka answers.
	if got, err := legacyProduce(ctx, pc, 1, 1, "legacy", 0, nil); err != nil || got.ErrorCode != 0 || got.BaseOffset != -1 {
		t.Errorf("empty message set: %v %+v", err, got)
	}

	// A LogAppendTime topic stamps the converted batch and answers the time.
	before := time.Now().UnixMilli()
	got, err = legacyProduce(ctx, pc, 2, 1, "legacy-lat", 0, oldWrapper(t, 1, storage.CodecGzip, 5, oldMsgs(1, "l", 2, ts0)...))
	if err != nil || got.ErrorCode != 0 || got.LogAppendTime < before {
		t.Fatalf("LogAppendTime topic: %v %+v (sent at %d)", err, got, before)
	}

	// Everything reads back with a v2 consumer, in order.
	consumer := newClient(t, []string{b.addr}, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		"legacy": {0: kgo.NewOffset().AtStart()},
	}))
	var recs []*kgo.Record
	for len(recs) < len(stored) {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(recs), len(stored), err)
		}
		fetches.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s-%d: %v", topic, p, err) })
		recs = append(recs, fetches.Records()...)
	}
	if len(recs) != len(stored) {
		t.Fatalf("consumed %d records, want %d", len(recs), len(stored))
	}
	for i, w := range stored {
		r := recs[i]
		if r.Offset != int64(i) || string(r.Key) != w.key || string(r.Value) != w.value {
			t.Errorf("record %d: offset %d key %q value %q, want key %q value %q", i, r.Offset, r.Key, r.Value, w.key, w.value)
		}
		if w.ts != -2 && r.Timestamp.UnixMilli() != w.ts {
			t.Errorf("record %d (%s): timestamp %d, want %d", i, w.value, r.Timestamp.UnixMilli(), w.ts)
		}
	}

	// One v2 batch per produce, compressed with the wrapper's codec.
	var gotCodecs []int8
	seg := segmentBytes(t, b, "legacy-0")
	for pos := 0; pos < len(seg); {
		h, err := storage.ParseBatchHeader(seg[pos:])
		if err != nil {
			t.Fatalf("segment batch at %d: %v", pos, err)
		}
		gotCodecs = append(gotCodecs, h.Compression())
		pos += int(h.Size())
	}
	if !bytes.Equal(int8sAsBytes(gotCodecs), int8sAsBytes(codecs)) {
		t.Errorf("stored batch codecs %v, want %v", gotCodecs, codecs)
	}
}

func int8sAsBytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// legacyAcksZero writes a Produce v0 with acks=0 and then an ApiVersions v0
// on one connection; the first answer must be the ApiVersions one.
func legacyAcksZero(t *testing.T, addr string, records []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	frame := func(key, version int16, corr int32, body []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, uint32(corr))
		b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
		b = append(b, body...)
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		return b
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 0, 0, 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "legacy"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	av := kmsg.NewPtrApiVersionsRequest()
	out := append(frame(int16(kmsg.Produce), 0, 1, req.AppendTo(nil)), frame(int16(kmsg.ApiVersions), 0, 2, av.AppendTo(nil))...)
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	resp, err := protocol.ReadFrame(conn, 1<<20, nil)
	if err != nil {
		t.Fatalf("reading the answer after an acks=0 produce: %v", err)
	}
	if len(resp) < 4 || binary.BigEndian.Uint32(resp) != 2 {
		t.Fatalf("first answer has correlation id %x, want 2 (ApiVersions): acks=0 was answered", resp[:min(4, len(resp))])
	}
}
