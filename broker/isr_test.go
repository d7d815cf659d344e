package broker

import (
	"slices"
	"testing"
)

func TestFollowerCaughtUp(t *testing.T) {
	const lag = 1000
	tests := []struct {
		name   string
		fetch  []struct{ offset, now, leaderLEO int64 }
		check  struct{ now, leaderLEO int64 }
		caught bool
	}{
		{
			name:   "at the leader's LEO",
			fetch:  []struct{ offset, now, leaderLEO int64 }{{100, 0, 100}},
			check:  struct{ now, leaderLEO int64 }{5000, 100},
			caught: true,
		},
		{
			name:   "behind, but reached the LEO of its previous fetch",
			fetch:  []struct{ offset, now, leaderLEO int64 }{{50, 0, 100}, {100, 900, 150}},
			check:  struct{ now, leaderLEO int64 }{1000, 150},
			caught: true, // the fetch at 900 reached the LEO the leader had at 0: caught up at 0
		},
		{
			name:   "behind for longer than the lag",
			fetch:  []struct{ offset, now, leaderLEO int64 }{{50, 0, 100}, {60, 900, 150}},
			check:  struct{ now, leaderLEO int64 }{2100, 150},
			caught: false,
		},
		{
			name:   "behind within the lag",
			fetch:  []struct{ offset, now, leaderLEO int64 }{{100, 1000, 100}, {100, 1500, 150}},
			check:  struct{ now, leaderLEO int64 }{2000, 150},
			caught: true,
		},
		{
			name:   "never fetched, not in ISR",
			check:  struct{ now, leaderLEO int64 }{2000, 150},
			caught: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFollowerState(false, 0, 0)
			for _, x := range tc.fetch {
				f.updateFetch(x.offset, 0, x.now, x.leaderLEO)
			}
			if got := f.caughtUp(tc.check.leaderLEO, tc.check.now, lag); got != tc.caught {
				t.Fatalf("caughtUp = %v, want %v (state %+v)", got, tc.caught, *f)
			}
		})
	}
}

