package storage

import (
	"bytes"
	"testing"
)

// compression.type other than "producer": a batch is rebuilt with the
// topic's codec, records and producer fields kept; a batch already in that
// codec and a control batch are returned as they are.
func TestRecompress(t *testing.T) {
	plain := buildBatch(t, batchSpec{records: 4, valueSize: 50, baseTs: 1000, tsStep: 3, producerID: 7, seq: 12})
	gzipped := withCodec(t, plain, CodecGzip)
	control := buildBatch(t, batchSpec{records: 1, attrs: attrControl | attrTransactional, producerID: 7})
	tests := []struct {
		name      string
		in        []byte
		codec     int8
		unchanged bool
	}{
		{"gzip to lz4", gzipped, CodecLZ4, false},
		{"gzip to uncompressed", gzipped, CodecNone, false},
		{"uncompressed to zstd", plain, CodecZstd, false},
		{"already in the codec", plain, CodecNone, true},
		{"control batch", control, CodecGzip, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Recompress(tc.in, tc.codec)
			if err != nil {
				t.Fatal(err)
			}
			if tc.unchanged {
				if &out[0] != &tc.in[0] {
					t.Fatal("a batch that needs no rewrite was copied")
				}
				return
			}
			h, err := checkBatch(out)
			if err != nil {
				t.Fatalf("rewritten batch: %v", err)
			}
			orig, _ := ParseBatchHeader(tc.in)
			if h.Compression() != tc.codec || h.ProducerID != orig.ProducerID || h.BaseSequence != orig.BaseSequence ||
				h.RecordCount != orig.RecordCount || h.LastOffsetDelta != orig.LastOffsetDelta || h.MaxTimestamp != orig.MaxTimestamp {
				t.Fatalf("rewritten header %+v, was %+v", h, orig)
			}
			got, err := Records(out)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := Records(tc.in)
			for i := range want {
				if !bytes.Equal(got[i].Value, want[i].Value) || got[i].Timestamp != want[i].Timestamp || got[i].Offset != want[i].Offset {
					t.Errorf("record %d differs", i)
				}
			}
		})
	}
}

// withCodec rebuilds a batch compressed with codec.
func withCodec(t *testing.T, batch []byte, codec int8) []byte {
	t.Helper()
	h, err := ParseBatchHeader(batch)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Records(batch)
	if err != nil {
		t.Fatal(err)
	}
	h.Attributes |= int16(codec)
	out, err := BuildBatch(h, recs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
