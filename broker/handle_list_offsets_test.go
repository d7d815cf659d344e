package broker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/storage"
)

// tsBatch is a v2 batch, one record per timestamp, null keys.
func tsBatch(ts ...int64) []byte {
	b := kmsg.RecordBatch{PartitionLeaderEpoch: -1, Magic: 2, LastOffsetDelta: int32(len(ts) - 1), FirstTimestamp: ts[0],
		MaxTimestamp: slices.Max(ts), ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(ts))}
	for i, x := range ts {
		var body []byte
		body = append(body, 0)
		body = binary.AppendVarint(body, x-ts[0])
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, 1)
		body = append(body, 'x')
		body = binary.AppendVarint(body, 0)
		b.Records = append(binary.AppendVarint(b.Records, int64(len(body))), body...)
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// listOffsetsAt sends one partition's query of topic t at a version, as
// a client would: the request is encoded and decoded with kmsg at that
// version, answered by the handler, and the response encoded and decoded
// back at that version.
func listOffsetsAt(t *testing.T, s *Server, version int16, replicaID int32, isolation int8, parts ...kmsg.ListOffsetsRequestTopicPartition) []kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	if vr := supportedAPIs[kmsg.ListOffsets]; version < vr.min || version > vr.max {
		t.Fatalf("ListOffsets v%d not advertised (%d-%d)", version, vr.min, vr.max)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID, req.IsolationLevel = version, replicaID, isolation
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic, rt.Partitions = "t", parts
	req.Topics = append(req.Topics, rt)
	decoded := kmsg.NewPtrListOffsetsRequest()
	decoded.Version = version
	if err := decoded.ReadFrom(req.AppendTo(nil)); err != nil {
		t.Fatalf("v%d request: %v", version, err)
	}
	resp := s.handleListOffsets(decoded)
	if resp.GetVersion() != version {
		t.Fatalf("response version %d, want %d", resp.GetVersion(), version)
	}
	got := kmsg.NewPtrListOffsetsResponse()
	got.Version = version
	if err := got.ReadFrom(resp.AppendTo(nil)); err != nil {
		t.Fatalf("v%d response: %v", version, err)
	}
	if len(got.Topics) != 1 || got.Topics[0].Topic != "t" || len(got.Topics[0].Partitions) != len(parts) {
		t.Fatalf("v%d response %+v", version, got)
	}
	return got.Topics[0].Partitions
}

func listOffsetsPart(partition int32, ts int64, maxNum, currentEpoch int32) kmsg.ListOffsetsRequestTopicPartition {
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition, rp.Timestamp, rp.MaxNumOffsets, rp.CurrentLeaderEpoch = partition, ts, maxNum, currentEpoch
	return rp
}

