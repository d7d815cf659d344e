package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets at every version (0-9) through dispatch, on a log written
// by Produce requests across two leader epochs and trimmed by
// DeleteRecords, which TestListOffsetsVersions (one epoch, log start 0,
// handler called directly) does not cover: t-0 holds offsets 0-2
// (timestamps 100, 200, 300) in epoch 1 and 3-4 (400, 150) in epoch 3,
// log start 1, HW = LSO = LEO = 5.
//
// KafkaApis.handleListOffsetRequestV0 / V1AndAbove and
// UnifiedLog.fetchOffsetByTimestamp: EARLIEST is the log start with the
// earliest cached epoch (whose start the DeleteRecords moved to 1);
// LATEST the HW (LSO for READ_COMMITTED, v2+, KIP-98) with the latest
// epoch; a timestamp the first record at or after it, with its batch's
// epoch; MAX_TIMESTAMP (v7, KIP-734) the record with the largest
// timestamp; no match is -1/-1/-1. Errors carry offset -1 and timestamp
// -1 (v1+) or no offsets (v0). The leader epoch is on the wire from v4
// (KIP-320). v0 (legacyFetchOffsetsBefore, max_num_offsets 10) answers by
// segment file times, all after these timestamps, so only EARLIEST and
// LATEST find offsets: the LEO and the one segment's base offset raised to
// the log start.
func TestListOffsetsVersionsViaDispatch(t *testing.T) {
	s := newTestServer(t, withTopic("t", topicIDT, nil,
		testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1}, replicas: []int32{1}},
		testPartitionState{leader: 2, leaderEpoch: 4, isr: []int32{2, 1}, replicas: []int32{2, 1}}))
	if _, got := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, tsBatch(100, 200, 300))); got.ErrorCode != 0 {
		t.Fatalf("produce in epoch 1: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	changePartitionState(t, s, "t", topicIDT, 0, testPartitionState{leader: 1, leaderEpoch: 3, isr: []int32{1}, replicas: []int32{1}})
	if _, got := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, tsBatch(400, 150))); got.ErrorCode != 0 || got.BaseOffset != 3 {
		t.Fatalf("produce in epoch 3: %v base %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	deleteRecordsVia(t, s, "t", 0, 1)

	type query struct {
		name      string
		partition int32
		ts        int64
		isolation int8
		minV      int16
		err       *kerr.Error
		offset    int64
		timestamp int64
		epoch     int32
		v0        []int64 // v0's old-style offsets
	}
	queries := []query{
		{name: "earliest", ts: -2, offset: 1, timestamp: -1, epoch: 1, v0: []int64{1}},
		{name: "latest", ts: -1, offset: 5, timestamp: -1, epoch: 3, v0: []int64{5, 1}},
		{name: "latest read committed", ts: -1, isolation: 1, minV: 2, offset: 5, timestamp: -1, epoch: 3},
		{name: "timestamp 150", ts: 150, offset: 1, timestamp: 200, epoch: 1, v0: []int64{}},
		{name: "timestamp 350", ts: 350, offset: 3, timestamp: 400, epoch: 3, v0: []int64{}},
		{name: "timestamp 500", ts: 500, offset: -1, timestamp: -1, epoch: -1, v0: []int64{}},
		{name: "max timestamp", ts: -3, minV: 7, offset: 3, timestamp: 400, epoch: 3},
		{name: "follower", partition: 1, ts: -1, err: kerr.NotLeaderForPartition, offset: -1, timestamp: -1, epoch: -1, v0: []int64{}},
		{name: "unknown partition", partition: 7, ts: -1, err: kerr.UnknownTopicOrPartition, offset: -1, timestamp: -1, epoch: -1, v0: []int64{}},
	}
	for v := int16(0); v <= 9; v++ {
		for _, q := range queries {
			if v < q.minV || (v == 0 && q.v0 == nil) {
				continue
			}
			t.Run(fmt.Sprintf("v%d/%s", v, q.name), func(t *testing.T) {
				req := kmsg.NewPtrListOffsetsRequest()
				req.Version, req.ReplicaID, req.IsolationLevel = v, -1, q.isolation
				rt := kmsg.NewListOffsetsRequestTopic()
				rt.Topic = "t"
				rt.Partitions = append(rt.Partitions, listOffsetsPart(q.partition, q.ts, 10, -1))
				req.Topics = append(req.Topics, rt)
				resp := dispatchRequest(t, s, req).(*kmsg.ListOffsetsResponse)
				if len(resp.Topics) != 1 || resp.Topics[0].Topic != "t" || len(resp.Topics[0].Partitions) != 1 {
					t.Fatalf("response %+v", resp)
				}
				got := resp.Topics[0].Partitions[0]
				if got.Partition != q.partition || got.ErrorCode != errCode(q.err) {
					t.Fatalf("partition %d %v, want %d %v", got.Partition, kerr.ErrorForCode(got.ErrorCode), q.partition, q.err)
				}
				if v == 0 {
					if !slices.Equal(got.OldStyleOffsets, q.v0) {
						t.Errorf("offsets %v, want %v", got.OldStyleOffsets, q.v0)
					}
					return
				}
				wantEpoch := q.epoch
				if v < 4 {
					wantEpoch = -1 // not on the wire
				}
				if got.Offset != q.offset || got.Timestamp != q.timestamp || got.LeaderEpoch != wantEpoch || len(got.OldStyleOffsets) != 0 {
					t.Errorf("offset %d timestamp %d epoch %d old-style %v, want %d %d %d none",
						got.Offset, got.Timestamp, got.LeaderEpoch, got.OldStyleOffsets, q.offset, q.timestamp, wantEpoch)
				}
			})
		}
	}
}
