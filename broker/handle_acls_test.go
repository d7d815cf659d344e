package broker

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestACLAPIs is AclApis: SECURITY_DISABLED without an authorizer, the
// cluster checks, CreateAcls' own validation, UNKNOWN elements closing the
// connection, and a create / describe / delete round trip.
func TestACLAPIs(t *testing.T) {
	describeAll := func() *kmsg.DescribeACLsRequest {
		r := kmsg.NewPtrDescribeACLsRequest()
		r.Version = 3
		r.ResourceType, r.ResourcePatternType, r.Operation, r.PermissionType = 1, 1, 1, 1
		return r
	}
	creation := func(typ kmsg.ACLResourceType, name string) kmsg.CreateACLsRequestCreation {
		c := kmsg.NewCreateACLsRequestCreation()
		c.ResourceType, c.ResourceName, c.ResourcePatternType = typ, name, 3
		c.Principal, c.Host, c.Operation, c.PermissionType = "User:alice", "*", 3, 3
		return c
	}

	s := newTestServer(t)
	if resp := dispatchRequest(t, s, describeAll()).(*kmsg.DescribeACLsResponse); resp.ErrorCode != errSecurityDisabled {
		t.Fatalf("no authorizer: %d", resp.ErrorCode)
	}
	cr := kmsg.NewPtrCreateACLsRequest()
	cr.Version = 3
	cr.Creations = append(cr.Creations, creation(2, "t"))
	if resp := dispatchRequest(t, s, cr).(*kmsg.CreateACLsResponse); resp.Results[0].ErrorCode != errSecurityDisabled {
		t.Fatalf("no authorizer: %+v", resp)
	}

	st := newFakeACLStore()
	s.authz = storeAuthorizer(t, st)
	// ANONYMOUS has no ALTER on the cluster.
	if resp := dispatchRequest(t, s, cr).(*kmsg.CreateACLsResponse); resp.Results[0].ErrorCode != errClusterAuthorizationFailed {
		t.Fatalf("not authorized: %+v", resp)
	}
	if resp := dispatchRequest(t, s, describeAll()).(*kmsg.DescribeACLsResponse); resp.ErrorCode != errClusterAuthorizationFailed {
		t.Fatalf("not authorized: %d", resp.ErrorCode)
	}
	s.authz.superUsers[Anonymous] = true

	cr = kmsg.NewPtrCreateACLsRequest()
	cr.Version = 3
	cr.Creations = append(cr.Creations, creation(2, "t"), creation(4, "other-cluster"), creation(3, ""), creation(2, "a/b"))
	resp := dispatchRequest(t, s, cr).(*kmsg.CreateACLsResponse)
	want := []int16{0, errInvalidRequest, errInvalidRequest, errInvalidRequest}
	for i, r := range resp.Results {
		if r.ErrorCode != want[i] {
			t.Errorf("creation %d: %d, want %d", i, r.ErrorCode, want[i])
		}
	}
	d := dispatchRequest(t, s, describeAll()).(*kmsg.DescribeACLsResponse)
	if d.ErrorCode != 0 || len(d.Resources) != 1 || d.Resources[0].ResourceName != "t" || len(d.Resources[0].ACLs) != 1 {
		t.Fatalf("describe: %+v", d)
	}

	bad := describeAll()
	bad.Operation = 0 // UNKNOWN
	if _, err := dispatchRequestErr(t, s, bad); err == nil {
		t.Error("UNKNOWN operation in DescribeAcls: no error (Kafka fails to parse it and closes)")
	}
	bad = describeAll()
	bad.ResourceType = 42
	if _, err := dispatchRequestErr(t, s, bad); err == nil {
		t.Error("unknown resource type code: no error")
	}

	del := kmsg.NewPtrDeleteACLsRequest()
	del.Version = 3
	f := kmsg.NewDeleteACLsRequestFilter()
	f.ResourceType, f.ResourcePatternType, f.Operation, f.PermissionType = 1, 2, 1, 1
	f.ResourceName = kmsg.StringPtr("t")
	del.Filters = append(del.Filters, f)
	dr := dispatchRequest(t, s, del).(*kmsg.DeleteACLsResponse)
	if len(dr.Results) != 1 || len(dr.Results[0].MatchingACLs) != 1 || dr.Results[0].MatchingACLs[0].Principal != "User:alice" {
		t.Fatalf("delete: %+v", dr)
	}
	if len(st.nodes) != 0 {
		t.Fatalf("znodes left: %+v", st.nodes)
	}
}

