package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fillValue sets every field of v to a non-default value: two elements in
// every array, non-empty strings and bytes, an unknown tag in every struct
// that carries tags, so kmsg writes every field it knows at a version,
// tagged ones included.
func fillValue(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(3)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(3)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.String:
		v.SetString("ab")
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fillValue(v.Index(i), depth)
		}
	case reflect.Pointer:
		if v.Type().Elem().Kind() == reflect.String {
			s := "ab"
			v.Set(reflect.ValueOf(&s))
		}
	case reflect.Slice:
		if depth > 6 {
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fillValue(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Struct:
		if tags, ok := v.Addr().Interface().(*kmsg.Tags); ok {
			tags.Set(99, []byte{7})
			return
		}
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "Version" {
				continue
			}
			fillValue(v.Field(i), depth)
		}
	}
}

// forEachSchemaVersion runs fn for every request key and version that both
// Kafka 3.9 and kmsg know: what ParseRequest decodes.
func forEachSchemaVersion(t *testing.T, fn func(t *testing.T, s *msgSchema, req kmsg.Request, v int16)) {
	for key := range requestSchemas {
		s := requestSchemas[key]
		if s == nil {
			continue
		}
		req := kmsg.RequestForKey(int16(key))
		if req == nil {
			t.Logf("%s (key %d): kmsg does not know it", s.name, key)
			continue
		}
		for v := s.min; v <= min(s.max, req.MaxVersion()); v++ {
			fn(t, s, req, v)
		}
	}
}

// walkKmsgBody encodes m (a kmsg request or response, every field filled
// or none) at version v and checks that the bound walk over s consumes
// exactly its bytes; it reports whether the body was walked to its end.
func walkKmsgBody(t *testing.T, s *msgSchema, m interface {
	SetVersion(int16)
	AppendTo([]byte) []byte
}, v int16, filled bool) bool {
	t.Helper()
	if filled {
		fillValue(reflect.ValueOf(m).Elem(), 0)
	}
	m.SetVersion(v)
	body := m.AppendTo(nil)
	w := walker{src: body, v: v, flexible: v >= s.flexMin}
	if err := w.structFields(s.fields); err != nil {
		if filled && s.name == "ReadShareGroupStateSummaryResponse" {
			// KIP-932's early-access share group state API: kmsg
			// writes Kafka 4's layout (a StateEpoch per
			// partition). Our brokers never send the request.
			return false
		}
		t.Errorf("%s v%d (filled %v): %v\n% x", s.name, v, filled, err, body)
		return false
	}
	if len(w.src) != 0 {
		t.Errorf("%s v%d (filled %v): %d of %d bytes left after the walk\n% x", s.name, v, filled, len(w.src), len(body), body)
	}
	return true
}

// TestSchemasMatchKmsg: for every key and version, the bound walk over a
// kmsg-encoded request (every field filled) consumes exactly its bytes, and
// the flexible versions agree. The walk is Kafka 3.9's schema and the
// decoder is kmsg's: this is where they must agree, so the walk never
// refuses what kmsg would decode.
func TestSchemasMatchKmsg(t *testing.T) {
	n := 0
	forEachSchemaVersion(t, func(t *testing.T, s *msgSchema, proto kmsg.Request, v int16) {
		for _, filled := range []bool{false, true} {
			req := kmsg.RequestForKey(proto.Key())
			if walkKmsgBody(t, s, req, v, filled) {
				n++
			}
			if req.IsFlexible() != (v >= s.flexMin) {
				t.Errorf("%s v%d: kmsg flexible %v, Kafka's flexible from v%d", s.name, v, req.IsFlexible(), s.flexMin)
			}
		}
	})
	t.Logf("%d bodies walked", n)
}

