package zktest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// superSecret is ZooKeeperServer.superSecret: a session's password is
// new java.util.Random(sessionId ^ superSecret).nextBytes(byte[16]), so
// anyone who knows a session id can open a connection in that session.
const superSecret = 0xB3415C00

// SessionPassword is the password ZooKeeper gave session id
// (ZooKeeperServer.generatePasswd).
func SessionPassword(id int64) []byte {
	r := newJavaRandom(id ^ superSecret)
	p := make([]byte, 16)
	r.nextBytes(p)
	return p
}

// javaRandom is java.util.Random's linear congruential generator.
type javaRandom struct{ seed int64 }

const (
	jrMultiplier = 0x5DEECE66D
	jrMask       = (1 << 48) - 1
)

func newJavaRandom(seed int64) *javaRandom { return &javaRandom{seed: (seed ^ jrMultiplier) & jrMask} }

func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*jrMultiplier + 0xB) & jrMask
	return int32(uint64(r.seed) >> (48 - bits))
}

// nextBytes is Random.nextBytes: each int gives up to four bytes, low byte first.
func (r *javaRandom) nextBytes(b []byte) {
	for i := 0; i < len(b); {
		rnd := r.next(32)
		for n := min(len(b)-i, 4); n > 0; n-- {
			b[i] = byte(rnd)
			rnd >>= 8
			i++
		}
	}
}

// ExpireSession ends session id on the server at addr the classic way: it
// connects a second time in that session (same id and password) and closes
// it. ZooKeeper deletes the session's ephemeral znodes, fires their
// watches, drops the session's own connection, and tells the owner on its
// next reconnect that the session has expired. It returns once the close
// has been acknowledged, or an error (ErrSessionGone when the server no
// longer knows the session).
func ExpireSession(addr string, id int64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return fmt.Errorf("expire session %#x: dial %s: %w", id, addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(deadline)
	// ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId, passwd, readOnly.
	pw := SessionPassword(id)
	req := make([]byte, 0, 64)
	req = binary.BigEndian.AppendUint32(req, 0)
	req = binary.BigEndian.AppendUint64(req, 0)
	req = binary.BigEndian.AppendUint32(req, 10000)
	req = binary.BigEndian.AppendUint64(req, uint64(id))
	req = binary.BigEndian.AppendUint32(req, uint32(len(pw)))
	req = append(req, pw...)
	req = append(req, 0)
	if err := writeFrame(c, req); err != nil {
		return fmt.Errorf("expire session %#x: connect: %w", id, err)
	}
	resp, err := readFrame(c)
	if err != nil {
		return fmt.Errorf("expire session %#x: connect response: %w", id, err)
	}
	// ConnectResponse: protocolVersion, timeOut, sessionId, passwd. A timeout
	// of 0 (and session id 0) means the server does not know the session.
	if len(resp) < 16 {
		return fmt.Errorf("expire session %#x: short connect response (%d bytes)", id, len(resp))
	}
	if binary.BigEndian.Uint32(resp[4:]) == 0 || int64(binary.BigEndian.Uint64(resp[8:])) != id {
		return fmt.Errorf("expire session %#x: %w", id, ErrSessionGone)
	}
	// closeSession: RequestHeader{xid, type -11}, no body.
	close := binary.BigEndian.AppendUint32(nil, 1)
	close = binary.BigEndian.AppendUint32(close, uint32(0xFFFFFFF5)) // -11
	if err := writeFrame(c, close); err != nil {
		return fmt.Errorf("expire session %#x: close: %w", id, err)
	}
	// ReplyHeader{xid, zxid, err}; the server may also just close the socket.
	reply, err := readFrame(c)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("expire session %#x: close response: %w", id, err)
	}
	if len(reply) >= 16 {
		if code := int32(binary.BigEndian.Uint32(reply[12:])); code != 0 {
			return fmt.Errorf("expire session %#x: close answered error %d", id, code)
		}
	}
	return nil
}

// ErrSessionGone is returned by ExpireSession for a session the server no longer has.
var ErrSessionGone = errors.New("session unknown to the server (already expired or closed)")

func writeFrame(w io.Writer, body []byte) error {
	_, err := w.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...))
	return err
}

func readFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", size)
	}
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
