package zkmeta

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// deadlineConn records the deadlines set on it and reads from a buffer.
type deadlineConn struct {
	net.Conn
	in            *bytes.Reader
	read, written time.Time
}

func (d *deadlineConn) Read(p []byte) (int, error)         { return d.in.Read(p) }
func (d *deadlineConn) SetReadDeadline(t time.Time) error  { d.read = t; return nil }
func (d *deadlineConn) SetWriteDeadline(t time.Time) error { d.written = t; return nil }
func (d *deadlineConn) SetDeadline(t time.Time) error      { d.read, d.written = t, t; return nil }

// TestHandshakeConnDeadlines: until the ConnectResponse (length + body) is
// read, go-zookeeper's deadlines are capped at the handshake's deadline
// (ZooKeeper's ClientCnxn gives a connection connectTimeout to answer);
// after it, the connection has the deadlines go-zookeeper last asked for
// and passes later ones through.
func TestHandshakeConnDeadlines(t *testing.T) {
	now := time.Now()
	hs := now.Add(3 * time.Second)
	later := now.Add(40 * time.Second) // go-zookeeper's 10 × read timeout
	sooner := now.Add(time.Second)
	response := []byte{0, 0, 0, 3, 'a', 'b', 'c'}
	tests := []struct {
		name   string
		chunks []int // sizes of successive reads
	}{
		{"whole response at once", []int{7}},
		{"length then body", []int{4, 3}},
		{"byte by byte", []int{1, 1, 1, 1, 1, 1, 1}},
		{"split inside the length", []int{2, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := &deadlineConn{in: bytes.NewReader(response)}
			h := newHandshakeConn(raw, hs)
			if !raw.read.Equal(hs) || !raw.written.Equal(hs) {
				t.Fatalf("a new connection's deadlines are %v/%v, want the handshake's %v", raw.read, raw.written, hs)
			}
			for _, ask := range []struct{ asked, want time.Time }{
				{later, hs}, {time.Time{}, hs}, {sooner, sooner},
			} {
				_ = h.SetWriteDeadline(ask.asked)
				_ = h.SetReadDeadline(ask.asked)
				if !raw.read.Equal(ask.want) || !raw.written.Equal(ask.want) {
					t.Fatalf("asked %v during the handshake: set %v/%v, want %v", ask.asked, raw.read, raw.written, ask.want)
				}
			}
			_ = h.SetReadDeadline(later)
			_ = h.SetWriteDeadline(time.Time{})
			for i, n := range tt.chunks {
				if h.done.Load() {
					t.Fatalf("handshake over after %d of %d reads", i, len(tt.chunks))
				}
				if _, err := h.Read(make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}
			if !h.done.Load() {
				t.Fatal("handshake not over once the whole response was read")
			}
			if !raw.read.Equal(later) || !raw.written.IsZero() {
				t.Fatalf("after the handshake: deadlines %v/%v, want what go-zookeeper asked (%v/none)", raw.read, raw.written, later)
			}
			_ = h.SetReadDeadline(time.Time{})
			_ = h.SetWriteDeadline(later)
			if !raw.read.IsZero() || !raw.written.Equal(later) {
				t.Fatalf("after the handshake deadlines pass through: got %v/%v", raw.read, raw.written)
			}
		})
	}
}

// blackHole accepts connections and never answers: a ZooKeeper server
// that takes a connection and does not answer its ConnectRequest.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// holeDialer sends the next `holes` dials to a black hole, the others to
// the real address.
type holeDialer struct {
	hole  string
	holes atomic.Int32
	mu    sync.Mutex
	conns []net.Conn
}

func (d *holeDialer) dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	if d.holes.Add(-1) >= 0 {
		addr = d.hole
	}
	c, err := net.DialTimeout(network, addr, timeout)
	if err == nil {
		d.mu.Lock()
		d.conns = append(d.conns, c)
		d.mu.Unlock()
	}
	return c, err
}

// cut closes every connection made so far.
func (d *holeDialer) cut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// TestConnectPastSilentServer: a server that accepts the connection and
// never answers the handshake costs the client connectTimeout
// (sessionTimeout / servers, ZooKeeper's ClientCnxn), not go-zookeeper's
// 10 × read timeout; the client then connects to the next server (here the
// same one again). A session being re-established keeps living: with two
// server entries connectTimeout is half the session timeout, so the silent
// server is left before the session can expire (ZooKeeper: the client
// reconnects within the session timeout and keeps its session).
func TestConnectPastSilentServer(t *testing.T) {
	cs := testServer.Chroot(t)
	srv, chroot, err := ParseConnect(cs)
	if err != nil {
		t.Fatal(err)
	}
	const session = 3 * time.Second // go-zookeeper alone: 20 s for one handshake

	t.Run("first connection", func(t *testing.T) {
		d := &holeDialer{hole: blackHole(t)}
		d.holes.Store(1)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		c, err := connectOpts(ctx, cs, session, nil, Options{Dialer: d.dial})
		if err != nil {
			t.Fatalf("connect past a silent server: %v", err)
		}
		defer c.Close()
		if took := time.Since(start); took > session+2*time.Second {
			t.Fatalf("connecting past a silent server took %v, want about connectTimeout (%v)", took, session)
		}
	})

	t.Run("reconnect keeps the session", func(t *testing.T) {
		d := &holeDialer{hole: blackHole(t)}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		two := srv[0] + "," + srv[0] + chroot
		c, err := connectOpts(ctx, two, 2*session, nil, Options{Dialer: d.dial})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.EnsurePaths(); err != nil {
			t.Fatal(err)
		}
		before := c.Session()
		d.holes.Store(1)
		d.cut() // the next connection goes to the silent server first
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, _, err := c.Exists("/brokers"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no call succeeded within 10 s of the cut")
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case <-before.Expired:
			t.Fatal("the session expired while the client waited on a silent server")
		default:
		}
		if now := c.Session().ID; now != before.ID {
			t.Fatalf("session %#x replaced by %#x", before.ID, now)
		}
	})
}
