package broker

import (
	"context"
	"testing"
	"time"
)

// replicaManager.fetchMessages long-polls: a consumer's fetch for min
// bytes 1 waits until an append moves the HW, then answers with the
// records; with nothing to wait for it answers at its max wait.
func TestReplicaManagerFetchMessagesLongPoll(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	params := fetchParams{replicaID: -1, maxWait: 10 * time.Second, minBytes: 1, maxBytes: 1 << 20, fetchOnlyLeader: true}
	parts := []partitionFetch{{topic: "t", partition: 0, currentLeaderEpoch: -1, lastFetchedEpoch: -1, maxBytes: 1 << 20}}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		s.replicas.fetchMessages(context.Background(), params, parts)
	}()
	time.Sleep(50 * time.Millisecond)
	entries := []produceEntry{{topic: "t", partition: 0, records: testBatch(2)}}
	s.replicas.appendRecords(context.Background(), time.Second, 1, false, false, entries)
	if entries[0].err != nil {
		t.Fatal(entries[0].err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the fetch was not woken by the append")
	}
	if fp := parts[0]; fp.err != nil || fp.records.Size == 0 || fp.highWatermark != 2 || fp.logStartOffset != 0 {
		t.Fatalf("fetch outcome %+v, want records up to HW 2", fp)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("waited %v", waited)
	}

	// At the HW nothing is read: the fetch answers when max wait passes.
	params.maxWait = 30 * time.Millisecond
	parts[0].fetchOffset = 2
	start = time.Now()
	s.replicas.fetchMessages(context.Background(), params, parts)
	if waited := time.Since(start); waited < 30*time.Millisecond || parts[0].records.Size != 0 || parts[0].err != nil {
		t.Fatalf("fetch at the HW: waited %v, outcome %+v; want an empty answer after max wait", waited, parts[0])
	}
}

// A fetch with no partitions to read (the Java consumer's close of its
// fetch session: epoch -1, no partitions) is answered at once, not after
// max wait, as Kafka's ReplicaManager.fetchMessages does.
func TestReplicaManagerFetchMessagesNothingToRead(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	params := fetchParams{replicaID: -1, maxWait: 10 * time.Second, minBytes: 1, maxBytes: 1 << 20, fetchOnlyLeader: true}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.replicas.fetchMessages(context.Background(), params, nil)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a fetch of no partitions waited for its max wait (10s)")
	}
}

// partition.readRecords bounds a consumer's read by the HW and a
// follower's by the LEO, which it returns.
func TestPartitionReadRecordsBounds(t *testing.T) {
	p := newTestLeader(t, 1, 1, 2)
	if _, err := p.appendRecords(testBatch(3), 1); err != nil {
		t.Fatal(err)
	}
	if hw := p.highWatermark(); hw != 0 {
		t.Fatalf("HW %d before the follower fetched, want 0", hw)
	}
	slice, leo, err := p.readRecords(0, 1<<20, isolationHighWatermark, true)
	if err != nil || slice.Size != 0 || leo != 3 {
		t.Fatalf("consumer read: size %d, LEO %d, %v; want nothing above the HW", slice.Size, leo, err)
	}
	slice, leo, err = p.readRecords(0, 1<<20, isolationLogEnd, true)
	if err != nil || slice.Size == 0 || leo != 3 {
		t.Fatalf("follower read: size %d, LEO %d, %v; want the records to the LEO", slice.Size, leo, err)
	}
}
