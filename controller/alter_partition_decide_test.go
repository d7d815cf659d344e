package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The checks of Kafka's tryProcessAlterPartition for t-0, replicas
// [1, 2, 3], led by 1 at leader epoch 4 and partition epoch 10, ISR [1, 2].
func TestDecideAlterPartition(t *testing.T) {
	cases := []struct {
		name           string
		partition      int32
		sender         int32
		leaderEpoch    int32
		partitionEpoch int32
		recovery       int8
		isr            []int32
		version        int16
		setup          func(s *clusterState)
		wantCode       int16
		wantReload     bool
		wantWrite      bool
	}{
		{"expand the ISR", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2, nil, 0, false, true},
		{"shrink the ISR", 0, 1, 4, 10, 0, []int32{1}, 2, nil, 0, false, true},
		{"unknown partition", 5, 1, 4, 10, 0, []int32{1}, 2, nil, kerr.UnknownTopicOrPartition.Code, false, false},
		{"topic queued for deletion still answered", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2,
			func(s *clusterState) { s.deleting["t"] = true }, 0, false, true},
		{"newer leader epoch than ours: stale controller", 0, 1, 5, 10, 0, []int32{1, 2, 3}, 2, nil, kerr.NotController.Code, true, false},
		{"newer partition epoch than ours: stale controller", 0, 1, 4, 11, 0, []int32{1, 2, 3}, 2, nil, kerr.NotController.Code, true, false},
		{"older leader epoch", 0, 1, 3, 10, 0, []int32{1, 2, 3}, 2, nil, kerr.FencedLeaderEpoch.Code, false, false},
		{"not sent by the leader", 0, 2, 4, 10, 0, []int32{1, 2, 3}, 2, nil, kerr.FencedLeaderEpoch.Code, false, false},
		{"already in the proposed state, whatever the order", 0, 1, 4, 9, 0, []int32{2, 1}, 2, nil, 0, false, false},
		{"older partition epoch", 0, 1, 4, 9, 0, []int32{1, 2, 3}, 2, nil, kerr.InvalidUpdateVersion.Code, false, false},
		{"empty ISR", 0, 1, 4, 10, 0, nil, 2, nil, kerr.InvalidRequest.Code, false, false},
		{"back to RECOVERING", 0, 1, 4, 10, leaderRecovering, []int32{1}, 2, nil, kerr.InvalidRequest.Code, false, false},
		{"RECOVERING with followers in the ISR", 0, 1, 4, 10, leaderRecovering, []int32{1, 2, 3}, 2,
			func(s *clusterState) {
				st := s.partitions[topicPartition{"t", 0}]
				st.LeaderRecoveryState = leaderRecovering
				s.partitions[topicPartition{"t", 0}] = st
			}, kerr.InvalidRequest.Code, false, false},
		{"RECOVERED", 0, 1, 4, 10, 0, []int32{1, 2}, 2,
			func(s *clusterState) {
				st := s.partitions[topicPartition{"t", 0}]
				st.LeaderRecoveryState = leaderRecovering
				s.partitions[topicPartition{"t", 0}] = st
			}, 0, false, true},
		{"a member is not a replica", 0, 1, 4, 10, 0, []int32{1, 2, 4}, 2, nil, kerr.IneligibleReplica.Code, false, false},
		{"a member is down", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2,
			func(s *clusterState) { delete(s.liveBrokers, 3) }, kerr.IneligibleReplica.Code, false, false},
		{"a member is shutting down", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2,
			func(s *clusterState) { s.shuttingDown[3] = true }, kerr.IneligibleReplica.Code, false, false},
		{"adding a replica on a failed log dir", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2,
			func(s *clusterState) { s.offlineReplicas[3] = map[topicPartition]bool{{"t", 0}: true} }, kerr.IneligibleReplica.Code, false, false},
		{"keeping a member on a failed log dir (Kafka's rule: only a live broker)", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 2,
			func(s *clusterState) { s.offlineReplicas[2] = map[topicPartition]bool{{"t", 0}: true} }, 0, false, true},
		{"shrinking with a member on a failed log dir", 0, 1, 4, 10, 0, []int32{1}, 2,
			func(s *clusterState) { s.offlineReplicas[2] = map[topicPartition]bool{{"t", 0}: true} }, 0, false, true},
		{"an ineligible member before v2", 0, 1, 4, 10, 0, []int32{1, 2, 3}, 1,
			func(s *clusterState) { s.shuttingDown[3] = true }, kerr.OperationNotAttempted.Code, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := zkmeta.LeaderAndIsr{Leader: 1, LeaderEpoch: 4, ISR: []int32{1, 2}, ControllerEpoch: 3, ZkVersion: 10}
			s := oneTopicState([]int32{1, 2, 3, 4}, []int32{1, 2, 3}, &cur)
			if c.setup != nil {
				c.setup(s)
			}
			p := kmsg.NewAlterPartitionRequestTopicPartition()
			p.Partition, p.LeaderEpoch, p.PartitionEpoch, p.LeaderRecoveryState = c.partition, c.leaderEpoch, c.partitionEpoch, c.recovery
			v := decideAlterPartition(s, topicPartition{"t", c.partition}, p, c.isr, c.version, c.sender, 7)
			if v.code != c.wantCode || v.reload != c.wantReload || v.write != c.wantWrite {
				t.Fatalf("got %+v, want code %d reload %v write %v", v, c.wantCode, c.wantReload, c.wantWrite)
			}
			if v.write && (!slices.Equal(v.next.ISR, c.isr) || v.next.LeaderRecoveryState != c.recovery || v.next.ControllerEpoch != 7 ||
				v.next.LeaderEpoch != 4 || v.next.Leader != 1 || v.next.ZkVersion != 10) {
				t.Fatalf("next = %+v: want ISR %v, recovery %d, controller epoch 7, leader and leader epoch unchanged", v.next, c.isr, c.recovery)
			}
		})
	}
}
