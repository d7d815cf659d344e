package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A proxy listens on a loopback port and forwards every connection to a
// backend address. A filter decides, per connection, whether it may pass:
// the broker proxy learns the connection's source from the client id of
// its first Kafka request; the ZooKeeper proxy has one switch for all.
type proxy struct {
	addr    string
	backend string
	kafka   bool // peek the first request frame for the client id

	mu     sync.Mutex
	ln     net.Listener             // nil while not listening (the backend is down)
	allow  func(source string) bool // nil: everything passes
	conns  map[*proxyConn]struct{}
	closed bool
	wg     sync.WaitGroup
}

type proxyConn struct {
	client, server net.Conn
	source         string // client id; "" until known or when unknown
	known          bool
}

// close closes both sides; the proxy's mu is held (server is set under it).
func (pc *proxyConn) close() {
	pc.client.Close()
	if pc.server != nil {
		pc.server.Close()
	}
}

func newProxy(backend string, kafka bool) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &proxy{addr: ln.Addr().String(), backend: backend, kafka: kafka, conns: map[*proxyConn]struct{}{}, ln: ln}
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// Addr is the proxy's own listening address.
func (p *proxy) Addr() string { return p.addr }

// listen starts accepting again on the same address after stopListening
// (the broker behind it is starting); a no-op while listening.
func (p *proxy) listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("proxy listen again on %s: %w", p.addr, err)
	}
	p.ln = ln
	p.wg.Add(1)
	go p.serve(ln)
	return nil
}

// stopListening closes the listening socket, so that connecting fails with
// "connection refused" as it would with the broker itself down.
func (p *proxy) stopListening() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
}

// setFilter replaces the admission rule and closes every open connection
// that the new rule refuses (connections whose source is not known yet are
// judged when it is).
func (p *proxy) setFilter(allow func(source string) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allow = allow
	for pc := range p.conns {
		if allow != nil && (pc.known || !p.kafka) && !allow(pc.source) {
			delete(p.conns, pc)
			pc.close()
		}
	}
}

func (p *proxy) admits(source string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.allow == nil || p.allow(source)
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	for pc := range p.conns {
		pc.close()
	}
	p.conns = map[*proxyConn]struct{}{}
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		pc := &proxyConn{client: c}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(pc)
			p.mu.Lock()
			delete(p.conns, pc)
			pc.close()
			p.mu.Unlock()
		}()
	}
}

func (p *proxy) handle(pc *proxyConn) {
	var first []byte // bytes held back until the source is known
	if p.kafka {
		src, held, ok := peekClientID(pc.client)
		if !ok {
			return
		}
		first = held
		p.mu.Lock()
		pc.source, pc.known = src, true
		refused := p.allow != nil && !p.allow(src)
		_, open := p.conns[pc]
		p.mu.Unlock()
		if refused || !open {
			return
		}
	} else if !p.admits("") {
		return
	}
	server, err := net.DialTimeout("tcp", p.backend, 5*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	_, open := p.conns[pc]
	pc.server = server
	p.mu.Unlock()
	if !open {
		server.Close()
		return
	}
	if len(first) > 0 {
		if _, err := server.Write(first); err != nil {
			return
		}
	}
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(server, pc.client)
		if tc, ok := server.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(pc.client, server)
		if tc, ok := pc.client.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
	<-done
}

// peekClientID reads the start of the first request frame (int32 size,
// int16 api key, int16 version, int32 correlation id, int16 client id
// length and the client id) and returns the client id with the bytes read.
// A frame that cannot hold such a header yields source "" with whatever was
// read, so the broker sees (and rejects) the malformed frame itself. ok is
// false when the client went away before anything useful arrived.
func peekClientID(c net.Conn) (source string, held []byte, ok bool) {
	buf := make([]byte, 0, 512)
	need := 14
	chunk := make([]byte, 4096)
	for {
		if len(buf) >= 4 {
			size := int64(int32(binary.BigEndian.Uint32(buf)))
			if size < 10 || size > 100<<20 {
				return "", buf, true
			}
			if len(buf) >= 14 {
				n := int(int16(binary.BigEndian.Uint16(buf[12:])))
				if n < 0 {
					return "", buf, true
				}
				if int64(10+n) > size {
					return "", buf, true
				}
				need = 14 + n
				if len(buf) >= need {
					return string(buf[14:need]), buf, true
				}
			}
		}
		k, err := c.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if err != nil {
			if errors.Is(err, io.EOF) && len(buf) > 0 {
				return "", buf, true
			}
			return "", nil, false
		}
	}
}

// isFetcher reports whether an inter-broker client id is a replica
// fetcher's ("broker-<id>-fetcher-<n>").
func isFetcher(clientID string) bool {
	rest, ok := strings.CutPrefix(clientID, "broker-")
	if !ok {
		return false
	}
	_, rest, _ = strings.Cut(rest, "-")
	return strings.HasPrefix(rest, "fetcher-")
}

// sourceBroker returns the broker id an inter-broker client id names
// ("broker-<id>-...", "controller-<id>"), or -1 for a client.
func sourceBroker(clientID string) int32 {
	var rest string
	switch {
	case strings.HasPrefix(clientID, "broker-"):
		rest = strings.TrimPrefix(clientID, "broker-")
		rest, _, _ = strings.Cut(rest, "-")
	case strings.HasPrefix(clientID, "controller-"):
		rest = strings.TrimPrefix(clientID, "controller-")
	default:
		return -1
	}
	id, err := strconv.ParseInt(rest, 10, 32)
	if err != nil {
		return -1
	}
	return int32(id)
}
