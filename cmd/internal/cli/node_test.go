package cli

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Node waits for a broker the metadata does not list, until ctx ends, and
// sends to a listed one at once (here against kfake: what is tested is the
// tool's wait, not a broker's answer).
func TestNode(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, Node(cl, 1)); err != nil {
		t.Fatalf("listed broker 1: %v", err)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 3*nodeRetry)
	defer cancel2()
	_, err = kmsg.NewPtrApiVersionsRequest().RequestWith(short, Node(cl, 7))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unlisted broker 7: %v, want the call's deadline", err)
	}
}
