package broker

import (
	"strings"
)

// Kafka's ACL enums with their wire codes (org.apache.kafka.common.acl and
// .resource): ResourceType, AclOperation, AclPermissionType, PatternType.
type (
	aclResourceType int8
	aclOperation    int8
	aclPermission   int8
	aclPatternType  int8
)

const (
	resUnknown         aclResourceType = 0
	resAny             aclResourceType = 1
	resTopic           aclResourceType = 2
	resGroup           aclResourceType = 3
	resCluster         aclResourceType = 4
	resTransactionalID aclResourceType = 5
	resDelegationToken aclResourceType = 6
	resUser            aclResourceType = 7
)

const (
	opUnknown         aclOperation = 0
	opAny             aclOperation = 1
	opAll             aclOperation = 2
	opRead            aclOperation = 3
	opWrite           aclOperation = 4
	opCreate          aclOperation = 5
	opDelete          aclOperation = 6
	opAlter           aclOperation = 7
	opDescribe        aclOperation = 8
	opClusterAction   aclOperation = 9
	opDescribeConfigs aclOperation = 10
	opAlterConfigs    aclOperation = 11
	opIdempotentWrite aclOperation = 12
	opCreateTokens    aclOperation = 13
	opDescribeTokens  aclOperation = 14
)

const (
	permUnknown aclPermission = 0
	permAny     aclPermission = 1
	permDeny    aclPermission = 2
	permAllow   aclPermission = 3
)

const (
	patUnknown  aclPatternType = 0
	patAny      aclPatternType = 1
	patMatch    aclPatternType = 2
	patLiteral  aclPatternType = 3
	patPrefixed aclPatternType = 4
)

// clusterResourceName is the one name of the CLUSTER resource
// (Resource.CLUSTER_NAME); wildcardResource the literal "*" name that
// matches every resource of its type (ResourcePattern.WILDCARD_RESOURCE).
const (
	clusterResourceName = "kafka-cluster"
	wildcardResource    = "*"
	wildcardHost        = "*"
)

// wildcardPrincipal is AclEntry.WILDCARD_PRINCIPAL, "User:*".
var wildcardPrincipal = Principal{Type: "User", Name: "*"}

// Pascal-case names as SecurityUtils writes them in znodes
// (resourceTypeName, operationName, permissionTypeName); the enum names
// (upper snake case) as their toString.
var (
	resourceTypeNames = map[aclResourceType]string{resUnknown: "Unknown", resAny: "Any", resTopic: "Topic", resGroup: "Group",
		resCluster: "Cluster", resTransactionalID: "TransactionalId", resDelegationToken: "DelegationToken", resUser: "User"}
	operationNames = map[aclOperation]string{opUnknown: "Unknown", opAny: "Any", opAll: "All", opRead: "Read", opWrite: "Write",
		opCreate: "Create", opDelete: "Delete", opAlter: "Alter", opDescribe: "Describe", opClusterAction: "ClusterAction",
		opDescribeConfigs: "DescribeConfigs", opAlterConfigs: "AlterConfigs", opIdempotentWrite: "IdempotentWrite",
		opCreateTokens: "CreateTokens", opDescribeTokens: "DescribeTokens"}
	permissionNames = map[aclPermission]string{permUnknown: "Unknown", permAny: "Any", permDeny: "Deny", permAllow: "Allow"}
	patternNames    = map[aclPatternType]string{patUnknown: "UNKNOWN", patAny: "ANY", patMatch: "MATCH", patLiteral: "LITERAL", patPrefixed: "PREFIXED"}
)

func (r aclResourceType) String() string { return nameOr(resourceTypeNames, r) }
func (o aclOperation) String() string    { return nameOr(operationNames, o) }
func (p aclPermission) String() string   { return nameOr(permissionNames, p) }
func (p aclPatternType) String() string  { return nameOr(patternNames, p) }

func nameOr[K comparable](m map[K]string, k K) string {
	if n, ok := m[k]; ok {
		return n
	}
	return m[*new(K)]
}

