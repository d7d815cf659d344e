package topics

import (
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The options of Kafka 3.7's TopicCommand (plus --help/--version from CommandDefaultOptions).
var topicOptSpecs = []cli.Option{
	{Name: "alter", Desc: "Alter the number of partitions and replica assignment. Update the configuration of an existing topic via --alter is no longer supported here (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)."},
	{Name: "at-min-isr-partitions", Desc: "if set when describing topics, only show partitions whose isr count is equal to the configured minimum."},
	{Name: "bootstrap-server", Desc: "REQUIRED: The Kafka server to connect to.", TakesArg: true, ArgType: "String", ArgDesc: "server to connect to"},
	{Name: "command-config", Desc: "Property file containing configs to be passed to Admin Client. This is used only with --bootstrap-server option for describing and altering broker configs.", TakesArg: true, ArgType: "String", ArgDesc: "command config property file"},
	{Name: "config", Desc: "A topic configuration override for the topic being created. The following is a list of valid configurations: \n" + configNamesHelp() + "See the Kafka documentation for full details on the topic configs. It is supported only in combination with --create if --bootstrap-server option is used (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option).", TakesArg: true, ArgType: "String", ArgDesc: "name=value"},
	{Name: "create", Desc: "Create a new topic."},
	{Name: "delete", Desc: "Delete a topic"},
	{Name: "delete-config", Desc: "A topic configuration override to be removed for an existing topic (see the list of configurations under the --config option). Not supported with the --bootstrap-server option.", TakesArg: true, ArgType: "String", ArgDesc: "name"},
	{Name: "describe", Desc: "List details for the given topics."},
	{Name: "exclude-internal", Desc: "exclude internal topics when running list or describe command. The internal topics will be listed by default"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "if-exists", Desc: "if set when altering or deleting or describing topics, the action will only execute if the topic exists."},
	{Name: "if-not-exists", Desc: "if set when creating topics, the action will only execute if the topic does not already exist."},
	{Name: "list", Desc: "List all available topics."},
	{Name: "partitions", Desc: "The number of partitions for the topic being created or altered (WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected). If not supplied for create, defaults to the cluster default.", TakesArg: true, ArgType: "Integer", ArgDesc: "# of partitions"},
	{Name: "replica-assignment", Desc: "A list of manual partition-to-broker assignments for the topic being created or altered.", TakesArg: true, ArgType: "String", ArgDesc: "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ..."},
	{Name: "replication-factor", Desc: "The replication factor for each partition in the topic being created. If not supplied, defaults to the cluster default.", TakesArg: true, ArgType: "Integer", ArgDesc: "replication factor"},
	{Name: "topic", Desc: "The topic to create, alter, describe or delete. It also accepts a regular expression, except for --create option. Put topic name in double quotes and use the '\\' prefix to escape regular expression symbols; e.g. \"test\\.topic\".", TakesArg: true, ArgType: "String", ArgDesc: "topic"},
	{Name: "topic-id", Desc: "The topic-id to describe.This is used only with --bootstrap-server option for describing topics.", TakesArg: true, ArgType: "String", ArgDesc: "topic-id"},
	{Name: "topics-with-overrides", Desc: "if set when describing topics, only show topics that have overridden configs"},
	{Name: "unavailable-partitions", Desc: "if set when describing topics, only show partitions whose leader is not available"},
	{Name: "under-min-isr-partitions", Desc: "if set when describing topics, only show partitions whose isr count is less than the configured minimum."},
	{Name: "under-replicated-partitions", Desc: "if set when describing topics, only show under replicated partitions"},
	{Name: "version", Desc: "Display Kafka version."},
}

// topicConfigNames is Kafka 3.7's LogConfig.configNames (topic-level configs), in its order.
var topicConfigNames = []string{
	"cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages",
	"flush.ms", "follower.replication.throttled.replicas", "index.interval.bytes",
	"leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
	"max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
	"message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
	"message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas",
	"preallocate", "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes",
	"segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
}

func configNamesHelp() string {
	var b strings.Builder
	for _, n := range topicConfigNames {
		b.WriteString("\t" + n + "\n")
	}
	return b.String()
}
