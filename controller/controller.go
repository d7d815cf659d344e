// Package controller is Kafka's controller in ZooKeeper mode: it is elected
// through /controller, keeps the cluster state loaded from ZooKeeper, elects
// partition leaders, and tells brokers through LeaderAndIsr, UpdateMetadata
// and StopReplica requests over the Kafka protocol. Every controller write
// to ZooKeeper is fenced by the version of /controller_epoch.
package controller

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Config is what the controller needs of the broker configuration.
type Config struct {
	BrokerID                 int32
	DeleteTopicEnable        bool  // delete.topic.enable
	NumPartitions            int32 // num.partitions, for CreateTopics asking for -1
	DefaultReplicationFactor int16 // default.replication.factor, likewise
	RequestTimeout           time.Duration
	InterBrokerListener      string // inter.broker.listener.name; "" is PLAINTEXT
	ControlPlaneListener     string // control.plane.listener.name; "" is none

	UncleanLeaderElectionEnable        bool          // unclean.leader.election.enable (topic override in /config/topics)
	AutoLeaderRebalanceEnable          bool          // auto.leader.rebalance.enable
	LeaderImbalanceCheckInterval       time.Duration // leader.imbalance.check.interval.seconds
	LeaderImbalancePerBrokerPercentage int           // leader.imbalance.per.broker.percentage

	// ValidateTopicConfigs checks a new topic's config values, the last
	// of CreateTopics' checks (AdminZkClient.validateTopicCreate:
	// LogConfig.validate); the broker supplies storage's rules. Nil
	// accepts every value.
	ValidateTopicConfigs func(configs map[string]string) error

	// InterBrokerTLS is the TLS client config of the controller's
	// connections to brokers when the controller's listener
	// (control.plane.listener.name, else the inter-broker one) is SSL or
	// SASL_SSL (broker.Config.ClientTLS); nil: plaintext.
	InterBrokerTLS *tls.Config
	// InterBrokerAuth is the SASL login of those connections when that
	// listener is SASL_PLAINTEXT or SASL_SSL
	// (broker.Server.ControllerClientAuthenticator); nil: none.
	InterBrokerAuth protocol.Authenticator
}

// DefaultConfig is Kafka's defaults for the controller's keys.
func DefaultConfig() Config {
	return Config{
		DeleteTopicEnable:                  true,
		NumPartitions:                      1,
		DefaultReplicationFactor:           1,
		RequestTimeout:                     30 * time.Second,
		AutoLeaderRebalanceEnable:          true,
		LeaderImbalanceCheckInterval:       300 * time.Second,
		LeaderImbalancePerBrokerPercentage: 10,
	}
}

// Controller runs next to a broker and acts while it holds /controller.
type Controller struct {
	cfg    Config
	zk     *zkmeta.Client
	logger *slog.Logger
	rnd    *rand.Rand

	active atomic.Bool

	// events is the active controller's queue; nil while inactive.
	mu     sync.Mutex
	events chan func()

	// Everything below is owned by the event loop goroutine.
	sess           zkmeta.Session // the session this controller was elected in
	epoch          int32
	epochZkVersion int32
	state          *clusterState
	senders        map[int32]*brokerSender
	resign         chan struct{}
	loopDone       chan struct{}

	// turn is held while contending or acting (see Run).
	turn sync.Mutex
}

// New builds an inactive controller; Run makes it contend for /controller.
func New(cfg Config, zk *zkmeta.Client, logger *slog.Logger) *Controller {
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	return &Controller{cfg: cfg, zk: zk, logger: logger.With("component", "controller"),
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(cfg.BrokerID)))}
}

// Active reports whether this process is the acting controller.
func (c *Controller) Active() bool { return c.active.Load() }

