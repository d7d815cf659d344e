package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
)

const (
	offsetIndexEntrySize = 8  // int32 relative offset, int32 position (OffsetIndex)
	timeIndexEntrySize   = 12 // int64 timestamp, int32 relative offset (TimeIndex)

	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"

	noTimestamp = -1 // RecordBatch.NO_TIMESTAMP
)

type offsetEntry struct {
	rel int32 // last offset of the indexed append, relative to the segment base
	pos int32 // file position of the first batch of that append
}

type timeEntry struct {
	ts  int64
	rel int32
}

// segment is one <base>.log with its two indexes. The Log's lock guards all
// mutable fields; the files themselves are read with ReadAt without a lock.
type segment struct {
	base int64
	log  *os.File
	idx  *os.File
	tidx *os.File

	size int64 // bytes of valid batches in .log
	next int64 // offset after the last batch (valid for the active segment)

	offIdx  []offsetEntry
	timeIdx []timeEntry

	maxTs       int64 // largest batch max timestamp so far, -1 if none
	maxTsOffset int64 // last offset of the batch holding maxTs

	bytesSinceIndex int64
}

// segmentName is the 20-digit zero-padded base offset (LogFileUtils.filenamePrefixFromOffset).
func segmentName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

func openSegmentFiles(dir string, base int64, create bool) (*segment, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	s := &segment{base: base, next: base, maxTs: noTimestamp, maxTsOffset: base}
	var err error
	if s.log, err = os.OpenFile(segmentName(dir, base, logSuffix), flag, 0o644); err != nil {
		return nil, fmt.Errorf("open segment log: %w", err)
	}
	// Indexes are always created if missing; a missing index is rebuilt.
	if s.idx, err = os.OpenFile(segmentName(dir, base, indexSuffix), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open offset index: %w", err)
	}
	if s.tidx, err = os.OpenFile(segmentName(dir, base, timeIndexSuffix), os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open time index: %w", err)
	}
	return s, nil
}

func (s *segment) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{s.log, s.idx, s.tidx} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func (s *segment) sync() error {
	for _, f := range []*os.File{s.log, s.idx, s.tidx} {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
	}
	return nil
}

// loadIndexes reads both index files and checks them against the log size,
// like Kafka's sanityCheck. It returns an error if they need a rebuild.
func (s *segment) loadIndexes() error {
	fi, err := s.log.Stat()
	if err != nil {
		return fmt.Errorf("stat log: %w", err)
	}
	s.size = fi.Size()
	ib, err := readAll(s.idx)
	if err != nil {
		return err
	}
	if len(ib)%offsetIndexEntrySize != 0 {
		return fmt.Errorf("offset index size %d is not a multiple of %d", len(ib), offsetIndexEntrySize)
	}
	s.offIdx = s.offIdx[:0]
	for i := 0; i < len(ib); i += offsetIndexEntrySize {
		e := offsetEntry{rel: int32(binary.BigEndian.Uint32(ib[i:])), pos: int32(binary.BigEndian.Uint32(ib[i+4:]))}
		if e.rel < 0 || e.pos < 0 || int64(e.pos) >= s.size {
			return fmt.Errorf("offset index entry %d (%d, %d) out of range", i/offsetIndexEntrySize, e.rel, e.pos)
		}
		if n := len(s.offIdx); n > 0 && (e.rel <= s.offIdx[n-1].rel || e.pos <= s.offIdx[n-1].pos) {
			return fmt.Errorf("offset index entry %d is not increasing", n)
		}
		s.offIdx = append(s.offIdx, e)
	}
	tb, err := readAll(s.tidx)
	if err != nil {
		return err
	}
	if len(tb)%timeIndexEntrySize != 0 {
		return fmt.Errorf("time index size %d is not a multiple of %d", len(tb), timeIndexEntrySize)
	}
	s.timeIdx = s.timeIdx[:0]
	for i := 0; i < len(tb); i += timeIndexEntrySize {
		e := timeEntry{ts: int64(binary.BigEndian.Uint64(tb[i:])), rel: int32(binary.BigEndian.Uint32(tb[i+8:]))}
		if n := len(s.timeIdx); e.rel < 0 || (n > 0 && (e.ts < s.timeIdx[n-1].ts || e.rel < s.timeIdx[n-1].rel)) {
			return fmt.Errorf("time index entry %d is out of order", n)
		}
		s.timeIdx = append(s.timeIdx, e)
	}
	if n := len(s.timeIdx); n > 0 {
		s.maxTs = s.timeIdx[n-1].ts
		s.maxTsOffset = s.base + int64(s.timeIdx[n-1].rel)
	}
	return nil
}

