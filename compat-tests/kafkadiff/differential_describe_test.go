package kafkadiff_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// ddSide is one cluster the describe differential plays its steps on:
// Kafka 3.9's three brokers or our three, both driven by Kafka's own tools.
type ddSide struct {
	name string
	boot []string // --bootstrap-server <its brokers>
	zk   znodeView
}

func (s ddSide) with(args ...string) []string {
	return append(slices.Clone(s.boot), args...)
}

// ddKnownDiffs are differences between Kafka's tool run against Kafka 3.9
// and the same tool run against our cluster, recorded rather than fixed:
// fix turns Kafka's normalised output into ours. An entry applies to every
// comparison whose name contains its what; each must still occur where it
// applies (TestKafka39DescribeDifferential asserts it), so none outlives
// its cause.
var ddKnownDiffs = []kafkatools.KnownDiff{
	{
		What: "configs --describe --all",
		Note: "Kafka 3.9 describes five topic configs our broker does not have: compression.gzip.level=-1, " +
			"compression.lz4.level=9, compression.zstd.level=3 (KIP-390, each with its DEFAULT_CONFIG synonym) and " +
			"remote.log.copy.disable=false, remote.log.delete.on.disable=false (KIP-950, no synonyms); ours lists the " +
			"other 32 exactly as Kafka does",
		Fix: ddDropLines("  compression.gzip.level=", "  compression.lz4.level=", "  compression.zstd.level=",
			"  remote.log.copy.disable=", "  remote.log.delete.on.disable="),
	},
}

// ddDropLines removes the lines starting with any of prefixes.
func ddDropLines(prefixes ...string) func(string) string {
	return func(s string) string {
		lines := strings.Split(s, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool {
			return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(l, p) })
		}), "\n")
	}
}

// ddLogTime masks the time stamp of a log4j line a tool prints.
var ddLogTime = regexp.MustCompile(`(?m)^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] `)

// ddTopicID masks the random topic ids kafka-topics --describe prints.
var ddTopicID = regexp.MustCompile(`TopicId: [A-Za-z0-9_-]{22}`)

// ddNormalise masks what legitimately differs between two clusters in a
// tool's output: topic ids; and for the topics in random (Kafka assigns
// their replicas from a random start broker) the partition lines' leader,
// replica and ISR lists are replaced by their sorted sets.
func ddNormalise(out string, random ...string) string {
	out = ddTopicID.ReplaceAllString(out, "TopicId: <id>")
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 2 || !slices.Contains(random, strings.TrimPrefix(f[1], "Topic: ")) {
			continue
		}
		for j, kv := range f {
			key, v, ok := strings.Cut(kv, ": ")
			if !ok {
				continue
			}
			switch key {
			case "Leader":
				f[j] = key + ": <leader>"
			case "Replicas", "Isr":
				ids := strings.Split(v, ",")
				slices.Sort(ids)
				f[j] = key + ": {" + strings.Join(ids, ",") + "}"
			}
		}
		lines[i] = strings.Join(f, "\t")
	}
	return strings.Join(lines, "\n")
}

// ddChecker compares Kafka's side with ours, applying ddKnownDiffs; used
// records which entries applied, to assert at the end that each is needed.
type ddChecker struct {
	t    *testing.T
	used map[string]bool
}

func (c *ddChecker) compare(what, kafka, ours string) {
	c.t.Helper()
	k := kafka
	for _, d := range ddKnownDiffs {
		if !strings.Contains(what, d.What) {
			continue
		}
		c.used[d.What] = true
		fixed := d.Fix(k)
		if fixed == k {
			c.t.Errorf("%s: known difference %q no longer occurs: remove it from ddKnownDiffs\nKafka:\n%s", what, d.Note, kafka)
		}
		k = fixed
	}
	if k != ours {
		c.t.Errorf("%s differs between Kafka 3.9 and ours\nKafka 3.9:\n%s\nours:\n%s", what, kafka, ours)
	} else {
		c.t.Logf("%s: the same: %s", what, harness.Clip(ours, 300))
	}
}

