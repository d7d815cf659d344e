package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// mmapIndex is one index file (.index or .timeindex) memory-mapped as
// Kafka's AbstractIndex: while its segment is active the file is
// preallocated to segment.index.bytes (rounded down to whole entries) and
// mapped read-write; when the segment rolls or the log closes it is trimmed
// to its entries and mapped read-only. The Log's lock guards it.
type mmapIndex struct {
	fs         FileSystem
	f          *os.File
	entrySize  int
	mm         []byte // the mapping; nil when the file is empty
	n          int    // entries in use
	maxEntries int    // entries the mapping can hold
	writable   bool
	// allocated is how many bytes from the start of the file are known to
	// be backed by disk space (written entries, or reserved by reserve).
	allocated int64
}

// openIndex opens (creating if missing) an index file and maps it
// read-only at its current length. The entry count ends at the first
// all-zero entry (a preallocated tail, as an unclean stop leaves it).
func openIndex(fs FileSystem, path string, entrySize int) (*mmapIndex, error) {
	f, err := fs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	ix := &mmapIndex{fs: fs, f: f, entrySize: entrySize}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("stat index %s: %w", path, err)
	}
	if err := ix.remap(fi.Size(), false); err != nil {
		_ = f.Close()
		return nil, err
	}
	if ix.n, err = ix.countEntries(); err != nil {
		_ = ix.close(false)
		return nil, err
	}
	ix.allocated = int64(ix.n * ix.entrySize)
	return ix, nil
}

// remap replaces the mapping by one of length bytes (rounded down to whole
// entries) of the current file. If the new mapping fails the entries are
// dropped from memory (lookups then scan from the segment start, which is
// slower but right; the file keeps them for the next open) rather than
// left pointing at nothing.
func (ix *mmapIndex) remap(length int64, writable bool) error {
	if ix.mm != nil {
		if err := ix.fs.Munmap(ix.mm); err != nil {
			return fmt.Errorf("munmap %s: %w", ix.f.Name(), err)
		}
		ix.mm = nil
	}
	length -= length % int64(ix.entrySize)
	ix.writable = writable
	ix.maxEntries = int(length) / ix.entrySize
	if length == 0 {
		ix.n = 0
		return nil
	}
	mm, err := ix.fs.Mmap(ix.f, int(length), writable)
	if err != nil {
		ix.maxEntries, ix.n, ix.writable = 0, 0, false
		return fmt.Errorf("mmap %s: %w", ix.f.Name(), err)
	}
	ix.mm = mm
	ix.n = min(ix.n, ix.maxEntries)
	return nil
}

