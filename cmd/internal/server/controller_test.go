package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// Fast retries so a controlled shutdown that cannot move a leadership does
// not hold a test for Kafka's 3 × 5 s.
var fastShutdown = []string{"controlled.shutdown.retry.backoff.ms=100", "controlled.shutdown.max.retries=2"}

func zkClient(t *testing.T, connect string) *zkmeta.Client {
	t.Helper()
	zc, err := zkmeta.Connect(context.Background(), connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zc.Close)
	return zc
}

// startCluster starts brokers 0..n-1 (broker 0 first, so it is the
// controller) and waits until a client sees them all.
func startCluster(t *testing.T, connect string, n int, overrides func(id int32) []string) ([]*testBroker, *kgo.Client, *zkmeta.Client) {
	t.Helper()
	zc := zkClient(t, connect)
	var brokers []*testBroker
	var addrs []string
	for id := int32(0); id < int32(n); id++ {
		var o []string
		if overrides != nil {
			o = overrides(id)
		}
		b := startBroker(t, connect, id, append(slices.Clone(fastShutdown), o...)...)
		brokers = append(brokers, b)
		addrs = append(addrs, b.addr)
		if id == 0 {
			waitFor(t, "broker 0 to be controller", func() bool {
				info, ok, err := zc.Controller()
				return err == nil && ok && info.BrokerID == 0
			})
		}
	}
	cl := newClient(t, addrs)
	waitForBrokers(t, cl, n)
	return brokers, cl, zc
}

