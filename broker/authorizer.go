package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The authorizer configs (AclAuthorizer): authorizer.class.name turns it
// on; the only class Kafka 3.9 ships for ZooKeeper mode is
// kafka.security.authorizer.AclAuthorizer (kafka.security.auth.
// SimpleAclAuthorizer was removed in 3.0; StandardAuthorizer is KRaft's).
const (
	authorizerClassKey       = "authorizer.class.name"
	aclAuthorizerClass       = "kafka.security.authorizer.AclAuthorizer"
	superUsersKey            = "super.users"
	allowEveryoneIfNoACLKey  = "allow.everyone.if.no.acl.found"
	aclChangeExpiry          = 15 * time.Minute // ZkNodeChangeNotificationListener.changeExpirationMs
	aclMaxUpdateRetries      = 10               // AclAuthorizer.maxUpdateRetries
	aclRetryBackoff          = 100 * time.Millisecond
	aclRetryBackoffJitterMax = 50
)

// aclStore is what the authorizer needs of ZooKeeper (zkmeta.Client; a
// fake in tests).
type aclStore interface {
	CreateACLPaths() error
	ResourceACLs(r zkmeta.ACLResource) ([]zkmeta.ACLEntry, int32, error)
	SetResourceACLs(r zkmeta.ACLResource, acls []zkmeta.ACLEntry, version int32) (bool, int32, error)
	DeleteResourceACLs(r zkmeta.ACLResource, version int32) (bool, error)
	ACLResourceTypeNames(patternType string) ([]string, error)
	ACLResourceNames(patternType, resourceType string) ([]string, error)
	CreateACLChange(r zkmeta.ACLResource) error
	WatchACLChanges(literal bool) ([]string, <-chan zkmeta.Event, error)
	ACLChange(literal bool, name string) (zkmeta.ACLResource, time.Time, error)
	PurgeACLChanges(literal bool, names []string, cutoff time.Time) error
}

// versionedACLs is AclAuthorizer.VersionedAcls: the entries of one
// resource pattern and its znode version (-1: no znode).
type versionedACLs struct {
	acls    []aclEntry
	version int32
}

// aclAuthorizer is Kafka's AclAuthorizer: decisions from an in-memory
// cache of every ACL, loaded at start and kept up to date by the change
// notifications; changes are conditional writes of the resource znodes.
type aclAuthorizer struct {
	superUsers   map[Principal]bool
	allowIfNoACL bool
	store        aclStore
	logger       *slog.Logger
	sleep        func(time.Duration) // backoff between conflicting writes

	mu    sync.Mutex                                        // AclAuthorizer.lock: updates and notification processing
	cache atomic.Pointer[map[resourcePattern]versionedACLs] // copy on write
}

// newACLAuthorizer reads the authorizer keys of the broker's config: nil
// when authorizer.class.name is empty; an error naming the key for any
// other class or a bad value.
func newACLAuthorizer(props map[string]string, store aclStore, logger *slog.Logger) (*aclAuthorizer, error) {
	class := strings.TrimSpace(props[authorizerClassKey])
	if class == "" {
		return nil, nil
	}
	if class != aclAuthorizerClass {
		return nil, fmt.Errorf("%s: class %s is not supported (only %s)", authorizerClassKey, class, aclAuthorizerClass)
	}
	a := &aclAuthorizer{superUsers: map[Principal]bool{}, store: store, logger: logger, sleep: time.Sleep}
	// AclAuthorizer.configure: super.users is a semicolon list of
	// principals, each trimmed and parsed as Type:name.
	if su := props[superUsersKey]; su != "" {
		for _, s := range strings.Split(su, ";") {
			p, ok := parsePrincipal(strings.TrimSpace(s))
			if !ok {
				return nil, fmt.Errorf("%s: expected a string in format principalType:principalName but got %q", superUsersKey, strings.TrimSpace(s))
			}
			a.superUsers[p] = true
		}
	}
	if v, ok := props[allowEveryoneIfNoACLKey]; ok {
		b, err := parseScalaBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", allowEveryoneIfNoACLKey, err)
		}
		a.allowIfNoACL = b
	}
	empty := map[resourcePattern]versionedACLs{}
	a.cache.Store(&empty)
	return a, nil
}

