package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// allocDuring returns the bytes allocated on the heap while fn runs.
func allocDuring(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestRecoveryFilesBounded: every file read at start-up costs time and
// memory in proportion to its size, never panics, and hostile content is
// refused as Kafka refuses it: a checkpoint, leader-epoch file or
// partition.metadata that does not parse is an IOException in Kafka
// (CheckpointFile's "Expected N entries", "Malformed line",
// "Unrecognised version"; PartitionMetadataReadBuffer), which takes the log
// dir offline (CheckpointFileWithFailureHandler, PartitionMetadataFile.read);
// an index that fails its sanity check is rebuilt; a batch whose length
// runs past the end of the segment is a torn tail and is truncated.
func TestRecoveryFilesBounded(t *testing.T) {
	type result int
	const (
		opens   result = iota // the dir opens, every batch served
		offline               // the dir goes offline, the other opens
		cut                   // the dir opens, the bad batch and what follows is truncated
	)
	big := func(path string, size int64) { // a sparse file of size bytes
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	write := func(path string, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		clean bool
		spoil func(dir, part string) // dir: the log dir, part: t-0's dir
		want  result
		// limit on the bytes allocated by the open beyond a fixed
		// allowance, as a multiple of the hostile bytes
		per int64
	}{
		{"recovery checkpoint huge count", true, func(dir, _ string) {
			write(filepath.Join(dir, RecoveryPointCheckpoint), []byte("0\n2147483647\n"))
		}, offline, 0},
		{"recovery checkpoint count above entries", true, func(dir, _ string) {
			write(filepath.Join(dir, RecoveryPointCheckpoint), []byte("0\n3\nt 0 1\n"))
		}, offline, 0},
		{"recovery checkpoint long line", true, func(dir, _ string) {
			write(filepath.Join(dir, RecoveryPointCheckpoint), []byte("0\n1\n"+strings.Repeat("x", 1<<20)+" 0 5\n"))
		}, opens, 4},
		{"recovery checkpoint binary", true, func(dir, _ string) {
			write(filepath.Join(dir, RecoveryPointCheckpoint), bytes.Repeat([]byte{0, 0xff, '\n'}, 1<<18))
		}, offline, 4},
		{"recovery checkpoint 1 GiB", true, func(dir, _ string) {
			big(filepath.Join(dir, RecoveryPointCheckpoint), 1<<30)
		}, offline, 0},
		{"log start checkpoint negative count", false, func(dir, _ string) {
			write(filepath.Join(dir, LogStartOffsetCheckpoint), []byte("0\n-5\n"))
		}, offline, 0},
		{"leader epoch huge count", true, func(_, part string) {
			write(filepath.Join(part, LeaderEpochCheckpointFile), []byte("0\n99999999999999\n1 0\n"))
		}, offline, 0},
		{"leader epoch long line", false, func(_, part string) {
			write(filepath.Join(part, LeaderEpochCheckpointFile), []byte("0\n1\n1 "+strings.Repeat("9", 1<<20)+"\n"))
		}, offline, 4},
		{"leader epoch 1 GiB", true, func(_, part string) {
			big(filepath.Join(part, LeaderEpochCheckpointFile), 1<<30)
		}, offline, 0},
		{"offset index 1 GiB of zeros", true, func(_, part string) {
			big(segmentName(part, 0, indexSuffix), 1<<30)
		}, opens, 0},
		{"offset index 1 GiB of zeros, unclean", false, func(_, part string) {
			big(segmentName(part, 0, indexSuffix), 1<<30)
		}, opens, 0},
		{"offset index garbage", true, func(_, part string) {
			write(segmentName(part, 0, indexSuffix), bytes.Repeat([]byte{0x7f, 0xff, 0xff, 0xfe}, 1<<20))
		}, opens, 0},
		{"time index garbage", true, func(_, part string) {
			write(segmentName(part, 0, timeIndexSuffix), bytes.Repeat([]byte{0x12, 0x34, 0x56}, 1<<20))
		}, opens, 0},
		{"batch length 2 GiB, clean", true, func(_, part string) {
			spoilLength(t, lastSegment(t, part), 0x7fffffff)
		}, cut, 0},
		{"batch length 2 GiB, unclean", false, func(_, part string) {
			spoilLength(t, lastSegment(t, part), 0x7fffffff)
		}, cut, 0},
		{"batch length negative", false, func(_, part string) {
			spoilLength(t, lastSegment(t, part), 0xffffff00)
		}, cut, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := fastTempDir(t)
			d1, d2 := filepath.Join(root, "d1"), filepath.Join(root, "d2")
			want := fillDirs(t, []string{d1, d2}, 2, 12, tc.clean)
			var victim TopicPartition
			var vdir string
			for tp := range want {
				if dir, _ := partitionDirOf(d1, tp); dir != "" {
					victim, vdir = tp, dir
				}
			}
			if vdir == "" {
				t.Fatal("no partition in d1")
			}
			hostile := dirBytes(t, root)
			tc.spoil(d1, vdir)
			hostile = max(dirBytes(t, root)-hostile, 0)
			var m *Manager
			var err error
			start := time.Now()
			alloc := allocDuring(func() {
				m, err = OpenManager([]string{d1, d2}, DefaultLogConfig(), quietLogger())
				if err == nil {
					for tp := range want {
						if l, ok := m.Get(tp.Topic, tp.Partition); ok {
							_, _ = readAll(l)
						}
					}
				}
			})
			took := time.Since(start)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer m.Close()
			if limit := uint64(16<<20) + uint64(tc.per*hostile); alloc > limit {
				t.Errorf("opening allocated %d bytes, limit %d (hostile bytes %d)", alloc, limit, hostile)
			}
			if took > 20*time.Second {
				t.Errorf("opening took %v", took)
			}
			switch tc.want {
			case offline:
				if m.IsLogDirOnline(d1) {
					t.Fatalf("%s online with a hostile file", d1)
				}
			case opens, cut:
				if !m.IsLogDirOnline(d1) {
					t.Fatalf("%s offline: %v", d1, <-m.LogDirFailures())
				}
			}
			for tp, batches := range want {
				l, ok := m.Get(tp.Topic, tp.Partition)
				if tc.want == offline && tp == victim {
					if ok {
						t.Fatalf("%s still served from the offline dir", tp)
					}
					continue
				}
				if !ok {
					dir, _ := partitionDirOf(d1, tp)
					if dir != "" && tc.want == offline {
						continue // in the offline dir too
					}
					t.Fatalf("%s not loaded", tp)
				}
				if tc.want == cut && tp == victim {
					got, err := readAll(l)
					if err != nil && !errors.Is(err, ErrCorruptMessage) {
						t.Fatalf("read %s: %v", tp, err)
					}
					for i, b := range got {
						if i >= len(batches) || !bytes.Equal(b, batches[i]) {
							t.Fatalf("%s: batch %d after the cut is not the one written", tp, i)
						}
					}
					if len(got) >= len(batches) {
						t.Fatalf("%s: the spoilt batch is still served", tp)
					}
					continue
				}
				checkBatches(t, l, batches)
			}
		})
	}
}

// readAll reads a log's batches from its start; it stops at the first
// error.
func readAll(l *Log) ([][]byte, error) {
	var out [][]byte
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		fs, err := l.Read(off, 1<<20, 1<<62, true)
		if err != nil {
			return out, err
		}
		if fs.Size == 0 {
			return out, nil
		}
		data := make([]byte, fs.Size)
		if _, err := fs.File.ReadAt(data, fs.Pos); err != nil {
			return out, err
		}
		hs, err := SplitBatches(data)
		if err != nil {
			return out, err
		}
		for _, h := range hs {
			out = append(out, data[:h.Size()])
			data = data[h.Size():]
			off = h.NextOffset()
		}
	}
	return out, nil
}

