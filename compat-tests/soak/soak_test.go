// Package soak runs four brokers (a topic of RF 3 spread over them,
// min.insync.replicas=2) under a steady acks=all idempotent load while
// random faults hit one broker at a time (kill, clean restart, bounce,
// pause, cut off, cut from ZooKeeper, cut from peers, a bounce the
// controller does not notice, a ZooKeeper cut during a controller election,
// DeleteRecords under load, a reassignment started and cancelled), then
// reads everything back with the checker: zero acknowledged records lost,
// duplicated, altered or reordered, and no replica left on a broker that is
// not in its partition's assignment, or it fails.
//
// It runs only when SOAK_DURATION is set (`make soak`): SOAK_DURATION is
// the minimum run time (Go duration, e.g. 10m) and SOAK_FAULTS the minimum
// number of faults (default 100); the run lasts until both are reached.
// Fault kinds come in rounds, each a fresh random order of every kind.
package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
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
)

const (
	brokers    = 4 // one more than the replication factor, so reassignments can add a replica
	rf         = 3
	topic      = "soak"
	partitions = 6
	// sessionTimeout is every broker's zookeeper.session.timeout.ms; the
	// faults that must stay below it are timed against it.
	sessionTimeout = 6 * time.Second
)

// env is what a fault works with.
type env struct {
	t   *testing.T
	c   *cluster.Cluster
	adm *kadm.Client
	chk *checker.Checker
	rng *rand.Rand
}

// fault is one kind of trouble: apply starts it on a broker (the victim;
// some kinds pick their own) and returns what ends it, called after the
// hold time.
type fault struct {
	name  string
	apply func(e *env, id int32) (recover func())
}

var faultKinds = []fault{
	{"kill", func(e *env, id int32) func() { e.c.Kill(id); return func() { e.c.Restart(id) } }},
	{"clean-restart", func(e *env, id int32) func() { e.c.Stop(id); return func() { e.c.Restart(id) } }},
	{"hard-bounce", func(e *env, id int32) func() { e.c.Kill(id); e.c.Restart(id); return func() {} }},
	{"pause", func(e *env, id int32) func() { e.c.Pause(id); return func() { e.c.Resume(id) } }},
	{"cut-off", func(e *env, id int32) func() { e.c.CutOff(id); return func() { e.c.Heal(id) } }},
	{"cut-from-zk", func(e *env, id int32) func() { e.c.CutFromZK(id); return func() { e.c.Heal(id) } }},
	{"cut-from-peers", func(e *env, id int32) func() { e.c.CutFromPeers(id); return func() { e.c.Heal(id) } }},
	{"bounce-unnoticed", bounceUnnoticed},
	{"zk-cut-during-election", zkCutDuringElection},
	{"delete-records", deleteRecords},
	{"reassign-cancel", reassignCancel},
}

