package zkmeta

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// RegisterBroker creates the ephemeral /brokers/ids/<id> (v5 JSON) and returns the broker epoch (the
// znode's czxid). If the node exists and belongs to another session: ErrBrokerIDRegistered. If it is
// ours (a re-registration in the same session) it is replaced.
func (c *Client) RegisterBroker(b BrokerInfo) (epoch int64, err error) {
	if b.Timestamp == 0 {
		b.Timestamp = time.Now().UnixMilli()
	}
	data, err := EncodeBroker(b)
	if err != nil {
		return 0, err
	}
	p := c.abs(BrokerPath(b.ID))
	for attempt := 0; attempt < 3; attempt++ {
		err = c.createRecursive(p, data, Ephemeral)
		if err == nil {
			_, st, err := c.conn.Get(p)
			if err != nil {
				return 0, fmt.Errorf("register broker %d: read back: %w", b.ID, classify(err))
			}
			if st.EphemeralOwner != c.conn.SessionID() {
				return 0, fmt.Errorf("broker id %d is already registered (session %#x): %w", b.ID, st.EphemeralOwner, ErrBrokerIDRegistered)
			}
			return st.Czxid, nil
		}
		if !errors.Is(err, ErrNodeExists) {
			return 0, fmt.Errorf("register broker %d: %w", b.ID, err)
		}
		_, st, gerr := c.conn.Get(p)
		if errors.Is(gerr, ErrNoNode) {
			continue // the old session's node just went away
		}
		if gerr != nil {
			return 0, fmt.Errorf("register broker %d: %w", b.ID, classify(gerr))
		}
		if st.EphemeralOwner != c.conn.SessionID() {
			return 0, fmt.Errorf("broker id %d is already registered (session %#x): %w", b.ID, st.EphemeralOwner, ErrBrokerIDRegistered)
		}
		if derr := c.conn.Delete(p, st.Version); derr != nil && !errors.Is(derr, ErrNoNode) {
			return 0, fmt.Errorf("register broker %d: replace own registration: %w", b.ID, classify(derr))
		}
	}
	return 0, fmt.Errorf("register broker %d: %s keeps changing", b.ID, BrokerPath(b.ID))
}

// DeregisterBroker deletes /brokers/ids/<id> (a missing node is not an error).
func (c *Client) DeregisterBroker(id int32) error {
	if err := c.conn.Delete(c.abs(BrokerPath(id)), -1); err != nil && !errors.Is(err, ErrNoNode) {
		return fmt.Errorf("deregister broker %d: %w", id, classify(err))
	}
	return nil
}

// Broker reads one registration; ok is false if the broker is not registered.
func (c *Client) Broker(id int32) (BrokerInfo, bool, error) {
	data, st, err := c.conn.Get(c.abs(BrokerPath(id)))
	if errors.Is(err, ErrNoNode) {
		return BrokerInfo{}, false, nil
	}
	if err != nil {
		return BrokerInfo{}, false, fmt.Errorf("get broker %d: %w", id, classify(err))
	}
	b, err := DecodeBroker(id, data)
	if err != nil {
		return BrokerInfo{}, false, fmt.Errorf("%s: %w", BrokerPath(id), err)
	}
	b.Epoch = st.Czxid
	return b, true, nil
}

// Brokers reads every registration, sorted by id (brokers vanishing meanwhile are skipped).
func (c *Client) Brokers() ([]BrokerInfo, error) {
	ids, err := c.BrokerIDs()
	if err != nil {
		return nil, err
	}
	out := make([]BrokerInfo, 0, len(ids))
	for _, id := range ids {
		b, ok, err := c.Broker(id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, b)
		}
	}
	return out, nil
}

// BrokerIDs lists registered broker ids, sorted.
func (c *Client) BrokerIDs() ([]int32, error) {
	names, err := c.Children(BrokerIDsPath)
	if err != nil {
		return nil, err
	}
	return parseIDs(names), nil
}

// WatchBrokerIDs lists registered ids and sets a children watch on /brokers/ids.
func (c *Client) WatchBrokerIDs() ([]int32, <-chan Event, error) {
	names, w, err := c.childrenW(BrokerIDsPath)
	if err != nil {
		return nil, nil, err
	}
	return parseIDs(names), w, nil
}

// WatchBroker reads a registration and sets an exists watch on it (fires on create, delete, change).
func (c *Client) WatchBroker(id int32) (BrokerInfo, bool, <-chan Event, error) {
	ok, _, w, err := c.conn.ExistsW(c.abs(BrokerPath(id)))
	if err != nil {
		return BrokerInfo{}, false, nil, fmt.Errorf("watch broker %d: %w", id, classify(err))
	}
	w2 := c.relay(w)
	if !ok {
		return BrokerInfo{}, false, w2, nil
	}
	b, ok, err := c.Broker(id)
	return b, ok, w2, err
}

// NextBrokerSequenceID bumps /brokers/seqid and returns its new version; Kafka's generated broker id is
// that plus reserved.broker.max.id.
func (c *Client) NextBrokerSequenceID() (int32, error) {
	st, err := c.conn.Set(c.abs(BrokerSeqIDPath), nil, -1)
	if errors.Is(err, ErrNoNode) {
		if cerr := c.createRecursive(c.abs(BrokerSeqIDPath), nil, Persistent); cerr != nil && !errors.Is(cerr, ErrNodeExists) {
			return 0, fmt.Errorf("broker sequence id: %w", cerr)
		}
		st, err = c.conn.Set(c.abs(BrokerSeqIDPath), nil, -1)
	}
	if err != nil {
		return 0, fmt.Errorf("broker sequence id: %w", classify(err))
	}
	return st.Version, nil
}

func parseIDs(names []string) []int32 {
	ids := make([]int32, 0, len(names))
	for _, n := range names {
		if v, err := strconv.ParseInt(n, 10, 32); err == nil {
			ids = append(ids, int32(v))
		}
	}
	slices.Sort(ids)
	return ids
}

// ListenerEndpoint is one endpoint of a registration with its security protocol's name.
type ListenerEndpoint struct {
	Endpoint
	SecurityProtocol string // "PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"
}

// ListenerEndpoints parses every endpoint of the registration, in registered order, with its
// protocol from listener_security_protocol_map (Broker.endPoints); unparsable entries are skipped.
func (b BrokerInfo) ListenerEndpoints() []ListenerEndpoint {
	eps := b.Endpoints
	if len(eps) == 0 && b.Host != "" { // as EncodeBroker: a bare host and port is the PLAINTEXT endpoint
		eps = []string{fmt.Sprintf("PLAINTEXT://%s:%d", b.Host, b.Port)}
	}
	out := make([]ListenerEndpoint, 0, len(eps))
	for _, s := range eps {
		ep, err := ParseEndpoint(s)
		if err != nil {
			continue
		}
		out = append(out, ListenerEndpoint{Endpoint: ep, SecurityProtocol: b.protocolOf(ep.Listener)})
	}
	return out
}

// EndpointFor is the endpoint of the named listener (Broker.node(listenerName)); ok is false when the
// broker has no such listener.
func (b BrokerInfo) EndpointFor(listener string) (Endpoint, bool) {
	for _, ep := range b.ListenerEndpoints() {
		if ep.Listener == listener {
			return ep.Endpoint, true
		}
	}
	return Endpoint{}, false
}
