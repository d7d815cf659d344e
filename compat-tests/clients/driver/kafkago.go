package driver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/compress"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// KafkaGo is segmentio/kafka-go: Client for admin, Writer, Reader.
type KafkaGo struct {
	tls  *tls.Config    // nil: plaintext
	mech sasl.Mechanism // nil: no SASL
}

func kgClient(bootstrap []string) *kafka.Client { return KafkaGo{}.client(bootstrap) }

func (k KafkaGo) client(bootstrap []string) *kafka.Client {
	c := &kafka.Client{Addr: kafka.TCP(bootstrap...), Timeout: 15 * time.Second}
	if k.tls != nil || k.mech != nil {
		c.Transport = k.transport()
	}
	return c
}

// Metadata implements Client.
func (k KafkaGo) Metadata(ctx context.Context, addr, topic string) (Meta, error) {
	resp, err := k.client([]string{addr}).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return Meta{}, err
	}
	m := Meta{Leaders: map[int32]int32{}}
	for _, b := range resp.Brokers {
		m.Brokers = append(m.Brokers, int32(b.ID))
	}
	for _, t := range resp.Topics {
		if t.Name != topic {
			continue
		}
		if t.Error != nil {
			return m, t.Error
		}
		for _, p := range t.Partitions {
			m.Leaders[int32(p.ID)] = int32(p.Leader.ID)
		}
		return m, nil
	}
	return m, fmt.Errorf("topic %s not in metadata", topic)
}

// ListTopics implements Client: a MetadataRequest without topics asks for
// every topic.
func (k KafkaGo) ListTopics(ctx context.Context, bootstrap []string) ([]string, error) {
	resp, err := k.client(bootstrap).Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range resp.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %s: %w", t.Name, t.Error)
		}
		names = append(names, t.Name)
	}
	return names, nil
}

// CreateTopic implements Client.
func (k KafkaGo) CreateTopic(ctx context.Context, bootstrap []string, topic string, partitions, rf int) error {
	resp, err := k.client(bootstrap).CreateTopics(ctx, &kafka.CreateTopicsRequest{
		Topics: []kafka.TopicConfig{{Topic: topic, NumPartitions: partitions, ReplicationFactor: rf}}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

// DescribeTopic implements Client.
func (k KafkaGo) DescribeTopic(ctx context.Context, bootstrap []string, topic string) (int, int, error) {
	resp, err := k.client(bootstrap).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, 0, err
	}
	for _, t := range resp.Topics {
		if t.Name == topic {
			if t.Error != nil {
				return 0, 0, t.Error
			}
			rf := 0
			if len(t.Partitions) > 0 {
				rf = len(t.Partitions[0].Replicas)
			}
			return len(t.Partitions), rf, nil
		}
	}
	return 0, 0, fmt.Errorf("topic %s not in metadata", topic)
}

// DeleteTopic implements Client.
func (k KafkaGo) DeleteTopic(ctx context.Context, bootstrap []string, topic string) error {
	resp, err := k.client(bootstrap).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err != nil {
		return err
	}
	return resp.Errors[topic]
}

// TopicConfig implements Client.
func (k KafkaGo) TopicConfig(ctx context.Context, bootstrap []string, topic, key string) (string, error) {
	resp, err := k.client(bootstrap).DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{key}}}})
	if err != nil {
		return "", err
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return "", r.Error
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == key {
				return e.ConfigValue, nil
			}
		}
	}
	return "", fmt.Errorf("%s not described", key)
}

// SetTopicConfig implements Client.
func (k KafkaGo) SetTopicConfig(ctx context.Context, bootstrap []string, topic, key, value string) error {
	resp, err := k.client(bootstrap).IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{
		Resources: []kafka.IncrementalAlterConfigsRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
			Configs: []kafka.IncrementalAlterConfigsRequestConfig{{Name: key, Value: value, ConfigOperation: kafka.ConfigOperationSet}}}}})
	if err != nil {
		return err
	}
	for _, r := range resp.Resources {
		if r.Error != nil {
			return r.Error
		}
	}
	return nil
}

// kgPartition routes each message to the partition the driver chose
// (kafka-go's Writer has no per-message partition field).
type kgPartition struct{}

func (kgPartition) Balance(m kafka.Message, partitions ...int) int {
	if w, ok := m.WriterData.(kgWriterData); ok {
		return int(w.partition)
	}
	return partitions[0]
}

type kgWriterData struct {
	partition int32
	done      func(error)
}

type kgProducer struct {
	w  *kafka.Writer
	wg sync.WaitGroup
}

