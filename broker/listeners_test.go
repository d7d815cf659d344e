package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// plainBroker is a live broker with one PLAINTEXT listener, as tests feed
// the metadata cache.
func plainBroker(id int32, host string, port int32) cachedBroker {
	return cachedBroker{ID: id, Endpoints: []cachedEndpoint{{Listener: "PLAINTEXT", Host: host, Port: port, Protocol: Plaintext}}}
}

// twoListenerServer is a metadata-cache-only server where broker 0 has the
// PLAINTEXT and BROKER listeners and broker 1 only BROKER (Kafka logs
// "Listeners are not identical across brokers" and serves it): partition 0
// of "t" is led by 1, partition 1 by 0, both replicated on 0 and 1.
func twoListenerServer(t *testing.T) *Server {
	t.Helper()
	s := &Server{cfg: DefaultConfig(), logger: slog.New(slog.DiscardHandler), cache: newMetadataCache(), clusterID: "cid"}
	b0 := cachedBroker{ID: 0, Endpoints: []cachedEndpoint{
		{Listener: "PLAINTEXT", Host: "client0", Port: 9092}, {Listener: "BROKER", Host: "in0", Port: 29092}}}
	b1 := cachedBroker{ID: 1, Endpoints: []cachedEndpoint{{Listener: "BROKER", Host: "in1", Port: 29093}}}
	s.cache.update(1, 1, []cachedBroker{b0, b1}, []partitionUpdate{
		{Topic: "t", TopicID: [16]byte{1}, Partition: 0, State: cachedPartition{Leader: 1, ISR: []int32{1, 0}, Replicas: []int32{1, 0}}},
		{Topic: "t", TopicID: [16]byte{1}, Partition: 1, State: cachedPartition{Leader: 0, ISR: []int32{0, 1}, Replicas: []int32{0, 1}}},
	})
	return s
}

func onListener(name string) context.Context {
	return withSession(context.Background(), &session{listener: name, protocol: Plaintext, principal: Anonymous})
}

// Metadata answers from the request's listener (ZkMetadataCache
// getAliveBrokerNodes / getPartitionMetadata): a broker without it is left
// out; a partition it leads has leader -1 with LISTENER_NOT_FOUND from v6
// (errorUnavailableListeners), LEADER_NOT_AVAILABLE before; v0 also drops
// such replicas with REPLICA_NOT_AVAILABLE.
func TestMetadataPerListener(t *testing.T) {
	s := twoListenerServer(t)
	type part struct {
		leader   int32
		err      int16
		replicas []int32
	}
	cases := []struct {
		listener string
		version  int16
		brokers  []string
		parts    []part
	}{
		{"BROKER", 12, []string{"0 in0:29092", "1 in1:29093"}, []part{{1, 0, []int32{1, 0}}, {0, 0, []int32{0, 1}}}},
		{"PLAINTEXT", 12, []string{"0 client0:9092"}, []part{{-1, kerr.ListenerNotFound.Code, []int32{1, 0}}, {0, 0, []int32{0, 1}}}},
		{"PLAINTEXT", 6, []string{"0 client0:9092"}, []part{{-1, kerr.ListenerNotFound.Code, []int32{1, 0}}, {0, 0, []int32{0, 1}}}},
		{"PLAINTEXT", 5, []string{"0 client0:9092"}, []part{{-1, kerr.LeaderNotAvailable.Code, []int32{1, 0}}, {0, 0, []int32{0, 1}}}},
		{"PLAINTEXT", 0, []string{"0 client0:9092"}, []part{{-1, kerr.LeaderNotAvailable.Code, []int32{0}}, {0, kerr.ReplicaNotAvailable.Code, []int32{0}}}},
		{"SSL", 12, nil, []part{{-1, kerr.ListenerNotFound.Code, []int32{1, 0}}, {-1, kerr.ListenerNotFound.Code, []int32{0, 1}}}},
	}
	for _, c := range cases {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(c.version)
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("t")
		req.Topics = append(req.Topics, rt)
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleMetadata(onListener(c.listener), r.(*kmsg.MetadataRequest))
		}).(*kmsg.MetadataResponse)
		var brokers []string
		for _, b := range resp.Brokers {
			brokers = append(brokers, fmt.Sprintf("%d %s:%d", b.NodeID, b.Host, b.Port))
		}
		if !slices.Equal(brokers, c.brokers) {
			t.Errorf("%s v%d: brokers %q, want %q", c.listener, c.version, brokers, c.brokers)
		}
		if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
			t.Fatalf("%s v%d: topics %+v", c.listener, c.version, resp.Topics)
		}
		for i, p := range resp.Topics[0].Partitions {
			want := c.parts[i]
			if p.Leader != want.leader || p.ErrorCode != want.err || !slices.Equal(p.Replicas, want.replicas) {
				t.Errorf("%s v%d partition %d: leader %d error %d replicas %v, want %d %d %v",
					c.listener, c.version, i, p.Leader, p.ErrorCode, p.Replicas, want.leader, want.err, want.replicas)
			}
		}
		if resp.ControllerID != 1 && c.version >= 1 {
			t.Errorf("%s v%d: controller %d, want 1 (the controller id is not filtered by listener)", c.listener, c.version, resp.ControllerID)
		}
	}
}

