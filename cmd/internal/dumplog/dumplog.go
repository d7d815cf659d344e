// Package dumplog is bin/kafka-dump-log.sh, Kafka's DumpLogSegments: it
// prints the batches and records of .log segments (control records as
// their markers; --offsets-decoder and --transaction-log-decoder decode
// __consumer_offsets and __transaction_state) and the entries of .index,
// .timeindex, .txnindex and producer-state .snapshot files in Kafka's
// exact format.
package dumplog

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/cmd/internal/cli"
	"github.com/kafkazk/kafkazk/storage"
)

// ClassName is how kafka-run-class.sh names this tool.
const ClassName = "kafka.tools.DumpLogSegments"

const description = "This tool helps to parse a log file and dump its contents to the console, useful for debugging a seemingly corrupt log segment."

const stringDecoder = "kafka.serializer.StringDecoder"

// options are Kafka 3.9's DumpLogSegmentsOptions.
var options = []cli.Option{
	{Name: "cluster-metadata-decoder", Desc: "If set, log data will be parsed as cluster metadata records."},
	{Name: "deep-iteration", Desc: "If set, uses deep instead of shallow iteration. Automatically set if print-data-log is enabled."},
	{Name: "files", Desc: "REQUIRED: The comma separated list of data and index log files to be dumped.", TakesArg: true, ArgType: "String", ArgDesc: "file1, file2, ..."},
	{Name: "help", Desc: "Print usage information."},
	{Name: "index-sanity-check", Desc: "If set, just checks the index sanity without printing its content. This is the same check that is executed on broker startup to determine if an index needs rebuilding or not."},
	{Name: "key-decoder-class", Desc: "If set, used to deserialize the keys. This class should implement org.apache.kafka.tools.api.Decoder trait. Custom jar should be available in kafka/libs directory.", OptionalArg: true, ArgType: "String", Default: apiStringDecoder},
	{Name: "max-bytes", Desc: "Limit the amount of total batches read in bytes avoiding reading the whole .log file(s).", TakesArg: true, ArgType: "Integer", ArgDesc: "size", Default: "2147483647"},
	{Name: "max-message-size", Desc: "Size of largest message.", TakesArg: true, ArgType: "Integer", ArgDesc: "size", Default: "5242880"},
	{Name: "offsets-decoder", Desc: "If set, log data will be parsed as offset data from the __consumer_offsets topic."},
	{Name: "print-data-log", Desc: "If set, printing the messages content when dumping data logs. Automatically set if any decoder option is specified."},
	{Name: "remote-log-metadata-decoder", Desc: "If set, log data will be parsed as TopicBasedRemoteLogMetadataManager (RLMM) metadata records. Instead, the value-decoder-class option can be used if a custom RLMM implementation is configured."},
	{Name: "skip-record-metadata", Desc: "Whether to skip printing metadata for each record."},
	{Name: "transaction-log-decoder", Desc: "If set, log data will be parsed as transaction metadata from the __transaction_state topic."},
	{Name: "value-decoder-class", Desc: "If set, used to deserialize the messages. This class should implement org.apache.kafka.tools.api.Decoder trait. Custom jar should be available in kafka/libs directory.", OptionalArg: true, ArgType: "String", Default: apiStringDecoder},
	{Name: "verify-index-only", Desc: "If set, just verify the index log without printing its content."},
	{Name: "version", Desc: "Display Kafka version."},
}

// apiStringDecoder is the decoders' default since Kafka 3.8 (the
// deprecated kafka.serializer.StringDecoder is still accepted).
const apiStringDecoder = "org.apache.kafka.tools.api.StringDecoder"

// opts are DumpLogSegmentsOptions after parsing.
type opts struct {
	files              []string
	printDataLog       bool
	deepIteration      bool
	skipRecordMetadata bool
	verifyOnly         bool
	indexSanityOnly    bool
	maxMessageSize     int64
	maxBytes           int64
	offsetsDecoder     bool
	txnDecoder         bool // --transaction-log-decoder: TransactionLogMessageParser
}

// javaError is an exception that ends the Java tool: main prints its class
// and message and exits 1.
type javaError struct{ class, msg string }

func (e *javaError) Error() string { return e.class + ": " + e.msg }

