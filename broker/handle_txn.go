// The transaction coordinator's APIs (KIP-98), served by broker/txn over
// this broker's __transaction_state partitions:
//
// AddPartitionsToTxn (24) v0-5: v1 as v0 (throttle first, KIP-219), v2
// may answer PRODUCER_FENCED (KIP-588; v0-1 get INVALID_PRODUCER_EPOCH),
// v3 flexible (KIP-482), v4 broker-only batches of transactions with
// VerifyOnly (KIP-890 part 1; the whole request needs CLUSTER_ACTION), v5
// may answer TRANSACTION_ABORTABLE (KIP-890). A partition unknown to the
// metadata (or, v0-3, not writable: aclGate) fails the whole transaction:
// the other partitions get OPERATION_NOT_ATTEMPTED and nothing is added.
// AddOffsetsToTxn (25) v0-4: adds the group's __consumer_offsets partition;
// v2 PRODUCER_FENCED, v3 flexible, v4 TRANSACTION_ABORTABLE.
// EndTxn (26) v0-4: v2 PRODUCER_FENCED, v3 flexible, v4
// TRANSACTION_ABORTABLE. Answered once PrepareCommit/PrepareAbort is
// durable; the markers follow.
// DescribeTransactions (65) v0 and ListTransactions (66) v0-1 (KIP-664;
// v1's duration filter KIP-994): the state of the ids this broker
// coordinates.
//
// Authorization (TransactionalId WRITE/DESCRIBE, topic WRITE, group READ,
// CLUSTER_ACTION) is aclGate's (acl_checks_txn.go). Deviations from Kafka
// 3.9: none known.

package broker

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
)

// txnPartitionResult is one partition's answer in AddPartitionsToTxn.
type txnPartitionResult struct {
	tp   txn.TopicPartition
	code int16
}

// addPartitionsTxn is one transaction of an AddPartitionsToTxn request
// (v0-3 normalised as AddPartitionsToTxnRequest.normalizeRequest does).
type addPartitionsTxn struct {
	id         string
	producerID int64
	epoch      int16
	verifyOnly bool
	partitions []txn.TopicPartition // request order, without repeats
}

// addPartitionsTxns is the request's transactions.
func addPartitionsTxns(req *kmsg.AddPartitionsToTxnRequest) []addPartitionsTxn {
	if req.Version < 4 {
		t := addPartitionsTxn{id: req.TransactionalID, producerID: req.ProducerID, epoch: req.ProducerEpoch}
		for _, tt := range req.Topics {
			t.partitions = appendUniqueTPs(t.partitions, tt.Topic, tt.Partitions)
		}
		return []addPartitionsTxn{t}
	}
	out := make([]addPartitionsTxn, 0, len(req.Transactions))
	for _, rt := range req.Transactions {
		t := addPartitionsTxn{id: rt.TransactionalID, producerID: rt.ProducerID, epoch: rt.ProducerEpoch, verifyOnly: rt.VerifyOnly}
		for _, tt := range rt.Topics {
			t.partitions = appendUniqueTPs(t.partitions, tt.Topic, tt.Partitions)
		}
		out = append(out, t)
	}
	return out
}

func appendUniqueTPs(dst []txn.TopicPartition, topic string, parts []int32) []txn.TopicPartition {
	for _, p := range parts {
		tp := txn.TopicPartition{Topic: topic, Partition: p}
		dup := false
		for _, have := range dst {
			if have == tp {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, tp)
		}
	}
	return dst
}

// addPartitionsPrecheck is KafkaApis.handleAddPartitionsToTxnRequest's
// check of one transaction's partitions: a topic not authorized (nil:
// all are) is TOPIC_AUTHORIZATION_FAILED, a partition the metadata cache
// lacks UNKNOWN_TOPIC_OR_PARTITION; if any failed, the others are
// OPERATION_NOT_ATTEMPTED and ok is false (nothing is added).
func (s *Server) addPartitionsPrecheck(t addPartitionsTxn, authorized func(topic string) bool) ([]txnPartitionResult, bool) {
	res := make([]txnPartitionResult, len(t.partitions))
	ok := true
	for i, tp := range t.partitions {
		res[i].tp = tp
		switch {
		case authorized != nil && !authorized(tp.Topic):
			res[i].code = errTopicAuthFailed
			ok = false
		case !s.cache.containsPartition(tp.Topic, tp.Partition):
			res[i].code = kerr.UnknownTopicOrPartition.Code
			ok = false
		}
	}
	if ok {
		return res, true
	}
	for i := range res {
		if res[i].code == 0 {
			res[i].code = kerr.OperationNotAttempted.Code
		}
	}
	return res, false
}

// fencedForVersion is the PRODUCER_FENCED downgrade for clients older than
// KIP-588 (INVALID_PRODUCER_EPOCH below fencedFrom).
func fencedForVersion(e *kerr.Error, version, fencedFrom int16) *kerr.Error {
	if version < fencedFrom && e == kerr.ProducerFenced {
		return kerr.InvalidProducerEpoch
	}
	return e
}

