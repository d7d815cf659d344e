package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// StopZK kills the ZooKeeper server (its data stays on disk, as after a
// crash): every broker loses its connection, and ZooKeeper answers nobody
// until StartZK.
func (c *Cluster) StopZK() {
	c.tb.Helper()
	c.mu.Lock()
	zk := c.ZK
	c.mu.Unlock()
	zk.Stop()
	if !zk.Exited() {
		c.tb.Fatalf("ZooKeeper on %s still running after Stop", zk.Addr)
	}
}

// StartZK starts ZooKeeper again on the same port with the same data, so
// the brokers' connect strings and proxies stay valid. The sessions it
// knew are restored and timed from the restart (ZooKeeper's session
// tracker reloads them with their timeouts from the snapshot and log).
func (c *Cluster) StartZK() {
	c.tb.Helper()
	c.mu.Lock()
	old := c.ZK
	c.mu.Unlock()
	s, err := zktest.StartProcess(old.Dir, old.Port, nil)
	if err != nil {
		c.tb.Fatalf("restarting ZooKeeper: %v", err)
	}
	c.mu.Lock()
	c.ZK = s
	c.mu.Unlock()
	// Cleanups run last-registered first: stop the brokers (stopAll does
	// nothing the second time) before this server, as with the first one.
	c.tb.Cleanup(func() {
		c.stopAll()
		s.Stop()
	})
}

// BrokerSession is the ZooKeeper session that owns /brokers/ids/<id>
// (the broker's registration); ok is false while the broker is not
// registered.
func (c *Cluster) BrokerSession(id int32) (session int64, ok bool, err error) {
	_, st, err := c.ZKConn().Get(c.ZKPath(fmt.Sprintf("/brokers/ids/%d", id)))
	if errors.Is(err, zkmeta.ErrNoNode) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return st.EphemeralOwner, true, nil
}

// ExpireSessions ends, at once and concurrently, the ZooKeeper sessions
// of the given brokers (those that hold their registrations), as
// ZooKeeper does when their timeouts pass: ephemerals deleted, watches
// fired, each broker told "expired" on its next reconnect. It returns
// the sessions it expired, by broker.
func (c *Cluster) ExpireSessions(ids ...int32) map[int32]int64 {
	c.tb.Helper()
	sessions := map[int32]int64{}
	for _, id := range ids {
		s, ok, err := c.BrokerSession(id)
		if err != nil || !ok {
			c.tb.Fatalf("broker %d's session: registered %v, %v", id, ok, err)
		}
		sessions[id] = s
	}
	c.mu.Lock()
	addr := c.ZK.Addr
	c.mu.Unlock()
	var wg sync.WaitGroup
	errs := make(chan error, len(sessions))
	for id, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := zktest.ExpireSession(addr, s, 10*time.Second); err != nil {
				errs <- fmt.Errorf("broker %d: %w", id, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		c.tb.Fatalf("expiring sessions: %v", err)
	}
	return sessions
}
