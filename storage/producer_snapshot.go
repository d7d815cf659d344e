package storage

// Producer state snapshots: the <20-digit offset>.snapshot files of a
// partition directory (Kafka's ProducerStateManager.writeSnapshot /
// readSnapshot, LogFileUtils.producerSnapshotFile). A snapshot at offset O
// holds the state of every producer after all batches below O, so opening
// a log loads the newest snapshot at or below the log end offset and
// replays only the batches from there (UnifiedLog.rebuildProducerState).
//
// File layout (Kafka's PID_SNAPSHOT_MAP_SCHEMA, big-endian):
//
//	int16  version = 1
//	uint32 CRC-32C of bytes [6, end)
//	int32  number of entries N
//	N x 46 bytes: producer_id int64, epoch int16, last_sequence int32,
//	  last_offset int64, offset_delta int32, timestamp int64,
//	  coordinator_epoch int32, current_txn_first_offset int64
//
// Only each producer's newest batch is kept, so after a load duplicate
// detection covers that batch alone (Kafka's accepted loss).
//
// When: at a roll, the snapshot at the new segment's base (unsynced, then
// fsynced by the flush the roll schedules; a failed write fails the roll,
// a failed fsync the log dir, as Kafka's), at a clean close at the log end
// offset; loading (LogLoader, a truncation's rebuild) reads the newest one
// at or below the end, deleting those above it or at/below the log start
// and any corrupt one (then the next older), skips producers idle for
// producer.id.expiration.ms, and replays only the batches after it.
// Deleted: with the segment retention removes (at its base), with the
// segments a clean replaces (except at a base the new segment keeps), all
// of them by a full truncation; at open the stray ones
// (removeStraySnapshots).
//
// Differences from Kafka, all readable by Kafka: a snapshot is written to
// <name>.tmp and renamed over (Kafka writes the final name in place); a
// snapshot of a deleted segment is removed at once (Kafka renames it
// .snapshot.deleted and removes it after file.delete.delay.ms); loading
// writes no snapshot (Kafka's rebuildProducerState ends with one), so a
// start on a full disk works and only reads can fail a load.
//
// Upgrade rule: a log with no .snapshot file at all (written by a release
// before snapshots, or by Kafka with message format < v2) is replayed once
// from its log start, and the first roll or clean close writes a snapshot.
// Kafka instead skips the replay after a clean shutdown and writes empty
// snapshots (UnifiedLog.rebuildProducerState), forgetting every producer;
// replaying keeps the idempotent producers' sequences and the open
// transactions across the upgrade.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	producerSnapshotSuffix    = ".snapshot"
	producerSnapshotVersion   = 1  // ProducerStateManager.PRODUCER_SNAPSHOT_VERSION
	producerSnapshotHeader    = 10 // version, crc, entry count
	producerSnapshotCRCFrom   = 6  // PRODUCER_ENTRIES_OFFSET: the CRC covers [6, end)
	producerSnapshotEntrySize = 46
)

// errCorruptSnapshot is Kafka's CorruptSnapshotException: a snapshot that
// fails the schema, has another version or a wrong CRC. The file is
// deleted and the next older one used.
var errCorruptSnapshot = errors.New("corrupt producer snapshot")

// producerSnapshotName is LogFileUtils.producerSnapshotFile.
func producerSnapshotName(dir string, offset int64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", offset, producerSnapshotSuffix))
}

