// Package kafkaref starts Apache Kafka 3.9 brokers in ZooKeeper mode (kafka.Kafka in its own JVM) for the
// benchmarks, which compare our broker with it. It is the bench-side twin of compat-tests/cluster's test
// launcher, without testing.TB: the jars come from var/kafka-3.9/lib (made by `make deps`, scripts/deps.sh)
// or $KAFKA39_LIB; the JVM flags are Kafka's own scripts' defaults (kafka-server-start.sh's heap
// -Xmx1G -Xms1G, kafka-run-class.sh's G1 flags).
package kafkaref

import (
	"bufio"
	"context"
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
	"time"

	"github.com/kafkazk/kafkazk/bench/internal/logtail"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DefaultJVMArgs are the flags Kafka's start scripts give a broker by default: kafka-server-start.sh's
// KAFKA_HEAP_OPTS and kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS (3.9).
var DefaultJVMArgs = []string{
	"-Xmx1G", "-Xms1G",
	"-server", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:InitiatingHeapOccupancyPercent=35",
	"-XX:+ExplicitGCInvokesConcurrent", "-XX:MaxInlineLevel=15", "-Djava.awt.headless=true",
}

// Install is a usable Kafka 3.9: its lib dir and a java binary.
type Install struct {
	Lib  string
	Java string
}

// Find locates Kafka 3.9's jars and java. Its error says what is missing and names `make deps`, so a
// benchmark can print it and leave the Kafka column out.
func Find() (Install, error) {
	var in Install
	lib := os.Getenv("KAFKA39_LIB")
	if lib == "" {
		root, err := repoRoot()
		if err != nil {
			return in, fmt.Errorf("Apache Kafka 3.9: %w (run from the repository, or set KAFKA39_LIB; `make deps` installs it)", err)
		}
		lib = filepath.Join(root, "var", "kafka-3.9", "lib")
		if _, err := os.Stat(filepath.Join(lib, ".complete")); err != nil {
			return in, fmt.Errorf("Apache Kafka 3.9 is not installed (or incomplete) in %s: run `make deps`", lib)
		}
	}
	if jars, _ := filepath.Glob(filepath.Join(lib, "kafka_2.13-3.9.*.jar")); len(jars) == 0 {
		return in, fmt.Errorf("Apache Kafka 3.9 is not installed: no kafka_2.13-3.9.*.jar in %s (run `make deps`)", lib)
	}
	in.Lib = lib
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		if j := filepath.Join(jh, "bin", "java"); fileExists(j) {
			in.Java = j
			return in, nil
		}
	}
	j, err := exec.LookPath("java")
	if err != nil {
		return in, fmt.Errorf("java not found for Apache Kafka 3.9 (install a JDK 17, see `make deps`): %w", err)
	}
	in.Java = j
	return in, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// repoRoot is the nearest directory above the working directory whose go.mod declares this module.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(string(data)) == "github.com/kafkazk/kafkazk" {
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

// Options configures one broker.
type Options struct {
	ID      int
	Addr    string // host:port to listen on and advertise
	Connect string // zookeeper.connect, with the chroot (e.g. 127.0.0.1:2181/kafka39)
	Dir     string // holds server.properties, log4j.properties, the logs and log.dirs (created)
	// Overrides are server.properties settings applied over the defaults below.
	Overrides map[string]string
	// JVMArgs replace DefaultJVMArgs when not nil.
	JVMArgs []string
}

// Broker is one running Kafka 3.9 JVM.
type Broker struct {
	ID      int
	Addr    string
	Dir     string
	LogFile string // log4j output
	OutFile string // the JVM's stdout and stderr

	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Start writes the broker's configuration and starts its JVM; it does not wait (see WaitReady). The
// settings are Kafka's defaults except the listener, log dir, ZooKeeper, RF 1 for the internal topics and
// no initial rebalance delay (as our bench brokers), then o.Overrides.
func Start(in Install, o Options) (*Broker, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("kafka39 dir: %w", err)
	}
	b := &Broker{ID: o.ID, Addr: o.Addr, Dir: o.Dir,
		LogFile: filepath.Join(o.Dir, "kafka.log"), OutFile: filepath.Join(o.Dir, "kafka.out")}
	settings := map[string]string{
		"broker.id":                                strconv.Itoa(o.ID),
		"listeners":                                "PLAINTEXT://" + o.Addr,
		"advertised.listeners":                     "PLAINTEXT://" + o.Addr,
		"log.dirs":                                 filepath.Join(o.Dir, "logs"),
		"zookeeper.connect":                        o.Connect,
		"zookeeper.session.timeout.ms":             "6000",
		"offsets.topic.replication.factor":         "1",
		"transaction.state.log.replication.factor": "1",
		"transaction.state.log.min.isr":            "1",
		"group.initial.rebalance.delay.ms":         "0",
	}
	maps.Copy(settings, o.Overrides)
	var props strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&props, "%s=%s\n", k, settings[k])
	}
	cfg := filepath.Join(o.Dir, "server.properties")
	if err := os.WriteFile(cfg, []byte(props.String()), 0o644); err != nil {
		return nil, fmt.Errorf("kafka39 config: %w", err)
	}
	log4j := filepath.Join(o.Dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte(log4jProperties(b.LogFile)), 0o644); err != nil {
		return nil, fmt.Errorf("kafka39 log4j: %w", err)
	}
	jvm := o.JVMArgs
	if jvm == nil {
		jvm = DefaultJVMArgs
	}
	args := append(slices.Clone(jvm),
		"-Dlog4j.configuration=file:"+log4j,
		"-Dkafka.logs.dir="+o.Dir,
		"-cp", filepath.Join(in.Lib, "*"),
		"kafka.Kafka", cfg)
	out, err := os.OpenFile(b.OutFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("kafka39 output: %w", err)
	}
	b.cmd = exec.Command(in.Java, args...)
	b.cmd.Dir = o.Dir
	b.cmd.Stdout, b.cmd.Stderr = out, out
	// Own process group, and killed if this program dies.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start Kafka 3.9 broker %d: %w", o.ID, err)
	}
	b.done = make(chan struct{})
	go func() {
		_ = b.cmd.Wait()
		out.Close()
		close(b.done)
	}()
	return b, nil
}

