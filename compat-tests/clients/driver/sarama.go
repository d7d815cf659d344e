package driver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Sarama is IBM/sarama, configured for Kafka 3.7 as a user of it would.
type Sarama struct{ sec *Security }

func (s Sarama) config(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_7_0_0
	cfg.ClientID = clientID
	cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
	cfg.Admin.Timeout = 15 * time.Second
	if s.sec != nil {
		s.secure(cfg)
	}
	return cfg
}

func (s Sarama) admin(bootstrap []string) (sarama.ClusterAdmin, error) {
	adm, err := sarama.NewClusterAdmin(bootstrap, s.config("matrix-admin"))
	if err != nil {
		return nil, fmt.Errorf("cluster admin: %w", err)
	}
	return adm, nil
}

// Metadata implements Client.
func (s Sarama) Metadata(_ context.Context, addr, topic string) (Meta, error) {
	cl, err := sarama.NewClient([]string{addr}, s.config("matrix-meta"))
	if err != nil {
		return Meta{}, err
	}
	defer cl.Close()
	if err := cl.RefreshMetadata(topic); err != nil {
		return Meta{}, err
	}
	m := Meta{Leaders: map[int32]int32{}}
	for _, b := range cl.Brokers() {
		m.Brokers = append(m.Brokers, b.ID())
	}
	ps, err := cl.Partitions(topic)
	if err != nil {
		return m, err
	}
	for _, p := range ps {
		l, err := cl.Leader(topic, p)
		if err != nil {
			return m, fmt.Errorf("leader of %d: %w", p, err)
		}
		m.Leaders[p] = l.ID()
	}
	return m, nil
}

// ListTopics implements Client: RefreshMetadata without topics asks for
// every topic.
func (s Sarama) ListTopics(_ context.Context, bootstrap []string) ([]string, error) {
	cl, err := sarama.NewClient(bootstrap, s.config("matrix-list"))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.RefreshMetadata(); err != nil {
		return nil, err
	}
	return cl.Topics()
}

// CreateTopic implements Client.
func (s Sarama) CreateTopic(_ context.Context, bootstrap []string, topic string, partitions, rf int) error {
	adm, err := s.admin(bootstrap)
	if err != nil {
		return err
	}
	defer adm.Close()
	return adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: int32(partitions), ReplicationFactor: int16(rf)}, false)
}

// DescribeTopic implements Client.
func (s Sarama) DescribeTopic(_ context.Context, bootstrap []string, topic string) (int, int, error) {
	adm, err := s.admin(bootstrap)
	if err != nil {
		return 0, 0, err
	}
	defer adm.Close()
	tms, err := adm.DescribeTopics([]string{topic})
	if err != nil {
		return 0, 0, err
	}
	if len(tms) != 1 {
		return 0, 0, fmt.Errorf("%d topics described", len(tms))
	}
	tm := tms[0]
	if !errors.Is(tm.Err, sarama.ErrNoError) {
		return 0, 0, tm.Err
	}
	rf := 0
	if len(tm.Partitions) > 0 {
		rf = len(tm.Partitions[0].Replicas)
	}
	return len(tm.Partitions), rf, nil
}

// DeleteTopic implements Client.
func (s Sarama) DeleteTopic(_ context.Context, bootstrap []string, topic string) error {
	adm, err := s.admin(bootstrap)
	if err != nil {
		return err
	}
	defer adm.Close()
	return adm.DeleteTopic(topic)
}

// TopicConfig implements Client.
func (s Sarama) TopicConfig(_ context.Context, bootstrap []string, topic, key string) (string, error) {
	adm, err := s.admin(bootstrap)
	if err != nil {
		return "", err
	}
	defer adm.Close()
	entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{key}})
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		if e.Name == key {
			return e.Value, nil
		}
	}
	return "", fmt.Errorf("%s not described", key)
}

