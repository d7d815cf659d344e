package config

import (
	"time"

	"github.com/kafkazk/kafkazk/broker"
)

// txnConfig reads the transaction coordinator's and the producer state's keys
// with Kafka's types and validators (TransactionLogConfig,
// TransactionStateManagerConfig, ProducerStateManagerConfig: every number ≥ 1).
func (p *parser) txnConfig(c *broker.Config) {
	c.TransactionStateLogNumPartitions = p.int32("transaction.state.log.num.partitions", c.TransactionStateLogNumPartitions, 1)
	rf := p.int32("transaction.state.log.replication.factor", int32(c.TransactionStateLogReplicationFactor), 1)
	if rf > 1<<15-1 {
		p.fail("transaction.state.log.replication.factor", p.s["transaction.state.log.replication.factor"], "expected a 16-bit integer")
		rf = int32(c.TransactionStateLogReplicationFactor)
	}
	c.TransactionStateLogReplicationFactor = int16(rf)
	c.TransactionStateLogMinISR = p.int32("transaction.state.log.min.isr", c.TransactionStateLogMinISR, 1)
	c.TransactionStateLogSegmentBytes = p.int32("transaction.state.log.segment.bytes", c.TransactionStateLogSegmentBytes, 1)
	c.TransactionStateLogLoadBufferSize = p.int32("transaction.state.log.load.buffer.size", c.TransactionStateLogLoadBufferSize, 1)
	c.TransactionMaxTimeout = p.millis32("transaction.max.timeout.ms", c.TransactionMaxTimeout)
	c.TransactionalIDExpiration = p.millis32("transactional.id.expiration.ms", c.TransactionalIDExpiration)
	c.TransactionAbortTimedOutInterval = p.millis32("transaction.abort.timed.out.transaction.cleanup.interval.ms", c.TransactionAbortTimedOutInterval)
	c.TransactionRemoveExpiredInterval = p.millis32("transaction.remove.expired.transaction.cleanup.interval.ms", c.TransactionRemoveExpiredInterval)
	c.TransactionPartitionVerification = p.bool("transaction.partition.verification.enable", c.TransactionPartitionVerification)
	c.ProducerIDExpiration = p.millis32("producer.id.expiration.ms", c.ProducerIDExpiration)
	c.ProducerIDExpirationCheckInterval = p.millis32("producer.id.expiration.check.interval.ms", c.ProducerIDExpirationCheckInterval)
}

// millis32 reads a Kafka INT key in milliseconds with Kafka's atLeast(1).
func (p *parser) millis32(key string, def time.Duration) time.Duration {
	return time.Duration(p.int32(key, int32(def.Milliseconds()), 1)) * time.Millisecond
}
