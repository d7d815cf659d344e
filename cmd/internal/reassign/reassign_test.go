package reassign

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
	"github.com/kafkazk/kafkazk/zkmeta"
)

func TestJavaHashOrder(t *testing.T) {
	if h := zkmeta.JavaStringHash("hello"); h != 99162322 {
		t.Fatalf("hash(hello) = %d", h)
	}
	if h := cli.TopicPartitionHash("t", 0); h != 31*31+116 {
		t.Fatalf("hash(t-0) = %d", h)
	}
	got := javaSetOrderInts([]int32{1008, 1001, 3, 1002})
	want := []int32{1008, 3, 1001, 1002} // buckets 0, 3, 9, 10 of 16
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("int order %v, want %v", got, want)
	}
	// "a"=97 -> bucket 1, "b" -> 2, "q"=113 -> 1 after "a" (insertion order).
	if got := javaSetOrderStrings([]string{"q", "b", "a"}); !reflect.DeepEqual(got, []string{"a", "q", "b"}) {
		t.Fatalf("string order %v", got)
	}
}

func TestAssignRackUnaware(t *testing.T) {
	got := assignRackUnaware([]int32{0, 1, 2, 3}, 16, 3, 0, 0)
	want := map[int32][]int32{0: {0, 1, 2}, 1: {1, 2, 3}, 2: {2, 3, 0}, 3: {3, 0, 1}, 4: {0, 2, 3}, 5: {1, 3, 0}, 8: {0, 3, 1}, 12: {0, 1, 2}}
	for p, r := range want {
		if !reflect.DeepEqual(got[p], r) {
			t.Errorf("p%d = %v, want %v", p, got[p], r)
		}
	}
}

func TestAssignRackAware(t *testing.T) {
	brokers := []brokerMeta{{0, "a"}, {1, "a"}, {2, "b"}, {3, "b"}, {4, "c"}, {5, "c"}}
	if got := rackAlternated(brokers); !reflect.DeepEqual(got, []int32{0, 2, 4, 1, 3, 5}) {
		t.Fatalf("alternated %v", got)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		out, err := assignReplicas(brokers, 12, 3, rnd)
		if err != nil {
			t.Fatal(err)
		}
		rack := map[int32]string{0: "a", 1: "a", 2: "b", 3: "b", 4: "c", 5: "c"}
		for p, r := range out {
			seen := map[string]bool{}
			for _, b := range r {
				if seen[rack[b]] {
					t.Fatalf("partition %d replicas %v share a rack", p, r)
				}
				seen[rack[b]] = true
			}
		}
	}
	_, err := assignReplicas([]brokerMeta{{0, "a"}, {1, ""}}, 1, 1, rnd)
	if err == nil || err.Error() != "Not all brokers have rack information for replica rack aware assignment." {
		t.Fatalf("mixed racks: %v", err)
	}
	_, err = assignReplicas([]brokerMeta{{0, ""}}, 1, 2, rnd)
	if err == nil || err.Error() != "Replication factor: 2 larger than available brokers: 1." {
		t.Fatalf("rf too big: %v", err)
	}
}

