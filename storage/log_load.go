package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RecoveryStats says what opening a log found and did.
type RecoveryStats struct {
	SegmentsRecovered int           // segments revalidated batch by batch
	BytesRecovered    int64         // bytes of those segments that were valid
	TruncatedBytes    int64         // bytes cut from a torn or corrupt tail
	DeletedSegments   int           // later segments dropped after a corrupt one
	IndexesRebuilt    int           // segments whose indexes failed the sanity check
	Duration          time.Duration // time spent loading and recovering
}

// parseSegmentFile splits "<20 digits><type><suffix>" into its base and
// the rest; ok is false for other names.
func parseSegmentFile(name string) (base int64, rest string, ok bool) {
	if len(name) < 21 || name[20] != '.' {
		return 0, "", false
	}
	b, err := strconv.ParseInt(name[:20], 10, 64)
	if err != nil || b < 0 {
		return 0, "", false
	}
	return b, name[20:], true
}

// cleanupTempFiles applies LogLoader's rules to leftovers of an
// interrupted delete, compaction or split: .deleted files are removed;
// .cleaned files are removed, with any .swap whose base is above the
// smallest .cleaned base (an incomplete split); the remaining .swap
// segments replace every segment file whose base lies in their offset
// range and are renamed to their final names.
func cleanupTempFiles(dir string, l *Log) error {
	ents, err := l.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list log dir %s: %w", dir, err)
	}
	minCleaned := int64(-1)
	var swaps []string
	remove := func(name string) error {
		if err := l.fs.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", name, err)
		}
		return nil
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		switch {
		case strings.HasSuffix(name, deletedSuffix):
			if err := remove(name); err != nil {
				return err
			}
		case strings.HasSuffix(name, cleanedSuffix):
			if b, _, ok := parseSegmentFile(name); ok && (minCleaned < 0 || b < minCleaned) {
				minCleaned = b
			}
			if err := remove(name); err != nil {
				return err
			}
		case strings.HasSuffix(name, swapSuffix):
			swaps = append(swaps, name)
		}
	}
	// Kafka's KAFKA-6264 rule: a .swap above the smallest .cleaned base
	// is part of an incomplete split.
	kept := swaps[:0]
	for _, name := range swaps {
		if b, _, ok := parseSegmentFile(name); ok && minCleaned >= 0 && b >= minCleaned {
			l.logger.Info("deleting swap file of an incomplete split", "file", name)
			if err := remove(name); err != nil {
				return err
			}
			continue
		}
		kept = append(kept, name)
	}
	swaps = kept
	if len(swaps) == 0 {
		return nil
	}
	// The offset range the swap segments cover.
	minSwap, maxSwap := int64(-1), int64(-1)
	for _, name := range swaps {
		b, rest, ok := parseSegmentFile(name)
		if !ok || rest != logSuffix+swapSuffix {
			continue
		}
		f, err := l.fs.OpenFile(filepath.Join(dir, name), os.O_RDONLY, 0)
		if err != nil {
			return fmt.Errorf("open swap segment: %w", err)
		}
		next := b
		if fi, err := f.Stat(); err == nil {
			sc := newScanner(l.fs, f, 0, fi.Size())
			for {
				h, _, ok, err := sc.next()
				if err != nil || !ok {
					break
				}
				next = max(next, h.NextOffset())
			}
		}
		_ = f.Close()
		if minSwap < 0 || b < minSwap {
			minSwap = b
		}
		maxSwap = max(maxSwap, next)
	}
	if minSwap >= 0 {
		ents, err = l.fs.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("list log dir %s: %w", dir, err)
		}
		for _, e := range ents {
			b, rest, ok := parseSegmentFile(e.Name())
			if !ok || strings.HasSuffix(rest, swapSuffix) || !isSegmentFileType(rest) {
				continue
			}
			if b >= minSwap && b < maxSwap {
				l.logger.Info("deleting segment file replaced by a swap segment", "file", e.Name())
				if err := remove(e.Name()); err != nil {
					return err
				}
			}
		}
	}
	for _, name := range swaps {
		to := strings.TrimSuffix(name, swapSuffix)
		l.logger.Info("completing swap", "file", name)
		if err := l.fs.Rename(filepath.Join(dir, name), filepath.Join(dir, to)); err != nil {
			return fmt.Errorf("rename swap file %s: %w", name, err)
		}
	}
	if err := l.fs.SyncDir(dir); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// isSegmentFileType reports a segment file's rest of name (".log",
