package kafkadiff_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// What Apache Kafka 3.9 itself does on the ZooKeeper faults that
// TestZKOutage, TestZKSessionsExpireAtOnce and TestZKMalformedZnodes play
// on our brokers (one JVM, the three cases in turn):
//
//   - ZooKeeper killed and started again on its data after an outage longer
//     than zookeeper.session.timeout.ms: the broker reconnects in its old
//     session (the server restored it and timed it from the restart), so its
//     registration (broker epoch) and the controller stay. Ours: the same.
//   - its session ended on the server: it registers again (new czxid) and is
//     elected controller again (controller epoch + 1). Ours: the same.
//   - a topic znode, or a partition state znode, with wrong types, then a
//     controller failover: the failover throws, the controller resigns and
//     is elected again, in a loop (the controller epoch climbs). Ours differs on purpose: the topic
//     is logged and skipped, the controller stays (TestZKMalformedZnodes).
//     A topic znode that is not JSON at all: Kafka takes it for a topic
//     without partitions and the failover succeeds. Ours: logged and skipped.
func TestZKFaultsKafkaRef(t *testing.T) {
	dir := t.TempDir()
	zk, err := zktest.StartProcess(dir, 0, nil)
	if err != nil {
		t.Fatalf("ZooKeeper: %v", err)
	}
	t.Cleanup(zk.Stop)
	ref := cluster.StartKafkaRef(t, zk.Addr, cluster.KafkaRefOptions{})
	parent := t

	zkc := refZK(t, zk.Addr)
	path := func(p string) string { return ref.Chroot + p }
	regStat := func() *zkmeta.Stat {
		_, st, err := zkc.Get(path("/brokers/ids/0"))
		if err != nil {
			return nil
		}
		return st
	}
	ctlEpoch := func() int {
		data, _, err := zkc.Get(path("/controller_epoch"))
		if err != nil {
			return -1
		}
		n, _ := strconv.Atoi(string(data))
		return n
	}
	adm := kadm.NewClient(ref.Client(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	t.Run("outage", func(t *testing.T) {
		t.Cleanup(func() {
			if t.Failed() { // Kafka's ZooKeeper client's story, and the server's
				t.Logf("Kafka 3.9's ZooKeeper lines:\n%s\nZooKeeper's log:\n%s", grepLines(ref.LogFile, "ZooKeeper", "ession"), zk.LogTail(60))
			}
		})
		before := regStat()
		epoch := ctlEpoch()
		if before == nil || epoch < 1 {
			t.Fatalf("Kafka not registered (%v) or no controller epoch (%d)", before, epoch)
		}
		zkc.Close()
		zk.Stop()
		time.Sleep(8 * time.Second) // longer than the 6 s session timeout
		zk2, err := zktest.StartProcess(dir, zk.Port, nil)
		if err != nil {
			t.Fatalf("restarting ZooKeeper: %v", err)
		}
		// Cleanups run last-registered first: Kafka stops before this server.
		parent.Cleanup(func() {
			ref.Stop(parent)
			zk2.Stop()
		})
		zk = zk2
		// The broker's connection comes back in its old session - unless
		// it came more than the session timeout after ZooKeeper restored
		// the session (a loaded machine): then ZooKeeper logs the expiry
		// and Kafka registers in a new session.
		zkc = refZK(parent, zk.Addr)
		sid := fmt.Sprintf("sid=0x%x", before.EphemeralOwner)
		expiredLine := fmt.Sprintf("Expiring session 0x%x", before.EphemeralOwner)
		survived := false
		harness.Poll(t, 30*time.Second, "Kafka back in its old session, or registered in a new one", func() (bool, string) {
			cons, err := zktest.FourLetter(zk.Addr, "cons", time.Second)
			if err == nil && strings.Contains(cons, sid) {
				survived = true
				return true, ""
			}
			st := regStat()
			return st != nil && st.Czxid != before.Czxid, cons
		})
		after := regStat()
		switch {
		case survived:
			if after == nil || after.Czxid != before.Czxid || ctlEpoch() != epoch {
				t.Errorf("Kafka 3.9 in its old session after the outage: registration %+v (was czxid %d), controller epoch %d (was %d)",
					after, before.Czxid, ctlEpoch(), epoch)
			}
		case strings.Contains(grepLines(filepath.Join(zk.Dir, "zookeeper.log"), expiredLine), expiredLine):
			t.Logf("Kafka 3.9 reconnected too late after ZooKeeper's restart (load): ZooKeeper expired its session and it registered again")
		default:
			t.Errorf("Kafka 3.9 lost its session over the outage without ZooKeeper expiring it:\n%s", zk.LogTail(40))
		}
		if _, err := adm.Metadata(ctx); err != nil {
			t.Errorf("Kafka 3.9 metadata after the outage: %v", err)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		before := regStat()
		if before == nil {
			t.Fatal("Kafka 3.9 not registered")
		}
		epoch := ctlEpoch()
		if err := zktest.ExpireSession(zk.Addr, before.EphemeralOwner, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		harness.Poll(t, 30*time.Second, "Kafka registered again and elected controller again", func() (bool, string) {
			st := regStat()
			return st != nil && st.Czxid != before.Czxid && ctlEpoch() > epoch, fmt.Sprintf("registration %+v epoch %d", st, ctlEpoch())
		})
	})

	t.Run("malformed", func(t *testing.T) {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, "not-json"); err != nil {
			t.Fatal(err)
		}
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, "bad-types"); err != nil {
			t.Fatal(err)
		}
		// Not JSON: Kafka's failover takes the topic for one without
		// partitions and succeeds.
		if _, err := zkc.Set(path("/brokers/topics/not-json"), []byte("not json"), -1); err != nil {
			t.Fatal(err)
		}
		epoch := forceFailover(t, zkc, path("/controller"), ctlEpoch)
		time.Sleep(3 * time.Second) // a failover loop would show within this
		if e := ctlEpoch(); e != epoch+1 {
			t.Errorf("Kafka 3.9 with a non-JSON topic znode: controller epoch %d after one failover from %d", e, epoch)
		}
		// Wrong types: the failover throws, the controller resigns and
		// is elected again, over and over.
		good, _, err := zkc.Get(path("/brokers/topics/bad-types"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zkc.Set(path("/brokers/topics/bad-types"), []byte(`{"version":3,"partitions":{"0":"0"}}`), -1); err != nil {
			t.Fatal(err)
		}
		epoch = forceFailover(t, zkc, path("/controller"), ctlEpoch)
		harness.Poll(t, 20*time.Second, "Kafka 3.9's controller failing over in a loop", func() (bool, string) {
			return ctlEpoch() >= epoch+3, fmt.Sprint("controller epoch ", ctlEpoch(), " from ", epoch)
		})
		if !strings.Contains(ref.LogTail(400), "Error while electing or becoming controller") {
			t.Logf("Kafka 3.9's log tail:\n%s", ref.LogTail(40))
		}
		data, _, _ := zkc.Get(path("/brokers/topics/not-json"))
		t.Logf("Kafka 3.9's /brokers/topics/not-json after its failovers: %q", data)
		// Repaired, the loop ends.
		if _, err := zkc.Set(path("/brokers/topics/bad-types"), good, -1); err != nil {
			t.Fatal(err)
		}
		stable := func(what string) {
			last := -1
			harness.Poll(t, 20*time.Second, what, func() (bool, string) {
				e := ctlEpoch()
				ok := e == last
				last = e
				if !ok {
					time.Sleep(time.Second) // the epoch must hold still for a second
				}
				return ok, fmt.Sprint("controller epoch ", e)
			})
		}
		stable("Kafka 3.9's controller settled once the topic znode is repaired")

		// A state znode with wrong types: the same loop
		// (TopicPartitionStateZNode.decode throws).
		statePath := path("/brokers/topics/bad-types/partitions/0/state")
		goodState, _, err := zkc.Get(statePath)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zkc.Set(statePath, []byte(`{"controller_epoch":1,"leader":"zero","version":1,"leader_epoch":0,"isr":[0]}`), -1); err != nil {
			t.Fatal(err)
		}
		epoch = forceFailover(t, zkc, path("/controller"), ctlEpoch)
		harness.Poll(t, 20*time.Second, "Kafka 3.9's controller failing over in a loop on a malformed state znode", func() (bool, string) {
			return ctlEpoch() >= epoch+3, fmt.Sprint("controller epoch ", ctlEpoch(), " from ", epoch)
		})
		if _, err := zkc.Set(statePath, goodState, -1); err != nil {
			t.Fatal(err)
		}
		stable("Kafka 3.9's controller settled once the state znode is repaired")
	})
}

// grepLines returns the lines of a file that contain any of words, or why
// it could not be read.
func grepLines(file string, words ...string) string {
	lines, err := linesWith(file, words...)
	if err != nil {
		return err.Error()
	}
	return strings.Join(lines, "\n")
}

// refZK is the test's own ZooKeeper session (no chroot), closed at the end.
func refZK(t *testing.T, addr string) *zkmeta.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := zkmeta.Connect(ctx, addr, 10*time.Second, nil)
	if err != nil {
		t.Fatalf("ZooKeeper %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

// forceFailover deletes /controller (an operator's forced re-election) and
// waits until a controller is elected again; it returns the controller
// epoch from before.
func forceFailover(t *testing.T, zkc *zkmeta.Client, ctlPath string, ctlEpoch func() int) int {
	t.Helper()
	epoch := ctlEpoch()
	if err := zkc.Delete(ctlPath, -1); err != nil {
		t.Fatalf("deleting /controller: %v", err)
	}
	harness.Poll(t, 20*time.Second, "a controller elected again", func() (bool, string) {
		return ctlEpoch() > epoch, fmt.Sprint("controller epoch ", ctlEpoch())
	})
	return epoch
}
