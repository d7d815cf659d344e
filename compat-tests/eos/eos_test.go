package eos

import (
	"os"
	"sort"
	"testing"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

func config() Config {
	if os.Getenv("EOS_LONG") == "1" {
		return Long()
	}
	return Compact()
}

// TestExactlyOnceChaos is the chaos run against three of our brokers
// (KAFKA_BIN) in every `make compat`: the compact one, or the long one with
// EOS_LONG=1.
func TestExactlyOnceChaos(t *testing.T) {
	Run(t, startOurs, config())
}

// TestExactlyOnceChaosKafka39 is the same run against three Apache Kafka
// 3.9 brokers (EOS_REFERENCE=kafka39): a failure there is the test's.
func TestExactlyOnceChaosKafka39(t *testing.T) {
	if os.Getenv("EOS_REFERENCE") != "kafka39" {
		t.Skip("EOS_REFERENCE=kafka39 runs the chaos test against Apache Kafka 3.9")
	}
	Run(t, startKafka39, config())
}

// ours is compat-tests/cluster's brokers.
type ours struct{ c *cluster.Cluster }

func (o ours) Bootstrap() string { return o.c.Bootstrap() }
func (o ours) Kill(id int32)     { o.c.Kill(id) }
func (o ours) Restart(id int32)  { o.c.Restart(id) }

func startOurs(tb testing.TB, settings map[string]string) Cluster {
	var extra []string
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		extra = append(extra, k+"="+settings[k])
	}
	return ours{cluster.Start(tb, 3, extra...)}
}

// kafka39 is three Kafka 3.9 JVMs, ids 0..2; Kill is SIGKILL, Restart
// starts the JVM again once its ZooKeeper registration expired.
type kafka39 struct {
	tb   testing.TB
	refs []*cluster.KafkaRef
}

func (k kafka39) Bootstrap() string { return cluster.KafkaRefBootstrap(k.refs) }
func (k kafka39) Kill(id int32)     { k.refs[id].Kill() }
func (k kafka39) Restart(id int32)  { k.refs[id].Restart(k.tb) }

func startKafka39(tb testing.TB, settings map[string]string) Cluster {
	zk := zktest.Start(tb)
	return kafka39{tb: tb, refs: cluster.StartKafkaRefCluster(tb, zk.Addr, 3, settings)}
}
