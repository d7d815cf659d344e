package controller

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// beforeCreate is a hook that runs before ahead of each Create the
// controller's session makes.
func beforeCreate(before func(path string)) zkmeta.Hook {
	return func(req zkmeta.Request, send func() error) error {
		if req.Op == zkmeta.OpCreate {
			before(req.Path)
		}
		return send()
	}
}

func connectZK(t *testing.T, cs string, opts zkmeta.Options) *zkmeta.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := zkmeta.ConnectWithOptions(ctx, cs, time.Second, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// deadPort is a local port nobody listens on.
func deadPort(t *testing.T) int32 {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return int32(port)
}

func registerFakeBroker(t *testing.T, zc *zkmeta.Client, id, port int32) {
	t.Helper()
	if _, err := zc.RegisterBroker(zkmeta.BrokerInfo{ID: id, Host: "127.0.0.1", Port: port,
		Endpoints: []string{fmt.Sprintf("PLAINTEXT://127.0.0.1:%d", port)}}); err != nil {
		t.Fatal(err)
	}
}

// runController runs a controller for broker id on zc until the test ends.
func runController(t *testing.T, id int32, zc *zkmeta.Client) *Controller {
	t.Helper()
	cfg := DefaultConfig()
	cfg.BrokerID = id
	cfg.RequestTimeout = time.Second
	ctl := New(cfg, zc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctl.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("controller did not stop")
		}
	})
	return ctl
}

// waitFor polls cond (bounded) and fails the test with what when it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 600; i++ {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting: %s", what)
}

func createTopicsRequest(topic string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 0 // do not wait for the (fake) brokers' acknowledgements
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, 1, 1
	req.Topics = append(req.Topics, rt)
	return req
}

// The controller's ZooKeeper session expires in the middle of a call made
// by an event (CreateTopics writing /brokers/topics/<t>), and the client
// has its next session before the call returns. The controller must see the
// expiry, resign before doing anything under the new session, and contend
// again: KafkaController's StateChangeHandler.beforeInitializingSession
// blocks the new session until the Expire event (onControllerResignation)
// has been processed.
func TestControllerResignsOnExpiryInsideCall(t *testing.T) {
	srv := zktest.Start(t)
	cs := srv.Chroot(t)
	admin := connectZK(t, cs, zkmeta.Options{})
	if err := admin.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	registerFakeBroker(t, admin, 2, deadPort(t))

	d := &zktest.CutDialer{}
	var zc *zkmeta.Client
	var once sync.Once
	expire := func() { expireControllerSession(t, d, zc, admin) }
	zc = connectZK(t, cs, zkmeta.Options{Dialer: d.Dial, OnSession: func(*zkmeta.SessionConn) zkmeta.Hook {
		return beforeCreate(func(p string) {
			if strings.HasSuffix(p, zkmeta.TopicPath("doomed")) {
				once.Do(expire)
			}
		})
	}})
	ctl := runController(t, 1, zc)
	waitFor(t, "broker 1 becomes controller", ctl.Active)
	// Registered after the controller's own handler, so it runs after it.
	var activeAtNewSession atomic.Int32
	zc.BeforeNewSession(func() {
		if ctl.Active() {
			activeAtNewSession.Store(1)
		} else {
			activeAtNewSession.Store(2)
		}
	})
	epoch0, _, err := admin.ControllerEpoch()
	if err != nil {
		t.Fatal(err)
	}

	resp := ctl.CreateTopics(context.Background(), createTopicsRequest("doomed"))
	if code := resp.Topics[0].ErrorCode; code == 0 {
		t.Error("CreateTopics succeeded although the controller's session expired in the middle")
	}
	if _, _, ok, err := admin.TopicAssignment("doomed"); err != nil || ok {
		t.Errorf("topic written by the expired controller: exists=%v err=%v", ok, err)
	}
	// It resigned and contended again on its next session: a new epoch.
	waitFor(t, "the controller resigns and is elected again on its new session", func() bool {
		ci, ok, err := admin.Controller()
		e, _, eerr := admin.ControllerEpoch()
		return err == nil && eerr == nil && ok && ci.BrokerID == 1 && e > epoch0 && ctl.Active()
	})
	if v := activeAtNewSession.Load(); v != 2 {
		t.Errorf("before the new session the controller was active=%v, want resigned", v == 1)
	}
	resp = ctl.CreateTopics(context.Background(), createTopicsRequest("after"))
	if code := resp.Topics[0].ErrorCode; code != 0 {
		t.Fatalf("CreateTopics on the re-elected controller: error %d", code)
	}
}

