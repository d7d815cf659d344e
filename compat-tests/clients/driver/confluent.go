package driver

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// Confluent is confluent-kafka-go with its bundled librdkafka.
type Confluent struct{ props map[string]string }

func ckAdmin(bootstrap []string) (*kafka.AdminClient, error) { return Confluent{}.admin(bootstrap) }

func (c Confluent) admin(bootstrap []string) (*kafka.AdminClient, error) {
	a, err := kafka.NewAdminClient(c.with(&kafka.ConfigMap{"bootstrap.servers": strings.Join(bootstrap, ","), "log_level": 3}))
	if err != nil {
		return nil, fmt.Errorf("admin client: %w", err)
	}
	return a, nil
}

// Metadata implements Client.
func (c Confluent) Metadata(_ context.Context, addr, topic string) (Meta, error) {
	a, err := c.admin([]string{addr})
	if err != nil {
		return Meta{}, err
	}
	defer a.Close()
	md, err := a.GetMetadata(&topic, false, 15000)
	if err != nil {
		return Meta{}, err
	}
	m := Meta{Leaders: map[int32]int32{}}
	for _, b := range md.Brokers {
		m.Brokers = append(m.Brokers, b.ID)
	}
	tm, ok := md.Topics[topic]
	if !ok {
		return m, fmt.Errorf("topic %s not in metadata", topic)
	}
	if tm.Error.Code() != kafka.ErrNoError {
		return m, tm.Error
	}
	for _, p := range tm.Partitions {
		m.Leaders[p.ID] = p.Leader
	}
	return m, nil
}

// ListTopics implements Client: librdkafka's all-topics metadata request
// (GetMetadata with allTopics).
func (c Confluent) ListTopics(_ context.Context, bootstrap []string) ([]string, error) {
	a, err := c.admin(bootstrap)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	md, err := a.GetMetadata(nil, true, 15000)
	if err != nil {
		return nil, err
	}
	var names []string
	for name, tm := range md.Topics {
		if tm.Error.Code() != kafka.ErrNoError {
			return nil, fmt.Errorf("topic %s: %w", name, tm.Error)
		}
		names = append(names, name)
	}
	return names, nil
}

func ckTopicErr(rs []kafka.TopicResult, err error) error {
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Error.Code() != kafka.ErrNoError {
			return r.Error
		}
	}
	return nil
}

// CreateTopic implements Client.
func (c Confluent) CreateTopic(ctx context.Context, bootstrap []string, topic string, partitions, rf int) error {
	a, err := c.admin(bootstrap)
	if err != nil {
		return err
	}
	defer a.Close()
	return ckTopicErr(a.CreateTopics(ctx, []kafka.TopicSpecification{{Topic: topic, NumPartitions: partitions, ReplicationFactor: rf}}))
}

// DescribeTopic implements Client.
func (c Confluent) DescribeTopic(ctx context.Context, bootstrap []string, topic string) (int, int, error) {
	a, err := c.admin(bootstrap)
	if err != nil {
		return 0, 0, err
	}
	defer a.Close()
	res, err := a.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err != nil {
		return 0, 0, err
	}
	if len(res.TopicDescriptions) != 1 {
		return 0, 0, fmt.Errorf("%d topics described", len(res.TopicDescriptions))
	}
	td := res.TopicDescriptions[0]
	if td.Error.Code() != kafka.ErrNoError {
		return 0, 0, td.Error
	}
	rf := 0
	if len(td.Partitions) > 0 {
		rf = len(td.Partitions[0].Replicas)
	}
	return len(td.Partitions), rf, nil
}

// DeleteTopic implements Client.
func (c Confluent) DeleteTopic(ctx context.Context, bootstrap []string, topic string) error {
	a, err := c.admin(bootstrap)
	if err != nil {
		return err
	}
	defer a.Close()
	return ckTopicErr(a.DeleteTopics(ctx, []string{topic}))
}

