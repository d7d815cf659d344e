package cluster

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

func TestSourceBroker(t *testing.T) {
	tests := []struct {
		id   string
		want int32
	}{
		{"broker-3-fetcher-0", 3},
		{"broker-12-alter-partition", 12},
		{"broker-0-forwarder", 0},
		{"controller-2", 2},
		{"kgo", -1},
		{"", -1},
		{"broker-x-fetcher-0", -1},
		{"controller-", -1},
	}
	for _, tt := range tests {
		if got := sourceBroker(tt.id); got != tt.want {
			t.Errorf("sourceBroker(%q) = %d, want %d", tt.id, got, tt.want)
		}
	}
}

func TestIsFetcher(t *testing.T) {
	tests := []struct {
		id   string
		want bool
	}{
		{"broker-3-fetcher-0", true},
		{"broker-12-fetcher-2", true},
		{"broker-3-alter-partition", false},
		{"broker-0-forwarder", false},
		{"controller-3", false},
		{"fetcher-0", false},
		{"kgo", false},
	}
	for _, tt := range tests {
		if got := isFetcher(tt.id); got != tt.want {
			t.Errorf("isFetcher(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// frame is a request frame with the header fields peekClientID reads.
func frame(clientID string, body int) []byte {
	b := binary.BigEndian.AppendUint16(nil, 18) // api key
	b = binary.BigEndian.AppendUint16(b, 3)     // version
	b = binary.BigEndian.AppendUint32(b, 7)     // correlation id
	b = binary.BigEndian.AppendUint16(b, uint16(len(clientID)))
	b = append(b, clientID...)
	b = append(b, make([]byte, body)...)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func TestPeekClientID(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"named", frame("broker-1-fetcher-0", 20), "broker-1-fetcher-0"},
		{"empty id", frame("", 5), ""},
		{"tiny frame", []byte{0, 0, 0, 1, 0}, ""},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xff}, ""},
		{"id longer than frame", append([]byte{0, 0, 0, 12}, 0, 1, 0, 0, 0, 0, 0, 0, 0x7f, 0x7f, 1, 2), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			go func() { _, _ = b.Write(tt.data); b.Close() }()
			got, held, ok := peekClientID(a)
			if !ok || got != tt.want {
				t.Fatalf("got %q ok %v, want %q", got, ok, tt.want)
			}
			if len(held) == 0 || string(held) != string(tt.data[:len(held)]) {
				t.Fatalf("held %x is not a prefix of the data", held)
			}
		})
	}
}

// An echo backend behind a Kafka proxy: admitted connections pass their
// bytes; a filter change drops refused open connections and refuses new ones.
func TestProxyFilter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p, err := newProxy(ln.Addr().String(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()

	roundTrip := func(conn net.Conn, data []byte) error {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write(data); err != nil {
			return err
		}
		buf := make([]byte, len(data))
		_, err := io.ReadFull(conn, buf)
		return err
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	fetcher, client := dial(), dial()
	if err := roundTrip(fetcher, frame("broker-1-fetcher-0", 10)); err != nil {
		t.Fatalf("fetcher before the cut: %v", err)
	}
	if err := roundTrip(client, frame("kgo", 10)); err != nil {
		t.Fatalf("client before the cut: %v", err)
	}
	p.setFilter(func(id string) bool { return sourceBroker(id) != 1 })
	if err := roundTrip(fetcher, frame("broker-1-fetcher-0", 10)); err == nil {
		t.Fatal("open fetcher connection still passes after the cut")
	}
	if err := roundTrip(dial(), frame("broker-1-fetcher-0", 10)); err == nil {
		t.Fatal("new fetcher connection passes after the cut")
	}
	if err := roundTrip(client, frame("kgo", 10)); err != nil {
		t.Fatalf("client after the cut: %v", err)
	}
	p.setFilter(nil)
	if err := roundTrip(dial(), frame("broker-1-fetcher-0", 10)); err != nil {
		t.Fatalf("fetcher after healing: %v", err)
	}
}
