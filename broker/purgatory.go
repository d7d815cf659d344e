package broker

import (
	"context"
	"time"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
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
	topic       int // index in the response's topics
	partition   int // index in that topic's partitions
}

// awaitReplication is the produce purgatory (Kafka's DelayedProduce): it
// waits until every pending partition's HW reaches its required offset,
// woken by the partitions (follower fetches moving the HW, ISR changes,
// role changes), and writes each partition's outcome into resp: success,
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
// min.insync.replicas, NOT_LEADER_OR_FOLLOWER if leadership moved, or
// REQUEST_TIMED_OUT when timeout passes first.
func (s *Server) awaitReplication(ctx context.Context, pending []pendingAck, timeout time.Duration, resp *kmsg.ProduceResponse) {
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
			done, err := pa.p.enoughReplicasReached(pa.required, pa.leaderEpoch)
			if !done {
				rest = append(rest, pa)
				continue
			}
			if err != nil {
				setProduceError(resp, pa, err)
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
				setProduceError(resp, pa, kerr.RequestTimedOut)
			}
			return
		case <-ctx.Done():
			for _, pa := range waiting {
				setProduceError(resp, pa, kerr.RequestTimedOut)
			}
			return
		}
	}
}

func setProduceError(resp *kmsg.ProduceResponse, pa pendingAck, err error) {
	out := &resp.Topics[pa.topic].Partitions[pa.partition]
	out.ErrorCode, out.ErrorMessage = protocol.ErrorCodeMessage(err)
	out.BaseOffset = -1
	out.LogStartOffset = -1
}
