// Package eos is the exactly-once chaos test of issue 17: a
// consume-transform-produce pipeline (franz-go GroupTransactSession
// members) on three brokers (RF 3, min.insync.replicas 2) while
// transaction coordinators, partition leaders and members are killed and
// restarted. Run drives it on any cluster a Starter gives: ours
// (compat-tests/cluster) or Apache Kafka 3.9 (cluster.StartKafkaRefCluster).
//
// The verdict, from the runner's own reads:
//   - the output topic read with read_committed holds the transform of each
//     input record exactly once (Kafka's exactly-once: transactional
//     produce plus the input offsets committed in the same transaction,
//     TxnOffsetCommit, KIP-98/KIP-447);
//   - the records of aborted transactions (the members' deliberate aborts,
//     their crashes mid-transaction) are never returned to read_committed
//     (the runner's read_uncommitted finds them: they were written);
//   - a zombie producer with an old epoch is fenced: after another producer
//     initialised the same transactional.id its produce or commit fails with
//     INVALID_PRODUCER_EPOCH or PRODUCER_FENCED, and its records stay aborted.
package eos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Cluster is three running brokers the test may kill and restart.
type Cluster interface {
	Bootstrap() string
	// Kill ends broker id with SIGKILL and waits until it is gone.
	Kill(id int32)
	// Restart starts a killed broker again (same id, port, log dirs) and
	// waits until it serves.
	Restart(id int32)
}

// Starter starts a three-broker cluster with these broker settings (Kafka's
// names) and stops it when the test ends.
type Starter func(tb testing.TB, settings map[string]string) Cluster

// Settings are the brokers' settings of the run: the internal topics
// replicated on all three brokers, written with min ISR 2, few partitions
// (quick to create and to move), no initial rebalance delay.
func Settings() map[string]string {
	return map[string]string{
		"offsets.topic.replication.factor":         "3",
		"offsets.topic.num.partitions":             "5",
		"transaction.state.log.replication.factor": "3",
		"transaction.state.log.min.isr":            "2",
		"transaction.state.log.num.partitions":     "5",
		"group.initial.rebalance.delay.ms":         "0",
	}
}

// Config sizes a run.
type Config struct {
	Members    int           // pipeline members (GroupTransactSessions)
	Partitions int32         // of the input and the output topic
	Rounds     int           // fault rounds: coordinator kill, leader kill, member crash
	Rate       int           // input records per second while the faults run
	AbortEvery int           // every AbortEvery-th transaction of a member is aborted on purpose
	Progress   time.Duration // bound of each wait for pipeline progress
}

// Compact is the run for `make test`: one round of each fault.
func Compact() Config {
	return Config{Members: 3, Partitions: 6, Rounds: 1, Rate: 200, AbortEvery: 5, Progress: 60 * time.Second}
}

// Long is the run behind EOS_LONG=1: eight rounds.
func Long() Config {
	return Config{Members: 3, Partitions: 6, Rounds: 8, Rate: 400, AbortEvery: 5, Progress: 90 * time.Second}
}

const (
	input  = "eos-in"
	output = "eos-out"
	group  = "eos-pipeline"
)

