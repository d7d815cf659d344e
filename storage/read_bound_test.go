package storage

import (
	"math/rand/v2"
	"testing"
)

// Reads end on a batch boundary at or below maxBytes, using the offset
// index to skip ahead, for batches of varied sizes.
func TestReadEndsOnBatchBoundary(t *testing.T) {
	cfg := DefaultLogConfig()
	cfg.IndexIntervalBytes = 256
	l := mustOpen(t, t.TempDir(), cfg, false)
	defer l.Close()
	rnd := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 300; i++ {
		appendN(t, l, 1, 1+rnd.IntN(5), 10+rnd.IntN(300))
	}
	leo := l.LogEndOffset()
	for _, maxBytes := range []int64{1, 100, 700, 1000, 4096, 10000, 1 << 20} {
		for _, from := range []int64{0, 17, 250} {
			fs, err := l.Read(from, maxBytes, leo, true)
			if err != nil {
				t.Fatal(err)
			}
			headers := sliceHeaders(t, readSlice(t, fs)) // fails on a partial batch
			if len(headers) == 0 {
				t.Fatalf("from %d max %d: no batch", from, maxBytes)
			}
			if fs.Size > maxBytes && len(headers) > 1 {
				t.Fatalf("from %d max %d: %d bytes in %d batches exceed the limit", from, maxBytes, fs.Size, len(headers))
			}
			// The next batch would not have fit.
			if next := headers[len(headers)-1].LastOffset() + 1; next < leo && maxBytes < 1<<20 {
				more, err := l.Read(from, fs.Size+1, leo, true)
				if err != nil {
					t.Fatal(err)
				}
				if more.Size != fs.Size {
					t.Fatalf("from %d max %d: one more byte changed the read", from, maxBytes)
				}
			}
		}
	}
}
