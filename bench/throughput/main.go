// Command throughput compares this broker with franz-go's kfake and with Apache Kafka 3.9: it starts
// ZooKeeper, one bin/kafka broker, an in-process kfake cluster and one Kafka 3.9 broker (kafka.Kafka in a
// JVM, ZooKeeper mode, its own chroot on the same ZooKeeper, Kafka's defaults, internal topics RF 1) on
// loopback, produces and consumes the same records against each with franz-go (acks=all, idempotent), and
// prints records/s and MB/s side by side. In the same run it measures acks=all with replication factor 3 on
// three bin/kafka processes (own ZooKeeper, -replicated 3) next to RF 1 on one, and the same on three Kafka
// 3.9 brokers (kafka39-rf3, min.insync.replicas=2, as ours-rf3). With -tls (default) the same load runs over
// TLS against a broker whose listener is SSL (ours-tls, ratio row ours-tls/ours). With -sasl (default) it
// runs over SASL_SSL with SCRAM-SHA-512 (ours-sasl-ssl, a broker with PLAINTEXT, SASL_SSL and SASL_PLAINTEXT
// listeners, the SCRAM user made by the bench), Kafka 3.9 gets the same listeners (kafka39-tls,
// kafka39-sasl-ssl on the kafka39 broker), and a last table measures authentications per second (PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512 over SASL_PLAINTEXT and SASL_SSL) with the broker's CPU per connection.
//
// Tables, in order:
//   - throughput per target and partition count (-partitions, default 1 and 3), the median of -rounds
//     rounds, after one warm-up round per target that is not counted (the same for every target; it gives
//     the JVM's JIT a fair chance), with ratio rows ours/kfake, ours-rf3/ours, ours/kafka39 and
//     ours-rf3/kafka39-rf3;
//   - produce latency p50/p99/max at a fixed rate (-latency-rate records/s of -value-size bytes for
//     -latency-duration, 1 partition, acks=all, idempotent, linger 0) for ours, kfake and kafka39, measured from
//     each record's scheduled send time to its ack, with the ratio row ours/kafka39;
//   - synchronous OffsetCommit rate and latency p50/p99 (commits.go) for every target, with ours/kfake
//     and ours/kafka39;
//   - the authentication handshake table (security.go);
//   - transactions (txn.go) for ours, kfake and kafka39: a producer with a transactional.id commits
//     transactions of 100 records for -txn-duration per round (-rounds rounds, targets interleaved): records/s,
//     MB/s, transactions/s, commit (Flush+EndTxn) latency p50/p99, beside the acks=all idempotent produce of
//     -txn-idempotent-records records of the same values on the same target, with ours/kfake and ours/kafka39.
//
// -only runs a subset of the sections (e.g. -only txn); the targets only the skipped sections use (ours-tls,
// ours-sasl-ssl, ours-rf3, kafka39-rf3 and kafka39's secured listeners) are then not started.
//
// Kafka 3.9 runs with the flags of Kafka's own scripts (kafka-server-start.sh's -Xmx1G -Xms1G,
// kafka-run-class.sh's G1 flags; see bench/internal/kafkaref). Its jars come from var/kafka-3.9/lib (or
// $KAFKA39_LIB), installed by `make deps`; when they or java are missing the program says so and runs
// without the Kafka columns (-kafka39=false leaves them out too).
// Run by `make bench` (KAFKA_BIN=bin/kafka).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Issue targets: ours/kfake.
const (
	produceTarget = 0.8
	consumeTarget = 1.0
)

type options struct {
	bin          string
	records      int
	valueSize    int
	partitions   []int32
	timeout      time.Duration
	rounds       int
	compressible bool
	keep         bool
	brokerEnv    []string
	cpuProfile   string
	replicated   int // brokers (= replication factor) of the replicated target; <= 1: none
	commits      int // synchronous group commits per target (commits.go); 0: skip
	kafka39      bool
	tls          bool // also the ours-tls target (tls.go)
	sasl         bool // also the ours-sasl-ssl target and the authentication table (security.go)
	handshakeDur time.Duration
	warmup       bool
	latencyRate  int             // records/s of the fixed-rate produce latency table; 0: skip
	latencyDur   time.Duration   // its duration
	txnDur       time.Duration   // per target and round of the transactions section (txn.go); 0: skip
	txnIdem      int             // records of its idempotent produce per target and round
	only         map[string]bool // sections to run (sectionNames); nil: all
}