// Run starts the cluster, the pipeline and the faults, and checks the
// verdict (see the package comment).
func Run(t *testing.T, start Starter, cfg Config) {
	begin := time.Now()
	cl := start(t, Settings())
	brokers := strings.Split(cl.Bootstrap(), ",")
	t.Logf("cluster up after %v: %s", time.Since(begin).Round(time.Millisecond), cl.Bootstrap())
	admCl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RetryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	for _, topic := range []string{input, output} {
		resp, err := adm.CreateTopic(ctx, cfg.Partitions, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("creating %s: %v", topic, err)
		}
	}
	if err := waitFor(ctx, 30*time.Second, func() error { return leadersOf(ctx, adm, input, output) }); err != nil {
		t.Fatal(err)
	}

	r := &runner{t: t, cfg: cfg, brokers: brokers, adm: adm, kcl: admCl, cl: cl}
	// The input: idempotent acks=all records "i<n>", cfg.Rate per second,
	// until the faults are done.
	prodCtx, stopProd := context.WithCancel(ctx)
	prodDone := make(chan error, 1)
	go func() { prodDone <- r.produceInput(prodCtx) }()

	for slot := range cfg.Members {
		r.startMember(ctx, slot)
	}
	defer r.stopMembers()
	if err := r.waitProgress(ctx, 5); err != nil {
		t.Fatalf("the pipeline does not commit: %v", err)
	}
	t.Logf("pipeline of %d members committing after %v", cfg.Members, time.Since(begin).Round(time.Millisecond))

	for round := range cfg.Rounds {
		r.killCoordinator(ctx, round)
		r.killLeader(ctx, round)
		r.crashMember(ctx, round%cfg.Members)
		if t.Failed() {
			break
		}
	}
	stopProd()
	if err := <-prodDone; err != nil {
		t.Fatalf("input producer: %v", err)
	}
	t.Logf("faults done after %v; %d input records", time.Since(begin).Round(time.Millisecond), r.produced.Load())
	if t.Failed() {
		return
	}

	// Drain: the group's committed offsets reach the input's ends.
	ends, err := adm.ListEndOffsets(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, cfg.Progress, func() error {
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		var behind []string
		ends.Each(func(o kadm.ListedOffset) {
			c, _ := offs.Lookup(input, o.Partition)
			if c.At < o.Offset {
				behind = append(behind, fmt.Sprintf("%d: %d of %d", o.Partition, c.At, o.Offset))
			}
		})
		if len(behind) > 0 {
			return fmt.Errorf("the group's committed offsets trail the input: %s", strings.Join(behind, ", "))
		}
		return nil
	}); err != nil {
		t.Fatalf("draining: %v", err)
	}
	r.stopMembers()
	t.Logf("drained after %v: %d transactions committed, %d aborted on purpose, %d crashed mid-transaction, %d sessions renewed after a fatal error",
		time.Since(begin).Round(time.Millisecond), r.commits.Load(), r.aborts.Load(), r.crashes.Load(), r.renewals.Load())

	r.checkOutput(ctx)
	r.checkZombie(ctx)
	t.Logf("done after %v", time.Since(begin).Round(time.Millisecond))
}

type runner struct {
	t       *testing.T
	cfg     Config
	brokers []string
	adm     *kadm.Client
	kcl     *kgo.Client
	cl      Cluster

	produced atomic.Int64
	commits  atomic.Int64 // committed transactions, all members
	aborts   atomic.Int64
	crashes  atomic.Int64
	renewals atomic.Int64 // sessions replaced after a fatal error

	mu      sync.Mutex
	members map[int]*member
}

// produceInput writes "i<n>" round robin over the partitions until ctx ends.
func (r *runner) produceInput(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.DefaultProduceTopic(input),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		return err
	}
	defer cl.Close()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	per := max(r.cfg.Rate/10, 1)
	var n int64
	for {
		select {
		case <-ctx.Done():
			// Every record sent is acknowledged (or the run fails).
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			return cl.Flush(fctx)
		case <-tick.C:
		}
		recs := make([]*kgo.Record, 0, per)
		for range per {
			recs = append(recs, &kgo.Record{Partition: int32(n % int64(r.cfg.Partitions)), Value: []byte("i" + strconv.FormatInt(n, 10))})
			n++
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			if ctx.Err() != nil {
				fctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				return cl.Flush(fctx)
			}
			return err
		}
		r.produced.Add(int64(per))
	}
}

// member is one GroupTransactSession of the pipeline; slot s always uses
// transactional.id eos-member-s, so a restarted member fences its
// predecessor (InitProducerId bumps the epoch and aborts its open
// transaction).
type member struct {
	slot   int
	sess   *kgo.GroupTransactSession
	cancel context.CancelFunc
	done   chan struct{}
	crash  atomic.Bool // abandon the next transaction after its produce
	txns   int
}

func (r *runner) startMember(ctx context.Context, slot int) {
	sess, err := r.newSession(slot)
	if err != nil {
		r.t.Fatalf("member %d: %v", slot, err)
	}
	mctx, cancel := context.WithCancel(ctx)
	m := &member{slot: slot, sess: sess, cancel: cancel, done: make(chan struct{})}
	r.mu.Lock()
	if r.members == nil {
		r.members = map[int]*member{}
	}
	r.members[slot] = m
	r.mu.Unlock()
	go func() {
		defer close(m.done)
		r.runMember(mctx, m)
	}()
}

func (r *runner) newSession(slot int) (*kgo.GroupTransactSession, error) {
	sess, err := kgo.NewGroupTransactSession(kgo.SeedBrokers(r.brokers...),
		kgo.TransactionalID("eos-member-"+strconv.Itoa(slot)), kgo.TransactionTimeout(20*time.Second),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(input), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.FetchMaxWait(300*time.Millisecond),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryTimeout(60*time.Second), kgo.ClientID("eos-member-"+strconv.Itoa(slot)))
	return sess, err
}

