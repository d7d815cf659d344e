// Package group is the classic-protocol group coordinator and offset
// manager (Kafka's GroupCoordinator and GroupMetadataManager, ZooKeeper
// mode): JoinGroup, SyncGroup, Heartbeat, LeaveGroup with the eager and
// cooperative flows clients drive, static membership, OffsetCommit and
// OffsetFetch, OffsetDelete, ListGroups, DescribeGroups, DeleteGroups,
// offset expiry, and transactional offset commits (TxnOffsetCommit,
// completed by the producer's transaction markers). State lives in __consumer_offsets with Kafka's key
// and value schemas: the coordinator of a group is the leader of partition
// abs(hash(group id)) % partitions, loads the partition when it becomes its
// leader and unloads it when it stops leading.
//
// Locks, outermost first: Coordinator.partMu (partition ownership),
// group.mu, Coordinator.groupsMu (the group map; a leaf),
// Coordinator.producersMu (open groups of transactional producers; a leaf).
package group

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Config holds the broker settings the coordinator uses.
type Config struct {
	BrokerID              int32
	NumPartitions         int32         // offsets.topic.num.partitions (used when the topic does not exist yet)
	MinSessionTimeout     time.Duration // group.min.session.timeout.ms
	MaxSessionTimeout     time.Duration // group.max.session.timeout.ms
	InitialRebalanceDelay time.Duration // group.initial.rebalance.delay.ms
	MaxSize               int32         // group.max.size
	OffsetsRetention      time.Duration // offsets.retention.minutes
	RetentionCheck        time.Duration // offsets.retention.check.interval.ms
	CommitTimeout         time.Duration // offsets.commit.timeout.ms
	MaxMetadataSize       int           // offset.metadata.max.bytes
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		NumPartitions:         50,
		MinSessionTimeout:     6 * time.Second,
		MaxSessionTimeout:     30 * time.Minute,
		InitialRebalanceDelay: 3 * time.Second,
		MaxSize:               1<<31 - 1,
		OffsetsRetention:      7 * 24 * time.Hour,
		RetentionCheck:        10 * time.Minute,
		CommitTimeout:         5 * time.Second,
		MaxMetadataSize:       4096,
	}
}

// Store is __consumer_offsets as the coordinator uses it; the broker
// implements it over its replica manager.
type Store interface {
	// Append writes records as one batch to partition, which this broker
	// must lead. It returns the batch's base offset and, when
	// waitReplication is set, a function that waits until the batch is
	// committed by the topic's replication rules (acks=all) or ctx ends
	// (REQUEST_TIMED_OUT). Errors are Kafka errors (*kerr.Error) where
	// Kafka has one: NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS,
	// MESSAGE_TOO_LARGE, ...
	Append(partition int32, records []Record, waitReplication bool) (int64, func(ctx context.Context) error, error)
	// Load reads the partition, which this broker leads, from its log
	// start to its log end, one batch at a time; it stops with an error
	// wrapping ErrLeadershipLost when this broker does not lead the
	// partition (any more), with ctx's error when ctx ends, and with
	// fn's error.
	Load(ctx context.Context, partition int32, fn func(Batch) error) error
	// AppendTransactional writes records as one transactional batch of
	// the producer (MemoryRecords.withTransactionalRecords: its producer
	// id and epoch, base sequence 0) to partition, which this broker must
	// lead, as the coordinator (origin COORDINATOR: the producer epoch is
	// checked, the sequence is not), with the verification guard. It
	// returns the batch's base offset and a function that waits until the
	// batch is committed (acks=all); errors as Append's, and the log's
	// producer errors (INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE, ...).
	AppendTransactional(partition int32, producer TxnProducer, records []Record) (int64, func(ctx context.Context) error, error)
}

// ErrLeadershipLost is what Store.Load wraps when this broker no longer
// leads the partition: the load ends and the resignation that follows
// unloads the partition. Other load errors are retried.
var ErrLeadershipLost = errors.New("not the leader of the __consumer_offsets partition")

