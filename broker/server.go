// Package broker serves the Kafka protocol: listeners, connections, one
// handler per API, the metadata cache kept by the controller's
// UpdateMetadata requests, and the replica manager that owns the partitions
// this broker hosts.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/storage"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// Controller is what the broker asks of the controller running in the same
// process. Admin requests that Kafka (ZooKeeper mode) serves only on the
// controller go through it; cmd wires the controller package in, so broker
// and controller never import each other.
type Controller interface {
	Active() bool
	CreateTopics(ctx context.Context, req *kmsg.CreateTopicsRequest) *kmsg.CreateTopicsResponse
	DeleteTopics(ctx context.Context, req *kmsg.DeleteTopicsRequest) *kmsg.DeleteTopicsResponse
	CreatePartitions(ctx context.Context, req *kmsg.CreatePartitionsRequest) *kmsg.CreatePartitionsResponse
	AlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse
	ControlledShutdown(ctx context.Context, req *kmsg.ControlledShutdownRequest) *kmsg.ControlledShutdownResponse
	ElectLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse
	AlterPartitionReassignments(ctx context.Context, req *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse
	ListPartitionReassignments(ctx context.Context, req *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse
}

// Server is one broker.
type Server struct {
	cfg       Config
	logger    *slog.Logger
	zk        *zkmeta.Client
	logs      *storage.Manager
	clusterID string

	controller      atomic.Pointer[Controller]
	controllerEpoch atomic.Int32
	// stateChangeMu is Kafka's replicaStateChangeLock: LeaderAndIsr,
	// StopReplica and UpdateMetadata apply one request at a time, so a
	// delayed request of an older controller cannot interleave with a newer
	// one (a partition's role and its fetcher change together).
	stateChangeMu sync.Mutex
	brokerEpoch   atomic.Int64
	features      atomic.Pointer[finalizedFeatures] // nil: none (epoch -1)

	cache       *metadataCache
	replicas    *replicaManager
	producerIDs *producerIDAllocator
	forwarder   *controllerForwarder
	groups      *group.Coordinator   // the group coordinator (__consumer_offsets)
	txn         *txn.Coordinator     // the transaction coordinator (__transaction_state; txn_topic.go)
	txnMarkers  *txnMarkerSender     // its markers to the partition leaders (txn_markers.go)
	dynamic     brokerDynamicConfigs // /config/brokers/<id> and <default> as last read
	authz       *aclAuthorizer       // nil: no authorizer.class.name, everything allowed

	// fatal carries the error that ends the broker at once (all log dirs
	// failed; see Fatal).
	fatal             chan error
	stopLogDirHandler context.CancelFunc

	framePool sync.Pool // request frame buffers, reused once a response is written

	advertised []Listener // advertised.listeners, resolved (setAdvertised)
	bound      []Listener // listeners as bound, parallel to listeners

	mu              sync.Mutex
	listeners       []net.Listener
	conns           map[net.Conn]struct{}
	connsByIP       map[string]int             // open connections per remote address (ConnectionQuotas.counts)
	connsByListener map[string]int             // open connections per listener name (ConnectionQuotas.listenerCounts)
	connsChanged    chan struct{}              // closed (and replaced) when a connection closes
	connRates       map[string]*connectionRate // max.connection.creation.rate sensors: "" broker-wide, else "listener.name.<l>."
	closing         bool
	wg              sync.WaitGroup

	logLimits logLimiter // refusals and closes under a flood (connection_quotas.go)

	sasl  atomic.Pointer[saslSettings] // SASL listeners' settings, set by Listen (sasl_config.go)
	scram scramCredentials             // SCRAM credentials of /config/users (scram.go)
	// userConfigs replaces ZooKeeper for /config/users in tests; nil: s.zk.
	userConfigs entityConfigStore
	// saslClock is the clock of SASL session lifetimes (KIP-368); nil: time.Now.
	saslClock func() time.Time

	reqLimitsOnce sync.Once
	reqLimits     *requestLimits // queued.max.requests, queued.max.request.bytes (request_limits.go)

	txnVerifier *addPartitionsToTxnManager // KIP-890 produce verification (txn_verify.go)
}

// New builds a broker around an open log manager and ZooKeeper client.
func New(cfg Config, zk *zkmeta.Client, logs *storage.Manager, clusterID string, logger *slog.Logger) *Server {
	if cfg.LogLevel == nil {
		cfg.LogLevel = new(slog.LevelVar) // INFO
	}
	s := &Server{
		cfg:       cfg,
		logger:    logger,
		zk:        zk,
		logs:      logs,
		clusterID: clusterID,
		cache:     newMetadataCache(),
		conns:     map[net.Conn]struct{}{},
		connsByIP: map[string]int{},
		fatal:     make(chan error, 1),
	}
	s.connsByListener = map[string]int{}
	s.replicas = newReplicaManager(cfg, logs, zk, logger, s.cache, s.brokerEpoch.Load)
	s.producerIDs = newProducerIDAllocator(zk, cfg.BrokerID, cfg.ProducerIDBlockSize)
	s.forwarder = newControllerForwarder(s.cache, cfg.BrokerID, cfg.controllerListener())
	// Every connection this broker dials to another broker gets its
	// listener's TLS and SASL (sasl_client.go).
	s.forwarder.secure = s.secureClient
	s.replicas.alter.secure = s.secureClient
	s.replicas.fetchers.secure = s.secureClient
	s.groups = s.newGroupCoordinator()
	s.txnVerifier = s.newTxnVerifier()
	s.txnMarkers = newTxnMarkerSender(s)
	s.txn = s.newTxnCoordinator(s.txnMarkers)
	s.replicas.onRoleChange = s.onReplicaRoleChange
	return s
}

// SetController plugs in the controller of this process.
func (s *Server) SetController(c Controller) { s.controller.Store(&c) }

func (s *Server) activeController() Controller {
	p := s.controller.Load()
	if p == nil || !(*p).Active() {
		return nil
	}
	return *p
}

// Listen binds every listener (KafkaConfig.listeners, in order) and
// resolves the advertised endpoints. A listener with port 0 gets a free
// port, which an advertised endpoint of the same name with port 0 then
// carries (KafkaServer.createBrokerInfo: socketServer.boundPort).
func (s *Server) Listen() error {
	st, err := newSASLSettings(s.cfg, s.logger)
	if err != nil {
		return err
	}
	s.sasl.Store(st)
	listeners, err := s.cfg.BindListeners()
	if err != nil {
		return fmt.Errorf("listeners: %w", err)
	}
	for _, l := range listeners {
		ln, err := net.Listen("tcp", l.Addr())
		if err != nil {
			return fmt.Errorf("binding listener %s: %w", l, err)
		}
		bound := l
		bound.Port = int32(ln.Addr().(*net.TCPAddr).Port)
		s.listeners = append(s.listeners, ln)
		s.bound = append(s.bound, bound)
		s.logger.Info("listening", "listener", l.Name, "security_protocol", l.Protocol.String(), "addr", ln.Addr().String())
	}
	return s.setAdvertised()
}

// setAdvertised resolves advertised.listeners against the bound listeners:
// port 0 becomes the bound port of the listener of that name; an empty host
// becomes the bound address, or 127.0.0.1 for a wildcard bind.
// Kafka advertises its canonical host name for an empty host; a loopback
// address keeps the broker reachable in tests and on hosts without DNS.
func (s *Server) setAdvertised() error {
	adv, err := s.cfg.AdvertisedEndpoints()
	if err != nil {
		return fmt.Errorf("advertised.listeners: %w", err)
	}
	out := make([]Listener, 0, len(adv))
	for _, a := range adv {
		var bound *net.TCPAddr
		for i, b := range s.bound {
			if b.Name == a.Name {
				bound = s.listeners[i].Addr().(*net.TCPAddr)
			}
		}
		if a.Port == 0 && bound != nil {
			a.Port = int32(bound.Port)
		}
		if a.Host == "" || a.Host == "0.0.0.0" || a.Host == "::" {
			a.Host = "127.0.0.1"
			if bound != nil && bound.IP != nil && !bound.IP.IsUnspecified() {
				a.Host = bound.IP.String()
			}
		}
		out = append(out, a)
	}
	s.advertised = out
	return nil
}

// AdvertisedEndpoints is what this broker registers in /brokers/ids/<id>:
// advertised.listeners resolved against the bound ports, in order.
func (s *Server) AdvertisedEndpoints() []Listener { return slices.Clone(s.advertised) }

// Advertised returns the host and port of the first advertised endpoint.
func (s *Server) Advertised() (string, int32) {
	if len(s.advertised) == 0 {
		return "", -1
	}
	return s.advertised[0].Host, s.advertised[0].Port
}

// SetBrokerEpoch records the czxid of this broker's registration znode.
func (s *Server) SetBrokerEpoch(e int64) { s.brokerEpoch.Store(e) }

// Serve accepts connections until Shutdown, and applies topic config
// changes from /config/changes until ctx ends.
func (s *Server) Serve(ctx context.Context) {
	s.replicas.start(ctx) // replica fetchers, ISR checks (the HW checkpoint starts with the first LeaderAndIsr)
	s.startGroupCoordinator()
	s.startTxnCoordinator()
	handlerCtx, stopHandler := context.WithCancel(ctx) // Shutdown stops it too
	s.mu.Lock()
	s.stopLogDirHandler = stopHandler
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runLogDirFailureHandler(handlerCtx)
	}()
	if s.zk != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watchConfigChanges(ctx)
		}()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.watchFeature(ctx)
		}()
		s.startAuthorizer(ctx)
	}
	for i, ln := range s.listeners {
		name := "PLAINTEXT"
		if i < len(s.bound) {
			name = s.bound[i].Name
		}
		s.wg.Add(1)
		go func(ln net.Listener) {
			defer s.wg.Done()
			s.acceptLoop(ctx, ln, name)
		}(ln)
	}
}

