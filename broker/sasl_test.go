package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/protocol"
)

// testJAAS is the PLAIN JAAS entry of the SASL test listener.
const testJAAS = `org.apache.kafka.common.security.plain.PlainLoginModule required
	username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`

// saslTestServer is a test broker (newTestServer: topic "t", one
// partition led by broker 1) with a SASL_PLAINTEXT listener.
type saslTestServer struct {
	*Server
	addr  string
	clock atomic.Int64 // unix nanos of the SASL clock
}

// newSASLTestServer starts a SASL_PLAINTEXT listener with PLAIN and both
// SCRAM mechanisms enabled (alice has SCRAM credentials of
// "alice-secret"), extra overriding or adding broker settings. The SASL
// clock starts at the real time and moves only by advance.
func newSASLTestServer(t *testing.T, extra map[string]string, realClock ...bool) *saslTestServer {
	t.Helper()
	s := newTestServer(t, withTopic("t", [16]byte{1}, nil, testPartitionState{leader: 1, leaderEpoch: 0, isr: []int32{1}, replicas: []int32{1}}))
	static := map[string]string{
		"sasl.enabled.mechanisms":                                     "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config":         testJAAS,
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required;`,
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required;`,
		"connection.failed.authentication.delay.ms":                   "150",
	}
	for k, v := range extra {
		static[k] = v
	}
	s.cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0", "SASL_PLAINTEXT://127.0.0.1:0"}
	s.cfg.StaticConfigs = static
	st, err := newSASLSettings(s.cfg, s.logger)
	if err != nil {
		t.Fatal(err)
	}
	s.sasl.Store(st)
	ts := &saslTestServer{Server: s}
	ts.clock.Store(time.Now().UnixNano())
	if len(realClock) == 0 || !realClock[0] {
		s.saslClock = func() time.Time { return time.Unix(0, ts.clock.Load()) }
	}
	c256, _ := scramSHA256.credential("alice-secret", []byte("salt-256"), 4096)
	c512, _ := scramSHA512.credential("alice-secret", []byte("salt-512"), 8192)
	s.scram.update("alice", map[string]string{mechScramSHA256: scramCredentialString(c256), mechScramSHA512: scramCredentialString(c512)})

	s.conns, s.connsByIP, s.connsByListener = map[net.Conn]struct{}{}, map[string]int{}, map[string]int{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.acceptLoop(ctx, ln, "SASL_PLAINTEXT")
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		s.closing = true
		s.connectionClosed()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		cancel()
		wg.Wait()
		s.wg.Wait()
	})
	ts.addr = ln.Addr().String()
	return ts
}

func (s *saslTestServer) advance(d time.Duration) { s.clock.Add(int64(d)) }

func (s *saslTestServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends req (its version set) and decodes the answer into a
// response of the same key and version.
func saslRoundTrip(t *testing.T, c net.Conn, req kmsg.Request, corr int32) kmsg.Response {
	t.Helper()
	if _, err := c.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("sasl-test")).AppendRequest(nil, req, corr)); err != nil {
		t.Fatalf("write %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	resp, err := readResponse(c, req, corr, 5*time.Second)
	if err != nil {
		t.Fatalf("%s response: %v", kmsg.NameForKey(req.Key()), err)
	}
	return resp
}

func readResponse(c net.Conn, req kmsg.Request, corr int32, within time.Duration) (kmsg.Response, error) {
	_ = c.SetReadDeadline(time.Now().Add(within))
	frame, err := readRawFrame(c)
	if err != nil {
		return nil, err
	}
	if len(frame) < 4 || int32(binary.BigEndian.Uint32(frame)) != corr {
		return nil, errors.New("wrong correlation id")
	}
	body := frame[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != int16(kmsg.ApiVersions) {
		body = body[1:] // empty header tags
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, err
	}
	return resp, nil
}

func readRawFrame(c net.Conn) ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, frame); err != nil {
		return nil, err
	}
	return frame, nil
}

// closedAfter waits for the broker to close c and returns how long that
// took from start; it fails if c stays open for 5 s.
func closedAfter(t *testing.T, c net.Conn, start time.Time) time.Duration {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("connection still open after 5s")
		}
		return time.Since(start)
	}
}

