package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// ZKConn is the test's own ZooKeeper session (opened once, closed with the
// cluster). It goes straight to ZooKeeper, not through any broker's proxy,
// so faults never cut it. It has no chroot: paths given to it need ZKPath.
func (c *Cluster) ZKConn() *zkmeta.Client {
	c.tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.zkc != nil {
		return c.zkc
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := zkmeta.Connect(ctx, c.ZK.Addr, 10*time.Second, nil)
	if err != nil {
		c.tb.Fatalf("connecting to ZooKeeper: %v", err)
	}
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
	if errors.Is(err, zkmeta.ErrNoNode) {
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
	if errors.Is(err, zkmeta.ErrNoNode) {
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

// StopZK kills the ZooKeeper server (SIGKILL: a crash; its data directory
// stays) for a restart with StartZK. Brokers and the test's own session
// (ZKConn) lose their connections and retry.
func (c *Cluster) StopZK() {
	c.mu.Lock()
	s := c.zkProc
	c.mu.Unlock()
	if s == nil {
		s = c.ZK
	}
	s.Stop()
}

// StartZK starts ZooKeeper again after StopZK, on the same port and data
// directory (so sessions and znodes survive, as after a server restart),
// and waits (bounded) until it serves. c.ZK keeps the address and
// directory; the new process is stopped with the cluster, after the
// brokers.
func (c *Cluster) StartZK() {
	c.tb.Helper()
	s, err := zktest.StartProcess(c.ZK.Dir, c.ZK.Port, nil)
	if err != nil {
		c.tb.Fatalf("restarting ZooKeeper on %s: %v", c.ZK.Addr, err)
	}
	c.mu.Lock()
	c.zkProc = s
	c.mu.Unlock()
}
