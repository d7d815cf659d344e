package storage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// replaceLog makes a log of several segments of 2-record batches.
func replaceLog(t *testing.T) (*Log, string, LogConfig) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "t-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 700
	cfg.IndexIntervalBytes = 100
	cfg.FileDeleteDelayMs = 0
	l := mustOpen(t, dir, cfg, false)
	appendN(t, l, 20, 2, 50)
	if l.NumSegments() < 4 {
		t.Fatalf("setup: %d segments", l.NumSegments())
	}
	return l, dir, cfg
}

// readAllBatches reads every batch from the log start.
func readAllBatches(t *testing.T, l *Log) []byte {
	t.Helper()
	var all []byte
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<40, true)
		if err != nil {
			t.Fatal(err)
		}
		data := readSlice(t, fs)
		if len(data) == 0 {
			break
		}
		hs := sliceHeaders(t, data)
		all = append(all, data...)
		off = hs[len(hs)-1].NextOffset()
	}
	return all
}

func TestReplaceSegments(t *testing.T) {
	l, dir, cfg := replaceLog(t)
	defer l.Close()
	l.mu.RLock()
	old := append([]*segment(nil), l.segs[:2]...)
	l.mu.RUnlock()
	// The "compacted" content: the batches of the two old segments except
	// the first batch (offsets are kept, a gap is allowed).
	var keep []byte
	for _, s := range old {
		data := make([]byte, s.size)
		if _, err := s.log.ReadAt(data, 0); err != nil {
			t.Fatal(err)
		}
		keep = append(keep, data...)
	}
	hs := sliceHeaders(t, keep)
	keep = keep[hs[0].Size():]
	before := readAllBatches(t, l)

	seg, err := l.newCleanedSegment(old[0].base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segmentName(dir, old[0].base, ".log.cleaned")); err != nil {
		t.Fatal(err)
	}
	if err := seg.appendBatches(keep, cfg.IndexIntervalBytes); err != nil {
		t.Fatal(err)
	}
	if err := l.replaceSegments(seg, old); err != nil {
		t.Fatal(err)
	}
	if got := l.SegmentBaseOffsets()[0]; got != old[0].base {
		t.Fatalf("first segment %d", got)
	}
	after := readAllBatches(t, l)
	if !bytes.Equal(after, before[hs[0].Size():]) {
		t.Fatal("log content after replacing differs from the expected compaction")
	}
	waitFor(t, ".deleted files removed", func() bool { return len(deletedFiles(t, dir)) == 0 })
	for _, suf := range []string{".log.swap", ".log.cleaned"} {
		if _, err := os.Stat(segmentName(dir, old[0].base, suf)); err == nil {
			t.Fatalf("%s left behind", suf)
		}
	}
	// Replacing segments that are gone fails and discards the new one.
	seg2, err := l.newCleanedSegment(old[0].base)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.replaceSegments(seg2, old); err == nil {
		t.Fatal("replacing vanished segments succeeded")
	}
	if _, err := os.Stat(segmentName(dir, old[0].base, ".log.cleaned")); err == nil {
		t.Fatal("discarded .cleaned file left behind")
	}
	// Reopen: same content, indexes sane.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := mustOpen(t, dir, cfg, true)
	defer l2.Close()
	if got := readAllBatches(t, l2); !bytes.Equal(got, after) {
		t.Fatal("content differs after reopen")
	}
}

// TestLeftoverTempFiles: on open .deleted and .cleaned files are removed
// and a .swap segment replaces the segments in its offset range
// (LogLoader).
func TestLeftoverTempFiles(t *testing.T) {
	l, dir, cfg := replaceLog(t)
	bases := l.SegmentBaseOffsets()
	full := readAllBatches(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A crash after .cleaned -> .swap: the swap holds segments 0 and 1's
	// data; the originals are still there.
	var merged []byte
	for _, b := range bases[:2] {
		data, err := os.ReadFile(segmentName(dir, b, ".log"))
		if err != nil {
			t.Fatal(err)
		}
		merged = append(merged, data...)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(segmentName(dir, bases[0], ".log.swap"), merged, 0o644))
	must(os.WriteFile(segmentName(dir, bases[0], ".index.swap"), nil, 0o644))
	// Leftovers that must disappear.
	must(os.WriteFile(segmentName(dir, 999999, ".log.deleted"), []byte("x"), 0o644))
	must(os.WriteFile(segmentName(dir, 999999, ".log.cleaned"), []byte("x"), 0o644))
	l = mustOpen(t, dir, cfg, false)
	defer l.Close()
	got := l.SegmentBaseOffsets()
	if got[0] != bases[0] || got[1] != bases[2] || len(got) != len(bases)-1 {
		t.Fatalf("segments %v after completing the swap (were %v)", got, bases)
	}
	if !bytes.Equal(readAllBatches(t, l), full) {
		t.Fatal("content differs after completing the swap")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if n := e.Name(); filepath.Ext(n) == ".swap" || filepath.Ext(n) == ".cleaned" || filepath.Ext(n) == ".deleted" {
			t.Fatalf("leftover %s", n)
		}
	}
}
