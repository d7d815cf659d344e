package controller

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type wantAnswer struct {
	code int16
	msg  string // "" expects a null message
}

func checkAnswer(t *testing.T, what string, code int16, msg *string, want wantAnswer) {
	t.Helper()
	got := ""
	if msg != nil {
		got = *msg
	}
	if code != want.code || got != want.msg || (msg == nil) != (want.msg == "") {
		t.Errorf("%s: %v %q (null %v), want %v %q", what, kerr.ErrorForCode(code), got, msg == nil, kerr.ErrorForCode(want.code), want.msg)
	}
}

// CreatePartitions checks in Kafka's order (KafkaApis.handleCreatePartitionsRequest,
// ZkAdminManager.createPartitions, AdminZkClient.createNewPartitionsAssignment
// and validateReplicaAssignment): duplicates in the request, a topic queued
// for deletion, a reassignment under way, existence, a count lower than or
// equal to the current one, unknown brokers (INVALID_REPLICA_ASSIGNMENT, not
// BROKER_NOT_AVAILABLE), the number of assignments, then each new
// partition's replicas against partition 0's replication factor.
func TestCreatePartitionsValidation(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("t", map[int32][]int32{0: {1, 2}})
	tc.createTopic("d", map[int32][]int32{0: {1}})
	tc.createTopic("r", map[int32][]int32{0: {1}, 1: {2}})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true})
	tc.onLoop(func() {
		tc.c.state.deleting["d"] = true
		r := tc.c.state.topics["r"]
		r.AddingReplicas = map[int32][]int32{1: {1}}
		tc.c.state.topics["r"] = r
	})
	assign := func(replicas ...[]int32) []kmsg.CreatePartitionsRequestTopicAssignment {
		out := []kmsg.CreatePartitionsRequestTopicAssignment{}
		for _, r := range replicas {
			a := kmsg.NewCreatePartitionsRequestTopicAssignment()
			a.Replicas = r
			out = append(out, a)
		}
		return out
	}
	invalidAssignment := func(msg string) wantAnswer { return wantAnswer{kerr.InvalidReplicaAssignment.Code, msg} }
	cases := []struct {
		name   string
		topic  string
		count  int32
		assign []kmsg.CreatePartitionsRequestTopicAssignment
		want   wantAnswer
	}{
		{"queued for deletion", "d", 0, assign([]int32{9}), wantAnswer{kerr.InvalidTopicException.Code, "The topic is queued for deletion."}},
		{"reassignment under way", "r", 1, assign([]int32{9}), wantAnswer{kerr.ReassignmentInProgress.Code, "A partition reassignment is in progress for the topic 'r'."}},
		{"unknown topic", "nope", 0, assign([]int32{9}), wantAnswer{kerr.UnknownTopicOrPartition.Code, "The topic 'nope' does not exist."}},
		{"count lower", "t", 0, assign([]int32{9}), wantAnswer{kerr.InvalidPartitions.Code, "Topic currently has 1 partitions, which is higher than the requested 0."}},
		{"count equal", "t", 1, assign([]int32{9}), wantAnswer{kerr.InvalidPartitions.Code, "Topic already has 1 partitions."}},
		{"unknown broker before the assignment count", "t", 4, assign([]int32{1, 9}),
			invalidAssignment("Unknown broker(s) in replica assignment: 9.")},
		{"unknown brokers in order of appearance", "t", 3, assign([]int32{1, 9}, []int32{8, 9}, []int32{7, 2}),
			invalidAssignment("Unknown broker(s) in replica assignment: 9, 8, 7.")},
		{"assignment count", "t", 3, assign([]int32{1, 2}),
			invalidAssignment("Increasing the number of partitions by 2 but 1 assignments provided.")},
		{"no replicas", "t", 3, assign([]int32{1, 2}, []int32{}),
			invalidAssignment("Cannot have replication factor of 0 for partition id 2.")},
		{"duplicate broker", "t", 3, assign([]int32{1, 1}, []int32{}),
			invalidAssignment("Duplicate brokers not allowed in replica assignment: 1, 1 for partition id 1.")},
		{"replication factor of partition 0", "t", 4, assign([]int32{1}, []int32{2, 1}, []int32{2}),
			invalidAssignment("Inconsistent replication factor between partitions, partition 0 has 2 while partitions [1, 3] have replication factors [1, 1], respectively.")},
		{"valid", "t", 3, assign([]int32{2, 1}, []int32{1, 2}), wantAnswer{}},
	}
	for _, c := range cases {
		req := kmsg.NewPtrCreatePartitionsRequest()
		req.ValidateOnly = true
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count, rt.Assignment = c.topic, c.count, c.assign
		req.Topics = append(req.Topics, rt)
		resp := tc.c.CreatePartitions(context.Background(), req)
		if len(resp.Topics) != 1 {
			t.Fatalf("%s: %d answers", c.name, len(resp.Topics))
		}
		checkAnswer(t, c.name, resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, c.want)
	}

	// A topic named twice gets one answer, INVALID_REQUEST; the others go on.
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.ValidateOnly = true
	for _, name := range []string{"t", "nope", "t"} {
		rt := kmsg.NewCreatePartitionsRequestTopic()
		rt.Topic, rt.Count = name, 2
		req.Topics = append(req.Topics, rt)
	}
	resp := tc.c.CreatePartitions(context.Background(), req)
	if len(resp.Topics) != 2 || resp.Topics[0].Topic != "t" || resp.Topics[1].Topic != "nope" {
		t.Fatalf("answers %+v, want t then nope", resp.Topics)
	}
	checkAnswer(t, "duplicate", resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, wantAnswer{kerr.InvalidRequest.Code, "Duplicate topic in request."})
	checkAnswer(t, "next to a duplicate", resp.Topics[1].ErrorCode, resp.Topics[1].ErrorMessage, wantAnswer{kerr.UnknownTopicOrPartition.Code, "The topic 'nope' does not exist."})

	// The automatic assignment needs partition 0's replication factor in live brokers.
	tc.createTopic("wide", map[int32][]int32{0: {1, 2, 3}})
	tc.waitFor("topic wide seen", func() bool {
		seen := false
		tc.onLoop(func() { _, seen = tc.c.state.topics["wide"] })
		return seen
	})
	req = kmsg.NewPtrCreatePartitionsRequest()
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = "wide", 2
	req.Topics = append(req.Topics, rt)
	resp = tc.c.CreatePartitions(context.Background(), req)
	checkAnswer(t, "automatic, too few brokers", resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage,
		wantAnswer{kerr.InvalidReplicationFactor.Code, "Replication factor: 3 larger than available brokers: 2."})
}

