package dockerenv

import (
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spf13/viper"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

const composeFile = "../../../docker-compose.yml"

// composeBrokers reads docker-compose.yml and returns each broker service's
// environment (after YAML merge keys), by service name.
func composeBrokers(t *testing.T) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(f); err != nil {
		t.Fatalf("parsing %s: %v", composeFile, err)
	}
	out := map[string]map[string]string{}
	for name := range v.GetStringMap("services") {
		env := v.GetStringMapString("services::" + name + "::environment")
		if len(env) == 0 || v.GetString("services::"+name+"::build") == "" && v.GetString("services::"+name+"::build::context") == "" {
			continue // not one of our brokers (ZooKeeper)
		}
		vars := map[string]string{}
		for k, val := range env {
			vars[strings.ToUpper(k)] = val // viper lower-cases keys; the variables are upper case
		}
		out[name] = vars
	}
	return out
}

// TestComposeFile checks the compose file's brokers are configured the way
// the README says: only KAFKA_* variables, ids 1..3, and two listeners each
// on the bridge network: INTERNAL (the inter-broker listener) advertised
// under the service's name, EXTERNAL advertised as localhost on the port
// the service publishes; no shared network namespace.
func TestComposeFile(t *testing.T) {
	brokers := composeBrokers(t)
	if len(brokers) != 3 {
		t.Fatalf("want 3 broker services, got %v", slices.Sorted(maps.Keys(brokers)))
	}
	ids := map[string]bool{}
	for name, env := range brokers {
		for k := range env {
			if !strings.HasPrefix(k, "KAFKA_") {
				t.Errorf("%s: %s is not a KAFKA_* variable", name, k)
			}
		}
		for _, k := range []string{"KAFKA_BROKER_ID", "KAFKA_ZOOKEEPER_CONNECT", "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS", "KAFKA_LOG_DIRS"} {
			if env[k] == "" {
				t.Errorf("%s: %s not set", name, k)
			}
		}
		ids[env["KAFKA_BROKER_ID"]] = true
		checkComposeListeners(t, name, env)
		if _, err := Overrides(envList(env), "host"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(ids) != 3 {
		t.Errorf("broker ids not distinct: %v", ids)
	}
}

// TestComposeClusterFromEnvironment runs the built binary as the image does
// (`kafka docker-entrypoint`), each broker with ONLY the environment the
// compose file gives it (addresses swapped for free loopback ports, the log
// dir for a temp dir), against a real ZooKeeper, and checks that a client
// produces and consumes with the cluster defaults those variables set.
func TestComposeClusterFromEnvironment(t *testing.T) {
	brokers := composeBrokers(t)
	bin := cluster.Binary(t)
	zk := zktest.Start(t)
	connect := zk.Chroot(t)

	// Every listener of every broker gets one free local port, which it
	// listens on and advertises (under 127.0.0.1: the services' names do not
	// resolve here).
	ports := map[string]map[string]string{} // service -> listener name -> local port
	for name, env := range brokers {
		ports[name] = map[string]string{}
		for _, l := range strings.Split(env["KAFKA_LISTENERS"], ",") {
			lname, _, _ := strings.Cut(strings.TrimSpace(l), "://")
			ports[name][strings.ToUpper(lname)] = strconv.Itoa(freePort(t))
		}
	}
	dir := t.TempDir()
	var bootstrap []string
	var procs []*proc
	logs := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(brokers)) {
		env := brokers[name]
		local := map[string]string{}
		for k, v := range env {
			switch k {
			case "KAFKA_ZOOKEEPER_CONNECT":
				v = connect
			case "KAFKA_LOG_DIRS":
				v = filepath.Join(dir, name, "data")
			case "KAFKA_LISTENERS", "KAFKA_ADVERTISED_LISTENERS":
				v = localListeners(t, v, ports[name])
			}
			local[k] = v
		}
		// The host's clients bootstrap from the EXTERNAL listener.
		bootstrap = append(bootstrap, "127.0.0.1:"+ports[name]["EXTERNAL"])
		logs[name] = filepath.Join(dir, name+".log")
		procs = append(procs, startEntrypoint(t, bin, envList(local), logs[name]))
	}
	t.Cleanup(func() {
		if t.Failed() {
			for name, path := range logs {
				data, _ := os.ReadFile(path)
				t.Logf("%s log:\n%s", name, data)
			}
		}
	})

	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ConsumeTopics("from-env"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	waitFor(t, ctx, "three brokers registered", func() bool {
		m, err := adm.BrokerMetadata(ctx)
		return err == nil && len(m.Brokers) == 3
	})
	// No partition count or replication factor given: the broker defaults
	// from the environment (KAFKA_DEFAULT_REPLICATION_FACTOR) apply.
	if _, err := adm.CreateTopic(ctx, -1, -1, nil, "from-env"); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	var rf int
	waitFor(t, ctx, "topic with leaders", func() bool {
		td, err := adm.ListTopics(ctx, "from-env")
		if err != nil || td["from-env"].Err != nil {
			return false
		}
		for _, p := range td["from-env"].Partitions {
			if p.Leader < 0 {
				return false
			}
			rf = len(p.Replicas)
		}
		return len(td["from-env"].Partitions) > 0
	})
	if want := brokers["kafka-1"]["KAFKA_DEFAULT_REPLICATION_FACTOR"]; want != "" && strconv.Itoa(rf) != want {
		t.Errorf("replication factor %d, want %s from KAFKA_DEFAULT_REPLICATION_FACTOR", rf, want)
	}

	const n = 100
	for i := range n {
		r := &kgo.Record{Topic: "from-env", Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf("value-%d", i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce %d (acks=all): %v", i, err)
		}
	}
	seen := map[string]bool{}
	for len(seen) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) {
			if ctx.Err() == nil {
				t.Logf("fetch: %v", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) != "value-"+string(r.Key) {
				t.Errorf("record %q=%q", r.Key, r.Value)
			}
			seen[string(r.Key)] = true
		})
	}
	if len(seen) != n {
		t.Fatalf("consumed %d of %d records", len(seen), n)
	}
	cl.Close()
	t.Logf("%d brokers from the compose environment; topic replication factor %d; %d records produced (acks=all) and consumed", len(procs), rf, len(seen))

	for i, p := range procs {
		if code := p.stop(60 * time.Second); code != 0 {
			t.Errorf("broker %d: exit %d after SIGTERM", i+1, code)
		}
	}
	// Every variable of the compose file is a known setting: no warnings.
	for name, path := range logs {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "unknown configuration key") {
			t.Errorf("%s warned about its configuration:\n%s", name, data)
		}
	}
}

