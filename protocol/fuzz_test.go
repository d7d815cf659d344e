package protocol

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzParseRequest: ParseRequest never panics, what it accepts re-encodes
// to a body kmsg decodes the same way, and every input costs what it weighs
// (issue 15): at most parseMaxWall of wall time and parseAllocBound bytes
// allocated. What the bound walk refuses, kmsg refuses too. Seeds live in
// testdata/fuzz/FuzzParseRequest (regenerate with KAFKAZK_GEN_CORPUS=1);
// hostileSeeds adds, for every API key, a body with each of its counts and
// lengths in turn set to the largest value its encoding holds.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range corpusSeeds() {
		f.Add(seed.frame)
	}
	for _, seed := range hostileSeeds(f) {
		f.Add(seed.frame)
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		// ParseRequest may rewrite a tag count in place: the fuzzer's
		// input must not change.
		frame := append([]byte(nil), input...)
		_, _, err := checkParseCost(t, frame)
		if err != nil {
			if errors.Is(err, errBound) {
				checkKmsgRefuses(t, frame, err)
			}
		}
		hdr, req, err := ParseRequest(append([]byte(nil), input...))
		if err != nil {
			if req != nil {
				t.Fatalf("request returned with error %v", err)
			}
			if errors.Is(err, ErrUnsupportedVersion) && hdr.APIKey != apiVersionsKey && kmsg.RequestForKey(hdr.APIKey) == nil {
				t.Fatalf("unsupported version for unknown key %d", hdr.APIKey)
			}
			return
		}
		if req.Key() != hdr.APIKey || req.GetVersion() != hdr.APIVersion {
			t.Fatalf("request %d v%d for header %+v", req.Key(), req.GetVersion(), hdr)
		}
		again := kmsg.RequestForKey(hdr.APIKey)
		again.SetVersion(hdr.APIVersion)
		if err := again.ReadFrom(req.AppendTo(nil)); err != nil {
			t.Fatalf("re-encoded %s v%d does not decode: %v", kmsg.NameForKey(hdr.APIKey), hdr.APIVersion, err)
		}
	})
}

// The cost bounds: generous for a loaded 2-core box under -race, far below
// the tens of seconds one hostile tag count cost before the bound walk.
// 50 ms, and 1 µs more per byte (for large frames under -race).
func parseMaxWall(frameLen int) time.Duration {
	return 50*time.Millisecond + time.Duration(frameLen)*time.Microsecond
}

func parseAllocBound(frameLen int) uint64 { return 64*uint64(frameLen) + 64<<10 }

