package kafkadiff_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// The log on disk, both ways (issue 14 item 6): a log dir written by Apache
// Kafka 3.9 is served in full by our broker started on it with the same
// broker id and ZooKeeper chroot, and a log dir written by ours is served in
// full by Kafka 3.9. Served in full means: the same record batches byte for
// byte, the same records (offsets, timestamps and their type, keys, values,
// headers, leader epochs, producer ids), the same ListOffsets answers
// (earliest, latest, max timestamp, by timestamp), the same
// OffsetForLeaderEpoch answers for every epoch, the same answers to a
// producer retrying some of the writer's batches (the producer state
// survives), and the checkpoints (leader-epoch-checkpoint,
// log-start/recovery/replication offsets, meta.properties, the clean-shutdown
// marker) and index files still holding what the writer left.
//
// Each direction runs twice: on the log dir as the writer shut it down
// (clean), and without its clean-shutdown marker and recovery points, so
// the reader recovers every segment (checks each batch, rebuilds indexes and
// producer state); the rebuilt index files must equal the writer's.
//
// The scenario: "disk-plain", several segments of idempotent batches in
// every codec with keys, headers and explicit timestamps; "disk-compact", a
// compacted topic with overwritten keys and a tombstone, waited on until the
// cleaner has cleaned up to its active segment; "disk-epochs", a partition
// with two leader epochs; "disk-logtime", a LogAppendTime topic.
//
// A single broker never bumps its own partitions' leader epochs: a restart
// re-registers before its controller starts, so the controller finds the
// leader alive and elects nobody (PartitionStateMachine.initializePartitionState),
// and controlled shutdown skips partitions of replication factor 1
// (KafkaController.doControlledShutdown). So the test does what a second
// controller would: it writes the state znode with leader_epoch+1 and deletes
// /controller; the re-elected controller loads the state and sends
// LeaderAndIsr with the new epoch, and the leader starts the epoch at its
// log end offset.

const diskBrokerID = 5

var diskTopics = []string{"disk-plain", "disk-compact", "disk-epochs", "disk-logtime"}

// diskOverrides are the broker settings both sides run with: small segments
// and a cleaner that wakes up quickly.
var diskOverrides = map[string]string{
	"log.segment.bytes":      "8192",
	"log.cleaner.backoff.ms": "100",
}

// diskKnownDifferences lists, by key, the differences between Kafka 3.9 and
// our broker this test finds today, with Kafka's answer beside ours. The test
// asserts the list is exactly what it finds: a fix removes its line here.
var diskKnownDifferences = map[string]string{
	// Kafka 3.9 writes the clean-shutdown marker as JSON
	// (CleanShutdownFileHandler.write: {"version":0,"brokerEpoch":-1} in
	// ZooKeeper mode, where LogManager is given no broker epoch); ours writes
	// an empty file. Kafka only asks whether it exists in ZooKeeper mode,
	// so it loads ours as clean (asserted), but KRaft-era readers parse it.
	"kafka-to-ours checkpoint .kafka_cleanshutdown": `kafka: {"version":0,"brokerEpoch":-1}, ours: empty`,
	"ours-to-kafka checkpoint .kafka_cleanshutdown": `ours: empty, kafka: {"version":0,"brokerEpoch":-1}`,
}

func init() {
	// LogManager.checkpointLogStartOffsetsInDir writes a partition's line
	// only when its log start offset is above its first segment's base
	// offset (or remote storage is on); ours writes every partition's
	// (e.g. "disk-plain 0 0"). Each reads the other's file right.
	for _, topic := range diskTopics {
		diskKnownDifferences["kafka-to-ours checkpoint log-start-offset-checkpoint "+topic+"-0"] = "kafka: no line, ours: 0"
		diskKnownDifferences["ours-to-kafka checkpoint log-start-offset-checkpoint "+topic+"-0"] = "ours: 0, kafka: no line"
	}
}

func diskOverrideArgs() []string {
	var out []string
	keys := diskKeys(diskOverrides)
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+diskOverrides[k])
	}
	return out
}

func diskKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// TestDiskKafkaWritesWeRead: Kafka 3.9 writes the log dir, our broker serves it.
func TestDiskKafkaWritesWeRead(t *testing.T) {
	c := cluster.Start(t, 0)
	chroot := strings.TrimPrefix(c.Connect, c.ZK.Addr)
	logDir := filepath.Join(t.TempDir(), "logs")
	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{ID: diskBrokerID, Chroot: chroot, LogDir: logDir, Overrides: diskOverrides})
	diskWrite(t, ref.Addr, logDir, c.ZKConn(), chroot)
	want := diskCollect(t, ref.Addr, nil)
	diskCheckScenario(t, "kafka", want)
	wantDup, _ := diskDuplicates(t, ref.Addr, want)
	ref.Stop(t)
	if ref.Running() {
		t.Fatal("Kafka 3.9 still running after Stop")
	}
	if _, err := os.Stat(filepath.Join(logDir, ".kafka_cleanshutdown")); err != nil {
		t.Fatalf("Kafka 3.9 left no clean-shutdown marker: %v", err)
	}
	wantFiles := diskCheckpoints(t, logDir)
	wantIndexes := diskIndexFiles(t, logDir)

	b := c.AddBroker(diskBrokerID, append(diskOverrideArgs(), "log.dirs="+logDir)...)
	c.WaitForBrokers(diskBrokerID)
	diskWaitLeaders(t, b.Addr, want)
	got := diskCollect(t, b.Addr, want)
	diffs := diskCompare(want, got, "kafka", "ours")
	gotDup, logEnds := diskDuplicates(t, b.Addr, want)
	diffs = append(diffs, diskCompareDuplicates(wantDup, gotDup, "kafka", "ours")...)
	if code := c.Stop(diskBrokerID); code != 0 {
		t.Errorf("our broker exited %d on SIGTERM", code)
	}
	diskMoveCheckpoints(wantFiles, logEnds)
	diffs = append(diffs, diskCompareCheckpoints(wantFiles, diskCheckpoints(t, logDir), "kafka", "ours")...)
	diffs = append(diffs, diskCompareIndexes("clean load", wantIndexes, diskIndexFiles(t, logDir), "kafka", "ours")...)

	// Unclean: without the marker and the recovery points our broker
	// recovers every segment Kafka wrote (checks each batch, rebuilds the
	// indexes), as Kafka's LogLoader does; it must still serve the same.
	firstRun, err := os.ReadFile(b.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	diffs = append(diffs, diskOurLoadComplaints(string(firstRun))...)
	diskUnclean(t, logDir)
	c.Restart(diskBrokerID)
	diskWaitLeaders(t, b.Addr, want)
	got = diskCollect(t, b.Addr, want)
	gotDup, _ = diskDuplicates(t, b.Addr, want)
	for _, d := range append(diskCompare(want, got, "kafka", "ours"), diskCompareDuplicates(wantDup, gotDup, "kafka", "ours")...) {
		diffs = append(diffs, "recovered "+d)
	}
	if code := c.Stop(diskBrokerID); code != 0 {
		t.Errorf("our broker exited %d on SIGTERM", code)
	}
	diffs = append(diffs, diskCompareIndexes("recovered", wantIndexes, diskIndexFiles(t, logDir), "kafka", "ours")...)
	all, err := os.ReadFile(b.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	second := string(all[len(firstRun):])
	for _, d := range diskOurLoadComplaints(second) {
		diffs = append(diffs, "recovered "+d)
	}
	for _, line := range strings.Split(second, "\n") {
		if strings.Contains(line, "recovered log") {
			t.Logf("ours on kafka's log dir, unclean: %s", line)
		}
	}
	if !strings.Contains(second, "recovered log") {
		t.Errorf("our broker did not recover the log dir without its clean-shutdown marker and recovery points:\n%s", second)
	}
	diskCheckDiffs(t, "kafka-to-ours", diffs)
}

// TestDiskWeWriteKafkaReads: our broker writes the log dir, Kafka 3.9 serves it.
func TestDiskWeWriteKafkaReads(t *testing.T) {
	c := cluster.Start(t, 0)
	chroot := strings.TrimPrefix(c.Connect, c.ZK.Addr)
	logDir := filepath.Join(t.TempDir(), "logs")
	b := c.AddBroker(diskBrokerID, append(diskOverrideArgs(), "log.dirs="+logDir)...)
	c.WaitForBrokers(diskBrokerID)
	diskWrite(t, b.Addr, logDir, c.ZKConn(), chroot)
	var diffs []string
	want := diskCollect(t, b.Addr, nil)
	diskCheckScenario(t, "ours", want)
	wantDup, _ := diskDuplicates(t, b.Addr, want)
	if code := c.Stop(diskBrokerID); code != 0 {
		t.Fatalf("our broker exited %d on SIGTERM", code)
	}
	if _, err := os.Stat(filepath.Join(logDir, ".kafka_cleanshutdown")); err != nil {
		diffs = append(diffs, "clean-shutdown marker: kafka writes .kafka_cleanshutdown on controlled shutdown; ours: "+err.Error())
	}
	wantFiles := diskCheckpoints(t, logDir)
	wantIndexes := diskIndexFiles(t, logDir)
	// The unclean round runs on a copy: what Kafka appends or rewrites in
	// the clean round must not leak into it.
	uncleanDir := filepath.Join(t.TempDir(), "logs")
	diskCopyDir(t, logDir, uncleanDir)
	diskUnclean(t, uncleanDir)

	ref := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{ID: diskBrokerID, Chroot: chroot, LogDir: logDir, Overrides: diskOverrides})
	diskWaitLeaders(t, ref.Addr, want)
	got := diskCollect(t, ref.Addr, want)
	diffs = append(diffs, diskCompare(want, got, "ours", "kafka")...)
	gotDup, logEnds := diskDuplicates(t, ref.Addr, want)
	diffs = append(diffs, diskCompareDuplicates(wantDup, gotDup, "ours", "kafka")...)
	ref.Stop(t)
	diskMoveCheckpoints(wantFiles, logEnds)
	diffs = append(diffs, diskCompareCheckpoints(wantFiles, diskCheckpoints(t, logDir), "ours", "kafka")...)
	// Kafka validates what it loads; a log dir it had to recover or found
	// corrupt is a difference even when it serves the records.
	logText, err := os.ReadFile(ref.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	diffs = append(diffs, diskKafkaLoadComplaints(string(logText), false)...)
	if !strings.Contains(string(logText), "since clean shutdown file was found") {
		diffs = append(diffs, "kafka load: clean: kafka logs \"Skipping recovery of N logs ... since clean shutdown file was found\" on a cleanly shut down log dir; on ours it did not")
	}
	diffs = append(diffs, diskCompareIndexes("clean load", wantIndexes, diskIndexFiles(t, logDir), "ours", "kafka")...)

	// Unclean: without the marker and the recovery points Kafka recovers
	// every segment we wrote (LogSegment.recover: each batch checked, the
	// indexes and the producer state rebuilt); it must still serve the same,
	// and its rebuilt indexes are compared with ours.
	ref2 := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{ID: diskBrokerID, Chroot: chroot, LogDir: uncleanDir, Overrides: diskOverrides})
	diskWaitLeaders(t, ref2.Addr, want)
	got = diskCollect(t, ref2.Addr, want)
	gotDup, _ = diskDuplicates(t, ref2.Addr, want)
	for _, d := range append(diskCompare(want, got, "ours", "kafka"), diskCompareDuplicates(wantDup, gotDup, "ours", "kafka")...) {
		diffs = append(diffs, "recovered "+d)
	}
	ref2.Stop(t)
	diffs = append(diffs, diskCompareIndexes("recovered", wantIndexes, diskIndexFiles(t, uncleanDir), "ours", "kafka")...)
	second, err := os.ReadFile(ref2.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diskKafkaLoadComplaints(string(second), true) {
		diffs = append(diffs, "recovered "+d)
	}
	if !strings.Contains(string(second), "Recovering unflushed segment") {
		t.Errorf("Kafka 3.9 did not recover the log dir without its clean-shutdown marker and recovery points")
	}
	diskCheckDiffs(t, "ours-to-kafka", diffs)
}

// diskCopyDir copies the log dir tree src to dst.
func diskCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying %s: %v", src, err)
	}
}

