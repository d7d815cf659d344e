package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func hdr(pid int64, epoch int16, seq int32, n int32, base int64) BatchHeader {
	return BatchHeader{BaseOffset: base, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, RecordCount: n, LastOffsetDelta: n - 1, Magic: 2}
}

func TestProducerSequenceRules(t *testing.T) {
	m := newProducerStateManager()
	m.update(hdr(7, 3, 0, 5, 100)) // seq 0..4 at offsets 100..104
	cases := []struct {
		name    string
		batch   BatchHeader
		wantErr error
	}{
		{"continues", hdr(7, 3, 5, 1, 0), nil},
		{"gap", hdr(7, 3, 6, 1, 0), ErrOutOfOrderSequence},
		{"repeat of an older sequence", hdr(7, 3, 2, 1, 0), ErrOutOfOrderSequence},
		{"older epoch", hdr(7, 2, 5, 1, 0), ErrInvalidProducerEpoch},
		{"newer epoch from 0", hdr(7, 4, 0, 1, 0), nil},
		{"newer epoch not from 0", hdr(7, 4, 3, 1, 0), ErrOutOfOrderSequence},
		{"unknown producer, any sequence", hdr(8, 0, 42, 1, 0), nil},
		{"non-idempotent batch", hdr(-1, -1, -1, 1, 0), nil},
	}
	for _, c := range cases {
		err := m.validate([]BatchHeader{c.batch})
		if !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.wantErr)
		}
	}
}

func TestProducerDuplicateDetection(t *testing.T) {
	m := newProducerStateManager()
	for i := range 7 { // 7 batches: only the last numBatchesToRetain are remembered
		m.update(hdr(1, 0, int32(i*2), 2, int64(i*2)))
	}
	if bm, ok := m.findDuplicate([]BatchHeader{hdr(1, 0, 12, 2, 0)}); !ok || bm.firstOffset != 12 {
		t.Fatalf("last batch must be found as a duplicate with its offset: %+v %v", bm, ok)
	}
	if _, ok := m.findDuplicate([]BatchHeader{hdr(1, 0, 0, 2, 0)}); ok {
		t.Fatal("a batch older than the retained window must not be reported as a duplicate")
	}
	if _, ok := m.findDuplicate([]BatchHeader{hdr(1, 1, 12, 2, 0)}); ok {
		t.Fatal("a different epoch is not a duplicate")
	}
}

func TestInSequenceWraps(t *testing.T) {
	if !inSequence(math.MaxInt32, 0) || !inSequence(4, 5) || inSequence(4, 6) {
		t.Fatal("sequence arithmetic is wrong")
	}
}

// idempotentBatch is a batch of n records from producer pid, epoch 0,
// starting at sequence seq.
func idempotentBatch(t *testing.T, pid int64, seq int32, n int) []byte {
	t.Helper()
	b := buildBatch(t, batchSpec{records: n, producerID: pid, seq: seq})
	binary.BigEndian.PutUint16(b[offProducerEpoch:], 0)
	fixCRC(b)
	return b
}

