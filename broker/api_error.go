package broker

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// apiError is a Kafka error code with the message Kafka's ApiError carries.
type apiError struct {
	code *kerr.Error
	msg  string
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.code }

func newAPIError(code *kerr.Error, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// errorCodeAndMessage is the code and optional message a response carries
// for err: an apiError's own message, else none (the client uses the
// code's default text).
func errorCodeAndMessage(err error) (int16, *string) {
	if err == nil {
		return 0, nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		msg := ae.msg
		return ae.code.Code, &msg
	}
	return errorCode(err), nil
}
