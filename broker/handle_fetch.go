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

// handleFetch reads each partition from its segment files and answers with
// file ranges that protocol.Response sends by sendfile: the data path is
// segment file -> storage.Log.Read (a FileSlice) -> protocol.EncodeFetchResponse
// -> Response.WriteTo -> socket, with no copy of the records in user space.
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
	for {
		resp, records, total, parts, hasError := s.readFetch(req)
		if total >= int64(req.MinBytes) || hasError || !time.Now().Before(deadline) {
			return protocol.EncodeFetchResponse(hdr, resp, records)
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
			return protocol.EncodeFetchResponse(hdr, resp, records)
		}
	}
}

// readFetch reads every requested partition once, honouring the request's
// and each partition's byte limits. It returns the response, the file
// ranges per partition, the bytes found, the partitions it could wait on and
// whether any partition has an error.
func (s *Server) readFetch(req *kmsg.FetchRequest) (*kmsg.FetchResponse, [][]protocol.FileRange, int64, []*partition, bool) {
	resp := req.ResponseKind().(*kmsg.FetchResponse)
	records := make([][]protocol.FileRange, len(req.Topics))
	remaining := int64(req.MaxBytes)
	if req.Version < 3 || remaining <= 0 {
		remaining = int64(^uint32(0) >> 1)
	}
	var total int64
	var parts []*partition
	hasError := false
	for i, rt := range req.Topics {
		topic := rt.Topic
		known := true
		if req.Version >= 13 {
			topic, known = s.cache.topicName(rt.TopicID)
		}
		respTopic := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
		records[i] = make([]protocol.FileRange, len(rt.Partitions))
		for j, rp := range rt.Partitions {
			out := kmsg.NewFetchResponseTopicPartition()
			out.Partition = rp.Partition
			if !known {
				out.ErrorCode = kerr.UnknownTopicID.Code
				hasError = true
				respTopic.Partitions = append(respTopic.Partitions, out)
				continue
			}
			p, err := s.replicas.leaderPartition(topic, rp.Partition)
			if err == nil {
				err = checkLeaderEpoch(p, rp.CurrentLeaderEpoch)
			}
			if err != nil {
				out.ErrorCode = errorCode(err)
				hasError = true
				respTopic.Partitions = append(respTopic.Partitions, out)
				continue
			}
			parts = append(parts, p)
			hw := p.highWatermark()
			out.HighWatermark = hw
			out.LastStableOffset = hw
			out.LogStartOffset = p.log.LogStartOffset()
			limit := min(int64(rp.PartitionMaxBytes), remaining)
			slice, err := p.log.Read(rp.FetchOffset, limit, hw, total == 0)
			if err != nil {
				if errors.Is(err, storage.ErrOffsetOutOfRange) {
					out.ErrorCode = kerr.OffsetOutOfRange.Code
				} else {
					s.logger.Error("fetch read failed", "topic", topic, "partition", rp.Partition, "err", err)
					out.ErrorCode = kerr.KafkaStorageError.Code
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
	return resp, records, total, parts, hasError
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
