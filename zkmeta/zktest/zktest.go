// Package zktest runs a real, standalone ZooKeeper server (the OS package's jars) for tests.
package zktest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default locations of the Debian/Ubuntu `zookeeper` package.
const (
	debianJar   = "/usr/share/java/zookeeper.jar"
	slf4jSimple = "/usr/share/java/slf4j-simple.jar"
	mainClass   = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
	startWait   = 30 * time.Second
	startTries  = 3
)

// ErrNotInstalled is returned when no ZooKeeper installation can be found.
var ErrNotInstalled = errors.New("zookeeper is not installed (run `make deps`, or set ZOOKEEPER_HOME to an unpacked Apache ZooKeeper release)")

// Server is a running standalone ZooKeeper process.
type Server struct {
	Addr string // "127.0.0.1:PORT"
	Port int
	Dir  string // dataDir, zoo.cfg and zookeeper.log live here

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has been reaped
	waitErr  error
	stopOnce sync.Once
	removeOn bool // remove Dir on Stop
}

// Start runs a standalone ZooKeeper on a free 127.0.0.1 port with its data in a temp dir, waits until it
// serves, and registers cleanup. It fails the test (never skips) when ZooKeeper is missing.
func Start(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir() // removed by testing after Stop (cleanups run last-in first-out)
	s, err := StartProcess(dir, 0, nil)
	if err != nil {
		tb.Fatalf("zktest: %v", err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// StartProcess starts ZooKeeper with its data under dir on 127.0.0.1:port (0 picks a free port) and waits
// (bounded) until it serves. Its stdout/stderr go to logw (nil discards). Call Stop to end it.
func StartProcess(dir string, port int, logw io.Writer) (*Server, error) {
	java, classpath, err := locate()
	if err != nil {
		return nil, err
	}
	if logw == nil {
		logw = io.Discard
	}
	var lastErr error
	tries := startTries
	if port != 0 {
		tries = 1 // a fixed port will not get better by retrying
	}
	for i := 0; i < tries; i++ {
		p := port
		if p == 0 {
			if p, err = freePort(); err != nil {
				return nil, err
			}
		}
		s, err := launch(java, classpath, dir, p, logw)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// Chroot returns a connect string for a fresh, unique chroot on this server, so tests can share it.
func (s *Server) Chroot(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatalf("zktest: random: %v", err)
	}
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '_'
		}
		return r
	}, tb.Name())
	return s.Addr + "/" + name + "-" + hex.EncodeToString(b[:])
}

// Stop kills the server's process group, waits for it and removes its files if Start created them.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			killGroup(s.cmd.Process.Pid)
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
			}
		}
		if s.removeOn {
			_ = os.RemoveAll(s.Dir)
		}
	})
}

// Exited reports whether the process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// LogTail returns the last n lines of the server's log file, for failure messages.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "zookeeper.log"))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// locate finds java and the server classpath: $ZOOKEEPER_HOME/lib/* (an Apache release) or the Debian
// package's jar, whose manifest Class-Path brings its dependencies.
func locate() (java, classpath string, err error) {
	java = "/usr/bin/java"
	if jh := os.Getenv("JAVA_HOME"); jh != "" {
		java = filepath.Join(jh, "bin", "java")
	}
	if _, err := os.Stat(java); err != nil {
		if java, err = exec.LookPath("java"); err != nil {
			return "", "", fmt.Errorf("java not found: %w", ErrNotInstalled)
		}
	}
	if home := os.Getenv("ZOOKEEPER_HOME"); home != "" {
		jars, _ := filepath.Glob(filepath.Join(home, "lib", "*.jar"))
		main, _ := filepath.Glob(filepath.Join(home, "zookeeper-*.jar"))
		jars = append(jars, main...)
		if len(jars) == 0 {
			return "", "", fmt.Errorf("no jars under ZOOKEEPER_HOME=%s: %w", home, ErrNotInstalled)
		}
		return java, strings.Join(jars, string(os.PathListSeparator)), nil
	}
	if _, err := os.Stat(debianJar); err != nil {
		return "", "", fmt.Errorf("%s missing: %w", debianJar, ErrNotInstalled)
	}
	classpath = debianJar
	// slf4j-simple lets us send the server's log to a file; without a binding slf4j stays silent.
	if _, err := os.Stat(slf4jSimple); err == nil {
		classpath += string(os.PathListSeparator) + slf4jSimple
	}
	return java, classpath, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func writeConfig(dir string, port int) (string, error) {
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	cfg := strings.Join([]string{
		"tickTime=500",
		"initLimit=10",
		"syncLimit=5",
		"dataDir=" + data,
		"clientPort=" + strconv.Itoa(port),
		"clientPortAddress=127.0.0.1",
		"maxClientCnxns=0",
		"minSessionTimeout=1000",
		"maxSessionTimeout=60000",
		"4lw.commands.whitelist=*",
		"admin.enableServer=false",
		"forceSync=no",
		"preAllocSize=1024",
		"standaloneEnabled=true",
		"",
	}, "\n")
	path := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return "", fmt.Errorf("write zoo.cfg: %w", err)
	}
	return path, nil
}

func launch(java, classpath, dir string, port int, logw io.Writer) (*Server, error) {
	cfg, err := writeConfig(dir, port)
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(dir, "zookeeper.log")
	args := []string{
		"-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
		"-Djava.awt.headless=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.4lw.commands.whitelist=*",
		"-Dzookeeper.log.dir=" + dir,
		"-Dorg.slf4j.simpleLogger.logFile=" + logFile,
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-cp", classpath, mainClass, cfg,
	}
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	cmd.Stdout = logw
	cmd.Stderr = logw
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", java, err)
	}
	s := &Server{
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port:   port,
		Dir:    dir,
		cmd:    cmd,
		exited: make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitServing(startWait); err != nil {
		s.Stop()
		return nil, fmt.Errorf("zookeeper on %s did not start: %w\n%s", s.Addr, err, s.LogTail(20))
	}
	return s, nil
}

// waitServing polls `ruok` and `srvr` until the server answers imok and reports a mode.
func (s *Server) waitServing(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("process exited: %v", s.waitErr)
		default:
		}
		ok, err := FourLetter(s.Addr, "ruok", time.Second)
		if err == nil && ok == "imok" {
			srvr, err := FourLetter(s.Addr, "srvr", time.Second)
			if err == nil && strings.Contains(srvr, "Mode:") {
				return nil
			}
			last = fmt.Errorf("srvr: %q %v", srvr, err)
		} else {
			last = fmt.Errorf("ruok: %q %v", ok, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("timed out after %v: %w", limit, last)
}

// FourLetter sends a ZooKeeper four-letter command and returns the reply.
func FourLetter(addr, cmd string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", fmt.Errorf("send %s: %w", cmd, err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, bufio.NewReader(c)); err != nil {
		return buf.String(), fmt.Errorf("read %s reply: %w", cmd, err)
	}
	return strings.TrimSpace(buf.String()), nil
}
