package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Why a pre-walk in front of kmsg (issue 15, item 1: input that costs what it
// weighs). kmsg v1.15's generated decoders bound an array's declared length
// by the bytes left (kbin.Reader.ArrayLen: n <= remaining), and strings and
// bytes go through Span, which checks the length first. Two things are not
// bounded:
//
//   - tagged-field sections: internalReadTags and the generated loops over a
//     struct's known tags run `for n := b.Uvarint(); n > 0; n--` and keep
//     looping after the reader ran dry, so a 30-byte Metadata v12 frame that
//     declares 2^32-16 tagged fields burns a core for tens of seconds;
//   - memory: an array of n elements is allocated as make([]T, n) before any
//     element is read, with n only bounded by the bytes left, so a frame of N
//     bytes can allocate sizeof(T)*N (T of 80+ bytes) before failing.
//
// kbin.Reader is a concrete internal type, so kmsg's decode cannot be
// intercepted. checkBody therefore walks the body first with Kafka 3.9's own
// request schemas (request_schemas.go, generated from Kafka's message JSON)
// and refuses, before kmsg runs, any frame where a declared count cannot fit
// in the bytes that remain: a tag count needs 2 bytes per field, an array
// its elements' minimal wire size each, a string or bytes length its bytes.
// The walk itself is O(frame): every loop step consumes at least one byte
// or stops. What it accepts decodes in kmsg with each allocation backed by
// the bytes its elements occupy.
//
// Counts are read as Kafka's generated readers read them, in Java ints: a
// uvarint of 2^31 or more is negative, so a tag count of that size means no
// field and a compact string or bytes length means null (both rewritten in
// place to a zero kmsg reads the same way). A null where Kafka's schema
// allows none is refused ("non-nullable field ... was serialized as null"),
// which kmsg would read as empty. Trailing bytes are allowed, as Kafka and
// kmsg allow them. A refused frame is malformed: the connection is closed,
// as Kafka's SocketServer closes it.

// wkind is a schema field's wire type.
type wkind uint8

const (
	kBool  wkind = iota + 1 // also int8
	kInt16                  // also uint16
	kInt32
	kInt64 // also float64
	kUUID
	kString
	kBytes // bytes and records
	kStruct
	kArray
)

// sfield is one field of a request schema (Kafka's message JSON): present in
// versions [min, max]; from tagMin on (when tagMin >= 0) it lives in its
// struct's tagged-field section under tag.
type sfield struct {
	name     string
	kind     wkind
	elem     wkind // kArray's element kind
	min, max int16
	tagMin   int16
	// nullMin: the first of Kafka's nullableVersions, -1 for none. A
	// nullable struct is preceded by an int8 marker (-1 null); a null
	// string, bytes or array where Kafka does not allow one is refused.
	nullMin int16
	tag     uint32
	fields  []sfield // kStruct, or kArray of kStruct
}

// msgSchema is one request's schema: its valid versions and the first
// flexible one (KIP-482).
type msgSchema struct {
	name     string
	min, max int16
	flexMin  int16
	fields   []sfield
}

// errNull is a null where Kafka's schema allows none: Kafka's readers throw
// ("non-nullable field ... was serialized as null") and the connection is
// closed. kmsg reads some of them (arrays, bytes) as empty.
var errNull = errors.New("non-nullable field was serialized as null")

// errBound is a body whose declared counts do not fit in its bytes.
var errBound = errors.New("declared count or length does not fit in the bytes left")

// requestSchema returns Kafka 3.9's schema for key, or nil for a key Kafka
// 3.9 does not know.
func requestSchema(key int16) *msgSchema {
	if key < 0 || int(key) >= len(requestSchemas) {
		return nil
	}
	return requestSchemas[key]
}

// responseSchema returns Kafka 3.9's response schema for key, or nil.
func responseSchema(key int16) *msgSchema {
	if key < 0 || int(key) >= len(responseSchemas) {
		return nil
	}
	return responseSchemas[key]
}

// checkBody walks a request body of the given schema version, bounding every
// declared count by the bytes that remain, and returns how many of body's
// bytes to decode. Trailing bytes are allowed, as kmsg allows them.
//
// body is rewritten in place so that kmsg reads what Kafka reads: a tag
// count Kafka reads as negative (2^31 or more: no field) becomes a zero of
// the same length, and tagged fields Kafka 3.9 does not know are dropped
// (the body shrinks). Kafka keeps them aside unread (_unknownTaggedFields)
// and so would kmsg, in a map per struct: some 280 bytes for 2 bytes of
// frame, 90 times the frame for arrays of small structs each carrying one.
func checkBody(s *msgSchema, version int16, body []byte) (int, error) {
	st := &stripper{base: body}
	w := walker{src: body, v: version, flexible: version >= s.flexMin, rewrite: true, strip: st}
	if err := w.structFields(s.fields); err != nil {
		return 0, fmt.Errorf("%s v%d at byte %d: %w", s.name, version, len(body)-len(w.src), err)
	}
	if !st.stripped {
		return len(body), nil
	}
	st.flush(len(body) - len(w.src))
	return st.dst, nil
}

// stripper compacts a body in place as the walk drops unknown tagged
// fields: bytes before mark are settled, base[:dst] is the output so far
// (dst <= mark <= the walk's position, so writes never pass unread bytes).
type stripper struct {
	base      []byte
	dst, mark int
	stripped  bool
}

// flush moves the walked bytes from mark to upTo into the output.
func (st *stripper) flush(upTo int) {
	st.dst += copy(st.base[st.dst:], st.base[st.mark:upTo])
	st.mark = upTo
}

type walker struct {
	src      []byte
	v        int16
	flexible bool
	// rewrite: a tag count Kafka reads as negative (no field) is
	// rewritten in place to zero for kmsg (checkBody).
	rewrite bool
	// strip, when set, drops tagged fields Kafka does not know (the
	// top-level walk of checkBody; not inside a known tagged field, whose
	// size would change).
	strip *stripper
	// onCount, when set (tests), is told where each count or length
	// starts: its offset from the end of the body and its encoding.
	onCount func(fromEnd int, flexible bool, k wkind)
}

func (w *walker) skip(n uint64) error {
	if n > uint64(len(w.src)) {
		return errBound
	}
	w.src = w.src[n:]
	return nil
}

// uvarint reads a 32-bit uvarint of at most 5 bytes as Kafka does: the
// fifth byte's bits beyond 32 are dropped (kbin.Uvarint refuses them, so
// with rewrite they are cleared in place).
func (w *walker) uvarint() (uint32, error) {
	var x uint32
	for i := 0; i < 5; i++ {
		if i >= len(w.src) {
			return 0, errBound
		}
		b := w.src[i]
		if i == 4 {
			switch {
			case b >= 0x80:
				// ByteUtils.readUnsignedVarint: illegal varint.
				return 0, fmt.Errorf("uvarint longer than 5 bytes: %w", errBound)
			case b > 0x0f && !w.rewrite:
				return 0, fmt.Errorf("uvarint longer than 32 bits: %w", errBound)
			case b > 0x0f:
				// Kafka shifts the fifth byte into an int, losing its
				// high bits; kbin refuses them: the value Kafka reads,
				// in place.
				b &= 0x0f
				w.src[4] = b
			}
			w.src = w.src[5:]
			return x | uint32(b)<<28, nil
		}
		x |= uint32(b&0x7f) << (7 * i)
		if b < 0x80 {
			w.src = w.src[i+1:]
			return x, nil
		}
	}
	return 0, errBound // unreachable
}

func (w *walker) int16() (int16, error) {
	if len(w.src) < 2 {
		return 0, errBound
	}
	v := int16(binary.BigEndian.Uint16(w.src))
	w.src = w.src[2:]
	return v, nil
}

func (w *walker) int32() (int32, error) {
	if len(w.src) < 4 {
		return 0, errBound
	}
	v := int32(binary.BigEndian.Uint32(w.src))
	w.src = w.src[4:]
	return v, nil
}

// structFields walks one struct: its fields present at this version in
// order, then (flexible versions) its tagged-field section.
func (w *walker) structFields(fields []sfield) error {
	for i := range fields {
		f := &fields[i]
		if w.v < f.min || w.v > f.max || f.tagged(w.v) {
			continue
		}
		if err := w.value(f.kind, f, false); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if !w.flexible {
		return nil
	}
	return w.tags(fields)
}

func (f *sfield) tagged(v int16) bool { return f.tagMin >= 0 && v >= f.tagMin }

// nullable: Kafka's nullableVersions hold v.
func (f *sfield) nullable(v int16) bool { return f.nullMin >= 0 && v >= f.nullMin }

// tags walks a tagged-field section (KIP-482: uvarint count, then per field
// uvarint tag, uvarint size, size bytes). Every field takes at least two
// bytes, so a count above half the bytes left cannot be honest. A known
// tag's value is walked within its size, as kmsg decodes it.
func (w *walker) tags(fields []sfield) error {
	if w.onCount != nil {
		w.onCount(len(w.src), true, 0)
	}
	at := w.src
	n, err := w.uvarint()
	if err != nil {
		return err
	}
	if int32(n) < 0 {
		// Kafka's generated readers hold the count in a Java int, so one of
		// 2^31 or more is negative and `for (i = 0; i < n; i++)` reads no
		// field: the struct ends here and the request is served. kmsg would
		// loop 2^32 times instead, so the count (always 5 bytes) is
		// rewritten in place to a 5-byte zero (kbin.Uvarint accepts it).
		if w.rewrite {
			copy(at[:5], []byte{0x80, 0x80, 0x80, 0x80, 0})
		}
		return nil
	}
	if uint64(n)*2 > uint64(len(w.src)) {
		return fmt.Errorf("%d tagged fields in %d bytes: %w", n, len(w.src), errBound)
	}
	// With strip: the [start, end) of each field kept, written back after
	// the section is walked if any field is dropped.
	type span struct{ start, end int }
	var kept []span
	dropped := false
	pos := func() int { return len(w.strip.base) - len(w.src) }
	countAt := 0
	if w.strip != nil {
		countAt = pos() - (len(at) - len(w.src))
	}
	for ; n > 0; n-- {
		start := 0
		if w.strip != nil {
			start = pos()
		}
		tag, err := w.uvarint()
		if err != nil {
			return err
		}
		size, err := w.uvarint()
		if err != nil {
			return err
		}
		if uint64(size) > uint64(len(w.src)) {
			return fmt.Errorf("tagged field %d of %d bytes: %w", tag, size, errBound)
		}
		val := w.src[:size]
		w.src = w.src[size:]
		known := false
		for i := range fields {
			f := &fields[i]
			if f.tag != tag || !f.tagged(w.v) || w.v < f.min || w.v > f.max {
				continue
			}
			known = true
			sub := walker{src: val, v: w.v, flexible: w.flexible, rewrite: w.rewrite}
			if w.onCount != nil {
				rest := len(w.src) // val ends where the rest starts
				sub.onCount = func(fromEnd int, flexible bool, k wkind) { w.onCount(fromEnd+rest, flexible, k) }
			}
			if err := sub.value(f.kind, f, false); err != nil {
				return fmt.Errorf("tagged field %d (%s): %w", tag, f.name, err)
			}
			break
		}
		if w.strip != nil {
			if known {
				kept = append(kept, span{start, pos()})
			} else {
				dropped = true
			}
		}
	}
	if dropped {
		st := w.strip
		st.flush(countAt)
		st.dst = len(appendUvarint(st.base[:st.dst], uint32(len(kept))))
		for _, k := range kept {
			st.dst += copy(st.base[st.dst:], st.base[k.start:k.end])
		}
		st.mark = pos()
		st.stripped = true
	}
	return nil
}

// minSize is the fewest bytes a value of kind k (with f's fields for a
// struct) takes at this version: what each declared array element costs.
func (w *walker) minSize(k wkind, f *sfield) uint64 {
	switch k {
	case kBool:
		return 1
	case kInt16:
		return 2
	case kInt32:
		return 4
	case kInt64:
		return 8
	case kUUID:
		return 16
	case kString:
		if w.flexible {
			return 1
		}
		return 2
	case kBytes, kArray:
		if w.flexible {
			return 1
		}
		return 4
	case kStruct:
		var n uint64
		if w.flexible {
			n = 1 // the tag count
		}
		for i := range f.fields {
			g := &f.fields[i]
			if w.v < g.min || w.v > g.max || g.tagged(w.v) {
				continue
			}
			n += w.minSize(g.kind, g)
		}
		return n
	}
	return 1
}

// length reads a string, bytes or array length: int16 (strings) or int32
// before flexible versions, uvarint(n+1) after. Negative is null.
func (w *walker) length(k wkind) (int64, error) {
	if w.onCount != nil {
		w.onCount(len(w.src), w.flexible, k)
	}
	if w.flexible {
		u, err := w.uvarint()
		if err != nil {
			return 0, err
		}
		if k == kArray {
			// Kafka (readUnsignedVarint() - 1 in a Java int) and
			// kbin.CompactArrayLen both wrap: 2^31 reads as 2^31-1, more as
			// negative, so null.
			return int64(int32(u) - 1), nil
		}
		// Kafka's int arithmetic as for arrays; kmsg reads strings and
		// bytes with int(u)-1 instead (value rewrites the difference).
		return int64(int32(u) - 1), nil
	}
	if k == kString {
		n, err := w.int16()
		return int64(n), err
	}
	n, err := w.int32()
	return int64(n), err
}

// value walks one value of kind k: field f itself, or (elem) one element
// of array f.
func (w *walker) value(k wkind, f *sfield, elem bool) error {
	switch k {
	case kBool, kInt16, kInt32, kInt64, kUUID:
		return w.skip(w.minSize(k, f))
	case kString, kBytes:
		at := w.src
		n, err := w.length(k)
		if err != nil {
			return err
		}
		if n < 0 {
			if !elem && f.nullable(w.v) {
				if w.flexible && w.rewrite && len(at)-len(w.src) == 5 {
					// A 5-byte uvarint Kafka reads as a negative int, kmsg
					// as a huge length: the null Kafka reads, for kmsg.
					copy(at[:5], []byte{0x80, 0x80, 0x80, 0x80, 0})
				}
				return nil
			}
			// Kafka: "non-nullable field ... was serialized as null".
			return errNull
		}
		return w.skip(uint64(n))
	case kStruct:
		if !elem && f.nullable(w.v) {
			// kmsg reads the marker and the struct unless it is -1.
			if len(w.src) < 1 {
				return errBound
			}
			present := int8(w.src[0])
			w.src = w.src[1:]
			if present == -1 {
				return nil
			}
		}
		return w.structFields(f.fields)
	case kArray:
		n, err := w.length(kArray)
		if err != nil {
			return err
		}
		if n < 0 && !f.nullable(w.v) {
			return errNull // kmsg reads an empty array; Kafka refuses
		}
		if n <= 0 {
			return nil
		}
		per := w.minSize(f.elem, f)
		if per == 0 {
			per = 1
		}
		if uint64(n)*per > uint64(len(w.src)) {
			return fmt.Errorf("array of %d elements of >= %d bytes in %d bytes: %w", n, per, len(w.src), errBound)
		}
		for i := int64(0); i < n; i++ {
			if err := w.value(f.elem, f, true); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown wire kind %d", k)
}

// CheckVersionedData bounds a versioned data record of Kafka 3.9's schema
// name (a __consumer_offsets value: GroupMetadataValue, OffsetCommitValue),
// an int16 version then its body, by its bytes before kmsg decodes it, as
// ParseRequest does for requests: a record read from disk costs what it
// weighs too. It returns the bytes to give kmsg: a copy of b rewritten as
// checkBody rewrites a body. A version Kafka 3.9 does not know is an error.
func CheckVersionedData(name string, b []byte) ([]byte, error) {
	s := dataSchemas[name]
	if s == nil {
		return nil, fmt.Errorf("no schema for %s", name)
	}
	if len(b) < 2 {
		return nil, fmt.Errorf("%s of %d bytes: %w", name, len(b), errBound)
	}
	version := int16(binary.BigEndian.Uint16(b))
	if version < s.min || version > s.max {
		return nil, fmt.Errorf("%s v%d: unknown version (%d-%d)", name, version, s.min, s.max)
	}
	c := append([]byte(nil), b...)
	n, err := checkBody(s, version, c[2:])
	if err != nil {
		return nil, err
	}
	return c[:2+n], nil
}
