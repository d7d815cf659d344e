package storage

// The log cleaner (Kafka's LogCleaner and LogCleanerManager): background
// threads pick the compacted log with the highest dirty ratio, clean it
// (cleaner_clean.go) and record how far in cleaner-offset-checkpoint.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// CleanerOffsetCheckpoint is the per-log-dir file holding, per partition,
// the first offset not yet cleaned (LogCleaner's cleaner-offset-checkpoint).
const CleanerOffsetCheckpoint = "cleaner-offset-checkpoint"

// CleanerConfig is the cleaner's broker settings (log.cleaner.*).
type CleanerConfig struct {
	Threads                int           // log.cleaner.threads
	Backoff                time.Duration // log.cleaner.backoff.ms: sleep when no log needs cleaning
	DedupeBufferSize       int64         // log.cleaner.dedupe.buffer.size, shared by all threads
	DedupeBufferLoadFactor float64       // log.cleaner.io.buffer.load.factor
	Now                    func() time.Time
}

// DefaultCleanerConfig returns Kafka's defaults.
func DefaultCleanerConfig() CleanerConfig {
	return CleanerConfig{Threads: 1, Backoff: 15 * time.Second, DedupeBufferSize: 128 << 20,
		DedupeBufferLoadFactor: 0.9}
}

func (c CleanerConfig) normalized() CleanerConfig {
	d := DefaultCleanerConfig()
	if c.Threads <= 0 {
		c.Threads = d.Threads
	}
	if c.Backoff <= 0 {
		c.Backoff = d.Backoff
	}
	if c.DedupeBufferSize <= 0 {
		c.DedupeBufferSize = d.DedupeBufferSize
	}
	if c.DedupeBufferLoadFactor <= 0 || c.DedupeBufferLoadFactor > 1 {
		c.DedupeBufferLoadFactor = d.DedupeBufferLoadFactor
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c CleanerConfig) newOffsetMap() *offsetMap {
	return newOffsetMap(c.DedupeBufferSize/int64(c.Threads), c.DedupeBufferLoadFactor)
}

// CleanStats describes one cleaning of one log (Kafka's CleanerStats).
type CleanStats struct {
	Partition        TopicPartition
	FirstDirtyOffset int64 // where the dirty section started
	EndOffset        int64 // first offset not cleaned: the new checkpoint
	SegmentsIn       int   // segments rewritten
	SegmentsOut      int   // segments they became
	BytesRead        int64
	BytesWritten     int64
	RecordsRead      int64
	RecordsRetained  int64
	KeysMapped       int
	Duration         time.Duration
}

// errCleaningAborted: the log changed under the cleaner (truncation,
// retention, deletion, shutdown); the pass is dropped and retried later
// (LogCleaningAbortedException).
var errCleaningAborted = errors.New("log cleaning aborted")

// cleanerState is LogCleanerManager's bookkeeping, kept in the Manager.
// Lock order: cleanerState.mu before Manager.mu and Log.mu.
type cleanerState struct {
	mu          sync.Mutex
	cond        *sync.Cond
	inProgress  map[*Log]*cleanTask
	uncleanable map[*Log]error
	checkpoints map[string]map[TopicPartition]int64 // by log dir, read on first use
	stopped     bool
}

type cleanTask struct {
	aborted atomic.Bool
}

// init makes the maps; c.mu must be held.
func (c *cleanerState) init() {
	if c.cond == nil {
		c.cond = sync.NewCond(&c.mu)
		c.inProgress = map[*Log]*cleanTask{}
		c.uncleanable = map[*Log]error{}
		c.checkpoints = map[string]map[TopicPartition]int64{}
	}
}

// checkpointFor returns the cleaner checkpoint of a log dir, reading the
// file the first time; c.mu must be held.
func (c *cleanerState) checkpointFor(dir string, m *Manager) map[TopicPartition]int64 {
	cp, ok := c.checkpoints[dir]
	if !ok {
		var err error
		cp, err = readOffsetCheckpoint(m.fs, filepath.Join(dir, CleanerOffsetCheckpoint))
		if err != nil {
			// LogCleanerManager.allCleanerCheckpoints: the read failed
			// through CheckpointFileWithFailureHandler, which took the dir
			// offline; cleaning goes on from an empty checkpoint.
			m.logger.Warn("ignoring unreadable cleaner checkpoint", "dir", dir, "err", err)
			m.ReportLogDirFailure(dir, fmt.Errorf("%w: read cleaner checkpoint: %w", ErrStorage, err))
			cp = map[TopicPartition]int64{}
		}
		c.checkpoints[dir] = cp
	}
	return cp
}

// abortAndForget stops a clean of the log in progress, waits for it to
// end and drops the partition from the checkpoint, rewriting the file
// (the log is being deleted: LogCleaner.abortCleaning, updateCheckpoints
// with partitionToRemove).
func (c *cleanerState) abortAndForget(tp TopicPartition, ml *managedLog, m *Manager) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	c.waitAbortedLocked(ml.log)
	delete(c.uncleanable, ml.log)
	if cp := c.checkpointFor(ml.dir, m); hasKey(cp, tp) {
		delete(cp, tp)
		c.writeCheckpointLocked(ml.dir, nil, m)
	}
}

