package broker

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// SSLPrincipalMapper is Kafka's SslPrincipalMapper: ssl.principal.mapping.rules
// turn the distinguished name of a client certificate (as Java's
// X500Principal.getName() prints it) into a user name. Rules are tried in
// order; the first that matches gives the name.
type SSLPrincipalMapper struct {
	rules []sslRule
}

// sslRule is one rule: DEFAULT (the DN unchanged) or
// RULE:pattern/replacement/[LU].
type sslRule struct {
	isDefault   bool
	source      string // the pattern as written, for String
	pattern     *regexp.Regexp
	whole       *regexp.Regexp // pattern anchored at both ends: Java's Matcher.matches()
	prefix      *regexp.Regexp // pattern anchored at the start (emptyAt)
	replacement string
	lower       bool
	upper       bool
}

// Kafka's RULE_PATTERN and RULE_SPLITTER, unchanged: Go's regexp has the
// same leftmost-first semantics for these constructs.
const sslRulePattern = `(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)`

var (
	sslRuleSplitter = regexp.MustCompile(`\s*(` + sslRulePattern + `)\s*(,\s*|$)`)
	sslRuleParser   = regexp.MustCompile(`^(?:` + sslRulePattern + `)`)
)

// ParseSSLPrincipalMappingRules parses ssl.principal.mapping.rules ("" is
// Kafka's default, DEFAULT). An invalid rule is an error as Kafka's
// IllegalArgumentException("Invalid rule: ...").
func ParseSSLPrincipalMappingRules(rules string) (*SSLPrincipalMapper, error) {
	var parts []string
	// SslPrincipalMapper.splitRules: RULE_SPLITTER.find over the trimmed text.
	for _, m := range sslRuleSplitter.FindAllStringSubmatch(strings.TrimSpace(rules), -1) {
		parts = append(parts, m[1])
	}
	out := &SSLPrincipalMapper{}
	for _, r := range parts {
		idx := sslRuleParser.FindStringSubmatchIndex(r)
		if idx == nil {
			return nil, fmt.Errorf("Invalid rule: %s", r)
		}
		if idx[1] != len(r) {
			return nil, fmt.Errorf("Invalid rule: `%s`, unmatched substring: `%s`", r, r[idx[1]:])
		}
		group := func(i int) (string, bool) {
			if idx[2*i] < 0 {
				return "", false
			}
			return r[idx[2*i]:idx[2*i+1]], true
		}
		if _, ok := group(1); ok {
			out.rules = append(out.rules, sslRule{isDefault: true})
			continue
		}
		pat, ok := group(2)
		if !ok {
			continue // empty rules are ignored
		}
		repl, _ := group(4)
		flag, _ := group(6)
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, fmt.Errorf("Invalid rule: %s: %w", r, err)
		}
		whole, err := regexp.Compile(`^(?:` + pat + `)$`)
		if err != nil {
			return nil, fmt.Errorf("Invalid rule: %s: %w", r, err)
		}
		prefix := regexp.MustCompile(`^(?:` + pat + `)`) // compiles: whole did
		out.rules = append(out.rules, sslRule{source: pat, pattern: re, whole: whole, prefix: prefix, replacement: repl, lower: flag == "L", upper: flag == "U"})
	}
	return out, nil
}

// String is Kafka's SslPrincipalMapper.toString.
func (m *SSLPrincipalMapper) String() string {
	var parts []string
	for _, r := range m.rules {
		if r.isDefault {
			parts = append(parts, "DEFAULT")
			continue
		}
		s := "RULE:" + r.source + "/" + r.replacement
		if r.lower {
			s += "/L"
		} else if r.upper {
			s += "/U"
		}
		parts = append(parts, s)
	}
	return "SslPrincipalMapper(rules = [" + strings.Join(parts, ", ") + "])"
}

// Name maps a distinguished name: the first rule that applies gives it;
// none applying is Kafka's NoMatchingRule.
func (m *SSLPrincipalMapper) Name(dn string) (string, error) {
	for _, r := range m.rules {
		name, ok, err := r.apply(dn)
		if err != nil {
			return "", err
		}
		if ok {
			return name, nil
		}
	}
	return "", fmt.Errorf("No rules apply to %s, rules %s", dn, m.rulesString())
}

