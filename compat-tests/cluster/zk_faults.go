package cluster

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

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
