package broker

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func txnOffsetCommitReq(version int16, groupID string, parts map[string][]int32) *kmsg.TxnOffsetCommitRequest {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version, req.TransactionalID, req.Group, req.ProducerID, req.ProducerEpoch = version, "tx", groupID, 42, 3
	for _, topic := range []string{"t", "nope"} {
		ps, ok := parts[topic]
		if !ok {
			continue
		}
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = topic
		for _, p := range ps {
			rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
			rp.Partition, rp.Offset = p, 10
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// txnCodes is the answer's error per "topic-partition".
func txnCodes(resp kmsg.Response) map[string]*kerr.Error {
	out := map[string]*kerr.Error{}
	for _, rt := range resp.(*kmsg.TxnOffsetCommitResponse).Topics {
		for _, rp := range rt.Partitions {
			e, _ := kerr.ErrorForCode(rp.ErrorCode).(*kerr.Error)
			out[rt.Topic+"-"+string(rune('0'+rp.Partition))] = e
		}
	}
	return out
}

// fetchT0 is OffsetFetch of t-0 with require_stable where the version has it.
func fetchT0(t *testing.T, s *Server, version int16) (int64, *kerr.Error) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version, req.RequireStable = version, version >= 7
	if version >= 8 {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		ft := kmsg.NewOffsetFetchRequestGroupTopic()
		ft.Topic, ft.Partitions = "t", []int32{0}
		rg.Topics = append(rg.Topics, ft)
		req.Groups = append(req.Groups, rg)
		g := s.handleOffsetFetch(req).(*kmsg.OffsetFetchResponse).Groups[0]
		if g.ErrorCode != 0 {
			t.Fatalf("v%d group error %v", version, kerr.ErrorForCode(g.ErrorCode))
		}
		p := g.Topics[0].Partitions[0]
		e, _ := kerr.ErrorForCode(p.ErrorCode).(*kerr.Error)
		return p.Offset, e
	}
	req.Group = "g"
	ft := kmsg.NewOffsetFetchRequestTopic()
	ft.Topic, ft.Partitions = "t", []int32{0}
	req.Topics = append(req.Topics, ft)
	resp := s.handleOffsetFetch(req).(*kmsg.OffsetFetchResponse)
	if resp.ErrorCode != 0 {
		t.Fatalf("v%d error %v", version, kerr.ErrorForCode(resp.ErrorCode))
	}
	p := resp.Topics[0].Partitions[0]
	e, _ := kerr.ErrorForCode(p.ErrorCode).(*kerr.Error)
	return p.Offset, e
}

// TestTxnOffsetCommitHandler: unknown partitions, KIP-447 fencing of a
// producer that is not a member of the group (nothing appended to
// __consumer_offsets), a v0 commit, OffsetFetch require_stable before and
// after the commit marker.
func TestTxnOffsetCommitHandler(t *testing.T) {
	s, store := newGroupTestServerWithStore(t, map[string]int32{"t": 2}, nil)
	ctx := context.Background()
	leo := func() int64 {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.next[0]
	}

	zombie := txnOffsetCommitReq(3, "g", map[string][]int32{"t": {0, 1, 5}, "nope": {0}})
	zombie.Generation, zombie.MemberID = 5, "zombie"
	before := leo()
	got := txnCodes(s.handleTxnOffsetCommit(ctx, zombie))
	for tp, want := range map[string]*kerr.Error{"t-0": kerr.UnknownMemberID, "t-1": kerr.UnknownMemberID,
		"t-5": kerr.UnknownTopicOrPartition, "nope-0": kerr.UnknownTopicOrPartition} {
		if got[tp] != want {
			t.Fatalf("fenced commit %s: %v, want %v (all: %v)", tp, got[tp], want, got)
		}
	}
	if leo() != before {
		t.Fatalf("a fenced TxnOffsetCommit appended to __consumer_offsets: LEO %d -> %d", before, leo())
	}

	if got := txnCodes(s.handleTxnOffsetCommit(ctx, txnOffsetCommitReq(3, "", map[string][]int32{"t": {0}}))); got["t-0"] != kerr.InvalidGroupID {
		t.Fatalf("empty group id: %v", got)
	}

	if got := txnCodes(s.handleTxnOffsetCommit(ctx, txnOffsetCommitReq(0, "g", map[string][]int32{"t": {0}}))); got["t-0"] != nil {
		t.Fatalf("v0 commit: %v", got)
	}
	store.mu.Lock()
	b := store.batches[0][len(store.batches[0])-1]
	store.mu.Unlock()
	if !b.Transactional || b.ProducerID != 42 || len(b.Records) != 1 || leo() != before+1 {
		t.Fatalf("appended batch %+v, LEO %d", b, leo())
	}
	for _, tc := range []struct {
		version int16
		want    *kerr.Error
	}{{6, nil}, {7, kerr.UnstableOffsetCommit}, {8, kerr.UnstableOffsetCommit}} {
		if off, err := fetchT0(t, s, tc.version); off != -1 || err != tc.want {
			t.Fatalf("OffsetFetch v%d before the marker: %d %v, want -1 %v", tc.version, off, err, tc.want)
		}
	}

	s.groups.CompleteTransaction(42, 3, []int32{0}, true)
	deadline := time.Now().Add(5 * time.Second)
	for {
		off, err := fetchT0(t, s, 8)
		if off == 10 && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the commit marker: %d %v", off, err)
		}
		time.Sleep(time.Millisecond)
	}
	if off, err := fetchT0(t, s, 7); off != 10 || err != nil {
		t.Fatalf("OffsetFetch v7 after the marker: %d %v", off, err)
	}
}

// TestTxnOffsetCommitWhileLoading: COORDINATOR_LOAD_IN_PROGRESS, which
// TxnOffsetCommit v0-1 answers as COORDINATOR_NOT_AVAILABLE (KAFKA-7296).
func TestTxnOffsetCommitWhileLoading(t *testing.T) {
	s, store := newGroupTestServerWithStore(t, map[string]int32{"t": 1}, nil)
	gate := make(chan struct{})
	store.mu.Lock()
	store.loadGate = gate
	store.mu.Unlock()
	defer close(gate)
	s.groups.Resigned(0, 1)
	s.groups.Elected(0, 2)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err, _ := s.groups.FetchOffsets("g", false, nil); err == kerr.CoordinatorLoadInProgress {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the partition is not loading")
		}
		time.Sleep(time.Millisecond)
	}
	for _, tc := range []struct {
		version int16
		want    *kerr.Error
	}{{0, kerr.CoordinatorNotAvailable}, {1, kerr.CoordinatorNotAvailable}, {2, kerr.CoordinatorLoadInProgress}, {4, kerr.CoordinatorLoadInProgress}} {
		if got := txnCodes(s.handleTxnOffsetCommit(context.Background(), txnOffsetCommitReq(tc.version, "g", map[string][]int32{"t": {0}}))); got["t-0"] != tc.want {
			t.Fatalf("v%d while loading: %v, want %v", tc.version, got["t-0"], tc.want)
		}
	}
}
