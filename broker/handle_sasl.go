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