func handshakeReq(version int16, mech string) *kmsg.SASLHandshakeRequest {
	r := kmsg.NewPtrSASLHandshakeRequest()
	r.Version, r.Mechanism = version, mech
	return r
}

func authReq(version int16, token []byte) *kmsg.SASLAuthenticateRequest {
	r := kmsg.NewPtrSASLAuthenticateRequest()
	r.Version, r.SASLAuthBytes = version, token
	return r
}

func plainToken(user, pass string) []byte { return []byte("\x00" + user + "\x00" + pass) }

func saslMetadataReq() *kmsg.MetadataRequest {
	r := kmsg.NewPtrMetadataRequest()
	r.Version = 4
	return r
}

// TestSASLStateMachine plays SaslServerAuthenticator's cases on a raw
// connection: what is allowed before authentication, the handshake's
// errors, v0 raw token framing, the failed-authentication delay.
func TestSASLStateMachine(t *testing.T) {
	const delay = 150 * time.Millisecond
	s := newSASLTestServer(t, nil)
	for _, tc := range []struct {
		name string
		// play runs the exchange; it returns when the broker must close
		// the connection (the start of the wait for it), or zero time when
		// the connection must stay open.
		play func(t *testing.T, c net.Conn) time.Time
		// delayed: the close comes only after the failed-authentication delay.
		delayed bool
	}{
		{name: "produce first closes after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			req := kmsg.NewPtrProduceRequest()
			req.Version, req.Acks, req.TimeoutMillis = 7, 1, 1000
			start := time.Now()
			sendRequest(t, c, req, 1)
			return start
		}},
		{name: "metadata after ApiVersions closes after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, kmsg.NewPtrApiVersionsRequest(), 1)
			start := time.Now()
			sendRequest(t, c, saslMetadataReq(), 2)
			return start
		}},
		{name: "second ApiVersions closes at once", play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, kmsg.NewPtrApiVersionsRequest(), 1)
			start := time.Now()
			sendRequest(t, c, kmsg.NewPtrApiVersionsRequest(), 2)
			return start
		}},
		{name: "garbage first frame: not GSSAPI, closes after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			start := time.Now()
			if _, err := c.Write([]byte{0, 0, 0, 6, 0x60, 0x01, 2, 3, 4, 5}); err != nil {
				t.Fatal(err)
			}
			return start
		}},
		{name: "frame above sasl.server.max.receive.size", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			start := time.Now()
			if _, err := c.Write([]byte{0, 0x10, 0, 0}); err != nil { // 1 MiB > 512 KiB
				t.Fatal(err)
			}
			return start
		}},
		{name: "unknown mechanism: UNSUPPORTED_SASL_MECHANISM with the list, after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			start := time.Now()
			resp := saslRoundTrip(t, c, handshakeReq(1, "GSSAPI"), 1).(*kmsg.SASLHandshakeResponse)
			if time.Since(start) < delay-20*time.Millisecond {
				t.Errorf("handshake answered after %v, before the delay", time.Since(start))
			}
			// The enabled list in HashSet order, as Kafka answers it.
			if resp.ErrorCode != kerr.UnsupportedSaslMechanism.Code || !slices.Equal(resp.SupportedMechanisms, []string{"PLAIN", "SCRAM-SHA-512", "SCRAM-SHA-256"}) {
				t.Errorf("handshake: %v %v", kerr.ErrorForCode(resp.ErrorCode), resp.SupportedMechanisms)
			}
			return start
		}},
		{name: "wrong password: SASL_AUTHENTICATION_FAILED after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			if r := saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 1).(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
				t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
			}
			start := time.Now()
			resp := saslRoundTrip(t, c, authReq(2, plainToken("alice", "nope")), 2).(*kmsg.SASLAuthenticateResponse)
			if time.Since(start) < delay-20*time.Millisecond {
				t.Errorf("answered after %v, before the delay", time.Since(start))
			}
			if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || resp.ErrorMessage == nil || *resp.ErrorMessage != "Authentication failed: Invalid username or password" {
				t.Errorf("authenticate: %v %v", kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage))
			}
			return start
		}},
		{name: "SCRAM unknown user: the generic message", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, handshakeReq(1, "SCRAM-SHA-256"), 1)
			start := time.Now()
			resp := saslRoundTrip(t, c, authReq(1, []byte("n,,n=bob,r=abcdef")), 2).(*kmsg.SASLAuthenticateResponse)
			want := "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
			if resp.ErrorCode != kerr.SaslAuthenticationFailed.Code || deref(resp.ErrorMessage) != want {
				t.Errorf("authenticate: %v %q", kerr.ErrorForCode(resp.ErrorCode), deref(resp.ErrorMessage))
			}
			return start
		}},
		{name: "v1 handshake then Metadata instead of SaslAuthenticate", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 1)
			start := time.Now()
			sendRequest(t, c, saslMetadataReq(), 2)
			return start
		}},
		{name: "v0 handshake: raw tokens, then requests", play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, kmsg.NewPtrApiVersionsRequest(), 1)
			if r := saslRoundTrip(t, c, handshakeReq(0, "PLAIN"), 2).(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
				t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
			}
			tok := plainToken("admin", "admin-secret")
			frame := binary.BigEndian.AppendUint32(nil, uint32(len(tok)))
			if _, err := c.Write(append(frame, tok...)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := readRawFrame(c); err != nil || len(got) != 0 {
				t.Fatalf("raw PLAIN answer %q, %v; want an empty frame", got, err)
			}
			md := saslRoundTrip(t, c, saslMetadataReq(), 3).(*kmsg.MetadataResponse)
			if len(md.Topics) != 1 || md.Topics[0].Topic == nil || *md.Topics[0].Topic != "t" {
				t.Errorf("metadata after authentication: %+v", md.Topics)
			}
			return time.Time{}
		}},
		{name: "v0 handshake, wrong PLAIN password: no answer, close after the delay", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, handshakeReq(0, "PLAIN"), 1)
			tok := plainToken("admin", "wrong")
			start := time.Now()
			if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(tok))), tok...)); err != nil {
				t.Fatal(err)
			}
			return start
		}},
		{name: "authenticated: SaslHandshake and SaslAuthenticate get ILLEGAL_SASL_STATE", play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 1)
			ar := saslRoundTrip(t, c, authReq(2, plainToken("alice", "alice-secret")), 2).(*kmsg.SASLAuthenticateResponse)
			if ar.ErrorCode != 0 || ar.SessionLifetimeMillis != 0 {
				t.Fatalf("authenticate: %v, lifetime %d", kerr.ErrorForCode(ar.ErrorCode), ar.SessionLifetimeMillis)
			}
			if r := saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 3).(*kmsg.SASLHandshakeResponse); r.ErrorCode != kerr.IllegalSaslState.Code {
				t.Errorf("second handshake: %v", kerr.ErrorForCode(r.ErrorCode))
			}
			r := saslRoundTrip(t, c, authReq(2, plainToken("alice", "alice-secret")), 4).(*kmsg.SASLAuthenticateResponse)
			if r.ErrorCode != kerr.IllegalSaslState.Code || deref(r.ErrorMessage) != "SaslAuthenticate request received after successful authentication" {
				t.Errorf("second authenticate: %v %q", kerr.ErrorForCode(r.ErrorCode), deref(r.ErrorMessage))
			}
			saslRoundTrip(t, c, saslMetadataReq(), 5)
			return time.Time{}
		}},
		{name: "authorization id other than the user", delayed: true, play: func(t *testing.T, c net.Conn) time.Time {
			saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 1)
			start := time.Now()
			r := saslRoundTrip(t, c, authReq(1, []byte("admin\x00alice\x00alice-secret")), 2).(*kmsg.SASLAuthenticateResponse)
			if deref(r.ErrorMessage) != "Authentication failed: Client requested an authorization id that is different from username" {
				t.Errorf("authenticate: %q", deref(r.ErrorMessage))
			}
			return start
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each on its own connection; they mostly wait out the delay
			c := s.dial(t)
			start := tc.play(t, c)
			if start.IsZero() {
				return
			}
			took := closedAfter(t, c, start)
			if tc.delayed && took < delay-20*time.Millisecond {
				t.Errorf("closed after %v, before connection.failed.authentication.delay.ms (%v)", took, delay)
			}
			if !tc.delayed && took > delay-50*time.Millisecond {
				t.Errorf("closed after %v; want at once", took)
			}
		})
	}
}

