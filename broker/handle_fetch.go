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
// Deviations: fetch sessions are declined (session id 0, every fetch full);
// transactions are not built, so the last stable offset is the HW and no
// aborted transactions are listed.

package broker

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// handleFetch reads each partition from its segment files and answers with
// file ranges that protocol.Response sends by sendfile: the data path is
// segment file -> storage.Log.Read (a FileSlice) -> protocol.EncodeFetchResponse
// -> Response.WriteTo -> socket, with no copy of the records in user space.
// Fetch v0-v3 are the exception: their clients read only message sets, so
// the batches are read into memory and down-converted (convertFetchedData).
//
// Fetch sessions (KIP-227) are declined: the response carries session id 0
// and every fetch is a full one, which Kafka's protocol allows.
func (s *Server) handleFetch(ctx context.Context, hdr protocol.RequestHeader, req *kmsg.FetchRequest) *protocol.Response {
	deadline := time.Now().Add(time.Duration(max(req.MaxWaitMillis, 0)) * time.Millisecond)
	wake := make(chan struct{}, 1)
	var waitingOn []*partition
	defer func() {
		for _, p := range waitingOn {
			p.removeWaiter(wake)
		}
	}()
	replicaID := req.ReplicaID
	if req.Version >= 15 {
		replicaID = req.ReplicaState.ID
	}
	first := true
	for {
		resp, records, total, parts, hasError := s.readFetch(req, replicaID, first)
		first = false
		if total >= int64(req.MinBytes) || hasError || !time.Now().Before(deadline) {
			return s.fetchResponse(hdr, req, replicaID, resp, records)
		}
		// Long poll: wait for an append to one of the partitions, or the deadline.
		if waitingOn == nil {
			for _, p := range parts {
				p.addWaiter(wake)
			}
			waitingOn = parts
			continue // re-read once registered, so no append is missed
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-wake:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		if ctx.Err() != nil {
			return s.fetchResponse(hdr, req, replicaID, resp, records)
		}
	}
}

// readFetch reads every requested partition once, honouring the request's
// and each partition's byte limits. It returns the response, the file
// ranges per partition, the bytes found, the partitions it could wait on and
// whether any partition has an error.
//
// A fetch from a follower (replicaID >= 0) reads up to the leader's LEO and,
// on the request's first read (record), reports the follower's position to
// the partition, which moves the HW and may propose an ISR expansion. A
// consumer reads up to the HW. Either gets a diverging-epoch answer when
// its LastFetchedEpoch does not end where it is fetching (KIP-320).
func (s *Server) readFetch(req *kmsg.FetchRequest, replicaID int32, record bool) (*kmsg.FetchResponse, [][]protocol.FileRange, int64, []*partition, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	records := make([][]protocol.FileRange, len(req.Topics))
	remaining := int64(req.MaxBytes)
	if req.Version < 3 || remaining <= 0 {
		remaining = int64(^uint32(0) >> 1)
	}
	var total int64
	var parts []*partition
	hasError := false
	leaderQuota := s.replicas.fetchers.quotas.leader
	now := time.Now()
	refused := make([][]bool, len(req.Topics)) // answered before the replica manager
	anyRefused := false
	for i, rt := range req.Topics {
		topic := rt.Topic
		known := true
		if req.Version >= 13 {
			topic, known = s.cache.topicName(rt.TopicID)
		}
		respTopic := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
		records[i] = make([]protocol.FileRange, len(rt.Partitions))
		refused[i] = make([]bool, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			out := kmsg.NewFetchResponseTopicPartition()
			out.Partition = rp.Partition
			if !known {
				fetchError(&out, kerr.UnknownTopicID, req.Version)
				hasError = true
				refused[i][j], anyRefused = true, true
				respTopic.Partitions = append(respTopic.Partitions, out)
				continue
			}
			// KafkaApis.handleFetchRequest: a partition the metadata cache
			// does not know is UNKNOWN_TOPIC_OR_PARTITION before the replica
			// manager is asked. FetchParams.fetchOnlyLeader: a follower's
			// fetch, or a consumer's before v11 (no client metadata), needs
			// the leader; a consumer's v11+ fetch may read a follower, up to
			// its high watermark.
			// Deviation: a follower's fetch of a partition this broker
			// already leads is served even before the UpdateMetadata that
			// follows the LeaderAndIsr has arrived. Kafka's followers send
			// OffsetForLeaderEpoch first, which gives it time; ours skip that
			// round on an empty log and would otherwise back off for
			// replica.fetch.backoff.ms, stalling every acks=all produce to a
			// new topic for a second.
			var p *partition
			var err error
			_, hosted := s.replicas.get(topic, rp.Partition)
			if !s.cache.containsPartition(topic, rp.Partition) && !(replicaID >= 0 && hosted) {
				err = kerr.UnknownTopicOrPartition
				refused[i][j], anyRefused = true, true
			} else {
				requireLeader := replicaID >= 0 || req.Version < 11
				p, err = s.replicas.localPartition(topic, rp.Partition, rp.CurrentLeaderEpoch, requireLeader)
			}
			if err != nil {
				fetchError(&out, err, req.Version)
				hasError = true
				respTopic.Partitions = append(respTopic.Partitions, out)
				continue
			}
			parts = append(parts, p)
			if req.Version >= 12 && rp.LastFetchedEpoch >= 0 {
				epoch, end, diverged, err := divergingEpoch(p, rp.LastFetchedEpoch, rp.FetchOffset)
				if err != nil {
					fetchError(&out, err, req.Version)
					hasError = true
					respTopic.Partitions = append(respTopic.Partitions, out)
					continue
				}
				if diverged {
					out.DivergingEpoch.Epoch, out.DivergingEpoch.EndOffset = epoch, end
					out.HighWatermark = p.highWatermark()
					out.LastStableOffset = out.HighWatermark
					out.LogStartOffset = p.log.LogStartOffset()
					hasError = true // answer at once
					respTopic.Partitions = append(respTopic.Partitions, out)
					continue
				}
			}
			leo := p.log.LogEndOffset()
			maxOffset := p.highWatermark()
			if replicaID >= 0 {
				maxOffset = leo
			}
			limit := min(int64(rp.PartitionMaxBytes), remaining)
			// ReplicaManager.shouldLeaderThrottle: a throttled replica out
			// of the ISR gets no records while the leader quota is exceeded.
			throttled := replicaID >= 0 && leaderQuota.isThrottled(topic, rp.Partition) &&
				!p.inISR(replicaID) && leaderQuota.isQuotaExceeded(now)
			// ReplicaManager.readFromLog: at least one whole batch for the
			// first partition with data, except up to v2 whose max bytes
			// are a hard limit (hardMaxBytesLimit).
			slice, err := p.log.Read(rp.FetchOffset, limit, maxOffset, total == 0 && req.Version >= 3)
			if throttled && err == nil {
				slice.Size = 0
			}
			if replicaID >= 0 && record && err == nil {
				_, live := s.cache.broker(replicaID)
				alter, ferr := p.followerFetch(replicaID, rp.FetchOffset, rp.LogStartOffset, leo, time.Now().UnixMilli(), live)
				if ferr != nil {
					fetchError(&out, ferr, req.Version)
					hasError = true
					respTopic.Partitions = append(respTopic.Partitions, out)
					continue
				}
				if alter != nil {
					s.logger.Info("expanding ISR", "topic", topic, "partition", rp.Partition, "new_isr", alter.newISR)
					s.replicas.alter.submit(alter)
				}
			}
			hw := p.highWatermark()
			out.HighWatermark = hw
			out.LastStableOffset = hw
			out.LogStartOffset = p.log.LogStartOffset()
			if err != nil {
				if errors.Is(err, storage.ErrOffsetOutOfRange) {
					fetchError(&out, kerr.OffsetOutOfRange, req.Version)
				} else {
					s.logger.Error("fetch read failed", "topic", topic, "partition", rp.Partition, "err", err)
					fetchError(&out, kerr.KafkaStorageError, req.Version)
				}
				hasError = true
			} else if slice.Size > 0 {
				records[i][j] = protocol.FileRange{File: slice.File, Offset: slice.Pos, Size: slice.Size}
				total += slice.Size
				remaining -= slice.Size
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	if anyRefused {
		records = refusedLast(resp, records, refused)
	}
	if req.Version >= 16 {
		s.addFetchCurrentLeaders(resp)
	}
	return resp, records, total, parts, hasError
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
			p, ok := s.replicas.get(topic, out.Partition)
			if !ok || p.isOffline() {
				continue
			}
			cfg := p.log.Config()
			var rng *protocol.FileRange
			if i < len(records) && j < len(records[i]) {
				rng = &records[i][j]
			}
			refuse := func(err error) {
				index := out.Partition
				*out = kmsg.NewFetchResponseTopicPartition() // FetchResponse.partitionResponse
				out.Partition = index
				fetchError(out, err, req.Version)
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
			switch {
			case errors.Is(err, storage.ErrUnsupportedCompression):
				refuse(kerr.UnsupportedCompressionType)
				continue
			case err != nil:
				s.logger.Error("down-conversion failed", "topic", topic, "partition", out.Partition, "err", err)
				refuse(kerr.UnknownServerError)
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
func refusedLast(resp *kmsg.FetchResponse, records [][]protocol.FileRange, refused [][]bool) [][]protocol.FileRange {
	type entry struct {
		topic int
		part  kmsg.FetchResponseTopicPartition
		rng   protocol.FileRange
	}
	var served, late []entry
	for i, t := range resp.Topics {
		for j, p := range t.Partitions {
			e := entry{i, p, records[i][j]}
			if refused[i][j] {
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
func (s *Server) addFetchCurrentLeaders(resp *kmsg.FetchResponse) {
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
			id, epoch, node := s.currentLeader(topic, rp.Partition)
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

// divergingEpoch is the leader's check of a fetcher's LastFetchedEpoch
// (Partition.readRecords): if the end of that epoch cannot be determined,
// or the fetch offset is below the log start, the fetch is
// OFFSET_OUT_OF_RANGE; if our log's end of that epoch is below the fetch
// offset, or we know only an older epoch, the fetcher's log diverged and
// must truncate to the returned epoch's end offset.
func divergingEpoch(p *partition, lastFetchedEpoch int32, fetchOffset int64) (int32, int64, bool, error) {
	epoch, end := p.log.LeaderEpochs().EndOffsetFor(lastFetchedEpoch, p.log.LogEndOffset())
	if epoch == storage.UndefinedEpoch || end == storage.UndefinedEpochOffset {
		return 0, 0, false, kerr.OffsetOutOfRange
	}
	if fetchOffset < p.log.LogStartOffset() {
		return 0, 0, false, kerr.OffsetOutOfRange
	}
	if epoch < lastFetchedEpoch || end < fetchOffset {
		return epoch, end, true, nil
	}
	return 0, 0, false, nil
}

// checkLeaderEpoch applies KIP-320's fencing: a client that knows an older
// leader epoch is FENCED_LEADER_EPOCH, a newer one UNKNOWN_LEADER_EPOCH.
func checkLeaderEpoch(p *partition, requested int32) error {
	if requested < 0 {
		return nil
	}
	current := p.currentLeaderEpoch()
	switch {
	case requested < current:
		return kerr.FencedLeaderEpoch
	case requested > current:
		return kerr.UnknownLeaderEpoch
	}
	return nil
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

// inISR reports whether replica is in the partition's committed ISR.
func (p *partition) inISR(replica int32) bool {
	isr, _ := p.isrSnapshot()
	return slices.Contains(isr, replica)
}