// localListeners rewrites NAME://host:port listeners to 127.0.0.1 and the
// listener's local port.
func localListeners(t *testing.T, v string, ports map[string]string) string {
	t.Helper()
	var out []string
	for _, l := range strings.Split(v, ",") {
		name, hostPort, _ := strings.Cut(strings.TrimSpace(l), "://")
		if _, _, err := net.SplitHostPort(hostPort); err != nil {
			t.Fatalf("listener %q: %v", l, err)
		}
		port := ports[strings.ToUpper(name)]
		if port == "" {
			t.Fatalf("listener %q: no such name in KAFKA_LISTENERS", l)
		}
		out = append(out, name+"://127.0.0.1:"+port)
	}
	return strings.Join(out, ",")
}

// checkComposeListeners is the compose file's addressing scheme for one
// broker service: INTERNAL://0.0.0.0:29092 advertised as <service>:29092
// and used between brokers, EXTERNAL://0.0.0.0:<p> advertised as
// localhost:<p> with <p> published as itself.
func checkComposeListeners(t *testing.T, name string, env map[string]string) {
	t.Helper()
	if env["KAFKA_INTER_BROKER_LISTENER_NAME"] != "INTERNAL" {
		t.Errorf("%s: KAFKA_INTER_BROKER_LISTENER_NAME %q, want INTERNAL", name, env["KAFKA_INTER_BROKER_LISTENER_NAME"])
	}
	if env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] != "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT" {
		t.Errorf("%s: KAFKA_LISTENER_SECURITY_PROTOCOL_MAP %q", name, env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"])
	}
	adv := map[string]string{}
	for _, l := range strings.Split(env["KAFKA_ADVERTISED_LISTENERS"], ",") {
		n, hp, _ := strings.Cut(strings.TrimSpace(l), "://")
		adv[n] = hp
	}
	if adv["INTERNAL"] != name+":29092" {
		t.Errorf("%s: INTERNAL advertised as %q, want %s:29092", name, adv["INTERNAL"], name)
	}
	host, port, err := net.SplitHostPort(adv["EXTERNAL"])
	if err != nil || host != "localhost" {
		t.Errorf("%s: EXTERNAL advertised as %q, want localhost:<published port>", name, adv["EXTERNAL"])
	}
	want := "INTERNAL://0.0.0.0:29092,EXTERNAL://0.0.0.0:" + port
	if env["KAFKA_LISTENERS"] != want {
		t.Errorf("%s: KAFKA_LISTENERS %q, want %q", name, env["KAFKA_LISTENERS"], want)
	}
	if !slices.Contains(composePorts(t, name), port+":"+port) {
		t.Errorf("%s: EXTERNAL port %s is not published as %s:%s", name, port, port, port)
	}
}

// composePorts is a service's published ports and whether it shares
// another's network namespace (which the bridge layout must not).
func composePorts(t *testing.T, service string) []string {
	t.Helper()
	f, err := os.Open(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := viper.NewWithOptions(viper.KeyDelimiter("::"))
	v.SetConfigType("yaml")
	if err := v.ReadConfig(f); err != nil {
		t.Fatal(err)
	}
	if nm := v.GetString("services::" + service + "::network_mode"); nm != "" {
		t.Errorf("%s: network_mode %q: the brokers are on the bridge network", service, nm)
	}
	return v.GetStringSlice("services::" + service + "::ports")
}

// proc is a started broker process; done closes once it has been reaped.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startEntrypoint(t *testing.T, bin string, env []string, logPath string) *proc {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "docker-entrypoint")
	cmd.Env = env // nothing else: no PATH, no HOME, no config file
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	return &proc{cmd: cmd, done: done}
}

// stop sends SIGTERM and waits (bounded) for the exit code; -1 if the
// process had to be killed.
func (p *proc) stop(d time.Duration) int {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return -1
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
