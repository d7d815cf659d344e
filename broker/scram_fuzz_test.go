package broker

import "testing"

// FuzzParseScramCredential: a credential string read from
// /config/users/<user> (Kafka's salt=,stored_key=,server_key=,iterations=)
// is parsed or refused, never a panic; what parses formats back to a
// string that parses to the same credential.
func FuzzParseScramCredential(f *testing.F) {
	for _, s := range []string{
		"salt=c2FsdA==,stored_key=c3RvcmVk,server_key=c2VydmVy,iterations=4096",
		"salt=,stored_key=,server_key=,iterations=0",
		"iterations=4096", "salt=!!,stored_key=x,server_key=y,iterations=-1", "a=b=c,,=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseScramCredential(s)
		if err != nil {
			return
		}
		again, err := parseScramCredential(scramCredentialString(c))
		if err != nil {
			t.Fatalf("%q parsed, its formatted form %q does not: %v", s, scramCredentialString(c), err)
		}
		if scramCredentialString(again) != scramCredentialString(c) {
			t.Fatalf("round trip of %q changed the credential", s)
		}
	})
}
