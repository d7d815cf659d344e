package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// TestMatrix runs every client × feature cell against ZooKeeper and three
// brokers (compat-tests/cluster), prints the matrix, writes it as markdown to
// $MATRIX_OUT when set, and fails when a cell that expected-matrix.md marks
// pass (or skip) now fails.
//
// For development: MATRIX_CLIENTS and MATRIX_FEATURES (comma lists) select
// cells; MATRIX_BOOTSTRAP runs against an already running cluster (no
// failover cell then); MATRIX_PARALLEL sets the workers (default 4);
// MATRIX_UPDATE=1 rewrites expected-matrix.md from this run;
// MATRIX_VERBOSE=1 logs a failed cell's whole reason (the driver's stderr tail);
// MATRIX_REFERENCE=kafka39 runs the selected cells against Apache Kafka 3.9
// (three brokers, and the security columns' broker with the same
// listeners) instead of ours: a cell that fails there is the cell's or the
// driver's fault, not the broker's.
//
// The security columns (tls, mtls, sasl-*, acl-denied) run against a
// cluster of their own (security_test.go), started only when one of them
// is selected.
func TestMatrix(t *testing.T) {
	begin := time.Now()
	godriver := buildGoDriver(t, t.TempDir())
	cs := selectClients(t, clients(godriver))
	fs := selectFeatures(t, slices.Concat(features(), secFeatures(), txnFeatures()))
	reference := false
	switch ref := os.Getenv("MATRIX_REFERENCE"); ref {
	case "":
	case "kafka39":
		reference = true
		if os.Getenv("MATRIX_UPDATE") == "1" {
			t.Fatal("MATRIX_UPDATE=1 writes our broker's matrix: not with MATRIX_REFERENCE")
		}
	default:
		t.Fatalf("MATRIX_REFERENCE=%s: the only reference is kafka39", ref)
	}

	e := &env{}
	var cl brokerProcs // nil with MATRIX_BOOTSTRAP: no failover cell
	plainCells := slices.ContainsFunc(fs, func(f feature) bool { return !f.secure })
	switch b := os.Getenv("MATRIX_BOOTSTRAP"); {
	case !plainCells:
	case b != "":
		e.bootstrap = b
	case reference:
		// Apache Kafka 3.9: three brokers with the settings of ours below.
		zk := zktest.Start(t)
		refs := cluster.StartKafkaRefCluster(t, zk.Addr, 3, map[string]string{
			"offsets.topic.replication.factor": "3", "group.initial.rebalance.delay.ms": "0"})
		e.bootstrap = cluster.KafkaRefBootstrap(refs)
		cl = refProcs{t: t, refs: refs}
	default:
		c := cluster.Start(t, 3, "offsets.topic.replication.factor=3", "group.initial.rebalance.delay.ms=0")
		e.bootstrap = c.Bootstrap()
		cl = c
	}
	if plainCells {
		t.Logf("cluster up after %v: %s", time.Since(begin).Round(time.Millisecond), e.bootstrap)
		e.brokers = strings.Split(e.bootstrap, ",")
		kcl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...))
		if err != nil {
			t.Fatal(err)
		}
		defer kcl.Close()
		e.kcl, e.adm = kcl, kadm.NewClient(kcl)
	}
	if slices.ContainsFunc(fs, func(f feature) bool { return f.secure }) {
		e.sec = startSecure(t, reference)
	}

	exp, err := loadExpected("expected-matrix.md")
	if err != nil {
		t.Fatalf("expected matrix: %v", err)
	}
	if reference {
		exp = exp.forKafka39()
	}
	prefix := "mx" + strconv.FormatInt(time.Now().UnixMilli()%1e7, 36)
	results := map[string]map[string]result{}
	var mu sync.Mutex
	record := func(c, f string, r result) {
		mu.Lock()
		defer mu.Unlock()
		if results[c] == nil {
			results[c] = map[string]result{}
		}
		results[c][f] = r
	}

	// Every cell but failover, in parallel, the slow group cells first.
	type job struct {
		c client
		f feature
	}
	var jobs []job
	for _, slow := range []bool{true, false} {
		for _, f := range fs {
			if f.run == nil || f.slow != slow {
				continue
			}
			for _, c := range cs {
				jobs = append(jobs, job{c, f})
			}
		}
	}
	workers := 4
	if n, err := strconv.Atoi(os.Getenv("MATRIX_PARALLEL")); err == nil && n > 0 {
		workers = n
	}
	ch := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				if j.c.missing != "" {
					record(j.c.name, j.f.name, fail("driver unavailable: %s", j.c.missing))
					continue
				}
				runCell := func(name string) result {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					t0 := time.Now()
					r := j.f.run(ctx, e, j.c, name)
					r.dur = time.Since(t0)
					return r
				}
				name := fmt.Sprintf("%s-%s-%s", prefix, j.c.name, j.f.name)
				r := runCell(name)
				if r.status == statusFail && exp.status[j.c.name][j.f.name] == statusPass {
					// One more run on fresh topics and groups, so a timing hiccup of
					// a loaded CI machine does not fail the build; the first failure
					// stays in the log.
					t.Logf("%s/%s failed, running it once more: %s", j.c.name, j.f.name, r.reason)
					if again := runCell(name + "-again"); again.status == statusPass {
						again.dur += r.dur
						t.Logf("FLAKY %s/%s: passed on the second run", j.c.name, j.f.name)
						r = again
					}
				}
				record(j.c.name, j.f.name, r)
				t.Logf("%-22s %-14s %-4s %6.1fs %s", j.c.name, j.f.name, r.status, r.dur.Seconds(), firstLine(r.reason))
				if r.status == statusFail && os.Getenv("MATRIX_VERBOSE") == "1" {
					t.Logf("%s/%s in full: %s", j.c.name, j.f.name, r.reason)
				}
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	t.Logf("parallel cells done after %v", time.Since(begin).Round(time.Millisecond))

	if slices.ContainsFunc(fs, func(f feature) bool { return f.name == "failover" }) {
		for name, r := range runFailover(t, e, cl, cs, prefix) {
			record(name, "failover", r)
		}
		t.Logf("failover done after %v", time.Since(begin).Round(time.Millisecond))
	}

	md := renderMatrix(cs, fs, results, exp)
	t.Logf("client compatibility matrix (%v):\n%s", time.Since(begin).Round(time.Second), md)
	if out := os.Getenv("MATRIX_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			t.Errorf("writing %s: %v", out, err)
		}
	}
	if os.Getenv("MATRIX_UPDATE") == "1" {
		if err := writeExpected("expected-matrix.md", cs, fs, results, exp); err != nil {
			t.Fatal(err)
		}
		t.Logf("expected-matrix.md rewritten from this run")
		return
	}
	compare(t, cs, fs, results, exp)
}

