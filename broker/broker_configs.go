package broker

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// brokerConfigDefault is one broker key of Kafka 3.7's KafkaConfig with its
// type and default (nil: Kafka's default is null).
type brokerConfigDefault struct {
	typ kmsg.ConfigType
	def *string
}

func dflt(t kmsg.ConfigType, v string) brokerConfigDefault {
	return brokerConfigDefault{typ: t, def: &v}
}
func null(t kmsg.ConfigType) brokerConfigDefault { return brokerConfigDefault{typ: t} }

// brokerConfigDefaults are the broker keys DescribeConfigs lists for a
// broker resource (besides any other key set in server.properties): the
// ones this broker reads and every log.* key, with Kafka 3.7's defaults.
var brokerConfigDefaults = map[string]brokerConfigDefault{
	"advertised.listeners":                          null(kmsg.ConfigTypeString),
	"auto.create.topics.enable":                     dflt(kmsg.ConfigTypeBoolean, "true"),
	"auto.leader.rebalance.enable":                  dflt(kmsg.ConfigTypeBoolean, "true"),
	"background.threads":                            dflt(kmsg.ConfigTypeInt, "10"),
	"broker.id":                                     dflt(kmsg.ConfigTypeInt, "-1"),
	"broker.id.generation.enable":                   dflt(kmsg.ConfigTypeBoolean, "true"),
	"broker.rack":                                   null(kmsg.ConfigTypeString),
	"compression.type":                              dflt(kmsg.ConfigTypeString, "producer"),
	"controlled.shutdown.enable":                    dflt(kmsg.ConfigTypeBoolean, "true"),
	"controlled.shutdown.max.retries":               dflt(kmsg.ConfigTypeInt, "3"),
	"controlled.shutdown.retry.backoff.ms":          dflt(kmsg.ConfigTypeLong, "5000"),
	"default.replication.factor":                    dflt(kmsg.ConfigTypeInt, "1"),
	"delete.topic.enable":                           dflt(kmsg.ConfigTypeBoolean, "true"),
	"leader.imbalance.check.interval.seconds":       dflt(kmsg.ConfigTypeLong, "300"),
	"leader.imbalance.per.broker.percentage":        dflt(kmsg.ConfigTypeInt, "10"),
	"listeners":                                     dflt(kmsg.ConfigTypeString, "PLAINTEXT://:9092"),
	"log.cleaner.backoff.ms":                        dflt(kmsg.ConfigTypeLong, "15000"),
	"log.cleaner.dedupe.buffer.size":                dflt(kmsg.ConfigTypeLong, "134217728"),
	"log.cleaner.delete.retention.ms":               dflt(kmsg.ConfigTypeLong, "86400000"),
	"log.cleaner.enable":                            dflt(kmsg.ConfigTypeBoolean, "true"),
	"log.cleaner.io.buffer.load.factor":             dflt(kmsg.ConfigTypeDouble, "0.9"),
	"log.cleaner.io.buffer.size":                    dflt(kmsg.ConfigTypeInt, "524288"),
	"log.cleaner.io.max.bytes.per.second":           dflt(kmsg.ConfigTypeDouble, "1.7976931348623157E308"),
	"log.cleaner.max.compaction.lag.ms":             dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.cleaner.min.cleanable.ratio":               dflt(kmsg.ConfigTypeDouble, "0.5"),
	"log.cleaner.min.compaction.lag.ms":             dflt(kmsg.ConfigTypeLong, "0"),
	"log.cleaner.threads":                           dflt(kmsg.ConfigTypeInt, "1"),
	"log.cleanup.policy":                            dflt(kmsg.ConfigTypeList, "delete"),
	"log.dir":                                       dflt(kmsg.ConfigTypeString, "/tmp/kafka-logs"),
	"log.dirs":                                      null(kmsg.ConfigTypeString),
	"log.flush.interval.messages":                   dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.flush.interval.ms":                         null(kmsg.ConfigTypeLong),
	"log.flush.offset.checkpoint.interval.ms":       dflt(kmsg.ConfigTypeInt, "60000"),
	"log.flush.scheduler.interval.ms":               dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.flush.start.offset.checkpoint.interval.ms": dflt(kmsg.ConfigTypeInt, "60000"),
	"log.index.interval.bytes":                      dflt(kmsg.ConfigTypeInt, "4096"),
	"log.index.size.max.bytes":                      dflt(kmsg.ConfigTypeInt, "10485760"),
	"log.local.retention.bytes":                     dflt(kmsg.ConfigTypeLong, "-2"),
	"log.local.retention.ms":                        dflt(kmsg.ConfigTypeLong, "-2"),
	"log.message.downconversion.enable":             dflt(kmsg.ConfigTypeBoolean, "true"),
	"log.message.format.version":                    dflt(kmsg.ConfigTypeString, "3.0-IV1"),
	"log.message.timestamp.after.max.ms":            dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.message.timestamp.before.max.ms":           dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.message.timestamp.difference.max.ms":       dflt(kmsg.ConfigTypeLong, maxLongText),
	"log.message.timestamp.type":                    dflt(kmsg.ConfigTypeString, "CreateTime"),
	"log.preallocate":                               dflt(kmsg.ConfigTypeBoolean, "false"),
	"log.retention.bytes":                           dflt(kmsg.ConfigTypeLong, "-1"),
	"log.retention.check.interval.ms":               dflt(kmsg.ConfigTypeLong, "300000"),
	"log.retention.hours":                           dflt(kmsg.ConfigTypeInt, "168"),
	"log.retention.minutes":                         null(kmsg.ConfigTypeInt),
	"log.retention.ms":                              null(kmsg.ConfigTypeLong),
	"log.roll.hours":                                dflt(kmsg.ConfigTypeInt, "168"),
	"log.roll.jitter.hours":                         dflt(kmsg.ConfigTypeInt, "0"),
	"log.roll.jitter.ms":                            null(kmsg.ConfigTypeLong),
	"log.roll.ms":                                   null(kmsg.ConfigTypeLong),
	"log.segment.bytes":                             dflt(kmsg.ConfigTypeInt, "1073741824"),
	"log.segment.delete.delay.ms":                   dflt(kmsg.ConfigTypeLong, "60000"),
	"message.max.bytes":                             dflt(kmsg.ConfigTypeInt, "1048588"),
	"min.insync.replicas":                           dflt(kmsg.ConfigTypeInt, "1"),
	"num.io.threads":                                dflt(kmsg.ConfigTypeInt, "8"),
	"num.network.threads":                           dflt(kmsg.ConfigTypeInt, "3"),
	"num.partitions":                                dflt(kmsg.ConfigTypeInt, "1"),
	"num.recovery.threads.per.data.dir":             dflt(kmsg.ConfigTypeInt, "1"),
	"num.replica.fetchers":                          dflt(kmsg.ConfigTypeInt, "1"),
	"offsets.retention.minutes":                     dflt(kmsg.ConfigTypeInt, "10080"),
	"offsets.topic.num.partitions":                  dflt(kmsg.ConfigTypeInt, "50"),
	"offsets.topic.replication.factor":              dflt(kmsg.ConfigTypeShort, "3"),
	"queued.max.requests":                           dflt(kmsg.ConfigTypeInt, "500"),
	"replica.fetch.max.bytes":                       dflt(kmsg.ConfigTypeInt, "1048576"),
	"replica.fetch.wait.max.ms":                     dflt(kmsg.ConfigTypeInt, "500"),
	"replica.lag.time.max.ms":                       dflt(kmsg.ConfigTypeLong, "30000"),
	"replica.socket.timeout.ms":                     dflt(kmsg.ConfigTypeInt, "30000"),
	"reserved.broker.max.id":                        dflt(kmsg.ConfigTypeInt, "1000"),
	"socket.receive.buffer.bytes":                   dflt(kmsg.ConfigTypeInt, "102400"),
	"socket.request.max.bytes":                      dflt(kmsg.ConfigTypeInt, "104857600"),
	"socket.send.buffer.bytes":                      dflt(kmsg.ConfigTypeInt, "102400"),
	"transaction.state.log.min.isr":                 dflt(kmsg.ConfigTypeInt, "2"),
	"transaction.state.log.num.partitions":          dflt(kmsg.ConfigTypeInt, "50"),
	"transaction.state.log.replication.factor":      dflt(kmsg.ConfigTypeShort, "3"),
	// The transaction coordinator (TransactionLogConfigs,
	// TransactionStateManagerConfigs).
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": dflt(kmsg.ConfigTypeInt, "10000"),
	"transaction.max.timeout.ms":                                  dflt(kmsg.ConfigTypeInt, "900000"),
	"transaction.remove.expired.transaction.cleanup.interval.ms":  dflt(kmsg.ConfigTypeInt, "3600000"),
	"transaction.state.log.load.buffer.size":                      dflt(kmsg.ConfigTypeInt, "5242880"),
	"transaction.state.log.segment.bytes":                         dflt(kmsg.ConfigTypeInt, "104857600"),
	"transactional.id.expiration.ms":                              dflt(kmsg.ConfigTypeInt, "604800000"),
	"unclean.leader.election.enable":                              dflt(kmsg.ConfigTypeBoolean, "false"),
	"zookeeper.connect":                                           null(kmsg.ConfigTypeString),
	"zookeeper.connection.timeout.ms":                             null(kmsg.ConfigTypeInt),
	"zookeeper.max.in.flight.requests":                            dflt(kmsg.ConfigTypeInt, "10"),
	"zookeeper.session.timeout.ms":                                dflt(kmsg.ConfigTypeInt, "18000"),
	"zookeeper.set.acl":                                           dflt(kmsg.ConfigTypeBoolean, "false"),
	// Listeners, TLS, SASL and authorization (KafkaConfig with its
	// BrokerSecurityConfigs, SslConfigs and SaslConfigs defaults, as
	// Kafka 3.9 describes them).
	"authorizer.class.name":                     dflt(kmsg.ConfigTypeString, ""),
	"connection.failed.authentication.delay.ms": dflt(kmsg.ConfigTypeInt, "100"),
	"connections.max.reauth.ms":                 dflt(kmsg.ConfigTypeLong, "0"),
	"control.plane.listener.name":               null(kmsg.ConfigTypeString),
	"inter.broker.listener.name":                null(kmsg.ConfigTypeString),
	"listener.security.protocol.map":            dflt(kmsg.ConfigTypeString, "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
	"principal.builder.class":                   dflt(kmsg.ConfigTypeClass, "org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"),
	"sasl.enabled.mechanisms":                   dflt(kmsg.ConfigTypeList, "GSSAPI"),
	"sasl.jaas.config":                          null(kmsg.ConfigTypePassword),
	"sasl.kerberos.kinit.cmd":                   dflt(kmsg.ConfigTypeString, "/usr/bin/kinit"),
	"sasl.kerberos.min.time.before.relogin":     dflt(kmsg.ConfigTypeLong, "60000"),
	"sasl.kerberos.principal.to.local.rules":    dflt(kmsg.ConfigTypeList, "DEFAULT"),
	"sasl.kerberos.service.name":                null(kmsg.ConfigTypeString),
	"sasl.kerberos.ticket.renew.jitter":         dflt(kmsg.ConfigTypeDouble, "0.05"),
	"sasl.kerberos.ticket.renew.window.factor":  dflt(kmsg.ConfigTypeDouble, "0.8"),
	"sasl.login.class":                          null(kmsg.ConfigTypeClass),
	"sasl.login.refresh.buffer.seconds":         dflt(kmsg.ConfigTypeShort, "300"),
	"sasl.login.refresh.min.period.seconds":     dflt(kmsg.ConfigTypeShort, "60"),
	"sasl.login.refresh.window.factor":          dflt(kmsg.ConfigTypeDouble, "0.8"),
	"sasl.login.refresh.window.jitter":          dflt(kmsg.ConfigTypeDouble, "0.05"),
	"sasl.mechanism.inter.broker.protocol":      dflt(kmsg.ConfigTypeString, "GSSAPI"),
	"sasl.server.callback.handler.class":        null(kmsg.ConfigTypeClass),
	"sasl.server.max.receive.size":              dflt(kmsg.ConfigTypeInt, "524288"),
	"security.inter.broker.protocol":            dflt(kmsg.ConfigTypeString, "PLAINTEXT"),
	"security.providers":                        null(kmsg.ConfigTypeString),
	"ssl.allow.dn.changes":                      dflt(kmsg.ConfigTypeBoolean, "false"),
	"ssl.allow.san.changes":                     dflt(kmsg.ConfigTypeBoolean, "false"),
	"ssl.cipher.suites":                         dflt(kmsg.ConfigTypeList, ""),
	"ssl.client.auth":                           dflt(kmsg.ConfigTypeString, "none"),
	"ssl.enabled.protocols":                     dflt(kmsg.ConfigTypeList, "TLSv1.2,TLSv1.3"),
	"ssl.endpoint.identification.algorithm":     dflt(kmsg.ConfigTypeString, "https"),
	"ssl.engine.factory.class":                  null(kmsg.ConfigTypeClass),
	"ssl.key.password":                          null(kmsg.ConfigTypePassword),
	"ssl.keymanager.algorithm":                  dflt(kmsg.ConfigTypeString, "SunX509"),
	"ssl.keystore.certificate.chain":            null(kmsg.ConfigTypePassword),
	"ssl.keystore.key":                          null(kmsg.ConfigTypePassword),
	"ssl.keystore.location":                     null(kmsg.ConfigTypeString),
	"ssl.keystore.password":                     null(kmsg.ConfigTypePassword),
	"ssl.keystore.type":                         dflt(kmsg.ConfigTypeString, "JKS"),
	"ssl.principal.mapping.rules":               dflt(kmsg.ConfigTypeString, "DEFAULT"),
	"ssl.protocol":                              dflt(kmsg.ConfigTypeString, "TLSv1.3"),
	"ssl.provider":                              null(kmsg.ConfigTypeString),
	"ssl.secure.random.implementation":          null(kmsg.ConfigTypeString),
	"ssl.trustmanager.algorithm":                dflt(kmsg.ConfigTypeString, "PKIX"),
	"ssl.truststore.certificates":               null(kmsg.ConfigTypePassword),
	"ssl.truststore.location":                   null(kmsg.ConfigTypeString),
	"ssl.truststore.password":                   null(kmsg.ConfigTypePassword),
	"ssl.truststore.type":                       dflt(kmsg.ConfigTypeString, "JKS"),
	// SASL login, OAUTHBEARER and delegation token keys (not served here).
	"sasl.client.callback.handler.class":                  null(kmsg.ConfigTypeClass),
	"sasl.login.callback.handler.class":                   null(kmsg.ConfigTypeClass),
	"sasl.login.connect.timeout.ms":                       null(kmsg.ConfigTypeInt),
	"sasl.login.read.timeout.ms":                          null(kmsg.ConfigTypeInt),
	"sasl.login.retry.backoff.max.ms":                     dflt(kmsg.ConfigTypeLong, "10000"),
	"sasl.login.retry.backoff.ms":                         dflt(kmsg.ConfigTypeLong, "100"),
	"sasl.mechanism.controller.protocol":                  dflt(kmsg.ConfigTypeString, "GSSAPI"),
	"sasl.oauthbearer.clock.skew.seconds":                 dflt(kmsg.ConfigTypeInt, "30"),
	"sasl.oauthbearer.expected.audience":                  null(kmsg.ConfigTypeList),
	"sasl.oauthbearer.expected.issuer":                    null(kmsg.ConfigTypeString),
	"sasl.oauthbearer.jwks.endpoint.refresh.ms":           dflt(kmsg.ConfigTypeLong, "3600000"),
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms": dflt(kmsg.ConfigTypeLong, "10000"),
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.ms":     dflt(kmsg.ConfigTypeLong, "100"),
	"sasl.oauthbearer.jwks.endpoint.url":                  null(kmsg.ConfigTypeString),
	"sasl.oauthbearer.scope.claim.name":                   dflt(kmsg.ConfigTypeString, "scope"),
	"sasl.oauthbearer.sub.claim.name":                     dflt(kmsg.ConfigTypeString, "sub"),
	"sasl.oauthbearer.token.endpoint.url":                 null(kmsg.ConfigTypeString),
	"delegation.token.master.key":                         null(kmsg.ConfigTypePassword),
	"delegation.token.secret.key":                         null(kmsg.ConfigTypePassword),
	"delegation.token.expiry.time.ms":                     dflt(kmsg.ConfigTypeLong, "86400000"),
	"delegation.token.max.lifetime.ms":                    dflt(kmsg.ConfigTypeLong, "604800000"),
	"delegation.token.expiry.check.interval.ms":           dflt(kmsg.ConfigTypeLong, "3600000"),
	// ZooKeeper TLS, password encoding, connection limits and others.
	"zookeeper.ssl.cipher.suites":                     null(kmsg.ConfigTypeList),
	"zookeeper.ssl.client.enable":                     dflt(kmsg.ConfigTypeBoolean, "false"),
	"zookeeper.ssl.crl.enable":                        dflt(kmsg.ConfigTypeBoolean, "false"),
	"zookeeper.ssl.enabled.protocols":                 null(kmsg.ConfigTypeList),
	"zookeeper.ssl.endpoint.identification.algorithm": dflt(kmsg.ConfigTypeString, "HTTPS"),
	"zookeeper.ssl.keystore.location":                 null(kmsg.ConfigTypeString),
	"zookeeper.ssl.keystore.password":                 null(kmsg.ConfigTypePassword),
	"zookeeper.ssl.keystore.type":                     null(kmsg.ConfigTypeString),
	"zookeeper.ssl.ocsp.enable":                       dflt(kmsg.ConfigTypeBoolean, "false"),
	"zookeeper.ssl.protocol":                          dflt(kmsg.ConfigTypeString, "TLSv1.2"),
	"zookeeper.ssl.truststore.location":               null(kmsg.ConfigTypeString),
	"zookeeper.ssl.truststore.password":               null(kmsg.ConfigTypePassword),
	"zookeeper.ssl.truststore.type":                   null(kmsg.ConfigTypeString),
	"zookeeper.clientCnxnSocket":                      null(kmsg.ConfigTypeString),
	"password.encoder.cipher.algorithm":               dflt(kmsg.ConfigTypeString, "AES/CBC/PKCS5Padding"),
	"password.encoder.iterations":                     dflt(kmsg.ConfigTypeInt, "4096"),
	"password.encoder.key.length":                     dflt(kmsg.ConfigTypeInt, "128"),
	"password.encoder.keyfactory.algorithm":           null(kmsg.ConfigTypeString),
	"password.encoder.old.secret":                     null(kmsg.ConfigTypePassword),
	"password.encoder.secret":                         null(kmsg.ConfigTypePassword),
	"max.connection.creation.rate":                    dflt(kmsg.ConfigTypeInt, "2147483647"),
	"max.connections":                                 dflt(kmsg.ConfigTypeInt, "2147483647"),
	"max.connections.per.ip":                          dflt(kmsg.ConfigTypeInt, "2147483647"),
	"max.connections.per.ip.overrides":                dflt(kmsg.ConfigTypeString, ""),
	"connections.max.idle.ms":                         dflt(kmsg.ConfigTypeLong, "600000"),
	"early.start.listeners":                           null(kmsg.ConfigTypeString),
	"controller.listener.names":                       null(kmsg.ConfigTypeString),
	"group.initial.rebalance.delay.ms":                dflt(kmsg.ConfigTypeInt, "3000"),
}

// brokerConfigEntries is ConfigHelper's answer for a BROKER resource. The
// cluster default ("") lists the dynamic default configs with their
// DYNAMIC_DEFAULT_BROKER_CONFIG synonyms only. This broker's id lists every
// known key, every key set in server.properties and every dynamic key,
// sourced by Kafka's precedence (DYNAMIC_BROKER_CONFIG,
// DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG);
// read-only unless the key is in AllDynamicConfigs
// (ConfigHelper.createBrokerConfigEntry).
func (s *Server) brokerConfigEntries(resourceName string, names []string, includeSynonyms bool) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	own, defaults := s.dynamic.snapshot()
	perBroker := resourceName != ""
	if perBroker {
		id, err := strconv.ParseInt(resourceName, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("Broker id must be an integer, but it is: %s", resourceName)
		}
		if int32(id) != s.cfg.BrokerID {
			return nil, fmt.Errorf("Unexpected broker id, expected %d or empty string, but received %s", s.cfg.BrokerID, resourceName)
		}
	}
	keys := map[string]bool{}
	for k := range defaults {
		keys[k] = true
	}
	if perBroker {
		for k := range brokerConfigDefaults {
			keys[k] = true
		}
		for k := range s.cfg.StaticConfigs {
			keys[k] = true
		}
		for k := range own {
			keys[k] = true
		}
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		if len(names) == 0 || slices.Contains(names, k) {
			sorted = append(sorted, k)
		}
	}
	sort.Strings(sorted)
	out := make([]kmsg.DescribeConfigsResponseResourceConfig, 0, len(sorted))
	for _, name := range sorted {
		sensitive := brokerKeySensitive(name)
		syns := s.brokerConfigSynonymsAll(name, brokerKeySynonyms(name), sensitive, own, defaults)
		if !perBroker {
			syns = slices.DeleteFunc(syns, func(c configSynonym) bool { return c.source != kmsg.ConfigSourceDynamicDefaultBrokerConfig })
		}
		e := kmsg.NewDescribeConfigsResponseResourceConfig()
		e.Name = name
		e.ReadOnly = !allDynamicBrokerKeys[name] || isQuotaKey(name)
		e.ConfigType = brokerKeyType(name)
		e.IsSensitive = sensitive
		switch {
		case perBroker && name == "broker.id":
			// A generated id is the one in use, as Kafka's KafkaConfig reports it.
			v := strconv.Itoa(int(s.cfg.BrokerID))
			e.Value = &v
		case sensitive:
		case len(syns) > 0:
			e.Value = syns[0].value
		default:
			if d, ok := brokerConfigDefaults[name]; ok && d.def != nil {
				v := *d.def
				e.Value = &v
			}
		}
		setSource(&e, syns, includeSynonyms)
		out = append(out, e)
	}
	return out, nil
}

