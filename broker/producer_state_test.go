package broker

import (
	"errors"
	"math"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
)

func hdr(pid int64, epoch int16, seq int32, n int32, base int64) storage.BatchHeader {
	return storage.BatchHeader{BaseOffset: base, ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq, RecordCount: n, LastOffsetDelta: n - 1, Magic: 2}
}

func TestProducerSequenceRules(t *testing.T) {
	table := &producerStateTable{entries: map[int64]*producerEntry{}}
	table.commit([]storage.BatchHeader{hdr(7, 3, 0, 5, 100)}) // seq 0..4 at offsets 100..104
	cases := []struct {
		name    string
		batch   storage.BatchHeader
		wantErr error
	}{
		{"continues", hdr(7, 3, 5, 1, 0), nil},
		{"gap", hdr(7, 3, 6, 1, 0), kerr.OutOfOrderSequenceNumber},
		{"repeat of an older sequence", hdr(7, 3, 2, 1, 0), kerr.OutOfOrderSequenceNumber},
		{"older epoch", hdr(7, 2, 5, 1, 0), kerr.InvalidProducerEpoch},
		{"newer epoch from 0", hdr(7, 4, 0, 1, 0), nil},
		{"newer epoch not from 0", hdr(7, 4, 3, 1, 0), kerr.OutOfOrderSequenceNumber},
		{"unknown producer, any sequence", hdr(8, 0, 42, 1, 0), nil},
		{"non-idempotent batch", hdr(-1, -1, -1, 1, 0), nil},
	}
	for _, c := range cases {
		err := table.validate([]storage.BatchHeader{c.batch})
		if !errors.Is(err, c.wantErr) && !(err == nil && c.wantErr == nil) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.wantErr)
		}
	}
}

func TestProducerDuplicateDetection(t *testing.T) {
	table := &producerStateTable{entries: map[int64]*producerEntry{}}
	for i := range 7 { // 7 batches: only the last numBatchesToRetain are remembered
		table.commit([]storage.BatchHeader{hdr(1, 0, int32(i*2), 2, int64(i*2))})
	}
	if m, ok := table.findDuplicate([]storage.BatchHeader{hdr(1, 0, 12, 2, 0)}); !ok || m.firstOffset != 12 {
		t.Fatalf("last batch must be found as a duplicate with its offset: %+v %v", m, ok)
	}
	if _, ok := table.findDuplicate([]storage.BatchHeader{hdr(1, 0, 0, 2, 0)}); ok {
		t.Fatal("a batch older than the retained window must not be reported as a duplicate")
	}
	if _, ok := table.findDuplicate([]storage.BatchHeader{hdr(1, 1, 12, 2, 0)}); ok {
		t.Fatal("a different epoch is not a duplicate")
	}
}

func TestInSequenceWraps(t *testing.T) {
	if !inSequence(math.MaxInt32, 0) || !inSequence(4, 5) || inSequence(4, 6) {
		t.Fatal("sequence arithmetic is wrong")
	}
}