// diskOurLoadComplaints returns what our broker's log says about loading
// Kafka's log dir that a sound one never makes it say.
func diskOurLoadComplaints(log string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		var key string
		switch {
		case strings.Contains(line, "truncating invalid bytes") || strings.Contains(line, "unreadable tail"):
			key = "ours load: invalid bytes"
		case strings.Contains(line, "level=ERROR"):
			key = "ours load: ERROR"
		case strings.Contains(line, "level=WARN") && (strings.Contains(line, "checkpoint") || strings.Contains(line, "index") || strings.Contains(line, "segment")):
			key = "ours load: WARN"
		default:
			continue
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, key+": ours on kafka's log dir logs "+strings.TrimSpace(line))
		}
	}
	return out
}

// diskKafkaLoadComplaints returns what Kafka's log says about loading the
// log dir that a clean one never makes it say.
// With unclean, the recovery it was made to do is no complaint.
func diskKafkaLoadComplaints(log string, unclean bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(log, "\n") {
		l := strings.ToLower(line)
		var key string
		switch {
		case strings.Contains(l, "corrupt"):
			key = "kafka load: corrupt"
		case strings.Contains(l, "recovering unflushed segment"):
			key = "kafka load: segment recovery"
		case strings.Contains(l, "since no clean shutdown file was found"):
			key = "kafka load: no clean shutdown"
		case strings.Contains(l, "orphaned index") || strings.Contains(l, "could not find offset index") ||
			strings.Contains(l, "deleting all segments") || strings.Contains(l, "invalid offset during recovery"):
			key = "kafka load: segment trouble"
		case strings.Contains(line, "] ERROR "):
			key = "kafka load: ERROR"
		default:
			continue
		}
		if unclean && (key == "kafka load: segment recovery" || key == "kafka load: no clean shutdown") {
			continue
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, key+": kafka on our log dir logs "+strings.TrimSpace(line))
		}
	}
	return out
}

