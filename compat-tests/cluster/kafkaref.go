package cluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
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
)

// KafkaRef is a real Apache Kafka 3.9 broker in ZooKeeper mode (kafka.Kafka
// in its own JVM), the reference our broker is compared with.
type KafkaRef struct {
	ID      int32
	Addr    string // 127.0.0.1:port it listens on and advertises
	LogDir  string // its log.dirs (one dir)
	Chroot  string // its ZooKeeper chroot, e.g. "/kafka39-1a2b3c"
	ZK      string // the ZooKeeper server, host:port (without chroot)
	Connect string // its zookeeper.connect: ZK + Chroot
	Dir     string // the temp dir holding server.properties, log4j.properties and the log
	LogFile string // its log4j output (server, controller, state change logs)
	OutFile string // the JVM's stdout and stderr

	tb       testing.TB
	props    string
	args     []string
	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{}
	stopOnce *sync.Once
}

// KafkaRefOptions configures StartKafkaRef. The zero value is one broker,
// id 0, in a fresh chroot and a fresh log dir.
type KafkaRefOptions struct {
	ID int32
	// Chroot is the ZooKeeper chroot ("/name"); empty picks a fresh one.
	// Brokers of one reference cluster share it: start the first, then pass
	// its Chroot to the others.
	Chroot string
	// LogDir is reused when given (a restart on the same log dir, or a log
	// dir written by another broker); empty makes a fresh one.
	LogDir string
	// Port to listen on (0 picks a free one); a restart passes the old one.
	Port int
	// Overrides are server.properties settings, applied over the defaults
	// (e.g. "log.segment.bytes": "1048576", or the replication factors of
	// the internal topics for a three-broker cluster).
	Overrides map[string]string
	// JVMArgs replace the default heap and GC flags.
	JVMArgs []string
	// NoWait returns as soon as the JVM is started (WaitReady waits).
	NoWait bool
}

// Kafka39Lib is the directory with Apache Kafka 3.9's jars and their
// dependencies: $KAFKA39_LIB, or var/kafka-3.9/lib in the repository (made by
// `make deps`, scripts/deps.sh).
func Kafka39Lib(tb testing.TB) string {
	tb.Helper()
	lib := os.Getenv("KAFKA39_LIB")
	if lib == "" {
		root, err := repoRoot()
		if err != nil {
			tb.Fatalf("Apache Kafka 3.9: %v (set KAFKA39_LIB to its lib dir, made by `make deps`)", err)
		}
		lib = filepath.Join(root, "var", "kafka-3.9", "lib")
	}
	jars, _ := filepath.Glob(filepath.Join(lib, "kafka_2.13-3.9.*.jar"))
	if len(jars) == 0 {
		tb.Fatalf("Apache Kafka 3.9 is not installed: no kafka_2.13-3.9.*.jar in %s (run `make deps`)", lib)
	}
	if _, err := os.Stat(filepath.Join(lib, ".complete")); err != nil && os.Getenv("KAFKA39_LIB") == "" {
		tb.Fatalf("Apache Kafka 3.9 in %s is incomplete (run `make deps`)", lib)
	}
	return lib
}

// RepoRoot is the repository's root directory (go test runs each package
// in its own directory, at different depths).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// repoRoot is the nearest directory above the working directory whose
// go.mod declares this module.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(string(data)) == "github.com/kafkazk/kafkazk" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod of github.com/kafkazk/kafkazk) not found above the working directory")
		}
		dir = parent
	}
}

func modulePath(gomod string) string {
	sc := bufio.NewScanner(strings.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return f[1]
		}
	}
	return ""
}

