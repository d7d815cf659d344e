package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// handleDescribeConfigs is ConfigHelper.describeConfigs: topics (their
// effective config from this broker's log defaults and /config/topics/<t>)
// and brokers (this broker's dynamic and static configs; the cluster
// default resource "" lists the dynamic default broker configs), with each
// key's documentation when include_documentation asks for it.
func (s *Server) handleDescribeConfigs(req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewDescribeConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		var err error
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			out.Configs, err = s.describeTopicConfigs(r.ResourceName, r.ConfigNames, req.IncludeSynonyms)
		case kmsg.ConfigResourceTypeBroker:
			out.Configs, err = s.brokerConfigEntries(r.ResourceName, r.ConfigNames, req.IncludeSynonyms)
			if err != nil {
				err = newAPIError(kerr.InvalidRequest, "%s", err)
			}
		default:
			err = newAPIError(kerr.InvalidRequest, "Unsupported resource type: %s", r.ResourceType)
		}
		if err != nil {
			out.ErrorCode, out.ErrorMessage = errorCodeAndMessage(err)
			out.Configs = nil
		}
		// ConfigHelper: documentation only when asked (v3+), else null;
		// synonyms carry none.
		if req.IncludeDocumentation {
			for i := range out.Configs {
				out.Configs[i].Documentation = configDocumentation(r.ResourceType, out.Configs[i].Name)
			}
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

func (s *Server) describeTopicConfigs(topic string, names []string, includeSynonyms bool) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	if err := zkmeta.ValidateTopicName(topic); err != nil {
		return nil, newAPIError(kerr.InvalidTopicException, "%s", err)
	}
	if _, ok := s.cache.topic(topic); !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	overrides, err := s.zk.TopicConfig(topic)
	if err != nil {
		s.logger.Warn("reading topic config failed", "topic", topic, "err", err)
		return nil, kerr.UnknownServerError
	}
	entries, err := s.topicConfigEntries(overrides, names, includeSynonyms)
	if err != nil {
		// A bad value already in ZooKeeper: Kafka's LogConfig.fromProps fails the same way.
		return nil, newAPIError(kerr.InvalidConfig, "%s", err)
	}
	return entries, nil
}
