package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZKConn is the test's own ZooKeeper session (opened once, closed with the
// cluster). It goes straight to ZooKeeper, not through any broker's proxy,
// so faults never cut it. Paths given to it need ZKPath.
func (c *Cluster) ZKConn() *zk.Conn {
	c.tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zkc != nil {
		return c.zkc
	}
	conn, events, err := zk.Connect([]string{c.ZK.Addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		c.tb.Fatalf("connecting to ZooKeeper: %v", err)
	}
	deadline := time.After(15 * time.Second)
	for connected := false; !connected; {
		select {
		case ev := <-events:
			connected = ev.State == zk.StateHasSession
		case <-deadline:
			conn.Close()
			c.tb.Fatal("no ZooKeeper session within 15s")
		}
	}
	go func() { // drain session events so the connection never blocks on them
		for range events {
		}
	}()
	c.zkc = conn
	return conn
}

// ZKPath is path inside this cluster's chroot.
func (c *Cluster) ZKPath(path string) string {
	return strings.TrimPrefix(c.Connect, c.ZK.Addr) + path
}

// BrokerEpoch is the czxid of /brokers/ids/<id> (the broker epoch); ok is
// false while the broker is not registered.
func (c *Cluster) BrokerEpoch(id int32) (epoch int64, ok bool, err error) {
	_, st, err := c.ZKConn().Get(c.ZKPath(fmt.Sprintf("/brokers/ids/%d", id)))
	if errors.Is(err, zk.ErrNoNode) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return st.Czxid, true, nil
}

// ControllerID is the brokerid in /controller, or -1 when there is none.
func (c *Cluster) ControllerID() (int32, error) {
	data, _, err := c.ZKConn().Get(c.ZKPath("/controller"))
	if errors.Is(err, zk.ErrNoNode) {
		return -1, nil
	}
	if err != nil {
		return -1, err
	}
	var ctl struct {
		BrokerID int32 `json:"brokerid"`
	}
	if err := json.Unmarshal(data, &ctl); err != nil {
		return -1, fmt.Errorf("/controller %q: %w", data, err)
	}
	return ctl.BrokerID, nil
}
