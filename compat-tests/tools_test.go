package compat_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// zkGet runs `zookeeper-shell.sh CONNECT get PATH` and decodes the last
// output line (the znode data, after ZooKeeperMain's banner) as JSON.
func zkGet(t *testing.T, c *cluster.Cluster, path string) (string, map[string]any) {
	t.Helper()
	out, errOut, code := c.Tool("zookeeper-shell.sh", c.Connect, "get", path)
	if code != 0 {
		t.Fatalf("zookeeper-shell.sh get %s: exit %d\nstdout: %s\nstderr: %s", path, code, out, errOut)
	}
	ls := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := ls[len(ls)-1]
	if !strings.HasPrefix(out, "Connecting to "+c.Connect+"\n") {
		t.Errorf("zookeeper-shell.sh output does not start with the Connecting line:\n%s", out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(last), &m); err != nil {
		t.Fatalf("get %s: last line %q is not JSON: %v\nfull output:\n%s", path, last, err, out)
	}
	return last, m
}

func topicsTool(t *testing.T, c *cluster.Cluster, args ...string) string {
	t.Helper()
	out, errOut, code := c.Tool("kafka-topics.sh", append([]string{"--bootstrap-server", c.Bootstrap()}, args...)...)
	if code != 0 {
		t.Fatalf("kafka-topics.sh %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

// TestToolsAndShutdown checks kafka-topics.sh and zookeeper-shell.sh output
// against Kafka 3.7's formats, then a SIGTERM controlled shutdown.
func TestToolsAndShutdown(t *testing.T) {
	c := cluster.Start(t, 1)
	b0 := c.Broker(0)

	t.Run("describe", func(t *testing.T) {
		topicsTool(t, c, "--create", "--topic", "tools-t", "--partitions", "3", "--replication-factor", "1",
			"--config", "retention.ms=86400000", "--config", "cleanup.policy=compact")
		out := topicsTool(t, c, "--describe", "--topic", "tools-t")
		ls := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(ls) != 4 {
			t.Fatalf("describe printed %d lines, want 4:\n%s", len(ls), out)
		}
		// TopicCommand: Topic/TopicId (22 char base64url Uuid)/PartitionCount/
		// ReplicationFactor/Configs, tab separated.
		head := regexp.MustCompile(`^Topic: tools-t\tTopicId: ([A-Za-z0-9_-]{22})\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: (.*)$`)
		m := head.FindStringSubmatch(ls[0])
		if m == nil {
			t.Fatalf("describe header %q does not match %s", ls[0], head)
		}
		if m[1] == "AAAAAAAAAAAAAAAAAAAAAA" {
			t.Errorf("topic id is the zero Uuid")
		}
		configs := strings.Split(m[2], ",")
		sort.Strings(configs)
		if want := []string{"cleanup.policy=compact", "retention.ms=86400000"}; !slices.Equal(configs, want) {
			t.Errorf("Configs: %q, want %q (any order)", m[2], strings.Join(want, ","))
		}
		for p := range 3 {
			want := "\tTopic: tools-t\tPartition: " + strconv.Itoa(p) + "\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A"
			if ls[1+p] != want {
				t.Errorf("partition line %d: got %q, want %q", p, ls[1+p], want)
			}
		}
		// The topic id in ZooKeeper is the one the tool shows.
		_, topicZ := zkGet(t, c, "/brokers/topics/tools-t")
		if topicZ["topic_id"] != m[1] {
			t.Errorf("znode topic_id %v, describe shows %s", topicZ["topic_id"], m[1])
		}
		if topicZ["version"] != float64(3) {
			t.Errorf("/brokers/topics/tools-t version %v, want 3", topicZ["version"])
		}
		// Describing a missing topic fails with Kafka's message.
		out2, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--describe", "--topic", "no-such-topic")
		if code != 1 || !strings.Contains(out2+errOut, "Topic 'no-such-topic' does not exist as expected") {
			t.Errorf("describe of a missing topic: exit %d, output %q %q", code, out2, errOut)
		}
	})

	t.Run("createExisting", func(t *testing.T) {
		out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create",
			"--topic", "tools-t", "--partitions", "1", "--replication-factor", "1")
		if code != 1 || !strings.Contains(out+errOut, "Topic 'tools-t' already exists.") {
			t.Errorf("second create: exit %d, output %q %q", code, out, errOut)
		}
	})

	t.Run("listDelete", func(t *testing.T) {
		topicsTool(t, c, "--create", "--topic", "tools-gone", "--partitions", "2", "--replication-factor", "1")
		list := strings.Fields(topicsTool(t, c, "--list"))
		if !slices.Contains(list, "tools-t") || !slices.Contains(list, "tools-gone") {
			t.Fatalf("--list %q lacks tools-t or tools-gone", list)
		}
		if !slices.IsSorted(list) {
			t.Errorf("--list %q is not sorted", list)
		}
		topicsTool(t, c, "--delete", "--topic", "tools-gone")
		// Deletion is asynchronous (the controller removes the topic).
		harness.Poll(t, 30*time.Second, "deleted topic leaves --list", func() (bool, string) {
			l := strings.Fields(topicsTool(t, c, "--list"))
			return !slices.Contains(l, "tools-gone") && slices.Contains(l, "tools-t"), strings.Join(l, ",")
		})
		harness.Poll(t, 30*time.Second, "deletion finishes in ZooKeeper", func() (bool, string) {
			out, _, _ := c.Tool("zookeeper-shell.sh", c.Connect, "ls", "/admin/delete_topics")
			out2, _, _ := c.Tool("zookeeper-shell.sh", c.Connect, "ls", "/brokers/topics")
			return strings.HasSuffix(out, "[]\n") && !strings.Contains(out2, "tools-gone"), out + out2
		})
		// The partition directories go too (Kafka renames them *-delete, then removes them).
		harness.Poll(t, 30*time.Second, "log dirs of the deleted topic removed", func() (bool, string) {
			ents, _ := os.ReadDir(b0.LogDir)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), "tools-gone-") {
					return false, e.Name()
				}
			}
			return true, ""
		})
	})

	t.Run("zookeeperShell", func(t *testing.T) {
		last, reg := zkGet(t, c, "/brokers/ids/0")
		host, port, _ := strings.Cut(b0.Addr, ":")
		if reg["version"] != float64(5) || reg["host"] != host || reg["port"] != mustFloat(port) || reg["jmx_port"] != float64(-1) {
			t.Errorf("/brokers/ids/0 = %s", last)
		}
		eps, _ := reg["endpoints"].([]any)
		if len(eps) != 1 || eps[0] != "PLAINTEXT://"+b0.Addr {
			t.Errorf("endpoints %v, want [PLAINTEXT://%s]", reg["endpoints"], b0.Addr)
		}
		if ts, ok := reg["timestamp"].(string); !ok || ts == "" {
			t.Errorf("timestamp %v is not a string of millis", reg["timestamp"])
		}
		if m, _ := reg["listener_security_protocol_map"].(map[string]any); m["PLAINTEXT"] != "PLAINTEXT" {
			t.Errorf("listener_security_protocol_map %v", reg["listener_security_protocol_map"])
		}

		last, ctl := zkGet(t, c, "/controller")
		// Kafka 3.7 writes version 2 with kraftControllerEpoch -1 in ZK mode; older brokers write 1.
		if ctl["brokerid"] != float64(0) || (ctl["version"] != float64(1) && ctl["version"] != float64(2)) {
			t.Errorf("/controller = %s", last)
		}
		if _, ok := ctl["timestamp"].(string); !ok {
			t.Errorf("/controller timestamp is not a string: %s", last)
		}

		out, _, code := c.Tool("zookeeper-shell.sh", c.Connect, "get", "/controller_epoch")
		ls := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if epoch, err := strconv.Atoi(ls[len(ls)-1]); code != 0 || err != nil || epoch < 1 {
			t.Errorf("/controller_epoch: exit %d, output %q", code, out)
		}

		last, st := zkGet(t, c, "/brokers/topics/tools-t/partitions/0/state")
		isr, _ := st["isr"].([]any)
		if st["leader"] != float64(0) || st["version"] != float64(1) || st["leader_epoch"] != float64(0) ||
			len(isr) != 1 || isr[0] != float64(0) {
			t.Errorf("partition state = %s", last)
		}
		if ce, _ := st["controller_epoch"].(float64); ce < 1 {
			t.Errorf("partition state controller_epoch %v < 1: %s", st["controller_epoch"], last)
		}

		// A missing node: ZooKeeperMain prints the NoNode exception text.
		out, errOut, _ := c.Tool("zookeeper-shell.sh", c.Connect, "get", "/no/such/node")
		if !strings.Contains(out+errOut, "Node does not exist: /no/such/node") {
			t.Errorf("get of a missing node: %q %q", out, errOut)
		}
	})

	// Last: it stops the broker. Kafka writes .kafka_cleanshutdown into each
	// log dir at the end of a controlled shutdown.
	t.Run("sigterm", func(t *testing.T) {
		if code := c.Stop(0); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0\n%s", code, c.LogTail(0, 20))
		}
		if _, err := os.Stat(filepath.Join(b0.LogDir, ".kafka_cleanshutdown")); err != nil {
			t.Errorf("no clean shutdown marker: %v", err)
		}
		// The broker's ephemeral registration is gone with its session.
		out, _, _ := c.Tool("zookeeper-shell.sh", c.Connect, "ls", "/brokers/ids")
		if !strings.HasSuffix(out, "[]\n") {
			t.Errorf("/brokers/ids after shutdown:\n%s", out)
		}
		// A restart after a clean shutdown serves the old data.
		c.Restart(0)
		out = topicsTool(t, c, "--describe", "--topic", "tools-t")
		if !strings.Contains(out, "PartitionCount: 3") {
			t.Errorf("describe after restart:\n%s", out)
		}
	})
}

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return -1
	}
	return f
}
