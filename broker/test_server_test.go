package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"log/slog"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// testPartitionState is one partition's state as the controller sends it.
type testPartitionState struct {
	leader, leaderEpoch int32
	isr, replicas       []int32
}

// testTopic is a topic the test server knows: its id, topic config
// overrides (as /config/topics/<name> would hold) and partitions, indexed
// by partition id.
type testTopic struct {
	name       string
	id         [16]byte
	configs    map[string]string
	partitions []testPartitionState
}

// testServerConfig is what newTestServer builds; testServerOptions change it.
type testServerConfig struct {
	brokerID   int32
	brokers    []int32
	controller int32
	clusterID  string
	topics     []testTopic
}

type testServerOption func(*testServerConfig)

// withBrokerID makes the server broker id (default 1).
func withBrokerID(id int32) testServerOption {
	return func(c *testServerConfig) { c.brokerID = id }
}

// withBrokers sets the live brokers the metadata cache knows (default 1, 2, 3).
func withBrokers(ids ...int32) testServerOption {
	return func(c *testServerConfig) { c.brokers = ids }
}

// withController sets the controller id UpdateMetadata names (default 1).
func withController(id int32) testServerOption {
	return func(c *testServerConfig) { c.controller = id }
}

// withTopic adds a topic; partitions are ids 0, 1, ... in order.
func withTopic(name string, id [16]byte, configs map[string]string, partitions ...testPartitionState) testServerOption {
	return func(c *testServerConfig) {
		c.topics = append(c.topics, testTopic{name: name, id: id, configs: configs, partitions: partitions})
	}
}

// testControllerEpoch is the controller epoch of every control request the
// test server gets.
const testControllerEpoch = 1

// newTestServer is a broker Server without ZooKeeper (zk nil): one temp log
// dir, auto topic creation off, and the state a controller would give it.
// Each topic's configs are set on the log manager first (what
// refreshTopicConfig reads from ZooKeeper), then the partitions this broker
// replicates get a LeaderAndIsr request and every partition an
// UpdateMetadata request, both through dispatch as from a connection. The
// brokers' endpoints are 127.0.0.1 with port = broker id, where nothing
// listens: a follower's fetcher only backs off.
func newTestServer(t *testing.T, opts ...testServerOption) *Server {
	t.Helper()
	c := testServerConfig{brokerID: 1, brokers: []int32{1, 2, 3}, controller: 1, clusterID: "test-cluster"}
	for _, o := range opts {
		o(&c)
	}
	cfg := DefaultConfig()
	cfg.BrokerID = c.brokerID
	cfg.AutoCreateTopics = false
	logger := slog.New(slog.DiscardHandler)
	logs, err := storage.OpenManager([]string{t.TempDir()}, cfg.Storage, logger)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: cfg, logger: logger, logs: logs, cache: newMetadataCache(), clusterID: c.clusterID}
	s.replicas = newReplicaManager(cfg, logs, nil, logger, s.cache, s.brokerEpoch.Load)
	t.Cleanup(func() {
		s.replicas.shutdown()
		_ = logs.Close()
	})
	for _, tt := range c.topics {
		if len(tt.configs) > 0 {
			lc, err := logs.DefaultConfig().WithOverrides(tt.configs)
			if err != nil {
				t.Fatalf("topic %s configs: %v", tt.name, err)
			}
			logs.SetTopicConfig(tt.name, lc)
		}
	}
	// The controller sends LeaderAndIsr to the replicas, then UpdateMetadata
	// to every live broker (ControllerChannelManager.sendRequestsToBrokers).
	for _, tt := range c.topics {
		for i, ps := range tt.partitions {
			if !slices.Contains(ps.replicas, c.brokerID) {
				continue
			}
			if err := sendLeaderAndIsr(t, s, c.controller, tt.name, tt.id, int32(i), ps, c.brokers); err != nil {
				t.Fatalf("LeaderAndIsr %s-%d: %v", tt.name, i, err)
			}
		}
	}
	var parts []updatedPartition
	for _, tt := range c.topics {
		for i, ps := range tt.partitions {
			parts = append(parts, updatedPartition{topic: tt.name, id: tt.id, partition: int32(i), state: ps})
		}
	}
	sendUpdateMetadata(t, s, c.controller, c.brokers, parts)
	return s
}