// newListOffsetsLeader is broker 1 leading t-0 in leader epoch 3 with the
// ISR given, its log holding two segments: offsets 0-2 (timestamps 100,
// 300, 200) and 3-4 (150, 250).
func newListOffsetsLeader(t *testing.T, isr []int32) (*Server, *partition) {
	t.Helper()
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 3, isr, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.replicas.get("t", 0)
	if _, err := p.appendRecords(tsBatch(100, 300, 200), 1); err != nil {
		t.Fatal(err)
	}
	if err := p.log.Roll(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.appendRecords(tsBatch(150, 250), 1); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// Every version from 0 to Kafka 3.9's 9 and every special timestamp,
// as KafkaApis.handleListOffsetRequestV0/V1AndAbove answer them: v0
// accepts only -1 and -2; MAX_TIMESTAMP (-3) needs v7,
// EARLIEST_LOCAL_TIMESTAMP (-4) v8, LATEST_TIERED_TIMESTAMP (-5) v9, else
// UNSUPPORTED_VERSION. Without tiered storage -4 is the log start offset
// and -5 is offset -1 with epoch -1 (UnifiedLog.fetchOffsetByTimestamp).
// The leader epoch is in the response from v4.
func TestListOffsetsVersions(t *testing.T) {
	s, _ := newListOffsetsLeader(t, []int32{1})
	type want struct {
		code       int16
		offset, ts int64
		epoch      int32
		oldStyle   []int64
		minVersion int16 // below it: UNSUPPORTED_VERSION
	}
	tests := []struct {
		ts   int64
		v0   want
		v1up want
	}{
		{-1, want{oldStyle: []int64{5}}, want{offset: 5, ts: -1, epoch: 3}},
		{-2, want{oldStyle: []int64{0}}, want{offset: 0, ts: -1, epoch: 3}},
		{-3, want{code: kerr.UnsupportedVersion.Code}, want{offset: 1, ts: 300, epoch: 3, minVersion: 7}},
		{-4, want{code: kerr.UnsupportedVersion.Code}, want{offset: 0, ts: -1, epoch: 3, minVersion: 8}},
		{-5, want{code: kerr.UnsupportedVersion.Code}, want{offset: -1, ts: -1, epoch: -1, minVersion: 9}},
		{-6, want{code: kerr.UnsupportedVersion.Code}, want{minVersion: 100}},
		{250, want{oldStyle: []int64{}}, want{offset: 1, ts: 300, epoch: 3}},
		{160, want{oldStyle: []int64{}}, want{offset: 1, ts: 300, epoch: 3}},
		{300, want{oldStyle: []int64{}}, want{offset: 1, ts: 300, epoch: 3}},
		{301, want{oldStyle: []int64{}}, want{offset: -1, ts: -1, epoch: -1}},
	}
	for v := int16(0); v <= 9; v++ {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("v%d/ts%d", v, tc.ts), func(t *testing.T) {
				got := listOffsetsAt(t, s, v, -1, 0, listOffsetsPart(0, tc.ts, 1, -1))[0]
				if v == 0 {
					w := tc.v0
					if got.ErrorCode != w.code || !slices.Equal(got.OldStyleOffsets, w.oldStyle) {
						t.Fatalf("got code %d offsets %v, want code %d offsets %v", got.ErrorCode, got.OldStyleOffsets, w.code, w.oldStyle)
					}
					return
				}
				w := tc.v1up
				if v < w.minVersion {
					w = want{code: kerr.UnsupportedVersion.Code, offset: -1, ts: -1, epoch: -1}
				}
				if v < 4 {
					w.epoch = -1 // not in the response before v4
				}
				if got.ErrorCode != w.code || got.Offset != w.offset || got.Timestamp != w.ts || got.LeaderEpoch != w.epoch {
					t.Fatalf("got code %d offset %d ts %d epoch %d, want code %d offset %d ts %d epoch %d",
						got.ErrorCode, got.Offset, got.Timestamp, got.LeaderEpoch, w.code, w.offset, w.ts, w.epoch)
				}
			})
		}
	}
}

