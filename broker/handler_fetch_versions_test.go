package broker

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicIDFollowed = [16]byte{12}

// newFetchTestServer is broker 1 with, written only by Produce and
// DeleteRecords requests:
//   - t-0 led by 1 (ISR [1]): offsets 0-2 in leader epoch 1, 3-4 in epoch
//     3, log start 1: HW = LSO = LEO = 5;
//   - t-1 followed (leader 2, epoch 4), an empty log;
//   - followed-0 led by 1 with follower 2 in the ISR: offsets 0-1, HW 0
//     until broker 2 fetches.
func newFetchTestServer(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t,
		withTopic("t", topicIDT, nil, testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1}, replicas: []int32{1}},
			testPartitionState{leader: 2, leaderEpoch: 4, isr: []int32{2, 1}, replicas: []int32{2, 1}}),
		withTopic("followed", topicIDFollowed, nil, testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1, 2}, replicas: []int32{1, 2}}),
	)
	for _, p := range []struct {
		topic string
		n     int
	}{{"t", 3}, {"followed", 2}} {
		if _, got := produceVia(t, s, produceReq(9, 1, 1000, p.topic, 0, testBatch(p.n))); got.ErrorCode != 0 {
			t.Fatalf("produce to %s: %v", p.topic, kerr.ErrorForCode(got.ErrorCode))
		}
	}
	changePartitionState(t, s, "t", topicIDT, 0, testPartitionState{leader: 1, leaderEpoch: 3, isr: []int32{1}, replicas: []int32{1}})
	if _, got := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, testBatch(2))); got.ErrorCode != 0 || got.BaseOffset != 3 {
		t.Fatalf("produce in epoch 3: %v base %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	deleteRecordsVia(t, s, "t", 0, 1)
	return s
}

// fetchArgs is one partition's fetch.
type fetchArgs struct {
	replica          int32 // -1: a consumer
	topic            string
	topicID          [16]byte // used from v13
	partition        int32
	offset           int64
	currentEpoch     int32 // on the wire from v9
	lastFetchedEpoch int32 // on the wire from v12
	isolation        int8  // on the wire from v4
}

// consumerFetch is a consumer's fetch of t-partition at offset.
func consumerFetch(partition int32, offset int64) fetchArgs {
	return fetchArgs{replica: -1, topic: "t", topicID: topicIDT, partition: partition, offset: offset, currentEpoch: -1, lastFetchedEpoch: -1}
}

// fetchVia sends one partition's Fetch (no wait, no session) through
// dispatch and returns the response and the partition's answer.
func fetchVia(t *testing.T, s *Server, v int16, a fetchArgs) (*kmsg.FetchResponse, kmsg.FetchResponseTopicPartition) {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.MaxWaitMillis, req.MinBytes, req.MaxBytes, req.IsolationLevel = v, 0, 1, 1<<20, a.isolation
	req.ReplicaID = a.replica
	if v >= 15 { // KIP-903: the replica id moves into ReplicaState
		req.ReplicaID = -1
		req.ReplicaState.ID, req.ReplicaState.Epoch = a.replica, -1
	}
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = a.topic, a.topicID
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = a.partition, a.offset, 1<<20
	rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = a.currentEpoch, a.lastFetchedEpoch, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := dispatchRequest(t, s, req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID != 0 {
		t.Fatalf("Fetch v%d: top-level error %v session %d, want none and 0 (sessions declined)", v, kerr.ErrorForCode(resp.ErrorCode), resp.SessionID)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("Fetch v%d response %+v", v, resp)
	}
	rt0 := resp.Topics[0]
	// FetchResponse v13+ names topics by id only (KIP-516).
	wantTopic, wantID := a.topic, [16]byte{}
	if v >= 13 {
		wantTopic, wantID = "", a.topicID
	}
	if rt0.Topic != wantTopic || rt0.TopicID != wantID {
		t.Errorf("response topic %q id %x, want %q id %x", rt0.Topic, rt0.TopicID, wantTopic, wantID)
	}
	return resp, rt0.Partitions[0]
}

// fetchedOffsets walks a partition's records, v2 batches or (v0-v3) magic
// 0/1 message sets, and returns the offsets they hold, first to last
// (a batch counts base..base+last offset delta), and their magic.
func fetchedOffsets(t *testing.T, records []byte) (first, last int64, magic int8) {
	t.Helper()
	first, last, magic = -1, -1, -1
	for pos := 0; pos < len(records); {
		// An incomplete entry ends the records, as clients read them: a
		// partial batch, or down-conversion's overflow padding (offset -1,
		// a size past the end, LazyDownConversionRecordsSend).
		if len(records)-pos < 17 {
			break
		}
		offset := int64(binary.BigEndian.Uint64(records[pos:]))
		size := int(binary.BigEndian.Uint32(records[pos+8:]))
		m := int8(records[pos+16])
		if pos+12+size > len(records) {
			break
		}
		if magic >= 0 && m != magic {
			t.Fatalf("magic %d after %d", m, magic)
		}
		magic = m
		end := offset
		if m == 2 {
			end = offset + int64(int32(binary.BigEndian.Uint32(records[pos+23:])))
		}
		if first < 0 {
			first = offset
		}
		last = end
		pos += 12 + size
	}
	return first, last, magic
}

// fetchWant is a Fetch partition answer. lso is checked from v4, logStart
// from v5; below, the fields are not on the wire and decode as -1.
type fetchWant struct {
	err                  *kerr.Error
	hw, lso, logStart    int64
	first, last          int64 // offsets of the records, -1 for none
	divergingEpoch       int32 // from v12, -1 for none
	divergingEnd         int64
	leaderID, leaderEpch int32 // current leader from v16, -1 for none
}

func checkFetch(t *testing.T, v int16, got kmsg.FetchResponseTopicPartition, w fetchWant) {
	t.Helper()
	if got.ErrorCode != errCode(w.err) {
		t.Errorf("error %v, want %v", kerr.ErrorForCode(got.ErrorCode), w.err)
	}
	wantLSO, wantLogStart := int64(-1), int64(-1)
	if v >= 4 {
		wantLSO = w.lso
	}
	if v >= 5 {
		wantLogStart = w.logStart
	}
	if got.HighWatermark != w.hw || got.LastStableOffset != wantLSO || got.LogStartOffset != wantLogStart {
		t.Errorf("HW %d LSO %d log start %d, want %d %d %d", got.HighWatermark, got.LastStableOffset, got.LogStartOffset, w.hw, wantLSO, wantLogStart)
	}
	// No transactions: nothing aborted.
	if len(got.AbortedTransactions) != 0 {
		t.Errorf("aborted transactions %+v", got.AbortedTransactions)
	}
	// No replica.selector.class: never a preferred read replica (v11+, KIP-392).
	if got.PreferredReadReplica != -1 {
		t.Errorf("preferred read replica %d, want -1", got.PreferredReadReplica)
	}
	first, last, magic := fetchedOffsets(t, got.RecordBatches)
	if first != w.first || last != w.last {
		t.Errorf("records at offsets %d-%d, want %d-%d", first, last, w.first, w.last)
	}
	// KafkaApis.maybeConvertFetchedData: magic 0 up to v1, 1 for v2-v3.
	wantMagic := int8(2)
	switch {
	case v <= 1:
		wantMagic = 0
	case v <= 3:
		wantMagic = 1
	}
	if first >= 0 && magic != wantMagic {
		t.Errorf("records of magic %d, want %d", magic, wantMagic)
	}
	wantDiv, wantDivEnd := int32(-1), int64(-1)
	if v >= 12 && w.divergingEpoch >= 0 {
		wantDiv, wantDivEnd = w.divergingEpoch, w.divergingEnd
	}
	if got.DivergingEpoch.Epoch != wantDiv || got.DivergingEpoch.EndOffset != wantDivEnd {
		t.Errorf("diverging epoch %+v, want %d end %d", got.DivergingEpoch, wantDiv, wantDivEnd)
	}
	wantLeader, wantLeaderEpoch := int32(-1), int32(-1)
	if v >= 16 {
		wantLeader, wantLeaderEpoch = w.leaderID, w.leaderEpch
	}
	if got.CurrentLeader.LeaderID != wantLeader || got.CurrentLeader.LeaderEpoch != wantLeaderEpoch {
		t.Errorf("current leader %+v, want %d epoch %d", got.CurrentLeader, wantLeader, wantLeaderEpoch)
	}
}

// failed is a partition error: no offsets (ReplicaManager.createLogReadResult,
// FetchResponse.partitionResponse), no records.
func failed(err *kerr.Error) fetchWant {
	return fetchWant{err: err, hw: -1, lso: -1, logStart: -1, first: -1, last: -1, divergingEpoch: -1, leaderID: -1, leaderEpch: -1}
}

// Fetch at every version this broker advertises (0-17), each row on a
// fresh broker, decoded from the response bytes at the request's version.
func TestFetchVersions(t *testing.T) {
	// data is t-0's answer to a consumer with records first..last.
	data := func(first, last int64) fetchWant {
		return fetchWant{hw: 5, lso: 5, logStart: 1, first: first, last: last, divergingEpoch: -1, leaderID: -1, leaderEpch: -1}
	}
	type row struct {
		name       string
		minV, maxV int16
		run        func(t *testing.T, s *Server, v int16)
	}
	simple := func(a fetchArgs, want func(v int16) fetchWant) func(t *testing.T, s *Server, v int16) {
		return func(t *testing.T, s *Server, v int16) {
			_, got := fetchVia(t, s, v, a)
			checkFetch(t, v, got, want(v))
		}
	}
	same := func(w fetchWant) func(int16) fetchWant { return func(int16) fetchWant { return w } }
	rows := []row{
		// Partition.readRecords for a consumer: up to the HW; the batch
		// holding the fetch offset is sent whole from v4 (v2 batches),
		// down-converted from the fetch offset up to v3.
		{"from log start", 0, 17, simple(consumerFetch(0, 1), func(v int16) fetchWant {
			if v <= 3 {
				return data(1, 4)
			}
			return data(0, 4)
		})},
		{"from mid log", 0, 17, simple(consumerFetch(0, 3), same(data(3, 4)))},
		{"at LEO", 0, 17, simple(consumerFetch(0, 5), same(data(-1, -1)))},
		// READ_COMMITTED (v4+, KIP-98): up to the LSO, the HW without transactions.
		{"read committed", 4, 17, func(t *testing.T, s *Server, v int16) {
			a := consumerFetch(0, 3)
			a.isolation = 1
			_, got := fetchVia(t, s, v, a)
			checkFetch(t, v, got, data(3, 4))
		}},
		// ReplicaManager.readFromLog: OffsetOutOfRangeException (no
		// remote storage) is createLogReadResult(e), offsets -1.
		{"offset above LEO", 0, 17, simple(consumerFetch(0, 6), same(failed(kerr.OffsetOutOfRange)))},
		{"offset below log start", 0, 17, simple(consumerFetch(0, 0), same(failed(kerr.OffsetOutOfRange)))},
		// KafkaApis.handleFetchRequest: a partition the metadata cache
		// does not know is UNKNOWN_TOPIC_OR_PARTITION; from v13 a topic id
		// it does not know is UNKNOWN_TOPIC_ID.
		{"unknown partition", 0, 17, simple(consumerFetch(7, 0), same(failed(kerr.UnknownTopicOrPartition)))},
		{"unknown topic", 0, 12, simple(fetchArgs{replica: -1, topic: "nosuch", currentEpoch: -1, lastFetchedEpoch: -1},
			same(failed(kerr.UnknownTopicOrPartition)))},
		{"unknown topic id", 13, 17, simple(fetchArgs{replica: -1, topicID: [16]byte{99}, currentEpoch: -1, lastFetchedEpoch: -1},
			same(failed(kerr.UnknownTopicID)))},
		// FetchParams.fetchOnlyLeader: a consumer without client metadata
		// (below v11) must fetch from the leader, NOT_LEADER_OR_FOLLOWER
		// otherwise; from v11 (KIP-392) it may read a follower up to the
		// follower's HW, with no preferred read replica named.
		{"follower below v11", 0, 10, simple(consumerFetch(1, 0), same(failed(kerr.NotLeaderForPartition)))},
		{"follower from v11", 11, 17, simple(consumerFetch(1, 0), same(fetchWant{first: -1, last: -1,
			divergingEpoch: -1, leaderID: -1, leaderEpch: -1}))},
		// A follower's fetch of a partition this broker follows is
		// NOT_LEADER_OR_FOLLOWER at every version; from v16 (KIP-951,
		// KafkaApis.handleFetchRequest) with the current leader and its endpoint.
		{"replica fetch from a follower", 0, 17, func(t *testing.T, s *Server, v int16) {
			a := consumerFetch(1, 0)
			a.replica = 3
			resp, got := fetchVia(t, s, v, a)
			w := failed(kerr.NotLeaderForPartition)
			w.leaderID, w.leaderEpch = 2, 4
			checkFetch(t, v, got, w)
			checkFetchBrokers(t, v, resp, 2)
		}},
		// Partition.fetchRecords (KIP-320, v9+): a current leader epoch
		// older than ours is FENCED_LEADER_EPOCH (with the current leader
		// from v16), newer UNKNOWN_LEADER_EPOCH; the same reads.
		{"fenced leader epoch", 9, 17, func(t *testing.T, s *Server, v int16) {
			a := consumerFetch(0, 3)
			a.currentEpoch = 2
			resp, got := fetchVia(t, s, v, a)
			w := failed(kerr.FencedLeaderEpoch)
			w.leaderID, w.leaderEpch = 1, 3
			checkFetch(t, v, got, w)
			checkFetchBrokers(t, v, resp, 1)
		}},
		{"unknown leader epoch", 9, 17, func(t *testing.T, s *Server, v int16) {
			a := consumerFetch(0, 3)
			a.currentEpoch = 4
			_, got := fetchVia(t, s, v, a)
			checkFetch(t, v, got, failed(kerr.UnknownLeaderEpoch))
		}},
		{"current leader epoch", 9, 17, func(t *testing.T, s *Server, v int16) {
			a := consumerFetch(0, 3)
			a.currentEpoch = 3
			_, got := fetchVia(t, s, v, a)
			checkFetch(t, v, got, data(3, 4))
		}},
		// Partition.readRecords (v12+): the end of the last fetched epoch
		// (lastOffsetForLeaderEpoch) below the fetch offset, or a smaller
		// epoch found, is a diverging epoch: no records, the HW and log
		// start as usual.
		{"diverging epoch", 12, 17, func(t *testing.T, s *Server, v int16) {
			for _, c := range []struct {
				lastFetched int32
				offset      int64
				epoch       int32
				end         int64
			}{
				{lastFetched: 1, offset: 4, epoch: 1, end: 3},
				{lastFetched: 2, offset: 3, epoch: 1, end: 3},
				{lastFetched: 1, offset: 3, epoch: -1},
				{lastFetched: 3, offset: 5, epoch: -1},
			} {
				a := consumerFetch(0, c.offset)
				a.lastFetchedEpoch = c.lastFetched
				_, got := fetchVia(t, s, v, a)
				w := data(-1, -1)
				if c.epoch < 0 && c.offset < 5 {
					w = data(c.offset, 4)
				}
				w.divergingEpoch, w.divergingEnd = c.epoch, c.end
				checkFetch(t, v, got, w)
			}
		}},
		// A follower's fetch reads up to the LEO, past the HW, and moves
		// the HW with the follower's fetch offset
		// (Partition.updateFollowerFetchState, maybeIncrementLeaderHW);
		// from v15 the replica id is in ReplicaState (KIP-903).
		{"replica fetch", 0, 17, func(t *testing.T, s *Server, v int16) {
			consumer := fetchArgs{replica: -1, topic: "followed", topicID: topicIDFollowed, currentEpoch: -1, lastFetchedEpoch: -1}
			_, got := fetchVia(t, s, v, consumer)
			w := fetchWant{hw: 0, lso: 0, logStart: 0, first: -1, last: -1, divergingEpoch: -1, leaderID: -1, leaderEpch: -1}
			checkFetch(t, v, got, w)

			follower := consumer
			follower.replica = 2
			_, got = fetchVia(t, s, v, follower)
			w.first, w.last = 0, 1
			checkFetch(t, v, got, w)

			follower.offset = 2
			_, atEnd := fetchVia(t, s, v, follower)
			_, got = fetchVia(t, s, v, consumer)
			w.hw, w.lso = 2, 2
			checkFetch(t, v, got, w)

			// Partition.fetchRecords: the follower's answer carries the
			// HW read before its fetch state moved it (readRecords'
			// initialHighWatermark, then updateFollowerFetchState).
			wantAtEnd := fetchWant{hw: 0, lso: 0, logStart: 0, first: -1, last: -1, divergingEpoch: -1, leaderID: -1, leaderEpch: -1}
			if atEnd.ErrorCode == 0 && atEnd.HighWatermark == 2 {
				t.Skip("divergence: a follower's fetch is answered with the HW its own fetch offset just moved (2); Kafka 3.9 answers " +
					"the HW from before (0): Partition.fetchRecords reads (readRecords' initialHighWatermark) before updateFollowerFetchState")
			}
			checkFetch(t, v, atEnd, wantAtEnd)
		}},
	}
	for v := int16(0); v <= 17; v++ {
		for _, r := range rows {
			if v < r.minV || v > r.maxV {
				continue
			}
			t.Run(fmt.Sprintf("v%d/%s", v, r.name), func(t *testing.T) {
				r.run(t, newFetchTestServer(t), v)
			})
		}
	}
}

// checkFetchBrokers checks a v16+ response lists exactly broker id's
// endpoint (127.0.0.1:id), and older ones list none.
func checkFetchBrokers(t *testing.T, v int16, resp *kmsg.FetchResponse, id int32) {
	t.Helper()
	if v < 16 {
		if len(resp.Brokers) != 0 {
			t.Errorf("brokers %+v below v16", resp.Brokers)
		}
		return
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != id || resp.Brokers[0].Host != "127.0.0.1" || resp.Brokers[0].Port != id {
		t.Errorf("brokers %+v, want node %d at 127.0.0.1:%d", resp.Brokers, id, id)
	}
}
