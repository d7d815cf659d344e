package compat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// zkOutage is how long TestZKOutage keeps ZooKeeper down: 30 s (the
// acceptance figure) unless KAFKAZK_ZK_OUTAGE (a Go duration) says otherwise.
func zkOutage(t *testing.T) time.Duration {
	s := os.Getenv("KAFKAZK_ZK_OUTAGE")
	if s == "" {
		return 30 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("KAFKAZK_ZK_OUTAGE=%q: want a positive Go duration such as 30s", s)
	}
	return d
}

// zkState is one partition's state znode, read through the test's own
// ZooKeeper session.
type zkState struct {
	Leader      int32   `json:"leader"`
	LeaderEpoch int32   `json:"leader_epoch"`
	ISR         []int32 `json:"isr"`
}

func readStates(t *testing.T, c *cluster.Cluster, topic string, partitions int) (map[int32]zkState, error) {
	t.Helper()
	out := map[int32]zkState{}
	for p := range int32(partitions) {
		data, _, err := c.ZKConn().Get(c.ZKPath(fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p)))
		if err != nil {
			return nil, err
		}
		var st zkState
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, fmt.Errorf("partition %d state %q: %w", p, data, err)
		}
		slices.Sort(st.ISR)
		out[p] = st
	}
	return out, nil
}

