package kafkadiff_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
	"github.com/kafkazk/kafkazk/compat-tests/internal/kafkatools"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// aclAuthorizerOn turns Kafka's AclAuthorizer on; super.users=User:ANONYMOUS
// lets the PLAINTEXT tools (ANONYMOUS) and the inter-broker traffic (also
// ANONYMOUS on PLAINTEXT) do anything.
var aclSuperAnonymous = map[string]string{
	"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
	"super.users":           "User:ANONYMOUS",
}

func settings(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// aclCommands are kafka-acls.sh invocations (after --bootstrap-server)
// run the same way against Kafka 3.9 and against us; each is followed by
// the comparison of every ACL znode and change notice.
var aclCommands = [][]string{
	{"--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders"},
	{"--add", "--allow-principal", "User:bob", "--operation", "Write", "--topic", "pay", "--resource-pattern-type", "prefixed"},
	{"--add", "--deny-principal", "User:mallory", "--deny-host", "10.0.0.9", "--operation", "All", "--group", "g1"},
	{"--add", "--allow-principal", "User:alice", "--operation", "IdempotentWrite", "--cluster"},
	{"--add", "--allow-principal", "User:carol", "--operation", "Write", "--transactional-id", "tx-1"},
	{"--add", "--allow-principal", "User:*", "--operation", "Describe", "--topic", "*"},
	{"--add", "--allow-principal", "User:p", "--producer", "--topic", "out"},
	{"--remove", "--allow-principal", "User:alice", "--operation", "Read", "--topic", "orders", "--force"},
}

// aclZnodes is every ACL znode and change notice under chroot: path ->
// data. Notices are keyed by their position in their store after the
// skip[store] first ones (their sequence numbers differ between clusters).
func aclZnodes(t *testing.T, zk *zkmeta.Client, chroot string, skip map[string]int) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(p string)
	walk = func(p string) {
		kids, err := zk.Children(chroot + p)
		if err != nil {
			return
		}
		if len(kids) == 0 {
			data, _, err := zk.Get(chroot + p)
			if err == nil {
				out[p] = string(data)
			}
			return
		}
		for _, k := range kids {
			walk(p + "/" + k)
		}
	}
	walk(zkmeta.ACLPath)
	walk(zkmeta.ExtendedACLPath)
	for _, store := range []string{zkmeta.ACLChangesPath, zkmeta.ExtendedACLChangesPath} {
		kids, _ := zk.Children(chroot + store)
		slices.Sort(kids)
		for i, k := range kids {
			if i < skip[store] {
				continue
			}
			data, _, err := zk.Get(chroot + store + "/" + k)
			if err == nil {
				out[fmt.Sprintf("%s/#%d", store, i-skip[store])] = string(data)
			}
		}
	}
	return out
}

// canonicalACLs sorts the entries of an ACL znode: Kafka writes a Scala
// Set, whose order for more than four entries (and for entries read back
// from a java.util.HashSet) follows hash codes, so only single-entry
// znodes can be compared byte for byte.
func canonicalACLs(data string) (string, int) {
	var doc struct {
		Version int               `json:"version"`
		ACLs    []json.RawMessage `json:"acls"`
	}
	if json.Unmarshal([]byte(data), &doc) != nil || doc.Version == 0 {
		return data, 0
	}
	entries := make([]string, len(doc.ACLs))
	for i, a := range doc.ACLs {
		entries[i] = string(a)
	}
	slices.Sort(entries)
	return fmt.Sprintf("version %d, acls %s", doc.Version, strings.Join(entries, " ")), len(entries)
}

// aclToolACLs are what the PLAINTEXT tools (ANONYMOUS) need on a broker
// without super users: ALTER and DESCRIBE on the cluster, besides the
// base CLUSTER_ACTION.
var aclToolACLs = []aclSpec{baseACLs[0], // kafka-acls comes over PLAINTEXT: User:ANONYMOUS
	{"Cluster:LITERAL:kafka-cluster", aclBrokerPrincipal, "Allow", "Alter", ""},
	{"Cluster:LITERAL:kafka-cluster", aclBrokerPrincipal, "Allow", "Describe", ""}}

