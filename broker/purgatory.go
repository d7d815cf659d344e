package broker

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
)

// purgatoryRecheck is how often a waiting acks=all produce re-checks
// its partitions without being woken.
const purgatoryRecheck = 250 * time.Millisecond

// pendingAck is one acks=all partition append waiting for replication.
type pendingAck struct {
	p        *partition
	required int64 // the HW that covers the append: its last offset + 1
	// leaderEpoch is the leader epoch the append was made in.
	leaderEpoch int32
	entry       *produceEntry // its outcome is set here
}

// awaitReplication is the produce purgatory (Kafka's DelayedProduce): it
// waits until every pending partition's HW reaches its required offset,
// woken by the partitions (follower fetches moving the HW, ISR changes,
// role changes), and sets each failed partition's outcome in its entry:
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
// min.insync.replicas, NOT_LEADER_OR_FOLLOWER if leadership moved, or
// REQUEST_TIMED_OUT when timeout passes first.
func (rm *replicaManager) awaitReplication(ctx context.Context, pending []pendingAck, timeout time.Duration) {
	wake := make(chan struct{}, 1)
	for _, pa := range pending {
		pa.p.addWaiter(wake)
	}
	defer func() {
		for _, pa := range pending {
			pa.p.removeWaiter(wake)
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	// Events wake us; a slow tick also catches changes that come without
	// one (a follower's broker leaving the metadata cache).
	tick := time.NewTicker(purgatoryRecheck)
	defer tick.Stop()
	waiting := pending
	for {
		// Check after registering so no wake-up is missed.
		rest := waiting[:0:0]
		for _, pa := range waiting {
			done, err := pa.p.enoughReplicasReached(pa.required, pa.leaderEpoch, rm.nowMs())
			if !done {
				rest = append(rest, pa)
				continue
			}
			if err != nil {
				pa.failed(err)
			}
		}
		waiting = rest
		if len(waiting) == 0 {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-timer.C:
			for _, pa := range waiting {
				pa.failed(kerr.RequestTimedOut)
			}
			return
		case <-ctx.Done():
			for _, pa := range waiting {
				pa.failed(kerr.RequestTimedOut)
			}
			return
		}
	}
}

// failed records a failed wait: only the error changes, the append's
// offsets stay in the answer (DelayedProduce sets responseStatus.error).
func (pa pendingAck) failed(err error) {
	pa.entry.err = err
}
