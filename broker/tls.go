package broker

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"
)

// SSL configuration keys (SslConfigs, BrokerSecurityConfigs).
const (
	sslKeystoreType        = "ssl.keystore.type"
	sslKeystoreLocation    = "ssl.keystore.location"
	sslKeystorePassword    = "ssl.keystore.password"
	sslKeyPassword         = "ssl.key.password"
	sslKeystoreCertChain   = "ssl.keystore.certificate.chain"
	sslKeystoreKey         = "ssl.keystore.key"
	sslTruststoreType      = "ssl.truststore.type"
	sslTruststoreLocation  = "ssl.truststore.location"
	sslTruststorePassword  = "ssl.truststore.password"
	sslTruststoreCerts     = "ssl.truststore.certificates"
	sslClientAuth          = "ssl.client.auth"
	sslEnabledProtocols    = "ssl.enabled.protocols"
	sslProtocol            = "ssl.protocol"
	sslCipherSuites        = "ssl.cipher.suites"
	sslEndpointID          = "ssl.endpoint.identification.algorithm"
	sslPrincipalMapping    = "ssl.principal.mapping.rules"
	defaultEnabledProtocol = "TLSv1.2,TLSv1.3" // SslConfigs.DEFAULT_SSL_ENABLED_PROTOCOLS
)

// SSLKeys are the ssl.* keys this broker reads, each also taken in its
// listener.name.<listener>. form.
var SSLKeys = []string{
	sslKeystoreType, sslKeystoreLocation, sslKeystorePassword, sslKeyPassword,
	sslKeystoreCertChain, sslKeystoreKey, sslTruststoreType, sslTruststoreLocation,
	sslTruststorePassword, sslTruststoreCerts, sslClientAuth, sslEnabledProtocols,
	sslProtocol, sslCipherSuites, sslEndpointID, sslPrincipalMapping,
}

// hiddenSSLKeys are Kafka's PASSWORD-typed ssl keys: their values are
// never printed ("[hidden]", as ConfigException prints a Password).
var hiddenSSLKeys = map[string]bool{
	sslKeystorePassword: true, sslKeyPassword: true, sslKeystoreKey: true,
	sslTruststorePassword: true, sslKeystoreCertChain: true, sslTruststoreCerts: true,
}

// SSLSettings are one listener's ssl.* configs as Kafka resolves them
// (KafkaConfig.valuesWithPrefixOverride): listener.name.<listener>.ssl.x,
// the listener name lower-cased, wins over ssl.x. keys remembers the key as
// configured, for error messages.
type SSLSettings struct {
	values map[string]string
	keys   map[string]string
}

// ResolveSSLSettings picks the ssl.* settings of a listener out of all
// broker settings.
func ResolveSSLSettings(all map[string]string, listener string) SSLSettings {
	st := SSLSettings{values: map[string]string{}, keys: map[string]string{}}
	prefix := "listener.name." + strings.ToLower(listener) + "."
	for _, k := range SSLKeys {
		if v, ok := all[k]; ok {
			st.values[k], st.keys[k] = v, k
		}
		if v, ok := all[prefix+k]; ok {
			st.values[k], st.keys[k] = v, prefix+k
		}
	}
	return st
}

// get returns a setting; set reports whether it was configured.
func (st SSLSettings) get(k string) (v string, set bool) {
	v, set = st.values[k]
	return v, set
}

// fail is Kafka's ConfigException "Invalid value V for configuration K: msg".
func (st SSLSettings) fail(k, msg string) error {
	name := k
	if n, ok := st.keys[k]; ok {
		name = n
	}
	v, set := st.values[k]
	switch {
	case !set:
		v = "null"
	case hiddenSSLKeys[k]:
		v = "[hidden]"
	}
	return fmt.Errorf("Invalid value %s for configuration %s: %s", v, name, msg)
}

// TLSListener is an SSL or SASL_SSL listener's server side: the TLS
// configuration and the ssl.principal.mapping.rules.
type TLSListener struct {
	Protocol SecurityProtocol // SSL or SASL_SSL
	Config   *tls.Config
	Mapper   *SSLPrincipalMapper
}

