package kafkadiff_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
)

// TestKafkaTransactionsToolKafka39 runs Kafka 3.9's kafka-transactions.sh
// (TransactionsCommand, in the tool-runner JVM) and ours with the same
// arguments against one Apache Kafka 3.9 broker holding transactions in
// every state the tool reports, and compares what they print and their
// exit status:
//
//   - txn-done committed, txn-open open (Ongoing, its coordinator knows
//     partition txn-1);
//   - a hanging transaction on hang-0 and on hang-1 each: a producer of
//     txn-ghost (InitProducerId) wrote a transactional batch without
//     AddPartitionsToTxn (verification off, as before KIP-890), so its
//     coordinator does not list the partition; on hang-1 also a producer
//     id no transactional id has;
//   - list, describe, describe-producers (leader and --broker-id),
//     find-hanging (by broker, topic, partition; an open transaction its
//     coordinator knows is not hanging), the errors of each command;
//   - abort: Kafka's tool aborts hang-0's by --start-offset, ours hang-1's
//     by --start-offset and the orphan by --producer-id/--producer-epoch/
//     --coordinator-epoch -1; each partition's last stable offset then
//     moves to its end and find-hanging finds nothing.
func TestKafkaTransactionsToolKafka39(t *testing.T) {
	c := cluster.Start(t, 0) // ZooKeeper, and c.Tool for our tool
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Overrides: map[string]string{
		"transaction.state.log.num.partitions": "3",
		// A transactional produce to a partition its coordinator does not
		// know is refused under KIP-890 verification; off, it makes a
		// hanging transaction as brokers before 3.6 could.
		"transaction.partition.verification.enable": "false",
	}})
	k := kafkatools.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sc := setupTxnScenario(t, ctx, func(opts ...kgo.Opt) *kgo.Client { return ref.Client(t, opts...) })
	adm, raw, ir, orphan := sc.adm, sc.raw, sc.ghost, int64(txnOrphan)

	cfg := harness.WriteFile(t, t.TempDir(), "admin.properties", "default.api.timeout.ms=5000\nrequest.timeout.ms=4000\n")
	both := func(what string, args ...string) string {
		t.Helper()
		full := append([]string{"--bootstrap-server", ref.Addr, "--command-config", cfg}, args...)
		kOut, kErr, kCode := k.Run("", kafkatools.Transactions, full...)
		oOut, oErr, oCode := c.Tool("kafka-transactions.sh", full...)
		kErr = txnToolRunnerStderr(kErr)
		if kCode != oCode || txnNormalise(kOut) != txnNormalise(oOut) || txnNormalise(kErr) != txnNormalise(oErr) {
			t.Errorf("%s: Kafka 3.9's tool and ours differ\nKafka (exit %d):\n%s%s\nours (exit %d):\n%s%s", what, kCode, kOut, kErr, oCode, oOut, oErr)
		} else {
			t.Logf("%s: the same (exit %d):\n%s%s", what, oCode, oOut, oErr)
		}
		return oOut
	}

	both("list", "list")
	// No broker answers: both time out waiting for a node.
	down := harness.FreeLoopbackAddr(t)
	kOut, kErr, kCode := k.Run("", kafkatools.Transactions, "--bootstrap-server", down, "--command-config", cfg, "list")
	oOut, oErr, oCode := c.Tool("kafka-transactions.sh", "--bootstrap-server", down, "--command-config", cfg, "list")
	if kErr = txnToolRunnerStderr(kErr); kCode != oCode || kOut != oOut || kErr != oErr {
		t.Errorf("list, no broker: Kafka (exit %d) %q%q, ours (exit %d) %q%q", kCode, kOut, kErr, oCode, oOut, oErr)
	}
	both("list --duration-filter", "list", "--duration-filter", "600000")
	for _, id := range []string{"txn-open", "txn-done", "txn-ghost", "no-such-id"} {
		both("describe "+id, "describe", "--transactional-id", id)
	}
	for _, tp := range [][2]string{{"txn", "0"}, {"txn", "1"}, {"hang", "0"}, {"hang", "1"}} {
		both("describe-producers "+tp[0]+"-"+tp[1], "describe-producers", "--topic", tp[0], "--partition", tp[1])
	}
	both("describe-producers --broker-id", "describe-producers", "--topic", "hang", "--partition", "1", "--broker-id", "0")
	both("describe-producers --broker-id not a replica", "describe-producers", "--topic", "hang", "--partition", "1", "--broker-id", "1")
	hanging := both("find-hanging --broker-id", "find-hanging", "--broker-id", "0", "--max-transaction-timeout", "0")
	if n := strings.Count(hanging, "\n"); n != 4 {
		t.Errorf("find-hanging --broker-id 0 lists %d lines, want the header and 3 hanging transactions:\n%s", n, hanging)
	}
	both("find-hanging --topic", "find-hanging", "--topic", "hang", "--max-transaction-timeout", "0")
	both("find-hanging --topic --partition", "find-hanging", "--topic", "hang", "--partition", "1", "--max-transaction-timeout", "0")
	both("find-hanging, a known open transaction", "find-hanging", "--topic", "txn", "--max-transaction-timeout", "0")
	both("find-hanging, default timeout", "find-hanging", "--broker-id", "0")
	both("find-hanging without scope", "find-hanging")
	both("find-hanging --partition without --topic", "find-hanging", "--partition", "0")
	both("find-hanging, unknown topic", "find-hanging", "--topic", "no-such-topic")
	both("abort without a transaction", "abort", "--topic", "hang", "--partition", "0")
	both("abort without --coordinator-epoch", "abort", "--topic", "hang", "--partition", "0", "--producer-id", "1", "--producer-epoch", "0")
	both("abort at no transaction's start", "abort", "--topic", "hang", "--partition", "0", "--start-offset", "1")
	both("abort with a stale producer epoch", "abort", "--topic", "hang", "--partition", "1",
		"--producer-id", fmt.Sprint(ir.ProducerID), "--producer-epoch", fmt.Sprint(ir.ProducerEpoch-1), "--coordinator-epoch", "0")

	lso := func(p int32) (int64, int64) {
		t.Helper()
		req := kmsg.NewPtrListOffsetsRequest()
		req.IsolationLevel = 1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "hang"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p
		rp.Timestamp = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		ends, err := adm.ListEndOffsets(ctx, "hang")
		if err != nil {
			t.Fatal(err)
		}
		end, _ := ends.Lookup("hang", p)
		return resp.Topics[0].Partitions[0].Offset, end.Offset
	}
	for p := range int32(2) {
		if stable, end := lso(p); stable != 2 || end <= 2 {
			t.Errorf("hang-%d before the aborts: last stable offset %d, log end %d; want 2 (the hanging transaction's start), > 2", p, stable, end)
		}
	}

	// The aborts: Kafka's tool on hang-0, ours on hang-1 (both transactions).
	full := func(args ...string) []string {
		return append([]string{"--bootstrap-server", ref.Addr, "--command-config", cfg}, args...)
	}
	if out, errOut, code := k.Run("", kafkatools.Transactions, full("abort", "--topic", "hang", "--partition", "0", "--start-offset", "2")...); code != 0 || out != "" {
		t.Errorf("Kafka's abort --start-offset: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := c.Tool("kafka-transactions.sh", full("abort", "--topic", "hang", "--partition", "1", "--start-offset", "2")...); code != 0 || out != "" || errOut != "" {
		t.Errorf("our abort --start-offset: exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := c.Tool("kafka-transactions.sh", full("abort", "--topic", "hang", "--partition", "1",
		"--producer-id", fmt.Sprint(orphan), "--producer-epoch", "0", "--coordinator-epoch", "-1")...); code != 0 || out != "" || errOut != "" {
		t.Errorf("our abort --producer-id: exit %d\n%s%s", code, out, errOut)
	}
	for p := range int32(2) {
		if stable, end := lso(p); stable != end {
			t.Errorf("hang-%d after the aborts: last stable offset %d, want the log end %d", p, stable, end)
		}
	}
	both("describe-producers after the abort", "describe-producers", "--topic", "hang", "--partition", "1")
	if out := both("find-hanging after the aborts", "find-hanging", "--broker-id", "0", "--max-transaction-timeout", "0"); strings.Count(out, "\n") != 1 {
		t.Errorf("find-hanging after the aborts still lists transactions:\n%s", out)
	}
	both("list after the aborts", "list")
}