// TestCheckBodyRefusesOversizedCounts: each count a body can declare is
// refused when it cannot fit in the bytes left, before anything loops on it.
func TestCheckBodyRefusesOversizedCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  int16
		v    int16
		body []byte
		ok   bool
		slow bool // kmsg alone takes seconds or more on it: not cross-checked
	}{
		// Metadata v12: topics compact array (null), allow auto create, include
		// topic authorized ops, then the tag section.
		{"metadata-v12-plain", 3, 12, []byte{0, 1, 0, 0}, true, false},
		// Kafka reads 2^32-16 as a negative Java int: no field (rewritten
		// to a zero for kmsg); 2^31-16 is positive and cannot fit.
		{"metadata-v12-2^32-16-tags", 3, 12, []byte{0, 1, 0, 0xf0, 0xff, 0xff, 0xff, 0x0f}, true, false},
		{"metadata-v12-2^31-16-tags", 3, 12, []byte{0, 1, 0, 0xf0, 0xff, 0xff, 0xff, 0x07}, false, true},
		{"metadata-v12-3-tags-in-4-bytes", 3, 12, []byte{0, 1, 0, 3, 1, 0, 2, 0}, false, false},
		{"metadata-v12-2-tags", 3, 12, []byte{0, 1, 0, 2, 1, 0, 2, 0}, true, false},
		{"metadata-v12-tag-size-past-end", 3, 12, []byte{0, 1, 0, 1, 1, 9, 0}, false, false},
		// Metadata v12 topics: each element is a uuid, a name and a tag count
		// (18 bytes at least): 2 elements need 36.
		{"metadata-v12-topics-too-many", 3, 12, append([]byte{3}, make([]byte, 30)...), false, false},
		{"metadata-v1-array-2^31-1", 3, 1, []byte{0x7f, 0xff, 0xff, 0xff, 0, 0}, false, false},
		{"metadata-v1-null-array", 3, 1, []byte{0xff, 0xff, 0xff, 0xff}, true, false},
		{"metadata-v9-compact-2^31-reads-null", 3, 9, []byte{0x81, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0}, true, false},
		// Kafka shifts a fifth byte of 0x70 out of its int: a count of 0.
		{"uvarint-fifth-byte-0x70", 3, 12, []byte{0, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x70}, true, false},
		{"uvarint-6-bytes", 3, 12, []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, false, false},
		// CreateTopics v0: topics of (name, partitions, rf, assignments, configs).
		{"createtopics-v0-string-past-end", 19, 0, []byte{0, 0, 0, 1, 0x7f, 0xff, 'a'}, false, false},
		// Kafka: "non-nullable field name was serialized as null".
		{"createtopics-v0-null-string", 19, 0, []byte{0, 0, 0, 1, 0xff, 0xff, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false, false},
		// Produce v9 topics are not nullable: Kafka refuses a null, kmsg
		// would read an empty array.
		{"produce-v9-null-topics", 0, 9, []byte{0, 0xff, 0xff, 0, 0, 0x75, 0x30, 0, 0}, false, false},
		// A nullable compact string of length 2^32-16 is null to Kafka.
		{"metadata-v12-topic-name-2^32-16", 3, 12, append(append([]byte{2}, make([]byte, 16)...), 0xf0, 0xff, 0xff, 0xff, 0x0f, 0, 1, 0, 0), true, false},
		// Produce v3: transactional id, acks, timeout, topics [name, partitions [index, records]].
		{"produce-v3-records-past-end", 0, 3, []byte{0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0}, false, false},
		{"produce-v3-null-records", 0, 3, []byte{0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 'a', 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkBody(requestSchema(tc.key), tc.v, tc.body)
			if (err == nil) != tc.ok {
				t.Fatalf("checkBody: %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, errBound) && !errors.Is(err, errNull) {
				t.Fatalf("error %v is neither errBound nor errNull", err)
			}
			// A count the walk refuses, kmsg refuses too (a null it may
			// read as empty, where Kafka refuses it).
			req := kmsg.RequestForKey(tc.key)
			req.SetVersion(tc.v)
			if errors.Is(err, errBound) && !tc.slow {
				if kerr := req.ReadFrom(tc.body); kerr == nil {
					t.Fatalf("kmsg decodes what the walk refused (%v)", err)
				}
			}
		})
	}
}

// TestDataSchemasMatchKmsg: the __consumer_offsets values kmsg writes, at
// every version, filled or not, pass CheckVersionedData consuming every
// byte; a tag-count bomb in a v4 value is refused.
func TestDataSchemasMatchKmsg(t *testing.T) {
	for name, mk := range map[string]func() versionedData{
		"GroupMetadataValue": func() versionedData { return &groupValue{kmsg.NewGroupMetadataValue()} },
		"OffsetCommitValue":  func() versionedData { return &offsetValue{kmsg.NewOffsetCommitValue()} },
	} {
		s := dataSchemas[name]
		for v := s.min; v <= s.max; v++ {
			for _, filled := range []bool{false, true} {
				val := mk()
				if filled {
					fillValue(reflect.ValueOf(val).Elem().Field(0), 0)
				}
				val.SetVersion(v)
				b := val.AppendTo(nil)
				if _, err := CheckVersionedData(name, b); err != nil {
					t.Errorf("%s v%d (filled %v): %v", name, v, filled, err)
				}
				w := walker{src: b[2:], v: v, flexible: v >= s.flexMin}
				if err := w.structFields(s.fields); err != nil || len(w.src) != 0 {
					t.Errorf("%s v%d (filled %v): %v, %d bytes left", name, v, filled, err, len(w.src))
				}
			}
		}
		// v4 ending in a tagged-field count of 2^31-16 is refused; one of
		// 2^32-16 is no field to Kafka (a negative Java int): the copy to
		// decode says zero, the record itself is left as it was.
		val := mk()
		val.SetVersion(4)
		b := val.AppendTo(nil)
		b = append(b[:len(b)-1], 0xf0, 0xff, 0xff, 0xff, 0x07)
		if _, err := CheckVersionedData(name, b); !errors.Is(err, errBound) {
			t.Errorf("%s v4 tag bomb: %v", name, err)
		}
		b[len(b)-1] = 0x0f
		got, err := CheckVersionedData(name, b)
		if err != nil || !bytes.Equal(got[len(got)-5:], []byte{0x80, 0x80, 0x80, 0x80, 0}) || b[len(b)-1] != 0x0f {
			t.Errorf("%s v4 negative tag count: %v, % x", name, err, got)
		}
	}
}

type versionedData interface {
	SetVersion(int16)
	AppendTo([]byte) []byte
}

type groupValue struct{ kmsg.GroupMetadataValue }

func (g *groupValue) SetVersion(v int16) { g.Version = v }

type offsetValue struct{ kmsg.OffsetCommitValue }

func (o *offsetValue) SetVersion(v int16) { o.Version = v }

// TestParseRequestKafka39Range: a key or version kmsg decodes but Kafka 3.9
// does not know is refused as Kafka refuses it (RequestContext.parseRequest:
// unknown key or unsupported version, the connection is closed), so every
// body decoded is one the bound walk has a schema for.
func TestParseRequestKafka39Range(t *testing.T) {
	for _, tc := range []struct {
		key, version int16
		want         error
	}{
		{88, 0, ErrUnknownAPIKey},      // StreamsGroupHeartbeat: Kafka 4
		{3, 13, ErrUnsupportedVersion}, // Metadata v13: Kafka 4
		{0, 12, ErrUnsupportedVersion}, // Produce v12
		{18, 5, ErrUnsupportedVersion}, // ApiVersions v5 (answered, KIP-511)
		{3, 12, ErrMalformedRequest},   // known: decoded, here an empty body
	} {
		frame := []byte{byte(tc.key >> 8), byte(tc.key), byte(tc.version >> 8), byte(tc.version), 0, 0, 0, 1, 0xff, 0xff, 0}
		_, req, err := ParseRequest(frame)
		if !errors.Is(err, tc.want) || req != nil {
			t.Errorf("key %d v%d: %v, want %v", tc.key, tc.version, err, tc.want)
		}
	}
}

// TestIssue15FrameAnswered: issue 15's frame declares 2^32-16 tagged
// fields, which Kafka's generated reader holds in a Java int: negative, so
// it reads none and serves an all-topics Metadata v12. So do we, at once.
func TestIssue15FrameAnswered(t *testing.T) {
	frame := hostileMetadataFrame()
	start := time.Now()
	hdr, req, err := ParseRequest(frame)
	if err != nil || hdr.APIKey != 3 || hdr.APIVersion != 12 {
		t.Fatalf("ParseRequest: %+v, %v", hdr, err)
	}
	md := req.(*kmsg.MetadataRequest)
	if md.Topics != nil || !md.AllowAutoTopicCreation || md.UnknownTags.Len() != 0 {
		t.Fatalf("decoded %+v", md)
	}
	if !bytes.HasSuffix(frame, []byte{0x80, 0x80, 0x80, 0x80, 0}) {
		t.Fatalf("count not rewritten: % x", frame)
	}
	t.Logf("parsed in %v", time.Since(start))
}

// clearUnknownTags empties every kmsg.Tags in v.
func clearUnknownTags(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			clearUnknownTags(v.Elem())
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			clearUnknownTags(v.Index(i))
		}
	case reflect.Struct:
		if tags, ok := v.Addr().Interface().(*kmsg.Tags); ok {
			*tags = kmsg.Tags{}
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				clearUnknownTags(v.Field(i))
			}
		}
	}
}