func hasKey(cp map[TopicPartition]int64, tp TopicPartition) bool {
	_, ok := cp[tp]
	return ok
}

func (c *cleanerState) waitAbortedLocked(l *Log) {
	for {
		t, ok := c.inProgress[l]
		if !ok {
			return
		}
		t.aborted.Store(true)
		c.cond.Wait()
	}
}

// stop aborts every clean in progress, waits for them to end and refuses
// new ones (Manager.Close).
func (c *cleanerState) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	c.stopped = true
	for len(c.inProgress) > 0 {
		for _, t := range c.inProgress {
			t.aborted.Store(true)
		}
		c.cond.Wait()
	}
}

// writeCheckpointLocked writes a dir's cleaner checkpoint atomically,
// keeping only partitions in live (LogCleanerManager.updateCheckpoints).
func (c *cleanerState) writeCheckpointLocked(dir string, live map[TopicPartition]bool, m *Manager) {
	cp := c.checkpointFor(dir, m)
	out := make(map[TopicPartition]int64, len(cp))
	for tp, off := range cp {
		if live == nil || live[tp] {
			out[tp] = off
		}
	}
	if m.failures.isOffline(dir) {
		return // nothing is written to a failed dir
	}
	if err := writeOffsetCheckpoint(m.fs, filepath.Join(dir, CleanerOffsetCheckpoint), out); err != nil {
		m.logger.Warn("could not write the cleaner checkpoint", "dir", dir, "err", err)
		m.ReportLogDirFailure(dir, fmt.Errorf("%w: write cleaner checkpoint: %w", ErrStorage, err))
	}
}

// logToClean is a candidate (LogToClean).
type logToClean struct {
	tp               TopicPartition
	dir              string
	log              *Log
	task             *cleanTask
	firstDirty       int64
	firstUncleanable int64
	cleanBytes       int64
	cleanableBytes   int64
	needNow          bool   // max.compaction.lag.ms exceeded
	forceCheckpoint  bool   // the checkpoint was below the log start, beyond the end or truncated
	truncGen         uint64 // the log's truncation count when the range was computed
}

func (ltc *logToClean) ratio() float64 {
	total := ltc.cleanBytes + ltc.cleanableBytes
	if total == 0 {
		return 0
	}
	return float64(ltc.cleanableBytes) / float64(total)
}

// RunCleaner runs threads cleaner threads until ctx ends
// (log.cleaner.threads, log.cleaner.backoff.ms), with Kafka's other
// defaults.
func (m *Manager) RunCleaner(ctx context.Context, threads int, backoff time.Duration) {
	cfg := DefaultCleanerConfig()
	cfg.Threads, cfg.Backoff = threads, backoff
	m.RunCleanerWith(ctx, cfg)
}

