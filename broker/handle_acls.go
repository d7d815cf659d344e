// DescribeAcls, CreateAcls, DeleteAcls: versions 0-3 served, as Kafka 3.9
// advertises. v1 adds the resource pattern type (KIP-290, prefixed ACLs;
// a v0 request names literal patterns only), v2 flexible versions
// (KIP-482), v3 the USER resource type (KIP-373's ACL resource for
// delegation tokens of other users; accepted and stored, no API uses it
// here). Behaviour and Kafka's rules are in the comment below; the
// decisions themselves live in authorizer.go, the znodes in zkmeta/acl.go.
// Deviation: none known (TestACLAcceptanceTableKafka39 compares the
// answers with Kafka 3.9's).

package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The ACL APIs, as Kafka 3.9's AclApis with AclAuthorizer behind them.
// DescribeAcls needs DESCRIBE on the cluster, CreateAcls and DeleteAcls
// ALTER (AuthHelper.authorizeClusterOperation: the whole request fails
// with CLUSTER_AUTHORIZATION_FAILED). Without an authorizer they answer
// SECURITY_DISABLED. A request with an UNKNOWN (or unknown-coded) type,
// pattern, operation or permission, or a v0 request of a non-literal
// pattern, fails to parse in Kafka (DescribeAclsRequest.validate and its
// siblings) and the connection is closed: an error here does the same.

const (
	errSecurityDisabled           int16 = 54
	errClusterAuthorizationFailed int16 = 31
	errInvalidRequest             int16 = 42
	errUnknownServerError         int16 = -1
)

var (
	msgNoAuthorizerDescribe = "No Authorizer is configured on the broker"
	msgNoAuthorizer         = "No Authorizer is configured."
)

// aclFilterFrom reads a filter of DescribeAcls / DeleteAcls, refusing
// what Kafka's request parsing refuses.
func aclFilterFrom(version int16, typ kmsg.ACLResourceType, name *string, pat kmsg.ACLResourcePatternType,
	principal, host *string, op kmsg.ACLOperation, perm kmsg.ACLPermissionType) (aclFilter, error) {
	f := aclFilter{typ: aclResourceType(typ), name: name, pattern: aclPatternType(pat),
		principal: principal, host: host, op: aclOperation(op), perm: aclPermission(perm)}
	if version == 0 {
		f.pattern = patLiteral // the field is v1+; LITERAL is its meaning before
	}
	if !known(resourceTypeNames, f.typ) || !known(patternNames, f.pattern) || !known(operationNames, f.op) || !known(permissionNames, f.perm) ||
		f.typ == resUnknown || f.pattern == patUnknown || f.op == opUnknown || f.perm == permUnknown {
		return f, fmt.Errorf("ACL filter contains UNKNOWN elements")
	}
	return f, nil
}

func (s *Server) handleDescribeACLs(ctx context.Context, req *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	f, err := aclFilterFrom(req.Version, req.ResourceType, req.ResourceName, req.ResourcePatternType, req.Principal, req.Host, req.Operation, req.PermissionType)
	if err != nil {
		return nil, fmt.Errorf("DescribeAcls: %w", err)
	}
	resp := req.ResponseKind().(*kmsg.DescribeACLsResponse)
	if !s.authorizeCluster(ctx, opDescribe) {
		resp.ErrorCode, resp.ErrorMessage = errClusterAuthorizationFailed, clusterNotAuthorized(ctx, false)
		return resp, nil
	}
	if s.authz == nil {
		resp.ErrorCode, resp.ErrorMessage = errSecurityDisabled, &msgNoAuthorizerDescribe
		return resp, nil
	}
	// DescribeAclsResponse.aclsResources: the bindings grouped by pattern.
	index := map[resourcePattern]int{}
	for _, b := range s.authz.acls(f) {
		i, ok := index[b.resourcePattern]
		if !ok {
			i = len(resp.Resources)
			index[b.resourcePattern] = i
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName, r.ResourcePatternType = kmsg.ACLResourceType(b.typ), b.name, kmsg.ACLResourcePatternType(b.pattern)
			resp.Resources = append(resp.Resources, r)
		}
		a := kmsg.NewDescribeACLsResponseResourceACL()
		a.Principal, a.Host, a.Operation, a.PermissionType = b.principal, b.host, kmsg.ACLOperation(b.op), kmsg.ACLPermissionType(b.perm)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, a)
	}
	return resp, nil
}