// TopicConfig implements Client.
func (c Confluent) TopicConfig(ctx context.Context, bootstrap []string, topic, key string) (string, error) {
	a, err := c.admin(bootstrap)
	if err != nil {
		return "", err
	}
	defer a.Close()
	rs, err := a.DescribeConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: topic}})
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Error.Code() != kafka.ErrNoError {
			return "", r.Error
		}
		if e, ok := r.Config[key]; ok {
			return e.Value, nil
		}
	}
	return "", fmt.Errorf("%s not described", key)
}

// SetTopicConfig implements Client.
func (c Confluent) SetTopicConfig(ctx context.Context, bootstrap []string, topic, key, value string) error {
	a, err := c.admin(bootstrap)
	if err != nil {
		return err
	}
	defer a.Close()
	rs, err := a.IncrementalAlterConfigs(ctx, []kafka.ConfigResource{{Type: kafka.ResourceTopic, Name: topic,
		Config: []kafka.ConfigEntry{{Name: key, Value: value, IncrementalOperation: kafka.AlterConfigOpTypeSet}}}})
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.Error.Code() != kafka.ErrNoError {
			return r.Error
		}
	}
	return nil
}

type ckProducer struct {
	p     *kafka.Producer
	topic string
	wg    sync.WaitGroup
	done  chan struct{}
}

// NewProducer implements Client.
func (c Confluent) NewProducer(_ context.Context, o ProducerOpts) (Producer, error) {
	if o.Codec == "" {
		o.Codec = "none"
	}
	cfg := &kafka.ConfigMap{"bootstrap.servers": strings.Join(o.Bootstrap, ","), "linger.ms": 5,
		"acks": o.Acks, "compression.type": o.Codec, "enable.idempotence": o.Idempotent, "log_level": 3}
	if o.Retry {
		_ = cfg.SetKey("message.timeout.ms", 90000)
	}
	p, err := kafka.NewProducer(c.with(cfg))
	if err != nil {
		return nil, err
	}
	cp := &ckProducer{p: p, topic: o.Topic, done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				m.Opaque.(func(error))(m.TopicPartition.Error)
				cp.wg.Done()
			}
		}
	}()
	return cp, nil
}

func (p *ckProducer) Send(ctx context.Context, r Rec, done func(error)) {
	m := &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &p.topic, Partition: r.P}, Value: []byte(r.V), Opaque: done}
	if r.K != nil {
		m.Key = []byte(*r.K)
	}
	for _, h := range r.H {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
	}
	if r.TS != 0 {
		m.Timestamp = time.UnixMilli(r.TS)
	}
	p.wg.Add(1)
	for {
		err := p.p.Produce(m, nil)
		if err == nil {
			return
		}
		var kerr kafka.Error
		if errors.As(err, &kerr) && kerr.Code() == kafka.ErrQueueFull && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		p.wg.Done()
		done(err)
		return
	}
}

func (p *ckProducer) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	go func() { p.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *ckProducer) Close() {
	p.p.Close()
	<-p.done
}

func ckRec(m *kafka.Message) Rec {
	r := Rec{P: m.TopicPartition.Partition, O: int64(m.TopicPartition.Offset), V: string(m.Value), TS: m.Timestamp.UnixMilli()}
	if m.Key != nil {
		r.K = Str(string(m.Key))
	}
	switch m.TimestampType {
	case kafka.TimestampCreateTime:
		r.TT = "create"
	case kafka.TimestampLogAppendTime:
		r.TT = "append"
	}
	for _, h := range m.Headers {
		r.H = append(r.H, Header{h.Key, string(h.Value)})
	}
	return r
}

