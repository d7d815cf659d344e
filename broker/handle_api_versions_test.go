package broker

import (
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafka39ZKBroker is what an Apache Kafka 3.9 broker in ZooKeeper mode lists
// in ApiVersions, derived from Kafka 3.9's sources:
//   - the keys: every clients/src/main/resources/common/message/*Request.json
//     whose "listeners" holds "zkBroker" (ApiKeys.zkBrokerApis);
//   - the ranges: "validVersions" of that file; none of these keys has
//     "latestVersionUnstable": true, so unstable.api.versions.enable=false
//     (its default) drops no version (ApiKeys.toApiVersion,
//     ApiMessageType.highestSupportedVersion). Deprecated versions
//     ("deprecatedVersions") are still advertised;
//   - the filter: KafkaServer builds DefaultApiVersionManager(ZK_BROKER)
//     without a forwarding manager (API forwarding only under ZK migration),
//     so the list is ApiVersionsResponse.filterApis: the telemetry APIs (not
//     zkBroker APIs anyway) are skipped, and every key's
//     minRequiredInterBrokerMagic is at most magic 2 (inter.broker.protocol.version 3.9).
var kafka39ZKBroker = map[kmsg.Key]versionRange{
	kmsg.Produce:                      {0, 11},
	kmsg.Fetch:                        {0, 17},
	kmsg.ListOffsets:                  {0, 9},
	kmsg.Metadata:                     {0, 12},
	kmsg.LeaderAndISR:                 {0, 7},
	kmsg.StopReplica:                  {0, 4},
	kmsg.UpdateMetadata:               {0, 8},
	kmsg.ControlledShutdown:           {0, 3},
	kmsg.OffsetCommit:                 {0, 9},
	kmsg.OffsetFetch:                  {0, 9},
	kmsg.FindCoordinator:              {0, 6},
	kmsg.JoinGroup:                    {0, 9},
	kmsg.Heartbeat:                    {0, 4},
	kmsg.LeaveGroup:                   {0, 5},
	kmsg.SyncGroup:                    {0, 5},
	kmsg.DescribeGroups:               {0, 5},
	kmsg.ListGroups:                   {0, 5},
	kmsg.SASLHandshake:                {0, 1},
	kmsg.ApiVersions:                  {0, 4},
	kmsg.CreateTopics:                 {0, 7},
	kmsg.DeleteTopics:                 {0, 6},
	kmsg.DeleteRecords:                {0, 2},
	kmsg.InitProducerID:               {0, 5},
	kmsg.OffsetForLeaderEpoch:         {0, 4},
	kmsg.AddPartitionsToTxn:           {0, 5},
	kmsg.AddOffsetsToTxn:              {0, 4},
	kmsg.EndTxn:                       {0, 4},
	kmsg.WriteTxnMarkers:              {0, 1},
	kmsg.TxnOffsetCommit:              {0, 4},
	kmsg.DescribeACLs:                 {0, 3},
	kmsg.CreateACLs:                   {0, 3},
	kmsg.DeleteACLs:                   {0, 3},
	kmsg.DescribeConfigs:              {0, 4},
	kmsg.AlterConfigs:                 {0, 2},
	kmsg.AlterReplicaLogDirs:          {0, 2},
	kmsg.DescribeLogDirs:              {0, 4},
	kmsg.SASLAuthenticate:             {0, 2},
	kmsg.CreatePartitions:             {0, 3},
	kmsg.CreateDelegationToken:        {0, 3},
	kmsg.RenewDelegationToken:         {0, 2},
	kmsg.ExpireDelegationToken:        {0, 2},
	kmsg.DescribeDelegationToken:      {0, 3},
	kmsg.DeleteGroups:                 {0, 2},
	kmsg.ElectLeaders:                 {0, 2},
	kmsg.IncrementalAlterConfigs:      {0, 1},
	kmsg.AlterPartitionAssignments:    {0, 0},
	kmsg.ListPartitionReassignments:   {0, 0},
	kmsg.OffsetDelete:                 {0, 0},
	kmsg.DescribeClientQuotas:         {0, 1},
	kmsg.AlterClientQuotas:            {0, 1},
	kmsg.DescribeUserSCRAMCredentials: {0, 0},
	kmsg.AlterUserSCRAMCredentials:    {0, 0},
	kmsg.AlterPartition:               {0, 3},
	kmsg.UpdateFeatures:               {0, 1},
	kmsg.Envelope:                     {0, 0},
	kmsg.DescribeCluster:              {0, 1},
	kmsg.DescribeProducers:            {0, 0},
	kmsg.DescribeTransactions:         {0, 0},
	kmsg.ListTransactions:             {0, 1},
	kmsg.AllocateProducerIDs:          {0, 0},
	kmsg.ConsumerGroupHeartbeat:       {0, 0},
	kmsg.ConsumerGroupDescribe:        {0, 0},
}

// notServed documents versions Kafka 3.9 advertises that we do not (yet).
type notServed struct {
	versions []int16 // nil: the whole key
	reason   string
	// pending: being built on a parallel branch (issue 12), so it may
	// already be served once that branch is merged; drop the entry then.
	pending bool
}

func span(lo, hi int16) []int16 {
	var out []int16
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

// kafka39NotServed is every difference between supportedAPIs and
// kafka39ZKBroker. A key or version missing here fails the test.
var kafka39NotServed = map[kmsg.Key][]notServed{
	kmsg.OffsetCommit: {{versions: []int16{9}, reason: "KIP-848 consumer group protocol (member epochs) is not built"}},
	kmsg.OffsetFetch:  {{versions: []int16{9}, reason: "KIP-848 consumer group protocol (member id and epoch) is not built"}},
	kmsg.ListGroups:   {{versions: []int16{5}, reason: "KIP-848 group types filter is not built"}},

	kmsg.AlterReplicaLogDirs: {{reason: "moving replicas between log dirs is not built"}},
	kmsg.DescribeLogDirs:     {{reason: "DescribeLogDirs is not built"}},

	kmsg.CreateDelegationToken:   {{reason: "delegation tokens are not built"}},
	kmsg.RenewDelegationToken:    {{reason: "delegation tokens are not built"}},
	kmsg.ExpireDelegationToken:   {{reason: "delegation tokens are not built"}},
	kmsg.DescribeDelegationToken: {{reason: "delegation tokens are not built"}},

	kmsg.DescribeClientQuotas: {{reason: "client quotas are not built"}},
	kmsg.AlterClientQuotas:    {{reason: "client quotas are not built"}},

	kmsg.UpdateFeatures:         {{reason: "finalized features (KIP-584) are not built"}},
	kmsg.Envelope:               {{reason: "request forwarding is only used under ZooKeeper-to-KRaft migration, which is not built"}},
	kmsg.AllocateProducerIDs:    {{reason: "brokers take producer id blocks from /latest_producer_id_block themselves; controller allocation (KIP-730) is not built"}},
	kmsg.ConsumerGroupHeartbeat: {{reason: "KIP-848 consumer group protocol is not built"}},
	kmsg.ConsumerGroupDescribe:  {{reason: "KIP-848 consumer group protocol is not built"}},
}

func (vr versionRange) has(v int16) bool { return v >= vr.min && v <= vr.max }

// TestApiVersionsMatchKafka39 compares what ApiVersions advertises with an
// Apache Kafka 3.9 ZooKeeper-mode broker, key by key: nothing Kafka does not
// advertise, no version outside Kafka's range, and every version Kafka has
// that we lack documented in kafka39NotServed (and nothing documented that
// we serve, unless it is pending on another branch).
func TestApiVersionsMatchKafka39(t *testing.T) {
	s := &Server{}
	resp := s.handleApiVersions(kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	ours := map[kmsg.Key]versionRange{}
	for _, k := range resp.ApiKeys {
		if _, dup := ours[kmsg.Key(k.ApiKey)]; dup {
			t.Errorf("api key %d listed twice", k.ApiKey)
		}
		ours[kmsg.Key(k.ApiKey)] = versionRange{k.MinVersion, k.MaxVersion}
	}
	if len(ours) != len(supportedAPIs) {
		t.Errorf("ApiVersions lists %d keys, supportedAPIs has %d", len(ours), len(supportedAPIs))
	}

	for key, vr := range ours {
		kr, ok := kafka39ZKBroker[key]
		if !ok {
			t.Errorf("%s (%d) v%d-v%d: a Kafka 3.9 ZooKeeper broker does not advertise this key", key.Name(), key, vr.min, vr.max)
			continue
		}
		if vr.min > vr.max || vr.min < kr.min || vr.max > kr.max {
			t.Errorf("%s: we advertise v%d-v%d, outside Kafka 3.9's v%d-v%d", key.Name(), vr.min, vr.max, kr.min, kr.max)
		}
		if req := kmsg.RequestForKey(int16(key)); req == nil || vr.max > req.MaxVersion() {
			t.Errorf("%s: v%d is beyond what the request parser (kmsg) knows", key.Name(), vr.max)
		}
	}

	for key, kr := range kafka39ZKBroker {
		vr, served := ours[key]
		documented := map[int16]notServed{}
		whole := (*notServed)(nil)
		for i, d := range kafka39NotServed[key] {
			if d.versions == nil {
				whole = &kafka39NotServed[key][i]
			}
			for _, v := range d.versions {
				documented[v] = d
			}
		}
		switch {
		case !served && whole == nil:
			t.Errorf("%s (%d) v%d-v%d: Kafka 3.9 advertises it, we do not, and kafka39NotServed does not say why",
				key.Name(), key, kr.min, kr.max)
		case served && whole != nil && !whole.pending:
			t.Errorf("%s: served now, drop it from kafka39NotServed (%q)", key.Name(), whole.reason)
		}
		if !served {
			continue
		}
		for v := kr.min; v <= kr.max; v++ {
			d, isDoc := documented[v]
			switch {
			case !vr.has(v) && !isDoc:
				t.Errorf("%s v%d: Kafka 3.9 advertises it, we do not (we serve v%d-v%d), and kafka39NotServed does not say why",
					key.Name(), v, vr.min, vr.max)
			case vr.has(v) && isDoc && !d.pending:
				t.Errorf("%s v%d: served now, drop it from kafka39NotServed (%q)", key.Name(), v, d.reason)
			case vr.has(v) && isDoc:
				t.Logf("%s v%d: served now; its pending entry in kafka39NotServed can go", key.Name(), v)
			}
		}
	}
	for key, ds := range kafka39NotServed {
		kr, ok := kafka39ZKBroker[key]
		if !ok {
			t.Errorf("kafka39NotServed documents %s, which Kafka 3.9 does not advertise", key.Name())
			continue
		}
		for _, d := range ds {
			if slices.ContainsFunc(d.versions, func(v int16) bool { return !kr.has(v) }) {
				t.Errorf("kafka39NotServed documents %s versions %v outside Kafka 3.9's v%d-v%d", key.Name(), d.versions, kr.min, kr.max)
			}
		}
	}
}

// ApiVersions v3+ checks the client's software name and version against
// Kafka's SOFTWARE_NAME_VERSION_PATTERN (ApiVersionsRequest.isValid); an
// invalid one is INVALID_REQUEST without API keys. v0-v2 carry neither.
func TestApiVersionsClientSoftwareValidation(t *testing.T) {
	s := newCacheTestServer(t, 0)
	for _, tc := range []struct {
		v             int16
		name, version string
		valid         bool
	}{
		{0, "", "", true},
		{2, "", "", true},
		{3, "apache-kafka-java", "3.9.0", true},
		{4, "librdkafka", "2.3.0", true},
		{3, "a", "1", true},
		{3, "", "1.0", false},
		{3, "kafkazk", "", false},
		{3, "-kafkazk", "1.0", false},
		{4, "kafkazk.", "1.0", false},
		{4, "kafkazk", "1.0+build", false},
		{4, "kafka zk", "1.0", false},
	} {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = tc.v, tc.name, tc.version
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleApiVersions(r.(*kmsg.ApiVersionsRequest))
		}).(*kmsg.ApiVersionsResponse)
		if tc.valid && (resp.ErrorCode != 0 || len(resp.ApiKeys) == 0) {
			t.Errorf("v%d %q %q: %v with %d keys, want the table", tc.v, tc.name, tc.version, kerr.ErrorForCode(resp.ErrorCode), len(resp.ApiKeys))
		}
		if !tc.valid && (resp.ErrorCode != kerr.InvalidRequest.Code || len(resp.ApiKeys) != 0) {
			t.Errorf("v%d %q %q: %v with %d keys, want INVALID_REQUEST without keys", tc.v, tc.name, tc.version, kerr.ErrorForCode(resp.ErrorCode), len(resp.ApiKeys))
		}
	}
}

// A ZooKeeper-mode Kafka 3.9 broker lists no supported features in
// ApiVersions v3+: KafkaServer builds its ApiVersionManager with
// BrokerFeatures.createEmpty() (defaultSupportedFeatures, metadata.version
// 1-21 and kraft.version 0-1, is BrokerServer's, KRaft mode); before v3 the
// field is not on the wire.
func TestApiVersionsSupportedFeatures(t *testing.T) {
	s := newCacheTestServer(t, 0)
	for version := int16(0); version <= 4; version++ {
		req := kmsg.NewPtrApiVersionsRequest()
		req.Version, req.ClientSoftwareName, req.ClientSoftwareVersion = version, "kafkazk", "1.0"
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleApiVersions(r.(*kmsg.ApiVersionsRequest))
		}).(*kmsg.ApiVersionsResponse)
		got := map[string][2]int16{}
		for _, f := range resp.SupportedFeatures {
			got[f.Name] = [2]int16{f.MinVersion, f.MaxVersion}
		}
		want := map[string][2]int16{}
		if len(got) != len(want) {
			t.Fatalf("v%d: features %v, want %v", version, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("v%d: %s %v, want %v", version, k, got[k], v)
			}
		}
		if resp.FinalizedFeaturesEpoch != -1 || len(resp.FinalizedFeatures) != 0 {
			t.Errorf("v%d: finalized features epoch %d %v", version, resp.FinalizedFeaturesEpoch, resp.FinalizedFeatures)
		}
	}
}
