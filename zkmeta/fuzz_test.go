package zkmeta

import (
	"errors"
	"fmt"
	"testing"
)

// Fuzz targets, one per znode decoder. Each holds for any input: no panic,
// a refusal wraps ErrMalformed, and what decodes encodes back (where this
// package has the encoder) to data that decodes to the same value. The
// seeds (Kafka's own data and the hostile table) run in every `go test`.

// seed adds Kafka's data for one znode and every hostile payload.
func seed(f *testing.F, good ...string) {
	for _, g := range good {
		f.Add([]byte(g))
	}
	for _, h := range hostile {
		f.Add([]byte(h.data))
	}
}

// refused checks a decoder's error: nil, or wrapping ErrMalformed.
func refused(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("error does not wrap ErrMalformed: %v", err)
	}
	return err != nil
}

// same fails unless a and b print alike (%+v prints maps sorted, nil and
// empty slices alike).
func same(t *testing.T, what string, a, b any) {
	t.Helper()
	if x, y := fmt.Sprintf("%+v", a), fmt.Sprintf("%+v", b); x != y {
		t.Fatalf("%s: round trip changed the value:\n first %s\nsecond %s", what, x, y)
	}
}

func FuzzDecodeBroker(f *testing.F) {
	seed(f, `{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://h:9092"],"jmx_port":-1,"features":{},"host":"h","timestamp":"1700000000000","port":9092,"version":5}`,
		`{"jmx_port":-1,"timestamp":"1","host":"h","version":1,"port":9092}`,
		`{"version":5,"host":null,"port":-1,"endpoints":["SSL://[::1]:9093"],"rack":"r1"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBroker(3, data)
		if refused(t, err) {
			return
		}
		if b.ID != 3 {
			t.Fatalf("id %d", b.ID)
		}
	})
}

func FuzzDecodeController(f *testing.F) {
	seed(f, `{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
		`{"version":1,"brokerid":0,"timestamp":"1"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		ci, err := DecodeController(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeController(EncodeController(ci.BrokerID, ci.Timestamp))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "controller", [2]int64{int64(ci.BrokerID), ci.Timestamp}, [2]int64{int64(again.BrokerID), again.Timestamp})
	})
}

func FuzzDecodeClusterID(f *testing.F) {
	seed(f, `{"version":"1","id":"b3Dq9a1tQwKpQ0bJkQ8y3A"}`, `{"id":"x\u2028\"y"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		id, err := DecodeClusterID(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeClusterID(EncodeClusterID(id))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "cluster id", id, again)
	})
}

func FuzzDecodeTopicAssignment(f *testing.F) {
	seed(f, `{"partitions":{"0":[1,2,3],"1":[2,3,1]},"topic_id":"b3Dq9a1tQwKpQ0bJkQ8y3A","adding_replicas":{},"removing_replicas":{},"version":3}`,
		`{"version":1,"partitions":{"0":[1]}}`,
		`{"version":3,"partitions":{"0":[4,1,2]},"adding_replicas":{"0":[4]},"removing_replicas":{"0":[2]}}`,
		`{"version":3,"partitions":{"0":[1]},"adding_replicas":{"0":[]}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeTopicAssignment("t", data)
		if refused(t, err) {
			return
		}
		again, err := DecodeTopicAssignment("t", EncodeTopicAssignment(a))
		if err != nil {
			t.Fatal(err)
		}
		nonEmpty := func(m map[int32][]int32) map[int32][]int32 {
			out := map[int32][]int32{}
			for p, r := range m {
				if len(r) > 0 {
					out[p] = r
				}
			}
			return out
		}
		// Empty adding/removing lists are not written (TopicZNode.encode).
		a.AddingReplicas, a.RemovingReplicas = nonEmpty(a.AddingReplicas), nonEmpty(a.RemovingReplicas)
		same(t, "topic assignment", a, again)
	})
}

func FuzzDecodeEntityConfig(f *testing.F) {
	seed(f, `{"version":1,"config":{"retention.ms":"1000","cleanup.policy":"compact"}}`, `{"version":1,"config":{"a":1,"b":null,"c":[1]}}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeEntityConfig(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeEntityConfig(EncodeEntityConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "entity config", cfg, again)
	})
}

func FuzzDecodeConfigChange(f *testing.F) {
	seed(f, `{"version":2,"entity_path":"topics/t"}`, `{"version":"2","entity_path":"brokers/<default>"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := DecodeConfigChange(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeConfigChange(EncodeConfigChange(p))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "config change", p, again)
	})
}

func FuzzDecodePartitionState(f *testing.F) {
	seed(f, `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}`,
		`{"controller_epoch":3,"leader":-1,"version":1,"leader_epoch":7,"isr":[2],"leader_recovery_state":1}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodePartitionState(data, 5)
		if refused(t, err) {
			return
		}
		again, err := DecodePartitionState(EncodePartitionState(s), 5)
		if err != nil {
			t.Fatal(err)
		}
		same(t, "partition state", s, again)
	})
}

func FuzzDecodeProducerIDBlock(f *testing.F) {
	seed(f, `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`, `{"version":1,"broker":1,"block_start":1000,"block_end":1999}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeProducerIDBlock(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeProducerIDBlock(EncodeProducerIDBlock(b))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "producer id block", b, again)
	})
}

func FuzzDecodeControllerEpoch(f *testing.F) {
	seed(f, "7", " 12\n", "-1")
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeControllerEpoch(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeControllerEpoch(EncodeControllerEpoch(e))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "controller epoch", e, again)
	})
}

func FuzzDecodeFeatureZNode(f *testing.F) {
	seed(f, `{"features":{},"version":2,"status":1}`,
		`{"features":{"metadata.version":{"max_version_level":7,"min_version_level":1}},"version":1,"status":1}`,
		`{"features":{"f":{"max_version_level":3}},"version":2,"status":0}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fz, err := DecodeFeatureZNode(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeFeatureZNode(EncodeFeatureZNode(fz))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "feature", fz, again)
	})
}

func FuzzDecodeReassignPartitions(f *testing.F) {
	seed(f, `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"u","partition":3,"replicas":[]}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := DecodeReassignPartitions(data)
		if refused(t, err) {
			return
		}
		again, err := DecodeReassignPartitions(EncodeReassignPartitions(parts))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "reassign partitions", parts, again)
	})
}

func FuzzDecodePreferredReplicaElection(f *testing.F) {
	seed(f, `{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":9}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		parts, err := DecodePreferredReplicaElection(data)
		if refused(t, err) {
			return
		}
		again, err := DecodePreferredReplicaElection(EncodePreferredReplicaElection(parts))
		if err != nil {
			t.Fatal(err)
		}
		same(t, "preferred replica election", parts, again)
	})
}