// CreateTopics does not check the brokers of a manual assignment
// (ZkAdminManager.createTopics: "we don't check that replicaAssignment
// contains unknown brokers"): a replica on an unregistered broker is
// offline until it registers. The assignment's own rules and the checks'
// order are AdminZkClient.validateTopicCreate's.
func TestCreateTopicsValidation(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("exists", map[int32][]int32{0: {1}})
	tc.createTopic("gone", map[int32][]int32{0: {1}})
	tc.start(Config{BrokerID: 100, DeleteTopicEnable: true, NumPartitions: 1, DefaultReplicationFactor: 1})
	tc.onLoop(func() { tc.c.state.deleting["gone"] = true })
	manual := func(replicas ...[]int32) []kmsg.CreateTopicsRequestTopicReplicaAssignment {
		var out []kmsg.CreateTopicsRequestTopicReplicaAssignment
		for i, r := range replicas {
			a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			a.Partition, a.Replicas = int32(i), r
			out = append(out, a)
		}
		return out
	}
	cfg := func(name string, value *string) []kmsg.CreateTopicsRequestTopicConfig {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = name, value
		return []kmsg.CreateTopicsRequestTopicConfig{c}
	}
	type topic struct {
		name    string
		n       int32
		rf      int16
		assign  []kmsg.CreateTopicsRequestTopicReplicaAssignment
		configs []kmsg.CreateTopicsRequestTopicConfig
	}
	invalidAssignment := func(msg string) wantAnswer { return wantAnswer{kerr.InvalidReplicaAssignment.Code, msg} }
	cases := []struct {
		name string
		t    topic
		want wantAnswer
	}{
		{"unknown brokers", topic{name: "u", n: -1, rf: -1, assign: manual([]int32{1, 9}, []int32{8, 7})}, wantAnswer{}},
		{"exists, before null configs", topic{name: "exists", n: 1, rf: 1, configs: cfg("retention.ms", nil)},
			wantAnswer{kerr.TopicAlreadyExists.Code, "Topic 'exists' already exists."}},
		{"null config before the assignment", topic{name: "a", n: 1, rf: 9, configs: cfg("retention.ms", nil)},
			wantAnswer{kerr.InvalidConfig.Code, "Null value not supported for topic configs: retention.ms"}},
		{"replication factor before the name", topic{name: "a/b", n: 1, rf: 3},
			wantAnswer{kerr.InvalidReplicationFactor.Code, "Replication factor: 3 larger than available brokers: 2."}},
		{"partitions", topic{name: "a", n: 0, rf: 1},
			wantAnswer{kerr.InvalidPartitions.Code, "Number of partitions must be larger than 0."}},
		{"name", topic{name: "a/b", n: 1, rf: 1},
			wantAnswer{kerr.InvalidTopicException.Code, "Topic name is invalid: 'a/b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"}},
		{"marked for deletion", topic{name: "gone", n: 1, rf: 1},
			wantAnswer{kerr.TopicAlreadyExists.Code, "Topic 'gone' is marked for deletion."}},
		{"replica counts", topic{name: "a", n: -1, rf: -1, assign: manual([]int32{1, 9}, []int32{1})},
			invalidAssignment("All partitions should have the same number of replicas")},
		{"duplicates", topic{name: "a", n: -1, rf: -1, assign: manual([]int32{1, 2}, []int32{9, 9})},
			invalidAssignment("Duplicate replica assignment found: HashMap(0 -> ArrayBuffer(1, 2), 1 -> ArrayBuffer(9, 9))")},
		{"unknown config after the assignment", topic{name: "a", n: -1, rf: -1, assign: manual([]int32{1, 1}), configs: cfg("nope", kmsg.StringPtr("1"))},
			invalidAssignment("Duplicate replica assignment found: HashMap(0 -> ArrayBuffer(1, 1))")},
		{"unknown config", topic{name: "a", n: 1, rf: 1, configs: cfg("nope", kmsg.StringPtr("1"))},
			wantAnswer{kerr.InvalidConfig.Code, "Unknown topic config name: nope"}},
		{"cluster metadata topic", topic{name: "__cluster_metadata", n: 1, rf: 1},
			wantAnswer{kerr.InvalidRequest.Code, "Creation of internal topic __cluster_metadata is prohibited."}},
	}
	for _, c := range cases {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor, rt.ReplicaAssignment, rt.Configs = c.t.name, c.t.n, c.t.rf, c.t.assign, c.t.configs
		req.Topics = append(req.Topics, rt)
		resp := tc.c.CreateTopics(context.Background(), req)
		checkAnswer(t, c.name, resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, c.want)
	}
	// The topic with unknown brokers is created as asked; partition 0's
	// live replica leads, partition 1 has none.
	a, _, ok, err := tc.zk.TopicAssignment("u")
	if err != nil || !ok {
		t.Fatalf("topic u: %v %v", ok, err)
	}
	if len(a.Partitions) != 2 || !slices.Equal(a.Partitions[0], []int32{1, 9}) || !slices.Equal(a.Partitions[1], []int32{8, 7}) {
		t.Fatalf("topic u assignment %v", a.Partitions)
	}
	tc.waitFor("partition u-0 led by broker 1", func() bool {
		st, ok, err := tc.zk.PartitionState("u", 0)
		return err == nil && ok && st.Leader == 1
	})

	// Each entry of a name given twice is refused.
	req := kmsg.NewPtrCreateTopicsRequest()
	for range 2 {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "twice", 1, 1
		req.Topics = append(req.Topics, rt)
	}
	resp := tc.c.CreateTopics(context.Background(), req)
	if len(resp.Topics) != 2 {
		t.Fatalf("%d answers for a name given twice, want 2", len(resp.Topics))
	}
	for _, r := range resp.Topics {
		checkAnswer(t, "name given twice", r.ErrorCode, r.ErrorMessage, wantAnswer{kerr.InvalidRequest.Code, "Found multiple entries for this topic."})
	}
}

