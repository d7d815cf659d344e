package compat_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Issue 11's scenarios against real broker processes: the replication and
// controller bugs that only show across process restarts, ZooKeeper session
// boundaries and deletions of on-disk state.

// eventually polls cond every 100 ms until it holds or timeout passes; unlike
// poll it does not fail the test, so a scenario can report every broken
// guarantee rather than only the first.
func eventually(timeout time.Duration, cond func() (bool, string)) (bool, string) {
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok || time.Now().After(deadline) {
			return ok, msg
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readHWCheckpoint parses a broker's replication-offset-checkpoint (Kafka's
// OffsetCheckpointFile: version 0, a count, then "topic partition offset"
// lines) into "topic-partition" -> high watermark.
func readHWCheckpoint(dir string) (map[string]int64, error) {
	f, err := os.Open(filepath.Join(dir, "replication-offset-checkpoint"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var ls []string
	for sc.Scan() {
		ls = append(ls, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(ls) < 2 || ls[0] != "0" {
		return nil, fmt.Errorf("replication-offset-checkpoint: bad header %q", ls)
	}
	n, err := strconv.Atoi(ls[1])
	if err != nil || n != len(ls)-2 {
		return nil, fmt.Errorf("replication-offset-checkpoint: count %q for %d entries", ls[1], len(ls)-2)
	}
	out := map[string]int64{}
	for _, l := range ls[2:] {
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("replication-offset-checkpoint: bad entry %q", l)
		}
		hw, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("replication-offset-checkpoint: bad entry %q", l)
		}
		out[f[0]+"-"+f[1]] = hw
	}
	return out, nil
}

// checkpointHolds reports whether broker id's replication-offset-checkpoint
// lists every partition of topic with a high watermark of at least want.
func checkpointHolds(c *cluster.Cluster, id int32, topic string, want map[int32]int64) (bool, string) {
	hws, err := readHWCheckpoint(c.Broker(id).LogDir)
	if err != nil {
		return false, fmt.Sprintf("broker %d: %v", id, err)
	}
	for p, w := range want {
		key := fmt.Sprintf("%s-%d", topic, p)
		hw, ok := hws[key]
		if !ok || hw < w {
			return false, fmt.Sprintf("broker %d replication-offset-checkpoint has %s=%d (present %v), want >= %d; whole file: %v",
				id, key, hw, ok, w, hws)
		}
	}
	return true, ""
}

// produceTo writes n records "<prefix>-<p>-<i>" to every partition with
// acks=all and returns each partition's end offset after the last
// acknowledged record. A storage error is reported as the broker's error,
// not a timeout: the client gives up after a bounded number of retries.
func produceTo(c *cluster.Cluster, topic string, partitions, n int, prefix string) (map[int32]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordRetries(20))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for p := range partitions {
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "%s-%d-%d", prefix, p, i)})
		}
	}
	res := cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		return nil, err
	}
	ends := map[int32]int64{}
	for _, r := range res {
		ends[r.Record.Partition] = max(ends[r.Record.Partition], r.Record.Offset+1)
	}
	return ends, nil
}

// consumeAll reads every partition of topic from the earliest offset until
// each yields want[p] records or timeout passes; it returns the values read
// per partition and the fetch errors seen.
func consumeAll(c *cluster.Cluster, topic string, want map[int32]int, timeout time.Duration) (map[int32][]string, []string) {
	offsets := map[int32]kgo.Offset{}
	for p := range want {
		offsets[p] = kgo.NewOffset().AtStart()
	}
	got := map[int32][]string{}
	var errs []string
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
	if err != nil {
		return got, []string{err.Error()}
	}
	defer cl.Close()
	done := func() bool {
		for p, n := range want {
			if len(got[p]) < n {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(timeout)
	for !done() && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && len(errs) < 20 {
				errs = append(errs, fmt.Sprintf("%s-%d: %v", t, p, err))
			}
		})
		fs.EachRecord(func(r *kgo.Record) { got[r.Partition] = append(got[r.Partition], string(r.Value)) })
	}
	return got, errs
}

