package protocol

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

const (
	maxIovecs       = 1024    // IOV_MAX on Linux
	maxSendfileSize = 1 << 30 // per call; the kernel caps one call near 2 GiB
)

// rawWriter holds the progress of one WriteTo across the callbacks of
// RawConn.Write (each EAGAIN returns to the runtime poller and resumes here).
type rawWriter struct {
	pieces  []piece
	idx     int   // current piece
	pos     int64 // bytes of the current piece already written
	written int64
	err     error
	iovs    [][]byte
	hooks   *writeHooks
}

func (r *Response) writeZeroCopy(tc *net.TCPConn) (int64, error) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("response writer: raw conn: %w", err)
	}
	w := &rawWriter{pieces: r.pieces, hooks: r.hooks}
	if err := rc.Write(w.step); err != nil {
		return w.written, fmt.Errorf("response writer: %w", err)
	}
	return w.written, w.err
}

// step writes as much as the socket takes. It returns false on EAGAIN so the
// poller waits for the socket to become writable, true when done or failed.
func (w *rawWriter) step(fd uintptr) bool {
	for w.idx < len(w.pieces) && w.err == nil {
		var (
			n   int
			err error
		)
		if w.pieces[w.idx].file == nil {
			n, err = w.writev(int(fd))
		} else {
			n, err = w.sendfile(int(fd))
		}
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			if w.hooks != nil && w.hooks.eagain != nil {
				w.hooks.eagain()
			}
			return false
		case err != nil:
			w.err = err
			return true
		}
		w.advance(int64(n))
	}
	return true
}

// writev sends consecutive byte pieces starting at the current position.
func (w *rawWriter) writev(fd int) (int, error) {
	w.iovs = w.iovs[:0]
	for i := w.idx; i < len(w.pieces) && w.pieces[i].file == nil && len(w.iovs) < maxIovecs; i++ {
		b := w.pieces[i].buf
		if i == w.idx {
			b = b[w.pos:]
		}
		w.iovs = append(w.iovs, b)
	}
	n, err := unix.Writev(fd, w.iovs)
	if err != nil {
		if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
			return 0, err
		}
		return 0, fmt.Errorf("writev: %w", err)
	}
	if w.hooks != nil && w.hooks.writev != nil {
		w.hooks.writev(n)
	}
	return n, nil
}

// sendfile sends the rest of the current file range. The file's descriptor
// is used through its RawConn so it cannot be closed and reused meanwhile.
func (w *rawWriter) sendfile(sock int) (int, error) {
	p := w.pieces[w.idx]
	count := min(p.n-w.pos, maxSendfileSize)
	rc, err := p.file.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("sendfile %s: %w", p.file.Name(), err)
	}
	var (
		n    int
		serr error
	)
	cerr := rc.Control(func(infd uintptr) {
		off := p.off + w.pos
		n, serr = unix.Sendfile(sock, int(infd), &off, int(count))
	})
	if cerr != nil {
		return 0, fmt.Errorf("sendfile %s: %w", p.file.Name(), cerr)
	}
	if serr != nil {
		if errors.Is(serr, unix.EINTR) || errors.Is(serr, unix.EAGAIN) {
			return 0, serr
		}
		return 0, fmt.Errorf("sendfile %s [%d, +%d): %w", p.file.Name(), p.off, p.n, serr)
	}
	if n == 0 {
		// End of file before the end of the range: truncated under us.
		return 0, fmt.Errorf("%w: %s ended %d bytes into range [%d, +%d)",
			ErrFileTruncated, p.file.Name(), w.pos, p.off, p.n)
	}
	if w.hooks != nil && w.hooks.sendfile != nil {
		w.hooks.sendfile(n)
	}
	return n, nil
}

// advance moves the position forward by n written bytes across pieces.
func (w *rawWriter) advance(n int64) {
	w.written += n
	for n > 0 && w.idx < len(w.pieces) {
		p := w.pieces[w.idx]
		size := p.n
		if p.file == nil {
			size = int64(len(p.buf))
		}
		rest := size - w.pos
		if n < rest {
			w.pos += n
			return
		}
		n -= rest
		w.idx++
		w.pos = 0
	}
}
