package storage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
)

// kafkaError is a storage error that carries the Kafka error code a client
// is answered with, as Kafka's storage exceptions (CorruptRecordException,
// OffsetOutOfRangeException, KafkaStorageException, ...) are ApiExceptions
// with their code. The broker's one mapping from errors to codes finds the
// code through Unwrap; callers test for the sentinel with errors.Is.
type kafkaError struct {
	msg  string
	code *kerr.Error
}

func (e *kafkaError) Error() string { return e.msg }
func (e *kafkaError) Unwrap() error { return e.code }

var (
	// ErrCorruptMessage: bad CRC or impossible size; CORRUPT_MESSAGE (2).
	ErrCorruptMessage error = &kafkaError{"corrupt record batch", kerr.CorruptMessage}
	// ErrInvalidRecord: a well-formed but invalid batch; INVALID_RECORD (87).
	ErrInvalidRecord error = &kafkaError{"invalid record", kerr.InvalidRecord}
	// ErrOffsetOutOfRange: the offset is below the log start offset or above
	// the log end offset; OFFSET_OUT_OF_RANGE (1).
	ErrOffsetOutOfRange error = &kafkaError{"offset out of range", kerr.OffsetOutOfRange}
	// ErrStorage wraps an I/O failure: KAFKA_STORAGE_ERROR (56), as Kafka's
	// maybeHandleIOException turns an IOException into a
	// KafkaStorageException. In an append the records may be partly or
	// wholly written, so the log can no longer be trusted: the broker takes
	// the partition offline, as Kafka takes the log dir offline.
	ErrStorage error = &kafkaError{"storage error", kerr.KafkaStorageError}
	// ErrInconsistentTopicID: the log on disk belongs to another topic ID
	// (LogManager.getOrCreateLog: InconsistentTopicIdException);
	// INCONSISTENT_TOPIC_ID (103).
	ErrInconsistentTopicID error = &kafkaError{"inconsistent topic id", kerr.InconsistentTopicID}
	// ErrUnsupportedCompression: a fetch below v4 cannot be answered with
	// zstd batches (down-conversion); UNSUPPORTED_COMPRESSION_TYPE (76).
	ErrUnsupportedCompression error = &kafkaError{"down-conversion of zstd-compressed batches is not supported", kerr.UnsupportedCompressionType}
	// ErrRecordTooLarge: a batch larger than the topic's max.message.bytes
	// (RecordTooLargeException); MESSAGE_TOO_LARGE (10).
	ErrRecordTooLarge error = &kafkaError{"record batch larger than max.message.bytes", kerr.MessageTooLarge}
	// ErrInvalidTimestamp: a record's timestamp outside the topic's
	// message.timestamp.before/after.max.ms; INVALID_TIMESTAMP (32).
	ErrInvalidTimestamp error = &kafkaError{"invalid timestamp", kerr.InvalidTimestamp}
	// ErrOutOfOrderSequence: an idempotent batch that does not continue its
	// producer's sequence (OutOfOrderSequenceException);
	// OUT_OF_ORDER_SEQUENCE_NUMBER (45).
	ErrOutOfOrderSequence error = &kafkaError{"out of order sequence number", kerr.OutOfOrderSequenceNumber}
	// ErrInvalidProducerEpoch: an idempotent batch from a fenced, older
	// producer epoch (InvalidProducerEpochException); INVALID_PRODUCER_EPOCH (47).
	ErrInvalidProducerEpoch error = &kafkaError{"invalid producer epoch", kerr.InvalidProducerEpoch}
	// ErrInvalidTxnState: a non-transactional batch from a producer with an
	// open transaction, or a transactional batch that was not verified to
	// be part of one (InvalidTxnStateException); INVALID_TXN_STATE (48).
	ErrInvalidTxnState error = &kafkaError{"invalid transaction state", kerr.InvalidTxnState}
	// ErrTransactionCoordinatorFenced: a transaction marker with a
	// coordinator epoch older than the producer's last marker's
	// (TransactionCoordinatorFencedException); TRANSACTION_COORDINATOR_FENCED (52).
	ErrTransactionCoordinatorFenced error = &kafkaError{"transaction coordinator fenced", kerr.TransactionCoordinatorFenced}

	// ErrClosed is returned by operations on a closed Log or Manager. It has
	// no Kafka code: a request that meets it is answered
	// UNKNOWN_SERVER_ERROR.
	ErrClosed = errors.New("log closed")
)

// RecordError is one rejected record of a batch: its index in the batch and
// why (ProduceResponse's RecordError, answered from Produce v8).
type RecordError struct {
	Index   int32
	Message string
}

func (e RecordError) String() string {
	return fmt.Sprintf("RecordError(batchIndex=%d, message='%s')", e.Index, e.Message)
}

// RecordValidationError is LogValidator's RecordValidationException: the
// records that broke a per-record rule (a key on a compacted topic, a
// timestamp within the topic's bounds), with
// Kafka's summary message. The broker answers its code with the log start
// offset, and from Produce v8 the message and the record errors.
type RecordValidationError struct {
	code    error // ErrInvalidRecord or ErrInvalidTimestamp
	Message string
	Records []RecordError
}

func (e *RecordValidationError) Error() string { return e.Message }
func (e *RecordValidationError) Unwrap() error { return e.code }

// invalidRecords is LogValidator.processRecordErrors for INVALID_RECORD
// errors: the summary names how many records failed and shows the first
// three.
func invalidRecords(errs []RecordError) *RecordValidationError {
	shown := errs[:min(len(errs), 3)]
	parts := make([]string, len(shown))
	for i, e := range shown {
		parts[i] = e.String()
	}
	return &RecordValidationError{
		code: ErrInvalidRecord,
		Message: fmt.Sprintf("One or more records have been rejected due to %d record errors in total, and only showing "+
			"the first three errors at most: [%s]", len(errs), strings.Join(parts, ", ")),
		Records: errs,
	}
}

// invalidTimestamps is processRecordErrors when any record error is
// INVALID_TIMESTAMP.
func invalidTimestamps(errs []RecordError) *RecordValidationError {
	return &RecordValidationError{code: ErrInvalidTimestamp, Message: "One or more records have been rejected due to invalid timestamp", Records: errs}
}