// diskWrite creates the three topics on the broker at addr and writes the
// scenario; it returns once the compacted topic is cleaned up to its active
// segment and disk-epochs has a second leader epoch.
func diskWrite(t *testing.T, addr, logDir string, zkc *zkmeta.Client, chroot string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	admCl := diskClient(t, addr)
	adm := kadm.NewClient(admCl)
	compactCfg := map[string]*string{
		"cleanup.policy":            kadm.StringPtr("compact"),
		"segment.bytes":             kadm.StringPtr("4096"),
		"segment.ms":                kadm.StringPtr("100"),
		"min.cleanable.dirty.ratio": kadm.StringPtr("0.01"),
	}
	for _, topic := range diskTopics {
		var cfg map[string]*string
		switch topic {
		case "disk-compact":
			cfg = compactCfg
		case "disk-logtime":
			cfg = map[string]*string{"message.timestamp.type": kadm.StringPtr("LogAppendTime")}
		}
		resp, err := adm.CreateTopic(ctx, 1, 1, cfg, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			t.Fatalf("create %s: %v", topic, err)
		}
	}

	// disk-plain: five producers, one per codec, each idempotent; explicit
	// timestamps (a millisecond grid near now, so segment.ms never rolls).
	base := time.Now().Add(-time.Minute).UnixMilli()
	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}}
	n := 0
	for round := range 3 {
		for _, cd := range codecs {
			cl := diskClient(t, addr, kgo.ProducerBatchCompression(cd.codec), kgo.DefaultProduceTopic("disk-plain"))
			var recs []*kgo.Record
			for i := range 20 {
				r := &kgo.Record{
					Key:       fmt.Appendf(nil, "key-%s-%d-%d", cd.name, round, i),
					Value:     diskValue(n, 100+i),
					Timestamp: time.UnixMilli(base + int64(n)*10),
					Headers:   []kgo.RecordHeader{{Key: "codec", Value: []byte(cd.name)}, {Key: "n", Value: []byte(strconv.Itoa(n))}},
				}
				switch i {
				case 3:
					r.Key = nil // a record without key
				case 4:
					r.Headers = nil
				case 5:
					r.Value = nil
				case 6:
					r.Headers = append(r.Headers, kgo.RecordHeader{Key: "empty"})
				}
				recs = append(recs, r)
				n++
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("produce disk-plain %s: %v", cd.name, err)
			}
			cl.Close()
		}
	}

	// disk-compact: 20 keys, then a third of them overwritten in each of 11
	// rounds, so the cleaner keeps part of many batches; a tombstone in the
	// last round stays (delete.retention.ms is a day).
	ccl := diskClient(t, addr, kgo.DefaultProduceTopic("disk-compact"), kgo.ProducerBatchCompression(kgo.NoCompression()))
	for round := range 12 {
		var recs []*kgo.Record
		for k := range 20 {
			if round > 0 && (k*7+round)%3 != 0 {
				continue // the latest values end up spread over many batches
			}
			r := &kgo.Record{Key: fmt.Appendf(nil, "ck-%02d", k), Value: fmt.Appendf(nil, "round-%02d-%s", round, strings.Repeat("c", 30))}
			if round == 11 && k == 7 {
				r.Value = nil
			}
			recs = append(recs, r)
		}
		if err := ccl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce disk-compact: %v", err)
		}
	}
	// One more batch after segment.ms, so the last full round is in a
	// closed (cleanable) segment.
	time.Sleep(150 * time.Millisecond) // segment.ms is time on the broker's clock: no event to wait on
	if err := ccl.ProduceSync(ctx, &kgo.Record{Key: []byte("ck-last"), Value: []byte("last")}).FirstErr(); err != nil {
		t.Fatalf("produce disk-compact: %v", err)
	}
	diskWaitCleaned(t, ctx, logDir, "disk-compact", 0)

	// disk-logtime: the broker stamps its append time on two lz4 batches.
	lcl := diskClient(t, addr, kgo.DefaultProduceTopic("disk-logtime"), kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	for b := range 2 {
		var recs []*kgo.Record
		for i := range 10 {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "l%d", i), Value: diskValue(b*10+i, 50), Timestamp: time.UnixMilli(base)})
		}
		if err := lcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce disk-logtime: %v", err)
		}
	}

	// disk-epochs: ten records at the first epoch, a new epoch, ten more.
	ecl := diskClient(t, addr, kgo.DefaultProduceTopic("disk-epochs"))
	for phase := range 2 {
		if phase == 1 {
			// The broker's controller resigns on /controller's deletion,
			// is elected again and sends the state's new leader epoch
			// (KafkaController.processReelect).
			epoch := diskBumpLeaderEpoch(t, zkc, chroot, "disk-epochs")
			diskWaitEpoch(t, ctx, addr, "disk-epochs", epoch)
		}
		var recs []*kgo.Record
		for i := range 10 {
			recs = append(recs, &kgo.Record{Key: fmt.Appendf(nil, "e%d", i), Value: fmt.Appendf(nil, "phase-%d-%d", phase, i)})
		}
		if err := ecl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce disk-epochs phase %d: %v", phase, err)
		}
	}
	if cp := diskReadFile(filepath.Join(logDir, "disk-epochs-0", "leader-epoch-checkpoint")); strings.Count(strings.TrimSpace(cp), "\n") < 3 {
		t.Fatalf("disk-epochs-0/leader-epoch-checkpoint has fewer than two epochs:\n%s", cp)
	}
	if segs, _ := filepath.Glob(filepath.Join(logDir, "disk-plain-0", "*.log")); len(segs) < 3 {
		t.Fatalf("disk-plain-0 has %d segments, want several", len(segs))
	}
}

// diskValue is a value that compresses only so far (hex of a fixed
// pseudo-random sequence), so the codecs still make several segments.
func diskValue(n, size int) []byte {
	x := uint64(n)*0x9E3779B97F4A7C15 + 1
	b := fmt.Appendf(nil, "value-%04d-", n)
	for range size {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b = append(b, "0123456789abcdef"[x&15])
	}
	return b
}

