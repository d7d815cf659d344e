package zktest

import (
	"errors"
	"net"
	"sync"
	"time"
)

// CutDialer is a dialer for a ZooKeeper client (zkmeta.Dialer) whose network a test can sever:
// SetCut(true) closes every connection it made and refuses new ones, so the server expires the client's
// session once its timeout passes; SetCut(false) lets the client reconnect.
type CutDialer struct {
	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// Dial connects unless the network is cut.
func (d *CutDialer) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cut {
		return nil, errors.New("network cut by test")
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

// SetCut severs (true) or restores (false) the network.
func (d *CutDialer) SetCut(cut bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cut = cut
	if cut {
		for _, c := range d.conns {
			_ = c.Close()
		}
		d.conns = nil
	}
}
