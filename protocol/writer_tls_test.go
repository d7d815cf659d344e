package protocol

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// selfSignedTLS is a throwaway server certificate for 127.0.0.1.
func selfSignedTLS(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "writer-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Over TLS (a conn that is not a *net.TCPConn) a response mixing bytes and
// file ranges larger than the copy buffer arrives intact.
func TestWriteToTLS(t *testing.T) {
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f := writeTempFile(t, data)
	var resp Response
	var want bytes.Buffer
	resp.AppendBytes([]byte("head"))
	want.WriteString("head")
	for _, r := range [][2]int64{{0, 100}, {5, 70 << 10}, {100 << 10, 200 << 10}} {
		resp.AppendFile(f, r[0], r[1])
		want.Write(data[r[0] : r[0]+r[1]])
		resp.AppendBytes([]byte("--"))
		want.WriteString("--")
	}
	big := bytes.Repeat([]byte("x"), 100<<10) // a byte piece larger than the buffer
	resp.AppendBytes(big)
	want.Write(big)

	a, b := tcpPair(t)
	cert := selfSignedTLS(t)
	srv := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{cert}})
	cli := tls.Client(b, &tls.Config{InsecureSkipVerify: true})
	defer srv.Close()
	defer cli.Close()
	errc := make(chan error, 1)
	go func() {
		n, err := resp.WriteTo(srv)
		if err == nil && n != int64(want.Len()) {
			err = io.ErrShortWrite
		}
		errc <- err
	}()
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(cli, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes differ")
	}
}

// The copying path reuses its buffer: no allocation per response beyond
// the error paths.
func TestWriteCopyAllocations(t *testing.T) {
	f := writeTempFile(t, make([]byte, 256<<10))
	var resp Response
	resp.AppendBytes([]byte("header"))
	resp.AppendFile(f, 0, 256<<10)
	resp.AppendBytes([]byte("tail"))
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := resp.writeCopy(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Fatalf("writeCopy allocates %.1f times per response, want at most 1", allocs)
	}
}
