package storage

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FileSystem is storage's file layer: every write, sync, truncate, rename,
// create, remove, mmap and read of a log dir goes through it, so tests can
// make any one of them fail (FaultFS) as a failing or full disk does. The
// default is the operating system (OSFileSystem). Files stay *os.File, so a
// FileSlice is still sent with sendfile and a call costs no allocation.
type FileSystem interface {
	// OpenFile opens name as os.OpenFile does.
	OpenFile(name string, flag int, perm os.FileMode) (*os.File, error)
	// ReadAt, WriteAt and Write are f's methods.
	ReadAt(f *os.File, b []byte, off int64) (int, error)
	WriteAt(f *os.File, b []byte, off int64) (int, error)
	Write(f *os.File, b []byte) (int, error)
	// Truncate sets f's length.
	Truncate(f *os.File, size int64) error
	// Sync fsyncs f.
	Sync(f *os.File) error
	// Allocate reserves disk space for [off, off+n) of f without changing
	// its length (fallocate), so writing a memory-mapped index page that
	// is not yet backed fails here with ENOSPC instead of a SIGBUS.
	Allocate(f *os.File, off, n int64) error
	// Mmap maps the first length bytes of f, shared; Munmap undoes it.
	Mmap(f *os.File, length int, writable bool) ([]byte, error)
	Munmap(b []byte) error
	// Msync writes a writable mapping of f back to disk.
	Msync(f *os.File, b []byte) error
	Rename(from, to string) error
	Remove(name string) error
	RemoveAll(name string) error
	MkdirAll(dir string) error
	ReadDir(dir string) ([]os.DirEntry, error)
	ReadFile(name string) ([]byte, error)
	Stat(name string) (os.FileInfo, error)
	// SyncDir fsyncs a directory (Kafka's Utils.flushDir).
	SyncDir(dir string) error
}

// OSFileSystem is the operating system's file layer.
type OSFileSystem struct{}

var _ FileSystem = OSFileSystem{}

func (OSFileSystem) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
func (OSFileSystem) ReadAt(f *os.File, b []byte, off int64) (int, error)  { return f.ReadAt(b, off) }
func (OSFileSystem) WriteAt(f *os.File, b []byte, off int64) (int, error) { return f.WriteAt(b, off) }
func (OSFileSystem) Write(f *os.File, b []byte) (int, error)              { return f.Write(b) }
func (OSFileSystem) Truncate(f *os.File, size int64) error                { return f.Truncate(size) }
func (OSFileSystem) Sync(f *os.File) error                                { return f.Sync() }

func (OSFileSystem) Allocate(f *os.File, off, n int64) error { return allocate(f, off, n) }

func (OSFileSystem) Mmap(f *os.File, length int, writable bool) ([]byte, error) {
	prot := unix.PROT_READ
	if writable {
		prot |= unix.PROT_WRITE
	}
	return unix.Mmap(int(f.Fd()), 0, length, prot, unix.MAP_SHARED)
}
func (OSFileSystem) Munmap(b []byte) error { return unix.Munmap(b) }
func (OSFileSystem) Msync(_ *os.File, b []byte) error {
	return unix.Msync(b, unix.MS_SYNC)
}
func (OSFileSystem) Rename(from, to string) error              { return os.Rename(from, to) }
func (OSFileSystem) Remove(name string) error                  { return os.Remove(name) }
func (OSFileSystem) RemoveAll(name string) error               { return os.RemoveAll(name) }
func (OSFileSystem) MkdirAll(dir string) error                 { return os.MkdirAll(dir, 0o755) }
func (OSFileSystem) ReadDir(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }
func (OSFileSystem) ReadFile(name string) ([]byte, error)      { return os.ReadFile(name) }
func (OSFileSystem) Stat(name string) (os.FileInfo, error)     { return os.Stat(name) }

func (OSFileSystem) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: serr}
	}
	return cerr
}

// orOS is fs, or the operating system's when fs is nil.
func orOS(fs FileSystem) FileSystem {
	if fs == nil {
		return OSFileSystem{}
	}
	return fs
}

// readFileBounded reads a small metadata file (a checkpoint,
// partition.metadata, meta.properties) of at most limit bytes: a larger
// one is refused before it is read, so a corrupt or hostile file costs no
// more than limit bytes of memory.
func readFileBounded(fs FileSystem, path string, limit int64) ([]byte, error) {
	fi, err := fs.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, &os.PathError{Op: "read", Path: filepath.Clean(path), Err: errFileTooLarge}
	}
	return fs.ReadFile(path)
}

var errFileTooLarge = errors.New("file larger than any this broker writes")
