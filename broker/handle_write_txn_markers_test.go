package broker

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnMarker is one marker of a WriteTxnMarkers request.
type txnMarker struct {
	pid              int64
	epoch            int16
	coordinatorEpoch int32
	commit           bool
	parts            []topicPartition
}

func writeTxnMarkersReq(markers ...txnMarker) *kmsg.WriteTxnMarkersRequest {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	for _, m := range markers {
		rm := kmsg.NewWriteTxnMarkersRequestMarker()
		rm.ProducerID, rm.ProducerEpoch, rm.CoordinatorEpoch, rm.Committed = m.pid, m.epoch, m.coordinatorEpoch, m.commit
		for _, tp := range m.parts {
			i := slices.IndexFunc(rm.Topics, func(t kmsg.WriteTxnMarkersRequestMarkerTopic) bool { return t.Topic == tp.Topic })
			if i < 0 {
				t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
				t.Topic = tp.Topic
				rm.Topics = append(rm.Topics, t)
				i = len(rm.Topics) - 1
			}
			rm.Topics[i].Partitions = append(rm.Topics[i].Partitions, tp.Partition)
		}
		req.Markers = append(req.Markers, rm)
	}
	return req
}

// markerErrors flattens a WriteTxnMarkers response: producer id -> partition -> code.
func markerErrors(resp *kmsg.WriteTxnMarkersResponse) map[int64]map[topicPartition]int16 {
	out := map[int64]map[topicPartition]int16{}
	for _, m := range resp.Markers {
		if out[m.ProducerID] == nil {
			out[m.ProducerID] = map[topicPartition]int16{}
		}
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				out[m.ProducerID][topicPartition{t.Topic, p.Partition}] = p.ErrorCode
			}
		}
	}
	return out
}

func writeMarkers(t *testing.T, s *Server, markers ...txnMarker) map[int64]map[topicPartition]int16 {
	t.Helper()
	return markerErrors(dispatchRequest(t, s, writeTxnMarkersReq(markers...)).(*kmsg.WriteTxnMarkersResponse))
}

// produceTxn appends producer pid's batch to t-partition through Produce
// (verification off) and returns its base offset.
func produceTxn(t *testing.T, s *Server, topic string, partition int32, records []byte) int64 {
	t.Helper()
	id := "txn"
	_, p := produceVia(t, s, txnProduce(&id, txnPart{topic, partition, records}))
	if p.ErrorCode != 0 {
		t.Fatalf("produce to %s-%d: %v", topic, partition, kerr.ErrorForCode(p.ErrorCode))
	}
	return p.BaseOffset
}

// KafkaApis.handleWriteTxnMarkersRequest's per-partition outcomes
// (KafkaApisTest shouldRespondWithUnknownTopicOrPartitionForBadPartitionAndNoErrorsForGoodPartition,
// shouldRespondWithUnsupportedMessageFormatForBadPartitionAndNoErrorsForGoodPartition's
// shape, the ReplicaManager append errors) and the log side's fencing
// (ProducerStateManagerTest testCoordinatorFencing, testOldEpochForControlRecord).
func TestWriteTxnMarkers(t *testing.T) {
	s := newProduceTestServer(t)
	if resp := dispatchRequest(t, s, writeTxnMarkersReq()).(*kmsg.WriteTxnMarkersResponse); len(resp.Markers) != 0 {
		t.Fatalf("no markers: %+v", resp)
	}
	produceTxn(t, s, "t", 0, producerBatch(1000, 2, 0, 2, true))
	got := writeMarkers(t, s,
		txnMarker{pid: 1000, epoch: 2, coordinatorEpoch: 5, commit: true, parts: []topicPartition{{"t", 0}, {"t", 1}, {"nosuch", 0}}},
		txnMarker{pid: 2000, epoch: 0, coordinatorEpoch: 5, parts: []topicPartition{{"minisr", 0}}},
		// A second marker of producer 1000: its results merge into the first's.
		txnMarker{pid: 1000, epoch: 2, coordinatorEpoch: 5, commit: true, parts: []topicPartition{{"compact", 0}}})
	want := map[int64]map[topicPartition]int16{
		1000: {{"t", 0}: 0, {"t", 1}: kerr.NotLeaderForPartition.Code, {"nosuch", 0}: kerr.UnknownTopicOrPartition.Code, {"compact", 0}: 0},
		2000: {{"minisr", 0}: kerr.NotEnoughReplicas.Code},
	}
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Fatalf("marker outcomes %v, want %v", got, want)
	}
	p, _ := s.replicas.get("t", 0)
	if leo, lso := p.log.LogEndOffset(), p.lastStableOffset(); leo != 3 || lso != 3 {
		t.Fatalf("after the commit marker: LEO %d LSO %d, want 3 and 3", leo, lso)
	}

	for _, tc := range []struct {
		name string
		m    txnMarker
		want int16
	}{
		{"older producer epoch", txnMarker{pid: 1000, epoch: 1, coordinatorEpoch: 5}, kerr.InvalidProducerEpoch.Code},
		{"older coordinator epoch", txnMarker{pid: 1000, epoch: 2, coordinatorEpoch: 4}, kerr.TransactionCoordinatorFenced.Code},
		{"no open transaction", txnMarker{pid: 1000, epoch: 2, coordinatorEpoch: 5, commit: true}, 0},
		{"bumped epoch", txnMarker{pid: 1000, epoch: 3, coordinatorEpoch: 6}, 0},
	} {
		tc.m.parts = []topicPartition{{"t", 0}}
		if got := writeMarkers(t, s, tc.m)[tc.m.pid][topicPartition{"t", 0}]; got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, kerr.ErrorForCode(got), kerr.ErrorForCode(tc.want))
		}
	}
	// The abort with the bumped epoch fenced epoch 2 (KIP-360's fencing).
	id := "txn"
	if _, r := produceVia(t, s, txnProduce(&id, txnPart{"t", 0, producerBatch(1000, 2, 2, 1, true)})); r.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("produce of the fenced epoch: %v", kerr.ErrorForCode(r.ErrorCode))
	}
}

