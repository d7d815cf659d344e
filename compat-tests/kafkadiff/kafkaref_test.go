package kafkadiff_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestKafka39Reference starts a real Apache Kafka 3.9 broker in ZooKeeper
// mode (cluster.StartKafkaRef) and, beside it, one of ours, both with
// auto.create.topics.enable=false; the subtests use both, so the JVMs start
// once.
func TestKafka39Reference(t *testing.T) {
	ours := cluster.Start(t, 1, "auto.create.topics.enable=false")
	// The same ZooKeeper server, each in its own chroot.
	ref := cluster.StartKafkaRef(t, ours.ZK.Addr, cluster.KafkaRefOptions{Overrides: map[string]string{"auto.create.topics.enable": "false"}})
	t.Run("ProduceConsume", func(t *testing.T) { refProduceConsume(t, ref) })
	t.Run("Restart", func(t *testing.T) { refRestart(t, ref) }) // early: few logs to load yet
	t.Run("ApiVersions", func(t *testing.T) { refApiVersions(t, ref, ours.Broker(0).Addr) })
	t.Run("Differential", func(t *testing.T) { refDifferential(t, ref, ours.Broker(0).Addr) })
	t.Run("Znodes", func(t *testing.T) { refZnodes(t, ref, ours) }) // after Differential: its topics and groups
}

// refProduceConsume creates a topic on the reference broker, produces keyed
// records with headers and reads them all back.
func refProduceConsume(t *testing.T, ref *cluster.KafkaRef) {
	const topic, n = "ref-smoke", 60
	cl := ref.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, 3, 1, nil, topic)
	if err != nil || resp.Err != nil {
		t.Fatalf("CreateTopic: %v %v", err, resp.Err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "k%d", i%7), Value: fmt.Appendf(nil, "v%03d", i),
			Headers: []kgo.RecordHeader{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}}})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	cons := ref.Client(t, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]string{}
	for len(got) < n {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), n, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Headers) != 1 || r.Headers[0].Key != "i" || "v"+fmt.Sprintf("%03s", r.Headers[0].Value) != string(r.Value) {
				t.Errorf("record %s: headers %v", r.Value, r.Headers)
			}
			got[string(r.Value)] = string(r.Key)
		})
	}
	for i := range n {
		if k := got[fmt.Sprintf("v%03d", i)]; k != fmt.Sprintf("k%d", i%7) {
			t.Errorf("record v%03d: key %q", i, k)
		}
	}
}

