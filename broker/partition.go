package broker

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// partition is one replica hosted here (Kafka's Partition). As leader it
// appends produced batches, tracks its followers' fetch positions, moves
// the high watermark to the minimum LEO of the ISR and proposes ISR changes
// to the controller; as follower its log is written by a replica fetcher.
type partition struct {
	topic    string
	id       int32 // the partition id
	topicID  [16]byte
	log      *storage.Log
	logDir   string // the log dir holding log ("" unknown)
	self     int32
	lagMaxMs int64 // replica.lag.time.max.ms
	isLive   func(brokerID int32) bool

	mu                     sync.Mutex // serialises appends, truncation and role changes
	initialized            bool
	offline                bool // a storage error took it out of service
	leading                bool
	stopped                bool
	leader                 int32
	leaderEpoch            int32
	leaderSince            int32   // the leader epoch this broker's current leadership began in
	partitionEpoch         int32   // the state znode's version, as the controller sent it
	isr                    []int32 // committed: what the controller last told us
	maximalISR             []int32 // isr plus any member an in-flight AlterPartition adds
	alterInFlight          bool
	alterGen               uint64 // bumps on every AlterPartition sent and every LeaderAndIsr
	replicas               []int32
	leaderEpochStartOffset int64
	followers              map[int32]*followerState

	// The fallible storage steps of becoming leader, fields so a test can
	// make them fail: rebuilding the log's producer state
	// (storage.Log.LoadProducerState) and recording the new leader epoch's
	// start offset.
	loadProducers func(*storage.Log) error
	assignEpoch   func(log *storage.Log, epoch int32, startOffset int64) error
	// appendToLog and appendFetched are the leader's and the follower's
	// appends (storage.Log.AppendAsLeader, AppendAsFollower), fields so a
	// test can make them fail after writing.
	appendToLog   func(log *storage.Log, records []byte, leaderEpoch int32, upConvert bool) (storage.AppendInfo, error)
	appendFetched func(log *storage.Log, records []byte) (storage.AppendInfo, error)
	// appendVerified is the leader's append of records whose transaction
	// was verified with the coordinator (KIP-890,
	// storage.Log.AppendAsLeaderVerified), used for a non-zero guard.
	appendVerified func(log *storage.Log, records []byte, leaderEpoch int32, upConvert bool, guard storage.VerificationGuard) (storage.AppendInfo, error)
	// dirFailed reports an I/O error under the log's dir: the whole dir
	// goes offline (LogDirFailureChannel.maybeAddOfflineLogDir); nil: not
	// reported (tests of a partition alone).
	dirFailed func(dir string, err error)

	hw atomic.Int64

	waitMu  sync.Mutex
	waiters map[chan struct{}]struct{}
}

func newPartition(topic string, id int32, topicID [16]byte, log *storage.Log, self int32, lagMax time.Duration) *partition {
	p := &partition{topic: topic, id: id, topicID: topicID, log: log, self: self, lagMaxMs: lagMax.Milliseconds(),
		isLive: func(int32) bool { return true }, leader: -1, waiters: map[chan struct{}]struct{}{},
		loadProducers: (*storage.Log).LoadProducerState,
		assignEpoch: func(log *storage.Log, epoch int32, startOffset int64) error {
			return log.LeaderEpochs().Assign(epoch, startOffset)
		},
		appendToLog:    (*storage.Log).AppendAsLeader,
		appendFetched:  (*storage.Log).AppendAsFollower,
		appendVerified: (*storage.Log).AppendAsLeaderVerified}
	p.hw.Store(log.LogStartOffset())
	return p
}

func (p *partition) tp() topicPartition { return topicPartition{p.topic, p.id} }

func (p *partition) isLeader() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leading && !p.stopped
}

func (p *partition) currentLeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch
}

// isrSnapshot returns the committed ISR and whether an AlterPartition is in flight.
func (p *partition) isrSnapshot() ([]int32, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.isr), p.alterInFlight
}

// initHighWatermark sets the HW read from replication-offset-checkpoint,
// kept within [log start, LEO].
func (p *partition) initHighWatermark(hw int64) {
	hw = min(max(hw, p.log.LogStartOffset()), p.log.LogEndOffset())
	p.setHighWatermark(hw)
}