// sectionNames are the sections -only selects from, in the order they run.
var sectionNames = []string{"throughput", "latency", "commits", "auth", "txn"}

// runs reports whether section is selected.
func (o options) runs(section string) bool { return o.only == nil || o.only[section] }

// result is one target's figures for one partition count.
type result struct {
	target     string
	partitions int32
	records    int
	valueSize  int
	produce    time.Duration
	consume    time.Duration
	// CPU time of client plus server (both processes for ours, this process for kfake) per phase.
	produceCPU time.Duration
	consumeCPU time.Duration
}

// perCPU is records per CPU-second: a figure that other load on the machine disturbs much less than wall time.
func (r result) perCPU(cpu time.Duration) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(r.records) / cpu.Seconds()
}

func (r result) rate(d time.Duration) float64 { return float64(r.records) / d.Seconds() }
func (r result) mbps(d time.Duration) float64 {
	return float64(r.records) * float64(r.valueSize) / d.Seconds() / 1e6
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = run(ctx, opts, os.Stdout)
	stop()
	if err != nil {
		slog.Error("bench failed", "err", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("throughput", flag.ContinueOnError)
	var o options
	bin := os.Getenv("KAFKA_BIN")
	if bin == "" {
		bin = "bin/kafka"
	}
	fs.StringVar(&o.bin, "kafka-bin", bin, "broker binary (default $KAFKA_BIN or bin/kafka)")
	fs.IntVar(&o.records, "records", 1_000_000, "records to produce and consume per target and partition count")
	fs.IntVar(&o.valueSize, "value-size", 100, "bytes per record value")
	parts := fs.String("partitions", "1,3", "comma-separated partition counts to run")
	fs.DurationVar(&o.timeout, "timeout", 1200*time.Second, "bound on the whole run")
	fs.IntVar(&o.rounds, "rounds", 5, "rounds per target and partition count (targets interleaved); the median is reported")
	fs.BoolVar(&o.compressible, "compressible", false, "use highly compressible values instead of random bytes")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (broker/ZooKeeper logs) after the run")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of OUR broker to this file (builds cmd/kafka with a profiling overlay; the tree is not changed)")
	fs.IntVar(&o.replicated, "replicated", 3, "also measure acks=all on this many local brokers with that replication factor (0: skip)")
	fs.IntVar(&o.commits, "commits", 2000, "synchronous OffsetCommits from one group member per target (0: skip)")
	fs.BoolVar(&o.kafka39, "kafka39", true, "also measure Apache Kafka 3.9 (var/kafka-3.9/lib from make deps; skipped with a note when missing)")
	fs.BoolVar(&o.tls, "tls", true, "also measure a broker whose listener is SSL (ours-tls), beside plaintext")
	fs.BoolVar(&o.sasl, "sasl", true, "also measure a SASL_SSL listener with SCRAM-SHA-512 (ours-sasl-ssl; kafka39-tls and kafka39-sasl-ssl with -kafka39) and the authentication handshake rate")
	fs.DurationVar(&o.handshakeDur, "handshake-duration", 2*time.Second, "duration of each cell of the authentication handshake table (0: no table)")
	fs.BoolVar(&o.warmup, "warmup", true, "run one uncounted warm-up round per target first")
	fs.IntVar(&o.latencyRate, "latency-rate", 20_000, "records/s of the fixed-rate produce latency measurement (0: skip)")
	fs.DurationVar(&o.latencyDur, "latency-duration", 5*time.Second, "duration of the fixed-rate produce latency measurement")
	fs.DurationVar(&o.txnDur, "txn-duration", 2*time.Second, "duration of each round's transactional produce per target in the transactions section (0: skip it)")
	fs.IntVar(&o.txnIdem, "txn-idempotent-records", 200_000, "records of the acks=all idempotent produce beside the transactions, per target and round")
	only := fs.String("only", "", "comma-separated sections to run ("+strings.Join(sectionNames, ", ")+"; default: all)")
	env := fs.String("broker-env", "", "comma-separated KEY=VALUE pairs added to the broker's environment")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, p := range strings.Split(*parts, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(p), 10, 32)
		if err != nil || n < 1 {
			return o, fmt.Errorf("-partitions: bad count %q", p)
		}
		o.partitions = append(o.partitions, int32(n))
	}
	if o.records < 1 || o.valueSize < 0 || o.rounds < 1 {
		return o, errors.New("-records and -rounds must be >= 1, -value-size >= 0")
	}
	if o.handshakeDur < 0 {
		return o, errors.New("-handshake-duration must be >= 0 (0: no authentication table)")
	}
	if o.latencyRate < 0 || (o.latencyRate > 0 && o.latencyDur <= 0) {
		return o, errors.New("-latency-rate must be >= 0 and -latency-duration > 0")
	}
	if o.txnDur < 0 || o.txnIdem < 1 {
		return o, errors.New("-txn-duration must be >= 0 (0: no transactions section), -txn-idempotent-records >= 1")
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(sectionNames, s) {
				return o, fmt.Errorf("-only: unknown section %q (sections: %s)", s, strings.Join(sectionNames, ", "))
			}
			o.only[s] = true
		}
	}
	if *env != "" {
		o.brokerEnv = strings.Split(*env, ",")
	}
	return o, nil
}

