package clients_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/clients/driver"
)

// client is one row of the matrix: how to start its driver.
type client struct {
	name string
	argv []string // the driver command; the operation and flags follow
	// missing says why the driver cannot run here ("" when it can).
	missing string
}

const python = "/usr/bin/python3"

// clients returns the matrix rows in display order. godriver is the built
// Go driver binary.
func clients(godriver string) []client {
	here, _ := os.Getwd()
	py := filepath.Join(here, "..", "python")
	js := filepath.Join(here, "..", "kafkajs")
	cs := []client{
		{name: "kcat", argv: []string{godriver, "kcat"}},
		{name: "kafka-python", argv: []string{python, filepath.Join(py, "matrix_kafka_python.py")}},
		{name: "confluent-kafka-python", argv: []string{python, filepath.Join(py, "matrix_confluent.py")}},
		{name: "franz-go", argv: []string{godriver, "franz-go"}},
		{name: "sarama", argv: []string{godriver, "sarama"}},
		{name: "kafka-go", argv: []string{godriver, "kafka-go"}},
		{name: "confluent-kafka-go", argv: []string{godriver, "confluent-kafka-go"}},
		{name: "kafkajs", argv: []string{"node", filepath.Join(js, "driver.js")}},
	}
	for _, v := range javaClients {
		cs = append(cs, client{name: v.row, argv: javaArgv(v.version, "io.github.kafkazk.compat.Driver")})
	}
	for i := range cs {
		switch cs[i].name {
		case "kcat":
			if _, err := exec.LookPath("kcat"); err != nil {
				cs[i].missing = "kcat is not installed (scripts/deps.sh all)"
			}
		case "kafka-python":
			cs[i].missing = pythonModule("kafka")
		case "confluent-kafka-python":
			cs[i].missing = pythonModule("confluent_kafka")
		case "kafkajs":
			if _, err := exec.LookPath("node"); err != nil {
				cs[i].missing = "node is not installed"
			} else if _, err := os.Stat(filepath.Join(js, "node_modules", "kafkajs")); err != nil {
				cs[i].missing = "compat-tests/kafkajs/node_modules is missing (npm ci)"
			}
		default:
			for _, v := range javaClients {
				if cs[i].name == v.row {
					cs[i].missing = javaMissing(v.version)
				}
			}
		}
	}
	return cs
}

// javaClients are the Java client's rows: kafka-clients of the last
// ZooKeeper-era line and the newest, each with the driver built against it.
var javaClients = []struct{ row, version string }{
	{"java-3.9", "3.9.2"},
	{"java-4.4", "4.4.0"},
}

// javaDir is where scripts/deps.sh builds the Java driver (compat-tests/java/driver)
// against kafka-clients version: driver.jar and lib/.
func javaDir(version string) string {
	here, _ := os.Getwd()
	return filepath.Join(here, "..", "..", "var", "java-driver-"+version)
}

// javaArgv starts class of the Java driver built against kafka-clients
// version: a small client JVM tuned for start-up, the clients' logs at WARN
// on stderr.
func javaArgv(version, class string) []string {
	dir := javaDir(version)
	return []string{"java", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx256m",
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", filepath.Join(dir, "driver.jar") + string(os.PathListSeparator) + filepath.Join(dir, "lib", "*"),
		class}
}

// javaMissing says why the Java driver of that kafka-clients version cannot run.
func javaMissing(version string) string {
	if _, err := exec.LookPath("java"); err != nil {
		return "java is not installed (make deps: scripts/deps.sh all)"
	}
	if _, err := os.Stat(filepath.Join(javaDir(version), ".complete")); err != nil {
		return fmt.Sprintf("the Java driver for kafka-clients %s is not built in var/java-driver-%s (make deps: scripts/deps.sh all)", version, version)
	}
	return ""
}

