package reassign

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// node is a broker of describeCluster.
type node struct {
	ID   int32
	Rack *string
}

// topicInfo is a TopicDescription: replicas by partition, in partition order.
type topicInfo struct {
	Partitions []partitionInfo
}

type partitionInfo struct {
	Partition int32
	Replicas  []int32
}

// ongoing is a PartitionReassignment.
type ongoing struct {
	Replicas, Adding, Removing []int32
}

// configOp is one AlterConfigOp on a resource.
type configOp struct {
	Name   string
	Value  *string // nil for DELETE
	Delete bool
}

type configResource struct {
	Broker bool // BROKER resource, else TOPIC
	Name   string
}

// logDirInfo is a ReplicaLogDirInfo: "" when unknown.
type logDirInfo struct {
	Current, Future string
}

// admin is what ReassignPartitionsCommand uses of Kafka's Admin client. Errors are Java
// exceptions (cli.JavaError) where the Java client would raise one.
type admin interface {
	DescribeCluster(ctx context.Context) ([]node, error)
	// DescribeTopics returns each topic's description or its error.
	DescribeTopics(ctx context.Context, topics []string) (map[string]topicInfo, map[string]error, error)
	// ListReassignments lists ongoing reassignments of the given partitions, or all when nil.
	ListReassignments(ctx context.Context, parts []tp) (map[tp]ongoing, error)
	// AlterReassignments starts (replicas non-nil) or cancels (nil) reassignments; per-partition errors.
	AlterReassignments(ctx context.Context, parts map[tp][]int32) (map[tp]error, error)
	IncrementalAlterConfigs(ctx context.Context, ops map[configResource][]configOp) error
	DescribeReplicaLogDirs(ctx context.Context, replicas []tpr) (map[tpr]logDirInfo, error)
	// AlterReplicaLogDirs returns per-replica errors.
	AlterReplicaLogDirs(ctx context.Context, dirs map[tpr]string) (map[tpr]error, error)
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

// executionError is what KafkaFuture.get() throws for a failed call: an ExecutionException whose
// message is the cause's toString.
func executionError(cause error) error {
	var je *cli.JavaError
	if errors.As(cause, &je) {
		return &cli.JavaError{Class: "java.util.concurrent.ExecutionException", Msg: je.Class + ": " + je.Msg}
	}
	return &cli.JavaError{Class: "java.util.concurrent.ExecutionException", Msg: "org.apache.kafka.common.KafkaException: " + cause.Error()}
}

func requestError(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return executionError(&cli.JavaError{Class: "org.apache.kafka.common.errors.TimeoutException", Msg: "Timed out waiting for a node assignment. Call: " + what})
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return executionError(cli.KafkaError(ke.Code, nil))
	}
	return executionError(fmt.Errorf("%s: %w", what, err))
}