// encodeProducerSnapshot serializes the producers' state as
// ProducerStateManager.writeSnapshot does, entries ordered by producer id
// (Kafka writes HashMap order; any order reads the same).
func encodeProducerSnapshot(producers map[int64]*producerStateEntry) []byte {
	ids := make([]int64, 0, len(producers))
	for id := range producers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	b := make([]byte, producerSnapshotHeader+len(ids)*producerSnapshotEntrySize)
	be := binary.BigEndian
	be.PutUint16(b[0:], producerSnapshotVersion)
	be.PutUint32(b[6:], uint32(len(ids)))
	p := b[producerSnapshotHeader:]
	for _, id := range ids {
		e := producers[id]
		// ProducerStateEntry.lastSeq / lastDataOffset / lastOffsetDelta:
		// -1, -1 and 0 without a cached batch.
		lastSeq, lastOffset, delta := int32(-1), int64(-1), int32(0)
		if n := len(e.batches); n > 0 {
			bm := e.batches[n-1]
			lastSeq, lastOffset, delta = bm.lastSeq, bm.lastOffset, int32(bm.lastOffset-bm.firstOffset)
		}
		be.PutUint64(p[0:], uint64(id))
		be.PutUint16(p[8:], uint16(e.epoch))
		be.PutUint32(p[10:], uint32(lastSeq))
		be.PutUint64(p[14:], uint64(lastOffset))
		be.PutUint32(p[22:], uint32(delta))
		be.PutUint64(p[26:], uint64(e.lastTimestamp))
		be.PutUint32(p[34:], uint32(e.coordinatorEpoch))
		be.PutUint64(p[38:], uint64(e.currentTxnFirstOffset))
		p = p[producerSnapshotEntrySize:]
	}
	be.PutUint32(b[2:], crc32.Checksum(b[producerSnapshotCRCFrom:], castagnoli))
	return b
}

// decodeProducerSnapshot parses a snapshot file (ProducerStateManager.readSnapshot).
// Every failure wraps errCorruptSnapshot. As Kafka's Struct read, bytes
// after the last entry are ignored once the CRC (which covers them) holds.
func decodeProducerSnapshot(b []byte) (map[int64]*producerStateEntry, error) {
	be := binary.BigEndian
	if len(b) < producerSnapshotHeader {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the header", errCorruptSnapshot, len(b))
	}
	if v := int16(be.Uint16(b[0:])); v != producerSnapshotVersion {
		return nil, fmt.Errorf("%w: unknown file version %d", errCorruptSnapshot, v)
	}
	n := int32(be.Uint32(b[6:]))
	if n < 0 {
		return nil, fmt.Errorf("%w: array size %d cannot be negative", errCorruptSnapshot, n)
	}
	if int64(n)*producerSnapshotEntrySize > int64(len(b)-producerSnapshotHeader) {
		return nil, fmt.Errorf("%w: %d entries do not fit in %d bytes", errCorruptSnapshot, n, len(b))
	}
	if stored, computed := be.Uint32(b[2:]), crc32.Checksum(b[producerSnapshotCRCFrom:], castagnoli); stored != computed {
		return nil, fmt.Errorf("%w: stored crc %d, computed crc %d", errCorruptSnapshot, stored, computed)
	}
	out := make(map[int64]*producerStateEntry, n)
	p := b[producerSnapshotHeader:]
	for range n {
		id := int64(be.Uint64(p[0:]))
		e := newProducerStateEntry(int16(be.Uint16(p[8:])))
		lastSeq := int32(be.Uint32(p[10:]))
		lastOffset := int64(be.Uint64(p[14:]))
		delta := int32(be.Uint32(p[22:]))
		e.lastTimestamp = int64(be.Uint64(p[26:]))
		e.coordinatorEpoch = int32(be.Uint32(p[34:]))
		if first := int64(be.Uint64(p[38:])); first >= 0 {
			e.currentTxnFirstOffset = first
		}
		if lastOffset >= 0 {
			// readSnapshot: a batch only with last_offset >= 0; BatchMetadata
			// derives its first sequence and offset from offset_delta.
			e.batches = []batchMetadata{{
				firstSeq: decrementSequence(lastSeq, delta), lastSeq: lastSeq,
				firstOffset: lastOffset - int64(delta), lastOffset: lastOffset, timestamp: e.lastTimestamp,
			}}
		}
		out[id] = e // a repeated producer id: the later entry wins (HashMap.put)
		p = p[producerSnapshotEntrySize:]
	}
	return out, nil
}

