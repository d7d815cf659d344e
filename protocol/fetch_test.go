package protocol

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchFixture is a segment-like file with record batches for 4 partitions,
// separated by bytes that must never be sent.
type fetchFixture struct {
	file   *os.File
	data   []byte
	ranges [][]FileRange
}

func newFetchFixture(t testing.TB) fetchFixture {
	var data []byte
	junk := []byte("JUNK-BETWEEN-RANGES")
	rng := func(batches ...[]byte) FileRange {
		data = append(data, junk...)
		start := int64(len(data))
		for _, b := range batches {
			data = append(data, b...)
		}
		return FileRange{Offset: start, Size: int64(len(data)) - start}
	}
	r00 := rng(recordBatch(0, 3, "alpha"), recordBatch(3, 2, "beta"))
	r10 := rng(recordBatch(100, 1, "gamma"))
	big := rng(recordBatch(7, 50, string(bytes.Repeat([]byte("x"), 300))))
	data = append(data, junk...)
	f := writeTempFile(t, data)
	for _, r := range []*FileRange{&r00, &r10, &big} {
		r.File = f
	}
	return fetchFixture{
		file: f,
		data: data,
		// t0p1 has no range (error partition).
		ranges: [][]FileRange{{r00, {}}, {r10, big}},
	}
}

