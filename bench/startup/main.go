// Command startup measures two figures of one bin/kafka broker, with
// ZooKeeper already up (issue 7, run by `make bench`):
//
//   - start-up time: from just before the process is started to the first
//     Metadata response that lists the broker itself, the moment a client can
//     use it; each run is a new broker (new log dir, new ZooKeeper chroot),
//     and the median of -runs is reported (target: under 300 ms);
//   - resident memory: VmRSS from /proc/<pid>/status of a broker hosting
//     -partitions partitions (one topic, replication factor 1), after -idle
//     with no client connected (target: under 100 MiB).
//
// It also reports the start-up time of that broker restarted on its 100
// partitions after a clean shutdown.
//
// In the same run it measures Apache Kafka 3.9 (kafka.Kafka in a JVM, ZooKeeper
// mode, on the same ZooKeeper in its own chroot, Kafka's defaults and the JVM
// flags of Kafka's scripts: -Xmx1G -Xms1G, G1; see bench/internal/kafkaref) the
// same way: start-up to the first Metadata response listing it (median of
// -kafka39-runs new brokers), VmRSS of the JVM with -partitions partitions after
// -idle, and the restart on them, each beside ours with the ratio ours/kafka39.
// When Kafka 3.9 (var/kafka-3.9/lib, made by `make deps`) or java is missing it
// says so and leaves Kafka out.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/bench/internal/kafkaref"
	"github.com/kafkazk/kafkazk/bench/internal/logtail"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// Issue 7's targets.
const (
	startupTarget = 300 * time.Millisecond
	rssTarget     = 100 << 20
)