// acceptLoop is Kafka's Acceptor with ConnectionQuotas.inc: after each
// accept it waits for a connection slot (max.connections, the listener's
// max.connections), then refuses the connection if its address is at
// max.connections.per.ip. Refusals are logged, limited under a flood.
func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, listener string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.limitedLog("accept-failed", slog.LevelWarn, "accept failed", "err", err)
			if isTooManyFiles(err) {
				// Out of descriptors: wait for a connection to close (or a
				// second) rather than spin on the same error.
				s.mu.Lock()
				if s.connsChanged == nil {
					s.connsChanged = make(chan struct{})
				}
				changed := s.connsChanged
				s.mu.Unlock()
				select {
				case <-changed:
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		s.configureAcceptedConn(c)
		ip := remoteIP(c)
		maxPerIP := s.maxConnectionsPerIP(ip)
		s.mu.Lock()
		if !s.waitForConnectionSlot(ctx, listener) {
			s.mu.Unlock()
			c.Close()
			return
		}
		// ConnectionQuotas.inc: an address at its limit gets no new connection.
		if s.connsByIP[ip] >= maxPerIP {
			s.mu.Unlock()
			s.limitedLog("max-connections-per-ip", slog.LevelInfo,
				fmt.Sprintf("Rejected connection from %s, address already has the configured maximum of %d connections.", ip, maxPerIP))
			c.Close()
			continue
		}
		if s.connsByListener == nil {
			s.connsByListener = map[string]int{}
		}
		s.conns[c] = struct{}{}
		s.connsByIP[ip]++
		s.connsByListener[listener]++
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			// RequestContext: the listener's name and security protocol
			// (wrapTLS does the TLS handshake on SSL and SASL_SSL
			// listeners); the group coordinator records the client host.
			sess := &session{listener: listener, protocol: s.cfg.protocols()[listener], principal: Anonymous, clientAddr: c.RemoteAddr(), localAddr: c.LocalAddr()}
			if conn, err := s.wrapTLS(sess, c); err == nil { // tls.go
				newConnection(s, conn).serve(withSession(ctx, sess))
			}
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			if s.connsByIP[ip]--; s.connsByIP[ip] <= 0 {
				delete(s.connsByIP, ip)
			}
			s.connsByListener[listener]--
			s.connectionClosed()
			s.mu.Unlock()
		}()
	}
}

// isTooManyFiles reports whether accept failed for want of file descriptors.
func isTooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Shutdown stops accepting, closes every connection, waits for their
// goroutines, and closes the partitions (the caller closes the log manager).
func (s *Server) Shutdown() {
	s.mu.Lock()
	s.closing = true
	s.connectionClosed() // an acceptor waiting for a slot gives up
	if s.stopLogDirHandler != nil {
		s.stopLogDirHandler()
	}
	for _, ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.groups.Close() // answers parked JoinGroup/SyncGroup requests
	if s.txn != nil {
		s.txn.Close()
		s.txnMarkers.Close()
	}
	s.replicas.wakeAll()
	s.replicas.shutdown() // stops the fetchers, writes replication-offset-checkpoint
	s.wg.Wait()
	s.forwarder.close()
	s.txnVerifier.close()
}
