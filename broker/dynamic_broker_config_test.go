package broker

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// DynamicBrokerConfig.validateConfigs: non-dynamic KafkaConfig keys, plain
// security keys, bad values and per-broker keys on the default entity are
// refused with Kafka's messages, in Kafka's order; custom keys pass.
func TestValidateDynamicBrokerConfigs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		props     map[string]string
		perBroker bool
		want      string
	}{
		{"cleaner backoff per broker", map[string]string{"log.cleaner.backoff.ms": "100"}, true, ""},
		{"cleaner backoff default", map[string]string{"log.cleaner.backoff.ms": "100"}, false, ""},
		{"log default", map[string]string{"log.retention.ms": "1000", "log.segment.bytes": "1048576", "log.cleanup.policy": "compact"}, false, ""},
		{"message.max.bytes", map[string]string{"message.max.bytes": "2000"}, false, ""},
		{"thread pool", map[string]string{"num.io.threads": "4", "background.threads": "12"}, true, ""},
		{"max.connections default", map[string]string{"max.connections": "100", "max.connections.per.ip": "10"}, false, ""},
		{"quota keys", map[string]string{"leader.replication.throttled.rate": "10"}, false, ""},
		{"custom key stored", map[string]string{"my.custom.key": "x"}, false, ""},
		{"listener keystore per broker", map[string]string{"listener.name.external.ssl.keystore.location": "/k"}, true, ""},
		{"not dynamic", map[string]string{"log.roll.hours": "1", "socket.request.max.bytes": "10", "log.cleaner.backoff.ms": "1"}, true,
			"Cannot update these configs dynamically: Set(log.roll.hours, socket.request.max.bytes)"},
		{"format version not dynamic", map[string]string{"log.message.format.version": "2.8"}, true,
			"Cannot update these configs dynamically: Set(log.message.format.version)"},
		{"broker.id", map[string]string{"broker.id": "3"}, true, "Cannot update these configs dynamically: Set(broker.id)"},
		{"security without listener prefix", map[string]string{"ssl.keystore.location": "/k"}, true,
			"These security configs can be dynamically updated only per-listener using the listener prefix: Set(ssl.keystore.location)"},
		{"not a long", map[string]string{"log.cleaner.backoff.ms": "soon"}, true,
			"Invalid value soon for configuration log.cleaner.backoff.ms: Not a number of type LONG"},
		{"below minimum", map[string]string{"log.cleaner.backoff.ms": "-1"}, true,
			"Invalid value -1 for configuration log.cleaner.backoff.ms: Value must be at least 0"},
		{"double", map[string]string{"log.cleaner.io.max.bytes.per.second": "x"}, false,
			"Invalid value x for configuration log.cleaner.io.max.bytes.per.second: Not a number of type DOUBLE"},
		{"listener key typed by its base", map[string]string{"listener.name.plaintext.max.connections": "x"}, true,
			"Invalid value x for configuration max.connections: Not a number of type INT"},
		{"listeners at default", map[string]string{"advertised.listeners": "PLAINTEXT://h:1", "log.cleaner.threads": "1"}, false,
			"Cannot update these configs at default cluster level, broker id must be specified: Set(advertised.listeners)"},
		{"listener keystore at default", map[string]string{"listener.name.external.ssl.keystore.location": "/k"}, false,
			"Cannot update these configs at default cluster level, broker id must be specified: Set(listener.name.external.ssl.keystore.location)"},
		{"listener max.connections at default", map[string]string{"listener.name.external.max.connections": "5"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateDynamicBrokerConfigs(tc.props, tc.perBroker)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Precedence: per-broker > cluster default > server.properties.
func TestDynamicBrokerConfigPrecedence(t *testing.T) {
	own := map[string]string{"a": "own"}
	defaults := map[string]string{"a": "default", "b": "default"}
	static := map[string]string{"a": "static", "b": "static", "c": "static"}
	for key, want := range map[string]string{"a": "own", "b": "default", "c": "static"} {
		if v, ok := effectiveValue(key, own, defaults, static); !ok || v != want {
			t.Errorf("%s = %q, %v; want %q", key, v, ok, want)
		}
	}
	if _, ok := effectiveValue("d", own, defaults, static); ok {
		t.Error("unset key found")
	}
}

// LogCleaner / DynamicThreadPool.validateReconfiguration: a thread count
// moves by at most half or double its current value.
func TestDynamicThreadCountBounds(t *testing.T) {
	s := &Server{cfg: Config{StaticConfigs: map[string]string{"num.io.threads": "8"}}}
	for _, tc := range []struct {
		props map[string]string
		ok    bool
	}{
		{map[string]string{"num.io.threads": "4"}, true},
		{map[string]string{"num.io.threads": "16"}, true},
		{map[string]string{"num.io.threads": "3"}, false},
		{map[string]string{"num.io.threads": "17"}, false},
		{map[string]string{"log.cleaner.threads": "2"}, true},
		{map[string]string{"log.cleaner.threads": "3"}, false},
	} {
		err := s.checkReconfiguration(true, tc.props)
		if (err == nil) != tc.ok {
			t.Errorf("%v: err %v, want ok=%v", tc.props, err, tc.ok)
		}
	}
}

// DynamicBrokerConfig.toPersistentProps: password configs only per broker,
// and only with a password encoder secret.
func TestDynamicPasswordConfigs(t *testing.T) {
	s := &Server{cfg: Config{StaticConfigs: map[string]string{}}}
	pw := map[string]string{"listener.name.external.ssl.keystore.password": "p"}
	for _, tc := range []struct {
		props     map[string]string
		perBroker bool
		want      string
	}{
		{pw, false, "Password config can be defined only at broker level"},
		{pw, true, "Password encoder secret not configured"},
		{map[string]string{"listener.name.external.ssl.keystore.location": "/k"}, true, ""},
	} {
		err := s.checkPasswordConfigs(tc.props, tc.perBroker)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v perBroker=%v: got %q, want %q", tc.props, tc.perBroker, got, tc.want)
		}
	}
}

// LogCleaner.cleanerConfig of the current config: dynamic cleaner keys over
// server.properties; a change wakes RunLogCleaner to restart the threads.
func TestLogCleanerConfigFollowsDynamicConfigs(t *testing.T) {
	s := &Server{cfg: Config{LogCleanerThreads: 1, LogCleanerBackoff: time.Hour,
		StaticConfigs: map[string]string{"log.cleaner.backoff.ms": "3600000", "log.cleaner.dedupe.buffer.size": "1048576"}}}
	c := s.logCleanerConfig()
	if c.Threads != 1 || c.Backoff != time.Hour || c.DedupeBufferSize != 1<<20 {
		t.Fatalf("static: %+v", c)
	}
	s.dynamic.set(false, map[string]string{"log.cleaner.backoff.ms": "200", "log.cleaner.threads": "2"})
	s.dynamic.set(true, map[string]string{"log.cleaner.backoff.ms": "100", "log.cleaner.dedupe.buffer.size": "2097152"})
	c = s.logCleanerConfig()
	if c.Threads != 2 || c.Backoff != 100*time.Millisecond || c.DedupeBufferSize != 2<<20 {
		t.Fatalf("dynamic: %+v", c)
	}
	wake := s.dynamic.cleanerReconfigured()
	s.dynamic.wakeCleaner()
	select {
	case <-wake:
	default:
		t.Fatal("wakeCleaner did not close the channel")
	}
}

// ConnectionQuotas' per-address limits and KafkaConfig's rule that
// max.connections.per.ip may be zero only with overrides.
func TestConnectionLimits(t *testing.T) {
	s := &Server{cfg: Config{StaticConfigs: map[string]string{"max.connections.per.ip": "5"}}}
	if got := s.maxConnectionsPerIP("10.0.0.1"); got != 5 {
		t.Fatalf("static per-ip limit: %d", got)
	}
	s.dynamic.set(false, map[string]string{"max.connections.per.ip.overrides": "127.0.0.1:0, ::1 : 2"})
	for ip, want := range map[string]int{"127.0.0.1": 0, "::1": 2, "10.0.0.1": 5} {
		if got := s.maxConnectionsPerIP(ip); got != want {
			t.Errorf("limit for %s = %d, want %d", ip, got, want)
		}
	}
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"max.connections.per.ip": "0"}, ""}, // the default entity's overrides still apply
		{map[string]string{"max.connections.per.ip.overrides": "nohost"}, "Error parsing configuration property 'max.connections.per.ip.overrides': entry \"nohost\" has no count"},
	} {
		err := s.checkReconfiguration(true, tc.props)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.props, got, tc.want)
		}
	}
	if err := s.checkReconfiguration(false, map[string]string{"max.connections.per.ip": "0"}); err == nil ||
		err.Error() != "requirement failed: max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set." {
		t.Errorf("zero without overrides: %v", err)
	}
}

