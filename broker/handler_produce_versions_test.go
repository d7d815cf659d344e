package broker

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// Topics of the Produce and Fetch version tests, all with replicas on
// brokers 1-3 and this broker (1) leading unless said otherwise.
var (
	topicIDT       = [16]byte{7}
	topicIDAcks    = [16]byte{8}
	topicIDSmall   = [16]byte{9}
	topicIDCompact = [16]byte{10}
	topicIDMinISR  = [16]byte{11}
	topicIDLogTime = [16]byte{14}
	topicIDOldTs   = [16]byte{15}
)

// newProduceTestServer is broker 1 with:
//   - t-0 led by 1 (epoch 1, ISR [1]); t-1 led by 2 (epoch 4, ISR [2 1]);
//   - acks-0 led by 1 with follower 2 in the ISR, which never fetches;
//   - small-0 with max.message.bytes 100;
//   - compact-0 with cleanup.policy compact;
//   - minisr-0 with min.insync.replicas 2 and ISR [1] of replicas [1 2];
//   - logtime-0 with message.timestamp.type LogAppendTime;
//   - oldts-0 with message.timestamp.before.max.ms 1 hour;
//   - __consumer_offsets-0.
func newProduceTestServer(t *testing.T) *Server {
	t.Helper()
	alone := testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1}, replicas: []int32{1}}
	return newTestServer(t,
		withTopic("t", topicIDT, nil, alone,
			testPartitionState{leader: 2, leaderEpoch: 4, isr: []int32{2, 1}, replicas: []int32{2, 1}}),
		withTopic("acks", topicIDAcks, nil, testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1, 2}, replicas: []int32{1, 2}}),
		withTopic("small", topicIDSmall, map[string]string{"max.message.bytes": "100"}, alone),
		withTopic("compact", topicIDCompact, map[string]string{"cleanup.policy": "compact"}, alone),
		withTopic("minisr", topicIDMinISR, map[string]string{"min.insync.replicas": "2"},
			testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1}, replicas: []int32{1, 2}}),
		withTopic("logtime", topicIDLogTime, map[string]string{"message.timestamp.type": "LogAppendTime"}, alone),
		withTopic("oldts", topicIDOldTs, map[string]string{"message.timestamp.before.max.ms": "3600000"}, alone),
		withTopic(offsetsTopic, topicIDOffsets, nil, alone),
	)
}

// legacyMessageSet is n uncompressed messages of magic 0 or 1 (null key,
// value "x", offsets 0..n-1), as Produce v0-v2 clients send them.
func legacyMessageSet(magic int8, n int) []byte {
	var out []byte
	for i := range n {
		var m []byte
		m = append(m, byte(magic), 0) // magic, attributes
		if magic == 1 {
			m = binary.BigEndian.AppendUint64(m, 1000)
		}
		m = binary.BigEndian.AppendUint32(m, ^uint32(0)) // null key
		m = binary.BigEndian.AppendUint32(m, 1)
		m = append(m, 'x')
		out = binary.BigEndian.AppendUint64(out, uint64(i))
		out = binary.BigEndian.AppendUint32(out, uint32(4+len(m)))
		out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(m))
		out = append(out, m...)
	}
	return out
}

// produceRecords is n records in the form a Produce of this version's
// clients sends: a magic 0 message set up to v1, magic 1 for v2, one v2
// batch from v3 (ProduceRequest.validateRecords).
func produceRecords(version int16, n int) []byte {
	switch {
	case version <= 1:
		return legacyMessageSet(0, n)
	case version == 2:
		return legacyMessageSet(1, n)
	}
	return testBatch(n)
}

