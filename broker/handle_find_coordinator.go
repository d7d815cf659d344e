// FindCoordinator (key 10) v0-6: the coordinator of a group (key type 0)
// or transactional id (key type 1) is the live leader of the key's
// __consumer_offsets or __transaction_state partition; a missing topic is
// created through the controller and, like a leaderless partition,
// answered COORDINATOR_NOT_AVAILABLE meanwhile.
// Version steps: v1 key type (KIP-98) and error message, v3 flexible
// (KIP-482), v4 batched keys (KIP-699), v5 may answer
// TRANSACTION_ABORTABLE (KIP-890; never for a lookup), v6 share groups
// (key type 2, KIP-932). An unknown key type is INVALID_REQUEST for the
// whole request; a share key is INVALID_REQUEST below v6 and, as in Kafka
// 3.9 (no share coordinator), COORDINATOR_NOT_AVAILABLE from v6.
// Authorization (DESCRIBE on the group or transactional id, CLUSTER_ACTION
// for a share key): aclGate (acl_checks_txn.go), before any lookup, so a
// refused key creates no topic. Deviations: none known.

package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coordinatorAnswer is one key's FindCoordinator answer.
type coordinatorAnswer struct {
	err  *kerr.Error
	node int32
	host string
	port int32
}

// handleFindCoordinator answers with the leader of the key's
// __consumer_offsets or __transaction_state partition
// (KafkaApis.getCoordinator): a missing topic is created through the
// controller and, like a leaderless partition, answered
// COORDINATOR_NOT_AVAILABLE until it has a live leader. v4 batches keys.
func (s *Server) handleFindCoordinator(ctx context.Context, req *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.FindCoordinatorResponse)
	// CoordinatorType.forId: an unknown key type fails the whole request
	// (InvalidRequestException), answered by getErrorResponse.
	validType := req.CoordinatorType >= 0 && req.CoordinatorType <= 2
	if req.Version < 4 {
		a := coordinatorAnswer{err: kerr.InvalidRequest, node: -1, port: -1}
		if validType {
			a = s.findCoordinator(ctx, req.Version, req.CoordinatorType, req.CoordinatorKey)
		}
		resp.NodeID, resp.Host, resp.Port = a.node, a.host, a.port
		// handleFindCoordinatorRequestLessThanV4: Errors.message(), "NONE"
		// without an error; an error is answered by getErrorResponse
		// (prepareOldResponse), with the error's message.
		msg := "NONE"
		if a.err != nil {
			resp.ErrorCode = a.err.Code
			msg = a.err.Description
		}
		resp.ErrorMessage = &msg
		return resp
	}
	for _, key := range req.CoordinatorKeys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key = key
		if !validType {
			// prepareErrorResponse: every key with the error's message.
			c.NodeID, c.Host, c.Port = -1, "", -1
			c.ErrorCode = kerr.InvalidRequest.Code
			c.ErrorMessage = kmsg.StringPtr(kerr.InvalidRequest.Description)
			resp.Coordinators = append(resp.Coordinators, c)
			continue
		}
		a := s.findCoordinator(ctx, req.Version, req.CoordinatorType, key)
		c.NodeID, c.Host, c.Port, c.ErrorCode = a.node, a.host, a.port, errCode(a.err)
		// handleFindCoordinatorRequestV4AndAbove sets no message: the
		// schema's default, "".
		c.ErrorMessage = kmsg.StringPtr("")
		resp.Coordinators = append(resp.Coordinators, c)
	}
	return resp
}

// findCoordinator is KafkaApis.getCoordinator for a key type 0-2.
func (s *Server) findCoordinator(ctx context.Context, version int16, keyType int8, key string) coordinatorAnswer {
	noNode := coordinatorAnswer{node: -1, host: "", port: -1}
	var topic string
	var partition int32
	switch keyType {
	case 0: // group
		topic, partition = offsetsTopic, s.groups.PartitionFor(key)
	case 1: // transaction (TransactionStateManager.partitionFor)
		if s.txn == nil {
			a := noNode
			a.err = kerr.CoordinatorNotAvailable
			return a
		}
		topic, partition = txnTopic, s.txn.PartitionFor(key)
	default: // share: INVALID_REQUEST below v6; no share coordinator in 3.9
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		if version < 6 {
			a.err = kerr.InvalidRequest
		}
		return a
	}
	t, ok := s.cache.topic(topic)
	if !ok {
		if topic == txnTopic {
			s.createInternalTopic(ctx, s.txnTopicRequest())
		} else {
			s.createInternalTopic(ctx, s.offsetsTopicRequest())
		}
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	p, ok := t.Partitions[partition]
	if !ok || p.Leader < 0 {
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	// getAliveBrokerNode(leader, request.context.listenerName): a leader
	// without the request's listener is no coordinator for this client.
	b, live := s.cache.aliveNode(p.Leader, sessionFrom(ctx).listener)
	if !live {
		a := noNode
		a.err = kerr.CoordinatorNotAvailable
		return a
	}
	return coordinatorAnswer{node: b.ID, host: b.Host, port: b.Port}
}