// Java is the java binary: $JAVA_HOME/bin/java, else java on $PATH.
func Java(tb testing.TB) string {
	tb.Helper()
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		if j := filepath.Join(jh, "bin", "java"); fileExists(j) {
			return j
		}
	}
	j, err := exec.LookPath("java")
	if err != nil {
		tb.Fatalf("java not found (run `make deps`): %v", err)
	}
	return j
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// StartKafkaRef starts an Apache Kafka 3.9 broker on ZooKeeper zkAddr
// (host:port, no chroot), waits (bounded) until it answers ApiVersions and
// has registered /brokers/ids/<id>, and stops it when the test ends.
func StartKafkaRef(tb testing.TB, zkAddr string, opts KafkaRefOptions) *KafkaRef {
	tb.Helper()
	lib := Kafka39Lib(tb)
	java := Java(tb)
	chroot := opts.Chroot
	if chroot == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			tb.Fatal(err)
		}
		chroot = "/kafka39-" + hex.EncodeToString(b[:])
	}
	if !strings.HasPrefix(chroot, "/") {
		chroot = "/" + chroot
	}
	dir := tb.TempDir()
	logDir := opts.LogDir
	if logDir == "" {
		logDir = filepath.Join(dir, "logs")
	}
	port := opts.Port
	if port == 0 {
		port = freePort(tb)
	}
	k := &KafkaRef{
		ID:       opts.ID,
		Addr:     "127.0.0.1:" + strconv.Itoa(port),
		LogDir:   logDir,
		Chroot:   chroot,
		ZK:       zkAddr,
		Connect:  zkAddr + chroot,
		Dir:      dir,
		LogFile:  filepath.Join(dir, "kafka.log"),
		OutFile:  filepath.Join(dir, "kafka.out"),
		tb:       tb,
		props:    filepath.Join(dir, "server.properties"),
		stopOnce: &sync.Once{},
	}
	settings := map[string]string{
		"broker.id":                                strconv.Itoa(int(opts.ID)),
		"listeners":                                "PLAINTEXT://" + k.Addr,
		"advertised.listeners":                     "PLAINTEXT://" + k.Addr,
		"log.dirs":                                 logDir,
		"zookeeper.connect":                        k.Connect,
		"zookeeper.session.timeout.ms":             "6000", // as our brokers in Cluster
		"offsets.topic.replication.factor":         "1",
		"transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr":            "1",
		"group.initial.rebalance.delay.ms":         "0",
	}
	maps.Copy(settings, opts.Overrides)
	var props strings.Builder
	for _, key := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&props, "%s=%s\n", key, settings[key])
	}
	if err := os.WriteFile(k.props, []byte(props.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	log4j := filepath.Join(dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte(log4jProperties(k.LogFile)), 0o644); err != nil {
		tb.Fatal(err)
	}
	jvm := opts.JVMArgs
	if jvm == nil {
		// kafka-server-start.sh's heap is 1G; a test broker needs less.
		// The GC flags are kafka-run-class.sh's.
		jvm = []string{"-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
			"-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent"}
	}
	k.args = append(slices.Clone(jvm),
		"-server", "-Djava.awt.headless=true",
		"-Dlog4j.configuration=file:"+log4j,
		"-Dkafka.logs.dir="+dir,
		"-cp", filepath.Join(lib, "*"),
		"kafka.Kafka", k.props)
	k.launch(java)
	tb.Cleanup(func() {
		if tb.Failed() { // the tail before the shutdown's own lines
			tb.Logf("Kafka 3.9 broker %d (%s) log tail:\n%s\nstdout/stderr:\n%s", k.ID, k.Addr, tail(k.LogFile, 40), tail(k.OutFile, 20))
		}
		k.Stop(tb)
	})
	if !opts.NoWait {
		k.WaitReady(tb)
	}
	return k
}

// log4jProperties sends every Kafka logger to one file at INFO (the
// request logger stays at WARN, as in Kafka's config/log4j.properties).
func log4jProperties(file string) string {
	return strings.Join([]string{
		"log4j.rootLogger=INFO, file",
		"log4j.appender.file=org.apache.log4j.FileAppender",
		"log4j.appender.file.File=" + file,
		"log4j.appender.file.layout=org.apache.log4j.PatternLayout",
		"log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
		"log4j.logger.org.apache.zookeeper=WARN",
		"log4j.logger.kafka.request.logger=WARN",
		"log4j.logger.org.apache.kafka.clients=WARN",
		"",
	}, "\n")
}

func (k *KafkaRef) launch(java string) {
	k.tb.Helper()
	out, err := os.OpenFile(k.OutFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		k.tb.Fatal(err)
	}
	cmd := exec.Command(java, k.args...)
	cmd.Dir = k.Dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		k.tb.Fatalf("starting Kafka 3.9 broker %d: %v", k.ID, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(done)
	}()
	k.mu.Lock()
	k.cmd, k.done, k.stopOnce = cmd, done, &sync.Once{}
	k.mu.Unlock()
}

// WaitReady polls until the broker answers ApiVersions and /brokers/ids/<id>
// exists under its chroot (bounded to 60 s); it fails the test with the
// log's tail when the JVM exits or time runs out.
func (k *KafkaRef) WaitReady(tb testing.TB) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var zkc *zkmeta.Client
	defer func() {
		if zkc != nil {
			zkc.Close()
		}
	}()
	last := ""
	for {
		k.mu.Lock()
		done := k.done
		k.mu.Unlock()
		select {
		case <-done:
			tb.Fatalf("Kafka 3.9 broker %d exited while starting:\n%s\nstdout/stderr:\n%s", k.ID, tail(k.LogFile, 40), tail(k.OutFile, 20))
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Kafka 3.9 broker %d not ready within 60s (%s):\n%s", k.ID, last, tail(k.LogFile, 40))
		}
		if zkc == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			c, err := zkmeta.Connect(ctx, k.ZK, 10*time.Second, nil)
			cancel()
			if err != nil {
				last = "ZooKeeper: " + err.Error()
			}
			zkc = c
		}
		if zkc != nil {
			ok, _, err := zkc.Exists(fmt.Sprintf("%s/brokers/ids/%d", k.Chroot, k.ID))
			switch {
			case err != nil:
				last = "ZooKeeper: " + err.Error()
			case !ok:
				last = "not registered in ZooKeeper"
			default:
				if _, err := k.ApiVersions(2 * time.Second); err != nil {
					last = "ApiVersions: " + err.Error()
				} else {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ApiVersions sends one ApiVersions request to the broker and returns its
// answer (an error code in it is an error).
func (k *KafkaRef) ApiVersions(timeout time.Duration) (*kmsg.ApiVersionsResponse, error) {
	return ApiVersionsOf(k.Addr, timeout)
}

// ApiVersionsOf sends one ApiVersions request (the newest version franz-go
// knows, negotiated down if needed) to addr alone.
func ApiVersionsOf(addr string, timeout time.Duration) (*kmsg.ApiVersionsResponse, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RequestRetries(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	if resp.ErrorCode != 0 {
		return resp, fmt.Errorf("ApiVersions error code %d", resp.ErrorCode)
	}
	return resp, nil
}

// Client is a franz-go client seeded with this broker, closed at test end.
func (k *KafkaRef) Client(tb testing.TB, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Addr)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

// Running reports whether the JVM is alive.
func (k *KafkaRef) Running() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done == nil {
		return false
	}
	select {
	case <-k.done:
		return false
	default:
		return true
	}
}

// Stop shuts the broker down: SIGTERM (Kafka's controlled shutdown), then
// SIGKILL to the JVM's process group if it has not exited within 30 s.
// Calling it again, or on a broker that has exited, does nothing.
func (k *KafkaRef) Stop(tb testing.TB) {
	k.mu.Lock()
	cmd, done, once := k.cmd, k.done, k.stopOnce
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	once.Do(func() {
		select {
		case <-done:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			tb.Logf("Kafka 3.9 broker %d did not stop within 30s of SIGTERM; killing it", k.ID)
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
}

// Kill ends the JVM with SIGKILL (no controlled shutdown, no clean-shutdown
// marker) and waits for it to be gone.
func (k *KafkaRef) Kill() {
	k.mu.Lock()
	cmd, done := k.cmd, k.done
	k.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
}

// Restart starts a stopped or killed broker again with the same settings:
// same id, port, log dir and chroot; it waits until it is ready. After a
// Kill it first waits (bounded) for the old session's /brokers/ids/<id> to
// expire: Kafka refuses to start while another session holds it.
func (k *KafkaRef) Restart(tb testing.TB) {
	tb.Helper()
	if k.Running() {
		tb.Fatalf("Kafka 3.9 broker %d: Restart while it runs", k.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	zkc, err := zkmeta.Connect(ctx, k.ZK, 10*time.Second, nil)
	cancel()
	if err != nil {
		tb.Fatalf("Kafka 3.9 broker %d: ZooKeeper: %v", k.ID, err)
	}
	defer zkc.Close()
	path := fmt.Sprintf("%s/brokers/ids/%d", k.Chroot, k.ID)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, _, err := zkc.Exists(path)
		if err == nil && !ok {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Kafka 3.9 broker %d: %s still there 30s after it stopped (%v)", k.ID, path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.launch(Java(tb))
	k.WaitReady(tb)
}

// LogTail returns the last n lines of the broker's log, for failure messages.
func (k *KafkaRef) LogTail(n int) string { return tail(k.LogFile, n) }

// StartKafkaRefCluster starts n Kafka 3.9 brokers, ids 0..n-1, on one fresh
// chroot of ZooKeeper zkAddr, all at once, and waits until each is ready.
// Brokers still running when the test ends are killed (see below).
// The internal topics' replication factors default to min(n, 3) (Kafka's
// defaults); overrides apply to every broker.
func StartKafkaRefCluster(tb testing.TB, zkAddr string, n int, overrides map[string]string) []*KafkaRef {
	tb.Helper()
	rf := strconv.Itoa(min(n, 3))
	settings := map[string]string{
		"offsets.topic.replication.factor":         rf,
		"transaction.state.log.replication.factor": rf,
		"transaction.state.log.min.isr":            strconv.Itoa(min(n, 2)),
	}
	maps.Copy(settings, overrides)
	refs := make([]*KafkaRef, n)
	for i := range refs {
		opts := KafkaRefOptions{ID: int32(i), Overrides: settings, NoWait: true}
		if i > 0 {
			opts.Chroot = refs[0].Chroot
		}
		refs[i] = StartKafkaRef(tb, zkAddr, opts)
	}
	// At the end, SIGKILL: the last brokers' controlled shutdowns fail while
	// their partitions have nowhere to go, and Kafka retries each for
	// 15 s (controlled.shutdown.max.retries 3, 5 s backoff), even when all
	// are stopped at once. A test that studies shutdown calls Stop itself.
	tb.Cleanup(func() {
		for _, k := range refs {
			k.Kill()
		}
	})
	for _, k := range refs {
		k.WaitReady(tb)
	}
	return refs
}

// KafkaRefBootstrap is the brokers' addresses, comma-separated.
func KafkaRefBootstrap(refs []*KafkaRef) string {
	addrs := make([]string, len(refs))
	for i, k := range refs {
		addrs[i] = k.Addr
	}
	return strings.Join(addrs, ",")
}
