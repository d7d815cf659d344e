package clients_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// TestSaramaOldProtocolVersions: sarama configured for Kafka 0.10.0
// (Produce v2 with magic 1 message sets, Fetch v2, which Kafka answers
// with magic 1 down-converted message sets) and for 0.8.2 (Produce v0 with
// magic 0, Fetch v0, magic 0) produces and consumes each codec (issue 12,
// Fetch v0-v3 acceptance). Not a matrix cell: the matrix configures every
// client as a Kafka 3.7 user.
//
// LZ4 with 0.8.2 is not a case: sarama refuses to produce it below 0.10
// ("lz4 compression requires Version >= V0_10_0_0"), and a magic 0 LZ4
// wrapper carries Kafka's old frame header checksum, which sarama's LZ4
// reader rejects against Kafka as well.
func TestSaramaOldProtocolVersions(t *testing.T) {
	cl := cluster.Start(t, 1, "offsets.topic.replication.factor=1", "group.initial.rebalance.delay.ms=0")
	brokers := strings.Split(cl.Bootstrap(), ",")
	kcl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer kcl.Close()
	adm := kadm.NewClient(kcl)

	codecs := map[string]sarama.CompressionCodec{
		"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP,
		"snappy": sarama.CompressionSnappy, "lz4": sarama.CompressionLZ4,
	}
	for _, version := range []sarama.KafkaVersion{sarama.V0_10_0_0, sarama.V0_8_2_0} {
		for _, codec := range []string{"none", "gzip", "snappy", "lz4"} {
			if codec == "lz4" && !version.IsAtLeast(sarama.V0_10_0_0) {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", version, codec), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				topic := fmt.Sprintf("sarama-%s-%s", strings.ReplaceAll(version.String(), ".", "_"), codec)
				if _, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil {
					t.Fatalf("create %s: %v", topic, err)
				}
				cfg := sarama.NewConfig()
				cfg.Version = version
				cfg.ClientID = "sarama-old-versions"
				cfg.Metadata.Retry.Backoff = 100 * time.Millisecond
				cfg.Producer.Return.Successes = true
				cfg.Producer.RequiredAcks = sarama.WaitForAll
				cfg.Producer.Compression = codecs[codec]
				cfg.Consumer.Return.Errors = true
				withTimestamps := version.IsAtLeast(sarama.V0_10_0_0)
				const n = 30
				ts := func(i int) time.Time { return time.UnixMilli(1_700_000_000_000 + int64(i)) }

				prod, err := sarama.NewSyncProducer(brokers, cfg)
				if err != nil {
					t.Fatalf("producer: %v", err)
				}
				// Three requests of ten: several message sets (wrappers) in the log.
				for part := range 3 {
					var msgs []*sarama.ProducerMessage
					for i := part * 10; i < part*10+10; i++ {
						m := &sarama.ProducerMessage{Topic: topic, Partition: 0, Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)),
							Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i))}
						if withTimestamps {
							m.Timestamp = ts(i)
						}
						msgs = append(msgs, m)
					}
					if err := prod.SendMessages(msgs); err != nil {
						t.Fatalf("produce: %v", err)
					}
				}
				if err := prod.Close(); err != nil {
					t.Fatalf("producer close: %v", err)
				}

				cons, err := sarama.NewConsumer(brokers, cfg)
				if err != nil {
					t.Fatalf("consumer: %v", err)
				}
				defer cons.Close()
				for _, from := range []int64{sarama.OffsetOldest, 15} {
					pc, err := cons.ConsumePartition(topic, 0, from)
					if err != nil {
						t.Fatalf("consume from %d: %v", from, err)
					}
					first := 0
					if from >= 0 {
						first = int(from)
					}
					for i := first; i < n; i++ {
						select {
						case m := <-pc.Messages():
							if m.Offset != int64(i) || string(m.Key) != fmt.Sprintf("k%d", i) || string(m.Value) != fmt.Sprintf("value-%d", i) {
								t.Fatalf("from %d: message %d: offset %d key %q value %q", from, i, m.Offset, m.Key, m.Value)
							}
							if withTimestamps && !m.Timestamp.Equal(ts(i)) {
								t.Fatalf("from %d: message %d: timestamp %v, want %v", from, i, m.Timestamp, ts(i))
							}
						case err := <-pc.Errors():
							t.Fatalf("from %d: consume error at message %d: %v", from, i, err)
						case <-ctx.Done():
							t.Fatalf("from %d: timed out waiting for message %d", from, i)
						}
					}
					if err := pc.Close(); err != nil {
						t.Fatalf("partition consumer close: %v", err)
					}
				}
			})
		}
	}
}
