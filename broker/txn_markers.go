package broker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/protocol"
)

// txnMarkerSender is txn.MarkerSender, Kafka's TransactionMarkerChannelManager
// with TransactionMarkerRequestCompletionHandler: it delivers the commit or
// abort markers of completing transactions to the leaders of their
// partitions in WriteTxnMarkers requests on the inter-broker listener.
//
// Each destination broker has a queue and one goroutine with at most one
// request in flight; a request carries every marker queued for the broker
// (many transactions batched). Partitions whose leader is unknown wait in
// an unknown-broker queue that is routed again every retry backoff.
// Markers are retried without limit through leader changes, disconnections
// and retriable errors, until every partition has its marker (then the
// transaction's done runs), the coordinator resigns the transaction's
// __transaction_state partition (RemoveForTxnTopicPartition), or a newer
// epoch or coordinator fenced it (INVALID_PRODUCER_EPOCH,
// TRANSACTION_COORDINATOR_FENCED: dropped without done, the newer owner
// completes it).
//
// Deviations from Kafka 3.9: an error the completion handler does not
// expect (CORRUPT_MESSAGE, MESSAGE_TOO_LARGE, ... : Kafka throws
// IllegalStateException) is logged and the transaction given up like a
// fenced one, never a crash; retries wait txnMarkerBackoff (Kafka resends
// on its send thread's next round); the WriteTxnMarkers version comes
// from the destination's ApiVersions, not inter.broker.protocol.version.
type txnMarkerSender struct {
	logger  *slog.Logger
	backoff time.Duration // pause before a destination retries; the unknown queue's routing period
	timeout time.Duration // one WriteTxnMarkers request (request.timeout.ms)
	// route finds a partition's leader: its broker id and address on the
	// inter-broker listener; exists is false for a partition the metadata
	// knows to be gone (its topic deleted); id -1 for an unknown leader.
	route func(tp txn.TopicPartition) (id int32, addr string, exists bool)
	// dial builds the client of a destination.
	dial func(id int32, addr string) markerClient

	mu           sync.Mutex
	closed       bool
	pending      map[string]*pendingMarkers // by transactional id (transactionsWithPendingMarkers)
	dests        map[int32]*markerDest
	unknown      []markerEntry // partitions without a known leader
	unknownTimer *time.Timer
	wg           sync.WaitGroup
}

// markerClient is the part of protocol.Client the sender uses.
type markerClient interface {
	Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	Close() error
}

// pendingMarkers is one transaction whose markers are being written: the
// partitions still without their marker (PendingCompleteTxn).
type pendingMarkers struct {
	req       txn.MarkerRequest
	remaining map[txn.TopicPartition]struct{}
	done      func()
}

// markerEntry is some partitions of one transaction queued for one
// destination (TxnIdAndMarkerEntry).
type markerEntry struct {
	txn        *pendingMarkers
	partitions []txn.TopicPartition
}

// markerDest is one destination broker: its queue and sending goroutine.
type markerDest struct {
	id       int32
	addr     string
	client   markerClient
	version  int16 // WriteTxnMarkers version the broker serves; -1: not asked yet
	failures int   // requests failed in a row (the sending goroutine's)
	queue    []markerEntry
	wake     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
}

// txnMarkerBackoff paces retries: Kafka retries in its send loop, bounded
// by the reconnect backoff and the metadata propagation; a fixed pause
// keeps a broker that refuses connections from being hammered.
const txnMarkerBackoff = 100 * time.Millisecond

func newTxnMarkerSender(s *Server) *txnMarkerSender {
	m := newMarkerSender(s.logger.With("component", "txn-marker-sender"), txnMarkerBackoff, txnRequestTimeout,
		s.markerRoute, func(id int32, addr string) markerClient {
			c := protocol.NewClient(addr, fmt.Sprintf("broker-%d-txn-marker-sender", s.cfg.BrokerID), 5*time.Second)
			s.secureClient(c, s.cfg.interBrokerListener()) // TLS and SASL of the inter-broker listener
			return c
		})
	return m
}

