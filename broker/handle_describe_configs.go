// DescribeConfigs (key 32) v0-4: topic configs (this broker's log defaults
// plus /config/topics/<t>), broker configs (dynamic and static; "" is the
// cluster default) and BROKER_LOGGER levels, as ConfigHelper does. An
// unknown resource type fails the whole request with INVALID_REQUEST;
// CLIENT_METRICS is refused as KRaft-only.
// Version steps: v1 synonyms and config source (KIP-226), v3 config type
// and documentation (KIP-569), v4 flexible (KIP-482). is_default is always
// false, as ConfigHelper never sets it.
// Authorization (DESCRIBE_CONFIGS per resource) is acl_checks.go's.

package broker

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// handleDescribeConfigs is ConfigHelper.describeConfigs: topics (their
// effective config from this broker's log defaults and /config/topics/<t>)
// and brokers (this broker's dynamic and static configs; the cluster
// default resource "" lists the dynamic default broker configs), with each
// key's documentation when include_documentation asks for it.
func (s *Server) handleDescribeConfigs(req *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeConfigsResponse)
	// ConfigHelper.handleDescribeConfigsRequest: a resource type other than
	// TOPIC, BROKER, BROKER_LOGGER and CLIENT_METRICS throws before any
	// resource is described, so the whole request is answered by
	// DescribeConfigsRequest.getErrorResponse: INVALID_REQUEST with its
	// default message for every resource, no configs.
	for _, r := range req.Resources {
		switch r.ResourceType {
		case kmsg.ConfigResourceTypeTopic, kmsg.ConfigResourceTypeBroker,
			kmsg.ConfigResourceTypeBrokerLogger, kmsg.ConfigResourceTypeClientMetrics:
			continue
		}
		for _, r := range req.Resources {
			out := kmsg.NewDescribeConfigsResponseResource()
			out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
			out.ErrorCode = kerr.InvalidRequest.Code
			out.ErrorMessage = kmsg.StringPtr(kerr.InvalidRequest.Description)
			resp.Resources = append(resp.Resources, out)
		}
		return resp
	}
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
				err = protocol.NewAPIError(kerr.InvalidRequest, "%s", err)
			}
		case kmsg.ConfigResourceTypeBrokerLogger:
			if err = s.checkBrokerLoggerResource(r.ResourceName); err == nil {
				out.Configs = s.describeBrokerLoggers(r.ConfigNames)
			}
		case kmsg.ConfigResourceTypeClientMetrics:
			// ConfigHelper.describeConfigs, then ZkConfigRepository.config.
			if r.ResourceName == "" {
				err = protocol.NewAPIError(kerr.InvalidRequest, "Client metrics subscription name must not be empty")
			} else {
				err = protocol.NewAPIError(kerr.InvalidRequest, "Config type client-metrics is only supported on KRaft clusters")
			}
		}
		if err != nil {
			out.ErrorCode, out.ErrorMessage = protocol.ErrorCodeMessage(err)
			if out.ErrorMessage == nil && errors.Is(err, kerr.UnknownTopicOrPartition) {
				// ConfigHelper sets only the code for an unknown topic: the
				// message keeps the schema's default, "".
				out.ErrorMessage = kmsg.StringPtr("")
			}
			out.Configs = nil
		}
		// ConfigHelper: documentation only when asked (v3+), else null;
		// synonyms carry none.
		if req.IncludeDocumentation {
			for i := range out.Configs {
				out.Configs[i].Documentation = configDocumentation(r.ResourceType, out.Configs[i].Name)
			}
		}
		// ConfigHelper never sets is_default: a v0 answer carries false
		// for every key (v0 clients derive the source from it).
		for i := range out.Configs {
			out.Configs[i].IsDefault = false
		}
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// checkBrokerLoggerResource is ConfigHelper.describeConfigs' check of a
// BROKER_LOGGER resource name: this broker's id.
func (s *Server) checkBrokerLoggerResource(name string) error {
	if name == "" {
		return protocol.NewAPIError(kerr.InvalidRequest, "Broker id must not be empty")
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return protocol.NewAPIError(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
	}
	if int32(id) != s.cfg.BrokerID {
		return protocol.NewAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d but received %s", s.cfg.BrokerID, name)
	}
	return nil
}

func (s *Server) describeTopicConfigs(topic string, names []string, includeSynonyms bool) ([]kmsg.DescribeConfigsResponseResourceConfig, error) {
	if err := zkmeta.ValidateTopicName(topic); err != nil {
		return nil, protocol.NewAPIError(kerr.InvalidTopicException, "%s", err)
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
		return nil, protocol.NewAPIError(kerr.InvalidConfig, "%s", err)
	}
	return entries, nil
}
