package storage

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// FileOp names one kind of FileSystem call, for FaultFS.
type FileOp string

// The FileSystem calls FaultFS can fail. OpCreate is an OpenFile with
// O_CREATE; OpOpen one without.
const (
	OpOpen      FileOp = "open"
	OpCreate    FileOp = "create"
	OpRead      FileOp = "read"
	OpWrite     FileOp = "write"
	OpTruncate  FileOp = "truncate"
	OpSync      FileOp = "sync"
	OpAllocate  FileOp = "allocate"
	OpMmap      FileOp = "mmap"
	OpMsync     FileOp = "msync"
	OpRename    FileOp = "rename"
	OpRemove    FileOp = "remove"
	OpMkdir     FileOp = "mkdir"
	OpReadDir   FileOp = "readdir"
	OpReadFile  FileOp = "readfile"
	OpStat      FileOp = "stat"
	OpSyncDir   FileOp = "syncdir"
	OpRemoveAll FileOp = "removeall"
)

// mutating reports whether op changes the disk (a dead disk fails these).
func (op FileOp) mutating() bool {
	switch op {
	case OpCreate, OpWrite, OpTruncate, OpSync, OpAllocate, OpMsync, OpRename, OpRemove, OpMkdir, OpSyncDir, OpRemoveAll:
		return true
	}
	return false
}

// Fault makes FaultFS fail calls: those of kind Op (any if empty) on a path
// (a rename's target) under Dir (any if empty) that ends with Suffix (any
// if empty), skipping the first Skip that match. Once it fires, Dead makes
// every later mutating call under Dir fail as well (a disk that is gone).
// Partial makes a failing write write half its bytes first (a torn write).
// Sticky makes it fail every matching call once it fired (a full disk
// stays full). Err is the errno, EIO if nil.
type Fault struct {
	Op      FileOp
	Dir     string
	Suffix  string
	Skip    int
	Err     error
	Partial bool
	Dead    bool
	Sticky  bool
}

// FileCall is one call FaultFS saw: its kind, path, whether it failed,
// and the label set by Mark when it was made.
type FileCall struct {
	Op     FileOp
	Path   string
	Failed bool
	Label  string
}

// FaultFS is a FileSystem over the operating system's that fails the calls
// its faults select, for tests of disk failures. It records every call.
type FaultFS struct {
	// NoSync makes fsync, msync and directory syncs that do not fail
	// return at once without reaching the disk, for tests that do not
	// simulate a power cut.
	NoSync bool

	mu     sync.Mutex
	faults []*faultState
	calls  []FileCall
	record bool
	label  string
	healed bool
}

type faultState struct {
	Fault
	seen  int
	fired bool
}

// NewFaultFS returns a FaultFS with no faults; record keeps the calls
// (Calls).
func NewFaultFS(record bool) *FaultFS { return &FaultFS{record: record} }

// Inject adds a fault.
func (fs *FaultFS) Inject(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &faultState{Fault: f})
}

// Heal disarms every fault: the disk works again (Fired still reports).
func (fs *FaultFS) Heal() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.healed = true
}

// Mark labels the calls made from now on (FileCall.Label).
func (fs *FaultFS) Mark(label string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.label = label
}

// Fired reports whether any fault has fired.
func (fs *FaultFS) Fired() bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.faults {
		if f.fired {
			return true
		}
	}
	return false
}

// Calls returns the calls seen so far.
func (fs *FaultFS) Calls() []FileCall {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]FileCall(nil), fs.calls...)
}

