package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// brokerSender delivers the controller's requests to one broker in order
// (Kafka's RequestSendThread): LeaderAndIsr, UpdateMetadata and StopReplica
// queued for a broker reach it in the order they were queued, retried until
// they succeed or the broker leaves the cluster.
type brokerSender struct {
	id     int32
	client *protocol.Client
	queue  chan sendItem
	ctx    context.Context
	cancel context.CancelFunc
	logger *slog.Logger

	mu      sync.Mutex // orders send against stop
	stopped bool
}

type sendItem struct {
	req  kmsg.Request
	done chan error // buffered; may be nil
}

func newBrokerSender(b zkmeta.BrokerInfo, controllerID int32, timeout time.Duration, logger *slog.Logger) *brokerSender {
	ctx, cancel := context.WithCancel(context.Background())
	addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	s := &brokerSender{
		id:     b.ID,
		client: protocol.NewClient(addr, fmt.Sprintf("controller-%d", controllerID), timeout),
		queue:  make(chan sendItem, 4096),
		ctx:    ctx,
		cancel: cancel,
		logger: logger.With("target_broker", b.ID),
	}
	go s.run(timeout)
	return s
}

func (s *brokerSender) run(timeout time.Duration) {
	for {
		select {
		case <-s.ctx.Done():
			return
		case item := <-s.queue:
			err := s.deliver(item.req, timeout)
			if item.done != nil {
				item.done <- err
			}
		}
	}
}

// deliver sends one request, retrying with backoff while the sender lives.
func (s *brokerSender) deliver(req kmsg.Request, timeout time.Duration) error {
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(s.ctx, timeout)
		resp, err := s.client.Request(ctx, req)
		cancel()
		if err == nil {
			if code := topLevelError(resp); code != 0 {
				s.logger.Warn("broker refused controller request", "api", kmsg.NameForKey(req.Key()), "error_code", code)
			}
			return nil
		}
		if s.ctx.Err() != nil {
			return fmt.Errorf("sender to broker %d stopped: %w", s.id, err)
		}
		s.logger.Warn("controller request failed; retrying", "api", kmsg.NameForKey(req.Key()), "err", err)
		if !sleepCtx(s.ctx, backoff) {
			return fmt.Errorf("sender to broker %d stopped: %w", s.id, err)
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// send queues a request; the returned channel yields its outcome. Once the
// sender is stopped every request gets an error at once, so nobody waits
// on a broker that left the cluster.
func (s *brokerSender) send(req kmsg.Request) <-chan error {
	done := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		done <- fmt.Errorf("sender to broker %d stopped", s.id)
		return done
	}
	select {
	case s.queue <- sendItem{req: req, done: done}:
	case <-s.ctx.Done():
		done <- fmt.Errorf("sender to broker %d stopped", s.id)
	}
	return done
}

// stop ends delivery and answers every request still queued with an error.
func (s *brokerSender) stop() {
	s.cancel() // releases a send blocked on a full queue
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.client.Close()
	for {
		select {
		case item := <-s.queue:
			if item.done != nil {
				item.done <- fmt.Errorf("sender to broker %d stopped", s.id)
			}
		default:
			return
		}
	}
}

func topLevelError(resp kmsg.Response) int16 {
	switch r := resp.(type) {
	case *kmsg.LeaderAndISRResponse:
		return r.ErrorCode
	case *kmsg.UpdateMetadataResponse:
		return r.ErrorCode
	case *kmsg.StopReplicaResponse:
		return r.ErrorCode
	}
	return 0
}
