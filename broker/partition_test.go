package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// testBatch is a v2 batch of n records with null keys, non-idempotent.
func testBatch(n int) []byte {
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(n - 1), FirstTimestamp: now,
		MaxTimestamp: now, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(n)}
	for i := range n {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'x')
		body = binary.AppendVarint(body, 0)
		b.Records = append(binary.AppendVarint(b.Records, int64(len(body))), body...)
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

func newTestLeader(t *testing.T, minISR int32, isr ...int32) *partition {
	t.Helper()
	cfg := storage.DefaultLogConfig()
	cfg.MinInsyncReplicas = minISR
	log, err := storage.OpenLog(t.TempDir(), cfg, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	p := newPartition("t", 0, [16]byte{1}, log, 1, time.Second)
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 3, PartitionEpoch: 0, ISR: isr, Replicas: []int32{1, 2, 3}}, 0); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLeaderHighWatermarkAndISRChanges(t *testing.T) {
	p := newTestLeader(t, 2, 1, 2, 3)
	if got := p.log.LeaderEpochs().Entries(); len(got) != 1 || got[0] != (storage.EpochEntry{Epoch: 3, StartOffset: 0}) {
		t.Fatalf("leader epoch cache %v, want epoch 3 at 0", got)
	}
	res, err := p.appendRecords(testBatch(3), -1)
	if err != nil || res.lastOffset != 2 {
		t.Fatalf("append: %+v %v", res, err)
	}
	steps := []struct {
		name    string
		replica int32
		offset  int64
		nowMs   int64
		wantHW  int64
	}{
		{"one follower has it all, the other is unknown", 2, 3, 100, 0},
		{"the other has one record", 3, 1, 100, 1},
		{"both have everything", 3, 3, 200, 3},
	}
	for _, s := range steps {
		if _, err := p.followerFetch(s.replica, s.offset, 0, p.log.LogEndOffset(), s.nowMs, true); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if hw := p.highWatermark(); hw != s.wantHW {
			t.Fatalf("%s: HW %d, want %d", s.name, hw, s.wantHW)
		}
	}
	if done, err := p.enoughReplicasReached(3, res.leaderEpoch, time.Now().UnixMilli()); !done || err != nil {
		t.Fatalf("acks=all for offset 2: done %v err %v", done, err)
	}

	// Follower 3 stops fetching: after the lag it leaves the ISR; the
	// maximal ISR holds the HW until the controller confirms.
	if _, err := p.appendRecords(testBatch(3), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.followerFetch(2, 6, 0, 6, 300, true); err != nil {
		t.Fatal(err)
	}
	if item := p.maybeShrinkISR(1100); item != nil {
		t.Fatalf("shrink within the lag: %+v", item)
	}
	item := p.maybeShrinkISR(1300)
	if item == nil || !slices.Equal(item.newISR, []int32{1, 2}) || item.partitionEpoch != 0 || item.leaderEpoch != 3 {
		t.Fatalf("shrink after the lag: %+v", item)
	}
	if hw := p.highWatermark(); hw != 3 {
		t.Fatalf("HW %d while the shrink is in flight, want 3", hw)
	}
	if again := p.maybeShrinkISR(1400); again != nil {
		t.Fatal("a second change while one is in flight")
	}
	p.completeAlter(item, 0, []int32{1, 2}, 3, 1, time.Now().UnixMilli())
	if hw := p.highWatermark(); hw != 6 {
		t.Fatalf("HW %d after the shrink, want 6", hw)
	}

	// Follower 3 comes back and catches up: the leader proposes it again.
	expand, err := p.followerFetch(3, 6, 0, 6, 1500, true)
	if err != nil || expand == nil || !slices.Equal(expand.newISR, []int32{1, 2, 3}) || expand.partitionEpoch != 1 {
		t.Fatalf("expansion: %+v %v", expand, err)
	}
	// A rejected change stays in flight until LeaderAndIsr.
	p.completeAlter(expand, kerr.InvalidUpdateVersion.Code, nil, 0, 0, time.Now().UnixMilli())
	if !p.alterStillPending(expand) {
		t.Fatal("INVALID_UPDATE_VERSION must leave the change in flight")
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 3, PartitionEpoch: 2, ISR: []int32{1}, Replicas: []int32{1, 2, 3}}, 1600); !errors.Is(err, kerr.StaleControllerEpoch) {
		t.Fatalf("same leader epoch: %v, want STALE_CONTROLLER_EPOCH", err)
	}
	if !p.alterStillPending(expand) {
		t.Fatal("a refused LeaderAndIsr must not end the change in flight")
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 2, ISR: []int32{1}, Replicas: []int32{1, 2, 3}}, 1600); err != nil {
		t.Fatal(err)
	}
	if p.alterStillPending(expand) {
		t.Fatal("LeaderAndIsr must end the change in flight")
	}
	if _, err := p.appendRecords(testBatch(1), -1); !errors.Is(err, kerr.NotEnoughReplicas) {
		t.Fatalf("acks=all with ISR [1] and min.insync.replicas=2: %v", err)
	}
	if _, err := p.appendRecords(testBatch(1), 1); err != nil {
		t.Fatalf("acks=1 with ISR [1]: %v", err)
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 2, ISR: []int32{1}, Replicas: []int32{1, 2, 3}}, 1700); !errors.Is(err, kerr.StaleControllerEpoch) {
		t.Fatalf("older leader epoch: %v", err)
	}
}

