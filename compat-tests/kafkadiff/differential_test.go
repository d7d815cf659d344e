package kafkadiff_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// diffSide is one broker under the differential check: Kafka 3.9 or ours.
type diffSide struct {
	name     string
	addr     string
	versions *kversion.Versions
	cl       *kgo.Client
	b        *kgo.Broker // broker 0 itself: unsharded, unretried (kgo still sets a Produce request's acks)
}

// diffCase is one edge request (with any setup steps it needs); run returns
// the broker's answer, normalised: error names, messages, the fields that
// matter. The same steps run on both sides.
type diffCase struct {
	name string
	run  func(t *testing.T, s *diffSide) string
}

// knownDifference is a case where our answer differs from Kafka 3.9's; the
// test asserts both answers, so a change on either side shows up.
type knownDifference struct{ kafka, ours string }

// knownDifferences lists every case whose answers differ, Kafka's beside
// ours.
var knownDifferences = map[string]knownDifference{
	// Kafka prints Scala collections (ArrayBuffer(7), Set(0)) where we print
	// Go slices.
	"AlterPartitionAssignments/unknown-broker": {
		kafka: `NONE "" diff-data-0: INVALID_REPLICA_ASSIGNMENT "Replica assignment has brokers that are not alive. Replica list: ArrayBuffer(7), live broker list: Set(0)"`,
		ours:  `NONE "" diff-data-0: INVALID_REPLICA_ASSIGNMENT "Replica assignment has brokers that are not alive. Replica list: [7], live broker list: [0]"`,
	},
	"AlterPartitionAssignments/duplicate-replica": {
		kafka: `NONE "" diff-data-0: INVALID_REPLICA_ASSIGNMENT "Duplicate replica ids in partition reassignment replica list: ArrayBuffer(0, 0)"`,
		ours:  `NONE "" diff-data-0: INVALID_REPLICA_ASSIGNMENT "Duplicate replica ids in partition reassignment replica list: [0 0]"`,
	},
	// Kafka reads the header of an unknown ApiVersions version as the newest
	// header (v2, with tagged fields); a v1 header fails to parse and Kafka
	// closes the connection. We answer UNSUPPORTED_VERSION either way.
	"ApiVersions/unsupported-version-header-v1": {
		kafka: `connection closed: EOF`,
		ours:  `correlation=7 UNSUPPORTED_VERSION keys-listed=true`,
	},
}

