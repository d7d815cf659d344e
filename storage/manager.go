package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Manager owns the log dirs (log.dirs) and every partition log in them.
type Manager struct {
	mu     sync.Mutex
	dirs   []string
	cfg    Config
	logger *slog.Logger
	clean  bool
	logs   map[TopicPartition]*managedLog
	closed bool
	// topicConfigs are the effective configs of topics with overrides.
	topicConfigs map[string]LogConfig
	// cleaning is the log cleaner's state (cleaner.go).
	cleaning cleanerState
	// failures are the log dirs that met an I/O error (log_dir_failure.go).
	failures *logDirFailureChannel
}

type managedLog struct {
	log *Log
	dir string // the log dir holding it
}

// OpenManager opens every <topic>-<partition> directory under dirs. If any
// dir lacks the clean-shutdown marker, its logs are recovered. The markers
// are removed so that a crash from now on is detected at the next start.
func OpenManager(dirs []string, cfg Config, logger *slog.Logger) (*Manager, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if len(dirs) == 0 {
		return nil, errors.New("storage: no log dirs")
	}
	m := &Manager{dirs: dirs, cfg: cfg.normalized(), logger: logger, clean: true, logs: map[TopicPartition]*managedLog{},
		topicConfigs: map[string]LogConfig{}, failures: newLogDirFailureChannel(len(dirs))}
	for _, dir := range dirs {
		if err := m.loadDir(dir); err != nil {
			_ = m.closeLogs()
			return nil, err
		}
	}
	return m, nil
}

func (m *Manager) loadDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create log dir %s: %w", dir, err)
	}
	marker := filepath.Join(dir, CleanShutdownFile)
	_, err := os.Stat(marker)
	clean := err == nil
	if !clean {
		m.clean = false
	}
	recoveryPoints, err := ReadOffsetCheckpoint(filepath.Join(dir, RecoveryPointCheckpoint))
	if err != nil {
		m.logger.Warn("ignoring unreadable recovery point checkpoint", "dir", dir, "err", err)
		recoveryPoints = map[TopicPartition]int64{}
	}
	logStarts, err := ReadOffsetCheckpoint(filepath.Join(dir, LogStartOffsetCheckpoint))
	if err != nil {
		m.logger.Warn("ignoring unreadable log start offset checkpoint", "dir", dir, "err", err)
		logStarts = map[TopicPartition]int64{}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list log dir %s: %w", dir, err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		tp, ok := ParsePartitionDir(e.Name())
		if !ok {
			continue
		}
		if prev, dup := m.logs[tp]; dup {
			return fmt.Errorf("duplicate log directories for %s: %s and %s", tp, prev.log.Dir(), filepath.Join(dir, e.Name()))
		}
		opts := openOptions{recover: !clean, recoveryPoint: -1, logStart: -1}
		if rp, ok := recoveryPoints[tp]; ok {
			opts.recoveryPoint = rp
		}
		if ls, ok := logStarts[tp]; ok {
			opts.logStart = ls
		}
		l, err := openLog(filepath.Join(dir, e.Name()), m.cfg, opts, m.logger)
		if err != nil {
			return err
		}
		m.manage(tp, l, dir)
	}
	if clean {
		if err := os.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove clean shutdown marker: %w", err)
		}
	} else if len(m.logs) > 0 {
		m.logger.Info("log dir was not shut down cleanly; recovered its logs", "dir", dir)
	}
	return nil
}

// DefaultConfig is the broker-level log config every topic starts from.
func (m *Manager) DefaultConfig() LogConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

// TopicConfig is the effective config of a topic's logs.
func (m *Manager) TopicConfig(topic string) LogConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.configFor(topic)
}

func (m *Manager) configFor(topic string) LogConfig {
	if c, ok := m.topicConfigs[topic]; ok {
		return c
	}
	return m.cfg
}

// SetTopicConfig makes c the config of every log of topic, present and
// future (a topic's /config/topics override changed, or was first read).
func (m *Manager) SetTopicConfig(topic string, c LogConfig) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c = c.normalized()
	m.topicConfigs[topic] = c
	for tp, ml := range m.logs {
		if tp.Topic == topic {
			ml.log.SetConfig(c)
		}
	}
}

