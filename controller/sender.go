package controller

import (
	"context"
	"crypto/tls"
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
//
// The queue is unbounded, as ControllerChannelManager's LinkedBlockingQueue:
// queuing never waits, so a broker that hangs while its session lives cannot
// stall the controller's event loop (and every election with it). A growing
// backlog is logged at each doubling.
type brokerSender struct {
	id     int32
	client *protocol.Client
	ctx    context.Context
	cancel context.CancelFunc
	logger *slog.Logger

	mu      sync.Mutex // guards queue, warnAt and stopped
	queue   []sendItem
	warnAt  int           // backlog size that is logged next
	wake    chan struct{} // a request was queued (capacity 1)
	stopped bool
}

// backlogWarn is the first backlog size worth a warning.
const backlogWarn = 1024

type sendItem struct {
	req  kmsg.Request
	done chan error // buffered; may be nil
}

// newBrokerSender connects to b's endpoint on listener (ControllerChannelManager.addNewBroker:
// broker.node(controllerToBrokerListenerName)). A broker without that listener cannot be reached:
// Kafka fails with BrokerEndPointNotAvailableException; the sender logs it and its requests fail.
// tlsCfg is that listener's TLS client config (nil: plaintext), auth its SASL login
// (sasl.mechanism.inter.broker.protocol; nil: none).
func newBrokerSender(b zkmeta.BrokerInfo, listener string, controllerID int32, timeout time.Duration, logger *slog.Logger, tlsCfg *tls.Config, auth protocol.Authenticator) *brokerSender {
	ctx, cancel := context.WithCancel(context.Background())
	ep, ok := b.EndpointFor(listener)
	if !ok {
		logger.Error("broker has no endpoint on the controller's listener; it cannot be sent requests",
			"target_broker", b.ID, "listener", listener, "endpoints", b.Endpoints)
		ep = zkmeta.Endpoint{Host: "", Port: 0}
	}
	addr := net.JoinHostPort(ep.Host, strconv.Itoa(int(ep.Port)))
	s := &brokerSender{
		id:     b.ID,
		client: protocol.NewClient(addr, fmt.Sprintf("controller-%d", controllerID), timeout),
		ctx:    ctx,
		cancel: cancel,
		logger: logger.With("target_broker", b.ID),
		warnAt: backlogWarn,
		wake:   make(chan struct{}, 1),
	}
	s.client.SetTLS(tlsCfg)
	s.client.SetAuthenticator(auth)
	go s.run(timeout)
	return s
}

func (s *brokerSender) run(timeout time.Duration) {
	for {
		item, ok := s.next()
		if !ok {
			select {
			case <-s.ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		err := s.deliver(item.req, timeout)
		if item.done != nil {
			item.done <- err
		}
	}
}

// next takes the oldest queued request.
func (s *brokerSender) next() (sendItem, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 || s.stopped {
		return sendItem{}, false
	}
	item := s.queue[0]
	s.queue[0] = sendItem{}
	s.queue = s.queue[1:]
	if len(s.queue) == 0 {
		s.queue = nil // let a drained backlog's array go
		if s.warnAt > backlogWarn {
			s.logger.Info("controller request backlog drained")
			s.warnAt = backlogWarn
		}
	}
	return item, true
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

// send queues a request without waiting; the returned channel yields its
// outcome. Once the sender is stopped every request gets an error at once,
// so nobody waits on a broker that left the cluster.
func (s *brokerSender) send(req kmsg.Request) <-chan error {
	done := make(chan error, 1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		done <- fmt.Errorf("sender to broker %d stopped", s.id)
		return done
	}
	s.queue = append(s.queue, sendItem{req: req, done: done})
	if n := len(s.queue); n >= s.warnAt {
		s.logger.Warn("controller requests are piling up for a broker that does not answer", "queued", n)
		s.warnAt *= 2
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return done
}

// stop ends delivery and answers every request still queued with an error.
func (s *brokerSender) stop() {
	s.cancel() // ends a delivery in progress
	s.mu.Lock()
	s.stopped = true
	queued := s.queue
	s.queue = nil
	s.mu.Unlock()
	s.client.Close()
	for _, item := range queued {
		if item.done != nil {
			item.done <- fmt.Errorf("sender to broker %d stopped", s.id)
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
