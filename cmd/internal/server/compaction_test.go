package server

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// A compacted topic keeps the latest value of every key: after the cleaner
// runs, a consumer from the start sees fewer records, and for every key the
// last value written.
func TestCompactedTopicKeepsLatestValues(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, "log.cleaner.backoff.ms=50")
	cl := newClient(t, []string{b.addr}, kgo.ProducerLinger(0))
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	configs := map[string]*string{
		"cleanup.policy": ptr("compact"), "segment.bytes": ptr("2048"), "min.cleanable.dirty.ratio": ptr("0.01"),
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, configs, "latest"); err != nil {
		t.Fatal(err)
	}
	// LogValidator: a compacted topic refuses records without a key.
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "latest", Value: []byte("no key")}).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("keyless record to a compacted topic: got %v, want INVALID_RECORD", err)
	}
	const keys, rounds = 10, 30
	for r := range rounds {
		for k := range keys {
			rec := &kgo.Record{Topic: "latest", Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte(fmt.Sprintf("v%d", r))}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	// readAll consumes from the start to the last offset (always kept: it is
	// the newest value of its key) and returns the latest value per key and
	// how many records were read.
	readAll := func() (map[string]string, int) {
		c := newClient(t, []string{b.addr}, kgo.ConsumeTopics("latest"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		defer c.Close()
		latest := map[string]string{}
		n, done := 0, false
		for !done && ctx.Err() == nil {
			c.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				latest[string(r.Key)] = string(r.Value)
				n++
				done = done || r.Offset == keys*rounds-1
			})
		}
		return latest, n
	}
	var last map[string]string
	waitFor(t, "the cleaner to compact the topic", func() bool {
		var n int
		last, n = readAll()
		return n < keys*rounds
	})
	for k := range keys {
		if v := last[fmt.Sprintf("k%d", k)]; v != fmt.Sprintf("v%d", rounds-1) {
			t.Fatalf("key k%d reads %q after compaction, want the latest value v%d", k, v, rounds-1)
		}
	}
}
