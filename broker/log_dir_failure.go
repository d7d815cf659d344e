package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/storage"
)

// Log dir failure, the broker's half (KIP-112; ReplicaManager's
// LogDirFailureHandler and handleLogDirFailure). Storage queues each log
// dir the first time an I/O error is met under it; the handler takes it,
// stops the fetchers of the dir's partitions, marks them offline (every
// request for them is answered KAFKA_STORAGE_ERROR until restart), has
// storage close and forget the dir's logs and tells the controller through
// /log_dir_event_notification. The other dirs keep serving. When no dir is
// left the broker halts, as Kafka's LogManager.handleLogDirFailure does.

// Bounds of the backoff between attempts to write the notification
// (KafkaZkClient retries its requests until connected).
const (
	logDirEventRetry    = 100 * time.Millisecond
	logDirEventRetryMax = 5 * time.Second
)

// Fatal delivers the error that makes this broker stop at once (Kafka's
// Exit.halt): all its log dirs failed. The process wiring stops the broker
// and exits non-zero.
func (s *Server) Fatal() <-chan error { return s.fatal }

// fail hands err to Fatal, once.
func (s *Server) fail(err error) {
	select {
	case s.fatal <- err:
	default:
	}
}

// runLogDirFailureHandler is ReplicaManager's LogDirFailureHandler thread:
// it handles each failed dir until ctx ends or no dir is left.
func (s *Server) runLogDirFailureHandler(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case dir := <-s.logs.LogDirFailures():
			if err := s.handleLogDirFailure(ctx, dir); err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// handleLogDirFailure is ReplicaManager.handleLogDirFailure: under the
// state change lock the dir's hosted partitions lose their fetchers and go
// offline; storage closes the dir's logs, whose partitions not hosted are
// refused from then on (a log in a failed dir must not be recreated empty
// in another); then the controller is told. The error is the broker's
// end: every log dir has failed.
func (s *Server) handleLogDirFailure(ctx context.Context, dir string) error {
	s.logger.Warn("Stopping serving replicas in dir because the log directory has failed", "dir", dir)
	s.stateChangeMu.Lock()
	hosted := s.replicas.takeOffline(dir)
	closed, err := s.logs.HandleLogDirFailure(dir)
	s.replicas.markUnhostedOffline(closed)
	s.stateChangeMu.Unlock()
	s.logger.Warn("stopped the fetchers of the partitions in the failed log dir; they are offline",
		"broker", s.cfg.BrokerID, "dir", dir, "partitions", hosted)
	if errors.Is(err, storage.ErrAllLogDirsOffline) {
		// LogManager.handleLogDirFailure halts before the controller is told.
		s.logger.Error("Shutdown broker because all log dirs have failed", "dirs", s.logs.Dirs(), "err", err)
		return fmt.Errorf("shutting down broker %d: %w", s.cfg.BrokerID, err)
	}
	if err != nil {
		s.logger.Error("closing the logs of the failed log dir", "dir", dir, "err", err)
	}
	s.propagateLogDirEvent(ctx)
	return nil
}

// propagateLogDirEvent writes the notification
// (KafkaZkClient.propagateLogDirEvent), retrying with a bounded backoff
// until it is written or ctx ends.
func (s *Server) propagateLogDirEvent(ctx context.Context) {
	if s.zk == nil {
		return
	}
	backoff := logDirEventRetry
	for {
		p, err := s.zk.PropagateLogDirEvent(s.cfg.BrokerID)
		if err == nil {
			s.logger.Info("told the controller of the log dir failure", "path", p)
			return
		}
		s.logger.Warn("writing the log dir event notification failed; retrying", "err", err, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, logDirEventRetryMax)
	}
}

// takeOffline marks offline every hosted partition whose log is in dir
// (markPartitionOffline), stopping its fetcher first, and returns them.
func (rm *replicaManager) takeOffline(dir string) []topicPartition {
	var tps []topicPartition
	var pts []*partition
	for _, p := range rm.snapshot() {
		if p.logDir == dir {
			tps = append(tps, p.tp())
			pts = append(pts, p)
		}
	}
	rm.fetchers.remove(tps)
	for _, p := range pts {
		p.markOffline()
		if rm.onRoleChange != nil {
			rm.onRoleChange(p.topic, p.id, false, -1)
		}
	}
	sortTopicPartitions(tps)
	return tps
}

// markUnhostedOffline refuses the partitions of closed logs that were not
// hosted: their log is in a failed dir (HostedPartition.Offline).
func (rm *replicaManager) markUnhostedOffline(closed []storage.TopicPartition) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, tp := range closed {
		key := topicPartition{tp.Topic, tp.Partition}
		if _, hosted := rm.partitions[key]; !hosted {
			rm.offlineUnhosted[key] = struct{}{}
		}
	}
}

// reportLogDirFailure hands an I/O error met under a partition's log dir
// to storage, which queues the dir for the handler once.
func (rm *replicaManager) reportLogDirFailure(dir string, err error) {
	if dir != "" {
		rm.logs.ReportLogDirFailure(dir, err)
	}
}

func sortTopicPartitions(tps []topicPartition) {
	slices.SortFunc(tps, func(a, b topicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return cmp.Compare(a.Partition, b.Partition)
	})
}
