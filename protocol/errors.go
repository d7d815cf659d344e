package protocol

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// APIError is an error a client is answered with: Kafka's error code and
// the message its ApiException carries. An empty Message is answered as a
// null error message (the client shows the code's default text); Cause, if
// any, is only logged. Broker and controller share it.
type APIError struct {
	Code    *kerr.Error
	Message string
	Cause   error
}

// NewAPIError is an APIError with a formatted message.
func NewAPIError(code *kerr.Error, format string, args ...any) *APIError {
	return &APIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *APIError) Error() string {
	switch {
	case e.Message != "":
		return e.Message
	case e.Cause != nil:
		return e.Cause.Error()
	}
	return e.Code.Error()
}

// Unwrap makes errors.Is(err, kerr.X) true for an APIError of code X.
func (e *APIError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Code, e.Cause}
	}
	return []error{e.Code}
}

// ErrorCodeMessage is the one mapping from an error to what a response
// carries, as Kafka's Errors.forException / ApiError.fromThrowable: nil is
// NONE; an APIError its code and message; anything that wraps a Kafka error
// code (kerr, storage's sentinels, which carry theirs) that code with a null
// message; an expired context REQUEST_TIMED_OUT; anything else
// UNKNOWN_SERVER_ERROR.
func ErrorCodeMessage(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.Message == "" {
			return ae.Code.Code, nil
		}
		msg := ae.Message
		return ae.Code.Code, &msg
	}
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		return ke.Code, nil
	case errors.Is(err, context.DeadlineExceeded):
		// A wait that ran out is Kafka's TimeoutException.
		return kerr.RequestTimedOut.Code, nil
	}
	return kerr.UnknownServerError.Code, nil
}

// ErrorCode is ErrorCodeMessage's code, for responses without a message.
func ErrorCode(err error) int16 {
	code, _ := ErrorCodeMessage(err)
	return code
}
