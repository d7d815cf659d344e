package compat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// zkLast runs zookeeper-shell.sh CONNECT CMD PATH and returns its last line.
func zkLast(t *testing.T, c *cluster.Cluster, cmd, path string) string {
	t.Helper()
	out, errOut, code := c.Tool("zookeeper-shell.sh", c.Connect, cmd, path)
	if code != 0 {
		t.Fatalf("zookeeper-shell.sh %s %s: exit %d: %s %s", cmd, path, code, out, errOut)
	}
	ls := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return ls[len(ls)-1]
}

// partitionStates reads every partition's state znode of a topic.
func partitionStates(t *testing.T, c *cluster.Cluster, topic string, n int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for p := range n {
		_, st := zkGet(t, c, fmt.Sprintf("/brokers/topics/%s/partitions/%d/state", topic, p))
		out = append(out, st)
	}
	return out
}

func isrOf(st map[string]any) []int32 {
	var isr []int32
	for _, v := range st["isr"].([]any) {
		isr = append(isr, int32(v.(float64)))
	}
	return isr
}

func reassignTool(t *testing.T, c *cluster.Cluster, args ...string) string {
	t.Helper()
	out, errOut, code := c.Tool("kafka-reassign-partitions.sh", append([]string{"--bootstrap-server", c.Bootstrap()}, args...)...)
	if code != 0 {
		t.Fatalf("kafka-reassign-partitions.sh %v: exit %d\n%s\n%s", args, code, out, errOut)
	}
	return out
}

// runReassignment executes a reassignment JSON and polls --verify until
// every partition reports completed.
func runReassignment(t *testing.T, c *cluster.Cluster, json string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "reassign.json")
	if err := os.WriteFile(file, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	out := reassignTool(t, c, "--execute", "--reassignment-json-file", file)
	if !strings.Contains(out, "Successfully started partition reassignment") {
		t.Fatalf("--execute printed:\n%s", out)
	}
	harness.Poll(t, 60*time.Second, "reassignment to complete", func() (bool, string) {
		out := reassignTool(t, c, "--verify", "--reassignment-json-file", file)
		if !strings.HasPrefix(out, "Status of partition reassignment:\n") {
			t.Fatalf("--verify printed:\n%s", out)
		}
		return !strings.Contains(out, "still in progress"), out
	})
}

// describeReplicas parses kafka-topics.sh --describe into partition ->
// (replicas, isr).
func describeReplicas(t *testing.T, c *cluster.Cluster, topic string) map[string][2]string {
	t.Helper()
	out := topicsTool(t, c, "--describe", "--topic", topic)
	res := map[string][2]string{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "\tTopic: ") {
			continue
		}
		f := map[string]string{}
		for _, kv := range strings.Split(strings.TrimPrefix(line, "\t"), "\t") {
			k, v, _ := strings.Cut(kv, ": ")
			f[k] = v
		}
		res[f["Partition"]] = [2]string{f["Replicas"], f["Isr"]}
	}
	return res
}

