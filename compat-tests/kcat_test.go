package compat_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

const kcatLines = 100_000

// TestKcat drives librdkafka (kcat) against one broker: metadata, a 100k
// line round trip, keys and headers, then crash safety after kill -9.
func TestKcat(t *testing.T) {
	need(t, "kcat")
	c := cluster.Start(t, 1)
	b0 := c.Broker(0)

	t.Run("metadata", func(t *testing.T) {
		harness.CreateTopic(t, c, "kcat-meta", 3, 1)
		out := string(kcat(t, c, nil, "-L", "-t", "kcat-meta"))
		// kcat -L: ` 1 brokers:` / `  broker 0 at host:port (controller)` /
		// `  topic "t" with 3 partitions:` / `    partition 0, leader 0, replicas: 0, isrs: 0`.
		for _, want := range []string{
			" 1 brokers:",
			"broker 0 at " + b0.Addr,
			`topic "kcat-meta" with 3 partitions:`,
			"partition 0, leader 0, replicas: 0, isrs: 0",
			"partition 2, leader 0, replicas: 0, isrs: 0",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("kcat -L output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "err") {
			t.Errorf("kcat -L reports an error:\n%s", out)
		}
	})

	t.Run("roundtrip100k", func(t *testing.T) {
		harness.CreateTopic(t, c, "kcat-lines", 1, 1)
		in, want := lines("rt", kcatLines)
		kcat(t, c, in, "-P", "-t", "kcat-lines", "-p", "0")
		got := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-lines", "-p", "0", "-o", "beginning", "-e", "-q"))
		sameLines(t, want, got)
	})

	t.Run("keysHeaders", func(t *testing.T) {
		harness.CreateTopic(t, c, "kcat-kh", 1, 1)
		in := "k1:v1\nk2:value two\n:no key\nk4:\n"
		kcat(t, c, []byte(in), "-P", "-t", "kcat-kh", "-p", "0", "-K:", "-H", "h1=a", "-H", "h2=b c")
		got := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-kh", "-p", "0", "-o", "beginning", "-e", "-q",
			"-f", "%o|%k|%K|%h|%s|%S\n"))
		// kcat: an empty key before the delimiter is produced as an empty
		// (length 0) key; %h prints headers as n=v CSV in order.
		want := []string{
			"0|k1|2|h1=a,h2=b c|v1|2",
			"1|k2|2|h1=a,h2=b c|value two|9",
			"2||0|h1=a,h2=b c|no key|6",
			"3|k4|2|h1=a,h2=b c||0",
		}
		sameLines(t, want, got)
	})

	// librdkafka's own codec implementations (-z) against the broker.
	for _, codec := range []string{"gzip", "snappy", "lz4", "zstd"} {
		t.Run("compression-"+codec, func(t *testing.T) {
			topic := "kcat-z-" + codec
			harness.CreateTopic(t, c, topic, 1, 1)
			in, want := lines(codec, 20_000)
			kcat(t, c, in, "-P", "-t", topic, "-p", "0", "-z", codec)
			got := splitLines(kcat(t, c, nil, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q"))
			sameLines(t, want, got)
		})
	}

	t.Run("acks0", func(t *testing.T) {
		// acks=0: the broker must not answer, or librdkafka mismatches responses.
		harness.CreateTopic(t, c, "kcat-acks0", 1, 1)
		in, want := lines("a0", 5000)
		kcat(t, c, in, "-P", "-t", "kcat-acks0", "-p", "0", "-X", "acks=0")
		var got []string
		harness.Poll(t, 15*time.Second, "acks=0 records all readable", func() (bool, string) {
			got = splitLines(kcat(t, c, nil, "-C", "-t", "kcat-acks0", "-p", "0", "-o", "beginning", "-e", "-q"))
			return len(got) == len(want), fmt.Sprintf("%d of %d", len(got), len(want))
		})
		sameLines(t, want, got)
	})

	t.Run("crashSafety", func(t *testing.T) {
		harness.CreateTopic(t, c, "kcat-crash", 1, 1)
		in, want := lines("crash", kcatLines)
		// acks=all is librdkafka's default (request.required.acks=-1); say so explicitly.
		kcat(t, c, in, "-P", "-t", "kcat-crash", "-p", "0", "-X", "acks=all")
		c.Kill(0)
		c.Restart(0)
		got := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-crash", "-p", "0", "-o", "beginning", "-e", "-q"))
		sameLines(t, want, got)

		more := []byte("after-1\nafter-2\nafter-3\n")
		kcat(t, c, more, "-P", "-t", "kcat-crash", "-p", "0")
		offs := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-crash", "-p", "0",
			"-o", strconv.Itoa(kcatLines), "-e", "-q", "-f", "%o %s\n"))
		wantOffs := []string{
			fmt.Sprintf("%d after-1", kcatLines),
			fmt.Sprintf("%d after-2", kcatLines+1),
			fmt.Sprintf("%d after-3", kcatLines+2),
		}
		sameLines(t, wantOffs, offs)
	})
	t.Run("tornTail", func(t *testing.T) {
		// A crash mid-write leaves a partial batch at the end of the active
		// segment; Kafka's recovery (no clean shutdown marker) truncates the
		// log to the last valid batch.
		c.Kill(0)
		logs, err := filepath.Glob(filepath.Join(b0.LogDir, "kcat-crash-0", "*.log"))
		if err != nil || len(logs) == 0 {
			t.Fatalf("no segment files for kcat-crash-0: %v", err)
		}
		sort.Strings(logs)
		active := logs[len(logs)-1]
		f, err := os.OpenFile(active, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		// baseOffset, a length promising 500 bytes, then only a few of them.
		torn := []byte{0, 0, 0, 0, 0, 0, 0x86, 0xa3, 0, 0, 0x01, 0xf4, 0, 0, 0, 0, 2, 0xde, 0xad}
		if _, err := f.Write(torn); err != nil {
			t.Fatal(err)
		}
		f.Close()
		c.Restart(0)
		kcat(t, c, []byte("after-torn\n"), "-P", "-t", "kcat-crash", "-p", "0")
		got := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-crash", "-p", "0",
			"-o", strconv.Itoa(kcatLines+2), "-e", "-q", "-f", "%o %s\n"))
		want := []string{
			fmt.Sprintf("%d after-3", kcatLines+2),
			fmt.Sprintf("%d after-torn", kcatLines+3),
		}
		sameLines(t, want, got)
		n := len(splitLines(kcat(t, c, nil, "-C", "-t", "kcat-crash", "-p", "0", "-o", "beginning", "-e", "-q")))
		if n != kcatLines+4 {
			t.Errorf("partition holds %d records after recovery, want %d", n, kcatLines+4)
		}
	})
}
