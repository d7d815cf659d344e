package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	txnIndexSuffix = ".txnindex"
	// abortedTxnSize is one entry of a .txnindex (AbortedTxn.TOTAL_SIZE):
	// int16 version, int64 producerId, firstOffset, lastOffset,
	// lastStableOffset, big-endian.
	abortedTxnSize = 34
	// abortedTxnVersion is AbortedTxn.CURRENT_VERSION.
	abortedTxnVersion = 0
	// maxTxnIndexBytes bounds a .txnindex read into memory: 2^31 bytes is
	// more than a segment's 2^31 offsets can index.
	maxTxnIndexBytes = 1 << 31
)

// AbortedTxn is one aborted transaction of a partition (Kafka's AbortedTxn):
// its producer, the offsets of its first data batch and of its ABORT
// marker, and the last stable offset when the marker was appended.
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

// appendAbortedTxn encodes t as a version 0 .txnindex entry.
func appendAbortedTxn(b []byte, t AbortedTxn) []byte {
	b = binary.BigEndian.AppendUint16(b, abortedTxnVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(t.ProducerID))
	b = binary.BigEndian.AppendUint64(b, uint64(t.FirstOffset))
	b = binary.BigEndian.AppendUint64(b, uint64(t.LastOffset))
	return binary.BigEndian.AppendUint64(b, uint64(t.LastStableOffset))
}

// errTornTxnIndex marks a .txnindex whose length is not a whole number of
// entries: Kafka's iterator ignores the partial entry; a load treats the
// index as needing a rebuild.
var errTornTxnIndex = errors.New("partial entry at the end of the transaction index")