// TestSASLClients authenticates franz-go clients with PLAIN and both SCRAM
// mechanisms, produces and reads back through the SASL listener; a wrong
// password ends with SASL_AUTHENTICATION_FAILED.
func TestSASLClients(t *testing.T) {
	s := newSASLTestServer(t, map[string]string{"connection.failed.authentication.delay.ms": "0"})
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, s.addr) // every broker address is the SASL listener
	}
	for _, tc := range []struct {
		name    string
		opt     kgo.Opt
		wantErr *kerr.Error
	}{
		{"PLAIN", kgo.SASL(plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()), nil},
		{"SCRAM-SHA-256", kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()), nil},
		{"SCRAM-SHA-512", kgo.SASL(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()), nil},
		{"PLAIN wrong password", kgo.SASL(plain.Auth{User: "alice", Pass: "x"}.AsMechanism()), kerr.SaslAuthenticationFailed},
		{"SCRAM-SHA-256 wrong password", kgo.SASL(scram.Auth{User: "alice", Pass: "x"}.AsSha256Mechanism()), kerr.SaslAuthenticationFailed},
		{"SCRAM-SHA-512 unknown user", kgo.SASL(scram.Auth{User: "bob", Pass: "x"}.AsSha512Mechanism()), kerr.SaslAuthenticationFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(s.addr), kgo.Dialer(dial), tc.opt, kgo.RequestRetries(0), kgo.DisableIdempotentWrite(),
				kgo.DefaultProduceTopic("t"), kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tc.wantErr != nil {
				if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); !errors.Is(err, tc.wantErr) {
					t.Fatalf("metadata: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err := cl.ProduceSync(ctx, kgo.StringRecord(tc.name)).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
			for {
				fs := cl.PollFetches(ctx)
				if err := fs.Err0(); err != nil {
					t.Fatalf("fetch: %v", err)
				}
				found := false
				fs.EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == tc.name })
				if found {
					return
				}
			}
		})
	}
}

