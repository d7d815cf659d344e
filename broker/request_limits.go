package broker

import (
	"log/slog"
	"sync"
)

// requestLimits are the broker-wide bounds on requests read from clients
// and not yet served (Kafka's RequestChannel queue and SocketServer's
// memory pool).
type requestLimits struct {
	// queue holds one token per request waiting for its turn
	// (queued.max.requests): a connection's reader takes one before it
	// queues a request and blocks while none is free, so the broker stops
	// reading rather than drop anything. See connection.admit for which
	// requests hold one.
	queue chan struct{}
	// pool accounts the bytes of request frames (queued.max.request.bytes);
	// nil when unbounded (Kafka's MemoryPool.NONE).
	pool *memoryPool
}

// requestLimits returns the server's limits, made from its config at first
// use (tests build Servers as literals).
func (s *Server) requestLimits() *requestLimits {
	s.reqLimitsOnce.Do(func() {
		n := s.cfg.QueuedMaxRequests
		if n < 1 {
			n = 500 // SocketServerConfigs.QUEUED_MAX_REQUESTS_DEFAULT
		}
		l := &requestLimits{queue: make(chan struct{}, n)}
		// SocketServer: new SimpleMemoryPool(queuedMaxBytes, socketRequestMaxBytes, strict = false)
		// when queued.max.request.bytes > 0, else MemoryPool.NONE.
		if s.cfg.QueuedMaxRequestBytes > 0 {
			l.pool = newMemoryPool(s.cfg.QueuedMaxRequestBytes)
		}
		s.reqLimits = l
	})
	return s.reqLimits
}

// memoryPool is Kafka's SimpleMemoryPool in non-strict mode, as
// SocketServer builds it: an allocation succeeds while any memory is
// available, so the pool's use can exceed its size by at most one request
// (socket.request.max.bytes). Where Kafka's tryAllocate fails and the
// channel is muted until memory is released, acquire waits.
type memoryPool struct {
	mu        sync.Mutex
	size      int64
	available int64
	waiters   int
	wake      chan struct{} // closed (and replaced) on release
	maxUsed   int64         // high-water mark of size - available
}

func newMemoryPool(size int64) *memoryPool {
	return &memoryPool{size: size, available: size}
}

// acquire takes n bytes, waiting while none are available. It returns
// false, taking nothing, when cancel is closed first.
func (p *memoryPool) acquire(n int64, cancel <-chan struct{}, logWait func()) bool {
	p.mu.Lock()
	for p.available < 1 { // SimpleMemoryPool.tryAllocate: threshold 1 when not strict
		if p.wake == nil {
			p.wake = make(chan struct{})
		}
		wake := p.wake
		p.waiters++
		p.mu.Unlock()
		if logWait != nil {
			logWait()
			logWait = nil
		}
		select {
		case <-wake:
		case <-cancel:
			p.mu.Lock()
			p.waiters--
			p.mu.Unlock()
			return false
		}
		p.mu.Lock()
		p.waiters--
	}
	p.available -= n
	if used := p.size - p.available; used > p.maxUsed {
		p.maxUsed = used
	}
	p.mu.Unlock()
	return true
}

// release returns n bytes and wakes the waiters.
func (p *memoryPool) release(n int64) {
	p.mu.Lock()
	p.available += n
	if p.wake != nil {
		close(p.wake)
		p.wake = nil
	}
	p.mu.Unlock()
}

// stats returns the bytes available, the readers waiting and the most ever
// in use.
func (p *memoryPool) stats() (available int64, waiters int, maxUsed int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.available, p.waiters, p.maxUsed
}

// logPoolWait is logged (limited) when a reader waits for the pool.
func (s *Server) logPoolWait(size int64) {
	s.limitedLog("memory-pool-full", slog.LevelInfo,
		"request memory pool exhausted: connections stop reading until requests are done",
		"queued.max.request.bytes", s.cfg.QueuedMaxRequestBytes, "frame_bytes", size)
}
