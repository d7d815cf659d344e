package storage

// Log is one partition's directory of segments (Kafka's UnifiedLog/LocalLog).
//
// Locking: l.mu guards the segment list and every segment's mutable state,
// including the memory-mapped indexes (appends, rolls, truncation and
// retention take it exclusively; Read and lookups share it). Segment .log
// files are read with ReadAt; a FileSlice keeps its *os.File, which stays
// readable after the segment is renamed to .deleted or unlinked.
//
// Replacing segments (for the log cleaner), as Kafka's LocalLog.replaceSegments:
//
//	seg, err := l.newCleanedSegment(base)    // <base>.log.cleaned + indexes, preallocated
//	err = seg.appendBatches(records, l.Config().IndexIntervalBytes) // any number of times, offsets increasing
//	err = l.replaceSegments(seg, old)         // old: consecutive non-active segments, oldest first
//	// on failure before replaceSegments: l.discardSegment(seg)
//
// replaceSegments takes l.mu, drops from old the segments retention already
// removed, finishes and fsyncs seg, renames it .cleaned -> .swap, puts it in
// the list in place of old, renames every old segment to .deleted (removed
// after file.delete.delay.ms), then renames seg .swap -> final name. A crash
// at any point is completed or undone by cleanupTempFiles at the next open
// (LogLoader: .cleaned removed, .swap completed).

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// FileSlice is a byte range of a segment file starting at a batch
// boundary; the network layer sends it with sendfile. The last batch may be
// partial (Kafka sends such slices and clients drop the partial batch).
// Size 0 means no data.
type FileSlice struct {
	File *os.File
	Pos  int64
	Size int64
}

// AppendInfo describes a completed append.
type AppendInfo struct {
	FirstOffset   int64
	LastOffset    int64
	MaxTimestamp  int64         // largest batch max timestamp, -1 if none
	LogAppendTime int64         // the broker time stamped on the batches (message.timestamp.type=LogAppendTime), else -1
	Batches       []BatchHeader // the appended batches; none for a duplicate AppendAsLeader answered with its original offsets
}

// Log is one partition replica's log, the directory <topic>-<partition>.
// Safe for concurrent use (one appender, many readers).
type Log struct {
	mu            sync.RWMutex
	fs            FileSystem
	dir           string
	cfg           Config
	logger        *slog.Logger
	segs          []*segment // sorted by base offset; the last is active
	logStart      int64
	recoveryPoint int64
	highWatermark int64 // in [logStart, LEO]; the log start until SetHighWatermark
	lastFlushMs   int64
	closed        bool
	scanBufs      sync.Pool // *[]byte windows for Read's scanner
	epochs        *LeaderEpochCache
	lastEpoch     int32 // epoch of the last appended batch, -1 after truncation or open
	recovery      RecoveryStats

	flushMu sync.Mutex // serializes flushes
	// dirSyncer fsyncs the partition directory (fsyncDir; tests observe or
	// fail it): a flush covering a segment created since the last flush
	// syncs the directory so the new files' entries are durable.
	dirSyncer func(dir string) error
	flushWG   sync.WaitGroup // asynchronous flushes after a roll

	delMu   sync.Mutex
	pending map[*segment]*time.Timer // .deleted segments waiting for removal

	// Log cleaner hooks (cleaner.go), guarded by mu: truncations abort a
	// clean in progress and move the cleaner checkpoint back
	// (LogCleanerManager.maybeTruncateCheckpoint).
	truncGen    uint64
	truncated   bool
	truncatedTo int64

	// afterTruncate, set by the Manager before the log is shared, runs
	// after a truncation (afterTruncation).
	afterTruncate func()
	// dirFailed, set by the Manager before the log is shared, reports an
	// I/O error of this log as a failure of its log dir (ioFailed).
	dirFailed func(error)

	// producers is the producers' and transactions' state (UnifiedLog's
	// producerStateManager), guarded by mu: built when the log opens,
	// kept by every append, leader's and follower's, and rebuilt by
	// truncations (log_txn.go).
	producers *producerStateManager
	// guardSeq numbers the KIP-890 verification guards handed out (mu).
	guardSeq uint64
}

