package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/bench/internal/logtail"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// target is one Kafka-compatible endpoint under test.
type target struct {
	name      string
	bootstrap string
	rf        int16  // replication factor of the bench topics (0: 1)
	zkAddr    string // the ZooKeeper it runs on (host:port, no chroot; ours only)
	stop      func()
	// logTail returns recent server log lines for error messages (may be nil).
	logTail func() string
	// serverCPU returns the CPU time used so far by the server when it is a separate process (nil for kfake,
	// whose CPU is part of this process's).
	serverCPU func() (time.Duration, error)
	// auth maps a listener kind ("SASL_PLAINTEXT", "SASL_SSL") to its address, for the authentication
	// handshake table (security.go); nil when the target has none.
	auth map[string]string
}

// startKfake runs franz-go's in-process fake cluster with one broker on a free loopback port.
func startKfake() (*target, error) {
	// With no Ports option kfake listens on 127.0.0.1:0.
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		return nil, fmt.Errorf("start kfake: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("kfake: want 1 listen address, got %v", addrs)
	}
	return &target{name: "kfake", bootstrap: addrs[0], stop: c.Close}, nil
}

// brokerProc is ZooKeeper plus one bin/kafka process.
type brokerProc struct {
	zk      *zktest.Server
	cmd     *exec.Cmd
	done    chan struct{}
	logFile string
	profile string // CPU profile file the broker writes on SIGUSR1 ("" when not profiling)
}

// startOurs starts ZooKeeper and one broker (bin) under dir, and waits until the broker serves Metadata.
// A non-empty profile needs a bin built by buildProfiled; the profile is written when the target stops.
func startOurs(ctx context.Context, bin, dir string, env []string, profile string) (*target, error) {
	return startOursWith(ctx, bin, dir, env, profile, "ours", nil, nil)
}

// listenerPlan is a target's listeners: the server.properties lines that name them (listeners=...), the
// load's bootstrap string and the address readiness is polled on, from the port picked for the first.
type listenerPlan func(addr string) (lines []string, bootstrap, ready string, err error)

// startOursWith is startOurs for a target named name whose broker gets the
// extra server.properties lines (tls.go: an SSL listener). Its bootstrap is
// "tls://host:port" when the lines map the listener to SSL. A non-nil plan
// replaces the one PLAINTEXT listener (security.go).
func startOursWith(ctx context.Context, bin, dir string, env []string, profile, name string, extra []string, plan listenerPlan) (*target, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("broker binary: %w", err)
	}
	zkDir := filepath.Join(dir, "zk")
	if err := os.MkdirAll(zkDir, 0o755); err != nil {
		return nil, fmt.Errorf("zk dir: %w", err)
	}
	zkLog, err := os.Create(filepath.Join(dir, "zk.out"))
	if err != nil {
		return nil, fmt.Errorf("zk log: %w", err)
	}
	defer zkLog.Close() // the child keeps its own descriptor
	slog.Info("starting zookeeper", "dir", zkDir)
	zk, err := zktest.StartProcess(zkDir, 0, zkLog)
	if err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	p := &brokerProc{zk: zk, logFile: filepath.Join(dir, "broker.log"), profile: profile}
	if profile != "" {
		env = append(env, profileEnv+"="+profile)
	}
	addr, err := freeAddr()
	if err != nil {
		zk.Stop()
		return nil, err
	}
	bootstrap, ready := addr, addr
	if len(extra) > 0 {
		bootstrap, ready = tlsScheme+addr, tlsScheme+addr
	}
	lis := []string{"listeners=PLAINTEXT://" + addr}
	if plan != nil {
		if lis, bootstrap, ready, err = plan(addr); err != nil {
			zk.Stop()
			return nil, err
		}
	}
	cfg := filepath.Join(dir, "server.properties")
	props := strings.Join([]string{
		"broker.id=0",
		strings.Join(lis, "\n"),
		"log.dirs=" + filepath.Join(dir, "logs"),
		"zookeeper.connect=" + zk.Addr + "/bench",
		"zookeeper.session.timeout.ms=6000",
		"offsets.topic.replication.factor=1",
		"transaction.state.log.replication.factor=1",
		"transaction.state.log.min.isr=1",
		"group.initial.rebalance.delay.ms=0",
		strings.Join(extra, "\n"),
		"",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(props), 0o644); err != nil {
		zk.Stop()
		return nil, fmt.Errorf("write broker config: %w", err)
	}
	logf, err := os.Create(p.logFile)
	if err != nil {
		zk.Stop()
		return nil, fmt.Errorf("broker log: %w", err)
	}
	p.cmd = exec.Command(bin, "kafka-server-start.sh", cfg)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(brokerEnviron(os.Environ()), env...)
	// Own process group, and killed if this program dies.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	slog.Info("starting broker", "bin", bin, "addr", addr)
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		zk.Stop()
		return nil, fmt.Errorf("start broker: %w", err)
	}
	p.done = make(chan struct{})
	go func() {
		_ = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t := &target{name: name, bootstrap: bootstrap, zkAddr: zk.Addr, stop: p.stop, logTail: func() string { return logtail.Tail(p.logFile, 30) },
		serverCPU: func() (time.Duration, error) { return procCPU(p.cmd.Process.Pid) }}
	if err := p.waitReady(ctx, ready); err != nil {
		p.stop()
		return nil, fmt.Errorf("broker not ready: %w\n%s", err, logtail.Tail(p.logFile, 30))
	}
	return t, nil
}

