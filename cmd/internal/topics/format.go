package topics

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
	"github.com/kafkazk/kafkazk/zkmeta"
)

// configEntry is one DescribeConfigs entry of a topic.
type configEntry struct {
	Name      string
	Value     *string
	IsDefault bool // ConfigEntry.isDefault(): source == DEFAULT_CONFIG
}

// partitionInfo is TopicPartitionInfo as the Java admin client builds it from Metadata.
type partitionInfo struct {
	Partition int32
	Leader    int32 // -1 when there is no leader or the leader is not a live broker
	Replicas  []int32
	ISR       []int32
}

// reassignment is an ongoing partition reassignment (ListPartitionReassignments).
type reassignment struct {
	Replicas []int32
	Adding   []int32
	Removing []int32
}

// topicDesc is TopicDescription as returned by the admin client.
type topicDesc struct {
	Name       string
	ID         [16]byte
	Internal   bool
	Partitions []partitionInfo
}

// uuidString is Kafka's Uuid.toString: URL-safe base64 without padding (22 chars).
func uuidString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func joinInts(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// formatConfigs renders the non-default entries as TopicCommand does ("k=v,k2=v2"), in the iteration order
// of the Java HashMap that Config keeps its entries in.
func formatConfigs(entries []configEntry) string {
	ordered := javaHashMapOrder(len(entries), func(i int) string { return entries[i].Name }, 16)
	var parts []string
	for _, i := range ordered {
		e := entries[i]
		if e.IsDefault {
			continue
		}
		v := "null"
		if e.Value != nil {
			v = *e.Value
		}
		parts = append(parts, e.Name+"="+v)
	}
	return strings.Join(parts, ",")
}

// formatTopicLine is TopicDescription.printDescription (Kafka 3.7), without the trailing newline.
func formatTopicLine(name string, id [16]byte, partitions, rf int, entries []configEntry) string {
	var b strings.Builder
	b.WriteString("Topic: " + name)
	if id != ([16]byte{}) { // Uuid.ZERO_UUID is not printed
		b.WriteString("\tTopicId: " + uuidString(id))
	}
	b.WriteString("\tPartitionCount: " + strconv.Itoa(partitions))
	b.WriteString("\tReplicationFactor: " + strconv.Itoa(rf))
	b.WriteString("\tConfigs: " + formatConfigs(entries))
	return b.String()
}

// formatPartitionLine is PartitionDescription.printDescription (Kafka 3.9), without newline.
func formatPartitionLine(topic string, p partitionInfo, ra *reassignment) string {
	var b strings.Builder
	b.WriteString("\tTopic: " + topic)
	b.WriteString("\tPartition: " + strconv.Itoa(int(p.Partition)))
	if p.Leader >= 0 {
		b.WriteString("\tLeader: " + strconv.Itoa(int(p.Leader)))
	} else {
		b.WriteString("\tLeader: none")
	}
	b.WriteString("\tReplicas: " + joinInts(p.Replicas))
	b.WriteString("\tIsr: " + joinInts(p.ISR))
	if ra != nil {
		b.WriteString("\tAdding Replicas: " + joinInts(ra.Adding))
		b.WriteString("\tRemoving Replicas: " + joinInts(ra.Removing))
	}
	// Kafka 3.9 prints the ELR columns always: N/A when the answer has none,
	// as a ZooKeeper-mode cluster's Metadata answer never does.
	b.WriteString("\tElr: N/A\tLastKnownElr: N/A")
	return b.String()
}

// replicationFactor is TopicCommand.getReplicationFactor: during a reassignment the target replicas that
// are not being added, otherwise the size of the replica list.
func replicationFactor(p partitionInfo, ra *reassignment) int {
	if ra != nil && reassignmentInProgress(p, ra) {
		return len(ra.Replicas) - len(ra.Adding)
	}
	return len(p.Replicas)
}

func reassignmentInProgress(p partitionInfo, ra *reassignment) bool {
	changing := map[int32]bool{}
	for _, r := range ra.Adding {
		changing[r] = true
	}
	for _, r := range ra.Removing {
		changing[r] = true
	}
	for _, r := range p.Replicas {
		if changing[r] {
			return true
		}
	}
	return false
}

// javaHashMapOrder returns the indexes 0..n-1 in the iteration order of a java.util.HashMap of the
// given initial capacity into which the keys were put in index order.
func javaHashMapOrder(n int, key func(int) string, initial int) []int {
	hashes := make([]int32, n)
	for i := range hashes {
		hashes[i] = zkmeta.JavaStringHash(key(i))
	}
	return cli.JavaHashOrder(hashes, cli.JavaTableSize(n, initial))
}

// describeOrder orders topic descriptions as TopicCommand prints them: the values of the HashMap that
// DescribeTopicsResult.allTopicNames builds (new HashMap<>(n)) from the sorted topic names.
func describeOrder(descs []topicDesc) []topicDesc {
	sorted := append([]topicDesc(nil), descs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	order := javaHashMapOrder(len(sorted), func(i int) string { return sorted[i].Name }, len(sorted))
	out := make([]topicDesc, len(sorted))
	for i, j := range order {
		out[i] = sorted[j]
	}
	return out
}

// log4jLine renders an ERROR event with Kafka's tools-log4j layout "[%d] %p %m (%c)%n", where the message
// is Utils.stackTrace(e): the exception line (and frames, which we do not have) ending in a newline.
func log4jLine(now time.Time, javaClass, msg, logger string) string {
	return "[" + now.Format("2006-01-02 15:04:05,000") + "] ERROR " + javaClass + ": " + msg + "\n (" + logger + ")\n"
}

// decodeBase64URL decodes URL-safe base64 with or without padding, as java.util.Base64's URL decoder.
func decodeBase64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