// parseScalaBool is Scala's String.toBoolean: true or false in any case.
func parseScalaBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("for input string: %q", s)
}

// authorize is AclAuthorizer.authorizeAction for a literal resource: a
// super user may do anything; else the ACLs matching the resource (the
// literal name, the "*" wildcard, every prefix of the name) decide: none
// at all means allow.everyone.if.no.acl.found; a matching DENY refuses;
// a matching ALLOW of the operation or one implying it permits.
func (a *aclAuthorizer) authorize(principal Principal, host string, op aclOperation, typ aclResourceType, name string) bool {
	if a.superUsers[principal] {
		return true
	}
	acls := a.matchingACLs(typ, name)
	if len(acls) == 0 {
		return a.allowIfNoACL
	}
	if matchingACLExists(acls, principal, host, op, permDeny) {
		return false
	}
	// Allowing read, write, delete or alter implies describe;
	// alter_configs implies describe_configs.
	allowOps := []aclOperation{op}
	switch op {
	case opDescribe:
		allowOps = []aclOperation{opDescribe, opRead, opWrite, opDelete, opAlter}
	case opDescribeConfigs:
		allowOps = []aclOperation{opDescribeConfigs, opAlterConfigs}
	}
	for _, o := range allowOps {
		if matchingACLExists(acls, principal, host, o, permAllow) {
			return true
		}
	}
	return false
}

// matchingACLs is AclAuthorizer.matchingAcls: the ACLs of the literal
// name, of the literal "*" and of every prefix of the name (direct
// lookups, so a decision costs the name's length, not the cache's size).
func (a *aclAuthorizer) matchingACLs(typ aclResourceType, name string) []aclEntry {
	cache := *a.cache.Load()
	var out []aclEntry
	out = append(out, cache[resourcePattern{typ: typ, name: name, pattern: patLiteral}].acls...)
	if name != wildcardResource {
		out = append(out, cache[resourcePattern{typ: typ, name: wildcardResource, pattern: patLiteral}].acls...)
	}
	for i := 1; i <= len(name); i++ {
		out = append(out, cache[resourcePattern{typ: typ, name: name[:i], pattern: patPrefixed}].acls...)
	}
	return out
}

// matchingACLExists is AclAuthorizer.matchingAclExists: the permission,
// the principal or User:*, the operation or ALL, the host or "*".
func matchingACLExists(acls []aclEntry, principal Principal, host string, op aclOperation, perm aclPermission) bool {
	ps, ws := principal.String(), wildcardPrincipal.String()
	for _, e := range acls {
		if e.perm == perm && (e.principal == ps || e.principal == ws) &&
			(e.op == op || e.op == opAll) && (e.host == host || e.host == wildcardHost) {
			return true
		}
	}
	return false
}

// authorizeByResourceType is AclAuthorizer.authorizeByResourceType: may
// the principal do op on at least one resource of the type? A literal
// "*" DENY refuses; allow.everyone.if.no.acl.found allows; otherwise an
// ALLOW (literal or prefixed) not dominated by a DENY on the same name or
// a prefix of it.
func (a *aclAuthorizer) authorizeByResourceType(principal Principal, host string, op aclOperation, typ aclResourceType) bool {
	if a.superUsers[principal] {
		return true
	}
	ps, ws := principal.String(), wildcardPrincipal.String()
	type names map[string]bool
	collect := func(perm aclPermission, pat aclPatternType) names {
		out := names{}
		for p, v := range *a.cache.Load() {
			if p.typ != typ || p.pattern != pat {
				continue
			}
			for _, e := range v.acls {
				if e.perm == perm && (e.principal == ps || e.principal == ws) &&
					(e.op == op || e.op == opAll) && (e.host == host || e.host == wildcardHost) {
					out[p.name] = true
				}
			}
		}
		return out
	}
	denyLiterals := collect(permDeny, patLiteral)
	if denyLiterals[wildcardResource] {
		return false
	}
	if a.allowIfNoACL {
		return true
	}
	denyPrefixes := collect(permDeny, patPrefixed)
	allowLiterals, allowPrefixes := collect(permAllow, patLiteral), collect(permAllow, patPrefixed)
	dominated := func(name string) bool {
		for i := 1; i <= len(name); i++ {
			if denyPrefixes[name[:i]] {
				return true
			}
		}
		return false
	}
	if len(denyLiterals) == 0 && len(denyPrefixes) == 0 {
		return len(allowLiterals) > 0 || len(allowPrefixes) > 0
	}
	for p := range allowPrefixes {
		if !dominated(p) {
			return true
		}
	}
	for l := range allowLiterals {
		if l == wildcardResource || (!denyLiterals[l] && !dominated(l)) {
			return true
		}
	}
	return false
}

