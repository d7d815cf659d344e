package consumergroups

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeAdmin is an in-memory cluster for the command's logic and output; the real admin calls are
// exercised against brokers by compat-tests/groups_tools_test.go.
type fakeAdmin struct {
	groups    map[string]groupDesc
	committed map[string]map[tp]int64
	start     map[tp]int64
	end       map[tp]int64
	byTime    map[tp]int64 // ListOffsets by timestamp result
	topics    map[string][]int32
	altered   map[string]map[tp]int64
	deleted   []string
	deleteErr map[string]error
}

func (f *fakeAdmin) Close() {}

func (f *fakeAdmin) ListGroups(_ context.Context, states []string) ([]groupListing, error) {
	var out []groupListing
	for _, g := range sortedKeys(f.groups) {
		if states == nil || len(states) == 0 || slices.Contains(states, f.groups[g].State) {
			out = append(out, groupListing{Group: g, State: f.groups[g].State, ProtocolType: "consumer"})
		}
	}
	return out, nil
}

func (f *fakeAdmin) DescribeGroups(_ context.Context, groups []string) (map[string]groupDesc, error) {
	out := map[string]groupDesc{}
	for _, g := range groups {
		d, ok := f.groups[g]
		if !ok {
			d = groupDesc{Group: g, State: "Dead"}
		}
		d.Coordinator = node{ID: 1, Host: "localhost", Port: 9092}
		out[g] = d
	}
	return out, nil
}

func (f *fakeAdmin) CommittedOffsets(_ context.Context, group string) (map[tp]int64, []tp, error) {
	c := f.committed[group]
	var order []tp
	for t := range c {
		order = append(order, t)
	}
	slices.SortFunc(order, func(a, b tp) int {
		return strings.Compare(a.Topic, b.Topic)*10 + int(a.Partition-b.Partition)
	})
	return c, order, nil
}

func (f *fakeAdmin) ListOffsets(_ context.Context, tps []tp, spec int64) (map[tp]int64, error) {
	src := f.byTime
	switch spec {
	case -2:
		src = f.start
	case -1:
		src = f.end
	}
	out := map[tp]int64{}
	for _, t := range tps {
		if v, ok := src[t]; ok {
			out[t] = v
		} else if spec >= 0 {
			out[t] = -1
		}
	}
	return out, nil
}

func (f *fakeAdmin) TopicPartitions(_ context.Context, topics []string) (map[string][]int32, map[string]error, error) {
	parts, errs := map[string][]int32{}, map[string]error{}
	for _, t := range topics {
		if ps, ok := f.topics[t]; ok {
			parts[t] = ps
		} else {
			errs[t] = javaErr(3, nil)
		}
	}
	return parts, errs, nil
}

func (f *fakeAdmin) AlterOffsets(_ context.Context, group string, offsets map[tp]int64) error {
	if f.altered == nil {
		f.altered = map[string]map[tp]int64{}
	}
	f.altered[group] = offsets
	return nil
}

func (f *fakeAdmin) DeleteGroups(_ context.Context, groups []string) (map[string]error, error) {
	out := map[string]error{}
	for _, g := range groups {
		out[g] = f.deleteErr[g]
		if out[g] == nil {
			f.deleted = append(f.deleted, g)
		}
	}
	return out, nil
}

func (f *fakeAdmin) DeleteOffsets(_ context.Context, group string, tps []tp) (deleteOffsetsResult, error) {
	if d, ok := f.groups[group]; ok && d.State != "Empty" {
		res := deleteOffsetsResult{Top: javaErr(68, nil)}
		for _, t := range tps {
			res.Partitions = append(res.Partitions, partitionError{t, res.Top})
		}
		return res, nil
	}
	res := deleteOffsetsResult{}
	for _, t := range tps {
		res.Partitions = append(res.Partitions, partitionError{TP: t})
	}
	return res, nil
}

func sixPartitions(topic string, v func(p int32) int64) map[tp]int64 {
	out := map[tp]int64{}
	for p := int32(0); p < 6; p++ {
		out[tp{topic, p}] = v(p)
	}
	return out
}