type options struct {
	bin        string
	runs       int
	partitions int
	idle       time.Duration
	keep       bool
	kafka39    bool
	kafkaRuns  int
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	var o options
	bin := os.Getenv("KAFKA_BIN")
	if bin == "" {
		bin = "bin/kafka"
	}
	fs.StringVar(&o.bin, "kafka-bin", bin, "broker binary (default $KAFKA_BIN or bin/kafka)")
	fs.IntVar(&o.runs, "runs", 9, "start-ups to measure; the median is reported")
	fs.IntVar(&o.partitions, "partitions", 100, "partitions of the idle broker whose memory is measured")
	fs.DurationVar(&o.idle, "idle", 5*time.Second, "idle time before the memory is read")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir (broker and ZooKeeper logs)")
	fs.BoolVar(&o.kafka39, "kafka39", true, "also measure Apache Kafka 3.9 (var/kafka-3.9/lib from make deps; skipped with a note when missing)")
	fs.IntVar(&o.kafkaRuns, "kafka39-runs", 3, "Kafka 3.9 start-ups to measure (a JVM start takes seconds); the median is reported")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if o.runs < 1 || o.partitions < 1 || o.kafkaRuns < 1 {
		fmt.Fprintln(os.Stderr, "-runs, -kafka39-runs and -partitions must be >= 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout)
	stop()
	if err != nil {
		slog.Error("startup bench failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, out io.Writer) error {
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("broker binary: %w", err)
	}
	dir, err := os.MkdirTemp("", "startup-bench-")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	if o.keep {
		fmt.Fprintf(out, "files kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	zkLog, err := os.Create(filepath.Join(dir, "zk.out"))
	if err != nil {
		return fmt.Errorf("zk log: %w", err)
	}
	defer zkLog.Close()
	zkDir := filepath.Join(dir, "zk")
	if err := os.MkdirAll(zkDir, 0o755); err != nil {
		return fmt.Errorf("zk dir: %w", err)
	}
	zk, err := zktest.StartProcess(zkDir, 0, zkLog)
	if err != nil {
		return fmt.Errorf("start zookeeper: %w", err)
	}
	defer zk.Stop()

	// Start-up: a new broker each run, the median reported.
	var times, ctrlTimes []time.Duration
	for i := range o.runs {
		b, err := newBroker(o.bin, filepath.Join(dir, fmt.Sprintf("run-%d", i)), zk.Addr+fmt.Sprintf("/startup-%d", i))
		if err != nil {
			return err
		}
		d, c, err := b.start(ctx)
		if err != nil {
			return err
		}
		// Killed, not stopped: these brokers are thrown away, and a SIGTERM this
		// early lands while the controller is still loading, which refuses the
		// controlled shutdown (NOT_CONTROLLER) and retries after 5 s.
		b.kill()
		times, ctrlTimes = append(times, d), append(ctrlTimes, c)
	}
	slices.Sort(times)
	slices.Sort(ctrlTimes)
	med := times[len(times)/2]
	fmt.Fprintf(out, "start-up to first Metadata response (ZooKeeper up, new broker): median %s over %d runs (min %s, max %s); target < %s: %s\n",
		ms(med), len(times), ms(times[0]), ms(times[len(times)-1]), ms(startupTarget), verdict(med <= startupTarget))
	fmt.Fprintf(out, "  to the first Metadata response naming it the controller: median %s\n", ms(ctrlTimes[len(ctrlTimes)/2]))

	// Memory: one broker hosting o.partitions partitions, idle.
	b, err := newBroker(o.bin, filepath.Join(dir, "idle"), zk.Addr+"/idle")
	if err != nil {
		return err
	}
	if _, _, err := b.start(ctx); err != nil {
		return err
	}
	defer func() { _ = b.stop() }()
	if err := createPartitions(ctx, b, o.partitions); err != nil {
		return err
	}
	select {
	case <-time.After(o.idle):
	case <-ctx.Done():
		return ctx.Err()
	case <-b.done:
		return fmt.Errorf("broker exited while idle:\n%s", logtail.Tail(b.logFile, 30))
	}
	rss, hwm, err := procMemory(b.cmd.Process.Pid)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "resident memory of an idle broker with %d partitions: VmRSS %.1f MiB (peak VmHWM %.1f MiB) after %s idle; target < %d MiB: %s\n",
		o.partitions, mib(rss), mib(hwm), o.idle, rssTarget>>20, verdict(rss < rssTarget))

	// The same broker restarted on its partitions after a clean shutdown.
	if err := b.stop(); err != nil {
		return err
	}
	d, _, err := b.start(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "start-up of that broker restarted on its %d partitions (clean shutdown before): %s\n", o.partitions, ms(d))
	if o.kafka39 {
		_ = b.stop() // the JVM gets the machine to itself, as ours did
		return runKafka39(ctx, o, dir, zk.Addr, ours{startup: med, rss: rss, restart: d}, out)
	}
	return nil
}

// ours holds our broker's figures for the ratio against Kafka 3.9.
type ours struct {
	startup, restart time.Duration
	rss              int64
}

// runKafka39 measures Apache Kafka 3.9 as run measures ours, on ZooKeeper zkAddr, and prints each figure
// beside ours.
func runKafka39(ctx context.Context, o options, dir, zkAddr string, our ours, out io.Writer) error {
	in, err := kafkaref.Find()
	if err != nil {
		fmt.Fprintf(out, "Kafka 3.9 skipped: %v\n", err)
		return nil
	}
	start := func(name string, addr string) (*kafkaref.Broker, time.Duration, time.Duration, error) {
		t0 := time.Now()
		b, err := kafkaref.Start(in, kafkaref.Options{Addr: addr, Connect: zkAddr + "/" + name, Dir: filepath.Join(dir, name)})
		if err != nil {
			return nil, 0, 0, err
		}
		r, c, err := untilReady(ctx, t0, addr, b.Done(), func() string { return b.LogTail(30) })
		if err != nil {
			b.Kill()
			return nil, 0, 0, fmt.Errorf("Kafka 3.9: %w", err)
		}
		return b, r, c, nil
	}
	var times, ctrlTimes []time.Duration
	for i := range o.kafkaRuns {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		b, r, c, err := start(fmt.Sprintf("kafka39-run-%d", i), addr)
		if err != nil {
			return err
		}
		b.Kill() // thrown away, as ours
		times, ctrlTimes = append(times, r), append(ctrlTimes, c)
	}
	slices.Sort(times)
	slices.Sort(ctrlTimes)
	med := times[len(times)/2]
	fmt.Fprintf(out, "Kafka 3.9 start-up to first Metadata response (ZooKeeper up, new broker, JVM %s): median %s over %d runs (min %s, max %s); ours/kafka39 %.3fx\n",
		strings.Join(kafkaref.DefaultJVMArgs[:2], " ")+" G1", ms(med), len(times), ms(times[0]), ms(times[len(times)-1]), ratio(our.startup, med))
	fmt.Fprintf(out, "  to the first Metadata response naming it the controller: median %s\n", ms(ctrlTimes[len(ctrlTimes)/2]))

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	b, _, _, err := start("kafka39-idle", addr)
	if err != nil {
		return err
	}
	defer b.Kill()
	if err := createPartitionsOn(ctx, addr, filepath.Join(b.Dir, "logs"), b.Done(), func() string { return b.LogTail(30) }, o.partitions); err != nil {
		return fmt.Errorf("Kafka 3.9: %w", err)
	}
	select {
	case <-time.After(o.idle):
	case <-ctx.Done():
		return ctx.Err()
	case <-b.Done():
		return fmt.Errorf("Kafka 3.9 exited while idle:\n%s", b.LogTail(30))
	}
	rss, hwm, err := procMemory(b.Pid())
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Kafka 3.9 resident memory, idle with %d partitions: VmRSS %.1f MiB (peak VmHWM %.1f MiB) after %s idle; ours/kafka39 %.3fx\n",
		o.partitions, mib(rss), mib(hwm), o.idle, float64(our.rss)/float64(rss))
	b.Stop(30 * time.Second)
	b, r, _, err := start("kafka39-idle", addr)
	if err != nil {
		return err
	}
	defer b.Kill()
	fmt.Fprintf(out, "Kafka 3.9 start-up restarted on its %d partitions (clean shutdown before): %s; ours/kafka39 %.3fx\n", o.partitions, ms(r), ratio(our.restart, r))
	b.Stop(30 * time.Second)
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// broker is one bin/kafka kafka-server-start.sh process.
type broker struct {
	bin, dir, cfg, logFile, addr string
	cmd                          *exec.Cmd
	done                         chan struct{}
}

func newBroker(bin, dir, connect string) (*broker, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("broker dir: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("free port: %w", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	b := &broker{bin: bin, dir: dir, cfg: filepath.Join(dir, "server.properties"), logFile: filepath.Join(dir, "broker.log"), addr: addr}
	props := strings.Join([]string{
		"broker.id=0",
		"listeners=PLAINTEXT://" + addr,
		"log.dirs=" + filepath.Join(dir, "logs"),
		"zookeeper.connect=" + connect,
		"offsets.topic.replication.factor=1",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		"",
	}, "\n")
	if err := os.WriteFile(b.cfg, []byte(props), 0o644); err != nil {
		return nil, fmt.Errorf("broker config: %w", err)
	}
	return b, nil
}

// start runs the broker and returns the time from just before the process
// starts to the first Metadata response listing broker 0, and to the first
// one naming it the controller.
func (b *broker) start(ctx context.Context) (ready, controller time.Duration, err error) {
	logf, err := os.OpenFile(b.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, 0, fmt.Errorf("broker log: %w", err)
	}
	cmd := exec.Command(b.bin, "kafka-server-start.sh", b.cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = brokerEnviron(os.Environ())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, 0, fmt.Errorf("start broker: %w", err)
	}
	b.cmd, b.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(b.done)
	ready, controller, err = untilReady(ctx, t0, b.addr, b.done, func() string { return logtail.Tail(b.logFile, 30) })
	if err != nil && !errors.Is(err, errExited) {
		_ = b.stop()
	}
	return ready, controller, err
}

var errExited = errors.New("broker exited during start-up")

// untilReady polls addr with Metadata v1 until a response lists broker 0 and then one names it the
// controller (bounded to 90 s), and returns both times since t0.
func untilReady(ctx context.Context, t0 time.Time, addr string, done <-chan struct{}, logTail func() string) (ready, controller time.Duration, err error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		if resp := metadata(addr); resp != nil {
			for _, br := range resp.Brokers {
				if br.NodeID == 0 && ready == 0 {
					ready = time.Since(t0)
				}
			}
			if ready > 0 && resp.ControllerID == 0 {
				return ready, time.Since(t0), nil
			}
		}
		select {
		case <-done:
			return 0, 0, fmt.Errorf("%w:\n%s", errExited, logTail())
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("broker not ready within 90s:\n%s", logTail())
		}
		time.Sleep(time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the exit (SIGKILL after 30 s).
func (b *broker) stop() error {
	if b.cmd == nil {
		return nil
	}
	select {
	case <-b.done:
		return nil
	default:
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
		return nil
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
		return errors.New("broker did not stop within 30s of SIGTERM")
	}
}

// kill ends the broker with SIGKILL and waits for it.
func (b *broker) kill() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.done
}

// metadata sends one Metadata v1 request on a new connection (no client
// library in between, so no client-side backoff is measured) and returns the
// response, nil on any failure.
func metadata(addr string) *kmsg.MetadataResponse {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 1
	const clientID = "startup-bench"
	frame := []byte{0, 0, 0, 0}
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Key()))
	frame = binary.BigEndian.AppendUint16(frame, uint16(req.Version))
	frame = binary.BigEndian.AppendUint32(frame, 1) // correlation id
	frame = binary.BigEndian.AppendUint16(frame, uint16(len(clientID)))
	frame = append(frame, clientID...)
	frame = req.AppendTo(frame)
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-4))
	if _, err := conn.Write(frame); err != nil {
		return nil
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return nil
	}
	n := binary.BigEndian.Uint32(size[:])
	if n < 4 || n > 1<<20 {
		return nil
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.Version = 1
	if err := resp.ReadFrom(body[4:]); err != nil { // after the correlation id
		return nil
	}
	return resp
}

// createPartitions creates one topic of n partitions and waits until every
// partition has a leader and its log directory exists; the client is closed
// before returning, so the broker is left idle.
func createPartitions(ctx context.Context, b *broker, n int) error {
	return createPartitionsOn(ctx, b.addr, filepath.Join(b.dir, "logs"), b.done, func() string { return logtail.Tail(b.logFile, 30) }, n)
}

// createPartitionsOn is createPartitions for the broker at addr with log dir logs, whose process ends done.
func createPartitionsOn(ctx context.Context, addr, logs string, done <-chan struct{}, logTail func() string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	const topic = "idle"
	if _, err := adm.CreateTopic(ctx, int32(n), 1, nil, topic); err != nil {
		return fmt.Errorf("create topic %s with %d partitions: %w", topic, n, err)
	}
	for {
		td, err := adm.ListTopics(ctx, topic)
		if err == nil && td[topic].Err == nil && len(td[topic].Partitions) == n {
			led := 0
			for _, p := range td[topic].Partitions {
				if p.Leader == 0 {
					led++
				}
			}
			dirs, _ := filepath.Glob(filepath.Join(logs, topic+"-*"))
			if led == n && len(dirs) == n {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %d led partitions: %w", n, ctx.Err())
		case <-done:
			return fmt.Errorf("broker exited:\n%s", logTail())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// procMemory reads VmRSS and VmHWM (bytes) from /proc/<pid>/status.
func procMemory(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading process status: %w", err)
	}
	defer f.Close()
	return parseStatus(f)
}

func parseStatus(r io.Reader) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("parsing %s %q: %w", name, val, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading process status: %w", err)
	}
	if rss == 0 {
		return 0, 0, errors.New("no VmRSS in process status")
	}
	return rss, hwm, nil
}

// brokerEnviron drops KAFKA_BIN (not a broker setting) from the broker's environment.
func brokerEnviron(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "KAFKA_BIN=") })
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d.Microseconds())/1000) }
func mib(b int64) float64       { return float64(b) / (1 << 20) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
