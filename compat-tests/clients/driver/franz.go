package driver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Franz is franz-go (kgo for data, kadm for admin).
type Franz struct{ sec []kgo.Opt }

// WithSecurity implements Secured: kgo.DialTLSConfig, pkg/sasl/plain and
// pkg/sasl/scram.
func (f Franz) WithSecurity(s Security) (Client, error) {
	if s.TLS() {
		cfg, err := s.TLSConfig()
		if err != nil {
			return nil, err
		}
		f.sec = append(f.sec, kgo.DialTLSConfig(cfg))
	}
	if s.SASL() {
		switch s.Mechanism {
		case "PLAIN":
			f.sec = append(f.sec, kgo.SASL(plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			f.sec = append(f.sec, kgo.SASL(scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			f.sec = append(f.sec, kgo.SASL(scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()))
		}
	}
	return f, nil
}

func (f Franz) admin(bootstrap []string) (*kadm.Client, func(), error) {
	cl, err := kgo.NewClient(append(slices.Clone(f.sec), kgo.SeedBrokers(bootstrap...))...)
	if err != nil {
		return nil, nil, fmt.Errorf("kgo client: %w", err)
	}
	return kadm.NewClient(cl), cl.Close, nil
}

// Metadata implements Client.
func (f Franz) Metadata(ctx context.Context, addr, topic string) (Meta, error) {
	adm, done, err := f.admin([]string{addr})
	if err != nil {
		return Meta{}, err
	}
	defer done()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return Meta{}, err
	}
	m := Meta{Leaders: map[int32]int32{}}
	for _, b := range md.Brokers {
		m.Brokers = append(m.Brokers, b.NodeID)
	}
	td, ok := md.Topics[topic]
	if !ok {
		return m, fmt.Errorf("topic %s not in metadata", topic)
	}
	if td.Err != nil {
		return m, td.Err
	}
	for _, p := range td.Partitions {
		m.Leaders[p.Partition] = p.Leader
	}
	return m, nil
}

// ListTopics implements Client: kadm's ListTopics without topics asks for
// every topic.
func (f Franz) ListTopics(ctx context.Context, bootstrap []string) ([]string, error) {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return nil, err
	}
	defer done()
	tds, err := adm.ListTopicsWithInternal(ctx)
	if err != nil {
		return nil, err
	}
	if err := tds.Error(); err != nil {
		return nil, err
	}
	return tds.Names(), nil
}

// CreateTopic implements Client.
func (f Franz) CreateTopic(ctx context.Context, bootstrap []string, topic string, partitions, rf int) error {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return err
	}
	defer done()
	resp, err := adm.CreateTopic(ctx, int32(partitions), int16(rf), nil, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

// DescribeTopic implements Client.
func (f Franz) DescribeTopic(ctx context.Context, bootstrap []string, topic string) (int, int, error) {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return 0, 0, err
	}
	defer done()
	tds, err := adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, 0, err
	}
	td, ok := tds[topic]
	if !ok {
		return 0, 0, fmt.Errorf("topic %s not listed", topic)
	}
	if td.Err != nil {
		return 0, 0, td.Err
	}
	rf := 0
	if p, ok := td.Partitions[0]; ok {
		rf = len(p.Replicas)
	}
	return len(td.Partitions), rf, nil
}

// DeleteTopic implements Client.
func (f Franz) DeleteTopic(ctx context.Context, bootstrap []string, topic string) error {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return err
	}
	defer done()
	resp, err := adm.DeleteTopic(ctx, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

// TopicConfig implements Client.
func (f Franz) TopicConfig(ctx context.Context, bootstrap []string, topic, key string) (string, error) {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return "", err
	}
	defer done()
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return "", err
	}
	rc, err := rcs.On(topic, nil)
	if err != nil {
		return "", err
	}
	if rc.Err != nil {
		return "", rc.Err
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c.MaybeValue(), nil
		}
	}
	return "", fmt.Errorf("%s not described", key)
}

