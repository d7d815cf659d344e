package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The authorization checks KafkaApis makes for the transaction APIs, run
// by aclGate before the handlers (whose files say so). Each answers the
// whole request when Kafka refuses it outright, else rewrites it without
// its refused parts and patches their errors into the handler's answer.

// gateTxnAPIs is aclGate's dispatch for the transaction APIs; handled is
// false for any other request.
func (s *Server) gateTxnAPIs(ctx context.Context, req kmsg.Request) (deny kmsg.Response, patch func(kmsg.Response), handled bool) {
	switch r := req.(type) {
	case *kmsg.AddPartitionsToTxnRequest:
		deny = s.gateAddPartitionsToTxn(ctx, r)
	case *kmsg.AddOffsetsToTxnRequest:
		deny = s.gateAddOffsetsToTxn(ctx, r)
	case *kmsg.EndTxnRequest:
		// KafkaApis.handleEndTxnRequest: WRITE on the transactional id.
		if !s.authorize(ctx, opWrite, resTransactionalID, r.TransactionalID) {
			resp := r.ResponseKind().(*kmsg.EndTxnResponse)
			resp.ErrorCode = errTxnIDAuthFailed
			deny = resp
		}
	case *kmsg.WriteTxnMarkersRequest:
		deny = s.gateWriteTxnMarkers(ctx, r)
	case *kmsg.TxnOffsetCommitRequest:
		deny, patch = s.gateTxnOffsetCommit(ctx, r)
	case *kmsg.DescribeProducersRequest:
		patch = s.gateDescribeProducers(ctx, r)
	case *kmsg.DescribeTransactionsRequest:
		patch = s.gateDescribeTransactions(ctx, r)
	case *kmsg.ListTransactionsRequest:
		// KafkaApis.handleListTransactionsRequest: only the ids the
		// principal may DESCRIBE are listed.
		patch = func(resp kmsg.Response) {
			l := resp.(*kmsg.ListTransactionsResponse)
			kept := l.TransactionStates[:0]
			for _, st := range l.TransactionStates {
				if s.authorize(ctx, opDescribe, resTransactionalID, st.TransactionalID) {
					kept = append(kept, st)
				}
			}
			l.TransactionStates = kept
		}
	default:
		return nil, nil, false
	}
	return deny, patch, true
}

// gateFindCoordinator is KafkaApis.getCoordinator's authorization, made
// before any lookup so a refused key triggers no topic creation: DESCRIBE
// on the group (GROUP_AUTHORIZATION_FAILED) or transactional id
// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), CLUSTER_ACTION for a v6+ share
// key (CLUSTER_AUTHORIZATION_FAILED), each with no node. Below v4 the
// answer carries the error's message (getErrorResponse); from v4 no
// message, as handleFindCoordinatorRequestV4AndAbove sets none.
func (s *Server) gateFindCoordinator(ctx context.Context, r *kmsg.FindCoordinatorRequest) (kmsg.Response, func(kmsg.Response)) {
	check := func(key string) (int16, *string) {
		switch r.CoordinatorType {
		case 0:
			if !s.authorize(ctx, opDescribe, resGroup, key) {
				return errGroupAuthFailed, &msgGroupAuthFailed
			}
		case 1:
			if !s.authorize(ctx, opDescribe, resTransactionalID, key) {
				return errTxnIDAuthFailed, &msgTxnIDAuthFailed
			}
		case 2:
			if r.Version >= 6 && !s.authorizeCluster(ctx, opClusterAction) {
				return errClusterAuthorizationFailed, &msgClusterAuthFailed
			}
		}
		return 0, nil
	}
	if r.Version < 4 {
		code, msg := check(r.CoordinatorKey)
		if code == 0 {
			return nil, nil
		}
		resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
		resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = code, msg, -1, "", -1
		return resp, nil
	}
	keys := r.CoordinatorKeys
	denied := map[int]int16{}
	var kept []string
	for i, key := range keys {
		if code, _ := check(key); code != 0 {
			denied[i] = code
			continue
		}
		kept = append(kept, key)
	}
	if len(denied) == 0 {
		return nil, nil
	}
	refused := func(key string, code int16) kmsg.FindCoordinatorResponseCoordinator {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port = key, code, kmsg.StringPtr(""), -1, "", -1
		return c
	}
	if len(kept) == 0 {
		resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
		for i, key := range keys {
			resp.Coordinators = append(resp.Coordinators, refused(key, denied[i]))
		}
		return resp, nil
	}
	r.CoordinatorKeys = kept
	return nil, func(resp kmsg.Response) {
		f := resp.(*kmsg.FindCoordinatorResponse)
		answered := f.Coordinators
		out := make([]kmsg.FindCoordinatorResponseCoordinator, 0, len(keys))
		next := 0
		for i, key := range keys {
			if code, ok := denied[i]; ok {
				out = append(out, refused(key, code))
				continue
			}
			if next < len(answered) {
				out = append(out, answered[next])
				next++
			}
		}
		f.Coordinators = out
	}
}

