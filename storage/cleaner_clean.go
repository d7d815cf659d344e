package storage

// Cleaning one log (Kafka's Cleaner.doClean, buildOffsetMap,
// groupSegmentsBySize, cleanSegments, cleanInto and MemoryRecords.filterTo).

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// cleanerIOBuffer is how much of a segment is read at a time (grown for
// a larger batch), and how much output is gathered before a write.
const cleanerIOBuffer = 1 << 20

// segSnap is a segment as the cleaner saw it: non-active segments do not
// change except by truncation, which aborts the clean.
type segSnap struct {
	seg                *segment
	base, size, next   int64
	indexBytes, tBytes int64
}

// cleanHooks lets tests stop a clean at a chosen point.
type cleanHooks struct {
	// beforeReplace runs when a cleaned segment is complete, before it is
	// swapped in; an error ends the clean there, leaving files as they are
	// (a simulated crash).
	beforeReplace func(l *Log, cleaned *segment, old []*segment) error
}

// cleanRun is one cleaning of one log.
type cleanRun struct {
	ctx   context.Context
	ltc   *logToClean
	l     *Log
	cfg   LogConfig
	om    *offsetMap
	now   int64
	hooks *cleanHooks
	stats CleanStats
	// aborted are the log's aborted transactions and lastRecords its
	// active producers' last records, read with the segments
	// (cleaner_txn.go); mapTxn and cleanTxn follow the transactions while
	// the offset map is built and while segments are cleaned (two
	// CleanedTransactionMetadata, as Kafka's).
	aborted          []AbortedTxn
	lastRecords      map[int64]lastRecord
	mapTxn, cleanTxn *cleanedTxnMeta
	readBuf          []byte
}

// cleanLog cleans ltc.log (Cleaner.doClean): it maps the latest offset of
// every key in [firstDirty, firstUncleanable), then rewrites every segment
// below the map's end, group by group.
func cleanLog(ctx context.Context, ltc *logToClean, om *offsetMap, now int64, hooks *cleanHooks) (CleanStats, error) {
	start := time.Now()
	if hooks == nil {
		hooks = &cleanHooks{}
	}
	r := &cleanRun{ctx: ctx, ltc: ltc, l: ltc.log, om: om, now: now, hooks: hooks,
		stats: CleanStats{Partition: ltc.tp, FirstDirtyOffset: ltc.firstDirty}}
	err := r.run()
	r.stats.Duration = time.Since(start)
	if err != nil {
		return r.stats, fmt.Errorf("clean %s: %w", ltc.log.Dir(), err)
	}
	return r.stats, nil
}

func (r *cleanRun) checkDone() error {
	if r.ctx.Err() != nil || (r.ltc.task != nil && r.ltc.task.aborted.Load()) {
		return errCleaningAborted
	}
	return nil
}

func (r *cleanRun) snapshot() ([]segSnap, error) {
	l := r.l
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	if l.truncGen != r.ltc.truncGen {
		return nil, errCleaningAborted
	}
	r.cfg = l.cfg
	out := make([]segSnap, len(l.segs))
	for i, s := range l.segs {
		out[i] = segSnap{seg: s, base: s.base, size: s.size, next: s.next,
			indexBytes: int64(s.oidx.n * offsetIndexEntrySize), tBytes: int64(s.tidx.n * timeIndexEntrySize)}
	}
	return out, nil
}

