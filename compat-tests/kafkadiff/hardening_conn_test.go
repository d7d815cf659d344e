package kafkadiff_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// Issue 15, item 2: connection and request limits on a running broker.

// brokerPID finds the broker process by its properties file, which the
// cluster writes next to the broker's log file.
func brokerPID(t *testing.T, b *cluster.Broker) int {
	t.Helper()
	props := filepath.Join(filepath.Dir(b.LogFile), fmt.Sprintf("broker-%d.properties", b.ID))
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmd, []byte(props)) {
			return pid
		}
	}
	t.Fatalf("no process runs %s", props)
	return 0
}

// vmRSS is VmRSS of /proc/<pid>/status, in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS line %q: %v", l, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// openSockets counts the broker's socket descriptors.
func openSockets(t *testing.T, pid int) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			n++
		}
	}
	return n
}

// raiseNoFile lifts this test process's soft open-files limit to the hard
// one; it needs more than a thousand sockets.
func raiseNoFile(t *testing.T, need uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			t.Fatal(err)
		}
	}
	if lim.Cur < need {
		t.Fatalf("open files limit %d (hard %d) is below the %d this test needs", lim.Cur, lim.Max, need)
	}
}

// dialFrom connects to addr from the loopback address src (any 127/8
// address is this host), so per-address limits count it apart.
func dialFrom(t *testing.T, src, addr string) (net.Conn, error) {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func requestFrame(req kmsg.Request, corr int32) []byte {
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("hardening")).AppendRequest(nil, req, corr)
}

func metadataFrame(corr int32) []byte {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	return requestFrame(req, corr)
}

// exchange sends frame and reads the answer with correlation id corr.
func exchange(c net.Conn, frame []byte, corr int32, d time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write(frame); err != nil {
		return err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(hdr[:4])
	if size < 4 || size > 1<<20 {
		return fmt.Errorf("response size %d", size)
	}
	if _, err := io.CopyN(io.Discard, c, int64(size-4)); err != nil {
		return err
	}
	if got := int32(binary.BigEndian.Uint32(hdr[4:])); got != corr {
		return fmt.Errorf("correlation id %d, want %d", got, corr)
	}
	return nil
}

// closedWithin reports whether the broker closes c within d (EOF or reset,
// not a timeout).
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		return !errors.Is(err, os.ErrDeadlineExceeded)
	}
}

// connOutcomes are what a broker did to the connections of
// connBehaviours, by case.
type connOutcomes map[string]bool