// diskClient is a franz-go client for the one broker at addr; Fetch and
// ListOffsets are capped at the versions both sides serve with topic names
// (Fetch 12) and one answer per timestamp (ListOffsets 7).
func diskClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	v := kversion.V3_9_0()
	v.SetMaxKeyVersion(kmsg.Fetch.Int16(), 12)
	v.SetMaxKeyVersion(kmsg.ListOffsets.Int16(), 7)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.MaxVersions(v), kgo.MetadataMinAge(50 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// diskWaitCleaned polls cleaner-offset-checkpoint until the cleaner has
// cleaned topic-partition up to the base offset of its active segment.
func diskWaitCleaned(t *testing.T, ctx context.Context, logDir, topic string, partition int) {
	t.Helper()
	var last string
	for {
		segs, _ := filepath.Glob(filepath.Join(logDir, fmt.Sprintf("%s-%d", topic, partition), "*.log"))
		var active int64 = -1
		for _, s := range segs {
			if off, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(s), ".log"), 10, 64); err == nil && off > active {
				active = off
			}
		}
		last = diskReadFile(filepath.Join(logDir, "cleaner-offset-checkpoint"))
		for _, line := range strings.Split(last, "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && f[0] == topic && f[1] == strconv.Itoa(partition) {
				if off, _ := strconv.ParseInt(f[2], 10, 64); active > 0 && off >= active {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s-%d not cleaned up to its active segment in time (segments %v); cleaner-offset-checkpoint:\n%s", topic, partition, segs, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// diskBumpLeaderEpoch does what a controller electing a new leader does to
// the state znode (leader_epoch+1) and deletes /controller, so the broker's
// controller is elected again, loads the state and sends LeaderAndIsr.
func diskBumpLeaderEpoch(t *testing.T, zkc *zkmeta.Client, chroot, topic string) int32 {
	t.Helper()
	path := chroot + "/brokers/topics/" + topic + "/partitions/0/state"
	data, st, err := zkc.Get(path)
	if err != nil {
		t.Fatalf("get %s: %v", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var state map[string]any
	if err := dec.Decode(&state); err != nil {
		t.Fatalf("%s: %q: %v", path, data, err)
	}
	epoch, err := state["leader_epoch"].(json.Number).Int64()
	if err != nil {
		t.Fatalf("%s: leader_epoch in %q: %v", path, data, err)
	}
	state["leader_epoch"] = epoch + 1
	out, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zkc.Set(path, out, st.Version); err != nil {
		t.Fatalf("set %s: %v", path, err)
	}
	if err := zkc.Delete(chroot+"/controller", -1); err != nil {
		t.Fatalf("delete /controller: %v", err)
	}
	return int32(epoch + 1)
}

// diskWaitEpoch polls Metadata until topic's partition 0 has a leader at
// leader epoch epoch.
func diskWaitEpoch(t *testing.T, ctx context.Context, addr, topic string, epoch int32) {
	t.Helper()
	if err := diskReachEpoch(ctx, addr, topic, epoch); err != nil {
		t.Fatal(err)
	}
}

func diskReachEpoch(ctx context.Context, addr, topic string, epoch int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		m, err := diskMetadata(ctx, cl, topic)
		if err == nil && m.ErrorCode == 0 && m.Leader >= 0 && m.LeaderEpoch >= epoch {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s-0 not led at epoch %d in time: leader %d epoch %d error %d %v", topic, epoch, m.Leader, m.LeaderEpoch, m.ErrorCode, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func diskMetadata(ctx context.Context, cl *kgo.Client, topic string) (kmsg.MetadataResponseTopicPartition, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, cl)
	if err != nil {
		return kmsg.MetadataResponseTopicPartition{}, err
	}
	for _, tp := range resp.Topics {
		if tp.ErrorCode != 0 {
			return kmsg.MetadataResponseTopicPartition{ErrorCode: tp.ErrorCode}, nil
		}
		for _, p := range tp.Partitions {
			if p.Partition == 0 {
				return p, nil
			}
		}
	}
	return kmsg.MetadataResponseTopicPartition{}, fmt.Errorf("%s-0 not in metadata", topic)
}

// diskWaitLeaders waits until the broker at addr leads every partition of
// the view at the view's leader epoch (or a later one).
func diskWaitLeaders(t *testing.T, addr string, want diskView) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, topic := range diskTopics {
		diskWaitEpoch(t, ctx, addr, topic, want[topic].MetaEpoch)
	}
}

type diskRecord struct {
	Offset        int64
	Timestamp     int64
	TsType        int8
	Codec         uint8
	Key, Value    string
	Headers       string
	LeaderEpoch   int32
	ProducerID    int64
	ProducerEpoch int16
}

type diskListOffset struct {
	Err       int16
	Offset    int64
	Timestamp int64
	Epoch     int32
}

type diskEpochEnd struct {
	Err   int16
	Epoch int32
	End   int64
}

type diskPart struct {
	MetaEpoch   int32
	Records     []diskRecord
	Batches     [][]byte
	Queries     []int64 // ListOffsets timestamps asked, in order
	ListOffsets []diskListOffset
	Epochs      []diskEpochEnd // OffsetForLeaderEpoch for epochs 0..max+1
}

type diskView map[string]*diskPart

// diskCollect reads everything the broker at addr serves of the scenario's
// partitions. The ListOffsets timestamps come from like's records when
// given (so both sides answer the same questions), else from its own.
func diskCollect(t *testing.T, addr string, like diskView) diskView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := diskClient(t, addr)
	view := diskView{}
	for _, topic := range diskTopics {
		p := &diskPart{}
		view[topic] = p
		m, err := diskMetadata(ctx, cl, topic)
		if err != nil || m.ErrorCode != 0 {
			t.Fatalf("metadata %s at %s: %v (error %d)", topic, addr, err, m.ErrorCode)
		}
		p.MetaEpoch = m.LeaderEpoch
		latest := diskListOffsetAt(t, ctx, cl, topic, -1)
		p.Batches = diskFetchBatches(t, ctx, cl, topic, latest.Offset)
		p.Records = diskConsume(t, ctx, addr, topic, latest.Offset)
		if like != nil {
			p.Queries = like[topic].Queries
		} else {
			p.Queries = diskQueries(p.Records)
		}
		for _, ts := range p.Queries {
			p.ListOffsets = append(p.ListOffsets, diskListOffsetAt(t, ctx, cl, topic, ts))
		}
		maxEpoch := int32(0)
		for _, r := range p.Records {
			maxEpoch = max(maxEpoch, r.LeaderEpoch)
		}
		if like != nil {
			maxEpoch = int32(len(like[topic].Epochs)) - 2
		}
		for e := int32(0); e <= maxEpoch+1; e++ {
			p.Epochs = append(p.Epochs, diskEpochEndOf(t, ctx, cl, topic, e))
		}
	}
	return view
}

// diskCheckScenario fails the test unless the writer's view holds what the
// scenario is about: every codec, a cleaned compacted topic, two epochs.
func diskCheckScenario(t *testing.T, writer string, v diskView) {
	t.Helper()
	codecs := map[uint8]bool{}
	for _, r := range v["disk-plain"].Records {
		codecs[r.Codec] = true
	}
	if len(codecs) != 5 || len(v["disk-plain"].Records) != 300 {
		t.Fatalf("%s: disk-plain has %d records in codecs %v, want 300 in all five", writer, len(v["disk-plain"].Records), codecs)
	}
	if n := len(v["disk-compact"].Records); n == 0 || n > 21 {
		t.Fatalf("%s: disk-compact serves %d records, want the 20 keys' latest and the last: not cleaned", writer, n)
	}
	for _, r := range v["disk-logtime"].Records {
		if r.TsType != 1 || r.Timestamp == v["disk-plain"].Records[0].Timestamp {
			t.Fatalf("%s: disk-logtime record %+v has no log-append time", writer, r)
		}
	}
	if !slices.ContainsFunc(v["disk-compact"].Records, func(r diskRecord) bool { return r.Value == "null" }) {
		t.Fatalf("%s: disk-compact serves no tombstone", writer)
	}
	epochs := map[int32]int{}
	for _, r := range v["disk-epochs"].Records {
		epochs[r.LeaderEpoch]++
	}
	if len(epochs) != 2 {
		t.Fatalf("%s: disk-epochs records are in leader epochs %v, want two", writer, epochs)
	}
	for _, topic := range diskTopics {
		p := v[topic]
		t.Logf("%s wrote %s: %d batches, %d records, leader epoch %d, ListOffsets %v, OffsetForLeaderEpoch %v",
			writer, topic, len(p.Batches), len(p.Records), p.MetaEpoch, p.ListOffsets, p.Epochs)
	}
}

// diskDuplicates produces again, as a producer retrying, the first and the
// last batch of disk-plain (each the one batch of its producer) and the
// last of disk-epochs, and returns the answers. The producer state the
// broker loaded (snapshots, or rebuilt from the segments) must know them:
// Kafka answers a duplicate with the original batch's base offset and
// appends nothing.
func diskDuplicates(t *testing.T, addr string, v diskView) (answers []string, logEnds map[string]int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := diskClient(t, addr)
	for _, pick := range []struct {
		topic, name string
		batch       int
	}{{"disk-plain", "first", 0}, {"disk-plain", "last", -1}, {"disk-epochs", "last", -1}} {
		batches := v[pick.topic].Batches
		i := pick.batch
		if i < 0 {
			i += len(batches)
		}
		b := bytes.Clone(batches[i])
		binary.BigEndian.PutUint64(b[0:8], 0)            // a producer sends base offset 0
		binary.BigEndian.PutUint32(b[12:16], 0xffffffff) // and no partition leader epoch
		req := kmsg.NewPtrProduceRequest()
		req.Acks = -1
		req.TimeoutMillis = 10000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = pick.topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition = 0
		rp.Records = b
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("duplicate produce %s batch %d at %s: %v", pick.topic, i, addr, err)
		}
		p := resp.Topics[0].Partitions[0]
		answers = append(answers, fmt.Sprintf("%s %s batch: offset %d, error %d, base offset %d, log append time %d, log start offset %d",
			pick.topic, pick.name, int64(binary.BigEndian.Uint64(batches[i][0:8])), p.ErrorCode, p.BaseOffset, p.LogAppendTime, p.LogStartOffset))
	}
	logEnds = map[string]int64{}
	for _, topic := range []string{"disk-plain", "disk-epochs"} {
		latest := diskListOffsetAt(t, ctx, cl, topic, -1)
		logEnds[topic] = latest.Offset
		if want := v[topic].ListOffsets[1]; latest != want {
			answers = append(answers, fmt.Sprintf("%s log end after the duplicates: %+v, before %+v", topic, latest, want))
		}
	}
	return answers, logEnds
}

// diskMoveCheckpoints updates the writer's recovery and replication
// points to the log ends the reader reached by appending (a duplicate it
// did not recognise), so that difference is reported once, as itself.
func diskMoveCheckpoints(files map[string]string, logEnds map[string]int64) {
	for topic, end := range logEnds {
		for _, name := range []string{"recovery-point-offset-checkpoint", "replication-offset-checkpoint"} {
			if _, ok := files[name+" "+topic+"-0"]; ok {
				files[name+" "+topic+"-0"] = strconv.FormatInt(end, 10)
			}
		}
	}
}

func diskCompareDuplicates(want, got []string, wantName, gotName string) []string {
	var diffs []string
	for i := range max(len(want), len(got)) {
		var w, g string
		if i < len(want) {
			w = want[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if w != g {
			key := g
			if i < len(want) {
				key = w
			}
			key, _, _ = strings.Cut(key, ":")
			diffs = append(diffs, fmt.Sprintf("duplicate produce %s: %s %q, %s %q", key, wantName, w, gotName, g))
		}
	}
	return diffs
}

// diskQueries are the ListOffsets timestamps asked: earliest, latest, max
// timestamp, before the first record, each of a few records' timestamps,
// between two timestamps, and after the last.
func diskQueries(recs []diskRecord) []int64 {
	q := []int64{-2, -1, -3}
	if len(recs) == 0 {
		return q
	}
	var ts []int64
	for _, r := range recs {
		ts = append(ts, r.Timestamp)
	}
	sorted := slices.Clone(ts)
	slices.Sort(sorted)
	q = append(q, sorted[0]-1, sorted[0], ts[len(ts)/3], ts[len(ts)/2]+1, ts[len(ts)-1], sorted[len(sorted)-1], sorted[len(sorted)-1]+1)
	return q
}

func diskListOffsetAt(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, ts int64) diskListOffset {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = 0
	rp.CurrentLeaderEpoch = -1
	rp.Timestamp = ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("ListOffsets %s ts %d: %v", topic, ts, err)
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			return diskListOffset{Err: p.ErrorCode, Offset: p.Offset, Timestamp: p.Timestamp, Epoch: p.LeaderEpoch}
		}
	}
	t.Fatalf("ListOffsets %s ts %d: no partition in the answer", topic, ts)
	return diskListOffset{}
}

func diskEpochEndOf(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, epoch int32) diskEpochEnd {
	t.Helper()
	req := kmsg.NewPtrOffsetForLeaderEpochRequest()
	req.ReplicaID = -1
	rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
	rp.Partition = 0
	rp.CurrentLeaderEpoch = -1
	rp.LeaderEpoch = epoch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("OffsetForLeaderEpoch %s epoch %d: %v", topic, epoch, err)
	}
	for _, tp := range resp.Topics {
		for _, p := range tp.Partitions {
			return diskEpochEnd{Err: p.ErrorCode, Epoch: p.LeaderEpoch, End: p.EndOffset}
		}
	}
	t.Fatalf("OffsetForLeaderEpoch %s epoch %d: no partition in the answer", topic, epoch)
	return diskEpochEnd{}
}

// diskFetchBatches fetches partition 0 of topic from offset 0 up to end with
// raw Fetch requests and returns every whole record batch as served.
func diskFetchBatches(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, end int64) [][]byte {
	t.Helper()
	var batches [][]byte
	next := int64(0)
	for next < end {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 100
		req.MinBytes = 1
		req.MaxBytes = 1 << 20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = topic
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition = 0
		fp.CurrentLeaderEpoch = -1
		fp.FetchOffset = next
		fp.LogStartOffset = -1
		fp.PartitionMaxBytes = 1 << 20
		ft.Partitions = append(ft.Partitions, fp)
		req.Topics = append(req.Topics, ft)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("Fetch %s at %d: %v", topic, next, err)
		}
		if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
			t.Fatalf("Fetch %s at %d: error %d, %d topics", topic, next, resp.ErrorCode, len(resp.Topics))
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatalf("Fetch %s at %d: partition error %d", topic, next, p.ErrorCode)
		}
		raw := p.RecordBatches
		progressed := false
		for len(raw) >= 61 {
			size := 12 + int(int32(binary.BigEndian.Uint32(raw[8:12])))
			if size > len(raw) {
				break
			}
			base := int64(binary.BigEndian.Uint64(raw[0:8]))
			last := base + int64(int32(binary.BigEndian.Uint32(raw[23:27])))
			if last >= next {
				batches = append(batches, bytes.Clone(raw[:size]))
				next = last + 1
				progressed = true
			}
			raw = raw[size:]
		}
		if !progressed {
			t.Fatalf("Fetch %s at %d (end %d): no whole batch in %d bytes", topic, next, end, len(p.RecordBatches))
		}
	}
	return batches
}

