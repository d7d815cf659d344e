package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// gzipBatch is a really compressed v2 batch of records with the given
// timestamps (offsets 0..n-1 before the log assigns them).
func gzipBatch(t *testing.T, ts ...int64) []byte {
	t.Helper()
	recs := make([]Record, len(ts))
	maxTs := int64(-1)
	for i, x := range ts {
		recs[i] = Record{Offset: int64(i), Timestamp: x, Value: []byte{byte(i)}, KeyNull: true}
		maxTs = max(maxTs, x)
	}
	b, err := BuildBatch(BatchHeader{PartitionLeaderEpoch: -1, Magic: 2, Attributes: 1, ProducerID: -1, ProducerEpoch: -1,
		BaseSequence: -1, MaxTimestamp: maxTs}, recs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// UnifiedLog.fetchOffsetByTimestamp(MAX_TIMESTAMP): the first segment with
// the largest max timestamp, the first batch in it with that timestamp,
// the first record of it carrying the timestamp, with the batch's epoch.
func TestOffsetOfMaxTimestamp(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{IndexIntervalBytes: 1}, false)
	defer l.Close()
	if _, found, err := l.OffsetOfMaxTimestamp(); err != nil || found {
		t.Fatalf("empty log: found %v, %v", found, err)
	}
	// Segment 0: offsets 0-2 (ts 100,110,120), 3-5 gzip (ts 500, 900, 900).
	mustAppend(t, l, buildBatch(t, batchSpec{records: 3, baseTs: 100, tsStep: 10}))
	mustAppend(t, l, gzipBatch(t, 500, 900, 900))
	check := func(want TimestampAndOffset) {
		t.Helper()
		got, found, err := l.OffsetOfMaxTimestamp()
		if err != nil || !found || got != want {
			t.Fatalf("OffsetOfMaxTimestamp = %+v, %v, %v; want %+v", got, found, err, want)
		}
	}
	check(TimestampAndOffset{Timestamp: 900, Offset: 4, LeaderEpoch: 5})
	// Segment 6: a later batch with the same max timestamp does not win,
	// neither does a lower one.
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, buildBatch(t, batchSpec{records: 2, baseTs: 899, tsStep: 1}))
	mustAppend(t, l, buildBatch(t, batchSpec{records: 2, baseTs: 50, tsStep: 1}))
	check(TimestampAndOffset{Timestamp: 900, Offset: 4, LeaderEpoch: 5})
	// A larger timestamp in the active segment, appended with another epoch.
	if _, err := l.Append(buildBatch(t, batchSpec{records: 3, baseTs: 1000, tsStep: 0}), 7); err != nil {
		t.Fatal(err)
	}
	check(TimestampAndOffset{Timestamp: 1000, Offset: 10, LeaderEpoch: 7})
	// Not bounded by the log start offset (Kafka searches every segment).
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, l, buildBatch(t, batchSpec{records: 1, baseTs: 10}))
	if _, err := l.DeleteRecordsBefore(11); err != nil {
		t.Fatal(err)
	}
	check(TimestampAndOffset{Timestamp: 1000, Offset: 10, LeaderEpoch: 7})
	// After a reopen the segments' max timestamps come from the indexes.
	dir := l.Dir()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, dir, Config{IndexIntervalBytes: 1}, false)
	check(TimestampAndOffset{Timestamp: 1000, Offset: 10, LeaderEpoch: 7})
}

// UnifiedLog.legacyFetchOffsetsBefore: segment base offsets by the
// segment files' modification time plus the LEO, highest first, at most
// maxNumOffsets.
func TestLegacyOffsetsBefore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t-0")
	l := mustOpen(t, dir, Config{}, false)
	defer l.Close()
	// Segments at 0, 3 and 5; LEO 9.
	for _, n := range []int{3, 2, 4} {
		if err := l.Roll(); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, l, buildBatch(t, batchSpec{records: n, baseTs: 1}))
	}
	if got := l.SegmentBaseOffsets(); !slices.Equal(got, []int64{0, 3, 5}) {
		t.Fatalf("segments %v", got)
	}
	for i, base := range []int64{0, 3, 5} {
		mtime := time.UnixMilli(int64(1000 * (i + 1)))
		if err := os.Chtimes(filepath.Join(dir, fmt.Sprintf("%020d.log", base)), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	const now = 10_000
	tests := []struct {
		ts   int64
		max  int32
		want []int64
	}{
		{-1, 1, []int64{9}},
		{-1, 2, []int64{9, 5}},
		{-1, 10, []int64{9, 5, 3, 0}},
		{-1, 0, []int64{}},
		{-2, 1, []int64{0}},
		{-2, 10, []int64{0}},
		{999, 5, []int64{}},
		{1000, 5, []int64{0}},
		{2500, 5, []int64{3, 0}},
		{2500, 1, []int64{3}},
		{3000, 5, []int64{5, 3, 0}},
		{9999, 5, []int64{5, 3, 0}},
		{10_000, 5, []int64{9, 5, 3, 0}},
		{10_000, 2, []int64{9, 5}},
	}
	for _, tc := range tests {
		got, err := l.LegacyOffsetsBefore(tc.ts, tc.max, now)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LegacyOffsetsBefore(%d, %d) = %v, %v; want %v", tc.ts, tc.max, got, err, tc.want)
		}
	}
	if _, err := l.LegacyOffsetsBefore(-1, -1, now); !errors.Is(err, ErrNegativeMaxOffsets) {
		t.Errorf("negative max: %v", err)
	}
	// No match and a negative max: Kafka's array size is still negative.
	if _, err := l.LegacyOffsetsBefore(5, -1, now); !errors.Is(err, ErrNegativeMaxOffsets) {
		t.Errorf("negative max, no match: %v", err)
	}
	// The log start offset raises the first segment's base; an empty
	// active segment adds no LEO candidate.
	if _, err := l.DeleteRecordsBefore(4); err != nil {
		t.Fatal(err)
	}
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if got, err := l.LegacyOffsetsBefore(-1, 10, now); err != nil || !slices.Equal(got, []int64{9, 5, 4}) {
		t.Errorf("after log start 4 and roll: %v, %v", got, err)
	}
	if got, err := l.LegacyOffsetsBefore(-2, 1, now); err != nil || !slices.Equal(got, []int64{4}) {
		t.Errorf("earliest after log start 4: %v, %v", got, err)
	}
}

