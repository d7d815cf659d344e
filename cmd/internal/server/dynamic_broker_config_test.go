package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// cleanerCheckpointHas reports whether the log dir's
// cleaner-offset-checkpoint has an entry for topic's partition 0: the
// cleaner has cleaned it.
func cleanerCheckpointHas(logDir, topic string) bool {
	data, err := os.ReadFile(filepath.Join(logDir, "cleaner-offset-checkpoint"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, topic+" 0 ") {
			return true
		}
	}
	return false
}

// produceDuplicates writes 30 rounds of 10 keys to a compacted topic with
// small segments, created here.
func produceDuplicates(t *testing.T, ctx context.Context, cl *kgo.Client, topic string) {
	t.Helper()
	configs := map[string]*string{
		"cleanup.policy": ptr("compact"), "segment.bytes": ptr("2048"), "min.cleanable.dirty.ratio": ptr("0.01"),
	}
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, configs, topic); err != nil {
		t.Fatal(err)
	}
	for r := range 30 {
		for k := range 10 {
			rec := &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("k%d", k)), Value: []byte(fmt.Sprintf("v%d", r))}
			if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Dynamic broker configs take effect without a restart
// (DynamicBrokerConfig): log.cleaner.backoff.ms set with kafka-configs.sh on
// broker 0 wakes the cleaner that server.properties put to sleep for an
// hour, and so does the cluster default once the per-broker value is
// deleted; DescribeConfigs shows each with its source and synonyms.
// message.max.bytes as cluster default becomes the topics' limit. Keys
// Kafka does not change at runtime are refused with its messages; custom
// keys are stored.
func TestDynamicBrokerConfigsApplyAtRuntime(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, "log.cleaner.backoff.ms=3600000")
	cl := newClient(t, []string{b.addr}, kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1<<20))
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tool := configsTool(ctx, b.addr)

	produceDuplicates(t, ctx, cl, "a")
	if cleanerCheckpointHas(b.logDir, "a") {
		t.Fatal("topic a cleaned before the cleaner's backoff was changed: the test's premise does not hold")
	}
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "log.cleaner.backoff.ms=100"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n" +
				"  log.cleaner.backoff.ms=100 sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleaner.backoff.ms=100, STATIC_BROKER_CONFIG:log.cleaner.backoff.ms=3600000, DEFAULT_CONFIG:log.cleaner.backoff.ms=15000}\n", ""},
	})
	waitFor(t, "the cleaner to wake with broker 0's new backoff and clean topic a", func() bool {
		return cleanerCheckpointHas(b.logDir, "a")
	})

	// The per-broker value wins over the default; deleting it lets the default apply.
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "log.cleaner.backoff.ms=3600000"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "log.cleaner.backoff.ms=100"}, 0,
			"Completed updating default config for brokers in the cluster.\n", ""},
	})
	produceDuplicates(t, ctx, cl, "b")
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--delete-config", "log.cleaner.backoff.ms"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-default", "--describe"}, 0,
			"Default configs for brokers in the cluster are:\n" +
				"  log.cleaner.backoff.ms=100 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.cleaner.backoff.ms=100}\n", ""},
		// ConfigCommand lists a broker's DYNAMIC_BROKER_CONFIG entries only; --all shows the default's.
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n", ""},
	})
	waitFor(t, "the cleaner to wake with the cluster default backoff and clean topic b", func() bool {
		return cleanerCheckpointHas(b.logDir, "b")
	})
	// DescribeConfigs of broker 0: the default's value, sourced DYNAMIC_DEFAULT_BROKER_CONFIG.
	described, err := kadm.NewClient(cl).DescribeBrokerConfigs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := described.On("0", nil)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, c := range rc.Configs {
		if c.Key == "log.cleaner.backoff.ms" {
			found = true
			if c.MaybeValue() != "100" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig {
				t.Fatalf("broker 0 describes log.cleaner.backoff.ms=%s source %v; want 100 from DYNAMIC_DEFAULT_BROKER_CONFIG", c.MaybeValue(), c.Source)
			}
		}
	}
	if !found {
		t.Fatal("broker 0 does not describe log.cleaner.backoff.ms")
	}

	// message.max.bytes (DynamicLogConfig): the default of every topic's max.message.bytes.
	// Topic c has no override, d overrides another key (its overrides are
	// merged over the new default), e overrides max.message.bytes itself.
	for topic, configs := range map[string]map[string]*string{
		"c": nil, "d": {"retention.ms": ptr("3600000")}, "e": {"max.message.bytes": ptr("10000")},
	} {
		if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, configs, topic); err != nil {
			t.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: incompressible(4000)}).FirstErr(); err != nil {
			t.Fatalf("4000-byte record to %s before the change: %v", topic, err)
		}
	}
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "message.max.bytes=2000"}, 0,
			"Completed updating default config for brokers in the cluster.\n", ""},
	})
	for topic, want := range map[string]error{"c": kerr.MessageTooLarge, "d": kerr.MessageTooLarge, "e": nil} {
		err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: incompressible(4000)}).FirstErr()
		if (want == nil && err != nil) || (want != nil && !errors.Is(err, want)) {
			t.Fatalf("4000-byte record to %s with message.max.bytes=2000: got %v, want %v", topic, err, want)
		}
	}

	tcs, err := kadm.NewClient(cl).DescribeTopicConfigs(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range tcs[0].Configs {
		if c.Key == "max.message.bytes" && (c.MaybeValue() != "2000" || c.Source != kmsg.ConfigSourceDynamicDefaultBrokerConfig) {
			t.Fatalf("topic c describes max.message.bytes=%s source %v; want 2000 from DYNAMIC_DEFAULT_BROKER_CONFIG", c.MaybeValue(), c.Source)
		}
	}

	// IncrementalAlterConfigs APPEND on a list key starts from Kafka's
	// default when the entity has no value (prepareIncrementalConfigs).
	adm := kadm.NewClient(cl)
	if resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "log.cleanup.policy", Value: ptr("compact")}}, 0); err != nil || resp[0].Err != nil {
		t.Fatalf("append log.cleanup.policy: %v %v", err, resp)
	}
	if resp, err := adm.AlterBrokerConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "log.cleaner.backoff.ms", Value: ptr("1")}}, 0); err != nil ||
		!errors.Is(resp[0].Err, kerr.InvalidConfig) || resp[0].ErrMessage != "Config value append is not allowed for config key: log.cleaner.backoff.ms" {
		t.Fatalf("append to a LONG key: %v %v", err, resp)
	}
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n" +
				"  log.cleanup.policy=delete,compact sensitive=false synonyms={DYNAMIC_BROKER_CONFIG:log.cleanup.policy=delete,compact, DEFAULT_CONFIG:log.cleanup.policy=delete}\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--delete-config", "log.cleanup.policy"}, 0,
			"Completed updating config for broker 0.\n", ""},
	})

	// Refusals with Kafka's messages, and a custom key stored as given.
	runToolSteps(t, tool, []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "log.retention.hours=1"}, 1,
			"", "Invalid config value for resource ConfigResource(type=BROKER, name=''): Cannot update these configs dynamically: Set(log.retention.hours)\n"},
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "listener.name.plaintext.ssl.keystore.location=/k"}, 1,
			"", "Cannot update these configs at default cluster level, broker id must be specified: Set(listener.name.plaintext.ssl.keystore.location)\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "ssl.keystore.location=/k"}, 1,
			"", "These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.location)\n"},
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "listener.name.plaintext.max.connections=x"}, 1,
			"", "Invalid value x for configuration max.connections: Not a number of type INT\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "listener.name.plaintext.ssl.keystore.password=p"}, 1,
			"", "Password encoder secret not configured\n"},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--alter", "--add-config", "my.custom.key=x"}, 0,
			"Completed updating config for broker 0.\n", ""},
		{[]string{"--entity-type", "brokers", "--entity-name", "0", "--describe"}, 0,
			"Dynamic configs for broker 0 are:\n" +
				"  my.custom.key=null sensitive=true synonyms={DYNAMIC_BROKER_CONFIG:my.custom.key=null}\n", ""},
	})
}

