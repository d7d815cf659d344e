package consumergroups

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The admin calls ConsumerGroupCommand makes, reduced to what it reads from their results. Errors that
// Kafka's Admin client raises through a future are *cli.JavaError (class and message).

type groupListing struct {
	Group        string
	State        string
	ProtocolType string
}

type node struct {
	ID   int32
	Host string
	Port int32
}

type member struct {
	ID         string
	InstanceID string // "" when not static
	ClientID   string
	Host       string
	Assignment []tp // in the order the assignment lists them
}

type groupDesc struct {
	Group       string
	State       string
	Protocol    string // the assignor in use
	Coordinator node
	Members     []member
}

// partitionError is one partition's outcome of an offset deletion.
type partitionError struct {
	TP  tp
	Err error // nil on success
}

// deleteOffsetsResult is DeleteConsumerGroupOffsetsResult: the error of all() (the group's, else the
// first partition's; nil when none) and each requested partition's result.
type deleteOffsetsResult struct {
	Top        error
	Partitions []partitionError
}

type admin interface {
	// ListGroups lists the consumer groups (protocol type "consumer" or empty) of every broker, with
	// their states; states non-nil filters by state (ListGroups v4).
	ListGroups(ctx context.Context, states []string) ([]groupListing, error)
	DescribeGroups(ctx context.Context, groups []string) (map[string]groupDesc, error)
	// CommittedOffsets is the group's committed offsets; -1 for a partition without one.
	CommittedOffsets(ctx context.Context, group string) (map[tp]int64, []tp, error)
	// ListOffsets asks the partitions' leaders for an offset: spec -2 earliest, -1 latest, else the
	// first offset at or after that timestamp (-1 when there is none).
	ListOffsets(ctx context.Context, tps []tp, spec int64) (map[tp]int64, error)
	// TopicPartitions returns the partition ids of each topic; a topic that cannot be described has
	// an error instead.
	TopicPartitions(ctx context.Context, topics []string) (map[string][]int32, map[string]error, error)
	AlterOffsets(ctx context.Context, group string, offsets map[tp]int64) error
	DeleteGroups(ctx context.Context, groups []string) (map[string]error, error)
	DeleteOffsets(ctx context.Context, group string, tps []tp) (deleteOffsetsResult, error)
	Close()
}

// kgoAdmin implements admin with a franz-go client; franz-go finds coordinators and partition
// leaders and retries their retriable errors as the Java Admin client does.
type kgoAdmin struct{ cl *kgo.Client }

func newKgoAdmin(props map[string]string) (admin, error) {
	cl, err := cli.AdminClient(props)
	if err != nil {
		return nil, err
	}
	return &kgoAdmin{cl: cl}, nil
}

func (a *kgoAdmin) Close() { a.cl.Close() }

// codedError is the exception of a Kafka error code (Errors.exception), keeping the code.
type codedError struct {
	code int16
	je   *cli.JavaError
}

func (c *codedError) Error() string { return c.je.Msg }
func (c *codedError) Unwrap() error { return c.je }

// javaErr converts an error code and message into the exception the Admin client raises.
func javaErr(code int16, msg *string) error {
	if code == 0 {
		return nil
	}
	return &codedError{code: code, je: cli.KafkaError(code, msg)}
}

// errorCode is Errors.forException: the code of an error (0 for nil, -1 when unknown).
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var c *codedError
	if errors.As(err, &c) {
		return c.code
	}
	return -1
}

// errorName is the Errors enum constant's name.
func errorName(err error) string {
	var ke *kerr.Error
	if errors.As(kerr.ErrorForCode(errorCode(err)), &ke) {
		return ke.Message
	}
	return "UNKNOWN_SERVER_ERROR"
}

// requestErr converts a failed request (no response) into the Admin client's exception.
func requestErr(ctx context.Context, call string, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return &cli.JavaError{Class: "org.apache.kafka.common.errors.TimeoutException", Msg: "Timed out waiting for a node assignment. Call: " + call}
	}
	if class, msg, ok := cli.AuthErrorClass(err); ok {
		return &cli.JavaError{Class: class, Msg: msg}
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return javaErr(ke.Code, nil)
	}
	return &cli.JavaError{Class: "org.apache.kafka.common.KafkaException", Msg: err.Error()}
}