func newMarkerSender(logger *slog.Logger, backoff, timeout time.Duration,
	route func(txn.TopicPartition) (int32, string, bool), dial func(int32, string) markerClient) *txnMarkerSender {
	return &txnMarkerSender{
		logger:  logger,
		backoff: backoff,
		timeout: timeout,
		route:   route,
		dial:    dial,
		pending: map[string]*pendingMarkers{},
		dests:   map[int32]*markerDest{},
	}
}

// markerRoute is the partition's leader on the inter-broker listener
// (MetadataCache.getPartitionLeaderEndpoint): a partition the cache does
// not know while it knows __transaction_state (so it has had metadata) is
// gone; a leader that is not alive or lacks the listener is unknown
// (Node.noNode).
func (s *Server) markerRoute(tp txn.TopicPartition) (int32, string, bool) {
	t, ok := s.cache.topic(tp.Topic)
	if !ok {
		if _, known := s.cache.topic(txnTopic); !known {
			return -1, "", true // no metadata yet: wait for it
		}
		return -1, "", false
	}
	p, ok := t.Partitions[tp.Partition]
	if !ok {
		return -1, "", false
	}
	if p.Leader < 0 {
		return -1, "", true
	}
	n, ok := s.cache.aliveNode(p.Leader, s.cfg.interBrokerListener())
	if !ok {
		return -1, "", true
	}
	return n.ID, net.JoinHostPort(n.Host, strconv.Itoa(int(n.Port))), true
}