// diskConsume reads partition 0 of topic from offset 0 up to end with a
// franz-go consumer.
func diskConsume(t *testing.T, ctx context.Context, addr, topic string, end int64) []diskRecord {
	t.Helper()
	cl := diskClient(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(0)}}), kgo.FetchMaxWait(100*time.Millisecond))
	defer cl.Close()
	var out []diskRecord
	next := int64(0)
	for next < end {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consume %s: at offset %d of %d: %v", topic, next, end, ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("consume %s-%d: %v", tp, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, fmt.Sprintf("%q=%s", h.Key, diskBytes(h.Value)))
			}
			out = append(out, diskRecord{
				Offset: r.Offset, Timestamp: r.Timestamp.UnixMilli(), TsType: r.Attrs.TimestampType(), Codec: r.Attrs.CompressionType(),
				Key: diskBytes(r.Key), Value: diskBytes(r.Value), Headers: strings.Join(hs, ","),
				LeaderEpoch: r.LeaderEpoch, ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch,
			})
			next = r.Offset + 1
		})
	}
	return out
}

func diskBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	return strconv.Quote(string(b))
}

// diskCompare lists how got differs from want; each line starts with a
// stable key (topic and what differs) followed by both answers.
func diskCompare(want, got diskView, wantName, gotName string) []string {
	var diffs []string
	add := func(key, format string, a, b any) {
		diffs = append(diffs, fmt.Sprintf("%s: %s "+format+", %s "+format, key, wantName, a, gotName, b))
	}
	for _, topic := range diskTopics {
		w, g := want[topic], got[topic]
		if w.MetaEpoch != g.MetaEpoch {
			add(topic+" metadata leader epoch", "%d", w.MetaEpoch, g.MetaEpoch)
		}
		if len(w.Batches) != len(g.Batches) {
			add(topic+" batch count", "%d", len(w.Batches), len(g.Batches))
		} else {
			for i := range w.Batches {
				if !bytes.Equal(w.Batches[i], g.Batches[i]) {
					add(topic+" batch bytes", "%x", diskBatchHead(w.Batches[i]), diskBatchHead(g.Batches[i]))
					break
				}
			}
		}
		if len(w.Records) != len(g.Records) {
			add(topic+" record count", "%d", len(w.Records), len(g.Records))
		}
		for i := range min(len(w.Records), len(g.Records)) {
			if w.Records[i] != g.Records[i] {
				add(topic+" records", "%+v", w.Records[i], g.Records[i])
				break
			}
		}
		names := map[int64]string{-1: "latest", -2: "earliest", -3: "max timestamp"}
		for i, q := range w.Queries {
			if i >= len(g.ListOffsets) || w.ListOffsets[i] != g.ListOffsets[i] {
				name, ok := names[q]
				if !ok {
					name = fmt.Sprintf("timestamp query #%d", i)
				}
				var gv any = "none"
				if i < len(g.ListOffsets) {
					gv = g.ListOffsets[i]
				}
				add(topic+" ListOffsets "+name, "%+v", w.ListOffsets[i], gv)
			}
		}
		for i := range max(len(w.Epochs), len(g.Epochs)) {
			var we, ge any = "none", "none"
			if i < len(w.Epochs) {
				we = w.Epochs[i]
			}
			if i < len(g.Epochs) {
				ge = g.Epochs[i]
			}
			if we != ge {
				add(fmt.Sprintf("%s OffsetForLeaderEpoch %d", topic, i), "%+v", we, ge)
			}
		}
	}
	return diffs
}

