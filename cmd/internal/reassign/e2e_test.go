package reassign

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// TestAgainstKfake runs the tool end to end against franz-go's fake cluster, which accepts
// reassignments without moving anything and never reports one in progress.
func TestAgainstKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	bs := strings.Join(c.ListenAddrs(), ",")
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"--bootstrap-server", bs}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("--generate", "--topics-to-move-json-file", writeFile(t, `{"topics":[{"topic":"t"}]}`), "--broker-list", "0,1,2")
	if code != 0 || !strings.HasPrefix(out, "Current partition replica assignment\n{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,") ||
		!strings.Contains(out, "\n\nProposed partition reassignment configuration\n{\"version\":1,\"partitions\":[{\"topic\":\"t\",\"partition\":0,\"replicas\":[") {
		t.Fatalf("generate: %d\n%s", code, out)
	}
	file := writeFile(t, `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":1,"replicas":[2]}]}`)
	out, code = run("--execute", "--reassignment-json-file", file)
	if code != 0 || !strings.HasSuffix(out, "rollback\nSuccessfully started partition reassignments for t-0,t-1\n") {
		t.Fatalf("execute: %d\n%s", code, out)
	}
	out, code = run("--list")
	if code != 0 || out != "No partition reassignments found.\n" {
		t.Fatalf("list: %d\n%s", code, out)
	}
	out, code = run("--verify", "--reassignment-json-file", file, "--preserve-throttles")
	if code != 0 || !strings.HasPrefix(out, "Status of partition reassignment:\n") {
		t.Fatalf("verify: %d\n%s", code, out)
	}
	out, code = run("--execute", "--reassignment-json-file", writeFile(t, `{"partitions":[{"topic":"nope","partition":0,"replicas":[1]}]}`))
	if code != 1 || !strings.HasPrefix(out, "Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic nope not found.\n") {
		t.Fatalf("unknown topic: %d\n%s", code, out)
	}
}