// Consume implements Client: assign() every partition, no group.
func (ck Confluent) Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error {
	c, err := kafka.NewConsumer(ck.with(withIsolation(&kafka.ConfigMap{"bootstrap.servers": strings.Join(o.Bootstrap, ","),
		"group.id": "matrix-assign-" + strconv.FormatInt(time.Now().UnixNano(), 36), "enable.auto.commit": false,
		"fetch.wait.max.ms": 500, "log_level": 3}, o.Isolation)))
	if err != nil {
		return err
	}
	defer c.Close()
	var tps []kafka.TopicPartition
	for p := range int32(o.Partitions) {
		tp := kafka.TopicPartition{Topic: &o.Topic, Partition: p}
		switch {
		case o.From == "earliest":
			tp.Offset = kafka.OffsetBeginning
		case o.From == "latest":
			tp.Offset = kafka.OffsetEnd
		case strings.HasPrefix(o.From, "ts:"):
			ms, err := strconv.ParseInt(strings.TrimPrefix(o.From, "ts:"), 10, 64)
			if err != nil {
				return fmt.Errorf("bad --from %q", o.From)
			}
			tp.Offset = kafka.Offset(ms)
		}
		tps = append(tps, tp)
	}
	if strings.HasPrefix(o.From, "ts:") {
		if tps, err = c.OffsetsForTimes(tps, 15000); err != nil {
			return fmt.Errorf("offsets for times: %w", err)
		}
		for i := range tps {
			if tps[i].Error != nil {
				return tps[i].Error
			}
		}
	}
	if err := c.Assign(tps); err != nil {
		return err
	}
	for ctx.Err() == nil {
		switch ev := c.Poll(200).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				return ev.TopicPartition.Error
			}
			if !emit(ckRec(ev)) {
				return nil
			}
		case kafka.Error:
			if ev.IsFatal() {
				return ev
			}
		}
	}
	return ctx.Err()
}

type ckMember struct {
	c      *kafka.Consumer
	topic  string
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error
}

// NewMember implements Client.
func (Confluent) NewMember(ctx context.Context, o MemberOpts) (Member, error) {
	strategy := "range"
	if o.Balancer == "coop" {
		strategy = "cooperative-sticky"
	}
	c, err := kafka.NewConsumer(&kafka.ConfigMap{"bootstrap.servers": strings.Join(o.Bootstrap, ","),
		"group.id": o.Group, "client.id": o.Name, "partition.assignment.strategy": strategy,
		"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest",
		"enable.auto.commit": false, "fetch.wait.max.ms": 500, "log_level": 3})
	if err != nil {
		return nil, err
	}
	if err := c.SubscribeTopics([]string{o.Topic}, nil); err != nil {
		_ = c.Close()
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	m := &ckMember{c: c, topic: o.Topic, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for cctx.Err() == nil {
			switch ev := c.Poll(100).(type) {
			case *kafka.Message:
				if ev.TopicPartition.Error != nil {
					continue
				}
				o.OnRecord(ckRec(ev))
				if _, err := c.CommitMessage(ev); err != nil {
					fmt.Fprintf(stderr(), "confluent-kafka-go %s: commit: %v\n", o.Name, err)
				}
			case kafka.Error:
				if ev.IsFatal() {
					m.mu.Lock()
					m.err = ev
					m.mu.Unlock()
					return
				}
			}
		}
	}()
	return m, nil
}

func (m *ckMember) Assigned(context.Context) ([]int32, error) {
	m.mu.Lock()
	err := m.err
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	tps, err := m.c.Assignment()
	if err != nil {
		return nil, err
	}
	var ps []int32
	for _, tp := range tps {
		if tp.Topic != nil && *tp.Topic == m.topic {
			ps = append(ps, tp.Partition)
		}
	}
	return ps, nil
}

// Close stops polling (every record was committed synchronously) and
// leaves the group.
func (m *ckMember) Close() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	m.cancel = nil
	<-m.done
	// A commit refused during a rebalance is retried here with the offsets
	// of everything polled (nothing to commit is not an error).
	if _, err := m.c.Commit(); err != nil {
		var kerr kafka.Error
		if !errors.As(err, &kerr) || kerr.Code() != kafka.ErrNoOffset {
			fmt.Fprintf(stderr(), "confluent-kafka-go: final commit: %v\n", err)
		}
	}
	return m.c.Close()
}

// WithSecurity implements Secured with librdkafka's settings.
func (c Confluent) WithSecurity(s Security) (Client, error) {
	c.props = LibrdkafkaProps(s)
	return c, nil
}

// with adds the security settings to cfg.
func (c Confluent) with(cfg *kafka.ConfigMap) *kafka.ConfigMap {
	for k, v := range c.props {
		(*cfg)[k] = v
	}
	return cfg
}

