package config

import (
	"fmt"
	"time"

	"github.com/kafkazk/kafkazk/broker"
)

// groupConfig reads the group coordinator's keys with Kafka's types and
// validators (KafkaConfig: offsets.*, offset.metadata.max.bytes, group.*).
func (p *parser) groupConfig(c *broker.Config) {
	c.OffsetsTopicNumPartitions = p.int32("offsets.topic.num.partitions", c.OffsetsTopicNumPartitions, 1)
	rf := p.int32("offsets.topic.replication.factor", int32(c.OffsetsTopicReplicationFactor), 1)
	if rf > 1<<15-1 {
		p.fail("offsets.topic.replication.factor", p.s["offsets.topic.replication.factor"], "expected a 16-bit integer")
		rf = int32(c.OffsetsTopicReplicationFactor)
	}
	c.OffsetsTopicReplicationFactor = int16(rf)
	c.OffsetsTopicSegmentBytes = p.int32("offsets.topic.segment.bytes", c.OffsetsTopicSegmentBytes, 1)
	codec := p.int32("offsets.topic.compression.codec", int32(c.OffsetsTopicCompressionCodec), 0)
	if codec > 4 {
		p.fail("offsets.topic.compression.codec", p.s["offsets.topic.compression.codec"], fmt.Sprintf("unknown compression type id: %d", codec))
		codec = int32(c.OffsetsTopicCompressionCodec)
	}
	c.OffsetsTopicCompressionCodec = int8(codec)
	c.OffsetsRetention = time.Duration(p.int32("offsets.retention.minutes", int32(c.OffsetsRetention/time.Minute), 1)) * time.Minute
	c.OffsetsRetentionCheckInterval = p.millis("offsets.retention.check.interval.ms", c.OffsetsRetentionCheckInterval, 1)
	c.OffsetCommitTimeout = time.Duration(p.int32("offsets.commit.timeout.ms", int32(c.OffsetCommitTimeout.Milliseconds()), 1)) * time.Millisecond
	c.OffsetsLoadBufferSize = p.int32("offsets.load.buffer.size", c.OffsetsLoadBufferSize, 1)
	c.OffsetMetadataMaxBytes = p.int32("offset.metadata.max.bytes", c.OffsetMetadataMaxBytes, -1<<31)
	c.GroupInitialRebalanceDelay = time.Duration(p.int32("group.initial.rebalance.delay.ms", int32(c.GroupInitialRebalanceDelay.Milliseconds()), -1<<31)) * time.Millisecond
	c.GroupMinSessionTimeout = time.Duration(p.int32("group.min.session.timeout.ms", int32(c.GroupMinSessionTimeout.Milliseconds()), -1<<31)) * time.Millisecond
	c.GroupMaxSessionTimeout = time.Duration(p.int32("group.max.session.timeout.ms", int32(c.GroupMaxSessionTimeout.Milliseconds()), -1<<31)) * time.Millisecond
	c.GroupMaxSize = p.int32("group.max.size", c.GroupMaxSize, 1)
	acks := p.int32("offsets.commit.required.acks", -1, -1)
	if acks > int32(c.OffsetsTopicReplicationFactor) {
		p.fail("offsets.commit.required.acks", p.s["offsets.commit.required.acks"],
			"offsets.commit.required.acks must be greater or equal -1 and less or equal to offsets.topic.replication.factor")
	}
	if c.GroupInitialRebalanceDelay < 0 {
		c.GroupInitialRebalanceDelay = 0
	}
}
