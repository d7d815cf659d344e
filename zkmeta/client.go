// Package zkmeta is typed access to Kafka's ZooKeeper layout (ZooKeeper mode, Kafka 3.7): paths, Kafka's
// exact JSON codecs, versioned and controller-fenced writes, watches.
package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
)

// Znode paths (relative to the chroot).
const (
	ClusterIDPath        = "/cluster/id"
	BrokerIDsPath        = "/brokers/ids"
	BrokerTopicsPath     = "/brokers/topics"
	BrokerSeqIDPath      = "/brokers/seqid"
	ControllerPath       = "/controller"
	ControllerEpochPath  = "/controller_epoch"
	DeleteTopicsPath     = "/admin/delete_topics"
	ReassignPath         = "/admin/reassign_partitions"
	PreferredReplicaPath = "/admin/preferred_replica_election"
	ConfigChangesPath    = "/config/changes"
	ConfigPath           = "/config"
	IsrChangePath        = "/isr_change_notification"
	ProducerIDBlockPath  = "/latest_producer_id_block"
	LogDirEventPath      = "/log_dir_event_notification"
	ConsumersPath        = "/consumers"
)

// PersistentPaths are ensured at broker startup (ZkData.PersistentZkPaths plus the config entity types).
var persistentPaths = []string{
	ConsumersPath, BrokerIDsPath, BrokerTopicsPath, ConfigChangesPath, DeleteTopicsPath, BrokerSeqIDPath,
	IsrChangePath, ProducerIDBlockPath, LogDirEventPath,
	"/config/topics", "/config/clients", "/config/users", "/config/brokers", "/config/ips",
}

// TopicPath is /brokers/topics/<t>.
func TopicPath(topic string) string { return BrokerTopicsPath + "/" + topic }

// PartitionStatePath is /brokers/topics/<t>/partitions/<p>/state.
func PartitionStatePath(topic string, p int32) string {
	return fmt.Sprintf("%s/partitions/%d/state", TopicPath(topic), p)
}

// BrokerPath is /brokers/ids/<id>.
func BrokerPath(id int32) string { return fmt.Sprintf("%s/%d", BrokerIDsPath, id) }

// EntityConfigPath is /config/<type>/<name>.
func EntityConfigPath(entityType, name string) string {
	return ConfigPath + "/" + entityType + "/" + name
}

var openACL = zk.WorldACL(zk.PermAll)

// Client is a ZooKeeper client with every path relative to the connect string's chroot. Like Kafka's
// ZooKeeperClient it uses one connection per session: when a session expires its connection is closed (calls
// on it fail), every BeforeNewSession handler runs, and only then is the next session opened.
type Client struct {
	conn   liveConn // routes each call to the current session's connection
	chroot string   // "" or "/kafka"
	log    *slog.Logger

	servers        []string
	sessionTimeout time.Duration
	opts           Options

	mu          sync.Mutex
	sess        *session      // the current session; replaced only by reinitialize
	newSession  chan struct{} // closed when sess is replaced
	handlers    map[int]func()
	nextHandler int
	closed      bool
	closing     chan struct{}
	closeOnce   sync.Once
}

// session is one ZooKeeper session and the connection holding it. go-zookeeper would open a new session on
// the same connection after an expiry and send it the calls still queued; this connection's dialer refuses
// once its session has expired, so nothing issued under one session ever runs under another.
type session struct {
	raw         *zk.Conn
	conn        zkConn        // raw, or a test's wrapper of it
	id          int64         // set once established
	established chan struct{} // closed at the first StateHasSession
	expired     chan struct{} // closed when ZooKeeper reports the session expired
	ended       atomic.Bool   // the dialer refuses from then on
	eventsDone  chan struct{} // closed when go-zookeeper has shut the connection down

	establishOnce, expireOnce, reinitOnce sync.Once
}

var errSessionEnded = errors.New("zookeeper session ended; this connection opens no other")

// close ends the connection and waits until go-zookeeper has released it.
func (s *session) close() {
	s.ended.Store(true)
	s.raw.Close()
	<-s.eventsDone
}

// fail classifies the error of a call on s, and marks one cut short by the session's expiry as a session
// expiry: such a call never runs under another session.
func (s *session) fail(err error) error {
	err = classify(err)
	if err == nil || errors.Is(err, ErrSessionExpired) {
		return err
	}
	select {
	case <-s.expired:
		if errors.Is(err, ErrConnectionLoss) || errors.Is(err, ErrClosing) {
			return classify(fmt.Errorf("%w (%w)", zk.ErrSessionExpired, err))
		}
	default:
	}
	return err
}