func TestProducePurgatory(t *testing.T) {
	p := newTestLeader(t, 2, 1, 2)
	rm := &replicaManager{now: time.Now}
	// await waits for one append in the purgatory and returns its outcome.
	await := func(res appendResult, timeout time.Duration) int16 {
		e := &produceEntry{result: res}
		rm.awaitReplication(context.Background(), []pendingAck{{p: p, required: res.lastOffset + 1, leaderEpoch: res.leaderEpoch, entry: e}}, timeout)
		return protocol.ErrorCode(e.err)
	}
	res, err := p.appendRecords(testBatch(2), -1)
	if err != nil {
		t.Fatal(err)
	}

	if code := await(res, 50*time.Millisecond); code != kerr.RequestTimedOut.Code {
		t.Fatalf("without follower progress: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}

	go func() {
		time.Sleep(20 * time.Millisecond)
		_, _ = p.followerFetch(2, 2, 0, 2, 1, true) // long ago: not caught up by the clock
	}()
	if code := await(res, 10*time.Second); code != 0 {
		t.Fatalf("after the follower fetched: %v", kerr.ErrorForCode(code))
	}

	// The HW reached an append, then the ISR shrank below
	// min.insync.replicas before the check: NOT_ENOUGH_REPLICAS_AFTER_APPEND
	// (Partition.checkEnoughReplicasReachOffset). An append the HW had not
	// reached waits out its timeout: the HW no longer moves below the min
	// ISR (Partition.maybeIncrementLeaderHW).
	res, err = p.appendRecords(testBatch(1), -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.followerFetch(2, res.lastOffset+1, 0, res.lastOffset+1, 1, true); err != nil {
		t.Fatal(err)
	}
	later, err := p.appendRecords(testBatch(1), 1)
	if err != nil {
		t.Fatal(err)
	}
	item := p.maybeShrinkISR(time.Now().UnixMilli() + 5000)
	if item == nil {
		t.Fatal("no shrink proposed")
	}
	p.completeAlter(item, 0, []int32{1}, 3, 2, time.Now().UnixMilli())
	if code := await(res, 10*time.Second); code != kerr.NotEnoughReplicasAfterAppend.Code {
		t.Fatalf("after the ISR shrank: %v, want NOT_ENOUGH_REPLICAS_AFTER_APPEND", kerr.ErrorForCode(code))
	}
	if code := await(later, 50*time.Millisecond); code != kerr.RequestTimedOut.Code {
		t.Fatalf("append above the HW below the min ISR: %v, want REQUEST_TIMED_OUT", kerr.ErrorForCode(code))
	}
}

// An AlterPartition answered as stale must not freeze the ISR: the state
// znode settles it when it still names us leader in our epoch; a newer
// epoch waits for LeaderAndIsr; unexpected errors are retried.
func TestAlterPartitionAnswers(t *testing.T) {
	tests := []struct {
		name        string
		code        int16
		leaderEpoch int32 // of a success answer
		znode       zkmeta.LeaderAndIsr
		wantOutcome alterOutcome
		wantPending bool // after the znode was read, for alterAwaitState
		wantISR     []int32
	}{
		{"accepted", 0, 3, zkmeta.LeaderAndIsr{}, alterDone, false, []int32{1, 2}},
		{"ineligible replica resets", kerr.IneligibleReplica.Code, 0, zkmeta.LeaderAndIsr{}, alterDone, false, []int32{1, 2, 3}},
		{"unexpected error is retried", kerr.NotController.Code, 0, zkmeta.LeaderAndIsr{}, alterRetry, true, []int32{1, 2, 3}},
		{"stale version, znode in our epoch", kerr.InvalidUpdateVersion.Code, 0,
			zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 3, ISR: []int32{1, 3}, ZkVersion: 4}, alterAwaitState, false, []int32{1, 3}},
		{"fenced, znode in a newer epoch", kerr.FencedLeaderEpoch.Code, 0,
			zkmeta.LeaderAndIsr{Leader: 2, LeaderEpoch: 4, ISR: []int32{2, 3}, ZkVersion: 5}, alterAwaitState, true, []int32{1, 2, 3}},
		{"success for another leader epoch", 0, 7,
			zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 3, ISR: []int32{1, 2}, ZkVersion: 2}, alterAwaitState, false, []int32{1, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestLeader(t, 1, 1, 2, 3)
			item := p.maybeShrinkISR(60_000)
			if item == nil {
				t.Fatal("no shrink proposed")
			}
			item.newISR = []int32{1, 2}
			got := p.completeAlter(item, tc.code, []int32{1, 2}, tc.leaderEpoch, 1, time.Now().UnixMilli())
			if got != tc.wantOutcome {
				t.Fatalf("outcome %v, want %v", got, tc.wantOutcome)
			}
			if got == alterAwaitState {
				p.adoptCommittedState(item, tc.znode, time.Now().UnixMilli())
			}
			isr, pending := p.isrSnapshot()
			if pending != tc.wantPending || !slices.Equal(isr, tc.wantISR) {
				t.Fatalf("ISR %v pending %v, want %v pending %v", isr, pending, tc.wantISR, tc.wantPending)
			}
		})
	}
}

// fetchedBatch is testBatch(n) as a leader of epoch stored it at base.
func fetchedBatch(n int, base int64, epoch int32) []byte {
	b := testBatch(n)
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[12:], uint32(epoch))
	return b
}

