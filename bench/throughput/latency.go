package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// latencyResult is one target's produce latency at a fixed rate.
type latencyResult struct {
	target   string
	records  int
	rate     int     // the rate asked for, records/s
	achieved float64 // records acked per second over the run
	p50, p99 time.Duration
	max      time.Duration
}

// measureLatency runs produceLatency on every target in turn and prints the table.
func measureLatency(ctx context.Context, targets []*target, rate int, d time.Duration, values *valuePool, out io.Writer) error {
	var results []latencyResult
	for _, t := range targets {
		r, err := produceLatency(ctx, t, rate, d, values)
		if err != nil {
			if t.logTail != nil {
				err = fmt.Errorf("%w\n%s log tail:\n%s", err, t.name, t.logTail())
			}
			return err
		}
		results = append(results, r)
	}
	printLatencyTable(out, results, values.size, d)
	return nil
}

// produceLatency produces rate records/s to a new one-partition topic for d (acks=all, idempotent, no
// linger, kgo's defaults otherwise) and returns the distribution of the time from each record's scheduled send time to
// its ack (from the Produce call when that was early). Measuring from the schedule, not from the Produce call, keeps a stalled producer's waiting
// records in the figures (no coordinated omission).
func produceLatency(ctx context.Context, t *target, rate int, d time.Duration, values *valuePool) (latencyResult, error) {
	n := max(int(float64(rate)*d.Seconds()), 1)
	r := latencyResult{target: t.name, records: n, rate: rate}
	topic := fmt.Sprintf("bench-latency-%s-%d", t.name, time.Now().UnixNano())
	if err := createTopicRF(ctx, t.bootstrap, topic, 1, max(t.rf, 1)); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	defer func() {
		if err := deleteTopic(ctx, t.bootstrap, topic); err != nil {
			slog.Warn("delete topic", "target", t.name, "err", err)
		}
	}()
	// No linger: kgo's default 10 ms linger would dominate the figures and hide the broker's share.
	cl, err := kgo.NewClient(clientOpts(t.bootstrap, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))...)
	if err != nil {
		return r, fmt.Errorf("%s: producer: %w", t.name, err)
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(ctx, d+60*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		return r, fmt.Errorf("%s: producer ping: %w", t.name, err)
	}
	if err := prime(pctx, t.bootstrap, topic, 1, values); err != nil { // as measure does
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	slog.Info("fixed-rate produce", "target", t.name, "rate", rate, "records", n)
	lat := make([]time.Duration, n)
	var (
		acked    atomic.Int64
		errOnce  sync.Once
		firstErr error
		done     = make(chan struct{})
	)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if ahead := time.Until(due); ahead > time.Millisecond {
			time.Sleep(ahead) // pacing only; sends catch up in a burst when a sleep overshoots
		}
		base := due
		if now := time.Now(); now.Before(due) {
			base = now // sent early (pacing tolerance): timed from the send
		}
		cl.Produce(pctx, &kgo.Record{Value: values.get(i)}, func(_ *kgo.Record, err error) {
			lat[i] = time.Since(base)
			if err != nil {
				errOnce.Do(func() { firstErr = err })
			}
			if acked.Add(1) == int64(n) {
				close(done)
			}
		})
	}
	select {
	case <-done:
	case <-pctx.Done():
		return r, fmt.Errorf("%s: fixed-rate produce: %d/%d acked: %w", t.name, acked.Load(), n, pctx.Err())
	}
	elapsed := time.Since(start)
	errOnce.Do(func() {})
	if firstErr != nil {
		return r, fmt.Errorf("%s: fixed-rate produce: %w", t.name, firstErr)
	}
	r.achieved = float64(n) / elapsed.Seconds()
	slices.Sort(lat)
	r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	slog.Info("fixed-rate produce done", "target", t.name, "p50", r.p50, "p99", r.p99)
	return r, nil
}

func printLatencyTable(w io.Writer, results []latencyResult, size int, d time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\trecords/s asked\trecords/s acked\tproduce p50\tproduce p99\tmax\t")
	by := map[string]latencyResult{}
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%v\t%v\t%v\t\n", r.target, r.rate, r.achieved,
			r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond), r.max.Round(time.Microsecond))
		by[r.target] = r
	}
	o, ok1 := by["ours"]
	if k, ok2 := by["kafka39"]; ok1 && ok2 {
		fmt.Fprintf(tw, "ours/kafka39\t\t\t%.2fx\t%.2fx\t%.2fx\t\n",
			ratio(o.p50.Seconds(), k.p50.Seconds()), ratio(o.p99.Seconds(), k.p99.Seconds()), ratio(o.max.Seconds(), k.max.Seconds()))
	}
	tw.Flush()
	if len(results) > 0 {
		fmt.Fprintf(w, "produce latency at a fixed rate: %d-byte records for %s, 1 partition, acks=all, idempotent, linger 0; from each record's scheduled send time to its ack (lower is better)\n",
			size, d)
	}
}
