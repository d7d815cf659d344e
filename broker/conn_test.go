package broker

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
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
	addr := startTestListener(t, s)

	bad, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	produce := kmsg.NewPtrProduceRequest()
	produce.Version = 9
	produce.Acks = 1
	produce.Topics = []kmsg.ProduceRequestTopic{{Topic: "t", Partitions: []kmsg.ProduceRequestTopicPartition{{Partition: 0, Records: []byte{}}}}}
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
