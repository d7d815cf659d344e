package kafkadiff_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/tlspki"
)

// TestTxnCoordinatorClusters runs the transaction coordinator on a 1-broker
// and a 3-broker cluster of ours (coordinator.md §16 [wire] 75, [cluster]):
// __transaction_state is created on the first FindCoordinator with
// Kafka's settings (and refused, COORDINATOR_NOT_AVAILABLE, while fewer
// brokers are alive than its replication factor), then a transaction is
// begun, written to, committed and aborted.
func TestTxnCoordinatorClusters(t *testing.T) {
	t.Run("one broker", func(t *testing.T) {
		c := cluster.Start(t, 1, "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
			"transaction.state.log.num.partitions=5", "transaction.abort.timed.out.transaction.cleanup.interval.ms=200")
		cl := c.Client()
		createTxnTestTopic(t, cl, 1)
		waitTxnCoordinator(t, cl, "txn-one")
		checkTxnTopic(t, c, cl, 5, 1, "1")
		txnCoordinatorPath(t, cl, "txn-one")
		franzTransactions(t, c, "franz-one")
		hangingTransaction(t, c, cl, "franz-hanging")
	})
	t.Run("three brokers", func(t *testing.T) {
		c := cluster.Start(t, 1, "transaction.state.log.num.partitions=5")
		cl := c.Client()
		// transaction.state.log.replication.factor 3 with one broker: the
		// creation is refused and FindCoordinator keeps answering
		// COORDINATOR_NOT_AVAILABLE.
		for range 3 {
			if code := findTxnCoordinator(t, cl, "txn-three"); code != kerr.CoordinatorNotAvailable.Code {
				t.Fatalf("FindCoordinator with one broker: %v", kerr.ErrorForCode(code))
			}
		}
		topics, err := kadm.NewClient(cl).ListTopicsWithInternal(context.Background(), "__transaction_state")
		if d := topics["__transaction_state"]; err != nil || !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			t.Fatalf("__transaction_state created with too few brokers: %v %+v", err, d)
		}
		c.AddBroker(1, "transaction.state.log.num.partitions=5")
		c.AddBroker(2, "transaction.state.log.num.partitions=5")
		c.WaitForBrokers(0, 1, 2)
		createTxnTestTopic(t, cl, 3)
		waitTxnCoordinator(t, cl, "txn-three")
		checkTxnTopic(t, c, cl, 5, 3, "2")
		txnCoordinatorPath(t, cl, "txn-three")
		franzTransactions(t, c, "franz-three")
		killAfterCommit(t, c, cl, "franz-prepared")
		coordinatorFailover(t, c, cl, "franz-failover")
	})
}

// txnProducer is a transactional franz-go client that knows every running
// broker before its first request: franz-go 1.22 fails a transaction with
// "unknown broker" when its coordinator lookup names a broker its metadata
// does not hold yet, and that error is fatal to the producer id (the same
// happens against Kafka).
func txnProducer(t *testing.T, c *cluster.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	p := c.Client(opts...)
	want := 0
	for _, id := range []int32{0, 1, 2} {
		if c.Running(id) {
			want++
		}
	}
	harness.Poll(t, 30*time.Second, "the producer's metadata holds every running broker", func() (bool, string) {
		p.ForceMetadataRefresh()
		n := len(p.DiscoveredBrokers())
		return n == want, fmt.Sprintf("%d of %d brokers known", n, want)
	})
	return p
}