// sendLeaderAndIsr sends one partition's state in a LeaderAndIsr v5
// request (topic ids) through dispatch and returns the partition's error.
func sendLeaderAndIsr(t *testing.T, s *Server, controller int32, topic string, id [16]byte, partition int32, ps testPartitionState, live []int32) error {
	t.Helper()
	req := kmsg.NewPtrLeaderAndISRRequest()
	req.Version = 5
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = controller, testControllerEpoch, -1
	ts := kmsg.NewLeaderAndISRRequestTopicState()
	ts.Topic, ts.TopicID = topic, id
	p := kmsg.NewLeaderAndISRRequestTopicPartition()
	p.Topic, p.Partition, p.Leader, p.LeaderEpoch, p.ISR, p.Replicas, p.ZKVersion = topic, partition, ps.leader, ps.leaderEpoch, ps.isr, ps.replicas, ps.leaderEpoch
	ts.PartitionStates = append(ts.PartitionStates, p)
	req.TopicStates = append(req.TopicStates, ts)
	for _, b := range live {
		l := kmsg.NewLeaderAndISRRequestLiveLeader()
		l.BrokerID, l.Host, l.Port = b, "127.0.0.1", b
		req.LiveLeaders = append(req.LiveLeaders, l)
	}
	resp := dispatchRequest(t, s, req).(*kmsg.LeaderAndISRResponse)
	if resp.ErrorCode != 0 {
		return kerr.ErrorForCode(resp.ErrorCode)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("LeaderAndIsr response %+v", resp)
	}
	return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// updatedPartition is one partition state in an UpdateMetadata request.
type updatedPartition struct {
	topic     string
	id        [16]byte
	partition int32
	state     testPartitionState
}

// sendUpdateMetadata sends an UpdateMetadata v7 request (topic ids) with
// the live brokers (at 127.0.0.1, port = id) and the partition states
// through dispatch; partitions it does not name keep their state.
func sendUpdateMetadata(t *testing.T, s *Server, controller int32, live []int32, parts []updatedPartition) {
	t.Helper()
	req := kmsg.NewPtrUpdateMetadataRequest()
	req.Version = 7
	req.ControllerID, req.ControllerEpoch, req.BrokerEpoch = controller, testControllerEpoch, -1
	for _, b := range live {
		lb := kmsg.NewUpdateMetadataRequestLiveBroker()
		lb.ID = b
		e := kmsg.NewUpdateMetadataRequestLiveBrokerEndpoint()
		e.Host, e.Port, e.ListenerName, e.SecurityProtocol = "127.0.0.1", b, "PLAINTEXT", 0
		lb.Endpoints = append(lb.Endpoints, e)
		req.LiveBrokers = append(req.LiveBrokers, lb)
	}
	for _, up := range parts {
		if n := len(req.TopicStates); n == 0 || req.TopicStates[n-1].Topic != up.topic {
			ts := kmsg.NewUpdateMetadataRequestTopicState()
			ts.Topic, ts.TopicID = up.topic, up.id
			req.TopicStates = append(req.TopicStates, ts)
		}
		ts := &req.TopicStates[len(req.TopicStates)-1]
		p := kmsg.NewUpdateMetadataRequestTopicPartition()
		p.Topic, p.Partition, p.ControllerEpoch = up.topic, up.partition, testControllerEpoch
		ps := up.state
		p.Leader, p.LeaderEpoch, p.ISR, p.Replicas, p.ZKVersion = ps.leader, ps.leaderEpoch, ps.isr, ps.replicas, ps.leaderEpoch
		ts.PartitionStates = append(ts.PartitionStates, p)
	}
	if resp := dispatchRequest(t, s, req).(*kmsg.UpdateMetadataResponse); resp.ErrorCode != 0 {
		t.Fatalf("UpdateMetadata: %v", kerr.ErrorForCode(resp.ErrorCode))
	}
}

// changePartitionState is a controller's leader change or ISR update of one
// partition: LeaderAndIsr to the server if it is a replica, then
// UpdateMetadata naming the new state, with the live brokers unchanged.
func changePartitionState(t *testing.T, s *Server, topic string, id [16]byte, partition int32, ps testPartitionState) {
	t.Helper()
	var live []int32
	for _, b := range s.cache.liveBrokers() {
		live = append(live, b.ID)
	}
	controller := s.cache.controller()
	if slices.Contains(ps.replicas, s.cfg.BrokerID) {
		if err := sendLeaderAndIsr(t, s, controller, topic, id, partition, ps, live); err != nil {
			t.Fatalf("LeaderAndIsr %s-%d: %v", topic, partition, err)
		}
	}
	sendUpdateMetadata(t, s, controller, live, []updatedPartition{{topic: topic, id: id, partition: partition, state: ps}})
}

// testCorrelationID is the correlation id of every request dispatchRequest sends.
const testCorrelationID = 4242

// dispatchRequest runs req through the server as a connection does: kmsg
// encodes the request frame a client would send (header included),
// protocol.ParseRequest decodes it, dispatch answers it, and the response
// frame is checked (size, correlation id, header tags) and its body decoded
// by kmsg at the request's version, which must encode back to the same
// bytes. A nil result means no response was sent (acks=0); a dispatch
// error (the connection would close) fails the test.
func dispatchRequest(t *testing.T, s *Server, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := dispatchRequestErr(t, s, req)
	if err != nil {
		t.Fatalf("%s v%d: dispatch: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

// dispatchRequestErr is dispatchRequest returning dispatch's error, with
// which the connection would be closed.
func dispatchRequestErr(t *testing.T, s *Server, req kmsg.Request) (kmsg.Response, error) {
	t.Helper()
	return dispatchAsync(t, s, req)()
}

// dispatchAsync starts dispatchRequestErr's dispatch on another goroutine
// (a request that waits, as acks=all, while the test sends others) and
// returns the wait for its outcome, to call on the test's goroutine.
func dispatchAsync(t *testing.T, s *Server, req kmsg.Request) func() (kmsg.Response, error) {
	t.Helper()
	return dispatchAsyncAs(t, s, "handler-test", req)
}

// dispatchAsyncAs is dispatchAsync with the request header's client id.
func dispatchAsyncAs(t *testing.T, s *Server, clientID string, req kmsg.Request) func() (kmsg.Response, error) {
	t.Helper()
	name, v := kmsg.NameForKey(req.Key()), req.GetVersion()
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID)).AppendRequest(nil, req, testCorrelationID)
	if got := int(binary.BigEndian.Uint32(frame)); got != len(frame)-4 {
		t.Fatalf("%s v%d request frame size %d for %d bytes", name, v, got, len(frame)-4)
	}
	hdr, parsed, err := protocol.ParseRequest(frame[4:])
	if err != nil {
		t.Fatalf("%s v%d request: %v", name, v, err)
	}
	type outcome struct {
		out *protocol.Response
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		out, err := s.dispatch(context.Background(), request{hdr: hdr, req: parsed, frame: frame[4:]})
		done <- outcome{out, err}
	}()
	return func() (kmsg.Response, error) {
		t.Helper()
		o := <-done
		if o.err != nil || o.out == nil {
			return nil, o.err
		}
		return decodeResponseFrame(t, req, o.out), nil
	}
}

// decodeResponseFrame checks a response frame to req (size, correlation
// id, header tags) and decodes its body with kmsg at req's version; the
// body must be kmsg's own encoding of what it decoded.
func decodeResponseFrame(t *testing.T, req kmsg.Request, out *protocol.Response) kmsg.Response {
	t.Helper()
	name, v := kmsg.NameForKey(req.Key()), req.GetVersion()
	b, err := out.Bytes()
	if err != nil {
		t.Fatalf("%s v%d response bytes: %v", name, v, err)
	}
	if len(b) < 8 {
		t.Fatalf("%s v%d response frame of %d bytes", name, v, len(b))
	}
	if got := int(binary.BigEndian.Uint32(b)); got != len(b)-4 {
		t.Fatalf("%s v%d response frame size %d for %d bytes", name, v, got, len(b)-4)
	}
	if id := int32(binary.BigEndian.Uint32(b[4:])); id != testCorrelationID {
		t.Fatalf("%s v%d correlation id %d, want %d", name, v, id, testCorrelationID)
	}
	body := b[8:]
	resp := req.ResponseKind()
	resp.SetVersion(v)
	// Response header v1 (flexible versions, KIP-482) carries tagged
	// fields, never for ApiVersions (KIP-511): none are sent.
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		if len(body) == 0 || body[0] != 0 {
			t.Fatalf("%s v%d response header tags %x, want none", name, v, body[:min(len(body), 1)])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("%s v%d response: %v", name, v, err)
	}
	if again := resp.AppendTo(nil); !bytes.Equal(again, body) {
		t.Fatalf("%s v%d response is not kmsg's encoding:\n got %x\nwant %x", name, v, body, again)
	}
	return resp
}
