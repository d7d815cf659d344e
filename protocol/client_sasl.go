package protocol

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Authenticator authenticates a freshly dialed connection before its first
// request, sending requests with rt; it returns the session lifetime the
// server granted (0: none), after which the connection is not reused.
type Authenticator func(ctx context.Context, rt func(kmsg.Request) (kmsg.Response, error)) (time.Duration, error)

// SASLAuthenticator is a Kafka client's SASL exchange with mechanism m
// (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512): SaslHandshake v1, then the
// mechanism's tokens in SaslAuthenticate v1 requests, as
// SaslClientAuthenticator does for a broker's inter-broker connections.
func SASLAuthenticator(m sasl.Mechanism) Authenticator {
	return func(ctx context.Context, rt func(kmsg.Request) (kmsg.Response, error)) (time.Duration, error) {
		hs := kmsg.NewPtrSASLHandshakeRequest()
		hs.Version, hs.Mechanism = 1, m.Name()
		r, err := rt(hs)
		if err != nil {
			return 0, fmt.Errorf("SASL handshake: %w", err)
		}
		if resp := r.(*kmsg.SASLHandshakeResponse); resp.ErrorCode != 0 {
			return 0, fmt.Errorf("SASL handshake (%s, the broker enables %v): %w", m.Name(), resp.SupportedMechanisms, kerr.ErrorForCode(resp.ErrorCode))
		}
		sess, tok, err := m.Authenticate(ctx, "")
		if err != nil {
			return 0, fmt.Errorf("SASL %s: %w", m.Name(), err)
		}
		for {
			req := kmsg.NewPtrSASLAuthenticateRequest()
			req.Version, req.SASLAuthBytes = 1, tok
			r, err := rt(req)
			if err != nil {
				return 0, fmt.Errorf("SASL authenticate: %w", err)
			}
			resp := r.(*kmsg.SASLAuthenticateResponse)
			if resp.ErrorCode != 0 {
				msg := ""
				if resp.ErrorMessage != nil {
					msg = ": " + *resp.ErrorMessage
				}
				return 0, fmt.Errorf("SASL %s authentication%s: %w", m.Name(), msg, kerr.ErrorForCode(resp.ErrorCode))
			}
			done, next, err := sess.Challenge(resp.SASLAuthBytes)
			if err != nil {
				return 0, fmt.Errorf("SASL %s: %w", m.Name(), err)
			}
			if done {
				return time.Duration(resp.SessionLifetimeMillis) * time.Millisecond, nil
			}
			tok = next
		}
	}
}

// SetAuthenticator makes the client authenticate every connection it dials
// with a (nil: none). Call it before the first request.
func (c *Client) SetAuthenticator(a Authenticator) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = a
}

// renewAfter is when a session of lifetime is renewed, u uniform in [0, 1):
// between 85% and 95% of it, as SaslClientAuthenticator's
// setAuthenticationEndAndSessionReauthenticationTimes picks (the jitter
// keeps many connections from re-authenticating at once), truncated to
// the millisecond.
func renewAfter(lifetime time.Duration, u float64) time.Duration {
	ms := int64(float64(lifetime.Milliseconds()) * (0.85 + u*0.10))
	return time.Duration(ms) * time.Millisecond
}

// authenticate runs the authenticator on a new connection; it records
// when the session must be renewed (a little before its lifetime ends, as
// the Java client re-authenticates between 85% and 95% of it).
func (c *Client) authenticate(ctx context.Context, conn net.Conn) error {
	c.mu.Lock()
	a := c.auth
	c.mu.Unlock()
	if a == nil {
		return nil
	}
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	lifetime, err := a(ctx, func(req kmsg.Request) (kmsg.Response, error) { return c.exchange(conn, req) })
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.renewAt = time.Time{}
	if lifetime > 0 {
		c.renewAt = time.Now().Add(renewAfter(lifetime, rand.Float64()))
	}
	c.mu.Unlock()
	return nil
}

// renewDue reports whether the SASL session of the open connection is due
// for renewal.
func (c *Client) renewDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.renewAt.IsZero() && time.Now().After(c.renewAt)
}

// reauthenticate renews the session on the open connection conn, as
// Kafka's client does (KIP-368, SaslClientAuthenticator.reauthenticate:
// SaslHandshake and SaslAuthenticate again on the same connection). When
// the broker refuses (it re-authenticates a connection at most once a
// second: KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS) or the
// exchange fails, conn is closed and a new connection is returned, to be
// authenticated by the caller; conn itself when renewed.
func (c *Client) reauthenticate(ctx context.Context, conn net.Conn) (net.Conn, error) {
	if err := c.authenticate(ctx, conn); err == nil {
		return conn, nil
	}
	c.dropConn(conn)
	return c.connect(ctx)
}
