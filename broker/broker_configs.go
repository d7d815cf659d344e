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
// cluster default ("") lists the dynamic default configs
// (DYNAMIC_DEFAULT_BROKER_CONFIG). This broker's id lists its dynamic
// configs (the replication quota keys, DYNAMIC_BROKER_CONFIG or
// DYNAMIC_DEFAULT_BROKER_CONFIG) and its static configs: every known key
// and every key set in server.properties, read-only, sourced
// STATIC_BROKER_CONFIG or DEFAULT_CONFIG.
func (s *Server) brokerConfigEntries(resourceName string, names []string, includeSynonyms bool) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	if resourceName == "" {
		out := s.dynamicBrokerEntries(false, names, includeSynonyms)
		if out == nil {
			out = []kmsg.DescribeConfigsResponseResourceConfig{}
		}
		return out, nil
	}
	id, err := strconv.ParseInt(resourceName, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("Broker id must be an integer, but it is: %s", resourceName)
	}
	if int32(id) != s.cfg.BrokerID {
		return nil, fmt.Errorf("Unexpected broker id, expected %d or empty string, but received %s", s.cfg.BrokerID, resourceName)
	}
	dynamic := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
	for _, e := range s.dynamicBrokerEntries(true, names, includeSynonyms) {
		dynamic[e.Name] = e
	}
	keys := map[string]bool{}
	for k := range brokerConfigDefaults {
		keys[k] = true
	}
	for k := range s.cfg.StaticConfigs {
		keys[k] = true
	}
	for k := range dynamic {
		keys[k] = true
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
		if e, ok := dynamic[name]; ok {
			if v, static := s.cfg.StaticConfigs[name]; static && includeSynonyms {
				v = strings.TrimSpace(v)
				e.ConfigSynonyms = append(e.ConfigSynonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{
					Name: name, Value: &v, Source: kmsg.ConfigSourceStaticBrokerConfig})
			}
			out = append(out, e)
			continue
		}
		d, known := brokerConfigDefaults[name]
		e := kmsg.NewDescribeConfigsResponseResourceConfig()
		e.Name, e.ReadOnly = name, true
		e.ConfigType = kmsg.ConfigTypeUnknown
		if known {
			e.ConfigType = d.typ
		}
		if name == "broker.id" {
			// A generated id is the one in use, as Kafka's KafkaConfig reports it.
			v := strconv.Itoa(int(s.cfg.BrokerID))
			e.Value = &v
		} else if v, ok := s.cfg.StaticConfigs[name]; ok {
			e.Value = sensitiveValue(name, strings.TrimSpace(v))
		} else if known && d.def != nil {
			e.Value = sensitiveValue(name, *d.def)
		}
		e.IsSensitive = isSensitiveKey(name)
		syns := s.brokerSynonyms(name, brokerConfigSynonyms(name))
		setSource(&e, syns, includeSynonyms)
		out = append(out, e)
	}
	return out, nil
}