// TestKafka39DescribeDifferential plays the same administrative steps with
// Kafka 3.9's own tools (one tool JVM, kafkatools.Runner) against a three-broker
// Kafka 3.9 cluster and against three of our brokers, each in its own chroot
// of one ZooKeeper, brokers 0,1,2 on both; after each step it compares the
// tools' outputs (--describe above all), and the znodes after and during
// reassignments. Differences are fixed or recorded in ddKnownDiffs.
func TestKafka39DescribeDifferential(t *testing.T) {
	k := kafkatools.Start(t)
	// No automatic leader rebalance on either side: its first check runs
	// 5 s after a controller starts, at a different step on each side.
	// The preferred election below is the tool's.
	ours := cluster.Start(t, 3, "auto.leader.rebalance.enable=false")
	refs := cluster.StartKafkaRefCluster(t, ours.ZK.Addr, 3, map[string]string{"auto.leader.rebalance.enable": "false"})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	kzk, err := zkmeta.Connect(ctx, ours.ZK.Addr, 10*time.Second, nil)
	cancel()
	if err != nil {
		t.Fatalf("ZooKeeper: %v", err)
	}
	t.Cleanup(kzk.Close)
	sides := []ddSide{
		{name: "kafka", boot: []string{"--bootstrap-server", cluster.KafkaRefBootstrap(refs)}, zk: znodeView{"kafka", kzk, refs[0].Chroot}},
		{name: "ours", boot: []string{"--bootstrap-server", ours.Bootstrap()}, zk: znodeView{"ours", ours.ZKConn(), ours.ZKPath("")}},
	}
	chk := &ddChecker{t: t, used: map[string]bool{}}
	dir := t.TempDir()
	// both runs one step on each side (the tool must succeed) and compares
	// what it printed.
	both := func(what string, class string, args ...string) {
		t.Helper()
		var got [2]string
		for i, s := range sides {
			got[i] = ddNormalise(k.OK("", class, s.with(args...)...), "dd-a")
		}
		chk.compare(what, got[0], got[1])
	}
	// describe compares kafka-topics --describe of the topics and
	// kafka-configs --describe --all of each.
	describe := func(step string, topics ...string) {
		t.Helper()
		for _, topic := range topics {
			both(step+": topics --describe "+topic, kafkatools.Topics, "--describe", "--topic", topic)
			both(step+": configs --describe --all "+topic, kafkatools.Configs, "--entity-type", "topics", "--entity-name", topic, "--describe", "--all")
		}
	}
	// settled polls until every partition of the topics has its whole
	// replica set in the ISR, on each side (metadata propagates
	// asynchronously).
	settled := func(topics ...string) {
		t.Helper()
		for _, s := range sides {
			for _, topic := range topics {
				harness.Poll(t, 30*time.Second, s.name+": "+topic+" fully in sync", func() (bool, string) {
					d := k.OK("", kafkatools.Topics, s.with("--describe", "--topic", topic)...)
					for _, l := range strings.Split(strings.TrimSpace(d), "\n")[1:] {
						f := map[string]string{}
						for _, kv := range strings.Split(l, "\t") {
							if key, v, ok := strings.Cut(kv, ": "); ok {
								f[key] = v
							}
						}
						r, isr := strings.Split(f["Replicas"], ","), strings.Split(f["Isr"], ",")
						slices.Sort(r)
						slices.Sort(isr)
						if !slices.Equal(r, isr) || f["Leader"] == "none" {
							return false, d
						}
					}
					return true, d
				})
			}
		}
	}

	// 1. Topics: one with configs (replicas from Kafka's random start), one
	// with an explicit replica assignment.
	both("create dd-a", kafkatools.Topics, "--create", "--topic", "dd-a", "--partitions", "2", "--replication-factor", "3",
		"--config", "retention.ms=86400000", "--config", "max.message.bytes=200000")
	both("create dd-b", kafkatools.Topics, "--create", "--topic", "dd-b", "--replica-assignment", "0:1,1:2,2:0")
	settled("dd-a", "dd-b")
	describe("created", "dd-a", "dd-b")

	// 2. More partitions: dd-a's from the random start, dd-b's explicit.
	both("alter dd-a partitions", kafkatools.Topics, "--alter", "--topic", "dd-a", "--partitions", "3")
	both("alter dd-b partitions", kafkatools.Topics, "--alter", "--topic", "dd-b", "--partitions", "4", "--replica-assignment", "0:1,1:2,2:0,0:2")
	settled("dd-a", "dd-b")
	describe("partitions added", "dd-a", "dd-b")

	// 3. Configs: set, change and delete topic configs.
	both("alter dd-a configs", kafkatools.Configs, "--entity-type", "topics", "--entity-name", "dd-a", "--alter",
		"--add-config", "retention.ms=3600000,cleanup.policy=compact", "--delete-config", "max.message.bytes")
	both("alter dd-b configs", kafkatools.Configs, "--entity-type", "topics", "--entity-name", "dd-b", "--alter",
		"--add-config", "segment.bytes=1048576")
	describe("configs altered", "dd-a", "dd-b")

	// 4. A reassignment moving a replica: dd-b-0 from 0,1 to 2,0 (its leader
	// 0 stays in the new set, so keeps leading: the preferred leader, 2, is
	// then not the leader). --verify until complete, on each side.
	// With it, dd-b-1 from 1,2 to 0: its leader and both in-sync replicas
	// leave (Kafka: leader epochs 1 for the new replica set, 2 for the new
	// leader, 3 and 4 as each old replica leaves the ISR).
	plan := harness.WriteFile(t, dir, "dd-move.json", `{"version":1,"partitions":[{"topic":"dd-b","partition":0,"replicas":[2,0]},{"topic":"dd-b","partition":1,"replicas":[0]}]}`)
	var executed [2]string
	for i, s := range sides {
		executed[i] = k.OK("", kafkatools.Reassign, s.with("--execute", "--reassignment-json-file", plan)...)
	}
	chk.compare("reassign --execute", executed[0], executed[1])
	var verify [2]string
	for i, s := range sides {
		harness.Poll(t, 60*time.Second, s.name+": reassignment completes (--verify)", func() (bool, string) {
			verify[i] = k.OK("", kafkatools.Reassign, s.with("--verify", "--reassignment-json-file", plan)...)
			return !strings.Contains(verify[i], "is still in progress") && !strings.Contains(verify[i], "There is no active reassignment"), verify[i]
		})
	}
	chk.compare("reassign --verify", verify[0], verify[1])
	settled("dd-b")
	describe("reassigned", "dd-b")
	ddZnodes(t, chk, sides)

	// 5. A preferred leader election: dd-b-0 goes to broker 2.
	both("leader-election preferred dd-b-0", kafkatools.Election, "--election-type", "preferred", "--topic", "dd-b", "--partition", "0")
	for _, s := range sides {
		harness.Poll(t, 30*time.Second, s.name+": broker 2 leads dd-b-0", func() (bool, string) {
			d := k.OK("", kafkatools.Topics, s.with("--describe", "--topic", "dd-b")...)
			return strings.Contains(d, "\tPartition: 0\tLeader: 2\t"), d
		})
	}
	describe("preferred leader elected", "dd-b")
	ddStates(t, chk, sides, "after the election", "dd-b", 4)

	// 6. A reassignment held in progress: dd-h-0 from 1,2 to 1,0 with 3 MB
	// in it. Kafka's side is held by the tool's own --throttle (1 B/s: the
	// new replica's first fetch brings 1 MB, then the quota holds it for
	// the 11 s sample window); ours by cutting broker 0's fetches from the
	// leader, 1. While it is held: the adding and removing replicas in
	// --describe and the topic znode, --verify in progress, the throttle
	// configs; then Kafka's --cancel on both, and the state after it.
	both("create dd-h", kafkatools.Topics, "--create", "--topic", "dd-h", "--replica-assignment", "1:2")
	settled("dd-h")
	for _, s := range sides {
		out := k.OK("", kafkatools.ProdPerf, "--topic", "dd-h", "--num-records", "3000", "--record-size", "1000", "--throughput", "-1",
			"--producer-props", "bootstrap.servers="+s.boot[1], "acks=all")
		harness.WantContains(t, s.name+": producer-perf-test", out, "3000 records sent, ")
	}
	held := harness.WriteFile(t, dir, "dd-held.json", `{"version":1,"partitions":[{"topic":"dd-h","partition":0,"replicas":[1,0]}]}`)
	ours.CutFetches(0, 1)
	both("reassign --execute --throttle", kafkatools.Reassign, "--execute", "--reassignment-json-file", held, "--throttle", "1")
	for _, s := range sides {
		harness.Poll(t, 30*time.Second, s.name+": dd-h-0's reassignment in --describe", func() (bool, string) {
			d := k.OK("", kafkatools.Topics, s.with("--describe", "--topic", "dd-h")...)
			return strings.Contains(d, "\tReplicas: 1,0,2\tIsr: 1,2\tAdding Replicas: 0\tRemoving Replicas: 2\t"), d
		})
	}
	describe("held in progress", "dd-h")
	both("held in progress: reassign --verify", kafkatools.Reassign, "--verify", "--reassignment-json-file", held)
	both("held in progress: list reassignments", kafkatools.Reassign, "--list")
	// Kafka counts a partition under-replicated while its ISR is smaller
	// than its replica set less the adding replicas.
	both("held in progress: topics --describe --under-replicated-partitions", kafkatools.Topics, "--describe", "--under-replicated-partitions")
	both("held in progress: topics --describe --at-min-isr-partitions", kafkatools.Topics, "--describe", "--at-min-isr-partitions")
	for _, s := range sides {
		if _, ok := s.zk.get(t, "/admin/reassign_partitions"); ok {
			t.Errorf("%s: /admin/reassign_partitions written for an API reassignment", s.name)
		}
	}
	ddZnodeSet(t, chk, sides, "held in progress", "dd-h", 1)
	// The throttle rates the tool set, as the brokers describe them.
	for _, id := range []string{"0", "1", "2"} {
		both("held in progress: configs --describe broker "+id, kafkatools.Configs, "--entity-type", "brokers", "--entity-name", id, "--describe")
	}
	both("reassign --cancel", kafkatools.Reassign, "--cancel", "--reassignment-json-file", held)
	ours.HealAll()
	for _, s := range sides {
		harness.Poll(t, 30*time.Second, s.name+": dd-h-0 back on 1,2", func() (bool, string) {
			d := k.OK("", kafkatools.Topics, s.with("--describe", "--topic", "dd-h")...)
			return strings.Contains(d, "\tReplicas: 1,2\tIsr: 1,2\t") && !strings.Contains(d, "Adding"), d
		})
	}
	describe("cancelled", "dd-h")
	ddZnodeSet(t, chk, sides, "cancelled", "dd-h", 1)

	// 7. Delete a topic: gone from --list and from ZooKeeper on each side.
	both("delete dd-a", kafkatools.Topics, "--delete", "--topic", "dd-a")
	for _, s := range sides {
		harness.Poll(t, 30*time.Second, s.name+": dd-a deleted", func() (bool, string) {
			l := k.OK("", kafkatools.Topics, s.with("--list")...)
			_, topic := s.zk.get(t, "/brokers/topics/dd-a")
			_, marker := s.zk.get(t, "/admin/delete_topics/dd-a")
			_, cfg := s.zk.get(t, "/config/topics/dd-a")
			return !strings.Contains(l, "dd-a") && !topic && !marker && !cfg, fmt.Sprintf("list %q, topic znode %v, marker %v, config %v", l, topic, marker, cfg)
		})
	}
	both("topics --list after delete", kafkatools.Topics, "--list", "--exclude-internal")
	both("topics --describe (all) after delete", kafkatools.Topics, "--describe")
	var gone [2]string
	for i, s := range sides {
		out, errOut, code := k.Run("", kafkatools.Topics, s.with("--describe", "--topic", "dd-a")...)
		gone[i] = fmt.Sprintf("exit %d\n%s%s", code, out, ddLogTime.ReplaceAllString(firstLine(errOut), "[<time>] "))
	}
	chk.compare("topics --describe deleted dd-a", gone[0], gone[1])

	for _, d := range ddKnownDiffs {
		if !chk.used[d.What] {
			t.Errorf("ddKnownDiffs has %q, no such comparison", d.What)
		}
	}
}

