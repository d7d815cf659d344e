package txn

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// The golden bytes and texts below come from Kafka 3.9.2's own classes
// (TransactionLogKey/TransactionLogValue through
// MessageUtil.toVersionPrefixedBytes, and
// TransactionLog.formatRecordKeyAndValue over a SimpleRecord), run once
// against var/kafka-3.9/lib.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeyGolden(t *testing.T) {
	want := "000000066d792d74786e"
	if got := hex.EncodeToString(EncodeKey("my-txn")); got != want {
		t.Fatalf("EncodeKey = %s, want %s", got, want)
	}
	id, err := DecodeKey(unhex(t, want))
	if err != nil || id != "my-txn" {
		t.Fatalf("DecodeKey = %q, %v", id, err)
	}
	var uk *UnknownKeyVersionError
	if _, err := DecodeKey([]byte{0, 1, 0, 1, 'x'}); !errors.As(err, &uk) || uk.Version != 1 {
		t.Fatalf("key v1: %v", err)
	}
	for _, b := range [][]byte{nil, {0}, {0, 0, 0}, {0, 0, 0, 5, 'a'}, {0, 0, 0xff, 0xff}} {
		if _, err := DecodeKey(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeKey(%x) = %v, want malformed", b, err)
		}
	}
}

func TestValueGolden(t *testing.T) {
	cases := []struct {
		name string
		v    TxnLogValue
		hex  string
	}{
		{"v0 Empty: partitions null", TxnLogValue{Version: 0, ProducerID: 1000, ProducerEpoch: 0, TimeoutMs: 60000, State: Empty,
			LastUpdateTimestamp: 1700000000000, StartTimestamp: -1},
			"000000000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff"},
		{"v0 Ongoing two topics", TxnLogValue{Version: 0, ProducerID: 1000, ProducerEpoch: 3, TimeoutMs: 60000, State: Ongoing,
			Partitions: tps("t", 0, "t", 1, "u", 3), LastUpdateTimestamp: 1700000000500, StartTimestamp: 1700000000100},
			"000000000000000003e800030000ea60010000000200017400000002000000000000000100017500000001000000030000018bcfe569f40000018bcfe56864"},
		{"v0 CompleteCommit: empty array", TxnLogValue{Version: 0, ProducerID: 1000, ProducerEpoch: 3, TimeoutMs: 60000, State: CompleteCommit,
			Partitions: []TopicPartition{}, LastUpdateTimestamp: 1700000000900, StartTimestamp: 1700000000100},
			"000000000000000003e800030000ea6004000000000000018bcfe56b840000018bcfe56864"},
		{"v1 PrepareCommit (flexible)", TxnLogValue{Version: 1, ProducerID: 1000, ProducerEpoch: 3, TimeoutMs: 60000, State: PrepareCommit,
			Partitions: tps("t", 0, "t", 1, "u", 3), LastUpdateTimestamp: 1700000000500, StartTimestamp: 1700000000100},
			"000100000000000003e800030000ea60020302740300000000000000010002750200000003000000018bcfe569f40000018bcfe5686400"},
		{"v1 Empty (flexible null)", TxnLogValue{Version: 1, ProducerID: 1000, ProducerEpoch: 0, TimeoutMs: 60000, State: Empty,
			LastUpdateTimestamp: 1700000000000, StartTimestamp: -1},
			"000100000000000003e800000000ea6000000000018bcfe56800ffffffffffffffff00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := EncodeValue(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("EncodeValue =\n %s\nwant\n %s", got, tc.hex)
			}
			v, err := DecodeValue(unhex(t, tc.hex))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, tc.v) {
				t.Fatalf("DecodeValue = %+v, want %+v", v, tc.v)
			}
		})
	}
}

