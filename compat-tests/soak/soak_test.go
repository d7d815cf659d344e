// Package soak runs five brokers (topics of RF 3 spread over them,
// min.insync.replicas=2) under a steady acks=all idempotent load while
// random faults hit them: one broker at a time (kill, clean restart,
// bounce, pause, cut off, cut from ZooKeeper, cut from peers, a bounce the
// controller does not notice, a ZooKeeper cut during a controller
// election, DeleteRecords under load, a reassignment started and
// cancelled) and several at once (two brokers down together, the
// controller with a partition leader, ZooKeeper restarted in the middle of
// a reassignment, the controller partitioned from its peers, or from
// ZooKeeper or paused past its session into a zombie, an unclean election
// forced on a topic that allows it).
// Then it reads everything back with the checker: zero acknowledged
// records lost, duplicated, altered or reordered on the clean topic, and
// no replica left on a broker that is not in its partition's assignment,
// or it fails. The unclean topic's loss is reported as a figure.
//
// It runs only when SOAK_DURATION is set (`make soak`, `make soak-long`):
// SOAK_DURATION is the minimum run time (Go duration, e.g. 10m) and
// SOAK_FAULTS the minimum number of faults (default 100); the run lasts
// until both are reached. Fault kinds come in rounds, each a fresh random
// order of every kind, drawn from a seed printed at the start (SOAK_SEED
// replays the schedule: kinds, victims, hold times, and each fault's own
// choices, which come from a generator of its own seeded by the seed and
// the fault's number).
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
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

const (
	brokers    = 5 // two more than the replication factor: reassignments can add a replica with two brokers down
	rf         = 3
	topic      = "soak"
	partitions = 10
	// uncleanTopic has unclean.leader.election.enable=true; its loss is a
	// figure, not a failure.
	uncleanTopic      = "soak-unclean"
	uncleanPartitions = 3
	// sessionTimeout is every broker's zookeeper.session.timeout.ms; the
	// faults that must stay below it are timed against it.
	sessionTimeout = 6 * time.Second
)

// env is what a fault works with.
type env struct {
	t    *testing.T
	c    *cluster.Cluster
	adm  *kadm.Client
	chk  *checker.Checker // the clean topic
	uchk *checker.Checker // the unclean topic
	rng  *rand.Rand       // this fault's own generator
	// stats counts what faults observed (probes, elections, reassignments),
	// printed at the end; findings are failures, reported at the end so
	// the verdict still prints.
	stats    map[string]int
	findings []string
	// uncleanLoss holds the acknowledged values of the unclean topic that
	// forced unclean elections were expected to lose.
	uncleanLoss map[string]bool
	verifyFile  string // the last plan kafka-reassign-partitions executed
}

// finding records a failure of the run (Kafka's promise broken) without
// stopping it.
func (e *env) finding(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	e.t.Log("FINDING: " + msg)
	e.findings = append(e.findings, msg)
}

// fault is one kind of trouble: apply starts it on a broker (the victim;
// some kinds pick their own) and returns what ends it, called after the
// hold time (at least minHold).
type fault struct {
	name    string
	apply   func(e *env, id int32) (recover func())
	minHold time.Duration
}

