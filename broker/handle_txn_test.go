package broker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/protocol"
)

// txnTestLeaderEpoch is the leader epoch of __transaction_state-0 in the
// transaction test server: the coordinator epoch.
const txnTestLeaderEpoch = 3

// loopbackMarkerClient delivers the marker sender's requests to the
// server itself through dispatch, as its own inter-broker connection
// would: the partition leader's WriteTxnMarkers writes the markers.
type loopbackMarkerClient struct{ s *Server }

func (c *loopbackMarkerClient) Close() error { return nil }

func (c *loopbackMarkerClient) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("broker-1-txn-marker-sender")).AppendRequest(nil, req, 7)
	hdr, parsed, err := protocol.ParseRequest(frame[4:])
	if err != nil {
		return nil, err
	}
	out, err := c.s.dispatch(ctx, request{hdr: hdr, req: parsed, frame: frame[4:]})
	if err != nil {
		return nil, err
	}
	b, err := out.Bytes()
	if err != nil {
		return nil, err
	}
	body := b[8:]
	resp := req.ResponseKind()
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		body = body[1:]
	}
	return resp, resp.ReadFrom(body)
}

// newTxnTestServer is broker 1 alone, leading __transaction_state (one
// partition), __consumer_offsets (one partition) and topics t and u (two
// partitions each), with the transaction coordinator elected for
// __transaction_state-0 over the real replica (txnStore). Markers go to
// markers (a fake of the partition leaders) or, if nil, to this broker's
// own WriteTxnMarkers.
func newTxnTestServer(t *testing.T, markers *markerCluster, opts ...testServerOption) *Server {
	t.Helper()
	one := testPartitionState{leader: 1, leaderEpoch: txnTestLeaderEpoch, isr: []int32{1}, replicas: []int32{1}}
	base := []testServerOption{
		withBrokers(1),
		withTopic(txnTopic, [16]byte{0x7e}, map[string]string{"cleanup.policy": "compact"}, one),
		withTopic(offsetsTopic, [16]byte{0x0f}, nil, one),
		withTopic("t", [16]byte{0x11}, nil, one, one),
		withTopic("u", [16]byte{0x12}, nil, one, one),
	}
	s := newTestServer(t, append(base, opts...)...)
	s.cfg.TransactionStateLogNumPartitions = 1
	s.cfg.OffsetsTopicNumPartitions = 1
	s.producerIDs = newProducerIDAllocator(nil, 1, 1000)
	s.producerIDs.nextID, s.producerIDs.end = 1000, 1_000_000 // no ZooKeeper block needed
	s.groups = s.newGroupCoordinator()
	s.txnMarkers = newMarkerSender(slog.New(slog.DiscardHandler), time.Millisecond, 5*time.Second, s.markerRoute,
		func(id int32, _ string) markerClient {
			if markers == nil {
				return &loopbackMarkerClient{s: s}
			}
			return &fakeMarkerClient{c: markers, id: id}
		})
	s.txn = s.newTxnCoordinator(s.txnMarkers)
	s.txn.Start(1)
	t.Cleanup(func() {
		s.txn.Close()
		s.txnMarkers.Close()
	})
	s.onReplicaRoleChange(txnTopic, 0, true, txnTestLeaderEpoch)
	waitFor(t, "__transaction_state-0 loaded", func() bool {
		_, err := s.txn.DescribeTransaction("probe")
		return err != kerr.CoordinatorLoadInProgress
	})
	return s
}

// txnLogEnd is the log end offset of a partition this broker hosts.
func txnLogEnd(t *testing.T, s *Server, topic string, partition int32) int64 {
	t.Helper()
	p, ok := s.replicas.get(topic, partition)
	if !ok {
		t.Fatalf("%s-%d not hosted", topic, partition)
	}
	return p.log.LogEndOffset()
}

func initPID(t *testing.T, s *Server, version int16, id string, pid int64, epoch int16) *kmsg.InitProducerIDResponse {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version, req.TransactionalID, req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = version, &id, 60000, pid, epoch
	return dispatchRequest(t, s, req).(*kmsg.InitProducerIDResponse)
}

