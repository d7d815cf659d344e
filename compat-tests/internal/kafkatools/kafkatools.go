// Package kafkatools runs Apache Kafka 3.9's own command-line tools for the
// compat tests: one JVM (compat-tests/java/toolrunner/ToolRunner.java) runs
// each tool's main class on demand, so a test pays one JVM start-up for all
// of its tool calls.
package kafkatools

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// The main classes of the tools (bin/kafka-*.sh of Kafka 3.9).
const (
	Topics       = "org.apache.kafka.tools.TopicCommand"
	Configs      = "kafka.admin.ConfigCommand"
	Groups       = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
	Reassign     = "org.apache.kafka.tools.reassign.ReassignPartitionsCommand"
	Election     = "org.apache.kafka.tools.LeaderElectionCommand"
	Delete       = "org.apache.kafka.tools.DeleteRecordsCommand"
	Producer     = "kafka.tools.ConsoleProducer"
	Consumer     = "org.apache.kafka.tools.consumer.ConsoleConsumer"
	ProdPerf     = "org.apache.kafka.tools.ProducerPerformance"
	ConsPerf     = "org.apache.kafka.tools.ConsumerPerformance"
	Offsets      = "org.apache.kafka.tools.GetOffsetShell"
	Versions     = "kafka.admin.BrokerApiVersionsCommand"
	DumpLog      = "kafka.tools.DumpLogSegments"
	Acls         = "kafka.admin.AclCommand"
	Transactions = "org.apache.kafka.tools.TransactionsCommand"
)

// KnownDiff is a difference between Kafka 3.9's output and ours that is
// written down rather than fixed: Fix turns Kafka's output into ours. The
// tests assert that each still occurs (Fix changes Kafka's output), so an
// entry cannot outlive the difference.
type KnownDiff struct {
	What string // the comparison it applies to
	Note string // Kafka's answer beside ours
	Fix  func(kafka string) string
}

// Runner is one JVM running Kafka 3.9's tools on demand.
type Runner struct {
	t    testing.TB
	dir  string
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan string // "DONE id code" lines
	n    int
}

// Lib is Kafka 3.9's lib directory (cluster.Kafka39Lib) with its tools jar.
func Lib(t testing.TB) string {
	t.Helper()
	lib := cluster.Kafka39Lib(t)
	if _, err := os.Stat(filepath.Join(lib, "kafka-tools-3.9.2.jar")); err != nil {
		t.Fatalf("Apache Kafka 3.9's tools are not installed in %s (run `make deps`): %v", lib, err)
	}
	return lib
}

// Start starts the tool JVM; it exits when the test ends.
func Start(t testing.TB) *Runner {
	t.Helper()
	lib := Lib(t)
	java := cluster.Java(t)
	dir := t.TempDir()
	log4j := filepath.Join(dir, "log4j.properties")
	if err := os.WriteFile(log4j, []byte("log4j.rootLogger=ERROR, stderr\n"+
		"log4j.appender.stderr=org.apache.log4j.ConsoleAppender\n"+
		"log4j.appender.stderr.Target=System.err\n"+
		"log4j.appender.stderr.layout=org.apache.log4j.PatternLayout\n"+
		"log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(cluster.RepoRoot(t), "compat-tests", "java", "toolrunner", "ToolRunner.java")
	k := &Runner{t: t, dir: dir, done: make(chan string, 1)}
	k.cmd = exec.Command(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dlog4j.configuration=file:"+log4j, "-cp", lib+"/*", src, dir)
	k.cmd.Stderr = os.Stderr
	var err error
	if k.in, err = k.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := k.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := k.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			k.done <- sc.Text()
		}
		close(k.done)
	}()
	go func() { _ = k.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = k.in.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = k.cmd.Process.Kill()
			<-exited
		}
	})
	return k
}

// Run runs one of Kafka's tools (its main class) with args, stdin as its
// standard input, and returns what it printed and its exit status.
func (k *Runner) Run(stdin string, class string, args ...string) (string, string, int) {
	k.t.Helper()
	k.n++
	id := strconv.Itoa(k.n)
	in := "-"
	if stdin != "" {
		in = filepath.Join(k.dir, id+".in")
		if err := os.WriteFile(in, []byte(stdin), 0o644); err != nil {
			k.t.Fatal(err)
		}
	}
	for _, a := range args {
		if strings.ContainsAny(a, "\t\n") {
			k.t.Fatalf("argument %q has a tab or newline", a)
		}
	}
	if _, err := fmt.Fprintln(k.in, strings.Join(append([]string{id, in, class}, args...), "\t")); err != nil {
		k.t.Fatalf("tool runner: %v", err)
	}
	var line string
	select {
	case l, ok := <-k.done:
		if !ok {
			k.t.Fatalf("tool runner JVM exited during %s %v", class, args)
		}
		line = l
	case <-time.After(120 * time.Second):
		k.t.Fatalf("%s %v did not finish in 120 s", class, args)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "DONE" || f[1] != id {
		k.t.Fatalf("tool runner answered %q for command %s", line, id)
	}
	code, _ := strconv.Atoi(f[2])
	out, _ := os.ReadFile(filepath.Join(k.dir, id+".out"))
	errOut, _ := os.ReadFile(filepath.Join(k.dir, id+".err"))
	return string(out), string(errOut), code
}

// OK runs a tool that must succeed: exit 0 and no error or exception lines.
func (k *Runner) OK(stdin string, class string, args ...string) string {
	k.t.Helper()
	out, errOut, code := k.Run(stdin, class, args...)
	short := class[strings.LastIndex(class, ".")+1:]
	if code != 0 {
		k.t.Fatalf("Kafka's %s %v: exit %d\nstdout:\n%s\nstderr:\n%s", short, args, code, harness.Clip(out, 6000), harness.Clip(errOut, 6000))
	}
	for _, l := range strings.Split(out+errOut, "\n") {
		if strings.Contains(l, "Error") || strings.Contains(l, "Exception") {
			k.t.Errorf("Kafka's %s %v printed %q\nstdout:\n%s\nstderr:\n%s", short, args, l, harness.Clip(out, 6000), harness.Clip(errOut, 6000))
			break
		}
	}
	return out
}
