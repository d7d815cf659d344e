package protocol

import (
	"hash/crc32"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (a, b *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	ac, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		ac.Close()
		r.c.Close()
	})
	return ac.(*net.TCPConn), r.c.(*net.TCPConn)
}

// recordBatch encodes a valid v2 record batch (magic 2, CRC-32C over the
// bytes from attributes to the end) holding n records starting at base.
func recordBatch(base int64, n int, value string) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.Record{OffsetDelta: int32(i), TimestampDelta64: int64(i), Key: []byte("k"), Value: []byte(value)}
		body := r.AppendTo(nil)
		r.Length = int32(len(body) - 1) // Length 0 takes one varint byte
		recs = r.AppendTo(recs)
	}
	b := kmsg.RecordBatch{
		FirstOffset:     base,
		Magic:           2,
		LastOffsetDelta: int32(n - 1),
		FirstTimestamp:  1700000000000,
		MaxTimestamp:    1700000000000 + int64(n-1),
		ProducerID:      -1,
		ProducerEpoch:   -1,
		FirstSequence:   -1,
		NumRecords:      int32(n),
		Records:         recs,
	}
	enc := b.AppendTo(nil)
	b.Length = int32(len(enc) - 12) // everything after baseOffset and length
	enc = b.AppendTo(nil)
	crc := crc32.Checksum(enc[21:], crc32.MakeTable(crc32.Castagnoli))
	b.CRC = int32(crc)
	return b.AppendTo(nil)
}

// writeTempFile writes data to a new file in a temp dir and opens it for reading.
func writeTempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "00000000000000000000.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