// aclZnodesMatchKafka39 runs Kafka 3.9's own kafka-acls
// (kafka.admin.AclCommand) against the Kafka 3.9 broker of the table test
// (b, ref) and against ours, command by command, and compares every ACL
// znode (byte for byte when it holds one entry, as a set otherwise) and
// every change notice written meanwhile; our own kafka-acls.sh runs the
// same commands against a third broker (ours) and must print and write
// the same. Every side starts from aclToolACLs. Then it copies Kafka's
// znodes into our chroot with a change notice as Kafka wrote it, and
// checks that our broker's cache (DescribeAcls through Kafka's tool)
// picks them up.
func aclZnodesMatchKafka39(t *testing.T, b *aclBroker, ref *cluster.KafkaRef) {
	// Kafka: the tools' ACLs, applied (the sentinels prove it), then the
	// sentinels removed.
	b.apply(t, aclScenario{name: "tools", broker: "acl", acls: aclToolACLs[1:]}, "acl")
	b.write(t, aclToolACLs)
	startOurs := func() *cluster.Cluster {
		c := cluster.Start(t, 0)
		w := &aclBroker{zk: c.ZKConn(), root: c.ZKPath("")}
		w.write(t, aclToolACLs)
		c.AddBroker(0, settings(aclSuperAnonymous)...)
		c.WaitForBrokers(0)
		return c
	}
	ours := startOurs()
	oursTool := startOurs() // gets our kafka-acls.sh
	tools := kafkatools.Start(t)
	kzk := b.zk
	ourRoot := ours.ZKPath("")
	before := func(zk *zkmeta.Client, root string) map[string]int {
		out := map[string]int{}
		for _, store := range []string{zkmeta.ACLChangesPath, zkmeta.ExtendedACLChangesPath} {
			kids, _ := zk.Children(root + store)
			out[store] = len(kids)
		}
		return out
	}
	kSkip, oSkip, tSkip := before(kzk, ref.Chroot), before(ours.ZKConn(), ourRoot), before(oursTool.ZKConn(), oursTool.ZKPath(""))

	acls := func(addr string, args ...string) (string, string, int) {
		return tools.Run("", "kafka.admin.AclCommand", append([]string{"--bootstrap-server", addr}, args...)...)
	}
	for _, cmd := range aclCommands {
		kout, kerrOut, kcode := acls(ref.Addr, cmd...)
		oout, oerrOut, ocode := acls(ours.Broker(0).Addr, cmd...)
		tout, terrOut, tcode := oursTool.Tool("kafka-acls.sh", append([]string{"--bootstrap-server", oursTool.Bootstrap()}, cmd...)...)
		if kcode != 0 || ocode != 0 || tcode != 0 {
			t.Fatalf("%v: exit Kafka %d ours %d our tool %d\nKafka: %s%s\nours: %s%s\nour tool: %s%s", cmd, kcode, ocode, tcode, kout, kerrOut, oout, oerrOut, tout, terrOut)
		}
		if kout != oout {
			t.Errorf("%v: output differs\nKafka 3.9:\n%s\nours:\n%s", cmd, kout, oout)
		}
		if canonicalLines(kout) != canonicalLines(tout) {
			t.Errorf("%v: our kafka-acls.sh prints\n%s\nKafka's:\n%s", cmd, tout, kout)
		}
		// The tool returns once the broker answered; both brokers write the
		// znodes before answering.
		k := aclZnodes(t, kzk, ref.Chroot, kSkip)
		for _, side := range []struct {
			name string
			z    map[string]string
		}{{"Kafka's tool on ours", aclZnodes(t, ours.ZKConn(), ourRoot, oSkip)}, {"our tool on ours", aclZnodes(t, oursTool.ZKConn(), oursTool.ZKPath(""), tSkip)}} {
			compareACLZnodes(t, fmt.Sprintf("after %v, %s", cmd, side.name), k, side.z)
		}
	}
	kl, _, _ := acls(ref.Addr, "--list")
	ol, _, _ := acls(ours.Broker(0).Addr, "--list")
	tl, _, _ := oursTool.Tool("kafka-acls.sh", "--bootstrap-server", oursTool.Bootstrap(), "--list")
	if canonicalLines(kl) != canonicalLines(ol) {
		t.Errorf("--list differs\nKafka 3.9:\n%s\nours:\n%s", kl, ol)
	}
	if canonicalLines(kl) != canonicalLines(tl) {
		t.Errorf("--list differs\nKafka 3.9:\n%s\nour tool:\n%s", kl, tl)
	}
	fromKafka(t, kzk, ref, ours, acls)
}

