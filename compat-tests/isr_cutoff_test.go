package compat_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// A follower that can no longer fetch from its leader (the link follower ->
// leader is cut; everything else works) leaves the ISR within
// replica.lag.time.max.ms plus one ISR-expiration check (Kafka checks every
// replica.lag.time.max.ms/2) and a margin: the state znode and
// kafka-topics.sh --describe show it. Healed, it catches up and rejoins.
func TestISRCutOffFollower(t *testing.T) {
	const lag = 3000 * time.Millisecond
	c := cluster.Start(t, 3, "replica.lag.time.max.ms=3000", "default.replication.factor=3")
	const topic = "isr-cutoff"
	harness.CreateTopic(t, c, topic, 1, 3)
	waitFullISR(t, c, topic, 3)

	cl := c.Client(kgo.DefaultProduceTopic(topic))
	produce := func(n int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := range n {
			if err := cl.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("r-%d", i))).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	produce(20)

	leader := leaderOf(t, c, topic, 0)
	ctl := controllerOf(t, c)
	follower := int32(-1)
	for id := range int32(3) {
		if id != leader && (follower < 0 || id != ctl) {
			follower = id
		}
	}
	statePath := fmt.Sprintf("/brokers/topics/%s/partitions/0/state", topic)
	isr := func() []int32 {
		_, st := zkGet(t, c, statePath)
		var ids []int32
		for _, v := range st["isr"].([]any) {
			ids = append(ids, int32(v.(float64)))
		}
		slices.Sort(ids)
		return ids
	}
	t.Logf("leader %d, controller %d, cutting follower %d -> leader", leader, ctl, follower)

	// Kafka keeps an idle follower that sits at the leader's log end in the
	// ISR (Replica.isCaughtUp), so a steady acks=1 trickle makes the cut
	// follower fall behind.
	trickle, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...),
		kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer trickle.Close()
	tctx, stopTrickle := context.WithCancel(context.Background())
	trickled := make(chan struct{})
	go func() {
		defer close(trickled)
		for tctx.Err() == nil {
			_ = trickle.ProduceSync(tctx, kgo.StringRecord("trickle")).FirstErr()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { stopTrickle(); <-trickled }()

	cut := time.Now()
	c.CutLink(follower, leader)
	limit := lag + lag/2 + 4*time.Second
	harness.Poll(t, limit, fmt.Sprintf("follower %d out of the ISR in the state znode", follower), func() (bool, string) {
		got := isr()
		return len(got) == 2 && !slices.Contains(got, follower), fmt.Sprint("isr ", got)
	})
	took := time.Since(cut)
	if took < lag-500*time.Millisecond {
		t.Errorf("follower dropped after %v, before replica.lag.time.max.ms", took)
	}
	t.Logf("follower %d left the ISR %v after the cut", follower, took.Round(time.Millisecond))
	rep := describeReplicas(t, c, topic)["0"]
	if strings.Contains(","+rep[1]+",", fmt.Sprintf(",%d,", follower)) || len(strings.Split(rep[1], ",")) != 2 {
		t.Fatalf("kafka-topics.sh --describe shows Isr %q, want the two replicas without %d", rep[1], follower)
	}

	stopTrickle()
	<-trickled
	// acks=all still succeeds with the shrunk ISR; then heal and rejoin.
	produce(20)
	c.HealAll()
	harness.Poll(t, 30*time.Second, fmt.Sprintf("follower %d back in the ISR", follower), func() (bool, string) {
		got := isr()
		return len(got) == 3, fmt.Sprint("isr ", got)
	})
	rep = describeReplicas(t, c, topic)["0"]
	if len(strings.Split(rep[1], ",")) != 3 {
		t.Fatalf("kafka-topics.sh --describe after heal shows Isr %q, want 3 replicas", rep[1])
	}
}