// diskBatchHead is a batch's fixed header (61 bytes), which is where two
// batches holding the same records usually differ.
func diskBatchHead(b []byte) []byte { return b[:min(len(b), 61)] }

// diskCheckpoints reads the checkpoint files that concern the scenario's
// partitions: each partition's leader-epoch-checkpoint and its line of the
// log dir's offset checkpoints.
func diskCheckpoints(t *testing.T, logDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, topic := range diskTopics {
		out[topic+"-0/leader-epoch-checkpoint"] = diskReadFile(filepath.Join(logDir, topic+"-0", "leader-epoch-checkpoint"))
	}
	// The clean-shutdown marker, with the broker epoch (the czxid of the
	// broker's registration, different on every start) blanked.
	marker := diskReadFile(filepath.Join(logDir, ".kafka_cleanshutdown"))
	out[".kafka_cleanshutdown"] = regexp.MustCompile(`"brokerEpoch":\d+`).ReplaceAllString(marker, `"brokerEpoch":N`)
	var meta []string
	for _, line := range strings.Split(diskReadFile(filepath.Join(logDir, "meta.properties")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			meta = append(meta, line)
		}
	}
	sort.Strings(meta)
	out["meta.properties"] = strings.Join(meta, " ")
	for _, name := range []string{"log-start-offset-checkpoint", "recovery-point-offset-checkpoint", "replication-offset-checkpoint"} {
		for _, line := range strings.Split(diskReadFile(filepath.Join(logDir, name)), "\n") {
			f := strings.Fields(line)
			if len(f) == 3 && slices.Contains(diskTopics, f[0]) {
				out[name+" "+f[0]+"-"+f[1]] = f[2]
			}
		}
	}
	return out
}

