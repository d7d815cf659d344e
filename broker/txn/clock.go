package txn

import "time"

// Clock is the coordinator's source of time and timers: transaction
// timeouts, transactional-id expiry, the periodic abort and expiry tasks.
// Tests plug in a manual clock.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it did.
	Stop() bool
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// SystemClock is the wall clock.
func SystemClock() Clock { return systemClock{} }

func (c *Coordinator) nowMs() int64 { return c.clock.Now().UnixMilli() }
