// Package checker is the replication tests' judge: a producer records every
// acknowledged (partition, offset, value); reading everything back, the
// checker reports acknowledged records that were lost, values written
// twice, offsets whose value differs from the acknowledged one, and offsets
// that went backwards.
package checker

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Checker accumulates acknowledgements of one topic.
type Checker struct {
	topic string

	mu    sync.Mutex
	acked map[int32]map[int64]string // partition -> offset -> value
	// overwritten holds values acknowledged at an offset that a later
	// acknowledgement gave to another value: the first was lost (truncated)
	// and its offset reused, which the offset map alone would hide.
	overwritten map[int32]map[int64][]string
	deleted     map[int32]int64 // partition -> log start set by DeleteRecords
	next        atomic.Int64    // value sequence
	fails       atomic.Int64    // produce attempts that failed (not acknowledged)
}

// New returns a checker for topic.
func New(topic string) *Checker {
	return &Checker{topic: topic, acked: map[int32]map[int64]string{}, deleted: map[int32]int64{},
		overwritten: map[int32]map[int64][]string{}}
}

// DeletedBefore records that DeleteRecords moved the partition's log start
// to offset: acknowledged records below it are gone on purpose, not lost.
func (c *Checker) DeletedBefore(partition int32, offset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deleted[partition] = max(c.deleted[partition], offset)
}

// Acked is how many records were acknowledged.
func (c *Checker) Acked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, p := range c.acked {
		n += len(p)
	}
	for _, p := range c.overwritten {
		for _, vs := range p {
			n += len(vs)
		}
	}
	return n
}

// AckedFrom lists the values acknowledged at offset from or above of
// partition (as last acknowledged there): what a replica whose log ends at
// from lacks.
func (c *Checker) AckedFrom(partition int32, from int64) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var vs []string
	for o, v := range c.acked[partition] {
		if o >= from {
			vs = append(vs, v)
		}
	}
	return vs
}

// Failed is how many produce attempts got an error (these may or may not
// be in the log; they are never counted as lost).
func (c *Checker) Failed() int64 { return c.fails.Load() }

// Produce writes unique values with cl (acks=all, idempotent: kgo's
// defaults) until ctx ends, at most inFlight at a time, recording every
// acknowledged one.
func (c *Checker) Produce(ctx context.Context, cl *kgo.Client, inFlight int) {
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	for ctx.Err() == nil {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		v := fmt.Sprintf("v-%09d", c.next.Add(1))
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: c.topic, Value: []byte(v)}, func(r *kgo.Record, err error) {
			defer wg.Done()
			defer func() { <-sem }()
			if err != nil {
				c.fails.Add(1)
				return
			}
			c.ack(r.Partition, r.Offset, v)
		})
	}
	wg.Wait()
}

// ack records that value v was acknowledged at partition@offset.
func (c *Checker) ack(partition int32, offset int64, v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.acked[partition]
	if p == nil {
		p = map[int64]string{}
		c.acked[partition] = p
	}
	if old, ok := p[offset]; ok && old != v {
		if c.overwritten[partition] == nil {
			c.overwritten[partition] = map[int64][]string{}
		}
		c.overwritten[partition][offset] = append(c.overwritten[partition][offset], old)
	}
	p[offset] = v
}

// Report is the verdict of Verify.
type Report struct {
	Acked        int
	Deleted      int // acknowledged records below a log start set by DeleteRecords, not checked
	Read         int
	Lost         []string // acknowledged values not found
	Duplicated   []string // values found at more than one offset
	Inconsistent []string // offsets holding another value than the acknowledged one
	Backwards    []string // offsets read in decreasing order within a partition
	// Vanished lists the acknowledged values read at no offset at all:
	// Lost plus the Inconsistent whose offset now holds another value (an
	// unclean election's loss, counted exactly).
	Vanished []string
}

// OK reports zero lost, duplicated, inconsistent and backwards records.
func (r Report) OK() bool {
	return len(r.Lost) == 0 && len(r.Duplicated) == 0 && len(r.Inconsistent) == 0 && len(r.Backwards) == 0
}