// Run contends for /controller until ctx ends: whenever the znode is absent
// it tries to create it; on winning it acts until it loses the ZooKeeper
// session, another controller fences it, or ctx ends; after a lost session
// it contends again on the next one.
//
// Contending and acting hold turn, as Kafka runs both on its controller
// event thread. On a session expiry the client runs beforeNewSession before
// it opens the next session; that waits for turn, so whatever was begun
// under the expired session (an election, an event) has ended and the
// controller has resigned before anything can reach the new session.
func (c *Controller) Run(ctx context.Context) {
	defer c.zk.BeforeNewSession(c.beforeNewSession)()
	for ctx.Err() == nil {
		if c.zk.AwaitSession(ctx) != nil {
			return
		}
		c.turn.Lock()
		sess := c.zk.Session()
		wait := c.contend(ctx, sess)
		c.turn.Unlock()
		if wait == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-sess.Expired:
		case <-wait:
		}
	}
}

// beforeNewSession is the client's hook between a session's expiry and the
// next session: KafkaController's StateChangeHandler.beforeInitializingSession
// queues Expire and waits for it. The act loop sees the expired session and
// returns (onControllerResignation); taking turn waits for that.
func (c *Controller) beforeNewSession() {
	c.turn.Lock()
	defer c.turn.Unlock()
}

// contend is one round of the election under sess; it returns a channel to
// wait on before the next round (nil: go on at once).
func (c *Controller) contend(ctx context.Context, sess zkmeta.Session) <-chan struct{} {
	select {
	case <-sess.Expired: // AwaitSession waits for the next one
		return nil
	default:
	}
	info, exists, watch, err := c.zk.WatchController()
	if err != nil {
		c.logger.Warn("reading /controller failed", "err", err)
		return after(ctx, time.Second)
	}
	if exists && info.BrokerID != c.cfg.BrokerID {
		return relayWatch(watch)
	}
	won, epoch, epochZkVersion, err := c.zk.ElectController(c.cfg.BrokerID)
	if err != nil {
		c.logger.Warn("controller election failed", "err", err)
		return after(ctx, time.Second)
	}
	if !won {
		if exists { // our own znode left from an earlier session; wait for ZooKeeper to expire it
			return after(ctx, 200*time.Millisecond)
		}
		return nil
	}
	c.logger.Info("elected controller", "broker", c.cfg.BrokerID, "epoch", epoch)
	c.act(ctx, sess, epoch, epochZkVersion)
	return nil
}

// act is the active controller's event loop; it returns when this broker
// stops being the controller.
func (c *Controller) act(ctx context.Context, sess zkmeta.Session, epoch, epochZkVersion int32) {
	c.sess, c.epoch, c.epochZkVersion = sess, epoch, epochZkVersion
	c.senders = map[int32]*brokerSender{}
	c.resign = make(chan struct{})
	c.loopDone = make(chan struct{})
	events := make(chan func(), 1024)
	c.mu.Lock()
	c.events = events
	c.mu.Unlock()
	defer func() {
		c.active.Store(false)
		c.mu.Lock()
		c.events = nil
		c.mu.Unlock()
		for _, s := range c.senders {
			s.stop()
		}
		c.senders = nil
		c.state = nil
		close(c.loopDone)
		// Run what was queued (it sees an inactive controller) so no caller waits forever.
		for {
			select {
			case ev := <-events:
				ev()
			default:
				if ctx.Err() != nil && !isClosed(sess.Expired) { // shutting down: let another broker take over at once
					_ = c.zk.ResignController(c.epochZkVersion)
				}
				return
			}
		}
	}()

	if err := c.onControllerFailover(events); err != nil {
		c.logger.Error("controller failover failed; resigning", "err", err)
		if !isClosed(sess.Expired) {
			_ = c.zk.ResignController(c.epochZkVersion)
		}
		return
	}
	c.active.Store(true)
	znodeChanged := c.watchOwnControllerZnode(ctx)
	for {
		// The session's expiry goes before any queued event: KafkaController's
		// Expire event clears the queue (clearAndPut).
		if isClosed(sess.Expired) {
			c.logger.Warn("ZooKeeper session expired; no longer controller")
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-sess.Expired:
		case <-c.resign:
			c.logger.Warn("controller fenced by a newer epoch; resigning")
			return
		case <-znodeChanged:
			if znodeChanged = c.watchOwnControllerZnode(ctx); znodeChanged == nil {
				// processReelect / ControllerChange: resign; Run contends
				// again at once.
				c.logger.Warn("the /controller znode was deleted or taken over; resigning")
				return
			}
		case ev := <-events:
			ev()
		}
	}
}

