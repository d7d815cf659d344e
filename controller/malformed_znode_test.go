package controller

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// syncBuffer is a log sink safe for the controller's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A topic whose assignment znode, a partition whose state znode, and a
// broker whose registration hold data written by hand that does not decode
// are logged naming their paths and skipped by the controller's failover: every other topic and partition
// gets its leader and its requests, the bad state znode is left as it is,
// and the topic is loaded once its znode is rewritten. (Kafka fails the
// whole failover on such data, or takes a non-JSON topic znode for a topic
// without partitions.)
func TestMalformedZnodesSkipped(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("good", map[int32][]int32{0: {1, 2}})
	tc.createTopic("bad-assign", map[int32][]int32{0: {1, 2}})
	tc.createTopic("bad-state", map[int32][]int32{0: {1, 2}, 1: {2, 1}})
	badAssign := []byte(`{"version":3,"partitions":{"0":"one,two"}}`)
	if _, err := tc.zk.Set(zkmeta.TopicPath("bad-assign"), badAssign, -1); err != nil {
		t.Fatal(err)
	}
	badState := []byte(`{"controller_epoch":1,"leader":"one","version":1,"leader_epoch":0,"isr":[1,2]}`)
	statePath := zkmeta.PartitionStatePath("bad-state", 0)
	if err := tc.zk.CreateRecursive(statePath, badState, zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}

	// A registration written by hand: the broker is taken for not live.
	if _, err := tc.zk.Create(zkmeta.BrokerPath(3), []byte(`{"version":"five","host":"h","port":1}`), zkmeta.Ephemeral); err != nil {
		t.Fatal(err)
	}

	var logs syncBuffer
	tc.run(New(Config{BrokerID: 1, RequestTimeout: 5 * time.Second}, tc.zk, slog.New(slog.NewTextHandler(&logs, nil))))

	if st := tc.partitionState("good", 0); st.Leader != 1 {
		t.Errorf("good-0 leader %d, want 1", st.Leader)
	}
	if st := tc.partitionState("bad-state", 1); st.Leader != 2 {
		t.Errorf("bad-state-1 leader %d, want 2", st.Leader)
	}
	if data, _, err := tc.zk.Get(statePath); err != nil || !bytes.Equal(data, badState) {
		t.Errorf("%s rewritten: %q %v", statePath, data, err)
	}
	if ok, _, err := tc.zk.Exists(zkmeta.PartitionStatePath("bad-assign", 0)); ok || err != nil {
		t.Errorf("bad-assign-0 got a state (%v %v)", ok, err)
	}
	for _, id := range []int32{1, 2} {
		b := tc.brokers[id]
		if n := len(b.leaderAndIsrStates("bad-state", 0)); n != 0 {
			t.Errorf("broker %d got %d LeaderAndIsr states for bad-state-0", id, n)
		}
		if n := len(b.leaderAndIsrStates("bad-assign", 0)); n != 0 {
			t.Errorf("broker %d got %d LeaderAndIsr states for bad-assign-0", id, n)
		}
		for _, r := range b.received(kmsg.UpdateMetadata.Int16()) {
			for _, ts := range r.(*kmsg.UpdateMetadataRequest).TopicStates {
				for _, p := range ts.PartitionStates {
					if ts.Topic == "bad-assign" || ts.Topic == "bad-state" && p.Partition == 0 {
						t.Errorf("broker %d got UpdateMetadata for %s-%d", id, ts.Topic, p.Partition)
					}
				}
			}
		}
	}
	for _, path := range []string{zkmeta.TopicPath("bad-assign"), statePath, zkmeta.BrokerPath(3)} {
		if !strings.Contains(logs.String(), path) {
			t.Errorf("no log line names %s:\n%s", path, logs.String())
		}
	}

	// A topic created meanwhile does not make the controller read the
	// skipped one again (its own watch does, once it changes).
	tc.createTopic("another", map[int32][]int32{0: {2, 1}})
	tc.waitFor("another-0 elected", func() bool {
		_, ok, err := tc.zk.PartitionState("another", 0)
		return err == nil && ok
	})
	if n := strings.Count(logs.String(), "skipping topic"); n != 1 {
		t.Errorf("bad-assign skipped %d times, want once:\n%s", n, logs.String())
	}

	// Rewritten, the topic is loaded and its partition gets a leader.
	good := zkmeta.EncodeTopicAssignment(zkmeta.TopicAssignment{Topic: "bad-assign", TopicID: zkmeta.NewTopicID(),
		Partitions: map[int32][]int32{0: {2, 1}}})
	if _, err := tc.zk.Set(zkmeta.TopicPath("bad-assign"), good, -1); err != nil {
		t.Fatal(err)
	}
	tc.waitFor("bad-assign-0 elected once its znode is fixed", func() bool {
		st, ok, err := tc.zk.PartitionState("bad-assign", 0)
		return err == nil && ok && st.Leader == 2
	})
}