func (a *kgoAdmin) metadata(ctx context.Context, topics []string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	req.Topics = []kmsg.MetadataRequestTopic{}
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (a *kgoAdmin) DescribeCluster(ctx context.Context) ([]node, error) {
	resp, err := a.metadata(ctx, nil)
	if err != nil {
		return nil, requestError("describeCluster", err)
	}
	out := make([]node, 0, len(resp.Brokers))
	for _, b := range resp.Brokers {
		out = append(out, node{ID: b.NodeID, Rack: b.Rack})
	}
	return out, nil
}

func (a *kgoAdmin) DescribeTopics(ctx context.Context, topics []string) (map[string]topicInfo, map[string]error, error) {
	infos, errs := map[string]topicInfo{}, map[string]error{}
	if len(topics) == 0 {
		return infos, errs, nil
	}
	resp, err := a.metadata(ctx, topics)
	if err != nil {
		return nil, nil, requestError("describeTopics", err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if t.ErrorCode != 0 {
			errs[*t.Topic] = cli.KafkaError(t.ErrorCode, nil)
			continue
		}
		var info topicInfo
		for _, p := range t.Partitions {
			info.Partitions = append(info.Partitions, partitionInfo{Partition: p.Partition, Replicas: p.Replicas})
		}
		sort.Slice(info.Partitions, func(i, j int) bool { return info.Partitions[i].Partition < info.Partitions[j].Partition })
		infos[*t.Topic] = info
	}
	for _, t := range topics {
		if _, ok := infos[t]; !ok && errs[t] == nil {
			errs[t] = cli.KafkaError(kerr.UnknownTopicOrPartition.Code, nil)
		}
	}
	return infos, errs, nil
}

func (a *kgoAdmin) ListReassignments(ctx context.Context, parts []tp) (map[tp]ongoing, error) {
	req := kmsg.NewPtrListPartitionReassignmentsRequest()
	req.TimeoutMillis = a.timeoutMs
	if parts != nil {
		byTopic := map[string][]int32{}
		for _, p := range parts {
			byTopic[p.Topic] = append(byTopic[p.Topic], p.Partition)
		}
		req.Topics = []kmsg.ListPartitionReassignmentsRequestTopic{}
		for t, ps := range byTopic {
			rt := kmsg.NewListPartitionReassignmentsRequestTopic()
			rt.Topic, rt.Partitions = t, ps
			req.Topics = append(req.Topics, rt)
		}
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, requestError("listPartitionReassignments", err)
	}
	if resp.ErrorCode != 0 {
		return nil, executionError(cli.KafkaError(resp.ErrorCode, resp.ErrorMessage))
	}
	out := map[tp]ongoing{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[tp{t.Topic, p.Partition}] = ongoing{Replicas: p.Replicas, Adding: p.AddingReplicas, Removing: p.RemovingReplicas}
		}
	}
	return out, nil
}

func (a *kgoAdmin) AlterReassignments(ctx context.Context, parts map[tp][]int32) (map[tp]error, error) {
	req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
	req.TimeoutMillis = a.timeoutMs
	byTopic := map[string]int{}
	for p, replicas := range parts {
		i, ok := byTopic[p.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[p.Topic] = i
			rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
			rt.Topic = p.Topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = p.Partition, replicas
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	errs := map[tp]error{}
	if err != nil || resp.ErrorCode != 0 {
		var cause error
		if err != nil {
			cause = requestError("alterPartitionReassignments", err)
			var je *cli.JavaError
			if errors.As(cause, &je) {
				cause = &cli.JavaError{Class: "org.apache.kafka.common.KafkaException", Msg: je.Msg}
			}
		} else {
			cause = cli.KafkaError(resp.ErrorCode, resp.ErrorMessage)
		}
		for p := range parts {
			errs[p] = cause
		}
		return errs, nil
	}
	answered := map[tp]bool{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			k := tp{t.Topic, p.Partition}
			answered[k] = true
			if p.ErrorCode != 0 {
				errs[k] = cli.KafkaError(p.ErrorCode, p.ErrorMessage)
			}
		}
	}
	for p := range parts {
		if !answered[p] {
			errs[p] = &cli.JavaError{Class: "org.apache.kafka.common.errors.UnknownServerException", Msg: "Failed to find partition " + p.String() + " in the response"}
		}
	}
	return errs, nil
}

func (a *kgoAdmin) IncrementalAlterConfigs(ctx context.Context, ops map[configResource][]configOp) error {
	if len(ops) == 0 {
		return nil
	}
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	keys := make([]configResource, 0, len(ops))
	for r := range ops {
		keys = append(keys, r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Broker != keys[j].Broker {
			return keys[i].Broker
		}
		return keys[i].Name < keys[j].Name
	})
	for _, r := range keys {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType = kmsg.ConfigResourceTypeTopic
		if r.Broker {
			rr.ResourceType = kmsg.ConfigResourceTypeBroker
		}
		rr.ResourceName = r.Name
		for _, op := range ops[r] {
			c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			c.Name, c.Value = op.Name, op.Value
			c.Op = kmsg.IncrementalAlterConfigOpSet
			if op.Delete {
				c.Op = kmsg.IncrementalAlterConfigOpDelete
			}
			rr.Configs = append(rr.Configs, c)
		}
		req.Resources = append(req.Resources, rr)
	}
	// A broker's own resource goes to that broker, as the Java admin client
	// routes it; topics and the cluster default go to any broker.
	groups := map[int]*kmsg.IncrementalAlterConfigsRequest{}
	order := []int{}
	for _, rr := range req.Resources {
		node := -1
		if rr.ResourceType == kmsg.ConfigResourceTypeBroker && rr.ResourceName != "" {
			if id, err := strconv.Atoi(rr.ResourceName); err == nil {
				node = id
			}
		}
		g, ok := groups[node]
		if !ok {
			g = kmsg.NewPtrIncrementalAlterConfigsRequest()
			groups[node] = g
			order = append(order, node)
		}
		g.Resources = append(g.Resources, rr)
	}
	for _, node := range order {
		var resp *kmsg.IncrementalAlterConfigsResponse
		var err error
		if node < 0 {
			resp, err = groups[node].RequestWith(ctx, a.cl)
		} else {
			resp, err = groups[node].RequestWith(ctx, cli.Node(a.cl, int32(node)))
		}
		if err != nil {
			return requestError("incrementalAlterConfigs", err)
		}
		for _, r := range resp.Resources {
			if r.ErrorCode != 0 {
				return executionError(cli.KafkaError(r.ErrorCode, r.ErrorMessage))
			}
		}
	}
	return nil
}

func (a *kgoAdmin) DescribeReplicaLogDirs(ctx context.Context, replicas []tpr) (map[tpr]logDirInfo, error) {
	out := map[tpr]logDirInfo{}
	byBroker := map[int32][]tpr{}
	for _, r := range replicas {
		out[r] = logDirInfo{}
		byBroker[r.Broker] = append(byBroker[r.Broker], r)
	}
	for b, rs := range byBroker {
		req := kmsg.NewPtrDescribeLogDirsRequest()
		byTopic := map[string]int{}
		for _, r := range rs {
			i, ok := byTopic[r.Topic]
			if !ok {
				i = len(req.Topics)
				byTopic[r.Topic] = i
				rt := kmsg.NewDescribeLogDirsRequestTopic()
				rt.Topic = r.Topic
				req.Topics = append(req.Topics, rt)
			}
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, r.Partition)
		}
		resp, err := req.RequestWith(ctx, cli.Node(a.cl, b))
		if err != nil {
			return nil, requestError("describeReplicaLogDirs", err)
		}
		if resp.ErrorCode != 0 {
			return nil, executionError(cli.KafkaError(resp.ErrorCode, nil))
		}
		for _, d := range resp.Dirs {
			if d.ErrorCode != 0 {
				continue
			}
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					k := tpr{t.Topic, p.Partition, b}
					info, ok := out[k]
					if !ok {
						continue
					}
					if p.IsFuture {
						info.Future = d.Dir
					} else {
						info.Current = d.Dir
					}
					out[k] = info
				}
			}
		}
	}
	return out, nil
}

