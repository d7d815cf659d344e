package consoleconsumer

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"
)

// formatter is a MessageFormatter.
type formatter interface {
	writeTo(w io.Writer, r *kgo.Record) error
}

// serializationError is org.apache.kafka.common.errors.SerializationException (or another exception
// a deserializer throws): writeTo fails with it.
type serializationError struct{ class, msg string }

func (e *serializationError) Error() string { return e.msg }

// newFormatter loads the --formatter class and configures it with the --property values.
func newFormatter(class string, props map[string]string) (formatter, error) {
	switch class {
	case defaultFormatter, "kafka.tools.LoggingMessageFormatter": // the latter logs at INFO, below the tools' WARN
		return newDefaultFormatter(props)
	case "kafka.tools.NoOpMessageFormatter":
		return noopFormatter{}, nil
	}
	return nil, &uncaught{"java.lang.ClassNotFoundException", class}
}

type noopFormatter struct{}

func (noopFormatter) writeTo(io.Writer, *kgo.Record) error { return nil }

// deserializer turns bytes into the text the formatter prints (the deserialized object's toString).
type deserializer func(b []byte) ([]byte, error)

// defaultFormatter is DefaultMessageFormatter.
type defaultFmt struct {
	printTimestamp, printKey, printValue, printPartition, printOffset, printHeaders bool
	keySeparator, lineSeparator, headersSeparator, nullLiteral                      []byte
	keyDeser, valueDeser, headersDeser                                              deserializer
}

func newDefaultFormatter(props map[string]string) (*defaultFmt, error) {
	f := &defaultFmt{printValue: true, keySeparator: []byte("\t"), lineSeparator: []byte("\n"),
		headersSeparator: []byte(","), nullLiteral: []byte("null")}
	for key, dst := range map[string]*bool{"print.timestamp": &f.printTimestamp, "print.key": &f.printKey,
		"print.offset": &f.printOffset, "print.partition": &f.printPartition, "print.headers": &f.printHeaders,
		"print.value": &f.printValue} {
		if v, ok := props[key]; ok {
			*dst = strings.EqualFold(strings.TrimSpace(v), "true")
		}
	}
	for key, dst := range map[string]*[]byte{"key.separator": &f.keySeparator, "line.separator": &f.lineSeparator,
		"headers.separator": &f.headersSeparator, "null.literal": &f.nullLiteral} {
		if v, ok := props[key]; ok {
			*dst = []byte(v)
		}
	}
	for key, dst := range map[string]*deserializer{"key.deserializer": &f.keyDeser, "value.deserializer": &f.valueDeser,
		"headers.deserializer": &f.headersDeser} {
		if v, ok := props[key]; ok {
			d, err := deserializerFor(v)
			if err != nil {
				return nil, err
			}
			*dst = d
		}
	}
	return f, nil
}

func (f *defaultFmt) deserialize(d deserializer, b []byte) ([]byte, error) {
	if b == nil {
		b = f.nullLiteral
	}
	if d == nil {
		return b, nil
	}
	return d(b)
}

