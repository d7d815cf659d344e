package zkmeta

import (
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"
)

// Topics lists /brokers/topics, sorted.
func (c *Client) Topics() ([]string, error) { return c.Children(BrokerTopicsPath) }

// WatchTopics lists topics and sets a children watch on /brokers/topics.
func (c *Client) WatchTopics() ([]string, <-chan Event, error) {
	return c.childrenW(BrokerTopicsPath)
}

// TopicAssignment reads /brokers/topics/<t> and its znode version; ok is false if the topic is absent.
func (c *Client) TopicAssignment(topic string) (TopicAssignment, int32, bool, error) {
	data, st, err := c.conn.Get(c.abs(TopicPath(topic)))
	if errors.Is(err, ErrNoNode) {
		return TopicAssignment{}, 0, false, nil
	}
	if err != nil {
		return TopicAssignment{}, 0, false, fmt.Errorf("get topic %s: %w", topic, classify(err))
	}
	a, err := DecodeTopicAssignment(topic, data)
	if err != nil {
		return TopicAssignment{}, 0, false, fmt.Errorf("%s: %w", TopicPath(topic), err)
	}
	return a, st.Version, true, nil
}

// WatchTopicAssignment reads a topic's assignment and sets a data watch; ErrNoNode if it is absent.
func (c *Client) WatchTopicAssignment(topic string) (TopicAssignment, <-chan Event, error) {
	data, _, w, err := c.conn.GetW(c.abs(TopicPath(topic)))
	if err != nil {
		return TopicAssignment{}, nil, fmt.Errorf("watch topic %s: %w", topic, classify(err))
	}
	w2 := c.relay(w)
	a, err := DecodeTopicAssignment(topic, data)
	if err != nil {
		err = fmt.Errorf("%s: %w", TopicPath(topic), err)
	}
	return a, w2, err
}

// CreateTopic writes /config/topics/<t> then /brokers/topics/<t>, in AdminZkClient.createTopicWithAssignment
// order; ErrTopicExists if the topic znode is there. A zero TopicID gets a fresh one.
func (c *Client) CreateTopic(a TopicAssignment, configs map[string]string) error {
	if err := validTopicName(a.Topic); err != nil {
		return err
	}
	if ok, _, err := c.conn.Exists(c.abs(TopicPath(a.Topic))); err != nil {
		return fmt.Errorf("create topic %s: %w", a.Topic, classify(err))
	} else if ok {
		return fmt.Errorf("topic '%s' already exists: %w", a.Topic, ErrTopicExists)
	}
	if err := c.setOrCreateEntityConfig("topics", a.Topic, configs); err != nil {
		return fmt.Errorf("create topic %s: %w", a.Topic, err)
	}
	if a.TopicID == ([16]byte{}) {
		a.TopicID = NewTopicID()
	}
	err := c.createRecursive(c.abs(TopicPath(a.Topic)), EncodeTopicAssignment(a), Persistent)
	if errors.Is(err, ErrNodeExists) {
		return fmt.Errorf("topic '%s' already exists: %w", a.Topic, ErrTopicExists)
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", a.Topic, err)
	}
	return nil
}

// SetTopicAssignment rewrites /brokers/topics/<t> at expectedVersion (-1: any), as the admin path's
// CreatePartitions does; ErrBadVersion on conflict, ErrNoNode if the topic is gone.
func (c *Client) SetTopicAssignment(a TopicAssignment, expectedVersion int32) error {
	if _, err := c.conn.Set(c.abs(TopicPath(a.Topic)), EncodeTopicAssignment(a), expectedVersion); err != nil {
		return fmt.Errorf("set topic %s assignment: %w", a.Topic, classify(err))
	}
	return nil
}

// SetTopicAssignmentFenced is SetTopicAssignment as a controller write (reassignment), fenced by the
// controller epoch znode version.
func (c *Client) SetTopicAssignmentFenced(epochZkVersion int32, a TopicAssignment, expectedVersion int32) error {
	_, err := c.fenced(epochZkVersion, &zk.SetDataRequest{Path: c.abs(TopicPath(a.Topic)), Data: EncodeTopicAssignment(a), Version: expectedVersion})
	if err != nil {
		return fmt.Errorf("set topic %s assignment: %w", a.Topic, err)
	}
	return nil
}