// keyedBatch is a v2 batch of n records with keys and the given attributes.
func keyedBatch(t *testing.T, attrs int16, n int) []byte {
	t.Helper()
	recs := make([]storage.Record, n)
	for i := range recs {
		recs[i] = storage.Record{Offset: int64(i), Timestamp: 1000, Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v")}
	}
	b, err := storage.BuildBatch(storage.BatchHeader{Attributes: attrs, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, MaxTimestamp: 1000}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptCRC is records with the last byte flipped, which breaks the CRC
// of a v2 batch or of the last legacy message.
func corruptCRC(records []byte) []byte {
	out := append([]byte(nil), records...)
	out[len(out)-1] ^= 0xff
	return out
}

func produceReq(version, acks int16, timeoutMs int32, topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = version, acks, timeoutMs
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produceVia sends one partition's Produce through dispatch and returns
// the response and the partition's answer.
func produceVia(t *testing.T, s *Server, req *kmsg.ProduceRequest) (*kmsg.ProduceResponse, kmsg.ProduceResponseTopicPartition) {
	t.Helper()
	resp := dispatchRequest(t, s, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("Produce v%d response %+v", req.Version, resp)
	}
	return resp, resp.Topics[0].Partitions[0]
}

// produceWant is a Produce partition answer. logStart is checked from v5
// (KIP-107); below, the field is not on the wire and decodes as -1.
type produceWant struct {
	err      *kerr.Error
	base     int64
	logStart int64
	message  *string                                         // from v8
	records  []kmsg.ProduceResponseTopicPartitionErrorRecord // from v8
}

func checkProduce(t *testing.T, version int16, got kmsg.ProduceResponseTopicPartition, want produceWant) {
	t.Helper()
	if got.ErrorCode != errCode(want.err) {
		t.Errorf("error %v, want %v", kerr.ErrorForCode(got.ErrorCode), want.err)
	}
	if got.BaseOffset != want.base {
		t.Errorf("base offset %d, want %d", got.BaseOffset, want.base)
	}
	// The topics are CreateTime: no log append time (RecordBatch.NO_TIMESTAMP).
	if got.LogAppendTime != -1 {
		t.Errorf("log append time %d, want -1", got.LogAppendTime)
	}
	wantLogStart := int64(-1)
	if version >= 5 {
		wantLogStart = want.logStart
	}
	if got.LogStartOffset != wantLogStart {
		t.Errorf("log start offset %d, want %d", got.LogStartOffset, wantLogStart)
	}
	var wantMsg *string
	if version >= 8 {
		wantMsg = want.message
	}
	if (got.ErrorMessage == nil) != (wantMsg == nil) || (wantMsg != nil && *got.ErrorMessage != *wantMsg) {
		t.Errorf("error message %q, want %q", deref(got.ErrorMessage), deref(wantMsg))
	}
	var wantRecords []kmsg.ProduceResponseTopicPartitionErrorRecord
	if version >= 8 {
		wantRecords = want.records
	}
	if len(got.ErrorRecords) != len(wantRecords) {
		t.Errorf("record errors %+v, want %+v", got.ErrorRecords, wantRecords)
	}
	for i := range min(len(got.ErrorRecords), len(wantRecords)) {
		g, w := got.ErrorRecords[i], wantRecords[i]
		if g.RelativeOffset != w.RelativeOffset || deref(g.ErrorMessage) != deref(w.ErrorMessage) {
			t.Errorf("record error %d: %d %q, want %d %q", i, g.RelativeOffset, deref(g.ErrorMessage), w.RelativeOffset, deref(w.ErrorMessage))
		}
	}
	// Only NOT_LEADER_OR_FOLLOWER names a leader (v10+).
	if got.ErrorCode != kerr.NotLeaderForPartition.Code && (got.CurrentLeader.LeaderID != -1 || got.CurrentLeader.LeaderEpoch != -1) {
		t.Errorf("current leader %+v, want none", got.CurrentLeader)
	}
}

// Produce at every version Kafka 3.9 serves (0-11), each row on a fresh
// broker, the data appended only through Produce and the answers decoded
// from the response bytes at the request's version.
func TestProduceVersions(t *testing.T) {
	type row struct {
		name       string
		minV, maxV int16
		run        func(t *testing.T, s *Server, v int16)
	}
	// simple is a row sending one produce and checking its one answer.
	simple := func(acks int16, topic string, partition int32, records func(t *testing.T, v int16) []byte, want produceWant) func(t *testing.T, s *Server, v int16) {
		return func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, acks, 1000, topic, partition, records(t, v)))
			checkProduce(t, v, got, want)
		}
	}
	three := func(_ *testing.T, v int16) []byte { return produceRecords(v, 3) }
	rows := []row{
		// ReplicaManager.appendRecords, acks=1: answered after the local
		// append with the batch's base offset and the log start offset.
		{"acks=1", 0, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "t", 0, produceRecords(v, 3)))
			checkProduce(t, v, got, produceWant{base: 0, logStart: 0})
			_, got = produceVia(t, s, produceReq(v, 1, 1000, "t", 0, produceRecords(v, 2)))
			checkProduce(t, v, got, produceWant{base: 3, logStart: 0})
		}},
		// acks=all with the leader alone in the ISR: the HW passes the
		// batch at once (DelayedProduce is not needed).
		{"acks=all", 0, 11, simple(-1, "t", 0, three, produceWant{base: 0, logStart: 0})},
		// KafkaApis.handleProduceRequest, acks=0: no response; the append
		// happened (the next produce starts after it).
		{"acks=0", 0, 11, func(t *testing.T, s *Server, v int16) {
			resp, err := dispatchRequestErr(t, s, produceReq(v, 0, 1000, "t", 0, produceRecords(v, 3)))
			if err != nil || resp != nil {
				t.Fatalf("acks=0 answered %+v, %v; want no response", resp, err)
			}
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "t", 0, produceRecords(v, 1)))
			checkProduce(t, v, got, produceWant{base: 3, logStart: 0})
		}},
		// acks=0 that fails closes the connection (sendResponseCallback:
		// closeConnection when any partition has an error).
		{"acks=0 failed", 0, 11, func(t *testing.T, s *Server, v int16) {
			resp, err := dispatchRequestErr(t, s, produceReq(v, 0, 1000, "nosuch", 0, produceRecords(v, 1)))
			if err == nil || resp != nil {
				t.Fatalf("failed acks=0 answered %+v, %v; want the connection closed", resp, err)
			}
		}},
		// DelayedProduce: the status starts as REQUEST_TIMED_OUT and keeps
		// the appended offsets; a follower in the ISR that never fetches
		// lets the timeout end it.
		{"acks=all timeout", 0, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, -1, 20, "acks", 0, produceRecords(v, 2)))
			if got.ErrorCode != kerr.RequestTimedOut.Code {
				t.Fatalf("error %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(got.ErrorCode))
			}
			checkProduce(t, v, got, produceWant{err: kerr.RequestTimedOut, base: 0, logStart: 0})
		}},
		// DelayedProduce.tryComplete: the follower's fetch past the batch
		// (Partition.checkEnoughReplicasReachOffset) moves the HW and
		// completes the waiting acks=all produce.
		{"acks=all completed by a follower fetch", 0, 11, func(t *testing.T, s *Server, v int16) {
			wait := dispatchAsync(t, s, produceReq(v, -1, 10_000, "acks", 0, produceRecords(v, 2)))
			follower := fetchArgs{replica: 2, topic: "acks", topicID: topicIDAcks, currentEpoch: -1, lastFetchedEpoch: -1}
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, got := fetchVia(t, s, 12, follower)
				if got.ErrorCode != 0 {
					t.Fatalf("follower fetch: %v", kerr.ErrorForCode(got.ErrorCode))
				}
				if len(got.RecordBatches) > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the produce appended nothing")
				}
				time.Sleep(time.Millisecond)
			}
			follower.offset = 2
			if _, got := fetchVia(t, s, 12, follower); got.ErrorCode != 0 {
				t.Fatalf("follower fetch at 2: %v", kerr.ErrorForCode(got.ErrorCode))
			}
			// The produce's timeout (10s) would answer REQUEST_TIMED_OUT.
			resp, err := wait()
			if err != nil || resp == nil {
				t.Fatalf("acks=all produce: %v, %v", resp, err)
			}
			checkProduce(t, v, resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0], produceWant{base: 0, logStart: 0})
		}},
		// KafkaApis.handleProduceRequest: a partition the metadata cache
		// does not know is UNKNOWN_TOPIC_OR_PARTITION (PartitionResponse(error)).
		{"unknown topic", 0, 11, simple(1, "nosuch", 0, three, produceWant{err: kerr.UnknownTopicOrPartition, base: -1, logStart: -1})},
		{"unknown partition", 0, 11, simple(1, "t", 5, three, produceWant{err: kerr.UnknownTopicOrPartition, base: -1, logStart: -1})},
		// ReplicaManager.appendRecords: acks other than -1, 0 and 1.
		{"bad acks", 0, 11, simple(2, "t", 0, three, produceWant{err: kerr.InvalidRequiredAcks, base: -1, logStart: -1})},
		// UnifiedLog.analyzeAndValidateRecords: a bad CRC is CorruptRecordException,
		// a known exception in ReplicaManager.appendToLocalLog (no log start, no message).
		{"corrupt crc", 0, 11, simple(1, "t", 0, func(_ *testing.T, v int16) []byte { return corruptCRC(produceRecords(v, 3)) },
			produceWant{err: kerr.CorruptMessage, base: -1, logStart: -1})},
		// RecordTooLargeException: a batch above max.message.bytes.
		{"message too large", 0, 11, simple(1, "small", 0, func(_ *testing.T, v int16) []byte { return produceRecords(v, 20) },
			produceWant{err: kerr.MessageTooLarge, base: -1, logStart: -1})},
		// ProduceRequest.validateRecords (v3+, KafkaApis answers
		// PartitionResponse(error)): exactly one batch, of magic 2.
		{"v3+ two batches", 3, 11, simple(1, "t", 0, func(*testing.T, int16) []byte { return append(testBatch(1), testBatch(1)...) },
			produceWant{err: kerr.InvalidRecord, base: -1, logStart: -1})},
		{"v3+ magic 1", 3, 11, simple(1, "t", 0, func(*testing.T, int16) []byte { return legacyMessageSet(1, 1) },
			produceWant{err: kerr.InvalidRecord, base: -1, logStart: -1})},
		{"v3+ no batch", 3, 11, simple(1, "t", 0, func(*testing.T, int16) []byte { return nil },
			produceWant{err: kerr.InvalidRecord, base: -1, logStart: -1})},
		// MemoryRecords' batch iterator: a batch length below the record
		// overhead is CorruptRecordException.
		{"v3+ short batch length", 3, 11, simple(1, "t", 0, func(*testing.T, int16) []byte {
			b := testBatch(1)
			binary.BigEndian.PutUint32(b[8:], 5)
			return b
		}, produceWant{err: kerr.CorruptMessage, base: -1, logStart: -1})},
		// validateRecords: zstd needs v7 (KIP-110).
		{"v3-v6 zstd", 3, 6, simple(1, "t", 0, func(t *testing.T, _ int16) []byte { return keyedBatch(t, int16(storage.CodecZstd), 2) },
			produceWant{err: kerr.UnsupportedCompressionType, base: -1, logStart: -1})},
		{"v7+ zstd", 7, 11, simple(1, "t", 0, func(t *testing.T, _ int16) []byte { return keyedBatch(t, int16(storage.CodecZstd), 2) },
			produceWant{base: 0, logStart: 0})},
		// UnifiedLog.append: v0-v2 records that hold no message append
		// nothing and answer offset -1 without an error.
		{"v0-v2 empty", 0, 2, simple(1, "t", 0, func(*testing.T, int16) []byte { return nil }, produceWant{base: -1, logStart: 0})},
		// Produce v5 (KIP-107): the log start offset after DeleteRecords.
		{"log start after DeleteRecords", 5, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "t", 0, produceRecords(v, 4)))
			checkProduce(t, v, got, produceWant{base: 0, logStart: 0})
			deleteRecordsVia(t, s, "t", 0, 3)
			_, got = produceVia(t, s, produceReq(v, 1, 1000, "t", 0, produceRecords(v, 1)))
			checkProduce(t, v, got, produceWant{base: 4, logStart: 3})
		}},
		// Partition.appendRecordsToLeader: acks=all below min.insync.replicas
		// is NotEnoughReplicasException, caught as any Throwable by
		// ReplicaManager.appendToLocalLog: the log start offset
		// (processFailedRecord) and no error message (hasCustomErrorMessage = false).
		{"not enough replicas", 0, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, -1, 1000, "minisr", 0, produceRecords(v, 1)))
			if got.ErrorCode != kerr.NotEnoughReplicas.Code {
				t.Fatalf("error %v, want NOT_ENOUGH_REPLICAS", kerr.ErrorForCode(got.ErrorCode))
			}
			checkProduce(t, v, got, produceWant{err: kerr.NotEnoughReplicas, base: -1, logStart: 0})
		}},
		// LogValidator.validateKey: a record without a key on a compacted
		// topic is a RecordValidationException: INVALID_RECORD with the
		// log start offset, from v8 a message and the record errors.
		{"compacted topic without key", 0, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "compact", 0, produceRecords(v, 1)))
			if got.ErrorCode != kerr.InvalidRecord.Code {
				t.Fatalf("error %v, want INVALID_RECORD", kerr.ErrorForCode(got.ErrorCode))
			}
			const noKey = "Compacted topic cannot accept message without key in topic partition compact-0"
			msg := "One or more records have been rejected due to 1 record errors in total, and only showing the first " +
				"three errors at most: [RecordError(batchIndex=0, message='" + noKey + "')]"
			checkProduce(t, v, got, produceWant{err: kerr.InvalidRecord, base: -1, logStart: 0, message: &msg,
				records: []kmsg.ProduceResponseTopicPartitionErrorRecord{{RelativeOffset: 0, ErrorMessage: kmsg.StringPtr(noKey)}}})
		}},
		// LogValidator with LogAppendTime: the broker stamps the batch and
		// answers the time (v2+, KIP-32; below, not on the wire).
		{"log append time", 0, 11, func(t *testing.T, s *Server, v int16) {
			before := time.Now().UnixMilli()
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "logtime", 0, produceRecords(v, 2)))
			after := time.Now().UnixMilli()
			if v >= 2 && (got.LogAppendTime < before || got.LogAppendTime > after) {
				t.Errorf("log append time %d, want within [%d, %d]", got.LogAppendTime, before, after)
			}
			got.LogAppendTime = -1
			checkProduce(t, v, got, produceWant{base: 0, logStart: 0})
		}},
		// LogValidator.validateTimestamp: with CreateTime, a record more
		// than message.timestamp.before.max.ms old is refused
		// (RecordValidationException of INVALID_TIMESTAMP, KIP-937).
		{"timestamp too old", 3, 11, func(t *testing.T, s *Server, v int16) {
			before := time.Now().UnixMilli()
			_, got := produceVia(t, s, produceReq(v, 1, 1000, "oldts", 0, tsBatch(100)))
			after := time.Now().UnixMilli()
			// The record error names the bounds of the broker's time:
			// [now - 1h, now + Long.MAX_VALUE], the upper one wrapped as
			// Java's long wraps.
			if len(got.ErrorRecords) == 1 && got.ErrorRecords[0].ErrorMessage != nil {
				var lo, hi int64
				msg := *got.ErrorRecords[0].ErrorMessage
				if _, err := fmt.Sscanf(msg, "Timestamp 100 of message with offset 0 is out of range. The timestamp should be within [%d, %d]", &lo, &hi); err != nil ||
					lo < before-3600000 || lo > after-3600000 || hi != lo+3600000+math.MaxInt64 {
					t.Errorf("record error %q", msg)
				}
				got.ErrorRecords[0].ErrorMessage = kmsg.StringPtr("checked")
			}
			msg := "One or more records have been rejected due to invalid timestamp"
			checkProduce(t, v, got, produceWant{err: kerr.InvalidTimestamp, base: -1, logStart: 0, message: &msg,
				records: []kmsg.ProduceResponseTopicPartitionErrorRecord{{RelativeOffset: 0, ErrorMessage: kmsg.StringPtr("checked")}}})
		}},
		// ReplicaManager.appendToLocalLog: an internal topic takes appends
		// only from the client id "__admin_client" (KafkaApis'
		// internalTopicsAllowed): INVALID_TOPIC_EXCEPTION, no offsets.
		{"internal topic", 0, 11, func(t *testing.T, s *Server, v int16) {
			_, got := produceVia(t, s, produceReq(v, 1, 1000, offsetsTopic, 0, produceRecords(v, 1)))
			checkProduce(t, v, got, produceWant{err: kerr.InvalidTopicException, base: -1, logStart: -1})
			// The admin tools' client id may write there.
			resp, err := dispatchAsyncAs(t, s, adminClientID, produceReq(v, 1, 1000, offsetsTopic, 0, produceRecords(v, 1)))()
			if err != nil {
				t.Fatalf("produce as %s: %v", adminClientID, err)
			}
			checkProduce(t, v, resp.(*kmsg.ProduceResponse).Topics[0].Partitions[0], produceWant{base: 0, logStart: 0})
		}},
		{"compacted topic with keys", 3, 11, simple(1, "compact", 0, func(t *testing.T, _ int16) []byte { return keyedBatch(t, 0, 2) },
			produceWant{base: 0, logStart: 0})},
		// ReplicaManager.getPartitionOrException: a follower is
		// NOT_LEADER_OR_FOLLOWER; from v10 (KIP-951) the response names the
		// current leader and its endpoint (KafkaApis' sendResponseCallback).
		{"not leader", 0, 11, func(t *testing.T, s *Server, v int16) {
			resp, got := produceVia(t, s, produceReq(v, 1, 1000, "t", 1, produceRecords(v, 1)))
			if got.ErrorCode != kerr.NotLeaderForPartition.Code || got.BaseOffset != -1 {
				t.Errorf("%v base %d, want NOT_LEADER_OR_FOLLOWER base -1", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
			}
			wantLeader, wantEpoch, wantBrokers := int32(-1), int32(-1), 0
			if v >= 10 {
				wantLeader, wantEpoch, wantBrokers = 2, 4, 1
			}
			if got.CurrentLeader.LeaderID != wantLeader || got.CurrentLeader.LeaderEpoch != wantEpoch {
				t.Errorf("current leader %+v, want %d epoch %d", got.CurrentLeader, wantLeader, wantEpoch)
			}
			if len(resp.Brokers) != wantBrokers {
				t.Fatalf("brokers %+v, want %d", resp.Brokers, wantBrokers)
			}
			if wantBrokers == 1 {
				if b := resp.Brokers[0]; b.NodeID != 2 || b.Host != "127.0.0.1" || b.Port != 2 || b.Rack != nil {
					t.Errorf("broker %+v, want node 2 at 127.0.0.1:2", b)
				}
			}
		}},
	}
	for v := int16(0); v <= 11; v++ {
		for _, r := range rows {
			if v < r.minV || v > r.maxV {
				continue
			}
			t.Run(fmt.Sprintf("v%d/%s", v, r.name), func(t *testing.T) {
				r.run(t, newProduceTestServer(t), v)
			})
		}
	}
}

// deleteRecordsVia moves topic's partition log start to offset with a
// DeleteRecords request through dispatch.
func deleteRecordsVia(t *testing.T, s *Server, topic string, partition int32, offset int64) {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version, req.TimeoutMillis = 2, 1000
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := dispatchRequest(t, s, req).(*kmsg.DeleteRecordsResponse)
	if got := resp.Topics[0].Partitions[0]; got.ErrorCode != 0 || got.LowWatermark != offset {
		t.Fatalf("DeleteRecords to %d: %v low watermark %d", offset, kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
	}
}
