package broker

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// scramMechanism is Kafka's ScramMechanism: a hash, and the iteration
// bounds (minIterations 4096; AlterUserScramCredentials accepts at most
// 16384, ZkAdminManager.alterUserScramCredentials).
type scramMechanism struct {
	name string
	id   int8 // ScramMechanism.type, the wire id of AlterUserScramCredentials
	hash func() hash.Hash
}

const (
	scramMinIterations = 4096
	scramMaxIterations = 16384
)

var (
	scramSHA256 = &scramMechanism{name: mechScramSHA256, id: 1, hash: sha256.New}
	scramSHA512 = &scramMechanism{name: mechScramSHA512, id: 2, hash: sha512.New}
)

// scramMechanismByName is ScramMechanism.forMechanismName.
func scramMechanismByName(name string) *scramMechanism {
	switch name {
	case mechScramSHA256:
		return scramSHA256
	case mechScramSHA512:
		return scramSHA512
	}
	return nil
}

// scramMechanismByID is ScramMechanism.fromType (0 is UNKNOWN).
func scramMechanismByID(id int8) *scramMechanism {
	switch id {
	case 1:
		return scramSHA256
	case 2:
		return scramSHA512
	}
	return nil
}

// scramCredential is Kafka's ScramCredential.
type scramCredential struct {
	salt, storedKey, serverKey []byte
	iterations                 int
}

// ScramFormatter's primitives.
func (m *scramMechanism) hmac(key, data []byte) []byte {
	h := hmac.New(m.hash, key)
	h.Write(data)
	return h.Sum(nil)
}

func (m *scramMechanism) digest(data []byte) []byte {
	h := m.hash()
	h.Write(data)
	return h.Sum(nil)
}

// saltedPassword is Hi(normalize(password), salt, i), PBKDF2 with the
// mechanism's HMAC; ScramFormatter.normalize is the UTF-8 bytes (no
// SASLprep).
func (m *scramMechanism) saltedPassword(password string, salt []byte, iterations int) ([]byte, error) {
	return pbkdf2.Key(m.hash, password, salt, iterations, m.hash().Size())
}

// credential is ScramFormatter.generateCredential with a given salt.
func (m *scramMechanism) credential(password string, salt []byte, iterations int) (scramCredential, error) {
	sp, err := m.saltedPassword(password, salt, iterations)
	if err != nil {
		return scramCredential{}, err
	}
	clientKey := m.hmac(sp, []byte("Client Key"))
	return scramCredential{salt: salt, storedKey: m.digest(clientKey), serverKey: m.hmac(sp, []byte("Server Key")), iterations: iterations}, nil
}

// secureRandomString is ScramFormatter.secureRandomString: 130 random bits
// in base 36. Its bytes are the salts Kafka's tools generate and the
// server's nonce.
func secureRandomString() (string, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 130))
	if err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return n.Text(36), nil
}

// scramCredentialString is ScramCredentialUtils.credentialToString, the
// value kept under the mechanism's name in /config/users/<user>.
func scramCredentialString(c scramCredential) string {
	enc := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("salt=%s,stored_key=%s,server_key=%s,iterations=%d", enc(c.salt), enc(c.storedKey), enc(c.serverKey), c.iterations)
}

// parseScramCredential is ScramCredentialUtils.credentialFromString.
func parseScramCredential(s string) (scramCredential, error) {
	props := map[string]string{}
	for _, tok := range strings.Split(s, ",") {
		i := strings.IndexByte(tok, '=')
		if i <= 0 {
			return scramCredential{}, fmt.Errorf("Credentials not valid: %s", s)
		}
		props[tok[:i]] = tok[i+1:]
	}
	if len(props) != 4 {
		return scramCredential{}, fmt.Errorf("Credentials not valid: %s", s)
	}
	var c scramCredential
	var err error
	dec := base64.StdEncoding.DecodeString
	for _, f := range []struct {
		key string
		dst *[]byte
	}{{"salt", &c.salt}, {"stored_key", &c.storedKey}, {"server_key", &c.serverKey}} {
		v, ok := props[f.key]
		if !ok {
			return scramCredential{}, fmt.Errorf("Credentials not valid: %s", s)
		}
		if *f.dst, err = dec(v); err != nil {
			return scramCredential{}, fmt.Errorf("Credentials not valid: %s: %s: %w", s, f.key, err)
		}
	}
	it, ok := props["iterations"]
	if !ok {
		return scramCredential{}, fmt.Errorf("Credentials not valid: %s", s)
	}
	n, err := strconv.ParseInt(it, 10, 32)
	if err != nil {
		return scramCredential{}, fmt.Errorf("Credentials not valid: %s: iterations: %w", s, err)
	}
	c.iterations = int(n)
	return c, nil
}

