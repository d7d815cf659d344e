package broker

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/youmark/pkcs8"
	"software.sslmate.com/src/go-pkcs12"
)

// Store types of ssl.keystore.type / ssl.truststore.type.
const (
	storeJKS    = "JKS"
	storePKCS12 = "PKCS12"
	storePEM    = "PEM"
)

// jksMagic starts every JKS file.
const jksMagic = 0xFEEDFEED

// storeEntries is what a key or trust store holds, as Java's KeyStore
// exposes it to the key and trust managers.
type storeEntries struct {
	keys    []storeKey          // private key entries, by alias
	trusted []*x509.Certificate // trusted certificate entries
}

type storeKey struct {
	alias string
	key   crypto.PrivateKey
	chain []*x509.Certificate
}

// loadStoreFile reads a JKS or PKCS12 file as Java's KeyStore.load does.
// JDK 9+ (keystore.type.compat=true) reads a PKCS12 file given as JKS and
// a JKS file given as PKCS12: the format is taken from the file's magic.
// password may be empty for a truststore: Java then skips the integrity
// check. keyPassword decrypts private keys (nil: the store password).
func loadStoreFile(path, password string, keyPassword *string, wantKeys bool) (storeEntries, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return storeEntries{}, err
	}
	if len(data) >= 4 && binary.BigEndian.Uint32(data) == jksMagic {
		return loadJKS(data, password, keyPassword, wantKeys)
	}
	return loadPKCS12(data, password, wantKeys)
}

func loadJKS(data []byte, password string, keyPassword *string, wantKeys bool) (storeEntries, error) {
	ks := keystore.New(keystore.WithOrderedAliases())
	if err := ks.Load(bytes.NewReader(data), []byte(password)); err != nil {
		// keystore-go fills the entries before it checks the digest: with no
		// password Java skips the check, so do we.
		if password != "" || err.Error() != "got invalid digest" {
			if err.Error() == "got invalid digest" {
				return storeEntries{}, errors.New("keystore password was incorrect")
			}
			return storeEntries{}, err
		}
	}
	kp := password
	if keyPassword != nil {
		kp = *keyPassword
	}
	var out storeEntries
	for _, alias := range ks.Aliases() {
		switch {
		case ks.IsTrustedCertificateEntry(alias):
			e, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return storeEntries{}, fmt.Errorf("entry %s: %w", alias, err)
			}
			c, err := x509.ParseCertificate(e.Certificate.Content)
			if err != nil {
				return storeEntries{}, fmt.Errorf("entry %s: %w", alias, err)
			}
			out.trusted = append(out.trusted, c)
		case ks.IsPrivateKeyEntry(alias):
			var chain []*x509.Certificate
			certs, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil {
				return storeEntries{}, fmt.Errorf("entry %s: %w", alias, err)
			}
			for _, cc := range certs {
				c, err := x509.ParseCertificate(cc.Content)
				if err != nil {
					return storeEntries{}, fmt.Errorf("entry %s: %w", alias, err)
				}
				chain = append(chain, c)
			}
			k := storeKey{alias: alias, chain: chain}
			if wantKeys {
				e, err := ks.GetPrivateKeyEntry(alias, []byte(kp))
				if err != nil {
					return storeEntries{}, fmt.Errorf("entry %s: cannot recover key (wrong key password?): %w", alias, err)
				}
				key, err := x509.ParsePKCS8PrivateKey(e.PrivateKey)
				if err != nil {
					return storeEntries{}, fmt.Errorf("entry %s: %w", alias, err)
				}
				k.key = key
			}
			out.keys = append(out.keys, k)
		}
	}
	return out, nil
}

func loadPKCS12(data []byte, password string, wantKeys bool) (storeEntries, error) {
	var out storeEntries
	if certs, err := pkcs12.DecodeTrustStore(data, password); err == nil {
		out.trusted = certs
		return out, nil
	}
	key, cert, ca, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return storeEntries{}, errors.New("keystore password was incorrect")
		}
		return storeEntries{}, err
	}
	out.keys = append(out.keys, storeKey{alias: "", key: key, chain: append([]*x509.Certificate{cert}, ca...)})
	return out, nil
}

// Kafka's PemParser: entries whose BEGIN line names the type (any prefix,
// e.g. "ENCRYPTED PRIVATE KEY").
func pemEntries(text, name string) ([][]byte, error) {
	var out [][]byte
	rest := []byte(text)
	re := regexp.MustCompile(strings.ReplaceAll(name, " ", `\s+`) + `$`)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if re.MatchString(b.Type) {
			out = append(out, b.Bytes)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("No matching %s entries in PEM file", name)
	}
	return out, nil
}

func pemCerts(text string) ([]*x509.Certificate, error) {
	ders, err := pemEntries(text, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// pemKey is PemStore.privateKey: exactly one PKCS#8 key, encrypted
// (PBES2, as Java's EncryptedPrivateKeyInfo reads it) when a key password
// is given, plain otherwise.
func pemKey(text string, keyPassword *string) (crypto.PrivateKey, error) {
	ders, err := pemEntries(text, "PRIVATE KEY")
	if err != nil {
		return nil, errors.New("Private key not provided")
	}
	if len(ders) != 1 {
		return nil, fmt.Errorf("Expected one private key, but found %d", len(ders))
	}
	if keyPassword == nil {
		k, err := x509.ParsePKCS8PrivateKey(ders[0])
		if err != nil {
			return nil, fmt.Errorf("Private key could not be loaded: %w", err)
		}
		return k, nil
	}
	k, err := pkcs8.ParsePKCS8PrivateKey(ders[0], []byte(*keyPassword))
	if err != nil {
		return nil, fmt.Errorf("Private key could not be loaded: %w", err)
	}
	return k, nil
}

// keyPair turns the store's key entry into a tls.Certificate. Java's key
// manager picks an entry per handshake; we take the first alias in order
// and check that its key belongs to its certificate.
func (e storeEntries) keyPair() (*tls.Certificate, error) {
	if len(e.keys) == 0 {
		return nil, errors.New("no private key entry in the key store")
	}
	keys := append([]storeKey(nil), e.keys...)
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].alias < keys[j].alias })
	k := keys[0]
	if len(k.chain) == 0 {
		return nil, fmt.Errorf("key entry %q has no certificate", k.alias)
	}
	pub, ok := k.key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return nil, fmt.Errorf("key entry %q: unsupported key type %T", k.alias, k.key)
	}
	if eq, ok := pub.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(k.chain[0].PublicKey) {
		return nil, fmt.Errorf("key entry %q: the private key does not match the certificate's public key", k.alias)
	}
	cert := &tls.Certificate{PrivateKey: k.key, Leaf: k.chain[0]}
	for _, c := range k.chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// trustPool is Java's trust manager over a store: its trusted certificate
// entries and the first certificate of each key entry
// (TrustStoreUtil.getTrustedCerts).
func (e storeEntries) trustPool() (*x509.CertPool, int) {
	pool := x509.NewCertPool()
	n := 0
	for _, c := range e.trusted {
		pool.AddCert(c)
		n++
	}
	for _, k := range e.keys {
		if len(k.chain) > 0 {
			pool.AddCert(k.chain[0])
			n++
		}
	}
	return pool, n
}
