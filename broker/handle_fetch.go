// Fetch (key 1) v0-17: reads partitions from segment files and sends them
// zero-copy (sendfile); long-polls up to max_wait_ms for min_bytes.
// Followers (replica id >= 0) read to the log end and advance the HW and
// ISR; consumers read to the HW (a follower's HW from v11, KIP-392 rack
// awareness). v0-v3 are down-converted in memory to magic 0/1.
// Version steps: v3 max_bytes (KIP-74), v4 isolation level (KIP-98), v5
// log start offset (KIP-107), v7 sessions (KIP-227), v9 leader epoch
// fencing and v12 diverging epoch (KIP-320), v10 zstd (KIP-110), v11 rack
// (KIP-392), v12 flexible (KIP-482), v13 topic ids (KIP-516), v15 replica
// state (KIP-903), v16 current leaders (KIP-951), v17 directory id (KIP-853).
// From v4 every partition answers its last stable offset; a read_committed
// consumer (isolation_level 1) reads up to it and gets the aborted
// transactions its records overlap (null for read_uncommitted), so it can
// drop their records (KIP-98).
// Deviations: fetch sessions are declined (session id 0, every fetch full).

package broker

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// handleFetch answers with file ranges of the segment files that
// protocol.Response sends by sendfile. The data path: decode -> here (the
// checks KafkaApis makes: topic ids, the metadata cache) ->
// replicaManager.fetchMessages (long poll, readFromLog) ->
// partition.readRecords -> storage.Log.Read (a FileSlice) -> back here:
// protocol.EncodeFetchResponse -> Response.WriteTo -> socket, with no copy
// of the records in user space. Fetch v0-v3 are the exception: their
// clients read only message sets, so the batches are read into memory and
// down-converted (convertFetchedData).
//
// Fetch sessions (KIP-227) are declined: the response carries session id 0
// and every fetch is a full one, which Kafka's protocol allows.
func (s *Server) handleFetch(ctx context.Context, hdr protocol.RequestHeader, req *kmsg.FetchRequest) *protocol.Response {
	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	f := s.newFetchAuthorized(ctx, req, replicaID)
	f.listener = sessionFrom(ctx).listener
	if len(f.parts) > 0 && req.IsolationLevel != 0 && req.IsolationLevel != 1 {
		// FetchIsolation.of -> IsolationLevel.forId throws for an unknown
		// level once there are partitions to read: the request fails
		// UNKNOWN_SERVER_ERROR (FetchRequest.getErrorResponse).
		return s.fetchResponse(hdr, req, replicaID, fetchErrorResponse(req, kerr.UnknownServerError.Code), nil)
	}
	s.replicas.fetchMessages(ctx, f.params, f.parts)
	resp, records := s.fetchResponseData(req, f)
	return s.fetchResponse(hdr, req, f.params.replicaID, resp, records)
}

// fetch is a decoded fetch request: what the replica manager reads, and
// where each partition goes in the response.
type fetch struct {
	params   fetchParams
	listener string // the request's listener: current leaders' endpoints on it (KIP-951)
	// parts are the partitions for the replica manager, in request order.
	parts []partitionFetch
	// refused[i][j] is the error of request topic i's partition j answered
	// before the replica manager, nil for those in parts.
	refused    [][]error
	anyRefused bool
}

// newFetch decodes a fetch request from replicaID (negative: a consumer) and makes the checks KafkaApis makes
// before the replica manager (KafkaApis.handleFetchRequest): a topic id
// unknown to the metadata cache is UNKNOWN_TOPIC_ID, a partition it does
// not know UNKNOWN_TOPIC_OR_PARTITION.
//
// Deviation: a follower's fetch of a partition this broker already leads
// is served even before the UpdateMetadata that follows the LeaderAndIsr
// has arrived. Kafka's followers send OffsetForLeaderEpoch first, which
// gives it time; ours skip that round on an empty log and would otherwise
// back off for replica.fetch.backoff.ms, stalling every acks=all produce to
// a new topic for a second.
func (s *Server) newFetch(req *kmsg.FetchRequest, replicaID int32) *fetch {
	return s.newFetchAuthorized(context.Background(), req, replicaID)
}

