package broker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// logOffsetsStore is group.Store over a real log, read back with the
// broker's loader (readOffsetsLog, loadBatch).
type logOffsetsStore struct {
	t   *testing.T
	log *storage.Log
}

func (s *logOffsetsStore) write(h storage.BatchHeader, records []group.Record) int64 {
	s.t.Helper()
	recs := make([]storage.Record, len(records))
	for i, r := range records {
		recs[i] = storage.Record{Offset: int64(i), Timestamp: 1, Key: r.Key, Value: r.Value, ValueNull: r.Value == nil}
	}
	h.PartitionLeaderEpoch = -1
	b, err := storage.BuildBatch(h, recs)
	if err != nil {
		s.t.Fatal(err)
	}
	info, err := s.log.Append(b, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	return info.FirstOffset
}

func (s *logOffsetsStore) Append(_ int32, records []group.Record, _ bool) (int64, func(context.Context) error, error) {
	return s.write(storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, records), func(context.Context) error { return nil }, nil
}

func (s *logOffsetsStore) AppendTransactional(_ int32, p group.TxnProducer, records []group.Record) (int64, func(context.Context) error, error) {
	h := storage.BatchHeader{Attributes: batchAttrTransactional, ProducerID: p.ID, ProducerEpoch: p.Epoch, BaseSequence: 0}
	return s.write(h, records), func(context.Context) error { return nil }, nil
}

func (s *logOffsetsStore) Load(ctx context.Context, _ int32, fn func(group.Batch) error) error {
	// A small buffer: several reads, batches split across them.
	return readOffsetsLog(ctx, s.log, "__consumer_offsets-0", 150, func() error { return nil }, fn)
}

// marker appends a COMMIT or ABORT control batch of the producer
// (coordinator epoch 5), as WriteTxnMarkers does.
func (s *logOffsetsStore) marker(pid int64, commit bool) {
	typ := byte(0)
	if commit {
		typ = 1
	}
	s.write(storage.BatchHeader{Attributes: batchAttrTransactional | 0x20, ProducerID: pid, ProducerEpoch: 1, BaseSequence: -1},
		[]group.Record{{Key: []byte{0, 0, 0, typ}, Value: []byte{0, 0, 0, 0, 0, 5}}})
}

func offsetRecord(groupID string, p int32, offset int64) group.Record {
	k := kmsg.NewOffsetCommitKey()
	k.Version, k.Group, k.Topic, k.Partition = 1, groupID, "t", p
	v := kmsg.NewOffsetCommitValue()
	v.Version, v.Offset, v.LeaderEpoch, v.CommitTimestamp = 3, offset, -1, 1
	return group.Record{Key: k.AppendTo(nil), Value: v.AppendTo(nil)}
}

func (s *logOffsetsStore) plain(groupID string, offset int64) {
	s.Append(0, []group.Record{offsetRecord(groupID, 0, offset)}, true)
}

func (s *logOffsetsStore) txn(pid int64, recs ...group.Record) {
	s.AppendTransactional(0, group.TxnProducer{ID: pid, Epoch: 1}, recs)
}

func startLogCoordinator(t *testing.T, store *logOffsetsStore) *group.Coordinator {
	t.Helper()
	cfg := group.DefaultConfig()
	cfg.NumPartitions, cfg.RetentionCheck = 1, 0
	c := group.New(cfg, store, nil, slog.New(slog.DiscardHandler))
	c.Start(1)
	t.Cleanup(c.Close)
	c.Elected(0, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err, _ := c.FetchOffsets("probe", false, nil); err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("the coordinator did not load its partition")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoadTransactionalOffsetsFromLog replays a real __consumer_offsets
// log with transactional offset commits and their markers
// (GroupMetadataManager.doLoadGroupsAndOffsets): COMMIT applies a
// producer's offsets, ABORT drops them, markers of producers without
// offsets do nothing, the later record wins between interleaved
// producers, and offsets without a marker stay pending until
// CompleteTransaction.
func TestLoadTransactionalOffsetsFromLog(t *testing.T) {
	l, err := storage.OpenLog(t.TempDir(), storage.DefaultLogConfig(), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	store := &logOffsetsStore{t: t, log: l}

	store.plain("committed", 5)
	store.txn(1, offsetRecord("committed", 0, 10))
	store.plain("aborted", 5)
	store.txn(2, offsetRecord("aborted", 0, 20), offsetRecord("aborted", 1, 21))
	store.txn(3, offsetRecord("interleaved", 0, 30))
	store.txn(4, offsetRecord("interleaved", 0, 31))
	store.marker(5, true) // a producer without offsets here
	store.marker(2, false)
	store.marker(4, true)
	store.marker(3, true) // its record is older than producer 4's
	store.marker(1, true)
	store.marker(1, true) // a resent marker: nothing pending any more
	store.txn(6, offsetRecord("open", 0, 60))

	c := startLogCoordinator(t, store)
	fetch := func(c *group.Coordinator, groupID string, p int32) group.FetchedOffset {
		t.Helper()
		err, got := c.FetchOffsets(groupID, true, []group.TopicPartition{{Topic: "t", Partition: p}})
		if err != nil || len(got) != 1 {
			t.Fatalf("fetch %s: %v %+v", groupID, err, got)
		}
		return got[0]
	}
	for _, tc := range []struct {
		group string
		p     int32
		want  int64
		err   *kerr.Error
	}{
		{"committed", 0, 10, nil},
		{"aborted", 0, 5, nil},
		{"aborted", 1, -1, nil},
		{"interleaved", 0, 31, nil},
		{"open", 0, -1, kerr.UnstableOffsetCommit},
	} {
		if f := fetch(c, tc.group, tc.p); f.Offset != tc.want || f.Err != tc.err {
			t.Fatalf("loaded %s t-%d: %d %v, want %d %v", tc.group, tc.p, f.Offset, f.Err, tc.want, tc.err)
		}
	}

	// The open transaction commits: the marker reaches the log, then the
	// coordinator.
	store.marker(6, true)
	c.CompleteTransaction(6, 1, []int32{0}, true)
	deadline := time.Now().Add(5 * time.Second)
	for f := fetch(c, "open", 0); f.Offset != 60 || f.Err != nil; f = fetch(c, "open", 0) {
		if time.Now().After(deadline) {
			t.Fatalf("after the marker: %+v", f)
		}
		time.Sleep(time.Millisecond)
	}
	// Another coordinator of the partition loads the same.
	c2 := startLogCoordinator(t, store)
	if f := fetch(c2, "open", 0); f.Offset != 60 || f.Err != nil {
		t.Fatalf("reloaded: %+v", f)
	}
}

// TestTxnOffsetCommitAppendAsCoordinator: the group coordinator's
// transactional batches go to the log with origin COORDINATOR: every
// TxnOffsetCommit of a producer has base sequence 0 and is appended (no
// duplicate, no sequence error), a stale producer epoch is
// INVALID_PRODUCER_EPOCH (#62), and a stale verification guard is
// INVALID_TXN_STATE (KIP-890).
func TestTxnOffsetCommitAppendAsCoordinator(t *testing.T) {
	p := newTestLeader(t, 1, 1)
	commit := func(pid int64, epoch int16, guard storage.VerificationGuard, n int) (appendResult, error) {
		t.Helper()
		var recs []group.Record
		for i := range n {
			recs = append(recs, offsetRecord("g", int32(i), 10))
		}
		b, err := buildOffsetsBatch(storage.BatchHeader{Attributes: batchAttrTransactional, ProducerID: pid, ProducerEpoch: epoch}, recs, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return p.appendAsCoordinator(b, guard, 0)
	}
	for i, n := range []int{1, 1, 2} {
		res, err := commit(7, 2, 0, n)
		if err != nil || res.lastOffset-res.baseOffset != int64(n-1) {
			t.Fatalf("commit %d of the producer: %+v %v", i, res, err)
		}
	}
	if leo := p.log.LogEndOffset(); leo != 4 {
		t.Fatalf("LEO %d after 4 records", leo)
	}
	if _, err := p.log.AppendEndTxnMarker(storage.EndTxnMarker{ProducerID: 7, ProducerEpoch: 2, Commit: true}, p.leaderEpoch); err != nil {
		t.Fatal(err)
	}
	if _, err := commit(7, 2, 0, 1); err != nil {
		t.Fatalf("the next transaction's commit: %v", err)
	}
	leo := p.log.LogEndOffset()
	if _, err := commit(7, 1, 0, 1); protocol.ErrorCode(err) != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("stale epoch: %v", err)
	}
	guard := p.log.MaybeStartTransactionVerification(8, -1, 0)
	if guard == 0 {
		t.Fatal("no verification guard for a producer without a transaction")
	}
	if _, err := commit(8, 0, guard+1, 1); protocol.ErrorCode(err) != kerr.InvalidTxnState.Code {
		t.Fatalf("stale guard: %v", err)
	}
	if p.log.LogEndOffset() != leo {
		t.Fatalf("refused commits appended: LEO %d -> %d", leo, p.log.LogEndOffset())
	}
	if _, err := commit(8, 0, guard, 1); err != nil {
		t.Fatalf("verified commit: %v", err)
	}
}

// TestVerifyTxnOffsetsPartition: KIP-890 part 1 for TxnOffsetCommit
// (ReplicaManager.maybeStartTransactionVerificationForPartition): no
// coordinator, the coordinator's answers (TRANSACTION_ABORTABLE only for
// v4+, PRODUCER_FENCED as INVALID_PRODUCER_EPOCH), the guard of a verified
// partition, and no round trip with a transaction ongoing there.
func TestVerifyTxnOffsetsPartition(t *testing.T) {
	for _, tc := range []struct {
		name         string
		noCoord      bool
		code         int16
		genericError bool
		want         *kerr.Error
	}{
		{name: "no coordinator", noCoord: true, want: kerr.CoordinatorNotAvailable},
		{name: "not in the transaction", code: kerr.InvalidTxnState.Code, want: kerr.InvalidTxnState},
		{name: "abortable before v4", code: kerr.TransactionAbortable.Code, want: kerr.InvalidTxnState},
		{name: "abortable v4", code: kerr.TransactionAbortable.Code, genericError: true, want: kerr.TransactionAbortable},
		{name: "fenced", code: kerr.ProducerFenced.Code, want: kerr.InvalidProducerEpoch},
		{name: "verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestLeader(t, 1, 1)
			var mu sync.Mutex
			requests := 0
			m := newAddPartitionsToTxnManager(
				func(string) (cachedNode, bool) { return cachedNode{ID: 5, Host: "127.0.0.1", Port: 1}, !tc.noCoord },
				func(_ context.Context, _ cachedNode, req kmsg.Request) (kmsg.Response, error) {
					mu.Lock()
					requests++
					mu.Unlock()
					resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
					for _, txn := range req.(*kmsg.AddPartitionsToTxnRequest).Transactions {
						rt := kmsg.NewAddPartitionsToTxnResponseTransaction()
						rt.TransactionalID = txn.TransactionalID
						for _, topic := range txn.Topics {
							rtt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
							rtt.Topic = topic.Topic
							for _, part := range topic.Partitions {
								rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
								rp.Partition, rp.ErrorCode = part, tc.code
								rtt.Partitions = append(rtt.Partitions, rp)
							}
							rt.Topics = append(rt.Topics, rtt)
						}
						resp.Transactions = append(resp.Transactions, rt)
					}
					return resp, nil
				}, time.Second, slog.New(slog.DiscardHandler))
			t.Cleanup(m.close)
			guard, err := verifyTxnPartition(context.Background(), m, p, "tx", 7, 0, tc.genericError)
			if err != tc.want || (err == nil) != (guard != 0) {
				t.Fatalf("verification: guard %d err %v, want %v", guard, err, tc.want)
			}
			if err != nil {
				return
			}
			b, berr := buildOffsetsBatch(storage.BatchHeader{Attributes: batchAttrTransactional, ProducerID: 7}, []group.Record{offsetRecord("g", 0, 1)}, 0, 1)
			if berr != nil {
				t.Fatal(berr)
			}
			if _, err := p.appendAsCoordinator(b, storage.VerificationGuard(guard), 0); err != nil {
				t.Fatalf("append with the guard: %v", err)
			}
			// The transaction is ongoing on the partition now: no guard, no request.
			if guard, err := verifyTxnPartition(context.Background(), m, p, "tx", 7, 0, tc.genericError); guard != 0 || err != nil {
				t.Fatalf("with an ongoing transaction: %d %v", guard, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if requests != 1 {
				t.Fatalf("%d verification requests, want 1", requests)
			}
		})
	}
}
