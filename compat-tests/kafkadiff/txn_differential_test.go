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

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/protocol"
)

// TestTxnCoordinatorAnswersMatchKafka39 sends the same transaction
// requests to one broker of ours and to an Apache Kafka 3.9 broker and
// compares the answers step by step (coordinator.md §4-§7, §11, §16):
// request validation, epoch fencing per version, unknown ids and
// partitions, state errors, verify-only, Describe/ListTransactions.
func TestTxnCoordinatorAnswersMatchKafka39(t *testing.T) {
	ours := cluster.Start(t, 1, "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
		"transaction.state.log.num.partitions=5")
	ref := cluster.StartKafkaRef(t, ours.ZK.Addr, cluster.KafkaRefOptions{Overrides: map[string]string{
		"transaction.state.log.num.partitions": "5", "auto.create.topics.enable": "false"}})
	refClient, err := kgo.NewClient(kgo.SeedBrokers(ref.Addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(refClient.Close)
	ourSteps := txnDiffSteps(t, ours.Client(), ours.Broker(0).Addr)
	refSteps := txnDiffSteps(t, refClient, ref.Addr)
	for i := range max(len(ourSteps), len(refSteps)) {
		var o, r string
		if i < len(ourSteps) {
			o = ourSteps[i]
		}
		if i < len(refSteps) {
			r = refSteps[i]
		}
		if o != r {
			t.Errorf("step %d:\n  ours:  %s\n  Kafka: %s", i, o, r)
		}
	}
	if t.Failed() {
		t.Logf("Kafka 3.9's answers:\n%s", strings.Join(refSteps, "\n"))
	}
}

// txnDiffSteps runs the sequence against the broker at addr (alone in its
// cluster, so the coordinator of every id) at the versions the steps name,
// and describes each answer (no producer ids or timestamps, which differ).
func txnDiffSteps(t *testing.T, cl *kgo.Client, addr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 1, nil, "t"); err != nil || resp.Err != nil {
		t.Fatalf("creating t: %v %v", err, resp.Err)
	}
	const id = "diff-txn"
	harness.Poll(t, 60*time.Second, "a transaction coordinator", func() (bool, string) {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType, req.CoordinatorKeys = 1, []string{id}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return false, err.Error()
		}
		return resp.Coordinators[0].ErrorCode == 0, fmt.Sprint(kerr.ErrorForCode(resp.Coordinators[0].ErrorCode))
	})
	var out []string
	name := func(code int16) string {
		if code == 0 {
			return "NONE"
		}
		return kerr.ErrorForCode(code).(*kerr.Error).Message
	}
	raw := protocol.NewClient(addr, "txn-diff", 10*time.Second) // sends each request at its own version
	defer raw.Close()
	send := func(req kmsg.Request) kmsg.Response {
		resp, err := raw.Request(ctx, req)
		if err != nil {
			t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
		}
		return resp
	}
	// The coordinator loads its partitions in the background.
	harness.Poll(t, 60*time.Second, "the coordinator's partitions loaded", func() (bool, string) {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{id}
		resp, err := raw.Request(ctx, req)
		if err != nil {
			return false, err.Error()
		}
		code := resp.(*kmsg.DescribeTransactionsResponse).TransactionStates[0].ErrorCode
		return code == kerr.TransactionalIDNotFound.Code, name(code)
	})
	var pid int64
	var epoch int16
	initPID := func(step string, v int16, txnID string, timeout int32, p int64, e int16) {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version, req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = v, &txnID, timeout, p, e
		var resp *kmsg.InitProducerIDResponse
		// Kafka's first allocation of a producer id block goes to the
		// controller (RPCProducerIdManager): COORDINATOR_LOAD_IN_PROGRESS
		// until it has one, which a client retries.
		harness.Poll(t, 30*time.Second, "InitProducerId "+step, func() (bool, string) {
			resp = send(req).(*kmsg.InitProducerIDResponse)
			return resp.ErrorCode != kerr.CoordinatorLoadInProgress.Code, name(resp.ErrorCode)
		})
		if resp.ErrorCode == 0 {
			pid, epoch = resp.ProducerID, resp.ProducerEpoch
		}
		out = append(out, fmt.Sprintf("%s: InitProducerId v%d: %s epoch %d pid set %v", step, v, name(resp.ErrorCode), resp.ProducerEpoch, resp.ProducerID >= 0))
	}
	addParts := func(step string, v int16, txnID string, e int16, topics map[string][]int32) {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch = v, txnID, pid, e
		for _, tp := range slices.Sorted(func(yield func(string) bool) {
			for k := range topics {
				if !yield(k) {
					return
				}
			}
		}) {
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = tp, topics[tp]
			req.Topics = append(req.Topics, rt)
		}
		resp := send(req).(*kmsg.AddPartitionsToTxnResponse)
		var parts []string
		for _, rt := range resp.Topics {
			for _, p := range rt.Partitions {
				parts = append(parts, fmt.Sprintf("%s-%d=%s", rt.Topic, p.Partition, name(p.ErrorCode)))
			}
		}
		slices.Sort(parts)
		out = append(out, fmt.Sprintf("%s: AddPartitionsToTxn v%d: %s", step, v, strings.Join(parts, " ")))
	}
	endTxn := func(step string, v int16, txnID string, e int16, commit bool) {
		req := kmsg.NewPtrEndTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = v, txnID, pid, e, commit
		resp := send(req).(*kmsg.EndTxnResponse)
		out = append(out, fmt.Sprintf("%s: EndTxn v%d: %s", step, v, name(resp.ErrorCode)))
	}

	// InitProducerId: validation, then the id's first epoch and fencing.
	initPID("pid without epoch", 3, id, 60000, 5, -1)
	initPID("timeout 0", 4, id, 0, -1, -1)
	initPID("timeout above max", 4, id, 900001, -1, -1)
	initPID("first", 4, id, 60000, -1, -1)
	initPID("retry of KIP-360 with a wrong epoch v3", 3, id, 60000, pid, epoch+5)
	initPID("retry of KIP-360 with a wrong epoch v4", 4, id, 60000, pid, epoch+5)
	initPID("KIP-360 bump", 4, id, 60000, pid, epoch)

	// EndTxn and AddPartitionsToTxn refusals.
	endTxn("unknown id", 3, id+"-unknown", epoch, true)
	endTxn("empty transaction", 3, id, epoch, true)
	endTxn("stale epoch v1", 1, id, epoch-1, false)
	endTxn("stale epoch v3", 3, id, epoch-1, false)
	addParts("unknown partition", 3, id, epoch, map[string][]int32{"t": {0}, "missing": {0}, "u": {9}})
	addParts("stale epoch v1", 1, id, epoch-1, map[string][]int32{"t": {0}})
	addParts("stale epoch v2", 2, id, epoch-1, map[string][]int32{"t": {0}})
	addParts("unknown id", 3, id+"-unknown", epoch, map[string][]int32{"t": {0, 1}})
	addParts("add", 3, id, epoch, map[string][]int32{"t": {0}})
	addParts("add again", 3, id, epoch, map[string][]int32{"t": {0}})

	// v5 verify-only, as brokers send it.
	v5 := kmsg.NewPtrAddPartitionsToTxnRequest()
	v5.Version = 5
	x := kmsg.NewAddPartitionsToTxnRequestTransaction()
	x.TransactionalID, x.ProducerID, x.ProducerEpoch, x.VerifyOnly = id, pid, epoch, true
	tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	tt.Topic, tt.Partitions = "t", []int32{0, 1}
	x.Topics = append(x.Topics, tt)
	v5.Transactions = append(v5.Transactions, x)
	vr := send(v5).(*kmsg.AddPartitionsToTxnResponse)
	var verified []string
	for _, rt := range vr.Transactions {
		for _, t := range rt.Topics {
			for _, p := range t.Partitions {
				verified = append(verified, fmt.Sprintf("%s/%s-%d=%s", rt.TransactionalID, t.Topic, p.Partition, name(p.ErrorCode)))
			}
		}
	}
	slices.Sort(verified)
	out = append(out, fmt.Sprintf("verify: AddPartitionsToTxn v5: top %s %s", name(vr.ErrorCode), strings.Join(verified, " ")))

	// DescribeTransactions and ListTransactions.
	dr := kmsg.NewPtrDescribeTransactionsRequest()
	dr.Version = 0
	dr.TransactionalIDs = []string{id, "nope", ""}
	for _, st := range send(dr).(*kmsg.DescribeTransactionsResponse).TransactionStates {
		if st.TransactionalID == id {
			out = append(out, fmt.Sprintf("describe %s: %s state %s timeout %d epoch %d started %v topics %+v", st.TransactionalID,
				name(st.ErrorCode), st.State, st.TimeoutMillis, st.ProducerEpoch, st.StartTimestamp > 0, st.Topics))
			continue
		}
		out = append(out, fmt.Sprintf("describe %q: %+v", st.TransactionalID, st))
	}
	lr := kmsg.NewPtrListTransactionsRequest()
	lr.Version, lr.StateFilters = 1, []string{"Ongoing", "Bogus"}
	l := send(lr).(*kmsg.ListTransactionsResponse)
	var listed []string
	for _, st := range l.TransactionStates {
		listed = append(listed, st.TransactionalID+"="+st.TransactionState)
	}
	out = append(out, fmt.Sprintf("list: %s unknown %v %v", name(l.ErrorCode), l.UnknownStateFilters, listed))

	// FindCoordinator's share keys (no share coordinator in 3.9).
	for _, v := range []int16{5, 6} {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = v, 2, []string{"share"}
		c := send(fc).(*kmsg.FindCoordinatorResponse).Coordinators[0]
		out = append(out, fmt.Sprintf("share key v%d: %s node %d msg %q", v, name(c.ErrorCode), c.NodeID, derefStr(c.ErrorMessage)))
	}

	endTxn("commit", 4, id, epoch, true)
	harness.Poll(t, 30*time.Second, "CompleteCommit", func() (bool, string) {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{id}
		st := send(req).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
		return st.State == "CompleteCommit", st.State
	})
	endTxn("commit retried", 4, id, epoch, true)
	endTxn("abort after commit", 4, id, epoch, false)
	addParts("next transaction", 3, id, epoch, map[string][]int32{"t": {1}})
	initPID("new instance fences the open transaction", 4, id, 60000, -1, -1)
	endTxn("fenced producer's commit v3", 3, id, epoch, true)
	endTxn("fenced producer's commit v1", 1, id, epoch, true)
	return out
}