// NewProducer implements Client.
func (k KafkaGo) NewProducer(_ context.Context, o ProducerOpts) (Producer, error) {
	if o.Idempotent {
		return nil, Skip("kafka-go has no idempotent producer")
	}
	p := &kgProducer{}
	w := &kafka.Writer{Addr: kafka.TCP(o.Bootstrap...), Topic: o.Topic, Balancer: kgPartition{}, Async: true, Transport: k.transport(),
		BatchTimeout: 5 * time.Millisecond, Completion: func(msgs []kafka.Message, err error) {
			for _, m := range msgs {
				m.WriterData.(kgWriterData).done(err)
				p.wg.Done()
			}
		}}
	switch o.Acks {
	case "0":
		w.RequiredAcks = kafka.RequireNone
	case "1":
		w.RequiredAcks = kafka.RequireOne
	default:
		w.RequiredAcks = kafka.RequireAll
	}
	switch o.Codec {
	case "", "none":
	case "gzip":
		w.Compression = compress.Gzip
	case "snappy":
		w.Compression = compress.Snappy
	case "lz4":
		w.Compression = compress.Lz4
	case "zstd":
		w.Compression = compress.Zstd
	default:
		return nil, fmt.Errorf("unknown codec %q", o.Codec)
	}
	if o.Retry {
		w.MaxAttempts = 100
		w.WriteBackoffMin = 250 * time.Millisecond
		w.WriteBackoffMax = time.Second
	}
	p.w = w
	return p, nil
}

func (p *kgProducer) Send(ctx context.Context, r Rec, done func(error)) {
	m := kafka.Message{Value: []byte(r.V), WriterData: kgWriterData{partition: r.P, done: done}}
	if r.K != nil {
		m.Key = []byte(*r.K)
	}
	for _, h := range r.H {
		m.Headers = append(m.Headers, kafka.Header{Key: h.Key, Value: []byte(h.Value)})
	}
	if r.TS != 0 {
		m.Time = time.UnixMilli(r.TS)
	}
	p.wg.Add(1)
	if err := p.w.WriteMessages(ctx, m); err != nil {
		p.wg.Done()
		done(err)
	}
}

func (p *kgProducer) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	go func() { p.wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *kgProducer) Close() { _ = p.w.Close() }

func kgRec(m kafka.Message) Rec {
	r := Rec{P: int32(m.Partition), O: m.Offset, V: string(m.Value), TS: m.Time.UnixMilli()}
	if m.Key != nil {
		r.K = Str(string(m.Key))
	}
	for _, h := range m.Headers {
		r.H = append(r.H, Header{h.Key, string(h.Value)})
	}
	return r
}

// Consume implements Client: one partition Reader per partition.
func (k KafkaGo) Consume(ctx context.Context, o ConsumeOpts, emit func(Rec) bool) error {
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel (defers run last first)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs := make(chan kafka.Message)
	for p := range o.Partitions {
		iso := kafka.ReadUncommitted
		if o.Isolation == "read_committed" {
			iso = kafka.ReadCommitted
		}
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: o.Bootstrap, Topic: o.Topic, Partition: p, Dialer: k.dialer(""),
			MaxWait: 500 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20, IsolationLevel: iso})
		var err error
		switch {
		case o.From == "earliest":
			err = r.SetOffset(kafka.FirstOffset)
		case o.From == "latest":
			err = r.SetOffset(kafka.LastOffset)
		case strings.HasPrefix(o.From, "ts:"):
			ms, perr := strconv.ParseInt(strings.TrimPrefix(o.From, "ts:"), 10, 64)
			if perr != nil {
				err = fmt.Errorf("bad --from %q", o.From)
			} else {
				err = r.SetOffsetAt(cctx, time.UnixMilli(ms))
			}
		}
		if err != nil {
			_ = r.Close()
			return fmt.Errorf("partition %d: %w", p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.Close()
			for {
				m, err := r.ReadMessage(cctx)
				if err != nil {
					if cctx.Err() != nil {
						return
					}
					// e.g. the leader went away: the reader reconnects on
					// the next call.
					fmt.Fprintf(stderr(), "kafka-go reader %s/%d: %v\n", o.Topic, p, err)
					time.Sleep(200 * time.Millisecond)
					continue
				}
				select {
				case msgs <- m:
				case <-cctx.Done():
					return
				}
			}
		}()
	}
	for {
		select {
		case m := <-msgs:
			if !emit(kgRec(m)) {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// kgMember is a Reader with GroupID. kafka-go does not expose a reader's
// assignment, so Assigned asks the coordinator (DescribeGroups) and finds
// the member by its client id.
type kgMember struct {
	r         *kafka.Reader
	bootstrap []string
	group     string
	name      string
	topic     string
	cancel    context.CancelFunc
	done      chan struct{}

	mu  sync.Mutex
	err error
}

// NewMember implements Client.
func (k KafkaGo) NewMember(ctx context.Context, o MemberOpts) (Member, error) {
	if o.Balancer == "coop" {
		return nil, Skip("kafka-go has no cooperative rebalancing (eager balancers only)")
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: o.Bootstrap, GroupID: o.Group, Topic: o.Topic,
		Dialer:            k.dialer(o.Name),
		HeartbeatInterval: 500 * time.Millisecond, SessionTimeout: 6 * time.Second, RebalanceTimeout: 10 * time.Second,
		JoinGroupBackoff: 200 * time.Millisecond, StartOffset: kafka.FirstOffset, CommitInterval: 0,
		GroupBalancers: []kafka.GroupBalancer{kafka.RangeGroupBalancer{}},
		MaxWait:        500 * time.Millisecond, MinBytes: 1, MaxBytes: 1 << 20})
	cctx, cancel := context.WithCancel(ctx)
	m := &kgMember{r: r, bootstrap: o.Bootstrap, group: o.Group, name: o.Name, topic: o.Topic, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			msg, err := r.FetchMessage(cctx)
			if err != nil {
				if cctx.Err() == nil && !errors.Is(err, context.Canceled) {
					m.setErr(fmt.Errorf("fetch: %w", err))
				}
				return
			}
			o.OnRecord(kgRec(msg))
			if err := r.CommitMessages(cctx, msg); err != nil && cctx.Err() == nil {
				m.setErr(fmt.Errorf("commit: %w", err))
			}
		}
	}()
	return m, nil
}

func (m *kgMember) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = err
	}
}