// slogAdapter routes go-zookeeper's Printf logging to slog at debug level.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, args ...any) {
	a.l.Debug(fmt.Sprintf(format, args...), "component", "zk")
}

// ParseConnect splits "h1:p1,h2:p2/chroot" into servers and chroot ("" for none).
func ParseConnect(connect string) (servers []string, chroot string, err error) {
	hosts := connect
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
		if chroot == "/" {
			chroot = ""
		}
		if chroot != "" && (strings.HasSuffix(chroot, "/") || path.Clean(chroot) != chroot) {
			return nil, "", fmt.Errorf("zookeeper.connect %q: invalid chroot path %q", connect, chroot)
		}
	}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			servers = append(servers, h)
		}
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("zookeeper.connect %q: no servers", connect)
	}
	return servers, chroot, nil
}

// Connect opens a session (waiting at most until ctx is done), creates the chroot path if missing (as
// Kafka does) and returns a client whose paths are under the chroot.
func Connect(ctx context.Context, connect string, sessionTimeout time.Duration, logger *slog.Logger) (*Client, error) {
	return connectOpts(ctx, connect, sessionTimeout, logger, Options{})
}

// zkConn is the part of a ZooKeeper connection this package uses (*zk.Conn has it); a test seam
// (Options.OnSession) interposes on it.
type zkConn interface {
	Get(path string) ([]byte, *zk.Stat, error)
	GetW(path string) ([]byte, *zk.Stat, <-chan zk.Event, error)
	Children(path string) ([]string, *zk.Stat, error)
	ChildrenW(path string) ([]string, *zk.Stat, <-chan zk.Event, error)
	Exists(path string) (bool, *zk.Stat, error)
	ExistsW(path string) (bool, *zk.Stat, <-chan zk.Event, error)
	Create(path string, data []byte, flags int32, acl []zk.ACL) (string, error)
	Set(path string, data []byte, version int32) (*zk.Stat, error)
	Delete(path string, version int32) error
	Multi(ops ...any) ([]zk.MultiResponse, error)
	SessionID() int64
}

// Dialer opens a network connection to a ZooKeeper server (net.DialTimeout's signature).
type Dialer func(network, address string, timeout time.Duration) (net.Conn, error)

// Options are test seams; the zero value is what Connect uses.
type Options struct {
	Dialer Dialer // replaces net.DialTimeout (a test cuts the network with it)
	// OnSession, when set, is called as each session's connection opens (before ZooKeeper has given it a
	// session) and returns the hook every call on that connection goes through (nil for none).
	OnSession func(conn *SessionConn) Hook

	wrapConn func(zkConn) zkConn // this package's tests interpose on the raw connection
}

// ConnectWithOptions is Connect with test seams.
func ConnectWithOptions(ctx context.Context, connect string, sessionTimeout time.Duration, logger *slog.Logger, opts Options) (*Client, error) {
	return connectOpts(ctx, connect, sessionTimeout, logger, opts)
}

// connectWith is Connect with an optional dialer (tests use it to cut the network).
func connectWith(ctx context.Context, connect string, sessionTimeout time.Duration, logger *slog.Logger, dialer Dialer) (*Client, error) {
	return connectOpts(ctx, connect, sessionTimeout, logger, Options{Dialer: dialer})
}

func connectOpts(ctx context.Context, connect string, sessionTimeout time.Duration, logger *slog.Logger, opts Options) (*Client, error) {
	servers, chroot, err := ParseConnect(connect)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{log: logger, servers: servers, sessionTimeout: sessionTimeout, opts: opts,
		newSession: make(chan struct{}), handlers: map[int]func(){}, closing: make(chan struct{})}
	c.conn = liveConn{c}
	s, err := c.openSession(ctx.Done())
	if errors.Is(err, errSessionEnded) && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper connect %q: %w", connect, err)
	}
	c.mu.Lock() // its expiry callback may already look at c.sess
	c.sess = s
	c.mu.Unlock()
	if chroot != "" {
		if err := c.createRecursive(chroot, nil, Persistent); err != nil && !errors.Is(err, ErrNodeExists) {
			c.Close()
			return nil, fmt.Errorf("create chroot %s: %w", chroot, err)
		}
		c.chroot = chroot
	}
	logger.Debug("zookeeper session established", "connect", connect, "session", fmt.Sprintf("%#x", s.id))
	// A session that expired before it became current would otherwise go unnoticed.
	c.sessionEnded(s)
	return c, nil
}

