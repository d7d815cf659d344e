package broker

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Connection limits (Kafka's ConnectionQuotas), all static or dynamic
// broker configs read at each accept:
//   - max.connections.per.ip and max.connections.per.ip.overrides: a new
//     connection from an address that already has its maximum is closed at
//     once (TooManyConnectionsException); the connections it has stay.
//   - max.connections (broker-wide) and listener.name.<l>.max.connections:
//     at the limit the acceptor waits, holding the accepted socket, until a
//     connection closes or the limit is raised (waitForConnectionSlot); it
//     accepts nothing else meanwhile, so further clients queue in the
//     listen backlog. With several listeners the inter-broker listener is
//     exempt from the broker-wide limit (protectedListener).
//   - max.connection.creation.rate (broker-wide) and
//     listener.name.<l>.max.connection.creation.rate: a connection over the
//     rate holds the acceptor for the throttle time Kafka computes from its
//     Rate sensor (recordConnectionAndGetThrottleTimeMs), at most one quota
//     window. The per-IP connection rate (quota entity ips,
//     connection_creation_rate) is not applied.

// parseConnectionOverrides is Csv.parseCsvMap for
// max.connections.per.ip.overrides: "host:count,host:count", each entry
// split at its last colon.
func parseConnectionOverrides(v string) (map[string]int, error) {
	out := map[string]int{}
	v = strings.TrimSpace(v)
	if v == "" {
		return out, nil
	}
	for _, e := range strings.Split(v, ",") {
		i := strings.LastIndex(e, ":")
		if i < 0 {
			return nil, fmt.Errorf("Error parsing configuration property 'max.connections.per.ip.overrides': entry %q has no count", strings.TrimSpace(e))
		}
		n, err := strconv.Atoi(strings.TrimSpace(e[i+1:]))
		if err != nil {
			return nil, fmt.Errorf("For input string: %q", strings.TrimSpace(e[i+1:]))
		}
		out[strings.TrimSpace(e[:i])] = n
	}
	return out, nil
}

// checkConnectionLimits is KafkaConfig.validateValues' rule for the
// effective values: max.connections.per.ip may be zero only with overrides.
func checkConnectionLimits(perIP string, perIPSet bool, overrides string) error {
	o, err := parseConnectionOverrides(overrides)
	if err != nil {
		return err
	}
	if perIPSet && strings.TrimSpace(perIP) == "0" && len(o) == 0 {
		return fmt.Errorf("requirement failed: max.connections.per.ip can be set to zero only if max.connections.per.ip.overrides property is set.")
	}
	return nil
}

// maxConnectionsPerIP is the limit for a connection from ip: its override,
// else max.connections.per.ip, else unlimited (Kafka's Int.MaxValue).
// Override hosts are matched as IP addresses; host names are not resolved.
func (s *Server) maxConnectionsPerIP(ip string) int {
	if v, ok := s.effectiveBrokerConfig("max.connections.per.ip.overrides"); ok {
		if o, err := parseConnectionOverrides(v); err == nil {
			for host, n := range o {
				if h := net.ParseIP(host); h != nil && h.Equal(net.ParseIP(ip)) {
					return n
				}
			}
		}
	}
	if v, ok := s.effectiveBrokerConfig("max.connections.per.ip"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return math.MaxInt32
}

// remoteIP is the address a connection's quota is counted by.
func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// intConfig is an int broker config's effective value, or def when unset or
// not a non-negative number.
func (s *Server) intConfig(key string, def int) int {
	if v, ok := s.effectiveBrokerConfig(key); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return def
}

// maxConnections is ConnectionQuotas' brokerMaxConnections and the
// listener's ListenerConnectionQuota.maxConnections (the key with the
// listener.name.<name lowercased>. prefix); unset is Int.MaxValue.
func (s *Server) maxConnections(listener string) (broker, perListener int) {
	broker = s.intConfig("max.connections", math.MaxInt32)
	perListener = s.intConfig("listener.name."+strings.ToLower(listener)+".max.connections", math.MaxInt32)
	return broker, perListener
}

// waitForConnectionSlot is ConnectionQuotas.waitForConnectionSlot: with
// s.mu held, it waits until the broker has fewer than max.connections
// connections and the listener fewer than its own limit. It returns with
// s.mu held; false means the broker is closing or ctx ended.
func (s *Server) waitForConnectionSlot(ctx context.Context, listener string) bool {
	logged := false
	start := time.Now()
	throttle := s.recordConnection(listener, start)
	if throttle > 0 {
		s.limitedLog("max-connection-creation-rate", slog.LevelInfo, "connection creation rate above its limit: accepting delayed",
			"listener", listener, "delay_ms", throttle.Milliseconds(),
			"max.connection.creation.rate", s.intConfig("max.connection.creation.rate", math.MaxInt32))
	}
	for {
		if s.closing || ctx.Err() != nil {
			return false
		}
		if wait := throttle - time.Since(start); wait > 0 {
			s.mu.Unlock()
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
			s.mu.Lock()
			continue
		}
		maxBroker, maxListener := s.maxConnections(listener)
		total, onListener := len(s.conns), s.connsByListener[listener]
		if onListener < maxListener && (s.protectedListener(listener) || total < maxBroker) {
			return true
		}
		if !logged {
			logged = true
			s.limitedLog("max-connections", slog.LevelInfo, "accepting paused: connection limit reached, new connections wait in the listen backlog",
				"listener", listener, "connections", total, "listener_connections", onListener,
				"max.connections", maxBroker, "listener_max_connections", maxListener)
		}
		if s.connsChanged == nil {
			s.connsChanged = make(chan struct{})
		}
		changed := s.connsChanged
		reconfigured := s.dynamic.reconfigured()
		s.mu.Unlock()
		select {
		case <-changed:
		case <-reconfigured:
		case <-ctx.Done():
		}
		s.mu.Lock()
	}
}

// recordConnection is ConnectionQuotas.recordConnectionAndGetThrottleTimeMs:
// the connection is recorded in the broker-wide and the listener's rate,
// and the delay is the longer of the two; a connection on the protected
// inter-broker listener only in its listener's rate. s.mu is held.
func (s *Server) recordConnection(listener string, now time.Time) time.Duration {
	if s.connRates == nil {
		s.connRates = map[string]*connectionRate{}
	}
	window := time.Duration(s.staticInt("quota.window.size.seconds", int(defaultQuotaWindowSize/time.Second), 1)) * time.Second
	samples := s.staticInt("quota.window.num", defaultQuotaWindowNum, 1)
	var delay int64
	keys := []string{"", "listener.name." + strings.ToLower(listener) + "."}
	if s.protectedListener(listener) {
		keys = keys[1:] // the broker-wide rate does not count or hold it
	}
	for _, key := range keys {
		r := s.connRates[key]
		if r == nil {
			r = &connectionRate{q: newReplicationQuota(samples, window)}
			s.connRates[key] = r
		}
		delay = max(delay, r.record(s.intConfig(key+"max.connection.creation.rate", math.MaxInt32), now))
	}
	return time.Duration(delay) * time.Millisecond
}

// staticInt is a static (server.properties) int config; def when unset or
// below min.
func (s *Server) staticInt(key string, def, min int) int {
	if v, ok := s.cfg.StaticConfigs[key]; ok {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= min {
			return n
		}
	}
	return def
}

// connectionRate is one connection creation rate sensor of
// ConnectionQuotas (the broker's or a listener's): Kafka's Rate over
// quota.window.num windows of quota.window.size.seconds, the sampled rate
// the replication quotas use.
type connectionRate struct{ q *replicationQuota }

// record is ConnectionQuotas.recordAndGetThrottleTimeMs: it records one
// connection at now and returns how long (ms) the acceptor waits: 0 while
// the rate, this connection included, is within bound (connections/s);
// else QuotaUtils.boundedThrottleTime: (rate - bound) / bound times the
// rate's window, at most one quota window.
func (r *connectionRate) record(bound int, now time.Time) int64 {
	q := r.q
	q.updateQuota(int64(bound))
	q.record(1, now)
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case bound >= math.MaxInt32: // the default: no limit
		return 0
	case bound == 0: // any rate is over it; Kafka's delay is infinite, capped to one window
		return q.windowMs
	}
	nowMs := now.UnixMilli()
	rate := q.rateLocked(nowMs)
	if rate <= q.bound {
		return 0
	}
	// Rate.windowSize, as rateLocked computes it.
	elapsed := nowMs - q.samples[0].startMs
	full := elapsed / q.windowMs
	if minFull := int64(q.numSamples - 1); full < minFull {
		elapsed += (minFull - full) * q.windowMs
	}
	throttle := int64(math.Round((rate - q.bound) / q.bound * float64(elapsed)))
	return min(throttle, q.windowMs)
}

// connectionClosed wakes an acceptor waiting for a slot. s.mu is held.
func (s *Server) connectionClosed() {
	if s.connsChanged != nil {
		close(s.connsChanged)
		s.connsChanged = nil
	}
}

// logLimiter keeps a flood of identical events (connections refused or
// closed for the same reason) from flooding the log: the first event of a
// kind is logged, then at most one line per kind every logLimitInterval,
// carrying how many were not logged in between. Kinds are fixed strings, so
// its map stays small whatever the clients do.
type logLimiter struct {
	mu    sync.Mutex
	kinds map[string]*limitedKind
}

type limitedKind struct {
	last       time.Time
	suppressed int
}

const logLimitInterval = 10 * time.Second

// allow reports whether an event of kind is logged now, and how many of its
// kind were suppressed since the last logged one.
func (l *logLimiter) allow(kind string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kinds == nil {
		l.kinds = map[string]*limitedKind{}
	}
	k := l.kinds[kind]
	if k == nil {
		l.kinds[kind] = &limitedKind{last: now}
		return true, 0
	}
	if now.Sub(k.last) < logLimitInterval {
		k.suppressed++
		return false, 0
	}
	n := k.suppressed
	k.last, k.suppressed = now, 0
	return true, n
}

// limitedLog logs msg unless an event of the same kind was logged less
// than logLimitInterval ago.
func (s *Server) limitedLog(kind string, level slog.Level, msg string, args ...any) {
	ok, suppressed := s.logLimits.allow(kind, time.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, "similar_not_logged", suppressed)
	}
	s.logger.Log(context.Background(), level, msg, args...)
}