// roleChange is what a LeaderAndIsr state did to the partition.
type roleChange struct {
	leader      bool  // this broker leads now
	newFollower bool  // follows (a new epoch): (re)start fetching
	leaderID    int32 // the leader to fetch from
	epoch       int32
}

// becomeLeaderOrFollower applies a LeaderAndIsr partition state
// (Partition.makeLeader / makeFollower). As in Kafka's ZooKeeper mode, a
// state is applied only if its leader epoch is newer than the one held
// (every controller-made change bumps it); an older or equal one is refused
// with STALE_CONTROLLER_EPOCH, so a re-sent state cannot undo an ISR change
// the controller confirmed through AlterPartition.
//
// The change is all or nothing: the storage work of becoming leader
// (producer state, the new epoch's start offset) is done before any state
// changes. If it fails the partition goes offline, as
// ReplicaManager.makeLeaders marks it on a KafkaStorageException
// (markPartitionOffline), and the error wraps KAFKA_STORAGE_ERROR.
func (p *partition) becomeLeaderOrFollower(st partitionState, nowMs int64) (roleChange, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offline {
		return roleChange{}, kerr.KafkaStorageError
	}
	if p.initialized && st.LeaderEpoch <= p.leaderEpoch {
		return roleChange{}, kerr.StaleControllerEpoch
	}
	leading := st.Leader == p.self
	wasLeader := p.leading && !p.stopped
	leo := p.log.LogEndOffset()
	if leading {
		// Every append (leader's and follower's) and truncation keeps the
		// log's producer state, open transactions and LSO, so a new
		// leader has them at once (storage.Log.LoadProducerState checks
		// nothing more today; the step stays fallible).
		if err := p.loadProducers(p.log); err != nil {
			p.storageFailedLocked(err)
			return roleChange{}, fmt.Errorf("%w: rebuilding producer state of %s-%d: %w", kerr.KafkaStorageError, p.topic, p.id, err)
		}
		// The new epoch starts at the LEO (Partition.makeLeader: the leader
		// epoch cache gets the epoch's start offset before any append).
		if err := p.assignEpoch(p.log, st.LeaderEpoch, leo); err != nil {
			p.storageFailedLocked(err)
			return roleChange{}, fmt.Errorf("%w: recording leader epoch %d of %s-%d: %w", kerr.KafkaStorageError, st.LeaderEpoch, p.topic, p.id, err)
		}
	}
	p.initialized = true
	p.stopped = false
	p.leader, p.leaderEpoch = st.Leader, st.LeaderEpoch
	if st.PartitionEpoch >= 0 {
		p.partitionEpoch = st.PartitionEpoch
	}
	p.isr, p.replicas = slices.Clone(st.ISR), slices.Clone(st.Replicas)
	p.maximalISR = slices.Clone(st.ISR)
	p.alterInFlight = false
	p.alterGen++
	p.leading = leading
	defer p.wake()
	if !p.leading {
		p.followers = nil
		return roleChange{newFollower: true, leaderID: st.Leader, epoch: st.LeaderEpoch}, nil
	}
	if !wasLeader {
		p.leaderSince = st.LeaderEpoch
	}
	p.leaderEpochStartOffset = leo
	// Partition.makeLeader: a re-elected leader keeps its followers' state
	// (only replicas new to the assignment start unknown); a new leader
	// knows none.
	previous := p.followers
	if !wasLeader {
		previous = nil
	}
	p.followers = map[int32]*followerState{}
	for _, id := range p.replicas {
		if id == p.self {
			continue
		}
		inISR := slices.Contains(p.isr, id)
		if f, ok := previous[id]; ok {
			f.reelected(inISR, nowMs, leo)
			p.followers[id] = f
			continue
		}
		p.followers[id] = newFollowerState(inISR, nowMs, leo)
	}
	p.maybeIncrementHWLocked(nowMs)
	return roleChange{leader: true, epoch: st.LeaderEpoch}, nil
}

// markOfflineLocked takes the partition out of service after a storage
// error (Partition.markOffline): it neither leads nor follows, and every
// request for it is answered KAFKA_STORAGE_ERROR until the broker restarts.
func (p *partition) markOfflineLocked() {
	p.offline = true
	p.stopped = true
	p.leading = false
	p.followers = nil
	p.alterInFlight = false
	p.alterGen++
	p.wake()
}

