package dumplog

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/storage"
)

// TestTransactionLogDecoder: --transaction-log-decoder prints each
// __transaction_state record as TransactionLog.formatRecordKeyAndValue
// (a transition, a tombstone, a key of an unknown version: no payload); a
// record without a key ends the tool as Kafka's NullPointerException does.
// The same on segments Kafka 3.9 wrote: compat-tests/kafkadiff
// TestDumpLogTransactionsKafka39.
func TestTransactionLogDecoder(t *testing.T) {
	value, err := txn.EncodeValue(txn.TxnLogValue{Version: 0, ProducerID: 4, ProducerEpoch: 1, TimeoutMs: 60000,
		State: txn.Ongoing, Partitions: []txn.TopicPartition{{Topic: "t", Partition: 0}}, LastUpdateTimestamp: 1700, StartTimestamp: 1600})
	if err != nil {
		t.Fatal(err)
	}
	segment := func(recs ...storage.Record) string {
		dir := filepath.Join(t.TempDir(), "__transaction_state-0")
		l, err := storage.OpenLog(dir, storage.DefaultLogConfig(), false, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			raw, err := storage.BuildBatch(storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, []storage.Record{r})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Append(raw, 0); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(dir, "00000000000000000000.log")
	}
	f := segment(
		storage.Record{Timestamp: 1, Key: txn.EncodeKey("tx-a"), Value: value},
		storage.Record{Timestamp: 2, Key: txn.EncodeKey("tx-a"), ValueNull: true},
		storage.Record{Timestamp: 3, Key: []byte{0, 7, 0, 1, 'x'}, Value: []byte("?")},
	)
	out, errOut, code := run(t, "--files", f, "--transaction-log-decoder", "--skip-record-metadata")
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "| ") {
			got = append(got, l)
		}
	}
	want := []string{
		"| key: transaction_metadata::transactionalId=tx-a payload: producerId:4,producerEpoch:1,state=Ongoing,partitions=[t-0],txnLastUpdateTimestamp=1700,txnTimeoutMs=60000",
		"| key: transaction_metadata::transactionalId=tx-a payload: <DELETE>",
		"| key: unknown::version=7",
	}
	if code != 0 || errOut != "" || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("exit %d, stderr %q, records:\n%s\nwant:\n%s", code, errOut, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	f = segment(storage.Record{Timestamp: 1, KeyNull: true, Value: []byte("v")})
	_, errOut, code = run(t, "--files", f, "--transaction-log-decoder")
	if want := "Exception in thread \"main\" java.lang.NullPointerException: Cannot invoke \"java.nio.ByteBuffer.getShort()\" because \"buffer\" is null\n"; code != 1 || errOut != want {
		t.Fatalf("null key: exit %d, stderr %q, want %q", code, errOut, want)
	}
}
