package broker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// maxPipelined bounds how many decoded requests of one connection wait for
// their turn; responses always go out in request order.
const maxPipelined = 16

// connection is one client socket: a reader goroutine decodes frames, the
// serving goroutine runs handlers one at a time in arrival order and writes
// each response before the next request is handled.
type connection struct {
	srv    *Server
	conn   net.Conn
	logger *slog.Logger
}

func newConnection(s *Server, c net.Conn) *connection {
	return &connection{srv: s, conn: c, logger: s.logger.With("remote", c.RemoteAddr().String())}
}

// request is one decoded request waiting to be served. Its fields point
// into frame, which goes back to the server's pool once the response is out.
type request struct {
	hdr   protocol.RequestHeader
	req   kmsg.Request // nil when the version is unsupported (ApiVersions only)
	frame []byte
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
	defer c.conn.Close()
	// clientCtx ends when the read loop does: the client went away (or
	// sent garbage), so nobody will read the answers of requests that
	// wait for it.
	clientCtx, clientGone := context.WithCancel(ctx)
	defer clientGone()
	queue := make(chan request, maxPipelined)
	readErr := make(chan error, 1)
	go func() {
		defer close(queue)
		err := c.readLoop(queue)
		clientGone()
		readErr <- err
	}()
	for r := range queue {
		hctx := ctx
		if waitsForClient(kmsg.Key(r.hdr.APIKey)) {
			hctx = clientCtx
		}
		err := c.handle(hctx, r)
		c.srv.putFrameBuf(r.frame)
		if err != nil {
			c.logger.Info("closing connection", "reason", err)
			c.conn.Close()
			for range queue { // let the reader finish
			}
			return
		}
	}
	if err := <-readErr; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
		c.logger.Info("closing connection", "reason", err)
	}
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
func (c *connection) readLoop(queue chan<- request) error {
	br := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		frame, err := protocol.ReadFrame(br, c.srv.cfg.SocketRequestMaxBytes, c.srv.getFrameBuf())
		if err != nil {
			return err
		}
		hdr, req, err := protocol.ParseRequest(frame)
		if err != nil {
			if errors.Is(err, protocol.ErrUnsupportedVersion) && hdr.APIKey == int16(kmsg.ApiVersions) {
				queue <- request{hdr: hdr, frame: frame} // KIP-511: answered with UNSUPPORTED_VERSION
				continue
			}
			return fmt.Errorf("bad request (api key %d, version %d): %w", hdr.APIKey, hdr.APIVersion, err)
		}
		queue <- request{hdr: hdr, req: req, frame: frame}
	}
}

// handle runs one request's handler and writes its response. A handler that
// panics is logged with its request and ends this connection only.
func (c *connection) handle(ctx context.Context, r request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.logger.Error("handler panicked", "api_key", r.hdr.APIKey, "api_version", r.hdr.APIVersion,
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
	if _, err := resp.WriteTo(c.conn); err != nil {
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