// refDifferential plays every diffCase against Kafka 3.9 and against ours
// (both started by TestKafka39Reference with auto.create.topics.enable=false)
// and compares the answers: equal, or recorded in knownDifferences.
func refDifferential(t *testing.T, ref *cluster.KafkaRef, ours string) {
	oresp, err := cluster.ApiVersionsOf(ours, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The same request versions on both sides: ours are within Kafka's.
	versions := kversion.FromApiVersionsResponse(oresp)
	sides := []*diffSide{{name: "kafka", addr: ref.Addr}, {name: "ours", addr: ours}}
	for _, s := range sides {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.MaxVersions(versions), kgo.RequestRetries(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
			t.Fatalf("%s: Metadata: %v", s.name, err)
		}
		cancel()
		s.cl, s.b, s.versions = cl, cl.Broker(0), versions
	}
	seen := map[string]bool{}
	for _, c := range diffCases {
		if seen[c.name] {
			t.Fatalf("case %q twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			k, o := c.run(t, sides[0]), c.run(t, sides[1])
			t.Logf("Kafka 3.9: %s; ours: %s", k, o)
			kd, known := knownDifferences[c.name]
			switch {
			case k == o && known:
				t.Errorf("answers agree now (%s); drop it from knownDifferences", k)
			case k != o && !known:
				t.Errorf("answers differ:\n  Kafka 3.9: %s\n  ours:      %s", k, o)
			case k != o && (kd.kafka != k || kd.ours != o):
				t.Errorf("answers differ, not as knownDifferences records:\n  Kafka 3.9: %s\n  recorded:  %s\n  ours:      %s\n  recorded:  %s", k, kd.kafka, o, kd.ours)
			}
		})
	}
	for name := range knownDifferences {
		if !seen[name] {
			t.Errorf("knownDifferences has %q, no such case", name)
		}
	}
}

// do sends req to the side's broker 0 and fails the test on a transport error.
func (s *diffSide) do(t *testing.T, req kmsg.Request) kmsg.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	resp, err := s.b.Request(ctx, req)
	if err != nil {
		t.Fatalf("%s: %s: %v", s.name, kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// rawDo sends req as it is (kgo rewrites some fields, e.g. a Produce
// request's acks) on a fresh connection, at the version both sides use.
func (s *diffSide) rawDo(t *testing.T, req kmsg.Request) kmsg.Response {
	t.Helper()
	v, ok := s.versions.LookupMaxKeyVersion(req.Key())
	if !ok {
		t.Fatalf("%s: %s is not served", s.name, kmsg.NameForKey(req.Key()))
	}
	req.SetVersion(min(v, req.MaxVersion()))
	conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	msg := kmsg.NewRequestFormatter(kmsg.FormatterClientID("diff")).AppendRequest(nil, req, 11)
	if _, err := conn.Write(msg); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	var size uint32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		t.Fatalf("%s: %s: %v", s.name, kmsg.NameForKey(req.Key()), err)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	buf = buf[4:] // correlation id
	if req.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		buf = buf[1:] // no tagged fields in the response header
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if err := resp.ReadFrom(buf); err != nil {
		t.Fatalf("%s: %s answer: %v", s.name, kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

// errText is an error code's name and the message, if any.
func errText(code int16, msg *string) string {
	name := "NONE"
	if err := kerr.ErrorForCode(code); err != nil {
		name = err.(*kerr.Error).Message
	}
	if msg != nil {
		return fmt.Sprintf("%s %q", name, *msg)
	}
	return name
}

// createTopicReq builds a CreateTopics request for one topic.
func createTopicReq(topic string, partitions int32, rf int16, configs ...string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
	for i := 0; i+1 < len(configs); i += 2 {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = configs[i], kmsg.StringPtr(configs[i+1])
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// createTopicAnswer sends a CreateTopics request and returns its one
// topic's error.
func createTopicAnswer(t *testing.T, s *diffSide, req *kmsg.CreateTopicsRequest) string {
	t.Helper()
	resp := s.do(t, req).(*kmsg.CreateTopicsResponse)
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: CreateTopics: %d topics in the answer", s.name, len(resp.Topics))
	}
	return errText(resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage)
}

// ensureTopic creates topic (once per side) with partitions partitions and
// n records in partition 0, and waits until the broker knows its leader.
func ensureTopic(t *testing.T, s *diffSide, topic string, partitions int32, n int) {
	t.Helper()
	resp := s.do(t, createTopicReq(topic, partitions, 1)).(*kmsg.CreateTopicsResponse)
	switch code := resp.Topics[0].ErrorCode; code {
	case 0:
	case kerr.TopicAlreadyExists.Code:
		return
	default:
		t.Fatalf("%s: creating %s: %s", s.name, topic, errText(code, resp.Topics[0].ErrorMessage))
	}
	harness.Poll(t, 30*time.Second, s.name+": "+topic+" has leaders", func() (bool, string) {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		md := s.do(t, req).(*kmsg.MetadataResponse)
		if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 || len(md.Topics[0].Partitions) != int(partitions) {
			return false, fmt.Sprintf("%+v", md.Topics)
		}
		for _, p := range md.Topics[0].Partitions {
			if p.Leader < 0 || p.ErrorCode != 0 {
				return false, fmt.Sprintf("partition %d leader %d error %d", p.Partition, p.Leader, p.ErrorCode)
			}
		}
		return true, ""
	})
	for i := range n {
		if got := produceAnswer(t, s, topic, 0, fmt.Appendf(nil, "r%d", i)); got != "NONE" {
			t.Fatalf("%s: producing to %s: %s", s.name, topic, got)
		}
	}
}

// produceAnswer produces one record with acks=all (kgo sets the client's
// acks) and returns the partition's error.
func produceAnswer(t *testing.T, s *diffSide, topic string, partition int32, value []byte) string {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = partition, harness.IdempotentBatch(-1, -1, -1, value)
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("%s: Produce: unexpected answer %+v", s.name, resp)
	}
	p := resp.Topics[0].Partitions[0]
	return errText(p.ErrorCode, p.ErrorMessage)
}

func listOffsetsAnswer(t *testing.T, s *diffSide, topic string, partition int32, ts int64) string {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp = partition, ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.ListOffsetsResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("%s: ListOffsets: unexpected answer %+v", s.name, resp)
	}
	p := resp.Topics[0].Partitions[0]
	return fmt.Sprintf("%s offset=%d timestamp=%d", errText(p.ErrorCode, nil), p.Offset, p.Timestamp)
}

// fetchAnswer fetches one partition by name (and topic id, when the topic
// exists and the version needs it).
func fetchAnswer(t *testing.T, s *diffSide, topic string, id [16]byte, partition int32, offset int64) string {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 1<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, id
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch = partition, offset, 1<<20, -1, -1
	rp.LogStartOffset = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return "top-level " + errText(resp.ErrorCode, nil)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("%s: Fetch: unexpected answer %+v", s.name, resp)
	}
	p := resp.Topics[0].Partitions[0]
	return fmt.Sprintf("%s hw=%d lso=%d logStart=%d records=%v", errText(p.ErrorCode, nil), p.HighWatermark, p.LastStableOffset, p.LogStartOffset, len(p.RecordBatches) > 0)
}

// diffTopicID is the topic's id from Metadata.
func diffTopicID(t *testing.T, s *diffSide, topic string) [16]byte {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	md := s.do(t, req).(*kmsg.MetadataResponse)
	if len(md.Topics) != 1 || md.Topics[0].ErrorCode != 0 {
		t.Fatalf("%s: Metadata %s: %+v", s.name, topic, md.Topics)
	}
	return md.Topics[0].TopicID
}

// waitCoordinator polls FindCoordinator until the broker is group's
// coordinator (the first call creates __consumer_offsets).
func waitCoordinator(t *testing.T, s *diffSide, group string) {
	t.Helper()
	harness.Poll(t, 30*time.Second, s.name+": coordinator of "+group, func() (bool, string) {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey, req.CoordinatorKeys = group, []string{group}
		resp := s.do(t, req).(*kmsg.FindCoordinatorResponse)
		code, node := resp.ErrorCode, resp.NodeID
		if len(resp.Coordinators) == 1 {
			code, node = resp.Coordinators[0].ErrorCode, resp.Coordinators[0].NodeID
		}
		return code == 0 && node == 0, errText(code, nil)
	})
}

// joinGroup joins group as a new consumer and returns the member id and
// generation (after MEMBER_ID_REQUIRED, as a v4+ client does), retrying
// while the coordinator loads.
func joinGroup(t *testing.T, s *diffSide, group string) (string, int32) {
	t.Helper()
	waitCoordinator(t, s, group)
	member := ""
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = group, 10000, 10000
		req.MemberID, req.ProtocolType = member, "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name, p.Metadata = "range", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
		req.Protocols = append(req.Protocols, p)
		resp := s.do(t, req).(*kmsg.JoinGroupResponse)
		switch resp.ErrorCode {
		case kerr.MemberIDRequired.Code:
			member = resp.MemberID
			continue
		case 0:
			return resp.MemberID, resp.Generation
		case kerr.CoordinatorLoadInProgress.Code, kerr.NotCoordinator.Code, kerr.CoordinatorNotAvailable.Code:
			time.Sleep(50 * time.Millisecond) // poll: the coordinator is still loading its partition
			continue
		}
		t.Fatalf("%s: JoinGroup %s: %s", s.name, group, errText(resp.ErrorCode, nil))
	}
	t.Fatalf("%s: JoinGroup %s: not joined within 30s", s.name, group)
	return "", 0
}

func offsetCommitAnswer(t *testing.T, s *diffSide, group, member string, generation int32, topic string) string {
	t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = group, member, generation
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = 0, 1, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	// FindCoordinator answers from the metadata cache before the group
	// coordinator owns the new __consumer_offsets partition: Kafka then
	// answers NOT_COORDINATOR (or COORDINATOR_LOAD_IN_PROGRESS) for a while.
	var code int16
	harness.Poll(t, 30*time.Second, s.name+": OffsetCommit of "+group+" reaches its coordinator", func() (bool, string) {
		resp := s.do(t, req).(*kmsg.OffsetCommitResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: OffsetCommit: unexpected answer %+v", s.name, resp)
		}
		code = resp.Topics[0].Partitions[0].ErrorCode
		return code != kerr.NotCoordinator.Code && code != kerr.CoordinatorLoadInProgress.Code, errText(code, nil)
	})
	return errText(code, nil)
}

// rawApiVersions sends an ApiVersions request of the given version with a
// v2 header and an empty body on a fresh connection, and returns the error
// code of the answer (read as a v0 response, as Kafka answers an
// unsupported version) and how many API keys it lists.
func rawApiVersions(t *testing.T, addr string, version int16) string {
	return rawUnsupported(t, addr, kmsg.ApiVersions, version)
}

// rawUnsupported sends key at a version nobody serves, with a v2 header and
// an empty body, and returns the answer's error code (read as an
// ApiVersions v0 answer) or how the connection ended.
func rawUnsupported(t *testing.T, addr string, key kmsg.Key, version int16) string {
	t.Helper()
	return rawUnsupportedHeader(t, addr, key, version, true)
}

// rawUnsupportedHeader is rawUnsupported with a v1 header (no tagged
// fields) unless flexible.
func rawUnsupportedHeader(t *testing.T, addr string, key kmsg.Key, version int16, flexible bool) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	client := "diff"
	body := binary.BigEndian.AppendUint16(nil, uint16(key))
	body = binary.BigEndian.AppendUint16(body, uint16(version))
	body = binary.BigEndian.AppendUint32(body, 7)
	body = binary.BigEndian.AppendUint16(body, uint16(len(client)))
	body = append(body, client...)
	if flexible {
		body = append(body, 0) // no tagged fields: ApiVersions v3+ has header v2, as Java clients send
	}
	msg := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := conn.Write(append(msg, body...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	var size uint32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		return "connection closed: " + err.Error()
	}
	resp := make([]byte, size)
	if _, err := io.ReadFull(r, resp); err != nil || size < 10 {
		return fmt.Sprintf("short answer (%d bytes): %v", size, err)
	}
	// correlation id, error code, then (v0) an int32 array of keys.
	code := int16(binary.BigEndian.Uint16(resp[4:6]))
	n := int32(binary.BigEndian.Uint32(resp[6:10]))
	return fmt.Sprintf("correlation=%d %s keys-listed=%v", binary.BigEndian.Uint32(resp[0:4]), errText(code, nil), n > 0)
}

// incrementalAlterAnswer sets one topic config with IncrementalAlterConfigs.
func incrementalAlterAnswer(t *testing.T, s *diffSide, topic, name, value string) string {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, topic
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Op, c.Value = name, kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr(value)
	r.Configs = append(r.Configs, c)
	req.Resources = append(req.Resources, r)
	resp := s.do(t, req).(*kmsg.IncrementalAlterConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("%s: IncrementalAlterConfigs: %d resources", s.name, len(resp.Resources))
	}
	return errText(resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage)
}

// offsetFetchAnswer fetches a group's offset of topic partition 0 (v8 and
// up ask by groups, earlier versions by group).
func offsetFetchAnswer(t *testing.T, s *diffSide, group, topic string) string {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0}
	req.Topics = append(req.Topics, rt)
	g := kmsg.NewOffsetFetchRequestGroup()
	g.Group = group
	gt := kmsg.NewOffsetFetchRequestGroupTopic()
	gt.Topic, gt.Partitions = topic, []int32{0}
	g.Topics = append(g.Topics, gt)
	req.Groups = append(req.Groups, g)
	resp := s.do(t, req).(*kmsg.OffsetFetchResponse)
	if len(resp.Groups) == 1 {
		g := resp.Groups[0]
		if len(g.Topics) != 1 || len(g.Topics[0].Partitions) != 1 {
			return "group " + errText(g.ErrorCode, nil)
		}
		p := g.Topics[0].Partitions[0]
		return fmt.Sprintf("group %s partition %s offset=%d", errText(g.ErrorCode, nil), errText(p.ErrorCode, nil), p.Offset)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return "top-level " + errText(resp.ErrorCode, nil)
	}
	p := resp.Topics[0].Partitions[0]
	return fmt.Sprintf("group %s partition %s offset=%d", errText(resp.ErrorCode, nil), errText(p.ErrorCode, nil), p.Offset)
}

// produceBatch produces one raw batch to partition 0 and returns the
// partition's error and base offset.
func produceBatch(t *testing.T, s *diffSide, topic string, batch []byte) string {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("%s: Produce: unexpected answer %+v", s.name, resp)
	}
	p := resp.Topics[0].Partitions[0]
	return fmt.Sprintf("%s baseOffset=%d", errText(p.ErrorCode, p.ErrorMessage), p.BaseOffset)
}

// produceFull is one acks=all Produce of batch to partition 0 of topic,
// answered with everything a failed partition carries: code, message, base
// offset, log start offset and record errors.
func produceFull(t *testing.T, s *diffSide, topic string, batch []byte) string {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition, rp.Records = 0, batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.ProduceResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("%s: Produce: unexpected answer %+v", s.name, resp)
	}
	p := resp.Topics[0].Partitions[0]
	var recs []string
	for _, r := range p.ErrorRecords {
		recs = append(recs, fmt.Sprintf("%d:%s", r.RelativeOffset, errText(0, r.ErrorMessage)))
	}
	return fmt.Sprintf("%s baseOffset=%d logStart=%d recordErrors=%v", errText(p.ErrorCode, p.ErrorMessage), p.BaseOffset, p.LogStartOffset, recs)
}