// The partition leader's read_committed view (UnifiedLog.lastStableOffset,
// LocalLog.read with includeAbortedTxns; log research §3's worked example,
// cases 27-33): Fetch bounds read_committed consumers by the LSO and lists
// the aborted transactions; ListOffsets' LATEST is the LSO for them.
func TestReadCommitted(t *testing.T) {
	s := newProduceTestServer(t)
	if _, r := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, testBatch(2))); r.ErrorCode != 0 { // 0-1
		t.Fatal(kerr.ErrorForCode(r.ErrorCode))
	}
	produceTxn(t, s, "t", 0, producerBatch(1000, 0, 0, 2, true)) // 2-3
	produceTxn(t, s, "t", 0, producerBatch(2000, 0, 0, 1, true)) // 4

	type view struct {
		hw, lso   int64
		committed int64 // last offset a read_committed fetch from 0 returns, -1 none
		aborted   []int64
		latestRC  int64
		latestRU  int64
	}
	check := func(name string, want view) {
		t.Helper()
		rc := consumerFetch(0, 0)
		rc.isolation = 1
		_, p := fetchVia(t, s, 11, rc)
		if p.ErrorCode != 0 || p.HighWatermark != want.hw || p.LastStableOffset != want.lso {
			t.Fatalf("%s: read_committed fetch: error %d HW %d LSO %d, want HW %d LSO %d", name, p.ErrorCode, p.HighWatermark, p.LastStableOffset, want.hw, want.lso)
		}
		_, last, _ := fetchedOffsets(t, p.RecordBatches)
		if last != want.committed {
			t.Errorf("%s: read_committed fetch up to offset %d, want %d", name, last, want.committed)
		}
		var aborted []int64
		for _, a := range p.AbortedTransactions {
			aborted = append(aborted, a.ProducerID, a.FirstOffset)
		}
		if p.AbortedTransactions == nil || !slices.Equal(aborted, want.aborted) {
			t.Errorf("%s: aborted transactions %v (nil %v), want %v", name, aborted, p.AbortedTransactions == nil, want.aborted)
		}
		_, u := fetchVia(t, s, 11, consumerFetch(0, 0))
		if u.LastStableOffset != want.lso || u.AbortedTransactions != nil {
			t.Errorf("%s: read_uncommitted fetch: LSO %d aborted %v, want LSO %d and null", name, u.LastStableOffset, u.AbortedTransactions, want.lso)
		}
		if _, last, _ := fetchedOffsets(t, u.RecordBatches); last != want.hw-1 {
			t.Errorf("%s: read_uncommitted fetch up to %d, want %d", name, last, want.hw-1)
		}
		for iso, wantOff := range map[int8]int64{1: want.latestRC, 0: want.latestRU} {
			if got := listLatest(t, s, iso); got != wantOff {
				t.Errorf("%s: ListOffsets LATEST isolation %d: %d, want %d", name, iso, got, wantOff)
			}
		}
	}
	check("two open transactions", view{hw: 5, lso: 2, committed: 1, aborted: nil, latestRC: 2, latestRU: 5})
	writeMarkers(t, s, txnMarker{pid: 1000, coordinatorEpoch: 1, parts: []topicPartition{{"t", 0}}}) // abort @5
	check("first aborted", view{hw: 6, lso: 4, committed: 3, aborted: []int64{1000, 2}, latestRC: 4, latestRU: 6})
	writeMarkers(t, s, txnMarker{pid: 2000, coordinatorEpoch: 1, commit: true, parts: []topicPartition{{"t", 0}}}) // commit @6
	check("all decided", view{hw: 7, lso: 7, committed: 6, aborted: []int64{1000, 2}, latestRC: 7, latestRU: 7})

	// A fetch at the LSO is empty with an empty list (case 29).
	rc := consumerFetch(0, 7)
	rc.isolation = 1
	if _, p := fetchVia(t, s, 11, rc); len(p.RecordBatches) != 0 || p.AbortedTransactions == nil || len(p.AbortedTransactions) != 0 {
		t.Errorf("fetch at the LSO: %d bytes, aborted %v", len(p.RecordBatches), p.AbortedTransactions)
	}
}

