package zkmeta

import (
	"reflect"
	"testing"
)

func TestACLCodecs(t *testing.T) {
	for _, c := range []struct {
		name    string
		seq     int64
		wantSeq bool
	}{
		{"acl_changes_0000000000", 0, true},
		{"acl_changes_0000000008", 8, true}, // not octal
		{"acl_changes_0000000010", 10, true},
		{"config_change_0000000001", 0, false},
		{"acl_changes_x", 0, false},
	} {
		n, ok := ACLChangeSeq(c.name)
		if ok != c.wantSeq || n != c.seq {
			t.Errorf("ACLChangeSeq(%s) = %d %v", c.name, n, ok)
		}
	}
	// AclEntry.toJsonCompatibleMap through Jackson: HashMap orders.
	entries := []ACLEntry{{Principal: "User:a", PermissionType: "Allow", Operation: "Read", Host: "*"}}
	if got, want := string(EncodeACLs(entries)), `{"acls":[{"principal":"User:a","permissionType":"Allow","host":"*","operation":"Read"}],"version":1}`; got != want {
		t.Errorf("EncodeACLs = %s, want %s", got, want)
	}
	back, err := DecodeACLs(EncodeACLs(entries))
	if err != nil || !reflect.DeepEqual(back, entries) {
		t.Errorf("DecodeACLs = %v %v", back, err)
	}
	for _, bad := range []string{`{"version":2,"acls":[]}`, `{"acls":[{"principal":"User:a"}],"version":1}`, `not json`} {
		if _, err := DecodeACLs([]byte(bad)); err == nil {
			t.Errorf("DecodeACLs(%s): no error", bad)
		}
	}
	if acls, err := DecodeACLs(nil); err != nil || acls != nil {
		t.Errorf("DecodeACLs(empty) = %v %v", acls, err)
	}
	for _, c := range []struct {
		r    ACLResource
		path string
		note string
	}{
		{ACLResource{"Topic", "orders", "LITERAL"}, "/kafka-acl/Topic/orders", "TOPIC:orders"},
		{ACLResource{"TransactionalId", "tx", "LITERAL"}, "/kafka-acl/TransactionalId/tx", "TRANSACTIONAL_ID:tx"},
		{ACLResource{"Topic", "pay", "PREFIXED"}, "/kafka-acl-extended/prefixed/Topic/pay",
			`{"version":1,"resourceType":"TOPIC","name":"pay","patternType":"PREFIXED"}`},
	} {
		if p := ACLResourcePath(c.r); p != c.path {
			t.Errorf("path %s, want %s", p, c.path)
		}
		if n := string(EncodeACLChange(c.r)); n != c.note {
			t.Errorf("notice %s, want %s", n, c.note)
		}
		back, err := DecodeACLChange(c.r.PatternType == "LITERAL", EncodeACLChange(c.r))
		if err != nil || back.Name != c.r.Name || back.PatternType != c.r.PatternType {
			t.Errorf("DecodeACLChange(%s) = %v %v", c.note, back, err)
		}
	}
}
