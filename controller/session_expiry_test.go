package controller

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// stateWriteHook watches one session's calls: before the first write of
// a partition state (a SetData in a Multi) it runs expire once; after that
// it counts the partition-state calls still made on this session.
type stateWriteHook struct {
	once    *sync.Once
	armed   *atomic.Bool
	expire  func()
	expired atomic.Bool   // this session has expired (set by the hook)
	late    *atomic.Int32 // partition-state calls made on it after its expiry
}

func isPartitionPath(p string) bool { return strings.Contains(p, "/partitions/") }

func (h *stateWriteHook) hook(req zkmeta.Request, send func() error) error {
	switch req.Op {
	case zkmeta.OpMulti:
		for _, op := range req.Ops {
			if op.Op == zkmeta.OpSet && isPartitionPath(op.Path) {
				if h.expired.Load() {
					h.late.Add(1)
				} else if h.armed.Load() {
					h.once.Do(func() {
						h.expire()
						h.expired.Store(true)
					})
				}
			}
		}
	case zkmeta.OpGet:
		if h.expired.Load() && isPartitionPath(req.Path) {
			h.late.Add(1)
		}
	}
	return send()
}

// The controller's session expires inside the first partition-state write
// of a failover (broker 2, leader of 4 partitions, dies). Every later call
// on that session fails at once with a session expiry, and the controller
// must give up the event at once: KafkaZkClient retries only
// CONNECTIONLOSS, the failing event ends, and Expire runs next
// (beforeInitializingSession). Reading each partition's state back for
// seconds holds the event loop, hence turn, hence the broker's next
// session: the controller was re-elected N x 5 s late.
func TestExpiryInsidePartitionWriteEndsTheEventAtOnce(t *testing.T) {
	srv := zktest.Start(t)
	cs := srv.Chroot(t)
	admin := connectZK(t, cs, zkmeta.Options{})
	if err := admin.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	b2, b3 := connectZK(t, cs, zkmeta.Options{}), connectZK(t, cs, zkmeta.Options{})
	registerFakeBroker(t, b2, 2, deadPort(t))
	registerFakeBroker(t, b3, 3, deadPort(t))
	const n = 4
	parts := map[int32][]int32{}
	for p := range int32(n) {
		parts[p] = []int32{2, 3}
	}
	if err := admin.CreateTopic(zkmeta.TopicAssignment{Topic: "t", TopicID: zkmeta.NewTopicID(), Partitions: parts}, nil); err != nil {
		t.Fatal(err)
	}
	leaders := func(want int32) bool {
		for p := range int32(n) {
			st, ok, err := admin.PartitionState("t", p)
			if err != nil || !ok || st.Leader != want {
				return false
			}
		}
		return true
	}

	d := &zktest.CutDialer{}
	var zc *zkmeta.Client
	expire := func() { expireControllerSession(t, d, zc, admin) }
	var once sync.Once
	var armed atomic.Bool
	var late atomic.Int32
	zc = connectZK(t, cs, zkmeta.Options{Dialer: d.Dial, OnSession: func(*zkmeta.SessionConn) zkmeta.Hook {
		h := &stateWriteHook{once: &once, armed: &armed, expire: expire, late: &late}
		return h.hook
	}})
	ctl := runController(t, 1, zc)
	waitFor(t, "broker 2 leads every partition", func() bool { return ctl.Active() && leaders(2) })
	epoch0, _, err := admin.ControllerEpoch()
	if err != nil {
		t.Fatal(err)
	}

	armed.Store(true)
	b2.Close() // the failover's first state write expires the session
	waitFor(t, "the controller resigns and is elected again on its next session", func() bool {
		ci, ok, err := admin.Controller()
		e, _, eerr := admin.ControllerEpoch()
		return err == nil && eerr == nil && ok && ci.BrokerID == 1 && e > epoch0 && ctl.Active()
	})
	waitFor(t, "broker 3 leads every partition", func() bool { return leaders(3) })
	if v := late.Load(); v != 0 {
		t.Errorf("%d partition-state calls on the expired session after its expiry, want none", v)
	}
}