// newFetchAuthorized is newFetch with KafkaApis' checks for the request's
// principal: a follower needs CLUSTER_ACTION or every partition is
// TOPIC_AUTHORIZATION_FAILED; a consumer needs READ on each topic (after
// the topic id check, before the metadata cache's).
func (s *Server) newFetchAuthorized(ctx context.Context, req *kmsg.FetchRequest, replicaID int32) *fetch {
	followerDenied := replicaID >= 0 && !s.authorizeCluster(ctx, opClusterAction)
	readable := map[string]bool{}
	maxBytes := int64(req.MaxBytes)
	if req.Version < 3 || maxBytes <= 0 {
		maxBytes = int64(^uint32(0) >> 1)
	}
	f := &fetch{
		params: fetchParams{
			replicaID: replicaID,
			maxWait:   time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond,
			minBytes:  int64(req.MinBytes),
			maxBytes:  maxBytes,
			// FetchParams.fetchOnlyLeader: a follower's fetch, or a
			// consumer's before v11 (no client metadata), needs the leader;
			// a consumer's v11+ fetch may read a follower, up to its HW.
			fetchOnlyLeader:   replicaID >= 0 || req.Version < 11,
			hardMaxBytesLimit: req.Version <= 2,
			// FetchRequest.isolationLevel: READ_UNCOMMITTED before v4.
			readCommitted: req.Version >= 4 && req.IsolationLevel == 1,
		},
		refused: make([][]error, len(req.Topics)),
	}
	n := 0
	for _, rt := range req.Topics {
		n += len(rt.Partitions)
	}
	f.parts = make([]partitionFetch, 0, n)
	for i, rt := range req.Topics {
		topic := rt.Topic
		known := true
		if req.Version >= 13 {
			topic, known = s.cache.topicName(rt.TopicID)
		}
		f.refused[i] = make([]error, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			var err error
			if followerDenied {
				err = kerr.TopicAuthorizationFailed
			} else if !known {
				err = kerr.UnknownTopicID
			} else if !s.fetchReadable(ctx, replicaID, topic, readable) {
				err = kerr.TopicAuthorizationFailed
			} else if _, hosted := s.replicas.get(topic, rp.Partition); !s.cache.containsPartition(topic, rp.Partition) && !(replicaID >= 0 && hosted) {
				err = kerr.UnknownTopicOrPartition
			}
			if err != nil {
				f.refused[i][j], f.anyRefused = err, true
				continue
			}
			lastFetchedEpoch := rp.LastFetchedEpoch
			if req.Version < 12 {
				lastFetchedEpoch = -1
			}
			f.parts = append(f.parts, partitionFetch{topic: topic, partition: rp.Partition, fetchOffset: rp.FetchOffset,
				currentLeaderEpoch: rp.CurrentLeaderEpoch, lastFetchedEpoch: lastFetchedEpoch,
				followerLogStart: rp.LogStartOffset, maxBytes: int64(rp.PartitionMaxBytes)})
		}
	}
	if f.anyRefused {
		// Answered at once, as before the replica manager was asked.
		f.params.maxWait = 0
	}
	return f
}

// fetchResponseData builds the response from the replica manager's
// outcomes and the refused partitions, and the file ranges per response
// partition.
func (s *Server) fetchResponseData(req *kmsg.FetchRequest, f *fetch) (*kmsg.FetchResponse, [][]protocol.FileRange) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	records := make([][]protocol.FileRange, len(req.Topics))
	next := 0
	for i, rt := range req.Topics {
		respTopic := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
		respTopic.Partitions = make([]kmsg.FetchResponseTopicPartition, len(rt.Partitions))
		records[i] = make([]protocol.FileRange, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			out := &respTopic.Partitions[j]
			out.Default()
			out.Partition = rp.Partition
			if err := f.refused[i][j]; err != nil {
				fetchError(out, err, req.Version)
				refusedAbortedTransactions(out)
				continue
			}
			fp := &f.parts[next]
			next++
			if fp.err != nil {
				fetchError(out, fp.err, req.Version)
				continue
			}
			if fp.diverged {
				out.DivergingEpoch.Epoch, out.DivergingEpoch.EndOffset = fp.divergingEpoch, fp.divergingEnd
			}
			out.HighWatermark, out.LastStableOffset, out.LogStartOffset = fp.highWatermark, fp.lastStableOffset, fp.logStartOffset
			if fp.abortedTxns != nil {
				// FetchResponseData.AbortedTransaction per aborted
				// transaction, in the index's order (AbortedTxn.asAbortedTransaction).
				out.AbortedTransactions = make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(fp.abortedTxns))
				for k, a := range fp.abortedTxns {
					out.AbortedTransactions[k].ProducerID, out.AbortedTransactions[k].FirstOffset = a.ProducerID, a.FirstOffset
				}
			}
			records[i][j] = fp.records
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	if f.anyRefused {
		records = refusedLast(resp, records, f.refused)
	}
	if req.Version >= 16 {
		s.addFetchCurrentLeaders(resp, f.listener)
	}
	return resp, records
}