func TestValueRules(t *testing.T) {
	// TransactionLog.valueToBytes: Empty with partitions is an IllegalStateException.
	if _, err := EncodeValue(TxnLogValue{State: Empty, Partitions: tps("t", 0)}); err == nil {
		t.Error("Empty with partitions encoded")
	}
	// Every state but Empty writes an array; Empty's partitions read back nil.
	for s := Empty; s <= PrepareEpochFence; s++ {
		v := TxnLogValue{ProducerID: 1, ProducerEpoch: 2, TimeoutMs: 3, State: s, LastUpdateTimestamp: 4, StartTimestamp: 5}
		if s != Empty {
			v.Partitions = tps("a", 1)
		}
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeValue(b)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("%v: round trip %+v, %v", s, got, err)
		}
	}
	// A partition list stored with an Empty state is dropped on read.
	b := unhex(t, "000000000000000003e800030000ea6000000000010001740000000100000000"+"0000018bcfe56b840000018bcfe56864")
	if v, err := DecodeValue(b); err != nil || v.Partitions != nil {
		t.Errorf("Empty with stored partitions: %+v, %v", v, err)
	}
	// Versions above 1 and unknown states are errors (IllegalStateException in Kafka).
	bad := map[string]string{
		"version 2":   "000200000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff",
		"version -1":  "ffff00000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff",
		"state 8":     "000000000000000003e800000000ea6008ffffffff0000018bcfe56800ffffffffffffffff",
		"truncated":   "000000000000000003e800000000ea6000ffffffff0000018bcfe56800ffffff",
		"huge array":  "000000000000000003e800000000ea60017fffffff",
		"null ids":    "000000000000000003e800000000ea600100000001000174ffffffff",
		"short":       "00",
		"v1 bad tags": "000100000000000003e800000000ea6000000000018bcfe56800ffffffffffffffff05",
	}
	for name, h := range bad {
		if _, err := DecodeValue(unhex(t, h)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	// Unknown tagged fields of a flexible value are skipped.
	withTag := unhex(t, "000100000000000003e800000000ea6000000000018bcfe56800ffffffffffffffff"+"01"+"05"+"02"+"abcd")
	if v, err := DecodeValue(withTag); err != nil || v.ProducerID != 1000 {
		t.Errorf("tagged field: %+v, %v", v, err)
	}
}

func TestFormatRecordGolden(t *testing.T) {
	key := EncodeKey("my-txn")
	val := func(v TxnLogValue) []byte {
		b, err := EncodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	many := tps("orders", 0, "orders", 1, "orders", 2, "orders", 3, "orders", 4, "orders", 5, "orders", 6, "orders", 7,
		"orders", 8, "orders", 9, "orders", 10, "orders", 11, "__consumer_offsets", 12, "__consumer_offsets", 45, "payments", 3, "payments", 1)
	var big []TopicPartition
	for i := 0; i < 40; i++ {
		big = append(big, TopicPartition{"a", int32(i)})
	}
	big = append(big, tps("bb", 7, "bb", 30)...)
	cases := []struct {
		name       string
		key, value []byte
		want       string
	}{
		{"empty", key, unhex(t, "000000000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff"),
			"key: transaction_metadata::transactionalId=my-txn payload: producerId:1000,producerEpoch:0,state=Empty,partitions=[],txnLastUpdateTimestamp=1700000000000,txnTimeoutMs=60000"},
		{"ongoing", key, unhex(t, "000000000000000003e800030000ea60010000000200017400000002000000000000000100017500000001000000030000018bcfe569f40000018bcfe56864"),
			"key: transaction_metadata::transactionalId=my-txn payload: producerId:1000,producerEpoch:3,state=Ongoing,partitions=[u-3,t-1,t-0],txnLastUpdateTimestamp=1700000000500,txnTimeoutMs=60000"},
		{"complete commit", key, unhex(t, "000000000000000003e800030000ea6004000000000000018bcfe56b840000018bcfe56864"),
			"key: transaction_metadata::transactionalId=my-txn payload: producerId:1000,producerEpoch:3,state=CompleteCommit,partitions=[],txnLastUpdateTimestamp=1700000000900,txnTimeoutMs=60000"},
		{"tombstone", key, nil, "key: transaction_metadata::transactionalId=my-txn payload: <DELETE>"},
		{"unknown key version", []byte{0, 1, 0, 1, 'x'}, unhex(t, "000000000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff"),
			"key: unknown::version=1"},
		{"16 partitions: Scala HashSet order", key, val(TxnLogValue{ProducerID: 7, ProducerEpoch: 1, TimeoutMs: 100, State: Ongoing, Partitions: many, LastUpdateTimestamp: 5, StartTimestamp: 4}),
			"key: transaction_metadata::transactionalId=my-txn payload: producerId:7,producerEpoch:1,state=Ongoing,partitions=[orders-7,orders-8,payments-3,orders-9,__consumer_offsets-45,orders-10,orders-11,__consumer_offsets-12,payments-1,orders-0,orders-1,orders-2,orders-3,orders-4,orders-5,orders-6],txnLastUpdateTimestamp=5,txnTimeoutMs=100"},
		{"42 partitions", key, val(TxnLogValue{ProducerID: 7, ProducerEpoch: 1, TimeoutMs: 100, State: PrepareAbort, Partitions: big, LastUpdateTimestamp: 5, StartTimestamp: 4}),
			"key: transaction_metadata::transactionalId=my-txn payload: producerId:7,producerEpoch:1,state=PrepareAbort,partitions=[a-34,a-1,a-32,a-30,a-28,a-26,a-24,a-22,a-20,a-18,a-16,a-14,a-12,a-10,a-8,bb-7,a-39,a-6,a-37,a-4,a-35,a-2,a-33,a-0,a-31,bb-30,a-29,a-27,a-25,a-23,a-21,a-19,a-17,a-15,a-13,a-11,a-9,a-7,a-38,a-5,a-36,a-3],txnLastUpdateTimestamp=5,txnTimeoutMs=100"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatRecord(tc.key, tc.value); got != tc.want {
				t.Fatalf("FormatRecord =\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
	if got := FormatRecord(key, []byte{0, 9}); !strings.HasPrefix(got, "Error: ") {
		t.Errorf("bad value: %s", got)
	}
}

func TestStateNames(t *testing.T) {
	for s := Empty; s <= PrepareEpochFence; s++ {
		got, ok := StateFromName(s.String())
		if !ok || got != s {
			t.Errorf("StateFromName(%q) = %v, %v", s.String(), got, ok)
		}
	}
	if _, ok := StateFromName("ongoing"); ok {
		t.Error("state names are case-sensitive")
	}
	if got := fmt.Sprint(State(9)); got != "State(9)" {
		t.Errorf("unknown state prints %q", got)
	}
}

func TestPartitionFor(t *testing.T) {
	cases := []struct {
		id   string
		n    int32
		want int32
	}{
		{"my-txn", 50, 45}, // hash -1061187895: Utils.abs, not a sign-bit mask (which gives 3)
		{"", 50, 0},
		{"polygenelubricants", 50, 0}, // hash Integer.MIN_VALUE: Utils.abs gives 0
		{"a", 50, 97 % 50},
		{"x", 0, 0},
	}
	for _, tc := range cases {
		if got := PartitionFor(tc.id, tc.n); got != tc.want {
			t.Errorf("PartitionFor(%q, %d) = %d, want %d", tc.id, tc.n, got, tc.want)
		}
	}
}

// FuzzDecodeValue: no __transaction_state value, however damaged, makes
// the decoder panic, and what decodes re-encodes to a value that decodes
// the same.
func FuzzDecodeValue(f *testing.F) {
	for _, h := range []string{
		"000000000000000003e800000000ea6000ffffffff0000018bcfe56800ffffffffffffffff",
		"000000000000000003e800030000ea60010000000200017400000002000000000000000100017500000001000000030000018bcfe569f40000018bcfe56864",
		"000100000000000003e800030000ea60020302740300000000000000010002750200000003000000018bcfe569f40000018bcfe5686400",
		"000100000000000003e800000000ea6000000000018bcfe56800ffffffffffffffff0105020abcd0",
	} {
		f.Add(unhex(f, h))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeValue(b)
		if err != nil {
			return
		}
		out, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", v, err)
		}
		v2, err := DecodeValue(out)
		if err != nil || !reflect.DeepEqual(groupByTopic(v.Partitions), groupByTopic(v2.Partitions)) ||
			v.ProducerID != v2.ProducerID || v.State != v2.State || v.StartTimestamp != v2.StartTimestamp {
			t.Fatalf("re-encoded %+v decodes as %+v, %v", v, v2, err)
		}
		_ = FormatRecord(EncodeKey("x"), b)
	})
}

// FuzzDecodeKey: keys never panic; an id of valid UTF-8 re-encodes to
// the key's bytes (trailing bytes ignored, as Kafka's reader does).
func FuzzDecodeKey(f *testing.F) {
	f.Add(EncodeKey("my-txn"))
	f.Add([]byte{0, 1, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := DecodeKey(b)
		if err != nil {
			return
		}
		_ = FormatRecord(b, nil)
		n := int(b[2])<<8 | int(b[3])
		if utf8.Valid(b[4 : 4+n]) {
			if enc := EncodeKey(id); !bytes.HasPrefix(b, enc) {
				t.Fatalf("key %x decodes to %q which encodes as %x", b, id, enc)
			}
		}
	})
}
