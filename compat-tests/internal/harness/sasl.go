package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// SASLClientOpts are a client's options for a cluster whose PLAINTEXT
// listener name is mapped to a SASL protocol.
func SASLClientOpts(tlsCfg *tls.Config, m sasl.Mechanism) []kgo.Opt {
	opts := []kgo.Opt{kgo.SASL(m), kgo.MetadataMinAge(100 * time.Millisecond)}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	return opts
}

// WaitForSASLBrokers is WaitForBrokers with SASL (and TLS): every broker
// answers Metadata listing all ids and naming a controller.
func WaitForSASLBrokers(t *testing.T, c *cluster.Cluster, opts []kgo.Opt, ids ...int32) {
	t.Helper()
	Poll(t, 60*time.Second, "brokers ready over SASL", func() (bool, string) {
		for _, id := range ids {
			if !c.Running(id) {
				t.Fatalf("broker %d exited: %s", id, c.LogTail(id, 30))
			}
			cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.Broker(id).Addr), kgo.RequestRetries(0)}, opts...)...)
			if err != nil {
				return false, err.Error()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
			cancel()
			cl.Close()
			if err != nil {
				return false, fmt.Sprintf("broker %d: %v", id, err)
			}
			if len(resp.Brokers) != len(ids) || resp.ControllerID < 0 {
				return false, fmt.Sprintf("broker %d lists %d brokers, controller %d", id, len(resp.Brokers), resp.ControllerID)
			}
		}
		return true, ""
	})
}
