// Package cluster starts a real ZooKeeper and real broker processes (the
// project's bin/kafka) on free loopback ports for tests, and stops them all
// when the test ends, also on failure.
package cluster

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// Cluster is ZooKeeper plus brokers started by one test.
type Cluster struct {
	tb      testing.TB
	ZK      *zktest.Server
	Connect string // zookeeper.connect with this cluster's own chroot
	bin     string
	dir     string

	mu      sync.Mutex
	brokers map[int32]*Broker
	faults  faults
	zkc     *zkmeta.Client // the test's own ZooKeeper session, see ZKConn
	zkProc  *zktest.Server // ZooKeeper's process after StartZK (nil: still ZK's own)
	// listeners are the names of the listeners each broker has beside
	// PLAINTEXT (StartListeners).
	listeners []string
}

// Broker is one broker process.
type Broker struct {
	ID      int32
	Addr    string // 127.0.0.1:port the broker advertises: its proxy, kept across restarts
	Listen  string // 127.0.0.1:port the broker listens on, behind the proxy
	LogDir  string
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{}
	extra   []string
	proxy   *proxy // Kafka traffic to this broker
	zkProxy *proxy // this broker's ZooKeeper connections
	// Listeners are the extra listeners' addresses by name (StartListeners),
	// listened on and advertised as they are (no proxy).
	Listeners map[string]string
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// Binary returns the broker binary: $KAFKA_BIN, or one built once per test
// process from this module.
func Binary(tb testing.TB) string {
	if b := os.Getenv("KAFKA_BIN"); b != "" {
		return b
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kafka-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "kafka")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/kafkazk/kafkazk/cmd/kafka").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatalf("building the broker: %v", buildErr)
	}
	return builtBin
}

// Start runs ZooKeeper and n brokers with ids 0..n-1; extra are
// --override key=value settings for every broker.
func Start(tb testing.TB, n int, extra ...string) *Cluster {
	tb.Helper()
	return StartListeners(tb, n, nil, extra...)
}

// StartListeners is Start with more listeners per broker: for each name a
// free loopback port, added to listeners and advertised.listeners as
// NAME://127.0.0.1:port after PLAINTEXT (extra must map the names to
// protocols with listener.security.protocol.map).
func StartListeners(tb testing.TB, n int, names []string, extra ...string) *Cluster {
	tb.Helper()
	zk := zktest.Start(tb)
	c := &Cluster{tb: tb, ZK: zk, Connect: zk.Chroot(tb), bin: Binary(tb), dir: tb.TempDir(), brokers: map[int32]*Broker{},
		listeners: names}
	tb.Cleanup(c.stopAll)
	for id := range n {
		c.AddBroker(int32(id), extra...)
	}
	for id := range n {
		c.WaitForBrokers(int32(id))
	}
	return c
}

// AddBroker starts a new broker with the given id.
func (c *Cluster) AddBroker(id int32, extra ...string) *Broker {
	c.tb.Helper()
	b := &Broker{
		ID:      id,
		Listen:  "127.0.0.1:" + strconv.Itoa(freePort(c.tb)),
		LogDir:  filepath.Join(c.dir, fmt.Sprintf("broker-%d", id), "logs"),
		LogFile: filepath.Join(c.dir, fmt.Sprintf("broker-%d.log", id)),
		extra:   extra,
	}
	for _, name := range c.listeners {
		if b.Listeners == nil {
			b.Listeners = map[string]string{}
		}
		b.Listeners[name] = "127.0.0.1:" + strconv.Itoa(freePort(c.tb))
	}
	var err error
	if b.proxy, err = newProxy(b.Listen, true); err != nil {
		c.tb.Fatal(err)
	}
	b.Addr = b.proxy.Addr()
	if b.zkProxy, err = newProxy(c.ZK.Addr, false); err != nil {
		c.tb.Fatal(err)
	}
	c.mu.Lock()
	c.brokers[id] = b
	c.applyFaultsLocked()
	c.mu.Unlock()
	c.launch(b)
	return b
}