func TestFormatReassignmentJSON(t *testing.T) {
	got := formatReassignmentJSON(map[tp][]int32{{"b", 0}: {2}, {"a", 10}: {1, 2}, {"a", 2}: {3, 1}}, map[tpr]string{{"a", 2, 1}: "/d"})
	want := `{"version":1,"partitions":[{"topic":"a","partition":2,"replicas":[3,1],"log_dirs":["any","/d"]},{"topic":"a","partition":10,"replicas":[1,2],"log_dirs":["any","any"]},{"topic":"b","partition":0,"replicas":[2],"log_dirs":["any"]}]}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := formatReassignmentJSON(nil, nil); got != `{"version":1,"partitions":[]}` {
		t.Fatalf("empty: %s", got)
	}
}

func TestParseExecuteArgs(t *testing.T) {
	cases := []struct{ name, json, wantErr string }{
		{"good", `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any","/x"]}]}`, ""},
		{"no version", `{"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}`, ""},
		{"empty", `{"version":1,"partitions":[]}`, "Partition reassignment list cannot be empty"},
		{"no replicas", `{"partitions":[{"topic":"t","partition":0,"replicas":[]}]}`, "Partition replica list cannot be empty"},
		{"dup partition", `{"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}`, "Partition reassignment contains duplicate topic partitions: t-0"},
		{"dup replica", `{"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}`, "Partition replica lists may not contain duplicate entries: t-0 contains multiple entries for 1"},
		{"bad version", `{"version":2,"partitions":[]}`, "Not supported version field value 2"},
		{"log dirs size", `{"partitions":[{"topic":"t","partition":0,"replicas":[1,2],"log_dirs":["any"]}]}`, "Size of replicas list [1, 2] is different from size of log dirs list [any] for partition t-0"},
		{"missing topic", `{"partitions":[{"partition":0,"replicas":[1]}]}`, "No such field exists: `topic`"},
		{"bad partition", `{"partitions":[{"topic":"t","partition":"x","replicas":[1]}]}`, "Expected `Integer` value, received \"x\""},
	}
	for _, c := range cases {
		parts, dirs, err := parseExecuteArgs(c.json)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: error %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(parts) != 1 {
			t.Errorf("%s: parts %v", c.name, parts)
		}
		if c.name == "good" && dirs[tpr{"t", 0, 2}] != "/x" {
			t.Errorf("%s: dirs %v", c.name, dirs)
		}
	}
}

// fakeAdmin is an in-memory cluster.
type fakeAdmin struct {
	nodes     []node
	topics    map[string]topicInfo
	ongoing   map[tp]ongoing
	altered   map[tp][]int32
	alterErrs map[tp]error
	configOps []map[configResource][]configOp
	configErr error
	listCalls int
	cancelled []tp
}

func (f *fakeAdmin) DescribeCluster(context.Context) ([]node, error) { return f.nodes, nil }
func (f *fakeAdmin) DescribeTopics(_ context.Context, topics []string) (map[string]topicInfo, map[string]error, error) {
	infos, errs := map[string]topicInfo{}, map[string]error{}
	for _, t := range topics {
		if info, ok := f.topics[t]; ok {
			infos[t] = info
		} else {
			errs[t] = cli.KafkaError(3, nil)
		}
	}
	return infos, errs, nil
}
func (f *fakeAdmin) ListReassignments(_ context.Context, parts []tp) (map[tp]ongoing, error) {
	f.listCalls++
	out := map[tp]ongoing{}
	for p, o := range f.ongoing {
		if parts == nil || contains2(parts, p) {
			out[p] = o
		}
	}
	return out, nil
}
func contains2(parts []tp, p tp) bool {
	for _, x := range parts {
		if x == p {
			return true
		}
	}
	return false
}
func (f *fakeAdmin) AlterReassignments(_ context.Context, parts map[tp][]int32) (map[tp]error, error) {
	if f.altered == nil {
		f.altered = map[tp][]int32{}
	}
	errs := map[tp]error{}
	for p, r := range parts {
		if e := f.alterErrs[p]; e != nil {
			errs[p] = e
			continue
		}
		if r == nil {
			f.cancelled = append(f.cancelled, p)
		}
		f.altered[p] = r
	}
	return errs, nil
}
func (f *fakeAdmin) IncrementalAlterConfigs(_ context.Context, ops map[configResource][]configOp) error {
	f.configOps = append(f.configOps, ops)
	return f.configErr
}
func (f *fakeAdmin) DescribeReplicaLogDirs(_ context.Context, rs []tpr) (map[tpr]logDirInfo, error) {
	out := map[tpr]logDirInfo{}
	for _, r := range rs {
		out[r] = logDirInfo{Current: "/data"}
	}
	return out, nil
}
func (f *fakeAdmin) AlterReplicaLogDirs(context.Context, map[tpr]string) (map[tpr]error, error) {
	return map[tpr]error{}, nil
}
func (f *fakeAdmin) Close() {}