// expectValues compares what consumeAll read with "<prefix>-<p>-<i>" for i
// in 0..n-1, in order, on every partition.
func expectValues(got map[int32][]string, partitions, n int, prefix string) error {
	for p := range partitions {
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("%s-%d-%d", prefix, p, i))
		}
		if !slices.Equal(got[int32(p)], want) {
			return fmt.Errorf("partition %d: read %d records %s, want exactly the %d records %s-%d-0..%d",
				p, len(got[int32(p)]), harness.Clip(fmt.Sprint(got[int32(p)]), 300), n, prefix, p, n-1)
		}
	}
	return nil
}

// Issue 11 item 2 (ReplicaManager starts the high-watermark checkpoint
// thread only after the first LeaderAndIsr, which is when it reads the
// checkpoint): a full-cluster restart whose first LeaderAndIsr arrives more
// than replica.high.watermark.checkpoint.interval.ms (5 s) after the
// brokers start keeps every acknowledged high watermark.
//
// The brokers are stopped cleanly all at once (cut from ZooKeeper first, so
// that the controller cannot shrink the ISRs one broker at a time), then
// restarted while the test's own session holds /controller: no broker can
// become controller, so no LeaderAndIsr is sent, until the test lets go
// after 7 s. The followers' fetches to the leaders are cut meanwhile, so
// the leaders' high watermarks can only come from the checkpoint.
func TestIssue11FullRestartDelayedControllerKeepsHW(t *testing.T) {
	const (
		topic      = "hwkeep"
		partitions = 3
		perPart    = 200
	)
	ids := []int32{0, 1, 2}
	c := cluster.Start(t, 3, "controlled.shutdown.enable=false", "replica.lag.time.max.ms=60000",
		"auto.leader.rebalance.enable=false")
	harness.CreateTopic(t, c, topic, partitions, 3)
	waitFullISR(t, c, topic, 3)
	acked, err := produceTo(c, topic, partitions, perPart, "hw")
	if err != nil {
		t.Fatalf("produce: %v", err)
	}
	t.Logf("acknowledged end offsets %v", acked)
	for _, id := range ids {
		harness.Poll(t, 30*time.Second, fmt.Sprintf("broker %d checkpoints HW = LEO", id), func() (bool, string) {
			return checkpointHolds(c, id, topic, acked)
		})
	}

	// A clean stop of every broker at once.
	for _, id := range ids {
		c.CutFromZK(id)
	}
	for _, id := range ids {
		if code := c.Stop(id); code != 0 {
			t.Fatalf("broker %d exited %d on SIGTERM", id, code)
		}
	}
	c.HealAll()
	for _, id := range ids {
		if ok, msg := checkpointHolds(c, id, topic, acked); !ok {
			t.Fatalf("after the clean stop: %s", msg)
		}
	}

	// Hold /controller (once the stopped controller's session is gone) so
	// that the restarted brokers wait for a controller.
	zc := c.ZKConn()
	ctlPath := c.ZKPath("/controller")
	ctlData := fmt.Appendf(nil, `{"version":2,"brokerid":99,"timestamp":"%d","kraftControllerEpoch":-1}`, time.Now().UnixMilli())
	harness.Poll(t, 30*time.Second, "the test holds /controller", func() (bool, string) {
		_, err := zc.Create(ctlPath, ctlData, zkmeta.Ephemeral)
		return err == nil, fmt.Sprint(err)
	})
	released := false
	release := func() {
		if !released {
			released = true
			if err := zc.Delete(ctlPath, -1); err != nil {
				t.Errorf("deleting /controller: %v", err)
			}
		}
	}
	defer release()
	for _, a := range ids {
		for _, b := range ids {
			if a != b {
				c.CutFetches(a, b)
			}
		}
	}
	for _, id := range ids {
		c.Launch(id)
	}
	for _, id := range ids {
		harness.Poll(t, 30*time.Second, fmt.Sprintf("broker %d registered", id), func() (bool, string) {
			_, ok, err := c.BrokerEpoch(id)
			return ok, fmt.Sprint(err)
		})
	}
	// The delayed controller: more than the 5 s checkpoint interval without
	// any LeaderAndIsr.
	time.Sleep(7 * time.Second)
	for _, id := range ids {
		if ok, msg := checkpointHolds(c, id, topic, acked); !ok {
			t.Errorf("7 s after the restart, before any LeaderAndIsr, the HW checkpoint was overwritten: %s", msg)
		}
	}
	release()

	// The leaders' high watermarks as ListOffsets latest reports them, once
	// every leader answers.
	adm := kadm.NewClient(c.Client())
	var ends kadm.ListedOffsets
	ok, msg := eventually(60*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		ends, err = adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		if err := ends.Error(); err != nil {
			return false, err.Error()
		}
		n := 0
		ends.Each(func(kadm.ListedOffset) { n++ })
		return n == partitions, fmt.Sprintf("%d partitions listed", n)
	})
	if !ok {
		t.Fatalf("ListOffsets latest after the restart: %s", msg)
	}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset < acked[o.Partition] {
			t.Errorf("%s-%d: ListOffsets latest (the leader's HW) is %d after the restart, below the acknowledged %d",
				topic, o.Partition, o.Offset, acked[o.Partition])
		}
	})
	want := map[int32]int{}
	for p := range partitions {
		want[int32(p)] = perPart
	}
	got, errs := consumeAll(c, topic, want, 20*time.Second)
	if err := expectValues(got, partitions, perPart, "hw"); err != nil {
		t.Errorf("consuming from earliest after the restart, followers not fetching yet: %v (fetch errors %v)", err, errs)
	}

	c.HealAll()
	waitFullISR(t, c, topic, 3)
	got, errs = consumeAll(c, topic, want, 30*time.Second)
	if err := expectValues(got, partitions, perPart, "hw"); err != nil {
		t.Errorf("consuming from earliest once healed: %v (fetch errors %v)", err, errs)
	}
	for _, id := range ids {
		if ok, msg := eventually(30*time.Second, func() (bool, string) { return checkpointHolds(c, id, topic, acked) }); !ok {
			t.Errorf("once healed: %s", msg)
		}
	}
}

