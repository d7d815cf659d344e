// AlterConfigs (key 33) v0-2 and IncrementalAlterConfigs (key 44) v0-1
// (KIP-339: SET, DELETE, APPEND, SUBTRACT). Any broker serves them, as
// ZkAdminManager does. Topic configs: the complete new override set is
// validated (LogConfig.validate), then written to /config/topics/<t> with
// a /config/changes notice every broker's config watcher applies; broker
// configs only for this broker's id or the "" default; BROKER_LOGGER
// levels via the incremental API. AlterConfigs replaces the whole set.
// Duplicates, null values and bad resource types are refused first
// (ConfigAdminManager.preprocess). AlterConfigs v1 only changes
// throttling (KIP-219); AlterConfigs v2 and Incremental v1 are flexible
// (KIP-482).
// ZooKeeper unreachable: REQUEST_TIMED_OUT with no message (Kafka holds
// the write until ZooKeeper is back, so its client times out).
// Deviations: ACLs not built (no authorization checks), no
// alter.config.policy.class.name; CLIENT_METRICS is refused; the answer
// without ZooKeeper comes at once instead of after the client's timeout.

package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
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
	checks := make([]alterConfigsCheck, len(req.Resources))
	for i, r := range req.Resources {
		checks[i] = alterConfigsCheck{typ: r.ResourceType, name: r.ResourceName}
		for _, c := range r.Configs {
			checks[i].keys = append(checks[i].keys, c.Name)
			if c.Value == nil {
				checks[i].nulls = append(checks[i].nulls, c.Name)
			}
		}
	}
	errs := s.preprocessAlterConfigs(checks, false)
	for i, r := range req.Resources {
		out := kmsg.NewAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		err := errs[i]
		if err == nil {
			err = s.checkAlterResource(r.ResourceType, r.ResourceName)
		}
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
		out.ErrorCode, out.ErrorMessage = s.alterConfigsError(r.ResourceName, err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// handleIncrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT to
// the topic's current overrides (ConfigAdminManager.prepareIncrementalConfigs).
func (s *Server) handleIncrementalAlterConfigs(req *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	checks := make([]alterConfigsCheck, len(req.Resources))
	for i, r := range req.Resources {
		checks[i] = alterConfigsCheck{typ: r.ResourceType, name: r.ResourceName}
		for _, c := range r.Configs {
			checks[i].keys = append(checks[i].keys, c.Name)
			if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
				checks[i].nulls = append(checks[i].nulls, c.Name)
			}
		}
	}
	errs := s.preprocessAlterConfigs(checks, true)
	for i, r := range req.Resources {
		out := kmsg.NewIncrementalAlterConfigsResponseResource()
		out.ResourceType, out.ResourceName = r.ResourceType, r.ResourceName
		err := errs[i]
		if err == nil && r.ResourceType == kmsg.ConfigResourceTypeBrokerLogger {
			// ConfigAdminManager.preprocess settles BROKER_LOGGER
			// resources itself (RuntimeLoggerManager).
			out.ErrorCode, out.ErrorMessage = protocol.ErrorCodeMessage(s.alterBrokerLoggers(r.ResourceName, r.Configs, req.ValidateOnly))
			resp.Resources = append(resp.Resources, out)
			continue
		}
		if err == nil && r.ResourceType == kmsg.ConfigResourceTypeBroker {
			err = checkIncrementalOps(r.Configs)
		}
		if err == nil {
			err = s.checkAlterResource(r.ResourceType, r.ResourceName)
		}
		if err == nil && r.ResourceType == kmsg.ConfigResourceTypeTopic && !knownIncrementalOps(r.Configs) {
			// KafkaApis.processIncrementalAlterConfigsRequest maps an
			// unknown operation to a null OpType, which
			// prepareIncrementalConfigs fails to match: an unexpected
			// error, answered UNKNOWN_SERVER_ERROR without a message.
			err = kerr.UnknownServerError
		}
		if err == nil {
			if r.ResourceType == kmsg.ConfigResourceTypeBroker {
				err = s.incrementalAlterBroker(r, req.ValidateOnly)
			} else {
				err = s.incrementalAlterTopic(r, req.ValidateOnly)
			}
		}
		out.ErrorCode, out.ErrorMessage = s.alterConfigsError(r.ResourceName, err)
		resp.Resources = append(resp.Resources, out)
	}
	return resp
}

// alterConfigsError is a resource's code and message for err. A ZooKeeper
// call that could not reach ZooKeeper (connection lost, session expired)
// is REQUEST_TIMED_OUT, without a message: ZkAdminManager reads and writes
// configs through KafkaZkClient, which holds a call until ZooKeeper is
// back (retryRequestsUntilConnected), so a Kafka client sees its request
// time out, never UNKNOWN_SERVER_ERROR; ours fails at once (as the
// controller's admin writes do).
func (s *Server) alterConfigsError(resource string, err error) (int16, *string) {
	if errors.Is(err, zkmeta.ErrConnectionLoss) || errors.Is(err, zkmeta.ErrSessionExpired) {
		s.logger.Warn("altering configs: ZooKeeper unavailable", "resource", resource, "err", err)
		return kerr.RequestTimedOut.Code, nil
	}
	return protocol.ErrorCodeMessage(err)
}

// checkAlterResource refuses what this broker cannot alter: another
// broker's configs (ZkAdminManager.getBrokerId), the default topic resource
// and other resource types, with Kafka's messages where Kafka has them.
func (s *Server) checkAlterResource(t kmsg.ConfigResourceType, name string) error {
	switch t {
	case kmsg.ConfigResourceTypeTopic:
		if name == "" {
			return protocol.NewAPIError(kerr.InvalidRequest, "Default topic resources are not allowed.")
		}
		return nil
	case kmsg.ConfigResourceTypeBroker:
		_, err := s.brokerEntity(name)
		return err
	}
	return protocol.NewAPIError(kerr.InvalidRequest, "AlterConfigs is only supported for topics and brokers, but resource type is %s", t)
}

// checkIncrementalOps is ConfigAdminManager.validateBrokerConfigChange's
// refusal of an operation code Kafka does not define (OpType.forId).
func checkIncrementalOps(ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) error {
	for _, c := range ops {
		if !knownIncrementalOps([]kmsg.IncrementalAlterConfigsRequestResourceConfig{c}) {
			return protocol.NewAPIError(kerr.InvalidRequest, "Unknown operations type %d", int8(c.Op))
		}
	}
	return nil
}

// knownIncrementalOps reports whether every operation is SET, DELETE,
// APPEND or SUBTRACT.
func knownIncrementalOps(ops []kmsg.IncrementalAlterConfigsRequestResourceConfig) bool {
	for _, c := range ops {
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete,
			kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
		default:
			return false
		}
	}
	return true
}