func TestEarliestOffsetAndEpoch(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{}, false)
	defer l.Close()
	if off, epoch := l.EarliestOffsetAndEpoch(); off != 0 || epoch != -1 {
		t.Fatalf("empty log: %d, %d", off, epoch)
	}
	mustAppend(t, l, buildBatch(t, batchSpec{records: 2, baseTs: 1}))
	if off, epoch := l.EarliestOffsetAndEpoch(); off != 0 || epoch != 5 {
		t.Fatalf("after append in epoch 5: %d, %d", off, epoch)
	}
	// The earliest epoch starting after the log start is not reported
	// (a message format bump leaves older batches without epochs).
	if err := l.LeaderEpochs().Clear(); err != nil {
		t.Fatal(err)
	}
	if err := l.LeaderEpochs().Assign(6, 1); err != nil {
		t.Fatal(err)
	}
	if off, epoch := l.EarliestOffsetAndEpoch(); off != 0 || epoch != -1 {
		t.Fatalf("epoch starting after log start: %d, %d", off, epoch)
	}
}

// UnifiedLog.searchOffsetInLocalLog: the exact record, compressed batches
// decompressed, only in the first segment whose largest timestamp reaches
// the target, never below the log start.
func TestSearchOffsetByTimestamp(t *testing.T) {
	l := mustOpen(t, filepath.Join(t.TempDir(), "t-0"), Config{IndexIntervalBytes: 1}, false)
	defer l.Close()
	// Segment 0: 0-2 (100, 100, 100), 3-5 gzip (500, 950, 700);
	// segment 6: 6-8 (1000, 1100, 1200) in epoch 7.
	mustAppend(t, l, buildBatch(t, batchSpec{records: 3, baseTs: 100}))
	mustAppend(t, l, gzipBatch(t, 500, 950, 700))
	if err := l.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(buildBatch(t, batchSpec{records: 3, baseTs: 1000, tsStep: 100}), 7); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ts    int64
		want  TimestampAndOffset
		found bool
	}{
		{0, TimestampAndOffset{100, 0, 5}, true},
		{101, TimestampAndOffset{500, 3, 5}, true},
		{600, TimestampAndOffset{950, 4, 5}, true}, // inside the gzip batch
		{950, TimestampAndOffset{950, 4, 5}, true},
		{951, TimestampAndOffset{1000, 6, 7}, true},
		{1150, TimestampAndOffset{1200, 8, 7}, true},
		{1201, TimestampAndOffset{}, false},
	}
	for _, tc := range tests {
		got, found, err := l.SearchOffsetByTimestamp(tc.ts)
		if err != nil || found != tc.found || got != tc.want {
			t.Errorf("SearchOffsetByTimestamp(%d) = %+v, %v, %v; want %+v, %v", tc.ts, got, found, err, tc.want, tc.found)
		}
	}
	// Log start 5: segment 0 still reaches 950, but its only record at or
	// after 900 (offset 4) is below the log start; Kafka does not look in
	// the next segment.
	if _, err := l.DeleteRecordsBefore(5); err != nil {
		t.Fatal(err)
	}
	if got, found, err := l.SearchOffsetByTimestamp(900); err != nil || found {
		t.Errorf("after log start 5: %+v, %v, %v; want not found", got, found, err)
	}
	if got, found, err := l.SearchOffsetByTimestamp(600); err != nil || !found || got != (TimestampAndOffset{700, 5, 5}) {
		t.Errorf("after log start 5, 600: %+v, %v, %v", got, found, err)
	}
}
