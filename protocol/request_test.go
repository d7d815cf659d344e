package protocol

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// tag is a raw tagged field for hand-built headers.
type tag struct {
	key uint32
	val []byte
}

// buildRequest encodes a request frame by hand (no size prefix): header v0,
// v1 or v2 by the rules of Kafka, optional header tags, then kmsg's body.
func buildRequest(req kmsg.Request, corrID int32, clientID *string, tags []tag) []byte {
	b := appendInt16(nil, req.Key())
	b = appendInt16(b, req.GetVersion())
	b = appendInt32(b, corrID)
	hv := requestHeaderVersion(req.Key(), req.GetVersion(), req.IsFlexible())
	if hv >= 1 {
		b = appendNullableString(b, clientID)
	}
	if hv >= 2 {
		b = appendUvarint(b, uint32(len(tags)))
		for _, t := range tags {
			b = appendUvarint(b, t.key)
			b = appendUvarint(b, uint32(len(t.val)))
			b = append(b, t.val...)
		}
	}
	return req.AppendTo(b)
}

func strp(s string) *string { return &s }

func sampleRequests() []kmsg.Request {
	var out []kmsg.Request

	for _, v := range []int16{0, 3, 4} {
		r := kmsg.NewPtrApiVersionsRequest()
		r.Version = v
		if v >= 3 {
			r.ClientSoftwareName = "kafkazk-test"
			r.ClientSoftwareVersion = "1.0"
		}
		out = append(out, r)
	}
	for _, v := range []int16{1, 9, 12} {
		r := kmsg.NewPtrMetadataRequest()
		r.Version = v
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = strp("orders")
		r.Topics = append(r.Topics, t)
		r.AllowAutoTopicCreation = v >= 4
		out = append(out, r)
	}
	for _, v := range []int16{3, 8, 9} {
		r := kmsg.NewPtrProduceRequest()
		r.Version = v
		r.Acks = -1
		r.TimeoutMillis = 1500
		t := kmsg.NewProduceRequestTopic()
		t.Topic = "orders"
		p := kmsg.NewProduceRequestTopicPartition()
		p.Partition = 2
		p.Records = []byte("pretend-record-batch")
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		out = append(out, r)
	}
	for _, v := range []int16{4, 11, 12, 13} {
		r := kmsg.NewPtrFetchRequest()
		r.Version = v
		r.ReplicaID = -1
		r.MaxWaitMillis = 500
		r.MinBytes = 1
		r.MaxBytes = 1 << 20
		t := kmsg.NewFetchRequestTopic()
		if v >= 13 {
			t.TopicID = [16]byte{1, 2, 3}
		} else {
			t.Topic = "orders"
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = 1
		p.FetchOffset = 42
		p.PartitionMaxBytes = 1 << 20
		t.Partitions = append(t.Partitions, p)
		r.Topics = append(r.Topics, t)
		out = append(out, r)
	}
	{
		r := kmsg.NewPtrControlledShutdownRequest() // v0 uses request header v0
		r.Version = 0
		r.BrokerID = 3
		out = append(out, r)
	}
	{
		r := kmsg.NewPtrLeaderAndISRRequest()
		r.Version = 5
		r.ControllerID = 1
		r.ControllerEpoch = 7
		r.BrokerEpoch = 99
		out = append(out, r)
	}
	return out
}

func TestParseRequestRoundTrip(t *testing.T) {
	for _, req := range sampleRequests() {
		name := fmt.Sprintf("%s/v%d", kmsg.NameForKey(req.Key()), req.GetVersion())
		t.Run(name, func(t *testing.T) {
			frame := buildRequest(req, 1234, strp("client-1"), nil)
			hdr, got, err := ParseRequest(frame)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			wantHV := requestHeaderVersion(req.Key(), req.GetVersion(), req.IsFlexible())
			if hdr.APIKey != req.Key() || hdr.APIVersion != req.GetVersion() || hdr.CorrelationID != 1234 || hdr.HeaderVersion != wantHV {
				t.Fatalf("header = %+v", hdr)
			}
			if wantHV >= 1 && (hdr.ClientID == nil || *hdr.ClientID != "client-1") {
				t.Fatalf("client id = %v", hdr.ClientID)
			}
			if wantHV == 0 && hdr.ClientID != nil {
				t.Fatalf("header v0 has a client id: %q", *hdr.ClientID)
			}
			if !reflect.DeepEqual(got, req) {
				t.Fatalf("decoded %+v\nwant %+v", got, req)
			}
		})
	}
}

func TestParseRequestFlexibleHeaderTags(t *testing.T) {
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	frame := buildRequest(req, 7, nil, []tag{{key: 0, val: []byte("x")}, {key: 5, val: make([]byte, 200)}})
	hdr, got, err := ParseRequest(frame)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.HeaderVersion != 2 || hdr.ClientID != nil || hdr.CorrelationID != 7 {
		t.Fatalf("header = %+v", hdr)
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("decoded %+v, want %+v", got, req)
	}
}

func TestParseRequestErrors(t *testing.T) {
	meta := kmsg.NewPtrMetadataRequest()
	meta.Version = 12
	t1 := kmsg.NewMetadataRequestTopic()
	t1.Topic = strp("orders")
	meta.Topics = append(meta.Topics, t1)
	good := buildRequest(meta, 1, strp("c"), nil)

	unknownKey := appendInt16(nil, 9999)
	unknownKey = appendInt16(unknownKey, 0)
	unknownKey = appendInt32(unknownKey, 5)
	unknownKey = appendNullableString(unknownKey, strp("c"))

	tooNewMeta := append([]byte(nil), good...)
	tooNewMeta[3] = 99 // version 99

	tests := []struct {
		name    string
		frame   []byte
		wantErr error
	}{
		{name: "empty", frame: nil, wantErr: ErrMalformedRequest},
		{name: "short header", frame: good[:6], wantErr: ErrMalformedRequest},
		{name: "truncated client id", frame: good[:10], wantErr: ErrMalformedRequest},
		{name: "truncated body", frame: good[:len(good)-1], wantErr: ErrMalformedRequest},
		{name: "unknown key", frame: unknownKey, wantErr: ErrUnknownAPIKey},
		{name: "metadata too new", frame: tooNewMeta, wantErr: ErrUnsupportedVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, req, err := ParseRequest(tt.frame)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if req != nil {
				t.Fatalf("request returned with error: %+v", req)
			}
		})
	}
}