// parseCost measures one ParseRequest of a copy of frame: wall time and
// bytes allocated (process-wide, so other goroutines may add noise; callers
// retry).
func parseCost(frame []byte) (time.Duration, uint64, error) {
	frame = append([]byte(nil), frame...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, _, err := ParseRequest(frame)
	wall := time.Since(start)
	runtime.ReadMemStats(&after)
	return wall, after.TotalAlloc - before.TotalAlloc, err
}

// checkParseCost fails t when parsing frame takes more than parseMaxWall or
// allocates more than parseAllocBound in the best of three runs.
func checkParseCost(t testing.TB, frame []byte) (time.Duration, uint64, error) {
	t.Helper()
	wall, alloc, err := parseCost(frame)
	for try := 0; try < 2 && (wall > parseMaxWall(len(frame)) || alloc > parseAllocBound(len(frame))); try++ {
		w, a, _ := parseCost(frame)
		wall, alloc = min(wall, w), min(alloc, a)
	}
	if wall > parseMaxWall(len(frame)) {
		t.Fatalf("a %d-byte frame took %v to parse (bound %v): %v", len(frame), wall, parseMaxWall(len(frame)), err)
	}
	if alloc > parseAllocBound(len(frame)) {
		t.Fatalf("a %d-byte frame allocated %d bytes to parse (bound %d): %v", len(frame), alloc, parseAllocBound(len(frame)), err)
	}
	return wall, alloc, err
}

// checkKmsgRefuses: a body the bound walk refused is one kmsg refuses too
// (the walk never turns away what the decoder would take). Bodies holding a
// uvarint of 2^21 or more are not tried: kmsg alone may loop on them.
func checkKmsgRefuses(t *testing.T, frame []byte, walkErr error) {
	t.Helper()
	r := reader{src: frame}
	key, version := r.int16(), r.int16()
	r.int32()
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	hv := requestHeaderVersion(key, version, req.IsFlexible())
	if hv >= 1 {
		r.nullableString()
	}
	if hv >= 2 {
		r.skipTags()
	}
	if r.bad {
		t.Fatalf("walk refused a body behind a bad header: %v", walkErr)
	}
	for i := 0; i+2 < len(r.src); i++ {
		if r.src[i]&r.src[i+1]&r.src[i+2]&0x80 != 0 {
			return
		}
	}
	if err := req.ReadFrom(r.src); err == nil {
		t.Fatalf("kmsg decodes %s v%d that the bound walk refused: %v", kmsg.NameForKey(key), version, walkErr)
	}
}

// hostileSeed is a frame and whether it must be refused.
type hostileSeed struct {
	frame  []byte
	refuse bool
}

// hostileSeeds: for every key Kafka 3.9 and kmsg know, at its newest
// version and its newest non-flexible one, a filled body (bound_test.go's
// fillValue) with each count or length in turn set to the largest its
// encoding holds while positive to Kafka's Java int: 2^31-16 as a uvarint
// (refused), 2^31-1 as an int32, 2^15-1 as an int16; and each tag count also
// at 2^32-16, which Kafka reads as negative, so no field (cheap either way).
// The first 24 counts of each body.
func hostileSeeds(t testing.TB) []hostileSeed {
	var out []hostileSeed
	for key := range requestSchemas {
		s := requestSchemas[key]
		proto := kmsg.RequestForKey(int16(key))
		if s == nil || proto == nil {
			continue
		}
		top := min(s.max, proto.MaxVersion())
		versions := []int16{top}
		if s.flexMin <= top && s.flexMin-1 >= s.min {
			versions = append(versions, s.flexMin-1)
		}
		for _, v := range versions {
			req := kmsg.RequestForKey(int16(key))
			fillValue(reflect.ValueOf(req).Elem(), 0)
			req.SetVersion(v)
			frame := buildRequest(req, 1, strp("hostile"), nil)
			body := req.AppendTo(nil)
			type count struct {
				fromEnd  int
				flexible bool
				k        wkind
			}
			var counts []count
			w := walker{src: body, v: v, flexible: v >= s.flexMin, onCount: func(fromEnd int, flexible bool, k wkind) {
				counts = append(counts, count{fromEnd, flexible, k})
			}}
			if err := w.structFields(s.fields); err != nil {
				t.Fatalf("%s v%d: %v", s.name, v, err)
			}
			for i, c := range counts {
				if i == 24 {
					break
				}
				pos := len(frame) - c.fromEnd
				var head, tail []byte
				head = append(head, frame[:pos]...)
				switch {
				case c.flexible:
					n := 1
					for pos+n-1 < len(frame) && frame[pos+n-1]&0x80 != 0 {
						n++
					}
					if c.k == 0 { // a tag count
						neg := append(append([]byte(nil), head...), 0xf0, 0xff, 0xff, 0xff, 0x0f)
						out = append(out, hostileSeed{append(neg, frame[pos+n:]...), false})
					}
					head = append(head, 0xf0, 0xff, 0xff, 0xff, 0x07)
					tail = frame[pos+n:]
				case c.k == kString:
					head = append(head, 0x7f, 0xff)
					tail = frame[pos+2:]
				default:
					head = append(head, 0x7f, 0xff, 0xff, 0xff)
					tail = frame[pos+4:]
				}
				out = append(out, hostileSeed{append(head, tail...), true})
			}
		}
	}
	return out
}

// TestHostileSeedCosts reports the dearest hostile seed, and checks that
// each of them is refused.
func TestHostileSeedCosts(t *testing.T) {
	var worstWall time.Duration
	var worstRatio float64
	seeds := append(hostileSeeds(t), hostileSeed{hostileMetadataFrame(), false})
	for _, seed := range seeds {
		frame := seed.frame
		wall, alloc, err := checkParseCost(t, frame)
		if err == nil && seed.refuse {
			t.Errorf("hostile frame accepted: % x", frame[:min(len(frame), 64)])
		}
		worstWall = max(worstWall, wall)
		worstRatio = max(worstRatio, float64(alloc)/float64(len(frame)))
	}
	t.Logf("%d hostile frames: slowest %v, most allocated %.1f bytes per frame byte", len(seeds), worstWall, worstRatio)
}

type corpusSeed struct {
	name  string
	frame []byte
}

func corpusSeeds() []corpusSeed {
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	av.ClientSoftwareName = "franz-go"
	av.ClientSoftwareVersion = "1.18.0"

	md := kmsg.NewPtrMetadataRequest()
	md.Version = 12
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = strp("orders")
	md.Topics = append(md.Topics, mt)
	md.IncludeTopicAuthorizedOperations = true

	pr := kmsg.NewPtrProduceRequest()
	pr.Version = 9
	pr.Acks = -1
	pr.TimeoutMillis = 30000
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "orders"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = recordBatch(0, 2, "value")
	pt.Partitions = append(pt.Partitions, pp)
	pr.Topics = append(pr.Topics, pt)

	fr := kmsg.NewPtrFetchRequest()
	fr.Version = 12
	fr.ReplicaID = -1
	fr.MaxWaitMillis = 500
	fr.MinBytes = 1
	fr.MaxBytes = 52428800
	fr.IsolationLevel = 1
	fr.SessionEpoch = 0 // new session; -1 here would look like a long uvarint to the fuzz filter
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "orders"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset = 10
	fp.PartitionMaxBytes = 1048576
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	fr.ForgottenTopics = append(fr.ForgottenTopics, kmsg.FetchRequestForgottenTopic{Topic: "old", Partitions: []int32{1}})

	apiv3 := buildRequest(av, 1, strp("rdkafka"), nil)
	meta12 := buildRequest(md, 2, strp("client"), []tag{{key: 3, val: []byte("tagged")}})
	produce9 := buildRequest(pr, 3, strp("producer-1"), nil)
	fetch12 := buildRequest(fr, 4, nil, nil)

	futureAPIV := append([]byte(nil), apiv3...)
	futureAPIV[3] = 42
	return []corpusSeed{
		{"apiversions-v3", apiv3},
		{"metadata-v12", meta12},
		{"produce-v9", produce9},
		{"fetch-v12", fetch12},
		{"apiversions-future", futureAPIV},
		{"junk-unknown-key", []byte{0x7f, 0xff, 0, 0, 0, 0, 0, 1, 0xff, 0xff}},
		{"junk-truncated-produce", produce9[:len(produce9)/2]},
		{"junk-trailing", append(append([]byte(nil), fetch12...), 1, 2, 3)},
		{"junk-huge-array", []byte{0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff}},
		{"junk-empty", []byte{}},
		{"hostile-metadata-v12-tags", hostileMetadataFrame()},
	}
}

// hostileMetadataFrame is issue 15's 30-byte Metadata v12 frame (26 bytes
// after its size): header v2 with client id "hostile", then a body of null
// topics, allow_auto_topic_creation, include_topic_authorized_operations and
// a tagged-field section declaring 2^32-16 fields with nothing after it.
func hostileMetadataFrame() []byte {
	b := []byte{0, 3, 0, 12, 0, 0, 0, 7, 0, 7}
	b = append(b, "hostile"...)
	b = append(b, 0)                               // header tags
	b = append(b, 0, 1, 0)                         // topics null, auto create, authorized ops
	return append(b, 0xf0, 0xff, 0xff, 0xff, 0x0f) // 4,294,967,280 tagged fields
}

// TestGenerateFuzzCorpus rewrites the checked-in seed corpus.
func TestGenerateFuzzCorpus(t *testing.T) {
	if os.Getenv("KAFKAZK_GEN_CORPUS") == "" {
		t.Skip("set KAFKAZK_GEN_CORPUS=1 to regenerate testdata/fuzz/FuzzParseRequest")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range corpusSeeds() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.frame)))
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
