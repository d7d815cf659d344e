package consoleconsumer

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestDefaultFormatter(t *testing.T) {
	rec := &kgo.Record{Topic: "t", Partition: 2, Offset: 41, Key: []byte("k"), Value: []byte("v"),
		Timestamp: time.UnixMilli(1700000000123),
		Headers:   []kgo.RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2"}}}
	noKey := &kgo.Record{Topic: "t", Value: []byte{0, 0, 0, 0, 0, 0, 1, 0}, Timestamp: time.UnixMilli(5)}
	for _, c := range []struct {
		props map[string]string
		rec   *kgo.Record
		want  string
		err   string
	}{
		{nil, rec, "v\n", ""},
		{map[string]string{"print.key": "true"}, rec, "k\tv\n", ""},
		{map[string]string{"print.key": "true"}, noKey, "null\t\x00\x00\x00\x00\x00\x00\x01\x00\n", ""},
		{map[string]string{"print.key": "true", "key.separator": " => ", "null.literal": "<none>", "print.value": "false"}, noKey, "<none>\n", ""},
		{map[string]string{"print.timestamp": "true", "print.partition": "true", "print.offset": "true", "print.headers": "true", "print.key": "true"}, rec,
			"CreateTime:1700000000123\tPartition:2\tOffset:41\th1:x,h2:null\tk\tv\n", ""},
		{map[string]string{"print.headers": "true", "print.value": "false", "line.separator": "|"}, noKey, "NO_HEADERS|", ""},
		{map[string]string{"value.deserializer": "org.apache.kafka.common.serialization.LongDeserializer"}, noKey, "256\n", ""},
		{map[string]string{"print.key": "true", "key.deserializer": "org.apache.kafka.common.serialization.LongDeserializer"}, noKey, "",
			"Size of data received by LongDeserializer is not 8"},
		{map[string]string{"value.deserializer": "org.apache.kafka.common.serialization.BytesDeserializer"}, noKey, "\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\n", ""},
		{map[string]string{"value.deserializer": "org.apache.kafka.common.serialization.StringDeserializer"}, rec, "v\n", ""},
	} {
		f, err := newDefaultFormatter(c.props)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		err = f.writeTo(&b, c.rec)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%v: error %v, want %q", c.props, err, c.err)
			}
			continue
		}
		if err != nil || b.String() != c.want {
			t.Errorf("%v: got %q (%v), want %q", c.props, b.String(), err, c.want)
		}
	}
	rec.Attrs = kgo.RecordAttrs{}
	if _, err := deserializerFor("com.example.Nope"); err == nil {
		t.Error("unknown deserializer accepted")
	}
}

func TestJavaFloatString(t *testing.T) {
	// Expected values printed by a JVM.
	for _, c := range []struct {
		v    float64
		bits int
		want string
	}{{1, 32, "1.0"}, {1e7, 64, "1.0E7"}, {0.001, 64, "0.001"}, {1e-4, 64, "1.0E-4"}, {float64(float32(3.14159)), 32, "3.14159"},
		{123456.789, 64, "123456.789"}, {-2.5e-10, 64, "-2.5E-10"}} {
		if got := javaFloatString(c.v, c.bits); got != c.want {
			t.Errorf("%v: %s, want %s", c.v, got, c.want)
		}
	}
}

func TestParseConfig(t *testing.T) {
	base := []string{"--bootstrap-server", "h:1"}
	for _, c := range []struct {
		args []string
		want string // error message; "" for success
	}{
		{[]string{"--topic", "t"}, ""},
		{[]string{}, "Exactly one of --include/--topic is required. ()"},
		{[]string{"--topic", "t", "--include", "x.*"}, "Exactly one of --include/--topic is required. ()"},
		{[]string{"--whitelist", "a", "--topic", "t"}, "Exactly one of --include/--topic is required. --whitelist is DEPRECATED use --include instead; ignored if --include specified."},
		{[]string{"--include", "x", "--partition", "0"}, "The topic is required when partition is specified."},
		{[]string{"--topic", "t", "--offset", "5"}, "The partition is required when offset is specified."},
		{[]string{"--topic", "t", "--partition", "0", "--offset", "5", "--from-beginning"}, "Options from-beginning and offset cannot be specified together."},
		{[]string{"--topic", "t", "--partition", "0", "--offset", "-3"}, "The provided offset value '-3' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long."},
		{[]string{"--topic", "t", "--partition", "0", "--group", "g"}, "Options group and partition cannot be specified together."},
		{[]string{"--topic", "t", "--group", "a", "--consumer-property", "group.id=b"}, "The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: 'a', 'b'"},
		{[]string{"--topic", "t", "--partition", "x"}, "Cannot parse argument 'x' of option partition"},
		{[]string{"--topic", "t", "--formatter", "com.example.Fmt"}, "com.example.Fmt"},
	} {
		_, err := parseConfig(append(append([]string{}, base...), c.args...), func() {})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%v: error %q, want %q", c.args, got, c.want)
		}
	}
	c, err := parseConfig(append(base, "--topic", "t"), func() {})
	if err != nil || c.groupPassed || !strings.HasPrefix(c.consumerProps["group.id"], "console-consumer-") || c.consumerProps["enable.auto.commit"] != "false" {
		t.Errorf("default group: %+v %v", c, err)
	}
	c, _ = parseConfig(append(base, "--topic", "t", "--group", "g", "--from-beginning", "--isolation-level", "read_committed"), func() {})
	props, err := consumerProps(c)
	if err != nil || props["auto.offset.reset"] != "earliest" || props["group.id"] != "g" || props["client.id"] != "console-consumer" ||
		props["isolation.level"] != "read_committed" {
		t.Errorf("props %v %v", props, err)
	}
	if _, _, err := clientOpts(c, props); err != nil {
		t.Errorf("client options: %v", err)
	}
	// --consumer-property security keys reach the client (cli.SecurityOpts).
	c, _ = parseConfig(append(base, "--topic", "t", "--consumer-property", "security.protocol=SSL",
		"--consumer-property", "ssl.truststore.location=/nonexistent.jks"), func() {})
	props, err = consumerProps(c)
	if err != nil {
		t.Fatal(err)
	}
	var ce *configException
	if _, _, err := clientOpts(c, props); !errors.As(err, &ce) || !strings.Contains(err.Error(), "for configuration ssl.truststore.location") {
		t.Errorf("SSL with a missing trust store: %v", err)
	}
	c, _ = parseConfig(append(base, "--topic", "t", "--from-beginning", "--consumer-property", "auto.offset.reset=latest"), func() {})
	if _, err := consumerProps(c); err == nil || err.Error() != "Can't simultaneously specify --from-beginning and 'auto.offset.reset=latest', please remove one option" {
		t.Errorf("conflict: %v", err)
	}
}

func TestRunUsage(t *testing.T) {
	var out, errOut strings.Builder
	code := run(context.Background(), nil, &out, &errOut, time.Now)
	if code != 1 || !strings.HasPrefix(errOut.String(), msgHelp+"\nOption ") {
		t.Errorf("no args: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	code = run(context.Background(), []string{"--topic", "t"}, &out, &errOut, time.Now)
	if code != 1 || !strings.HasPrefix(errOut.String(), "Missing required argument \"[bootstrap-server]\"\n") {
		t.Errorf("no bootstrap: exit %d, %q", code, errOut.String())
	}
}
