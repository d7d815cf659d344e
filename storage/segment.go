package storage

import (
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	offsetIndexEntrySize = 8  // int32 relative offset, int32 position (OffsetIndex)
	timeIndexEntrySize   = 12 // int64 timestamp, int32 relative offset (TimeIndex)

	logSuffix       = ".log"
	indexSuffix     = ".index"
	timeIndexSuffix = ".timeindex"

	// Suffixes added after the file type (LogFileUtils / UnifiedLog).
	deletedSuffix = ".deleted"
	cleanedSuffix = ".cleaned"
	swapSuffix    = ".swap"

	noTimestamp = -1 // RecordBatch.NO_TIMESTAMP
)

// segmentFileTypes are a segment's files: renamed, deleted and swapped
// together (the .txnindex only exists once an aborted transaction's marker
// is in the segment).
var segmentFileTypes = []string{logSuffix, indexSuffix, timeIndexSuffix, txnIndexSuffix}

type offsetEntry struct {
	rel int32 // last offset of the indexed append, relative to the segment base
	pos int32 // file position of the first batch of that append
}

type timeEntry struct {
	ts  int64
	rel int32
}

// segment is one <base>.log with its two memory-mapped indexes. The Log's
// lock guards all mutable fields; the .log file is read with ReadAt
// without a lock (readers keep the *os.File across renames and unlinks).
type segment struct {
	fs     FileSystem
	dir    string
	base   int64
	suffix string // "" for a live segment, ".cleaned"/".swap" while replacing
	log    *os.File
	oidx   offsetIndex
	tidx   timeIndex
	txn    txnIndex // the aborted transactions whose marker is here (.txnindex)
	// txnCorrupt is why the .txnindex found at open did not decode: the
	// segment is recovered, which rebuilds it (TransactionIndex.sanityCheck).
	txnCorrupt error
	// txnStale: the segment was recovered; the producer-state replay
	// rewrites its .txnindex (LogSegment.recover).
	txnStale bool

	size int64 // bytes of valid batches in .log
	next int64 // offset after the last batch

	maxTs       int64 // largest batch max timestamp so far, -1 if none
	maxTsOffset int64 // last offset of the batch holding maxTs

	bytesSinceIndex int64

	// Roll by time (LogSegment.shouldRoll): the first batch's max
	// timestamp once known, else the creation time; jitter per segment.
	rollTs      int64
	rollTsKnown bool
	createdMs   int64
	jitterMs    int64
}

// segmentName is the 20-digit zero-padded base offset (LogFileUtils.filenamePrefixFromOffset).
func segmentName(dir string, base int64, suffix string) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", base, suffix))
}

// openSegment opens the files of a segment; with create a missing .log is
// created (indexes are always created if missing: a missing index is
// rebuilt). suffix is "" or a temporary suffix such as ".cleaned".
func openSegment(fs FileSystem, dir string, base int64, suffix string, create bool) (*segment, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	s := &segment{fs: fs, dir: dir, base: base, suffix: suffix, next: base, maxTs: noTimestamp, maxTsOffset: base,
		createdMs: time.Now().UnixMilli()}
	var err error
	if s.log, err = fs.OpenFile(segmentName(dir, base, logSuffix+suffix), flag, 0o644); err != nil {
		return nil, fmt.Errorf("open segment log: %w", err)
	}
	fi, err := s.log.Stat()
	if err != nil {
		_ = s.log.Close()
		return nil, fmt.Errorf("stat segment log: %w", err)
	}
	s.size = fi.Size()
	ix, err := openIndex(fs, segmentName(dir, base, indexSuffix+suffix), offsetIndexEntrySize)
	if err != nil {
		_ = s.log.Close()
		return nil, err
	}
	s.oidx = offsetIndex{ix}
	if ix, err = openIndex(fs, segmentName(dir, base, timeIndexSuffix+suffix), timeIndexEntrySize); err != nil {
		_ = s.oidx.close(false)
		_ = s.log.Close()
		return nil, err
	}
	s.tidx = timeIndex{ix}
	if s.txn, s.txnCorrupt, err = openTxnIndex(fs, dir, base, suffix); err != nil {
		_ = s.tidx.close(false)
		_ = s.oidx.close(false)
		_ = s.log.Close()
		return nil, err
	}
	return s, nil
}

