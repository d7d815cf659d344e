//go:build !linux

package protocol

import "net"

// writeZeroCopy falls back to copying on systems without the Linux syscalls.
func (r *Response) writeZeroCopy(tc *net.TCPConn) (int64, error) {
	return r.writeCopy(tc)
}
