package protocol

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// A big file range over loopback with small socket buffers and a slow
// reader: the writer must hit EAGAIN, wait in the poller and resume, and the
// bytes must arrive intact; file bytes go through sendfile only.
func TestWriteToBigRangeSlowReader(t *testing.T) {
	const size = 8 << 20
	data := make([]byte, size+100)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	f := writeTempFile(t, data)

	var resp Response
	head := []byte("HEADER")
	tail := []byte("TAIL")
	resp.AppendBytes(head)
	resp.AppendFile(f, 50, size)
	resp.AppendBytes(tail)
	var sendfiled, writevd, eagains atomic.Int64
	resp.hooks = &writeHooks{
		sendfile: func(n int) { sendfiled.Add(int64(n)) },
		writev:   func(n int) { writevd.Add(int64(n)) },
		eagain:   func() { eagains.Add(1) },
	}
	if resp.Size() != int64(len(head)+size+len(tail)) {
		t.Fatalf("Size() = %d", resp.Size())
	}

	w, r := tcpPair(t)
	if err := w.SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if err := r.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		n, err := resp.WriteTo(w)
		if err == nil && n != resp.Size() {
			err = errors.New("short write count")
		}
		errc <- err
	}()

	got := make([]byte, 0, resp.Size())
	chunk := make([]byte, 32<<10)
	for reads := 0; int64(len(got)) < resp.Size(); reads++ {
		n, err := r.Read(chunk)
		got = append(got, chunk[:n]...)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		if reads%16 == 0 {
			time.Sleep(time.Millisecond) // slow consumer: let the sender's buffer fill up
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	want := append(append(append([]byte{}, head...), data[50:50+size]...), tail...)
	if !bytes.Equal(got, want) {
		t.Fatal("received bytes differ")
	}
	if sendfiled.Load() != size {
		t.Fatalf("sendfile moved %d bytes, want %d", sendfiled.Load(), size)
	}
	if writevd.Load() != int64(len(head)+len(tail)) {
		t.Fatalf("writev moved %d bytes, want %d", writevd.Load(), len(head)+len(tail))
	}
	if eagains.Load() == 0 {
		t.Fatal("expected the writer to hit EAGAIN at least once")
	}
	t.Logf("EAGAIN %d times", eagains.Load())
}

// Many small byte pieces exceed IOV_MAX and must be split across writev calls.
func TestWriteToManyPieces(t *testing.T) {
	f := writeTempFile(t, []byte("0123456789"))
	var resp Response
	var want []byte
	for i := 0; i < 3000; i++ {
		b := []byte{byte(i), byte(i >> 8)}
		resp.AppendBytes(b)
		want = append(want, b...)
		if i%700 == 0 {
			resp.AppendFile(f, 2, 5)
			want = append(want, "23456"...)
		}
	}
	w, r := tcpPair(t)
	errc := make(chan error, 1)
	go func() {
		_, err := resp.WriteTo(w)
		errc <- err
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("received bytes differ")
	}
}

// A range past the end of the file fails before anything is written, on both
// the sendfile path and the copy path.
func TestWriteToTruncatedFile(t *testing.T) {
	f := writeTempFile(t, []byte("short file"))
	mk := func() *Response {
		var r Response
		r.AppendBytes([]byte("hdr"))
		r.AppendFile(f, 5, 100)
		return &r
	}
	w, _ := tcpPair(t)
	n, err := mk().WriteTo(w)
	if !errors.Is(err, ErrFileTruncated) || n != 0 {
		t.Fatalf("tcp: n=%d err=%v, want 0 and ErrFileTruncated", n, err)
	}
	pw, pr := net.Pipe()
	defer pw.Close()
	defer pr.Close()
	n, err = mk().WriteTo(pw)
	if !errors.Is(err, ErrFileTruncated) || n != 0 {
		t.Fatalf("pipe: n=%d err=%v, want 0 and ErrFileTruncated", n, err)
	}
	if _, err := mk().Bytes(); !errors.Is(err, ErrFileTruncated) {
		t.Fatalf("Bytes: err=%v", err)
	}
}

// The file shrinks after the pre-check: sendfile sees EOF mid-range and the
// writer fails instead of sending a short frame.
func TestWriteToFileTruncatedDuringWrite(t *testing.T) {
	path := t.TempDir() + "/seg.log"
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var resp Response
	resp.AppendFile(f, 0, 4<<20)
	truncated := false
	resp.hooks = &writeHooks{sendfile: func(int) {
		if !truncated {
			truncated = true
			if err := os.Truncate(path, 1<<10); err != nil {
				t.Error(err)
			}
		}
	}}
	w, r := tcpPair(t)
	if err := w.SetWriteBuffer(16 << 10); err != nil { // first sendfile is partial
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	_, err = resp.WriteTo(w)
	if !errors.Is(err, ErrFileTruncated) {
		t.Fatalf("err = %v, want ErrFileTruncated", err)
	}
}

// Conns that are not *net.TCPConn get the copying path.
func TestWriteToFallback(t *testing.T) {
	f := writeTempFile(t, []byte("..records.."))
	var resp Response
	resp.AppendBytes([]byte("a"))
	resp.AppendBytes([]byte("b"))
	resp.AppendFile(f, 2, 7)
	resp.AppendBytes([]byte("c"))
	pw, pr := net.Pipe()
	defer pr.Close()
	errc := make(chan error, 1)
	go func() {
		defer pw.Close()
		n, err := resp.WriteTo(pw)
		if err == nil && n != 10 {
			err = errors.New("wrong count")
		}
		errc <- err
	}()
	got, err := io.ReadAll(pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if string(got) != "abrecordsc" {
		t.Fatalf("got %q", got)
	}
}

// The conn's write deadline bounds a writer stuck on a reader that never reads.
func TestWriteToDeadline(t *testing.T) {
	f := writeTempFile(t, make([]byte, 16<<20))
	var resp Response
	resp.AppendFile(f, 0, 16<<20)
	w, _ := tcpPair(t)
	if err := w.SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, err := resp.WriteTo(w)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}
