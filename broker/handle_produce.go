package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleProduce appends each partition's record batches to its log. The data
// path: socket -> protocol.ParseRequest -> here -> partition.appendRecords ->
// storage.Log.Append -> the active segment's .log file.
func (s *Server) handleProduce(_ context.Context, req *kmsg.ProduceRequest) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.ProduceResponse)
	validAcks := req.Acks == -1 || req.Acks == 0 || req.Acks == 1
	for _, rt := range req.Topics {
		topic := rt.Topic
		if req.Version >= 13 {
			topic, _ = s.cache.topicName(rt.TopicID)
		}
		respTopic := kmsg.ProduceResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
		for _, rp := range rt.Partitions {
			out := kmsg.NewProduceResponseTopicPartition()
			out.Partition = rp.Partition
			switch {
			case !validAcks:
				out.ErrorCode = kerr.InvalidRequiredAcks.Code
			case req.TransactionID != nil:
				// Transactions are not served yet: nothing advertises them.
				out.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			case topic == "":
				out.ErrorCode = kerr.UnknownTopicID.Code
			default:
				res, err := s.produceToPartition(topic, rp.Partition, rp.Records)
				if err != nil {
					out.ErrorCode = errorCode(err)
					break
				}
				out.BaseOffset = res.baseOffset
				out.LogStartOffset = res.logStartOffset
			}
			respTopic.Partitions = append(respTopic.Partitions, out)
		}
		resp.Topics = append(resp.Topics, respTopic)
	}
	return resp
}

func (s *Server) produceToPartition(topic string, partition int32, records []byte) (appendResult, error) {
	p, err := s.replicas.leaderPartition(topic, partition)
	if err != nil {
		return appendResult{}, err
	}
	res, err := p.appendRecords(records)
	if err != nil {
		var ke *kerr.Error
		if !errors.As(err, &ke) {
			s.logger.Error("append failed", "topic", topic, "partition", partition, "err", err)
		}
		return appendResult{}, err
	}
	return res, nil
}

// acksZeroOutcome: with acks=0 the client gets no response, so, as Kafka
// does, a failed append closes the connection to make the client notice.
func (s *Server) acksZeroOutcome(resp *kmsg.ProduceResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return fmt.Errorf("acks=0 produce to %s-%d failed: %v", t.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	return nil
}

// errorCode maps an error to Kafka's error code; anything unexpected is
// UNKNOWN_SERVER_ERROR.
func errorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return kerr.UnknownServerError.Code
}