type openOptions struct {
	recover       bool
	recoveryPoint int64      // -1 unknown: recovery starts at 0
	logStart      int64      // -1 unknown
	fs            FileSystem // nil: the operating system's
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
// shutdown), every segment is validated batch by batch, truncated at the
// first bad batch and its indexes rebuilt.
func OpenLog(dir string, cfg Config, recover bool, logger *slog.Logger) (*Log, error) {
	return openLog(dir, cfg, openOptions{recover: recover, recoveryPoint: -1, logStart: -1}, logger)
}

func openLog(dir string, cfg Config, opts openOptions, logger *slog.Logger) (*Log, error) {
	if logger == nil {
		logger = slog.Default()
	}
	start := time.Now()
	fs := orOS(opts.fs)
	l := &Log{fs: fs, dir: dir, cfg: cfg.normalized(), logger: logger.With("log", filepath.Base(dir)),
		lastEpoch: -1, dirSyncer: fs.SyncDir, lastFlushMs: start.UnixMilli(), pending: map[*segment]*time.Timer{}}
	if err := fs.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create log dir %s: %w", dir, err)
	}
	fail := func(err error) (*Log, error) {
		for _, s := range l.segs {
			_ = s.close(false)
		}
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	if err := cleanupTempFiles(dir, l); err != nil {
		return fail(err)
	}
	bases, err := segmentBases(l.fs, dir)
	if err != nil {
		return fail(err)
	}
	if err := l.loadSegments(bases, opts); err != nil {
		return fail(err)
	}
	if err := l.active().activate(l.cfg); err != nil {
		return fail(err)
	}
	leo := l.active().next
	l.logStart = l.segs[0].base
	if opts.logStart > l.logStart {
		l.logStart = min(opts.logStart, leo)
	}
	// UnifiedLog: the high watermark starts at the log start offset until
	// the partition sets it, so retention and the cleaner act on nothing
	// above it meanwhile.
	l.highWatermark = l.logStart
	l.recoveryPoint = leo
	// LogLoader.load: the producer state up to the LEO; the recovered
	// segments' transaction indexes are rebuilt on the way.
	if err := l.rebuildProducerStateLocked(leo); err != nil {
		return fail(err)
	}
	if l.epochs, err = openLeaderEpochCache(fs, dir); err != nil {
		// LeaderEpochFileCache reads its checkpoint through
		// CheckpointFileWithFailureHandler: a file that cannot be read or
		// parsed is a KafkaStorageException and the log dir goes offline.
		return fail(fmt.Errorf("%w: %w", ErrStorage, err))
	}
	if err := l.epochs.TruncateFromEnd(leo); err != nil {
		return fail(err)
	}
	if err := l.epochs.TruncateFromStart(l.logStart); err != nil {
		return fail(err)
	}
	l.recovery.Duration = time.Since(start)
	if l.recovery.SegmentsRecovered > 0 {
		l.logger.Info("recovered log", "segments", l.recovery.SegmentsRecovered, "bytes", l.recovery.BytesRecovered,
			"truncated_bytes", l.recovery.TruncatedBytes, "deleted_segments", l.recovery.DeletedSegments,
			"duration", l.recovery.Duration)
	}
	return l, nil
}

// Recovery reports what opening the log found.
func (l *Log) Recovery() RecoveryStats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recovery
}

// LeaderEpochs is the partition's leader epoch cache, kept in step with
// appends (each batch's partitionLeaderEpoch), truncation and the log
// start offset.
func (l *Log) LeaderEpochs() *LeaderEpochCache { return l.epochs }

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

// SetHighWatermark tells the log its high watermark, kept within [log
// start, LEO] (UnifiedLog.updateHighWatermark); retention never deletes a
// segment holding offsets at or above it (UnifiedLog.deletableSegments)
// and the cleaner never cleans past it. Until it is called it is the log
// start offset.
func (l *Log) SetHighWatermark(hw int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.highWatermark = min(max(hw, l.logStart), l.active().next)
	// UnifiedLog.updateHighWatermarkMetadata: completed transactions whose
	// marker is now below the high watermark no longer hold the LSO back.
	l.producers.onHighWatermarkUpdated(l.highWatermark)
}

// HighWatermark is the log's copy of the partition's high watermark.
func (l *Log) HighWatermark() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.highWatermark
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

// SegmentBaseOffsets lists the segments' base offsets, oldest first.
func (l *Log) SegmentBaseOffsets() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.segs))
	for i, s := range l.segs {
		out[i] = s.base
	}
	return out
}

