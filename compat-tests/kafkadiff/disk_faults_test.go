package kafkadiff_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// mountTmpfs mounts a size-limited tmpfs on dir, unmounted when the test
// ends. It needs root (CAP_SYS_ADMIN): without it the test fails and says so.
func mountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mounting a %s tmpfs on %s needs root (CAP_SYS_ADMIN) to make a full disk: %v: %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// minISR2 is the topic config min.insync.replicas=2.
var minISR2 = map[string]string{"min.insync.replicas": "2"}

// createAssigned creates a topic with one partition on replicas (the first
// is the preferred leader) and these topic configs.
func createAssigned(t *testing.T, cl *kgo.Client, topic string, replicas []int32, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
	ra.Partition, ra.Replicas = 0, replicas
	rt.ReplicaAssignment = append(rt.ReplicaAssignment, ra)
	for _, k := range slices.Sorted(maps.Keys(configs)) {
		cfg := kmsg.NewCreateTopicsRequestTopicConfig()
		cfg.Name, cfg.Value = k, kmsg.StringPtr(configs[k])
		rt.Configs = append(rt.Configs, cfg)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

// logDirOf returns which of dirs holds topic's partition 0, or "".
func logDirOf(topic string, dirs ...string) string {
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, topic+"-0")); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// waitPlaced waits until one of dirs (broker 1's log dirs) holds topic's
// partition 0 and fails the test unless it is want.
func waitPlaced(t *testing.T, topic, want string, dirs ...string) {
	t.Helper()
	harness.Poll(t, 30*time.Second, topic+"-0 on broker 1", func() (bool, string) { return logDirOf(topic, dirs...) != "", "no log dir yet" })
	if got := logDirOf(topic, dirs...); got != want {
		t.Fatalf("%s-0 in %s on broker 1, want %s", topic, got, want)
	}
}

// waitISR polls Metadata until topic's partition 0 has a leader and n
// in-sync replicas.
func waitISR(t *testing.T, adm *kadm.Client, topic string, n int) {
	t.Helper()
	harness.Poll(t, 90*time.Second, topic+"-0 fully in sync", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := partitionMeta(ctx, adm, topic)
		if err != nil {
			return false, err.Error()
		}
		return p.Leader >= 0 && len(p.ISR) == n, fmt.Sprintf("leader %d isr %v", p.Leader, p.ISR)
	})
}

// partitionMeta is one partition's Metadata answer.
func partitionMeta(ctx context.Context, adm *kadm.Client, topic string) (kadm.PartitionDetail, error) {
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return kadm.PartitionDetail{}, err
	}
	p, ok := md.Topics[topic].Partitions[0]
	if !ok {
		return kadm.PartitionDetail{}, fmt.Errorf("no metadata for %s-0", topic)
	}
	return p, nil
}

// readAll consumes topic's partition 0 from the start to its end offset and
// returns the values in order.
func readAll(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, topic string) []string {
	t.Helper()
	adm := kadm.NewClient(newClient())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	end, _ := ends.Lookup(topic, 0)
	if end.Err != nil {
		t.Fatalf("end offset of %s-0: %v", topic, end.Err)
	}
	cl := newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(200*time.Millisecond))
	var out []string
	next := int64(0)
	for next < end.Offset {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s-0: at %d of %d: %v", topic, next, end.Offset, ctx.Err())
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Logf("reading %s-0: %v", topic, err) })
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, string(r.Value))
			next = r.Offset + 1
		})
	}
	return out
}

// missingAndDuplicated compares what a partition serves with the
// acknowledged values.
func missingAndDuplicated(acked map[string]bool, served []string) (missing []string, dups []string) {
	seen := map[string]int{}
	for _, v := range served {
		seen[v]++
		if seen[v] == 2 {
			dups = append(dups, v)
		}
	}
	for v := range acked {
		if seen[v] == 0 {
			missing = append(missing, v)
		}
	}
	slices.Sort(missing)
	return missing, dups
}

// logLineTime finds the first line of a broker's log containing marker and
// returns its time: our brokers' time= field, or Kafka's log4j
// "[2006-01-02 15:04:05,000]" prefix.
func logLineTime(path, marker string) (time.Time, bool) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, marker) {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "["); ok {
			ts, _, _ := strings.Cut(rest, "]")
			if tm, err := time.ParseInLocation("2006-01-02 15:04:05,000", ts, time.Local); err == nil {
				return tm, true
			}
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
		if tm, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return tm, true
		}
	}
	return time.Time{}, false
}

// grepLog returns a broker log's lines containing any of markers.
func grepLog(path string, markers ...string) []string {
	lines, _ := linesWith(path, markers...)
	return lines
}

