package storage

import (
	"strings"
	"testing"
)

func TestLogConfigOverrides(t *testing.T) {
	base := DefaultLogConfig()
	got, err := base.WithOverrides(map[string]string{
		"segment.bytes": "1048576", "retention.ms": "-1", "cleanup.policy": "compact,delete",
		"min.cleanable.dirty.ratio": "0.25", "message.timestamp.type": "LogAppendTime",
		"follower.replication.throttled.replicas": "*", // not storage's: ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.SegmentBytes != 1048576 || got.RetentionMs != -1 || !got.Compact() || !got.Delete() ||
		got.MinCleanableDirtyRatio != 0.25 || got.MessageTimestampType != "LogAppendTime" {
		t.Fatalf("overrides not applied: %+v", got)
	}
	if base.Compact() || !base.Delete() {
		t.Fatal("the base config must not change")
	}
	v := got.Values()
	if v["segment.bytes"] != "1048576" || v["cleanup.policy"] != "compact,delete" || v["retention.bytes"] != "-1" {
		t.Fatalf("values: %v", v)
	}
}

func TestLogConfigInvalidValuesNameTheKey(t *testing.T) {
	cases := map[string]string{
		"segment.bytes":             "10",
		"retention.ms":              "soon",
		"cleanup.policy":            "archive",
		"min.cleanable.dirty.ratio": "2",
		"message.timestamp.type":    "Now",
		"preallocate":               "maybe",
	}
	for k, v := range cases {
		_, err := DefaultLogConfig().WithOverrides(map[string]string{k: v})
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: error %v should name the key", k, v, err)
		}
	}
}
