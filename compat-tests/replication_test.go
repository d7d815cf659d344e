package compat_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// Kafka's replication system test matrix: with 3 brokers, RF 3 and
// min.insync.replicas=2, a clean shutdown, hard kill, clean bounce and hard
// bounce of a partition leader and of the controller, under a steady
// acks=all idempotent load, lose, duplicate and alter no acknowledged record.
func TestReplicationFaultMatrix(t *testing.T) {
	c := cluster.Start(t, 3, "min.insync.replicas=2", "replica.lag.time.max.ms=3000", "default.replication.factor=3")
	faults := []struct {
		name  string
		apply func(id int32) // during the load
		after func(id int32) // once the load ends
	}{
		{"clean-shutdown", func(id int32) { c.Stop(id) }, func(id int32) { c.Restart(id) }},
		{"hard-kill", func(id int32) { c.Kill(id) }, func(id int32) { c.Restart(id) }},
		{"clean-bounce", func(id int32) { c.Stop(id); c.Restart(id) }, func(int32) {}},
		{"hard-bounce", func(id int32) { c.Kill(id); c.Restart(id) }, func(int32) {}},
	}
	for _, target := range []string{"leader", "controller"} {
		for _, f := range faults {
			name := fmt.Sprintf("%s-%s", f.name, target)
			t.Run(name, func(t *testing.T) {
				topic := "rep-" + name
				harness.CreateTopic(t, c, topic, 3, 3)
				waitFullISR(t, c, topic, 3)
				victim := leaderOf(t, c, topic, 0)
				if target == "controller" {
					victim = controllerOf(t, c)
				}
				chk := checker.New(topic)
				stopProducing := produceInBackground(c, chk, 20)
				time.Sleep(time.Second)
				f.apply(victim)
				time.Sleep(2 * time.Second)
				stopProducing()
				f.after(victim)
				waitFullISR(t, c, topic, 3)
				rep := verifyChecker(t, c, chk, fmt.Sprintf("broker %d %s", victim, f.name))
				if rep.Acked == 0 {
					t.Fatalf("nothing acknowledged around the fault")
				}
				t.Logf("broker %d %s: %s (failed attempts %d)", victim, f.name, rep, chk.Failed())
			})
		}
	}
}

// leaderOf reads a partition's leader from its state znode.
func leaderOf(t *testing.T, c *cluster.Cluster, topic string, p int) int32 {
	t.Helper()
	_, st := zkGet(t, c, fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p))
	return int32(st["leader"].(float64))
}

func controllerOf(t *testing.T, c *cluster.Cluster) int32 {
	t.Helper()
	_, ctl := zkGet(t, c, "/controller")
	return int32(ctl["brokerid"].(float64))
}

// produceInBackground runs chk's producer (inFlight at a time) on a new
// client of c with opts until the returned stop is called; stop returns
// once the producer has, and may be called again.
func produceInBackground(c *cluster.Cluster, chk *checker.Checker, inFlight int, opts ...kgo.Opt) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	cl := c.Client(opts...)
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		chk.Produce(ctx, cl, inFlight)
	}()
	return func() {
		cancel()
		<-produced
	}
}

// verifyChecker has chk read its topic back from the cluster (two minutes
// at most) and fails the test, naming what, unless every acknowledged
// record is served once and in order.
func verifyChecker(t *testing.T, c *cluster.Cluster, chk *checker.Checker, what string) checker.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := chk.Verify(ctx, strings.Split(c.Bootstrap(), ","))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("%s: %s", what, rep)
	}
	return rep
}

// waitFullISR polls Metadata until every partition of topic has n in-sync
// replicas and a leader.
func waitFullISR(t *testing.T, c *cluster.Cluster, topic string, n int) {
	t.Helper()
	adm := kadm.NewClient(c.Client())
	harness.Poll(t, 90*time.Second, topic+" fully in sync", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		td, ok := md.Topics[topic]
		if !ok || len(td.Partitions) == 0 {
			return false, "no metadata"
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || len(p.ISR) != n {
				return false, fmt.Sprintf("partition %d leader %d isr %v", p.Partition, p.Leader, p.ISR)
			}
		}
		return true, ""
	})
}
