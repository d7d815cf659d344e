package cluster

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RawBroker is one of our broker processes started with exactly the
// settings a test gives (listeners included: no proxy in front), for tests
// of the listener configuration itself.
type RawBroker struct {
	ID      int32
	LogFile string
	cmd     *exec.Cmd
	done    chan struct{}
}

// StartRawBroker runs bin/kafka kafka-server-start with a server.properties
// made of settings alone and kills it (SIGKILL: these tests do not look at
// shutdown) when the test ends. It does not wait for the broker to serve.
func StartRawBroker(tb testing.TB, id int32, settings map[string]string) *RawBroker {
	tb.Helper()
	dir := tb.TempDir()
	var props strings.Builder
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		fmt.Fprintf(&props, "%s=%s\n", k, settings[k])
	}
	cfg := filepath.Join(dir, "server.properties")
	if err := os.WriteFile(cfg, []byte(props.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	b := &RawBroker{ID: id, LogFile: filepath.Join(dir, "broker.log"), done: make(chan struct{})}
	logf, err := os.Create(b.LogFile)
	if err != nil {
		tb.Fatal(err)
	}
	b.cmd = exec.Command(Binary(tb), "kafka-server-start", cfg)
	b.cmd.Stdout, b.cmd.Stderr = logf, logf
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		logf.Close()
		tb.Fatalf("starting broker %d: %v", id, err)
	}
	go func() {
		_ = b.cmd.Wait()
		logf.Close()
		close(b.done)
	}()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("broker %d log tail:\n%s", id, tail(b.LogFile, 30))
		}
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			tb.Errorf("broker %d did not exit after SIGKILL", id)
		}
	})
	return b
}

// Exited reports whether the process has ended.
func (b *RawBroker) Exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// LogTail is the last n lines of the broker's log.
func (b *RawBroker) LogTail(n int) string { return tail(b.LogFile, n) }
