package dumplog

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kafkazk/kafkazk/storage"
)

// writeLog writes a partition log with storage's own writer: four
// uncompressed batches (plain, headers and nulls, idempotent, LogAppendTime),
// a transaction commit marker and a zstd batch; index entries every append.
func writeLog(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := storage.DefaultLogConfig()
	cfg.IndexIntervalBytes = 0
	l, err := storage.OpenLog(dir, cfg, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	noPID := storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	batches := []struct {
		h    storage.BatchHeader
		recs []storage.Record
	}{
		{noPID, []storage.Record{
			{Offset: 0, Timestamp: 1000, Key: []byte("k0"), Value: []byte("hello")},
			{Offset: 1, Timestamp: 1002, Key: []byte("k1"), Value: []byte("world")},
		}},
		{noPID, []storage.Record{
			{Offset: 0, Timestamp: 1005, KeyNull: true, Value: []byte("v"), Headers: []storage.RecordHeader{{Key: "a", Value: []byte("1")}, {Key: "b"}}},
			{Offset: 1, Timestamp: 1004, Key: []byte("tomb"), ValueNull: true},
		}},
		{storage.BatchHeader{ProducerID: 42, ProducerEpoch: 3, BaseSequence: 7}, []storage.Record{
			{Offset: 0, Timestamp: 1010, Key: []byte("p"), Value: []byte("x")},
			{Offset: 1, Timestamp: 1011, Key: []byte("p"), Value: []byte("y")},
			{Offset: 2, Timestamp: 1012, Key: []byte("p"), Value: []byte("z")},
		}},
		{storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Attributes: 0x08, MaxTimestamp: 2000},
			[]storage.Record{{Offset: 0, Timestamp: 1, KeyNull: true, Value: []byte("lat")}}},
		{storage.BatchHeader{ProducerID: 42, ProducerEpoch: 3, BaseSequence: -1, Attributes: 0x30},
			[]storage.Record{{Offset: 0, Timestamp: 1020, Key: []byte{0, 0, 0, 1}, Value: []byte{0, 0, 0, 0, 0, 9}}}},
		{storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, Attributes: int16(storage.CodecZstd)},
			[]storage.Record{{Offset: 0, Timestamp: 1030, Key: []byte("z"), Value: []byte("zstd value")}}},
	}
	for _, b := range batches {
		raw, err := storage.BuildBatch(b.h, b.recs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(raw, 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

var crcRe = regexp.MustCompile(`crc: \d+`)

func TestDumpLog(t *testing.T) {
	dir := writeLog(t)
	logf := filepath.Join(dir, "00000000000000000000.log")
	batchLines := []string{
		"baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1002 size: 89 magic: 2 compresscodec: none crc: X isvalid: true",
		"baseOffset: 2 lastOffset: 3 count: 2 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 89 CreateTime: 1005 size: 87 magic: 2 compresscodec: none crc: X isvalid: true",
		"baseOffset: 4 lastOffset: 6 count: 3 baseSequence: 7 lastSequence: 9 producerId: 42 producerEpoch: 3 partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 176 CreateTime: 1012 size: 88 magic: 2 compresscodec: none crc: X isvalid: true",
		"baseOffset: 7 lastOffset: 7 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 264 LogAppendTime: 2000 size: 71 magic: 2 compresscodec: none crc: X isvalid: true",
		"baseOffset: 8 lastOffset: 8 count: 1 baseSequence: -1 lastSequence: -1 producerId: 42 producerEpoch: 3 partitionLeaderEpoch: 3 isTransactional: true isControl: true deleteHorizonMs: OptionalLong.empty position: 335 CreateTime: 1020 size: 78 magic: 2 compresscodec: none crc: X isvalid: true",
		"baseOffset: 9 lastOffset: 9 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 3 isTransactional: false isControl: false deleteHorizonMs: OptionalLong.empty position: 413 CreateTime: 1030 size: SIZE magic: 2 compresscodec: zstd crc: X isvalid: true",
	}
	recordMeta := [][]string{
		{"| offset: 0 CreateTime: 1000 keySize: 2 valueSize: 5 sequence: -1 headerKeys: []", "| offset: 1 CreateTime: 1002 keySize: 2 valueSize: 5 sequence: -1 headerKeys: []"},
		{"| offset: 2 CreateTime: 1005 keySize: -1 valueSize: 1 sequence: -1 headerKeys: [a,b]", "| offset: 3 CreateTime: 1004 keySize: 4 valueSize: -1 sequence: -1 headerKeys: []"},
		{"| offset: 4 CreateTime: 1010 keySize: 1 valueSize: 1 sequence: 7 headerKeys: []", "| offset: 5 CreateTime: 1011 keySize: 1 valueSize: 1 sequence: 8 headerKeys: []", "| offset: 6 CreateTime: 1012 keySize: 1 valueSize: 1 sequence: 9 headerKeys: []"},
		{"| offset: 7 LogAppendTime: 2000 keySize: -1 valueSize: 3 sequence: -1 headerKeys: []"},
		{"| offset: 8 CreateTime: 1020 keySize: 4 valueSize: 6 sequence: -1 headerKeys: [] endTxnMarker: COMMIT coordinatorEpoch: 9"},
		{"| offset: 9 CreateTime: 1030 keySize: 1 valueSize: 10 sequence: -1 headerKeys: []"},
	}
	payloads := [][]string{
		{" key: k0 payload: hello", " key: k1 payload: world"},
		{" payload: v", " key: tomb"},
		{" key: p payload: x", " key: p payload: y", " key: p payload: z"},
		{" payload: lat"},
		{""},
		{" key: z payload: zstd value"},
	}
	skipMeta := [][]string{
		{"| key: k0 payload: hello", "| key: k1 payload: world"},
		{" payload: v", "| key: tomb"},
		{"| key: p payload: x", "| key: p payload: y", "| key: p payload: z"},
		{" payload: lat"},
		{""},
		{"| key: z payload: zstd value"},
	}
	build := func(records func(i int) []string) string {
		lines := []string{"Dumping " + logf, "Log starting offset: 0"}
		for i, b := range batchLines {
			lines = append(lines, b)
			if records != nil {
				lines = append(lines, records(i)...)
			}
		}
		return strings.Join(lines, "\n") + "\n"
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"shallow", []string{"--files", logf}, build(nil)},
		{"deep", []string{"--files", logf, "--deep-iteration"}, build(func(i int) []string { return recordMeta[i] })},
		{"print data", []string{"--print-data-log", "--files", logf}, build(func(i int) []string {
			var out []string
			for j, m := range recordMeta[i] {
				out = append(out, m+payloads[i][j])
			}
			return out
		})},
		{"skip metadata", []string{"--print-data-log", "--skip-record-metadata", "--files", logf}, build(func(i int) []string { return skipMeta[i] })},
		{"decoder classes", []string{"--files=" + logf, "--value-decoder-class", "--key-decoder-class", "kafka.serializer.StringDecoder"}, build(func(i int) []string {
			var out []string
			for j, m := range recordMeta[i] {
				out = append(out, m+payloads[i][j])
			}
			return out
		})},
		{"run-class", []string{"kafka.tools.DumpLogSegments", "--files", logf}, build(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			out = crcRe.ReplaceAllString(out, "crc: X")
			out = regexp.MustCompile(`size: \d+ magic: 2 compresscodec: zstd`).ReplaceAllString(out, "size: SIZE magic: 2 compresscodec: zstd")
			if out != tc.want {
				t.Fatalf("output:\n%s\nwant:\n%s", out, tc.want)
			}
		})
	}
}

func TestDumpLogCRCAndTrailingBytes(t *testing.T) {
	dir := writeLog(t)
	logf := filepath.Join(dir, "00000000000000000000.log")
	b, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	first := binary.BigEndian.Uint32(b[17:])
	out, _, _ := run(t, "--files", logf)
	if want := "crc: " + strconv.FormatUint(uint64(first), 10) + " isvalid: true"; !strings.Contains(out, want) {
		t.Fatalf("crc not printed unsigned as %q:\n%s", want, out)
	}
	b[70] ^= 0xff                                                                  // a record byte of the first batch
	b = append(b, bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 90}, 2)...) // a header cut short
	if err := os.WriteFile(logf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "--files", logf)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasSuffix(lines[2], "isvalid: false") {
		t.Fatalf("corrupt batch reported as %q", lines[2])
	}
	if want := "Found 24 invalid bytes at the end of 00000000000000000000.log"; lines[len(lines)-1] != want {
		t.Fatalf("last line %q, want %q", lines[len(lines)-1], want)
	}
	// --max-bytes stops early and says nothing of what is left.
	out, _, _ = run(t, "--files", logf, "--max-bytes", "200")
	if n := strings.Count(out, "baseOffset:"); n != 2 || strings.Contains(out, "invalid bytes") {
		t.Fatalf("--max-bytes 200 printed %d batches:\n%s", n, out)
	}
}