// Append assigns offsets from the LEO by patching each batch's baseOffset in
// place (records is modified), sets partitionLeaderEpoch, writes to the
// active segment (rolling as needed) and maintains the indexes. records must
// already be validated (ValidateBatches or SplitBatches); the CRC stays
// valid because both patched fields precede the CRC'd range. It does not
// validate: a produce goes through AppendAsLeader. The producer state
// follows the batches as a replica's does (no sequence or epoch checks).
func (l *Log) Append(records []byte, leaderEpoch int32) (AppendInfo, error) {
	return l.appendAndMaybeFlush(records, appendParams{assign: true, leaderEpoch: leaderEpoch, origin: originReplication})
}

// appendParams says how an append is checked and placed.
type appendParams struct {
	assign      bool // the leader assigns offsets and stamps leaderEpoch
	leaderEpoch int32
	origin      appendOrigin
	guard       VerificationGuard // KIP-890 guard, 0 for none
}

// AppendAsLeader appends a produced partition's records as the leader of
// leaderEpoch (UnifiedLog.appendAsLeader): the one validation step first
// (validateAsLeader; upConvert for Produce v0-v2 message sets), then, with
// the offsets assigned and under the log's lock, the producer state's
// checks (UnifiedLog.analyzeAndValidateProducerState): a batch already in
// the log is answered with its original offsets and appends nothing
// (AppendInfo without Batches); any other must continue its producer's
// sequence and respect its transaction. Then the batches are written and
// the producer state updated with them. It is AppendAsLeaderVerified
// without a KIP-890 guard.
func (l *Log) AppendAsLeader(records []byte, leaderEpoch int32, upConvert bool) (AppendInfo, error) {
	return l.AppendAsLeaderVerified(records, leaderEpoch, upConvert, 0)
}

// AppendAsFollower appends batches fetched from the leader as they are:
// offsets and leader epochs are kept. The first batch must start at or
// after the LEO and offsets must increase (Kafka's UnexpectedAppendOffset
// and monotonic checks). Every batch's CRC-32C is checked first, as
// UnifiedLog.analyzeAndValidateRecords does for every origin: a corrupt
// batch fails the whole append with ErrCorruptMessage, nothing written.
//
// The follower maintains the producer state, transactions and transaction
// index as the leader does (AppendOrigin.REPLICATION: fencing is only
// logged), so its LSO is right and becoming leader needs no rebuild.
func (l *Log) AppendAsFollower(records []byte) (AppendInfo, error) {
	return l.appendAndMaybeFlush(records, appendParams{origin: originReplication})
}

func (l *Log) appendAndMaybeFlush(records []byte, p appendParams) (AppendInfo, error) {
	info, flush, err := l.append(records, p)
	if err != nil {
		return info, err
	}
	if flush {
		// flush.messages reached (UnifiedLog.append: unflushedMessages >= flushInterval).
		// The records are written: a failed flush is a storage error.
		if err := l.Flush(); err != nil {
			if errors.Is(err, ErrClosed) {
				return info, err
			}
			return info, l.ioFailed(fmt.Errorf("%w: flushing after the append at %d: %w", ErrStorage, info.FirstOffset, err))
		}
	}
	return info, nil
}