// TopicConfig reads /config/topics/<t>; a missing znode is an empty config.
func (c *Client) TopicConfig(topic string) (map[string]string, error) {
	return c.EntityConfig("topics", topic)
}

// EntityConfig reads /config/<type>/<name>; a missing znode is an empty config.
func (c *Client) EntityConfig(entityType, name string) (map[string]string, error) {
	data, _, err := c.conn.Get(c.abs(EntityConfigPath(entityType, name)))
	if errors.Is(err, ErrNoNode) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get config %s/%s: %w", entityType, name, classify(err))
	}
	cfg, err := DecodeEntityConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EntityConfigPath(entityType, name), err)
	}
	return cfg, nil
}

// ChangeEntityConfig replaces /config/<type>/<name> and then writes the sequential change notification
// /config/changes/config_change_ {"version":2,"entity_path":"<type>/<name>"} (AdminZkClient.changeEntityConfig).
func (c *Client) ChangeEntityConfig(entityType, name string, configs map[string]string) error {
	if err := c.setOrCreateEntityConfig(entityType, name, configs); err != nil {
		return err
	}
	p := c.abs(ConfigChangesPath + "/config_change_")
	if err := c.createRecursive(p, EncodeConfigChange(entityType+"/"+name), PersistentSequential); err != nil {
		return fmt.Errorf("config change notification for %s/%s: %w", entityType, name, err)
	}
	return nil
}

// WatchConfigChanges lists /config/changes (sorted, so by sequence) and sets a children watch.
func (c *Client) WatchConfigChanges() ([]string, <-chan Event, error) {
	return c.childrenW(ConfigChangesPath)
}

// ConfigChange reads one notification's entity path ("topics/t", "brokers/<default>", ...).
func (c *Client) ConfigChange(name string) (string, error) {
	data, _, err := c.Get(ConfigChangesPath + "/" + name)
	if err != nil {
		return "", err
	}
	return DecodeConfigChange(data)
}

func (c *Client) setOrCreateEntityConfig(entityType, name string, configs map[string]string) error {
	p := c.abs(EntityConfigPath(entityType, name))
	data := EncodeEntityConfig(configs)
	_, err := c.conn.Set(p, data, -1)
	if errors.Is(err, ErrNoNode) {
		err = c.createRecursive(p, data, Persistent)
		if errors.Is(err, ErrNodeExists) {
			_, err = c.conn.Set(p, data, -1)
		}
	}
	if err != nil {
		return fmt.Errorf("write config %s/%s: %w", entityType, name, classify(err))
	}
	return nil
}

// validTopicName guards paths only (Kafka's full rules belong to the caller): non-empty, no '/', not . or ..
func validTopicName(t string) error {
	if t == "" || t == "." || t == ".." || path.Base("/"+t) != t {
		return fmt.Errorf("invalid topic name %q", t)
	}
	return nil
}

// PartitionState reads /brokers/topics/<t>/partitions/<p>/state; ok is false when absent.
func (c *Client) PartitionState(topic string, p int32) (LeaderAndIsr, bool, error) {
	data, st, err := c.conn.Get(c.abs(PartitionStatePath(topic, p)))
	if errors.Is(err, ErrNoNode) {
		return LeaderAndIsr{}, false, nil
	}
	if err != nil {
		return LeaderAndIsr{}, false, fmt.Errorf("get %s-%d state: %w", topic, p, classify(err))
	}
	s, err := DecodePartitionState(data, st.Version)
	if err != nil {
		return LeaderAndIsr{}, false, fmt.Errorf("%s: %w", PartitionStatePath(topic, p), err)
	}
	return s, true, nil
}

