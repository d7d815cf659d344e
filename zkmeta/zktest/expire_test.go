package zktest

import "testing"

// java.util.Random's first ints for a few seeds (new Random(seed).nextInt()).
func TestJavaRandom(t *testing.T) {
	for _, tc := range []struct {
		seed int64
		want int32
	}{
		{0, -1155484576},
		{42, -1170105035},
	} {
		if got := newJavaRandom(tc.seed).next(32); got != tc.want {
			t.Errorf("new Random(%d).nextInt() = %d, want %d", tc.seed, got, tc.want)
		}
	}
}