// Run executes the tool and returns its exit code. args may start with the
// class name, as kafka-run-class.sh passes it.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && strings.HasPrefix(args[0], ClassName) {
		args = args[1:]
	}
	args = optionalArgs(args, "key-decoder-class", "value-decoder-class")
	p, err := cli.Parse(options, args)
	if err != nil {
		fmt.Fprintln(stderr, err.Error())
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if len(args) == 0 || p.Has("help") {
		fmt.Fprintln(stderr, description)
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	if p.Has("version") {
		fmt.Fprintln(stdout, "3.9.2")
		return 0
	}
	if !p.Has("files") {
		fmt.Fprintln(stderr, `Missing required argument "[files]"`)
		io.WriteString(stderr, cli.HelpText(options))
		return 1
	}
	o, err := parseOpts(p, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err.Error())
		return 1
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	d := &dumper{o: o, out: out, stderr: stderr}
	err = d.run(ctx)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		// An exception leaves main before the summaries are printed.
		var je *javaError
		if errors.As(err, &je) {
			fmt.Fprintf(stderr, "Exception in thread \"main\" %s: %s\n", je.class, je.msg)
		} else {
			fmt.Fprintf(stderr, "Exception in thread \"main\" java.io.IOException: %v\n", err)
		}
		return 1
	}
	d.printErrors(stderr)
	return 0
}

// optionalArgs rewrites jopt-simple optional-argument options for cli.Parse:
// "--name value" (value not an option) becomes "--name=value", a bare
// "--name" its default.
func optionalArgs(args []string, names ...string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		matched := false
		for _, n := range names {
			if a == "--"+n {
				matched = true
				if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
					out = append(out, a+"="+args[i+1])
					i++
				} else {
					out = append(out, a+"="+stringDecoder)
				}
			}
		}
		if !matched {
			out = append(out, a)
		}
	}
	return out
}

func parseOpts(p *cli.Parsed, stderr io.Writer) (opts, error) {
	o := opts{maxMessageSize: 5 * 1024 * 1024, maxBytes: math.MaxInt32}
	for _, n := range []struct {
		name string
		dst  *int64
	}{{"max-message-size", &o.maxMessageSize}, {"max-bytes", &o.maxBytes}} {
		v, err := p.IntValue(n.name)
		if err != nil {
			return o, err
		}
		if v != nil {
			*n.dst = int64(*v)
		}
	}
	for _, n := range []string{"key-decoder-class", "value-decoder-class"} {
		if v, ok := p.Value(n); ok && v != stringDecoder && v != "org.apache.kafka.tools.api.StringDecoder" {
			return o, fmt.Errorf("%s %s is not supported: only %s can decode here", n, v, stringDecoder)
		}
	}
	o.offsetsDecoder = p.Has("offsets-decoder")
	o.txnDecoder = p.Has("transaction-log-decoder") && !o.offsetsDecoder // DumpLogSegmentsOptions.messageParser: offsets first
	for _, n := range []string{"cluster-metadata-decoder", "remote-log-metadata-decoder"} {
		if p.Has(n) && !o.offsetsDecoder && !o.txnDecoder {
			fmt.Fprintf(stderr, "--%s is not supported; keys and values are printed as strings.\n", n)
		}
	}
	f, _ := p.Value("files")
	o.files = strings.Split(f, ",")
	o.printDataLog = p.Has("print-data-log") || p.Has("offsets-decoder") || p.Has("transaction-log-decoder") ||
		p.Has("cluster-metadata-decoder") || p.Has("remote-log-metadata-decoder") || p.Has("value-decoder-class") || p.Has("key-decoder-class")
	o.deepIteration = p.Has("deep-iteration") || o.printDataLog
	o.skipRecordMetadata = p.Has("skip-record-metadata")
	o.verifyOnly = p.Has("verify-index-only")
	o.indexSanityOnly = p.Has("index-sanity-check")
	return o, nil
}

// pair is one (expected, found) entry of the problems reported at the end.
type pair struct{ a, b int64 }

type fileProblems struct {
	file  string
	pairs []pair
}

// problems keeps per-file problem lists in first-seen file order.
type problems []fileProblems

func (ps *problems) add(file string, p pair) {
	for i := range *ps {
		if (*ps)[i].file == file {
			(*ps)[i].pairs = append((*ps)[i].pairs, p)
			return
		}
	}
	*ps = append(*ps, fileProblems{file: file, pairs: []pair{p}})
}