// PartitionStates reads the state of every partition under /brokers/topics/<t>/partitions that has one.
// A state znode whose data is malformed is left out: the states read are returned together with an error
// that joins one ErrMalformed error (naming the path) per such znode. Any other error returns no states.
func (c *Client) PartitionStates(topic string) (map[int32]LeaderAndIsr, error) {
	names, err := c.Children(TopicPath(topic) + "/partitions")
	if errors.Is(err, ErrNoNode) {
		return map[int32]LeaderAndIsr{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[int32]LeaderAndIsr, len(names))
	var bad []error
	for _, id := range parseIDs(names) {
		s, ok, err := c.PartitionState(topic, id)
		if errors.Is(err, ErrMalformed) {
			bad = append(bad, err)
			continue
		}
		if err != nil {
			return nil, err
		}
		if ok {
			out[id] = s
		}
	}
	return out, errors.Join(bad...)
}

// CreatePartitionStates creates state znodes (and the partitions/<p> parents) in one fenced multi.
// ErrNodeExists if a state already exists; nothing is written then.
func (c *Client) CreatePartitionStates(epochZkVersion int32, topic string, states map[int32]LeaderAndIsr) error {
	parts := make([]int32, 0, len(states))
	for p := range states {
		parts = append(parts, p)
	}
	slices.Sort(parts)
	var ops []any
	create := func(p string, data []byte) {
		ops = append(ops, &zk.CreateRequest{Path: c.abs(p), Data: data, Acl: openACL, Flags: zk.FlagPersistent})
	}
	exists := func(p string) (bool, error) {
		ok, _, err := c.conn.Exists(c.abs(p))
		if err != nil {
			return false, fmt.Errorf("create %s partition states: %w", topic, classify(err))
		}
		return ok, nil
	}
	partsPath := TopicPath(topic) + "/partitions"
	ok, err := exists(partsPath)
	if err != nil {
		return err
	}
	if !ok {
		create(partsPath, nil)
	}
	for _, p := range parts {
		pp := partsPath + "/" + strconv.Itoa(int(p))
		if ok, err := exists(pp); err != nil {
			return err
		} else if !ok {
			create(pp, nil)
		}
		create(PartitionStatePath(topic, p), EncodePartitionState(states[p]))
	}
	if _, err := c.fenced(epochZkVersion, ops...); err != nil {
		return fmt.Errorf("create %s partition states: %w", topic, err)
	}
	return nil
}

// UpdatePartitionState writes a state with CAS on s.ZkVersion, fenced by the controller epoch; returns the
// new partition epoch (znode version). ErrBadVersion on conflict, ErrControllerMoved if fenced off.
func (c *Client) UpdatePartitionState(epochZkVersion int32, topic string, p int32, s LeaderAndIsr) (int32, error) {
	res, err := c.fenced(epochZkVersion, &zk.SetDataRequest{Path: c.abs(PartitionStatePath(topic, p)), Data: EncodePartitionState(s), Version: s.ZkVersion})
	if err != nil {
		return 0, fmt.Errorf("update %s-%d state: %w", topic, p, err)
	}
	return res[0].Stat.Version, nil
}

// MarkTopicForDeletion creates /admin/delete_topics/<t> (AdminZkClient.deleteTopic): ErrNoNode if the
// topic does not exist, ErrTopicMarked if it is already marked.
func (c *Client) MarkTopicForDeletion(topic string) error {
	if err := validTopicName(topic); err != nil {
		return err
	}
	if ok, _, err := c.conn.Exists(c.abs(TopicPath(topic))); err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, classify(err))
	} else if !ok {
		return fmt.Errorf("topic %s to delete does not exist: %w", topic, ErrNoNode)
	}
	err := c.createRecursive(c.abs(DeleteTopicsPath+"/"+topic), nil, Persistent)
	if errors.Is(err, ErrNodeExists) {
		return fmt.Errorf("topic %s is already marked for deletion: %w", topic, ErrTopicMarked)
	}
	if err != nil {
		return fmt.Errorf("delete topic %s: %w", topic, err)
	}
	return nil
}

