package server

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/configs"
	reassigntool "github.com/kafkazk/kafkazk/cmd/internal/reassign"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// produceBytes writes n records of size bytes each to topic.
func produceBytes(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n, size int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: incompressible(size)}).FirstErr(); err != nil {
			t.Fatalf("produce to %s: %v", topic, err)
		}
	}
}

// reassign moves topic's partition 0 to replicas.
func reassign(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, replicas []int32) {
	t.Helper()
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
	rp.Partition, rp.Replicas = 0, replicas
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		t.Fatalf("reassign %s: %v", topic, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode); err != nil {
		t.Fatalf("reassign %s: %v", topic, err)
	}
}

// A replication throttle of 100 KB/s, on the leader (leader replica 0:0
// throttled on broker 0) or on the follower (follower replica 0:1 on broker
// 1), slows a new follower of the topic to about that rate; a topic without
// throttled replicas catches up at once. The rates and throttled replicas
// are set with kafka-configs.sh.
func TestReplicationThrottle(t *testing.T) {
	for _, tc := range []struct {
		name, broker, rateKey, replicasKey, replicas string
	}{
		{"leader", "0", "leader.replication.throttled.rate", "leader.replication.throttled.replicas", "0:0"},
		{"follower", "1", "follower.replication.throttled.rate", "follower.replication.throttled.replicas", "0:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testReplicationThrottle(t, tc.broker, tc.rateKey, tc.replicasKey, tc.replicas)
		})
	}
}

