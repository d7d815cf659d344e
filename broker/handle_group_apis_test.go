package broker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
)

// memOffsetsStore is an in-memory __consumer_offsets for handler tests
// that need a working coordinator but no replicas.
type memOffsetsStore struct {
	mu       sync.Mutex
	batches  map[int32][]group.Batch
	next     map[int32]int64
	loadGate chan struct{} // if set, Load waits for it to close
}

func (s *memOffsetsStore) Append(p int32, records []group.Record, _ bool) (int64, func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.next[p]
	s.batches[p] = append(s.batches[p], group.Batch{BaseOffset: base, ProducerID: -1, Records: records})
	s.next[p] = base + int64(len(records))
	return base, func(context.Context) error { return nil }, nil
}

func (s *memOffsetsStore) AppendTransactional(p int32, producer group.TxnProducer, records []group.Record) (int64, func(context.Context) error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.next[p]
	s.batches[p] = append(s.batches[p], group.Batch{BaseOffset: base, ProducerID: producer.ID, Transactional: true, Records: records})
	s.next[p] = base + int64(len(records))
	return base, func(context.Context) error { return nil }, nil
}

func (s *memOffsetsStore) Load(ctx context.Context, p int32, fn func(group.Batch) error) error {
	s.mu.Lock()
	gate := s.loadGate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	batches := append([]group.Batch(nil), s.batches[p]...)
	s.mu.Unlock()
	for _, b := range batches {
		if err := fn(b); err != nil {
			return err
		}
	}
	return nil
}

// newGroupTestServer is a server with a metadata cache (broker 0, the
// given topics with their partition counts, and a one-partition
// __consumer_offsets led by broker 0) and a coordinator that owns the
// offsets partition. cfg adjusts the coordinator's settings.
func newGroupTestServer(t *testing.T, topics map[string]int32, cfg func(*group.Config)) *Server {
	t.Helper()
	s, _ := newGroupTestServerWithStore(t, topics, cfg)
	return s
}

// newGroupTestServerWithStore is newGroupTestServer also returning the
// coordinator's store.
func newGroupTestServerWithStore(t *testing.T, topics map[string]int32, cfg func(*group.Config)) (*Server, *memOffsetsStore) {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	s := &Server{cfg: DefaultConfig(), logger: logger, cache: newMetadataCache()}
	parts := []partitionUpdate{{Topic: offsetsTopic, TopicID: [16]byte{9}, Partition: 0,
		State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}}}
	id := byte(1)
	for name, n := range topics {
		for p := range n {
			parts = append(parts, partitionUpdate{Topic: name, TopicID: [16]byte{id}, Partition: p,
				State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}})
		}
		id++
	}
	s.cache.update(0, 1, []cachedBroker{plainBroker(0, "127.0.0.1", 9092)}, parts)
	gc := group.DefaultConfig()
	gc.NumPartitions = 1
	gc.RetentionCheck = 0
	if cfg != nil {
		cfg(&gc)
	}
	store := &memOffsetsStore{batches: map[int32][]group.Batch{}, next: map[int32]int64{}}
	s.groups = group.New(gc, store, nil, logger)
	s.groups.Start(1)
	t.Cleanup(s.groups.Close)
	s.groups.Elected(0, 0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err, _ := s.groups.FetchOffsets("probe", false, nil); err == nil {
			return s, store
		}
		if time.Now().After(deadline) {
			t.Fatal("the coordinator did not load its partition")
		}
		time.Sleep(time.Millisecond)
	}
}

