package clients_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/clients/driver"
)

// Cell outcomes.
const (
	statusPass = "pass"
	statusFail = "fail"
	statusSkip = "skip"
)

type result struct {
	status string
	reason string
	dur    time.Duration
}

func pass() result { return result{status: statusPass} }

func fail(format string, args ...any) result {
	return result{status: statusFail, reason: fmt.Sprintf(format, args...)}
}

// env is the cluster under test, seen through franz-go: the runner creates
// topics, writes the records a cell needs and reads back what a driver wrote.
type env struct {
	bootstrap string
	brokers   []string
	kcl       *kgo.Client
	adm       *kadm.Client
	sec       *secEnv // the security columns' cluster (nil when none is selected)
}

// feature is one column of the matrix.
type feature struct {
	name string
	desc string
	slow bool // scheduled first
	// secure: a security column, run against the security cluster
	// (security_test.go).
	secure bool
	run    func(ctx context.Context, e *env, c client, topic string) result
}

func features() []feature {
	return []feature{
		{name: "metadata", desc: "bootstrap through each of the 3 brokers alone; brokers and partition leaders as the cluster has them", run: cellMetadata},
		{name: "topics", desc: "create a topic (3 partitions, RF 2), describe it, delete it", run: cellTopics},
		{name: "list-topics", desc: "list every topic with the client's all-topics Metadata request (librdkafka 2.x leaves bytes after its body); the runner's new topic is listed", run: cellListTopics},
		{name: "acks0", desc: "produce 300 keyed records with acks=0; all stored once, in their partition", run: cellAcks("0")},
		{name: "acks1", desc: "the same with acks=1", run: cellAcks("1")},
		{name: "acksall", desc: "the same with acks=all (RF 3)", run: cellAcks("all")},
		{name: "gzip", desc: "produce gzip batches (stored with the codec), consume them and runner-written ones", run: cellCodec("gzip")},
		{name: "snappy", desc: "the same with snappy", run: cellCodec("snappy")},
		{name: "lz4", desc: "the same with lz4", run: cellCodec("lz4")},
		{name: "zstd", desc: "the same with zstd", run: cellCodec("zstd")},
		{name: "keys-headers", desc: "produce keys and headers; consume them back with null and empty keys", run: cellKeysHeaders},
		{name: "timestamps", desc: "records with explicit timestamps keep them (CreateTime topic), also when consumed", run: cellTimestamps("CreateTime")},
		{name: "log-append-time", desc: "a LogAppendTime topic stamps the broker's time (type 1) on every record", run: cellTimestamps("LogAppendTime")},
		{name: "from-earliest", desc: "consume every record from the earliest offset", run: cellEarliest},
		{name: "from-latest", desc: "consume from the latest offset: only records produced after the start", run: cellLatest},
		{name: "from-timestamp", desc: "consume from a timestamp (ListOffsets by time)", run: cellFromTimestamp},
		{name: "groups", desc: "two members share 6 partitions, a third joins, one leaves, each partition owned once; commits; a restarted group resumes at the committed offsets", slow: true, run: cellGroups("range")},
		{name: "groups-coop", desc: "the same with the cooperative-sticky protocol", slow: true, run: cellGroups("coop")},
		{name: "idempotent", desc: "idempotent producer: 300 records exactly once, with a producer id", run: cellIdempotent},
		{name: "configs", desc: "describe a topic config, alter it, describe again", run: cellConfigs},
		{name: "failover", desc: "acks=all produce and consume while the partition leader is killed (SIGKILL); no acknowledged record lost", run: nil},
	}
}

func (e *env) createTopic(ctx context.Context, topic string, partitions int32, rf int16, configs map[string]string) error {
	return e.createTopicAssigned(ctx, topic, partitions, rf, configs, nil)
}

