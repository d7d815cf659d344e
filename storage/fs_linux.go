package storage

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// allocate reserves disk blocks for [off, off+n) of f (fallocate, mode 0:
// the length does not change).
func allocate(f *os.File, off, n int64) error {
	err := unix.Fallocate(int(f.Fd()), 0, off, n)
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
		return nil // the file system cannot reserve: writes fail when they fail
	}
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	return nil
}