// fetchResponse records the leader quota, converts what the request
// version needs and encodes the response (KafkaApis.handleFetchRequest's
// processResponseCallback: the quota counts the bytes read, before any
// down-conversion).
func (s *Server) fetchResponse(hdr protocol.RequestHeader, req *kmsg.FetchRequest, replicaID int32, resp *kmsg.FetchResponse, records [][]protocol.FileRange) *protocol.Response {
	s.recordLeaderThrottle(replicaID, resp, records)
	if req.Version < 10 {
		s.convertFetchedData(req, replicaID, resp, records)
	}
	return protocol.EncodeFetchResponse(hdr, resp, records)
}

// convertFetchedData is KafkaApis.maybeConvertFetchedData for each
// partition this broker has a log of (ReplicaManager.getLogConfig), in the
// response's order: a topic with compression.type zstd is
// UNSUPPORTED_COMPRESSION_TYPE below v10; below v4 the v2 batches read
// become a message set of magic 0 (v0-v1) or 1 (v2-v3), built in memory
// (no zero-copy), unless message.downconversion.enable is false, which a
// client's fetch (not a follower's) gets UNSUPPORTED_VERSION for.
func (s *Server) convertFetchedData(req *kmsg.FetchRequest, replicaID int32, resp *kmsg.FetchResponse, records [][]protocol.FileRange) {
	type tp struct {
		topic     string
		partition int32
	}
	fetchOffsets := map[tp]int64{}
	if req.Version <= 3 {
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				fetchOffsets[tp{rt.Topic, rp.Partition}] = rp.FetchOffset
			}
		}
	}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		topic := rt.Topic // below v10: by name
		for j := range rt.Partitions {
			out := &rt.Partitions[j]
			cfg, ok := s.replicas.getLogConfig(topic, out.Partition)
			if !ok {
				continue
			}
			var rng *protocol.FileRange
			if i < len(records) && j < len(records[i]) {
				rng = &records[i][j]
			}
			refuse := func(err error) {
				index := out.Partition
				*out = kmsg.NewFetchResponseTopicPartition() // FetchResponse.partitionResponse
				out.Partition = index
				fetchError(out, err, req.Version)
				refusedAbortedTransactions(out)
				if rng != nil {
					*rng = protocol.FileRange{}
				}
			}
			if cfg.CompressionType == "zstd" {
				refuse(kerr.UnsupportedCompressionType)
				continue
			}
			if req.Version > 3 {
				continue
			}
			if replicaID < 0 && cfg.DownConversionDisabled {
				refuse(kerr.UnsupportedVersion)
				continue
			}
			magic := int8(1)
			if req.Version <= 1 {
				magic = 0
			}
			var src []byte
			if rng != nil && rng.File != nil && rng.Size > 0 {
				src = make([]byte, rng.Size)
				if _, err := rng.File.ReadAt(src, rng.Offset); err != nil {
					s.logger.Error("fetch read for down-conversion failed", "topic", topic, "partition", out.Partition, "err", err)
					refuse(kerr.KafkaStorageError)
					continue
				}
			}
			conv, err := storage.DownConvert(src, magic, fetchOffsets[tp{topic, out.Partition}])
			if err != nil {
				// A zstd batch is UNSUPPORTED_COMPRESSION_TYPE; anything
				// else is unexpected.
				if !errors.Is(err, storage.ErrUnsupportedCompression) {
					s.logger.Error("down-conversion failed", "topic", topic, "partition", out.Partition, "err", err)
				}
				refuse(err)
				continue
			}
			if rng != nil {
				*rng = protocol.FileRange{}
			}
			out.RecordBatches = conv.Records
			if conv.ConvertedRecords > 0 {
				s.logger.Debug("down-converted fetched records", "topic", topic, "partition", out.Partition, "magic", magic,
					"records", conv.ConvertedRecords, "temporary_bytes", conv.TemporaryBytes, "duration", conv.Duration)
			}
		}
	}
}

// refusedLast orders the response as KafkaApis.handleFetchRequest does:
// the partitions the replica manager answered, in request order, then
// those refused before it (unknown topic ID, unknown to the metadata
// cache); FetchResponse.toMessage groups only consecutive partitions of
// one topic, so a topic may appear twice. It returns the file ranges in
// the new order.
func refusedLast(resp *kmsg.FetchResponse, records [][]protocol.FileRange, refused [][]error) [][]protocol.FileRange {
	type entry struct {
		topic int
		part  kmsg.FetchResponseTopicPartition
		rng   protocol.FileRange
	}
	var served, late []entry
	for i, t := range resp.Topics {
		for j, p := range t.Partitions {
			e := entry{i, p, records[i][j]}
			if refused[i][j] != nil {
				late = append(late, e)
			} else {
				served = append(served, e)
			}
		}
	}
	topics := resp.Topics
	resp.Topics = nil
	var out [][]protocol.FileRange
	for _, e := range append(served, late...) {
		src := topics[e.topic]
		if n := len(resp.Topics); n == 0 || resp.Topics[n-1].Topic != src.Topic || resp.Topics[n-1].TopicID != src.TopicID {
			resp.Topics = append(resp.Topics, kmsg.FetchResponseTopic{Topic: src.Topic, TopicID: src.TopicID})
			out = append(out, nil)
		}
		n := len(resp.Topics) - 1
		resp.Topics[n].Partitions = append(resp.Topics[n].Partitions, e.part)
		out[n] = append(out[n], e.rng)
	}
	return out
}

