// Package txn is the transaction coordinator (Kafka's TransactionCoordinator
// and TransactionStateManager, ZooKeeper mode), pure logic with no network:
// InitProducerId for transactional ids (epoch bumps, fencing, KIP-360
// recovery, producer-id rotation on epoch exhaustion), AddPartitionsToTxn
// and its KIP-890 verify-only form, EndTxn with the two-phase
// PrepareCommit/PrepareAbort -> markers -> CompleteCommit/CompleteAbort
// protocol, the timeout-abort and transactional-id expiry tasks,
// DescribeTransactions and ListTransactions. State lives in
// __transaction_state with Kafka's key and value schemas (records.go): the
// coordinator of a transactional id is the leader of partition
// abs(hash(id)) % partitions, whose leader epoch is the coordinator epoch;
// it loads the partition when elected and drops it when it resigns.
//
// Locks, outermost first: Coordinator.stateMu (partition ownership and the
// caches; TransactionStateManager.stateLock), txnMetadata.mu (one id),
// partitionCache.mu (an id map; a leaf). No lock is held across
// Store.Append: the coordinator epoch is captured when a transition is
// prepared and compared once the append returns (the store itself refuses
// an append for a stale coordinator epoch).
package txn

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Config holds the broker settings the coordinator uses.
type Config struct {
	BrokerID              int32
	NumPartitions         int32         // transaction.state.log.num.partitions (used when the topic does not exist yet)
	MaxTimeout            time.Duration // transaction.max.timeout.ms
	AbortTimedOutInterval time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms
	RemoveExpiredInterval time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms
	IDExpiration          time.Duration // transactional.id.expiration.ms
	RequestTimeout        time.Duration // request.timeout.ms (tombstone appends)
}

// DefaultConfig is Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		NumPartitions:         50,
		MaxTimeout:            15 * time.Minute,
		AbortTimedOutInterval: 10 * time.Second,
		RemoveExpiredInterval: time.Hour,
		IDExpiration:          7 * 24 * time.Hour,
		RequestTimeout:        30 * time.Second,
	}
}

// Store is __transaction_state as the coordinator uses it; the broker
// implements it over its replica manager.
type Store interface {
	// Append writes one record (value nil = tombstone) to the partition of
	// __transaction_state with acks=-1 and returns when it is replicated or
	// failed; errors are *kerr.Error values of Kafka's append errors
	// (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, ...;
	// the coordinator maps them as TransactionStateManager.appendTransactionToLog
	// does).
	Append(ctx context.Context, partition, coordinatorEpoch int32, key, value []byte, timeout time.Duration) error
	// Load calls fn for every record of the partition from its log start
	// to its high watermark, in order.
	Load(ctx context.Context, partition int32, fn func(key, value []byte) error) error
}

// MarkerRequest is one transaction's markers: Kafka's TxnMarkerEntry for
// every partition of the transaction.
type MarkerRequest struct {
	TransactionalID  string
	ProducerID       int64
	ProducerEpoch    int16
	CoordinatorEpoch int32
	Commit           bool
	TxnPartition     int32 // the __transaction_state partition of the id
	Partitions       []TopicPartition
}

// MarkerSender delivers transaction markers (TransactionMarkerChannelManager).
type MarkerSender interface {
	// Send delivers the markers to each partition's leader, retrying
	// through leader changes, and calls done once each partition has it
	// (or is deleted). Never blocks. (TransactionMarkerChannelManager)
	Send(m MarkerRequest, done func())
	// RemoveForTxnTopicPartition drops queued markers of a resigned
	// __transaction_state partition.
	RemoveForTxnTopicPartition(partition int32)
}

// ProducerIDSource allocates a new producer id (ProducerIdManager).
type ProducerIDSource func(ctx context.Context) (int64, error)

// completionRetryBackoff is how long a CompleteCommit/CompleteAbort write
// that failed with COORDINATOR_NOT_AVAILABLE waits before it is retried
// (TransactionMarkerChannelManager's txnLogAppendRetryQueue is drained on
// the send thread's next round; retry.backoff.ms).
const completionRetryBackoff = 100 * time.Millisecond

// partitionCache is TxnMetadataCacheEntry: the ids of one loaded
// __transaction_state partition and its coordinator epoch.
type partitionCache struct {
	coordinatorEpoch int32
	mu               sync.Mutex
	ids              map[string]*txnMetadata
}

func (pc *partitionCache) get(id string) *txnMetadata {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.ids[id]
}

func (pc *partitionCache) all() []*txnMetadata {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	out := make([]*txnMetadata, 0, len(pc.ids))
	for _, m := range pc.ids {
		out = append(out, m)
	}
	return out
}

