package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// replicaManager owns the partitions this broker hosts, leader or follower,
// as the controller's LeaderAndIsr requests assign them; it runs the replica
// fetchers, the ISR checks and the high-watermark checkpoint.
type replicaManager struct {
	cfg    Config
	logs   *storage.Manager
	zk     *zkmeta.Client
	logger *slog.Logger

	mu         sync.RWMutex
	partitions map[topicPartition]*partition
	// offlineUnhosted holds the partitions a storage error kept from being
	// hosted: their log could not be created, or their log dir's HW
	// checkpoint could not be read (Kafka's HostedPartition.Offline). Every
	// request for them is answered KAFKA_STORAGE_ERROR until restart.
	offlineUnhosted map[topicPartition]struct{}

	configMu sync.Mutex // serialises refreshTopicConfig

	fetchers *fetcherManager
	alter    *alterPartitionClient
	isLive   func(brokerID int32) bool // in the metadata cache's live brokers
	// now is the clock the data path passes down to the partitions
	// (time.Now; tests may drive it).
	now func() time.Time
	// knows is the metadata cache's contains(TopicPartition): the
	// partition is in the cluster's metadata, hosted here or not.
	knows func(topic string, partition int32) bool

	// onRoleChange, if set, learns each applied leader or follower state
	// and each stopped replica (the group coordinator follows
	// __consumer_offsets leadership this way).
	onRoleChange func(topic string, partition int32, leader bool, leaderEpoch int32)

	// checkpointMu guards the HW checkpoint state and serialises its writes.
	checkpointMu sync.Mutex
	hwLoaded     bool
	// hwCheckpoint is replication-offset-checkpoint as last read or
	// written: it keeps the entries of logs on disk not hosted (yet).
	hwCheckpoint map[storage.TopicPartition]int64
	// hwUnreadable: log dirs whose replication-offset-checkpoint could not
	// be read; their partitions go offline and the file is never rewritten.
	hwUnreadable map[string]error

	// loopMu guards the background loops' start and stop: the HW
	// checkpoint loop starts with the first LeaderAndIsr.
	loopMu        sync.Mutex
	loopCtx       context.Context
	hwStarted     bool
	loopsStopped  bool
	replicationWG sync.WaitGroup
	stopOnce      sync.Once
	stopLoops     context.CancelFunc
}

type topicPartition struct {
	Topic     string
	Partition int32
}

// partitionState is one partition's entry of a LeaderAndIsr request.
type partitionState struct {
	Partition      int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32 // the state znode's version (ZkVersion); -1 unknown
	ISR            []int32
	Replicas       []int32
	LeaderAddr     string // host:port of the leader from the request's live leaders, if given
	// IsNew: the controller creates this replica (LeaderAndIsr v1+,
	// KIP-112), so its log may be created while a log dir is offline.
	IsNew bool
}

func newReplicaManager(cfg Config, logs *storage.Manager, zk *zkmeta.Client, logger *slog.Logger, cache *metadataCache, brokerEpoch func() int64) *replicaManager {
	rm := &replicaManager{cfg: cfg, logs: logs, zk: zk, logger: logger, partitions: map[topicPartition]*partition{},
		offlineUnhosted: map[topicPartition]struct{}{},
		fetchers:        newFetcherManager(cfg, cache, logger),
		alter:           newAlterPartitionClient(cache, zk, cfg.BrokerID, cfg.controllerListener(), brokerEpoch, logger),
		isLive:          func(id int32) bool { _, ok := cache.broker(id); return ok },
		knows:           cache.containsPartition,
		now:             time.Now,
	}
	rm.alter.now = rm.now
	return rm
}

func (rm *replicaManager) get(topic string, p int32) (*partition, bool) {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	pt, ok := rm.partitions[topicPartition{topic, p}]
	return pt, ok
}

// partitionOrError is ReplicaManager.getPartitionOrError: the partition
// if this broker hosts it online, else KAFKA_STORAGE_ERROR when it is
// hosted offline, NOT_LEADER_OR_FOLLOWER when the metadata cache knows the
// partition (this broker is no replica of it, e.g. after a reassignment
// moved it: the client must refresh its metadata), else
// UNKNOWN_TOPIC_OR_PARTITION.
func (rm *replicaManager) partitionOrError(topic string, p int32) (*partition, error) {
	key := topicPartition{topic, p}
	rm.mu.RLock()
	pt, ok := rm.partitions[key]
	_, offline := rm.offlineUnhosted[key]
	rm.mu.RUnlock()
	switch {
	case offline, ok && pt.isOffline():
		return nil, kerr.KafkaStorageError
	case ok:
		return pt, nil
	case rm.knows != nil && rm.knows(topic, p):
		return nil, kerr.NotLeaderForPartition
	}
	return nil, kerr.UnknownTopicOrPartition
}