// bounceUnnoticed kills the broker with SIGKILL and starts it again at
// once, faster than the ZooKeeper session timeout; the controller is cut
// from ZooKeeper (for less than its session timeout) from before the old
// registration expires until the new one exists, so it sees a broker whose
// epoch changed, never its absence (KafkaController.processBrokerChange's
// bounced brokers).
func bounceUnnoticed(e *env, id int32) func() {
	ctl, _ := e.c.ControllerID()
	old, _, _ := e.c.BrokerEpoch(id)
	killed := time.Now()
	e.c.Kill(id)
	e.c.Launch(id)
	if ctl < 0 || ctl == id {
		return func() { e.c.WaitForBrokers(id) }
	}
	// The old registration lives until its session expires, ~sessionTimeout
	// after the kill; the restarted broker registers right after.
	time.Sleep(time.Until(killed.Add(sessionTimeout / 2)))
	e.c.CutFromZK(ctl)
	deadline := killed.Add(sessionTimeout * 3 / 2)
	for time.Now().Before(deadline) {
		if ep, ok, err := e.c.BrokerEpoch(id); err == nil && ok && ep != old {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.c.Heal(ctl)
	return func() { e.c.WaitForBrokers(id) }
}

// zkCutDuringElection kills the controller, and the moment /controller
// goes (its session expired) cuts another broker from ZooKeeper: the one
// that won the election if it is already known, else a random one that is
// probably running for it. The cut lasts either less than a session
// timeout (an election request whose reply is lost) or more (the session
// expires in the middle of the new controller's first ZooKeeper calls).
func zkCutDuringElection(e *env, _ int32) func() {
	ctl, err := e.c.ControllerID()
	if err != nil || ctl < 0 {
		e.t.Logf("zk-cut-during-election: no controller (%v); nothing done", err)
		return func() {}
	}
	e.c.Kill(ctl)
	target := int32(-1)
	deadline := time.Now().Add(3 * sessionTimeout)
	for time.Now().Before(deadline) {
		id, err := e.c.ControllerID()
		if err == nil && id != ctl {
			target = id
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if target < 0 { // no winner yet: one of the others
		for target < 0 || target == ctl {
			target = int32(e.rng.IntN(brokers))
		}
	}
	e.c.CutFromZK(target)
	hold := 1500 * time.Millisecond
	if e.rng.IntN(2) == 0 {
		hold = sessionTimeout + time.Second
	}
	e.t.Logf("zk-cut-during-election: killed controller %d, cut broker %d from ZooKeeper for %v", ctl, target, hold)
	time.Sleep(hold)
	e.c.Heal(target)
	return func() { e.c.Restart(ctl) }
}

// partitionOf returns a random partition's replicas and leader.
func partitionOf(e *env) (int32, []int32, int32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := e.adm.Metadata(ctx, topic)
	if err != nil {
		return 0, nil, 0, err
	}
	p := int32(e.rng.IntN(partitions))
	pd, ok := md.Topics[topic].Partitions[p]
	if !ok {
		return 0, nil, 0, fmt.Errorf("no metadata for %s-%d", topic, p)
	}
	return p, pd.Replicas, pd.Leader, nil
}

// deleteRecords moves a partition's log start up to a few records below
// its high watermark (likely inside a batch) with DeleteRecords, under the
// load. When the victim is a follower of that partition it is killed
// first and restarted after the deletion, so it comes back below the
// leader's new log start.
func deleteRecords(e *env, id int32) func() {
	p, replicas, leader, err := partitionOf(e)
	if err != nil {
		e.t.Logf("delete-records: %v; nothing done", err)
		return func() {}
	}
	killed := slices.Contains(replicas, id) && id != leader
	if killed {
		e.c.Kill(id)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ends, err := e.adm.ListEndOffsets(ctx, topic)
		hw, ok := ends.Lookup(topic, p)
		switch {
		case err != nil:
			e.t.Logf("delete-records: listing end offsets: %v", err)
		case !ok || hw.Err != nil:
			e.t.Logf("delete-records: end offset of %s-%d: %v", topic, p, hw.Err)
		default:
			at := max(hw.Offset-int64(e.rng.IntN(6)), 0)
			var req kadm.Offsets
			req.Add(kadm.Offset{Topic: topic, Partition: p, At: at})
			resp, err := e.adm.DeleteRecords(ctx, req)
			if err == nil {
				err = resp.Error()
			}
			if err == nil {
				r, _ := resp.On(topic, p, nil)
				e.chk.DeletedBefore(p, r.LowWatermark)
				e.t.Logf("delete-records: %s-%d log start %d (HW %d), follower %d down: %v", topic, p, r.LowWatermark, hw.Offset, id, killed)
			} else {
				// It may have happened anyway: what the log start became
				// is what was deleted.
				e.t.Logf("delete-records: %s-%d before %d: %v", topic, p, at, err)
				if starts, lerr := e.adm.ListStartOffsets(ctx, topic); lerr == nil {
					if s, ok := starts.Lookup(topic, p); ok && s.Err == nil {
						e.chk.DeletedBefore(p, s.Offset)
					}
				}
			}
		}
		if killed {
			e.c.Restart(id)
		}
	}
}

// reassignCancel moves one follower of a random partition to a broker that
// holds no replica of it, then cancels the reassignment after the hold
// (AlterPartitionReassignments with null replicas). Half the time the
// adding replica's fetches are cut meanwhile, so the cancel finds the
// reassignment in progress; otherwise it may have completed.
func reassignCancel(e *env, _ int32) func() {
	p, replicas, leader, err := partitionOf(e)
	if err != nil || leader < 0 {
		e.t.Logf("reassign-cancel: leader %d: %v; nothing done", leader, err)
		return func() {}
	}
	var spare []int32
	for b := range int32(brokers) {
		if !slices.Contains(replicas, b) {
			spare = append(spare, b)
		}
	}
	var followers []int32
	for _, r := range replicas {
		if r != leader {
			followers = append(followers, r)
		}
	}
	if len(spare) == 0 || len(followers) == 0 {
		e.t.Logf("reassign-cancel: %s-%d replicas %v leader %d: no move possible", topic, p, replicas, leader)
		return func() {}
	}
	adding := spare[e.rng.IntN(len(spare))]
	dropped := followers[e.rng.IntN(len(followers))]
	target := slices.Clone(replicas)
	target[slices.Index(target, dropped)] = adding
	held := e.rng.IntN(2) == 0
	if held {
		e.c.CutFetches(adding, leader)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var req kadm.AlterPartitionAssignmentsReq
	req.Assign(topic, p, target)
	resp, err := e.adm.AlterPartitionAssignments(ctx, req)
	if err == nil {
		err = resp.Error()
	}
	e.t.Logf("reassign-cancel: %s-%d %v -> %v (fetches of %d cut: %v): %v", topic, p, replicas, target, adding, held, err)
	return func() {
		var req kadm.AlterPartitionAssignmentsReq
		req.CancelAssign(topic, p)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		resp, err := e.adm.AlterPartitionAssignments(ctx, req)
		if err == nil {
			err = resp.Error()
		}
		if held {
			e.c.Heal(adding)
		}
		switch {
		case errors.Is(err, kerr.NoReassignmentInProgress):
			e.t.Logf("reassign-cancel: %s-%d: the reassignment had completed", topic, p)
		default:
			e.t.Logf("reassign-cancel: cancelled %s-%d: %v", topic, p, err)
		}
	}
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
		"default.replication.factor=3", fmt.Sprintf("zookeeper.session.timeout.ms=%d", sessionTimeout.Milliseconds()))
	adm := kadm.NewClient(c.Client())
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, partitions, rf, nil, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	waitHealthy(t, c, adm, 90*time.Second, nil)

	chk := checker.New(topic)
	e := &env{t: t, c: c, adm: adm, chk: chk, rng: rng}
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
	var round []int
	for time.Since(start) < dur || total < minFaults {
		if len(round) == 0 {
			round = rng.Perm(len(faultKinds))
		}
		f := faultKinds[round[0]]
		round = round[1:]
		id := int32(rng.IntN(brokers))
		hold := interval/4 + time.Duration(rng.Int64N(int64(interval/2)+1))
		if rng.IntN(6) == 0 {
			hold = sessionTimeout + 2*time.Second // past the ZooKeeper session timeout
		}
		before := chk.Acked()
		recover := f.apply(e, id)
		time.Sleep(hold)
		recover()
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
	strays := strayReplicas(t, c, time.Minute)
	kinds := make([]string, 0, len(counts))
	for k, n := range counts {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(kinds)
	summary := fmt.Sprintf("soak %v (seed %d): acknowledged=%d deleted=%d read=%d failed-attempts=%d faults=%d [%s] lost=%d duplicated=%d inconsistent=%d backwards=%d stray-replicas=%d",
		time.Since(start).Round(time.Second), seed, rep.Acked, rep.Deleted, rep.Read, chk.Failed(), total, strings.Join(kinds, " "),
		len(rep.Lost), len(rep.Duplicated), len(rep.Inconsistent), len(rep.Backwards), len(strays))
	fmt.Println(summary)
	t.Log(summary)
	if !rep.OK() {
		t.Fatalf("checker: %s", rep)
	}
	if len(strays) > 0 {
		t.Fatalf("replicas left on brokers outside their partition's assignment: %v", strays)
	}
	if rep.Acked == 0 {
		t.Fatal("nothing was acknowledged")
	}
}

// strayReplicas polls until no broker holds a directory of a soak
// partition it is not a replica of (per /brokers/topics/soak) and returns
// those still there after timeout.
func strayReplicas(t *testing.T, c *cluster.Cluster, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var strays []string
		data, _, err := c.ZKConn().Get(c.ZKPath("/brokers/topics/" + topic))
		var tp struct {
			Partitions map[string][]int32 `json:"partitions"`
		}
		if err == nil {
			err = json.Unmarshal(data, &tp)
		}
		if err != nil {
			t.Fatalf("reading /brokers/topics/%s: %v", topic, err)
		}
		for b := range int32(brokers) {
			for p := range partitions {
				dir := filepath.Join(c.Broker(b).LogDir, fmt.Sprintf("%s-%d", topic, p))
				if _, err := os.Stat(dir); err == nil && !slices.Contains(tp.Partitions[strconv.Itoa(p)], b) {
					strays = append(strays, fmt.Sprintf("%s-%d on broker %d (replicas %v)", topic, p, b, tp.Partitions[strconv.Itoa(p)]))
				}
			}
		}
		if len(strays) == 0 || time.Now().After(deadline) {
			return strays
		}
		time.Sleep(time.Second)
	}
}

// waitHealthy polls Metadata until every broker is registered and every
// partition of the topic has a leader and all its replicas in sync. A
// broker process that exited is restarted like an operator would, and
// counted in restarts.
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
		if p.Leader < 0 || len(p.Replicas) < rf || len(p.ISR) != len(p.Replicas) {
			return false, fmt.Sprintf("partition %d leader %d replicas %v isr %v", p.Partition, p.Leader, p.Replicas, p.ISR)
		}
	}
	return true, ""
}