// createTopicAssigned creates a topic (with an explicit replica assignment
// when given) and waits until every partition has a leader.
func (e *env) createTopicAssigned(ctx context.Context, topic string, partitions int32, rf int16, configs map[string]string, assign map[int32][]int32) error {
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = &v
	}
	var err error
	if assign != nil {
		err = e.createWithAssignment(ctx, topic, configs, assign)
	} else {
		resp, cerr := e.adm.CreateTopic(ctx, partitions, rf, cfg, topic)
		err = cerr
		if err == nil {
			err = resp.Err
		}
	}
	if err != nil {
		return fmt.Errorf("creating %s: %w", topic, err)
	}
	return waitFor(ctx, 20*time.Second, func() error {
		tds, err := e.adm.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		td := tds[topic]
		if td.Err != nil {
			return td.Err
		}
		if len(td.Partitions) != int(partitions) {
			return fmt.Errorf("%s has %d partitions", topic, len(td.Partitions))
		}
		for _, p := range td.Partitions {
			if p.Leader < 0 || p.Err != nil {
				return fmt.Errorf("%s/%d has no leader", topic, p.Partition)
			}
		}
		return nil
	})
}

// createWithAssignment sends CreateTopics with explicit replicas (kadm has no
// helper for that).
func (e *env) createWithAssignment(ctx context.Context, topic string, configs map[string]string, assign map[int32][]int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, -1, -1
	for p, replicas := range assign {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = p, replicas
		t.ReplicaAssignment = append(t.ReplicaAssignment, a)
	}
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, e.kcl)
	if err != nil {
		return err
	}
	for _, rt := range resp.Topics {
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return err
		}
	}
	return nil
}

func waitFor(ctx context.Context, d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// produce writes records with franz-go (partition as given).
func (e *env) produce(ctx context.Context, topic, codec string, recs []*kgo.Record) error {
	opts := []kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())}
	switch codec {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, r := range recs {
		r.Topic = topic
	}
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// readAll reads every record of a topic up to the high watermarks.
func (e *env) readAll(ctx context.Context, topic string) ([]*kgo.Record, error) {
	ends, err := e.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	want := map[int32]int64{}
	total := int64(0)
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = o.Err
		}
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
			total += o.Offset
		}
	})
	if lerr != nil {
		return nil, lerr
	}
	if total == 0 {
		return nil, nil
	}
	parts := map[int32]kgo.Offset{}
	for p := range want {
		parts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	got := map[int32]int64{}
	for {
		done := true
		for p, end := range want {
			if got[p] < end {
				done = false
			}
		}
		if done {
			return out, nil
		}
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return out, fmt.Errorf("reading %s: %d of %d records: %w", topic, len(out), total, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			got[r.Partition] = r.Offset + 1
		})
	}
}

// norm strips the --pad dots of a value.
func norm(v string) string { return strings.TrimRight(v, ".") }

// pad is the padding that makes the codec cells' records compressible:
// clients send a batch uncompressed when compression would not shrink it.
const pad = 100

// readAtLeast reads the topic until it holds n records (a consumer sees
// only records below the high watermark, which trails acks=0/1 produces
// until the followers fetched them), or 15 s passed.
func (e *env) readAtLeast(ctx context.Context, topic string, n int) ([]*kgo.Record, error) {
	var recs []*kgo.Record
	err := waitFor(ctx, 15*time.Second, func() error {
		var err error
		recs, err = e.readAll(ctx, topic)
		if err == nil && len(recs) < n {
			err = fmt.Errorf("%s: %d of %d records below the high watermark", topic, len(recs), n)
		}
		return err
	})
	if err != nil && len(recs) > 0 {
		return recs, nil // the caller reports what is missing
	}
	return recs, err
}

// byValue indexes records by (unpadded) value, failing on duplicates.
func byValue(recs []*kgo.Record) (map[string]*kgo.Record, error) {
	m := map[string]*kgo.Record{}
	for _, r := range recs {
		v := norm(string(r.Value))
		if _, dup := m[v]; dup {
			return nil, fmt.Errorf("value %q stored twice (offsets %d/%d and later)", v, r.Partition, r.Offset)
		}
		m[v] = r
	}
	return m, nil
}

// checkProduced verifies that the topic holds the n records of the
// produce operation (value v<i>, key k<i>, partition i%partitions) exactly once.
func checkProduced(recs []*kgo.Record, n, partitions int, headers bool) error {
	vals, err := byValue(recs)
	if err != nil {
		return err
	}
	for i := range n {
		r, ok := vals["v"+strconv.Itoa(i)]
		if !ok {
			return fmt.Errorf("record v%d missing (%d records stored)", i, len(recs))
		}
		if string(r.Key) != "k"+strconv.Itoa(i) {
			return fmt.Errorf("record v%d has key %q", i, r.Key)
		}
		if int(r.Partition) != i%partitions {
			return fmt.Errorf("record v%d in partition %d, want %d", i, r.Partition, i%partitions)
		}
		if headers {
			got := headerPairs(r.Headers)
			if got != "h1=a,h2=b c" {
				return fmt.Errorf("record v%d has headers %q", i, got)
			}
		}
	}
	return nil
}

