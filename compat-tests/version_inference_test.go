package compat_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// kafkaPython3 is the python of the virtual environment scripts/deps.sh
// (`make deps`) builds with a pinned kafka-python 3.x from PyPI; the Debian
// python3-kafka (2.0.2) only knows broker versions up to 2.4.
var kafkaPython3 = filepath.Join("..", "var", "pyenv-kafka-python", "bin", "python")

// TestKafkaPythonInfersKafka39: kafka-python 3.x with api_version=None infers
// the broker version from ApiVersions (kafka.protocol.broker_version_data.
// infer_broker_version_from_api_versions): it walks a table from the newest
// version down and answers the first whose probe (api key, version) lies in
// the advertised range:
//
//	4.3 DescribeLogDirs v5   we do not advertise DescribeLogDirs (Kafka 3.9: 0-4)
//	4.2 ListOffsets v11      we advertise 0-9, as Kafka 3.9
//	4.1 Produce v13          0-11, as Kafka 3.9 (we advertised 0-13 before the
//	                         Kafka 3.9 table: the client inferred 4.1)
//	4.0 ListOffsets v10      0-9
//	3.9 Fetch v17            0-17, as Kafka 3.9: the answer is 3.9
//
// so Fetch max 17 together with Produce max 11 and ListOffsets max 9 make it
// 3.9; a Fetch max of 16 would give 3.8 (Produce v11) and 3.7 (Fetch v16),
// where Kafka's tables coincide. The same client then creates a topic,
// produces (uncompressed and gzip, idempotent) and consumes in a group with
// the request versions it negotiates from our ranges, each the lower of the
// client's and our maximum, all newer than kafka-python 2.0.2's: ApiVersions
// v4, Metadata v12, CreateTopics v7, InitProducerId v4, Produce v9, Fetch
// v12, ListOffsets v9, FindCoordinator v4, JoinGroup v7, SyncGroup v5,
// OffsetCommit v8, LeaveGroup v5, OffsetFetch v8 (two groups in one request).
func TestKafkaPythonInfersKafka39(t *testing.T) {
	if _, err := os.Stat(kafkaPython3); err != nil {
		t.Fatalf("kafka-python 3.x virtual environment missing (run `make deps`): %v", err)
	}
	c := cluster.Start(t, 1)

	// The advertised ranges the inference reads, so that a failure below
	// names the entry that moved.
	probes := []struct {
		key       int16
		name      string
		max       int16
		advertise bool
	}{
		{int16(kmsg.Fetch), "Fetch", 17, true},
		{int16(kmsg.Produce), "Produce", 11, true},
		{int16(kmsg.ListOffsets), "ListOffsets", 9, true},
		{int16(kmsg.DescribeLogDirs), "DescribeLogDirs", 4, false},
	}
	advertised := apiVersions(t, c)
	for _, p := range probes {
		max, ok := advertised[p.key]
		switch {
		case !ok && p.advertise:
			t.Errorf("%s not advertised, want max v%d", p.name, p.max)
		case ok && max != p.max:
			t.Errorf("%s advertised up to v%d, want v%d as Kafka 3.9", p.name, max, p.max)
		}
	}

	const n = "400"
	argv := []string{filepath.Join("python", "kafka_python_version_inference.py"), c.Bootstrap(), "kpy3-inference", n}
	out, errOut, err := run(t, 180*time.Second, nil, kafkaPython3, argv...)
	if err != nil {
		t.Fatalf("%v\nstdout: %s\nbroker log:\n%s", err, out, c.LogTail(0, 30))
	}
	got := splitLines(out)
	want := []string{"inferred 3.9", "node 0 3.9", "ok " + n}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kafka-python printed %q, want %q\nstderr: %s", got, want, harness.Clip(errOut, 4000))
	}
}

// apiVersions returns the broker's advertised max version per API key.
func apiVersions(t *testing.T, c *cluster.Cluster) map[int16]int16 {
	t.Helper()
	cl := c.Client()
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	max := make(map[int16]int16, len(resp.ApiKeys))
	for _, k := range resp.ApiKeys {
		max[k.ApiKey] = k.MaxVersion
	}
	return max
}
