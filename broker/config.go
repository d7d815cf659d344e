package broker

import (
	"crypto/tls"
	"log/slog"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/storage"
)

// Config is the broker's view of server.properties, already parsed and
// validated by cmd/internal/config. Field comments give Kafka's key.
type Config struct {
	BrokerID             int32    // broker.id; -1 means generated (see below)
	BrokerIDGeneration   bool     // broker.id.generation.enable
	ReservedBrokerMaxID  int32    // reserved.broker.max.id
	Rack                 string   // broker.rack
	Listeners            []string // listeners, e.g. PLAINTEXT://127.0.0.1:9092
	AdvertisedListeners  []string // advertised.listeners (defaults to listeners)
	LogDirs              []string // log.dirs / log.dir
	ZooKeeperConnect     string   // zookeeper.connect
	ZooKeeperSession     time.Duration
	ZooKeeperConnTimeout time.Duration

	// Listeners beyond listeners/advertised.listeners (listeners.go).
	ListenerProtocols    map[string]SecurityProtocol // listener.security.protocol.map, names upper case; nil: Kafka's default
	InterBrokerListener  string                      // inter.broker.listener.name, or the one named after security.inter.broker.protocol
	ControlPlaneListener string                      // control.plane.listener.name; "" when unset

	// LogLevel is the level of the broker's slog handler: the root logger
	// of the BROKER_LOGGER resource (broker_logger.go), changed at runtime
	// by IncrementalAlterConfigs. Nil: INFO, not alterable.
	LogLevel *slog.LevelVar

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	AutoCreateTopics         bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable
	MessageMaxBytes          int32 // message.max.bytes (topic: max.message.bytes)
	SocketRequestMaxBytes    int32 // socket.request.max.bytes

	// Connection and request limits (SocketServerConfigs). max.connections,
	// its listener.name.<l>. form and the per-IP limits are dynamic in
	// Kafka and read from the effective broker config at each accept
	// (connection_quotas.go), not from here.
	ConnectionsMaxIdleMs  int64 // connections.max.idle.ms; negative: never closed for idleness
	QueuedMaxRequests     int   // queued.max.requests (at least 1)
	QueuedMaxRequestBytes int64 // queued.max.request.bytes; 0 or less: no memory pool
	MinInsyncReplicas     int32 // min.insync.replicas
	ProducerIDBlockSize   int64 // fixed by Kafka at 1000

	// Storage is the broker-level log config (log.* keys mapped to their
	// topic-level meaning); every topic starts from it.
	Storage storage.Config

	RetentionCheckInterval        time.Duration // log.retention.check.interval.ms
	LogCleanerEnable              bool          // log.cleaner.enable
	LogCleanerThreads             int           // log.cleaner.threads
	LogCleanerBackoff             time.Duration // log.cleaner.backoff.ms
	FlushOffsetCheckpointInterval time.Duration // log.flush.offset.checkpoint.interval.ms

	// Replication.
	ReplicaLagTimeMax         time.Duration // replica.lag.time.max.ms
	NumReplicaFetchers        int           // num.replica.fetchers
	ReplicaFetchMaxBytes      int32         // replica.fetch.max.bytes
	ReplicaFetchResponseMax   int32         // replica.fetch.response.max.bytes
	ReplicaFetchWaitMax       time.Duration // replica.fetch.wait.max.ms
	ReplicaFetchMinBytes      int32         // replica.fetch.min.bytes
	ReplicaFetchBackoff       time.Duration // replica.fetch.backoff.ms
	ReplicaSocketTimeout      time.Duration // replica.socket.timeout.ms
	ReplicaHWCheckpointPeriod time.Duration // replica.high.watermark.checkpoint.interval.ms

	// Controller and shutdown.
	UncleanLeaderElectionEnable        bool          // unclean.leader.election.enable
	AutoLeaderRebalanceEnable          bool          // auto.leader.rebalance.enable
	LeaderImbalanceCheckInterval       time.Duration // leader.imbalance.check.interval.seconds
	LeaderImbalancePerBrokerPercentage int           // leader.imbalance.per.broker.percentage
	ControlledShutdownEnable           bool          // controlled.shutdown.enable
	ControlledShutdownMaxRetries       int           // controlled.shutdown.max.retries
	ControlledShutdownRetryBackoff     time.Duration // controlled.shutdown.retry.backoff.ms

	// Group coordinator and __consumer_offsets.
	OffsetsTopicNumPartitions     int32         // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor int16         // offsets.topic.replication.factor
	OffsetsTopicSegmentBytes      int32         // offsets.topic.segment.bytes
	OffsetsTopicCompressionCodec  int8          // offsets.topic.compression.codec
	OffsetsRetention              time.Duration // offsets.retention.minutes
	OffsetsRetentionCheckInterval time.Duration // offsets.retention.check.interval.ms
	OffsetCommitTimeout           time.Duration // offsets.commit.timeout.ms
	OffsetsLoadBufferSize         int32         // offsets.load.buffer.size
	OffsetMetadataMaxBytes        int32         // offset.metadata.max.bytes
	GroupInitialRebalanceDelay    time.Duration // group.initial.rebalance.delay.ms
	GroupMinSessionTimeout        time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeout        time.Duration // group.max.session.timeout.ms
	GroupMaxSize                  int32         // group.max.size

	// Transaction coordinator, __transaction_state and producer state
	// (TransactionLogConfig, TransactionStateManagerConfig, issue 17).
	TransactionStateLogNumPartitions     int32         // transaction.state.log.num.partitions
	TransactionStateLogReplicationFactor int16         // transaction.state.log.replication.factor
	TransactionStateLogMinISR            int32         // transaction.state.log.min.isr
	TransactionStateLogSegmentBytes      int32         // transaction.state.log.segment.bytes
	TransactionStateLogLoadBufferSize    int32         // transaction.state.log.load.buffer.size
	TransactionMaxTimeout                time.Duration // transaction.max.timeout.ms
	TransactionalIDExpiration            time.Duration // transactional.id.expiration.ms
	TransactionAbortTimedOutInterval     time.Duration // transaction.abort.timed.out.transaction.cleanup.interval.ms
	TransactionRemoveExpiredInterval     time.Duration // transaction.remove.expired.transaction.cleanup.interval.ms
	TransactionPartitionVerification     bool          // transaction.partition.verification.enable
	ProducerIDExpiration                 time.Duration // producer.id.expiration.ms
	ProducerIDExpirationCheckInterval    time.Duration // producer.id.expiration.check.interval.ms

	// TLS (issue 16 item 2; filled by cmd/internal/config/ssl.go, see tls.go).
	// TLSListeners: the SSL and SASL_SSL listeners by upper-case name; a
	// listener not in it is plaintext. InterBrokerTLS: the client side of
	// inter-broker connections when the inter-broker listener is SSL or
	// SASL_SSL (nil: plaintext). ControlPlaneTLS: the same for
	// control.plane.listener.name, which the controller's channel and the
	// broker-to-controller clients use when it is set.
	TLSListeners    map[string]*TLSListener
	InterBrokerTLS  *tls.Config
	ControlPlaneTLS *tls.Config
	// JAASConfigFile is the JAAS login configuration file named by
	// -Djava.security.auth.login.config in KAFKA_OPTS ("" when not set):
	// SASL listeners read their KafkaServer sections from it.
	JAASConfigFile string

	// StaticConfigs holds every key set in server.properties, the
	// environment or --override, for DescribeConfigs' STATIC_BROKER_CONFIG.
	StaticConfigs map[string]string
}