// createSegment makes a new empty segment, discarding leftovers of an
// interrupted earlier attempt, with preallocated indexes.
func createSegment(fs FileSystem, dir string, base int64, suffix string, cfg LogConfig) (*segment, error) {
	s, err := openSegment(fs, dir, base, suffix, true)
	if err != nil {
		return nil, err
	}
	if err := fs.Truncate(s.log, 0); err != nil {
		_ = s.close(false)
		return nil, fmt.Errorf("truncate new segment file %s: %w", s.log.Name(), err)
	}
	s.size = 0
	for _, ix := range []*mmapIndex{s.oidx.mmapIndex, s.tidx.mmapIndex} {
		if err := ix.reset(cfg.MaxIndexBytes); err != nil {
			_ = s.close(false)
			return nil, err
		}
	}
	if err := s.txn.reset(fs); err != nil {
		_ = s.close(false)
		return nil, err
	}
	s.txnCorrupt = nil
	s.jitterMs = randomJitter(cfg)
	return s, nil
}

// randomJitter is LogConfig.randomSegmentJitter: uniform in
// [0, min(segment.jitter.ms, segment.ms)).
func randomJitter(cfg LogConfig) int64 {
	if cfg.SegmentJitterMs <= 0 {
		return 0
	}
	n := min(cfg.SegmentJitterMs, cfg.SegmentMs)
	if n <= 0 {
		return 0
	}
	return rand.Int64N(n)
}

