package broker

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// roundTrip sends req at its version as a client would: the request is
// encoded and decoded with kmsg at that version, answered by handle, and
// the response encoded and decoded back at that version.
func roundTrip(t *testing.T, req kmsg.Request, handle func(kmsg.Request) kmsg.Response) kmsg.Response {
	t.Helper()
	v := req.GetVersion()
	if vr := supportedAPIs[kmsg.Key(req.Key())]; v < vr.min || v > vr.max {
		t.Fatalf("%s v%d not advertised (%d-%d)", kmsg.NameForKey(req.Key()), v, vr.min, vr.max)
	}
	decoded := kmsg.RequestForKey(req.Key())
	decoded.SetVersion(v)
	if err := decoded.ReadFrom(req.AppendTo(nil)); err != nil {
		t.Fatalf("%s v%d request: %v", kmsg.NameForKey(req.Key()), v, err)
	}
	resp := handle(decoded)
	if resp.GetVersion() != v {
		t.Fatalf("%s response version %d, want %d", kmsg.NameForKey(req.Key()), resp.GetVersion(), v)
	}
	got := decoded.ResponseKind()
	got.SetVersion(v)
	if err := got.ReadFrom(resp.AppendTo(nil)); err != nil {
		t.Fatalf("%s v%d response: %v", kmsg.NameForKey(req.Key()), v, err)
	}
	return got
}

// newCacheTestServer is a server with only a metadata cache: brokers 0
// and 1 live, the given controller, topic "t" with one partition led by 0.
func newCacheTestServer(t *testing.T, controller int32) *Server {
	t.Helper()
	s := &Server{cfg: DefaultConfig(), logger: slog.New(slog.DiscardHandler), cache: newMetadataCache(), clusterID: "cid"}
	s.cache.update(controller, 1, []cachedBroker{plainBroker(0, "h0", 9092), plainBroker(1, "h1", 9093)},
		[]partitionUpdate{{Topic: "t", TopicID: [16]byte{1}, Partition: 0,
			State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}}})
	return s
}

