package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// maxPipelined is our per-connection limit on requests in flight: besides
// the one being served, at most this many decoded requests of a connection
// wait for their turn; then its reader stops reading. Responses always go
// out in request order. (Kafka mutes a channel from the moment it has read
// a request until the response is sent: one in flight per connection. We
// decode ahead, and handle one at a time in order.)
const maxPipelined = 16

// connection is one client socket: a reader goroutine decodes frames, the
// serving goroutine runs handlers one at a time in arrival order and writes
// each response before the next request is handled.
//
// connections.max.idle.ms, our rule: a connection with no request in
// flight (read completely and not yet answered) is closed once that long
// has passed since its last completed request or response, or since it was
// accepted. Bytes of a frame not yet complete do not count as activity, so
// a client holding a half-sent frame (slow-loris) is closed by the same
// timer; and a response not completely written within that long (a client
// that does not read) closes the connection too. (Kafka's Selector counts
// any read or write readiness as activity: a client trickling one byte per
// interval is not closed there.)
type connection struct {
	srv  *Server
	conn net.Conn
	idle time.Duration // connections.max.idle.ms; negative: no timer

	closed    chan struct{} // closed by close
	closeOnce sync.Once

	// frameStarted is set once a frame's first byte arrived, cleared when
	// the frame is complete: the idle timer names a slow-loris.
	frameStarted atomic.Bool

	mu          sync.Mutex
	closeReason string      // first reason given to close
	inFlight    int         // requests read completely and not yet answered
	idleTimer   *time.Timer // nil without idle limit
	held        int         // queue tokens held by this connection's waiting requests
	clientWait  bool        // the request being served waits on the client
}

func newConnection(s *Server, c net.Conn) *connection {
	idle := time.Duration(-1)
	if ms := s.cfg.ConnectionsMaxIdleMs; ms >= 0 {
		idle = time.Duration(min(ms, int64(math.MaxInt64/time.Millisecond))) * time.Millisecond
	}
	return &connection{srv: s, conn: c, idle: idle, closed: make(chan struct{})}
}

// close closes the socket once; the first non-empty reason is what the
// connection's end is logged with.
func (c *connection) close(reason string) {
	c.mu.Lock()
	if c.closeReason == "" {
		c.closeReason = reason
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		close(c.closed)
		c.conn.Close()
	})
}

// idleExpired is the idle timer's callback.
func (c *connection) idleExpired() {
	c.mu.Lock()
	busy := c.inFlight > 0
	c.mu.Unlock()
	if busy { // a frame completed as the timer fired
		return
	}
	if c.frameStarted.Load() {
		c.close(fmt.Sprintf("request incomplete after connections.max.idle.ms (%d ms) without a complete request", c.idle.Milliseconds()))
		return
	}
	c.close(fmt.Sprintf("idle for connections.max.idle.ms (%d ms)", c.idle.Milliseconds()))
}

// frameRead marks a complete frame: a request is in flight, the idle
// timer stops.
func (c *connection) frameRead() {
	c.frameStarted.Store(false)
	c.mu.Lock()
	c.inFlight++
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	c.mu.Unlock()
}

// requestDone marks a request answered (or dropped); with none left in
// flight the idle timer starts again.
func (c *connection) requestDone() {
	c.mu.Lock()
	c.inFlight--
	if c.inFlight == 0 && c.idleTimer != nil {
		c.idleTimer.Reset(c.idle)
	}
	c.mu.Unlock()
}

// admit takes a queue token for a decoded request (queued.max.requests),
// waiting while the broker has none free: the reader then stops reading,
// as Kafka's network threads do when the request queue is full. A request
// holds its token while it waits behind requests the broker is working
// on; while the request being served waits on the client itself (a
// response being written, a long-poll Fetch, an acks=all Produce, a
// JoinGroup or SyncGroup), the connection's queued requests hold none and
// new ones are queued without: in Kafka such a connection is muted with
// its one request out of the queue, so a client that does not read its
// responses cannot take the broker's queue from everyone else. The
// per-connection bound (maxPipelined) still applies. False: the
// connection closed while waiting.
func (c *connection) admit() bool {
	limits := c.srv.requestLimits()
	for {
		c.mu.Lock()
		if c.clientWait {
			c.mu.Unlock()
			return true
		}
		c.mu.Unlock()
		select {
		case limits.queue <- struct{}{}:
		default:
			c.srv.limitedLog("request-queue-full", slog.LevelInfo,
				"request queue full: connections stop reading until queued requests are taken",
				"queued.max.requests", cap(limits.queue))
			select {
			case limits.queue <- struct{}{}:
			case <-c.closed:
				return false
			}
		}
		c.mu.Lock()
		if c.clientWait {
			c.mu.Unlock()
			<-limits.queue
			return true
		}
		c.held++
		c.mu.Unlock()
		return true
	}
}

