package protocol

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// codedError stands for storage's sentinels: an error of its own that
// carries a Kafka code through Unwrap.
type codedError struct{ code *kerr.Error }

func (e codedError) Error() string { return "coded" }
func (e codedError) Unwrap() error { return e.code }

func TestErrorCodeMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code int16
		msg  string // "" means a null message
	}{
		{"nil", nil, 0, ""},
		{"kerr", kerr.NotLeaderForPartition, kerr.NotLeaderForPartition.Code, ""},
		{"wrapped kerr", fmt.Errorf("appending: %w", kerr.KafkaStorageError), kerr.KafkaStorageError.Code, ""},
		{"coded sentinel", fmt.Errorf("read: %w", codedError{kerr.OffsetOutOfRange}), kerr.OffsetOutOfRange.Code, ""},
		{"api error", NewAPIError(kerr.PolicyViolation, "no %s", "way"), kerr.PolicyViolation.Code, "no way"},
		{"wrapped api error", fmt.Errorf("x: %w", NewAPIError(kerr.InvalidConfig, "bad")), kerr.InvalidConfig.Code, "bad"},
		{"api error without message", &APIError{Code: kerr.UnknownServerError, Cause: errors.New("disk")}, kerr.UnknownServerError.Code, ""},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), kerr.RequestTimedOut.Code, ""},
		{"anything else", errors.New("boom"), kerr.UnknownServerError.Code, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := ErrorCodeMessage(tc.err)
			got := ""
			if msg != nil {
				got = *msg
			}
			if code != tc.code || got != tc.msg || (msg == nil) != (tc.msg == "") {
				t.Fatalf("ErrorCodeMessage(%v) = %d, %v; want %d, %q", tc.err, code, msg, tc.code, tc.msg)
			}
			if ErrorCode(tc.err) != tc.code {
				t.Fatalf("ErrorCode(%v) = %d, want %d", tc.err, ErrorCode(tc.err), tc.code)
			}
		})
	}
}

func TestAPIErrorIsItsCode(t *testing.T) {
	err := fmt.Errorf("topic: %w", &APIError{Code: kerr.NotEnoughReplicas, Message: "isr too small", Cause: context.Canceled})
	if !errors.Is(err, kerr.NotEnoughReplicas) || !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is does not see the code and the cause of %v", err)
	}
	if err.Error() != "topic: isr too small" {
		t.Fatalf("Error() = %q", err.Error())
	}
}