func (r *cleanRun) run() error {
	// Cleaner.doClean: lastRecordsOfActiveProducers, and the .txnindex
	// entries of every segment (each cleaned segment's
	// collectAbortedTransactions). A truncation meanwhile aborts the clean.
	r.lastRecords = r.l.lastRecordsOfActiveProducers()
	r.aborted = r.l.collectAbortedTransactionsForCleaning(r.l.LogStartOffset(), r.l.LogEndOffset())
	segs, err := r.snapshot()
	if err != nil {
		return err
	}
	// The offset map's pass reads from the first dirty offset: only the
	// aborted transactions whose marker it can reach (Kafka collects them
	// from the first dirty segment on).
	var mapAborted []AbortedTxn
	for _, a := range r.aborted {
		if a.LastOffset >= r.ltc.firstDirty {
			mapAborted = append(mapAborted, a)
		}
	}
	r.mapTxn = newCleanedTxnMeta(mapAborted)
	r.cleanTxn = newCleanedTxnMeta(r.aborted)
	r.om.reset()
	if err := r.buildOffsetMap(segs); err != nil {
		return err
	}
	end := r.om.latest + 1
	r.stats.KeysMapped = r.om.size
	if end <= r.ltc.firstDirty {
		if !r.om.full() {
			r.stats.EndOffset = r.ltc.firstDirty // nothing dirty
			return nil
		}
		return fmt.Errorf("the offset map (%d entries) cannot hold the keys of one batch at offset %d", r.om.maxSize, r.ltc.firstDirty)
	}
	r.stats.EndOffset = end
	var toClean []segSnap
	for _, s := range segs[:len(segs)-1] {
		if s.base < end {
			toClean = append(toClean, s)
		}
	}
	for _, group := range groupSegmentsBySize(toClean, r.cfg.SegmentBytes, int64(r.cfg.MaxIndexBytes), r.ltc.firstUncleanable, segs) {
		if err := r.cleanSegments(group); err != nil {
			return err
		}
	}
	return nil
}

// buildOffsetMap maps each key's latest offset over the dirty segments
// (Cleaner.buildOffsetMap), stopping when the map is full. Control
// batches only update the transaction state; the data of aborted
// transactions is not mapped, so it never shadows an older committed
// value (buildOffsetMapForSegment).
func (r *cleanRun) buildOffsetMap(segs []segSnap) error {
	from, to := r.ltc.firstDirty, r.ltc.firstUncleanable
	for i, s := range segs[:len(segs)-1] {
		if s.base >= to {
			break
		}
		if i+1 < len(segs) && segs[i+1].base <= from {
			continue
		}
		full := false
		err := r.forEachBatch(s, func(batch []byte, h BatchHeader) (bool, error) {
			if h.LastOffset() < from {
				return true, nil
			}
			aborted := false
			if h.IsControl() {
				if _, err := r.mapTxn.onControlBatchRead(batch, h); err != nil {
					return false, err
				}
			} else {
				aborted = r.mapTxn.onBatchRead(h)
			}
			if !h.IsControl() && !aborted {
				body, err := Decompress(h.Compression(), batch[BatchHeaderSize:])
				if err != nil {
					return false, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
				}
				err = walkRecords(body, func(ri recordInfo) bool {
					off := h.BaseOffset + int64(ri.OffsetDelta)
					if ri.KeyNull || off < from {
						return true
					}
					if !r.om.put(ri.Key, off) {
						full = true
						return false
					}
					return true
				})
				if err != nil {
					return false, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
				}
				if full {
					return false, nil
				}
			}
			r.om.updateLatest(h.LastOffset())
			return true, nil
		})
		if err != nil {
			return err
		}
		if full {
			break
		}
	}
	return nil
}

// forEachBatch reads a segment's batches in large chunks and calls fn
// with each whole batch, CRC-checked; fn returns false to stop. The batch
// bytes are only valid during the call.
func (r *cleanRun) forEachBatch(s segSnap, fn func(batch []byte, h BatchHeader) (bool, error)) error {
	if r.readBuf == nil {
		r.readBuf = make([]byte, cleanerIOBuffer)
	}
	for pos := int64(0); pos < s.size; {
		if err := r.checkDone(); err != nil {
			return err
		}
		n := min(int64(len(r.readBuf)), s.size-pos)
		buf := r.readBuf[:n]
		if _, err := s.seg.fs.ReadAt(s.seg.log, buf, pos); err != nil {
			return r.readError(s, pos, err)
		}
		used := 0
		for used < len(buf) {
			rest := buf[used:]
			if len(rest) < BatchHeaderSize {
				break
			}
			h, err := ParseBatchHeader(rest)
			if err != nil {
				return fmt.Errorf("segment %d position %d: %w", s.base, pos+int64(used), err)
			}
			if h.Size() > s.size-pos-int64(used) {
				return fmt.Errorf("%w: segment %d position %d: batch of %d bytes beyond the segment end", ErrCorruptMessage, s.base, pos+int64(used), h.Size())
			}
			if h.Size() > int64(len(rest)) {
				break
			}
			batch := rest[:h.Size()]
			if _, err := checkBatch(batch); err != nil {
				return fmt.Errorf("segment %d position %d: %w", s.base, pos+int64(used), err)
			}
			used += len(batch)
			more, err := fn(batch, h)
			if err != nil || !more {
				return err
			}
		}
		if used == 0 {
			// One batch larger than the buffer: grow it (growBuffersOrFail).
			h, err := ParseBatchHeader(buf)
			if err != nil {
				return fmt.Errorf("segment %d position %d: %w", s.base, pos, err)
			}
			if h.Size() > math.MaxInt32 {
				return fmt.Errorf("%w: batch of %d bytes", ErrCorruptMessage, h.Size())
			}
			r.readBuf = make([]byte, h.Size())
			continue
		}
		pos += int64(used)
	}
	return nil
}

