package broker

import (
	"errors"
	"fmt"
	"strings"
)

// jaasEntry is one login module of a JAAS configuration: its class name,
// control flag and options (javax.security.auth.login.AppConfigurationEntry).
type jaasEntry struct {
	module  string
	flag    string // REQUIRED, REQUISITE, SUFFICIENT or OPTIONAL
	options map[string]string
}

// jaasToken kinds. A word or a quoted string carries text; any other
// character is a token of its own ('=', ';', '{', '}').
const (
	jaasEOF = iota
	jaasWord
	jaasQuoted
	jaasNumber // a token java.io.StreamTokenizer reads as a number: no sval
	jaasChar
)

type jaasToken struct {
	kind int
	text string
	ch   byte
}

// jaasTokenizer reads text as Kafka's JaasConfig configures
// java.io.StreamTokenizer: words of letters, digits, '.', '-', '_' and '$'
// (a token starting with a digit, '.' or '-' is a number, which has no
// string value); '"' and '\” quote with Java escapes; '/' starts a comment
// to the end of the line, "/*" one to "*/"; whitespace separates.
type jaasTokenizer struct {
	s   string
	pos int
}

func isJAASWordStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= 0xA0
}

func isJAASWordPart(c byte) bool {
	return isJAASWordStart(c) || c >= '0' && c <= '9' || c == '.' || c == '-' || c >= 0x80
}

func isJAASNumberStart(c byte) bool { return c >= '0' && c <= '9' || c == '.' || c == '-' }

func (t *jaasTokenizer) next() (jaasToken, error) {
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		switch {
		case c <= ' ':
			t.pos++
			continue
		case c == '/' && strings.HasPrefix(t.s[t.pos:], "/*"):
			end := strings.Index(t.s[t.pos+2:], "*/")
			if end < 0 {
				t.pos = len(t.s)
				return jaasToken{kind: jaasEOF}, nil
			}
			t.pos += 2 + end + 2
			continue
		case c == '/': // "//" and the comment character '/'
			end := strings.IndexAny(t.s[t.pos:], "\r\n")
			if end < 0 {
				t.pos = len(t.s)
			} else {
				t.pos += end
			}
			continue
		case c == '"' || c == '\'':
			return t.quoted(c), nil
		case isJAASNumberStart(c):
			// StreamTokenizer.parseNumbers: a '-' not followed by a digit
			// or '.' is the ordinary character '-'.
			if c == '-' && (t.pos+1 >= len(t.s) || !(t.s[t.pos+1] >= '0' && t.s[t.pos+1] <= '9' || t.s[t.pos+1] == '.')) {
				t.pos++
				return jaasToken{kind: jaasChar, ch: '-'}, nil
			}
			t.pos++
			for t.pos < len(t.s) && (t.s[t.pos] >= '0' && t.s[t.pos] <= '9' || t.s[t.pos] == '.') {
				t.pos++
			}
			return jaasToken{kind: jaasNumber}, nil
		case isJAASWordStart(c):
			start := t.pos
			for t.pos < len(t.s) && isJAASWordPart(t.s[t.pos]) {
				t.pos++
			}
			return jaasToken{kind: jaasWord, text: t.s[start:t.pos]}, nil
		default:
			t.pos++
			return jaasToken{kind: jaasChar, ch: c}, nil
		}
	}
	return jaasToken{kind: jaasEOF}, nil
}

// quoted reads a quoted string as StreamTokenizer does: it ends at the
// closing quote, a line end or the end of input; backslash escapes are
// Java's (\n \t \b \f \r \a \v, octal \ooo, any other character itself).
func (t *jaasTokenizer) quoted(q byte) jaasToken {
	t.pos++
	var b strings.Builder
	for t.pos < len(t.s) {
		c := t.s[t.pos]
		if c == q {
			t.pos++
			break
		}
		if c == '\n' || c == '\r' {
			break
		}
		t.pos++
		if c != '\\' || t.pos >= len(t.s) {
			b.WriteByte(c)
			continue
		}
		e := t.s[t.pos]
		t.pos++
		switch e {
		case 'a':
			b.WriteByte(7)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		default:
			if e >= '0' && e <= '7' {
				v := int(e - '0')
				max := 2
				if e > '3' {
					max = 1
				}
				for i := 0; i < max && t.pos < len(t.s) && t.s[t.pos] >= '0' && t.s[t.pos] <= '7'; i++ {
					v = v*8 + int(t.s[t.pos]-'0')
					t.pos++
				}
				b.WriteRune(rune(v))
				continue
			}
			b.WriteByte(e)
		}
	}
	return jaasToken{kind: jaasQuoted, text: b.String()}
}

