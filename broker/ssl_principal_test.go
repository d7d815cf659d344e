package broker

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
)

// Kafka's SslPrincipalMapperTest, case for case in meaning.
func TestSSLPrincipalMapperRules(t *testing.T) {
	valid := []string{
		"DEFAULT",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L",
		"RULE:^cn=(.?),ou=(.?),dc=(.?),dc=(.?)$/$1@$2/U",
		"RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/",
		"RULE:^CN=([^,DEFAULT,]+)(,.*|$)/$1/",
	}
	for _, r := range valid {
		if _, err := ParseSSLPrincipalMappingRules(r); err != nil {
			t.Errorf("%q: %v", r, err)
		}
	}
	invalid := []string{
		"default", "DEFAUL", "DEFAULT/L", "DEFAULT/U",
		"RULE:CN=(.*?),OU=ServiceUsers.*/$1",
		"rule:^CN=(.*?),OU=ServiceUsers.*$/$1/",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/L",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/U",
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/LU",
	}
	for _, r := range invalid {
		if _, err := ParseSSLPrincipalMappingRules(r); err == nil {
			t.Errorf("%q: accepted, Kafka refuses it", r)
		}
	}
}

func TestSSLPrincipalMapperNames(t *testing.T) {
	m, err := ParseSSLPrincipalMappingRules(strings.Join([]string{
		"RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L",
		"RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L",
		"RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U",
		"RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U",
		"DEFAULT",
	}, ", "))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ dn, want string }{
		{"CN=Duke,OU=ServiceUsers,O=Org,C=US", "duke"},
		{"CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US", "duke@sme"},
		{"cn=duke,ou=sme,dc=mycp,dc=com", "DUKE@SME"},
		{"cN=duke,OU=JavaSoft,O=Sun Microsystems", "DUKE"},
		{"OU=JavaSoft,O=Sun Microsystems,C=US", "OU=JavaSoft,O=Sun Microsystems,C=US"},
	}
	for _, c := range cases {
		if got, err := m.Name(c.dn); err != nil || got != c.want {
			t.Errorf("Name(%q) = %q, %v; want %q", c.dn, got, err, c.want)
		}
	}
	// testCommaWithWhitespace
	m, err = ParseSSLPrincipalMappingRules(`RULE:^CN=((\\, *|\w)+)(,.*|$)/$1/,DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Name(`CN=Tkac\, Adam,OU=ITZ,DC=geodis,DC=cz`); err != nil || got != `Tkac\, Adam` {
		t.Errorf("got %q, %v", got, err)
	}
	// Java's replaceAll: the empty match after the whole one counts too
	// ("CN=a".replaceAll(".*", "x") is "xx" on JDK 17).
	for rules, want := range map[string]string{"RULE:.*/x/": "xx", "RULE:^.*$/x/": "x", "RULE:(.*)/<$1>/": "<CN=a><>"} {
		m, err := ParseSSLPrincipalMappingRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := m.Name("CN=a"); err != nil || got != want {
			t.Errorf("%s on CN=a: %q, %v; want %q", rules, got, err, want)
		}
	}
	// No rule applies: Kafka's NoMatchingRule.
	m, _ = ParseSSLPrincipalMappingRules("RULE:^CN=x$/y/")
	if _, err := m.Name("CN=z"); err == nil || !strings.Contains(err.Error(), "No rules apply to CN=z") {
		t.Errorf("err = %v", err)
	}
}

// testRulesSplitting: what the rules split into, as toString prints it.
func TestSSLPrincipalMapperSplitting(t *testing.T) {
	cases := []struct{ rules, want string }{
		{"", "[]"},
		{"DEFAULT", "[DEFAULT]"},
		{"RULE://", "[RULE:/]"},
		{"RULE:/.*/", "[RULE:/.*]"},
		{"RULE:/.*/L", "[RULE:/.*/L]"},
		{"RULE://,DEFAULT", "[RULE:/, DEFAULT]"},
		{"  RULE:// ,  DEFAULT  ", "[RULE:/, DEFAULT]"},
		{"  RULE:   /     / ,  DEFAULT  ", "[RULE:   /     , DEFAULT]"},
		{"  RULE:  /     /U   ,DEFAULT  ", "[RULE:  /     /U, DEFAULT]"},
		{"  RULE:([A-Z]*)/$1/U   ,RULE:([a-z]+)/$1/,   DEFAULT  ", "[RULE:([A-Z]*)/$1/U, RULE:([a-z]+)/$1, DEFAULT]"},
		{",   , , ,      , , ,   ", "[]"},
		{",,RULE://,,,DEFAULT,,", "[RULE:/, DEFAULT]"},
		{",  , RULE: /   /    ,,,   DEFAULT, ,   ", "[RULE: /   , DEFAULT]"},
		{"     ,  , RULE:   /  /U    ,,  ,DEFAULT, ,", "[RULE:   /  /U, DEFAULT]"},
		{`RULE:\/\\\(\)\n\t/\/\//`, `[RULE:\/\\\(\)\n\t/\/\/]`},
		{`RULE:\**\/+/*/L,RULE:\/*\**/**/`, `[RULE:\**\/+/*/L, RULE:\/*\**/**]`},
		{`RULE:,RULE:,/,RULE:,\//U,RULE:,/RULE:,/,RULE:,RULE:,/L,RULE:,/L,RULE:, DEFAULT, /DEFAULT/,DEFAULT`,
			`[RULE:,RULE:,/,RULE:,\//U, RULE:,/RULE:,, RULE:,RULE:,/L,RULE:,/L, RULE:, DEFAULT, /DEFAULT, DEFAULT]`},
	}
	for _, c := range cases {
		m, err := ParseSSLPrincipalMappingRules(c.rules)
		if err != nil {
			t.Errorf("%q: %v", c.rules, err)
			continue
		}
		if got := m.String(); got != "SslPrincipalMapper(rules = "+c.want+")" {
			t.Errorf("%q splits into %s, want %s", c.rules, got, c.want)
		}
	}
}

