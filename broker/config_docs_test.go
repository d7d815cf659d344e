package broker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// kafka39TopicConfigTypes is the ConfigDef.Type of every topic config of
// Kafka 3.9's LogConfig.CONFIG (storage/.../LogConfig.java), as
// ConfigHelper.configResponseType reports it.
var kafka39TopicConfigTypes = map[string]kmsg.ConfigType{
	"cleanup.policy":                          kmsg.ConfigTypeList,
	"compression.gzip.level":                  kmsg.ConfigTypeInt,
	"compression.lz4.level":                   kmsg.ConfigTypeInt,
	"compression.type":                        kmsg.ConfigTypeString,
	"compression.zstd.level":                  kmsg.ConfigTypeInt,
	"delete.retention.ms":                     kmsg.ConfigTypeLong,
	"file.delete.delay.ms":                    kmsg.ConfigTypeLong,
	"flush.messages":                          kmsg.ConfigTypeLong,
	"flush.ms":                                kmsg.ConfigTypeLong,
	"follower.replication.throttled.replicas": kmsg.ConfigTypeList,
	"index.interval.bytes":                    kmsg.ConfigTypeInt,
	"leader.replication.throttled.replicas":   kmsg.ConfigTypeList,
	"local.retention.bytes":                   kmsg.ConfigTypeLong,
	"local.retention.ms":                      kmsg.ConfigTypeLong,
	"max.compaction.lag.ms":                   kmsg.ConfigTypeLong,
	"max.message.bytes":                       kmsg.ConfigTypeInt,
	"message.downconversion.enable":           kmsg.ConfigTypeBoolean,
	"message.format.version":                  kmsg.ConfigTypeString,
	"message.timestamp.after.max.ms":          kmsg.ConfigTypeLong,
	"message.timestamp.before.max.ms":         kmsg.ConfigTypeLong,
	"message.timestamp.difference.max.ms":     kmsg.ConfigTypeLong,
	"message.timestamp.type":                  kmsg.ConfigTypeString,
	"min.cleanable.dirty.ratio":               kmsg.ConfigTypeDouble,
	"min.compaction.lag.ms":                   kmsg.ConfigTypeLong,
	"min.insync.replicas":                     kmsg.ConfigTypeInt,
	"preallocate":                             kmsg.ConfigTypeBoolean,
	"remote.log.copy.disable":                 kmsg.ConfigTypeBoolean,
	"remote.log.delete.on.disable":            kmsg.ConfigTypeBoolean,
	"remote.storage.enable":                   kmsg.ConfigTypeBoolean,
	"retention.bytes":                         kmsg.ConfigTypeLong,
	"retention.ms":                            kmsg.ConfigTypeLong,
	"segment.bytes":                           kmsg.ConfigTypeInt,
	"segment.index.bytes":                     kmsg.ConfigTypeInt,
	"segment.jitter.ms":                       kmsg.ConfigTypeLong,
	"segment.ms":                              kmsg.ConfigTypeLong,
	"unclean.leader.election.enable":          kmsg.ConfigTypeBoolean,
}

