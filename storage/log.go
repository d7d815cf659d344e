package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// FileSlice is a byte range of a segment file holding whole batches; the
// network layer sends it with sendfile. Size 0 means no data.
type FileSlice struct {
	File *os.File
	Pos  int64
	Size int64
}

// AppendInfo describes a completed append.
type AppendInfo struct {
	FirstOffset   int64
	LastOffset    int64
	MaxTimestamp  int64 // largest batch max timestamp, -1 if none
	LogAppendTime int64 // always -1: timestamps are not rewritten
	Batches       []BatchHeader
}

// Log is one partition replica's log, the directory <topic>-<partition>.
// Safe for concurrent use (one appender, many readers).
type Log struct {
	mu            sync.RWMutex
	dir           string
	cfg           Config
	logger        *slog.Logger
	segs          []*segment // sorted by base offset; the last is active
	logStart      int64
	recoveryPoint int64
	closed        bool
	scanBufs      sync.Pool // *[]byte windows for Read's scanner
}

type openOptions struct {
	recover       bool
	recoveryPoint int64 // -1 unknown: recover only the active segment
	logStart      int64 // -1 unknown
}

// SetConfig changes the log's settings; they apply from the next append,
// roll or retention check.
func (l *Log) SetConfig(c LogConfig) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = c.normalized()
}

// Config returns the log's settings.
func (l *Log) Config() LogConfig {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// OpenLog opens or creates the log in dir. With recover set (no clean
// shutdown), the active segment is validated batch by batch, truncated at
// the first bad batch and its indexes rebuilt.
func OpenLog(dir string, cfg Config, recover bool, logger *slog.Logger) (*Log, error) {
	return openLog(dir, cfg, openOptions{recover: recover, recoveryPoint: -1, logStart: -1}, logger)
}

func openLog(dir string, cfg Config, opts openOptions, logger *slog.Logger) (*Log, error) {
	if logger == nil {
		logger = slog.Default()
	}
	l := &Log{dir: dir, cfg: cfg.normalized(), logger: logger.With("log", filepath.Base(dir))}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir %s: %w", dir, err)
	}
	bases, err := segmentBases(dir)
	if err != nil {
		return nil, err
	}
	if err := l.loadSegments(bases, opts); err != nil {
		for _, s := range l.segs {
			_ = s.closeFiles()
		}
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	l.logStart = l.segs[0].base
	if opts.logStart > l.logStart {
		l.logStart = min(opts.logStart, l.LogEndOffset())
	}
	l.recoveryPoint = l.LogEndOffset()
	return l, nil
}

// segmentBases lists the base offsets of the .log files in dir.
func segmentBases(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list log dir %s: %w", dir, err)
	}
	var bases []int64
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, logSuffix) {
			continue
		}
		prefix := strings.TrimSuffix(name, logSuffix)
		if len(prefix) != 20 {
			continue
		}
		b, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil || b < 0 {
			continue
		}
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

