package storage

import (
	"errors"
	"math"
	"testing"
)

// The effective timestamp bounds (LogConfig.getMessageTimestampBeforeMaxMs
// / AfterMaxMs): each of before/after.max.ms unless left at its default,
// then the deprecated difference.max.ms.
func TestTimestampBounds(t *testing.T) {
	const unset = math.MaxInt64
	tests := []struct {
		name                  string
		before, after, diff   int64
		wantBefore, wantAfter int64
	}{
		{"defaults: no limit", unset, unset, unset, unset, unset},
		{"before only", 1000, unset, unset, 1000, unset},
		{"difference fills both", unset, unset, 500, 500, 500},
		{"before wins over difference", 1000, unset, 500, 1000, 500},
		{"explicit zero is a limit", 0, unset, unset, 0, unset},
	}
	for _, tc := range tests {
		c := DefaultLogConfig()
		c.MessageTimestampBeforeMaxMs, c.MessageTimestampAfterMaxMs, c.MessageTimestampDifferenceMaxMs = tc.before, tc.after, tc.diff
		if b, a := c.normalized().TimestampBounds(); b != tc.wantBefore || a != tc.wantAfter {
			t.Errorf("%s: bounds (%d, %d), want (%d, %d)", tc.name, b, a, tc.wantBefore, tc.wantAfter)
		}
	}
	// A LogConfig not built from DefaultLogConfig gave no limits.
	if b, a := (LogConfig{}).normalized().TimestampBounds(); b != unset || a != unset {
		t.Errorf("zero LogConfig: bounds (%d, %d), want none", b, a)
	}
}

// LogValidator.validateTimestamp: every CreateTime record outside the
// bounds is a record error; the whole batch is refused with
// INVALID_TIMESTAMP.
func TestCheckTimestamps(t *testing.T) {
	const now = 1_000_000
	cfg := DefaultLogConfig()
	cfg.MessageTimestampBeforeMaxMs, cfg.MessageTimestampAfterMaxMs = 100, 50
	tests := []struct {
		name   string
		baseTs int64
		step   int64
		n      int
		badIdx []int32
	}{
		{"within", now - 100, 10, 16, nil},
		{"too old and too new", now - 101, 50, 5, []int32{0, 4}}, // 999899, ..., 1000099
		{"no timestamp", -1, 0, 2, nil},
	}
	for _, tc := range tests {
		b := buildBatch(t, batchSpec{records: tc.n, baseTs: tc.baseTs, tsStep: tc.step})
		err := checkTimestamps(b, cfg, now)
		var rve *RecordValidationError
		if tc.badIdx == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errors.As(err, &rve) || !errors.Is(err, ErrInvalidTimestamp) {
			t.Fatalf("%s: %v, want a record validation error of INVALID_TIMESTAMP", tc.name, err)
		}
		var got []int32
		for _, r := range rve.Records {
			got = append(got, r.Index)
		}
		if len(got) != len(tc.badIdx) || got[0] != tc.badIdx[0] || got[len(got)-1] != tc.badIdx[len(tc.badIdx)-1] {
			t.Errorf("%s: rejected records %v, want %v", tc.name, got, tc.badIdx)
		}
		if want := "Timestamp 999899 of message with offset 0 is out of range. The timestamp should be within [999900, 1000050]"; rve.Records[0].Message != want {
			t.Errorf("%s: %q, want %q", tc.name, rve.Records[0].Message, want)
		}
	}
}