// compareACLZnodes compares every ACL znode and notice of Kafka (k) and
// ours (o).
func compareACLZnodes(t *testing.T, when string, k, o map[string]string) {
	t.Helper()
	for _, p := range sortedKeys(k, o) {
		kd, kok := k[p]
		od, ook := o[p]
		switch {
		case kok != ook:
			t.Errorf("%s: %s: on Kafka %v (%q), on ours %v (%q)", when, p, kok, kd, ook, od)
		case kd == od:
		default:
			kc, n := canonicalACLs(kd)
			oc, _ := canonicalACLs(od)
			if n > 1 && kc == oc {
				t.Logf("%s: %s holds the same %d entries in another order", when, p, n)
				continue
			}
			t.Errorf("%s: %s differs\n  Kafka 3.9: %s\n  ours:      %s", when, p, kd, od)
		}
	}
}

// fromKafka: Kafka's znodes, written by hand into our chroot as another
// broker's AclAuthorizer would (resource znode, then its change notice),
// are picked up by our broker.
func fromKafka(t *testing.T, kzk *zkmeta.Client, ref *cluster.KafkaRef, ours *cluster.Cluster, acls func(string, ...string) (string, string, int)) {
	ourRoot := ours.ZKPath("")
	res := zkmeta.ACLResource{Type: "Topic", Name: "from-kafka", PatternType: "LITERAL"}
	if _, err := kzk.Create(ref.Chroot+zkmeta.ACLResourcePath(res), zkmeta.EncodeACLs([]zkmeta.ACLEntry{
		{Principal: "User:zoe", PermissionType: "Allow", Operation: "Read", Host: "*"}}), zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	data, _, err := kzk.Get(ref.Chroot + zkmeta.ACLResourcePath(res))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ours.ZKConn().Create(ourRoot+zkmeta.ACLResourcePath(res), data, zkmeta.Persistent); err != nil {
		t.Fatal(err)
	}
	if _, err := ours.ZKConn().Create(ourRoot+zkmeta.ACLChangesPath+"/"+zkmeta.ACLChangePrefix, []byte("TOPIC:from-kafka"), zkmeta.PersistentSequential); err != nil {
		t.Fatal(err)
	}
	harness.Poll(t, 20*time.Second, "our broker lists the ACL written into ZooKeeper", func() (bool, string) {
		out, _, _ := acls(ours.Broker(0).Addr, "--list", "--topic", "from-kafka")
		return strings.Contains(out, "User:zoe"), out
	})
}

func sortedKeys(ms ...map[string]string) []string {
	var out []string
	for _, m := range ms {
		for k := range m {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out
}

// canonicalLines sorts the lines within each ACL block of kafka-acls
// --list output (Kafka prints a resource's entries in hash order) and the
// blocks.
func canonicalLines(s string) string {
	var blocks []string
	for _, b := range strings.Split(strings.TrimSpace(s), "\n\n") {
		lines := strings.Split(b, "\n")
		for i := 1; i < len(lines); i++ {
			lines[i] = strings.TrimSpace(lines[i]) // the first entry starts with " ", the last ends with one
		}
		if len(lines) > 1 {
			slices.Sort(lines[1:])
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	slices.Sort(blocks)
	return strings.Join(blocks, "\n\n")
}
