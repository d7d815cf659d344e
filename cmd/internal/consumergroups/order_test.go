package consumergroups

import (
	"fmt"
	"slices"
	"testing"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"

	"github.com/kafkazk/kafkazk/zkmeta"
)

// The expected orders were printed by a JVM (java.util.HashMap/HashSet with TopicPartition's hashCode).
func TestJavaCollectionOrders(t *testing.T) {
	tps := func(topic string, ps ...int32) []tp {
		out := make([]tp, len(ps))
		for i, p := range ps {
			out[i] = tp{topic, p}
		}
		return out
	}
	cat := func(parts ...[]tp) []tp { return slices.Concat(parts...) }
	for i, c := range []struct {
		name string
		in   []tp
		got  func([]tp) []tp
		want []tp
	}{
		{"hashmap one topic", tps("t1", 0, 1, 2, 3, 4, 5), inJavaHashMapOrder, tps("t1", 5, 4, 3, 2, 1, 0)},
		{"hashmap resized to 32", cat(tps("orders", 0, 1, 2, 3, 4), tps("payments", 0, 1, 2, 3, 4), tps("a-very-long-topic-name", 0, 1, 2, 3, 4)),
			inJavaHashMapOrder,
			cat(tps("payments", 4, 3, 0, 2, 1), tps("a-very-long-topic-name", 0, 4, 3, 2, 1), tps("orders", 0, 1, 2, 3, 4))},
		{"hashset copy", cat(tps("x", 0, 1), tps("y", 0, 1), tps("x", 2)),
			func(in []tp) []tp { return reorder(in, cli.JavaHashSetCopyOrder(tpHashes(in))) },
			cat(tps("x", 2, 1, 0), tps("y", 1, 0))},
	} {
		t.Run(fmt.Sprint(i, c.name), func(t *testing.T) {
			if got := c.got(c.in); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	groups := []string{"g1", "group-b", "console-consumer-1234", "zz"}
	if got := reorder(groups, cli.JavaHashMapOrder(cli.JavaStringHashes(groups))); !slices.Equal(got, []string{"zz", "group-b", "console-consumer-1234", "g1"}) {
		t.Errorf("group order %v", got)
	}
}

func TestJavaStringHash(t *testing.T) {
	for s, want := range map[string]int32{"": 0, "a": 97, "t1": 3645, "hello": 99162322, "€": 8364, "𝄞": 1772394} {
		if got := zkmeta.JavaStringHash(s); got != want {
			t.Errorf("hash(%q) = %d, want %d", s, got, want)
		}
	}
}

// A Scala Map of up to four entries keeps insertion order; from five on, its CHAMP trie orders
// entries by their improved hash's 5-bit fragments, node entries before sub-nodes.
func TestScalaMapOrder(t *testing.T) {
	small := []int32{40, 3, 17, 9}
	if got := scalaMapOrder(small); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Errorf("Map4 order %v", got)
	}
	// improve is a bijection: choose hashes whose improved values are known fragments.
	if scalaImprove(0) != scalaImprove(0) || scalaImprove(1) == scalaImprove(2) {
		t.Fatal("improve is not a function")
	}
	hashes := []int32{5, 4, 3, 2, 1, 0}
	got := scalaMapOrder(hashes)
	frag := func(i int, shift uint) uint32 { return scalaImprove(hashes[i]) >> shift & 31 }
	// The order is a permutation, and within the root level entries alone in their fragment come
	// first, by fragment.
	if len(got) != len(hashes) {
		t.Fatalf("order %v", got)
	}
	seen := map[int]bool{}
	for _, i := range got {
		seen[i] = true
	}
	if len(seen) != len(hashes) {
		t.Fatalf("order %v is not a permutation", got)
	}
	count := map[uint32]int{}
	for i := range hashes {
		count[frag(i, 0)]++
	}
	var last uint32
	for n, i := range got {
		if count[frag(i, 0)] != 1 {
			break
		}
		if n > 0 && frag(i, 0) < last {
			t.Errorf("root entries out of fragment order: %v", got)
		}
		last = frag(i, 0)
	}
}
