package broker

import (
	"sort"
	"sync"
)

// metadataCache is the broker's picture of the cluster, written only by the
// controller's UpdateMetadata requests (as in Kafka's ZkMetadataCache) and
// read by Metadata, Produce and Fetch.
type metadataCache struct {
	mu              sync.RWMutex
	controllerID    int32
	controllerEpoch int32
	brokers         map[int32]cachedBroker
	topics          map[string]*cachedTopic
	topicsByID      map[[16]byte]string
}

// cachedBroker is a live broker of the last UpdateMetadata: its endpoints
// on every listener (ZkMetadataCache's aliveBrokers and aliveNodes).
type cachedBroker struct {
	ID        int32
	Rack      *string
	Endpoints []cachedEndpoint // registered order
}

// cachedEndpoint is one listener's endpoint of a live broker.
type cachedEndpoint struct {
	Listener string
	Host     string
	Port     int32
	Protocol SecurityProtocol
}

// cachedNode is a broker as a client of one listener sees it (Kafka's Node).
type cachedNode struct {
	ID   int32
	Host string
	Port int32
	Rack *string
}

// node is the broker's node on listener (Broker.getNode): ok is false when
// it has no endpoint there.
func (b cachedBroker) node(listener string) (cachedNode, bool) {
	for _, e := range b.Endpoints {
		if e.Listener == listener {
			return cachedNode{ID: b.ID, Host: e.Host, Port: e.Port, Rack: b.Rack}, true
		}
	}
	return cachedNode{}, false
}

type cachedTopic struct {
	Name       string
	ID         [16]byte
	Partitions map[int32]cachedPartition
}

type cachedPartition struct {
	Leader          int32
	LeaderEpoch     int32
	ISR             []int32
	Replicas        []int32
	OfflineReplicas []int32
}

// leaderDuringDelete is the leader id the controller sends in UpdateMetadata
// for partitions of a topic being deleted (Kafka's LeaderAndIsr.LeaderDuringDelete).
const leaderDuringDelete = -2

func newMetadataCache() *metadataCache {
	return &metadataCache{
		controllerID: -1,
		brokers:      map[int32]cachedBroker{},
		topics:       map[string]*cachedTopic{},
		topicsByID:   map[[16]byte]string{},
	}
}

func (m *metadataCache) controller() int32 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.controllerID
}

func (m *metadataCache) broker(id int32) (cachedBroker, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.brokers[id]
	return b, ok
}

func (m *metadataCache) liveBrokers() []cachedBroker {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]cachedBroker, 0, len(m.brokers))
	for _, b := range m.brokers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// aliveNode is ZkMetadataCache.getAliveBrokerNode: the live broker's node
// on listener; ok is false when the broker is not alive or lacks the
// listener.
func (m *metadataCache) aliveNode(id int32, listener string) (cachedNode, bool) {
	m.mu.RLock()
	b, ok := m.brokers[id]
	m.mu.RUnlock()
	if !ok {
		return cachedNode{}, false
	}
	return b.node(listener)
}

// aliveNodes is ZkMetadataCache.getAliveBrokerNodes: the nodes on listener
// of the live brokers that have it, by id.
func (m *metadataCache) aliveNodes(listener string) []cachedNode {
	var out []cachedNode
	for _, b := range m.liveBrokers() {
		if n, ok := b.node(listener); ok {
			out = append(out, n)
		}
	}
	return out
}

// topic returns a copy-safe pointer: cached topics are replaced, never
// mutated, after they are published.
func (m *metadataCache) topic(name string) (*cachedTopic, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.topics[name]
	return t, ok
}

// containsPartition is ZkMetadataCache.contains(TopicPartition): the last
// UpdateMetadata gave the partition a state.
func (m *metadataCache) containsPartition(topic string, partition int32) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.topics[topic]
	if !ok {
		return false
	}
	_, ok = t.Partitions[partition]
	return ok
}

func (m *metadataCache) topicName(id [16]byte) (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, ok := m.topicsByID[id]
	return n, ok
}

func (m *metadataCache) topicNames() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.topics))
	for n := range m.topics {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// partitionUpdate is one partition state of an UpdateMetadata request.
type partitionUpdate struct {
	Topic     string
	TopicID   [16]byte
	Partition int32
	State     cachedPartition
}

// update applies one UpdateMetadata request: the live broker set is
// replaced; partition states are upserted, or removed when the leader is
// leaderDuringDelete. It refuses requests from an older controller epoch.
func (m *metadataCache) update(controllerID, controllerEpoch int32, brokers []cachedBroker, parts []partitionUpdate) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if controllerEpoch < m.controllerEpoch {
		return false
	}
	m.controllerID, m.controllerEpoch = controllerID, controllerEpoch
	m.brokers = make(map[int32]cachedBroker, len(brokers))
	for _, b := range brokers {
		m.brokers[b.ID] = b
	}
	changed := map[string]*cachedTopic{}
	for _, p := range parts {
		t, ok := changed[p.Topic]
		if !ok {
			t = &cachedTopic{Name: p.Topic, ID: p.TopicID, Partitions: map[int32]cachedPartition{}}
			if old, ok := m.topics[p.Topic]; ok {
				if p.TopicID == ([16]byte{}) || p.TopicID == old.ID {
					t.ID = old.ID
					for k, v := range old.Partitions {
						t.Partitions[k] = v
					}
				}
			}
			changed[p.Topic] = t
		}
		if p.State.Leader == leaderDuringDelete {
			delete(t.Partitions, p.Partition)
			continue
		}
		t.Partitions[p.Partition] = p.State
	}
	for name, t := range changed {
		if old, ok := m.topics[name]; ok {
			delete(m.topicsByID, old.ID)
		}
		if len(t.Partitions) == 0 {
			delete(m.topics, name)
			continue
		}
		m.topics[name] = t
		if t.ID != ([16]byte{}) {
			m.topicsByID[t.ID] = name
		}
	}
	return true
}
