package broker

import (
	"bufio"
	"encoding/binary"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/protocol"
)

// An all-topics Metadata request as librdkafka 2.x writes it (v9+: the
// 4-byte topic array count placeholder stays zero, so the flags and tags it
// writes next are bytes left after the body) is answered with every topic,
// as Kafka answers it (AbstractRequest.parseRequest ignores the remainder),
// and the connection stays open.
func TestMetadataWithTrailingBytesIsAnswered(t *testing.T) {
	s := &Server{cfg: DefaultConfig(), logger: slog.New(slog.DiscardHandler), cache: newMetadataCache(), clusterID: "c1"}
	s.cache.update(0, 1, []cachedBroker{plainBroker(0, "127.0.0.1", 9092)}, []partitionUpdate{
		{Topic: "orders", TopicID: [16]byte{1}, Partition: 0, State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}},
		{Topic: "payments", TopicID: [16]byte{2}, Partition: 0, State: cachedPartition{Leader: 0, ISR: []int32{0}, Replicas: []int32{0}}},
	})
	addr := startTestListener(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)

	for i, version := range []int16{9, 12} {
		corr := int32(100 + i)
		var body []byte
		body = binary.BigEndian.AppendUint16(body, uint16(kmsg.Metadata))
		body = binary.BigEndian.AppendUint16(body, uint16(version))
		body = binary.BigEndian.AppendUint32(body, uint32(corr))
		body = binary.BigEndian.AppendUint16(body, uint16(len("rdkafka")))
		body = append(body, "rdkafka"...)
		body = append(body, 0)          // header tags
		body = append(body, 0, 0, 0, 0) // topic array count placeholder: null (all topics), flags, tags
		// Left over: allow_auto_topic_creation, include_cluster_authorized_operations
		// (v8-v10), include_topic_authorized_operations, tags.
		if version <= 10 {
			body = append(body, 1, 0, 0, 0)
		} else {
			body = append(body, 1, 0, 0)
		}
		frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		if _, err := c.Write(append(frame, body...)); err != nil {
			t.Fatal(err)
		}

		got, err := protocol.ReadFrame(br, protocol.DefaultMaxRequestSize, nil)
		if err != nil {
			t.Fatalf("Metadata v%d with trailing bytes: no answer: %v", version, err)
		}
		if id := int32(binary.BigEndian.Uint32(got)); id != corr {
			t.Fatalf("correlation id %d, want %d", id, corr)
		}
		resp := kmsg.NewPtrMetadataResponse()
		resp.Version = version
		if err := resp.ReadFrom(got[5:]); err != nil { // correlation id, header tags
			t.Fatalf("decoding Metadata v%d response: %v", version, err)
		}
		names := map[string]bool{}
		for _, tp := range resp.Topics {
			if tp.Topic != nil {
				names[*tp.Topic] = true
			}
		}
		if len(names) != 2 || !names["orders"] || !names["payments"] || len(resp.Brokers) != 1 {
			t.Fatalf("Metadata v%d: topics %v, brokers %+v; want orders and payments, 1 broker", version, names, resp.Brokers)
		}
	}
}
