// ControlledShutdown (key 7) v0-3: a stopping broker asks the controller
// to move its leaderships away first. The active controller serves it and
// answers the partitions still led by that broker; any other broker
// answers NOT_CONTROLLER. This file also holds the sending side
// (KafkaServer.controlledShutdown): retries with backoff until nothing is
// left, giving up early when no other live in-sync replica can take over.
// Version steps: v0 has a header without client id, v2 broker_epoch
// (KIP-380, stale epochs are STALE_BROKER_EPOCH), v3 flexible (KIP-482).
// Deviation: the early give-up when no takeover is possible is ours; Kafka
// spends all controlled.shutdown.max.retries.

package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleControlledShutdown serves ControlledShutdown on the controller; any
// other broker answers NOT_CONTROLLER.
func (s *Server) handleControlledShutdown(ctx context.Context, req *kmsg.ControlledShutdownRequest) kmsg.Response {
	if c := s.activeController(); c != nil {
		return c.ControlledShutdown(ctx, req)
	}
	resp := req.ResponseKind().(*kmsg.ControlledShutdownResponse)
	resp.ErrorCode = kerr.NotController.Code
	return resp
}

// ControlledShutdown asks the controller to move this broker's leaderships
// away before it stops (Kafka's KafkaServer.controlledShutdown): up to
// maxRetries attempts, backoff apart, until the controller answers with no
// partition left. It returns an error when the attempts ran out.
func (s *Server) ControlledShutdown(ctx context.Context, maxRetries int, backoff time.Duration) error {
	var last error
	for attempt := 1; attempt <= maxRetries; attempt++ {
		remaining, err := s.controlledShutdownOnce(ctx)
		if err == nil && len(remaining) == 0 {
			s.logger.Info("controlled shutdown succeeded", "attempt", attempt)
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%d partitions still led by this broker", len(remaining))
		}
		last = err
		s.logger.Warn("controlled shutdown attempt failed", "attempt", attempt, "err", err)
		if attempt == maxRetries {
			break
		}
		if err != nil && len(remaining) > 0 && !s.anyTakeoverPossible(remaining) {
			// No other live in-sync replica can lead any of them: retrying
			// cannot succeed (the last broker of a cluster, typically).
			return fmt.Errorf("controlled shutdown: no other in-sync replica is live: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("controlled shutdown: %w", ctx.Err())
		case <-time.After(backoff):
		}
	}
	return fmt.Errorf("controlled shutdown failed after %d attempts: %w", maxRetries, last)
}

// anyTakeoverPossible reports whether, per the metadata cache, some
// remaining partition has another live broker in its ISR.
func (s *Server) anyTakeoverPossible(remaining []kmsg.ControlledShutdownResponsePartitionsRemaining) bool {
	for _, r := range remaining {
		t, ok := s.cache.topic(r.Topic)
		if !ok {
			return true
		}
		p, ok := t.Partitions[r.Partition]
		if !ok {
			return true
		}
		for _, id := range p.ISR {
			if _, live := s.cache.broker(id); live && id != s.cfg.BrokerID {
				return true
			}
		}
	}
	return false
}

func (s *Server) controlledShutdownOnce(ctx context.Context) ([]kmsg.ControlledShutdownResponsePartitionsRemaining, error) {
	req := kmsg.NewPtrControlledShutdownRequest()
	req.Version = 3
	req.BrokerID = s.cfg.BrokerID
	req.BrokerEpoch = s.brokerEpoch.Load()
	var resp *kmsg.ControlledShutdownResponse
	if c := s.activeController(); c != nil {
		resp = c.ControlledShutdown(ctx, req)
	} else {
		client, err := s.forwarder.clientFor()
		if err != nil {
			return nil, err
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		r, err := client.Request(rctx, req)
		if err != nil {
			return nil, fmt.Errorf("sending ControlledShutdown to the controller: %w", err)
		}
		resp = r.(*kmsg.ControlledShutdownResponse)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return nil, fmt.Errorf("controller refused ControlledShutdown: %w", err)
	}
	return resp.PartitionsRemaining, nil
}
