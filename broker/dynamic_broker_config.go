package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// Dynamic broker configs as Kafka's DynamicBrokerConfig has them in
// ZooKeeper mode: /config/brokers/<id> (per broker) over
// /config/brokers/<default> (cluster default) over server.properties over
// Kafka's defaults. Which keys may be set, and where, follows
// DynamicBrokerConfig.AllDynamicConfigs and validateConfigs; keys that are
// not KafkaConfig keys at all are custom configs, stored as given.

// dynamicSecurityKeys is DynamicSecurityConfigs (SslConfigs.RECONFIGURABLE_CONFIGS):
// dynamic only with a listener prefix (listener.name.<l>.<key>).
var dynamicSecurityKeys = []string{
	"ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
	"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
	"ssl.keystore.certificate.chain", "ssl.keystore.key", "ssl.truststore.certificates",
}

// listenerDynamicKeys is DynamicListenerConfig.ReconfigurableConfigs.
var listenerDynamicKeys = []string{
	"advertised.listeners", "listeners", "listener.security.protocol.map",
	"principal.builder.class", "ssl.protocol", "ssl.provider", "ssl.cipher.suites", "ssl.enabled.protocols",
	"ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.password", "ssl.key.password",
	"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password",
	"ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.endpoint.identification.algorithm",
	"ssl.secure.random.implementation", "ssl.client.auth", "ssl.engine.factory.class",
	"sasl.mechanism.inter.broker.protocol", "sasl.jaas.config", "sasl.enabled.mechanisms",
	"sasl.kerberos.service.name", "sasl.kerberos.kinit.cmd", "sasl.kerberos.ticket.renew.window.factor",
	"sasl.kerberos.ticket.renew.jitter", "sasl.kerberos.min.time.before.relogin",
	"sasl.kerberos.principal.to.local.rules", "sasl.login.refresh.window.factor",
	"sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds",
	"sasl.login.refresh.buffer.seconds",
	"max.connections", "max.connection.creation.rate", "num.network.threads",
}

// clusterLevelListenerKeys is ClusterLevelListenerConfigs: listener keys
// that may also be set as cluster default.
var clusterLevelListenerKeys = []string{"max.connections", "max.connection.creation.rate", "num.network.threads"}

// logCleanerDynamicKeys is LogCleaner.ReconfigurableConfigs.
var logCleanerDynamicKeys = []string{
	"log.cleaner.threads", "log.cleaner.dedupe.buffer.size", "log.cleaner.io.buffer.load.factor",
	"log.cleaner.io.buffer.size", "message.max.bytes", "log.cleaner.io.max.bytes.per.second",
	"log.cleaner.backoff.ms",
}

// threadPoolDynamicKeys is DynamicThreadPool.ReconfigurableConfigs.
var threadPoolDynamicKeys = []string{"num.io.threads", "num.replica.fetchers", "num.recovery.threads.per.data.dir", "background.threads"}

// otherDynamicKeys: metric.reporters, SocketServer.ReconfigurableConfigs,
// DynamicProducerStateManagerConfig and DynamicRemoteLogConfig.
var otherDynamicKeys = []string{
	"metric.reporters",
	"max.connections.per.ip", "max.connections.per.ip.overrides", "max.connections", "max.connection.creation.rate",
	"producer.id.expiration.ms", "transaction.partition.verification.enable",
	"remote.log.index.file.cache.total.size.bytes", "remote.fetch.max.wait.ms",
	"remote.log.manager.copy.max.bytes.per.second", "remote.log.manager.fetch.max.bytes.per.second",
	// log defaults (DynamicLogConfig) whose topic configs storage lacks yet
	"compression.gzip.level", "compression.lz4.level", "compression.zstd.level",
}

// logDefaultDynamicKeys is DynamicLogConfig.ReconfigurableConfigs: the first
// broker synonym of each topic config (ServerTopicConfigSynonyms) but
// log.message.format.version, mapped to its topic config. Setting one
// changes the default of every topic without an override of its own.
func logDefaultDynamicKeys() map[string]string {
	out := map[string]string{}
	for topicKey, k := range topicConfigKeys {
		if k.synonym == "" || k.synonym == "log.message.format.version" {
			continue
		}
		if first := brokerConfigSynonyms(k.synonym)[0]; first == k.synonym {
			out[k.synonym] = topicKey
		}
	}
	return out
}

