package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// limitServer is a Server whose real accept loop (acceptLoop) serves one
// loopback listener; logs collects its log lines.
type limitServer struct {
	*Server
	addr string
	logs *syncBuffer
}

func newLimitServer(t *testing.T, cfg Config) *limitServer {
	t.Helper()
	logs := &syncBuffer{}
	s := &Server{cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, nil)), cache: newMetadataCache(),
		conns: map[net.Conn]struct{}{}, connsByIP: map[string]int{}, connsByListener: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.listeners = []net.Listener{ln}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.acceptLoop(ctx, ln, "PLAINTEXT")
	}()
	t.Cleanup(func() {
		s.mu.Lock()
		s.closing = true
		s.connectionClosed()
		ln.Close()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		cancel()
		wg.Wait()
		s.wg.Wait()
	})
	return &limitServer{Server: s, addr: ln.Addr().String(), logs: logs}
}

func (s *limitServer) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *limitServer) openConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// apiVersionsFrame is an ApiVersions v0 request frame.
func apiVersionsFrame(corr int32) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("limits-test")).AppendRequest(nil, kmsg.NewPtrApiVersionsRequest(), corr)
}

// roundTrip sends an ApiVersions request and reads its answer within d.
func apiRoundTrip(c net.Conn, corr int32, d time.Duration) error {
	if _, err := c.Write(apiVersionsFrame(corr)); err != nil {
		return err
	}
	return readAnswer(c, corr, d)
}

func readAnswer(c net.Conn, corr int32, d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:4])-4)
	if _, err := io.ReadFull(c, body); err != nil {
		return err
	}
	if got := int32(binary.BigEndian.Uint32(hdr[4:])); got != corr {
		return errors.New("wrong correlation id")
	}
	return nil
}

// closedByBroker waits (bounded) for the broker to close c.
func closedByBroker(t *testing.T, c net.Conn, within time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open after %v", within)
		}
		return
	}
}

// poll waits for cond, bounded.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ConnectionQuotas.inc / waitForConnectionSlot: at max.connections (or a
// listener's own max.connections) the acceptor waits with the new socket
// rather than closing it; a closed connection, or a raised limit, lets it
// in. max.connections.per.ip closes the excess connection at once.
func TestConnectionLimitsAtAccept(t *testing.T) {
	cases := []struct {
		name    string
		configs map[string]string
		limit   int
		raise   map[string]string // dynamic config that lifts the limit
		perIP   bool              // the excess connection is closed, not held
	}{
		{name: "max.connections", configs: map[string]string{"max.connections": "3"}, limit: 3,
			raise: map[string]string{"max.connections": "4"}},
		{name: "listener max.connections", configs: map[string]string{"listener.name.plaintext.max.connections": "2", "max.connections": "10"}, limit: 2,
			raise: map[string]string{"listener.name.plaintext.max.connections": "3"}},
		{name: "max.connections.per.ip", configs: map[string]string{"max.connections.per.ip": "10"}, limit: 10, perIP: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.StaticConfigs = tc.configs
			s := newLimitServer(t, cfg)
			var conns []net.Conn
			for i := range tc.limit {
				c := s.dial(t)
				if err := apiRoundTrip(c, int32(i), 5*time.Second); err != nil {
					t.Fatalf("connection %d within the limit: %v", i+1, err)
				}
				conns = append(conns, c)
			}
			extra := s.dial(t)
			if tc.perIP {
				// Kafka: "Rejected connection from ..., address already has the configured maximum of 10 connections."
				closedByBroker(t, extra, 5*time.Second)
				for i, c := range conns {
					if err := apiRoundTrip(c, int32(100+i), 5*time.Second); err != nil {
						t.Fatalf("connection %d after the refusal: %v", i+1, err)
					}
				}
				if !strings.Contains(s.logs.String(), "address already has the configured maximum of 10 connections") {
					t.Errorf("refusal not logged: %s", s.logs.String())
				}
				return
			}
			// The extra connection is held in accept: its request is not served.
			if _, err := extra.Write(apiVersionsFrame(7)); err != nil {
				t.Fatal(err)
			}
			pollUntil(t, "the acceptor to wait", func() bool { return strings.Contains(s.logs.String(), "accepting paused") })
			if err := readAnswer(extra, 7, 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection over the limit answered or closed: %v", err)
			}
			if n := s.openConns(); n != tc.limit {
				t.Fatalf("%d connections open, want %d", n, tc.limit)
			}
			// A closed connection frees its slot: the held one is served.
			conns[0].Close()
			if err := readAnswer(extra, 7, 5*time.Second); err != nil {
				t.Fatalf("held connection after a slot freed: %v", err)
			}
			// Raising the limit dynamically lets a waiting connection in.
			extra2 := s.dial(t)
			if _, err := extra2.Write(apiVersionsFrame(8)); err != nil {
				t.Fatal(err)
			}
			pollUntil(t, "the second wait", func() bool { return strings.Count(s.logs.String(), "accepting paused") >= 1 })
			if err := readAnswer(extra2, 8, 100*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection over the limit answered or closed: %v", err)
			}
			s.dynamic.set(true, tc.raise)
			if err := readAnswer(extra2, 8, 5*time.Second); err != nil {
				t.Fatalf("held connection after the limit was raised: %v", err)
			}
		})
	}
}