// SetTopicConfig implements Client.
func (f Franz) SetTopicConfig(ctx context.Context, bootstrap []string, topic, key, value string) error {
	adm, done, err := f.admin(bootstrap)
	if err != nil {
		return err
	}
	defer done()
	resps, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: &value}}, topic)
	if err != nil {
		return err
	}
	r, err := resps.On(topic, nil)
	if err != nil {
		return err
	}
	return r.Err
}

func franzCodec(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "", "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("unknown codec %q", name)
}

func franzAcks(a string) kgo.Acks {
	switch a {
	case "0":
		return kgo.NoAck()
	case "1":
		return kgo.LeaderAck()
	}
	return kgo.AllISRAcks()
}

type franzProducer struct {
	cl *kgo.Client
}

// NewProducer implements Client.
func (f Franz) NewProducer(_ context.Context, o ProducerOpts) (Producer, error) {
	codec, err := franzCodec(o.Codec)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(o.Bootstrap...), kgo.DefaultProduceTopic(o.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchCompression(codec),
		kgo.RequiredAcks(franzAcks(o.Acks)), kgo.ProducerLinger(5 * time.Millisecond),
	}
	if !o.Idempotent && !o.Retry {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.Retry {
		opts = append(opts, kgo.RecordDeliveryTimeout(90*time.Second))
	}
	cl, err := kgo.NewClient(append(slices.Clone(f.sec), opts...)...)
	if err != nil {
		return nil, err
	}
	return &franzProducer{cl: cl}, nil
}

func (p *franzProducer) Send(ctx context.Context, r Rec, done func(error)) {
	rec := &kgo.Record{Partition: r.P, Value: []byte(r.V)}
	if r.K != nil {
		rec.Key = []byte(*r.K)
	}
	for _, h := range r.H {
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
	}
	if r.TS != 0 {
		rec.Timestamp = time.UnixMilli(r.TS)
	}
	p.cl.Produce(ctx, rec, func(_ *kgo.Record, err error) { done(err) })
}

func (p *franzProducer) Flush(ctx context.Context) error { return p.cl.Flush(ctx) }
func (p *franzProducer) Close()                          { p.cl.Close() }

func franzRec(r *kgo.Record) Rec {
	out := Rec{P: r.Partition, O: r.Offset, V: string(r.Value), TS: r.Timestamp.UnixMilli(), TT: "create"}
	if r.Key != nil {
		out.K = Str(string(r.Key))
	}
	if r.Attrs.TimestampType() == 1 {
		out.TT = "append"
	}
	for _, h := range r.Headers {
		out.H = append(out.H, Header{h.Key, string(h.Value)})
	}
	return out
}

func franzOffset(from string) (kgo.Offset, error) {
	switch {
	case from == "earliest":
		return kgo.NewOffset().AtStart(), nil
	case from == "latest":
		return kgo.NewOffset().AtEnd(), nil
	case strings.HasPrefix(from, "ts:"):
		ms, err := strconv.ParseInt(strings.TrimPrefix(from, "ts:"), 10, 64)
		if err != nil {
			return kgo.Offset{}, fmt.Errorf("bad --from %q", from)
		}
		return kgo.NewOffset().AfterMilli(ms), nil
	}
	return kgo.Offset{}, fmt.Errorf("bad --from %q", from)
}

// Consume implements Client.
func (f Franz) Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error {
	off, err := franzOffset(o.From)
	if err != nil {
		return err
	}
	parts := map[int32]kgo.Offset{}
	for p := range int32(o.Partitions) {
		parts[p] = off
	}
	opts := append(slices.Clone(f.sec), kgo.SeedBrokers(o.Bootstrap...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: parts}), kgo.FetchMaxWait(500*time.Millisecond))
	if o.Isolation == "read_committed" {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			if !emit(franzRec(r)) {
				return nil
			}
		}
	}
}

type franzMember struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	assigned map[int32]bool
	err      error
}

