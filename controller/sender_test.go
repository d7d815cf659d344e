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

	s := newBrokerSender(zkmeta.BrokerInfo{ID: 7, Host: "127.0.0.1", Port: int32(port)}, 0, time.Second,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
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