// killAfterCommit (coordinator.md §16 [cluster] 79): EndTxn(commit) is
// answered once PrepareCommit is written, while the coordinator cannot
// reach the data partition's leader; the coordinator is killed before any
// marker was written. The partition's next coordinator loads PrepareCommit
// and writes the markers: read_committed gets the records, and the
// producer's next transaction commits. The killed broker comes back.
func killAfterCommit(t *testing.T, c *cluster.Cluster, cl *kgo.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(cl)
	if resp, err := adm.CreateTopic(ctx, 3, 3, nil, "txn-prepared"); err != nil || resp.Err != nil {
		t.Fatalf("create txn-prepared: %v %v", err, resp.Err)
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, id, []string{id}
	fresp, err := req.RequestWith(ctx, cl)
	if err != nil || fresp.Coordinators[0].ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v %+v", err, fresp)
	}
	coordinator := fresp.Coordinators[0].NodeID
	var partition, leader int32 = -1, -1
	harness.Poll(t, 30*time.Second, "txn-prepared's leaders", func() (bool, string) {
		td, err := adm.ListTopics(ctx, "txn-prepared")
		if err != nil {
			return false, err.Error()
		}
		for _, p := range td["txn-prepared"].Partitions {
			if p.Leader >= 0 && p.Leader != coordinator {
				partition, leader = p.Partition, p.Leader
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", td["txn-prepared"].Partitions)
	})
	p := txnProducer(t, c, kgo.TransactionalID(id), kgo.DefaultProduceTopic("txn-prepared"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequestRetries(1000), kgo.RetryTimeout(90*time.Second))
	produce := func(round int) {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			r := &kgo.Record{Partition: partition, Value: fmt.Appendf(nil, "%s-%d-%d", id, round, i)}
			if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatalf("produce: %v", err)
			}
		}
	}
	produce(0)
	c.CutLink(coordinator, leader) // the markers cannot reach the leader
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	dt := kmsg.NewPtrDescribeTransactionsRequest()
	dt.TransactionalIDs = []string{id}
	if resp, err := dt.RequestWith(ctx, cl); err != nil || resp.TransactionStates[0].State != "PrepareCommit" {
		t.Fatalf("before the kill: %v %+v, want PrepareCommit", err, resp)
	}
	c.Kill(coordinator)
	c.HealLink(coordinator, leader)
	readCommitted(t, c, coordinator, "txn-prepared", id+"-0-", 5)
	produce(1)
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("the next transaction's commit: %v", err)
	}
	readCommitted(t, c, coordinator, "txn-prepared", id+"-1-", 5)
	c.Launch(coordinator)
	c.WaitForBrokers(0, 1, 2)
}

// readCommitted consumes topic read_committed through a broker other than
// down until it has n records whose value starts with prefix.
func readCommitted(t *testing.T, c *cluster.Cluster, down int32, topic, prefix string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	seed := int32(0)
	if seed == down {
		seed = 1
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(seed).Addr), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed got %d of the %d records %s* of %s", len(seen), n, prefix, topic)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if strings.HasPrefix(string(r.Value), prefix) {
				seen[string(r.Value)] = true
			}
		})
	}
}

// coordinatorFailover (coordinator.md §16 [cluster] 79): the transaction
// coordinator of an open transaction is killed; the new leader of its
// __transaction_state partition loads the transaction, and the producer's
// commit completes there: a read_committed consumer gets its records.
func coordinatorFailover(t *testing.T, c *cluster.Cluster, cl *kgo.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The dead broker stays in the metadata until its ZooKeeper session
	// expires (6 s): the producer keeps retrying meanwhile.
	p := txnProducer(t, c, kgo.TransactionalID(id), kgo.DefaultProduceTopic("txn-data"),
		kgo.RequestRetries(1000), kgo.RetryTimeout(90*time.Second))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := p.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", id, i)}).FirstErr(); err != nil {
			t.Fatalf("produce %d: %v", i, err)
		}
	}
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, id, []string{id}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Coordinators[0].ErrorCode != 0 {
		t.Fatalf("FindCoordinator: %v %+v", err, resp)
	}
	coordinator := resp.Coordinators[0].NodeID
	c.Kill(coordinator)
	// franz-go 1.22 sends its coordinator lookup to any broker it knows and
	// returns a dial error of the dead one as is (retryable.Request does not
	// retry an error of the lookup itself), after which a commit may only be
	// retried as an abort. So the commit waits until the producer's metadata
	// no longer lists the killed broker (its ZooKeeper session expired), as
	// it would against Kafka.
	harness.Poll(t, 60*time.Second, "the killed coordinator gone from the producer's metadata", func() (bool, string) {
		p.ForceMetadataRefresh()
		n := len(p.DiscoveredBrokers())
		return n == 2, fmt.Sprintf("%d brokers known", n)
	})
	if err := p.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatalf("commit after the coordinator (broker %d) was killed: %v", coordinator, err)
	}
	var survivor int32
	for _, b := range []int32{0, 1, 2} {
		if b != coordinator {
			survivor = b
		}
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(survivor).Addr), kgo.ConsumeTopics("txn-data"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	seen := map[string]bool{}
	for len(seen) < 10 {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed got %d of the 10 records committed after the failover", len(seen))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if strings.HasPrefix(string(r.Value), id+"-") {
				seen[string(r.Value)] = true
			}
		})
	}
}