// controlPlane reports whether req is a broker's request on which other
// requests' progress depends: the controller's LeaderAndIsr,
// UpdateMetadata and StopReplica, ControlledShutdown and AlterPartition to
// the controller, and a follower's Fetch. They are queued without a token:
// a handler waiting for one of them (a CreateTopics for its metadata, an
// acks=all Produce for its followers) while clients' requests hold every
// token would otherwise wait until it times out. (Kafka parks such a
// handler in a purgatory, out of the request queue; it can also give the
// controller a listener of its own, control.plane.listener.name.)
func controlPlane(req kmsg.Request) bool {
	switch r := req.(type) {
	case *kmsg.LeaderAndISRRequest, *kmsg.UpdateMetadataRequest, *kmsg.StopReplicaRequest,
		*kmsg.ControlledShutdownRequest, *kmsg.AlterPartitionRequest:
		return true
	case *kmsg.FetchRequest:
		return r.ReplicaID >= 0 || r.ReplicaState.ID >= 0
	}
	return false
}

// dequeued gives back the token of a request whose turn came.
func (c *connection) dequeued() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held > 0 {
		c.held--
		<-c.srv.requestLimits().queue
	}
}

// beginClientWait starts a wait on the client: the connection's queued
// requests give their tokens back (see admit).
func (c *connection) beginClientWait() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clientWait = true
	for ; c.held > 0; c.held-- {
		<-c.srv.requestLimits().queue
	}
}

func (c *connection) endClientWait() {
	c.mu.Lock()
	c.clientWait = false
	c.mu.Unlock()
}

// request is one decoded request waiting to be served. Its fields point
// into frame, which goes back to the server's pool once the response is out.
type request struct {
	hdr       protocol.RequestHeader
	req       kmsg.Request // nil when the version is unsupported (ApiVersions only)
	frame     []byte
	poolBytes int64 // taken from the memory pool for this frame, given back when it is done
}

// maxPooledFrame bounds the frame buffers kept for reuse.
const maxPooledFrame = 8 << 20

func (s *Server) getFrameBuf() []byte {
	if b, ok := s.framePool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return nil
}

func (s *Server) putFrameBuf(b []byte) {
	if cap(b) > 0 && cap(b) <= maxPooledFrame {
		s.framePool.Put(&b)
	}
}