func (c *Cluster) launch(b *Broker) {
	c.tb.Helper()
	cfg := filepath.Join(c.dir, fmt.Sprintf("broker-%d.properties", b.ID))
	more := ""
	for _, name := range c.listeners {
		more += "," + name + "://" + b.Listeners[name]
	}
	props := strings.Join([]string{
		"broker.id=" + strconv.Itoa(int(b.ID)),
		"listeners=PLAINTEXT://" + b.Listen + more,
		"advertised.listeners=PLAINTEXT://" + b.Addr + more,
		"log.dirs=" + b.LogDir,
		"zookeeper.connect=" + b.zkProxy.Addr() + strings.TrimPrefix(c.Connect, c.ZK.Addr),
		"zookeeper.session.timeout.ms=6000",
		"offsets.topic.replication.factor=1",
		"group.initial.rebalance.delay.ms=0", // as in Kafka's test setups; overrides may change both
		"",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(props), 0o644); err != nil {
		c.tb.Fatal(err)
	}
	if err := b.proxy.listen(); err != nil {
		c.tb.Fatal(err)
	}
	logf, err := os.OpenFile(b.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.tb.Fatal(err)
	}
	args := []string{"kafka-server-start", cfg}
	for _, e := range b.extra {
		// {LISTEN} is the broker's own listen address (a test adding a
		// second listener keeps the first one behind the proxy).
		args = append(args, "--override", strings.ReplaceAll(e, "{LISTEN}", b.Listen))
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		c.tb.Fatalf("starting broker %d: %v", b.ID, err)
	}
	b.cmd = cmd
	b.done = make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		// Like the broker's own port: connecting is refused while it is down.
		b.proxy.stopListening()
		close(done)
	}(b.done)
}

// Broker returns a started broker.
func (c *Cluster) Broker(id int32) *Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[id]
}

// Bootstrap is a comma-separated list of every broker's address.
func (c *Cluster) Bootstrap() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]int32, 0, len(c.brokers))
	for id := range c.brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	addrs := make([]string, len(ids))
	for i, id := range ids {
		addrs[i] = c.brokers[id].Addr
	}
	return strings.Join(addrs, ",")
}

// Stop sends SIGTERM and waits for a clean exit; it returns the exit code.
func (c *Cluster) Stop(id int32) int {
	c.tb.Helper()
	b := c.Broker(id)
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
		c.tb.Fatalf("broker %d did not stop within 30s of SIGTERM", id)
	}
	return b.cmd.ProcessState.ExitCode()
}