// openSession connects and waits until ZooKeeper has given the connection a session, or stop is closed.
func (c *Client) openSession(stop <-chan struct{}) (*session, error) {
	s := &session{established: make(chan struct{}), expired: make(chan struct{}), eventsDone: make(chan struct{})}
	dial := c.opts.Dialer
	if dial == nil {
		dial = net.DialTimeout
	}
	raw, events, err := zk.Connect(c.servers, c.sessionTimeout, zk.WithLogger(slogAdapter{c.log}), zk.WithLogInfo(false),
		zk.WithDialer(func(network, address string, timeout time.Duration) (net.Conn, error) {
			if s.ended.Load() {
				return nil, errSessionEnded
			}
			conn, err := dial(network, address, timeout)
			if err != nil {
				return nil, err
			}
			return newHandshakeConn(conn, time.Now().Add(c.connectTimeout())), nil
		}),
		// Called synchronously by go-zookeeper's connection loop, so an expiry is marked before the
		// connection could try to reconnect.
		zk.WithEventCallback(func(ev zk.Event) { c.onSessionEvent(s, ev) }))
	if err != nil {
		return nil, err
	}
	s.raw, s.conn = raw, raw
	if c.opts.wrapConn != nil {
		s.conn = c.opts.wrapConn(s.conn)
	}
	if c.opts.OnSession != nil {
		if hook := c.opts.OnSession(&SessionConn{conn: s.conn}); hook != nil {
			s.conn = hookedConn{zkConn: s.conn, hook: hook}
		}
	}
	go func() {
		defer close(s.eventsDone)
		for ev := range events {
			c.log.Debug("zookeeper event", "type", ev.Type.String(), "state", ev.State.String(), "server", ev.Server)
		}
	}()
	select {
	case <-s.established:
	case <-stop:
		s.close()
		return nil, errSessionEnded
	}
	s.id = raw.SessionID()
	return s, nil
}

// connectTimeout is how long a connection may take to get ZooKeeper's answer to its session handshake:
// ZooKeeper's Java client (Kafka's) gives up on a server after sessionTimeout / number of servers
// (ClientCnxn.connectTimeout) and tries the next; go-zookeeper would wait ten read timeouts (40 s for a 6 s
// session), past the session's own expiry.
func (c *Client) connectTimeout() time.Duration {
	return c.sessionTimeout / time.Duration(max(len(c.servers), 1))
}

// handshakeConn bounds go-zookeeper's session handshake on one connection by a deadline: until the server's
// ConnectResponse (a 4-byte length and that many bytes) has been read, every read and write deadline
// go-zookeeper sets, none included, is capped at it. A server that accepts the connection and never
// answers (one still starting after a restart, or a stalled network path) then costs connectTimeout, not
// 10 × the read timeout, and the client retries while its session can still be reopened. After the
// handshake the connection is go-zookeeper's own again (the deadlines it last asked for are applied).
//
// During the handshake go-zookeeper uses the connection from one goroutine (authenticate), so only done
// is shared with the send and receive loops that follow.
type handshakeConn struct {
	net.Conn
	deadline             time.Time
	readAsk, writeAsk    time.Time // what go-zookeeper asked for during the handshake
	header               [4]byte
	headerRead, bodyLeft int
	done                 atomic.Bool
}

func newHandshakeConn(conn net.Conn, deadline time.Time) *handshakeConn {
	h := &handshakeConn{Conn: conn, deadline: deadline}
	_ = conn.SetDeadline(deadline)
	return h
}

// capped is the deadline applied for asked during the handshake.
func (h *handshakeConn) capped(asked time.Time) time.Time {
	if asked.IsZero() || asked.After(h.deadline) {
		return h.deadline
	}
	return asked
}

func (h *handshakeConn) SetReadDeadline(t time.Time) error {
	if h.done.Load() {
		return h.Conn.SetReadDeadline(t)
	}
	h.readAsk = t
	return h.Conn.SetReadDeadline(h.capped(t))
}

func (h *handshakeConn) SetWriteDeadline(t time.Time) error {
	if h.done.Load() {
		return h.Conn.SetWriteDeadline(t)
	}
	h.writeAsk = t
	return h.Conn.SetWriteDeadline(h.capped(t))
}

func (h *handshakeConn) SetDeadline(t time.Time) error {
	if h.done.Load() {
		return h.Conn.SetDeadline(t)
	}
	h.readAsk, h.writeAsk = t, t
	return h.Conn.SetDeadline(h.capped(t))
}