func TestHighWatermarkFor(t *testing.T) {
	const self, lag, now = 1, 1000, 10_000
	fs := func(leo, caughtMs int64) *followerState {
		return &followerState{leo: leo, lastCaughtUpMs: caughtMs}
	}
	tests := []struct {
		name      string
		leaderLEO int64
		isr       []int32
		followers map[int32]*followerState
		want      int64
	}{
		{"alone", 10, []int32{1}, map[int32]*followerState{}, 10},
		{"min over ISR", 10, []int32{1, 2, 3}, map[int32]*followerState{2: fs(7, now), 3: fs(9, now)}, 7},
		{"lagging ISR member still counts", 10, []int32{1, 2, 3}, map[int32]*followerState{2: fs(3, 0), 3: fs(10, now)}, 3},
		{"unknown LEO of an ISR member holds the HW", 10, []int32{1, 2}, map[int32]*followerState{2: fs(-1, now)}, -1},
		{"out-of-ISR lagging follower ignored", 10, []int32{1, 2}, map[int32]*followerState{2: fs(10, now), 3: fs(2, 0)}, 10},
		{"out-of-ISR caught-up follower about to join counts", 10, []int32{1, 2}, map[int32]*followerState{2: fs(10, now), 3: fs(8, now-10)}, 8},
		{"follower ahead of leader LEO", 10, []int32{1, 2}, map[int32]*followerState{2: fs(12, now)}, 10},
		{"caught-up follower of a dead broker ignored", 10, []int32{1, 2}, map[int32]*followerState{2: fs(10, now), 4: fs(8, now-10)}, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := highWatermarkFor(self, tc.leaderLEO, tc.isr, tc.followers, now, lag, func(id int32) bool { return id != 4 }); got != tc.want {
				t.Fatalf("HW = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOutOfSyncReplicas(t *testing.T) {
	const self, lag, now = 1, 1000, 10_000
	tests := []struct {
		name      string
		isr       []int32
		followers map[int32]*followerState
		want      []int32
	}{
		{"all caught up", []int32{1, 2, 3}, map[int32]*followerState{2: {leo: 10, lastCaughtUpMs: now}, 3: {leo: 5, lastCaughtUpMs: now - 500}}, nil},
		{"one stale", []int32{1, 2, 3}, map[int32]*followerState{2: {leo: 10, lastCaughtUpMs: now}, 3: {leo: 5, lastCaughtUpMs: now - 1500}}, []int32{3}},
		{"at the LEO never stale", []int32{1, 2}, map[int32]*followerState{2: {leo: 10, lastCaughtUpMs: 0}}, nil},
		{"unknown follower", []int32{1, 4}, map[int32]*followerState{}, []int32{4}},
		{"leader never listed", []int32{1}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := outOfSyncReplicas(self, 10, tc.isr, tc.followers, now, lag)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("out of sync = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestFollowerInSync(t *testing.T) {
	tests := []struct {
		leo, hw, epochStart int64
		want                bool
	}{
		{10, 10, 5, true},
		{9, 10, 5, false},
		{10, 8, 12, false},
		{-1, 0, 0, false},
		{12, 10, 12, true},
	}
	for _, tc := range tests {
		if got := followerInSync(tc.leo, tc.hw, tc.epochStart); got != tc.want {
			t.Errorf("followerInSync(%d, %d, %d) = %v, want %v", tc.leo, tc.hw, tc.epochStart, got, tc.want)
		}
	}
}

func TestTruncationOffset(t *testing.T) {
	tests := []struct {
		name              string
		leaderEpoch       int32
		leaderEnd         int64
		localEpoch        int32
		localEnd, leo, hw int64
		wantOffset        int64
		wantComplete      bool
	}{
		{"same epoch, leader shorter", 3, 80, 3, 100, 100, 50, 80, true},
		{"same epoch, follower shorter", 3, 120, 3, 100, 100, 50, 100, true},
		{"leader answers an older epoch we also have", 2, 60, 2, 70, 100, 50, 60, true},
		{"we lack the leader's epoch", 3, 60, 2, 55, 100, 50, 55, false},
		{"leader knows no such epoch", -1, -1, -1, -1, 100, 40, 40, true},
		{"old leader without epochs", -1, 90, -1, -1, 100, 40, 90, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			off, complete := truncationOffset(tc.leaderEpoch, tc.leaderEnd, tc.localEpoch, tc.localEnd, tc.leo, tc.hw)
			if off != tc.wantOffset || complete != tc.wantComplete {
				t.Fatalf("truncationOffset = (%d, %v), want (%d, %v)", off, complete, tc.wantOffset, tc.wantComplete)
			}
		})
	}
}

// Partition.effectiveMinIsr: min.insync.replicas capped at the number of
// replicas (the remote replicas plus the leader).
func TestEffectiveMinISR(t *testing.T) {
	const self = 1
	tests := []struct {
		name     string
		minISR   int32
		replicas []int32
		want     int32
	}{
		{"below the replication factor", 2, []int32{1, 2, 3}, 2},
		{"equal to it", 3, []int32{1, 2, 3}, 3},
		{"above it: RF 1, min.insync.replicas 2", 2, []int32{1}, 1},
		{"above it: RF 2, min.insync.replicas 3", 3, []int32{2, 1}, 2},
		{"reassignment: every replica of the assignment counts", 3, []int32{1, 2, 3, 4}, 3},
		{"leader missing from the assignment still counts once", 3, []int32{2, 3}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := effectiveMinISR(tc.minISR, self, tc.replicas); got != tc.want {
				t.Fatalf("effectiveMinISR(%d, %v) = %d, want %d", tc.minISR, tc.replicas, got, tc.want)
			}
		})
	}
}

// Partition.isUnderMinIsr: a leader whose committed ISR is smaller than the
// effective min ISR; a follower never is.
func TestUnderMinISR(t *testing.T) {
	const self = 1
	tests := []struct {
		name     string
		leading  bool
		isr      []int32
		replicas []int32
		minISR   int32
		want     bool
	}{
		{"full ISR", true, []int32{1, 2, 3}, []int32{1, 2, 3}, 2, false},
		{"at min ISR", true, []int32{1, 2}, []int32{1, 2, 3}, 2, false},
		{"below min ISR", true, []int32{1}, []int32{1, 2, 3}, 2, true},
		{"RF 1, min.insync.replicas 2", true, []int32{1}, []int32{1}, 2, false},
		{"RF 2, min.insync.replicas 3, ISR 1", true, []int32{1}, []int32{1, 2}, 3, true},
		{"follower below min ISR", false, []int32{2}, []int32{1, 2, 3}, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := underMinISR(self, tc.leading, tc.isr, tc.replicas, tc.minISR); got != tc.want {
				t.Fatalf("underMinISR = %v, want %v", got, tc.want)
			}
		})
	}
}