func newTestFollower(t *testing.T) *partition {
	t.Helper()
	log, err := storage.OpenLog(t.TempDir(), storage.DefaultLogConfig(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = log.Close() })
	p := newPartition("t", 0, [16]byte{1}, log, 2, time.Second)
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 3, ISR: []int32{1, 2}, Replicas: []int32{1, 2}}, 0); err != nil {
		t.Fatal(err)
	}
	return p
}

// When the leader's log start falls inside a batch (DeleteRecords), an
// empty follower that starts at the leader's log start gets that batch,
// which begins below its LEO. Partition.appendRecordsToFollowerOrFutureReplica
// then restarts the log at the batch's base offset (truncateFullyAndStartAt)
// and appends; the log start then follows the leader's. A log that is not
// empty still refuses the batch. A corrupt batch is refused before the log
// is touched (UnifiedLog.analyzeAndValidateRecords checks the CRC before
// the offsets, so no UnexpectedAppendOffsetException, no truncation).
func TestFollowerAppendBatchStraddlingLogStart(t *testing.T) {
	tests := []struct {
		name         string
		existing     int   // records the follower has from offset 0 (0: empty)
		startAt      int64 // where the empty follower log starts
		batchBase    int64
		corrupt      bool
		wantErr      bool
		wantLogStart int64
		wantLEO      int64
	}{
		{"empty log, batch straddles the start", 0, 5, 3, false, false, 5, 8},
		{"empty log, batch at the start", 0, 5, 5, false, false, 5, 10},
		{"log with data, batch below the LEO", 5, 0, 3, false, true, 0, 5},
		{"empty log, corrupt batch straddles the start", 0, 5, 3, true, true, 5, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestFollower(t)
			if tc.existing > 0 {
				if err := p.appendAsFollower(fetchedBatch(tc.existing, 0, 3), 3, 0, 0); err != nil {
					t.Fatal(err)
				}
			} else if err := p.restartAsFollowerAt(tc.startAt, 3); err != nil {
				t.Fatal(err)
			}
			batch := fetchedBatch(5, tc.batchBase, 3)
			if tc.corrupt {
				batch[len(batch)-1] ^= 0xff
			}
			err := p.appendAsFollower(batch, 3, tc.batchBase+5, 5)
			if (err != nil) != tc.wantErr {
				t.Fatalf("append: %v, want error %v", err, tc.wantErr)
			}
			if ls, leo := p.log.LogStartOffset(), p.log.LogEndOffset(); ls != tc.wantLogStart || leo != tc.wantLEO {
				t.Fatalf("log start %d LEO %d, want %d and %d", ls, leo, tc.wantLogStart, tc.wantLEO)
			}
		})
	}
}

