package broker

import (
	"context"
	"net"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSCRAMAPIsAuthorized is KafkaApis' check of the SCRAM credential
// APIs: DESCRIBE on the cluster for DescribeUserScramCredentials, ALTER
// for AlterUserScramCredentials after NOT_CONTROLLER; the refusals are
// the requests' getErrorResponse.
func TestSCRAMAPIsAuthorized(t *testing.T) {
	s := newTestServer(t)
	s.authz = storeAuthorizer(t, newFakeACLStore())

	d := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, u := range []string{"alice", "bob"} {
		x := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		x.Name = u
		d.Users = append(d.Users, x)
	}
	dr := dispatchRequest(t, s, d).(*kmsg.DescribeUserSCRAMCredentialsResponse)
	if dr.ErrorCode != errClusterAuthorizationFailed || dr.ErrorMessage == nil || *dr.ErrorMessage != msgClusterAuthFailed || len(dr.Results) != 2 {
		t.Fatalf("describe refused: %+v", dr)
	}
	for _, r := range dr.Results {
		// Kafka's getErrorResponse names no user.
		if r.User != "" || r.ErrorCode != errClusterAuthorizationFailed || r.ErrorMessage == nil || *r.ErrorMessage != msgClusterAuthFailed {
			t.Errorf("describe refused result: %+v", r)
		}
	}

	a := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	for _, u := range []string{"carol", "bob"} {
		x := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		x.Name, x.Mechanism = u, 1
		a.Deletions = append(a.Deletions, x)
	}
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations = "bob", 1, 8192
	a.Upsertions = append(a.Upsertions, up)
	// Not the controller: NOT_CONTROLLER comes before the authorization.
	ar := dispatchRequest(t, s, a).(*kmsg.AlterUserSCRAMCredentialsResponse)
	if len(ar.Results) != 2 || ar.Results[0].ErrorCode != 41 {
		t.Fatalf("alter on a non-controller: %+v", ar)
	}
	refused := alterScramRefused(a).(*kmsg.AlterUserSCRAMCredentialsResponse)
	if len(refused.Results) != 2 || refused.Results[0].User != "bob" || refused.Results[1].User != "carol" {
		t.Fatalf("alter refused: %+v", refused)
	}
	for _, r := range refused.Results {
		if r.ErrorCode != errClusterAuthorizationFailed || *r.ErrorMessage != msgClusterAuthFailed {
			t.Errorf("alter refused result: %+v", r)
		}
	}

	s.authz.superUsers[Anonymous] = true
	if dr := dispatchRequest(t, s, d).(*kmsg.DescribeUserSCRAMCredentialsResponse); dr.ErrorCode == errClusterAuthorizationFailed {
		t.Fatalf("describe by a super user: %+v", dr)
	}
}

// TestClusterNotAuthorizedMessage is the shape of
// AuthHelper.authorizeClusterOperation's message.
func TestClusterNotAuthorizedMessage(t *testing.T) {
	sess := &session{listener: "SASL_PLAINTEXT", protocol: SASLPlaintext, principal: Principal{"User", "bob"},
		clientAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, localAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9092}}
	ctx := withRequestSize(withSession(context.Background(), sess), 41)
	cases := []struct {
		retained bool
		buffer   string
	}{
		{false, "null"},
		{true, "java.nio.HeapByteBuffer[pos=41 lim=41 cap=41]"},
	}
	for _, c := range cases {
		got := *clusterNotAuthorized(ctx, c.retained)
		want := "Request Request(processor=0, connectionId=127.0.0.1:9092-127.0.0.1:40000-0, session=org.apache.kafka.network.Session@8b41078c, " +
			"listenerName=ListenerName(SASL_PLAINTEXT), securityProtocol=SASL_PLAINTEXT, buffer=" + c.buffer + ", envelope=None) is not authorized."
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}
