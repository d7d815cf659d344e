package storage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Manager owns the log dirs (log.dirs) and every partition log in them.
type Manager struct {
	mu     sync.Mutex
	fs     FileSystem
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
	// listed are the partitions found in each dir at start-up; those of a
	// dir that failed while loading are handed out by HandleLogDirFailure
	// as if their logs had been closed (guarded by mu).
	listed map[string][]TopicPartition
	// producerExpiration and producerExpirationCheck are
	// producer.id.expiration.ms and its check interval (producer_expiry.go).
	producerExpiration, producerExpirationCheck time.Duration
}

type managedLog struct {
	log *Log
	dir string // the log dir holding it
}

// ManagerOption changes how OpenManager opens the log dirs.
type ManagerOption func(*Manager)

// WithFileSystem makes the manager and its logs do their I/O through fs
// (tests inject disk faults with a FaultFS); the default is the operating
// system's.
func WithFileSystem(fs FileSystem) ManagerOption {
	return func(m *Manager) { m.fs = orOS(fs) }
}

// OpenManager opens every <topic>-<partition> directory under dirs. If any
// dir lacks the clean-shutdown marker, its logs are recovered. The markers
// are removed first, so that a crash from now on, even during the
// recovery, is detected at the next start (LogManager.loadLogs, KAFKA-10471).
//
// A dir that cannot be created, listed or loaded because of an I/O error
// goes offline from the start and the others are opened
// (LogManager.createAndValidateLogDirs and loadLogs): its logs are
// closed, it is reported on LogDirFailures, and no new log is placed in
// it. If every dir fails, OpenManager fails with ErrAllLogDirsOffline, as
// Kafka halts ("none of the specified log dirs ... can be created or
// validated").
func OpenManager(dirs []string, cfg Config, logger *slog.Logger, opts ...ManagerOption) (*Manager, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if len(dirs) == 0 {
		return nil, errors.New("storage: no log dirs")
	}
	m := &Manager{fs: OSFileSystem{}, dirs: dirs, cfg: cfg.normalized(), logger: logger, clean: true, logs: map[TopicPartition]*managedLog{},
		topicConfigs: map[string]LogConfig{}, failures: newLogDirFailureChannel(len(dirs)), listed: map[string][]TopicPartition{}}
	for _, o := range opts {
		o(m)
	}
	var loadErrs []error
	for _, dir := range dirs {
		err := m.loadDir(dir)
		if err == nil {
			delete(m.listed, dir)
			continue
		}
		if errors.Is(err, errDuplicateLogDir) {
			// Not a disk failure: Kafka refuses to start.
			_ = m.closeLogs()
			return nil, err
		}
		// LogManager.loadLogs: an IOException while loading a dir
		// (handleIOException) takes the dir offline.
		loadErrs = append(loadErrs, err)
		for tp, ml := range m.logs {
			if ml.dir == dir {
				ml.log.closeHandles()
				delete(m.logs, tp)
			}
		}
		m.ReportLogDirFailure(dir, fmt.Errorf("%w: error while loading log dir %s: %w", ErrStorage, dir, err))
	}
	if len(m.onlineDirs()) == 0 {
		_ = m.closeLogs()
		return nil, fmt.Errorf("%w: %v: %w", ErrAllLogDirsOffline, dirs, errors.Join(loadErrs...))
	}
	return m, nil
}

// errDuplicateLogDir: two log dirs hold the same partition.
var errDuplicateLogDir = errors.New("duplicate log directories")