// handleAddPartitionsToTxn runs each transaction through the coordinator:
// an add (TransactionCoordinator.handleAddPartitionsToTransaction, one
// error for every partition) or, v4+ VerifyOnly, a check that the
// partitions are in the transaction (handleVerifyPartitionsInTransaction,
// per partition; KIP-890's produce-time verification).
func (s *Server) handleAddPartitionsToTxn(ctx context.Context, req *kmsg.AddPartitionsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	txns := addPartitionsTxns(req)
	results := make([][]txnPartitionResult, len(txns))
	for i, t := range txns {
		results[i] = s.addPartitionsToTxn(ctx, req.Version, t)
	}
	if req.Version < 4 {
		resp.Topics = addPartitionsTopicsV3(results[0])
		return resp
	}
	for i, t := range txns {
		rt := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rt.TransactionalID = t.id
		idx := map[string]int{}
		for _, r := range results[i] {
			j, ok := idx[r.tp.Topic]
			if !ok {
				j = len(rt.Topics)
				idx[r.tp.Topic] = j
				tt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
				tt.Topic = r.tp.Topic
				rt.Topics = append(rt.Topics, tt)
			}
			p := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
			p.Partition, p.ErrorCode = r.tp.Partition, r.code
			rt.Topics[j].Partitions = append(rt.Topics[j].Partitions, p)
		}
		resp.Transactions = append(resp.Transactions, rt)
	}
	return resp
}

// addPartitionsTopicsV3 is a v0-3 answer's topics, in request order.
func addPartitionsTopicsV3(res []txnPartitionResult) []kmsg.AddPartitionsToTxnResponseTopic {
	var out []kmsg.AddPartitionsToTxnResponseTopic
	idx := map[string]int{}
	for _, r := range res {
		i, ok := idx[r.tp.Topic]
		if !ok {
			i = len(out)
			idx[r.tp.Topic] = i
			t := kmsg.NewAddPartitionsToTxnResponseTopic()
			t.Topic = r.tp.Topic
			out = append(out, t)
		}
		p := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
		p.Partition, p.ErrorCode = r.tp.Partition, r.code
		out[i].Partitions = append(out[i].Partitions, p)
	}
	return out
}

// addPartitionsToTxn answers one transaction of the request.
func (s *Server) addPartitionsToTxn(ctx context.Context, version int16, t addPartitionsTxn) []txnPartitionResult {
	res, ok := s.addPartitionsPrecheck(t, nil)
	if !ok {
		return res
	}
	if s.txn == nil {
		for i := range res {
			res[i].code = kerr.NotCoordinator.Code
		}
		return res
	}
	if t.verifyOnly {
		errs := s.txn.VerifyPartitions(t.id, t.producerID, t.epoch, t.partitions)
		for i := range res {
			res[i].code = errCode(errs[res[i].tp])
		}
		return res
	}
	code := errCode(fencedForVersion(s.txn.AddPartitions(ctx, t.id, t.producerID, t.epoch, t.partitions), version, 2))
	for i := range res {
		res[i].code = code
	}
	return res
}

// handleAddOffsetsToTxn adds the group's __consumer_offsets partition
// (GroupCoordinator.partitionFor) to the transaction, as
// KafkaApis.handleAddOffsetsToTxnRequest does: the commit or abort marker
// then reaches the group coordinator, which applies or drops the
// transaction's offsets.
func (s *Server) handleAddOffsetsToTxn(ctx context.Context, req *kmsg.AddOffsetsToTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	if s.txn == nil || s.groups == nil {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	tp := txn.TopicPartition{Topic: offsetsTopic, Partition: s.groups.PartitionFor(req.Group)}
	err := s.txn.AddPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, []txn.TopicPartition{tp})
	resp.ErrorCode = errCode(fencedForVersion(err, req.Version, 2))
	return resp
}

// handleEndTxn commits or aborts (TransactionCoordinator.handleEndTransaction).
func (s *Server) handleEndTxn(ctx context.Context, req *kmsg.EndTxnRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	if s.txn == nil {
		resp.ErrorCode = kerr.NotCoordinator.Code
		return resp
	}
	err := s.txn.EndTxn(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit)
	resp.ErrorCode = errCode(fencedForVersion(err, req.Version, 2))
	return resp
}

// handleDescribeTransactions describes each id
// (TransactionCoordinator.handleDescribeTransactions): its state, producer
// id and epoch, timeout, start time and partitions grouped by topic; on an
// error the other fields keep the schema's defaults.
func (s *Server) handleDescribeTransactions(req *kmsg.DescribeTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID = id
		if s.txn == nil {
			st.ErrorCode = kerr.CoordinatorNotAvailable.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		d, err := s.txn.DescribeTransaction(id)
		if err != nil {
			st.ErrorCode = err.Code
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st.State = d.State.String()
		st.TimeoutMillis = d.TimeoutMs
		st.StartTimestamp = d.StartTimestamp
		st.ProducerID, st.ProducerEpoch = d.ProducerID, d.ProducerEpoch
		idx := map[string]int{}
		for _, tp := range d.Partitions {
			i, ok := idx[tp.Topic]
			if !ok {
				i = len(st.Topics)
				idx[tp.Topic] = i
				t := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
				t.Topic = tp.Topic
				st.Topics = append(st.Topics, t)
			}
			st.Topics[i].Partitions = append(st.Topics[i].Partitions, tp.Partition)
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

// handleListTransactions lists the transactions this broker coordinates
// (TransactionStateManager.listTransactionStates): filtered by state
// names (unknown names are echoed back), producer ids and, v1, a minimum
// running time (-1: none).
func (s *Server) handleListTransactions(req *kmsg.ListTransactionsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	if s.txn == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	duration := req.DurationFilterMillis
	if req.Version < 1 {
		duration = -1
	}
	list, unknown, err := s.txn.ListTransactions(req.StateFilters, req.ProducerIDFilters, duration)
	resp.UnknownStateFilters = unknown
	if resp.UnknownStateFilters == nil {
		resp.UnknownStateFilters = []string{}
	}
	if err != nil {
		resp.ErrorCode = err.Code
		return resp
	}
	for _, l := range list {
		st := kmsg.NewListTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.TransactionState = l.TransactionalID, l.ProducerID, l.State.String()
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}
