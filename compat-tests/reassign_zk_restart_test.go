package compat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// TestReassignAcrossZKRestart is the soak's fault 36
// ("zk-restart-during-reassignment") in isolation: a reassignment started
// with kafka-reassign-partitions --execute, held in progress by cutting the
// adding replica's fetches, the cut healed and ZooKeeper killed and
// restarted ~2 s later (sessions survive). Kafka's controller completes the
// reassignment (onPartitionReassignment phase B) and sends the final
// UpdateMetadata to every live broker (B12), its ControllerChannelManager
// retrying each send until it is delivered; its ZooKeeper client holds a
// write made while ZooKeeper is down until the connection is back
// (KafkaZkClient.retryRequestsUntilConnected). So every broker's metadata
// shows the final replica set soon after, and --verify (which reads
// metadata from any broker, then clears the throttles with
// IncrementalAlterConfigs to every broker) completes.
//
// Each round checks: every broker's own metadata reaches the target
// (polled, bounded); no broker re-registered (the 2.3 s outage is inside
// the session timeout, so every session survives); --verify reports the
// reassignment completed and clears the throttles on all five brokers in
// under 10 s. In the soak the adding replica's ZooKeeper client waited 40 s
// on a connection that never answered its handshake: its session expired,
// its LeaderAndIsr (which read ZooKeeper) held the final UpdateMetadata for
// 38 s, and its IncrementalAlterConfigs timed out; zkmeta's handshake
// bound and LeaderAndIsr's config read only for new logs are what keep
// this test's figures small (the silent server itself is reproduced in
// zkmeta's TestConnectPastSilentServer).
func TestReassignAcrossZKRestart(t *testing.T) {
	const (
		brokers = 5
		topic   = "reassign-zk"
		rounds  = 2
	)
	c := cluster.Start(t, brokers, "min.insync.replicas=2", "replica.lag.time.max.ms=3000",
		"zookeeper.session.timeout.ms=6000")
	harness.CreateTopic(t, c, topic, 3, 3)
	adm := kadm.NewClient(c.Client(kgo.MetadataMinAge(100 * time.Millisecond)))
	dir := t.TempDir()
	for round := range rounds {
		p := int32(round)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		md, err := adm.Metadata(ctx, topic)
		cancel()
		if err != nil {
			t.Fatalf("metadata: %v", err)
		}
		pd := md.Topics[topic].Partitions[p]
		replicas := pd.Replicas
		var spare []int32
		for b := range int32(brokers) {
			if !slices.Contains(replicas, b) {
				spare = append(spare, b)
			}
		}
		adding := spare[0]
		dropped := replicas[len(replicas)-1]
		if dropped == pd.Leader {
			dropped = replicas[0]
		}
		target := slices.Clone(replicas)
		target[slices.Index(target, dropped)] = adding
		c.CutFetches(adding, pd.Leader)
		plan, _ := json.Marshal(map[string]any{"version": 1, "partitions": []map[string]any{
			{"topic": topic, "partition": p, "replicas": target}}})
		file := filepath.Join(dir, fmt.Sprintf("plan-%d.json", round))
		if err := os.WriteFile(file, plan, 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := c.Tool("kafka-reassign-partitions.sh", "--bootstrap-server", c.Bootstrap(),
			"--reassignment-json-file", file, "--execute", "--additional", "--throttle", "10000000")
		if code != 0 {
			t.Fatalf("--execute: exit %d: %s%s", code, out, errOut)
		}
		t.Logf("round %d: %s-%d %v -> %v (leader %d)", round, topic, p, replicas, target, pd.Leader)
		harness.Poll(t, 30*time.Second, "the reassignment is listed", func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			listed, err := adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {p: {}}})
			_, ok := listed[topic][p]
			return err == nil && ok, fmt.Sprint(listed, err)
		})
		epochs := map[int32]int64{}
		for id := range int32(brokers) {
			ep, ok, err := c.BrokerEpoch(id)
			if err != nil || !ok {
				t.Fatalf("broker %d's registration: %v %v", id, ok, err)
			}
			epochs[id] = ep
		}
		c.Heal(adding)
		c.StopZK()
		time.Sleep(2300 * time.Millisecond) // the finding's outage: the fault itself, not a wait for a condition
		c.StartZK()
		restarted := time.Now()
		want := slices.Sorted(slices.Values(target))
		seen := map[int32]time.Duration{}
		harness.Poll(t, 2*time.Minute, "every broker's metadata shows the target", func() (bool, string) {
			var lag []string
			for id := range int32(brokers) {
				if _, ok := seen[id]; ok {
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				got, err := c.BrokerReplicas(ctx, id, topic, p)
				cancel()
				if err == nil && slices.Equal(slices.Sorted(slices.Values(got)), want) {
					seen[id] = time.Since(restarted)
					continue
				}
				lag = append(lag, fmt.Sprintf("broker %d: %v %v", id, got, err))
			}
			return len(lag) == 0, strings.Join(lag, "; ")
		})
		t.Logf("round %d: each broker's metadata at the target after ZooKeeper's restart: %v", round, seen)
		// ZooKeeper was down 2.3 s, well inside the 6 s session timeout:
		// every broker reconnects with its session (ZooKeeper's client gives
		// a silent server connectTimeout, not 40 s), so none re-registered.
		for id, was := range epochs {
			if ep, ok, err := c.BrokerEpoch(id); err != nil || !ok || ep != was {
				t.Errorf("round %d: broker %d's registration changed across a 2.3 s outage: epoch %d -> %d (%v %v)", round, id, was, ep, ok, err)
			}
		}
		start := time.Now()
		out, errOut, code = c.Tool("kafka-reassign-partitions.sh", "--bootstrap-server", c.Bootstrap(),
			"--reassignment-json-file", file, "--verify")
		took := time.Since(start)
		t.Logf("round %d: --verify took %v: exit %d\n%s%s", round, took.Round(time.Millisecond), code, out, errOut)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("Reassignment of partition %s-%d is completed.", topic, p)) ||
			!strings.Contains(out, "Clearing broker-level throttles on brokers 0,1,2,3,4") {
			t.Errorf("round %d: --verify: exit %d: %s%s", round, code, out, errOut)
		}
		if took > 10*time.Second { // the finding: IncrementalAlterConfigs to one broker took > 10 s
			t.Errorf("round %d: --verify (IncrementalAlterConfigs to every broker) took %v", round, took)
		}
	}
}