// batchAt is batch with its timestamps set to ts (first and max, one
// record) and its CRC-32C recomputed.
func batchAt(batch []byte, ts int64) []byte {
	binary.BigEndian.PutUint64(batch[27:], uint64(ts))
	binary.BigEndian.PutUint64(batch[35:], uint64(ts))
	binary.BigEndian.PutUint32(batch[17:], crc32.Checksum(batch[21:], crc32.MakeTable(crc32.Castagnoli)))
	return batch
}

// producerID asks for an idempotent producer id.
func producerID(t *testing.T, s *diffSide) (int64, int16) {
	t.Helper()
	var resp *kmsg.InitProducerIDResponse
	harness.Poll(t, 30*time.Second, s.name+": InitProducerID", func() (bool, string) {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionTimeoutMillis, req.ProducerID, req.ProducerEpoch = 60000, -1, -1
		resp = s.do(t, req).(*kmsg.InitProducerIDResponse)
		switch resp.ErrorCode {
		case 0:
			return true, ""
		case kerr.CoordinatorLoadInProgress.Code, kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code:
			return false, errText(resp.ErrorCode, nil) // Kafka: until its first producer id block is taken
		}
		t.Fatalf("%s: InitProducerID: %s", s.name, errText(resp.ErrorCode, nil))
		return false, ""
	})
	return resp.ProducerID, resp.ProducerEpoch
}

