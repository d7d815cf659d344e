package reassign

import (
	"sort"
	"unicode/utf16"
)

// Kafka's tools print some sets in the iteration order of a java.util.HashSet, which scripts and
// people see; these helpers reproduce that order so the output matches byte for byte.

// javaStringHash is java.lang.String.hashCode over the UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaTopicPartitionHash is org.apache.kafka.common.TopicPartition.hashCode.
func javaTopicPartitionHash(topic string, partition int32) int32 {
	result := int32(31) + partition
	return 31*result + javaStringHash(topic)
}

// javaHashOrder returns the permutation of n elements with the given hash codes in which a HashSet
// (default capacity 16, load factor 0.75) filled in index order iterates them.
func javaHashOrder(hashes []int32) []int {
	capacity := 16
	for float64(len(hashes)) > 0.75*float64(capacity) {
		capacity *= 2
	}
	bucket := func(h int32) int {
		u := uint32(h)
		return int((u ^ (u >> 16)) & uint32(capacity-1))
	}
	idx := make([]int, len(hashes))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return bucket(hashes[idx[a]]) < bucket(hashes[idx[b]]) })
	return idx
}

// javaSetOrderInts orders distinct ints as a HashSet<Integer> iterates them (inserted in ascending order).
func javaSetOrderInts(vals []int32) []int32 {
	sorted := append([]int32(nil), vals...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	hashes := make([]int32, len(sorted))
	copy(hashes, sorted)
	out := make([]int32, 0, len(sorted))
	for _, i := range javaHashOrder(hashes) {
		out = append(out, sorted[i])
	}
	return out
}

// javaSetOrderStrings orders distinct strings as a HashSet<String> iterates them (inserted in sorted order).
func javaSetOrderStrings(vals []string) []string {
	sorted := append([]string(nil), vals...)
	sort.Strings(sorted)
	hashes := make([]int32, len(sorted))
	for i, s := range sorted {
		hashes[i] = javaStringHash(s)
	}
	out := make([]string, 0, len(sorted))
	for _, i := range javaHashOrder(hashes) {
		out = append(out, sorted[i])
	}
	return out
}
