package controller

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/kafkazk/kafkazk/zkmeta"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// configHook interposes on the controller's reads: afterTopicConfig runs
// (once) after the first read of /config/topics/t returns, and
// failChangesWatch makes the first watch of /config/changes fail.
type configHook struct {
	once, watchOnce  *sync.Once
	afterTopicConfig func()
	failChangesWatch bool
}

func (h configHook) hook(req zkmeta.Request, send func() error) error {
	switch req.Op {
	case zkmeta.OpGet:
		err := send()
		if h.afterTopicConfig != nil && strings.HasSuffix(req.Path, zkmeta.EntityConfigPath("topics", "t")) {
			h.once.Do(h.afterTopicConfig)
		}
		return err
	case zkmeta.OpChildrenW:
		failed := false
		if h.failChangesWatch && strings.HasSuffix(req.Path, zkmeta.ConfigChangesPath) {
			h.watchOnce.Do(func() { failed = true })
		}
		if failed {
			return errors.New("injected: watching /config/changes failed")
		}
	}
	return send()
}

// offlinePartitionCluster is a ZooKeeper holding topic t with one
// partition on [2, 3] led by broker 2, now dead, with ISR [2]: offline
// unless unclean election is enabled. Broker 3 is live. admin is a client
// of its own.
func offlinePartitionCluster(t *testing.T) (cs string, admin *zkmeta.Client) {
	t.Helper()
	srv := zktest.Start(t)
	cs = srv.Chroot(t)
	admin = connectZK(t, cs, zkmeta.Options{})
	if err := admin.EnsurePaths(); err != nil {
		t.Fatal(err)
	}
	registerFakeBroker(t, connectZK(t, cs, zkmeta.Options{}), 3, deadPort(t))
	if err := admin.CreateTopic(zkmeta.TopicAssignment{Topic: "t", TopicID: zkmeta.NewTopicID(),
		Partitions: map[int32][]int32{0: {2, 3}}}, nil); err != nil {
		t.Fatal(err)
	}
	st := zkmeta.EncodePartitionState(zkmeta.LeaderAndIsr{Leader: 2, LeaderEpoch: 1, ISR: []int32{2}})
	if err := admin.CreateRecursive(zkmeta.PartitionStatePath("t", 0), st, zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	return cs, admin
}

func enableUnclean(t *testing.T, admin *zkmeta.Client) {
	t.Helper()
	if err := admin.ChangeEntityConfig("topics", "t", map[string]string{"unclean.leader.election.enable": "true"}); err != nil {
		t.Error(err)
	}
}

func leaderOf(admin *zkmeta.Client) int32 {
	st, ok, err := admin.PartitionState("t", 0)
	if err != nil || !ok {
		return -2
	}
	return st.Leader
}

// unclean.leader.election.enable is turned on for t after the failover's
// election has read t's config (clean only: t-0 stays offline) and before
// the failover has looked at /config/changes. The notification must still
// be acted on once the controller is active, as Kafka's
// TopicUncleanLeaderElectionEnable event queues behind Startup.
func TestUncleanEnabledDuringFailoverElectsAfterIt(t *testing.T) {
	cs, admin := offlinePartitionCluster(t)
	var once sync.Once
	zc := connectZK(t, cs, zkmeta.Options{OnSession: func(*zkmeta.SessionConn) zkmeta.Hook {
		return configHook{once: &once, watchOnce: &sync.Once{},
			afterTopicConfig: func() { enableUnclean(t, admin) }}.hook
	}})
	ctl := runController(t, 1, zc)
	waitFor(t, "broker 1 becomes controller", ctl.Active)
	waitFor(t, "t-0 elects broker 3 uncleanly", func() bool { return leaderOf(admin) == 3 })
}

// Watching /config/changes fails at the failover: the controller must try
// again rather than never act on a notification for the rest of its
// tenure.
func TestConfigChangesWatchRetried(t *testing.T) {
	cs, admin := offlinePartitionCluster(t)
	zc := connectZK(t, cs, zkmeta.Options{OnSession: func(*zkmeta.SessionConn) zkmeta.Hook {
		return configHook{once: &sync.Once{}, watchOnce: &sync.Once{}, failChangesWatch: true}.hook
	}})
	ctl := runController(t, 1, zc)
	waitFor(t, "broker 1 becomes controller", ctl.Active)
	if l := leaderOf(admin); l != noLeader {
		t.Fatalf("t-0 led by %d after the failover, want offline", l)
	}
	enableUnclean(t, admin)
	waitFor(t, "t-0 elects broker 3 uncleanly", func() bool { return leaderOf(admin) == 3 })
}
