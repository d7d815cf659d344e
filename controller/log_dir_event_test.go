package controller

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// logDirState is a cluster of brokers 1-3 (live as given) with topic t of
// three partitions on all of them, leader = first replica, full ISR, and a
// topic d being deleted.
func logDirState(live []int32, offline map[int32][]int32) *clusterState {
	s := newClusterState()
	for _, id := range live {
		s.liveBrokers[id] = zkmeta.BrokerInfo{ID: id}
	}
	s.topics["t"] = zkmeta.TopicAssignment{Partitions: map[int32][]int32{0: {1, 2, 3}, 1: {2, 3, 1}, 2: {3, 1, 2}}}
	s.topics["u"] = zkmeta.TopicAssignment{Partitions: map[int32][]int32{0: {2, 3}}}
	s.topics["d"] = zkmeta.TopicAssignment{Partitions: map[int32][]int32{0: {1, 2}}}
	s.deleting["d"] = true
	for _, tp := range s.allPartitions() {
		r := s.replicas(tp)
		s.partitions[tp] = zkmeta.LeaderAndIsr{Leader: r[0], LeaderEpoch: 5, ISR: slices.Clone(r)}
	}
	for id, ps := range offline {
		s.offlineReplicas[id] = map[topicPartition]bool{}
		for _, p := range ps {
			s.offlineReplicas[id][topicPartition{"t", p}] = true
		}
	}
	return s
}