// WatchTopicDeletions lists /admin/delete_topics and sets a children watch.
func (c *Client) WatchTopicDeletions() ([]string, <-chan Event, error) {
	return c.childrenW(DeleteTopicsPath)
}

// UnmarkTopicForDeletion removes /admin/delete_topics/<t> (fenced); a missing node is fine.
func (c *Client) UnmarkTopicForDeletion(epochZkVersion int32, topic string) error {
	_, err := c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(DeleteTopicsPath + "/" + topic), Version: -1})
	if err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("unmark topic %s for deletion: %w", topic, err)
	}
	return nil
}

// DeleteTopicZnodes removes /brokers/topics/<t> recursively, /config/topics/<t> and
// /admin/delete_topics/<t>, each delete fenced by the controller epoch (TopicDeletionManager's last step).
func (c *Client) DeleteTopicZnodes(epochZkVersion int32, topic string) error {
	if err := validTopicName(topic); err != nil {
		return err
	}
	if err := c.deleteRecursiveFenced(epochZkVersion, TopicPath(topic), 0); err != nil {
		return fmt.Errorf("delete topic %s znodes: %w", topic, err)
	}
	for _, p := range []string{EntityConfigPath("topics", topic), DeleteTopicsPath + "/" + topic} {
		if _, err := c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(p), Version: -1}); err != nil && !errors.Is(err, ErrNoNode) {
			return fmt.Errorf("delete topic %s znodes: %w", topic, err)
		}
	}
	return nil
}

func (c *Client) deleteRecursiveFenced(epochZkVersion int32, p string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("delete %s: too deep", p)
	}
	for attempt := 0; attempt < 5; attempt++ {
		children, _, err := c.conn.Children(c.abs(p))
		if errors.Is(err, ErrNoNode) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", p, classify(err))
		}
		for _, ch := range children {
			if err := c.deleteRecursiveFenced(epochZkVersion, p+"/"+ch, depth+1); err != nil {
				return err
			}
		}
		_, err = c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(p), Version: -1})
		if err == nil || errors.Is(err, ErrNoNode) {
			return nil
		}
		if !errors.Is(err, ErrNotEmpty) {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	return fmt.Errorf("delete %s: children keep appearing", p)
}

// AllocateProducerIDBlock takes the next block of blockSize ids for brokerID with a CAS on
// /latest_producer_id_block (ZkProducerIdManager.getNewProducerIdBlock). Returns inclusive [start, end].
func (c *Client) AllocateProducerIDBlock(brokerID int32, blockSize int64) (start, end int64, err error) {
	if blockSize <= 0 {
		return 0, 0, fmt.Errorf("allocate producer ids: block size %d must be positive", blockSize)
	}
	p := c.abs(ProducerIDBlockPath)
	for attempt := 0; attempt < 100; attempt++ {
		data, st, err := c.conn.Get(p)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNoNode) {
			return 0, 0, fmt.Errorf("allocate producer ids: %w", classify(err))
		}
		start = 0
		if len(data) > 0 {
			cur, err := DecodeProducerIDBlock(data)
			if err != nil {
				return 0, 0, fmt.Errorf("allocate producer ids: %w", err)
			}
			if cur.End > math.MaxInt64-blockSize {
				return 0, 0, fmt.Errorf("allocate producer ids: exhausted (last block ends at %d)", cur.End)
			}
			start = cur.End + 1
		}
		end = start + blockSize - 1
		blk := EncodeProducerIDBlock(ProducerIDBlock{BrokerID: brokerID, Start: start, End: end})
		if exists {
			_, err = c.conn.Set(p, blk, st.Version)
		} else {
			err = c.createRecursive(p, blk, Persistent)
		}
		if err == nil {
			return start, end, nil
		}
		if errors.Is(err, ErrBadVersion) || errors.Is(err, ErrNodeExists) || errors.Is(err, ErrNoNode) {
			continue // another broker won this round: re-read
		}
		return 0, 0, fmt.Errorf("allocate producer ids: %w", classify(err))
	}
	return 0, 0, fmt.Errorf("allocate producer ids: too much contention on %s", ProducerIDBlockPath)
}
