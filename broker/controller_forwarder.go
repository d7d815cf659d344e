package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// controllerForwarder sends requests to whichever broker is the controller,
// over the Kafka protocol (used for auto topic creation on Metadata).
type controllerForwarder struct {
	cache *metadataCache
	self  int32
	// secure sets up a new client for listener (Server.secureClient); nil: plaintext.
	secure func(c *protocol.Client, listener string)
	// listener is the controller's listener (Config.controllerListener).
	listener string

	mu     sync.Mutex
	target int32
	client *protocol.Client
}

// forwarderClientIDSuffix ends the forwarder's client id,
// broker-<id>-forwarder: the controller's side knows forwarded requests by
// it (acl_checks.go forwardedByBroker).
const forwarderClientIDSuffix = "-forwarder"

func newControllerForwarder(cache *metadataCache, self int32, listener string) *controllerForwarder {
	return &controllerForwarder{cache: cache, self: self, listener: listener, target: -1}
}

func (f *controllerForwarder) clientFor() (*protocol.Client, error) {
	id := f.cache.controller()
	// MetadataCacheControllerNodeProvider: the controller's node on
	// control.plane.listener.name, else the inter-broker listener.
	b, ok := f.cache.aliveNode(id, f.listener)
	if !ok {
		return nil, fmt.Errorf("no live controller known on listener %s (controller id %d)", f.listener, id)
	}
	addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client != nil && f.target == id && f.client.Addr() == addr {
		return f.client, nil
	}
	if f.client != nil {
		f.client.Close()
	}
	f.client = protocol.NewClient(addr, fmt.Sprintf("broker-%d%s", f.self, forwarderClientIDSuffix), 5*time.Second)
	if f.secure != nil {
		f.secure(f.client, f.listener) // TLS and SASL (Server.secureClient)
	}
	f.target = id
	return f.client, nil
}

func (f *controllerForwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.client != nil {
		f.client.Close()
		f.client = nil
	}
}

// createTopicsViaController runs CreateTopics on the controller: directly
// when it runs in this process, else over the network.
func (s *Server) createTopicsViaController(ctx context.Context, req *kmsg.CreateTopicsRequest) (*kmsg.CreateTopicsResponse, error) {
	if c := s.activeController(); c != nil {
		return c.CreateTopics(ctx, req), nil
	}
	client, err := s.forwarder.clientFor()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req.Version = 4
	resp, err := client.Request(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("forwarding CreateTopics to the controller: %w", err)
	}
	return resp.(*kmsg.CreateTopicsResponse), nil
}