// configureAcceptedConn is Acceptor.configureAcceptedSocketChannel: the
// socket's send buffer is socket.send.buffer.bytes (102400 unless set; -1
// keeps the OS's), and its receive buffer socket.receive.buffer.bytes
// (Kafka sets that one on the listening socket; here on each accepted
// one). A fixed send buffer also bounds the kernel memory a client that
// does not read its responses can hold.
func (s *Server) configureAcceptedConn(c net.Conn) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return
	}
	_ = tc.SetNoDelay(true)
	_ = tc.SetKeepAlive(true)
	if n := s.socketBufferBytes("socket.send.buffer.bytes"); n > 0 {
		_ = tc.SetWriteBuffer(n)
	}
	if n := s.socketBufferBytes("socket.receive.buffer.bytes"); n > 0 {
		_ = tc.SetReadBuffer(n)
	}
}

// socketBufferBytes is a socket buffer size config: Kafka's default is
// 102400, -1 means the OS default (returned as 0).
func (s *Server) socketBufferBytes(key string) int {
	v, ok := s.cfg.StaticConfigs[key]
	if !ok {
		return 102400 // SocketServerConfigs.SOCKET_SEND_BUFFER_BYTES_DEFAULT, SOCKET_RECEIVE_BUFFER_BYTES_DEFAULT
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