// localPartition is partitionOrError followed by Partition.getLocalLog:
// the request's current leader epoch (KIP-320; negative: none) is checked
// first, FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH, then, if
// requireLeader, the leadership: NOT_LEADER_OR_FOLLOWER.
func (rm *replicaManager) localPartition(topic string, p int32, currentLeaderEpoch int32, requireLeader bool) (*partition, error) {
	pt, err := rm.partitionOrError(topic, p)
	if err != nil {
		return nil, err
	}
	if err := pt.checkLeaderEpoch(currentLeaderEpoch); err != nil {
		return nil, err
	}
	if requireLeader && !pt.isLeader() {
		return nil, kerr.NotLeaderForPartition
	}
	return pt, nil
}

// leaderPartition returns the partition if this broker leads it, else the
// error Kafka answers (partitionOrError; NOT_LEADER_OR_FOLLOWER when hosted
// as a follower).
func (rm *replicaManager) leaderPartition(topic string, p int32) (*partition, error) {
	return rm.localPartition(topic, p, -1, true)
}

// currentLeader is KafkaApis.getCurrentLeader's leader and leader epoch
// for a NOT_LEADER_OR_FOLLOWER answer (KIP-951): the hosted partition's
// (Partition.leaderReplicaIdOpt, getLeaderEpoch), else the metadata
// cache's, else -1 and -1; with the leader's endpoint if it is a live
// broker with an endpoint on the request's listener
// (metadataCache.getAliveBrokerNode(leader, request.context.listenerName)).
func (s *Server) currentLeader(topic string, partition int32, listener string) (leaderID, leaderEpoch int32, node *cachedNode) {
	leaderID, leaderEpoch = -1, -1
	if p, err := s.replicas.partitionOrError(topic, partition); err == nil {
		p.mu.Lock()
		leaderID, leaderEpoch = p.leader, p.leaderEpoch
		p.mu.Unlock()
	} else if t, ok := s.cache.topic(topic); ok {
		if cp, ok := t.Partitions[partition]; ok {
			leaderID, leaderEpoch = cp.Leader, cp.LeaderEpoch
		}
	}
	if n, ok := s.cache.aliveNode(leaderID, listener); ok {
		node = &n
	}
	return leaderID, leaderEpoch, node
}

// initialHighWatermark is the partition's HW from its log dir's
// replication-offset-checkpoint. A file that could not be read is a
// storage error (Partition.updateHighWatermark reads it through
// CheckpointFileWithFailureHandler: KafkaStorageException).
func (rm *replicaManager) initialHighWatermark(topic string, p int32) (int64, bool, error) {
	rm.checkpointMu.Lock()
	defer rm.checkpointMu.Unlock()
	rm.loadHighWatermarksLocked()
	if dir, ok := rm.logs.LogDirOf(topic, p); ok && rm.hwUnreadable[dir] != nil {
		return 0, false, fmt.Errorf("%w: replication-offset-checkpoint of %s: %w", kerr.KafkaStorageError, dir, rm.hwUnreadable[dir])
	}
	hw, ok := rm.hwCheckpoint[storage.TopicPartition{Topic: topic, Partition: p}]
	return hw, ok, nil
}

// loadHighWatermarksLocked reads replication-offset-checkpoint once, at
// the first LeaderAndIsr (Kafka reads it lazily there too), each log dir
// on its own: an unreadable file costs only its dir's partitions.
func (rm *replicaManager) loadHighWatermarksLocked() {
	if rm.hwLoaded {
		return
	}
	rm.hwLoaded = true
	hws, unreadable := rm.logs.ReadReplicationCheckpoint()
	for dir, err := range unreadable {
		rm.logger.Error("cannot read replication-offset-checkpoint; the log dir goes offline and the file is kept",
			"dir", dir, "err", err)
		// CheckpointFileWithFailureHandler.read: the dir goes offline.
		rm.logs.ReportLogDirFailure(dir, fmt.Errorf("reading replication-offset-checkpoint: %w", err))
	}
	rm.hwCheckpoint, rm.hwUnreadable = hws, unreadable
}

