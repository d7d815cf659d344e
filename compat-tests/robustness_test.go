package compat_test

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// TestRobustness sends malformed frames over raw TCP; the broker must close
// those connections (as Kafka's SocketServer does) and keep serving others.
func TestRobustness(t *testing.T) {
	c := cluster.Start(t, 1)
	addr := c.Broker(0).Addr
	rng := rand.New(rand.NewPCG(1, 2))

	junk := make([]byte, 64)
	for i := range junk {
		junk[i] = byte(rng.UintN(256))
	}
	// Api key 0x7f7f does not exist, so the header can never parse as a
	// request Kafka knows.
	junk[0], junk[1] = 0x7f, 0x7f

	frame := func(size uint32, body []byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, size), body...)
	}
	cases := []struct {
		name string
		data []byte
	}{
		{"junkAfterSanePrefix", frame(64, junk)},
		{"produceUnknownVersion", frame(64, append([]byte{0, 0, 0x7f, 0x7f}, junk[4:]...))},
		{"negativeSizeMinusOne", frame(0xffffffff, nil)},
		{"negativeSizeMinInt", frame(0x80000000, junk)},
		// Above socket.request.max.bytes (100 MiB): InvalidReceiveException, close.
		{"size2GiB", frame(0x7fffffff, junk)},
		// A frame too short to hold a request header.
		{"tinyFrame", frame(1, []byte{0})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn := harness.Dial(t, addr)
			if _, err := conn.Write(tc.data); err != nil {
				t.Fatalf("write: %v", err)
			}
			harness.ExpectClosed(t, conn)
			harness.MetadataWorks(t, c)
		})
	}

	t.Run("apiVersionsV99", func(t *testing.T) {
		conn := harness.Dial(t, addr)
		// Kafka reads an unknown ApiVersions version with request header
		// v2 (version >= 3): key, version, correlation id, client id, tags.
		req := binary.BigEndian.AppendUint16(nil, 18)
		req = binary.BigEndian.AppendUint16(req, 99)
		req = binary.BigEndian.AppendUint32(req, 4242)
		req = binary.BigEndian.AppendUint16(req, 6)
		req = append(req, "compat"...)
		req = append(req, 0)                               // header tagged fields
		req = append(req, 7, 'c', 'o', 'm', 'p', 'a', 't') // client_software_name (compact)
		req = append(req, 4, '9', '.', '9')                // client_software_version
		req = append(req, 0)                               // body tagged fields
		if _, err := conn.Write(frame(uint32(len(req)), req)); err != nil {
			t.Fatal(err)
		}
		resp := harness.ReadFrame(t, conn)
		// Response header v0 (never tagged fields for ApiVersions), then a v0 body.
		if len(resp) < 4+2+4 {
			t.Fatalf("response too short: %x", resp)
		}
		if corr := binary.BigEndian.Uint32(resp); corr != 4242 {
			t.Errorf("correlation id %d, want 4242", corr)
		}
		body := resp[4:]
		var v0 kmsg.ApiVersionsResponse
		v0.Version = 0
		if err := v0.ReadFrom(body); err != nil {
			t.Fatalf("decoding v0 body %x: %v", body, err)
		}
		if v0.ErrorCode != 35 {
			t.Errorf("error code %d, want 35 (UNSUPPORTED_VERSION)", v0.ErrorCode)
		}
		found := false
		for _, k := range v0.ApiKeys {
			if k.ApiKey == 18 {
				found = true
				if k.MinVersion != 0 || k.MaxVersion < 3 {
					t.Errorf("ApiVersions range %d..%d, want 0..>=3", k.MinVersion, k.MaxVersion)
				}
			}
		}
		if !found {
			t.Errorf("v0 body lists no ApiVersions (18) range: %+v", v0.ApiKeys)
		}
		// Kafka keeps the connection: a v0 ApiVersions on it still works.
		req0 := binary.BigEndian.AppendUint16(nil, 18)
		req0 = binary.BigEndian.AppendUint16(req0, 0)
		req0 = binary.BigEndian.AppendUint32(req0, 4243)
		req0 = binary.BigEndian.AppendUint16(req0, 0xffff) // null client id
		if _, err := conn.Write(frame(uint32(len(req0)), req0)); err != nil {
			t.Fatalf("connection closed after the UNSUPPORTED_VERSION answer: %v", err)
		}
		resp = harness.ReadFrame(t, conn)
		if corr := binary.BigEndian.Uint32(resp); corr != 4243 {
			t.Errorf("second answer correlation id %d, want 4243", corr)
		}
		var ok0 kmsg.ApiVersionsResponse
		if err := ok0.ReadFrom(resp[4:]); err != nil || ok0.ErrorCode != 0 || len(ok0.ApiKeys) < 10 {
			t.Errorf("v0 ApiVersions after the error: err %v code %d keys %d", err, ok0.ErrorCode, len(ok0.ApiKeys))
		}
		harness.MetadataWorks(t, c)
	})
}