// StopMany sends SIGTERM to every given broker at once, then waits for
// each to exit: simultaneous controlled shutdowns. The wait is bounded by
// what Kafka's controlled shutdown may take when the controller does not
// answer (a paused or departing one): controlled.shutdown.max.retries (3)
// times controller.socket.timeout.ms (30 s) plus the retry backoff (5 s).
func (c *Cluster) StopMany(ids ...int32) {
	c.tb.Helper()
	for _, id := range ids {
		_ = c.Broker(id).cmd.Process.Signal(syscall.SIGTERM)
	}
	const bound = 3*(30*time.Second+5*time.Second) + 15*time.Second
	deadline := time.After(bound)
	for _, id := range ids {
		b := c.Broker(id)
		select {
		case <-b.done:
		case <-deadline:
			for _, id := range ids {
				_ = syscall.Kill(-c.Broker(id).cmd.Process.Pid, syscall.SIGKILL)
				<-c.Broker(id).done
			}
			c.tb.Fatalf("brokers %v did not all stop within %v of SIGTERM", ids, bound)
		}
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (c *Cluster) Kill(id int32) {
	b := c.Broker(id)
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// Running reports whether broker id's process is alive (it may be paused).
// A broker whose ZooKeeper session expired exits by itself.
func (c *Cluster) Running(id int32) bool {
	b := c.Broker(id)
	if b == nil || b.done == nil {
		return false
	}
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// Pause stops the broker process with SIGSTOP (it keeps its sockets and
// ZooKeeper session until the session times out); Resume continues it.
func (c *Cluster) Pause(id int32) { _ = syscall.Kill(-c.Broker(id).cmd.Process.Pid, syscall.SIGSTOP) }

// Pid is a running broker's process id (for /proc/<pid>/stat CPU figures).
func (c *Cluster) Pid(id int32) int { return c.Broker(id).cmd.Process.Pid }

// Resume sends SIGCONT to a paused broker.
func (c *Cluster) Resume(id int32) { _ = syscall.Kill(-c.Broker(id).cmd.Process.Pid, syscall.SIGCONT) }

// Restart starts a stopped or killed broker again on the same port and log dir.
func (c *Cluster) Restart(id int32) {
	c.tb.Helper()
	c.launch(c.Broker(id))
	c.WaitForBrokers(id)
}

// Launch starts a stopped or killed broker again on the same port and log
// dir without waiting for it: a broker that cannot register yet (its
// previous ZooKeeper session still lives) or that has no controller yet is
// never ready in WaitForBrokers' sense.
func (c *Cluster) Launch(id int32) {
	c.tb.Helper()
	c.launch(c.Broker(id))
}

// WaitForBrokers polls Metadata on each given broker until the broker
// answers and lists all the given ids (bounded to 60 s).
func (c *Cluster) WaitForBrokers(ids ...int32) {
	c.tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		b := c.Broker(id)
		for {
			if ok := c.metadataLists(b.Addr, ids); ok {
				break
			}
			select {
			case <-b.done:
				c.tb.Fatalf("broker %d exited: %s", id, tail(b.LogFile, 30))
			default:
			}
			if time.Now().After(deadline) {
				c.tb.Fatalf("broker %d not ready in time: %s", id, tail(b.LogFile, 30))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (c *Cluster) metadataLists(addr string, ids []int32) bool {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MetadataMinAge(10*time.Millisecond))
	if err != nil {
		return false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return false
	}
	seen := map[int32]bool{}
	for _, b := range resp.Brokers {
		seen[b.NodeID] = true
	}
	for _, id := range ids {
		if !seen[id] {
			return false
		}
	}
	return true
}

// Client is a franz-go client for the whole cluster, closed at test end.
func (c *Cluster) Client(opts ...kgo.Opt) *kgo.Client {
	c.tb.Helper()
	all := append([]kgo.Opt{kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...)}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(cl.Close)
	return cl
}

// Tool runs one of bin/kafka's tools (e.g. "kafka-topics.sh") and returns
// its stdout, stderr and exit code.
func (c *Cluster) Tool(name string, args ...string) (string, string, int) {
	c.tb.Helper()
	var stdout, stderr strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return stdout.String(), stderr.String(), code
}

// LogTail returns the last lines of a broker's log, for failure messages.
func (c *Cluster) LogTail(id int32, n int) string { return tail(c.Broker(id).LogFile, n) }

func (c *Cluster) stopAll() {
	c.mu.Lock()
	brokers := make([]*Broker, 0, len(c.brokers))
	for _, b := range c.brokers {
		brokers = append(brokers, b)
	}
	c.mu.Unlock()
	for _, b := range brokers {
		select {
		case <-b.done:
			continue
		default:
		}
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGCONT) // in case a test left it paused
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	}
	for _, b := range brokers {
		b.proxy.close()
		b.zkProxy.close()
	}
	c.mu.Lock()
	if c.zkc != nil {
		c.zkc.Close()
		c.zkc = nil
	}
	zkProc := c.zkProc
	c.mu.Unlock()
	if zkProc != nil { // restarted by StartZK: not in zktest's own cleanup
		zkProc.Stop()
	}
	if c.tb.Failed() {
		for _, b := range brokers {
			c.tb.Logf("broker %d log tail:\n%s", b.ID, tail(b.LogFile, 40))
		}
		c.keepLogs(brokers)
	}
}

// keepLogs copies the brokers' whole logs out of the test's temporary
// directory (removed when the test ends) so a failure can be studied.
func (c *Cluster) keepLogs(brokers []*Broker) {
	dir, err := os.MkdirTemp("", "kafkazk-failed-")
	if err != nil {
		c.tb.Logf("keeping broker logs: %v", err)
		return
	}
	for _, b := range brokers {
		data, err := os.ReadFile(b.LogFile)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(b.LogFile)), data, 0o644)
		}
		if err != nil {
			c.tb.Logf("keeping broker %d log: %v", b.ID, err)
		}
	}
	c.tb.Logf("broker logs kept in %s", dir)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort is a loopback port free now for a broker to bind a moment later.
// It is taken below the kernel's ephemeral range (ip_local_port_range), at
// random: a port from that range (what listening on port 0 gives) can be
// handed to an outgoing connection's local end before the broker binds it,
// which made a broker fail to start with "address already in use".
// A port is handed out once per test process: two brokers started by one
// test (Kafka's reference brokers bind late, after their JVM starts) once got
// the same pick, and the second failed to register its endpoint. Test
// binaries in other processes (make compat runs the compat packages side by
// side) draw from a part of the range chosen by their process id.
// FreePort is freePort for tests that place listeners themselves.
func FreePort(tb testing.TB) int { return freePort(tb) }

// handedOut is the test process's record of the ports freePort returned.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

func freePort(tb testing.TB) int {
	handedOut.Lock()
	defer handedOut.Unlock()
	const lowest = 10000
	ephemeralStart := 32768 // Linux's default
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(data)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				ephemeralStart = n
			}
		}
	}
	const parts = 4
	part := (ephemeralStart - lowest) / parts
	base := lowest + os.Getpid()%parts*part
	for range 200 {
		if part < 1000 {
			break // no room below the ephemeral range: take the kernel's pick
		}
		port := base + rand.IntN(part)
		if handedOut.ports[port] {
			continue
		}
		if ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
			ln.Close()
			handedOut.ports[port] = true
			return port
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
