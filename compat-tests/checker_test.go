package compat_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/compat-tests/checker"
	"github.com/kafkazk/kafkazk/compat-tests/cluster"
	"github.com/kafkazk/kafkazk/compat-tests/internal/harness"
)

// The checker itself: a steady acks=all load against one broker with a
// pause in the middle reads back with zero lost, duplicated or
// inconsistent records.
func TestCheckerSteadyLoad(t *testing.T) {
	c := cluster.Start(t, 1)
	harness.CreateTopic(t, c, "checked", 3, 1)
	chk := checker.New("checked")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(500 * time.Millisecond)
		c.Pause(0)
		time.Sleep(300 * time.Millisecond)
		c.Resume(0)
	}()
	chk.Produce(ctx, c.Client(), 50)
	if chk.Acked() == 0 {
		t.Fatal("nothing was acknowledged")
	}
	vctx, vcancel := context.WithTimeout(context.Background(), time.Minute)
	defer vcancel()
	rep, err := chk.Verify(vctx, strings.Split(c.Bootstrap(), ","))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Acked != chk.Acked() {
		t.Fatalf("checker: %s", rep)
	}
	t.Logf("checker: %s failed=%d", rep, chk.Failed())
}