func run(ctx context.Context, o options, out io.Writer) (err error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "kafka-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer func() {
		switch {
		case o.keep:
			slog.Info("kept temp dir", "dir", dir)
		case err != nil:
			// Keep the broker and ZooKeeper logs for the failure, not the data.
			_ = os.RemoveAll(filepath.Join(dir, "logs"))
			_ = os.RemoveAll(filepath.Join(dir, "zk"))
			slog.Info("kept server logs", "dir", dir)
		default:
			_ = os.RemoveAll(dir)
		}
	}()

	bin, profile := o.bin, ""
	if o.cpuProfile != "" {
		if profile, err = filepath.Abs(o.cpuProfile); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		slog.Info("building profiled broker")
		if bin, err = buildProfiled(ctx, dir); err != nil {
			return err
		}
	}
	ours, err := startOurs(ctx, bin, dir, o.brokerEnv, profile)
	if err != nil {
		return err
	}
	defer func() {
		ours.stop()
		if profile != "" && err == nil {
			fmt.Fprintf(out, "broker CPU profile: %s (go tool pprof -top %s)\n", profile, profile)
		}
	}()
	fake, err := startKfake()
	if err != nil {
		return err
	}
	defer fake.stop()
	targets := []*target{ours, fake}
	// The secured and replicated targets serve only the throughput, commit and authentication sections.
	allTargets := o.runs("throughput") || o.runs("commits") || o.runs("auth")
	if !allTargets {
		o.tls, o.sasl, o.replicated = false, false, 0
	}
	if o.tls {
		ot, err := startOursTLS(ctx, o.bin, dir, o.brokerEnv)
		if err != nil {
			return err
		}
		defer ot.stop()
		targets = append(targets, ot)
	}
	if o.sasl {
		st, err := startOursSASLSSL(ctx, o.bin, dir, o.brokerEnv)
		if err != nil {
			return err
		}
		defer st.stop()
		targets = append(targets, st)
	}
	if o.replicated > 1 {
		rep, err := startOursReplicated(ctx, o.bin, dir, o.brokerEnv, o.replicated)
		if err != nil {
			return err
		}
		defer rep.stop()
		targets = append(targets, rep)
	}
	if o.kafka39 {
		ks, err := kafka39Targets(ctx, dir, ours.zkAddr, o.replicated, o.tls || o.sasl, func(msg string) {
			slog.Warn(msg)
			fmt.Fprintln(out, msg)
		})
		if err != nil {
			return err
		}
		for _, k := range ks {
			defer k.stop()
		}
		targets = append(targets, ks...)
	}

	values := newValuePool(o.valueSize, o.compressible)
	if o.warmup && o.runs("throughput") {
		// One round per target, not counted: the JVM compiles its hot paths, and every target gets the same.
		for _, t := range targets {
			slog.Info("warm-up round", "target", t.name)
			if _, err := measure(ctx, t, o.partitions[0], o.records, values); err != nil {
				if t.logTail != nil {
					err = fmt.Errorf("%w\n%s log tail:\n%s", err, t.name, t.logTail())
				}
				return fmt.Errorf("warm-up: %w", err)
			}
		}
	}
	if o.runs("throughput") {
		if err := runThroughput(ctx, o, targets, values, out); err != nil {
			return err
		}
	}
	if o.latencyRate > 0 && o.runs("latency") {
		fmt.Fprintln(out)
		if err := measureLatency(ctx, basicTargets(targets), o.latencyRate, o.latencyDur, values, out); err != nil {
			return err
		}
	}
	if o.commits > 0 && o.runs("commits") {
		fmt.Fprintln(out)
		if err := measureCommits(ctx, targets, o.commits, out); err != nil {
			return err
		}
	}
	if o.sasl && o.handshakeDur > 0 && o.runs("auth") {
		fmt.Fprintln(out)
		if err := measureHandshakes(ctx, targets, o.handshakeDur, out); err != nil {
			return err
		}
	}
	if o.txnDur > 0 && o.runs("txn") {
		fmt.Fprintln(out)
		if err := measureTxns(ctx, basicTargets(targets), o.rounds, o.txnDur, o.txnIdem, values, out); err != nil {
			return err
		}
	}
	return nil
}