func (l *Log) append(records []byte, p appendParams) (AppendInfo, bool, error) {
	assign, leaderEpoch := p.assign, p.leaderEpoch
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return AppendInfo{}, false, ErrClosed
	}
	if len(records) == 0 {
		return AppendInfo{}, false, fmt.Errorf("%w: empty append", ErrInvalidRecord)
	}
	leo := l.active().next
	info := AppendInfo{FirstOffset: leo, MaxTimestamp: noTimestamp, LogAppendTime: -1}
	if assign && l.cfg.MessageTimestampType == "LogAppendTime" {
		info.LogAppendTime = time.Now().UnixMilli()
	}
	maxTsOffset := leo
	next := leo
	for pos := 0; pos < len(records); {
		h, err := ParseBatchHeader(records[pos:])
		if err != nil {
			return AppendInfo{}, false, fmt.Errorf("append at position %d: %w", pos, err)
		}
		if h.Size() > int64(len(records)-pos) || h.LastOffsetDelta < 0 {
			return AppendInfo{}, false, fmt.Errorf("%w: batch at position %d is malformed", ErrCorruptMessage, pos)
		}
		if !assign {
			// The leader's batches were validated by ValidateBatches before
			// the offsets were assigned; fetched ones are checked here.
			if _, err := checkBatch(records[pos : pos+int(h.Size())]); err != nil {
				return AppendInfo{}, false, fmt.Errorf("follower batch at offset %d (position %d): %w", h.BaseOffset, pos, err)
			}
		}
		if assign {
			patchBatch(records[pos:], next, leaderEpoch)
			h.BaseOffset, h.PartitionLeaderEpoch = next, leaderEpoch
			if info.LogAppendTime >= 0 {
				h = stampLogAppendTime(records[pos:pos+int(h.Size())], h, info.LogAppendTime)
			}
		} else if h.BaseOffset < next {
			return AppendInfo{}, false, fmt.Errorf("%w: follower batch at offset %d is below the expected offset %d", ErrInvalidRecord, h.BaseOffset, next)
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
		return AppendInfo{}, false, fmt.Errorf("%w: append of %d bytes does not fit a segment", ErrInvalidRecord, len(records))
	}
	// The producer state's checks, on the assigned offsets, before
	// anything is written (UnifiedLog.analyzeAndValidateProducerState).
	tbs, err := txnBatchesOf(records, info.Batches)
	if err != nil {
		return AppendInfo{}, false, err
	}
	update, dup, err := l.producers.analyze(tbs, p.origin, p.guard)
	if err != nil {
		return AppendInfo{}, false, err
	}
	if dup != nil {
		// UnifiedLog.append answers a duplicate with its original offsets
		// and, as log append time, its max timestamp (whatever the
		// topic's timestamp type).
		return AppendInfo{FirstOffset: dup.firstOffset, LastOffset: dup.lastOffset, MaxTimestamp: noTimestamp, LogAppendTime: dup.timestamp}, false, nil
	}
	// I/O failures from here on are storage errors (UnifiedLog.append:
	// maybeHandleIOException around the roll and the write).
	if err := l.maybeRoll(int64(len(records)), info.FirstOffset, info.LastOffset, info.MaxTimestamp); err != nil {
		return AppendInfo{}, false, l.ioFailed(fmt.Errorf("%w: rolling the segment for the append at %d: %w", ErrStorage, info.FirstOffset, err))
	}
	seg := l.active()
	if info.FirstOffset < seg.base || info.LastOffset-seg.base > math.MaxInt32 || seg.size+int64(len(records)) > math.MaxInt32 {
		return AppendInfo{}, false, fmt.Errorf("append [%d, %d] does not fit segment %d", info.FirstOffset, info.LastOffset, seg.base)
	}
	// Each batch's epoch starts at its base offset (UnifiedLog.append:
	// maybeAssignEpochStartOffset, before the records are written). The
	// checkpoint write failing fails the append with nothing written
	// (LeaderEpochFileCache.assign: KafkaStorageException, dir offline).
	for _, h := range info.Batches {
		if h.PartitionLeaderEpoch >= 0 && h.PartitionLeaderEpoch != l.lastEpoch {
			if err := l.epochs.Assign(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
				l.lastEpoch = -1
				return AppendInfo{}, false, l.ioFailed(fmt.Errorf("%w: leader epoch checkpoint for the append at %d: %w", ErrStorage, info.FirstOffset, err))
			}
			l.lastEpoch = h.PartitionLeaderEpoch
		}
	}
	if err := seg.append(records, info.LastOffset, info.MaxTimestamp, maxTsOffset, l.cfg.IndexIntervalBytes); err != nil {
		return AppendInfo{}, false, l.ioFailed(fmt.Errorf("%w: writing the append at %d: %w", ErrStorage, info.FirstOffset, err))
	}
	if err := l.applyProducerUpdateLocked(update, seg, true, next); err != nil {
		if errors.Is(err, ErrStorage) {
			return AppendInfo{}, false, l.ioFailed(fmt.Errorf("the append at %d: %w", info.FirstOffset, err))
		}
		return AppendInfo{}, false, fmt.Errorf("the append at %d: %w", info.FirstOffset, err)
	}
	flush := l.cfg.FlushMessages != math.MaxInt64 && next-l.recoveryPoint >= l.cfg.FlushMessages
	return info, flush, nil
}