// DescribeCluster as AuthHelper.computeDescribeClusterResponse answers it:
// an unknown endpoint type is INVALID_REQUEST at v0 and
// UNSUPPORTED_ENDPOINT_TYPE from v1, a controller endpoint asked of a
// broker is MISMATCHED_ENDPOINT_TYPE (INVALID_REQUEST at v0); error answers
// keep the schema defaults; a controller id not among the live brokers is
// -1; the authorized operations are every CLUSTER operation
// (AclEntry.supportedOperations) when asked for, Int.MinValue otherwise.
func TestDescribeClusterVersions(t *testing.T) {
	// CREATE(5) ALTER(7) DESCRIBE(8) CLUSTER_ACTION(9) DESCRIBE_CONFIGS(10)
	// ALTER_CONFIGS(11) IDEMPOTENT_WRITE(12)
	const clusterOps = 1<<5 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12
	for _, tc := range []struct {
		name         string
		version      int16
		endpointType int8
		includeOps   bool
		controller   int32
		wantErr      *kerr.Error
		wantMsg      string
		wantCtl      int32
		wantOps      int32
	}{
		{name: "v0", version: 0, endpointType: 1, controller: 1, wantCtl: 1, wantOps: -2147483648},
		{name: "v0 ops", version: 0, endpointType: 1, includeOps: true, controller: 1, wantCtl: 1, wantOps: clusterOps},
		{name: "v1 ops", version: 1, endpointType: 1, includeOps: true, controller: 0, wantCtl: 0, wantOps: clusterOps},
		{name: "v1 dead controller", version: 1, endpointType: 1, controller: 5, wantCtl: -1, wantOps: -2147483648},
		{name: "v1 no controller", version: 1, endpointType: 1, controller: -1, wantCtl: -1, wantOps: -2147483648},
		{name: "v1 controllers", version: 1, endpointType: 2, controller: 1, wantErr: kerr.MismatchedEndpointType,
			wantMsg: "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
			wantCtl: -1, wantOps: -2147483648},
		{name: "v1 unknown", version: 1, endpointType: 7, controller: 1, wantErr: kerr.UnsupportedEndpointType,
			wantMsg: "Unsupported endpoint type 7", wantCtl: -1, wantOps: -2147483648},
		{name: "v1 zero", version: 1, endpointType: 0, controller: 1, wantErr: kerr.UnsupportedEndpointType,
			wantMsg: "Unsupported endpoint type 0", wantCtl: -1, wantOps: -2147483648},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newCacheTestServer(t, tc.controller)
			req := kmsg.NewPtrDescribeClusterRequest()
			req.Version, req.EndpointType, req.IncludeClusterAuthorizedOperations = tc.version, tc.endpointType, tc.includeOps
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleDescribeCluster(context.Background(), r.(*kmsg.DescribeClusterRequest))
			}).(*kmsg.DescribeClusterResponse)
			if resp.ErrorCode != errCode(tc.wantErr) {
				t.Fatalf("error %v, want %v", kerr.ErrorForCode(resp.ErrorCode), tc.wantErr)
			}
			if tc.wantErr != nil {
				if resp.ErrorMessage == nil || *resp.ErrorMessage != tc.wantMsg {
					t.Fatalf("message %v, want %q", resp.ErrorMessage, tc.wantMsg)
				}
				if resp.ClusterID != "" || len(resp.Brokers) != 0 {
					t.Fatalf("error answer carries data: %+v", resp)
				}
			} else if resp.ErrorMessage != nil || resp.ClusterID != "cid" || len(resp.Brokers) != 2 {
				t.Fatalf("answer %+v", resp)
			}
			if resp.Version >= 1 && resp.EndpointType != 1 {
				t.Fatalf("endpoint type %d, want 1 (BROKER)", resp.EndpointType)
			}
			if resp.ControllerID != tc.wantCtl {
				t.Fatalf("controller %d, want %d", resp.ControllerID, tc.wantCtl)
			}
			if resp.ClusterAuthorizedOperations != tc.wantOps {
				t.Fatalf("authorized operations %b, want %b", resp.ClusterAuthorizedOperations, tc.wantOps)
			}
		})
	}
}

func TestDescribeClusterV0UnknownEndpointType(t *testing.T) {
	// v0 cannot carry an endpoint type on the wire; the check is the
	// handler's: a request object with one answers INVALID_REQUEST.
	s := newCacheTestServer(t, 1)
	for _, et := range []int8{0, 2} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.EndpointType = et
		resp := s.handleDescribeCluster(context.Background(), req).(*kmsg.DescribeClusterResponse)
		if resp.ErrorCode != kerr.InvalidRequest.Code {
			t.Fatalf("endpoint type %d at v0: %v, want INVALID_REQUEST", et, kerr.ErrorForCode(resp.ErrorCode))
		}
	}
}

// allTopicOps is every TOPIC operation (AclEntry.supportedOperations):
// READ(3) WRITE(4) CREATE(5) DELETE(6) ALTER(7) DESCRIBE(8)
// DESCRIBE_CONFIGS(10) ALTER_CONFIGS(11).
const allTopicOps = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

func metadataAt(t *testing.T, s *Server, req *kmsg.MetadataRequest) *kmsg.MetadataResponse {
	t.Helper()
	return roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
		return s.handleMetadata(context.Background(), r.(*kmsg.MetadataRequest))
	}).(*kmsg.MetadataResponse)
}

func metadataTopics(names ...string) []kmsg.MetadataRequestTopic {
	out := []kmsg.MetadataRequestTopic{}
	for _, n := range names {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		out = append(out, rt)
	}
	return out
}

