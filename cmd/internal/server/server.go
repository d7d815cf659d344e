// Package server wires one broker process: configuration, log manager,
// ZooKeeper registration, the broker's listeners and the controller.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/kafkazk/kafkazk/broker"
	"github.com/kafkazk/kafkazk/cmd/internal/config"
	"github.com/kafkazk/kafkazk/controller"
	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Run starts a broker from a properties file and serves until ctx ends,
// then shuts down cleanly: stop the controller (giving up /controller),
// close the listeners and connections, flush and close the logs (writing the
// clean-shutdown marker), deregister from ZooKeeper. level is the level of
// logger's handler: the broker's root logger, which IncrementalAlterConfigs
// on BROKER_LOGGER changes at runtime (nil: not alterable).
func Run(ctx context.Context, configPath string, overrides []string, logger *slog.Logger, level *slog.LevelVar) error {
	return run(ctx, configPath, overrides, logger, level, zkmeta.Options{})
}

// run is Run with the ZooKeeper client's test seams (a cuttable dialer, a wrapper of each session's
// connection).
func run(ctx context.Context, configPath string, overrides []string, logger *slog.Logger, level *slog.LevelVar, zkOpts zkmeta.Options) error {
	cfg, err := config.Load(configPath, os.Environ(), overrides, logger)
	if err != nil {
		return err
	}
	cfg.LogLevel = level
	raiseOpenFileLimit(logger)
	logs, err := storage.OpenManager(cfg.LogDirs, cfg.Storage, logger,
		storage.WithProducerExpiration(cfg.ProducerIDExpiration, cfg.ProducerIDExpirationCheckInterval))
	if err != nil {
		return fmt.Errorf("opening log dirs %v: %w", cfg.LogDirs, err)
	}
	logsClosed := false
	defer func() {
		if !logsClosed {
			_ = logs.Close()
		}
	}()

	connectCtx, cancel := context.WithTimeout(ctx, cfg.ZooKeeperConnTimeout)
	zk, err := zkmeta.ConnectWithOptions(connectCtx, cfg.ZooKeeperConnect, cfg.ZooKeeperSession, logger, zkOpts)
	cancel()
	if err != nil {
		return fmt.Errorf("connecting to ZooKeeper at %s: %w", cfg.ZooKeeperConnect, err)
	}
	defer zk.Close()
	if err := zk.EnsurePaths(); err != nil {
		return fmt.Errorf("creating Kafka's znodes: %w", err)
	}
	clusterID, err := zk.GetOrCreateClusterID(newClusterID)
	if err != nil {
		return fmt.Errorf("reading /cluster/id: %w", err)
	}
	if cfg.BrokerID, err = resolveBrokerID(zk, logs, cfg); err != nil {
		return err
	}
	if err := checkMetaProperties(logs, cfg.BrokerID, clusterID); err != nil {
		return err
	}

	srv := broker.New(cfg, zk, logs, clusterID, logger)
	if err := srv.ConfigureAuthorizer(); err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	// The controller's channel: control.plane.listener.name, else the
	// inter-broker listener, with that listener's TLS and SASL.
	ctrlAuth, err := srv.ControllerClientAuthenticator()
	if err != nil {
		srv.Shutdown()
		return fmt.Errorf("the controller's SASL login: %w", err)
	}
	ctrl := controller.New(controller.Config{
		BrokerID:                           cfg.BrokerID,
		InterBrokerListener:                cfg.InterBrokerListener,
		ControlPlaneListener:               cfg.ControlPlaneListener,
		DeleteTopicEnable:                  cfg.DeleteTopicEnable,
		NumPartitions:                      cfg.NumPartitions,
		DefaultReplicationFactor:           cfg.DefaultReplicationFactor,
		UncleanLeaderElectionEnable:        cfg.UncleanLeaderElectionEnable,
		AutoLeaderRebalanceEnable:          cfg.AutoLeaderRebalanceEnable,
		LeaderImbalanceCheckInterval:       cfg.LeaderImbalanceCheckInterval,
		LeaderImbalancePerBrokerPercentage: cfg.LeaderImbalancePerBrokerPercentage,
		ValidateTopicConfigs:               srv.ValidateTopicConfigs,
		InterBrokerTLS:                     cfg.ClientTLS(cfg.ControllerListener()),
		InterBrokerAuth:                    ctrlAuth,
	}, zk, logger)
	srv.SetController(ctrl)

	info := brokerInfo(cfg.BrokerID, srv.AdvertisedEndpoints())
	if configured, err := cfg.AdvertisedEndpoints(); err == nil {
		if err := checkEndpointsFree(zk, cfg.BrokerID, configured); err != nil {
			srv.Shutdown()
			return err
		}
	}
	if cfg.Rack != "" {
		info.Rack = &cfg.Rack
	}
	// The session the registration was made in: its expiry, even one during the registration, is what
	// the loop below waits for.
	sess, epoch, err := registerInSession(ctx, zk, info, cfg.ZooKeeperSession, logger)
	if err != nil {
		srv.Shutdown()
		return fmt.Errorf("registering broker %d in ZooKeeper: %w", cfg.BrokerID, err)
	}
	srv.SetBrokerEpoch(epoch)
	logger.Info("broker started", "broker_id", cfg.BrokerID, "cluster_id", clusterID, "advertised", strings.Join(info.Endpoints, ","), "broker_epoch", epoch)

	serveCtx, stopServing := context.WithCancel(context.Background())
	srv.Serve(serveCtx)
	ctrlCtx, stopController := context.WithCancel(context.Background())
	ctrlDone := make(chan struct{})
	go func() {
		defer close(ctrlDone)
		ctrl.Run(ctrlCtx)
	}()

	go checkpointLoop(serveCtx, logs, cfg.FlushOffsetCheckpointInterval, logger)
	// Retention (log.retention.check.interval.ms) and time-based flushes.
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		logs.Run(serveCtx, cfg.RetentionCheckInterval)
	}()
	if cfg.LogCleanerEnable { // compaction of cleanup.policy=compact topics
		go srv.RunLogCleaner(serveCtx) // restarted when dynamic broker configs change it
	}

	var runErr error
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			continue
		case <-sess.Expired:
		case runErr = <-srv.Fatal():
			// Every log dir failed: Kafka halts (Exit.halt(1)); no controlled shutdown.
		}
		if runErr != nil {
			break
		}
		// Kafka re-registers on each new session (afterInitializingSession): the ephemeral
		// /brokers/ids/<id> died with the old one, and the broker epoch changes with the new znode.
		logger.Warn("ZooKeeper session expired; re-registering on the next session", "session", fmt.Sprintf("%#x", sess.ID))
		sess, epoch, err = registerInSession(ctx, zk, info, cfg.ZooKeeperSession, logger)
		if err != nil {
			if ctx.Err() == nil {
				runErr = fmt.Errorf("re-registering broker %d: %w", cfg.BrokerID, err)
				logger.Error("the broker cannot register in ZooKeeper; shutting down", "broker_id", cfg.BrokerID, "err", err)
			}
			break
		}
		srv.SetBrokerEpoch(epoch)
		logger.Info("broker re-registered", "broker_id", cfg.BrokerID, "broker_epoch", epoch, "session", fmt.Sprintf("%#x", sess.ID))
	}
	if ctx.Err() != nil {
		logger.Info("shutting down")
		if cfg.ControlledShutdownEnable {
			// Leadership moves away while this broker still serves, so clients
			// never see a leaderless partition (Kafka's controlledShutdown).
			shutdownCtx, cancel := context.WithTimeout(context.Background(),
				time.Duration(cfg.ControlledShutdownMaxRetries)*(cfg.ControlledShutdownRetryBackoff+30*time.Second))
			if err := srv.ControlledShutdown(shutdownCtx, cfg.ControlledShutdownMaxRetries, cfg.ControlledShutdownRetryBackoff); err != nil {
				logger.Warn("proceeding to unclean shutdown", "err", err)
			}
			cancel()
		}
	}
	stopController()
	<-ctrlDone
	stopServing()
	srv.Shutdown()
	<-logsDone
	logsClosed = true
	if err := logs.Close(); err != nil {
		logger.Error("closing logs failed", "err", err)
		runErr = errors.Join(runErr, err)
	}
	// Only our own registration goes: after a failed re-registration /brokers/ids/<id> may be another
	// live broker's (Kafka never deletes it; closing the session removes the ephemeral).
	if _, st, err := zk.Get(zkmeta.BrokerPath(cfg.BrokerID)); err == nil && st.EphemeralOwner == zk.SessionID() {
		if err := zk.DeregisterBroker(cfg.BrokerID); err != nil && !errors.Is(err, zkmeta.ErrNoNode) {
			logger.Warn("deregistering broker failed", "err", err)
		}
	}
	logger.Info("shut down complete", "broker_id", cfg.BrokerID)
	return runErr
}

