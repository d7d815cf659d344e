// Package tlspki makes the certificates of the compat tests' TLS listeners:
// a CA and CA-signed keys made in Go, with the JKS and PKCS12 stores written
// by the JDK's keytool, as Kafka users make them.
package tlspki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TrustPass is the password of every PKI's JKS truststore.
const TrustPass = "trust-secret"

// PKI is a CA in a temporary directory; Keystore issues a certificate per
// broker or client (SAN 127.0.0.1 and localhost, where the brokers are
// reached).
type PKI struct {
	Dir      string
	CA       *x509.Certificate
	CAKey    *ecdsa.PrivateKey
	CAPEM    string
	CAFile   string // PEM
	TrustJKS string // JKS truststore holding the CA, password TrustPass
}

// New makes a CA and its JKS truststore.
func New(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "compat-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	p := &PKI{Dir: dir, CA: ca, CAKey: key, CAPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
	p.CAFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p.CAFile, []byte(p.CAPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	p.TrustJKS = filepath.Join(dir, "trust.jks")
	Keytool(t, "-importcert", "-noprompt", "-storetype", "JKS", "-keystore", p.TrustJKS, "-storepass", TrustPass, "-alias", "ca", "-file", p.CAFile)
	return p
}

// Keytool runs the JDK's keytool with args.
func Keytool(t testing.TB, args ...string) {
	t.Helper()
	kt, err := exec.LookPath("keytool")
	if err != nil {
		t.Fatalf("keytool not found (it comes with the JDK 17 that `make deps` expects): %v", err)
	}
	if out, err := exec.Command(kt, args...).CombinedOutput(); err != nil {
		t.Fatalf("keytool %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// Issue makes a key and a CA-signed certificate with SAN 127.0.0.1 and
// localhost, good for server and client authentication.
func (p *PKI) Issue(t testing.TB, cn string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

// Keystore writes a key store of the given type (JKS, PKCS12 or PEM) for
// cn and returns the ssl.* settings that load it.
func (p *PKI) Keystore(t testing.TB, typ, cn string) []string {
	t.Helper()
	key, cert := p.Issue(t, cn)
	const pass = "store-secret"
	switch typ {
	case "PEM":
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(p.Dir, cn+".pem")
		data := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})) +
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})) + p.CAPEM
		if err := os.WriteFile(f, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"ssl.keystore.type=PEM", "ssl.keystore.location=" + f}
	default:
		src := filepath.Join(p.Dir, cn+"-src.p12")
		pfx, err := pkcs12.Modern.Encode(key, cert, []*x509.Certificate{p.CA}, pass)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, pfx, 0o600); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(p.Dir, cn+"."+strings.ToLower(typ))
		Keytool(t, "-importkeystore", "-noprompt", "-srckeystore", src, "-srcstoretype", "PKCS12", "-srcstorepass", pass,
			"-destkeystore", dst, "-deststoretype", typ, "-deststorepass", pass)
		return []string{"ssl.keystore.type=" + typ, "ssl.keystore.location=" + dst, "ssl.keystore.password=" + pass}
	}
}

// ClientTLS is a client configuration that trusts the CA.
func (p *PKI) ClientTLS() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return &tls.Config{RootCAs: pool}
}