func (l *Log) loadSegments(bases []int64, opts openOptions) error {
	if len(bases) == 0 {
		s, err := openSegmentFiles(l.dir, max(opts.logStart, 0), true)
		if err != nil {
			return err
		}
		l.segs = []*segment{s}
		return nil
	}
	// Segments from the one holding the recovery point on are recovered
	// after an unclean shutdown; with no recovery point, only the last.
	recoverFrom := len(bases) - 1
	if opts.recover && opts.recoveryPoint >= 0 {
		i := sort.Search(len(bases), func(i int) bool { return bases[i] > opts.recoveryPoint })
		recoverFrom = max(i-1, 0)
	}
	for i, base := range bases {
		s, err := openSegmentFiles(l.dir, base, false)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
		last := i == len(bases)-1
		mustRecover := opts.recover && i >= recoverFrom
		if !mustRecover {
			if err := s.loadIndexes(); err != nil {
				l.logger.Warn("rebuilding index of segment", "base", base, "err", err)
				mustRecover = true
			} else if last {
				if err := s.loadTail(); err != nil {
					l.logger.Warn("recovering segment with unreadable tail", "base", base, "err", err)
					mustRecover = true
				}
			}
		}
		if !mustRecover {
			continue
		}
		truncated, err := s.recover(l.cfg.IndexIntervalBytes, l.logger)
		if err != nil {
			return fmt.Errorf("recover segment %d: %w", base, err)
		}
		if err := s.sync(); err != nil {
			return err
		}
		if truncated > 0 && !last {
			// Data after a corrupt batch is not trusted (LogLoader.recoverLog).
			for _, b := range bases[i+1:] {
				l.logger.Warn("deleting segment after corruption in an earlier segment", "base", b)
				if err := removeSegmentFiles(l.dir, b); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return nil
}

func removeSegmentFiles(dir string, base int64) error {
	for _, suf := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
		if err := os.Remove(segmentName(dir, base, suf)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove segment file: %w", err)
		}
	}
	return nil
}

// Dir is the partition directory.
func (l *Log) Dir() string { return l.dir }

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// LogEndOffset is the offset the next appended record gets (LEO).
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.active().next
}

// LogStartOffset is the first offset that may be read.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logStart
}

// RecoveryPoint is the offset up to which the log is known flushed.
func (l *Log) RecoveryPoint() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recoveryPoint
}

// Size is the total number of bytes in all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n
}

// NumSegments is the number of segments.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segs)
}

// Append assigns offsets from the LEO by patching each batch's baseOffset in
// place (records is modified), sets partitionLeaderEpoch, writes to the
// active segment (rolling as needed) and maintains the indexes. records must
// already be validated (ValidateBatches or SplitBatches); the CRC stays
// valid because both patched fields precede the CRC'd range.
func (l *Log) Append(records []byte, leaderEpoch int32) (AppendInfo, error) {
	return l.append(records, true, leaderEpoch)
}

// AppendAsFollower appends batches fetched from the leader as they are:
// offsets and leader epochs are kept. The first batch must start at or
// after the LEO and offsets must increase (Kafka's UnexpectedAppendOffset
// and monotonic checks). records must have passed SplitBatches.
func (l *Log) AppendAsFollower(records []byte) (AppendInfo, error) {
	return l.append(records, false, 0)
}

func (l *Log) append(records []byte, assign bool, leaderEpoch int32) (AppendInfo, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return AppendInfo{}, ErrClosed
	}
	if len(records) == 0 {
		return AppendInfo{}, fmt.Errorf("%w: empty append", ErrInvalidRecord)
	}
	leo := l.active().next
	info := AppendInfo{FirstOffset: leo, MaxTimestamp: noTimestamp, LogAppendTime: -1}
	maxTsOffset := leo
	next := leo
	for pos := 0; pos < len(records); {
		h, err := ParseBatchHeader(records[pos:])
		if err != nil {
			return AppendInfo{}, fmt.Errorf("append at position %d: %w", pos, err)
		}
		if h.Size() > int64(len(records)-pos) || h.LastOffsetDelta < 0 {
			return AppendInfo{}, fmt.Errorf("%w: batch at position %d is malformed", ErrCorruptMessage, pos)
		}
		if assign {
			patchBatch(records[pos:], next, leaderEpoch)
			h.BaseOffset, h.PartitionLeaderEpoch = next, leaderEpoch
		} else if h.BaseOffset < next {
			return AppendInfo{}, fmt.Errorf("%w: follower batch at offset %d is below the expected offset %d", ErrInvalidRecord, h.BaseOffset, next)
		}
		if pos == 0 {
			info.FirstOffset = h.BaseOffset
		}
		next = h.NextOffset()
		if h.MaxTimestamp > info.MaxTimestamp {
			info.MaxTimestamp, maxTsOffset = h.MaxTimestamp, h.LastOffset()
		}
		info.Batches = append(info.Batches, h)
		pos += int(h.Size())
	}
	info.LastOffset = next - 1
	if int64(len(records)) > math.MaxInt32 {
		return AppendInfo{}, fmt.Errorf("%w: append of %d bytes does not fit a segment", ErrInvalidRecord, len(records))
	}
	if err := l.maybeRoll(int64(len(records)), info.FirstOffset, info.LastOffset); err != nil {
		return AppendInfo{}, err
	}
	seg := l.active()
	if info.FirstOffset < seg.base || info.LastOffset-seg.base > math.MaxInt32 || seg.size+int64(len(records)) > math.MaxInt32 {
		return AppendInfo{}, fmt.Errorf("append [%d, %d] does not fit segment %d", info.FirstOffset, info.LastOffset, seg.base)
	}
	if err := seg.append(records, info.LastOffset, info.MaxTimestamp, maxTsOffset, l.cfg.IndexIntervalBytes); err != nil {
		return AppendInfo{}, err
	}
	return info, nil
}