// hangingTransaction (coordinator.md §16 44; issue 17's hanging
// transaction): a producer leaves a transaction open past its
// transaction.timeout.ms; the coordinator's abort task bumps the epoch and
// aborts it (CompleteAbort), the markers let the LSO reach the high
// watermark again, and the producer is fenced.
func hangingTransaction(t *testing.T, c *cluster.Cluster, cl *kgo.Client, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := txnProducer(t, c, kgo.TransactionalID(id), kgo.DefaultProduceTopic("txn-data"), kgo.TransactionTimeout(time.Second))
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Value: []byte(id)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var epoch int16
	harness.Poll(t, 30*time.Second, "the timed-out transaction aborted", func() (bool, string) {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{id}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return false, err.Error()
		}
		st := resp.TransactionStates[0]
		epoch = st.ProducerEpoch
		return st.State == "CompleteAbort", st.State
	})
	if epoch != 1 {
		t.Fatalf("epoch after the timeout abort %d, want 1 (bumped once)", epoch)
	}
	lso := func(iso int8) map[int32]int64 {
		req := kmsg.NewPtrListOffsetsRequest()
		req.ReplicaID, req.IsolationLevel = -1, iso
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "txn-data"
		for p := range int32(2) {
			rp := kmsg.NewListOffsetsRequestTopicPartition()
			rp.Partition, rp.Timestamp = p, -1
			rt.Partitions = append(rt.Partitions, rp)
		}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int32]int64{}
		for _, rp := range resp.Topics[0].Partitions {
			out[rp.Partition] = rp.Offset
		}
		return out
	}
	harness.Poll(t, 30*time.Second, "the LSO back at the high watermark", func() (bool, string) {
		committed, uncommitted := lso(1), lso(0)
		return fmt.Sprint(committed) == fmt.Sprint(uncommitted), fmt.Sprintf("read_committed %v, read_uncommitted %v", committed, uncommitted)
	})
	if err := p.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("the timed-out producer committed; want it fenced")
	}
}

func createTxnTestTopic(t *testing.T, cl *kgo.Client, rf int16) {
	t.Helper()
	resp, err := kadm.NewClient(cl).CreateTopic(context.Background(), 2, rf, nil, "txn-data")
	if err != nil || resp.Err != nil {
		t.Fatalf("creating txn-data: %v %v", err, resp.Err)
	}
}

func findTxnCoordinator(t *testing.T, cl *kgo.Client, id string) int16 {
	t.Helper()
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.CoordinatorType, req.CoordinatorKey, req.CoordinatorKeys = 1, id, []string{id}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("FindCoordinator: %v", err)
	}
	if len(resp.Coordinators) == 1 {
		return resp.Coordinators[0].ErrorCode
	}
	return resp.ErrorCode
}