// decrementSequence is DefaultRecordBatch.decrementSequence: sequences wrap
// from Int.MAX to 0.
func decrementSequence(seq, dec int32) int32 {
	if seq < dec {
		return int32(int64(0x7fffffff) - int64(dec-seq) + 1)
	}
	return seq - dec
}

// listProducerSnapshots returns the offsets of the .snapshot files in dir,
// ascending (ProducerStateManager.loadSnapshots).
func listProducerSnapshots(fs FileSystem, dir string) ([]int64, error) {
	ents, err := fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list log dir %s: %w", dir, err)
	}
	var offs []int64
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if off, rest, ok := parseSegmentFile(e.Name()); ok && rest == producerSnapshotSuffix {
			offs = append(offs, off)
		}
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs, nil
}

// writeProducerSnapshot writes the snapshot at offset through a temp file
// and a rename, so a reader never sees a half-written final name. With
// sync the temp file is fsynced before the rename and the directory after
// (a clean close); without it (a roll, as Kafka's takeSnapshot(sync=false))
// syncProducerSnapshot fsyncs it later. A torn unsynced file after a
// crash fails its CRC and is deleted at load.
func writeProducerSnapshot(fs FileSystem, dir string, offset int64, data []byte, sync bool) error {
	path := producerSnapshotName(dir, offset)
	if sync {
		return writeFileAtomic(fs, path, data)
	}
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := fs.Write(f, data); err != nil {
		_ = f.Close()
		_ = fs.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		_ = fs.Remove(tmp)
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		_ = fs.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}

// syncProducerSnapshot fsyncs a snapshot written without sync, and its
// directory (UnifiedLog.flushProducerStateSnapshot). A snapshot already
// deleted is not an error.
func syncProducerSnapshot(fs FileSystem, dir string, offset int64) error {
	path := producerSnapshotName(dir, offset)
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	if err := fs.Sync(f); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// deleteProducerSnapshot removes the snapshot at offset, if any.
func deleteProducerSnapshot(fs FileSystem, dir string, offset int64) error {
	if err := fs.Remove(producerSnapshotName(dir, offset)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete producer snapshot: %w", err)
	}
	return nil
}

// deleteProducerSnapshotsWhere removes every snapshot whose offset
// satisfies drop.
func deleteProducerSnapshotsWhere(fs FileSystem, dir string, drop func(off int64) bool) error {
	offs, err := listProducerSnapshots(fs, dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, off := range offs {
		if drop(off) {
			errs = append(errs, deleteProducerSnapshot(fs, dir, off))
		}
	}
	return errors.Join(errs...)
}

// removeStraySnapshots is ProducerStateManager.removeStraySnapshots, run at
// load: a snapshot at no segment's base offset is stray and deleted, except
// the largest stray one when it lies above every segment base (the
// snapshot a clean close wrote at the log end offset). Leftover .tmp files
// of an interrupted write go too.
func removeStraySnapshots(fs FileSystem, dir string, bases []int64) error {
	ents, err := fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list log dir %s: %w", dir, err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), producerSnapshotSuffix+".tmp") {
			if err := fs.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", e.Name(), err)
			}
		}
	}
	offs, err := listProducerSnapshots(fs, dir)
	if err != nil {
		return err
	}
	isBase := make(map[int64]bool, len(bases))
	maxBase := int64(-1)
	for _, b := range bases {
		isBase[b] = true
		maxBase = max(maxBase, b)
	}
	var stray []int64
	for _, off := range offs {
		if !isBase[off] {
			stray = append(stray, off)
		}
	}
	if n := len(stray); n > 0 && (len(bases) == 0 || stray[n-1] > maxBase) {
		stray = stray[:n-1] // the clean-shutdown snapshot stays
	}
	var errs []error
	for _, off := range stray {
		errs = append(errs, deleteProducerSnapshot(fs, dir, off))
	}
	return errors.Join(errs...)
}

