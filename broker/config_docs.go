package broker

import "github.com/twmb/franz-go/pkg/kmsg"

// Documentation DescribeConfigs v3+ returns when include_documentation is
// set (ConfigHelper.createTopicConfigEntry / createBrokerConfigEntry take it
// from the key's ConfigDef: LogConfig for topics, KafkaConfig for brokers).
// The texts are our own descriptions of the facts in Kafka 3.9's config
// definitions: what the key controls, its unit and its special values.
// Topic and broker keys are separate tables: a name such as
// compression.type exists at both levels with different wording.

// topicConfigDocs documents every key of topicConfigKeys.
var topicConfigDocs = map[string]string{
	"cleanup.policy": "How old log segments are disposed of: \"delete\" removes segments once they are past the retention time or size, " +
		"\"compact\" keeps only the latest record for each key (log compaction). Both can be listed (\"delete,compact\"): " +
		"segments are then compacted and also removed when retention runs out.",
	"compression.type": "Compression codec the broker stores this topic's batches with: gzip, snappy, lz4 or zstd; " +
		"\"uncompressed\" stores them without compression, \"producer\" keeps whatever codec the producer used.",
	"delete.retention.ms": "For compacted topics, how long (ms) a tombstone (a record with a null value) is kept after its " +
		"segment was cleaned. A consumer reading from the beginning must finish within this time to be sure of seeing deletions.",
	"file.delete.delay.ms": "How long (ms) a segment file marked for deletion stays on disk before it is removed.",
	"flush.messages": "Force an fsync of the partition's log after this many records have been appended since the last one " +
		"(1 = after every record). The default effectively disables it: durability comes from replication and the OS flushing " +
		"in the background, which is usually the better choice.",
	"flush.ms": "Force an fsync of the partition's log when this many milliseconds have passed since the last one. " +
		"The default effectively disables it; replication and the OS's own flushing are normally preferred.",
	"follower.replication.throttled.replicas": "Replicas whose replication is throttled on the follower side (by the broker's " +
		"follower.replication.throttled.rate): a list of partition:brokerId pairs such as 0:101,1:102, or * for every replica of the topic.",
	"index.interval.bytes": "Bytes of log written between two entries of the offset index. Smaller values index more often, " +
		"letting reads seek closer to the wanted offset at the cost of a larger index.",
	"leader.replication.throttled.replicas": "Replicas whose replication is throttled on the leader side (by the broker's " +
		"leader.replication.throttled.rate): a list of partition:brokerId pairs such as 0:101,1:102, or * for every replica of the topic.",
	"local.retention.bytes": "With tiered storage, the largest size (bytes) the local part of a partition's log may reach before " +
		"old local segments are removed. -2 means use retention.bytes; the effective value cannot exceed retention.bytes.",
	"local.retention.ms": "With tiered storage, how long (ms) a segment is kept locally before it may be removed. " +
		"-2 means use retention.ms; the effective value cannot exceed retention.ms.",
	"max.compaction.lag.ms": "Upper bound (ms) on how long a record can stay uncompacted: a compacted log whose oldest dirty record " +
		"is older than this becomes eligible for cleaning whatever its dirty ratio. Only used when compaction is enabled.",
	"max.message.bytes": "Largest record batch (after compression) the topic accepts, in bytes. With the old message formats, " +
		"where uncompressed records are not batched, the limit applies to each record. Consumers older than 0.10.2 need a fetch size at least this large.",
	"message.downconversion.enable": "Whether the broker converts batches to an older message format for consumers that ask for one. " +
		"When false, such fetches get UNSUPPORTED_VERSION. Replication between brokers is not affected.",
	"message.format.version": "Deprecated. The message format version appended to the log. With inter.broker.protocol.version 3.0 " +
		"or later the value is ignored and 3.0 is used; an older value also asserts that every message on disk is of that format or older.",
	"message.timestamp.after.max.ms": "With message.timestamp.type=CreateTime, how far (ms) a record's timestamp may be ahead of the " +
		"broker's clock; a batch beyond it is rejected. Not used with LogAppendTime.",
	"message.timestamp.before.max.ms": "With message.timestamp.type=CreateTime, how far (ms) a record's timestamp may be behind the " +
		"broker's clock; a batch beyond it is rejected. Not used with LogAppendTime.",
	"message.timestamp.difference.max.ms": "Deprecated in favour of message.timestamp.before.max.ms and message.timestamp.after.max.ms. " +
		"With CreateTime, the largest allowed gap (ms) in either direction between a record's timestamp and the broker's clock; " +
		"records beyond it are rejected. Not used with LogAppendTime.",
	"message.timestamp.type": "Which timestamp records carry in the log: CreateTime keeps the producer's timestamp, " +
		"LogAppendTime replaces it with the broker's time of append.",
	"min.cleanable.dirty.ratio": "Fraction (0 to 1) of a compacted log that must be uncleaned (dirty) before the cleaner works on it; " +
		"higher values mean fewer, more efficient cleanings but more duplicate records kept. A log also becomes eligible when a dirty " +
		"record has waited max.compaction.lag.ms, and dirty records younger than min.compaction.lag.ms are never cleaned.",
	"min.compaction.lag.ms": "Minimum age (ms) a record must reach before compaction may remove it. Only used when compaction is enabled.",
	"min.insync.replicas": "For produce requests with acks=all (-1): how many in-sync replicas, leader included, must have the write " +
		"for it to succeed. Below that the producer gets NOT_ENOUGH_REPLICAS (or NOT_ENOUGH_REPLICAS_AFTER_APPEND). " +
		"Replication factor 3 with a value of 2 is the usual choice for durable writes.",
	"preallocate":           "Whether a new log segment file is allocated on disk at its full size when it is created.",
	"remote.storage.enable": "Turns tiered storage on for the topic. Once enabled it cannot be turned off.",
	"retention.bytes": "Largest size (bytes) a partition's log may grow to under the \"delete\" policy before its oldest segments are " +
		"removed. It is per partition, so the topic's total is this times its partition count. -1 means no size limit; " +
		"0 also makes the active segment roll.",
	"retention.ms": "How long (ms) records are kept under the \"delete\" policy before their segment is removed. -1 means no time limit. " +
		"Segments are removed whole, once their newest record is older than this.",
	"segment.bytes": "Size (bytes) of a log segment file; a new segment is started when the current one would exceed it. " +
		"Retention and compaction work on whole segments, so smaller segments give finer control and more files.",
	"segment.index.bytes": "Size (bytes) of the offset index file preallocated for each segment; it is trimmed when the segment rolls.",
	"segment.jitter.ms":   "Largest random amount (ms) subtracted from segment.ms for each segment, so that many segments do not roll at once.",
	"segment.ms":          "Time (ms) after which the active segment is rolled even if not full, so that retention or compaction can act on its records.",
	"unclean.leader.election.enable": "Whether a replica outside the ISR may become leader when no in-sync replica is available. " +
		"This keeps the partition available at the risk of losing committed records.",
}