// txnOrphan is the producer id of the scenario's orphan transaction: one
// no transactional id has.
const txnOrphan = 424242

// txnScenario is what setupTxnScenario made on a cluster.
type txnScenario struct {
	adm   *kadm.Client
	raw   *kgo.Client
	ghost *kmsg.InitProducerIDResponse // txn-ghost's producer id and epoch
}

// setupTxnScenario makes topics txn (2 partitions) and hang (2) and the
// transactions of TestKafkaTransactionsToolKafka39 through client: txn-done
// committed on txn-0, txn-open open on txn-1, txn-ghost's hanging
// transactions at offset 2 of hang-0 and hang-1 and the orphan's at
// offset 3 of hang-1 (the broker must not verify transactional produces).
func setupTxnScenario(t *testing.T, ctx context.Context, client func(opts ...kgo.Opt) *kgo.Client) txnScenario {
	t.Helper()
	adm := kadm.NewClient(client())
	for topic, n := range map[string]int32{"txn": 2, "hang": 2} {
		if _, err := adm.CreateTopic(ctx, n, 1, nil, topic); err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}

	// txn-done: one committed transaction on txn-0.
	done := client(kgo.TransactionalID("txn-done"), kgo.DefaultProduceTopic("txn"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := done.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := done.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "done-%d", i), Partition: 0}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := done.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// txn-open: a transaction left open on txn-1 (10-minute timeout).
	open := client(kgo.TransactionalID("txn-open"), kgo.DefaultProduceTopic("txn"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionTimeout(10*time.Minute))
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := open.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "open-%d", i), Partition: 1}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// Hanging transactions: a few committed-looking plain records first, so
	// that the transactions start at an offset other than 0.
	raw := client()
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = kmsg.StringPtr("txn-ghost")
	init.TransactionTimeoutMillis = 60_000
	var ir *kmsg.InitProducerIDResponse
	for range 2 { // the second bumps the epoch to 1: epoch 0 is then stale
		var err error
		if ir, err = init.RequestWith(ctx, raw); err != nil || ir.ErrorCode != 0 {
			t.Fatalf("InitProducerId: %v %+v", err, ir)
		}
	}
	for p := range int32(2) {
		for i := range 2 {
			txProduce(t, ctx, raw, "txn-ghost", "hang", p, -1, -1, int32(i), false, fmt.Sprintf("plain-%d", i))
		}
		txProduce(t, ctx, raw, "txn-ghost", "hang", p, ir.ProducerID, ir.ProducerEpoch, 0, true, "ghost")
	}
	txProduce(t, ctx, raw, "txn-ghost", "hang", 1, txnOrphan, 0, 0, true, "orphan")

	return txnScenario{adm: adm, raw: raw, ghost: ir}
}