// librdkafkaAllTopicsMetadata is the body librdkafka 2.x writes for an
// all-topics Metadata v9+ request: it reserves 4 bytes for the topic array
// count and leaves them zero, so the first zero byte reads as a null compact
// array (all topics) and the three other zeros as allow_auto_topic_creation,
// include_topic_authorized_operations and the tag count; the real flags and
// tag count it wrote after them are left over.
func librdkafkaAllTopicsMetadata(version int16) []byte {
	b := appendInt16(nil, 3)
	b = appendInt16(b, version)
	b = appendInt32(b, 9)
	b = appendNullableString(b, strp("rdkafka"))
	b = appendUvarint(b, 0)   // header tags
	b = append(b, 0, 0, 0, 0) // the 4-byte array count placeholder
	// allow_auto_topic_creation, include_cluster_authorized_operations
	// (v8-v10), include_topic_authorized_operations, tags.
	if version <= 10 {
		return append(b, 1, 0, 0, 0)
	}
	return append(b, 1, 0, 0)
}

// Kafka ignores bytes after a request body, for every API:
// AbstractRequest.parseRequest reads the struct from the buffer and never
// checks what remains (RequestContext.parseRequest, RequestChannel.Request).
// librdkafka 2.x relies on it (librdkafkaAllTopicsMetadata).
func TestParseRequestIgnoresTrailingBytes(t *testing.T) {
	for _, v := range []int16{9, 12} {
		t.Run(fmt.Sprintf("librdkafka all-topics Metadata v%d", v), func(t *testing.T) {
			hdr, req, err := ParseRequest(librdkafkaAllTopicsMetadata(v))
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			md, ok := req.(*kmsg.MetadataRequest)
			if !ok || hdr.APIKey != 3 || hdr.APIVersion != v || hdr.CorrelationID != 9 {
				t.Fatalf("header %+v, request %T", hdr, req)
			}
			if md.Topics != nil || md.AllowAutoTopicCreation {
				t.Fatalf("want all topics without auto-creation (as Kafka reads it), got %+v", md)
			}
		})
	}
	trailers := map[string][]byte{
		"zero byte": {0},
		"garbage":   {0xde, 0xad, 0xbe, 0xef},
		"a frame":   make([]byte, 300),
	}
	for _, req := range sampleRequests() {
		for tname, trailer := range trailers {
			name := fmt.Sprintf("%s/v%d/%s", kmsg.NameForKey(req.Key()), req.GetVersion(), tname)
			t.Run(name, func(t *testing.T) {
				frame := append(buildRequest(req, 5, strp("c"), nil), trailer...)
				hdr, got, err := ParseRequest(frame)
				if err != nil {
					t.Fatalf("ParseRequest: %v", err)
				}
				if hdr.APIKey != req.Key() || hdr.APIVersion != req.GetVersion() || hdr.CorrelationID != 5 {
					t.Fatalf("header = %+v", hdr)
				}
				if !reflect.DeepEqual(got, req) {
					t.Fatalf("decoded %+v\nwant %+v", got, req)
				}
			})
		}
	}
}

