package broker

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeTxnCoordinator answers AddPartitionsToTxn requests of the manager
// under test: each request waits on the test's answer.
type fakeTxnCoordinator struct {
	requests chan *kmsg.AddPartitionsToTxnRequest
	answers  chan func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error)
}

func newFakeTxnCoordinator() *fakeTxnCoordinator {
	return &fakeTxnCoordinator{requests: make(chan *kmsg.AddPartitionsToTxnRequest, 10),
		answers: make(chan func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error), 10)}
}

func (f *fakeTxnCoordinator) request(ctx context.Context, _ cachedNode, req kmsg.Request) (kmsg.Response, error) {
	r := req.(*kmsg.AddPartitionsToTxnRequest)
	f.requests <- r
	select {
	case answer := <-f.answers:
		return answer(r)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// verified answers every partition of every transaction with code.
func verified(code int16) func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
	return func(req *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
		resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
		for _, txn := range req.Transactions {
			rt := kmsg.NewAddPartitionsToTxnResponseTransaction()
			rt.TransactionalID = txn.TransactionalID
			for _, t := range txn.Topics {
				tt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
				tt.Topic = t.Topic
				for _, p := range t.Partitions {
					tp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
					tp.Partition, tp.ErrorCode = p, code
					tt.Partitions = append(tt.Partitions, tp)
				}
				rt.Topics = append(rt.Topics, tt)
			}
			resp.Transactions = append(resp.Transactions, rt)
		}
		return resp, nil
	}
}

func newTestTxnVerifier(t *testing.T, f *fakeTxnCoordinator, known bool) *addPartitionsToTxnManager {
	coordinator := func(string) (cachedNode, bool) { return cachedNode{ID: 7, Host: "127.0.0.1", Port: 7}, known }
	m := newAddPartitionsToTxnManager(coordinator, f.request, time.Minute, slog.New(slog.DiscardHandler))
	t.Cleanup(m.close)
	return m
}

// verifyAsync starts a verification and returns where its result arrives.
func verifyAsync(m *addPartitionsToTxnManager, txnID string, epoch int16, generic bool, tps ...topicPartition) chan verifyResult {
	ch := make(chan verifyResult, 1)
	m.verifyTransaction(txnID, 1000, epoch, tps, generic, func(r verifyResult) { ch <- r })
	return ch
}

func awaitResult(t *testing.T, ch chan verifyResult) verifyResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no verification result")
		return nil
	}
}

func awaitRequest(t *testing.T, f *fakeTxnCoordinator) *kmsg.AddPartitionsToTxnRequest {
	t.Helper()
	select {
	case r := <-f.requests:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no AddPartitionsToTxn request")
		return nil
	}
}

// AddPartitionsToTxnManagerTest.testTransactionCoordinatorResolution: no
// coordinator known answers COORDINATOR_NOT_AVAILABLE at once.
func TestTxnVerifyNoCoordinator(t *testing.T) {
	m := newTestTxnVerifier(t, newFakeTxnCoordinator(), false)
	tp := topicPartition{"t", 0}
	r := awaitResult(t, verifyAsync(m, "a", 0, false, tp, topicPartition{"t", 1}))
	want := verifyResult{tp: kerr.CoordinatorNotAvailable.Code, {"t", 1}: kerr.CoordinatorNotAvailable.Code}
	if !maps.Equal(r, want) {
		t.Fatalf("result %v, want %v", r, want)
	}
}

