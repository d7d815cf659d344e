package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// legacyMessageV0 is a magic 0 message set of one uncompressed message
// with a null key (LegacyRecord, Produce v0-v1).
func legacyMessageV0(value string) []byte {
	msg := []byte{0, 0}                                  // magic 0, attributes
	msg = binary.BigEndian.AppendUint32(msg, 0xffffffff) // null key
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(value)))
	msg = append(msg, value...)
	crc := crc32.ChecksumIEEE(msg)
	var out []byte
	out = binary.BigEndian.AppendUint64(out, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(4+len(msg)))
	out = binary.BigEndian.AppendUint32(out, crc)
	return append(out, msg...)
}

// replicaManager.appendRecords answers each partition: appended to the
// partition this broker leads (acks=all waits for the HW, here at once with
// RF 1), NOT_LEADER_OR_FOLLOWER where it follows, UNKNOWN_TOPIC_OR_PARTITION
// where the partition is unknown; Produce v0-v2 message sets are
// up-converted by the log, an empty one appends nothing (offset -1).
func TestReplicaManagerAppendRecords(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	if err := leaderAndIsr(t, s, 1, 2, 1, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	s.replicas.fetchers.remove([]topicPartition{{"t", 1}})

	entries := []produceEntry{
		{topic: "t", partition: 0, records: testBatch(3)},
		{topic: "t", partition: 1, records: testBatch(1)},
		{topic: "t", partition: 9, records: testBatch(1)},
	}
	s.replicas.appendRecords(context.Background(), 5*time.Second, -1, false, false, entries)
	if e := entries[0]; e.err != nil || e.result.baseOffset != 0 || e.result.logStartOffset != 0 || e.result.logAppendTime != -1 {
		t.Errorf("led partition: %+v %v, want offset 0, log start 0, no append time", e.result, e.err)
	}
	if e := entries[1]; !errors.Is(e.err, kerr.NotLeaderForPartition) || e.result.baseOffset != -1 || e.result.logStartOffset != -1 {
		t.Errorf("followed partition: %+v %v, want NOT_LEADER_OR_FOLLOWER without offsets", e.result, e.err)
	}
	if e := entries[2]; !errors.Is(e.err, kerr.UnknownTopicOrPartition) {
		t.Errorf("unknown partition: %v, want UNKNOWN_TOPIC_OR_PARTITION", e.err)
	}

	legacy := []produceEntry{
		{topic: "t", partition: 0, records: nil},
		{topic: "t", partition: 0, records: legacyMessageV0("v")},
	}
	s.replicas.appendRecords(context.Background(), 5*time.Second, 1, true, false, legacy)
	if e := legacy[0]; e.err != nil || e.result.baseOffset != -1 || e.result.logStartOffset != 0 {
		t.Errorf("empty legacy message set: %+v %v, want offset -1, log start 0", e.result, e.err)
	}
	if e := legacy[1]; e.err != nil || e.result.baseOffset != 3 {
		t.Errorf("magic 0 message set: %+v %v, want up-converted at offset 3", e.result, e.err)
	}
	p, _ := s.replicas.get("t", 0)
	if leo := p.log.LogEndOffset(); leo != 4 {
		t.Errorf("LEO %d, want 4", leo)
	}

	// A corrupt batch is refused by the log's validation, the partition
	// stays online.
	bad := testBatch(1)
	bad[len(bad)-1] ^= 0xff
	refused := []produceEntry{{topic: "t", partition: 0, records: bad}}
	s.replicas.appendRecords(context.Background(), time.Second, 1, false, false, refused)
	if !errors.Is(refused[0].err, kerr.CorruptMessage) || p.isOffline() {
		t.Errorf("corrupt batch: %v, offline %v; want CORRUPT_MESSAGE, online", refused[0].err, p.isOffline())
	}
}
