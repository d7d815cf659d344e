package kafkadiff_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's refusal message for the cluster-level denials of
// AuthHelper.authorizeClusterOperation: ClusterAuthorizationException(
// s"Request $request is not authorized.") with RequestChannel.Request's
// toString, which names the network processor, the connection id
// (local-remote-index), the session (principal, client address), the
// listener and its protocol, the request's buffer (released, null, for
// requests without bytes fields) and the envelope. The processor number,
// the ports and the connection index differ from broker to broker: the
// message is compared in its shape, with the principal, the address and
// the listener filled in.

// aclRefusals are the calls whose refusal carries that message, sent by
// bob (no ACL on the cluster in the last scenario played).
var aclRefusals = []struct {
	name string
	run  func(ctx context.Context, b *kgo.Broker) (int16, *string, error)
}{
	{"DescribeAcls", func(ctx context.Context, b *kgo.Broker) (int16, *string, error) {
		req := kmsg.NewPtrDescribeACLsRequest()
		req.ResourceType, req.ResourcePatternType, req.Operation, req.PermissionType = kmsg.ACLResourceTypeAny, kmsg.ACLResourcePatternTypeAny, kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		resp, err := req.RequestWith(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return resp.ErrorCode, resp.ErrorMessage, nil
	}},
	{"CreateAcls", func(ctx context.Context, b *kgo.Broker) (int16, *string, error) {
		req := kmsg.NewPtrCreateACLsRequest()
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = kmsg.ACLResourceTypeTopic, "acl-made", kmsg.ACLResourcePatternTypeLiteral
		c.Principal, c.Host, c.Operation, c.PermissionType = aclOther, "*", kmsg.ACLOperationRead, kmsg.ACLPermissionTypeAllow
		req.Creations = append(req.Creations, c)
		resp, err := req.RequestWith(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return resp.Results[0].ErrorCode, resp.Results[0].ErrorMessage, nil
	}},
	{"DeleteAcls", func(ctx context.Context, b *kgo.Broker) (int16, *string, error) {
		req := kmsg.NewPtrDeleteACLsRequest()
		f := kmsg.NewDeleteACLsRequestFilter()
		f.ResourceType, f.ResourceName, f.ResourcePatternType = kmsg.ACLResourceTypeTopic, kmsg.StringPtr("nothing-here"), kmsg.ACLResourcePatternTypeLiteral
		f.Operation, f.PermissionType = kmsg.ACLOperationAny, kmsg.ACLPermissionTypeAny
		req.Filters = append(req.Filters, f)
		resp, err := req.RequestWith(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return resp.Results[0].ErrorCode, resp.Results[0].ErrorMessage, nil
	}},
	{"ListPartitionReassignments", func(ctx context.Context, b *kgo.Broker) (int16, *string, error) {
		req := kmsg.NewPtrListPartitionReassignmentsRequest()
		req.TimeoutMillis = 5000
		resp, err := req.RequestWith(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return resp.ErrorCode, resp.ErrorMessage, nil
	}},
	{"AlterPartitionReassignments", func(ctx context.Context, b *kgo.Broker) (int16, *string, error) {
		req := kmsg.NewPtrAlterPartitionAssignmentsRequest()
		req.TimeoutMillis = 5000
		rt := kmsg.NewAlterPartitionAssignmentsRequestTopic()
		rt.Topic = "t"
		rp := kmsg.NewAlterPartitionAssignmentsRequestTopicPartition()
		rp.Partition, rp.Replicas = 0, []int32{0}
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, b)
		if err != nil {
			return 0, nil, err
		}
		return resp.ErrorCode, resp.ErrorMessage, nil
	}},
}

// aclRefusalBuffers is the buffer part of the message per call: null
// where Kafka released the request's buffer after parsing, else the
// request's size (kgo's request, the same to both brokers).
var aclRefusalBuffers = map[string]string{
	"DescribeAcls":                "null",
	"CreateAcls":                  "java.nio.HeapByteBuffer[pos=41 lim=41 cap=41]",
	"DeleteAcls":                  "java.nio.HeapByteBuffer[pos=36 lim=36 cap=36]",
	"ListPartitionReassignments":  "java.nio.HeapByteBuffer[pos=20 lim=20 cap=20]",
	"AlterPartitionReassignments": "java.nio.HeapByteBuffer[pos=34 lim=34 cap=34]",
}

// refusalNormal replaces what differs from broker to broker: the
// processor, the ports and connection index, the session's identity hash.
var refusalNormal = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`processor=\d+`), "processor=N"},
	{regexp.MustCompile(`connectionId=127\.0\.0\.1:\d+-127\.0\.0\.1:\d+-\d+`), "connectionId=127.0.0.1:P-127.0.0.1:P-I"},
	{regexp.MustCompile(`Session@[0-9a-f]+`), "Session@H"},
}

// checkRefusalMessages sends aclRefusals as bob over SASL_PLAINTEXT and
// checks the code (31) and the message, normalized.
func checkRefusalMessages(t *testing.T, who string, b *aclBroker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range aclRefusals {
		code, msg, err := c.run(ctx, b.broker("bob"))
		if err != nil {
			t.Errorf("%s: %s: %v", who, c.name, err)
			continue
		}
		m := "<null>"
		if msg != nil {
			m = *msg
		}
		norm := m
		for _, n := range refusalNormal {
			norm = n.re.ReplaceAllString(norm, n.with)
		}
		want := fmt.Sprintf("Request Request(processor=N, connectionId=127.0.0.1:P-127.0.0.1:P-I, session=org.apache.kafka.network.Session@H, "+
			"listenerName=ListenerName(SASL_PLAINTEXT), securityProtocol=SASL_PLAINTEXT, buffer=%s, envelope=None) is not authorized.", aclRefusalBuffers[c.name])
		if code != 31 || norm != want {
			t.Errorf("%s: %s: got %d %q (normalized %q), want 31 and %q", who, c.name, code, m, norm, want)
		}
	}
}

// describeAllScramAsBob sends DescribeUserScramCredentials for every user
// (users null) as bob, refused: the code and the number of results, or
// the error (Kafka's getErrorResponse walks the null user list).
func describeAllScramAsBob(b *aclBroker) string {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	resp, err := req.RequestWith(ctx, b.broker("bob"))
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%d, %d results", resp.ErrorCode, len(resp.Results))
}
