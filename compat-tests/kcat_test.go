package compat_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

const kcatLines = 100_000

// TestKcat drives librdkafka (kcat) against one broker: metadata, a 100k
// line round trip, keys and headers, then crash safety after kill -9.
func TestKcat(t *testing.T) {
	need(t, "kcat")
	c := cluster.Start(t, 1)
	b0 := c.Broker(0)

	t.Run("metadata", func(t *testing.T) {
		createTopic(t, c, "kcat-meta", 3, 1)
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
		createTopic(t, c, "kcat-lines", 1, 1)
		in, want := lines("rt", kcatLines)
		kcat(t, c, in, "-P", "-t", "kcat-lines", "-p", "0")
		got := splitLines(kcat(t, c, nil, "-C", "-t", "kcat-lines", "-p", "0", "-o", "beginning", "-e", "-q"))
		sameLines(t, want, got)
	})

	t.Run("keysHeaders", func(t *testing.T) {
		createTopic(t, c, "kcat-kh", 1, 1)
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

	t.Run("crashSafety", func(t *testing.T) {
		createTopic(t, c, "kcat-crash", 1, 1)
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
}