// Send queues the transaction's markers (addTxnMarkersToSend): it replaces
// any earlier pending markers of the same transactional id, routes each
// partition to its leader, and calls done once every partition has its
// marker; done never runs inside Send.
func (m *txnMarkerSender) Send(req txn.MarkerRequest, done func()) {
	pt := &pendingMarkers{req: req, remaining: make(map[txn.TopicPartition]struct{}, len(req.Partitions)), done: done}
	for _, tp := range req.Partitions {
		pt.remaining[tp] = struct{}{}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.pending[req.TransactionalID] = pt
	m.routeLocked(pt, req.Partitions)
	finish := m.maybeCompleteLocked(pt)
	m.mu.Unlock()
	if finish != nil {
		go finish()
	}
}

// RemoveForTxnTopicPartition drops every pending transaction of the
// __transaction_state partition and its queued markers
// (removeMarkersForTxnTopicPartition): the partition's next coordinator
// redoes them from the log.
func (m *txnMarkerSender) RemoveForTxnTopicPartition(partition int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, pt := range m.pending {
		if pt.req.TxnPartition == partition {
			delete(m.pending, id)
		}
	}
	for _, d := range m.dests {
		d.queue = m.liveEntriesLocked(d.queue)
	}
	m.unknown = m.liveEntriesLocked(m.unknown)
}

// liveEntriesLocked keeps the entries of transactions still pending.
func (m *txnMarkerSender) liveEntriesLocked(es []markerEntry) []markerEntry {
	kept := es[:0]
	for _, e := range es {
		if m.current(e.txn) {
			kept = append(kept, e)
		}
	}
	clear(es[len(kept):])
	return kept
}

// current reports whether pt is still the pending transaction of its id.
func (m *txnMarkerSender) current(pt *pendingMarkers) bool {
	return m.pending[pt.req.TransactionalID] == pt
}

// routeLocked queues parts of pt by leader (addTxnMarkersToBrokerQueue):
// a partition that no longer exists is done for the transaction (its
// marker is skipped), one without a known leader waits in the unknown
// queue.
func (m *txnMarkerSender) routeLocked(pt *pendingMarkers, parts []txn.TopicPartition) {
	byDest := map[int32][]txn.TopicPartition{}
	addrs := map[int32]string{}
	var unknown []txn.TopicPartition
	for _, tp := range parts {
		if _, ok := pt.remaining[tp]; !ok {
			continue
		}
		id, addr, exists := m.route(tp)
		switch {
		case !exists:
			m.logger.Info("partition of a completing transaction no longer exists; its marker is skipped",
				"transactional_id", pt.req.TransactionalID, "topic", tp.Topic, "partition", tp.Partition)
			delete(pt.remaining, tp)
		case id < 0:
			unknown = append(unknown, tp)
		default:
			byDest[id] = append(byDest[id], tp)
			addrs[id] = addr
		}
	}
	for id, ps := range byDest {
		d := m.destLocked(id, addrs[id])
		d.queue = append(d.queue, markerEntry{txn: pt, partitions: ps})
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	if len(unknown) > 0 {
		m.unknown = append(m.unknown, markerEntry{txn: pt, partitions: unknown})
		m.scheduleUnknownLocked()
	}
}

// scheduleUnknownLocked routes the unknown queue again after the backoff
// (generateRequests drains it on every send-loop round).
func (m *txnMarkerSender) scheduleUnknownLocked() {
	if m.unknownTimer != nil || m.closed {
		return
	}
	m.unknownTimer = time.AfterFunc(m.backoff, func() {
		m.mu.Lock()
		m.unknownTimer = nil
		if m.closed {
			m.mu.Unlock()
			return
		}
		entries := m.unknown
		m.unknown = nil
		var finished []func()
		for _, e := range entries {
			if !m.current(e.txn) {
				continue
			}
			m.routeLocked(e.txn, e.partitions)
			if f := m.maybeCompleteLocked(e.txn); f != nil {
				finished = append(finished, f)
			}
		}
		m.mu.Unlock()
		for _, f := range finished {
			f()
		}
	})
}

// maybeCompleteLocked removes pt once no partition waits for its marker
// and returns its done (maybeWriteTxnCompletion); nil otherwise.
func (m *txnMarkerSender) maybeCompleteLocked(pt *pendingMarkers) func() {
	if len(pt.remaining) > 0 || !m.current(pt) {
		return nil
	}
	delete(m.pending, pt.req.TransactionalID)
	if pt.done == nil {
		return func() {}
	}
	return pt.done
}

// destLocked is the destination of broker id at addr, started on first
// use; a broker that moved to another address gets a new client.
func (m *txnMarkerSender) destLocked(id int32, addr string) *markerDest {
	d, ok := m.dests[id]
	if ok && d.addr == addr {
		return d
	}
	if ok {
		d.cancel()
		_ = d.client.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd := &markerDest{id: id, addr: addr, client: m.dial(id, addr), version: -1, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	if ok {
		nd.queue = d.queue // the old address's queue goes to the new one
	}
	m.dests[id] = nd
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.run(nd)
	}()
	return nd
}

// run is one destination's send loop: it drains the queue into one
// request, sends it, and handles the answer, one request at a time.
func (m *txnMarkerSender) run(d *markerDest) {
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-d.wake:
		}
		for {
			batch := m.takeBatch(d)
			if len(batch) == 0 {
				break
			}
			retried := m.deliver(d, batch)
			if retried && !sleepCtx(d.ctx, m.backoff) {
				return
			}
			if d.ctx.Err() != nil {
				return
			}
		}
	}
}

// takeBatch takes the destination's queued entries of pending
// transactions, one entry per transaction (partitions merged). A response
// is keyed by producer id, so a request never carries two markers of one
// producer id: a second one waits for the next request.
func (m *txnMarkerSender) takeBatch(d *markerDest) []markerEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dests[d.id] != d {
		return nil
	}
	var batch []markerEntry
	var rest []markerEntry
	byTxn := map[*pendingMarkers]int{}
	pids := map[int64]*pendingMarkers{}
	for _, e := range d.queue {
		if !m.current(e.txn) {
			continue
		}
		if i, ok := byTxn[e.txn]; ok {
			batch[i].partitions = mergePartitions(batch[i].partitions, e.partitions)
			continue
		}
		if other, ok := pids[e.txn.req.ProducerID]; ok && other != e.txn {
			rest = append(rest, e)
			continue
		}
		byTxn[e.txn] = len(batch)
		pids[e.txn.req.ProducerID] = e.txn
		batch = append(batch, markerEntry{txn: e.txn, partitions: append([]txn.TopicPartition(nil), e.partitions...)})
	}
	d.queue = rest
	if len(rest) > 0 {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
	return batch
}

func mergePartitions(a, b []txn.TopicPartition) []txn.TopicPartition {
	seen := make(map[txn.TopicPartition]struct{}, len(a))
	for _, tp := range a {
		seen[tp] = struct{}{}
	}
	for _, tp := range b {
		if _, ok := seen[tp]; !ok {
			seen[tp] = struct{}{}
			a = append(a, tp)
		}
	}
	return a
}

// writeTxnMarkersVersion is the WriteTxnMarkers version the destination
// serves, asked once with ApiVersions: 1 (flexible, KIP-482) unless the
// broker only has 0. Kafka picks it from the inter-broker protocol
// version (MetadataVersion.writeTxnMarkersRequestVersion); ours and
// Kafka 3.9's brokers all serve 1.
func (m *txnMarkerSender) writeTxnMarkersVersion(d *markerDest) (int16, error) {
	if d.version >= 0 {
		return d.version, nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, m.timeout)
	defer cancel()
	req := kmsg.NewPtrApiVersionsRequest()
	req.Version = 0
	resp, err := d.client.Request(ctx, req)
	if err != nil {
		return 0, err
	}
	v := int16(1)
	for _, k := range resp.(*kmsg.ApiVersionsResponse).ApiKeys {
		if k.ApiKey == int16(kmsg.WriteTxnMarkers) {
			v = min(v, k.MaxVersion)
		}
	}
	d.version = v
	return v, nil
}

// deliver sends one request with the batch's markers and handles the
// answer; it reports whether anything is to be retried (the caller backs
// off before the next request).
func (m *txnMarkerSender) deliver(d *markerDest, batch []markerEntry) bool {
	version, err := m.writeTxnMarkersVersion(d)
	var resp kmsg.Response
	if err == nil {
		req := kmsg.NewPtrWriteTxnMarkersRequest()
		req.Version = version
		for _, e := range batch {
			mk := kmsg.NewWriteTxnMarkersRequestMarker()
			mk.ProducerID, mk.ProducerEpoch, mk.Committed, mk.CoordinatorEpoch =
				e.txn.req.ProducerID, e.txn.req.ProducerEpoch, e.txn.req.Commit, e.txn.req.CoordinatorEpoch
			byTopic := map[string]int{}
			for _, tp := range e.partitions {
				i, ok := byTopic[tp.Topic]
				if !ok {
					i = len(mk.Topics)
					byTopic[tp.Topic] = i
					t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
					t.Topic = tp.Topic
					mk.Topics = append(mk.Topics, t)
				}
				mk.Topics[i].Partitions = append(mk.Topics[i].Partitions, tp.Partition)
			}
			req.Markers = append(req.Markers, mk)
		}
		ctx, cancel := context.WithTimeout(d.ctx, m.timeout)
		resp, err = d.client.Request(ctx, req)
		cancel()
	}
	if err != nil {
		// TransactionMarkerRequestCompletionHandler: a disconnection
		// re-queues every entry of a transaction still pending (the
		// coordinator resigned otherwise), its leaders resolved anew.
		if d.failures++; d.ctx.Err() == nil && (d.failures == 1 || d.failures%100 == 0) {
			m.logger.Warn("sending transaction markers failed; retrying", "broker", d.id, "failures_in_a_row", d.failures, "err", err)
		}
		var finished []func()
		m.mu.Lock()
		for _, e := range batch {
			if m.current(e.txn) && !m.closed {
				m.routeLocked(e.txn, e.partitions)
				// Routing drops the partitions deleted meanwhile.
				if f := m.maybeCompleteLocked(e.txn); f != nil {
					finished = append(finished, f)
				}
			}
		}
		m.mu.Unlock()
		for _, f := range finished {
			f()
		}
		return true
	}
	if d.failures > 0 {
		m.logger.Info("transaction markers reach the broker again", "broker", d.id, "failures", d.failures)
		d.failures = 0
	}
	return m.handleResponse(d, batch, resp.(*kmsg.WriteTxnMarkersResponse))
}

// markerOutcome is what an error code on one partition's marker means
// (TransactionMarkerRequestCompletionHandler.onComplete).
type markerOutcome int

const (
	markerDone       markerOutcome = iota // the partition has its marker
	markerRetry                           // send it again, to the leader as known then
	markerAbandon                         // a newer epoch or coordinator owns the transaction
	markerUnexpected                      // Kafka throws IllegalStateException
)

func markerOutcomeFor(code int16) markerOutcome {
	switch code {
	case 0,
		// The leader's message format has no markers: nothing to write.
		kerr.UnsupportedForMessageFormat.Code, kerr.UnsupportedVersion.Code:
		return markerDone
	case kerr.UnknownTopicOrPartition.Code, kerr.NotLeaderForPartition.Code, kerr.NotEnoughReplicas.Code,
		kerr.NotEnoughReplicasAfterAppend.Code, kerr.RequestTimedOut.Code, kerr.KafkaStorageError.Code:
		return markerRetry
	case kerr.InvalidProducerEpoch.Code, kerr.TransactionCoordinatorFenced.Code:
		return markerAbandon
	}
	return markerUnexpected
}

// handleResponse applies the answer's per-partition errors.
func (m *txnMarkerSender) handleResponse(d *markerDest, batch []markerEntry, resp *kmsg.WriteTxnMarkersResponse) bool {
	errs := map[int64]map[txn.TopicPartition]int16{}
	for _, mk := range resp.Markers {
		byTP := errs[mk.ProducerID]
		if byTP == nil {
			byTP = map[txn.TopicPartition]int16{}
			errs[mk.ProducerID] = byTP
		}
		for _, t := range mk.Topics {
			for _, p := range t.Partitions {
				byTP[txn.TopicPartition{Topic: t.Topic, Partition: p.Partition}] = p.ErrorCode
			}
		}
	}
	retried := false
	var finished []func()
	m.mu.Lock()
	for _, e := range batch {
		pt := e.txn
		if !m.current(pt) || m.closed {
			continue // resigned or replaced meanwhile
		}
		byTP := errs[pt.req.ProducerID]
		var retry []txn.TopicPartition
		abandon := false
		for _, tp := range e.partitions {
			code, ok := byTP[tp]
			if !ok {
				// Kafka: IllegalStateException (no error for the
				// partition). Sending it again is harmless: a marker
				// for a completed transaction is ignored.
				m.logger.Error("WriteTxnMarkers response lacks a partition; retrying it", "broker", d.id,
					"transactional_id", pt.req.TransactionalID, "producer_id", pt.req.ProducerID, "topic", tp.Topic, "partition", tp.Partition)
				retry = append(retry, tp)
				continue
			}
			switch markerOutcomeFor(code) {
			case markerDone:
				delete(pt.remaining, tp)
			case markerRetry:
				retry = append(retry, tp)
			case markerAbandon:
				m.logger.Info("transaction markers refused by a newer producer epoch or coordinator; leaving the transaction to it",
					"transactional_id", pt.req.TransactionalID, "producer_id", pt.req.ProducerID, "topic", tp.Topic,
					"partition", tp.Partition, "err", kerr.ErrorForCode(code))
				abandon = true
			default:
				m.logger.Error("unexpected error writing a transaction marker; giving up on the transaction",
					"transactional_id", pt.req.TransactionalID, "producer_id", pt.req.ProducerID, "topic", tp.Topic,
					"partition", tp.Partition, "err", kerr.ErrorForCode(code))
				abandon = true
			}
		}
		if abandon {
			delete(m.pending, pt.req.TransactionalID)
			continue
		}
		if len(retry) > 0 {
			retried = true
			m.routeLocked(pt, retry)
		}
		if f := m.maybeCompleteLocked(pt); f != nil {
			finished = append(finished, f)
		}
	}
	m.mu.Unlock()
	for _, f := range finished {
		f()
	}
	return retried
}

// Close stops every destination and drops what is pending.
func (m *txnMarkerSender) Close() {
	m.mu.Lock()
	m.closed = true
	if m.unknownTimer != nil {
		m.unknownTimer.Stop()
		m.unknownTimer = nil
	}
	dests := m.dests
	m.dests = map[int32]*markerDest{}
	m.pending = map[string]*pendingMarkers{}
	m.unknown = nil
	m.mu.Unlock()
	for _, d := range dests {
		d.cancel()
		_ = d.client.Close()
	}
	m.wg.Wait()
}