// Coordinator is the group coordinator of one broker.
type Coordinator struct {
	cfg    Config
	store  Store
	clock  Clock
	logger *slog.Logger

	ctx    context.Context // ends on Close
	cancel context.CancelFunc

	numPartitions atomic.Int32 // fixed once started

	partMu  sync.Mutex
	active  bool
	loading map[int32]*pendingLoad // partitions being loaded (COORDINATOR_LOAD_IN_PROGRESS)
	owned   map[int32]bool
	epochs  map[int32]int32 // the newest leader epoch seen per partition

	groupsMu sync.Mutex
	groups   map[string]*group

	producersMu           sync.Mutex
	openGroupsForProducer map[int64]map[string]bool // groups with pending transactional offsets, per producer id

	tasksMu sync.Mutex
	tasks   []func()
	wakeup  chan struct{}
	wg      sync.WaitGroup
}

// New builds a coordinator; Start activates it.
func New(cfg Config, store Store, clock Clock, logger *slog.Logger) *Coordinator {
	if clock == nil {
		clock = SystemClock()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg: cfg, store: store, clock: clock, logger: logger.With("component", "group-coordinator"),
		ctx: ctx, cancel: cancel,
		loading: map[int32]*pendingLoad{}, owned: map[int32]bool{}, epochs: map[int32]int32{},
		groups: map[string]*group{}, openGroupsForProducer: map[int64]map[string]bool{},
		wakeup: make(chan struct{}, 1),
	}
	c.numPartitions.Store(max(cfg.NumPartitions, 1))
	return c
}

// Start activates the coordinator. partitions is the partition count of
// __consumer_offsets if the topic exists, else 0 to use
// offsets.topic.num.partitions (GroupMetadataManager.startup).
func (c *Coordinator) Start(partitions int32) {
	c.partMu.Lock()
	if partitions > 0 {
		c.numPartitions.Store(partitions)
	}
	c.active = true
	c.partMu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.runTasks()
	}()
	if c.cfg.RetentionCheck > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.runExpiry()
		}()
	}
	c.logger.Info("group coordinator started", "offsets_partitions", c.numPartitions.Load())
}

// Close deactivates the coordinator: every group is unloaded (waiting
// JoinGroup and SyncGroup requests get NOT_COORDINATOR) and the background
// work stops.
func (c *Coordinator) Close() {
	c.partMu.Lock()
	wasActive := c.active
	c.active = false
	c.partMu.Unlock()
	c.cancel()
	c.wg.Wait()
	if !wasActive {
		return
	}
	c.partMu.Lock()
	defer c.partMu.Unlock()
	clear(c.owned)
	for _, pl := range c.loading {
		pl.stopRetry()
	}
	clear(c.loading)
	for _, g := range c.allGroups() {
		g.mu.Lock()
		c.onGroupUnloaded(g)
		g.mu.Unlock()
		c.removeGroup(g)
	}
	c.producersMu.Lock()
	clear(c.openGroupsForProducer)
	c.producersMu.Unlock()
}

// PartitionFor is the __consumer_offsets partition of a group:
// Utils.abs(groupId.hashCode) % partitions, with Java's String.hashCode
// over UTF-16 code units.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return PartitionFor(groupID, c.numPartitions.Load())
}

// PartitionFor computes a group's partition for a partition count:
// GroupMetadataManager.partitionFor, Utils.abs(groupId.hashCode) %
// partitions, where Utils.abs maps Integer.MIN_VALUE to 0 and is Math.abs
// otherwise (not a mask of the sign bit: for a negative hash the two
// differ, "my-group" is partition 12 of 50, not 36).
func PartitionFor(groupID string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	h := zkmeta.JavaStringHash(groupID)
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return h % partitions
}

// Elected is called when this broker becomes the leader of
// __consumer_offsets-partition in leaderEpoch: the partition's groups and
// offsets are loaded in the background (GroupCoordinator.onElection).
func (c *Coordinator) Elected(partition, leaderEpoch int32) {
	c.logger.Info("elected as the group coordinator for partition", "partition", partition, "epoch", leaderEpoch)
	c.schedule(func() { c.loadPartition(partition, leaderEpoch) })
}

// Resigned is called when this broker stops leading the partition
// (becomes a follower, or the replica is stopped); leaderEpoch < 0 means
// unknown. The partition's groups are unloaded (onResignation).
func (c *Coordinator) Resigned(partition, leaderEpoch int32) {
	c.logger.Info("resigned as the group coordinator for partition", "partition", partition, "epoch", leaderEpoch)
	c.schedule(func() { c.unloadPartition(partition, leaderEpoch) })
}

// schedule queues work for the single background worker, so loads and
// unloads of a partition run in the order leadership changed.
func (c *Coordinator) schedule(f func()) {
	c.tasksMu.Lock()
	c.tasks = append(c.tasks, f)
	c.tasksMu.Unlock()
	select {
	case c.wakeup <- struct{}{}:
	default:
	}
}

