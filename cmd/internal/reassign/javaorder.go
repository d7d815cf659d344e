package reassign

import (
	"sort"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// javaSetOrderInts orders distinct ints as a HashSet<Integer> iterates them (inserted in ascending order).
func javaSetOrderInts(vals []int32) []int32 {
	sorted := append([]int32(nil), vals...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	out := make([]int32, 0, len(sorted))
	for _, i := range cli.JavaHashMapOrder(sorted) { // Integer.hashCode is the value
		out = append(out, sorted[i])
	}
	return out
}

// javaSetOrderStrings orders distinct strings as a HashSet<String> iterates them (inserted in sorted order).
func javaSetOrderStrings(vals []string) []string {
	sorted := append([]string(nil), vals...)
	sort.Strings(sorted)
	out := make([]string, 0, len(sorted))
	for _, i := range cli.JavaHashMapOrder(cli.JavaStringHashes(sorted)) {
		out = append(out, sorted[i])
	}
	return out
}
