package storage

import (
	"errors"
	"fmt"
	"math"
)

// validateAsLeader is the one validation step of an append as leader,
// done before the offsets are assigned (UnifiedLog.analyzeAndValidateRecords
// and LogValidator.validateMessagesAndAssignOffsets for AppendOrigin.CLIENT):
//   - upConvert (Produce v0-v2): a message set of magic 0 or 1 becomes one
//     v2 batch (LogValidator's convertAndAssignOffsetsNonCompressed /
//     validateMessagesAndAssignOffsetsCompressed to magic 2);
//   - the batch's shape and CRC-32C (ValidateBatches);
//   - a topic compression.type other than "producer" recompresses;
//   - every batch within max.message.bytes, measured after recompression
//     (UnifiedLog.append: RecordTooLargeException);
//   - with CreateTime, every record's timestamp within the topic's
//     message.timestamp.before/after.max.ms of nowMs
//     (LogValidator.validateTimestamp, KIP-937);
//   - on a compacted topic every record has a key
//     (LogValidator.validateKey: "Compacted topic cannot accept message
//     without key"); compressed batches are decompressed to check.
//
// It returns the records to append and their batch headers. Errors wrap
// ErrCorruptMessage, ErrInvalidRecord (a *RecordValidationError for keys) or
// ErrRecordTooLarge; topicPartition ("topic-partition") names the log in
// record errors. Timestamps are
// not checked; LogAppendTime is stamped by the append.
func validateAsLeader(records []byte, cfg LogConfig, topicPartition string, upConvert bool, nowMs int64) ([]byte, []BatchHeader, error) {
	if upConvert {
		converted, err := ConvertLegacyMessageSet(records)
		if err != nil {
			return nil, nil, corruptOrInvalid(fmt.Errorf("up-converting the message set: %w", err))
		}
		records = converted
	}
	batches, err := ValidateBatches(records)
	if err != nil {
		return nil, nil, corruptOrInvalid(err)
	}
	if codec, ok := TopicCodec(cfg.CompressionType); ok {
		// Whatever fails here was accepted by ValidateBatches, so it is
		// INVALID_RECORD (undecodable compressed data included).
		if records, err = Recompress(records, codec); err != nil {
			return nil, nil, fmt.Errorf("%w: recompressing to %s: %v", ErrInvalidRecord, CodecName(codec), err)
		}
		if batches, err = ValidateBatches(records); err != nil {
			return nil, nil, fmt.Errorf("%w: the recompressed batch: %v", ErrInvalidRecord, err)
		}
	}
	for _, b := range batches {
		if b.Size() > int64(cfg.MaxMessageBytes) {
			return nil, nil, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrRecordTooLarge, b.Size(), cfg.MaxMessageBytes)
		}
	}
	if cfg.Compact() {
		if err := requireKeys(records, topicPartition); err != nil {
			return nil, nil, err
		}
	}
	if cfg.MessageTimestampType != "LogAppendTime" {
		if err := checkTimestamps(records, cfg, nowMs); err != nil {
			return nil, nil, err
		}
	}
	return records, batches, nil
}

// corruptOrInvalid keeps err's CORRUPT_MESSAGE or INVALID_RECORD, and a
// refused LZ4 frame without a code (Kafka's KafkaException:
// UNKNOWN_SERVER_ERROR), and makes any other failure of the records
// INVALID_RECORD.
func corruptOrInvalid(err error) error {
	if errors.Is(err, ErrCorruptMessage) || errors.Is(err, ErrInvalidRecord) || errors.Is(err, errLZ4Frame) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
}

// requireKeys is LogValidator.validateKey for compacted topics: every
// record needs a key ("Compacted topic cannot accept message without key");
// the records without one are answered as record errors. Records that
// cannot be read are CORRUPT_MESSAGE.
func requireKeys(records []byte, topicPartition string) error {
	recs, err := Records(records)
	if err != nil {
		return fmt.Errorf("%w: reading the records of a compacted topic's batch: %v", ErrCorruptMessage, err)
	}
	var errs []RecordError
	for i := range recs {
		if recs[i].KeyNull {
			errs = append(errs, RecordError{Index: int32(i),
				Message: "Compacted topic cannot accept message without key in topic partition " + topicPartition})
		}
	}
	if errs != nil {
		return invalidRecords(errs)
	}
	return nil
}

// checkTimestamps is LogValidator.validateTimestamp for CreateTime topics:
// a record's timestamp (unless none, -1) may be at most before.max.ms
// older and after.max.ms newer than now (recordHasInvalidTimestamp). The records are read only when
// a bound is set (Kafka's defaults set none).
func checkTimestamps(records []byte, cfg LogConfig, nowMs int64) error {
	before, after := cfg.TimestampBounds()
	if before == math.MaxInt64 && after == math.MaxInt64 {
		return nil
	}
	recs, err := Records(records)
	if err != nil {
		return fmt.Errorf("%w: reading the records to check their timestamps: %v", ErrCorruptMessage, err)
	}
	var errs []RecordError
	for i := range recs {
		ts := recs[i].Timestamp
		if diff := nowMs - ts; ts == noTimestamp || diff <= before && -diff <= after {
			continue
		}
		// The bounds as Kafka prints them, overflow (of an unset bound)
		// included: Go's int64 wraps as Java's long does.
		errs = append(errs, RecordError{Index: int32(i), Message: fmt.Sprintf(
			"Timestamp %d of message with offset %d is out of range. The timestamp should be within [%d, %d]",
			ts, recs[i].Offset, nowMs-before, nowMs+after)})
	}
	if errs != nil {
		return invalidTimestamps(errs)
	}
	return nil
}