// maybeRoll starts a new segment at the LEO when the append would push the
// active one past segment.bytes, an index is full, or the last offset does
// not fit a relative int32 (LogSegment.shouldRoll). An empty segment is
// never rolled.
func (l *Log) maybeRoll(size, firstOffset, lastOffset int64) error {
	s := l.active()
	if s.size == 0 {
		if firstOffset > s.base {
			// A follower append after a gap: move the empty segment there.
			if err := l.dropSegment(s); err != nil {
				return err
			}
			l.segs = l.segs[:len(l.segs)-1]
			ns, err := openSegmentFiles(l.dir, firstOffset, true)
			if err != nil {
				return err
			}
			l.segs = append(l.segs, ns)
			if len(l.segs) == 1 {
				l.logStart = max(l.logStart, firstOffset)
			}
		}
		return nil
	}
	if s.size+size <= l.cfg.SegmentBytes && !s.offsetIndexFull(l.cfg.MaxIndexBytes) &&
		!s.timeIndexFull(l.cfg.MaxIndexBytes) && lastOffset-s.base <= math.MaxInt32 {
		return nil
	}
	return l.roll(firstOffset)
}

// roll starts a new active segment at base (the first offset of the
// append that needs it).
func (l *Log) roll(base int64) error {
	old := l.active()
	if err := old.finish(); err != nil {
		return err
	}
	if err := old.sync(); err != nil {
		return err
	}
	s, err := openSegmentFiles(l.dir, base, true)
	if err != nil {
		return err
	}
	// Leftovers of an interrupted earlier roll are discarded.
	for _, f := range []*os.File{s.log, s.idx, s.tidx} {
		if err := f.Truncate(0); err != nil {
			_ = s.closeFiles()
			return fmt.Errorf("truncate new segment file %s: %w", f.Name(), err)
		}
	}
	l.segs = append(l.segs, s)
	l.logger.Debug("rolled segment", "base", s.base)
	return nil
}

// segmentFor returns the index of the segment that may hold offset.
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > offset })
	return max(i-1, 0)
}

// Read returns whole batches starting with the batch that contains offset,
// up to maxBytes, never including a batch whose last offset >= maxOffset
// (the high watermark, exclusive). With minOneMessage a first batch larger
// than maxBytes is returned whole (KIP-74). Reading at maxOffset or the LEO
// gives an empty slice; offset < LogStartOffset or > LEO is
// ErrOffsetOutOfRange. Data comes from one segment, as in Kafka.
func (l *Log) Read(offset int64, maxBytes int64, maxOffset int64, minOneMessage bool) (FileSlice, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return FileSlice{}, ErrClosed
	}
	act := l.active()
	leo := act.next
	if offset < l.logStart || offset > leo {
		return FileSlice{}, fmt.Errorf("%w: offset %d not in [%d, %d]", ErrOffsetOutOfRange, offset, l.logStart, leo)
	}
	empty := FileSlice{File: act.log, Pos: act.size}
	if offset >= leo || offset >= maxOffset {
		return empty, nil
	}
	bufp, _ := l.scanBufs.Get().(*[]byte)
	if bufp == nil {
		b := make([]byte, scanWindow)
		bufp = &b
	}
	defer l.scanBufs.Put(bufp)
	for _, s := range l.segs[l.segmentFor(offset):] {
		sc := &scanner{f: s.log, pos: s.lookup(offset), end: s.size, buf: *bufp, bufPos: -1}
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				return FileSlice{}, fmt.Errorf("read offset %d: %w", offset, err)
			}
			if !ok {
				break
			}
			if h.LastOffset() < offset {
				continue
			}
			if h.LastOffset() >= maxOffset || (h.Size() > maxBytes && !minOneMessage) {
				return FileSlice{File: s.log, Pos: pos}, nil
			}
			total := h.Size()
			for {
				h, _, ok, err := sc.next()
				if err != nil {
					return FileSlice{}, fmt.Errorf("read offset %d: %w", offset, err)
				}
				if !ok || h.LastOffset() >= maxOffset || total+h.Size() > maxBytes {
					break
				}
				total += h.Size()
			}
			return FileSlice{File: s.log, Pos: pos, Size: total}, nil
		}
	}
	return empty, nil
}