var logDefaultKeys = logDefaultDynamicKeys()

// allDynamicBrokerKeys is AllDynamicConfigs plus the broker quota keys of
// DynamicConfig.Broker (QuotaConfigs.brokerQuotaConfigs).
var allDynamicBrokerKeys = func() map[string]bool {
	out := map[string]bool{}
	for _, set := range [][]string{dynamicSecurityKeys, listenerDynamicKeys, logCleanerDynamicKeys,
		threadPoolDynamicKeys, otherDynamicKeys, dynamicBrokerKeys} {
		for _, k := range set {
			out[k] = true
		}
	}
	for k := range logDefaultKeys {
		out[k] = true
	}
	return out
}()

// perBrokerOnlyKeys is PerBrokerConfigs: security and listener keys, less
// the cluster-level listener keys.
var perBrokerOnlyKeys = func() map[string]bool {
	out := map[string]bool{}
	for _, k := range append(append([]string{}, dynamicSecurityKeys...), listenerDynamicKeys...) {
		out[k] = true
	}
	for _, k := range clusterLevelListenerKeys {
		delete(out, k)
	}
	return out
}()

// listenerKeyPattern is DynamicBrokerConfig.ListenerConfigRegex.
var listenerKeyPattern = regexp.MustCompile(`^listener\.name\.[^.]*\.(.*)$`)

// dynamicKeyType is a dynamic key's ConfigDef type and lower bound.
type dynamicKeyType struct {
	typ     kmsg.ConfigType
	atLeast *float64
}

func atLeast(t kmsg.ConfigType, min float64) dynamicKeyType {
	return dynamicKeyType{typ: t, atLeast: &min}
}