// onBrokerLogDirFailure asks each live notified broker about all its
// replicas with a partition state, replicas already offline included
// (replicasOnBrokers -> OnlineReplica), topics being deleted left out.
func TestLogDirFailureTargets(t *testing.T) {
	t0, t1, t2, u0 := topicPartition{"t", 0}, topicPartition{"t", 1}, topicPartition{"t", 2}, topicPartition{"u", 0}
	for _, tc := range []struct {
		name    string
		live    []int32
		offline map[int32][]int32
		ids     []int32
		want    map[int32][]topicPartition
	}{
		{"one broker", []int32{1, 2, 3}, nil, []int32{1}, map[int32][]topicPartition{1: {t0, t1, t2}}},
		{"two notifications of one broker", []int32{1, 2, 3}, nil, []int32{2, 2}, map[int32][]topicPartition{2: {t0, t1, t2, u0}}},
		{"already offline asked again", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, []int32{1}, map[int32][]topicPartition{1: {t0, t1, t2}}},
		{"dead broker skipped", []int32{1, 2}, nil, []int32{3, 1}, map[int32][]topicPartition{1: {t0, t1, t2}}},
		{"two brokers", []int32{1, 2, 3}, nil, []int32{3, 1}, map[int32][]topicPartition{1: {t0, t1, t2}, 3: {t0, t1, t2, u0}}},
		{"unknown broker", []int32{1, 2, 3}, nil, []int32{7}, map[int32][]topicPartition{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := logDirFailureTargets(logDirState(tc.live, tc.offline), tc.ids)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// Once a broker answers KAFKA_STORAGE_ERROR for replicas in its failed dir,
// those replicas are offline (replicasOnOfflineDirs): a partition they led
// elects the first other live in-sync replica, a partition they followed
// keeps its leader with the replica out of its ISR, the other partitions
// stay as they are (OfflineReplica transition, then OnlinePartition with
// OfflinePartitionLeaderElectionStrategy).
func TestLogDirFailureDecision(t *testing.T) {
	for _, tc := range []struct {
		name    string
		live    []int32
		offline map[int32][]int32
		tp      topicPartition
		isr     []int32 // the partition's ISR before, if not all replicas
		want    string  // leader and ISR after, or "unchanged"
	}{
		{"offline leader moves", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, topicPartition{"t", 0}, nil, "leader 2 isr [2 3]"},
		{"offline leader, next replica out of the ISR", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, topicPartition{"t", 0}, []int32{1, 3}, "leader 3 isr [3]"},
		{"offline follower leaves the ISR", []int32{1, 2, 3}, map[int32][]int32{1: {1}}, topicPartition{"t", 1}, nil, "leader 2 isr [2 3]"},
		{"replica in the healthy dir untouched", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, topicPartition{"t", 2}, nil, "unchanged"},
		{"another broker's replica untouched", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, topicPartition{"u", 0}, nil, "unchanged"},
		{"offline with another broker dead", []int32{1, 3}, map[int32][]int32{1: {0}}, topicPartition{"t", 0}, []int32{1, 3}, "leader 3 isr [3]"},
		// OfflinePartition: no leader; the last ISR member stays (removeReplicasFromIsr keeps a one-member ISR).
		{"no online in-sync replica left", []int32{1, 2, 3}, map[int32][]int32{1: {0}}, topicPartition{"t", 0}, []int32{1}, "leader -1 isr [1]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := logDirState(tc.live, tc.offline)
			if tc.isr != nil {
				st := s.partitions[tc.tp]
				st.ISR = tc.isr
				s.partitions[tc.tp] = st
			}
			next, ok, unclean := onlinePartitionState(s, tc.tp, s.partitions[tc.tp], func() bool { return false }, 7)
			got := "unchanged"
			if ok {
				got = fmt.Sprintf("leader %d isr %v", next.Leader, next.ISR)
				if next.LeaderEpoch != 6 {
					t.Errorf("leader epoch %d, want 6", next.LeaderEpoch)
				}
			}
			if got != tc.want || unclean {
				t.Fatalf("got %s (unclean %v), want %s", got, unclean, tc.want)
			}
		})
	}
}

// The log dir failure end to end at the controller: broker 1 writes a
// notification; the controller asks broker 1 about all its replicas, broker
// 1 answers KAFKA_STORAGE_ERROR for t-0 (its failed dir) and
// STALE_CONTROLLER_EPOCH for the others (same leader epoch, as Kafka's
// brokers answer); t-0 gets leader 2, UpdateMetadata lists replica 1 of t-0
// offline, the notification is deleted. A bounced broker 1 is online again.
func TestLogDirEventNotificationMovesLeaders(t *testing.T) {
	tc := newTestCluster(t, 1, 2, 3)
	tc.createTopic("t", map[int32][]int32{0: {1, 2, 3}, 1: {1, 2, 3}})
	// A notification from before the failover is deleted unread.
	if _, err := tc.zk.PropagateLogDirEvent(3); err != nil {
		t.Fatal(err)
	}
	tc.start(Config{BrokerID: 100})
	tc.waitFor("leaders", func() bool {
		st0, ok0, _ := tc.zk.PartitionState("t", 0)
		st1, ok1, _ := tc.zk.PartitionState("t", 1)
		return ok0 && ok1 && st0.Leader == 1 && st1.Leader == 1
	})
	tc.waitFor("old notification deleted", func() bool {
		names, err := tc.zk.Children(zkmeta.LogDirEventPath)
		return err == nil && len(names) == 0
	})
	b1 := tc.brokers[1]
	before := len(b1.received(kmsg.LeaderAndISR.Int16()))
	if got := len(tc.brokers[3].received(kmsg.LeaderAndISR.Int16())); got != 1 {
		t.Fatalf("broker 3 got %d LeaderAndIsr, want the failover's only", got)
	}
	b1.setAnswer(func(req kmsg.Request) kmsg.Response {
		r, ok := req.(*kmsg.LeaderAndISRRequest)
		if !ok {
			return fakeAnswer(req, 0)
		}
		resp := r.ResponseKind().(*kmsg.LeaderAndISRResponse)
		for _, ts := range r.TopicStates {
			rt := kmsg.LeaderAndISRResponseTopic{TopicID: ts.TopicID}
			for _, p := range ts.PartitionStates {
				code := kerr.StaleControllerEpoch.Code
				if p.Partition == 0 {
					code = kerr.KafkaStorageError.Code
				}
				rt.Partitions = append(rt.Partitions, kmsg.LeaderAndISRResponseTopicPartition{Partition: p.Partition, ErrorCode: code})
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	})
	if _, err := b1.zk.PropagateLogDirEvent(1); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("t-0 led by 2 without replica 1", func() bool {
		st, ok, err := tc.zk.PartitionState("t", 0)
		return err == nil && ok && st.Leader == 2 && slices.Equal(st.ISR, []int32{2, 3})
	})
	if st := tc.partitionState("t", 1); st.Leader != 1 || !slices.Equal(st.ISR, []int32{1, 2, 3}) {
		t.Fatalf("t-1 changed: %+v", st)
	}
	tc.waitFor("UpdateMetadata with replica 1 of t-0 offline", func() bool {
		return offlineReplicasInUpdateMetadata(tc.brokers[2], "t", 0, 1)
	})
	tc.waitFor("notification deleted", func() bool {
		names, err := tc.zk.Children(zkmeta.LogDirEventPath)
		return err == nil && len(names) == 0
	})
	reqs := b1.received(kmsg.LeaderAndISR.Int16())
	query := reqs[before].(*kmsg.LeaderAndISRRequest)
	var asked []int32
	for _, ts := range query.TopicStates {
		for _, p := range ts.PartitionStates {
			asked = append(asked, p.Partition)
			if p.LeaderEpoch != 0 || p.Leader != 1 {
				t.Fatalf("query state %+v, want the current one", p)
			}
		}
	}
	if !slices.Equal(asked, []int32{0, 1}) {
		t.Fatalf("asked about %v", asked)
	}
	if got := tc.brokers[1].stopReplicas(); !slices.Contains(got, "t-0 delete=false") {
		t.Fatalf("broker 1 StopReplica: %v", got)
	}

	// A restart brings the replica back (onBrokerStartup forgets the
	// broker's offline replicas).
	b1.setAnswer(nil)
	tc.bounce(1)
	tc.waitFor("replica 1 online", func() bool {
		online := false
		tc.onLoop(func() { online = tc.c.state.isReplicaOnline(1, topicPartition{"t", 0}) })
		return online
	})
}
