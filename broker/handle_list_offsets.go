// ListOffsets: API key 2, versions 0-9.
//
// Finds offsets by timestamp. v0 returns the legacy list of segment offsets
// before a time; v1+ (KIP-79) one offset and timestamp per partition. A
// consumer sees offsets below its isolation level's bound (v2, KIP-98),
// other replica ids below the log end. v4 fences on the current leader
// epoch and returns it (KIP-320), v5 returns OFFSET_NOT_AVAILABLE while a
// new leader's HW lags its epoch start (KIP-207), v7 adds -3 max timestamp
// (KIP-734), v8 -4 earliest local (KIP-405), v9 -5 latest tiered (KIP-1005).
//
// Deviations from Kafka 3.9: no tiered storage, so -4 is the log start and
// -5 answers offset -1. The topic DESCRIBE check is aclGate's
// (acl_checks.go).

package broker

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/storage"
)

// ListOffsets special timestamps (ListOffsetsRequest).
const (
	latestTimestamp        = -1
	earliestTimestamp      = -2
	maxTimestamp           = -3 // KIP-734
	earliestLocalTimestamp = -4 // KIP-405: the local log start offset
	latestTieredTimestamp  = -5 // KIP-1005: the highest offset in remote storage
)

// ListOffsets replica ids (ListOffsetsRequest).
const (
	consumerReplicaID  = -1
	debuggingReplicaID = -2 // may read a follower's log
)

// listOffsetsTimestampMinVersion is the first request version allowed
// each special timestamp (KafkaApis.handleListOffsetRequestV1AndAbove's
// timestampMinSupportedVersion); any other negative timestamp, or one
// asked below its version, is UNSUPPORTED_VERSION.
var listOffsetsTimestampMinVersion = map[int64]int16{
	earliestTimestamp:      1,
	latestTimestamp:        1,
	maxTimestamp:           7,
	earliestLocalTimestamp: 8,
	latestTieredTimestamp:  9,
}

