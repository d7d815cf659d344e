package controller

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// oneTopicState is a cluster state with live brokers and one topic "t" of
// one partition; st nil leaves the partition without leadership info.
func oneTopicState(live []int32, replicas []int32, st *zkmeta.LeaderAndIsr) *clusterState {
	s := newClusterState()
	for _, id := range live {
		s.liveBrokers[id] = zkmeta.BrokerInfo{ID: id, Epoch: int64(100 + id)}
	}
	s.topics["t"] = zkmeta.TopicAssignment{Topic: "t", Partitions: map[int32][]int32{0: replicas}}
	if st != nil {
		s.partitions[topicPartition{"t", 0}] = *st
	}
	return s
}

// The cases of Kafka's doControlledShutdown, one partition each: which
// partitions move and how, and which remain in the reply
// (partitionLeadersOnBroker).
func TestControlledShutdownMoves(t *testing.T) {
	type move int
	const (
		none move = iota
		lead
		follow
	)
	st := func(leader int32, isr ...int32) *zkmeta.LeaderAndIsr {
		return &zkmeta.LeaderAndIsr{Leader: leader, LeaderEpoch: 4, ISR: isr}
	}
	cases := []struct {
		name         string
		broker       int32 // the broker shutting down
		live         []int32
		alsoShutting []int32
		replicas     []int32
		st           *zkmeta.LeaderAndIsr
		deleting     bool
		wantMove     move
		wantNext     *zkmeta.LeaderAndIsr // nil: the state does not change
		wantRemain   bool
	}{
		{"leader: the next in-sync replica in assignment order leads; the broker leaves the ISR",
			1, []int32{1, 2, 3}, nil, []int32{1, 2, 3}, st(1, 1, 3, 2), false, lead, st(2, 3, 2), false},
		{"leader: other brokers shutting down neither lead nor stay in the ISR",
			1, []int32{1, 2, 3}, []int32{2}, []int32{1, 2, 3}, st(1, 1, 2, 3), false, lead, st(3, 3), false},
		{"leader: an out-of-sync replica never leads",
			1, []int32{1, 2}, nil, []int32{1, 2}, st(1, 1), false, lead, nil, true},
		{"leader: a dead in-sync replica never leads",
			1, []int32{1}, nil, []int32{1, 2}, st(1, 1, 2), false, lead, nil, true},
		{"follower: leaves the ISR",
			1, []int32{1, 2}, nil, []int32{2, 1}, st(2, 2, 1), false, follow, st(2, 2), false},
		{"follower out of the ISR: StopReplica only",
			1, []int32{1, 2}, nil, []int32{2, 1}, st(2, 2), false, follow, nil, false},
		{"follower, last ISR member of a leaderless partition: the ISR is never emptied",
			1, []int32{1}, nil, []int32{2, 1}, st(noLeader, 1), false, follow, nil, false},
		{"one replica: left as is, not remaining",
			1, []int32{1}, nil, []int32{1}, st(1, 1), false, none, nil, false},
		{"topic being deleted: left as is, not remaining",
			1, []int32{1, 2}, nil, []int32{1, 2}, st(1, 1, 2), true, none, nil, false},
		{"no leadership info: left as is",
			0, []int32{0, 2}, nil, []int32{0, 2}, nil, false, none, nil, false},
		{"not a replica of the partition",
			1, []int32{1, 2, 3}, nil, []int32{2, 3}, st(2, 2, 3), false, none, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := oneTopicState(c.live, c.replicas, c.st)
			if c.deleting {
				s.deleting["t"] = true
			}
			s.shuttingDown[c.broker] = true
			for _, id := range c.alsoShutting {
				s.shuttingDown[id] = true
			}
			tp := topicPartition{"t", 0}
			led, followed := controlledShutdownMoves(s, c.broker)
			got := none
			switch {
			case len(led) == 1 && len(followed) == 0 && led[0] == tp:
				got = lead
			case len(led) == 0 && len(followed) == 1 && followed[0] == tp:
				got = follow
			case len(led) != 0 || len(followed) != 0:
				t.Fatalf("led %v followed %v", led, followed)
			}
			if got != c.wantMove {
				t.Fatalf("move = %v, want %v", got, c.wantMove)
			}
			var next zkmeta.LeaderAndIsr
			changed := false
			switch got {
			case lead:
				next, changed = controlledShutdownLeaderMove(s, tp, s.partitions[tp], 7)
			case follow:
				next, changed = removeFromISR(s.partitions[tp], []int32{c.broker}, 7)
			}
			if changed != (c.wantNext != nil) {
				t.Fatalf("changed = %v (%+v), want %+v", changed, next, c.wantNext)
			}
			if changed {
				if next.Leader != c.wantNext.Leader || !slices.Equal(next.ISR, c.wantNext.ISR) || next.LeaderEpoch != 5 || next.ControllerEpoch != 7 {
					t.Fatalf("next = %+v, want leader %d ISR %v epoch 5", next, c.wantNext.Leader, c.wantNext.ISR)
				}
				s.partitions[tp] = next
			}
			remaining := partitionLeadersOnBroker(s, c.broker)
			if len(remaining) > 0 != c.wantRemain {
				t.Fatalf("remaining = %v, want remaining %v", remaining, c.wantRemain)
			}
		})
	}
}

func TestControlledShutdownError(t *testing.T) {
	s := oneTopicState([]int32{1}, []int32{1}, nil) // broker 1 registered with epoch 101
	cases := []struct {
		name    string
		id      int32
		version int16
		epoch   int64
		want    int16
	}{
		{"unknown broker, unknown epoch", 2, 3, -1, kerr.BrokerNotAvailable.Code},
		{"unknown broker, v1", 2, 1, 0, kerr.BrokerNotAvailable.Code},
		// KafkaController: liveBrokerIdAndEpochs(id) throws for an unknown id.
		{"unknown broker, known epoch", 2, 3, 0, kerr.UnknownServerError.Code},
		{"current epoch", 1, 3, 101, 0},
		{"newer epoch", 1, 3, 102, 0},
		{"older epoch (KIP-380)", 1, 2, 100, kerr.StaleBrokerEpoch.Code},
		{"unknown epoch", 1, 3, -1, 0},
		{"v1 has no broker epoch", 1, 1, 100, 0},
	}
	for _, c := range cases {
		if got := controlledShutdownError(s, c.id, c.version, c.epoch); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