func waitTxnCoordinator(t *testing.T, cl *kgo.Client, id string) {
	t.Helper()
	harness.Poll(t, 60*time.Second, "a transaction coordinator for "+id, func() (bool, string) {
		code := findTxnCoordinator(t, cl, id)
		return code == 0, fmt.Sprint(kerr.ErrorForCode(code))
	})
}

// checkTxnTopic: the partition count, replication factor and the five
// topic configs of TransactionStateManager.transactionTopicConfigs.
func checkTxnTopic(t *testing.T, c *cluster.Cluster, cl *kgo.Client, partitions, rf int, minISR string) {
	t.Helper()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	var d kadm.TopicDetail
	harness.Poll(t, 30*time.Second, "every broker's metadata has __transaction_state", func() (bool, string) {
		td, err := adm.ListTopicsWithInternal(ctx, "__transaction_state")
		if err != nil {
			return false, err.Error()
		}
		d = td["__transaction_state"]
		return d.Err == nil, fmt.Sprint(d.Err)
	})
	if !d.IsInternal || len(d.Partitions) != partitions {
		t.Fatalf("__transaction_state: %+v", d)
	}
	for _, p := range d.Partitions {
		if len(p.Replicas) != rf {
			t.Fatalf("__transaction_state-%d replicas %v, want %d", p.Partition, p.Replicas, rf)
		}
	}
	rc, err := adm.DescribeTopicConfigs(ctx, "__transaction_state")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, cfg := range rc[0].Configs {
		if cfg.Source == kmsg.ConfigSourceDynamicTopicConfig {
			got[cfg.Key] = cfg.MaybeValue()
		}
	}
	want := map[string]string{"unclean.leader.election.enable": "false", "compression.type": "uncompressed",
		"cleanup.policy": "compact", "min.insync.replicas": minISR, "segment.bytes": "104857600"}
	if len(got) != len(want) {
		t.Fatalf("__transaction_state configs %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("__transaction_state configs %v, want %v", got, want)
		}
	}
}

// txnCoordinatorPath drives one transaction through the coordinator with
// raw requests (franz-go routes them to the coordinator): InitProducerId,
// AddPartitionsToTxn, EndTxn, then DescribeTransactions and
// ListTransactions; refused requests first.
func txnCoordinatorPath(t *testing.T, cl *kgo.Client, id string) {
	t.Helper()
	ctx := context.Background()
	var pid int64
	var epoch int16
	harness.Poll(t, 30*time.Second, "InitProducerId", func() (bool, string) {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr(id), 60000
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return false, err.Error()
		}
		pid, epoch = resp.ProducerID, resp.ProducerEpoch
		return resp.ErrorCode == 0, fmt.Sprint(kerr.ErrorForCode(resp.ErrorCode))
	})
	add := func(e int16) int16 {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, e
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = "txn-data", []int32{0, 1}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("AddPartitionsToTxn: %v", err)
		}
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	end := func(tid string, e int16, commit bool) int16 {
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = tid, pid, e, commit
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatalf("EndTxn: %v", err)
		}
		return resp.ErrorCode
	}
	// Bad input (issue 17's acceptance): a stale epoch and an unknown id.
	if code := add(epoch + 1); code != kerr.ProducerFenced.Code {
		t.Fatalf("AddPartitionsToTxn with a stale epoch: %v", kerr.ErrorForCode(code))
	}
	if code := end(id+"-unknown", epoch, true); code != kerr.InvalidProducerIDMapping.Code && code != kerr.NotCoordinator.Code {
		t.Fatalf("EndTxn for an unknown id: %v", kerr.ErrorForCode(code))
	}
	if code := add(epoch); code != 0 {
		t.Fatalf("AddPartitionsToTxn: %v", kerr.ErrorForCode(code))
	}
	describe := func() kmsg.DescribeTransactionsResponseTransactionState {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{id}
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.TransactionStates) != 1 {
			t.Fatalf("DescribeTransactions: %v %+v", err, resp)
		}
		return resp.TransactionStates[0]
	}
	if st := describe(); st.ErrorCode != 0 || st.State != "Ongoing" || st.ProducerID != pid || len(st.Topics) != 1 || len(st.Topics[0].Partitions) != 2 {
		t.Fatalf("DescribeTransactions while ongoing: %+v", st)
	}
	if code := end(id, epoch, true); code != 0 {
		t.Fatalf("EndTxn commit: %v", kerr.ErrorForCode(code))
	}
	// EndTxn answers once PrepareCommit is written; the markers reach the
	// leaders of txn-data's partitions, then CompleteCommit is written.
	harness.Poll(t, 30*time.Second, "CompleteCommit", func() (bool, string) {
		st := describe()
		return st.State == "CompleteCommit", st.State
	})
	states, err := kadm.NewClient(cl).ListTransactions(ctx, nil, []string{"CompleteCommit"})
	if err != nil || !slices.Contains(states.TransactionalIDs(), id) {
		t.Fatalf("ListTransactions: %v %v", err, states)
	}
}

