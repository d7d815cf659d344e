package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
		parts   []int32
	}{
		{args: nil, parts: []int32{1, 3}},
		{args: []string{"-partitions", "2"}, parts: []int32{2}},
		{args: []string{"-partitions", "1, 4"}, parts: []int32{1, 4}},
		{args: []string{"-partitions", "0"}, wantErr: true},
		{args: []string{"-partitions", "x"}, wantErr: true},
		{args: []string{"-records", "0"}, wantErr: true},
		{args: []string{"-rounds", "0"}, wantErr: true},
		{args: []string{"-handshake-duration", "-1s"}, wantErr: true},
		{args: []string{"-sasl=false", "-handshake-duration", "0"}, parts: []int32{1, 3}},
		{args: []string{"-txn-duration", "-1s"}, wantErr: true},
		{args: []string{"-txn-idempotent-records", "0"}, wantErr: true},
		{args: []string{"-only", "txn"}, parts: []int32{1, 3}},
		{args: []string{"-only", "latency, txn"}, parts: []int32{1, 3}},
		{args: []string{"-only", "txns"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseFlags(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && fmt.Sprint(o.partitions) != fmt.Sprint(tt.parts) {
				t.Errorf("partitions = %v, want %v", o.partitions, tt.parts)
			}
		})
	}
}

func TestValuePool(t *testing.T) {
	for _, size := range []int{0, 1, 100, 4096} {
		p := newValuePool(size, false)
		for _, i := range []int{0, 1, 12345, 1 << 20, 10_000_000} {
			v := p.get(i)
			if len(v) != size || cap(v) != size {
				t.Fatalf("size %d, i %d: len %d cap %d", size, i, len(v), cap(v))
			}
		}
	}
	// Neighbouring values differ, so snappy cannot collapse a batch.
	p := newValuePool(100, false)
	if bytes.Equal(p.get(0), p.get(1)) {
		t.Error("consecutive random values are equal")
	}
}