// applyLeaderAndIsr creates the partition's log if needed and switches its
// role: a leader stops fetching, a follower of a new leader or epoch
// (re)starts its fetcher, which truncates first. A state whose leader epoch
// is older than the one held is refused: leader epochs never go backwards.
func (rm *replicaManager) applyLeaderAndIsr(topic string, topicID [16]byte, st partitionState, self int32) error {
	key := topicPartition{topic, st.Partition}
	rm.mu.Lock()
	if _, offline := rm.offlineUnhosted[key]; offline {
		rm.mu.Unlock()
		return kerr.KafkaStorageError
	}
	pt, ok := rm.partitions[key]
	if !ok {
		// Partition.createLogIfNotExists -> LogManager.getOrCreateLog: a
		// log that should exist (not IsNew) is not created while a log dir
		// is offline; it may have lived there.
		log, err := rm.logs.GetOrCreateLog(topic, st.Partition, topicID, st.IsNew)
		if errors.Is(err, storage.ErrInconsistentTopicID) {
			rm.mu.Unlock()
			rm.logger.Error("partition log belongs to another topic ID", "topic", topic, "partition", st.Partition, "err", err)
			return err
		}
		if err != nil {
			// ReplicaManager.makeLeaders/makeFollowers: createLogIfNotExists
			// failed with a KafkaStorageException; markPartitionOffline.
			rm.offlineUnhosted[key] = struct{}{}
			rm.mu.Unlock()
			rm.logger.Error("cannot create partition log; partition offline", "topic", topic, "partition", st.Partition, "err", err)
			return kerr.KafkaStorageError
		}
		hw, found, err := rm.initialHighWatermark(topic, st.Partition)
		if err != nil {
			// makeLeader/makeFollower: KafkaStorageException -> markPartitionOffline.
			rm.offlineUnhosted[key] = struct{}{}
			rm.mu.Unlock()
			rm.logger.Error("cannot read the partition's HW checkpoint; partition offline", "topic", topic, "partition", st.Partition, "err", err)
			return kerr.KafkaStorageError
		}
		pt = newPartition(topic, st.Partition, topicID, log, self, rm.cfg.ReplicaLagTimeMax)
		pt.isLive = rm.isLive
		pt.logDir, _ = rm.logs.LogDirOf(topic, st.Partition)
		pt.dirFailed = rm.reportLogDirFailure
		if found {
			pt.initHighWatermark(hw)
		}
		rm.partitions[key] = pt
	}
	rm.mu.Unlock()
	if ok && pt.isOffline() {
		// ReplicaManager.becomeLeaderOrFollower: HostedPartition.Offline,
		// "the local replica for the partition is in an offline log
		// directory".
		rm.logger.Warn("ignoring LeaderAndIsr for a partition in an offline log dir", "topic", topic,
			"partition", st.Partition, "leader", st.Leader, "leader_epoch", st.LeaderEpoch)
		return kerr.KafkaStorageError
	}

	change, err := pt.becomeLeaderOrFollower(st, rm.nowMs())
	if errors.Is(err, kerr.KafkaStorageError) {
		// ReplicaManager.makeLeaders/makeFollowers: a KafkaStorageException
		// marks the partition offline; it stops fetching and answers
		// KAFKA_STORAGE_ERROR to the controller and to clients.
		rm.fetchers.remove([]topicPartition{key})
		if rm.onRoleChange != nil {
			rm.onRoleChange(topic, st.Partition, false, -1)
		}
		rm.logger.Error("partition offline after a storage error in a LeaderAndIsr state change", "topic", topic,
			"partition", st.Partition, "leader", st.Leader, "leader_epoch", st.LeaderEpoch, "err", err)
		return kerr.KafkaStorageError
	}
	if err != nil {
		return err
	}
	switch {
	case change.leader:
		rm.fetchers.remove([]topicPartition{key})
	case change.newFollower:
		rm.fetchers.remove([]topicPartition{key})
		if st.Leader >= 0 {
			rm.fetchers.add([]fetchTarget{{p: pt, leader: st.Leader, addr: st.LeaderAddr, epoch: st.LeaderEpoch}})
		}
	}
	if rm.onRoleChange != nil && (change.leader || change.newFollower) {
		rm.onRoleChange(topic, st.Partition, change.leader, st.LeaderEpoch)
	}
	rm.logger.Info("partition role", "topic", topic, "partition", st.Partition, "leader", st.Leader,
		"leader_epoch", st.LeaderEpoch, "isr", st.ISR, "partition_epoch", st.PartitionEpoch)
	return nil
}