// connections.max.idle.ms: idle connections, a half-sent frame (even one
// trickling a byte at a time) and a client that does not read its
// responses are closed; a connection with a request in flight is not.
func TestIdleConnectionsClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	cfg := DefaultConfig()
	cfg.ConnectionsMaxIdleMs = idle.Milliseconds()
	s := newLimitServer(t, cfg)

	// The cases run side by side; the group ends when all have.
	t.Run("cases", func(t *testing.T) {
		t.Run("idle from the start", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			start := time.Now()
			closedByBroker(t, c, 5*time.Second)
			if el := time.Since(start); el < idle/2 {
				t.Fatalf("closed after %v, before connections.max.idle.ms", el)
			}
		})
		t.Run("idle after a request", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			if err := apiRoundTrip(c, 1, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			closedByBroker(t, c, 5*time.Second)
		})
		t.Run("activity keeps it open", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			// Requests every idle/3 for 2*idle: never idle that long.
			for i := range 6 {
				if err := apiRoundTrip(c, int32(i), 5*time.Second); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				time.Sleep(idle / 3)
			}
		})
		t.Run("half-sent frame", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			frame := apiVersionsFrame(1)
			if _, err := c.Write(frame[:len(frame)-2]); err != nil {
				t.Fatal(err)
			}
			closedByBroker(t, c, 5*time.Second)
		})
		t.Run("trickled frame", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			// A frame declaring 1000 bytes fed a byte every idle/4.
			if _, err := c.Write(binary.BigEndian.AppendUint32(nil, 1000)); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			for i := 0; ; i++ {
				if time.Since(start) > 10*idle {
					t.Fatal("trickling client still connected after 10 idle periods")
				}
				time.Sleep(idle / 4)
				if _, err := c.Write([]byte{0}); err != nil {
					break // closed by the broker
				}
			}
		})
		t.Run("response not read", func(t *testing.T) {
			t.Parallel()
			c := s.dial(t)
			// Pipeline requests and read nothing: once the socket buffers are
			// full the response write stalls and the connection is closed.
			batch := make([]byte, 0, 64<<10)
			for i := 0; len(batch) < 60<<10; i++ {
				batch = append(batch, apiVersionsFrame(int32(i))...)
			}
			var err error
			deadline := time.Now().Add(10 * time.Second)
			for err == nil && time.Now().Before(deadline) {
				_ = c.SetWriteDeadline(time.Now().Add(2 * idle))
				_, err = c.Write(batch)
			}
			if err == nil {
				t.Fatal("the broker still reads after 10s")
			}
			pollUntil(t, "the stalled write to close the connection", func() bool {
				return strings.Contains(s.logs.String(), "not taken by the client")
			})
		})
	})
	logs := s.logs.String()
	for _, want := range []string{"idle for connections.max.idle.ms (300 ms)", "request incomplete after connections.max.idle.ms"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no close logged with %q:\n%s", want, logs)
		}
	}
}

