package topics

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const topicExistsCode = 36

// createSpec is a NewTopic: -1 partitions/replication factor means the broker default.
type createSpec struct {
	Name       string
	Partitions int32
	RF         int16
	Assignment [][]int32 // replica assignment by partition; overrides Partitions/RF
	Configs    map[string]string
}

type topicListing struct {
	Name     string
	ID       [16]byte
	Internal bool
}

// admin is what TopicCommand needs from Kafka's Admin client.
type admin interface {
	ListTopics(ctx context.Context, includeInternal bool) ([]topicListing, error)
	DescribeTopics(ctx context.Context, names []string) ([]topicDesc, error)
	DescribeConfigs(ctx context.Context, names []string) (map[string][]configEntry, error)
	LiveBrokers(ctx context.Context) ([]int32, error)
	// ListReassignments returns nil, nil when the cluster cannot tell (Kafka ignores such errors).
	ListReassignments(ctx context.Context, topics []topicDesc) (map[string]map[int32]*reassignment, error)
	CreateTopic(ctx context.Context, spec createSpec) error
	CreatePartitions(ctx context.Context, totals map[string]int32, assignments map[string][][]int32) error
	DeleteTopics(ctx context.Context, names []string) error
	Close()
}

// kgoAdmin implements admin over a franz-go client.
type kgoAdmin struct {
	cl        *kgo.Client
	timeoutMs int32
}

// newKgoAdmin opens the client from the admin properties (bootstrap.servers, client.id, security keys).
func newKgoAdmin(props map[string]string, timeoutMs int32) (*kgoAdmin, error) {
	cl, err := cli.AdminClient(props)
	if err != nil {
		return nil, err
	}
	return &kgoAdmin{cl: cl, timeoutMs: timeoutMs}, nil
}

func (a *kgoAdmin) Close() { a.cl.Close() }

func (a *kgoAdmin) metadata(ctx context.Context, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	if topics != nil {
		req.Topics = make([]kmsg.MetadataRequestTopic, 0, len(topics)) // empty, not null: no topics
		for _, t := range topics {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(t)
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	return resp, nil
}

func (a *kgoAdmin) ListTopics(ctx context.Context, includeInternal bool) ([]topicListing, error) {
	resp, err := a.metadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []topicListing
	for _, t := range resp.Topics {
		if t.Topic == nil || t.ErrorCode == kerr.UnknownTopicOrPartition.Code || t.ErrorCode == kerr.TopicAuthorizationFailed.Code {
			continue
		}
		if t.IsInternal && !includeInternal {
			continue
		}
		out = append(out, topicListing{Name: *t.Topic, ID: t.TopicID, Internal: t.IsInternal})
	}
	return out, nil
}

func (a *kgoAdmin) DescribeTopics(ctx context.Context, names []string) ([]topicDesc, error) {
	resp, err := a.metadata(ctx, names)
	if err != nil {
		return nil, err
	}
	live := map[int32]bool{}
	for _, b := range resp.Brokers {
		live[b.NodeID] = true
	}
	var out []topicDesc
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if t.ErrorCode != 0 {
			return nil, cli.KafkaError(t.ErrorCode, nil)
		}
		d := topicDesc{Name: *t.Topic, ID: t.TopicID, Internal: t.IsInternal}
		for _, p := range t.Partitions {
			leader := p.Leader
			if !live[leader] { // the Java client only knows leaders that are in the broker list
				leader = -1
			}
			d.Partitions = append(d.Partitions, partitionInfo{Partition: p.Partition, Leader: leader, Replicas: p.Replicas, ISR: p.ISR})
		}
		out = append(out, d)
	}
	return out, nil
}

func (a *kgoAdmin) DescribeConfigs(ctx context.Context, names []string) (map[string][]configEntry, error) {
	out := map[string][]configEntry{}
	if len(names) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, n := range names {
		r := kmsg.NewDescribeConfigsRequestResource()
		r.ResourceType = kmsg.ConfigResourceTypeTopic
		r.ResourceName = n
		req.Resources = append(req.Resources, r)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, fmt.Errorf("describe configs: %w", err)
	}
	for _, r := range resp.Resources {
		if r.ErrorCode != 0 {
			return nil, cli.KafkaError(r.ErrorCode, r.ErrorMessage)
		}
		var entries []configEntry
		for _, c := range r.Configs {
			isDefault := c.IsDefault
			if resp.Version >= 1 {
				isDefault = c.Source == kmsg.ConfigSourceDefaultConfig
			}
			entries = append(entries, configEntry{Name: c.Name, Value: c.Value, IsDefault: isDefault})
		}
		out[r.ResourceName] = entries
	}
	return out, nil
}

func (a *kgoAdmin) LiveBrokers(ctx context.Context) ([]int32, error) {
	resp, err := a.metadata(ctx, []string{})
	if err != nil {
		return nil, err
	}
	ids := make([]int32, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		ids = append(ids, b.NodeID)
	}
	return ids, nil
}

func (a *kgoAdmin) ListReassignments(ctx context.Context, topics []topicDesc) (map[string]map[int32]*reassignment, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = a.timeoutMs
	for _, t := range topics {
		rt := kmsg.NewListPartitionReassignmentsRequestTopic()
		rt.Topic = t.Name
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, p.Partition)
		}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, nil //nolint:nilerr // Kafka treats an unsupported or refused call as "no reassignments"
	}
	if resp.ErrorCode != 0 {
		return nil, nil
	}
	out := map[string]map[int32]*reassignment{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if out[t.Topic] == nil {
				out[t.Topic] = map[int32]*reassignment{}
			}
			out[t.Topic][p.Partition] = &reassignment{Replicas: p.Replicas, Adding: p.AddingReplicas, Removing: p.RemovingReplicas}
		}
	}
	return out, nil
}