// kafka39BrokerConfigTypes is the ConfigDef.Type Kafka 3.9 reports for the
// broker keys (KafkaConfig.configType: KafkaConfig.configDef, then
// DynamicConfig.Broker for the replication quota rates). Sources:
// ServerConfigs, ServerLogConfigs, LogConfig.SERVER_CONFIG_DEF,
// CleanerConfig, ReplicationConfigs, SocketServerConfigs, ZkConfigs,
// GroupCoordinatorConfig, TransactionLogConfigs, RemoteLogManagerConfig,
// QuotaConfigs.brokerQuotaConfigs.
var kafka39BrokerConfigTypes = map[string]kmsg.ConfigType{
	"zookeeper.ssl.cipher.suites":                                 kmsg.ConfigTypeList,
	"zookeeper.ssl.client.enable":                                 kmsg.ConfigTypeBoolean,
	"zookeeper.ssl.crl.enable":                                    kmsg.ConfigTypeBoolean,
	"zookeeper.ssl.enabled.protocols":                             kmsg.ConfigTypeList,
	"zookeeper.ssl.endpoint.identification.algorithm":             kmsg.ConfigTypeString,
	"zookeeper.ssl.keystore.location":                             kmsg.ConfigTypeString,
	"zookeeper.ssl.keystore.password":                             kmsg.ConfigTypePassword,
	"zookeeper.ssl.keystore.type":                                 kmsg.ConfigTypeString,
	"zookeeper.ssl.ocsp.enable":                                   kmsg.ConfigTypeBoolean,
	"zookeeper.ssl.protocol":                                      kmsg.ConfigTypeString,
	"zookeeper.ssl.truststore.location":                           kmsg.ConfigTypeString,
	"zookeeper.ssl.truststore.password":                           kmsg.ConfigTypePassword,
	"zookeeper.ssl.truststore.type":                               kmsg.ConfigTypeString,
	"zookeeper.clientCnxnSocket":                                  kmsg.ConfigTypeString,
	"password.encoder.cipher.algorithm":                           kmsg.ConfigTypeString,
	"password.encoder.iterations":                                 kmsg.ConfigTypeInt,
	"password.encoder.key.length":                                 kmsg.ConfigTypeInt,
	"password.encoder.keyfactory.algorithm":                       kmsg.ConfigTypeString,
	"password.encoder.old.secret":                                 kmsg.ConfigTypePassword,
	"password.encoder.secret":                                     kmsg.ConfigTypePassword,
	"connections.max.idle.ms":                                     kmsg.ConfigTypeLong,
	"early.start.listeners":                                       kmsg.ConfigTypeString,
	"controller.listener.names":                                   kmsg.ConfigTypeString,
	"group.initial.rebalance.delay.ms":                            kmsg.ConfigTypeInt,
	"sasl.client.callback.handler.class":                          kmsg.ConfigTypeClass,
	"sasl.login.callback.handler.class":                           kmsg.ConfigTypeClass,
	"sasl.login.connect.timeout.ms":                               kmsg.ConfigTypeInt,
	"sasl.login.read.timeout.ms":                                  kmsg.ConfigTypeInt,
	"sasl.login.retry.backoff.max.ms":                             kmsg.ConfigTypeLong,
	"sasl.login.retry.backoff.ms":                                 kmsg.ConfigTypeLong,
	"sasl.mechanism.controller.protocol":                          kmsg.ConfigTypeString,
	"sasl.oauthbearer.clock.skew.seconds":                         kmsg.ConfigTypeInt,
	"sasl.oauthbearer.expected.audience":                          kmsg.ConfigTypeList,
	"sasl.oauthbearer.expected.issuer":                            kmsg.ConfigTypeString,
	"sasl.oauthbearer.jwks.endpoint.refresh.ms":                   kmsg.ConfigTypeLong,
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms":         kmsg.ConfigTypeLong,
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.ms":             kmsg.ConfigTypeLong,
	"sasl.oauthbearer.jwks.endpoint.url":                          kmsg.ConfigTypeString,
	"sasl.oauthbearer.scope.claim.name":                           kmsg.ConfigTypeString,
	"sasl.oauthbearer.sub.claim.name":                             kmsg.ConfigTypeString,
	"sasl.oauthbearer.token.endpoint.url":                         kmsg.ConfigTypeString,
	"delegation.token.master.key":                                 kmsg.ConfigTypePassword,
	"delegation.token.secret.key":                                 kmsg.ConfigTypePassword,
	"delegation.token.expiry.time.ms":                             kmsg.ConfigTypeLong,
	"delegation.token.max.lifetime.ms":                            kmsg.ConfigTypeLong,
	"delegation.token.expiry.check.interval.ms":                   kmsg.ConfigTypeLong,
	"authorizer.class.name":                                       kmsg.ConfigTypeString,
	"connection.failed.authentication.delay.ms":                   kmsg.ConfigTypeInt,
	"connections.max.reauth.ms":                                   kmsg.ConfigTypeLong,
	"control.plane.listener.name":                                 kmsg.ConfigTypeString,
	"inter.broker.listener.name":                                  kmsg.ConfigTypeString,
	"sasl.login.class":                                            kmsg.ConfigTypeClass,
	"sasl.server.callback.handler.class":                          kmsg.ConfigTypeClass,
	"sasl.server.max.receive.size":                                kmsg.ConfigTypeInt,
	"security.inter.broker.protocol":                              kmsg.ConfigTypeString,
	"security.providers":                                          kmsg.ConfigTypeString,
	"ssl.allow.dn.changes":                                        kmsg.ConfigTypeBoolean,
	"ssl.allow.san.changes":                                       kmsg.ConfigTypeBoolean,
	"ssl.principal.mapping.rules":                                 kmsg.ConfigTypeString,
	"advertised.listeners":                                        kmsg.ConfigTypeString,
	"auto.create.topics.enable":                                   kmsg.ConfigTypeBoolean,
	"auto.leader.rebalance.enable":                                kmsg.ConfigTypeBoolean,
	"background.threads":                                          kmsg.ConfigTypeInt,
	"broker.id":                                                   kmsg.ConfigTypeInt,
	"broker.id.generation.enable":                                 kmsg.ConfigTypeBoolean,
	"broker.rack":                                                 kmsg.ConfigTypeString,
	"compression.type":                                            kmsg.ConfigTypeString,
	"controlled.shutdown.enable":                                  kmsg.ConfigTypeBoolean,
	"controlled.shutdown.max.retries":                             kmsg.ConfigTypeInt,
	"controlled.shutdown.retry.backoff.ms":                        kmsg.ConfigTypeLong,
	"default.replication.factor":                                  kmsg.ConfigTypeInt,
	"delete.topic.enable":                                         kmsg.ConfigTypeBoolean,
	"follower.replication.throttled.rate":                         kmsg.ConfigTypeLong,
	"leader.imbalance.check.interval.seconds":                     kmsg.ConfigTypeLong,
	"leader.imbalance.per.broker.percentage":                      kmsg.ConfigTypeInt,
	"leader.replication.throttled.rate":                           kmsg.ConfigTypeLong,
	"listeners":                                                   kmsg.ConfigTypeString,
	"log.cleaner.backoff.ms":                                      kmsg.ConfigTypeLong,
	"log.cleaner.dedupe.buffer.size":                              kmsg.ConfigTypeLong,
	"log.cleaner.delete.retention.ms":                             kmsg.ConfigTypeLong,
	"log.cleaner.enable":                                          kmsg.ConfigTypeBoolean,
	"log.cleaner.io.buffer.load.factor":                           kmsg.ConfigTypeDouble,
	"log.cleaner.io.buffer.size":                                  kmsg.ConfigTypeInt,
	"log.cleaner.io.max.bytes.per.second":                         kmsg.ConfigTypeDouble,
	"log.cleaner.max.compaction.lag.ms":                           kmsg.ConfigTypeLong,
	"log.cleaner.min.cleanable.ratio":                             kmsg.ConfigTypeDouble,
	"log.cleaner.min.compaction.lag.ms":                           kmsg.ConfigTypeLong,
	"log.cleaner.threads":                                         kmsg.ConfigTypeInt,
	"log.cleanup.policy":                                          kmsg.ConfigTypeList,
	"log.dir":                                                     kmsg.ConfigTypeString,
	"log.dirs":                                                    kmsg.ConfigTypeString,
	"log.flush.interval.messages":                                 kmsg.ConfigTypeLong,
	"log.flush.interval.ms":                                       kmsg.ConfigTypeLong,
	"log.flush.offset.checkpoint.interval.ms":                     kmsg.ConfigTypeInt,
	"log.flush.scheduler.interval.ms":                             kmsg.ConfigTypeLong,
	"log.flush.start.offset.checkpoint.interval.ms":               kmsg.ConfigTypeInt,
	"log.index.interval.bytes":                                    kmsg.ConfigTypeInt,
	"log.index.size.max.bytes":                                    kmsg.ConfigTypeInt,
	"log.local.retention.bytes":                                   kmsg.ConfigTypeLong,
	"log.local.retention.ms":                                      kmsg.ConfigTypeLong,
	"log.message.downconversion.enable":                           kmsg.ConfigTypeBoolean,
	"log.message.format.version":                                  kmsg.ConfigTypeString,
	"log.message.timestamp.after.max.ms":                          kmsg.ConfigTypeLong,
	"log.message.timestamp.before.max.ms":                         kmsg.ConfigTypeLong,
	"log.message.timestamp.difference.max.ms":                     kmsg.ConfigTypeLong,
	"log.message.timestamp.type":                                  kmsg.ConfigTypeString,
	"log.preallocate":                                             kmsg.ConfigTypeBoolean,
	"log.retention.bytes":                                         kmsg.ConfigTypeLong,
	"log.retention.check.interval.ms":                             kmsg.ConfigTypeLong,
	"log.retention.hours":                                         kmsg.ConfigTypeInt,
	"log.retention.minutes":                                       kmsg.ConfigTypeInt,
	"log.retention.ms":                                            kmsg.ConfigTypeLong,
	"log.roll.hours":                                              kmsg.ConfigTypeInt,
	"log.roll.jitter.hours":                                       kmsg.ConfigTypeInt,
	"log.roll.jitter.ms":                                          kmsg.ConfigTypeLong,
	"log.roll.ms":                                                 kmsg.ConfigTypeLong,
	"log.segment.bytes":                                           kmsg.ConfigTypeInt,
	"log.segment.delete.delay.ms":                                 kmsg.ConfigTypeLong,
	"message.max.bytes":                                           kmsg.ConfigTypeInt,
	"min.insync.replicas":                                         kmsg.ConfigTypeInt,
	"num.io.threads":                                              kmsg.ConfigTypeInt,
	"num.network.threads":                                         kmsg.ConfigTypeInt,
	"num.partitions":                                              kmsg.ConfigTypeInt,
	"num.recovery.threads.per.data.dir":                           kmsg.ConfigTypeInt,
	"num.replica.fetchers":                                        kmsg.ConfigTypeInt,
	"offsets.retention.minutes":                                   kmsg.ConfigTypeInt,
	"offsets.topic.num.partitions":                                kmsg.ConfigTypeInt,
	"offsets.topic.replication.factor":                            kmsg.ConfigTypeShort,
	"queued.max.requests":                                         kmsg.ConfigTypeInt,
	"replica.alter.log.dirs.io.max.bytes.per.second":              kmsg.ConfigTypeLong,
	"replica.fetch.max.bytes":                                     kmsg.ConfigTypeInt,
	"replica.fetch.wait.max.ms":                                   kmsg.ConfigTypeInt,
	"replica.lag.time.max.ms":                                     kmsg.ConfigTypeLong,
	"replica.socket.timeout.ms":                                   kmsg.ConfigTypeInt,
	"reserved.broker.max.id":                                      kmsg.ConfigTypeInt,
	"socket.receive.buffer.bytes":                                 kmsg.ConfigTypeInt,
	"socket.request.max.bytes":                                    kmsg.ConfigTypeInt,
	"socket.send.buffer.bytes":                                    kmsg.ConfigTypeInt,
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": kmsg.ConfigTypeInt,
	"transaction.max.timeout.ms":                                  kmsg.ConfigTypeInt,
	"transaction.remove.expired.transaction.cleanup.interval.ms":  kmsg.ConfigTypeInt,
	"transaction.state.log.load.buffer.size":                      kmsg.ConfigTypeInt,
	"transaction.state.log.segment.bytes":                         kmsg.ConfigTypeInt,
	"transactional.id.expiration.ms":                              kmsg.ConfigTypeInt,
	"transaction.state.log.min.isr":                               kmsg.ConfigTypeInt,
	"transaction.state.log.num.partitions":                        kmsg.ConfigTypeInt,
	"transaction.state.log.replication.factor":                    kmsg.ConfigTypeShort,
	"unclean.leader.election.enable":                              kmsg.ConfigTypeBoolean,
	"zookeeper.connect":                                           kmsg.ConfigTypeString,
	"zookeeper.connection.timeout.ms":                             kmsg.ConfigTypeInt,
	"zookeeper.max.in.flight.requests":                            kmsg.ConfigTypeInt,
	"zookeeper.session.timeout.ms":                                kmsg.ConfigTypeInt,
	"zookeeper.set.acl":                                           kmsg.ConfigTypeBoolean,
	// Dynamic keys of DynamicBrokerConfig.AllDynamicConfigs that are not
	// read by this broker yet (BrokerSecurityConfigs, SocketServerConfigs,
	// MetricConfigs, ServerConfigs, TransactionLogConfigs,
	// RemoteLogManagerConfig).
	"compression.gzip.level":                        kmsg.ConfigTypeInt,
	"compression.lz4.level":                         kmsg.ConfigTypeInt,
	"compression.zstd.level":                        kmsg.ConfigTypeInt,
	"listener.security.protocol.map":                kmsg.ConfigTypeString,
	"max.connection.creation.rate":                  kmsg.ConfigTypeInt,
	"max.connections":                               kmsg.ConfigTypeInt,
	"max.connections.per.ip":                        kmsg.ConfigTypeInt,
	"max.connections.per.ip.overrides":              kmsg.ConfigTypeString,
	"metric.reporters":                              kmsg.ConfigTypeList,
	"principal.builder.class":                       kmsg.ConfigTypeClass,
	"producer.id.expiration.ms":                     kmsg.ConfigTypeInt,
	"remote.fetch.max.wait.ms":                      kmsg.ConfigTypeInt,
	"remote.log.index.file.cache.total.size.bytes":  kmsg.ConfigTypeLong,
	"remote.log.manager.copy.max.bytes.per.second":  kmsg.ConfigTypeLong,
	"remote.log.manager.fetch.max.bytes.per.second": kmsg.ConfigTypeLong,
	"sasl.enabled.mechanisms":                       kmsg.ConfigTypeList,
	"sasl.jaas.config":                              kmsg.ConfigTypePassword,
	"sasl.kerberos.kinit.cmd":                       kmsg.ConfigTypeString,
	"sasl.kerberos.min.time.before.relogin":         kmsg.ConfigTypeLong,
	"sasl.kerberos.principal.to.local.rules":        kmsg.ConfigTypeList,
	"sasl.kerberos.service.name":                    kmsg.ConfigTypeString,
	"sasl.kerberos.ticket.renew.jitter":             kmsg.ConfigTypeDouble,
	"sasl.kerberos.ticket.renew.window.factor":      kmsg.ConfigTypeDouble,
	"sasl.login.refresh.buffer.seconds":             kmsg.ConfigTypeShort,
	"sasl.login.refresh.min.period.seconds":         kmsg.ConfigTypeShort,
	"sasl.login.refresh.window.factor":              kmsg.ConfigTypeDouble,
	"sasl.login.refresh.window.jitter":              kmsg.ConfigTypeDouble,
	"sasl.mechanism.inter.broker.protocol":          kmsg.ConfigTypeString,
	"ssl.cipher.suites":                             kmsg.ConfigTypeList,
	"ssl.client.auth":                               kmsg.ConfigTypeString,
	"ssl.enabled.protocols":                         kmsg.ConfigTypeList,
	"ssl.endpoint.identification.algorithm":         kmsg.ConfigTypeString,
	"ssl.engine.factory.class":                      kmsg.ConfigTypeClass,
	"ssl.key.password":                              kmsg.ConfigTypePassword,
	"ssl.keymanager.algorithm":                      kmsg.ConfigTypeString,
	"ssl.keystore.certificate.chain":                kmsg.ConfigTypePassword,
	"ssl.keystore.key":                              kmsg.ConfigTypePassword,
	"ssl.keystore.location":                         kmsg.ConfigTypeString,
	"ssl.keystore.password":                         kmsg.ConfigTypePassword,
	"ssl.keystore.type":                             kmsg.ConfigTypeString,
	"ssl.protocol":                                  kmsg.ConfigTypeString,
	"ssl.provider":                                  kmsg.ConfigTypeString,
	"ssl.secure.random.implementation":              kmsg.ConfigTypeString,
	"ssl.trustmanager.algorithm":                    kmsg.ConfigTypeString,
	"ssl.truststore.certificates":                   kmsg.ConfigTypePassword,
	"ssl.truststore.location":                       kmsg.ConfigTypeString,
	"ssl.truststore.password":                       kmsg.ConfigTypePassword,
	"ssl.truststore.type":                           kmsg.ConfigTypeString,
	"transaction.partition.verification.enable":     kmsg.ConfigTypeBoolean,
}