// TestSASLReauthentication is KIP-368 with connections.max.reauth.ms on
// the broker's SASL clock: the session lifetime is announced, a
// re-authentication of the same principal renews it, another principal
// or mechanism is refused, and a request after the lifetime closes the
// connection.
func TestSASLReauthentication(t *testing.T) {
	s := newSASLTestServer(t, map[string]string{
		"listener.name.sasl_plaintext.connections.max.reauth.ms":               "60000",
		"listener.name.sasl_plaintext.scram-sha-256.connections.max.reauth.ms": "30000",
	})
	login := func(t *testing.T, c net.Conn, user, pass string) int64 {
		t.Helper()
		if r := saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 1).(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
			t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
		}
		r := saslRoundTrip(t, c, authReq(1, plainToken(user, pass)), 2).(*kmsg.SASLAuthenticateResponse)
		if r.ErrorCode != 0 {
			t.Fatalf("authenticate: %v %q", kerr.ErrorForCode(r.ErrorCode), deref(r.ErrorMessage))
		}
		return r.SessionLifetimeMillis
	}
	t.Run("lifetime, renewal, expiry", func(t *testing.T) {
		c := s.dial(t)
		if got := login(t, c, "alice", "alice-secret"); got != 60000 {
			t.Fatalf("session lifetime %d, want 60000", got)
		}
		s.advance(50 * time.Second)
		saslRoundTrip(t, c, saslMetadataReq(), 3)
		if got := login(t, c, "alice", "alice-secret"); got != 60000 {
			t.Fatalf("re-authenticated lifetime %d", got)
		}
		s.advance(50 * time.Second) // 100 s after the first login, 50 s after the second
		saslRoundTrip(t, c, saslMetadataReq(), 4)
		s.advance(11 * time.Second) // expired
		start := time.Now()
		sendRequest(t, c, saslMetadataReq(), 5)
		if took := closedAfter(t, c, start); took > 200*time.Millisecond {
			t.Errorf("expired session closed after %v", took)
		}
	})
	t.Run("re-authentication within a second is refused", func(t *testing.T) {
		c := s.dial(t)
		login(t, c, "alice", "alice-secret")
		login(t, c, "alice", "alice-secret") // the first re-authentication
		if r := saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 3).(*kmsg.SASLHandshakeResponse); r.ErrorCode != kerr.IllegalSaslState.Code {
			t.Errorf("handshake within a second: %v", kerr.ErrorForCode(r.ErrorCode))
		}
	})
	t.Run("principal change refused", func(t *testing.T) {
		c := s.dial(t)
		login(t, c, "alice", "alice-secret")
		saslRoundTrip(t, c, handshakeReq(1, "PLAIN"), 3)
		start := time.Now()
		r := saslRoundTrip(t, c, authReq(1, plainToken("admin", "admin-secret")), 4).(*kmsg.SASLAuthenticateResponse)
		if r.ErrorCode != kerr.SaslAuthenticationFailed.Code || deref(r.ErrorMessage) != "Cannot change principals during re-authentication from User.alice: User.admin" {
			t.Errorf("re-authenticate as admin: %v %q", kerr.ErrorForCode(r.ErrorCode), deref(r.ErrorMessage))
		}
		closedAfter(t, c, start)
	})
	t.Run("mechanism change refused", func(t *testing.T) {
		c := s.dial(t)
		login(t, c, "alice", "alice-secret")
		if r := saslRoundTrip(t, c, handshakeReq(1, "SCRAM-SHA-256"), 3).(*kmsg.SASLHandshakeResponse); r.ErrorCode != 0 {
			t.Fatalf("handshake: %v", kerr.ErrorForCode(r.ErrorCode))
		}
		start := time.Now()
		sendRequest(t, c, authReq(1, []byte("n,,n=alice,r=abc")), 4)
		closedAfter(t, c, start)
	})
	t.Run("SCRAM lifetime per mechanism", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := s.dial(t)
		saslRoundTrip(t, c, handshakeReq(1, "SCRAM-SHA-256"), 1)
		// Drive SCRAM by hand through kgo's client-side mechanism.
		sess, first, err := scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism().Authenticate(ctx, s.addr)
		if err != nil {
			t.Fatal(err)
		}
		r1 := saslRoundTrip(t, c, authReq(1, first), 2).(*kmsg.SASLAuthenticateResponse)
		if r1.ErrorCode != 0 {
			t.Fatalf("first: %v", kerr.ErrorForCode(r1.ErrorCode))
		}
		_, final, err := sess.Challenge(r1.SASLAuthBytes)
		if err != nil {
			t.Fatal(err)
		}
		r2 := saslRoundTrip(t, c, authReq(1, final), 3).(*kmsg.SASLAuthenticateResponse)
		if r2.ErrorCode != 0 || r2.SessionLifetimeMillis != 30000 {
			t.Fatalf("final: %v lifetime %d", kerr.ErrorForCode(r2.ErrorCode), r2.SessionLifetimeMillis)
		}
		if done, _, err := sess.Challenge(r2.SASLAuthBytes); err != nil || !done {
			t.Fatalf("server signature: done %v, %v", done, err)
		}
	})
}

