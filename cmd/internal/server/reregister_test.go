package server

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// sessionExpirer makes a broker's ZooKeeper sessions expire on the test's cue, through the client's seams:
// its dialer can cut the network, and it keeps every session's connection (in order) wrapped so that a test
// can act just before a Create.
type sessionExpirer struct {
	t        *testing.T
	chroot   string
	observer *zkmeta.Client
	// beforeCreate runs ahead of each Create on session number i (0 is the first) with the absolute path.
	beforeCreate func(i int, conn *zkmeta.SessionConn, path string)

	net zktest.CutDialer

	mu    sync.Mutex
	conns []*zkmeta.SessionConn
}

func newSessionExpirer(t *testing.T, connect string) *sessionExpirer {
	_, chroot, err := zkmeta.ParseConnect(connect)
	if err != nil {
		t.Fatal(err)
	}
	return &sessionExpirer{t: t, chroot: chroot, observer: zkClient(t, connect)}
}

func (e *sessionExpirer) options() zkmeta.Options {
	return zkmeta.Options{Dialer: e.net.Dial, OnSession: e.hook}
}

// hook numbers each session of the broker's client as it opens and runs beforeCreate ahead of its creates.
func (e *sessionExpirer) hook(conn *zkmeta.SessionConn) zkmeta.Hook {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.conns = append(e.conns, conn)
	i := len(e.conns) - 1
	return func(req zkmeta.Request, send func() error) error {
		if req.Op == zkmeta.OpCreate && e.beforeCreate != nil {
			e.beforeCreate(i, conn, req.Path)
		}
		return send()
	}
}

// session returns the connection of session i, or nil if the client has not opened it.
func (e *sessionExpirer) session(i int) *zkmeta.SessionConn {
	e.mu.Lock()
	defer e.mu.Unlock()
	if i < len(e.conns) {
		return e.conns[i]
	}
	return nil
}

