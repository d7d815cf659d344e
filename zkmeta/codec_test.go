package zkmeta

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func strp(s string) *string { return &s }

// Expected strings are znodes as Kafka 3.x writes them (zookeeper-shell output), or derived from the
// Scala/Java map orders where noted.
func TestEncodeByteForByte(t *testing.T) {
	tid, err := ParseUUID("Zmv7iJ7-QvCTO3sMrDzQ4Q")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  func() ([]byte, error)
		want string
	}{
		{"broker v5", func() ([]byte, error) {
			return EncodeBroker(BrokerInfo{ID: 0, Endpoints: []string{"PLAINTEXT://localhost:9092"}, Timestamp: 1625336133848})
		}, `{"features":{},"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://localhost:9092"],"jmx_port":-1,"port":9092,"host":"localhost","version":5,"timestamp":"1625336133848"}`},
		{"broker v5 rack two listeners", func() ([]byte, error) {
			return EncodeBroker(BrokerInfo{ID: 1, Rack: strp("r1"), Endpoints: []string{"INTERNAL://k1:9093", "EXTERNAL://k1.example:19093"},
				SecurityProtocols: map[string]string{"INTERNAL": "PLAINTEXT", "EXTERNAL": "SASL_SSL"}, Timestamp: 42})
		}, `{"features":{},"listener_security_protocol_map":{"INTERNAL":"PLAINTEXT","EXTERNAL":"SASL_SSL"},"endpoints":["INTERNAL://k1:9093","EXTERNAL://k1.example:19093"],"rack":"r1","jmx_port":-1,"port":9093,"host":"k1","version":5,"timestamp":"42"}`},
		{"broker no plaintext", func() ([]byte, error) {
			return EncodeBroker(BrokerInfo{ID: 2, Endpoints: []string{"SSL://h:9094"}, Timestamp: 1})
		}, `{"features":{},"listener_security_protocol_map":{"SSL":"SSL"},"endpoints":["SSL://h:9094"],"jmx_port":-1,"port":-1,"host":null,"version":5,"timestamp":"1"}`},
		{"partition state", func() ([]byte, error) {
			return EncodePartitionState(LeaderAndIsr{Leader: 0, LeaderEpoch: 0, ISR: []int32{0}, ControllerEpoch: 1}), nil
		}, `{"controller_epoch":1,"leader":0,"version":1,"leader_epoch":0,"isr":[0]}`},
		{"partition state recovering", func() ([]byte, error) {
			return EncodePartitionState(LeaderAndIsr{Leader: 2, LeaderEpoch: 5, ISR: []int32{2}, ControllerEpoch: 3, LeaderRecoveryState: 1}), nil
		}, `{"controller_epoch":3,"leader":2,"version":1,"leader_recovery_state":1,"leader_epoch":5,"isr":[2]}`},
		{"topic", func() ([]byte, error) {
			return EncodeTopicAssignment(TopicAssignment{Topic: "t", TopicID: tid, Partitions: map[int32][]int32{0: {0}}}), nil
		}, `{"partitions":{"0":[0]},"topic_id":"Zmv7iJ7-QvCTO3sMrDzQ4Q","adding_replicas":{},"removing_replicas":{},"version":3}`},
		{"topic reassigning", func() ([]byte, error) {
			return EncodeTopicAssignment(TopicAssignment{Topic: "t", TopicID: tid,
				Partitions:       map[int32][]int32{0: {1, 2, 3}, 1: {2, 3}},
				AddingReplicas:   map[int32][]int32{0: {3}, 1: {}},
				RemovingReplicas: map[int32][]int32{0: {1}}}), nil
		}, `{"partitions":{"0":[1,2,3],"1":[2,3]},"topic_id":"Zmv7iJ7-QvCTO3sMrDzQ4Q","adding_replicas":{"0":[3]},"removing_replicas":{"0":[1]},"version":3}`},
		{"controller", func() ([]byte, error) { return EncodeController(0, 1535943857541), nil },
			`{"version":2,"brokerid":0,"timestamp":"1535943857541","kraftControllerEpoch":-1}`},
		{"controller epoch", func() ([]byte, error) { return EncodeControllerEpoch(7), nil }, `7`},
		{"cluster id", func() ([]byte, error) { return EncodeClusterID("MKw4iNnTQGW_EaC3FNZVHA"), nil },
			`{"version":"1","id":"MKw4iNnTQGW_EaC3FNZVHA"}`},
		{"empty config", func() ([]byte, error) { return EncodeEntityConfig(nil), nil }, `{"version":1,"config":{}}`},
		{"offsets topic config", func() ([]byte, error) {
			return EncodeEntityConfig(map[string]string{"compression.type": "producer", "cleanup.policy": "compact", "segment.bytes": "104857600"}), nil
		}, `{"version":1,"config":{"compression.type":"producer","cleanup.policy":"compact","segment.bytes":"104857600"}}`},
		{"config change", func() ([]byte, error) { return EncodeConfigChange("topics/t"), nil }, `{"version":2,"entity_path":"topics/t"}`},
		{"producer id block", func() ([]byte, error) {
			return EncodeProducerIDBlock(ProducerIDBlock{BrokerID: 1, Start: 0, End: 999}), nil
		}, `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	b := BrokerInfo{ID: 3, Rack: strp("a"), Endpoints: []string{"PLAINTEXT://h:1", "SSL://h:2"}, Timestamp: 9}
	data, err := EncodeBroker(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBroker(3, data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Host != "h" || got.Port != 1 || *got.Rack != "a" || !reflect.DeepEqual(got.Endpoints, b.Endpoints) ||
		got.Timestamp != 9 || got.Version != 5 || got.SecurityProtocols["SSL"] != "SSL" || got.JMXPort != -1 {
		t.Errorf("decoded %+v", got)
	}
	// v1 registrations carry only host and port.
	old, err := DecodeBroker(7, []byte(`{"version":1,"host":"o","port":9092,"jmx_port":-1,"timestamp":"1"}`))
	if err != nil || !reflect.DeepEqual(old.Endpoints, []string{"PLAINTEXT://o:9092"}) {
		t.Errorf("v1: %+v %v", old, err)
	}

	a := TopicAssignment{Topic: "x", TopicID: NewTopicID(), Partitions: map[int32][]int32{0: {1}, 1: {2, 1}, 12: {3}},
		AddingReplicas: map[int32][]int32{1: {1}}, RemovingReplicas: map[int32][]int32{}}
	ga, err := DecodeTopicAssignment("x", EncodeTopicAssignment(a))
	if err != nil || !reflect.DeepEqual(ga, a) {
		t.Errorf("topic round trip: %+v %v", ga, err)
	}

	s := LeaderAndIsr{Leader: 1, LeaderEpoch: 2, ISR: []int32{1, 2}, ControllerEpoch: 3, ZkVersion: 4, LeaderRecoveryState: 1}
	gs, err := DecodePartitionState(EncodePartitionState(s), 4)
	if err != nil || !reflect.DeepEqual(gs, s) {
		t.Errorf("state round trip: %+v %v", gs, err)
	}

	ci, err := DecodeController([]byte(`{"version":1,"brokerid":5,"timestamp":"77"}`))
	if err != nil || ci.BrokerID != 5 || ci.Timestamp != 77 || ci.KRaftControllerEpoch != -1 {
		t.Errorf("controller v1: %+v %v", ci, err)
	}
	cfg, err := DecodeEntityConfig(EncodeEntityConfig(map[string]string{"a": "1", "b\"": "x\ny"}))
	if err != nil || !reflect.DeepEqual(cfg, map[string]string{"a": "1", "b\"": "x\ny"}) {
		t.Errorf("config round trip: %v %v", cfg, err)
	}
	pb, err := DecodeProducerIDBlock(EncodeProducerIDBlock(ProducerIDBlock{BrokerID: 2, Start: 1000, End: 1999}))
	if err != nil || pb != (ProducerIDBlock{2, 1000, 1999}) {
		t.Errorf("producer block: %+v %v", pb, err)
	}
}

func TestDecodeGarbage(t *testing.T) {
	inputs := []string{"", "{", "null", `{"version":0}`, `[1]`, `{"leader":"x"}`}
	for _, in := range inputs {
		if _, err := DecodeBroker(1, []byte(in)); err == nil {
			t.Errorf("DecodeBroker(%q) accepted", in)
		}
		if _, err := DecodePartitionState([]byte(in), 0); err == nil {
			t.Errorf("DecodePartitionState(%q) accepted", in)
		}
		if _, err := DecodeController([]byte(in)); err == nil {
			t.Errorf("DecodeController(%q) accepted", in)
		}
		if _, err := DecodeProducerIDBlock([]byte(in)); err == nil {
			t.Errorf("DecodeProducerIDBlock(%q) accepted", in)
		}
	}
	if _, err := DecodeTopicAssignment("t", []byte(`{"partitions":{"x":[1]}}`)); err == nil {
		t.Error("bad partition key accepted")
	}
}

func TestUUID(t *testing.T) {
	// Uuid.METADATA_TOPIC_ID (0,1) and Uuid.ZERO_UUID as Kafka prints them.
	if got := UUIDString(metadataTopicID); got != "AAAAAAAAAAAAAAAAAAAAAQ" {
		t.Errorf("metadata topic id = %s", got)
	}
	if got := UUIDString([16]byte{}); got != "AAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("zero = %s", got)
	}
	for i := 0; i < 1000; i++ {
		u := NewTopicID()
		s := UUIDString(u)
		if len(s) != 22 || strings.HasPrefix(s, "-") || u == ([16]byte{}) {
			t.Fatalf("bad id %q", s)
		}
		back, err := ParseUUID(s)
		if err != nil || back != u {
			t.Fatalf("round trip %q: %v", s, err)
		}
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("ParseUUID(%q) accepted", bad)
		}
	}
}

func TestScalaMutableMapOrder(t *testing.T) {
	var keys []string
	for i := 0; i < 20; i++ {
		keys = append(keys, strconv.Itoa(i))
	}
	// 12 inserts grow the 16-slot table to 32 ("11" hashes to slot 0 there).
	got := scalaMutableMapOrder(nil, keys[:12])
	want := []string{"11", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
}

func TestParseConnect(t *testing.T) {
	tests := []struct {
		in      string
		servers []string
		chroot  string
		bad     bool
	}{
		{"127.0.0.1:2181", []string{"127.0.0.1:2181"}, "", false},
		{"a:1,b:2/kafka", []string{"a:1", "b:2"}, "/kafka", false},
		{"a:1/kafka/x", []string{"a:1"}, "/kafka/x", false},
		{"a:1/", []string{"a:1"}, "", false},
		{"a:1/kafka/", nil, "", true},
		{"a:1//k", nil, "", true},
		{"/kafka", nil, "", true},
	}
	for _, tc := range tests {
		s, c, err := ParseConnect(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("%q accepted", tc.in)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(s, tc.servers) || c != tc.chroot {
			t.Errorf("%q: %v %q %v", tc.in, s, c, err)
		}
	}
}