func electAnswer(t *testing.T, s *diffSide, topic string, partition int32) string {
	t.Helper()
	req := kmsg.NewPtrElectLeadersRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewElectLeadersRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{partition}
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.ElectLeadersResponse)
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return "top-level " + errText(resp.ErrorCode, nil)
	}
	p := resp.Topics[0].Partitions[0]
	return errText(p.ErrorCode, p.ErrorMessage)
}

func reassignAnswer(t *testing.T, s *diffSide, topic string, replicas []int32) string {
	t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = 10000
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = 0, replicas
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.AlterPartitionAssignmentsResponse)
	out := errText(resp.ErrorCode, resp.ErrorMessage)
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			out += fmt.Sprintf(" %s-%d: %s", rt.Topic, p.Partition, errText(p.ErrorCode, p.ErrorMessage))
		}
	}
	return out
}

func describeConfigsAnswer(t *testing.T, s *diffSide, typ kmsg.ConfigResourceType, name string) string {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName, r.ConfigNames = typ, name, []string{"log.retention.hours"}
	req.Resources = append(req.Resources, r)
	resp := s.do(t, req).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("%s: DescribeConfigs: %d resources", s.name, len(resp.Resources))
	}
	return fmt.Sprintf("%s configs=%d", errText(resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage), len(resp.Resources[0].Configs))
}

// deleteTopicAnswer deletes topic by name (the request carries it both as
// Topics, v6+, and TopicNames, older versions) and returns the topic's error.
func deleteTopicAnswer(t *testing.T, s *diffSide, topic string) string {
	t.Helper()
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewDeleteTopicsRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	req.TopicNames = []string{topic}
	resp := s.do(t, req).(*kmsg.DeleteTopicsResponse)
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: DeleteTopics: %d topics", s.name, len(resp.Topics))
	}
	return errText(resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage)
}

func createPartitionsAnswer(t *testing.T, s *diffSide, topic string, count int32) string {
	t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 15000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	req.Topics = append(req.Topics, rt)
	resp := s.do(t, req).(*kmsg.CreatePartitionsResponse)
	if len(resp.Topics) != 1 {
		t.Fatalf("%s: CreatePartitions: %d topics", s.name, len(resp.Topics))
	}
	return errText(resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage)
}

