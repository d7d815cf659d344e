package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxRequestSize is Kafka's socket.request.max.bytes default (100 MiB).
const DefaultMaxRequestSize = 100 * 1024 * 1024

var (
	// ErrFrameTooLarge is returned by ReadFrame when the size prefix exceeds the limit.
	ErrFrameTooLarge = errors.New("frame size exceeds the maximum")
	// ErrNegativeFrameSize is returned by ReadFrame when the size prefix is negative.
	ErrNegativeFrameSize = errors.New("negative frame size")
)

// ReadFrame reads one frame: a big-endian int32 size followed by size bytes,
// and returns those bytes (without the prefix). A size below zero or above
// max is an error naming the size, returned before anything is allocated; the
// caller logs it and closes the connection. The frame is read into buf when
// cap(buf) is large enough. io.EOF is returned only when the stream ends
// cleanly before a frame starts; a frame cut short gives io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, max int32, buf []byte) ([]byte, error) {
	var sizeBuf [4]byte
	if _, err := io.ReadFull(r, sizeBuf[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame size: %w", err)
	}
	size := int32(binary.BigEndian.Uint32(sizeBuf[:]))
	if size < 0 {
		return nil, fmt.Errorf("%w: %d", ErrNegativeFrameSize, size)
	}
	if size > max {
		return nil, fmt.Errorf("%w: %d bytes > %d", ErrFrameTooLarge, size, max)
	}
	var frame []byte
	if cap(buf) >= int(size) {
		frame = buf[:size]
	} else {
		frame = make([]byte, size)
	}
	if _, err := io.ReadFull(r, frame); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read frame of %d bytes: %w", size, err)
	}
	return frame, nil
}
