package protocol

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the peer of an idle connection has closed it
// (or sent bytes nobody asked for): a broker closes connections idle for
// its connections.max.idle.ms. Kafka's NetworkClient learns of that from
// its selector before it sends; here the socket is peeked without waiting
// before a connection is reused, so the request goes out on a new one
// instead of failing on the dead one.
func peerClosed(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EINTR):
			// nothing to read: alive
		case rerr != nil, n == 0, n > 0:
			closed = true // reset, end of stream, or unsolicited bytes
		}
		return true
	}); err != nil {
		return true
	}
	return closed
}
