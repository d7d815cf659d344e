package zkmeta

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// hookConn runs beforeCreate ahead of each Create: a test's point in the middle of a ZooKeeper call.
type hookConn struct {
	zkConn
	beforeCreate func(path string)
}

func (h hookConn) Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	if h.beforeCreate != nil {
		h.beforeCreate(p)
	}
	return h.zkConn.Create(p, data, flags, acl)
}

// expireDuring connects a client whose session a test can expire from inside a call: expire cuts the
// network, waits until the server has expired the session (its ephemeral is gone), restores the network
// and waits until the client has seen the expiry.
func expireDuring(t *testing.T, cs string, wrap func(zkConn) zkConn) (c *Client, expire func()) {
	t.Helper()
	observer := connect(t, cs)
	if err := observer.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	d := &zktest.CutDialer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := connectOpts(ctx, cs, time.Second, nil, Options{Dialer: d.Dial, wrapConn: wrap})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if _, err := c.RegisterBroker(BrokerInfo{ID: 9, Endpoints: []string{"PLAINTEXT://h:1"}}); err != nil {
		t.Fatal(err)
	}
	expire = func() {
		expired := c.SessionExpired()
		d.SetCut(true)
		for i := 0; ; i++ { // the server expires the session: its ephemeral goes
			if _, ok, err := observer.Broker(9); err == nil && !ok {
				break
			}
			if i == 400 {
				t.Error("session never expired on the server")
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		d.SetCut(false)
		select {
		case <-expired:
		case <-time.After(20 * time.Second):
			t.Error("client never saw its session expire")
		}
	}
	return c, expire
}

// An expiry that happens inside one ZooKeeper call is seen by the caller: the call fails instead of
// running under the next session (KafkaZkClient's calls on an expired ZooKeeper handle fail with
// SESSIONEXPIRED; ZooKeeperClient.reinitialize opens the new session only afterwards).
func TestExpiryInsideCallFailsTheCall(t *testing.T) {
	cs := testServer.Chroot(t)
	var once sync.Once
	var expire func()
	c, expire := expireDuring(t, cs, func(conn zkConn) zkConn {
		return hookConn{zkConn: conn, beforeCreate: func(p string) {
			if strings.HasSuffix(p, "/marker") {
				once.Do(func() { expire() })
			}
		}}
	})
	err := c.CreateRecursive("/marker", nil, Persistent)
	if err == nil {
		t.Fatal("a create issued under the expired session ran under the next one")
	}
	if !errors.Is(err, ErrSessionExpired) {
		t.Errorf("err = %v, want one wrapping ErrSessionExpired", err)
	}
	observer := connect(t, cs)
	if ok, _, err := observer.Exists("/marker"); err != nil || ok {
		t.Fatalf("/marker exists=%v err=%v", ok, err)
	}
}

// BeforeNewSession handlers run after the expiry and before the next session (ZooKeeperClient.reinitialize
// calls every beforeInitializingSession first): while one runs the client still has no live session and
// its calls fail, so nothing the handler waits for reaches ZooKeeper under the new session.
func TestBeforeNewSessionBlocksTheNextSession(t *testing.T) {
	c, expire := expireDuring(t, testServer.Chroot(t), nil)
	old := c.Session()
	calls := 0
	release := make(chan struct{})
	inHandler := make(chan error, 1)
	c.BeforeNewSession(func() {
		calls++
		_, _, err := c.Get(BrokerIDsPath)
		inHandler <- err
		<-release
	})
	c.BeforeNewSession(func() { t.Error("an unregistered handler ran") })()

	expire()
	select {
	case <-old.Expired:
	default:
		t.Fatal("the expired session's channel is open")
	}
	if err := <-inHandler; !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("a call from the handler: %v, want ErrSessionExpired", err)
	}
	if s := c.Session(); s.ID != old.ID {
		t.Fatalf("new session %#x opened while a handler still runs", s.ID)
	}
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.AwaitSession(ctx); err != nil {
		t.Fatal(err)
	}
	s := c.Session()
	if s.ID == old.ID || s.ID == 0 {
		t.Fatalf("session %#x after %#x", s.ID, old.ID)
	}
	select {
	case <-s.Expired:
		t.Fatal("the new session reports expired")
	default:
	}
	if _, _, err := c.Get(BrokerIDsPath); err != nil {
		t.Fatalf("call on the new session: %v", err)
	}
	if calls != 1 {
		t.Fatalf("handler ran %d times", calls)
	}
}

// lossyMulti loses the answer of the first Multi: applied says whether the write reached ZooKeeper
// before the connection "dropped".
type lossyMulti struct {
	zkConn
	applied bool
	lost    *atomic.Bool
}

func (l lossyMulti) Multi(ops ...any) ([]zk.MultiResponse, error) {
	if !l.lost.CompareAndSwap(false, true) {
		return l.zkConn.Multi(ops...)
	}
	if l.applied {
		if _, err := l.zkConn.Multi(ops...); err != nil {
			return nil, err
		}
	}
	return nil, zk.ErrConnectionClosed
}

// An election whose multi went through but whose answer was lost is a win: KafkaZkClient's
// registerControllerAndIncrementControllerEpoch retries and checkControllerAndEpoch recognises its own
// /controller (here by its ephemeral owner, this session) with the epoch it wrote. A /controller of ours
// held by this session is ours, one held by another session (an earlier process) is not.
func TestElectControllerLostReply(t *testing.T) {
	for _, tc := range []struct {
		name        string
		applied     bool // the lost multi reached ZooKeeper
		wantWon     bool
		wantEpoch   int32
		wantErr     bool
		wantControl bool // /controller exists afterwards
	}{
		{name: "applied", applied: true, wantWon: true, wantEpoch: 1, wantControl: true},
		{name: "not applied", applied: false, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := testServer.Chroot(t)
			observer := connect(t, cs)
			if err := observer.EnsurePaths(); err != nil {
				t.Fatal(err)
			}
			lost := &atomic.Bool{}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := ConnectWithOptions(ctx, cs, 6*time.Second, nil, Options{wrapConn: func(conn zkConn) zkConn {
				return lossyMulti{zkConn: conn, applied: tc.applied, lost: lost}
			}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			won, epoch, v, err := c.ElectController(1)
			if (err != nil) != tc.wantErr || won != tc.wantWon || epoch != tc.wantEpoch {
				t.Fatalf("ElectController = won %v epoch %d err %v", won, epoch, err)
			}
			if won {
				if e, ev, err := observer.ControllerEpoch(); err != nil || e != epoch || ev != v {
					t.Fatalf("/controller_epoch %d v%d (%v), election said %d v%d", e, ev, err, epoch, v)
				}
			}
			if _, ok, err := observer.Controller(); err != nil || ok != tc.wantControl {
				t.Fatalf("/controller exists=%v err=%v", ok, err)
			}
			// Asking again wins once: the same win recognised (its caller may have missed the first
			// answer too), or a fresh election.
			won2, epoch2, v2, err := c.ElectController(1)
			e, ev, eerr := observer.ControllerEpoch()
			if err != nil || !won2 || epoch2 != 1 || eerr != nil || e != 1 || ev != v2 {
				t.Fatalf("second ElectController = won %v epoch %d v%d err %v; /controller_epoch %d v%d", won2, epoch2, v2, err, e, ev)
			}
		})
	}
	t.Run("other session with our id", func(t *testing.T) {
		cs := testServer.Chroot(t)
		earlier, c := connect(t, cs), connect(t, cs)
		if err := earlier.EnsurePaths(); err != nil {
			t.Fatal(err)
		}
		if won, _, _, err := earlier.ElectController(1); err != nil || !won {
			t.Fatal(won, err)
		}
		if won, _, _, err := c.ElectController(1); err != nil || won {
			t.Fatalf("took an earlier session's /controller: won %v err %v", won, err)
		}
	})
}