// The seed's walkthrough on four brokers: registration, a broker leaving and
// coming back, controller failover, a paused controller fenced, the three
// reassignments, a preferred election and a live topic config change.
func TestSeedScenario(t *testing.T) {
	c := cluster.Start(t, 4, "auto.leader.rebalance.enable=false", "replica.lag.time.max.ms=3000")
	if got := zkLast(t, c, "ls", "/brokers/ids"); got != "[0, 1, 2, 3]" {
		t.Fatalf("ls /brokers/ids: %q", got)
	}
	ctl := controllerOf(t, c)

	// A broker leaves: out of /brokers/ids, every ISR and Metadata; its
	// partitions get the first live in-sync replica as leader.
	harness.CreateTopic(t, c, "walk", 4, 3)
	waitFullISR(t, c, "walk", 3)
	victim := int32(0)
	for victim == ctl {
		victim++
	}
	before := partitionStates(t, c, "walk", 4)
	assignment := describeReplicas(t, c, "walk")
	if code := c.Stop(victim); code != 0 {
		t.Fatalf("broker %d exited %d on SIGTERM", victim, code)
	}
	if got := zkLast(t, c, "ls", "/brokers/ids"); strings.Contains(got, fmt.Sprint(victim)) {
		t.Fatalf("ls /brokers/ids after stopping %d: %s", victim, got)
	}
	harness.Poll(t, 30*time.Second, "the stopped broker to leave every ISR", func() (bool, string) {
		for p, st := range partitionStates(t, c, "walk", 4) {
			if slices.Contains(isrOf(st), victim) {
				return false, fmt.Sprintf("partition %d: %v", p, st)
			}
			if int32(before[p]["leader"].(float64)) == victim {
				var want int32 = -1
				for _, r := range strings.Split(assignment[fmt.Sprint(p)][0], ",") {
					var id int32
					fmt.Sscan(r, &id)
					if id != victim && slices.Contains(isrOf(before[p]), id) {
						want = id
						break
					}
				}
				if int32(st["leader"].(float64)) != want {
					return false, fmt.Sprintf("partition %d led by %v, want %d", p, st["leader"], want)
				}
			}
		}
		return true, ""
	})
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), c.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range md.Brokers {
		if b.NodeID == victim {
			t.Fatalf("stopped broker %d still in Metadata", victim)
		}
	}
	c.Restart(victim)
	waitFullISR(t, c, "walk", 3)

	// SIGKILL of the controller: a new one within the session timeout + 2 s,
	// with /controller_epoch one higher.
	epoch := zkLast(t, c, "get", "/controller_epoch")
	killedAt := time.Now()
	c.Kill(ctl)
	harness.Poll(t, 6*time.Second+2*time.Second, "a new controller", func() (bool, string) {
		out, _, code := c.Tool("zookeeper-shell.sh", c.Connect, "get", "/controller")
		return code == 0 && !strings.Contains(out, fmt.Sprintf(`"brokerid":%d`, ctl)), out
	})
	t.Logf("new controller after %v", time.Since(killedAt).Round(time.Millisecond))
	var e1, e2 int
	fmt.Sscan(epoch, &e1)
	fmt.Sscan(zkLast(t, c, "get", "/controller_epoch"), &e2)
	if e2 != e1+1 {
		t.Fatalf("/controller_epoch %d -> %d, want one higher", e1, e2)
	}
	c.Restart(ctl)
	waitFullISR(t, c, "walk", 3)

	// A controller paused past its session timeout is fenced: after it
	// resumes it writes nothing more to ZooKeeper as controller. It
	// re-registers as a broker on a new session (as Kafka does), and any
	// state written afterwards carries the new controller's epoch.
	paused := controllerOf(t, c)
	c.Pause(paused)
	harness.Poll(t, 20*time.Second, "another controller while one is paused", func() (bool, string) {
		out, _, code := c.Tool("zookeeper-shell.sh", c.Connect, "get", "/controller")
		return code == 0 && !strings.Contains(out, fmt.Sprintf(`"brokerid":%d`, paused)), out
	})
	newCtl := controllerOf(t, c)
	epochNow := zkLast(t, c, "get", "/controller_epoch")
	statesAtResume := partitionStates(t, c, "walk", 4)
	c.Resume(paused)
	harness.Poll(t, 30*time.Second, "the resumed broker to re-register", func() (bool, string) {
		got := zkLast(t, c, "ls", "/brokers/ids")
		return got == "[0, 1, 2, 3]", got
	})
	waitFullISR(t, c, "walk", 3)
	if got := controllerOf(t, c); got != newCtl {
		t.Fatalf("controller %d after the old one resumed, want %d", got, newCtl)
	}
	if got := zkLast(t, c, "get", "/controller_epoch"); got != epochNow {
		t.Fatalf("/controller_epoch %s after the old controller resumed, want %s", got, epochNow)
	}
	var current float64
	fmt.Sscan(epochNow, &current)
	for p, st := range partitionStates(t, c, "walk", 4) {
		changed := fmt.Sprint(st) != fmt.Sprint(statesAtResume[p])
		if ce := st["controller_epoch"].(float64); changed && ce != current {
			t.Fatalf("walk-%d rewritten after the resume with controller epoch %v, not the new controller's %v: %v", p, ce, current, st)
		}
	}

	// Commission broker 3 for topic first, decommission it again, then raise
	// topic four from RF 1 to RF 3: all with kafka-reassign-partitions.sh.
	out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create", "--topic", "first",
		"--replica-assignment", "0:1,1:2,2:0")
	if code != 0 {
		t.Fatalf("create first: %s %s", out, errOut)
	}
	waitFullISR(t, c, "first", 2)
	runReassignment(t, c, `{"version":1,"partitions":[{"topic":"first","partition":0,"replicas":[3,1]},{"topic":"first","partition":1,"replicas":[1,3]},{"topic":"first","partition":2,"replicas":[2,3]}]}`)
	want := map[string][2]string{"0": {"3,1", "3,1"}, "1": {"1,3", "1,3"}, "2": {"2,3", "2,3"}}
	harness.Poll(t, 30*time.Second, "first on its target replicas, all in sync", func() (bool, string) {
		got := describeReplicas(t, c, "first")
		for p, w := range want {
			if got[p][0] != w[0] || !sameSet(got[p][1], w[1]) {
				return false, fmt.Sprint(got)
			}
		}
		return true, ""
	})
	runReassignment(t, c, `{"version":1,"partitions":[{"topic":"first","partition":0,"replicas":[0,1]},{"topic":"first","partition":1,"replicas":[1,2]},{"topic":"first","partition":2,"replicas":[2,0]}]}`)
	for p, r := range describeReplicas(t, c, "first") {
		if strings.Contains(r[0], "3") || strings.Contains(r[1], "3") {
			t.Fatalf("broker 3 still holds first-%s after decommissioning: %v", p, r)
		}
	}
	out, errOut, code = c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create", "--topic", "four", "--replica-assignment", "0")
	if code != 0 {
		t.Fatalf("create four: %s %s", out, errOut)
	}
	runReassignment(t, c, `{"version":1,"partitions":[{"topic":"four","partition":0,"replicas":[0,1,2]}]}`)
	harness.Poll(t, 30*time.Second, "four at RF 3, all in sync", func() (bool, string) {
		r := describeReplicas(t, c, "four")["0"]
		return r[0] == "0,1,2" && sameSet(r[1], "0,1,2"), fmt.Sprint(r)
	})

	// After a bounce, leadership is off the preferred replicas until
	// kafka-leader-election.sh --election-type preferred puts it back.
	preferred := leaderOf(t, c, "walk", 0)
	c.Stop(preferred)
	c.Restart(preferred)
	waitFullISR(t, c, "walk", 3)
	out, errOut, code = c.Tool("kafka-leader-election.sh", "--bootstrap-server", c.Bootstrap(), "--election-type", "preferred", "--all-topic-partitions")
	if code != 0 || !strings.Contains(out, "Successfully completed leader election (PREFERRED) for partitions") {
		t.Fatalf("kafka-leader-election.sh: exit %d\n%s\n%s", code, out, errOut)
	}
	for p := range 4 {
		r := describeReplicas(t, c, "walk")[fmt.Sprint(p)]
		first := strings.Split(r[0], ",")[0]
		if got := leaderOf(t, c, "walk", p); fmt.Sprint(got) != first {
			t.Fatalf("walk-%d led by %d after the preferred election, want %s", p, got, first)
		}
	}

	// A topic config change reaches every broker without a restart.
	out, errOut, code = c.Tool("kafka-configs.sh", "--bootstrap-server", c.Bootstrap(), "--alter", "--entity-type", "topics",
		"--entity-name", "walk", "--add-config", "retention.ms=1000")
	if code != 0 || out != "Completed updating config for topic walk.\n" {
		t.Fatalf("kafka-configs.sh --alter: exit %d %q %q", code, out, errOut)
	}
	cl := c.Client()
	for id := int32(0); id < 4; id++ {
		id := id
		harness.Poll(t, 15*time.Second, fmt.Sprintf("broker %d to report retention.ms=1000", id), func() (bool, string) {
			req := kmsg.NewPtrDescribeConfigsRequest()
			req.Resources = []kmsg.DescribeConfigsRequestResource{{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "walk", ConfigNames: []string{"retention.ms"}}}
			resp, err := req.RequestWith(context.Background(), cl.Broker(int(id)))
			if err != nil || len(resp.Resources) != 1 || len(resp.Resources[0].Configs) != 1 {
				return false, fmt.Sprint(err)
			}
			v := resp.Resources[0].Configs[0].Value
			return v != nil && *v == "1000", fmt.Sprint(*v)
		})
	}
	out, _, code = c.Tool("kafka-configs.sh", "--bootstrap-server", c.Bootstrap(), "--describe", "--entity-type", "topics", "--entity-name", "walk")
	if code != 0 || !strings.Contains(out, "retention.ms=1000") {
		t.Fatalf("kafka-configs.sh --describe: %s", out)
	}
}

// sameSet compares comma-separated broker lists as sets.
func sameSet(a, b string) bool {
	x, y := strings.Split(a, ","), strings.Split(b, ",")
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
