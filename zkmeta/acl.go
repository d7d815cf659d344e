package zkmeta

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ACL znodes, as Kafka's ZkAclStore / ZkAclChangeStore (kafka.zk.ZkData):
// literal patterns under /kafka-acl/<ResourceType>/<name>, every other
// pattern type under /kafka-acl-extended/<patterntype lower-case>/<ResourceType>/<name>;
// change notices /kafka-acl-changes/acl_changes_<seq> (text "Type:name") and
// /kafka-acl-extended-changes/acl_changes_<seq> (JSON ExtendedAclChangeEvent).
const (
	ACLPath                = "/kafka-acl"
	ACLChangesPath         = "/kafka-acl-changes"
	ExtendedACLPath        = "/kafka-acl-extended"
	ExtendedACLChangesPath = "/kafka-acl-extended-changes"
	ACLChangePrefix        = "acl_changes_"
)

// ACLResourceTypes are the resource type names AclEntry.RESOURCE_TYPES
// holds (every concrete type); createAclPaths makes a znode for each in
// each store.
var ACLResourceTypes = []string{"Topic", "Group", "Cluster", "TransactionalId", "DelegationToken", "User"}

// ACLPatternTypes are the specific pattern types, each with its store.
var ACLPatternTypes = []string{"LITERAL", "PREFIXED"}

// ACLResource is a resource pattern: a type name as Kafka writes it in the
// path ("Topic", "Cluster", ...), the name, and the pattern type name
// ("LITERAL", "PREFIXED").
type ACLResource struct {
	Type        string
	Name        string
	PatternType string
}

// ACLEntry is one access control entry as AclEntry.toMap writes it.
type ACLEntry struct {
	Principal      string // "User:alice"
	PermissionType string // "Allow" or "Deny"
	Operation      string // "Read", "IdempotentWrite", "All", ...
	Host           string // "*" or an address
}

// aclStorePath is the root of the store of a pattern type (ZkAclStore.aclPath).
func aclStorePath(patternType string) string {
	if patternType == "LITERAL" {
		return ACLPath
	}
	return ExtendedACLPath + "/" + strings.ToLower(patternType)
}

// ACLTypePath is /kafka-acl/<Type> or /kafka-acl-extended/<p>/<Type>.
func ACLTypePath(patternType, resourceType string) string {
	return aclStorePath(patternType) + "/" + resourceType
}

// ACLResourcePath is ResourceZNode.path.
func ACLResourcePath(r ACLResource) string {
	return ACLTypePath(r.PatternType, r.Type) + "/" + r.Name
}

// aclChangeStorePath is the change store of a pattern type.
func aclChangeStorePath(patternType string) string {
	if patternType == "LITERAL" {
		return ACLChangesPath
	}
	return ExtendedACLChangesPath
}

// EncodeACLs is ResourceZNode.encode: Jackson over AclEntry.toJsonCompatibleMap,
// two java.util.HashMaps whose iteration orders put "acls" before
// "version" and an entry's keys as principal, permissionType, host,
// operation. The entries keep the order given.
func EncodeACLs(entries []ACLEntry) []byte {
	var b strings.Builder
	b.WriteString(`{"acls":[`)
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(encodeObj(rawObj{
			"principal":      jsonString(e.Principal),
			"permissionType": jsonString(e.PermissionType),
			"host":           jsonString(e.Host),
			"operation":      jsonString(e.Operation),
		}, []string{"principal", "permissionType", "host", "operation"}))
	}
	b.WriteString(`],"version":1}`)
	return []byte(b.String())
}