var faultKinds = []fault{
	{name: "kill", apply: func(e *env, id int32) func() { e.c.Kill(id); return func() { e.c.Restart(id) } }},
	{name: "clean-restart", apply: func(e *env, id int32) func() { e.c.Stop(id); return func() { e.c.Restart(id) } }},
	{name: "hard-bounce", apply: func(e *env, id int32) func() { e.c.Kill(id); e.c.Restart(id); return func() {} }},
	{name: "pause", apply: func(e *env, id int32) func() { e.c.Pause(id); return func() { e.c.Resume(id) } }},
	{name: "cut-off", apply: func(e *env, id int32) func() { e.c.CutOff(id); return func() { e.c.Heal(id) } }},
	{name: "cut-from-zk", apply: func(e *env, id int32) func() { e.c.CutFromZK(id); return func() { e.c.Heal(id) } }},
	{name: "cut-from-peers", apply: func(e *env, id int32) func() { e.c.CutFromPeers(id); return func() { e.c.Heal(id) } }},
	{name: "bounce-unnoticed", apply: bounceUnnoticed},
	{name: "zk-cut-during-election", apply: zkCutDuringElection},
	{name: "delete-records", apply: deleteRecords},
	{name: "reassign-cancel", apply: reassignCancel},
	// Several at once (simultaneous_test.go, unclean_test.go).
	{name: "two-brokers", apply: twoBrokers},
	{name: "controller-and-leader", apply: controllerAndLeader},
	{name: "zk-restart-during-reassignment", apply: zkRestartDuringReassignment},
	{name: "controller-cut-off", apply: controllerCutOff, minHold: sessionTimeout + 2*time.Second},
	{name: "controller-cut-from-zk", apply: controllerCutFromZK, minHold: sessionTimeout + 2*time.Second},
	{name: "controller-cut-from-peers", apply: controllerCutFromPeers},
	{name: "controller-paused-past-session", apply: controllerPaused, minHold: sessionTimeout + 2*time.Second},
	{name: "unclean-election", apply: uncleanElection},
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
		e.t.Logf("zk-cut-during-election: no new controller within %v", 3*sessionTimeout)
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

// partitionOf returns a random partition of the clean topic, its
// replicas and leader.
func partitionOf(e *env) (int32, []int32, int32, error) {
	p := int32(e.rng.IntN(partitions))
	pd, err := partitionMeta(e, topic, p)
	return p, pd.Replicas, pd.Leader, err
}

// partitionMeta is the metadata of one partition.
func partitionMeta(e *env, t string, p int32) (kadm.PartitionDetail, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := e.adm.Metadata(ctx, t)
	if err != nil {
		return kadm.PartitionDetail{}, err
	}
	pd, ok := md.Topics[t].Partitions[p]
	if !ok {
		return kadm.PartitionDetail{}, fmt.Errorf("no metadata for %s-%d", t, p)
	}
	return pd, nil
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
		if minFaults, err = strconv.Atoi(s); err != nil || minFaults < 1 {
			t.Fatalf("SOAK_FAULTS=%q: a positive number (%v)", s, err)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SOAK_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("SOAK_SEED=%q: %v", s, err)
		}
	}
	// The schedule (kind, victim, hold) comes from rng alone; each fault's
	// own choices from a generator seeded by (seed, fault number), so a
	// replay keeps the schedule whatever the faults saw.
	rng := rand.New(rand.NewPCG(seed, 1))
	fmt.Printf("soak: %v, >= %d faults, seed %d (SOAK_SEED=%d replays the schedule)\n", dur, minFaults, seed, seed)
	t.Logf("soak: %v, >= %d faults, seed %d", dur, minFaults, seed)

	c := cluster.Start(t, brokers, "min.insync.replicas=2", "replica.lag.time.max.ms=3000",
		"default.replication.factor=3", fmt.Sprintf("zookeeper.session.timeout.ms=%d", sessionTimeout.Milliseconds()))
	// Metadata at most 100 ms old (kgo caches it for 5 s by default): the
	// health checks and the faults' waits see changes as they happen.
	adm := kadm.NewClient(c.Client(kgo.MetadataMinAge(100 * time.Millisecond)))
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, partitions, rf, nil, topic); err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	unclean := "true"
	if _, err := adm.CreateTopic(ctx, uncleanPartitions, rf,
		map[string]*string{"unclean.leader.election.enable": &unclean}, uncleanTopic); err != nil {
		t.Fatalf("creating %s: %v", uncleanTopic, err)
	}
	waitHealthy(t, c, adm, 90*time.Second, nil)

	chk := checker.New(topic)
	uchk := checker.New(uncleanTopic)
	e := &env{t: t, c: c, adm: adm, chk: chk, uchk: uchk, stats: map[string]int{}, uncleanLoss: map[string]bool{}}
	pctx, stopLoad := context.WithCancel(ctx)
	var loads sync.WaitGroup
	for _, l := range []struct {
		chk      *checker.Checker
		inFlight int
	}{{chk, 20}, {uchk, 8}} {
		loads.Add(1)
		go func() {
			defer loads.Done()
			l.chk.Produce(pctx, c.Client(kgo.RecordPartitioner(kgo.RoundRobinPartitioner())), l.inFlight)
		}()
	}

	interval := dur / time.Duration(minFaults)
	start := time.Now()
	counts := map[string]int{}
	total := 0
	summarized := false
	// A run stopped by t.Fatal (the cluster never healthy again, a broker
	// that would not start) still says how far it got.
	t.Cleanup(func() {
		if summarized {
			return
		}
		kinds := make([]string, 0, len(counts))
		for k, n := range counts {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		}
		slices.Sort(kinds)
		msg := fmt.Sprintf("soak ABORTED after %v, seed %d, %d faults done [%s]; verdict FAIL; findings: %v",
			time.Since(start).Round(time.Second), seed, total, strings.Join(kinds, " "), e.findings)
		fmt.Println(msg)
		t.Log(msg)
	})
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
		hold = max(hold, f.minHold)
		e.rng = rand.New(rand.NewPCG(seed, uint64(total)+2))
		before, ubefore := chk.Acked(), uchk.Acked()
		t.Logf("fault %d at %v: %s broker %d, hold %v", total+1, time.Since(start).Round(time.Second), f.name, id, hold.Round(time.Millisecond))
		recover := f.apply(e, id)
		time.Sleep(hold)
		recover()
		total++
		counts[f.name]++
		recovered := time.Now()
		waitHealthy(t, c, adm, 2*time.Minute, counts)
		t.Logf("fault %d done: healthy %v after recovery; acked %d (+%d), unclean topic %d (+%d), failed attempts %d",
			total, time.Since(recovered).Round(time.Millisecond), chk.Acked(), chk.Acked()-before,
			uchk.Acked(), uchk.Acked()-ubefore, chk.Failed()+uchk.Failed())
	}
	time.Sleep(time.Second)
	stopLoad()
	loads.Wait()
	c.HealAll()
	waitHealthy(t, c, adm, 2*time.Minute, counts)

	vctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	seeds := strings.Split(c.Bootstrap(), ",")
	rep, err := chk.Verify(vctx, seeds)
	if err != nil {
		t.Fatalf("verifying %s: %v", topic, err)
	}
	urep, err := uchk.Verify(vctx, seeds)
	if err != nil {
		t.Fatalf("verifying %s: %v", uncleanTopic, err)
	}
	strays := strayReplicas(t, c, time.Minute)

	// The unclean topic: its loss, exactly (acknowledged values read back
	// nowhere), beside what the forced unclean elections predicted.
	predictedLost := 0
	for _, v := range urep.Vanished {
		if e.uncleanLoss[v] {
			predictedLost++
		}
	}
	verdict := "PASS"
	if !rep.OK() || len(strays) > 0 || rep.Acked == 0 || len(urep.Backwards) > 0 || len(e.findings) > 0 {
		verdict = "FAIL"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "soak %v, seed %d, %d faults; verdict %s\n", time.Since(start).Round(time.Second), seed, total, verdict)
	fmt.Fprintf(&b, "faults by kind:\n")
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "  %-32s %4d\n", k, counts[k])
	}
	if len(e.stats) > 0 {
		fmt.Fprintf(&b, "observed:\n")
		names := make([]string, 0, len(e.stats))
		for k := range e.stats {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(&b, "  %-48s %4d\n", k, e.stats[k])
		}
	}
	fmt.Fprintf(&b, "%s (clean): acknowledged=%d deleted=%d read=%d failed-attempts=%d lost=%d duplicated=%d inconsistent=%d backwards=%d stray-replicas=%d\n",
		topic, rep.Acked, rep.Deleted, rep.Read, chk.Failed(), len(rep.Lost), len(rep.Duplicated), len(rep.Inconsistent), len(rep.Backwards), len(strays))
	fmt.Fprintf(&b, "%s (unclean.leader.election.enable=true): acknowledged=%d read=%d failed-attempts=%d LOST=%d (of which predicted by forced unclean elections: %d of %d predicted) duplicated=%d inconsistent=%d backwards=%d\n",
		uncleanTopic, urep.Acked, urep.Read, uchk.Failed(), len(urep.Vanished), predictedLost, len(e.uncleanLoss),
		len(urep.Duplicated), len(urep.Inconsistent), len(urep.Backwards))
	for _, f := range e.findings {
		fmt.Fprintf(&b, "finding: %s\n", f)
	}
	summary := b.String()
	summarized = true
	fmt.Print(summary)
	t.Log(summary)
	if len(urep.Vanished) > 0 {
		t.Logf("%s lost (not a failure: unclean elections allowed): %s", uncleanTopic, clip(urep.Vanished))
	}
	if !rep.OK() {
		t.Errorf("checker: %s", rep)
	}
	if len(urep.Backwards) > 0 {
		t.Errorf("%s read backwards: %s", uncleanTopic, clip(urep.Backwards))
	}
	if len(strays) > 0 {
		t.Errorf("replicas left on brokers outside their partition's assignment: %v", strays)
	}
	if rep.Acked == 0 {
		t.Error("nothing was acknowledged")
	}
	for _, f := range e.findings {
		t.Errorf("finding: %s", f)
	}
}