// start runs the ISR expiration check (every replica.lag.time.max.ms / 2)
// and the AlterPartition sender until ctx ends or shutdown. The
// high-watermark checkpoint starts with the first LeaderAndIsr
// (startHighWatermarkCheckpoints).
func (rm *replicaManager) start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	rm.loopMu.Lock()
	defer rm.loopMu.Unlock()
	rm.loopCtx = ctx
	rm.stopLoops = cancel
	rm.fetchers.start(ctx)
	rm.replicationWG.Add(2)
	go func() {
		defer rm.replicationWG.Done()
		rm.alter.run(ctx)
	}()
	go func() {
		defer rm.replicationWG.Done()
		rm.every(ctx, max(rm.cfg.ReplicaLagTimeMax/2, 10*time.Millisecond), rm.shrinkISRs)
	}()
	if rm.hwStarted {
		rm.runHighWatermarkCheckpointsLocked()
	}
}

// startHighWatermarkCheckpoints starts checkpointing HWs; LeaderAndIsr
// calls it after applying its states. Kafka starts the thread after the
// first LeaderAndIsr (ReplicaManager.startHighWatermarkCheckPointThread),
// so the checkpoint read at that request is never overwritten before.
func (rm *replicaManager) startHighWatermarkCheckpoints() {
	rm.loopMu.Lock()
	defer rm.loopMu.Unlock()
	if rm.hwStarted {
		return
	}
	rm.hwStarted = true
	if rm.loopCtx != nil {
		rm.runHighWatermarkCheckpointsLocked()
	}
}

func (rm *replicaManager) runHighWatermarkCheckpointsLocked() {
	if rm.loopsStopped {
		return
	}
	rm.replicationWG.Add(1)
	go func() {
		defer rm.replicationWG.Done()
		rm.every(rm.loopCtx, max(rm.cfg.ReplicaHWCheckpointPeriod, 100*time.Millisecond), rm.checkpointHighWatermarks)
	}()
}

func (rm *replicaManager) every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// snapshot lists the hosted partitions.
func (rm *replicaManager) snapshot() []*partition {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	out := make([]*partition, 0, len(rm.partitions))
	for _, p := range rm.partitions {
		out = append(out, p)
	}
	return out
}

// shrinkISRs is Kafka's isr-expiration task; it also lets the HW pass
// followers that stopped fetching and are no longer caught up.
func (rm *replicaManager) shrinkISRs() {
	now := rm.nowMs()
	for _, p := range rm.snapshot() {
		p.maybeIncrementHW(now)
		if item := p.maybeShrinkISR(now); item != nil {
			rm.logger.Info("shrinking ISR", "topic", p.topic, "partition", p.id, "new_isr", item.newISR)
			rm.alter.submit(item)
		}
	}
}

// checkpointHighWatermarks writes replication-offset-checkpoint
// (ReplicaManager.checkpointHighWatermarks): the HW of every hosted
// partition, and the last known entry of each log on disk not hosted now
// (Kafka leaves the file of a log dir hosting no partition untouched). It
// does nothing before the first LeaderAndIsr, which reads the file.
func (rm *replicaManager) checkpointHighWatermarks() {
	rm.loopMu.Lock()
	started := rm.hwStarted
	rm.loopMu.Unlock()
	if !started {
		return
	}
	hosted := rm.snapshot() // before checkpointMu: LeaderAndIsr takes rm.mu, then checkpointMu
	rm.checkpointMu.Lock()
	defer rm.checkpointMu.Unlock()
	rm.loadHighWatermarksLocked()
	hws := map[storage.TopicPartition]int64{}
	for tp, hw := range rm.hwCheckpoint {
		if _, ok := rm.logs.Get(tp.Topic, tp.Partition); ok {
			hws[tp] = hw
		}
	}
	for _, p := range hosted {
		hws[storage.TopicPartition{Topic: p.topic, Partition: p.id}] = p.highWatermark()
	}
	// One dir at a time, so a failed write names its dir: it goes offline
	// (CheckpointFileWithFailureHandler.write), and an offline dir is not
	// written again (handleLogDirFailure drops its checkpoint).
	dirs := rm.logs.Dirs()
	for _, dir := range dirs {
		if rm.hwUnreadable[dir] != nil || !rm.logs.IsLogDirOnline(dir) {
			continue
		}
		skip := map[string]bool{}
		for _, other := range dirs {
			skip[other] = other != dir
		}
		if err := rm.logs.WriteReplicationCheckpoint(hws, skip); err != nil {
			rm.logger.Error("writing replication-offset-checkpoint failed; the log dir goes offline", "dir", dir, "err", err)
			rm.logs.ReportLogDirFailure(dir, fmt.Errorf("writing replication-offset-checkpoint: %w", err))
		}
	}
	rm.hwCheckpoint = hws
}

