package config

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/broker"
	"github.com/kafkazk/kafkazk/storage"
)

func TestLogConfigMapping(t *testing.T) {
	base := "broker.id=0\nzookeeper.connect=h\n"
	cases := []struct {
		name  string
		props string
		check func(c broker.Config) bool
	}{
		{"defaults", "", func(c broker.Config) bool {
			d := storage.DefaultLogConfig()
			return c.Storage.SegmentBytes == d.SegmentBytes && c.Storage.RetentionMs == 7*24*3600*1000 && c.Storage.FlushMs == d.FlushMs &&
				c.RetentionCheckInterval == 300*time.Second && c.LogCleanerEnable && c.LogCleanerThreads == 1 &&
				c.LogCleanerBackoff == 15*time.Second && c.FlushOffsetCheckpointInterval == time.Minute
		}},
		{"segment bytes", "log.segment.bytes=1048576", func(c broker.Config) bool { return c.Storage.SegmentBytes == 1048576 }},
		{"roll hours", "log.roll.hours=2", func(c broker.Config) bool { return c.Storage.SegmentMs == 2*3600*1000 }},
		{"roll ms wins", "log.roll.hours=2\nlog.roll.ms=5000", func(c broker.Config) bool { return c.Storage.SegmentMs == 5000 }},
		{"jitter hours", "log.roll.jitter.hours=1", func(c broker.Config) bool { return c.Storage.SegmentJitterMs == 3600*1000 }},
		{"jitter ms wins", "log.roll.jitter.hours=1\nlog.roll.jitter.ms=7", func(c broker.Config) bool { return c.Storage.SegmentJitterMs == 7 }},
		{"index", "log.index.size.max.bytes=4096\nlog.index.interval.bytes=100", func(c broker.Config) bool {
			return c.Storage.MaxIndexBytes == 4096 && c.Storage.IndexIntervalBytes == 100
		}},
		{"flush", "log.flush.interval.messages=10\nlog.flush.interval.ms=500", func(c broker.Config) bool {
			return c.Storage.FlushMessages == 10 && c.Storage.FlushMs == 500
		}},
		{"flush follows scheduler", "log.flush.scheduler.interval.ms=2000", func(c broker.Config) bool { return c.Storage.FlushMs == 2000 }},
		{"retention hours", "log.retention.hours=1", func(c broker.Config) bool { return c.Storage.RetentionMs == 3600*1000 }},
		{"retention minutes win", "log.retention.hours=1\nlog.retention.minutes=2", func(c broker.Config) bool { return c.Storage.RetentionMs == 120000 }},
		{"retention ms wins", "log.retention.hours=1\nlog.retention.minutes=2\nlog.retention.ms=10", func(c broker.Config) bool { return c.Storage.RetentionMs == 10 }},
		{"retention unlimited", "log.retention.hours=-5", func(c broker.Config) bool { return c.Storage.RetentionMs == -1 }},
		{"retention bytes", "log.retention.bytes=1000", func(c broker.Config) bool { return c.Storage.RetentionBytes == 1000 }},
		{"cleaner", "log.cleanup.policy=compact, delete\nlog.cleaner.delete.retention.ms=5\nlog.cleaner.min.cleanable.ratio=0.1\n" +
			"log.cleaner.min.compaction.lag.ms=6\nlog.cleaner.max.compaction.lag.ms=7\nlog.cleaner.enable=false\nlog.cleaner.threads=3\nlog.cleaner.backoff.ms=8",
			func(c broker.Config) bool {
				s := c.Storage
				return s.Compact() && s.Delete() && s.DeleteRetentionMs == 5 && s.MinCleanableDirtyRatio == 0.1 &&
					s.MinCompactionLagMs == 6 && s.MaxCompactionLagMs == 7 && !c.LogCleanerEnable && c.LogCleanerThreads == 3 &&
					c.LogCleanerBackoff == 8*time.Millisecond
			}},
		{"delete delay", "log.segment.delete.delay.ms=9", func(c broker.Config) bool { return c.Storage.FileDeleteDelayMs == 9 }},
		{"message keys", "message.max.bytes=2000\nlog.message.timestamp.type=LogAppendTime\nmin.insync.replicas=2\n" +
			"unclean.leader.election.enable=true\ncompression.type=zstd\nlog.preallocate=true", func(c broker.Config) bool {
			s := c.Storage
			return s.MaxMessageBytes == 2000 && c.MessageMaxBytes == 2000 && s.MessageTimestampType == "LogAppendTime" &&
				s.MinInsyncReplicas == 2 && s.UncleanLeaderElectionEnable && s.CompressionType == "zstd" && s.Preallocate
		}},
		{"broker intervals", "log.retention.check.interval.ms=1000\nlog.flush.offset.checkpoint.interval.ms=2000", func(c broker.Config) bool {
			return c.RetentionCheckInterval == time.Second && c.FlushOffsetCheckpointInterval == 2*time.Second
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			c, err := Load(writeProps(t, base+tc.props), nil, nil, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if logs.Len() != 0 {
				t.Fatalf("unexpected warnings: %s", logs.String())
			}
			if !tc.check(c) {
				t.Fatalf("mapping wrong: %+v", c.Storage)
			}
		})
	}
}

func TestLogConfigBadValuesNameTheKey(t *testing.T) {
	cases := []struct{ props, key string }{
		{"log.segment.bytes=10", "log.segment.bytes"},
		{"log.segment.bytes=big", "log.segment.bytes"},
		{"log.roll.hours=0", "log.roll.hours"},
		{"log.roll.ms=0", "log.roll.ms"},
		{"log.retention.ms=soon", "log.retention.ms"},
		{"log.retention.minutes=x", "log.retention.minutes"},
		{"log.cleanup.policy=shred", "log.cleanup.policy"},
		{"log.cleaner.min.cleanable.ratio=2", "log.cleaner.min.cleanable.ratio"},
		{"log.cleaner.max.compaction.lag.ms=0", "log.cleaner.max.compaction.lag.ms"},
		{"log.message.timestamp.type=Now", "log.message.timestamp.type"},
		{"compression.type=brotli", "compression.type"},
		{"log.preallocate=maybe", "log.preallocate"},
		{"log.index.size.max.bytes=2", "log.index.size.max.bytes"},
		{"log.flush.interval.messages=0", "log.flush.interval.messages"},
		{"log.retention.check.interval.ms=0", "log.retention.check.interval.ms"},
		{"log.cleaner.threads=-1", "log.cleaner.threads"},
		{"log.flush.offset.checkpoint.interval.ms=x", "log.flush.offset.checkpoint.interval.ms"},
	}
	for _, c := range cases {
		_, err := Load(writeProps(t, "broker.id=0\nzookeeper.connect=h\n"+c.props), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil || !strings.Contains(err.Error(), c.key) {
			t.Errorf("%q: error %v should name %s", c.props, err, c.key)
		}
	}
}