// ".txnindex.deleted", ...): a swap replaces only those (LogLoader deletes
// the replaced LogSegments' files), never e.g. a producer .snapshot.
func isSegmentFileType(rest string) bool {
	for _, typ := range segmentFileTypes {
		if strings.HasPrefix(rest, typ) && (len(rest) == len(typ) || rest[len(typ)] == '.') {
			return true
		}
	}
	return false
}

// segmentBases lists the base offsets of the .log files in dir.
func segmentBases(fs FileSystem, dir string) ([]int64, error) {
	ents, err := fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list log dir %s: %w", dir, err)
	}
	var bases []int64
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		if b, rest, ok := parseSegmentFile(e.Name()); ok && rest == logSuffix {
			bases = append(bases, b)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// loadSegments opens every segment. After an unclean stop, segments from
// the one holding the recovery point on are revalidated (LogLoader.recoverLog;
// an unknown recovery point is 0, as Kafka's default); the others only get
// the index sanity check, and a failing one is rebuilt. Everything after a
// truncated segment is deleted: data after a corrupt batch is not trusted.
func (l *Log) loadSegments(bases []int64, opts openOptions) error {
	if len(bases) == 0 {
		s, err := createSegment(l.fs, l.dir, max(opts.logStart, 0), "", l.cfg)
		if err != nil {
			return err
		}
		l.segs = []*segment{s}
		return nil
	}
	recoverFrom := len(bases)
	if opts.recover {
		rp := max(opts.recoveryPoint, 0)
		i := sort.Search(len(bases), func(i int) bool { return bases[i] > rp })
		recoverFrom = max(i-1, 0)
	}
	buf := make([]byte, 64<<10)
	for i, base := range bases {
		s, err := openSegment(l.fs, l.dir, base, "", false)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
		last := i == len(bases)-1
		mustRecover := i >= recoverFrom
		if !mustRecover {
			if err := s.sanityCheck(); err != nil {
				l.logger.Warn("rebuilding corrupt index of segment", "base", base, "err", err)
				l.recovery.IndexesRebuilt++
				mustRecover = true
			} else if s.txnCorrupt != nil {
				// TransactionIndex.sanityCheck's CorruptIndexException: the
				// segment is recovered and its transaction index rebuilt.
				l.logger.Warn("rebuilding corrupt transaction index of segment", "base", base, "err", s.txnCorrupt)
				l.recovery.IndexesRebuilt++
				mustRecover = true
			} else if last {
				if err := s.loadTail(); err != nil {
					l.logger.Warn("recovering segment with unreadable tail", "base", base, "err", err)
					mustRecover = true
				}
			}
		}
		if !mustRecover {
			if !last {
				if err := s.trimIndexes(); err != nil {
					return err
				}
			}
			continue
		}
		res, err := s.recover(l.cfg, buf, l.logger)
		if err != nil {
			return fmt.Errorf("recover segment %d: %w", base, err)
		}
		l.recovery.SegmentsRecovered++
		l.recovery.BytesRecovered += res.validBytes
		l.recovery.TruncatedBytes += res.truncatedBytes
		if res.truncatedBytes > 0 && !last {
			for _, b := range bases[i+1:] {
				l.logger.Warn("deleting segment after corruption in an earlier segment", "base", b)
				if err := removeSegmentFiles(l.fs, l.dir, b, ""); err != nil {
					return err
				}
				l.recovery.DeletedSegments++
			}
			last = true
		}
		if !last {
			if err := s.trimIndexes(); err != nil {
				return err
			}
		}
		if err := s.sync(); err != nil {
			return err
		}
		if last {
			break
		}
	}
	// A trailing empty segment other than the first is kept as the active one.
	return nil
}

func removeSegmentFiles(fs FileSystem, dir string, base int64, suffix string) error {
	for _, typ := range segmentFileTypes {
		if err := fs.Remove(segmentName(dir, base, typ+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove segment file: %w", err)
		}
	}
	return nil
}