// DecodeACLs is AclEntry.fromBytes: empty data is no ACLs; the version
// must be 1; every entry needs its four string fields.
func DecodeACLs(data []byte) ([]ACLEntry, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, nil
	}
	var doc struct {
		Version *int `json:"version"`
		ACLs    []struct {
			Principal      *string `json:"principal"`
			PermissionType *string `json:"permissionType"`
			Operation      *string `json:"operation"`
			Host           *string `json:"host"`
		} `json:"acls"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: acls: %v", ErrMalformed, err)
	}
	if doc.Version == nil || *doc.Version != 1 {
		return nil, fmt.Errorf("%w: acls: version is not 1", ErrMalformed)
	}
	out := make([]ACLEntry, 0, len(doc.ACLs))
	for _, a := range doc.ACLs {
		if a.Principal == nil || a.PermissionType == nil || a.Operation == nil || a.Host == nil {
			return nil, fmt.Errorf("%w: acls: an entry lacks a field", ErrMalformed)
		}
		out = append(out, ACLEntry{Principal: *a.Principal, PermissionType: *a.PermissionType, Operation: *a.Operation, Host: *a.Host})
	}
	return out, nil
}

// EncodeACLChange is the data of a change notice: for a literal pattern
// the text "<ResourceType enum>:name" (LiteralAclChangeStore writes
// resourceType.toString, the enum's name: "TOPIC:orders",
// "TRANSACTIONAL_ID:tx"), else the JSON of ExtendedAclChangeEvent, a bean
// Jackson writes in field order, its resourceType the enum name too.
func EncodeACLChange(r ACLResource) []byte {
	if r.PatternType == "LITERAL" {
		return []byte(ACLResourceTypeEnum(r.Type) + ":" + r.Name)
	}
	return []byte(encodeObj(rawObj{
		"version":      "1",
		"resourceType": jsonString(ACLResourceTypeEnum(r.Type)),
		"name":         jsonString(r.Name),
		"patternType":  jsonString(r.PatternType),
	}, []string{"version", "resourceType", "name", "patternType"}))
}

// ACLResourceTypeEnum is the enum name of a Pascal-case resource type
// name ("TransactionalId" is "TRANSACTIONAL_ID").
func ACLResourceTypeEnum(pascal string) string { return strings.ToUpper(camelToSnake(pascal)) }

// camelToSnake turns "TransactionalId" into "Transactional_Id" so that
// upper-cased it is the enum name TRANSACTIONAL_ID (ResourceType.name).
func camelToSnake(s string) string {
	var b strings.Builder
	for i, c := range s {
		if i > 0 && c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// DecodeACLChange reads a change notice of the store of patternType
// ("LITERAL" for /kafka-acl-changes, else the extended store): the
// resource type comes back as ResourceType.fromString accepts it (any
// case, with or without underscores; the caller normalises it).
func DecodeACLChange(literalStore bool, data []byte) (ACLResource, error) {
	if literalStore {
		typ, name, ok := strings.Cut(string(data), ":")
		if !ok {
			return ACLResource{}, fmt.Errorf("%w: acl change: expected ResourceType:ResourceName but got %q", ErrMalformed, data)
		}
		return ACLResource{Type: typ, Name: name, PatternType: "LITERAL"}, nil
	}
	var ev struct {
		Version      int    `json:"version"`
		ResourceType string `json:"resourceType"`
		Name         string `json:"name"`
		PatternType  string `json:"patternType"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return ACLResource{}, fmt.Errorf("%w: acl change: %v", ErrMalformed, err)
	}
	if ev.Version > 1 {
		return ACLResource{}, fmt.Errorf("%w: acl change: unsupported version %d", ErrMalformed, ev.Version)
	}
	return ACLResource{Type: ev.ResourceType, Name: ev.Name, PatternType: ev.PatternType}, nil
}

// CreateACLPaths is KafkaZkClient.createAclPaths: each store's root, a
// znode per resource type in it, and both change roots.
func (c *Client) CreateACLPaths() error {
	var paths []string
	for _, pt := range ACLPatternTypes {
		paths = append(paths, aclStorePath(pt))
		for _, rt := range ACLResourceTypes {
			paths = append(paths, ACLTypePath(pt, rt))
		}
	}
	paths = append(paths, ACLChangesPath, ExtendedACLChangesPath)
	for _, p := range paths {
		if ok, _, err := c.conn.Exists(c.abs(p)); err == nil && ok {
			continue
		}
		if err := c.createRecursive(c.abs(p), nil, Persistent); err != nil && !errors.Is(err, ErrNodeExists) {
			return fmt.Errorf("create acl paths: %w", classify(err))
		}
	}
	return nil
}

// ResourceACLs is getVersionedAclsForResource: the entries and the znode
// version, or version -1 when the znode does not exist.
func (c *Client) ResourceACLs(r ACLResource) ([]ACLEntry, int32, error) {
	data, st, err := c.Get(ACLResourcePath(r))
	if errors.Is(err, ErrNoNode) {
		return nil, -1, nil
	}
	if err != nil {
		return nil, -1, err
	}
	acls, err := DecodeACLs(data)
	if err != nil {
		return nil, -1, fmt.Errorf("%s: %w", ACLResourcePath(r), err)
	}
	return acls, st.Version, nil
}

