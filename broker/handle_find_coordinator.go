package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coordinatorAnswer is one key's FindCoordinator answer.
type coordinatorAnswer struct {
	err  *kerr.Error
	msg  *string
	node int32
	host string
	port int32
}

// handleFindCoordinator answers with the leader of the key's
// __consumer_offsets partition (KafkaApis.getCoordinator): a missing topic
// is created through the controller and, like a leaderless partition,
// answered COORDINATOR_NOT_AVAILABLE until it has a live leader. v4
// batches keys. Transaction coordinators are not served yet.
func (s *Server) handleFindCoordinator(ctx context.Context, req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		a := s.findCoordinator(ctx, req.CoordinatorType, req.CoordinatorKey)
		resp.NodeID, resp.Host, resp.Port = a.node, a.host, a.port
		if a.err != nil {
			resp.ErrorCode = a.err.Code
			msg := a.err.Description
			if a.msg != nil {
				msg = *a.msg
			}
			resp.ErrorMessage = &msg
		} else {
			none := "NONE" // Errors.NONE.message()
			resp.ErrorMessage = &none
		}
		return resp
	}
	for _, key := range req.CoordinatorKeys {
		a := s.findCoordinator(ctx, req.CoordinatorType, key)
		resp.Coordinators = append(resp.Coordinators, coordinatorEntry(key, a))
	}
	return resp
}

// coordinatorEntry is one key's answer in a batched (v4+) response: the
// error message is null without an error, else ours or the error's.
func coordinatorEntry(key string, a coordinatorAnswer) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key, c.NodeID, c.Host, c.Port = key, a.node, a.host, a.port
	c.ErrorMessage = nil
	if a.err != nil {
		c.ErrorCode = a.err.Code
		msg := a.err.Description
		if a.msg != nil {
			msg = *a.msg
		}
		c.ErrorMessage = &msg
	}
	return c
}

func (s *Server) findCoordinator(ctx context.Context, keyType int8, key string) coordinatorAnswer {
	noNode := coordinatorAnswer{node: -1, host: "", port: -1}
	switch keyType {
	case 0: // group
	case 1: // transaction
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		msg := "this broker does not serve transactions yet"
		a.msg = &msg
		return a
	default:
		a := noNode
		a.err = kerr.InvalidRequest
		msg := "unknown coordinator type"
		a.msg = &msg
		return a
	}
	t, ok := s.cache.topic(offsetsTopic)
	if !ok {
		s.createOffsetsTopic(ctx)
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	p, ok := t.Partitions[s.groups.PartitionFor(key)]
	if !ok || p.Leader < 0 {
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	b, live := s.cache.broker(p.Leader)
	if !live {
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	return coordinatorAnswer{node: b.ID, host: b.Host, port: b.Port}
}
