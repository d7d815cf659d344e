package topics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// fakeAdmin is an in-memory cluster for the command flows.
type fakeAdmin struct {
	topics  map[string]topicDesc
	configs map[string][]configEntry
	live    []int32
	ras     map[string]map[int32]*reassignment
	created []createSpec
	deleted []string
	totals  map[string]int32
	failAll error
}

func (f *fakeAdmin) ListTopics(_ context.Context, internal bool) ([]topicListing, error) {
	if f.failAll != nil {
		return nil, f.failAll
	}
	var out []topicListing
	for _, t := range f.topics {
		if t.Internal && !internal {
			continue
		}
		out = append(out, topicListing{Name: t.Name, ID: t.ID, Internal: t.Internal})
	}
	return out, nil
}

func (f *fakeAdmin) DescribeTopics(_ context.Context, names []string) ([]topicDesc, error) {
	var out []topicDesc
	for _, n := range names {
		out = append(out, f.topics[n])
	}
	return out, nil
}

func (f *fakeAdmin) DescribeConfigs(_ context.Context, names []string) (map[string][]configEntry, error) {
	return f.configs, nil
}

func (f *fakeAdmin) LiveBrokers(context.Context) ([]int32, error) { return f.live, nil }

func (f *fakeAdmin) ListReassignments(context.Context, []topicDesc) (map[string]map[int32]*reassignment, error) {
	return f.ras, nil
}

func (f *fakeAdmin) CreateTopic(_ context.Context, s createSpec) error {
	if _, ok := f.topics[s.Name]; ok {
		return cli.KafkaError(topicExistsCode, sp("Topic '"+s.Name+"' already exists."))
	}
	f.created = append(f.created, s)
	return nil
}

func (f *fakeAdmin) CreatePartitions(_ context.Context, totals map[string]int32, _ map[string][][]int32) error {
	f.totals = totals
	return nil
}

func (f *fakeAdmin) DeleteTopics(_ context.Context, names []string) error {
	f.deleted = append(f.deleted, names...)
	return nil
}

func (f *fakeAdmin) Close() {}

func newFake() *fakeAdmin {
	id := [16]byte{0x3c, 0x6e, 0x0b, 0x87, 0x45, 0x3a, 0x4f, 0x2b, 0x9c, 0x1d, 0x7a, 0x11, 0x00, 0xff, 0xfe, 0x01}
	return &fakeAdmin{
		topics: map[string]topicDesc{
			"orders": {Name: "orders", ID: id, Partitions: []partitionInfo{
				{1, 2, []int32{2, 3, 1}, []int32{2, 3}}, {0, 1, []int32{1, 2, 3}, []int32{1, 2, 3}}}},
			"__consumer_offsets": {Name: "__consumer_offsets", Internal: true, Partitions: []partitionInfo{{0, 1, []int32{1}, []int32{1}}}},
			"payments":           {Name: "payments", Partitions: []partitionInfo{{0, -1, []int32{4}, []int32{4}}}},
		},
		configs: map[string][]configEntry{
			"orders":   {{Name: "min.insync.replicas", Value: sp("2")}, {Name: "cleanup.policy", Value: sp("delete"), IsDefault: true}},
			"payments": {{Name: "min.insync.replicas", Value: sp("1"), IsDefault: true}},
		},
		live: []int32{1, 2, 3},
	}
}

type result struct {
	out, err string
	code     int
}

func runWith(t *testing.T, f *fakeAdmin, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, apiTimeout: 5 * time.Second,
		now:      func() time.Time { return time.Date(2024, 6, 5, 14, 34, 27, 320e6, time.UTC) },
		newAdmin: func(map[string]string) (admin, error) { return f, nil }}
	code := e.run(context.Background(), args)
	return result{out.String(), errb.String(), code}
}

const bs = "--bootstrap-server=localhost:9092"