func (h *handshakeConn) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	if h.done.Load() || n == 0 {
		return n, err
	}
	b := p[:n]
	if h.headerRead < len(h.header) {
		k := copy(h.header[h.headerRead:], b)
		h.headerRead += k
		b = b[k:]
		if h.headerRead < len(h.header) {
			return n, err
		}
		h.bodyLeft = int(int32(h.header[0])<<24 | int32(h.header[1])<<16 | int32(h.header[2])<<8 | int32(h.header[3]))
	}
	h.bodyLeft -= len(b)
	if h.bodyLeft <= 0 {
		h.done.Store(true)
		_ = h.Conn.SetReadDeadline(h.readAsk)
		_ = h.Conn.SetWriteDeadline(h.writeAsk)
	}
	return n, err
}

func (c *Client) onSessionEvent(s *session, ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	switch ev.State {
	case zk.StateHasSession:
		s.establishOnce.Do(func() { close(s.established) })
	case zk.StateExpired:
		s.ended.Store(true)
		s.expireOnce.Do(func() { close(s.expired) })
		c.sessionEnded(s)
	}
}

// sessionEnded starts reinitialize once the current session has expired.
func (c *Client) sessionEnded(s *session) {
	select {
	case <-s.expired:
	default:
		return
	}
	c.mu.Lock()
	current := c.sess == s && !c.closed
	c.mu.Unlock()
	if current {
		s.reinitOnce.Do(func() { go c.reinitialize(s) })
	}
}

// reinitialize replaces an expired session, as ZooKeeperClient.reinitialize: close its connection, run every
// handler's beforeInitializingSession (BeforeNewSession), then open the next session, retrying until the
// client is closed.
func (c *Client) reinitialize(old *session) {
	c.log.Warn("zookeeper session expired", "session", fmt.Sprintf("%#x", old.id))
	old.close() // calls still pending on it fail now
	c.mu.Lock()
	handlers := make([]int, 0, len(c.handlers))
	for k := range c.handlers {
		handlers = append(handlers, k)
	}
	slices.Sort(handlers)
	fns := make([]func(), 0, len(handlers))
	for _, k := range handlers {
		fns = append(fns, c.handlers[k])
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
	for {
		s, err := c.openSession(c.closing)
		if err != nil {
			select {
			case <-c.closing:
				return
			default:
			}
			c.log.Warn("opening a new zookeeper session failed; retrying", "err", err)
			select {
			case <-c.closing:
				return
			case <-time.After(time.Second):
			}
			continue
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			s.close()
			return
		}
		c.sess = s
		close(c.newSession)
		c.newSession = make(chan struct{})
		c.mu.Unlock()
		c.log.Info("zookeeper session re-established", "session", fmt.Sprintf("%#x", s.id))
		c.sessionEnded(s) // it may have expired before it became current
		return
	}
}

// BeforeNewSession registers fn to run after a session has expired and before the client opens the next
// one (Kafka's StateChangeHandler.beforeInitializingSession): until every handler has returned, calls on
// the client fail, so whatever fn waits for cannot reach ZooKeeper under the new session. Handlers run one
// at a time in registration order. The returned function unregisters fn.
func (c *Client) BeforeNewSession(fn func()) (unregister func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.nextHandler
	c.nextHandler++
	c.handlers[k] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.handlers, k)
	}
}

// Close ends the session (ephemeral znodes go away at once).
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		close(c.closing)
		s := c.sess
		c.mu.Unlock()
		if s != nil {
			s.close()
		}
	})
}

func (c *Client) current() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Session identifies one ZooKeeper session of the client.
type Session struct {
	ID      int64
	Expired <-chan struct{} // closed when this session has expired; never replaced
}

// Session is the current session. Its Expired channel belongs to it alone, so an expiry cannot be missed
// by reading it late; when it is closed the client may already run the next session.
func (c *Client) Session() Session {
	s := c.current()
	return Session{ID: s.id, Expired: s.expired}
}

// SessionExpired is closed when the current session expires; its
// ephemerals and watches are gone then.
func (c *Client) SessionExpired() <-chan struct{} { return c.current().expired }

// AwaitSession returns once a live session exists: at once while the
// current one lives, else when the client has opened its next session.
func (c *Client) AwaitSession(ctx context.Context) error {
	for {
		c.mu.Lock()
		s, next := c.sess, c.newSession
		c.mu.Unlock()
		select {
		case <-s.expired:
		default:
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closing:
			return errors.New("zookeeper client closed")
		}
	}
}

