package clients_test

import (
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

	"github.com/kafkazk/kafkazk/compat-tests/clients/driver"
)

// txnFeatures are the transaction columns (issue 17). Every check the
// runner makes is its own franz-go read (read_committed and
// read_uncommitted), beside what the driver printed.
func txnFeatures() []feature {
	return []feature{
		{name: "txn-commit", desc: "60 records in one committed transaction (transactional.id): a read_committed consumer gets each exactly once; stored as transactional batches with a producer id", run: cellTxnCommit},
		{name: "txn-abort", desc: "an aborted transaction's 30 records are never returned to read_committed (the runner's read_uncommitted finds them), a committed one after it is", run: cellTxnAbort},
		{name: "txn-offsets", slow: true, desc: "consume-transform-produce: offsets sent in an aborted transaction leave the group's committed offsets unchanged, in a committed one they become them; the output holds each transform once", run: cellTxnOffsets},
		{name: "read-committed", desc: "a read_committed consumer stops at the runner's open transaction (LSO) and continues, in order, after its commit", run: cellReadCommitted},
	}
}

// sentinelPrefix starts the values of readIsolated's sentinels.
const sentinelPrefix = "~sentinel-"

// readIsolated reads a topic with the runner's franz-go client and the
// given isolation level: it first writes a sentinel record to every
// partition (outside any transaction) and reads until it has the
// sentinels, so it needs no end offset (control records and aborted data
// hide the last offsets from a read_committed reader). The sentinels are
// not returned.
func (e *env) readIsolated(ctx context.Context, topic string, partitions int32, committed bool) ([]*kgo.Record, error) {
	mark := sentinelPrefix + strconv.FormatInt(time.Now().UnixNano(), 36)
	var sentinels []*kgo.Record
	for p := range partitions {
		sentinels = append(sentinels, &kgo.Record{Partition: p, Key: []byte(mark), Value: []byte(mark)}) // a key: compacted topics refuse null keys
	}
	if err := e.produce(ctx, topic, "", sentinels); err != nil {
		return nil, fmt.Errorf("writing the sentinels: %w", err)
	}
	parts := map[int32]kgo.Offset{}
	for p := range partitions {
		parts[p] = kgo.NewOffset().AtStart()
	}
	opts := []kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(300 * time.Millisecond)}
	if committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	seen := map[int32]bool{}
	for len(seen) < int(partitions) {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("reading %s (read_committed %v): sentinels of %d of %d partitions after %d records: %w",
				topic, committed, len(seen), partitions, len(out), ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == mark {
				seen[r.Partition] = true
			}
			if strings.HasPrefix(string(r.Value), sentinelPrefix) {
				return // this read's or an earlier one's
			}
			if !seen[r.Partition] {
				out = append(out, r)
			}
		})
	}
	return out, nil
}

// values are the records' values in order.
func values(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Value))
	}
	return out
}

// exactlyOnce checks that the values are exactly want, each once, in any order.
func exactlyOnce(what string, got, want []string) error {
	count := map[string]int{}
	for _, v := range got {
		count[v]++
	}
	for _, v := range want {
		switch count[v] {
		case 1:
		case 0:
			return fmt.Errorf("%s: %s missing (%d records)", what, v, len(got))
		default:
			return fmt.Errorf("%s: %s returned %d times", what, v, count[v])
		}
		delete(count, v)
	}
	for v := range count {
		return fmt.Errorf("%s: %s returned but not expected (%d records, want %d)", what, v, len(got), len(want))
	}
	return nil
}

func driverValues(recs []driver.Rec) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.V)
	}
	return out
}

func seq(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, prefix+strconv.Itoa(i))
	}
	return out
}

// checkTransactional: every record was written in a transaction, by a
// producer with an id.
func checkTransactional(recs []*kgo.Record) error {
	for _, r := range recs {
		if !r.Attrs.IsTransactional() || r.ProducerID < 0 {
			return fmt.Errorf("%d/%d (%s) stored with transactional=%v, producer id %d", r.Partition, r.Offset, r.Value,
				r.Attrs.IsTransactional(), r.ProducerID)
		}
	}
	return nil
}