// RunCleanerWith runs the cleaner threads until ctx ends. Each thread
// cleans the filthiest log, or sleeps cfg.Backoff when none qualifies
// (CleanerThread.doWork).
func (m *Manager) RunCleanerWith(ctx context.Context, cfg CleanerConfig) {
	cfg = cfg.normalized()
	var wg sync.WaitGroup
	for i := 0; i < cfg.Threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			om := cfg.newOffsetMap()
			for ctx.Err() == nil {
				_, cleaned, err := m.cleanFilthiest(ctx, cfg, om)
				if errors.Is(err, ErrClosed) {
					return
				}
				if cleaned {
					continue
				}
				t := time.NewTimer(cfg.Backoff)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

// CleanFilthiestLog cleans the compacted log that needs it most, if any
// (one step of a cleaner thread). cleaned is false if no log qualified.
func (m *Manager) CleanFilthiestLog(ctx context.Context, cfg CleanerConfig) (CleanStats, bool, error) {
	cfg = cfg.normalized()
	return m.cleanFilthiest(ctx, cfg, cfg.newOffsetMap())
}

func (m *Manager) cleanFilthiest(ctx context.Context, cfg CleanerConfig, om *offsetMap) (CleanStats, bool, error) {
	now := cfg.Now().UnixMilli()
	ltc, err := m.grabFilthiest(now)
	if err != nil || ltc == nil {
		return CleanStats{}, false, err
	}
	stats, err := cleanLog(ctx, ltc, om, now, nil)
	m.doneCleaning(ltc, stats, err)
	if err != nil {
		if errors.Is(err, errCleaningAborted) {
			return stats, true, nil
		}
		return stats, true, err
	}
	return stats, true, nil
}

// grabFilthiest picks the compacted log with the highest cleanable ratio
// above its min.cleanable.dirty.ratio, or one past max.compaction.lag.ms,
// and marks it in progress (LogCleanerManager.grabFilthiestCompactedLog).
func (m *Manager) grabFilthiest(now int64) (*logToClean, error) {
	type entry struct {
		tp TopicPartition
		ml *managedLog
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	logs := make([]entry, 0, len(m.logs))
	for tp, ml := range m.logs {
		logs = append(logs, entry{tp, ml})
	}
	m.mu.Unlock()

	c := &m.cleaning
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	if c.stopped {
		return nil, ErrClosed
	}
	var best *logToClean
	for _, e := range logs {
		l := e.ml.log
		if _, busy := c.inProgress[l]; busy {
			continue
		}
		if _, bad := c.uncleanable[l]; bad || !l.Config().Compact() {
			continue
		}
		cp, ok := c.checkpointFor(e.ml.dir, m)[e.tp]
		ltc, err := l.cleanableRange(cp, ok, now)
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				m.logger.Warn("could not compute the cleanable range", "log", l.Dir(), "err", err)
			}
			continue
		}
		ltc.tp, ltc.dir, ltc.log = e.tp, e.ml.dir, l
		if ltc.forceCheckpoint {
			c.checkpointFor(e.ml.dir, m)[e.tp] = ltc.firstDirty
			c.writeCheckpointLocked(e.ml.dir, nil, m)
		}
		if ltc.cleanBytes+ltc.cleanableBytes == 0 {
			continue
		}
		if !(ltc.needNow && ltc.cleanableBytes > 0) && !(ltc.ratio() > l.Config().MinCleanableDirtyRatio) {
			continue
		}
		if best == nil || ltc.ratio() > best.ratio() {
			best = ltc
		}
	}
	if best != nil {
		best.task = &cleanTask{}
		c.inProgress[best.log] = best.task
	}
	return best, nil
}

// doneCleaning records the result: on success the checkpoint moves to
// the end offset and is written; an unexpected error marks the log
// uncleanable (LogCleanerManager.doneCleaning, markPartitionUncleanable).
func (m *Manager) doneCleaning(ltc *logToClean, stats CleanStats, err error) {
	// Partitions of the dir, to keep the checkpoint to live logs.
	m.mu.Lock()
	live := map[TopicPartition]bool{}
	current := false
	for tp, ml := range m.logs {
		if ml.dir == ltc.dir {
			live[tp] = true
		}
		if tp == ltc.tp && ml.log == ltc.log {
			current = true
		}
	}
	m.mu.Unlock()

	c := &m.cleaning
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	defer func() {
		delete(c.inProgress, ltc.log)
		c.cond.Broadcast()
	}()
	aborted := ltc.task.aborted.Load()
	switch {
	case err == nil && !aborted && current:
		c.checkpointFor(ltc.dir, m)[ltc.tp] = stats.EndOffset
		c.writeCheckpointLocked(ltc.dir, live, m)
		m.logger.Info("cleaned log", "partition", ltc.tp.String(), "first_dirty", stats.FirstDirtyOffset,
			"end_offset", stats.EndOffset, "segments_in", stats.SegmentsIn, "segments_out", stats.SegmentsOut,
			"bytes_read", stats.BytesRead, "bytes_written", stats.BytesWritten, "records_read", stats.RecordsRead,
			"records_retained", stats.RecordsRetained, "duration", stats.Duration)
	case err == nil:
	case errors.Is(err, errCleaningAborted) || errors.Is(err, ErrClosed) || aborted:
		m.logger.Info("log cleaning aborted", "partition", ltc.tp.String(), "reason", err)
	case isIOError(err):
		// LogCleaner.cleanLog: an IOException takes the log's dir offline
		// (a KafkaStorageException means it already is); the partition is
		// not marked uncleanable.
		m.ReportLogDirFailure(ltc.dir, fmt.Errorf("%w: cleaning %s: %w", ErrStorage, ltc.tp, err))
	default:
		m.logger.Error("log cleaning failed; the partition is marked uncleanable", "partition", ltc.tp.String(), "err", err)
		c.uncleanable[ltc.log] = err
	}
}

// UncleanablePartitions lists partitions whose cleaning failed with an
// unexpected error (Kafka's uncleanable-partitions-count); they are not
// retried until their log is re-created.
func (m *Manager) UncleanablePartitions() map[TopicPartition]error {
	m.mu.Lock()
	byLog := make(map[*Log]TopicPartition, len(m.logs))
	for tp, ml := range m.logs {
		byLog[ml.log] = tp
	}
	m.mu.Unlock()
	c := &m.cleaning
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[TopicPartition]error{}
	for l, err := range c.uncleanable {
		if tp, ok := byLog[l]; ok {
			out[tp] = err
		}
	}
	return out
}

// CleanerCheckpoint returns the cleaner checkpoint of a partition (the
// first dirty offset), if any.
func (m *Manager) CleanerCheckpoint(topic string, partition int32) (int64, bool) {
	tp := TopicPartition{topic, partition}
	m.mu.Lock()
	ml, ok := m.logs[tp]
	m.mu.Unlock()
	if !ok {
		return 0, false
	}
	c := &m.cleaning
	c.mu.Lock()
	defer c.mu.Unlock()
	c.init()
	off, ok := c.checkpointFor(ml.dir, m)[tp]
	return off, ok
}

// cleanableRange computes the dirty section of the log as
// LogCleanerManager.cleanableOffsets and maxCompactionDelay do: from the
// checkpoint (or the log start; moved back by a truncation since the last
// look) up to the first uncleanable offset, the least of the active
// segment's base, the high watermark and the first dirty segment with a
// record newer than min.compaction.lag.ms.
func (l *Log) cleanableRange(checkpoint int64, hasCheckpoint bool, now int64) (*logToClean, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	ltc := &logToClean{}
	if l.truncated {
		if hasCheckpoint && checkpoint > l.truncatedTo {
			checkpoint, ltc.forceCheckpoint = l.truncatedTo, true
		}
		l.truncated = false
	}
	l.mu.Unlock()

	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	ltc.truncGen = l.truncGen
	leo := l.active().next
	dirty := l.logStart
	if hasCheckpoint {
		dirty = checkpoint
		if checkpoint < l.logStart || checkpoint > leo {
			dirty, ltc.forceCheckpoint = l.logStart, true
		}
	}
	activeBase := l.active().base
	// Never past the last stable offset (LogCleanerManager.cleanableOffsets):
	// the high watermark, the log start until the partition sets it, or
	// the first unstable offset below it, so an open transaction (or one
	// whose marker is not yet replicated) is never compacted.
	uncleanable := min(activeBase, l.highWatermark)
	if fuo, ok := l.firstUnstableOffsetLocked(); ok {
		uncleanable = min(uncleanable, fuo)
	}
	first := l.segmentFor(dirty)
	dirtySegs := l.segs[first : len(l.segs)-1]
	if lag := l.cfg.MinCompactionLagMs; lag > 0 {
		for _, s := range dirtySegs {
			if s.largestTimestamp() > now-lag {
				uncleanable = min(uncleanable, s.base)
				break
			}
		}
	}
	uncleanable = max(uncleanable, dirty)
	if lag := l.cfg.MaxCompactionLagMs; lag > 0 && lag < math.MaxInt64 {
		earliest := int64(math.MaxInt64)
		for _, s := range dirtySegs {
			if ts, err := s.firstBatchTimestamp(); err == nil && ts > 0 {
				earliest = min(earliest, ts)
			}
		}
		if earliest < now-lag {
			ltc.needNow = true
		}
	}
	for i, s := range l.segs {
		if s.base < dirty {
			ltc.cleanBytes += s.size
		}
		if i >= first && s.base < uncleanable && dirty < uncleanable {
			ltc.cleanableBytes += s.size
		}
	}
	ltc.firstDirty, ltc.firstUncleanable = dirty, uncleanable
	return ltc, nil
}

// firstBatchTimestamp is the first batch's max timestamp
// (LogSegment.getFirstBatchTimestamp), -1 for an empty segment.
func (s *segment) firstBatchTimestamp() (int64, error) {
	if s.size < BatchHeaderSize {
		return -1, nil
	}
	hdr := make([]byte, BatchHeaderSize)
	if _, err := s.fs.ReadAt(s.log, hdr, 0); err != nil {
		return -1, fmt.Errorf("read first batch of %s: %w", s.log.Name(), err)
	}
	h, err := ParseBatchHeader(hdr)
	if err != nil {
		return -1, err
	}
	return h.MaxTimestamp, nil
}

// noteTruncation records a truncation to offset for the cleaner; l.mu is
// held exclusively.
func (l *Log) noteTruncation(offset int64) {
	l.truncGen++
	if !l.truncated || offset < l.truncatedTo {
		l.truncated, l.truncatedTo = true, offset
	}
}
