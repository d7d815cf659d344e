package server

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/configs"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// incompressible is n random bytes: the producer compresses by default.
func incompressible(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func topicConfig(t *testing.T, adm *kadm.Client, topic, key string) kadm.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("describe configs of %s: %v", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe configs of %s: %v %v %s", topic, err, rc.Err, rc.ErrMessage)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("config %s missing from the description of %s", key, topic)
	return kadm.Config{}
}

// TestTopicConfigsLive alters a topic's configs through the admin APIs and
// sees DescribeConfigs and the live log change without a restart.
func TestTopicConfigsLive(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	b := startBroker(t, connect, 0, "message.max.bytes=200000", "log.retention.hours=48")
	cl := newClient(t, []string{b.addr})
	waitForBrokers(t, cl, 1)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "cfg"); err != nil {
		t.Fatal(err)
	}

	// Defaults follow the broker: message.max.bytes set in the config is
	// STATIC_BROKER_CONFIG; log.retention.hours is not the first synonym of
	// retention.ms, so Kafka reports DEFAULT_CONFIG with the computed value.
	if c := topicConfig(t, adm, "cfg", "max.message.bytes"); c.MaybeValue() != "200000" || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("max.message.bytes = %q from %v", c.MaybeValue(), c.Source)
	}
	if c := topicConfig(t, adm, "cfg", "retention.ms"); c.MaybeValue() != "172800000" || c.Source != kmsg.ConfigSourceDefaultConfig || len(c.Synonyms) != 0 {
		t.Fatalf("retention.ms = %q from %v synonyms %v", c.MaybeValue(), c.Source, c.Synonyms)
	}

	producer := newClient(t, []string{b.addr}, kgo.DefaultProduceTopic("cfg"), kgo.RecordRetries(1))
	big := &kgo.Record{Value: incompressible(5000)}
	if err := producer.ProduceSync(ctx, big).FirstErr(); err != nil {
		t.Fatalf("produce before the change: %v", err)
	}

	resp, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("1000")},
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	}, "cfg")
	if err != nil || resp[0].Err != nil {
		t.Fatalf("alter: %v %v %s", err, resp, resp[0].ErrMessage)
	}
	c := topicConfig(t, adm, "cfg", "retention.ms")
	if c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig ||
		len(c.Synonyms) == 0 || c.Synonyms[0].Source != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("after alter retention.ms = %q from %v synonyms %v", c.MaybeValue(), c.Source, c.Synonyms)
	}
	if c := topicConfig(t, adm, "cfg", "cleanup.policy"); c.MaybeValue() != "delete,compact" {
		t.Fatalf("cleanup.policy after APPEND = %q", c.MaybeValue())
	}
	waitFor(t, "produce refused with MESSAGE_TOO_LARGE", func() bool {
		err := producer.ProduceSync(ctx, &kgo.Record{Value: incompressible(5000)}).FirstErr()
		return errors.Is(err, kerr.MessageTooLarge)
	})

	// Errors: unknown key, bad value, broker resource, unknown topic.
	cases := []struct {
		name    string
		configs []kadm.AlterConfig
		topic   string
		want    error
		msg     string
	}{
		{"unknown key", []kadm.AlterConfig{{Name: "no.such.config", Value: kadm.StringPtr("1")}}, "cfg", kerr.InvalidConfig, "Unknown topic config name: no.such.config"},
		{"bad value", []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("soon")}}, "cfg", kerr.InvalidConfig, "retention.ms"},
		{"append to non-list", []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "cfg", kerr.InvalidConfig, "append"},
		{"unknown topic", []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("1")}}, "nope", kerr.UnknownTopicOrPartition, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := adm.AlterTopicConfigs(ctx, tc.configs, tc.topic)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(resp[0].Err, tc.want) || !strings.Contains(resp[0].ErrMessage, tc.msg) {
				t.Fatalf("got %v %q, want %v mentioning %q", resp[0].Err, resp[0].ErrMessage, tc.want, tc.msg)
			}
		})
	}
	bresp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Name: "log.retention.hours", Value: kadm.StringPtr("1")}}, 0)
	// Of the log.retention.* synonyms only log.retention.ms is dynamic (DynamicLogConfig).
	if err != nil || !errors.Is(bresp[0].Err, kerr.InvalidConfig) || !strings.Contains(bresp[0].ErrMessage, "Cannot update these configs dynamically: Set(log.retention.hours)") {
		t.Fatalf("broker alter: %v %v", err, bresp)
	}

	// validate_only changes nothing.
	if resp, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "retention.ms", Value: kadm.StringPtr("5")}}, "cfg"); err != nil || resp[0].Err != nil {
		t.Fatalf("validate only: %v %v", err, resp)
	}
	if c := topicConfig(t, adm, "cfg", "retention.ms"); c.MaybeValue() != "3600000" {
		t.Fatalf("validate_only changed retention.ms to %q", c.MaybeValue())
	}

	// Legacy AlterConfigs replaces the whole set: max.message.bytes goes back to the broker's.
	if resp, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "segment.ms", Value: kadm.StringPtr("60000")}}, "cfg"); err != nil || resp[0].Err != nil {
		t.Fatalf("legacy alter: %v %v", err, resp)
	}
	if c := topicConfig(t, adm, "cfg", "retention.ms"); c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("legacy alter kept retention.ms override: %v", c.Source)
	}
	waitFor(t, "produce accepted again", func() bool {
		return producer.ProduceSync(ctx, &kgo.Record{Value: incompressible(5000)}).FirstErr() == nil
	})

	// An override written straight to ZooKeeper (as kafka-configs.sh
	// --zookeeper did) reaches the live log through /config/changes.
	zc, err := zkmeta.Connect(ctx, connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	if err := zc.ChangeEntityConfig("topics", "cfg", map[string]string{"max.message.bytes": "1000"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ZooKeeper override applied", func() bool {
		err := producer.ProduceSync(ctx, &kgo.Record{Value: incompressible(5000)}).FirstErr()
		return errors.Is(err, kerr.MessageTooLarge)
	})

	// CreateTopics checks values before the controller writes anything.
	_, err = adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("later")}, "badcfg")
	if !errors.Is(err, kerr.InvalidConfig) {
		t.Fatalf("create with a bad value: %v", err)
	}

	// Broker resources: this broker's static configs, read-only.
	brcs, err := adm.DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]kadm.Config{}
	for _, c := range brcs[0].Configs {
		found[c.Key] = c
	}
	if c := found["message.max.bytes"]; c.MaybeValue() != "200000" || c.Source != kmsg.ConfigSourceStaticBrokerConfig {
		t.Fatalf("broker message.max.bytes = %q from %v", c.MaybeValue(), c.Source)
	}
	if c := found["log.segment.bytes"]; c.MaybeValue() != "1073741824" || c.Source != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("broker log.segment.bytes = %q from %v", c.MaybeValue(), c.Source)
	}
}