// OffsetFetch lists each topic once, with each partition once, even when
// the request names a topic (or a partition) in several places.
func TestOffsetFetchListsEachTopicOnce(t *testing.T) {
	s := newGroupTestServer(t, map[string]int32{"t": 3, "u": 1}, nil)
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 8, "g", -1
	for _, tp := range []struct {
		topic string
		p     int32
	}{{"t", 0}, {"t", 1}, {"t", 2}, {"u", 0}} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = tp.topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = tp.p, int64(10*tp.p+1)
		rt.Partitions = append(rt.Partitions, rp)
		commit.Topics = append(commit.Topics, rt)
	}
	cresp := s.handleOffsetCommit(context.Background(), commit).(*kmsg.OffsetCommitResponse)
	for _, rt := range cresp.Topics {
		for _, rp := range rt.Partitions {
			if rp.ErrorCode != 0 {
				t.Fatalf("commit %s-%d: %v", rt.Topic, rp.Partition, kerr.ErrorForCode(rp.ErrorCode))
			}
		}
	}
	// t-0, u-0, then t-2 and t-0 again.
	request := []struct {
		topic string
		parts []int32
	}{{"t", []int32{0}}, {"u", []int32{0}}, {"t", []int32{2, 0}}}
	want := map[string][]int32{"t": {0, 2}, "u": {0}}
	check := func(what string, topics []string, parts func(i int) []int32, offsets func(i, j int) int64) {
		t.Helper()
		if len(topics) != 2 || topics[0] != "t" || topics[1] != "u" {
			t.Fatalf("%s: topics %v, want [t u]", what, topics)
		}
		for i, topic := range topics {
			got := parts(i)
			if len(got) != len(want[topic]) {
				t.Fatalf("%s: %s partitions %v, want %v", what, topic, got, want[topic])
			}
			for j, p := range got {
				if p != want[topic][j] || offsets(i, j) != int64(10*p+1) {
					t.Fatalf("%s: %s partitions %v, want %v", what, topic, got, want[topic])
				}
			}
		}
	}
	for _, version := range []int16{1, 7} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.Group = version, "g"
		for _, rt := range request {
			ft := kmsg.NewOffsetFetchRequestTopic()
			ft.Topic, ft.Partitions = rt.topic, rt.parts
			req.Topics = append(req.Topics, ft)
		}
		resp := s.handleOffsetFetch(req).(*kmsg.OffsetFetchResponse)
		var topics []string
		for _, rt := range resp.Topics {
			topics = append(topics, rt.Topic)
		}
		check(fmt.Sprintf("v%d", version), topics,
			func(i int) []int32 {
				var ps []int32
				for _, p := range resp.Topics[i].Partitions {
					ps = append(ps, p.Partition)
				}
				return ps
			},
			func(i, j int) int64 { return resp.Topics[i].Partitions[j].Offset })
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 8
	rg := kmsg.NewOffsetFetchRequestGroup()
	rg.Group = "g"
	for _, rt := range request {
		ft := kmsg.NewOffsetFetchRequestGroupTopic()
		ft.Topic, ft.Partitions = rt.topic, rt.parts
		rg.Topics = append(rg.Topics, ft)
	}
	req.Groups = append(req.Groups, rg)
	resp := s.handleOffsetFetch(req).(*kmsg.OffsetFetchResponse)
	if len(resp.Groups) != 1 {
		t.Fatalf("v8: %d groups", len(resp.Groups))
	}
	g := resp.Groups[0]
	var topics []string
	for _, rt := range g.Topics {
		topics = append(topics, rt.Topic)
	}
	check("v8", topics,
		func(i int) []int32 {
			var ps []int32
			for _, p := range g.Topics[i].Partitions {
				ps = append(ps, p.Partition)
			}
			return ps
		},
		func(i, j int) int64 { return g.Topics[i].Partitions[j].Offset })
}

// OffsetDelete needs a group id (GroupCoordinator.isValidGroupId).
func TestOffsetDeleteEmptyGroupID(t *testing.T) {
	s := newGroupTestServer(t, map[string]int32{"t": 1}, nil)
	req := kmsg.NewPtrOffsetDeleteRequest()
	rt := kmsg.NewOffsetDeleteRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewOffsetDeleteRequestTopicPartition()
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.handleOffsetDelete(req).(*kmsg.OffsetDeleteResponse)
	if resp.ErrorCode != kerr.InvalidGroupID.Code || len(resp.Topics) != 0 {
		t.Fatalf("OffsetDelete of the empty group id: %v %+v", kerr.ErrorForCode(resp.ErrorCode), resp.Topics)
	}
}

