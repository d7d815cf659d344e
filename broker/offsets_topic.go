package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// offsetsTopic is where the group coordinator keeps group metadata and
// committed offsets.
const offsetsTopic = "__consumer_offsets"

// newGroupCoordinator builds the coordinator over this broker's replicas
// of __consumer_offsets.
func (s *Server) newGroupCoordinator() *group.Coordinator {
	c := s.cfg
	return group.New(group.Config{
		BrokerID:              c.BrokerID,
		NumPartitions:         c.OffsetsTopicNumPartitions,
		MinSessionTimeout:     c.GroupMinSessionTimeout,
		MaxSessionTimeout:     c.GroupMaxSessionTimeout,
		InitialRebalanceDelay: c.GroupInitialRebalanceDelay,
		MaxSize:               c.GroupMaxSize,
		OffsetsRetention:      c.OffsetsRetention,
		RetentionCheck:        c.OffsetsRetentionCheckInterval,
		CommitTimeout:         c.OffsetCommitTimeout,
		MaxMetadataSize:       int(c.OffsetMetadataMaxBytes),
	}, &offsetsStore{s: s}, nil, s.logger)
}

// startGroupCoordinator activates the coordinator with the partition count
// of __consumer_offsets if the topic exists (Kafka reads it from
// ZooKeeper at startup), else offsets.topic.num.partitions.
func (s *Server) startGroupCoordinator() {
	partitions := int32(0)
	if s.zk != nil {
		a, _, ok, err := s.zk.TopicAssignment(offsetsTopic)
		switch {
		case err != nil:
			s.logger.Warn("reading the partition count of __consumer_offsets failed; using offsets.topic.num.partitions", "err", err)
		case ok:
			partitions = int32(len(a.Partitions))
		}
	}
	s.groups.Start(partitions)
}

// onReplicaRoleChange tells the coordinator about leadership changes of
// __consumer_offsets partitions (RequestHandlerHelper.onLeadershipChange);
// a stopped replica resigns.
func (s *Server) onReplicaRoleChange(topic string, partition int32, leader bool, leaderEpoch int32) {
	if topic == txnTopic {
		s.onTxnPartitionRoleChange(partition, leader, leaderEpoch) // txn_topic.go
		return
	}
	if topic != offsetsTopic || s.groups == nil {
		return
	}
	if leader {
		s.groups.Elected(partition, leaderEpoch)
	} else {
		s.groups.Resigned(partition, leaderEpoch)
	}
}

// offsetsStore is group.Store over the replica manager.
type offsetsStore struct{ s *Server }

func (st *offsetsStore) leader(partition int32) (*partition, error) {
	return st.s.replicas.leaderPartition(offsetsTopic, partition)
}

// Append builds one batch (compressed with offsets.topic.compression.codec,
// create-time timestamps) and appends it as the leader; waitReplication
// gives acks=all semantics, otherwise the append is local only (Kafka
// appends tombstones with acks 0).
func (st *offsetsStore) Append(partitionID int32, records []group.Record, waitReplication bool) (int64, func(context.Context) error, error) {
	acks := int16(1)
	if waitReplication {
		acks = -1
	}
	return st.appendBatch(partitionID, storage.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, records, waitReplication,
		func(p *partition, batch []byte) (appendResult, error) {
			return p.appendRecordsToLeader(batch, acks, false, st.s.replicas.nowMs())
		})
}

// batchAttrTransactional is the transactional bit of a batch's attributes.
const batchAttrTransactional = 0x10

