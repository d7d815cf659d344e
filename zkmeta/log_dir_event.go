package zkmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Log dir event notifications (KIP-112): a broker whose log dir failed
// creates a persistent sequential znode
// /log_dir_event_notification/log_dir_event_<seq> naming itself
// (KafkaZkClient.propagateLogDirEvent); the controller watches the
// children, reads the broker ids, asks those brokers for the state of all
// their replicas and deletes the notifications it handled.

// LogDirEventPrefix names the sequential notifications under
// /log_dir_event_notification (LogDirEventNotificationSequenceZNode).
const LogDirEventPrefix = "log_dir_event_"

// logDirFailureEvent is the event code of a log dir failure
// (LogDirEventNotificationSequenceZNode.LogDirFailureEvent).
const logDirFailureEvent = 1

// EncodeLogDirEvent renders a notification as Kafka's
// LogDirEventNotificationSequenceZNode.encode (an immutable Map3, insertion
// order): {"version":1,"broker":N,"event":1}.
func EncodeLogDirEvent(brokerID int32) []byte {
	return []byte(fmt.Sprintf(`{"version":1,"broker":%d,"event":%d}`, brokerID, logDirFailureEvent))
}

// DecodeLogDirEvent reads the broker id of a notification
// (LogDirEventNotificationSequenceZNode.decode reads "broker" only).
func DecodeLogDirEvent(data []byte) (int32, error) {
	var raw struct {
		Broker *flexInt `json:"broker"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return 0, fmt.Errorf("decode log dir event %q: %w", data, err)
	}
	if raw.Broker == nil {
		return 0, fmt.Errorf("decode log dir event %q: no broker", data)
	}
	return int32(*raw.Broker), nil
}

// LogDirEventSeq is the sequence number of a notification's name
// (log_dir_event_0000000007 is "0000000007"); false for any other name.
func LogDirEventSeq(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, LogDirEventPrefix)
	if !ok || rest == "" {
		return "", false
	}
	if _, err := strconv.ParseUint(rest, 10, 64); err != nil {
		return "", false
	}
	return rest, true
}

// PropagateLogDirEvent tells the controller that a log dir of brokerID
// failed (KafkaZkClient.propagateLogDirEvent): it creates
// /log_dir_event_notification/log_dir_event_<seq> and returns its path.
func (c *Client) PropagateLogDirEvent(brokerID int32) (string, error) {
	p := LogDirEventPath + "/" + LogDirEventPrefix
	data := EncodeLogDirEvent(brokerID)
	name, err := c.conn.Create(c.abs(p), data, PersistentSequential.flags(), openACL)
	if errors.Is(err, ErrNoNode) { // the parent is made at start-up (EnsurePaths); made again if deleted by hand
		if perr := c.createRecursive(c.abs(LogDirEventPath), nil, Persistent); perr != nil && !errors.Is(perr, ErrNodeExists) {
			return "", fmt.Errorf("create %s: %w", LogDirEventPath, perr)
		}
		name, err = c.conn.Create(c.abs(p), data, PersistentSequential.flags(), openACL)
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", p, classify(err))
	}
	return c.rel(name), nil
}

// WatchLogDirEvents lists the notifications under /log_dir_event_notification
// (names, sorted) and sets a children watch
// (KafkaZkClient.getAllLogDirEventNotifications with registerWatch); a
// missing parent is no notification.
func (c *Client) WatchLogDirEvents() ([]string, <-chan Event, error) {
	names, w, err := c.childrenW(LogDirEventPath)
	if err != nil {
		return nil, nil, classify(err)
	}
	return names, w, nil
}

// LogDirEventBrokers reads the broker ids of the notifications names
// (KafkaZkClient.getBrokerIdsFromLogDirEvents): a notification already gone
// is skipped, and so is one that cannot be decoded, whose error is
// returned in bad (joined) for the caller to log; err is a ZooKeeper
// failure.
func (c *Client) LogDirEventBrokers(names []string) (ids []int32, bad error, err error) {
	var bads []error
	for _, n := range names {
		p := LogDirEventPath + "/" + n
		data, _, gerr := c.conn.Get(c.abs(p))
		if errors.Is(gerr, ErrNoNode) {
			continue
		}
		if gerr != nil {
			return nil, nil, fmt.Errorf("get %s: %w", p, classify(gerr))
		}
		id, derr := DecodeLogDirEvent(data)
		if derr != nil {
			bads = append(bads, fmt.Errorf("%s: %w", p, derr))
			continue
		}
		ids = append(ids, id)
	}
	return ids, errors.Join(bads...), nil
}

// DeleteLogDirEvents deletes the notifications names, each delete fenced by
// the controller epoch (KafkaZkClient.deleteLogDirEventNotifications); one
// already gone is not an error.
func (c *Client) DeleteLogDirEvents(epochZkVersion int32, names []string) error {
	for _, n := range names {
		p := LogDirEventPath + "/" + n
		if _, err := c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(p), Version: -1}); err != nil && !errors.Is(err, ErrNoNode) {
			return fmt.Errorf("delete %s: %w", p, err)
		}
	}
	return nil
}
