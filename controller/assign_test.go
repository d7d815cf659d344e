package controller

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The example of DESIGN.md and the seed: brokers 0..3, 16 partitions, RF 3,
// fixed start index and shift 0.
func TestAssignReplicasMatchesKafka(t *testing.T) {
	got, err := assignReplicas([]int32{3, 1, 0, 2}, 16, 3, 0, 0, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]int32{
		0: {0, 1, 2}, 1: {1, 2, 3}, 2: {2, 3, 0}, 3: {3, 0, 1},
		4: {0, 2, 3}, 5: {1, 3, 0}, 8: {0, 3, 1}, 12: {0, 1, 2},
	}
	for p, w := range want {
		if !slices.Equal(got[p], w) {
			t.Errorf("partition %d: got %v want %v", p, got[p], w)
		}
	}
	if len(got) != 16 {
		t.Errorf("got %d partitions", len(got))
	}
}

func TestAssignReplicasErrors(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name    string
		brokers []int32
		parts   int32
		rf      int16
	}{
		{"rf larger than brokers", []int32{0}, 1, 2},
		{"zero partitions", []int32{0}, 0, 1},
		{"zero rf", []int32{0}, 1, 0},
	}
	for _, c := range cases {
		if _, err := assignReplicas(c.brokers, c.parts, c.rf, -1, -1, 0, rnd); err == nil {
			t.Errorf("%s: expected an error", c.name)
		}
	}
}

func TestAssignReplicasDistinctReplicas(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 6; n++ {
		brokers := make([]int32, n)
		for i := range brokers {
			brokers[i] = int32(i * 10)
		}
		for rf := 1; rf <= n; rf++ {
			got, err := assignReplicas(brokers, 20, int16(rf), -1, -1, 0, rnd)
			if err != nil {
				t.Fatal(err)
			}
			for p, r := range got {
				s := slices.Clone(r)
				slices.Sort(s)
				if len(slices.Compact(s)) != rf {
					t.Fatalf("n=%d rf=%d partition %d: replicas %v not distinct", n, rf, p, r)
				}
			}
		}
	}
}