// CleanShutdown reports whether the previous stop was clean (the marker was
// present in every log dir at open).
func (m *Manager) CleanShutdown() bool { return m.clean }

// Dirs returns the log dirs.
func (m *Manager) Dirs() []string { return append([]string(nil), m.dirs...) }

// Get returns the log of a partition if this broker has it.
func (m *Manager) Get(topic string, partition int32) (*Log, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ml, ok := m.logs[TopicPartition{topic, partition}]
	if !ok {
		return nil, false
	}
	return ml.log, true
}

// GetOrCreate returns the partition's log, creating it in the log dir with
// the fewest partitions (as Kafka's LogManager.nextLogDirs). topicID is
// written to partition.metadata; a different id already on disk is an
// error (Kafka's InconsistentTopicIdException). A zero id is not written.
func (m *Manager) GetOrCreate(topic string, partition int32, topicID [16]byte) (*Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	tp := TopicPartition{topic, partition}
	if ml, ok := m.logs[tp]; ok {
		if err := checkTopicID(ml.log.Dir(), topicID); err != nil {
			return nil, err
		}
		return ml.log, nil
	}
	if topic == "" || topic == "." || topic == ".." || filepath.Base(topic) != topic {
		return nil, fmt.Errorf("invalid topic name %q", topic)
	}
	if partition < 0 {
		return nil, fmt.Errorf("invalid partition %d", partition)
	}
	dir := m.leastLoadedDir()
	if dir == "" {
		return nil, fmt.Errorf("%w: no online log dir for %s: %w", ErrStorage, tp, ErrAllLogDirsOffline)
	}
	l, err := openLog(filepath.Join(dir, tp.String()), m.configFor(topic), openOptions{recoveryPoint: -1, logStart: -1}, m.logger)
	if err != nil {
		return nil, err
	}
	if err := checkTopicID(l.Dir(), topicID); err != nil {
		_ = l.Close()
		return nil, err
	}
	m.manage(tp, l, dir)
	return l, nil
}

// manage adds a log to the manager; m.mu is held or the manager not yet
// shared. A truncation of the log writes its dir's checkpoints at once
// (LogManager.truncateTo / truncateFullyAndStartAt:
// checkpointRecoveryOffsetsInDir).
func (m *Manager) manage(tp TopicPartition, l *Log, dir string) {
	l.afterTruncate = func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed {
			return
		}
		if ml, ok := m.logs[tp]; !ok || ml.log != l {
			return // deleted meanwhile
		}
		if err := m.checkpointDirLocked(dir); err != nil {
			m.logger.Warn("writing checkpoints after a truncation failed; the periodic checkpoint retries", "dir", dir, "err", err)
		}
	}
	l.dirFailed = func(err error) { m.ReportLogDirFailure(dir, err) }
	m.logs[tp] = &managedLog{log: l, dir: dir}
}

func checkTopicID(dir string, topicID [16]byte) error {
	if topicID == ([16]byte{}) {
		return nil
	}
	have, ok, err := ReadPartitionMetadata(dir)
	if err != nil {
		return err
	}
	if !ok {
		return WritePartitionMetadata(dir, topicID)
	}
	if have != topicID {
		return fmt.Errorf("%w for %s: on disk %s, requested %s", ErrInconsistentTopicID, filepath.Base(dir), EncodeTopicID(have), EncodeTopicID(topicID))
	}
	return nil
}

// leastLoadedDir is the online dir with the fewest partitions, "" when every
// dir is offline.
func (m *Manager) leastLoadedDir() string {
	online := m.onlineDirs()
	if len(online) == 0 {
		return ""
	}
	counts := make(map[string]int, len(online))
	for _, ml := range m.logs {
		counts[ml.dir]++
	}
	best := online[0]
	for _, d := range online[1:] {
		if counts[d] < counts[best] {
			best = d
		}
	}
	return best
}