func cellTxnCommit(ctx context.Context, e *env, c client, topic string) result {
	const n = 60
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "txn-produce", 90*time.Second, "--topic", topic, "--n", strconv.Itoa(n), "--partitions", "3",
		"--txn-id", topic+"-tx")
	if res, done := skipOrFail(r); done {
		return res
	}
	if err := exactlyOnce("the driver's read_committed consumer", driverValues(r.recs()), seq("v", n)); err != nil {
		return fail("%v", err)
	}
	recs, err := e.readIsolated(ctx, topic, 3, true)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkProduced(recs, n, 3, false); err != nil {
		return fail("read_committed: %v", err)
	}
	if err := exactlyOnce("read_committed", values(recs), seq("v", n)); err != nil {
		return fail("%v", err)
	}
	if err := checkTransactional(recs); err != nil {
		return fail("%v", err)
	}
	all, err := e.readIsolated(ctx, topic, 3, false)
	if err != nil {
		return fail("%v", err)
	}
	if err := exactlyOnce("read_uncommitted", values(all), seq("v", n)); err != nil {
		return fail("%v", err)
	}
	return pass()
}

func cellTxnAbort(ctx context.Context, e *env, c client, topic string) result {
	const n = 30
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "txn-produce", 90*time.Second, "--topic", topic, "--n", strconv.Itoa(n), "--partitions", "3",
		"--txn-id", topic+"-tx", "--abort-first")
	if res, done := skipOrFail(r); done {
		return res
	}
	if err := exactlyOnce("the driver's read_committed consumer", driverValues(r.recs()), seq("v", n)); err != nil {
		return fail("%v", err)
	}
	recs, err := e.readIsolated(ctx, topic, 3, true)
	if err != nil {
		return fail("%v", err)
	}
	if err := exactlyOnce("read_committed", values(recs), seq("v", n)); err != nil {
		return fail("%v", err)
	}
	all, err := e.readIsolated(ctx, topic, 3, false)
	if err != nil {
		return fail("%v", err)
	}
	if err := exactlyOnce("read_uncommitted (the aborted records were written)", values(all), append(seq("a", n), seq("v", n)...)); err != nil {
		return fail("%v", err)
	}
	if err := checkTransactional(all); err != nil {
		return fail("%v", err)
	}
	return pass()
}