func addPartitionsV3(t *testing.T, s *Server, version int16, id string, pid int64, epoch int16, parts map[string][]int32) map[txn.TopicPartition]int16 {
	t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch = version, id, pid, epoch
	for _, topic := range slices.Sorted(func(yield func(string) bool) {
		for k := range parts {
			if !yield(k) {
				return
			}
		}
	}) {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, parts[topic]
		req.Topics = append(req.Topics, rt)
	}
	resp := dispatchRequest(t, s, req).(*kmsg.AddPartitionsToTxnResponse)
	out := map[txn.TopicPartition]int16{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out[txn.TopicPartition{Topic: rt.Topic, Partition: p.Partition}] = p.ErrorCode
		}
	}
	return out
}

func endTxn(t *testing.T, s *Server, version int16, id string, pid int64, epoch int16, commit bool) int16 {
	t.Helper()
	req := kmsg.NewPtrEndTxnRequest()
	req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = version, id, pid, epoch, commit
	return dispatchRequest(t, s, req).(*kmsg.EndTxnResponse).ErrorCode
}

func describeTxn(t *testing.T, s *Server, ids ...string) []kmsg.DescribeTransactionsResponseTransactionState {
	t.Helper()
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = ids
	return dispatchRequest(t, s, req).(*kmsg.DescribeTransactionsResponse).TransactionStates
}

func wantCodes(t *testing.T, what string, got map[txn.TopicPartition]int16, want map[txn.TopicPartition]*kerr.Error) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
	for tp, w := range want {
		if c, ok := got[tp]; !ok || c != errCode(w) {
			t.Fatalf("%s: %s-%d %v, want %v (all: %v)", what, tp.Topic, tp.Partition, kerr.ErrorForCode(c), w, got)
		}
	}
}