// OffsetForTimestamp finds the first record with timestamp >= ts at or after
// the log start offset (ListOffsets, UnifiedLog.fetchOffsetByTimestamp): the
// first segment whose largest timestamp >= ts is searched from its time
// index entry. For uncompressed batches the exact record is returned; for a
// compressed batch, its base offset and max timestamp (records are not
// decompressed). found is false if no record qualifies.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, found bool, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return 0, 0, false, ErrClosed
	}
	for _, s := range l.segs[l.segmentFor(l.logStart):] {
		if s.maxTs < ts {
			continue
		}
		start := max(s.timeLookup(ts), l.logStart)
		sc := newScanner(s.log, s.lookup(start), s.size)
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				return 0, 0, false, fmt.Errorf("search timestamp %d: %w", ts, err)
			}
			if !ok {
				break
			}
			if h.MaxTimestamp < ts || h.LastOffset() < l.logStart {
				continue
			}
			off, rts, ok, err := searchBatch(s.log, pos, h, ts, l.logStart)
			if err != nil {
				return 0, 0, false, err
			}
			if ok {
				return off, rts, true, nil
			}
		}
	}
	return 0, 0, false, nil
}

// searchBatch finds the first record of a batch with timestamp >= ts and
// offset >= minOffset.
func searchBatch(f *os.File, pos int64, h BatchHeader, ts, minOffset int64) (int64, int64, bool, error) {
	if h.Compression() != 0 || h.LogAppendTime() {
		// LogAppendTime: every record carries the batch max timestamp.
		return max(h.BaseOffset, minOffset), h.MaxTimestamp, true, nil
	}
	body := make([]byte, h.Size()-BatchHeaderSize)
	if _, err := f.ReadAt(body, pos+BatchHeaderSize); err != nil {
		return 0, 0, false, fmt.Errorf("read batch at %d in %s: %w", pos, f.Name(), err)
	}
	var (
		off, rts int64
		found    bool
	)
	err := walkRecords(body, func(r recordInfo) bool {
		o, t := h.BaseOffset+int64(r.OffsetDelta), h.BaseTimestamp+r.TimestampDelta
		if t >= ts && o >= minOffset {
			off, rts, found = o, t, true
			return false
		}
		return true
	})
	if err != nil {
		return 0, 0, false, fmt.Errorf("batch at %d in %s: %w", pos, f.Name(), err)
	}
	return off, rts, found, nil
}

// Batches calls fn for every batch header from the batch containing from to
// the end of the log, reading only headers. Appends made during the walk
// are not visited. fn's error stops the walk and is returned.
func (l *Log) Batches(from int64, fn func(h BatchHeader) error) error {
	type span struct {
		f          *os.File
		start, end int64
	}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	i := l.segmentFor(from)
	spans := make([]span, 0, len(l.segs)-i)
	for j, s := range l.segs[i:] {
		start := int64(0)
		if j == 0 {
			start = s.lookup(from)
		}
		spans = append(spans, span{s.log, start, s.size})
	}
	l.mu.RUnlock()
	for _, sp := range spans {
		sc := newScanner(sp.f, sp.start, sp.end)
		for {
			h, _, ok, err := sc.next()
			if err != nil {
				return fmt.Errorf("walk batches: %w", err)
			}
			if !ok {
				break
			}
			if h.LastOffset() < from {
				continue
			}
			if err := fn(h); err != nil {
				return err
			}
		}
	}
	return nil
}