// franzTransactions: a franz-go producer with a transactional id commits a
// transaction, aborts one and commits another on txn-data; a
// read_committed consumer gets exactly the committed records (never an
// aborted one), a read_uncommitted one every record.
func franzTransactions(t *testing.T, c *cluster.Cluster, id string) {
	t.Helper()
	franzTransactionsWith(t, c, id, nil)
}

// franzTransactionsWith is franzTransactions with the clients' extra
// options (a secured listener's).
func franzTransactionsWith(t *testing.T, c *cluster.Cluster, id string, opts []kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := txnProducer(t, c, append(slices.Clone(opts), kgo.TransactionalID(id), kgo.DefaultProduceTopic("txn-data"))...)
	const perTxn = 10
	for round, commit := range []bool{true, false, true} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatalf("BeginTransaction %d: %v", round, err)
		}
		for i := range perTxn {
			if err := p.ProduceSync(ctx, &kgo.Record{Value: fmt.Appendf(nil, "%s-%d-%d", id, round, i)}).FirstErr(); err != nil {
				t.Fatalf("transactional produce %d/%d: %v", round, i, err)
			}
		}
		if err := p.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatalf("EndTransaction %d (commit %v): %v", round, commit, err)
		}
	}
	read := func(iso kgo.IsolationLevel, want int) map[string]bool {
		cons := c.Client(append(slices.Clone(opts), kgo.ConsumeTopics("txn-data"), kgo.FetchIsolationLevel(iso),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
		seen := map[string]bool{}
		for len(seen) < want {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d records: %v", len(seen), want, seen)
			}
			fs.EachError(func(topic string, partition int32, err error) {
				t.Fatalf("fetch %s-%d: %v", topic, partition, err)
			})
			fs.EachRecord(func(r *kgo.Record) {
				if v := string(r.Value); strings.HasPrefix(v, id+"-") {
					seen[v] = true
				}
			})
		}
		return seen
	}
	committed := read(kgo.ReadCommitted(), 2*perTxn)
	for v := range committed {
		if strings.HasPrefix(v, id+"-1-") {
			t.Fatalf("read_committed returned aborted record %s", v)
		}
	}
	if len(committed) != 2*perTxn {
		t.Fatalf("read_committed: %d records, want %d", len(committed), 2*perTxn)
	}
	if all := read(kgo.ReadUncommitted(), 3*perTxn); len(all) != 3*perTxn {
		t.Fatalf("read_uncommitted: %d records, want %d", len(all), 3*perTxn)
	}
}