func newFake() *fakeAdmin {
	return &fakeAdmin{
		nodes: []node{{ID: 0}, {ID: 1}, {ID: 2}},
		topics: map[string]topicInfo{
			"t": {Partitions: []partitionInfo{{0, []int32{0, 1}}, {1, []int32{1, 2}}}},
		},
		ongoing: map[tp]ongoing{},
	}
}

func runWith(t *testing.T, f *fakeAdmin, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, newAdmin: func(map[string]string) (admin, error) { return f, nil },
		rnd: rand.New(rand.NewPCG(7, 7)), sleep: func(context.Context, time.Duration) error { return nil },
		now: time.Now, callTimeout: 5 * time.Second}
	code := e.run(context.Background(), args)
	return out.String(), errb.String(), code
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	cases := []struct {
		args    []string
		wantErr string
	}{
		{nil, helpText},
		{[]string{"--bootstrap-server", "x"}, "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"},
		{[]string{"--list", "--verify"}, "Command must include exactly one action: --generate, --execute, --verify, --cancel, --list"},
		{[]string{"--list"}, "Please specify --bootstrap-server"},
		{[]string{"--verify", "--bootstrap-server", "x"}, `Missing required argument "[reassignment-json-file]"`},
		{[]string{"--generate", "--bootstrap-server", "x", "--broker-list", "1"}, `Missing required argument "[topics-to-move-json-file]"`},
		{[]string{"--verify", "--bootstrap-server", "x", "--reassignment-json-file", "f", "--throttle", "5"}, `Option "[throttle]" can't be used with action "[verify]"`},
		{[]string{"--list", "--bootstrap-server", "x", "--additional"}, `Option "[additional]" can't be used with action "[list]"`},
	}
	for _, c := range cases {
		out, errOut, code := runWith(t, newFake(), c.args...)
		if code != 1 || out != "" || !strings.HasPrefix(errOut, c.wantErr+"\nOption ") {
			t.Errorf("%v: code %d out %q err %.120q", c.args, code, out, errOut)
		}
	}
	_, errOut, code := runWith(t, newFake(), "--lis", "--bootstrap-server", "x", "--bogus")
	if code != 1 || errOut != "Exception in thread \"main\" joptsimple.UnrecognizedOptionException: bogus is not a recognized option\n" {
		t.Errorf("unknown option: %d %q", code, errOut)
	}
	if out, _, code := runWith(t, newFake(), "--version"); code != 0 || out != "3.7.0\n" {
		t.Errorf("version: %d %q", code, out)
	}
}

