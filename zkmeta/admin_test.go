package zkmeta

import (
	"slices"
	"testing"
)

func TestAdminZnodeCodecs(t *testing.T) {
	parts := []PartitionReplicas{{Topic: "t", Partition: 0, Replicas: []int32{1, 2}}, {Topic: "u", Partition: 3, Replicas: []int32{3}}}
	got := string(EncodeReassignPartitions(parts))
	want := `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"u","partition":3,"replicas":[3]}]}`
	if got != want {
		t.Fatalf("reassign encode:\n got %s\nwant %s", got, want)
	}
	back, err := DecodeReassignPartitions([]byte(got))
	if err != nil || len(back) != 2 || back[1].Topic != "u" || back[1].Partition != 3 || !slices.Equal(back[0].Replicas, []int32{1, 2}) {
		t.Fatalf("reassign decode: %+v %v", back, err)
	}
	pe := string(EncodePreferredReplicaElection([]TopicPartition{{"t", 0}, {"t", 1}}))
	if want := `{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"t","partition":1}]}`; pe != want {
		t.Fatalf("preferred encode:\n got %s\nwant %s", pe, want)
	}
	tps, err := DecodePreferredReplicaElection([]byte(pe))
	if err != nil || len(tps) != 2 || tps[1] != (TopicPartition{"t", 1}) {
		t.Fatalf("preferred decode: %+v %v", tps, err)
	}
	for _, bad := range []string{`{`, `{"partitions":[{"partition":0}]}`} {
		if _, err := DecodeReassignPartitions([]byte(bad)); err == nil {
			t.Errorf("reassign decode %s: want error", bad)
		}
		if _, err := DecodePreferredReplicaElection([]byte(bad)); err == nil {
			t.Errorf("preferred decode %s: want error", bad)
		}
	}
}