// readError turns a read failure of a segment that truncation or
// deletion changed into an abort.
func (r *cleanRun) readError(s segSnap, pos int64, err error) error {
	r.l.mu.RLock()
	changed := r.l.closed || r.l.truncGen != r.ltc.truncGen
	r.l.mu.RUnlock()
	if changed {
		return errCleaningAborted
	}
	return fmt.Errorf("read segment %d at %d: %w", s.base, pos, err)
}

// groupSegmentsBySize groups consecutive segments whose sizes add up to
// at most maxSize, whose index sizes add up to at most maxIndexSize and
// whose offsets fit one segment (Cleaner.groupSegmentsBySize).
func groupSegmentsBySize(segs []segSnap, maxSize, maxIndexSize, firstUncleanable int64, all []segSnap) [][]segSnap {
	// lastOffset is the last offset a segment may hold: the next
	// segment's base - 1, or firstUncleanable - 1 (lastOffsetForFirstSegment).
	lastOffset := func(s segSnap) int64 {
		for i := range all {
			if all[i].base == s.base && i+1 < len(all) {
				return all[i+1].base - 1
			}
		}
		return firstUncleanable - 1
	}
	var groups [][]segSnap
	for len(segs) > 0 {
		group := []segSnap{segs[0]}
		size, isize, tsize := segs[0].size, segs[0].indexBytes, segs[0].tBytes
		segs = segs[1:]
		for len(segs) > 0 {
			s := segs[0]
			if size+s.size > maxSize || isize+s.indexBytes > maxIndexSize || tsize+s.tBytes > maxIndexSize ||
				(s.size > 0 && lastOffset(s)-group[0].base > math.MaxInt32) {
				break
			}
			group = append(group, s)
			size, isize, tsize = size+s.size, isize+s.indexBytes, tsize+s.tBytes
			segs = segs[1:]
		}
		groups = append(groups, group)
	}
	return groups
}

// cleanedBatch is one batch written to the cleaned segment.
type cleanedBatch struct {
	size, lastOffset, maxTs int64
}

