package controller

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// A stopped sender answers every queued request at once: whoever waits on
// a broker that left the cluster (a controlled shutdown, say) goes on.
func TestSenderStopAnswersQueuedRequests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nobody listens: deliveries retry until the sender stops

	s := newBrokerSender(zkmeta.BrokerInfo{ID: 7, Host: "127.0.0.1", Port: int32(port)}, "PLAINTEXT", 0, time.Second,
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	var waits []<-chan error
	for range 3 {
		waits = append(waits, s.send(kmsg.NewPtrUpdateMetadataRequest()))
	}
	s.stop()
	for i, w := range waits {
		select {
		case err := <-w:
			if err == nil {
				t.Fatalf("request %d: delivered to a broker nobody runs", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d still waiting after stop", i)
		}
	}
	select {
	case err := <-s.send(kmsg.NewPtrUpdateMetadataRequest()):
		if err == nil {
			t.Fatal("send after stop succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("send after stop blocked")
	}
}

// hungBroker accepts connections and reads requests but never answers: a
// broker that hangs while its ZooKeeper session lives.
func hungBroker(t *testing.T) int32 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	return int32(ln.Addr().(*net.TCPAddr).Port)
}

// Queuing a request never waits on the broker, however many are queued
// behind one it does not answer (ControllerChannelManager's per-broker
// queue is an unbounded LinkedBlockingQueue).
func TestSenderNeverBlocksOnAHungBroker(t *testing.T) {
	s := newBrokerSender(zkmeta.BrokerInfo{ID: 7, Host: "127.0.0.1", Port: hungBroker(t)}, "PLAINTEXT", 0, time.Minute,
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil, nil)
	queued := make(chan []<-chan error, 1)
	go func() {
		var waits []<-chan error
		for range 10000 {
			waits = append(waits, s.send(kmsg.NewPtrUpdateMetadataRequest()))
		}
		queued <- waits
	}()
	var waits []<-chan error
	select {
	case waits = <-queued:
	case <-time.After(20 * time.Second):
		t.Fatal("queuing requests for a broker that does not answer blocks")
	}
	s.stop()
	for i, w := range waits {
		select {
		case err := <-w:
			if err == nil {
				t.Fatalf("request %d: delivered to a broker that never answers", i)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d still waiting after stop", i)
		}
	}
}