func headerPairs(hs []kgo.RecordHeader) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+string(h.Value))
	}
	return strings.Join(parts, ",")
}

func driverHeaderPairs(hs []driver.Header) string {
	var parts []string
	for _, h := range hs {
		parts = append(parts, h.Key+"="+h.Value)
	}
	return strings.Join(parts, ",")
}

func cellMetadata(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "metadata", 60*time.Second, "--topic", topic)
	if msg := r.failure(); msg != "" {
		return fail("%s", msg)
	}
	md, err := e.adm.Metadata(ctx, topic)
	if err != nil {
		return fail("runner metadata: %v", err)
	}
	want := map[string]int32{}
	for _, p := range md.Topics[topic].Partitions {
		want[strconv.Itoa(int(p.Partition))] = p.Leader
	}
	lines := r.with("addr")
	if len(lines) != len(e.brokers) {
		return fail("%d metadata answers for %d brokers", len(lines), len(e.brokers))
	}
	for _, l := range lines {
		var brokers []int32
		var leaders map[string]int32
		var addr string
		_ = json.Unmarshal(l["addr"], &addr)
		_ = json.Unmarshal(l["brokers"], &brokers)
		_ = json.Unmarshal(l["leaders"], &leaders)
		if len(brokers) != len(e.brokers) {
			return fail("through %s: brokers %v", addr, brokers)
		}
		for p, l := range want {
			if leaders[p] != l {
				return fail("through %s: leaders %v, want %v", addr, leaders, want)
			}
		}
		if len(leaders) != len(want) {
			return fail("through %s: leaders %v, want %v", addr, leaders, want)
		}
	}
	return pass()
}

func cellTopics(ctx context.Context, e *env, c client, topic string) result {
	r := invoke(ctx, c, e.bootstrap, "topics", 60*time.Second, "--topic", topic)
	if reason, ok := r.skipReason(); ok {
		return result{status: statusSkip, reason: reason}
	}
	if msg := r.failure(); msg != "" {
		return fail("%s", msg)
	}
	d := r.with("partitions")
	if len(d) != 1 || string(d[0]["partitions"]) != "3" || string(d[0]["rf"]) != "2" {
		return fail("describe printed %v", d)
	}
	err := waitFor(ctx, 15*time.Second, func() error {
		tds, err := e.adm.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		if tds.Has(topic) {
			return fmt.Errorf("topic %s still exists after the delete", topic)
		}
		return nil
	})
	if err != nil {
		return fail("%v", err)
	}
	return pass()
}

// cellListTopics: the client's way of listing every topic (librdkafka's
// GetMetadata / list_topics / kcat -L for all topics, kadm ListTopics, ...)
// sends an all-topics Metadata request; the topic the runner just created
// is in the answer. librdkafka 2.x writes bytes after that request's body
// (v9+), which Kafka ignores.
func cellListTopics(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 1, 1, nil); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "list-topics", 60*time.Second)
	if res, done := skipOrFail(r); done {
		return res
	}
	lines := r.with("topics")
	if len(lines) != 1 {
		return fail("%d topic lists printed, want 1", len(lines))
	}
	var names []string
	if err := json.Unmarshal(lines[0]["topics"], &names); err != nil {
		return fail("topic list %s: %v", lines[0]["topics"], err)
	}
	if !slices.Contains(names, topic) {
		return fail("%s is not among the %d topics listed", topic, len(names))
	}
	return pass()
}

// skipOrFail turns a driver invocation into a result when it did not pass.
func skipOrFail(r run) (result, bool) {
	if reason, ok := r.skipReason(); ok {
		return result{status: statusSkip, reason: reason}, true
	}
	if msg := r.failure(); msg != "" {
		return fail("%s", msg), true
	}
	return result{}, false
}

