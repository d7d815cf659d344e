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
	p, err := st.leader(partitionID)
	if err != nil {
		return 0, nil, err
	}
	now := time.Now().UnixMilli()
	recs := make([]storage.Record, len(records))
	for i, r := range records {
		recs[i] = storage.Record{Offset: int64(i), Timestamp: now, Key: r.Key, Value: r.Value, ValueNull: r.Value == nil}
	}
	batch, err := storage.BuildBatch(storage.BatchHeader{
		PartitionLeaderEpoch: -1, Attributes: int16(st.s.cfg.OffsetsTopicCompressionCodec),
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1,
	}, recs)
	if err != nil {
		return 0, nil, fmt.Errorf("building a __consumer_offsets batch: %w", err)
	}
	acks := int16(1)
	if waitReplication {
		acks = -1
	}
	res, err := p.appendRecordsToLeader(batch, acks, false, st.s.replicas.nowMs())
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
	bufSize := int64(st.s.cfg.OffsetsLoadBufferSize)
	offset := p.log.LogStartOffset()
	var buf []byte
	retries := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if cur, ok := st.s.replicas.get(offsetsTopic, partitionID); !ok || cur != p || !p.isLeader() {
			return fmt.Errorf("loading %s-%d: %w", offsetsTopic, partitionID, group.ErrLeadershipLost)
		}
		leo := p.log.LogEndOffset()
		if offset >= leo {
			return nil
		}
		slice, err := p.log.Read(offset, bufSize, leo, true)
		if err != nil {
			if errors.Is(err, storage.ErrOffsetOutOfRange) && offset < p.log.LogStartOffset() {
				offset = p.log.LogStartOffset() // retention moved the start meanwhile
				continue
			}
			return fmt.Errorf("reading %s-%d at %d: %w", offsetsTopic, partitionID, offset, err)
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
			return fmt.Errorf("reading %s-%d at %d: %w", offsetsTopic, partitionID, offset, err)
		}
		retries = 0
		progressed := false
		for len(data) >= storage.BatchHeaderSize {
			h, err := storage.ParseBatchHeader(data)
			if err != nil {
				return fmt.Errorf("reading %s-%d at %d: %w", offsetsTopic, partitionID, offset, err)
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
			return fmt.Errorf("reading %s-%d at %d: no complete batch within offsets.load.buffer.size", offsetsTopic, partitionID, offset)
		}
	}
}

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
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = 0
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = offsetsTopic
	t.NumPartitions = s.cfg.OffsetsTopicNumPartitions
	t.ReplicationFactor = s.cfg.OffsetsTopicReplicationFactor
	for k, v := range map[string]string{
		"cleanup.policy":   "compact",
		"compression.type": "producer",
		"segment.bytes":    strconv.Itoa(int(s.cfg.OffsetsTopicSegmentBytes)),
	} {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		t.Configs = append(t.Configs, c)
	}
	req.Topics = append(req.Topics, t)
	return req
}

// createOffsetsTopic asks the controller to create __consumer_offsets;
// failures are logged (FindCoordinator answers COORDINATOR_NOT_AVAILABLE
// and the client retries).
func (s *Server) createOffsetsTopic(ctx context.Context) {
	resp, err := s.createTopicsViaController(ctx, s.offsetsTopicRequest())
	if err != nil {
		s.logger.Warn("creating __consumer_offsets failed", "err", err)
		return
	}
	for _, t := range resp.Topics {
		switch {
		// REQUEST_TIMED_OUT is a forwarded request's timeout 0: created
		// (AutoTopicCreationManager.createTopicsInZk).
		case t.ErrorCode == 0 || t.ErrorCode == kerr.RequestTimedOut.Code:
			s.logger.Info("created __consumer_offsets", "partitions", s.cfg.OffsetsTopicNumPartitions,
				"replication_factor", s.cfg.OffsetsTopicReplicationFactor)
		case t.ErrorCode != kerr.TopicAlreadyExists.Code:
			s.logger.Warn("creating __consumer_offsets failed", "err", kerr.ErrorForCode(t.ErrorCode), "message", deref(t.ErrorMessage))
		}
	}
}
