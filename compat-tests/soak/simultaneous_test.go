package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// downMode is how a broker is taken down in a simultaneous fault.
type downMode int

const (
	modeKill  downMode = iota // SIGKILL, restarted at recovery
	modeTerm                  // SIGTERM (controlled shutdown), restarted at recovery
	modePause                 // SIGSTOP, SIGCONT at recovery
)

func (m downMode) String() string { return [...]string{"kill -9", "SIGTERM", "SIGSTOP"}[m] }

// takeDown takes every victim down at once, each its own way (the
// SIGTERMs go out together, then the kills and pauses), and returns what
// brings them all back.
func takeDown(e *env, victims []int32, modes []downMode) (bringUp func()) {
	var term []int32
	for i, id := range victims {
		switch modes[i] {
		case modeKill:
			e.c.Kill(id)
		case modePause:
			e.c.Pause(id)
		case modeTerm:
			term = append(term, id)
		}
	}
	if len(term) > 0 {
		began := time.Now()
		e.c.StopMany(term...)
		took := time.Since(began)
		e.t.Logf("controlled shutdown of %v took %v", term, took.Round(time.Millisecond))
		if took > 30*time.Second {
			e.stats["controlled shutdowns longer than 30 s"]++
		}
	}
	return func() {
		var launched []int32
		for i, id := range victims {
			if modes[i] == modePause {
				e.c.Resume(id)
			} else {
				e.c.Launch(id)
				launched = append(launched, id)
			}
		}
		// A broker launched while its previous session lives registers when
		// that session expires; WaitForBrokers' bound covers it.
		for _, id := range launched {
			e.c.WaitForBrokers(id)
		}
	}
}

func randomModes(e *env, n int) []downMode {
	modes := make([]downMode, n)
	for i := range modes {
		modes[i] = downMode(e.rng.IntN(3))
	}
	return modes
}

// twoBrokers takes two brokers down together, each killed, shut down or
// paused. RF 3 with min.insync.replicas=2 keeps every acknowledged record
// through it: a partition with both victims among its replicas has one
// replica left, and produce with acks=all must be refused there
// (NOT_ENOUGH_REPLICAS), never acknowledged; probeMinISR checks it.
func twoBrokers(e *env, id int32) func() {
	other := id
	for other == id {
		other = int32(e.rng.IntN(brokers))
	}
	victims := []int32{id, other}
	modes := randomModes(e, 2)
	e.t.Logf("two-brokers: %d (%v) and %d (%v)", id, modes[0], other, modes[1])
	bringUp := takeDown(e, victims, modes)
	if modes[0] != modePause && modes[1] != modePause {
		probeMinISR(e, victims)
	}
	return bringUp
}

// controllerAndLeader takes the controller and the leader of a partition
// led by another broker down together: the new controller's election and
// that partition's leader election happen at once.
func controllerAndLeader(e *env, _ int32) func() {
	ctl, err := e.c.ControllerID()
	if err != nil || ctl < 0 {
		e.t.Logf("controller-and-leader: no controller (%v); nothing done", err)
		return func() {}
	}
	leader := int32(-1)
	for range 2 * partitions {
		p, _, l, err := partitionOf(e)
		if err == nil && l >= 0 && l != ctl {
			leader = l
			e.t.Logf("controller-and-leader: controller %d, leader %d of %s-%d", ctl, l, topic, p)
			break
		}
	}
	if leader < 0 { // every partition led by the controller: another broker
		for leader < 0 || leader == ctl {
			leader = int32(e.rng.IntN(brokers))
		}
		e.t.Logf("controller-and-leader: controller %d, broker %d", ctl, leader)
	}
	victims := []int32{ctl, leader}
	modes := randomModes(e, 2)
	e.t.Logf("controller-and-leader: %d (%v) and %d (%v)", ctl, modes[0], leader, modes[1])
	bringUp := takeDown(e, victims, modes)
	if modes[0] != modePause && modes[1] != modePause {
		probeMinISR(e, victims)
	}
	return bringUp
}