func cellAcks(acks string) func(context.Context, *env, client, string) result {
	return func(ctx context.Context, e *env, c client, topic string) result {
		if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
			return fail("%v", err)
		}
		r := invoke(ctx, c, e.bootstrap, "produce", 60*time.Second, "--topic", topic, "--n", "300", "--partitions", "3", "--acks", acks)
		if res, done := skipOrFail(r); done {
			return res
		}
		recs, err := e.readAtLeast(ctx, topic, 300)
		if err != nil {
			return fail("%v", err)
		}
		if err := checkProduced(recs, 300, 3, false); err != nil {
			return fail("%v", err)
		}
		if len(recs) != 300 {
			return fail("%d records stored, want 300", len(recs))
		}
		return pass()
	}
}

// codecID is the compression type in a batch's attributes.
func codecID(codec string) uint8 {
	return map[string]uint8{"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[codec]
}

func cellCodec(codec string) func(context.Context, *env, client, string) result {
	return func(ctx context.Context, e *env, c client, topic string) result {
		if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
			return fail("%v", err)
		}
		var pre []*kgo.Record
		for i := range 30 {
			pre = append(pre, &kgo.Record{Partition: int32(i % 3), Key: []byte("pk" + strconv.Itoa(i)),
				Value: []byte("pre" + strconv.Itoa(i) + strings.Repeat(".", pad))})
		}
		if err := e.produce(ctx, topic, codec, pre); err != nil {
			return fail("runner produce: %v", err)
		}
		r := invoke(ctx, c, e.bootstrap, "produce", 60*time.Second, "--topic", topic, "--n", "200", "--partitions", "3",
			"--codec", codec, "--pad", strconv.Itoa(pad))
		if res, done := skipOrFail(r); done {
			return res
		}
		recs, err := e.readAtLeast(ctx, topic, 230)
		if err != nil {
			return fail("%v", err)
		}
		var mine []*kgo.Record
		for _, rec := range recs {
			if strings.HasPrefix(string(rec.Value), "v") {
				mine = append(mine, rec)
				if got := rec.Attrs.CompressionType(); got != codecID(codec) {
					return fail("record %s stored with compression %d, want %d (%s)", norm(string(rec.Value)), got, codecID(codec), codec)
				}
			}
		}
		if err := checkProduced(mine, 200, 3, false); err != nil {
			return fail("%v", err)
		}
		r = invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "3", "--from", "earliest", "--count", "230")
		if res, done := skipOrFail(r); done {
			return res
		}
		seen := map[string]bool{}
		for _, rec := range r.recs() {
			seen[rec.V] = true
		}
		for _, rec := range recs {
			if !seen[string(rec.Value)] {
				return fail("consumer did not return %s (got %d distinct of 230)", norm(string(rec.Value)), len(seen))
			}
		}
		return pass()
	}
}

func cellKeysHeaders(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 2, 3, nil); err != nil {
		return fail("%v", err)
	}
	pre := []*kgo.Record{
		{Partition: 0, Key: nil, Value: []byte("nullkey"), Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("a")}}},
		{Partition: 1, Key: []byte{}, Value: []byte("emptykey")},
	}
	if err := e.produce(ctx, topic, "", pre); err != nil {
		return fail("runner produce: %v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "produce", 60*time.Second, "--topic", topic, "--n", "50", "--partitions", "2", "--headers")
	if res, done := skipOrFail(r); done {
		return res
	}
	recs, err := e.readAtLeast(ctx, topic, 52)
	if err != nil {
		return fail("%v", err)
	}
	var mine []*kgo.Record
	stored := map[[2]int64]*kgo.Record{}
	for _, rec := range recs {
		stored[[2]int64{int64(rec.Partition), rec.Offset}] = rec
		if strings.HasPrefix(string(rec.Value), "v") {
			mine = append(mine, rec)
		}
	}
	if err := checkProduced(mine, 50, 2, true); err != nil {
		return fail("%v", err)
	}
	r = invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "2", "--from", "earliest", "--count", "52")
	if res, done := skipOrFail(r); done {
		return res
	}
	for _, got := range r.recs() {
		want := stored[[2]int64{int64(got.P), got.O}]
		if want == nil {
			return fail("consumed %d/%d which is not stored", got.P, got.O)
		}
		if got.V != string(want.Value) {
			return fail("%d/%d: value %q, want %q", got.P, got.O, got.V, want.Value)
		}
		// An empty key read as null (or null as empty) is the client's
		// representation, not a broker matter: kafka-go has no null key.
		switch {
		case want.Key == nil && got.K != nil && *got.K != "":
			return fail("%d/%d: null key consumed as %q", got.P, got.O, *got.K)
		case len(want.Key) > 0 && got.K == nil:
			return fail("%d/%d: key %q consumed as null", got.P, got.O, want.Key)
		case len(want.Key) > 0 && *got.K != string(want.Key):
			return fail("%d/%d: key %q, want %q", got.P, got.O, *got.K, want.Key)
		}
		if g, w := driverHeaderPairs(got.H), headerPairs(want.Headers); g != w {
			return fail("%d/%d: headers %q, want %q", got.P, got.O, g, w)
		}
	}
	return pass()
}