// TestInterBrokerSASLClient: the inter-broker client (protocol.Client)
// authenticates its connections with SASL as a Kafka broker does, fails
// with the broker's message on a wrong password, and renews its session
// before connections.max.reauth.ms ends it.
func TestInterBrokerSASLClient(t *testing.T) {
	// Real time: the client renews by the clock.
	s := newSASLTestServer(t, map[string]string{"connections.max.reauth.ms": "300", "connection.failed.authentication.delay.ms": "0"}, true)
	for _, tc := range []struct {
		name    string
		mech    sasl.Mechanism
		wantErr string
	}{
		{"PLAIN", plain.Auth{User: "admin", Pass: "admin-secret"}.AsMechanism(), ""},
		{"SCRAM-SHA-512", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism(), ""},
		{"wrong password", scram.Auth{User: "alice", Pass: "x"}.AsSha256Mechanism(),
			"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256: SASL_AUTHENTICATION_FAILED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cl := protocol.NewClient(s.addr, "broker-1", 5*time.Second)
			defer cl.Close()
			cl.SetAuthenticator(protocol.SASLAuthenticator(tc.mech))
			if tc.wantErr != "" {
				_, err := cl.Request(ctx, saslMetadataReq())
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			// Requests keep working over several session lifetimes: the
			// client renews before the broker would close the connection.
			for end := time.Now().Add(time.Second); time.Now().Before(end); {
				if _, err := cl.Request(ctx, saslMetadataReq()); err != nil {
					t.Fatalf("request: %v", err)
				}
				time.Sleep(30 * time.Millisecond) // pacing the requests over the window, not synchronisation
			}
		})
	}
}

