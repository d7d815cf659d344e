package storage

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Log dir failure (KIP-112; Kafka's LogDirFailureChannel and
// LogManager.handleLogDirFailure). An I/O error anywhere under a log dir (an
// append, a flush, a roll, an index, a checkpoint) means the files there can
// no longer be trusted, so the whole dir goes offline, not only the
// partition that met the error. The first report of a dir queues it on
// LogDirFailures; later reports of the same dir are ignored. The broker takes
// each dir from the queue, makes its replicas offline, tells the controller
// (/log_dir_event_notification) and calls HandleLogDirFailure, which closes
// and forgets the dir's logs. The other dirs keep serving.

// logDirFailureChannel is Kafka's LogDirFailureChannel: the set of offline
// dirs and the queue of those not yet handled.
type logDirFailureChannel struct {
	mu      sync.Mutex
	offline map[string]error
	queue   chan string
}

func newLogDirFailureChannel(dirs int) *logDirFailureChannel {
	// Each dir is queued at most once, so the queue never blocks.
	return &logDirFailureChannel{offline: map[string]error{}, queue: make(chan string, dirs)}
}

// report marks dir offline (LogDirFailureChannel.maybeAddOfflineLogDir) and
// reports whether this was its first failure.
func (c *logDirFailureChannel) report(dir string, cause error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.offline[dir]; ok {
		return false
	}
	c.offline[dir] = cause
	c.queue <- dir
	return true
}

func (c *logDirFailureChannel) isOffline(dir string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.offline[dir]
	return ok
}

// LogDirFailures delivers each log dir the first time an I/O error is
// reported under it (ReplicaManager's LogDirFailureHandler takes from it).
func (m *Manager) LogDirFailures() <-chan string { return m.failures.queue }

// ReportLogDirFailure marks dir offline because of cause. Components outside
// storage that write under a log dir (the broker's
// replication-offset-checkpoint) report their I/O errors here, as they hand
// theirs to Kafka's LogDirFailureChannel.
func (m *Manager) ReportLogDirFailure(dir string, cause error) {
	if m.failures.report(dir, cause) {
		m.logger.Error("log dir failed; it goes offline with all its replicas", "dir", dir, "err", cause)
	}
}

// IsLogDirOnline reports whether dir is one of the manager's dirs and has not
// failed.
func (m *Manager) IsLogDirOnline(dir string) bool {
	for _, d := range m.dirs {
		if d == dir {
			return !m.failures.isOffline(dir)
		}
	}
	return false
}

// OfflineLogDirs lists the failed dirs, sorted.
func (m *Manager) OfflineLogDirs() []string {
	var out []string
	for _, d := range m.dirs {
		if m.failures.isOffline(d) {
			out = append(out, d)
		}
	}
	sort.Strings(out)
	return out
}

// ErrAllLogDirsOffline is HandleLogDirFailure's answer when the failed dir
// was the last online one: Kafka halts the broker then ("Shutdown broker
// because all log dirs in ... have failed").
var ErrAllLogDirsOffline = errors.New("all log dirs have failed")

// HandleLogDirFailure closes and forgets the logs of a failed dir and returns
// their partitions (LogManager.handleLogDirFailure: the logs leave
// currentLogs and their file handles are closed without a flush; nothing is
// written to the dir again). It returns ErrAllLogDirsOffline, with the
// partitions, when no dir is left online.
func (m *Manager) HandleLogDirFailure(dir string) ([]TopicPartition, error) {
	m.mu.Lock()
	var gone []*managedLog
	var tps []TopicPartition
	for tp, ml := range m.logs {
		if ml.dir == dir {
			gone = append(gone, ml)
			tps = append(tps, tp)
			delete(m.logs, tp)
		}
	}
	m.mu.Unlock()
	for i, ml := range gone {
		m.cleaning.abortAndForget(tps[i], ml, m)
		ml.log.closeHandles()
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	if len(m.OfflineLogDirs()) == len(m.dirs) {
		return tps, fmt.Errorf("%w: %v", ErrAllLogDirsOffline, m.dirs)
	}
	return tps, nil
}

// onlineDirs are the dirs new logs may be created in.
func (m *Manager) onlineDirs() []string {
	var out []string
	for _, d := range m.dirs {
		if !m.failures.isOffline(d) {
			out = append(out, d)
		}
	}
	return out
}

// ioFailed reports the log's dir failed and returns err, an ErrStorage; a
// closed log is not a dir failure.
func (l *Log) ioFailed(err error) error {
	if l.dirFailed != nil && !errors.Is(err, ErrClosed) {
		l.dirFailed(err)
	}
	return err
}
