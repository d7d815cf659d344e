package soak

import (
	"context"
	"slices"
	"time"
)

// uncleanElection forces an unclean leader election on a partition of the
// unclean topic (unclean.leader.election.enable=true), the way it happens
// in production: one follower (the lagger) falls out of the ISR (its
// fetches from the leader are cut for longer than
// replica.lag.time.max.ms), acks=all records keep being acknowledged by
// the two others, then both are killed at once. The controller then
// elects the only live replica although it is not in the ISR
// (KafkaController's OfflinePartitionLeaderElectionStrategy with
// allowUnclean); the restarted brokers truncate to it. Every record
// acknowledged at or above the lagger's log end is lost: the run predicts
// those values here and the checker counts the loss exactly at the end.
// Partitions of the clean topic that lose both their in-sync replicas
// meanwhile must wait for one of them (no unclean election there).
func uncleanElection(e *env, _ int32) func() {
	p := int32(e.rng.IntN(uncleanPartitions))
	pd, err := partitionMeta(e, uncleanTopic, p)
	if err != nil || pd.Leader < 0 || len(pd.Replicas) != rf || len(pd.ISR) != rf {
		e.t.Logf("unclean-election: %s-%d leader %d replicas %v ISR %v: %v; nothing done", uncleanTopic, p, pd.Leader, pd.Replicas, pd.ISR, err)
		e.stats["unclean-election: skipped (partition not fully in sync)"]++
		return func() {}
	}
	leader := pd.Leader
	var followers []int32
	for _, r := range pd.Replicas {
		if r != leader {
			followers = append(followers, r)
		}
	}
	i := e.rng.IntN(len(followers))
	lagger, other := followers[i], followers[1-i]
	e.c.CutFetches(lagger, leader)

	// The lagger leaves the ISR after replica.lag.time.max.ms (3 s).
	deadline := time.Now().Add(30 * time.Second)
	for {
		pd, err = partitionMeta(e, uncleanTopic, p)
		if err == nil && !slices.Contains(pd.ISR, lagger) && pd.Leader == leader && len(pd.ISR) == 2 {
			break
		}
		if time.Now().After(deadline) {
			e.c.Heal(lagger)
			e.t.Logf("unclean-election: %s-%d: follower %d still in ISR %v (leader %d) after 30 s of cut fetches; nothing done",
				uncleanTopic, p, lagger, pd.ISR, pd.Leader)
			e.stats["unclean-election: skipped (lagger stayed in ISR)"]++
			return func() {}
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Records the lagger lacks: wait (bounded) for a few acknowledgements.
	base := len(e.uchk.AckedFrom(p, 0))
	deadline = time.Now().Add(10 * time.Second)
	for len(e.uchk.AckedFrom(p, 0)) < base+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	// Partitions of the clean topic whose ISR the kills take out entirely:
	// they must stay leaderless, not elect a replica outside the ISR.
	exposed := map[int32][]int32{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if md, err := e.adm.Metadata(ctx, topic); err == nil {
		for _, cp := range md.Topics[topic].Partitions {
			if len(cp.ISR) > 0 && !slices.ContainsFunc(cp.ISR, func(r int32) bool { return r != leader && r != other }) {
				exposed[cp.Partition] = cp.ISR
			}
		}
	}
	cancel()
	e.c.Kill(leader)
	e.c.Kill(other)
	e.c.Heal(lagger)
	e.t.Logf("unclean-election: %s-%d: killed leader %d and follower %d (ISR %v); %d outside the ISR is the only live replica",
		uncleanTopic, p, leader, other, pd.ISR, lagger)

	restart := func() {
		e.c.Launch(leader)
		e.c.Launch(other)
		e.c.WaitForBrokers(leader, other)
	}
	// The leaders' sessions expire after the session timeout; then the
	// controller (a new one if it was among them) elects the lagger.
	deadline = time.Now().Add(60 * time.Second)
	for {
		pd, err = partitionMeta(e, uncleanTopic, p)
		if err == nil && pd.Leader == lagger {
			break
		}
		if time.Now().After(deadline) {
			e.stats["unclean-election: no unclean leader elected"]++
			e.finding("%s-%d (unclean.leader.election.enable=true): no unclean election of live replica %d within 60 s of its in-sync replicas %d and %d dying (leader %d, ISR %v, err %v); Kafka elects it",
				uncleanTopic, p, lagger, leader, other, pd.Leader, pd.ISR, err)
			return restart
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkNoUncleanOnCleanTopic(e, exposed, leader, other)
	// Nothing can be appended now (ISR of one, below min.insync.replicas),
	// so the end offset is the lagger's log end at its election.
	var end int64 = -1
	for end < 0 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ends, err := e.adm.ListEndOffsets(ctx, uncleanTopic)
		cancel()
		if o, ok := ends.Lookup(uncleanTopic, p); err == nil && ok && o.Err == nil {
			end = o.Offset
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if end < 0 {
		e.t.Logf("unclean-election: %s-%d: %d elected, its end offset not listed; no loss predicted", uncleanTopic, p, lagger)
		e.stats["unclean-election: unclean leaders elected"]++
		return restart
	}
	lost := e.uchk.AckedFrom(p, end)
	for _, v := range lost {
		e.uncleanLoss[v] = true
	}
	e.stats["unclean-election: unclean leaders elected"]++
	e.t.Logf("unclean-election: %s-%d: %d elected (leader epoch %d, ISR %v) with log end %d; %d acknowledged records at or above it will be lost",
		uncleanTopic, p, lagger, pd.LeaderEpoch, pd.ISR, end, len(lost))
	return restart
}

// checkNoUncleanOnCleanTopic: each partition of the clean topic whose
// whole ISR (before the kills) was the two dead brokers has no leader now,
// or one of them: unclean.leader.election.enable is false there
// (Kafka's offlinePartitionLeaderElection elects only a live in-sync
// replica). The unclean topic's election shows that the controller has
// processed the deaths.
func checkNoUncleanOnCleanTopic(e *env, exposed map[int32][]int32, dead ...int32) {
	if len(exposed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	md, err := e.adm.Metadata(ctx, topic)
	if err != nil {
		e.t.Logf("unclean-election: clean topic metadata: %v", err)
		return
	}
	for p, isr := range exposed {
		cp, ok := md.Topics[topic].Partitions[p]
		if !ok {
			continue
		}
		switch {
		case cp.Leader < 0 || slices.Contains(dead, cp.Leader):
			e.stats["unclean-election: clean partitions left leaderless with their ISR dead (as Kafka)"]++
		default:
			e.finding("%s-%d (unclean.leader.election.enable=false) elected %d outside its ISR %v (read just before brokers %v were killed)",
				topic, p, cp.Leader, isr, dead)
		}
	}
}