func (f *defaultFmt) writeTo(w io.Writer, r *kgo.Record) error {
	var out []byte
	sep := func(column bool) {
		if column {
			out = append(out, f.keySeparator...)
		} else {
			out = append(out, f.lineSeparator...)
		}
	}
	if f.printTimestamp {
		switch r.Attrs.TimestampType() {
		case 0:
			out = append(out, "CreateTime:"+strconv.FormatInt(r.Timestamp.UnixMilli(), 10)...)
		case 1:
			out = append(out, "LogAppendTime:"+strconv.FormatInt(r.Timestamp.UnixMilli(), 10)...)
		default:
			out = append(out, "NO_TIMESTAMP"...)
		}
		sep(f.printOffset || f.printPartition || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printPartition {
		out = append(out, "Partition:"+strconv.Itoa(int(r.Partition))...)
		sep(f.printOffset || f.printHeaders || f.printKey || f.printValue)
	}
	if f.printOffset {
		out = append(out, "Offset:"+strconv.FormatInt(r.Offset, 10)...)
		sep(f.printHeaders || f.printKey || f.printValue)
	}
	if f.printHeaders {
		if len(r.Headers) == 0 {
			out = append(out, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			out = append(out, h.Key+":"...)
			v, err := f.deserialize(f.headersDeser, h.Value)
			if err != nil {
				return err
			}
			out = append(out, v...)
			if i < len(r.Headers)-1 {
				out = append(out, f.headersSeparator...)
			}
		}
		sep(f.printKey || f.printValue)
	}
	if f.printKey {
		k, err := f.deserialize(f.keyDeser, r.Key)
		if err != nil {
			return err
		}
		out = append(out, k...)
		sep(f.printValue)
	}
	if f.printValue {
		v, err := f.deserialize(f.valueDeser, r.Value)
		if err != nil {
			return err
		}
		out = append(out, v...)
		out = append(out, f.lineSeparator...)
	}
	_, err := w.Write(out)
	return err
}

const serde = "org.apache.kafka.common.serialization."

func sizeErr(name string, n int) error {
	return &serializationError{"org.apache.kafka.common.errors.SerializationException",
		fmt.Sprintf("Size of data received by %s is not %d", name, n)}
}

// deserializerFor loads a Kafka Deserializer class among those Kafka ships.
func deserializerFor(class string) (deserializer, error) {
	switch strings.TrimPrefix(class, serde) {
	case "StringDeserializer":
		return func(b []byte) ([]byte, error) { return []byte(javaUTF8(b)), nil }, nil
	case "ByteArrayDeserializer": // byte[].toString
		return func(b []byte) ([]byte, error) { return []byte(fmt.Sprintf("[B@%x", javaIdentityHash(b))), nil }, nil
	case "ByteBufferDeserializer":
		return func(b []byte) ([]byte, error) {
			return []byte(fmt.Sprintf("java.nio.HeapByteBuffer[pos=0 lim=%d cap=%d]", len(b), len(b))), nil
		}, nil
	case "BytesDeserializer":
		return func(b []byte) ([]byte, error) { return []byte(bytesToString(b)), nil }, nil
	case "IntegerDeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 4 {
				return nil, sizeErr("IntegerDeserializer", 4)
			}
			return []byte(strconv.Itoa(int(int32(binary.BigEndian.Uint32(b))))), nil
		}, nil
	case "LongDeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 8 {
				return nil, sizeErr("LongDeserializer", 8)
			}
			return []byte(strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10)), nil
		}, nil
	case "ShortDeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 2 {
				return nil, sizeErr("ShortDeserializer", 2)
			}
			return []byte(strconv.Itoa(int(int16(binary.BigEndian.Uint16(b))))), nil
		}, nil
	case "FloatDeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 4 {
				return nil, sizeErr("FloatDeserializer", 4)
			}
			return []byte(javaFloatString(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), 32)), nil
		}, nil
	case "DoubleDeserializer":
		return func(b []byte) ([]byte, error) {
			if len(b) != 8 {
				return nil, sizeErr("DoubleDeserializer", 8)
			}
			return []byte(javaFloatString(math.Float64frombits(binary.BigEndian.Uint64(b)), 64)), nil
		}, nil
	case "UUIDDeserializer":
		return func(b []byte) ([]byte, error) {
			s := strings.ToLower(javaUTF8(b))
			if !uuidRE(s) {
				return nil, &serializationError{"org.apache.kafka.common.errors.SerializationException", "Error parsing data into UUID"}
			}
			return []byte(s), nil
		}, nil
	case "VoidDeserializer":
		return func([]byte) ([]byte, error) {
			return nil, &serializationError{"java.lang.IllegalArgumentException", "Data should be null for a VoidDeserializer."}
		}, nil
	}
	return nil, &uncaught{"java.lang.ClassNotFoundException", class}
}

// javaUTF8 is new String(bytes, UTF_8): malformed input becomes U+FFFD.
func javaUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}

// javaIdentityHash stands in for System.identityHashCode of an array: arbitrary but stable per content.
func javaIdentityHash(b []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h & 0x7fffffff
}

// bytesToString is org.apache.kafka.common.utils.Bytes.toString: printable ASCII as is, other bytes
// (and the backslash) as \xNN.
func bytesToString(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c >= ' ' && c <= '~' && c != '\\' {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, "\\x%02X", c)
		}
	}
	return sb.String()
}

func uuidRE(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}

// javaFloatString is Float.toString / Double.toString: the shortest digits, plain between 10^-3 and
// 10^7 with at least one fraction digit, else computerized scientific notation (1.0E10).
func javaFloatString(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		if math.Signbit(v) {
			return "-0.0"
		}
		return "0.0"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	e := strconv.FormatFloat(v, 'e', -1, bits) // d.ddde±XX
	mant, expS, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expS)
	digits := strings.Replace(mant, ".", "", 1)
	if v >= 1e-3 && v < 1e7 {
		var intPart, frac string
		if exp >= 0 {
			if len(digits) <= exp+1 {
				intPart, frac = digits+strings.Repeat("0", exp+1-len(digits)), "0"
			} else {
				intPart, frac = digits[:exp+1], digits[exp+1:]
			}
		} else {
			intPart, frac = "0", strings.Repeat("0", -exp-1)+digits
		}
		return sign + intPart + "." + frac
	}
	frac := digits[1:]
	if frac == "" {
		frac = "0"
	}
	return sign + digits[:1] + "." + frac + "E" + strconv.Itoa(exp)
}
