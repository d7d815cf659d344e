package broker

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch at every version as ReplicaManager.lastOffsetForLeaderEpoch
// and Partition.lastOffsetForLeaderEpoch answer it on the leader: the end
// offset of the asked epoch (the LEO for the current one), the leader epoch
// on the wire from v1 (-1 when decoded at v0), current_leader_epoch checked
// from v2 (older FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH, -1 not
// checked), replica_id (v3+) not changing the answer; errors carry -1/-1.
func TestOffsetForLeaderEpochVersions(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 3, []int32{1}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	p, err := s.replicas.leaderPartition("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.appendRecords(testBatch(4), 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		version      int16
		replicaID    int32
		current      int32
		epoch        int32
		wantErr      *kerr.Error
		wantEpoch    int32
		wantEndOffst int64
	}{
		{version: 0, current: -1, epoch: 3, wantEpoch: -1, wantEndOffst: 4},
		{version: 1, current: -1, epoch: 3, wantEpoch: 3, wantEndOffst: 4},
		{version: 2, current: 3, epoch: 3, wantEpoch: 3, wantEndOffst: 4},
		{version: 2, current: 2, epoch: 3, wantErr: kerr.FencedLeaderEpoch, wantEpoch: -1, wantEndOffst: -1},
		{version: 3, replicaID: 2, current: 4, epoch: 3, wantErr: kerr.UnknownLeaderEpoch, wantEpoch: -1, wantEndOffst: -1},
		{version: 3, replicaID: -1, current: -1, epoch: 1, wantEpoch: 1, wantEndOffst: 0},
		{version: 4, replicaID: -2, current: 3, epoch: 5, wantEpoch: -1, wantEndOffst: -1},
		{version: 4, replicaID: -1, current: -1, epoch: -1, wantEpoch: -1, wantEndOffst: -1},
	} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.Version, req.ReplicaID = tc.version, tc.replicaID
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, tc.current, tc.epoch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleOffsetForLeaderEpoch(r.(*kmsg.OffsetForLeaderEpochRequest))
		}).(*kmsg.OffsetForLeaderEpochResponse)
		got := resp.Topics[0].Partitions[0]
		if got.ErrorCode != errCode(tc.wantErr) || got.LeaderEpoch != tc.wantEpoch || got.EndOffset != tc.wantEndOffst {
			t.Errorf("v%d current %d epoch %d: %v epoch %d end %d, want %v epoch %d end %d", tc.version, tc.current, tc.epoch,
				kerr.ErrorForCode(got.ErrorCode), got.LeaderEpoch, got.EndOffset, tc.wantErr, tc.wantEpoch, tc.wantEndOffst)
		}
	}
}