// NewMember implements Client.
func (Franz) NewMember(ctx context.Context, o MemberOpts) (Member, error) {
	m := &franzMember{assigned: map[int32]bool{}, done: make(chan struct{})}
	bal := kgo.RangeBalancer()
	if o.Balancer == "coop" {
		bal = kgo.CooperativeStickyBalancer()
	}
	update := func(add bool) func(context.Context, *kgo.Client, map[string][]int32) {
		return func(_ context.Context, _ *kgo.Client, ps map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range ps[o.Topic] {
				if add {
					m.assigned[p] = true
				} else {
					delete(m.assigned, p)
				}
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Bootstrap...), kgo.ClientID(o.Name),
		kgo.ConsumerGroup(o.Group), kgo.ConsumeTopics(o.Topic), kgo.Balancers(bal),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(), kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(update(true)), kgo.OnPartitionsRevoked(update(false)),
		kgo.OnPartitionsLost(update(false)))
	if err != nil {
		return nil, err
	}
	m.cl = cl
	pctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for pctx.Err() == nil {
			fs := cl.PollRecords(pctx, 100)
			for _, r := range fs.Records() {
				o.OnRecord(franzRec(r))
			}
			if len(fs.Records()) > 0 {
				if err := cl.CommitUncommittedOffsets(pctx); err != nil && pctx.Err() == nil {
					m.setErr(fmt.Errorf("commit: %w", err))
				}
			}
			cl.AllowRebalance()
		}
	}()
	return m, nil
}

func (m *franzMember) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = err
	}
}

func (m *franzMember) Assigned(context.Context) ([]int32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.assigned {
		ps = append(ps, p)
	}
	return ps, m.err
}

func (m *franzMember) Close() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	m.cancel = nil
	<-m.done
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := m.cl.CommitUncommittedOffsets(ctx)
	m.cl.AllowRebalance()
	m.cl.Close() // leaves the group
	if err != nil {
		return fmt.Errorf("final commit: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// franzTxnProducer is a kgo client with a TransactionalID.
type franzTxnProducer struct{ franzProducer }

// NewTxnProducer implements Transactional.
func (f Franz) NewTxnProducer(_ context.Context, o ProducerOpts, txnID string) (TxnProducer, error) {
	cl, err := kgo.NewClient(append(slices.Clone(f.sec), kgo.SeedBrokers(o.Bootstrap...), kgo.DefaultProduceTopic(o.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(60*time.Second), kgo.ProducerLinger(5*time.Millisecond))...)
	if err != nil {
		return nil, err
	}
	return &franzTxnProducer{franzProducer{cl: cl}}, nil
}

func (p *franzTxnProducer) Begin() error { return p.cl.BeginTransaction() }

func (p *franzTxnProducer) End(ctx context.Context, commit bool) error {
	return p.cl.EndTransaction(ctx, kgo.TransactionEndTry(commit))
}

// TxnTransform implements Transactional with kgo's GroupTransactSession
// (read_committed, offsets committed through the transaction).
func (f Franz) TxnTransform(ctx context.Context, o TxnTransformOpts, emit func(Rec)) error {
	sess, err := kgo.NewGroupTransactSession(append(slices.Clone(f.sec), kgo.SeedBrokers(o.Bootstrap...),
		kgo.TransactionalID(o.TxnID), kgo.TransactionTimeout(60*time.Second),
		kgo.ConsumerGroup(o.Group), kgo.ConsumeTopics(o.Input), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RequireStableFetchOffsets(),
		kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.FetchMaxWait(500*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer sess.Close()
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	got := 0
	for got < o.Count {
		fs := sess.PollRecords(ctx, o.Count-got)
		if ctx.Err() != nil {
			return fmt.Errorf("consumed %d of %d records: %w", got, o.Count, ctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("fetch %s/%d: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			got++
			emit(franzRec(r))
			sess.Produce(ctx, &kgo.Record{Topic: o.Output, Partition: r.Partition, Key: r.Key, Value: append([]byte("t"), r.Value...)}, nil)
		}
	}
	// End(TryAbort) drops buffered records: flush first, so an aborted
	// transaction's records are written (and then aborted).
	if err := sess.Client().Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	committed, err := sess.End(ctx, kgo.TransactionEndTry(o.Commit))
	if err != nil {
		return fmt.Errorf("end (commit %v): %w", o.Commit, err)
	}
	if committed != o.Commit {
		return fmt.Errorf("the transaction ended with committed=%v, want %v", committed, o.Commit)
	}
	return nil
}
