package kafkadiff_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestTxnOffsetsDifferential runs the same transactional offset commits
// against us and Kafka 3.9 and compares the answers (research log.md 13
// #51-#60): TxnOffsetCommit after AddOffsetsToTxn, OffsetFetch with and
// without require_stable before the marker (UNSTABLE_OFFSET_COMMIT), the
// offsets after COMMIT and ABORT, a KIP-447 zombie (v3, a member the group
// does not know: UNKNOWN_MEMBER_ID, nothing appended to
// __consumer_offsets), several transactions of one producer epoch (every
// TxnOffsetCommit batch has base sequence 0), and the offsets reloaded
// after a broker restart.
func TestTxnOffsetsDifferential(t *testing.T) {
	txnSettings := map[string]string{"transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
		"transaction.state.log.num.partitions": "3"}
	var extra []string
	for k, v := range txnSettings {
		extra = append(extra, k+"="+v)
	}
	slices.Sort(extra)
	c := cluster.Start(t, 1, extra...)
	cl := c.Client()
	if !txnAPIsServed(t, cl) {
		t.Fatal("the transaction coordinator's APIs are not advertised by our broker")
	}
	ours := txnOffsetsTranscript(t, cl, func() { c.Restart(0) })

	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Overrides: txnSettings})
	theirs := txnOffsetsTranscript(t, ref.Client(t), func() { ref.Stop(t); ref.Restart(t) })
	if !slices.Equal(ours, theirs) {
		t.Fatalf("answers differ\nours:\n  %s\nKafka 3.9:\n  %s", strings.Join(ours, "\n  "), strings.Join(theirs, "\n  "))
	}
	t.Logf("both answered:\n  %s", strings.Join(ours, "\n  "))
}

// txnAPIsServed: ApiVersions advertises AddOffsetsToTxn and TxnOffsetCommit.
func txnAPIsServed(t *testing.T, cl *kgo.Client) bool {
	t.Helper()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	served := 0
	for _, k := range resp.ApiKeys {
		if k.ApiKey == kmsg.AddOffsetsToTxn.Int16() || k.ApiKey == kmsg.TxnOffsetCommit.Int16() {
			served++
		}
	}
	return served == 2
}

type txnOffsetsRun struct {
	t          *testing.T
	cl         *kgo.Client
	pid        int64
	epoch      int16
	transcript []string
}

func (r *txnOffsetsRun) logf(format string, args ...any) {
	r.transcript = append(r.transcript, fmt.Sprintf(format, args...))
}

// retry repeats f while it answers a retriable coordinator error (loading,
// moving, a transaction still completing), for at most 60 s.
func (r *txnOffsetsRun) retry(what string, f func() (int16, error)) int16 {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, err := f()
		switch {
		case err == nil && code != kerr.CoordinatorLoadInProgress.Code && code != kerr.NotCoordinator.Code &&
			code != kerr.CoordinatorNotAvailable.Code && code != kerr.ConcurrentTransactions.Code:
			return code
		case time.Now().After(deadline):
			r.t.Fatalf("%s: %v %v", what, err, kerr.ErrorForCode(code))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *txnOffsetsRun) initProducer() {
	r.t.Helper()
	id := "txn-offsets"
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
	code := r.retry("InitProducerId", func() (int16, error) {
		resp, err := req.RequestWith(context.Background(), r.cl)
		if err != nil {
			return 0, err
		}
		r.pid, r.epoch = resp.ProducerID, resp.ProducerEpoch
		return resp.ErrorCode, nil
	})
	if code != 0 {
		r.t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(code))
	}
}

// fetch is OffsetFetch v7 of g's in-0.
func (r *txnOffsetsRun) fetch(requireStable bool) string {
	r.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.Group, req.RequireStable = 7, "g", requireStable
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "in", []int32{0}
	req.Topics = append(req.Topics, ft)
	var out string
	r.retry("OffsetFetch", func() (int16, error) {
		resp, err := req.RequestWith(context.Background(), r.cl)
		if err != nil {
			return 0, err
		}
		if resp.ErrorCode != 0 {
			return resp.ErrorCode, nil
		}
		p := resp.Topics[0].Partitions[0]
		out = fmt.Sprintf("%d %v", p.Offset, kerr.ErrorForCode(p.ErrorCode))
		return 0, nil
	})
	return out
}