// TestInterBrokerAuthenticator: the broker's own login on a SASL listener
// is sasl.mechanism.inter.broker.protocol with the username and password
// of that mechanism's JAAS entry.
func TestInterBrokerAuthenticator(t *testing.T) {
	s := newSASLTestServer(t, nil)
	if _, err := s.InterBrokerAuthenticator("SASL_PLAINTEXT"); err == nil ||
		err.Error() != "sasl.mechanism.inter.broker.protocol must be included in sasl.enabled.mechanisms when SASL is used for inter-broker communication" {
		t.Errorf("default GSSAPI: %v", err)
	}
	if a, err := s.InterBrokerAuthenticator("PLAINTEXT"); a != nil || err != nil {
		t.Errorf("PLAINTEXT listener: %v %v", a, err)
	}
	s = newSASLTestServer(t, map[string]string{"sasl.mechanism.inter.broker.protocol": "PLAIN"})
	a, err := s.InterBrokerAuthenticator("SASL_PLAINTEXT")
	if err != nil {
		t.Fatal(err)
	}
	cl := protocol.NewClient(s.addr, "broker-1", 5*time.Second)
	defer cl.Close()
	cl.SetAuthenticator(a)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Request(ctx, saslMetadataReq()); err != nil {
		t.Fatalf("request as the JAAS entry's admin: %v", err)
	}
}

// BenchmarkSCRAMHandshake is a whole SCRAM-SHA-256 and SCRAM-SHA-512
// authentication (4096 iterations) over a SASL_PLAINTEXT connection:
// connect, SaslHandshake, two SaslAuthenticate round trips, both sides'
// work (the client's PBKDF2 dominates).
func BenchmarkSCRAMHandshake(b *testing.B) {
	for _, m := range []struct {
		name string
		mech sasl.Mechanism
	}{
		{"SCRAM-SHA-256", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()},
		{"SCRAM-SHA-512", scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()},
		{"PLAIN", plain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism()},
	} {
		b.Run(m.name, func(b *testing.B) {
			s := newSASLBenchServer(b)
			ctx := context.Background()
			for b.Loop() {
				cl := protocol.NewClient(s, "bench", 5*time.Second)
				cl.SetAuthenticator(protocol.SASLAuthenticator(m.mech))
				if _, err := cl.Request(ctx, kmsg.NewPtrApiVersionsRequest()); err != nil {
					b.Fatal(err)
				}
				cl.Close()
			}
		})
	}
}

// newSASLBenchServer is a bare broker with the SASL test listener (PLAIN
// and SCRAM for alice), serving ApiVersions; it returns its address.
func newSASLBenchServer(b *testing.B) string {
	cfg := DefaultConfig()
	cfg.Listeners = []string{"SASL_PLAINTEXT://127.0.0.1:0"}
	cfg.StaticConfigs = map[string]string{
		"sasl.enabled.mechanisms":                                     "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.sasl_plaintext.plain.sasl.jaas.config":         testJAAS,
		"listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": scramLoginModule + " required;",
		"listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config": scramLoginModule + " required;",
	}
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler), cache: newMetadataCache(),
		conns: map[net.Conn]struct{}{}, connsByIP: map[string]int{}, connsByListener: map[string]int{}}
	st, err := newSASLSettings(cfg, s.logger)
	if err != nil {
		b.Fatal(err)
	}
	s.sasl.Store(st)
	c256, _ := scramSHA256.credential("alice-secret", []byte("salt-256"), 4096)
	c512, _ := scramSHA512.credential("alice-secret", []byte("salt-512"), 4096)
	s.scram.update("alice", map[string]string{mechScramSHA256: scramCredentialString(c256), mechScramSHA512: scramCredentialString(c512)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.acceptLoop(ctx, ln, "SASL_PLAINTEXT") }()
	b.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		s.closing = true
		s.connectionClosed()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		cancel()
		<-done
		s.wg.Wait()
	})
	return ln.Addr().String()
}