// SetTopicConfig implements Client.
func (s Sarama) SetTopicConfig(_ context.Context, bootstrap []string, topic, key, value string) error {
	adm, err := s.admin(bootstrap)
	if err != nil {
		return err
	}
	defer adm.Close()
	return adm.IncrementalAlterConfig(sarama.TopicResource, topic,
		map[string]sarama.IncrementalAlterConfigsEntry{key: {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &value}}, false)
}

func saramaCodec(name string) (sarama.CompressionCodec, error) {
	switch name {
	case "", "none":
		return sarama.CompressionNone, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	}
	return sarama.CompressionNone, fmt.Errorf("unknown codec %q", name)
}

type saramaProducer struct {
	p     sarama.AsyncProducer
	topic string
	wg    sync.WaitGroup
	done  sync.WaitGroup // the result readers
}

// NewProducer implements Client.
func (s Sarama) NewProducer(_ context.Context, o ProducerOpts) (Producer, error) {
	cfg := s.config("matrix-producer")
	codec, err := saramaCodec(o.Codec)
	if err != nil {
		return nil, err
	}
	cfg.Producer.Compression = codec
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	switch o.Acks {
	case "0":
		cfg.Producer.RequiredAcks = sarama.NoResponse
	case "1":
		cfg.Producer.RequiredAcks = sarama.WaitForLocal
	default:
		cfg.Producer.RequiredAcks = sarama.WaitForAll
	}
	if o.Idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
		cfg.Producer.Retry.Max = 10
	}
	if o.Retry {
		cfg.Producer.Retry.Max = 100
		cfg.Producer.Retry.Backoff = 250 * time.Millisecond
		cfg.Metadata.Retry.Max = 100
		cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	}
	return newSaramaProducer(o.Bootstrap, o.Topic, cfg)
}

// newSaramaProducer starts an async producer and the readers of its results.
func newSaramaProducer(bootstrap []string, topic string, cfg *sarama.Config) (*saramaProducer, error) {
	ap, err := sarama.NewAsyncProducer(bootstrap, cfg)
	if err != nil {
		return nil, err
	}
	p := &saramaProducer{p: ap, topic: topic}
	p.done.Add(2)
	go func() {
		defer p.done.Done()
		for m := range ap.Successes() {
			m.Metadata.(func(error))(nil)
			p.wg.Done()
		}
	}()
	go func() {
		defer p.done.Done()
		for e := range ap.Errors() {
			e.Msg.Metadata.(func(error))(e.Err)
			p.wg.Done()
		}
	}()
	return p, nil
}

