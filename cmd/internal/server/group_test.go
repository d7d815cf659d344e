package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta/zktest"
)

// groupOverrides make group tests fast: short session timeouts are allowed.
var groupOverrides = []string{"group.min.session.timeout.ms=1000", "offsets.topic.num.partitions=4"}

// groupMember is a franz-go group consumer that records what it consumed.
type groupMember struct {
	name string
	cl   *kgo.Client

	mu       sync.Mutex
	consumed map[int32][]int64 // partition -> offsets, in order
	done     chan struct{}
	cancel   context.CancelFunc
}

// startMember joins group on topic and polls until stopped, committing
// what it consumed after every poll (synchronously, so a test sees the
// commits once the records are counted).
func startMember(t *testing.T, addrs []string, groupID, topic, name string, balancer kgo.GroupBalancer) *groupMember {
	t.Helper()
	m := &groupMember{name: name, consumed: map[int32][]int64{}, done: make(chan struct{})}
	opts := []kgo.Opt{
		kgo.SeedBrokers(addrs...),
		kgo.ClientID(name),
		kgo.ConsumerGroup(groupID),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(3 * time.Second),
		kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.MetadataMinAge(50 * time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
	}
	if testing.Verbose() {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelInfo, func() string { return name + " " })))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				m.mu.Lock()
				m.consumed[r.Partition] = append(m.consumed[r.Partition], r.Offset)
				m.mu.Unlock()
			})
			if fs.NumRecords() > 0 {
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				_ = cl.CommitUncommittedOffsets(cctx)
				ccancel()
			}
		}
	}()
	t.Cleanup(m.stop)
	return m
}

// stop ends polling and leaves the group (LeaveGroup on Close).
func (m *groupMember) stop() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

func (m *groupMember) offsets() map[int32][]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32][]int64{}
	for p, o := range m.consumed {
		out[p] = slices.Clone(o)
	}
	return out
}