// brokerConfigSynonymsAll is ConfigHelper.configSynonyms: for each source
// in precedence order (this broker's dynamic configs, the dynamic default,
// server.properties, Kafka's defaults) the synonyms set there, dropping
// those before the first one named name.
func (s *Server) brokerConfigSynonymsAll(name string, synonyms []string, sensitive bool, own, defaults map[string]string) []configSynonym {
	var out []configSynonym
	add := func(m map[string]string, src kmsg.ConfigSource) {
		for _, syn := range synonyms {
			if v, ok := m[syn]; ok {
				v = strings.TrimSpace(v)
				val := &v
				if sensitive || brokerKeySensitive(syn) {
					val = nil
				}
				out = append(out, configSynonym{name: syn, value: val, source: src})
			}
		}
	}
	add(own, kmsg.ConfigSourceDynamicBrokerConfig)
	add(defaults, kmsg.ConfigSourceDynamicDefaultBrokerConfig)
	add(s.cfg.StaticConfigs, kmsg.ConfigSourceStaticBrokerConfig)
	kafkaDefaults := map[string]string{}
	for _, syn := range synonyms {
		if d, ok := brokerConfigDefaults[syn]; ok && d.def != nil {
			kafkaDefaults[syn] = *d.def
		}
	}
	add(kafkaDefaults, kmsg.ConfigSourceDefaultConfig)
	for len(out) > 0 && out[0].name != name {
		out = out[1:]
	}
	return out
}

