package protocol

import (
	"encoding/binary"
	"math"
	"os"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FileRange is a byte range of a segment file holding whole (or a partial
// trailing) record batches. Size 0 means no records from a file.
type FileRange struct {
	File   *os.File
	Offset int64
	Size   int64
}

// fetchEncoder accumulates the in-memory bytes of a Fetch response and cuts
// them into pieces around file ranges.
type fetchEncoder struct {
	buf    []byte
	cuts   []fetchCut
	filesN int64
}

// fetchCut: the file range that follows buf[:end].
type fetchCut struct {
	end int
	rng FileRange
}

// EncodeFetchResponse encodes a Fetch response frame (size prefix, response
// header, body) for hdr.APIVersion. Every field is encoded as kmsg encodes it
// except the records of each partition: records[t][p] names the file range
// holding them, and only its length prefix (int32 up to v11, compact
// uvarint(len+1) from v12) is encoded in memory; the bytes are sent from the
// file by Response.WriteTo. A partition without a range (records missing, nil
// File or Size <= 0) sends its RecordBatches from memory, or empty records
// (length 0, like Kafka's MemoryRecords.EMPTY) when those are nil.
//
// A range larger than what a Kafka bytes field can carry is cut to
// math.MaxInt32 bytes (a partial trailing batch is legal in Fetch); the caller
// keeps ranges within the request's max bytes anyway.
func EncodeFetchResponse(hdr RequestHeader, resp *kmsg.FetchResponse, records [][]FileRange) *Response {
	resp.SetVersion(hdr.APIVersion)
	version := resp.Version
	flexible := resp.IsFlexible()

	nparts := 0
	for i := range resp.Topics {
		nparts += len(resp.Topics[i].Partitions)
	}
	e := &fetchEncoder{
		buf:  make([]byte, 0, 64+len(resp.Topics)*48+nparts*96),
		cuts: make([]fetchCut, 0, nparts),
	}
	dst := e.buf
	dst = append(dst, 0, 0, 0, 0) // frame size, patched below
	dst = appendInt32(dst, hdr.CorrelationID)
	if flexible {
		dst = appendUvarint(dst, 0) // response header v1 tagged fields
	}
	if version >= 1 {
		dst = appendInt32(dst, resp.ThrottleMillis)
	}
	if version >= 7 {
		dst = appendInt16(dst, resp.ErrorCode)
		dst = appendInt32(dst, resp.SessionID)
	}
	dst = appendArrayLen(dst, len(resp.Topics), flexible)
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		if version <= 12 {
			if flexible {
				dst = appendCompactString(dst, t.Topic)
			} else {
				dst = appendString(dst, t.Topic)
			}
		}
		if version >= 13 {
			dst = append(dst, t.TopicID[:]...)
		}
		dst = appendArrayLen(dst, len(t.Partitions), flexible)
		for pi := range t.Partitions {
			p := &t.Partitions[pi]
			dst = appendInt32(dst, p.Partition)
			dst = appendInt16(dst, p.ErrorCode)
			dst = appendInt64(dst, p.HighWatermark)
			if version >= 4 {
				dst = appendInt64(dst, p.LastStableOffset)
			}
			if version >= 5 {
				dst = appendInt64(dst, p.LogStartOffset)
			}
			if version >= 4 {
				dst = appendNullableArrayLen(dst, len(p.AbortedTransactions), p.AbortedTransactions == nil, flexible)
				for ai := range p.AbortedTransactions {
					a := &p.AbortedTransactions[ai]
					dst = appendInt64(dst, a.ProducerID)
					dst = appendInt64(dst, a.FirstOffset)
					if flexible {
						dst = appendTags(dst, &a.UnknownTags, 0)
					}
				}
			}
			if version >= 11 {
				dst = appendInt32(dst, p.PreferredReadReplica)
			}
			dst = e.appendRecords(dst, p, rangeAt(records, ti, pi), flexible)
			if flexible {
				dst = appendPartitionTags(dst, p)
			}
		}
		if flexible {
			dst = appendTags(dst, &t.UnknownTags, 0)
		}
	}
	if flexible {
		// Tag 0 (v12+ in kmsg's encoding): brokers, sent when any are set.
		n := 0
		if len(resp.Brokers) > 0 {
			n = 1
		}
		dst = appendUvarint(dst, uint32(n+resp.UnknownTags.Len()))
		if n == 1 {
			dst = appendUvarint(dst, 0)
			dst = appendSized(dst, func(dst []byte) []byte { return appendFetchBrokers(dst, resp.Brokers) })
		}
		dst = resp.UnknownTags.AppendEach(dst)
	}
	e.buf = dst
	return e.response()
}

func rangeAt(records [][]FileRange, ti, pi int) FileRange {
	if ti < len(records) && pi < len(records[ti]) {
		return records[ti][pi]
	}
	return FileRange{}
}

// appendRecords writes the records length prefix and, for a file range,
// cuts the in-memory bytes so that the file range follows them.
func (e *fetchEncoder) appendRecords(dst []byte, p *kmsg.FetchResponseTopicPartition, rng FileRange, flexible bool) []byte {
	if rng.File == nil || rng.Size <= 0 {
		b := p.RecordBatches
		dst = appendBytesLen(dst, int64(len(b)), flexible)
		return append(dst, b...)
	}
	rng.Size = min(rng.Size, math.MaxInt32)
	dst = appendBytesLen(dst, rng.Size, flexible)
	e.cuts = append(e.cuts, fetchCut{end: len(dst), rng: rng})
	e.filesN += rng.Size
	return dst
}

// response patches the frame size and builds the pieces.
func (e *fetchEncoder) response() *Response {
	total := int64(len(e.buf)) + e.filesN
	binary.BigEndian.PutUint32(e.buf, uint32(total-4))
	r := &Response{pieces: make([]piece, 0, 2*len(e.cuts)+1)}
	start := 0
	for _, c := range e.cuts {
		r.AppendBytes(e.buf[start:c.end:c.end])
		r.AppendFile(c.rng.File, c.rng.Offset, c.rng.Size)
		start = c.end
	}
	r.AppendBytes(e.buf[start:])
	return r
}

// appendTags writes a tagged-field section holding only unknown tags plus
// known ones already counted in known.
func appendTags(dst []byte, tags *kmsg.Tags, known int) []byte {
	dst = appendUvarint(dst, uint32(known+tags.Len()))
	return tags.AppendEach(dst)
}

// appendPartitionTags writes the partition's tagged fields (v12+): 0
// DivergingEpoch, 1 CurrentLeader, 2 SnapshotID, each only when it differs
// from its default (all -1), then unknown tags.
func appendPartitionTags(dst []byte, p *kmsg.FetchResponseTopicPartition) []byte {
	de, cl, si := &p.DivergingEpoch, &p.CurrentLeader, &p.SnapshotID
	hasDE := de.Epoch != -1 || de.EndOffset != -1 || de.UnknownTags.Len() > 0
	hasCL := cl.LeaderID != -1 || cl.LeaderEpoch != -1 || cl.UnknownTags.Len() > 0
	hasSI := si.EndOffset != -1 || si.Epoch != -1 || si.UnknownTags.Len() > 0
	n := 0
	for _, b := range [...]bool{hasDE, hasCL, hasSI} {
		if b {
			n++
		}
	}
	dst = appendUvarint(dst, uint32(n+p.UnknownTags.Len()))
	if hasDE {
		dst = appendUvarint(dst, 0)
		dst = appendSized(dst, func(dst []byte) []byte {
			dst = appendInt32(dst, de.Epoch)
			dst = appendInt64(dst, de.EndOffset)
			return appendTags(dst, &de.UnknownTags, 0)
		})
	}
	if hasCL {
		dst = appendUvarint(dst, 1)
		dst = appendSized(dst, func(dst []byte) []byte {
			dst = appendInt32(dst, cl.LeaderID)
			dst = appendInt32(dst, cl.LeaderEpoch)
			return appendTags(dst, &cl.UnknownTags, 0)
		})
	}
	if hasSI {
		dst = appendUvarint(dst, 2)
		dst = appendSized(dst, func(dst []byte) []byte {
			dst = appendInt64(dst, si.EndOffset)
			dst = appendInt32(dst, si.Epoch)
			return appendTags(dst, &si.UnknownTags, 0)
		})
	}
	return p.UnknownTags.AppendEach(dst)
}

// appendFetchBrokers encodes the NodeEndpoints tagged field (compact array, flexible only).
func appendFetchBrokers(dst []byte, brokers []kmsg.FetchResponseBroker) []byte {
	dst = appendArrayLen(dst, len(brokers), true)
	for i := range brokers {
		b := &brokers[i]
		dst = appendInt32(dst, b.NodeID)
		dst = appendCompactString(dst, b.Host)
		dst = appendInt32(dst, b.Port)
		dst = appendCompactNullableString(dst, b.Rack)
		dst = appendTags(dst, &b.UnknownTags, 0)
	}
	return dst
}