func (m *SSLPrincipalMapper) rulesString() string {
	s := m.String()
	return strings.TrimSuffix(strings.TrimPrefix(s, "SslPrincipalMapper(rules = "), ")")
}

func (r sslRule) apply(dn string) (string, bool, error) {
	if r.isDefault {
		return dn, true, nil
	}
	// Rule.apply: the pattern must match the whole DN; then
	// dn.replaceAll(pattern, replacement) with Java's replacement syntax.
	if !r.whole.MatchString(dn) {
		return "", false, nil
	}
	var b strings.Builder
	last := 0
	matches := r.pattern.FindAllStringSubmatchIndex(dn, -1)
	for i, mm := range matches {
		b.WriteString(dn[last:mm[0]])
		if err := javaExpand(&b, r.replacement, dn, mm, r.pattern.NumSubexp()); err != nil {
			return "", false, err
		}
		last = mm[1]
		// Java's Matcher.find also takes an empty match right after a
		// non-empty one ("CN=a".replaceAll(".*", "x") is "xx"); Go's
		// FindAll drops it.
		if e := mm[1]; e > mm[0] && (i+1 == len(matches) || matches[i+1][0] != e) {
			if em := r.emptyAt(dn, e); em != nil {
				if err := javaExpand(&b, r.replacement, dn, em, r.pattern.NumSubexp()); err != nil {
					return "", false, err
				}
			}
		}
	}
	b.WriteString(dn[last:])
	res := b.String()
	// Locale.ENGLISH case mapping.
	if r.lower {
		res = strings.ToLower(res)
	} else if r.upper {
		res = strings.ToUpper(res)
	}
	return res, true, nil
}

// emptyAt returns the submatch indexes of an empty match of the rule's
// pattern at position e of dn, or nil. Patterns whose meaning depends on
// what precedes e (^, \A, \b, \B) are taken not to match there: for ^ and
// \A that is Java's answer when e > 0.
func (r sslRule) emptyAt(dn string, e int) []int {
	if e == 0 || strings.ContainsAny(r.source, "^") || strings.Contains(r.source, `\A`) ||
		strings.Contains(r.source, `\b`) || strings.Contains(r.source, `\B`) {
		return nil
	}
	m := r.prefix.FindStringSubmatchIndex(dn[e:])
	if m == nil || m[1] != 0 {
		return nil
	}
	for i := range m {
		if m[i] >= 0 {
			m[i] += e
		}
	}
	return m
}

// javaExpand appends Java's Matcher.appendReplacement expansion of repl:
// "\x" is a literal x, "$n" a group (further digits taken while they form
// a valid group number), "${name}" a named group. Kafka's
// escapeLiteralBackReferences first turns a "$n" beyond the group count
// into a literal (when the pattern has groups at all).
func javaExpand(b *strings.Builder, repl, src string, m []int, groups int) error {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		switch {
		case c == '\\':
			i++
			if i >= len(repl) {
				return fmt.Errorf("character to be escaped is missing")
			}
			b.WriteByte(repl[i])
		case c == '$':
			i++
			if i >= len(repl) {
				return fmt.Errorf("Illegal group reference: group index is missing")
			}
			if repl[i] == '{' {
				return fmt.Errorf("named group references are not supported: %s", repl)
			}
			if repl[i] < '0' || repl[i] > '9' {
				return fmt.Errorf("Illegal group reference")
			}
			n := int(repl[i] - '0')
			if n > groups {
				if groups > 0 && !strings.HasPrefix(repl[i:], "0") {
					b.WriteByte('$') // escapeLiteralBackReferences: a literal
					b.WriteByte(repl[i])
					continue
				}
				return fmt.Errorf("No group %d", n)
			}
			for i+1 < len(repl) && repl[i+1] >= '0' && repl[i+1] <= '9' {
				nn := n*10 + int(repl[i+1]-'0')
				if nn > groups {
					break
				}
				n = nn
				i++
			}
			if s, e := m[2*n], m[2*n+1]; s >= 0 {
				b.WriteString(src[s:e])
			}
		default:
			b.WriteByte(c)
		}
	}
	return nil
}

