package broker

import (
	"context"
	"fmt"
	"net"
	"strings"
)

// SecurityProtocol is Kafka's SecurityProtocol, with Kafka's ids (they go
// on the wire in UpdateMetadata v1-v5 endpoints).
type SecurityProtocol int16

const (
	Plaintext     SecurityProtocol = 0
	SSL           SecurityProtocol = 1
	SASLPlaintext SecurityProtocol = 2
	SASLSSL       SecurityProtocol = 3
)

var securityProtocolNames = [...]string{"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"}

// String is the protocol's name as in listener.security.protocol.map.
func (p SecurityProtocol) String() string {
	if p >= 0 && int(p) < len(securityProtocolNames) {
		return securityProtocolNames[p]
	}
	return fmt.Sprintf("SecurityProtocol(%d)", int16(p))
}

// TLS reports whether connections of this protocol are wrapped in TLS.
func (p SecurityProtocol) TLS() bool { return p == SSL || p == SASLSSL }

// SASL reports whether connections of this protocol authenticate with SASL
// before any other request.
func (p SecurityProtocol) SASL() bool { return p == SASLPlaintext || p == SASLSSL }

// ParseSecurityProtocol reads a protocol name, case-insensitively as Kafka's
// SecurityProtocol.forName does.
func ParseSecurityProtocol(name string) (SecurityProtocol, bool) {
	for i, n := range securityProtocolNames {
		if strings.EqualFold(n, name) {
			return SecurityProtocol(i), true
		}
	}
	return 0, false
}

// Principal is Kafka's KafkaPrincipal: a type ("User", "Group", ...) and a
// name; printed "User:alice".
type Principal struct{ Type, Name string }

// Anonymous is the principal of an unauthenticated connection (PLAINTEXT,
// or SSL without a client certificate), KafkaPrincipal.ANONYMOUS.
var Anonymous = Principal{Type: "User", Name: "ANONYMOUS"}

func (p Principal) String() string { return p.Type + ":" + p.Name }

// session is what a request knows of the connection it came in on: the
// listener's name and security protocol, the authenticated principal and
// the client's address (Kafka's RequestContext: listenerName,
// securityProtocol, principal, clientAddress). A connection's serving
// goroutine owns it; handlers read it through sessionFrom.
type session struct {
	listener   string           // the listener name, e.g. "PLAINTEXT", "BROKER"
	protocol   SecurityProtocol // of that listener
	principal  Principal        // Anonymous until authenticated
	clientAddr net.Addr
	localAddr  net.Addr // the broker's end of the connection (Kafka's connection id)
}

// setPrincipal records the principal a SASL exchange authenticated. Only
// the connection's serving goroutine calls it, between requests.
func (s *session) setPrincipal(p Principal) { s.principal = p }

type sessionKey struct{}

// withSession returns ctx carrying the connection's session; its client
// address is also what clientHost reports.
func withSession(ctx context.Context, s *session) context.Context {
	return context.WithValue(withClientAddr(ctx, s.clientAddr), sessionKey{}, s)
}

// sessionFrom is the session of the request served with ctx. A request
// served outside a connection (tests, internal calls) gets a PLAINTEXT
// session of the anonymous principal.
func sessionFrom(ctx context.Context) *session {
	if s, ok := ctx.Value(sessionKey{}).(*session); ok {
		return s
	}
	return &session{listener: "PLAINTEXT", protocol: Plaintext, principal: Anonymous}
}
