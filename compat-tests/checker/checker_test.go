package checker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestVerifyReusedOffset: an acknowledgement at an offset that an earlier
// acknowledgement held with another value (the earlier one truncated by an
// unclean election, its offset reused) is a loss the checker reports,
// also in Vanished; AckedFrom lists what a replica ending at an offset
// lacks.
func TestVerifyReusedOffset(t *testing.T) {
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, v := range []string{"a", "b", "c"} { // offsets 0, 1, 2
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	c := New("t")
	c.ack(0, 0, "a")
	c.ack(0, 1, "x") // lost, then offset 1 acknowledged again for b
	c.ack(0, 1, "b")
	c.ack(0, 2, "c")
	c.ack(0, 3, "z") // beyond the log end: lost
	if n := c.Acked(); n != 5 {
		t.Errorf("Acked() = %d, want 5", n)
	}
	if got := c.AckedFrom(0, 2); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"c", "z"}) {
		t.Errorf("AckedFrom(0, 2) = %v, want [c z]", got)
	}
	rep, err := c.Verify(ctx, kc.ListenAddrs())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != 5 || rep.Read != 3 || len(rep.Lost) != 2 || len(rep.Inconsistent) != 0 || len(rep.Duplicated) != 0 ||
		!slices.Equal(rep.Vanished, []string{"x", "z"}) || rep.OK() {
		t.Errorf("report %s vanished %v", rep, rep.Vanished)
	}
}
