// SaslHandshake (v0-1) and SaslAuthenticate (v0-2) that reach the request
// handler. The authentication exchange itself runs before any other
// request, in sasl_conn.go (Kafka's SaslServerAuthenticator): v0 of
// SaslHandshake is followed by raw length-prefixed tokens, v1 (KIP-152) by
// SaslAuthenticate requests; SaslAuthenticate v1 adds the session lifetime
// for re-authentication (KIP-368), v2 flexible versions (KIP-482). Here
// only the late cases are answered: on an authenticated connection not
// re-authenticating, or on a listener without SASL, both get
// ILLEGAL_SASL_STATE as in KafkaApis. Deviation from Kafka 3.9: a
// re-authentication begun with a v0 SaslHandshake closes the connection
// (Kafka would read raw tokens next); recorded in saslDiffKnown.

package broker

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// handleSaslHandshake answers a SaslHandshake that reaches the request
// handler: on a connection already authenticated (and not starting
// re-authentication) or on a listener without SASL
// (KafkaApis.handleSaslHandshakeRequest: ILLEGAL_SASL_STATE).
func handleSaslHandshake() kmsg.Response {
	resp := kmsg.NewPtrSASLHandshakeResponse()
	resp.ErrorCode = kerr.IllegalSaslState.Code
	return resp
}

// handleSaslAuthenticate is KafkaApis.handleSaslAuthenticateRequest.
func handleSaslAuthenticate() kmsg.Response {
	resp := kmsg.NewPtrSASLAuthenticateResponse()
	resp.ErrorCode = kerr.IllegalSaslState.Code
	msg := "SaslAuthenticate request received after successful authentication"
	resp.ErrorMessage = &msg
	return resp
}
