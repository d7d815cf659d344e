package broker

import (
	"io"
	"log/slog"
	"testing"
)

func testAuthorizer(t *testing.T, props map[string]string, acls map[resourcePattern][]aclEntry) *aclAuthorizer {
	t.Helper()
	if props == nil {
		props = map[string]string{}
	}
	props[authorizerClassKey] = aclAuthorizerClass
	a, err := newACLAuthorizer(props, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for p, e := range acls {
		a.updateCache(p, versionedACLs{acls: e})
	}
	return a
}

func lit(t aclResourceType, n string) resourcePattern {
	return resourcePattern{typ: t, name: n, pattern: patLiteral}
}
func pre(t aclResourceType, n string) resourcePattern {
	return resourcePattern{typ: t, name: n, pattern: patPrefixed}
}
func allow(p string, op aclOperation) aclEntry {
	return aclEntry{principal: p, host: "*", op: op, perm: permAllow}
}
func deny(p string, op aclOperation) aclEntry {
	return aclEntry{principal: p, host: "*", op: op, perm: permDeny}
}

// TestAuthorizeDecision is AclAuthorizer.authorizeAction case by case.
func TestAuthorizeDecision(t *testing.T) {
	alice := Principal{Type: "User", Name: "alice"}
	bob := Principal{Type: "User", Name: "bob"}
	cases := []struct {
		name  string
		props map[string]string
		acls  map[resourcePattern][]aclEntry
		who   Principal
		host  string
		op    aclOperation
		typ   aclResourceType
		res   string
		want  bool
	}{
		{name: "no acls denies", who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "no acls, allow everyone", props: map[string]string{allowEveryoneIfNoACLKey: "true"}, who: alice, op: opRead, typ: resTopic, res: "t", want: true},
		{name: "allow everyone is only for no acls", props: map[string]string{allowEveryoneIfNoACLKey: "true"},
			acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:bob", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "super user", props: map[string]string{superUsersKey: "User:bob; User:alice"}, who: alice, op: opAlter, typ: resCluster, res: clusterResourceName, want: true},
		{name: "super user beats deny", props: map[string]string{superUsersKey: "User:alice"},
			acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {deny("User:alice", opAll)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: true},
		{name: "literal allow", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: true},
		{name: "literal allow other principal", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, who: bob, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "literal allow other topic", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "u", want: false},
		{name: "other op", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, who: alice, op: opWrite, typ: resTopic, res: "t", want: false},
		{name: "deny wins", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead), deny("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "wildcard deny wins over literal allow", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}, lit(resTopic, "*"): {deny("User:*", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "wildcard resource allow", acls: map[resourcePattern][]aclEntry{lit(resTopic, "*"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "anything", want: true},
		{name: "wildcard principal", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:*", opRead)}}, who: bob, op: opRead, typ: resTopic, res: "t", want: true},
		{name: "prefixed allow", acls: map[resourcePattern][]aclEntry{pre(resTopic, "pay"): {allow("User:alice", opWrite)}}, who: alice, op: opWrite, typ: resTopic, res: "payments", want: true},
		{name: "prefixed not a prefix", acls: map[resourcePattern][]aclEntry{pre(resTopic, "pay"): {allow("User:alice", opWrite)}}, who: alice, op: opWrite, typ: resTopic, res: "pa", want: false},
		{name: "prefixed deny beats literal allow", acls: map[resourcePattern][]aclEntry{pre(resTopic, "p"): {deny("User:alice", opWrite)}, lit(resTopic, "pay"): {allow("User:alice", opWrite)}}, who: alice, op: opWrite, typ: resTopic, res: "pay", want: false},
		{name: "literal star name is not prefixed", acls: map[resourcePattern][]aclEntry{pre(resTopic, "*"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "all implies read", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opAll)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: true},
		{name: "deny all", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead), deny("User:alice", opAll)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "read implies describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: true},
		{name: "write implies describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opWrite)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: true},
		{name: "delete implies describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opDelete)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: true},
		{name: "alter implies describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opAlter)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: true},
		{name: "create does not imply describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opCreate)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: false},
		{name: "describe does not imply read", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opDescribe)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "deny read does not deny describe", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opWrite), deny("User:alice", opRead)}}, who: alice, op: opDescribe, typ: resTopic, res: "t", want: true},
		{name: "alter configs implies describe configs", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opAlterConfigs)}}, who: alice, op: opDescribeConfigs, typ: resTopic, res: "t", want: true},
		{name: "describe configs does not imply alter", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opDescribeConfigs)}}, who: alice, op: opAlterConfigs, typ: resTopic, res: "t", want: false},
		{name: "host match", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {{principal: "User:alice", host: "10.0.0.1", op: opRead, perm: permAllow}}}, who: alice, host: "10.0.0.1", op: opRead, typ: resTopic, res: "t", want: true},
		{name: "host mismatch", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {{principal: "User:alice", host: "10.0.0.1", op: opRead, perm: permAllow}}}, who: alice, host: "10.0.0.2", op: opRead, typ: resTopic, res: "t", want: false},
		{name: "deny from one host", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead), {principal: "User:alice", host: "10.0.0.2", op: opRead, perm: permDeny}}}, who: alice, host: "10.0.0.2", op: opRead, typ: resTopic, res: "t", want: false},
		{name: "group resource", acls: map[resourcePattern][]aclEntry{lit(resGroup, "g"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resGroup, res: "g", want: true},
		{name: "type must match", acls: map[resourcePattern][]aclEntry{lit(resGroup, "t"): {allow("User:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
		{name: "cluster", acls: map[resourcePattern][]aclEntry{lit(resCluster, clusterResourceName): {allow("User:alice", opClusterAction)}}, who: alice, op: opClusterAction, typ: resCluster, res: clusterResourceName, want: true},
		{name: "transactional id prefixed", acls: map[resourcePattern][]aclEntry{pre(resTransactionalID, "tx-"): {allow("User:alice", opWrite)}}, who: alice, op: opWrite, typ: resTransactionalID, res: "tx-1", want: true},
		{name: "principal type is case sensitive", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("user:alice", opRead)}}, who: alice, op: opRead, typ: resTopic, res: "t", want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAuthorizer(t, c.props, c.acls)
			host := c.host
			if host == "" {
				host = "127.0.0.1"
			}
			if got := a.authorize(c.who, host, c.op, c.typ, c.res); got != c.want {
				t.Fatalf("authorize(%v, %s, %v %v:%s) = %v, want %v", c.who, host, c.op, c.typ, c.res, got, c.want)
			}
		})
	}
}

// TestAuthorizeByResourceType is AclAuthorizer.authorizeByResourceType.
func TestAuthorizeByResourceType(t *testing.T) {
	alice := Principal{Type: "User", Name: "alice"}
	cases := []struct {
		name  string
		props map[string]string
		acls  map[resourcePattern][]aclEntry
		want  bool
	}{
		{name: "nothing", want: false},
		{name: "allow everyone", props: map[string]string{allowEveryoneIfNoACLKey: "true"}, want: true},
		{name: "a literal allow", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opWrite)}}, want: true},
		{name: "a prefixed allow", acls: map[resourcePattern][]aclEntry{pre(resTopic, "t"): {allow("User:*", opAll)}}, want: true},
		{name: "wildcard deny", props: map[string]string{allowEveryoneIfNoACLKey: "true"}, acls: map[resourcePattern][]aclEntry{lit(resTopic, "*"): {deny("User:alice", opWrite)}}, want: false},
		{name: "allow dominated by the same literal deny", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opWrite), deny("User:alice", opWrite)}}, want: false},
		{name: "allow dominated by a prefixed deny", acls: map[resourcePattern][]aclEntry{lit(resTopic, "tx"): {allow("User:alice", opWrite)}, pre(resTopic, "t"): {deny("User:alice", opWrite)}}, want: false},
		{name: "one allow not dominated", acls: map[resourcePattern][]aclEntry{lit(resTopic, "tx"): {allow("User:alice", opWrite)}, lit(resTopic, "u"): {allow("User:alice", opWrite)}, pre(resTopic, "t"): {deny("User:alice", opWrite)}}, want: true},
		{name: "other op", acls: map[resourcePattern][]aclEntry{lit(resTopic, "t"): {allow("User:alice", opRead)}}, want: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := testAuthorizer(t, c.props, c.acls)
			if got := a.authorizeByResourceType(alice, "127.0.0.1", opWrite, resTopic); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestNewACLAuthorizerConfig(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		props   map[string]string
		on      bool
		wantErr string
	}{
		{props: map[string]string{}, on: false},
		{props: map[string]string{authorizerClassKey: aclAuthorizerClass}, on: true},
		{props: map[string]string{authorizerClassKey: "kafka.security.auth.SimpleAclAuthorizer"}, wantErr: authorizerClassKey},
		{props: map[string]string{authorizerClassKey: "org.apache.kafka.metadata.authorizer.StandardAuthorizer"}, wantErr: authorizerClassKey},
		{props: map[string]string{authorizerClassKey: aclAuthorizerClass, superUsersKey: "alice"}, wantErr: superUsersKey},
		{props: map[string]string{authorizerClassKey: aclAuthorizerClass, allowEveryoneIfNoACLKey: "yes"}, wantErr: allowEveryoneIfNoACLKey},
		{props: map[string]string{authorizerClassKey: aclAuthorizerClass, allowEveryoneIfNoACLKey: " TRUE "}, on: true},
	} {
		a, err := newACLAuthorizer(c.props, nil, log)
		if c.wantErr != "" {
			if err == nil || !containsStr(err.Error(), c.wantErr) {
				t.Errorf("%v: err %v, want one naming %s", c.props, err, c.wantErr)
			}
			continue
		}
		if err != nil || (a != nil) != c.on {
			t.Errorf("%v: %v %v", c.props, a, err)
		}
	}
}

func containsStr(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestJavaHostAddress(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9092":        "127.0.0.1",
		"[::1]:9092":            "0:0:0:0:0:0:0:1",
		"[fe80::1:abcd]:1":      "fe80:0:0:0:0:0:1:abcd",
		"[::ffff:10.0.0.1]:123": "10.0.0.1",
	} {
		if got := javaHostAddress(in); got != want {
			t.Errorf("javaHostAddress(%s) = %s, want %s", in, got, want)
		}
	}
}