func (p *brokerProc) waitReady(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if brokerListed(ctx, addr) {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("broker exited")
		case <-ctx.Done():
			return fmt.Errorf("waiting for metadata: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// brokerListed reports whether addr answers Metadata listing at least one broker.
func brokerListed(ctx context.Context, addr string) bool {
	cl, err := kgo.NewClient(clientOpts(addr)...)
	if err != nil {
		return false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err == nil && len(resp.Brokers) > 0
}

// stop sends SIGTERM (controlled shutdown), escalates to SIGKILL after 15 s, then stops ZooKeeper.
func (p *brokerProc) stop() {
	if p.cmd != nil && p.cmd.Process != nil {
		select {
		case <-p.done:
		default:
			if p.profile != "" {
				// The profiling overlay stops the profile on SIGUSR1 and then writes FILE.done.
				_ = p.cmd.Process.Signal(syscall.SIGUSR1)
				if !waitFile(p.profile+".done", 10*time.Second) {
					slog.Warn("broker CPU profile not finished", "file", p.profile)
				}
				_ = os.Remove(p.profile + ".done")
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				slog.Warn("broker did not stop within 15s of SIGTERM; killing")
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
	}
	p.zk.Stop()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return "127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

// brokerEnviron drops KAFKA_BIN, which the broker would otherwise read as the config key "bin"
// (KAFKA_FOO_BAR=x overrides foo.bar) and warn about.
func brokerEnviron(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, "KAFKA_BIN=") {
			out = append(out, kv)
		}
	}
	return out
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times; 100 on every mainstream Linux build.
const clockTicks = 100

// procCPU returns user+system CPU time of process pid (all threads) from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat: %w", err)
	}
	// The command name (field 2) may hold spaces; fields resume after its closing parenthesis.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14: utime
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15: stime
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat times")
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// selfCPU returns user+system CPU time of this process (client, and kfake when it runs here).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpu returns CPU used so far by this process plus the server process, if separate.
func (t *target) cpu() time.Duration {
	c := selfCPU()
	if t.serverCPU != nil {
		if s, err := t.serverCPU(); err == nil {
			c += s
		}
	}
	return c
}

// srvCPU returns the separate server process's CPU so far, or 0 when there is none (kfake).
func (t *target) srvCPU() time.Duration {
	if t.serverCPU == nil {
		return 0
	}
	s, err := t.serverCPU()
	if err != nil {
		return 0
	}
	return s
}
