package broker

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// fakeACLStore is ZooKeeper's ACL znodes in memory, with versions, and a
// hook to change a znode behind the authorizer's back (another broker).
type fakeACLStore struct {
	mu       sync.Mutex
	nodes    map[zkmeta.ACLResource]fakeNode
	notices  []zkmeta.ACLResource
	beforeOp func(s *fakeACLStore) // runs before each conditional write
}

type fakeNode struct {
	acls    []zkmeta.ACLEntry
	version int32
}

func newFakeACLStore() *fakeACLStore { return &fakeACLStore{nodes: map[zkmeta.ACLResource]fakeNode{}} }

func (s *fakeACLStore) CreateACLPaths() error { return nil }
func (s *fakeACLStore) ResourceACLs(r zkmeta.ACLResource) ([]zkmeta.ACLEntry, int32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[r]
	if !ok {
		return nil, -1, nil
	}
	return slices.Clone(n.acls), n.version, nil
}
func (s *fakeACLStore) hook() {
	if s.beforeOp != nil {
		f := s.beforeOp
		s.beforeOp = nil
		f(s)
	}
}
func (s *fakeACLStore) SetResourceACLs(r zkmeta.ACLResource, acls []zkmeta.ACLEntry, version int32) (bool, int32, error) {
	s.hook()
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[r]
	if version < 0 {
		if ok {
			return false, -1, nil
		}
		s.nodes[r] = fakeNode{acls: acls}
		return true, 0, nil
	}
	if !ok || n.version != version {
		return false, -1, nil
	}
	s.nodes[r] = fakeNode{acls: acls, version: version + 1}
	return true, version + 1, nil
}
func (s *fakeACLStore) DeleteResourceACLs(r zkmeta.ACLResource, version int32) (bool, error) {
	s.hook()
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.nodes[r]
	if !ok {
		return true, nil
	}
	if version >= 0 && n.version != version {
		return false, nil
	}
	delete(s.nodes, r)
	return true, nil
}
func (s *fakeACLStore) ACLResourceTypeNames(pt string) ([]string, error) {
	return zkmeta.ACLResourceTypes, nil
}
func (s *fakeACLStore) ACLResourceNames(pt, rt string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for r := range s.nodes {
		if r.PatternType == pt && r.Type == rt {
			out = append(out, r.Name)
		}
	}
	return out, nil
}
func (s *fakeACLStore) CreateACLChange(r zkmeta.ACLResource) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notices = append(s.notices, r)
	return nil
}
func (s *fakeACLStore) WatchACLChanges(bool) ([]string, <-chan zkmeta.Event, error) {
	return nil, nil, errors.New("not watched")
}
func (s *fakeACLStore) ACLChange(bool, string) (zkmeta.ACLResource, time.Time, error) {
	return zkmeta.ACLResource{}, time.Time{}, zkmeta.ErrNoNode
}
func (s *fakeACLStore) PurgeACLChanges(bool, []string, time.Time) error { return nil }

