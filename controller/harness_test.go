package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// testCluster is a real ZooKeeper, fake brokers registered in it (each with
// its own session) and a controller acting on them.
type testCluster struct {
	t       *testing.T
	connect string
	zk      *zkmeta.Client // the controller's client, also used by tests to read ZooKeeper
	c       *Controller
	brokers map[int32]*fakeBroker
	done    chan struct{}
}

// fakeBroker answers the controller's requests; answer decides each
// response (nil answers with fakeAnswer).
type fakeBroker struct {
	t    *testing.T
	id   int32
	ln   net.Listener
	port int32
	zk   *zkmeta.Client

	mu     sync.Mutex
	epoch  int64
	reqs   []kmsg.Request
	answer func(kmsg.Request) kmsg.Response
}

func newTestCluster(t *testing.T, ids ...int32) *testCluster {
	t.Helper()
	srv := zktest.Start(t)
	tc := &testCluster{t: t, connect: srv.Chroot(t), brokers: map[int32]*fakeBroker{}}
	tc.zk = tc.session()
	if err := tc.zk.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		tc.brokers[id] = tc.startBroker(id)
	}
	return tc
}

func (tc *testCluster) session() *zkmeta.Client {
	tc.t.Helper()
	return tc.hookedSession(nil)
}

// hookedSession is a session whose every request goes through hook when
// hook is not nil (a fault seam: what a call gets while ZooKeeper is
// unreachable).
func (tc *testCluster) hookedSession(hook zkmeta.Hook) *zkmeta.Client {
	tc.t.Helper()
	var opts zkmeta.Options
	if hook != nil {
		opts.OnSession = func(*zkmeta.SessionConn) zkmeta.Hook { return hook }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	zk, err := zkmeta.ConnectWithOptions(ctx, tc.connect, 6*time.Second, nil, opts)
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(zk.Close)
	return zk
}

func (tc *testCluster) startBroker(id int32) *fakeBroker {
	tc.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(func() { ln.Close() })
	b := &fakeBroker{t: tc.t, id: id, ln: ln, port: int32(ln.Addr().(*net.TCPAddr).Port)}
	go b.serve()
	tc.register(b)
	return b
}

// register opens a new ZooKeeper session for b and registers it: a new
// broker epoch.
func (tc *testCluster) register(b *fakeBroker) {
	tc.t.Helper()
	b.zk = tc.session()
	epoch, err := b.zk.RegisterBroker(zkmeta.BrokerInfo{ID: b.id, Host: "127.0.0.1", Port: b.port,
		Endpoints: []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", b.port)}})
	if err != nil {
		tc.t.Fatal(err)
	}
	b.mu.Lock()
	b.epoch = epoch
	b.mu.Unlock()
}

// bounce ends a broker's session and registers it again in a new one, as a
// broker restarted faster than the controller notices.
func (tc *testCluster) bounce(id int32) int64 {
	tc.t.Helper()
	b := tc.brokers[id]
	b.zk.Close()
	tc.register(b)
	return b.Epoch()
}

// changesZnode reports whether req, not a Get or an Exists, names a path
// match accepts: its own or one of its multi's ops'.
func changesZnode(req zkmeta.Request, match func(path string) bool) bool {
	if req.Op == zkmeta.OpGet || req.Op == zkmeta.OpExists {
		return false
	}
	if match(req.Path) {
		return true
	}
	for _, op := range req.Ops {
		if match(op.Path) {
			return true
		}
	}
	return false
}

// start runs the controller until the test ends and waits until it acts.
func (tc *testCluster) start(cfg Config) {
	tc.t.Helper()
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	tc.run(New(cfg, tc.zk, slog.New(slog.NewTextHandler(io.Discard, nil))))
}

// run runs c as the cluster's controller until the test ends and waits
// until it acts.
func (tc *testCluster) run(c *Controller) {
	tc.t.Helper()
	tc.c = c
	ctx, cancel := context.WithCancel(context.Background())
	tc.done = make(chan struct{})
	go func() {
		defer close(tc.done)
		tc.c.Run(ctx)
	}()
	tc.t.Cleanup(func() {
		cancel()
		<-tc.done
	})
	tc.waitFor("controller active", func() bool { return tc.c.Active() })
}

// onLoop runs fn on the controller's event loop.
func (tc *testCluster) onLoop(fn func()) {
	tc.t.Helper()
	if !tc.c.submit(fn) {
		tc.t.Fatal("controller not active")
	}
}

// blockLoop holds the event loop until the returned func is called.
func (tc *testCluster) blockLoop() (release func()) {
	started, hold := make(chan struct{}), make(chan struct{})
	go tc.c.submit(func() {
		close(started)
		<-hold
	})
	<-started
	return func() { close(hold) }
}

// waitFor polls cond (on the test goroutine) until it holds, failing the
// test after a bound.
func (tc *testCluster) waitFor(what string, cond func() bool) {
	tc.t.Helper()
	for range 400 {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	tc.t.Fatalf("timed out waiting for %s", what)
}

func (tc *testCluster) createTopic(topic string, partitions map[int32][]int32) {
	tc.t.Helper()
	if err := tc.zk.CreateTopic(zkmeta.TopicAssignment{Topic: topic, TopicID: zkmeta.NewTopicID(), Partitions: partitions}, nil); err != nil {
		tc.t.Fatal(err)
	}
}

func (tc *testCluster) partitionState(topic string, p int32) zkmeta.LeaderAndIsr {
	tc.t.Helper()
	st, ok, err := tc.zk.PartitionState(topic, p)
	if err != nil || !ok {
		tc.t.Fatalf("state of %s-%d: %v %v", topic, p, ok, err)
	}
	return st
}

func (b *fakeBroker) Epoch() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}

func (b *fakeBroker) setAnswer(fn func(kmsg.Request) kmsg.Response) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answer = fn
}

// received lists the requests of one kind received so far.
func (b *fakeBroker) received(key int16) []kmsg.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []kmsg.Request
	for _, r := range b.reqs {
		if r.Key() == key {
			out = append(out, r)
		}
	}
	return out
}

func (b *fakeBroker) serve() {
	for {
		conn, err := b.ln.Accept()
		if err != nil {
			return
		}
		go b.serveConn(conn)
	}
}

func (b *fakeBroker) serveConn(conn net.Conn) {
	defer conn.Close()
	for {
		frame, err := protocol.ReadFrame(conn, protocol.DefaultMaxRequestSize, nil)
		if err != nil {
			return
		}
		hdr, req, err := protocol.ParseRequest(frame)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				b.t.Logf("fake broker %d: %v", b.id, err)
			}
			return
		}
		b.mu.Lock()
		b.reqs = append(b.reqs, req)
		answer := b.answer
		b.mu.Unlock()
		var resp kmsg.Response
		if answer != nil {
			resp = answer(req)
		}
		if resp == nil {
			resp = fakeAnswer(req, 0)
		}
		if _, err := conn.Write(protocol.EncodeResponse(hdr, resp)); err != nil {
			return
		}
	}
}