// TestACLGateOrder: DescribeGroups answers the refused groups first
// (KafkaApis.handleDescribeGroupsRequest), with the principal's
// authorized operations for the others when asked.
func TestACLGateOrder(t *testing.T) {
	s := newGroupTestServer(t, nil, nil)
	st := newFakeACLStore()
	s.authz = storeAuthorizer(t, st)
	s.authz.updateCache(lit(resGroup, "a"), versionedACLs{acls: []aclEntry{{principal: Anonymous.String(), host: "*", op: opRead, perm: permAllow}}})
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version, req.Groups, req.IncludeAuthorizedOperations = 5, []string{"a", "b"}, true
	resp := dispatchRequest(t, s, req).(*kmsg.DescribeGroupsResponse)
	if len(resp.Groups) != 2 || resp.Groups[0].Group != "b" || resp.Groups[0].ErrorCode != errGroupAuthFailed ||
		resp.Groups[1].Group != "a" || resp.Groups[1].ErrorCode != 0 {
		t.Fatalf("%+v", resp.Groups)
	}
	// READ implies DESCRIBE: READ(3) and DESCRIBE(8) of the group's READ, DESCRIBE, DELETE.
	if got := resp.Groups[1].AuthorizedOperations; got != 1<<3|1<<8 {
		t.Errorf("authorized operations %b", got)
	}
}

// TestMetadataAuthorized is KafkaApis.handleTopicMetadataRequest's
// authorization: all topics leave out the undescribable ones; asked by
// name they answer TOPIC_AUTHORIZATION_FAILED after the others (no id);
// a missing topic to be auto-created needs CREATE; authorized operations
// are the principal's.
func TestMetadataAuthorized(t *testing.T) {
	part := testPartitionState{leader: 1, leaderEpoch: 0, isr: []int32{1}, replicas: []int32{1}}
	s := newTestServer(t, withTopic("seen", [16]byte{1}, nil, part), withTopic("hidden", [16]byte{2}, nil, part))
	s.cfg.AutoCreateTopics = true
	s.authz = storeAuthorizer(t, newFakeACLStore())
	me := Anonymous.String()
	s.authz.updateCache(lit(resTopic, "seen"), versionedACLs{acls: []aclEntry{{principal: me, host: "*", op: opRead, perm: permAllow}}})
	s.authz.updateCache(lit(resTopic, "new"), versionedACLs{acls: []aclEntry{{principal: me, host: "*", op: opDescribe, perm: permAllow}}})

	all := kmsg.NewPtrMetadataRequest()
	all.Version, all.IncludeTopicAuthorizedOperations = 12, true
	resp := dispatchRequest(t, s, all).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || *resp.Topics[0].Topic != "seen" || resp.Topics[0].AuthorizedOperations != 1<<3|1<<8 {
		t.Fatalf("all topics: %+v", resp.Topics)
	}

	byName := kmsg.NewPtrMetadataRequest()
	byName.Version, byName.AllowAutoTopicCreation = 12, true
	for _, n := range []string{"hidden", "seen", "new"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		byName.Topics = append(byName.Topics, rt)
	}
	resp = dispatchRequest(t, s, byName).(*kmsg.MetadataResponse)
	var got []string
	for _, tp := range resp.Topics {
		got = append(got, fmt.Sprintf("%s:%d:%v", *tp.Topic, tp.ErrorCode, tp.TopicID != [16]byte{}))
	}
	// seen answered; new refused for CREATE, then hidden for DESCRIBE.
	if want := "[seen:0:true new:29:false hidden:29:false]"; fmt.Sprint(got) != want {
		t.Fatalf("by name: %v, want %s", got, want)
	}
}