// linesWith returns the lines of a file containing any of markers.
func linesWith(path string, markers ...string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		for _, m := range markers {
			if strings.Contains(l, m) {
				out = append(out, l)
				break
			}
		}
	}
	return out, nil
}

// diskFaultBrokers is a three-broker cluster (ids 1-3) whose broker 1 has
// the log dirs tmpfs,disk: ours or Kafka 3.9's.
type diskFaultBrokers struct {
	client func(...kgo.Opt) *kgo.Client
	// alive reports whether broker 1's process runs.
	alive func() bool
	// restart stops broker 1 (SIGTERM), runs between, starts it again and
	// waits until it is ready.
	restart func(t *testing.T, between func())
	// failedAt is when broker 1 logged its log dir failure.
	failedAt func() (time.Time, bool)
	// logs are the brokers' log lines about log dirs and offline replicas.
	logs func() []string
	// tail is broker 1's log tail for failure messages.
	tail func() string
}

// diskFaultSettings are the settings both clusters run with.
var diskFaultSettings = map[string]string{
	"default.replication.factor": "3",
	"min.insync.replicas":        "2",
	"replica.lag.time.max.ms":    "10000",
}

// startDiskFaultBrokers adds our brokers 1-3 to c with diskFaultSettings,
// broker 1 with log.dirs=dirA,dirB, waits until they are registered and
// returns the settings as key=value lines.
func startDiskFaultBrokers(c *cluster.Cluster, dirA, dirB string) []string {
	var common []string
	for _, k := range slices.Sorted(maps.Keys(diskFaultSettings)) {
		common = append(common, k+"="+diskFaultSettings[k])
	}
	c.AddBroker(1, append(slices.Clone(common), "log.dirs="+dirA+","+dirB)...)
	c.AddBroker(2, common...)
	c.AddBroker(3, common...)
	c.WaitForBrokers(1, 2, 3)
	return common
}

// ENOSPC, Kafka's way (KIP-112), on our brokers and on Kafka 3.9's, with
// the same checks: broker 1 has two log dirs, the first a 4 MiB tmpfs.
// Broker 1 leads fill-0 (tmpfs) and safe-0 (the other dir) and follows
// other-0 (tmpfs); RF 3, min ISR 2, acks=all. Producing to fill-0 fills the
// tmpfs: the dir goes offline, broker 1 tells the controller through
// /log_dir_event_notification, fill-0's leadership moves to another broker
// and replica 1 leaves the ISRs of fill-0 and other-0, Metadata lists it
// offline; broker 1 keeps running and leading safe-0, whose producer sees
// no error. No acknowledged record is lost or duplicated. Restarted with
// room on the tmpfs, broker 1 recovers the logs, rejoins the ISRs, and,
// made leader of fill-0 again, serves every acknowledged record.
func TestDiskFullLogDirOffline(t *testing.T) {
	c := cluster.Start(t, 0) // ZooKeeper, for both clusters (own chroots)
	t.Run("kafkazk", func(t *testing.T) {
		tmpfs, disk := diskFaultDirs(t)
		common := startDiskFaultBrokers(c, tmpfs, disk)
		defer func() { // the Kafka run gets the CPU
			for id := int32(1); id <= 3; id++ {
				if c.Running(id) {
					c.Stop(id)
				}
			}
		}()
		diskFullScenario(t, tmpfs, disk, diskFaultBrokers{
			client: c.Client,
			alive:  func() bool { return c.Running(1) },
			restart: func(t *testing.T, between func()) {
				if code := c.Stop(1); code != 0 {
					t.Errorf("broker 1 exit code %d after SIGTERM, want 0:\n%s", code, c.LogTail(1, 30))
				}
				between()
				c.Restart(1)
			},
			failedAt: func() (time.Time, bool) { return logLineTime(c.Broker(1).LogFile, "log dir failed") },
			logs: func() []string {
				var out []string
				for id := int32(1); id <= 3; id++ {
					for _, l := range grepLog(c.Broker(id).LogFile, "log dir", "log directory", "offline", "KAFKA_STORAGE") {
						out = append(out, fmt.Sprintf("broker %d: %s", id, l))
					}
				}
				return out
			},
			tail: func() string { return c.LogTail(1, 40) },
		})
		if !t.Failed() {
			lastLogDirFails(t, c, common)
		}
	})
	t.Run("kafka-3.9", func(t *testing.T) {
		tmpfs, disk := diskFaultDirs(t)
		var refs []*cluster.KafkaRef
		chroot := ""
		for id := int32(1); id <= 3; id++ {
			o := maps.Clone(diskFaultSettings)
			if id == 1 {
				o["log.dirs"] = tmpfs + "," + disk
			}
			k := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{ID: id, Chroot: chroot, Overrides: o, NoWait: true})
			chroot = k.Chroot
			refs = append(refs, k)
		}
		defer func() { // the three controlled shutdowns at once, not one after another at cleanup
			var wg sync.WaitGroup
			for _, k := range refs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					k.Stop(t)
				}()
			}
			wg.Wait()
		}()
		for _, k := range refs {
			k.WaitReady(t)
		}
		bootstrap := []string{refs[0].Addr, refs[1].Addr, refs[2].Addr}
		newClient := func(opts ...kgo.Opt) *kgo.Client {
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap...)}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			return cl
		}
		diskFullScenario(t, tmpfs, disk, diskFaultBrokers{
			client: newClient,
			alive:  refs[0].Running,
			restart: func(t *testing.T, between func()) {
				refs[0].Stop(t)
				between()
				refs[0].Restart(t)
			},
			failedAt: func() (time.Time, bool) { return logLineTime(refs[0].LogFile, "Stopping serving replicas in dir") },
			logs: func() []string {
				var out []string
				for _, k := range refs {
					for _, l := range grepLog(k.LogFile, "log dir", "log directory", "offline", "Offline", "KAFKA_STORAGE", "KafkaStorage") {
						out = append(out, fmt.Sprintf("broker %d: %s", k.ID, l))
					}
				}
				return out
			},
			tail: func() string { return "" },
		})
	})
}