// Delete closes the partition's log and removes its directory, then
// rewrites the recovery-point and log-start checkpoints of its log dir
// without it (LogManager.asyncDelete: checkpointRecoveryOffsetsInDir,
// checkpointLogStartOffsetsInDir), so a partition re-created under the
// same name never reopens with the old log's offsets. Deleting a
// partition this broker does not have is not an error.
func (m *Manager) Delete(topic string, partition int32) error {
	m.mu.Lock()
	tp := TopicPartition{topic, partition}
	ml, ok := m.logs[tp]
	delete(m.logs, tp)
	m.mu.Unlock()
	if !ok {
		return nil
	}
	m.cleaning.abortAndForget(tp, ml, m)
	err := ml.log.Delete()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		if cerr := m.checkpointDirLocked(ml.dir); cerr != nil {
			err = errors.Join(err, fmt.Errorf("checkpoint %s after deleting %s: %w", ml.dir, tp, cerr))
		}
	}
	if err != nil {
		// LogManager.asyncDelete runs under maybeHandleIOException.
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return nil
}

// Partitions lists the partitions with a log, sorted.
func (m *Manager) Partitions() []TopicPartition {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TopicPartition, 0, len(m.logs))
	for tp := range m.logs {
		out = append(out, tp)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}

// ReadMetaProperties reads meta.properties from every log dir. ok is false
// if no dir has one; dirs that disagree are an error.
func (m *Manager) ReadMetaProperties() (brokerID int32, clusterID string, ok bool, err error) {
	for _, dir := range m.dirs {
		id, cid, found, err := ReadMetaPropertiesFile(dir)
		if err != nil {
			return 0, "", false, err
		}
		if !found {
			continue
		}
		if ok && (id != brokerID || cid != clusterID) {
			return 0, "", false, fmt.Errorf("log dirs disagree in meta.properties: broker.id %d/%d, cluster.id %q/%q", brokerID, id, clusterID, cid)
		}
		brokerID, clusterID, ok = id, cid, true
	}
	return brokerID, clusterID, ok, nil
}

// WriteMetaProperties writes meta.properties into every log dir.
func (m *Manager) WriteMetaProperties(brokerID int32, clusterID string) error {
	for _, dir := range m.dirs {
		if err := WriteMetaPropertiesFile(dir, brokerID, clusterID); err != nil {
			return err
		}
	}
	return nil
}

// Checkpoint writes recovery-point-offset-checkpoint and
// log-start-offset-checkpoint in every log dir.
func (m *Manager) Checkpoint() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.checkpointLocked()
}

func (m *Manager) checkpointLocked() error {
	for _, dir := range m.onlineDirs() {
		if err := m.checkpointDirLocked(dir); err != nil {
			return err
		}
	}
	return nil
}

// checkpointDirLocked writes one log dir's recovery-point and log-start
// checkpoints with the logs it holds now; m.mu is held.
func (m *Manager) checkpointDirLocked(dir string) error {
	rps := map[TopicPartition]int64{}
	starts := map[TopicPartition]int64{}
	for tp, ml := range m.logs {
		if ml.dir != dir {
			continue
		}
		rps[tp] = ml.log.RecoveryPoint()
		starts[tp] = ml.log.LogStartOffset()
	}
	if err := WriteOffsetCheckpoint(filepath.Join(dir, RecoveryPointCheckpoint), rps); err != nil {
		return err
	}
	return WriteOffsetCheckpoint(filepath.Join(dir, LogStartOffsetCheckpoint), starts)
}

func (m *Manager) closeLogs() error {
	var errs []error
	for _, ml := range m.logs {
		if err := ml.log.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Close flushes and closes every log, writes the checkpoints and then the
// clean-shutdown marker in each log dir. The marker is not written if
// anything failed, so the next start recovers.
func (m *Manager) Close() error {
	m.cleaning.stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	if err := m.closeLogs(); err != nil {
		return err
	}
	if err := m.checkpointLocked(); err != nil {
		return err
	}
	for _, dir := range m.onlineDirs() { // nothing is written to a failed dir
		if err := writeFileAtomic(filepath.Join(dir, CleanShutdownFile), nil); err != nil {
			return err
		}
	}
	return nil
}

// logsSnapshot returns the open logs (for background passes without the
// manager lock).
func (m *Manager) logsSnapshot() []*managedLog {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*managedLog, 0, len(m.logs))
	for _, ml := range m.logs {
		out = append(out, ml)
	}
	return out
}

// Run does the background work of Kafka's LogManager until ctx ends:
// retention (DeleteOldSegments on every log) every retentionCheckInterval
// (log.retention.check.interval.ms; <= 0 means Kafka's 300000 ms), and a
// flush.ms check every second (LogManager.flushDirtyLogs). After a
// retention pass that moved a log start offset the log-start-offset
// checkpoints are written.
func (m *Manager) Run(ctx context.Context, retentionCheckInterval time.Duration) {
	if retentionCheckInterval <= 0 {
		retentionCheckInterval = 300 * time.Second
	}
	retention := time.NewTicker(retentionCheckInterval)
	defer retention.Stop()
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-retention.C:
			if _, err := m.CleanupLogs(); err != nil && !errors.Is(err, ErrClosed) {
				m.logger.Warn("retention pass failed", "err", err)
			}
		case now := <-flush.C:
			for _, ml := range m.logsSnapshot() {
				if err := ml.log.flushIfDue(now.UnixMilli()); err != nil && !errors.Is(err, ErrClosed) {
					m.logger.Warn("time-based flush failed", "log", ml.log.Dir(), "err", err)
				}
			}
		}
	}
}

