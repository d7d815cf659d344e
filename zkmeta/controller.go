package zkmeta

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-zookeeper/zk"
)

// ControllerEpoch reads /controller_epoch: the epoch and the znode version that fences controller writes.
func (c *Client) ControllerEpoch() (epoch int32, zkVersion int32, err error) {
	data, st, err := c.conn.Get(c.abs(ControllerEpochPath))
	if err != nil {
		return 0, 0, fmt.Errorf("get %s: %w", ControllerEpochPath, classify(err))
	}
	epoch, err = DecodeControllerEpoch(data)
	if err != nil {
		return 0, 0, err
	}
	return epoch, st.Version, nil
}

// ElectController tries to become controller as KafkaZkClient.registerControllerAndIncrementControllerEpoch:
// read (or create with 0) /controller_epoch, then one multi creating ephemeral /controller and setting
// /controller_epoch to epoch+1 at the version read. won=false (no error) when another broker won; the
// caller then watches /controller and retries when it disappears.
//
// A multi whose answer is lost (connection loss) may have been applied: as Kafka's
// checkControllerAndEpoch, /controller holding our id under this session with the epoch we wrote is our
// win. A /controller this session already holds is ours too (an earlier call's answer and check were
// both lost): while it exists nobody else can be elected, so /controller_epoch is still the one we wrote.
func (c *Client) ElectController(brokerID int32) (won bool, epoch int32, epochZkVersion int32, err error) {
	if ok, _, err := c.conn.Exists(c.abs(ControllerPath)); err != nil {
		return false, 0, 0, fmt.Errorf("elect controller: %w", classify(err))
	} else if ok {
		won, epoch, epochZkVersion, err := c.checkControllerAndEpoch(brokerID, -1)
		if err != nil {
			return false, 0, 0, fmt.Errorf("elect controller: %w", err)
		}
		return won, epoch, epochZkVersion, nil
	}
	cur, curVersion, err := c.ControllerEpoch()
	if errors.Is(err, ErrNoNode) {
		// KafkaController.InitialControllerEpoch = 0, at znode version 0.
		cerr := c.createRecursive(c.abs(ControllerEpochPath), EncodeControllerEpoch(0), Persistent)
		if cerr != nil && !errors.Is(cerr, ErrNodeExists) {
			return false, 0, 0, fmt.Errorf("elect controller: %w", cerr)
		}
		cur, curVersion, err = c.ControllerEpoch()
	}
	if err != nil {
		return false, 0, 0, fmt.Errorf("elect controller: %w", err)
	}
	newEpoch := cur + 1
	res, idx, err := c.multi(
		&zk.CreateRequest{Path: c.abs(ControllerPath), Data: EncodeController(brokerID, time.Now().UnixMilli()), Acl: openACL, Flags: zk.FlagEphemeral},
		&zk.SetDataRequest{Path: c.abs(ControllerEpochPath), Data: EncodeControllerEpoch(newEpoch), Version: curVersion},
	)
	if err == nil {
		return true, newEpoch, res[1].Stat.Version, nil
	}
	// Lost the race (NODEEXISTS, BADVERSION), or the answer was lost and the multi may have gone through.
	lostRace := idx >= 0 && (errors.Is(err, ErrNodeExists) || errors.Is(err, ErrBadVersion))
	won, epoch, epochZkVersion, cerr := c.checkControllerAndEpoch(brokerID, newEpoch)
	switch {
	case cerr != nil:
		return false, 0, 0, fmt.Errorf("elect controller: %w (checking after: %w)", classify(err), cerr)
	case won || lostRace:
		return won, epoch, epochZkVersion, nil
	}
	return false, 0, 0, fmt.Errorf("elect controller: %w", classify(err))
}

// checkControllerAndEpoch reports whether /controller is this session's with brokerID and, when newEpoch
// is not negative, /controller_epoch holds newEpoch; won comes with the epoch and its znode version.
func (c *Client) checkControllerAndEpoch(brokerID, newEpoch int32) (won bool, epoch int32, epochZkVersion int32, err error) {
	data, st, err := c.conn.Get(c.abs(ControllerPath))
	if errors.Is(err, ErrNoNode) {
		return false, 0, 0, nil
	}
	if err != nil {
		return false, 0, 0, fmt.Errorf("get %s: %w", ControllerPath, classify(err))
	}
	ci, derr := DecodeController(data)
	if derr != nil || ci.BrokerID != brokerID || st.EphemeralOwner != c.conn.SessionID() {
		return false, 0, 0, nil
	}
	e, v, err := c.ControllerEpoch()
	if err != nil {
		return false, 0, 0, err
	}
	if newEpoch >= 0 && e != newEpoch {
		return false, 0, 0, nil
	}
	return true, e, v, nil
}

// Controller reads /controller; ok is false when there is no controller.
func (c *Client) Controller() (ControllerInfo, bool, error) {
	data, _, err := c.conn.Get(c.abs(ControllerPath))
	if errors.Is(err, ErrNoNode) {
		return ControllerInfo{}, false, nil
	}
	if err != nil {
		return ControllerInfo{}, false, fmt.Errorf("get %s: %w", ControllerPath, classify(err))
	}
	ci, err := DecodeController(data)
	if err != nil {
		return ControllerInfo{}, false, err
	}
	return ci, true, nil
}

// WatchController reads /controller and sets an exists watch (fires on creation, deletion and change).
func (c *Client) WatchController() (ControllerInfo, bool, <-chan Event, error) {
	ok, _, w, err := c.conn.ExistsW(c.abs(ControllerPath))
	if err != nil {
		return ControllerInfo{}, false, nil, fmt.Errorf("watch %s: %w", ControllerPath, classify(err))
	}
	w2 := c.relay(w)
	if !ok {
		return ControllerInfo{}, false, w2, nil
	}
	ci, ok, err := c.Controller()
	return ci, ok, w2, err
}

// ResignController deletes /controller if this session owns it, fenced by epochZkVersion (Kafka's
// deleteController); ErrControllerMoved if another controller has bumped the epoch since.
func (c *Client) ResignController(epochZkVersion int32) error {
	_, st, err := c.conn.Get(c.abs(ControllerPath))
	if errors.Is(err, ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("resign controller: %w", classify(err))
	}
	if st.EphemeralOwner != c.conn.SessionID() {
		return nil
	}
	_, err = c.fenced(epochZkVersion, &zk.DeleteRequest{Path: c.abs(ControllerPath), Version: st.Version})
	if err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("resign controller: %w", err)
	}
	return nil
}