func (a *kgoAdmin) ListGroups(ctx context.Context, states []string) ([]groupListing, error) {
	req := kmsg.NewPtrListGroupsRequest()
	req.StatesFilter = states
	shards := a.cl.RequestSharded(ctx, req)
	sort.Slice(shards, func(i, j int) bool { return shards[i].Meta.NodeID < shards[j].Meta.NodeID })
	var out []groupListing
	seen := map[string]bool{}
	for _, sh := range shards {
		if sh.Err != nil {
			return nil, requestErr(ctx, "listConsumerGroups", sh.Err)
		}
		resp := sh.Resp.(*kmsg.ListGroupsResponse)
		if err := javaErr(resp.ErrorCode, nil); err != nil {
			return nil, err
		}
		for _, g := range resp.Groups {
			if (g.ProtocolType != "consumer" && g.ProtocolType != "") || seen[g.Group] {
				continue
			}
			seen[g.Group] = true
			out = append(out, groupListing{Group: g.Group, State: g.GroupState, ProtocolType: g.ProtocolType})
		}
	}
	return out, nil
}

func (a *kgoAdmin) DescribeGroups(ctx context.Context, groups []string) (map[string]groupDesc, error) {
	if len(groups) == 0 {
		return map[string]groupDesc{}, nil
	}
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = groups
	shards := a.cl.RequestSharded(ctx, req)
	out := map[string]groupDesc{}
	for _, sh := range shards {
		if sh.Err != nil {
			return nil, requestErr(ctx, "describeConsumerGroups", sh.Err)
		}
		resp := sh.Resp.(*kmsg.DescribeGroupsResponse)
		for _, g := range resp.Groups {
			if err := javaErr(g.ErrorCode, nil); err != nil { // error.exception(): the default message
				return nil, err
			}
			if g.ProtocolType != "consumer" && g.ProtocolType != "" {
				return nil, &cli.JavaError{Class: "java.lang.IllegalArgumentException",
					Msg: fmt.Sprintf("GroupId %s is not a consumer group (%s).", g.Group, g.ProtocolType)}
			}
			d := groupDesc{Group: g.Group, State: g.State, Protocol: g.Protocol,
				Coordinator: node{ID: sh.Meta.NodeID, Host: sh.Meta.Host, Port: sh.Meta.Port}}
			for _, m := range g.Members {
				mm := member{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost}
				if m.InstanceID != nil {
					mm.InstanceID = *m.InstanceID
				}
				if len(m.MemberAssignment) > 0 {
					var asg kmsg.ConsumerMemberAssignment
					if err := asg.ReadFrom(m.MemberAssignment); err != nil {
						return nil, &cli.JavaError{Class: "org.apache.kafka.common.protocol.types.SchemaException",
							Msg: "Error reading field 'assigned_partitions': " + err.Error()}
					}
					for _, t := range asg.Topics {
						for _, p := range t.Partitions {
							mm.Assignment = append(mm.Assignment, tp{t.Topic, p})
						}
					}
				}
				d.Members = append(d.Members, mm)
			}
			out[g.Group] = d
		}
	}
	return out, nil
}

func (a *kgoAdmin) CommittedOffsets(ctx context.Context, group string) (map[tp]int64, []tp, error) {
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	req.Topics = nil // all
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, nil, requestErr(ctx, "listConsumerGroupOffsets", err)
	}
	code, topics := resp.ErrorCode, resp.Topics
	if len(resp.Groups) > 0 { // v8+
		code, topics = resp.Groups[0].ErrorCode, nil
		for _, t := range resp.Groups[0].Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.ErrorCode = p.Partition, p.Offset, p.ErrorCode
				rt.Partitions = append(rt.Partitions, rp)
			}
			topics = append(topics, rt)
		}
	}
	if err := javaErr(code, nil); err != nil {
		return nil, nil, err
	}
	out := map[tp]int64{}
	var order []tp
	for _, t := range topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 { // the Admin client skips it with a warning
				continue
			}
			k := tp{t.Topic, p.Partition}
			out[k] = p.Offset
			order = append(order, k)
		}
	}
	return out, order, nil
}

func (a *kgoAdmin) ListOffsets(ctx context.Context, tps []tp, spec int64) (map[tp]int64, error) {
	out := map[tp]int64{}
	if len(tps) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	byTopic := map[string]int{}
	for _, t := range tps {
		i, ok := byTopic[t.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[t.Topic] = i
			rt := kmsg.NewListOffsetsRequestTopic()
			rt.Topic = t.Topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = t.Partition
		rp.Timestamp = spec
		rp.CurrentLeaderEpoch = -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	shards := a.cl.RequestSharded(ctx, req)
	for _, sh := range shards {
		if sh.Err != nil {
			return nil, requestErr(ctx, "listOffsets", sh.Err)
		}
		resp := sh.Resp.(*kmsg.ListOffsetsResponse)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := javaErr(p.ErrorCode, nil); err != nil {
					return nil, err
				}
				off := p.Offset
				if resp.Version == 0 {
					off = -1
					if len(p.OldStyleOffsets) > 0 {
						off = p.OldStyleOffsets[0]
					}
				}
				out[tp{t.Topic, p.Partition}] = off
			}
		}
	}
	return out, nil
}