// kmsgOnlyTags are the requests where kmsg writes and reads a tagged field
// that Kafka 3.9 does not know at that version: dropped like any unknown
// tag, it reads as its default, as in Kafka.
func kmsgOnlyTags() map[string]string {
	m := map[string]string{
		"FetchSnapshotRequest v0":   "ReplicaDirectoryId: Kafka 3.9 from v1",
		"BrokerHeartbeatRequest v0": "OfflineLogDirs: Kafka 3.9 from v1; CordonedLogDirs: Kafka 4",
		"BrokerHeartbeatRequest v1": "CordonedLogDirs: Kafka 4",
	}
	for v := 12; v <= 17; v++ {
		m[fmt.Sprintf("FetchRequest v%d", v)] = "partitions' HighWatermark (tag 1): not in Kafka 3.9"
	}
	return m
}

// TestUnknownTagsDropped: every key and version, filled with an unknown
// tag (99) in every struct, parses to what kmsg decodes from the body
// without them: the in-place compaction keeps every other byte.
func TestUnknownTagsDropped(t *testing.T) {
	n := 0
	kmsgOnly := kmsgOnlyTags()
	forEachSchemaVersion(t, func(t *testing.T, s *msgSchema, proto kmsg.Request, v int16) {
		if v < s.flexMin {
			return
		}
		req := kmsg.RequestForKey(proto.Key())
		fillValue(reflect.ValueOf(req).Elem(), 0)
		req.SetVersion(v)
		frame := buildRequest(req, 1, strp("c"), nil)
		body := req.AppendTo(nil)
		want := kmsg.RequestForKey(proto.Key())
		want.SetVersion(v)
		if err := want.ReadFrom(body); err != nil {
			t.Fatalf("%s v%d: %v", s.name, v, err)
		}
		clearUnknownTags(reflect.ValueOf(want))
		_, got, err := ParseRequest(frame)
		if err != nil {
			t.Errorf("%s v%d: %v", s.name, v, err)
			return
		}
		// Unknown tags inside a known tagged field's value stay (its size
		// would change): compared without them.
		clearUnknownTags(reflect.ValueOf(got))
		n++
		name := fmt.Sprintf("%s v%d", s.name, v)
		_, listed := kmsgOnly[name]
		if same := reflect.DeepEqual(got, want); same == listed {
			t.Errorf("%s: decoded the same %v, listed in kmsgOnlyTags %v\n%+v\nwant\n%+v", name, same, listed, got, want)
		}
	})
	t.Logf("%d flexible bodies", n)
}