// refRestart stops the reference broker (controlled shutdown), starts it
// again on the same port and log dir, and reads the smoke topic back.
func refRestart(t *testing.T, ref *cluster.KafkaRef) {
	start := time.Now()
	ref.Stop(t)
	t.Logf("stopped in %v", time.Since(start))
	if ref.Running() {
		t.Fatal("still running after Stop")
	}
	ref.Stop(t) // idempotent
	start = time.Now()
	ref.Restart(t)
	t.Logf("restarted in %v", time.Since(start))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cons := ref.Client(t, kgo.ConsumeTopics("ref-smoke"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	n := 0
	for n < 60 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("after restart, consumed %d of 60 records: %v", n, err)
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		n += fs.NumRecords()
	}
}

// versionSpan is an inclusive range of API versions.
type versionSpan struct{ min, max int16 }

// apiVersionsTables reads kafka39ZKBroker (what a Kafka 3.9 ZooKeeper
// broker advertises, derived from Kafka's sources) and kafka39NotServed (the
// documented versions we lack; pending ones may already be served) from
// broker/handle_api_versions_test.go, so the live check asserts the very
// list the unit test does.
func apiVersionsTables(t *testing.T) (kafka map[kmsg.Key]versionSpan, notServed map[kmsg.Key][]int16, pending map[kmsg.Key][]int16) {
	t.Helper()
	const file = "../../broker/handle_api_versions_test.go"
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatalf("reading the documented ApiVersions tables: %v", err)
	}
	keys := map[string]kmsg.Key{}
	for k := range int16(200) {
		if n := kmsg.NameForKey(k); n != "Unknown" {
			keys[n] = kmsg.Key(k)
		}
	}
	bad := func(n ast.Node, what string) {
		t.Helper()
		t.Fatalf("%s: %s: unexpected form %T; teach apiVersionsTables it", file, what, n)
	}
	key := func(e ast.Expr) kmsg.Key {
		t.Helper()
		sel, ok := e.(*ast.SelectorExpr)
		if !ok {
			bad(e, "map key")
		}
		k, ok := keys[sel.Sel.Name]
		if !ok {
			t.Fatalf("%s: unknown kmsg key %s", file, sel.Sel.Name)
		}
		return k
	}
	num := func(e ast.Expr) int16 {
		t.Helper()
		lit, ok := e.(*ast.BasicLit)
		if !ok || lit.Kind != token.INT {
			bad(e, "version")
		}
		v, err := strconv.ParseInt(lit.Value, 0, 16)
		if err != nil {
			t.Fatal(err)
		}
		return int16(v)
	}
	lits := map[string]*ast.CompositeLit{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && len(vs.Values) == 1 {
			if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
				lits[vs.Names[0].Name] = cl
			}
		}
		return true
	})
	kafka = map[kmsg.Key]versionSpan{}
	zk := lits["kafka39ZKBroker"]
	if zk == nil {
		t.Fatalf("%s: no kafka39ZKBroker", file)
	}
	for _, e := range zk.Elts {
		kv := e.(*ast.KeyValueExpr)
		r, ok := kv.Value.(*ast.CompositeLit)
		if !ok || len(r.Elts) != 2 {
			bad(kv.Value, "kafka39ZKBroker range")
		}
		kafka[key(kv.Key)] = versionSpan{num(r.Elts[0]), num(r.Elts[1])}
	}
	ns := lits["kafka39NotServed"]
	if ns == nil {
		t.Fatalf("%s: no kafka39NotServed", file)
	}
	notServed, pending = map[kmsg.Key][]int16{}, map[kmsg.Key][]int16{}
	for _, e := range ns.Elts {
		kv := e.(*ast.KeyValueExpr)
		k := key(kv.Key)
		entries, ok := kv.Value.(*ast.CompositeLit)
		if !ok {
			bad(kv.Value, "kafka39NotServed entry list")
		}
		for _, entry := range entries.Elts {
			cl, ok := entry.(*ast.CompositeLit)
			if !ok {
				bad(entry, "kafka39NotServed entry")
			}
			var versions []int16
			whole, isPending := true, false
			for _, fe := range cl.Elts {
				field := fe.(*ast.KeyValueExpr)
				switch field.Key.(*ast.Ident).Name {
				case "versions":
					whole = false
					switch v := field.Value.(type) {
					case *ast.CompositeLit:
						for _, x := range v.Elts {
							versions = append(versions, num(x))
						}
					case *ast.CallExpr:
						if fn, ok := v.Fun.(*ast.Ident); !ok || fn.Name != "span" || len(v.Args) != 2 {
							bad(v, "kafka39NotServed versions")
						}
						for x := num(v.Args[0]); x <= num(v.Args[1]); x++ {
							versions = append(versions, x)
						}
					default:
						bad(v, "kafka39NotServed versions")
					}
				case "pending":
					isPending = field.Value.(*ast.Ident).Name == "true"
				}
			}
			if whole {
				kr, ok := kafka[k]
				if !ok {
					t.Fatalf("%s: kafka39NotServed has %s, kafka39ZKBroker does not", file, k.Name())
				}
				for x := kr.min; x <= kr.max; x++ {
					versions = append(versions, x)
				}
			}
			if isPending {
				pending[k] = append(pending[k], versions...)
			} else {
				notServed[k] = append(notServed[k], versions...)
			}
		}
	}
	return kafka, notServed, pending
}

