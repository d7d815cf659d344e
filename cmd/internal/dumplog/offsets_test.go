package dumplog

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

func strPtr(s string) *string { return &s }

// TestOffsetsRecord checks --offsets-decoder's key and payload against what
// Kafka 3.9's DumpLogSegments prints for the same __consumer_offsets records.
func TestOffsetsRecord(t *testing.T) {
	commitKey := kmsg.OffsetCommitKey{Version: 1, Group: "g", Topic: "t", Partition: 2}
	commitValue := kmsg.OffsetCommitValue{Version: 3, Offset: 30, LeaderEpoch: 0, Metadata: "", CommitTimestamp: 1700000000000}
	groupKey := kmsg.GroupMetadataKey{Version: 2, Group: "g"}
	sub := kmsg.ConsumerMemberMetadata{Version: 3, Topics: []string{"t"}, Generation: -1}
	asg := kmsg.ConsumerMemberAssignment{Version: 3, Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: "t", Partitions: []int32{0, 1}}}}
	groupValue := kmsg.GroupMetadataValue{Version: 3, ProtocolType: "consumer", Generation: 1, Protocol: strPtr("range"),
		Leader: strPtr("m-1"), CurrentStateTimestamp: 1700000000001,
		Members: []kmsg.GroupMetadataValueMember{{MemberID: "m-1", ClientID: "c", ClientHost: "/127.0.0.1",
			RebalanceTimeoutMillis: 300000, SessionTimeoutMillis: 45000, Subscription: sub.AppendTo(nil), Assignment: asg.AppendTo(nil)}}}
	empty := kmsg.GroupMetadataValue{Version: 3, ProtocolType: "consumer", Generation: 2, CurrentStateTimestamp: 5}
	for _, c := range []struct {
		name         string
		rec          storage.Record
		key, payload string
		ok           bool
	}{
		{"offset commit", storage.Record{Offset: 1, Key: commitKey.AppendTo(nil), Value: commitValue.AppendTo(nil)},
			`{"type":"1","data":{"group":"g","topic":"t","partition":2}}`,
			`{"version":"3","data":{"offset":30,"leaderEpoch":0,"metadata":"","commitTimestamp":1700000000000}}`, true},
		{"group metadata", storage.Record{Offset: 0, Key: groupKey.AppendTo(nil), Value: groupValue.AppendTo(nil)},
			`{"type":"2","data":{"group":"g"}}`,
			`{"version":"3","data":{"protocolType":"consumer","generation":1,"protocol":"range","leader":"m-1","currentStateTimestamp":1700000000001,` +
				`"members":[{"memberId":"m-1","groupInstanceId":null,"clientId":"c","clientHost":"/127.0.0.1","rebalanceTimeout":300000,"sessionTimeout":45000,` +
				`"subscription":{"topics":["t"],"userData":null,"ownedPartitions":[],"generationId":-1,"rackId":null},` +
				`"assignment":{"assignedPartitions":[{"topic":"t","partitions":[0,1]}],"userData":null}}]}}`, true},
		{"empty group", storage.Record{Offset: 3, Key: groupKey.AppendTo(nil), Value: empty.AppendTo(nil)},
			`{"type":"2","data":{"group":"g"}}`,
			`{"version":"3","data":{"protocolType":"consumer","generation":2,"protocol":null,"leader":null,"currentStateTimestamp":5,"members":[]}}`, true},
		{"tombstone", storage.Record{Offset: 4, Key: groupKey.AppendTo(nil), ValueNull: true},
			`{"type":"2","data":{"group":"g"}}`, "<DELETE>", true},
		{"unknown type", storage.Record{Offset: 9, Key: []byte{0, 9, 0, 0}, Value: []byte{0, 0}},
			"Unknown record type 9 at offset 9, skipping.", "", false},
	} {
		key, payload, ok := offsetsRecord(c.rec)
		if key != c.key || payload != c.payload || ok != c.ok {
			t.Errorf("%s:\n got key %s payload %s (%v)\nwant key %s payload %s (%v)", c.name, key, payload, ok, c.key, c.payload, c.ok)
		}
	}
}