// txProduce writes one record to topic/partition in a batch of its own:
// transactional (attribute bit 4) from producer pid/epoch when txn is set,
// else a plain one (pid -1).
func txProduce(t *testing.T, ctx context.Context, cl *kgo.Client, txnID, topic string, partition int32, pid int64, epoch int16, seq int32, txn bool, value string) {
	t.Helper()
	rec := kmsg.Record{Value: []byte(value)}
	rec.Length = int32(len(rec.AppendTo(nil)) - 1)
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, FirstTimestamp: now, MaxTimestamp: now,
		ProducerID: pid, ProducerEpoch: epoch, FirstSequence: seq, NumRecords: 1, Records: rec.AppendTo(nil)}
	if !txn {
		b.ProducerEpoch, b.FirstSequence = -1, -1
	} else {
		b.Attributes = 0x10
	}
	raw := b.AppendTo(nil)
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	raw[17], raw[18], raw[19], raw[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)

	req := kmsg.NewPtrProduceRequest()
	if txn {
		req.TransactionID = kmsg.StringPtr(txnID)
	}
	req.Acks = -1
	req.TimeoutMillis = 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = raw
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		t.Fatalf("produce %q to %s-%d: error %d", value, topic, partition, code)
	}
}

// txnToolRunnerStderr undoes the tool runner's echo of the message Kafka's
// tool passes to Exit.exit (printErrorAndExit prints it, then exits with
// it; the real JVM ignores it).
func txnToolRunnerStderr(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if n := len(lines); n >= 2 && lines[n-1] == lines[n-2] {
		return strings.Join(lines[:n-1], "\n") + "\n"
	}
	return s
}

