package protocol

import "encoding/binary"

// Primitive encoders for the Kafka wire format (big-endian fixed ints, unsigned
// varints for compact lengths and tagged fields, KIP-482).

func appendInt16(dst []byte, v int16) []byte { return binary.BigEndian.AppendUint16(dst, uint16(v)) }
func appendInt32(dst []byte, v int32) []byte { return binary.BigEndian.AppendUint32(dst, uint32(v)) }
func appendInt64(dst []byte, v int64) []byte { return binary.BigEndian.AppendUint64(dst, uint64(v)) }

func appendUvarint(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

func appendString(dst []byte, s string) []byte {
	dst = appendInt16(dst, int16(len(s)))
	return append(dst, s...)
}

// appendCompactString: uvarint(len+1) then the bytes.
func appendCompactString(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint32(len(s))+1)
	return append(dst, s...)
}

// appendNullableString: int16 length, -1 for null.
func appendNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return appendInt16(dst, -1)
	}
	return appendString(dst, *s)
}

// appendCompactNullableString: uvarint(len+1), 0 for null.
func appendCompactNullableString(dst []byte, s *string) []byte {
	if s == nil {
		return appendUvarint(dst, 0)
	}
	return appendCompactString(dst, *s)
}

func appendArrayLen(dst []byte, n int, flexible bool) []byte {
	if flexible {
		return appendUvarint(dst, uint32(n)+1)
	}
	return appendInt32(dst, int32(n))
}

func appendNullableArrayLen(dst []byte, n int, isNil, flexible bool) []byte {
	if isNil {
		if flexible {
			return appendUvarint(dst, 0)
		}
		return appendInt32(dst, -1)
	}
	return appendArrayLen(dst, n, flexible)
}

// appendBytesLen writes the length prefix of a (nullable) bytes field:
// int32 for non-flexible versions, uvarint(len+1) for flexible ones.
func appendBytesLen(dst []byte, n int64, flexible bool) []byte {
	if flexible {
		return appendUvarint(dst, uint32(n)+1)
	}
	return appendInt32(dst, int32(n))
}

// appendSized encodes a tagged field's value with fn and inserts its uvarint
// size in front of it (KIP-482: tag, size, value).
func appendSized(dst []byte, fn func([]byte) []byte) []byte {
	start := len(dst)
	dst = fn(dst)
	l := len(dst) - start
	var tmp [5]byte
	pre := appendUvarint(tmp[:0], uint32(l))
	dst = append(dst, pre...)
	copy(dst[start+len(pre):], dst[start:start+l])
	copy(dst[start:], pre)
	return dst
}

// reader decodes primitives from a byte slice; any short read sets bad.
type reader struct {
	src []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if r.bad || n < 0 || len(r.src) < n {
		r.bad = true
		r.src = nil
		return nil
	}
	b := r.src[:n:n]
	r.src = r.src[n:]
	return b
}

func (r *reader) int16() int16 {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int16(binary.BigEndian.Uint16(b))
}

func (r *reader) int32() int32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(b))
}

// uvarint reads an unsigned varint of at most 5 bytes (32 bits).
func (r *reader) uvarint() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		b := r.take(1)
		if b == nil {
			return 0
		}
		v |= uint32(b[0]&0x7f) << (7 * i)
		if b[0] < 0x80 {
			return v
		}
	}
	r.bad = true
	r.src = nil
	return 0
}

func (r *reader) nullableString() *string {
	n := r.int16()
	if r.bad || n < 0 {
		return nil
	}
	b := r.take(int(n))
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// skipTags skips a tagged-field section: uvarint count, then per field
// uvarint tag, uvarint size, size bytes.
func (r *reader) skipTags() {
	n := r.uvarint()
	if int32(n) < 0 {
		// Kafka reads the count as a Java int: negative, no field.
		return
	}
	for i := uint32(0); i < n && !r.bad; i++ {
		r.uvarint()
		size := r.uvarint()
		if size > uint32(len(r.src)) {
			r.bad = true
			r.src = nil
			return
		}
		r.take(int(size))
	}
}