// gateAddPartitionsToTxn is KafkaApis.handleAddPartitionsToTxnRequest's
// authorization. v4+ comes from brokers: CLUSTER_ACTION, else only the
// top-level CLUSTER_AUTHORIZATION_FAILED (getErrorResponse); its topics
// are not checked. v0-3: WRITE on the transactional id, else every
// partition TRANSACTIONAL_ID_AUTHORIZATION_FAILED; WRITE on each topic
// (an internal topic never counts as authorized), else the transaction
// fails: TOPIC_AUTHORIZATION_FAILED for those, UNKNOWN_TOPIC_OR_PARTITION
// for unknown partitions, OPERATION_NOT_ATTEMPTED for the rest.
func (s *Server) gateAddPartitionsToTxn(ctx context.Context, r *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	if r.Version >= 4 {
		if !s.authorizeCluster(ctx, opClusterAction) {
			resp.ErrorCode = errClusterAuthorizationFailed
			return resp
		}
		return nil
	}
	t := addPartitionsTxns(r)[0]
	if !s.authorize(ctx, opWrite, resTransactionalID, r.TransactionalID) {
		res := make([]txnPartitionResult, len(t.partitions))
		for i, tp := range t.partitions {
			res[i] = txnPartitionResult{tp: tp, code: errTxnIDAuthFailed}
		}
		resp.Topics = addPartitionsTopicsV3(res)
		return resp
	}
	var names []string
	for _, tp := range t.partitions {
		if !zkmeta.IsInternalTopic(tp.Topic) {
			names = append(names, tp.Topic)
		}
	}
	writable := s.authorizedNames(ctx, opWrite, resTopic, names)
	allowed := func(topic string) bool { return writable[topic] && !zkmeta.IsInternalTopic(topic) }
	for _, tp := range t.partitions {
		if !allowed(tp.Topic) {
			res, _ := s.addPartitionsPrecheck(t, allowed)
			resp.Topics = addPartitionsTopicsV3(res)
			return resp
		}
	}
	return nil
}

// gateAddOffsetsToTxn is KafkaApis.handleAddOffsetsToTxnRequest's: WRITE
// on the transactional id, then READ on the group.
func (s *Server) gateAddOffsetsToTxn(ctx context.Context, r *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	switch {
	case !s.authorize(ctx, opWrite, resTransactionalID, r.TransactionalID):
		resp.ErrorCode = errTxnIDAuthFailed
	case !s.authorize(ctx, opRead, resGroup, r.Group):
		resp.ErrorCode = errGroupAuthFailed
	default:
		return nil
	}
	return resp
}

// gateWriteTxnMarkers is KafkaApis.handleWriteTxnMarkersRequest's: ALTER
// on the cluster, else CLUSTER_ACTION; refused, every partition of every
// marker answers CLUSTER_AUTHORIZATION_FAILED (getErrorResponse) and
// nothing is written.
func (s *Server) gateWriteTxnMarkers(ctx context.Context, r *kmsg.WriteTxnMarkersRequest) kmsg.Response {
	if s.authorizeCluster(ctx, opAlter) || s.authorizeCluster(ctx, opClusterAction) {
		return nil
	}
	resp := r.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	for _, m := range r.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, errClusterAuthorizationFailed
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp
}