// TestTxnAPIsOverTheBroker runs the transaction APIs through dispatch
// against the coordinator over a real __transaction_state replica
// (coordinator.md §16 [wire] cases 6, 18, 23, 28, 31, 33, 34, 36, 71, 74),
// checking that refused requests write nothing to __transaction_state.
func TestTxnAPIsOverTheBroker(t *testing.T) {
	s := newTxnTestServer(t, nil)
	t0 := txn.TopicPartition{Topic: "t", Partition: 0}
	t1 := txn.TopicPartition{Topic: "t", Partition: 1}
	logEnd := func() int64 { return txnLogEnd(t, s, txnTopic, 0) }

	// FindCoordinator: the leader of the id's partition (the only one).
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.Version, fc.CoordinatorType, fc.CoordinatorKeys = 4, 1, []string{"tx"}
	if c := dispatchRequest(t, s, fc).(*kmsg.FindCoordinatorResponse).Coordinators; len(c) != 1 || c[0].ErrorCode != 0 || c[0].NodeID != 1 {
		t.Fatalf("FindCoordinator: %+v", c)
	}
	if n, ok := s.transactionCoordinatorFor("tx", "PLAINTEXT"); !ok || n.ID != 1 {
		t.Fatalf("transactionCoordinatorFor: %+v %v", n, ok)
	}

	// InitProducerId: request checks, then the id's first epoch.
	if r := initPID(t, s, 3, "tx", 5, -1); r.ErrorCode != kerr.InvalidRequest.Code || r.ProducerID != -1 {
		t.Fatalf("pid without epoch: %+v", r)
	}
	if r := initPID(t, s, 1, "", -1, -1); r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("empty id: %+v", r)
	}
	bad := kmsg.NewPtrInitProducerIDRequest()
	bad.Version, bad.TransactionalID, bad.TransactionTimeoutMillis = 4, kmsg.StringPtr("tx"), int32(s.cfg.TransactionMaxTimeout.Milliseconds())+1
	if r := dispatchRequest(t, s, bad).(*kmsg.InitProducerIDResponse); r.ErrorCode != kerr.InvalidTransactionTimeout.Code {
		t.Fatalf("timeout above transaction.max.timeout.ms: %+v", r)
	}
	if logEnd() != 0 {
		t.Fatalf("refused InitProducerId wrote to __transaction_state (LEO %d)", logEnd())
	}
	r := initPID(t, s, 5, "tx", -1, -1)
	if r.ErrorCode != 0 || r.ProducerEpoch != 0 || r.ProducerID < 1000 {
		t.Fatalf("InitProducerId: %+v", r)
	}
	pid, epoch := r.ProducerID, r.ProducerEpoch
	if logEnd() != 1 {
		t.Fatalf("InitProducerId wrote %d records, want 1", logEnd())
	}
	// KIP-360 with a wrong epoch: PRODUCER_FENCED, INVALID_PRODUCER_EPOCH below v4.
	for v, want := range map[int16]*kerr.Error{3: kerr.InvalidProducerEpoch, 4: kerr.ProducerFenced, 5: kerr.ProducerFenced} {
		if r := initPID(t, s, v, "tx", pid, epoch+5); r.ErrorCode != want.Code {
			t.Fatalf("InitProducerId v%d with a wrong epoch: %v, want %v", v, kerr.ErrorForCode(r.ErrorCode), want)
		}
	}

	// AddPartitionsToTxn: an unknown partition fails the transaction
	// (OPERATION_NOT_ATTEMPTED for the rest); a stale epoch is fenced;
	// neither writes anything.
	before := logEnd()
	wantCodes(t, "unknown partition", addPartitionsV3(t, s, 3, "tx", pid, epoch, map[string][]int32{"t": {0}, "missing": {0}}),
		map[txn.TopicPartition]*kerr.Error{t0: kerr.OperationNotAttempted, {Topic: "missing"}: kerr.UnknownTopicOrPartition})
	wantCodes(t, "stale epoch v1", addPartitionsV3(t, s, 1, "tx", pid, epoch+1, map[string][]int32{"t": {0}}),
		map[txn.TopicPartition]*kerr.Error{t0: kerr.InvalidProducerEpoch})
	wantCodes(t, "stale epoch v3", addPartitionsV3(t, s, 3, "tx", pid, epoch+1, map[string][]int32{"t": {0}}),
		map[txn.TopicPartition]*kerr.Error{t0: kerr.ProducerFenced})
	wantCodes(t, "unknown id", addPartitionsV3(t, s, 3, "nope", pid, epoch, map[string][]int32{"t": {0, 1}}),
		map[txn.TopicPartition]*kerr.Error{t0: kerr.InvalidProducerIDMapping, t1: kerr.InvalidProducerIDMapping})
	if logEnd() != before {
		t.Fatalf("refused AddPartitionsToTxn wrote to __transaction_state (LEO %d -> %d)", before, logEnd())
	}
	wantCodes(t, "add", addPartitionsV3(t, s, 3, "tx", pid, epoch, map[string][]int32{"t": {0}}),
		map[txn.TopicPartition]*kerr.Error{t0: nil})
	if logEnd() != before+1 {
		t.Fatalf("AddPartitionsToTxn wrote %d records, want 1", logEnd()-before)
	}

	// v4 from a broker: verify only, per partition; batched transactions.
	v4 := kmsg.NewPtrAddPartitionsToTxnRequest()
	v4.Version = 5
	for _, id := range []string{"tx", "nope"} {
		x := kmsg.NewAddPartitionsToTxnRequestTransaction()
		x.TransactionalID, x.ProducerID, x.ProducerEpoch, x.VerifyOnly = id, pid, epoch, true
		tt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		tt.Topic, tt.Partitions = "t", []int32{0, 1}
		x.Topics = append(x.Topics, tt)
		v4.Transactions = append(v4.Transactions, x)
	}
	v4resp := dispatchRequest(t, s, v4).(*kmsg.AddPartitionsToTxnResponse)
	if v4resp.ErrorCode != 0 || len(v4resp.Transactions) != 2 {
		t.Fatalf("v5 verify: %+v", v4resp)
	}
	for _, rt := range v4resp.Transactions {
		got := map[txn.TopicPartition]int16{}
		for _, tt := range rt.Topics {
			for _, p := range tt.Partitions {
				got[txn.TopicPartition{Topic: tt.Topic, Partition: p.Partition}] = p.ErrorCode
			}
		}
		want := map[txn.TopicPartition]*kerr.Error{t0: nil, t1: kerr.TransactionAbortable}
		if rt.TransactionalID == "nope" {
			want = map[txn.TopicPartition]*kerr.Error{t0: kerr.InvalidProducerIDMapping, t1: kerr.InvalidProducerIDMapping}
		}
		wantCodes(t, "verify "+rt.TransactionalID, got, want)
	}
	if logEnd() != before+1 {
		t.Fatal("verification wrote to __transaction_state")
	}

	// AddOffsetsToTxn adds the group's __consumer_offsets partition.
	ao := kmsg.NewPtrAddOffsetsToTxnRequest()
	ao.Version, ao.TransactionalID, ao.ProducerID, ao.ProducerEpoch, ao.Group = 4, "tx", pid, epoch, "g"
	if code := dispatchRequest(t, s, ao).(*kmsg.AddOffsetsToTxnResponse).ErrorCode; code != 0 {
		t.Fatalf("AddOffsetsToTxn: %v", kerr.ErrorForCode(code))
	}
	ao.Version, ao.ProducerEpoch = 1, epoch+1
	if code := dispatchRequest(t, s, ao).(*kmsg.AddOffsetsToTxnResponse).ErrorCode; code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("AddOffsetsToTxn v1 stale epoch: %v", kerr.ErrorForCode(code))
	}

	// DescribeTransactions and ListTransactions.
	st := describeTxn(t, s, "tx", "nope")
	if len(st) != 2 || st[0].ErrorCode != 0 || st[0].State != "Ongoing" || st[0].ProducerID != pid || st[0].TimeoutMillis != 60000 ||
		st[0].StartTimestamp <= 0 || len(st[0].Topics) != 2 || st[1].ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("DescribeTransactions: %+v", st)
	}
	for _, tt := range st[0].Topics {
		if tt.Topic == "t" && !slices.Equal(tt.Partitions, []int32{0}) || tt.Topic == offsetsTopic && !slices.Equal(tt.Partitions, []int32{0}) {
			t.Fatalf("DescribeTransactions topics: %+v", st[0].Topics)
		}
	}
	lt := kmsg.NewPtrListTransactionsRequest()
	lt.Version, lt.StateFilters = 1, []string{"Ongoing", "Bogus"}
	lr := dispatchRequest(t, s, lt).(*kmsg.ListTransactionsResponse)
	if lr.ErrorCode != 0 || !slices.Equal(lr.UnknownStateFilters, []string{"Bogus"}) || len(lr.TransactionStates) != 1 ||
		lr.TransactionStates[0].TransactionalID != "tx" || lr.TransactionStates[0].TransactionState != "Ongoing" {
		t.Fatalf("ListTransactions: %+v", lr)
	}
	lt.StateFilters, lt.DurationFilterMillis = nil, time.Hour.Milliseconds()
	if lr := dispatchRequest(t, s, lt).(*kmsg.ListTransactionsResponse); len(lr.TransactionStates) != 0 {
		t.Fatalf("ListTransactions running > 1h: %+v", lr)
	}

	// EndTxn: an unknown id and a stale epoch are refused and write
	// nothing; a commit answers once PrepareCommit is written, then the
	// markers complete it.
	before = logEnd()
	if code := endTxn(t, s, 4, "nope", pid, epoch, true); code != kerr.InvalidProducerIDMapping.Code {
		t.Fatalf("EndTxn unknown id: %v", kerr.ErrorForCode(code))
	}
	if code := endTxn(t, s, 1, "tx", pid, epoch+1, true); code != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("EndTxn v1 stale epoch: %v", kerr.ErrorForCode(code))
	}
	if code := endTxn(t, s, 3, "tx", pid, epoch+1, true); code != kerr.ProducerFenced.Code {
		t.Fatalf("EndTxn v3 stale epoch: %v", kerr.ErrorForCode(code))
	}
	if logEnd() != before {
		t.Fatal("refused EndTxn wrote to __transaction_state")
	}
	if code := endTxn(t, s, 4, "tx", pid, epoch, true); code != 0 {
		t.Fatalf("EndTxn commit: %v", kerr.ErrorForCode(code))
	}
	waitFor(t, "CompleteCommit", func() bool { return describeTxn(t, s, "tx")[0].State == "CompleteCommit" })
	// The markers: one control batch on t-0 and one on __consumer_offsets-0.
	if txnLogEnd(t, s, "t", 0) != 1 || txnLogEnd(t, s, offsetsTopic, 0) != 1 || txnLogEnd(t, s, "t", 1) != 0 {
		t.Fatalf("markers: t-0 LEO %d, __consumer_offsets-0 LEO %d, t-1 LEO %d", txnLogEnd(t, s, "t", 0),
			txnLogEnd(t, s, offsetsTopic, 0), txnLogEnd(t, s, "t", 1))
	}
	if logEnd() != before+2 {
		t.Fatalf("commit wrote %d records, want PrepareCommit and CompleteCommit", logEnd()-before)
	}
	if code := endTxn(t, s, 4, "tx", pid, epoch, true); code != 0 {
		t.Fatalf("EndTxn commit retried: %v", kerr.ErrorForCode(code))
	}
	if code := endTxn(t, s, 4, "tx", pid, epoch, false); code != kerr.InvalidTxnState.Code {
		t.Fatalf("EndTxn abort after commit: %v", kerr.ErrorForCode(code))
	}
}