func under(path, dir string) bool {
	if dir == "" {
		return true
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// check decides whether a call fails and with what errno; partial says a
// write writes half first.
func (fs *FaultFS) check(op FileOp, path string) (err error, partial bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for _, f := range fs.faults {
		if fs.healed {
			break
		}
		if f.fired && f.Dead && op.mutating() && under(path, f.Dir) {
			err, partial = f.errno(), false
			break
		}
		if (f.fired && !f.Sticky) || (f.Op != "" && f.Op != op) || !under(path, f.Dir) ||
			(f.Suffix != "" && !strings.HasSuffix(path, f.Suffix)) {
			continue
		}
		if f.seen < f.Skip {
			f.seen++
			continue
		}
		f.fired = true
		err, partial = f.errno(), f.Partial
		break
	}
	if fs.record {
		fs.calls = append(fs.calls, FileCall{Op: op, Path: path, Failed: err != nil, Label: fs.label})
	}
	return err, partial
}

func (f *faultState) errno() error {
	if f.Err != nil {
		return f.Err
	}
	return syscall.EIO
}

func pathErr(op FileOp, path string, err error) error {
	return &os.PathError{Op: string(op), Path: path, Err: err}
}

func (fs *FaultFS) OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	op := OpOpen
	if flag&os.O_CREATE != 0 {
		op = OpCreate
	}
	if err, _ := fs.check(op, name); err != nil {
		return nil, pathErr(op, name, err)
	}
	return os.OpenFile(name, flag, perm)
}

func (fs *FaultFS) ReadAt(f *os.File, b []byte, off int64) (int, error) {
	if err, _ := fs.check(OpRead, f.Name()); err != nil {
		return 0, pathErr(OpRead, f.Name(), err)
	}
	return f.ReadAt(b, off)
}

func (fs *FaultFS) WriteAt(f *os.File, b []byte, off int64) (int, error) {
	if err, partial := fs.check(OpWrite, f.Name()); err != nil {
		n := 0
		if partial && len(b) > 1 {
			n, _ = f.WriteAt(b[:len(b)/2], off)
		}
		return n, pathErr(OpWrite, f.Name(), err)
	}
	return f.WriteAt(b, off)
}

func (fs *FaultFS) Write(f *os.File, b []byte) (int, error) {
	if err, partial := fs.check(OpWrite, f.Name()); err != nil {
		n := 0
		if partial && len(b) > 1 {
			n, _ = f.Write(b[:len(b)/2])
		}
		return n, pathErr(OpWrite, f.Name(), err)
	}
	return f.Write(b)
}

func (fs *FaultFS) Truncate(f *os.File, size int64) error {
	if err, _ := fs.check(OpTruncate, f.Name()); err != nil {
		return pathErr(OpTruncate, f.Name(), err)
	}
	return f.Truncate(size)
}

func (fs *FaultFS) Sync(f *os.File) error {
	if err, _ := fs.check(OpSync, f.Name()); err != nil {
		return pathErr(OpSync, f.Name(), err)
	}
	if fs.NoSync {
		return nil
	}
	return f.Sync()
}

func (fs *FaultFS) Allocate(f *os.File, off, n int64) error {
	if err, _ := fs.check(OpAllocate, f.Name()); err != nil {
		return pathErr(OpAllocate, f.Name(), err)
	}
	return OSFileSystem{}.Allocate(f, off, n)
}

func (fs *FaultFS) Mmap(f *os.File, length int, writable bool) ([]byte, error) {
	if err, _ := fs.check(OpMmap, f.Name()); err != nil {
		return nil, pathErr(OpMmap, f.Name(), err)
	}
	return OSFileSystem{}.Mmap(f, length, writable)
}

func (fs *FaultFS) Munmap(b []byte) error { return OSFileSystem{}.Munmap(b) }

func (fs *FaultFS) Msync(f *os.File, b []byte) error {
	if err, _ := fs.check(OpMsync, f.Name()); err != nil {
		return pathErr(OpMsync, f.Name(), err)
	}
	if fs.NoSync {
		return nil
	}
	return OSFileSystem{}.Msync(f, b)
}

func (fs *FaultFS) Rename(from, to string) error {
	if err, _ := fs.check(OpRename, to); err != nil {
		return &os.LinkError{Op: string(OpRename), Old: from, New: to, Err: err}
	}
	return os.Rename(from, to)
}

func (fs *FaultFS) Remove(name string) error {
	if err, _ := fs.check(OpRemove, name); err != nil {
		return pathErr(OpRemove, name, err)
	}
	return os.Remove(name)
}

func (fs *FaultFS) RemoveAll(name string) error {
	if err, _ := fs.check(OpRemoveAll, name); err != nil {
		return pathErr(OpRemoveAll, name, err)
	}
	return os.RemoveAll(name)
}

func (fs *FaultFS) MkdirAll(dir string) error {
	if err, _ := fs.check(OpMkdir, dir); err != nil {
		return pathErr(OpMkdir, dir, err)
	}
	return os.MkdirAll(dir, 0o755)
}

func (fs *FaultFS) ReadDir(dir string) ([]os.DirEntry, error) {
	if err, _ := fs.check(OpReadDir, dir); err != nil {
		return nil, pathErr(OpReadDir, dir, err)
	}
	return os.ReadDir(dir)
}

func (fs *FaultFS) ReadFile(name string) ([]byte, error) {
	if err, _ := fs.check(OpReadFile, name); err != nil {
		return nil, pathErr(OpReadFile, name, err)
	}
	return os.ReadFile(name)
}

func (fs *FaultFS) Stat(name string) (os.FileInfo, error) {
	if err, _ := fs.check(OpStat, name); err != nil {
		return nil, pathErr(OpStat, name, err)
	}
	return os.Stat(name)
}

func (fs *FaultFS) SyncDir(dir string) error {
	if err, _ := fs.check(OpSyncDir, dir); err != nil {
		return pathErr(OpSyncDir, dir, err)
	}
	if fs.NoSync {
		return nil
	}
	return OSFileSystem{}.SyncDir(dir)
}
