package broker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dynamic broker configs in ZooKeeper mode (ZkAdminManager.alterBrokerConfigs):
// a BROKER resource named by this broker's id stores /config/brokers/<id>,
// the empty name the cluster default /config/brokers/<default>; both write
// a /config/changes notification, and every broker's config watcher applies
// its own id and the default. Only the replication quota keys are dynamic
// here.

// brokerEntity maps a BROKER resource name to its znode name
// (ZkAdminManager.getBrokerId / resourceNameToBrokerId).
func (s *Server) brokerEntity(name string) (string, error) {
	if name == "" {
		return defaultBrokerEntity, nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return "", newAPIError(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
	}
	if int32(id) != s.cfg.BrokerID {
		return "", newAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d, but received %s", s.cfg.BrokerID, name)
	}
	return name, nil
}

// incrementalAlterBroker applies SET and DELETE to the broker entity's
// stored dynamic configs; APPEND and SUBTRACT apply to list keys only and
// none of the dynamic keys is a list.
func (s *Server) incrementalAlterBroker(r kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) error {
	entity, err := s.brokerEntity(r.ResourceName)
	if err != nil {
		return err
	}
	current, err := s.zk.EntityConfig("brokers", entity)
	if err != nil {
		return fmt.Errorf("reading config of broker %s: %w", entity, err)
	}
	props := maps.Clone(current)
	if props == nil {
		props = map[string]string{}
	}
	for _, op := range r.Configs {
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			v := ""
			if op.Value != nil {
				v = *op.Value
			}
			props[op.Name] = v
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(props, op.Name)
		default:
			verb := "append"
			if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
				verb = "subtract"
			}
			return newAPIError(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
		}
	}
	return s.alterBrokerConfig(r.ResourceName, props, validateOnly)
}

// alterBrokerConfig validates props as the entity's complete dynamic config
// (DynamicBrokerConfig.validate, DynamicConfig.Broker.validate) and, unless
// validateOnly, stores it, notifies every broker and applies it here.
func (s *Server) alterBrokerConfig(name string, props map[string]string, validateOnly bool) error {
	entity, err := s.brokerEntity(name)
	if err != nil {
		return err
	}
	if err := validateBrokerDynamicConfigs(props); err != nil {
		return newAPIError(kerr.InvalidConfig, "Invalid config value for resource ConfigResource(type=BROKER, name='%s'): %s", name, err)
	}
	if validateOnly {
		return nil
	}
	clean := make(map[string]string, len(props))
	for k, v := range props {
		clean[k] = strings.TrimSpace(v)
	}
	s.logger.Info("updating dynamic broker config", "entity", entity, "config", clean)
	if err := s.zk.ChangeEntityConfig("brokers", entity, clean); err != nil {
		return fmt.Errorf("writing config of broker %s: %w", entity, err)
	}
	// This broker applies it now; all brokers (this one again) on the notification.
	if err := s.refreshBrokerConfig(entity); err != nil {
		s.logger.Warn("applying broker config failed", "entity", entity, "err", err)
	}
	return nil
}

// validateBrokerDynamicConfigs refuses keys that are not dynamic here, with
// Kafka's "Cannot update these configs dynamically" message, and values
// that are not LONGs of at least 0.
func validateBrokerDynamicConfigs(props map[string]string) error {
	var bad []string
	for _, k := range sortedKeys(props) {
		if !isDynamicBrokerKey(k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("Cannot update these configs dynamically: Set(%s)", strings.Join(bad, ", "))
	}
	for _, k := range sortedKeys(props) {
		v := strings.TrimSpace(props[k])
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("Invalid value %s for configuration %s: Not a number of type LONG", v, k)
		}
		if n < 0 {
			return fmt.Errorf("Invalid value %s for configuration %s: Value must be at least 0", v, k)
		}
	}
	return nil
}

// dynamicBrokerEntries are DescribeConfigs' entries for the dynamic broker
// configs: for this broker (perBroker) every key set for it or as cluster
// default, sourced DYNAMIC_BROKER_CONFIG or DYNAMIC_DEFAULT_BROKER_CONFIG
// with the default as a lower synonym; for the default resource the
// default's keys only.
func (s *Server) dynamicBrokerEntries(perBroker bool, names []string, includeSynonyms bool) []kmsg.DescribeConfigsResponseResourceConfig {
	own, defaults := s.replicas.fetchers.quotas.brokerConfigs()
	if !perBroker {
		own = map[string]string{}
	}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for _, k := range dynamicBrokerKeys {
		if len(names) > 0 && !slices.Contains(names, k) {
			continue
		}
		var syns []configSynonym
		if v, ok := own[k]; ok {
			syns = append(syns, configSynonym{name: k, value: &v, source: kmsg.ConfigSourceDynamicBrokerConfig})
		}
		if v, ok := defaults[k]; ok {
			syns = append(syns, configSynonym{name: k, value: &v, source: kmsg.ConfigSourceDynamicDefaultBrokerConfig})
		}
		if len(syns) == 0 {
			continue
		}
		e := kmsg.NewDescribeConfigsResponseResourceConfig()
		e.Name, e.ConfigType = k, kmsg.ConfigTypeLong
		e.Value = syns[0].value
		setSource(&e, syns, includeSynonyms)
		out = append(out, e)
	}
	return out
}