func partitionDirOf(dir string, tp TopicPartition) (string, error) {
	p := filepath.Join(dir, tp.String())
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

func lastSegment(t *testing.T, part string) string {
	bases, err := segmentBases(OSFileSystem{}, part)
	if err != nil || len(bases) == 0 {
		t.Fatalf("segments of %s: %v", part, err)
	}
	return segmentName(part, bases[len(bases)-1], logSuffix)
}

// spoilLength sets the length field of the segment's second batch.
func spoilLength(t *testing.T, seg string, length uint32) {
	data, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	first := int(binary.BigEndian.Uint32(data[offLength:])) + logOverhead
	if first+BatchHeaderSize > len(data) {
		t.Fatalf("%s holds one batch", seg)
	}
	binary.BigEndian.PutUint32(data[first+offLength:], length)
	if err := os.WriteFile(seg, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dirBytes is the disk space used under root (sparse files count their
// blocks only).
func dirBytes(t *testing.T, root string) int64 {
	var n int64
	_ = filepath.Walk(root, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				n += st.Blocks * 512
			} else {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// FuzzCheckpointFiles feeds the files read at start-up besides segments
// (offset checkpoints, leader-epoch-checkpoint, partition.metadata,
// meta.properties) arbitrary bytes: no panic, and the parse allocates no
// more than a small multiple of the file's size.
func FuzzCheckpointFiles(f *testing.F) {
	f.Add([]byte("0\n1\nt 0 5\n"))
	f.Add([]byte("0\n2147483647\n"))
	f.Add([]byte("0\n-1\n"))
	f.Add([]byte("0\n1\n1 99999999999999999999999\n"))
	f.Add([]byte("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("version=0\nbroker.id=1\ncluster.id=x\n"))
	f.Add(bytes.Repeat([]byte{0xff}, 300))
	dir := f.TempDir()
	fs := OSFileSystem{}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{RecoveryPointCheckpoint, LeaderEpochCheckpointFile, PartitionMetadataFile, MetaPropertiesFile} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		alloc := allocDuring(func() {
			_, _ = readOffsetCheckpoint(fs, filepath.Join(dir, RecoveryPointCheckpoint))
			_, _ = readLeaderEpochCheckpoint(fs, filepath.Join(dir, LeaderEpochCheckpointFile))
			_, _, _ = readPartitionMetadata(fs, dir)
			_, _, _, _ = readMetaPropertiesFile(fs, dir)
		})
		if limit := uint64(64<<10 + 64*len(data)); alloc > limit {
			t.Fatalf("parsing %d bytes allocated %d (limit %d)", len(data), alloc, limit)
		}
	})
}