// apiVersionsOK opens a new connection to addr and reports whether an
// ApiVersions request on it is answered.
func apiVersionsOK(ctx context.Context, addr string) bool {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	body := req.AppendTo(nil)
	frame := binary.BigEndian.AppendUint32(nil, uint32(2+2+4+2+len(body)))
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Key()))
	frame = binary.BigEndian.AppendUint16(frame, 0)
	frame = binary.BigEndian.AppendUint32(frame, 1)
	frame = binary.BigEndian.AppendUint16(frame, 0xffff) // null client id
	frame = append(frame, body...)
	if _, err := conn.Write(frame); err != nil {
		return false
	}
	var size [4]byte
	_, err = io.ReadFull(conn, size[:])
	return err == nil
}

// max.connections.per.ip(.overrides) as dynamic broker configs
// (ConnectionQuotas.updateMaxConnectionsPerIp): a new connection from an
// address at its limit is closed at once; existing ones stay.
func TestDynamicMaxConnectionsPerIP(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	b := startBroker(t, connect, 0)
	cl := newClient(t, []string{b.addr})
	waitForBrokers(t, cl, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if !apiVersionsOK(ctx, b.addr) {
		t.Fatal("no answer before any limit")
	}
	runToolSteps(t, configsTool(ctx, b.addr), []toolStep{
		{[]string{"--entity-type", "brokers", "--entity-default", "--alter", "--add-config", "max.connections.per.ip.overrides=127.0.0.1:0"}, 0,
			"Completed updating default config for brokers in the cluster.\n", ""},
	})
	waitFor(t, "new connections from 127.0.0.1 refused", func() bool { return !apiVersionsOK(ctx, b.addr) })
	// The existing client connection is kept.
	if err := cl.Ping(ctx); err != nil {
		t.Fatalf("existing connection: %v", err)
	}
	zc, err := zkmeta.Connect(ctx, connect, 6*time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer zc.Close()
	if err := zc.ChangeEntityConfig("brokers", "<default>", map[string]string{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "new connections accepted again", func() bool { return apiVersionsOK(ctx, b.addr) })
}
