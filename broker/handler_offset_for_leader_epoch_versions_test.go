package broker

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newEpochsTestServer is broker 1 with t-0 led by 1, written by Produce:
// offsets 0-2 in leader epoch 1, 3-4 in epoch 3 (LEO 5); t-1 followed
// (leader 2, epoch 4); t-2 known but not hosted (replicas 2 and 3).
func newEpochsTestServer(t *testing.T) *Server {
	t.Helper()
	s := newTestServer(t, withTopic("t", topicIDT, nil,
		testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1}, replicas: []int32{1}},
		testPartitionState{leader: 2, leaderEpoch: 4, isr: []int32{2, 1}, replicas: []int32{2, 1}},
		testPartitionState{leader: 2, leaderEpoch: 2, isr: []int32{2, 3}, replicas: []int32{2, 3}}))
	if _, got := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, testBatch(3))); got.ErrorCode != 0 {
		t.Fatalf("produce in epoch 1: %v", kerr.ErrorForCode(got.ErrorCode))
	}
	changePartitionState(t, s, "t", topicIDT, 0, testPartitionState{leader: 1, leaderEpoch: 3, isr: []int32{1}, replicas: []int32{1}})
	if _, got := produceVia(t, s, produceReq(9, 1, 1000, "t", 0, testBatch(2))); got.ErrorCode != 0 || got.BaseOffset != 3 {
		t.Fatalf("produce in epoch 3: %v base %d", kerr.ErrorForCode(got.ErrorCode), got.BaseOffset)
	}
	return s
}

// OffsetForLeaderEpoch at every version (0-4) through dispatch, decoded from
// the response bytes. ReplicaManager.lastOffsetForLeaderEpoch: a partition
// not hosted is NOT_LEADER_OR_FOLLOWER if the metadata cache knows it,
// else UNKNOWN_TOPIC_OR_PARTITION; Partition.lastOffsetForLeaderEpoch with
// fetchOnlyFromLeader (any replica id): the current leader epoch (v2+,
// KIP-320) fenced like Fetch, then leadership, then
// LeaderEpochFileCache.endOffsetFor: the LEO for the latest epoch, else
// the start of the next higher epoch with the largest epoch not above the
// asked one (the asked one itself if none is below it), -1/-1 for an epoch
// above the latest or undefined. The leader epoch is on the wire from v1
// (KIP-279); errors carry -1/-1.
func TestOffsetForLeaderEpochVersionsViaDispatch(t *testing.T) {
	s := newEpochsTestServer(t)
	type query struct {
		partition, current, epoch int32
		minV                      int16 // the first version the row applies to
		err                       *kerr.Error
		wantEpoch                 int32
		wantEnd                   int64
	}
	queries := []query{
		{partition: 0, current: -1, epoch: 3, wantEpoch: 3, wantEnd: 5},
		{partition: 0, current: -1, epoch: 1, wantEpoch: 1, wantEnd: 3},
		{partition: 0, current: -1, epoch: 2, wantEpoch: 1, wantEnd: 3},
		{partition: 0, current: -1, epoch: 0, wantEpoch: 0, wantEnd: 0},
		{partition: 0, current: -1, epoch: 4, wantEpoch: -1, wantEnd: -1},
		{partition: 0, current: -1, epoch: -1, wantEpoch: -1, wantEnd: -1},
		{partition: 0, current: 3, epoch: 1, minV: 2, wantEpoch: 1, wantEnd: 3},
		{partition: 0, current: 2, epoch: 1, minV: 2, err: kerr.FencedLeaderEpoch, wantEpoch: -1, wantEnd: -1},
		{partition: 0, current: 4, epoch: 1, minV: 2, err: kerr.UnknownLeaderEpoch, wantEpoch: -1, wantEnd: -1},
		{partition: 1, current: -1, epoch: 4, err: kerr.NotLeaderForPartition, wantEpoch: -1, wantEnd: -1},
		{partition: 2, current: -1, epoch: 2, err: kerr.NotLeaderForPartition, wantEpoch: -1, wantEnd: -1},
		{partition: 9, current: -1, epoch: 1, err: kerr.UnknownTopicOrPartition, wantEpoch: -1, wantEnd: -1},
	}
	for v := int16(0); v <= 4; v++ {
		// v3+ (KIP-392) names the replica: a consumer (-1), a follower or
		// the debug id (-2) get the same answers.
		replicas := []int32{-1}
		if v >= 3 {
			replicas = []int32{-1, 2, -2}
		}
		for _, replica := range replicas {
			t.Run(fmt.Sprintf("v%d/replica %d", v, replica), func(t *testing.T) {
				// One request with every query, as a follower sends all its partitions.
				req := kmsg.NewPtrOffsetForLeaderEpochRequest()
				req.Version, req.ReplicaID = v, replica
				rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
				rt.Topic = "t"
				var asked []query
				for _, q := range queries {
					if v < q.minV {
						continue
					}
					rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
					rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = q.partition, q.current, q.epoch
					rt.Partitions = append(rt.Partitions, rp)
					asked = append(asked, q)
				}
				req.Topics = append(req.Topics, rt)
				resp := dispatchRequest(t, s, req).(*kmsg.OffsetForLeaderEpochResponse)
				if len(resp.Topics) != 1 || resp.Topics[0].Topic != "t" || len(resp.Topics[0].Partitions) != len(asked) {
					t.Fatalf("response %+v, want t with %d partitions", resp, len(asked))
				}
				for i, q := range asked {
					got := resp.Topics[0].Partitions[i]
					wantEpoch := q.wantEpoch
					if v == 0 {
						wantEpoch = -1 // not on the wire
					}
					if got.Partition != q.partition || got.ErrorCode != errCode(q.err) || got.LeaderEpoch != wantEpoch || got.EndOffset != q.wantEnd {
						t.Errorf("partition %d current %d epoch %d: %d %v epoch %d end %d, want %v epoch %d end %d",
							q.partition, q.current, q.epoch, got.Partition, kerr.ErrorForCode(got.ErrorCode), got.LeaderEpoch, got.EndOffset,
							q.err, wantEpoch, q.wantEnd)
					}
				}
			})
		}
	}
}