// SessionID is the current ZooKeeper session id (0 once it has expired).
func (c *Client) SessionID() int64 { return c.conn.SessionID() }

// liveConn sends each call to the current session's connection, classifies its errors (ErrNoNode...) and
// reports a call cut short by its session's expiry as ErrSessionExpired.
type liveConn struct{ c *Client }

func (l liveConn) Get(p string) ([]byte, *zk.Stat, error) {
	s := l.c.current()
	data, st, err := s.conn.Get(p)
	return data, st, s.fail(err)
}

func (l liveConn) GetW(p string) ([]byte, *zk.Stat, <-chan zk.Event, error) {
	s := l.c.current()
	data, st, w, err := s.conn.GetW(p)
	return data, st, w, s.fail(err)
}

func (l liveConn) Children(p string) ([]string, *zk.Stat, error) {
	s := l.c.current()
	ch, st, err := s.conn.Children(p)
	return ch, st, s.fail(err)
}

func (l liveConn) ChildrenW(p string) ([]string, *zk.Stat, <-chan zk.Event, error) {
	s := l.c.current()
	ch, st, w, err := s.conn.ChildrenW(p)
	return ch, st, w, s.fail(err)
}

func (l liveConn) Exists(p string) (bool, *zk.Stat, error) {
	s := l.c.current()
	ok, st, err := s.conn.Exists(p)
	return ok, st, s.fail(err)
}

func (l liveConn) ExistsW(p string) (bool, *zk.Stat, <-chan zk.Event, error) {
	s := l.c.current()
	ok, st, w, err := s.conn.ExistsW(p)
	return ok, st, w, s.fail(err)
}

func (l liveConn) Create(p string, data []byte, flags int32, acl []zk.ACL) (string, error) {
	s := l.c.current()
	name, err := s.conn.Create(p, data, flags, acl)
	return name, s.fail(err)
}

func (l liveConn) Set(p string, data []byte, version int32) (*zk.Stat, error) {
	s := l.c.current()
	st, err := s.conn.Set(p, data, version)
	return st, s.fail(err)
}

func (l liveConn) Delete(p string, version int32) error {
	s := l.c.current()
	return s.fail(s.conn.Delete(p, version))
}

func (l liveConn) Multi(ops ...any) ([]zk.MultiResponse, error) {
	s := l.c.current()
	res, err := s.conn.Multi(ops...)
	for i := range res {
		res[i].Error = classify(res[i].Error)
	}
	return res, s.fail(err)
}

func (l liveConn) SessionID() int64 { return l.c.current().conn.SessionID() }

func (c *Client) abs(p string) string {
	if p == "/" && c.chroot != "" {
		return c.chroot
	}
	return c.chroot + p
}

func (c *Client) rel(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == c.chroot {
		return "/"
	}
	return strings.TrimPrefix(p, c.chroot)
}

// relay forwards a one-shot watch channel as our Event, with chroot-relative paths.
func (c *Client) relay(in <-chan zk.Event) <-chan Event {
	out := make(chan Event, 1)
	go func() {
		defer close(out)
		for ev := range in {
			e := eventFromZK(ev)
			e.Path = c.rel(ev.Path)
			out <- e
		}
	}()
	return out
}

// Get reads a znode (chroot-relative path).
func (c *Client) Get(p string) ([]byte, *Stat, error) {
	data, st, err := c.conn.Get(c.abs(p))
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", p, err)
	}
	return data, statFromZK(st), nil
}

// Exists reports whether a znode exists, with its Stat when it does.
func (c *Client) Exists(p string) (bool, *Stat, error) {
	ok, st, err := c.conn.Exists(c.abs(p))
	if err != nil {
		return false, nil, fmt.Errorf("exists %s: %w", p, err)
	}
	if !ok {
		return false, nil, nil
	}
	return true, statFromZK(st), nil
}

// Children lists a znode's children, sorted.
func (c *Client) Children(p string) ([]string, error) {
	ch, _, err := c.ChildrenStat(p)
	return ch, err
}

// ChildrenStat lists a znode's children, sorted, with the znode's Stat.
func (c *Client) ChildrenStat(p string) ([]string, *Stat, error) {
	ch, st, err := c.conn.Children(c.abs(p))
	if err != nil {
		return nil, nil, fmt.Errorf("children %s: %w", p, err)
	}
	slices.Sort(ch)
	return ch, statFromZK(st), nil
}

