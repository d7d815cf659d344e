// Package harness holds the small helpers the compat-test packages share
// (compat-tests, compat-tests/kafkadiff): bounded polling, raw connections
// to a broker, a hand-made idempotent record batch, free loopback ports.
// It starts nothing itself; package cluster starts ZooKeeper, our brokers
// and Apache Kafka 3.9.
package harness

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
)

// Clip shortens s to n bytes, marking the cut with "...".
func Clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Poll retries cond every 50 ms until it returns true or timeout passes;
// then it fails the test with what and cond's last message.
func Poll(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %v: %s", what, timeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CreateTopic runs our kafka-topics.sh --create and fails the test on error.
func CreateTopic(t testing.TB, c *cluster.Cluster, topic string, partitions, rf int) {
	t.Helper()
	out, errOut, code := c.Tool("kafka-topics.sh", "--bootstrap-server", c.Bootstrap(), "--create",
		"--topic", topic, "--partitions", fmt.Sprint(partitions), "--replication-factor", fmt.Sprint(rf))
	if code != 0 {
		t.Fatalf("kafka-topics.sh --create %s: exit %d\nstdout: %s\nstderr: %s", topic, code, out, errOut)
	}
}

// FreeLoopbackAddr is a 127.0.0.1 address with a port free at the time of
// the call.
func FreeLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Dial opens a TCP connection to addr (5 s bound), closed when the test ends.
func Dial(t testing.TB, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// ReadFrame reads one size-prefixed response, bounded to 5 s.
func ReadFrame(t testing.TB, conn net.Conn) []byte {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		t.Fatalf("reading response size: %v", err)
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 1<<20 {
		t.Fatalf("response size %d is implausible", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatalf("reading %d byte response: %v", n, err)
	}
	return buf
}

// ExpectClosed waits (bounded) for the broker to close conn: a read must
// end in EOF or a reset, not a timeout, and return no response bytes.
func ExpectClosed(t testing.TB, conn net.Conn) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 256)
	var got int
	for {
		n, err := conn.Read(buf)
		got += n
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection still open after 5s (read %d bytes)", got)
		}
		if got > 0 {
			t.Errorf("broker answered %d bytes before closing: %x", got, buf[:min(got, len(buf))])
		}
		if !errors.Is(err, io.EOF) {
			t.Logf("connection ended with %v (reset counts as closed)", err)
		}
		return
	}
}

// MetadataWorks checks that broker 0 of a one-broker cluster still serves a
// normal client's Metadata request.
func MetadataWorks(t testing.TB, c *cluster.Cluster) {
	t.Helper()
	cl := c.Client()
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("Metadata after bad connection: %v", err)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].NodeID != 0 {
		t.Fatalf("Metadata after bad connection lists brokers %+v", resp.Brokers)
	}
}

// IdempotentBatch encodes a v2 record batch with one record from producer
// pid at epoch and sequence seq.
func IdempotentBatch(pid int64, epoch int16, seq int32, value []byte) []byte {
	rec := kmsg.Record{Value: value}
	body := rec.AppendTo(nil)[1:] // drop the zero length varint
	rec.Length = int32(len(body))
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           1,
		Records:              rec.AppendTo(nil),
	}
	raw := b.AppendTo(nil)
	// Length counts the bytes after itself (offset 8..12).
	b.Length = int32(len(raw) - 12)
	raw = b.AppendTo(nil)
	// CRC-32C covers attributes (offset 21) to the end; it sits at 17..21.
	crc := crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli))
	raw[17], raw[18], raw[19], raw[20] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	return raw
}

// WriteFile writes content to dir/name and returns the path.
func WriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// WantContains reports each of want that out lacks.
func WantContains(t testing.TB, what, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s: output lacks %q:\n%s", what, w, Clip(out, 4000))
		}
	}
}
