package zkmeta

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/go-zookeeper/zk"
)

// PartitionReplicas is one entry of /admin/reassign_partitions.
type PartitionReplicas struct {
	Topic     string
	Partition int32
	Replicas  []int32
}

// TopicPartition names a partition in the admin znodes.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// EncodeReassignPartitions renders /admin/reassign_partitions as ReassignPartitionsZNode.encode:
// {"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}.
func EncodeReassignPartitions(parts []PartitionReplicas) []byte {
	items := make([]string, 0, len(parts))
	for _, p := range parts {
		items = append(items, encodeObj(rawObj{
			"topic":     jsonString(p.Topic),
			"partition": jsonInt(int64(p.Partition)),
			"replicas":  jsonIntList(p.Replicas),
		}, []string{"topic", "partition", "replicas"}))
	}
	return []byte(encodeObj(rawObj{"version": "1", "partitions": "[" + strings.Join(items, ",") + "]"},
		[]string{"version", "partitions"}))
}

// DecodeReassignPartitions parses /admin/reassign_partitions.
func DecodeReassignPartitions(data []byte) ([]PartitionReplicas, error) {
	var raw struct {
		Partitions []struct {
			Topic     *string `json:"topic"`
			Partition *int32  `json:"partition"`
			Replicas  []int32 `json:"replicas"`
		} `json:"partitions"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return nil, malformed(ReassignPath, data, err)
	}
	out := make([]PartitionReplicas, 0, len(raw.Partitions))
	for _, p := range raw.Partitions {
		if p.Topic == nil || p.Partition == nil {
			return nil, malformed(ReassignPath, data, errors.New("entry without topic or partition"))
		}
		out = append(out, PartitionReplicas{Topic: *p.Topic, Partition: *p.Partition, Replicas: p.Replicas})
	}
	return out, nil
}

// EncodePreferredReplicaElection renders /admin/preferred_replica_election as
// PreferredReplicaElectionZNode.encode: {"version":1,"partitions":[{"topic":"t","partition":0}]}.
func EncodePreferredReplicaElection(parts []TopicPartition) []byte {
	items := make([]string, 0, len(parts))
	for _, p := range parts {
		items = append(items, encodeObj(rawObj{"topic": jsonString(p.Topic), "partition": jsonInt(int64(p.Partition))},
			[]string{"topic", "partition"}))
	}
	return []byte(encodeObj(rawObj{"version": "1", "partitions": "[" + strings.Join(items, ",") + "]"},
		[]string{"version", "partitions"}))
}

// DecodePreferredReplicaElection parses /admin/preferred_replica_election.
func DecodePreferredReplicaElection(data []byte) ([]TopicPartition, error) {
	var raw struct {
		Partitions []struct {
			Topic     *string `json:"topic"`
			Partition *int32  `json:"partition"`
		} `json:"partitions"`
	}
	if err := decodeObject(data, &raw); err != nil {
		return nil, malformed(PreferredReplicaPath, data, err)
	}
	out := make([]TopicPartition, 0, len(raw.Partitions))
	for _, p := range raw.Partitions {
		if p.Topic == nil || p.Partition == nil {
			return nil, malformed(PreferredReplicaPath, data, errors.New("entry without topic or partition"))
		}
		out = append(out, TopicPartition{Topic: *p.Topic, Partition: *p.Partition})
	}
	return out, nil
}

// watchData reads a znode that may be absent and sets an exists watch (fires on creation, change and
// deletion); data is nil and ok false when it is absent.
func (c *Client) watchData(p string) (data []byte, ok bool, watch <-chan Event, err error) {
	exists, _, w, err := c.conn.ExistsW(c.abs(p))
	if err != nil {
		return nil, false, nil, fmt.Errorf("watch %s: %w", p, classify(err))
	}
	w2 := c.relay(w)
	if !exists {
		return nil, false, w2, nil
	}
	data, _, err = c.conn.Get(c.abs(p))
	if errors.Is(err, ErrNoNode) {
		return nil, false, w2, nil
	}
	if err != nil {
		return nil, false, w2, fmt.Errorf("get %s: %w", p, classify(err))
	}
	return data, true, w2, nil
}

// WatchReassignPartitions reads the legacy /admin/reassign_partitions znode (ok false when absent) and
// sets an exists watch on it.
func (c *Client) WatchReassignPartitions() ([]PartitionReplicas, bool, <-chan Event, error) {
	data, ok, w, err := c.watchData(ReassignPath)
	if err != nil || !ok {
		return nil, false, w, err
	}
	parts, err := DecodeReassignPartitions(data)
	return parts, true, w, err
}

// SetReassignPartitions rewrites /admin/reassign_partitions with the remaining entries (deletes it when
// none remain), fenced by the controller epoch: the controller's bookkeeping of legacy reassignments.
func (c *Client) SetReassignPartitions(epochZkVersion int32, parts []PartitionReplicas) error {
	var err error
	if len(parts) == 0 {
		_, err = c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(ReassignPath), Version: -1})
	} else {
		sort.Slice(parts, func(i, j int) bool {
			if parts[i].Topic != parts[j].Topic {
				return parts[i].Topic < parts[j].Topic
			}
			return parts[i].Partition < parts[j].Partition
		})
		_, err = c.fenced(epochZkVersion, &zk.SetDataRequest{Path: c.abs(ReassignPath), Data: EncodeReassignPartitions(parts), Version: -1})
	}
	if err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("update %s: %w", ReassignPath, err)
	}
	return nil
}

// WatchPreferredReplicaElection reads /admin/preferred_replica_election (ok false when absent) and sets
// an exists watch on it.
func (c *Client) WatchPreferredReplicaElection() ([]TopicPartition, bool, <-chan Event, error) {
	data, ok, w, err := c.watchData(PreferredReplicaPath)
	if err != nil || !ok {
		return nil, false, w, err
	}
	parts, err := DecodePreferredReplicaElection(data)
	return parts, true, w, err
}

// DeletePreferredReplicaElection removes /admin/preferred_replica_election (fenced) once the controller
// has run the elections it asks for; a missing znode is fine.
func (c *Client) DeletePreferredReplicaElection(epochZkVersion int32) error {
	_, err := c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(PreferredReplicaPath), Version: -1})
	if err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("delete %s: %w", PreferredReplicaPath, err)
	}
	return nil
}

// TopicDeletions lists /admin/delete_topics without a watch.
func (c *Client) TopicDeletions() ([]string, error) {
	names, err := c.Children(DeleteTopicsPath)
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	return names, err
}

// UpdateTopicAssignmentFenced is SetTopicAssignmentFenced returning the znode's new version, so the
// controller's next CAS on the topic znode needs no re-read.
func (c *Client) UpdateTopicAssignmentFenced(epochZkVersion int32, a TopicAssignment, expectedVersion int32) (int32, error) {
	res, err := c.fenced(epochZkVersion, &zk.SetDataRequest{Path: c.abs(TopicPath(a.Topic)), Data: EncodeTopicAssignment(a), Version: expectedVersion})
	if err != nil {
		return 0, fmt.Errorf("set topic %s assignment: %w", a.Topic, err)
	}
	return res[0].Stat.Version, nil
}
