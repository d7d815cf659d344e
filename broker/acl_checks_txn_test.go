package broker

import (
	"context"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
)

const anon = "User:ANONYMOUS"

// TestTxnAPIsAuthorization is KafkaApis' authorization of the transaction
// APIs (coordinator.md §16 [wire] 29, 30, 33, 60, 74; §4.2, §5.2, §7.1,
// §8.3, §11): refused requests answer Kafka's codes and write nothing to
// __transaction_state.
func TestTxnAPIsAuthorization(t *testing.T) {
	s := newTxnTestServer(t, nil)
	s.authz = testAuthorizer(t, nil, map[resourcePattern][]aclEntry{
		lit(resTransactionalID, "tx"): {allow(anon, opWrite), allow(anon, opDescribe)},
		lit(resTransactionalID, "ro"): {allow(anon, opDescribe)},
		lit(resTopic, "u"):            {allow(anon, opWrite), allow(anon, opDescribe), allow(anon, opRead)},
		lit(resTopic, offsetsTopic):   {allow(anon, opWrite)},
		lit(resTopic, "missing"):      {allow(anon, opWrite)},
		lit(resGroup, "g"):            {allow(anon, opRead)},
	})
	logEnd := func() int64 { return txnLogEnd(t, s, txnTopic, 0) }
	u0 := txn.TopicPartition{Topic: "u", Partition: 0}
	t0 := txn.TopicPartition{Topic: "t", Partition: 0}

	// InitProducerId: WRITE on the transactional id.
	if r := initPID(t, s, 4, "ro", -1, -1); r.ErrorCode != errTxnIDAuthFailed || r.ProducerID != -1 {
		t.Fatalf("InitProducerId without WRITE: %+v", r)
	}
	r := initPID(t, s, 4, "tx", -1, -1)
	if r.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	pid, epoch := r.ProducerID, r.ProducerEpoch
	before := logEnd()

	// FindCoordinator: DESCRIBE on the id; v4 keeps the keys' order and
	// sets no message, v0-3 the error's.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = 4, 1, []string{"secret", "tx", "other"}
	cs := dispatchRequest(t, s, fc).(*kmsg.FindCoordinatorResponse).Coordinators
	if len(cs) != 3 || cs[0].Key != "secret" || cs[0].ErrorCode != errTxnIDAuthFailed || deref(cs[0].ErrorMessage) != "" || cs[0].NodeID != -1 ||
		cs[1].Key != "tx" || cs[1].ErrorCode != 0 || cs[1].NodeID != 1 || cs[2].Key != "other" || cs[2].ErrorCode != errTxnIDAuthFailed {
		t.Fatalf("FindCoordinator v4: %+v", cs)
	}
	fc.Version, fc.CoordinatorKey = 3, "secret"
	if f := dispatchRequest(t, s, fc).(*kmsg.FindCoordinatorResponse); f.ErrorCode != errTxnIDAuthFailed || deref(f.ErrorMessage) != msgTxnIDAuthFailed || f.NodeID != -1 {
		t.Fatalf("FindCoordinator v3: %+v", f)
	}
	fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = 6, 2, []string{"share"}
	if cs := dispatchRequest(t, s, fc).(*kmsg.FindCoordinatorResponse).Coordinators; cs[0].ErrorCode != errClusterAuthorizationFailed {
		t.Fatalf("FindCoordinator v6 share key without CLUSTER_ACTION: %+v", cs)
	}

	// AddPartitionsToTxn v0-3: WRITE on the id, then on each topic (an
	// internal topic never passes); v4+: CLUSTER_ACTION.
	wantCodes(t, "no WRITE on the id", addPartitionsV3(t, s, 3, "ro", pid, epoch, map[string][]int32{"u": {0}}),
		map[txn.TopicPartition]*kerr.Error{u0: kerr.TransactionalIDAuthorizationFailed})
	wantCodes(t, "no WRITE on t", addPartitionsV3(t, s, 3, "tx", pid, epoch, map[string][]int32{"t": {0}, "u": {0}, "missing": {0}}),
		map[txn.TopicPartition]*kerr.Error{t0: kerr.TopicAuthorizationFailed, u0: kerr.OperationNotAttempted,
			{Topic: "missing"}: kerr.UnknownTopicOrPartition})
	wantCodes(t, "internal topic", addPartitionsV3(t, s, 3, "tx", pid, epoch, map[string][]int32{offsetsTopic: {0}, "u": {0}}),
		map[txn.TopicPartition]*kerr.Error{{Topic: offsetsTopic}: kerr.TopicAuthorizationFailed, u0: kerr.OperationNotAttempted})
	v4 := kmsg.NewPtrAddPartitionsToTxnRequest()
	v4.Version = 4
	x := kmsg.NewAddPartitionsToTxnRequestTransaction()
	x.TransactionalID, x.ProducerID, x.ProducerEpoch = "tx", pid, epoch
	tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
	tt.Topic, tt.Partitions = "u", []int32{0}
	x.Topics = append(x.Topics, tt)
	v4.Transactions = append(v4.Transactions, x)
	if resp := dispatchRequest(t, s, v4).(*kmsg.AddPartitionsToTxnResponse); resp.ErrorCode != errClusterAuthorizationFailed || len(resp.Transactions) != 0 {
		t.Fatalf("v4 without CLUSTER_ACTION: %+v", resp)
	}

	// AddOffsetsToTxn: WRITE on the id, then READ on the group.
	ao := kmsg.NewPtrAddOffsetsToTxnRequest()
	ao.Version, ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = 3, "ro", pid, epoch, "g"
	if c := dispatchRequest(t, s, ao).(*kmsg.AddOffsetsToTxnResponse).ErrorCode; c != errTxnIDAuthFailed {
		t.Fatalf("AddOffsetsToTxn without WRITE: %v", kerr.ErrorForCode(c))
	}
	ao.TransactionalID, ao.Group = "tx", "other"
	if c := dispatchRequest(t, s, ao).(*kmsg.AddOffsetsToTxnResponse).ErrorCode; c != errGroupAuthFailed {
		t.Fatalf("AddOffsetsToTxn without READ on the group: %v", kerr.ErrorForCode(c))
	}

	// EndTxn: WRITE on the id.
	if c := endTxn(t, s, 3, "ro", pid, epoch, true); c != errTxnIDAuthFailed {
		t.Fatalf("EndTxn without WRITE: %v", kerr.ErrorForCode(c))
	}
	if logEnd() != before {
		t.Fatalf("refused requests wrote to __transaction_state (LEO %d -> %d)", before, logEnd())
	}

	// WriteTxnMarkers from a client: ALTER or CLUSTER_ACTION on the
	// cluster, else every partition refused.
	wm := kmsg.NewPtrWriteTxnMarkersRequest()
	wm.Version = 1
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed = pid, epoch, true
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "u", []int32{0, 1}
	mk.Topics = append(mk.Topics, mt)
	wm.Markers = append(wm.Markers, mk)
	uBefore := txnLogEnd(t, s, "u", 0)
	wr := dispatchRequest(t, s, wm).(*kmsg.WriteTxnMarkersResponse)
	if len(wr.Markers) != 1 || wr.Markers[0].ProducerID != pid || len(wr.Markers[0].Topics[0].Partitions) != 2 {
		t.Fatalf("WriteTxnMarkers without cluster permission: %+v", wr)
	}
	if txnLogEnd(t, s, "u", 0) != uBefore {
		t.Fatal("a refused WriteTxnMarkers wrote a marker")
	}
	for _, p := range wr.Markers[0].Topics[0].Partitions {
		if p.ErrorCode != errClusterAuthorizationFailed {
			t.Fatalf("WriteTxnMarkers refusal: %+v", wr)
		}
	}

	// TxnOffsetCommit: WRITE on the id, READ on the group, READ per topic.
	toc := func(id, group string, topics ...string) *kmsg.TxnOffsetCommitRequest {
		r := kmsg.NewPtrTxnOffsetCommitRequest()
		r.Version, r.TransactionalID, r.Group, r.ProducerID, r.ProducerEpoch = 3, id, group, pid, epoch
		for _, tp := range topics {
			rt := kmsg.NewTxnOffsetCommitRequestTopic()
			rt.Topic = tp
			p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			p.Partition, p.Offset = 0, 5
			rt.Partitions = append(rt.Partitions, p)
			r.Topics = append(r.Topics, rt)
		}
		return r
	}
	for _, tc := range []struct {
		req  *kmsg.TxnOffsetCommitRequest
		want int16
	}{
		{toc("ro", "g", "u"), errTxnIDAuthFailed},
		{toc("tx", "other", "u"), errGroupAuthFailed},
		{toc("tx", "g", "t"), errTopicAuthFailed},
	} {
		deny, _ := s.aclGate(context.Background(), tc.req)
		tr, ok := deny.(*kmsg.TxnOffsetCommitResponse)
		if !ok || tr.Topics[0].Partitions[0].ErrorCode != tc.want {
			t.Fatalf("TxnOffsetCommit %s/%s: %+v, want %d", tc.req.TransactionalID, tc.req.Group, deny, tc.want)
		}
	}
	mixed := toc("tx", "g", "t", "u")
	deny, patch := s.aclGate(context.Background(), mixed)
	if deny != nil || len(mixed.Topics) != 1 || mixed.Topics[0].Topic != "u" || patch == nil {
		t.Fatalf("TxnOffsetCommit with t refused: deny %+v, request %+v", deny, mixed.Topics)
	}
	tr := mixed.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	patch(tr)
	if len(tr.Topics) != 1 || tr.Topics[0].Topic != "t" || tr.Topics[0].Partitions[0].ErrorCode != errTopicAuthFailed {
		t.Fatalf("TxnOffsetCommit patch: %+v", tr.Topics)
	}

	// DescribeProducers: READ per topic, the refused ones in place.
	dp := kmsg.NewPtrDescribeProducersRequest()
	for _, tp := range []string{"t", "u"} {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = tp, []int32{0}
		dp.Topics = append(dp.Topics, rt)
	}
	_, patch = s.aclGate(context.Background(), dp)
	if len(dp.Topics) != 1 || dp.Topics[0].Topic != "u" || patch == nil {
		t.Fatalf("DescribeProducers request after the gate: %+v", dp.Topics)
	}
	dr := dp.ResponseKind().(*kmsg.DescribeProducersResponse)
	ut := kmsg.NewDescribeProducersResponseTopic()
	ut.Topic = "u"
	dr.Topics = append(dr.Topics, ut)
	patch(dr)
	if len(dr.Topics) != 2 || dr.Topics[0].Topic != "t" || dr.Topics[0].Partitions[0].ErrorCode != errTopicAuthFailed ||
		deref(dr.Topics[0].Partitions[0].ErrorMessage) != msgTopicAuthFailed || dr.Topics[1].Topic != "u" {
		t.Fatalf("DescribeProducers answer: %+v", dr.Topics)
	}

	// DescribeTransactions: DESCRIBE on the id; topics without DESCRIBE
	// left out. ListTransactions: ids without DESCRIBE left out.
	wantCodes(t, "add u-0", addPartitionsV3(t, s, 3, "tx", pid, epoch, map[string][]int32{"u": {0}}),
		map[txn.TopicPartition]*kerr.Error{u0: nil})
	s.authz.updateCache(lit(resTopic, "u"), versionedACLs{}) // no DESCRIBE (nor READ or WRITE, which imply it) any more
	st := describeTxn(t, s, "secret", "tx")
	if len(st) != 2 || st[0].TransactionalID != "secret" || st[0].ErrorCode != errTxnIDAuthFailed || st[0].State != "" ||
		st[1].ErrorCode != 0 || st[1].State != "Ongoing" || len(st[1].Topics) != 0 {
		t.Fatalf("DescribeTransactions: %+v", st)
	}
	s.authz.updateCache(lit(resTransactionalID, "tx"), versionedACLs{})
	lt := kmsg.NewPtrListTransactionsRequest()
	if l := dispatchRequest(t, s, lt).(*kmsg.ListTransactionsResponse); l.ErrorCode != 0 || len(l.TransactionStates) != 0 {
		t.Fatalf("ListTransactions without DESCRIBE: %+v", l)
	}
	s.authz.superUsers[Anonymous] = true
	if l := dispatchRequest(t, s, lt).(*kmsg.ListTransactionsResponse); len(l.TransactionStates) != 1 || !slices.ContainsFunc(l.TransactionStates,
		func(x kmsg.ListTransactionsResponseTransactionState) bool { return x.TransactionalID == "tx" }) {
		t.Fatalf("ListTransactions as a super user: %+v", l)
	}
	// The refused WriteTxnMarkers would have written: allowed, it does.
	wr = dispatchRequest(t, s, wm).(*kmsg.WriteTxnMarkersResponse)
	if code := wr.Markers[0].Topics[0].Partitions[0].ErrorCode; code != 0 || txnLogEnd(t, s, "u", 0) != uBefore+1 {
		t.Fatalf("WriteTxnMarkers as a super user: %v, u-0 LEO %d", kerr.ErrorForCode(code), txnLogEnd(t, s, "u", 0))
	}
}
