package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kafkazk/kafkazk/broker"
)

// resolveListeners reads listener.security.protocol.map,
// inter.broker.listener.name / security.inter.broker.protocol and
// control.plane.listener.name into c, and validates them with listeners and
// advertised.listeners in the order and with the messages of Kafka 3.9's
// KafkaConfig (effectiveListenerSecurityProtocolMap, listeners,
// getInterBrokerListenerNameAndSecurityProtocol, validateValues) and
// CoreUtils.listenerListToEndPoints. Every message names its key.
func resolveListeners(s map[string]string, c *broker.Config) error {
	protocols := broker.DefaultListenerProtocols()
	if v, ok := s["listener.security.protocol.map"]; ok {
		m, err := broker.ParseListenerProtocols(v)
		if err != nil {
			return fmt.Errorf("invalid value %q for configuration listener.security.protocol.map: %w", v, err)
		}
		protocols = m
	}
	c.ListenerProtocols = protocols
	listenersValue := strings.Join(c.Listeners, ",")
	if v, ok := s["listeners"]; ok {
		listenersValue = v
	}
	listeners, err := broker.ParseListeners(listenersValue, protocols, true)
	if err != nil {
		return fmt.Errorf("invalid value %q for configuration listeners: %w", listenersValue, err)
	}
	advertised := listeners
	if v, ok := s["advertised.listeners"]; ok && strings.TrimSpace(v) != "" {
		if advertised, err = broker.ParseListeners(v, protocols, false); err != nil {
			return fmt.Errorf("invalid value %q for configuration advertised.listeners: %w", v, err)
		}
	}
	var advertisedNames, listenerNames []string
	for _, l := range advertised {
		advertisedNames = append(advertisedNames, l.Name)
	}
	for _, l := range listeners {
		listenerNames = append(listenerNames, l.Name)
	}
	// KafkaConfig.validateAdvertisedBrokerListenersNonEmptyForBroker
	if len(advertised) == 0 {
		return fmt.Errorf("invalid configuration advertised.listeners: requirement failed: There must be at least one broker advertised listener.")
	}

	// KafkaConfig.getInterBrokerListenerNameAndSecurityProtocol
	ibName, ibSet := s["inter.broker.listener.name"]
	ibProto, ibProtoSet := s["security.inter.broker.protocol"]
	switch {
	case ibSet && ibProtoSet:
		return fmt.Errorf("invalid configuration inter.broker.listener.name: Only one of inter.broker.listener.name and security.inter.broker.protocol should be set.")
	case ibSet:
		name := strings.ToUpper(strings.TrimSpace(ibName))
		if name == "" {
			return fmt.Errorf("invalid value %q for configuration inter.broker.listener.name: The provided listener name is null or empty string", ibName)
		}
		if _, ok := protocols[name]; !ok {
			return fmt.Errorf("invalid value %q for configuration inter.broker.listener.name: Listener with name %s defined in inter.broker.listener.name not found in listener.security.protocol.map.", ibName, name)
		}
		c.InterBrokerListener = name
	case ibProtoSet:
		p, ok := broker.ParseSecurityProtocol(strings.TrimSpace(ibProto))
		if !ok {
			return fmt.Errorf("invalid value %q for configuration security.inter.broker.protocol: Invalid security protocol `%s` defined in security.inter.broker.protocol", ibProto, strings.TrimSpace(ibProto))
		}
		c.InterBrokerListener = p.String() // ListenerName.forSecurityProtocol
	default:
		c.InterBrokerListener = broker.Plaintext.String()
	}
	// KafkaConfig.getControlPlaneListenerNameAndSecurityProtocol
	if v, ok := s["control.plane.listener.name"]; ok && strings.TrimSpace(v) != "" {
		name := strings.ToUpper(strings.TrimSpace(v))
		if _, ok := protocols[name]; !ok {
			return fmt.Errorf("invalid value %q for configuration control.plane.listener.name: Listener with %s defined in control.plane.listener.name not found in listener.security.protocol.map.", v, name)
		}
		c.ControlPlaneListener = name
	}

	// KafkaConfig.validateValues, broker part.
	if !slices.Contains(advertisedNames, c.InterBrokerListener) {
		key := "inter.broker.listener.name"
		if !ibSet {
			key = "security.inter.broker.protocol"
		}
		return fmt.Errorf("invalid configuration %s: requirement failed: inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are %s",
			key, strings.Join(advertisedNames, ","))
	}
	for _, n := range advertisedNames {
		if !slices.Contains(listenerNames, n) {
			return fmt.Errorf("invalid configuration advertised.listeners: requirement failed: advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found %s. The valid options based on the current configuration are %s",
				strings.Join(advertisedNames, ","), strings.Join(listenerNames, ","))
		}
	}
	for _, l := range advertised {
		if l.Host == "0.0.0.0" {
			return fmt.Errorf("invalid configuration advertised.listeners: requirement failed: advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.")
		}
	}
	if c.ControlPlaneListener != "" {
		if !slices.Contains(advertisedNames, c.ControlPlaneListener) {
			return fmt.Errorf("invalid configuration control.plane.listener.name: requirement failed: control.plane.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are %s",
				strings.Join(advertisedNames, ","))
		}
		if c.ControlPlaneListener == c.InterBrokerListener {
			return fmt.Errorf("invalid configuration control.plane.listener.name: requirement failed: control.plane.listener.name, when defined, should have a different value from the inter broker listener name. Currently they both have the value %s",
				c.ControlPlaneListener)
		}
	}
	return nil
}