// waitStableAssignment waits until the group is Stable with n members and
// every partition of topic is owned by exactly one member; it returns the
// member id -> partitions.
func waitStableAssignment(t *testing.T, adm *kadm.Client, groupID, topic string, n, partitions int) map[string][]int32 {
	t.Helper()
	var out map[string][]int32
	var last string
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		described, err := adm.DescribeGroups(ctx, groupID)
		cancel()
		if err == nil {
			d := described[groupID]
			out = map[string][]int32{}
			owners := map[int32]int{}
			for _, m := range d.Members {
				c, ok := m.Assigned.AsConsumer()
				if !ok {
					continue
				}
				for _, at := range c.Topics {
					if at.Topic != topic {
						continue
					}
					out[m.MemberID] = append(out[m.MemberID], at.Partitions...)
					for _, p := range at.Partitions {
						owners[p]++
					}
				}
			}
			once := len(owners) == partitions
			for _, c := range owners {
				once = once && c == 1
			}
			last = fmt.Sprintf("state %s, %d members, owners %v", d.State, len(d.Members), owners)
			if d.Err == nil && d.State == "Stable" && len(d.Members) == n && len(out) == n && once {
				return out
			}
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s did not settle on %d members owning %d partitions once each: %s", groupID, n, partitions, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func produceValues(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, partitions, perPartition int, prefix string) {
	t.Helper()
	var recs []*kgo.Record
	for p := range partitions {
		for i := range perPartition {
			recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(p), Value: fmt.Appendf(nil, "%s-%d-%d", prefix, p, i)})
		}
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// TestGroupConsumersRebalanceAndResume: two members share six partitions,
// a third joins and one leaves, each time ending with every partition
// owned exactly once; the members commit what they consume, and a
// restarted group resumes from the committed offsets with nothing skipped
// or repeated. Both franz-go eager (range) and cooperative-sticky flows.
func TestGroupConsumersRebalanceAndResume(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, groupOverrides...)
	cl := newClient(t, []string{b.addr}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	waitForBrokers(t, cl, 1)
	adm := kadm.NewClient(cl)

	for _, tc := range []struct {
		name     string
		balancer func() kgo.GroupBalancer
	}{
		{"range", func() kgo.GroupBalancer { return kgo.RangeBalancer() }},
		{"cooperative-sticky", func() kgo.GroupBalancer { return kgo.CooperativeStickyBalancer() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			topic, groupID := "events-"+tc.name, "g-"+tc.name
			if _, err := adm.CreateTopic(ctx, 6, 1, nil, topic); err != nil {
				t.Fatal(err)
			}
			produceValues(t, ctx, cl, topic, 6, 20, "a")

			addrs := []string{b.addr}
			m1 := startMember(t, addrs, groupID, topic, "m1", tc.balancer())
			m2 := startMember(t, addrs, groupID, topic, "m2", tc.balancer())
			two := waitStableAssignment(t, adm, groupID, topic, 2, 6)
			for id, ps := range two {
				if len(ps) == 0 {
					t.Fatalf("member %s got no partition: %v", id, two)
				}
			}
			m3 := startMember(t, addrs, groupID, topic, "m3", tc.balancer())
			waitStableAssignment(t, adm, groupID, topic, 3, 6)
			produceValues(t, ctx, cl, topic, 6, 10, "b")
			m2.stop()
			waitStableAssignment(t, adm, groupID, topic, 2, 6)
			produceValues(t, ctx, cl, topic, 6, 10, "c")

			// Every record is consumed and committed: committed offset 40
			// on each partition.
			waitFor(t, "offsets 40 committed on all partitions", func() bool {
				offs, err := adm.FetchOffsets(ctx, groupID)
				if err != nil {
					return false
				}
				for p := range int32(6) {
					o, ok := offs.Lookup(topic, p)
					if !ok || o.Err != nil || o.At != 40 {
						return false
					}
				}
				return true
			})
			m1.stop()
			m3.stop()
			waitFor(t, "the group to be Empty", func() bool {
				d, err := adm.DescribeGroups(ctx, groupID)
				return err == nil && d[groupID].State == "Empty"
			})

			// A restarted group resumes at the committed offsets.
			produceValues(t, ctx, cl, topic, 6, 5, "d")
			m4 := startMember(t, addrs, groupID, topic, "m4", tc.balancer())
			waitFor(t, "the restarted member to consume the new records", func() bool {
				n := 0
				for _, o := range m4.offsets() {
					n += len(o)
				}
				return n >= 30
			})
			for p, offs := range m4.offsets() {
				want := []int64{40, 41, 42, 43, 44}
				if !slices.Equal(offs, want) {
					t.Errorf("partition %d: restarted group consumed offsets %v, want %v", p, offs, want)
				}
			}
		})
	}
}

// TestGroupAdminAPIs covers ListGroups (with the state filter),
// DescribeGroups, DeleteGroups and OffsetDelete through kadm, simple
// consumer commits (generation -1), and the coordinator's answers.
func TestGroupAdminAPIs(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, groupOverrides...)
	cl := newClient(t, []string{b.addr}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	waitForBrokers(t, cl, 1)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, topic := range []string{"admin-a", "admin-b"} {
		if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
	}
	produceValues(t, ctx, cl, "admin-a", 2, 5, "x")

	// A simple consumer (no group membership) commits with generation -1.
	simple := kadm.Offsets{}
	simple.Add(kadm.Offset{Topic: "admin-a", Partition: 0, At: 3, LeaderEpoch: -1, Metadata: "m0"})
	simple.Add(kadm.Offset{Topic: "admin-b", Partition: 1, At: 7, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "simple", simple); err != nil || resp.Error() != nil {
		t.Fatalf("simple commit: %v %v", err, resp.Error())
	}
	offs, err := adm.FetchOffsets(ctx, "simple")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("admin-a", 0); o.At != 3 || o.Metadata != "m0" {
		t.Fatalf("fetched %+v, want offset 3 metadata m0", o)
	}
	// Unknown partitions: offset -1, no error.
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = "simple"
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic, rt.Partitions = "admin-a", []int32{1}
	req.Topics = append(req.Topics, rt)
	fresp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if p := fresp.Topics[0].Partitions[0]; p.Offset != -1 || p.ErrorCode != 0 {
		t.Fatalf("unknown offset: got %+v", p)
	}
	// A commit to a nonexistent topic is UNKNOWN_TOPIC_OR_PARTITION.
	bad := kadm.Offsets{}
	bad.Add(kadm.Offset{Topic: "no-such-topic", Partition: 0, At: 1})
	if resp, err := adm.CommitOffsets(ctx, "simple", bad); err != nil || !errors.Is(resp.Error(), kerr.UnknownTopicOrPartition) {
		t.Fatalf("commit to unknown topic: %v %v", err, resp.Error())
	}

	// An active consumer group subscribed to admin-a.
	m := startMember(t, []string{b.addr}, "active", "admin-a", "member", kgo.RangeBalancer())
	waitStableAssignment(t, adm, "active", "admin-a", 1, 2)
	waitFor(t, "commits of the active group", func() bool {
		o, err := adm.FetchOffsets(ctx, "active")
		if err != nil {
			return false
		}
		a0, _ := o.Lookup("admin-a", 0)
		a1, _ := o.Lookup("admin-a", 1)
		return a0.At == 5 && a1.At == 5 // both, or a late commit of partition 1 races the checks below
	})

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := listed.Groups(); !slices.Equal(got, []string{"active", "simple"}) {
		t.Fatalf("ListGroups: %v", got)
	}
	if lg := listed["active"]; lg.State != "Stable" || lg.ProtocolType != "consumer" {
		t.Fatalf("active group listed as %+v", lg)
	}
	stable, err := adm.ListGroups(ctx, "Stable")
	if err != nil || !slices.Equal(stable.Groups(), []string{"active"}) {
		t.Fatalf("ListGroups Stable: %v %v", stable.Groups(), err)
	}
	empty, err := adm.ListGroups(ctx, "Empty")
	if err != nil || !slices.Equal(empty.Groups(), []string{"simple"}) {
		t.Fatalf("ListGroups Empty: %v %v", empty.Groups(), err)
	}

	described, err := adm.DescribeGroups(ctx, "active", "simple", "nobody")
	if err != nil {
		t.Fatal(err)
	}
	a := described["active"]
	if a.State != "Stable" || a.Protocol != "range" || a.ProtocolType != "consumer" || len(a.Members) != 1 || a.Members[0].ClientID != "member" ||
		a.Members[0].ClientHost != "/127.0.0.1" {
		t.Fatalf("describe active: %+v", a)
	}
	if d := described["nobody"]; d.State != "Dead" || d.Err != nil {
		t.Fatalf("describe unknown group: %+v", d)
	}
	dreq := kmsg.NewPtrDescribeGroupsRequest()
	dreq.Groups = []string{"active"}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if got := dresp.Groups[0].AuthorizedOperations; got != -2147483648 {
		t.Fatalf("authorized operations not asked for: %d", got)
	}
	dreq.IncludeAuthorizedOperations = true
	if dresp, err = dreq.RequestWith(ctx, cl); err != nil || dresp.Groups[0].AuthorizedOperations != 328 {
		t.Fatalf("authorized operations: %v %+v", err, dresp)
	}

	// OffsetDelete: a subscribed topic of an active group stays.
	del, err := adm.DeleteOffsets(ctx, "active", kadm.TopicsSet{"admin-a": {0: {}}})
	if err != nil {
		t.Fatal(err)
	}
	if e := del["admin-a"][0]; !errors.Is(e, kerr.GroupSubscribedToTopic) {
		t.Fatalf("delete subscribed offsets: %v", e)
	}
	// DeleteGroups: an active group is NON_EMPTY_GROUP, an unknown one
	// GROUP_ID_NOT_FOUND, an Empty one goes with its offsets.
	dg, err := adm.DeleteGroups(ctx, "active", "nobody", "simple")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dg["active"].Err, kerr.NonEmptyGroup) || !errors.Is(dg["nobody"].Err, kerr.GroupIDNotFound) || dg["simple"].Err != nil {
		t.Fatalf("DeleteGroups: active %v, nobody %v, simple %v", dg["active"].Err, dg["nobody"].Err, dg["simple"].Err)
	}
	if offs, err := adm.FetchOffsets(ctx, "simple"); err != nil || len(offs.Offsets()) != 0 {
		t.Fatalf("offsets of a deleted group: %v %v", offs, err)
	}

	// Once the member left, the group is Empty: its offsets can be
	// deleted, then the group.
	m.stop()
	waitFor(t, "the active group to be Empty", func() bool {
		d, err := adm.DescribeGroups(ctx, "active")
		return err == nil && d["active"].State == "Empty"
	})
	del, err = adm.DeleteOffsets(ctx, "active", kadm.TopicsSet{"admin-a": {0: {}}})
	if err != nil || del["admin-a"][0] != nil {
		t.Fatalf("delete offsets of an Empty group: %v %v", err, del)
	}
	offs, err = adm.FetchOffsets(ctx, "active")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := offs.Lookup("admin-a", 0); ok {
		t.Fatalf("deleted offset still fetched: %v", offs)
	}
	if _, ok := offs.Lookup("admin-a", 1); !ok {
		t.Fatalf("the other partition's offset went too: %v", offs)
	}
	if dg, err := adm.DeleteGroups(ctx, "active"); err != nil || dg["active"].Err != nil {
		t.Fatalf("delete the Empty group: %v %v", err, dg["active"].Err)
	}
	listed, err = adm.ListGroups(ctx)
	if err != nil || len(listed) != 0 {
		t.Fatalf("groups left after deletion: %v %v", listed.Groups(), err)
	}
}

// TestConsumerOffsetsRecordsAndReload: the commits and the group state are
// in __consumer_offsets in Kafka's key and value schemas, and a restarted
// coordinator loads them back.
func TestConsumerOffsetsRecordsAndReload(t *testing.T) {
	zk := zktest.Start(t)
	b := startBroker(t, zk.Chroot(t), 0, groupOverrides...)
	cl := newClient(t, []string{b.addr}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	waitForBrokers(t, cl, 1)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "rec"); err != nil {
		t.Fatal(err)
	}
	produceValues(t, ctx, cl, "rec", 3, 4, "r")
	m := startMember(t, []string{b.addr}, "recgroup", "rec", "recmember", kgo.RangeBalancer())
	waitStableAssignment(t, adm, "recgroup", "rec", 1, 3)
	waitFor(t, "commits", func() bool {
		o, err := adm.FetchOffsets(ctx, "recgroup")
		if err != nil {
			return false
		}
		for p := range int32(3) {
			if a, _ := o.Lookup("rec", p); a.At != 4 {
				return false
			}
		}
		return true
	})

	// Read the whole topic and decode it as Kafka's formats.
	type commit struct {
		offset int64
		epoch  int32
	}
	commits := map[int32]commit{}
	var lastGroup *kmsg.GroupMetadataValue
	reader := newClient(t, []string{b.addr}, kgo.ConsumeTopics("__consumer_offsets"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100*time.Millisecond))
	end, err := adm.ListEndOffsets(ctx, "__consumer_offsets")
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	end.Each(func(o kadm.ListedOffset) { want[o.Partition] = o.Offset })
	seen := map[int32]int64{}
	reached := func() bool {
		for p, o := range want {
			if o > 0 && seen[p] < o {
				return false
			}
		}
		return true
	}
	for !reached() {
		fs := reader.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading __consumer_offsets: %v (seen %v, want %v)", ctx.Err(), seen, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			seen[r.Partition] = r.Offset + 1
			var version int16
			if len(r.Key) >= 2 {
				version = int16(r.Key[0])<<8 | int16(r.Key[1])
			}
			switch version {
			case 1:
				var k kmsg.OffsetCommitKey
				if err := k.ReadFrom(r.Key); err != nil {
					t.Fatalf("offset commit key: %v", err)
				}
				if k.Group != "recgroup" || k.Topic != "rec" {
					return
				}
				if r.Value == nil {
					delete(commits, k.Partition)
					return
				}
				var v kmsg.OffsetCommitValue
				if err := v.ReadFrom(r.Value); err != nil || v.Version != 3 {
					t.Fatalf("offset commit value v%d: %v", v.Version, err)
				}
				commits[k.Partition] = commit{v.Offset, v.LeaderEpoch}
			case 2:
				var k kmsg.GroupMetadataKey
				if err := k.ReadFrom(r.Key); err != nil {
					t.Fatalf("group metadata key: %v", err)
				}
				if k.Group != "recgroup" || r.Value == nil {
					return
				}
				v := new(kmsg.GroupMetadataValue)
				if err := v.ReadFrom(r.Value); err != nil || v.Version != 3 {
					t.Fatalf("group metadata value v%d: %v", v.Version, err)
				}
				lastGroup = v
			default:
				t.Fatalf("unexpected key version %d", version)
			}
		})
	}
	for p := range int32(3) {
		if c := commits[p]; c.offset != 4 || c.epoch != 0 {
			t.Errorf("partition %d: commit record %+v, want offset 4 leader epoch 0", p, c)
		}
	}
	if lastGroup == nil || lastGroup.ProtocolType != "consumer" || lastGroup.Protocol == nil || *lastGroup.Protocol != "range" ||
		len(lastGroup.Members) != 1 || lastGroup.Members[0].ClientID != "recmember" || lastGroup.Generation < 1 {
		t.Fatalf("group metadata record: %+v", lastGroup)
	}
	var assigned kmsg.ConsumerMemberAssignment
	if err := assigned.ReadFrom(lastGroup.Members[0].Assignment); err != nil || len(assigned.Topics) != 1 || len(assigned.Topics[0].Partitions) != 3 {
		t.Fatalf("stored assignment %+v: %v", assigned, err)
	}

	// A restarted coordinator loads the group and its offsets.
	m.stop()
	waitFor(t, "the group to be Empty", func() bool {
		d, err := adm.DescribeGroups(ctx, "recgroup")
		return err == nil && d["recgroup"].State == "Empty"
	})
	b.stop(t)
	b = restartBroker(t, b, groupOverrides...)
	waitFor(t, "the reloaded offsets", func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		o, err := adm.FetchOffsets(c, "recgroup")
		if err != nil {
			return false
		}
		var got []int64
		for p := range int32(3) {
			a, _ := o.Lookup("rec", p)
			got = append(got, a.At)
		}
		return slices.Equal(got, []int64{4, 4, 4})
	})
	d, err := adm.DescribeGroups(ctx, "recgroup")
	if err != nil || d["recgroup"].State != "Empty" || d["recgroup"].ProtocolType != "consumer" {
		t.Fatalf("reloaded group: %+v %v", d["recgroup"], err)
	}
}

