package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The cases of Kafka's processReplicaLeaderElection for one partition of
// "t" with replicas [1, 2, 3].
func TestElectionFor(t *testing.T) {
	st := func(leader int32, isr ...int32) *zkmeta.LeaderAndIsr {
		return &zkmeta.LeaderAndIsr{Leader: leader, LeaderEpoch: 4, ISR: isr}
	}
	const unknownType int8 = 2
	cases := []struct {
		name       string
		kind       int8
		partition  int32 // 0 exists
		live       []int32
		st         *zkmeta.LeaderAndIsr
		setup      func(s *clusterState)
		wantCode   int16
		wantLeader int32
		wantISR    []int32
		wantRecov  int8
	}{
		{"unknown partition", electionPreferred, 9, []int32{1, 2, 3}, st(2, 2, 1), nil, kerr.UnknownTopicOrPartition.Code, 0, nil, 0},
		{"no leadership info", electionPreferred, 0, []int32{1, 2, 3}, nil, nil, kerr.UnknownTopicOrPartition.Code, 0, nil, 0},
		{"topic being deleted", electionPreferred, 0, []int32{1, 2, 3}, st(2, 2, 1),
			func(s *clusterState) { s.deleting["t"] = true }, kerr.InvalidTopicException.Code, 0, nil, 0},
		{"unknown election type", unknownType, 0, []int32{1, 2, 3}, st(2, 2, 1), nil, kerr.InvalidRequest.Code, 0, nil, 0},

		{"preferred: already led by the preferred replica", electionPreferred, 0, []int32{1, 2, 3}, st(1, 1, 2), nil, kerr.ElectionNotNeeded.Code, 0, nil, 0},
		{"preferred: moves to the preferred replica, ISR unchanged", electionPreferred, 0, []int32{1, 2, 3}, st(2, 2, 3, 1), nil, 0, 1, []int32{2, 3, 1}, 0},
		{"preferred: preferred replica out of the ISR", electionPreferred, 0, []int32{1, 2, 3}, st(2, 2, 3), nil, kerr.PreferredLeaderNotAvailable.Code, 0, nil, 0},
		{"preferred: preferred replica down", electionPreferred, 0, []int32{2, 3}, st(2, 2, 3, 1), nil, kerr.PreferredLeaderNotAvailable.Code, 0, nil, 0},
		{"preferred: preferred replica shutting down", electionPreferred, 0, []int32{1, 2, 3}, st(2, 2, 3, 1),
			func(s *clusterState) { s.shuttingDown[1] = true }, kerr.PreferredLeaderNotAvailable.Code, 0, nil, 0},
		{"preferred: preferred replica's log directory offline", electionPreferred, 0, []int32{1, 2, 3}, st(2, 2, 3, 1),
			func(s *clusterState) { s.offlineReplicas[1] = map[topicPartition]bool{{"t", 0}: true} }, kerr.PreferredLeaderNotAvailable.Code, 0, nil, 0},

		{"unclean: leader live", electionUnclean, 0, []int32{1, 2, 3}, st(2, 2), nil, kerr.ElectionNotNeeded.Code, 0, nil, 0},
		{"unclean: a live in-sync replica is still preferred", electionUnclean, 0, []int32{2, 3}, st(1, 1, 3), nil, 0, 3, []int32{3}, 0},
		{"unclean: no leader, first live replica leads, RECOVERING", electionUnclean, 0, []int32{2, 3}, st(noLeader, 1), nil, 0, 2, []int32{2}, leaderRecovering},
		{"unclean: nothing live", electionUnclean, 0, nil, st(noLeader, 1), nil, kerr.EligibleLeadersNotAvailable.Code, 0, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := oneTopicState(c.live, []int32{1, 2, 3}, c.st)
			if c.setup != nil {
				c.setup(s)
			}
			next, out, elect := electionFor(s, topicPartition{"t", c.partition}, c.kind, 7)
			if out.code != c.wantCode || elect != (c.wantCode == 0) {
				t.Fatalf("code %d elect %v (%v), want code %d", out.code, elect, out.msg, c.wantCode)
			}
			if c.wantCode != 0 && out.msg == nil {
				t.Fatalf("code %d without a message", out.code)
			}
			if elect && (next.Leader != c.wantLeader || !slices.Equal(next.ISR, c.wantISR) || next.LeaderEpoch != 5 ||
				next.ControllerEpoch != 7 || next.LeaderRecoveryState != c.wantRecov) {
				t.Fatalf("next = %+v, want leader %d ISR %v recovery %d", next, c.wantLeader, c.wantISR, c.wantRecov)
			}
		})
	}
}