func selectClients(t *testing.T, cs []client) []client {
	sel := os.Getenv("MATRIX_CLIENTS")
	if sel == "" {
		return cs
	}
	want := strings.Split(sel, ",")
	var out []client
	for _, c := range cs {
		if slices.Contains(want, c.name) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		t.Fatalf("MATRIX_CLIENTS=%s selects no client", sel)
	}
	return out
}

func selectFeatures(t *testing.T, fs []feature) []feature {
	sel := os.Getenv("MATRIX_FEATURES")
	if sel == "" {
		return fs
	}
	want := strings.Split(sel, ",")
	var out []feature
	for _, f := range fs {
		if slices.Contains(want, f.name) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		t.Fatalf("MATRIX_FEATURES=%s selects no feature", sel)
	}
	return out
}

// runFailover runs every client's failover driver at once on its own topic
// (2 partitions, RF 3, min.insync.replicas 2, all led by one broker that is
// not the controller), kills that broker once all of them are producing,
// waits until each has more acknowledgements from the new leaders, stops
// them, restarts the broker and checks that every acknowledged record is in
// the log.
func runFailover(t *testing.T, e *env, cl brokerProcs, cs []client, prefix string) map[string]result {
	out := map[string]result{}
	if cl == nil {
		for _, c := range cs {
			out[c.name] = result{status: statusSkip, reason: "the failover cell needs the process cluster (MATRIX_BOOTSTRAP is set)"}
		}
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	md, err := e.adm.BrokerMetadata(ctx)
	if err != nil {
		for _, c := range cs {
			out[c.name] = fail("metadata: %v", err)
		}
		return out
	}
	ids := md.Brokers.NodeIDs()
	slices.Sort(ids)
	victim := ids[0]
	if victim == md.Controller {
		victim = ids[1]
	}
	var rest []int32
	for _, id := range ids {
		if id != victim {
			rest = append(rest, id)
		}
	}
	assign := map[int32][]int32{0: {victim, rest[0], rest[1]}, 1: {victim, rest[1], rest[0]}}
	drivers := map[string]*live{}
	topics := map[string]string{}
	for _, c := range cs {
		if c.missing != "" {
			out[c.name] = fail("driver unavailable: %s", c.missing)
			continue
		}
		topic := fmt.Sprintf("%s-%s-failover", prefix, c.name)
		if err := e.createTopicAssigned(ctx, topic, 2, 3, map[string]string{"min.insync.replicas": "2"}, assign); err != nil {
			out[c.name] = fail("%v", err)
			continue
		}
		l, err := start(c, e.bootstrap, "failover", 150*time.Second, "--topic", topic, "--partitions", "2")
		if err != nil {
			out[c.name] = fail("starting the driver: %v", err)
			continue
		}
		drivers[c.name], topics[c.name] = l, topic
	}
	waitAll := func(d time.Duration, ok func(name string, l *live) bool) {
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			all := true
			for name, l := range drivers {
				if !l.exited() && !ok(name, l) {
					all = false
				}
			}
			if all {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitAll(60*time.Second, func(_ string, l *live) bool { return l.ackedCount() >= 100 })
	atKill := map[string]int{}
	for name, l := range drivers {
		atKill[name] = l.ackedCount()
	}
	t.Logf("failover: killing broker %d (leader of every failover partition) at %v, acks so far %v", victim, time.Since(begin).Round(time.Millisecond), atKill)
	cl.Kill(victim)
	killed := time.Now()
	waitAll(90*time.Second, func(name string, l *live) bool { return l.ackedCount() >= atKill[name]+100 })
	progressed := map[string]int{}
	for name, l := range drivers {
		progressed[name] = l.ackedCount() - atKill[name]
	}
	t.Logf("failover: %v after the kill, new acks %v", time.Since(killed).Round(time.Millisecond), progressed)
	runs := map[string]run{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for name, l := range drivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := l.stop(120 * time.Second)
			mu.Lock()
			runs[name] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	cl.Restart(victim)
	for name, r := range runs {
		if progressed[name] < 100 && r.code == 0 {
			out[name] = fail("only %d acknowledgements in 90s after the leader was killed", progressed[name])
			continue
		}
		if msg := r.failure(); msg != "" {
			out[name] = fail("%s", msg)
			continue
		}
		lists := r.with("acked_list")
		if len(lists) != 1 {
			out[name] = fail("no acked_list printed")
			continue
		}
		var acked []int
		_ = json.Unmarshal(lists[0]["acked_list"], &acked)
		recs, err := e.readAll(ctx, topics[name])
		if err != nil {
			out[name] = fail("%v", err)
			continue
		}
		stored := map[string]bool{}
		for _, rec := range recs {
			stored[string(rec.Value)] = true
		}
		var lost []int
		for _, i := range acked {
			if !stored["f"+strconv.Itoa(i)] {
				lost = append(lost, i)
			}
		}
		if len(lost) > 0 {
			out[name] = fail("%d acknowledged records lost, e.g. f%d", len(lost), lost[0])
			continue
		}
		t.Logf("failover %s: %d acknowledged (%d before the kill), all stored (%d records in the log)", name, len(acked), atKill[name], len(recs))
		out[name] = pass()
	}
	return out
}

// brokerProcs kills and restarts the brokers of the failover cell: our
// cluster's, or Kafka 3.9's (MATRIX_REFERENCE).
type brokerProcs interface {
	Kill(id int32)
	Restart(id int32)
}

// refProcs are the Kafka 3.9 brokers, ids 0..n-1.
type refProcs struct {
	t    *testing.T
	refs []*cluster.KafkaRef
}

func (r refProcs) Kill(id int32)    { r.refs[id].Kill() }
func (r refProcs) Restart(id int32) { r.refs[id].Restart(r.t) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// renderMatrix is the markdown matrix: a table, then the reason of every
// cell that did not pass. A failure expected-matrix.md explains is "fail",
// any other "**FAIL**".
func renderMatrix(cs []client, fs []feature, results map[string]map[string]result, exp expected) string {
	var b strings.Builder
	b.WriteString("| client |")
	for _, f := range fs {
		b.WriteString(" " + f.name + " |")
	}
	b.WriteString("\n|---|")
	for range fs {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var notes []string
	for _, c := range cs {
		b.WriteString("| " + c.name + " |")
		for _, f := range fs {
			r, ok := results[c.name][f.name]
			cell := "-"
			if ok {
				cell = r.status
				key := c.name + "/" + f.name
				switch {
				case r.status == statusFail && exp.status[c.name][f.name] == statusFail:
					notes = append(notes, fmt.Sprintf("- %s: fail, as expected-matrix.md explains: %s", key, oneLine(r.reason)))
				case r.status == statusFail:
					cell = "**FAIL**"
					notes = append(notes, fmt.Sprintf("- %s: **FAIL**: %s", key, oneLine(r.reason)))
				case r.status == statusSkip:
					notes = append(notes, fmt.Sprintf("- %s: skip: %s", key, oneLine(r.reason)))
				}
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}

func oneLine(s string) string {
	s = firstLine(s)
	if len(s) > 240 {
		s = s[:240] + "..."
	}
	return s
}

// kafka39Differs are the cells where Apache Kafka 3.9 answers otherwise
// than our broker, found with MATRIX_REFERENCE=kafka39: the cell's
// status against Kafka and Kafka's answer. A reference run expects these
// instead of expected-matrix.md's.
var kafka39Differs = map[string]struct{ status, reason string }{
	// None: kafkajs/lz4 (lz4js's dependent-block frames, refused with
	// UNKNOWN_SERVER_ERROR) fails against our broker as against Kafka 3.9.
}

// forKafka39 is the expected matrix of a reference run: expected-matrix.md,
// where a cell our broker fails ("broker: ..." reasons) may pass or skip
// (a skip is the client's), and kafka39Differs over that.
func (exp expected) forKafka39() expected {
	out := expected{columns: exp.columns, status: map[string]map[string]string{}, reason: maps.Clone(exp.reason)}
	for c, row := range exp.status {
		out.status[c] = maps.Clone(row)
		for f, st := range row {
			if st == statusFail && strings.HasPrefix(exp.reason[c+"/"+f], "broker:") {
				out.status[c][f] = statusSkip // compare: pass and skip are fine, a failure is not
			}
		}
	}
	for key, d := range kafka39Differs {
		c, f, _ := strings.Cut(key, "/")
		if out.status[c] == nil {
			out.status[c] = map[string]string{}
		}
		out.status[c][f] = d.status
		out.reason[key] = d.reason
	}
	return out
}

// expected is the checked-in matrix: status and reason per client/feature.
type expected struct {
	columns []string // the table's features, in order
	status  map[string]map[string]string
	reason  map[string]string // "client/feature"
}

// loadExpected parses expected-matrix.md: its first table (a header row of
// features, one row per client) and its "- client/feature: reason" lines.
func loadExpected(path string) (expected, error) {
	exp := expected{status: map[string]map[string]string{}, reason: map[string]string{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return exp, err
	}
	var header []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			for i := range cells {
				cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "*`")
			}
			if header == nil {
				header = cells
				exp.columns = cells[1:]
				continue
			}
			if strings.HasPrefix(cells[0], "---") || strings.HasPrefix(cells[0], ":--") {
				continue
			}
			row := map[string]string{}
			for i := 1; i < len(cells) && i < len(header); i++ {
				row[header[i]] = strings.ToLower(strings.Fields(cells[i] + " -")[0])
			}
			exp.status[cells[0]] = row
		case strings.HasPrefix(line, "- ") && strings.Contains(line, ":"):
			key, reason, _ := strings.Cut(strings.TrimPrefix(line, "- "), ":")
			if strings.Contains(key, "/") {
				exp.reason[strings.Trim(strings.TrimSpace(key), "`")] = strings.TrimSpace(reason)
			}
		}
	}
	for c, row := range exp.status {
		for f, s := range row {
			if s == statusFail && exp.reason[c+"/"+f] == "" {
				return exp, fmt.Errorf("%s/%s is expected to fail without a reason line \"- %s/%s: why\"", c, f, c, f)
			}
		}
	}
	return exp, nil
}

// compare fails the test for every cell expected to pass (or skip) that
// failed; each cell is a subtest so CI counts them.
func compare(t *testing.T, cs []client, fs []feature, results map[string]map[string]result, exp expected) {
	for _, c := range cs {
		for _, f := range fs {
			r, ok := results[c.name][f.name]
			if !ok {
				continue
			}
			want := exp.status[c.name][f.name]
			t.Run(c.name+"/"+f.name, func(t *testing.T) {
				switch {
				case r.status == statusPass:
					if want != statusPass {
						t.Logf("passes but expected-matrix.md says %q: update it", want)
					}
				case r.status == statusSkip:
					if want == statusPass {
						t.Errorf("expected to pass, skipped: %s", r.reason)
						return
					}
					t.Skip(r.reason)
				case want == statusFail:
					t.Logf("fails as expected (%s): %s", exp.reason[c.name+"/"+f.name], oneLine(r.reason))
				case want == "":
					t.Errorf("not in expected-matrix.md; it failed: %s", r.reason)
				default:
					t.Errorf("expected %s, failed: %s", want, r.reason)
				}
			})
		}
	}
}

// writeExpected rewrites the expected matrix from results, keeping the
// reasons already written for cells that still fail, and the old table's
// columns this run did not select (e.g. the opt-in transaction columns)
// with their old statuses and reasons.
func writeExpected(path string, cs []client, fs []feature, results map[string]map[string]result, old expected) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	head := text
	if i := strings.Index(text, "\n| client |"); i >= 0 {
		head = text[:i+1]
	}
	var cols []string
	ran := map[string]bool{}
	for _, f := range fs {
		cols = append(cols, f.name)
		ran[f.name] = true
	}
	for _, f := range old.columns {
		if !ran[f] {
			cols = append(cols, f)
		}
	}
	var b strings.Builder
	b.WriteString(head)
	b.WriteString("| client |")
	for _, f := range cols {
		b.WriteString(" " + f + " |")
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	var fails, skips []string
	for _, c := range cs {
		b.WriteString("| " + c.name + " |")
		for _, f := range cols {
			key := c.name + "/" + f
			if !ran[f] {
				st := old.status[c.name][f]
				if st == "" {
					st = "-"
				}
				b.WriteString(" " + st + " |")
				switch st {
				case statusFail:
					fails = append(fails, "- "+key+": "+old.reason[key])
				case statusSkip:
					skips = append(skips, "- "+key+": "+old.reason[key])
				}
				continue
			}
			r := results[c.name][f]
			b.WriteString(" " + r.status + " |")
			switch r.status {
			case statusFail:
				reason := old.reason[key]
				if reason == "" {
					reason = "TODO explain: " + oneLine(r.reason)
				}
				fails = append(fails, "- "+key+": "+reason)
			case statusSkip:
				skips = append(skips, "- "+key+": "+oneLine(r.reason))
			}
		}
		b.WriteString("\n")
	}
	if len(fails) > 0 {
		b.WriteString("\n## Expected failures\n\n" + strings.Join(fails, "\n") + "\n")
	}
	if len(skips) > 0 {
		b.WriteString("\n## Skips (the client lacks the feature)\n\n" + strings.Join(skips, "\n") + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