// basicTargets are ours, kfake and kafka39 (one broker each, plaintext) of targets.
func basicTargets(targets []*target) []*target {
	var ts []*target
	for _, t := range targets {
		if t.name == "ours" || t.name == "kfake" || t.name == "kafka39" {
			ts = append(ts, t)
		}
	}
	return ts
}

// runThroughput measures every target for every partition count in rounds and prints the throughput table.
func runThroughput(ctx context.Context, o options, targets []*target, values *valuePool, out io.Writer) error {
	var results []result
	for _, p := range o.partitions {
		rounds := make([][]result, len(targets))
		for round := 0; round < o.rounds; round++ {
			// Rotate which target goes first so none always runs on a warmer machine.
			for k := range targets {
				i := (k + round) % len(targets)
				t := targets[i]
				r, err := measure(ctx, t, p, o.records, values)
				if err != nil {
					if t.logTail != nil {
						err = fmt.Errorf("%w\n%s log tail:\n%s", err, t.name, t.logTail())
					}
					return err
				}
				rounds[i] = append(rounds[i], r)
			}
		}
		for _, rs := range rounds {
			results = append(results, median(rs))
		}
	}
	printTable(out, results, o.rounds)
	return nil
}

// median returns rs[0] with each time (produce and consume, wall and CPU) replaced by its median over rounds.
func median(rs []result) result {
	m := rs[0]
	ps := make([]time.Duration, len(rs))
	cs := make([]time.Duration, len(rs))
	for i, r := range rs {
		ps[i], cs[i] = r.produce, r.consume
	}
	slices.Sort(ps)
	slices.Sort(cs)
	m.produce, m.consume = ps[len(ps)/2], cs[len(cs)/2]
	for i, r := range rs {
		ps[i], cs[i] = r.produceCPU, r.consumeCPU
	}
	slices.Sort(ps)
	slices.Sort(cs)
	m.produceCPU, m.consumeCPU = ps[len(ps)/2], cs[len(cs)/2]
	return m
}

