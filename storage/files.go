package storage

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// File names Kafka keeps in each log dir and partition dir.
const (
	CleanShutdownFile           = ".kafka_cleanshutdown"
	RecoveryPointCheckpoint     = "recovery-point-offset-checkpoint"
	ReplicationOffsetCheckpoint = "replication-offset-checkpoint"
	LogStartOffsetCheckpoint    = "log-start-offset-checkpoint"
	MetaPropertiesFile          = "meta.properties"
	PartitionMetadataFile       = "partition.metadata"
	checkpointVersion           = 0
	// maxCheckpointBytes bounds a checkpoint file read at start-up: far
	// above any this broker writes (about 300 bytes a partition), so a
	// corrupt or foreign file is refused instead of read whole.
	maxCheckpointBytes = 256 << 20
	// maxPropertiesBytes bounds meta.properties and partition.metadata.
	maxPropertiesBytes         = 1 << 20
	partitionMetadataVersion   = 0
	metaPropertiesVersionValue = "0"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

// ParsePartitionDir splits a "<topic>-<partition>" directory name at the
// last '-'. ok is false for names that do not parse.
func ParsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strings.HasPrefix(name[i+1:], "+") {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// writeFileAtomic writes via a temp file, fsync and rename, then fsyncs the
// directory, as Kafka's checkpoint files are written.
// A failure leaves the old file in place (CheckpointFile.write writes a
// .tmp file and moves it over the old one only once it is on disk); the
// .tmp file is removed so a full disk gets its space back.
func writeFileAtomic(fs FileSystem, path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	failed := func(what string, err error) error {
		_ = f.Close()
		_ = fs.Remove(tmp)
		return fmt.Errorf("%s %s: %w", what, tmp, err)
	}
	if _, err := fs.Write(f, data); err != nil {
		return failed("write", err)
	}
	if err := fs.Sync(f); err != nil {
		return failed("fsync", err)
	}
	if err := f.Close(); err != nil {
		_ = fs.Remove(tmp)
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		_ = fs.Remove(tmp)
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	if err := fs.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("fsync dir of %s: %w", path, err)
	}
	return nil
}

// WriteOffsetCheckpoint writes Kafka's offset checkpoint text format:
// version line "0", the entry count, then "topic partition offset" lines.
func WriteOffsetCheckpoint(path string, offsets map[TopicPartition]int64) error {
	return writeOffsetCheckpoint(OSFileSystem{}, path, offsets)
}

func writeOffsetCheckpoint(fs FileSystem, path string, offsets map[TopicPartition]int64) error {
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, offsets[tp])
	}
	return writeFileAtomic(fs, path, b.Bytes())
}

// readCheckpointLines reads Kafka's checkpoint text format: a version line
// (0), an entry count, then one entry a line of `fields` space-separated
// fields. A missing file has no entries.
func readCheckpointLines(fs FileSystem, path, what string, fields int) ([][]string, error) {
	data, err := readFileBounded(fs, path, maxCheckpointBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("malformed %s %s: %s", what, path, fmt.Sprintf(format, a...))
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) < 2 {
		return nil, bad("missing header")
	}
	if v, err := strconv.Atoi(strings.TrimSpace(lines[0])); err != nil || v != checkpointVersion {
		return nil, bad("unsupported version %q", clip(lines[0]))
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n < 0 || n != len(lines)-2 {
		return nil, bad("count %q does not match %d entries", clip(lines[1]), len(lines)-2)
	}
	out := make([][]string, 0, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != fields {
			return nil, bad("line %q", clip(line))
		}
		out = append(out, f)
	}
	return out, nil
}

// clip shortens text from a file for an error message, so a hostile line
// of megabytes is not copied into every error that wraps it.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("...(%d bytes)", len(s))
}

// ReadOffsetCheckpoint reads a file written by WriteOffsetCheckpoint (or
// Kafka). A missing file gives an empty map and no error.
func ReadOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	return readOffsetCheckpoint(OSFileSystem{}, path)
}

func readOffsetCheckpoint(fs FileSystem, path string) (map[TopicPartition]int64, error) {
	entries, err := readCheckpointLines(fs, path, "checkpoint", 3)
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]int64, len(entries))
	for _, f := range entries {
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		o, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("malformed checkpoint %s: line %q", path, clip(strings.Join(f, " ")))
		}
		out[TopicPartition{Topic: f[0], Partition: int32(p)}] = o
	}
	return out, nil
}