// Metadata's authorized operations (KafkaApis.handleTopicMetadataRequest):
// from v8 each answered topic carries every TOPIC operation when the
// client asks (no authorizer allows all), the cluster's from v8 to v10;
// otherwise both keep the schema's Int.MinValue.
func TestMetadataAuthorizedOperations(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.cfg.AutoCreateTopics = false
	for v := int16(0); v <= 12; v++ {
		for _, include := range []bool{false, true} {
			req := kmsg.NewPtrMetadataRequest()
			req.Version = v
			req.Topics = metadataTopics("t", "missing")
			req.IncludeClusterAuthorizedOperations, req.IncludeTopicAuthorizedOperations = include, include
			resp := metadataAt(t, s, req)
			wantTopic, wantCluster := int32(-2147483648), int32(-2147483648)
			if include && v >= 8 {
				wantTopic = allTopicOps
				if v <= 10 {
					wantCluster = allClusterOperations
				}
			}
			if v >= 8 && resp.AuthorizedOperations != wantCluster {
				t.Errorf("v%d include=%v: cluster operations %b, want %b", v, include, resp.AuthorizedOperations, wantCluster)
			}
			if len(resp.Topics) != 2 {
				t.Fatalf("v%d: %d topics", v, len(resp.Topics))
			}
			for _, rt := range resp.Topics {
				if v >= 8 && rt.AuthorizedOperations != wantTopic {
					t.Errorf("v%d include=%v topic %s: operations %b, want %b", v, include, deref(rt.Topic), rt.AuthorizedOperations, wantTopic)
				}
			}
		}
	}
}

// Metadata v0 (ZkMetadataCache.getPartitionMetadata with
// errorUnavailableEndpoints): replicas and ISR on brokers that are not
// alive are left out and the partition is REPLICA_NOT_AVAILABLE; later
// versions list them all without an error.
func TestMetadataV0FiltersUnavailableReplicas(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.cfg.AutoCreateTopics = false
	s.cache.update(0, 2, []cachedBroker{plainBroker(0, "h0", 9092), plainBroker(1, "h1", 9093)},
		[]partitionUpdate{
			{Topic: "t", TopicID: [16]byte{1}, Partition: 0, State: cachedPartition{Leader: 0, ISR: []int32{0, 5}, Replicas: []int32{0, 5}}},
			{Topic: "t", TopicID: [16]byte{1}, Partition: 1, State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0, 5}}},
			{Topic: "t", TopicID: [16]byte{1}, Partition: 2, State: cachedPartition{Leader: 5, ISR: []int32{5, 1}, Replicas: []int32{5, 1}}},
			{Topic: "t", TopicID: [16]byte{1}, Partition: 3, State: cachedPartition{Leader: 1, ISR: []int32{1, 0}, Replicas: []int32{1, 0}}},
		})
	type want struct {
		code          int16
		leader        int32
		replicas, isr []int32
	}
	for _, v := range []int16{0, 1, 9} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		req.Topics = metadataTopics("t")
		resp := metadataAt(t, s, req)
		wants := []want{
			{kerr.ReplicaNotAvailable.Code, 0, []int32{0}, []int32{0}},
			{kerr.ReplicaNotAvailable.Code, 0, []int32{0}, []int32{0}},
			{kerr.LeaderNotAvailable.Code, -1, []int32{1}, []int32{1}},
			{0, 1, []int32{1, 0}, []int32{1, 0}},
		}
		if v > 0 {
			wants = []want{
				{0, 0, []int32{0, 5}, []int32{0, 5}},
				{0, 0, []int32{0, 5}, []int32{0}},
				{kerr.LeaderNotAvailable.Code, -1, []int32{5, 1}, []int32{5, 1}},
				{0, 1, []int32{1, 0}, []int32{1, 0}},
			}
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != len(wants) {
			t.Fatalf("v%d: %+v", v, resp.Topics)
		}
		for i, p := range resp.Topics[0].Partitions {
			w := wants[i]
			if p.ErrorCode != w.code || p.Leader != w.leader || !slices.Equal(p.Replicas, w.replicas) || !slices.Equal(p.ISR, w.isr) {
				t.Errorf("v%d partition %d: code %d leader %d replicas %v isr %v, want %+v", v, p.Partition, p.ErrorCode, p.Leader, p.Replicas, p.ISR, w)
			}
		}
	}
}

// autoCreateController answers CreateTopics with a code per topic and
// records what it was asked.
type autoCreateController struct {
	Controller
	codes map[string]int16
	asked map[string]kmsg.CreateTopicsRequestTopic
}