// gateTxnOffsetCommit is KafkaApis.handleTxnOffsetCommitRequest's: WRITE on
// the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED on every
// partition), READ on the group (GROUP_AUTHORIZATION_FAILED on every
// partition), then READ on each topic: a refused topic's partitions
// answer TOPIC_AUTHORIZATION_FAILED and the others go to the handler. With
// every topic refused the coordinator is not asked.
func (s *Server) gateTxnOffsetCommit(ctx context.Context, r *kmsg.TxnOffsetCommitRequest) (kmsg.Response, func(kmsg.Response)) {
	errorAll := func(topics []kmsg.TxnOffsetCommitRequestTopic, code int16) []kmsg.TxnOffsetCommitResponseTopic {
		var out []kmsg.TxnOffsetCommitResponseTopic
		for _, t := range topics {
			rt := kmsg.NewTxnOffsetCommitResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p.Partition, code
				rt.Partitions = append(rt.Partitions, rp)
			}
			out = append(out, rt)
		}
		return out
	}
	deny := func(code int16) kmsg.Response {
		resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		resp.Topics = errorAll(r.Topics, code)
		return resp
	}
	if !s.authorize(ctx, opWrite, resTransactionalID, r.TransactionalID) {
		return deny(errTxnIDAuthFailed), nil
	}
	if !s.authorize(ctx, opRead, resGroup, r.Group) {
		return deny(errGroupAuthFailed), nil
	}
	names := make([]string, 0, len(r.Topics))
	for _, t := range r.Topics {
		names = append(names, t.Topic)
	}
	readable := s.authorizedNames(ctx, opRead, resTopic, names)
	var denied, kept []kmsg.TxnOffsetCommitRequestTopic
	for _, t := range r.Topics {
		if readable[t.Topic] {
			kept = append(kept, t)
		} else {
			denied = append(denied, t)
		}
	}
	if len(denied) == 0 {
		return nil, nil
	}
	if len(kept) == 0 {
		return deny(errTopicAuthFailed), nil
	}
	r.Topics = kept
	return nil, func(resp kmsg.Response) {
		c := resp.(*kmsg.TxnOffsetCommitResponse)
		c.Topics = append(errorAll(denied, errTopicAuthFailed), c.Topics...)
	}
}

// gateDescribeProducers is KafkaApis.handleDescribeProducersRequest's READ
// on each topic: a refused topic's partitions answer
// TOPIC_AUTHORIZATION_FAILED with Kafka's message, in the request's
// order. A name that is no valid topic is left to the handler
// (INVALID_TOPIC_EXCEPTION comes first in Kafka).
func (s *Server) gateDescribeProducers(ctx context.Context, r *kmsg.DescribeProducersRequest) func(kmsg.Response) {
	all := r.Topics
	var kept []kmsg.DescribeProducersRequestTopic
	deniedAt := map[int]bool{}
	for i, t := range all {
		if zkmeta.ValidateTopicName(t.Topic) != nil || s.authorize(ctx, opRead, resTopic, t.Topic) {
			kept = append(kept, t)
			continue
		}
		deniedAt[i] = true
	}
	if len(deniedAt) == 0 {
		return nil
	}
	r.Topics = kept
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DescribeProducersResponse)
		answered := d.Topics
		out := make([]kmsg.DescribeProducersResponseTopic, 0, len(all))
		next := 0
		for i, t := range all {
			if !deniedAt[i] {
				if next < len(answered) {
					out = append(out, answered[next])
					next++
				}
				continue
			}
			rt := kmsg.NewDescribeProducersResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewDescribeProducersResponseTopicPartition()
				rp.Partition, rp.ErrorCode, rp.ErrorMessage = p, errTopicAuthFailed, &msgTopicAuthFailed
				rt.Partitions = append(rt.Partitions, rp)
			}
			out = append(out, rt)
		}
		out = append(out, answered[min(next, len(answered)):]...)
		d.Topics = out
	}
}

// gateDescribeTransactions is KafkaApis.handleDescribeTransactionsRequest's:
// an id without DESCRIBE answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED
// and nothing else; from the others' partitions the topics the principal
// may not DESCRIBE are left out.
func (s *Server) gateDescribeTransactions(ctx context.Context, r *kmsg.DescribeTransactionsRequest) func(kmsg.Response) {
	allowed := make([]bool, len(r.TransactionalIDs))
	for i, id := range r.TransactionalIDs {
		allowed[i] = s.authorize(ctx, opDescribe, resTransactionalID, id)
	}
	return func(resp kmsg.Response) {
		d := resp.(*kmsg.DescribeTransactionsResponse)
		for i := range d.TransactionStates {
			st := &d.TransactionStates[i]
			if i < len(allowed) && !allowed[i] {
				refused := kmsg.NewDescribeTransactionsResponseTransactionState()
				refused.TransactionalID, refused.ErrorCode = st.TransactionalID, errTxnIDAuthFailed
				*st = refused
				continue
			}
			kept := st.Topics[:0]
			for _, t := range st.Topics {
				if s.authorize(ctx, opDescribe, resTopic, t.Topic) {
					kept = append(kept, t)
				}
			}
			st.Topics = kept
		}
	}
}