func (c *Coordinator) runTasks() {
	for {
		c.tasksMu.Lock()
		var f func()
		if len(c.tasks) > 0 {
			f = c.tasks[0]
			c.tasks = c.tasks[1:]
		}
		c.tasksMu.Unlock()
		if f != nil {
			if c.ctx.Err() != nil {
				return
			}
			f()
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.wakeup:
		}
	}
}

// maybeUpdateEpoch records epoch as the partition's newest and reports
// whether it is at least the newest seen; a negative epoch always passes.
func (c *Coordinator) maybeUpdateEpochLocked(partition, epoch int32) bool {
	if epoch < 0 {
		return true
	}
	cur, ok := c.epochs[partition]
	if !ok || epoch > cur {
		c.epochs[partition] = epoch
		return true
	}
	return epoch == cur
}

// apiKind distinguishes the group id rules of the APIs.
type apiKind int

// GroupCoordinator.isValidGroupId: the offset APIs accept the empty group
// id for backwards compatibility, and DescribeGroups and DeleteGroups so
// that its state can be seen and deleted; every other API (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetDelete) needs a group id.
const (
	apiGroupIDRequired apiKind = iota // JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetDelete
	apiEmptyGroupIDOK                 // OffsetCommit, OffsetFetch, DescribeGroups, DeleteGroups
)

// validateGroupStatus checks the group id and that this coordinator owns
// and has loaded the group's partition.
func (c *Coordinator) validateGroupStatus(groupID string, api apiKind) *kerr.Error {
	if api == apiGroupIDRequired && groupID == "" {
		return kerr.InvalidGroupID
	}
	c.partMu.Lock()
	defer c.partMu.Unlock()
	p := c.PartitionFor(groupID)
	switch {
	case !c.active:
		return kerr.CoordinatorNotAvailable
	case c.loading[p] != nil:
		return kerr.CoordinatorLoadInProgress
	case !c.owned[p]:
		return kerr.NotCoordinator
	}
	return nil
}

func (c *Coordinator) getGroup(groupID string) *group {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	return c.groups[groupID]
}

func (c *Coordinator) allGroups() []*group {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	out := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

var errNotOwned = errors.New("group partition not owned")

// getOrMaybeCreateGroup returns the group, creating an Empty one when
// create is set; it re-checks ownership so no group is created in a
// partition being unloaded.
func (c *Coordinator) getOrMaybeCreateGroup(groupID string, create bool) (*group, error) {
	if !create {
		return c.getGroup(groupID), nil
	}
	c.partMu.Lock()
	defer c.partMu.Unlock()
	if !c.owned[c.PartitionFor(groupID)] {
		return nil, errNotOwned
	}
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	g, ok := c.groups[groupID]
	if !ok {
		g = newGroup(groupID, stateEmpty, c.nowMs())
		c.groups[groupID] = g
	}
	return g, nil
}

// addGroup puts g in the cache unless a group with its id is there; it
// returns the cached group.
func (c *Coordinator) addGroup(g *group) *group {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	if cur, ok := c.groups[g.id]; ok {
		return cur
	}
	c.groups[g.id] = g
	return g
}

// removeGroup drops g from the cache if it is still the cached group.
func (c *Coordinator) removeGroup(g *group) bool {
	c.groupsMu.Lock()
	defer c.groupsMu.Unlock()
	if c.groups[g.id] == g {
		delete(c.groups, g.id)
		return true
	}
	return false
}

// groupNotExists: the group's partition is owned and the group is absent
// or Dead.
func (c *Coordinator) groupNotExists(groupID string) bool {
	c.partMu.Lock()
	owned := c.owned[c.PartitionFor(groupID)]
	c.partMu.Unlock()
	if !owned {
		return false
	}
	g := c.getGroup(groupID)
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == stateDead
}

// partitionOf is the group's partition under the current count.
func (c *Coordinator) partitionOf(groupID string) int32 { return c.PartitionFor(groupID) }

func (c *Coordinator) transition(g *group, s groupState) {
	if err := g.transitionTo(s, c.nowMs()); err != nil {
		c.logger.Error("invalid group state transition", "err", err)
	}
}

func (c *Coordinator) String() string { return fmt.Sprintf("GroupCoordinator %d", c.cfg.BrokerID) }
