package kafkadiff_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// TestNamedListeners runs the two listener setups users bring unchanged
// (issue 16, item 1), each as a 3-broker cluster on one ZooKeeper:
//
//   - Testcontainers: PLAINTEXT for clients plus BROKER between brokers,
//     inter.broker.listener.name=BROKER. The PLAINTEXT listener of every
//     broker is advertised on a port nobody listens on, so replication,
//     controller requests and forwarding only work if they use BROKER: an
//     acks=all produce at RF 3 must complete with the full ISR and HW.
//   - Confluent: PLAINTEXT (inter-broker) and PLAINTEXT_HOST, where broker
//     2 lacks PLAINTEXT_HOST: a client there does not see broker 2, gets
//     LISTENER_NOT_FOUND for a partition it leads and
//     COORDINATOR_NOT_AVAILABLE for a group it coordinates.
//
// A client on each listener gets that listener's addresses from Metadata,
// DescribeCluster and FindCoordinator. Beside them a real Kafka 3.9 broker
// with the Confluent settings registers in ZooKeeper: its /brokers/ids
// JSON must equal ours but for ports and timestamp.
func TestNamedListeners(t *testing.T) {
	zk := zktest.Start(t)
	// The reference JVM starts while our clusters come up.
	refHost, refInternal := cluster.FreePort(t), cluster.FreePort(t)
	ref := cluster.StartKafkaRef(t, zk.Addr, cluster.KafkaRefOptions{Port: refHost, NoWait: true, Overrides: map[string]string{
		"listeners":                      fmt.Sprintf("PLAINTEXT://0.0.0.0:%d,PLAINTEXT_HOST://0.0.0.0:%d", refInternal, refHost),
		"advertised.listeners":           fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,PLAINTEXT_HOST://localhost:%d", refInternal, refHost),
		"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
		"inter.broker.listener.name":     "PLAINTEXT",
	}})

	tc := startTestcontainersCluster(t, zk)
	cf := startConfluentCluster(t, zk)
	t.Run("Testcontainers", func(t *testing.T) { checkTestcontainers(t, tc) })
	t.Run("Confluent", func(t *testing.T) { checkConfluent(t, cf) })
	t.Run("Registration", func(t *testing.T) {
		ref.WaitReady(t)
		checkRegistrationLikeKafka(t, zk.Addr, ref.Chroot, cf.chroot)
	})
}

// listenerCluster is three of our brokers started with given listeners.
type listenerCluster struct {
	chroot  string // the chroot path, e.g. "/TestNamedListeners-1a2b"
	brokers []*cluster.RawBroker
	// addrs[listener][i] is broker i's advertised address on listener ("" if none).
	addrs map[string][]string
	// bound[listener][i] is where broker i really listens on listener.
	bound map[string][]string
}

func startListenerCluster(t *testing.T, zk *zktest.Server, settings func(id int) map[string]string) *listenerCluster {
	t.Helper()
	connect := zk.Chroot(t)
	c := &listenerCluster{chroot: strings.TrimPrefix(connect, zk.Addr)}
	for id := range 3 {
		s := settings(id)
		s["broker.id"] = strconv.Itoa(id)
		s["zookeeper.connect"] = connect
		s["log.dirs"] = t.TempDir()
		s["zookeeper.session.timeout.ms"] = "6000"
		s["offsets.topic.num.partitions"] = "3"
		s["group.initial.rebalance.delay.ms"] = "0"
		c.brokers = append(c.brokers, cluster.StartRawBroker(t, int32(id), s))
	}
	return c
}