// authorizedOperations is AuthHelper.authorizedOperations: the bit field
// (1 << code) of the type's supported operations the principal may do on
// the resource; without an authorizer all of them.
func (a *aclAuthorizer) authorizedOperations(principal Principal, host string, typ aclResourceType, name string) int32 {
	var bits int32
	for _, op := range supportedOperations(typ) {
		if a == nil || a.authorize(principal, host, op, typ, name) {
			bits |= 1 << op
		}
	}
	return bits
}

// acls is Authorizer.acls: every binding the filter matches, in the
// cache's order (resource type, pattern type, then name descending, as
// AclAuthorizer.ResourceOrdering).
func (a *aclAuthorizer) acls(f aclFilter) []aclBinding {
	cache := *a.cache.Load()
	keys := make([]resourcePattern, 0, len(cache))
	for p := range cache {
		keys = append(keys, p)
	}
	sortPatterns(keys)
	var out []aclBinding
	for _, p := range keys {
		for _, e := range cache[p].acls {
			if f.matchesPattern(p) && f.matchesEntry(e) {
				out = append(out, aclBinding{p, e})
			}
		}
	}
	return out
}

func sortPatterns(keys []resourcePattern) {
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.typ != b.typ {
			return a.typ < b.typ
		}
		if a.pattern != b.pattern {
			return a.pattern < b.pattern
		}
		return a.name > b.name
	})
}

// zkResource is the znode form of a pattern.
func zkResource(p resourcePattern) zkmeta.ACLResource {
	return zkmeta.ACLResource{Type: p.typ.String(), Name: p.name, PatternType: p.pattern.String()}
}

func toZKEntries(acls []aclEntry) []zkmeta.ACLEntry {
	out := make([]zkmeta.ACLEntry, len(acls))
	for i, e := range acls {
		out[i] = zkmeta.ACLEntry{Principal: e.principal, PermissionType: e.perm.String(), Operation: e.op.String(), Host: e.host}
	}
	return out
}

// fromZKEntries is AclEntry.fromBytes' per-entry parsing: unknown names
// become the UNKNOWN values, as SecurityUtils does.
func fromZKEntries(in []zkmeta.ACLEntry) []aclEntry {
	out := make([]aclEntry, 0, len(in))
	for _, e := range in {
		out = appendUnique(out, aclEntry{
			principal: e.Principal, host: e.Host,
			op:   valueFromName(operationNames, e.Operation),
			perm: valueFromName(permissionNames, e.PermissionType),
		})
	}
	return out
}

// appendUnique adds e unless present: a resource's ACLs are a set.
func appendUnique(s []aclEntry, e aclEntry) []aclEntry {
	for _, x := range s {
		if x == e {
			return s
		}
	}
	return append(s, e)
}

// loadFromZK reads one resource's ACLs (getAclsFromZk).
func (a *aclAuthorizer) loadFromZK(p resourcePattern) (versionedACLs, error) {
	entries, version, err := a.store.ResourceACLs(zkResource(p))
	if err != nil {
		return versionedACLs{version: -1}, err
	}
	return versionedACLs{acls: fromZKEntries(entries), version: version}, nil
}

