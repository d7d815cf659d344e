package compat_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/tlspki"
)

// checkReplicated produces n records with acks=all to a topic with RF 3
// and min.insync.replicas=minISR and checks, over the client's security,
// that every partition's high watermark counts them all and its ISR is
// want replicas.
func checkReplicated(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, from, n, wantISR int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		r := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Repeat("v", 100+i%50))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("acks=all produce %d to %s: %v", i, topic, err)
		}
	}
	adm := kadm.NewClient(cl)
	harness.Poll(t, 30*time.Second, "high watermark and ISR of "+topic, func() (bool, string) {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		md, err := adm.Metadata(ctx, topic)
		if err != nil {
			return false, err.Error()
		}
		var isrs []string
		full := true
		for _, p := range md.Topics[topic].Partitions.Sorted() {
			isrs = append(isrs, fmt.Sprint(p.ISR))
			full = full && len(p.ISR) == wantISR
		}
		return total == int64(from+n) && full, fmt.Sprintf("high watermarks sum %d, want %d; ISRs %v, want %d each", total, from+n, isrs, wantISR)
	})
}

// Three brokers whose only listener is SASL_SSL (the PLAINTEXT name mapped
// to it, so also the inter-broker and the controller's listener), brokers
// logging in as User:broker with SCRAM-SHA-512 (users made before start
// with our kafka-configs --zookeeper), the ACL authorizer on with
// User:broker a super user: acks=all writes to RF 3 need the followers'
// fetches (SASL_SSL), a full ISR needs AlterPartition and the controller's
// LeaderAndIsr (SASL_SSL). connections.max.reauth.ms is short on the
// listener, so every inter-broker connection outlives several sessions
// and must renew: the ISR never shrinks. Then the controller broker stops
// and the new controller still reaches the others: acks=all goes on with
// two replicas.
func TestInterBrokerSASLSSL(t *testing.T) {
	p := tlspki.New(t)
	c := cluster.Start(t, 0)
	for _, u := range []struct{ user, pass string }{{"broker", "broker-secret"}, {"admin", "admin-secret"}} {
		out, errOut, code := c.Tool("kafka-configs.sh", "--zookeeper", c.Connect, "--alter", "--entity-type", "users",
			"--entity-name", u.user, "--add-config", "SCRAM-SHA-512=[password="+u.pass+"]")
		if code != 0 {
			t.Fatalf("kafka-configs --zookeeper for %s: exit %d\n%s\n%s", u.user, code, out, errOut)
		}
	}
	const reauthMs = 2000
	common := []string{"listener.security.protocol.map=PLAINTEXT:SASL_SSL",
		"ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=" + tlspki.TrustPass,
		"sasl.enabled.mechanisms=SCRAM-SHA-512", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
		`listener.name.plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
		fmt.Sprintf("listener.name.plaintext.connections.max.reauth.ms=%d", reauthMs),
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "super.users=User:broker;User:admin",
		"offsets.topic.replication.factor=3", "replica.lag.time.max.ms=10000"}
	for i := range 3 {
		c.AddBroker(int32(i), append(append([]string{}, common...), p.Keystore(t, "PEM", fmt.Sprintf("broker%d", i))...)...)
	}
	opts := harness.SASLClientOpts(p.ClientTLS(), scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism())
	harness.WaitForSASLBrokers(t, c, opts, 0, 1, 2)

	cl := c.Client(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))...)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	minISR := "3"
	if resp, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "sasl-ssl-rep"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	checkReplicated(t, ctx, cl, "sasl-ssl-rep", 0, 100, 3)

	// Across re-authentication: several session lifetimes of steady
	// acks=all writes with min.insync.replicas=3; a follower whose
	// connection the leader closed for an expired session would fall
	// behind and the writes would fail or the ISR shrink.
	end := time.Now().Add(5 * reauthMs / 2 * time.Millisecond)
	written := 100
	for time.Now().Before(end) {
		checkReplicated(t, ctx, cl, "sasl-ssl-rep", written, 20, 3)
		written += 20
	}
	for id := range int32(3) {
		if log, _ := os.ReadFile(c.Broker(id).LogFile); strings.Contains(string(log), "expired session") || strings.Contains(string(log), "shrinking ISR") {
			t.Errorf("broker %d: an inter-broker connection outlived its SASL session or the ISR shrank: %s", id, c.LogTail(id, 40))
		}
	}

	// Controller failover: the new controller's channel and the
	// AlterPartition clients log in to it.
	old := controllerOf(t, c)
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "min.insync.replicas", Value: kadm.StringPtr("2")}}, "sasl-ssl-rep"); err != nil {
		t.Fatalf("min.insync.replicas=2: %v", err)
	}
	if code := c.Stop(old); code != 0 {
		t.Fatalf("controller broker %d exited %d", old, code)
	}
	var rest []int32
	for id := range int32(3) {
		if id != old {
			rest = append(rest, id)
		}
	}
	harness.Poll(t, 60*time.Second, "a new controller", func() (bool, string) {
		resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		if err != nil {
			return false, err.Error()
		}
		return resp.ControllerID >= 0 && resp.ControllerID != old, fmt.Sprintf("controller %d", resp.ControllerID)
	})
	checkReplicated(t, ctx, cl, "sasl-ssl-rep", written, 50, 2)
	// The restarted broker catches up over SASL_SSL and rejoins the ISR.
	c.Launch(old)
	harness.WaitForSASLBrokers(t, c, opts, 0, 1, 2)
	checkReplicated(t, ctx, cl, "sasl-ssl-rep", written+50, 10, 3)
}

// Three brokers on SASL_PLAINTEXT only, PLAIN between brokers (the JAAS
// entry's username and password, a user_ entry on every broker): acks=all
// with RF 3 and a full ISR.
func TestInterBrokerSASLPlaintext(t *testing.T) {
	c := cluster.Start(t, 0)
	common := []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
		`listener.name.plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";`,
		"offsets.topic.replication.factor=3"}
	for i := range 3 {
		c.AddBroker(int32(i), common...)
	}
	opts := harness.SASLClientOpts(nil, plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	harness.WaitForSASLBrokers(t, c, opts, 0, 1, 2)
	cl := c.Client(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	minISR := "3"
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "sasl-plain-rep"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	checkReplicated(t, ctx, cl, "sasl-plain-rep", 0, 100, 3)
}

// The controller's channel and the brokers' clients to the controller use
// control.plane.listener.name with its own protocol (here SASL_PLAINTEXT,
// PLAIN with sasl.mechanism.inter.broker.protocol, as Kafka's
// ControllerChannelManager and BrokerToControllerChannelManager do) while
// replication runs on the PLAINTEXT inter-broker listener: a topic's
// leaders and a full ISR need both.
func TestInterBrokerSASLControlPlane(t *testing.T) {
	c := cluster.StartListeners(t, 0, []string{"CONTROL"})
	common := []string{"listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROL:SASL_PLAINTEXT",
		"control.plane.listener.name=CONTROL", "sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
		`listener.name.control.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret";`,
		"offsets.topic.replication.factor=3"}
	for i := range 3 {
		c.AddBroker(int32(i), common...)
	}
	c.WaitForBrokers(0, 1, 2)
	cl := c.Client(kgo.RequiredAcks(kgo.AllISRAcks()), kgo.MetadataMinAge(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	minISR := "3"
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "control-plane-rep"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	checkReplicated(t, ctx, cl, "control-plane-rep", 0, 50, 3)
}
