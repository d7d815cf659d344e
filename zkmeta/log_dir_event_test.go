package zkmeta

import (
	"errors"
	"slices"
	"testing"
)

func TestLogDirEventCodec(t *testing.T) {
	if got, want := string(EncodeLogDirEvent(3)), `{"version":1,"broker":3,"event":1}`; got != want {
		t.Fatalf("encode: %s, want %s", got, want)
	}
	for _, tc := range []struct {
		data string
		id   int32
		ok   bool
	}{
		{`{"version":1,"broker":3,"event":1}`, 3, true},
		{`{"broker":12}`, 12, true},
		{`{"version":1,"event":1}`, 0, false},
		{`not json`, 0, false},
		{``, 0, false},
	} {
		id, err := DecodeLogDirEvent([]byte(tc.data))
		if (err == nil) != tc.ok || id != tc.id {
			t.Errorf("decode %q: %d, %v; want %d ok=%v", tc.data, id, err, tc.id, tc.ok)
		}
	}
	for name, want := range map[string]bool{"log_dir_event_0000000007": true, "log_dir_event_": false, "log_dir_event_x": false, "other_1": false} {
		if _, ok := LogDirEventSeq(name); ok != want {
			t.Errorf("LogDirEventSeq(%q) = %v", name, ok)
		}
	}
}

// A broker's notifications are sequential znodes the controller reads and
// deletes, fenced by its epoch; a bad one is reported and skipped.
func TestLogDirEventNotifications(t *testing.T) {
	a, b := pair(t)
	_, _, epochZkVersion, err := a.ElectController(1)
	if err != nil {
		t.Fatal(err)
	}
	names, watch, err := a.WatchLogDirEvents()
	if err != nil || len(names) != 0 {
		t.Fatalf("initial: %v, %v", names, err)
	}
	p1, err := b.PropagateLogDirEvent(2)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != LogDirEventPath+"/"+LogDirEventPrefix+"0000000000" {
		t.Fatalf("path %s", p1)
	}
	waitEvent(t, watch)
	if _, err := b.PropagateLogDirEvent(3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(LogDirEventPath+"/"+LogDirEventPrefix+"9999999999", []byte("{bad"), Persistent); err != nil {
		t.Fatal(err)
	}
	names, _, err = a.WatchLogDirEvents()
	if err != nil || len(names) != 3 {
		t.Fatalf("listed %v, %v", names, err)
	}
	ids, bad, err := a.LogDirEventBrokers(append(names, LogDirEventPrefix+"0000000042"))
	if err != nil || !slices.Equal(ids, []int32{2, 3}) || bad == nil {
		t.Fatalf("brokers %v, bad %v, err %v", ids, bad, err)
	}
	if err := a.DeleteLogDirEvents(epochZkVersion+1, names); !errors.Is(err, ErrControllerMoved) {
		t.Fatalf("stale epoch delete: %v", err)
	}
	if err := a.DeleteLogDirEvents(epochZkVersion, append(names, LogDirEventPrefix+"0000000042")); err != nil {
		t.Fatal(err)
	}
	if left, err := a.Children(LogDirEventPath); err != nil || len(left) != 0 {
		t.Fatalf("left %v, %v", left, err)
	}
}
