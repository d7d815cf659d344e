package zkmeta

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

var testServer *zktest.Server

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zkmeta-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testServer, err = zktest.StartProcess(dir, 0, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "zkmeta tests need ZooKeeper:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	testServer.Stop()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func connect(t *testing.T, connect string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := Connect(ctx, connect, 6*time.Second, nil)
	if err != nil {
		t.Fatalf("connect %s: %v", connect, err)
	}
	t.Cleanup(c.Close)
	return c
}

// pair returns two sessions on one fresh chroot, paths ensured.
func pair(t *testing.T) (*Client, *Client) {
	cs := testServer.Chroot(t)
	a, b := connect(t, cs), connect(t, cs)
	if err := a.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func waitEvent(t *testing.T, ch <-chan Event) Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event")
		return Event{}
	}
}

func TestChrootAndEnsurePaths(t *testing.T) {
	cs := testServer.Chroot(t) + "/nested/deeper"
	c := connect(t, cs)
	if err := c.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	if err := c.EnsurePaths(); err != nil { // idempotent
		t.Fatal(err)
	}
	for _, p := range persistentPaths {
		ok, _, err := c.Exists(p)
		if err != nil || !ok {
			t.Errorf("%s missing under chroot: %v", p, err)
		}
	}
	// Nothing leaked to the real root.
	if ok, _, _ := connect(t, testServer.Addr).Exists("/brokers"); ok {
		t.Error("/brokers created outside the chroot")
	}
	id, err := c.GetOrCreateClusterID(func() string { return "first" })
	if err != nil || id != "first" {
		t.Fatalf("cluster id %q %v", id, err)
	}
	id, err = c.GetOrCreateClusterID(func() string { return "second" })
	if err != nil || id != "first" {
		t.Fatalf("cluster id again %q %v", id, err)
	}
	data, _, err := c.Get(ClusterIDPath)
	if err != nil || string(data) != `{"version":"1","id":"first"}` {
		t.Fatalf("cluster id znode %s %v", data, err)
	}
}

func TestConnectTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Connect(ctx, "127.0.0.1:1", time.Second, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestBrokerRegistration(t *testing.T) {
	a, b := pair(t)
	_, w, err := b.WatchBrokerIDs()
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := a.RegisterBroker(BrokerInfo{ID: 1, Endpoints: []string{"PLAINTEXT://h:9092"}})
	if err != nil || epoch <= 0 {
		t.Fatalf("register: %d %v", epoch, err)
	}
	if ev := waitEvent(t, w); ev.Type != EventNodeChildrenChanged || ev.Path != BrokerIDsPath {
		t.Errorf("event %+v", ev)
	}
	// Same session re-registers: replaced, new epoch.
	epoch2, err := a.RegisterBroker(BrokerInfo{ID: 1, Endpoints: []string{"PLAINTEXT://h:9092"}})
	if err != nil || epoch2 <= epoch {
		t.Fatalf("re-register: %d %v", epoch2, err)
	}
	// Another session: refused.
	if _, err := b.RegisterBroker(BrokerInfo{ID: 1, Endpoints: []string{"PLAINTEXT://x:1"}}); !errors.Is(err, ErrBrokerIDRegistered) {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := b.RegisterBroker(BrokerInfo{ID: 2, Endpoints: []string{"PLAINTEXT://x:1"}}); err != nil {
		t.Fatal(err)
	}
	bs, err := b.Brokers()
	if err != nil || len(bs) != 2 || bs[0].ID != 1 || bs[1].ID != 2 || bs[0].Epoch != epoch2 || bs[0].Host != "h" {
		t.Fatalf("brokers %+v %v", bs, err)
	}
	ids, w, err := b.WatchBrokerIDs()
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	a.Close() // the ephemeral goes with the session
	waitEvent(t, w)
	ids, err = b.BrokerIDs()
	if err != nil || len(ids) != 1 || ids[0] != 2 {
		t.Fatalf("after close: %v %v", ids, err)
	}
	if _, ok, err := b.Broker(1); ok || err != nil {
		t.Fatalf("broker 1 still there: %v", err)
	}
	if err := b.DeregisterBroker(2); err != nil {
		t.Fatal(err)
	}
	if err := b.DeregisterBroker(2); err != nil {
		t.Fatal(err)
	}
}

func TestControllerElectionRace(t *testing.T) {
	cs := testServer.Chroot(t)
	const n = 4
	clients := make([]*Client, n)
	for i := range clients {
		clients[i] = connect(t, cs)
	}
	type result struct {
		won             bool
		epoch, epochZkV int32
		err             error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			won, e, v, err := clients[i].ElectController(int32(i))
			results[i] = result{won, e, v, err}
		}(i)
	}
	wg.Wait()
	winner := -1
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("client %d: %v", i, r.err)
		}
		if r.won {
			if winner >= 0 {
				t.Fatalf("two winners: %d and %d", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("nobody won")
	}
	w := results[winner]
	if w.epoch != 1 || w.epochZkV != 1 {
		t.Errorf("first election: epoch %d zkVersion %d", w.epoch, w.epochZkV)
	}
	other := clients[(winner+1)%n]
	ci, ok, watch, err := other.WatchController()
	if err != nil || !ok || ci.BrokerID != int32(winner) || ci.KRaftControllerEpoch != -1 {
		t.Fatalf("controller %+v %v %v", ci, ok, err)
	}
	if e, v, err := other.ControllerEpoch(); err != nil || e != 1 || v != 1 {
		t.Fatalf("epoch %d %d %v", e, v, err)
	}
	// Losers cannot resign someone else's controllership.
	if err := other.ResignController(w.epochZkV); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := other.Controller(); !ok {
		t.Fatal("loser removed /controller")
	}
	if err := clients[winner].ResignController(w.epochZkV); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, watch); ev.Type != EventNodeDeleted || ev.Path != ControllerPath {
		t.Errorf("event %+v", ev)
	}
	won, e, v, err := other.ElectController(99)
	if err != nil || !won || e != 2 || v != 2 {
		t.Fatalf("second election: %v %d %d %v", won, e, v, err)
	}
}

func TestFencedWrites(t *testing.T) {
	a, b := pair(t)
	won, _, va, err := a.ElectController(1)
	if err != nil || !won {
		t.Fatal(won, err)
	}
	tid := NewTopicID()
	if err := a.CreateTopic(TopicAssignment{Topic: "t", TopicID: tid, Partitions: map[int32][]int32{0: {1, 2}, 1: {2, 1}}}, map[string]string{"retention.ms": "1000"}); err != nil {
		t.Fatal(err)
	}
	states := map[int32]LeaderAndIsr{
		0: {Leader: 1, ISR: []int32{1, 2}, ControllerEpoch: 1},
		1: {Leader: 2, ISR: []int32{2, 1}, ControllerEpoch: 1},
	}
	if err := a.CreatePartitionStates(va, "t", states); err != nil {
		t.Fatal(err)
	}
	if err := a.CreatePartitionStates(va, "t", states); !errors.Is(err, ErrNodeExists) {
		t.Fatalf("second create: %v", err)
	}
	s, ok, err := b.PartitionState("t", 0)
	if err != nil || !ok || s.Leader != 1 || s.ZkVersion != 0 {
		t.Fatalf("state %+v %v %v", s, ok, err)
	}
	raw, _, _ := b.Get(PartitionStatePath("t", 0))
	if string(raw) != `{"controller_epoch":1,"leader":1,"version":1,"leader_epoch":0,"isr":[1,2]}` {
		t.Errorf("state znode %s", raw)
	}
	s.ISR, s.LeaderEpoch = []int32{1}, 1
	nv, err := a.UpdatePartitionState(va, "t", 0, s)
	if err != nil || nv != 1 {
		t.Fatalf("update: %d %v", nv, err)
	}
	// Stale partition epoch: CAS fails.
	if _, err := a.UpdatePartitionState(va, "t", 0, s); !errors.Is(err, ErrBadVersion) || errors.Is(err, ErrControllerMoved) {
		t.Fatalf("stale zk version: %v", err)
	}
	// Another controller takes over (a's /controller vanishes with its session, here by resigning).
	if err := a.ResignController(va); err != nil {
		t.Fatal(err)
	}
	won, eb, vb, err := b.ElectController(2)
	if err != nil || !won || eb != 2 {
		t.Fatal(won, eb, err)
	}
	s.ZkVersion = nv
	if _, err := a.UpdatePartitionState(va, "t", 0, s); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("fenced write accepted: %v", err)
	}
	if err := a.DeleteTopicZnodes(va, "t"); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("fenced delete accepted: %v", err)
	}
	if got, _, _ := b.PartitionState("t", 0); got.ZkVersion != 1 {
		t.Fatalf("state changed by a stale controller: %+v", got)
	}
	if _, err := b.UpdatePartitionState(vb, "t", 0, s); err != nil {
		t.Fatalf("new controller write: %v", err)
	}
	all, err := b.PartitionStates("t")
	if err != nil || len(all) != 2 || all[0].ZkVersion != 2 {
		t.Fatalf("states %+v %v", all, err)
	}
}