// FindCoordinator per version (KafkaApis.handleFindCoordinatorRequest):
// before v4 an error answer is FindCoordinatorRequest.getErrorResponse
// (the error's own message, no node) and a found coordinator carries
// Errors.NONE's message "NONE"; from v4 each key's answer leaves the
// message at the schema's default "" (not null), except when the request
// fails as a whole (an unknown key type: InvalidRequestException), where
// every key carries the error's message. Key type 2 (share) needs v6:
// INVALID_REQUEST for the key.
func TestFindCoordinatorErrorMessages(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		keyType    int8
		leaderless bool // __consumer_offsets has no leader
		wantErr    *kerr.Error
		wantV4Msg  string
	}{
		{keyType: 0, wantErr: nil},
		{keyType: 1, wantErr: kerr.CoordinatorNotAvailable}, // this test server has no transaction coordinator
		{keyType: 2, wantErr: kerr.InvalidRequest},
		{keyType: 7, wantErr: kerr.InvalidRequest, wantV4Msg: kerr.InvalidRequest.Description},
		{keyType: 0, leaderless: true, wantErr: kerr.CoordinatorNotAvailable},
	} {
		s := newGroupTestServer(t, nil, nil)
		if tc.leaderless {
			s.cache.update(0, 2, []cachedBroker{plainBroker(0, "127.0.0.1", 9092)}, []partitionUpdate{{Topic: offsetsTopic,
				TopicID: [16]byte{9}, Partition: 0, State: cachedPartition{Leader: -1, ISR: []int32{}, Replicas: []int32{0}}}})
		}
		handle := func(r kmsg.Request) kmsg.Response {
			return s.handleFindCoordinator(ctx, r.(*kmsg.FindCoordinatorRequest))
		}
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.Version, req.CoordinatorType, req.CoordinatorKeys = 4, tc.keyType, []string{"a", "b"}
		resp := roundTrip(t, req, handle).(*kmsg.FindCoordinatorResponse)
		if len(resp.Coordinators) != 2 {
			t.Fatalf("type %d: %d coordinators", tc.keyType, len(resp.Coordinators))
		}
		for _, c := range resp.Coordinators {
			if c.ErrorCode != errCode(tc.wantErr) {
				t.Fatalf("type %d key %s: %v, want %v", tc.keyType, c.Key, kerr.ErrorForCode(c.ErrorCode), tc.wantErr)
			}
			if c.ErrorMessage == nil || *c.ErrorMessage != tc.wantV4Msg {
				t.Fatalf("type %d key %s: message %v, want %q", tc.keyType, c.Key, c.ErrorMessage, tc.wantV4Msg)
			}
			switch {
			case tc.wantErr == nil && (c.NodeID != 0 || c.Host != "127.0.0.1" || c.Port != 9092):
				t.Fatalf("type %d key %s: %+v, want node 0", tc.keyType, c.Key, c)
			case tc.wantErr != nil && (c.NodeID != -1 || c.Host != "" || c.Port != -1):
				t.Fatalf("type %d key %s: %+v, want no node", tc.keyType, c.Key, c)
			}
		}
		for v := int16(0); v < 4; v++ {
			if v == 0 && tc.keyType != 0 {
				continue // v0 has no key type
			}
			old := kmsg.NewPtrFindCoordinatorRequest()
			old.Version, old.CoordinatorType, old.CoordinatorKey = v, tc.keyType, "a"
			oresp := roundTrip(t, old, handle).(*kmsg.FindCoordinatorResponse)
			wantMsg := "NONE"
			if tc.wantErr != nil {
				wantMsg = tc.wantErr.Description
			}
			if oresp.ErrorCode != errCode(tc.wantErr) || (v >= 1 && (oresp.ErrorMessage == nil || *oresp.ErrorMessage != wantMsg)) {
				t.Fatalf("type %d v%d: %+v (message %v), want %v %q", tc.keyType, v, oresp, deref(oresp.ErrorMessage), tc.wantErr, wantMsg)
			}
		}
	}
}
