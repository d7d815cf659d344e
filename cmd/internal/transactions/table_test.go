package transactions

import (
	"strings"
	"testing"
)

// TestPrettyPrintTable: ToolsUtils.prettyPrintTable pads every cell to its
// column's width and ends each with a tab (the last one too).
func TestPrettyPrintTable(t *testing.T) {
	var b strings.Builder
	prettyPrintTable(&b, []string{"A", "Longer"}, [][]string{{"value", "x"}, {"v", "yy"}})
	want := "A    \tLonger\t\nvalue\tx     \t\nv    \tyy    \t\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	prettyPrintTable(&b, listHeaders, nil)
	if want := "TransactionalId\tCoordinator\tProducerId\tTransactionState\t\n"; b.String() != want {
		t.Fatalf("empty table %q, want %q", b.String(), want)
	}
}

// TestJavaOrders: the orders Kafka's tool prints in come from HashMaps and
// HashSets; these are the orders a Kafka 3.9 run printed (kafkadiff
// TestKafkaTransactionsToolKafka39 compares whole outputs).
func TestJavaOrders(t *testing.T) {
	// Long.hashCode: 424242 lands in bucket 4, 2 in bucket 2.
	if got := longMapOrder([]int64{424242, 2}); got[0] != 2 || got[1] != 424242 {
		t.Errorf("longMapOrder = %v", got)
	}
	// TopicPartition.hashCode: hang-1 before hang-0 in a 2-entry map.
	got := producersMapOrder([]topicPartition{{"hang", 0}, {"hang", 1}})
	if got[0] != (topicPartition{"hang", 1}) || got[1] != (topicPartition{"hang", 0}) {
		t.Errorf("producersMapOrder = %v", got)
	}
	// Integer keys: brokers ascending while ids stay below the table size.
	if got := brokerOrder(map[int32]int{3: 0, 1: 0, 2: 0}); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("brokerOrder = %v", got)
	}
}

func TestAbortSpecString(t *testing.T) {
	s := abortSpec{tp: topicPartition{"t", 3}, producerID: 5, producerEpoch: 1, coordinatorEpoch: 0}.String()
	if want := "AbortTransactionSpec(topicPartition=t-3, producerId=5, producerEpoch=1, coordinatorEpoch=0)"; s != want {
		t.Fatalf("%q, want %q", s, want)
	}
}