// NewTLSListener builds a listener's TLS server from its settings, loading
// the key and trust stores now: any problem is an error naming the key,
// and the broker does not start (Kafka's SslFactory validates the same way
// at start-up).
func NewTLSListener(st SSLSettings, protocol SecurityProtocol) (*TLSListener, error) {
	cfg, err := st.baseConfig()
	if err != nil {
		return nil, err
	}
	cert, err := st.keyStore()
	if err != nil {
		return nil, err
	}
	if cert == nil {
		return nil, st.fail(sslKeystoreLocation, "a key store is required on a listener whose protocol is "+protocol.String())
	}
	cfg.Certificates = []tls.Certificate{*cert}
	pool, err := st.trustStore()
	if err != nil {
		return nil, err
	}
	cfg.ClientCAs = pool // nil: the system roots, as Java's default cacerts
	auth, set := st.get(sslClientAuth)
	if !set {
		auth = "none"
	}
	if protocol == SASLSSL && st.keys[sslClientAuth] == sslClientAuth {
		// ChannelBuilders: on SASL_SSL only the listener-prefixed form counts.
		auth = "none"
	}
	switch strings.TrimSpace(auth) {
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "requested":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "none":
		cfg.ClientAuth = tls.NoClientCert
	default:
		return nil, st.fail(sslClientAuth, "String must be one of: required, requested, none")
	}
	rules, _ := st.get(sslPrincipalMapping)
	if strings.TrimSpace(rules) == "" {
		rules = "DEFAULT"
	}
	mapper, err := ParseSSLPrincipalMappingRules(rules)
	if err != nil {
		return nil, st.fail(sslPrincipalMapping, err.Error())
	}
	return &TLSListener{Protocol: protocol, Config: cfg, Mapper: mapper}, nil
}

// NewTLSClientConfig is the client side for inter-broker connections on an
// SSL or SASL_SSL listener: the keystore's certificate (if any) as client
// certificate, the truststore's roots, and
// ssl.endpoint.identification.algorithm (https, the default: the peer's
// certificate must name the host dialled; empty: not checked). Dial with
// TLSClientFor to set the host.
func NewTLSClientConfig(st SSLSettings) (*tls.Config, error) {
	cfg, err := st.baseConfig()
	if err != nil {
		return nil, err
	}
	// SslConfigs: with ssl.protocol=TLSv1.2 a client does not use TLSv1.3
	// even when ssl.enabled.protocols lists it.
	if v, _ := st.get(sslProtocol); strings.TrimSpace(v) == "TLSv1.2" && cfg.MaxVersion > tls.VersionTLS12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	cert, err := st.keyStore()
	if err != nil {
		return nil, err
	}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	roots, err := st.trustStore()
	if err != nil {
		return nil, err
	}
	checkHost := true
	if v, set := st.get(sslEndpointID); set {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "":
			checkHost = false
		case "https":
		default:
			return nil, st.fail(sslEndpointID, "unknown identification algorithm (https or empty)")
		}
	}
	cfg.RootCAs = roots // nil: the system roots, as Java's default cacerts
	if !checkHost {
		// The chain is still verified, only not against the host name.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(cs, roots)
		}
	}
	return cfg, nil
}

// TLSClientFor returns cfg for a connection to addr (host:port): the host
// goes into SNI and the host name check.
func TLSClientFor(cfg *tls.Config, addr string) *tls.Config {
	c := cfg.Clone()
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	c.ServerName = host
	return c
}

// verifyChain checks the server's chain against roots, without a host
// name (ssl.endpoint.identification.algorithm empty). With https Go's own
// verification runs: the host dialled must be in the certificate's subject
// alternative names. (Java's HostnameChecker also accepts the CN of a
// certificate without DNS names; Go never does: a known difference.)
func verifyChain(cs tls.ConnectionState, roots *x509.CertPool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := cs.PeerCertificates[0].Verify(opts)
	return err
}

// tlsVersions maps ssl.enabled.protocols names to Go's versions.
var tlsVersions = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

