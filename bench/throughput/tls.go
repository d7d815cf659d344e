package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// tlsScheme marks a target's bootstrap address as TLS ("tls://host:port").
const tlsScheme = "tls://"

// seedAddr is the host:port of a bootstrap string (bootstrap.go's forms).
func seedAddr(bootstrap string) string { return parseBootstrap(bootstrap).addr }

// clientOpts are the client options for a bootstrap string, then more: the
// seed broker, TLS for "tls://" and "sasl_ssl://" (the bench's own
// self-signed certificate, not verified: only the cost of the encryption is
// measured), SASL for "sasl_ssl://" and "sasl_plaintext://".
func clientOpts(bootstrap string, more ...kgo.Opt) []kgo.Opt {
	b := parseBootstrap(bootstrap)
	opts := []kgo.Opt{kgo.SeedBrokers(b.addr)}
	if b.tls {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	}
	if b.mech != nil {
		opts = append(opts, kgo.SASL(b.mech))
	}
	return append(opts, more...)
}

// startOursTLS is the ours-tls target: a second ZooKeeper and broker whose
// only listener is SSL (the PLAINTEXT name mapped to SSL, PEM key store
// made here), the same load over TLS; Fetch there copies record bytes
// through user space instead of sendfile.
func startOursTLS(ctx context.Context, bin, dir string, env []string) (*target, error) {
	dir = filepath.Join(dir, "tls")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tls dir: %w", err)
	}
	pemFile := filepath.Join(dir, "broker.pem")
	if err := writeSelfSignedPEM(pemFile); err != nil {
		return nil, err
	}
	return startOursWith(ctx, bin, dir, env, "", "ours-tls", []string{
		"listener.security.protocol.map=PLAINTEXT:SSL",
		"ssl.keystore.type=PEM",
		"ssl.keystore.location=" + pemFile,
		// The controller's connection to its own broker is inter-broker TLS.
		"ssl.truststore.type=PEM",
		"ssl.truststore.location=" + pemFile,
	}, nil)
}

// writeSelfSignedPEM writes a key and a self-signed certificate for
// 127.0.0.1 in one PEM file (ssl.keystore.type=PEM).
func writeSelfSignedPEM(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(48 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	k8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("tls key store: %w", err)
	}
	return nil
}
