package kafkadiff_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/protocol"
)

// TestTxnAuthorizationMatchesKafka39 sends the transaction APIs as a
// principal with a few ACLs (alice, SASL PLAIN) to one broker of ours and
// to an Apache Kafka 3.9 broker, both with the ACL authorizer, and
// compares the answers step by step: WRITE and DESCRIBE on transactional
// ids, WRITE on topics (internal ones never), READ on groups and topics,
// CLUSTER_ACTION for WriteTxnMarkers and AddPartitionsToTxn v4, DESCRIBE
// filtering of DescribeTransactions and ListTransactions.
func TestTxnAuthorizationMatchesKafka39(t *testing.T) {
	c := cluster.StartListeners(t, 0, []string{"SASL_PLAINTEXT"})
	specs := []aclSpec{
		{"TransactionalId:LITERAL:tx-ok", "User:alice", "Allow", "Write", ""},
		{"TransactionalId:LITERAL:tx-ro", "User:alice", "Allow", "Describe", ""},
		{"Topic:LITERAL:t", "User:alice", "Allow", "Write", ""},
		{"Topic:LITERAL:r", "User:alice", "Allow", "Read", ""},
		{"Group:LITERAL:g", "User:alice", "Allow", "Read", ""},
	}
	settings := map[string]string{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
		"super.users": "User:ANONYMOUS", "auto.create.topics.enable": "false",
		"offsets.topic.replication.factor": "1", "offsets.topic.num.partitions": "1",
		"transaction.state.log.replication.factor": "1", "transaction.state.log.min.isr": "1",
		"transaction.state.log.num.partitions": "1"}
	for k, v := range aclSASLSettings() {
		settings[k] = v
	}

	(&aclBroker{zk: c.ZKConn(), root: c.ZKPath("")}).write(t, specs)
	var extra []string
	for k, v := range settings {
		extra = append(extra, k+"="+v)
	}
	c.AddBroker(0, extra...)
	c.WaitForBrokers(0)
	ours := txnACLSteps(t, c.Broker(0).Addr, c.Broker(0).Listeners["SASL_PLAINTEXT"])

	chroot := "/kafka39-txn-acl"
	(&aclBroker{zk: c.ZKConn(), root: chroot}).write(t, specs)
	refPort, saslAddr := freePortNumber(t), harness.FreeLoopbackAddr(t)
	settings["listeners"] = fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,SASL_PLAINTEXT://%s", refPort, saslAddr)
	settings["advertised.listeners"] = settings["listeners"]
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Chroot: chroot, Port: refPort, Overrides: settings})
	theirs := txnACLSteps(t, ref.Addr, saslAddr)

	for i := range max(len(ours), len(theirs)) {
		var o, r string
		if i < len(ours) {
			o = ours[i]
		}
		if i < len(theirs) {
			r = theirs[i]
		}
		if o != r {
			t.Errorf("step %d:\n  ours:  %s\n  Kafka: %s", i, o, r)
		}
	}
	if t.Failed() {
		t.Logf("Kafka 3.9's answers:\n%s", strings.Join(theirs, "\n"))
	}
}