func (c *connection) serve(ctx context.Context) {
	if c.idle >= 0 {
		c.mu.Lock()
		c.idleTimer = time.AfterFunc(c.idle, c.idleExpired)
		c.mu.Unlock()
	}
	defer func() {
		c.mu.Lock()
		if c.idleTimer != nil {
			c.idleTimer.Stop()
		}
		c.mu.Unlock()
		c.close("")
		c.beginClientWait() // gives back any token still held
	}()
	// clientCtx ends when the read loop does: the client went away (or
	// sent garbage), so nobody will read the answers of requests that
	// wait for it.
	clientCtx, clientGone := context.WithCancel(ctx)
	defer clientGone()
	br := bufio.NewReaderSize(c.conn, readBufferSize)
	sess := sessionFrom(ctx)
	var sa *connSASL
	if sess.protocol.SASL() {
		// A SASL listener: nothing but the SASL exchange until it completes.
		if sa = c.srv.newConnSASL(sess.listener); sa == nil {
			c.close("no SASL settings for listener " + sess.listener)
			return
		}
		if err := c.authenticate(ctx, br, sess, sa); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.close(err.Error())
				c.logClose(err.Error())
			}
			return
		}
	}
	queue := make(chan request, maxPipelined)
	readErr := make(chan error, 1)
	go func() {
		defer close(queue)
		err := c.readLoop(queue, br)
		clientGone()
		readErr <- err
	}()
	pool := c.srv.requestLimits().pool
	for r := range queue {
		c.dequeued()
		hctx := ctx
		if waitsForClient(kmsg.Key(r.hdr.APIKey)) {
			hctx = clientCtx
			c.beginClientWait()
		}
		var err error
		handled := false
		if sa != nil {
			handled, err = c.saslInFlight(ctx, sess, sa, r)
		}
		if !handled {
			err = c.handle(hctx, r)
		}
		c.endClientWait()
		c.srv.putFrameBuf(r.frame)
		if pool != nil && r.poolBytes > 0 {
			pool.release(r.poolBytes)
		}
		c.requestDone()
		if err != nil {
			c.close(err.Error())
			for r := range queue { // let the reader finish
				c.srv.putFrameBuf(r.frame)
				if pool != nil && r.poolBytes > 0 {
					pool.release(r.poolBytes)
				}
			}
			break
		}
	}
	err := <-readErr
	c.mu.Lock()
	reason := c.closeReason
	c.mu.Unlock()
	switch {
	case reason != "":
		c.logClose(reason)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.logClose(err.Error())
	}
}

// logClose logs the end of a connection closed by the broker, once, with
// its reason; under a flood of such closes the lines are limited per
// reason kind.
func (c *connection) logClose(reason string) {
	kind := "close"
	for _, k := range []string{"failed authentication", "request incomplete", "not taken by the client", "connections.max.idle.ms", "frame size", "bad request", "handler panic", "writing response"} {
		if strings.Contains(reason, k) {
			kind = "close: " + k
			break
		}
	}
	c.srv.limitedLog(kind, slog.LevelInfo, "closing connection", "remote", c.conn.RemoteAddr().String(), "reason", reason)
}

// waitsForClient reports whether a request may park for the client's sake
// only, so its handler should stop as soon as the client went away: a
// JoinGroup or SyncGroup waiting for the rebalance, a long-poll Fetch, an
// acks=all Produce waiting for replication (its append is done already).
// Other requests, already read, are served to the end even then: their
// effects (a commit, a topic created, an AlterPartition applied by the
// controller) must not depend on when the client hung up.
func waitsForClient(key kmsg.Key) bool {
	switch key {
	case kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Fetch, kmsg.Produce:
		return true
	}
	return false
}

// readLoop decodes frames until the connection fails. A frame that is too
// large, negative, undecodable or for an unknown API ends the connection.
// Frames completely read hand their pool bytes to the request; on return,
// the reader holds none.
func (c *connection) readLoop(queue chan<- request, br *bufio.Reader) error {
	pool := c.srv.requestLimits().pool
	maxSize := c.srv.cfg.SocketRequestMaxBytes
	if maxSize <= 0 {
		maxSize = protocol.DefaultMaxRequestSize
	}
	for {
		size, err := readFrameSize(br, maxSize, &c.frameStarted)
		if err != nil {
			return err
		}
		// SocketServer's memory pool: the frame is read only once the pool
		// has room for it; the channel waits (Kafka mutes it) meanwhile.
		var poolBytes int64
		if pool != nil && size > 0 {
			if !pool.acquire(int64(size), c.closed, func() { c.srv.logPoolWait(int64(size)) }) {
				return net.ErrClosed
			}
			poolBytes = int64(size)
		}
		frame, err := readFrameBody(br, size, c.srv.getFrameBuf())
		if err != nil {
			if poolBytes > 0 {
				pool.release(poolBytes)
			}
			return err
		}
		c.frameRead()
		r := request{frame: frame, poolBytes: poolBytes}
		var perr error
		r.hdr, r.req, perr = protocol.ParseRequest(frame)
		if perr != nil && !(errors.Is(perr, protocol.ErrUnsupportedVersion) && r.hdr.APIKey == int16(kmsg.ApiVersions)) {
			if poolBytes > 0 {
				pool.release(poolBytes)
			}
			c.requestDone()
			return fmt.Errorf("bad request (api key %d, version %d): %w", r.hdr.APIKey, r.hdr.APIVersion, perr)
		}
		// An ApiVersions of an unknown version is queued with req nil:
		// KIP-511, answered with UNSUPPORTED_VERSION.
		if !controlPlane(r.req) && !c.admit() {
			if poolBytes > 0 {
				pool.release(poolBytes)
			}
			c.requestDone()
			return net.ErrClosed
		}
		queue <- r
	}
}