func TestCommandOutputs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		out  string
		err  string
		code int
	}{
		{"list", []string{bs, "--list"}, "__consumer_offsets\norders\npayments\n", "", 0},
		{"list exclude internal", []string{"--list", "--exclude-internal", "--bootstrap-server", "h:1"}, "orders\npayments\n", "", 0},
		{"list regex", []string{bs, "--list", "--topic", "or.*,pay.*"}, "orders\npayments\n", "", 0},
		{"list nothing matches prints an empty line", []string{bs, "--list", "--topic", "zzz"}, "\n", "", 0},
		{"describe one", []string{bs, "--describe", "--topic", "orders"},
			"Topic: orders\tTopicId: PG4Lh0U6TyucHXoRAP_-AQ\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: min.insync.replicas=2\n" +
				"\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: N/A\tLastKnownElr: N/A\n" +
				"\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3\tElr: N/A\tLastKnownElr: N/A\n", "", 0},
		{"describe under-replicated", []string{bs, "--describe", "--under-replicated-partitions"},
			"\tTopic: orders\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 2,3\tElr: N/A\tLastKnownElr: N/A\n", "", 0},
		{"describe unavailable", []string{bs, "--describe", "--unavailable-partitions", "--exclude-internal"},
			"\tTopic: payments\tPartition: 0\tLeader: none\tReplicas: 4\tIsr: 4\tElr: N/A\tLastKnownElr: N/A\n", "", 0},
		{"describe overrides only", []string{bs, "--describe", "--topics-with-overrides"},
			"Topic: orders\tTopicId: PG4Lh0U6TyucHXoRAP_-AQ\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: min.insync.replicas=2\n", "", 0},
		{"describe missing", []string{bs, "--describe", "--topic", "nope"},
			"Error while executing topic command : Topic 'nope' does not exist as expected\n",
			"[2024-06-05 14:34:27,320] ERROR java.lang.IllegalArgumentException: Topic 'nope' does not exist as expected\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"describe missing if-exists", []string{bs, "--describe", "--topic", "nope", "--if-exists"}, "", "", 0},
		{"create", []string{bs, "--create", "--topic", "first", "--partitions", "3", "--replication-factor", "1", "--config", "retention.ms = 1000"}, "Created topic first.\n", "", 0},
		{"create collision warning", []string{bs, "--create", "--topic", "a.b"},
			"WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\nCreated topic a.b.\n", "", 0},
		{"create exists", []string{bs, "--create", "--topic", "orders"},
			"Error while executing topic command : Topic 'orders' already exists.\n",
			"[2024-06-05 14:34:27,320] ERROR org.apache.kafka.common.errors.TopicExistsException: Topic 'orders' already exists.\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"create exists if-not-exists", []string{bs, "--create", "--topic", "orders", "--if-not-exists"}, "", "", 0},
		{"create bad partitions", []string{bs, "--create", "--topic", "x", "--partitions", "0"},
			"Error while executing topic command : The partitions must be greater than 0\n",
			"[2024-06-05 14:34:27,320] ERROR java.lang.IllegalArgumentException: The partitions must be greater than 0\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"create bad config", []string{bs, "--create", "--topic", "x", "--config", "retention.ms="},
			"Error while executing topic command : requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".\n",
			"[2024-06-05 14:34:27,320] ERROR java.lang.IllegalArgumentException: requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"create unknown config", []string{bs, "--create", "--topic", "x", "--config", "foo=1"},
			"Error while executing topic command : Unknown topic config name: foo\n",
			"[2024-06-05 14:34:27,320] ERROR org.apache.kafka.common.errors.InvalidConfigurationException: Unknown topic config name: foo\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"create non-integer partitions", []string{bs, "--create", "--topic", "x", "--partitions", "abc"},
			"Error while executing topic command : Cannot parse argument 'abc' of option partitions\n",
			"[2024-06-05 14:34:27,320] ERROR joptsimple.OptionArgumentConversionException: Cannot parse argument 'abc' of option partitions\n (org.apache.kafka.tools.TopicCommand)\n", 1},
		{"alter", []string{bs, "--alter", "--topic", "orders", "--partitions", "6"}, "", "", 0},
		{"delete", []string{bs, "--delete", "--topic", "orders"}, "", "", 0},
		{"no bootstrap", []string{"--list"}, "", "--bootstrap-server must be specified\njava.lang.IllegalArgumentException: --bootstrap-server must be specified\n\n", 1},
		{"unknown option", []string{bs, "--list", "--zookeeper", "x"}, "", "zookeeper is not a recognized option\njoptsimple.UnrecognizedOptionException: zookeeper is not a recognized option\n\n", 1},
		{"version", []string{"--version"}, "3.7.0\n", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, newFake(), tc.args...)
			if r.out != tc.out || r.err != tc.err || r.code != tc.code {
				t.Fatalf("got (%d)\nstdout %q\nstderr %q\nwant (%d)\nstdout %q\nstderr %q", r.code, r.out, r.err, tc.code, tc.out, tc.err)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no args", nil, "Create, delete, describe, or change a topic."},
		{"help", []string{"--help"}, "This tool helps to create, delete, describe, or change a topic."},
		{"two actions", []string{bs, "--list", "--describe"}, "Command must include exactly one action: --list, --describe, --create, --alter or --delete"},
		{"no action", []string{bs}, "Command must include exactly one action: --list, --describe, --create, --alter or --delete"},
		{"create without topic", []string{bs, "--create"}, `Missing required argument "[topic]"`},
		{"alter without partitions", []string{bs, "--alter", "--topic", "t"}, `Missing required argument "[partitions]"`},
		{"alter with config", []string{bs, "--alter", "--topic", "t", "--config", "a=b"}, `Option combination "[[bootstrap-server], [config]]" can't be used with option "[alter]" (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)`},
		{"partitions with list", []string{bs, "--list", "--partitions", "1"}, `Option "[partitions]" can't be used with option "[list]"`},
		{"rf with alter", []string{bs, "--alter", "--topic", "t", "--partitions", "2", "--replication-factor", "1"}, `Option "[replication-factor]" can't be used with option "[alter]"`},
		{"if-not-exists with delete", []string{bs, "--delete", "--topic", "t", "--if-not-exists"}, `Option "[if-not-exists]" can't be used with option "[delete]"`},
		{"describe if-exists no topic", []string{bs, "--describe", "--if-exists"}, "--topic or --topic-id is required to describe a topic"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runWith(t, newFake(), tc.args...)
			if r.code != 1 || r.out != "" {
				t.Fatalf("code %d stdout %q", r.code, r.out)
			}
			if !strings.HasPrefix(r.err, tc.msg+"\nOption ") || !strings.Contains(r.err, "--bootstrap-server <String: server to") {
				t.Fatalf("stderr %q", r.err)
			}
		})
	}
}

func TestCreateAndAlterRequests(t *testing.T) {
	f := newFake()
	r := runWith(t, f, bs, "--create", "--topic", "t", "--replica-assignment", "1:2,2:3", "--config", "cleanup.policy=compact")
	if r.code != 0 || len(f.created) != 1 {
		t.Fatalf("create: %+v", r)
	}
	got := f.created[0]
	if got.Partitions != -1 || got.RF != -1 || len(got.Assignment) != 2 || got.Configs["cleanup.policy"] != "compact" {
		t.Fatalf("spec %+v", got)
	}
	f = newFake()
	if r := runWith(t, f, bs, "--alter", "--topic", "orders|payments", "--partitions", "4"); r.code != 0 {
		t.Fatalf("alter: %+v", r)
	}
	if f.totals["orders"] != 4 || f.totals["payments"] != 4 || len(f.totals) != 2 {
		t.Fatalf("totals %v", f.totals)
	}
	f = newFake()
	if r := runWith(t, f, bs, "--delete", "--topic", ".*", "--if-exists"); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	sort.Strings(f.deleted)
	if strings.Join(f.deleted, ",") != "__consumer_offsets,orders,payments" {
		t.Fatalf("deleted %v", f.deleted)
	}
}

func TestTimeoutMessage(t *testing.T) {
	f := newFake()
	f.failAll = context.DeadlineExceeded
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, apiTimeout: 10 * time.Millisecond, now: time.Now,
		newAdmin: func(map[string]string) (admin, error) {
			return &slowAdmin{fakeAdmin: f}, nil
		}}
	if code := e.run(context.Background(), []string{bs, "--list"}); code != 1 {
		t.Fatalf("code %d", code)
	}
	if out.String() != "Error while executing topic command : Timed out waiting for a node assignment. Call: listTopics\n" {
		t.Fatalf("stdout %q", out.String())
	}
}