func (a *kgoAdmin) TopicPartitions(ctx context.Context, topics []string) (map[string][]int32, map[string]error, error) {
	parts, errs := map[string][]int32{}, map[string]error{}
	if len(topics) == 0 {
		return parts, errs, nil
	}
	req := kmsg.NewPtrMetadataRequest()
	for _, t := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return nil, nil, requestErr(ctx, "describeTopics", err)
	}
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		if err := javaErr(t.ErrorCode, nil); err != nil {
			errs[*t.Topic] = err
			continue
		}
		ps := make([]int32, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.Partition)
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		parts[*t.Topic] = ps
	}
	return parts, errs, nil
}

func (a *kgoAdmin) AlterOffsets(ctx context.Context, group string, offsets map[tp]int64) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	req.RetentionTimeMillis = -1
	byTopic := map[string]int{}
	keys := make([]tp, 0, len(offsets))
	for k := range offsets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].Topic < keys[j].Topic || keys[i].Topic == keys[j].Topic && keys[i].Partition < keys[j].Partition
	})
	for _, k := range keys {
		i, ok := byTopic[k.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[k.Topic] = i
			rt := kmsg.NewOffsetCommitRequestTopic()
			rt.Topic = k.Topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition = k.Partition
		rp.Offset = offsets[k]
		rp.LeaderEpoch = -1
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return requestErr(ctx, "alterConsumerGroupOffsets", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := javaErr(p.ErrorCode, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *kgoAdmin) DeleteGroups(ctx context.Context, groups []string) (map[string]error, error) {
	out := map[string]error{}
	if len(groups) == 0 {
		return out, nil
	}
	req := kmsg.NewPtrDeleteGroupsRequest()
	req.Groups = groups
	shards := a.cl.RequestSharded(ctx, req)
	for _, sh := range shards {
		if sh.Err != nil {
			var ke *kerr.Error
			if !errors.As(sh.Err, &ke) {
				return nil, requestErr(ctx, "deleteConsumerGroups", sh.Err)
			}
			for _, g := range sh.Req.(*kmsg.DeleteGroupsRequest).Groups {
				out[g] = javaErr(ke.Code, nil)
			}
			continue
		}
		for _, g := range sh.Resp.(*kmsg.DeleteGroupsResponse).Groups {
			out[g.Group] = javaErr(g.ErrorCode, nil)
		}
	}
	return out, nil
}

func (a *kgoAdmin) DeleteOffsets(ctx context.Context, group string, tps []tp) (deleteOffsetsResult, error) {
	req := kmsg.NewPtrOffsetDeleteRequest()
	req.Group = group
	byTopic := map[string]int{}
	for _, t := range tps {
		i, ok := byTopic[t.Topic]
		if !ok {
			i = len(req.Topics)
			byTopic[t.Topic] = i
			rt := kmsg.NewOffsetDeleteRequestTopic()
			rt.Topic = t.Topic
			req.Topics = append(req.Topics, rt)
		}
		rp := kmsg.NewOffsetDeleteRequestTopicPartition()
		rp.Partition = t.Partition
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		return deleteOffsetsResult{}, requestErr(ctx, "deleteConsumerGroupOffsets", err)
	}
	if top := javaErr(resp.ErrorCode, nil); top != nil {
		res := make([]partitionError, len(tps))
		for i, t := range tps {
			res[i] = partitionError{TP: t, Err: top}
		}
		return deleteOffsetsResult{Top: top, Partitions: res}, nil
	}
	got := map[tp]error{}
	var first error
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			e := javaErr(p.ErrorCode, nil)
			got[tp{t.Topic, p.Partition}] = e
			if first == nil && e != nil {
				first = e
			}
		}
	}
	res := make([]partitionError, len(tps))
	for i, t := range tps {
		res[i] = partitionError{TP: t, Err: got[t]}
	}
	return deleteOffsetsResult{Top: first, Partitions: res}, nil
}
