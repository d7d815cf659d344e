package compat_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

const python = "/usr/bin/python3"

// pythonScript runs compat-tests/python/<script> BOOTSTRAP TOPIC N [args]
// and fails the test, with the broker log tail, unless it prints "ok N".
func pythonScript(t *testing.T, c *cluster.Cluster, script, topic, n string, args ...string) {
	t.Helper()
	argv := append([]string{filepath.Join("python", script), c.Bootstrap(), topic, n}, args...)
	out, errOut, err := run(t, 120*time.Second, nil, python, argv...)
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nbroker log:\n%s", err, out, c.LogTail(0, 30))
	}
	if got := strings.TrimSpace(string(out)); got != "ok "+n {
		t.Fatalf("%s printed %q, want %q\nstderr: %s", script, got, "ok "+n, harness.Clip(errOut, 4000))
	}
}

// advertises reports whether the broker's ApiVersions lists the API key.
func advertises(t *testing.T, c *cluster.Cluster, key int16) bool {
	t.Helper()
	cl := c.Client()
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == key {
			return true
		}
	}
	return false
}

// TestPythonClients runs kafka-python and confluent-kafka-python (librdkafka)
// scripts: admin create topic, produce, consume, compare.
func TestPythonClients(t *testing.T) {
	need(t, python)
	c := cluster.Start(t, 1)
	t.Run("kafka-python", func(t *testing.T) {
		pythonScript(t, c, "kafka_python_roundtrip.py", "py-kafka-python", "2000")
	})
	t.Run("confluent-kafka", func(t *testing.T) {
		pythonScript(t, c, "confluent_roundtrip.py", "py-confluent", "5000", "assign")
	})
	t.Run("confluent-kafka-group", func(t *testing.T) {
		// Subscribing needs the group coordinator (FindCoordinator, key 10,
		// then JoinGroup/SyncGroup/Heartbeat/OffsetCommit).
		if !advertises(t, c, 10) {
			t.Skip("broker does not advertise FindCoordinator (10): no group coordinator yet; librdkafka's subscribe() cannot work")
		}
		pythonScript(t, c, "confluent_roundtrip.py", "py-confluent-group", "3000", "group")
	})
}