// A v0 query lists segment base offsets and the LEO by the segments' file
// modification times, highest first, at most max_num_offsets of them
// (UnifiedLog.legacyFetchOffsetsBefore). A consumer (replica id -1) never
// sees past the HW: offsets above it are replaced by the HW
// (Partition.legacyFetchOffsetsForTimestamp); a follower and the
// debugging replica id (-2) see the LEO. Only -2 may ask a follower.
func TestListOffsetsV0MaxNumOffsets(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 3, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.replicas.get("t", 0)
	// Segments at 0, 2, 5 and 9; LEO 12.
	for i, n := range []int{2, 3, 4, 3} {
		if i > 0 {
			if err := p.log.Roll(); err != nil {
				t.Fatal(err)
			}
		}
		ts := make([]int64, n)
		for j := range ts {
			ts[j] = 1000
		}
		if _, err := p.appendRecords(tsBatch(ts...), 1); err != nil {
			t.Fatal(err)
		}
	}
	for i, base := range []int64{0, 2, 5, 9} {
		mtime := time.UnixMilli(int64(10_000 * (i + 1)))
		if err := os.Chtimes(filepath.Join(p.log.Dir(), fmt.Sprintf("%020d.log", base)), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	// Follower 2 has fetched up to 7: HW 7.
	if _, err := p.followerFetch(2, 7, 0, p.log.LogEndOffset(), time.Now().UnixMilli(), true); err != nil {
		t.Fatal(err)
	}
	if hw := p.highWatermark(); hw != 7 {
		t.Fatalf("HW %d, want 7", hw)
	}
	tests := []struct {
		replica int32
		ts      int64
		max     int32
		want    []int64
	}{
		{-1, -1, 1, []int64{7}},    // Burrow: latest, one offset
		{-1, -1, 2, []int64{7}},    // [12, 9]: both above the HW
		{-1, -1, 3, []int64{7, 5}}, // [12, 9, 5]
		{-1, -1, 10, []int64{7, 5, 2, 0}},
		{-1, -1, 0, []int64{}},
		{-1, -2, 1, []int64{0}},
		{-1, -2, 5, []int64{0}},
		{-1, 25_000, 10, []int64{2, 0}},
		{-1, 40_000, 2, []int64{7, 5}}, // [9, 5]: 9 is above the HW
		{-1, 9_999, 10, []int64{}},
		{2, -1, 1, []int64{12}},
		{2, -1, 10, []int64{12, 9, 5, 2, 0}},
		{2, 40_000, 3, []int64{9, 5, 2}},
		{-2, -1, 2, []int64{12, 9}},
	}
	for _, tc := range tests {
		got := listOffsetsAt(t, s, 0, tc.replica, 0, listOffsetsPart(0, tc.ts, tc.max, -1))[0]
		if got.ErrorCode != 0 || !slices.Equal(got.OldStyleOffsets, tc.want) {
			t.Errorf("replica %d ts %d max %d: code %d offsets %v, want %v", tc.replica, tc.ts, tc.max, got.ErrorCode, got.OldStyleOffsets, tc.want)
		}
	}
	// A negative max_num_offsets fails as Kafka's negative array size.
	if got := listOffsetsAt(t, s, 0, -1, 0, listOffsetsPart(0, -1, -1, -1))[0]; got.ErrorCode != kerr.UnknownServerError.Code {
		t.Errorf("negative max: code %d", got.ErrorCode)
	}
	// An unknown partition; the same partition twice is answered twice in v0.
	got := listOffsetsAt(t, s, 0, -1, 0, listOffsetsPart(9, -1, 1, -1), listOffsetsPart(0, -1, 1, -1), listOffsetsPart(0, -1, 1, -1))
	if got[0].ErrorCode != kerr.UnknownTopicOrPartition.Code || got[1].ErrorCode != 0 || got[2].ErrorCode != 0 || !slices.Equal(got[2].OldStyleOffsets, []int64{7}) {
		t.Errorf("unknown and duplicate partitions: %+v", got)
	}
}

// KafkaApis.handleListOffsetRequestV1AndAbove and
// Partition.fetchOffsetForTimestamp: a partition asked twice is
// INVALID_REQUEST (v1+); the current leader epoch is checked before
// leadership; a follower answers only the debugging replica id; a client
// sees up to the HW, a replica up to the LEO; a leader whose HW has not
// reached its epoch's start offset answers a client's latest (and a
// lookup finding nothing below the HW) with OFFSET_NOT_AVAILABLE from v5,
// LEADER_NOT_AVAILABLE before.
func TestListOffsetsErrors(t *testing.T) {
	s, p := newListOffsetsLeader(t, []int32{1, 2})
	code := func(parts []kmsg.ListOffsetsResponseTopicPartition, i int) int16 { return parts[i].ErrorCode }

	// HW 0 (follower 2 has not fetched), LEO 5; the epoch began at 0.
	got := listOffsetsAt(t, s, 6, -1, 0, listOffsetsPart(0, -1, 0, 3), listOffsetsPart(0, -3, 0, -1))
	if code(got, 0) != kerr.InvalidRequest.Code || code(got, 1) != kerr.InvalidRequest.Code || got[0].Offset != -1 {
		t.Fatalf("duplicate partition: %+v", got)
	}
	if got := listOffsetsAt(t, s, 7, -1, 0, listOffsetsPart(0, -1, 0, 3))[0]; got.ErrorCode != 0 || got.Offset != 0 {
		t.Fatalf("client latest at HW 0: %+v", got)
	}
	if got := listOffsetsAt(t, s, 7, 2, 0, listOffsetsPart(0, -1, 0, 3))[0]; got.ErrorCode != 0 || got.Offset != 5 {
		t.Fatalf("replica latest: %+v", got)
	}
	// MAX_TIMESTAMP's record (offset 1) is above the client's HW, not the replica's LEO.
	if got := listOffsetsAt(t, s, 7, -1, 1, listOffsetsPart(0, -3, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != -1 || got.Timestamp != -1 {
		t.Fatalf("client max timestamp above HW: %+v", got)
	}
	if got := listOffsetsAt(t, s, 7, 2, 0, listOffsetsPart(0, -3, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != 1 || got.Timestamp != 300 {
		t.Fatalf("replica max timestamp: %+v", got)
	}
	// IsolationLevel.forId throws for an unknown level, inside the
	// per-partition try of a client request: UNKNOWN_SERVER_ERROR; a
	// replica's level is not read.
	if got := listOffsetsAt(t, s, 2, -1, 2, listOffsetsPart(0, -1, 0, -1))[0]; got.ErrorCode != kerr.UnknownServerError.Code || got.Offset != -1 {
		t.Fatalf("client with isolation level 2: %+v", got)
	}
	if got := listOffsetsAt(t, s, 2, 2, 2, listOffsetsPart(0, -1, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != 5 {
		t.Fatalf("replica with isolation level 2: %+v", got)
	}
	for _, tc := range []struct {
		epoch int32
		want  int16
	}{{2, kerr.FencedLeaderEpoch.Code}, {4, kerr.UnknownLeaderEpoch.Code}} {
		if got := listOffsetsAt(t, s, 4, -1, 0, listOffsetsPart(0, -1, 0, tc.epoch))[0]; got.ErrorCode != tc.want || got.Offset != -1 {
			t.Fatalf("current leader epoch %d: %+v", tc.epoch, got)
		}
	}

	// Re-elected in epoch 4 with the HW still 0: the epoch starts at 5.
	if err := leaderAndIsr(t, s, 0, 1, 4, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	for v := int16(1); v <= 9; v++ {
		want := kerr.OffsetNotAvailable.Code
		if v < 5 {
			want = kerr.LeaderNotAvailable.Code
		}
		got := listOffsetsAt(t, s, v, -1, 0, listOffsetsPart(0, -1, 0, -1))[0]
		if got.ErrorCode != want || got.Offset != -1 {
			t.Fatalf("v%d latest with HW behind the epoch start: %+v", v, got)
		}
		got = listOffsetsAt(t, s, v, -1, 0, listOffsetsPart(0, 100, 0, -1))[0]
		if got.ErrorCode != want {
			t.Fatalf("v%d lookup with HW behind the epoch start: %+v", v, got)
		}
		if got := listOffsetsAt(t, s, v, -1, 0, listOffsetsPart(0, -2, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != 0 {
			t.Fatalf("v%d earliest: %+v", v, got)
		}
		if got := listOffsetsAt(t, s, v, 2, 0, listOffsetsPart(0, -1, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != 5 {
			t.Fatalf("v%d replica latest: %+v", v, got)
		}
	}

	// Now a follower (leader 2, epoch 5): clients and replicas get
	// NOT_LEADER_OR_FOLLOWER, unless their epoch is fenced; the
	// debugging replica id is answered from the local log.
	if err := leaderAndIsr(t, s, 0, 2, 5, []int32{1, 2}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if got := listOffsetsAt(t, s, 7, -1, 0, listOffsetsPart(0, -1, 0, -1))[0]; got.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("follower, client: %+v", got)
	}
	if got := listOffsetsAt(t, s, 7, -1, 0, listOffsetsPart(0, -1, 0, 4))[0]; got.ErrorCode != kerr.FencedLeaderEpoch.Code {
		t.Fatalf("follower, fenced client: %+v", got)
	}
	if got := listOffsetsAt(t, s, 0, -1, 0, listOffsetsPart(0, -1, 1, -1))[0]; got.ErrorCode != kerr.NotLeaderForPartition.Code {
		t.Fatalf("follower, v0 client: %+v", got)
	}
	if got := listOffsetsAt(t, s, 7, -2, 0, listOffsetsPart(0, -1, 0, 5))[0]; got.ErrorCode != 0 || got.Offset != p.log.LogEndOffset() || got.LeaderEpoch != 5 {
		t.Fatalf("follower, debugging replica: %+v", got)
	}
	if got := listOffsetsAt(t, s, 0, -2, 0, listOffsetsPart(0, -1, 2, -1))[0]; got.ErrorCode != 0 || !slices.Equal(got.OldStyleOffsets, []int64{5, 3}) {
		t.Fatalf("follower, v0 debugging replica: %+v", got)
	}
}

// Burrow's question over a connection: ListOffsets v0, latest, one offset
// (it used to close the connection). The request goes through the
// connection's parsing and dispatch, and the response decodes at v0.
func TestListOffsetsV0OverConnection(t *testing.T) {
	s, _ := newListOffsetsLeader(t, []int32{1})
	addr, _ := serveConns(t, s)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.Version, req.ReplicaID = 0, -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic, rt.Partitions = "t", []kmsg.ListOffsetsRequestTopicPartition{listOffsetsPart(0, -1, 1, -1)}
	req.Topics = append(req.Topics, rt)
	sendRequest(t, c, req, 5)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		t.Fatalf("v0 response: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatal(err)
	}
	if corr := int32(binary.BigEndian.Uint32(body)); corr != 5 {
		t.Fatalf("correlation id %d", corr)
	}
	resp := kmsg.NewPtrListOffsetsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body[4:]); err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("response %+v", resp)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || !slices.Equal(p.OldStyleOffsets, []int64{5}) {
		t.Fatalf("partition %+v, want offsets [5]", p)
	}
}

// A follower whose LEO is past the leader's gets OFFSET_OUT_OF_RANGE and
// asks the leader's latest offset, then truncates to it
// (ReplicaFetcherThread fetchLatestOffsetFromLeader). Its latest and
// earliest queries go in separate requests: one request asking the same
// partition twice is refused INVALID_REQUEST.
func TestFollowerOutOfRangeTruncatesToLeaderLEO(t *testing.T) {
	// Batches without a leader epoch: no diverging-epoch check, the fetch
	// at 8 is past the leader's LEO.
	fp, f, fetching := fetchRoundAgainstLeader(t, fetchedBatch(5, 0, -1), fetchedBatch(3, 5, -1))
	f.fetch(t.Context(), fetching)
	if err := fetching[0].lastErr; !errors.Is(err, kerr.OffsetOutOfRange) {
		t.Fatalf("fetch error %v, want OFFSET_OUT_OF_RANGE", err)
	}
	if leo := fp.log.LogEndOffset(); leo != 5 {
		t.Fatalf("follower LEO %d, want the leader's 5", leo)
	}
}

// A timestamp lookup lands on the exact record inside a compressed batch
// (FileRecords.searchForTimestamp iterates the batch's records), not on the
// batch's base offset.
func TestListOffsetsTimestampInCompressedBatch(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	if err := leaderAndIsr(t, s, 0, 1, 3, []int32{1}, []int32{1, 2}); err != nil {
		t.Fatal(err)
	}
	p, _ := s.replicas.get("t", 0)
	recs := []storage.Record{{Offset: 0, Timestamp: 100, KeyNull: true}, {Offset: 1, Timestamp: 300, KeyNull: true},
		{Offset: 2, Timestamp: 200, KeyNull: true}}
	batch, err := storage.BuildBatch(storage.BatchHeader{PartitionLeaderEpoch: -1, Magic: 2, Attributes: 1, ProducerID: -1,
		ProducerEpoch: -1, BaseSequence: -1}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.appendRecords(batch, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ ts, offset, found int64 }{{50, 0, 100}, {150, 1, 300}, {300, 1, 300}, {301, -1, -1}} {
		for _, v := range []int16{1, 9} {
			got := listOffsetsAt(t, s, v, -1, 0, listOffsetsPart(0, tc.ts, 0, -1))[0]
			if got.ErrorCode != 0 || got.Offset != tc.offset || got.Timestamp != tc.found {
				t.Errorf("v%d ts %d: %+v, want offset %d timestamp %d", v, tc.ts, got, tc.offset, tc.found)
			}
		}
	}
	// MAX_TIMESTAMP too (RecordBatch.offsetOfMaxTimestamp).
	if got := listOffsetsAt(t, s, 7, -1, 0, listOffsetsPart(0, -3, 0, -1))[0]; got.ErrorCode != 0 || got.Offset != 1 || got.Timestamp != 300 || got.LeaderEpoch != 3 {
		t.Errorf("max timestamp: %+v", got)
	}
}
