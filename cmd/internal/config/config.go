// Package config loads server.properties the way Kafka does: Java-properties
// files with Kafka's key names and defaults, KAFKA_* environment variables and
// --override flags on top, unknown keys warned about, bad values refused with
// an error naming the key.
package config

import (
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"
	"github.com/spf13/viper"

	"github.com/kafkazk/kafkazk/broker"
)

// Load reads the properties file, then the KAFKA_* environment (env is
// os.Environ()-shaped), then the --override key=value pairs, each layer
// overriding the one before, and returns the broker configuration.
func Load(path string, env []string, overrides []string, logger *slog.Logger) (broker.Config, error) {
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))

	if path != "" {
		loader := properties.Loader{Encoding: properties.UTF8, DisableExpansion: true}
		props, err := loader.LoadFile(path)
		if err != nil {
			return broker.Config{}, fmt.Errorf("reading config file %s: %w", path, err)
		}
		fileMap := map[string]any{}
		for k, val := range props.Map() {
			fileMap[k] = val
		}
		if err := v.MergeConfigMap(fileMap); err != nil {
			return broker.Config{}, fmt.Errorf("loading config file %s: %w", path, err)
		}
	}
	envMap := EnvOverrides(env)
	for k, val := range envMap {
		v.Set(k, val)
	}
	for _, o := range overrides {
		k, val, ok := strings.Cut(o, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return broker.Config{}, fmt.Errorf("invalid --override %q: expected key=value", o)
		}
		v.Set(strings.TrimSpace(k), strings.TrimSpace(val))
	}

	settings := map[string]string{}
	for _, k := range v.AllKeys() {
		settings[k] = v.GetString(k)
	}
	c, err := fromSettings(settings, logger)
	if err != nil {
		return c, err
	}
	// The JVM's -Djava.security.auth.login.config in KAFKA_OPTS names the
	// JAAS file SASL listeners fall back to.
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "KAFKA_OPTS="); ok {
			c.JAASConfigFile = broker.JAASFileFromKafkaOpts(v)
		}
	}
	if err := broker.ValidateSASL(c); err != nil {
		return broker.Config{}, err
	}
	return c, nil
}

// nonConfigEnv are KAFKA_* variables that the Kafka start scripts and the
// common container images use for the JVM, logging or the image itself, not
// broker configs: they are ignored without a warning.
var nonConfigEnv = map[string]bool{
	"KAFKA_HEAP_OPTS": true, "KAFKA_OPTS": true, "KAFKA_JVM_PERFORMANCE_OPTS": true,
	"KAFKA_GC_LOG_OPTS": true, "KAFKA_DEBUG": true, "KAFKA_HOME": true,
	"KAFKA_VERSION": true, "KAFKA_CLUSTER_ID": true,
	"KAFKA_TOOLS_LOG4J_LOGLEVEL": true, // cp-kafka
	"KAFKA_LOG_LEVEL":            true, // this broker's own log level
	"KAFKA_BIN":                  true, // this project's tests: the broker binary
}

// nonConfigEnvPrefixes are families of such variables: KAFKA_JMX_OPTS,
// KAFKA_JMX_PORT, KAFKA_JMX_HOSTNAME; KAFKA_LOG4J_OPTS,
// KAFKA_LOG4J_ROOT_LOGLEVEL, KAFKA_LOG4J_LOGGERS.
var nonConfigEnvPrefixes = []string{"KAFKA_JMX_", "KAFKA_LOG4J_"}

// cfgEnvPrefix is the bitnami image's prefix for broker configs
// (KAFKA_CFG_LOG_DIRS is log.dirs); it wins over the plain KAFKA_ form.
const cfgEnvPrefix = "KAFKA_CFG_"

// EnvOverrides maps KAFKA_FOO_BAR=x to foo.bar=x, the convention of the
// common Kafka container images: '_' is '.', '__' is '_', '___' is '-'.
// KAFKA_CFG_FOO_BAR=x (bitnami) does the same and wins over KAFKA_FOO_BAR.
// Variables of the JVM and logging (nonConfigEnv) are skipped.
func EnvOverrides(env []string) map[string]string {
	out := map[string]string{}
	cfg := map[string]string{}
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "KAFKA_") || isNonConfigEnv(name) {
			continue
		}
		dst, rest := out, strings.TrimPrefix(name, "KAFKA_")
		if strings.HasPrefix(name, cfgEnvPrefix) {
			dst, rest = cfg, strings.TrimPrefix(name, cfgEnvPrefix)
		}
		if key := envKey(rest); key != "" {
			dst[key] = val
		}
	}
	for k, v := range cfg {
		out[k] = v
	}
	return out
}

