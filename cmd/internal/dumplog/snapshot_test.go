package dumplog

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// encodeSnapshot writes entries as ProducerStateManager.writeSnapshot
// does: version 1, the CRC-32C of the rest, the entry array.
func encodeSnapshot(version int16, entries []snapshotEntry) []byte {
	be := binary.BigEndian
	b := be.AppendUint16(nil, uint16(version))
	b = be.AppendUint32(b, 0)
	b = be.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = be.AppendUint64(b, uint64(e.producerID))
		b = be.AppendUint16(b, uint16(e.producerEpoch))
		b = be.AppendUint32(b, uint32(e.lastSequence))
		b = be.AppendUint64(b, uint64(e.lastOffset))
		b = be.AppendUint32(b, uint32(e.offsetDelta))
		b = be.AppendUint64(b, uint64(e.timestamp))
		b = be.AppendUint32(b, uint32(e.coordinatorEpoch))
		b = be.AppendUint64(b, uint64(e.currentTxnFirstOffset))
	}
	be.PutUint32(b[2:], crc32.Checksum(b[6:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestProducerSnapshot: DumpLogSegments.dumpProducerIdSnapshot's lines
// (OptionalLong, batch metadata only with a last offset, the first
// sequence wrapping past Integer.MAX_VALUE) and readSnapshot's
// CorruptSnapshotException messages, on stderr, the dump going on. The
// same files written by Kafka 3.9 are compared with its own tool in
// compat-tests/kafkadiff (TestDumpLogTransactionsKafka39).
func TestProducerSnapshot(t *testing.T) {
	entries := []snapshotEntry{
		{producerID: 7, producerEpoch: 2, lastSequence: 9, lastOffset: 120, offsetDelta: 4, timestamp: 1700000000000, coordinatorEpoch: 3, currentTxnFirstOffset: 100},
		{producerID: 8, producerEpoch: 0, lastSequence: 1, lastOffset: 5, offsetDelta: 3, timestamp: 1700000000001, coordinatorEpoch: -1, currentTxnFirstOffset: -1},
		{producerID: 9, producerEpoch: 1, lastSequence: -1, lastOffset: -1, offsetDelta: 0, timestamp: -1, coordinatorEpoch: 0, currentTxnFirstOffset: -1},
	}
	good := encodeSnapshot(1, entries)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name+".snapshot")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-1] ^= 1
	storedCRC := binary.BigEndian.Uint32(good[2:])
	for _, c := range []struct {
		name    string
		data    []byte
		out     []string
		errLine string
	}{
		{"good", good, []string{
			"producerId: 7 producerEpoch: 2 coordinatorEpoch: 3 currentTxnFirstOffset: OptionalLong[100] lastTimestamp: 1700000000000 firstSequence: 5 lastSequence: 9 lastOffset: 120 offsetDelta: 4 timestamp: 1700000000000",
			"producerId: 8 producerEpoch: 0 coordinatorEpoch: -1 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: 1700000000001 firstSequence: 2147483646 lastSequence: 1 lastOffset: 5 offsetDelta: 3 timestamp: 1700000000001",
			"producerId: 9 producerEpoch: 1 coordinatorEpoch: 0 currentTxnFirstOffset: OptionalLong.empty lastTimestamp: -1 ",
		}, ""},
		{"empty-table", encodeSnapshot(1, nil), nil, ""},
		{"trailing-bytes", append(bytes.Clone(good), 0), nil, "Snapshot is corrupt (CRC is no longer valid). Stored crc: " + itoa(storedCRC) + ". Computed crc: "},
		{"no-bytes", nil, nil, "Snapshot failed schema validation: Error reading field 'version': java.nio.BufferUnderflowException"},
		{"no-crc", good[:4], nil, "Snapshot failed schema validation: Error reading field 'crc': java.nio.BufferUnderflowException"},
		{"no-count", good[:8], nil, "Snapshot failed schema validation: Error reading field 'producer_entries': java.nio.BufferUnderflowException"},
		{"cut-entry", good[:len(good)-5], nil, "Snapshot failed schema validation: Error reading field 'producer_entries': Error reading field 'current_txn_first_offset': java.nio.BufferUnderflowException"},
		{"cut-id", good[:10+46+4], nil, "Snapshot failed schema validation: Error reading field 'producer_entries': Error reading field 'producer_id': java.nio.BufferUnderflowException"},
		{"negative-count", append(bytes.Clone(good[:6]), 0xff, 0xff, 0xff, 0xff), nil, "Snapshot failed schema validation: Error reading field 'producer_entries': Array size -1 cannot be negative"},
		{"huge-count", append(bytes.Clone(good[:6]), 0, 0, 1, 0, 1, 2), nil, "Snapshot failed schema validation: Error reading field 'producer_entries': Error reading array of size 256, only 2 bytes available"},
		{"version-2", encodeSnapshot(2, entries), nil, "Snapshot contained an unknown file version 2"},
		{"bad-crc", badCRC, nil, "Snapshot is corrupt (CRC is no longer valid). Stored crc: " + itoa(storedCRC) + ". Computed crc: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := write(c.name, c.data)
			stdout, stderr, code := run(t, "--files", f)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			want := "Dumping " + f + "\n"
			for _, l := range c.out {
				want += l + "\n"
			}
			if stdout != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout, want)
			}
			if c.errLine == "" && stderr != "" || !strings.HasPrefix(stderr, c.errLine) || c.errLine != "" && !strings.HasSuffix(stderr, "\n") {
				t.Errorf("stderr %q, want %q...", stderr, c.errLine)
			}
		})
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

// FuzzReadSnapshot: a snapshot file from disk never panics the decoder or
// makes it allocate beyond the input; what decodes re-encodes to the
// same bytes.
func FuzzReadSnapshot(f *testing.F) {
	f.Add(encodeSnapshot(1, []snapshotEntry{{producerID: 1, producerEpoch: 0, lastSequence: 4, lastOffset: 10, offsetDelta: 4, timestamp: 5, coordinatorEpoch: -1, currentTxnFirstOffset: -1}}))
	f.Add(encodeSnapshot(1, nil))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := readSnapshot(b)
		if err != nil {
			return
		}
		if got := encodeSnapshot(1, entries); !bytes.Equal(got, b) {
			t.Fatalf("decoded %d entries from %x, which re-encode to %x", len(entries), b, got)
		}
	})
}
