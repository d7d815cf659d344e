package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// saslState is SaslServerAuthenticator.SaslState.
type saslState int

const (
	saslInitialRequest      saslState = iota // INITIAL_REQUEST: nothing read yet
	saslHandshakeOrVersions                  // HANDSHAKE_OR_VERSIONS_REQUEST: a Kafka request was seen
	saslHandshakeRequest                     // HANDSHAKE_REQUEST: ApiVersions answered
	saslAuthenticateState                    // AUTHENTICATE: tokens of the mechanism
	saslReauthBadMechanism                   // REAUTH_BAD_MECHANISM
	saslComplete                             // COMPLETE
)

// connSASL is the SASL side of one connection on a SASL listener: Kafka's
// SaslServerAuthenticator with its ReauthInfo. The connection's serving
// goroutine owns it.
type connSASL struct {
	cfg   *listenerSASL
	creds *scramCredentials
	now   func() time.Time

	state        saslState
	kafkaHeaders bool // SaslHandshake v1: tokens come in SaslAuthenticate requests
	mechanism    string
	server       saslServer

	authenticated  bool
	principal      Principal
	supportsReauth bool      // a SaslAuthenticate v1+ was seen
	expiry         time.Time // session expiration; zero: none

	// Re-authentication (KIP-368).
	reauthenticating bool
	prevMechanism    string
	prevPrincipal    Principal
	lastReauthStart  time.Time
	badMechanismMsg  string
}

// saslOutcome is what handling one frame of the exchange asks of the
// connection: a response to write, and whether the exchange failed.
type saslOutcome struct {
	resp *protocol.Response // nil: nothing to write now
	// authFailed: an AuthenticationException; the connection closes after
	// connection.failed.authentication.delay.ms, and resp goes out just
	// before (Selector's delayed close, KafkaChannel.prepare).
	authFailed bool
	// closeNow: any other failure; the connection closes at once.
	closeNow bool
	reason   string
}

func (c *connSASL) text() string {
	if c.reauthenticating {
		return "re-authentication"
	}
	return "authentication"
}

