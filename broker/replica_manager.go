package broker

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// replicaManager owns the partitions this broker hosts, leader or follower,
// as the controller's LeaderAndIsr requests assign them.
type replicaManager struct {
	cfg    Config
	logs   *storage.Manager
	zk     *zkmeta.Client
	logger *slog.Logger

	mu         sync.RWMutex
	partitions map[topicPartition]*partition

	configMu sync.Mutex // serialises refreshTopicConfig
}

type topicPartition struct {
	Topic     string
	Partition int32
}

// partitionState is one partition's entry of a LeaderAndIsr request.
type partitionState struct {
	Partition   int32
	Leader      int32
	LeaderEpoch int32
	ISR         []int32
	Replicas    []int32
}

func newReplicaManager(cfg Config, logs *storage.Manager, zk *zkmeta.Client, logger *slog.Logger) *replicaManager {
	return &replicaManager{cfg: cfg, logs: logs, zk: zk, logger: logger, partitions: map[topicPartition]*partition{}}
}

func (rm *replicaManager) get(topic string, p int32) (*partition, bool) {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	pt, ok := rm.partitions[topicPartition{topic, p}]
	return pt, ok
}

// leaderPartition returns the partition if this broker leads it, else the
// error Kafka answers: UNKNOWN_TOPIC_OR_PARTITION or NOT_LEADER_OR_FOLLOWER.
func (rm *replicaManager) leaderPartition(topic string, p int32) (*partition, error) {
	pt, ok := rm.get(topic, p)
	if !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	if !pt.isLeader() {
		return nil, kerr.NotLeaderForPartition
	}
	return pt, nil
}

// applyLeaderAndIsr creates the partition's log if needed and switches its
// role. A state whose leader epoch is older than the one held is refused:
// leader epochs never go backwards.
func (rm *replicaManager) applyLeaderAndIsr(topic string, topicID [16]byte, st partitionState, self int32) error {
	key := topicPartition{topic, st.Partition}
	rm.mu.Lock()
	pt, ok := rm.partitions[key]
	if !ok {
		log, err := rm.logs.GetOrCreate(topic, st.Partition, topicID)
		if err != nil {
			rm.mu.Unlock()
			rm.logger.Error("cannot open partition log", "topic", topic, "partition", st.Partition, "err", err)
			return kerr.KafkaStorageError
		}
		pt = newPartition(topic, st.Partition, topicID, log)
		rm.partitions[key] = pt
	}
	rm.mu.Unlock()

	if err := pt.becomeLeaderOrFollower(st, self); err != nil {
		return err
	}
	rm.logger.Info("partition role", "topic", topic, "partition", st.Partition, "leader", st.Leader,
		"leader_epoch", st.LeaderEpoch, "isr", st.ISR)
	return nil
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

// stopReplica removes the partition from service and deletes its log when asked.
func (rm *replicaManager) stopReplica(topic string, p int32, del bool) error {
	key := topicPartition{topic, p}
	rm.mu.Lock()
	pt, ok := rm.partitions[key]
	delete(rm.partitions, key)
	rm.mu.Unlock()
	if ok {
		pt.stop()
	}
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

// wakeAll releases every waiting fetch (shutdown).
func (rm *replicaManager) wakeAll() {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	for _, pt := range rm.partitions {
		pt.wake()
	}
}