// TestTxnMarkersOverSASLSSL: on three brokers whose inter-broker listener
// is SASL_SSL (SCRAM) with the ACL authorizer, the coordinator's
// WriteTxnMarkers reach the partition leaders with the broker principal's
// TLS and SASL login (a committed transaction is read by read_committed),
// while a client principal without CLUSTER_ACTION sending WriteTxnMarkers
// gets CLUSTER_AUTHORIZATION_FAILED and no marker is written (issue 17's
// bad input).
func TestTxnMarkersOverSASLSSL(t *testing.T) {
	p := tlspki.New(t)
	c := cluster.Start(t, 0)
	for _, u := range []struct{ user, pass string }{{"broker", "broker-secret"}, {"admin", "admin-secret"}, {"alice", "alice-secret"}} {
		out, errOut, code := c.Tool("kafka-configs.sh", "--zookeeper", c.Connect, "--alter", "--entity-type", "users",
			"--entity-name", u.user, "--add-config", "SCRAM-SHA-512=[password="+u.pass+"]")
		if code != 0 {
			t.Fatalf("kafka-configs --zookeeper for %s: exit %d\n%s\n%s", u.user, code, out, errOut)
		}
	}
	common := []string{"listener.security.protocol.map=PLAINTEXT:SASL_SSL",
		"ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=" + tlspki.TrustPass,
		"sasl.enabled.mechanisms=SCRAM-SHA-512", "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
		`listener.name.plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";`,
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer", "super.users=User:broker;User:admin",
		"offsets.topic.replication.factor=3", "transaction.state.log.num.partitions=3"}
	for i := range 3 {
		c.AddBroker(int32(i), append(append([]string{}, common...), p.Keystore(t, "PEM", fmt.Sprintf("broker%d", i))...)...)
	}
	admin := harness.SASLClientOpts(p.ClientTLS(), scram.Auth{User: "admin", Pass: "admin-secret"}.AsSha512Mechanism())
	harness.WaitForSASLBrokers(t, c, admin, 0, 1, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl := c.Client(admin...)
	if resp, err := kadm.NewClient(cl).CreateTopic(ctx, 2, 3, nil, "txn-data"); err != nil || resp.Err != nil {
		t.Fatalf("create topic: %v %v", err, resp.Err)
	}
	waitTxnCoordinator(t, cl, "sasl-txn")
	franzTransactionsWith(t, c, "sasl-txn", admin)

	// WriteTxnMarkers from alice (no ACL): refused, nothing written.
	td, err := kadm.NewClient(cl).ListTopics(ctx, "txn-data")
	if err != nil {
		t.Fatal(err)
	}
	leader := td["txn-data"].Partitions[0].Leader
	ends := func() int64 {
		o, err := kadm.NewClient(cl).ListEndOffsets(ctx, "txn-data")
		if err != nil {
			t.Fatal(err)
		}
		e, _ := o.Lookup("txn-data", 0)
		return e.Offset
	}
	before := ends()
	alice := c.Client(harness.SASLClientOpts(p.ClientTLS(), scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism())...)
	wm := kmsg.NewPtrWriteTxnMarkersRequest()
	mk := kmsg.NewWriteTxnMarkersRequestMarker()
	mk.ProducerID, mk.ProducerEpoch, mk.Committed, mk.CoordinatorEpoch = 4242, 0, true, 0
	mt := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
	mt.Topic, mt.Partitions = "txn-data", []int32{0}
	mk.Topics = append(mk.Topics, mt)
	wm.Markers = append(wm.Markers, mk)
	resp, err := wm.RequestWith(ctx, alice.Broker(int(leader)))
	if err != nil {
		t.Fatalf("WriteTxnMarkers as alice: %v", err)
	}
	if code := resp.Markers[0].Topics[0].Partitions[0].ErrorCode; code != kerr.ClusterAuthorizationFailed.Code {
		t.Fatalf("WriteTxnMarkers as alice: %v, want CLUSTER_AUTHORIZATION_FAILED", kerr.ErrorForCode(code))
	}
	if after := ends(); after != before {
		t.Fatalf("a refused WriteTxnMarkers moved txn-data-0's end offset %d -> %d", before, after)
	}
}