// queued.max.requests: a request holds a queue token from decode until its
// turn; at the bound the reader waits. A connection whose served request
// waits on the client gives its tokens back.
func TestRequestQueueTokens(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueuedMaxRequests = 2
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler)}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := newConnection(s, a)
	q := s.requestLimits().queue
	if !c.admit() || !c.admit() {
		t.Fatal("admit failed below the bound")
	}
	if len(q) != 2 {
		t.Fatalf("%d tokens taken, want 2", len(q))
	}
	third := make(chan bool)
	go func() { third <- c.admit() }()
	select {
	case <-third:
		t.Fatal("a third request was admitted over queued.max.requests=2")
	case <-time.After(50 * time.Millisecond):
	}
	c.dequeued() // a request's turn came: its token frees the third
	if !<-third {
		t.Fatal("third admit failed")
	}
	c.beginClientWait() // the served request waits on the client
	if len(q) != 0 {
		t.Fatalf("%d tokens held while the connection waits on its client, want 0", len(q))
	}
	if !c.admit() || len(q) != 0 {
		t.Fatalf("a request queued during a client wait took a token (%d held)", len(q))
	}
	c.endClientWait()
	for range 3 {
		c.dequeued() // no tokens left to give back: nothing happens
	}
	if len(q) != 0 {
		t.Fatalf("%d tokens after dequeue, want 0", len(q))
	}
	// A reader waiting for a token gives up when its connection closes.
	s.requestLimits().queue <- struct{}{}
	s.requestLimits().queue <- struct{}{}
	waiting := make(chan bool)
	go func() { waiting <- c.admit() }()
	c.close("test")
	if <-waiting {
		t.Fatal("admit succeeded on a closed connection")
	}
}

// SimpleMemoryPool (not strict): an allocation succeeds while any memory
// is left, so use exceeds the size by less than one allocation; otherwise
// it waits for a release, or gives up when cancelled.
func TestMemoryPool(t *testing.T) {
	p := newMemoryPool(10)
	never := make(chan struct{})
	for _, n := range []int64{4, 4, 4} { // 10 -> 6 -> 2 -> -2
		if !p.acquire(n, never, nil) {
			t.Fatal("acquire failed")
		}
	}
	if av, _, maxUsed := p.stats(); av != -2 || maxUsed != 12 {
		t.Fatalf("available %d max used %d, want -2 and 12", av, maxUsed)
	}
	got := make(chan bool)
	go func() { got <- p.acquire(1, never, nil) }()
	pollUntil(t, "a waiter", func() bool { _, w, _ := p.stats(); return w == 1 })
	p.release(4) // back to 2: the waiter gets its byte
	if !<-got {
		t.Fatal("waiter not served after release")
	}
	p.release(4)
	p.release(4)
	p.release(1)
	if av, w, _ := p.stats(); av != 10 || w != 0 {
		t.Fatalf("available %d waiters %d after releasing all, want 10 and 0", av, w)
	}
	cancel := make(chan struct{})
	p.acquire(10, never, nil)
	go func() { got <- p.acquire(1, cancel, nil) }()
	pollUntil(t, "a waiter", func() bool { _, w, _ := p.stats(); return w == 1 })
	close(cancel)
	if <-got {
		t.Fatal("cancelled acquire succeeded")
	}
	if av, w, _ := p.stats(); av != 0 || w != 0 {
		t.Fatalf("cancelled acquire changed the pool: available %d waiters %d", av, w)
	}
}