// lastLogDirFails: a broker whose only log dir fills up ends, as Kafka's
// LogManager.handleLogDirFailure halts it ("Shutdown broker because all log
// dirs in ... have failed", Exit.halt(1)): it exits non-zero, another
// replica leads, and no acknowledged record is lost. Brokers 2 and 3 of c
// run.
func lastLogDirFails(t *testing.T, c *cluster.Cluster, common []string) {
	t.Helper()
	tmpfs := filepath.Join(t.TempDir(), "only")
	mountTmpfs(t, tmpfs, "2m")
	c.AddBroker(4, append(slices.Clone(common), "log.dirs="+tmpfs)...)
	c.WaitForBrokers(4)
	admCl := c.Client(kgo.MetadataMinAge(10 * time.Millisecond))
	adm := kadm.NewClient(admCl)
	createAssigned(t, admCl, "last", []int32{4, 2, 3}, minISR2)
	waitISR(t, adm, "last", 3)
	cl := c.Client(kgo.DefaultProduceTopic("last"), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(64),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second))
	pad := strings.Repeat("y", 16<<10)
	var mu sync.Mutex
	acked := map[string]bool{}
	var errs []string
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; c.Running(4); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("broker 4 still runs 60 s into filling its only log dir (%d records):\n%s", i, c.LogTail(4, 30))
		}
		v := fmt.Sprintf("last-%06d-", i)
		cl.Produce(context.Background(), kgo.StringRecord(v+pad), func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", v, err))
				return
			}
			acked[v] = true
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := cl.Flush(ctx); err != nil {
		t.Fatalf("flushing: %v", err)
	}
	if code := c.Stop(4); code != 1 { // Exit.halt(1); a Go panic would be 2
		t.Errorf("broker 4 exit code %d after its last log dir failed, want 1:\n%s", code, c.LogTail(4, 30))
	}
	if lines := grepLog(c.Broker(4).LogFile, "panic", "fatal error"); len(lines) > 0 {
		t.Errorf("broker 4 crashed: %v", lines)
	}
	if lines := grepLog(c.Broker(4).LogFile, "all log dirs have failed"); len(lines) == 0 {
		t.Errorf("broker 4 did not log why it stopped:\n%s", c.LogTail(4, 30))
	}
	waitISR(t, adm, "last", 2)
	served := readAll(t, c.Client, "last")
	for i, v := range served {
		served[i] = strings.TrimSuffix(v, pad)
	}
	missing, dups := missingAndDuplicated(acked, served)
	mu.Lock()
	defer mu.Unlock()
	if len(missing) > 0 || len(dups) > 0 {
		t.Errorf("last-0: %d acknowledged records missing %v, %d duplicated %v", len(missing), missing[:min(5, len(missing))], len(dups), dups[:min(5, len(dups))])
	}
	t.Logf("last-0: broker 4 ended; %d records acknowledged, %d failed, all served", len(acked), len(errs))
}