// The cases of Kafka's checkAndTriggerAutoLeaderRebalance with
// leader.imbalance.per.broker.percentage 10, unless a row says otherwise.
func TestAutoRebalanceElections(t *testing.T) {
	type part struct {
		replicas []int32
		st       *zkmeta.LeaderAndIsr // nil: no leadership info
	}
	st := func(leader int32, isr ...int32) *zkmeta.LeaderAndIsr {
		return &zkmeta.LeaderAndIsr{Leader: leader, ISR: isr}
	}
	cases := []struct {
		name  string
		pct   int
		live  []int32
		parts map[int32]part // partitions of "t"
		setup func(s *clusterState)
		want  []rebalanceElection
	}{
		{"balanced", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(1, 1, 2)},
			1: {[]int32{2, 1}, st(2, 2, 1)},
		}, nil, nil},
		{"a broker leads none of the partitions preferring it", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
			1: {[]int32{1, 2}, st(2, 2, 1)},
			2: {[]int32{2, 1}, st(2, 2, 1)},
		}, nil, []rebalanceElection{{1, []topicPartition{{"t", 0}, {"t", 1}}}}},
		{"only where the preferred replica is in the ISR", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
			1: {[]int32{1, 2}, st(2, 2)},
		}, nil, []rebalanceElection{{1, []topicPartition{{"t", 0}}}}},
		{"the share must be above the percentage", 50, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
			1: {[]int32{1, 2}, st(1, 1, 2)},
		}, nil, nil},
		{"above the percentage", 49, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
			1: {[]int32{1, 2}, st(1, 1, 2)},
		}, nil, []rebalanceElection{{1, []topicPartition{{"t", 0}}}}},
		{"a partition without a state counts in the denominator only", 50, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
			1: {[]int32{1, 2}, nil},
		}, nil, nil},
		{"preferred replica down", 10, []int32{2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
		}, nil, nil},
		{"preferred replica shutting down", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
		}, func(s *clusterState) { s.shuttingDown[1] = true }, nil},
		{"preferred replica's log directory offline", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
		}, func(s *clusterState) { s.offlineReplicas[1] = map[topicPartition]bool{{"t", 0}: true} }, nil},
		{"topics being deleted are left out", 10, []int32{1, 2}, map[int32]part{
			0: {[]int32{1, 2}, st(2, 2, 1)},
		}, func(s *clusterState) { s.deleting["t"] = true }, nil},
		// A reassigning partition's preferred replica is the head of its
		// full replica set (target first).
		{"reassigning partition: the head of RS", 10, []int32{1, 2, 3}, map[int32]part{
			0: {[]int32{3, 1, 2}, st(1, 1, 2, 3)},
		}, func(s *clusterState) {
			a := s.topics["t"]
			a.AddingReplicas = map[int32][]int32{0: {3}}
			a.RemovingReplicas = map[int32][]int32{0: {2}}
			s.topics["t"] = a
		}, []rebalanceElection{{3, []topicPartition{{"t", 0}}}}},
		{"several brokers in id order", 10, []int32{1, 2, 3}, map[int32]part{
			0: {[]int32{3, 1}, st(1, 1, 3)},
			1: {[]int32{1, 3}, st(3, 3, 1)},
			2: {[]int32{2, 3}, st(2, 2, 3)},
		}, nil, []rebalanceElection{{1, []topicPartition{{"t", 1}}}, {3, []topicPartition{{"t", 0}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newClusterState()
			for _, id := range c.live {
				s.liveBrokers[id] = zkmeta.BrokerInfo{ID: id}
			}
			a := zkmeta.TopicAssignment{Topic: "t", Partitions: map[int32][]int32{}}
			for p, x := range c.parts {
				a.Partitions[p] = x.replicas
				if x.st != nil {
					s.partitions[topicPartition{"t", p}] = *x.st
				}
			}
			s.topics["t"] = a
			if c.setup != nil {
				c.setup(s)
			}
			got := autoRebalanceElections(s, c.pct)
			if !slices.EqualFunc(got, c.want, func(x, y rebalanceElection) bool {
				return x.broker == y.broker && slices.Equal(x.partitions, y.partitions)
			}) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
