package broker

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// knowPartition gives topic t's partition a state in the metadata cache,
// as the controller's UpdateMetadata does after its LeaderAndIsr; the live
// brokers stay.
func knowPartition(c *metadataCache, partition, leader, leaderEpoch int32, isr, replicas []int32) {
	c.mu.RLock()
	controllerID, controllerEpoch := c.controllerID, c.controllerEpoch
	c.mu.RUnlock()
	c.update(controllerID, controllerEpoch, c.liveBrokers(), []partitionUpdate{{Topic: "t", TopicID: [16]byte{7},
		Partition: partition, State: cachedPartition{Leader: leader, LeaderEpoch: leaderEpoch, ISR: isr, Replicas: replicas}}})
}

func produceCode(s *Server) int16 {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 1000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = testBatch(1)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return s.handleProduce(context.Background(), req, false).(*kmsg.ProduceResponse).Topics[0].Partitions[0].ErrorCode
}

func fetchPartition(s *Server, version int16, replica, currentEpoch int32) kmsg.FetchResponseTopicPartition {
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = version, replica, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = currentEpoch, -1, -1, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, _, _, _, _ := s.readFetch(req, replica, true)
	return resp.Topics[0].Partitions[0]
}

func listOffsetsCode(s *Server) int16 {
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = 4, -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = latestTimestamp
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return s.handleListOffsets(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0].ErrorCode
}

func deleteRecordsCode(s *Server) int16 {
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Offset = deleteRecordsToHighWatermark
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 0 // no waiting for followers' log starts
	return s.handleDeleteRecords(context.Background(), req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0].ErrorCode
}

func offsetForLeaderEpochCode(s *Server, currentEpoch int32) int16 {
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.Version, req.ReplicaID = 3, -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.CurrentLeaderEpoch, rp.LeaderEpoch = currentEpoch, 1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return s.handleOffsetForLeaderEpoch(req).(*kmsg.OffsetForLeaderEpochResponse).Topics[0].Partitions[0].ErrorCode
}