// DefaultConfig returns Kafka's defaults for the keys above.
func DefaultConfig() Config {
	return Config{
		BrokerID:                 -1,
		BrokerIDGeneration:       true,
		ReservedBrokerMaxID:      1000,
		Listeners:                []string{"PLAINTEXT://:9092"},
		InterBrokerListener:      "PLAINTEXT",
		LogDirs:                  []string{"/tmp/kafka-logs"},
		ZooKeeperSession:         18 * time.Second,
		ZooKeeperConnTimeout:     18 * time.Second,
		NumPartitions:            1,
		DefaultReplicationFactor: 1,
		AutoCreateTopics:         true,
		DeleteTopicEnable:        true,
		MessageMaxBytes:          1048588,
		SocketRequestMaxBytes:    100 * 1024 * 1024,
		ConnectionsMaxIdleMs:     10 * 60 * 1000,
		QueuedMaxRequests:        500,
		QueuedMaxRequestBytes:    -1,
		MinInsyncReplicas:        1,
		ProducerIDBlockSize:      1000,
		Storage:                  storage.DefaultLogConfig(),

		RetentionCheckInterval:        300 * time.Second,
		LogCleanerEnable:              true,
		LogCleanerThreads:             1,
		LogCleanerBackoff:             15 * time.Second,
		FlushOffsetCheckpointInterval: 60 * time.Second,

		AutoLeaderRebalanceEnable:          true,
		LeaderImbalanceCheckInterval:       300 * time.Second,
		LeaderImbalancePerBrokerPercentage: 10,
		ControlledShutdownEnable:           true,
		ControlledShutdownMaxRetries:       3,
		ControlledShutdownRetryBackoff:     5 * time.Second,

		ReplicaLagTimeMax:         30 * time.Second,
		NumReplicaFetchers:        1,
		ReplicaFetchMaxBytes:      1024 * 1024,
		ReplicaFetchResponseMax:   10 * 1024 * 1024,
		ReplicaFetchWaitMax:       500 * time.Millisecond,
		ReplicaFetchMinBytes:      1,
		ReplicaFetchBackoff:       time.Second,
		ReplicaSocketTimeout:      30 * time.Second,
		ReplicaHWCheckpointPeriod: 5 * time.Second,

		OffsetsTopicNumPartitions:     50,
		OffsetsTopicReplicationFactor: 3,
		OffsetsTopicSegmentBytes:      100 * 1024 * 1024,
		OffsetsTopicCompressionCodec:  0,
		OffsetsRetention:              7 * 24 * time.Hour,
		OffsetsRetentionCheckInterval: 10 * time.Minute,
		OffsetCommitTimeout:           5 * time.Second,
		OffsetsLoadBufferSize:         5 * 1024 * 1024,
		OffsetMetadataMaxBytes:        4096,
		GroupInitialRebalanceDelay:    3 * time.Second,

		TransactionStateLogNumPartitions:     50,
		TransactionStateLogReplicationFactor: 3,
		TransactionStateLogMinISR:            2,
		TransactionStateLogSegmentBytes:      100 * 1024 * 1024,
		TransactionStateLogLoadBufferSize:    5 * 1024 * 1024,
		TransactionMaxTimeout:                15 * time.Minute,
		TransactionalIDExpiration:            7 * 24 * time.Hour,
		TransactionAbortTimedOutInterval:     10 * time.Second,
		TransactionRemoveExpiredInterval:     time.Hour,
		TransactionPartitionVerification:     true,
		ProducerIDExpiration:                 24 * time.Hour,
		ProducerIDExpirationCheckInterval:    10 * time.Minute,
		GroupMinSessionTimeout:               6 * time.Second,
		GroupMaxSessionTimeout:               30 * time.Minute,
		GroupMaxSize:                         1<<31 - 1,
	}
}