// cellTxnOffsets: 30 records in the input (3 partitions), the group's
// offsets committed at 2 per partition by the runner; the driver's
// consume-transform-produce aborts (the offsets stay at 2, the output's
// read_committed view stays empty), then a second run commits (the offsets
// become the input's ends, the output holds the 24 transforms once).
func cellTxnOffsets(ctx context.Context, e *env, c client, topic string) result {
	const n, parts, start = 30, 3, 2
	input, output, group := topic, topic+"-out", topic+"-g"
	for _, tp := range []string{input, output} {
		if err := e.createTopic(ctx, tp, parts, 3, nil); err != nil {
			return fail("%v", err)
		}
	}
	if err := e.produce(ctx, input, "", seedRecords(n, parts, "v", nil)); err != nil {
		return fail("runner produce: %v", err)
	}
	var pre kadm.Offsets
	for p := range int32(parts) {
		pre.Add(kadm.Offset{Topic: input, Partition: p, At: start, LeaderEpoch: -1})
	}
	if resp, err := e.adm.CommitOffsets(ctx, group, pre); err != nil || resp.Error() != nil {
		return fail("runner commit of the start offsets: %v %v", err, resp.Error())
	}
	inRecs, err := e.readAll(ctx, input)
	if err != nil {
		return fail("%v", err)
	}
	var want []string
	wantKey := map[string]string{}
	wantPart := map[string]int32{}
	for _, r := range inRecs {
		if r.Offset >= start {
			t := "t" + string(r.Value)
			want = append(want, t)
			wantKey[t], wantPart[t] = string(r.Key), r.Partition
		}
	}
	count := strconv.Itoa(len(want))
	checkConsumed := func(step string, recs []driver.Rec) error {
		var vs []string
		for _, r := range recs {
			if r.O < start {
				return fmt.Errorf("%s: consumed %d/%d, before the committed offset %d", step, r.P, r.O, start)
			}
			vs = append(vs, "t"+r.V)
		}
		return exactlyOnce(step+": consumed", vs, want)
	}
	checkCommitted := func(step string, at int64) error {
		return waitFor(ctx, 15*time.Second, func() error {
			got, err := e.committed(ctx, group)
			if err != nil {
				return err
			}
			for p := range int32(parts) {
				if got[p] != at {
					return fmt.Errorf("%s: the group's committed offsets are %v, want %d on each partition", step, got, at)
				}
			}
			return nil
		})
	}

	// The aborted run.
	r := invoke(ctx, c, e.bootstrap, "txn-offsets", 120*time.Second, "--topic", input, "--output", output, "--group", group,
		"--count", count, "--txn-id", topic+"-tx", "--abort")
	if res, done := skipOrFail(r); done {
		return res
	}
	if err := checkConsumed("aborted run", r.recs()); err != nil {
		return fail("%v", err)
	}
	if err := checkCommitted("after the abort", start); err != nil {
		return fail("%v", err)
	}
	outRecs, err := e.readIsolated(ctx, output, parts, true)
	if err != nil {
		return fail("%v", err)
	}
	if len(outRecs) > 0 {
		return fail("after the abort read_committed returns %d output records, e.g. %s", len(outRecs), outRecs[0].Value)
	}
	outAll, err := e.readIsolated(ctx, output, parts, false)
	if err != nil {
		return fail("%v", err)
	}
	if err := exactlyOnce("after the abort, read_uncommitted of the output", values(outAll), want); err != nil {
		return fail("%v", err)
	}

	// The committed run: a new member starts at the unchanged offsets.
	r = invoke(ctx, c, e.bootstrap, "txn-offsets", 120*time.Second, "--topic", input, "--output", output, "--group", group,
		"--count", count, "--txn-id", topic+"-tx")
	if res, done := skipOrFail(r); done {
		return res
	}
	if err := checkConsumed("committed run", r.recs()); err != nil {
		return fail("%v", err)
	}
	if err := checkCommitted("after the commit", n/parts); err != nil {
		return fail("%v", err)
	}
	outRecs, err = e.readIsolated(ctx, output, parts, true)
	if err != nil {
		return fail("%v", err)
	}
	if err := exactlyOnce("after the commit, read_committed of the output", values(outRecs), want); err != nil {
		return fail("%v", err)
	}
	for _, rec := range outRecs {
		v := string(rec.Value)
		if string(rec.Key) != wantKey[v] || rec.Partition != wantPart[v] {
			return fail("output %s in partition %d with key %q, want %d and %q", v, rec.Partition, rec.Key, wantPart[v], wantKey[v])
		}
	}
	if err := checkTransactional(outRecs); err != nil {
		return fail("%v", err)
	}
	return pass()
}