func TestGenerate(t *testing.T) {
	f := newFake()
	topics := writeFile(t, `{"topics":[{"topic":"t"}],"version":1}`)
	out, _, code := runWith(t, f, "--bootstrap-server", "x", "--generate", "--topics-to-move-json-file", topics, "--broker-list", "1,2")
	if code != 0 {
		t.Fatalf("code %d: %s", code, out)
	}
	prefix := "Current partition replica assignment\n" +
		`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[0,1],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[1,2],"log_dirs":["any","any"]}]}` +
		"\n\nProposed partition reassignment configuration\n"
	if !strings.HasPrefix(out, prefix) {
		t.Fatalf("output:\n%s", out)
	}
	proposed := strings.TrimSuffix(strings.TrimPrefix(out, prefix), "\n")
	data, _, err := parseExecuteArgs(proposed)
	if err != nil {
		t.Fatalf("proposal %s: %v", proposed, err)
	}
	for p, r := range data {
		if len(r) != 2 || !(r[0] == 1 && r[1] == 2 || r[0] == 2 && r[1] == 1) {
			t.Errorf("%s -> %v", p, r)
		}
	}

	cases := []struct{ json, brokers, want string }{
		{`{"topics":[{"topic":"nope"}]}`, "1,2", "Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: Topic nope not found.\n"},
		{`{"topics":[{"topic":"t"}]}`, "1,1,2", "Error: Broker list contains duplicate entries: [1]\n"},
		{`{"topics":[{"topic":"t"},{"topic":"t"}]}`, "1", "Error: List of topics to reassign contains duplicate entries: [t]\n"},
		{`{"topics":[{"topic":"t"}]}`, "2,9", "Error: Replication factor: 2 larger than available brokers: 1.\n"},
		{`{"topics":[{"topic":"t"}]}`, "a", "Error: For input string: \"a\"\n"},
		{`{`, "1", "Error: The input string is not a valid JSON\n"},
	}
	for _, c := range cases {
		out, _, code := runWith(t, newFake(), "--bootstrap-server", "x", "--generate", "--topics-to-move-json-file", writeFile(t, c.json), "--broker-list", c.brokers)
		if code != 1 || !strings.HasPrefix(out, c.want) {
			t.Errorf("%s %s: code %d out %q", c.json, c.brokers, code, out)
		}
	}
}

func TestExecute(t *testing.T) {
	f := newFake()
	file := writeFile(t, `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"t","partition":1,"replicas":[2,0]}]}`)
	out, _, code := runWith(t, f, "--bootstrap-server", "x", "--execute", "--reassignment-json-file", file)
	want := "Current partition replica assignment\n\n" +
		`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[0,1],"log_dirs":["any","any"]},{"topic":"t","partition":1,"replicas":[1,2],"log_dirs":["any","any"]}]}` +
		"\n\nSave this to use as the --reassignment-json-file option during rollback\n" +
		"Successfully started partition reassignments for t-0,t-1\n"
	if code != 0 || out != want {
		t.Fatalf("code %d\n%s\nwant\n%s", code, out, want)
	}
	if !reflect.DeepEqual(f.altered[tp{"t", 1}], []int32{2, 0}) {
		t.Fatalf("altered %v", f.altered)
	}

	// An ongoing reassignment needs --additional.
	f = newFake()
	f.ongoing[tp{"t", 0}] = ongoing{Replicas: []int32{0, 1, 2}, Adding: []int32{2}, Removing: []int32{0}}
	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--execute", "--reassignment-json-file", file)
	if code != 1 || out != cannotExecuteBecauseOfExisting+"\n" {
		t.Fatalf("existing: %d %q", code, out)
	}

	// Throttles: topic configs, then broker rates; a broker refusing them fails the command.
	f = newFake()
	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--execute", "--reassignment-json-file", file, "--throttle", "1000")
	if code != 0 || !strings.Contains(out, mustRunVerify+"\nThe inter-broker throttle limit was set to 1000 B/s\nSuccessfully started") {
		t.Fatalf("throttle: %d\n%s", code, out)
	}
	topicOps := f.configOps[0][configResource{Name: "t"}]
	if *topicOps[0].Value != "0:0,0:1,1:1,1:2" || *topicOps[1].Value != "0:2,1:0" {
		t.Fatalf("topic throttles %s %s", *topicOps[0].Value, *topicOps[1].Value)
	}
	if len(f.configOps[1]) != 3 {
		t.Fatalf("broker throttles %v", f.configOps[1])
	}
	f = newFake()
	f.configErr = executionError(cli.KafkaError(42, strPtr("dynamic broker configs are not supported yet")))
	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--execute", "--reassignment-json-file", file, "--throttle", "1000")
	if code != 1 || !strings.Contains(out, "Error: org.apache.kafka.common.errors.InvalidRequestException: dynamic broker configs are not supported yet\n") {
		t.Fatalf("throttle refused: %d\n%s", code, out)
	}

	// Per-partition errors and unknown brokers.
	f = newFake()
	f.alterErrs = map[tp]error{{"t", 1}: cli.KafkaError(39, strPtr("bad assignment"))}
	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--execute", "--reassignment-json-file", file)
	if code != 1 || !strings.HasSuffix(out, "rollback\nError reassigning partition(s):\nt-1: bad assignment\n") {
		t.Fatalf("partition error: %d\n%s", code, out)
	}
	out, _, code = runWith(t, newFake(), "--bootstrap-server", "x", "--execute", "--reassignment-json-file",
		writeFile(t, `{"partitions":[{"topic":"t","partition":0,"replicas":[7]}]}`))
	if code != 1 || !strings.HasPrefix(out, "Error: Unknown broker id 7\norg.apache.kafka.server.common.AdminCommandFailedException: Unknown broker id 7\n") {
		t.Fatalf("unknown broker: %d\n%s", code, out)
	}
}