// KIP-511: an ApiVersions request newer than we know must be answered, so
// the header comes back with ErrUnsupportedVersion.
func TestParseRequestUnsupportedApiVersions(t *testing.T) {
	b := appendInt16(nil, 18)
	b = appendInt16(b, 127)
	b = appendInt32(b, 77)
	b = appendNullableString(b, strp("future-client"))
	b = appendUvarint(b, 0)
	b = append(b, []byte("a body we cannot know")...)
	hdr, req, err := ParseRequest(b)
	if !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("err = %v", err)
	}
	if req != nil {
		t.Fatalf("request returned: %+v", req)
	}
	if hdr.APIKey != 18 || hdr.APIVersion != 127 || hdr.CorrelationID != 77 || hdr.ClientID == nil || *hdr.ClientID != "future-client" {
		t.Fatalf("header = %+v", hdr)
	}

	// The answer: v0 body, v0 header even though the request was "flexible".
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.ErrorCode = 35
	k := kmsg.NewApiVersionsResponseApiKey()
	k.ApiKey, k.MinVersion, k.MaxVersion = 18, 0, 4
	resp.ApiKeys = append(resp.ApiKeys, k)
	frame := EncodeResponse(hdr, resp)
	want := appendInt32(nil, 0)
	want = appendInt32(want, 77)
	v0 := kmsg.NewPtrApiVersionsResponse()
	v0.ErrorCode = 35
	v0.ApiKeys = resp.ApiKeys
	want = v0.AppendTo(want)
	want[3] = byte(len(want) - 4)
	if !reflect.DeepEqual(frame, want) {
		t.Fatalf("frame\n%x\nwant\n%x", frame, want)
	}
}

func TestEncodeResponseHeaders(t *testing.T) {
	tests := []struct {
		name     string
		resp     kmsg.Response
		version  int16
		wantTags bool
	}{
		{name: "metadata v9 flexible", resp: kmsg.NewPtrMetadataResponse(), version: 9, wantTags: true},
		{name: "metadata v8", resp: kmsg.NewPtrMetadataResponse(), version: 8},
		{name: "apiversions v3 never flexible header", resp: kmsg.NewPtrApiVersionsResponse(), version: 3},
		{name: "produce v9", resp: kmsg.NewPtrProduceResponse(), version: 9, wantTags: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := RequestHeader{APIKey: tt.resp.Key(), APIVersion: tt.version, CorrelationID: 0x01020304}
			frame := EncodeResponse(hdr, tt.resp)
			body := tt.resp.AppendTo(nil)
			want := appendInt32(nil, 0)
			want = appendInt32(want, 0x01020304)
			if tt.wantTags {
				want = append(want, 0)
			}
			want = append(want, body...)
			want[0], want[1], want[2], want[3] = byte((len(want)-4)>>24), byte((len(want)-4)>>16), byte((len(want)-4)>>8), byte(len(want)-4)
			if !reflect.DeepEqual(frame, want) {
				t.Fatalf("frame\n%x\nwant\n%x", frame, want)
			}
			if tt.resp.GetVersion() != tt.version {
				t.Fatalf("version not set: %d", tt.resp.GetVersion())
			}
		})
	}
}

func BenchmarkParseRequest(b *testing.B) {
	for _, req := range sampleRequests() {
		if req.Key() != 0 && req.Key() != 1 {
			continue
		}
		frame := buildRequest(req, 1, strp("bench"), nil)
		b.Run(fmt.Sprintf("%s/v%d", kmsg.NameForKey(req.Key()), req.GetVersion()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ParseRequest(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