// resolveBrokerID applies Kafka's rule for broker.id=-1: the id recorded in
// meta.properties, else a new one from /brokers/seqid (its version plus
// reserved.broker.max.id), so generated ids never collide with configured ones.
func resolveBrokerID(zk *zkmeta.Client, logs *storage.Manager, cfg broker.Config) (int32, error) {
	if cfg.BrokerID >= 0 {
		return cfg.BrokerID, nil
	}
	if stored, _, ok, err := logs.ReadMetaProperties(); err != nil {
		return 0, fmt.Errorf("reading meta.properties: %w", err)
	} else if ok && stored >= 0 {
		return stored, nil
	}
	seq, err := zk.NextBrokerSequenceID()
	if err != nil {
		return 0, fmt.Errorf("generating a broker id: %w", err)
	}
	return seq + cfg.ReservedBrokerMaxID, nil
}

// checkMetaProperties refuses to start on log dirs that belong to another
// cluster or broker id (Kafka's InconsistentClusterIdException and
// InconsistentBrokerIdException), then records ours.
func checkMetaProperties(logs *storage.Manager, brokerID int32, clusterID string) error {
	storedBroker, storedCluster, ok, err := logs.ReadMetaProperties()
	if err != nil {
		return fmt.Errorf("reading meta.properties: %w", err)
	}
	if ok {
		if storedCluster != "" && storedCluster != clusterID {
			return fmt.Errorf("the Cluster ID %s doesn't match stored clusterId %s in meta.properties; the broker is trying to join the wrong cluster", clusterID, storedCluster)
		}
		if storedBroker != brokerID {
			return fmt.Errorf("configured broker.id %d doesn't match stored broker.id %d in meta.properties", brokerID, storedBroker)
		}
	}
	return logs.WriteMetaProperties(brokerID, clusterID)
}

