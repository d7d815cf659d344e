// Package zkmeta is typed access to Kafka's ZooKeeper layout (ZooKeeper mode, Kafka 3.7): paths, Kafka's
// exact JSON codecs, versioned and controller-fenced writes, watches.
package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
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

// Client is a ZooKeeper session with every path relative to the connect string's chroot.
type Client struct {
	conn   *zk.Conn
	chroot string // "" or "/kafka"
	log    *slog.Logger

	// After an expiry go-zookeeper opens a new session by itself; expired
	// belongs to the current session and newSession is closed when the
	// next one is established (then both are replaced).
	sessMu     sync.Mutex
	expired    chan struct{}
	newSession chan struct{}

	closeOnce  sync.Once
	eventsDone chan struct{}
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
	return connectWith(ctx, connect, sessionTimeout, logger, nil)
}

// connectWith is Connect with an optional dialer (tests use it to cut the network).
func connectWith(ctx context.Context, connect string, sessionTimeout time.Duration, logger *slog.Logger, dialer zk.Dialer) (*Client, error) {
	servers, chroot, err := ParseConnect(connect)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logOpt, infoOpt := zk.WithLogger(slogAdapter{logger}), zk.WithLogInfo(false)
	var conn *zk.Conn
	var events <-chan zk.Event
	if dialer != nil {
		conn, events, err = zk.Connect(servers, sessionTimeout, logOpt, infoOpt, zk.WithDialer(dialer))
	} else {
		conn, events, err = zk.Connect(servers, sessionTimeout, logOpt, infoOpt)
	}
	if err != nil {
		return nil, fmt.Errorf("zookeeper connect %q: %w", connect, err)
	}
	c := &Client{conn: conn, log: logger, expired: make(chan struct{}), newSession: make(chan struct{}), eventsDone: make(chan struct{})}
	hasSession := make(chan struct{})
	go c.watchSession(events, hasSession)
	select {
	case <-hasSession:
	case <-ctx.Done():
		c.Close()
		return nil, fmt.Errorf("zookeeper connect %q: %w", connect, ctx.Err())
	}
	if chroot != "" {
		if err := c.createRecursive(chroot, nil, zk.FlagPersistent); err != nil && !errors.Is(err, ErrNodeExists) {
			c.Close()
			return nil, fmt.Errorf("create chroot %s: %w", chroot, err)
		}
		c.chroot = chroot
	}
	logger.Debug("zookeeper session established", "connect", connect, "session", fmt.Sprintf("%#x", conn.SessionID()))
	return c, nil
}

func (c *Client) watchSession(events <-chan zk.Event, hasSession chan struct{}) {
	defer close(c.eventsDone)
	var once sync.Once
	isExpired := false
	for ev := range events {
		c.log.Debug("zookeeper event", "type", ev.Type.String(), "state", ev.State.String(), "server", ev.Server)
		switch ev.State {
		case zk.StateHasSession:
			once.Do(func() { close(hasSession) })
			if isExpired {
				isExpired = false
				c.sessMu.Lock()
				c.expired = make(chan struct{})
				close(c.newSession)
				c.newSession = make(chan struct{})
				c.sessMu.Unlock()
				c.log.Info("zookeeper session re-established", "session", fmt.Sprintf("%#x", c.conn.SessionID()))
			}
		case zk.StateExpired:
			if !isExpired {
				isExpired = true
				c.log.Warn("zookeeper session expired")
				c.sessMu.Lock()
				close(c.expired)
				c.sessMu.Unlock()
			}
		}
	}
}

// Close ends the session (ephemeral znodes go away at once).
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		c.conn.Close()
		<-c.eventsDone
	})
}

// SessionExpired is closed when the current session expires; its
// ephemerals and watches are gone then.
func (c *Client) SessionExpired() <-chan struct{} {
	c.sessMu.Lock()
	defer c.sessMu.Unlock()
	return c.expired
}

// AwaitSession returns once a live session exists: at once while the
// current one lives, else when the client has opened its next session.
func (c *Client) AwaitSession(ctx context.Context) error {
	for {
		c.sessMu.Lock()
		expired, next := c.expired, c.newSession
		c.sessMu.Unlock()
		select {
		case <-expired:
		default:
			return nil
		}
		select {
		case <-next:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.eventsDone:
			return errors.New("zookeeper client closed")
		}
	}
}

// SessionID is the current ZooKeeper session id.
func (c *Client) SessionID() int64 { return c.conn.SessionID() }

// Conn is the raw connection, for tools. Its paths are NOT chroot-relative: prefix Chroot().
func (c *Client) Conn() *zk.Conn { return c.conn }

// Chroot is the chroot prefix ("" for none).
func (c *Client) Chroot() string { return c.chroot }

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

// relay forwards a one-shot watch channel, rewriting paths to be chroot-relative.
func (c *Client) relay(in <-chan zk.Event) <-chan zk.Event {
	out := make(chan zk.Event, 1)
	go func() {
		defer close(out)
		for ev := range in {
			ev.Path = c.rel(ev.Path)
			out <- ev
		}
	}()
	return out
}

// Get reads a znode (chroot-relative path).
func (c *Client) Get(p string) ([]byte, *zk.Stat, error) {
	data, st, err := c.conn.Get(c.abs(p))
	if err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", p, classify(err))
	}
	return data, st, nil
}

// Children lists a znode's children, sorted.
func (c *Client) Children(p string) ([]string, error) {
	ch, _, err := c.conn.Children(c.abs(p))
	if err != nil {
		return nil, fmt.Errorf("children %s: %w", p, classify(err))
	}
	slices.Sort(ch)
	return ch, nil
}

func (c *Client) childrenW(p string) ([]string, <-chan zk.Event, error) {
	ch, _, w, err := c.conn.ChildrenW(c.abs(p))
	if err != nil {
		return nil, nil, fmt.Errorf("watch children %s: %w", p, classify(err))
	}
	slices.Sort(ch)
	return ch, c.relay(w), nil
}

// createRecursive creates p (absolute) with data, creating missing parents as empty persistent znodes.
func (c *Client) createRecursive(p string, data []byte, flags int32) error {
	_, err := c.conn.Create(p, data, flags, openACL)
	if errors.Is(err, zk.ErrNoNode) {
		parent := path.Dir(p)
		if parent != "/" {
			if perr := c.createRecursive(parent, nil, zk.FlagPersistent); perr != nil && !errors.Is(perr, ErrNodeExists) {
				return perr
			}
		}
		_, err = c.conn.Create(p, data, flags, openACL)
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", p, classify(err))
	}
	return nil
}

// CreateRecursive creates a chroot-relative znode and its missing parents.
func (c *Client) CreateRecursive(p string, data []byte, flags int32) error {
	return c.createRecursive(c.abs(p), data, flags)
}

// EnsurePaths creates the persistent paths Kafka expects at startup (empty data).
func (c *Client) EnsurePaths() error {
	for _, p := range persistentPaths {
		if ok, _, err := c.conn.Exists(c.abs(p)); err == nil && ok {
			continue
		}
		if err := c.createRecursive(c.abs(p), nil, zk.FlagPersistent); err != nil && !errors.Is(err, ErrNodeExists) {
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
		if !errors.Is(err, zk.ErrNoNode) {
			return "", fmt.Errorf("get %s: %w", ClusterIDPath, err)
		}
		id := newID()
		err = c.createRecursive(c.abs(ClusterIDPath), EncodeClusterID(id), zk.FlagPersistent)
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