// readProperties parses a Java properties file: '#' and '!' comments,
// key=value or key:value lines (escapes are not interpreted).
func readProperties(fs FileSystem, path string) (map[string]string, error) {
	data, err := readFileBounded(fs, path, maxPropertiesBytes)
	if err != nil {
		return nil, err
	}
	props := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, maxPropertiesBytes+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			props[line] = ""
			continue
		}
		props[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return props, nil
}

// ReadMetaPropertiesFile reads meta.properties from one log dir. ok is
// false if the file does not exist.
func ReadMetaPropertiesFile(dir string) (brokerID int32, clusterID string, ok bool, err error) {
	return readMetaPropertiesFile(OSFileSystem{}, dir)
}

// errMetaPropertiesUnreadable marks a meta.properties that could not be
// read (an I/O error), as opposed to one that does not parse.
var errMetaPropertiesUnreadable = errors.New("cannot read meta.properties")

func readMetaPropertiesFile(fs FileSystem, dir string) (brokerID int32, clusterID string, ok bool, err error) {
	path := filepath.Join(dir, MetaPropertiesFile)
	props, err := readProperties(fs, path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "", false, nil
	}
	if err != nil {
		return 0, "", false, fmt.Errorf("%w: %w", errMetaPropertiesUnreadable, err)
	}
	if v := props["version"]; v != metaPropertiesVersionValue {
		return 0, "", false, fmt.Errorf("%s: unsupported version %q", path, clip(v))
	}
	id, err := strconv.ParseInt(props["broker.id"], 10, 32)
	if err != nil {
		return 0, "", false, fmt.Errorf("%s: bad broker.id %q", path, clip(props["broker.id"]))
	}
	return int32(id), props["cluster.id"], true, nil
}

// WriteMetaPropertiesFile writes meta.properties (version 0, ZooKeeper mode).
func WriteMetaPropertiesFile(dir string, brokerID int32, clusterID string) error {
	return writeMetaPropertiesFile(OSFileSystem{}, dir, brokerID, clusterID)
}

func writeMetaPropertiesFile(fs FileSystem, dir string, brokerID int32, clusterID string) error {
	var b bytes.Buffer
	b.WriteString("#\n")
	fmt.Fprintf(&b, "cluster.id=%s\nversion=%s\nbroker.id=%d\n", clusterID, metaPropertiesVersionValue, brokerID)
	return writeFileAtomic(fs, filepath.Join(dir, MetaPropertiesFile), b.Bytes())
}

// EncodeTopicID renders a topic id as Kafka's Uuid.toString: URL-safe
// base64 without padding (22 characters).
func EncodeTopicID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// DecodeTopicID parses EncodeTopicID's output.
func DecodeTopicID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("bad topic id %q", clip(s))
	}
	copy(id[:], b)
	return id, nil
}

// WritePartitionMetadata writes <dir>/partition.metadata:
// "version: 0\ntopic_id: <id>\n".
func WritePartitionMetadata(dir string, topicID [16]byte) error {
	return writePartitionMetadata(OSFileSystem{}, dir, topicID)
}

func writePartitionMetadata(fs FileSystem, dir string, topicID [16]byte) error {
	data := fmt.Sprintf("version: %d\ntopic_id: %s\n", partitionMetadataVersion, EncodeTopicID(topicID))
	return writeFileAtomic(fs, filepath.Join(dir, PartitionMetadataFile), []byte(data))
}

// ReadPartitionMetadata reads <dir>/partition.metadata; ok is false if it
// does not exist.
func ReadPartitionMetadata(dir string) (topicID [16]byte, ok bool, err error) {
	return readPartitionMetadata(OSFileSystem{}, dir)
}

func readPartitionMetadata(fs FileSystem, dir string) (topicID [16]byte, ok bool, err error) {
	path := filepath.Join(dir, PartitionMetadataFile)
	props, err := readProperties(fs, path)
	if errors.Is(err, os.ErrNotExist) {
		return topicID, false, nil
	}
	if err != nil {
		return topicID, false, fmt.Errorf("read partition metadata: %w", err)
	}
	if v := props["version"]; v != strconv.Itoa(partitionMetadataVersion) {
		return topicID, false, fmt.Errorf("%s: unsupported version %q", path, clip(v))
	}
	id, err := DecodeTopicID(props["topic_id"])
	if err != nil {
		return topicID, false, fmt.Errorf("%s: %w", path, err)
	}
	return id, true, nil
}