func (a *kgoAdmin) CreateTopic(ctx context.Context, spec createSpec) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = a.timeoutMs
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = spec.Name
	t.NumPartitions = spec.Partitions
	t.ReplicationFactor = spec.RF
	if len(spec.Assignment) > 0 {
		t.NumPartitions, t.ReplicationFactor = -1, -1
		for i, replicas := range spec.Assignment {
			ra := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
			ra.Partition = int32(i)
			ra.Replicas = replicas
			t.ReplicaAssignment = append(t.ReplicaAssignment, ra)
		}
	}
	for k, v := range spec.Configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name = k
		c.Value = kmsg.StringPtr(v)
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			return cli.KafkaError(rt.ErrorCode, rt.ErrorMessage)
		}
	}
	return nil
}

func (a *kgoAdmin) CreatePartitions(ctx context.Context, totals map[string]int32, assignments map[string][][]int32) error {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = a.timeoutMs
	for name, n := range totals {
		t := kmsg.NewCreatePartitionsRequestTopic()
		t.Topic = name
		t.Count = n
		for _, replicas := range assignments[name] {
			as := kmsg.NewCreatePartitionsRequestTopicAssignment()
			as.Replicas = replicas
			t.Assignment = append(t.Assignment, as)
		}
		req.Topics = append(req.Topics, t)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			return cli.KafkaError(rt.ErrorCode, rt.ErrorMessage)
		}
	}
	return nil
}

func (a *kgoAdmin) DeleteTopics(ctx context.Context, names []string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.TimeoutMillis = a.timeoutMs
	for _, n := range names {
		t := kmsg.NewDeleteTopicsRequestTopic()
		t.Topic = kmsg.StringPtr(n)
		req.Topics = append(req.Topics, t)
		req.TopicNames = append(req.TopicNames, n)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return fmt.Errorf("delete topics: %w", err)
	}
	for _, rt := range resp.Topics {
		if rt.ErrorCode != 0 {
			return cli.KafkaError(rt.ErrorCode, rt.ErrorMessage)
		}
	}
	return nil
}