// cellTimestamps produces records with explicit timestamps into a topic of
// the given message.timestamp.type and consumes them back: CreateTime keeps
// the client's timestamps (kcat cannot set one: its clock's then), and
// LogAppendTime stamps the broker's time, type 1, on every record.
func cellTimestamps(tsType string) func(context.Context, *env, client, string) result {
	appendTime := tsType == "LogAppendTime"
	return func(ctx context.Context, e *env, c client, topic string) result {
		if err := e.createTopic(ctx, topic, 1, 3, map[string]string{"message.timestamp.type": tsType}); err != nil {
			return fail("%v", err)
		}
		base := time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli()
		before := time.Now().Add(-2 * time.Second).UnixMilli()
		r := invoke(ctx, c, e.bootstrap, "produce", 60*time.Second, "--topic", topic, "--n", "10", "--partitions", "1", "--ts", strconv.FormatInt(base, 10))
		if res, done := skipOrFail(r); done {
			return res
		}
		clientTS := len(r.with("ts_unsupported")) == 0
		after := time.Now().Add(2 * time.Second).UnixMilli()
		inWindow := func(ts int64) bool { return ts >= before && ts <= after }
		recs, err := e.readAtLeast(ctx, topic, 10)
		if err != nil {
			return fail("%v", err)
		}
		if err := checkProduced(recs, 10, 1, false); err != nil {
			return fail("%v", err)
		}
		for i, rec := range recs {
			ts := rec.Timestamp.UnixMilli()
			switch {
			case appendTime && (rec.Attrs.TimestampType() != 1 || !inWindow(ts)):
				return fail("offset %d stored with timestamp %d type %d, want the broker's time in [%d,%d], type 1 (LogAppendTime)",
					i, ts, rec.Attrs.TimestampType(), before, after)
			case !appendTime && clientTS && ts != base+int64(i):
				return fail("offset %d stored with timestamp %d, want the client's %d", i, ts, base+int64(i))
			case !appendTime && !clientTS && !inWindow(ts):
				return fail("offset %d: client-set timestamp %d not in [%d,%d]", i, ts, before, after)
			}
		}
		r = invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "1", "--from", "earliest", "--count", "10")
		if res, done := skipOrFail(r); done {
			return res
		}
		wantTT := "create"
		if appendTime {
			wantTT = "append"
		}
		for _, got := range r.recs() {
			if got.O < 0 || int(got.O) >= len(recs) {
				return fail("consumed offset %d", got.O)
			}
			want := recs[got.O]
			if got.TS != want.Timestamp.UnixMilli() {
				return fail("offset %d: consumed timestamp %d, stored %d", got.O, got.TS, want.Timestamp.UnixMilli())
			}
			if got.TT != "" && got.TT != wantTT {
				return fail("offset %d: timestamp type %q, want %q", got.O, got.TT, wantTT)
			}
		}
		return pass()
	}
}

func seedRecords(n, partitions int, prefix string, ts func(i int) time.Time) []*kgo.Record {
	var recs []*kgo.Record
	for i := range n {
		r := &kgo.Record{Partition: int32(i % partitions), Key: []byte("k" + strconv.Itoa(i)), Value: []byte(prefix + strconv.Itoa(i))}
		if ts != nil {
			r.Timestamp = ts(i)
		}
		recs = append(recs, r)
	}
	return recs
}

