package broker

// KIP-890 part 1, the partition leader's side: before a transactional
// batch starts a transaction on a partition, the leader asks the
// transaction coordinator whether the partition is in the producer's
// transaction (AddPartitionsToTxn v4 with VerifyOnly), as Kafka's
// AddPartitionsToTxnManager does: one request per coordinator broker
// batching the transactions waiting for it, one in flight per broker.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// verifyResult maps each partition that failed verification to its error
// code; partitions absent from it are verified.
type verifyResult map[topicPartition]int16

// pendingVerification is one transaction waiting for its coordinator.
type pendingVerification struct {
	txn      kmsg.AddPartitionsToTxnRequestTransaction
	callback func(verifyResult)
}

// nodeVerifications are the transactions queued for one coordinator node
// (TransactionDataAndCallbacks): at most one per transactional id.
type nodeVerifications struct {
	order []string // transactional ids in arrival order
	txns  map[string]*pendingVerification
	// genericError is the transactionSupportedOperation of the request
	// that created the batch (Produce v11+: TRANSACTION_ABORTABLE passes).
	genericError bool
}

// addPartitionsToTxnManager is Kafka's AddPartitionsToTxnManager.
type addPartitionsToTxnManager struct {
	// coordinator finds the transaction coordinator's node on the
	// inter-broker listener (getTransactionCoordinator).
	coordinator func(txnID string) (cachedNode, bool)
	// request makes one round trip to node (InterBrokerSendThread).
	request func(ctx context.Context, node cachedNode, req kmsg.Request) (kmsg.Response, error)
	// closeClients closes the connections request opened.
	closeClients func()
	timeout      time.Duration
	logger       *slog.Logger

	mu       sync.Mutex
	closed   bool
	queued   map[int32]*nodeVerifications // by node id
	inflight map[int32]bool
	wg       sync.WaitGroup
}

func newAddPartitionsToTxnManager(coordinator func(string) (cachedNode, bool),
	request func(context.Context, cachedNode, kmsg.Request) (kmsg.Response, error), timeout time.Duration, logger *slog.Logger) *addPartitionsToTxnManager {
	return &addPartitionsToTxnManager{coordinator: coordinator, request: request, closeClients: func() {}, timeout: timeout, logger: logger,
		queued: map[int32]*nodeVerifications{}, inflight: map[int32]bool{}}
}

// verifyTransaction is AddPartitionsToTxnManager.verifyTransaction: callback
// gets the partitions that failed, once the coordinator answered (or at
// once when no coordinator is known: COORDINATOR_NOT_AVAILABLE).
// genericError: the produce request understands TRANSACTION_ABORTABLE.
func (m *addPartitionsToTxnManager) verifyTransaction(txnID string, producerID int64, producerEpoch int16, tps []topicPartition, genericError bool, callback func(verifyResult)) {
	node, ok := m.coordinator(txnID)
	if !ok {
		callback(errorForAll(tps, kerr.CoordinatorNotAvailable.Code))
		return
	}
	txn := kmsg.NewAddPartitionsToTxnRequestTransaction()
	txn.TransactionalID, txn.ProducerID, txn.ProducerEpoch, txn.VerifyOnly = txnID, producerID, producerEpoch, true
	for _, tp := range tps {
		i := slices.IndexFunc(txn.Topics, func(t kmsg.AddPartitionsToTxnRequestTransactionTopic) bool { return t.Topic == tp.Topic })
		if i < 0 {
			t := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
			t.Topic = tp.Topic
			txn.Topics = append(txn.Topics, t)
			i = len(txn.Topics) - 1
		}
		txn.Topics[i].Partitions = append(txn.Topics[i].Partitions, tp.Partition)
	}
	m.add(node, &pendingVerification{txn: txn, callback: callback}, genericError)
}

