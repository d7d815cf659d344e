package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/txn"
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// txnTopic is where the transaction coordinator keeps the state of every
// transactional id (Kafka's Topic.TRANSACTION_STATE_TOPIC_NAME).
const txnTopic = "__transaction_state"

// txnRequestTimeout is Kafka's request.timeout.ms default: the timeout of
// the coordinator's tombstone appends and of the marker requests
// (TransactionStateManager, TransactionMarkerChannelManager).
const txnRequestTimeout = 30 * time.Second

// newTxnCoordinator builds the transaction coordinator over this broker's
// replicas of __transaction_state, with markers to the partition leaders
// and producer ids from /latest_producer_id_block.
func (s *Server) newTxnCoordinator(markers txn.MarkerSender) *txn.Coordinator {
	c := s.cfg
	return txn.NewCoordinator(txn.Config{
		BrokerID:              c.BrokerID,
		NumPartitions:         c.TransactionStateLogNumPartitions,
		MaxTimeout:            c.TransactionMaxTimeout,
		AbortTimedOutInterval: c.TransactionAbortTimedOutInterval,
		RemoveExpiredInterval: c.TransactionRemoveExpiredInterval,
		IDExpiration:          c.TransactionalIDExpiration,
		RequestTimeout:        txnRequestTimeout,
	}, &txnStore{s: s}, markers, func(context.Context) (int64, error) {
		return s.producerIDs.next()
	}, txn.SystemClock(), s.logger)
}

// startTxnCoordinator activates the coordinator with the partition count of
// __transaction_state if the topic exists (KafkaServer reads it from
// ZooKeeper at startup: zkClient.getTopicPartitionCount), else 0:
// transaction.state.log.num.partitions. The count stays fixed while the
// broker runs (TransactionStateManager.transactionTopicPartitionCount).
func (s *Server) startTxnCoordinator() {
	if s.txn == nil {
		return
	}
	partitions := int32(0)
	if s.zk != nil {
		a, _, ok, err := s.zk.TopicAssignment(txnTopic)
		switch {
		case err != nil:
			s.logger.Warn("reading the partition count of __transaction_state failed; using transaction.state.log.num.partitions", "err", err)
		case ok:
			partitions = int32(len(a.Partitions))
		}
	}
	s.txn.Start(partitions)
}

// transactionCoordinatorFor is the broker coordinating txnID: the leader of
// its __transaction_state partition (TransactionStateManager.partitionFor)
// as the metadata cache knows it, with that broker's endpoint on listener
// (the inter-broker listener for KIP-890's verification requests,
// AddPartitionsToTxnManager). ok is false while the topic is missing, the
// partition has no leader, or the leader is not alive on listener.
func (s *Server) transactionCoordinatorFor(txnID, listener string) (node cachedNode, ok bool) {
	if s.txn == nil {
		return cachedNode{}, false
	}
	t, found := s.cache.topic(txnTopic)
	if !found {
		return cachedNode{}, false
	}
	p, found := t.Partitions[s.txn.PartitionFor(txnID)]
	if !found || p.Leader < 0 {
		return cachedNode{}, false
	}
	return s.cache.aliveNode(p.Leader, listener)
}

// txnStore is txn.Store over the replica manager: this broker's leader
// replicas of __transaction_state.
type txnStore struct{ s *Server }