// fetchResponse builds a response exercising every field of version v. With
// inline, RecordBatches hold the file bytes (kmsg's view of the same frame).
func fetchResponse(v int16, fx fetchFixture, inline bool) *kmsg.FetchResponse {
	resp := kmsg.NewPtrFetchResponse()
	resp.Version = v
	resp.ThrottleMillis = 12
	resp.ErrorCode = 0
	resp.SessionID = 998877
	for ti, name := range []string{"orders", "payments"} {
		t := kmsg.NewFetchResponseTopic()
		t.Topic = name
		t.TopicID = [16]byte{byte(ti + 1), 0xaa, 0xbb, 15: 0xcc}
		for pi := 0; pi < 2; pi++ {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = int32(pi)
			p.HighWatermark = 1000 + int64(ti*10+pi)
			p.LastStableOffset = 900 + int64(ti*10+pi)
			p.LogStartOffset = int64(ti*10 + pi)
			switch {
			case ti == 0 && pi == 0:
				p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{
					{ProducerID: 5, FirstOffset: 1}, {ProducerID: 9, FirstOffset: 3},
				}
			case ti == 0 && pi == 1:
				p.ErrorCode = 1 // OFFSET_OUT_OF_RANGE
				p.HighWatermark = -1
				if v >= 12 {
					p.SnapshotID.EndOffset = 77
					p.SnapshotID.Epoch = 4
				}
			case ti == 1 && pi == 0:
				p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
				p.PreferredReadReplica = 2
				if v >= 12 {
					p.DivergingEpoch.Epoch = 3
					p.DivergingEpoch.EndOffset = 55
					p.CurrentLeader.LeaderID = 2
					p.CurrentLeader.LeaderEpoch = 6
				}
			default:
				if v >= 12 {
					p.CurrentLeader.LeaderID = 1
					p.UnknownTags.Set(9, []byte("unknown partition tag"))
				}
			}
			if inline {
				r := fx.ranges[ti][pi]
				p.RecordBatches = append([]byte{}, fx.data[r.Offset:r.Offset+r.Size]...)
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	if v >= 12 {
		resp.Brokers = []kmsg.FetchResponseBroker{
			{NodeID: 2, Host: "broker-2.local", Port: 9093, Rack: strp("rack-b")},
			{NodeID: 3, Host: "broker-3.local", Port: 9094},
		}
		resp.UnknownTags.Set(7, []byte{1, 2, 3})
	}
	return resp
}

// kmsgFrame is kmsg's encoding of the whole response frame.
func kmsgFrame(corrID int32, resp *kmsg.FetchResponse) []byte {
	b := make([]byte, 4, 1024)
	b = appendInt32(b, corrID)
	if resp.IsFlexible() {
		b = appendUvarint(b, 0)
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

func TestEncodeFetchResponseAllVersions(t *testing.T) {
	fx := newFetchFixture(t)
	maxV := new(kmsg.FetchResponse).MaxVersion()
	for v := int16(4); v <= maxV; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			hdr := RequestHeader{APIKey: 1, APIVersion: v, CorrelationID: int32(1000 + v)}
			want := kmsgFrame(hdr.CorrelationID, fetchResponse(v, fx, true))

			sendfiles := 0
			resp := EncodeFetchResponse(hdr, fetchResponse(v, fx, false), fx.ranges)
			resp.hooks = &writeHooks{sendfile: func(int) { sendfiles++ }}
			if resp.Size() != int64(len(want)) {
				t.Fatalf("Size() = %d, want %d", resp.Size(), len(want))
			}

			w, r := tcpPair(t)
			if err := r.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				n, err := resp.WriteTo(w)
				if err == nil && n != int64(len(want)) {
					err = fmt.Errorf("wrote %d bytes, want %d", n, len(want))
				}
				errc <- err
			}()
			frame, err := ReadFrame(r, DefaultMaxRequestSize, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			if sendfiles < 3 {
				t.Fatalf("sendfile used %d times, want at least one per file range (3)", sendfiles)
			}
			if !bytes.Equal(frame, want[4:]) {
				t.Fatalf("frame differs from kmsg's encoding\n got %x\nwant %x", frame, want[4:])
			}

			// Decode with kmsg as a client would.
			rd := reader{src: frame}
			if corr := rd.int32(); corr != hdr.CorrelationID {
				t.Fatalf("correlation id %d", corr)
			}
			if v >= 12 {
				rd.skipTags()
			}
			got := kmsg.NewPtrFetchResponse()
			got.Version = v
			if err := got.ReadFrom(rd.src); err != nil {
				t.Fatalf("kmsg decode: %v", err)
			}
			for ti := range got.Topics {
				for pi, p := range got.Topics[ti].Partitions {
					r := fx.ranges[ti][pi]
					if wantRecs := fx.data[r.Offset : r.Offset+r.Size]; !bytes.Equal(p.RecordBatches, wantRecs) {
						t.Fatalf("t%d p%d records: %d bytes, want %d", ti, pi, len(p.RecordBatches), len(wantRecs))
					}
				}
			}
			// The decoded response re-encodes to the same body.
			if re := got.AppendTo(nil); !bytes.Equal(re, rd.src) {
				t.Fatalf("kmsg re-encoding of the decoded response differs (%d vs %d bytes)", len(re), len(rd.src))
			}
			if got.ThrottleMillis != 12 || len(got.Topics) != 2 || len(got.Topics[1].Partitions) != 2 {
				t.Fatalf("decoded shape wrong: throttle %d, %d topics", got.ThrottleMillis, len(got.Topics))
			}
		})
	}
}

// A partition without a file range sends its in-memory RecordBatches, or
// empty records (length 0, never null) when there are none.
func TestEncodeFetchResponseInlineAndEmptyRecords(t *testing.T) {
	for _, v := range []int16{4, 11, 12, 13} {
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = v
		tp := kmsg.NewFetchResponseTopic()
		tp.Topic = "t"
		p0 := kmsg.NewFetchResponseTopicPartition()
		p0.RecordBatches = recordBatch(0, 2, "inline")
		p1 := kmsg.NewFetchResponseTopicPartition()
		p1.Partition = 1
		tp.Partitions = []kmsg.FetchResponseTopicPartition{p0, p1}
		resp.Topics = []kmsg.FetchResponseTopic{tp}

		got, err := EncodeFetchResponse(RequestHeader{APIKey: 1, APIVersion: v, CorrelationID: 3}, resp, nil).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		resp.Topics[0].Partitions[1].RecordBatches = []byte{}
		if want := kmsgFrame(3, resp); !bytes.Equal(got, want) {
			t.Fatalf("v%d:\n got %x\nwant %x", v, got, want)
		}
	}
}

func BenchmarkEncodeFetchResponse(b *testing.B) {
	f := writeTempFile(b, bytes.Repeat([]byte{1}, 1<<20))
	const topics, parts = 10, 10
	resp := kmsg.NewPtrFetchResponse()
	records := make([][]FileRange, topics)
	for ti := 0; ti < topics; ti++ {
		tp := kmsg.NewFetchResponseTopic()
		tp.Topic = fmt.Sprintf("topic-%d", ti)
		tp.TopicID[0] = byte(ti)
		for pi := 0; pi < parts; pi++ {
			p := kmsg.NewFetchResponseTopicPartition()
			p.Partition = int32(pi)
			p.HighWatermark = 12345
			p.LastStableOffset = 12345
			p.LogStartOffset = 0
			tp.Partitions = append(tp.Partitions, p)
			records[ti] = append(records[ti], FileRange{File: f, Offset: int64(pi * 1000), Size: 1000})
		}
		resp.Topics = append(resp.Topics, tp)
	}
	for _, v := range []int16{11, 16} {
		b.Run(fmt.Sprintf("v%d", v), func(b *testing.B) {
			hdr := RequestHeader{APIKey: 1, APIVersion: v, CorrelationID: 1}
			b.ReportAllocs()
			for b.Loop() {
				r := EncodeFetchResponse(hdr, resp, records)
				if r.Size() == 0 {
					b.Fatal("empty")
				}
			}
		})
	}
	b.Run("kmsg-inline-v16", func(b *testing.B) {
		// Reference: kmsg copying 100 KiB of records into memory.
		cp := *resp
		cp.Version = 16
		cp.Topics = make([]kmsg.FetchResponseTopic, len(resp.Topics))
		data := make([]byte, 1000)
		for ti := range resp.Topics {
			cp.Topics[ti] = resp.Topics[ti]
			cp.Topics[ti].Partitions = append([]kmsg.FetchResponseTopicPartition(nil), resp.Topics[ti].Partitions...)
			for pi := range cp.Topics[ti].Partitions {
				cp.Topics[ti].Partitions[pi].RecordBatches = data
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = kmsgFrame(1, &cp)
		}
	})
	_ = io.Discard
}
