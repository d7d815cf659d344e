package broker

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/kafkazk/kafkazk/protocol"
)

// countingProxy forwards every connection it accepts to target and counts
// them; closed at test end.
func countingProxy(t *testing.T, target string) (string, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			open = append(open, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); _, _ = io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return ln.Addr().String(), &n
}

// TestInterBrokerReauthenticatesOnTheSameConnection: the inter-broker
// client renews its SASL session on its open connection (KIP-368, as
// Kafka's SaslClientAuthenticator.reauthenticate) before
// connections.max.reauth.ms ends it: requests go on over two session
// lifetimes on one connection. (A lifetime under the broker's one-second
// minimum between re-authentications falls back to a new connection:
// TestInterBrokerSASLClient.)
func TestInterBrokerReauthenticatesOnTheSameConnection(t *testing.T) {
	s := newSASLTestServer(t, map[string]string{"connections.max.reauth.ms": "1200"}, true)
	addr, accepted := countingProxy(t, s.addr)
	cl := protocol.NewClient(addr, "broker-1", 5*time.Second)
	defer cl.Close()
	cl.SetAuthenticator(protocol.SASLAuthenticator(scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); {
		if _, err := cl.Request(ctx, saslMetadataReq()); err != nil {
			t.Fatalf("request: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // pacing the requests over two lifetimes, not synchronisation
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("%d connections over two session lifetimes, want 1 (renewed in place)", n)
	}
}