func newFake() *fakeAdmin {
	return &fakeAdmin{
		groups: map[string]groupDesc{
			"stable-group": {Group: "stable-group", State: "Stable", Protocol: "range", Members: []member{
				{ID: "consumer-stable-group-1-2f8e7c4a-0f5c-4f7a-9d43-6f0e4d1c2b3a", ClientID: "consumer-stable-group-1", Host: "/127.0.0.1",
					Assignment: []tp{{"orders", 0}, {"orders", 1}, {"orders", 2}}},
				{ID: "consumer-stable-group-2-9a1b", ClientID: "consumer-stable-group-2", Host: "/127.0.0.1", InstanceID: "",
					Assignment: []tp{{"orders", 3}, {"orders", 4}, {"orders", 5}, {"audit", 0}}},
			}},
			"idle": {Group: "idle", State: "Empty"},
		},
		committed: map[string]map[tp]int64{
			"stable-group": sixPartitions("orders", func(p int32) int64 { return 10 * int64(p) }),
			"idle":         {{"orders", 0}: 5, {"orders", 1}: 7, {"orders", 2}: -1},
		},
		start:  sixPartitions("orders", func(p int32) int64 { return 2 }),
		end:    sixPartitions("orders", func(p int32) int64 { return 100 }),
		byTime: sixPartitions("orders", func(p int32) int64 { return map[bool]int64{true: -1, false: 50}[p == 1] }),
		topics: map[string][]int32{"orders": {0, 1, 2, 3, 4, 5}, "audit": {0}},
	}
}

func runTool(t *testing.T, f *fakeAdmin, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut strings.Builder
	e := &env{stdout: &out, stderr: &errOut, newAdmin: func(map[string]string) (admin, error) { return f, nil },
		now:      func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) },
		readFile: os.ReadFile}
	code := e.run(context.Background(), append([]string{"--bootstrap-server", "localhost:9092"}, args...))
	return out.String(), errOut.String(), code
}

func TestDescribeOffsets(t *testing.T) {
	f := newFake()
	f.start[tp{"audit", 0}], f.end[tp{"audit", 0}] = 0, 3
	out, errOut, code := runTool(t, f, "--describe", "--group", "stable-group")
	want := `
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                                                  HOST            CLIENT-ID
stable-group    audit           0          -               3               -               consumer-stable-group-2-9a1b                                 /127.0.0.1      consumer-stable-group-2
stable-group    orders          3          30              100             70              consumer-stable-group-2-9a1b                                 /127.0.0.1      consumer-stable-group-2
stable-group    orders          4          40              100             60              consumer-stable-group-2-9a1b                                 /127.0.0.1      consumer-stable-group-2
stable-group    orders          5          50              100             50              consumer-stable-group-2-9a1b                                 /127.0.0.1      consumer-stable-group-2
stable-group    orders          0          0               100             100             consumer-stable-group-1-2f8e7c4a-0f5c-4f7a-9d43-6f0e4d1c2b3a /127.0.0.1      consumer-stable-group-1
stable-group    orders          1          10              100             90              consumer-stable-group-1-2f8e7c4a-0f5c-4f7a-9d43-6f0e4d1c2b3a /127.0.0.1      consumer-stable-group-1
stable-group    orders          2          20              100             80              consumer-stable-group-1-2f8e7c4a-0f5c-4f7a-9d43-6f0e4d1c2b3a /127.0.0.1      consumer-stable-group-1
`
	if code != 0 || out != want || errOut != "" {
		t.Errorf("exit %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s", code, out, want, errOut)
	}
}

func TestDescribeEmptyAndDead(t *testing.T) {
	f := newFake()
	out, errOut, code := runTool(t, f, "--describe", "--group", "idle", "--group", "gone")
	wantOut := `
Error: Consumer group 'gone' does not exist.

GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
idle            orders          0          5               100             95              -               -               -
idle            orders          1          7               100             93              -               -               -
idle            orders          2          -               100             -               -               -               -
`
	if code != 0 || out != wantOut || errOut != "\nConsumer group 'idle' has no active members.\n" {
		t.Errorf("exit %d\nstdout:\n%q\nstderr:\n%q", code, out, errOut)
	}
}