// AppendTransactional appends a TxnOffsetCommit's records as one
// transactional batch of the producer, base sequence 0
// (GroupMetadataManager.generateOffsetRecords with isTxnOffsetCommit), and
// waits for acks=all.
// Kafka's origin COORDINATOR checks the producer epoch but neither the
// sequence nor duplicates: every commit of the producer has base sequence
// 0 (see appendAsCoordinator).
func (st *offsetsStore) AppendTransactional(partitionID int32, producer group.TxnProducer, records []group.Record) (int64, func(context.Context) error, error) {
	return st.appendBatch(partitionID, storage.BatchHeader{
		Attributes: batchAttrTransactional, ProducerID: producer.ID, ProducerEpoch: producer.Epoch, BaseSequence: 0,
	}, records, true, func(p *partition, batch []byte) (appendResult, error) {
		return p.appendAsCoordinator(batch, storage.VerificationGuard(producer.VerificationGuard), st.s.replicas.nowMs())
	})
}

// appendBatch builds one batch of records with header h and appends it to
// the partition, which this broker must lead, with appendTo.
func (st *offsetsStore) appendBatch(partitionID int32, h storage.BatchHeader, records []group.Record, waitReplication bool,
	appendTo func(*partition, []byte) (appendResult, error)) (int64, func(context.Context) error, error) {
	p, err := st.leader(partitionID)
	if err != nil {
		return 0, nil, err
	}
	batch, err := buildOffsetsBatch(h, records, st.s.cfg.OffsetsTopicCompressionCodec, time.Now().UnixMilli())
	if err != nil {
		return 0, nil, err
	}
	res, err := appendTo(p, batch)
	if err != nil {
		return 0, nil, err
	}
	if !waitReplication {
		return res.baseOffset, func(context.Context) error { return nil }, nil
	}
	return res.baseOffset, func(ctx context.Context) error {
		return st.s.replicas.awaitOffsetsReplication(ctx, p, res.lastOffset+1, res.leaderEpoch)
	}, nil
}

// buildOffsetsBatch builds one batch of records with header h, codec and
// create time nowMs (GroupMetadataManager: MemoryRecords.builder with
// CREATE_TIME and offsets.topic.compression.codec).
func buildOffsetsBatch(h storage.BatchHeader, records []group.Record, codec int8, nowMs int64) ([]byte, error) {
	recs := make([]storage.Record, len(records))
	for i, r := range records {
		recs[i] = storage.Record{Offset: int64(i), Timestamp: nowMs, Key: r.Key, Value: r.Value, ValueNull: r.Value == nil}
	}
	h.PartitionLeaderEpoch = -1
	h.Attributes |= int16(codec)
	batch, err := storage.BuildBatch(h, recs)
	if err != nil {
		return nil, fmt.Errorf("building a __consumer_offsets batch: %w", err)
	}
	return batch, nil
}

// awaitOffsetsReplication waits until the HW reaches required, as the
// produce purgatory does for acks=all.
func (rm *replicaManager) awaitOffsetsReplication(ctx context.Context, p *partition, required int64, appendEpoch int32) error {
	wake := make(chan struct{}, 1)
	p.addWaiter(wake)
	defer p.removeWaiter(wake)
	tick := time.NewTicker(purgatoryRecheck)
	defer tick.Stop()
	for {
		if done, err := p.enoughReplicasReached(required, appendEpoch, rm.nowMs()); done {
			return err
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-ctx.Done():
			return kerr.RequestTimedOut
		}
	}
}

// Load reads the partition from its log start to its end, one batch at a
// time, while this broker leads it; it ends with group.ErrLeadershipLost
// once this broker does not lead it. Other errors (a read or decoding
// failure) make the coordinator retry the load.
func (st *offsetsStore) Load(ctx context.Context, partitionID int32, fn func(group.Batch) error) error {
	p, err := st.leader(partitionID)
	if err != nil {
		return fmt.Errorf("loading %s-%d: %w: %w", offsetsTopic, partitionID, group.ErrLeadershipLost, err)
	}
	stillLeader := func() error {
		if cur, ok := st.s.replicas.get(offsetsTopic, partitionID); !ok || cur != p || !p.isLeader() {
			return fmt.Errorf("loading %s-%d: %w", offsetsTopic, partitionID, group.ErrLeadershipLost)
		}
		return nil
	}
	return readOffsetsLog(ctx, p.log, fmt.Sprintf("%s-%d", offsetsTopic, partitionID), int64(st.s.cfg.OffsetsLoadBufferSize), stillLeader, fn)
}