// handleListOffsets answers offsets by timestamp: v0 the old list of
// offsets before a time (KafkaApis.handleListOffsetRequestV0), v1+ one
// offset per partition (handleListOffsetRequestV1AndAbove).
func (s *Server) handleListOffsets(req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	// ListOffsetsRequest.duplicatePartitions: a partition asked twice.
	type tp struct {
		topic     string
		partition int32
	}
	seen, dup := map[tp]bool{}, map[tp]bool{}
	for _, rt := range req.Topics {
		for _, rp := range rt.Partitions {
			k := tp{rt.Topic, rp.Partition}
			dup[k], seen[k] = seen[k], true
		}
	}
	nowMs := time.Now().UnixMilli()
	for _, rt := range req.Topics {
		respTopic := kmsg.NewListOffsetsResponseTopic()
		respTopic.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			var out kmsg.ListOffsetsResponseTopicPartition
			switch {
			case req.Version == 0:
				out = s.listOffsetsV0(req.ReplicaID, rt.Topic, rp, nowMs)
			case dup[tp{rt.Topic, rp.Partition}]:
				out = kmsg.NewListOffsetsResponseTopicPartition()
				out.Partition, out.ErrorCode = rp.Partition, kerr.InvalidRequest.Code
			default:
				out = s.listOffset(req.Version, req.ReplicaID, req.IsolationLevel, rt.Topic, rp)
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	return resp
}

// listOffsetsV0 answers one partition of a v0 request: only the latest
// (-1) and earliest (-2) special timestamps; the offsets are
// ReplicaManager.legacyFetchOffsetsForTimestamp's.
func (s *Server) listOffsetsV0(replicaID int32, topic string, rp kmsg.ListOffsetsRequestTopicPartition, nowMs int64) kmsg.ListOffsetsResponseTopicPartition {
	out := kmsg.NewListOffsetsResponseTopicPartition()
	out.Partition = rp.Partition
	out.OldStyleOffsets = []int64{}
	if rp.Timestamp < earliestTimestamp {
		out.ErrorCode = kerr.UnsupportedVersion.Code
		return out
	}
	p, err := s.replicas.localPartition(topic, rp.Partition, -1, replicaID != debuggingReplicaID)
	if err != nil {
		out.ErrorCode = protocol.ErrorCode(err)
		return out
	}
	offsets, err := p.log.LegacyOffsetsBefore(rp.Timestamp, rp.MaxNumOffsets, nowMs)
	if err != nil {
		s.logger.Error("list offsets", "topic", topic, "partition", rp.Partition, "err", err)
		out.ErrorCode = protocol.ErrorCode(err)
		return out
	}
	// Partition.legacyFetchOffsetsForTimestamp: a consumer sees no offset
	// above the HW; the HW replaces those (offsets are in descending order).
	if replicaID == consumerReplicaID {
		hw := p.highWatermark()
		i := 0
		for i < len(offsets) && offsets[i] > hw {
			i++
		}
		if i > 0 {
			offsets = append([]int64{hw}, offsets[i:]...)
		}
	}
	out.OldStyleOffsets = offsets
	return out
}

// listOffset answers one partition of a v1+ request
// (ReplicaManager.fetchOffsetForTimestamp, Partition.fetchOffsetForTimestamp).
// A consumer sees offsets below its isolation level's last fetchable
// offset, any other replica id below the LEO. A partition whose offset
// cannot be found answers offset and timestamp -1 without error.
func (s *Server) listOffset(version int16, replicaID int32, isolation int8, topic string, rp kmsg.ListOffsetsRequestTopicPartition) kmsg.ListOffsetsResponseTopicPartition {
	out := kmsg.NewListOffsetsResponseTopicPartition()
	out.Partition = rp.Partition
	if minVersion, ok := listOffsetsTimestampMinVersion[rp.Timestamp]; rp.Timestamp < 0 && (!ok || version < minVersion) {
		out.ErrorCode = kerr.UnsupportedVersion.Code
		return out
	}
	found, ok, err := s.fetchOffsetForTimestamp(replicaID, isolation, topic, rp)
	switch {
	case errors.Is(err, kerr.OffsetNotAvailable) && version < 5:
		// Only v5+ knows OFFSET_NOT_AVAILABLE.
		out.ErrorCode = kerr.LeaderNotAvailable.Code
	case err != nil:
		out.ErrorCode = protocol.ErrorCode(err)
		if out.ErrorCode == kerr.UnknownServerError.Code {
			s.logger.Error("list offsets", "topic", topic, "partition", rp.Partition, "err", err)
		}
	case ok:
		out.Offset, out.Timestamp = found.Offset, found.Timestamp
		if version >= 4 {
			out.LeaderEpoch = found.LeaderEpoch
		}
	}
	return out
}

// fetchOffsetForTimestamp is Partition.fetchOffsetForTimestamp; ok is
// false when no offset qualifies.
func (s *Server) fetchOffsetForTimestamp(replicaID int32, isolation int8, topic string, rp kmsg.ListOffsetsRequestTopicPartition) (storage.TimestampAndOffset, bool, error) {
	var none storage.TimestampAndOffset
	isClient := replicaID == consumerReplicaID
	// KafkaApis reads a client's isolation level first: IsolationLevel.forId
	// throws for an unknown one (UNKNOWN_SERVER_ERROR).
	if isClient && isolation != 0 && isolation != 1 {
		return none, false, fmt.Errorf("%w: unknown isolation level %d", kerr.UnknownServerError, isolation)
	}
	p, err := s.replicas.localPartition(topic, rp.Partition, rp.CurrentLeaderEpoch, replicaID != debuggingReplicaID)
	if err != nil {
		return none, false, err
	}
	leaderEpoch, epochStart, leading := p.listOffsetsState()
	// Partition.fetchOffsetForTimestamp's lastFetchableOffset: the LSO for
	// read_committed, the HW for read_uncommitted, the LEO for replicas.
	lastFetchable := p.log.LogEndOffset()
	switch {
	case isClient && isolation == 1:
		lastFetchable = p.lastStableOffset()
	case isClient:
		lastFetchable = p.highWatermark()
	}
	// A client asking a new leader whose HW has not yet reached the start
	// of its epoch: OFFSET_NOT_AVAILABLE for latest, and for a lookup
	// that finds nothing below the last fetchable offset.
	var offsetsErr error
	if isClient && leading && epochStart > p.highWatermark() {
		offsetsErr = protocol.NewAPIError(kerr.OffsetNotAvailable, "Failed to fetch offsets for partition %s-%d with leader epoch %d as this partition's high watermark (%d) is lagging behind the start offset from the beginning of this epoch (%d).",
			topic, rp.Partition, leaderEpoch, p.highWatermark(), epochStart)
	}
	var (
		found storage.TimestampAndOffset
		ok    bool
	)
	switch rp.Timestamp {
	case latestTimestamp:
		if offsetsErr != nil {
			return none, false, offsetsErr
		}
		return storage.TimestampAndOffset{Timestamp: -1, Offset: lastFetchable, LeaderEpoch: leaderEpoch}, true, nil
	case earliestTimestamp, earliestLocalTimestamp:
		// Without remote storage the local log start is the log start
		// (UnifiedLog.fetchOffsetByTimestamp); neither is bounded.
		off, epoch := p.log.EarliestOffsetAndEpoch()
		return storage.TimestampAndOffset{Timestamp: -1, Offset: off, LeaderEpoch: epoch}, true, nil
	case latestTieredTimestamp:
		// Remote storage disabled: offset -1, epoch -1.
		found, ok = storage.TimestampAndOffset{Timestamp: -1, Offset: -1, LeaderEpoch: -1}, true
	case maxTimestamp:
		if found, ok, err = p.log.OffsetOfMaxTimestamp(); err != nil {
			return none, false, fmt.Errorf("max timestamp of %s-%d: %w", topic, rp.Partition, err)
		}
	default:
		if found, ok, err = p.log.SearchOffsetByTimestamp(rp.Timestamp); err != nil {
			return none, false, fmt.Errorf("offset for timestamp %d of %s-%d: %w", rp.Timestamp, topic, rp.Partition, err)
		}
	}
	if ok && found.Offset < lastFetchable {
		return found, true, nil
	}
	return none, false, offsetsErr
}

// listOffsetsState is the partition's leader epoch and, if it leads, the
// start offset of its epoch (Partition.leaderEpochStartOffsetOpt, set by
// makeLeader only).
func (p *partition) listOffsetsState() (leaderEpoch int32, epochStart int64, leading bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.leaderEpoch, p.leaderEpochStartOffset, p.leading && !p.stopped
}
