package txn

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafkazk/kafkazk/storage"
)

// testdata/kafka39-transaction-state-1.log is __transaction_state-1 as a
// real Kafka 3.9.2 broker (ZooKeeper mode, 3 txn partitions) wrote it for
// transactional id my-txn (partition 1 of 3): ProducerPerformance with
// --transactional-id (two committed transactions), then a Java producer
// that aborts one transaction, opens another and is fenced by a second
// instance, which commits. The .dump file holds what
// kafka-dump-log --transaction-log-decoder printed for each record.
func readKafkaSegment(t *testing.T) (keys, values [][]byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/kafka39-transaction-state-1.log")
	if err != nil {
		t.Fatal(err)
	}
	for len(b) > 0 {
		h, err := storage.ParseBatchHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := storage.Records(b[:h.Size()])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			keys = append(keys, r.Key)
			if r.ValueNull {
				values = append(values, nil)
			} else {
				values = append(values, r.Value)
			}
		}
		b = b[h.Size():]
	}
	return keys, values
}

// Every record of Kafka's segment decodes, prints as kafka-dump-log
// prints it, and re-encodes to Kafka's bytes (values with more than one
// partition in a topic: Kafka writes them in hash-set order, we sort; the
// decoded sets are equal).
func TestKafkaSegmentGolden(t *testing.T) {
	keys, values := readKafkaSegment(t)
	dump, err := os.ReadFile("testdata/kafka39-transaction-state-1.dump")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(dump)), "\n")
	if len(lines) != len(keys) || len(keys) != 19 {
		t.Fatalf("%d records, %d dump lines", len(keys), len(lines))
	}
	for i := range keys {
		if got := FormatRecord(keys[i], values[i]); got != lines[i] {
			t.Errorf("record %d:\n got %s\nwant %s", i, got, lines[i])
		}
		id, err := DecodeKey(keys[i])
		if err != nil || id != "my-txn" || !bytes.Equal(EncodeKey(id), keys[i]) {
			t.Errorf("record %d key: %q %v", i, id, err)
		}
		v, err := DecodeValue(values[i])
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		enc, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Partitions) <= 1 && !bytes.Equal(enc, values[i]) {
			t.Errorf("record %d re-encodes as\n %x\nKafka wrote\n %x", i, enc, values[i])
		}
		if back, _ := DecodeValue(enc); len(enc) != len(values[i]) || !reflect.DeepEqual(groupByTopic(back.Partitions), groupByTopic(v.Partitions)) {
			t.Errorf("record %d: re-encoded value differs: %+v", i, back)
		}
	}
}

// Driving our coordinator through the client calls Kafka's coordinator
// served writes the same sequence of states, producer ids, epochs,
// timeouts and partitions (timestamps aside).
func TestReplayKafkaTransactions(t *testing.T) {
	keys, values := readKafkaSegment(t)
	var want []TxnLogValue
	for i := range keys {
		v, err := DecodeValue(values[i])
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, v)
	}
	cfg := testConfig()
	cfg.NumPartitions = 3
	store := newMemStore()
	e := &env{store: store, markers: newFakeMarkers(true), clock: newFakeClock()}
	e.c = NewCoordinator(cfg, store, e.markers, func(context.Context) (int64, error) { return 0, nil }, e.clock, discardLogger())
	e.c.Start(3)
	t.Cleanup(e.c.Close)
	e.c.Elected(1, 0)
	waitLoaded(t, e.c, 1)
	tx0, tx1 := tps("tx", 0), tps("tx", 1)
	must := func(err *kerr.Error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	init := func(wantEpoch int16) {
		t.Helper()
		pid, epoch, err := e.c.InitProducerID(bg, "my-txn", 60000, -1, -1)
		if err != nil || pid != 0 || epoch != wantEpoch {
			t.Fatalf("InitProducerId: %d/%d %v", pid, epoch, err)
		}
	}
	end := func(epoch int16, commit bool) {
		t.Helper()
		if err := e.c.EndTxn(bg, "my-txn", 0, epoch, commit); err != nil {
			t.Fatal(err)
		}
		if commit {
			e.waitState(t, "my-txn", CompleteCommit)
		} else {
			e.waitState(t, "my-txn", CompleteAbort)
		}
	}
	// ProducerPerformance: two committed transactions.
	init(0)
	must(e.c.AddPartitions(bg, "my-txn", 0, 0, tx0))
	end(0, true)
	must(e.c.AddPartitions(bg, "my-txn", 0, 0, tx0))
	end(0, true)
	// Producer x: one aborted transaction, then an open one.
	init(1)
	must(e.c.AddPartitions(bg, "my-txn", 0, 1, tx0))
	must(e.c.AddPartitions(bg, "my-txn", 0, 1, tx1))
	end(1, false)
	must(e.c.AddPartitions(bg, "my-txn", 0, 1, tx1))
	// Producer y fences x, retries until the abort completes, commits.
	if _, _, err := e.c.InitProducerID(bg, "my-txn", 60000, -1, -1); err != kerr.ConcurrentTransactions {
		t.Fatalf("fencing InitProducerId: %v", err)
	}
	e.waitState(t, "my-txn", CompleteAbort)
	init(3)
	must(e.c.AddPartitions(bg, "my-txn", 0, 3, tx0))
	end(3, true)

	got := store.values(t, 1, "my-txn")
	if len(got) != len(want) {
		t.Fatalf("%d records written, Kafka wrote %d", len(got), len(want))
	}
	for i := range want {
		g, w := *got[i], want[i]
		g.LastUpdateTimestamp, w.LastUpdateTimestamp = 0, 0
		g.StartTimestamp, w.StartTimestamp = started(g.StartTimestamp), started(w.StartTimestamp)
		g.Partitions, w.Partitions = sortedCopy(g.Partitions), sortedCopy(w.Partitions)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d: we wrote %+v, Kafka %+v", i, g, w)
		}
	}
}

// started keeps only whether a start time is set (-1: none).
func started(ts int64) int64 {
	if ts < 0 {
		return -1
	}
	return 1
}

func sortedCopy(ps []TopicPartition) []TopicPartition {
	if ps == nil {
		return nil
	}
	out := append([]TopicPartition{}, ps...)
	sortPartitions(out)
	return out
}

// Loading Kafka's segment gives the state Kafka's coordinator ended in.
func TestLoadKafkaSegment(t *testing.T) {
	keys, values := readKafkaSegment(t)
	store := newMemStore()
	for i := range keys {
		store.put(0, keys[i], values[i])
	}
	e := newEnvWith(t, testConfig(), store, false)
	d, err := e.c.DescribeTransaction("my-txn")
	if err != nil || d.State != CompleteCommit || d.ProducerID != 0 || d.ProducerEpoch != 3 || d.TimeoutMs != 60000 || len(d.Partitions) != 0 {
		t.Fatalf("loaded %+v %v", d, err)
	}
	pid, epoch, kerrr := e.c.InitProducerID(bg, "my-txn", 60000, -1, -1)
	if kerrr != nil || pid != 0 || epoch != 4 {
		t.Fatalf("InitProducerId after load: %d/%d %v", pid, epoch, kerrr)
	}
}
