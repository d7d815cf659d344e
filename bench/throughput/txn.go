package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnBatch is the number of records per transaction in the transactions section.
const txnBatch = 100

// txnRound is one target's figures for one round of the transactions section.
type txnRound struct {
	target    string
	valueSize int
	records   int             // records committed in the timed transactional phase
	txns      int             // transactions committed in it
	txnWall   time.Duration   // its wall time
	idemRecs  int             // records of the idempotent produce (the same for every target)
	idemWall  time.Duration   // its wall time (produce in load.go: acks=all, idempotent, kgo's defaults)
	commits   []time.Duration // Flush+EndTransaction(commit) per transaction
	endTxns   []time.Duration // EndTransaction alone per transaction (the log's diagnosis only)
	addParts  int64           // AddPartitionsToTxn requests during the timed phase (> txns: CONCURRENT_TRANSACTIONS retries)
}

// txnResult is one target's summary over the rounds: medians of the rounds' rates, commit percentiles over
// every transaction of every round.
type txnResult struct {
	target    string
	valueSize int
	txnRate   float64 // records/s committed in transactions
	txnsPerS  float64 // transactions/s
	idemRate  float64 // records/s of the idempotent produce
	p50, p99  time.Duration
	txns      int     // transactions timed, all rounds
	addPerTxn float64 // AddPartitionsToTxn requests per transaction, all rounds
}

func (r txnResult) txnMBps() float64  { return r.txnRate * float64(r.valueSize) / 1e6 }
func (r txnResult) idemMBps() float64 { return r.idemRate * float64(r.valueSize) / 1e6 }

// measureTxns runs the transactions section: for rounds rounds (targets rotated, as the throughput table's
// rounds are) each target gets a transactional producer for d (txnRoundOn), then the idempotent produce of
// idem records of the same values; it prints the table of summarizeTxn.
func measureTxns(ctx context.Context, targets []*target, rounds int, d time.Duration, idem int, values *valuePool, out io.Writer) error {
	per := make([][]txnRound, len(targets))
	for round := 0; round < rounds; round++ {
		for k := range targets {
			i := (k + round) % len(targets)
			t := targets[i]
			r, err := txnRoundOn(ctx, t, d, idem, values)
			if err != nil {
				if t.logTail != nil {
					err = fmt.Errorf("%w\n%s log tail:\n%s", err, t.name, t.logTail())
				}
				return err
			}
			per[i] = append(per[i], r)
		}
	}
	var results []txnResult
	for _, rs := range per {
		results = append(results, summarizeTxn(rs))
	}
	printTxnTable(out, results, values.size, d, idem, rounds)
	return nil
}