// shutdown stops the fetchers and background loops and writes the last
// high-watermark checkpoint; the logs are still open.
func (rm *replicaManager) shutdown() {
	rm.stopOnce.Do(func() {
		rm.fetchers.shutdown()
		rm.loopMu.Lock()
		rm.loopsStopped = true
		if rm.stopLoops != nil {
			rm.stopLoops()
		}
		rm.loopMu.Unlock()
		rm.replicationWG.Wait()
		rm.checkpointHighWatermarks()
	})
}

// refreshTopicConfig reads /config/topics/<t> and makes the broker's log
// defaults with those overrides the config of the topic's logs, present and
// future. LeaderAndIsr calls it before creating logs, the config-change
// watcher when an override changes. Reads and applies are serialised so an
// older read never overwrites a newer one.
func (rm *replicaManager) refreshTopicConfig(topic string) error {
	rm.configMu.Lock()
	defer rm.configMu.Unlock()
	if rm.zk == nil {
		return nil
	}
	overrides, err := rm.zk.TopicConfig(topic)
	if err != nil {
		return fmt.Errorf("reading config of topic %s: %w", topic, err)
	}
	c, err := rm.logs.DefaultConfig().WithOverrides(overrides)
	if err != nil {
		// Kafka would fail the partition; serving it with the broker's defaults is kinder.
		rm.logger.Warn("invalid topic config in ZooKeeper, using the broker defaults", "topic", topic, "err", err)
		c = rm.logs.DefaultConfig()
	}
	rm.logs.SetTopicConfig(topic, c)
	return nil
}

// StopReplica leader epochs with a meaning of their own (LeaderAndIsr.NoEpoch,
// LeaderAndIsr.EpochDuringDelete).
const (
	noLeaderEpoch           int32 = -1 // v0-2 requests carry none
	leaderEpochDuringDelete int32 = -2 // topic deletion: stop whatever the epoch
)

// stopReplica removes the partition from service and deletes its log when
// asked. As ReplicaManager.stopReplicas, an offline partition is left
// alone (KAFKA_STORAGE_ERROR), and so is one whose leader epoch is newer
// than the request's (FENCED_LEADER_EPOCH) unless the request carries no
// epoch or the deletion sentinel.
func (rm *replicaManager) stopReplica(topic string, p int32, del bool, leaderEpoch int32) error {
	key := topicPartition{topic, p}
	rm.mu.Lock()
	pt, ok := rm.partitions[key]
	_, offlineUnhosted := rm.offlineUnhosted[key]
	if offlineUnhosted || ok && pt.isOffline() {
		rm.mu.Unlock()
		return fmt.Errorf("%w: %s-%d is offline", kerr.KafkaStorageError, topic, p)
	}
	if ok && leaderEpoch != noLeaderEpoch && leaderEpoch != leaderEpochDuringDelete {
		if current := pt.currentLeaderEpoch(); leaderEpoch < current {
			rm.mu.Unlock()
			return fmt.Errorf("%w: StopReplica for %s-%d in leader epoch %d, ours is %d", kerr.FencedLeaderEpoch, topic, p, leaderEpoch, current)
		}
	}
	delete(rm.partitions, key)
	rm.mu.Unlock()
	rm.fetchers.remove([]topicPartition{key})
	if ok {
		pt.stop()
		if rm.onRoleChange != nil {
			rm.onRoleChange(topic, p, false, -1)
		}
	}
	rm.noteStoppedHighWatermark(topic, p, pt, del)
	if !del {
		return nil
	}
	if _, ok := rm.logs.Get(topic, p); !ok {
		return nil
	}
	if err := rm.logs.Delete(topic, p); err != nil {
		return fmt.Errorf("deleting log of %s-%d: %w", topic, p, err)
	}
	return nil
}

// noteStoppedHighWatermark keeps the HW checkpoint of a replica that leaves
// the hosted set: Kafka's stopPartitions keeps a replica stopped without
// deletion hosted, so checkpointHighWatermarks goes on writing its HW; here
// its entry takes the HW at the stop (the checkpoint keeps entries of logs
// on disk). A deleted replica's entry goes.
func (rm *replicaManager) noteStoppedHighWatermark(topic string, p int32, pt *partition, del bool) {
	tp := storage.TopicPartition{Topic: topic, Partition: p}
	rm.checkpointMu.Lock()
	defer rm.checkpointMu.Unlock()
	rm.loadHighWatermarksLocked()
	switch {
	case del:
		delete(rm.hwCheckpoint, tp)
	case pt != nil:
		rm.hwCheckpoint[tp] = pt.highWatermark()
	}
}

// wakeAll releases every waiting fetch (shutdown).
func (rm *replicaManager) wakeAll() {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	for _, pt := range rm.partitions {
		pt.wake()
	}
}
