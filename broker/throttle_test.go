package broker

import (
	"math"
	"testing"
	"time"
)

func TestParseThrottledReplicas(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  throttledPartitions
	}{
		{"*", throttledPartitions{all: true}},
		{" * ", throttledPartitions{all: true}},
		{"0:1,1:2,2:1", throttledPartitions{parts: map[int32]bool{0: true, 2: true}}},
		{"0:2, 3 : 1 ,bad,4:x", throttledPartitions{parts: map[int32]bool{3: true}}},
		{"", throttledPartitions{parts: map[int32]bool{}}},
	} {
		got := parseThrottledReplicas(tc.value, 1)
		if got.all != tc.want.all || len(got.parts) != len(tc.want.parts) {
			t.Fatalf("%q: got %+v want %+v", tc.value, got, tc.want)
		}
		for p := range tc.want.parts {
			if !got.parts[p] {
				t.Fatalf("%q: partition %d not throttled", tc.value, p)
			}
		}
	}
}

func TestReplicationQuotaRate(t *testing.T) {
	q := newReplicationQuota(3, time.Second)
	t0 := time.UnixMilli(1_000_000)
	if q.isQuotaExceeded(t0) {
		t.Fatal("unbounded quota exceeded")
	}
	q.updateQuota(1000)
	q.record(1500, t0)
	// One sample counts as 2 full windows: 1500 B / 2 s = 750 B/s.
	if q.isQuotaExceeded(t0) {
		t.Fatal("750 B/s exceeds 1000 B/s")
	}
	q.record(1100, t0.Add(500*time.Millisecond))
	if !q.isQuotaExceeded(t0.Add(500 * time.Millisecond)) {
		t.Fatal("2600 B over 2.5 s does not exceed 1000 B/s")
	}
	// After the whole 3 s window the samples are gone.
	if q.isQuotaExceeded(t0.Add(3 * time.Second)) {
		t.Fatal("quota still exceeded after the window")
	}
	q.updateQuota(math.MaxInt64)
	q.record(1<<30, t0.Add(4*time.Second))
	if q.isQuotaExceeded(t0.Add(4 * time.Second)) {
		t.Fatal("unbounded quota exceeded")
	}
}

func TestReplicationQuotasConfigs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BrokerID = 2
	r := newReplicationQuotas(cfg)
	r.setBrokerConfigs(false, map[string]string{leaderThrottledRateKey: "500", followerThrottledRateKey: "700", "other": "1"})
	r.setBrokerConfigs(true, map[string]string{leaderThrottledRateKey: "100"})
	if r.leader.bound != 100 || r.follower.bound != 700 {
		t.Fatalf("bounds %v %v, want own 100 and default 700", r.leader.bound, r.follower.bound)
	}
	own, defaults := r.brokerConfigs()
	if len(own) != 1 || len(defaults) != 2 {
		t.Fatalf("configs %v %v", own, defaults)
	}
	r.setBrokerConfigs(true, nil)
	r.setBrokerConfigs(false, nil)
	if !math.IsInf(r.leader.bound, 1) || !math.IsInf(r.follower.bound, 1) {
		t.Fatal("quotas still bounded")
	}
	r.setTopicConfig("t", map[string]string{leaderThrottledReplicasKey: "0:2,1:3", followerThrottledReplicasKey: "*"})
	if !r.leader.isThrottled("t", 0) || r.leader.isThrottled("t", 1) || !r.follower.isThrottled("t", 9) || r.leader.isThrottled("u", 0) {
		t.Fatal("wrong throttled replicas")
	}
	r.setTopicConfig("t", map[string]string{})
	if r.leader.isThrottled("t", 0) || r.follower.isThrottled("t", 0) {
		t.Fatal("throttles not removed")
	}
}