// markOffline is markOfflineLocked taking the lock: the partition's log dir
// failed (ReplicaManager.handleLogDirFailure -> markPartitionOffline).
func (p *partition) markOffline() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.markOfflineLocked()
}

// storageFailedLocked takes the partition offline after an I/O error of
// its log and reports its log dir failed: Kafka's I/O errors go through
// the LogDirFailureChannel (maybeHandleIOException), so the dir's other
// partitions follow.
func (p *partition) storageFailedLocked(err error) {
	p.markOfflineLocked()
	if p.dirFailed != nil {
		p.dirFailed(p.logDir, err)
	}
}

// isOffline reports whether a storage error took the partition offline.
func (p *partition) isOffline() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.offline
}

func (p *partition) stop() {
	p.mu.Lock()
	p.stopped = true
	p.leading = false
	p.followers = nil
	p.alterGen++
	p.mu.Unlock()
	p.wake()
}

// appendResult is what a produce learns of its append.
type appendResult struct {
	baseOffset     int64
	lastOffset     int64
	logStartOffset int64
	logAppendTime  int64 // -1 unless the topic stamps LogAppendTime
	leaderEpoch    int32 // the leader epoch of the append
}

// appendRecordsToLeader appends a produce request's records for this
// partition (Partition.appendRecordsToLeader): this broker must lead it and
// be online; with acks=all (requiredAcks -1) an ISR smaller than the
// effective min ISR refuses the append with NOT_ENOUGH_REPLICAS. The log
// validates and appends (storage.Log.AppendAsLeader; upConvert for a
// Produce v0-v2 message set); then the HW may move and waiting fetches and
// produces are woken. A storage error takes the partition offline.
func (p *partition) appendRecordsToLeader(records []byte, requiredAcks int16, upConvert bool, nowMs int64) (appendResult, error) {
	return p.appendRecordsToLeaderVerified(records, requiredAcks, upConvert, nowMs, 0)
}

// appendRecordsToLeaderVerified is appendRecordsToLeader with the
// verification guard a transactional batch starting a transaction here got
// from maybeStartTransactionVerification (0: none, KIP-890's SENTINEL).
func (p *partition) appendRecordsToLeaderVerified(records []byte, requiredAcks int16, upConvert bool, nowMs int64, guard storage.VerificationGuard) (appendResult, error) {
	return p.appendToLeader(requiredAcks, nowMs, "records", func(epoch int32) (storage.AppendInfo, error) {
		if guard != 0 {
			return p.appendVerified(p.log, records, epoch, upConvert, guard)
		}
		return p.appendToLog(p.log, records, epoch, upConvert)
	})
}

// appendEndTxnMarker appends a transaction marker the transaction
// coordinator sent (WriteTxnMarkers; ReplicaManager.appendRecords with
// origin COORDINATOR and requiredAcks -1, so Partition.appendRecordsToLeader's
// min ISR check applies). The log validates it against the producer's
// state (ProducerAppendInfo.appendEndTxnMarker), completes the producer's
// transaction, and the LSO may move: waiting fetches are woken.
func (p *partition) appendEndTxnMarker(m storage.EndTxnMarker, nowMs int64) (appendResult, error) {
	return p.appendToLeader(-1, nowMs, "a transaction marker", func(epoch int32) (storage.AppendInfo, error) {
		return p.log.AppendEndTxnMarker(m, epoch)
	})
}

// appendAsCoordinator appends the group coordinator's own transactional
// batch (a TxnOffsetCommit's offsets) with acks=all: the log appends it with
// storage.Log.AppendAsCoordinator (AppendOrigin.COORDINATOR: the producer
// epoch is checked, neither the sequence nor duplicates, as every
// TxnOffsetCommit batch has base sequence 0), with the KIP-890 guard.
func (p *partition) appendAsCoordinator(batch []byte, guard storage.VerificationGuard, nowMs int64) (appendResult, error) {
	return p.appendToLeader(-1, nowMs, "records", func(epoch int32) (storage.AppendInfo, error) {
		return p.log.AppendAsCoordinator(batch, epoch, guard)
	})
}