// fakeAnswer answers a controller request as a broker does, with code for
// every partition.
func fakeAnswer(req kmsg.Request, code int16) kmsg.Response {
	switch r := req.(type) {
	case *kmsg.StopReplicaRequest:
		resp := r.ResponseKind().(*kmsg.StopReplicaResponse)
		for _, t := range r.Topics {
			for _, p := range t.PartitionStates {
				resp.Partitions = append(resp.Partitions, kmsg.StopReplicaResponsePartition{Topic: t.Topic, Partition: p.Partition, ErrorCode: code})
			}
		}
		return resp
	case *kmsg.LeaderAndISRRequest:
		resp := r.ResponseKind().(*kmsg.LeaderAndISRResponse)
		for _, t := range r.TopicStates {
			rt := kmsg.LeaderAndISRResponseTopic{TopicID: t.TopicID}
			for _, p := range t.PartitionStates {
				rt.Partitions = append(rt.Partitions, kmsg.LeaderAndISRResponseTopicPartition{Topic: t.Topic, Partition: p.Partition, ErrorCode: code})
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	return req.ResponseKind()
}

// leaderAndIsrStates lists the partition states a broker received in
// LeaderAndIsr requests for one partition, in order.
func (b *fakeBroker) leaderAndIsrStates(topic string, p int32) []kmsg.LeaderAndISRRequestTopicPartition {
	var out []kmsg.LeaderAndISRRequestTopicPartition
	for _, r := range b.received(kmsg.LeaderAndISR.Int16()) {
		for _, t := range r.(*kmsg.LeaderAndISRRequest).TopicStates {
			for _, ps := range t.PartitionStates {
				if t.Topic == topic && ps.Partition == p {
					out = append(out, ps)
				}
			}
		}
	}
	return out
}

// stopReplicas lists the partitions a broker was asked to stop (and
// whether to delete them).
func (b *fakeBroker) stopReplicas() []string {
	var out []string
	for _, r := range b.received(kmsg.StopReplica.Int16()) {
		for _, t := range r.(*kmsg.StopReplicaRequest).Topics {
			for _, ps := range t.PartitionStates {
				out = append(out, fmt.Sprintf("%s-%d delete=%v", t.Topic, ps.Partition, ps.Delete))
			}
		}
	}
	slices.Sort(out)
	return out
}
