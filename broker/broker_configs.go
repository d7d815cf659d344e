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
	"unclean.leader.election.enable":                dflt(kmsg.ConfigTypeBoolean, "false"),
	"zookeeper.connect":                             null(kmsg.ConfigTypeString),
	"zookeeper.connection.timeout.ms":               null(kmsg.ConfigTypeInt),
	"zookeeper.max.in.flight.requests":              dflt(kmsg.ConfigTypeInt, "10"),
	"zookeeper.session.timeout.ms":                  dflt(kmsg.ConfigTypeInt, "18000"),
	"zookeeper.set.acl":                             dflt(kmsg.ConfigTypeBoolean, "false"),
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
		syns := s.brokerConfigSynonymsAll(name, brokerConfigSynonyms(name), sensitive, own, defaults)
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
				if sensitive || isSensitiveKey(syn) {
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

// isQuotaKey reports the broker quota keys (DynamicConfig.Broker's own,
// not KafkaConfig keys): Kafka describes them read-only.
func isQuotaKey(name string) bool { return slices.Contains(dynamicBrokerKeys, name) }

// brokerKeyType is KafkaConfig.configType as DescribeConfigs reports it.
func brokerKeyType(name string) kmsg.ConfigType {
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
	if isSensitiveKey(name) {
		return true
	}
	if m := listenerKeyPattern.FindStringSubmatch(name); m != nil {
		name = m[1]
	}
	if brokerKeyType(name) == kmsg.ConfigTypePassword {
		return true // e.g. ssl.keystore.key, which isSensitiveKey's name rule misses
	}
	_, known := brokerConfigDefaults[name]
	_, typed := dynamicKeyTypes[name]
	return !known && !typed && !kafkaConfigNames[name]
}