// firstLine is s's first line with its newline.
func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l + "\n"
}

// ddZnodes compares both sides' znodes after the reassignment completed:
// the topic's assignment (no adding or removing replicas left), its
// partitions' states, no /admin/reassign_partitions, and the throttle
// configs --verify cleared.
func ddZnodes(t *testing.T, chk *ddChecker, sides []ddSide) {
	t.Helper()
	for _, s := range sides {
		if _, ok := s.zk.get(t, "/admin/reassign_partitions"); ok {
			t.Errorf("%s: /admin/reassign_partitions still there after the reassignment completed", s.name)
		}
	}
	znode := func(path string, volatile ...string) {
		t.Helper()
		var got [2]string
		for i, s := range sides {
			data, ok := s.zk.get(t, path)
			got[i] = "<no node>"
			if ok {
				got[i] = normaliseZnode(data, volatile...)
			}
		}
		chk.compare("znode "+path, got[0], got[1])
	}
	znode("/brokers/topics/dd-b", "topic_id")
	znode("/config/topics/dd-b")
	for id := range 3 {
		znode(fmt.Sprintf("/config/brokers/%d", id))
	}
	ddStates(t, chk, sides, "after the reassignment", "dd-b", 4)
}

// ddZnodeSet compares a topic's znodes: its assignment (with adding and
// removing replicas), its config and the brokers' (the tool's throttles),
// its partitions' states.
func ddZnodeSet(t *testing.T, chk *ddChecker, sides []ddSide, when, topic string, partitions int) {
	t.Helper()
	for _, path := range []string{"/brokers/topics/" + topic, "/config/topics/" + topic, "/config/brokers/0", "/config/brokers/1", "/config/brokers/2"} {
		var got [2]string
		for i, s := range sides {
			data, ok := s.zk.get(t, path)
			got[i] = "<no node>"
			if ok {
				got[i] = normaliseZnode(data, "topic_id")
			}
		}
		chk.compare("znode "+path+" "+when, got[0], got[1])
	}
	ddStates(t, chk, sides, when, topic, partitions)
}

// ddStates compares the partition states (leader, leader epoch, ISR,
// version; the controller epoch masked) of topic's partitions.
func ddStates(t *testing.T, chk *ddChecker, sides []ddSide, when, topic string, partitions int) {
	t.Helper()
	for p := range partitions {
		path := fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p)
		var got [2]string
		for i, s := range sides {
			data, ok := s.zk.get(t, path)
			got[i] = "<no node>"
			if ok {
				got[i] = normaliseZnode(data, "controller_epoch")
			}
		}
		chk.compare("znode "+path+" "+when, got[0], got[1])
	}
}
