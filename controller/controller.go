// Package controller is Kafka's controller in ZooKeeper mode: it is elected
// through /controller, keeps the cluster state loaded from ZooKeeper, elects
// partition leaders, and tells brokers through LeaderAndIsr, UpdateMetadata
// and StopReplica requests over the Kafka protocol. Every controller write
// to ZooKeeper is fenced by the version of /controller_epoch.
package controller

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Config is what the controller needs of the broker configuration.
type Config struct {
	BrokerID                 int32
	DeleteTopicEnable        bool  // delete.topic.enable
	NumPartitions            int32 // num.partitions, for CreateTopics asking for -1
	DefaultReplicationFactor int16 // default.replication.factor, likewise
	RequestTimeout           time.Duration

	UncleanLeaderElectionEnable        bool          // unclean.leader.election.enable (topic override in /config/topics)
	AutoLeaderRebalanceEnable          bool          // auto.leader.rebalance.enable
	LeaderImbalanceCheckInterval       time.Duration // leader.imbalance.check.interval.seconds
	LeaderImbalancePerBrokerPercentage int           // leader.imbalance.per.broker.percentage
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
	epoch          int32
	epochZkVersion int32
	state          *clusterState
	senders        map[int32]*brokerSender
	resign         chan struct{}
	loopDone       chan struct{}
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
func (c *Controller) Run(ctx context.Context) {
	for ctx.Err() == nil {
		info, exists, watch, err := c.zk.WatchController()
		if err != nil {
			c.logger.Warn("reading /controller failed", "err", err)
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		if exists && info.BrokerID != c.cfg.BrokerID {
			select {
			case <-ctx.Done():
				return
			case <-c.zk.SessionExpired():
				// Contend again once the client's next session is up.
				if c.zk.AwaitSession(ctx) != nil {
					return
				}
			case <-watch:
			}
			continue
		}
		if exists { // our own znode left from an earlier session; wait for ZooKeeper to expire it
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return
			}
			continue
		}
		won, epoch, epochZkVersion, err := c.zk.ElectController(c.cfg.BrokerID)
		if err != nil {
			c.logger.Warn("controller election failed", "err", err)
			if !sleepCtx(ctx, time.Second) {
				return
			}
			continue
		}
		if !won {
			continue
		}
		c.logger.Info("elected controller", "broker", c.cfg.BrokerID, "epoch", epoch)
		c.act(ctx, epoch, epochZkVersion)
	}
}

// act is the active controller's event loop; it returns when this broker
// stops being the controller.
func (c *Controller) act(ctx context.Context, epoch, epochZkVersion int32) {
	c.epoch, c.epochZkVersion = epoch, epochZkVersion
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
				if ctx.Err() != nil { // shutting down: let another broker take over at once
					_ = c.zk.ResignController(c.epochZkVersion)
				}
				return
			}
		}
	}()

	if err := c.onControllerFailover(events); err != nil {
		c.logger.Error("controller failover failed; resigning", "err", err)
		_ = c.zk.ResignController(c.epochZkVersion)
		return
	}
	c.active.Store(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.zk.SessionExpired():
			c.logger.Warn("ZooKeeper session expired; no longer controller")
			return
		case <-c.resign:
			c.logger.Warn("controller fenced by a newer epoch; resigning")
			return
		case ev := <-events:
			ev()
		}
	}
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
func (c *Controller) onWatch(events chan func(), watch <-chan zk.Event, fn func()) {
	done := c.loopDone
	go func() {
		select {
		case <-watch:
		case <-done:
			return
		}
		select {
		case events <- func() {
			if c.state != nil { // not while the loop drains on shutdown
				fn()
			}
		}:
		case <-done:
		}
	}()
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