// fatal: the producer cannot go on (fenced, or franz-go's "fatal,
// unrecoverable" state): as an application does (Kafka Streams closes the
// task's producer), the member closes its session and starts a new one with
// the same transactional.id.
func fatal(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) ||
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed) || strings.Contains(err.Error(), "fatal")
}

// runMember polls, transforms every record "i<n>" into "t<n>" (same
// partition) inside a transaction, and ends it: every AbortEvery-th one is
// aborted on purpose after junk records "x-<slot>-<k>" were flushed with
// the transforms.
func (r *runner) runMember(ctx context.Context, m *member) {
	for ctx.Err() == nil {
		fs := m.sess.PollRecords(ctx, 200)
		if ctx.Err() != nil {
			return
		}
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		if err := m.sess.Begin(); err != nil {
			r.t.Logf("member %d: begin: %v", m.slot, err)
			if fatal(err) && !r.renew(m) {
				return
			}
			continue
		}
		m.txns++
		abort := r.cfg.AbortEvery > 0 && m.txns%r.cfg.AbortEvery == 0
		for _, rec := range recs {
			m.sess.Produce(ctx, &kgo.Record{Topic: output, Partition: rec.Partition, Value: append([]byte("t"), rec.Value[1:]...)}, nil)
		}
		if abort || m.crash.Load() {
			m.sess.Produce(ctx, &kgo.Record{Topic: output, Partition: recs[0].Partition,
				Value: []byte(fmt.Sprintf("x-%d-%d", m.slot, m.txns))}, nil)
			if err := m.sess.Client().Flush(ctx); err != nil && ctx.Err() == nil {
				r.t.Logf("member %d: flush: %v", m.slot, err)
			}
		}
		if m.crash.Load() {
			// A crash mid-transaction: no EndTxn; the successor with the same
			// transactional.id fences this producer and aborts its transaction.
			r.crashes.Add(1)
			return
		}
		committed, err := m.sess.End(ctx, kgo.TransactionEndTry(!abort))
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.t.Logf("member %d: end: %v", m.slot, err)
			}
			if fatal(err) && !r.renew(m) {
				return
			}
		case committed:
			r.commits.Add(1)
		case abort:
			r.aborts.Add(1)
		}
	}
}

// renew replaces a member's fenced session (from its own goroutine: the
// others touch m.sess only after m.done).
func (r *runner) renew(m *member) bool {
	m.sess.Close()
	sess, err := r.newSession(m.slot)
	if err != nil {
		r.t.Errorf("member %d: a new session: %v", m.slot, err)
		return false
	}
	m.sess = sess
	r.renewals.Add(1)
	r.t.Logf("member %d: a new session (same transactional.id) after a fatal error", m.slot)
	return true
}

// stopMembers ends every member: a clean End of what is running, then Close.
func (r *runner) stopMembers() {
	r.mu.Lock()
	ms := slices.Collect(maps.Values(r.members))
	r.members = nil
	r.mu.Unlock()
	for _, m := range ms {
		m.cancel()
		<-m.done
		m.sess.Close()
	}
}

// waitProgress waits until n more transactions were committed.
func (r *runner) waitProgress(ctx context.Context, n int64) error {
	from := r.commits.Load()
	return waitFor(ctx, r.cfg.Progress, func() error {
		if got := r.commits.Load() - from; got < n {
			return fmt.Errorf("%d of %d transactions committed", got, n)
		}
		return nil
	})
}

