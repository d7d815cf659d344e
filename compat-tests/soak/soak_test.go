// Package soak runs three brokers (RF 3, min.insync.replicas=2) under a
// steady acks=all idempotent load while random faults hit one broker at a
// time (kill, clean restart, bounce, pause, cut off, cut from ZooKeeper,
// cut from peers), then reads everything back with the checker: zero
// acknowledged records lost, duplicated, altered or reordered, or it fails.
//
// It runs only when SOAK_DURATION is set (`make soak`): SOAK_DURATION is
// the minimum run time (Go duration, e.g. 10m) and SOAK_FAULTS the minimum
// number of faults (default 100); the run lasts until both are reached.
package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

const (
	brokers    = 3
	topic      = "soak"
	partitions = 6
)

// fault is one kind of trouble: apply starts it on a broker, recover ends it.
type fault struct {
	name    string
	apply   func(c *cluster.Cluster, id int32)
	recover func(c *cluster.Cluster, id int32)
}

var faultKinds = []fault{
	{"kill", func(c *cluster.Cluster, id int32) { c.Kill(id) }, func(c *cluster.Cluster, id int32) { c.Restart(id) }},
	{"clean-restart", func(c *cluster.Cluster, id int32) { c.Stop(id) }, func(c *cluster.Cluster, id int32) { c.Restart(id) }},
	{"hard-bounce", func(c *cluster.Cluster, id int32) { c.Kill(id); c.Restart(id) }, func(*cluster.Cluster, int32) {}},
	{"pause", func(c *cluster.Cluster, id int32) { c.Pause(id) }, func(c *cluster.Cluster, id int32) { c.Resume(id) }},
	{"cut-off", func(c *cluster.Cluster, id int32) { c.CutOff(id) }, func(c *cluster.Cluster, id int32) { c.Heal(id) }},
	{"cut-from-zk", func(c *cluster.Cluster, id int32) { c.CutFromZK(id) }, func(c *cluster.Cluster, id int32) { c.Heal(id) }},
	{"cut-from-peers", func(c *cluster.Cluster, id int32) { c.CutFromPeers(id) }, func(c *cluster.Cluster, id int32) { c.Heal(id) }},
}

func TestSoak(t *testing.T) {
	durS := os.Getenv("SOAK_DURATION")
	if durS == "" {
		t.Skip("soak runs only with SOAK_DURATION set (make soak)")
	}
	dur, err := time.ParseDuration(durS)
	if err != nil {
		t.Fatalf("SOAK_DURATION=%q: %v", durS, err)
	}
	minFaults := 100
	if s := os.Getenv("SOAK_FAULTS"); s != "" {
		if minFaults, err = strconv.Atoi(s); err != nil {
			t.Fatalf("SOAK_FAULTS=%q: %v", s, err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SOAK_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", s, err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("soak: %v, >= %d faults, seed %d", dur, minFaults, seed)

	c := cluster.Start(t, brokers, "min.insync.replicas=2", "replica.lag.time.max.ms=3000",
		"default.replication.factor=3", "zookeeper.session.timeout.ms=6000")
	adm := kadm.NewClient(c.Client())
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, partitions, brokers, nil, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	waitHealthy(t, c, adm, 90*time.Second, nil)

	chk := checker.New(topic)
	pctx, stopLoad := context.WithCancel(ctx)
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		chk.Produce(pctx, c.Client(kgo.RecordPartitioner(kgo.RoundRobinPartitioner())), 20)
	}()

	interval := dur / time.Duration(minFaults)
	start := time.Now()
	counts := map[string]int{}
	total := 0
	for time.Since(start) < dur || total < minFaults {
		f := faultKinds[rng.IntN(len(faultKinds))]
		id := int32(rng.IntN(brokers))
		hold := interval/4 + time.Duration(rng.Int64N(int64(interval/2)+1))
		if rng.IntN(6) == 0 {
			hold = 8 * time.Second // past the ZooKeeper session timeout
		}
		before := chk.Acked()
		f.apply(c, id)
		time.Sleep(hold)
		f.recover(c, id)
		total++
		counts[f.name]++
		recovered := time.Now()
		waitHealthy(t, c, adm, 2*time.Minute, counts)
		t.Logf("fault %d at %v: %s broker %d for %v, healthy %v after recovery; acked %d (+%d), failed attempts %d",
			total, time.Since(start).Round(time.Second), f.name, id, hold.Round(time.Millisecond),
			time.Since(recovered).Round(time.Millisecond), chk.Acked(), chk.Acked()-before, chk.Failed())
	}
	time.Sleep(time.Second)
	stopLoad()
	<-loaded
	c.HealAll()
	waitHealthy(t, c, adm, 2*time.Minute, counts)

	vctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	rep, err := chk.Verify(vctx, strings.Split(c.Bootstrap(), ","))
	if err != nil {
		t.Fatalf("verifying: %v", err)
	}
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(kinds)
	summary := fmt.Sprintf("soak %v (seed %d): acknowledged=%d read=%d failed-attempts=%d faults=%d [%s] lost=%d duplicated=%d inconsistent=%d backwards=%d",
		time.Since(start).Round(time.Second), seed, rep.Acked, rep.Read, chk.Failed(), total, strings.Join(kinds, " "),
		len(rep.Lost), len(rep.Duplicated), len(rep.Inconsistent), len(rep.Backwards))
	fmt.Println(summary)
	t.Log(summary)
	if !rep.OK() {
		t.Fatalf("checker: %s", rep)
	}
	if rep.Acked == 0 {
		t.Fatal("nothing was acknowledged")
	}
}

// waitHealthy polls Metadata until every broker is registered and every
// partition of the topic has a leader and a full ISR. A broker whose
// ZooKeeper session expired exits (README: it does not re-register); it is
// restarted like an operator would, and counted in restarts.
func waitHealthy(t *testing.T, c *cluster.Cluster, adm *kadm.Client, timeout time.Duration, restarts map[string]int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		for b := range int32(brokers) {
			if !c.Running(b) {
				t.Logf("broker %d exited by itself; restarting it", b)
				c.Restart(b)
				if restarts != nil {
					restarts["restart-after-exit"]++
				}
			}
		}
		ok, msg := healthy(adm)
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			t.Fatalf("cluster not healthy after %v: %s", timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func healthy(adm *kadm.Client) (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return false, err.Error()
	}
	if len(md.Brokers) != brokers {
		return false, fmt.Sprintf("%d brokers registered", len(md.Brokers))
	}
	td, ok := md.Topics[topic]
	if !ok || len(td.Partitions) != partitions {
		return false, "no metadata for " + topic
	}
	for _, p := range td.Partitions {
		if p.Leader < 0 || len(p.ISR) != brokers {
			return false, fmt.Sprintf("partition %d leader %d isr %v", p.Partition, p.Leader, p.ISR)
		}
	}
	return true, ""
}