// maybeRoll starts a new segment at the LEO as LogSegment.shouldRoll
// decides: the append would push the active segment past segment.bytes,
// it is older than segment.ms minus its jitter (by the first batch's
// timestamp, else its creation time), an index is full, or the last
// offset does not fit a relative int32. An empty segment is never rolled.
func (l *Log) maybeRoll(size, firstOffset, lastOffset, maxTs int64) error {
	s := l.active()
	if s.size == 0 {
		if firstOffset > s.base {
			// A follower append after a gap: move the empty segment there.
			s.closeIndexes()
			_ = s.log.Close()
			if err := removeSegmentFiles(l.fs, l.dir, s.base, ""); err != nil {
				return err
			}
			l.segs = l.segs[:len(l.segs)-1]
			ns, err := createSegment(l.fs, l.dir, firstOffset, "", l.cfg)
			if err != nil {
				return err
			}
			l.segs = append(l.segs, ns)
			if len(l.segs) == 1 {
				l.logStart = max(l.logStart, firstOffset)
				l.highWatermark = max(l.highWatermark, l.logStart)
			}
		}
		return nil
	}
	waited, err := s.timeWaitedForRoll(time.Now().UnixMilli(), maxTs)
	if err != nil {
		return err
	}
	reachedRollMs := waited > l.cfg.SegmentMs-s.jitterMs
	if s.size+size <= l.cfg.SegmentBytes && !reachedRollMs && !s.oidx.full() &&
		!s.tidx.full() && lastOffset-s.base <= math.MaxInt32 {
		return nil
	}
	return l.roll(firstOffset)
}

// roll starts a new active segment at base (the first offset of the
// append that needs it). The old segment gets its final time index entry
// and trimmed indexes, and is fsynced in the background (Kafka schedules
// flushUptoOffsetExclusive on roll); the recovery point then moves to base.
func (l *Log) roll(base int64) error {
	old := l.active()
	if err := old.finish(); err != nil {
		return err
	}
	s, err := createSegment(l.fs, l.dir, base, "", l.cfg)
	if err != nil {
		return err
	}
	l.segs = append(l.segs, s)
	l.logger.Debug("rolled segment", "base", s.base)
	l.flushWG.Add(1)
	go func() {
		defer l.flushWG.Done()
		if err := l.flushUpTo(base); err != nil && !errors.Is(err, ErrClosed) {
			// LocalLog.flush under maybeHandleIOException: the dir fails.
			l.logger.Warn("flush after roll failed", "err", err)
			_ = l.ioFailed(fmt.Errorf("%w: flush after roll: %w", ErrStorage, err))
		}
	}()
	return nil
}

// Roll forces a new segment at the LEO unless the active one is empty.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if l.active().size == 0 {
		return nil
	}
	// UnifiedLog.roll under maybeHandleIOException.
	return l.ioErr("roll", l.roll(l.active().next))
}

// segmentFor returns the index of the segment that may hold offset.
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > offset })
	return max(i-1, 0)
}