func (c *Client) childrenW(p string) ([]string, <-chan Event, error) {
	ch, _, w, err := c.conn.ChildrenW(c.abs(p))
	if err != nil {
		return nil, nil, fmt.Errorf("watch children %s: %w", p, err)
	}
	slices.Sort(ch)
	return ch, c.relay(w), nil
}

// Create creates one znode (its parent must exist) and returns its chroot-relative path, which for a
// sequential mode carries the sequence number.
func (c *Client) Create(p string, data []byte, mode CreateMode) (string, error) {
	name, err := c.conn.Create(c.abs(p), data, mode.flags(), openACL)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", p, err)
	}
	return c.rel(name), nil
}

// Set writes a znode's data if its version is version (-1: any version).
func (c *Client) Set(p string, data []byte, version int32) (*Stat, error) {
	st, err := c.conn.Set(c.abs(p), data, version)
	if err != nil {
		return nil, fmt.Errorf("set %s: %w", p, err)
	}
	return statFromZK(st), nil
}

// Delete deletes a znode (it must have no children) if its version is version (-1: any version).
func (c *Client) Delete(p string, version int32) error {
	if err := c.conn.Delete(c.abs(p), version); err != nil {
		return fmt.Errorf("delete %s: %w", p, err)
	}
	return nil
}

// createRecursive creates p (absolute) with data, creating missing parents as empty persistent znodes.
func (c *Client) createRecursive(p string, data []byte, mode CreateMode) error {
	_, err := c.conn.Create(p, data, mode.flags(), openACL)
	if errors.Is(err, ErrNoNode) {
		parent := path.Dir(p)
		if parent != "/" {
			if perr := c.createRecursive(parent, nil, Persistent); perr != nil && !errors.Is(perr, ErrNodeExists) {
				return perr
			}
		}
		_, err = c.conn.Create(p, data, mode.flags(), openACL)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", p, err)
	}
	return nil
}

// CreateRecursive creates a chroot-relative znode and its missing parents.
func (c *Client) CreateRecursive(p string, data []byte, mode CreateMode) error {
	return c.createRecursive(c.abs(p), data, mode)
}

// EnsurePaths creates the persistent paths Kafka expects at startup (empty data).
func (c *Client) EnsurePaths() error {
	for _, p := range persistentPaths {
		if ok, _, err := c.conn.Exists(c.abs(p)); err == nil && ok {
			continue
		}
		if err := c.createRecursive(c.abs(p), nil, Persistent); err != nil && !errors.Is(err, ErrNodeExists) {
			return fmt.Errorf("ensure paths: %w", err)
		}
	}
	return nil
}

// GetOrCreateClusterID returns /cluster/id's id, creating it with newID() if absent.
func (c *Client) GetOrCreateClusterID(newID func() string) (string, error) {
	for i := 0; i < 3; i++ {
		data, _, err := c.conn.Get(c.abs(ClusterIDPath))
		if err == nil {
			return DecodeClusterID(data)
		}
		if !errors.Is(err, ErrNoNode) {
			return "", fmt.Errorf("get %s: %w", ClusterIDPath, err)
		}
		id := newID()
		err = c.createRecursive(c.abs(ClusterIDPath), EncodeClusterID(id), Persistent)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, ErrNodeExists) {
			return "", err
		}
	}
	return "", fmt.Errorf("cluster id: %s keeps changing", ClusterIDPath)
}

// multi runs ops (absolute paths) atomically; on failure it returns the failing op's index and error.
func (c *Client) multi(ops ...any) ([]zk.MultiResponse, int, error) {
	res, err := c.conn.Multi(ops...)
	if err == nil {
		return res, -1, nil
	}
	for i, r := range res {
		if r.Error != nil { // ops before the failing one are OK, those after are ZRUNTIMEINCONSISTENCY
			return res, i, r.Error
		}
	}
	return res, -1, err
}

// fenced runs ops after a check of /controller_epoch's version: Kafka's controller-write fencing.
// A failed check is ErrControllerMoved.
func (c *Client) fenced(epochZkVersion int32, ops ...any) ([]zk.MultiResponse, error) {
	all := append([]any{&zk.CheckVersionRequest{Path: c.abs(ControllerEpochPath), Version: epochZkVersion}}, ops...)
	res, idx, err := c.multi(all...)
	if err == nil {
		return res[1:], nil
	}
	if idx == 0 {
		return nil, fmt.Errorf("%w (expected version %d): %w", ErrControllerMoved, epochZkVersion, err)
	}
	return nil, classify(err)
}