func TestDumpIndexes(t *testing.T) {
	dir := writeLog(t)
	idx := filepath.Join(dir, "00000000000000000000.index")
	tidx := filepath.Join(dir, "00000000000000000000.timeindex")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"index", []string{"--files", idx}, "Dumping " + idx + "\n" +
			"offset: 3 position: 89\noffset: 6 position: 176\noffset: 7 position: 264\noffset: 8 position: 335\noffset: 9 position: 413\n"},
		{"index sanity", []string{"--files", idx, "--index-sanity-check"}, "Dumping " + idx + "\n" + idx + " passed sanity check.\n"},
		{"index verify", []string{"--files", idx, "--verify-index-only"}, "Dumping " + idx + "\n"},
		{"timeindex", []string{"--files", tidx}, "Dumping " + tidx + "\n" +
			"timestamp: 1005 offset: 3\ntimestamp: 1012 offset: 6\ntimestamp: 2000 offset: 7\n"},
		{"timeindex sanity", []string{"--files", tidx, "--index-sanity-check"}, "Dumping " + tidx + "\n" + tidx + " passed sanity check.\n"},
		{"two files", []string{"--files", idx + "," + tidx, "--index-sanity-check"},
			"Dumping " + idx + "\n" + idx + " passed sanity check.\nDumping " + tidx + "\n" + tidx + " passed sanity check.\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			if out != tc.want {
				t.Fatalf("output:\n%s\nwant:\n%s", out, tc.want)
			}
			t.Logf("stderr: %s", errOut)
		})
	}
}

