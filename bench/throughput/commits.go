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

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitResult is one target's synchronous-commit figures.
type commitResult struct {
	target  string
	commits int
	elapsed time.Duration
	p50     time.Duration
	p99     time.Duration
}

func (r commitResult) rate() float64 { return float64(r.commits) / r.elapsed.Seconds() }

// measureCommits has one group member per target commit synchronously n
// times, each commit a new offset of a one-partition topic, and prints
// commits per second with the latency distribution.
func measureCommits(ctx context.Context, targets []*target, n int, out io.Writer) error {
	var results []commitResult
	for _, t := range targets {
		r, err := commitRate(ctx, t, n)
		if err != nil {
			if t.logTail != nil {
				err = fmt.Errorf("%w\n%s log tail:\n%s", err, t.name, t.logTail())
			}
			return err
		}
		results = append(results, r)
	}
	printCommitTable(out, results)
	return nil
}

func printCommitTable(w io.Writer, results []commitResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tcommits/s\tp50\tp99\t")
	rates := map[string]float64{}
	by := map[string]commitResult{}
	for _, r := range results {
		by[r.target] = r
		fmt.Fprintf(tw, "%s\t%.0f\t%v\t%v\t\n", r.target, r.rate(), r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond))
		rates[r.target] = r.rate()
	}
	if o, k := rates["ours"], rates["kfake"]; o > 0 && k > 0 {
		fmt.Fprintf(tw, "ours/kfake\t%.2fx\t\t\t\n", o/k)
	}
	if o, k := by["ours"], by["kafka39"]; o.commits > 0 && k.commits > 0 {
		fmt.Fprintf(tw, "ours/kafka39\t%.2fx\t%.2fx\t%.2fx\t\n", o.rate()/k.rate(), ratio(o.p50.Seconds(), k.p50.Seconds()), ratio(o.p99.Seconds(), k.p99.Seconds()))
	}
	if o, k := by["ours-rf3"], by["kafka39-rf3"]; o.commits > 0 && k.commits > 0 {
		fmt.Fprintf(tw, "ours-rf3/kafka39-rf3\t%.2fx\t%.2fx\t%.2fx\t\n", o.rate()/k.rate(), ratio(o.p50.Seconds(), k.p50.Seconds()), ratio(o.p99.Seconds(), k.p99.Seconds()))
	}
	tw.Flush()
	if len(results) > 0 {
		fmt.Fprintf(w, "synchronous OffsetCommit from one group member, %d commits per target (ours: acks=all to __consumer_offsets; kafka39: Kafka 3.9's own group coordinator)\n", results[0].commits)
	}
}

// commitRate joins a group as its only member and times n synchronous
// commits.
func commitRate(ctx context.Context, t *target, n int) (commitResult, error) {
	r := commitResult{target: t.name, commits: n}
	stamp := time.Now().UnixNano()
	topic := fmt.Sprintf("bench-commits-%s-%d", t.name, stamp)
	group := fmt.Sprintf("bench-group-%s-%d", t.name, stamp)
	if err := createTopicRF(ctx, t.bootstrap, topic, 1, max(t.rf, 1)); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	defer func() {
		if err := deleteTopic(ctx, t.bootstrap, topic); err != nil {
			slog.Warn("delete topic", "target", t.name, "err", err)
		}
	}()
	assigned := make(chan struct{})
	var once sync.Once
	cl, err := kgo.NewClient(clientOpts(t.bootstrap,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { once.Do(func() { close(assigned) }) }),
	)...)
	if err != nil {
		return r, fmt.Errorf("%s: client: %w", t.name, err)
	}
	defer cl.Close()
	pctx, stopPolling := context.WithCancel(ctx)
	polled := make(chan struct{})
	go func() { // group management runs while the member polls
		defer close(polled)
		for pctx.Err() == nil {
			cl.PollFetches(pctx)
		}
	}()
	defer func() {
		stopPolling()
		<-polled
	}()
	select {
	case <-assigned:
	case <-time.After(60 * time.Second):
		return r, fmt.Errorf("%s: the member was not assigned its partition within 60 s", t.name)
	case <-ctx.Done():
		return r, ctx.Err()
	}
	slog.Info("committing", "target", t.name, "group", group, "commits", n)
	lat := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 1; i <= n; i++ {
		var cerr error
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cl.CommitOffsetsSync(cctx, map[string]map[int32]kgo.EpochOffset{topic: {0: {Epoch: -1, Offset: int64(i)}}},
			func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
				cerr = err
				if err == nil {
					for _, rt := range resp.Topics {
						for _, rp := range rt.Partitions {
							if rp.ErrorCode != 0 {
								cerr = kerr.ErrorForCode(rp.ErrorCode)
							}
						}
					}
				}
			})
		cancel()
		if cerr != nil {
			return r, fmt.Errorf("%s: commit %d: %w", t.name, i, cerr)
		}
		lat = append(lat, time.Since(t0))
	}
	r.elapsed = time.Since(start)
	if len(lat) == 0 {
		return r, errors.New("no commits")
	}
	slices.Sort(lat)
	r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	slog.Info("committed", "target", t.name, "commits", n, "elapsed", r.elapsed.Round(time.Millisecond))
	return r, nil
}