// The log owns the producer state: AppendAsLeader answers a retried batch
// with its original offsets and refuses a sequence gap; a follower append
// or a truncation drops the state, and LoadProducerState rebuilds it from
// the log (Kafka rebuilds it from the log when no snapshot covers it).
func TestLogProducerState(t *testing.T) {
	l := mustOpen(t, t.TempDir(), DefaultLogConfig(), false)
	defer l.Close()
	if err := l.LoadProducerState(); err != nil {
		t.Fatal(err)
	}
	first, err := l.AppendAsLeader(idempotentBatch(t, 9, 0, 3), 1, false)
	if err != nil || first.FirstOffset != 0 || first.LastOffset != 2 {
		t.Fatalf("first append: %+v %v", first, err)
	}
	dup, err := l.AppendAsLeader(idempotentBatch(t, 9, 0, 3), 1, false)
	if err != nil || dup.FirstOffset != 0 || dup.LastOffset != 2 || len(dup.Batches) != 0 || l.LogEndOffset() != 3 {
		t.Fatalf("retried batch: %+v %v, LEO %d; want offsets 0-2, nothing appended", dup, err, l.LogEndOffset())
	}
	// UnifiedLog.append: a duplicate's log append time is the original
	// batch's max timestamp, also on a CreateTime topic.
	if want := first.Batches[0].MaxTimestamp; dup.LogAppendTime != want {
		t.Fatalf("retried batch's log append time %d, want the batch's max timestamp %d", dup.LogAppendTime, want)
	}
	if _, err := l.AppendAsLeader(idempotentBatch(t, 9, 5, 1), 1, false); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("sequence gap: %v, want ErrOutOfOrderSequence", err)
	}

	// A follower append drops the state; the rebuild finds the batches.
	follower := idempotentBatch(t, 9, 3, 2)
	binary.BigEndian.PutUint64(follower[offBaseOffset:], 3)
	if _, err := l.AppendAsFollower(follower); err != nil {
		t.Fatal(err)
	}
	if l.producers != nil {
		t.Fatal("producer state kept after a follower append")
	}
	if err := l.LoadProducerState(); err != nil {
		t.Fatal(err)
	}
	if dup, err := l.AppendAsLeader(idempotentBatch(t, 9, 3, 2), 2, false); err != nil || dup.FirstOffset != 3 || len(dup.Batches) != 0 {
		t.Fatalf("retry of the follower's batch after the rebuild: %+v %v", dup, err)
	}

	// A truncation drops it too: the truncated batch is no duplicate any more.
	if err := l.TruncateTo(3); err != nil {
		t.Fatal(err)
	}
	if l.producers != nil {
		t.Fatal("producer state kept after a truncation")
	}
	if err := l.LoadProducerState(); err != nil {
		t.Fatal(err)
	}
	info, err := l.AppendAsLeader(idempotentBatch(t, 9, 3, 2), 2, false)
	if err != nil || info.FirstOffset != 3 || len(info.Batches) != 1 {
		t.Fatalf("append after the truncation: %+v %v, want appended at 3", info, err)
	}
}

// AppendAsLeader's one validation step: each rule with the Kafka code it
// answers.
func TestAppendAsLeaderValidation(t *testing.T) {
	unkeyed := encodeUnkeyed(t) // buildBatch keys every record
	corrupt := buildBatch(t, batchSpec{records: 2})
	corrupt[len(corrupt)-1] ^= 0xff
	cases := []struct {
		name    string
		cfg     func(*LogConfig)
		records []byte
		legacy  bool
		want    error
	}{
		{"bad CRC", nil, corrupt, false, ErrCorruptMessage},
		{"two batches", nil, append(buildBatch(t, batchSpec{}), buildBatch(t, batchSpec{})...), false, ErrInvalidRecord},
		{"too large", func(c *LogConfig) { c.MaxMessageBytes = 100 }, buildBatch(t, batchSpec{records: 10, valueSize: 100}), false, ErrRecordTooLarge},
		{"too large after recompression", func(c *LogConfig) { c.MaxMessageBytes = 150; c.CompressionType = "uncompressed" },
			gzipRecords(t, 10, 100), false, ErrRecordTooLarge},
		{"valid, compressed", func(c *LogConfig) { c.MaxMessageBytes = 150 }, gzipRecords(t, 10, 100), false, nil},
		{"no key on a compacted topic", func(c *LogConfig) { c.CleanupPolicy = []string{"compact"} }, unkeyed, false, ErrInvalidRecord},
		{"legacy garbage", nil, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3}, true, ErrCorruptMessage},
		{"valid", nil, buildBatch(t, batchSpec{records: 3}), false, nil},
		{"valid, recompressed", func(c *LogConfig) { c.CompressionType = "lz4" }, buildBatch(t, batchSpec{records: 3}), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultLogConfig()
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			l := mustOpen(t, t.TempDir(), cfg, false)
			defer l.Close()
			info, err := l.AppendAsLeader(c.records, 1, c.legacy)
			if c.want == nil {
				if err != nil || len(info.Batches) != 1 {
					t.Fatalf("got %+v %v, want appended", info, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if l.LogEndOffset() != 0 {
				t.Fatalf("LEO %d after a refused append", l.LogEndOffset())
			}
		})
	}
}

// encodeUnkeyed is a one-record batch whose record has a null key.
func encodeUnkeyed(t *testing.T) []byte {
	t.Helper()
	b, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
		[]Record{{KeyNull: true, Value: []byte("v")}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gzipRecords is a gzip batch of n records of size zero bytes each.
func gzipRecords(t *testing.T, n, size int) []byte {
	t.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Offset: int64(i), Key: []byte{byte(i)}, Value: make([]byte, size)}
	}
	b, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, Attributes: int16(CodecGzip), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