// ConfigHelper.createBrokerConfigEntry / configSynonyms: the value and
// source of the most specific synonym, all synonyms in precedence order;
// the default resource shows only DYNAMIC_DEFAULT_BROKER_CONFIG; custom
// keys are sensitive; read-only unless in AllDynamicConfigs.
func TestDescribeDynamicBrokerConfigSources(t *testing.T) {
	s := &Server{cfg: Config{BrokerID: 0, StaticConfigs: map[string]string{"log.cleaner.backoff.ms": "3600000", "log.roll.hours": "2"}}}
	s.dynamic.set(false, map[string]string{"log.cleaner.backoff.ms": "200", "log.roll.ms": "1000"})
	s.dynamic.set(true, map[string]string{"log.cleaner.backoff.ms": "100", "my.custom": "x"})
	type syn struct {
		name, value string
		source      kmsg.ConfigSource
	}
	for _, tc := range []struct {
		resource, key string
		value         *string
		source        kmsg.ConfigSource
		readOnly      bool
		sensitive     bool
		syns          []syn
	}{
		{"0", "log.cleaner.backoff.ms", kmsg.StringPtr("100"), kmsg.ConfigSourceDynamicBrokerConfig, false, false, []syn{
			{"log.cleaner.backoff.ms", "100", kmsg.ConfigSourceDynamicBrokerConfig},
			{"log.cleaner.backoff.ms", "200", kmsg.ConfigSourceDynamicDefaultBrokerConfig},
			{"log.cleaner.backoff.ms", "3600000", kmsg.ConfigSourceStaticBrokerConfig},
			{"log.cleaner.backoff.ms", "15000", kmsg.ConfigSourceDefaultConfig}}},
		{"0", "log.roll.ms", kmsg.StringPtr("1000"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, false, false, []syn{
			{"log.roll.ms", "1000", kmsg.ConfigSourceDynamicDefaultBrokerConfig},
			{"log.roll.hours", "2", kmsg.ConfigSourceStaticBrokerConfig},
			{"log.roll.hours", "168", kmsg.ConfigSourceDefaultConfig}}},
		{"0", "my.custom", nil, kmsg.ConfigSourceDynamicBrokerConfig, true, true, []syn{
			{"my.custom", "", kmsg.ConfigSourceDynamicBrokerConfig}}},
		{"0", "num.partitions", kmsg.StringPtr("1"), kmsg.ConfigSourceDefaultConfig, true, false, []syn{
			{"num.partitions", "1", kmsg.ConfigSourceDefaultConfig}}},
		{"", "log.cleaner.backoff.ms", kmsg.StringPtr("200"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, false, false, []syn{
			{"log.cleaner.backoff.ms", "200", kmsg.ConfigSourceDynamicDefaultBrokerConfig}}},
	} {
		entries, err := s.brokerConfigEntries(tc.resource, []string{tc.key}, true)
		if err != nil || len(entries) != 1 {
			t.Fatalf("%s/%s: %v %v", tc.resource, tc.key, entries, err)
		}
		e := entries[0]
		if (e.Value == nil) != (tc.value == nil) || (e.Value != nil && *e.Value != *tc.value) || e.Source != tc.source ||
			e.ReadOnly != tc.readOnly || e.IsSensitive != tc.sensitive {
			t.Errorf("%s/%s: value %v source %v readOnly %v sensitive %v", tc.resource, tc.key, e.Value, e.Source, e.ReadOnly, e.IsSensitive)
		}
		var got []syn
		for _, c := range e.ConfigSynonyms {
			v := ""
			if c.Value != nil {
				v = *c.Value
			}
			got = append(got, syn{c.Name, v, c.Source})
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.syns) {
			t.Errorf("%s/%s synonyms:\n got %v\nwant %v", tc.resource, tc.key, got, tc.syns)
		}
	}
}
