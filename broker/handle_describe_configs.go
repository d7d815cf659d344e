package broker

import (
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// topicConfigDefault is one topic-level config key with the value a topic
// gets when it sets none.
type topicConfigDefault struct {
	name  string
	value string
	typ   kmsg.ConfigType
}

// topicConfigDefaults lists the topic configs with their defaults; values
// that follow a broker key come from this broker's configuration.
func (s *Server) topicConfigDefaults() []topicConfigDefault {
	return []topicConfigDefault{
		{"cleanup.policy", "delete", kmsg.ConfigTypeList},
		{"compression.type", "producer", kmsg.ConfigTypeString},
		{"delete.retention.ms", "86400000", kmsg.ConfigTypeLong},
		{"file.delete.delay.ms", "60000", kmsg.ConfigTypeLong},
		{"flush.messages", "9223372036854775807", kmsg.ConfigTypeLong},
		{"flush.ms", "9223372036854775807", kmsg.ConfigTypeLong},
		{"index.interval.bytes", strconv.Itoa(s.cfg.Storage.IndexIntervalBytes), kmsg.ConfigTypeInt},
		{"max.message.bytes", strconv.Itoa(int(s.cfg.MessageMaxBytes)), kmsg.ConfigTypeInt},
		{"message.timestamp.type", "CreateTime", kmsg.ConfigTypeString},
		{"min.cleanable.dirty.ratio", "0.5", kmsg.ConfigTypeDouble},
		{"min.insync.replicas", strconv.Itoa(int(s.cfg.MinInsyncReplicas)), kmsg.ConfigTypeInt},
		{"retention.bytes", "-1", kmsg.ConfigTypeLong},
		{"retention.ms", "604800000", kmsg.ConfigTypeLong},
		{"segment.bytes", strconv.FormatInt(s.cfg.Storage.SegmentBytes, 10), kmsg.ConfigTypeInt},
		{"segment.index.bytes", strconv.Itoa(s.cfg.Storage.MaxIndexBytes), kmsg.ConfigTypeInt},
		{"segment.ms", "604800000", kmsg.ConfigTypeLong},
		{"unclean.leader.election.enable", "false", kmsg.ConfigTypeBoolean},
	}
}

// handleDescribeConfigs serves topic resources: every topic config, the
// topic's own overrides (from /config/topics/<t>) marked DYNAMIC_TOPIC_CONFIG
// and the rest as defaults. Other resource types are not served yet and get
// INVALID_REQUEST with a message saying so.
func (s *Server) handleDescribeConfigs(req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		if r.ResourceType != kmsg.ConfigResourceTypeTopic {
			msg := "only topic configs can be described by this broker"
			out.ErrorCode, out.ErrorMessage = kerr.InvalidRequest.Code, &msg
			resp.Resources = append(resp.Resources, out)
			continue
		}
		if _, ok := s.cache.topic(r.ResourceName); !ok {
			out.ErrorCode = kerr.UnknownTopicOrPartition.Code
			resp.Resources = append(resp.Resources, out)
			continue
		}
		overrides, err := s.zk.TopicConfig(r.ResourceName)
		if err != nil {
			s.logger.Warn("reading topic config failed", "topic", r.ResourceName, "err", err)
			out.ErrorCode = kerr.UnknownServerError.Code
			resp.Resources = append(resp.Resources, out)
			continue
		}
		for _, d := range s.topicConfigDefaults() {
			if r.ConfigNames != nil && !slices.Contains(r.ConfigNames, d.name) {
				continue
			}
			c := kmsg.NewDescribeConfigsResponseResourceConfig()
			c.Name, c.ConfigType = d.name, d.typ
			value := d.value
			c.IsDefault, c.Source = true, kmsg.ConfigSourceDefaultConfig
			if v, ok := overrides[d.name]; ok {
				value = v
				c.IsDefault, c.Source = false, kmsg.ConfigSourceDynamicTopicConfig
			} else if key := brokerSynonym(d.name); s.cfg.StaticConfigs[key] != "" {
				// Set in server.properties: Kafka reports the broker's value as STATIC_BROKER_CONFIG.
				value = s.cfg.StaticConfigs[key]
				c.IsDefault, c.Source = false, kmsg.ConfigSourceStaticBrokerConfig
			}
			c.Value = &value
			if req.IncludeSynonyms && !c.IsDefault {
				c.ConfigSynonyms = append(c.ConfigSynonyms, kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{
					Name: d.name, Value: &value, Source: c.Source,
				})
			}
			out.Configs = append(out.Configs, c)
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// brokerSynonym is the broker key whose value a topic config defaults to
// (Kafka's ServerTopicConfigSynonyms, same-unit synonyms only).
func brokerSynonym(topicConfig string) string {
	switch topicConfig {
	case "max.message.bytes":
		return "message.max.bytes"
	case "compression.type", "min.insync.replicas", "unclean.leader.election.enable":
		return topicConfig
	case "segment.index.bytes":
		return "log.index.size.max.bytes"
	case "flush.messages":
		return "log.flush.interval.messages"
	case "flush.ms":
		return "log.flush.interval.ms"
	case "segment.ms":
		return "log.roll.ms"
	}
	return "log." + topicConfig
}
