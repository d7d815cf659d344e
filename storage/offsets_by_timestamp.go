package storage

import (
	"errors"
	"fmt"
	"sort"
)

// TimestampAndOffset is a ListOffsets answer from the log
// (FileRecords.TimestampAndOffset): a record's offset and timestamp, and
// the leader epoch of its batch, -1 when unknown.
type TimestampAndOffset struct {
	Timestamp   int64
	Offset      int64
	LeaderEpoch int32
}

// ErrNegativeMaxOffsets is a v0 ListOffsets asking for fewer than zero
// offsets (Kafka fails to size its answer and reports an unknown server
// error).
var ErrNegativeMaxOffsets = errors.New("negative maximum number of offsets")

// OffsetOfMaxTimestamp is the record with the largest timestamp
// (UnifiedLog.fetchOffsetByTimestamp for MAX_TIMESTAMP): the first segment
// holding the largest batch max timestamp (all segments, as Kafka's
// maxBy over logSegments; the log start offset does not bound it), the
// first batch in it carrying that max timestamp, searched from the offset
// index entry of its recorded offset, and the first record of that batch
// whose timestamp equals it (RecordBatch.offsetOfMaxTimestamp, which
// decompresses). found is false when no batch carries it (an empty log).
func (l *Log) OffsetOfMaxTimestamp() (res TimestampAndOffset, found bool, err error) {
	// UnifiedLog.fetchOffsetByTimestamp under maybeHandleIOException.
	defer func() { err = l.ioErr("offset of max timestamp", err) }()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return res, false, ErrClosed
	}
	best := l.segs[0]
	for _, s := range l.segs[1:] {
		if s.maxTs > best.maxTs {
			best = s
		}
	}
	sc := newScanner(l.fs, best.log, best.lookup(best.maxTsOffset), best.size)
	for {
		h, pos, ok, err := sc.next()
		if err != nil {
			return res, false, fmt.Errorf("search max timestamp in segment %d: %w", best.base, err)
		}
		if !ok {
			return res, false, nil
		}
		if h.MaxTimestamp != best.maxTs {
			continue
		}
		batch := make([]byte, h.Size())
		if _, err := l.fs.ReadAt(best.log, batch, pos); err != nil {
			return res, false, fmt.Errorf("read batch at %d in %s: %w", pos, best.log.Name(), err)
		}
		recs, err := Records(batch)
		if err != nil {
			return res, false, fmt.Errorf("batch at %d in %s: %w", pos, best.log.Name(), err)
		}
		for _, r := range recs {
			if r.Timestamp == h.MaxTimestamp {
				return TimestampAndOffset{Timestamp: h.MaxTimestamp, Offset: r.Offset, LeaderEpoch: max(h.PartitionLeaderEpoch, -1)}, true, nil
			}
		}
		// Kafka's find stops at the first batch with that max timestamp,
		// whether or not a record of it carries it.
		return res, false, nil
	}
}

// SearchOffsetByTimestamp is the first record at or after the log start
// whose timestamp is >= ts (UnifiedLog.searchOffsetInLocalLog,
// LogSegment.findOffsetByTimestamp, FileRecords.searchForTimestamp): only
// the first segment whose largest timestamp (its file's modification time
// when it has none) is >= ts is searched, from its time and offset index
// entries; in each batch whose max timestamp is >= ts the records are
// walked, compressed ones decompressed, and the first with timestamp >= ts
// and offset >= the log start is the answer, with its batch's leader epoch.
func (l *Log) SearchOffsetByTimestamp(ts int64) (res TimestampAndOffset, found bool, err error) {
	// UnifiedLog.fetchOffsetByTimestamp under maybeHandleIOException.
	defer func() { err = l.ioErr("search offset by timestamp", err) }()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return res, false, ErrClosed
	}
	var target *segment
	for _, s := range l.segs {
		if s.largestTimestamp() >= ts {
			target = s
			break
		}
	}
	if target == nil {
		return res, false, nil
	}
	sc := newScanner(l.fs, target.log, target.lookup(max(target.timeLookup(ts), l.logStart)), target.size)
	for {
		h, pos, ok, err := sc.next()
		if err != nil {
			return res, false, fmt.Errorf("search timestamp %d in segment %d: %w", ts, target.base, err)
		}
		if !ok {
			return res, false, nil
		}
		if h.MaxTimestamp < ts {
			continue
		}
		batch := make([]byte, h.Size())
		if _, err := l.fs.ReadAt(target.log, batch, pos); err != nil {
			return res, false, fmt.Errorf("read batch at %d in %s: %w", pos, target.log.Name(), err)
		}
		recs, err := Records(batch)
		if err != nil {
			return res, false, fmt.Errorf("batch at %d in %s: %w", pos, target.log.Name(), err)
		}
		for _, r := range recs {
			if r.Timestamp >= ts && r.Offset >= l.logStart {
				return TimestampAndOffset{Timestamp: r.Timestamp, Offset: r.Offset, LeaderEpoch: max(h.PartitionLeaderEpoch, -1)}, true, nil
			}
		}
	}
}

// LegacyOffsetsBefore answers a v0 ListOffsets (UnifiedLog.
// legacyFetchOffsetsBefore): the candidates are every segment's base
// offset (raised to the log start offset) with the segment file's
// modification time, plus the LEO stamped nowMs when the active segment
// holds data. latest (-1) starts from the last candidate, earliest (-2)
// from the first, any other timestamp from the last candidate modified at
// or before it; from there up to maxNumOffsets candidates going back,
// returned highest offset first. Nothing qualifies: an empty list.
func (l *Log) LegacyOffsetsBefore(timestamp int64, maxNumOffsets int32, nowMs int64) ([]int64, error) {
	type candidate struct{ offset, mtime int64 }
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return nil, ErrClosed
	}
	cands := make([]candidate, 0, len(l.segs)+1)
	for _, s := range l.segs {
		// LogSegment.lastModified is java.io.File.lastModified, 0 when
		// the file cannot be read.
		var mtime int64
		if fi, err := s.log.Stat(); err == nil {
			mtime = fi.ModTime().UnixMilli()
		}
		cands = append(cands, candidate{max(s.base, l.logStart), mtime})
	}
	if active := l.active(); active.size > 0 {
		cands = append(cands, candidate{active.next, nowMs})
	}
	l.mu.RUnlock()

	var start int
	switch timestamp {
	case -1: // ListOffsetsRequest.LATEST_TIMESTAMP
		start = len(cands) - 1
	case -2: // ListOffsetsRequest.EARLIEST_TIMESTAMP
		start = 0
	default:
		start = len(cands) - 1
		for start >= 0 && cands[start].mtime > timestamp {
			start--
		}
	}
	n := min(int64(maxNumOffsets), int64(start+1))
	if n < 0 {
		return nil, fmt.Errorf("%w: %d", ErrNegativeMaxOffsets, maxNumOffsets)
	}
	out := make([]int64, 0, n)
	for i := start; i > start-int(n); i-- {
		out = append(out, cands[i].offset)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] > out[j] })
	return out, nil
}

// EarliestOffsetAndEpoch is the log start offset and the leader epoch
// Kafka reports with it (UnifiedLog.fetchOffsetByTimestamp for
// EARLIEST_TIMESTAMP): the earliest cached epoch if it starts at or
// before the log start offset, else -1.
func (l *Log) EarliestOffsetAndEpoch() (int64, int32) {
	start := l.LogStartOffset()
	if entries := l.epochs.Entries(); len(entries) > 0 && entries[0].StartOffset <= start {
		return start, entries[0].Epoch
	}
	return start, -1
}