// appendToLeader is Partition.appendRecordsToLeader around one log append:
// this broker must lead the partition and be online; with acks=all
// (requiredAcks -1) an ISR smaller than the effective min ISR refuses the
// append with NOT_ENOUGH_REPLICAS. appendLog appends in the leader epoch;
// then the HW (and the LSO) may move and waiting fetches and produces are
// woken. A storage error takes the partition offline.
func (p *partition) appendToLeader(requiredAcks int16, nowMs int64, what string, appendLog func(leaderEpoch int32) (storage.AppendInfo, error)) (appendResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offline {
		return appendResult{}, kerr.KafkaStorageError
	}
	if !p.leading || p.stopped {
		return appendResult{}, kerr.NotLeaderForPartition
	}
	// Partition.appendRecordsToLeader: against the effective min ISR; the
	// topic config is read per append, so a change applies at once.
	if minISR := effectiveMinISR(p.log.Config().MinInsyncReplicas, p.self, p.replicas); requiredAcks == -1 && int32(len(p.isr)) < minISR {
		return appendResult{}, protocol.NewAPIError(kerr.NotEnoughReplicas,
			"The size of the current ISR %v is insufficient to satisfy the min.isr requirement of %d for partition %s-%d",
			p.isr, minISR, p.topic, p.id)
	}
	info, err := appendLog(p.leaderEpoch)
	if errors.Is(err, storage.ErrStorage) {
		// UnifiedLog.append: an I/O error in the write or the flush
		// (maybeHandleIOException) takes the log dir and its partitions
		// offline. The records may be in the log, so this replica must not
		// lead on.
		p.storageFailedLocked(err)
	}
	if err != nil {
		return appendResult{}, fmt.Errorf("appending %s to %s-%d: %w", what, p.topic, p.id, err)
	}
	res := appendResult{baseOffset: info.FirstOffset, lastOffset: info.LastOffset, logStartOffset: p.log.LogStartOffset(),
		logAppendTime: info.LogAppendTime, leaderEpoch: p.leaderEpoch}
	if len(info.Batches) == 0 {
		return res, nil // a duplicate: answered with its original offsets
	}
	p.maybeIncrementHWLocked(nowMs)
	p.wake()
	return res, nil
}

// maybeStartTransactionVerification is
// Partition.maybeStartTransactionVerification (KIP-890 part 1): the leader's
// log hands out the guard a transactional batch of producerID needs when
// it would start a transaction here, 0 when the producer has one ongoing.
// Only the leader answers (NOT_LEADER_OR_FOLLOWER).
func (p *partition) maybeStartTransactionVerification(producerID int64, baseSequence int32, producerEpoch int16) (storage.VerificationGuard, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offline {
		return 0, kerr.KafkaStorageError
	}
	if !p.leading || p.stopped {
		return 0, kerr.NotLeaderForPartition
	}
	return p.log.MaybeStartTransactionVerification(producerID, baseSequence, producerEpoch), nil
}

// fetchIsolation is Kafka's FetchIsolation: how far a fetch may read.
type fetchIsolation int8

const (
	isolationHighWatermark fetchIsolation = iota // a consumer's read_uncommitted
	isolationTxnCommitted                        // a consumer's read_committed: up to the LSO
	isolationLogEnd                              // a follower's fetch
)

// readRecords reads the log from fetchOffset (Partition.fetchRecords /
// readRecords, UnifiedLog.read): a follower's fetch up to the LEO, a
// read_uncommitted consumer's up to the HW, a read_committed one's up to
// the LSO (FetchIsolation), at most maxBytes unless minOneMessage lets a
// first larger batch through whole. It returns the file range and the LEO
// at the read, the follower's position is measured against.
func (p *partition) readRecords(fetchOffset, maxBytes int64, isolation fetchIsolation, minOneMessage bool) (storage.FileSlice, int64, error) {
	leo := p.log.LogEndOffset()
	var maxOffset int64
	switch isolation {
	case isolationLogEnd:
		maxOffset = leo
	case isolationTxnCommitted:
		maxOffset = p.lastStableOffset()
	default:
		maxOffset = p.highWatermark()
	}
	slice, err := p.log.Read(fetchOffset, maxBytes, maxOffset, minOneMessage)
	return slice, leo, err
}

// lastStableOffset is UnifiedLog.lastStableOffset: the first offset of the
// oldest transaction not yet decided and replicated, or the HW.
func (p *partition) lastStableOffset() int64 { return p.log.LastStableOffset() }

