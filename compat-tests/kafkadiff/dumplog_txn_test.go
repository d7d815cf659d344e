package kafkadiff_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
)

// TestDumpLogTransactionsKafka39 is a golden test of kafka-dump-log.sh on
// the files a Kafka 3.9 broker writes for transactions: Kafka 3.9's
// DumpLogSegments and ours print the same for
//
//   - the segments of a topic with committed and aborted transactions,
//     idempotent and plain batches (segment.bytes small, so it rolls):
//     control batches (isTransactional/isControl, endTxnMarker: COMMIT or
//     ABORT coordinatorEpoch: N), shallow, deep and --print-data-log;
//   - their .index, .timeindex and .txnindex (aborted transactions) files
//     and the producer-state .snapshot files written at each roll and at
//     the clean shutdown;
//   - __transaction_state segments with --transaction-log-decoder and
//     __consumer_offsets segments (transactional offset commits and their
//     markers) with --offsets-decoder.
func TestDumpLogTransactionsKafka39(t *testing.T) {
	c := cluster.Start(t, 0) // ZooKeeper, and c.Tool for our tool
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Overrides: map[string]string{
		"transaction.state.log.num.partitions": "2",
		"offsets.topic.num.partitions":         "2",
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dumpTxnScenario(t, ctx, func(opts ...kgo.Opt) *kgo.Client { return ref.Client(t, opts...) }, true)
	// A clean shutdown writes each partition's producer snapshot.
	ref.Stop(t)
	compareTxnDumps(t, c, ref.LogDir)
}

// TestDumpLogOurTransactionFiles: the same files written by our broker
// (control batches, .txnindex, producer snapshots at roll and clean
// shutdown, __transaction_state and, when served, transactional offset
// commits): Kafka 3.9's DumpLogSegments reads them and prints what ours
// prints.
func TestDumpLogOurTransactionFiles(t *testing.T) {
	settings := []string{"transaction.state.log.num.partitions=2", "offsets.topic.num.partitions=2",
		"transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1"}
	c := cluster.Start(t, 1, settings...)
	versions, err := cluster.ApiVersionsOf(c.Broker(0).Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	served := map[int16]bool{}
	for _, k := range versions.ApiKeys {
		served[k.ApiKey] = true
	}
	for _, key := range []kmsg.Key{kmsg.InitProducerID, kmsg.AddPartitionsToTxn, kmsg.EndTxn, kmsg.WriteTxnMarkers} {
		if !served[int16(key)] {
			t.Fatalf("our broker does not advertise %s", key.Name())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	offsets := served[int16(kmsg.AddOffsetsToTxn)] && served[int16(kmsg.TxnOffsetCommit)]
	dumpTxnScenario(t, ctx, func(opts ...kgo.Opt) *kgo.Client {
		cl := c.Client(opts...)
		t.Cleanup(cl.Close)
		return cl
	}, offsets)
	if code := c.Stop(0); code != 0 {
		t.Fatalf("broker 0 exit code %d after SIGTERM", code)
	}
	compareTxnDumps(t, c, c.Broker(0).LogDir)
}

// dumpTxnScenario writes through client what TestDumpLogTransactionsKafka39
// dumps: topic dl (segment.bytes 1200, so it rolls) with plain, idempotent
// (gzip) and transactional batches, committed and aborted; with offsets,
// transactional offset commits of group dl-group.
func dumpTxnScenario(t *testing.T, ctx context.Context, client func(opts ...kgo.Opt) *kgo.Client, offsets bool) {
	t.Helper()
	adm := kadm.NewClient(client())
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": kadm.StringPtr("1200")}, "dl"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "dl-in"); err != nil {
		t.Fatal(err)
	}

	// Plain and idempotent batches.
	plain := client(kgo.DefaultProduceTopic("dl"), kgo.DisableIdempotentWrite(), kgo.ProducerBatchCompression(kgo.NoCompression()))
	idem := client(kgo.DefaultProduceTopic("dl"), kgo.ProducerBatchCompression(kgo.GzipCompression()))
	for i := range 3 {
		produceOne(t, ctx, plain, &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "plain-%d", i)})
		produceOne(t, ctx, idem, &kgo.Record{Value: fmt.Appendf(nil, "idem-%d", i), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
	}
	// Transactions, committed and aborted, some with offsets sent to a
	// group (TxnOffsetCommit: transactional batches in __consumer_offsets).
	txp := client(kgo.TransactionalID("dl-txn"), kgo.DefaultProduceTopic("dl"))
	for i := range 6 {
		if err := txp.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for j := range 3 {
			produceOne(t, ctx, txp, &kgo.Record{Value: fmt.Appendf(nil, "txn-%d-%d", i, j)})
		}
		if offsets && i%2 == 0 {
			txnCommitOffset(t, ctx, txp, "dl-txn", "dl-group", "dl-in", int64(i))
		}
		commit := kgo.TryCommit
		if i%3 == 2 {
			commit = kgo.TryAbort
		}
		if err := txp.EndTransaction(ctx, commit); err != nil {
			t.Fatal(err)
		}
	}
}

// compareTxnDumps runs Kafka 3.9's DumpLogSegments and ours on every file
// of dl-0, __transaction_state-0/1 and __consumer_offsets-0/1 in logDir
// (the broker stopped), then on corrupt copies of dl-0's last snapshot,
// and compares what they print.
func compareTxnDumps(t *testing.T, c *cluster.Cluster, logDir string) {
	t.Helper()
	k := kafkatools.Start(t)
	var dumped int
	both := func(args ...string) {
		t.Helper()
		dumped++
		kOut, kErr, kCode := k.Run("", kafkatools.DumpLog, args...)
		oOut, oErr, oCode := c.Tool("kafka-dump-log.sh", args...)
		if kCode != oCode || kOut != oOut || kErr != oErr {
			t.Errorf("kafka-dump-log %s: Kafka 3.9's and ours differ\nKafka (exit %d):\n%s%s\nours (exit %d):\n%s%s",
				strings.Join(args, " "), kCode, kOut, kErr, oCode, oOut, oErr)
		}
	}
	var snapshots, txnIndexes, markers int
	for _, dir := range []string{"dl-0", "__transaction_state-0", "__transaction_state-1", "__consumer_offsets-0", "__consumer_offsets-1"} {
		files, err := filepath.Glob(filepath.Join(logDir, dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(files)
		for _, f := range files {
			switch filepath.Ext(f) {
			case ".log":
				both("--files", f)
				both("--files", f, "--deep-iteration")
				switch {
				case strings.HasPrefix(dir, "__transaction_state"):
					both("--files", f, "--transaction-log-decoder")
				case strings.HasPrefix(dir, "__consumer_offsets"):
					both("--files", f, "--offsets-decoder")
				default:
					both("--files", f, "--print-data-log")
				}
				if out, _, _ := c.Tool("kafka-dump-log.sh", "--files", f, "--deep-iteration"); strings.Contains(out, "endTxnMarker: ") {
					markers++
				}
			case ".index", ".timeindex":
				both("--files", f)
			case ".txnindex":
				txnIndexes++
				both("--files", f)
			case ".snapshot":
				snapshots++
				both("--files", f)
			}
		}
	}
	if snapshots < 2 || txnIndexes < 1 || markers < 2 {
		t.Errorf("the broker wrote %d .snapshot and %d .txnindex files, %d segments with markers: want >= 2, >= 1, >= 2 (did the topic roll?)",
			snapshots, txnIndexes, markers)
	}
	t.Logf("%d dumps compared (%d snapshots, %d transaction indexes, %d segments with markers)", dumped, snapshots, txnIndexes, markers)

	// Corrupt snapshots: the message on stderr, as readSnapshot throws it.
	dir := t.TempDir()
	good, err := os.ReadFile(lastSnapshot(t, filepath.Join(logDir, "dl-0")))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"empty":       {},
		"short":       good[:5],
		"truncated":   good[:len(good)-3],
		"bad-crc":     flipByte(good, len(good)-1),
		"version-2":   append([]byte{0, 2}, good[2:]...),
		"huge-count":  append(slices.Clone(good[:6]), 0x7f, 0, 0, 0),
		"neg-count":   append(slices.Clone(good[:6]), 0xff, 0xff, 0xff, 0xfe),
		"extra-bytes": append(slices.Clone(good), 1, 2, 3),
	} {
		f := filepath.Join(dir, name+".snapshot")
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		both("--files", f)
	}
}

// txnCommitOffset adds group's offset of topic-0 to the producer's open
// transaction: AddOffsetsToTxn, then TxnOffsetCommit (no member: a
// standalone group).
func txnCommitOffset(t *testing.T, ctx context.Context, cl *kgo.Client, txnID, group, topic string, offset int64) {
	t.Helper()
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	add := kmsg.NewPtrAddOffsetsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch, add.Group = txnID, pid, epoch, group
	ar, err := add.RequestWith(ctx, cl)
	if err != nil || ar.ErrorCode != 0 {
		t.Fatalf("AddOffsetsToTxn: %v %+v", err, ar)
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch, req.Generation = txnID, group, pid, epoch, -1
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("TxnOffsetCommit: %v %+v", err, resp)
	}
}

func produceOne(t *testing.T, ctx context.Context, cl *kgo.Client, r *kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func lastSnapshot(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.snapshot"))
	if len(files) == 0 {
		t.Fatalf("no .snapshot in %s", dir)
	}
	slices.Sort(files)
	return files[len(files)-1]
}

func flipByte(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0xff
	return out
}
