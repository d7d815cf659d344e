package config

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kafkazk/kafkazk/broker"
)

func TestGroupCoordinatorKeys(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	base := "zookeeper.connect=h:2181\n"
	c, err := Load(writeProps(t, base), nil, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	d := broker.DefaultConfig()
	if c.OffsetsTopicNumPartitions != 50 || c.OffsetsTopicReplicationFactor != 3 || c.GroupInitialRebalanceDelay != 3*time.Second ||
		c.OffsetsRetention != 7*24*time.Hour || c.GroupMaxSize != d.GroupMaxSize || c.OffsetsTopicSegmentBytes != 104857600 {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Load(writeProps(t, base+strings.Join([]string{
		"offsets.topic.num.partitions=4", "offsets.topic.replication.factor=1", "offsets.topic.segment.bytes=1024",
		"offsets.topic.compression.codec=1", "offsets.retention.minutes=2", "offsets.retention.check.interval.ms=500",
		"offsets.commit.timeout.ms=700", "offsets.load.buffer.size=4096", "offset.metadata.max.bytes=10",
		"group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=100", "group.max.session.timeout.ms=200",
		"group.max.size=3", "offsets.commit.required.acks=-1",
	}, "\n")), nil, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if c.OffsetsTopicNumPartitions != 4 || c.OffsetsTopicReplicationFactor != 1 || c.OffsetsTopicSegmentBytes != 1024 ||
		c.OffsetsTopicCompressionCodec != 1 || c.OffsetsRetention != 2*time.Minute || c.OffsetsRetentionCheckInterval != 500*time.Millisecond ||
		c.OffsetCommitTimeout != 700*time.Millisecond || c.OffsetsLoadBufferSize != 4096 || c.OffsetMetadataMaxBytes != 10 ||
		c.GroupInitialRebalanceDelay != 0 || c.GroupMinSessionTimeout != 100*time.Millisecond ||
		c.GroupMaxSessionTimeout != 200*time.Millisecond || c.GroupMaxSize != 3 {
		t.Fatalf("set values: %+v", c)
	}
	for _, bad := range []string{
		"offsets.topic.num.partitions=0", "offsets.topic.replication.factor=0", "offsets.topic.replication.factor=40000",
		"offsets.topic.compression.codec=9", "offsets.retention.minutes=0", "offsets.commit.timeout.ms=x",
		"group.max.size=0", "offsets.load.buffer.size=0", "offsets.commit.required.acks=4",
	} {
		_, err := Load(writeProps(t, base+bad+"\n"), nil, nil, quiet)
		key, _, _ := strings.Cut(bad, "=")
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: error %v must name the key", bad, err)
		}
	}
}
