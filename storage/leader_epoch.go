package storage

import (
	"bytes"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// LeaderEpochCheckpointFile is the per-partition file of leader epoch start
// offsets (LeaderEpochCheckpointFile).
const LeaderEpochCheckpointFile = "leader-epoch-checkpoint"

// Undefined epoch and offset answers (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET).
const (
	UndefinedEpoch       int32 = -1
	UndefinedEpochOffset int64 = -1
)

// EpochEntry is one leader epoch and the first offset written in it.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// WriteLeaderEpochCheckpoint writes Kafka's format atomically: "0", the
// count, then "epoch startOffset" lines.
func WriteLeaderEpochCheckpoint(path string, entries []EpochEntry) error {
	return writeLeaderEpochCheckpoint(OSFileSystem{}, path, entries)
}

func writeLeaderEpochCheckpoint(fs FileSystem, path string, entries []EpochEntry) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return writeFileAtomic(fs, path, b.Bytes())
}

// ReadLeaderEpochCheckpoint reads a leader-epoch-checkpoint file; a
// missing file is empty.
func ReadLeaderEpochCheckpoint(path string) ([]EpochEntry, error) {
	return readLeaderEpochCheckpoint(OSFileSystem{}, path)
}

func readLeaderEpochCheckpoint(fs FileSystem, path string) ([]EpochEntry, error) {
	entries, err := readCheckpointLines(fs, path, "leader epoch checkpoint", 2)
	if err != nil || entries == nil {
		return nil, err
	}
	out := make([]EpochEntry, 0, len(entries))
	for _, f := range entries {
		e, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed leader epoch checkpoint %s: line %q", path, clip(strings.Join(f, " ")))
		}
		out = append(out, EpochEntry{Epoch: int32(e), StartOffset: o})
	}
	return out, nil
}

// LeaderEpochCache maps leader epochs to their start offsets and persists
// every change to leader-epoch-checkpoint (LeaderEpochFileCache). Safe for
// concurrent use.
type LeaderEpochCache struct {
	mu      sync.Mutex
	fs      FileSystem
	path    string // "" keeps it in memory only
	entries []EpochEntry
}

// OpenLeaderEpochCache loads dir/leader-epoch-checkpoint. Entries that do
// not increase in both epoch and offset are dropped, as a corrupt file
// must not stop the log from opening.
func OpenLeaderEpochCache(dir string) (*LeaderEpochCache, error) {
	return openLeaderEpochCache(OSFileSystem{}, dir)
}

func openLeaderEpochCache(fs FileSystem, dir string) (*LeaderEpochCache, error) {
	path := filepath.Join(dir, LeaderEpochCheckpointFile)
	entries, err := readLeaderEpochCheckpoint(fs, path)
	if err != nil {
		return nil, err
	}
	c := &LeaderEpochCache{fs: fs, path: path}
	for _, e := range entries {
		if n := len(c.entries); e.Epoch < 0 || e.StartOffset < 0 ||
			(n > 0 && (e.Epoch <= c.entries[n-1].Epoch || e.StartOffset < c.entries[n-1].StartOffset)) {
			continue
		}
		c.entries = append(c.entries, e)
	}
	return c, nil
}

func (c *LeaderEpochCache) flushLocked() error {
	if c.path == "" {
		return nil
	}
	return writeLeaderEpochCheckpoint(orOS(c.fs), c.path, c.entries)
}

// Entries returns a copy of the entries, oldest first.
func (c *LeaderEpochCache) Entries() []EpochEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]EpochEntry(nil), c.entries...)
}

// LatestEpoch is the newest epoch, UndefinedEpoch if none.
func (c *LeaderEpochCache) LatestEpoch() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.entries); n > 0 {
		return c.entries[n-1].Epoch
	}
	return UndefinedEpoch
}

// Assign records that epoch starts at startOffset (LeaderEpochFileCache.assign):
// nothing happens if epoch is the latest and startOffset is not lower;
// entries with an epoch >= epoch or a start offset >= startOffset are
// replaced. Negative values are ignored (batches without an epoch).
func (c *LeaderEpochCache) Assign(epoch int32, startOffset int64) error {
	if epoch < 0 || startOffset < 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.entries); n > 0 {
		last := c.entries[n-1]
		if epoch == last.Epoch && startOffset >= last.StartOffset {
			return nil
		}
	}
	i := len(c.entries)
	for i > 0 && (c.entries[i-1].Epoch >= epoch || c.entries[i-1].StartOffset >= startOffset) {
		i--
	}
	c.entries = append(c.entries[:i], EpochEntry{Epoch: epoch, StartOffset: startOffset})
	return c.flushLocked()
}

// EndOffsetFor answers OffsetForLeaderEpoch (LeaderEpochFileCache.endOffsetFor):
// for the latest epoch, the log end offset; otherwise the start offset of
// the next higher epoch, with the largest epoch <= requested (or requested
// itself if it is below every known epoch). An unknown newer epoch gives
// (UndefinedEpoch, UndefinedEpochOffset).
func (c *LeaderEpochCache) EndOffsetFor(requested int32, logEndOffset int64) (int32, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	switch {
	case requested == UndefinedEpoch:
		return UndefinedEpoch, UndefinedEpochOffset
	case n > 0 && c.entries[n-1].Epoch == requested:
		return requested, logEndOffset
	}
	hi := sort.Search(n, func(i int) bool { return c.entries[i].Epoch > requested })
	if hi == n {
		return UndefinedEpoch, UndefinedEpochOffset
	}
	if hi == 0 {
		return requested, c.entries[0].StartOffset
	}
	return c.entries[hi-1].Epoch, c.entries[hi].StartOffset
}

// TruncateFromEnd removes entries starting at or after endOffset (a log
// truncated to endOffset).
func (c *LeaderEpochCache) TruncateFromEnd(endOffset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	if endOffset < 0 || n == 0 || c.entries[n-1].StartOffset < endOffset {
		return nil
	}
	i := sort.Search(n, func(i int) bool { return c.entries[i].StartOffset >= endOffset })
	c.entries = c.entries[:i]
	return c.flushLocked()
}

// TruncateFromStart drops entries wholly before startOffset; the last
// dropped epoch is kept, starting at startOffset (a log start offset moved).
func (c *LeaderEpochCache) TruncateFromStart(startOffset int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 || c.entries[0].StartOffset >= startOffset {
		return nil
	}
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset > startOffset })
	kept := EpochEntry{Epoch: c.entries[i-1].Epoch, StartOffset: startOffset}
	c.entries = append([]EpochEntry{kept}, c.entries[i:]...)
	return c.flushLocked()
}

// Clear removes every entry (a log truncated fully).
func (c *LeaderEpochCache) Clear() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) == 0 {
		return nil
	}
	c.entries = nil
	return c.flushLocked()
}
