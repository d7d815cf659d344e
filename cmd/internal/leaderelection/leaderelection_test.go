package leaderelection

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

type fakeAdmin struct {
	results []result
	err     error
	gotType electionType
	gotTPs  []tp
}

func (f *fakeAdmin) ElectLeaders(_ context.Context, typ electionType, parts []tp) ([]result, error) {
	f.gotType, f.gotTPs = typ, parts
	return f.results, f.err
}
func (f *fakeAdmin) Close() {}

func runWith(f *fakeAdmin, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, newAdmin: func(map[string]string) (admin, error) { return f, nil }}
	code := e.run(context.Background(), args)
	return out.String(), errb.String(), code
}

func TestValidation(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--bootstrap-server", "x", "--topic", "t", "--partition", "0"}, "Missing required option(s): election-type\n"},
		{[]string{"--election-type", "preferred"}, "Missing required option(s): bootstrap-server\n"},
		{[]string{"--bootstrap-server", "x", "--election-type", "preferred"}, "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file\n"},
		{[]string{"--bootstrap-server", "x", "--election-type", "preferred", "--topic", "t", "--all-topic-partitions"}, "One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file\n"},
		{[]string{"--bootstrap-server", "x", "--election-type", "preferred", "--topic", "t"}, "Missing required option(s): partition\n"},
		{[]string{"--bootstrap-server", "x", "--election-type", "preferred", "--all-topic-partitions", "--partition", "1"}, "Option partition is only allowed if topic is used\n"},
		{[]string{"--bootstrap-server", "x", "--election-type", "nope", "--all-topic-partitions"}, "Cannot parse argument 'nope' of option election-type\n"},
		{[]string{"--bogus"}, "bogus is not a recognized option\n"},
	}
	for _, c := range cases {
		out, errOut, code := runWith(&fakeAdmin{}, c.args...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, c.want) {
			t.Errorf("%v: %d %q %q", c.args, code, out, errOut)
		}
	}
	if _, errOut, code := runWith(&fakeAdmin{}); code != 1 || !strings.HasPrefix(errOut, helpText+"\nOption ") {
		t.Errorf("no args: %d %q", code, errOut)
	}
}

func TestParseElectionData(t *testing.T) {
	cases := []struct {
		json    string
		want    []tp
		wantErr string
	}{
		{`{"partitions":[{"topic":"a","partition":1},{"topic":"b","partition":0}]}`, []tp{{"a", 1}, {"b", 0}}, ""},
		{`{`, nil, "Replica election data is empty"},
		{`{"version":1}`, nil, `Replica election data is missing "partitions" field`},
		{`{"partitions":[{"topic":"a","partition":1},{"topic":"a","partition":1}]}`, nil, "Replica election data contains duplicate partitions: [a-1]"},
		{`{"partitions":[{"topic":"a"}]}`, nil, "com.fasterxml.jackson.databind.JsonMappingException: No such field exists: `partition`"},
	}
	for _, c := range cases {
		got, err := parseElectionData(c.json)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: %v, want %q", c.json, err, c.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v %v", c.json, got, err)
		}
	}
}

func TestElectOutput(t *testing.T) {
	f := &fakeAdmin{results: []result{
		{TP: tp{"t", 0}},
		{TP: tp{"t", 1}},
		{TP: tp{"t", 2}, Err: cli.KafkaError(84, nil)},
		{TP: tp{"u", 0}, Err: cli.KafkaError(80, strPtr("Failed to elect leader for partition u-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy"))},
	}}
	path := filepath.Join(t.TempDir(), "p.json")
	os.WriteFile(path, []byte(`{"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1},{"topic":"t","partition":2},{"topic":"u","partition":0}]}`), 0o600)
	out, errOut, code := runWith(f, "--bootstrap-server", "x", "--election-type", "PREFERRED", "--path-to-json-file", path)
	// TopicPartition hashes: t-0 -> bucket 5, t-1 -> 4, so Java prints t-1 first.
	want := "Successfully completed leader election (PREFERRED) for partitions t-1, t-0\n" +
		"Valid replica already elected for partitions t-2\n" +
		"Error completing leader election (PREFERRED) for partition: u-0: org.apache.kafka.common.errors.PreferredLeaderNotAvailableException: Failed to elect leader for partition u-0 under strategy PreferredReplicaPartitionLeaderElectionStrategy\n"
	if code != 1 || out != want || !strings.HasPrefix(errOut, "1 replica(s) could not be elected\n") {
		t.Fatalf("%d\n%s\nwant\n%s\nstderr %s", code, out, want, errOut)
	}
	if len(f.gotTPs) != 4 || f.gotType != preferred {
		t.Fatalf("request %v %v", f.gotType, f.gotTPs)
	}

	f = &fakeAdmin{results: []result{{TP: tp{"t", 0}}}}
	out, _, code = runWith(f, "--bootstrap-server", "x", "--election-type", "unclean", "--topic", "t", "--partition", "0")
	if code != 0 || out != "Successfully completed leader election (UNCLEAN) for partitions t-0\n" || f.gotType != unclean {
		t.Fatalf("unclean: %d %q", code, out)
	}
	f = &fakeAdmin{err: cli.KafkaError(31, nil)}
	out, errOut, code = runWith(f, "--bootstrap-server", "x", "--election-type", "preferred", "--all-topic-partitions")
	if code != 1 || out != "Not authorized to perform leader election\n" || !strings.HasPrefix(errOut, "Not authorized to perform leader election\n") || f.gotTPs != nil {
		t.Fatalf("auth: %d %q %q", code, out, errOut)
	}
}

func strPtr(s string) *string { return &s }

// TestAgainstKfake runs the tool end to end against franz-go's fake cluster.
func TestAgainstKfake(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"--bootstrap-server", strings.Join(c.ListenAddrs(), ","), "--election-type", "preferred", "--all-topic-partitions"}, &out, &errb)
	if code != 0 || out.String() != "Successfully completed leader election (PREFERRED) for partitions t-1, t-0\n" {
		t.Fatalf("%d %q %q", code, out.String(), errb.String())
	}
}