// expire ends session i on the server: it marks the session with an ephemeral sentinel, cuts the network
// until ZooKeeper has expired the session (the sentinel is gone), then restores it, so the client's next
// reconnect is told the session expired.
func (e *sessionExpirer) expire(i int) {
	conn := e.session(i)
	sentinel := fmt.Sprintf("/expiry-sentinel-%d", i)
	if _, err := conn.Create(e.chroot+sentinel, nil, zkmeta.Ephemeral); err != nil {
		e.t.Errorf("session %d: create %s: %v", i, sentinel, err)
		return
	}
	e.net.SetCut(true)
	defer e.net.SetCut(false)
	for n := 0; ; n++ {
		_, _, err := e.observer.Get(sentinel)
		if errors.Is(err, zkmeta.ErrNoNode) {
			return
		}
		if n == 600 {
			e.t.Errorf("session %d never expired on the server (last: %v)", i, err)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// alive fails the test if the broker has stopped.
func (b *testBroker) alive(t *testing.T) {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // for stop
		t.Fatalf("broker %d stopped: %v", b.id, err)
	default:
	}
}

// A broker whose ZooKeeper session expires re-registers on the next session, and keeps trying while the
// sessions it registers in expire under it: the first session expires, the second expires just before
// its create of /brokers/ids/0 (the create fails with SESSIONEXPIRED), and the broker ends up registered
// by the third session and still serving. Kafka re-registers in afterInitializingSession of every new
// session (KafkaController's RegisterBrokerAndReelect → KafkaZkClient.registerBroker), so an expiry in
// the middle of one registration is followed by another; it never shuts the broker down.
func TestBrokerReRegistersWhenSessionExpiresDuringRegistration(t *testing.T) {
	connect := zktest.Start(t).Chroot(t)
	ex := newSessionExpirer(t, connect)
	brokerPath := ex.chroot + zkmeta.BrokerPath(0)
	var once sync.Once
	ex.beforeCreate = func(i int, _ *zkmeta.SessionConn, p string) {
		if i == 1 && p == brokerPath {
			once.Do(func() { ex.expire(1) })
		}
	}
	b := startBrokerWith(t, connect, 0, ex.options(), "zookeeper.session.timeout.ms=2000")

	// registeredBy reports whether /brokers/ids/0 is held by session i.
	registeredBy := func(i int) bool {
		b.alive(t)
		conn := ex.session(i)
		if conn == nil {
			return false
		}
		_, st, err := ex.observer.Get(zkmeta.BrokerPath(0))
		return err == nil && st.EphemeralOwner != 0 && st.EphemeralOwner == conn.SessionID()
	}
	waitFor(t, "broker 0 registered by its first session", func() bool { return registeredBy(0) })

	ex.expire(0)
	waitFor(t, "broker 0 registered by its third session", func() bool { return registeredBy(2) })

	cl := newClient(t, []string{b.addr})
	waitForBrokers(t, cl, 1)
	b.alive(t)
	b.stop(t)
}

// Only a registration that cannot succeed stops the broker: when another live session holds
// /brokers/ids/0 (checkedEphemeralCreate's NODEEXISTS with another owner) after the wait for an earlier
// session's znode, the broker shuts down with an error saying so instead of retrying forever.
func TestBrokerStopsWhenItsIDIsRegisteredByAnotherBroker(t *testing.T) {
	connect := zktest.Start(t).Chroot(t)
	ex := newSessionExpirer(t, connect)
	brokerPath := ex.chroot + zkmeta.BrokerPath(0)
	other := zkClient(t, connect)
	var once sync.Once
	ex.beforeCreate = func(i int, _ *zkmeta.SessionConn, p string) {
		if i == 1 && p == brokerPath {
			once.Do(func() {
				if _, err := other.RegisterBroker(zkmeta.BrokerInfo{ID: 0, Host: "other", Port: 1, Endpoints: []string{"PLAINTEXT://other:1"}}); err != nil {
					t.Errorf("registering the other broker: %v", err)
				}
			})
		}
	}
	b := startBrokerWith(t, connect, 0, ex.options(), "zookeeper.session.timeout.ms=2000")
	waitFor(t, "broker 0 registered by its first session", func() bool {
		b.alive(t)
		conn := ex.session(0)
		_, st, err := ex.observer.Get(zkmeta.BrokerPath(0))
		return conn != nil && err == nil && st.EphemeralOwner == conn.SessionID()
	})
	ex.expire(0)
	select {
	case err := <-b.done:
		b.stopOnce.Do(func() {})
		if !errors.Is(err, zkmeta.ErrBrokerIDRegistered) {
			t.Fatalf("broker stopped with %v, want an error wrapping ErrBrokerIDRegistered", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("broker 0 kept running with its id registered by another broker")
	}
	if info, ok, err := ex.observer.Broker(0); err != nil || !ok || info.Host != "other" {
		t.Fatalf("/brokers/ids/0 = %+v, %v, %v; want the other broker's", info, ok, err)
	}
}

// Which registration failures are retried on the next session.
func TestRetryableRegistration(t *testing.T) {
	registered := fmt.Errorf("broker id 0 is already registered (session 0x5): %w", zkmeta.ErrBrokerIDRegistered)
	for _, tc := range []struct {
		name    string
		err     error
		expired bool // the session the attempt ran in has expired
		want    bool
	}{
		{"session expired", fmt.Errorf("create: %w", zkmeta.ErrSessionExpired), false, true},
		{"connection lost", fmt.Errorf("create: %w", zkmeta.ErrConnectionLoss), false, true},
		{"session moved", zkmeta.ErrSessionMoved, false, true},
		{"registered by another live session", registered, false, false},
		{"registered, read after our session expired", registered, true, true},
		{"no node after our session expired", fmt.Errorf("read back: %w", zkmeta.ErrNoNode), true, true},
		{"no auth", zkmeta.ErrNoAuth, false, false},
		{"client closing", zkmeta.ErrClosing, false, false},
	} {
		if got := retryableRegistration(tc.err, tc.expired); got != tc.want {
			t.Errorf("%s: retryableRegistration(%v, %v) = %v, want %v", tc.name, tc.err, tc.expired, got, tc.want)
		}
	}
}
