package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/bench/internal/logtail"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// replicatedProc is ZooKeeper plus n bin/kafka processes forming one cluster.
type replicatedProc struct {
	zk    *zktest.Server
	cmds  []*exec.Cmd
	dones []chan struct{}
	logs  []string
}

// startOursReplicated starts its own ZooKeeper and n brokers (ids 0..n-1) on loopback under dir, waits
// until every broker lists all n, and returns a target whose topics have replication factor n
// (min.insync.replicas=2, so acks=all waits for the full ISR while all are in sync).
func startOursReplicated(ctx context.Context, bin, dir string, env []string, n int) (*target, error) {
	zkDir := filepath.Join(dir, "zk-rf")
	if err := os.MkdirAll(zkDir, 0o755); err != nil {
		return nil, fmt.Errorf("zk dir: %w", err)
	}
	zkLog, err := os.Create(filepath.Join(dir, "zk-rf.out"))
	if err != nil {
		return nil, fmt.Errorf("zk log: %w", err)
	}
	defer zkLog.Close()
	zk, err := zktest.StartProcess(zkDir, 0, zkLog)
	if err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	p := &replicatedProc{zk: zk}
	addrs := make([]string, n)
	for id := range n {
		if addrs[id], err = freeAddr(); err != nil {
			p.stop()
			return nil, err
		}
	}
	for id := range n {
		if err := p.launch(bin, dir, env, id, addrs[id], zk.Addr+"/bench-rf", n); err != nil {
			p.stop()
			return nil, err
		}
	}
	t := &target{
		name: fmt.Sprintf("ours-rf%d", n), bootstrap: addrs[0], rf: int16(n), stop: p.stop,
		logTail: func() string {
			var b strings.Builder
			for i, l := range p.logs {
				fmt.Fprintf(&b, "broker %d:\n%s\n", i, logtail.Tail(l, 15))
			}
			return b.String()
		},
		serverCPU: func() (time.Duration, error) {
			var sum time.Duration
			for _, c := range p.cmds {
				d, err := procCPU(c.Process.Pid)
				if err != nil {
					return 0, err
				}
				sum += d
			}
			return sum, nil
		},
	}
	if err := p.waitReady(ctx, addrs, n); err != nil {
		msg := t.logTail()
		p.stop()
		return nil, fmt.Errorf("replicated brokers not ready: %w\n%s", err, msg)
	}
	return t, nil
}

func (p *replicatedProc) launch(bin, dir string, env []string, id int, addr, zkConnect string, n int) error {
	cfg := filepath.Join(dir, fmt.Sprintf("server-rf-%d.properties", id))
	props := strings.Join([]string{
		"broker.id=" + strconv.Itoa(id),
		"listeners=PLAINTEXT://" + addr,
		"log.dirs=" + filepath.Join(dir, "logs", fmt.Sprintf("rf-%d", id)),
		"zookeeper.connect=" + zkConnect,
		"zookeeper.session.timeout.ms=6000",
		"offsets.topic.replication.factor=" + strconv.Itoa(n),
		"transaction.state.log.replication.factor=" + strconv.Itoa(n),
		"transaction.state.log.min.isr=1",
		"min.insync.replicas=2",
		"group.initial.rebalance.delay.ms=0",
		"",
	}, "\n")
	if err := os.WriteFile(cfg, []byte(props), 0o644); err != nil {
		return fmt.Errorf("write broker config: %w", err)
	}
	logFile := filepath.Join(dir, fmt.Sprintf("broker-rf-%d.log", id))
	logf, err := os.Create(logFile)
	if err != nil {
		return fmt.Errorf("broker log: %w", err)
	}
	cmd := exec.Command(bin, "kafka-server-start.sh", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(brokerEnviron(os.Environ()), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	slog.Info("starting replicated broker", "id", id, "addr", addr)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start broker %d: %w", id, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmds, p.dones, p.logs = append(p.cmds, cmd), append(p.dones, done), append(p.logs, logFile)
	return nil
}

func (p *replicatedProc) waitReady(ctx context.Context, addrs []string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for i, addr := range addrs {
		for !brokerListsN(ctx, addr, n) {
			select {
			case <-p.dones[i]:
				return fmt.Errorf("broker %d exited", i)
			case <-ctx.Done():
				return fmt.Errorf("waiting for broker %d: %w", i, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// brokerListsN reports whether addr answers Metadata listing n brokers.
func brokerListsN(ctx context.Context, addr string, n int) bool {
	cl, err := kgo.NewClient(clientOpts(addr)...)
	if err != nil {
		return false
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	return err == nil && len(resp.Brokers) == n
}

// stop sends SIGTERM to every broker, escalating to SIGKILL after 15 s, then stops ZooKeeper.
func (p *replicatedProc) stop() {
	for _, c := range p.cmds {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(15 * time.Second)
	for i, done := range p.dones {
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
			slog.Warn("replicated broker did not stop within 15s of SIGTERM; killing", "id", i)
			_ = syscall.Kill(-p.cmds[i].Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if p.zk != nil {
		p.zk.Stop()
	}
}
