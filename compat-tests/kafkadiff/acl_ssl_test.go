package kafkadiff_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/internal/tlspki"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The acceptance table over an SSL listener: carol's client certificate
// (subject CN=carol,OU=eng,O=acme) is mapped to User:carol by
// ssl.principal.mapping.rules, and some scenarios are played again with
// $me standing for User:carol (their ACLs name User:carol), expecting the
// same column as for alice over SASL.

// aclSSLMe is the principal carol's certificate maps to.
const aclSSLMe = "User:carol"

// aclSSLRules is ssl.principal.mapping.rules: carol's DN (in RFC 2253
// order, the most specific RDN first) to carol, anything else as Kafka's
// DEFAULT (the whole DN).
const aclSSLRules = `RULE:^CN=([a-z]+),OU=eng,O=acme$/$1/,DEFAULT`

// aclSSLScenarios are the scenarios of aclScenarios (by name) played over
// SSL as carol.
var aclSSLScenarios = []string{"none", "allow", "deny", "prefixed", "other principal", "read only", "host"}

// aclTLS is the PKI of the SSL listener: the broker's settings and
// carol's client configuration.
type aclTLS struct {
	settings map[string]string
	client   *tls.Config
}

func newACLTLS(t *testing.T) *aclTLS {
	t.Helper()
	p := tlspki.New(t)
	settings := map[string]string{"ssl.truststore.location": p.TrustJKS, "ssl.truststore.password": tlspki.TrustPass,
		"ssl.client.auth": "required", "ssl.principal.mapping.rules": aclSSLRules}
	for _, kv := range p.Keystore(t, "PEM", "broker0") {
		k, v, _ := cutKV(kv)
		settings[k] = v
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77),
		Subject:   pkix.Name{CommonName: "carol", OrganizationalUnit: []string{"eng"}, Organization: []string{"acme"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.ClientTLS()
	cfg.Certificates = []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}
	return &aclTLS{settings: settings, client: cfg}
}

func cutKV(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// sslClient connects carol's client to addr (SSL).
func (b *aclBroker) sslClient(t *testing.T, addr string, cfg *tls.Config) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DialTLSConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	b.clients["carol"] = cl
}

// sslScenarios are aclSSLScenarios with their column in aclExpected: the
// scenario, as carol with $me standing for User:carol.
func sslScenarios(t *testing.T) ([]aclScenario, []int) {
	t.Helper()
	var out []aclScenario
	var cols []int
	for _, name := range aclSSLScenarios {
		found := false
		for si, sc := range aclScenarios {
			if sc.name == name {
				sc.name, sc.as, sc.me = "SSL "+name, "carol", aclSSLMe
				out, cols, found = append(out, sc), append(cols, si), true
			}
		}
		if !found {
			t.Fatalf("aclSSLScenarios names %q, not in aclScenarios", name)
		}
	}
	return out, cols
}