// dynamicKeyTypes are the types DynamicConfig.Broker.validate parses the
// dynamic keys with (KafkaConfig's definitions); log.* defaults take their
// topic config's rules.
var dynamicKeyTypes = map[string]dynamicKeyType{
	leaderThrottledRateKey:                          atLeast(kmsg.ConfigTypeLong, 0),
	followerThrottledRateKey:                        atLeast(kmsg.ConfigTypeLong, 0),
	alterLogDirsRateKey:                             atLeast(kmsg.ConfigTypeLong, 0),
	"log.cleaner.threads":                           atLeast(kmsg.ConfigTypeInt, 0),
	"log.cleaner.dedupe.buffer.size":                {typ: kmsg.ConfigTypeLong},
	"log.cleaner.io.buffer.load.factor":             {typ: kmsg.ConfigTypeDouble},
	"log.cleaner.io.buffer.size":                    atLeast(kmsg.ConfigTypeInt, 0),
	"log.cleaner.io.max.bytes.per.second":           {typ: kmsg.ConfigTypeDouble},
	"log.cleaner.backoff.ms":                        atLeast(kmsg.ConfigTypeLong, 0),
	"num.io.threads":                                atLeast(kmsg.ConfigTypeInt, 1),
	"num.replica.fetchers":                          {typ: kmsg.ConfigTypeInt},
	"num.recovery.threads.per.data.dir":             atLeast(kmsg.ConfigTypeInt, 1),
	"background.threads":                            atLeast(kmsg.ConfigTypeInt, 1),
	"num.network.threads":                           atLeast(kmsg.ConfigTypeInt, 1),
	"max.connections":                               atLeast(kmsg.ConfigTypeInt, 0),
	"max.connection.creation.rate":                  atLeast(kmsg.ConfigTypeInt, 0),
	"max.connections.per.ip":                        atLeast(kmsg.ConfigTypeInt, 0),
	"producer.id.expiration.ms":                     atLeast(kmsg.ConfigTypeInt, 1),
	"transaction.partition.verification.enable":     {typ: kmsg.ConfigTypeBoolean},
	"remote.log.index.file.cache.total.size.bytes":  atLeast(kmsg.ConfigTypeLong, 1),
	"remote.fetch.max.wait.ms":                      atLeast(kmsg.ConfigTypeInt, 1),
	"remote.log.manager.copy.max.bytes.per.second":  atLeast(kmsg.ConfigTypeLong, 1),
	"remote.log.manager.fetch.max.bytes.per.second": atLeast(kmsg.ConfigTypeLong, 1),
	"compression.gzip.level":                        {typ: kmsg.ConfigTypeInt},
	"compression.lz4.level":                         {typ: kmsg.ConfigTypeInt},
	"compression.zstd.level":                        {typ: kmsg.ConfigTypeInt},
	"max.connections.per.ip.overrides":              {typ: kmsg.ConfigTypeString},
	"metric.reporters":                              {typ: kmsg.ConfigTypeList},
	// SocketServerConfigs and BrokerSecurityConfigs.CONFIG_DEF: the
	// listener, SSL and SASL keys (PASSWORD ones are described masked).
	"listener.security.protocol.map":           {typ: kmsg.ConfigTypeString},
	"principal.builder.class":                  {typ: kmsg.ConfigTypeClass},
	"sasl.enabled.mechanisms":                  {typ: kmsg.ConfigTypeList},
	"sasl.jaas.config":                         {typ: kmsg.ConfigTypePassword},
	"sasl.kerberos.kinit.cmd":                  {typ: kmsg.ConfigTypeString},
	"sasl.kerberos.min.time.before.relogin":    {typ: kmsg.ConfigTypeLong},
	"sasl.kerberos.principal.to.local.rules":   {typ: kmsg.ConfigTypeList},
	"sasl.kerberos.service.name":               {typ: kmsg.ConfigTypeString},
	"sasl.kerberos.ticket.renew.jitter":        {typ: kmsg.ConfigTypeDouble},
	"sasl.kerberos.ticket.renew.window.factor": {typ: kmsg.ConfigTypeDouble},
	"sasl.login.refresh.buffer.seconds":        {typ: kmsg.ConfigTypeShort},
	"sasl.login.refresh.min.period.seconds":    {typ: kmsg.ConfigTypeShort},
	"sasl.login.refresh.window.factor":         {typ: kmsg.ConfigTypeDouble},
	"sasl.login.refresh.window.jitter":         {typ: kmsg.ConfigTypeDouble},
	"sasl.mechanism.inter.broker.protocol":     {typ: kmsg.ConfigTypeString},
	"ssl.cipher.suites":                        {typ: kmsg.ConfigTypeList},
	"ssl.client.auth":                          {typ: kmsg.ConfigTypeString},
	"ssl.enabled.protocols":                    {typ: kmsg.ConfigTypeList},
	"ssl.endpoint.identification.algorithm":    {typ: kmsg.ConfigTypeString},
	"ssl.engine.factory.class":                 {typ: kmsg.ConfigTypeClass},
	"ssl.key.password":                         {typ: kmsg.ConfigTypePassword},
	"ssl.keymanager.algorithm":                 {typ: kmsg.ConfigTypeString},
	"ssl.keystore.certificate.chain":           {typ: kmsg.ConfigTypePassword},
	"ssl.keystore.key":                         {typ: kmsg.ConfigTypePassword},
	"ssl.keystore.location":                    {typ: kmsg.ConfigTypeString},
	"ssl.keystore.password":                    {typ: kmsg.ConfigTypePassword},
	"ssl.keystore.type":                        {typ: kmsg.ConfigTypeString},
	"ssl.protocol":                             {typ: kmsg.ConfigTypeString},
	"ssl.provider":                             {typ: kmsg.ConfigTypeString},
	"ssl.secure.random.implementation":         {typ: kmsg.ConfigTypeString},
	"ssl.trustmanager.algorithm":               {typ: kmsg.ConfigTypeString},
	"ssl.truststore.certificates":              {typ: kmsg.ConfigTypePassword},
	"ssl.truststore.location":                  {typ: kmsg.ConfigTypeString},
	"ssl.truststore.password":                  {typ: kmsg.ConfigTypePassword},
	"ssl.truststore.type":                      {typ: kmsg.ConfigTypeString},
}

// scalaSet prints names as Scala prints a Set of them (sorted here).
func scalaSet(names []string) string {
	sort.Strings(names)
	return "Set(" + strings.Join(names, ", ") + ")"
}

