package compat_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// partitionLine matches one partition line of kafka-topics.sh --describe.
var partitionLine = regexp.MustCompile(`^\tTopic: (\S+)\tPartition: (\d+)\tLeader: (\d+|none)\tReplicas: ([\d,]+)\tIsr: ([\d,]*)\tElr: N/A\tLastKnownElr: N/A$`)

// TestTwoBrokers creates a replicated topic on two brokers, moves data
// through it, and adds a third broker.
func TestTwoBrokers(t *testing.T) {
	c := cluster.Start(t, 2)

	t.Run("createReplicated", func(t *testing.T) {
		topicsTool(t, c, "--create", "--topic", "rep", "--partitions", "4", "--replication-factor", "2")
		var last string
		harness.Poll(t, 30*time.Second, "every partition has replicas and ISR on both brokers", func() (bool, string) {
			last = topicsTool(t, c, "--describe", "--topic", "rep")
			ls := strings.Split(strings.TrimSuffix(last, "\n"), "\n")
			if len(ls) != 5 || !strings.Contains(ls[0], "PartitionCount: 4\tReplicationFactor: 2\t") {
				return false, last
			}
			leaders := map[string]int{}
			for p, l := range ls[1:] {
				m := partitionLine.FindStringSubmatch(l)
				if m == nil || m[1] != "rep" || m[2] != fmt.Sprint(p) {
					return false, "bad line " + l
				}
				if m[4] != "0,1" && m[4] != "1,0" {
					return false, "replicas " + l
				}
				// Replica order is the assignment; the leader is its first live member.
				if m[3] != m[4][:1] {
					return false, "leader not preferred " + l
				}
				if m[5] != "0,1" && m[5] != "1,0" {
					return false, "isr " + l
				}
				leaders[m[3]]++
			}
			// Kafka's rack-unaware assignment alternates the first replica.
			return leaders["0"] == 2 && leaders["1"] == 2, fmt.Sprintf("leaders %v\n%s", leaders, last)
		})
	})

	t.Run("produceConsumeAcksAll", func(t *testing.T) {
		cl := c.Client(kgo.RequiredAcks(kgo.AllISRAcks()))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		const n = 2000
		for i := range n {
			cl.Produce(ctx, &kgo.Record{Topic: "rep", Key: fmt.Appendf(nil, "%d", i), Value: fmt.Appendf(nil, "v%d", i)}, nil)
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		cons := c.Client(kgo.ConsumeTopics("rep"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		seen := map[string]string{}
		for len(seen) < n {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d", len(seen), n)
			}
			fs.EachError(func(tp string, p int32, err error) { t.Errorf("fetch %s/%d: %v", tp, p, err) })
			fs.EachRecord(func(r *kgo.Record) {
				if _, dup := seen[string(r.Key)]; dup {
					t.Errorf("duplicate key %s", r.Key)
				}
				seen[string(r.Key)] = string(r.Value)
			})
		}
		for i := range n {
			if v := seen[fmt.Sprint(i)]; v != fmt.Sprintf("v%d", i) {
				t.Fatalf("key %d: value %q", i, v)
			}
		}
		// Followers copy the leader's batches byte for byte.
		harness.Poll(t, 20*time.Second, "follower logs equal the leader logs", func() (bool, string) {
			sizes := partitionLogBytes(c, "rep", 0, 1)
			if len(sizes[0]) != 4 {
				return false, fmt.Sprint(sizes)
			}
			for dir, n := range sizes[0] {
				if n == 0 || sizes[1][dir] != n {
					return false, fmt.Sprint(sizes)
				}
			}
			return true, ""
		})
	})

	t.Run("addBroker", func(t *testing.T) {
		b2 := c.AddBroker(2)
		c.WaitForBrokers(0, 1, 2)
		for _, id := range []int32{0, 1, 2} {
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(id).Addr))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
			cancel()
			cl.Close()
			if err != nil {
				t.Fatalf("Metadata from broker %d: %v", id, err)
			}
			addrs := map[int32]string{}
			for _, b := range resp.Brokers {
				addrs[b.NodeID] = fmt.Sprintf("%s:%d", b.Host, b.Port)
			}
			if len(addrs) != 3 || addrs[2] != b2.Addr {
				t.Errorf("broker %d Metadata lists %v, want 3 brokers with 2 at %s", id, addrs, b2.Addr)
			}
			if resp.ControllerID < 0 || resp.ControllerID > 1 {
				t.Errorf("broker %d Metadata controller %d, want 0 or 1 (the new broker is no controller)", id, resp.ControllerID)
			}
		}
		// kcat sees the three brokers too.
		out := string(kcat(t, c, nil, "-L"))
		if !strings.Contains(out, " 3 brokers:") {
			t.Errorf("kcat -L after adding broker 2:\n%s", out)
		}
		// A new topic with RF 3 now fits.
		topicsTool(t, c, "--create", "--topic", "rep3", "--partitions", "3", "--replication-factor", "3")
	})
}

// partitionLogBytes maps each broker to the .log bytes of every
// <topic>-<partition> directory it holds.
func partitionLogBytes(c *cluster.Cluster, topic string, ids ...int32) map[int32]map[string]int64 {
	out := map[int32]map[string]int64{}
	for _, id := range ids {
		out[id] = map[string]int64{}
		logs, _ := filepath.Glob(filepath.Join(c.Broker(id).LogDir, topic+"-*", "*.log"))
		for _, p := range logs {
			dir := filepath.Base(filepath.Dir(p))
			// Only <topic>-<partition>, not another topic sharing the prefix.
			if _, err := strconv.Atoi(strings.TrimPrefix(dir, topic+"-")); err != nil {
				continue
			}
			if fi, err := os.Stat(p); err == nil {
				out[id][dir] += fi.Size()
			}
		}
	}
	return out
}
