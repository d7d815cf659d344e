package storage

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCompaction cleans a 32 MiB log (8 MiB segments) of batches of
// 10 records of ~100-byte values over 20000 keys; MB/s counts the bytes
// of the log read. Each iteration cleans a fresh copy.
func BenchmarkCompaction(b *testing.B) {
	for _, codec := range []int8{CodecNone, CodecLZ4, CodecZstd} {
		b.Run(CodecName(codec), func(b *testing.B) {
			tmpl := filepath.Join(b.TempDir(), "c-0")
			cfg := compactConfig()
			cfg.SegmentBytes = 8 << 20
			cfg.IndexIntervalBytes = 4096
			l := mustOpen(b, tmpl, cfg, false)
			rng := rand.New(rand.NewPCG(1, 2))
			val := make([]byte, 100)
			for l.Size() < 32<<20 {
				kvs := make([]kv, 10)
				for i := range kvs {
					for j := range val {
						val[j] = byte('a' + rng.IntN(8))
					}
					kvs[i] = kv{key: []byte(fmt.Sprintf("key-%d", rng.IntN(20000))), val: append([]byte(nil), val...)}
				}
				mustAppend(b, l, compactBatch(b, codec, -1, 1000, kvs))
			}
			if err := l.Roll(); err != nil {
				b.Fatal(err)
			}
			size := l.Size()
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir := filepath.Join(b.TempDir(), "c-0")
				copyDir(b, tmpl, dir)
				l := mustOpen(b, dir, cfg, false)
				b.StartTimer()
				stats, err := cleanAt(b, l, -1, 2000, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if i == 0 {
					b.ReportMetric(float64(stats.BytesWritten)/float64(stats.BytesRead), "out/in")
				}
				_ = l.Close()
				b.StartTimer()
			}
		})
	}
}

func copyDir(b *testing.B, from, to string) {
	b.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		src, err := os.Open(filepath.Join(from, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(to, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			b.Fatal(err)
		}
		src.Close()
		dst.Close()
	}
}
