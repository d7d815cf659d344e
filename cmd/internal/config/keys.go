package config

type kind int

const (
	kString kind = iota
	kInt
	kLong
	kBool
	kDouble
	kList
)

// knownKeys are Kafka broker configuration keys (ZooKeeper mode) with their
// types. A key listed here is accepted without a warning and type-checked;
// the broker acts on the ones broker.Config carries. Keys of Kafka's shipped
// server.properties and of the common container images are all here.
var knownKeys = map[string]kind{
	"broker.id":                                kInt,
	"broker.rack":                              kString,
	"broker.id.generation.enable":              kBool,
	"reserved.broker.max.id":                   kInt,
	"listeners":                                kList,
	"advertised.listeners":                     kList,
	"listener.security.protocol.map":           kList,
	"inter.broker.listener.name":               kString,
	"security.inter.broker.protocol":           kString,
	"inter.broker.protocol.version":            kString,
	"log.message.format.version":               kString,
	"num.network.threads":                      kInt,
	"num.io.threads":                           kInt,
	"num.replica.fetchers":                     kInt,
	"num.recovery.threads.per.data.dir":        kInt,
	"background.threads":                       kInt,
	"queued.max.requests":                      kInt,
	"socket.send.buffer.bytes":                 kInt,
	"socket.receive.buffer.bytes":              kInt,
	"socket.request.max.bytes":                 kInt,
	"log.dir":                                  kList,
	"log.dirs":                                 kList,
	"num.partitions":                           kInt,
	"default.replication.factor":               kInt,
	"auto.create.topics.enable":                kBool,
	"delete.topic.enable":                      kBool,
	"auto.leader.rebalance.enable":             kBool,
	"leader.imbalance.check.interval.seconds":  kLong,
	"leader.imbalance.per.broker.percentage":   kInt,
	"controlled.shutdown.enable":               kBool,
	"controlled.shutdown.max.retries":          kInt,
	"controlled.shutdown.retry.backoff.ms":     kLong,
	"unclean.leader.election.enable":           kBool,
	"min.insync.replicas":                      kInt,
	"message.max.bytes":                        kInt,
	"replica.lag.time.max.ms":                  kLong,
	"replica.fetch.max.bytes":                  kInt,
	"replica.fetch.wait.max.ms":                kInt,
	"replica.socket.timeout.ms":                kInt,
	"offsets.topic.replication.factor":         kInt,
	"offsets.topic.num.partitions":             kInt,
	"offsets.retention.minutes":                kInt,
	"transaction.state.log.replication.factor": kInt,
	"transaction.state.log.min.isr":            kInt,
	"transaction.state.log.num.partitions":     kInt,
	"group.initial.rebalance.delay.ms":         kInt,
	"group.min.session.timeout.ms":             kInt,
	"group.max.session.timeout.ms":             kInt,
	"log.flush.interval.messages":              kLong,
	"log.flush.interval.ms":                    kLong,
	"log.retention.hours":                      kInt,
	"log.retention.minutes":                    kInt,
	"log.retention.ms":                         kLong,
	"log.retention.bytes":                      kLong,
	"log.retention.check.interval.ms":          kLong,
	"log.segment.bytes":                        kInt,
	"log.roll.hours":                           kInt,
	"log.roll.ms":                              kLong,
	"log.index.interval.bytes":                 kInt,
	"log.index.size.max.bytes":                 kInt,
	"log.cleaner.enable":                       kBool,
	"log.cleanup.policy":                       kList,
	"file.delete.delay.ms":                     kLong,
	"compression.type":                         kString,
	"zookeeper.connect":                        kString,
	"zookeeper.connection.timeout.ms":          kInt,
	"zookeeper.session.timeout.ms":             kInt,
	"zookeeper.set.acl":                        kBool,
	"zookeeper.max.in.flight.requests":         kInt,
}