// watchOwnControllerZnode watches /controller while this broker is the
// controller (KafkaController's ControllerChangeHandler): the channel closes
// on any change of the znode. It returns nil when the znode is gone or
// another broker's; a failed read is retried after a second (an expired
// session ends the loop anyway).
func (c *Controller) watchOwnControllerZnode(ctx context.Context) <-chan struct{} {
	info, exists, watch, err := c.zk.WatchController()
	switch {
	case err != nil:
		c.logger.Warn("watching /controller failed", "err", err)
		return after(ctx, time.Second)
	case !exists || info.BrokerID != c.cfg.BrokerID:
		return nil
	}
	return relayWatch(watch)
}

// submit runs fn on the event loop and waits for it. It reports false,
// without running fn, when this broker is not the controller (or stops
// being it before fn's turn comes). While a newly elected controller is
// still loading, fn waits in the queue, as Kafka's controller events queue
// behind its Startup event.
func (c *Controller) submit(fn func()) bool {
	ran := make(chan bool, 1)
	ev := func() {
		if c.state == nil { // the loop is shutting down and draining
			ran <- false
			return
		}
		fn()
		ran <- true
	}
	c.mu.Lock()
	if c.events == nil {
		c.mu.Unlock()
		return false
	}
	select {
	case c.events <- ev:
	default: // queue full: refuse rather than block
		c.mu.Unlock()
		return false
	}
	c.mu.Unlock()
	// Every queued event runs: on the loop, or in its shutdown drain.
	return <-ran
}

// sessionLost reports whether the session this controller acts under has
// expired (event loop): from then on every ZooKeeper call of the current
// event is bound to fail, and the loop resigns once the event ends.
func (c *Controller) sessionLost() bool { return isClosed(c.sess.Expired) }

// fenced handles an error of a fenced ZooKeeper write: when the controller
// epoch moved, this controller must stop acting at once.
func (c *Controller) fenced(err error) error {
	if errors.Is(err, zkmeta.ErrControllerMoved) {
		select {
		case <-c.resign:
		default:
			close(c.resign)
		}
	}
	return err
}

// onWatch queues fn on the event loop when a ZooKeeper watch fires, unless
// the loop has ended by then.
func (c *Controller) onWatch(events chan func(), watch <-chan zkmeta.Event, fn func()) {
	queueWhen(c, events, watch, fn)
}

// onLoopAfter queues fn on the event loop after d, unless the loop has
// ended by then.
func (c *Controller) onLoopAfter(events chan func(), d time.Duration, fn func()) {
	t := time.NewTimer(d)
	queueWhen(c, events, t.C, fn)
}

// queueWhen queues fn on the event loop once trigger delivers, unless the
// loop ends first; fn does not run while the loop drains on shutdown.
func queueWhen[T any](c *Controller, events chan func(), trigger <-chan T, fn func()) {
	done := c.loopDone
	go func() {
		select {
		case <-trigger:
		case <-done:
			return
		}
		select {
		case events <- func() {
			if c.state != nil {
				fn()
			}
		}:
		case <-done:
		}
	}()
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// after is closed after d, or at once when ctx ends.
func after(ctx context.Context, d time.Duration) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		sleepCtx(ctx, d)
		close(out)
	}()
	return out
}

// relayWatch turns a ZooKeeper watch into a channel closed when it fires.
func relayWatch(w <-chan zkmeta.Event) <-chan struct{} {
	out := make(chan struct{})
	go func() {
		<-w
		close(out)
	}()
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// interBrokerListener is KafkaConfig.interBrokerListenerName.
func (c Config) interBrokerListener() string {
	if c.InterBrokerListener == "" {
		return "PLAINTEXT"
	}
	return c.InterBrokerListener
}

// controllerToBrokerListener is ControllerChannelManager's
// controllerToBrokerListenerName: control.plane.listener.name, else the
// inter-broker listener.
func (c Config) controllerToBrokerListener() string {
	if c.ControlPlaneListener != "" {
		return c.ControlPlaneListener
	}
	return c.interBrokerListener()
}