func isNonConfigEnv(name string) bool {
	if nonConfigEnv[name] {
		return true
	}
	for _, p := range nonConfigEnvPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// envKey turns FOO_BAR into foo.bar ('__' is '_', '___' is '-').
func envKey(s string) string {
	key := strings.ToLower(s)
	key = strings.ReplaceAll(key, "___", "\x00")
	key = strings.ReplaceAll(key, "__", "\x01")
	key = strings.ReplaceAll(key, "_", ".")
	key = strings.ReplaceAll(key, "\x01", "_")
	return strings.ReplaceAll(key, "\x00", "-")
}

// fromSettings validates every key and builds the broker config.
func fromSettings(s map[string]string, logger *slog.Logger) (broker.Config, error) {
	var unknown []string
	for k := range s {
		if _, ok := knownKeys[k]; !ok && !knownListenerKey(k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		logger.Warn("unknown configuration key, ignored", "key", k)
	}

	p := parser{s: s}
	c := broker.DefaultConfig()
	c.StaticConfigs = s
	c.BrokerID = p.int32("broker.id", c.BrokerID, -1)
	c.BrokerIDGeneration = p.bool("broker.id.generation.enable", c.BrokerIDGeneration)
	c.ReservedBrokerMaxID = p.int32("reserved.broker.max.id", c.ReservedBrokerMaxID, 0)
	c.Rack = p.str("broker.rack", "")
	c.Listeners = p.list("listeners", c.Listeners)
	c.AdvertisedListeners = p.list("advertised.listeners", nil)
	if len(c.AdvertisedListeners) == 0 {
		c.AdvertisedListeners = c.Listeners
	}
	// log.dirs wins over log.dir, as in Kafka.
	c.LogDirs = p.list("log.dir", c.LogDirs)
	c.LogDirs = p.list("log.dirs", c.LogDirs)
	c.ZooKeeperConnect = p.str("zookeeper.connect", "")
	c.ZooKeeperSession = p.millis("zookeeper.session.timeout.ms", c.ZooKeeperSession, 0)
	c.ZooKeeperConnTimeout = c.ZooKeeperSession
	c.ZooKeeperConnTimeout = p.millis("zookeeper.connection.timeout.ms", c.ZooKeeperConnTimeout, 0)
	c.NumPartitions = p.int32("num.partitions", c.NumPartitions, 1)
	c.DefaultReplicationFactor = int16(p.int32("default.replication.factor", int32(c.DefaultReplicationFactor), 1))
	c.AutoCreateTopics = p.bool("auto.create.topics.enable", c.AutoCreateTopics)
	c.DeleteTopicEnable = p.bool("delete.topic.enable", c.DeleteTopicEnable)
	c.MessageMaxBytes = p.int32("message.max.bytes", c.MessageMaxBytes, 0)
	c.SocketRequestMaxBytes = p.int32("socket.request.max.bytes", c.SocketRequestMaxBytes, 1)
	c.ConnectionsMaxIdleMs = p.int64("connections.max.idle.ms", c.ConnectionsMaxIdleMs, -1<<63)
	c.QueuedMaxRequests = int(p.int32("queued.max.requests", int32(c.QueuedMaxRequests), 1))
	c.QueuedMaxRequestBytes = p.int64("queued.max.request.bytes", c.QueuedMaxRequestBytes, -1<<63)
	// SocketServerConfigs: max.connections is atLeast(0), also in its
	// listener.name.<l>. form (ListenerConnectionQuota).
	p.int32("max.connections", 0, 0)
	for k := range s {
		if strings.HasSuffix(k, ".max.connections") && knownListenerKey(k) {
			p.int32(k, 0, 0)
		}
	}
	c.MinInsyncReplicas = p.int32("min.insync.replicas", c.MinInsyncReplicas, 1)
	c.Storage = p.logConfig()
	c.RetentionCheckInterval = p.millis("log.retention.check.interval.ms", c.RetentionCheckInterval, 1)
	c.LogCleanerEnable = p.bool("log.cleaner.enable", c.LogCleanerEnable)
	c.LogCleanerThreads = int(p.int32("log.cleaner.threads", int32(c.LogCleanerThreads), 0))
	c.LogCleanerBackoff = p.millis("log.cleaner.backoff.ms", c.LogCleanerBackoff, 0)
	c.FlushOffsetCheckpointInterval = time.Duration(p.int32("log.flush.offset.checkpoint.interval.ms",
		int32(c.FlushOffsetCheckpointInterval.Milliseconds()), 0)) * time.Millisecond
	c.ReplicaLagTimeMax = p.millis("replica.lag.time.max.ms", c.ReplicaLagTimeMax, 1)
	c.NumReplicaFetchers = int(p.int32("num.replica.fetchers", int32(c.NumReplicaFetchers), 1))
	c.ReplicaFetchMaxBytes = p.int32("replica.fetch.max.bytes", c.ReplicaFetchMaxBytes, 0)
	c.ReplicaFetchWaitMax = time.Duration(p.int32("replica.fetch.wait.max.ms", int32(c.ReplicaFetchWaitMax.Milliseconds()), 0)) * time.Millisecond
	c.ReplicaSocketTimeout = time.Duration(p.int32("replica.socket.timeout.ms", int32(c.ReplicaSocketTimeout.Milliseconds()), 1)) * time.Millisecond
	c.UncleanLeaderElectionEnable = p.bool("unclean.leader.election.enable", c.UncleanLeaderElectionEnable)
	c.AutoLeaderRebalanceEnable = p.bool("auto.leader.rebalance.enable", c.AutoLeaderRebalanceEnable)
	c.LeaderImbalanceCheckInterval = time.Duration(p.int64("leader.imbalance.check.interval.seconds",
		int64(c.LeaderImbalanceCheckInterval/time.Second), 1)) * time.Second
	c.LeaderImbalancePerBrokerPercentage = int(p.int32("leader.imbalance.per.broker.percentage", int32(c.LeaderImbalancePerBrokerPercentage), 0))
	c.ControlledShutdownEnable = p.bool("controlled.shutdown.enable", c.ControlledShutdownEnable)
	c.ControlledShutdownMaxRetries = int(p.int32("controlled.shutdown.max.retries", int32(c.ControlledShutdownMaxRetries), 0))
	c.ControlledShutdownRetryBackoff = p.millis("controlled.shutdown.retry.backoff.ms", c.ControlledShutdownRetryBackoff, 0)
	p.groupConfig(&c)
	p.txnConfig(&c)
	// Every other known key is type-checked even when the broker does not act on it yet.
	for k, kind := range knownKeys {
		if _, ok := s[k]; ok {
			p.check(k, kind)
		}
	}
	if p.err != nil {
		return broker.Config{}, p.err
	}
	// KafkaConfig.validateValues: a memory pool must hold the largest request.
	if c.QueuedMaxRequestBytes > 0 && c.QueuedMaxRequestBytes < int64(c.SocketRequestMaxBytes) {
		return broker.Config{}, fmt.Errorf("requirement failed: queued.max.request.bytes must be larger or equal to socket.request.max.bytes")
	}
	if c.ZooKeeperConnect == "" {
		return broker.Config{}, fmt.Errorf("missing required configuration \"zookeeper.connect\" which has no default value")
	}
	// Kafka: broker.id is -1 (generated) or within [0, reserved.broker.max.id].
	if c.BrokerID > c.ReservedBrokerMaxID {
		return broker.Config{}, fmt.Errorf("invalid value %d for configuration broker.id: must not be greater than reserved.broker.max.id (%d)", c.BrokerID, c.ReservedBrokerMaxID)
	}
	if c.BrokerID < 0 && !c.BrokerIDGeneration {
		return broker.Config{}, fmt.Errorf("invalid value %d for configuration broker.id: set a broker id or enable broker.id.generation.enable", c.BrokerID)
	}
	if err := resolveListeners(s, &c); err != nil {
		return broker.Config{}, err
	}
	if err := sslConfig(s, &c); err != nil { // ssl.go
		return broker.Config{}, err
	}
	return c, nil
}

// knownListenerKey reports whether k is listener.name.<listener>.<key> for
// a known key: Kafka takes listener-prefixed configs for any listener.
func knownListenerKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "listener.name.")
	if !ok {
		return false
	}
	_, key, ok := strings.Cut(rest, ".")
	if !ok {
		return false
	}
	if _, known := knownKeys[key]; known {
		return true
	}
	// listener.name.<l>.<mechanism>.sasl.jaas.config and
	// .connections.max.reauth.ms (ListenerName.saslMechanismPrefix).
	mech, key, ok := strings.Cut(key, ".")
	switch mech {
	case "plain", "scram-sha-256", "scram-sha-512", "gssapi", "oauthbearer":
		return ok && (key == "sasl.jaas.config" || key == "connections.max.reauth.ms")
	}
	return false
}