// A follower's HW is the leader's, kept within [log start, LEO]
// (ReplicaFetcherThread.processPartitionData -> UnifiedLog.maybeUpdateHighWatermark):
// it goes down too when a new leader's HW is lower.
func TestFollowerHighWatermarkFollowsLeader(t *testing.T) {
	p := newTestFollower(t)
	steps := []struct {
		name     string
		records  []byte
		leaderHW int64
		wantHW   int64
	}{
		{"leader HW above our LEO", fetchedBatch(10, 0, 3), 12, 10},
		{"leader HW below our LEO", nil, 8, 8},
		{"leader HW went down", nil, 5, 5},
		{"and up again", nil, 9, 9},
	}
	for _, s := range steps {
		if err := p.appendAsFollower(s.records, 3, s.leaderHW, 0); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if hw := p.highWatermark(); hw != s.wantHW {
			t.Fatalf("%s: HW %d, want %d", s.name, hw, s.wantHW)
		}
	}
}

// Re-elected in a new leader epoch, a leader keeps what it knows of its
// followers (Partition.makeLeader: isNewLeader false -> resetReplicaState
// keeps their LEO and log start); a replica new to the assignment starts
// unknown, and a leader that was a follower in between forgets them.
func TestSameLeaderReelectionKeepsFollowerState(t *testing.T) {
	p := newTestLeader(t, 1, 1, 2, 3)
	if _, err := p.appendRecords(testBatch(5), 1); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	if _, err := p.followerFetch(2, 5, 0, 5, now, true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.followerFetch(3, 3, 0, 5, now, true); err != nil {
		t.Fatal(err)
	}
	if hw := p.highWatermark(); hw != 3 {
		t.Fatalf("HW %d, want 3", hw)
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 1, ISR: []int32{1, 2, 3}, Replicas: []int32{1, 2, 3, 4}}, now); err != nil {
		t.Fatal(err)
	}
	if f := p.followers[2]; f.leo != 5 || f.logStartOffset != 0 {
		t.Fatalf("follower 2 after re-election: LEO %d log start %d, want 5 and 0", f.leo, f.logStartOffset)
	}
	if f := p.followers[4]; f.leo != unknownOffset {
		t.Fatalf("new replica 4: LEO %d, want unknown", f.leo)
	}
	// Follower 3 catching up now moves the HW: follower 2's LEO is known.
	if _, err := p.followerFetch(3, 5, 0, 5, now, true); err != nil {
		t.Fatal(err)
	}
	if hw := p.highWatermark(); hw != 5 {
		t.Fatalf("HW %d after follower 3 caught up, want 5", hw)
	}

	// Follower in between: a new leader knows nothing of its followers.
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 2, LeaderEpoch: 5, PartitionEpoch: 2, ISR: []int32{1, 2, 3}, Replicas: []int32{1, 2, 3}}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 6, PartitionEpoch: 3, ISR: []int32{1, 2, 3}, Replicas: []int32{1, 2, 3}}, now); err != nil {
		t.Fatal(err)
	}
	if f := p.followers[2]; f.leo != unknownOffset {
		t.Fatalf("follower 2 after a new leadership: LEO %d, want unknown", f.leo)
	}
}