// Flush fsyncs the active segment and its indexes and moves the recovery
// point to the LEO (rolled segments were synced when rolled).
func (l *Log) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if err := l.active().sync(); err != nil {
		return err
	}
	l.recoveryPoint = l.active().next
	return nil
}

// Close writes the final time index entry, fsyncs and closes every file.
// Slices returned by Read become unusable.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeLocked()
}

func (l *Log) closeLocked() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	act := l.active()
	if err := act.finish(); err != nil {
		errs = append(errs, err)
	}
	if err := act.sync(); err != nil {
		errs = append(errs, err)
	} else {
		l.recoveryPoint = act.next
	}
	for _, s := range l.segs {
		if err := s.closeFiles(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close log %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cerr := l.closeLocked()
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	return cerr
}

// TruncateTo removes every batch whose last offset is >= offset (a follower
// truncating to its high watermark or to a leader epoch end offset,
// UnifiedLog.truncateTo). Segments starting above offset are deleted; the
// segment holding it is cut at the start of the batch containing offset.
// Truncating at or above the LEO does nothing. Slices returned earlier by
// Read for the removed range must not be sent any more.
func (l *Log) TruncateTo(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if offset >= l.active().next {
		return nil
	}
	if offset <= l.segs[0].base {
		return l.truncateFullyLocked(offset)
	}
	i := l.segmentFor(offset)
	for _, s := range l.segs[i+1:] {
		if err := l.dropSegment(s); err != nil {
			return err
		}
	}
	l.segs = l.segs[:i+1]
	s := l.segs[i]
	// Find the first batch whose last offset is >= offset.
	cut, next := s.size, s.base
	sc := newScanner(s.log, s.lookup(offset), s.size)
	for {
		h, pos, ok, err := sc.next()
		if err != nil {
			return fmt.Errorf("truncate to %d: %w", offset, err)
		}
		if !ok {
			break
		}
		if h.LastOffset() >= offset {
			cut, next = pos, h.BaseOffset
			break
		}
		next = h.NextOffset()
	}
	if err := s.truncate(cut, next); err != nil {
		return err
	}
	l.recoveryPoint = min(l.recoveryPoint, s.next)
	l.logger.Info("truncated log", "offset", offset, "leo", s.next)
	return nil
}

// TruncateFullyAndStartAt deletes all data and restarts the log empty at
// offset, which also becomes the log start offset (a follower whose LEO is
// below the leader's log start, UnifiedLog.truncateFullyAndStartAt).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return l.truncateFullyLocked(offset)
}

func (l *Log) truncateFullyLocked(offset int64) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot start the log at %d", ErrOffsetOutOfRange, offset)
	}
	for _, s := range l.segs {
		if err := l.dropSegment(s); err != nil {
			return err
		}
	}
	l.segs = nil
	s, err := openSegmentFiles(l.dir, offset, true)
	if err != nil {
		return err
	}
	for _, f := range []*os.File{s.log, s.idx, s.tidx} {
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("truncate %s: %w", f.Name(), err)
		}
	}
	l.segs = []*segment{s}
	l.logStart = offset
	l.recoveryPoint = offset
	l.logger.Info("truncated log fully", "start", offset)
	return nil
}

// dropSegment removes a segment's files. The .log file handle is left to
// the garbage collector (os.File closes itself when unreachable) so a
// FileSlice being sent still reads the unlinked file.
func (l *Log) dropSegment(s *segment) error {
	_ = s.idx.Close()
	_ = s.tidx.Close()
	return removeSegmentFiles(l.dir, s.base)
}