// rawRequest frames a request with a v1 request header (non-flexible
// versions only): api key, version, correlation id, client id.
func rawRequest(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	body := binary.BigEndian.AppendUint16(nil, uint16(req.Key()))
	body = binary.BigEndian.AppendUint16(body, uint16(version))
	body = binary.BigEndian.AppendUint32(body, uint32(corr))
	body = binary.BigEndian.AppendUint16(body, 6)
	body = append(body, "compat"...)
	body = req.AppendTo(body)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

// TestWireOrdering checks two connection-level rules real clients rely on:
// acks=0 produce gets no response at all, and pipelined responses come back
// in request order.
func TestWireOrdering(t *testing.T) {
	c := cluster.Start(t, 1)
	harness.CreateTopic(t, c, "wire-acks0", 1, 1)
	addr := c.Broker(0).Addr

	t.Run("acks0NoResponse", func(t *testing.T) {
		conn := harness.Dial(t, addr)
		prod := kmsg.NewPtrProduceRequest()
		prod.Acks = 0
		prod.TimeoutMillis = 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "wire-acks0"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = harness.IdempotentBatch(-1, -1, -1, []byte("fire and forget"))
		rt.Partitions = append(rt.Partitions, rp)
		prod.Topics = append(prod.Topics, rt)
		// Produce v7: non-flexible, topics by name.
		data := rawRequest(prod, 7, 1)
		data = append(data, rawRequest(kmsg.NewPtrApiVersionsRequest(), 0, 2)...)
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		resp := harness.ReadFrame(t, conn)
		if corr := int32(binary.BigEndian.Uint32(resp)); corr != 2 {
			t.Fatalf("first response has correlation id %d, want 2 (acks=0 produce must not be answered)", corr)
		}
		cl := c.Client()
		harness.Poll(t, 10*time.Second, "acks=0 record appended", func() (bool, string) {
			end := listEnd(t, cl, "wire-acks0")
			return end == 1, fmt.Sprintf("log end %d", end)
		})
	})

	t.Run("pipelinedInOrder", func(t *testing.T) {
		conn := harness.Dial(t, addr)
		const n = 40
		var data []byte
		for i := range n {
			corr := int32(100 + i)
			switch i % 3 {
			case 0:
				data = append(data, rawRequest(kmsg.NewPtrApiVersionsRequest(), 0, corr)...)
			case 1:
				md := kmsg.NewPtrMetadataRequest()
				md.Topics = nil // v1+: null means all topics
				data = append(data, rawRequest(md, 1, corr)...)
			default:
				lo := kmsg.NewPtrListOffsetsRequest()
				lo.ReplicaID = -1
				rt := kmsg.NewListOffsetsRequestTopic()
				rt.Topic = "wire-acks0"
				rp := kmsg.NewListOffsetsRequestTopicPartition()
				rp.Timestamp = -1
				rt.Partitions = append(rt.Partitions, rp)
				lo.Topics = append(lo.Topics, rt)
				data = append(data, rawRequest(lo, 1, corr)...)
			}
		}
		if _, err := conn.Write(data); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			resp := harness.ReadFrame(t, conn)
			if corr := int32(binary.BigEndian.Uint32(resp)); corr != int32(100+i) {
				t.Fatalf("response %d has correlation id %d, want %d", i, corr, 100+i)
			}
		}
	})
}