// addFetchCurrentLeaders names, from v16, the current leader of each
// partition answered NOT_LEADER_OR_FOLLOWER or FENCED_LEADER_EPOCH and the
// endpoints of those leaders (KafkaApis.handleFetchRequest, KIP-951).
func (s *Server) addFetchCurrentLeaders(resp *kmsg.FetchResponse, listener string) {
	if listener == "" {
		listener = sessionFrom(context.Background()).listener
	}
	seen := map[int32]bool{}
	for i := range resp.Topics {
		rt := &resp.Topics[i]
		topic, known := rt.Topic, true
		if topic == "" {
			topic, known = s.cache.topicName(rt.TopicID)
		}
		if !known {
			continue
		}
		for j := range rt.Partitions {
			rp := &rt.Partitions[j]
			if rp.ErrorCode != kerr.NotLeaderForPartition.Code && rp.ErrorCode != kerr.FencedLeaderEpoch.Code {
				continue
			}
			id, epoch, node := s.currentLeader(topic, rp.Partition, listener)
			rp.CurrentLeader.LeaderID, rp.CurrentLeader.LeaderEpoch = id, epoch
			if node != nil && !seen[node.ID] {
				seen[node.ID] = true
				resp.Brokers = append(resp.Brokers, kmsg.FetchResponseBroker{NodeID: node.ID, Host: node.Host, Port: node.Port, Rack: node.Rack})
			}
		}
	}
}

// fetchError answers a partition with err and no offsets, as
// ReplicaManager.createLogReadResult and FetchResponse.partitionResponse
// do (high watermark, last stable offset and log start offset -1). A
// KAFKA_STORAGE_ERROR is NOT_LEADER_OR_FOLLOWER up to v5, whose clients do
// not know it as retriable (KafkaApis.maybeDownConvertStorageError).
func fetchError(out *kmsg.FetchResponseTopicPartition, err error, version int16) {
	code := protocol.ErrorCode(err)
	if code == kerr.KafkaStorageError.Code && version <= 5 {
		code = kerr.NotLeaderForPartition.Code
	}
	out.ErrorCode = code
	out.HighWatermark, out.LastStableOffset, out.LogStartOffset = -1, -1, -1
}

// fetchErrorResponse is FetchRequest.getErrorResponse: the top-level
// error and, before v13, every requested partition answered with it.
func fetchErrorResponse(req *kmsg.FetchRequest, code int16) *kmsg.FetchResponse {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	resp.ErrorCode, resp.SessionID = code, req.SessionID
	if req.Version >= 13 {
		return resp
	}
	for _, rt := range req.Topics {
		out := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
		for _, rp := range rt.Partitions {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = rp.Partition
			fetchError(&p, kerr.ErrorForCode(code), req.Version)
			refusedAbortedTransactions(&p)
			out.Partitions = append(out.Partitions, p)
		}
		resp.Topics = append(resp.Topics, out)
	}
	return resp
}

// refusedAbortedTransactions gives a partition KafkaApis refuses itself
// (FetchResponse.partitionResponse) the field's default, an empty list;
// the replica manager's errors answer null (abortedTransactions.orElse(null)).
func refusedAbortedTransactions(out *kmsg.FetchResponseTopicPartition) {
	out.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
}

// recordLeaderThrottle counts the bytes a follower's fetch response
// carries for throttled partitions against the leader quota (KafkaApis'
// sizeOfThrottledPartitions), in-sync or not.
func (s *Server) recordLeaderThrottle(replicaID int32, resp *kmsg.FetchResponse, records [][]protocol.FileRange) {
	if replicaID < 0 {
		return
	}
	q := s.replicas.fetchers.quotas.leader
	var size int64
	for i, t := range resp.Topics {
		topic := t.Topic
		if t.Topic == "" {
			topic, _ = s.cache.topicName(t.TopicID)
		}
		for j, p := range t.Partitions {
			if i < len(records) && j < len(records[i]) && q.isThrottled(topic, p.Partition) {
				size += records[i][j].Size
			}
		}
	}
	q.record(size, time.Now())
}