func readAll(f *os.File) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	b := make([]byte, fi.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return b, nil
}

// loadTail finds the segment's next offset and largest timestamp by
// scanning batch headers from the last offset index entry (Kafka's
// readNextOffset and readLargestTimestamp).
func (s *segment) loadTail() error {
	start := int64(0)
	if n := len(s.offIdx); n > 0 {
		start = int64(s.offIdx[n-1].pos)
	}
	s.next = s.base
	sc := newScanner(s.log, start, s.size)
	for {
		h, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		s.next = h.NextOffset()
		if h.MaxTimestamp > s.maxTs {
			s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
	}
	if s.size > 0 && s.next == s.base {
		return fmt.Errorf("segment %d: no batch found after the last index entry", s.base)
	}
	return nil
}

// recover validates every batch (size, magic, CRC-32C, offsets in range),
// truncates the log at the first bad or torn batch and rebuilds both
// indexes (LogSegment.recover). It returns the number of bytes dropped.
func (s *segment) recover(indexInterval int, logger *slog.Logger) (int64, error) {
	fi, err := s.log.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat log: %w", err)
	}
	fileSize := fi.Size()
	s.offIdx = s.offIdx[:0]
	s.timeIdx = s.timeIdx[:0]
	s.maxTs, s.maxTsOffset = noTimestamp, s.base
	s.next = s.base
	var (
		valid, lastIndexed int64
		hdr                = make([]byte, BatchHeaderSize)
		buf                = make([]byte, 64<<10)
		badReason          error
	)
	for valid < fileSize {
		if fileSize-valid < BatchHeaderSize {
			badReason = fmt.Errorf("%d trailing bytes are shorter than a batch header", fileSize-valid)
			break
		}
		if _, err := s.log.ReadAt(hdr, valid); err != nil {
			return 0, fmt.Errorf("read batch header at %d: %w", valid, err)
		}
		h, err := ParseBatchHeader(hdr)
		if err != nil {
			badReason = err
			break
		}
		if h.Size() > fileSize-valid {
			badReason = fmt.Errorf("batch of %d bytes is torn, %d bytes left", h.Size(), fileSize-valid)
			break
		}
		if h.BaseOffset < s.next || h.LastOffsetDelta < 0 || h.LastOffset()-s.base > math.MaxInt32 {
			badReason = fmt.Errorf("batch offsets [%d, %d] out of range for segment %d after offset %d", h.BaseOffset, h.LastOffset(), s.base, s.next)
			break
		}
		crc, err := streamCRC(s.log, valid+offAttributes, h.Size()-offAttributes, buf)
		if err != nil {
			return 0, err
		}
		if crc != h.CRC {
			badReason = fmt.Errorf("%w: CRC-32C is %08x, header says %08x", ErrCorruptMessage, crc, h.CRC)
			break
		}
		if h.MaxTimestamp > s.maxTs {
			s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
		if valid-lastIndexed > int64(indexInterval) {
			s.offIdx = append(s.offIdx, offsetEntry{rel: int32(h.LastOffset() - s.base), pos: int32(valid)})
			s.maybeAppendTimeEntry()
			lastIndexed = valid
		}
		valid += h.Size()
		s.next = h.NextOffset()
	}
	truncated := fileSize - valid
	if truncated > 0 {
		logger.Warn("truncating invalid bytes at the end of segment during recovery",
			"file", s.log.Name(), "position", valid, "bytes", truncated, "reason", badReason)
		if err := s.log.Truncate(valid); err != nil {
			return 0, fmt.Errorf("truncate %s: %w", s.log.Name(), err)
		}
	}
	s.size = valid
	// A closed segment always ends with its largest timestamp (LogSegment.recover).
	s.maybeAppendTimeEntry()
	s.bytesSinceIndex = 0
	if err := s.rewriteIndexes(); err != nil {
		return 0, err
	}
	return truncated, nil
}

func streamCRC(f *os.File, pos, n int64, buf []byte) (uint32, error) {
	var crc uint32
	for n > 0 {
		chunk := buf
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if _, err := f.ReadAt(chunk, pos); err != nil {
			return 0, fmt.Errorf("read %s at %d: %w", f.Name(), pos, err)
		}
		crc = crc32.Update(crc, castagnoli, chunk)
		pos += int64(len(chunk))
		n -= int64(len(chunk))
	}
	return crc, nil
}

// rewriteIndexes writes the in-memory indexes to their files.
func (s *segment) rewriteIndexes() error {
	ib := make([]byte, 0, len(s.offIdx)*offsetIndexEntrySize)
	for _, e := range s.offIdx {
		ib = binary.BigEndian.AppendUint32(ib, uint32(e.rel))
		ib = binary.BigEndian.AppendUint32(ib, uint32(e.pos))
	}
	tb := make([]byte, 0, len(s.timeIdx)*timeIndexEntrySize)
	for _, e := range s.timeIdx {
		tb = binary.BigEndian.AppendUint64(tb, uint64(e.ts))
		tb = binary.BigEndian.AppendUint32(tb, uint32(e.rel))
	}
	for _, w := range []struct {
		f *os.File
		b []byte
	}{{s.idx, ib}, {s.tidx, tb}} {
		if err := w.f.Truncate(0); err != nil {
			return fmt.Errorf("truncate %s: %w", w.f.Name(), err)
		}
		if _, err := w.f.WriteAt(w.b, 0); err != nil {
			return fmt.Errorf("write %s: %w", w.f.Name(), err)
		}
	}
	return nil
}

// maybeAppendTimeEntry adds (maxTs, maxTsOffset) to the in-memory time index
// if maxTs is larger than the last entry (TimeIndex.maybeAppend). It returns
// whether an entry was added.
func (s *segment) maybeAppendTimeEntry() bool {
	last := int64(noTimestamp)
	if n := len(s.timeIdx); n > 0 {
		last = s.timeIdx[n-1].ts
	}
	if s.maxTs > last {
		s.timeIdx = append(s.timeIdx, timeEntry{ts: s.maxTs, rel: int32(s.maxTsOffset - s.base)})
		return true
	}
	return false
}

// appendTimeEntryFile writes the last in-memory time index entry to disk.
func (s *segment) appendTimeEntryFile() error {
	n := len(s.timeIdx)
	e := s.timeIdx[n-1]
	var b [timeIndexEntrySize]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.ts))
	binary.BigEndian.PutUint32(b[8:], uint32(e.rel))
	if _, err := s.tidx.WriteAt(b[:], int64(n-1)*timeIndexEntrySize); err != nil {
		return fmt.Errorf("write time index %s: %w", s.tidx.Name(), err)
	}
	return nil
}