// queued.max.request.bytes: a frame is read only when the pool has room
// for its declared size. Frames declared large and never finished take the
// pool; then every connection waits for memory (even a small request),
// and a closed connection gives its memory back.
func TestMemoryPoolBoundsFrames(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SocketRequestMaxBytes = 1 << 20
	cfg.QueuedMaxRequestBytes = 4 << 20
	s := newLimitServer(t, cfg)
	pool := s.requestLimits().pool
	var hogs []net.Conn
	for range 5 {
		c := s.dial(t)
		if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, 1<<20), 0, 1, 2, 3)); err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, c)
	}
	// Four frames take the 4 MiB; the fifth waits.
	pollUntil(t, "the pool to run dry", func() bool { av, w, _ := pool.stats(); return av == 0 && w == 1 })
	small := s.dial(t)
	if _, err := small.Write(apiVersionsFrame(9)); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, "the small request to wait", func() bool { _, w, _ := pool.stats(); return w == 2 })
	hogs[0].Close()
	// One hog's mebibyte is back: one of the waiters gets it; closing a
	// second hog serves the other.
	hogs[1].Close()
	if err := readAnswer(small, 9, 5*time.Second); err != nil {
		t.Fatalf("small request after memory was released: %v", err)
	}
	if _, _, maxUsed := pool.stats(); maxUsed > cfg.QueuedMaxRequestBytes+int64(cfg.SocketRequestMaxBytes) {
		t.Fatalf("pool use reached %d, above size + one frame", maxUsed)
	}
	if !strings.Contains(s.logs.String(), "request memory pool exhausted") {
		t.Errorf("pool exhaustion not logged:\n%s", s.logs.String())
	}
}

// A frame that declares a large size costs memory as its bytes arrive, not
// up front.
func TestFrameGrowsAsBytesArrive(t *testing.T) {
	r, w := net.Pipe()
	defer r.Close()
	go func() {
		_, _ = w.Write(make([]byte, 1000))
		w.Close()
	}()
	_, err := readFrameBody(r, 50<<20, nil)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut frame: %v", err)
	}
	var f []byte
	r2, w2 := net.Pipe()
	defer r2.Close()
	payload := make([]byte, 300<<10)
	for i := range payload {
		payload[i] = byte(i)
	}
	go func() { _, _ = w2.Write(payload); w2.Close() }()
	f, err = readFrameBody(r2, int32(len(payload)), nil)
	if err != nil || len(f) != len(payload) || f[len(f)-1] != payload[len(payload)-1] || f[12345] != payload[12345] {
		t.Fatalf("frame of %d bytes read as %d (%v)", len(payload), len(f), err)
	}
}

// The log limiter lets the first event of a kind through, then one per
// interval with the count of those it held back.
func TestLogLimiter(t *testing.T) {
	var l logLimiter
	t0 := time.Unix(1000, 0)
	if ok, _ := l.allow("a", t0); !ok {
		t.Fatal("first event suppressed")
	}
	for i := range 5 {
		if ok, _ := l.allow("a", t0.Add(time.Duration(i)*time.Second)); ok {
			t.Fatal("event within the interval logged")
		}
	}
	if ok, _ := l.allow("b", t0); !ok {
		t.Fatal("another kind suppressed")
	}
	ok, n := l.allow("a", t0.Add(logLimitInterval))
	if !ok || n != 5 {
		t.Fatalf("after the interval: logged %v, suppressed count %d, want true and 5", ok, n)
	}
}

// ConnectionQuotas.recordAndGetThrottleTimeMs over Kafka's Rate (11
// windows of 1 s): the rate of a fresh sensor is counted over at least 10
// windows, so with a bound of 2/s the 21st connection of the first second
// is the first over it; the delay is (rate - bound) / bound times the
// window, capped at one window (quota.window.size.seconds).
func TestConnectionCreationRate(t *testing.T) {
	t0 := time.UnixMilli(1_000_000)
	cases := []struct {
		name  string
		bound int
		at    []time.Duration // connection times from t0
		want  []int64         // delays (ms)
	}{
		{name: "unlimited", bound: math.MaxInt32, at: []time.Duration{0, 0, 0}, want: []int64{0, 0, 0}},
		{name: "zero", bound: 0, at: []time.Duration{0}, want: []int64{1000}},
		{name: "over 2/s", bound: 2,
			at:   append(make([]time.Duration, 20), 0, 0, 0),
			want: append(make([]int64, 20), 500, 1000, 1000)},
		// 20 connections in the first second, the next at 5 s: 21 over the
		// 10 s minimum window is 2.1/s.
		{name: "later", bound: 2, at: append(make([]time.Duration, 20), 5*time.Second), want: append(make([]int64, 20), 500)},
		// After the 11 windows the old samples are gone.
		{name: "expired", bound: 2, at: append(make([]time.Duration, 20), 12*time.Second), want: make([]int64, 21)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &connectionRate{q: newReplicationQuota(11, time.Second)}
			for i, at := range tc.at {
				if got := r.record(tc.bound, t0.Add(at)); got != tc.want[i] {
					t.Fatalf("connection %d at +%v: delay %d ms, want %d", i+1, at, got, tc.want[i])
				}
			}
		})
	}
}

