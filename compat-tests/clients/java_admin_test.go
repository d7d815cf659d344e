package clients_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestJavaAdmin runs the Java driver's "admin" operation (AdminOps.java),
// with kafka-clients 3.9.2 and 4.4.0 at once, against three brokers: the
// Admin API calls the matrix columns leave out (createPartitions,
// deleteRecords, ListOffsets by max timestamp, consumer-group admin:
// describe, list offsets, remove members, alter offsets, list, delete) and
// static membership (a member with a group.instance.id closes and rejoins).
// Every answer is what Kafka 3.9 gives for the same steps.
func TestJavaAdmin(t *testing.T) {
	e := javaEnv(t, "Java driver")
	prefix := "ja" + strconv.FormatInt(time.Now().UnixMilli()%1e7, 36)
	for _, v := range javaClients {
		t.Run(v.row, func(t *testing.T) {
			t.Parallel()
			runJavaAdmin(t, e, client{name: v.row, argv: javaArgv(v.version, "io.github.kafkazk.compat.Driver")}, prefix+"-"+v.row, 3)
		})
	}
}

// runJavaAdmin runs the admin operation on a new topic of replication factor rf.
func runJavaAdmin(t *testing.T, e *env, c client, topic string, rf int16) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := e.createTopic(ctx, topic, 2, rf, nil); err != nil {
		t.Fatal(err)
	}
	// 10 records per partition, one a second; partition 1's offset 3 has the
	// largest timestamp.
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	maxTS := base.Add(100 * time.Second)
	recs := seedRecords(20, 2, "a", func(i int) time.Time {
		if i == 7 { // partition 1, offset 3
			return maxTS
		}
		return base.Add(time.Duration(i) * time.Second)
	})
	if err := e.produce(ctx, topic, "", recs); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	r := invoke(ctx, c, e.bootstrap, "admin", 120*time.Second, "--topic", topic, "--group", topic+"-g")
	t.Logf("%s admin: %v", c.name, time.Since(begin).Round(time.Millisecond))
	if msg := r.failure(); msg != "" {
		t.Fatalf("%s\n--- stdout:\n%s", msg, r.stdout)
	}
	line := func(key string) json.RawMessage {
		ls := r.with(key)
		if len(ls) != 1 {
			t.Fatalf("%d %q lines printed, want 1:\n%s", len(ls), key, r.stdout)
		}
		return ls[0][key]
	}
	field := func(key, sub string) string {
		var o map[string]json.RawMessage
		for _, l := range r.with(key) {
			if v, ok := l[sub]; ok {
				return string(v)
			}
			_ = json.Unmarshal(l[key], &o)
		}
		return string(o[sub])
	}
	want := func(what, got, exp string) {
		t.Helper()
		if got != exp {
			t.Errorf("%s: Java client got %s, Kafka answers %s", what, got, exp)
		}
	}

	want("partitions after createPartitions to 4", string(line("partitions_after")), "4")
	want("deleteRecords before 5: low watermark", string(line("low_watermark")), "5")
	want("ListOffsets earliest after deleteRecords", field("low_watermark", "earliest"), "5")
	starts, err := e.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := starts.Lookup(topic, 0); o.Offset != 5 {
		t.Errorf("log start offset of partition 0 is %d after deleteRecords before 5", o.Offset)
	}
	want("ListOffsets maxTimestamp: offset", string(line("max_ts_offset")), "3")
	want("ListOffsets maxTimestamp: timestamp", field("max_ts_offset", "max_ts"), strconv.FormatInt(maxTS.UnixMilli(), 10))

	var st struct {
		Gen1, Gen2           int
		Assigned1, Assigned2 []int
		NewMemberID          bool `json:"new_member_id"`
	}
	if err := json.Unmarshal(line("static"), &st); err != nil {
		t.Fatal(err)
	}
	all := []int{0, 1, 2, 3}
	if !reflect.DeepEqual(st.Assigned1, all) || !reflect.DeepEqual(st.Assigned2, all) {
		t.Errorf("static member assignments %v then %v, want %v both times", st.Assigned1, st.Assigned2, all)
	}
	// Kafka: a known group.instance.id rejoining a Stable group with the same
	// protocols gets a new member id and the current generation, no rebalance.
	want("static member rejoin: generation after the rejoin", strconv.Itoa(st.Gen2), strconv.Itoa(st.Gen1))
	want("static member rejoin: a new member id", strconv.FormatBool(st.NewMemberID), "true")

	var d struct {
		State    string
		Protocol string
		Simple   bool
		Members  []struct {
			Instance string
			Assigned []int
		}
	}
	if err := json.Unmarshal(line("described"), &d); err != nil {
		t.Fatal(err)
	}
	want("describeConsumerGroups: state", d.State, "Stable")
	want("describeConsumerGroups: assignor", d.Protocol, "range")
	want("describeConsumerGroups: simple", strconv.FormatBool(d.Simple), "false")
	if len(d.Members) != 1 || d.Members[0].Instance != "s1" || !reflect.DeepEqual(d.Members[0].Assigned, all) {
		t.Errorf("describeConsumerGroups: members %+v, want one, instance s1, assigned %v", d.Members, all)
	}
	var committed map[string]int64
	if err := json.Unmarshal(line("committed"), &committed); err != nil {
		t.Fatal(err)
	}
	if committed["0"] != 10 || committed["1"] != 10 {
		t.Errorf("listConsumerGroupOffsets: %v, want partitions 0 and 1 at 10", committed)
	}
	want("describeConsumerGroups after removeMembersFromConsumerGroup: state", string(line("removed_state")), `"Empty"`)
	want("listConsumerGroupOffsets after alterConsumerGroupOffsets of 0 to 7", string(line("altered")), "7")
	want("listConsumerGroups before the delete has the group", string(line("listed")), "true")
	want("listConsumerGroups after deleteConsumerGroups lacks the group", field("listed", "deleted"), "true")
	if t.Failed() || testing.Verbose() {
		t.Logf("driver output:\n%s", r.stdout)
	}
}

// javaEnv checks that every Java build (what: the program's name) is there
// and starts three brokers for it, with a franz-go client on them.
func javaEnv(t *testing.T, what string) *env {
	t.Helper()
	for _, v := range javaClients {
		if why := javaMissing(v.version); why != "" {
			t.Fatalf("%s %s: %s", what, v.version, why)
		}
	}
	cl := cluster.Start(t, 3, "offsets.topic.replication.factor=3", "group.initial.rebalance.delay.ms=0")
	brokers := strings.Split(cl.Bootstrap(), ",")
	kcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kcl.Close)
	return &env{bootstrap: cl.Bootstrap(), brokers: brokers, kcl: kcl, adm: kadm.NewClient(kcl)}
}