// lostElectionReply applies the first Multi (the election) and loses its answer.
func lostElectionReply(lost *atomic.Bool) zkmeta.Hook {
	return func(req zkmeta.Request, send func() error) error {
		err := send()
		if req.Op == zkmeta.OpMulti && err == nil && lost.CompareAndSwap(false, true) {
			return zkmeta.ErrConnectionLoss
		}
		return err
	}
}

// The election multi succeeds but its answer is lost: /controller then
// holds our id under our own session, which must count as our win
// (KafkaZkClient.checkControllerAndEpoch), not as an earlier session's
// znode to wait out forever, leaving the cluster without a controller.
func TestControllerElectedDespiteLostElectionReply(t *testing.T) {
	srv := zktest.Start(t)
	cs := srv.Chroot(t)
	admin := connectZK(t, cs, zkmeta.Options{})
	if err := admin.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	lost := &atomic.Bool{}
	zc := connectZK(t, cs, zkmeta.Options{OnSession: func(*zkmeta.SessionConn) zkmeta.Hook {
		return lostElectionReply(lost)
	}})
	ctl := runController(t, 1, zc)
	waitFor(t, "broker 1 becomes controller after losing its election's answer", ctl.Active)
	if !lost.Load() {
		t.Fatal("no election answer was lost")
	}
	if e, _, err := admin.ControllerEpoch(); err != nil || e != 1 {
		t.Fatalf("controller epoch %d (%v), want 1: one election", e, err)
	}
}

// One broker hangs while its session lives, and thousands of requests
// queue up for it: the event loop must go on, here failing over the
// partitions of another broker that dies.
func TestEventLoopProgressesWhileABrokerHangs(t *testing.T) {
	srv := zktest.Start(t)
	cs := srv.Chroot(t)
	admin := connectZK(t, cs, zkmeta.Options{})
	if err := admin.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	b2, b3 := connectZK(t, cs, zkmeta.Options{}), connectZK(t, cs, zkmeta.Options{})
	registerFakeBroker(t, b2, 2, hungBroker(t))
	registerFakeBroker(t, b3, 3, deadPort(t))
	if err := admin.CreateTopic(zkmeta.TopicAssignment{Topic: "t", TopicID: zkmeta.NewTopicID(),
		Partitions: map[int32][]int32{0: {3, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	leader := func() int32 {
		st, ok, err := admin.PartitionState("t", 0)
		if err != nil || !ok {
			return -2
		}
		return st.Leader
	}
	ctl := runController(t, 1, connectZK(t, cs, zkmeta.Options{}))
	waitFor(t, "broker 3 leads t-0", func() bool { return leader() == 3 })

	filled := make(chan bool, 1)
	go func() {
		filled <- ctl.submit(func() {
			for range 5000 {
				ctl.senders[2].send(kmsg.NewPtrUpdateMetadataRequest())
			}
		})
	}()
	b3.Close() // broker 3 dies: broker 2, in the ISR, must lead t-0
	waitFor(t, "the controller elects broker 2 for t-0", func() bool { return leader() == 2 })
	if !<-filled {
		t.Fatal("the backlog event did not run")
	}
}

// expireControllerSession cuts zc's network until the server has expired
// its session (the controller's /controller znode is gone), restores it, and
// checks that the client saw the expiry.
func expireControllerSession(t *testing.T, d *zktest.CutDialer, zc, admin *zkmeta.Client) {
	t.Helper()
	expired := zc.SessionExpired()
	d.SetCut(true)
	waitFor(t, "the server expires the controller's session", func() bool {
		_, ok, err := admin.Controller()
		return err == nil && !ok
	})
	d.SetCut(false)
	select {
	case <-expired:
	case <-time.After(20 * time.Second):
		t.Error("the client never saw its session expire")
	}
}
