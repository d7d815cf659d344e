package zkmeta

import "sort"

// UserConfigKeysInOrder returns a user config's keys in the order Kafka's
// tools print them: java.util.Properties iteration order, the order
// EncodeEntityConfig writes them (ConfigCommand --zookeeper --describe).
func UserConfigKeysInOrder(config map[string]string) []string {
	keys := make([]string, 0, len(config))
	for k := range config {
		keys = append(keys, k)
	}
	sort.Strings(keys) // EncodeEntityConfig's insertion order
	return javaPropertiesOrder(keys)
}