// scramCredentials is Kafka's CredentialCache of the SCRAM mechanisms,
// filled from /config/users/<user> and kept fresh by the config change
// notifications (UserConfigHandler -> CredentialProvider.updateCredentials).
type scramCredentials struct {
	mu    sync.RWMutex
	creds map[string]map[string]scramCredential // mechanism -> user -> credential
}

func (c *scramCredentials) get(mechanism, user string) (scramCredential, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cr, ok := c.creds[mechanism][user]
	return cr, ok
}

// update replaces the credentials of user by those of its config
// (CredentialProvider.updateCredentials): a mechanism absent from config,
// or whose value does not parse, is removed.
func (c *scramCredentials) update(user string, config map[string]string) []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil {
		c.creds = map[string]map[string]scramCredential{}
	}
	var errs []error
	for _, m := range []string{mechScramSHA256, mechScramSHA512} {
		v, ok := config[m]
		if !ok {
			delete(c.creds[m], user)
			continue
		}
		cr, err := parseScramCredential(v)
		if err != nil {
			delete(c.creds[m], user)
			errs = append(errs, fmt.Errorf("user %s, %s: %w", user, m, err))
			continue
		}
		if c.creds[m] == nil {
			c.creds[m] = map[string]scramCredential{}
		}
		c.creds[m][user] = cr
	}
	return errs
}