// alterConfigsCheck is what ConfigAdminManager.preprocess looks at in a
// resource of either AlterConfigs API: its config names in request order
// and those whose null value it refuses.
type alterConfigsCheck struct {
	typ   kmsg.ConfigResourceType
	name  string
	keys  []string
	nulls []string
}

// preprocessAlterConfigs is ConfigAdminManager.preprocess, run before any
// resource is altered: a resource (type and name) named twice fails every
// time it appears; then, per resource, duplicate config names, null values
// (any in AlterConfigs, all but DELETE's in IncrementalAlterConfigs), a
// broker name other than this broker's id, and a resource type other than
// BROKER, TOPIC and CLIENT_METRICS (and BROKER_LOGGER for the incremental
// API), all INVALID_REQUEST. A nil error leaves the resource to the rest.
func (s *Server) preprocessAlterConfigs(rs []alterConfigsCheck, incremental bool) []error {
	errs := make([]error, len(rs))
	type resourceID struct {
		typ  kmsg.ConfigResourceType
		name string
	}
	seen := map[resourceID]int{}
	for i, r := range rs {
		id := resourceID{r.typ, r.name}
		if j, ok := seen[id]; ok {
			errs[j] = protocol.NewAPIError(kerr.InvalidRequest, "Each resource must appear at most once.")
			errs[i] = errs[j]
		}
		seen[id] = i
	}
	for i, r := range rs {
		if errs[i] != nil {
			continue
		}
		names := map[string]bool{}
		for _, k := range r.keys {
			if names[k] {
				errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Error due to duplicate config keys")
				break
			}
			names[k] = true
		}
		if errs[i] != nil {
			continue
		}
		if len(r.nulls) > 0 {
			errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Null value not supported for : %s", strings.Join(r.nulls, ", "))
			continue
		}
		switch r.typ {
		case kmsg.ConfigResourceTypeBroker:
			if r.name == "" {
				break
			}
			// validateResourceNameIsCurrentNodeId
			id, err := strconv.ParseInt(r.name, 10, 32)
			if err != nil {
				errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Node id must be an integer, but it is: %s", r.name)
			} else if int32(id) != s.cfg.BrokerID {
				errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d, but received %s", s.cfg.BrokerID, r.name)
			}
		case kmsg.ConfigResourceTypeTopic, kmsg.ConfigResourceTypeClientMetrics:
		case kmsg.ConfigResourceTypeBrokerLogger:
			if !incremental {
				errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Unknown resource type %d", int8(r.typ))
			}
		default:
			errs[i] = protocol.NewAPIError(kerr.InvalidRequest, "Unknown resource type %d", int8(r.typ))
		}
	}
	return errs
}

