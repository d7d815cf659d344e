package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/broker/group"
)

// syncBuffer is a log sink safe for the connection goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startTestListener serves connections of s on a loopback port.
func startTestListener(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() { <-ctx.Done(); c.Close() }()
				newConnection(s, c).serve(ctx)
			}()
		}
	}()
	return ln.Addr().String()
}

func sendRequest(t *testing.T, c net.Conn, req kmsg.Request, corr int32) {
	t.Helper()
	frame := kmsg.NewRequestFormatter(kmsg.FormatterClientID("conn-test")).AppendRequest(nil, req, corr)
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
}

// A handler that panics is logged with its request and closes only its
// own connection; the broker goes on serving others.
func TestHandlerPanicClosesOnlyItsConnection(t *testing.T) {
	logs := &syncBuffer{}
	s := &Server{cfg: DefaultConfig(), logger: slog.New(slog.NewTextHandler(logs, nil)), cache: newMetadataCache()}
	// No replica manager: the produce handler dereferences nil and panics.
	knowPartition(s.cache, 0, 1, 1, []int32{1}, []int32{1})
	addr := startTestListener(t, s)

	bad, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 9
	produce.Acks = 1
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: testBatch(1)}}}}
	sendRequest(t, bad, produce, 1)
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := bad.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the panicking request's connection must be closed: read %d bytes, err %v", n, err)
	}
	if l := logs.String(); !strings.Contains(l, "handler panicked") || !strings.Contains(l, "api_key=0") || !strings.Contains(l, "client_id=conn-test") {
		t.Fatalf("panic not logged with its request:\n%s", l)
	}

	good, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	sendRequest(t, good, av, 7)
	_ = good.SetReadDeadline(time.Now().Add(5 * time.Second))
	var head [8]byte
	if _, err := io.ReadFull(good, head[:]); err != nil {
		t.Fatalf("another connection must still be served: %v", err)
	}
	if corr := int32(binary.BigEndian.Uint32(head[4:])); corr != 7 {
		t.Fatalf("correlation id %d, want 7", corr)
	}
}

// serveConns serves connections of s on a loopback port under a context
// that lives as long as the test; each served connection's end is
// reported on the returned channel.
func serveConns(t *testing.T, s *Server) (string, <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan struct{}, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				go func() { <-ctx.Done(); c.Close() }()
				newConnection(s, c).serve(withClientAddr(ctx, c.RemoteAddr()))
				ended <- struct{}{}
			}()
		}
	}()
	return ln.Addr().String(), ended
}

func waitEnded(t *testing.T, ended <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the connection is still served after its client went away", what)
	}
}

// A JoinGroup parked in the rebalance ends when its client goes away
// instead of holding its connection's goroutines until shutdown.
func TestParkedJoinGroupEndsWithItsClient(t *testing.T) {
	s := newGroupTestServer(t, nil, func(c *group.Config) { c.InitialRebalanceDelay = time.Hour })
	addr, ended := serveConns(t, s)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 3 // no MEMBER_ID_REQUIRED round trip: the first join parks
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = "g", 10000, 10000, "consumer"
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", (&kmsg.ConsumerMemberMetadata{Topics: []string{"t"}}).AppendTo(nil)
	join.Protocols = append(join.Protocols, p)
	sendRequest(t, conn, join, 1)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, sum := s.groups.DescribeGroup("g"); sum.State == "PreparingRebalance" && len(sum.Members) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the JoinGroup did not park")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case <-ended:
		t.Fatal("the connection ended while its client waits")
	case <-time.After(20 * time.Millisecond):
	}
	conn.Close()
	waitEnded(t, ended, "parked JoinGroup")
}

// Requests already read are served even when the client hangs up right
// after sending them: acks=0 produces are appended; an acks=all produce
// is appended and stops waiting for its replication.
func TestProducesBeforeHangUpAreAppended(t *testing.T) {
	p := newTestLeader(t, 2, 1, 2) // follower 2 never fetches: acks=all waits
	cfg := DefaultConfig()
	cfg.BrokerID = 1
	s := &Server{cfg: cfg, logger: slog.New(slog.DiscardHandler), cache: newMetadataCache(),
		replicas: &replicaManager{partitions: map[topicPartition]*partition{{"t", 0}: p}}}
	knowPartition(s.cache, 0, 1, 1, []int32{1, 2}, []int32{1, 2})
	addr, ended := serveConns(t, s)
	produce := func(conn net.Conn, acks int16, corr int32) {
		req := kmsg.NewPtrProduceRequest()
		req.Version, req.Acks, req.TimeoutMillis = 9, acks, 60000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = testBatch(1)
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		sendRequest(t, conn, req, corr)
	}
	for _, acks := range [][]int16{{0, 0}, {-1}} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		before := p.log.LogEndOffset()
		for i, a := range acks {
			produce(conn, a, int32(i))
		}
		conn.Close()
		waitEnded(t, ended, fmt.Sprintf("produces with acks %v", acks))
		if leo := p.log.LogEndOffset(); leo != before+int64(len(acks)) {
			t.Fatalf("acks %v: log end offset %d, want %d", acks, leo, before+int64(len(acks)))
		}
	}
}
