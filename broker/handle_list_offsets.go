package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListOffsets special timestamps.
const (
	latestTimestamp   = -1
	earliestTimestamp = -2
)

// handleListOffsets answers earliest (log start offset), latest (the high
// watermark, what a consumer may read up to) and by-timestamp lookups: the
// first offset whose timestamp is at or after the one asked.
func (s *Server) handleListOffsets(req *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range req.Topics {
		respTopic := kmsg.ListOffsetsResponseTopic{Topic: rt.Topic}
		for _, rp := range rt.Partitions {
			out := kmsg.NewListOffsetsResponseTopicPartition()
			out.Partition = rp.Partition
			offset, ts, err := s.listOffset(rt.Topic, rp, req.ReplicaID >= 0)
			if err != nil {
				out.ErrorCode = errorCode(err)
			} else {
				out.Offset, out.Timestamp = offset, ts
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	return resp
}

// listOffset answers one partition; a follower (fromReplica) gets the LEO
// as latest, a client the high watermark.
func (s *Server) listOffset(topic string, rp kmsg.ListOffsetsRequestTopicPartition, fromReplica bool) (offset, timestamp int64, err error) {
	p, err := s.replicas.leaderPartition(topic, rp.Partition)
	if err != nil {
		return 0, 0, err
	}
	if err := checkLeaderEpoch(p, rp.CurrentLeaderEpoch); err != nil {
		return 0, 0, err
	}
	switch rp.Timestamp {
	case latestTimestamp:
		if fromReplica {
			return p.log.LogEndOffset(), -1, nil
		}
		return p.highWatermark(), -1, nil
	case earliestTimestamp:
		return p.log.LogStartOffset(), -1, nil
	}
	if rp.Timestamp < 0 {
		return 0, 0, kerr.UnsupportedVersion
	}
	off, ts, found, err := p.log.OffsetForTimestamp(rp.Timestamp)
	if err != nil {
		return 0, 0, err
	}
	if !found || off >= p.highWatermark() {
		return -1, -1, nil
	}
	return off, ts, nil
}
