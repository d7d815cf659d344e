package cli

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Node is the requestor of a call the Java admin client sends to one broker
// (a broker's own config resource, its log dirs). Like the Java client's
// ConstantNodeIdProvider it waits, refreshing the metadata, until the broker
// is known: a broker that registered again a moment ago (its ZooKeeper
// session expired) is missing from metadata served by brokers that have not
// heard of it yet. kgo alone fails such a call at once ("unknown broker").
// The wait ends with ctx, as the Java call ends with its timeout.
func Node(cl *kgo.Client, id int32) kmsg.Requestor { return node{cl, id} }

type node struct {
	cl *kgo.Client
	id int32
}

// nodeRetry is how often the metadata is asked again while the broker is
// unknown (the Java client's retry.backoff.ms).
const nodeRetry = 100 * time.Millisecond

func (n node) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	for {
		// A Metadata request through the client also updates the brokers
		// it knows, so once the answer lists the broker, so does the client.
		meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, n.cl)
		if err != nil {
			return nil, err
		}
		for _, b := range meta.Brokers {
			if b.NodeID == n.id {
				return n.cl.Broker(int(n.id)).Request(ctx, req)
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(nodeRetry):
		}
	}
}