// readBufferSize is each connection's read buffer: small, as idle
// connections keep theirs; a larger frame body is read straight into the
// frame.
const readBufferSize = 8 << 10

// frameChunk is how much of a frame body is allocated ahead of the bytes
// that arrived: a frame declaring a large size costs memory only as its
// bytes come in.
const frameChunk = 64 << 10

// readFrameSize reads a frame's size prefix and checks it against max
// (socket.request.max.bytes): a size below zero or above it ends the
// connection before anything is allocated. started is set once the first
// byte is in. io.EOF only when the stream ends before a frame starts.
func readFrameSize(br *bufio.Reader, max int32, started *atomic.Bool) (int32, error) {
	if _, err := br.Peek(1); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("read frame size: %w", err)
	}
	started.Store(true)
	var sizeBuf [4]byte
	if _, err := io.ReadFull(br, sizeBuf[:]); err != nil {
		return 0, fmt.Errorf("read frame size: %w", err)
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 {
		return 0, fmt.Errorf("%w: %d", protocol.ErrNegativeFrameSize, size)
	}
	if size > max {
		return 0, fmt.Errorf("%w: %d bytes > %d (socket.request.max.bytes)", protocol.ErrFrameTooLarge, size, max)
	}
	return size, nil
}

// readFrameBody reads size bytes into buf (reused when large enough),
// growing the frame by at most frameChunk beyond what has arrived.
func readFrameBody(r io.Reader, size int32, buf []byte) ([]byte, error) {
	n := int(size)
	if cap(buf) >= n {
		frame := buf[:n]
		if _, err := io.ReadFull(r, frame); err != nil {
			return nil, frameCut(size, err)
		}
		return frame, nil
	}
	frame := buf[:0]
	for len(frame) < n {
		if len(frame) == cap(frame) {
			next := min(n, max(2*cap(frame), len(frame)+frameChunk))
			grown := make([]byte, len(frame), next)
			copy(grown, frame)
			frame = grown
		}
		got, err := io.ReadFull(r, frame[len(frame):cap(frame)])
		frame = frame[:len(frame)+got]
		if err != nil {
			return nil, frameCut(size, err)
		}
	}
	return frame, nil
}

func frameCut(size int32, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("read frame of %d bytes: %w", size, err)
}

// handle runs one request's handler and writes its response. A handler that
// panics is logged with its request and ends this connection only.
func (c *connection) handle(ctx context.Context, r request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			// Limited per API key: a client repeating the input that
			// panics cannot flood the log with stacks.
			c.srv.limitedLog(fmt.Sprintf("handler-panic-%d", r.hdr.APIKey), slog.LevelError, "handler panicked",
				"remote", c.conn.RemoteAddr().String(), "api_key", r.hdr.APIKey, "api_version", r.hdr.APIVersion,
				"correlation_id", r.hdr.CorrelationID, "client_id", deref(r.hdr.ClientID), "panic", p,
				"stack", string(debug.Stack()))
			err = fmt.Errorf("handler panic: %v", p)
		}
	}()
	resp, err := c.srv.dispatch(ctx, r)
	if err != nil {
		return err
	}
	if resp == nil { // acks=0 produce: no response at all
		return nil
	}
	// A response must be taken by the client within connections.max.idle.ms.
	c.beginClientWait()
	if c.idle >= 0 {
		_ = c.conn.SetWriteDeadline(time.Now().Add(c.idle))
	}
	if _, err := resp.WriteTo(c.conn); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("writing response: not taken by the client within connections.max.idle.ms (%d ms)", c.idle.Milliseconds())
		}
		return fmt.Errorf("writing response: %w", err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
