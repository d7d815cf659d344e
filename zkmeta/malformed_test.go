package zkmeta

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// decoders are every decoder of znode data, by the znode it reads; each
// returns only its error.
var decoders = []struct {
	name   string
	decode func([]byte) error
}{
	{"broker", func(b []byte) error { _, err := DecodeBroker(1, b); return err }},
	{"controller", func(b []byte) error { _, err := DecodeController(b); return err }},
	{"cluster id", func(b []byte) error { _, err := DecodeClusterID(b); return err }},
	{"topic assignment", func(b []byte) error { _, err := DecodeTopicAssignment("t", b); return err }},
	{"entity config", func(b []byte) error { _, err := DecodeEntityConfig(b); return err }},
	{"config change", func(b []byte) error { _, err := DecodeConfigChange(b); return err }},
	{"partition state", func(b []byte) error { _, err := DecodePartitionState(b, 0); return err }},
	{"producer id block", func(b []byte) error { _, err := DecodeProducerIDBlock(b); return err }},
	{"controller epoch", func(b []byte) error { _, err := DecodeControllerEpoch(b); return err }},
	{"feature", func(b []byte) error { _, err := DecodeFeatureZNode(b); return err }},
	{"reassign partitions", func(b []byte) error { _, err := DecodeReassignPartitions(b); return err }},
	{"preferred replica election", func(b []byte) error { _, err := DecodePreferredReplicaElection(b); return err }},
}

// hostile is data no decoder may accept, whatever znode it is found in.
var hostile = []struct {
	name string
	data string
}{
	{"not JSON", "this is not json"},
	{"truncated object", `{"version":1,"partitions":{"0":[1,2`},
	{"truncated string", `{"version":1,"id":"abc`},
	{"null", "null"},
	{"a string", `"hello"`},
	{"an array", `[1,2,3]`},
	{"a bare brace", "{"},
	{"nested arrays, 100000 deep", strings.Repeat("[", 100000)},
	{"nested objects, 100000 deep", strings.Repeat(`{"a":`, 100000)},
	{"binary", "\x00\x01\x02\xff\xfe"},
	{"invalid UTF-8 inside a string", "{\"id\":\"\xff\xfe\"\x00}"},
}