func testReplicationThrottle(t *testing.T, broker, rateKey, replicasKey, replicas string) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	// A 3-window quota (the first 2 s of budget come at once) and 64 KB
	// follower fetches keep the burst small against the 1 MB moved.
	_, cl, zc := startCluster(t, connect, 2, func(int32) []string {
		return []string{"replication.quota.window.num=3", "replica.fetch.max.bytes=65536"}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	createAssigned(t, ctx, cl, "slow", [][]int32{{0}}, nil)
	createAssigned(t, ctx, cl, "fast", [][]int32{{0}}, nil)
	const records, size = 64, 16 * 1024 // 1 MB each
	produceBytes(t, ctx, cl, "slow", records, size)
	produceBytes(t, ctx, cl, "fast", records, size)

	run := func(args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if code := configs.Run(ctx, append([]string{"--bootstrap-server", cl.OptValue(kgo.SeedBrokers).([]string)[0]}, args...), &out, &errb); code != 0 {
			t.Fatalf("kafka-configs %v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	const rate = 100 * 1024
	if out := run("--entity-type", "brokers", "--entity-name", broker, "--alter", "--add-config", rateKey+"=102400"); out != "Completed updating config for broker "+broker+".\n" {
		t.Fatalf("alter: %q", out)
	}
	if out := run("--topic", "slow", "--alter", "--add-config", replicasKey+"=["+replicas+"]"); out != "Completed updating config for topic slow.\n" {
		t.Fatalf("alter topic: %q", out)
	}

	start := time.Now()
	reassign(t, ctx, cl, "slow", []int32{0, 1})
	reassign(t, ctx, cl, "fast", []int32{0, 1})
	inISR := func(topic string) bool { return slices.Contains(partitionState(t, zc, topic, 0).ISR, 1) }
	waitFor(t, "unthrottled follower to catch up", func() bool { return inISR("fast") })
	fastTook := time.Since(start)
	if inISR("slow") {
		t.Fatalf("throttled follower caught up as fast as the unthrottled one (%v)", fastTook)
	}
	deadline := time.Now().Add(40 * time.Second)
	for !inISR("slow") {
		if time.Now().After(deadline) {
			t.Fatal("throttled follower never caught up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	slowTook := time.Since(start)
	// 1 MB at 100 KB/s is ~10 s; the first 2 windows' budget (200 KB) is free.
	expected := time.Duration(records*size-2*rate) * time.Second / rate
	t.Logf("unthrottled follower caught up in %v, throttled in %v (expected ~%v)", fastTook, slowTook, expected)
	if slowTook < expected/2 {
		t.Fatalf("throttled follower caught up in %v, want >= %v", slowTook, expected/2)
	}
	if fastTook > 5*time.Second {
		t.Fatalf("unthrottled follower took %v", fastTook)
	}
}

// Dynamic broker configs round trip through kafka-configs.sh: per broker
// and cluster default, describe with their sources, delete, and refusal of
// keys that are not dynamic.
func TestKafkaConfigsBrokerDynamic(t *testing.T) {
	b, _ := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	steps := []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "leader.replication.throttled.rate=1000,follower.replication.throttled.rate=2000"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "leader.replication.throttled.rate=500,replica.alter.log.dirs.io.max.bytes.per.second=300"}, 0,
			"Completed updating default config for brokers in the cluster.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n" +
				"  follower.replication.throttled.rate=2000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:follower.replication.throttled.rate=2000}\n" +
				"  leader.replication.throttled.rate=1000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:leader.replication.throttled.rate=1000, DYNAMIC_DEFAULT_BROKER_CONFIG:leader.replication.throttled.rate=500}\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-default", "--describe"}, 0,
			"Default configs for brokers in the cluster are:\n" +
				"  leader.replication.throttled.rate=500 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:leader.replication.throttled.rate=500}\n" +
				"  replica.alter.log.dirs.io.max.bytes.per.second=300 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:replica.alter.log.dirs.io.max.bytes.per.second=300}\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--delete-config", "leader.replication.throttled.rate"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--delete-config", "leader.replication.throttled.rate"}, 1,
			"", "Invalid config(s): leader.replication.throttled.rate\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "log.roll.hours=4"}, 1,
			"", "InvalidConfigurationException: Invalid config value for resource ConfigResource(type=BROKER, name='0'): Cannot update these configs dynamically: Set(log.roll.hours)\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "leader.replication.throttled.rate=-1"}, 1,
			"", "Invalid value -1 for configuration leader.replication.throttled.rate: Value must be at least 0\n"},
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--delete-config", "leader.replication.throttled.rate,replica.alter.log.dirs.io.max.bytes.per.second"}, 0,
			"Completed updating default config for brokers in the cluster.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n" +
				"  follower.replication.throttled.rate=2000 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:follower.replication.throttled.rate=2000}\n", ""},
	}
	runToolSteps(t, configsTool(ctx, b.addr), steps)
}

// kafka-reassign-partitions.sh --execute --throttle sets the rates on the
// brokers and the throttled replicas on the topic; --verify, once the move
// is complete, removes them all.
func TestReassignToolThrottle(t *testing.T) {
	zk := zktest.Start(t)
	brokers, cl, zc := startCluster(t, zk.Chroot(t), 2, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createAssigned(t, ctx, cl, "moved", [][]int32{{0}}, nil)
	produceBytes(t, ctx, cl, "moved", 4, 1024)
	file := filepath.Join(t.TempDir(), "plan.json")
	if err := os.WriteFile(file, []byte(`{"version":1,"partitions":[{"topic":"moved","partition":0,"replicas":[0,1]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, int) {
		var out, errb strings.Builder
		code := reassigntool.Run(ctx, append([]string{"--bootstrap-server", brokers[0].addr}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("--execute", "--reassignment-json-file", file, "--throttle", "50000000")
	if code != 0 || !strings.Contains(out, "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n") ||
		!strings.Contains(out, "The inter-broker throttle limit was set to 50000000 B/s\n") {
		t.Fatalf("execute: %d\n%s", code, out)
	}
	for _, id := range []string{"0", "1"} {
		c, err := zc.EntityConfig("brokers", id)
		if err != nil || c["leader.replication.throttled.rate"] != "50000000" || c["follower.replication.throttled.rate"] != "50000000" {
			t.Fatalf("broker %s config %v %v", id, c, err)
		}
	}
	tc, err := zc.TopicConfig("moved")
	if err != nil || tc["leader.replication.throttled.replicas"] == "" || tc["follower.replication.throttled.replicas"] == "" {
		t.Fatalf("topic config %v %v", tc, err)
	}
	waitFor(t, "reassignment to complete", func() bool {
		out, code = run("--verify", "--reassignment-json-file", file)
		return code == 0 && strings.Contains(out, "Reassignment of partition moved-0 is completed.")
	})
	if !strings.Contains(out, "Clearing broker-level throttles on brokers 0,1\n") || !strings.Contains(out, "Clearing topic-level throttles on topic moved\n") {
		t.Fatalf("verify: %s", out)
	}
	for _, id := range []string{"0", "1"} {
		if c, err := zc.EntityConfig("brokers", id); err != nil || len(c) != 0 {
			t.Fatalf("broker %s config left %v %v", id, c, err)
		}
	}
	if tc, err := zc.TopicConfig("moved"); err != nil || len(tc) != 0 {
		t.Fatalf("topic config left %v %v", tc, err)
	}
}