// append writes already patched batches at the end of the segment and
// maintains the indexes as LogSegment.append does: when more than
// indexInterval bytes were appended since the last entry, index
// (last offset of this append, position of its first byte).
func (s *segment) append(records []byte, lastOffset, maxTs, maxTsOffset int64, indexInterval int) error {
	pos := s.size
	if n, err := s.log.WriteAt(records, pos); err != nil {
		// Drop a partial write so the file ends on a batch boundary.
		if n > 0 {
			_ = s.log.Truncate(pos)
		}
		return fmt.Errorf("write %s: %w", s.log.Name(), err)
	}
	s.size += int64(len(records))
	s.next = lastOffset + 1
	if maxTs > s.maxTs {
		s.maxTs, s.maxTsOffset = maxTs, maxTsOffset
	}
	if s.bytesSinceIndex > int64(indexInterval) {
		e := offsetEntry{rel: int32(lastOffset - s.base), pos: int32(pos)}
		var b [offsetIndexEntrySize]byte
		binary.BigEndian.PutUint32(b[:], uint32(e.rel))
		binary.BigEndian.PutUint32(b[4:], uint32(e.pos))
		if _, err := s.idx.WriteAt(b[:], int64(len(s.offIdx))*offsetIndexEntrySize); err != nil {
			return fmt.Errorf("write offset index %s: %w", s.idx.Name(), err)
		}
		s.offIdx = append(s.offIdx, e)
		if s.maybeAppendTimeEntry() {
			if err := s.appendTimeEntryFile(); err != nil {
				return err
			}
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += int64(len(records))
	return nil
}

// finish appends the final time index entry (on roll and close,
// LogSegment.onBecomeInactiveSegment / close).
func (s *segment) finish() error {
	if s.maybeAppendTimeEntry() {
		return s.appendTimeEntryFile()
	}
	return nil
}

// lookup returns the position to start scanning for offset: the position of
// the largest index entry whose offset is <= offset, else 0 (OffsetIndex.lookup).
func (s *segment) lookup(offset int64) int64 {
	rel := offset - s.base
	i := sort.Search(len(s.offIdx), func(i int) bool { return int64(s.offIdx[i].rel) > rel })
	if i == 0 {
		return 0
	}
	return int64(s.offIdx[i-1].pos)
}

// timeLookup returns the offset of the largest time index entry whose
// timestamp is <= ts, else the base offset (TimeIndex.lookup).
func (s *segment) timeLookup(ts int64) int64 {
	i := sort.Search(len(s.timeIdx), func(i int) bool { return s.timeIdx[i].ts > ts })
	if i == 0 {
		return s.base
	}
	return s.base + int64(s.timeIdx[i-1].rel)
}

func (s *segment) offsetIndexFull(maxIndexBytes int) bool {
	return len(s.offIdx) >= maxIndexBytes/offsetIndexEntrySize
}

// timeIndexFull reserves the last slot for the roll entry (TimeIndex.isFull).
func (s *segment) timeIndexFull(maxIndexBytes int) bool {
	return len(s.timeIdx) >= maxIndexBytes/timeIndexEntrySize-1
}

// scanner walks batch headers of a file between two positions, reading a
// window at a time so small batches cost few syscalls.
type scanner struct {
	f        *os.File
	pos, end int64
	buf      []byte
	bufPos   int64
	bufLen   int
}

const scanWindow = 16 << 10

func newScanner(f *os.File, pos, end int64) *scanner {
	return &scanner{f: f, pos: pos, end: end, buf: make([]byte, scanWindow), bufPos: -1}
}

// next returns the header and position of the next batch; ok is false at
// the end. A batch that does not fit before end is ErrCorruptMessage.
func (sc *scanner) next() (BatchHeader, int64, bool, error) {
	if sc.pos >= sc.end {
		return BatchHeader{}, 0, false, nil
	}
	if sc.end-sc.pos < BatchHeaderSize {
		return BatchHeader{}, 0, false, fmt.Errorf("%w: %d bytes at %d in %s are shorter than a batch header", ErrCorruptMessage, sc.end-sc.pos, sc.pos, sc.f.Name())
	}
	if sc.bufPos < 0 || sc.pos < sc.bufPos || sc.pos+BatchHeaderSize > sc.bufPos+int64(sc.bufLen) {
		n := int64(len(sc.buf))
		if sc.end-sc.pos < n {
			n = sc.end - sc.pos
		}
		if _, err := sc.f.ReadAt(sc.buf[:n], sc.pos); err != nil {
			return BatchHeader{}, 0, false, fmt.Errorf("read %s at %d: %w", sc.f.Name(), sc.pos, err)
		}
		sc.bufPos, sc.bufLen = sc.pos, int(n)
	}
	off := sc.pos - sc.bufPos
	h, err := ParseBatchHeader(sc.buf[off : off+BatchHeaderSize])
	if err != nil {
		return h, 0, false, fmt.Errorf("batch at %d in %s: %w", sc.pos, sc.f.Name(), err)
	}
	if h.Size() > sc.end-sc.pos {
		return h, 0, false, fmt.Errorf("%w: batch at %d in %s needs %d bytes, %d left", ErrCorruptMessage, sc.pos, sc.f.Name(), h.Size(), sc.end-sc.pos)
	}
	pos := sc.pos
	sc.pos += h.Size()
	return h, pos, true, nil
}

// truncate cuts the log at pos (a batch boundary) whose first offset is
// next, and drops index entries at or after next (OffsetIndex.truncateTo,
// TimeIndex.truncateTo).
func (s *segment) truncate(pos, next int64) error {
	if err := s.log.Truncate(pos); err != nil {
		return fmt.Errorf("truncate %s: %w", s.log.Name(), err)
	}
	s.size, s.next = pos, next
	rel := next - s.base
	i := sort.Search(len(s.offIdx), func(i int) bool { return int64(s.offIdx[i].rel) >= rel })
	s.offIdx = s.offIdx[:i]
	j := sort.Search(len(s.timeIdx), func(j int) bool { return int64(s.timeIdx[j].rel) >= rel })
	s.timeIdx = s.timeIdx[:j]
	s.bytesSinceIndex = 0
	// Largest timestamp: the last time entry, then batches after it
	// (LogSegment.readLargestTimestamp).
	s.maxTs, s.maxTsOffset = noTimestamp, s.base
	if n := len(s.timeIdx); n > 0 {
		s.maxTs, s.maxTsOffset = s.timeIdx[n-1].ts, s.base+int64(s.timeIdx[n-1].rel)
	}
	sc := newScanner(s.log, s.lookup(s.maxTsOffset), s.size)
	for {
		h, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if h.MaxTimestamp > s.maxTs {
			s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
	}
	return s.rewriteIndexes()
}