// baseConfig is what server and client share: protocol versions and
// cipher suites.
func (st SSLSettings) baseConfig() (*tls.Config, error) {
	cfg := &tls.Config{}
	if v, set := st.get(sslProtocol); set {
		// SSLContext.getInstance(ssl.protocol): an unknown name fails.
		switch strings.TrimSpace(v) {
		case "TLS", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", "SSL", "SSLv3", "DTLS", "DTLSv1.0", "DTLSv1.2":
		default:
			return nil, st.fail(sslProtocol, v+" SSLContext not available")
		}
	}
	protos, set := st.get(sslEnabledProtocols)
	if !set {
		protos = defaultEnabledProtocol
	}
	var lo, hi uint16
	for _, p := range splitList(protos) {
		ver, ok := tlsVersions[p]
		if !ok {
			return nil, st.fail(sslEnabledProtocols, "Unsupported protocol: "+p)
		}
		if lo == 0 || ver < lo {
			lo = ver
		}
		if ver > hi {
			hi = ver
		}
	}
	if lo == 0 {
		return nil, st.fail(sslEnabledProtocols, "no protocol enabled")
	}
	cfg.MinVersion, cfg.MaxVersion = lo, hi
	if v, set := st.get(sslCipherSuites); set && strings.TrimSpace(v) != "" {
		ids, err := cipherSuiteIDs(splitList(v))
		if err != nil {
			return nil, st.fail(sslCipherSuites, err.Error())
		}
		cfg.CipherSuites = ids
	}
	return cfg, nil
}