// CleanupLogs runs one retention pass over every log (LogManager.cleanupLogs)
// and returns the number of segments deleted.
func (m *Manager) CleanupLogs() (int, error) {
	total := 0
	var errs []error
	for _, ml := range m.logsSnapshot() {
		n, err := ml.log.DeleteOldSegments()
		if err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, fmt.Errorf("retention of %s: %w", ml.log.Dir(), err))
		}
		total += n
	}
	if total > 0 {
		m.mu.Lock()
		if !m.closed {
			errs = append(errs, m.checkpointLocked())
		}
		m.mu.Unlock()
	}
	return total, errors.Join(errs...)
}

// DeleteRecordsBefore moves a partition's log start offset (the storage
// part of DeleteRecords), deletes the segments below it and writes the
// log-start-offset checkpoint. It returns the new low watermark.
func (m *Manager) DeleteRecordsBefore(topic string, partition int32, offset int64) (int64, error) {
	l, ok := m.Get(topic, partition)
	if !ok {
		return 0, fmt.Errorf("%w: no log for %s-%d", ErrStorage, topic, partition)
	}
	low, err := l.DeleteRecordsBefore(offset)
	if err != nil {
		return low, err
	}
	if err := m.Checkpoint(); err != nil {
		return low, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	return low, nil
}

// WriteReplicationCheckpoint writes replication-offset-checkpoint (the
// high watermarks) in every log dir but those in skipDirs, each with the
// partitions it holds; partitions without a log are skipped. A dir whose
// write fails does not stop the others (ReplicaManager.checkpointHighWatermarks
// writes each log dir on its own); the errors are joined.
func (m *Manager) WriteReplicationCheckpoint(highWatermarks map[TopicPartition]int64, skipDirs map[string]bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for _, dir := range m.dirs {
		if skipDirs[dir] {
			continue
		}
		hws := map[TopicPartition]int64{}
		for tp, hw := range highWatermarks {
			if ml, ok := m.logs[tp]; ok && ml.dir == dir {
				hws[tp] = hw
			}
		}
		if err := WriteOffsetCheckpoint(filepath.Join(dir, ReplicationOffsetCheckpoint), hws); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReadReplicationCheckpoint reads replication-offset-checkpoint from every
// log dir (the high watermarks at the last checkpoint). Each dir stands
// alone, as Kafka keeps one checkpoint file per log dir: a dir whose file
// cannot be read is left out and reported in unreadable, the others are
// read.
func (m *Manager) ReadReplicationCheckpoint() (hws map[TopicPartition]int64, unreadable map[string]error) {
	hws = map[TopicPartition]int64{}
	for _, dir := range m.dirs {
		dirHWs, err := ReadOffsetCheckpoint(filepath.Join(dir, ReplicationOffsetCheckpoint))
		if err != nil {
			if unreadable == nil {
				unreadable = map[string]error{}
			}
			unreadable[dir] = err
			continue
		}
		for tp, hw := range dirHWs {
			hws[tp] = hw
		}
	}
	return hws, unreadable
}

// LogDirOf is the log dir holding the partition's log.
func (m *Manager) LogDirOf(topic string, partition int32) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ml, ok := m.logs[TopicPartition{topic, partition}]
	if !ok {
		return "", false
	}
	return ml.dir, true
}
