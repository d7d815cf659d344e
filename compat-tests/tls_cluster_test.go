package compat_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
	"github.com/kafkazk/kafkazk/compat-tests/internal/tlspki"
)

// waitForTLSBrokers is WaitForBrokers over TLS: every broker answers
// Metadata listing all ids.
func waitForTLSBrokers(t *testing.T, c *cluster.Cluster, cfg *tls.Config, ids ...int32) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range ids {
		for {
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.Broker(id).Addr), kgo.DialTLSConfig(cfg))
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, rerr := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
				cancel()
				cl.Close()
				if rerr == nil && len(resp.Brokers) == len(ids) {
					break
				}
			}
			if !c.Running(id) {
				t.Fatalf("broker %d exited: %s", id, c.LogTail(id, 30))
			}
			if time.Now().After(deadline) {
				t.Fatalf("broker %d not ready over TLS in time: %s", id, c.LogTail(id, 30))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// Three brokers whose only listener is SSL (the PLAINTEXT name mapped to
// SSL, so also the inter-broker listener) with a JKS, a PKCS12 and a PEM
// key store: a topic with RF 3 and min.insync.replicas=3 takes acks=all
// writes only if the followers fetch over TLS, and the controller reaches
// every broker over TLS. A fourth broker with a wrong key store password
// does not start and names the key.
func TestTLSClusterReplicates(t *testing.T) {
	p := tlspki.New(t)
	c := cluster.Start(t, 0)
	common := []string{"listener.security.protocol.map=PLAINTEXT:SSL",
		"ssl.truststore.location=" + p.TrustJKS, "ssl.truststore.password=" + tlspki.TrustPass,
		"ssl.client.auth=requested", "offsets.topic.replication.factor=3"}
	for i, typ := range []string{"JKS", "PKCS12", "PEM"} {
		c.AddBroker(int32(i), append(append([]string{}, common...), p.Keystore(t, typ, fmt.Sprintf("broker%d", i))...)...)
	}
	cfg := p.ClientTLS()
	waitForTLSBrokers(t, c, cfg, 0, 1, 2)

	cl := c.Client(kgo.DialTLSConfig(cfg), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ConsumeTopics("tls-rep"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	minISR := "3"
	if resp, err := adm.CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &minISR}, "tls-rep"); err != nil || resp.Err != nil {
		t.Fatalf("create topic over TLS: %v %v", err, resp.Err)
	}
	const n = 300
	for i := range n {
		r := &kgo.Record{Topic: "tls-rep", Key: []byte(fmt.Sprint(i)), Value: []byte(strings.Repeat("r", 1000+i))}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("acks=all produce %d (min.insync.replicas=3, replication over TLS): %v", i, err)
		}
	}
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d", got, n)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		got += fs.NumRecords()
	}
	// Every replica in every ISR: the followers caught up over TLS.
	md, err := adm.Metadata(ctx, "tls-rep")
	if err != nil {
		t.Fatal(err)
	}
	for _, pd := range md.Topics["tls-rep"].Partitions {
		if len(pd.ISR) != 3 {
			t.Errorf("partition %d ISR %v, want all 3 replicas", pd.Partition, pd.ISR)
		}
	}

	// Kafka 3.9's own console producer and consumer over SSL with a JKS
	// truststore (one JVM for both).
	t.Run("java-client", func(t *testing.T) {
		k := kafkatools.Start(t)
		props := filepath.Join(t.TempDir(), "ssl.properties")
		if err := os.WriteFile(props, []byte("security.protocol=SSL\nssl.truststore.location="+p.TrustJKS+
			"\nssl.truststore.password="+tlspki.TrustPass+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		bs := c.Bootstrap()
		if _, err := adm.CreateTopic(ctx, 1, 3, nil, "tls-java"); err != nil {
			t.Fatal(err)
		}
		k.OK("one\ntwo\nthree\n", kafkatools.Producer, "--bootstrap-server", bs, "--topic", "tls-java", "--producer.config", props)
		out := k.OK("", kafkatools.Consumer, "--bootstrap-server", bs, "--topic", "tls-java", "--from-beginning",
			"--max-messages", "3", "--timeout-ms", "30000", "--consumer.config", props)
		if got := strings.Fields(out); strings.Join(got, ",") != "one,two,three" {
			t.Fatalf("Java console consumer over SSL read %q", out)
		}
	})

	// A wrong key store password stops the broker at start-up, naming the key.
	bad := append(append([]string{}, common...), p.Keystore(t, "JKS", "broker3")...)
	bad[len(bad)-1] = "ssl.keystore.password=wrong"
	c.AddBroker(3, bad...)
	deadline := time.Now().Add(30 * time.Second)
	for c.Running(3) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if c.Running(3) {
		t.Fatalf("a broker with a wrong ssl.keystore.password is still running: %s", c.LogTail(3, 10))
	}
	if log := c.LogTail(3, 10); !strings.Contains(log, "Invalid value [hidden] for configuration ssl.keystore.password") {
		t.Errorf("start-up error does not name ssl.keystore.password:\n%s", log)
	}
}