func storeAuthorizer(t *testing.T, st *fakeACLStore) *aclAuthorizer {
	t.Helper()
	a, err := newACLAuthorizer(map[string]string{authorizerClassKey: aclAuthorizerClass}, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.sleep = func(time.Duration) {}
	if err := a.load(); err != nil {
		t.Fatal(err)
	}
	return a
}

func strp(s string) *string { return &s }

// TestACLUpdates is AclAuthorizer.createAcls / deleteAcls /
// updateResourceAcls case by case.
func TestACLUpdates(t *testing.T) {
	alice := aclEntry{principal: "User:alice", host: "*", op: opRead, perm: permAllow}
	bob := aclEntry{principal: "User:bob", host: "*", op: opWrite, perm: permAllow}
	topicT := lit(resTopic, "t")
	zkT := zkResource(topicT)

	t.Run("create writes the znode and a notice, once per resource", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		res := a.createACLs([]aclBinding{{topicT, alice}, {topicT, bob}, {topicT, alice}})
		for i, r := range res {
			if r.code != 0 {
				t.Fatalf("result %d: %d", i, r.code)
			}
		}
		if n := st.nodes[zkT]; len(n.acls) != 2 || n.version != 0 || len(st.notices) != 1 {
			t.Fatalf("node %+v notices %v", n, st.notices)
		}
		// The same again changes nothing: no write notice (Kafka: "no change was made").
		a.createACLs([]aclBinding{{topicT, alice}})
		if len(st.notices) != 1 {
			t.Fatalf("notices %v", st.notices)
		}
	})
	t.Run("invalid bindings fail alone", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		res := a.createACLs([]aclBinding{{lit(resTopic, "a/b"), alice}, {topicT, aclEntry{principal: "User:x", host: "*", op: opUnknown, perm: permAllow}}, {topicT, alice}})
		if res[0].code != 42 || res[1].code != 42 || res[2].code != 0 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("a concurrent change is re-read and merged", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		a.createACLs([]aclBinding{{topicT, alice}})
		st.beforeOp = func(s *fakeACLStore) { // another broker adds carol meanwhile
			n := s.nodes[zkT]
			n.acls = append(n.acls, zkmeta.ACLEntry{Principal: "User:carol", PermissionType: "Allow", Operation: "Read", Host: "*"})
			n.version++
			s.nodes[zkT] = n
		}
		if res := a.createACLs([]aclBinding{{topicT, bob}}); res[0].code != 0 {
			t.Fatalf("%+v", res)
		}
		if n := st.nodes[zkT]; len(n.acls) != 3 || n.version != 2 {
			t.Fatalf("node %+v", n)
		}
		if got := a.acls(aclFilter{typ: resAny, pattern: patAny, op: opAny, perm: permAny}); len(got) != 3 {
			t.Fatalf("cache %v", got)
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		a.createACLs([]aclBinding{{topicT, alice}})
		var bump func(s *fakeACLStore)
		bump = func(s *fakeACLStore) {
			n := s.nodes[zkT]
			n.version++
			s.nodes[zkT] = n
			s.beforeOp = bump
		}
		st.beforeOp = bump
		res := a.createACLs([]aclBinding{{topicT, bob}})
		if res[0].code != -1 || res[0].msg == nil {
			t.Fatalf("%+v", res)
		}
		st.beforeOp = nil
	})
	t.Run("delete removes the matching entries and the empty znode", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		a.createACLs([]aclBinding{{topicT, alice}, {topicT, bob}, {pre(resTopic, "t"), alice}})
		out := a.deleteACLs([]aclFilter{
			{typ: resTopic, name: strp("t"), pattern: patLiteral, principal: strp("User:alice"), op: opAny, perm: permAny},
			{typ: resTopic, name: strp("t"), pattern: patMatch, op: opAny, perm: permAny}, // literal t and prefixed t
		})
		if len(out[0]) != 1 || len(out[1]) != 2 { // alice counts for the first filter that matched it
			t.Fatalf("%+v", out)
		}
		if len(st.nodes) != 0 {
			t.Fatalf("znodes left: %+v", st.nodes)
		}
		if len(a.acls(aclFilter{typ: resAny, pattern: patAny, op: opAny, perm: permAny})) != 0 {
			t.Fatal("cache not emptied")
		}
	})
	t.Run("delete of an uncached resource reads ZooKeeper", func(t *testing.T) {
		st := newFakeACLStore()
		a := storeAuthorizer(t, st)
		st.nodes[zkT] = fakeNode{acls: toZKEntries([]aclEntry{alice}), version: 3} // written by another broker, no notice yet
		out := a.deleteACLs([]aclFilter{{typ: resTopic, name: strp("t"), pattern: patLiteral, op: opAny, perm: permAny}})
		if len(out[0]) != 1 || len(st.nodes) != 0 {
			t.Fatalf("%+v %+v", out, st.nodes)
		}
	})
	t.Run("load reads every stored resource", func(t *testing.T) {
		st := newFakeACLStore()
		st.nodes[zkT] = fakeNode{acls: toZKEntries([]aclEntry{alice})}
		st.nodes[zkResource(pre(resGroup, "g"))] = fakeNode{acls: toZKEntries([]aclEntry{bob})}
		a := storeAuthorizer(t, st)
		if !a.authorize(Principal{"User", "alice"}, "1.2.3.4", opRead, resTopic, "t") || !a.authorize(Principal{"User", "bob"}, "1.2.3.4", opWrite, resGroup, "g1") {
			t.Fatal("loaded ACLs not applied")
		}
	})
}

// TestACLFilters is ResourcePatternFilter / AccessControlEntryFilter.matches.
func TestACLFilters(t *testing.T) {
	for _, c := range []struct {
		f    aclFilter
		p    resourcePattern
		want bool
	}{
		{aclFilter{typ: resAny, pattern: patAny}, lit(resTopic, "t"), true},
		{aclFilter{typ: resGroup, pattern: patAny}, lit(resTopic, "t"), false},
		{aclFilter{typ: resTopic, name: strp("t"), pattern: patAny}, pre(resTopic, "t"), true},
		{aclFilter{typ: resTopic, name: strp("tx"), pattern: patAny}, pre(resTopic, "t"), false},
		{aclFilter{typ: resTopic, name: strp("tx"), pattern: patMatch}, pre(resTopic, "t"), true},
		{aclFilter{typ: resTopic, name: strp("tx"), pattern: patMatch}, lit(resTopic, "*"), true},
		{aclFilter{typ: resTopic, name: strp("tx"), pattern: patMatch}, lit(resTopic, "t"), false},
		{aclFilter{typ: resTopic, name: strp("t"), pattern: patLiteral}, pre(resTopic, "t"), false},
		{aclFilter{typ: resTopic, pattern: patPrefixed}, pre(resTopic, "t"), true},
	} {
		if got := c.f.matchesPattern(c.p); got != c.want {
			t.Errorf("%+v matches %+v = %v", c.f, c.p, got)
		}
	}
	e := aclEntry{principal: "User:a", host: "h", op: opRead, perm: permDeny}
	for _, c := range []struct {
		f    aclFilter
		want bool
	}{
		{aclFilter{op: opAny, perm: permAny}, true},
		{aclFilter{principal: strp("User:a"), host: strp("h"), op: opRead, perm: permDeny}, true},
		{aclFilter{principal: strp("User:b"), op: opAny, perm: permAny}, false},
		{aclFilter{host: strp("*"), op: opAny, perm: permAny}, false},
		{aclFilter{op: opWrite, perm: permAny}, false},
		{aclFilter{op: opAny, perm: permAllow}, false},
	} {
		if got := c.f.matchesEntry(e); got != c.want {
			t.Errorf("%+v matches entry = %v", c.f, got)
		}
	}
}
