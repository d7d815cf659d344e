package compat_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Three brokers with the ACL authorizer on and no super users: the brokers'
// principal User:broker has CLUSTER_ACTION on the Cluster only (Kafka's
// requirement for inter-broker requests), alice CREATE, WRITE and DESCRIBE
// on the topics prefixed auto-. alice's Metadata to a broker that is not
// the controller auto-creates a topic: that broker checks alice's CREATE,
// then forwards the CreateTopics to the controller, which accepts it from
// a broker with CLUSTER_ACTION without wanting CREATE of User:broker
// (Kafka 3.9 in ZooKeeper mode writes ZooKeeper from the broker itself, so
// the broker's own rights never matter there). The topic then takes
// acks=all writes.
func TestInterBrokerForwardedCreateACL(t *testing.T) {
	c := cluster.Start(t, 0)
	zk, root := c.ZKConn(), c.ZKPath("")
	for r, entries := range map[zkmeta.ACLResource][]zkmeta.ACLEntry{
		{Type: "Cluster", PatternType: "LITERAL", Name: "kafka-cluster"}: {{Principal: "User:broker", PermissionType: "Allow", Operation: "ClusterAction", Host: "*"}},
		{Type: "Topic", PatternType: "PREFIXED", Name: "auto-"}: {
			{Principal: "User:alice", PermissionType: "Allow", Operation: "Create", Host: "*"},
			{Principal: "User:alice", PermissionType: "Allow", Operation: "Write", Host: "*"},
			{Principal: "User:alice", PermissionType: "Allow", Operation: "Describe", Host: "*"}},
	} {
		if err := zk.CreateRecursive(root+zkmeta.ACLResourcePath(r), zkmeta.EncodeACLs(entries), zkmeta.Persistent); err != nil {
			t.Fatal(err)
		}
	}
	common := []string{"listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT",
		"sasl.enabled.mechanisms=PLAIN", "sasl.mechanism.inter.broker.protocol=PLAIN",
		`listener.name.plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="broker" password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";`,
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "default.replication.factor=3", "num.partitions=2"}
	for i := range 3 {
		c.AddBroker(int32(i), common...)
	}
	opts := harness.SASLClientOpts(nil, plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	harness.WaitForSASLBrokers(t, c, opts, 0, 1, 2)
	ctrl := controllerOf(t, c)
	target := (ctrl + 1) % 3

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Broker(target).Addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const topic = "auto-forwarded"
	harness.Poll(t, 30*time.Second, fmt.Sprintf("%s auto-created through broker %d (controller %d)", topic, target, ctrl), func() (bool, string) {
		req := kmsg.NewPtrMetadataRequest()
		req.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
		if err != nil {
			return false, err.Error()
		}
		if len(resp.Topics) != 1 {
			return false, fmt.Sprintf("%d topics", len(resp.Topics))
		}
		tp := resp.Topics[0]
		if tp.ErrorCode == 29 {
			t.Fatalf("TOPIC_AUTHORIZATION_FAILED for alice's auto-creation: %s", c.LogTail(ctrl, 20))
		}
		return tp.ErrorCode == 0 && len(tp.Partitions) == 2, fmt.Sprintf("error %d, %d partitions", tp.ErrorCode, len(tp.Partitions))
	})
	if _, _, err := zk.Get(root + "/brokers/topics/" + topic); err != nil {
		t.Fatalf("/brokers/topics/%s: %v", topic, err)
	}
	prod := c.Client(append(opts, kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(topic))...)
	if err := prod.ProduceSync(ctx, kgo.StringRecord("forwarded")).FirstErr(); err != nil {
		t.Fatalf("acks=all produce to the auto-created topic: %v", err)
	}
	// A topic alice may not create stays uncreated.
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = true
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("other-topic")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl.SeedBrokers()[0])
	if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 29 {
		t.Fatalf("other-topic: %v %+v, want TOPIC_AUTHORIZATION_FAILED", err, resp)
	}
	if _, _, err := zk.Get(root + "/brokers/topics/other-topic"); !errors.Is(err, zkmeta.ErrNoNode) {
		t.Errorf("/brokers/topics/other-topic: %v, want no node", err)
	}
}
