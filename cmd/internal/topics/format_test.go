package topics

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func sp(s string) *string { return &s }

// Expected orders were produced by java.util.HashMap (OpenJDK) with the same insertions.
func TestJavaHashMapOrderConfigs(t *testing.T) {
	// Insertion (DescribeConfigs response) order; colliding keys keep it.
	in := strings.Split("compression.type,leader.replication.throttled.replicas,remote.storage.enable,message.downconversion.enable,min.insync.replicas,segment.jitter.ms,local.retention.ms,cleanup.policy,flush.ms,follower.replication.throttled.replicas,segment.bytes,retention.ms,flush.messages,message.format.version,max.compaction.lag.ms,file.delete.delay.ms,max.message.bytes,min.compaction.lag.ms,message.timestamp.type,local.retention.bytes,preallocate,index.interval.bytes,min.cleanable.dirty.ratio,unclean.leader.election.enable,retention.bytes,delete.retention.ms,message.timestamp.after.max.ms,message.timestamp.before.max.ms,segment.ms,message.timestamp.difference.max.ms,segment.index.bytes", ",")
	want := "compression.type,leader.replication.throttled.replicas,remote.storage.enable,message.downconversion.enable,min.insync.replicas,segment.jitter.ms,local.retention.ms,cleanup.policy,flush.ms,follower.replication.throttled.replicas,segment.bytes,retention.ms,flush.messages,message.format.version,max.compaction.lag.ms,file.delete.delay.ms,max.message.bytes,min.compaction.lag.ms,message.timestamp.type,local.retention.bytes,preallocate,index.interval.bytes,min.cleanable.dirty.ratio,unclean.leader.election.enable,retention.bytes,delete.retention.ms,message.timestamp.after.max.ms,message.timestamp.before.max.ms,segment.ms,message.timestamp.difference.max.ms,segment.index.bytes"
	check := func(in []string, want string) {
		t.Helper()
		var got []string
		for _, i := range javaHashMapOrder(len(in), func(i int) string { return in[i] }, 16) {
			got = append(got, in[i])
		}
		if g := strings.Join(got, ","); g != want {
			t.Fatalf("order\n got %s\nwant %s", g, want)
		}
	}
	check(in, want)
	sorted := append([]string(nil), in...)
	sort.Strings(sorted)
	check(sorted, "compression.type,leader.replication.throttled.replicas,remote.storage.enable,message.downconversion.enable,min.insync.replicas,segment.jitter.ms,local.retention.ms,cleanup.policy,flush.ms,follower.replication.throttled.replicas,retention.ms,segment.bytes,flush.messages,message.format.version,file.delete.delay.ms,max.compaction.lag.ms,max.message.bytes,min.compaction.lag.ms,message.timestamp.type,local.retention.bytes,preallocate,index.interval.bytes,min.cleanable.dirty.ratio,unclean.leader.election.enable,delete.retention.ms,retention.bytes,message.timestamp.after.max.ms,message.timestamp.before.max.ms,segment.ms,message.timestamp.difference.max.ms,segment.index.bytes")
}

func TestDescribeOrder(t *testing.T) {
	all := []string{"__consumer_offsets", "a", "b", "dlq", "order-events", "orders", "payments", "t1", "t10", "t2", "topic-LVJVOX"}
	tests := []struct {
		n    int
		want string
	}{
		{1, "__consumer_offsets"},
		{2, "a,__consumer_offsets"},
		{3, "a,__consumer_offsets,b"},
		{4, "dlq,a,b,__consumer_offsets"},
		{7, "a,b,payments,dlq,orders,order-events,__consumer_offsets"},
		{10, "a,b,t10,payments,dlq,orders,order-events,t1,__consumer_offsets,t2"},
		{11, "a,b,t10,payments,dlq,orders,topic-LVJVOX,order-events,t1,__consumer_offsets,t2"},
	}
	for _, tc := range tests {
		var descs []topicDesc
		for i := tc.n - 1; i >= 0; i-- { // input order must not matter
			descs = append(descs, topicDesc{Name: all[i]})
		}
		var got []string
		for _, d := range describeOrder(descs) {
			got = append(got, d.Name)
		}
		if g := strings.Join(got, ","); g != tc.want {
			t.Errorf("n=%d: got %s want %s", tc.n, g, tc.want)
		}
	}
}

