package storage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// fuzzLogImage is a clean log's files plus the batch boundaries of each
// segment, built once per fuzz process.
type fuzzLogImage struct {
	files      map[string][]byte // name -> content
	names      []string          // sorted
	bases      []int64
	leo        int64
	boundaries map[int64][]int64 // segment base -> batch start positions (+ the end)
}

func buildFuzzImage(t testing.TB) *fuzzLogImage {
	dir := filepath.Join(t.TempDir(), "f-0")
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1500
	cfg.IndexIntervalBytes = 100
	l, err := OpenLog(dir, cfg, false, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if _, err := l.Append(encodeBatch(batchSpec{records: 1 + i%3, valueSize: 60 + 10*(i%5), baseTs: int64(1000 + 10*i), tsStep: 1, fill: byte(i)}), 1); err != nil {
			t.Fatal(err)
		}
	}
	img := &fuzzLogImage{files: map[string][]byte{}, boundaries: map[int64][]int64{}, leo: l.LogEndOffset(), bases: l.SegmentBaseOffsets()}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, _, ok := parseSegmentFile(e.Name()); !ok && e.Name() != LeaderEpochCheckpointFile {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		img.files[e.Name()] = data
		img.names = append(img.names, e.Name())
	}
	sort.Strings(img.names)
	for _, b := range img.bases {
		data := img.files[filepath.Base(segmentName("", b, logSuffix))]
		var pos int64
		for pos < int64(len(data)) {
			img.boundaries[b] = append(img.boundaries[b], pos)
			pos += int64(binary.BigEndian.Uint32(data[pos+offLength:])) + logOverhead
		}
		img.boundaries[b] = append(img.boundaries[b], pos)
	}
	return img
}

// mustDetect says whether changing byte pos of a segment's .log (or
// truncating it there) must be caught by recovery: anything but a batch's
// baseOffset and partitionLeaderEpoch (outside the CRC, as in Kafka).
func (img *fuzzLogImage) mustDetect(base, pos int64, truncate bool) bool {
	bs := img.boundaries[base]
	i := sort.Search(len(bs), func(i int) bool { return bs[i] > pos }) - 1
	if i < 0 || i >= len(bs)-1 {
		return false
	}
	k := pos - bs[i]
	if truncate {
		return k != 0
	}
	return k >= offLength && !(k >= offLeaderEpoch && k < offMagic)
}

// FuzzRecovery flips and truncates bytes of segment, index and
// leader-epoch files, then opens the log with recovery from a fuzzed
// recovery point: recovery must not panic, must report (truncate) any
// corruption it has to catch past the recovery point, no batch failing its
// CRC may be served past it, and opening and reading everything allocates
// no more than a fixed allowance plus a small multiple of the files' size
// (a length field of 2 GiB is a torn batch, not an allocation).
func FuzzRecovery(f *testing.F) {
	img := buildFuzzImage(f)
	f.Add([]byte{0})
	f.Add([]byte{0, 0, 0, 30, 0x40})                       // flip a byte of the first .index
	f.Add([]byte{0, 2, 0, 100, 0x01})                      // flip inside a batch of a .log
	f.Add([]byte{1, 5, 1, 0, 0})                           // truncate a file
	f.Add([]byte{2, 2, 0, 17, 0xff, 5, 0, 200, 0x7})       // magic byte, then another file
	f.Add([]byte{0, 1, 0, 8, 0x7f})                        // first batch's length ~2 GiB
	f.Add([]byte{3, 1, 0, 8, 0x80})                        // a negative length
	f.Add([]byte{0, byte(len(img.names) - 1), 0, 2, 0x39}) // the leader-epoch count
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		// Recovery point: a segment base or the LEO.
		rpChoices := append(append([]int64(nil), img.bases...), img.leo)
		rp := rpChoices[int(ops[0])%len(rpChoices)]
		recoverFrom := sort.Search(len(img.bases), func(i int) bool { return img.bases[i] > rp }) - 1
		recoverFrom = max(recoverFrom, 0)
		files := map[string][]byte{}
		for _, n := range img.names {
			files[n] = append([]byte(nil), img.files[n]...)
		}
		for op := ops[1:]; len(op) >= 4; op = op[4:] {
			name := img.names[int(op[0])%len(img.names)]
			data := files[name]
			pos := int(binary.BigEndian.Uint16(op[1:3]))
			if op[3] == 0 {
				files[name] = data[:pos%(len(data)+1)]
			} else if len(data) > 0 {
				data[pos%len(data)] ^= op[3]
			}
		}
		// Recovery must catch any final difference in a .log past the
		// recovery point that the CRC or framing covers.
		mustReport := false
		for _, base := range img.bases[recoverFrom:] {
			name := filepath.Base(segmentName("", base, logSuffix))
			orig, got := img.files[name], files[name]
			for p := 0; p < len(got) && !mustReport; p++ {
				if got[p] != orig[p] && img.mustDetect(base, int64(p), false) {
					mustReport = true
				}
			}
			if len(got) < len(orig) && img.mustDetect(base, int64(len(got)), true) {
				mustReport = true
			}
		}
		dir := filepath.Join(t.TempDir(), "f-0")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for n, data := range files {
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var total int64
		for _, data := range files {
			total += int64(len(data))
		}
		var l *Log
		var err error
		alloc := allocDuring(func() {
			l, err = openLog(dir, img.cfg(), openOptions{recover: true, recoveryPoint: rp, logStart: -1}, quietLogger())
			if err == nil {
				_, _ = readAll(l)
			}
		})
		if limit := uint64(2<<20 + 8*total); alloc > limit {
			t.Fatalf("opening and reading %d bytes of files allocated %d bytes (limit %d)", total, alloc, limit)
		}
		if err != nil {
			// Refusing to open is allowed (never a panic); nothing is served.
			return
		}
		defer l.Close()
		st := l.Recovery()
		if mustReport && st.TruncatedBytes == 0 && st.DeletedSegments == 0 {
			t.Fatalf("corruption past the recovery point %d not reported: %+v", rp, st)
		}
		// Past the recovery point every served batch passes its CRC.
		from := max(img.bases[recoverFrom], l.LogStartOffset())
		for off := from; off < l.LogEndOffset(); {
			fs, err := l.Read(off, 1<<20, 1<<62, true)
			if err != nil {
				t.Fatalf("read %d after recovery: %v", off, err)
			}
			data := readSlice(t, fs)
			next := off
			for len(data) >= BatchHeaderSize {
				h, err := ParseBatchHeader(data)
				if err != nil {
					t.Fatalf("served a bad batch header at %d: %v", next, err)
				}
				if h.Size() > int64(len(data)) {
					break
				}
				if _, err := checkBatch(data[:h.Size()]); err != nil {
					t.Fatalf("served a batch failing its CRC past the recovery point: %v", err)
				}
				next = h.NextOffset()
				data = data[h.Size():]
			}
			if next == off {
				t.Fatalf("no progress at %d", off)
			}
			off = next
		}
		// Reads before the recovery point may fail but never panic.
		for off := l.LogStartOffset(); off < from; off++ {
			_, _ = l.Read(off, 1<<20, 1<<62, true)
		}
		leo := l.LogEndOffset()
		info, err := l.Append(encodeBatch(batchSpec{records: 1}), 1)
		if err != nil || info.FirstOffset != leo {
			t.Fatalf("append after recovery: %+v, %v (LEO %d)", info, err, leo)
		}
	})
}

func (img *fuzzLogImage) cfg() LogConfig {
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 1500
	cfg.IndexIntervalBytes = 100
	return cfg
}