func (a *kgoAdmin) AlterReplicaLogDirs(ctx context.Context, dirs map[tpr]string) (map[tpr]error, error) {
	errs := map[tpr]error{}
	byBroker := map[int32]map[tpr]string{}
	for r, d := range dirs {
		if byBroker[r.Broker] == nil {
			byBroker[r.Broker] = map[tpr]string{}
		}
		byBroker[r.Broker][r] = d
	}
	for b, m := range byBroker {
		req := kmsg.NewPtrAlterReplicaLogDirsRequest()
		byDir := map[string]int{}
		for r, d := range m {
			i, ok := byDir[d]
			if !ok {
				i = len(req.Dirs)
				byDir[d] = i
				rd := kmsg.NewAlterReplicaLogDirsRequestDir()
				rd.Dir = d
				req.Dirs = append(req.Dirs, rd)
			}
			rt := kmsg.NewAlterReplicaLogDirsRequestDirTopic()
			rt.Topic, rt.Partitions = r.Topic, []int32{r.Partition}
			req.Dirs[i].Topics = append(req.Dirs[i].Topics, rt)
		}
		resp, err := req.RequestWith(ctx, cli.Node(a.cl, b))
		if err != nil {
			return nil, requestError("alterReplicaLogDirs", err)
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					errs[tpr{t.Topic, p.Partition, b}] = cli.KafkaError(p.ErrorCode, nil)
				}
			}
		}
	}
	return errs, nil
}