// TestUnknownTagsCostNothing: 100,000 small structs each carrying one
// unknown tag (4 bytes each) would have cost kmsg a map apiece, 92 times
// the frame; dropped, they cost what they weigh.
func TestUnknownTagsCostNothing(t *testing.T) {
	const n = 100000
	b := []byte{0, 37, 0, 3, 0, 0, 0, 1, 0xff, 0xff, 0} // CreatePartitions v3, header v2
	b = append(b, 2, 2, 'a', 0, 0, 0, 5)                // one topic "a", count 5
	b = appendUvarint(b, n+1)                           // n assignments
	for i := 0; i < n; i++ {
		b = append(b, 1, 1, 0, 0) // no broker ids; one tag: key 0, size 0
	}
	b = append(b, 0, 0, 0, 0x75, 0x30, 0, 0) // topic tags, timeout, validate, tags
	wall, alloc, err := checkParseCost(t, b)
	if err != nil {
		t.Fatal(err)
	}
	_, req, _ := ParseRequest(append([]byte(nil), b...))
	cp := req.(*kmsg.CreatePartitionsRequest)
	if len(cp.Topics) != 1 || len(cp.Topics[0].Assignment) != n || cp.TimeoutMillis != 30000 {
		t.Fatalf("decoded %d topics, %d assignments, timeout %d", len(cp.Topics), len(cp.Topics[0].Assignment), cp.TimeoutMillis)
	}
	t.Logf("%d bytes parsed in %v, %d bytes allocated (%.1f per frame byte)", len(b), wall, alloc, float64(alloc)/float64(len(b)))
}

// TestResponseSchemasMatchKmsg: for every key and version, the bound walk
// over a kmsg-encoded response (every field filled, or none) consumes
// exactly its bytes: the inter-broker client walks peers' responses.
func TestResponseSchemasMatchKmsg(t *testing.T) {
	n := 0
	forEachSchemaVersion(t, func(t *testing.T, _ *msgSchema, proto kmsg.Request, v int16) {
		s := responseSchema(proto.Key())
		if s == nil || v < s.min || v > s.max {
			t.Errorf("key %d v%d: no Kafka 3.9 response schema", proto.Key(), v)
			return
		}
		for _, filled := range []bool{false, true} {
			if walkKmsgBody(t, s, proto.ResponseKind(), v, filled) {
				n++
			}
		}
	})
	t.Logf("%d response bodies walked", n)
}