// log4jProperties sends Kafka's loggers to one file at INFO, the request and client loggers at WARN.
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

// Pid is the JVM's process id.
func (b *Broker) Pid() int { return b.cmd.Process.Pid }

// Done is closed when the JVM has exited.
func (b *Broker) Done() <-chan struct{} { return b.done }

// WaitReady polls (bounded by ctx and 90 s) until the broker answers Metadata listing itself and at least
// n brokers in all.
func (b *Broker) WaitReady(ctx context.Context, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		if b.lists(ctx, n) {
			return nil
		}
		select {
		case <-b.done:
			return fmt.Errorf("Kafka 3.9 broker %d exited while starting:\n%s\n%s", b.ID, b.LogTail(30), logtail.Tail(b.OutFile, 10))
		case <-ctx.Done():
			return fmt.Errorf("Kafka 3.9 broker %d not ready: %w\n%s", b.ID, ctx.Err(), b.LogTail(30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (b *Broker) lists(ctx context.Context, n int) bool {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr), kgo.RequestRetries(0))
	if err != nil {
		return false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil || len(resp.Brokers) < n {
		return false
	}
	for _, br := range resp.Brokers {
		if int(br.NodeID) == b.ID {
			return true
		}
	}
	return false
}

// Stop sends SIGTERM (Kafka's controlled shutdown) and waits, killing the process group after timeout.
// Calling it again, or after the JVM exited, does nothing.
func (b *Broker) Stop(timeout time.Duration) {
	b.once.Do(func() {
		select {
		case <-b.done:
			return
		default:
		}
		_ = b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(timeout):
			_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
			<-b.done
		}
	})
}

// Kill ends the JVM's process group with SIGKILL and waits for the exit.
func (b *Broker) Kill() {
	b.once.Do(func() {})
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// LogTail is the last n lines of the broker's log4j output.
func (b *Broker) LogTail(n int) string { return logtail.Tail(b.LogFile, n) }

// StopAll stops brokers of one cluster together: SIGTERM to all, then SIGKILL to those still running after
// timeout. (The last brokers' controlled shutdowns retry while their partitions have nowhere to go, so a
// short timeout is usual.)
func StopAll(bs []*Broker, timeout time.Duration) {
	for _, b := range bs {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	expired := false
	for _, b := range bs {
		if !expired {
			select {
			case <-b.done:
				b.once.Do(func() {})
				continue
			case <-deadline.C:
				expired = true
			}
		}
		b.Kill() // the rest are killed at once
	}
}