func TestTopicLifecycle(t *testing.T) {
	a, b := pair(t)
	_, w, err := b.WatchTopics()
	if err != nil {
		t.Fatal(err)
	}
	tid := NewTopicID()
	ta := TopicAssignment{Topic: "orders", TopicID: tid, Partitions: map[int32][]int32{0: {1}}}
	if err := a.CreateTopic(ta, map[string]string{"cleanup.policy": "compact"}); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, w)
	if err := a.CreateTopic(ta, nil); !errors.Is(err, ErrTopicExists) {
		t.Fatalf("duplicate: %v", err)
	}
	topics, err := b.Topics()
	if err != nil || len(topics) != 1 || topics[0] != "orders" {
		t.Fatal(topics, err)
	}
	cfg, err := b.TopicConfig("orders")
	if err != nil || cfg["cleanup.policy"] != "compact" || len(cfg) != 1 {
		t.Fatal(cfg, err)
	}
	got, ver, ok, err := b.TopicAssignment("orders")
	if err != nil || !ok || got.TopicID != tid || len(got.Partitions) != 1 {
		t.Fatalf("assignment %+v %v", got, err)
	}
	raw, _, _ := b.Get(TopicPath("orders"))
	if want := `{"partitions":{"0":[1]},"topic_id":"` + UUIDString(tid) + `","adding_replicas":{},"removing_replicas":{},"version":3}`; string(raw) != want {
		t.Errorf("topic znode %s", raw)
	}
	_, tw, err := b.WatchTopicAssignment("orders")
	if err != nil {
		t.Fatal(err)
	}
	got.Partitions[1] = []int32{1}
	if err := a.SetTopicAssignment(got, ver); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, tw); ev.Type != EventNodeDataChanged || ev.Path != TopicPath("orders") {
		t.Errorf("event %+v", ev)
	}
	if err := a.SetTopicAssignment(got, ver); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("stale set: %v", err)
	}
	if _, _, err := b.WatchTopicAssignment("nope"); !errors.Is(err, ErrNoNode) {
		t.Fatalf("watch missing: %v", err)
	}
	if err := a.ChangeEntityConfig("topics", "orders", map[string]string{"retention.ms": "5"}); err != nil {
		t.Fatal(err)
	}
	changes, _, err := b.WatchConfigChanges()
	if err != nil || len(changes) != 1 {
		t.Fatal(changes, err)
	}
	if ep, err := b.ConfigChange(changes[0]); err != nil || ep != "topics/orders" {
		t.Fatal(ep, err)
	}

	// Deletion.
	_, dw, err := b.WatchTopicDeletions()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.MarkTopicForDeletion("missing"); !errors.Is(err, ErrNoNode) {
		t.Fatalf("mark missing: %v", err)
	}
	if err := a.MarkTopicForDeletion("orders"); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkTopicForDeletion("orders"); !errors.Is(err, ErrTopicMarked) {
		t.Fatalf("mark twice: %v", err)
	}
	waitEvent(t, dw)
	marked, _, err := b.WatchTopicDeletions()
	if err != nil || len(marked) != 1 || marked[0] != "orders" {
		t.Fatal(marked, err)
	}
	won, _, v, err := b.ElectController(2)
	if err != nil || !won {
		t.Fatal(won, err)
	}
	if err := b.CreatePartitionStates(v, "orders", map[int32]LeaderAndIsr{0: {Leader: 1, ISR: []int32{1}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteTopicZnodes(v, "orders"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{TopicPath("orders"), EntityConfigPath("topics", "orders"), DeleteTopicsPath + "/orders"} {
		if _, _, err := b.Get(p); !errors.Is(err, ErrNoNode) {
			t.Errorf("%s survived: %v", p, err)
		}
	}
	if err := b.DeleteTopicZnodes(v, "orders"); err != nil {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestProducerIDBlocks(t *testing.T) {
	a, b := pair(t)
	type block struct{ start, end int64 }
	var mu sync.Mutex
	var blocks []block
	var wg sync.WaitGroup
	for i, c := range []*Client{a, b} {
		wg.Add(1)
		go func(id int32, c *Client) {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				s, e, err := c.AllocateProducerIDBlock(id, 1000)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				blocks = append(blocks, block{s, e})
				mu.Unlock()
			}
		}(int32(i), c)
	}
	wg.Wait()
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].start < blocks[j].start })
	if len(blocks) != 20 {
		t.Fatalf("%d blocks", len(blocks))
	}
	for i, bl := range blocks {
		if bl.start != int64(i)*1000 || bl.end != bl.start+999 {
			t.Fatalf("block %d = %+v (overlap or gap)", i, bl)
		}
	}
	raw, _, _ := a.Get(ProducerIDBlockPath)
	pb, err := DecodeProducerIDBlock(raw)
	if err != nil || pb.Start != 19000 || pb.End != 19999 {
		t.Fatalf("last block %s %v", raw, err)
	}
}

func TestBrokerSequenceID(t *testing.T) {
	a, _ := pair(t)
	v1, err := a.NextBrokerSequenceID()
	if err != nil {
		t.Fatal(err)
	}
	v2, err := a.NextBrokerSequenceID()
	if err != nil || v2 != v1+1 {
		t.Fatal(v1, v2, err)
	}
}