func (m *kgMember) Assigned(ctx context.Context) ([]int32, error) {
	m.mu.Lock()
	err := m.err
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	resp, err := kgClient(m.bootstrap).DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{m.group}})
	if err != nil {
		return nil, fmt.Errorf("describe group: %w", err)
	}
	for _, g := range resp.Groups {
		if g.Error != nil {
			return nil, g.Error
		}
		if g.GroupState != "Stable" {
			return nil, nil
		}
		for _, mem := range g.Members {
			if mem.ClientID != m.name {
				continue
			}
			var ps []int32
			for _, t := range mem.MemberAssignments.Topics {
				if t.Topic == m.topic {
					for _, p := range t.Partitions {
						ps = append(ps, int32(p))
					}
				}
			}
			return ps, nil
		}
	}
	return nil, nil
}

// Close stops reading (every record read was committed synchronously) and
// leaves the group.
func (m *kgMember) Close() error {
	if m.cancel == nil {
		return nil
	}
	m.cancel()
	m.cancel = nil
	<-m.done
	return m.r.Close()
}

// WithSecurity implements Secured: the Transport (Writer, Client) and the
// Dialer (Reader) take the TLS config and sasl/plain or sasl/scram.
func (k KafkaGo) WithSecurity(s Security) (Client, error) {
	if s.TLS() {
		cfg, err := s.TLSConfig()
		if err != nil {
			return nil, err
		}
		k.tls = cfg
	}
	if s.SASL() {
		var err error
		switch s.Mechanism {
		case "PLAIN":
			k.mech = plain.Mechanism{Username: s.User, Password: s.Password}
		case "SCRAM-SHA-256":
			k.mech, err = scram.Mechanism(scram.SHA256, s.User, s.Password)
		case "SCRAM-SHA-512":
			k.mech, err = scram.Mechanism(scram.SHA512, s.User, s.Password)
		}
		if err != nil {
			return nil, err
		}
	}
	return k, nil
}

// transport is the Writer's and Client's: nil (kafka-go's default) when
// plaintext.
func (k KafkaGo) transport() kafka.RoundTripper {
	if k.tls == nil && k.mech == nil {
		return nil
	}
	return &kafka.Transport{TLS: k.tls, SASL: k.mech, DialTimeout: 10 * time.Second}
}

func (k KafkaGo) dialer(clientID string) *kafka.Dialer {
	return &kafka.Dialer{ClientID: clientID, Timeout: 10 * time.Second, DualStack: true, TLS: k.tls, SASLMechanism: k.mech}
}

// HidesDenial implements HidesDenial: the Writer learns partitions from
// the Transport's metadata cache, which answers a topic missing from it
// with UNKNOWN_TOPIC_OR_PARTITION (transport.go, filterMetadataResponse);
// a topic the broker answered with TOPIC_AUTHORIZATION_FAILED is such a
// topic, so the authorization error never reaches the producer.
func (KafkaGo) HidesDenial(err error) string {
	if errors.Is(err, kafka.UnknownTopicOrPartition) {
		return "kafka-go's Writer reports UNKNOWN_TOPIC_OR_PARTITION for a topic it may not describe: its Transport's metadata cache drops the broker's TOPIC_AUTHORIZATION_FAILED"
	}
	return ""
}
