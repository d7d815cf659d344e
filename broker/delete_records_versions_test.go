package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// followerFetchAt is one fetch of t-0 by replica 2 at offset, reporting
// its log start offset.
func followerFetchAt(t *testing.T, s *Server, offset, logStart int64) {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = 12, 2, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.CurrentLeaderEpoch, rp.FetchOffset, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = 0, 1, offset, -1, logStart, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, _, _, _, _ := s.readFetch(req, 2, true)
	if c := resp.Topics[0].Partitions[0].ErrorCode; c != 0 {
		t.Fatalf("follower fetch: %v", kerr.ErrorForCode(c))
	}
}

func deleteRecordsOf(t *testing.T, s *Server, version int16, timeoutMs int32, offsets ...int64) *kmsg.DeleteRecordsResponse {
	t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	req.Version, req.TimeoutMillis = version, timeoutMs
	for _, o := range offsets {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = 0, o
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	return roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
		return s.handleDeleteRecords(context.Background(), r.(*kmsg.DeleteRecordsRequest))
	}).(*kmsg.DeleteRecordsResponse)
}

// DeleteRecords as ReplicaManager.deleteRecords and DelayedDeleteRecords
// answer it, at every version: the low watermark is the smallest log start
// offset of the live replicas (a follower that has not fetched counts as
// -1); while it is below the requested offset the answer waits for the
// followers, REQUEST_TIMED_OUT with the first low watermark when
// timeout_ms passes; a partition asked twice is answered once, with the
// last offset asked, under one topic entry.
func TestDeleteRecordsWaitsForLowWatermark(t *testing.T) {
	for version := int16(0); version <= 2; version++ {
		s := newReplicaTestServer(t, 1, t.TempDir())
		if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1, 2}, []int32{1, 2}); err != nil {
			t.Fatal(err)
		}
		p, err := s.replicas.leaderPartition("t", 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.appendRecords(testBatch(5), 1); err != nil {
			t.Fatal(err)
		}
		followerFetchAt(t, s, 5, -1) // HW 5; its log start still unknown

		one := func(resp *kmsg.DeleteRecordsResponse) kmsg.DeleteRecordsResponseTopicPartition {
			t.Helper()
			if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
				t.Fatalf("v%d: answer %+v, want one topic with one partition", version, resp.Topics)
			}
			return resp.Topics[0].Partitions[0]
		}
		got := one(deleteRecordsOf(t, s, version, 0, 1))
		if got.ErrorCode != kerr.RequestTimedOut.Code || got.LowWatermark != -1 {
			t.Errorf("v%d: follower log start unknown: %v low %d, want REQUEST_TIMED_OUT low -1", version, kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
		}
		if start := p.log.LogStartOffset(); start != 1 {
			t.Errorf("v%d: leader log start %d, want 1 (moved before waiting)", version, start)
		}

		followerFetchAt(t, s, 5, 1)
		got = one(deleteRecordsOf(t, s, version, 0, 4, 2)) // asked twice: the last offset counts
		if got.ErrorCode != kerr.RequestTimedOut.Code || got.LowWatermark != 1 {
			t.Errorf("v%d: follower at 1, asked 2: %v low %d, want REQUEST_TIMED_OUT low 1", version, kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
		}
		if start := p.log.LogStartOffset(); start != 2 {
			t.Errorf("v%d: leader log start %d, want 2 (the last offset asked)", version, start)
		}

		done := make(chan *kmsg.DeleteRecordsResponse)
		go func() { done <- deleteRecordsOf(t, s, version, 60_000, 3) }()
		followerFetchAt(t, s, 5, 3) // the follower follows the leader's log start
		got = one(<-done)
		if got.ErrorCode != 0 || got.LowWatermark != 3 {
			t.Errorf("v%d: follower caught up: %v low %d, want NONE low 3", version, kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
		}

		// A follower on a broker the metadata no longer lists does not
		// hold the low watermark back.
		s.cache.update(1, 1, []cachedBroker{plainBroker(1, "127.0.0.1", 1)}, nil)
		got = one(deleteRecordsOf(t, s, version, 0, 4))
		if got.ErrorCode != 0 || got.LowWatermark != 4 {
			t.Errorf("v%d: follower not live: %v low %d, want NONE low 4", version, kerr.ErrorForCode(got.ErrorCode), got.LowWatermark)
		}
	}
}