// Config values are CreateTopics' last check (validateTopicCreate ends
// with LogConfig.validate): a topic that exists, or whose assignment is
// invalid, is answered for that, not for its config value.
func TestCreateTopicsConfigValuesLast(t *testing.T) {
	tc := newTestCluster(t, 1, 2)
	tc.createTopic("exists", map[int32][]int32{0: {1}})
	tc.start(Config{BrokerID: 100, ValidateTopicConfigs: func(configs map[string]string) error {
		if v, ok := configs["retention.ms"]; ok && v == "soon" {
			return errors.New("Invalid value soon for configuration retention.ms: Not a number of type LONG")
		}
		return nil
	}})
	bad := kmsg.NewCreateTopicsRequestTopicConfig()
	bad.Name, bad.Value = "retention.ms", kmsg.StringPtr("soon")
	dup := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	dup.Partition, dup.Replicas = 0, []int32{1, 1}
	cases := []struct {
		name   string
		topic  string
		assign []kmsg.CreateTopicsRequestTopicReplicaAssignment
		want   wantAnswer
	}{
		{"exists", "exists", nil, wantAnswer{kerr.TopicAlreadyExists.Code, "Topic 'exists' already exists."}},
		{"invalid assignment", "a", []kmsg.CreateTopicsRequestTopicReplicaAssignment{dup},
			wantAnswer{kerr.InvalidReplicaAssignment.Code, "Duplicate replica assignment found: HashMap(0 -> ArrayBuffer(1, 1))"}},
		{"config value", "a", nil, wantAnswer{kerr.InvalidConfig.Code, "Invalid value soon for configuration retention.ms: Not a number of type LONG"}},
	}
	for _, c := range cases {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.Configs, rt.ReplicaAssignment = c.topic, []kmsg.CreateTopicsRequestTopicConfig{bad}, c.assign
		rt.NumPartitions, rt.ReplicationFactor = 1, 1
		if c.assign != nil {
			rt.NumPartitions, rt.ReplicationFactor = -1, -1
		}
		req.Topics = append(req.Topics, rt)
		resp := tc.c.CreateTopics(context.Background(), req)
		checkAnswer(t, c.name, resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, c.want)
	}
	if topicExists(tc, "a") {
		t.Fatal("a topic with an invalid config value was created")
	}
}