// TestTxnCoordinatorReloads: a re-elected coordinator (new leader epoch)
// reloads __transaction_state from the log; a resigned one answers
// NOT_COORDINATOR.
func TestTxnCoordinatorReloads(t *testing.T) {
	s := newTxnTestServer(t, nil)
	r := initPID(t, s, 4, "tx", -1, -1)
	if r.ErrorCode != 0 {
		t.Fatalf("InitProducerId: %v", kerr.ErrorForCode(r.ErrorCode))
	}
	wantCodes(t, "add", addPartitionsV3(t, s, 3, "tx", r.ProducerID, r.ProducerEpoch, map[string][]int32{"u": {1}}),
		map[txn.TopicPartition]*kerr.Error{{Topic: "u", Partition: 1}: nil})
	s.onReplicaRoleChange(txnTopic, 0, false, -1)
	if st := describeTxn(t, s, "tx"); st[0].ErrorCode != kerr.NotCoordinator.Code {
		t.Fatalf("after resignation: %+v", st)
	}
	s.onReplicaRoleChange(txnTopic, 0, true, txnTestLeaderEpoch) // the partition's epoch is unchanged here
	waitFor(t, "reload", func() bool { return describeTxn(t, s, "tx")[0].ErrorCode != kerr.CoordinatorLoadInProgress.Code })
	st := describeTxn(t, s, "tx")
	if st[0].ErrorCode != 0 || st[0].State != "Ongoing" || st[0].ProducerID != r.ProducerID || len(st[0].Topics) != 1 || st[0].Topics[0].Topic != "u" {
		t.Fatalf("reloaded: %+v", st)
	}
}