// diffCases are the edge requests compared.
var diffCases = []diffCase{
	{"CreateTopics/invalid-name", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("bad name!", 1, 1))
	}},
	{"CreateTopics/dot-name", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("..", 1, 1))
	}},
	{"CreateTopics/name-too-long", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq(strings.Repeat("a", 250), 1, 1))
	}},
	{"CreateTopics/rf-above-brokers", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("diff-rf3", 1, 3))
	}},
	{"CreateTopics/zero-partitions", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("diff-p0", 0, 1))
	}},
	{"CreateTopics/unknown-config", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("diff-cfg1", 1, 1, "no.such.config", "1"))
	}},
	{"CreateTopics/bad-number", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("diff-cfg2", 1, 1, "retention.ms", "abc"))
	}},
	{"CreateTopics/bad-cleanup-policy", func(t *testing.T, s *diffSide) string {
		return createTopicAnswer(t, s, createTopicReq("diff-cfg3", 1, 1, "cleanup.policy", "bogus"))
	}},
	{"CreateTopics/unknown-broker-in-assignment", func(t *testing.T, s *diffSide) string {
		req := createTopicReq("diff-assign", -1, -1)
		req.TimeoutMillis = 500 // neither broker checks the ids: it waits for a leader that never comes
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = 0, []int32{7}
		req.Topics[0].ReplicaAssignment = append(req.Topics[0].ReplicaAssignment, a)
		return createTopicAnswer(t, s, req)
	}},
	{"CreateTopics/exists", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return createTopicAnswer(t, s, createTopicReq("diff-data", 1, 1))
	}},
	{"Produce/missing-partition", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return produceAnswer(t, s, "diff-data", 5, []byte("x"))
	}},
	{"Produce/missing-topic", func(t *testing.T, s *diffSide) string {
		return produceAnswer(t, s, "diff-no-such-topic", 0, []byte("x"))
	}},
	{"Fetch/offset-out-of-range", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return fetchAnswer(t, s, "diff-data", diffTopicID(t, s, "diff-data"), 0, 100)
	}},
	{"Fetch/missing-partition", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return fetchAnswer(t, s, "diff-data", diffTopicID(t, s, "diff-data"), 5, 0)
	}},
	{"Fetch/unknown-topic-id", func(t *testing.T, s *diffSide) string {
		return fetchAnswer(t, s, "diff-no-such-topic", [16]byte{1, 2, 3}, 0, 0)
	}},
	{"ListOffsets/future-timestamp", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return listOffsetsAnswer(t, s, "diff-data", 0, time.Now().Add(24*time.Hour).UnixMilli())
	}},
	{"ListOffsets/missing-partition", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return listOffsetsAnswer(t, s, "diff-data", 5, -1)
	}},
	{"Metadata/unknown-topic-no-autocreate", func(t *testing.T, s *diffSide) string {
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("diff-never-created")
		req.Topics = append(req.Topics, rt)
		md := s.do(t, req).(*kmsg.MetadataResponse)
		if len(md.Topics) != 1 {
			t.Fatalf("%s: Metadata: %d topics", s.name, len(md.Topics))
		}
		return fmt.Sprintf("%s partitions=%d", errText(md.Topics[0].ErrorCode, nil), len(md.Topics[0].Partitions))
	}},
	{"DeleteTopics/missing", func(t *testing.T, s *diffSide) string {
		return deleteTopicAnswer(t, s, "diff-no-such-topic")
	}},
	{"OffsetCommit/unknown-member-no-group", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		waitCoordinator(t, s, "diff-nogroup")
		return offsetCommitAnswer(t, s, "diff-nogroup", "nobody", 1, "diff-data")
	}},
	{"OffsetCommit/unknown-member", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		_, gen := joinGroup(t, s, "diff-group")
		return offsetCommitAnswer(t, s, "diff-group", "nobody", gen, "diff-data")
	}},
	{"OffsetCommit/illegal-generation", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		member, gen := joinGroup(t, s, "diff-group2")
		return offsetCommitAnswer(t, s, "diff-group2", member, gen+5, "diff-data")
	}},
	{"JoinGroup/no-protocols", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-join1")
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = "diff-join1", 10000, 10000, "consumer"
		return errText(s.do(t, req).(*kmsg.JoinGroupResponse).ErrorCode, nil)
	}},
	{"JoinGroup/session-timeout-too-small", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-join2")
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis, req.ProtocolType = "diff-join2", 1, 10000, "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = "range"
		req.Protocols = append(req.Protocols, p)
		return errText(s.do(t, req).(*kmsg.JoinGroupResponse).ErrorCode, nil)
	}},
	{"DescribeConfigs/unknown-topic", func(t *testing.T, s *diffSide) string {
		req := kmsg.NewPtrDescribeConfigsRequest()
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeTopic, "diff-no-such-topic"
		req.Resources = append(req.Resources, r)
		resp := s.do(t, req).(*kmsg.DescribeConfigsResponse)
		if len(resp.Resources) != 1 {
			t.Fatalf("%s: DescribeConfigs: %d resources", s.name, len(resp.Resources))
		}
		return errText(resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage)
	}},
	{"CreatePartitions/decrease", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.TimeoutMillis = 15000
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = "diff-data", 1
		req.Topics = append(req.Topics, rt)
		resp := s.do(t, req).(*kmsg.CreatePartitionsResponse)
		if len(resp.Topics) != 1 {
			t.Fatalf("%s: CreatePartitions: %d topics", s.name, len(resp.Topics))
		}
		return errText(resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage)
	}},
	{"DeleteRecords/beyond-high-watermark", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrDeleteRecordsRequest()
		req.TimeoutMillis = 15000
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = "diff-data"
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = 0, 100
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := s.do(t, req).(*kmsg.DeleteRecordsResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: DeleteRecords: unexpected answer %+v", s.name, resp)
		}
		p := resp.Topics[0].Partitions[0]
		return fmt.Sprintf("%s lowWatermark=%d", errText(p.ErrorCode, nil), p.LowWatermark)
	}},
	{"DeleteGroups/missing", func(t *testing.T, s *diffSide) string {
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Groups = []string{"diff-no-such-group"}
		resp := s.do(t, req).(*kmsg.DeleteGroupsResponse)
		if len(resp.Groups) != 1 {
			t.Fatalf("%s: DeleteGroups: %d groups", s.name, len(resp.Groups))
		}
		return errText(resp.Groups[0].ErrorCode, nil)
	}},
	{"CreateTopics/collides", func(t *testing.T, s *diffSide) string {
		if got := createTopicAnswer(t, s, createTopicReq("diff.collide", 1, 1)); got != "NONE" {
			t.Fatalf("%s: creating diff.collide: %s", s.name, got)
		}
		return createTopicAnswer(t, s, createTopicReq("diff_collide", 1, 1))
	}},
	{"CreateTopics/validate-only-bad-rf", func(t *testing.T, s *diffSide) string {
		req := createTopicReq("diff-validate", 1, 0)
		req.ValidateOnly = true
		return createTopicAnswer(t, s, req)
	}},
	{"Produce/invalid-acks", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = 2, 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "diff-data"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = 0, harness.IdempotentBatch(-1, -1, -1, []byte("x"))
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := s.rawDo(t, req).(*kmsg.ProduceResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: Produce: unexpected answer %+v", s.name, resp)
		}
		p := resp.Topics[0].Partitions[0]
		return errText(p.ErrorCode, p.ErrorMessage)
	}},
	{"ListOffsets/unknown-topic", func(t *testing.T, s *diffSide) string {
		return listOffsetsAnswer(t, s, "diff-no-such-topic", 0, -1)
	}},
	{"Metadata/invalid-topic-name", func(t *testing.T, s *diffSide) string {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("bad name!")
		req.Topics = append(req.Topics, rt)
		md := s.do(t, req).(*kmsg.MetadataResponse)
		if len(md.Topics) != 1 {
			t.Fatalf("%s: Metadata: %d topics", s.name, len(md.Topics))
		}
		return errText(md.Topics[0].ErrorCode, nil)
	}},
	{"IncrementalAlterConfigs/bad-value", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return incrementalAlterAnswer(t, s, "diff-data", "segment.bytes", "12")
	}},
	{"IncrementalAlterConfigs/unknown-config", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return incrementalAlterAnswer(t, s, "diff-data", "no.such.config", "1")
	}},
	{"IncrementalAlterConfigs/unknown-topic", func(t *testing.T, s *diffSide) string {
		return incrementalAlterAnswer(t, s, "diff-no-such-topic", "retention.ms", "1000")
	}},
	{"Heartbeat/unknown-group", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-hb")
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = "diff-hb", 1, "nobody"
		return errText(s.do(t, req).(*kmsg.HeartbeatResponse).ErrorCode, nil)
	}},
	{"SyncGroup/unknown-member", func(t *testing.T, s *diffSide) string {
		_, gen := joinGroup(t, s, "diff-sync")
		req := kmsg.NewPtrSyncGroupRequest()
		req.Group, req.Generation, req.MemberID = "diff-sync", gen, "nobody"
		req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
		return errText(s.do(t, req).(*kmsg.SyncGroupResponse).ErrorCode, nil)
	}},
	{"LeaveGroup/unknown-member", func(t *testing.T, s *diffSide) string {
		joinGroup(t, s, "diff-leave")
		req := kmsg.NewPtrLeaveGroupRequest()
		req.Group, req.MemberID = "diff-leave", "nobody"
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = "nobody"
		req.Members = append(req.Members, m)
		resp := s.do(t, req).(*kmsg.LeaveGroupResponse)
		out := errText(resp.ErrorCode, nil)
		for _, m := range resp.Members {
			out += fmt.Sprintf(" member %s: %s", m.MemberID, errText(m.ErrorCode, nil))
		}
		return out
	}},
	{"OffsetFetch/unknown-group", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		waitCoordinator(t, s, "diff-fetch-nogroup")
		return offsetFetchAnswer(t, s, "diff-fetch-nogroup", "diff-data")
	}},
	{"DescribeGroups/missing", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-no-such-group")
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{"diff-no-such-group"}
		resp := s.do(t, req).(*kmsg.DescribeGroupsResponse)
		if len(resp.Groups) != 1 {
			t.Fatalf("%s: DescribeGroups: %d groups", s.name, len(resp.Groups))
		}
		g := resp.Groups[0]
		return fmt.Sprintf("%s state=%q protocolType=%q members=%d", errText(g.ErrorCode, g.ErrorMessage), g.State, g.ProtocolType, len(g.Members))
	}},
	{"CreateTopics/partitions-and-assignment", func(t *testing.T, s *diffSide) string {
		req := createTopicReq("diff-both", 2, 1)
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = 0, []int32{0}
		req.Topics[0].ReplicaAssignment = append(req.Topics[0].ReplicaAssignment, a)
		return createTopicAnswer(t, s, req)
	}},
	{"CreateTopics/duplicate-in-request", func(t *testing.T, s *diffSide) string {
		req := createTopicReq("diff-dup", 1, 1)
		req.Topics = append(req.Topics, req.Topics[0])
		resp := s.do(t, req).(*kmsg.CreateTopicsResponse)
		var out []string
		for _, rt := range resp.Topics {
			out = append(out, rt.Topic+": "+errText(rt.ErrorCode, rt.ErrorMessage))
		}
		return strings.Join(out, "; ")
	}},
	{"Produce/corrupt-crc", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		b := harness.IdempotentBatch(-1, -1, -1, []byte("x"))
		b[20] ^= 0xff
		return produceBatch(t, s, "diff-data", b)
	}},
	{"Produce/message-too-large", func(t *testing.T, s *diffSide) string {
		if got := createTopicAnswer(t, s, createTopicReq("diff-small", 1, 1, "max.message.bytes", "200")); got != "NONE" {
			t.Fatalf("%s: creating diff-small: %s", s.name, got)
		}
		ensureTopic(t, s, "diff-small", 1, 0)
		return produceBatch(t, s, "diff-small", harness.IdempotentBatch(-1, -1, -1, []byte(strings.Repeat("x", 500))))
	}},
	{"Produce/idempotent-sequence", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-idem", 1, 0)
		pid, epoch := producerID(t, s)
		first := produceBatch(t, s, "diff-idem", harness.IdempotentBatch(pid, epoch, 0, []byte("a")))
		dup := produceBatch(t, s, "diff-idem", harness.IdempotentBatch(pid, epoch, 0, []byte("a")))
		gap := produceBatch(t, s, "diff-idem", harness.IdempotentBatch(pid, epoch, 5, []byte("b")))
		fenced := produceBatch(t, s, "diff-idem", harness.IdempotentBatch(pid, epoch-1, 1, []byte("c")))
		return fmt.Sprintf("first: %s; duplicate: %s; gap: %s; older epoch: %s", first, dup, gap, fenced)
	}},
	// ReplicaManager.appendToLocalLog's answers, checked here against Kafka
	// itself: an internal topic refuses a client's append; a keyless record
	// on a compacted topic and a timestamp outside
	// message.timestamp.before.max.ms are record errors (message and
	// record_errors, the log start offset); min.insync.replicas above the
	// replication factor is capped by it (Partition's effective min ISR),
	// so the append succeeds.
	{"Produce/internal-topic", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-internal")
		return produceFull(t, s, "__consumer_offsets", harness.IdempotentBatch(-1, -1, -1, []byte("x")))
	}},
	{"Produce/compacted-no-key", func(t *testing.T, s *diffSide) string {
		if got := createTopicAnswer(t, s, createTopicReq("diff-compact", 1, 1, "cleanup.policy", "compact")); got != "NONE" {
			t.Fatalf("%s: creating diff-compact: %s", s.name, got)
		}
		ensureTopic(t, s, "diff-compact", 1, 0)
		return produceFull(t, s, "diff-compact", harness.IdempotentBatch(-1, -1, -1, []byte("x")))
	}},
	{"Produce/timestamp-too-old", func(t *testing.T, s *diffSide) string {
		if got := createTopicAnswer(t, s, createTopicReq("diff-oldts", 1, 1, "message.timestamp.before.max.ms", "3600000")); got != "NONE" {
			t.Fatalf("%s: creating diff-oldts: %s", s.name, got)
		}
		ensureTopic(t, s, "diff-oldts", 1, 0)
		// The bounds in the record error are the broker's clock: masked.
		bounds := regexp.MustCompile(`within \[-?\d+, -?\d+\]`)
		return bounds.ReplaceAllString(produceFull(t, s, "diff-oldts", batchAt(harness.IdempotentBatch(-1, -1, -1, []byte("x")), 100)), "within [lo, hi]")
	}},
	{"Produce/min-isr-above-replication-factor", func(t *testing.T, s *diffSide) string {
		if got := createTopicAnswer(t, s, createTopicReq("diff-minisr", 1, 1, "min.insync.replicas", "2")); got != "NONE" {
			t.Fatalf("%s: creating diff-minisr: %s", s.name, got)
		}
		ensureTopic(t, s, "diff-minisr", 1, 0)
		return produceFull(t, s, "diff-minisr", harness.IdempotentBatch(-1, -1, -1, []byte("x")))
	}},
	{"Produce/new-producer-nonzero-sequence", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-idem2", 1, 0)
		pid, epoch := producerID(t, s)
		return produceBatch(t, s, "diff-idem2", harness.IdempotentBatch(pid, epoch, 7, []byte("a")))
	}},
	{"Fetch/unknown-leader-epoch", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "diff-data", diffTopicID(t, s, "diff-data")
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = 0, 0, 1<<20, 99, -1, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := s.do(t, req).(*kmsg.FetchResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			return "top-level " + errText(resp.ErrorCode, nil)
		}
		p := resp.Topics[0].Partitions[0]
		return fmt.Sprintf("%s hw=%d", errText(p.ErrorCode, nil), p.HighWatermark)
	}},
	{"ListOffsets/unknown-leader-epoch", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "diff-data"
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, 99
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		p := s.do(t, req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		return fmt.Sprintf("%s offset=%d", errText(p.ErrorCode, nil), p.Offset)
	}},
	{"OffsetForLeaderEpoch/future-epoch", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
		rt.Topic = "diff-data"
		rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
		rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = 0, -1, 99
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := s.do(t, req).(*kmsg.OffsetForLeaderEpochResponse)
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("%s: OffsetForLeaderEpoch: unexpected answer %+v", s.name, resp)
		}
		p := resp.Topics[0].Partitions[0]
		return fmt.Sprintf("%s leaderEpoch=%d endOffset=%d", errText(p.ErrorCode, nil), p.LeaderEpoch, p.EndOffset)
	}},
	{"DescribeConfigs/other-broker", func(t *testing.T, s *diffSide) string {
		return describeConfigsAnswer(t, s, kmsg.ConfigResourceTypeBroker, "7")
	}},
	{"DescribeConfigs/bad-broker-id", func(t *testing.T, s *diffSide) string {
		return describeConfigsAnswer(t, s, kmsg.ConfigResourceTypeBroker, "abc")
	}},
	{"ElectLeaders/unknown-partition", func(t *testing.T, s *diffSide) string {
		return electAnswer(t, s, "diff-no-such-topic", 0)
	}},
	{"ElectLeaders/not-needed", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return electAnswer(t, s, "diff-data", 0)
	}},
	{"AlterPartitionAssignments/unknown-topic", func(t *testing.T, s *diffSide) string {
		return reassignAnswer(t, s, "diff-no-such-topic", []int32{0})
	}},
	{"AlterPartitionAssignments/unknown-broker", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return reassignAnswer(t, s, "diff-data", []int32{7})
	}},
	{"AlterPartitionAssignments/duplicate-replica", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return reassignAnswer(t, s, "diff-data", []int32{0, 0})
	}},
	{"CreatePartitions/unknown-topic", func(t *testing.T, s *diffSide) string {
		return createPartitionsAnswer(t, s, "diff-no-such-topic", 3)
	}},
	{"CreatePartitions/fewer", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-3p", 3, 0)
		return createPartitionsAnswer(t, s, "diff-3p", 2)
	}},
	{"OffsetDelete/unknown-group", func(t *testing.T, s *diffSide) string {
		waitCoordinator(t, s, "diff-od")
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = "diff-od"
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = "diff-data"
		rp := kmsg.NewOffsetDeleteRequestTopicPartition()
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		return errText(s.do(t, req).(*kmsg.OffsetDeleteResponse).ErrorCode, nil)
	}},
	{"JoinGroup/unknown-member-id", func(t *testing.T, s *diffSide) string {
		joinGroup(t, s, "diff-join3")
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = "diff-join3", 10000, 10000
		req.MemberID, req.ProtocolType = "nobody", "consumer"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = "range"
		req.Protocols = append(req.Protocols, p)
		return errText(s.do(t, req).(*kmsg.JoinGroupResponse).ErrorCode, nil)
	}},
	{"JoinGroup/protocol-type-mismatch", func(t *testing.T, s *diffSide) string {
		joinGroup(t, s, "diff-join4")
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = "diff-join4", 10000, 10000
		req.ProtocolType = "connect"
		p := kmsg.NewJoinGroupRequestProtocol()
		p.Name = "default"
		req.Protocols = append(req.Protocols, p)
		return errText(s.do(t, req).(*kmsg.JoinGroupResponse).ErrorCode, nil)
	}},
	{"Heartbeat/wrong-generation", func(t *testing.T, s *diffSide) string {
		member, gen := joinGroup(t, s, "diff-hb2")
		req := kmsg.NewPtrHeartbeatRequest()
		req.Group, req.Generation, req.MemberID = "diff-hb2", gen+1, member
		return errText(s.do(t, req).(*kmsg.HeartbeatResponse).ErrorCode, nil)
	}},
	{"IncrementalAlterConfigs/valid", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-data", 1, 3)
		return incrementalAlterAnswer(t, s, "diff-data", "retention.ms", "86400000")
	}},
	{"DeleteTopics/existing", func(t *testing.T, s *diffSide) string {
		ensureTopic(t, s, "diff-del", 2, 1)
		return deleteTopicAnswer(t, s, "diff-del")
	}},
	{"ApiVersions/unsupported-version", func(t *testing.T, s *diffSide) string {
		return rawApiVersions(t, s.addr, 99)
	}},
	{"ApiVersions/unsupported-version-header-v1", func(t *testing.T, s *diffSide) string {
		return rawUnsupportedHeader(t, s.addr, kmsg.ApiVersions, 99, false)
	}},
	{"Metadata/unsupported-version", func(t *testing.T, s *diffSide) string {
		return rawUnsupported(t, s.addr, kmsg.Metadata, 99)
	}},
}