// An acks=all append waits for the HW only while the leadership it was
// appended in lasts: once this broker stopped leading (its log may have
// been truncated as a follower), the produce fails with
// NOT_LEADER_OR_FOLLOWER even if it leads again when the HW passes the
// offset (ReplicaManager.makeFollowers completes the delayed produces, whose
// Partition.checkEnoughReplicasReachOffset answers NOT_LEADER_OR_FOLLOWER).
// A re-election of the same leader keeps it waiting.
func TestAcksAllTiedToLeadership(t *testing.T) {
	replicas := []int32{1, 2}
	tests := []struct {
		name     string
		between  []partitionState
		wantCode int16
	}{
		{"same leader re-elected", []partitionState{{Leader: 1, LeaderEpoch: 4, ISR: replicas, Replicas: replicas}}, 0},
		{"follower in between", []partitionState{
			{Leader: 2, LeaderEpoch: 4, ISR: replicas, Replicas: replicas},
			{Leader: 1, LeaderEpoch: 5, ISR: replicas, Replicas: replicas},
		}, kerr.NotLeaderForPartition.Code},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestLeader(t, 1, 1, 2)
			res, err := p.appendRecords(testBatch(2), -1)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range tc.between {
				if _, err := p.becomeLeaderOrFollower(st, 0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := p.followerFetch(2, 2, 0, 2, time.Now().UnixMilli(), true); err != nil {
				t.Fatal(err)
			}
			if hw := p.highWatermark(); hw != 2 {
				t.Fatalf("HW %d, want 2", hw)
			}
			e := &produceEntry{result: res}
			rm := &replicaManager{now: time.Now}
			rm.awaitReplication(context.Background(), []pendingAck{{p: p, required: res.lastOffset + 1, leaderEpoch: res.leaderEpoch, entry: e}}, 10*time.Second)
			if code := protocol.ErrorCode(e.err); code != tc.wantCode {
				t.Fatalf("produce outcome %v, want %v", kerr.ErrorForCode(code), kerr.ErrorForCode(tc.wantCode))
			}
		})
	}
}

// A storage error in the leader's append (here a flush failing after the
// write) takes the partition offline and answers KAFKA_STORAGE_ERROR:
// UnifiedLog.append runs the write and the flush inside
// maybeHandleIOException, so the log dir and its partitions go offline
// (ReplicaManager.handleLogDirFailure) and appendToLocalLog answers
// KAFKA_STORAGE_ERROR. The records are in the log, so the partition must not
// go on leading (a retry would append them again) and the HW stays put.
// A refused batch leaves the partition online.
func TestLeaderAppendStorageErrorTakesPartitionOffline(t *testing.T) {
	p := newTestLeader(t, 1, 1)
	if _, err := p.appendRecords(testBatch(1), -1); err != nil {
		t.Fatal(err)
	}
	hw := p.highWatermark()
	bad := testBatch(1)
	bad[len(bad)-1] ^= 0xff
	if _, err := p.appendRecords(bad, -1); !errors.Is(err, kerr.CorruptMessage) || p.isOffline() {
		t.Fatalf("corrupt batch: %v, offline %v; want CORRUPT_MESSAGE, online", err, p.isOffline())
	}
	p.appendToLog = func(log *storage.Log, records []byte, epoch int32, upConvert bool) (storage.AppendInfo, error) {
		info, err := log.AppendAsLeader(records, epoch, upConvert)
		if err != nil {
			t.Fatal(err)
		}
		return info, fmt.Errorf("%w: fsync: disk gone", storage.ErrStorage)
	}
	_, err := p.appendRecords(testBatch(2), -1)
	if protocol.ErrorCode(err) != kerr.KafkaStorageError.Code {
		t.Fatalf("append whose flush failed: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if !p.isOffline() || p.isLeader() {
		t.Fatalf("offline %v, leader %v after the storage error; want offline, not leading", p.isOffline(), p.isLeader())
	}
	if p.highWatermark() != hw {
		t.Fatalf("HW %d after the failed append, want %d", p.highWatermark(), hw)
	}
	if _, err := p.appendRecords(testBatch(1), -1); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("append to the offline partition: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if _, err := p.followerFetch(2, 0, 0, p.log.LogEndOffset(), 0, true); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("follower fetch from the offline partition: %v, want KAFKA_STORAGE_ERROR", err)
	}
}

// The same on a follower: a storage error in the append of fetched records
// takes the partition offline (AbstractFetcherThread: a
// KafkaStorageException marks the partition failed, the log dir offline).
func TestFollowerAppendStorageErrorTakesPartitionOffline(t *testing.T) {
	p := newTestFollower(t)
	p.appendFetched = func(log *storage.Log, records []byte) (storage.AppendInfo, error) {
		info, err := log.AppendAsFollower(records)
		if err != nil {
			t.Fatal(err)
		}
		return info, fmt.Errorf("%w: fsync: disk gone", storage.ErrStorage)
	}
	if err := p.appendAsFollower(fetchedBatch(2, 0, 3), 3, 0, 0); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("follower append whose flush failed: %v, want KAFKA_STORAGE_ERROR", err)
	}
	if !p.isOffline() {
		t.Fatal("follower online after a storage error")
	}
	if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 2, LeaderEpoch: 4, ISR: []int32{1, 2}, Replicas: []int32{1, 2}}, 0); !errors.Is(err, kerr.KafkaStorageError) {
		t.Fatalf("becoming leader while offline: %v, want KAFKA_STORAGE_ERROR", err)
	}
}