func measure(ctx context.Context, t *target, partitions int32, n int, values *valuePool) (result, error) {
	size := values.size
	topic := fmt.Sprintf("bench-%s-p%d-%d", t.name, partitions, time.Now().UnixNano())
	r := result{target: t.name, partitions: partitions, records: n, valueSize: size}
	if err := createTopicRF(ctx, t.bootstrap, topic, partitions, max(t.rf, 1)); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	// One acked record per partition before the clock starts: a new topic's followers start fetching it only
	// after their fetcher's in-flight request returns (Kafka: up to replica.fetch.wait.max.ms, 500 ms), a
	// start-up cost, not throughput. Every target gets the same.
	if err := prime(pctx, t.bootstrap, topic, partitions, values); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	slog.Info("producing", "target", t.name, "topic", topic, "records", n)
	cpu0, srv0 := t.cpu(), t.srvCPU()
	pw := &wireStats{key: int16(kmsg.Produce)}
	d, err := produce(pctx, t.bootstrap, topic, n, values, pw)
	if err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	cpu1, srv1 := t.cpu(), t.srvCPU()
	r.produce, r.produceCPU = d, cpu1-cpu0
	slog.Info("consuming", "target", t.name, "topic", topic)
	cctx, cancel2 := context.WithTimeout(ctx, 60*time.Second)
	defer cancel2()
	fw := &wireStats{key: int16(kmsg.Fetch)}
	if d, err = consume(cctx, t.bootstrap, topic, n+int(partitions), size, fw); err != nil {
		return r, fmt.Errorf("%s: %w", t.name, err)
	}
	r.consume, r.consumeCPU = d, t.cpu()-cpu1
	slog.Info("measured", "target", t.name, "partitions", partitions,
		"produce", r.produce.Round(time.Millisecond), "produce_cpu", r.produceCPU.Round(time.Millisecond),
		"produce_server_cpu", (srv1 - srv0).Round(time.Millisecond), "produce_requests", pw.requests.Load(), "produce_rtt", pw.meanRTT().Round(time.Microsecond),
		"consume", r.consume.Round(time.Millisecond), "consume_cpu", r.consumeCPU.Round(time.Millisecond),
		"consume_server_cpu", (t.srvCPU() - srv1).Round(time.Millisecond), "fetch_requests", fw.requests.Load(),
		"fetch_bytes", fw.respBytes.Load(), "fetch_rtt", fw.meanRTT().Round(time.Microsecond))
	if err := deleteTopic(ctx, t.bootstrap, topic); err != nil {
		slog.Warn("delete topic", "target", t.name, "err", err)
	}
	return r, nil
}