// TestFindCoordinatorTransactionKeys: a missing __transaction_state is
// COORDINATOR_NOT_AVAILABLE (its creation goes to the controller); share
// keys are INVALID_REQUEST below v6 and COORDINATOR_NOT_AVAILABLE from v6
// (KafkaApis.getCoordinator in 3.9).
func TestFindCoordinatorTransactionKeys(t *testing.T) {
	s := newTestServer(t, withBrokers(1))
	s.txnMarkers = newMarkerSender(slog.New(slog.DiscardHandler), time.Millisecond, time.Second, s.markerRoute,
		func(id int32, _ string) markerClient { return &fakeMarkerClient{c: newMarkerCluster(), id: id} })
	s.txn = s.newTxnCoordinator(s.txnMarkers)
	t.Cleanup(func() { s.txn.Close(); s.txnMarkers.Close() })
	s.forwarder = newControllerForwarder(s.cache, 1, "PLAINTEXT") // the controller (port 1) does not answer
	for _, tc := range []struct {
		version int16
		typ     int8
		want    *kerr.Error
	}{
		{3, 1, kerr.CoordinatorNotAvailable},
		{4, 1, kerr.CoordinatorNotAvailable},
		{5, 2, kerr.InvalidRequest},
		{6, 2, kerr.CoordinatorNotAvailable},
	} {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = tc.version, tc.typ, "k", []string{"k"}
		resp := dispatchRequest(t, s, req).(*kmsg.FindCoordinatorResponse)
		code, node := resp.ErrorCode, resp.NodeID
		if tc.version >= 4 {
			code, node = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].NodeID
		}
		if code != tc.want.Code || node != -1 {
			t.Errorf("v%d type %d: %v node %d, want %v", tc.version, tc.typ, kerr.ErrorForCode(code), node, tc.want)
		}
	}
}