// TestKafkaConfigsTool runs kafka-configs.sh against a broker.
func TestKafkaConfigsTool(t *testing.T) {
	b, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "tool"); err != nil {
		t.Fatal(err)
	}
	run := configsTool(ctx, b.addr)
	steps := []toolStep{
		{[]string{"--entity-type", "topics", "--entity-name", "tool", "--alter", "--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]"}, 0,
			"Completed updating config for topic tool.\n", ""},
		{[]string{"--entity-type", "topics", "--entity-name", "tool", "--describe"}, 0,
			"Dynamic configs for topic tool are:\n" +
				"  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}\n" +
				"  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000}\n", ""},
		{[]string{"--topic", "tool", "--alter", "--delete-config", "retention.ms"}, 0, "Completed updating config for topic tool.\n", ""},
		{[]string{"--topic", "tool", "--alter", "--delete-config", "retention.ms"}, 1, "", "Invalid config(s): retention.ms\n"},
		{[]string{"--topic", "tool", "--alter", "--add-config", "retention.ms=soon"}, 1, "", "InvalidConfigurationException: Invalid config value for resource ConfigResource(type=TOPIC, name='tool'): "},
		{[]string{"--topic", "tool", "--alter", "--add-config", "no.such=1"}, 1, "", "InvalidConfigurationException: Unknown topic config name: no.such\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0, "Dynamic configs for broker 0 are:\n", ""},
	}
	runToolSteps(t, run, steps)
	out, _, code := run("--entity-type", "topics", "--entity-name", "tool", "--describe", "--all")
	if code != 0 || !strings.HasPrefix(out, "All configs for topic tool are:\n") ||
		!strings.Contains(out, "\n  max.message.bytes=1048588 sensitive=false synonyms={DEFAULT_CONFIG:message.max.bytes=1048588}\n") ||
		!strings.Contains(out, "\n  retention.ms=604800000 sensitive=false synonyms={}\n") ||
		strings.Count(out, "\n") != 32 {
		t.Fatalf("describe --all: %d\n%s", code, out)
	}
	out, _, code = run("--entity-type", "brokers", "--entity-name", "0", "--describe", "--all")
	if code != 0 || !strings.Contains(out, "\n  log.segment.bytes=1073741824 sensitive=false synonyms={DEFAULT_CONFIG:log.segment.bytes=1073741824}\n") ||
		!strings.Contains(out, "\n  broker.id=0 sensitive=false synonyms={STATIC_BROKER_CONFIG:broker.id=0, DEFAULT_CONFIG:broker.id=-1}\n") {
		t.Fatalf("broker describe --all: %d\n%s", code, out)
	}
}

// toolStep is one run of a command-line tool and what it must print.
type toolStep struct {
	args      []string
	code      int
	stdout    string
	stderrHas string
}

// configsTool runs kafka-configs.sh against addr, returning stdout, stderr
// and the exit code.
func configsTool(ctx context.Context, addr string) func(args ...string) (string, string, int) {
	return func(args ...string) (string, string, int) {
		var out, errb strings.Builder
		code := configs.Run(ctx, append([]string{"--bootstrap-server", addr}, args...), &out, &errb)
		return out.String(), errb.String(), code
	}
}

// runToolSteps runs each step and checks exit code, exact stdout and stderr.
func runToolSteps(t *testing.T, run func(args ...string) (string, string, int), steps []toolStep) {
	t.Helper()
	for _, s := range steps {
		out, errOut, code := run(s.args...)
		if code != s.code || out != s.stdout || !strings.Contains(errOut, s.stderrHas) {
			t.Fatalf("%v: exit %d stdout %q stderr %q; want exit %d stdout %q stderr containing %q", s.args, code, out, errOut, s.code, s.stdout, s.stderrHas)
		}
	}
}