// abortedTransactions lists the aborted transactions a read_committed
// fetch from fetchOffset that read slice must know of
// (LocalLog.addAbortedTransactions: up to the offset-index entry past the
// bytes read, else the next segment's base offset, else the LEO).
func (p *partition) abortedTransactions(fetchOffset int64, slice storage.FileSlice) ([]storage.AbortedTxn, error) {
	return p.log.FetchAbortedTransactions(fetchOffset, slice)
}

// divergingEpoch is the leader's check of a fetcher's last fetched epoch
// (Partition.readRecords): if the end of that epoch cannot be determined,
// or the fetch offset is below the log start, the fetch is
// OFFSET_OUT_OF_RANGE; if our log's end of that epoch is below the fetch
// offset, or we know only an older epoch, the fetcher's log diverged and
// must truncate to the returned epoch's end offset.
func (p *partition) divergingEpoch(lastFetchedEpoch int32, fetchOffset int64) (int32, int64, bool, error) {
	epoch, end := p.log.LeaderEpochs().EndOffsetFor(lastFetchedEpoch, p.log.LogEndOffset())
	if epoch == storage.UndefinedEpoch || end == storage.UndefinedEpochOffset {
		return 0, 0, false, kerr.OffsetOutOfRange
	}
	if fetchOffset < p.log.LogStartOffset() {
		return 0, 0, false, kerr.OffsetOutOfRange
	}
	if epoch < lastFetchedEpoch || end < fetchOffset {
		return epoch, end, true, nil
	}
	return 0, 0, false, nil
}

// checkLeaderEpoch applies KIP-320's fencing: a client that knows an older
// leader epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH.
func (p *partition) checkLeaderEpoch(requested int32) error {
	if requested < 0 {
		return nil
	}
	current := p.currentLeaderEpoch()
	switch {
	case requested < current:
		return kerr.FencedLeaderEpoch
	case requested > current:
		return kerr.UnknownLeaderEpoch
	}
	return nil
}

// inISR reports whether replica is in the partition's committed ISR.
func (p *partition) inISR(replica int32) bool {
	isr, _ := p.isrSnapshot()
	return slices.Contains(isr, replica)
}

// maybeIncrementHWLocked moves the leader's HW forward to the minimum LEO
// of the maximal ISR; it never goes backwards, nor moves while the
// committed ISR is below the effective min ISR
// (Partition.maybeIncrementLeaderHW: isUnderMinIsr). It reports a change.
func (p *partition) maybeIncrementHWLocked(nowMs int64) bool {
	if !p.leading {
		return false
	}
	if underMinISR(p.self, p.leading, p.isr, p.replicas, p.log.Config().MinInsyncReplicas) {
		return false
	}
	leo := p.log.LogEndOffset()
	hw := highWatermarkFor(p.self, leo, p.maximalISR, p.followers, nowMs, p.lagMaxMs, p.isLive)
	if hw > p.hw.Load() {
		p.setHighWatermark(hw)
		return true
	}
	return false
}

// followerFetch records a follower's fetch at fetchOffset (its LEO) while
// the leader's LEO was leaderLEO (Partition.updateFollowerFetchState). It
// moves the HW and returns an ISR expansion to propose, if any.
// eligible says whether the follower may join the ISR (a live broker, as
// Partition.isReplicaIsrEligible checks in ZooKeeper mode).
func (p *partition) followerFetch(replicaID int32, fetchOffset, logStartOffset, leaderLEO, nowMs int64, eligible bool) (*alterItem, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offline {
		return nil, kerr.KafkaStorageError
	}
	if !p.leading || p.stopped {
		return nil, kerr.NotLeaderForPartition
	}
	f, ok := p.followers[replicaID]
	if !ok {
		if !slices.Contains(p.replicas, replicaID) {
			return nil, kerr.NotLeaderForPartition
		}
		f = newFollowerState(false, nowMs, leaderLEO)
		p.followers[replicaID] = f
	}
	logStartBefore := f.logStartOffset
	f.updateFetch(fetchOffset, logStartOffset, nowMs, leaderLEO)
	var alter *alterItem
	// ISR expansion (Partition.maybeExpandIsr): not while a change is in flight.
	if eligible && !p.alterInFlight && !slices.Contains(p.isr, replicaID) && followerInSync(f.leo, p.hw.Load(), p.leaderEpochStartOffset) {
		newISR := append(slices.Clone(p.isr), replicaID)
		alter = p.prepareAlterLocked(newISR, newISR)
	}
	// A moved log start may complete a waiting DeleteRecords
	// (Partition.updateFollowerFetchState: leaderLWIncremented).
	if p.maybeIncrementHWLocked(nowMs) || f.logStartOffset != logStartBefore {
		p.wake()
	}
	return alter, nil
}