// The DN is printed as Java's X500Principal.getName(): last RDN first,
// RFC 2253 keywords only, other types as OID=#hex, '=' and '#' escaped too.
func TestCertificateDN(t *testing.T) {
	oid := func(s ...int) asn1.ObjectIdentifier { return asn1.ObjectIdentifier(s) }
	cases := []struct {
		name string
		rdns pkix.RDNSequence
		want string
	}{
		{"simple", pkix.RDNSequence{
			{{Type: oid(2, 5, 4, 6), Value: "US"}},
			{{Type: oid(2, 5, 4, 10), Value: "org"}},
			{{Type: oid(2, 5, 4, 11), Value: "eng"}},
			{{Type: oid(2, 5, 4, 3), Value: "alice"}},
		}, "CN=alice,OU=eng,O=org,C=US"},
		{"escapes", pkix.RDNSequence{
			{{Type: oid(2, 5, 4, 3), Value: `a,b+c=d"e\f<g>h;i#j`}},
		}, `CN=a\,b\+c\=d\"e\\f\<g\>h\;i\#j`},
		{"leading and trailing space", pkix.RDNSequence{
			{{Type: oid(2, 5, 4, 3), Value: " x "}},
		}, `CN=\ x\ `},
		{"email and DC", pkix.RDNSequence{
			{{Type: oid(0, 9, 2342, 19200300, 100, 1, 25), Value: "com"}},
			{{Type: oid(1, 2, 840, 113549, 1, 9, 1), Value: "a@b"}},
		}, "1.2.840.113549.1.9.1=#0c03614062,DC=com"},
		{"multi-valued RDN", pkix.RDNSequence{
			{{Type: oid(2, 5, 4, 3), Value: "x"}, {Type: oid(0, 9, 2342, 19200300, 100, 1, 1), Value: "u1"}},
		}, "CN=x+UID=u1"},
	}
	for _, c := range cases {
		raw, err := asn1.Marshal(c.rdns)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CertificateDN(&x509.Certificate{RawSubject: raw})
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