func cellEarliest(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	if err := e.produce(ctx, topic, "", seedRecords(30, 3, "v", nil)); err != nil {
		return fail("runner produce: %v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "3", "--from", "earliest", "--count", "30")
	if res, done := skipOrFail(r); done {
		return res
	}
	seen := map[string]bool{}
	for _, rec := range r.recs() {
		seen[rec.V] = true
	}
	for i := range 30 {
		if !seen["v"+strconv.Itoa(i)] {
			return fail("v%d not consumed (%d distinct)", i, len(seen))
		}
	}
	return pass()
}

func cellLatest(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	if err := e.produce(ctx, topic, "", seedRecords(30, 3, "pre", nil)); err != nil {
		return fail("runner produce: %v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "3", "--from", "latest", "--live", "--count", "6")
	if res, done := skipOrFail(r); done {
		return res
	}
	recs := r.recs()
	if len(recs) < 6 {
		return fail("consumed %d records", len(recs))
	}
	for _, rec := range recs {
		if !strings.HasPrefix(rec.V, "live") || rec.O < 10 {
			return fail("consumed %q at %d/%d: a record from before the start", rec.V, rec.P, rec.O)
		}
	}
	return pass()
}

func cellFromTimestamp(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 1, 3, nil); err != nil {
		return fail("%v", err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := e.produce(ctx, topic, "", seedRecords(30, 1, "v", func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) })); err != nil {
		return fail("runner produce: %v", err)
	}
	from := base.Add(10500 * time.Millisecond).UnixMilli()
	r := invoke(ctx, c, e.bootstrap, "consume", 60*time.Second, "--topic", topic, "--partitions", "1", "--from", "ts:"+strconv.FormatInt(from, 10), "--count", "19")
	if res, done := skipOrFail(r); done {
		return res
	}
	recs := r.recs()
	for i, rec := range recs {
		if want := "v" + strconv.Itoa(11+i); rec.V != want {
			return fail("record %d from the timestamp is %q (offset %d), want %q", i, rec.V, rec.O, want)
		}
	}
	if len(recs) != 19 {
		return fail("consumed %d records, want 19", len(recs))
	}
	return pass()
}

func cellIdempotent(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 3, 3, nil); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "produce", 60*time.Second, "--topic", topic, "--n", "300", "--partitions", "3", "--acks", "all", "--idempotent")
	if res, done := skipOrFail(r); done {
		return res
	}
	recs, err := e.readAtLeast(ctx, topic, 300)
	if err != nil {
		return fail("%v", err)
	}
	if err := checkProduced(recs, 300, 3, false); err != nil {
		return fail("%v", err)
	}
	if len(recs) != 300 {
		return fail("%d records stored, want 300", len(recs))
	}
	for _, rec := range recs {
		if rec.ProducerID < 0 {
			return fail("record %s stored without a producer id (not idempotent)", rec.Value)
		}
	}
	return pass()
}

func cellConfigs(ctx context.Context, e *env, c client, topic string) result {
	if err := e.createTopic(ctx, topic, 1, 3, map[string]string{"retention.ms": "86400000"}); err != nil {
		return fail("%v", err)
	}
	r := invoke(ctx, c, e.bootstrap, "configs", 60*time.Second, "--topic", topic, "--key", "retention.ms", "--value", "3600000")
	if res, done := skipOrFail(r); done {
		return res
	}
	if b := r.with("before"); len(b) != 1 || string(b[0]["before"]) != `"86400000"` {
		return fail("described before the change: %v", b)
	}
	if a := r.with("after"); len(a) != 1 || string(a[0]["after"]) != `"3600000"` {
		return fail("described after the change: %v", a)
	}
	rcs, err := e.adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return fail("runner describe: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return fail("runner describe: %v", err)
	}
	for _, cfg := range rc.Configs {
		if cfg.Key == "retention.ms" && cfg.MaybeValue() != "3600000" {
			return fail("broker has retention.ms=%s after the change", cfg.MaybeValue())
		}
	}
	return pass()
}

// cellGroups is issue 6's scenario: the driver runs the membership steps
// (see driver.go's "group" operation), the runner checks what it printed,
// that every record was consumed and every partition committed to its end,
// then runs "resume" with a new member after more records were written.
func cellGroups(balancer string) func(context.Context, *env, client, string) result {
	return func(ctx context.Context, e *env, c client, topic string) result {
		const partitions = 6
		if err := e.createTopic(ctx, topic, partitions, 3, nil); err != nil {
			return fail("%v", err)
		}
		if err := e.produce(ctx, topic, "", seedRecords(60, partitions, "pre", nil)); err != nil {
			return fail("runner produce: %v", err)
		}
		group := topic + "-g"
		r := invoke(ctx, c, e.bootstrap, "group", 150*time.Second, "--topic", topic, "--partitions", strconv.Itoa(partitions),
			"--group", group, "--expect", "60", "--balancer", balancer)
		if res, done := skipOrFail(r); done {
			return res
		}
		phases := r.with("phase")
		wantMembers := [][]string{{"A", "B"}, {"A", "B", "C"}, {"B", "C"}}
		if len(phases) != 3 {
			return fail("%d phases printed, want 3", len(phases))
		}
		for i, ph := range phases {
			var assign map[string][]int32
			_ = json.Unmarshal(ph["assign"], &assign)
			var names []string
			owner := map[int32]string{}
			for name, ps := range assign {
				names = append(names, name)
				if len(ps) == 0 {
					return fail("phase %d: member %s owns nothing: %v", i+1, name, assign)
				}
				for _, p := range ps {
					if o, dup := owner[p]; dup {
						return fail("phase %d: partition %d owned by %s and %s", i+1, p, o, name)
					}
					owner[p] = name
				}
			}
			sort.Strings(names)
			if !slices.Equal(names, wantMembers[i]) || len(owner) != partitions {
				return fail("phase %d: assignment %v", i+1, assign)
			}
		}
		recs, err := e.readAll(ctx, topic)
		if err != nil {
			return fail("%v", err)
		}
		consumed := map[[2]int64]bool{}
		for _, rec := range r.recs() {
			consumed[[2]int64{int64(rec.P), rec.O}] = true
		}
		ends := map[int32]int64{}
		for _, rec := range recs {
			if !consumed[[2]int64{int64(rec.Partition), rec.Offset}] {
				return fail("record %d/%d (%s) was never consumed", rec.Partition, rec.Offset, rec.Value)
			}
			ends[rec.Partition] = rec.Offset + 1
		}
		committed, err := e.committed(ctx, group)
		if err != nil {
			return fail("%v", err)
		}
		for p := range int32(partitions) {
			if committed[p] != ends[p] {
				return fail("partition %d committed at %d, its end is %d (committed %v)", p, committed[p], ends[p], committed)
			}
		}
		// Resume: a new member must start at the committed offsets.
		if err := e.produce(ctx, topic, "", seedRecords(30, partitions, "post", nil)); err != nil {
			return fail("runner produce: %v", err)
		}
		r = invoke(ctx, c, e.bootstrap, "resume", 90*time.Second, "--topic", topic, "--partitions", strconv.Itoa(partitions),
			"--group", group, "--count", "30", "--balancer", balancer)
		if res, done := skipOrFail(r); done {
			return res
		}
		seen := map[string]bool{}
		for _, rec := range r.recs() {
			if rec.O < committed[rec.P] {
				return fail("resumed at %d/%d (%s), before the committed offset %d", rec.P, rec.O, rec.V, committed[rec.P])
			}
			seen[rec.V] = true
		}
		for i := range 30 {
			if !seen["post"+strconv.Itoa(i)] {
				return fail("resumed member skipped post%d", i)
			}
		}
		return pass()
	}
}

// committed returns a group's committed offsets for its topic partitions.
func (e *env) committed(ctx context.Context, group string) (map[int32]int64, error) {
	var out map[int32]int64
	err := waitFor(ctx, 10*time.Second, func() error {
		resp, err := e.adm.FetchOffsets(ctx, group)
		if err != nil {
			return fmt.Errorf("fetching offsets of %s: %w", group, err)
		}
		out = map[int32]int64{}
		var ferr error
		resp.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil {
				ferr = o.Err
			}
			out[o.Partition] = o.At
		})
		return ferr
	})
	return out, err
}