func startTestcontainersCluster(t *testing.T, zk *zktest.Server) *listenerCluster {
	var plain, brokerPorts, closed []int
	for range 3 {
		plain, brokerPorts, closed = append(plain, cluster.FreePort(t)), append(brokerPorts, cluster.FreePort(t)), append(closed, cluster.FreePort(t))
	}
	c := startListenerCluster(t, zk, func(id int) map[string]string {
		// Testcontainers' KafkaContainer settings, ports made distinct per broker.
		return map[string]string{
			"listeners":                      fmt.Sprintf("PLAINTEXT://0.0.0.0:%d,BROKER://0.0.0.0:%d", plain[id], brokerPorts[id]),
			"advertised.listeners":           fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,BROKER://127.0.0.1:%d", closed[id], brokerPorts[id]),
			"listener.security.protocol.map": "BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
			"inter.broker.listener.name":     "BROKER",
		}
	})
	c.addrs = map[string][]string{"PLAINTEXT": {}, "BROKER": {}}
	c.bound = map[string][]string{"PLAINTEXT": {}, "BROKER": {}}
	for id := range 3 {
		c.addrs["PLAINTEXT"] = append(c.addrs["PLAINTEXT"], fmt.Sprintf("127.0.0.1:%d", closed[id]))
		c.addrs["BROKER"] = append(c.addrs["BROKER"], fmt.Sprintf("127.0.0.1:%d", brokerPorts[id]))
		c.bound["PLAINTEXT"] = append(c.bound["PLAINTEXT"], fmt.Sprintf("127.0.0.1:%d", plain[id]))
		c.bound["BROKER"] = append(c.bound["BROKER"], fmt.Sprintf("127.0.0.1:%d", brokerPorts[id]))
	}
	c.waitMetadata(t, "BROKER", []int32{0, 1, 2})
	return c
}

func startConfluentCluster(t *testing.T, zk *zktest.Server) *listenerCluster {
	var internal, host []int
	for range 3 {
		internal, host = append(internal, cluster.FreePort(t)), append(host, cluster.FreePort(t))
	}
	c := startListenerCluster(t, zk, func(id int) map[string]string {
		// The listeners of every Confluent-style docker-compose file; broker 2
		// has no PLAINTEXT_HOST listener.
		s := map[string]string{
			"listeners":                      fmt.Sprintf("PLAINTEXT://0.0.0.0:%d,PLAINTEXT_HOST://0.0.0.0:%d", internal[id], host[id]),
			"advertised.listeners":           fmt.Sprintf("PLAINTEXT://127.0.0.1:%d,PLAINTEXT_HOST://localhost:%d", internal[id], host[id]),
			"listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
			"inter.broker.listener.name":     "PLAINTEXT",
		}
		if id == 2 {
			s["listeners"] = fmt.Sprintf("PLAINTEXT://0.0.0.0:%d", internal[id])
			s["advertised.listeners"] = fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", internal[id])
		}
		return s
	})
	c.addrs = map[string][]string{"PLAINTEXT": {}, "PLAINTEXT_HOST": {}}
	for id := range 3 {
		c.addrs["PLAINTEXT"] = append(c.addrs["PLAINTEXT"], fmt.Sprintf("127.0.0.1:%d", internal[id]))
		h := ""
		if id != 2 {
			h = fmt.Sprintf("localhost:%d", host[id])
		}
		c.addrs["PLAINTEXT_HOST"] = append(c.addrs["PLAINTEXT_HOST"], h)
	}
	c.bound = c.addrs
	c.waitMetadata(t, "PLAINTEXT", []int32{0, 1, 2})
	return c
}

