package controller

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// A write that meets a version conflict is settled by reading the znode
// back: if it already holds the state we meant to write (a first attempt
// whose answer was lost went through), the write counts as done.
func TestUpdatePartitionStateReadsBack(t *testing.T) {
	srv := zktest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	zk, err := zkmeta.Connect(ctx, srv.Chroot(t), 6*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zk.Close()
	if err := zk.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	won, epoch, epochZkVersion, err := zk.ElectController(1)
	if err != nil || !won {
		t.Fatal(won, err)
	}
	if err := zk.CreateTopic(zkmeta.TopicAssignment{Topic: "t", TopicID: zkmeta.NewTopicID(), Partitions: map[int32][]int32{0: {1, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	initial := zkmeta.LeaderAndIsr{Leader: 1, ISR: []int32{1, 2}, ControllerEpoch: epoch}
	if err := zk.CreatePartitionStates(epochZkVersion, "t", map[int32]zkmeta.LeaderAndIsr{0: initial}); err != nil {
		t.Fatal(err)
	}
	c := New(Config{BrokerID: 1}, zk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	c.epoch, c.epochZkVersion, c.state = epoch, epochZkVersion, newClusterState()
	tp := topicPartition{"t", 0}

	shrunk := initial
	shrunk.ISR = []int32{1}
	if _, err := zk.UpdatePartitionState(epochZkVersion, "t", 0, shrunk); err != nil { // "the lost first attempt"
		t.Fatal(err)
	}
	got, err := c.updatePartitionState(tp, shrunk) // retried with the old version
	if err != nil || got.ZkVersion != 1 || c.state.partitions[tp].ZkVersion != 1 {
		t.Fatalf("retry of an applied write: %+v %v", got, err)
	}

	other := initial // a stale write with other content is refused, and the cache learns the truth
	other.ISR = []int32{1, 2}
	other.LeaderEpoch = 7
	got, err = c.updatePartitionState(tp, other)
	if !errors.Is(err, zkmeta.ErrBadVersion) || !sameLeaderAndIsr(c.state.partitions[tp], shrunk) || got.ZkVersion != 1 {
		t.Fatalf("conflicting write: %+v %v, cache %+v", got, err, c.state.partitions[tp])
	}
}