func apiRanges(resp *kmsg.ApiVersionsResponse) map[kmsg.Key]versionSpan {
	out := map[kmsg.Key]versionSpan{}
	for _, k := range resp.ApiKeys {
		out[kmsg.Key(k.ApiKey)] = versionSpan{k.MinVersion, k.MaxVersion}
	}
	return out
}

// refApiVersions compares, live, what Kafka 3.9 and our broker advertise:
// Kafka's answer must be kafka39ZKBroker exactly; ours must lie within
// Kafka's; and what Kafka has beyond ours must be kafka39NotServed exactly
// (its pending entries may be either).
func refApiVersions(t *testing.T, ref *cluster.KafkaRef, ours string) {
	table, notServed, pending := apiVersionsTables(t)
	kresp, err := ref.ApiVersions(10 * time.Second)
	if err != nil {
		t.Fatalf("Kafka 3.9 ApiVersions: %v", err)
	}
	oresp, err := cluster.ApiVersionsOf(ours, 10*time.Second)
	if err != nil {
		t.Fatalf("our ApiVersions: %v", err)
	}
	kafka, our := apiRanges(kresp), apiRanges(oresp)
	if !maps.Equal(kafka, table) {
		for _, k := range slices.Sorted(maps.Keys(kafka)) {
			if table[k] != kafka[k] {
				t.Errorf("%s (%d): Kafka 3.9 advertises %v, kafka39ZKBroker says %v", k.Name(), k, kafka[k], table[k])
			}
		}
		for k, r := range table {
			if _, ok := kafka[k]; !ok {
				t.Errorf("%s (%d): kafka39ZKBroker lists %v, Kafka 3.9 does not advertise it", k.Name(), k, r)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(our)) {
		if kr, ok := kafka[k]; !ok || our[k].min < kr.min || our[k].max > kr.max {
			t.Errorf("%s (%d): we advertise v%d-v%d, Kafka 3.9 %v (advertised: %v)", k.Name(), k, our[k].min, our[k].max, kr, ok)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(kafka)) {
		kr, or := kafka[k], our[k]
		_, served := our[k]
		for v := kr.min; v <= kr.max; v++ {
			lacking := !served || v < or.min || v > or.max
			switch {
			case slices.Contains(pending[k], v):
			case lacking && !slices.Contains(notServed[k], v):
				t.Errorf("%s v%d: Kafka 3.9 serves it, we do not, and kafka39NotServed does not say so", k.Name(), v)
			case !lacking && slices.Contains(notServed[k], v):
				t.Errorf("%s v%d: we serve it now, yet kafka39NotServed lists it", k.Name(), v)
			}
		}
	}
	if fmt.Sprint(kresp.SupportedFeatures) != fmt.Sprint(oresp.SupportedFeatures) || fmt.Sprint(kresp.FinalizedFeatures) != fmt.Sprint(oresp.FinalizedFeatures) ||
		kresp.FinalizedFeaturesEpoch != oresp.FinalizedFeaturesEpoch || kresp.ZkMigrationReady != oresp.ZkMigrationReady {
		t.Errorf("features differ: Kafka 3.9 supported %v finalized %v epoch %d zkMigrationReady %v; ours supported %v finalized %v epoch %d zkMigrationReady %v",
			kresp.SupportedFeatures, kresp.FinalizedFeatures, kresp.FinalizedFeaturesEpoch, kresp.ZkMigrationReady,
			oresp.SupportedFeatures, oresp.FinalizedFeatures, oresp.FinalizedFeaturesEpoch, oresp.ZkMigrationReady)
	}
	t.Logf("Kafka 3.9: %d keys; ours: %d keys; features: Kafka supported %v finalized %v (epoch %d), zkMigrationReady %v; ours supported %v finalized %v (epoch %d), zkMigrationReady %v",
		len(kafka), len(our), kresp.SupportedFeatures, kresp.FinalizedFeatures, kresp.FinalizedFeaturesEpoch, kresp.ZkMigrationReady,
		oresp.SupportedFeatures, oresp.FinalizedFeatures, oresp.FinalizedFeaturesEpoch, oresp.ZkMigrationReady)
}
