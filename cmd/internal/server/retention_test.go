package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/cmd/internal/deleterecords"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

func produceN(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, n int) {
	t.Helper()
	for i := range n {
		// One record per batch, so that small segments roll often.
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprintf("record-%04d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func earliest(t *testing.T, ctx context.Context, adm *kadm.Client, topic string) int64 {
	t.Helper()
	o, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	lo, _ := o.Lookup(topic, 0)
	return lo.Offset
}

func TestDeleteRecordsTool(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0)
	cl := newClient(t, []string{b.addr}, kgo.ProducerLinger(0))
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	segment := "1024"
	if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"segment.bytes": &segment}, "trim"); err != nil {
		t.Fatal(err)
	}
	produceN(t, ctx, cl, "trim", 200)

	file := filepath.Join(t.TempDir(), "offsets.json")
	cases := []struct {
		offset int64
		want   string
	}{
		{100, "partition: trim-0\tlow_watermark: 100\n"},
		{500, "partition: trim-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException: The requested offset is not within the range of offsets maintained by the server.\n"},
		{-1, "partition: trim-0\tlow_watermark: 200\n"}, // -1: up to the high watermark
	}
	for _, c := range cases {
		json := fmt.Sprintf(`{"partitions":[{"topic":"trim","partition":0,"offset":%d}],"version":1}`, c.offset)
		if err := os.WriteFile(file, []byte(json), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		code := deleterecords.Run(ctx, []string{"--bootstrap-server", b.addr, "--offset-json-file", file}, &stdout, &stderr)
		want := "Executing records delete operation\nRecords delete operation completed:\n" + c.want
		if code != 0 || stdout.String() != want {
			t.Fatalf("offset %d: exit %d, stdout %q, stderr %q; want %q", c.offset, code, stdout.String(), stderr.String(), want)
		}
	}
	if got := earliest(t, ctx, adm, "trim"); got != 200 {
		t.Fatalf("log start offset %d after deleting up to the high watermark, want 200", got)
	}
	// Reading below the log start offset is out of range; the consumer resets to the start.
	consumer := newClient(t, []string{b.addr}, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"trim": {0: kgo.NewOffset().At(50)}}),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	produceN(t, ctx, cl, "trim", 1)
	fetches := consumer.PollFetches(ctx)
	if recs := fetches.Records(); len(recs) != 1 || recs[0].Offset != 200 {
		t.Fatalf("after the trim the partition must hold only offset 200, got %d records", len(recs))
	}
}

func TestRetentionDeletesOldSegments(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, "log.retention.check.interval.ms=100")
	cl := newClient(t, []string{b.addr}, kgo.ProducerLinger(0))
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	configs := map[string]*string{"segment.bytes": ptr("1024"), "retention.bytes": ptr("2048"), "file.delete.delay.ms": ptr("500")}
	if _, err := adm.CreateTopic(ctx, 1, 1, configs, "aging"); err != nil {
		t.Fatal(err)
	}
	produceN(t, ctx, cl, "aging", 200)
	dir := partitionDir(t, b, "aging-0")
	sawDeleted := false
	waitFor(t, "retention.bytes to delete old segments", func() bool {
		if names, _ := filepath.Glob(filepath.Join(dir, "*.deleted")); len(names) > 0 {
			sawDeleted = true
		}
		return earliest(t, ctx, adm, "aging") > 0
	})
	waitFor(t, "the .deleted files to be removed after file.delete.delay.ms", func() bool {
		names, _ := filepath.Glob(filepath.Join(dir, "*.deleted"))
		if len(names) > 0 {
			sawDeleted = true
		}
		return len(names) == 0
	})
	if !sawDeleted {
		t.Log("the .deleted files came and went between two polls")
	}
	if got := earliest(t, ctx, adm, "aging"); got <= 0 || got >= 200 {
		t.Fatalf("log start offset %d: retention must keep the newest segments", got)
	}
}

func ptr(s string) *string { return &s }

// partitionDir finds a partition's directory under the test broker's log dir.
func partitionDir(t *testing.T, b *testBroker, name string) string {
	t.Helper()
	var found string
	waitFor(t, "partition dir "+name, func() bool {
		matches, _ := filepath.Glob(filepath.Join(b.logDir, name))
		if len(matches) == 1 {
			found = matches[0]
		}
		return found != ""
	})
	if !strings.HasSuffix(found, name) {
		t.Fatalf("bad dir %s", found)
	}
	return found
}