// decodeTxnIndex reads a .txnindex (TransactionIndex's iterator, and its
// sanityCheck against the segment's base offset): fixed 34-byte entries,
// version 0 (Kafka: "Unexpected aborted transaction version"), last offsets
// at or above base and strictly increasing (TransactionIndex.append's
// rule), first offset <= last offset. The whole entries before a torn tail
// are returned with errTornTxnIndex.
func decodeTxnIndex(b []byte, base int64) ([]AbortedTxn, error) {
	n := len(b) / abortedTxnSize
	out := make([]AbortedTxn, 0, n)
	prev := int64(-1)
	for i := 0; i < n; i++ {
		e := b[i*abortedTxnSize : (i+1)*abortedTxnSize]
		if v := int16(binary.BigEndian.Uint16(e)); v != abortedTxnVersion {
			return nil, fmt.Errorf("entry %d: unexpected aborted transaction version %d, current version is %d", i, v, abortedTxnVersion)
		}
		t := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(e[2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(e[10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(e[18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(e[26:])),
		}
		switch {
		case t.LastOffset < base:
			return nil, fmt.Errorf("entry %d: last offset %d of the aborted transaction is below the segment base %d", i, t.LastOffset, base)
		case t.LastOffset <= prev:
			return nil, fmt.Errorf("entry %d: last offset %d does not follow %d", i, t.LastOffset, prev)
		case t.FirstOffset < 0 || t.FirstOffset > t.LastOffset:
			return nil, fmt.Errorf("entry %d: first offset %d outside [0, last offset %d]", i, t.FirstOffset, t.LastOffset)
		}
		prev = t.LastOffset
		out = append(out, t)
	}
	if len(b)%abortedTxnSize != 0 {
		return out, errTornTxnIndex
	}
	return out, nil
}

// txnIndex is one segment's <base>.txnindex (TransactionIndex): the
// aborted transactions whose ABORT marker is in the segment, in marker
// order. The file is created with the first entry; no file is an empty
// index. Entries are kept in memory; the Log's lock guards it.
type txnIndex struct {
	entries []AbortedTxn
	f       *os.File // nil until the file is opened or created
	dirty   bool     // written since the last sync
}

// openTxnIndex loads <base>.txnindex<suffix> if it exists. A file that
// does not decode is reported with corrupt set and an empty index: the
// segment is recovered, which rebuilds it.
func openTxnIndex(fs FileSystem, dir string, base int64, suffix string) (ix txnIndex, corrupt error, err error) {
	name := segmentName(dir, base, txnIndexSuffix+suffix)
	f, err := fs.OpenFile(name, os.O_RDWR, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		return txnIndex{}, nil, nil
	}
	if err != nil {
		return txnIndex{}, nil, fmt.Errorf("open transaction index: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return txnIndex{}, nil, fmt.Errorf("stat %s: %w", name, err)
	}
	if fi.Size() > maxTxnIndexBytes {
		ix.f = f
		return ix, fmt.Errorf("transaction index %s has %d bytes", name, fi.Size()), nil
	}
	b := make([]byte, fi.Size())
	if _, err := fs.ReadAt(f, b, 0); err != nil && !errors.Is(err, io.EOF) {
		_ = f.Close()
		return txnIndex{}, nil, fmt.Errorf("read %s: %w", name, err)
	}
	ix.f = f
	entries, derr := decodeTxnIndex(b, base)
	if derr != nil {
		return ix, fmt.Errorf("transaction index %s: %w", name, derr), nil
	}
	ix.entries = entries
	return ix, nil, nil
}

// append adds an aborted transaction at the end of the file, creating it
// (TransactionIndex.append): its last offset must be above the previous
// entry's.
func (ix *txnIndex) append(s *segment, t AbortedTxn) error {
	if n := len(ix.entries); n > 0 && t.LastOffset <= ix.entries[n-1].LastOffset {
		return fmt.Errorf("the last offset of appended transactions must increase sequentially, but %d is not greater than current last offset %d of index %s",
			t.LastOffset, ix.entries[n-1].LastOffset, segmentName(s.dir, s.base, txnIndexSuffix+s.suffix))
	}
	if ix.f == nil {
		name := segmentName(s.dir, s.base, txnIndexSuffix+s.suffix)
		f, err := s.fs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("create transaction index: %w", err)
		}
		// Leftovers of an earlier life of this segment (a crash between
		// the file's creation and a truncation) are not entries.
		if err := s.fs.Truncate(f, int64(len(ix.entries))*abortedTxnSize); err != nil {
			_ = f.Close()
			return fmt.Errorf("truncate %s: %w", name, err)
		}
		ix.f = f
	}
	pos := int64(len(ix.entries)) * abortedTxnSize
	if n, err := s.fs.WriteAt(ix.f, appendAbortedTxn(nil, t), pos); err != nil {
		if n > 0 {
			_ = s.fs.Truncate(ix.f, pos)
		}
		return fmt.Errorf("write %s: %w", ix.f.Name(), err)
	}
	ix.entries = append(ix.entries, t)
	ix.dirty = true
	return nil
}

// truncateTo drops the entries whose marker is at or after offset
// (TransactionIndex.truncateTo).
func (ix *txnIndex) truncateTo(fs FileSystem, offset int64) error {
	n := len(ix.entries)
	for n > 0 && ix.entries[n-1].LastOffset >= offset {
		n--
	}
	if n == len(ix.entries) {
		return nil
	}
	ix.entries = ix.entries[:n]
	if ix.f == nil {
		return nil
	}
	if err := fs.Truncate(ix.f, int64(n)*abortedTxnSize); err != nil {
		return fmt.Errorf("truncate %s: %w", ix.f.Name(), err)
	}
	ix.dirty = true
	return nil
}

// reset empties the index (TransactionIndex.reset), before a recovery
// re-appends its entries.
func (ix *txnIndex) reset(fs FileSystem) error {
	ix.entries = nil
	if ix.f == nil {
		return nil
	}
	if err := fs.Truncate(ix.f, 0); err != nil {
		return fmt.Errorf("truncate %s: %w", ix.f.Name(), err)
	}
	ix.dirty = true
	return nil
}

// sync fsyncs the file if it changed (TransactionIndex.flush).
func (ix *txnIndex) sync(fs FileSystem) error {
	if ix.f == nil || !ix.dirty {
		return nil
	}
	if err := fs.Sync(ix.f); err != nil {
		return fmt.Errorf("fsync %s: %w", ix.f.Name(), err)
	}
	ix.dirty = false
	return nil
}

func (ix *txnIndex) close() error {
	if ix.f == nil {
		return nil
	}
	err := ix.f.Close()
	ix.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}

// collect adds to out the aborted transactions overlapping [fetchOffset,
// upperBound) (TransactionIndex.collectAbortedTxns); complete reports that
// an entry's LSO reached upperBound, so no later segment can hold one.
func (ix *txnIndex) collect(fetchOffset, upperBound int64, out []AbortedTxn) ([]AbortedTxn, bool) {
	for _, t := range ix.entries {
		if t.LastOffset >= fetchOffset && t.FirstOffset < upperBound {
			out = append(out, t)
		}
		if t.LastStableOffset >= upperBound {
			return out, true
		}
	}
	return out, false
}