// rfc2253Keywords are the attribute types Java's X500Principal.getName()
// prints by keyword (RFC 2253's list); every other type is printed as its
// dotted OID with the value as '#' and the hex of its DER encoding.
var rfc2253Keywords = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.9":                    "STREET",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
}

// CertificateDN formats the subject of cert as Java's
// X500Principal.getName() (RFC 2253) does: RDNs from the last to the
// first, "+" between the attributes of one RDN, values escaped with '\'.
func CertificateDN(cert *x509.Certificate) (string, error) {
	var raw asn1.RawValue
	if _, err := asn1.Unmarshal(cert.RawSubject, &raw); err != nil {
		return "", fmt.Errorf("certificate subject: %w", err)
	}
	var rdns []asn1.RawValue
	rest := raw.Bytes
	for len(rest) > 0 {
		var set asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &set); err != nil {
			return "", fmt.Errorf("certificate subject: %w", err)
		}
		rdns = append(rdns, set)
	}
	var out []string
	for i := len(rdns) - 1; i >= 0; i-- {
		var avas []string
		rb := rdns[i].Bytes
		for len(rb) > 0 {
			var atv struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			var err error
			if rb, err = asn1.Unmarshal(rb, &atv); err != nil {
				return "", fmt.Errorf("certificate subject: %w", err)
			}
			avas = append(avas, formatAVA(atv.Type, atv.Value))
		}
		out = append(out, strings.Join(avas, "+"))
	}
	return strings.Join(out, ","), nil
}

// formatAVA is sun.security.x509.AVA.toRFC2253String.
func formatAVA(oid asn1.ObjectIdentifier, v asn1.RawValue) string {
	kw, ok := rfc2253Keywords[oid.String()]
	str, isString := derString(v)
	if !ok || !isString {
		name := kw
		if !ok {
			name = oid.String()
		}
		return name + "=#" + hex.EncodeToString(v.FullBytes)
	}
	// Java escapes these anywhere (it also escapes '=' and '#'), a
	// leading space or '#' and a trailing space, and NUL as \00.
	const escapees = ",=+<>#;\"\\"
	var b strings.Builder
	for _, r := range str {
		switch {
		case r == 0:
			b.WriteString("\\00")
		case strings.ContainsRune(escapees, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	s := b.String()
	if strings.HasPrefix(s, " ") {
		s = "\\" + s
	}
	if strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\\ ") {
		s = s[:len(s)-1] + "\\ "
	}
	return kw + "=" + s
}

// derString decodes the DER string types Java prints as text
// (DerValue.isDerString non-strict: Printable, T61, IA5, BMP, UTF8,
// General).
func derString(v asn1.RawValue) (string, bool) {
	if v.Class != asn1.ClassUniversal {
		return "", false
	}
	switch v.Tag {
	case asn1.TagPrintableString, asn1.TagIA5String, asn1.TagT61String, 27 /* GeneralString */ :
		// Java decodes T61 and General as ISO-8859-1.
		if utf8.Valid(v.Bytes) && v.Tag != asn1.TagT61String {
			return string(v.Bytes), true
		}
		r := make([]rune, len(v.Bytes))
		for i, c := range v.Bytes {
			r[i] = rune(c)
		}
		return string(r), true
	case asn1.TagUTF8String:
		return string(v.Bytes), true
	case asn1.TagBMPString:
		if len(v.Bytes)%2 != 0 {
			return "", false
		}
		r := make([]rune, 0, len(v.Bytes)/2)
		for i := 0; i < len(v.Bytes); i += 2 {
			r = append(r, rune(v.Bytes[i])<<8|rune(v.Bytes[i+1]))
		}
		return string(r), true
	}
	return "", false
}

// sslPrincipal is DefaultKafkaPrincipalBuilder for an SSL connection: the
// peer certificate's DN through the mapping rules, as a User principal;
// no client certificate is ANONYMOUS.
func sslPrincipal(m *SSLPrincipalMapper, peer []*x509.Certificate) (Principal, error) {
	if len(peer) == 0 {
		return Anonymous, nil
	}
	dn, err := CertificateDN(peer[0])
	if err != nil {
		return Principal{}, err
	}
	if m == nil {
		return Principal{Type: "User", Name: dn}, nil
	}
	name, err := m.Name(dn)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Type: "User", Name: name}, nil
}