func (c *autoCreateController) Active() bool { return true }

func (c *autoCreateController) CreateTopics(_ context.Context, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse {
	resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
	for _, t := range req.Topics {
		c.asked[t.Topic] = t
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.ErrorCode = t.Topic, c.codes[t.Topic]
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// Metadata auto-creation (AutoTopicCreationManager.createTopicsInZk):
// TOPIC_ALREADY_EXISTS and REQUEST_TIMED_OUT (timeout 0) mean created and
// are answered LEADER_NOT_AVAILABLE, any other creation error is the
// client's answer; __consumer_offsets is created with its own partitions
// and configs (creatableTopic); every answer says whether the topic is
// internal.
func TestMetadataAutoCreateAnswers(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.cfg.OffsetsTopicNumPartitions = 7
	c := &autoCreateController{asked: map[string]kmsg.CreateTopicsRequestTopic{}, codes: map[string]int16{
		"exists": kerr.TopicAlreadyExists.Code, "timed-out": kerr.RequestTimedOut.Code,
		"bad-rf": kerr.InvalidReplicationFactor.Code, "policy": kerr.PolicyViolation.Code,
	}}
	s.SetController(c)
	for _, v := range []int16{1, 4, 9, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version, req.AllowAutoTopicCreation = v, true
		req.Topics = metadataTopics("new", "exists", "timed-out", "bad-rf", "policy", "bad/name", offsetsTopic)
		resp := metadataAt(t, s, req)
		want := map[string]int16{
			"new": kerr.LeaderNotAvailable.Code, "exists": kerr.LeaderNotAvailable.Code,
			"timed-out": kerr.LeaderNotAvailable.Code, "bad-rf": kerr.InvalidReplicationFactor.Code,
			"policy": kerr.PolicyViolation.Code, "bad/name": kerr.InvalidTopicException.Code,
			offsetsTopic: kerr.LeaderNotAvailable.Code,
		}
		if len(resp.Topics) != len(want) {
			t.Fatalf("v%d: %d topics, want %d", v, len(resp.Topics), len(want))
		}
		for _, rt := range resp.Topics {
			name := deref(rt.Topic)
			if rt.ErrorCode != want[name] {
				t.Errorf("v%d %s: %v, want %v", v, name, kerr.ErrorForCode(rt.ErrorCode), kerr.ErrorForCode(want[name]))
			}
			if rt.IsInternal != (name == offsetsTopic) {
				t.Errorf("v%d %s: is_internal %v", v, name, rt.IsInternal)
			}
		}
		if ot, ok := c.asked[offsetsTopic]; !ok || ot.NumPartitions != 7 || len(ot.Configs) == 0 {
			t.Fatalf("v%d: __consumer_offsets asked as %+v (asked %v)", v, ot, ok)
		}
		if _, ok := c.asked["bad/name"]; ok {
			t.Fatalf("v%d: an invalid name was sent to the controller", v)
		}
	}
}

// A topic named twice is answered once: Kafka answers from a set of
// names (KafkaApis.handleTopicMetadataRequest).
func TestMetadataDuplicateTopicsAnsweredOnce(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.cfg.AutoCreateTopics = false
	for _, v := range []int16{0, 1, 12} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		req.Topics = metadataTopics("t", "missing", "t", "missing")
		resp := metadataAt(t, s, req)
		if len(resp.Topics) != 2 {
			t.Fatalf("v%d: %d topics, want 2", v, len(resp.Topics))
		}
	}
}

// Metadata v10-v11 carry topic ids but cannot use them: a null name or a
// topic id is InvalidRequestException, answered by
// MetadataRequest.getErrorResponse (every topic INVALID_REQUEST, null
// names as "", no brokers). From v12, once any topic id is given the
// request is by id (names are ignored) and an unknown id is
// UNKNOWN_TOPIC_ID with a null name.
func TestMetadataTopicIDsPerVersion(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.cfg.AutoCreateTopics = false
	byID := func(id byte) kmsg.MetadataRequestTopic {
		rt := kmsg.NewMetadataRequestTopic()
		rt.TopicID = [16]byte{id}
		return rt
	}
	for _, v := range []int16{10, 11} {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		req.Topics = append(metadataTopics("t"), byID(1))
		resp := metadataAt(t, s, req)
		if len(resp.Brokers) != 0 || len(resp.Topics) != 2 {
			t.Fatalf("v%d: %+v", v, resp)
		}
		for i, rt := range resp.Topics {
			wantName := []string{"t", ""}[i]
			if rt.ErrorCode != kerr.InvalidRequest.Code || deref(rt.Topic) != wantName || len(rt.Partitions) != 0 {
				t.Fatalf("v%d topic %d: %+v", v, i, rt)
			}
		}
	}
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	req.Topics = append(metadataTopics("ignored"), byID(1), byID(9))
	resp := metadataAt(t, s, req)
	if len(resp.Topics) != 2 {
		t.Fatalf("v12: %+v", resp.Topics)
	}
	for _, rt := range resp.Topics {
		switch rt.TopicID {
		case [16]byte{1}:
			if rt.ErrorCode != 0 || deref(rt.Topic) != "t" || len(rt.Partitions) != 1 {
				t.Fatalf("v12 known id: %+v", rt)
			}
		case [16]byte{9}:
			if rt.ErrorCode != kerr.UnknownTopicID.Code || rt.Topic != nil {
				t.Fatalf("v12 unknown id: %+v", rt)
			}
		default:
			t.Fatalf("v12 answered %+v", rt)
		}
	}
}

// InitProducerId per version (KafkaApis.handleInitProducerIdRequest,
// TransactionCoordinator.handleInitProducerId): from v3 a producer id
// without an epoch (or the reverse) is INVALID_REQUEST; an empty
// transactional id is INVALID_REQUEST; an idempotent producer gets a new
// id at epoch 0 whatever id and epoch it names.
func TestInitProducerIDVersions(t *testing.T) {
	s := newCacheTestServer(t, 0)
	s.producerIDs = newProducerIDAllocator(nil, 0, 1000)
	s.producerIDs.nextID, s.producerIDs.end = 100, 10_000 // no block from ZooKeeper needed
	for _, tc := range []struct {
		name    string
		minV    int16
		txnID   *string
		pid     int64
		epoch   int16
		wantErr *kerr.Error
	}{
		{name: "idempotent", pid: -1, epoch: -1},
		{name: "bump", minV: 3, pid: 7, epoch: 3},
		{name: "pid without epoch", minV: 3, pid: 7, epoch: -1, wantErr: kerr.InvalidRequest},
		{name: "epoch without pid", minV: 3, pid: -1, epoch: 2, wantErr: kerr.InvalidRequest},
		{name: "empty transactional id", txnID: kmsg.StringPtr(""), pid: -1, epoch: -1, wantErr: kerr.InvalidRequest},
	} {
		for v := tc.minV; v <= 4; v++ {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.Version, req.TransactionalID, req.ProducerID, req.ProducerEpoch = v, tc.txnID, tc.pid, tc.epoch
			req.TransactionTimeoutMillis = 60000
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleInitProducerID(context.Background(), r.(*kmsg.InitProducerIDRequest))
			}).(*kmsg.InitProducerIDResponse)
			if resp.ErrorCode != errCode(tc.wantErr) {
				t.Fatalf("%s v%d: %v, want %v", tc.name, v, kerr.ErrorForCode(resp.ErrorCode), tc.wantErr)
			}
			if tc.wantErr != nil && (resp.ProducerID != -1 || resp.ProducerEpoch != -1) {
				t.Fatalf("%s v%d: error answer with %d/%d", tc.name, v, resp.ProducerID, resp.ProducerEpoch)
			}
			if tc.wantErr == nil && (resp.ProducerID < 100 || resp.ProducerEpoch != 0) {
				t.Fatalf("%s v%d: %d/%d, want a new id at epoch 0", tc.name, v, resp.ProducerID, resp.ProducerEpoch)
			}
		}
	}
}