// Coordinator is the transaction coordinator of one broker.
type Coordinator struct {
	cfg     Config
	store   Store
	markers MarkerSender
	pids    ProducerIDSource
	clock   Clock
	logger  *slog.Logger

	ctx    context.Context // ends on Close
	cancel context.CancelFunc

	numPartitions atomic.Int32

	stateMu sync.RWMutex
	active  bool
	loading map[int32]int32 // partition -> coordinator epoch being loaded
	caches  map[int32]*partitionCache

	timersMu  sync.Mutex
	timers    map[uint64]Timer
	nextTimer uint64
	closed    bool
	wg        sync.WaitGroup
}

// NewCoordinator builds a coordinator; Start activates it.
func NewCoordinator(cfg Config, store Store, markers MarkerSender, pids ProducerIDSource, clock Clock, logger *slog.Logger) *Coordinator {
	if clock == nil {
		clock = SystemClock()
	}
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg: cfg, store: store, markers: markers, pids: pids, clock: clock,
		logger: logger.With("component", "transaction-coordinator"),
		ctx:    ctx, cancel: cancel,
		loading: map[int32]int32{}, caches: map[int32]*partitionCache{},
		timers: map[uint64]Timer{},
	}
	c.numPartitions.Store(max(cfg.NumPartitions, 1))
	return c
}

// PartitionFor is TransactionStateManager.partitionFor:
// Utils.abs(transactionalId.hashCode) % numPartitions, with Java's
// String.hashCode over UTF-16 code units and Utils.abs mapping
// Integer.MIN_VALUE to 0 (not a mask of the sign bit).
func PartitionFor(transactionalID string, numPartitions int32) int32 {
	if numPartitions <= 0 {
		return 0
	}
	h := zkmeta.JavaStringHash(transactionalID)
	switch {
	case h == math.MinInt32:
		h = 0
	case h < 0:
		h = -h
	}
	return h % numPartitions
}

// PartitionFor is the __transaction_state partition of a transactional id
// with the partition count the coordinator started with.
func (c *Coordinator) PartitionFor(transactionalID string) int32 {
	return PartitionFor(transactionalID, c.numPartitions.Load())
}

// Start activates the coordinator with the partition count of
// __transaction_state (0: the topic does not exist yet, use
// transaction.state.log.num.partitions) and schedules the periodic
// timeout-abort and transactional-id expiry tasks (TransactionCoordinator.
// startup, TransactionStateManager.enableTransactionalIdExpiration).
func (c *Coordinator) Start(numPartitions int32) {
	if numPartitions > 0 {
		c.numPartitions.Store(numPartitions)
	}
	c.stateMu.Lock()
	c.active = true
	c.stateMu.Unlock()
	c.schedulePeriodic(c.cfg.AbortTimedOutInterval, c.abortTimedOutTransactions)
	c.schedulePeriodic(c.cfg.RemoveExpiredInterval, c.removeExpiredTransactionalIDs)
	c.logger.Info("transaction coordinator started", "txn_partitions", c.numPartitions.Load())
}

// schedulePeriodic runs task every interval (the first run one interval
// after now) until Close.
func (c *Coordinator) schedulePeriodic(interval time.Duration, task func()) {
	if interval <= 0 {
		return
	}
	var run func()
	run = func() {
		task()
		c.afterFunc(interval, run)
	}
	c.afterFunc(interval, run)
}

// afterFunc runs f once d has passed on the coordinator's clock, unless
// Close comes first; Close waits for a run under way.
func (c *Coordinator) afterFunc(d time.Duration, f func()) {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.closed {
		return
	}
	c.nextTimer++
	id := c.nextTimer
	c.wg.Add(1)
	c.timers[id] = c.clock.AfterFunc(d, func() {
		defer c.wg.Done()
		c.timersMu.Lock()
		delete(c.timers, id)
		c.timersMu.Unlock()
		if c.ctx.Err() == nil {
			f()
		}
	})
}

// Close deactivates the coordinator: the tasks stop, every partition is
// unloaded and later requests get NOT_COORDINATOR.
func (c *Coordinator) Close() {
	c.stateMu.Lock()
	c.active = false
	c.stateMu.Unlock()
	c.cancel()
	c.timersMu.Lock()
	c.closed = true
	for _, t := range c.timers {
		if t.Stop() {
			c.wg.Done()
		}
	}
	clear(c.timers)
	c.timersMu.Unlock()
	c.wg.Wait()
	c.stateMu.Lock()
	parts := make([]int32, 0, len(c.caches))
	for p := range c.caches {
		parts = append(parts, p)
	}
	clear(c.caches)
	clear(c.loading)
	c.stateMu.Unlock()
	for _, p := range parts {
		c.markers.RemoveForTxnTopicPartition(p)
	}
	c.logger.Info("transaction coordinator stopped")
}