// lowWatermarkIfLeader is Partition.lowWatermarkIfLeader: the smallest log
// start offset among the leader's log and its followers on live brokers
// (one that has not fetched yet counts as -1). A stopped partition is
// UNKNOWN_TOPIC_OR_PARTITION, as DelayedDeleteRecords.tryComplete finds
// no hosted partition.
func (p *partition) lowWatermarkIfLeader() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.offline:
		return 0, kerr.KafkaStorageError
	case p.stopped:
		return 0, kerr.UnknownTopicOrPartition
	case !p.leading:
		return 0, kerr.NotLeaderForPartition
	}
	low := p.log.LogStartOffset()
	for _, r := range p.replicas {
		if r == p.self || !p.isLive(r) {
			continue
		}
		start := unknownOffset
		if f, ok := p.followers[r]; ok {
			start = f.logStartOffset
		}
		low = min(low, start)
	}
	return low, nil
}

// maybeIncrementHW re-evaluates the HW (a follower that stopped fetching
// no longer holds it back once its lag passes).
func (p *partition) maybeIncrementHW(nowMs int64) {
	p.mu.Lock()
	moved := p.maybeIncrementHWLocked(nowMs)
	p.mu.Unlock()
	if moved {
		p.wake()
	}
}

// maybeShrinkISR proposes dropping the followers that have not caught up
// within replica.lag.time.max.ms (Partition.maybeShrinkIsr). While the
// change is in flight the maximal ISR stays the current one.
func (p *partition) maybeShrinkISR(nowMs int64) *alterItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.leading || p.stopped || p.alterInFlight {
		return nil
	}
	out := outOfSyncReplicas(p.self, p.log.LogEndOffset(), p.isr, p.followers, nowMs, p.lagMaxMs)
	if len(out) == 0 {
		return nil
	}
	newISR := slices.DeleteFunc(slices.Clone(p.isr), func(id int32) bool { return slices.Contains(out, id) })
	return p.prepareAlterLocked(newISR, slices.Clone(p.isr))
}

// prepareAlterLocked marks an AlterPartition in flight and describes it.
func (p *partition) prepareAlterLocked(newISR, maximal []int32) *alterItem {
	p.alterInFlight = true
	p.alterGen++
	p.maximalISR = maximal
	return &alterItem{
		p: p, gen: p.alterGen, topic: p.topic, topicID: p.topicID, partition: p.id,
		leaderEpoch: p.leaderEpoch, partitionEpoch: p.partitionEpoch, newISR: newISR,
	}
}

// alterStillPending reports whether item is still the partition's change
// in flight (no LeaderAndIsr or newer change replaced it).
func (p *partition) alterStillPending(item *alterItem) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.alterInFlight && p.alterGen == item.gen && p.leading
}

// alterOutcome is what the leader does next with an answered AlterPartition.
type alterOutcome int

const (
	alterDone       alterOutcome = iota // applied, or reset to the committed ISR
	alterRetry                          // an unexpected error: send it again
	alterAwaitState                     // our state is stale: a LeaderAndIsr, or the state znode, tells the truth
)

