package broker

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dynamic broker configs in ZooKeeper mode (ZkAdminManager.alterBrokerConfigs):
// a BROKER resource named by this broker's id stores /config/brokers/<id>,
// the empty name the cluster default /config/brokers/<default>; both write
// a /config/changes notification, and every broker's config watcher applies
// its own id and the default (dynamic_broker_config.go has which keys).

// brokerListKeyDefaults are the dynamic KafkaConfig keys of type LIST with
// their Kafka defaults (the others are refused before they are stored).
var brokerListKeyDefaults = map[string]string{
	"log.cleanup.policy":      "delete",
	"metric.reporters":        "",
	"ssl.cipher.suites":       "",
	"ssl.enabled.protocols":   "TLSv1.2,TLSv1.3",
	"sasl.enabled.mechanisms": "GSSAPI",
}

// brokerEntity maps a BROKER resource name to its znode name
// (ZkAdminManager.getBrokerId / resourceNameToBrokerId).
func (s *Server) brokerEntity(name string) (string, error) {
	if name == "" {
		return defaultBrokerEntity, nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return "", protocol.NewAPIError(kerr.InvalidRequest, "Broker id must be an integer, but it is: %s", name)
	}
	if int32(id) != s.cfg.BrokerID {
		return "", protocol.NewAPIError(kerr.InvalidRequest, "Unexpected broker id, expected %d, but received %s", s.cfg.BrokerID, name)
	}
	return name, nil
}

// incrementalAlterBroker applies the operations to the broker entity's
// stored dynamic configs (ConfigAdminManager.prepareIncrementalConfigs):
// SET and DELETE on any key, APPEND and SUBTRACT on LIST keys only,
// starting from Kafka's default when the entity has no value.
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
			def, isList := brokerListKeyDefaults[op.Name]
			if !isList {
				verb := "append"
				if op.Op == kmsg.IncrementalAlterConfigOpSubtract {
					verb = "subtract"
				}
				return protocol.NewAPIError(kerr.InvalidConfig, "Config value %s is not allowed for config key: %s", verb, op.Name)
			}
			old, ok := props[op.Name]
			if !ok {
				old = def
			}
			props[op.Name] = applyListOp(op.Op, old, op.Value)
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
	perBroker := entity != defaultBrokerEntity
	err = validateDynamicBrokerConfigs(props, perBroker)
	if err == nil {
		err = s.checkReconfiguration(perBroker, props)
	}
	if err == nil && !validateOnly {
		err = s.checkPasswordConfigs(props, perBroker)
	}
	if err != nil {
		return protocol.NewAPIError(kerr.InvalidConfig, "Invalid config value for resource ConfigResource(type=BROKER, name='%s'): %s", name, err)
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