// newClusterID is a random UUID in Kafka's base64url form.
func newClusterID() string {
	var u [16]byte
	for {
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		s := zkmeta.UUIDString(u)
		if !strings.HasPrefix(s, "-") {
			return s
		}
	}
}

// Bounds of the backoff between registration attempts whose session was lost.
const (
	registerRetryBackoff    = 100 * time.Millisecond
	registerRetryBackoffMax = 5 * time.Second
)

// registerInSession registers the broker and returns the ZooKeeper session it registered in, taken before
// the attempt, so an expiry during the registration is seen on that session's Expired channel. An attempt
// that failed because its session expired or its connection was lost is retried on the next live session
// after a bounded backoff until ctx ends: Kafka registers again in afterInitializingSession of every new
// session (KafkaController's RegisterBrokerAndReelect) and retries requests over a lost connection
// (KafkaZkClient.retryRequestUntilConnected). Any other error, such as the id held by another live broker
// (checkedEphemeralCreate's NODEEXISTS with another owner), is returned.
func registerInSession(ctx context.Context, zk *zkmeta.Client, info zkmeta.BrokerInfo, sessionTimeout time.Duration, logger *slog.Logger) (zkmeta.Session, int64, error) {
	backoff := registerRetryBackoff
	for {
		if err := zk.AwaitSession(ctx); err != nil {
			return zkmeta.Session{}, 0, err
		}
		sess := zk.Session()
		epoch, err := registerBroker(ctx, zk, info, sessionTimeout, logger)
		if err == nil {
			return sess, epoch, nil
		}
		if ctx.Err() != nil {
			return zkmeta.Session{}, 0, ctx.Err()
		}
		expired := false
		select {
		case <-sess.Expired:
			expired = true
		default:
		}
		if !retryableRegistration(err, expired) {
			return zkmeta.Session{}, 0, err
		}
		logger.Warn("registering the broker lost its ZooKeeper session; retrying", "broker_id", info.ID,
			"session", fmt.Sprintf("%#x", sess.ID), "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return zkmeta.Session{}, 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, registerRetryBackoffMax)
	}
}

// retryableRegistration reports whether a failed registration is tried again: any failure in a session
// that has expired (its calls fail, and what they read may belong to the next session), or a lost
// connection or session.
func retryableRegistration(err error, sessionExpired bool) bool {
	return sessionExpired ||
		errors.Is(err, zkmeta.ErrSessionExpired) ||
		errors.Is(err, zkmeta.ErrConnectionLoss) ||
		errors.Is(err, zkmeta.ErrSessionMoved)
}

// registerBroker creates /brokers/ids/<id>. After a crash the previous
// process's ephemeral znode lives until its ZooKeeper session expires, so a
// quick restart waits for it (bounded by 1.5 session timeouts) instead of
// failing as Kafka would.
func registerBroker(ctx context.Context, zk *zkmeta.Client, info zkmeta.BrokerInfo, sessionTimeout time.Duration, logger *slog.Logger) (int64, error) {
	deadline := time.Now().Add(sessionTimeout * 3 / 2)
	warned := false
	for {
		epoch, err := zk.RegisterBroker(info)
		if !errors.Is(err, zkmeta.ErrBrokerIDRegistered) || time.Now().After(deadline) {
			return epoch, err
		}
		if !warned {
			logger.Warn("broker id is still registered by an earlier session; waiting for that session to expire", "broker_id", info.ID)
			warned = true
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// checkpointLoop writes the recovery-point and log-start-offset checkpoints
// every log.flush.offset.checkpoint.interval.ms, so recovery after a crash
// starts from a recent point.
func checkpointLoop(ctx context.Context, logs *storage.Manager, every time.Duration, logger *slog.Logger) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := logs.Checkpoint(); err != nil {
				logger.Warn("writing checkpoints failed", "err", err)
			}
		}
	}
}

// raiseOpenFileLimit lifts the soft limit on open files to the hard one:
// every client connection is a descriptor, as is every segment file (Kafka's
// start scripts leave this to the operator; a Go broker can do it itself).
func raiseOpenFileLimit(logger *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur >= lim.Max {
		return
	}
	old := lim.Cur
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		logger.Warn("could not raise the open files limit", "soft", old, "hard", lim.Max, "err", err)
		return
	}
	logger.Debug("raised the open files limit", "from", old, "to", lim.Max)
}

// brokerInfo is the registration of /brokers/ids/<id> (KafkaServer.createBrokerInfo,
// BrokerIdZNode.encode): every advertised endpoint in order with its security protocol; the
// top-level host and port are the first PLAINTEXT-protocol endpoint's, or null/-1.
func brokerInfo(id int32, advertised []broker.Listener) zkmeta.BrokerInfo {
	info := zkmeta.BrokerInfo{ID: id, Port: -1, SecurityProtocols: map[string]string{}, Timestamp: time.Now().UnixMilli()}
	for _, l := range advertised {
		info.Endpoints = append(info.Endpoints, l.String())
		info.SecurityProtocols[l.Name] = l.Protocol.String()
		if l.Protocol == broker.Plaintext && info.Port == -1 {
			info.Host, info.Port = l.Host, l.Port
		}
	}
	return info
}