// Kafka 3.9's min ISR rules on the leader:
//   - Partition.maybeIncrementLeaderHW: no HW increment while the committed
//     ISR is below the effective min ISR (isUnderMinIsr); acks=1 appends
//     are accepted but stay invisible until the ISR is back.
//   - Partition.effectiveMinIsr: min(min.insync.replicas, replicas), used
//     by appendRecordsToLeader and checkEnoughReplicasReachOffset, so RF 1
//     with min.insync.replicas=2 accepts acks=all.
func TestLeaderMinISRRules(t *testing.T) {
	t.Run("RF 1 with min.insync.replicas 2", func(t *testing.T) {
		cfg := storage.DefaultLogConfig()
		cfg.MinInsyncReplicas = 2
		log, err := storage.OpenLog(t.TempDir(), cfg, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = log.Close() })
		p := newPartition("t", 0, [16]byte{1}, log, 1, time.Second)
		if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 1, ISR: []int32{1}, Replicas: []int32{1}}, 0); err != nil {
			t.Fatal(err)
		}
		res, err := p.appendRecords(testBatch(2), -1)
		if err != nil {
			t.Fatalf("acks=all: %v", err)
		}
		if hw := p.highWatermark(); hw != 2 {
			t.Fatalf("HW %d, want 2", hw)
		}
		if done, err := p.enoughReplicasReached(res.lastOffset+1, res.leaderEpoch, time.Now().UnixMilli()); !done || err != nil {
			t.Fatalf("acks=all completion: done %v err %v", done, err)
		}
	})
	t.Run("HW frozen below the min ISR", func(t *testing.T) {
		p := newTestLeader(t, 2, 1, 2, 3)
		if _, err := p.appendRecords(testBatch(2), -1); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for _, id := range []int32{2, 3} {
			if _, err := p.followerFetch(id, 2, 0, 2, now, true); err != nil {
				t.Fatal(err)
			}
		}
		if hw := p.highWatermark(); hw != 2 {
			t.Fatalf("HW %d with the full ISR, want 2", hw)
		}
		// The controller shrinks the ISR to the leader alone.
		if _, err := p.becomeLeaderOrFollower(partitionState{Leader: 1, LeaderEpoch: 4, PartitionEpoch: 1, ISR: []int32{1}, Replicas: []int32{1, 2, 3}}, now); err != nil {
			t.Fatal(err)
		}
		if _, err := p.appendRecords(testBatch(3), 1); err != nil {
			t.Fatalf("acks=1 below the min ISR: %v", err)
		}
		p.maybeIncrementHW(now)
		if hw := p.highWatermark(); hw != 2 {
			t.Fatalf("HW %d below the min ISR, want 2 (frozen)", hw)
		}
		// Follower 2 catches up and rejoins: once the controller commits the
		// ISR the HW moves.
		item, err := p.followerFetch(2, 5, 0, 5, now, true)
		if err != nil || item == nil {
			t.Fatalf("expansion: %+v %v", item, err)
		}
		if hw := p.highWatermark(); hw != 2 {
			t.Fatalf("HW %d with the expansion in flight, want 2 (the committed ISR is below the min)", hw)
		}
		p.completeAlter(item, 0, []int32{1, 2}, 4, 2, time.Now().UnixMilli())
		if hw := p.highWatermark(); hw != 5 {
			t.Fatalf("HW %d after the ISR reached the min, want 5", hw)
		}
	})
}

// appendRecords is the tests' produce to a leader: appendRecordsToLeader of
// a v2 batch at the wall clock.
func (p *partition) appendRecords(records []byte, requiredAcks int16) (appendResult, error) {
	return p.appendRecordsToLeader(records, requiredAcks, false, time.Now().UnixMilli())
}