// goTracked runs f in a goroutine Close waits for; after Close it does
// nothing.
func (c *Coordinator) goTracked(f func()) {
	c.timersMu.Lock()
	defer c.timersMu.Unlock()
	if c.closed {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// lookup is TransactionStateManager.getTransactionState: the id's
// metadata and the coordinator epoch of its partition,
// COORDINATOR_LOAD_IN_PROGRESS while the partition loads, NOT_COORDINATOR
// when this broker does not lead it. A nil metadata means unknown; with
// create set, create() is inserted unless an entry exists
// (putIfNotExists).
func (c *Coordinator) lookup(id string, create func() *txnMetadata) (int32, *txnMetadata, *kerr.Error) {
	p := c.PartitionFor(id)
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	if _, ok := c.loading[p]; ok {
		return 0, nil, kerr.CoordinatorLoadInProgress
	}
	pc := c.caches[p]
	if pc == nil {
		return 0, nil, kerr.NotCoordinator
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	m := pc.ids[id]
	if m == nil && create != nil {
		m = create()
		pc.ids[id] = m
	}
	return pc.coordinatorEpoch, m, nil
}

// stillOwned reports whether m is still cached in a loaded partition at
// coordinatorEpoch.
func (c *Coordinator) stillOwned(m *txnMetadata, coordinatorEpoch int32) bool {
	p := c.PartitionFor(m.id)
	c.stateMu.RLock()
	defer c.stateMu.RUnlock()
	if _, ok := c.loading[p]; ok {
		return false
	}
	pc := c.caches[p]
	return pc != nil && pc.coordinatorEpoch == coordinatorEpoch && pc.get(m.id) == m
}

// mapAppendError is TransactionStateManager.appendTransactionToLog's
// mapping of a __transaction_state append error.
func mapAppendError(err error) *kerr.Error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return kerr.CoordinatorNotAvailable
		}
		return kerr.UnknownServerError
	}
	switch ke {
	case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
		return kerr.NotCoordinator
	case kerr.MessageTooLarge, kerr.RecordListTooLarge:
		return kerr.UnknownServerError
	}
	return ke
}

// appendTransition is TransactionStateManager.appendTransactionToLog: it
// writes t (prepared on m under coordinatorEpoch) and, once written and
// still coordinator at that epoch, completes the transition. On failure
// the pending state is cleared unless retry says to keep it.
func (c *Coordinator) appendTransition(ctx context.Context, m *txnMetadata, coordinatorEpoch int32, t transit, retry func(*kerr.Error) bool) *kerr.Error {
	value, err := EncodeValue(t.value())
	if err != nil {
		c.logger.Error("cannot encode a transaction state", "transactional_id", m.id, "err", err)
		m.mu.Lock()
		m.hasPending = false
		m.mu.Unlock()
		return kerr.UnknownServerError
	}
	if !c.stillOwned(m, coordinatorEpoch) {
		// The partition was unloaded or reloaded since the transition was
		// prepared: the pending state goes with the old cache entry.
		return c.ownershipError(m.id)
	}
	timeout := time.Duration(t.timeoutMs) * time.Millisecond
	appendErr := c.store.Append(ctx, c.PartitionFor(m.id), coordinatorEpoch, EncodeKey(m.id), value, timeout)
	if appendErr != nil {
		mapped := mapAppendError(appendErr)
		c.logger.Debug("appending a transaction state failed", "transactional_id", m.id, "state", t.state, "err", appendErr, "mapped", mapped)
		if c.stillOwned(m, coordinatorEpoch) {
			m.mu.Lock()
			if retry == nil || !retry(mapped) {
				m.hasPending = false
			}
			m.mu.Unlock()
		}
		return mapped
	}
	if !c.stillOwned(m, coordinatorEpoch) {
		// Written, but this broker is no longer the coordinator at that
		// epoch: the new coordinator reads the record from the log.
		return kerr.NotCoordinator
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.completeTransitionTo(t); err != nil {
		c.logger.Error("completing a transaction state transition", "transactional_id", m.id, "err", err)
		m.hasPending = false
		return kerr.UnknownServerError
	}
	return nil
}

// ownershipError is the error of a request for id when its partition is
// not (any more) loaded here at the expected epoch.
func (c *Coordinator) ownershipError(id string) *kerr.Error {
	if _, _, kerrr := c.lookup(id, nil); kerrr == kerr.CoordinatorLoadInProgress {
		return kerr.CoordinatorLoadInProgress
	}
	return kerr.NotCoordinator
}