// The answer for a partition this broker cannot serve follows
// ReplicaManager.getPartitionOrError (KAFKA_STORAGE_ERROR when hosted
// offline, NOT_LEADER_OR_FOLLOWER when the metadata cache knows it, else
// UNKNOWN_TOPIC_OR_PARTITION) and Partition.getLocalLog (current leader
// epoch first, then leadership), after the checks each KafkaApis handler
// makes first: Produce, Fetch and DeleteRecords answer
// UNKNOWN_TOPIC_OR_PARTITION for a partition the metadata cache does not
// know (metadataCache.contains), ListOffsets and OffsetForLeaderEpoch ask
// the replica manager directly. Fetch v11+ from a consumer may read a
// follower (FetchParams.fetchOnlyLeader); Fetch v5 and older gets
// NOT_LEADER_OR_FOLLOWER for KAFKA_STORAGE_ERROR
// (KafkaApis.maybeDownConvertStorageError).
func TestNotHostedPartitionAnswers(t *testing.T) {
	const (
		none      = 0
		unknown   = 3  // UNKNOWN_TOPIC_OR_PARTITION
		notLeader = 6  // NOT_LEADER_OR_FOLLOWER
		fenced    = 74 // FENCED_LEADER_EPOCH
		storage   = 56 // KAFKA_STORAGE_ERROR
		timedOut  = 7  // REQUEST_TIMED_OUT
	)
	type answers struct {
		produce, fetchConsumer, fetchConsumerV10, fetchConsumerV5, fetchReplica, listOffsets, deleteRecords, offsetForLeaderEpoch int16
		fetchStaleEpoch, offsetForLeaderEpochStaleEpoch                                                                           int16
	}
	cases := []struct {
		name  string
		known bool  // in the metadata cache
		host  int32 // 0: not hosted; else the leader of the LeaderAndIsr this broker (1) gets
		fail  bool  // the log cannot be created: hosted offline
		want  answers
	}{
		{name: "unknown", want: answers{unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown}},
		{name: "known, not hosted", known: true,
			want: answers{notLeader, notLeader, notLeader, notLeader, notLeader, notLeader, notLeader, notLeader, notLeader, notLeader}},
		{name: "hosted follower", known: true, host: 2,
			want: answers{notLeader, none, notLeader, notLeader, notLeader, notLeader, notLeader, notLeader, fenced, fenced}},
		{name: "hosted offline", known: true, host: 1, fail: true,
			want: answers{storage, storage, storage, notLeader, storage, storage, storage, storage, storage, storage}},
		{name: "hosted offline, not in metadata", host: 1, fail: true,
			want: answers{unknown, unknown, unknown, unknown, unknown, storage, unknown, storage, unknown, storage}},
		// DeleteRecords on the leader waits for follower 2's log start,
		// unknown (its fetch reported -1): DelayedDeleteRecords times out.
		{name: "leader", known: true, host: 1,
			want: answers{none, none, none, none, none, none, timedOut, none, fenced, fenced}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newReplicaTestServer(t, 1, dir)
			if tc.fail {
				if err := os.WriteFile(filepath.Join(dir, "t-0"), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tc.host != 0 {
				// Leader epoch 2, so that a request in epoch 1 is fenced.
				err := leaderAndIsrOnly(t, s, 0, tc.host, 2, []int32{1, 2}, []int32{1, 2})
				if tc.fail != (err != nil) {
					t.Fatalf("LeaderAndIsr: %v", err)
				}
				s.replicas.fetchers.remove([]topicPartition{{"t", 0}})
			}
			if tc.known {
				leader := tc.host
				if leader == 0 {
					leader = 2
				}
				knowPartition(s.cache, 0, leader, 2, []int32{1, 2}, []int32{1, 2})
			}
			got := answers{
				produce:                        produceCode(s),
				fetchConsumer:                  fetchPartition(s, 12, -1, -1).ErrorCode,
				fetchConsumerV10:               fetchPartition(s, 10, -1, -1).ErrorCode,
				fetchConsumerV5:                fetchPartition(s, 5, -1, -1).ErrorCode,
				fetchReplica:                   fetchPartition(s, 12, 2, -1).ErrorCode,
				listOffsets:                    listOffsetsCode(s),
				deleteRecords:                  deleteRecordsCode(s),
				offsetForLeaderEpoch:           offsetForLeaderEpochCode(s, -1),
				fetchStaleEpoch:                fetchPartition(s, 12, -1, 1).ErrorCode,
				offsetForLeaderEpochStaleEpoch: offsetForLeaderEpochCode(s, 1),
			}
			if got != tc.want {
				t.Errorf("answers\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A fetch answered with an error carries no offsets: high watermark, last
// stable offset and log start offset are -1 (FetchResponse.partitionResponse,
// ReplicaManager.createLogReadResult), and so is a failed produce's base
// offset (PartitionResponse(error), LogAppendInfo.UNKNOWN_LOG_APPEND_INFO).
func TestErrorAnswersCarryNoOffsets(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 2, 1, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	s.replicas.fetchers.remove([]topicPartition{{"t", 0}})
	for _, version := range []int16{5, 10, 12} {
		got := fetchPartition(s, version, 2, -1)
		if got.ErrorCode != kerr.NotLeaderForPartition.Code || got.HighWatermark != -1 || got.LastStableOffset != -1 || got.LogStartOffset != -1 {
			t.Errorf("v%d fetch from a follower: %+v, want NOT_LEADER_OR_FOLLOWER and offsets -1", version, got)
		}
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks = 9, 1
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = testBatch(1)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	got := s.handleProduce(context.Background(), req, false).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
	if got.ErrorCode != kerr.NotLeaderForPartition.Code || got.BaseOffset != -1 || got.LogStartOffset != -1 || got.LogAppendTime != -1 || got.ErrorMessage != nil {
		t.Errorf("produce to a follower: %+v, want NOT_LEADER_OR_FOLLOWER, offsets -1, no message", got)
	}
}

// DeleteRecords refuses, in Kafka's order, a partition the metadata cache
// does not know (KafkaApis.handleDeleteRecordsRequest), an internal topic
// (ReplicaManager.deleteRecordsOnLocalLog: INVALID_TOPIC_EXCEPTION), a
// follower and a topic whose cleanup.policy lacks delete
// (Partition.deleteRecordsOnLeader: POLICY_VIOLATION).
func TestDeleteRecordsChecks(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 1, []int32{1}, []int32{1}); err != nil {
		t.Fatal(err)
	}
	deleteCode := func(topic string) int16 {
		req := kmsg.NewPtrDeleteRecordsRequest()
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Offset = deleteRecordsToHighWatermark
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		out := s.handleDeleteRecords(context.Background(), req).(*kmsg.DeleteRecordsResponse).Topics[0].Partitions[0]
		if out.ErrorCode != 0 && out.LowWatermark != -1 {
			t.Errorf("%s: low watermark %d with error %d, want -1", topic, out.LowWatermark, out.ErrorCode)
		}
		return out.ErrorCode
	}
	if got := deleteCode("__consumer_offsets"); got != kerr.UnknownTopicOrPartition.Code {
		t.Errorf("internal topic unknown to the metadata cache: %v, want UNKNOWN_TOPIC_OR_PARTITION", kerr.ErrorForCode(got))
	}
	s.cache.update(1, 1, []cachedBroker{plainBroker(1, "127.0.0.1", 1)}, []partitionUpdate{
		{Topic: "__consumer_offsets", TopicID: [16]byte{8}, Partition: 0, State: cachedPartition{Leader: 1, LeaderEpoch: 1, ISR: []int32{1}, Replicas: []int32{1}}},
		{Topic: "t", TopicID: [16]byte{7}, Partition: 0, State: cachedPartition{Leader: 1, LeaderEpoch: 1, ISR: []int32{1}, Replicas: []int32{1}}},
	})
	if got := deleteCode("__consumer_offsets"); got != kerr.InvalidTopicException.Code {
		t.Errorf("internal topic: %v, want INVALID_TOPIC_EXCEPTION", kerr.ErrorForCode(got))
	}
	if got := deleteCode("t"); got != 0 {
		t.Errorf("leader, cleanup.policy=delete: %v, want none", kerr.ErrorForCode(got))
	}
	cfg := s.logs.DefaultConfig()
	cfg.CleanupPolicy = []string{"compact"}
	s.logs.SetTopicConfig("t", cfg)
	if got := deleteCode("t"); got != kerr.PolicyViolation.Code {
		t.Errorf("leader, cleanup.policy=compact: %v, want POLICY_VIOLATION", kerr.ErrorForCode(got))
	}
}

// NOT_LEADER_OR_FOLLOWER (Produce v10+; Fetch v16+, also
// FENCED_LEADER_EPOCH) names the current leader and its epoch, and the
// response carries that broker's endpoint (KIP-951,
// KafkaApis.getCurrentLeader): the hosted partition's leader, else the
// metadata cache's.
func TestNotLeaderAnswersCurrentLeader(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsrOnly(t, s, 0, 2, 2, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	s.replicas.fetchers.remove([]topicPartition{{"t", 0}})
	// The metadata cache is a step behind: the hosted state wins.
	knowPartition(s.cache, 0, 3, 1, []int32{1, 3}, []int32{1, 3})
	s.cache.update(1, 1, []cachedBroker{plainBroker(1, "h1", 1), plainBroker(2, "h2", 2), plainBroker(3, "h3", 3)},
		[]partitionUpdate{{Topic: "u", TopicID: [16]byte{8}, Partition: 0, State: cachedPartition{Leader: 3, LeaderEpoch: 5, ISR: []int32{3}, Replicas: []int32{3}}}})
	produce := func(version int16, topic string) *kmsg.ProduceResponse {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = version, 1
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = testBatch(1)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return s.handleProduce(context.Background(), req, false).(*kmsg.ProduceResponse)
	}
	fetch := func(version int16, replica, currentEpoch int32, topic string) *kmsg.FetchResponse {
		req := kmsg.NewPtrFetchRequest()
		req.Version, req.ReplicaID, req.MaxBytes = version, replica, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = topic, [16]byte{7} // v13+: by topic ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = currentEpoch, -1, -1, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, _, _, _, _ := s.readFetch(req, replica, true)
		return resp
	}
	type leader struct {
		code          int16
		id, epoch     int32
		brokers       []int32
		brokerAddress string
	}
	nl, fenced := kerr.NotLeaderForPartition.Code, kerr.FencedLeaderEpoch.Code
	cases := []struct {
		name string
		got  func() leader
		want leader
	}{
		{"produce v10, hosted follower", func() leader {
			r := produce(10, "t")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, produceBrokers(r), produceAddress(r)}
		}, leader{nl, 2, 2, []int32{2}, "h2:2"}},
		{"produce v9", func() leader {
			r := produce(9, "t")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, produceBrokers(r), produceAddress(r)}
		}, leader{nl, -1, -1, nil, ""}},
		{"produce v10, not hosted", func() leader {
			r := produce(10, "u")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, produceBrokers(r), produceAddress(r)}
		}, leader{nl, 3, 5, []int32{3}, "h3:3"}},
		{"fetch v16 from a replica", func() leader {
			r := fetch(16, 3, -1, "t")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, fetchBrokers(r), fetchAddress(r)}
		}, leader{nl, 2, 2, []int32{2}, "h2:2"}},
		{"fetch v16, fenced", func() leader {
			r := fetch(16, -1, 1, "t")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, fetchBrokers(r), fetchAddress(r)}
		}, leader{fenced, 2, 2, []int32{2}, "h2:2"}},
		{"fetch v15", func() leader {
			r := fetch(15, 3, -1, "t")
			p := r.Topics[0].Partitions[0]
			return leader{p.ErrorCode, p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch, fetchBrokers(r), fetchAddress(r)}
		}, leader{nl, -1, -1, nil, ""}},
	}
	for _, c := range cases {
		got := c.got()
		if got.code != c.want.code || got.id != c.want.id || got.epoch != c.want.epoch || !slices.Equal(got.brokers, c.want.brokers) || got.brokerAddress != c.want.brokerAddress {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func produceBrokers(r *kmsg.ProduceResponse) []int32 {
	var ids []int32
	for _, b := range r.Brokers {
		ids = append(ids, b.NodeID)
	}
	return ids
}

func produceAddress(r *kmsg.ProduceResponse) string {
	if len(r.Brokers) == 0 {
		return ""
	}
	return net.JoinHostPort(r.Brokers[0].Host, strconv.Itoa(int(r.Brokers[0].Port)))
}

func fetchBrokers(r *kmsg.FetchResponse) []int32 {
	var ids []int32
	for _, b := range r.Brokers {
		ids = append(ids, b.NodeID)
	}
	return ids
}

func fetchAddress(r *kmsg.FetchResponse) string {
	if len(r.Brokers) == 0 {
		return ""
	}
	return net.JoinHostPort(r.Brokers[0].Host, strconv.Itoa(int(r.Brokers[0].Port)))
}

// Produce v3+ records are checked as ProduceRequest.validateRecords does in
// KafkaApis.handleProduceRequest: after the metadata cache, before the acks
// and the replica manager (a follower answers the record error, not
// NOT_LEADER_OR_FOLLOWER).
func TestProduceValidateRecordsFirst(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 2, 1, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	s.replicas.fetchers.remove([]topicPartition{{"t", 0}})
	withAttributes := func(b []byte, attrs byte) []byte { b = slices.Clone(b); b[22] = attrs; return b }
	withMagic := func(b []byte, magic byte) []byte { b = slices.Clone(b); b[16] = magic; return b }
	one := testBatch(1)
	tooShort := make([]byte, 12)
	tooShort[11] = 13 // batch length 13 < 14 (LegacyRecord.RECORD_OVERHEAD_V0)
	badMagic := withMagic(one, 3)
	cases := []struct {
		name    string
		topic   string
		version int16
		acks    int16
		records []byte
		want    int16
	}{
		{"unknown partition first", "nope", 3, 1, nil, kerr.UnknownTopicOrPartition.Code},
		{"no batch", "t", 3, 1, nil, kerr.InvalidRecord.Code},
		{"no complete batch", "t", 3, 1, one[:20], kerr.InvalidRecord.Code},
		{"batch length too small", "t", 3, 1, tooShort, kerr.CorruptMessage.Code},
		{"unknown magic", "t", 3, 1, badMagic, kerr.CorruptMessage.Code},
		{"magic 1", "t", 3, 1, withMagic(one, 1), kerr.InvalidRecord.Code},
		{"two batches", "t", 3, 1, append(slices.Clone(one), one...), kerr.InvalidRecord.Code},
		{"zstd before v7", "t", 6, 1, withAttributes(one, 4), kerr.UnsupportedCompressionType.Code},
		{"records before acks", "t", 3, 2, nil, kerr.InvalidRecord.Code},
		{"zstd from v7", "t", 7, 1, withAttributes(one, 4), kerr.NotLeaderForPartition.Code},
		{"partial second batch", "t", 3, 1, append(slices.Clone(one), one[:30]...), kerr.NotLeaderForPartition.Code},
		{"valid", "t", 3, 1, one, kerr.NotLeaderForPartition.Code},
		{"valid, bad acks", "t", 3, 2, one, kerr.InvalidRequiredAcks.Code},
		{"v2 is not checked", "t", 2, 1, nil, kerr.NotLeaderForPartition.Code},
	}
	for _, c := range cases {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks = c.version, c.acks
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = c.topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = c.records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		got := s.handleProduce(context.Background(), req, false).(*kmsg.ProduceResponse).Topics[0].Partitions[0]
		if got.ErrorCode != c.want || got.ErrorMessage != nil {
			t.Errorf("%s: %v (message %v), want %v", c.name, kerr.ErrorForCode(got.ErrorCode), got.ErrorMessage, kerr.ErrorForCode(c.want))
		}
	}
}

// Fetch answers the partitions the replica manager read first, in request
// order, and those refused before it after them (KafkaApis.handleFetchRequest
// adds `erroneous` last; FetchResponse.toMessage groups consecutive
// partitions of one topic, whichever request entry they came from).
func TestFetchRefusedPartitionsLast(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	for p := range int32(2) {
		if err := leaderAndIsr(t, s, p, 1, 1, []int32{1}, []int32{1}); err != nil {
			t.Fatal(err)
		}
	}
	req := kmsg.NewPtrFetchRequest()
	req.Version, req.ReplicaID, req.MaxBytes = 12, -1, 1<<20
	for _, tp := range []struct {
		topic      string
		partitions []int32
	}{{"t", []int32{9, 0}}, {"x", []int32{0}}, {"t", []int32{1}}} {
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = tp.topic
		for _, p := range tp.partitions {
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.Partition, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = p, -1, -1, -1, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, records, _, _, _ := s.readFetch(req, -1, true)
	var got []string
	for i, rt := range resp.Topics {
		var ps []string
		for j, p := range rt.Partitions {
			ps = append(ps, strconv.Itoa(int(p.Partition))+":"+strconv.Itoa(int(p.ErrorCode)))
			_ = records[i][j] // aligned with the response
		}
		got = append(got, rt.Topic+"["+strings.Join(ps, " ")+"]")
	}
	// t-0 and t-1, then the refused t-9 (joining t's entry) and x-0.
	want := "t[0:0 1:0 9:3] x[0:3]"
	if strings.Join(got, " ") != want {
		t.Errorf("response order %s, want %s", strings.Join(got, " "), want)
	}
}