// txnACLSteps sets the broker up over its PLAINTEXT listener (a super
// user there), then plays the steps as alice over saslAddr, each request
// at the version it names.
func txnACLSteps(t *testing.T, plainAddr, saslAddr string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(plainAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, topic := range []string{"t", "r", "u"} {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
		req.Topics, req.TimeoutMillis = append(req.Topics, rt), 10000
		if resp, err := req.RequestWith(ctx, admin); err != nil || resp.Topics[0].ErrorCode != 0 {
			t.Fatalf("create %s: %v %+v", topic, err, resp)
		}
	}
	for _, k := range []struct {
		typ int8
		key string
	}{{1, "tx-ok"}, {0, "g"}} {
		harness.Poll(t, 60*time.Second, "coordinator of "+k.key, func() (bool, string) {
			req := kmsg.NewPtrFindCoordinatorRequest()
			req.CoordinatorType, req.CoordinatorKeys = k.typ, []string{k.key}
			resp, err := req.RequestWith(ctx, admin)
			if err != nil {
				return false, err.Error()
			}
			return resp.Coordinators[0].ErrorCode == 0, fmt.Sprint(resp.Coordinators[0].ErrorCode)
		})
	}

	alice := protocol.NewClient(saslAddr, "txn-acl", 10*time.Second)
	alice.SetAuthenticator(protocol.SASLAuthenticator(plain.Auth{User: "alice", Pass: aclUsers["alice"]}.AsMechanism()))
	defer alice.Close()
	send := func(req kmsg.Request) kmsg.Response {
		resp, err := alice.Request(ctx, req)
		if err != nil {
			t.Fatalf("%s v%d as alice: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
		}
		return resp
	}
	name := func(code int16) string {
		if code == 0 {
			return "NONE"
		}
		return kerr.ErrorForCode(code).(*kerr.Error).Message
	}
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = 4, 1, []string{"tx-ok", "tx-ro", "tx-no"}
	for _, co := range send(fc).(*kmsg.FindCoordinatorResponse).Coordinators {
		add("FindCoordinator v4 %s: %s found %v msg %q", co.Key, name(co.ErrorCode), co.NodeID >= 0, derefStr(co.ErrorMessage))
	}
	fc.Version, fc.CoordinatorKey = 3, "tx-no"
	f3 := send(fc).(*kmsg.FindCoordinatorResponse)
	add("FindCoordinator v3 tx-no: %s node %d msg %q", name(f3.ErrorCode), f3.NodeID, derefStr(f3.ErrorMessage))

	var pid int64
	var epoch int16
	for _, id := range []string{"tx-ro", "tx-no", "tx-ok"} {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version, req.TransactionalID, req.TransactionTimeoutMillis = 4, kmsg.StringPtr(id), 60000
		var resp *kmsg.InitProducerIDResponse
		harness.Poll(t, 30*time.Second, "InitProducerId "+id, func() (bool, string) {
			resp = send(req).(*kmsg.InitProducerIDResponse)
			return resp.ErrorCode != kerr.CoordinatorLoadInProgress.Code, name(resp.ErrorCode)
		})
		pid, epoch = resp.ProducerID, resp.ProducerEpoch
		add("InitProducerId %s: %s", id, name(resp.ErrorCode))
	}

	addParts := func(step string, v int16, id string, topics ...string) {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch = v, id, pid, epoch
		for _, tp := range topics {
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = tp, []int32{0}
			req.Topics = append(req.Topics, rt)
		}
		var got []string
		for _, rt := range send(req).(*kmsg.AddPartitionsToTxnResponse).Topics {
			for _, p := range rt.Partitions {
				got = append(got, rt.Topic+"="+name(p.ErrorCode))
			}
		}
		slices.Sort(got)
		add("AddPartitionsToTxn v%d %s: %v", v, step, got)
	}
	addParts("no WRITE on the id", 3, "tx-ro", "t")
	addParts("topics without WRITE, internal, missing", 3, "tx-ok", "t", "u", "__consumer_offsets", "missing")
	addParts("allowed", 3, "tx-ok", "t")
	v4 := kmsg.NewPtrAddPartitionsToTxnRequest()
	v4.Version = 4
	x := kmsg.NewAddPartitionsToTxnRequestTransaction()
	x.TransactionalID, x.ProducerID, x.ProducerEpoch, x.VerifyOnly = "tx-ok", pid, epoch, true
	tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	tt.Topic, tt.Partitions = "t", []int32{0}
	x.Topics = append(x.Topics, tt)
	v4.Transactions = append(v4.Transactions, x)
	v4r := send(v4).(*kmsg.AddPartitionsToTxnResponse)
	add("AddPartitionsToTxn v4 without CLUSTER_ACTION: %s, %d transactions", name(v4r.ErrorCode), len(v4r.Transactions))

	for _, c := range []struct{ id, group string }{{"tx-ro", "g"}, {"tx-ok", "g-no"}, {"tx-ok", "g"}} {
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = 3, c.id, pid, epoch, c.group
		add("AddOffsetsToTxn %s %s: %s", c.id, c.group, name(send(req).(*kmsg.AddOffsetsToTxnResponse).ErrorCode))
	}

	for _, c := range []struct{ id, group string }{{"tx-ro", "g"}, {"tx-ok", "g-no"}, {"tx-ok", "g"}} {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.Version, req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = 3, c.id, c.group, pid, epoch
		req.Generation = -1
		for _, tp := range []string{"r", "t"} {
			rt := kmsg.NewTxnOffsetCommitRequestTopic()
			rt.Topic = tp
			p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			p.Partition, p.Offset = 0, 1
			rt.Partitions = append(rt.Partitions, p)
			req.Topics = append(req.Topics, rt)
		}
		var got []string
		for _, rt := range send(req).(*kmsg.TxnOffsetCommitResponse).Topics {
			for _, p := range rt.Partitions {
				got = append(got, rt.Topic+"="+name(p.ErrorCode))
			}
		}
		slices.Sort(got)
		add("TxnOffsetCommit %s %s: %v", c.id, c.group, got)
	}

	dt := kmsg.NewPtrDescribeTransactionsRequest()
	dt.TransactionalIDs = []string{"tx-ok", "tx-ro", "tx-no"}
	for _, st := range send(dt).(*kmsg.DescribeTransactionsResponse).TransactionStates {
		add("DescribeTransactions %s: %s state %q topics %+v", st.TransactionalID, name(st.ErrorCode), st.State, st.Topics)
	}
	lt := kmsg.NewPtrListTransactionsRequest()
	lt.Version = 1
	var listed []string
	for _, st := range send(lt).(*kmsg.ListTransactionsResponse).TransactionStates {
		listed = append(listed, st.TransactionalID+"="+st.TransactionState)
	}
	slices.Sort(listed)
	add("ListTransactions: %v", listed)

	wm := kmsg.NewPtrWriteTxnMarkersRequest()
	wm.Version = 1
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed = pid, epoch, true
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "t", []int32{0}
	mk.Topics = append(mk.Topics, mt)
	wm.Markers = append(wm.Markers, mk)
	for _, m := range send(wm).(*kmsg.WriteTxnMarkersResponse).Markers {
		for _, rt := range m.Topics {
			for _, p := range rt.Partitions {
				add("WriteTxnMarkers %s-%d: %s", rt.Topic, p.Partition, name(p.ErrorCode))
			}
		}
	}

	dp := kmsg.NewPtrDescribeProducersRequest()
	for _, tp := range []string{"t", "r", "u", "bad/name"} {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = tp, []int32{0}
		dp.Topics = append(dp.Topics, rt)
	}
	for _, rt := range send(dp).(*kmsg.DescribeProducersResponse).Topics {
		for _, p := range rt.Partitions {
			add("DescribeProducers %s-%d: %s msg %q", rt.Topic, p.Partition, name(p.ErrorCode), derefStr(p.ErrorMessage))
		}
	}

	for _, id := range []string{"tx-ro", "tx-ok"} {
		req := kmsg.NewPtrEndTxnRequest()
		req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = 3, id, pid, epoch, true
		add("EndTxn %s: %s", id, name(send(req).(*kmsg.EndTxnResponse).ErrorCode))
	}
	return out
}