// diskFaultDirs makes broker 1's log dirs: a 4 MiB tmpfs and a plain dir.
func diskFaultDirs(t *testing.T) (tmpfs, disk string) {
	t.Helper()
	base := t.TempDir()
	tmpfs, disk = filepath.Join(base, "tmpfs"), filepath.Join(base, "disk")
	mountTmpfs(t, tmpfs, "4m")
	return tmpfs, disk
}

// diskFullScenario runs the ENOSPC scenario on b.
func diskFullScenario(t *testing.T, tmpfs, disk string, b diskFaultBrokers) {
	began := time.Now()
	phase := func(what string) { t.Logf("%s at %v", what, time.Since(began).Round(100*time.Millisecond)) }
	admCl := b.client(kgo.MetadataMinAge(10 * time.Millisecond)) // Metadata answers not cached by the client
	adm := kadm.NewClient(admCl)
	for _, tc := range []struct {
		topic    string
		replicas []int32
		dir      string
	}{
		{"fill", []int32{1, 2, 3}, tmpfs},  // first log on broker 1: the first (least loaded) dir
		{"safe", []int32{1, 2, 3}, disk},   // the other dir has fewer logs now
		{"other", []int32{2, 1, 3}, tmpfs}, // a tie again: the first dir
	} {
		createAssigned(t, admCl, tc.topic, tc.replicas, minISR2)
		waitPlaced(t, tc.topic, tc.dir, tmpfs, disk)
	}
	for _, topic := range []string{"fill", "safe", "other"} {
		waitISR(t, adm, topic, 3)
	}

	phase("topics in sync")
	// safe-0's producer runs through the whole fault: every produce must
	// succeed (acks=all, one at a time).
	var safeMu sync.Mutex
	safeAcked := map[string]bool{}
	var safeErrs []string
	var safeSlowest time.Duration
	safeCtx, stopSafe := context.WithCancel(context.Background())
	safeDone := make(chan struct{})
	safeCl := b.client(kgo.DefaultProduceTopic("safe"), kgo.ProducerLinger(0))
	go func() {
		defer close(safeDone)
		for i := 0; safeCtx.Err() == nil; i++ {
			v := fmt.Sprintf("safe-%06d", i)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := safeCl.ProduceSync(ctx, kgo.StringRecord(v)).FirstErr()
			cancel()
			took := time.Since(start)
			safeMu.Lock()
			safeSlowest = max(safeSlowest, took)
			if err != nil {
				safeErrs = append(safeErrs, fmt.Sprintf("%s: %v", v, err))
			} else {
				safeAcked[v] = true
			}
			safeMu.Unlock()
			select {
			case <-safeCtx.Done():
			case <-time.After(20 * time.Millisecond): // a steady trickle
			}
		}
	}()
	stopSafeProducer := func() {
		stopSafe()
		<-safeDone
	}
	defer stopSafeProducer()

	// Watch fill-0's leader (Metadata every 50 ms) to time the move.
	var fillMu sync.Mutex
	var moved time.Time
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		for watchCtx.Err() == nil {
			ctx, cancel := context.WithTimeout(watchCtx, 5*time.Second)
			p, err := partitionMeta(ctx, adm, "fill")
			cancel()
			if err == nil && p.Leader >= 0 && p.Leader != 1 {
				fillMu.Lock()
				moved = time.Now()
				fillMu.Unlock()
				t.Logf("fill-0 leader %d, isr %v, offline %v", p.Leader, p.ISR, p.OfflineReplicas)
				return
			}
			select {
			case <-watchCtx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() {
		stopWatch()
		<-watchDone
	}()

	// Fill the tmpfs through fill-0: 16 KiB records, uncompressed,
	// acks=all, idempotent, until leadership has moved and 50 more records
	// were acknowledged.
	fillCl := b.client(kgo.DefaultProduceTopic("fill"), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(64),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.RecordRetries(1000), kgo.RecordDeliveryTimeout(60*time.Second))
	pad := strings.Repeat("z", 16<<10)
	fillAcked := map[string]bool{}
	var fillErrs []string
	var after int
	deadline := time.Now().Add(120 * time.Second)
	for i := 0; ; i++ {
		fillMu.Lock()
		done := !moved.IsZero() && after >= 50
		fillMu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fill-0's leadership did not move within 120 s of filling the tmpfs (%d records sent); broker 1:\n%s",
				i, b.tail())
		}
		v := fmt.Sprintf("fill-%06d-", i)
		fillCl.Produce(context.Background(), kgo.StringRecord(v+pad), func(r *kgo.Record, err error) {
			fillMu.Lock()
			defer fillMu.Unlock()
			if err != nil {
				fillErrs = append(fillErrs, fmt.Sprintf("%s: %v", v, err))
				return
			}
			fillAcked[v] = true
			if !moved.IsZero() {
				after++
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	if err := fillCl.Flush(ctx); err != nil {
		t.Fatalf("flushing fill-0's producer: %v", err)
	}
	cancel()
	stopSafeProducer()

	phase("fill done")
	// The dir failed and the controller acted on it in its usual time.
	failedAt, ok := b.failedAt()
	if !ok {
		t.Fatalf("broker 1 did not log the log dir failure:\n%s", b.tail())
	}
	if took := moved.Sub(failedAt); took > 10*time.Second {
		t.Errorf("fill-0's leadership moved %v after the log dir failed, want within 10 s", took)
	} else {
		t.Logf("leadership moved within %v of the dir failure", took)
	}
	for _, l := range b.logs() {
		t.Log(harness.Clip(l, 300))
	}
	if !b.alive() {
		t.Fatalf("broker 1 exited although a log dir is left:\n%s", b.tail())
	}
	for _, tc := range []struct {
		topic   string
		leader  func(int32) bool
		isr     []int32
		offline []int32
	}{
		{"fill", func(l int32) bool { return l == 2 || l == 3 }, []int32{2, 3}, []int32{1}},
		{"other", func(l int32) bool { return l == 2 }, []int32{2, 3}, []int32{1}},
		{"safe", func(l int32) bool { return l == 1 }, []int32{1, 2, 3}, nil},
	} {
		harness.Poll(t, 30*time.Second, tc.topic+"-0 metadata after the dir failure", func() (bool, string) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			p, err := partitionMeta(ctx, adm, tc.topic)
			if err != nil {
				return false, err.Error()
			}
			isr, off := slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(p.OfflineReplicas))
			return tc.leader(p.Leader) && slices.Equal(isr, tc.isr) && slices.Equal(off, tc.offline),
				fmt.Sprintf("leader %d isr %v offline %v", p.Leader, isr, off)
		})
	}
	safeMu.Lock()
	if len(safeErrs) > 0 {
		t.Errorf("the producer to safe-0 (the healthy dir) saw %d errors, want none: %v", len(safeErrs), safeErrs[:min(5, len(safeErrs))])
	}
	t.Logf("safe-0: %d records acknowledged, slowest produce %v; fill-0: %d acknowledged, %d failed",
		len(safeAcked), safeSlowest, len(fillAcked), len(fillErrs))
	safeMu.Unlock()

	check := func(when, topic string, acked map[string]bool) {
		t.Helper()
		served := readAll(t, b.client, topic)
		for i, v := range served {
			if topic == "fill" {
				served[i] = strings.TrimSuffix(v, pad)
			}
		}
		missing, dups := missingAndDuplicated(acked, served)
		if len(missing) > 0 || len(dups) > 0 {
			t.Errorf("%s, %s-0: %d acknowledged records missing %v, %d duplicated %v (served %d)", when, topic,
				len(missing), missing[:min(5, len(missing))], len(dups), dups[:min(5, len(dups))], len(served))
		}
	}
	phase("metadata checked")
	check("after the dir failure", "fill", fillAcked)
	check("after the dir failure", "safe", safeAcked)

	// Restart broker 1 with room on the tmpfs (remounted bigger, its files
	// kept): it recovers its logs, fetches what it missed and rejoins the
	// ISRs; made leader of fill-0 again, it serves every acknowledged record.
	phase("records checked")
	b.restart(t, func() {
		if out, err := exec.Command("mount", "-o", "remount,size=64m", tmpfs).CombinedOutput(); err != nil {
			t.Fatalf("remounting the tmpfs bigger: %v: %s", err, out)
		}
	})
	for _, topic := range []string{"fill", "safe", "other"} {
		waitISR(t, adm, topic, 3)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"fill": {0: {}}})
	cancel()
	if err != nil {
		t.Fatalf("preferred election of fill-0: %v", err)
	}
	for _, r := range res {
		for _, pr := range r {
			if pr.Err != nil && !errors.Is(pr.Err, kerr.ElectionNotNeeded) {
				t.Fatalf("preferred election of fill-0: %v", pr.Err)
			}
		}
	}
	harness.Poll(t, 30*time.Second, "broker 1 leads fill-0 again, no replica offline", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := partitionMeta(ctx, adm, "fill")
		if err != nil {
			return false, err.Error()
		}
		return p.Leader == 1 && len(p.OfflineReplicas) == 0, fmt.Sprintf("leader %d offline %v", p.Leader, p.OfflineReplicas)
	})
	phase("restarted, in sync, broker 1 leading fill-0")
	check("after the restart, broker 1 leading", "fill", fillAcked)
	check("after the restart", "safe", safeAcked)
}