type parser struct {
	s   map[string]string
	err error
}

func (p *parser) fail(key, val, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("invalid value %q for configuration %s: %s", val, key, why)
	}
}

func (p *parser) str(key, def string) string {
	if v, ok := p.s[key]; ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (p *parser) list(key string, def []string) []string {
	v, ok := p.s[key]
	if !ok {
		return def
	}
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) int64(key string, def, min int64) int64 {
	v, ok := p.s[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		p.fail(key, v, "expected a number")
		return def
	}
	if n < min {
		p.fail(key, v, fmt.Sprintf("value must be at least %d", min))
		return def
	}
	return n
}

func (p *parser) int32(key string, def, min int32) int32 {
	v, ok := p.s[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if err != nil {
		p.fail(key, v, "expected a 32-bit integer")
		return def
	}
	if int32(n) < min {
		p.fail(key, v, fmt.Sprintf("value must be at least %d", min))
		return def
	}
	return int32(n)
}

func (p *parser) millis(key string, def time.Duration, min int64) time.Duration {
	return time.Duration(p.int64(key, def.Milliseconds(), min)) * time.Millisecond
}

func (p *parser) bool(key string, def bool) bool {
	v, ok := p.s[key]
	if !ok {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true
	case "false":
		return false
	}
	p.fail(key, v, "expected true or false")
	return def
}

func (p *parser) check(key string, k kind) {
	switch k {
	case kInt:
		p.int32(key, 0, -1<<31)
	case kLong:
		p.int64(key, 0, -1<<63)
	case kBool:
		p.bool(key, false)
	case kDouble:
		v := p.s[key]
		if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil {
			p.fail(key, v, "expected a number")
		}
	}
}