func listLatest(t *testing.T, s *Server, isolation int8) int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID, req.IsolationLevel = 5, -1, isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := dispatchRequest(t, s, req).(*kmsg.ListOffsetsResponse)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 {
		t.Fatalf("ListOffsets: %v", kerr.ErrorForCode(p.ErrorCode))
	}
	return p.Offset
}

// A read_committed fetch waiting at the LSO wakes when a marker moves it
// (DelayedFetch with FetchIsolation.TXN_COMMITTED).
func TestReadCommittedLongPollWakesOnMarker(t *testing.T) {
	s := newProduceTestServer(t)
	produceTxn(t, s, "t", 0, producerBatch(1000, 0, 0, 2, true))
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.IsolationLevel = 11, -1, 60000, 1, 1<<20, 1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch = 0, 0, 1<<20, -1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	start := time.Now()
	wait := dispatchAsync(t, s, req)
	writeMarkers(t, s, txnMarker{pid: 1000, coordinatorEpoch: 1, commit: true, parts: []topicPartition{{"t", 0}}})
	out, err := wait()
	if err != nil {
		t.Fatal(err)
	}
	p := out.(*kmsg.FetchResponse).Topics[0].Partitions[0]
	if p.LastStableOffset != 3 || len(p.RecordBatches) == 0 {
		t.Fatalf("woken fetch: LSO %d, %d bytes", p.LastStableOffset, len(p.RecordBatches))
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("the fetch waited out its max wait")
	}
}

// DescribeProducers (KafkaApis.handleDescribeProducersRequest,
// Partition.activeProducerState; log research case 68).
func TestDescribeProducers(t *testing.T) {
	s := newProduceTestServer(t)
	produceTxn(t, s, "t", 0, producerBatch(1000, 3, 0, 2, true))
	produceTxn(t, s, "t", 0, producerBatch(900, 0, 0, 1, false))
	req := kmsg.NewPtrDescribeProducersRequest()
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{"t", []int32{0, 1, 7}}, {"nosuch", []int32{0}}, {"bad/name", []int32{0}}} {
		rt := kmsg.NewDescribeProducersRequestTopic()
		rt.Topic, rt.Partitions = tp.topic, tp.parts
		req.Topics = append(req.Topics, rt)
	}
	resp := dispatchRequest(t, s, req).(*kmsg.DescribeProducersResponse)
	if len(resp.Topics) != 3 {
		t.Fatalf("response %+v", resp)
	}
	t0 := resp.Topics[0].Partitions
	if len(t0) != 3 || t0[0].ErrorCode != 0 || len(t0[0].ActiveProducers) != 2 {
		t.Fatalf("t: %+v", t0)
	}
	ap := t0[0].ActiveProducers
	if ap[0].ProducerID != 900 || ap[0].CurrentTxnStartOffset != -1 || ap[0].LastSequence != 0 ||
		ap[1].ProducerID != 1000 || ap[1].ProducerEpoch != 3 || ap[1].LastSequence != 1 || ap[1].CurrentTxnStartOffset != 0 || ap[1].CoordinatorEpoch != -1 {
		t.Errorf("active producers %+v", ap)
	}
	// t-1 is followed here: a follower answers too.
	if t0[1].ErrorCode != 0 {
		t.Errorf("t-1 (follower): %v", kerr.ErrorForCode(t0[1].ErrorCode))
	}
	if t0[2].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("t-7: %v", kerr.ErrorForCode(t0[2].ErrorCode))
	}
	if c := resp.Topics[1].Partitions[0].ErrorCode; c != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("unknown topic: %v", kerr.ErrorForCode(c))
	}
	if c := resp.Topics[2].Partitions[0]; c.ErrorCode != kerr.InvalidTopicException.Code || c.ErrorMessage == nil {
		t.Errorf("invalid topic: %+v", c)
	}
}

// An unknown isolation level fails the whole fetch once it has partitions
// to read (FetchIsolation.of -> IsolationLevel.forId): UNKNOWN_SERVER_ERROR
// at the top level and, before v13, on every partition.
func TestFetchUnknownIsolationLevel(t *testing.T) {
	s := newProduceTestServer(t)
	for _, v := range []int16{4, 12, 13} {
		a := consumerFetch(0, 0)
		a.isolation = 2
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes, req.IsolationLevel = v, -1, 1<<20, 2
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = a.topic, a.topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch = 0, 1<<20, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := dispatchRequest(t, s, req).(*kmsg.FetchResponse)
		if v >= 7 && resp.ErrorCode != kerr.UnknownServerError.Code { // the top-level error is on the wire from v7
			t.Fatalf("v%d: top-level %v", v, kerr.ErrorForCode(resp.ErrorCode))
		}
		if v >= 13 {
			if len(resp.Topics) != 0 {
				t.Errorf("v%d: partitions answered: %+v", v, resp.Topics)
			}
			continue
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != kerr.UnknownServerError.Code || p.HighWatermark != -1 || p.LastStableOffset != -1 || p.AbortedTransactions == nil {
			t.Errorf("v%d: partition %+v", v, p)
		}
	}
}
