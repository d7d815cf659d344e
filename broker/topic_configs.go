package broker

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// topicConfigKey is one of Kafka 3.7's topic-level configs (LogConfig).
type topicConfigKey struct {
	typ kmsg.ConfigType
	// synonym is the broker key the topic config defaults to
	// (ServerTopicConfigSynonyms.TOPIC_CONFIG_SYNONYMS), "" if none.
	synonym string
	// def is Kafka's default for the keys storage does not own; storage
	// keys take their value from storage.LogConfig.Values().
	def string
}

const maxLongText = "9223372036854775807"

// topicConfigKeys are every topic config Kafka 3.7 lists in DescribeConfigs.
var topicConfigKeys = map[string]topicConfigKey{
	"cleanup.policy":                          {typ: kmsg.ConfigTypeList, synonym: "log.cleanup.policy"},
	"compression.type":                        {typ: kmsg.ConfigTypeString, synonym: "compression.type"},
	"delete.retention.ms":                     {typ: kmsg.ConfigTypeLong, synonym: "log.cleaner.delete.retention.ms"},
	"file.delete.delay.ms":                    {typ: kmsg.ConfigTypeLong, synonym: "log.segment.delete.delay.ms"},
	"flush.messages":                          {typ: kmsg.ConfigTypeLong, synonym: "log.flush.interval.messages"},
	"flush.ms":                                {typ: kmsg.ConfigTypeLong, synonym: "log.flush.interval.ms"},
	"follower.replication.throttled.replicas": {typ: kmsg.ConfigTypeList},
	"index.interval.bytes":                    {typ: kmsg.ConfigTypeInt, synonym: "log.index.interval.bytes"},
	"leader.replication.throttled.replicas":   {typ: kmsg.ConfigTypeList},
	"local.retention.bytes":                   {typ: kmsg.ConfigTypeLong, synonym: "log.local.retention.bytes", def: "-2"},
	"local.retention.ms":                      {typ: kmsg.ConfigTypeLong, synonym: "log.local.retention.ms", def: "-2"},
	"max.compaction.lag.ms":                   {typ: kmsg.ConfigTypeLong, synonym: "log.cleaner.max.compaction.lag.ms"},
	"max.message.bytes":                       {typ: kmsg.ConfigTypeInt, synonym: "message.max.bytes"},
	"message.downconversion.enable":           {typ: kmsg.ConfigTypeBoolean, synonym: "log.message.downconversion.enable", def: "true"},
	"message.format.version":                  {typ: kmsg.ConfigTypeString, synonym: "log.message.format.version", def: "3.0-IV1"},
	"message.timestamp.after.max.ms":          {typ: kmsg.ConfigTypeLong, synonym: "log.message.timestamp.after.max.ms", def: maxLongText},
	"message.timestamp.before.max.ms":         {typ: kmsg.ConfigTypeLong, synonym: "log.message.timestamp.before.max.ms", def: maxLongText},
	"message.timestamp.difference.max.ms":     {typ: kmsg.ConfigTypeLong, synonym: "log.message.timestamp.difference.max.ms", def: maxLongText},
	"message.timestamp.type":                  {typ: kmsg.ConfigTypeString, synonym: "log.message.timestamp.type"},
	"min.cleanable.dirty.ratio":               {typ: kmsg.ConfigTypeDouble, synonym: "log.cleaner.min.cleanable.ratio"},
	"min.compaction.lag.ms":                   {typ: kmsg.ConfigTypeLong, synonym: "log.cleaner.min.compaction.lag.ms"},
	"min.insync.replicas":                     {typ: kmsg.ConfigTypeInt, synonym: "min.insync.replicas"},
	"preallocate":                             {typ: kmsg.ConfigTypeBoolean, synonym: "log.preallocate"},
	"remote.storage.enable":                   {typ: kmsg.ConfigTypeBoolean, def: "false"},
	"retention.bytes":                         {typ: kmsg.ConfigTypeLong, synonym: "log.retention.bytes"},
	"retention.ms":                            {typ: kmsg.ConfigTypeLong, synonym: "log.retention.ms"},
	"segment.bytes":                           {typ: kmsg.ConfigTypeInt, synonym: "log.segment.bytes"},
	"segment.index.bytes":                     {typ: kmsg.ConfigTypeInt, synonym: "log.index.size.max.bytes"},
	"segment.jitter.ms":                       {typ: kmsg.ConfigTypeLong, synonym: "log.roll.jitter.ms"},
	"segment.ms":                              {typ: kmsg.ConfigTypeLong, synonym: "log.roll.ms"},
	"unclean.leader.election.enable":          {typ: kmsg.ConfigTypeBoolean, synonym: "unclean.leader.election.enable"},
}

// topicConfigNames lists topicConfigKeys sorted.
func topicConfigNames() []string {
	names := make([]string, 0, len(topicConfigKeys))
	for n := range topicConfigKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// brokerSynonym is the broker key a topic config defaults to.
func brokerSynonym(topicConfig string) string { return topicConfigKeys[topicConfig].synonym }

// brokerConfigSynonyms is DynamicBrokerConfig.brokerConfigSynonyms: the
// broker keys that set the same value, highest priority first.
func brokerConfigSynonyms(name string) []string {
	switch name {
	case "log.roll.ms", "log.roll.hours":
		return []string{"log.roll.ms", "log.roll.hours"}
	case "log.roll.jitter.ms", "log.roll.jitter.hours":
		return []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}
	case "log.flush.interval.ms":
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	case "log.retention.ms", "log.retention.minutes", "log.retention.hours":
		return []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}
	}
	return []string{name}
}