type dumper struct {
	o      opts
	out    *bufio.Writer
	stderr io.Writer

	indexMismatches problems // Kafka prepends to a List: printed newest first
	nonConsecutive  problems // likewise
	timeMismatches  problems // Kafka appends to an ArrayBuffer: oldest first
	timeOutOfOrder  problems
	shallowNotFound problems
}

func (d *dumper) run(ctx context.Context) error {
	for _, f := range d.o.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(d.out, "Dumping %s\n", f)
		name := filepath.Base(f)
		dot := strings.LastIndexByte(name, '.')
		suffix := ""
		if dot >= 0 {
			suffix = name[dot:]
		}
		var err error
		switch suffix {
		case ".log":
			err = d.dumpLog(f)
		case ".index":
			err = d.dumpIndex(f)
		case ".timeindex":
			err = d.dumpTimeIndex(f)
		case ".txnindex":
			err = d.dumpTxnIndex(f)
		case ".snapshot":
			err = d.dumpProducerSnapshot(f)
		default:
			if ferr := d.out.Flush(); ferr != nil {
				return ferr
			}
			fmt.Fprintf(d.stderr, "Ignoring unknown file %s\n", f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *dumper) printErrors(w io.Writer) {
	for _, fp := range d.indexMismatches {
		fmt.Fprintf(w, "Mismatches in :%s\n", fp.file)
		for i := len(fp.pairs) - 1; i >= 0; i-- {
			fmt.Fprintf(w, "  Index offset: %d, log offset: %d\n", fp.pairs[i].a, fp.pairs[i].b)
		}
	}
	for _, fp := range d.timeMismatches {
		fmt.Fprintf(w, "Found timestamp mismatch in :%s\n", fp.file)
		for _, p := range fp.pairs {
			fmt.Fprintf(w, "  Index timestamp: %d, log timestamp: %d\n", p.a, p.b)
		}
	}
	for _, fp := range d.timeOutOfOrder {
		fmt.Fprintf(w, "Found out of order timestamp in :%s\n", fp.file)
		for _, p := range fp.pairs {
			fmt.Fprintf(w, "  Index timestamp: %d, Previously indexed timestamp: %d\n", p.a, p.b)
		}
	}
	for _, fp := range d.shallowNotFound {
		fmt.Fprintln(w, "The following indexed offsets are not found in the log.")
		for _, p := range fp.pairs {
			fmt.Fprintf(w, "Indexed offset: %d, found log offset: %d\n", p.a, p.b)
		}
	}
	for _, fp := range d.nonConsecutive {
		fmt.Fprintf(w, "Non-consecutive offsets in %s\n", fp.file)
		for i := len(fp.pairs) - 1; i >= 0; i-- {
			fmt.Fprintf(w, "  %d is followed by %d\n", fp.pairs[i].a, fp.pairs[i].b)
		}
	}
}

func absPath(f string) string {
	if a, err := filepath.Abs(f); err == nil {
		return a
	}
	return f
}

// baseOffsetOf parses the base offset from a segment file name (the part
// before the first dot), as UnifiedLog.offsetFromFile.
func baseOffsetOf(f string) (int64, error) {
	name := filepath.Base(f)
	prefix, _, _ := strings.Cut(name, ".")
	n, err := strconv.ParseInt(prefix, 10, 64)
	if err != nil {
		return 0, &javaError{"java.lang.NumberFormatException", fmt.Sprintf("For input string: %q", prefix)}
	}
	return n, nil
}

// siblingFile is the file of the same segment with another suffix.
func siblingFile(f, suffix string) string {
	name := filepath.Base(f)
	prefix, _, _ := strings.Cut(name, ".")
	return filepath.Join(filepath.Dir(absPath(f)), prefix+suffix)
}

func openFile(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, &javaError{"java.nio.file.NoSuchFileException", path}
		}
		return nil, 0, fmt.Errorf("open %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return f, fi.Size(), nil
}

// batchReader walks the batches of a .log file between two positions the way
// FileLogInputStream does: it stops quietly at a batch cut short by the end.
type batchReader struct {
	f        *os.File
	name     string
	pos, end int64
	hdr      [17]byte
}

const (
	logOverhead          = 12 // offset + size
	headerSizeUpToMagic  = 17
	minRecordOverheadV0  = 14 // LegacyRecord.RECORD_OVERHEAD_V0
	recordBatchOverhead  = storage.BatchHeaderSize
	controlKeyMinSize    = 4
	endTxnMarkerMinValue = 6
)

// next returns the next whole batch, or nil at the end.
// nextBatch is next with the batch header parsed; b is nil at the end.
func (r *batchReader) nextBatch() ([]byte, storage.BatchHeader, error) {
	b, pos, err := r.next()
	if err != nil || b == nil {
		return nil, storage.BatchHeader{}, err
	}
	h, err := parseHeader(b, pos)
	return b, h, err
}

func (r *batchReader) next() ([]byte, int64, error) {
	if r.pos >= r.end-headerSizeUpToMagic {
		return nil, 0, nil
	}
	if _, err := r.f.ReadAt(r.hdr[:], r.pos); err != nil {
		return nil, 0, fmt.Errorf("read log header at %d of %s: %w", r.pos, r.name, err)
	}
	size := int64(int32(binary.BigEndian.Uint32(r.hdr[8:])))
	if size < minRecordOverheadV0 {
		return nil, 0, &javaError{"org.apache.kafka.common.errors.CorruptRecordException",
			fmt.Sprintf("Found record size %d smaller than minimum record overhead (%d) in file %s.", size, minRecordOverheadV0, r.name)}
	}
	if r.pos > r.end-logOverhead-size {
		return nil, 0, nil
	}
	if magic := int8(r.hdr[16]); magic != 2 {
		return nil, 0, &javaError{"org.apache.kafka.common.errors.CorruptRecordException",
			fmt.Sprintf("Record batch magic %d at position %d in %s is not supported: only magic 2", magic, r.pos, r.name)}
	}
	b := make([]byte, logOverhead+size)
	if _, err := r.f.ReadAt(b, r.pos); err != nil {
		return nil, 0, fmt.Errorf("read batch at %d of %s: %w", r.pos, r.name, err)
	}
	pos := r.pos
	r.pos += int64(len(b))
	return b, pos, nil
}

func parseHeader(b []byte, pos int64) (storage.BatchHeader, error) {
	h, err := storage.ParseBatchHeader(b)
	if err != nil {
		return h, &javaError{"org.apache.kafka.common.errors.CorruptRecordException", fmt.Sprintf("batch at position %d: %v", pos, err)}
	}
	return h, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// batchValid is DefaultRecordBatch.isValid: big enough and the CRC-32C
// from the attributes on matches.
func batchValid(b []byte, h storage.BatchHeader) bool {
	return len(b) >= recordBatchOverhead && crc32.Checksum(b[21:], castagnoli) == h.CRC
}

func timestampType(h storage.BatchHeader) string {
	if h.LogAppendTime() {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// deleteHorizon prints DefaultRecordBatch.deleteHorizonMs, an OptionalLong:
// the base timestamp when attribute bit 6 is set.
func deleteHorizon(h storage.BatchHeader) string {
	if h.Attributes&0x40 != 0 {
		return fmt.Sprintf("OptionalLong[%d]", h.BaseTimestamp)
	}
	return "OptionalLong.empty"
}

// recordSequence is DefaultRecord.sequence: the batch base sequence plus the
// offset delta, wrapping at MaxInt32; -1 without a sequence.
func recordSequence(h storage.BatchHeader, offset int64) int64 {
	if h.BaseSequence < 0 {
		return -1
	}
	s := int64(h.BaseSequence) + (offset - h.BaseOffset)
	if s > math.MaxInt32 {
		s -= math.MaxInt32 + 1
	}
	return s
}

// javaString decodes bytes as new String(bytes, UTF_8): each invalid byte
// becomes U+FFFD.
func javaString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}

func (d *dumper) dumpLog(f string) error {
	base, err := baseOffsetOf(f)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "Log starting offset: %d\n", base)
	file, size, err := openFile(f)
	if err != nil {
		return err
	}
	defer file.Close()
	end := min(size, d.o.maxBytes)
	r := &batchReader{f: file, name: f, end: end}
	var validBytes int64
	lastOffset := int64(-1)
	for {
		b, h, err := r.nextBatch()
		if err != nil {
			return err
		}
		if b == nil {
			break
		}
		codec := h.Compression()
		if codec > storage.CodecZstd {
			return &javaError{"java.lang.IllegalArgumentException", fmt.Sprintf("Unknown compression type id: %d", codec)}
		}
		fmt.Fprintf(d.out, "baseOffset: %d lastOffset: %d count: %d baseSequence: %d lastSequence: %d producerId: %d producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %t isControl: %t deleteHorizonMs: %s position: %d %s: %d size: %d magic: %d compresscodec: %s crc: %d isvalid: %t\n",
			h.BaseOffset, h.LastOffset(), h.RecordCount, h.BaseSequence, h.LastSequence(), h.ProducerID, h.ProducerEpoch,
			h.PartitionLeaderEpoch, h.IsTransactional(), h.IsControl(), deleteHorizon(h), validBytes, timestampType(h),
			h.MaxTimestamp, len(b), h.Magic, storage.CodecName(codec), h.CRC, batchValid(b, h))
		if d.o.deepIteration {
			recs, err := storage.Records(b)
			if err != nil {
				return &javaError{"org.apache.kafka.common.InvalidRecordException", err.Error()}
			}
			for _, rec := range recs {
				if lastOffset != -1 && rec.Offset != lastOffset+1 {
					d.nonConsecutive.add(absPath(f), pair{lastOffset, rec.Offset})
				}
				lastOffset = rec.Offset
				if err := d.printRecord(h, rec); err != nil {
					return err
				}
			}
		}
		validBytes += int64(len(b))
	}
	if trailing := end - validBytes; trailing > 0 && d.o.maxBytes == math.MaxInt32 {
		fmt.Fprintf(d.out, "Found %d invalid bytes at the end of %s\n", trailing, filepath.Base(f))
	}
	return nil
}

func fieldSize(b []byte, null bool) int {
	if null {
		return -1
	}
	return len(b)
}

func (d *dumper) printRecord(h storage.BatchHeader, rec storage.Record) error {
	w := d.out
	prefix := "| "
	if !d.o.skipRecordMetadata {
		keys := make([]string, len(rec.Headers))
		for i, hd := range rec.Headers {
			keys[i] = hd.Key
		}
		fmt.Fprintf(w, "%soffset: %d %s: %d keySize: %d valueSize: %d sequence: %d headerKeys: [%s]",
			prefix, rec.Offset, timestampType(h), rec.Timestamp, fieldSize(rec.Key, rec.KeyNull),
			fieldSize(rec.Value, rec.ValueNull), recordSequence(h, rec.Offset), strings.Join(keys, ","))
		prefix = " "
		if h.IsControl() {
			if err := printControl(w, rec); err != nil {
				return err
			}
		}
	}
	if d.o.printDataLog && !h.IsControl() && d.o.offsetsDecoder {
		offsetsDecoderLine(w, prefix, rec)
	} else if d.o.printDataLog && !h.IsControl() && d.o.txnDecoder {
		// TransactionLog.formatRecordKeyAndValue; what it cannot decode
		// throws out of the tool.
		if rec.KeyNull {
			return &javaError{"java.lang.NullPointerException", "Cannot invoke \"java.nio.ByteBuffer.getShort()\" because \"buffer\" is null"}
		}
		value := rec.Value
		if rec.ValueNull {
			value = nil
		}
		key, payload, hasPayload, err := txn.FormatRecordKeyAndValue(rec.Key, value)
		if err != nil {
			return &javaError{"org.apache.kafka.common.protocol.types.SchemaException", err.Error()}
		}
		fmt.Fprintf(w, "%skey: %s", prefix, key)
		if hasPayload {
			fmt.Fprintf(w, " payload: %s", payload)
		}
	} else if d.o.printDataLog && !h.IsControl() {
		if !rec.KeyNull {
			fmt.Fprintf(w, "%skey: %s", prefix, javaString(rec.Key))
		}
		if !rec.ValueNull {
			fmt.Fprintf(w, " payload: %s", javaString(rec.Value))
		}
	}
	return w.WriteByte('\n')
}

// printControl prints a control record: COMMIT/ABORT markers with their
// coordinator epoch (EndTransactionMarker), other types by name and id.
func printControl(w io.Writer, rec storage.Record) error {
	if rec.KeyNull || len(rec.Key) < controlKeyMinSize {
		return &javaError{"org.apache.kafka.common.InvalidRecordException",
			fmt.Sprintf("Invalid value size found for end control record key. Must have at least %d bytes, but found only %d", controlKeyMinSize, max(0, len(rec.Key)))}
	}
	typeID := int16(binary.BigEndian.Uint16(rec.Key[2:]))
	switch typeID {
	case 0, 1:
		if rec.ValueNull || len(rec.Value) < endTxnMarkerMinValue {
			return &javaError{"org.apache.kafka.common.InvalidRecordException",
				fmt.Sprintf("Invalid value size found for end transaction marker. Must have at least %d bytes, but found only %d", endTxnMarkerMinValue, max(0, len(rec.Value)))}
		}
		if v := int16(binary.BigEndian.Uint16(rec.Value)); v < 0 {
			return &javaError{"org.apache.kafka.common.InvalidRecordException",
				fmt.Sprintf("Invalid version found for end transaction marker: %d. May indicate data corruption", v)}
		}
		marker := "ABORT"
		if typeID == 1 {
			marker = "COMMIT"
		}
		fmt.Fprintf(w, " endTxnMarker: %s coordinatorEpoch: %d", marker, int32(binary.BigEndian.Uint32(rec.Value[2:])))
	default:
		name := map[int16]string{2: "LEADER_CHANGE", 3: "SNAPSHOT_HEADER", 4: "SNAPSHOT_FOOTER"}[typeID]
		if name == "" {
			name = "UNKNOWN"
		}
		fmt.Fprintf(w, " controlType: %s(%d)", name, typeID)
	}
	return nil
}

// indexEntries reads a whole index file: entries = length / entrySize, as a
// read-only AbstractIndex sees it.
func readIndex(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &javaError{"java.nio.file.NoSuchFileException", path}
		}
		return nil, fmt.Errorf("read index %s: %w", path, err)
	}
	return b, nil
}

func offsetEntry(idx []byte, base int64, i int) (offset, position int64) {
	return base + int64(int32(binary.BigEndian.Uint32(idx[i*8:]))), int64(int32(binary.BigEndian.Uint32(idx[i*8+4:])))
}

func timeEntry(tidx []byte, base int64, i int) (ts, offset int64) {
	return int64(binary.BigEndian.Uint64(tidx[i*12:])), base + int64(int32(binary.BigEndian.Uint32(tidx[i*12+8:])))
}

func (d *dumper) dumpIndex(f string) error {
	base, err := baseOffsetOf(f)
	if err != nil {
		return err
	}
	logFile, logSize, err := openFile(siblingFile(f, ".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	idx, err := readIndex(f)
	if err != nil {
		return err
	}
	entries := len(idx) / 8
	if entries == 0 {
		fmt.Fprintf(d.out, "%s is empty.\n", f)
		return nil
	}
	if d.o.indexSanityOnly {
		// OffsetIndex.sanityCheck
		if last, _ := offsetEntry(idx, base, entries-1); last < base {
			return &javaError{"org.apache.kafka.storage.internals.log.CorruptIndexException",
				fmt.Sprintf("Corrupt index found, index file %s has non-zero size but the last offset is %d which is less than the base offset %d", absPath(f), last, base)}
		}
		if len(idx)%8 != 0 {
			return &javaError{"org.apache.kafka.storage.internals.log.CorruptIndexException",
				fmt.Sprintf("Index file %s is corrupt, found %d bytes which is neither positive nor a multiple of 8", absPath(f), len(idx))}
		}
		fmt.Fprintf(d.out, "%s passed sanity check.\n", f)
		return nil
	}
	for i := 0; i < entries; i++ {
		offset, position := offsetEntry(idx, base, i)
		// A preallocated index after a crash holds zero entries: stop at one.
		if offset == base && i > 0 {
			return nil
		}
		if position < 0 {
			return &javaError{"java.lang.IllegalArgumentException", fmt.Sprintf("Invalid position: %d", position)}
		}
		r := &batchReader{f: logFile, name: logFile.Name(), pos: position, end: min(logSize, position+d.o.maxMessageSize)}
		b, h, err := r.nextBatch()
		if err == nil && b == nil {
			err = &javaError{"java.util.NoSuchElementException", fmt.Sprintf("no batch at position %d of %s within %d bytes", position, logFile.Name(), d.o.maxMessageSize)}
		}
		if err != nil {
			return err
		}
		if h.LastOffset() != offset {
			d.indexMismatches.add(absPath(f), pair{offset, h.LastOffset()})
		}
		if !d.o.verifyOnly {
			fmt.Fprintf(d.out, "offset: %d position: %d\n", offset, position)
		}
	}
	return nil
}

func (d *dumper) dumpTimeIndex(f string) error {
	base, err := baseOffsetOf(f)
	if err != nil {
		return err
	}
	logFile, logSize, err := openFile(siblingFile(f, ".log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	idx, err := os.ReadFile(siblingFile(f, ".index"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read offset index: %w", err)
	}
	tidx, err := readIndex(f)
	if err != nil {
		return err
	}
	entries := len(tidx) / 12
	if d.o.indexSanityOnly {
		// TimeIndex.sanityCheck
		if entries != 0 {
			lastTs, lastOff := timeEntry(tidx, base, entries-1)
			firstTs, _ := timeEntry(tidx, base, 0)
			if lastTs < firstTs {
				return &javaError{"org.apache.kafka.storage.internals.log.CorruptIndexException",
					fmt.Sprintf("Corrupt time index found, time index file (%s) has non-zero size but the last timestamp is %d which is less than the first timestamp %d", absPath(f), lastTs, firstTs)}
			}
			if lastOff < base {
				return &javaError{"org.apache.kafka.storage.internals.log.CorruptIndexException",
					fmt.Sprintf("Corrupt time index found, time index file (%s) has non-zero size but the last offset is %d which is less than the first offset %d", absPath(f), lastOff, base)}
			}
		}
		if len(tidx)%12 != 0 {
			return &javaError{"org.apache.kafka.storage.internals.log.CorruptIndexException",
				fmt.Sprintf("Time index file %s is corrupt, found %d bytes which is neither positive nor a multiple of 12", absPath(f), len(tidx))}
		}
		fmt.Fprintf(d.out, "%s passed sanity check.\n", f)
		return nil
	}
	prevTs := int64(-1) // RecordBatch.NO_TIMESTAMP
	for i := 0; i < entries; i++ {
		ts, offset := timeEntry(tidx, base, i)
		if offset == base && i > 0 {
			return nil
		}
		// OffsetIndex.lookup: the largest entry at or below offset, else position 0.
		n := len(idx) / 8
		j := sort.Search(n, func(j int) bool { o, _ := offsetEntry(idx, base, j); return o > offset })
		position := int64(0)
		if j > 0 {
			_, position = offsetEntry(idx, base, j-1)
		}
		r := &batchReader{f: logFile, name: logFile.Name(), pos: max(position, 0), end: logSize}
		var found []byte
		var fh storage.BatchHeader
		for {
			b, h, err := r.nextBatch()
			if err != nil {
				return err
			}
			if b == nil {
				break
			}
			if h.LastOffset() >= offset {
				found, fh = b, h
				break
			}
		}
		switch {
		case found == nil:
			d.shallowNotFound.add(absPath(f), pair{offset, -1})
		case fh.LastOffset() != offset:
			d.shallowNotFound.add(absPath(f), pair{offset, fh.LastOffset()})
		default:
			recs, err := storage.Records(found)
			if err != nil {
				return &javaError{"org.apache.kafka.common.InvalidRecordException", err.Error()}
			}
			maxTs := int64(-1)
			for _, r := range recs {
				maxTs = max(maxTs, r.Timestamp)
			}
			if maxTs != ts {
				d.timeMismatches.add(absPath(f), pair{ts, maxTs})
			}
			if prevTs >= ts {
				d.timeOutOfOrder.add(absPath(f), pair{ts, prevTs})
			}
		}
		if !d.o.verifyOnly {
			fmt.Fprintf(d.out, "timestamp: %d offset: %d\n", ts, offset)
		}
		prevTs = ts
	}
	return nil
}

// dumpTxnIndex prints aborted transactions: 34-byte entries of version,
// producerId, firstOffset, lastOffset, lastStableOffset (TransactionIndex).
func (d *dumper) dumpTxnIndex(f string) error {
	b, err := readIndex(f)
	if err != nil {
		return err
	}
	be := binary.BigEndian
	for p := 0; p+34 <= len(b); p += 34 {
		e := b[p:]
		fmt.Fprintf(d.out, "version: %d producerId: %d firstOffset: %d lastOffset: %d lastStableOffset: %d\n",
			int16(be.Uint16(e)), int64(be.Uint64(e[2:])), int64(be.Uint64(e[10:])), int64(be.Uint64(e[18:])), int64(be.Uint64(e[26:])))
	}
	return nil
}