// AddPartitionsToTxnManagerTest.testAddTxnData / testGenerateRequests: one
// request in flight per node, the others batched; a transaction queued
// again gives way to a newer or equal epoch and refuses an older one.
func TestTxnVerifyBatching(t *testing.T) {
	f := newFakeTxnCoordinator()
	m := newTestTxnVerifier(t, f, true)
	tp0, tp1 := topicPartition{"t", 0}, topicPartition{"u", 1}

	first := verifyAsync(m, "a", 0, false, tp0, topicPartition{"t", 2}, tp1)
	req := awaitRequest(t, f) // in flight: the next ones queue
	if req.Version != 4 || len(req.Transactions) != 1 {
		t.Fatalf("first request: version %d, %d transactions", req.Version, len(req.Transactions))
	}
	txn := req.Transactions[0]
	if !txn.VerifyOnly || txn.TransactionalID != "a" || txn.ProducerID != 1000 || len(txn.Topics) != 2 ||
		txn.Topics[0].Topic != "t" || len(txn.Topics[0].Partitions) != 2 || txn.Topics[1].Topic != "u" {
		t.Fatalf("first transaction %+v", txn)
	}

	b := verifyAsync(m, "b", 0, false, tp0)
	c1 := verifyAsync(m, "c", 1, false, tp1)
	c2 := verifyAsync(m, "c", 2, false, tp1) // fences the queued epoch 1
	if r := awaitResult(t, c1); r[tp1] != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("older queued epoch: %v, want INVALID_PRODUCER_EPOCH", r)
	}
	c2again := verifyAsync(m, "c", 2, false, tp1) // a retry of the same epoch
	if r := awaitResult(t, c2); r[tp1] != kerr.NetworkException.Code {
		t.Fatalf("same epoch queued again: %v, want NETWORK_EXCEPTION", r)
	}
	if r := awaitResult(t, verifyAsync(m, "c", 1, false, tp1)); r[tp1] != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("epoch older than the queued one: %v, want INVALID_PRODUCER_EPOCH", r)
	}

	f.answers <- verified(0)
	if r := awaitResult(t, first); len(r) != 0 {
		t.Fatalf("first: %v, want verified", r)
	}
	req = awaitRequest(t, f)
	if len(req.Transactions) != 2 || req.Transactions[0].TransactionalID != "b" || req.Transactions[1].TransactionalID != "c" ||
		req.Transactions[1].ProducerEpoch != 2 {
		t.Fatalf("batched request %+v", req.Transactions)
	}
	f.answers <- verified(0)
	for _, ch := range []chan verifyResult{b, c2again} {
		if r := awaitResult(t, ch); len(r) != 0 {
			t.Fatalf("batched: %v, want verified", r)
		}
	}
}

// AddPartitionsToTxnManagerTest.testAddPartitionsToTxnHandlerErrorHandling
// and the per-partition translation.
func TestTxnVerifyErrors(t *testing.T) {
	topLevel := func(code int16) func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
		return func(req *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
			resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
			resp.ErrorCode = code
			return resp, nil
		}
	}
	failure := func(err error) func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
		return func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) { return nil, err }
	}
	for _, tc := range []struct {
		name    string
		answer  func(*kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error)
		generic bool
		want    int16 // for every partition; 0: verified
	}{
		{"verified", verified(0), false, 0},
		{"disconnected", failure(errors.New("connection reset")), false, kerr.NetworkException.Code},
		{"authentication", failure(kerr.SaslAuthenticationFailed), false, kerr.SaslAuthenticationFailed.Code},
		{"cluster authorization", topLevel(kerr.ClusterAuthorizationFailed.Code), false, kerr.InvalidTxnState.Code},
		{"top-level error", topLevel(kerr.CoordinatorLoadInProgress.Code), false, kerr.CoordinatorLoadInProgress.Code},
		{"producer fenced", verified(kerr.ProducerFenced.Code), false, kerr.InvalidProducerEpoch.Code},
		{"abortable before produce v11", verified(kerr.TransactionAbortable.Code), false, kerr.InvalidTxnState.Code},
		{"abortable from produce v11", verified(kerr.TransactionAbortable.Code), true, kerr.TransactionAbortable.Code},
		{"not in the transaction", verified(kerr.InvalidTxnState.Code), false, kerr.InvalidTxnState.Code},
		{"concurrent", verified(kerr.ConcurrentTransactions.Code), false, kerr.ConcurrentTransactions.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeTxnCoordinator()
			m := newTestTxnVerifier(t, f, true)
			tps := []topicPartition{{"t", 0}, {"t", 1}}
			ch := verifyAsync(m, "a", 3, tc.generic, tps...)
			awaitRequest(t, f)
			f.answers <- tc.answer
			r := awaitResult(t, ch)
			want := verifyResult{}
			if tc.want != 0 {
				want = errorForAll(tps, tc.want)
			}
			if !maps.Equal(r, want) {
				t.Fatalf("result %v, want %v", r, want)
			}
		})
	}
}