func (s *Server) handleCreateACLs(ctx context.Context, req *kmsg.CreateACLsRequest) (kmsg.Response, error) {
	bindings := make([]aclBinding, len(req.Creations))
	for i, c := range req.Creations {
		b := aclBinding{
			resourcePattern: resourcePattern{typ: aclResourceType(c.ResourceType), name: c.ResourceName, pattern: aclPatternType(c.ResourcePatternType)},
			aclEntry:        aclEntry{principal: c.Principal, host: c.Host, op: aclOperation(c.Operation), perm: aclPermission(c.PermissionType)},
		}
		if req.Version == 0 {
			b.pattern = patLiteral
		}
		// CreateAclsRequest.validate: UNKNOWN elements fail the parse.
		if !known(resourceTypeNames, b.typ) || !known(patternNames, b.pattern) || !known(operationNames, b.op) || !known(permissionNames, b.perm) ||
			b.typ == resUnknown || b.pattern == patUnknown || b.op == opUnknown || b.perm == permUnknown {
			return nil, fmt.Errorf("CreateAcls: creations contain unknown elements")
		}
		bindings[i] = b
	}
	resp := req.ResponseKind().(*kmsg.CreateACLsResponse)
	fail := func(code int16, msg *string) (kmsg.Response, error) {
		for range req.Creations {
			r := kmsg.NewCreateACLsResponseResult()
			r.ErrorCode, r.ErrorMessage = code, msg
			resp.Results = append(resp.Results, r)
		}
		return resp, nil
	}
	if !s.authorizeCluster(ctx, opAlter) {
		return fail(errClusterAuthorizationFailed, clusterNotAuthorized(ctx, true))
	}
	if s.authz == nil {
		return fail(errSecurityDisabled, &msgNoAuthorizer)
	}
	// CreateAclsRequest.aclBinding: ResourcePattern and AccessControlEntry
	// refuse ANY / MATCH; the handler's exception fails every result.
	for _, b := range bindings {
		if b.typ == resAny || b.pattern == patAny || b.pattern == patMatch || b.op == opAny || b.perm == permAny {
			return fail(errUnknownServerError, nil)
		}
	}
	results := make([]aclResult, len(bindings))
	var valid []aclBinding
	var validIdx []int
	for i, b := range bindings {
		// AclApis.handleCreateAcls: the cluster's one name, no empty names.
		switch {
		case b.typ == resCluster && b.name != clusterResourceName:
			m := "The only valid name for the CLUSTER resource is " + clusterResourceName
			results[i] = aclResult{code: errInvalidRequest, msg: &m}
		case b.name == "":
			m := "Invalid empty resource name"
			results[i] = aclResult{code: errInvalidRequest, msg: &m}
		default:
			valid = append(valid, b)
			validIdx = append(validIdx, i)
		}
	}
	for j, r := range s.authz.createACLs(valid) {
		results[validIdx[j]] = r
	}
	for _, r := range results {
		x := kmsg.NewCreateACLsResponseResult()
		x.ErrorCode, x.ErrorMessage = r.code, r.msg
		resp.Results = append(resp.Results, x)
	}
	return resp, nil
}

func (s *Server) handleDeleteACLs(ctx context.Context, req *kmsg.DeleteACLsRequest) (kmsg.Response, error) {
	filters := make([]aclFilter, len(req.Filters))
	for i, f := range req.Filters {
		af, err := aclFilterFrom(req.Version, f.ResourceType, f.ResourceName, f.ResourcePatternType, f.Principal, f.Host, f.Operation, f.PermissionType)
		if err != nil {
			return nil, fmt.Errorf("DeleteAcls: %w", err)
		}
		filters[i] = af
	}
	resp := req.ResponseKind().(*kmsg.DeleteACLsResponse)
	fail := func(code int16, msg *string) (kmsg.Response, error) {
		for range req.Filters {
			r := kmsg.NewDeleteACLsResponseResult()
			r.ErrorCode, r.ErrorMessage = code, msg
			resp.Results = append(resp.Results, r)
		}
		return resp, nil
	}
	if !s.authorizeCluster(ctx, opAlter) {
		return fail(errClusterAuthorizationFailed, clusterNotAuthorized(ctx, true))
	}
	if s.authz == nil {
		return fail(errSecurityDisabled, &msgNoAuthorizer)
	}
	for _, matches := range s.authz.deleteACLs(filters) {
		r := kmsg.NewDeleteACLsResponseResult()
		for _, m := range matches {
			x := kmsg.NewDeleteACLsResponseResultMatchingACL()
			x.ErrorCode, x.ErrorMessage = m.result.code, m.result.msg
			x.ResourceType, x.ResourceName, x.ResourcePatternType = kmsg.ACLResourceType(m.binding.typ), m.binding.name, kmsg.ACLResourcePatternType(m.binding.pattern)
			x.Principal, x.Host = m.binding.principal, m.binding.host
			x.Operation, x.PermissionType = kmsg.ACLOperation(m.binding.op), kmsg.ACLPermissionType(m.binding.perm)
			r.MatchingACLs = append(r.MatchingACLs, x)
		}
		resp.Results = append(resp.Results, r)
	}
	return resp, nil
}

// dispatchACLs runs one of the three ACL handlers; an error closes the
// connection (a request Kafka fails to parse).
func (s *Server) dispatchACLs(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.DescribeACLsRequest:
		return s.handleDescribeACLs(ctx, r)
	case *kmsg.CreateACLsRequest:
		return s.handleCreateACLs(ctx, r)
	case *kmsg.DeleteACLsRequest:
		return s.handleDeleteACLs(ctx, r)
	}
	return nil, fmt.Errorf("not an ACL request: %T", req)
}
