package broker

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestForwardedByBroker is the controller's rule for a CreateTopics another
// broker forwarded (KafkaApis.handleEnvelope's: a privileged listener and
// CLUSTER_ACTION on the Cluster): only then are the original principal's
// checks, made by the forwarding broker, not made again. The forwarder's
// client id alone is not enough.
func TestForwardedByBroker(t *testing.T) {
	s := newTestServer(t)
	s.cfg.Listeners = []string{"EXTERNAL://:9092", "INTERNAL://:9093"}
	s.cfg.InterBrokerListener = "INTERNAL"
	s.authz = storeAuthorizer(t, newFakeACLStore())
	s.authz.updateCache(lit(resCluster, clusterResourceName), versionedACLs{acls: []aclEntry{allow("User:broker", opClusterAction), allow("User:alice", opDescribe)}})
	create := kmsg.NewPtrCreateTopicsRequest()
	del := kmsg.NewPtrDeleteTopicsRequest()
	str := func(s string) *string { return &s }
	cases := []struct {
		name      string
		principal string
		listener  string
		clientID  *string
		req       kmsg.Request
		want      bool
	}{
		{"broker with CLUSTER_ACTION forwards", "broker", "INTERNAL", str("broker-1-forwarder"), create, true},
		{"copied client id without CLUSTER_ACTION", "alice", "INTERNAL", str("broker-1-forwarder"), create, false},
		{"CLUSTER_ACTION, another client id", "broker", "INTERNAL", str("adminclient-1"), create, false},
		{"CLUSTER_ACTION, no client id", "broker", "INTERNAL", nil, create, false},
		{"not a privileged listener", "broker", "EXTERNAL", str("broker-1-forwarder"), create, false},
		{"not a forwarded API", "broker", "INTERNAL", str("broker-1-forwarder"), del, false},
		{"malformed broker id", "broker", "INTERNAL", str("broker-x-forwarder"), create, false},
		{"negative broker id", "broker", "INTERNAL", str("broker--1-forwarder"), create, false},
		{"leading zero", "broker", "INTERNAL", str("broker-01-forwarder"), create, false},
		{"suffix only", "broker", "INTERNAL", str("broker--forwarder"), create, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := withSession(context.Background(), &session{listener: c.listener, protocol: SASLSSL, principal: Principal{Type: "User", Name: c.principal}})
			if got := s.forwardedByBroker(ctx, c.clientID, c.req); got != c.want {
				t.Errorf("forwardedByBroker = %v, want %v", got, c.want)
			}
		})
	}
	// With control.plane.listener.name set, it is the only privileged
	// listener (SocketServer: the inter-broker listener is privileged only
	// without a control plane).
	s.cfg.ControlPlaneListener = "CONTROL"
	ctx := withSession(context.Background(), &session{listener: "CONTROL", protocol: SSL, principal: Principal{Type: "User", Name: "broker"}})
	if !s.forwardedByBroker(ctx, str("broker-2-forwarder"), create) {
		t.Error("forwarded on the control plane listener: not accepted")
	}
	internal := withSession(context.Background(), &session{listener: "INTERNAL", protocol: SASLSSL, principal: Principal{Type: "User", Name: "broker"}})
	if s.forwardedByBroker(internal, str("broker-2-forwarder"), create) {
		t.Error("forwarded on the inter-broker listener with a control plane set: accepted")
	}
	// Without an authorizer there is nothing to skip.
	s.authz = nil
	if s.forwardedByBroker(ctx, str("broker-2-forwarder"), create) {
		t.Error("no authorizer: forwarded")
	}
}