// readOffsetsLog reads the log from its start to its end
// (GroupMetadataManager.doLoadGroupsAndOffsets' read loop), at most
// bufSize bytes at a time (more when one batch is larger), handing fn each
// batch in offset order, control batches included; check, called before
// each read, ends the read with its error.
func readOffsetsLog(ctx context.Context, l *storage.Log, name string, bufSize int64, check func() error, fn func(group.Batch) error) error {
	offset := l.LogStartOffset()
	var buf []byte
	retries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := check(); err != nil {
			return err
		}
		leo := l.LogEndOffset()
		if offset >= leo {
			return nil
		}
		slice, err := l.Read(offset, bufSize, leo, true)
		if err != nil {
			if errors.Is(err, storage.ErrOffsetOutOfRange) && offset < l.LogStartOffset() {
				offset = l.LogStartOffset() // retention moved the start meanwhile
				continue
			}
			return fmt.Errorf("reading %s at %d: %w", name, offset, err)
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
			return fmt.Errorf("reading %s at %d: %w", name, offset, err)
		}
		retries = 0
		progressed := false
		for len(data) >= storage.BatchHeaderSize {
			h, err := storage.ParseBatchHeader(data)
			if err != nil {
				return fmt.Errorf("reading %s at %d: %w", name, offset, err)
			}
			size := h.Size()
			if size > int64(len(data)) {
				break // partial batch at the end of the read
			}
			if h.NextOffset() > offset {
				if err := loadBatch(h, data[:size], fn); err != nil {
					return err
				}
				offset = h.NextOffset()
				progressed = true
			}
			data = data[size:]
		}
		if !progressed {
			return fmt.Errorf("reading %s at %d: no complete batch within offsets.load.buffer.size", name, offset)
		}
	}
}

// loadBatch decodes one batch for the coordinator's load: a
// transactional batch carries its producer id (its offset commits stay
// pending until the producer's marker), a control batch its marker record.
func loadBatch(h storage.BatchHeader, raw []byte, fn func(group.Batch) error) error {
	recs, err := storage.Records(raw)
	if err != nil {
		return fmt.Errorf("decoding the batch at offset %d: %w", h.BaseOffset, err)
	}
	b := group.Batch{BaseOffset: h.BaseOffset, ProducerID: h.ProducerID, Transactional: h.IsTransactional(), Control: h.IsControl()}
	for _, r := range recs {
		gr := group.Record{Key: r.Key, Value: r.Value}
		if r.KeyNull {
			gr.Key = nil
		} else if gr.Key == nil {
			gr.Key = []byte{}
		}
		if r.ValueNull {
			gr.Value = nil
		} else if gr.Value == nil {
			gr.Value = []byte{}
		}
		b.Records = append(b.Records, gr)
	}
	return fn(b)
}

// offsetsTopicRequest is the CreateTopics request for __consumer_offsets:
// offsets.topic.num.partitions, offsets.topic.replication.factor and the
// coordinator's topic configs (GroupCoordinator.offsetsTopicConfigs).
func (s *Server) offsetsTopicRequest() *kmsg.CreateTopicsRequest {
	return internalTopicRequest(offsetsTopic, s.cfg.OffsetsTopicNumPartitions, s.cfg.OffsetsTopicReplicationFactor, [][2]string{
		{"cleanup.policy", "compact"},
		{"compression.type", "producer"},
		{"segment.bytes", strconv.Itoa(int(s.cfg.OffsetsTopicSegmentBytes))},
	})
}

// internalTopicRequest is the CreateTopics request the coordinators send
// for their internal topic (AutoTopicCreationManager.creatableTopic).
func internalTopicRequest(name string, partitions int32, rf int16, configs [][2]string) *kmsg.CreateTopicsRequest {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 0
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = name, partitions, rf
	for _, kv := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = kv[0], kmsg.StringPtr(kv[1])
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	return req
}