// znodeView reads one cluster's znodes: the path is inside its chroot.
type znodeView struct {
	name   string
	zk     *zkmeta.Client
	chroot string
}

func (v znodeView) get(t *testing.T, path string) (string, bool) {
	t.Helper()
	data, _, err := v.zk.Get(v.chroot + path)
	if errors.Is(err, zkmeta.ErrNoNode) {
		return "", false
	}
	if err != nil {
		t.Fatalf("%s: get %s: %v", v.name, path, err)
	}
	return string(data), true
}

func (v znodeView) children(t *testing.T, path string) []string {
	t.Helper()
	kids, err := v.zk.Children(v.chroot + path)
	if err != nil && !errors.Is(err, zkmeta.ErrNoNode) {
		t.Fatalf("%s: children %s: %v", v.name, path, err)
	}
	slices.Sort(kids)
	return kids
}

// normaliseZnode parses a znode's JSON and replaces what differs between
// any two clusters (ids, ports, timestamps, epochs) with placeholders;
// encoding/json sorts the keys. Data that is not a JSON object is kept.
func normaliseZnode(data string, volatile ...string) string {
	var m map[string]any
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		return data
	}
	for _, k := range volatile {
		if _, ok := m[k]; ok {
			m[k] = "<" + k + ">"
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// knownZnodeDifferences lists znodes whose normalised data differ, Kafka's
// beside ours (keyed by path, or "children of <path>").
var knownZnodeDifferences = map[string]knownDifference{}

// refZnodes compares, after the differential cases ran on both, the znodes
// Kafka 3.9 and our broker wrote, normalised (see normaliseZnode).
func refZnodes(t *testing.T, ref *cluster.KafkaRef, ours *cluster.Cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	kzk, err := zkmeta.Connect(ctx, ref.ZK, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("connecting to Kafka's ZooKeeper: %v", err)
	}
	defer kzk.Close()
	views := []znodeView{{"kafka", kzk, ref.Chroot}, {"ours", ours.ZKConn(), ours.ZKPath("")}}
	compare := func(what, k, o string) {
		t.Helper()
		kd, known := knownZnodeDifferences[what]
		switch {
		case k == o && known:
			t.Errorf("%s: agree now (%s); drop it from knownZnodeDifferences", what, k)
		case k != o && !known:
			t.Errorf("%s differs:\n  Kafka 3.9: %s\n  ours:      %s", what, k, o)
		case k != o && (kd.kafka != k || kd.ours != o):
			t.Errorf("%s differs, not as knownZnodeDifferences records:\n  Kafka 3.9: %s\n  recorded:  %s\n  ours:      %s\n  recorded:  %s", what, k, kd.kafka, o, kd.ours)
		default:
			t.Logf("%s: %s", what, k)
		}
	}
	// DeleteTopics/existing: the topic's znodes go, and the deletion marker,
	// before the children are compared (a deletion still under way on one
	// side would show as a difference).
	for _, v := range views {
		harness.Poll(t, 30*time.Second, v.name+": diff-del deleted", func() (bool, string) {
			_, topic := v.get(t, "/brokers/topics/diff-del")
			_, marker := v.get(t, "/admin/delete_topics/diff-del")
			_, cfg := v.get(t, "/config/topics/diff-del")
			return !topic && !marker && !cfg, fmt.Sprintf("topic znode %v, marker %v, config %v", topic, marker, cfg)
		})
	}
	for _, path := range []string{"", "/brokers", "/config", "/admin", "/admin/delete_topics"} {
		compare("children of "+path, fmt.Sprint(views[0].children(t, path)), fmt.Sprint(views[1].children(t, path)))
	}
	for _, z := range []struct {
		path     string
		volatile []string
	}{
		{"/cluster/id", []string{"id"}},
		{"/controller", []string{"timestamp"}},
		{"/brokers/ids/0", []string{"port", "timestamp", "endpoints"}},
		{"/brokers/topics/diff-data", []string{"topic_id"}},
		{"/brokers/topics/diff-3p", []string{"topic_id"}},
		{"/brokers/topics/diff-data/partitions/0/state", []string{"controller_epoch"}},
		{"/config/topics/diff-small", nil},
		{"/config/topics/diff-data", nil},
		// The block moves on with every start that needs one (the reference
		// restarted in TestKafka39Reference/Restart): its size is checked below.
		{"/latest_producer_id_block", []string{"block_start", "block_end"}},
		{"/brokers/seqid", nil},
	} {
		var got [2]string
		for i, v := range views {
			data, ok := v.get(t, z.path)
			got[i] = "<no node>"
			if ok {
				got[i] = normaliseZnode(data, z.volatile...)
			}
		}
		compare(z.path, got[0], got[1])
	}
	// The newest config change notice (IncrementalAlterConfigs/valid).
	var newest [2]string
	for i, v := range views {
		kids := v.children(t, "/config/changes")
		if len(kids) == 0 {
			newest[i] = "<none>"
			continue
		}
		data, _ := v.get(t, "/config/changes/"+kids[len(kids)-1])
		newest[i] = normaliseZnode(data)
	}
	compare("newest /config/changes child", newest[0], newest[1])
	for _, v := range views {
		data, _ := v.get(t, "/latest_producer_id_block")
		var blk struct {
			Start string `json:"block_start"`
			End   string `json:"block_end"`
		}
		_ = json.Unmarshal([]byte(data), &blk)
		start, err1 := strconv.ParseInt(blk.Start, 10, 64)
		end, err2 := strconv.ParseInt(blk.End, 10, 64)
		if err1 != nil || err2 != nil || start%1000 != 0 || end-start != 999 {
			t.Errorf("%s: /latest_producer_id_block %s: not a block of 1000 ids", v.name, data)
		}
	}
	// Every endpoint names the broker's own port; only the form is compared.
	for i, v := range views {
		data, _ := v.get(t, "/brokers/ids/0")
		var reg struct {
			Host      string   `json:"host"`
			Port      int      `json:"port"`
			Endpoints []string `json:"endpoints"`
		}
		if err := json.Unmarshal([]byte(data), &reg); err != nil {
			t.Fatalf("%s: /brokers/ids/0: %v", views[i].name, err)
		}
		if want := fmt.Sprintf("PLAINTEXT://%s:%d", reg.Host, reg.Port); !slices.Equal(reg.Endpoints, []string{want}) {
			t.Errorf("%s: /brokers/ids/0 endpoints %v, want [%s]", views[i].name, reg.Endpoints, want)
		}
	}
}
