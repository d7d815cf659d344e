package broker

import (
	"fmt"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var topicIDOffsets = [16]byte{13}

// newMetadataTestServer is broker 3 of live brokers 1-3 (any broker
// answers Metadata from its cache alike), controller 2, auto topic
// creation off, knowing:
//   - t (id 7): 0 led by 1 (epoch 1, ISR [1 2]); 1 led by 2 (epoch 4) with
//     dead broker 4 in its replicas and ISR; 2 led by dead broker 4
//     (epoch 6, replicas [4 3], ISR [4]);
//   - __consumer_offsets (id 13): 0 led by 2.
func newMetadataTestServer(t *testing.T) *Server {
	t.Helper()
	return newTestServer(t, withBrokerID(3), withBrokers(1, 2, 3), withController(2),
		withTopic("t", topicIDT, nil,
			testPartitionState{leader: 1, leaderEpoch: 1, isr: []int32{1, 2}, replicas: []int32{1, 2}},
			testPartitionState{leader: 2, leaderEpoch: 4, isr: []int32{2, 4}, replicas: []int32{2, 4}},
			testPartitionState{leader: 4, leaderEpoch: 6, isr: []int32{4}, replicas: []int32{4, 3}}),
		withTopic(offsetsTopic, topicIDOffsets, nil, testPartitionState{leader: 2, leaderEpoch: 1, isr: []int32{2}, replicas: []int32{2}}),
	)
}

// metadataReq asks for topics by name; nil asks for all (from v1).
func metadataReq(v int16, names ...string) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version, req.AllowAutoTopicCreation = v, true
	if names != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, n := range names {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// metadataByID asks for topics by id (v12+).
func metadataByID(v int16, ids ...[16]byte) *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = v
	for _, id := range ids {
		rt := kmsg.NewMetadataRequestTopic()
		rt.TopicID = id
		req.Topics = append(req.Topics, rt)
	}
	return req
}

// checkMetadataCommon checks what every answer of the test server holds,
// as KafkaApis.handleTopicMetadataRequest builds it: the live brokers'
// endpoints, the controller id from v1, the cluster id from v2, and the
// cluster authorized operations left out (asked only by the rows that
// ask).
func checkMetadataCommon(t *testing.T, v int16, resp *kmsg.MetadataResponse, clusterOps int32) {
	t.Helper()
	brokers := slices.Clone(resp.Brokers)
	slices.SortFunc(brokers, func(a, b kmsg.MetadataResponseBroker) int { return int(a.NodeID - b.NodeID) })
	if len(brokers) != 3 {
		t.Fatalf("brokers %+v, want 1-3", resp.Brokers)
	}
	for i, b := range brokers {
		if id := int32(i + 1); b.NodeID != id || b.Host != "127.0.0.1" || b.Port != id || b.Rack != nil {
			t.Errorf("broker %+v, want %d at 127.0.0.1:%d without rack", b, id, id)
		}
	}
	wantController := int32(-1) // v0 has no controller id
	if v >= 1 {
		wantController = 2
	}
	if resp.ControllerID != wantController {
		t.Errorf("controller %d, want %d", resp.ControllerID, wantController)
	}
	var wantCluster *string
	if v >= 2 {
		wantCluster = kmsg.StringPtr("test-cluster")
	}
	if deref(resp.ClusterID) != deref(wantCluster) || (resp.ClusterID == nil) != (wantCluster == nil) {
		t.Errorf("cluster id %v, want %v", resp.ClusterID, wantCluster)
	}
	if resp.AuthorizedOperations != clusterOps {
		t.Errorf("cluster authorized operations %d, want %d", resp.AuthorizedOperations, clusterOps)
	}
	if resp.ErrorCode != 0 {
		t.Errorf("top-level error %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// metadataPartitionWant is one partition's answer.
type metadataPartitionWant struct {
	err           *kerr.Error
	leader, epoch int32
	replicas, isr []int32
}

// wantTopicT is topic t's partitions at version v
// (ZkMetadataCache.getPartitionMetadata): a dead leader is
// LEADER_NOT_AVAILABLE with leader -1; v0 leaves dead brokers out of the
// replicas and ISR with REPLICA_NOT_AVAILABLE (errorUnavailableEndpoints);
// the leader epoch is on the wire from v7 (KIP-320).
func wantTopicT(v int16) []metadataPartitionWant {
	want := []metadataPartitionWant{
		{leader: 1, epoch: 1, replicas: []int32{1, 2}, isr: []int32{1, 2}},
		{leader: 2, epoch: 4, replicas: []int32{2, 4}, isr: []int32{2, 4}},
		{err: kerr.LeaderNotAvailable, leader: -1, epoch: 6, replicas: []int32{4, 3}, isr: []int32{4}},
	}
	if v == 0 {
		want[1] = metadataPartitionWant{err: kerr.ReplicaNotAvailable, leader: 2, epoch: 4, replicas: []int32{2}, isr: []int32{2}}
		want[2].replicas, want[2].isr = []int32{3}, nil
	}
	if v < 7 {
		for i := range want {
			want[i].epoch = -1
		}
	}
	return want
}

func checkMetadataTopic(t *testing.T, v int16, got kmsg.MetadataResponseTopic, name string, id [16]byte, internal bool,
	ops int32, want []metadataPartitionWant) {
	t.Helper()
	if got.ErrorCode != 0 || deref(got.Topic) != name {
		t.Errorf("topic %q %v, want %q without error", deref(got.Topic), kerr.ErrorForCode(got.ErrorCode), name)
	}
	wantID := [16]byte{} // topic ids from v10 (KIP-516)
	if v >= 10 {
		wantID = id
	}
	if got.TopicID != wantID {
		t.Errorf("topic id %x, want %x", got.TopicID, wantID)
	}
	if got.IsInternal != (internal && v >= 1) {
		t.Errorf("is internal %v, want %v", got.IsInternal, internal && v >= 1)
	}
	if got.AuthorizedOperations != ops {
		t.Errorf("topic authorized operations %d, want %d", got.AuthorizedOperations, ops)
	}
	if len(got.Partitions) != len(want) {
		t.Fatalf("partitions %+v, want %d", got.Partitions, len(want))
	}
	for i, w := range want {
		p := got.Partitions[i]
		if p.Partition != int32(i) || p.ErrorCode != errCode(w.err) || p.Leader != w.leader || p.LeaderEpoch != w.epoch ||
			!slices.Equal(p.Replicas, w.replicas) || !slices.Equal(p.ISR, w.isr) || len(p.OfflineReplicas) != 0 {
			t.Errorf("partition %d: %v leader %d epoch %d replicas %v isr %v offline %v; want %v leader %d epoch %d replicas %v isr %v",
				p.Partition, kerr.ErrorForCode(p.ErrorCode), p.Leader, p.LeaderEpoch, p.Replicas, p.ISR, p.OfflineReplicas,
				w.err, w.leader, w.epoch, w.replicas, w.isr)
		}
	}
}

// checkMetadataMissing checks the answer for a topic that is not served:
// the error, no partitions, no id.
func checkMetadataMissing(t *testing.T, got kmsg.MetadataResponseTopic, name *string, id [16]byte, err *kerr.Error, ops int32) {
	t.Helper()
	if got.ErrorCode != err.Code || deref(got.Topic) != deref(name) || (got.Topic == nil) != (name == nil) ||
		got.TopicID != id || len(got.Partitions) != 0 || got.IsInternal || got.AuthorizedOperations != ops {
		t.Errorf("topic %+v (name %v), want %v for %v id %x, authorized operations %d", got, deref(got.Topic), err, deref(name), id, ops)
	}
}

// Metadata at every version (0-12), decoded from the response bytes.
func TestMetadataVersions(t *testing.T) {
	const omitted = authorizedOperationsOmitted
	type row struct {
		name       string
		minV, maxV int16
		run        func(t *testing.T, s *Server, v int16)
	}
	rows := []row{
		// MetadataRequest.isAllTopics: null topics from v1, an empty
		// list at v0.
		{"all topics", 0, 12, func(t *testing.T, s *Server, v int16) {
			req := metadataReq(v)
			if v == 0 {
				req.Topics = []kmsg.MetadataRequestTopic{}
			}
			resp := dispatchRequest(t, s, req).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			if len(resp.Topics) != 2 {
				t.Fatalf("topics %+v, want t and %s", resp.Topics, offsetsTopic)
			}
			for _, rt := range resp.Topics {
				switch deref(rt.Topic) {
				case "t":
					checkMetadataTopic(t, v, rt, "t", topicIDT, false, omitted, wantTopicT(v))
				case offsetsTopic:
					epoch := int32(-1)
					if v >= 7 {
						epoch = 1
					}
					checkMetadataTopic(t, v, rt, offsetsTopic, topicIDOffsets, true, omitted,
						[]metadataPartitionWant{{leader: 2, epoch: epoch, replicas: []int32{2}, isr: []int32{2}}})
				default:
					t.Errorf("topic %q", deref(rt.Topic))
				}
			}
		}},
		{"no topics", 1, 12, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataReq(v, []string{}...)).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			if len(resp.Topics) != 0 {
				t.Errorf("topics %+v, want none", resp.Topics)
			}
		}},
		{"one topic", 0, 12, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataReq(v, "t")).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			if len(resp.Topics) != 1 {
				t.Fatalf("topics %+v, want t", resp.Topics)
			}
			checkMetadataTopic(t, v, resp.Topics[0], "t", topicIDT, false, omitted, wantTopicT(v))
		}},
		// KafkaApis.getTopicMetadata with auto creation off (or not
		// allowed): UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION
		// for a name Topic.validate refuses.
		{"unknown topic", 0, 12, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataReq(v, "nosuch")).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			checkMetadataMissing(t, resp.Topics[0], kmsg.StringPtr("nosuch"), [16]byte{}, kerr.UnknownTopicOrPartition, omitted)
		}},
		{"invalid topic name", 0, 12, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataReq(v, "no/such")).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			checkMetadataMissing(t, resp.Topics[0], kmsg.StringPtr("no/such"), [16]byte{}, kerr.InvalidTopicException, omitted)
		}},
		// handleTopicMetadataRequest (KIP-430, v8+): without an authorizer
		// every supported operation; the cluster's only up to v10 (KIP-700).
		{"authorized operations", 8, 12, func(t *testing.T, s *Server, v int16) {
			req := metadataReq(v, "t", "nosuch")
			req.IncludeTopicAuthorizedOperations = true
			req.IncludeClusterAuthorizedOperations = true
			resp := dispatchRequest(t, s, req).(*kmsg.MetadataResponse)
			clusterOps := int32(omitted)
			if v <= 10 {
				clusterOps = allClusterOperations
			}
			checkMetadataCommon(t, v, resp, clusterOps)
			if len(resp.Topics) != 2 {
				t.Fatalf("topics %+v", resp.Topics)
			}
			for _, rt := range resp.Topics {
				if deref(rt.Topic) == "t" {
					checkMetadataTopic(t, v, rt, "t", topicIDT, false, allTopicOperations, wantTopicT(v))
				} else {
					checkMetadataMissing(t, rt, kmsg.StringPtr("nosuch"), [16]byte{}, kerr.UnknownTopicOrPartition, allTopicOperations)
				}
			}
		}},
		// v12 (KIP-516): topics by id; an unknown id is UNKNOWN_TOPIC_ID
		// without a name (unknownTopicIdsTopicMetadata).
		{"by topic id", 12, 12, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataByID(v, topicIDT)).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			if len(resp.Topics) != 1 {
				t.Fatalf("topics %+v", resp.Topics)
			}
			checkMetadataTopic(t, v, resp.Topics[0], "t", topicIDT, false, omitted, wantTopicT(v))

			resp = dispatchRequest(t, s, metadataByID(v, [16]byte{99})).(*kmsg.MetadataResponse)
			checkMetadataCommon(t, v, resp, omitted)
			if len(resp.Topics) != 1 {
				t.Fatalf("topics %+v", resp.Topics)
			}
			checkMetadataMissing(t, resp.Topics[0], nil, [16]byte{99}, kerr.UnknownTopicID, omitted)
		}},
		// Below v12 a topic id is InvalidRequestException, answered by
		// MetadataRequest.getErrorResponse for every topic.
		{"topic id below v12", 10, 11, func(t *testing.T, s *Server, v int16) {
			resp := dispatchRequest(t, s, metadataByID(v, topicIDT)).(*kmsg.MetadataResponse)
			if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != kerr.InvalidRequest.Code {
				t.Fatalf("topics %+v, want one INVALID_REQUEST", resp.Topics)
			}
		}},
	}
	for v := int16(0); v <= 12; v++ {
		for _, r := range rows {
			if v < r.minV || v > r.maxV {
				continue
			}
			t.Run(fmt.Sprintf("v%d/%s", v, r.name), func(t *testing.T) {
				r.run(t, newMetadataTestServer(t), v)
			})
		}
	}
}