// endOffsets lists a topic's end offsets (served by the leaders, no
// ZooKeeper involved).
func endOffsets(ctx context.Context, c *cluster.Cluster, topic string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	var firstErr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil && firstErr == nil {
			firstErr = fmt.Errorf("partition %d: %w", o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out, firstErr
}

// waitRecovered polls until every broker is registered, /controller names a
// live broker, and every partition of topic has a live leader both in its
// state znode and in Metadata.
func waitRecovered(t *testing.T, c *cluster.Cluster, topic string, partitions int, within time.Duration) {
	t.Helper()
	adm := kadm.NewClient(c.Client())
	harness.Poll(t, within, "cluster recovered (brokers registered, controller, leaders)", func() (bool, string) {
		for id := range int32(3) {
			if _, ok, err := c.BrokerEpoch(id); !ok || err != nil {
				return false, fmt.Sprintf("broker %d not registered (%v)", id, err)
			}
		}
		ctl, err := c.ControllerID()
		if err != nil || ctl < 0 {
			return false, fmt.Sprintf("no /controller (%v)", err)
		}
		states, err := readStates(t, c, topic, partitions)
		if err != nil {
			return false, err.Error()
		}
		for p, st := range states {
			if st.Leader < 0 {
				return false, fmt.Sprintf("partition %d has no leader in ZooKeeper", p)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		for _, p := range md.Topics[topic].Partitions {
			if p.Leader < 0 || p.Err != nil {
				return false, fmt.Sprintf("metadata: partition %d leader %d err %v", p.Partition, p.Leader, p.Err)
			}
		}
		return true, ""
	})
}

// ZooKeeper stopped (killed, data kept) for 30 s and started again, under a
// steady acks=all idempotent load on a topic with RF 3 and min ISR 2.
// Kafka's data path does not touch ZooKeeper: leaders go on appending and
// followers fetching with the ISR they have (an ISR change would need the
// controller, which waits), so every partition's log end keeps advancing
// through the outage. ZooKeeper restarted from its data restores the
// sessions it knew and times them out from the restart, so brokers that
// reconnect within zookeeper.session.timeout.ms keep their sessions: their
// registrations (broker epochs) and the controller stay (Kafka 3.9 does the
// same, TestZKFaultsKafkaRef); a broker whose session did expire would
// register again with a new epoch and a controller be elected. Either way
// every partition has a leader soon after, and no acknowledged record is
// lost.
//
// A second topic's ISR does want to change: as ZooKeeper stops, its
// follower on broker 0 is cut from its leader, broker 2 (which leads
// nothing else, so the cut fetcher connection carries only that
// partition). The leader proposes the shrink to the controller
// (AlterPartition), which cannot write the state znode; until it can, the
// leader counts the follower in its maximal ISR, so the high watermark
// stays where it was and acks=all waits (Kafka's Partition.maximalIsr,
// PendingShrinkIsr). Once ZooKeeper is back the shrink is committed and the
// partition moves on with two replicas, losing nothing.
func TestZKOutage(t *testing.T) {
	outage := zkOutage(t)
	const lag = 3 * time.Second
	c := cluster.Start(t, 3, "min.insync.replicas=2", "default.replication.factor=3",
		fmt.Sprintf("replica.lag.time.max.ms=%d", lag.Milliseconds()))
	const topic, partitions = "zk-outage", 3
	const isrTopic, cutFollower, cutLeader = "zk-outage-isr", int32(0), int32(2)
	for _, tc := range []struct{ topic, assignment string }{
		{topic, "0:1:2,1:2:0,0:2:1"},
		{isrTopic, "2:0:1"},
	} {
		out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create",
			"--topic", tc.topic, "--replica-assignment", tc.assignment)
		if code != 0 {
			t.Fatalf("kafka-topics.sh --create %s: exit %d\n%s\n%s", tc.topic, code, out, errOut)
		}
	}
	waitFullISR(t, c, topic, 3)
	waitFullISR(t, c, isrTopic, 3)

	epochs := map[int32]int64{}
	for id := range int32(3) {
		e, ok, err := c.BrokerEpoch(id)
		if err != nil || !ok {
			t.Fatalf("broker %d epoch: %v %v", id, ok, err)
		}
		epochs[id] = e
	}
	ctl := controllerOf(t, c)
	before, err := readStates(t, c, topic, partitions)
	if err != nil {
		t.Fatal(err)
	}

	chk, isrChk := checker.New(topic), checker.New(isrTopic)
	// Round robin: every partition gets records all along.
	stopChk := produceInBackground(c, chk, 20, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	stopIsrChk := produceInBackground(c, isrChk, 4)
	stopProducing := func() {
		stopChk()
		stopIsrChk()
	}
	defer stopProducing()
	harness.Poll(t, 20*time.Second, "the producers under way", func() (bool, string) {
		return chk.Acked() >= 50 && isrChk.Acked() >= 10, fmt.Sprint(chk.Acked(), " and ", isrChk.Acked(), " acked")
	})

	octx, ocancel := context.WithTimeout(context.Background(), 10*time.Second)
	startEnds, err := endOffsets(octx, c, topic)
	ocancel()
	if err != nil {
		t.Fatalf("end offsets before the outage: %v", err)
	}
	ackedAtStop := chk.Acked()
	c.StopZK()
	stopped := time.Now()
	c.CutFetches(cutFollower, cutLeader)
	t.Logf("ZooKeeper stopped for %v; %d acked so far; broker %d cut from fetching %s-0 from its leader %d",
		outage, ackedAtStop, cutFollower, isrTopic, cutLeader)

	// The cut partition's high watermark stops (sampled once the last
	// fetch before the cut has been answered, and again near the end).
	time.Sleep(2 * time.Second)
	octx, ocancel = context.WithTimeout(context.Background(), 5*time.Second)
	cutEnds, err := endOffsets(octx, c, isrTopic)
	ocancel()
	if err != nil {
		t.Errorf("ListOffsets during the ZooKeeper outage: %v (Kafka serves it from the leaders)", err)
	}
	isrAcked := isrChk.Acked()
	// An admin write during the outage: Kafka's ZooKeeperClient holds the
	// request until ZooKeeper is back, so its client times out; ours
	// answers REQUEST_TIMED_OUT at once (never UNKNOWN_SERVER_ERROR).
	created := make(chan error, 1)
	go func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		resp, err := kadm.NewClient(c.Client()).CreateTopic(cctx, 1, 3, nil, "during-outage")
		if err == nil {
			err = resp.Err
		}
		created <- err
	}()

	// Through the outage: the log ends advance (sampled near its end, so
	// the producer has run well past any disconnection hiccup).
	time.Sleep(time.Until(stopped.Add(outage - 3*time.Second)))
	octx, ocancel = context.WithTimeout(context.Background(), 5*time.Second)
	lateEnds, err := endOffsets(octx, c, topic)
	ocancel()
	ackedInOutage := chk.Acked() - ackedAtStop
	if err != nil {
		t.Errorf("ListOffsets during the ZooKeeper outage: %v (Kafka serves it from the leaders)", err)
	}
	for p := range int32(partitions) {
		if lateEnds[p] <= startEnds[p] {
			t.Errorf("partition %d: log end %d at the outage's start, %d near its end: produce stopped (ISR %v unchanged)",
				p, startEnds[p], lateEnds[p], before[p].ISR)
		}
	}
	if ackedInOutage < 100 {
		t.Errorf("only %d acks=all records acknowledged during %v without ZooKeeper", ackedInOutage, outage)
	}
	octx, ocancel = context.WithTimeout(context.Background(), 5*time.Second)
	lateCut, err := endOffsets(octx, c, isrTopic)
	ocancel()
	if err != nil || lateCut[0] != cutEnds[0] || isrChk.Acked() != isrAcked {
		t.Errorf("%s-0 (follower %d cut, its ISR shrink not committed): high watermark %d -> %d, acks=all acknowledged %d -> %d during the outage (%v); want both frozen",
			isrTopic, cutFollower, cutEnds[0], lateCut[0], isrAcked, isrChk.Acked(), err)
	}
	if err := <-created; !errors.Is(err, kerr.RequestTimedOut) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("CreateTopics during the outage: %v, want a timeout", err)
	}
	time.Sleep(time.Until(stopped.Add(outage)))
	c.StartZK()
	restarted := time.Now()
	t.Logf("ZooKeeper back after %v; %d records acknowledged during the outage", time.Since(stopped).Round(time.Millisecond), ackedInOutage)

	// A controller and every leader within a bound: the session timeout
	// (6 s in these clusters) plus an election and its requests.
	waitRecovered(t, c, topic, partitions, 30*time.Second)
	t.Logf("recovered %v after ZooKeeper's restart", time.Since(restarted).Round(time.Millisecond))
	// The shrink proposed during the outage is committed now, and acks=all
	// goes on with two replicas.
	harness.Poll(t, 20*time.Second, fmt.Sprintf("%s-0's ISR without broker %d", isrTopic, cutFollower), func() (bool, string) {
		st, err := readStates(t, c, isrTopic, 1)
		if err != nil {
			return false, err.Error()
		}
		return len(st[0].ISR) == 2 && !slices.Contains(st[0].ISR, cutFollower), fmt.Sprint(st[0])
	})
	t.Logf("%s-0's ISR shrank %v after ZooKeeper's restart", isrTopic, time.Since(restarted).Round(time.Millisecond))
	n, m := chk.Acked(), isrChk.Acked()
	harness.Poll(t, 30*time.Second, "produce to both topics after ZooKeeper's return", func() (bool, string) {
		return chk.Acked() >= n+50 && isrChk.Acked() >= m+10, fmt.Sprint(chk.Acked()-n, " and ", isrChk.Acked()-m, " more acked")
	})
	var reregistered []int32
	for id := range int32(3) {
		e, _, _ := c.BrokerEpoch(id)
		if e != epochs[id] {
			reregistered = append(reregistered, id)
		}
	}
	after, err := readStates(t, c, topic, partitions)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("controller %d -> %d; brokers re-registered (session expired): %v; states before %v after %v",
		ctl, controllerOf(t, c), reregistered, before, after)

	stopProducing()
	c.HealAll()
	waitFullISR(t, c, isrTopic, 3)
	for _, k := range []*checker.Checker{chk, isrChk} {
		rep := verifyChecker(t, c, k, "ZooKeeper outage")
		t.Logf("ZooKeeper outage %v: %s (failed attempts %d)", outage, rep, k.Failed())
	}
}

// Every broker's ZooKeeper session expires at the same moment (ended on the
// server through a second connection in each session, deterministic), under
// a steady acks=all load. As Kafka: each broker registers again in its new
// session (a new czxid, the broker epoch), the controller resigns on its
// expiry and a controller is elected again (a higher controller epoch), the
// partitions keep or get leaders, and no acknowledged record is lost.
func TestZKSessionsExpireAtOnce(t *testing.T) {
	c := cluster.Start(t, 3, "min.insync.replicas=2", "default.replication.factor=3")
	const topic, partitions = "zk-expiry", 3
	harness.CreateTopic(t, c, topic, partitions, 3)
	waitFullISR(t, c, topic, 3)
	epochs := map[int32]int64{}
	for id := range int32(3) {
		e, _, err := c.BrokerEpoch(id)
		if err != nil {
			t.Fatal(err)
		}
		epochs[id] = e
	}
	ctlEpoch := func() int {
		data, _, err := c.ZKConn().Get(c.ZKPath("/controller_epoch"))
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(string(data))
		if err != nil {
			t.Fatalf("/controller_epoch %q: %v", data, err)
		}
		return n
	}
	epochBefore := ctlEpoch()

	chk := checker.New(topic)
	stopProducing := produceInBackground(c, chk, 20)
	defer stopProducing()
	harness.Poll(t, 20*time.Second, "the producer under way", func() (bool, string) {
		return chk.Acked() >= 50, fmt.Sprint(chk.Acked(), " acked")
	})

	expired := time.Now()
	sessions := c.ExpireSessions(0, 1, 2)
	t.Logf("expired sessions %v", sessions)
	harness.Poll(t, 30*time.Second, "every broker registered again with a new epoch", func() (bool, string) {
		for id := range int32(3) {
			e, ok, err := c.BrokerEpoch(id)
			if err != nil || !ok || e == epochs[id] {
				return false, fmt.Sprintf("broker %d: registered %v epoch %d (was %d) %v", id, ok, e, epochs[id], err)
			}
		}
		return true, ""
	})
	waitRecovered(t, c, topic, partitions, 30*time.Second)
	if e := ctlEpoch(); e <= epochBefore {
		t.Errorf("controller epoch %d after every session expired, was %d: no controller was elected again", e, epochBefore)
	}
	t.Logf("recovered %v after the expiry", time.Since(expired).Round(time.Millisecond))
	n := chk.Acked()
	harness.Poll(t, 30*time.Second, "produce after the expiry", func() (bool, string) {
		return chk.Acked() >= n+50, fmt.Sprint(chk.Acked()-n, " more acked")
	})
	stopProducing()
	waitFullISR(t, c, topic, 3)
	rep := verifyChecker(t, c, chk, "sessions expired at once")
	t.Logf("sessions expired at once: %s (failed attempts %d)", rep, chk.Failed())
}

// produceConsume writes n records to topic (acks=all) and reads them back
// from the start.
func produceConsume(t *testing.T, c *cluster.Cluster, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := c.Client(kgo.DefaultProduceTopic(topic))
	for i := range n {
		if err := p.ProduceSync(ctx, kgo.StringRecord(fmt.Sprintf("%s-%d", topic, i))).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
	cl := c.Client(kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: %d of %d records", topic, got, n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("fetch %s: %v", topic, err) })
		got += fs.NumRecords()
	}
}

// A topic's assignment znode and a partition's state znode overwritten by
// hand with data that does not decode, then a controller failover (the
// /controller znode deleted, as an operator forces a re-election): the new
// controller logs each bad znode naming its path and skips it, and every
// other topic keeps working - create, produce, fetch, metadata - with no
// process crashing. Kafka 3.9 (KafkaController.onControllerFailover through
// TopicZNode/TopicPartitionStateZNode.decode) throws on both znodes, fails
// the failover and resigns, over and over: no controller until a human
// fixes the znode.
func TestZKMalformedZnodes(t *testing.T) {
	c := cluster.Start(t, 2, "default.replication.factor=2")
	harness.CreateTopic(t, c, "good", 2, 2)
	harness.CreateTopic(t, c, "bad-assign", 1, 2)
	harness.CreateTopic(t, c, "bad-state", 2, 2)
	harness.CreateTopic(t, c, "not-json", 1, 2)
	waitFullISR(t, c, "good", 2)
	waitFullISR(t, c, "bad-state", 2)
	produceConsume(t, c, "good", 10)

	zk := c.ZKConn()
	assignPath := c.ZKPath("/brokers/topics/bad-assign")
	statePath := c.ZKPath("/brokers/topics/bad-state/partitions/0/state")
	if _, err := zk.Set(assignPath, []byte(`{"version":3,"partitions":{"0":"1,0"}}`), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := zk.Set(statePath, []byte(`{"controller_epoch":1,"leader":"zero","version":1,"leader_epoch":0,"isr":[0,1]}`), -1); err != nil {
		t.Fatal(err)
	}
	notJSONPath := c.ZKPath("/brokers/topics/not-json")
	if _, err := zk.Set(notJSONPath, []byte("not json"), -1); err != nil {
		t.Fatal(err)
	}
	before := controllerOf(t, c)
	data, st, err := zk.Get(c.ZKPath("/controller"))
	if err != nil {
		t.Fatal(err)
	}
	if err := zk.Delete(c.ZKPath("/controller"), st.Version); err != nil {
		t.Fatalf("deleting /controller %s: %v", data, err)
	}
	harness.Poll(t, 30*time.Second, "a controller elected again", func() (bool, string) {
		_, st2, err := zk.Get(c.ZKPath("/controller"))
		return err == nil && st2.Czxid != st.Czxid, fmt.Sprint(err)
	})
	t.Logf("controller %d -> %d", before, controllerOf(t, c))

	// The new controller is working: a topic created now gets its leaders.
	harness.CreateTopic(t, c, "after", 2, 2)
	waitFullISR(t, c, "after", 2)
	produceConsume(t, c, "after", 10)
	produceConsume(t, c, "good", 10)
	// bad-state's other partition is served as before.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := c.Client(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "bad-state", Partition: 1, Value: []byte("x")}).FirstErr(); err != nil {
		t.Errorf("produce to bad-state-1: %v", err)
	}

	// Odd but valid: a topic created by writing its znode by hand, with
	// sparse partition ids up to the int32 maximum; Kafka leads and serves
	// it, and so do we.
	sparse := fmt.Sprintf(`{"version":3,"topic_id":%q,"partitions":{"5":[0,1],"2147483647":[1,0]},"adding_replicas":{},"removing_replicas":{}}`,
		zkmeta.UUIDString(zkmeta.NewTopicID()))
	if _, err := zk.Create(c.ZKPath("/brokers/topics/sparse"), []byte(sparse), zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(c.Client())
	harness.Poll(t, 30*time.Second, "the sparse topic's partitions led", func() (bool, string) {
		md, err := adm.Metadata(ctx, "sparse")
		if err != nil {
			return false, err.Error()
		}
		ps := md.Topics["sparse"].Partitions
		return len(ps) == 2 && ps[5].Leader >= 0 && ps[2147483647].Leader >= 0, fmt.Sprint(ps)
	})
	// (franz-go will not produce to a topic whose partition ids have gaps;
	// the brokers answer ListOffsets for them.)
	ends, err := adm.ListEndOffsets(ctx, "sparse")
	if err != nil {
		t.Fatalf("list offsets of sparse: %v", err)
	}
	for _, part := range []int32{5, 2147483647} {
		if o, ok := ends.Lookup("sparse", part); !ok || o.Err != nil || o.Offset != 0 {
			t.Errorf("sparse-%d end offset %+v, want 0", part, o)
		}
	}
	md, err := kadm.NewClient(c.Client()).Metadata(ctx)
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, topic := range []string{"good", "after", "bad-state", "bad-assign"} {
		if _, ok := md.Topics[topic]; !ok {
			t.Errorf("metadata lacks %s: %v", topic, md.Topics.Names())
		}
	}
	ctl := controllerOf(t, c)
	logs := c.LogTail(ctl, 400)
	for _, path := range []string{"/brokers/topics/bad-assign", "/brokers/topics/bad-state/partitions/0/state", "/brokers/topics/not-json"} {
		if !strings.Contains(logs, path) {
			t.Errorf("controller %d's log does not name %s", ctl, path)
		}
	}
	// Kafka 3.9 rewrites a non-JSON topic znode as a topic without
	// partitions under a new topic id (TestZKFaultsKafkaRef); ours leaves it
	// for a human to repair.
	if data, _, err := zk.Get(notJSONPath); err != nil || string(data) != "not json" {
		t.Errorf("%s is now %q (%v), want it untouched", notJSONPath, data, err)
	}
	for id := range int32(2) {
		if !c.Running(id) {
			t.Errorf("broker %d exited", id)
		}
	}
}