// Issue 11 item 11 (KafkaController.processBrokerChange: a broker whose
// epoch changed is bounced: onBrokerFailure, then onBrokerStartup): a
// leader killed with SIGKILL and restarted before the controller noticed is
// failed over. The controller (broker 0, with a 20 s session so it
// survives) is cut from ZooKeeper while the leader is killed and restarted,
// so it sees the broker's new registration in one read, never its absence.
// The bounced broker's partitions must get a new leader epoch, and the
// acks=all load loses nothing.
func TestIssue11BounceFasterThanSessionTimeoutFailsOver(t *testing.T) {
	const topic = "bounce"
	common := []string{"min.insync.replicas=2", "replica.lag.time.max.ms=3000", "auto.leader.rebalance.enable=false"}
	c := cluster.Start(t, 0)
	c.AddBroker(0, append(slices.Clone(common), "zookeeper.session.timeout.ms=20000")...)
	c.WaitForBrokers(0)
	harness.Poll(t, 30*time.Second, "broker 0 is the controller", func() (bool, string) {
		id, err := c.ControllerID()
		return err == nil && id == 0, fmt.Sprint(id, err)
	})
	c.AddBroker(1, common...)
	c.AddBroker(2, common...)
	c.WaitForBrokers(0, 1, 2)
	harness.CreateTopic(t, c, topic, 3, 3)
	waitFullISR(t, c, topic, 3)

	victim := int32(-1)
	for p := range 3 {
		if l := leaderOf(t, c, topic, p); l != 0 {
			victim = l
			break
		}
	}
	if victim < 0 {
		t.Fatal("the controller leads every partition")
	}
	before := map[int]float64{}
	for p, st := range partitionStates(t, c, topic, 3) {
		if int32(st["leader"].(float64)) == victim {
			before[p] = st["leader_epoch"].(float64)
		}
	}
	oldEpoch, _, err := c.BrokerEpoch(victim)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bouncing broker %d (broker epoch %d), leader of %v (partition -> leader epoch)", victim, oldEpoch, before)

	chk := checker.New(topic)
	ctx, stopLoad := context.WithCancel(context.Background())
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		chk.Produce(ctx, c.Client(kgo.RecordPartitioner(kgo.RoundRobinPartitioner())), 20)
	}()
	defer func() { stopLoad(); <-loaded }()
	time.Sleep(time.Second)

	c.CutFromZK(0)
	c.Kill(victim)
	c.Launch(victim)
	harness.Poll(t, 30*time.Second, fmt.Sprintf("broker %d registered again with a new broker epoch", victim), func() (bool, string) {
		e, ok, err := c.BrokerEpoch(victim)
		return ok && e != oldEpoch, fmt.Sprint(e, ok, err)
	})
	c.Heal(0)

	ok, msg := eventually(30*time.Second, func() (bool, string) {
		for p, st := range partitionStates(t, c, topic, 3) {
			if e0, ok := before[p]; ok && st["leader_epoch"].(float64) <= e0 {
				return false, fmt.Sprintf("%s-%d: leader %v leader_epoch %v, was led by %d at leader_epoch %v",
					topic, p, st["leader"], st["leader_epoch"], victim, e0)
			}
		}
		return true, ""
	})
	if !ok {
		t.Errorf("the bounced broker's partitions were not failed over (no new leader epoch): %s", msg)
	}

	waitFullISR(t, c, topic, 3)
	time.Sleep(2 * time.Second) // more load on the re-elected leaders
	stopLoad()
	<-loaded
	vctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := chk.Verify(vctx, strings.Split(c.Bootstrap(), ","))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Acked == 0 {
		t.Fatalf("after the bounce: %s", rep)
	}
	t.Logf("after the bounce: %s (failed attempts %d)", rep, chk.Failed())
}