// ElectLeaders on a broker that is not the controller
// (KafkaController.processReplicaLeaderElection when not active, through
// ReplicaManager.electLeaders): the request succeeds (top-level NONE from
// v1) and every partition is NOT_CONTROLLER with a null message; a null
// topic list means every partition in the metadata cache; a partition named
// twice is answered once.
func TestElectLeadersNotController(t *testing.T) {
	s := newCacheTestServer(t, 1)
	s.cache.update(1, 2, []cachedBroker{plainBroker(0, "h0", 9092), plainBroker(1, "h1", 9093)}, []partitionUpdate{
		{Topic: "u", TopicID: [16]byte{2}, Partition: 0, State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}},
		{Topic: "u", TopicID: [16]byte{2}, Partition: 1, State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}},
	})
	for v := int16(0); v <= 2; v++ {
		for _, all := range []bool{true, false} {
			req := kmsg.NewPtrElectLeadersRequest()
			req.Version = v
			want := map[string][]int32{"t": {0}, "u": {0, 1}}
			if !all {
				rt := kmsg.NewElectLeadersRequestTopic()
				rt.Topic, rt.Partitions = "u", []int32{1, 1}
				req.Topics = []kmsg.ElectLeadersRequestTopic{rt}
				want = map[string][]int32{"u": {1}}
			}
			resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
				return s.handleElectLeaders(context.Background(), r.(*kmsg.ElectLeadersRequest))
			}).(*kmsg.ElectLeadersResponse)
			if resp.ErrorCode != 0 {
				t.Fatalf("v%d all=%v: top-level %v, want NONE", v, all, kerr.ErrorForCode(resp.ErrorCode))
			}
			got := map[string][]int32{}
			for _, rt := range resp.Topics {
				for _, p := range rt.Partitions {
					if p.ErrorCode != kerr.NotController.Code || p.ErrorMessage != nil {
						t.Fatalf("v%d all=%v %s-%d: %v %v", v, all, rt.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode), deref(p.ErrorMessage))
					}
					got[rt.Topic] = append(got[rt.Topic], p.Partition)
				}
			}
			for topic := range got {
				slices.Sort(got[topic])
			}
			if len(got) != len(want) || !slices.Equal(got["t"], want["t"]) || !slices.Equal(got["u"], want["u"]) {
				t.Fatalf("v%d all=%v: answered %v, want %v", v, all, got, want)
			}
		}
	}
}

