package storage

import (
	"testing"
	"time"
)

// §13 cases 44-45 (ProducerStateManagerTest.testProducerExpiration...):
// an idle producer without a transaction expires at exactly
// producer.id.expiration.ms, one with an open transaction never.
func TestRemoveExpiredProducers(t *testing.T) {
	const exp = time.Hour
	cases := []struct {
		name     string
		lastTs   int64
		openTxn  bool
		now      int64
		wantKept bool
	}{
		{"idle past expiration", 0, false, exp.Milliseconds() + 1, false},
		{"idle exactly expiration", 0, false, exp.Milliseconds(), false},
		{"active", 0, false, exp.Milliseconds() - 1, true},
		{"open transaction idle", 0, true, 10 * exp.Milliseconds(), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := mustOpen(t, t.TempDir(), DefaultLogConfig(), false)
			defer l.Close()
			appendIdem(t, l, 7, 0, 3) // timestamps 0
			l.mu.Lock()
			e := l.producers.producers[7]
			e.lastTimestamp = c.lastTs
			if c.openTxn {
				e.currentTxnFirstOffset = 0
			}
			l.mu.Unlock()
			l.RemoveExpiredProducers(c.now, exp)
			l.mu.Lock()
			_, kept := l.producers.producers[7]
			l.mu.Unlock()
			if kept != c.wantKept {
				t.Fatalf("kept %v, want %v", kept, c.wantKept)
			}
			// An expired producer is unknown again: any sequence is accepted.
			_, err := l.AppendAsLeader(producerBatch(t, 7, 0, 42, 1, false), 0, false)
			if kept == (err == nil) {
				t.Fatalf("append at sequence 42 after expiry check (kept %v): %v", kept, err)
			}
		})
	}
}

// The Manager's pass reaches every open log with its configured expiration.
func TestManagerRemoveExpiredProducers(t *testing.T) {
	m, err := OpenManager([]string{t.TempDir()}, DefaultLogConfig(), quietLogger(), WithProducerExpiration(time.Minute, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := m.GetOrCreate("t", 0, [16]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	appendIdem(t, l, 7, 0, 1)
	m.RemoveExpiredProducers(1000 + time.Minute.Milliseconds() - 1) // the batch's timestamp is 1000
	if _, err := l.AppendAsLeader(producerBatch(t, 7, 0, 42, 1, false), 0, false); err == nil {
		t.Fatal("producer expired before producer.id.expiration.ms")
	}
	m.RemoveExpiredProducers(1000 + time.Minute.Milliseconds())
	if _, err := l.AppendAsLeader(producerBatch(t, 7, 0, 42, 1, false), 0, false); err != nil {
		t.Fatalf("producer not expired: %v", err)
	}
}

// ProducerStateManager.loadFromSnapshot skips expired producers
// (isProducerExpired), never one with an open transaction.
func TestSnapshotLoadSkipsExpiredProducers(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, DefaultLogConfig(), false)
	appendIdem(t, l, 7, 0, 1)                                                                 // timestamp 1000 (1970): expired
	if _, err := l.AppendAsLeader(producerBatch(t, 8, 0, 0, 1, true), 0, false); err != nil { // open transaction
		t.Fatal(err)
	}
	recent := producerBatch(t, 9, 0, 0, 1, false)
	// A batch stamped now: not expired.
	recs, err := Records(recent)
	if err != nil {
		t.Fatal(err)
	}
	recs[0].Timestamp = time.Now().UnixMilli()
	h, _ := ParseBatchHeader(recent)
	if recent, err = BuildBatch(h, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendAsLeader(recent, 0, false); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = openLog(dir, DefaultLogConfig(), openOptions{recoveryPoint: -1, logStart: -1, producerExpiration: time.Hour}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	state := producerStateOf(t, l)
	if _, ok := state[7]; ok {
		t.Error("expired producer 7 loaded")
	}
	if _, ok := state[8]; !ok {
		t.Error("producer 8 with an open transaction not loaded")
	}
	if _, ok := state[9]; !ok {
		t.Error("recent producer 9 not loaded")
	}
}