// completeAlter applies the controller's answer to our AlterPartition
// (Partition.handleAlterPartitionUpdate / handleAlterPartitionError).
// OPERATION_NOT_ATTEMPTED and INELIGIBLE_REPLICA go back to the committed
// ISR. FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, unknown partitions and
// a success for another leader epoch leave the change in flight until the
// real state is known; any other error is retried, as Kafka does.
func (p *partition) completeAlter(item *alterItem, code int16, isr []int32, leaderEpoch, partitionEpoch int32, nowMs int64) alterOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.alterInFlight || p.alterGen != item.gen {
		return alterDone
	}
	switch code {
	case 0:
		if leaderEpoch != p.leaderEpoch || partitionEpoch < p.partitionEpoch {
			return alterAwaitState
		}
		p.isr = slices.Clone(isr)
		p.maximalISR = slices.Clone(isr)
		p.partitionEpoch = partitionEpoch
		p.alterInFlight = false
	case kerr.OperationNotAttempted.Code, kerr.IneligibleReplica.Code:
		p.maximalISR = slices.Clone(p.isr)
		p.alterInFlight = false
	case kerr.FencedLeaderEpoch.Code, kerr.InvalidUpdateVersion.Code, kerr.UnknownTopicOrPartition.Code,
		kerr.UnknownTopicID.Code, kerr.InvalidRequest.Code, kerr.NewLeaderElected.Code:
		return alterAwaitState
	default:
		return alterRetry
	}
	p.maybeIncrementHWLocked(nowMs)
	p.wake()
	return alterDone
}

// adoptCommittedState ends an in-flight change whose answer said our state
// is stale, using the partition's state znode: if it still names this
// broker leader in our leader epoch, its ISR and version are the committed
// state (the controller's LeaderAndIsr would carry nothing newer). A newer
// leader epoch means a LeaderAndIsr is on its way; the change stays in
// flight until it comes.
func (p *partition) adoptCommittedState(item *alterItem, st zkmeta.LeaderAndIsr, nowMs int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.alterInFlight || p.alterGen != item.gen || !p.leading ||
		st.Leader != p.self || st.LeaderEpoch != p.leaderEpoch || st.ZkVersion < p.partitionEpoch {
		return
	}
	p.isr = slices.Clone(st.ISR)
	p.maximalISR = slices.Clone(st.ISR)
	p.partitionEpoch = st.ZkVersion
	p.alterInFlight = false
	p.maybeIncrementHWLocked(nowMs)
	p.wake()
}

// enoughReplicasReached is DelayedProduce's check
// (Partition.checkEnoughReplicasReachOffset) for an append made in
// appendEpoch: done once the HW reaches required; then
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the maximal ISR is below the
// effective min ISR.
// NOT_LEADER_OR_FOLLOWER once this broker no longer leads, or stopped
// leading after the append and leads again: Kafka completes the delayed
// produces when it becomes follower (ReplicaManager.makeFollowers), whose
// log may then have lost the append; a re-election of this leader keeps
// them waiting.
func (p *partition) enoughReplicasReached(required int64, appendEpoch int32, nowMs int64) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.offline {
		return true, kerr.KafkaStorageError
	}
	if !p.leading || p.stopped || appendEpoch < p.leaderSince {
		return true, kerr.NotLeaderForPartition
	}
	// Liveness may have changed since the last event (a dead follower
	// no longer holds the HW back).
	p.maybeIncrementHWLocked(nowMs)
	if p.hw.Load() < required {
		return false, nil
	}
	if minISR := effectiveMinISR(p.log.Config().MinInsyncReplicas, p.self, p.replicas); int32(len(p.maximalISR)) < minISR {
		return true, kerr.NotEnoughReplicasAfterAppend
	}
	return true, nil
}

// followerEpochOK reports whether this broker still follows in epoch.
func (p *partition) followerEpochOKLocked(epoch int32) bool {
	return p.initialized && !p.leading && !p.stopped && p.leaderEpoch == epoch
}

// appendAsFollower appends batches fetched from the leader of epoch, then
// takes the leader's HW (within [log start, LEO]) and log start.
func (p *partition) appendAsFollower(records []byte, epoch int32, leaderHW, leaderLogStart int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.followerEpochOKLocked(epoch) {
		return kerr.NotLeaderForPartition
	}
	if len(records) > 0 {
		if err := p.maybeStartAtFirstBatchLocked(records); err != nil {
			return err
		}
		if _, err := p.appendFetched(p.log, records); err != nil {
			if errors.Is(err, storage.ErrStorage) {
				// As for the leader: the log dir goes offline
				// (AbstractFetcherThread: KafkaStorageException).
				p.storageFailedLocked(err)
			}
			return fmt.Errorf("appending fetched records to %s-%d: %w", p.topic, p.id, err)
		}
		// The log applied the batches to its producer state too (open
		// transactions, markers, .txnindex), so this replica's LSO follows
		// the leader's.
	}
	leo := p.log.LogEndOffset()
	// The follower's HW is the leader's within [log start, LEO], and goes
	// down with it too (ReplicaFetcherThread.processPartitionData:
	// UnifiedLog.maybeUpdateHighWatermark, then maybeIncrementLogStartOffset).
	if hw := max(min(leaderHW, leo), p.log.LogStartOffset()); hw != p.hw.Load() {
		p.setHighWatermark(hw)
	}
	if leaderLogStart > p.log.LogStartOffset() && leaderLogStart <= leo {
		if _, err := p.log.IncrementLogStartOffset(leaderLogStart); err != nil {
			return fmt.Errorf("following the leader's log start offset of %s-%d: %w", p.topic, p.id, err)
		}
		if hw := p.hw.Load(); hw < leaderLogStart {
			p.setHighWatermark(leaderLogStart)
		}
	}
	p.wake()
	return nil
}