// withIsolation sets isolation.level when given (librdkafka's default is
// read_committed).
func withIsolation(cfg *kafka.ConfigMap, isolation string) *kafka.ConfigMap {
	if isolation != "" {
		_ = cfg.SetKey("isolation.level", isolation)
	}
	return cfg
}

// ckTxnProducer is a librdkafka producer with transactional.id, initialised.
type ckTxnProducer struct{ *ckProducer }

// NewTxnProducer implements Transactional.
func (c Confluent) NewTxnProducer(ctx context.Context, o ProducerOpts, txnID string) (TxnProducer, error) {
	return c.newTxnProducer(ctx, o.Bootstrap, o.Topic, txnID)
}

func (c Confluent) newTxnProducer(ctx context.Context, bootstrap []string, topic, txnID string) (*ckTxnProducer, error) {
	p, err := kafka.NewProducer(c.with(&kafka.ConfigMap{"bootstrap.servers": strings.Join(bootstrap, ","), "linger.ms": 5,
		"transactional.id": txnID, "transaction.timeout.ms": 60000, "log_level": 3}))
	if err != nil {
		return nil, err
	}
	cp := &ckProducer{p: p, topic: topic, done: make(chan struct{})}
	go func() {
		defer close(cp.done)
		for ev := range p.Events() {
			if m, ok := ev.(*kafka.Message); ok {
				m.Opaque.(func(error))(m.TopicPartition.Error)
				cp.wg.Done()
			}
		}
	}()
	if err := p.InitTransactions(ctx); err != nil {
		cp.Close()
		return nil, fmt.Errorf("init_transactions: %w", err)
	}
	return &ckTxnProducer{cp}, nil
}

func (p *ckTxnProducer) Begin() error { return p.p.BeginTransaction() }

func (p *ckTxnProducer) End(ctx context.Context, commit bool) error {
	if commit {
		return p.p.CommitTransaction(ctx)
	}
	return p.p.AbortTransaction(ctx)
}

// TxnTransform implements Transactional: a subscribed consumer
// (read_committed) and a transactional producer that sends the consumed
// positions with SendOffsetsToTransaction and the consumer's group metadata.
func (ck Confluent) TxnTransform(ctx context.Context, o TxnTransformOpts, emit func(Rec)) error {
	c, err := kafka.NewConsumer(ck.with(&kafka.ConfigMap{"bootstrap.servers": strings.Join(o.Bootstrap, ","),
		"group.id": o.Group, "enable.auto.commit": false, "auto.offset.reset": "earliest", "isolation.level": "read_committed",
		"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "fetch.wait.max.ms": 500, "log_level": 3}))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Subscribe(o.Input, nil); err != nil {
		return err
	}
	p, err := ck.newTxnProducer(ctx, o.Bootstrap, o.Output, o.TxnID)
	if err != nil {
		return err
	}
	defer p.Close()
	if err := p.Begin(); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var consumed, out []Rec
	for len(consumed) < o.Count {
		if ctx.Err() != nil {
			return fmt.Errorf("consumed %d of %d records: %w", len(consumed), o.Count, ctx.Err())
		}
		switch ev := c.Poll(200).(type) {
		case *kafka.Message:
			if ev.TopicPartition.Error != nil {
				return ev.TopicPartition.Error
			}
			r := ckRec(ev)
			emit(r)
			consumed = append(consumed, r)
			out = append(out, Rec{P: r.P, K: r.K, V: "t" + r.V})
		case kafka.Error:
			if ev.IsFatal() {
				return ev
			}
		}
	}
	if err := produceSync(ctx, p, out); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	var offsets []kafka.TopicPartition
	for part, next := range OffsetsAfter(consumed) {
		offsets = append(offsets, kafka.TopicPartition{Topic: &o.Input, Partition: part, Offset: kafka.Offset(next)})
	}
	md, err := c.GetConsumerGroupMetadata()
	if err != nil {
		return fmt.Errorf("group metadata: %w", err)
	}
	if err := p.p.SendOffsetsToTransaction(ctx, offsets, md); err != nil {
		return fmt.Errorf("send_offsets_to_transaction: %w", err)
	}
	return p.End(ctx, o.Commit)
}
