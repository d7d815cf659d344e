package zkmeta

import (
	"math/bits"
	"sort"
)

// Kafka writes znode JSON with Jackson from Scala/Java maps, so key order is the map's iteration order.
// These helpers reproduce that order (Scala 2.13, Java 11+) so our znodes are byte-for-byte Kafka's.

// JavaStringHash is java.lang.String.hashCode over UTF-16 code units (the
// order of Java collections, group coordinator partitions).
func JavaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// scalaMutableMapOrder returns the iteration order of a scala.collection.mutable.HashMap built by
// mutable.Map(initial...) and then `+=` of each key in added. 2.13: hash = h ^ (h >>> 16), bucket =
// hash & (len-1), buckets kept sorted by hash; the table doubles when size+1 >= 0.75*len.
func scalaMutableMapOrder(initial, added []string) []string {
	n := 16
	if len(initial) > 0 {
		c := int(float64(len(initial)+1) / 0.75)
		x := c - 1
		if x < 4 {
			x = 4
		}
		n = 1 << bits.Len(uint(x))
	}
	size := len(initial)
	for range added {
		if size+1 >= int(float64(n)*0.75) {
			n *= 2
		}
		size++
	}
	keys := append(append([]string(nil), initial...), added...)
	type ent struct {
		key  string
		hash int32
		pos  int
	}
	ents := make([]ent, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		h := JavaStringHash(k)
		ents = append(ents, ent{k, h ^ int32(uint32(h)>>16), i})
	}
	sort.SliceStable(ents, func(a, b int) bool {
		ia, ib := int(ents[a].hash)&(n-1), int(ents[b].hash)&(n-1)
		if ia != ib {
			return ia < ib
		}
		return ents[a].hash < ents[b].hash
	})
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.key
	}
	return out
}

// scalaImmutableMapOrder returns the iteration order of scala.collection.immutable.Map(keys...): Map1..Map4
// keep insertion order, five or more keys make a CHAMP HashMap.
func scalaImmutableMapOrder(keys []string) []string {
	var uniq []string
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, k)
		}
	}
	if len(uniq) <= 4 {
		return uniq
	}
	return champOrder(uniq, 0)
}

// champImprove is scala.collection.Hashing.improve.
func champImprove(hc int32) int32 {
	h := hc + ^(hc << 9)
	h ^= int32(uint32(h) >> 14)
	h += h << 4
	return h ^ int32(uint32(h)>>10)
}

// champOrder: a node's own entries by 5-bit mask, then its sub-nodes in mask order, depth first.
func champOrder(keys []string, shift uint) []string {
	if shift >= 32 {
		return keys // full hash collision: kept in insertion order
	}
	groups := make(map[int][]string)
	var masks []int
	for _, k := range keys {
		m := int(uint32(champImprove(JavaStringHash(k)))>>shift) & 31
		if _, ok := groups[m]; !ok {
			masks = append(masks, m)
		}
		groups[m] = append(groups[m], k)
	}
	sort.Ints(masks)
	var out []string
	for _, m := range masks {
		if len(groups[m]) == 1 {
			out = append(out, groups[m][0])
		}
	}
	for _, m := range masks {
		if len(groups[m]) > 1 {
			out = append(out, champOrder(groups[m], shift+5)...)
		}
	}
	return out
}

// javaPropertiesOrder returns the iteration order of java.util.Properties (a ConcurrentHashMap since Java 9)
// after setProperty of keys in order: 16 bins, spread = (h ^ h>>>16) & 0x7fffffff, appended to the bin's
// tail, resized (doubling) once the count reaches 0.75*len, bins split as ConcurrentHashMap.transfer does.
func javaPropertiesOrder(keys []string) []string {
	type node struct {
		key  string
		hash int32
	}
	n := 16
	tab := make([][]node, n)
	count := 0
	for _, k := range keys {
		h := JavaStringHash(k)
		sp := (h ^ int32(uint32(h)>>16)) & 0x7fffffff
		i := int(sp) & (n - 1)
		dup := false
		for _, e := range tab[i] {
			if e.key == k {
				dup = true
			}
		}
		if dup {
			continue
		}
		tab[i] = append(tab[i], node{k, sp})
		count++
		if count >= n-(n>>2) {
			nt := make([][]node, 2*n)
			for i, bin := range tab {
				if len(bin) == 0 {
					continue
				}
				// transfer: the trailing run with the same high bit keeps its order, the rest is prepended.
				runBit := int(bin[len(bin)-1].hash) & n
				last := len(bin) - 1
				for last > 0 && int(bin[last-1].hash)&n == runBit {
					last--
				}
				var lo, hi []node
				if runBit == 0 {
					lo = append(lo, bin[last:]...)
				} else {
					hi = append(hi, bin[last:]...)
				}
				for j := 0; j < last; j++ {
					if int(bin[j].hash)&n == 0 {
						lo = append([]node{bin[j]}, lo...)
					} else {
						hi = append([]node{bin[j]}, hi...)
					}
				}
				nt[i], nt[i+n] = lo, hi
			}
			tab, n = nt, 2*n
		}
	}
	var out []string
	for _, bin := range tab {
		for _, e := range bin {
			out = append(out, e.key)
		}
	}
	return out
}