func (p *saramaProducer) Send(ctx context.Context, r Rec, done func(error)) {
	m := &sarama.ProducerMessage{Topic: p.topic, Partition: r.P, Value: sarama.StringEncoder(r.V), Metadata: done}
	if r.K != nil {
		m.Key = sarama.StringEncoder(*r.K)
	}
	for _, h := range r.H {
		m.Headers = append(m.Headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
	}
	if r.TS != 0 {
		m.Timestamp = time.UnixMilli(r.TS)
	}
	p.wg.Add(1)
	select {
	case p.p.Input() <- m:
	case <-ctx.Done():
		p.wg.Done()
		done(ctx.Err())
	}
}

func (p *saramaProducer) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	go func() { p.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *saramaProducer) Close() {
	p.p.AsyncClose()
	p.done.Wait()
}

func saramaRec(m *sarama.ConsumerMessage) Rec {
	r := Rec{P: m.Partition, O: m.Offset, V: string(m.Value), TS: m.Timestamp.UnixMilli()}
	if m.Key != nil {
		r.K = Str(string(m.Key))
	}
	for _, h := range m.Headers {
		r.H = append(r.H, Header{string(h.Key), string(h.Value)})
	}
	return r
}

// Consume implements Client.
func (s Sarama) Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error {
	cfg := s.config("matrix-consumer")
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	if o.Isolation == "read_committed" {
		cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	}
	cl, err := sarama.NewClient(o.Bootstrap, cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	c, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return err
	}
	defer c.Close()
	msgs := make(chan *sarama.ConsumerMessage)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (defers run last first)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for p := range int32(o.Partitions) {
		start := sarama.OffsetOldest
		switch {
		case o.From == "latest":
			start = sarama.OffsetNewest
		case strings.HasPrefix(o.From, "ts:"):
			ms, err := strconv.ParseInt(strings.TrimPrefix(o.From, "ts:"), 10, 64)
			if err != nil {
				return fmt.Errorf("bad --from %q", o.From)
			}
			if start, err = cl.GetOffset(o.Topic, p, ms); err != nil {
				return fmt.Errorf("offset for time on %d: %w", p, err)
			}
			if start == -1 { // no record at or after the time
				start = sarama.OffsetNewest
			}
		}
		pc, err := c.ConsumePartition(o.Topic, p, start)
		if err != nil {
			return fmt.Errorf("consume partition %d: %w", p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.AsyncClose()
			for {
				select {
				case m, ok := <-pc.Messages():
					if !ok {
						return
					}
					select {
					case msgs <- m:
					case <-cctx.Done():
						return
					}
				case e, ok := <-pc.Errors():
					if !ok {
						return
					}
					// sarama keeps consuming (it re-resolves the leader);
					// errors are reported, not fatal.
					fmt.Fprintf(stderr(), "sarama consumer %s/%d: %v\n", o.Topic, e.Partition, e.Err)
				case <-cctx.Done():
					return
				}
			}
		}()
	}
	for {
		select {
		case m := <-msgs:
			if !emit(saramaRec(m)) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

type saramaMember struct {
	g      sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	assigned map[int32]bool
	err      error
}

type saramaHandler struct {
	m        *saramaMember
	onRecord func(Rec)
}

func (h saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h saramaHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p := claim.Partition()
	h.m.mu.Lock()
	h.m.assigned[p] = true
	h.m.mu.Unlock()
	defer func() {
		h.m.mu.Lock()
		delete(h.m.assigned, p)
		h.m.mu.Unlock()
	}()
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			h.onRecord(saramaRec(msg))
			sess.MarkMessage(msg, "")
			if len(claim.Messages()) == 0 {
				sess.Commit()
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

// NewMember implements Client.
func (s Sarama) NewMember(ctx context.Context, o MemberOpts) (Member, error) {
	cfg := s.config(o.Name)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 200 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	if o.Balancer == "coop" {
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyCooperativeSticky()}
	} else {
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	}
	g, err := sarama.NewConsumerGroup(o.Bootstrap, o.Group, cfg)
	if err != nil {
		return nil, err
	}
	m := &saramaMember{g: g, assigned: map[int32]bool{}, done: make(chan struct{})}
	cctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	go func() {
		for err := range g.Errors() {
			fmt.Fprintf(stderr(), "sarama %s: %v\n", o.Name, err)
		}
	}()
	go func() {
		defer close(m.done)
		for cctx.Err() == nil {
			err := g.Consume(cctx, []string{o.Topic}, saramaHandler{m: m, onRecord: o.OnRecord})
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
			if err != nil && cctx.Err() == nil {
				fmt.Fprintf(stderr(), "sarama %s: consume: %v\n", o.Name, err)
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	return m, nil
}

func (m *saramaMember) Assigned(context.Context) ([]int32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.assigned {
		ps = append(ps, p)
	}
	return ps, m.err
}

// Close ends the session (sarama commits the marked offsets when a session
// ends) and leaves the group.
func (m *saramaMember) Close() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	m.cancel = nil
	<-m.done
	return m.g.Close()
}

// saramaTxnProducer is sarama's transactional async producer.
type saramaTxnProducer struct{ *saramaProducer }

func (s Sarama) txnConfig(txnID string) *sarama.Config {
	cfg := s.config("matrix-txn")
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Flush.Frequency = 5 * time.Millisecond
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = txnID
	cfg.Producer.Transaction.Timeout = 60 * time.Second
	cfg.Net.MaxOpenRequests = 1
	return cfg
}

// NewTxnProducer implements Transactional (Producer.Transaction.ID; the
// producer id is initialised when the producer starts).
func (s Sarama) NewTxnProducer(_ context.Context, o ProducerOpts, txnID string) (TxnProducer, error) {
	p, err := newSaramaProducer(o.Bootstrap, o.Topic, s.txnConfig(txnID))
	if err != nil {
		return nil, err
	}
	return &saramaTxnProducer{p}, nil
}

func (p *saramaTxnProducer) Begin() error { return p.p.BeginTxn() }

func (p *saramaTxnProducer) End(_ context.Context, commit bool) error {
	if commit {
		return p.p.CommitTxn()
	}
	return p.p.AbortTxn()
}

// saramaTxnHandler hands the claimed records to TxnTransform and keeps the
// session (generation, member id) for the offsets.
type saramaTxnHandler struct {
	msgs chan *sarama.ConsumerMessage
	sess chan sarama.ConsumerGroupSession
}

func (h saramaTxnHandler) Setup(s sarama.ConsumerGroupSession) error {
	select {
	case h.sess <- s:
	default:
	}
	return nil
}
func (h saramaTxnHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h saramaTxnHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			select {
			case h.msgs <- m:
			case <-sess.Context().Done():
				return nil
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

// TxnTransform implements Transactional: a ConsumerGroup member
// (read_committed, no auto-commit) and the transactional producer's
// AddOffsetsToTxnWithGroupMetadata with the session's generation and member id.
func (s Sarama) TxnTransform(ctx context.Context, o TxnTransformOpts, emit func(Rec)) error {
	cfg := s.config("matrix-txn-member")
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.Group.Session.Timeout = 6 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	g, err := sarama.NewConsumerGroup(o.Bootstrap, o.Group, cfg)
	if err != nil {
		return err
	}
	h := saramaTxnHandler{msgs: make(chan *sarama.ConsumerMessage), sess: make(chan sarama.ConsumerGroupSession, 1)}
	gctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for gctx.Err() == nil {
			if err := g.Consume(gctx, []string{o.Input}, h); err != nil && gctx.Err() == nil {
				fmt.Fprintf(stderr(), "sarama group: %v\n", err)
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	defer func() { cancel(); <-done; _ = g.Close() }()
	p, err := newSaramaProducer(o.Bootstrap, o.Output, s.txnConfig(o.TxnID))
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.p.BeginTxn(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var consumed, out []Rec
	var sess sarama.ConsumerGroupSession
	for len(consumed) < o.Count {
		select {
		case m := <-h.msgs:
			r := saramaRec(m)
			emit(r)
			consumed = append(consumed, r)
			out = append(out, Rec{P: r.P, K: r.K, V: "t" + r.V})
		case sess = <-h.sess:
		case <-ctx.Done():
			return fmt.Errorf("consumed %d of %d records: %w", len(consumed), o.Count, ctx.Err())
		}
	}
	select {
	case sess = <-h.sess: // a newer session
	default:
	}
	if sess == nil {
		return errors.New("records consumed without a group session")
	}
	if err := produceSync(ctx, p, out); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	var offs []*sarama.PartitionOffsetMetadata
	for part, next := range OffsetsAfter(consumed) {
		offs = append(offs, &sarama.PartitionOffsetMetadata{Partition: part, Offset: next, LeaderEpoch: -1})
	}
	md := &sarama.ConsumerGroupMetadata{GroupID: o.Group, GenerationID: sess.GenerationID(), MemberID: sess.MemberID()}
	if err := p.p.AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata{o.Input: offs}, md); err != nil {
		return fmt.Errorf("add offsets to the transaction: %w", err)
	}
	return (&saramaTxnProducer{p}).End(ctx, o.Commit)
}