// countEntries finds the first all-zero entry by binary search (entries
// are written in order, the preallocated rest is zero). It reads the file
// rather than the mapping: the preallocated tail is a hole, and on tmpfs
// touching a hole through a shared mapping allocates a page, which on a
// full file system is a SIGBUS that kills the process; read(2) of a hole
// allocates nothing. The mapping is only ever read below the n entries.
func (ix *mmapIndex) countEntries() (int, error) {
	var buf [timeIndexEntrySize]byte
	e := buf[:ix.entrySize]
	lo, hi := 0, ix.maxEntries
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if _, err := ix.fs.ReadAt(ix.f, e, int64(mid*ix.entrySize)); err != nil {
			return 0, fmt.Errorf("read index %s: %w", ix.f.Name(), err)
		}
		zero := true
		for _, b := range e {
			if b != 0 {
				zero = false
				break
			}
		}
		if !zero {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// fileSize is the length of the index file on disk.
func (ix *mmapIndex) fileSize() (int64, error) {
	fi, err := ix.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat index %s: %w", ix.f.Name(), err)
	}
	return fi.Size(), nil
}

// activate preallocates the file to maxBytes and maps it read-write
// (AbstractIndex.resize).
func (ix *mmapIndex) activate(maxBytes int) error {
	length := int64(maxBytes) - int64(maxBytes)%int64(ix.entrySize)
	length = max(length, int64(ix.n*ix.entrySize))
	if ix.writable && int64(len(ix.mm)) == length {
		return nil
	}
	// Cut to the entries first so the preallocated rest reads as zeros.
	// The old mapping stays until remap: only its first n entries are
	// read, and those stay in the file whatever fails here.
	if err := ix.fs.Truncate(ix.f, int64(ix.n*ix.entrySize)); err != nil {
		return fmt.Errorf("preallocate index %s: %w", ix.f.Name(), err)
	}
	ix.allocated = min(ix.allocated, int64(ix.n*ix.entrySize))
	if err := ix.fs.Truncate(ix.f, length); err != nil {
		return fmt.Errorf("preallocate index %s: %w", ix.f.Name(), err)
	}
	return ix.remap(length, true)
}

// trim cuts the file to its entries and maps it read-only
// (AbstractIndex.trimToValidSize).
func (ix *mmapIndex) trim() error {
	length := int64(ix.n * ix.entrySize)
	if size, err := ix.fileSize(); err == nil && size == length && !ix.writable && len(ix.mm) == int(length) {
		return nil
	}
	// The mapping stays until remap (only the first n entries are read).
	if err := ix.fs.Truncate(ix.f, length); err != nil {
		return fmt.Errorf("trim index %s: %w", ix.f.Name(), err)
	}
	ix.allocated = min(ix.allocated, length)
	return ix.remap(length, false)
}

// reset drops every entry (AbstractIndex.reset): the file is emptied and,
// if maxBytes > 0, preallocated again.
func (ix *mmapIndex) reset(maxBytes int) error {
	ix.n = 0
	if ix.mm != nil {
		if err := ix.fs.Munmap(ix.mm); err != nil {
			return fmt.Errorf("munmap %s: %w", ix.f.Name(), err)
		}
		ix.mm = nil
		ix.maxEntries = 0
	}
	if err := ix.fs.Truncate(ix.f, 0); err != nil {
		return fmt.Errorf("reset index %s: %w", ix.f.Name(), err)
	}
	ix.allocated = 0
	ix.writable = false
	if maxBytes > 0 {
		return ix.activate(maxBytes)
	}
	return nil
}

// truncateEntries keeps the first n entries, zeroing the rest so that a
// later open counts them right.
func (ix *mmapIndex) truncateEntries(n int) {
	if n >= ix.n {
		return
	}
	if ix.writable {
		clear(ix.mm[n*ix.entrySize : ix.n*ix.entrySize])
	}
	ix.n = n
}

func (ix *mmapIndex) full() bool { return ix.n >= ix.maxEntries }

func (ix *mmapIndex) entry(i int) []byte {
	return ix.mm[i*ix.entrySize : (i+1)*ix.entrySize]
}

// indexPage is the granularity reserve allocates index space in.
const indexPage = 4096

// reserve makes sure the disk space behind the next entry is allocated
// before the entry is written through the mapping. The preallocated index
// is a sparse file: on a full disk, storing into a page not yet backed
// would raise SIGBUS and kill the process, where Kafka's JVM would get an
// InternalError. Reserving the page first turns that into an ENOSPC error
// (one fallocate per page of entries).
func (ix *mmapIndex) reserve() error {
	end := int64((ix.n + 1) * ix.entrySize)
	if end <= ix.allocated {
		return nil
	}
	upTo := min((end+indexPage-1)/indexPage*indexPage, int64(len(ix.mm)))
	if upTo <= ix.allocated {
		return nil
	}
	if err := ix.fs.Allocate(ix.f, ix.allocated, upTo-ix.allocated); err != nil {
		return fmt.Errorf("allocate index %s: %w", ix.f.Name(), err)
	}
	ix.allocated = upTo
	return nil
}

// put writes the next entry; the caller checks full and writable.
func (ix *mmapIndex) put(b []byte) error {
	if !ix.writable || ix.n >= ix.maxEntries {
		return fmt.Errorf("index %s is full or inactive (%d of %d entries)", ix.f.Name(), ix.n, ix.maxEntries)
	}
	if err := ix.reserve(); err != nil {
		return err
	}
	copy(ix.mm[ix.n*ix.entrySize:], b)
	ix.n++
	return nil
}

// sync writes the mapping and the file's metadata to disk.
func (ix *mmapIndex) sync() error {
	if ix.writable && ix.mm != nil {
		if err := ix.fs.Msync(ix.f, ix.mm); err != nil {
			return fmt.Errorf("msync %s: %w", ix.f.Name(), err)
		}
	}
	if err := ix.fs.Sync(ix.f); err != nil {
		return fmt.Errorf("fsync %s: %w", ix.f.Name(), err)
	}
	return nil
}

// close unmaps and closes; with trim the file is first cut to its entries.
func (ix *mmapIndex) close(trim bool) error {
	var errs []error
	if trim {
		if err := ix.trim(); err != nil {
			errs = append(errs, err)
		}
	}
	if ix.mm != nil {
		if err := ix.fs.Munmap(ix.mm); err != nil {
			errs = append(errs, fmt.Errorf("munmap %s: %w", ix.f.Name(), err))
		}
		ix.mm = nil
	}
	ix.maxEntries, ix.writable = 0, false
	if err := ix.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// offsetIndex maps a relative offset to a file position (OffsetIndex).
type offsetIndex struct{ *mmapIndex }

func (o offsetIndex) at(i int) offsetEntry {
	b := o.entry(i)
	return offsetEntry{rel: int32(binary.BigEndian.Uint32(b)), pos: int32(binary.BigEndian.Uint32(b[4:]))}
}

func (o offsetIndex) last() (offsetEntry, bool) {
	if o.n == 0 {
		return offsetEntry{}, false
	}
	return o.at(o.n - 1), true
}

func (o offsetIndex) append(e offsetEntry) error {
	var b [offsetIndexEntrySize]byte
	binary.BigEndian.PutUint32(b[:], uint32(e.rel))
	binary.BigEndian.PutUint32(b[4:], uint32(e.pos))
	return o.put(b[:])
}

// floor returns the number of entries whose relative offset is <= rel (binary
// search in the mapping; the entry before that count is the floor entry).
func (o offsetIndex) floor(rel int64) int {
	lo, hi := 0, o.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int64(o.at(mid).rel) <= rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// timeIndex maps a timestamp to a relative offset (TimeIndex).
type timeIndex struct{ *mmapIndex }

func (t timeIndex) at(i int) timeEntry {
	b := t.entry(i)
	return timeEntry{ts: int64(binary.BigEndian.Uint64(b)), rel: int32(binary.BigEndian.Uint32(b[8:]))}
}

func (t timeIndex) last() (timeEntry, bool) {
	if t.n == 0 {
		return timeEntry{}, false
	}
	return t.at(t.n - 1), true
}

func (t timeIndex) append(e timeEntry) error {
	var b [timeIndexEntrySize]byte
	binary.BigEndian.PutUint64(b[:], uint64(e.ts))
	binary.BigEndian.PutUint32(b[8:], uint32(e.rel))
	return t.put(b[:])
}

// full reserves the last slot for the entry written on roll (TimeIndex.isFull).
func (t timeIndex) full() bool { return t.n >= t.maxEntries-1 }

// floor returns the number of entries whose timestamp is <= ts.
func (t timeIndex) floor(ts int64) int {
	lo, hi := 0, t.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if t.at(mid).ts <= ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// countBelowRel returns the number of entries whose relative offset is
// < rel (used by truncation: entries at or after rel go).
func (t timeIndex) countBelowRel(rel int64) int {
	lo, hi := 0, t.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int64(t.at(mid).rel) < rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

func (o offsetIndex) countBelowRel(rel int64) int {
	lo, hi := 0, o.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if int64(o.at(mid).rel) < rel {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}