// valueFromName is SecurityUtils.valueFromMap: the Pascal-case name, or
// its upper-case form; anything else is the unknown value (code 0).
func valueFromName[K comparable](m map[K]string, name string) K {
	for k, n := range m {
		if n == name || strings.ToUpper(n) == name {
			return k
		}
	}
	return *new(K)
}

// known reports whether a code names a value of the enum (fromCode gives
// UNKNOWN for any other).
func known[K comparable](m map[K]string, k K) bool { _, ok := m[k]; return ok }

// resourcePattern is Kafka's ResourcePattern.
type resourcePattern struct {
	typ     aclResourceType
	name    string
	pattern aclPatternType
}

// aclEntry is Kafka's AccessControlEntry; principal as written ("User:a").
type aclEntry struct {
	principal string
	host      string
	op        aclOperation
	perm      aclPermission
}

// aclBinding is an entry on a resource pattern.
type aclBinding struct {
	resourcePattern
	aclEntry
}

// aclFilter is AclBindingFilter: "" names and principals/hosts given as
// nil match anything; ANY codes match every value; MATCH patterns match
// as ResourcePatternFilter.matches does.
type aclFilter struct {
	typ       aclResourceType
	name      *string
	pattern   aclPatternType
	principal *string
	host      *string
	op        aclOperation
	perm      aclPermission
}

// matchesPattern is ResourcePatternFilter.matches.
func (f aclFilter) matchesPattern(p resourcePattern) bool {
	if f.typ != resAny && f.typ != p.typ {
		return false
	}
	if f.pattern != patAny && f.pattern != patMatch && f.pattern != p.pattern {
		return false
	}
	if f.name == nil {
		return true
	}
	if f.pattern == patAny || f.pattern == p.pattern {
		return *f.name == p.name
	}
	switch p.pattern {
	case patLiteral:
		return *f.name == p.name || p.name == wildcardResource
	case patPrefixed:
		return strings.HasPrefix(*f.name, p.name)
	}
	return false
}

// matchesEntry is AccessControlEntryFilter.matches.
func (f aclFilter) matchesEntry(e aclEntry) bool {
	if f.principal != nil && *f.principal != e.principal {
		return false
	}
	if f.host != nil && *f.host != e.host {
		return false
	}
	if f.op != opAny && f.op != e.op {
		return false
	}
	return f.perm == permAny || f.perm == e.perm
}

// matchesAtMostOne is ResourcePatternFilter.matchesAtMostOne (the
// pattern part; DeleteAcls looks such a resource up in ZooKeeper too).
func (f aclFilter) patternMatchesAtMostOne() bool {
	return f.typ != resAny && f.typ != resUnknown && f.name != nil && f.pattern != patMatch && f.pattern != patUnknown
}

// supportedOperations is AclEntry.supportedOperations, in the order the
// authorized-operations bit field is built from (order does not matter
// for a bit field).
func supportedOperations(t aclResourceType) []aclOperation {
	switch t {
	case resTopic:
		return []aclOperation{opRead, opWrite, opCreate, opDescribe, opDelete, opAlter, opDescribeConfigs, opAlterConfigs}
	case resGroup:
		return []aclOperation{opRead, opDescribe, opDelete}
	case resCluster:
		return []aclOperation{opCreate, opClusterAction, opDescribeConfigs, opAlterConfigs, opIdempotentWrite, opAlter, opDescribe}
	case resTransactionalID:
		return []aclOperation{opDescribe, opWrite}
	case resDelegationToken:
		return []aclOperation{opDescribe}
	case resUser:
		return []aclOperation{opCreateTokens, opDescribeTokens}
	}
	return nil
}

// parsePrincipal is SecurityUtils.parseKafkaPrincipal: "Type:name", split
// at the first colon; false for an empty string or one without a colon.
func parsePrincipal(s string) (Principal, bool) {
	typ, name, ok := strings.Cut(s, ":")
	if !ok || s == "" {
		return Principal{}, false
	}
	return Principal{Type: typ, Name: name}, true
}