// protocols is the effective listener.security.protocol.map.
func (c Config) protocols() map[string]SecurityProtocol {
	if c.ListenerProtocols == nil {
		return DefaultListenerProtocols()
	}
	return c.ListenerProtocols
}

// BindListeners is listeners parsed (KafkaConfig.listeners).
func (c Config) BindListeners() ([]Listener, error) {
	return ParseListeners(strings.Join(c.Listeners, ","), c.protocols(), true)
}

// AdvertisedEndpoints is advertised.listeners parsed, or listeners when it
// is unset (KafkaConfig.effectiveAdvertisedBrokerListeners).
func (c Config) AdvertisedEndpoints() ([]Listener, error) {
	if len(c.AdvertisedListeners) == 0 {
		return c.BindListeners()
	}
	return ParseListeners(strings.Join(c.AdvertisedListeners, ","), c.protocols(), false)
}

// interBrokerListener is the listener brokers use to reach each other
// (KafkaConfig.interBrokerListenerName).
func (c Config) interBrokerListener() string {
	if c.InterBrokerListener == "" {
		return "PLAINTEXT"
	}
	return c.InterBrokerListener
}

// controllerListener is the listener the controller sends its requests to
// (ControllerChannelManager: control.plane.listener.name, else the
// inter-broker listener).
func (c Config) controllerListener() string {
	if c.ControlPlaneListener != "" {
		return c.ControlPlaneListener
	}
	return c.interBrokerListener()
}

// ClientTLS is the TLS client config of this broker's own connections to
// listener (the inter-broker or the control-plane listener); nil:
// plaintext.
func (c Config) ClientTLS(listener string) *tls.Config {
	switch {
	case c.ControlPlaneListener != "" && listener == c.ControlPlaneListener:
		return c.ControlPlaneTLS
	case listener == c.interBrokerListener():
		return c.InterBrokerTLS
	}
	return nil
}

// ControllerListener is the listener the controller sends to and brokers
// reach the controller on: control.plane.listener.name, else the
// inter-broker listener.
func (c Config) ControllerListener() string { return c.controllerListener() }
