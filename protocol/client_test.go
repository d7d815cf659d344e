package protocol

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// testServer answers ApiVersions requests; its behaviour per request is
// picked by mode: "ok", "hang" (never answers), "close" (drops the conn),
// "badcorr" (wrong correlation id).
type testServer struct {
	ln      net.Listener
	mode    atomic.Value
	accepts atomic.Int32
	clients chan string
	wg      sync.WaitGroup

	closedIdle chan struct{} // "answer-then-close" closed a connection
}

func newTestServer(t *testing.T) *testServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, clients: make(chan string, 100), closedIdle: make(chan struct{}, 10)}
	s.mode.Store("ok")
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepts.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.handle(c)
		}()
	}
}

func (s *testServer) handle(c net.Conn) {
	for {
		frame, err := ReadFrame(c, DefaultMaxRequestSize, nil)
		if err != nil {
			return
		}
		hdr, req, err := ParseRequest(frame)
		if err != nil {
			return
		}
		if hdr.ClientID != nil {
			s.clients <- *hdr.ClientID
		}
		switch s.mode.Load().(string) {
		case "hang":
			_, _ = ReadFrame(c, DefaultMaxRequestSize, nil) // until the client goes away
			return
		case "close":
			return
		case "badcorr":
			hdr.CorrelationID++
		}
		resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
		k := kmsg.NewApiVersionsResponseApiKey()
		k.ApiKey, k.MaxVersion = 18, 4
		resp.ApiKeys = append(resp.ApiKeys, k)
		if _, err := c.Write(EncodeResponse(hdr, resp)); err != nil {
			return
		}
		if s.mode.Load().(string) == "answer-then-close" {
			c.Close()
			s.closedIdle <- struct{}{}
			return
		}
	}
}

func apiVersionsReq(v int16) *kmsg.ApiVersionsRequest {
	r := kmsg.NewPtrApiVersionsRequest()
	r.Version = v
	r.ClientSoftwareName = "kafkazk"
	r.ClientSoftwareVersion = "0.1"
	return r
}

func TestClientRequest(t *testing.T) {
	s := newTestServer(t)
	c := NewClient(s.ln.Addr().String(), "controller-1", time.Second)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, v := range []int16{0, 3, 4, 0} { // header v1 and v2 on one connection
		resp, err := c.Request(ctx, apiVersionsReq(v))
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		av := resp.(*kmsg.ApiVersionsResponse)
		if av.Version != v || len(av.ApiKeys) != 1 || av.ApiKeys[0].MaxVersion != 4 {
			t.Fatalf("v%d: response %+v", v, av)
		}
		if id := <-s.clients; id != "controller-1" {
			t.Fatalf("client id %q", id)
		}
	}
	if n := s.accepts.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestClientErrorsAndReconnect(t *testing.T) {
	s := newTestServer(t)
	c := NewClient(s.ln.Addr().String(), "b1", time.Second)
	defer c.Close()
	bg := context.Background()

	tests := []struct {
		mode    string
		timeout time.Duration
		wantErr error
	}{
		{mode: "close"},
		{mode: "badcorr"},
		{mode: "hang", timeout: 200 * time.Millisecond, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s.mode.Store(tt.mode)
			ctx, cancel := context.WithTimeout(bg, 10*time.Second)
			if tt.timeout > 0 {
				cancel()
				ctx, cancel = context.WithTimeout(bg, tt.timeout)
			}
			defer cancel()
			_, err := c.Request(ctx, apiVersionsReq(3))
			if err == nil {
				t.Fatal("expected an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// The next call reconnects and works.
			s.mode.Store("ok")
			ctx2, cancel2 := context.WithTimeout(bg, 10*time.Second)
			defer cancel2()
			if _, err := c.Request(ctx2, apiVersionsReq(3)); err != nil {
				t.Fatalf("after %s: %v", tt.mode, err)
			}
		})
	}
}

func TestClientCancelAndClose(t *testing.T) {
	s := newTestServer(t)
	s.mode.Store("hang")
	c := NewClient(s.ln.Addr().String(), "b1", time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx, apiVersionsReq(3))
		errc <- err
	}()
	<-s.clients // request is on the wire
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}

	// Close aborts a request in flight.
	go func() {
		_, err := c.Request(context.Background(), apiVersionsReq(3))
		errc <- err
	}()
	<-s.clients
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClientClosed) {
		t.Fatalf("err = %v, want ErrClientClosed", err)
	}
	if _, err := c.Request(context.Background(), apiVersionsReq(3)); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestClientDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := NewClient(addr, "b1", time.Second)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Request(ctx, apiVersionsReq(3)); err == nil {
		t.Fatal("expected a dial error")
	}
}

// A connection the server closed while it sat idle (a broker's
// connections.max.idle.ms) is not reused: the next request dials again
// instead of failing.
func TestClientSkipsConnectionClosedByPeer(t *testing.T) {
	s := newTestServer(t)
	c := NewClient(s.ln.Addr().String(), "b1", time.Second)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mode.Store("answer-then-close")
	if _, err := c.Request(ctx, apiVersionsReq(3)); err != nil {
		t.Fatal(err)
	}
	<-s.closedIdle
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !peerClosed(conn) {
		if time.Now().After(deadline) {
			t.Fatal("the probe does not see the server's close")
		}
		time.Sleep(time.Millisecond)
	}
	s.mode.Store("ok")
	if _, err := c.Request(ctx, apiVersionsReq(3)); err != nil {
		t.Fatalf("request after the server closed the idle connection: %v", err)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	// A live connection is reused.
	if _, err := c.Request(ctx, apiVersionsReq(3)); err != nil {
		t.Fatal(err)
	}
	if n := s.accepts.Load(); n != 2 {
		t.Fatalf("%d connections after a request on a live one, want 2", n)
	}
}