// probeMinISR waits (bounded) for a partition of the clean topic whose
// replicas include both victims to be down to one in-sync replica, then
// produces one record with acks=all straight to its leader. Kafka's rule
// (Partition.appendRecordsToLeader): with the ISR below
// min.insync.replicas an acks=all produce fails with NOT_ENOUGH_REPLICAS
// before the append. An acknowledgement is a finding; another error is
// counted and logged.
func probeMinISR(e *env, victims []int32) {
	deadline := time.Now().Add(3 * sessionTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		md, err := e.adm.Metadata(ctx, topic)
		cancel()
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		candidates, found := 0, false
		for _, p := range md.Topics[topic].Partitions.Sorted() {
			if !slices.Contains(p.Replicas, victims[0]) || !slices.Contains(p.Replicas, victims[1]) {
				continue
			}
			candidates++
			if p.Leader < 0 || slices.Contains(victims, p.Leader) || len(p.ISR) != 1 {
				continue
			}
			addr := ""
			if b, ok := brokerAddr(md, p.Leader); ok {
				addr = b
			}
			if addr == "" {
				continue
			}
			found = true
			code, err := produceOne(addr, p.Partition, fmt.Sprintf("probe-%d", time.Now().UnixNano()))
			switch {
			case err != nil:
				e.stats["min-isr-probe: no answer"]++
				e.t.Logf("min-isr probe on %s-%d (leader %d, ISR %v): %v", topic, p.Partition, p.Leader, p.ISR, err)
			case code == kerr.NotEnoughReplicas.Code:
				e.stats["min-isr-probe: NOT_ENOUGH_REPLICAS (as Kafka)"]++
				e.t.Logf("min-isr probe on %s-%d (leader %d, ISR %v): NOT_ENOUGH_REPLICAS", topic, p.Partition, p.Leader, p.ISR)
			case code == 0:
				e.stats["min-isr-probe: ACKNOWLEDGED"]++
				e.finding("acks=all produce to %s-%d acknowledged by leader %d with ISR %v below min.insync.replicas=2 (brokers %v down)",
					topic, p.Partition, p.Leader, p.ISR, victims)
			default:
				e.stats["min-isr-probe: other error"]++
				e.t.Logf("min-isr probe on %s-%d (leader %d, ISR %v): %v", topic, p.Partition, p.Leader, p.ISR, kerr.ErrorForCode(code))
			}
			break
		}
		if found {
			return
		}
		if candidates == 0 {
			e.t.Logf("min-isr probe: no partition has both %v among its replicas", victims)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Logf("min-isr probe: no partition with replicas %v down to one in-sync replica within %v", victims, 3*sessionTimeout)
}

func brokerAddr(md kadm.Metadata, id int32) (string, bool) {
	for _, b := range md.Brokers {
		if b.NodeID == id {
			return fmt.Sprintf("%s:%d", b.Host, b.Port), true
		}
	}
	return "", false
}

// produceOne sends one Produce v7 (acks=all, 5 s timeout) with a
// one-record batch to the broker at addr and returns the partition's error
// code: a raw request, so the answer is the broker's, not a client's
// retries.
func produceOne(addr string, partition int32, value string) (int16, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = oneRecordBatch([]byte(value))
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cl.SeedBrokers()[0].Request(ctx, req)
	if err != nil {
		return 0, err
	}
	pr := resp.(*kmsg.ProduceResponse)
	if len(pr.Topics) != 1 || len(pr.Topics[0].Partitions) != 1 {
		return 0, errors.New("produce response without the partition")
	}
	return pr.Topics[0].Partitions[0].ErrorCode, nil
}

// oneRecordBatch encodes a v2 record batch of one record, without
// producer id (not idempotent), CRC-32C over attributes onward.
func oneRecordBatch(value []byte) []byte {
	rec := kmsg.Record{Value: value}
	body := rec.AppendTo(nil)
	rec.Length = int32(len(body) - 1) // body starts with Length 0, one varint byte
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		FirstSequence:        -1,
		NumRecords:           1,
		Records:              rec.AppendTo(nil),
	}
	raw := b.AppendTo(nil)
	raw[8], raw[9], raw[10], raw[11] = byte((len(raw)-12)>>24), byte((len(raw)-12)>>16), byte((len(raw)-12)>>8), byte(len(raw)-12)
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	raw[17], raw[18], raw[19], raw[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return raw
}

// zkRestartDuringReassignment starts a reassignment of a partition of the
// clean topic (one replica, possibly the leader, replaced by a broker
// outside it), holds it in progress by cutting the adding replica's
// fetches, and restarts ZooKeeper (killed, down for a random time up to
// past the session timeout) in the middle; the cut heals before the kill,
// while ZooKeeper is down or after it is back. At recovery the
// reassignment must complete: no reassignment of the partition listed and
// its replicas the target (a finding otherwise).
func zkRestartDuringReassignment(e *env, _ int32) func() {
	p, replicas, leader, err := partitionOf(e)
	if err != nil || leader < 0 || len(replicas) != rf {
		e.t.Logf("zk-restart-during-reassignment: %s-%d replicas %v leader %d: %v; ZooKeeper restarted without a reassignment",
			topic, p, replicas, leader, err)
		restartZK(e, e.rng.IntN(3))
		return func() {}
	}
	var spare []int32
	for b := range int32(brokers) {
		if !slices.Contains(replicas, b) {
			spare = append(spare, b)
		}
	}
	adding := spare[e.rng.IntN(len(spare))]
	dropped := replicas[e.rng.IntN(len(replicas))]
	target := slices.Clone(replicas)
	target[slices.Index(target, dropped)] = adding
	e.c.CutFetches(adding, leader)
	// Half the time through kafka-reassign-partitions (--execute, then
	// --verify at recovery), else the admin API.
	withTool := e.rng.IntN(2) == 0
	if withTool {
		err = reassignWithTool(e, p, target)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var req kadm.AlterPartitionAssignmentsReq
		req.Assign(topic, p, target)
		var resp kadm.AlterPartitionAssignmentsResponses
		if resp, err = e.adm.AlterPartitionAssignments(ctx, req); err == nil {
			err = resp.Error()
		}
	}
	if err != nil {
		e.t.Logf("zk-restart-during-reassignment: %s-%d %v -> %v: %v; ZooKeeper restarted anyway", topic, p, replicas, target, err)
		e.c.Heal(adding)
		restartZK(e, e.rng.IntN(3))
		return func() {}
	}
	heal := e.rng.IntN(3) // 0: before the kill, 1: while down, 2: after
	e.t.Logf("zk-restart-during-reassignment: %s-%d %v -> %v (leader %d, fetches of %d cut, healed %s, with kafka-reassign-partitions: %v)",
		topic, p, replicas, target, leader, adding, [...]string{"before the kill", "while ZooKeeper is down", "after the restart"}[heal], withTool)
	if heal == 0 {
		e.c.Heal(adding)
	}
	restartZK(e, heal)
	if heal == 2 {
		e.c.Heal(adding)
	}
	return func() {
		e.c.Heal(adding)
		if waitReassigned(e, p, target, 2*time.Minute) && withTool {
			verifyWithTool(e, p)
		}
	}
}

// reassignWithTool starts the reassignment of p to target with
// kafka-reassign-partitions --execute (--additional: others may run).
func reassignWithTool(e *env, p int32, target []int32) error {
	plan, err := json.Marshal(map[string]any{"version": 1, "partitions": []map[string]any{
		{"topic": topic, "partition": p, "replicas": target}}})
	if err != nil {
		return err
	}
	file := filepath.Join(e.t.TempDir(), "reassignment.json")
	if err := os.WriteFile(file, plan, 0o644); err != nil {
		return err
	}
	out, errOut, code := e.c.Tool("kafka-reassign-partitions.sh", "--bootstrap-server", e.c.Bootstrap(),
		"--reassignment-json-file", file, "--execute", "--additional")
	if code != 0 {
		return fmt.Errorf("kafka-reassign-partitions --execute: exit %d: %s%s", code, out, errOut)
	}
	e.verifyFile = file
	return nil
}

// verifyWithTool runs kafka-reassign-partitions --verify on the plan
// reassignWithTool executed; once the reassignment is complete Kafka's
// tool prints "Reassignment of partition <t>-<p> is completed." (a
// finding otherwise).
func verifyWithTool(e *env, p int32) {
	out, errOut, code := e.c.Tool("kafka-reassign-partitions.sh", "--bootstrap-server", e.c.Bootstrap(),
		"--reassignment-json-file", e.verifyFile, "--verify")
	want := fmt.Sprintf("Reassignment of partition %s-%d is completed.", topic, p)
	if code != 0 || !strings.Contains(out, want) {
		e.finding("kafka-reassign-partitions --verify after the reassignment completed: exit %d, want %q in: %s%s", code, want, out, errOut)
		return
	}
	e.stats["reassignments verified with kafka-reassign-partitions"]++
}

// restartZK kills ZooKeeper and starts it again after a random time from
// one second to past the brokers' session timeout; heal==1 heals every
// link fault while it is down.
func restartZK(e *env, heal int) {
	down := time.Second + time.Duration(e.rng.Int64N(int64(sessionTimeout+2*time.Second)))
	e.c.StopZK()
	e.t.Logf("ZooKeeper killed; restarting it after %v", down.Round(time.Millisecond))
	if heal == 1 {
		time.Sleep(down / 2)
		e.c.HealAll()
		time.Sleep(down - down/2)
	} else {
		time.Sleep(down)
	}
	e.c.StartZK()
	e.stats["zookeeper restarts"]++
}

// waitReassigned polls until no reassignment of the partition is listed
// and its replicas are target (as a set) and reports true; a finding
// otherwise.
func waitReassigned(e *env, p int32, target []int32, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	want := slices.Sorted(slices.Values(target))
	last := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		listed, err := e.adm.ListPartitionReassignments(ctx, kadm.TopicsSet{topic: {p: {}}})
		cancel()
		var pd kadm.PartitionDetail
		if err == nil {
			pd, err = partitionMeta(e, topic, p)
		}
		if err == nil {
			_, inProgress := listed[topic][p]
			got := slices.Sorted(slices.Values(pd.Replicas))
			if !inProgress && slices.Equal(got, want) {
				// KafkaController.onPartitionReassignment (B12) sends the
				// final UpdateMetadata to every live broker; a broker's
				// cache may trail the others by the time its request takes,
				// so every running broker is polled until it agrees (a tool
				// such as --verify may ask any of them).
				if stale := staleBrokers(e, p, want); len(stale) > 0 {
					last = fmt.Sprintf("done on the controller, metadata still stale on %s", strings.Join(stale, "; "))
				} else {
					e.stats["reassignments completed across a ZooKeeper restart"]++
					e.t.Logf("zk-restart-during-reassignment: %s-%d reassigned to %v on every broker", topic, p, pd.Replicas)
					return true
				}
			} else {
				last = fmt.Sprintf("in progress %v, replicas %v, ISR %v", inProgress, pd.Replicas, pd.ISR)
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			e.stats["reassignments stuck after a ZooKeeper restart"]++
			e.finding("reassignment of %s-%d to %v not complete %v after ZooKeeper's restart: %s", topic, p, target, timeout, last)
			return false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// staleBrokers asks every running broker for the partition's replicas in
// its own metadata cache and describes those whose set is not want.
func staleBrokers(e *env, p int32, want []int32) []string {
	var stale []string
	for id := range int32(brokers) {
		if !e.c.Running(id) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := e.c.BrokerReplicas(ctx, id, topic, p)
		cancel()
		if err == nil && slices.Equal(slices.Sorted(slices.Values(got)), want) {
			continue
		}
		stale = append(stale, fmt.Sprintf("broker %d: %v %v", id, got, err))
	}
	return stale
}

// controllerCutOff isolates the controller (from ZooKeeper and every
// peer) past its session timeout: another broker becomes controller while
// the old one still believes it is (a zombie) until it learns its session
// expired.
func controllerCutOff(e *env, _ int32) func() {
	return onController(e, "controller-cut-off", func(id int32) func() {
		e.c.CutOff(id)
		return func() { e.c.Heal(id) }
	})
}

// controllerCutFromZK cuts the controller from ZooKeeper only, past its
// session timeout: the stale controller can still reach every broker, and
// they must ignore it once the new controller's epoch is higher
// (KafkaController's controller epoch check, STALE_CONTROLLER_EPOCH).
func controllerCutFromZK(e *env, _ int32) func() {
	return onController(e, "controller-cut-from-zk", func(id int32) func() {
		e.c.CutFromZK(id)
		return func() { e.c.Heal(id) }
	})
}

// controllerCutFromPeers cuts the controller from every other broker while
// it keeps its ZooKeeper session: it stays controller but its requests
// (LeaderAndIsr, UpdateMetadata) cannot reach the brokers, nor their
// AlterPartition reach it, until the cut heals and its channel resends.
func controllerCutFromPeers(e *env, _ int32) func() {
	return onController(e, "controller-cut-from-peers", func(id int32) func() {
		e.c.CutFromPeers(id)
		return func() { e.c.Heal(id) }
	})
}

// controllerPaused stops the controller with SIGSTOP past its session
// timeout: when it continues it is a zombie with requests half-sent, the
// classic stale-controller case.
func controllerPaused(e *env, _ int32) func() {
	return onController(e, "controller-paused-past-session", func(id int32) func() {
		e.c.Pause(id)
		return func() { e.c.Resume(id) }
	})
}

// onController applies a fault to the current controller and, at
// recovery, reports whether another broker took over meanwhile.
func onController(e *env, name string, apply func(int32) func()) func() {
	ctl, err := e.c.ControllerID()
	if err != nil || ctl < 0 {
		e.t.Logf("%s: no controller (%v); nothing done", name, err)
		return func() {}
	}
	e.t.Logf("%s: controller %d", name, ctl)
	undo := apply(ctl)
	return func() {
		now, err := e.c.ControllerID()
		e.t.Logf("%s: controller before recovery %d (%v)", name, now, err)
		if err == nil && now >= 0 && now != ctl {
			e.stats[name+": another broker became controller"]++
		} else {
			e.stats[name+": the controller stayed"]++
		}
		undo()
	}
}
