package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// Every ZooKeeper client error a caller may need to tell apart maps to our sentinel, keeps its message
// and stays reachable; other errors pass through.
func TestClassify(t *testing.T) {
	other := errors.New("something else")
	for _, tc := range []struct {
		in   error
		want error
	}{
		{zk.ErrNoNode, ErrNoNode},
		{zk.ErrNodeExists, ErrNodeExists},
		{zk.ErrBadVersion, ErrBadVersion},
		{zk.ErrNotEmpty, ErrNotEmpty},
		{zk.ErrNoChildrenForEphemerals, ErrNoChildrenForEphemerals},
		{zk.ErrNoAuth, ErrNoAuth},
		{zk.ErrInvalidPath, ErrInvalidPath},
		{zk.ErrSessionExpired, ErrSessionExpired},
		{zk.ErrConnectionClosed, ErrConnectionLoss},
		{zk.ErrNoServer, ErrConnectionLoss},
		{zk.ErrSessionMoved, ErrSessionMoved},
		{zk.ErrClosing, ErrClosing},
		{fmt.Errorf("get /x: %w", zk.ErrNoNode), ErrNoNode},
		{other, other},
	} {
		got := classify(tc.in)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.in) {
			t.Errorf("classify(%v) = %v, want one wrapping %v and the original", tc.in, got, tc.want)
		}
		if got.Error() != tc.in.Error() {
			t.Errorf("classify(%v) says %q, want the original message", tc.in, got)
		}
		if again := classify(got); again != got {
			t.Errorf("classify is not idempotent on %v", tc.in)
		}
	}
	if classify(nil) != nil {
		t.Error("classify(nil) != nil")
	}
	// Only one sentinel per ZooKeeper code: a lost connection is not an expiry, nor the reverse.
	if errors.Is(classify(zk.ErrConnectionClosed), ErrSessionExpired) || errors.Is(classify(zk.ErrSessionExpired), ErrConnectionLoss) {
		t.Error("CONNECTIONLOSS and SESSIONEXPIRED are mixed up")
	}
}

// A call cut short by its session's expiry is reported as a session expiry, whatever the connection said.
func TestSessionFailMarksExpiry(t *testing.T) {
	s := &session{expired: make(chan struct{})}
	if err := s.fail(zk.ErrConnectionClosed); !errors.Is(err, ErrConnectionLoss) || errors.Is(err, ErrSessionExpired) {
		t.Fatalf("live session: %v, want a connection loss only", err)
	}
	close(s.expired)
	for _, in := range []error{zk.ErrConnectionClosed, zk.ErrClosing, zk.ErrNoServer} {
		if err := s.fail(in); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("expired session, %v: got %v, want ErrSessionExpired", in, err)
		}
	}
	if err := s.fail(zk.ErrNoNode); !errors.Is(err, ErrNoNode) || errors.Is(err, ErrSessionExpired) {
		t.Errorf("expired session, NONODE: got %v", err)
	}
}