// brokerConfigDocs documents every broker key DescribeConfigs lists from
// brokerConfigDefaults and dynamicBrokerKeys.
var brokerConfigDocs = map[string]string{
	"zookeeper.ssl.cipher.suites":                         "Cipher suites allowed on a TLS connection to ZooKeeper; unset allows the runtime's defaults. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.client.enable":                         "Whether the broker connects to ZooKeeper over TLS; false by default. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.crl.enable":                            "Whether certificate revocation lists are checked on the ZooKeeper TLS connection; false by default. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.enabled.protocols":                     "TLS protocol versions allowed towards ZooKeeper; unset uses zookeeper.ssl.protocol. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.endpoint.identification.algorithm":     "How ZooKeeper's host name is checked against its certificate: HTTPS (default, case-insensitive) verifies it, empty skips the check. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.keystore.location":                     "Key store file with the broker's client certificate for TLS to ZooKeeper. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.keystore.password":                     "Password of zookeeper.ssl.keystore.location. Secret: never shown. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.keystore.type":                         "Format of the ZooKeeper key store (JKS, PKCS12 or PEM); unset guesses it from the file name. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.ocsp.enable":                           "Whether OCSP is used to check certificates on the ZooKeeper TLS connection; false by default. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.protocol":                              "Protocol the ZooKeeper TLS context is created for; TLSv1.2 by default. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.truststore.location":                   "Trust store file used to verify ZooKeeper's certificate. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.truststore.password":                   "Password of zookeeper.ssl.truststore.location. Secret: never shown. (ZooKeeper over TLS is not served here.)",
	"zookeeper.ssl.truststore.type":                       "Format of the ZooKeeper trust store (JKS, PKCS12 or PEM); unset guesses it from the file name. (ZooKeeper over TLS is not served here.)",
	"zookeeper.clientCnxnSocket":                          "Class of the ZooKeeper client's socket; Kafka needs the Netty one for TLS to ZooKeeper. No effect here (the ZooKeeper client is Go's).",
	"password.encoder.cipher.algorithm":                   "Cipher that encrypts dynamically set password configs before they are stored in ZooKeeper; AES/CBC/PKCS5Padding by default.",
	"password.encoder.iterations":                         "Iteration count of the key derivation for encrypting dynamically set password configs; 4096 by default.",
	"password.encoder.key.length":                         "Key length (bits) for encrypting dynamically set password configs; 128 by default.",
	"password.encoder.keyfactory.algorithm":               "Key derivation algorithm for encrypting dynamically set password configs; unset uses PBKDF2WithHmacSHA512 where available.",
	"password.encoder.old.secret":                         "The previous password.encoder.secret, to re-encrypt stored passwords after the secret changed. Secret: never shown.",
	"password.encoder.secret":                             "Secret that encrypts dynamically set password configs for this broker; without it such configs cannot be set. Secret: never shown.",
	"connections.max.idle.ms":                             "Idle time (ms) after which the broker closes a connection; ten minutes by default.",
	"early.start.listeners":                               "Listeners that start accepting before the broker finished starting (KRaft controller use); unset by default.",
	"controller.listener.names":                           "Listeners of a KRaft controller; KRaft only, unset on a ZooKeeper-mode broker.",
	"group.initial.rebalance.delay.ms":                    "Time (ms) the group coordinator waits for more members to join a new, empty consumer group before its first rebalance; 3 s by default.",
	"sasl.client.callback.handler.class":                  "Class of the SASL client callback handler for the broker's own outgoing SASL connections; unset uses the mechanism's default.",
	"sasl.login.callback.handler.class":                   "Class of the callback handler the SASL login module uses (e.g. to fetch OAUTHBEARER tokens); unset uses the mechanism's default.",
	"sasl.login.connect.timeout.ms":                       "Connect timeout (ms) of an OAUTHBEARER login's HTTP calls to the token endpoint; unset uses the HTTP client's default. OAUTHBEARER only; not served here.",
	"sasl.login.read.timeout.ms":                          "Read timeout (ms) of an OAUTHBEARER login's HTTP calls to the token endpoint; unset uses the HTTP client's default. OAUTHBEARER only; not served here.",
	"sasl.login.retry.backoff.max.ms":                     "Longest wait (ms) between retries of an OAUTHBEARER login's calls to the token endpoint; 10 s by default. OAUTHBEARER only; not served here.",
	"sasl.login.retry.backoff.ms":                         "First wait (ms) between retries of an OAUTHBEARER login's calls to the token endpoint, doubled each time; 100 by default. OAUTHBEARER only; not served here.",
	"sasl.mechanism.controller.protocol":                  "SASL mechanism for connections to a KRaft controller; GSSAPI by default. KRaft only: no effect on a ZooKeeper-mode broker.",
	"sasl.oauthbearer.clock.skew.seconds":                 "Seconds of clock difference tolerated between the broker and an OAUTHBEARER token issuer; 30 by default. Not served here.",
	"sasl.oauthbearer.expected.audience":                  "Audiences an OAUTHBEARER token must name (its aud claim), comma-separated; unset skips the check. Not served here.",
	"sasl.oauthbearer.expected.issuer":                    "Issuer an OAUTHBEARER token must name (its iss claim); unset skips the check. Not served here.",
	"sasl.oauthbearer.jwks.endpoint.refresh.ms":           "How often (ms) the keys for verifying OAUTHBEARER tokens are fetched again from the JWKS endpoint; one hour by default. Not served here.",
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms": "Longest wait (ms) between retries of a failed JWKS fetch; 10 s by default. Not served here.",
	"sasl.oauthbearer.jwks.endpoint.retry.backoff.ms":     "First wait (ms) between retries of a failed JWKS fetch, doubled each time; 100 by default. Not served here.",
	"sasl.oauthbearer.jwks.endpoint.url":                  "URL (or file) of the JSON Web Key Set used to verify OAUTHBEARER tokens. Not served here.",
	"sasl.oauthbearer.scope.claim.name":                   "Name of the token claim holding an OAUTHBEARER token's scopes; scope by default. Not served here.",
	"sasl.oauthbearer.sub.claim.name":                     "Name of the token claim holding an OAUTHBEARER token's subject (the principal); sub by default. Not served here.",
	"sasl.oauthbearer.token.endpoint.url":                 "URL (or file) where an OAUTHBEARER login obtains its token. Not served here.",
	"delegation.token.master.key":                         "Former name of delegation.token.secret.key. Secret: never shown.",
	"delegation.token.secret.key":                         "Secret that signs and verifies delegation tokens; the same on every broker, and unset disables delegation tokens. Secret: never shown. (Delegation tokens are not served here.)",
	"delegation.token.expiry.time.ms":                     "Time (ms) after which a delegation token must be renewed; one day by default. (Delegation tokens are not served here.)",
	"delegation.token.max.lifetime.ms":                    "Longest life (ms) of a delegation token, renewals included; seven days by default. (Delegation tokens are not served here.)",
	"delegation.token.expiry.check.interval.ms":           "How often (ms) expired delegation tokens are removed; one hour by default. (Delegation tokens are not served here.)",
	"authorizer.class.name":                               "Class of the authorizer that checks every request against ACLs; empty (default) means no authorization. kafka.security.authorizer.AclAuthorizer turns on the ACLs kept in ZooKeeper.",
	"connection.failed.authentication.delay.ms":           "Milliseconds a connection whose authentication failed is held before it is closed (and the failure answer sent), to slow down password guessing; 100 by default, 0 closes at once.",
	"connections.max.reauth.ms":                           "Longest lifetime, in milliseconds, of an authenticated SASL session before the client must re-authenticate on the same connection (KIP-368); 0 (default) means sessions never expire. May be set per listener and mechanism.",
	"control.plane.listener.name":                         "Listener reserved for controller-to-broker requests; unset (default) sends them over the inter-broker listener.",
	"inter.broker.listener.name":                          "Listener brokers use to talk to each other; unset (default) picks the listener whose security protocol is security.inter.broker.protocol. Cannot be set together with it.",
	"sasl.login.class":                                    "Class of the SASL Login used to obtain the broker's credentials; unset uses the mechanism's default.",
	"sasl.server.callback.handler.class":                  "Class of the server-side SASL callback handler that checks credentials; unset uses the mechanism's built-in one (the JAAS users for PLAIN, the ZooKeeper credentials for SCRAM).",
	"sasl.server.max.receive.size":                        "Largest SASL frame, in bytes, accepted before authentication completes; a larger one fails the authentication. 524288 by default.",
	"security.inter.broker.protocol":                      "Security protocol brokers use to talk to each other when inter.broker.listener.name is unset: PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.",
	"security.providers":                                  "Classes of security provider creators to install in the JVM; unused here.",
	"ssl.allow.dn.changes":                                "Whether a dynamically updated keystore may carry a certificate with another distinguished name; false by default.",
	"ssl.allow.san.changes":                               "Whether a dynamically updated keystore may carry a certificate with other subject alternative names; false by default.",
	"ssl.principal.mapping.rules":                         "Rules that map a client certificate's distinguished name to a principal name, tried in order (RULE:pattern/replacement/[LU]); DEFAULT (default) keeps the whole distinguished name.",
	"advertised.listeners": "Listener URIs the broker registers in ZooKeeper for clients and other brokers to connect to, when they " +
		"differ from listeners (for example behind NAT or a load balancer). Unset means listeners is used. 0.0.0.0 cannot be advertised; " +
		"ports may repeat.",
	"auto.create.topics.enable":    "Whether a Metadata request naming a topic that does not exist (and allowing auto-creation) creates it with num.partitions and default.replication.factor.",
	"auto.leader.rebalance.enable": "Whether the controller moves leadership back to preferred replicas when a broker's share of non-preferred leaders exceeds leader.imbalance.per.broker.percentage, checked every leader.imbalance.check.interval.seconds.",
	"background.threads":           "Number of threads for the broker's background tasks (log retention, deletion of files and the like).",
	"broker.id": "Id of this broker in the cluster. When unset (-1) and broker.id.generation.enable is true, an id is generated " +
		"through ZooKeeper, starting above reserved.broker.max.id.",
	"broker.id.generation.enable":          "Whether a broker without broker.id gets one generated through ZooKeeper (numbered above reserved.broker.max.id).",
	"broker.rack":                          "Rack (or availability zone) of this broker, used to spread a partition's replicas over racks when topics are created. Example: us-east-1a.",
	"compression.type":                     "Default compression codec for topic data: gzip, snappy, lz4 or zstd; \"uncompressed\" for none, \"producer\" to keep the producer's codec. Topics override it with compression.type.",
	"controlled.shutdown.enable":           "Whether the broker asks the controller to move its leaderships away before it shuts down.",
	"controlled.shutdown.max.retries":      "How many times a failed controlled shutdown request is retried before the broker shuts down anyway.",
	"controlled.shutdown.retry.backoff.ms": "Wait (ms) between two attempts of a controlled shutdown.",
	"default.replication.factor":           "Replication factor of automatically created topics and of topics created with replication factor -1.",
	"delete.topic.enable":                  "Whether topics can be deleted; when false, delete requests have no effect.",
	"follower.replication.throttled.rate": "Upper bound (bytes/s) on the replication traffic this broker fetches as follower for the " +
		"replicas listed in the topics' follower.replication.throttled.replicas. Can only be set dynamically; keep it above about 1 MB/s.",
	"leader.imbalance.check.interval.seconds": "How often (seconds) the controller checks whether partition leadership needs rebalancing.",
	"leader.imbalance.per.broker.percentage":  "Share (percent) of the partitions preferring a broker as leader that may be led by another replica before the controller moves leadership back.",
	"leader.replication.throttled.rate": "Upper bound (bytes/s) on the replication traffic this broker serves as leader for the " +
		"replicas listed in the topics' leader.replication.throttled.replicas. Can only be set dynamically; keep it above about 1 MB/s.",
	"listeners": "Comma-separated URIs the broker listens on, each LISTENER_NAME://host:port, e.g. PLAINTEXT://myhost:9092. " +
		"An empty host binds the default interface, 0.0.0.0 binds all. Names and ports must be unique (one IPv4 and one IPv6 listener may share a port).",
	"log.cleaner.backoff.ms":                        "How long (ms) a cleaner thread sleeps when no log needs cleaning.",
	"log.cleaner.dedupe.buffer.size":                "Memory (bytes) for the key-to-offset maps of compaction, shared by all cleaner threads.",
	"log.cleaner.delete.retention.ms":               "Default for delete.retention.ms: how long (ms) tombstones are kept in compacted logs after cleaning.",
	"log.cleaner.enable":                            "Whether the log cleaner runs. Needed for any compacted topic, including the internal offsets topic, which otherwise grows without bound.",
	"log.cleaner.io.buffer.load.factor":             "How full (fraction) the cleaner's dedupe map may get. Higher values clean more log per pass but cause more hash collisions.",
	"log.cleaner.io.buffer.size":                    "Memory (bytes) for the cleaner's read and write buffers, shared by all cleaner threads.",
	"log.cleaner.io.max.bytes.per.second":           "Throttle on the cleaner: its combined read and write rate (bytes/s) is kept below this on average.",
	"log.cleaner.max.compaction.lag.ms":             "Default for max.compaction.lag.ms: the longest time (ms) a record stays ineligible for compaction.",
	"log.cleaner.min.cleanable.ratio":               "Default for min.cleanable.dirty.ratio: fraction of a log that must be dirty before it is cleaned.",
	"log.cleaner.min.compaction.lag.ms":             "Default for min.compaction.lag.ms: the minimum age (ms) of a record before compaction may remove it.",
	"log.cleaner.threads":                           "Number of threads that compact logs.",
	"log.cleanup.policy":                            "Default for cleanup.policy: \"delete\", \"compact\" or both (comma-separated).",
	"log.dir":                                       "Directory holding the log data, used when log.dirs is not set.",
	"log.dirs":                                      "Comma-separated directories holding the log data. Unset means log.dir is used.",
	"log.flush.interval.messages":                   "Default for flush.messages: records appended to a partition before its log is fsynced.",
	"log.flush.interval.ms":                         "Default for flush.ms: the longest time (ms) appended data waits before an fsync. Unset means log.flush.scheduler.interval.ms is used.",
	"log.flush.offset.checkpoint.interval.ms":       "How often (ms) the recovery point (the flushed offset of each log) is written to disk.",
	"log.flush.scheduler.interval.ms":               "How often (ms) the broker checks whether a log is due for a flush.",
	"log.flush.start.offset.checkpoint.interval.ms": "How often (ms) the log start offsets are written to their checkpoint file.",
	"log.index.interval.bytes":                      "Default for index.interval.bytes: bytes written between two offset index entries.",
	"log.index.size.max.bytes":                      "Default for segment.index.bytes: the size (bytes) of each segment's offset index.",
	"log.local.retention.bytes": "Default for local.retention.bytes: the local size (bytes) a tiered partition may keep. " +
		"-2 means use log.retention.bytes; it cannot exceed it.",
	"log.local.retention.ms": "Default for local.retention.ms: how long (ms) tiered segments stay local. -2 means use log.retention.ms; it cannot exceed it.",
	"log.message.downconversion.enable": "Default for message.downconversion.enable: whether fetches asking for an older message format " +
		"are converted (false answers them UNSUPPORTED_VERSION). Replication is not affected.",
	"log.message.format.version": "Deprecated default for message.format.version. Ignored (3.0 is used) when inter.broker.protocol.version is 3.0 or later.",
	"log.message.timestamp.after.max.ms": "Default for message.timestamp.after.max.ms: with CreateTime, how far (ms) a record's timestamp " +
		"may be ahead of the broker's clock before the batch is rejected.",
	"log.message.timestamp.before.max.ms": "Default for message.timestamp.before.max.ms: with CreateTime, how far (ms) a record's timestamp " +
		"may be behind the broker's clock before the batch is rejected.",
	"log.message.timestamp.difference.max.ms": "Deprecated default for message.timestamp.difference.max.ms: with CreateTime, the largest gap (ms) " +
		"in either direction between a record's timestamp and the broker's clock. Keep it no larger than the retention time.",
	"log.message.timestamp.type":      "Default for message.timestamp.type: CreateTime (producer's timestamp) or LogAppendTime (broker's append time).",
	"log.preallocate":                 "Default for preallocate: whether new segment files are allocated at full size (useful on Windows).",
	"log.retention.bytes":             "Default for retention.bytes: the size (bytes) a partition may reach before old segments are deleted. -1 means no limit.",
	"log.retention.check.interval.ms": "How often (ms) the broker looks for log segments to delete under the retention settings.",
	"log.retention.hours":             "Retention time in hours, used when neither log.retention.ms nor log.retention.minutes is set.",
	"log.retention.minutes":           "Retention time in minutes, used when log.retention.ms is not set; unset means log.retention.hours.",
	"log.retention.ms": "Default for retention.ms, in milliseconds; takes precedence over log.retention.minutes and log.retention.hours. " +
		"-1 means no time limit.",
	"log.roll.hours":              "Segment roll time in hours, used when log.roll.ms is not set.",
	"log.roll.jitter.hours":       "Segment roll jitter in hours, used when log.roll.jitter.ms is not set.",
	"log.roll.jitter.ms":          "Default for segment.jitter.ms, in milliseconds; takes precedence over log.roll.jitter.hours.",
	"log.roll.ms":                 "Default for segment.ms, in milliseconds; takes precedence over log.roll.hours.",
	"log.segment.bytes":           "Default for segment.bytes: the size (bytes) of a log segment file.",
	"log.segment.delete.delay.ms": "Default for file.delete.delay.ms: how long (ms) a deleted segment's files stay on disk. 0 with nothing to delete makes the deleter poll every millisecond.",
	"message.max.bytes": "Default for max.message.bytes: the largest record batch (after compression), in bytes, a topic accepts. " +
		"With old message formats it applies to single records. Consumers older than 0.10.2 need a fetch size at least this large.",
	"min.insync.replicas": "Default for min.insync.replicas: for acks=all (-1) produce requests, the number of in-sync replicas that " +
		"must have a write for it to succeed; otherwise NOT_ENOUGH_REPLICAS (or NOT_ENOUGH_REPLICAS_AFTER_APPEND).",
	"num.io.threads":                    "Number of threads that handle requests, disk I/O included.",
	"num.network.threads":               "Number of threads per listener that read requests from and write responses to the network.",
	"num.partitions":                    "Partition count of automatically created topics and of topics created without one.",
	"num.recovery.threads.per.data.dir": "Threads per log directory used to recover logs at startup and flush them at shutdown.",
	"num.replica.fetchers": "Fetcher threads per source broker replicating to this broker. More threads raise I/O parallelism " +
		"at the cost of CPU and memory.",
	"offsets.retention.minutes": "How long (minutes) committed offsets are kept: for a group, once it is empty (or, for a partition, " +
		"since the last commit once the group no longer subscribes to its topic); for standalone consumers, since the last commit. " +
		"Deleting the group or the topic removes its offsets at once.",
	"offsets.topic.num.partitions":     "Partition count of the internal __consumer_offsets topic; do not change it once the cluster is in use.",
	"offsets.topic.replication.factor": "Replication factor of the internal __consumer_offsets topic. It is not created until that many brokers are alive.",
	"queued.max.requests":              "Number of received requests that may wait for their turn before the broker stops reading from clients.",
	"replica.alter.log.dirs.io.max.bytes.per.second": "Upper bound (bytes/s) on the disk I/O used to move replicas between log directories " +
		"of this broker. Can only be set dynamically; keep it above about 1 MB/s.",
	"replica.fetch.max.bytes": "Bytes a follower asks for per partition in each fetch. Not a hard limit: a first batch larger than it " +
		"is still returned so replication progresses; the batch size limit is message.max.bytes / max.message.bytes.",
	"replica.fetch.wait.max.ms": "Longest time (ms) a leader holds a follower's fetch when no data is available. Keep it below " +
		"replica.lag.time.max.ms so followers of quiet partitions are not dropped from the ISR.",
	"replica.lag.time.max.ms":                  "A follower that has not fetched, or not caught up to the leader's log end offset, for this long (ms) is removed from the ISR.",
	"replica.socket.timeout.ms":                "Socket timeout (ms) of replica fetch requests; at least replica.fetch.wait.max.ms.",
	"reserved.broker.max.id":                   "Highest broker.id that can be configured; generated ids start above it.",
	"socket.receive.buffer.bytes":              "SO_RCVBUF size (bytes) of the broker's sockets. -1 keeps the OS default.",
	"socket.request.max.bytes":                 "Largest request (bytes) the broker accepts.",
	"socket.send.buffer.bytes":                 "SO_SNDBUF size (bytes) of the broker's sockets. -1 keeps the OS default.",
	"transaction.state.log.min.isr":            "min.insync.replicas of the internal __transaction_state topic.",
	"transaction.state.log.num.partitions":     "Partition count of the internal __transaction_state topic; do not change it once the cluster is in use.",
	"transaction.state.log.replication.factor": "Replication factor of the internal __transaction_state topic. It is not created until that many brokers are alive.",
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": "How often (ms) the transaction coordinator aborts the transactions " +
		"that have run longer than their transaction.timeout.ms.",
	"transaction.max.timeout.ms": "Largest transaction.timeout.ms a producer may ask for; a larger one fails InitProducerId with " +
		"INVALID_TRANSACTION_TIMEOUT, so a transaction cannot hold back read_committed consumers for longer.",
	"transaction.remove.expired.transaction.cleanup.interval.ms": "How often (ms) the transaction coordinator removes the " +
		"transactional ids that expired (transactional.id.expiration.ms).",
	"transaction.state.log.load.buffer.size": "Bytes read at a time when a broker loads the transaction state of a " +
		"__transaction_state partition it became leader of (grown to fit a larger batch).",
	"transaction.state.log.segment.bytes": "segment.bytes of the internal __transaction_state topic; keep it small for fast " +
		"compaction and loading.",
	"transactional.id.expiration.ms": "How long (ms) the transaction coordinator keeps a transactional id whose producer sent no " +
		"transaction request, once its last transaction ended; then the id and its producer id are forgotten.",
	"unclean.leader.election.enable": "Default for unclean.leader.election.enable: whether a replica outside the ISR may become leader " +
		"when no in-sync replica is left, trading possible loss of committed records for availability.",
	"zookeeper.connect": "ZooKeeper ensemble as host:port pairs separated by commas, optionally followed by a chroot path " +
		"(host1:2181,host2:2181/kafka) under which all of the cluster's znodes live.",
	"zookeeper.connection.timeout.ms":  "Longest time (ms) to wait for a connection to ZooKeeper. Unset means zookeeper.session.timeout.ms is used.",
	"zookeeper.max.in.flight.requests": "Number of ZooKeeper requests the broker sends without waiting for replies before it blocks.",
	"zookeeper.session.timeout.ms":     "ZooKeeper session timeout (ms); the broker's registration disappears when its session expires.",
	"zookeeper.set.acl":                "Whether the broker creates its znodes with secure ACLs.",

	// Dynamic keys (DynamicBrokerConfig.AllDynamicConfigs) this broker
	// stores and describes but does not act on yet.
	"compression.gzip.level": "Level used when the broker itself compresses batches with gzip (compression.type=gzip): 1 (fastest) to 9 " +
		"(smallest), or -1 for the codec's own default. Default for the topic config compression.gzip.level. " +
		"(Stored; no effect here yet: the broker does not recompress with a chosen level.)",
	"compression.lz4.level": "Level used when the broker itself compresses batches with lz4 (compression.type=lz4): 1 to 17, 9 by default; " +
		"higher levels compress more and cost more CPU. (Stored; no effect here yet.)",
	"compression.zstd.level": "Level used when the broker itself compresses batches with zstd (compression.type=zstd): up to 22, 3 by default; " +
		"negative levels trade ratio for speed. (Stored; no effect here yet.)",
	"listener.security.protocol.map": "Security protocol of each listener name, as NAME:PROTOCOL pairs separated by commas " +
		"(e.g. INTERNAL:SSL,EXTERNAL:SASL_SSL); each name appears once. It lets several listeners share a protocol; listener-specific " +
		"settings are then given with the prefix listener.name.<name lowercased>. By default each protocol name maps to itself. " +
		"(Stored; only PLAINTEXT listeners are served here.)",
	"max.connection.creation.rate": "Highest rate (connections per second) at which the broker accepts new connections; a listener can have its " +
		"own limit as listener.name.<listener>.max.connection.creation.rate. Connections over the limit are delayed; the inter-broker " +
		"listener is held only by its own listener limit.",
	"max.connections": "Most connections the broker keeps open at once, on top of the per-IP limits; a listener can have its own limit as " +
		"listener.name.<listener>.max.connections. New connections wait while a limit is reached. Unlimited by default.",
	"max.connections.per.ip": "Most connections the broker accepts from one IP address; further ones are closed. May be 0 only when " +
		"max.connections.per.ip.overrides grants some addresses a limit. Unlimited by default.",
	"max.connections.per.ip.overrides": "Per-address exceptions to max.connections.per.ip, as host:limit pairs separated by commas " +
		"(e.g. 10.0.0.5:200,127.0.0.1:50). Empty by default. (Host names are not resolved here; use IP addresses.)",
	"metric.reporters": "Classes (implementations of MetricsReporter) notified of the broker's metrics as they are created; empty by default. " +
		"(Stored; no effect here: the broker has no pluggable metrics reporters.)",
	"principal.builder.class": "Class (a KafkaPrincipalBuilder) that turns an authenticated connection into the principal used for " +
		"authorization. The default derives it from the certificate (SSL), the SASL identity, or ANONYMOUS on PLAINTEXT. " +
		"(Stored; this broker always builds principals the default way.)",
	"producer.id.expiration.ms": "How long (ms) a partition leader keeps the state of a producer id after its last write before forgetting it; " +
		"ids with an open transaction are kept. State can also disappear earlier when retention deletes the producer's last write. " +
		"One day by default; a value at least the producers' delivery.timeout.ms avoids duplicates on retry. " +
		"(Stored; no effect here yet: producer state does not expire.)",
	"remote.fetch.max.wait.ms": "With tiered storage, the longest time (ms) the broker waits for data read from remote storage before " +
		"answering the fetch. (Stored; no effect until tiered storage is built.)",
	"remote.log.index.file.cache.total.size.bytes": "With tiered storage, the local disk space (bytes) for the cache of index files " +
		"downloaded from remote storage; 1 GiB by default. (Stored; no effect until tiered storage is built.)",
	"remote.log.manager.copy.max.bytes.per.second": "With tiered storage, the upper bound (bytes/s) on copying segments to remote storage, " +
		"for all partitions together; unlimited by default. (Stored; no effect until tiered storage is built.)",
	"remote.log.manager.fetch.max.bytes.per.second": "With tiered storage, the upper bound (bytes/s) on reading from remote storage, " +
		"for all partitions together; unlimited by default. (Stored; no effect until tiered storage is built.)",
	"sasl.enabled.mechanisms": "SASL mechanisms the broker offers to clients (e.g. GSSAPI, PLAIN, SCRAM-SHA-512, OAUTHBEARER); any " +
		"mechanism with a security provider may be listed. GSSAPI alone by default. This broker serves PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512.",
	"sasl.jaas.config": "JAAS login configuration for SASL, in the form loginModuleClass controlFlag (option=value)*; on a broker given " +
		"per listener and mechanism, e.g. listener.name.sasl_ssl.plain.sasl.jaas.config. Secret: never shown.",
	"sasl.kerberos.kinit.cmd":               "Path of the Kerberos kinit program, /usr/bin/kinit by default. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.kerberos.min.time.before.relogin": "Shortest pause (ms) of the Kerberos login thread between two refreshes, one minute by default. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.kerberos.principal.to.local.rules": "Ordered rules that map Kerberos principal names to short names (usually OS user names); the " +
		"first matching rule wins. DEFAULT maps user/host@REALM to user. Ignored when a custom principal.builder.class is set. " +
		"(Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.kerberos.service.name": "Kerberos principal name the broker runs as; may instead come from the JAAS configuration. " +
		"(Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.kerberos.ticket.renew.jitter": "Random share (fraction, 0.05 by default) added to the Kerberos ticket renewal time. " +
		"(Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.kerberos.ticket.renew.window.factor": "Fraction of the time between the last refresh and the ticket's expiry after which the login " +
		"thread renews the Kerberos ticket; 0.8 by default. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.login.refresh.buffer.seconds": "Seconds (0 to 3600, 300 by default) a refreshed login credential should keep before it expires; a " +
		"refresh is moved earlier to keep that margin. Ignored together with sasl.login.refresh.min.period.seconds when both exceed the " +
		"credential's remaining life. OAUTHBEARER only. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.login.refresh.min.period.seconds": "Seconds (0 to 900, 60 by default) the login refresh thread waits at least between two refreshes " +
		"of a credential. OAUTHBEARER only. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.login.refresh.window.factor": "Share of a login credential's lifetime (0.5 to 1.0, 0.8 by default) after which the refresh thread " +
		"tries to refresh it. OAUTHBEARER only. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.login.refresh.window.jitter": "Largest random share of a credential's lifetime (0 to 0.25, 0.05 by default) added to the refresh " +
		"thread's wait. OAUTHBEARER only. (Stored; no effect here: GSSAPI and OAUTHBEARER are not served.)",
	"sasl.mechanism.inter.broker.protocol": "SASL mechanism brokers use to authenticate to each other; GSSAPI by default.",
	"ssl.cipher.suites": "TLS cipher suites (each a combination of key exchange, authentication, encryption and MAC algorithms) that may " +
		"be negotiated; empty means every suite the TLS implementation supports. Names as in Java (the IANA names); an unknown name stops " +
		"the broker at start-up. The TLS 1.3 suites are always all offered (Go's TLS cannot restrict them).",
	"ssl.client.auth": "Whether the broker asks TLS clients for a certificate: required (connection refused without one), requested " +
		"(optional), or none (the default).",
	"ssl.enabled.protocols": "TLS protocol versions accepted on connections; TLSv1.2,TLSv1.3 on current runtimes, so that peers use " +
		"TLSv1.3 when both can and TLSv1.2 otherwise. See also ssl.protocol.",
	"ssl.endpoint.identification.algorithm": "How a TLS peer's host name is checked against its certificate when the broker connects out " +
		"(e.g. to other brokers): https (the default) verifies it, an empty value skips the check.",
	"ssl.engine.factory.class": "Class (an SslEngineFactory) that creates the TLS engines; unset uses Kafka's default factory. " +
		"(Stored; no effect here: TLS is Go's own.)",
	"ssl.key.password": "Password protecting the private key, in the key store file or in ssl.keystore.key. Secret: never shown.",
	"ssl.keymanager.algorithm": "Algorithm of the key manager factory for TLS; unset uses the runtime's default (SunX509 on the JVM). " +
		"(Stored; no effect here: TLS is Go's own.)",
	"ssl.keystore.certificate.chain": "The broker's certificate chain given inline, in the ssl.keystore.type format (PEM: a list of X.509 " +
		"certificates). Secret: never shown.",
	"ssl.keystore.key": "The broker's private key given inline, in the ssl.keystore.type format (PEM with a PKCS#8 key); an encrypted key " +
		"needs ssl.key.password. Secret: never shown.",
	"ssl.keystore.location": "Path of the key store file holding the broker's certificate and private key.",
	"ssl.keystore.password": "Password of the key store file; not used with PEM. Secret: never shown.",
	"ssl.keystore.type":     "Format of the key store: JKS (default), PKCS12 or PEM.",
	"ssl.protocol": "Protocol the TLS context is created for: TLSv1.3 by default on current runtimes (TLSv1.2 on older ones). Set to " +
		"TLSv1.2, TLSv1.3 is not used even when enabled (on the broker's outgoing inter-broker connections). Older protocols (SSLv3, " +
		"TLSv1.1...) are insecure.",
	"ssl.provider": "Security provider implementing TLS; unset uses the runtime's default. (Stored; no effect here: TLS is Go's own.)",
	"ssl.secure.random.implementation": "Name of the secure random number generator used by TLS; unset uses the runtime's default. " +
		"(Stored; no effect here: TLS is Go's own.)",
	"ssl.trustmanager.algorithm": "Algorithm of the trust manager factory for TLS; unset uses the runtime's default (PKIX on the JVM). " +
		"(Stored; no effect here: TLS is Go's own.)",
	"ssl.truststore.certificates": "Trusted CA certificates given inline, in the ssl.truststore.type format (PEM X.509 certificates). " +
		"Secret: never shown.",
	"ssl.truststore.location": "Path of the trust store file holding the CA certificates peers are verified against.",
	"ssl.truststore.password": "Password of the trust store file; without one the file is still used but not integrity-checked. Not used " +
		"with PEM. Secret: never shown.",
	"ssl.truststore.type": "Format of the trust store: JKS (default), PKCS12 or PEM.",
	"transaction.partition.verification.enable": "Whether, before appending transactional records to a partition, the leader checks " +
		"with the transaction coordinator that the partition was added to the producer's ongoing transaction. True by default. " +
		"(Read at startup here: a dynamic change is stored and applies from the broker's next start.)",
}

// configDocumentation is the documentation of a described key
// (AbstractConfig.documentationOf): nil for a key we do not know, as Kafka
// answers null for keys its config definition lacks.
func configDocumentation(t kmsg.ConfigResourceType, name string) *string {
	docs := brokerConfigDocs
	if t == kmsg.ConfigResourceTypeTopic {
		docs = topicConfigDocs
	}
	d, ok := docs[name]
	if !ok {
		return nil
	}
	return &d
}