// SetResourceACLs is conditionalSetAclsForResource (version >= 0) or
// createAclsForResourceIfNotExists (version -1): false when the znode
// changed or appeared meanwhile, with the new version on success.
func (c *Client) SetResourceACLs(r ACLResource, acls []ACLEntry, version int32) (bool, int32, error) {
	p := ACLResourcePath(r)
	data := EncodeACLs(acls)
	if version < 0 {
		_, err := c.Create(p, data, Persistent)
		if errors.Is(err, ErrNodeExists) {
			return false, -1, nil
		}
		if err != nil {
			return false, -1, err
		}
		return true, 0, nil
	}
	st, err := c.Set(p, data, version)
	if errors.Is(err, ErrNoNode) || errors.Is(err, ErrBadVersion) {
		return false, -1, nil
	}
	if err != nil {
		return false, -1, err
	}
	return true, st.Version, nil
}

// DeleteResourceACLs is conditionalDelete: true when deleted or already
// gone, false on a version conflict.
func (c *Client) DeleteResourceACLs(r ACLResource, version int32) (bool, error) {
	err := c.Delete(ACLResourcePath(r), version)
	switch {
	case err == nil, errors.Is(err, ErrNoNode):
		return true, nil
	case errors.Is(err, ErrBadVersion):
		return false, nil
	}
	return false, err
}

// ACLResourceTypeNames lists the resource types of a store
// (getResourceTypes); ACLResourceNames the names under one
// (getResourceNames). A missing znode is an empty list.
func (c *Client) ACLResourceTypeNames(patternType string) ([]string, error) {
	ch, err := c.Children(aclStorePath(patternType))
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	return ch, err
}

// ACLResourceNames lists the resource names of one type in a store.
func (c *Client) ACLResourceNames(patternType, resourceType string) ([]string, error) {
	ch, err := c.Children(ACLTypePath(patternType, resourceType))
	if errors.Is(err, ErrNoNode) {
		return nil, nil
	}
	return ch, err
}

// CreateACLChange is createAclChangeNotification: a persistent sequential
// acl_changes_ znode in the pattern type's change store.
func (c *Client) CreateACLChange(r ACLResource) error {
	p := aclChangeStorePath(r.PatternType) + "/" + ACLChangePrefix
	if _, err := c.Create(p, EncodeACLChange(r), PersistentSequential); err != nil {
		return err
	}
	return nil
}

// WatchACLChanges lists a change store (sorted by sequence) and sets a
// children watch; literal picks /kafka-acl-changes, else the extended one.
func (c *Client) WatchACLChanges(literal bool) ([]string, <-chan Event, error) {
	if literal {
		return c.childrenW(ACLChangesPath)
	}
	return c.childrenW(ExtendedACLChangesPath)
}

// ACLChange reads one notice of a change store.
func (c *Client) ACLChange(literal bool, name string) (ACLResource, time.Time, error) {
	root := ExtendedACLChangesPath
	if literal {
		root = ACLChangesPath
	}
	data, st, err := c.Get(root + "/" + name)
	if err != nil {
		return ACLResource{}, time.Time{}, err
	}
	r, err := DecodeACLChange(literal, data)
	return r, time.UnixMilli(st.Ctime), err
}

// PurgeACLChanges deletes the notices among names created before cutoff
// (ZkNodeChangeNotificationListener.purgeObsoleteNotifications).
func (c *Client) PurgeACLChanges(literal bool, names []string, cutoff time.Time) error {
	root := ExtendedACLChangesPath
	if literal {
		root = ACLChangesPath
	}
	for _, n := range names {
		_, st, err := c.Get(root + "/" + n)
		if errors.Is(err, ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		if time.UnixMilli(st.Ctime).After(cutoff) {
			continue
		}
		if err := c.Delete(root+"/"+n, st.Version); err != nil && !errors.Is(err, ErrNoNode) && !errors.Is(err, ErrBadVersion) {
			return err
		}
	}
	return nil
}

// ACLChangeSeq is the sequence number of an acl_changes_ notice name.
func ACLChangeSeq(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, ACLChangePrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64) // decimal: the zero padding is not octal
	return n, err == nil
}