// A table of bad payloads for each decoder: the ones no decoder accepts,
// then per decoder wrong types, missing fields and numbers out of range.
// Each is an error wrapping ErrMalformed (never a panic), quotes a bounded
// part of the data, and costs little time.
func TestDecodersRefuseMalformedData(t *testing.T) {
	perDecoder := map[string][]string{
		"broker": {
			`{"version":"five","host":"h","port":1}`,
			`{"version":0,"host":"h","port":1}`,
			`{"version":5,"host":"h","port":4294967297,"endpoints":[]}`,
			`{"version":5,"host":7,"port":1}`,
			`{"version":5,"endpoints":"PLAINTEXT://h:1"}`,
			`{"version":5,"jmx_port":1e400}`,
			`{"version":5,"listener_security_protocol_map":["PLAINTEXT"]}`,
		},
		"controller": {
			`{"version":2,"timestamp":"1"}`,
			`{"version":2,"brokerid":"one"}`,
			`{"version":2,"brokerid":2147483648}`,
			`{"version":2,"brokerid":1,"kraftControllerEpoch":[]}`,
			`{"version":2,"brokerid":1.5}`,
		},
		"cluster id": {`{"version":"1"}`, `{"version":"1","id":7}`, `{"version":"1","id":null}`},
		"topic assignment": {
			`{"version":3,"partitions":{"0":"1,2"}}`,
			`{"version":3,"partitions":[[1,2]]}`,
			`{"version":3,"partitions":{"zero":[1,2]}}`,
			`{"version":3,"partitions":{"-1":[1,2]}}`,
			`{"version":3,"partitions":{"+1":[1,2]}}`,
			`{"version":3,"partitions":{"01":[1,2]}}`,
			`{"version":3,"partitions":{"99999999999":[1,2]}}`,
			`{"version":3,"partitions":{"0":[4294967296]}}`,
			`{"version":3,"partitions":{"0":[1.5]}}`,
			`{"version":3,"partitions":{"0":null}}`,
			`{"version":3,"partitions":{"0":[[[[1]]]]}}`,
			`{"version":3,"partitions":{"0":[1]},"topic_id":"not-a-uuid"}`,
			`{"version":3,"partitions":{"0":[1]},"topic_id":17}`,
			`{"version":3,"partitions":{"0":[1]},"adding_replicas":{"0":"2"}}`,
			`{"version":3,"partitions":{"0":[1]},"removing_replicas":{"x":[2]}}`,
		},
		"entity config": {`{"version":1,"config":["a","b"]}`, `{"version":1,"config":"a=b"}`},
		"config change": {`{"version":1,"entity_path":"topics/t"}`, `{"version":2}`, `{"version":2,"entity_path":5}`},
		"partition state": {
			`{"controller_epoch":1,"leader":"one","version":1,"leader_epoch":0,"isr":[1]}`,
			`{"controller_epoch":1,"version":1,"leader_epoch":0,"isr":[1]}`,
			`{"controller_epoch":1,"leader":1,"version":1,"isr":[1]}`,
			`{"leader":1,"version":1,"leader_epoch":0,"isr":[1]}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":null}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":"1,2"}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,"2"]}`,
			`{"controller_epoch":1,"leader":4294967297,"version":1,"leader_epoch":0,"isr":[1]}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":99999999999999999999999,"isr":[1]}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[2147483648]}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1],"leader_recovery_state":7}`,
			`{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1],"leader_recovery_state":"x"}`,
		},
		"producer id block": {
			`{"version":1,"broker":1,"block_start":"0"}`,
			`{"version":1,"broker":1,"block_start":"zero","block_end":"999"}`,
			`{"version":1,"broker":4294967296,"block_start":"0","block_end":"999"}`,
			`{"version":1,"broker":1,"block_start":"0","block_end":"99999999999999999999"}`,
		},
		"controller epoch": {"", "seven", "2147483648", "-", "1.5", "{}"},
		"feature": {
			`{"version":3,"status":1,"features":{}}`,
			`{"version":2,"features":{}}`,
			`{"version":2,"status":2,"features":{}}`,
			`{"version":2,"status":1}`,
			`{"version":2,"status":1,"features":{"f":{}}}`,
			`{"version":2,"status":1,"features":{"f":{"max_version_level":70000}}}`,
			`{"version":2,"status":1,"features":{"f":{"max_version_level":"1"}}}`,
			`{"version":2,"status":1,"features":[]}`,
		},
		"reassign partitions": {
			`{"version":1,"partitions":[{"partition":0,"replicas":[1]}]}`,
			`{"version":1,"partitions":[{"topic":"t","replicas":[1]}]}`,
			`{"version":1,"partitions":[{"topic":"t","partition":4294967296,"replicas":[1]}]}`,
			`{"version":1,"partitions":{"topic":"t"}}`,
			`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":"1"}]}`,
		},
		"preferred replica election": {
			`{"version":1,"partitions":[{"partition":0}]}`,
			`{"version":1,"partitions":[{"topic":1,"partition":0}]}`,
			`{"version":1,"partitions":[{"topic":"t","partition":"0"}]}`,
		},
	}
	// Huge values (a znode holds up to jute.maxbuffer, 1 MiB by default).
	huge := strings.Repeat("9", 1<<20)
	perDecoder["topic assignment"] = append(perDecoder["topic assignment"],
		`{"version":3,"partitions":{"0":[1]},"topic_id":"`+huge+`"}`,
		`{"version":3,"partitions":{"`+huge+`":[1]}}`,
		`{"version":3,"partitions":{"0":[`+huge+`]}}`)
	perDecoder["partition state"] = append(perDecoder["partition state"],
		`{"controller_epoch":1,"leader":"`+huge+`","version":1,"leader_epoch":0,"isr":[1]}`,
		`{"controller_epoch":1,"leader":`+huge+`,"version":1,"leader_epoch":0,"isr":[1]}`)
	perDecoder["controller epoch"] = append(perDecoder["controller epoch"], huge)
	perDecoder["controller"] = append(perDecoder["controller"], `{"brokerid":"`+huge+`"}`)
	for _, d := range decoders {
		cases := perDecoder[d.name]
		if len(cases) == 0 {
			t.Errorf("no decoder-specific bad payloads for %s", d.name)
		}
		for _, h := range hostile {
			cases = append(cases, h.data)
		}
		t.Run(d.name, func(t *testing.T) {
			for _, data := range cases {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err := d.decode([]byte(data))
				runtime.ReadMemStats(&after)
				// Cost proportional to the size: bounded allocation (a
				// count, not a clock, so the bound holds under -race and load).
				allocated := after.TotalAlloc - before.TotalAlloc
				shown := data
				if len(shown) > 80 {
					shown = shown[:80] + "..."
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("%q: err %v, want ErrMalformed", shown, err)
					continue
				}
				if n := len(err.Error()); n > 2*maxQuoted+512 {
					t.Errorf("%q: error message of %d bytes", shown, n)
				}
				if limit := uint64(64*len(data) + 1<<20); allocated > limit {
					t.Errorf("%q: decoding allocated %d bytes, more than %d", shown, allocated, limit)
				}
			}
		})
	}
}