func (r Report) String() string {
	clip := func(s []string) string {
		if len(s) > 10 {
			return strings.Join(s[:10], ", ") + fmt.Sprintf(", ... (%d)", len(s))
		}
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("acked=%d deleted=%d read=%d lost=%d [%s] duplicated=%d [%s] inconsistent=%d [%s] backwards=%d [%s]",
		r.Acked, r.Deleted, r.Read, len(r.Lost), clip(r.Lost), len(r.Duplicated), clip(r.Duplicated),
		len(r.Inconsistent), clip(r.Inconsistent), len(r.Backwards), clip(r.Backwards))
}

// Verify reads every partition of the topic from the start to its end
// offset (as listed when Verify starts) and compares with what was acked.
func (c *Checker) Verify(ctx context.Context, seeds []string) (Report, error) {
	adm, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return Report{}, err
	}
	defer adm.Close()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, c.topic)
	if err != nil {
		return Report{}, fmt.Errorf("listing end offsets: %w", err)
	}
	logStarts, err := kadm.NewClient(adm).ListStartOffsets(ctx, c.topic)
	if err != nil {
		return Report{}, fmt.Errorf("listing start offsets: %w", err)
	}
	starts := map[int32]kgo.Offset{}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		starts[o.Partition] = kgo.NewOffset().AtStart()
		want[o.Partition] = o.Offset
		// Nothing to read where DeleteRecords removed everything.
		if s, ok := logStarts.Lookup(c.topic, o.Partition); ok && s.Err == nil && s.Offset >= o.Offset {
			want[o.Partition] = 0
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: starts}))
	if err != nil {
		return Report{}, err
	}
	defer cl.Close()

	read := map[int32]map[int64]string{}
	last := map[int32]int64{}
	var rep Report
	done := func() bool {
		for p, end := range want {
			if end > 0 && last[p] < end-1 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(2 * time.Minute)
	for !done() {
		if time.Now().After(deadline) {
			return Report{}, fmt.Errorf("reading back timed out at %v of %v", last, want)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		fetches := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return Report{}, ctx.Err()
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if prev, ok := last[r.Partition]; ok && r.Offset <= prev {
				rep.Backwards = append(rep.Backwards, fmt.Sprintf("%d@%d after %d", r.Partition, r.Offset, prev))
			}
			last[r.Partition] = r.Offset
			if read[r.Partition] == nil {
				read[r.Partition] = map[int64]string{}
			}
			read[r.Partition][r.Offset] = string(r.Value)
			rep.Read++
		})
	}

	where := map[string][]string{}
	for p, offs := range read {
		for o, v := range offs {
			where[v] = append(where[v], fmt.Sprintf("%d@%d", p, o))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, offs := range c.acked {
		for o, v := range offs {
			rep.Acked++
			if o < c.deleted[p] {
				rep.Deleted++
				continue
			}
			got, ok := read[p][o]
			if len(where[v]) == 0 {
				rep.Vanished = append(rep.Vanished, v)
			}
			switch {
			case !ok && len(where[v]) == 0:
				rep.Lost = append(rep.Lost, fmt.Sprintf("%s(%d@%d)", v, p, o))
			case !ok || got != v:
				rep.Inconsistent = append(rep.Inconsistent, fmt.Sprintf("%d@%d acked %s read %q", p, o, v, got))
			}
		}
	}
	for p, offs := range c.overwritten {
		for o, vs := range offs {
			for _, v := range vs {
				rep.Acked++
				if o < c.deleted[p] {
					rep.Deleted++
					continue
				}
				if len(where[v]) == 0 {
					rep.Vanished = append(rep.Vanished, v)
					rep.Lost = append(rep.Lost, fmt.Sprintf("%s(%d@%d, offset acknowledged again for %s)", v, p, o, c.acked[p][o]))
				} else {
					rep.Inconsistent = append(rep.Inconsistent, fmt.Sprintf("%d@%d acked %s, then acknowledged again for %s; %s read at %s",
						p, o, v, c.acked[p][o], v, strings.Join(where[v], ",")))
				}
			}
		}
	}
	for v, locs := range where {
		if len(locs) > 1 {
			sort.Strings(locs)
			rep.Duplicated = append(rep.Duplicated, v+" at "+strings.Join(locs, ","))
		}
	}
	sort.Strings(rep.Lost)
	sort.Strings(rep.Inconsistent)
	sort.Strings(rep.Duplicated)
	sort.Strings(rep.Vanished)
	return rep, nil
}