// updateCache is AclAuthorizer.updateCache: a resource with no ACLs
// leaves the cache.
func (a *aclAuthorizer) updateCache(p resourcePattern, v versionedACLs) {
	old := *a.cache.Load()
	next := make(map[resourcePattern]versionedACLs, len(old)+1)
	for k, x := range old {
		next[k] = x
	}
	if len(v.acls) > 0 {
		next[p] = v
	} else {
		delete(next, p)
	}
	a.cache.Store(&next)
}

// load is AclAuthorizer.configure's createAclPaths and loadCache: every
// resource of every type in both stores. Unknown resource types are
// skipped with a warning, as loadAllAcls does.
func (a *aclAuthorizer) load() error {
	if err := a.store.CreateACLPaths(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, pat := range []aclPatternType{patLiteral, patPrefixed} {
		types, err := a.store.ACLResourceTypeNames(pat.String())
		if err != nil {
			return err
		}
		for _, tn := range types {
			typ := valueFromName(resourceTypeNames, tn)
			if typ == resUnknown || typ == resAny {
				a.logger.Warn("ignoring unknown ACL resource type", "type", tn)
				continue
			}
			names, err := a.store.ACLResourceNames(pat.String(), tn)
			if err != nil {
				return err
			}
			for _, n := range names {
				p := resourcePattern{typ: typ, name: n, pattern: pat}
				v, err := a.loadFromZK(p)
				if err != nil {
					return fmt.Errorf("reading ACLs of %s: %w", zkmeta.ACLResourcePath(zkResource(p)), err)
				}
				a.updateCache(p, v)
			}
		}
	}
	return nil
}

// errACLUpdateRetries is updateResourceAcls' IllegalStateException.
var errACLUpdateRetries = errors.New("failed to update ACLs after the maximum number of retries")

// updateResourceACLs is AclAuthorizer.updateResourceAcls: read the
// current ACLs (cache, else ZooKeeper), write the new set conditionally
// on the znode version (create when absent, delete when empty), re-read
// and retry on a conflict, then update the cache and write a change
// notice if the set changed. Called with a.mu held.
func (a *aclAuthorizer) updateResourceACLs(p resourcePattern, change func([]aclEntry) []aclEntry) error {
	cur, ok := (*a.cache.Load())[p]
	if !ok {
		var err error
		if cur, err = a.loadFromZK(p); err != nil {
			return err
		}
	}
	var next versionedACLs
	done := false
	for retries := 0; !done && retries <= aclMaxUpdateRetries; retries++ {
		acls := change(cur.acls)
		var (
			succeeded bool
			version   int32
			err       error
		)
		switch {
		case len(acls) > 0:
			succeeded, version, err = a.store.SetResourceACLs(zkResource(p), toZKEntries(acls), cur.version)
		default:
			succeeded, err = a.store.DeleteResourceACLs(zkResource(p), cur.version)
		}
		if err != nil {
			return err
		}
		if !succeeded {
			a.sleep(aclRetryBackoff + time.Duration(rand.IntN(aclRetryBackoffJitterMax))*time.Millisecond)
			if cur, err = a.loadFromZK(p); err != nil {
				return err
			}
			continue
		}
		next, done = versionedACLs{acls: acls, version: version}, true
	}
	if !done {
		return fmt.Errorf("%w: %s", errACLUpdateRetries, zkmeta.ACLResourcePath(zkResource(p)))
	}
	changed := !sameACLSet(cur.acls, next.acls)
	a.updateCache(p, next)
	if changed {
		a.logger.Info("updated ACLs", "resource", zkmeta.ACLResourcePath(zkResource(p)), "version", next.version)
		return a.store.CreateACLChange(zkResource(p))
	}
	return nil
}

func sameACLSet(x, y []aclEntry) bool {
	if len(x) != len(y) {
		return false
	}
	for _, e := range x {
		found := false
		for _, f := range y {
			if e == f {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// aclCreateResult is one binding's outcome: the error code and message.
type aclResult struct {
	code int16
	msg  *string
}

// createACLs is AclAuthorizer.createAcls for bindings already checked by
// the request handler: validateAclBinding (unknown elements, a '/' in
// the name) fails one binding with INVALID_REQUEST; the rest are grouped
// by resource and each resource updated once.
func (a *aclAuthorizer) createACLs(bindings []aclBinding) []aclResult {
	results := make([]aclResult, len(bindings))
	byResource := map[resourcePattern][]int{}
	var order []resourcePattern
	for i, b := range bindings {
		// validateAclBinding: unknown elements, or a '/' in the name; the
		// cause is wrapped in InvalidRequestException("Failed to create ACL").
		if !known(resourceTypeNames, b.typ) || b.typ == resUnknown || b.pattern == patUnknown ||
			b.op == opUnknown || b.perm == permUnknown || strings.Contains(b.name, "/") {
			msg := "Failed to create ACL"
			results[i] = aclResult{code: 42, msg: &msg}
			continue
		}
		if _, ok := byResource[b.resourcePattern]; !ok {
			order = append(order, b.resourcePattern)
		}
		byResource[b.resourcePattern] = append(byResource[b.resourcePattern], i)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range order {
		idx := byResource[p]
		err := a.updateResourceACLs(p, func(cur []aclEntry) []aclEntry {
			out := append([]aclEntry(nil), cur...)
			for _, i := range idx {
				out = appendUnique(out, bindings[i].aclEntry)
			}
			return out
		})
		for _, i := range idx {
			if err != nil {
				msg := err.Error()
				results[i] = aclResult{code: -1, msg: &msg}
			}
		}
	}
	return results
}

// aclDeleteMatch is one binding a filter deleted, with its error (code 0
// when deleted).
type aclDeleteMatch struct {
	binding aclBinding
	result  aclResult
}

// deleteACLs is AclAuthorizer.deleteAcls: the resources are the cached
// ones plus, for each filter that names exactly one resource (or two, for
// pattern type ANY), that resource even when not cached; for each
// resource matched by some filter its ACLs matched by those filters are
// removed in one conditional update. A deleted binding counts for the
// first filter that matched it.
func (a *aclAuthorizer) deleteACLs(filters []aclFilter) [][]aclDeleteMatch {
	a.mu.Lock()
	defer a.mu.Unlock()
	resources := map[resourcePattern]bool{}
	var order []resourcePattern
	add := func(p resourcePattern) {
		if !resources[p] {
			resources[p] = true
			order = append(order, p)
		}
	}
	cached := make([]resourcePattern, 0)
	for p := range *a.cache.Load() {
		cached = append(cached, p)
	}
	sortPatterns(cached)
	for _, p := range cached {
		add(p)
	}
	for _, f := range filters {
		if !f.patternMatchesAtMostOne() {
			continue
		}
		switch f.pattern {
		case patLiteral, patPrefixed:
			add(resourcePattern{typ: f.typ, name: *f.name, pattern: f.pattern})
		case patAny:
			add(resourcePattern{typ: f.typ, name: *f.name, pattern: patLiteral})
			add(resourcePattern{typ: f.typ, name: *f.name, pattern: patPrefixed})
		}
	}
	out := make([][]aclDeleteMatch, len(filters))
	for _, p := range order {
		var matching []int
		for i, f := range filters {
			if f.matchesPattern(p) {
				matching = append(matching, i)
			}
		}
		if len(matching) == 0 {
			continue
		}
		type del struct {
			e      aclEntry
			filter int
		}
		var deleted []del
		err := a.updateResourceACLs(p, func(cur []aclEntry) []aclEntry {
			deleted = deleted[:0]
			var keep []aclEntry
			for _, e := range cur {
				hit := -1
				for _, i := range matching {
					if filters[i].matchesEntry(e) {
						hit = i
						break
					}
				}
				if hit < 0 {
					keep = append(keep, e)
				} else {
					deleted = append(deleted, del{e, hit})
				}
			}
			return keep
		})
		for _, d := range deleted {
			m := aclDeleteMatch{binding: aclBinding{p, d.e}}
			if err != nil {
				msg := err.Error()
				m.result = aclResult{code: -1, msg: &msg}
			}
			out[d.filter] = append(out[d.filter], m)
		}
	}
	return out
}

// watch is the two ZkNodeChangeNotificationListeners of AclAuthorizer:
// each notice newer than the last one processed re-reads its resource
// into the cache; notices older than 15 minutes are deleted.
func (a *aclAuthorizer) watch(ctx context.Context, literal bool) {
	last := int64(-1)
	backoff := time.Second
	for ctx.Err() == nil {
		names, events, err := a.store.WatchACLChanges(literal)
		if err != nil {
			a.logger.Warn("watching ACL changes failed; retrying", "literal", literal, "err", err)
			if !sleepCtx(ctx, backoff) {
				return
			}
			continue
		}
		last = a.processChanges(literal, names, last)
		if err := a.store.PurgeACLChanges(literal, names, time.Now().Add(-aclChangeExpiry)); err != nil {
			a.logger.Debug("purging old ACL change notices failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok && !sleepCtx(ctx, backoff) {
				return
			}
		}
	}
}

// processChanges handles the notices after last and returns the last
// sequence processed.
func (a *aclAuthorizer) processChanges(literal bool, names []string, last int64) int64 {
	for _, n := range names {
		seq, ok := zkmeta.ACLChangeSeq(n)
		if !ok || seq <= last {
			continue
		}
		r, _, err := a.store.ACLChange(literal, n)
		if errors.Is(err, zkmeta.ErrNoNode) {
			last = seq
			continue
		}
		if errors.Is(err, zkmeta.ErrMalformed) {
			a.logger.Warn("ignoring malformed ACL change notice", "notice", n, "err", err)
			last = seq
			continue
		}
		if err != nil {
			a.logger.Warn("reading ACL change notice failed", "notice", n, "err", err)
			return last
		}
		last = seq
		// ResourceType.fromString / PatternType.fromString: the enum
		// names, in any case.
		p := resourcePattern{name: r.Name, typ: resourceTypeFromEnum(r.Type), pattern: patternFromName(r.PatternType)}
		if p.typ == resUnknown || (p.pattern != patLiteral && p.pattern != patPrefixed) {
			a.logger.Warn("ignoring ACL change notice of an unknown resource", "notice", n, "type", r.Type, "pattern", r.PatternType)
			continue
		}
		a.mu.Lock()
		v, err := a.loadFromZK(p)
		if err == nil {
			a.updateCache(p, v)
		}
		a.mu.Unlock()
		if err != nil {
			a.logger.Warn("reloading ACLs failed", "resource", zkmeta.ACLResourcePath(zkResource(p)), "err", err)
			continue
		}
		a.logger.Info("processed ACL change notice", "notice", n, "resource", zkmeta.ACLResourcePath(zkResource(p)), "acls", len(v.acls))
	}
	return last
}

// resourceTypeFromEnum is ResourceType.fromString: valueOf of the
// upper-cased text.
func resourceTypeFromEnum(s string) aclResourceType {
	u := strings.ToUpper(s)
	for k, n := range resourceTypeNames {
		if zkmeta.ACLResourceTypeEnum(n) == u {
			return k
		}
	}
	return resUnknown
}

// patternFromName is PatternType.fromString.
func patternFromName(s string) aclPatternType {
	u := strings.ToUpper(s)
	for k, n := range patternNames {
		if n == u {
			return k
		}
	}
	return patUnknown
}

// hostOf is the client's address as InetAddress.getHostAddress prints
// it, the form ACL hosts are compared with: IPv4 dotted, IPv6 as eight
// uncompressed lower-case hex groups ("0:0:0:0:0:0:0:1", not "::1");
// "" when unknown.
func hostOf(s *session) string {
	if s == nil || s.clientAddr == nil {
		return ""
	}
	return javaHostAddress(s.clientAddr.String())
}

func javaHostAddress(hostPort string) string {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	zone := ""
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host, zone = host[:i], host[i:]
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host + zone
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	groups := make([]string, 8)
	for i := range groups {
		groups[i] = strconv.FormatUint(uint64(ip[2*i])<<8|uint64(ip[2*i+1]), 16)
	}
	return strings.Join(groups, ":") + zone
}