// connBehaviours runs the connection-limit cases against the broker at
// addr (max.connections.per.ip=10, connections.max.idle.ms=idleMs),
// connecting from 127.0.0.2 (per-IP cases) and 127.0.0.4 (idle cases).
func connBehaviours(t *testing.T, addr string, idleMs int) connOutcomes {
	out := connOutcomes{}
	// (a) max.connections.per.ip=10: the 11th connection from an address
	// is closed; the first ten still work.
	var conns []net.Conn
	firstTen := true
	for i := range 10 {
		conn, err := dialFrom(t, "127.0.0.2", addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := exchange(conn, metadataFrame(int32(i)), int32(i), 5*time.Second); err != nil {
			t.Logf("connection %d of 10: %v", i+1, err)
			firstTen = false
		}
		conns = append(conns, conn)
	}
	out["per-ip: ten connections served"] = firstTen
	eleventh, err := dialFrom(t, "127.0.0.2", addr)
	if err != nil {
		t.Fatal(err)
	}
	out["per-ip: 11th connection closed"] = closedWithin(eleventh, 5*time.Second)
	stillServed := true
	for i, conn := range conns {
		if err := exchange(conn, metadataFrame(int32(100+i)), int32(100+i), 5*time.Second); err != nil {
			t.Logf("connection %d after the refusal: %v", i+1, err)
			stillServed = false
		}
	}
	out["per-ip: the ten still served after the refusal"] = stillServed
	other, err := dialFrom(t, "127.0.0.3", addr)
	if err != nil {
		t.Fatal(err)
	}
	out["per-ip: another address served"] = exchange(other, metadataFrame(1), 1, 5*time.Second) == nil
	for _, conn := range conns {
		conn.Close()
	}

	// (c) connections.max.idle.ms: an idle connection, a half-sent frame,
	// a frame trickled a byte every 200 ms, and a connection making a
	// request every 200 ms, watched for a little over two idle periods.
	dial := func() net.Conn {
		conn, err := dialFrom(t, "127.0.0.4", addr)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	idle, half, loris, active := dial(), dial(), dial(), dial()
	frame := metadataFrame(1)
	if _, err := half.Write(frame[:6]); err != nil {
		t.Fatal(err)
	}
	if _, err := loris.Write(frame[:6]); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 6; i < len(frame)-1; i++ { // never the last byte
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if _, err := loris.Write(frame[i : i+1]); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	kept := true
	for i := 0; time.Since(start) < 2*time.Duration(idleMs)*time.Millisecond+300*time.Millisecond; i++ {
		if err := exchange(active, metadataFrame(int32(i)), int32(i), 5*time.Second); err != nil {
			t.Logf("active connection after %v: %v", time.Since(start), err)
			kept = false
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	out["idle: connection making requests kept"] = kept
	out["idle: idle connection closed"] = closedWithin(idle, 3*time.Second)
	out["idle: half-sent frame closed"] = closedWithin(half, 3*time.Second)
	// Still trickling: closed already, or not at all.
	out["idle: trickled frame closed"] = closedWithin(loris, 100*time.Millisecond)
	close(stop)
	wg.Wait()
	return out
}

// knownConnDifferences are the cases where Kafka 3.9 and we answer
// differently, with Kafka's outcome. Kafka's idle timer (Selector's
// IdleExpiryManager) counts any read readiness as activity, so a client
// trickling the bytes of a frame keeps its connection; ours counts only
// complete requests and responses, so the slow-loris is closed.
var knownConnDifferences = map[string]bool{
	"idle: trickled frame closed": false,
}

// (a) max.connections.per.ip and (c) connections.max.idle.ms on our broker
// and on Kafka 3.9 with the same settings, side by side; then (d) the
// request memory pool on ours.
func TestHardeningConnLimits(t *testing.T) {
	const idleMs = 1000
	c := cluster.Start(t, 1,
		"max.connections.per.ip=10",
		"connections.max.idle.ms="+strconv.Itoa(idleMs),
		"socket.request.max.bytes=1048576",
		"queued.max.request.bytes=4194304")
	b := c.Broker(0)
	pid := brokerPID(t, b)
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{Overrides: map[string]string{
		"max.connections.per.ip":  "10",
		"connections.max.idle.ms": strconv.Itoa(idleMs),
	}})

	var ours, kafka connOutcomes
	t.Run("behaviours", func(t *testing.T) {
		t.Run("ours", func(t *testing.T) {
			t.Parallel()
			ours = connBehaviours(t, b.Listen, idleMs)
		})
		t.Run("kafka", func(t *testing.T) {
			t.Parallel()
			kafka = connBehaviours(t, ref.Addr, idleMs)
		})
	})
	if ours == nil || kafka == nil {
		t.Fatal("a side did not finish")
	}
	for _, k := range slices.Sorted(maps.Keys(ours)) {
		t.Logf("%-50s ours %-5v kafka %v", k, ours[k], kafka[k])
		if !ours[k] {
			t.Errorf("ours: %s is false", k)
		}
		if want, known := knownConnDifferences[k]; known {
			if kafka[k] != want {
				t.Errorf("Kafka: %s is %v; the known difference says %v: update knownConnDifferences", k, kafka[k], want)
			}
		} else if kafka[k] != ours[k] {
			t.Errorf("%s: Kafka %v, ours %v", k, kafka[k], ours[k])
		}
	}
	harness.Poll(t, 5*time.Second, "the refusal in the broker's log", func() (bool, string) {
		l := c.LogTail(0, 300)
		return strings.Contains(l, "Rejected connection from 127.0.0.2, address already has the configured maximum of 10 connections."), l
	})

	// (d) queued.max.request.bytes=4 MiB: 100 connections each send 1 MiB
	// produce frames short of their last bytes. Without a pool the broker
	// would hold ~100 MiB of partial frames; with it, it reads at most
	// the pool plus one frame, the rest wait in the kernel.
	t.Run("memoryPool", func(t *testing.T) {
		before := vmRSS(t, pid)
		frame := largeProduceFrame(1<<20 - 1024)
		var conns []net.Conn
		for i := range 100 {
			conn, err := dialFrom(t, fmt.Sprintf("127.0.1.%d", 1+i/10), b.Listen)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, conn)
		}
		// Sample the broker's RSS while the frames go out and for half a
		// second after (the idle timer, 1 s, then closes the held ones).
		var peak atomic.Int64
		sampling := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				if rss, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
					for _, l := range strings.Split(string(rss), "\n") {
						if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
							kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
							if kb<<10 > peak.Load() {
								peak.Store(kb << 10)
							}
						}
					}
				}
				select {
				case <-sampling:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		var wg sync.WaitGroup
		for _, conn := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = conn.SetWriteDeadline(time.Now().Add(3 * time.Second))
				_, _ = conn.Write(frame[:len(frame)-100])
			}()
		}
		wg.Wait()
		time.Sleep(500 * time.Millisecond) // the sampling window, not a synchronisation
		close(sampling)
		<-sampled
		t.Logf("memory pool: 100 connections x 1 MiB frames held short of their end: broker RSS %d MiB before, peak %d MiB while held",
			before>>20, peak.Load()>>20)
		if !strings.Contains(c.LogTail(0, 400), "request memory pool exhausted") {
			t.Error("the broker did not log the pool's exhaustion")
		}
		if grew := peak.Load() - before; grew > 48<<20 {
			t.Errorf("broker RSS grew by %d MiB with a 4 MiB request pool", grew>>20)
		}
		for _, conn := range conns {
			conn.Close()
		}
		fresh, err := dialFrom(t, "127.0.0.5", b.Listen)
		if err != nil {
			t.Fatal(err)
		}
		if err := exchange(fresh, metadataFrame(1), 1, 10*time.Second); err != nil {
			t.Fatalf("metadata after the flood: %v", err)
		}
	})
}