// Read returns bytes of one segment starting with the batch that contains
// offset (LocalLog.read, LogSegment.read): up to maxBytes, and never past
// the start of the batch holding maxOffset (the high watermark, exclusive).
// Only the first batch is located (index lookup, then a header scan within
// one index interval); the slice then extends to min(start+maxBytes, end)
// where end is the segment end when maxOffset >= LEO, else the position of
// maxOffset, so the last batch may be partial. With minOneMessage a first
// batch larger than maxBytes is returned whole (KIP-74); without it such a
// read is empty. Reading at maxOffset or the LEO gives an empty slice;
// offset < LogStartOffset or > LEO is ErrOffsetOutOfRange. A failure to
// read the segment files, or a closed log, is ErrStorage
// (LocalLog.read under maybeHandleIOException).
func (l *Log) Read(offset int64, maxBytes int64, maxOffset int64, minOneMessage bool) (FileSlice, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return FileSlice{}, fmt.Errorf("%w: %w", ErrStorage, ErrClosed)
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
	for i := l.segmentFor(offset); i < len(l.segs); i++ {
		s := l.segs[i]
		h, pos, ok, err := s.findBatch(offset, *bufp)
		if err != nil {
			return FileSlice{}, l.readFailed(fmt.Errorf("%w: read offset %d: %w", ErrStorage, offset, err))
		}
		if !ok {
			continue
		}
		if h.LastOffset() >= maxOffset {
			return FileSlice{File: s.log, Pos: pos}, nil
		}
		end := s.size
		if maxOffset < leo && (i+1 == len(l.segs) || l.segs[i+1].base > maxOffset) {
			// The high watermark lies in this segment: stop at its batch.
			_, hwPos, ok, err := s.findBatch(maxOffset, *bufp)
			if err != nil {
				return FileSlice{}, l.readFailed(fmt.Errorf("%w: read offset %d: locate high watermark %d: %w", ErrStorage, offset, maxOffset, err))
			}
			if ok {
				end = hwPos
			}
		}
		limit := maxBytes
		if h.Size() > maxBytes {
			if !minOneMessage {
				return FileSlice{File: s.log, Pos: pos}, nil
			}
			limit = h.Size()
		}
		if pos+limit < end {
			// Whole batches only: end at the last batch boundary within the limit.
			if end, err = s.batchBoundaryWithin(pos, pos+limit); err != nil {
				return FileSlice{}, l.readFailed(fmt.Errorf("%w: read offset %d: %w", ErrStorage, offset, err))
			}
		}
		return FileSlice{File: s.log, Pos: pos, Size: end - pos}, nil
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
		sc := newScanner(l.fs, s.log, s.lookup(start), s.size)
		for {
			h, pos, ok, err := sc.next()
			if err != nil {
				return 0, 0, false, l.ioErr("search timestamp", fmt.Errorf("search timestamp %d: %w", ts, err))
			}
			if !ok {
				break
			}
			if h.MaxTimestamp < ts || h.LastOffset() < l.logStart {
				continue
			}
			off, rts, ok, err := searchBatch(l.fs, s.log, pos, h, ts, l.logStart)
			if err != nil {
				return 0, 0, false, l.ioErr("search timestamp", err)
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
func searchBatch(fs FileSystem, f *os.File, pos int64, h BatchHeader, ts, minOffset int64) (int64, int64, bool, error) {
	if h.Compression() != 0 || h.LogAppendTime() {
		// LogAppendTime: every record carries the batch max timestamp.
		return max(h.BaseOffset, minOffset), h.MaxTimestamp, true, nil
	}
	body := make([]byte, h.Size()-BatchHeaderSize)
	if _, err := fs.ReadAt(f, body, pos+BatchHeaderSize); err != nil {
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
		sc := newScanner(l.fs, sp.f, sp.start, sp.end)
		for {
			h, _, ok, err := sc.next()
			if err != nil {
				return l.readFailed(fmt.Errorf("walk batches: %w", err))
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

// Flush fsyncs every segment holding offsets past the recovery point and
// moves the recovery point to the LEO (UnifiedLog.flush).
func (l *Log) Flush() error {
	l.mu.RLock()
	leo := l.active().next
	closed := l.closed
	l.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	// UnifiedLog.flush runs under maybeHandleIOException.
	if err := l.flushUpTo(leo); err != nil {
		if errors.Is(err, ErrClosed) {
			return err
		}
		return l.ioFailed(fmt.Errorf("%w: flush: %w", ErrStorage, err))
	}
	return nil
}

// flushUpTo fsyncs the segments holding offsets in [recovery point,
// offset) and advances the recovery point to offset. If one of them was
// created since the last flush (its base is at or above the recovery
// point) the partition directory is fsynced too (LocalLog.flush:
// flushDirIfExists), so its files are not lost with the directory entry.
// The fsyncs run without the log lock so appends and reads go on meanwhile.
func (l *Log) flushUpTo(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	rp := l.recoveryPoint
	var files []*os.File
	newSegment := false
	for i, s := range l.segs {
		end := s.next
		if i+1 < len(l.segs) {
			end = l.segs[i+1].base
		}
		if s.base >= offset || end <= rp {
			continue
		}
		files = append(files, s.log, s.oidx.f, s.tidx.f)
		if s.txn.f != nil {
			files = append(files, s.txn.f)
		}
		newSegment = newSegment || s.base >= rp
	}
	l.mu.RUnlock()
	for _, f := range files {
		if err := l.fs.Sync(f); err != nil {
			if errors.Is(err, os.ErrClosed) {
				continue // deleted or closed meanwhile
			}
			return fmt.Errorf("fsync %s: %w", f.Name(), err)
		}
	}
	if newSegment {
		// The directory may be gone with a deleted partition: nothing to keep.
		if err := l.dirSyncer(l.dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if offset > l.recoveryPoint {
		l.recoveryPoint = min(offset, l.active().next)
	}
	l.lastFlushMs = time.Now().UnixMilli()
	return nil
}

// flushIfDue flushes when flush.ms has passed since the last flush and
// there is unflushed data (LogManager.flushDirtyLogs).
func (l *Log) flushIfDue(nowMs int64) error {
	l.mu.RLock()
	due := !l.closed && l.cfg.FlushMs != math.MaxInt64 && nowMs-l.lastFlushMs >= l.cfg.FlushMs &&
		l.active().next > l.recoveryPoint
	l.mu.RUnlock()
	if !due {
		return nil
	}
	return l.Flush()
}

// Close writes the final time index entry, trims the indexes, fsyncs and
// closes every file, and removes segments waiting for deletion. Slices
// returned by Read become unusable.
func (l *Log) Close() error {
	l.flushWG.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	// LocalLog.close under maybeHandleIOException.
	return l.ioErr("close", l.closeLocked())
}

// closeHandles closes the log's files without writing to them: its log dir
// failed (LocalLog.closeHandlers). Slices returned by Read become unusable.
func (l *Log) closeHandles() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	for _, s := range l.segs {
		_ = s.close(false)
	}
	// The .deleted segments stay: nothing is removed from a failed dir
	// (the next start removes them).
	l.delMu.Lock()
	for s, tm := range l.pending {
		tm.Stop()
		delete(l.pending, s)
	}
	l.delMu.Unlock()
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
	} else if act.base >= l.recoveryPoint && act.size > 0 {
		// A segment created since the last flush: its directory entry too
		// (LogManager.shutdown flushes every log, LocalLog.flush).
		if err := l.dirSyncer(l.dir); err != nil {
			errs = append(errs, err)
		} else {
			l.recoveryPoint = act.next
		}
	} else {
		l.recoveryPoint = act.next
	}
	for _, s := range l.segs {
		if err := s.close(true); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, l.removePendingNow())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close log %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log and removes its directory.
func (l *Log) Delete() error {
	l.flushWG.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	cerr := l.closeLocked()
	if err := l.fs.RemoveAll(l.dir); err != nil {
		// UnifiedLog.delete under maybeHandleIOException.
		return l.ioErr("delete", fmt.Errorf("delete log %s: %w", l.dir, err))
	}
	return l.ioErr("delete", cerr)
}

// TruncateTo removes every batch whose last offset is >= offset (a follower
// truncating to its high watermark or to a leader epoch end offset,
// UnifiedLog.truncateTo). Segments starting above offset are deleted; the
// segment holding it is cut at the start of the batch containing offset.
// The log start offset becomes min(offset, log start).
// Truncating at or above the LEO keeps every record. Slices returned earlier by
// Read for the removed range must not be sent any more. A truncation that
// removed records writes the log dir's recovery-point checkpoint
// (afterTruncate).
func (l *Log) TruncateTo(offset int64) error {
	truncated, err := l.truncateTo(offset)
	if err == nil && truncated {
		l.afterTruncation()
	}
	// UnifiedLog.truncateTo under maybeHandleIOException.
	return l.ioErr("truncate", err)
}

func (l *Log) truncateTo(offset int64) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false, ErrClosed
	}
	if offset >= l.active().next {
		// UnifiedLog.truncateTo: the epoch cache is cut at the LEO even so.
		// A broker that became leader (an epoch entry at its LEO) and lost
		// leadership before appending must not keep that epoch, or its
		// OffsetForLeaderEpoch rounds with the new leader never converge.
		return false, l.epochs.TruncateFromEnd(l.active().next)
	}
	return true, l.truncateToLocked(offset)
}

func (l *Log) truncateToLocked(offset int64) error {
	if offset <= l.segs[0].base {
		return l.truncateFullyLocked(offset)
	}
	l.noteTruncation(offset)
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
	sc := newScanner(l.fs, s.log, s.lookup(offset), s.size)
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
	if next < l.logStart {
		// What is left lies wholly below the log start (the target is
		// below it, or inside the batch holding it after DeleteRecords).
		// UnifiedLog.truncateTo: logStartOffset = min(targetOffset,
		// logStartOffset), so the log start must not fall to the cut
		// batch's base, or records DeleteRecords removed come back: the
		// log restarts empty there (the epoch cache is cut, not cleared).
		return l.restartEmptyLocked(min(offset, l.logStart), false)
	}
	if err := s.truncate(cut, next); err != nil {
		return err
	}
	if err := s.activate(l.cfg); err != nil {
		return err
	}
	l.recoveryPoint = min(l.recoveryPoint, s.next)
	// UnifiedLog.truncateTo: logStartOffset = min(targetOffset,
	// logStartOffset); the new LEO is at or above the log start here.
	l.logStart = min(l.logStart, offset)
	// UnifiedLog.truncateTo: a high watermark at or above the new LEO drops to it.
	l.highWatermark = min(l.highWatermark, s.next)
	l.lastEpoch = -1
	if err := l.epochs.TruncateFromEnd(s.next); err != nil {
		// LeaderEpochFileCache's checkpoint write: the dir fails.
		return fmt.Errorf("leader epoch checkpoint: %w", err)
	}
	// UnifiedLog.truncateTo: rebuildProducerState(targetOffset).
	if err := l.rebuildProducerStateLocked(s.next); err != nil {
		return err
	}
	l.logger.Info("truncated log", "offset", offset, "leo", s.next)
	return nil
}

// TruncateFullyAndStartAt deletes all data and restarts the log empty at
// offset, which also becomes the log start offset (a follower whose LEO is
// below the leader's log start, UnifiedLog.truncateFullyAndStartAt).
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	err := l.truncateFullyLocked(offset)
	l.mu.Unlock()
	if err == nil {
		l.afterTruncation()
	}
	return l.ioErr("truncate fully", err)
}

// afterTruncation runs the afterTruncate hook, without l.mu: the Manager
// writes the log dir's recovery-point and log-start checkpoints, as
// LogManager.truncateTo and truncateFullyAndStartAt write
// checkpointRecoveryOffsetsInDir right after a truncation (the recovery
// point moved back; a crash before the periodic checkpoint must not skip
// recovering what is written after it).
func (l *Log) afterTruncation() {
	if l.afterTruncate != nil {
		l.afterTruncate()
	}
}

func (l *Log) truncateFullyLocked(offset int64) error {
	return l.restartEmptyLocked(offset, true)
}

// restartEmptyLocked deletes every segment and starts the log empty at
// offset, its new log start. clearEpochs empties the leader-epoch cache
// (UnifiedLog.truncateFullyAndStartAt); otherwise it is cut at offset as
// a truncation does.
func (l *Log) restartEmptyLocked(offset int64, clearEpochs bool) error {
	if offset < 0 {
		return fmt.Errorf("%w: cannot start the log at %d", ErrOffsetOutOfRange, offset)
	}
	l.noteTruncation(offset)
	for _, s := range l.segs {
		if err := l.dropSegment(s); err != nil {
			return err
		}
	}
	l.segs = nil
	s, err := createSegment(l.fs, l.dir, offset, "", l.cfg)
	if err != nil {
		return err
	}
	l.segs = []*segment{s}
	l.logStart = offset
	l.recoveryPoint = offset
	l.highWatermark = offset // UnifiedLog.truncateFullyAndStartAt: HW = the new LEO
	l.lastEpoch = -1
	// ProducerStateManager.truncateFullyAndStartAt.
	l.producers.truncateFullyAndStartAt(offset)
	var epochErr error
	if clearEpochs {
		epochErr = l.epochs.Clear()
	} else {
		epochErr = l.epochs.TruncateFromEnd(offset)
	}
	if epochErr != nil {
		return fmt.Errorf("leader epoch checkpoint: %w", epochErr)
	}
	l.logger.Info("truncated log fully", "start", offset)
	return nil
}

// dropSegment removes a segment's files at once. The .log file handle is
// left to the garbage collector (os.File closes itself when unreachable)
// so a FileSlice being sent still reads the unlinked file.
func (l *Log) dropSegment(s *segment) error {
	s.closeIndexes()
	return removeSegmentFiles(l.fs, l.dir, s.base, s.suffix)
}
