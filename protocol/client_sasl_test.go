package protocol

import (
	"testing"
	"time"
)

// TestRenewAfter is SaslClientAuthenticator's re-authentication time: 85%
// to 95% of the session lifetime, truncated to the millisecond.
func TestRenewAfter(t *testing.T) {
	for _, c := range []struct {
		lifetime time.Duration
		u        float64
		want     time.Duration
	}{
		{time.Second, 0, 850 * time.Millisecond},
		{time.Second, 0.5, 900 * time.Millisecond},
		{time.Second, 0.9999, 949 * time.Millisecond},
		{3 * time.Millisecond, 0, 2 * time.Millisecond},
	} {
		if got := renewAfter(c.lifetime, c.u); got != c.want {
			t.Errorf("renewAfter(%v, %v) = %v, want %v", c.lifetime, c.u, got, c.want)
		}
	}
}
