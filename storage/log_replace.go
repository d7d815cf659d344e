package storage

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// newCleanedSegment creates <base>.log.cleaned with preallocated
// .index.cleaned and .timeindex.cleaned for a compaction result (the
// cleaner's LogCleaner.createNewCleanedSegment).
func (l *Log) newCleanedSegment(base int64) (*segment, error) {
	l.mu.RLock()
	cfg := l.cfg
	l.mu.RUnlock()
	return createSegment(l.fs, l.dir, base, cleanedSuffix, cfg)
}

// discardSegment closes and removes a segment that never joined the list.
func (l *Log) discardSegment(s *segment) error {
	errs := []error{s.close(false), removeSegmentFiles(l.fs, l.dir, s.base, s.suffix)}
	return errors.Join(errs...)
}

// appendBatches appends whole, valid batches with increasing offsets at or
// after the segment's next offset, keeping their offsets, and maintains
// the indexes as an append does.
func (s *segment) appendBatches(records []byte, indexInterval int) error {
	if len(records) == 0 {
		return nil
	}
	var (
		last, maxTs = int64(-1), int64(noTimestamp)
		maxTsOffset = s.next
		next        = s.next
	)
	for pos := 0; pos < len(records); {
		h, err := ParseBatchHeader(records[pos:])
		if err != nil {
			return fmt.Errorf("append to segment %d at position %d: %w", s.base, pos, err)
		}
		if h.Size() > int64(len(records)-pos) || h.LastOffsetDelta < 0 || h.BaseOffset < next {
			return fmt.Errorf("%w: batch at position %d does not follow offset %d", ErrInvalidRecord, pos, next)
		}
		next = h.NextOffset()
		last = h.LastOffset()
		if h.MaxTimestamp > maxTs {
			maxTs, maxTsOffset = h.MaxTimestamp, last
		}
		pos += int(h.Size())
	}
	if last-s.base > math.MaxInt32 || s.size+int64(len(records)) > math.MaxInt32 {
		return fmt.Errorf("append [%d, %d] does not fit segment %d", s.next, last, s.base)
	}
	return s.append(records, last, maxTs, maxTsOffset, indexInterval)
}

// carryTxnIndex gives a cleaned segment whose transaction index the
// cleaner did not write the aborted transactions of the segments it
// replaces, whose markers lie in its range: a cleaner that keeps
// transactional and control batches whole keeps every marker, so their
// entries stay right. A cleaner that rebuilds the index itself (Kafka's
// CleanedTransactionMetadata.cleanedIndex) appends to newSeg.txn and is
// left alone.
func carryTxnIndex(newSeg *segment, old []*segment) error {
	if newSeg.txn.written || len(newSeg.txn.entries) > 0 {
		return nil
	}
	for _, s := range old {
		for _, t := range s.txn.entries {
			if t.LastOffset < newSeg.base || t.LastOffset >= newSeg.next {
				continue
			}
			if err := newSeg.txn.append(newSeg, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// replaceSegments puts newSeg (a .cleaned segment) in place of old, a run
// of consecutive non-active segments oldest first, crash-safely as
// LocalLog.replaceSegments: .cleaned -> .swap, swap the list, old ->
// .deleted (removed after file.delete.delay.ms), .swap -> final name. Old
// segments already gone (retention) are skipped; if none is left, newSeg
// is discarded and an error returned.
func (l *Log) replaceSegments(newSeg *segment, old []*segment) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ioErr("replace segments", l.replaceSegmentsLocked(newSeg, old))
}

// replaceSegmentsLocked is replaceSegments with l.mu held.
func (l *Log) replaceSegmentsLocked(newSeg *segment, old []*segment) error {
	if l.closed {
		_ = l.discardSegment(newSeg)
		return ErrClosed
	}
	present := make(map[*segment]int, len(l.segs))
	for i, s := range l.segs {
		present[s] = i
	}
	var live []*segment
	var idx []int
	for _, s := range old {
		if i, ok := present[s]; ok {
			live = append(live, s)
			idx = append(idx, i)
		}
	}
	if len(live) == 0 {
		_ = l.discardSegment(newSeg)
		return errors.New("replace segments: none of the old segments is in the log any more")
	}
	for k := range idx {
		if idx[k] == len(l.segs)-1 {
			_ = l.discardSegment(newSeg)
			return errors.New("replace segments: the active segment cannot be replaced")
		}
		if k > 0 && idx[k] != idx[k-1]+1 {
			_ = l.discardSegment(newSeg)
			return errors.New("replace segments: old segments are not consecutive")
		}
	}
	if newSeg.base < live[0].base || (newSeg.size > 0 && newSeg.next > l.segs[idx[len(idx)-1]+1].base) {
		_ = l.discardSegment(newSeg)
		return fmt.Errorf("replace segments: new segment [%d, %d) does not fit in place of [%d, %d)",
			newSeg.base, newSeg.next, live[0].base, l.segs[idx[len(idx)-1]+1].base)
	}
	if err := carryTxnIndex(newSeg, live); err != nil {
		return err
	}
	if err := newSeg.finish(); err != nil {
		return err
	}
	if err := newSeg.sync(); err != nil {
		return err
	}
	if err := newSeg.changeSuffix(swapSuffix); err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("fsync dir %s: %w", l.dir, err)
	}
	// Swap the list: old out, new in, sorted by base.
	segs := append([]*segment(nil), l.segs[:idx[0]]...)
	segs = append(segs, newSeg)
	segs = append(segs, l.segs[idx[len(idx)-1]+1:]...)
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].base < segs[j].base })
	l.segs = segs
	for _, s := range live {
		if err := l.scheduleDelete(s); err != nil {
			return err
		}
		// UnifiedLog.replaceSegments: the snapshots of the replaced
		// segments go, except at a base the new segment keeps.
		if s.base != newSeg.base {
			if err := deleteProducerSnapshot(l.fs, l.dir, s.base); err != nil {
				return err
			}
		}
	}
	if err := newSeg.changeSuffix(""); err != nil {
		return err
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("fsync dir %s: %w", l.dir, err)
	}
	return nil
}