// max.connection.creation.rate on the accept loop: the connection over the
// rate is served only after its delay.
func TestConnectionCreationRateDelaysAccept(t *testing.T) {
	cfg := DefaultConfig()
	cfg.StaticConfigs = map[string]string{"max.connection.creation.rate": "2"}
	s := newLimitServer(t, cfg)
	for i := range 20 {
		c := s.dial(t)
		if err := apiRoundTrip(c, int32(i), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	c := s.dial(t)
	start := time.Now()
	if err := apiRoundTrip(c, 21, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Kafka's delay for the 21st in the first second is 500 ms (less the
	// time the first twenty took).
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("21st connection served after %v: not delayed", el)
	}
	if !strings.Contains(s.logs.String(), "connection creation rate above its limit") {
		t.Errorf("delay not logged:\n%s", s.logs.String())
	}
}

// Requests other requests wait on (the controller's, a follower's Fetch)
// are queued without a token; clients' requests take one.
func TestControlPlaneRequestsSkipTheQueueBound(t *testing.T) {
	follower := kmsg.NewPtrFetchRequest()
	follower.ReplicaID = 2
	follower15 := kmsg.NewPtrFetchRequest()
	follower15.Version, follower15.ReplicaID, follower15.ReplicaState.ID = 15, -1, 2
	consumer := kmsg.NewPtrFetchRequest()
	consumer.ReplicaID = -1
	cases := []struct {
		req  kmsg.Request
		want bool
	}{
		{kmsg.NewPtrLeaderAndISRRequest(), true},
		{kmsg.NewPtrUpdateMetadataRequest(), true},
		{kmsg.NewPtrStopReplicaRequest(), true},
		{kmsg.NewPtrControlledShutdownRequest(), true},
		{kmsg.NewPtrAlterPartitionRequest(), true},
		{follower, true},
		{follower15, true},
		{consumer, false},
		{kmsg.NewPtrMetadataRequest(), false},
		{kmsg.NewPtrProduceRequest(), false},
		{nil, false}, // an ApiVersions of an unknown version
	}
	for _, tc := range cases {
		if got := controlPlane(tc.req); got != tc.want {
			t.Errorf("%T: control plane %v, want %v", tc.req, got, tc.want)
		}
	}
}

// A client that pipelines requests and reads no response stalls its own
// connection only: its queued requests give their queue tokens back while
// its response write waits, so others are served with queued.max.requests=4.
func TestNonReadingClientKeepsNoQueueTokens(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueuedMaxRequests = 4
	s := newLimitServer(t, cfg)
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
	}}
	hog, err := d.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer hog.Close()
	var batch []byte
	for i := range 2000 {
		batch = append(batch, apiVersionsFrame(int32(i))...)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_ = hog.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := hog.Write(batch); err != nil {
			break // the broker stopped reading it
		}
		if time.Now().After(deadline) {
			t.Fatal("the broker still reads the non-reading client after 10 s")
		}
	}
	q := s.requestLimits().queue
	pollUntil(t, "the stalled connection's tokens to be given back", func() bool { return len(q) == 0 })
	fresh := s.dial(t)
	for i := range 10 {
		if err := apiRoundTrip(fresh, int32(i), 5*time.Second); err != nil {
			t.Fatalf("another client's request %d: %v", i, err)
		}
	}
}