// slowAdmin blocks ListTopics until its context ends, as a client with no reachable broker.
type slowAdmin struct{ *fakeAdmin }

func (s *slowAdmin) ListTopics(ctx context.Context, _ bool) ([]topicListing, error) {
	<-ctx.Done()
	return nil, errors.Join(ctx.Err())
}

func TestParseReplicaAssignment(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  string
	}{
		{"1:2,2:3", "[[1 2] [2 3]]", ""},
		{" 1 : 2 ", "[[1 2]]", ""},
		{"1:1", "", "Partition replica lists may not contain duplicate entries: 1"},
		{"1:2,3", "", "Partition 1 has different replication factor: [3]"},
		{"a", "", `For input string: "a"`},
	}
	for _, tc := range tests {
		got, err := parseReplicaAssignment(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
}

func TestParseArgs(t *testing.T) {
	p, err := cli.Parse(topicOptSpecs, []string{"--bootstrap", "h:1", "--topic=a=b", "--config", "x=1", "--config", "y=2", "--desc", "--", "--list"})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := p.Value("bootstrap-server"); v != "h:1" {
		t.Fatalf("abbreviation: %q", v)
	}
	if v, _ := p.Value("topic"); v != "a=b" {
		t.Fatalf("topic %q", v)
	}
	if !p.Has("describe") || p.Has("list") || len(p.Values["config"]) != 2 || len(p.NonOpt) != 1 {
		t.Fatalf("parsed %+v", p)
	}
	if _, err := cli.Parse(topicOptSpecs, []string{"--topic"}); err == nil || err.Error() != "Option topic requires an argument" {
		t.Fatalf("missing arg: %v", err)
	}
	if _, err := cli.Parse(topicOptSpecs, []string{"--top", "x"}); err == nil || err.Error() != "top is not a recognized option" {
		t.Fatalf("ambiguous: %v", err)
	}
}

func TestParseProperties(t *testing.T) {
	got := parseProperties("# c\nclient.id = me\nsecurity.protocol:PLAINTEXT\n  a b\\\n  c\n\n!x\n")
	if got["client.id"] != "me" || got["security.protocol"] != "PLAINTEXT" || got["a"] != "bc" || len(got) != 3 {
		t.Fatalf("%v", got)
	}
}