// Issue 11 item 12 (TopicDeletionManager: a topic is deleted only once
// every replica confirmed StopReplica(delete) with ReplicaDeletionSuccessful;
// a replica whose broker is down or has not answered keeps the deletion
// pending, and a re-creation meanwhile is refused as "marked for
// deletion"): a topic deleted while one replica's broker is down and then
// re-created with the same name is served once the broker is back: produce
// works, consuming reads exactly the new records (none of the old), the
// broker rejoins the ISR and, as leader, serves the new log. Two ways for
// the replica to miss the deletion: its broker is stopped before it, or the
// controller's requests cannot reach it and it then crashes before it got
// its StopReplica.
func TestIssue11TopicRecreatedWhileReplicaDownIsServed(t *testing.T) {
	const partitions = 2
	c := cluster.Start(t, 3, "auto.leader.rebalance.enable=false", "replica.lag.time.max.ms=3000")
	ctl := controllerOf(t, c)
	down := (ctl + 1) % 3
	o1, o2 := (down+1)%3, (down+2)%3
	cases := []struct {
		name     string
		miss     func() // the down replica misses the deletion's StopReplica
		recover  func()
		whenDown func() // after the re-creation attempt
	}{
		{"stopped", func() {
			if code := c.Stop(down); code != 0 {
				t.Fatalf("broker %d exited %d on SIGTERM", down, code)
			}
		}, func() {}, func() {}},
		{"unreachable-then-crashed", func() { c.CutLink(ctl, down) }, func() { c.HealAll() }, func() { c.Kill(down) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := "phoenix-" + tc.name
			// The down broker is every partition's preferred leader.
			assignment := fmt.Sprintf("%d:%d:%d,%d:%d:%d", down, o1, o2, down, o2, o1)
			create := func() (bool, string) {
				out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create",
					"--topic", topic, "--replica-assignment", assignment)
				return code == 0, fmt.Sprintf("exit %d: %s %s", code, strings.TrimSpace(out), strings.TrimSpace(errOut))
			}
			if ok, msg := create(); !ok {
				t.Fatalf("create %s: %s", topic, msg)
			}
			waitFullISR(t, c, topic, 3)
			if _, err := produceTo(c, topic, partitions, 50, "old"); err != nil {
				t.Fatalf("produce old records: %v", err)
			}

			tc.miss()
			topicsTool(t, c, "--delete", "--topic", topic)
			// Kafka keeps refusing this ("marked for deletion") while the
			// deletion waits for the replica; a deletion that does not wait
			// lets it through here.
			created, msg := eventually(15*time.Second, create)
			t.Logf("re-creating %s while broker %d missed the deletion: created=%v (%s)", topic, down, created, msg)
			tc.whenDown()
			tc.recover()
			c.Restart(down)
			if !created {
				harness.Poll(t, 60*time.Second, "re-creating the topic once the deletion completed", create)
			}

			const n = 30
			if _, err := produceTo(c, topic, partitions, n, "new"); err != nil {
				t.Errorf("produce to the re-created topic: %v", err)
			}
			want := map[int32]int{}
			for p := range partitions {
				want[int32(p)] = n
			}
			got, errs := consumeAll(c, topic, want, 30*time.Second)
			if err := expectValues(got, partitions, n, "new"); err != nil || len(errs) > 0 {
				t.Errorf("consuming the re-created topic: %v (fetch errors %v)", err, errs)
			}

			ok, last := eventually(60*time.Second, func() (bool, string) {
				rep := describeReplicas(t, c, topic)
				for p := range partitions {
					if r := rep[fmt.Sprint(p)]; len(strings.Split(r[1], ",")) != 3 {
						return false, fmt.Sprintf("partition %d replicas %s isr %s", p, r[0], r[1])
					}
				}
				return true, ""
			})
			if !ok {
				t.Fatalf("broker %d never rejoined the re-created topic's ISR: %s\nbroker %d log:\n%s", down, last, down, c.LogTail(down, 30))
			}
			out, errOut, code := c.Tool("kafka-leader-election.sh", "--bootstrap-server", c.Bootstrap(),
				"--election-type", "preferred", "--topic", topic, "--partition", "0")
			t.Logf("preferred election: exit %d %s %s", code, strings.TrimSpace(out), strings.TrimSpace(errOut))
			out, errOut, code = c.Tool("kafka-leader-election.sh", "--bootstrap-server", c.Bootstrap(),
				"--election-type", "preferred", "--topic", topic, "--partition", "1")
			t.Logf("preferred election: exit %d %s %s", code, strings.TrimSpace(out), strings.TrimSpace(errOut))
			harness.Poll(t, 30*time.Second, fmt.Sprintf("broker %d leads the re-created topic", down), func() (bool, string) {
				for p := range partitions {
					if l := leaderOf(t, c, topic, p); l != down {
						return false, fmt.Sprintf("partition %d led by %d", p, l)
					}
				}
				return true, ""
			})
			got, errs = consumeAll(c, topic, want, 30*time.Second)
			if err := expectValues(got, partitions, n, "new"); err != nil || len(errs) > 0 {
				t.Errorf("consuming the re-created topic from broker %d: %v (fetch errors %v)", down, err, errs)
			}
			if _, err := produceTo(c, topic, partitions, 1, "more"); err != nil {
				t.Errorf("produce to the re-created topic led by broker %d: %v", down, err)
			}
			if ok, _ := eventually(30*time.Second, func() (bool, string) {
				exists, _, err := c.ZKConn().Exists(c.ZKPath("/admin/delete_topics/" + topic))
				return err == nil && !exists, ""
			}); !ok {
				t.Errorf("/admin/delete_topics/%s still there", topic)
			}
		})
	}
}

