//go:build linux

package storage

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a tmpfs of size (mount(8)'s size= syntax) on a fresh
// directory and unmounts it when the test ends. It needs root (CI runs
// the tests as root); without it the test fails saying so.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	mnt := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mount a %s tmpfs on %s: %v (this test needs root and CAP_SYS_ADMIN to fill a real disk; CI runs it as root)", size, mnt, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	return mnt
}

// TestFullDiskTmpfs fills a real 2 MiB file system with appends until it
// is full (issue 15, item 3), with large batches (the segment write meets
// ENOSPC) and with small ones indexed at every append (the index's page
// reservation may meet it first): the append that meets ENOSPC fails with
// ErrStorage, the dir is reported, and reads serve exactly the
// acknowledged batches. The broker then stops without a clean shutdown and
// starts again on the still full disk: recovery succeeds and serves every
// acknowledged batch, appends still fail; once space is freed a reopen
// serves them all and appends work again.
func TestFullDiskTmpfs(t *testing.T) {
	for _, tc := range []struct {
		name          string
		valueSize     int
		indexInterval int
	}{
		{"large batches", 700, 512},
		{"small batches, every append indexed", 10, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fillTmpfs(t, tc.valueSize, tc.indexInterval)
		})
	}
}

func fillTmpfs(t *testing.T, valueSize, indexInterval int) {
	mnt := mountTmpfs(t, "2m")
	dir := filepath.Join(mnt, "d")
	// Ballast to free afterwards, as an operator deletes something.
	ballast := filepath.Join(mnt, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 256<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultLogConfig()
	cfg.SegmentBytes = 200 << 10
	cfg.IndexIntervalBytes = indexInterval
	m, err := OpenManager([]string{dir}, cfg, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.GetOrCreate("t", 0, [16]byte{4, 2})
	if err != nil {
		t.Fatal(err)
	}
	var acked [][]byte
	var failErr error
	for i := 0; i < 100000; i++ {
		b := encodeBatch(batchSpec{records: 4, valueSize: valueSize + i%300, baseTs: int64(i), fill: byte(i)})
		if _, err := l.Append(b, 3); err != nil {
			failErr = err
			break
		}
		acked = append(acked, b)
	}
	if failErr == nil {
		t.Fatal("2 MiB never filled up")
	}
	if !errors.Is(failErr, ErrStorage) || !errors.Is(failErr, syscall.ENOSPC) {
		t.Fatalf("the append on a full disk: %v, want ErrStorage from ENOSPC", failErr)
	}
	t.Logf("%d batches acknowledged before the disk was full (%v)", len(acked), failErr)
	select {
	case d := <-m.LogDirFailures():
		if d != dir {
			t.Fatalf("reported %s, want %s", d, dir)
		}
	default:
		t.Fatal("the full dir was not reported")
	}
	// Before the broker takes the dir offline, reads still serve exactly
	// the acknowledged batches.
	checkBatches(t, l, acked)
	if _, err := m.HandleLogDirFailure(dir); !errors.Is(err, ErrAllLogDirsOffline) {
		t.Fatalf("HandleLogDirFailure: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// A start on the full disk: recovery (no clean shutdown marker in a
	// failed dir) must not need space it cannot get.
	m, err = OpenManager([]string{dir}, cfg, quietLogger())
	if err != nil {
		t.Fatalf("start on the full disk: %v", err)
	}
	if len(m.OfflineLogDirs()) != 0 {
		t.Fatalf("dir offline after a start on the full disk")
	}
	l, ok := m.Get("t", 0)
	if !ok {
		t.Fatal("t-0 not loaded on the full disk")
	}
	checkBatches(t, l, acked)
	// Tiny appends may still fit in the last page of the segment; each
	// is indexed, so the index needs a new page at some point: its
	// reservation, not a store into an unbacked page (SIGBUS), must fail.
	failErr = nil
	for i := 0; i < 100000; i++ {
		b := encodeBatch(batchSpec{records: 1, valueSize: 1, fill: byte(i)})
		if _, err := l.Append(b, 3); err != nil {
			failErr = err
			break
		}
		acked = append(acked, b)
	}
	if !errors.Is(failErr, ErrStorage) || !errors.Is(failErr, syscall.ENOSPC) {
		t.Fatalf("append on the still full disk: %v, want ErrStorage from ENOSPC", failErr)
	}
	t.Logf("on the full disk after the restart: %v", failErr)
	checkBatches(t, l, acked)
	if _, err := m.HandleLogDirFailure(dir); !errors.Is(err, ErrAllLogDirsOffline) {
		t.Fatalf("HandleLogDirFailure: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	m, err = OpenManager([]string{dir}, cfg, quietLogger())
	if err != nil {
		t.Fatalf("reopen after freeing space: %v", err)
	}
	defer m.Close()
	l, ok = m.Get("t", 0)
	if !ok {
		t.Fatal("t-0 not loaded after freeing space")
	}
	checkBatches(t, l, acked)
	b := encodeBatch(batchSpec{records: 1})
	if _, err := l.Append(b, 3); err != nil {
		t.Fatalf("append after freeing space: %v", err)
	}
	checkBatches(t, l, append(acked, b))
}
