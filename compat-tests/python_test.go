package compat_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

const python = "/usr/bin/python3"

// pythonScript runs compat-tests/python/<script> BOOTSTRAP TOPIC N and
// fails the test, with the broker log tail, unless it prints "ok N".
func pythonScript(t *testing.T, c *cluster.Cluster, script, topic, n string) {
	t.Helper()
	out, errOut, err := run(t, 120*time.Second, nil, python, filepath.Join("python", script), c.Bootstrap(), topic, n)
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nbroker log:\n%s", err, out, c.LogTail(0, 30))
	}
	if got := strings.TrimSpace(string(out)); got != "ok "+n {
		t.Fatalf("%s printed %q, want %q\nstderr: %s", script, got, "ok "+n, clip(errOut, 4000))
	}
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
		pythonScript(t, c, "confluent_roundtrip.py", "py-confluent", "5000")
	})
}