// add queues a transaction for node (addTxnData). A transaction of the
// same id already queued gives way to a newer or equal epoch (answered
// INVALID_PRODUCER_EPOCH, or NETWORK_EXCEPTION for a retry of the same
// epoch); an older epoch than the queued one is INVALID_PRODUCER_EPOCH at
// once.
func (m *addPartitionsToTxnManager) add(node cachedNode, pv *pendingVerification, genericError bool) {
	var answer []func()
	defer func() {
		for _, f := range answer {
			f()
		}
	}()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		answer = append(answer, func() { pv.callback(txnErrors(pv.txn, kerr.NetworkException.Code)) })
		return
	}
	nv, ok := m.queued[node.ID]
	if !ok {
		nv = &nodeVerifications{txns: map[string]*pendingVerification{}, genericError: genericError}
		m.queued[node.ID] = nv
	}
	id := pv.txn.TransactionalID
	if old, ok := nv.txns[id]; ok {
		if old.txn.ProducerEpoch > pv.txn.ProducerEpoch {
			answer = append(answer, func() { pv.callback(txnErrors(pv.txn, kerr.InvalidProducerEpoch.Code)) })
			return
		}
		code := kerr.NetworkException.Code
		if old.txn.ProducerEpoch < pv.txn.ProducerEpoch {
			code = kerr.InvalidProducerEpoch.Code
		}
		answer = append(answer, func() { old.callback(txnErrors(old.txn, code)) })
		nv.order = slices.DeleteFunc(nv.order, func(s string) bool { return s == id })
	}
	nv.txns[id] = pv
	nv.order = append(nv.order, id)
	m.maybeSendLocked(node)
}

// maybeSendLocked sends node's queued transactions unless a request to it
// is in flight (generateRequests).
func (m *addPartitionsToTxnManager) maybeSendLocked(node cachedNode) {
	nv, ok := m.queued[node.ID]
	if !ok || m.inflight[node.ID] || m.closed {
		return
	}
	delete(m.queued, node.ID)
	m.inflight[node.ID] = true
	m.wg.Add(1)
	go m.send(node, nv)
}