// cellReadCommitted: pre0..9 written plainly, o0..9 in the runner's open
// transaction, post0..4 plainly after it. The LSO is 10: the driver's
// read_committed consumer must print pre0..9 and nothing more while the
// transaction is open (watched for 3 s), then, after the runner commits,
// o0..9 and post0..4 in offset order.
func cellReadCommitted(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 1, 3, nil); err != nil {
		return fail("%v", err)
	}
	if err := e.produce(ctx, topic, "", seedRecords(10, 1, "pre", nil)); err != nil {
		return fail("runner produce: %v", err)
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID(topic+"-open"), kgo.TransactionTimeout(120*time.Second))
	if err != nil {
		return fail("%v", err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		return fail("runner begin: %v", err)
	}
	ended := false
	defer func() {
		if !ended {
			actx, acancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer acancel()
			_ = txn.AbortBufferedRecords(actx)
			_ = txn.EndTransaction(actx, kgo.TryAbort)
		}
	}()
	pctx, pcancel := context.WithTimeout(ctx, 30*time.Second)
	defer pcancel()
	if err := txn.ProduceSync(pctx, seedRecords(10, 1, "o", nil)...).FirstErr(); err != nil {
		return fail("runner transactional produce (transactional.id %s-open): %v", topic, err)
	}
	if err := e.produce(ctx, topic, "", seedRecords(5, 1, "post", nil)); err != nil {
		return fail("runner produce: %v", err)
	}
	lso, err := e.adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return fail("runner ListOffsets read_committed: %v", err)
	}
	if o, _ := lso.Lookup(topic, 0); o.Err != nil || o.Offset != 10 {
		return fail("ListOffsets with read_committed gives %d (%v) while the transaction at offset 10 is open, want 10 (the LSO)", o.Offset, o.Err)
	}
	l, err := start(c, e.bootstrap, "consume", 90*time.Second, "--topic", topic, "--partitions", "1", "--from", "earliest",
		"--count", "25", "--isolation", "read_committed")
	if err != nil {
		return fail("starting the driver: %v", err)
	}
	stopped := false
	defer func() {
		if !stopped {
			l.stop(time.Second)
		}
	}()
	if err := waitFor(ctx, 60*time.Second, func() error {
		if l.exited() {
			return nil // a skip or a failure, reported below
		}
		if n := l.recCount(); n < 10 {
			return fmt.Errorf("the driver consumed %d of the 10 records before the open transaction", n)
		}
		return nil
	}); err != nil || l.exited() {
		r := l.stop(time.Second)
		stopped = true
		if res, done := skipOrFail(r); done {
			return res
		}
		if err == nil {
			err = errors.New("the driver exited before the transaction was committed")
		}
		return fail("%v: %v", err, driverValues(r.recs()))
	}
	// The negative: give the consumer time to read past the LSO wrongly.
	time.Sleep(3 * time.Second)
	if n := l.recCount(); n != 10 {
		r := l.stop(time.Second)
		stopped = true
		return fail("the driver consumed %d records while the transaction was open (LSO 10): %v", n, driverValues(r.recs()))
	}
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fail("runner commit: %v", err)
	}
	ended = true
	select {
	case <-l.done:
	case <-time.After(60 * time.Second):
	}
	r := l.stop(time.Second)
	stopped = true
	if res, done := skipOrFail(r); done {
		return res
	}
	got := driverValues(r.recs())
	want := append(append(seq("pre", 10), seq("o", 10)...), seq("post", 5)...)
	if !slices.Equal(got, want) {
		return fail("after the commit the driver consumed %v, want %v", got, want)
	}
	return pass()
}

// TestTxnColumnsSelection: without MATRIX_FEATURES the transaction columns
// are selected; named, only the named ones are; and
// MATRIX_UPDATE's rewrite of expected-matrix.md keeps the columns a run did
// not select, with their statuses and reasons.
func TestTxnColumnsSelection(t *testing.T) {
	all := slices.Concat(features(), secFeatures(), txnFeatures())
	names := func(fs []feature) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.name)
		}
		return out
	}
	t.Setenv("MATRIX_FEATURES", "")
	if got := names(selectFeatures(t, slices.Clone(all))); !slices.Contains(got, "txn-commit") {
		t.Errorf("default selection %v: no txn-commit", got)
	}
	t.Setenv("MATRIX_FEATURES", "txn-abort,read-committed")
	if got := names(selectFeatures(t, slices.Clone(all))); !slices.Equal(got, []string{"txn-abort", "read-committed"}) {
		t.Errorf("named selection: %v", got)
	}

	exp, err := loadExpected("expected-matrix.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range txnFeatures() {
		if !slices.Contains(exp.columns, f.name) {
			t.Errorf("expected-matrix.md has no %s column", f.name)
		}
	}
	data, err := os.ReadFile("expected-matrix.md")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "expected-matrix.md")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cs := []client{{name: "franz-go"}, {name: "kcat"}}
	fs := []feature{{name: "metadata"}}
	results := map[string]map[string]result{"franz-go": {"metadata": pass()}, "kcat": {"metadata": pass()}}
	if err := writeExpected(path, cs, fs, results, exp); err != nil {
		t.Fatal(err)
	}
	again, err := loadExpected(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"franz-go", "kcat"} {
		for _, f := range txnFeatures() {
			if got, want := again.status[c][f.name], exp.status[c][f.name]; got != want {
				t.Errorf("%s/%s after the rewrite: %q, want %q", c, f.name, got, want)
			}
			key := c + "/" + f.name
			if exp.reason[key] != "" && again.reason[key] != exp.reason[key] {
				t.Errorf("%s: reason %q after the rewrite, want %q", key, again.reason[key], exp.reason[key])
			}
		}
	}
}
