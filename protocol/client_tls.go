package protocol

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
)

// SetTLS makes the client speak TLS with cfg (inter-broker connections on
// an SSL or SASL_SSL listener). When cfg names no server, the host of the
// client's address goes into SNI and host name verification. Call before
// the first request.
func (c *Client) SetTLS(cfg *tls.Config) {
	if cfg != nil && cfg.ServerName == "" {
		cfg = cfg.Clone()
		if host, _, err := net.SplitHostPort(c.addr); err == nil {
			cfg.ServerName = host
		}
	}
	c.mu.Lock()
	c.tlsConfig = cfg
	c.mu.Unlock()
}

// handshakeTLS wraps a freshly dialled conn in TLS when the client has a
// TLS config; ctx bounds the handshake. On error conn is closed.
func (c *Client) handshakeTLS(ctx context.Context, conn net.Conn) (net.Conn, error) {
	c.mu.Lock()
	cfg := c.tlsConfig
	c.mu.Unlock()
	if cfg == nil {
		return conn, nil
	}
	if d := c.dialTimeout; d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}
