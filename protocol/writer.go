package protocol

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
)

// ErrFileTruncated is returned by Response.WriteTo when a file holds fewer
// bytes than a range asks for. Part of the frame may have been written: the
// caller must close the connection, never continue after a short frame.
var ErrFileTruncated = errors.New("file shorter than the range to send")

// piece is either encoded bytes (file == nil) or a file range.
type piece struct {
	buf  []byte
	file *os.File
	off  int64
	n    int64
}

// writeHooks lets tests observe how WriteTo moves bytes.
type writeHooks struct {
	sendfile func(n int) // after each successful sendfile call
	writev   func(n int) // after each successful writev call
	eagain   func()      // each time the socket buffer is full
}

// Response is one response frame as a sequence of pieces: encoded bytes and
// file ranges. The pieces must add up to a whole frame, size prefix included
// (EncodeFetchResponse builds one; a frame from EncodeResponse can be added
// with AppendBytes). The zero value is an empty response.
type Response struct {
	pieces []piece
	size   int64
	hooks  *writeHooks
}

// AppendBytes adds encoded bytes. The Response keeps b: do not modify it afterwards.
func (r *Response) AppendBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	r.pieces = append(r.pieces, piece{buf: b})
	r.size += int64(len(b))
}

// AppendFile adds the range [off, off+n) of f. Ranges with n <= 0 are ignored.
// f must stay open until WriteTo returns.
func (r *Response) AppendFile(f *os.File, off, n int64) {
	if n <= 0 {
		return
	}
	r.pieces = append(r.pieces, piece{file: f, off: off, n: n})
	r.size += n
}

// Size returns the number of bytes WriteTo writes.
func (r *Response) Size() int64 { return r.size }

// Bytes returns the whole frame in memory, reading file ranges with ReadAt.
// Meant for tests, TLS listeners and debugging, not for the plaintext hot path.
func (r *Response) Bytes() ([]byte, error) {
	out := make([]byte, 0, r.size)
	for _, p := range r.pieces {
		if p.file == nil {
			out = append(out, p.buf...)
			continue
		}
		start := len(out)
		out = append(out, make([]byte, p.n)...)
		if _, err := p.file.ReadAt(out[start:], p.off); err != nil {
			if errors.Is(err, io.EOF) {
				err = ErrFileTruncated
			}
			return nil, fmt.Errorf("read %s [%d, +%d): %w", p.file.Name(), p.off, p.n, err)
		}
	}
	return out, nil
}

// checkFiles verifies, before anything is written, that every file range
// lies within its file, so that the common truncation case fails without
// sending a partial frame.
func (r *Response) checkFiles() error {
	for _, p := range r.pieces {
		if p.file == nil {
			continue
		}
		if p.off < 0 {
			return fmt.Errorf("file range of %s: negative offset %d", p.file.Name(), p.off)
		}
		st, err := p.file.Stat()
		if err != nil {
			return fmt.Errorf("stat file for response: %w", err)
		}
		if p.off+p.n > st.Size() {
			return fmt.Errorf("%w: %s has %d bytes, range [%d, +%d)", ErrFileTruncated,
				p.file.Name(), st.Size(), p.off, p.n)
		}
	}
	return nil
}

// WriteTo writes the frame to conn. On a *net.TCPConn byte pieces go out with
// writev and file ranges with sendfile, so record bytes never enter user
// space; the conn's write deadline applies. Other conns (tests, TLS) get
// Write for bytes and io.Copy of each file section. An error means the frame
// may be incomplete on the wire: the caller must close the connection.
func (r *Response) WriteTo(conn net.Conn) (int64, error) {
	if err := r.checkFiles(); err != nil {
		return 0, err
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		return r.writeZeroCopy(tc)
	}
	return r.writeCopy(conn)
}

// copyBufSize is the copying path's buffer: four TLS records of 16 KiB,
// so a TLS conn gets full records and few writes.
const copyBufSize = 64 << 10

// copyBufs are the copying path's buffers, reused across responses and
// connections so that a Fetch over TLS allocates nothing per response.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// writeCopy is the portable path (TLS, tests, non-Linux): byte pieces and
// file ranges are gathered into one pooled buffer and written in chunks of
// up to copyBufSize; file bytes pass through user space (ReadAt), which is
// what a TLS listener costs over sendfile.
func (r *Response) writeCopy(w io.Writer) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := (*bp)[:0]
	var written int64
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		n, err := w.Write(buf)
		written += int64(n)
		buf = buf[:0]
		if err != nil {
			return fmt.Errorf("write response bytes: %w", err)
		}
		return nil
	}
	for _, p := range r.pieces {
		if p.file == nil {
			for b := p.buf; len(b) > 0; {
				if len(buf) == cap(buf) {
					if err := flush(); err != nil {
						return written, err
					}
				}
				n := copy(buf[len(buf):cap(buf)], b)
				buf, b = buf[:len(buf)+n], b[n:]
			}
			continue
		}
		for off, rem := p.off, p.n; rem > 0; {
			if len(buf) == cap(buf) {
				if err := flush(); err != nil {
					return written, err
				}
			}
			chunk := int(min(rem, int64(cap(buf)-len(buf))))
			n, err := p.file.ReadAt(buf[len(buf):len(buf)+chunk], off)
			buf, off, rem = buf[:len(buf)+n], off+int64(n), rem-int64(n)
			if n < chunk {
				if ferr := flush(); ferr != nil {
					return written, ferr
				}
				if err == nil || errors.Is(err, io.EOF) {
					return written, fmt.Errorf("%w: %s ended %d bytes into range [%d, +%d)",
						ErrFileTruncated, p.file.Name(), p.n-rem, p.off, p.n)
				}
				return written, fmt.Errorf("copy %s [%d, +%d): %w", p.file.Name(), p.off, p.n, err)
			}
		}
	}
	if err := flush(); err != nil {
		return written, err
	}
	return written, nil
}

// BytesResponse wraps an encoded frame (e.g. from EncodeResponse) as a Response.
func BytesResponse(frame []byte) *Response {
	r := &Response{}
	r.AppendBytes(frame)
	return r
}