// errUnknownTopicConfig is LogConfig.validateNames' message.
func errUnknownTopicConfig(name string) error {
	return errors.New("Unknown topic config name: " + name)
}

// validateTopicConfigs checks a complete topic override set as Kafka's
// LogConfig.validate does: every name known, every value valid (storage's
// rules for the keys it owns, the type for the others), and
// min.compaction.lag.ms <= max.compaction.lag.ms. It returns the effective
// log config.
func validateTopicConfigs(base storage.LogConfig, overrides map[string]string) (storage.LogConfig, error) {
	for _, name := range sortedKeys(overrides) {
		k, ok := topicConfigKeys[name]
		if !ok {
			return storage.LogConfig{}, errUnknownTopicConfig(name)
		}
		if _, owned := base.Values()[name]; owned {
			continue
		}
		if err := checkType(k.typ, overrides[name]); err != nil {
			return storage.LogConfig{}, fmt.Errorf("Invalid value %s for configuration %s: %w", overrides[name], name, err)
		}
	}
	c, err := base.WithOverrides(overrides)
	if err != nil {
		return storage.LogConfig{}, err
	}
	if c.MinCompactionLagMs > c.MaxCompactionLagMs {
		return storage.LogConfig{}, fmt.Errorf("conflict topic config setting min.compaction.lag.ms (%d) > max.compaction.lag.ms (%d)",
			c.MinCompactionLagMs, c.MaxCompactionLagMs)
	}
	return c, nil
}

// checkType is ConfigDef's parsing of a value of type t.
func checkType(t kmsg.ConfigType, v string) error {
	v = strings.TrimSpace(v)
	switch t {
	case kmsg.ConfigTypeLong:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return errors.New("Not a number of type LONG")
		}
	case kmsg.ConfigTypeInt:
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return errors.New("Not a number of type INT")
		}
	case kmsg.ConfigTypeBoolean:
		if l := strings.ToLower(v); l != "true" && l != "false" {
			return errors.New("Expected value to be either true or false")
		}
	case kmsg.ConfigTypeDouble:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return errors.New("Not a number of type DOUBLE")
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// javaDouble prints a float as Java's Double.toString does for ordinary
// values ("0.5", "1.0").
func javaDouble(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// configSynonym is one entry of a DescribeConfigs synonym list.
type configSynonym struct {
	name   string
	value  *string
	source kmsg.ConfigSource
}

// brokerSynonyms is ConfigHelper.configSynonyms for this broker: the
// dynamic broker configs, server.properties and Kafka's defaults, in that
// order (brokerConfigSynonymsAll).
func (s *Server) brokerSynonyms(name string, synonyms []string) []configSynonym {
	own, defaults := s.dynamic.snapshot()
	return s.brokerConfigSynonymsAll(name, synonyms, false, own, defaults)
}

// topicConfigEntries is ConfigHelper.createTopicConfigEntry for every topic
// config: the effective value, its source (the topic's override, else the
// first broker synonym, else the default) and, when asked, the synonyms.
func (s *Server) topicConfigEntries(overrides map[string]string, names []string, includeSynonyms bool) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	c, err := s.logs.DefaultConfig().WithOverrides(overrides)
	if err != nil {
		return nil, err
	}
	values := c.Values()
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, name := range topicConfigNames() {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		k := topicConfigKeys[name]
		value, owned := values[name]
		if !owned {
			value = k.def
			if v, ok := overrides[name]; ok {
				value = strings.TrimSpace(v)
			} else if v, ok := s.effectiveBrokerConfig(k.synonym); ok && k.synonym != "" {
				value = v
			}
		}
		if k.typ == kmsg.ConfigTypeDouble {
			value = javaDouble(value)
		}
		var syns []configSynonym
		if _, ok := overrides[name]; ok {
			v := value
			syns = append(syns, configSynonym{name: name, value: &v, source: kmsg.ConfigSourceDynamicTopicConfig})
		}
		if k.synonym != "" {
			syns = append(syns, s.brokerSynonyms(k.synonym, brokerConfigSynonyms(k.synonym))...)
		}
		e := kmsg.NewDescribeConfigsResponseResourceConfig()
		e.Name, e.ConfigType = name, k.typ
		v := value
		e.Value = &v
		setSource(&e, syns, includeSynonyms)
		out = append(out, e)
	}
	return out, nil
}

// setSource gives a described config its source, the most specific of its
// synonyms (DEFAULT_CONFIG when none is set), and the synonyms if asked.
func setSource(e *kmsg.DescribeConfigsResponseResourceConfig, syns []configSynonym, includeSynonyms bool) {
	e.Source = kmsg.ConfigSourceDefaultConfig
	if len(syns) > 0 {
		e.Source = syns[0].source
	}
	e.IsDefault = e.Source == kmsg.ConfigSourceDefaultConfig
	if includeSynonyms {
		e.ConfigSynonyms = make([]kmsg.DescribeConfigsResponseResourceConfigConfigSynonym, 0, len(syns))
		for _, s := range syns {
			e.ConfigSynonyms = append(e.ConfigSynonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{Name: s.name, Value: s.value, Source: s.source})
		}
	}
}

// isSensitiveKey approximates Kafka's PASSWORD-typed keys.
func isSensitiveKey(name string) bool {
	return strings.Contains(name, "password") || strings.HasSuffix(name, "jaas.config")
}

// sensitiveValue hides a sensitive key's value (Kafka answers null).
func sensitiveValue(name, v string) *string {
	if isSensitiveKey(name) {
		return nil
	}
	return &v
}
