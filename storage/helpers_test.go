package storage

import (
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// batchSpec describes a test batch built with kmsg.
type batchSpec struct {
	records    int
	valueSize  int
	baseTs     int64
	tsStep     int64 // timestamp delta between consecutive records
	attrs      int16
	producerID int64
	seq        int32
	fill       byte // varies the values
}

func (s batchSpec) withDefaults() batchSpec {
	if s.records == 0 {
		s.records = 1
	}
	if s.producerID == 0 {
		s.producerID = -1
		s.seq = -1
	}
	return s
}

// buildBatch encodes a v2 batch with base offset 0 and a correct CRC-32C.
func buildBatch(t testing.TB, s batchSpec) []byte {
	t.Helper()
	return encodeBatch(s)
}

// encodeBatch is buildBatch without a testing.TB (for subprocesses).
func encodeBatch(s batchSpec) []byte {
	s = s.withDefaults()
	var recs []byte
	for i := 0; i < s.records; i++ {
		val := make([]byte, s.valueSize)
		for j := range val {
			val[j] = byte(i + j + int(s.fill))
		}
		r := kmsg.Record{
			TimestampDelta64: int64(i) * s.tsStep,
			OffsetDelta:      int32(i),
			Key:              []byte{byte(i)},
			Value:            val,
			Headers:          []kmsg.Header{{Key: "h", Value: []byte("v")}},
		}
		body := r.AppendTo(nil) // with Length 0, a 1-byte varint
		r.Length = int32(len(body) - 1)
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		FirstOffset:          0,
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           s.attrs,
		LastOffsetDelta:      int32(s.records - 1),
		FirstTimestamp:       s.baseTs,
		MaxTimestamp:         s.baseTs + int64(s.records-1)*s.tsStep,
		ProducerID:           s.producerID,
		ProducerEpoch:        -1,
		FirstSequence:        s.seq,
		NumRecords:           int32(s.records),
		Records:              recs,
	}
	b.Length = int32(BatchHeaderSize - logOverhead + len(recs))
	out := b.AppendTo(nil)
	fixCRC(out)
	return out
}

// fixCRC recomputes the CRC-32C of a batch after a test modified it.
func fixCRC(b []byte) {
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], crc32.MakeTable(crc32.Castagnoli)))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func mustOpen(t testing.TB, dir string, cfg Config, recover bool) *Log {
	t.Helper()
	l, err := OpenLog(dir, cfg, recover, quietLogger())
	if err != nil {
		t.Fatalf("OpenLog: %v", err)
	}
	return l
}

func mustAppend(t testing.TB, l *Log, b []byte) AppendInfo {
	t.Helper()
	info, err := l.Append(b, 5)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return info
}

// readSlice copies a FileSlice's bytes.
func readSlice(t testing.TB, fs FileSlice) []byte {
	t.Helper()
	if fs.Size == 0 {
		return nil
	}
	b := make([]byte, fs.Size)
	if _, err := fs.File.ReadAt(b, fs.Pos); err != nil {
		t.Fatalf("read slice: %v", err)
	}
	return b
}

// sliceHeaders splits a slice's bytes into verified batch headers.
func sliceHeaders(t testing.TB, b []byte) []BatchHeader {
	t.Helper()
	hs, err := SplitBatches(b)
	if err != nil {
		t.Fatalf("slice does not hold whole valid batches: %v", err)
	}
	return hs
}