var (
	// txnLogTime masks a log4j line's time stamp.
	txnLogTime     = regexp.MustCompile(`(?m)^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] `)
	txnAdminClient = regexp.MustCompile(`clientId=adminclient-\d+`)
	// txnDuration masks the columns computed from the tool's clock: describe's
	// TransactionDurationMs and find-hanging's Duration(min), which differ
	// between two runs.
	// (with their padding: two runs' values may differ in width).
	txnDuration = regexp.MustCompile(`(?m)^((?:[^\t\n]*\t){7})[0-9]+ *\t`)
)

func txnNormalise(s string) string {
	s = txnLogTime.ReplaceAllString(s, "[<time>] ")
	// The tool runner's JVM numbers its admin clients on (one per tool run).
	s = txnAdminClient.ReplaceAllString(s, "clientId=adminclient-<n>")
	return txnDuration.ReplaceAllString(s, "${1}<n>\t")
}

// TestKafkaTransactionsToolOurBroker plays TestKafkaTransactionsToolKafka39's
// scenario on a Kafka 3.9 broker and on one of ours, and compares Kafka's
// kafka-transactions.sh on Kafka with our tool on our broker: what both
// print (time stamps masked) and the last stable offsets after the aborts.
// Fails if our broker does not advertise the APIs the tool calls.
func TestKafkaTransactionsToolOurBroker(t *testing.T) {
	settings := map[string]string{
		"transaction.state.log.num.partitions":      "3",
		"transaction.partition.verification.enable": "false",
	}
	var extra []string
	for k, v := range settings {
		extra = append(extra, k+"="+v)
	}
	// One broker: the transaction log's replication as StartKafkaRef sets it.
	c := cluster.Start(t, 1, append(extra, "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1")...)
	versions, err := cluster.ApiVersionsOf(c.Broker(0).Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	served := map[int16]bool{}
	for _, k := range versions.ApiKeys {
		served[k.ApiKey] = true
	}
	for _, key := range []kmsg.Key{kmsg.ListTransactions, kmsg.DescribeTransactions, kmsg.DescribeProducers, kmsg.WriteTxnMarkers, kmsg.InitProducerID} {
		if !served[int16(key)] {
			t.Fatalf("our broker does not advertise %s", key.Name())
		}
	}
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Overrides: settings})
	k := kafkatools.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	theirs := setupTxnScenario(t, ctx, func(opts ...kgo.Opt) *kgo.Client { return ref.Client(t, opts...) })
	ours := setupTxnScenario(t, ctx, func(opts ...kgo.Opt) *kgo.Client {
		cl := c.Client(opts...)
		t.Cleanup(cl.Close)
		return cl
	})
	cfg := harness.WriteFile(t, t.TempDir(), "admin.properties", "default.api.timeout.ms=5000\nrequest.timeout.ms=4000\n")
	both := func(what string, args ...string) {
		t.Helper()
		kOut, kErr, kCode := k.Run("", kafkatools.Transactions, append([]string{"--bootstrap-server", ref.Addr, "--command-config", cfg}, args...)...)
		oOut, oErr, oCode := c.Tool("kafka-transactions.sh", append([]string{"--bootstrap-server", c.Bootstrap(), "--command-config", cfg}, args...)...)
		kErr = txnToolRunnerStderr(kErr)
		for _, d := range txnBrokerKnownDiffs {
			if d.What != what {
				continue
			}
			fixed := d.Fix(kOut)
			if fixed == kOut {
				t.Errorf("%s: known difference %q no longer occurs: remove it from txnBrokerKnownDiffs\nKafka:\n%s", what, d.Note, kOut)
			}
			kOut = fixed
		}
		if kCode != oCode || txnMaskTimes(kOut) != txnMaskTimes(oOut) || txnMaskTimes(kErr) != txnMaskTimes(oErr) {
			t.Errorf("%s: Kafka's tool on Kafka 3.9 and ours on our broker differ\nKafka (exit %d):\n%s%s\nours (exit %d):\n%s%s", what, kCode, kOut, kErr, oCode, oOut, oErr)
		}
	}
	both("list", "list")
	for _, id := range []string{"txn-open", "txn-done", "txn-ghost", "no-such-id"} {
		both("describe "+id, "describe", "--transactional-id", id)
	}
	for _, tp := range [][2]string{{"txn", "0"}, {"txn", "1"}, {"hang", "0"}, {"hang", "1"}} {
		both("describe-producers "+tp[0]+"-"+tp[1], "describe-producers", "--topic", tp[0], "--partition", tp[1])
	}
	both("find-hanging --broker-id", "find-hanging", "--broker-id", "0", "--max-transaction-timeout", "0")
	both("find-hanging, a known open transaction", "find-hanging", "--topic", "txn", "--max-transaction-timeout", "0")
	both("abort with a stale producer epoch", "abort", "--topic", "hang", "--partition", "1",
		"--producer-id", fmt.Sprint(ours.ghost.ProducerID), "--producer-epoch", fmt.Sprint(ours.ghost.ProducerEpoch-1), "--coordinator-epoch", "0")
	both("abort --start-offset", "abort", "--topic", "hang", "--partition", "0", "--start-offset", "2")
	both("abort --start-offset", "abort", "--topic", "hang", "--partition", "1", "--start-offset", "2")
	both("abort --producer-id", "abort", "--topic", "hang", "--partition", "1",
		"--producer-id", fmt.Sprint(txnOrphan), "--producer-epoch", "0", "--coordinator-epoch", "-1")
	both("describe-producers after the aborts", "describe-producers", "--topic", "hang", "--partition", "1")
	both("find-hanging after the aborts", "find-hanging", "--broker-id", "0", "--max-transaction-timeout", "0")
	for _, sc := range []struct {
		name string
		s    txnScenario
	}{{"Kafka 3.9", theirs}, {"ours", ours}} {
		for p := range int32(2) {
			if stable, end := txnLastStable(t, ctx, sc.s, p); stable != end {
				t.Errorf("%s: hang-%d after the aborts: last stable offset %d, log end %d", sc.name, p, stable, end)
			}
		}
	}
}

