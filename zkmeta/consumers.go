package zkmeta

import (
	"errors"
	"fmt"
	"strconv"
)

// ConsumerOffsetPath is the v0 offset znode /consumers/<group>/offsets/<topic>/<partition> (ZkData's
// ConsumerOffset.path).
func ConsumerOffsetPath(group, topic string, partition int32) string {
	return fmt.Sprintf("%s/%s/offsets/%s/%d", ConsumersPath, group, topic, partition)
}

// SetOrCreateConsumerOffset stores a group's committed offset for OffsetCommit v0
// (KafkaZkClient.setOrCreateConsumerOffset): a set of the znode, on NONODE a create with its missing
// parents. Should a concurrent commit create it first (NODEEXISTS), the set is tried again, where Kafka's
// createRecursive would fail the commit. The data is the offset in decimal (ConsumerOffset.encode).
func (c *Client) SetOrCreateConsumerOffset(group, topic string, partition int32, offset int64) error {
	p := ConsumerOffsetPath(group, topic, partition)
	data := []byte(strconv.FormatInt(offset, 10))
	_, err := c.Set(p, data, -1)
	if errors.Is(err, ErrNoNode) {
		err = c.CreateRecursive(p, data, Persistent)
		if errors.Is(err, ErrNodeExists) {
			_, err = c.Set(p, data, -1)
		}
	}
	return err
}

// ConsumerOffset reads a group's offset stored by OffsetCommit v0; ok is false when there is none.
func (c *Client) ConsumerOffset(group, topic string, partition int32) (offset int64, ok bool, err error) {
	p := ConsumerOffsetPath(group, topic, partition)
	data, _, err := c.Get(p)
	if errors.Is(err, ErrNoNode) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	offset, err = strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", p, err)
	}
	return offset, true, nil
}
