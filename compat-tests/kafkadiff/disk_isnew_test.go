package kafkadiff_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// produceAcked produces n records "<prefix>-<i>" to topic's partition 0
// with acks=all and returns the acknowledged values; any error fails the
// test.
func produceAcked(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, topic, prefix string, n int) map[string]bool {
	t.Helper()
	cl := newClient(kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.RecordDeliveryTimeout(30*time.Second))
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, kgo.StringRecord(fmt.Sprintf("%s-%04d", prefix, i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	acked := map[string]bool{}
	for _, r := range cl.ProduceSync(ctx, recs...) {
		if r.Err != nil {
			t.Fatalf("produce %s to %s: %v", r.Record.Value, topic, r.Err)
		}
		acked[string(r.Record.Value)] = true
	}
	return acked
}

// waitPartition polls Metadata until topic-0 matches: a leader ok accepts,
// this ISR and these offline replicas (sorted).
func waitPartition(t *testing.T, adm *kadm.Client, topic string, leaderOK func(int32) bool, isr, offline []int32) {
	t.Helper()
	harness.Poll(t, 60*time.Second, topic+"-0 metadata", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p, err := partitionMeta(ctx, adm, topic)
		if err != nil {
			return false, err.Error()
		}
		gotISR, gotOff := slices.Sorted(slices.Values(p.ISR)), slices.Sorted(slices.Values(p.OfflineReplicas))
		return leaderOK(p.Leader) && slices.Equal(gotISR, isr) && slices.Equal(gotOff, offline),
			fmt.Sprintf("leader %d isr %v offline %v", p.Leader, gotISR, gotOff)
	})
}

// checkServed fails the test if topic-0 does not serve every acknowledged
// value exactly once.
func checkServed(t *testing.T, newClient func(...kgo.Opt) *kgo.Client, when, topic string, acked map[string]bool) {
	t.Helper()
	served := readAll(t, newClient, topic)
	missing, dups := missingAndDuplicated(acked, served)
	if len(missing) > 0 || len(dups) > 0 {
		t.Errorf("%s, %s-0: %d acknowledged records missing %v, %d duplicated %v (served %d)", when, topic,
			len(missing), missing[:min(5, len(missing))], len(dups), dups[:min(5, len(dups))], len(served))
	}
}

// The IsNew rule of KIP-112 end to end. Broker 1 has two log dirs, A and
// B; it leads lost-0 (in A) and kept-0 (in B), RF 3, min ISR 2, records
// acknowledged with acks=all. Broker 1 stops and A is replaced by a regular
// file, so at the restart A cannot even be listed: broker 1 does not know
// lost-0 lived there. The controller's LeaderAndIsr for lost-0 (a replica
// going online, isNew = false) is refused with KAFKA_STORAGE_ERROR
// (LogManager.getOrCreateLog: "Can not create log for lost-0 because log
// directories ... are offline"), so lost-0 is NOT recreated empty in B: the
// replica stays offline, the leader stays elsewhere, the preferred (empty)
// replica cannot be elected, and no acknowledged record is lost. kept-0
// rejoins its ISR. A topic created afterwards, and a replica a reassignment
// adds on broker 1, are new (isNew = true): they are placed in B. With A
// back, broker 1 rejoins lost-0's ISR and, made leader again, serves every
// acknowledged record, including those written while it was away.
func TestLogDirUnlistableAtStartIsNew(t *testing.T) {
	c := cluster.Start(t, 0)
	base := t.TempDir()
	dirA, dirB := filepath.Join(base, "a"), filepath.Join(base, "b")
	startDiskFaultBrokers(c, dirA, dirB)
	admCl := c.Client(kgo.MetadataMinAge(10 * time.Millisecond))
	adm := kadm.NewClient(admCl)
	one := func(l int32) bool { return l == 1 }
	notOne := func(l int32) bool { return l == 2 || l == 3 }

	createAssigned(t, admCl, "lost", []int32{1, 2, 3}, minISR2)
	waitPlaced(t, "lost", dirA, dirA, dirB) // the first log: the first of the least loaded dirs
	createAssigned(t, admCl, "kept", []int32{1, 2, 3}, minISR2)
	waitPlaced(t, "kept", dirB, dirA, dirB)
	waitISR(t, adm, "lost", 3)
	waitISR(t, adm, "kept", 3)
	lostAcked := produceAcked(t, c.Client, "lost", "before", 100)
	keptAcked := produceAcked(t, c.Client, "kept", "before", 100)

	// Broker 1 restarts with A unlistable.
	if code := c.Stop(1); code != 0 {
		t.Fatalf("broker 1 exit code %d after SIGTERM:\n%s", code, c.LogTail(1, 30))
	}
	saved := dirA + ".saved"
	if err := os.Rename(dirA, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dirA, []byte("not a log dir\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Restart(1)
	waitPartition(t, adm, "lost", notOne, []int32{2, 3}, []int32{1})
	waitPartition(t, adm, "kept", func(l int32) bool { return l >= 1 }, []int32{1, 2, 3}, nil)
	if logDirOf("lost", dirA, dirB) != "" {
		t.Errorf("lost-0 was recreated on broker 1 in %s", logDirOf("lost", dirA, dirB))
	}
	if !c.Running(1) {
		t.Fatalf("broker 1 exited with a log dir left:\n%s", c.LogTail(1, 30))
	}
	if lines := grepLog(c.Broker(1).LogFile, "Can not create log for lost-0 because log directories "+dirA+" are offline"); len(lines) == 0 {
		t.Errorf("broker 1 did not log the refusal to create lost-0:\n%s", c.LogTail(1, 30))
	} else {
		t.Log(harness.Clip(lines[0], 400))
	}
	// The preferred replica (broker 1, no log) cannot be elected.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	res, err := adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"lost": {0: {}}})
	cancel()
	if err != nil {
		t.Fatalf("preferred election of lost-0: %v", err)
	}
	if pr := res["lost"][0]; !errors.Is(pr.Err, kerr.PreferredLeaderNotAvailable) {
		t.Errorf("preferred election of lost-0 with its preferred replica offline: %v, want PREFERRED_LEADER_NOT_AVAILABLE", pr.Err)
	}
	waitPartition(t, adm, "lost", notOne, []int32{2, 3}, []int32{1})
	// acks=all goes on with ISR 2 = min ISR.
	maps.Copy(lostAcked, produceAcked(t, c.Client, "lost", "away", 50))
	checkServed(t, c.Client, "broker 1's dir A unlistable", "lost", lostAcked)
	checkServed(t, c.Client, "broker 1's dir A unlistable", "kept", keptAcked)

	// New replicas on broker 1 go to B: a new topic, and a replica a
	// reassignment adds.
	createAssigned(t, admCl, "fresh", []int32{1, 2, 3}, minISR2)
	waitPlaced(t, "fresh", dirB, dirA, dirB)
	waitISR(t, adm, "fresh", 3)
	createAssigned(t, admCl, "moved", []int32{2, 3}, minISR2)
	waitISR(t, adm, "moved", 2)
	movedAcked := produceAcked(t, c.Client, "moved", "before", 50)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	ar, err := adm.AlterPartitionAssignments(ctx, kadm.AlterPartitionAssignmentsReq{"moved": {0: {2, 3, 1}}})
	cancel()
	if err != nil || ar.Error() != nil {
		t.Fatalf("reassigning moved-0 to [2 3 1]: %v %v", err, ar.Error())
	}
	waitPlaced(t, "moved", dirB, dirA, dirB)
	waitPartition(t, adm, "moved", notOne, []int32{1, 2, 3}, nil)
	checkServed(t, c.Client, "after the reassignment", "moved", movedAcked)

	// A back: broker 1 recovers lost-0, catches up and serves it all.
	if code := c.Stop(1); code != 0 {
		t.Fatalf("broker 1 exit code %d after SIGTERM:\n%s", code, c.LogTail(1, 30))
	}
	if err := os.Remove(dirA); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(saved, dirA); err != nil {
		t.Fatal(err)
	}
	c.Restart(1)
	waitPartition(t, adm, "lost", notOne, []int32{1, 2, 3}, nil)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	res, err = adm.ElectLeaders(ctx, kadm.ElectPreferredReplica, kadm.TopicsSet{"lost": {0: {}}})
	cancel()
	if err != nil {
		t.Fatalf("preferred election of lost-0: %v", err)
	}
	if pr := res["lost"][0]; pr.Err != nil && !errors.Is(pr.Err, kerr.ElectionNotNeeded) {
		t.Fatalf("preferred election of lost-0 with dir A back: %v", pr.Err)
	}
	waitPartition(t, adm, "lost", one, []int32{1, 2, 3}, nil)
	checkServed(t, c.Client, "dir A back, broker 1 leading", "lost", lostAcked)
}

// isNewBroker is one broker (id 1) with log dirs a,b: ours or Kafka 3.9's.
type isNewBroker struct {
	client  func(...kgo.Opt) *kgo.Client
	restart func(t *testing.T, between func())
	logFile string
	// refusal is the log line naming the refused creation.
	refusal string
}

// The same IsNew case on one broker of ours and one of Kafka 3.9, the
// answers compared: a single broker whose dir a holds lost-0 (its only
// replica) and b kept-0 restarts with a replaced by a regular file. Kafka
// takes a offline (createAndValidateLogDirs: not a readable log
// directory), refuses lost-0's LeaderAndIsr (isNew = false) and does not
// create it in b: lost-0 has no leader and replica 1 is offline in
// Metadata; kept-0 serves every acknowledged record; a new topic goes to b.
func TestLogDirUnlistableAtStartIsNewDifferential(t *testing.T) {
	c := cluster.Start(t, 0)
	run := func(t *testing.T, dirA, dirB string, b isNewBroker) {
		admCl := b.client(kgo.MetadataMinAge(10 * time.Millisecond))
		adm := kadm.NewClient(admCl)
		createAssigned(t, admCl, "lost", []int32{1}, nil)
		waitPlaced(t, "lost", dirA, dirA, dirB)
		createAssigned(t, admCl, "kept", []int32{1}, nil)
		waitPlaced(t, "kept", dirB, dirA, dirB)
		waitISR(t, adm, "lost", 1)
		waitISR(t, adm, "kept", 1)
		produceAcked(t, b.client, "lost", "before", 20)
		keptAcked := produceAcked(t, b.client, "kept", "before", 20)
		b.restart(t, func() {
			if err := os.Rename(dirA, dirA+".saved"); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dirA, []byte("not a log dir\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		})
		waitPartition(t, adm, "lost", func(l int32) bool { return l == -1 }, []int32{1}, []int32{1})
		if d := logDirOf("lost", dirA, dirB); d != "" {
			t.Errorf("lost-0 recreated in %s", d)
		}
		if lines := grepLog(b.logFile, b.refusal); len(lines) == 0 {
			t.Errorf("no log line with %q", b.refusal)
		} else {
			t.Log(harness.Clip(lines[0], 400))
		}
		waitISR(t, adm, "kept", 1)
		checkServed(t, b.client, "dir a unlistable", "kept", keptAcked)
		createAssigned(t, admCl, "fresh", []int32{1}, nil)
		waitPlaced(t, "fresh", dirB, dirA, dirB)
		waitISR(t, adm, "fresh", 1)
	}
	t.Run("kafkazk", func(t *testing.T) {
		base := t.TempDir()
		dirA, dirB := filepath.Join(base, "a"), filepath.Join(base, "b")
		c.AddBroker(1, "log.dirs="+dirA+","+dirB)
		c.WaitForBrokers(1)
		defer func() {
			if c.Running(1) {
				c.Stop(1)
			}
		}()
		run(t, dirA, dirB, isNewBroker{
			client: c.Client,
			restart: func(t *testing.T, between func()) {
				if code := c.Stop(1); code != 0 {
					t.Fatalf("broker 1 exit code %d:\n%s", code, c.LogTail(1, 30))
				}
				between()
				c.Restart(1)
			},
			logFile: c.Broker(1).LogFile,
			refusal: "Can not create log for lost-0 because log directories " + dirA + " are offline",
		})
	})
	t.Run("kafka-3.9", func(t *testing.T) {
		base := t.TempDir()
		dirA, dirB := filepath.Join(base, "a"), filepath.Join(base, "b")
		k := cluster.StartKafkaRef(t, c.ZK.Addr, cluster.KafkaRefOptions{ID: 1, Overrides: map[string]string{"log.dirs": dirA + "," + dirB}})
		defer k.Stop(t)
		newClient := func(opts ...kgo.Opt) *kgo.Client {
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Addr)}, opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(cl.Close)
			return cl
		}
		run(t, dirA, dirB, isNewBroker{
			client: newClient,
			restart: func(t *testing.T, between func()) {
				k.Stop(t)
				between()
				k.Restart(t)
			},
			logFile: k.LogFile,
			refusal: "Can not create log for lost-0 because log directories " + dirA + " are offline",
		})
	})
}