// kafkaAPIName is an API's name as Kafka's ApiKeys enum prints it
// (PRODUCE, API_VERSIONS, INIT_PRODUCER_ID).
func kafkaAPIName(key int16) string {
	name := kmsg.Key(key).Name()
	if name == "" || name == "Unknown" {
		return fmt.Sprintf("UNKNOWN(%d)", key)
	}
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// frame handles one frame read during (re-)authentication
// (SaslServerAuthenticator.authenticate).
func (c *connSASL) frame(s *Server, frame []byte) saslOutcome {
	switch c.state {
	case saslInitialRequest, saslHandshakeOrVersions, saslHandshakeRequest:
		return c.kafkaRequest(s, frame)
	case saslReauthBadMechanism:
		return saslOutcome{authFailed: true, reason: c.badMechanismMsg}
	case saslAuthenticateState:
		if !c.kafkaHeaders {
			return c.rawToken(s, frame)
		}
		hdr, req, err := protocol.ParseRequest(frame)
		if err != nil {
			return saslOutcome{closeNow: true, reason: fmt.Sprintf("bad request during SASL %s: %v", c.text(), err)}
		}
		return c.authenticateRequest(s, hdr, req)
	}
	return saslOutcome{closeNow: true, reason: fmt.Sprintf("SASL frame in state %d", c.state)}
}

// kafkaRequest is handleKafkaRequest: only ApiVersions (once, first) and
// SaslHandshake are allowed before the mechanism's tokens.
func (c *connSASL) kafkaRequest(s *Server, frame []byte) saslOutcome {
	if len(frame) < 4 || kmsg.Key(int16(binary.BigEndian.Uint16(frame))).Name() == "Unknown" {
		if c.state == saslInitialRequest {
			// A 0.9 client's GSSAPI token without a handshake; GSSAPI is
			// not served, so: UnsupportedSaslMechanismException.
			return saslOutcome{authFailed: true, reason: "Exception handling first SASL packet from client, GSSAPI is not supported by server"}
		}
		return saslOutcome{closeNow: true, reason: "invalid request header during SASL handshake"}
	}
	key := int16(binary.BigEndian.Uint16(frame))
	if c.state == saslInitialRequest {
		c.state = saslHandshakeOrVersions
	}
	if kmsg.Key(key) != kmsg.ApiVersions && kmsg.Key(key) != kmsg.SASLHandshake {
		return saslOutcome{authFailed: true, reason: fmt.Sprintf("Unexpected Kafka request of type %s during SASL handshake.", kafkaAPIName(key))}
	}
	hdr, req, err := protocol.ParseRequest(frame)
	if kmsg.Key(key) == kmsg.ApiVersions {
		if c.state != saslHandshakeOrVersions {
			return saslOutcome{closeNow: true, reason: fmt.Sprintf("Unexpected ApiVersions request received during SASL authentication state %d", c.state)}
		}
		if errors.Is(err, protocol.ErrUnsupportedVersion) {
			// KIP-511's answer; the state stays (a supported version may follow).
			return saslOutcome{resp: s.respondUnsupportedVersion(hdr)}
		}
		if err != nil {
			return saslOutcome{closeNow: true, reason: fmt.Sprintf("bad ApiVersions request during SASL handshake: %v", err)}
		}
		c.state = saslHandshakeRequest
		return saslOutcome{resp: s.respond(hdr, s.handleApiVersions(req.(*kmsg.ApiVersionsRequest)))}
	}
	if err != nil {
		return saslOutcome{closeNow: true, reason: fmt.Sprintf("bad SaslHandshake request: %v", err)}
	}
	return c.handshake(s, hdr, req.(*kmsg.SASLHandshakeRequest))
}

// handshake is handleHandshakeRequest: an enabled mechanism is answered
// with the enabled list and its exchange starts; any other gets
// UNSUPPORTED_SASL_MECHANISM with the list, and the connection closes.
func (c *connSASL) handshake(s *Server, hdr protocol.RequestHeader, req *kmsg.SASLHandshakeRequest) saslOutcome {
	if hdr.APIVersion >= 1 {
		c.kafkaHeaders = true
	}
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.SupportedMechanisms = slices.Clone(c.cfg.mechanisms)
	if !slices.Contains(c.cfg.mechanisms, req.Mechanism) {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		return saslOutcome{resp: s.respond(hdr, resp), authFailed: true, reason: "Unsupported SASL mechanism " + req.Mechanism}
	}
	out := saslOutcome{resp: s.respond(hdr, resp)}
	if c.reauthenticating && req.Mechanism != c.prevMechanism {
		c.badMechanismMsg = fmt.Sprintf("SASL mechanism '%s' requested by client is not supported for re-authentication of mechanism '%s'",
			req.Mechanism, c.prevMechanism)
		c.state = saslReauthBadMechanism
		return out
	}
	c.mechanism = req.Mechanism
	c.server = c.newServer(req.Mechanism)
	c.state = saslAuthenticateState
	return out
}

func (c *connSASL) newServer(mechanism string) saslServer {
	if m := scramMechanismByName(mechanism); m != nil {
		return &scramServer{mech: m, lookup: c.creds.get, nonce: secureRandomString}
	}
	return &plainServer{users: c.cfg.plainUsers}
}

// rawToken is handleSaslToken without Kafka headers (SaslHandshake v0):
// the token and the answer are bare size-prefixed frames.
func (c *connSASL) rawToken(s *Server, token []byte) saslOutcome {
	out, err := c.server.evaluate(token)
	if err == nil && c.server.complete() {
		c.completed()
		err = c.checkPrincipal()
	}
	var af *authFailure
	switch {
	case errors.As(err, &af):
		return saslOutcome{authFailed: true, reason: af.msg}
	case err != nil:
		// A SaslException: an IOException to Kafka's Selector, closed at once.
		return saslOutcome{closeNow: true, reason: fmt.Sprintf("Failed %s (%s): %v", c.text(), c.mechanism, err)}
	}
	r := &protocol.Response{}
	var size [4]byte
	binary.BigEndian.PutUint32(size[:], uint32(len(out)))
	r.AppendBytes(append(size[:], out...))
	return saslOutcome{resp: r}
}

// authenticateRequest is handleSaslToken with Kafka headers.
func (c *connSASL) authenticateRequest(s *Server, hdr protocol.RequestHeader, req kmsg.Request) saslOutcome {
	ar, ok := req.(*kmsg.SASLAuthenticateRequest)
	if !ok {
		// SaslServerAuthenticator.handleSaslToken: any other request is
		// answered with its own error response (ILLEGAL_SASL_STATE) after
		// the delay, then the connection closes.
		msg := fmt.Sprintf("Unexpected Kafka request of type %s during SASL authentication.", kafkaAPIName(hdr.APIKey))
		out := saslOutcome{authFailed: true, reason: msg}
		if resp := illegalSaslStateResponse(req, msg); resp != nil {
			out.resp = s.respond(hdr, resp)
		}
		return out
	}
	if hdr.APIVersion > 0 {
		c.supportsReauth = true
	}
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	out, err := c.server.evaluate(ar.SASLAuthBytes)
	if err == nil && c.server.complete() {
		if err = c.checkPrincipal(); err == nil {
			resp.SessionLifetimeMillis = c.completed()
		}
	}
	if err != nil {
		var af *authFailure
		msg := fmt.Sprintf("Authentication failed during %s due to invalid credentials with SASL mechanism %s", c.text(), c.mechanism)
		if errors.As(err, &af) {
			msg = af.msg
		}
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		resp.ErrorMessage = &msg
		reason := msg
		if af == nil {
			reason = msg + ": " + err.Error()
		}
		return saslOutcome{resp: s.respond(hdr, resp), authFailed: true, reason: reason}
	}
	if out == nil {
		out = []byte{}
	}
	empty := "" // SaslAuthenticateResponseData's default error message
	resp.ErrorMessage = &empty
	resp.SASLAuthBytes = out
	return saslOutcome{resp: s.respond(hdr, resp)}
}

// illegalSaslStateResponse is AbstractRequest.getErrorResponse with an
// IllegalSaslStateException: Metadata's own form (every asked topic with
// the error), Produce's and Fetch's (every partition with the error),
// otherwise the response of the request's version with its top-level
// error code set (a request type without one gets an empty response).
func illegalSaslStateResponse(req kmsg.Request, msg string) kmsg.Response {
	code := kerr.IllegalSaslState.Code
	switch r := req.(type) {
	case *kmsg.MetadataRequest:
		return metadataErrorResponse(r, kerr.IllegalSaslState)
	case *kmsg.ProduceRequest:
		// ProduceRequest.getErrorResponse: nothing for acks=0; else each
		// partition with the error and its message, base and log start
		// offsets -1 (INVALID_OFFSET), log append time -1.
		if r.Acks == 0 {
			return nil
		}
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, t := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.BaseOffset, rp.LogStartOffset = p.Partition, code, -1, -1
				rp.ErrorMessage = kmsg.StringPtr(msg)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	case *kmsg.FetchRequest:
		// FetchRequest.getErrorResponse: the top-level error and the
		// request's session id; below v13 also each partition with the
		// error and high watermark -1.
		resp := r.ResponseKind().(*kmsg.FetchResponse)
		resp.ErrorCode, resp.SessionID = code, r.SessionID
		if r.Version < 13 {
			for _, t := range r.Topics {
				rt := kmsg.NewFetchResponseTopic()
				rt.Topic, rt.TopicID = t.Topic, t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewFetchResponseTopicPartition()
					rp.Partition, rp.ErrorCode, rp.HighWatermark = p.Partition, code, -1
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		return resp
	}
	resp := req.ResponseKind()
	if f := reflect.ValueOf(resp).Elem().FieldByName("ErrorCode"); f.IsValid() && f.Kind() == reflect.Int16 && f.CanSet() {
		f.SetInt(int64(code))
	}
	return resp
}

// checkPrincipal is ReauthInfo.ensurePrincipalUnchanged.
func (c *connSASL) checkPrincipal() error {
	p := Principal{Type: "User", Name: c.server.authorizationID()}
	if c.reauthenticating && p != c.prevPrincipal {
		return &authFailure{fmt.Sprintf("Cannot change principals during re-authentication from %s.%s: %s.%s",
			c.prevPrincipal.Type, c.prevPrincipal.Name, p.Type, p.Name)}
	}
	return nil
}

// completed records a finished exchange and returns the session lifetime
// (calcCompletionTimesAndReturnSessionLifetimeMs: connections.max.reauth.ms
// of the mechanism when positive, else none).
func (c *connSASL) completed() int64 {
	c.state = saslComplete
	c.authenticated = true
	c.reauthenticating = false
	c.principal = Principal{Type: "User", Name: c.server.authorizationID()}
	c.expiry = time.Time{}
	ms := c.cfg.reauthMs[c.mechanism]
	if ms <= 0 {
		return 0
	}
	c.expiry = c.now().Add(time.Duration(ms) * time.Millisecond)
	return ms
}

// beginReauth is KafkaChannel.maybeBeginServerReauthentication: a
// SaslHandshake on an authenticated connection starts re-authentication
// when the session has an expiration and the last one began at least a
// second ago; otherwise it is an ordinary request (ILLEGAL_SASL_STATE).
func (c *connSASL) beginReauth() bool {
	if c.expiry.IsZero() {
		return false
	}
	now := c.now()
	if !c.lastReauthStart.IsZero() && now.Sub(c.lastReauthStart) < minReauthenticationInterval {
		return false
	}
	c.lastReauthStart = now
	c.reauthenticating = true
	c.prevMechanism, c.prevPrincipal = c.mechanism, c.principal
	c.server = nil
	c.state = saslHandshakeRequest
	return true
}

// expired is KafkaChannel.serverAuthenticationSessionExpired.
func (c *connSASL) expired() bool {
	return !c.expiry.IsZero() && c.now().After(c.expiry)
}

// newConnSASL is the authenticator of a new connection on a SASL listener;
// nil when the listener has no SASL settings.
func (s *Server) newConnSASL(listener string) *connSASL {
	st := s.saslSettings()
	if st == nil {
		return nil
	}
	cfg := st.listeners[listener]
	if cfg == nil {
		return nil
	}
	now := time.Now
	if s.saslClock != nil {
		now = s.saslClock
	}
	return &connSASL{cfg: cfg, creds: &s.scram, now: now}
}

func (s *Server) saslSettings() *saslSettings {
	return s.sasl.Load()
}

// authenticate runs a new connection's SASL exchange before any other
// request is read (Kafka mutes the channel until authentication
// completes): frames are read one at a time, up to
// sasl.server.max.receive.size each. Nil: authenticated, the session's
// principal set. An error closes the connection (after the failed
// authentication delay when closeAfterDelay did it).
func (c *connection) authenticate(ctx context.Context, br *bufio.Reader, sess *session, sa *connSASL) error {
	st := c.srv.saslSettings()
	for !sa.authenticated {
		size, err := readFrameSize(br, st.maxReceiveSize, &c.frameStarted)
		if err != nil {
			if errors.Is(err, protocol.ErrFrameTooLarge) || errors.Is(err, protocol.ErrNegativeFrameSize) {
				return c.closeAfterDelay(ctx, st, nil, "Failing SASL authentication due to invalid receive size")
			}
			return err
		}
		frame, err := readFrameBody(br, size, nil)
		if err != nil {
			return err
		}
		c.frameRead()
		out := sa.frame(c.srv, frame)
		c.requestDone()
		if err := c.saslOutcome(ctx, st, out); err != nil {
			return err
		}
	}
	sess.setPrincipal(sa.principal)
	return nil
}

// saslOutcome carries out what a frame's handling asked for.
func (c *connection) saslOutcome(ctx context.Context, st *saslSettings, out saslOutcome) error {
	switch {
	case out.authFailed:
		return c.closeAfterDelay(ctx, st, out.resp, out.reason)
	case out.closeNow:
		return errors.New(out.reason)
	case out.resp != nil:
		if c.idle >= 0 {
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.idle))
		}
		if _, err := out.resp.WriteTo(c.conn); err != nil {
			return fmt.Errorf("writing response: %w", err)
		}
	}
	return nil
}

// closeAfterDelay is Selector's delayed close on an authentication
// failure: nothing more is read, and after
// connection.failed.authentication.delay.ms the failure response (if any)
// is sent and the connection closed.
func (c *connection) closeAfterDelay(ctx context.Context, st *saslSettings, resp *protocol.Response, reason string) error {
	c.srv.limitedLog("sasl-auth-failed", slog.LevelInfo, "Failed authentication",
		"remote", c.conn.RemoteAddr().String(), "reason", reason)
	if st.failedDelay > 0 {
		t := time.NewTimer(st.failedDelay)
		select {
		case <-t.C:
		case <-c.closed:
			t.Stop()
			return io.EOF
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if resp != nil {
		_ = c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = resp.WriteTo(c.conn)
	}
	return fmt.Errorf("failed authentication: %s", reason)
}

// saslInFlight handles a request of an authenticated SASL connection
// before dispatch (SocketServer.processCompletedReceives): during
// re-authentication every request goes to the authenticator; a
// SaslHandshake may begin re-authentication; a request after the session
// expired closes the connection. handled: the request was taken here.
func (c *connection) saslInFlight(ctx context.Context, sess *session, sa *connSASL, r request) (handled bool, err error) {
	st := c.srv.saslSettings()
	if !sa.reauthenticating {
		if kmsg.Key(r.hdr.APIKey) == kmsg.SASLHandshake && sa.beginReauth() {
			if r.hdr.APIVersion < 1 {
				return true, errors.New("re-authentication with a SaslHandshake v0")
			}
		} else {
			if sa.expired() {
				return true, errors.New("expired session: the SASL session lifetime (connections.max.reauth.ms) has passed without re-authentication")
			}
			return false, nil
		}
	}
	var out saslOutcome
	switch {
	case r.req == nil:
		out = saslOutcome{closeNow: true, reason: "unsupported request version during re-authentication"}
	case sa.state == saslReauthBadMechanism:
		out = saslOutcome{authFailed: true, reason: sa.badMechanismMsg}
	case sa.state == saslAuthenticateState:
		out = sa.authenticateRequest(c.srv, r.hdr, r.req)
	case kmsg.Key(r.hdr.APIKey) == kmsg.SASLHandshake:
		out = sa.handshake(c.srv, r.hdr, r.req.(*kmsg.SASLHandshakeRequest))
	default:
		out = saslOutcome{authFailed: true, reason: fmt.Sprintf("Unexpected Kafka request of type %s during SASL handshake.", kafkaAPIName(r.hdr.APIKey))}
	}
	if err := c.saslOutcome(ctx, st, out); err != nil {
		return true, err
	}
	if sa.authenticated && !sa.reauthenticating && sa.state == saslComplete {
		sess.setPrincipal(sa.principal)
	}
	return true, nil
}