// Alter/ListPartitionReassignments on a broker that is not the controller
// (KafkaController.processApiPartitionReassignment /
// processListPartitionReassignments when not active): top-level
// NOT_CONTROLLER with ApiError(NOT_CONTROLLER)'s message, the error's own.
func TestReassignmentsNotController(t *testing.T) {
	s := newCacheTestServer(t, 1)
	ctx := context.Background()
	alter := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = "t"
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = 0, []int32{1}
	rt.Partitions = append(rt.Partitions, rp)
	alter.Topics = append(alter.Topics, rt)
	aresp := roundTrip(t, alter, func(r kmsg.Request) kmsg.Response {
		return s.handleAlterPartitionReassignments(ctx, r.(*kmsg.AlterPartitionAssignmentsRequest))
	}).(*kmsg.AlterPartitionAssignmentsResponse)
	if aresp.ErrorCode != kerr.NotController.Code || deref(aresp.ErrorMessage) != kerr.NotController.Description || len(aresp.Topics) != 0 {
		t.Fatalf("alter: %+v (message %q)", aresp, deref(aresp.ErrorMessage))
	}
	list := kmsg.NewPtrListPartitionReassignmentsRequest()
	lresp := roundTrip(t, list, func(r kmsg.Request) kmsg.Response {
		return s.handleListPartitionReassignments(ctx, r.(*kmsg.ListPartitionReassignmentsRequest))
	}).(*kmsg.ListPartitionReassignmentsResponse)
	if lresp.ErrorCode != kerr.NotController.Code || deref(lresp.ErrorMessage) != kerr.NotController.Description || len(lresp.Topics) != 0 {
		t.Fatalf("list: %+v (message %q)", lresp, deref(lresp.ErrorMessage))
	}
}
