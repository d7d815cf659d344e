package storage

import "sort"

// SetDefaultConfig makes c the broker-level log config every topic starts
// from (a dynamic log.* broker config changed: Kafka's
// LogManager.reconfigureDefaultLogConfig). Logs of topics without a config
// of their own take it at once; the topics that have one are returned, for
// the caller to merge their overrides over c again (SetTopicConfig).
func (m *Manager) SetDefaultConfig(c LogConfig) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cfg = c.normalized()
	for tp, ml := range m.logs {
		if _, own := m.topicConfigs[tp.Topic]; !own {
			ml.log.SetConfig(m.cfg)
		}
	}
	topics := make([]string, 0, len(m.topicConfigs))
	for t := range m.topicConfigs {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return topics
}