// validateDynamicBrokerConfigs is DynamicBrokerConfig.validateConfigs for
// the complete config of one entity (perBroker: /config/brokers/<id>, else
// the cluster default): KafkaConfig keys that are not dynamic, security
// keys without a listener prefix, values of the wrong type, and per-broker
// keys on the default entity are refused, in that order; any other key is
// a custom config and is stored as given.
func validateDynamicBrokerConfigs(props map[string]string, perBroker bool) error {
	names := sortedKeys(props)
	var bad []string
	for _, k := range names {
		if kafkaConfigNames[k] && !allDynamicBrokerKeys[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("Cannot update these configs dynamically: %s", scalaSet(bad))
	}
	for _, k := range names {
		for _, sec := range dynamicSecurityKeys {
			if k == sec {
				bad = append(bad, k)
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("These security configs can be dynamically updated only per-listener using the listener prefix: %s", scalaSet(bad))
	}
	for _, k := range names {
		base := k
		if m := listenerKeyPattern.FindStringSubmatch(k); m != nil {
			base = m[1]
		}
		if err := checkDynamicValue(base, props[k]); err != nil {
			return err
		}
	}
	if !perBroker {
		for _, k := range names {
			if perBrokerOnlyKeys[k] {
				bad = append(bad, k)
			} else if m := listenerKeyPattern.FindStringSubmatch(k); m != nil && !slices.Contains(clusterLevelListenerKeys, m[1]) {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("Cannot update these configs at default cluster level, broker id must be specified: %s", scalaSet(bad))
		}
	}
	return nil
}

// checkDynamicValue parses v as ConfigDef does for key (Kafka's messages).
func checkDynamicValue(key, v string) error {
	t, ok := dynamicKeyTypes[key]
	if !ok {
		topicKey, isLog := logDefaultKeys[key]
		if !isLog {
			return nil // custom, or a string/list/class key
		}
		if err := checkType(topicConfigKeys[topicKey].typ, v); err != nil {
			return fmt.Errorf("Invalid value %s for configuration %s: %w", strings.TrimSpace(v), key, err)
		}
		if _, err := validateTopicConfigs(storage.DefaultLogConfig(), map[string]string{topicKey: v}); err != nil {
			// The topic key's reason, under the broker key's name.
			if reason := errors.Unwrap(err); reason != nil {
				err = reason
			}
			return fmt.Errorf("Invalid value %s for configuration %s: %w", strings.TrimSpace(v), key, err)
		}
		return nil
	}
	v = strings.TrimSpace(v)
	if err := checkType(t.typ, v); err != nil {
		return fmt.Errorf("Invalid value %s for configuration %s: %w", v, key, err)
	}
	if t.atLeast != nil {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f < *t.atLeast {
			return fmt.Errorf("Invalid value %s for configuration %s: Value must be at least %s", v, key, strconv.FormatFloat(*t.atLeast, 'f', -1, 64))
		}
	}
	return nil
}

// dynamicPasswordKeys are the dynamic keys of type PASSWORD
// (DynamicBrokerConfig.DynamicPasswordConfigs); a key ending with one of
// them is a password config (isPasswordConfig).
var dynamicPasswordKeys = []string{
	"ssl.keystore.password", "ssl.key.password", "ssl.truststore.password", "sasl.jaas.config",
	"ssl.keystore.key", "ssl.keystore.certificate.chain", "ssl.truststore.certificates",
}

// checkPasswordConfigs is DynamicBrokerConfig.toPersistentProps: a password
// config is stored encrypted with password.encoder.secret, per broker only.
// This broker has no password encoder yet, so it stores none: without the
// secret it answers as Kafka does, with the secret it refuses too rather
// than write the password in clear.
func (s *Server) checkPasswordConfigs(props map[string]string, perBroker bool) error {
	for _, k := range sortedKeys(props) {
		for _, p := range dynamicPasswordKeys {
			if !strings.HasSuffix(k, p) {
				continue
			}
			if !perBroker {
				return fmt.Errorf("Password config can be defined only at broker level")
			}
			if _, ok := s.cfg.StaticConfigs["password.encoder.secret"]; !ok {
				return fmt.Errorf("Password encoder secret not configured")
			}
			return fmt.Errorf("Password configs cannot be stored by this broker yet: %s", k)
		}
	}
	return nil
}

// dynamicThreadKeys are the thread counts Kafka lets change by at most a
// factor of two at a time (DynamicThreadPool.validateReconfiguration,
// LogCleaner.validateReconfiguration), with their Kafka defaults.
var dynamicThreadKeys = map[string]int64{
	"num.io.threads": 8, "num.replica.fetchers": 1, "num.recovery.threads.per.data.dir": 1,
	"background.threads": 10, "log.cleaner.threads": 1,
}

// brokerDynamicConfigs is this broker's view of /config/brokers: its own
// entity and the cluster default, as last read.
type brokerDynamicConfigs struct {
	// refreshMu serialises a re-read of /config/brokers with its apply, so
	// an older read never overwrites a newer one.
	refreshMu sync.Mutex
	// appliedLog is the log.* overrides last applied to storage.
	appliedLog map[string]string

	mu        sync.Mutex
	perBroker map[string]string
	defaults  map[string]string
	// cleanerWake is closed (and replaced) when the cleaner's config
	// changes: RunLogCleaner restarts the threads.
	cleanerWake chan struct{}
	// changed is closed (and replaced) at every set: an acceptor waiting
	// for a connection slot re-reads max.connections (Kafka's
	// updateBrokerMaxConnections notifies the waiters).
	changed chan struct{}
}

// reconfigured returns the channel closed at the next set.
func (d *brokerDynamicConfigs) reconfigured() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return signalChan(&d.changed)
}

// cleanerReconfigured returns the channel closed at the next change of the
// cleaner's config.
func (d *brokerDynamicConfigs) cleanerReconfigured() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return signalChan(&d.cleanerWake)
}

// wakeCleaner closes the current wake channel.
func (d *brokerDynamicConfigs) wakeCleaner() {
	d.mu.Lock()
	defer d.mu.Unlock()
	closeSignal(&d.cleanerWake)
}

func (d *brokerDynamicConfigs) set(perBroker bool, props map[string]string) {
	clean := make(map[string]string, len(props))
	for k, v := range props {
		clean[k] = strings.TrimSpace(v)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if perBroker {
		d.perBroker = clean
	} else {
		d.defaults = clean
	}
	closeSignal(&d.changed)
}

// signalChan returns *ch, made when there is none: the channel the next
// closeSignal(ch) closes. The caller holds the lock guarding *ch.
func signalChan(ch *chan struct{}) <-chan struct{} {
	if *ch == nil {
		*ch = make(chan struct{})
	}
	return *ch
}

// closeSignal closes *ch, if made, for everyone waiting on it; the next
// signalChan makes a new one. The caller holds the lock guarding *ch.
func closeSignal(ch *chan struct{}) {
	if *ch != nil {
		close(*ch)
		*ch = nil
	}
}

func (d *brokerDynamicConfigs) snapshot() (perBroker, defaults map[string]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.perBroker), maps.Clone(d.defaults)
}

// effectiveBrokerConfig is the value of a broker key with Kafka's
// precedence: this broker's dynamic config, the cluster default, then
// server.properties; ok is false when none sets it.
func (s *Server) effectiveBrokerConfig(key string) (string, bool) {
	own, defaults := s.dynamic.snapshot()
	return effectiveValue(key, own, defaults, s.cfg.StaticConfigs)
}

func effectiveValue(key string, own, defaults, static map[string]string) (string, bool) {
	for _, m := range []map[string]string{own, defaults, static} {
		if v, ok := m[key]; ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// checkReconfiguration is the reconfigurables' validateReconfiguration for
// the entity's new config: a thread count may change by at most half or
// double its current value. Kafka wraps these refusals as "Invalid
// dynamic configuration".
func (s *Server) checkReconfiguration(perBroker bool, props map[string]string) error {
	own, defaults := s.dynamic.snapshot()
	newOwn, newDefaults := own, defaults
	if perBroker {
		newOwn = props
	} else {
		newDefaults = props
	}
	perIP, perIPSet := effectiveValue("max.connections.per.ip", newOwn, newDefaults, s.cfg.StaticConfigs)
	overrides, _ := effectiveValue("max.connections.per.ip.overrides", newOwn, newDefaults, s.cfg.StaticConfigs)
	if err := checkConnectionLimits(perIP, perIPSet, overrides); err != nil {
		return err
	}
	for key, kafkaDefault := range dynamicThreadKeys {
		current := threadCount(key, kafkaDefault, own, defaults, s.cfg.StaticConfigs)
		next := threadCount(key, kafkaDefault, newOwn, newDefaults, s.cfg.StaticConfigs)
		if next == current {
			continue
		}
		if next < 1 || next < current/2 || next > current*2 {
			return fmt.Errorf("Invalid dynamic configuration")
		}
	}
	return nil
}

func threadCount(key string, kafkaDefault int64, own, defaults, static map[string]string) int64 {
	if v, ok := effectiveValue(key, own, defaults, static); ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil {
			return n
		}
	}
	return kafkaDefault
}

// logCleanerConfig is LogCleaner.cleanerConfig of the current config: the
// cleaner keys with Kafka's precedence (per broker, default, static),
// Kafka's defaults otherwise. log.cleaner.io.buffer.size and
// log.cleaner.io.max.bytes.per.second are stored but have no effect here.
func (s *Server) logCleanerConfig() storage.CleanerConfig {
	own, defaults := s.dynamic.snapshot()
	c := storage.DefaultCleanerConfig()
	c.Threads, c.Backoff = s.cfg.LogCleanerThreads, s.cfg.LogCleanerBackoff
	value := func(key string) (string, bool) { return effectiveValue(key, own, defaults, nil) }
	if v, ok := value("log.cleaner.threads"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.Threads = n
		}
	}
	if v, ok := value("log.cleaner.backoff.ms"); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			c.Backoff = time.Duration(n) * time.Millisecond
		}
	}
	if v, ok := effectiveValue("log.cleaner.dedupe.buffer.size", own, defaults, s.cfg.StaticConfigs); ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			c.DedupeBufferSize = n
		}
	}
	if v, ok := effectiveValue("log.cleaner.io.buffer.load.factor", own, defaults, s.cfg.StaticConfigs); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
			c.DedupeBufferLoadFactor = f
		}
	}
	return c
}