// cipherSuiteIDs maps Java's suite names (the IANA names) to Go's ids. TLS
// 1.3 suites are accepted but not selectable in Go (it always offers all
// three): a known difference from Java.
func cipherSuiteIDs(names []string) ([]uint16, error) {
	known := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		known[cs.Name] = cs.ID
	}
	for _, cs := range tls.InsecureCipherSuites() {
		known[cs.Name] = cs.ID
	}
	var ids []uint16
	for _, n := range names {
		id, ok := known[n]
		if !ok {
			return nil, fmt.Errorf("Unsupported CipherSuite: %s", n)
		}
		if !slices.Contains([]uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// keyStore loads the key store (DefaultSslEngineFactory.createKeystore):
// a file of ssl.keystore.type, or PEM inline in ssl.keystore.key and
// ssl.keystore.certificate.chain. nil: none configured.
func (st SSLSettings) keyStore() (*tls.Certificate, error) {
	typ, set := st.get(sslKeystoreType)
	typ = strings.ToUpper(strings.TrimSpace(typ))
	if !set {
		typ = storeJKS
	}
	path, pathSet := st.get(sslKeystoreLocation)
	password, pwSet := st.get(sslKeystorePassword)
	var keyPassword *string
	if kp, ok := st.get(sslKeyPassword); ok {
		keyPassword = &kp
	}
	key, keySet := st.get(sslKeystoreKey)
	chain, chainSet := st.get(sslKeystoreCertChain)
	switch {
	case keySet:
		switch {
		case typ != storePEM:
			return nil, st.fail(sslKeystoreKey, "SSL private key can be specified only for PEM, but key store type is "+typ+".")
		case !chainSet:
			return nil, st.fail(sslKeystoreKey, "SSL private key is specified, but certificate chain is not specified.")
		case pathSet:
			return nil, st.fail(sslKeystoreLocation, "Both SSL key store location and separate private key are specified.")
		case pwSet:
			return nil, st.fail(sslKeystorePassword, "SSL key store password cannot be specified with PEM format, only key password may be specified.")
		}
		return st.pemKeyPair(key, chain, keyPassword, sslKeystoreKey)
	case chainSet:
		return nil, st.fail(sslKeystoreCertChain, "SSL certificate chain is specified, but private key is not specified")
	case typ == storePEM && pathSet:
		if pwSet {
			return nil, st.fail(sslKeystorePassword, "SSL key store password cannot be specified with PEM format, only key password may be specified")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, st.fail(sslKeystoreLocation, "Failed to load PEM SSL keystore "+path+": "+err.Error())
		}
		return st.pemKeyPair(string(data), string(data), keyPassword, sslKeystoreLocation)
	case !pathSet && pwSet:
		return nil, st.fail(sslKeystoreLocation, "SSL key store is not specified, but key store password is specified.")
	case pathSet && !pwSet:
		return nil, st.fail(sslKeystorePassword, "SSL key store is specified, but key store password is not specified.")
	case !pathSet:
		return nil, nil
	}
	if typ != storeJKS && typ != storePKCS12 {
		return nil, st.fail(sslKeystoreType, typ+" not found")
	}
	entries, err := loadStoreFile(path, password, keyPassword, true)
	if err != nil {
		k := sslKeystoreLocation
		if strings.Contains(err.Error(), "password") {
			k = sslKeystorePassword
			if strings.Contains(err.Error(), "key password") {
				k = sslKeyPassword
			}
		}
		return nil, st.fail(k, fmt.Sprintf("Failed to load SSL keystore %s of type %s: %v", path, typ, err))
	}
	cert, err := entries.keyPair()
	if err != nil {
		return nil, st.fail(sslKeystoreLocation, fmt.Sprintf("SSL keystore %s: %v", path, err))
	}
	return cert, nil
}

func (st SSLSettings) pemKeyPair(keyPEM, chainPEM string, keyPassword *string, keyName string) (*tls.Certificate, error) {
	certs, err := pemCerts(chainPEM)
	if err != nil {
		return nil, st.fail(keyName, "Invalid PEM keystore configs: "+err.Error())
	}
	key, err := pemKey(keyPEM, keyPassword)
	if err != nil {
		k := keyName
		if keyPassword != nil {
			k = sslKeyPassword
		}
		return nil, st.fail(k, "Invalid PEM keystore configs: "+err.Error())
	}
	cert, err := storeEntries{keys: []storeKey{{key: key, chain: certs}}}.keyPair()
	if err != nil {
		return nil, st.fail(keyName, "Invalid PEM keystore configs: "+err.Error())
	}
	return cert, nil
}

// trustStore loads the trust store (createTruststore); nil: none set.
func (st SSLSettings) trustStore() (*x509.CertPool, error) {
	typ, set := st.get(sslTruststoreType)
	typ = strings.ToUpper(strings.TrimSpace(typ))
	if !set {
		typ = storeJKS
	}
	path, pathSet := st.get(sslTruststoreLocation)
	password, pwSet := st.get(sslTruststorePassword)
	certsPEM, certsSet := st.get(sslTruststoreCerts)
	var certs []*x509.Certificate
	switch {
	case certsSet:
		switch {
		case typ != storePEM:
			return nil, st.fail(sslTruststoreCerts, "SSL trust store certs can be specified only for PEM, but trust store type is "+typ+".")
		case pathSet:
			return nil, st.fail(sslTruststoreLocation, "Both SSL trust store location and separate trust certificates are specified.")
		case pwSet:
			return nil, st.fail(sslTruststorePassword, "SSL trust store password cannot be specified for PEM format.")
		}
		c, err := pemCerts(certsPEM)
		if err != nil {
			return nil, st.fail(sslTruststoreCerts, "Invalid PEM truststore configs: "+err.Error())
		}
		certs = c
	case typ == storePEM && pathSet:
		if pwSet {
			return nil, st.fail(sslTruststorePassword, "SSL trust store password cannot be specified for PEM format.")
		}
		data, err := os.ReadFile(path)
		if err == nil {
			certs, err = pemCerts(string(data))
		}
		if err != nil {
			return nil, st.fail(sslTruststoreLocation, "Failed to load PEM SSL keystore "+path+": "+err.Error())
		}
	case !pathSet && pwSet:
		return nil, st.fail(sslTruststoreLocation, "SSL trust store is not specified, but trust store password is specified.")
	case pathSet:
		if typ != storeJKS && typ != storePKCS12 {
			return nil, st.fail(sslTruststoreType, typ+" not found")
		}
		entries, err := loadStoreFile(path, password, nil, false)
		if err != nil {
			k := sslTruststoreLocation
			if strings.Contains(err.Error(), "password") {
				k = sslTruststorePassword
			}
			return nil, st.fail(k, fmt.Sprintf("Failed to load SSL keystore %s of type %s: %v", path, typ, err))
		}
		pool, n := entries.trustPool()
		if n == 0 {
			// Java: "the trustAnchors parameter must be non-empty" at the first handshake.
			return nil, st.fail(sslTruststoreLocation, "the trust store has no certificates")
		}
		return pool, nil
	default:
		return nil, nil
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// wrapTLS is the accept side of an SSL or SASL_SSL listener: it wraps c in
// TLS and completes the handshake within connections.max.idle.ms. On SSL
// the session's principal is the client certificate's, mapped by
// ssl.principal.mapping.rules (ANONYMOUS without one); on SASL_SSL the
// SASL authentication sets it later. A plaintext listener returns c as is.
// On error the caller closes c.
func (s *Server) wrapTLS(sess *session, c net.Conn) (net.Conn, error) {
	l := s.cfg.TLSListeners[strings.ToUpper(sess.listener)]
	if l == nil {
		return c, nil
	}
	sess.protocol = l.Protocol
	tc := tls.Server(c, l.Config)
	ctx := context.Background()
	if ms := s.cfg.ConnectionsMaxIdleMs; ms >= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(min(ms, int64(math.MaxInt64/time.Millisecond)))*time.Millisecond)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		// Kafka's Selector: "Failed authentication with <addr> (SSL handshake failed)".
		s.limitedLog("tls-handshake-failed", slog.LevelInfo, "Failed authentication (SSL handshake failed)",
			"listener", sess.listener, "remote", c.RemoteAddr().String(), "err", err)
		return nil, fmt.Errorf("SSL handshake failed: %w", err)
	}
	if l.Protocol == SSL {
		p, err := sslPrincipal(l.Mapper, tc.ConnectionState().PeerCertificates)
		if err != nil {
			s.limitedLog("tls-principal-failed", slog.LevelInfo, "Failed to build principal",
				"listener", sess.listener, "remote", c.RemoteAddr().String(), "err", err)
			return nil, fmt.Errorf("building principal: %w", err)
		}
		sess.principal = p
		s.logger.Debug("SSL connection authenticated", "listener", sess.listener, "remote", c.RemoteAddr().String(), "principal", p.String())
	}
	return tc, nil
}

// ValidateInterBrokerTLS is Kafka's SslFactory start-up check on the
// inter-broker listener (keystoreVerifiableUsingTruststore): a client built
// from the listener's settings must complete a handshake with a server
// built from them, host name not checked. It runs in memory, both ways of
// Kafka's check being one handshake here (the same settings on each side).
func ValidateInterBrokerTLS(server *TLSListener, client *tls.Config) error {
	// A kernel-buffered socket pair: over net.Pipe a side that fails
	// verification would block writing its alert while the other still
	// writes its flight.
	sc, cc, err := socketPair()
	if err != nil {
		return fmt.Errorf("validating the inter-broker TLS settings: %w", err)
	}
	defer sc.Close()
	defer cc.Close()
	ccfg := client.Clone()
	if !ccfg.InsecureSkipVerify {
		roots := ccfg.RootCAs
		ccfg.InsecureSkipVerify = true
		ccfg.VerifyConnection = func(cs tls.ConnectionState) error { return verifyChain(cs, roots) }
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		s := tls.Server(sc, server.Config)
		err := s.HandshakeContext(ctx)
		if err == nil {
			// TLS 1.3: the server learns of a refused client certificate
			// only with the client's first record.
			_, err = s.Read(make([]byte, 1))
		}
		if err != nil {
			_ = sc.Close() // unblocks the client
		}
		errc <- err
	}()
	c := tls.Client(cc, ccfg)
	err = c.HandshakeContext(ctx)
	if err == nil {
		_, err = c.Write([]byte{0})
	}
	if err != nil {
		_ = cc.Close() // unblocks the server
	}
	if serr := <-errc; err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("A client SSLEngine created with the provided settings can't connect to a server SSLEngine created with those settings.: %w", err)
	}
	return nil
}

// socketPair is two connected stream sockets of this process.
func socketPair() (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "tls-validation")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			if i == 1 {
				_ = conns[0].Close()
			} else {
				_ = syscall.Close(fds[1])
			}
			return nil, nil, err
		}
		conns[i] = c
	}
	return conns[0], conns[1], nil
}