// offsetsLEO is the log end offset of g's __consumer_offsets partition
// (50 partitions, the default).
func (r *txnOffsetsRun) offsetsLEO() int64 {
	r.t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "__consumer_offsets"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = group.PartitionFor("g", 50), -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	var leo int64
	code := r.retry("ListOffsets __consumer_offsets", func() (int16, error) {
		resp, err := req.RequestWith(context.Background(), r.cl)
		if err != nil {
			return 0, err
		}
		p := resp.Topics[0].Partitions[0]
		leo = p.Offset
		return p.ErrorCode, nil
	})
	if code != 0 {
		r.t.Fatalf("ListOffsets __consumer_offsets: %v", kerr.ErrorForCode(code))
	}
	return leo
}

// transaction adds g's offsets partition to a transaction, commits offset
// there (v3 with the given consumer metadata), fetches before the marker,
// ends the transaction and returns the TxnOffsetCommit answer.
func (r *txnOffsetsRun) transaction(offset int64, generation int32, member string, commit bool) {
	r.t.Helper()
	ctx := context.Background()
	ao := kmsg.NewPtrAddOffsetsToTxnRequest()
	ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = "txn-offsets", r.pid, r.epoch, "g"
	if code := r.retry("AddOffsetsToTxn", func() (int16, error) {
		resp, err := ao.RequestWith(ctx, r.cl)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	}); code != 0 {
		r.t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(code))
	}
	before := r.offsetsLEO()
	tc := kmsg.NewPtrTxnOffsetCommitRequest()
	tc.Version = 3
	tc.TransactionalID, tc.Group, tc.ProducerID, tc.ProducerEpoch = "txn-offsets", "g", r.pid, r.epoch
	tc.Generation, tc.MemberID = generation, member
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "in"
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, offset
	rt.Partitions = append(rt.Partitions, rp)
	tc.Topics = append(tc.Topics, rt)
	code := r.retry("TxnOffsetCommit", func() (int16, error) {
		resp, err := tc.RequestWith(ctx, r.cl)
		if err != nil {
			return 0, err
		}
		return resp.Topics[0].Partitions[0].ErrorCode, nil
	})
	r.logf("TxnOffsetCommit %d (generation %d, member %q): %v; __consumer_offsets grew by %d", offset, generation, member,
		kerr.ErrorForCode(code), r.offsetsLEO()-before)
	r.logf("before the marker: require_stable %s; without %s", r.fetch(true), r.fetch(false))
	et := kmsg.NewPtrEndTxnRequest()
	et.TransactionalID, et.ProducerID, et.ProducerEpoch, et.Commit = "txn-offsets", r.pid, r.epoch, commit
	if code := r.retry("EndTxn", func() (int16, error) {
		resp, err := et.RequestWith(ctx, r.cl)
		if err != nil {
			return 0, err
		}
		return resp.ErrorCode, nil
	}); code != 0 {
		r.t.Fatalf("EndTxn: %v", kerr.ErrorForCode(code))
	}
	// The marker reaches the group coordinator asynchronously.
	deadline := time.Now().Add(60 * time.Second)
	got := r.fetch(true)
	for strings.Contains(got, "UNSTABLE") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		got = r.fetch(true)
	}
	r.logf("after %s: %s", map[bool]string{true: "COMMIT", false: "ABORT"}[commit], got)
}

func txnOffsetsTranscript(t *testing.T, cl *kgo.Client, restart func()) []string {
	t.Helper()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, "in"); err != nil {
		t.Fatalf("creating in: %v", err)
	}
	r := &txnOffsetsRun{t: t, cl: cl}
	// The group's coordinator lookup creates __consumer_offsets.
	r.logf("before any commit: %s", r.fetch(true))
	r.initProducer()
	r.transaction(10, -1, "", true)
	r.initProducer()
	r.transaction(20, -1, "", false)
	r.initProducer()
	r.transaction(30, 3, "zombie", true)
	// Several transactions of one producer epoch.
	r.initProducer()
	for _, o := range []int64{40, 50, 60} {
		r.transaction(o, -1, "", true)
	}
	r.transaction(70, -1, "", false)
	restart()
	deadline := time.Now().Add(60 * time.Second)
	got := r.fetch(true)
	for got != "60 <nil>" && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		got = r.fetch(true)
	}
	r.logf("after a restart: %s", got)
	return r.transcript
}