// summarizeTxn reduces one target's rounds: the median of each rate, p50/p99 of all commit latencies.
func summarizeTxn(rs []txnRound) txnResult {
	if len(rs) == 0 {
		return txnResult{}
	}
	r := txnResult{target: rs[0].target, valueSize: rs[0].valueSize}
	med := func(f func(txnRound) float64) float64 {
		xs := make([]float64, len(rs))
		for i, x := range rs {
			xs[i] = f(x)
		}
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	rate := func(n int, d time.Duration) float64 {
		if d <= 0 {
			return 0
		}
		return float64(n) / d.Seconds()
	}
	r.txnRate = med(func(x txnRound) float64 { return rate(x.records, x.txnWall) })
	r.txnsPerS = med(func(x txnRound) float64 { return rate(x.txns, x.txnWall) })
	r.idemRate = med(func(x txnRound) float64 { return rate(x.idemRecs, x.idemWall) })
	var lat []time.Duration
	for _, x := range rs {
		lat = append(lat, x.commits...)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	r.txns = len(lat)
	var adds int64
	for _, x := range rs {
		adds += x.addParts
	}
	r.addPerTxn = ratio(float64(adds), float64(r.txns))
	return r
}

// txnRoundOn measures one round on t. On a new one-partition topic a producer with a new transactional id
// commits one untimed transaction (FindCoordinator, __transaction_state's creation on first use,
// InitProducerId), then repeats begin / produce txnBatch records / Flush / EndTransaction(commit) for d,
// timing each Flush+EndTransaction. It then checks the partition: the high watermark counts every record and
// one commit marker per transaction, and the last stable offset reaches it (within 10 s: Kafka writes the
// markers after answering EndTxn), so a stuck LSO fails the bench. Last, produce (load.go) sends idem records
// of the same values acks=all idempotent to a second new topic (a count, not the transactions', so that every
// target's idempotent figure is of the same load).
func txnRoundOn(ctx context.Context, t *target, d time.Duration, idem int, values *valuePool) (txnRound, error) {
	r := txnRound{target: t.name, valueSize: values.size, idemRecs: idem}
	stamp := time.Now().UnixNano()
	topic := fmt.Sprintf("bench-txn-%s-%d", t.name, stamp)
	if err := createTopicRF(ctx, t.bootstrap, topic, 1, max(t.rf, 1)); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	defer func() {
		if err := deleteTopic(ctx, t.bootstrap, topic); err != nil {
			slog.Warn("delete topic", "target", t.name, "err", err)
		}
	}()
	// Counting AddPartitionsToTxn requests shows the client's retries: the coordinator answers
	// CONCURRENT_TRANSACTIONS while the previous transaction's markers are being written
	// (TransactionCoordinator.handleAddPartitionsToTransaction, PrepareCommit state), and kgo backs off.
	adds := &wireStats{key: int16(kmsg.AddPartitionsToTxn)}
	cl, err := kgo.NewClient(clientOpts(t.bootstrap,
		kgo.WithHooks(adds),
		kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID(fmt.Sprintf("bench-txn-%s-%d", t.name, stamp)),
	)...)
	if err != nil {
		return r, fmt.Errorf("%s: transactional producer: %w", t.name, err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	// The untimed first transaction.
	if _, _, err := commitOne(pctx, cl, values, 0); err != nil {
		return r, fmt.Errorf("%s: first transaction: %w", t.name, err)
	}
	slog.Info("transactional produce", "target", t.name, "topic", topic, "duration", d)
	adds0 := adds.requests.Load()
	start := time.Now()
	for i := 1; time.Since(start) < d; i++ {
		lat, end, err := commitOne(pctx, cl, values, i*txnBatch)
		if err != nil {
			return r, fmt.Errorf("%s: transaction %d: %w", t.name, i, err)
		}
		r.commits = append(r.commits, lat)
		r.endTxns = append(r.endTxns, end)
	}
	r.txnWall = time.Since(start)
	r.addParts = adds.requests.Load() - adds0
	r.txns = len(r.commits)
	r.records = r.txns * txnBatch
	// Every transaction wrote txnBatch records and one commit marker (control batch) to the partition.
	if err := waitStable(pctx, t.bootstrap, topic, int64(r.txns+1)*(txnBatch+1)); err != nil {
		return r, fmt.Errorf("%s: after %d transactions: %w", t.name, r.txns+1, err)
	}
	slog.Info("transactions done", "target", t.name, "txns", r.txns, "wall", r.txnWall.Round(time.Millisecond),
		"commit_p50", pct(r.commits, 50), "commit_p99", pct(r.commits, 99),
		"end_txn_p50", pct(r.endTxns, 50), "end_txn_p99", pct(r.endTxns, 99), "add_partitions_requests", r.addParts)

	itopic := fmt.Sprintf("bench-txn-idem-%s-%d", t.name, stamp)
	if err := createTopicRF(ctx, t.bootstrap, itopic, 1, max(t.rf, 1)); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	defer func() {
		if err := deleteTopic(ctx, t.bootstrap, itopic); err != nil {
			slog.Warn("delete topic", "target", t.name, "err", err)
		}
	}()
	if err := prime(pctx, t.bootstrap, itopic, 1, values); err != nil { // as measure does
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	if r.idemWall, err = produce(pctx, t.bootstrap, itopic, idem, values, &wireStats{}); err != nil {
		return r, fmt.Errorf("%s: idempotent produce: %w", t.name, err)
	}
	return r, nil
}

// pct is the p-th percentile of ds (0 when empty), rounded to microseconds; ds is not changed.
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)*p/100, len(s)-1)].Round(time.Microsecond)
}

// commitOne runs one transaction of txnBatch records (values from index first) and returns the time of its
// Flush plus EndTransaction(commit), the commit latency as the client sees it, and of EndTransaction alone.
func commitOne(ctx context.Context, cl *kgo.Client, values *valuePool, first int) (commit, endTxn time.Duration, err error) {
	if err := cl.BeginTransaction(); err != nil {
		return 0, 0, fmt.Errorf("begin: %w", err)
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	for j := range txnBatch {
		cl.Produce(ctx, &kgo.Record{Value: values.get(first + j)}, promise)
	}
	t0 := time.Now()
	if err := cl.Flush(ctx); err != nil {
		return 0, 0, fmt.Errorf("flush: %w", err)
	}
	mu.Lock()
	perr := firstErr
	mu.Unlock()
	if perr != nil {
		// Abort so the client is left clean; the produce error is what is reported.
		_ = cl.EndTransaction(ctx, kgo.TryAbort)
		return 0, 0, fmt.Errorf("produce: %w", perr)
	}
	t1 := time.Now()
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return 0, 0, fmt.Errorf("commit: %w", err)
	}
	return time.Since(t0), time.Since(t1), nil
}

// waitStable polls ListOffsets of topic's partition 0 until both the high watermark (read_uncommitted end)
// and the last stable offset (read_committed end) are want, for at most 10 s.
func waitStable(ctx context.Context, bootstrap, topic string, want int64) error {
	cl, err := kgo.NewClient(clientOpts(bootstrap)...)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var hw, lso int64 = -1, -1
	for {
		end, err1 := adm.ListEndOffsets(ctx, topic)
		stable, err2 := adm.ListCommittedOffsets(ctx, topic)
		if err := errors.Join(err1, err2); err == nil {
			if o, ok := end.Lookup(topic, 0); ok && o.Err == nil {
				hw = o.Offset
			}
			if o, ok := stable.Lookup(topic, 0); ok && o.Err == nil {
				lso = o.Offset
			}
			if hw > want {
				return fmt.Errorf("%s[0]: high watermark %d, want %d", topic, hw, want)
			}
			if hw == want && lso == want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s[0]: high watermark %d, last stable offset %d, want both %d: %w", topic, hw, lso, want, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// printTxnTable writes one row per target, then ours/kfake and ours/kafka39.
func printTxnTable(w io.Writer, results []txnResult, size int, d time.Duration, idem, rounds int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\ttxn rec/s\ttxn MB/s\ttxns/s\tcommit p50\tcommit p99\tAddPartitionsToTxn/txn\tidempotent rec/s\tidempotent MB/s\ttxn/idempotent\t")
	by := map[string]txnResult{}
	for _, r := range results {
		by[r.target] = r
		fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.0f\t%v\t%v\t%.2f\t%.0f\t%.1f\t%.3fx\t\n", r.target, r.txnRate, r.txnMBps(), r.txnsPerS,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.addPerTxn, r.idemRate, r.idemMBps(), ratio(r.txnRate, r.idemRate))
	}
	o, okOurs := by["ours"]
	for _, other := range []string{"kfake", "kafka39"} {
		if k, ok := by[other]; ok && okOurs {
			fmt.Fprintf(tw, "ours/%s\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\t%.2fx\t%.2fx\t\t\n", other,
				ratio(o.txnRate, k.txnRate), ratio(o.txnMBps(), k.txnMBps()), ratio(o.txnsPerS, k.txnsPerS),
				ratio(o.p50.Seconds(), k.p50.Seconds()), ratio(o.p99.Seconds(), k.p99.Seconds()),
				ratio(o.idemRate, k.idemRate), ratio(o.idemMBps(), k.idemMBps()))
		}
	}
	tw.Flush()
	if len(results) > 0 {
		fmt.Fprintf(w, "transactional produce: one producer with a transactional.id, %d records of %d bytes per transaction (begin, produce, Flush, EndTxn commit) for %s per round, 1 partition, acks=all; "+
			"commit = Flush+EndTransaction as the client sees it, p50/p99 over every transaction of all rounds (lower is better); "+
			"AddPartitionsToTxn/txn above 1: the coordinator answered CONCURRENT_TRANSACTIONS while the previous transaction's markers were being written, and the client backed off (kgo: 20 ms) and retried; "+
			"idempotent: %d records of the same values acks=all idempotent with kgo's defaults (the throughput table's load) on the same target after each round's transactions; rates: median of %d rounds\n",
			txnBatch, size, d, idem, rounds)
	}
	if k, ok := by["kfake"]; ok && k.addPerTxn == 0 {
		fmt.Fprintln(w, "kfake: transaction.version 2 (KIP-890 part 2), the client sends no AddPartitionsToTxn (Produce adds the partition), one round trip fewer per transaction than ours and kafka39 (version 1)")
	}
}