// Kafka's own data decodes (the good side of the tables above).
func TestDecodersAcceptKafkaData(t *testing.T) {
	good := map[string]string{
		"broker":                     `{"listener_security_protocol_map":{"PLAINTEXT":"PLAINTEXT"},"endpoints":["PLAINTEXT://h:9092"],"jmx_port":-1,"features":{},"host":"h","timestamp":"1700000000000","port":9092,"version":5}`,
		"controller":                 `{"version":2,"brokerid":1,"timestamp":"1700000000000","kraftControllerEpoch":-1}`,
		"cluster id":                 `{"version":"1","id":"b3Dq9a1tQwKpQ0bJkQ8y3A"}`,
		"topic assignment":           `{"partitions":{"0":[1,2,3]},"topic_id":"b3Dq9a1tQwKpQ0bJkQ8y3A","adding_replicas":{},"removing_replicas":{},"version":3}`,
		"entity config":              `{"version":1,"config":{"retention.ms":"1000"}}`,
		"config change":              `{"version":2,"entity_path":"topics/t"}`,
		"partition state":            `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}`,
		"producer id block":          `{"version":1,"broker":1,"block_start":"0","block_end":"999"}`,
		"controller epoch":           "7",
		"feature":                    `{"features":{},"version":2,"status":1}`,
		"reassign partitions":        `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}`,
		"preferred replica election": `{"version":1,"partitions":[{"topic":"t","partition":0}]}`,
	}
	for _, d := range decoders {
		data, ok := good[d.name]
		if !ok {
			t.Errorf("no good payload for %s", d.name)
			continue
		}
		if err := d.decode([]byte(data)); err != nil {
			t.Errorf("%s: %q: %v", d.name, data, err)
		}
	}
}

// A client read of a malformed znode names its path.
func TestMalformedReadNamesPath(t *testing.T) {
	c, _ := pair(t)
	if err := c.CreateTopic(TopicAssignment{Topic: "t", Partitions: map[int32][]int32{0: {1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Set(TopicPath("t"), []byte(`{"partitions":{"0":"x"}}`), -1); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRecursive(PartitionStatePath("t", 0), []byte(`{"leader":"x"}`), Persistent); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateRecursive(PartitionStatePath("t", 1), EncodePartitionState(LeaderAndIsr{Leader: 1, ISR: []int32{1}}), Persistent); err != nil {
		t.Fatal(err)
	}
	_, _, _, err := c.TopicAssignment("t")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), TopicPath("t")) {
		t.Errorf("TopicAssignment: %v, want ErrMalformed naming %s", err, TopicPath("t"))
	}
	_, _, err = c.WatchTopicAssignment("t")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), TopicPath("t")) {
		t.Errorf("WatchTopicAssignment: %v, want ErrMalformed naming %s", err, TopicPath("t"))
	}
	_, _, err = c.PartitionState("t", 0)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), PartitionStatePath("t", 0)) {
		t.Errorf("PartitionState: %v, want ErrMalformed naming %s", err, PartitionStatePath("t", 0))
	}
	// PartitionStates returns the states it could read beside the error.
	states, err := c.PartitionStates("t")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), PartitionStatePath("t", 0)) {
		t.Errorf("PartitionStates: %v, want ErrMalformed naming %s", err, PartitionStatePath("t", 0))
	}
	if _, ok := states[1]; len(states) != 1 || !ok {
		t.Errorf("PartitionStates read %v, want partition 1 only", states)
	}
}