func createAssigned(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, assignment [][]int32, configs map[string]*string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	for p, r := range assignment {
		ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		ra.Partition, ra.Replicas = int32(p), r
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	}
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 30000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

func partitionState(t *testing.T, zc *zkmeta.Client, topic string, p int32) zkmeta.LeaderAndIsr {
	t.Helper()
	st, ok, err := zc.PartitionState(topic, p)
	if err != nil || !ok {
		t.Fatalf("state of %s-%d: %v %v", topic, p, ok, err)
	}
	return st
}

// Controlled shutdown moves every leadership away before the broker exits:
// a client polling Metadata never sees a leaderless partition, and the
// broker leaves every ISR.
func TestControlledShutdownMovesLeadership(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	brokers, cl, zc := startCluster(t, connect, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const parts = 6
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, parts, 3, nil, "cs"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "broker 2 to lead a partition", func() bool {
		for p := int32(0); p < parts; p++ {
			if partitionState(t, zc, "cs", p).Leader == 2 {
				return true
			}
		}
		return false
	})

	poller := newClient(t, []string{brokers[0].addr})
	var leaderless atomic.Int32
	var polls atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			req := kmsg.NewPtrMetadataRequest()
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr("cs")
			req.Topics = append(req.Topics, rt)
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			resp, err := req.RequestWith(rctx, poller)
			rcancel()
			if err != nil || len(resp.Topics) != 1 {
				continue
			}
			polls.Add(1)
			for _, p := range resp.Topics[0].Partitions {
				if p.Leader < 0 || p.ErrorCode == kerr.LeaderNotAvailable.Code {
					leaderless.Add(1)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	brokers[2].stop(t)
	waitFor(t, "broker 2 to deregister", func() bool {
		ids, err := zc.BrokerIDs()
		return err == nil && !slices.Contains(ids, 2)
	})
	time.Sleep(200 * time.Millisecond) // a few more polls after the broker is gone
	close(stop)
	wg.Wait()
	if polls.Load() == 0 {
		t.Fatal("the poller never got metadata")
	}
	if n := leaderless.Load(); n > 0 {
		t.Fatalf("a polling client saw %d leaderless partitions during controlled shutdown", n)
	}
	for p := int32(0); p < parts; p++ {
		st := partitionState(t, zc, "cs", p)
		if st.Leader == 2 || st.Leader < 0 || slices.Contains(st.ISR, 2) {
			t.Errorf("cs-%d after controlled shutdown of broker 2: %+v", p, st)
		}
	}
}

// ElectLeaders (PREFERRED) moves leadership back to the first replica of
// the assignment; a reassignment that only reorders replicas completes at
// once (target ⊆ ISR) and keeps the leader; the legacy
// /admin/preferred_replica_election znode works the same and is removed.
func TestPreferredElectionAndReorder(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	_, cl, zc := startCluster(t, connect, 3, func(int32) []string { return []string{"auto.leader.rebalance.enable=false"} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createAssigned(t, ctx, cl, "pref", [][]int32{{0, 1, 2}, {0, 1, 2}}, nil)
	waitFor(t, "pref leaders", func() bool {
		return partitionState(t, zc, "pref", 0).Leader == 0 && partitionState(t, zc, "pref", 1).Leader == 0
	})

	// Reorder both partitions: the preferred replica becomes 1, the leader stays 0.
	adm := kadm.NewClient(cl)
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("pref", 0, []int32{1, 0, 2})
	req.Assign("pref", 1, []int32{2, 1, 0})
	res, err := adm.AlterPartitionAssignments(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res.Each(func(r kadm.AlterPartitionAssignmentsResponse) {
		if r.Err != nil {
			t.Fatalf("reassign %s-%d: %v", r.Topic, r.Partition, r.Err)
		}
	})
	waitFor(t, "reorder written", func() bool {
		a, _, ok, err := zc.TopicAssignment("pref")
		return err == nil && ok && slices.Equal(a.Partitions[0], []int32{1, 0, 2}) && slices.Equal(a.Partitions[1], []int32{2, 1, 0}) &&
			len(a.AddingReplicas) == 0 && len(a.RemovingReplicas) == 0
	})
	if st := partitionState(t, zc, "pref", 0); st.Leader != 0 || st.LeaderEpoch != 1 {
		t.Fatalf("pref-0 after reorder: %+v (leader stays, epoch bumped)", st)
	}

	elect := kmsg.NewPtrElectLeadersRequest()
	elect.ElectionType = 0
	elect.TimeoutMillis = 10000
	elect.Topics = []kmsg.ElectLeadersRequestTopic{{Topic: "pref", Partitions: []int32{0}}}
	eresp, err := elect.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(eresp.Topics) != 1 || eresp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("ElectLeaders: %+v", eresp)
	}
	if st := partitionState(t, zc, "pref", 0); st.Leader != 1 || st.LeaderEpoch != 2 || len(st.ISR) != 3 {
		t.Fatalf("pref-0 after preferred election: %+v", st)
	}
	// Already preferred: ELECTION_NOT_NEEDED.
	eresp, err = elect.RequestWith(ctx, cl)
	if err != nil || eresp.Topics[0].Partitions[0].ErrorCode != kerr.ElectionNotNeeded.Code {
		t.Fatalf("second ElectLeaders: %+v %v", eresp, err)
	}

	// The legacy znode for partition 1.
	if err := zc.CreateRecursive(zkmeta.PreferredReplicaPath, zkmeta.EncodePreferredReplicaElection([]zkmeta.TopicPartition{{Topic: "pref", Partition: 1}}), zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "legacy preferred election", func() bool {
		_, _, err := zc.Get(zkmeta.PreferredReplicaPath)
		return partitionState(t, zc, "pref", 1).Leader == 2 && err != nil
	})

	// DescribeCluster names the controller and every broker.
	dresp, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctx, cl)
	if err != nil || dresp.ErrorCode != 0 || dresp.ControllerID != 0 || len(dresp.Brokers) != 3 || dresp.ClusterID == "" {
		t.Fatalf("DescribeCluster: %+v %v", dresp, err)
	}
}

// With auto.leader.rebalance.enable and a short check interval, leadership
// returns to the preferred replica by itself.
func TestAutoLeaderRebalance(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	_, cl, zc := startCluster(t, connect, 2, func(int32) []string {
		return []string{"auto.leader.rebalance.enable=true", "leader.imbalance.check.interval.seconds=1"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createAssigned(t, ctx, cl, "auto", [][]int32{{0, 1}}, nil)
	waitFor(t, "auto-0 led by 0", func() bool { return partitionState(t, zc, "auto", 0).Leader == 0 })
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("auto", 0, []int32{1, 0})
	if _, err := kadm.NewClient(cl).AlterPartitionAssignments(ctx, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "automatic preferred election to broker 1", func() bool { return partitionState(t, zc, "auto", 0).Leader == 1 })
}

// The reassignment state machine: RS/adding/removing in the topic znode
// while new replicas catch up, ListPartitionReassignments, cancellation
// reverting; a shrink completes at once and deletes the removed replica;
// the legacy /admin/reassign_partitions znode is processed and removed.
func TestReassignmentStateMachine(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	brokers, cl, zc := startCluster(t, connect, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	createAssigned(t, ctx, cl, "move", [][]int32{{0}}, nil)
	createAssigned(t, ctx, cl, "shrink", [][]int32{{0, 1, 2}}, nil)
	waitFor(t, "leaders", func() bool {
		return partitionState(t, zc, "move", 0).Leader == 0 && partitionState(t, zc, "shrink", 0).Leader == 0
	})
	epoch0 := partitionState(t, zc, "move", 0).LeaderEpoch

	// move-0: [0] → [1]. Until broker 1 catches up and joins the ISR the
	// topic znode holds RS = [1,0], adding [1], removing [0].
	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("move", 0, []int32{1})
	if _, err := adm.AlterPartitionAssignments(ctx, req); err != nil {
		t.Fatal(err)
	}
	a, _, _, err := zc.TopicAssignment("move")
	if err != nil {
		t.Fatal(err)
	}
	inFlight := slices.Equal(a.Partitions[0], []int32{1, 0})
	switch {
	case inFlight:
		if !slices.Equal(a.AddingReplicas[0], []int32{1}) || !slices.Equal(a.RemovingReplicas[0], []int32{0}) {
			t.Fatalf("move in flight: %+v", a)
		}
		if st := partitionState(t, zc, "move", 0); st.LeaderEpoch != epoch0+1 {
			t.Fatalf("leader epoch must be bumped when the reassignment starts: %+v", st)
		}
		listed := listReassignments(t, ctx, cl)
		if l, ok := listed["move"][0]; ok {
			if !slices.Equal(l.Replicas, []int32{1, 0}) || !slices.Equal(l.AddingReplicas, []int32{1}) || !slices.Equal(l.RemovingReplicas, []int32{0}) {
				t.Fatalf("ListPartitionReassignments: %+v", listed)
			}
		} else if a, _, _, _ := zc.TopicAssignment("move"); !slices.Equal(a.Partitions[0], []int32{1}) {
			// Not listed: only right when broker 1 caught up and it completed meanwhile.
			t.Fatalf("ListPartitionReassignments lists nothing while in flight: %+v", a)
		}
		// Cancel: back to [0].
		creq := kadm.AlterPartitionAssignmentsReq{}
		creq.CancelAssign("move", 0)
		cres, err := adm.AlterPartitionAssignments(ctx, creq)
		if err != nil {
			t.Fatal(err)
		}
		cres.Each(func(r kadm.AlterPartitionAssignmentsResponse) {
			if r.Err != nil && !errors.Is(r.Err, kerr.NoReassignmentInProgress) {
				t.Fatalf("cancel: %v", r.Err)
			}
		})
		a, _, _, _ = zc.TopicAssignment("move")
		if !slices.Equal(a.Partitions[0], []int32{0}) && !slices.Equal(a.Partitions[0], []int32{1}) {
			t.Fatalf("after cancel: %+v", a)
		}
		if len(a.AddingReplicas)+len(a.RemovingReplicas) != 0 {
			t.Fatalf("after cancel, adding/removing must be empty: %+v", a)
		}
	case slices.Equal(a.Partitions[0], []int32{1}):
		// Replication caught up at once: the reassignment completed.
	default:
		t.Fatalf("move after reassignment: %+v", a)
	}

	// shrink-0: [0,1,2] → [0,1] completes at once; broker 2 deletes its replica.
	dir := filepath.Join(brokers[2].logDir, "shrink-0")
	waitFor(t, "shrink-0 on broker 2", func() bool { _, err := os.Stat(dir); return err == nil })
	req = kadm.AlterPartitionAssignmentsReq{}
	req.Assign("shrink", 0, []int32{0, 1})
	if _, err := adm.AlterPartitionAssignments(ctx, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "shrink written", func() bool {
		a, _, ok, err := zc.TopicAssignment("shrink")
		return err == nil && ok && slices.Equal(a.Partitions[0], []int32{0, 1}) && len(a.RemovingReplicas) == 0
	})
	if st := partitionState(t, zc, "shrink", 0); slices.Contains(st.ISR, 2) {
		t.Fatalf("removed replica still in ISR: %+v", st)
	}
	waitFor(t, "broker 2 to delete shrink-0", func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) })
	if listed := listReassignments(t, ctx, cl); len(listed["shrink"]) != 0 {
		t.Fatalf("ListPartitionReassignments after completion: %+v", listed)
	}

	// Legacy znode: shrink-0 back to [1,0] (a reorder: completes at once).
	legacy := zkmeta.EncodeReassignPartitions([]zkmeta.PartitionReplicas{{Topic: "shrink", Partition: 0, Replicas: []int32{1, 0}}})
	if err := zc.CreateRecursive(zkmeta.ReassignPath, legacy, zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "legacy reassignment done and znode removed", func() bool {
		a, _, ok, err := zc.TopicAssignment("shrink")
		_, _, gerr := zc.Get(zkmeta.ReassignPath)
		return err == nil && ok && slices.Equal(a.Partitions[0], []int32{1, 0}) && gerr != nil
	})
}

// listReassignments sends ListPartitionReassignments with null topics (all).
func listReassignments(t *testing.T, ctx context.Context, cl *kgo.Client) map[string]map[int32]kmsg.ListPartitionReassignmentsResponseTopicPartition {
	t.Helper()
	resp, err := kmsg.NewPtrListPartitionReassignmentsRequest().RequestWith(ctx, cl)
	if err != nil || resp.ErrorCode != 0 {
		t.Fatalf("ListPartitionReassignments: %+v %v", resp, err)
	}
	out := map[string]map[int32]kmsg.ListPartitionReassignmentsResponseTopicPartition{}
	for _, rt := range resp.Topics {
		out[rt.Topic] = map[int32]kmsg.ListPartitionReassignmentsResponseTopicPartition{}
		for _, p := range rt.Partitions {
			out[rt.Topic][p.Partition] = p
		}
	}
	return out
}

// Deleting a topic with a replica on a stopped broker waits (the topic
// stays in /admin/delete_topics) until the broker returns, then completes
// and the returning broker deletes its replica.
func TestTopicDeletionWaitsForOfflineReplica(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	brokers, cl, zc := startCluster(t, connect, 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createAssigned(t, ctx, cl, "doomed", [][]int32{{0, 1}}, nil)
	dir := filepath.Join(brokers[1].logDir, "doomed-0")
	waitFor(t, "doomed-0 on broker 1", func() bool { _, err := os.Stat(dir); return err == nil })
	brokers[1].stop(t)
	waitFor(t, "broker 1 gone", func() bool {
		ids, err := zc.BrokerIDs()
		return err == nil && len(ids) == 1
	})
	cl0 := newClient(t, []string{brokers[0].addr})
	if _, err := kadm.NewClient(cl0).DeleteTopics(ctx, "doomed"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if _, _, ok, _ := zc.TopicAssignment("doomed"); !ok {
		t.Fatal("topic znode deleted while a replica was offline")
	}
	if names, _ := zc.TopicDeletions(); !slices.Contains(names, "doomed") {
		t.Fatalf("deletion mark gone while a replica was offline: %v", names)
	}
	if _, err := os.Stat(filepath.Join(brokers[0].logDir, "doomed-0")); !os.IsNotExist(err) {
		t.Fatalf("live replica not deleted: %v", err)
	}
	restartBroker(t, brokers[1], fastShutdown...)
	waitFor(t, "deletion to complete", func() bool {
		_, _, ok, err := zc.TopicAssignment("doomed")
		names, _ := zc.TopicDeletions()
		return err == nil && !ok && !slices.Contains(names, "doomed")
	})
	waitFor(t, "returning broker deletes its replica", func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) })
}

// unclean.leader.election.enable as a topic override: a live replica out
// of the ISR becomes leader with ISR = [itself]; without it the partition
// stays leaderless.
func TestUncleanLeaderElection(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	brokers, cl, zc := startCluster(t, connect, 3, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	yes := "true"
	createAssigned(t, ctx, cl, "unclean", [][]int32{{1, 2}}, map[string]*string{"unclean.leader.election.enable": &yes})
	createAssigned(t, ctx, cl, "clean", [][]int32{{1, 2}}, nil)
	waitFor(t, "leaders", func() bool {
		return partitionState(t, zc, "unclean", 0).Leader == 1 && partitionState(t, zc, "clean", 0).Leader == 1
	})
	brokers[2].stop(t) // leaves the ISRs
	waitFor(t, "ISR [1]", func() bool {
		return slices.Equal(partitionState(t, zc, "unclean", 0).ISR, []int32{1}) && slices.Equal(partitionState(t, zc, "clean", 0).ISR, []int32{1})
	})
	brokers[1].stop(t) // the last ISR member: leaderless, ISR kept
	waitFor(t, "leaderless", func() bool {
		return partitionState(t, zc, "unclean", 0).Leader == -1 && partitionState(t, zc, "clean", 0).Leader == -1
	})
	restartBroker(t, brokers[2], fastShutdown...)
	waitFor(t, "unclean election of broker 2", func() bool {
		st := partitionState(t, zc, "unclean", 0)
		return st.Leader == 2 && slices.Equal(st.ISR, []int32{2})
	})
	if st := partitionState(t, zc, "clean", 0); st.Leader != -1 || !slices.Equal(st.ISR, []int32{1}) {
		t.Fatalf("clean topic elected an out-of-sync replica: %+v", st)
	}
}

// Brokers with broker.rack get Kafka's rack-aware assignment: every
// partition's replicas sit on different racks.
func TestRackAwarePlacement(t *testing.T) {
	zkSrv := zktest.Start(t)
	connect := zkSrv.Chroot(t)
	racks := map[int32]string{0: "r1", 1: "r1", 2: "r2", 3: "r2"}
	_, cl, zc := startCluster(t, connect, 4, func(id int32) []string { return []string{"broker.rack=" + racks[id]} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 8, 2, nil, "racks"); err != nil {
		t.Fatal(err)
	}
	a, _, ok, err := zc.TopicAssignment("racks")
	if err != nil || !ok || len(a.Partitions) != 8 {
		t.Fatalf("assignment: %+v %v %v", a, ok, err)
	}
	leaders := map[int32]int{}
	for p, r := range a.Partitions {
		if len(r) != 2 || racks[r[0]] == racks[r[1]] {
			t.Errorf("partition %d: replicas %v on racks %s,%s", p, r, racks[r[0]], racks[r[len(r)-1]])
		}
		leaders[r[0]]++
	}
	for id := int32(0); id < 4; id++ {
		if leaders[id] != 2 {
			t.Errorf("broker %d is the first replica of %d partitions, want 2 (%v)", id, leaders[id], fmt.Sprint(a.Partitions))
		}
	}
}