// readLatestProducerSnapshot loads the newest snapshot with an offset in
// (logStart, upTo] (ProducerStateManager.truncateAndReload then
// loadFromSnapshot): snapshots outside the range are deleted first, and a
// corrupt one is deleted and the next older tried. ok is false when none
// is left: the state then starts empty at the log start. Only listing or
// deleting files fails it.
func readLatestProducerSnapshot(fs FileSystem, dir string, logStart, upTo int64, logf func(msg string, args ...any)) (off int64, producers map[int64]*producerStateEntry, ok bool, err error) {
	if err := deleteProducerSnapshotsWhere(fs, dir, func(o int64) bool { return o > upTo || o <= logStart }); err != nil {
		return 0, nil, false, err
	}
	offs, err := listProducerSnapshots(fs, dir)
	if err != nil {
		return 0, nil, false, err
	}
	for i := len(offs) - 1; i >= 0; i-- {
		path := producerSnapshotName(dir, offs[i])
		// A snapshot is 10 + 46 bytes per producer; 1 GiB is far beyond any
		// real one and keeps a garbled size from exhausting memory.
		b, rerr := readFileBounded(fs, path, 1<<30)
		if rerr == nil {
			producers, rerr = decodeProducerSnapshot(b)
		}
		if rerr == nil {
			return offs[i], producers, true, nil
		}
		if !errors.Is(rerr, errCorruptSnapshot) && !errors.Is(rerr, errFileTooLarge) {
			return 0, nil, false, fmt.Errorf("read producer snapshot %s: %w", path, rerr)
		}
		// loadFromSnapshot: CorruptSnapshotException -> delete, next older.
		if logf != nil {
			logf("deleting corrupt producer snapshot", "file", filepath.Base(path), "err", rerr)
		}
		if err := deleteProducerSnapshot(fs, dir, offs[i]); err != nil {
			return 0, nil, false, err
		}
	}
	return 0, nil, false, nil
}

// loadProducerSnapshotLocked starts m, a fresh state, from the newest
// usable snapshot in (log start, upTo] (ProducerStateManager.truncateAndReload
// then loadFromSnapshot): its entries (loadEntry re-opens their
// transactions) and lastMapOffset = its offset. Without one m stays at the
// log start. A snapshot above the base of a segment recovered at this load
// is not used: that segment's transaction index is rebuilt by the replay.
// Producers idle for producer.id.expiration.ms are not loaded (the
// Manager's logs; a log opened alone loads all). l.mu is held.
func (l *Log) loadProducerSnapshotLocked(m *producerStateManager, upTo int64) error {
	for _, s := range l.segs {
		if s.txnStale {
			upTo = min(upTo, s.base)
			break
		}
	}
	off, producers, ok, err := readLatestProducerSnapshot(l.fs, l.dir, l.logStart, upTo, l.logger.Warn)
	if err != nil || !ok {
		return err
	}
	nowMs := time.Now().UnixMilli()
	for pid, e := range producers {
		// loadFromSnapshot skips the expired producers (isProducerExpired).
		if l.producerExpiration > 0 && producerExpired(e, nowMs, l.producerExpiration) {
			continue
		}
		m.loadEntry(pid, e)
	}
	m.lastMapOffset = off
	return nil
}

// takeProducerSnapshotLocked writes the state as the snapshot at its
// lastMapOffset (ProducerStateManager.takeSnapshot), unless that snapshot
// exists already; it reports whether it wrote. l.mu is held.
func (l *Log) takeProducerSnapshotLocked(sync bool) (int64, bool, error) {
	m := l.producers
	off := m.lastMapOffset
	if _, err := l.fs.Stat(producerSnapshotName(l.dir, off)); err == nil {
		return off, false, nil // takeSnapshot: not a new offset
	}
	if err := writeProducerSnapshot(l.fs, l.dir, off, encodeProducerSnapshot(m.entries()), sync); err != nil {
		return off, false, fmt.Errorf("producer snapshot at %d: %w", off, err)
	}
	return off, true, nil
}