// Append writes one record as the coordinator (TransactionStateManager.
// appendTransactionToLog): magic 2, no compression
// (TransactionLog.EnforcedCompression), create time now, no producer id,
// internal topic allowed, acks=-1 (EnforcedRequiredAcks) waiting up to
// timeout for the HW to cover it. The coordinator epoch is the leader epoch
// the coordinator was elected in: an append after this broker lost or
// regained the leadership meanwhile is NOT_LEADER_OR_FOLLOWER. Errors are
// Kafka's codes (*kerr.Error); the coordinator maps them.
func (st *txnStore) Append(ctx context.Context, partitionID, coordinatorEpoch int32, key, value []byte, timeout time.Duration) error {
	rm := st.s.replicas
	p, err := rm.leaderPartition(txnTopic, partitionID)
	if err != nil {
		return asKerr(err)
	}
	if coordinatorEpoch >= 0 && p.currentLeaderEpoch() != coordinatorEpoch {
		return kerr.NotLeaderForPartition
	}
	rec := storage.Record{Timestamp: rm.nowMs(), Key: key, Value: value, ValueNull: value == nil}
	batch, err := storage.BuildBatch(storage.BatchHeader{
		PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, []storage.Record{rec})
	if err != nil {
		return fmt.Errorf("building a __transaction_state batch: %w", err)
	}
	res, err := p.appendRecordsToLeader(batch, -1, false, rm.nowMs())
	if err != nil {
		return asKerr(err)
	}
	if timeout <= 0 {
		timeout = txnRequestTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := rm.awaitOffsetsReplication(wctx, p, res.lastOffset+1, res.leaderEpoch); err != nil {
		return asKerr(err)
	}
	return nil
}

// asKerr is the Kafka error an append failure answers with
// (protocol.ErrorCode: storage's errors carry their codes).
func asKerr(err error) *kerr.Error {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke
	}
	if ke, ok := kerr.ErrorForCode(protocol.ErrorCode(err)).(*kerr.Error); ok {
		return ke
	}
	return kerr.UnknownServerError
}

// Load calls fn for every record of the partition from its log start to
// its log end offset, in order, while this broker leads it (else an error
// wrapping NOT_LEADER_OR_FOLLOWER)
// (TransactionStateManager.loadTransactionMetadata reads with
// FetchIsolation.LOG_END: on the leader the whole log is the state, what is
// not replicated yet will be). Reads are transaction.state.log.load.buffer.size
// at a time, grown to a whole batch. Control batches are skipped; a
// tombstone reaches fn with a nil value.
func (st *txnStore) Load(ctx context.Context, partitionID int32, fn func(key, value []byte) error) error {
	rm := st.s.replicas
	p, err := rm.leaderPartition(txnTopic, partitionID)
	if err != nil {
		// Not hosted, a follower or offline: this broker does not lead
		// the partition, the load ends (txn.Store).
		return fmt.Errorf("loading %s-%d: %w (%w)", txnTopic, partitionID, kerr.NotLeaderForPartition, err)
	}
	bufSize := int64(st.s.cfg.TransactionStateLogLoadBufferSize)
	if bufSize <= 0 {
		bufSize = 5 << 20
	}
	offset := p.log.LogStartOffset()
	var buf []byte
	retries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cur, ok := rm.get(txnTopic, partitionID); !ok || cur != p || !p.isLeader() {
			return fmt.Errorf("loading %s-%d: %w", txnTopic, partitionID, kerr.NotLeaderForPartition)
		}
		leo := p.log.LogEndOffset()
		if offset >= leo {
			return nil
		}
		slice, err := p.log.Read(offset, bufSize, leo, true)
		if err != nil {
			if errors.Is(err, storage.ErrOffsetOutOfRange) && offset < p.log.LogStartOffset() {
				offset = p.log.LogStartOffset() // retention or the cleaner moved the start meanwhile
				continue
			}
			return fmt.Errorf("reading %s-%d at %d: %w", txnTopic, partitionID, offset, err)
		}
		if slice.Size == 0 {
			return nil
		}
		if int64(cap(buf)) < slice.Size {
			buf = make([]byte, slice.Size)
		}
		data := buf[:slice.Size]
		if _, err := slice.File.ReadAt(data, slice.Pos); err != nil {
			// The cleaner may have replaced the segment under us: read again.
			if retries++; retries <= 3 {
				continue
			}
			return fmt.Errorf("reading %s-%d at %d: %w", txnTopic, partitionID, offset, err)
		}
		retries = 0
		progressed := false
		for len(data) >= storage.BatchHeaderSize {
			h, err := storage.ParseBatchHeader(data)
			if err != nil {
				return fmt.Errorf("reading %s-%d at %d: %w", txnTopic, partitionID, offset, err)
			}
			size := h.Size()
			if size > int64(len(data)) {
				break // partial batch at the end of the read
			}
			if h.NextOffset() > offset {
				if !h.IsControl() {
					if err := loadTxnBatch(h, data[:size], offset, fn); err != nil {
						return err
					}
				}
				offset = h.NextOffset()
				progressed = true
			}
			data = data[size:]
		}
		if !progressed {
			return fmt.Errorf("reading %s-%d at %d: no complete batch within transaction.state.log.load.buffer.size", txnTopic, partitionID, offset)
		}
	}
}

// loadTxnBatch hands the batch's records at or after from to fn.
func loadTxnBatch(h storage.BatchHeader, raw []byte, from int64, fn func(key, value []byte) error) error {
	recs, err := storage.Records(raw)
	if err != nil {
		return fmt.Errorf("decoding the %s batch at offset %d: %w", txnTopic, h.BaseOffset, err)
	}
	for _, r := range recs {
		if r.Offset < from {
			continue
		}
		key, value := r.Key, r.Value
		if r.KeyNull {
			key = nil
		} else if key == nil {
			key = []byte{}
		}
		if r.ValueNull {
			value = nil
		} else if value == nil {
			value = []byte{}
		}
		if err := fn(key, value); err != nil {
			return err
		}
	}
	return nil
}

// txnTopicRequest is the CreateTopics request for __transaction_state:
// transaction.state.log.num.partitions, .replication.factor and the
// coordinator's five topic configs (TransactionStateManager.
// transactionTopicConfigs).
func (s *Server) txnTopicRequest() *kmsg.CreateTopicsRequest {
	return internalTopicRequest(txnTopic, s.cfg.TransactionStateLogNumPartitions, s.cfg.TransactionStateLogReplicationFactor, [][2]string{
		{"unclean.leader.election.enable", "false"},
		{"compression.type", "uncompressed"},
		{"cleanup.policy", "compact"},
		{"min.insync.replicas", strconv.Itoa(int(s.cfg.TransactionStateLogMinISR))},
		{"segment.bytes", strconv.Itoa(int(s.cfg.TransactionStateLogSegmentBytes))},
	})
}

// onTxnPartitionRoleChange tells the transaction coordinator about a
// leadership change of a __transaction_state partition
// (RequestHandlerHelper.onLeadershipChange): the coordinator epoch is the
// partition's leader epoch. The coordinator drops the partition's queued
// markers itself (onElection, onResignation). A stopped or offline
// replica resigns with epoch -1: unconditionally.
func (s *Server) onTxnPartitionRoleChange(partition int32, leader bool, leaderEpoch int32) {
	if s.txn == nil {
		return
	}
	if leader {
		s.txn.Elected(partition, leaderEpoch)
		return
	}
	s.txn.Resigned(partition, leaderEpoch)
}