// createInternalTopic asks the controller to create a coordinator's
// internal topic (AutoTopicCreationManager on FindCoordinator); failures,
// e.g. fewer live brokers than its replication factor, are logged and
// FindCoordinator keeps answering COORDINATOR_NOT_AVAILABLE, so the client
// retries.
func (s *Server) createInternalTopic(ctx context.Context, req *kmsg.CreateTopicsRequest) {
	name := req.Topics[0].Topic
	resp, err := s.createTopicsViaController(ctx, req)
	if err != nil {
		s.logger.Warn("creating "+name+" failed", "err", err)
		return
	}
	for _, t := range resp.Topics {
		switch {
		// REQUEST_TIMED_OUT is a forwarded request's timeout 0: created
		// (AutoTopicCreationManager.createTopicsInZk).
		case t.ErrorCode == 0 || t.ErrorCode == kerr.RequestTimedOut.Code:
			s.logger.Info("created "+name, "partitions", req.Topics[0].NumPartitions,
				"replication_factor", req.Topics[0].ReplicationFactor)
		case t.ErrorCode != kerr.TopicAlreadyExists.Code:
			s.logger.Warn("creating "+name+" failed", "err", kerr.ErrorForCode(t.ErrorCode), "message", deref(t.ErrorMessage))
		}
	}
}

// txnOffsetsVerifier is the KIP-890 part 1 verification of a
// TxnOffsetCommit (GroupCoordinator.handleTxnCommitOffsets calling
// ReplicaManager.maybeStartTransactionVerificationForPartition with
// RecordBatch.NO_SEQUENCE): nil when
// transaction.partition.verification.enable is off. genericError: the
// request (v4+) understands TRANSACTION_ABORTABLE.
func (s *Server) txnOffsetsVerifier(txnID string, producerID int64, producerEpoch int16, genericError bool) func(context.Context, int32) (uint64, *kerr.Error) {
	if !s.transactionVerificationEnabled() || s.txnVerifier == nil || s.replicas == nil {
		return nil
	}
	return func(ctx context.Context, partitionID int32) (uint64, *kerr.Error) {
		p, err := s.replicas.leaderPartition(offsetsTopic, partitionID)
		if err != nil {
			return 0, kafkaErr(protocol.ErrorCode(err))
		}
		return verifyTxnPartition(ctx, s.txnVerifier, p, txnID, producerID, producerEpoch, genericError)
	}
}

// verifyTxnPartition starts the producer's verification on the leader
// partition p (UnifiedLog.maybeStartTransactionVerification): with a
// transaction already ongoing there no guard is needed (0); otherwise the
// transaction coordinator must confirm the partition is in the
// transaction, and the guard is returned for the append. The
// coordinator's error is returned as is (the caller converts it as an
// offset commit error).
func verifyTxnPartition(ctx context.Context, m *addPartitionsToTxnManager, p *partition, txnID string, producerID int64, producerEpoch int16, genericError bool) (uint64, *kerr.Error) {
	guard := p.log.MaybeStartTransactionVerification(producerID, -1, producerEpoch)
	if guard == 0 {
		return 0, nil
	}
	tp := topicPartition{Topic: p.topic, Partition: p.id}
	done := make(chan verifyResult, 1)
	m.verifyTransaction(txnID, producerID, producerEpoch, []topicPartition{tp}, genericError, func(r verifyResult) { done <- r })
	select {
	case r := <-done:
		if code, failed := r[tp]; failed && code != 0 {
			return 0, kafkaErr(code)
		}
		return uint64(guard), nil
	case <-ctx.Done():
		return 0, kerr.RequestTimedOut
	}
}

// kafkaErr is code's *kerr.Error (UNKNOWN_SERVER_ERROR for a code kerr
// does not know).
func kafkaErr(code int16) *kerr.Error {
	if ke, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return ke
	}
	return kerr.UnknownServerError
}