// sanitizeEntityName is Kafka's Sanitizer.sanitize: a user's name as its
// znode is named (java.net.URLEncoder, then '*' as %2A and '+' as %20).
func sanitizeEntityName(name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteString("%20")
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// desanitizeEntityName is Sanitizer.desanitize (java.net.URLDecoder).
func desanitizeEntityName(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '+':
			b.WriteByte(' ')
		case '%':
			if i+2 >= len(s) {
				return "", fmt.Errorf("incomplete escape in %q", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("bad escape in %q", s)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// Errors of a SASL exchange, as Kafka's SaslServer implementations throw
// them: an authFailure's message goes to the client
// (SaslAuthenticationException); any other error is a SaslException, whose
// text the client never sees.
type authFailure struct{ msg string }

func (e *authFailure) Error() string { return e.msg }

var errSCRAMCompleted = errors.New("Unexpected challenge in Sasl server state COMPLETE")

// saslServer is one SASL exchange (javax.security.sasl.SaslServer).
type saslServer interface {
	// evaluate takes a client token and returns the server's answer.
	evaluate(token []byte) ([]byte, error)
	complete() bool
	// authorizationID is the authenticated user once complete.
	authorizationID() string
}

// The patterns of Kafka's ScramMessages.
var (
	scramClientFirst = regexp.MustCompile(`^n,(?:a=((?:[\x01-\x2B\x2D-\x3C\x3E-\x7F]|=2C|=3D)+))?,(?:m=[\x01-\x2B\x2D-\x7F]+,)?n=((?:[\x01-\x2B\x2D-\x3C\x3E-\x7F]|=2C|=3D)+),r=([\x21-\x2B\x2D-\x7E]+)((?:,[A-Za-z]+=[\x01-\x2B\x2D-\x7F]+)*)$`)
	scramClientFinal = regexp.MustCompile(`^c=((?:[a-zA-Z0-9/+]{4})*(?:[a-zA-Z0-9/+]{3}=|[a-zA-Z0-9/+]{2}==)?),r=([\x21-\x2B\x2D-\x7E]+)(?:,[A-Za-z]+=[\x01-\x2B\x2D-\x7F]+)*,p=((?:[a-zA-Z0-9/+]{4})*(?:[a-zA-Z0-9/+]{3}=|[a-zA-Z0-9/+]{2}==)?)$`)
)

// scramServer is Kafka's ScramSaslServer.
type scramServer struct {
	mech   *scramMechanism
	lookup func(mechanism, user string) (scramCredential, bool)
	nonce  func() (string, error)

	state       int // 0 first, 1 final, 2 complete, 3 failed
	user        string
	cred        scramCredential
	clientBare  string // client-first-message-bare
	serverFirst string
	fullNonce   string
}

// scramUsername is ScramFormatter.username: "=2C" is ',', "=3D" is '=',
// any other '=' makes the name invalid.
func scramUsername(saslName string) (string, error) {
	u := strings.ReplaceAll(saslName, "=2C", ",")
	if strings.Contains(strings.ReplaceAll(u, "=3D", ""), "=") {
		return "", fmt.Errorf("Invalid username: %s", saslName)
	}
	return strings.ReplaceAll(u, "=3D", "="), nil
}

func (s *scramServer) complete() bool          { return s.state == 2 }
func (s *scramServer) authorizationID() string { return s.user }

func (s *scramServer) evaluate(token []byte) ([]byte, error) {
	out, err := s.step(string(token))
	if err != nil {
		s.state = 3
		s.cred = scramCredential{}
	}
	return out, err
}

func (s *scramServer) step(msg string) ([]byte, error) {
	switch s.state {
	case 0:
		m := scramClientFirst.FindStringSubmatch(msg)
		if m == nil {
			return nil, fmt.Errorf("Invalid SCRAM client first message format: %s", msg)
		}
		authzid, saslName, clientNonce, ext := m[1], m[2], m[3], m[4]
		// Extensions: Kafka knows only tokenauth (delegation tokens, not
		// served here: a token's owner is never found); others are ignored.
		for _, kv := range strings.Split(strings.TrimPrefix(ext, ","), ",") {
			if k, v, _ := strings.Cut(kv, "="); k == "tokenauth" && strings.EqualFold(v, "true") {
				return nil, errors.New("Token Authentication failed: delegation tokens are not supported")
			}
		}
		serverNonce, err := s.nonce()
		if err != nil {
			return nil, fmt.Errorf("Authentication failed: Credentials could not be obtained: %w", err)
		}
		user, err := scramUsername(saslName)
		if err != nil {
			return nil, fmt.Errorf("Authentication failed: Credentials could not be obtained: %w", err)
		}
		cred, ok := s.lookup(s.mech.name, user)
		if !ok {
			return nil, errors.New("Authentication failed: Invalid user credentials")
		}
		if authzid != "" && authzid != user {
			return nil, &authFailure{"Authentication failed: Client requested an authorization id that is different from username"}
		}
		if cred.iterations < scramMinIterations {
			return nil, fmt.Errorf("Iterations %d is less than the minimum %d for %s", cred.iterations, scramMinIterations, s.mech.name)
		}
		s.user, s.cred = user, cred
		// client-first-message-bare, as ClientFirstMessage rebuilds it:
		// "n=...,r=...[,extensions]", without the gs2 header and "m=".
		// Neither the authzid nor "m=" may hold a ',', so the first ",n="
		// starts it.
		s.clientBare = msg[strings.Index(msg, ",n=")+1:]
		s.fullNonce = clientNonce + serverNonce
		s.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", s.fullNonce, base64.StdEncoding.EncodeToString(cred.salt), cred.iterations)
		s.state = 1
		return []byte(s.serverFirst), nil
	case 1:
		m := scramClientFinal.FindStringSubmatch(msg)
		if m == nil {
			return nil, fmt.Errorf("Invalid SCRAM client final message format: %s", msg)
		}
		channel, nonce, proofB64 := m[1], m[2], m[3]
		if !strings.HasSuffix(nonce, s.fullNonce) {
			return nil, errors.New("Invalid client nonce in the final client message.")
		}
		proof, _ := base64.StdEncoding.DecodeString(proofB64)
		// ScramFormatter.authMessage: the final message without proof is
		// rebuilt from its channel binding and nonce.
		authMsg := []byte(s.clientBare + "," + s.serverFirst + ",c=" + channel + ",r=" + nonce)
		clientSig := s.mech.hmac(s.cred.storedKey, authMsg)
		if len(proof) != len(clientSig) {
			return nil, errors.New("Invalid client credentials")
		}
		clientKey := make([]byte, len(proof))
		for i := range proof {
			clientKey[i] = proof[i] ^ clientSig[i]
		}
		if !hmac.Equal(s.mech.digest(clientKey), s.cred.storedKey) {
			return nil, errors.New("Invalid client credentials")
		}
		sig := s.mech.hmac(s.cred.serverKey, authMsg)
		s.cred = scramCredential{}
		s.state = 2
		return []byte("v=" + base64.StdEncoding.EncodeToString(sig)), nil
	}
	return nil, errSCRAMCompleted
}

// plainServer is Kafka's PlainSaslServer with PlainServerCallbackHandler:
// the users are the user_<name> options of the listener's JAAS entry.
type plainServer struct {
	users map[string]string
	user  string
	done  bool
}

func (p *plainServer) complete() bool          { return p.done }
func (p *plainServer) authorizationID() string { return p.user }

func (p *plainServer) evaluate(token []byte) ([]byte, error) {
	// RFC 4616: [authzid] NUL authcid NUL passwd; extractTokens splits at
	// up to four NULs and wants exactly three tokens.
	tokens := strings.SplitN(string(token), "\x00", 5)
	if len(tokens) > 4 {
		tokens = tokens[:4]
	}
	if len(tokens) != 3 {
		return nil, &authFailure{fmt.Sprintf("Invalid SASL/PLAIN response: expected 3 tokens, got %d", len(tokens))}
	}
	authzid, user, password := tokens[0], tokens[1], tokens[2]
	if user == "" {
		return nil, &authFailure{"Authentication failed: username not specified"}
	}
	if password == "" {
		return nil, &authFailure{"Authentication failed: password not specified"}
	}
	want, ok := p.users[user]
	if !ok || !hmac.Equal([]byte(password), []byte(want)) {
		return nil, &authFailure{"Authentication failed: Invalid username or password"}
	}
	if authzid != "" && authzid != user {
		return nil, &authFailure{"Authentication failed: Client requested an authorization id that is different from username"}
	}
	p.user, p.done = user, true
	return []byte{}, nil
}
