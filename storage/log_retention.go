package storage

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// DeleteOldSegments applies retention once (UnifiedLog.deleteOldSegments):
// with cleanup.policy including delete, by retention.ms (a segment's
// largest timestamp, else its mtime), then retention.bytes; always by the
// log start offset. Only whole segments below the high watermark go; if
// every segment must go, the log rolls first so an empty active segment
// remains. It returns the number of segments deleted.
func (l *Log) DeleteOldSegments() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	n, err := l.deleteOldSegmentsLocked()
	// UnifiedLog.deleteSegments under maybeHandleIOException.
	return n, l.ioErr("delete old segments", err)
}

func (l *Log) deleteOldSegmentsLocked() (int, error) {
	n, err := l.deleteLogStartBreachedLocked()
	if err != nil || !l.cfg.Delete() {
		return n, err
	}
	nowMs := time.Now().UnixMilli()
	if l.cfg.RetentionMs >= 0 {
		retention := l.cfg.RetentionMs
		k, err := l.deleteSegmentsLocked(func(s *segment, _ *segment) bool {
			return nowMs-s.largestTimestamp() > retention
		}, "retention time "+fmt.Sprint(retention)+"ms breached")
		n += k
		if err != nil {
			return n, err
		}
	}
	if l.cfg.RetentionBytes >= 0 {
		var size int64
		for _, s := range l.segs {
			size += s.size
		}
		diff := size - l.cfg.RetentionBytes
		if diff > 0 {
			k, err := l.deleteSegmentsLocked(func(s *segment, _ *segment) bool {
				if diff-s.size >= 0 {
					diff -= s.size
					return true
				}
				return false
			}, "retention size "+fmt.Sprint(l.cfg.RetentionBytes)+" bytes breached")
			n += k
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// deleteLogStartBreachedLocked deletes segments whose successor starts at
// or below the log start offset (deleteLogStartOffsetBreachedSegments).
func (l *Log) deleteLogStartBreachedLocked() (int, error) {
	start := l.logStart
	return l.deleteSegmentsLocked(func(_ *segment, next *segment) bool {
		return next != nil && next.base <= start
	}, "log start offset "+fmt.Sprint(start)+" breached")
}

// deleteSegmentsLocked deletes the oldest segments while pred holds, each
// entirely below the high watermark, never the last one if it is empty
// (UnifiedLog.deletableSegments and deleteSegments).
func (l *Log) deleteSegmentsLocked(pred func(s, next *segment) bool, reason string) (int, error) {
	hw := min(l.active().next, l.highWatermark)
	n := 0
	for i, s := range l.segs {
		var next *segment
		upper := s.next
		if i+1 < len(l.segs) {
			next = l.segs[i+1]
			upper = next.base
		}
		if upper > hw || (next == nil && s.size == 0) || !pred(s, next) {
			break
		}
		n++
	}
	if n == 0 {
		return 0, nil
	}
	if n == len(l.segs) {
		// Kafka rolls first so the log keeps an active segment.
		if err := l.roll(l.active().next); err != nil {
			return 0, err
		}
	}
	doomed := append([]*segment(nil), l.segs[:n]...)
	l.segs = append(l.segs[:0:0], l.segs[n:]...)
	// The log start follows the segments out of the list before their
	// files are renamed, so a rename failing half-way (the dir then goes
	// offline) leaves no offsets below the first segment claimed readable.
	startErr := l.incrementLogStartLocked(l.segs[0].base)
	for _, s := range doomed {
		l.logger.Info("deleting segment", "base", s.base, "size", s.size, "reason", reason)
		if err := l.scheduleDelete(s); err != nil {
			return n, err
		}
		// UnifiedLog.deleteSegments: deleteProducerSnapshots(deletable).
		if err := deleteProducerSnapshot(l.fs, l.dir, s.base); err != nil {
			return n, err
		}
	}
	return n, startErr
}

// incrementLogStartLocked moves the log start offset forward
// (UnifiedLog.maybeIncrementLogStartOffset).
func (l *Log) incrementLogStartLocked(offset int64) error {
	if offset <= l.logStart {
		return nil
	}
	l.logStart = offset
	// UnifiedLog.updateLogStartOffset: the HW never lags the log start.
	l.highWatermark = max(l.highWatermark, offset)
	// UnifiedLog.maybeIncrementLogStartOffset:
	// producerStateManager.onLogStartOffsetIncremented.
	l.producers.onLogStartOffsetIncremented(offset)
	l.recoveryPoint = max(l.recoveryPoint, offset)
	if err := l.epochs.TruncateFromStart(offset); err != nil {
		// LeaderEpochFileCache's checkpoint write: the dir fails.
		return fmt.Errorf("leader epoch checkpoint: %w", err)
	}
	return nil
}

// DeleteRecordsBefore moves the log start offset to offset (DeleteRecords,
// UnifiedLog.deleteRecords / maybeIncrementLogStartOffset) and deletes the
// segments wholly below it; it returns the new log start offset (the low
// watermark). The caller checks offset <= high watermark; offset above the
// LEO is ErrOffsetOutOfRange. The Manager's DeleteRecordsBefore also writes
// the log-start-offset checkpoint.
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	if offset < 0 || offset > l.active().next {
		return l.logStart, fmt.Errorf("%w: cannot delete records before %d, log end offset is %d", ErrOffsetOutOfRange, offset, l.active().next)
	}
	// UnifiedLog.deleteRecords runs under maybeHandleIOException: an I/O
	// failure is a KafkaStorageException.
	if err := l.incrementLogStartLocked(offset); err != nil {
		return l.logStart, l.ioFailed(fmt.Errorf("%w: %w", ErrStorage, err))
	}
	if _, err := l.deleteLogStartBreachedLocked(); err != nil {
		return l.logStart, l.ioFailed(fmt.Errorf("%w: %w", ErrStorage, err))
	}
	return l.logStart, nil
}

// IncrementLogStartOffset is DeleteRecordsBefore under Kafka's name.
func (l *Log) IncrementLogStartOffset(offset int64) (int64, error) {
	return l.DeleteRecordsBefore(offset)
}

// scheduleDelete renames a segment that left the list to .deleted at once
// and removes its files after file.delete.delay.ms (LocalLog.deleteSegmentFiles).
// Readers holding its .log *os.File keep reading: the open file survives
// rename and unlink.
func (l *Log) scheduleDelete(s *segment) error {
	s.closeIndexes()
	if err := s.changeSuffix(deletedSuffix); err != nil {
		return err
	}
	delay := time.Duration(max(l.cfg.FileDeleteDelayMs, 0)) * time.Millisecond
	l.delMu.Lock()
	defer l.delMu.Unlock()
	l.pending[s] = time.AfterFunc(delay, func() {
		l.delMu.Lock()
		_, ok := l.pending[s]
		delete(l.pending, s)
		l.delMu.Unlock()
		if ok {
			if err := removeSegmentFiles(l.fs, l.dir, s.base, deletedSuffix); err != nil {
				// LocalLog.deleteSegmentFiles under maybeHandleIOException.
				l.logger.Warn("could not remove deleted segment", "base", s.base, "err", err)
				_ = l.ioFailed(fmt.Errorf("%w: remove deleted segment %d: %w", ErrStorage, s.base, err))
			}
		}
	})
	return nil
}

// removePendingNow removes every segment waiting for deletion (on close).
func (l *Log) removePendingNow() error {
	l.delMu.Lock()
	pending := l.pending
	l.pending = map[*segment]*time.Timer{}
	l.delMu.Unlock()
	var errs []error
	for s, t := range pending {
		t.Stop()
		if err := removeSegmentFiles(l.fs, l.dir, s.base, deletedSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// PendingDeletes is the number of .deleted segments not yet removed.
func (l *Log) PendingDeletes() int {
	l.delMu.Lock()
	defer l.delMu.Unlock()
	return len(l.pending)
}