// maybeStartAtFirstBatchLocked handles the first fetch of an empty
// follower whose leader's log start falls inside a batch (DeleteRecords):
// the batch begins below our LEO. As
// Partition.appendRecordsToFollowerOrFutureReplica does on an
// UnexpectedAppendOffsetException, a log with nothing in it (LEO = log
// start) whose LEO lies within the first batch restarts at the batch's base
// offset (truncateFullyAndStartAt); the log start then follows the
// leader's. Any other batch below the LEO is left to the append to refuse.
func (p *partition) maybeStartAtFirstBatchLocked(records []byte) error {
	h, err := storage.ParseBatchHeader(records)
	if err != nil {
		return nil // the append reports it
	}
	leo := p.log.LogEndOffset()
	if leo != p.log.LogStartOffset() || h.BaseOffset >= leo || h.LastOffset() < leo {
		return nil
	}
	// UnifiedLog.analyzeAndValidateRecords checks every batch (size, CRC)
	// before the offsets: a corrupt fetch never empties the log.
	if _, err := storage.SplitBatches(records); err != nil {
		return nil // the append reports it
	}
	if err := p.log.TruncateFullyAndStartAt(h.BaseOffset); err != nil {
		return fmt.Errorf("restarting %s-%d at the fetched batch's base offset %d: %w", p.topic, p.id, h.BaseOffset, err)
	}
	p.setHighWatermark(h.BaseOffset)
	return nil
}

// truncateAsFollower truncates the log to offset while following in epoch.
func (p *partition) truncateAsFollower(offset int64, epoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.followerEpochOKLocked(epoch) {
		return kerr.NotLeaderForPartition
	}
	leo := p.log.LogEndOffset()
	// At or above the LEO this still trims the leader-epoch cache.
	if err := p.log.TruncateTo(offset); err != nil {
		return fmt.Errorf("truncating %s-%d to %d: %w", p.topic, p.id, offset, err)
	}
	if offset >= leo {
		return nil
	}
	if hw := p.hw.Load(); hw > p.log.LogEndOffset() {
		p.setHighWatermark(p.log.LogEndOffset())
	}
	return nil
}

// restartAsFollowerAt empties the log and starts it at offset (the leader's
// log start is above our LEO).
func (p *partition) restartAsFollowerAt(offset int64, epoch int32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.followerEpochOKLocked(epoch) {
		return kerr.NotLeaderForPartition
	}
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return fmt.Errorf("restarting %s-%d at %d: %w", p.topic, p.id, offset, err)
	}
	p.setHighWatermark(offset)
	return nil
}

// setHighWatermark moves the HW; the log keeps retention below it.
func (p *partition) setHighWatermark(hw int64) {
	p.hw.Store(hw)
	p.log.SetHighWatermark(hw)
}

// highWatermark is the offset below which records are visible to consumers.
func (p *partition) highWatermark() int64 { return p.hw.Load() }

// addWaiter registers ch to be signalled on the next append, HW move or
// role change.
func (p *partition) addWaiter(ch chan struct{}) {
	p.waitMu.Lock()
	p.waiters[ch] = struct{}{}
	p.waitMu.Unlock()
}

func (p *partition) removeWaiter(ch chan struct{}) {
	p.waitMu.Lock()
	delete(p.waiters, ch)
	p.waitMu.Unlock()
}

// wake signals every waiting fetch and produce without blocking.
func (p *partition) wake() {
	p.waitMu.Lock()
	defer p.waitMu.Unlock()
	for ch := range p.waiters {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
