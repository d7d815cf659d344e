package consoleproducer

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"
)

// record is one ProducerRecord read from a line; nil slices are nulls.
type record struct {
	Key, Value []byte
	Headers    []header
}

type header struct {
	Key   string
	Value []byte // nil: a null header value
}

// kafkaException is org.apache.kafka.common.KafkaException.
type kafkaException struct{ msg string }

func (e *kafkaException) Error() string { return e.msg }

// lineReader is ConsoleProducer.LineMessageReader.
type lineReader struct {
	parseKey, parseHeaders, ignoreError bool
	keySeparator                        string
	headersDelimiter, headersSeparator  string
	headersKeySeparator                 string
	headersSeparatorRE                  *regexp.Regexp
	nullMarker                          *string
	lineNumber                          int
}

// newLineReader is LineMessageReader.configure.
func newLineReader(props map[string]string) (*lineReader, error) {
	r := &lineReader{keySeparator: "\t", headersDelimiter: "\t", headersSeparator: ",", headersKeySeparator: ":"}
	isTrue := func(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }
	if v, ok := props["parse.key"]; ok {
		r.parseKey = isTrue(v)
	}
	if v, ok := props["key.separator"]; ok {
		r.keySeparator = v
	}
	if v, ok := props["parse.headers"]; ok {
		r.parseHeaders = isTrue(v)
	}
	if v, ok := props["headers.delimiter"]; ok {
		r.headersDelimiter = v
	}
	if v, ok := props["headers.separator"]; ok {
		r.headersSeparator = v
	}
	re, err := regexp.Compile(r.headersSeparator)
	if err != nil {
		return nil, &kafkaException{fmt.Sprintf("headers.separator %q is not a valid regular expression: %v", r.headersSeparator, err)}
	}
	r.headersSeparatorRE = re
	if v, ok := props["headers.key.separator"]; ok {
		r.headersKeySeparator = v
	}
	if v, ok := props["ignore.error"]; ok {
		r.ignoreError = isTrue(v)
	}
	switch {
	case r.headersDelimiter == r.headersSeparator:
		return nil, &kafkaException{"headers.delimiter and headers.separator may not be equal"}
	case r.headersDelimiter == r.headersKeySeparator:
		return nil, &kafkaException{"headers.delimiter and headers.key.separator may not be equal"}
	case r.headersSeparator == r.headersKeySeparator:
		return nil, &kafkaException{"headers.separator and headers.key.separator may not be equal"}
	}
	if v, ok := props["null.marker"]; ok {
		r.nullMarker = &v
		switch v {
		case r.keySeparator:
			return nil, &kafkaException{"null.marker and key.separator may not be equal"}
		case r.headersSeparator:
			return nil, &kafkaException{"null.marker and headers.separator may not be equal"}
		case r.headersDelimiter:
			return nil, &kafkaException{"null.marker and headers.delimiter may not be equal"}
		case r.headersKeySeparator:
			return nil, &kafkaException{"null.marker and headers.key.separator may not be equal"}
		}
	}
	return r, nil
}

func (r *lineReader) isNull(s string) bool { return r.nullMarker != nil && s == *r.nullMarker }

// parse is LineMessageReader.parse: the text from start up to the demarcation, or ok=false.
func (r *lineReader) parse(enabled bool, line string, start int, demarcation, name string) (string, bool, error) {
	if !enabled {
		return "", false, nil
	}
	i := strings.Index(line[start:], demarcation)
	if i < 0 {
		if r.ignoreError {
			return "", false, nil
		}
		return "", false, &kafkaException{fmt.Sprintf("No %s found on line number %d: '%s'", name, r.lineNumber, line)}
	}
	return line[start : start+i], true, nil
}

// record turns one line into a record.
func (r *lineReader) record(line string) (*record, error) {
	headers, hasHeaders, err := r.parse(r.parseHeaders, line, 0, r.headersDelimiter, "headers delimiter")
	if err != nil {
		return nil, err
	}
	headerOffset := 0
	if hasHeaders {
		headerOffset = len(headers) + len(r.headersDelimiter)
	}
	key, hasKey, err := r.parse(r.parseKey, line, headerOffset, r.keySeparator, "key separator")
	if err != nil {
		return nil, err
	}
	keyOffset := 0
	if hasKey {
		keyOffset = len(key) + len(r.keySeparator)
	}
	value := line[headerOffset+keyOffset:]
	rec := &record{}
	if hasKey && !r.isNull(key) {
		rec.Key = []byte(key)
	}
	if !r.isNull(value) {
		rec.Value = []byte(value)
	}
	if hasHeaders && !r.isNull(headers) {
		hs, err := r.splitHeaders(headers)
		if err != nil {
			return nil, err
		}
		rec.Headers = hs
	}
	return rec, nil
}

func (r *lineReader) splitHeaders(headers string) ([]header, error) {
	var out []header
	for _, pair := range javaRegexSplit(r.headersSeparatorRE, headers) {
		i := strings.Index(pair, r.headersKeySeparator)
		if i < 0 {
			if r.ignoreError {
				out = append(out, header{Key: pair})
				continue
			}
			return nil, &kafkaException{fmt.Sprintf("No header key separator found in pair '%s' on line number %d", pair, r.lineNumber)}
		}
		k, v := pair[:i], pair[i+len(r.headersKeySeparator):]
		if r.isNull(k) {
			return nil, &kafkaException{fmt.Sprintf("Header keys should not be equal to the null marker '%s' as they can't be null", k)}
		}
		h := header{Key: k}
		if !r.isNull(v) {
			h.Value = []byte(v)
		}
		out = append(out, h)
	}
	return out, nil
}

// javaRegexSplit is Pattern.split: no match gives the input; trailing empty strings are removed.
func javaRegexSplit(re *regexp.Regexp, s string) []string {
	if !re.MatchString(s) {
		return []string{s}
	}
	parts := re.Split(s, -1)
	if len(parts) > 0 && parts[0] == "" {
		if loc := re.FindStringIndex(s); loc != nil && loc[0] == 0 && loc[1] == 0 {
			parts = parts[1:] // a zero-width match at the start gives no leading empty string
		}
	}
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// lines reads text lines as BufferedReader.readLine does: a line ends at \n, \r or \r\n, a last line
// without terminator counts, and bytes that are not UTF-8 become U+FFFD.
type lines struct {
	r       *bufio.Reader
	pending []string
	eof     bool
}

func newLines(in io.Reader) *lines { return &lines{r: bufio.NewReaderSize(in, 64*1024)} }

// next returns the next line, or ok=false at the end of the input.
func (l *lines) next() (string, bool, error) {
	for len(l.pending) == 0 {
		if l.eof {
			return "", false, nil
		}
		chunk, err := l.r.ReadString('\n')
		if err != nil && err != io.EOF {
			return "", false, err
		}
		if err == io.EOF {
			l.eof = true
			if chunk == "" {
				return "", false, nil
			}
		} else {
			chunk = strings.TrimSuffix(strings.TrimSuffix(chunk, "\n"), "\r")
		}
		if l.eof {
			chunk = strings.TrimSuffix(chunk, "\r")
		}
		l.pending = strings.Split(chunk, "\r")
	}
	line := l.pending[0]
	l.pending = l.pending[1:]
	return validUTF8(line), true, nil
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[:n])
		}
		s = s[n:]
	}
	return b.String()
}
