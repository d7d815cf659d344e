package topics

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestAgainstKfake runs the real admin path (franz-go requests) against an in-process fake cluster.
func TestAgainstKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	boot := "--bootstrap-server=" + strings.Join(c.ListenAddrs(), ",")
	run := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		code := Run(ctx, append([]string{boot}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
	if out, errOut, code := run("--create", "--topic", "first", "--partitions", "3", "--replication-factor", "1"); code != 0 || out != "Created topic first.\n" {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if out, _, code := run("--create", "--topic", "first"); code != 1 || !strings.HasPrefix(out, "Error while executing topic command : ") {
		t.Fatalf("create again: %d %q", code, out)
	}
	if out, errOut, code := run("--list"); code != 0 || !strings.Contains(out, "first\n") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	out, errOut, code := run("--describe", "--topic", "first")
	if code != 0 {
		t.Fatalf("describe: %d %q %q", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "Topic: first\tTopicId: ") || !strings.Contains(lines[0], "\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: ") ||
		!strings.HasPrefix(lines[3], "\tTopic: first\tPartition: 2\tLeader: ") {
		t.Fatalf("describe output %q", out)
	}
	if out, errOut, code := run("--alter", "--topic", "first", "--partitions", "5"); code != 0 || out != "" {
		t.Fatalf("alter: %d %q %q", code, out, errOut)
	}
	if out, _, _ := run("--describe", "--topic", "first"); !strings.Contains(out, "PartitionCount: 5") {
		t.Fatalf("after alter %q", out)
	}
	if out, errOut, code := run("--delete", "--topic", "first"); code != 0 || out != "" {
		t.Fatalf("delete: %d %q %q", code, out, errOut)
	}
}