func TestDumpIndexProblems(t *testing.T) {
	dir := writeLog(t)
	idx := filepath.Join(dir, "00000000000000000000.index")
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	// Point the first entry's offset at 4 (its batch ends at 3).
	binary.BigEndian.PutUint32(b, 4)
	if err := os.WriteFile(idx, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "--files", idx, "--verify-index-only")
	if want := "Mismatches in :" + idx + "\n  Index offset: 4, log offset: 3\n"; code != 0 || errOut != want {
		t.Fatalf("exit %d, stderr %q, want %q", code, errOut, want)
	}
	// A torn entry fails the sanity check with Kafka's message.
	if err := os.WriteFile(idx, b[:len(b)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = run(t, "--files", idx, "--index-sanity-check")
	want := "Exception in thread \"main\" org.apache.kafka.storage.internals.log.CorruptIndexException: Index file " + idx +
		" is corrupt, found 37 bytes which is neither positive nor a multiple of 8\n"
	if code != 1 || errOut != want {
		t.Fatalf("exit %d, stderr %q, want %q", code, errOut, want)
	}
	empty := filepath.Join(t.TempDir(), "00000000000000000100.index")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(strings.TrimSuffix(empty, ".index")+".log", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "--files", empty)
	if code != 0 || out != "Dumping "+empty+"\n"+empty+" is empty.\n" {
		t.Fatalf("empty index: exit %d, %q", code, out)
	}
}

func TestTimeIndexProblems(t *testing.T) {
	dir := writeLog(t)
	tidx := filepath.Join(dir, "00000000000000000000.timeindex")
	b, err := os.ReadFile(tidx)
	if err != nil {
		t.Fatal(err)
	}
	binary.BigEndian.PutUint64(b[12:], 999) // entry 1: timestamp 999 instead of 1012, below entry 0's
	if err := os.WriteFile(tidx, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "--files", tidx, "--verify-index-only")
	want := "Found timestamp mismatch in :" + tidx + "\n  Index timestamp: 999, log timestamp: 1012\n" +
		"Found out of order timestamp in :" + tidx + "\n  Index timestamp: 999, Previously indexed timestamp: 1005\n"
	if code != 0 || errOut != want {
		t.Fatalf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stderrHas  string
		stdoutWant string
	}{
		{"no args", nil, 1, description, ""},
		{"missing files", []string{"--print-data-log"}, 1, `Missing required argument "[files]"`, ""},
		{"unknown option", []string{"--nope"}, 1, "nope is not a recognized option", ""},
		{"bad decoder", []string{"--files", "x.log", "--value-decoder-class", "com.example.Avro"}, 1, "not supported", ""},
		{"missing file", []string{"--files", "/nonexistent/00000000000000000000.log"}, 1, "java.nio.file.NoSuchFileException: /nonexistent/00000000000000000000.log",
			"Dumping /nonexistent/00000000000000000000.log\nLog starting offset: 0\n"},
		{"unknown suffix", []string{"--files", "foo.bar"}, 0, "Ignoring unknown file foo.bar", "Dumping foo.bar\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.stderrHas) || out != tc.stdoutWant {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		})
	}
}

func TestTxnIndex(t *testing.T) {
	f := filepath.Join(t.TempDir(), "00000000000000000000.txnindex")
	e := make([]byte, 34)
	be := binary.BigEndian
	be.PutUint16(e, 0)
	be.PutUint64(e[2:], 42)
	be.PutUint64(e[10:], 5)
	be.PutUint64(e[18:], 9)
	be.PutUint64(e[26:], 5)
	if err := os.WriteFile(f, e, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := run(t, "--files", f)
	if want := "Dumping " + f + "\nversion: 0 producerId: 42 firstOffset: 5 lastOffset: 9 lastStableOffset: 5\n"; code != 0 || out != want {
		t.Fatalf("exit %d, %q", code, out)
	}
}
