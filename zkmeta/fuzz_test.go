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

// roundTrip fuzzes a decoder that has an encoder: what decode accepts
// encodes back to data that decodes to the same value.
func roundTrip[T any](f *testing.F, what string, decode func([]byte) (T, error), encode func(T) []byte) {
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode(data)
		if refused(t, err) {
			return
		}
		again, err := decode(encode(v))
		if err != nil {
			t.Fatal(err)
		}
		same(t, what, v, again)
	})
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
	roundTrip(f, "cluster id", DecodeClusterID, EncodeClusterID)
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
	roundTrip(f, "entity config", DecodeEntityConfig, EncodeEntityConfig)
}

func FuzzDecodeConfigChange(f *testing.F) {
	seed(f, `{"version":2,"entity_path":"topics/t"}`, `{"version":"2","entity_path":"brokers/<default>"}`)
	roundTrip(f, "config change", DecodeConfigChange, EncodeConfigChange)
}

func FuzzDecodePartitionState(f *testing.F) {
	seed(f, `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}`,
		`{"controller_epoch":3,"leader":-1,"version":1,"leader_epoch":7,"isr":[2],"leader_recovery_state":1}`)
	decode := func(data []byte) (LeaderAndIsr, error) { return DecodePartitionState(data, 5) }
	roundTrip(f, "partition state", decode, EncodePartitionState)
}

func FuzzDecodeProducerIDBlock(f *testing.F) {
	seed(f, `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`, `{"version":1,"broker":1,"block_start":1000,"block_end":1999}`)
	roundTrip(f, "producer id block", DecodeProducerIDBlock, EncodeProducerIDBlock)
}

func FuzzDecodeControllerEpoch(f *testing.F) {
	seed(f, "7", " 12\n", "-1")
	roundTrip(f, "controller epoch", DecodeControllerEpoch, EncodeControllerEpoch)
}

func FuzzDecodeFeatureZNode(f *testing.F) {
	seed(f, `{"features":{},"version":2,"status":1}`,
		`{"features":{"metadata.version":{"max_version_level":7,"min_version_level":1}},"version":1,"status":1}`,
		`{"features":{"f":{"max_version_level":3}},"version":2,"status":0}`)
	roundTrip(f, "feature", DecodeFeatureZNode, EncodeFeatureZNode)
}

func FuzzDecodeReassignPartitions(f *testing.F) {
	seed(f, `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]},{"topic":"u","partition":3,"replicas":[]}]}`)
	roundTrip(f, "reassign partitions", DecodeReassignPartitions, EncodeReassignPartitions)
}

func FuzzDecodePreferredReplicaElection(f *testing.F) {
	seed(f, `{"version":1,"partitions":[{"topic":"t","partition":0},{"topic":"u","partition":9}]}`)
	roundTrip(f, "preferred replica election", DecodePreferredReplicaElection, EncodePreferredReplicaElection)
}

func FuzzDecodeACLs(f *testing.F) {
	seed(f, `{"acls":[{"principal":"User:a","permissionType":"Allow","host":"*","operation":"Read"}],"version":1}`,
		`{"version":1,"acls":[]}`, `{"version":1,"acls":[{"principal":"User:a"}]}`)
	roundTrip(f, "acls", DecodeACLs, EncodeACLs)
}

// An ACL change notice: the literal store's "TOPIC:name" text and the
// extended store's JSON; any input is decoded or refused with ErrMalformed.
func FuzzDecodeACLChange(f *testing.F) {
	seed(f, `TOPIC:orders`, `TRANSACTIONAL_ID:tx:with:colons`, `{"version":1,"resourceType":"TOPIC","name":"pay","patternType":"PREFIXED"}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, literal := range []bool{true, false} {
			_, err := DecodeACLChange(literal, data)
			refused(t, err)
		}
	})
}
