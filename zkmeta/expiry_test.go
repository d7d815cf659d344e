package zkmeta

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

func TestSessionExpiry(t *testing.T) {
	cs := testServer.Chroot(t)
	observer := connect(t, cs)
	if err := observer.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	d := &zktest.CutDialer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := connectWith(ctx, cs, time.Second, nil, d.Dial)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.RegisterBroker(BrokerInfo{ID: 5, Endpoints: []string{"PLAINTEXT://h:1"}}); err != nil {
		t.Fatal(err)
	}
	_, w, err := observer.WatchBrokerIDs()
	if err != nil {
		t.Fatal(err)
	}
	d.SetCut(true)
	waitEvent(t, w) // the server expired the session and dropped the ephemeral
	d.SetCut(false)
	select {
	case <-c.SessionExpired():
	case <-time.After(15 * time.Second):
		t.Fatal("SessionExpired not signalled")
	}
	// The client opens a new session by itself; AwaitSession returns once it
	// is up, and SessionExpired then belongs to the new session.
	actx, acancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer acancel()
	if err := c.AwaitSession(actx); err != nil {
		t.Fatalf("no new session: %v", err)
	}
	select {
	case <-c.SessionExpired():
		t.Fatal("the new session must not report expired")
	default:
	}
	// The broker can register again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.RegisterBroker(BrokerInfo{ID: 5, Endpoints: []string{"PLAINTEXT://h:1"}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("re-register after expiry: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, ok, err := observer.Broker(5); !ok || err != nil {
		t.Fatalf("broker 5 not back: %v", err)
	}
}

// zktest.ExpireSession ends a live session at once from outside the client
// (a second connection in the same session closes it): the client sees its
// session expire, its ephemerals are gone, and it opens a new session.
func TestForcedSessionExpiry(t *testing.T) {
	cs := testServer.Chroot(t)
	observer := connect(t, cs)
	if err := observer.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	c := connect(t, cs)
	if _, err := c.RegisterBroker(BrokerInfo{ID: 7, Endpoints: []string{"PLAINTEXT://h:1"}}); err != nil {
		t.Fatal(err)
	}
	old := c.Session()
	if err := zktest.ExpireSession(testServer.Addr, old.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.Expired:
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not see its session expire")
	}
	if _, ok, err := observer.Broker(7); ok || err != nil {
		t.Fatalf("broker 7's ephemeral survived the expiry (ok %v, err %v)", ok, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.AwaitSession(ctx); err != nil {
		t.Fatalf("no new session: %v", err)
	}
	if c.Session().ID == old.ID {
		t.Fatal("the new session has the old id")
	}
	// Expiring a session the server no longer has is reported as such.
	if err := zktest.ExpireSession(testServer.Addr, old.ID, 5*time.Second); !errors.Is(err, zktest.ErrSessionGone) {
		t.Fatalf("expiring a gone session: %v, want ErrSessionGone", err)
	}
}