// TestGroupAPIVersions drives the group APIs at old and new versions with
// raw requests: FindCoordinator v1 and batched v4 (and the transaction key
// type, not served), a v0 member (JoinGroup without MEMBER_ID_REQUIRED,
// SyncGroup, Heartbeat, OffsetCommit v2, LeaveGroup v0), OffsetCommit and
// OffsetFetch v0 against ZooKeeper as Kafka does in ZooKeeper mode, and
// multi-group OffsetFetch v8.
func TestGroupAPIVersions(t *testing.T) {
	zk := zktest.Start(t)
	connect := zk.Chroot(t)
	b := startBroker(t, connect, 0, groupOverrides...)
	cl := newClient(t, []string{b.addr}, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	waitForBrokers(t, cl, 1)
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "ver"); err != nil {
		t.Fatal(err)
	}
	raw := protocol.NewClient(b.addr, "raw-client", 5*time.Second)
	defer raw.Close()
	send := func(req kmsg.Request, version int16) kmsg.Response {
		t.Helper()
		req.SetVersion(version)
		resp, err := raw.Request(ctx, req)
		if err != nil {
			t.Fatalf("%s v%d: %v", kmsg.NameForKey(req.Key()), version, err)
		}
		return resp
	}

	// FindCoordinator: the first call creates __consumer_offsets.
	waitFor(t, "a coordinator", func() bool {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.CoordinatorKey = "v0group"
		resp := send(req, 1).(*kmsg.FindCoordinatorResponse)
		return resp.ErrorCode == 0 && resp.NodeID == 0 && resp.Port != 0
	})
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"a", "b"}
	if resp := send(fc, 4).(*kmsg.FindCoordinatorResponse); len(resp.Coordinators) != 2 || resp.Coordinators[1].Key != "b" || resp.Coordinators[1].ErrorCode != 0 {
		t.Fatalf("batched FindCoordinator: %+v", resp)
	}
	fc = kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey, fc.CoordinatorType = "txn", 1
	if resp := send(fc, 1).(*kmsg.FindCoordinatorResponse); resp.ErrorCode != kerr.CoordinatorNotAvailable.Code || resp.NodeID != -1 {
		t.Fatalf("transaction coordinator: %+v", resp)
	}

	// A v0 member: no member id round trip, v0 rebalance timeout = session timeout.
	jg := kmsg.NewPtrJoinGroupRequest()
	jg.Group, jg.SessionTimeoutMillis, jg.ProtocolType = "v0group", 6000, "consumer"
	jp := kmsg.NewJoinGroupRequestProtocol()
	jp.Name = "range"
	jp.Metadata = (&kmsg.ConsumerMemberMetadata{Topics: []string{"ver"}}).AppendTo(nil)
	jg.Protocols = append(jg.Protocols, jp)
	join := send(jg, 0).(*kmsg.JoinGroupResponse)
	if join.ErrorCode != 0 || join.Generation != 1 || join.LeaderID != join.MemberID || len(join.Members) != 1 || join.Protocol == nil || *join.Protocol != "range" {
		t.Fatalf("JoinGroup v0: %+v", join)
	}
	sg := kmsg.NewPtrSyncGroupRequest()
	sg.Group, sg.Generation, sg.MemberID = "v0group", 1, join.MemberID
	sa := kmsg.NewSyncGroupRequestGroupAssignment()
	sa.MemberID, sa.MemberAssignment = join.MemberID, []byte("assignment")
	sg.GroupAssignment = append(sg.GroupAssignment, sa)
	if resp := send(sg, 0).(*kmsg.SyncGroupResponse); resp.ErrorCode != 0 || string(resp.MemberAssignment) != "assignment" {
		t.Fatalf("SyncGroup v0: %+v", resp)
	}
	sg = kmsg.NewPtrSyncGroupRequest()
	sg.Group, sg.Generation, sg.MemberID = "v0group", 1, join.MemberID
	if resp := send(sg, 5).(*kmsg.SyncGroupResponse); resp.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("SyncGroup v5 without protocol type and name: %+v", resp)
	}
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.Generation, hb.MemberID = "v0group", 1, join.MemberID
	if resp := send(hb, 0).(*kmsg.HeartbeatResponse); resp.ErrorCode != 0 {
		t.Fatalf("Heartbeat v0: %+v", resp)
	}
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation, oc.MemberID, oc.RetentionTimeMillis = "v0group", 1, join.MemberID, 60000
	ot := kmsg.NewOffsetCommitRequestTopic()
	ot.Topic = "ver"
	op := kmsg.NewOffsetCommitRequestTopicPartition()
	op.Partition, op.Offset = 1, 17
	ot.Partitions = append(ot.Partitions, op)
	oc.Topics = append(oc.Topics, ot)
	if resp := send(oc, 2).(*kmsg.OffsetCommitResponse); resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("OffsetCommit v2: %+v", resp)
	}
	lg := kmsg.NewPtrLeaveGroupRequest()
	lg.Group, lg.MemberID = "v0group", join.MemberID
	if resp := send(lg, 0).(*kmsg.LeaveGroupResponse); resp.ErrorCode != 0 {
		t.Fatalf("LeaveGroup v0: %+v", resp)
	}
	if resp := send(lg, 0).(*kmsg.LeaveGroupResponse); resp.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("LeaveGroup v0 of a gone member: %+v", resp)
	}

	// OffsetCommit/OffsetFetch v0 use /consumers/<group>/offsets in ZooKeeper.
	oc = kmsg.NewPtrOffsetCommitRequest()
	oc.Group = "zkgroup"
	ot = kmsg.NewOffsetCommitRequestTopic()
	ot.Topic = "ver"
	op = kmsg.NewOffsetCommitRequestTopicPartition()
	op.Partition, op.Offset = 0, 42
	ot.Partitions = append(ot.Partitions, op)
	oc.Topics = append(oc.Topics, ot)
	for range 2 { // create, then overwrite
		if resp := send(oc, 0).(*kmsg.OffsetCommitResponse); resp.Topics[0].Partitions[0].ErrorCode != 0 {
			t.Fatalf("OffsetCommit v0: %+v", resp)
		}
	}
	zc := zkClient(t, connect)
	// __consumer_offsets as Kafka creates it: offsets.topic.* and the
	// coordinator's topic configs; internal in Metadata.
	cfg, err := zc.TopicConfig("__consumer_offsets")
	if err != nil || cfg["cleanup.policy"] != "compact" || cfg["compression.type"] != "producer" || cfg["segment.bytes"] != "104857600" {
		t.Fatalf("__consumer_offsets configs: %v %v", cfg, err)
	}
	md := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("__consumer_offsets")
	md.Topics = append(md.Topics, mt)
	if resp, err := md.RequestWith(ctx, cl); err != nil || !resp.Topics[0].IsInternal || len(resp.Topics[0].Partitions) != 4 {
		t.Fatalf("__consumer_offsets metadata: %v %+v", err, resp)
	}
	if data, _, err := zc.Get("/consumers/zkgroup/offsets/ver/0"); err != nil || string(data) != "42" {
		t.Fatalf("v0 offset znode: %q %v", data, err)
	}
	of := kmsg.NewPtrOffsetFetchRequest()
	of.Group = "zkgroup"
	oft := kmsg.NewOffsetFetchRequestTopic()
	oft.Topic, oft.Partitions = "ver", []int32{0, 1}
	of.Topics = append(of.Topics, oft)
	fresp := send(of, 0).(*kmsg.OffsetFetchResponse)
	if ps := fresp.Topics[0].Partitions; ps[0].Offset != 42 || ps[0].ErrorCode != 0 || ps[1].Offset != -1 || ps[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("OffsetFetch v0: %+v", fresp)
	}

	// Multi-group OffsetFetch (v8): one group with all its offsets, one
	// with a partition, one unknown.
	of = kmsg.NewPtrOffsetFetchRequest()
	for _, g := range []string{"v0group", "zkgroup", "nobody"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		if g != "v0group" {
			t := kmsg.NewOffsetFetchRequestGroupTopic()
			t.Topic, t.Partitions = "ver", []int32{1}
			rg.Topics = append(rg.Topics, t)
		}
		of.Groups = append(of.Groups, rg)
	}
	of.RequireStable = true
	fresp = send(of, 8).(*kmsg.OffsetFetchResponse)
	if len(fresp.Groups) != 3 || fresp.Groups[0].Topics[0].Partitions[0].Offset != 17 ||
		fresp.Groups[1].Topics[0].Partitions[0].Offset != -1 || fresp.Groups[2].Topics[0].Partitions[0].Offset != -1 {
		t.Fatalf("OffsetFetch v8: %+v", fresp)
	}

	// ApiVersions advertises the group APIs.
	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int16][2]int16{10: {0, 6}, 11: {0, 9}, 14: {0, 5}, 12: {0, 4}, 13: {0, 5}, 8: {0, 8}, 9: {0, 8}, 47: {0, 0}, 16: {0, 4}, 15: {0, 5}, 42: {0, 2}}
	for _, k := range av.ApiKeys {
		if w, ok := want[k.ApiKey]; ok {
			if k.MinVersion != w[0] || k.MaxVersion != w[1] {
				t.Errorf("api %d: %d-%d, want %d-%d", k.ApiKey, k.MinVersion, k.MaxVersion, w[0], w[1])
			}
			delete(want, k.ApiKey)
		}
	}
	if len(want) != 0 {
		t.Errorf("not advertised: %v", want)
	}
}
