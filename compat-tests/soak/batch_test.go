package soak

import (
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestOneRecordBatch checks the min-ISR probe's hand-made batch: length,
// CRC-32C and the one record decode as Kafka reads them.
func TestOneRecordBatch(t *testing.T) {
	raw := oneRecordBatch([]byte("probe-1"))
	var b kmsg.RecordBatch
	if err := b.ReadFrom(raw); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	if int(b.Length) != len(raw)-12 {
		t.Errorf("length %d, want %d", b.Length, len(raw)-12)
	}
	if got := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)); uint32(b.CRC) != got {
		t.Errorf("CRC %#x, want %#x", uint32(b.CRC), got)
	}
	var r kmsg.Record
	if err := r.ReadFrom(b.Records); err != nil {
		t.Fatalf("decoding the record: %v", err)
	}
	if string(r.Value) != "probe-1" || b.NumRecords != 1 || int(r.Length) != len(b.Records)-1 {
		t.Errorf("record %+v in batch of %d", r, b.NumRecords)
	}
}