func TestMedianAndTable(t *testing.T) {
	ms := time.Millisecond
	rs := []result{
		{target: "ours", partitions: 1, records: 1000, valueSize: 100, produce: 30 * ms, consume: 10 * ms, produceCPU: 30 * ms, consumeCPU: 10 * ms},
		{target: "ours", partitions: 1, records: 1000, valueSize: 100, produce: 10 * ms, consume: 90 * ms, produceCPU: 10 * ms, consumeCPU: 90 * ms},
		{target: "ours", partitions: 1, records: 1000, valueSize: 100, produce: 20 * ms, consume: 20 * ms, produceCPU: 20 * ms, consumeCPU: 20 * ms},
	}
	m := median(rs)
	if m.produce != 20*ms || m.consume != 20*ms || m.produceCPU != 20*ms || m.consumeCPU != 20*ms {
		t.Fatalf("median = %+v", m)
	}
	k := m
	k.target = "kfake"
	k.produce = 10 * ms // kfake twice as fast at producing: ratio 0.50x, below target
	var out bytes.Buffer
	printTable(&out, []result{m, k}, 3)
	s := out.String()
	for _, want := range []string{"50000", "5.0", "0.50x (LOW)", "1.00x (ok)", "median of 3 rounds"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

// TestKafka39Rows checks the ratio rows against Kafka 3.9 in the throughput, latency and commit tables.
func TestKafka39Rows(t *testing.T) {
	ms := time.Millisecond
	row := func(name string, produce, consume time.Duration) result {
		return result{target: name, partitions: 1, records: 1000, valueSize: 100, produce: produce, consume: consume, produceCPU: produce, consumeCPU: consume}
	}
	var out bytes.Buffer
	printTable(&out, []result{row("ours", 10*ms, 10*ms), row("kfake", 10*ms, 10*ms), row("ours-rf3", 20*ms, 10*ms),
		row("kafka39", 20*ms, 40*ms), row("kafka39-rf3", 80*ms, 10*ms)}, 1)
	for _, want := range []string{"ours/kafka39  1  2.00x  2.00x  2.00x  4.00x  4.00x  4.00x", "ours-rf3/kafka39-rf3  1  4.00x  4.00x  4.00x  1.00x"} {
		if !strings.Contains(strings.Join(strings.Fields(out.String()), "  "), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printLatencyTable(&out, []latencyResult{
		{target: "ours", rate: 100, achieved: 100, p50: ms, p99: 2 * ms, max: 4 * ms},
		{target: "kafka39", rate: 100, achieved: 100, p50: 2 * ms, p99: 8 * ms, max: 4 * ms},
	}, 100, time.Second)
	if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), "ours/kafka39 0.50x 0.25x 1.00x") {
		t.Errorf("latency table:\n%s", out.String())
	}
	out.Reset()
	printCommitTable(&out, []commitResult{
		{target: "ours", commits: 100, elapsed: 100 * ms, p50: ms, p99: 2 * ms},
		{target: "kafka39", commits: 100, elapsed: 400 * ms, p50: 4 * ms, p99: 4 * ms},
	})
	if !strings.Contains(strings.Join(strings.Fields(out.String()), " "), "ours/kafka39 4.00x 0.25x 0.50x") {
		t.Errorf("commit table:\n%s", out.String())
	}
}

// TestProduceLatencyKfake runs the fixed-rate produce against kfake for a short while.
func TestProduceLatencyKfake(t *testing.T) {
	fake, err := startKfake()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := produceLatency(ctx, fake, 2000, 500*time.Millisecond, newValuePool(100, false))
	if err != nil {
		t.Fatal(err)
	}
	if r.records != 1000 || r.p50 <= 0 || r.p99 < r.p50 || r.max < r.p99 || r.achieved <= 0 {
		t.Errorf("result %+v", r)
	}
}

func TestProcCPU(t *testing.T) {
	d, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if d < 0 {
		t.Fatalf("cpu %v", d)
	}
	if _, err := procCPU(-1); err == nil {
		t.Error("procCPU(-1) succeeded")
	}
}

// TestMeasureKfake runs the whole produce/consume path against kfake with a few records.
func TestMeasureKfake(t *testing.T) {
	fake, err := startKfake()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, p := range []int32{1, 3} {
		r, err := measure(ctx, fake, p, 5000, newValuePool(100, false))
		if err != nil {
			t.Fatalf("partitions %d: %v", p, err)
		}
		if r.produce <= 0 || r.consume <= 0 {
			t.Errorf("partitions %d: durations %v %v", p, r.produce, r.consume)
		}
	}
}

// TestRunOurs runs the full program (ZooKeeper, bin/kafka, kfake) with few records when KAFKA_BIN is set.
func TestRunOurs(t *testing.T) {
	bin := os.Getenv("KAFKA_BIN")
	if bin == "" {
		t.Skip("KAFKA_BIN not set (make bench sets it)")
	}
	o, err := parseFlags([]string{"-kafka-bin", bin, "-records", "20000", "-rounds", "1", "-timeout", "150s", "-handshake-duration", "200ms", "-txn-duration", "300ms"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{"ours/kfake", "ours-rf3/ours", "ours-rf3 ", "ours/kafka39", "ours-rf3/kafka39-rf3", "produce p99",
		"ours-tls/ours", "ours-sasl-ssl/ours", "ours-tls/kafka39-tls", "ours-sasl-ssl/kafka39-sasl-ssl", "auth target", "txn/idempotent"} {
		if !strings.Contains(out.String(), row) {
			t.Errorf("no %q row:\n%s", row, out.String())
		}
	}
}

// benchTargets starts kfake, and ours too when KAFKA_BIN is set.
func benchTargets(b *testing.B) []*target {
	fake, err := startKfake()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.stop)
	ts := []*target{fake}
	if bin := os.Getenv("KAFKA_BIN"); bin != "" {
		ours, err := startOurs(context.Background(), bin, b.TempDir(), nil, "")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(ours.stop)
		ts = append(ts, ours)
	}
	return ts
}

// BenchmarkProduce measures acks=all idempotent produce of 100-byte values per record; ns/op is per record.
func BenchmarkProduce(b *testing.B) {
	values := newValuePool(100, false)
	for _, t := range benchTargets(b) {
		b.Run(t.name, func(b *testing.B) {
			ctx := context.Background()
			topic := fmt.Sprintf("bench-produce-%d", time.Now().UnixNano())
			if err := createTopic(ctx, t.bootstrap, topic, 1); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(100)
			b.ResetTimer()
			if _, err := produce(ctx, t.bootstrap, topic, b.N, values, &wireStats{}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConsume measures reading 100-byte records from the start of a partition; ns/op is per record.
func BenchmarkConsume(b *testing.B) {
	values := newValuePool(100, false)
	for _, t := range benchTargets(b) {
		b.Run(t.name, func(b *testing.B) {
			ctx := context.Background()
			topic := fmt.Sprintf("bench-consume-%d", time.Now().UnixNano())
			if err := createTopic(ctx, t.bootstrap, topic, 1); err != nil {
				b.Fatal(err)
			}
			if _, err := produce(ctx, t.bootstrap, topic, b.N, values, &wireStats{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(100)
			b.ResetTimer()
			if _, err := consume(ctx, t.bootstrap, topic, b.N, 100, &wireStats{}); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func TestParseBootstrap(t *testing.T) {
	tests := []struct {
		in, addr string
		tls      bool
		mech     string // "" for none
	}{
		{"127.0.0.1:9092", "127.0.0.1:9092", false, ""},
		{"tls://127.0.0.1:9093", "127.0.0.1:9093", true, ""},
		{"sasl_ssl://SCRAM-SHA-512@127.0.0.1:9094", "127.0.0.1:9094", true, "SCRAM-SHA-512"},
		{"sasl_plaintext://PLAIN@127.0.0.1:9095", "127.0.0.1:9095", false, "PLAIN"},
		{"sasl_plaintext://SCRAM-SHA-256@127.0.0.1:9095", "127.0.0.1:9095", false, "SCRAM-SHA-256"},
	}
	for _, tt := range tests {
		b := parseBootstrap(tt.in)
		mech := ""
		if b.mech != nil {
			mech = b.mech.Name()
		}
		if b.addr != tt.addr || b.tls != tt.tls || mech != tt.mech {
			t.Errorf("parseBootstrap(%q) = %s tls=%v mech=%q, want %s tls=%v mech=%q", tt.in, b.addr, b.tls, mech, tt.addr, tt.tls, tt.mech)
		}
		if got := saslBootstrap("SASL_SSL", "PLAIN", "h:1"); got != "sasl_ssl://PLAIN@h:1" {
			t.Errorf("saslBootstrap = %q", got)
		}
	}
}

func TestSecurityRows(t *testing.T) {
	ms := time.Millisecond
	row := func(name string, produce, consume time.Duration) result {
		return result{target: name, partitions: 1, records: 1000, valueSize: 100, produce: produce, consume: consume, produceCPU: produce, consumeCPU: consume}
	}
	var out bytes.Buffer
	printTable(&out, []result{row("ours", 10*ms, 10*ms), row("ours-tls", 20*ms, 10*ms), row("ours-sasl-ssl", 20*ms, 20*ms),
		row("kafka39", 20*ms, 40*ms), row("kafka39-tls", 40*ms, 40*ms), row("kafka39-sasl-ssl", 80*ms, 80*ms)}, 1)
	flat := strings.Join(strings.Fields(out.String()), "  ")
	for _, want := range []string{
		"ours-tls/ours  1  0.50x  0.50x  0.50x  1.00x", "ours-sasl-ssl/ours  1  0.50x  0.50x  0.50x  0.50x",
		"kafka39-tls/kafka39  1  0.50x  0.50x  0.50x  1.00x", "ours-tls/kafka39-tls  1  2.00x  2.00x  2.00x  4.00x",
		"kafka39-sasl-ssl/kafka39  1  0.25x", "ours-sasl-ssl/kafka39-sasl-ssl  1  4.00x  4.00x  4.00x  4.00x",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printHandshakeTable(&out, []handshakeResult{
		{target: "ours-sasl-ssl", listener: "SASL_SSL", mech: "SCRAM-SHA-512", conns: 100, wall: time.Second, client: 200 * ms, server: 50 * ms},
		{target: "kafka39", listener: "SASL_SSL", mech: "SCRAM-SHA-512", conns: 50, wall: time.Second, client: 100 * ms, server: 200 * ms},
	}, time.Second)
	if flat := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(flat, "ours-sasl-ssl SASL_SSL SCRAM-SHA-512 100 100 2.00 0.50") ||
		!strings.Contains(flat, "ours/kafka39 SASL_SSL SCRAM-SHA-512 2.00x 1.00x 0.12x") {
		t.Errorf("handshake table:\n%s", out.String())
	}
}

func TestParseOnly(t *testing.T) {
	o, err := parseFlags([]string{"-only", "latency,txn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sectionNames {
		if want := s == "latency" || s == "txn"; o.runs(s) != want {
			t.Errorf("runs(%q) = %v, want %v", s, o.runs(s), want)
		}
	}
	if o, _ := parseFlags(nil); !o.runs("throughput") || !o.runs("txn") {
		t.Error("no -only: not every section runs")
	}
}

// TestTxnTable checks summarizeTxn (medians of rounds, percentiles over all transactions) and the ratio rows.
func TestTxnTable(t *testing.T) {
	ms := time.Millisecond
	round := func(name string, txns int, wall, idem time.Duration, lat time.Duration) txnRound {
		r := txnRound{target: name, valueSize: 100, txns: txns, records: txns * txnBatch, txnWall: wall, idemRecs: txns * txnBatch, idemWall: idem, addParts: int64(txns)}
		for range txns {
			r.commits = append(r.commits, lat)
		}
		return r
	}
	ours := summarizeTxn([]txnRound{
		round("ours", 100, time.Second, 100*ms, 2*ms), // 10000 rec/s, idempotent 100000
		round("ours", 300, time.Second, 100*ms, 2*ms), // 30000, 300000
		round("ours", 200, time.Second, 100*ms, 4*ms), // 20000, 200000 (medians)
	})
	if ours.txnRate != 20000 || ours.txnsPerS != 200 || ours.idemRate != 200000 || ours.txns != 600 || ours.p50 != 2*ms || ours.p99 != 4*ms {
		t.Fatalf("summary %+v", ours)
	}
	kfake := summarizeTxn([]txnRound{round("kfake", 400, time.Second, 100*ms, ms)})
	k39 := summarizeTxn([]txnRound{round("kafka39", 100, time.Second, 50*ms, 8*ms)})
	var out bytes.Buffer
	printTxnTable(&out, []txnResult{ours, kfake, k39}, 100, 2*time.Second, 1000, 3)
	flat := strings.Join(strings.Fields(out.String()), " ")
	for _, want := range []string{
		"ours 20000 2.0 200 2ms 4ms 1.00 200000 20.0 0.100x",
		"ours/kfake 0.50x 0.50x 0.50x 2.00x 4.00x 0.50x 0.50x",
		"ours/kafka39 2.00x 2.00x 2.00x 0.25x 0.50x 1.00x 1.00x",
		"100 records of 100 bytes per transaction", "median of 3 rounds",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

// TestTxnRoundKfake runs one short round of the transactions section against kfake.
func TestTxnRoundKfake(t *testing.T) {
	fake, err := startKfake()
	if err != nil {
		t.Fatal(err)
	}
	defer fake.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := txnRoundOn(ctx, fake, 200*time.Millisecond, 5000, newValuePool(100, false))
	if err != nil {
		t.Fatal(err)
	}
	// No AddPartitionsToTxn count is checked: kfake serves transaction.version 2 (KIP-890 part 2), where the
	// client adds partitions through Produce itself.
	if r.txns < 1 || r.records != r.txns*txnBatch || len(r.commits) != r.txns || r.txnWall <= 0 || r.idemWall <= 0 {
		t.Errorf("round: txns %d records %d commits %d txnWall %v idemWall %v", r.txns, r.records, len(r.commits), r.txnWall, r.idemWall)
	}
}