func TestFormatTopicLine(t *testing.T) {
	id := [16]byte{0x3c, 0x6e, 0x0b, 0x87, 0x45, 0x3a, 0x4f, 0x2b, 0x9c, 0x1d, 0x7a, 0x11, 0x00, 0xff, 0xfe, 0x01}
	tests := []struct {
		name    string
		topic   string
		id      [16]byte
		parts   int
		rf      int
		entries []configEntry
		want    string
	}{
		{"no configs", "first", id, 3, 3, []configEntry{{Name: "retention.ms", Value: sp("604800000"), IsDefault: true}},
			"Topic: first\tTopicId: PG4Lh0U6TyucHXoRAP_-AQ\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: "},
		{"zero id hidden", "t", [16]byte{}, 1, 1, nil, "Topic: t\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: "},
		{"overrides in HashMap order", "orders", id, 3, 3, []configEntry{
			{Name: "retention.ms", Value: sp("604800000")},
			{Name: "cleanup.policy", Value: sp("delete"), IsDefault: true},
			{Name: "segment.bytes", Value: sp("1048576")},
			{Name: "min.insync.replicas", Value: sp("2")},
			{Name: "compression.type", Value: sp("producer")},
		}, "Topic: orders\tTopicId: PG4Lh0U6TyucHXoRAP_-AQ\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: compression.type=producer,min.insync.replicas=2,retention.ms=604800000,segment.bytes=1048576"},
		{"sensitive null value", "s", [16]byte{}, 1, 1, []configEntry{{Name: "x", Value: nil}}, "Topic: s\tPartitionCount: 1\tReplicationFactor: 1\tConfigs: x=null"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatTopicLine(tc.topic, tc.id, tc.parts, tc.rf, tc.entries); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestFormatPartitionLine(t *testing.T) {
	tests := []struct {
		name string
		p    partitionInfo
		ra   *reassignment
		want string
	}{
		{"plain", partitionInfo{0, 1, []int32{1, 2, 3}, []int32{1, 2, 3}}, nil, "\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2,3\tElr: N/A\tLastKnownElr: N/A"},
		{"no leader", partitionInfo{2, -1, []int32{3}, []int32{3}}, nil, "\tTopic: t\tPartition: 2\tLeader: none\tReplicas: 3\tIsr: 3\tElr: N/A\tLastKnownElr: N/A"},
		{"empty isr", partitionInfo{1, -1, []int32{1, 2}, nil}, nil, "\tTopic: t\tPartition: 1\tLeader: none\tReplicas: 1,2\tIsr: \tElr: N/A\tLastKnownElr: N/A"},
		{"reassigning", partitionInfo{0, 1, []int32{1, 2, 3, 4}, []int32{1, 2, 3}}, &reassignment{Replicas: []int32{1, 2, 3, 4}, Adding: []int32{4}, Removing: []int32{3}},
			"\tTopic: t\tPartition: 0\tLeader: 1\tReplicas: 1,2,3,4\tIsr: 1,2,3\tAdding Replicas: 4\tRemoving Replicas: 3\tElr: N/A\tLastKnownElr: N/A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatPartitionLine("t", tc.p, tc.ra); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReplicationFactor(t *testing.T) {
	p := partitionInfo{Replicas: []int32{1, 2, 3, 4}}
	if got := replicationFactor(p, nil); got != 4 {
		t.Fatalf("no reassignment: %d", got)
	}
	ra := &reassignment{Replicas: []int32{1, 2, 3, 4}, Adding: []int32{4}, Removing: []int32{1}}
	if got := replicationFactor(p, ra); got != 3 {
		t.Fatalf("in progress: %d", got)
	}
	done := &reassignment{Replicas: []int32{1, 2, 3}, Adding: []int32{9}}
	if got := replicationFactor(partitionInfo{Replicas: []int32{1, 2, 3}}, done); got != 3 {
		t.Fatalf("finished: %d", got)
	}
}

func TestUUID(t *testing.T) {
	id := [16]byte{0x3c, 0x6e, 0x0b, 0x87, 0x45, 0x3a, 0x4f, 0x2b, 0x9c, 0x1d, 0x7a, 0x11, 0x00, 0xff, 0xfe, 0x01}
	s := uuidString(id)
	if len(s) != 22 {
		t.Fatalf("len %d", len(s))
	}
	back, err := parseUUID(s)
	if err != nil || back != id {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if _, err := parseUUID("abc"); err == nil {
		t.Fatal("short id accepted")
	}
}

func TestLog4jLine(t *testing.T) {
	now := time.Date(2024, 6, 5, 14, 34, 27, 320e6, time.UTC)
	got := log4jLine(now, "java.lang.IllegalArgumentException", "Topic 'x' does not exist as expected", loggerName)
	want := "[2024-06-05 14:34:27,320] ERROR java.lang.IllegalArgumentException: Topic 'x' does not exist as expected\n (org.apache.kafka.tools.TopicCommand)\n"
	if got != want {
		t.Fatalf("got %q", got)
	}
}
