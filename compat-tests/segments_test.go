package compat_test

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// With segment.bytes=1048576 and 100 MB produced, the partition directory
// holds many segments named by base offset, each with its .index and
// .timeindex, and kafka-dump-log.sh's index sanity check passes on them.
func TestSegmentsOnDisk(t *testing.T) {
	c := cluster.Start(t, 1, "log.segment.bytes=1048576")
	harness.CreateTopic(t, c, "bulk", 1, 1)
	// 16 KiB batches: many per segment, so every index gets entries.
	cl := c.Client(kgo.DefaultProduceTopic("bulk"), kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerBatchMaxBytes(16<<10))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	value := make([]byte, 1000)
	_, _ = rand.Read(value)
	const total = 100 << 20
	for sent := 0; sent < total; sent += len(value) {
		cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(c.Broker(0).LogDir, "bulk-0")
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(logs) < 90 {
		t.Fatalf("%d segments for 100 MB at segment.bytes=1048576, want about 100", len(logs))
	}
	named := regexp.MustCompile(`^\d{20}\.log$`)
	for _, l := range logs {
		if !named.MatchString(filepath.Base(l)) {
			t.Fatalf("segment %s is not named by its 20-digit base offset", l)
		}
		base := strings.TrimSuffix(l, ".log")
		for _, ext := range []string{".index", ".timeindex"} {
			if _, err := os.Stat(base + ext); err != nil {
				t.Fatalf("segment %s has no %s: %v", l, ext, err)
			}
		}
	}
	first := filepath.Join(dir, "00000000000000000000.index")
	out, errOut, code := c.Tool("kafka-dump-log.sh", "--files", first, "--index-sanity-check")
	want := "Dumping " + first + "\n" + first + " passed sanity check.\n"
	if code != 0 || out != want {
		t.Fatalf("kafka-dump-log.sh --index-sanity-check: exit %d\nstdout %q\nstderr %q\nwant %q", code, out, errOut, want)
	}
	out, _, code = c.Tool("kafka-dump-log.sh", "--files", strings.TrimSuffix(first, ".index")+".log")
	if code != 0 || !strings.Contains(out, "baseOffset: 0 lastOffset: ") || !strings.Contains(out, "isvalid: true") {
		t.Fatalf("kafka-dump-log.sh of the first segment: exit %d\n%s", code, harness.Clip(out, 2000))
	}
}
