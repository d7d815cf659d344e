package dumplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
)

// A producer state snapshot (<offset>.snapshot, ProducerStateManager.
// writeSnapshot) is the Struct PID_SNAPSHOT_MAP_SCHEMA: version INT16 (1),
// crc UINT32 (CRC-32C of everything after it), producer_entries ARRAY of
// {producer_id INT64, epoch INT16, last_sequence INT32, last_offset INT64,
// offset_delta INT32, timestamp INT64, coordinator_epoch INT32,
// current_txn_first_offset INT64}.

// snapshotEntry is one ProducerStateEntry as readSnapshot rebuilds it.
type snapshotEntry struct {
	producerID            int64
	producerEpoch         int16
	lastSequence          int32
	lastOffset            int64 // < 0: no batch metadata
	offsetDelta           int32
	timestamp             int64
	coordinatorEpoch      int32
	currentTxnFirstOffset int64 // < 0: none
}

const snapshotEntrySize = 8 + 2 + 4 + 8 + 4 + 8 + 4 + 8

// corruptSnapshot is a CorruptSnapshotException: dumpProducerIdSnapshot
// prints its message on stderr and goes on with the next file.
type corruptSnapshot struct{ msg string }

func (e *corruptSnapshot) Error() string { return e.msg }

// errUnderflow is java.nio.BufferUnderflowException, whose message is
// null: Schema.read names its class instead.
var errUnderflow = errors.New("java.nio.BufferUnderflowException")

// snapshotReader reads the Struct's fields in order, failing as
// Schema.read does: "Error reading field '<name>': <cause>", nested for
// the fields of an array's elements.
type snapshotReader struct {
	b []byte
}

func (r *snapshotReader) take(n int) ([]byte, error) {
	if len(r.b) < n {
		return nil, errUnderflow
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, nil
}

func fieldError(name string, err error) error {
	return fmt.Errorf("Error reading field '%s': %w", name, err)
}

func (r *snapshotReader) int16(name string) (int16, error) {
	v, err := r.take(2)
	if err != nil {
		return 0, fieldError(name, err)
	}
	return int16(binary.BigEndian.Uint16(v)), nil
}

func (r *snapshotReader) int32(name string) (int32, error) {
	v, err := r.take(4)
	if err != nil {
		return 0, fieldError(name, err)
	}
	return int32(binary.BigEndian.Uint32(v)), nil
}

func (r *snapshotReader) int64(name string) (int64, error) {
	v, err := r.take(8)
	if err != nil {
		return 0, fieldError(name, err)
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

func (r *snapshotReader) entry() (snapshotEntry, error) {
	var e snapshotEntry
	var err error
	if e.producerID, err = r.int64("producer_id"); err != nil {
		return e, err
	}
	if e.producerEpoch, err = r.int16("epoch"); err != nil {
		return e, err
	}
	if e.lastSequence, err = r.int32("last_sequence"); err != nil {
		return e, err
	}
	if e.lastOffset, err = r.int64("last_offset"); err != nil {
		return e, err
	}
	if e.offsetDelta, err = r.int32("offset_delta"); err != nil {
		return e, err
	}
	if e.timestamp, err = r.int64("timestamp"); err != nil {
		return e, err
	}
	if e.coordinatorEpoch, err = r.int32("coordinator_epoch"); err != nil {
		return e, err
	}
	if e.currentTxnFirstOffset, err = r.int64("current_txn_first_offset"); err != nil {
		return e, err
	}
	return e, nil
}

// readSnapshot is ProducerStateManager.readSnapshot over a file's bytes:
// the whole Struct is read first (a schema error wins), then the version
// and the CRC are checked.
func readSnapshot(b []byte) ([]snapshotEntry, error) {
	r := &snapshotReader{b: b}
	version, err := r.int16("version")
	if err != nil {
		return nil, schemaError(err)
	}
	crcBytes, err := r.take(4)
	if err != nil {
		return nil, schemaError(fieldError("crc", err))
	}
	stored := binary.BigEndian.Uint32(crcBytes)
	countBytes, err := r.take(4)
	if err != nil {
		return nil, schemaError(fieldError("producer_entries", err))
	}
	n := int32(binary.BigEndian.Uint32(countBytes))
	if n < 0 {
		return nil, schemaError(fieldError("producer_entries", fmt.Errorf("Array size %d cannot be negative", n)))
	}
	if int(n) > len(r.b) {
		return nil, schemaError(fieldError("producer_entries",
			fmt.Errorf("Error reading array of size %d, only %d bytes available", n, len(r.b))))
	}
	entries := make([]snapshotEntry, 0, min(int(n), len(r.b)/snapshotEntrySize+1))
	for range n {
		e, err := r.entry()
		if err != nil {
			return nil, schemaError(fieldError("producer_entries", err))
		}
		entries = append(entries, e)
	}
	if version != 1 {
		return nil, &corruptSnapshot{fmt.Sprintf("Snapshot contained an unknown file version %d", version)}
	}
	if computed := crc32.Checksum(b[6:], crc32.MakeTable(crc32.Castagnoli)); computed != stored {
		return nil, &corruptSnapshot{fmt.Sprintf("Snapshot is corrupt (CRC is no longer valid). Stored crc: %d. Computed crc: %d", stored, computed)}
	}
	return entries, nil
}

func schemaError(err error) error {
	return &corruptSnapshot{"Snapshot failed schema validation: " + err.Error()}
}

// optionalLong is Java's OptionalLong.toString.
func optionalLong(v int64) string {
	if v < 0 {
		return "OptionalLong.empty"
	}
	return fmt.Sprintf("OptionalLong[%d]", v)
}

// decrementSequence is DefaultRecordBatch.decrementSequence: sequences wrap
// from Integer.MAX_VALUE to 0.
func decrementSequence(seq, dec int32) int32 {
	if seq < dec {
		return int32(int64(math.MaxInt32) - int64(dec-seq) + 1)
	}
	return seq - dec
}

// dumpProducerSnapshot is DumpLogSegments.dumpProducerIdSnapshot: one line
// per producer, its batch metadata when it has some; a corrupt snapshot's
// message goes to stderr and the dump goes on.
func (d *dumper) dumpProducerSnapshot(f string) error {
	b, err := readIndex(f) // Files.readAllBytes
	if err != nil {
		return err
	}
	entries, err := readSnapshot(b)
	if err != nil {
		var cs *corruptSnapshot
		if !errors.As(err, &cs) {
			return err
		}
		if ferr := d.out.Flush(); ferr != nil {
			return ferr
		}
		fmt.Fprintln(d.stderr, cs.msg)
		return nil
	}
	for _, e := range entries {
		fmt.Fprintf(d.out, "producerId: %d producerEpoch: %d coordinatorEpoch: %d currentTxnFirstOffset: %s lastTimestamp: %d ",
			e.producerID, e.producerEpoch, e.coordinatorEpoch, optionalLong(e.currentTxnFirstOffset), e.timestamp)
		if e.lastOffset >= 0 {
			fmt.Fprintf(d.out, "firstSequence: %d lastSequence: %d lastOffset: %d offsetDelta: %d timestamp: %d",
				decrementSequence(e.lastSequence, e.offsetDelta), e.lastSequence, e.lastOffset, e.offsetDelta, e.timestamp)
		}
		fmt.Fprintln(d.out)
	}
	return nil
}
