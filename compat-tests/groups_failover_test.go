package compat_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// TestGroupCoordinatorFailover: three brokers with __consumer_offsets at
// replication factor 3. A group member consumes and commits synchronously;
// the broker coordinating the group is SIGKILLed mid-run. The member finds
// the new coordinator and finishes, and no commit that was acknowledged
// before the kill is lost.
func TestGroupCoordinatorFailover(t *testing.T) {
	c := cluster.Start(t, 3, "offsets.topic.replication.factor=3", "offsets.topic.num.partitions=10",
		"group.min.session.timeout.ms=1000")
	const topic, groupID, partitions, perPartition = "failover", "failover-group", 6, 100
	harness.CreateTopic(t, c, topic, partitions, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	producer := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var recs []*kgo.Record
	for p := range partitions {
		for i := range perPartition {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "%d-%d", p, i)})
		}
	}
	if err := producer.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	// The member: small polls, a synchronous commit after each, the
	// acknowledged commits recorded.
	var mu sync.Mutex
	var commitMu sync.Mutex // held around a commit; frozen stops commits
	frozen := false
	acked := map[int32]int64{}
	consumed := map[int32]map[int64]bool{}
	member := c.Client(
		kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(200*time.Millisecond),
		kgo.FetchMaxPartitionBytes(200), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }),
	)
	total := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, offs := range consumed {
			n += len(offs)
		}
		return n
	}
	memberCtx, stopMember := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for memberCtx.Err() == nil {
			fs := member.PollRecords(memberCtx, 10)
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				if consumed[r.Partition] == nil {
					consumed[r.Partition] = map[int64]bool{}
				}
				consumed[r.Partition][r.Offset] = true
				mu.Unlock()
			})
			if fs.NumRecords() == 0 {
				continue
			}
			commitMu.Lock()
			if !frozen {
				cctx, ccancel := context.WithTimeout(memberCtx, 30*time.Second)
				err := member.CommitUncommittedOffsets(cctx)
				ccancel()
				if err == nil {
					mu.Lock()
					for tp, o := range member.CommittedOffsets()[topic] {
						acked[tp] = max(acked[tp], o.Offset)
					}
					mu.Unlock()
				}
			}
			commitMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() {
		stopMember()
		<-done
	}()

	adm := kadm.NewClient(c.Client())
	harness.Poll(t, 60*time.Second, "a third of the records consumed and committed", func() (bool, string) {
		return total() >= partitions*perPartition/3, fmt.Sprintf("%d consumed", total())
	})
	described, err := adm.DescribeGroups(ctx, groupID)
	if err != nil || described[groupID].Err != nil {
		t.Fatalf("describe: %v %v", err, described[groupID].Err)
	}
	old := described[groupID].Coordinator.NodeID
	// No commit is in flight at the kill, so the acknowledged ones are
	// exactly what the new coordinator must have.
	commitMu.Lock()
	frozen = true
	mu.Lock()
	before := map[int32]int64{}
	for p, o := range acked {
		before[p] = o
	}
	mu.Unlock()
	commitMu.Unlock()
	c.Kill(old)
	t.Logf("killed coordinator %d with commits %v acknowledged", old, before)

	harness.Poll(t, 90*time.Second, "a new coordinator holding every acknowledged commit", func() (bool, string) {
		// A fresh client each time: a client that cached the dead
		// coordinator keeps dialing it until its metadata expires.
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...))
		if err != nil {
			return false, err.Error()
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		d, err := adm.DescribeGroups(ctx, groupID)
		if err != nil {
			return false, err.Error()
		}
		g := d[groupID]
		if g.Err != nil || g.Coordinator.NodeID == old || g.State != "Stable" || len(g.Members) != 1 {
			return false, fmt.Sprintf("coordinator %d, state %s, %d members, err %v", g.Coordinator.NodeID, g.State, len(g.Members), g.Err)
		}
		offs, err := adm.FetchOffsets(ctx, groupID)
		if err != nil {
			return false, err.Error()
		}
		for p, at := range before {
			if o, _ := offs.Lookup(topic, p); o.At != at {
				t.Fatalf("partition %d: the new coordinator %d has offset %d, %d was acknowledged before the kill", p, g.Coordinator.NodeID, o.At, at)
			}
		}
		return true, ""
	})
	commitMu.Lock()
	frozen = false
	commitMu.Unlock()
	harness.Poll(t, 90*time.Second, "every record consumed", func() (bool, string) {
		return total() == partitions*perPartition, fmt.Sprintf("%d consumed", total())
	})
	adm = kadm.NewClient(c.Client())
	harness.Poll(t, 60*time.Second, "the final commits", func() (bool, string) {
		offs, err := adm.FetchOffsets(ctx, groupID)
		if err != nil {
			return false, err.Error()
		}
		for p := range int32(partitions) {
			o, ok := offs.Lookup(topic, p)
			if !ok || o.At != perPartition {
				return false, fmt.Sprintf("partition %d at %d", p, o.At)
			}
		}
		return true, ""
	})
	if len(before) == 0 {
		t.Error("no commit was acknowledged before the kill")
	}
}