// RunLogCleaner runs the log cleaner threads until ctx ends and, as
// LogCleaner.reconfigure does, stops them and starts new ones whenever a
// dynamic broker config changes the cleaner's config (log.cleaner.threads,
// log.cleaner.backoff.ms, log.cleaner.dedupe.buffer.size,
// log.cleaner.io.buffer.load.factor). A cleaning in progress is aborted
// and picked up again by the new threads.
func (s *Server) RunLogCleaner(ctx context.Context) {
	for ctx.Err() == nil {
		changed := s.dynamic.cleanerReconfigured()
		cfg := s.logCleanerConfig()
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.logs.RunCleanerWith(runCtx, cfg)
		}()
		select {
		case <-ctx.Done():
		case <-changed:
			s.logger.Info("log cleaner reconfigured", "threads", cfg.Threads, "backoff", cfg.Backoff)
		}
		stop()
		<-done
	}
}

// applyDynamicLogDefaults makes the dynamic log.* keys (and
// message.max.bytes) the topic defaults of this broker's logs:
// server.properties' log config with the dynamic keys over it
// (LogManager.reconfigureDefaultLogConfig); topics with overrides of their
// own get them merged over the new default again. An invalid stored value
// is skipped, as DynamicBrokerConfig.removeInvalidConfigs does.
func (s *Server) applyDynamicLogDefaults() {
	if s.logs == nil {
		return
	}
	own, defaults := s.dynamic.snapshot()
	overrides := map[string]string{}
	for brokerKey, topicKey := range logDefaultKeys {
		if v, ok := effectiveValue(brokerKey, own, defaults, nil); ok {
			if _, err := validateTopicConfigs(s.cfg.Storage, map[string]string{topicKey: v}); err != nil {
				s.logger.Warn("invalid dynamic broker config ignored", "key", brokerKey, "value", v, "err", err)
				continue
			}
			overrides[topicKey] = v
		}
	}
	if maps.Equal(overrides, s.dynamic.appliedLog) {
		return // unchanged (refreshBrokerConfig holds refreshMu)
	}
	c, err := s.cfg.Storage.WithOverrides(overrides)
	if err != nil {
		s.logger.Warn("applying dynamic log defaults failed", "err", err)
		return
	}
	s.dynamic.appliedLog = overrides
	s.logger.Info("dynamic log defaults applied", "overrides", overrides)
	for _, topic := range s.logs.SetDefaultConfig(c) {
		if err := s.replicas.refreshTopicConfig(topic); err != nil {
			s.logger.Warn("re-applying topic config over new log defaults failed", "topic", topic, "err", err)
		}
	}
}