// partitionDirs lists broker id's directories of topic-partition that hold
// a live log (a "<dir>.<uuid>-delete" directory awaiting
// file.delete.delay.ms is gone as far as Kafka is concerned).
func partitionDirs(c *cluster.Cluster, id int32, topic string, p int) []string {
	ents, _ := os.ReadDir(c.Broker(id).LogDir)
	var out []string
	for _, e := range ents {
		if e.IsDir() && e.Name() == fmt.Sprintf("%s-%d", topic, p) {
			out = append(out, e.Name())
		}
	}
	return out
}

// Issue 11 item 13 (KafkaController.onPartitionReassignment and
// cancelReassignment: replicas a cancelled reassignment no longer needs go
// OfflineReplica then ReplicaDeletionStarted with StopReplica(delete)): a
// reassignment adding a replica on broker 3, held in progress by cutting
// that replica's fetches, then cancelled, leaves nothing on broker 3: its
// partition directory goes and no fetcher brings it back. Cancelled with
// kafka-reassign-partitions.sh --cancel (a move 2 -> 3: the tool, as
// Kafka's, cancels only reassignments that remove a replica or add none)
// and with AlterPartitionReassignments and null replicas (adding 3).
func TestIssue11CancelledReassignmentLeavesNoReplica(t *testing.T) {
	c := cluster.Start(t, 4, "auto.leader.rebalance.enable=false")
	adm := kadm.NewClient(c.Client())
	cases := []struct {
		name   string
		target []int32
		cancel func(t *testing.T, topic, file string)
	}{
		{"tool-move", []int32{0, 1, 3}, func(t *testing.T, topic, file string) {
			out := reassignTool(t, c, "--cancel", "--reassignment-json-file", file)
			if !strings.Contains(out, "Successfully cancelled partition reassignment for: "+topic+"-0") {
				t.Fatalf("--cancel printed:\n%s", out)
			}
		}},
		{"api-add", []int32{0, 1, 2, 3}, func(t *testing.T, topic, _ string) {
			var req kadm.AlterPartitionAssignmentsReq
			req.CancelAssign(topic, 0)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := adm.AlterPartitionAssignments(ctx, req)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				t.Fatalf("cancelling with AlterPartitionReassignments: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := "moving-" + tc.name
			out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create",
				"--topic", topic, "--replica-assignment", "0:1:2")
			if code != 0 {
				t.Fatalf("create %s: %s %s", topic, out, errOut)
			}
			waitFullISR(t, c, topic, 3)
			if _, err := produceTo(c, topic, 1, 100, "a"); err != nil {
				t.Fatalf("produce: %v", err)
			}

			c.CutFetches(3, 0) // the reassignment stays in progress
			file := filepath.Join(t.TempDir(), "reassign.json")
			reassignment := fmt.Sprintf(`{"version":1,"partitions":[{"topic":%q,"partition":0,"replicas":%s}]}`,
				topic, strings.ReplaceAll(fmt.Sprint(tc.target), " ", ","))
			if err := os.WriteFile(file, []byte(reassignment), 0o644); err != nil {
				t.Fatal(err)
			}
			if out := reassignTool(t, c, "--execute", "--reassignment-json-file", file); !strings.Contains(out, "Successfully started partition reassignment") {
				t.Fatalf("--execute printed:\n%s", out)
			}
			harness.Poll(t, 30*time.Second, "the adding replica on broker 3", func() (bool, string) {
				_, tp := zkGet(t, c, "/brokers/topics/"+topic)
				adding := fmt.Sprint(tp["adding_replicas"])
				return adding == "map[0:[3]]" && len(partitionDirs(c, 3, topic, 0)) == 1,
					fmt.Sprintf("adding_replicas %s, broker 3 dirs %v", adding, partitionDirs(c, 3, topic, 0))
			})
			tc.cancel(t, topic, file)
			c.HealAll() // a fetcher left behind on broker 3 would now copy the log

			harness.Poll(t, 30*time.Second, "the reassignment cancelled in ZooKeeper", func() (bool, string) {
				_, tp := zkGet(t, c, "/brokers/topics/"+topic)
				_, st := zkGet(t, c, fmt.Sprintf("/brokers/topics/%s/partitions/0/state", topic))
				ok := fmt.Sprint(tp["partitions"]) == "map[0:[0 1 2]]" && len(tp["adding_replicas"].(map[string]any)) == 0 &&
					len(tp["removing_replicas"].(map[string]any)) == 0 && !slices.Contains(isrOf(st), 3)
				return ok, fmt.Sprintf("topic %v state %v", tp, st)
			})
			if ok, msg := eventually(30*time.Second, func() (bool, string) {
				dirs := partitionDirs(c, 3, topic, 0)
				return len(dirs) == 0, fmt.Sprintf("broker 3 log dir holds %v (%v bytes)", dirs, partitionLogBytes(c, topic, 3)[3])
			}); !ok {
				t.Fatalf("the dropped replica's log is still there 30 s after the cancel: %s", msg)
			}

			// Nothing brings it back: once the remaining replicas hold more
			// data, broker 3 still has no log of the partition.
			if _, err := produceTo(c, topic, 1, 100, "b"); err != nil {
				t.Fatalf("produce after the cancel: %v", err)
			}
			harness.Poll(t, 30*time.Second, "the replicas 0, 1, 2 hold the same log", func() (bool, string) {
				sizes := partitionLogBytes(c, topic, 0, 1, 2)
				a := sizes[0][topic+"-0"]
				return a > 0 && sizes[1][topic+"-0"] == a && sizes[2][topic+"-0"] == a, fmt.Sprint(sizes)
			})
			if dirs := partitionDirs(c, 3, topic, 0); len(dirs) != 0 {
				t.Fatalf("broker 3 holds %v again after the cancel: a fetcher is still running", dirs)
			}
			waitFullISR(t, c, topic, 3)
		})
	}
}