// printTable writes one row per target and partition count, then the ours/kfake ratios.
func printTable(w io.Writer, results []result, rounds int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tpartitions\tproduce rec/s\tproduce MB/s\tproduce rec/cpu-s\tconsume rec/s\tconsume MB/s\tconsume rec/cpu-s\t")
	byKey := map[string]result{}
	var parts []int32
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.1f\t%.0f\t%.0f\t%.1f\t%.0f\t\n", r.target, r.partitions,
			r.rate(r.produce), r.mbps(r.produce), r.perCPU(r.produceCPU),
			r.rate(r.consume), r.mbps(r.consume), r.perCPU(r.consumeCPU))
		byKey[fmt.Sprintf("%s/%d", r.target, r.partitions)] = r
		if len(parts) == 0 || parts[len(parts)-1] != r.partitions {
			parts = append(parts, r.partitions)
		}
	}
	for _, p := range parts {
		get := func(name string) (result, bool) { r, ok := byKey[fmt.Sprintf("%s/%d", name, p)]; return r, ok }
		o, okOurs := get("ours")
		if r, ok := get("ours-rf3"); ok && okOurs {
			ratioRow(tw, "ours-rf3/ours", p, r, o)
		}
		if r, ok := get("ours-tls"); ok && okOurs {
			ratioRow(tw, "ours-tls/ours", p, r, o)
		}
		if r, ok := get("ours-sasl-ssl"); ok && okOurs {
			ratioRow(tw, "ours-sasl-ssl/ours", p, r, o)
		}
		k39, okK := get("kafka39")
		for _, sec := range []string{"tls", "sasl-ssl"} {
			k, ok := get("kafka39-" + sec)
			if ok && okK {
				ratioRow(tw, "kafka39-"+sec+"/kafka39", p, k, k39)
			}
			if r, ok2 := get("ours-" + sec); ok && ok2 {
				ratioRow(tw, "ours-"+sec+"/kafka39-"+sec, p, r, k)
			}
		}
		if k, ok := get("kfake"); ok && okOurs {
			pr := o.rate(o.produce) / k.rate(k.produce)
			cr := o.rate(o.consume) / k.rate(k.consume)
			fmt.Fprintf(tw, "ours/kfake\t%d\t%.2fx %s\t%.2fx\t%.2fx\t%.2fx %s\t%.2fx\t%.2fx\t\n", p,
				pr, verdict(pr, produceTarget), pr, ratio(o.perCPU(o.produceCPU), k.perCPU(k.produceCPU)),
				cr, verdict(cr, consumeTarget), cr, ratio(o.perCPU(o.consumeCPU), k.perCPU(k.consumeCPU)))
		}
		if k, ok := get("kafka39"); ok && okOurs {
			ratioRow(tw, "ours/kafka39", p, o, k)
		}
		r, ok1 := get("ours-rf3")
		if k, ok2 := get("kafka39-rf3"); ok1 && ok2 {
			ratioRow(tw, "ours-rf3/kafka39-rf3", p, r, k)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, "rec/cpu-s: records per CPU-second of client+server together (ours, kafka39: bench process + broker; kfake: bench process; ours-rf3, kafka39-rf3: bench process + 3 brokers)")
	if slices.ContainsFunc(results, func(r result) bool { return r.target == "ours-tls" }) {
		fmt.Fprintln(w, "ours-tls: RF 1 on one broker whose only listener is SSL (TLS 1.3, ECDSA P-256): Fetch copies records through user space, no sendfile")
	}
	if slices.ContainsFunc(results, func(r result) bool { return strings.HasSuffix(r.target, "sasl-ssl") }) {
		fmt.Fprintln(w, "ours-sasl-ssl, kafka39-sasl-ssl: RF 1, a SASL_SSL listener (TLS as above), the clients log in with SCRAM-SHA-512 (one login per connection); kafka39-tls, kafka39-sasl-ssl: the kafka39 broker's own SSL and SASL_SSL listeners (same JVM)")
	}
	fmt.Fprintln(w, "ours: RF 1 on one broker; ours-rf3: RF 3 on three local broker processes (min.insync.replicas=2), same acks=all idempotent load")
	if slices.ContainsFunc(results, func(r result) bool { return strings.HasPrefix(r.target, "kafka39") }) {
		fmt.Fprintln(w, "kafka39: Apache Kafka 3.9 (ZooKeeper mode, defaults, -Xmx1G -Xms1G G1) on one broker; kafka39-rf3: three such brokers, RF 3, min.insync.replicas=2; one uncounted warm-up round per target")
	}
	fmt.Fprintf(w, "targets: produce >= %.1fx kfake, consume >= %.1fx kfake; %d records of %d-byte values, acks=all, idempotent, median of %d rounds\n",
		produceTarget, consumeTarget, firstOr(results).records, firstOr(results).valueSize, rounds)
}

// ratioRow writes a/b for every column.
func ratioRow(tw io.Writer, name string, p int32, a, b result) {
	fmt.Fprintf(tw, "%s\t%d\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\n", name, p,
		ratio(a.rate(a.produce), b.rate(b.produce)), ratio(a.mbps(a.produce), b.mbps(b.produce)), ratio(a.perCPU(a.produceCPU), b.perCPU(b.produceCPU)),
		ratio(a.rate(a.consume), b.rate(b.consume)), ratio(a.mbps(a.consume), b.mbps(b.consume)), ratio(a.perCPU(a.consumeCPU), b.perCPU(b.consumeCPU)))
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ratio, target float64) string {
	if ratio >= target {
		return "(ok)"
	}
	return "(LOW)"
}

func firstOr(rs []result) result {
	if len(rs) == 0 {
		return result{}
	}
	return rs[0]
}