// driverEnv is the drivers' environment: python leaves no __pycache__ in
// the source tree.
func driverEnv() []string { return append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1") }

func pythonModule(mod string) string {
	if err := exec.Command(python, "-c", "import "+mod).Run(); err != nil {
		return fmt.Sprintf("%s cannot import %s (scripts/deps.sh all)", python, mod)
	}
	return ""
}

// buildGoDriver builds cmd/godriver once into dir.
func buildGoDriver(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "godriver")
	start := time.Now()
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/godriver").CombinedOutput()
	if err != nil {
		t.Fatalf("building godriver: %v\n%s", err, out)
	}
	t.Logf("built godriver (franz-go, sarama, kafka-go, confluent-kafka-go, kcat) in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// run is one finished driver invocation.
type run struct {
	code   int
	stdout string
	stderr string
	objs   []map[string]json.RawMessage
	last   string // the last non-JSON stdout line: ok, skip: ..., FAIL: ...
}

// skipReason is the driver's reason when it exited with the skip code.
func (r run) skipReason() (string, bool) {
	if r.code != driver.ExitSkip {
		return "", false
	}
	return strings.TrimSpace(strings.TrimPrefix(r.last, "skip:")), true
}

// err describes a failed invocation ("" when it passed).
func (r run) failure() string {
	if r.code == 0 {
		return ""
	}
	msg := r.last
	if msg == "" {
		msg = fmt.Sprintf("exit %d", r.code)
	}
	return msg + "\n--- stderr tail:\n" + tailLines(r.stderr, 15)
}

// recs returns the Rec lines of the output.
func (r run) recs() []driver.Rec {
	var out []driver.Rec
	for _, o := range r.objs {
		if _, ok := o["v"]; !ok {
			continue
		}
		b, _ := json.Marshal(o)
		var rec driver.Rec
		if err := json.Unmarshal(b, &rec); err == nil {
			out = append(out, rec)
		}
	}
	return out
}

// with returns the output objects that have the key.
func (r run) with(key string) []map[string]json.RawMessage {
	var out []map[string]json.RawMessage
	for _, o := range r.objs {
		if _, ok := o[key]; ok {
			out = append(out, o)
		}
	}
	return out
}

func parseOutput(stdout string) ([]map[string]json.RawMessage, string) {
	var objs []map[string]json.RawMessage
	last := ""
	for _, line := range strings.Split(stdout, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "{") {
			var o map[string]json.RawMessage
			if json.Unmarshal([]byte(line), &o) == nil {
				objs = append(objs, o)
				continue
			}
		}
		last = line
	}
	return objs, last
}

// invoke runs one operation of a client's driver and waits for it.
func invoke(ctx context.Context, c client, bootstrap, op string, timeout time.Duration, args ...string) run {
	ctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	argv := append(append(append([]string{}, c.argv...), op, "--bootstrap", bootstrap, "--timeout", fmt.Sprint(timeout.Seconds())), args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = driverEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	r := run{stdout: stdout.String(), stderr: stderr.String()}
	r.objs, r.last = parseOutput(r.stdout)
	if err != nil {
		r.code = -1
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			r.code = ee.ExitCode()
		}
		if ctx.Err() != nil {
			r.last = fmt.Sprintf("killed after %v: %s", timeout+30*time.Second, r.last)
		}
	}
	return r
}

// live is a driver started in the background whose stdout is followed
// (the failover run).
type live struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	done   chan struct{}
	mu     sync.Mutex
	stdout strings.Builder
	stderr bytes.Buffer
	acked  int
	recs   int // Rec lines (objects with "v")
	code   int
}

func start(c client, bootstrap, op string, timeout time.Duration, args ...string) (*live, error) {
	argv := append(append(append([]string{}, c.argv...), op, "--bootstrap", bootstrap, "--timeout", fmt.Sprint(timeout.Seconds())), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = driverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	l := &live{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = &lockedWriter{mu: &l.mu, w: &l.stderr}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	l.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			l.mu.Lock()
			l.stdout.WriteString(line + "\n")
			var p struct {
				Acked *int `json:"acked"`
			}
			var obj map[string]json.RawMessage
			if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &obj) == nil {
				if _, ok := obj["v"]; ok {
					l.recs++
				}
				if json.Unmarshal([]byte(line), &p) == nil && p.Acked != nil {
					l.acked = *p.Acked
				}
			}
			l.mu.Unlock()
		}
		err := cmd.Wait()
		l.mu.Lock()
		if err != nil {
			l.code = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() >= 0 {
				l.code = ee.ExitCode()
			}
		}
		l.mu.Unlock()
	}()
	return l, nil
}

func (l *live) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acked
}

func (l *live) recCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recs
}

func (l *live) exited() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

func (l *live) stop(wait time.Duration) run {
	_, _ = io.WriteString(l.stdin, "stop\n")
	_ = l.stdin.Close()
	select {
	case <-l.done:
	case <-time.After(wait):
		_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
		<-l.done
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r := run{code: l.code, stdout: l.stdout.String(), stderr: l.stderr.String()}
	r.objs, r.last = parseOutput(r.stdout)
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 300 {
			lines[i] = l[:300] + "..."
		}
	}
	return strings.Join(lines, "\n")
}