// fault kills broker id, waits for progress without it, restarts it and
// waits for progress again.
func (r *runner) fault(ctx context.Context, what string, id int32) {
	t0 := time.Now()
	r.cl.Kill(id)
	if err := r.waitProgress(ctx, 3); err != nil {
		r.t.Errorf("%s: broker %d killed: %v", what, id, err)
	}
	progressed := time.Since(t0)
	r.cl.Restart(id)
	if err := r.waitProgress(ctx, 3); err != nil {
		r.t.Errorf("%s: broker %d restarted: %v", what, id, err)
	}
	r.t.Logf("%s: broker %d SIGKILLed; commits again %v later; restarted, commits again %v after the kill",
		what, id, progressed.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
}

// killCoordinator kills the transaction coordinator of one member's
// transactional.id (FindCoordinator, key type TRANSACTION).
func (r *runner) killCoordinator(ctx context.Context, round int) {
	txnID := "eos-member-" + strconv.Itoa(round%r.cfg.Members)
	var node int32
	err := waitFor(ctx, 30*time.Second, func() error {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorType = 1
		req.CoordinatorKeys = []string{txnID}
		resp, err := req.RequestWith(ctx, r.kcl)
		if err != nil {
			return err
		}
		if len(resp.Coordinators) != 1 {
			return fmt.Errorf("%d coordinators answered", len(resp.Coordinators))
		}
		c := resp.Coordinators[0]
		if err := kerr.ErrorForCode(c.ErrorCode); err != nil {
			return err
		}
		node = c.NodeID
		return nil
	})
	if err != nil {
		r.t.Errorf("the coordinator of %s: %v", txnID, err)
		return
	}
	r.fault(ctx, "transaction coordinator of "+txnID, node)
}

// killLeader kills the leader of one output partition.
func (r *runner) killLeader(ctx context.Context, round int) {
	p := int32(round) % r.cfg.Partitions
	var leader int32 = -1
	err := waitFor(ctx, 30*time.Second, func() error {
		md, err := r.adm.Metadata(ctx, output)
		if err != nil {
			return err
		}
		pd, ok := md.Topics[output].Partitions[p]
		if !ok || pd.Leader < 0 {
			return fmt.Errorf("%s/%d has no leader", output, p)
		}
		leader = pd.Leader
		return nil
	})
	if err != nil {
		r.t.Errorf("%v", err)
		return
	}
	r.fault(ctx, fmt.Sprintf("leader of %s/%d", output, p), leader)
}

// crashMember abandons a member's transaction after its records were
// written, and starts its successor (same transactional.id).
func (r *runner) crashMember(ctx context.Context, slot int) {
	r.mu.Lock()
	m := r.members[slot]
	r.mu.Unlock()
	t0 := time.Now()
	m.crash.Store(true)
	select {
	case <-m.done:
	case <-time.After(r.cfg.Progress):
		r.t.Errorf("member %d did not reach a transaction to crash in", slot)
	}
	m.cancel()
	<-m.done
	m.sess.Close() // leaves the group (a rebalance), its transaction still open
	r.startMember(ctx, slot)
	if err := r.waitProgress(ctx, 5); err != nil {
		r.t.Errorf("member %d restarted: %v", slot, err)
	}
	r.t.Logf("member %d crashed mid-transaction and restarted; commits again %v later", slot, time.Since(t0).Round(time.Millisecond))
}

// checkOutput: the output's read_committed view is exactly one "t<n>" per
// input "i<n>"; the aborted junk was written (read_uncommitted) but is
// never returned to read_committed.
func (r *runner) checkOutput(ctx context.Context) {
	in, err := readAll(ctx, r.brokers, input, r.cfg.Partitions, false)
	if err != nil {
		r.t.Fatal(err)
	}
	want := map[string]int32{}
	for _, rec := range in {
		want["t"+string(rec.Value[1:])] = rec.Partition
	}
	out, err := readAll(ctx, r.brokers, output, r.cfg.Partitions, true)
	if err != nil {
		r.t.Fatal(err)
	}
	seen := map[string]int{}
	var bad []string
	for _, rec := range out {
		v := string(rec.Value)
		seen[v]++
		switch p, ok := want[v]; {
		case !ok:
			bad = append(bad, fmt.Sprintf("%s at %d/%d (not a transform of the input: an aborted record?)", v, rec.Partition, rec.Offset))
		case seen[v] == 2:
			bad = append(bad, fmt.Sprintf("%s twice (again at %d/%d)", v, rec.Partition, rec.Offset))
		case p != rec.Partition:
			bad = append(bad, fmt.Sprintf("%s in partition %d, its input in %d", v, rec.Partition, p))
		}
	}
	var missing []string
	for v := range want {
		if seen[v] == 0 {
			missing = append(missing, v)
		}
	}
	slices.Sort(missing)
	if len(bad) > 0 || len(missing) > 0 {
		r.t.Errorf("read_committed output: %d records for %d inputs; %d wrong (first %v), %d missing (first %v)",
			len(out), len(want), len(bad), first(bad, 5), len(missing), first(missing, 5))
	}
	all, err := readAll(ctx, r.brokers, output, r.cfg.Partitions, false)
	if err != nil {
		r.t.Fatal(err)
	}
	junk := 0
	for _, rec := range all {
		if strings.HasPrefix(string(rec.Value), "x-") {
			junk++
		}
	}
	if r.aborts.Load()+r.crashes.Load() > 0 && junk == 0 {
		r.t.Errorf("read_uncommitted output has none of the aborted transactions' records: were they written?")
	}
	r.t.Logf("output: %d transforms exactly once for %d inputs; read_uncommitted holds %d records, %d of them aborted junk",
		len(out), len(want), len(all), junk)
}

// checkZombie: producer A opens a transaction and writes "z-old"; B
// initialises the same transactional.id (epoch bump: A's transaction is
// aborted) and commits "z-new"; A's next produce or its commit must fail
// with INVALID_PRODUCER_EPOCH or PRODUCER_FENCED; read_committed returns
// z-new once and no z-old.
func (r *runner) checkZombie(ctx context.Context) {
	const txnID = "eos-zombie"
	newTxn := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(r.brokers...), kgo.DefaultProduceTopic(output),
			kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID(txnID), kgo.TransactionTimeout(60*time.Second))
		if err != nil {
			r.t.Fatal(err)
		}
		return cl
	}
	a := newTxn()
	defer a.Close()
	if err := a.BeginTransaction(); err != nil {
		r.t.Fatal(err)
	}
	if err := a.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("z-old")}).FirstErr(); err != nil {
		r.t.Fatalf("zombie-to-be's produce: %v", err)
	}
	b := newTxn()
	defer b.Close()
	if err := b.BeginTransaction(); err != nil {
		r.t.Fatal(err)
	}
	if err := b.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("z-new")}).FirstErr(); err != nil {
		r.t.Fatalf("successor's produce: %v", err)
	}
	if err := b.EndTransaction(ctx, kgo.TryCommit); err != nil {
		r.t.Fatalf("successor's commit: %v", err)
	}
	fenced := func(err error) bool {
		return errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.ProducerFenced)
	}
	perr := a.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: []byte("z-old2")}).FirstErr()
	cerr := a.EndTransaction(ctx, kgo.TryCommit)
	switch {
	case fenced(perr) || fenced(cerr):
		r.t.Logf("zombie fenced: produce: %v; commit: %v", perr, cerr)
	case cerr == nil:
		r.t.Errorf("the zombie (old epoch) committed; its produce said %v", perr)
	default:
		r.t.Errorf("the zombie failed without INVALID_PRODUCER_EPOCH / PRODUCER_FENCED: produce: %v; commit: %v", perr, cerr)
	}
	out, err := readAll(ctx, r.brokers, output, r.cfg.Partitions, true)
	if err != nil {
		r.t.Fatal(err)
	}
	count := map[string]int{}
	for _, rec := range out {
		if v := string(rec.Value); strings.HasPrefix(v, "z-") {
			count[v]++
		}
	}
	if count["z-new"] != 1 || count["z-old"] != 0 || count["z-old2"] != 0 {
		r.t.Errorf("read_committed after the zombie: %v, want z-new once and no z-old", count)
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// sentinelPrefix starts the values of readAll's sentinels.
const sentinelPrefix = "~sentinel-"

// readAll reads a topic with the given isolation: it writes a sentinel to
// every partition (outside any transaction) and reads until each
// partition's sentinel, so no end offset is needed (control records and
// aborted data hide the last offsets from read_committed). Sentinels (of
// this read and earlier ones) are not returned.
func readAll(ctx context.Context, brokers []string, topic string, partitions int32, committed bool) ([]*kgo.Record, error) {
	mark := sentinelPrefix + strconv.FormatInt(time.Now().UnixNano(), 36)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return nil, err
	}
	var marks []*kgo.Record
	for p := range partitions {
		marks = append(marks, &kgo.Record{Partition: p, Key: []byte(mark), Value: []byte(mark)}) // a key: compacted topics refuse null keys
	}
	err = pcl.ProduceSync(ctx, marks...).FirstErr()
	pcl.Close()
	if err != nil {
		return nil, fmt.Errorf("writing the sentinels: %w", err)
	}
	parts := map[int32]kgo.Offset{}
	for p := range partitions {
		parts[p] = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(300 * time.Millisecond)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	seen := map[int32]bool{}
	for len(seen) < int(partitions) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("reading %s (read_committed %v): sentinels of %d of %d partitions after %d records: %w",
				topic, committed, len(seen), partitions, len(out), ctx.Err())
		}
		fs.EachRecord(func(rec *kgo.Record) {
			v := string(rec.Value)
			if v == mark {
				seen[rec.Partition] = true
			}
			if !strings.HasPrefix(v, sentinelPrefix) && !seen[rec.Partition] {
				out = append(out, rec)
			}
		})
	}
	return out, nil
}

func leadersOf(ctx context.Context, adm *kadm.Client, topics ...string) error {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return err
	}
	for _, topic := range topics {
		td := md.Topics[topic]
		if td.Err != nil {
			return td.Err
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 {
				return fmt.Errorf("%s/%d has no leader", topic, p.Partition)
			}
		}
	}
	return nil
}

// waitFor polls f every 100 ms until it succeeds or d passed.
func waitFor(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}