// ReplicaManager.postVerificationCallback's translation for the produce
// response.
func TestVerificationError(t *testing.T) {
	for _, tc := range []struct {
		code     int16
		wantCode int16
		wantMsg  string
	}{
		{kerr.InvalidTxnState.Code, kerr.InvalidTxnState.Code, "Partition was not added to the transaction"},
		{kerr.ConcurrentTransactions.Code, kerr.NotEnoughReplicas.Code, "Unable to verify the partition has been added to the transaction. Underlying error: CONCURRENT_TRANSACTIONS"},
		{kerr.NetworkException.Code, kerr.NotEnoughReplicas.Code, "Unable to verify the partition has been added to the transaction. Underlying error: NETWORK_EXCEPTION"},
		{kerr.CoordinatorLoadInProgress.Code, kerr.NotEnoughReplicas.Code, "Unable to verify the partition has been added to the transaction. Underlying error: COORDINATOR_LOAD_IN_PROGRESS"},
		{kerr.CoordinatorNotAvailable.Code, kerr.NotEnoughReplicas.Code, "Unable to verify the partition has been added to the transaction. Underlying error: COORDINATOR_NOT_AVAILABLE"},
		{kerr.NotCoordinator.Code, kerr.NotEnoughReplicas.Code, "Unable to verify the partition has been added to the transaction. Underlying error: NOT_COORDINATOR"},
		{kerr.InvalidProducerEpoch.Code, kerr.InvalidProducerEpoch.Code, ""},
		{kerr.TransactionAbortable.Code, kerr.TransactionAbortable.Code, ""},
		{kerr.NotLeaderForPartition.Code, kerr.NotLeaderForPartition.Code, ""},
	} {
		err, msg := verificationError(tc.code)
		var ke *kerr.Error
		if !errors.As(err, &ke) || ke.Code != tc.wantCode {
			t.Errorf("code %d: error %v, want code %d", tc.code, err, tc.wantCode)
		}
		got := ""
		if msg != nil {
			got = *msg
		}
		if got != tc.wantMsg {
			t.Errorf("code %d: message %q, want %q", tc.code, got, tc.wantMsg)
		}
	}
}

// close answers what is queued and waits for the request in flight.
func TestTxnVerifyClose(t *testing.T) {
	f := newFakeTxnCoordinator()
	coordinator := func(string) (cachedNode, bool) { return cachedNode{ID: 7}, true }
	m := newAddPartitionsToTxnManager(coordinator, f.request, time.Minute, slog.New(slog.DiscardHandler))
	inflight := verifyAsync(m, "a", 0, false, topicPartition{"t", 0})
	awaitRequest(t, f)
	queued := verifyAsync(m, "b", 0, false, topicPartition{"t", 0})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.close() }()
	if r := awaitResult(t, queued); r[topicPartition{"t", 0}] != kerr.NetworkException.Code {
		t.Fatalf("queued at close: %v", r)
	}
	f.answers <- verified(0)
	awaitResult(t, inflight)
	wg.Wait()
	if r := awaitResult(t, verifyAsync(m, "c", 0, false, topicPartition{"t", 0})); r[topicPartition{"t", 0}] != kerr.NetworkException.Code {
		t.Fatalf("after close: %v", r)
	}
}