// describedBrokerKeys are the broker keys DescribeConfigs can list besides
// custom keys from server.properties: the known static keys and every
// dynamic one (allDynamicBrokerKeys, the quota keys included).
func describedBrokerKeys() []string {
	var keys []string
	for k := range brokerConfigDefaults {
		keys = append(keys, k)
	}
	for k := range allDynamicBrokerKeys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// TestConfigDocsCoverDescribedKeys: every key DescribeConfigs can describe
// has documentation and the type Kafka 3.9's ConfigDef gives it; every
// documented key is one we describe.
func TestConfigDocsCoverDescribedKeys(t *testing.T) {
	topicKeys := topicConfigNames()
	if !slices.Equal(topicKeys, zkmeta.TopicConfigNames) {
		t.Fatalf("topic config keys %v differ from zkmeta.TopicConfigNames %v", topicKeys, zkmeta.TopicConfigNames)
	}
	for _, k := range topicKeys {
		if d := configDocumentation(kmsg.ConfigResourceTypeTopic, k); d == nil || *d == "" {
			t.Errorf("topic config %s has no documentation", k)
		}
		want, ok := kafka39TopicConfigTypes[k]
		if !ok {
			t.Errorf("topic config %s is not a Kafka 3.9 topic config", k)
		} else if got := topicConfigKeys[k].typ; got != want {
			t.Errorf("topic config %s: type %v, Kafka %v", k, got, want)
		}
	}
	brokerKeys := describedBrokerKeys()
	for _, k := range brokerKeys {
		if d := configDocumentation(kmsg.ConfigResourceTypeBroker, k); d == nil || *d == "" {
			t.Errorf("broker config %s has no documentation", k)
		}
		want, ok := kafka39BrokerConfigTypes[k]
		if !ok {
			t.Errorf("broker config %s is missing from the test's Kafka 3.9 type table", k)
			continue
		}
		if got := brokerKeyType(k); got != want {
			t.Errorf("broker config %s: type %v, Kafka %v", k, got, want)
		}
		// KafkaConfig.maybeSensitive: PASSWORD keys are masked.
		if got := brokerKeySensitive(k); got != (want == kmsg.ConfigTypePassword) {
			t.Errorf("broker config %s (%v): sensitive %v", k, want, got)
		}
	}
	for k := range topicConfigDocs {
		if !slices.Contains(topicKeys, k) {
			t.Errorf("documented topic config %s is not described", k)
		}
	}
	for k := range brokerConfigDocs {
		if !slices.Contains(brokerKeys, k) {
			t.Errorf("documented broker config %s is not described", k)
		}
	}
}

// describeConfigsTestServer is a broker (id 1) with real ZooKeeper behind it
// and topic t in its metadata cache.
func describeConfigsTestServer(t *testing.T) *Server {
	t.Helper()
	s := zkTestServer(t, nil)
	knowPartition(s.cache, 0, 1, 1, []int32{1}, []int32{1})
	return s
}

// zkTestServer is a broker (id 1) with a real ZooKeeper behind it whose
// every request goes through hook when hook is not nil (a fault seam:
// what a call gets while ZooKeeper is unreachable).
func zkTestServer(t *testing.T, hook zkmeta.Hook) *Server {
	t.Helper()
	zs := zktest.Start(t)
	var opts zkmeta.Options
	if hook != nil {
		opts.OnSession = func(*zkmeta.SessionConn) zkmeta.Hook { return hook }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zc, err := zkmeta.ConnectWithOptions(ctx, zs.Chroot(t), 6*time.Second, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(zc.Close)
	if err := zc.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	s := newReplicaTestServer(t, 1, t.TempDir())
	s.zk = zc
	return s
}

// testValueOfType is a valid value for a dynamic key of Kafka type typ.
func testValueOfType(typ kmsg.ConfigType) (string, bool) {
	switch typ {
	case kmsg.ConfigTypeLong, kmsg.ConfigTypeInt, kmsg.ConfigTypeShort:
		return "1048576", true
	case kmsg.ConfigTypeBoolean:
		return "true", true
	case kmsg.ConfigTypeDouble:
		return "0.5", true
	}
	return "", false
}

// TestDescribeConfigsDocumentation follows ConfigHelper.createTopicConfigEntry
// and createBrokerConfigEntry: with include_documentation every entry
// carries its key's documentation (AbstractConfig.documentationOf, null for
// a key the config definition does not know), without it documentation is
// null; config_type is the key's ConfigDef.Type (UNKNOWN for unknown keys).
func TestDescribeConfigsDocumentation(t *testing.T) {
	s := describeConfigsTestServer(t)
	s.cfg.StaticConfigs = map[string]string{"message.max.bytes": "200000", "custom.key": "x"}
	// Every other dynamic key (SSL, SASL, listener, connection, remote log
	// keys...) set in server.properties, so that DescribeConfigs lists it
	// with its type; PASSWORD ones must come back masked.
	for k := range allDynamicBrokerKeys {
		if _, known := brokerConfigDefaults[k]; known || isQuotaKey(k) {
			continue
		}
		v, ok := testValueOfType(kafka39BrokerConfigTypes[k])
		switch {
		case k == "max.connections.per.ip.overrides":
			v = "127.0.0.1:5"
		case k == "listener.security.protocol.map":
			v = "PLAINTEXT:PLAINTEXT"
		case !ok:
			v = "stored-" + k
		}
		s.cfg.StaticConfigs[k] = v
	}
	if err := s.zk.ChangeEntityConfig("topics", "t", map[string]string{"retention.ms": "3600000"}); err != nil {
		t.Fatal(err)
	}
	// Every dynamic broker key set, per broker and as cluster default, so
	// that DescribeConfigs lists it.
	for _, entity := range []string{"1", ""} {
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBroker, entity
		for _, k := range dynamicBrokerKeys {
			v, ok := testValueOfType(kafka39BrokerConfigTypes[k])
			if !ok {
				continue
			}
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = k, kmsg.StringPtr(v)
			r.Configs = append(r.Configs, c)
		}
		req.Resources = append(req.Resources, r)
		resp := s.handleIncrementalAlterConfigs(req).(*kmsg.IncrementalAlterConfigsResponse)
		if code := resp.Resources[0].ErrorCode; code != 0 {
			t.Fatalf("setting dynamic configs of broker %q: code %d %v", entity, code, resp.Resources[0].ErrorMessage)
		}
	}

	describe := func(version int16, includeDocs bool) *kmsg.DescribeConfigsResponse {
		req := kmsg.NewPtrDescribeConfigsRequest()
		req.Version, req.IncludeSynonyms, req.IncludeDocumentation = version, true, includeDocs
		for _, rc := range []struct {
			typ  kmsg.ConfigResourceType
			name string
		}{{kmsg.ConfigResourceTypeTopic, "t"}, {kmsg.ConfigResourceTypeBroker, "1"}, {kmsg.ConfigResourceTypeBroker, ""}} {
			r := kmsg.NewDescribeConfigsRequestResource()
			r.ResourceType, r.ResourceName = rc.typ, rc.name
			req.Resources = append(req.Resources, r)
		}
		return s.handleDescribeConfigs(req).(*kmsg.DescribeConfigsResponse)
	}

	for _, version := range []int16{3, 4} {
		resp := describe(version, true)
		seen := map[string]bool{}
		for _, r := range resp.Resources {
			if r.ErrorCode != 0 {
				t.Fatalf("v%d %v %q: error %d %v", version, r.ResourceType, r.ResourceName, r.ErrorCode, r.ErrorMessage)
			}
			types := kafka39BrokerConfigTypes
			if r.ResourceType == kmsg.ConfigResourceTypeTopic {
				types = kafka39TopicConfigTypes
			}
			for _, e := range r.Configs {
				seen[r.ResourceType.String()+"/"+r.ResourceName+"/"+e.Name] = true
				if e.Name == "custom.key" {
					// Unknown to KafkaConfig: no type, no documentation.
					if e.Documentation != nil || e.ConfigType != kmsg.ConfigTypeUnknown {
						t.Errorf("v%d custom.key: documentation %v, type %v; want null, UNKNOWN", version, e.Documentation, e.ConfigType)
					}
					continue
				}
				if e.Documentation == nil || *e.Documentation == "" {
					t.Errorf("v%d %v %q: %s has no documentation", version, r.ResourceType, r.ResourceName, e.Name)
				}
				want, ok := types[e.Name]
				if !ok || e.ConfigType != want {
					t.Errorf("v%d %v %q: %s type %v, Kafka %v (known %v)", version, r.ResourceType, r.ResourceName, e.Name, e.ConfigType, want, ok)
				}
				if want == kmsg.ConfigTypePassword && (!e.IsSensitive || e.Value != nil) {
					t.Errorf("v%d %v %q: password %s not masked (sensitive %v, value %v)", version, r.ResourceType, r.ResourceName, e.Name, e.IsSensitive, e.Value)
				}
				for _, syn := range e.ConfigSynonyms {
					if want == kmsg.ConfigTypePassword && syn.Value != nil {
						t.Errorf("v%d %v %q: password %s synonym %s has a value", version, r.ResourceType, r.ResourceName, e.Name, syn.Name)
					}
				}
			}
		}
		// Every key we can describe was listed, so every one was checked.
		for _, k := range topicConfigNames() {
			if !seen["TOPIC/t/"+k] {
				t.Errorf("v%d topic t: %s not described", version, k)
			}
		}
		for _, k := range describedBrokerKeys() {
			if !seen["BROKER/1/"+k] {
				t.Errorf("v%d broker 1: %s not described", version, k)
			}
		}
		for _, k := range dynamicBrokerKeys {
			if _, settable := testValueOfType(kafka39BrokerConfigTypes[k]); settable && !seen["BROKER//"+k] {
				t.Errorf("v%d default broker: %s not described", version, k)
			}
		}
	}

	// Not asked (and v0-v2, which cannot ask): documentation is null.
	for _, version := range []int16{0, 1, 2, 3, 4} {
		for _, r := range describe(version, false).Resources {
			for _, e := range r.Configs {
				if e.Documentation != nil {
					t.Errorf("v%d %v %q: %s documented without include_documentation", version, r.ResourceType, r.ResourceName, e.Name)
				}
			}
		}
	}
}