// brokerKeySynonyms is DynamicBrokerConfig.brokerConfigSynonyms with
// matchListenerOverride, as ConfigHelper describes a broker: a
// listener-prefixed key (listener.name.<listener>.<key>, or
// listener.name.<listener>.<mechanism>.<key> for the SASL mechanism keys)
// has itself, the key after the prefix and that key less its first part
// (the key without the mechanism) as synonyms.
func brokerKeySynonyms(name string) []string {
	if m := listenerKeyPattern.FindStringSubmatch(name); m != nil {
		base := m[1]
		return []string{name, base, base[strings.Index(base, ".")+1:]}
	}
	return brokerConfigSynonyms(name)
}

// isQuotaKey reports the broker quota keys (DynamicConfig.Broker's own,
// not KafkaConfig keys): Kafka describes them read-only.
func isQuotaKey(name string) bool { return slices.Contains(dynamicBrokerKeys, name) }

// brokerKeyType is KafkaConfig.configType as DescribeConfigs reports it.
func brokerKeyType(name string) kmsg.ConfigType {
	if listenerKeyPattern.MatchString(name) {
		// KafkaConfig.configType: a listener override has its synonyms' type.
		for _, syn := range brokerKeySynonyms(name)[1:] {
			if t := brokerKeyType(syn); t != kmsg.ConfigTypeUnknown {
				return t
			}
		}
		return kmsg.ConfigTypeUnknown
	}
	if d, ok := brokerConfigDefaults[name]; ok {
		return d.typ
	}
	if t, ok := dynamicKeyTypes[name]; ok {
		return t.typ
	}
	if topicKey, ok := logDefaultKeys[name]; ok {
		return topicConfigKeys[topicKey].typ
	}
	return kmsg.ConfigTypeUnknown // custom, or a KafkaConfig key whose type is not listed here
}

// brokerKeySensitive is KafkaConfig.maybeSensitive: PASSWORD keys (also
// with a listener prefix), and keys whose type Kafka does not know (custom
// configs).
func brokerKeySensitive(name string) bool {
	if d, ok := brokerConfigDefaults[name]; ok {
		// A KafkaConfig key: its type decides (password.encoder.iterations
		// is not secret).
		return d.typ == kmsg.ConfigTypePassword
	}
	if isSensitiveKey(name) {
		return true
	}
	if listenerKeyPattern.MatchString(name) {
		// KafkaConfig.maybeSensitive of the override's type: PASSWORD or unknown.
		t := brokerKeyType(name)
		return t == kmsg.ConfigTypePassword || t == kmsg.ConfigTypeUnknown
	}
	if brokerKeyType(name) == kmsg.ConfigTypePassword {
		return true // e.g. ssl.keystore.key, which isSensitiveKey's name rule misses
	}
	_, known := brokerConfigDefaults[name]
	_, typed := dynamicKeyTypes[name]
	return !known && !typed && !kafkaConfigNames[name]
}