// DescribeCluster lists the live brokers on the request's listener
// (getAliveBrokerNodes(request.context.listenerName)).
func TestDescribeClusterPerListener(t *testing.T) {
	s := twoListenerServer(t)
	for listener, want := range map[string][]string{
		"BROKER":    {"0 in0:29092", "1 in1:29093"},
		"PLAINTEXT": {"0 client0:9092"},
		"OTHER":     nil,
	} {
		req := kmsg.NewPtrDescribeClusterRequest()
		req.SetVersion(1)
		resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
			return s.handleDescribeCluster(onListener(listener), r.(*kmsg.DescribeClusterRequest))
		}).(*kmsg.DescribeClusterResponse)
		var got []string
		for _, b := range resp.Brokers {
			got = append(got, fmt.Sprintf("%d %s:%d", b.NodeID, b.Host, b.Port))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: brokers %q, want %q", listener, got, want)
		}
	}
}

// UpdateMetadata's live brokers as UpdateMetadataRequest reads them: v0
// is the PLAINTEXT node from host and port, v1-v2 endpoints are named after
// their security protocol, v3+ carry their listener names.
func TestUpdateMetadataEndpoints(t *testing.T) {
	lb := kmsg.NewUpdateMetadataRequestLiveBroker()
	lb.ID, lb.Host, lb.Port = 3, "plain", 9092
	lb.Endpoints = []kmsg.UpdateMetadataRequestLiveBrokerEndpoint{
		{Port: 9092, Host: "plain", ListenerName: "PLAINTEXT_HOST", SecurityProtocol: 0},
		{Port: 9093, Host: "tls", ListenerName: "INTERNAL", SecurityProtocol: 1},
	}
	cases := []struct {
		version int16
		want    []cachedEndpoint
	}{
		{0, []cachedEndpoint{{"PLAINTEXT", "plain", 9092, Plaintext}}},
		{1, []cachedEndpoint{{"PLAINTEXT", "plain", 9092, Plaintext}, {"SSL", "tls", 9093, SSL}}},
		{2, []cachedEndpoint{{"PLAINTEXT", "plain", 9092, Plaintext}, {"SSL", "tls", 9093, SSL}}},
		{3, []cachedEndpoint{{"PLAINTEXT_HOST", "plain", 9092, Plaintext}, {"INTERNAL", "tls", 9093, SSL}}},
		{8, []cachedEndpoint{{"PLAINTEXT_HOST", "plain", 9092, Plaintext}, {"INTERNAL", "tls", 9093, SSL}}},
	}
	for _, c := range cases {
		// Through the wire at that version, as the controller sends it.
		req := kmsg.NewPtrUpdateMetadataRequest()
		req.SetVersion(c.version)
		req.LiveBrokers = []kmsg.UpdateMetadataRequestLiveBroker{lb}
		dec := kmsg.NewPtrUpdateMetadataRequest()
		dec.SetVersion(c.version)
		if err := dec.ReadFrom(req.AppendTo(nil)); err != nil {
			t.Fatal(err)
		}
		got := updateMetadataBroker(c.version, dec.LiveBrokers[0])
		if got.ID != 3 || !slices.Equal(got.Endpoints, c.want) {
			t.Errorf("v%d: %+v, want %+v", c.version, got.Endpoints, c.want)
		}
	}
}

