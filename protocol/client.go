package protocol

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrClientClosed is returned by Client.Request after Close.
var ErrClientClosed = errors.New("client closed")

// Client is a small inter-broker client (controller -> broker LeaderAndIsr,
// UpdateMetadata, StopReplica; broker -> controller forwarding). It keeps one
// TCP connection, serializes requests, and reconnects on the call after an
// error. Safe for concurrent use.
type Client struct {
	addr        string
	clientID    string
	dialTimeout time.Duration

	reqMu  sync.Mutex // serializes requests; guards corrID and buf
	corrID int32
	buf    []byte

	mu     sync.Mutex // guards conn and closed; Close takes only this one
	conn   net.Conn
	closed bool

	tlsConfig *tls.Config   // nil: plaintext; see SetTLS (client_tls.go)
	auth      Authenticator // SASL on each new connection (client_sasl.go); nil: none
	renewAt   time.Time     // the SASL session must be renewed by then; zero: never
}

// NewClient returns a client for addr; it connects on the first request.
func NewClient(addr string, clientID string, dialTimeout time.Duration) *Client {
	return &Client{addr: addr, clientID: clientID, dialTimeout: dialTimeout}
}

// Addr returns the address the client connects to.
func (c *Client) Addr() string { return c.addr }

// Request sends req at req.GetVersion() and returns the decoded response.
// ctx's deadline bounds the whole round trip and cancelling ctx aborts it. On
// any error the connection is closed; the next call dials again.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("request %s to %s: %w", kmsg.NameForKey(req.Key()), c.addr, err)
	}
	conn, err := c.connectAuthenticated(ctx)
	if err != nil {
		return nil, fmt.Errorf("request %s to %s: %w", kmsg.NameForKey(req.Key()), c.addr, err)
	}
	resp, err := c.roundTrip(ctx, conn, req)
	if err != nil {
		c.dropConn(conn)
		if errors.Is(err, net.ErrClosed) && c.isClosed() {
			err = ErrClientClosed
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w (%w)", err, ctxErr)
		}
		return nil, fmt.Errorf("request %s v%d to %s: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), c.addr, err)
	}
	return resp, nil
}

func (c *Client) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// connect returns the open connection or dials a new one.
func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	c.mu.Lock()
	conn, closed := c.conn, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClientClosed
	}
	if conn != nil {
		if !peerClosed(conn) {
			return conn, nil
		}
		c.dropConn(conn)
	}
	d := net.Dialer{Timeout: c.dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if conn, err = c.handshakeTLS(ctx, conn); err != nil { // client_tls.go
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		_ = conn.Close()
		return nil, ErrClientClosed
	}
	c.conn = conn
	return conn, nil
}

// connectAuthenticated is connect plus the SASL exchange on a new
// connection, and on the open one when its session is due for renewal
// (client_sasl.go).
func (c *Client) connectAuthenticated(ctx context.Context) (net.Conn, error) {
	c.mu.Lock()
	prev := c.conn
	c.mu.Unlock()
	conn, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	if conn == prev {
		if !c.renewDue() {
			return conn, nil
		}
		if conn, err = c.reauthenticate(ctx, conn); err != nil {
			return nil, err
		}
		if conn == prev {
			return conn, nil
		}
	}
	if err := c.authenticate(ctx, conn); err != nil {
		c.dropConn(conn)
		return nil, err
	}
	return conn, nil
}

func (c *Client) roundTrip(ctx context.Context, conn net.Conn, req kmsg.Request) (kmsg.Response, error) {
	deadline, _ := ctx.Deadline() // zero time: no deadline
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	resp, err := c.exchange(conn, req)
	if !stop() && err == nil {
		// ctx ended meanwhile and its hook may still move the deadline into
		// the past: do not reuse this connection.
		c.dropConn(conn)
	}
	if err != nil {
		// The socket deadline is the context's: report a timeout as the context's error.
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		} else if !deadline.IsZero() && !time.Now().Before(deadline) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
	}
	return resp, err
}

// dropConn closes conn and forgets it if it is still the current one.
func (c *Client) dropConn(conn net.Conn) {
	c.mu.Lock()
	if c.conn == conn {
		c.conn = nil
	}
	c.mu.Unlock()
	_ = conn.Close()
}

// exchange writes one request and reads its response.
func (c *Client) exchange(conn net.Conn, req kmsg.Request) (kmsg.Response, error) {
	c.corrID++
	corrID := c.corrID
	version := req.GetVersion()
	hv := requestHeaderVersion(req.Key(), version, req.IsFlexible())
	buf := append(c.buf[:0], 0, 0, 0, 0)
	buf = appendInt16(buf, req.Key())
	buf = appendInt16(buf, version)
	buf = appendInt32(buf, corrID)
	if hv >= 1 {
		buf = appendString(buf, c.clientID)
	}
	if hv >= 2 {
		buf = appendUvarint(buf, 0)
	}
	buf = req.AppendTo(buf)
	binary.BigEndian.PutUint32(buf, uint32(len(buf)-4))
	c.buf = buf[:0]
	if _, err := conn.Write(buf); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}

	frame, err := ReadFrame(conn, DefaultMaxRequestSize, nil)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	r := reader{src: frame}
	if got := r.int32(); r.bad || got != corrID {
		return nil, fmt.Errorf("correlation id %d in response, expected %d", got, corrID)
	}
	resp := req.ResponseKind()
	resp.SetVersion(version)
	if responseHeaderFlexible(req.Key(), resp.IsFlexible()) {
		r.skipTags()
		if r.bad {
			return nil, errors.New("truncated response header")
		}
	}
	body := r.src
	// A peer's response is bounded as a client's request is (checkBody):
	// its counts cannot make kmsg loop or allocate beyond its bytes.
	if s := responseSchema(req.Key()); s != nil && version >= s.min && version <= s.max {
		n, err := checkBody(s, version, body)
		if err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
		body = body[:n]
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return resp, nil
}

// Close closes the connection, failing a request in flight; later requests
// fail with ErrClientClosed.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	if err != nil {
		return fmt.Errorf("close connection to %s: %w", c.addr, err)
	}
	return nil
}
