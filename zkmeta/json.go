package zkmeta

import (
	"sort"
	"strconv"
	"strings"
)

// rawObj is a JSON object under construction: values are already-encoded JSON.
type rawObj map[string]string

// encodeObj writes obj with keys in the given order (keys missing from obj are skipped).
func encodeObj(obj rawObj, order []string) string {
	var b strings.Builder
	b.WriteByte('{')
	first := true
	for _, k := range order {
		v, ok := obj[k]
		if !ok {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(jsonString(k))
		b.WriteByte(':')
		b.WriteString(v)
	}
	b.WriteByte('}')
	return b.String()
}

// jsonString quotes s as Jackson does: only '"', '\\' and control characters are escaped.
func jsonString(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xF])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func jsonInt(v int64) string { return strconv.FormatInt(v, 10) }

func jsonIntList(v []int32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(int64(x), 10))
	}
	b.WriteByte(']')
	return b.String()
}

func jsonStringList(v []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(jsonString(x))
	}
	b.WriteByte(']')
	return b.String()
}

// partitionMapJSON encodes {"<p>":[replicas]} as Kafka's TopicZNode does: a mutable.HashMap filled in
// partition order.
func partitionMapJSON(m map[int32][]int32) string {
	ps := make([]int32, 0, len(m))
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	obj := make(rawObj, len(ps))
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = strconv.FormatInt(int64(p), 10)
		obj[keys[i]] = jsonIntList(m[p])
	}
	return encodeObj(obj, scalaMutableMapOrder(nil, keys))
}