// Each accepted connection's session carries the name and security
// protocol of the listener it came in on; every listener is bound and the
// advertised endpoints take the bound ports.
func TestListenBindsEveryListener(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0", "BROKER://127.0.0.1:0"}
	cfg.AdvertisedListeners = []string{"BROKER://127.0.0.1:0", "PLAINTEXT://localhost:0"}
	cfg.ListenerProtocols = map[string]SecurityProtocol{"PLAINTEXT": Plaintext, "BROKER": Plaintext}
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, ln := range s.listeners {
			ln.Close()
		}
	}()
	if len(s.listeners) != 2 {
		t.Fatalf("%d listeners bound", len(s.listeners))
	}
	adv := s.AdvertisedEndpoints()
	want := []string{fmt.Sprintf("BROKER://127.0.0.1:%d", s.bound[1].Port), fmt.Sprintf("PLAINTEXT://localhost:%d", s.bound[0].Port)}
	if len(adv) != 2 || adv[0].String() != want[0] || adv[1].String() != want[1] {
		t.Fatalf("advertised %v, want %v", adv, want)
	}

	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0", "SECURE://127.0.0.1:0"}
	cfg.AdvertisedListeners = nil
	cfg.ListenerProtocols = map[string]SecurityProtocol{"PLAINTEXT": Plaintext, "SECURE": SASLSSL}
	s2 := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	// A SASL listener with Kafka's default mechanism (GSSAPI, not served)
	// is refused before anything is bound.
	if err := s2.Listen(); err == nil || !strings.Contains(err.Error(), "sasl.enabled.mechanisms") {
		t.Fatalf("a SASL_SSL listener with GSSAPI: %v", err)
	}
	if len(s2.listeners) != 0 {
		t.Fatal("nothing may be bound when a listener is refused")
	}
}

// Where the registered address differs from Kafka 3.9's
// (KafkaServer.createBrokerInfo): an advertised endpoint without host is
// registered under InetAddress.getLocalHost.getCanonicalHostName by Kafka,
// under the bound address (127.0.0.1 for a wildcard bind) by us; "::" is
// registered as is by Kafka, as 127.0.0.1 by us.
func TestAdvertisedHostKnownDifferences(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://:0", "B://127.0.0.1:0", "C://[::]:0"}
	cfg.AdvertisedListeners = []string{"PLAINTEXT://:0", "B://:0", "C://[::]:0"}
	cfg.ListenerProtocols = map[string]SecurityProtocol{"PLAINTEXT": Plaintext, "B": Plaintext, "C": Plaintext}
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	if err := s.Listen(); err != nil {
		t.Skipf("no IPv6 wildcard here: %v", err)
	}
	defer func() {
		for _, ln := range s.listeners {
			ln.Close()
		}
	}()
	for i, want := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.1"} {
		if got := s.AdvertisedEndpoints()[i].Host; got != want {
			t.Errorf("%s: registered host %q, want %q (Kafka: the canonical host name, or :: as given)", cfg.AdvertisedListeners[i], got, want)
		}
	}
}

// ConnectionQuotas.protectedListener: with more than one listener the
// inter-broker listener is exempt from the broker-wide max.connections, so
// a full broker still takes its peers' connections; with one listener it
// is not.
func TestInterBrokerListenerProtected(t *testing.T) {
	for _, c := range []struct {
		bound     []Listener
		ib, on    string
		protected bool
	}{
		{[]Listener{{Name: "PLAINTEXT"}, {Name: "BROKER"}}, "BROKER", "BROKER", true},
		{[]Listener{{Name: "PLAINTEXT"}, {Name: "BROKER"}}, "BROKER", "PLAINTEXT", false},
		{[]Listener{{Name: "PLAINTEXT"}}, "PLAINTEXT", "PLAINTEXT", false},
	} {
		cfg := DefaultConfig()
		cfg.InterBrokerListener = c.ib
		cfg.StaticConfigs = map[string]string{"max.connections": "1"}
		s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler), bound: c.bound,
			conns: map[net.Conn]struct{}{nil: {}}, connsByListener: map[string]int{"PLAINTEXT": 1}}
		if got := s.protectedListener(c.on); got != c.protected {
			t.Errorf("%v, inter-broker %s, on %s: protected %v", c.bound, c.ib, c.on, got)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		s.mu.Lock()
		got := s.waitForConnectionSlot(ctx, c.on)
		s.mu.Unlock()
		cancel()
		if got != c.protected {
			t.Errorf("%v, on %s at max.connections: slot %v, want %v", c.bound, c.on, got, c.protected)
		}
	}
}
