package consumergroups

import (
	"sort"
	"strconv"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// ConsumerGroupCommand prints rows in the iteration order of the Java and Scala collections it builds
// them in. These functions reproduce those orders from the keys' Java hash codes so that the output
// matches Kafka's line for line, not only as a set.

// tp is a TopicPartition.
type tp struct {
	Topic     string
	Partition int32
}

// String is TopicPartition.toString.
func (t tp) String() string { return t.Topic + "-" + strconv.Itoa(int(t.Partition)) }

// hash is TopicPartition.hashCode.
func (t tp) hash() int32 { return cli.TopicPartitionHash(t.Topic, t.Partition) }

func tpHashes(tps []tp) []int32 {
	hs := make([]int32, len(tps))
	for i, t := range tps {
		hs[i] = t.hash()
	}
	return hs
}

func identity(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// scalaImprove is scala.collection.Hashing.improve, applied to keys of immutable.HashMap.
func scalaImprove(h int32) uint32 {
	x := uint32(h)
	x = x + ^(x << 9)
	x ^= x >> 14
	x += x << 4
	return x ^ x>>10
}

// scalaMapOrder is the iteration order of a Scala 2.13 immutable.Map built from keys in insertion
// order (hashes[i] is the Java hash code of key i; keys are distinct): Map1..Map4 keep insertion order;
// from five keys on it is a CHAMP HashMap, iterated depth first, each node's own entries (by their
// 5-bit hash fragment) before its sub-nodes (by fragment).
func scalaMapOrder(hashes []int32) []int {
	idx := identity(len(hashes))
	if len(hashes) <= 4 {
		return idx
	}
	improved := make([]uint32, len(hashes))
	for i, h := range hashes {
		improved[i] = scalaImprove(h)
	}
	return champOrder(idx, improved, 0)
}

func champOrder(idx []int, improved []uint32, shift uint) []int {
	if shift >= 32 || len(idx) <= 1 { // a collision node keeps insertion order
		return idx
	}
	byFrag := map[uint32][]int{}
	for _, i := range idx {
		f := improved[i] >> shift & 31
		byFrag[f] = append(byFrag[f], i)
	}
	frags := make([]uint32, 0, len(byFrag))
	for f := range byFrag {
		frags = append(frags, f)
	}
	sort.Slice(frags, func(a, b int) bool { return frags[a] < frags[b] })
	var out []int
	for _, f := range frags { // payload first
		if len(byFrag[f]) == 1 {
			out = append(out, byFrag[f][0])
		}
	}
	for _, f := range frags { // then sub-nodes
		if len(byFrag[f]) > 1 {
			out = append(out, champOrder(byFrag[f], improved, shift+5)...)
		}
	}
	return out
}

// scalaMutableHashMapOrder is the iteration order of a Scala 2.13 mutable.HashMap: by bucket of the
// spread hash, each bucket kept sorted by that hash.
func scalaMutableHashMapOrder(hashes []int32) []int {
	table := cli.JavaTableSize(len(hashes), 16)
	idx := identity(len(hashes))
	sort.SliceStable(idx, func(a, b int) bool {
		ha, hb := cli.JavaSpread(hashes[idx[a]]), cli.JavaSpread(hashes[idx[b]])
		ba, bb := ha&uint32(table-1), hb&uint32(table-1)
		if ba != bb {
			return ba < bb
		}
		return int32(ha) < int32(hb)
	})
	return idx
}

// reorder returns items in the order given by idx.
func reorder[T any](items []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out
}

// dedupe keeps the first occurrence of each key, as a Map built by successive updates keeps a key's
// first position.
func dedupe[T comparable](items []T) []T {
	seen := make(map[T]bool, len(items))
	out := items[:0:0]
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

// inScalaMapOrder orders distinct topic partitions as a Scala immutable Map keyed by them iterates.
func inScalaMapOrder(tps []tp) []tp {
	tps = dedupe(tps)
	return reorder(tps, scalaMapOrder(tpHashes(tps)))
}

// inJavaHashMapOrder orders distinct topic partitions as a java.util.HashMap filled in this order.
func inJavaHashMapOrder(tps []tp) []tp {
	tps = dedupe(tps)
	return reorder(tps, cli.JavaHashMapOrder(tpHashes(tps)))
}