// largeProduceFrame is a Produce v9 request (acks=1) for a topic that does
// not exist, with one record batch of about size bytes.
func largeProduceFrame(size int) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, 1, 30000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "no-such-topic"
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = make([]byte, size) // never read whole: the test holds back its last bytes
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return requestFrame(req, 1)
}

// (b) 1,000 hostile connections at once: idle ones, slow-loris half
// frames, frames declaring 100 MB and sending a few bytes, garbage, and
// clients pipelining Metadata requests without reading the responses. A
// fresh client's Metadata p99 stays under 50 ms and the broker's RSS
// under 200 MB.
func TestHardeningHostileConnections(t *testing.T) {
	raiseNoFile(t, 2500)
	c := cluster.Start(t, 1)
	b := c.Broker(0)
	pid := brokerPID(t, b)
	// Twenty partitions make each Metadata answer about a kilobyte, so the
	// pipelines' answers overflow the socket buffers (the broker's send
	// buffer is socket.send.buffer.bytes, 100 KiB) within 500 requests.
	harness.CreateTopic(t, c, "hardening", 20, 1)
	baseRSS := vmRSS(t, pid)

	rng := rand.New(rand.NewPCG(15, 2))
	kinds := []string{"idle", "slow-loris", "huge-frame", "garbage", "pipeline"}
	counts := map[string]int{}
	var conns []net.Conn
	var mu sync.Mutex
	var wg sync.WaitGroup
	var stalled atomic.Int32
	meta := metadataFrame(1)
	// 8,000 requests (about 250 KB) from sockets with small buffers: the
	// broker's answers fill its send buffer and the client's receive
	// buffer, its response write stalls, the connection's queue fills, its
	// reader stops, and the rest of the requests stay in the kernel: the
	// client's write times out. These connections hold requests in flight
	// for as long as they stay.
	pipelined := bytes.Repeat(meta, 8000)
	for i := range 1000 {
		kind := kinds[i%len(kinds)]
		counts[kind]++
		garbage := make([]byte, 64)
		for j := range garbage {
			garbage[j] = byte(rng.UintN(256))
		}
		garbage[4], garbage[5] = 0x7f, 0x7f // no such api key
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Timeout: 10 * time.Second}
			if kind == "pipeline" {
				d.Control = func(_, _ string, rc syscall.RawConn) error {
					var serr error
					if err := rc.Control(func(fd uintptr) {
						serr = errors.Join(syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096),
							syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096))
					}); err != nil {
						return err
					}
					return serr
				}
			}
			conn, err := d.Dial("tcp", b.Listen)
			if err != nil {
				t.Errorf("dial %s: %v", kind, err)
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			switch kind {
			case "slow-loris":
				_, _ = conn.Write(meta[:len(meta)/2])
			case "huge-frame":
				_, _ = conn.Write(append(binary.BigEndian.AppendUint32(nil, 100*1000*1000), 0, 3, 0, 12))
			case "garbage":
				_, _ = conn.Write(garbage)
			case "pipeline":
				// A small receive buffer makes the unread responses back up
				// into the broker sooner.
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetReadBuffer(4096)
				}
				_ = conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if _, err := conn.Write(pipelined); errors.Is(err, os.ErrDeadlineExceeded) {
					stalled.Add(1) // the broker stopped reading it
				}
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, conn := range conns {
			conn.Close()
		}
	})
	if t.Failed() {
		return
	}
	// The broker accepts from its backlog at its own pace: wait until it
	// holds the 800 non-garbage connections.
	var sockets int
	harness.Poll(t, 30*time.Second, "the broker to accept the hostile connections", func() (bool, string) {
		sockets = openSockets(t, pid)
		return sockets >= 800, fmt.Sprintf("%d sockets", sockets)
	})

	// A fresh client: a new connection, then Metadata requests one after
	// another.
	fresh, err := net.DialTimeout("tcp", b.Listen, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	const n = 300
	lat := make([]time.Duration, 0, n)
	var peak int64
	for i := range n {
		start := time.Now()
		if err := exchange(fresh, metadataFrame(int32(i)), int32(i), 10*time.Second); err != nil {
			t.Fatalf("fresh client's Metadata %d: %v", i, err)
		}
		lat = append(lat, time.Since(start))
		if i%30 == 0 {
			peak = max(peak, vmRSS(t, pid))
		}
	}
	slices.Sort(lat)
	p50, p99, maxLat := lat[n/2], lat[n*99/100], lat[n-1]
	peak = max(peak, vmRSS(t, pid))
	t.Logf("1000 hostile connections %v (%d pipelines stalled: the broker stopped reading them): broker holds %d sockets; fresh client Metadata p50 %v p99 %v max %v; broker RSS %d MiB (before %d MiB)",
		counts, stalled.Load(), sockets, p50, p99, maxLat, peak>>20, baseRSS>>20)
	if stalled.Load() == 0 {
		// Whether the kernel's buffers swallow a pipeline whole depends on
		// their autotuning and the machine's load (a clean 2-core run saw
		// none stall, loaded runs 121-199): a note, not a failure; the
		// latency and memory bounds above hold either way.
		t.Log("no pipelining connection stalled this run: the kernel's buffers held every unread response")
	}
	if p99 > 50*time.Millisecond {
		t.Errorf("Metadata p99 %v with 1000 hostile connections, want under 50 ms", p99)
	}
	if peak > 200<<20 {
		t.Errorf("broker RSS %d MiB with 1000 hostile connections, want under 200 MB", peak>>20)
	}
	// The garbage connections are closed; the others are held (the idle
	// timer is 10 minutes by default).
	if after := openSockets(t, pid); after < 800 || after > 900 {
		t.Errorf("broker holds %d sockets after the measure, want the 800 hostile ones that are not garbage (and its own few)", after)
	}
}