func clip(s []string) string {
	if len(s) > 20 {
		return strings.Join(s[:20], ", ") + fmt.Sprintf(", ... (%d)", len(s))
	}
	return strings.Join(s, ", ")
}

// strayReplicas polls until no broker holds a directory of a soak
// partition it is not a replica of (per /brokers/topics/<topic>) and
// returns those still there after timeout.
func strayReplicas(t *testing.T, c *cluster.Cluster, timeout time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var strays []string
		for _, tp := range []struct {
			name string
			n    int
		}{{topic, partitions}, {uncleanTopic, uncleanPartitions}} {
			data, _, err := c.ZKConn().Get(c.ZKPath("/brokers/topics/" + tp.name))
			var assignment struct {
				Partitions map[string][]int32 `json:"partitions"`
			}
			if err == nil {
				err = json.Unmarshal(data, &assignment)
			}
			if err != nil {
				t.Fatalf("reading /brokers/topics/%s: %v", tp.name, err)
			}
			for b := range int32(brokers) {
				for p := range tp.n {
					dir := filepath.Join(c.Broker(b).LogDir, fmt.Sprintf("%s-%d", tp.name, p))
					replicas := assignment.Partitions[strconv.Itoa(p)]
					if _, err := os.Stat(dir); err == nil && !slices.Contains(replicas, b) {
						strays = append(strays, fmt.Sprintf("%s-%d on broker %d (replicas %v)", tp.name, p, b, replicas))
					}
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
// partition of both topics has a leader and all its replicas in sync. A
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
	md, err := adm.Metadata(ctx, topic, uncleanTopic)
	if err != nil {
		return false, err.Error()
	}
	if len(md.Brokers) != brokers {
		return false, fmt.Sprintf("%d brokers registered", len(md.Brokers))
	}
	for _, tp := range []struct {
		name string
		n    int
	}{{topic, partitions}, {uncleanTopic, uncleanPartitions}} {
		td, ok := md.Topics[tp.name]
		if !ok || len(td.Partitions) != tp.n {
			return false, "no metadata for " + tp.name
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || len(p.Replicas) < rf || len(p.ISR) != len(p.Replicas) {
				return false, fmt.Sprintf("%s-%d leader %d replicas %v isr %v", tp.name, p.Partition, p.Leader, p.Replicas, p.ISR)
			}
		}
	}
	return true, ""
}