// cleanSegments rewrites a group of segments into one .cleaned segment
// and swaps it in (Cleaner.cleanSegments).
func (r *cleanRun) cleanSegments(group []segSnap) error {
	// Each cleaned segment gets its own transaction index entries.
	r.cleanTxn.cleanedIndex = nil
	cleaned, err := r.l.newCleanedSegment(group[0].base)
	if err != nil {
		return err
	}
	keep := false // leave the files (a simulated crash)
	defer func() {
		if err != nil && !keep {
			_ = r.l.discardSegment(cleaned)
		}
	}()
	var (
		out   []byte
		metas []cleanedBatch
	)
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		if err := cleaned.appendCleaned(out, metas, r.cfg.IndexIntervalBytes); err != nil {
			return err
		}
		r.stats.BytesWritten += int64(len(out))
		out, metas = out[:0], metas[:0]
		return nil
	}
	for _, s := range group {
		err = r.forEachBatch(s, func(batch []byte, h BatchHeader) (bool, error) {
			r.stats.BytesRead += int64(len(batch))
			kept, err := r.filterBatch(batch, h)
			if err != nil {
				return false, err
			}
			if kept == nil {
				return true, nil
			}
			kh, err := ParseBatchHeader(kept)
			if err != nil {
				return false, err
			}
			out = append(out, kept...)
			metas = append(metas, cleanedBatch{size: int64(len(kept)), lastOffset: kh.LastOffset(), maxTs: kh.MaxTimestamp})
			if len(out) >= cleanerIOBuffer {
				return true, flush()
			}
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	if err = flush(); err != nil {
		return err
	}
	// The cleaned segment's .txnindex: the aborted transactions whose
	// markers it keeps with their data (CleanedTransactionMetadata.cleanedIndex).
	for _, t := range r.cleanTxn.cleanedIndex {
		if err = cleaned.txn.append(cleaned, t); err != nil {
			return err
		}
	}
	// Even empty, this index is the cleaner's: replaceSegments must not
	// carry the old segments' entries into it (carryTxnIndex).
	cleaned.txn.written = true
	r.stats.SegmentsIn += len(group)
	r.stats.SegmentsOut++
	// The cleaned segment keeps the last modified time of the last old
	// one, which retention may fall back on.
	if fi, serr := group[len(group)-1].seg.log.Stat(); serr == nil {
		_ = os.Chtimes(cleaned.log.Name(), fi.ModTime(), fi.ModTime())
	}
	old := make([]*segment, len(group))
	for i, s := range group {
		old[i] = s.seg
	}
	if r.hooks.beforeReplace != nil {
		if err = r.hooks.beforeReplace(r.l, cleaned, old); err != nil {
			keep = true
			return err
		}
	}
	if err = r.checkDone(); err != nil {
		return err
	}
	l := r.l
	l.mu.Lock()
	switch {
	case l.closed:
		err = ErrClosed
	case l.truncGen != r.ltc.truncGen || !l.holdsInactiveLocked(old):
		// Truncated, or retention removed some of the old segments.
		err = errCleaningAborted
	default:
		err = l.replaceSegmentsLocked(cleaned, old)
		keep = true // replaceSegments discarded or placed it
	}
	l.mu.Unlock()
	return err
}

// holdsInactiveLocked reports whether segs are all in the log, in order
// and consecutive, none of them the active segment; l.mu is held.
func (l *Log) holdsInactiveLocked(segs []*segment) bool {
	i := 0
	for i < len(l.segs) && l.segs[i] != segs[0] {
		i++
	}
	if i+len(segs) >= len(l.segs) {
		return false
	}
	for k, s := range segs {
		if l.segs[i+k] != s {
			return false
		}
	}
	return true
}

// filterBatch returns the bytes to keep for one batch (nil: drop it),
// following MemoryRecords.filterTo with the cleaner's record filter:
//   - a record is kept if it is past the offset map's latest offset, or
//     has a key, is the latest for it and is not a tombstone whose batch's
//     delete horizon has passed; a keyless record up to the map's latest
//     offset is dropped (LogCleaner.shouldRetainRecord: invalid for
//     compaction, which LogValidator.validateKey refuses at produce time);
//   - a batch that keeps everything and needs no new delete horizon is
//     copied as it is;
//   - otherwise the kept records are re-encoded with the batch's codec,
//     producer fields, base offset and last offset; a batch with a kept
//     tombstone and no delete horizon gets horizon now+delete.retention.ms
//     in its base timestamp, with attribute bit 6 (KIP-534);
//   - a batch left empty is dropped unless it is its producer's last one,
//     which stays as an empty batch (BatchRetention.RETAIN_EMPTY);
//   - transactions (cleaner_txn.go, checkBatchRetention): an aborted
//     transaction's data batch is dropped whole; a marker with no data of
//     its transaction left in this pass gets a delete horizon, and is
//     dropped by a pass after it; other control records are kept.
func (r *cleanRun) filterBatch(batch []byte, h BatchHeader) ([]byte, error) {
	r.stats.RecordsRead += int64(max(h.RecordCount, 0))
	hasHorizon := h.Attributes&attrDeleteHorizon != 0
	var canDiscard bool
	if h.IsControl() {
		var err error
		if canDiscard, err = r.cleanTxn.onControlBatchRead(batch, h); err != nil {
			return nil, err
		}
	} else {
		canDiscard = r.cleanTxn.onBatchRead(h)
	}
	// discardBatchRecords: aborted data at once, a marker only after its
	// delete horizon.
	discardRecords := canDiscard
	if h.IsControl() {
		discardRecords = canDiscard && hasHorizon && h.BaseTimestamp <= r.now
	}
	lastOfProducer := r.isLastRecordOfProducer(h)
	if discardRecords && !lastOfProducer {
		return nil, nil // BatchRetention.DELETE
	}
	markerForEmptyTxn := canDiscard && h.IsControl()
	retainDeletes := !hasHorizon || r.now < h.BaseTimestamp
	body, err := Decompress(h.Compression(), batch[BatchHeaderSize:])
	if err != nil {
		return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	var (
		keepAll    = true
		kept       int
		tombstones bool
		keepIdx    []int
		i          int
	)
	err = walkRecords(body, func(ri recordInfo) bool {
		off := h.BaseOffset + int64(ri.OffsetDelta)
		keep := true
		switch {
		case discardRecords:
			keep = false
		case h.IsControl():
		case off > r.om.latest:
		case ri.KeyNull:
			keep = false
		default:
			keep = off >= r.om.get(ri.Key) && (!ri.ValueNull || retainDeletes)
		}
		if keep {
			kept++
			keepIdx = append(keepIdx, i)
			if ri.ValueNull {
				tombstones = true
			}
		} else {
			keepAll = false
		}
		i++
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err)
	}
	r.stats.RecordsRetained += int64(kept)
	needHorizon := (tombstones || markerForEmptyTxn) && !hasHorizon
	if kept > 0 && keepAll && !needHorizon {
		return batch, nil
	}
	if kept == 0 {
		if lastOfProducer {
			return BuildBatch(h, nil)
		}
		return nil, nil
	}
	recs, err := Records(batch)
	if err != nil {
		return nil, err
	}
	keepRecs := make([]Record, 0, kept)
	for _, k := range keepIdx {
		if k < len(recs) {
			keepRecs = append(keepRecs, recs[k])
		}
	}
	nh := h
	if needHorizon {
		nh.Attributes |= attrDeleteHorizon
		nh.BaseTimestamp = r.now + r.cfg.DeleteRetentionMs
		if r.cfg.DeleteRetentionMs > math.MaxInt64-r.now {
			nh.BaseTimestamp = math.MaxInt64
		}
	}
	return BuildBatch(nh, keepRecs)
}

// appendCleaned writes batches of a cleaned segment in one write and
// indexes them batch by batch as LogSegment.append would one at a time.
func (s *segment) appendCleaned(buf []byte, metas []cleanedBatch, indexInterval int) error {
	if len(metas) == 0 {
		return nil
	}
	last := metas[len(metas)-1].lastOffset
	if last-s.base > math.MaxInt32 || s.size+int64(len(buf)) > math.MaxInt32 {
		return fmt.Errorf("cleaned batches up to offset %d do not fit segment %d", last, s.base)
	}
	if n, err := s.fs.WriteAt(s.log, buf, s.size); err != nil {
		if n > 0 {
			_ = s.fs.Truncate(s.log, s.size)
		}
		return fmt.Errorf("write %s: %w", s.log.Name(), err)
	}
	for _, m := range metas {
		pos := s.size
		if m.maxTs > s.maxTs {
			s.maxTs, s.maxTsOffset = m.maxTs, m.lastOffset
		}
		if s.bytesSinceIndex > int64(indexInterval) && !s.oidx.full() {
			if err := s.oidx.append(offsetEntry{rel: int32(m.lastOffset - s.base), pos: int32(pos)}); err != nil {
				return err
			}
			if err := s.maybeAppendTimeEntry(false); err != nil {
				return err
			}
			s.bytesSinceIndex = 0
		}
		s.bytesSinceIndex += m.size
		s.size += m.size
		s.next = m.lastOffset + 1
	}
	return nil
}