// TestTxnTopicCreateRequest: __transaction_state is created with
// transaction.state.log.num.partitions and .replication.factor and the
// five topic configs of TransactionStateManager.transactionTopicConfigs.
func TestTxnTopicCreateRequest(t *testing.T) {
	s := &Server{cfg: DefaultConfig()}
	s.cfg.TransactionStateLogMinISR, s.cfg.TransactionStateLogSegmentBytes = 3, 1<<20
	req := s.txnTopicRequest()
	if len(req.Topics) != 1 {
		t.Fatalf("%+v", req)
	}
	tp := req.Topics[0]
	if tp.Topic != txnTopic || tp.NumPartitions != 50 || tp.ReplicationFactor != 3 {
		t.Fatalf("topic %s partitions %d rf %d", tp.Topic, tp.NumPartitions, tp.ReplicationFactor)
	}
	got := map[string]string{}
	for _, c := range tp.Configs {
		got[c.Name] = deref(c.Value)
	}
	want := map[string]string{"unclean.leader.election.enable": "false", "compression.type": "uncompressed",
		"cleanup.policy": "compact", "min.insync.replicas": "3", "segment.bytes": "1048576"}
	if len(got) != len(want) {
		t.Fatalf("configs %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("configs %v, want %v", got, want)
		}
	}
}

// TestTxnStoreAppend: txnStore writes as the coordinator of the leader
// epoch it was elected in; otherwise, or where this broker does not lead,
// it answers Kafka's append errors and writes nothing.
func TestTxnStoreAppend(t *testing.T) {
	s := newTxnTestServer(t, nil)
	st := &txnStore{s: s}
	ctx := context.Background()
	for _, tc := range []struct {
		name             string
		partition, epoch int32
		want             *kerr.Error
	}{
		{"elected epoch", 0, txnTestLeaderEpoch, nil},
		{"older coordinator epoch", 0, txnTestLeaderEpoch - 1, kerr.NotLeaderForPartition},
		{"partition not hosted", 7, txnTestLeaderEpoch, kerr.UnknownTopicOrPartition},
	} {
		before := txnLogEnd(t, s, txnTopic, 0)
		err := st.Append(ctx, tc.partition, tc.epoch, []byte("k"), []byte("v"), time.Second)
		var got *kerr.Error
		if err != nil && !errors.As(err, &got) {
			t.Fatalf("%s: %v is no Kafka error", tc.name, err)
		}
		if got != tc.want {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if wrote := txnLogEnd(t, s, txnTopic, 0) - before; (tc.want == nil) != (wrote == 1) {
			t.Fatalf("%s: wrote %d records", tc.name, wrote)
		}
	}
	// A tombstone reads back with a nil value.
	if err := st.Append(ctx, 0, txnTestLeaderEpoch, []byte("k"), nil, time.Second); err != nil {
		t.Fatal(err)
	}
	var values [][]byte
	if err := st.Load(ctx, 0, func(key, value []byte) error {
		if string(key) == "k" {
			values = append(values, value)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(values) != 2 || string(values[0]) != "v" || values[1] != nil {
		t.Fatalf("loaded %q", values)
	}
	if err := st.Load(ctx, 7, func([]byte, []byte) error { return nil }); !errors.Is(err, kerr.NotLeaderForPartition) {
		t.Fatalf("load of a partition not led here: %v", err)
	}
}
