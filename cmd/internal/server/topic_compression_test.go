package server

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafkazk/kafkazk/storage"
)

// A topic whose compression.type is not "producer" stores every batch with
// that codec whatever the producer used (LogValidator recompression), and
// consumers read the records back unchanged.
func TestTopicCompressionType(t *testing.T) {
	b, cl := startSingleBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	tests := []struct {
		topic, compressionType string
		producer               kgo.CompressionCodec
		want                   int8
	}{
		{"tc-lz4", "lz4", kgo.GzipCompression(), storage.CodecLZ4},
		{"tc-none", "uncompressed", kgo.SnappyCompression(), storage.CodecNone},
		{"tc-producer", "producer", kgo.ZstdCompression(), storage.CodecZstd},
	}
	for _, tc := range tests {
		if _, err := adm.CreateTopic(ctx, 1, 1, map[string]*string{"compression.type": &tc.compressionType}, tc.topic); err != nil {
			t.Fatal(err)
		}
		pc, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ProducerBatchCompression(tc.producer))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			pc.Produce(ctx, &kgo.Record{Topic: tc.topic, Value: []byte("a value that compresses well, a value that compresses well " + string(rune('a'+i)))}, nil)
		}
		if err := pc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		pc.Close()

		seg := segmentBytes(t, b, tc.topic+"-0")
		if len(seg) == 0 {
			t.Fatalf("%s: empty segment", tc.topic)
		}
		for pos := 0; pos < len(seg); {
			h, err := storage.ParseBatchHeader(seg[pos:])
			if err != nil {
				t.Fatalf("%s: batch at %d: %v", tc.topic, pos, err)
			}
			if h.Compression() != tc.want {
				t.Errorf("%s: stored batch at offset %d uses %s, want %s", tc.topic, h.BaseOffset, storage.CodecName(h.Compression()), storage.CodecName(tc.want))
			}
			pos += int(h.Size())
		}
		cc, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.ConsumeTopics(tc.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for got < 20 && ctx.Err() == nil {
			fs := cc.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				if want := "a value that compresses well, a value that compresses well " + string(rune('a'+r.Offset)); string(r.Value) != want {
					t.Errorf("%s offset %d: %q", tc.topic, r.Offset, r.Value)
				}
				got++
			})
		}
		cc.Close()
		if got != 20 {
			t.Fatalf("%s: consumed %d of 20", tc.topic, got)
		}
	}
}