func strPtr(s string) *string { return &s }

func TestVerifyCancelList(t *testing.T) {
	file := writeFile(t, `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[0,1]},{"topic":"t","partition":1,"replicas":[2,0]},{"topic":"gone","partition":0,"replicas":[1]}]}`)
	f := newFake()
	out, _, code := runWith(t, f, "--bootstrap-server", "x", "--verify", "--reassignment-json-file", file)
	want := "Status of partition reassignment:\n" +
		"There is no active reassignment of partition gone-0, but replica set is  rather than 1.\n" +
		"Reassignment of partition t-0 is completed.\n" +
		"There is no active reassignment of partition t-1, but replica set is 1,2 rather than 2,0.\n" +
		"\n" +
		"Clearing broker-level throttles on brokers 0,1,2\n" +
		"Clearing topic-level throttles on topics t,gone\n"
	if code != 0 || out != want {
		t.Fatalf("verify: %d\n%s\nwant\n%s", code, out, want)
	}
	if len(f.configOps) != 2 || len(f.configOps[0][configResource{Broker: true, Name: "2"}]) != 3 {
		t.Fatalf("config ops %v", f.configOps)
	}

	f = newFake()
	f.ongoing[tp{"t", 1}] = ongoing{Replicas: []int32{2, 0, 1}, Adding: []int32{0}, Removing: []int32{1}}
	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--verify", "--reassignment-json-file", file, "--preserve-throttles")
	if code != 0 || !strings.Contains(out, "Reassignment of partition t-1 is still in progress.\n\n") || strings.Contains(out, "Clearing") {
		t.Fatalf("verify in progress: %d\n%s", code, out)
	}

	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--list")
	if code != 0 || out != "Current partition reassignments:\nt-1: replicas: 2,0,1. adding: 0. removing: 1.\n" {
		t.Fatalf("list: %d %q", code, out)
	}
	if out, _, _ := runWith(t, newFake(), "--bootstrap-server", "x", "--list"); out != "No partition reassignments found.\n" {
		t.Fatalf("empty list: %q", out)
	}

	out, _, code = runWith(t, f, "--bootstrap-server", "x", "--cancel", "--reassignment-json-file", file)
	want = "Successfully cancelled partition reassignment for: t-1\n" +
		"None of the specified partition moves are active.Clearing broker-level throttles on brokers 0,1,2\n" +
		"Clearing topic-level throttles on topics t,gone\n"
	if code != 0 || out != want || !reflect.DeepEqual(f.cancelled, []tp{{"t", 1}}) {
		t.Fatalf("cancel: %d\n%q\nwant\n%q", code, out, want)
	}
	out, _, _ = runWith(t, newFake(), "--bootstrap-server", "x", "--cancel", "--reassignment-json-file", file, "--preserve-throttles")
	if out != "None of the specified partition reassignments are active.\nNone of the specified partition moves are active." {
		t.Fatalf("cancel nothing: %q", out)
	}
}