// waitMetadata polls (bounded) until broker 0's Metadata on listener lists ids.
func (c *listenerCluster) waitMetadata(t *testing.T, listener string, ids []int32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, b := range c.brokers {
			if b.Exited() {
				t.Fatalf("broker %d exited:\n%s", b.ID, b.LogTail(30))
			}
		}
		resp, err := c.metadata(listener, 0, 12, nil)
		if err == nil {
			var got []int32
			for _, b := range resp.Brokers {
				got = append(got, b.NodeID)
			}
			slices.Sort(got)
			if slices.Equal(got, ids) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("brokers %v not all in the metadata of %s within 60s (last error %v):\n%s", ids, listener, err, c.brokers[0].LogTail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// request sends req to broker id's real socket on listener.
func (c *listenerCluster) request(listener string, id int, req kmsg.Request) (kmsg.Response, error) {
	cl := protocol.NewClient(c.bound[listener][id], "listeners-test", 5*time.Second)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Request(ctx, req)
}

func (c *listenerCluster) metadata(listener string, id int, version int16, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(version)
	for _, tp := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(tp)
		req.Topics = append(req.Topics, rt)
	}
	if topics == nil && version > 0 {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	resp, err := c.request(listener, id, req)
	if err != nil {
		return nil, err
	}
	return resp.(*kmsg.MetadataResponse), nil
}

// brokerAddrs is what a client on listener is told: "id host:port", by id.
func brokerAddrs(mb []kmsg.MetadataResponseBroker) []string {
	var out []string
	for _, b := range mb {
		out = append(out, fmt.Sprintf("%d %s:%d", b.NodeID, b.Host, b.Port))
	}
	slices.Sort(out)
	return out
}

// expected is "id addr" for every broker with an address on listener.
func (c *listenerCluster) expected(listener string) []string {
	var out []string
	for id, a := range c.addrs[listener] {
		if a != "" {
			out = append(out, fmt.Sprintf("%d %s", id, a))
		}
	}
	return out
}

// checkListenerViews asks every broker, on every listener it has, for
// Metadata and DescribeCluster: the answer lists the brokers' addresses on
// that listener.
func checkListenerViews(t *testing.T, c *listenerCluster) {
	for listener := range c.addrs {
		for id := range 3 {
			if c.addrs[listener][id] == "" {
				continue
			}
			md, err := c.metadata(listener, id, 12, nil)
			if err != nil {
				t.Fatalf("Metadata on %s of broker %d: %v", listener, id, err)
			}
			if got := brokerAddrs(md.Brokers); !slices.Equal(got, c.expected(listener)) {
				t.Errorf("Metadata on %s of broker %d: brokers %q, want %q", listener, id, got, c.expected(listener))
			}
			dreq := kmsg.NewPtrDescribeClusterRequest()
			resp, err := c.request(listener, id, dreq)
			if err != nil {
				t.Fatalf("DescribeCluster on %s of broker %d: %v", listener, id, err)
			}
			var got []string
			for _, b := range resp.(*kmsg.DescribeClusterResponse).Brokers {
				got = append(got, fmt.Sprintf("%d %s:%d", b.NodeID, b.Host, b.Port))
			}
			slices.Sort(got)
			if !slices.Equal(got, c.expected(listener)) {
				t.Errorf("DescribeCluster on %s of broker %d: brokers %q, want %q", listener, id, got, c.expected(listener))
			}
		}
	}
}

// findCoordinator asks broker id on listener for key's group coordinator,
// polling (bounded) while __consumer_offsets is being created.
func (c *listenerCluster) findCoordinator(t *testing.T, listener string, id int, key string, waitReady bool) kmsg.FindCoordinatorResponseCoordinator {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.SetVersion(4)
		req.CoordinatorKeys = []string{key}
		resp, err := c.request(listener, id, req)
		if err != nil {
			t.Fatalf("FindCoordinator on %s: %v", listener, err)
		}
		co := resp.(*kmsg.FindCoordinatorResponse).Coordinators[0]
		if !waitReady || co.ErrorCode == 0 {
			return co
		}
		if time.Now().After(deadline) {
			t.Fatalf("FindCoordinator(%s) on %s: still error %d after 30s", key, listener, co.ErrorCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// groupFor is a group id whose __consumer_offsets partition (of n) is p:
// GroupMetadataManager.partitionFor, Utils.abs(groupId.hashCode) % n.
func groupFor(p, n int32) string {
	for i := 0; ; i++ {
		g := fmt.Sprintf("g%d", i)
		var h int32
		for _, r := range g {
			h = 31*h + r
		}
		if h == -1<<31 {
			h = 0
		} else if h < 0 {
			h = -h
		}
		if h%n == p {
			return g
		}
	}
}

// offsetsLeaders is the leader of each __consumer_offsets partition as the
// PLAINTEXT/BROKER (every broker's) listener shows it.
func (c *listenerCluster) offsetsLeaders(t *testing.T, listener string) map[int32]int32 {
	t.Helper()
	md, err := c.metadata(listener, 0, 12, []string{"__consumer_offsets"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int32{}
	for _, p := range md.Topics[0].Partitions {
		out[p.Partition] = p.Leader
	}
	return out
}

func checkTestcontainers(t *testing.T, c *listenerCluster) {
	checkListenerViews(t, c)

	// FindCoordinator answers with the coordinator's address on the
	// request's listener.
	c.findCoordinator(t, "BROKER", 0, "g0", true)
	leaders := c.offsetsLeaders(t, "BROKER")
	for _, listener := range []string{"PLAINTEXT", "BROKER"} {
		for p := int32(0); p < 3; p++ {
			key := groupFor(p, 3)
			co := c.findCoordinator(t, listener, 1, key, false)
			want := c.addrs[listener][leaders[p]]
			if got := fmt.Sprintf("%s:%d", co.Host, co.Port); co.ErrorCode != 0 || co.NodeID != leaders[p] || got != want {
				t.Errorf("FindCoordinator(%s) on %s: node %d %s error %d, want node %d %s", key, listener, co.NodeID, got, co.ErrorCode, leaders[p], want)
			}
		}
	}

	// Replication, controller requests and AlterPartition only work through
	// BROKER: PLAINTEXT is advertised where nobody listens.
	const topic, n = "tc-replicated", 60
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addrs["BROKER"]...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if r, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": kmsg.StringPtr("3")}, topic); err != nil || r.Err != nil {
		t.Fatalf("CreateTopic (forwarded to the controller over BROKER): %v %v", err, r.Err)
	}
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: topic, Value: fmt.Appendf(nil, "v%d", i)})
	}
	// Bounded here: kgo waits for a produce already sent whatever ctx says.
	produced := make(chan error, 1)
	go func() { produced <- cl.ProduceSync(ctx, recs...).FirstErr() }()
	select {
	case err := <-produced:
		if err != nil {
			t.Fatalf("acks=all produce at RF 3, min ISR 3: %v", err)
		}
	case <-time.After(50 * time.Second):
		t.Fatalf("acks=all produce at RF 3, min ISR 3: no answer within 50s")
	}
	md, err := c.metadata("BROKER", 2, 12, []string{topic})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range md.Topics[0].Partitions {
		if len(p.ISR) != 3 || p.ErrorCode != 0 {
			t.Errorf("partition %d: ISR %v error %d, want all three replicas", p.Partition, p.ISR, p.ErrorCode)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Errorf("end offset of %d: %v", o.Partition, o.Err)
		}
		total += o.Offset
	})
	if total != n {
		t.Errorf("high watermarks add up to %d, want %d", total, n)
	}
}

func checkConfluent(t *testing.T, c *listenerCluster) {
	checkListenerViews(t, c)

	// A partition led by broker 2 (no PLAINTEXT_HOST): LISTENER_NOT_FOUND
	// there from Metadata v6, LEADER_NOT_AVAILABLE before.
	const topic = "cf-topic"
	creq := kmsg.NewPtrCreateTopicsRequest()
	ct := kmsg.NewCreateTopicsRequestTopic()
	ct.Topic, ct.NumPartitions, ct.ReplicationFactor = topic, -1, -1
	ct.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{
		{Partition: 0, Replicas: []int32{2, 0, 1}}, {Partition: 1, Replicas: []int32{0, 1, 2}}}
	creq.Topics = []kmsg.CreateTopicsRequestTopic{ct}
	creq.TimeoutMillis = 10000
	md, err := c.metadata("PLAINTEXT", 0, 12, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.request("PLAINTEXT", int(md.ControllerID), creq) // ZooKeeper mode: only the controller creates
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.(*kmsg.CreateTopicsResponse).Topics[0].ErrorCode; code != 0 {
		t.Fatalf("CreateTopics: %v", kerr.ErrorForCode(code))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md, err := c.metadata("PLAINTEXT", 0, 12, []string{topic})
		if err == nil && len(md.Topics) == 1 && len(md.Topics[0].Partitions) == 2 &&
			md.Topics[0].Partitions[0].Leader == 2 && md.Topics[0].Partitions[1].Leader == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no leaders 2 and 0 after 30s: %v %+v", topic, err, md)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, v := range []struct {
		version int16
		err     *kerr.Error
	}{{12, kerr.ListenerNotFound}, {6, kerr.ListenerNotFound}, {5, kerr.LeaderNotAvailable}, {1, kerr.LeaderNotAvailable}} {
		md, err := c.metadata("PLAINTEXT_HOST", 0, v.version, []string{topic})
		if err != nil {
			t.Fatal(err)
		}
		ps := md.Topics[0].Partitions
		slices.SortFunc(ps, func(a, b kmsg.MetadataResponseTopicPartition) int { return int(a.Partition - b.Partition) })
		if ps[0].Leader != -1 || ps[0].ErrorCode != v.err.Code || ps[1].Leader != 0 || ps[1].ErrorCode != 0 {
			t.Errorf("Metadata v%d on PLAINTEXT_HOST: partition 0 leader %d error %d (want -1 %s), partition 1 leader %d error %d (want 0 none)",
				v.version, ps[0].Leader, ps[0].ErrorCode, v.err.Message, ps[1].Leader, ps[1].ErrorCode)
		}
		if got := brokerAddrs(md.Brokers); !slices.Equal(got, c.expected("PLAINTEXT_HOST")) {
			t.Errorf("Metadata v%d on PLAINTEXT_HOST: brokers %q", v.version, got)
		}
	}

	// A group coordinated by broker 2 has no coordinator on PLAINTEXT_HOST.
	c.findCoordinator(t, "PLAINTEXT", 0, "g0", true)
	leaders := c.offsetsLeaders(t, "PLAINTEXT")
	for p := int32(0); p < 3; p++ {
		key := groupFor(p, 3)
		co := c.findCoordinator(t, "PLAINTEXT", 0, key, false)
		if got := fmt.Sprintf("%s:%d", co.Host, co.Port); co.ErrorCode != 0 || got != c.addrs["PLAINTEXT"][leaders[p]] {
			t.Errorf("FindCoordinator(%s) on PLAINTEXT: %s error %d, want %s", key, got, co.ErrorCode, c.addrs["PLAINTEXT"][leaders[p]])
		}
		co = c.findCoordinator(t, "PLAINTEXT_HOST", 0, key, false)
		if leaders[p] == 2 {
			if co.ErrorCode != kerr.CoordinatorNotAvailable.Code || co.NodeID != -1 {
				t.Errorf("FindCoordinator(%s) on PLAINTEXT_HOST, coordinator 2 lacks it: node %d error %d, want -1 COORDINATOR_NOT_AVAILABLE", key, co.NodeID, co.ErrorCode)
			}
			continue
		}
		if got := fmt.Sprintf("%s:%d", co.Host, co.Port); co.ErrorCode != 0 || got != c.addrs["PLAINTEXT_HOST"][leaders[p]] {
			t.Errorf("FindCoordinator(%s) on PLAINTEXT_HOST: %s error %d, want %s", key, got, co.ErrorCode, c.addrs["PLAINTEXT_HOST"][leaders[p]])
		}
	}
}

// checkRegistrationLikeKafka compares /brokers/ids/0 of our Confluent-style
// broker 0 with the Kafka 3.9 broker's registration for the same settings:
// equal once ports and the timestamp are masked.
func checkRegistrationLikeKafka(t *testing.T, zkAddr, refChroot, ourChroot string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	zkc, err := zkmeta.Connect(ctx, zkAddr, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zkc.Close()
	theirs, _, err := zkc.Get(refChroot + "/brokers/ids/0")
	if err != nil {
		t.Fatal(err)
	}
	ours, _, err := zkc.Get(ourChroot + "/brokers/ids/0")
	if err != nil {
		t.Fatal(err)
	}
	mask := func(b []byte) string {
		s := regexp.MustCompile(`"timestamp":"\d+"`).ReplaceAllString(string(b), `"timestamp":"T"`)
		s = regexp.MustCompile(`:\d{2,5}"`).ReplaceAllString(s, `:PORT"`)
		return regexp.MustCompile(`"port":\d+`).ReplaceAllString(s, `"port":PORT`)
	}
	if mask(ours) != mask(theirs) {
		t.Errorf("/brokers/ids/0 differs from Kafka 3.9's:\nKafka: %s\nours:  %s", theirs, ours)
	}
	t.Logf("Kafka 3.9: %s", theirs)
}