// txnBrokerKnownDiffs are differences between Kafka 3.9's answers and our
// broker's that the tools show, written down rather than fixed here (they
// are the broker's): Fix turns Kafka's output into ours, and must change it.
var txnBrokerKnownDiffs = []kafkatools.KnownDiff{
	{
		What: "list",
		Note: "ListTransactions lists a coordinator's transactions by __transaction_state partition, then in the " +
			"iteration order of the partition's ConcurrentHashMap (TransactionStateManager.listTransactionStates); " +
			"our broker sorts them by transactional id",
		Fix: func(kafka string) string {
			lines := strings.SplitAfter(kafka, "\n")
			if len(lines) < 2 {
				return kafka
			}
			rows := lines[1:]
			slices.Sort(rows)
			return lines[0] + strings.Join(rows, "")
		},
	},
}

// txnLastStable is hang-p's last stable offset (ListOffsets LATEST,
// read_committed) and log end offset.
func txnLastStable(t *testing.T, ctx context.Context, sc txnScenario, p int32) (int64, int64) {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "hang"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = p, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, sc.raw)
	if err != nil {
		t.Fatal(err)
	}
	ends, err := sc.adm.ListEndOffsets(ctx, "hang")
	if err != nil {
		t.Fatal(err)
	}
	end, _ := ends.Lookup("hang", p)
	return resp.Topics[0].Partitions[0].Offset, end.Offset
}

// txnMaskTimes masks what differs between two clusters' runs: time stamps
// (milliseconds since the epoch) and the columns computed from the clock.
func txnMaskTimes(s string) string {
	return txnEpochMillis.ReplaceAllString(txnNormalise(s), "<ts>")
}

var txnEpochMillis = regexp.MustCompile(`\b1[0-9]{12}\b`)