// sval is the token's string value as StreamTokenizer.sval: words and
// quoted strings have one.
func (tok jaasToken) sval() (string, bool) {
	if tok.kind == jaasWord || tok.kind == jaasQuoted {
		return tok.text, true
	}
	return "", false
}

// parseJAASConfig reads a sasl.jaas.config value: one or more entries
// "<LoginModule> <flag> key=value ... ;", with Kafka's JaasConfig messages.
func parseJAASConfig(s string) ([]jaasEntry, error) {
	t := &jaasTokenizer{s: s}
	var entries []jaasEntry
	for {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		if tok.kind == jaasEOF {
			break
		}
		e, err := parseJAASEntry(t, tok)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, errors.New("Login module not specified in JAAS config")
	}
	return entries, nil
}

// parseJAASEntry is JaasConfig.parseAppConfigurationEntry, first the
// module's token already read.
func parseJAASEntry(t *jaasTokenizer, first jaasToken) (jaasEntry, error) {
	module, _ := first.sval()
	tok, _ := t.next()
	if tok.kind == jaasEOF {
		return jaasEntry{}, errors.New("Login module control flag not specified in JAAS config")
	}
	flag, ok := tok.sval()
	if !ok {
		return jaasEntry{}, errors.New("Login module control flag is not available in the JAAS config")
	}
	switch strings.ToUpper(flag) {
	case "REQUIRED", "REQUISITE", "SUFFICIENT", "OPTIONAL":
	default:
		return jaasEntry{}, fmt.Errorf("Invalid login module control flag '%s' in JAAS config", flag)
	}
	e := jaasEntry{module: module, flag: strings.ToUpper(flag), options: map[string]string{}}
	for {
		tok, _ = t.next()
		if tok.kind == jaasEOF || tok.kind == jaasChar && tok.ch == ';' {
			break
		}
		key, _ := tok.sval()
		eq, _ := t.next()
		if eq.kind != jaasChar || eq.ch != '=' {
			return jaasEntry{}, fmt.Errorf("Value not specified for key '%s' in JAAS config", key)
		}
		v, _ := t.next()
		val, ok := v.sval()
		if v.kind == jaasEOF || !ok {
			return jaasEntry{}, fmt.Errorf("Value not specified for key '%s' in JAAS config", key)
		}
		e.options[key] = val
	}
	if tok.kind != jaasChar || tok.ch != ';' {
		return jaasEntry{}, errors.New("JAAS config entry not terminated by semi-colon")
	}
	return e, nil
}

// parseJAASFile reads a JAAS login configuration file (the file named by
// -Djava.security.auth.login.config): sections "Name { entries };".
// Entries are read as in parseJAASConfig; the section syntax is
// sun.security.provider.ConfigFile's.
func parseJAASFile(s string) (map[string][]jaasEntry, error) {
	t := &jaasTokenizer{s: s}
	out := map[string][]jaasEntry{}
	for {
		tok, err := t.next()
		if err != nil {
			return nil, err
		}
		if tok.kind == jaasEOF {
			return out, nil
		}
		name, ok := tok.sval()
		if !ok {
			return nil, fmt.Errorf("JAAS file: expected a login context name, found %q", string(tok.ch))
		}
		if tok, _ = t.next(); tok.kind != jaasChar || tok.ch != '{' {
			return nil, fmt.Errorf("JAAS file: expected '{' after %s", name)
		}
		var entries []jaasEntry
		for {
			tok, _ = t.next()
			if tok.kind == jaasEOF {
				return nil, fmt.Errorf("JAAS file: section %s not closed by '}'", name)
			}
			if tok.kind == jaasChar && tok.ch == '}' {
				break
			}
			if _, ok := tok.sval(); !ok {
				return nil, fmt.Errorf("JAAS file: section %s: expected a login module name", name)
			}
			e, err := parseJAASEntry(t, tok)
			if err != nil {
				return nil, fmt.Errorf("JAAS file: section %s: %w", name, err)
			}
			entries = append(entries, e)
		}
		if tok, _ = t.next(); tok.kind != jaasChar || tok.ch != ';' {
			return nil, fmt.Errorf("JAAS file: section %s: expected ';' after '}'", name)
		}
		out[name] = append(out[name], entries...)
	}
}

// ParseJAASLogin reads a client's sasl.jaas.config: its one login module
// and options (JaasContext.loadClientContext wants exactly one module).
func ParseJAASLogin(s string) (module string, options map[string]string, err error) {
	entries, err := parseJAASConfig(s)
	if err != nil {
		return "", nil, err
	}
	if len(entries) != 1 {
		return "", nil, fmt.Errorf("JAAS config property contains %d login modules, should be 1 module", len(entries))
	}
	return entries[0].module, entries[0].options, nil
}
