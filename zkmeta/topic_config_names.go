package zkmeta

// TopicConfigNames are the keys /config/topics/<t> may hold: Kafka's
// topic-level configs (LogConfig). CreateTopics refuses any other key with
// INVALID_CONFIG, as Kafka does.
var TopicConfigNames = []string{
	"cleanup.policy",
	"compression.type",
	"delete.retention.ms",
	"file.delete.delay.ms",
	"flush.messages",
	"flush.ms",
	"follower.replication.throttled.replicas",
	"index.interval.bytes",
	"leader.replication.throttled.replicas",
	"local.retention.bytes",
	"local.retention.ms",
	"max.compaction.lag.ms",
	"max.message.bytes",
	"message.downconversion.enable",
	"message.format.version",
	"message.timestamp.after.max.ms",
	"message.timestamp.before.max.ms",
	"message.timestamp.difference.max.ms",
	"message.timestamp.type",
	"min.cleanable.dirty.ratio",
	"min.compaction.lag.ms",
	"min.insync.replicas",
	"preallocate",
	"remote.storage.enable",
	"retention.bytes",
	"retention.ms",
	"segment.bytes",
	"segment.index.bytes",
	"segment.jitter.ms",
	"segment.ms",
	"unclean.leader.election.enable",
}