func TestEventFromZK(t *testing.T) {
	for _, tc := range []struct {
		in   zk.Event
		want Event
	}{
		{zk.Event{Type: zk.EventNodeCreated, State: zk.StateHasSession, Path: "/a"}, Event{Type: EventNodeCreated, State: StateHasSession, Path: "/a"}},
		{zk.Event{Type: zk.EventNodeDeleted, Path: "/a"}, Event{Type: EventNodeDeleted, State: StateDisconnected, Path: "/a"}},
		{zk.Event{Type: zk.EventNodeDataChanged, Path: "/a"}, Event{Type: EventNodeDataChanged, State: StateDisconnected, Path: "/a"}},
		{zk.Event{Type: zk.EventNodeChildrenChanged, Path: "/a"}, Event{Type: EventNodeChildrenChanged, State: StateDisconnected, Path: "/a"}},
		{zk.Event{Type: zk.EventSession, State: zk.StateExpired}, Event{Type: EventSession, State: StateExpired}},
		{zk.Event{Type: zk.EventSession, State: zk.StateConnecting}, Event{Type: EventSession, State: StateConnecting}},
		{zk.Event{Type: zk.EventSession, State: zk.StateConnected}, Event{Type: EventSession, State: StateConnected}},
		{zk.Event{Type: zk.EventSession, State: zk.StateAuthFailed}, Event{Type: EventSession, State: StateAuthFailed}},
		{zk.Event{Type: zk.EventSession, State: zk.StateUnknown}, Event{Type: EventSession, State: StateUnknown}},
	} {
		if got := eventFromZK(tc.in); got != tc.want {
			t.Errorf("eventFromZK(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
	got := eventFromZK(zk.Event{Type: zk.EventNotWatching, State: zk.StateDisconnected, Path: "/a", Err: zk.ErrSessionExpired})
	if got.Type != EventNotWatching || got.Path != "/a" || !errors.Is(got.Err, ErrSessionExpired) {
		t.Errorf("not watching: %+v", got)
	}
	if EventNodeChildrenChanged.String() != "NodeChildrenChanged" || StateHasSession.String() != "HasSession" {
		t.Error("names")
	}
}

// The generic znode calls work on chroot-relative paths and report our sentinels.
func TestZnodeCalls(t *testing.T) {
	cs := testServer.Chroot(t)
	c := connect(t, cs)
	root := connect(t, testServer.Addr)
	chroot := strings.TrimPrefix(cs, testServer.Addr)

	if _, err := c.Create("/a/b", nil, Persistent); !errors.Is(err, ErrNoNode) {
		t.Fatalf("create without parent: %v, want ErrNoNode", err)
	}
	if name, err := c.Create("/a", []byte("x"), Persistent); err != nil || name != "/a" {
		t.Fatalf("create /a: %q %v", name, err)
	}
	if _, err := c.Create("/a", nil, Persistent); !errors.Is(err, ErrNodeExists) {
		t.Fatalf("create again: %v, want ErrNodeExists", err)
	}
	if ok, _, err := root.Exists(chroot + "/a"); err != nil || !ok {
		t.Fatalf("/a is not under the chroot: %v %v", ok, err)
	}
	seq, err := c.Create("/a/s-", nil, PersistentSequential)
	if err != nil || seq != "/a/s-0000000000" {
		t.Fatalf("sequential: %q %v", seq, err)
	}
	eph, err := c.Create("/a/e", nil, Ephemeral)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(eph+"/child", nil, Persistent); !errors.Is(err, ErrNoChildrenForEphemerals) {
		t.Fatalf("child of an ephemeral: %v", err)
	}
	_, st, err := c.Get(eph)
	if err != nil || st.EphemeralOwner != c.SessionID() {
		t.Fatalf("ephemeral owner %+v %v, want session %#x", st, err, c.SessionID())
	}
	children, st, err := c.ChildrenStat("/a")
	if err != nil || strings.Join(children, ",") != "e,s-0000000000" || st.NumChildren != 2 {
		t.Fatalf("children %v %+v %v", children, st, err)
	}
	st, err = c.Set("/a", []byte("yy"), 0)
	if err != nil || st.Version != 1 || st.DataLength != 2 {
		t.Fatalf("set: %+v %v", st, err)
	}
	if _, err := c.Set("/a", nil, 0); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("set at a stale version: %v", err)
	}
	if _, err := c.Set("/none", nil, -1); !errors.Is(err, ErrNoNode) {
		t.Fatalf("set of a missing znode: %v", err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("delete with children: %v", err)
	}
	if ok, st, err := c.Exists("/none"); ok || st != nil || err != nil {
		t.Fatalf("exists /none: %v %+v %v", ok, st, err)
	}
	for _, p := range []string{"/a/e", "/a/s-0000000000", "/a"} {
		if err := c.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Delete("/a", -1); !errors.Is(err, ErrNoNode) {
		t.Fatalf("delete again: %v", err)
	}
}

// OffsetCommit v0's write: set, else create with the parents, the data the decimal offset.
func TestConsumerOffset(t *testing.T) {
	c := connect(t, testServer.Chroot(t))
	if p := ConsumerOffsetPath("g", "t", 3); p != "/consumers/g/offsets/t/3" {
		t.Fatalf("path %s", p)
	}
	if _, ok, err := c.ConsumerOffset("g", "t", 3); ok || err != nil {
		t.Fatalf("no offset yet: ok=%v err=%v", ok, err)
	}
	if err := c.SetOrCreateConsumerOffset("g", "t", 3, 42); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.Get("/consumers/g/offsets/t/3"); err != nil || string(data) != "42" {
		t.Fatalf("znode %q %v", data, err)
	}
	if err := c.SetOrCreateConsumerOffset("g", "t", 3, 43); err != nil {
		t.Fatal(err)
	}
	if off, ok, err := c.ConsumerOffset("g", "t", 3); off != 43 || !ok || err != nil {
		t.Fatalf("offset %d %v %v, want 43", off, ok, err)
	}
	if _, err := c.Set(ConsumerOffsetPath("g", "t", 3), []byte("x"), -1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ConsumerOffset("g", "t", 3); err == nil {
		t.Fatal("an undecodable offset read without error")
	}
}

// A test's Hook sees every call of each session with absolute paths, a multi's operations, and can
// replace a call's outcome.
func TestSessionHook(t *testing.T) {
	cs := testServer.Chroot(t)
	chroot := strings.TrimPrefix(cs, testServer.Addr)
	var mu sync.Mutex
	var seen []Request
	var sessions []*SessionConn
	injected := errors.New("injected")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := ConnectWithOptions(ctx, cs, 6*time.Second, nil, Options{OnSession: func(conn *SessionConn) Hook {
		mu.Lock()
		sessions = append(sessions, conn)
		mu.Unlock()
		return func(req Request, send func() error) error {
			mu.Lock()
			seen = append(seen, req)
			mu.Unlock()
			if req.Op == OpGet && strings.HasSuffix(req.Path, "/fail") {
				return injected // not sent
			}
			if req.Op == OpSet && strings.HasSuffix(req.Path, "/lost") {
				_ = send()
				return ErrConnectionLoss // applied, its answer lost
			}
			return send()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Get("/fail"); !errors.Is(err, injected) {
		t.Fatalf("get /fail: %v, want the injected error", err)
	}
	if _, err := c.Create("/lost", []byte("a"), Persistent); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Set("/lost", []byte("b"), -1); !errors.Is(err, ErrConnectionLoss) || st != nil {
		t.Fatalf("set /lost: %+v %v, want no result and a connection loss", st, err)
	}
	if data, _, err := c.Get("/lost"); err != nil || string(data) != "b" {
		t.Fatalf("the lost set was not applied: %q %v", data, err)
	}
	if won, _, _, err := c.ElectController(1); err != nil || !won {
		t.Fatalf("elect: %v %v", won, err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(sessions) != 1 || sessions[0].SessionID() != c.SessionID() {
		t.Fatalf("sessions %d, want the one the client runs", len(sessions))
	}
	var multi *Request
	for i, r := range seen {
		if r.Path != "" && !strings.HasPrefix(r.Path, chroot) {
			t.Errorf("%+v: path not absolute", r)
		}
		if r.Op == OpMulti {
			multi = &seen[i]
		}
	}
	if multi == nil || len(multi.Ops) != 2 || multi.Ops[0].Op != OpCreate || multi.Ops[0].Path != chroot+ControllerPath ||
		multi.Ops[1].Op != OpSet || multi.Ops[1].Path != chroot+ControllerEpochPath {
		t.Fatalf("election multi %+v", multi)
	}

	// SessionConn calls bypass the hook and run on that session: an ephemeral it creates is the session's.
	n := len(seen)
	if _, err := sessions[0].Create(chroot+"/mine", nil, Ephemeral); err != nil {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Error("a SessionConn call went through the hook")
	}
	mu.Unlock()
	_, st, err := c.Get("/mine")
	mu.Lock()
	if err != nil || st.EphemeralOwner != c.SessionID() {
		t.Fatalf("/mine %+v %v", st, err)
	}
}