// send makes one AddPartitionsToTxn round trip and answers its
// transactions (AddPartitionsToTxnHandler.onComplete).
func (m *addPartitionsToTxnManager) send(node cachedNode, nv *nodeVerifications) {
	defer m.wg.Done()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 4 // AddPartitionsToTxnRequest.Builder.forBroker: v4+, verify only
	for _, id := range nv.order {
		req.Transactions = append(req.Transactions, nv.txns[id].txn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	raw, err := m.request(ctx, node, req)
	cancel()
	results := m.results(node, nv, raw, err)
	m.mu.Lock()
	delete(m.inflight, node.ID)
	m.maybeSendLocked(node)
	m.mu.Unlock()
	for _, id := range nv.order {
		nv.txns[id].callback(results[id])
	}
}

// results translates the coordinator's answer into each transaction's
// failed partitions.
func (m *addPartitionsToTxnManager) results(node cachedNode, nv *nodeVerifications, raw kmsg.Response, err error) map[string]verifyResult {
	out := map[string]verifyResult{}
	all := func(code int16) map[string]verifyResult {
		for _, id := range nv.order {
			out[id] = txnErrors(nv.txns[id].txn, code)
		}
		return out
	}
	if err != nil {
		// A disconnect or a timeout (wasDisconnected, wasTimedOut); an
		// authentication failure keeps its code.
		var ke *kerr.Error
		if errors.As(err, &ke) && ke.Code == kerr.SaslAuthenticationFailed.Code {
			return all(ke.Code)
		}
		m.logger.Warn("AddPartitionsToTxn request failed with a network exception", "node", node.ID, "err", err)
		return all(kerr.NetworkException.Code)
	}
	resp, ok := raw.(*kmsg.AddPartitionsToTxnResponse)
	if !ok {
		return all(kerr.NetworkException.Code)
	}
	if resp.ErrorCode != 0 {
		m.logger.Error("AddPartitionsToTxn request returned an error", "node", node.ID, "err", kerr.ErrorForCode(resp.ErrorCode))
		// The client must not see CLUSTER_AUTHORIZATION_FAILED: the
		// verification did not complete.
		code := resp.ErrorCode
		if code == kerr.ClusterAuthorizationFailed.Code {
			code = kerr.InvalidTxnState.Code
		}
		return all(code)
	}
	for _, tr := range resp.Transactions {
		if _, ok := nv.txns[tr.TransactionalID]; !ok {
			continue
		}
		failed := verifyResult{}
		for _, t := range tr.Topics {
			for _, p := range t.Partitions {
				code := p.ErrorCode
				switch {
				case code == 0:
					continue
				case code == kerr.ProducerFenced.Code:
					code = kerr.InvalidProducerEpoch.Code // producers expect it here
				case code == kerr.TransactionAbortable.Code && !nv.genericError:
					code = kerr.InvalidTxnState.Code // older clients do not know it
				}
				failed[topicPartition{t.Topic, p.Partition}] = code
			}
		}
		out[tr.TransactionalID] = failed
	}
	for _, id := range nv.order {
		if _, ok := out[id]; !ok {
			// Not in the answer: Kafka would never call back; answer a
			// retriable error rather than hold the produce.
			out[id] = txnErrors(nv.txns[id].txn, kerr.NetworkException.Code)
		}
	}
	return out
}

// close answers the queued transactions NETWORK_EXCEPTION, waits for the
// requests in flight and closes the clients.
func (m *addPartitionsToTxnManager) close() {
	m.mu.Lock()
	m.closed = true
	queued := m.queued
	m.queued = map[int32]*nodeVerifications{}
	m.mu.Unlock()
	for _, nv := range queued {
		for _, id := range nv.order {
			nv.txns[id].callback(txnErrors(nv.txns[id].txn, kerr.NetworkException.Code))
		}
	}
	m.wg.Wait()
	m.closeClients()
}

// txnErrors is topicPartitionsToError: every partition of txn failed with code.
func txnErrors(txn kmsg.AddPartitionsToTxnRequestTransaction, code int16) verifyResult {
	out := verifyResult{}
	for _, t := range txn.Topics {
		for _, p := range t.Partitions {
			out[topicPartition{t.Topic, p}] = code
		}
	}
	return out
}

func errorForAll(tps []topicPartition, code int16) verifyResult {
	out := verifyResult{}
	for _, tp := range tps {
		out[tp] = code
	}
	return out
}

// transactionVerificationEnabled is transaction.partition.verification.enable
// as it applies now: a dynamic broker config (this broker's, else the
// cluster default; DynamicProducerStateManagerConfig) over the static one.
func (s *Server) transactionVerificationEnabled() bool {
	if v, ok := s.effectiveBrokerConfig("transaction.partition.verification.enable"); ok {
		switch strings.ToLower(v) { // ConfigDef's BOOLEAN
		case "true":
			return true
		case "false":
			return false
		}
	}
	return s.cfg.TransactionPartitionVerification
}

// newTxnVerifier builds the broker's AddPartitionsToTxnManager: one
// client per coordinator node on the inter-broker listener, with its TLS
// and SASL.
func (s *Server) newTxnVerifier() *addPartitionsToTxnManager {
	var mu sync.Mutex
	clients := map[int32]*protocol.Client{}
	request := func(ctx context.Context, node cachedNode, req kmsg.Request) (kmsg.Response, error) {
		addr := net.JoinHostPort(node.Host, strconv.Itoa(int(node.Port)))
		mu.Lock()
		cl := clients[node.ID]
		if cl == nil || cl.Addr() != addr {
			if cl != nil {
				_ = cl.Close()
			}
			cl = protocol.NewClient(addr, fmt.Sprintf("broker-%d-txn-verification", s.cfg.BrokerID), 5*time.Second)
			s.secureClient(cl, s.cfg.interBrokerListener())
			clients[node.ID] = cl
		}
		mu.Unlock()
		return cl.Request(ctx, req)
	}
	// AddPartitionsToTxnManager.getTransactionCoordinator: the live leader
	// of the transactional id's __transaction_state partition, on the
	// inter-broker listener (txn_topic.go).
	coordinator := func(txnID string) (cachedNode, bool) {
		return s.transactionCoordinatorFor(txnID, s.cfg.interBrokerListener())
	}
	m := newAddPartitionsToTxnManager(coordinator, request, txnRequestTimeout, s.logger)
	m.closeClients = func() {
		mu.Lock()
		defer mu.Unlock()
		for id, cl := range clients {
			_ = cl.Close()
			delete(clients, id)
		}
	}
	return m
}

// verificationError translates a coordinator's verification error for the
// produce response (ReplicaManager.postVerificationCallback): a retriable
// coordinator error becomes NOT_ENOUGH_REPLICAS, which every client retries
// without refreshing its metadata.
func verificationError(code int16) (error, *string) {
	ke := kerr.ErrorForCode(code)
	var msg string
	switch code {
	case kerr.InvalidTxnState.Code:
		msg = "Partition was not added to the transaction"
	case kerr.ConcurrentTransactions.Code, kerr.NetworkException.Code, kerr.CoordinatorLoadInProgress.Code,
		kerr.CoordinatorNotAvailable.Code, kerr.NotCoordinator.Code:
		var name string
		if k, ok := ke.(*kerr.Error); ok {
			name = k.Message
		}
		msg = "Unable to verify the partition has been added to the transaction. Underlying error: " + name
		ke = kerr.NotEnoughReplicas
	default:
		return ke, nil
	}
	return ke, &msg
}