// incrementalAlterTopic reads the topic's overrides, applies the operations
// in order and stores the result.
func (s *Server) incrementalAlterTopic(r kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	// ZkAdminManager.incrementalAlterConfigs applies the operations
	// (prepareIncrementalConfigs) before alterTopicConfigs looks the topic
	// up: an operation's error wins over UNKNOWN_TOPIC_OR_PARTITION. A topic
	// the metadata does not know is not read from ZooKeeper.
	current := map[string]string{}
	if _, ok := s.cache.topic(r.ResourceName); ok {
		var err error
		if current, err = s.zk.TopicConfig(r.ResourceName); err != nil {
			return fmt.Errorf("reading config of topic %s: %w", r.ResourceName, err)
		}
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
				return nil, protocol.NewAPIError(kerr.InvalidConfig, "Unknown topic config name: %s", op.Name)
			}
			verb := "append"
			if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
				verb = "subtract"
			}
			if k.typ != kmsg.ConfigTypeList {
				return nil, protocol.NewAPIError(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
			}
			old, ok := props[op.Name]
			if !ok {
				old = topicListDefault(op.Name)
			}
			props[op.Name] = applyListOp(op.Op, old, &value)
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
		return protocol.NewAPIError(kerr.UnknownTopicOrPartition, "The topic '%s' does not exist.", topic)
	}
	if _, err := validateTopicConfigs(s.logs.DefaultConfig(), props); err != nil {
		if unknownTopicConfig(props) != "" {
			return protocol.NewAPIError(kerr.InvalidConfig, "%s", err)
		}
		return protocol.NewAPIError(kerr.InvalidConfig, "Invalid config value for resource ConfigResource(type=TOPIC, name='%s'): %s", topic, err)
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

// applyListOp is IncrementalAlterConfigs' APPEND or SUBTRACT on a list
// config's comma-separated value (ConfigAdminManager.prepareIncrementalConfigs):
// APPEND adds the items not already there, in order; SUBTRACT removes every
// item given.
func applyListOp(op kmsg.IncrementalAlterConfigOp, old string, value *string) string {
	var list, items []string
	if old != "" {
		list = strings.Split(old, ",")
	}
	if value != nil {
		items = strings.Split(*value, ",")
	}
	if op == kmsg.IncrementalAlterConfigOpAppend {
		for _, v := range items {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
	} else {
		list = slices.DeleteFunc(list, func(v string) bool { return slices.Contains(items, v) })
	}
	return strings.Join(list, ",")
}