func (m *Manager) loadDir(dir string) error {
	if err := m.fs.MkdirAll(dir); err != nil {
		return fmt.Errorf("create log dir %s: %w", dir, err)
	}
	// The partitions first: whatever fails later, the broker learns which
	// ones the dir held (HandleLogDirFailure).
	ents, err := m.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("list log dir %s: %w", dir, err)
	}
	for _, e := range ents {
		if tp, ok := ParsePartitionDir(e.Name()); ok && e.IsDir() {
			m.listed[dir] = append(m.listed[dir], tp)
		}
	}
	marker := filepath.Join(dir, CleanShutdownFile)
	_, err = m.fs.Stat(marker)
	clean := err == nil
	if !clean {
		m.clean = false
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stat clean shutdown marker: %w", err)
		}
	} else if err := m.fs.Remove(marker); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove clean shutdown marker: %w", err)
	}
	// OffsetCheckpointFile reads through CheckpointFileWithFailureHandler:
	// a checkpoint that cannot be read or parsed marks the dir offline
	// (LogManager.loadLogs goes on loading with the offsets reset, but the
	// dir is already failed).
	recoveryPoints, err := readOffsetCheckpoint(m.fs, filepath.Join(dir, RecoveryPointCheckpoint))
	if err != nil {
		return fmt.Errorf("read recovery point checkpoint: %w", err)
	}
	logStarts, err := readOffsetCheckpoint(m.fs, filepath.Join(dir, LogStartOffsetCheckpoint))
	if err != nil {
		return fmt.Errorf("read log start offset checkpoint: %w", err)
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
			return fmt.Errorf("%w for %s: %s and %s", errDuplicateLogDir, tp, prev.log.Dir(), filepath.Join(dir, e.Name()))
		}
		opts := openOptions{recover: !clean, recoveryPoint: -1, logStart: -1, fs: m.fs, producerExpiration: m.producerExpirationOrDefault()}
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
	if !clean && len(m.logs) > 0 {
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
// the fewest partitions (as Kafka's LogManager.nextLogDirs) even while a
// log dir is offline: GetOrCreateLog with isNew true. topicID is written
// to partition.metadata; a different id already on disk is an error
// (Kafka's InconsistentTopicIdException). A zero id is not written.
func (m *Manager) GetOrCreate(topic string, partition int32, topicID [16]byte) (*Log, error) {
	return m.GetOrCreateLog(topic, partition, topicID, true)
}

// ErrOfflineLogDirs is GetOrCreateLog's refusal to create a log that should
// already exist while a log dir is offline (wrapped with ErrStorage).
var ErrOfflineLogDirs = errors.New("log directories are offline")

// offlineLogDirsError is ErrOfflineLogDirs with Kafka's message.
type offlineLogDirsError struct {
	tp      TopicPartition
	offline []string
}

func (e offlineLogDirsError) Error() string {
	return fmt.Sprintf("Can not create log for %s because log directories %s are offline", e.tp, strings.Join(e.offline, ","))
}

func (e offlineLogDirsError) Is(target error) bool { return target == ErrOfflineLogDirs }

// GetOrCreateLog is LogManager.getOrCreateLog: the partition's log if this
// broker has it; else, if isNew (the controller creates the replica:
// LeaderAndIsr IsNew, KIP-112) or no log dir is offline, a new log in the
// online dir with the fewest partitions. Otherwise the log may have lived
// in an offline dir, and creating it empty elsewhere would lose its
// records: it fails with ErrStorage and ErrOfflineLogDirs ("Can not create
// log for <tp> because log directories <dirs> are offline"), creating
// nothing; that is not a failure of any dir.
func (m *Manager) GetOrCreateLog(topic string, partition int32, topicID [16]byte, isNew bool) (*Log, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	tp := TopicPartition{topic, partition}
	if ml, ok := m.logs[tp]; ok {
		if err := m.checkTopicID(ml.log.Dir(), topicID); err != nil {
			if errors.Is(err, ErrStorage) {
				m.ReportLogDirFailure(ml.dir, err)
			}
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
	if offline := m.OfflineLogDirs(); !isNew && len(offline) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrStorage, offlineLogDirsError{tp, offline})
	}
	dir := m.leastLoadedDir()
	if dir == "" {
		return nil, fmt.Errorf("%w: no online log dir for %s: %w", ErrStorage, tp, ErrAllLogDirsOffline)
	}
	l, err := openLog(filepath.Join(dir, tp.String()), m.configFor(topic), openOptions{recoveryPoint: -1, logStart: -1, fs: m.fs, producerExpiration: m.producerExpirationOrDefault()}, m.logger)
	if err != nil {
		// LogManager.getOrCreateLog: an IOException creating the log
		// takes its dir offline (KafkaStorageException).
		err = fmt.Errorf("%w: create log %s in %s: %w", ErrStorage, tp, dir, err)
		m.ReportLogDirFailure(dir, err)
		return nil, err
	}
	if err := m.checkTopicID(l.Dir(), topicID); err != nil {
		if errors.Is(err, ErrStorage) {
			l.closeHandles()
			m.ReportLogDirFailure(dir, err)
		} else {
			_ = l.Close()
		}
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

// checkTopicID compares topicID with partition.metadata, writing it if
// missing. Reading or writing the file fails with ErrStorage
// (PartitionMetadataFile.read and maybeFlush: the dir goes offline).
func (m *Manager) checkTopicID(dir string, topicID [16]byte) error {
	if topicID == ([16]byte{}) {
		return nil
	}
	have, ok, err := readPartitionMetadata(m.fs, dir)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	if !ok {
		if err := writePartitionMetadata(m.fs, dir, topicID); err != nil {
			return fmt.Errorf("%w: %w", ErrStorage, err)
		}
		return nil
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
//
// A dir whose file cannot be read (an I/O error) goes offline and is
// skipped, as Kafka's MetaPropertiesEnsemble.Loader puts it among the
// error dirs, which start offline; a file that does not parse, or dirs
// that disagree, stop the start. Offline dirs are not read.
func (m *Manager) ReadMetaProperties() (brokerID int32, clusterID string, ok bool, err error) {
	for _, dir := range m.onlineDirs() {
		id, cid, found, err := readMetaPropertiesFile(m.fs, dir)
		if errors.Is(err, errMetaPropertiesUnreadable) {
			m.ReportLogDirFailure(dir, fmt.Errorf("%w: %w", ErrStorage, err))
			continue
		}
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
	if len(m.onlineDirs()) == 0 {
		return 0, "", false, fmt.Errorf("%w: %v", ErrAllLogDirsOffline, m.dirs)
	}
	return brokerID, clusterID, ok, nil
}

// WriteMetaProperties writes meta.properties into every online log dir. A
// dir whose write fails goes offline (KafkaServer.startup: the copier's
// write error handler, maybeAddOfflineLogDir) and the others are written;
// it fails only when no dir is left online.
func (m *Manager) WriteMetaProperties(brokerID int32, clusterID string) error {
	var errs []error
	for _, dir := range m.onlineDirs() {
		if err := writeMetaPropertiesFile(m.fs, dir, brokerID, clusterID); err != nil {
			err = fmt.Errorf("%w: write meta.properties in %s: %w", ErrStorage, dir, err)
			m.ReportLogDirFailure(dir, err)
			errs = append(errs, err)
		}
	}
	if len(m.onlineDirs()) == 0 {
		return fmt.Errorf("%w: %v: %w", ErrAllLogDirsOffline, m.dirs, errors.Join(errs...))
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
	var errs []error
	for _, dir := range m.onlineDirs() {
		// Each dir on its own (LogManager.checkpointLogRecoveryOffsets).
		if err := m.checkpointDirLocked(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkpointDirLocked writes one log dir's recovery-point and log-start
// checkpoints with the logs it holds now; m.mu is held. A failed write
// takes the dir offline and is ErrStorage (CheckpointFileWithFailureHandler.write).
func (m *Manager) checkpointDirLocked(dir string) error {
	if err := m.writeDirCheckpointsLocked(dir); err != nil {
		err = fmt.Errorf("%w: checkpoint %s: %w", ErrStorage, dir, err)
		m.ReportLogDirFailure(dir, err)
		return err
	}
	return nil
}

func (m *Manager) writeDirCheckpointsLocked(dir string) error {
	rps := map[TopicPartition]int64{}
	starts := map[TopicPartition]int64{}
	for tp, ml := range m.logs {
		if ml.dir != dir {
			continue
		}
		rps[tp] = ml.log.RecoveryPoint()
		starts[tp] = ml.log.LogStartOffset()
	}
	if err := writeOffsetCheckpoint(m.fs, filepath.Join(dir, RecoveryPointCheckpoint), rps); err != nil {
		return err
	}
	return writeOffsetCheckpoint(m.fs, filepath.Join(dir, LogStartOffsetCheckpoint), starts)
}

// closeLogs closes every log; those of a failed dir without writing to it
// (LocalLog.closeHandlers). It returns the dirs whose logs did not all
// close.
func (m *Manager) closeLogs() map[string]error {
	failed := map[string]error{}
	for _, ml := range m.logs {
		if m.failures.isOffline(ml.dir) {
			ml.log.closeHandles()
			continue
		}
		if err := ml.log.Close(); err != nil {
			failed[ml.dir] = errors.Join(failed[ml.dir], err)
		}
	}
	return failed
}

// Close flushes and closes every log, then writes the checkpoints and the
// clean-shutdown marker in each online log dir whose logs all closed
// (LogManager.shutdown: each dir on its own). Nothing is written to a
// failed dir, and a dir that failed now gets no marker, so the next start
// recovers it.
func (m *Manager) Close() error {
	m.cleaning.stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	failed := m.closeLogs()
	var errs []error
	for _, dir := range m.dirs {
		if err := failed[dir]; err != nil {
			errs = append(errs, err)
			continue
		}
		if m.failures.isOffline(dir) {
			continue
		}
		if err := m.checkpointDirLocked(dir); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := writeFileAtomic(m.fs, filepath.Join(dir, CleanShutdownFile), nil); err != nil {
			// LogManager.shutdown: CoreUtils.swallow(cleanShutdownFileHandler.write):
			// logged, not a dir failure; the next start recovers the dir.
			m.logger.Warn("could not write the clean shutdown marker; the next start recovers the dir", "dir", dir, "err", err)
		}
	}
	return errors.Join(errs...)
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
// flush.ms check every second (LogManager.flushDirtyLogs), and producer-id
// expiry every producer.id.expiration.check.interval.ms
// (RemoveExpiredProducers, WithProducerExpiration). After a
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
	go m.runProducerExpiry(ctx)
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
		if skipDirs[dir] || m.failures.isOffline(dir) {
			continue
		}
		hws := map[TopicPartition]int64{}
		for tp, hw := range highWatermarks {
			if ml, ok := m.logs[tp]; ok && ml.dir == dir {
				hws[tp] = hw
			}
		}
		if err := writeOffsetCheckpoint(m.fs, filepath.Join(dir, ReplicationOffsetCheckpoint), hws); err != nil {
			// CheckpointFileWithFailureHandler.write: the dir goes offline.
			err = fmt.Errorf("%w: %w", ErrStorage, err)
			m.ReportLogDirFailure(dir, err)
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
		dirHWs, err := readOffsetCheckpoint(m.fs, filepath.Join(dir, ReplicationOffsetCheckpoint))
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