func diskCompareCheckpoints(want, got map[string]string, wantName, gotName string) []string {
	var diffs []string
	keys := diskKeys(want)
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want[k] != got[k] {
			diffs = append(diffs, fmt.Sprintf("checkpoint %s: after %s %q, after %s %q", k, wantName, want[k], gotName, got[k]))
		}
	}
	return diffs
}

// diskUnclean makes logDir look like a broker crashed on it long ago: no
// clean-shutdown marker and no recovery points, so every segment is
// recovered on load.
func diskUnclean(t *testing.T, logDir string) {
	t.Helper()
	for _, name := range []string{".kafka_cleanshutdown", "recovery-point-offset-checkpoint"} {
		if err := os.Remove(filepath.Join(logDir, name)); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// diskIndexFiles reads every .index and .timeindex of the scenario's
// partitions, by "<partition dir>/<file>".
func diskIndexFiles(t *testing.T, logDir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, topic := range diskTopics {
		for _, ext := range []string{"*.index", "*.timeindex"} {
			files, _ := filepath.Glob(filepath.Join(logDir, topic+"-0", ext))
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out[topic+"-0/"+filepath.Base(f)] = data
			}
		}
	}
	return out
}

// diskCompareIndexes reports, per partition and kind of index, the first
// index file that differs between the writer's and the reader's after the
// reader ran (files of segments only one side has are left out: the
// cleaner may merge segments).
func diskCompareIndexes(phase string, want, got map[string][]byte, wantName, gotName string) []string {
	var diffs []string
	seen := map[string]bool{}
	names := diskKeys(want)
	sort.Strings(names)
	for _, name := range names {
		g, ok := got[name]
		if !ok || bytes.Equal(want[name], g) {
			continue
		}
		kind := strings.SplitN(name, "/", 2)[0] + " " + filepath.Ext(name)
		if seen[kind] {
			continue
		}
		seen[kind] = true
		w := want[name]
		width := 8
		if filepath.Ext(name) == ".timeindex" {
			width = 12
		}
		at := 0
		for at < min(len(w), len(g)) && w[at] == g[at] {
			at++
		}
		at -= at % width
		diffs = append(diffs, fmt.Sprintf("%s index %s: %s %s is %d bytes, %x... at entry %d; %s %d bytes, %x...",
			phase, kind, wantName, name, len(w), w[at:min(len(w), at+width)], at/width, gotName, len(g), g[at:min(len(g), at+width)]))
	}
	return diffs
}

func diskReadFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(data)
}

// diskCheckDiffs fails the test unless the differences found are exactly the
// known ones (by key, the text before the first ": ").
func diskCheckDiffs(t *testing.T, direction string, diffs []string) {
	t.Helper()
	found := map[string]bool{}
	for _, d := range diffs {
		key := direction + " " + strings.SplitN(d, ": ", 2)[0]
		found[key] = true
		if _, known := diskKnownDifferences[key]; known {
			t.Logf("known difference %s", d)
		} else {
			t.Errorf("difference %s", d)
		}
	}
	for key, what := range diskKnownDifferences {
		if strings.HasPrefix(key, direction+" ") && !found[key] {
			t.Errorf("known difference %q (%s) no longer seen: remove it from diskKnownDifferences", key, what)
		}
	}
}