func TestDescribeMembersAndState(t *testing.T) {
	f := newFake()
	out, _, _ := runTool(t, f, "--describe", "--group", "stable-group", "--members", "--verbose")
	want := `
GROUP           CONSUMER-ID                                                  HOST            CLIENT-ID               #PARTITIONS     ASSIGNMENT
stable-group    consumer-stable-group-1-2f8e7c4a-0f5c-4f7a-9d43-6f0e4d1c2b3a /127.0.0.1      consumer-stable-group-1 3               (0,1,2)
stable-group    consumer-stable-group-2-9a1b                                 /127.0.0.1      consumer-stable-group-2 4               (0), (3,4,5)
`
	if out != want {
		t.Errorf("--members --verbose:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = runTool(t, f, "--describe", "--group", "stable-group", "--state")
	want = "\nGROUP                     COORDINATOR (ID)          ASSIGNMENT-STRATEGY  STATE           #MEMBERS" +
		"\nstable-group              localhost:9092  (1)       range                Stable          2\n"
	if out != want {
		t.Errorf("--state:\n%q\nwant:\n%q", out, want)
	}
}

func TestList(t *testing.T) {
	f := newFake()
	out, _, _ := runTool(t, f, "--list")
	if out != "idle\nstable-group\n" {
		t.Errorf("--list: %q", out)
	}
	out, _, _ = runTool(t, f, "--list", "--state", "stable")
	if out != "GROUP                     STATE               \nstable-group              Stable              \n" {
		t.Errorf("--list --state stable: %q", out)
	}
	_, errOut, code := runTool(t, f, "--list", "--state", "sleepy")
	if code != 1 || !strings.HasPrefix(errOut, "Invalid state list 'sleepy'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty, Assigning, Reconciling\n") {
		t.Errorf("bad state: exit %d %q", code, errOut)
	}
}

func TestResetOffsets(t *testing.T) {
	const head = "\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     \n"
	row := func(topic, p, off string) string {
		return pad("idle", 30) + " " + pad(topic, 30) + " " + pad(p, 10) + " " + pad(off, 15) + "\n"
	}
	for _, c := range []struct {
		name    string
		args    []string
		want    string
		wantErr string // a line stderr must contain
		code    int
	}{
		{"earliest", []string{"--topic", "orders:0,1", "--to-earliest", "--dry-run"}, head + row("orders", "0", "2") + row("orders", "1", "2"), "", 0},
		{"latest", []string{"--topic", "orders:2", "--to-latest", "--execute"}, head + row("orders", "2", "100"), "", 0},
		{"current", []string{"--topic", "orders:0,2", "--to-current", "--dry-run"}, head + row("orders", "0", "5") + row("orders", "2", "100"), "", 0},
		{"to-offset clamped", []string{"--topic", "orders:0,1", "--to-offset", "500", "--dry-run"}, head + row("orders", "0", "100") + row("orders", "1", "100"),
			"[2024-05-01 12:00:00,000] WARN New offset (500) is higher than latest offset for topic partition orders-0. Value will be set to 100 (kafka.admin.ConsumerGroupCommand$)", 0},
		{"shift-by", []string{"--topic", "orders:0,1", "--shift-by", "-4", "--dry-run"}, head + row("orders", "0", "2") + row("orders", "1", "3"),
			"WARN New offset (1) is lower than earliest offset for topic partition orders-0. Value will be set to 2", 0},
		{"shift-by without commit", []string{"--topic", "orders:3", "--shift-by", "1", "--dry-run"}, "",
			"Cannot shift offset for partition orders-3 since there is no current committed offset", 1},
		{"datetime", []string{"--topic", "orders:0,1", "--to-datetime", "2024-04-01T00:00:00.000", "--dry-run"},
			"\nWarn: Partition 1 from topic orders is empty. Falling back to latest known offset.\n" + head + row("orders", "0", "50") + row("orders", "1", "100"), "", 0},
		{"duration", []string{"--topic", "orders:0", "--by-duration", "P1DT2H", "--dry-run"}, head + row("orders", "0", "50"), "", 0},
		{"bad duration", []string{"--topic", "orders:0", "--by-duration", "1h", "--dry-run"},
			"\nError: Executing consumer group command failed due to Text cannot be parsed to a Duration\n",
			"java.time.format.DateTimeParseException: Text cannot be parsed to a Duration", 0},
		{"no scope", []string{"--to-earliest", "--dry-run"}, "", "One of the reset scopes should be defined: --all-topics, --topic.", 1},
		{"no scenario", []string{"--all-topics", "--dry-run"}, "", "Option '[reset-offsets]' requires one of the following scenarios: HashSet([to-offset], [shift-by], [to-datetime], [by-duration], [to-earliest], [to-latest], [to-current], [from-file])", 1},
		{"bad topic arg", []string{"--topic", "orders:x", "--to-earliest", "--dry-run"}, "", "Invalid partition 'x' specified in topic arg 'orders:x''", 1},
		{"export", []string{"--topic", "orders:0,1", "--to-earliest", "--dry-run", "--export"}, "orders,0,2\norders,1,2\n\n", "", 0},
		{"no execute warning", []string{"--topic", "orders:0", "--to-earliest"}, head + row("orders", "0", "2"), "WARN: No action will be performed as the --execute option is missing.", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFake()
			out, errOut, code := runTool(t, f, append([]string{"--reset-offsets", "--group", "idle"}, c.args...)...)
			if code != c.code || (c.code == 0 && out != c.want) || !strings.Contains(errOut, c.wantErr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%q\nwant:\n%q\nstderr:\n%s", code, c.code, out, c.want, errOut)
			}
			if slices.Contains(c.args, "--execute") {
				if f.altered["idle"][tp{"orders", 2}] != 100 {
					t.Errorf("--execute committed %v", f.altered)
				}
			} else if f.altered != nil {
				t.Errorf("dry run committed %v", f.altered)
			}
		})
	}
}

func TestResetActiveGroupAndFromFile(t *testing.T) {
	f := newFake()
	out, _, code := runTool(t, f, "--reset-offsets", "--group", "stable-group", "--all-topics", "--to-earliest", "--execute")
	want := "\nError: Assignments can only be reset if the group 'stable-group' is inactive, but the current state is Stable.\n" +
		"\nGROUP                          TOPIC                          PARTITION  NEW-OFFSET     \n"
	if code != 0 || out != want || f.altered != nil {
		t.Errorf("exit %d, out %q, altered %v", code, out, f.altered)
	}

	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.csv")
	os.WriteFile(plan, []byte("orders,0,9\norders,1,300\n"), 0o644)
	out, _, _ = runTool(t, f, "--reset-offsets", "--group", "idle", "--from-file", plan, "--execute")
	if f.altered["idle"][tp{"orders", 0}] != 9 || f.altered["idle"][tp{"orders", 1}] != 100 {
		t.Errorf("from-file committed %v; output %q", f.altered, out)
	}
	os.WriteFile(plan, []byte("idle,orders,2,11\nother,orders,0,1\n"), 0o644)
	out, _, _ = runTool(t, f, "--reset-offsets", "--all-groups", "--from-file", plan, "--dry-run")
	if !strings.Contains(out, "Error: No reset plan for group stable-group found") && !strings.Contains(out, "inactive") {
		t.Errorf("--all-groups from-file output %q", out)
	}
	if !strings.Contains(out, pad("idle", 30)+" "+pad("orders", 30)+" "+pad("2", 10)+" "+pad("11", 15)) {
		t.Errorf("--all-groups from-file lacks the idle row: %q", out)
	}
}

func TestDeleteAndDeleteOffsets(t *testing.T) {
	f := newFake()
	f.deleteErr = map[string]error{"stable-group": javaErr(68, nil)}
	out, _, _ := runTool(t, f, "--delete", "--group", "idle")
	if out != "Deletion of requested consumer groups ('idle') was successful.\n" {
		t.Errorf("delete: %q", out)
	}
	out, _, _ = runTool(t, f, "--delete", "--group", "stable-group", "--group", "idle")
	want := "\nError: Deletion of some consumer groups failed:\n" +
		"* Group 'stable-group' could not be deleted due to: java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.\n" +
		"\nThese consumer groups were deleted successfully: 'idle'\n"
	if out != want {
		t.Errorf("delete with a failure:\n%q\nwant:\n%q", out, want)
	}

	out, _, _ = runTool(t, f, "--delete-offsets", "--group", "idle", "--topic", "orders:1", "--topic", "nope")
	want = "Request succeed for deleting offsets with topic orders:1, nope group idle\n" +
		"\nTOPIC                          PARTITION       STATUS         \n" +
		"nope                           Not Provided    Error: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n" +
		"orders                         1               Successful     \n"
	if out != want {
		t.Errorf("delete-offsets:\n%q\nwant:\n%q", out, want)
	}
	out, _, _ = runTool(t, f, "--delete-offsets", "--group", "stable-group", "--topic", "orders:0")
	if !strings.HasPrefix(out, "\nError: Deleting offsets of a consumer group 'stable-group' is forbidden if the group is not empty.\n") ||
		!strings.Contains(out, "Error: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.") {
		t.Errorf("delete-offsets of an active group: %q", out)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // first line of stderr
		code int
	}{
		{[]string{"--list", "--reset-offsets", "--all-groups", "--dry-run"}, "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets", 1},
		{[]string{"--describe"}, "Option [describe] takes one of these options: [group], [all-groups]", 1},
		{[]string{"--describe", "--group", "g", "--members", "--state"}, "Option [describe] takes at most one of these options: [members], [offsets], [state]", 1},
		{[]string{"--describe", "--group", "g", "--state", "x"}, "Option [describe] does not take a value for [state]", 1},
		{[]string{"--delete", "--group", "g", "--topic", "t"}, "The consumer does not support topic-specific offset deletion from a consumer group.", 1},
		{[]string{"--delete-offsets", "--group", "g"}, "Option [delete-offsets] takes the following options: [group], [topic]", 1},
		{[]string{"--reset-offsets", "--group", "g", "--execute", "--dry-run"}, "Option [reset-offsets] only accepts one of [execute] and [dry-run]", 1},
		{[]string{"--reset-offsets", "--group", "g", "--dry-run", "--to-earliest", "--to-latest"}, `Option "[to-earliest]" can't be used with option "[to-latest]"`, 1},
		{[]string{"--list", "--group", "g"}, `Option "[group]" can't be used with option "[list]"`, 1},
		{[]string{"--members"}, `Exception in thread "main" joptsimple.UnavailableOptionException: Option(s) [members] are unavailable given other options on the command line`, 1},
		{[]string{"--bogus"}, `Exception in thread "main" joptsimple.UnrecognizedOptionException: bogus is not a recognized option`, 1},
		{[]string{"--help"}, msgHelp, 1},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, errOut, code := runTool(t, newFake(), c.args...)
			if first, _, _ := strings.Cut(errOut, "\n"); code != c.code || first != c.want {
				t.Errorf("exit %d, stderr first line %q, want %q", code, first, c.want)
			}
		})
	}
	var out, errOut strings.Builder
	e := &env{stdout: &out, stderr: &errOut}
	if code := e.run(context.Background(), nil); code != 1 || !strings.HasPrefix(errOut.String(), "Missing required argument \"[bootstrap-server]\"\nOption ") {
		t.Errorf("no arguments: exit %d, %q", code, errOut.String())
	}
}

func TestParseDateTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // RFC3339 in UTC, or the error
	}{
		{"2024-01-02T03:04:05.678", "2024-01-02T03:04:05.678Z"},
		{"2024-01-02T03:04:05.678Z", "2024-01-02T03:04:05.678Z"},
		{"2024-01-02T03:04:05.678+02:00", "2024-01-02T01:04:05.678Z"},
		{"2024-01-02T03:04:05.678-0130", "2024-01-02T04:04:05.678Z"}, // X reads only the hours
		{"2024-01-02T03:04:05.5", "2024-01-02T03:04:05.005Z"},
		{"2024-01-02T03:04:05", `Unparseable date: "2024-01-02T03:04:05Z"`},
		{"2024-02-30T03:04:05.000", `Unparseable date: "2024-02-30T03:04:05.000Z"`},
		{"2024-01-02 03:04:05.000", "Error parsing timestamp. It does not contain a 'T' according to ISO8601 format"},
	} {
		ms, err := parseDateTime(c.in)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		}
		if got != c.want {
			t.Errorf("parseDateTime(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"PT1H": time.Hour, "P2D": 48 * time.Hour, "P1DT2H3M4.5S": 26*time.Hour + 3*time.Minute + 4500*time.Millisecond,
		"pt15m": 15 * time.Minute, "-PT6H": -6 * time.Hour, "PT-0.5S": -500 * time.Millisecond, "PT-1H30M": -30 * time.Minute,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "P", "PT", "1H", "P1Y", "PT1.5H", "P1W"} {
		if _, err := parseDuration(in); err == nil || err.Error() != "Text cannot be parsed to a Duration" {
			t.Errorf("parseDuration(%q) error %v", in, err)
		}
	}
}

func TestResetPlanCSV(t *testing.T) {
	plan, err := parseResetPlan("orders,0,5\norders,1,6\norders,0,7\n", "g")
	if err != nil || !slices.Equal(plan["g"], []tpOffset{{tp{"orders", 0}, 7}, {tp{"orders", 1}, 6}}) {
		t.Errorf("single-group plan %v %v", plan, err)
	}
	plan, err = parseResetPlan("\"my, group\",orders,0,5\ng2,orders,1,6", "")
	if err != nil || !slices.Equal(plan["my, group"], []tpOffset{{tp{"orders", 0}, 5}}) || len(plan["g2"]) != 1 {
		t.Errorf("multi-group plan %v %v", plan, err)
	}
	if _, err := parseResetPlan("orders,zero,5", "g"); err == nil {
		t.Error("a bad partition parsed")
	}
	export := exportCSV([]groupPlan{{"my group", []tpOffset{{tp{"orders", 1}, 3}}},
		{"g", []tpOffset{{tp{"a-topic-name-longer-than-24", 0}, 1}}}}, false)
	if want := "\"my group\",orders,1,3\ng,\"a-topic-name-longer-than-24\",0,1\n"; export != want {
		t.Errorf("export %q, want %q", export, want)
	}
}
