package cli

import (
	"sort"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// Kafka's tools print many lists in the iteration order of a
// java.util.HashMap or HashSet. These reproduce that order from the keys'
// Java hash codes, so output matches Kafka's line for line. Treeified bins
// (8+ collisions in one bucket) are not modelled.

// TopicPartitionHash is org.apache.kafka.common.TopicPartition.hashCode.
func TopicPartitionHash(topic string, partition int32) int32 {
	return 31*(31+partition) + zkmeta.JavaStringHash(topic)
}

// JavaStringHashes is String.hashCode of each string.
func JavaStringHashes(ss []string) []int32 {
	hs := make([]int32, len(ss))
	for i, s := range ss {
		hs[i] = zkmeta.JavaStringHash(s)
	}
	return hs
}

// JavaTableSize is the table length of a java.util.HashMap created with
// the given initial capacity (rounded up to a power of two, as
// tableSizeFor does) once n entries were put one by one: it doubles
// whenever the size exceeds 0.75 of it.
func JavaTableSize(n, initial int) int {
	c := 1
	for c < initial {
		c <<= 1
	}
	for float64(n) > 0.75*float64(c) {
		c <<= 1
	}
	return c
}

// JavaSpread is HashMap.hash: the high half folded into the low half.
func JavaSpread(h int32) uint32 { return uint32(h) ^ uint32(h)>>16 }

// JavaHashOrder returns the iteration order (indexes into hashes, which
// are in insertion order) of a HashMap or HashSet with a table of the
// given length: by bucket, then by insertion.
func JavaHashOrder(hashes []int32, table int) []int {
	idx := make([]int, len(hashes))
	for i := range idx {
		idx[i] = i
	}
	mask := uint32(table - 1)
	sort.SliceStable(idx, func(a, b int) bool {
		return JavaSpread(hashes[idx[a]])&mask < JavaSpread(hashes[idx[b]])&mask
	})
	return idx
}

// JavaHashMapOrder is the order of a HashMap or HashSet filled by put from
// the default capacity (16).
func JavaHashMapOrder(hashes []int32) []int {
	return JavaHashOrder(hashes, JavaTableSize(len(hashes), 16))
}

// JavaHashSetCopyOrder is the order of new HashSet<>(collection): its
// table is sized for the collection up front (max(n/.75+1, 16), rounded up
// to a power of two).
func JavaHashSetCopyOrder(hashes []int32) []int {
	return JavaHashOrder(hashes, JavaTableSize(0, max(int(float32(len(hashes))/0.75)+1, 16)))
}