func (s *segment) close(trim bool) error {
	errs := []error{s.oidx.close(trim), s.tidx.close(trim), s.txn.close()}
	if err := s.log.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// closeIndexes unmaps and closes the indexes and leaves the .log open for
// readers in flight (the *os.File closes itself when unreachable).
func (s *segment) closeIndexes() {
	_ = s.oidx.close(false)
	_ = s.tidx.close(false)
	_ = s.txn.close()
}

func (s *segment) sync() error {
	if err := s.fs.Sync(s.log); err != nil {
		return fmt.Errorf("fsync %s: %w", s.log.Name(), err)
	}
	if err := s.oidx.sync(); err != nil {
		return err
	}
	if err := s.tidx.sync(); err != nil {
		return err
	}
	if s.txn.f != nil {
		if err := s.fs.Sync(s.txn.f); err != nil {
			return fmt.Errorf("fsync %s: %w", s.txn.f.Name(), err)
		}
		s.txn.dirty = false
	}
	return nil
}

// activate preallocates and maps both indexes for appends.
func (s *segment) activate(cfg LogConfig) error {
	if err := s.oidx.activate(cfg.MaxIndexBytes); err != nil {
		return err
	}
	return s.tidx.activate(cfg.MaxIndexBytes)
}

// trimIndexes cuts both indexes to their entries (on roll and close).
func (s *segment) trimIndexes() error {
	if err := s.oidx.trim(); err != nil {
		return err
	}
	return s.tidx.trim()
}

// changeSuffix renames the segment's files from the current suffix to
// suffix (LogSegment.changeFileSuffixes). Open handles stay valid.
func (s *segment) changeSuffix(suffix string) error {
	for _, typ := range segmentFileTypes {
		from := segmentName(s.dir, s.base, typ+s.suffix)
		to := segmentName(s.dir, s.base, typ+suffix)
		if err := s.fs.Rename(from, to); err != nil && !(errors.Is(err, os.ErrNotExist) && typ != logSuffix) {
			return fmt.Errorf("rename %s to %s: %w", from, to, err)
		}
	}
	s.suffix = suffix
	return nil
}

// sanityCheck validates the loaded indexes against the log, as Kafka's
// OffsetIndex/TimeIndex.sanityCheck (length a multiple of the entry size,
// entries not below the base) and also that entries increase and positions
// lie inside the log.
func (s *segment) sanityCheck() error {
	for _, ix := range []*mmapIndex{s.oidx.mmapIndex, s.tidx.mmapIndex} {
		size, err := ix.fileSize()
		if err != nil {
			return err
		}
		if size%int64(ix.entrySize) != 0 {
			return fmt.Errorf("index file %s has size %d, not a multiple of %d", ix.f.Name(), size, ix.entrySize)
		}
	}
	prev := offsetEntry{rel: -1, pos: -1}
	for i := 0; i < s.oidx.n; i++ {
		e := s.oidx.at(i)
		if e.rel <= prev.rel || e.pos <= prev.pos || int64(e.pos) >= s.size {
			return fmt.Errorf("offset index entry %d (%d, %d) out of order or beyond the log (%d bytes)", i, e.rel, e.pos, s.size)
		}
		prev = e
	}
	prevT := timeEntry{ts: math.MinInt64, rel: -1}
	for i := 0; i < s.tidx.n; i++ {
		e := s.tidx.at(i)
		if e.rel < 0 || e.ts < prevT.ts || e.rel < prevT.rel {
			return fmt.Errorf("time index entry %d (%d, %d) out of order", i, e.ts, e.rel)
		}
		prevT = e
	}
	if e, ok := s.tidx.last(); ok {
		s.maxTs, s.maxTsOffset = e.ts, s.base+int64(e.rel)
	}
	return nil
}

// loadTail finds the segment's next offset and largest timestamp by
// scanning batch headers from the last offset index entry (Kafka's
// readNextOffset and readLargestTimestamp).
func (s *segment) loadTail() error {
	start := int64(0)
	if e, ok := s.oidx.last(); ok {
		start = int64(e.pos)
	}
	s.next = s.base
	sc := newScanner(s.fs, s.log, start, s.size)
	for {
		h, _, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if h.BaseOffset < s.next || h.LastOffset()-s.base > math.MaxInt32 {
			return fmt.Errorf("batch [%d, %d] out of order in segment %d", h.BaseOffset, h.LastOffset(), s.base)
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

// recoverResult says what recover found.
type recoverResult struct {
	validBytes, truncatedBytes int64
	reason                     error
}

// recover validates every batch (size, magic, CRC-32C, offsets in range),
// truncates the log at the first bad or torn batch and rebuilds both
// indexes, which are left preallocated and mapped (LogSegment.recover).
func (s *segment) recover(cfg LogConfig, buf []byte, logger *slog.Logger) (recoverResult, error) {
	fi, err := s.log.Stat()
	if err != nil {
		return recoverResult{}, fmt.Errorf("stat log: %w", err)
	}
	fileSize := fi.Size()
	for _, ix := range []*mmapIndex{s.oidx.mmapIndex, s.tidx.mmapIndex} {
		if err := ix.reset(cfg.MaxIndexBytes); err != nil {
			return recoverResult{}, err
		}
	}
	// LogSegment.recover: txnIndex.reset(); the Log's producer-state
	// replay re-appends the entries (txnStale).
	if err := s.txn.reset(s.fs); err != nil {
		return recoverResult{}, err
	}
	s.txnCorrupt, s.txnStale = nil, true
	s.maxTs, s.maxTsOffset = noTimestamp, s.base
	s.next = s.base
	s.rollTsKnown = false
	var (
		valid, lastIndexed int64
		hdr                = make([]byte, BatchHeaderSize)
		badReason          error
		noIndexSpace       bool
	)
	// A full disk must not stop recovery: the indexes only speed lookups
	// up, so when their pages cannot be allocated (ENOSPC) the rest of the
	// segment is left unindexed and read by scanning. Nothing valid is cut.
	indexFailed := func(err error) error {
		if !errors.Is(err, syscall.ENOSPC) {
			return err
		}
		if !noIndexSpace {
			logger.Warn("no space left to rebuild the index; the rest of the segment is found by scanning",
				"file", s.log.Name(), "position", valid, "err", err)
		}
		noIndexSpace = true
		return nil
	}
	for valid < fileSize {
		if fileSize-valid < BatchHeaderSize {
			badReason = fmt.Errorf("%d trailing bytes are shorter than a batch header", fileSize-valid)
			break
		}
		if _, err := s.fs.ReadAt(s.log, hdr, valid); err != nil {
			return recoverResult{}, fmt.Errorf("read batch header at %d: %w", valid, err)
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
		crc, err := streamCRC(s.fs, s.log, valid+offAttributes, h.Size()-offAttributes, buf)
		if err != nil {
			return recoverResult{}, err
		}
		if crc != h.CRC {
			badReason = fmt.Errorf("%w: CRC-32C is %08x, header says %08x", ErrCorruptMessage, crc, h.CRC)
			break
		}
		if !s.rollTsKnown {
			s.rollTs, s.rollTsKnown = h.MaxTimestamp, true
		}
		if h.MaxTimestamp > s.maxTs {
			s.maxTs, s.maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
		if valid-lastIndexed > int64(cfg.IndexIntervalBytes) && !s.oidx.full() && !noIndexSpace {
			err := s.oidx.append(offsetEntry{rel: int32(h.LastOffset() - s.base), pos: int32(valid)})
			if err == nil {
				err = s.maybeAppendTimeEntry(false)
			}
			if err := indexFailed(err); err != nil {
				return recoverResult{}, err
			}
			lastIndexed = valid
		}
		valid += h.Size()
		s.next = h.NextOffset()
	}
	res := recoverResult{validBytes: valid, truncatedBytes: fileSize - valid, reason: badReason}
	if res.truncatedBytes > 0 {
		logger.Warn("truncating invalid bytes at the end of segment during recovery",
			"file", s.log.Name(), "position", valid, "bytes", res.truncatedBytes, "reason", badReason)
		if err := s.fs.Truncate(s.log, valid); err != nil {
			return recoverResult{}, fmt.Errorf("truncate %s: %w", s.log.Name(), err)
		}
	}
	s.size = valid
	if noIndexSpace {
		// The time index stops short of the segment's largest timestamp,
		// which a later start reads from its last entry (retention by
		// time would then delete the segment early): keep only that
		// largest timestamp, in the first slot, whose page is allocated
		// if any entry was written; else the index stays empty and the
		// file's mtime stands in, as for any segment without one.
		s.tidx.truncateEntries(0)
	}
	// A recovered segment ends with its largest timestamp (LogSegment.recover).
	if err := indexFailed(s.maybeAppendTimeEntry(true)); err != nil {
		return recoverResult{}, err
	}
	s.bytesSinceIndex = 0
	return res, nil
}

func streamCRC(fs FileSystem, f *os.File, pos, n int64, buf []byte) (uint32, error) {
	var crc uint32
	for n > 0 {
		chunk := buf
		if int64(len(chunk)) > n {
			chunk = chunk[:n]
		}
		if _, err := fs.ReadAt(f, chunk, pos); err != nil {
			return 0, fmt.Errorf("read %s at %d: %w", f.Name(), pos, err)
		}
		crc = crc32.Update(crc, castagnoli, chunk)
		pos += int64(len(chunk))
		n -= int64(len(chunk))
	}
	return crc, nil
}

// maybeAppendTimeEntry adds (maxTs, maxTsOffset) to the time index if
// maxTs is larger than the last entry (TimeIndex.maybeAppend); force uses
// the slot reserved for the roll entry.
func (s *segment) maybeAppendTimeEntry(force bool) error {
	last := int64(noTimestamp)
	if e, ok := s.tidx.last(); ok {
		last = e.ts
	}
	if s.maxTs <= last || !s.tidx.writable {
		return nil
	}
	if s.tidx.full() && !(force && !s.tidx.mmapIndex.full()) {
		return nil
	}
	return s.tidx.append(timeEntry{ts: s.maxTs, rel: int32(s.maxTsOffset - s.base)})
}

// append writes already patched batches at the end of the segment and
// maintains the indexes as LogSegment.append does: when more than
// indexInterval bytes were appended since the last entry, index
// (last offset of this append, position of its first byte).
func (s *segment) append(records []byte, lastOffset, maxTs, maxTsOffset int64, indexInterval int) error {
	pos := s.size
	if pos == 0 {
		// The first append's max timestamp drives roll by time
		// (LogSegment.rollingBasedTimestamp).
		s.rollTs, s.rollTsKnown = maxTs, true
	}
	index := s.bytesSinceIndex > int64(indexInterval) && !s.oidx.full()
	if index {
		// Reserve the indexes' space first: an index that cannot take the
		// entry fails the append before a byte of it is written.
		if err := s.oidx.reserve(); err != nil {
			return err
		}
		if err := s.tidx.reserve(); err != nil {
			return err
		}
	}
	if n, err := s.fs.WriteAt(s.log, records, pos); err != nil {
		// Drop a partial write so the file ends on a batch boundary; if
		// even that fails the torn tail lies past s.size, never read, and
		// recovery cuts it.
		if n > 0 {
			_ = s.fs.Truncate(s.log, pos)
		}
		return fmt.Errorf("write %s: %w", s.log.Name(), err)
	}
	prevNext, prevMaxTs, prevMaxTsOffset := s.next, s.maxTs, s.maxTsOffset
	s.size += int64(len(records))
	s.next = lastOffset + 1
	if maxTs > s.maxTs {
		s.maxTs, s.maxTsOffset = maxTs, maxTsOffset
	}
	if index {
		err := s.oidx.append(offsetEntry{rel: int32(lastOffset - s.base), pos: int32(pos)})
		if err == nil {
			err = s.maybeAppendTimeEntry(false)
		}
		if err != nil {
			// Not acknowledged, so not kept: back to the previous end.
			s.oidx.truncateEntries(s.oidx.countBelowRel(prevNext - s.base))
			s.tidx.truncateEntries(s.tidx.countBelowRel(prevNext - s.base))
			s.size, s.next, s.maxTs, s.maxTsOffset = pos, prevNext, prevMaxTs, prevMaxTsOffset
			_ = s.fs.Truncate(s.log, pos)
			return err
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += int64(len(records))
	return nil
}

// finish writes the final time index entry and trims both indexes (on
// roll and close: LogSegment.onBecomeInactiveSegment, close).
func (s *segment) finish() error {
	if err := s.maybeAppendTimeEntry(true); err != nil {
		return err
	}
	return s.trimIndexes()
}

// lookup returns the position to start scanning for offset: the position of
// the largest index entry whose offset is <= offset, else 0 (OffsetIndex.lookup).
func (s *segment) lookup(offset int64) int64 {
	i := s.oidx.floor(offset - s.base)
	if i == 0 {
		return 0
	}
	pos := int64(s.oidx.at(i - 1).pos)
	if pos < 0 || pos > s.size {
		return 0
	}
	return pos
}

// timeLookup returns the offset of the largest time index entry whose
// timestamp is <= ts, else the base offset (TimeIndex.lookup).
func (s *segment) timeLookup(ts int64) int64 {
	i := s.tidx.floor(ts)
	if i == 0 {
		return s.base
	}
	return s.base + int64(s.tidx.at(i-1).rel)
}

// firstTimestampForRoll is the first batch's max timestamp
// (LogSegment.loadFirstBatchTimestamp), -1 if the segment is empty.
// A read failing is an I/O error (LogSegment.loadFirstBatchTimestamp
// reads under the append's maybeHandleIOException).
func (s *segment) firstTimestampForRoll() (int64, error) {
	if !s.rollTsKnown && s.size >= BatchHeaderSize {
		var hdr [BatchHeaderSize]byte
		if _, err := s.fs.ReadAt(s.log, hdr[:], 0); err != nil {
			return -1, fmt.Errorf("read first batch of %s: %w", s.log.Name(), err)
		}
		if h, err := ParseBatchHeader(hdr[:]); err == nil {
			s.rollTs, s.rollTsKnown = h.MaxTimestamp, true
		}
	}
	if !s.rollTsKnown {
		return -1, nil
	}
	return s.rollTs, nil
}

// timeWaitedForRoll is LogSegment.timeWaitedForRoll: by the records'
// timestamps when the first batch has one, else by wall clock since the
// segment was created or opened.
func (s *segment) timeWaitedForRoll(nowMs, maxTsInAppend int64) (int64, error) {
	ts, err := s.firstTimestampForRoll()
	if err != nil {
		return 0, err
	}
	if ts >= 0 {
		return maxTsInAppend - ts, nil
	}
	return nowMs - s.createdMs, nil
}

// largestTimestamp is the segment's age for retention: the largest record
// timestamp, else the file's mtime (LogSegment.largestTimestamp).
func (s *segment) largestTimestamp() int64 {
	if s.maxTs >= 0 {
		return s.maxTs
	}
	fi, err := s.log.Stat()
	if err != nil {
		return time.Now().UnixMilli()
	}
	return fi.ModTime().UnixMilli()
}

// scanner walks batch headers of a file between two positions, reading a
// window at a time so small batches cost few syscalls.
type scanner struct {
	fs       FileSystem
	f        *os.File
	pos, end int64
	buf      []byte
	bufPos   int64
	bufLen   int
}

const scanWindow = 16 << 10

func newScanner(fs FileSystem, f *os.File, pos, end int64) *scanner {
	return &scanner{fs: fs, f: f, pos: pos, end: end, buf: make([]byte, scanWindow), bufPos: -1}
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
		if _, err := sc.fs.ReadAt(sc.f, sc.buf[:n], sc.pos); err != nil {
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

// findBatch locates the first batch whose last offset is >= offset: an
// index lookup, then a header scan within one index interval
// (LogSegment.translateOffset). ok is false if the segment has none.
func (s *segment) findBatch(offset int64, buf []byte) (BatchHeader, int64, bool, error) {
	sc := &scanner{fs: s.fs, f: s.log, pos: s.lookup(offset), end: s.size, buf: buf, bufPos: -1}
	for {
		h, pos, ok, err := sc.next()
		if err != nil || !ok {
			return h, 0, false, err
		}
		if h.LastOffset() >= offset {
			return h, pos, true, nil
		}
	}
}

// truncate cuts the log at pos (a batch boundary) whose first offset is
// next, and drops index entries at or after next (OffsetIndex.truncateTo,
// TimeIndex.truncateTo).
func (s *segment) truncate(pos, next int64) error {
	if err := s.fs.Truncate(s.log, pos); err != nil {
		return fmt.Errorf("truncate %s: %w", s.log.Name(), err)
	}
	s.size, s.next = pos, next
	if pos == 0 {
		s.rollTsKnown = false
	}
	rel := next - s.base
	s.oidx.truncateEntries(s.oidx.countBelowRel(rel))
	s.tidx.truncateEntries(s.tidx.countBelowRel(rel))
	// LogSegment.truncateTo: txnIndex.truncateTo.
	if err := s.txn.truncateTo(s.fs, next); err != nil {
		return err
	}
	s.bytesSinceIndex = 0
	// Largest timestamp: the last time entry, then batches after it
	// (LogSegment.readLargestTimestamp).
	s.maxTs, s.maxTsOffset = noTimestamp, s.base
	if e, ok := s.tidx.last(); ok {
		s.maxTs, s.maxTsOffset = e.ts, s.base+int64(e.rel)
	}
	sc := newScanner(s.fs, s.log, s.lookup(s.maxTsOffset), s.size)
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
	return nil
}
