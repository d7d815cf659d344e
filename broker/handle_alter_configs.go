package broker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Topic configs are altered by any broker, as ZkAdminManager does: validate
// the complete new override set (LogConfig.validate), then write
// /config/topics/<t> and a /config/changes notification; every broker's
// config watcher applies it to its live logs.

// handleAlterConfigs is the legacy AlterConfigs: the request's entries
// replace the topic's whole override set.
func (s *Server) handleAlterConfigs(req *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		err := s.checkAlterResource(r.ResourceType, r.ResourceName)
		if err == nil {
			props := map[string]string{}
			for _, c := range r.Configs {
				if c.Value != nil {
					props[c.Name] = *c.Value
				}
			}
			if r.ResourceType == kmsg.ConfigResourceTypeBroker {
				err = s.alterBrokerConfig(r.ResourceName, props, req.ValidateOnly)
			} else {
				err = s.alterTopicConfig(r.ResourceName, props, req.ValidateOnly)
			}
		}
		out.ErrorCode, out.ErrorMessage = errorCodeAndMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// handleIncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT to
// the topic's current overrides (ConfigAdminManager.prepareIncrementalConfigs).
func (s *Server) handleIncrementalAlterConfigs(req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, r := range req.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		err := s.checkAlterResource(r.ResourceType, r.ResourceName)
		if err == nil {
			err = checkIncrementalOps(r.Configs)
		}
		if err == nil {
			if r.ResourceType == kmsg.ConfigResourceTypeBroker {
				err = s.incrementalAlterBroker(r, req.ValidateOnly)
			} else {
				err = s.incrementalAlterTopic(r, req.ValidateOnly)
			}
		}
		out.ErrorCode, out.ErrorMessage = errorCodeAndMessage(err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// checkAlterResource refuses what this broker cannot alter: another
// broker's configs (ZkAdminManager.getBrokerId), the default topic resource
// and other resource types, with Kafka's messages where Kafka has them.
func (s *Server) checkAlterResource(t kmsg.ConfigResourceType, name string) error {
	switch t {
	case kmsg.ConfigResourceTypeTopic:
		if name == "" {
			return newAPIError(kerr.InvalidRequest, "Default topic resources are not allowed.")
		}
		return nil
	case kmsg.ConfigResourceTypeBroker:
		_, err := s.brokerEntity(name)
		return err
	}
	return newAPIError(kerr.InvalidRequest, "AlterConfigs is only supported for topics and brokers, but resource type is %s", t)
}

// checkIncrementalOps refuses an operation code Kafka does not define.
func checkIncrementalOps(ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	for _, c := range ops {
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete,
			kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		default:
			return newAPIError(kerr.InvalidRequest, "Unknown alter config operation %d for config %s", int8(c.Op), c.Name)
		}
	}
	return nil
}

// incrementalAlterTopic reads the topic's overrides, applies the operations
// in order and stores the result.
func (s *Server) incrementalAlterTopic(r kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	if _, ok := s.cache.topic(r.ResourceName); !ok {
		return newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", r.ResourceName)
	}
	current, err := s.zk.TopicConfig(r.ResourceName)
	if err != nil {
		return fmt.Errorf("reading config of topic %s: %w", r.ResourceName, err)
	}
	props, err := applyIncrementalOps(current, r.Configs)
	if err != nil {
		return err
	}
	return s.alterTopicConfig(r.ResourceName, props, validateOnly)
}

// applyIncrementalOps is prepareIncrementalConfigs: SET and DELETE on any
// key, APPEND and SUBTRACT on list keys only, starting from the key's
// topic-level default when the topic has no override.
func applyIncrementalOps(current map[string]string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) (map[string]string, error) {
	props := maps.Clone(current)
	if props == nil {
		props = map[string]string{}
	}
	for _, op := range ops {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			props[op.Name] = value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(props, op.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			k, ok := topicConfigKeys[op.Name]
			if !ok {
				return nil, newAPIError(kerr.InvalidConfig, "Unknown topic config name: %s", op.Name)
			}
			verb := "append"
			if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
				verb = "subtract"
			}
			if k.typ != kmsg.ConfigTypeList {
				return nil, newAPIError(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
			}
			old, ok := props[op.Name]
			if !ok {
				old = topicListDefault(op.Name)
			}
			var list []string
			if old != "" {
				list = strings.Split(old, ",")
			}
			items := strings.Split(value, ",")
			if op.Op == kmsg.IncrementalAlterConfigOpAppend {
				for _, v := range items {
					if !slices.Contains(list, v) {
						list = append(list, v)
					}
				}
			} else {
				list = slices.DeleteFunc(list, func(v string) bool { return slices.Contains(items, v) })
			}
			props[op.Name] = strings.Join(list, ",")
		}
	}
	return props, nil
}

// topicListDefault is LogConfig's default of a list-typed topic config.
func topicListDefault(name string) string {
	if name == "cleanup.policy" {
		return "delete"
	}
	return ""
}

// alterTopicConfig validates props as the topic's complete override set
// and, unless validateOnly, stores it and notifies every broker.
func (s *Server) alterTopicConfig(topic string, props map[string]string, validateOnly bool) error {
	if _, ok := s.cache.topic(topic); !ok {
		return newAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", topic)
	}
	if _, err := validateTopicConfigs(s.logs.DefaultConfig(), props); err != nil {
		if unknownTopicConfig(props) != "" {
			return newAPIError(kerr.InvalidConfig, "%s", err)
		}
		return newAPIError(kerr.InvalidConfig, "Invalid config value for resource ConfigResource(type=TOPIC, name='%s'): %s", topic, err)
	}
	if validateOnly {
		return nil
	}
	s.logger.Info("updating topic config", "topic", topic, "config", props)
	if err := s.zk.ChangeEntityConfig("topics", topic, props); err != nil {
		return fmt.Errorf("writing config of topic %s: %w", topic, err)
	}
	// This broker applies it now; the others (and this one again) on the notification.
	if err := s.replicas.refreshTopicConfig(topic); err != nil {
		s.logger.Warn("applying topic config failed", "topic", topic, "err", err)
	}
	if err := s.refreshTopicThrottles(topic); err != nil {
		s.logger.Warn("applying topic throttles failed", "topic", topic, "err", err)
	}
	return nil
}

// unknownTopicConfig returns the first key of props that is not a topic config.
func unknownTopicConfig(props map[string]string) string {
	for _, k := range sortedKeys(props) {
		if _, ok := topicConfigKeys[k]; !ok {
			return k
		}
	}
	return ""
}