// TestIllegalSaslStateResponse: SaslServerAuthenticator.handleSaslToken
// answers a request other than SaslAuthenticate with the request's own
// getErrorResponse(ILLEGAL_SASL_STATE).
func TestIllegalSaslStateResponse(t *testing.T) {
	const msg = "Unexpected Kafka request of type PRODUCE during SASL authentication."
	ill := kerr.IllegalSaslState.Code
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 9
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("t1")
	md.Topics = append(md.Topics, mt)
	prod := func(acks int16) *kmsg.ProduceRequest {
		r := kmsg.NewPtrProduceRequest()
		r.Version, r.Acks = 9, acks
		tp := kmsg.NewProduceRequestTopic()
		tp.Topic = "t1"
		p := kmsg.NewProduceRequestTopicPartition()
		p.Partition = 2
		tp.Partitions = append(tp.Partitions, p)
		r.Topics = append(r.Topics, tp)
		return r
	}
	cases := []struct {
		name  string
		req   kmsg.Request
		check func(kmsg.Response) bool
	}{
		{"metadata: each asked topic", md, func(r kmsg.Response) bool {
			m := r.(*kmsg.MetadataResponse)
			return m.Version == 9 && len(m.Topics) == 1 && *m.Topics[0].Topic == "t1" && m.Topics[0].ErrorCode == ill
		}},
		{"produce: each partition", prod(-1), func(r kmsg.Response) bool {
			p := r.(*kmsg.ProduceResponse)
			if len(p.Topics) != 1 || len(p.Topics[0].Partitions) != 1 {
				return false
			}
			pp := p.Topics[0].Partitions[0]
			return pp.Partition == 2 && pp.ErrorCode == ill && pp.BaseOffset == -1 && pp.LogStartOffset == -1 &&
				pp.LogAppendTime == -1 && pp.ErrorMessage != nil && *pp.ErrorMessage == msg
		}},
		{"produce acks=0: no answer", prod(0), func(r kmsg.Response) bool { return r == nil }},
		{"fetch below v13: top level and each partition", func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.Version, r.SessionID = 12, 7
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic = "t1"
			fp := kmsg.NewFetchRequestTopicPartition()
			fp.Partition = 4
			ft.Partitions = append(ft.Partitions, fp)
			r.Topics = append(r.Topics, ft)
			return r
		}(), func(r kmsg.Response) bool {
			f := r.(*kmsg.FetchResponse)
			return f.ErrorCode == ill && f.SessionID == 7 && len(f.Topics) == 1 && len(f.Topics[0].Partitions) == 1 &&
				f.Topics[0].Partitions[0].ErrorCode == ill && f.Topics[0].Partitions[0].HighWatermark == -1
		}},
		{"fetch v13: top level only", func() kmsg.Request {
			r := kmsg.NewPtrFetchRequest()
			r.Version = 13
			r.Topics = append(r.Topics, kmsg.NewFetchRequestTopic())
			return r
		}(), func(r kmsg.Response) bool {
			f := r.(*kmsg.FetchResponse)
			return f.ErrorCode == ill && len(f.Topics) == 0
		}},
		{"top-level error code", kmsg.NewPtrFindCoordinatorRequest(), func(r kmsg.Response) bool {
			return r.(*kmsg.FindCoordinatorResponse).ErrorCode == ill
		}},
		{"api versions", kmsg.NewPtrApiVersionsRequest(), func(r kmsg.Response) bool {
			return r.(*kmsg.ApiVersionsResponse).ErrorCode == ill
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := illegalSaslStateResponse(tc.req, msg); !tc.check(got) {
				t.Errorf("got %+v", got)
			}
		})
	}
}
