package config

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/storage"
)

const (
	msPerMinute = 60 * 1000
	msPerHour   = 60 * msPerMinute
)

// logConfig maps the broker's log.* keys (and the few unprefixed ones) onto
// the topic-level LogConfig every topic starts from, with Kafka's rules:
// log.roll.ms > log.roll.hours, log.retention.ms > minutes > hours (a
// negative result is -1, unlimited), log.flush.interval.ms defaults to
// log.flush.scheduler.interval.ms.
func (p *parser) logConfig() storage.LogConfig {
	c := storage.DefaultLogConfig()

	p.setLog(&c, "log.segment.bytes", "segment.bytes", p.intText("log.segment.bytes"))
	p.setLog(&c, "log.roll.ms", "segment.ms", p.millisOrHours("log.roll.ms", "log.roll.hours", 1))
	p.setLog(&c, "log.roll.jitter.ms", "segment.jitter.ms", p.millisOrHours("log.roll.jitter.ms", "log.roll.jitter.hours", 0))
	p.setLog(&c, "log.index.size.max.bytes", "segment.index.bytes", p.intText("log.index.size.max.bytes"))
	p.setLog(&c, "log.index.interval.bytes", "index.interval.bytes", p.intText("log.index.interval.bytes"))
	p.setLog(&c, "log.flush.interval.messages", "flush.messages", p.longText("log.flush.interval.messages"))
	if _, ok := p.s["log.flush.interval.ms"]; ok {
		p.setLog(&c, "log.flush.interval.ms", "flush.ms", p.longText("log.flush.interval.ms"))
	} else {
		p.setLog(&c, "log.flush.scheduler.interval.ms", "flush.ms", p.longText("log.flush.scheduler.interval.ms"))
	}
	p.setLog(&c, "log.retention.ms", "retention.ms", p.retentionMs())
	p.setLog(&c, "log.retention.bytes", "retention.bytes", p.longText("log.retention.bytes"))
	p.setLog(&c, "log.segment.delete.delay.ms", "file.delete.delay.ms", p.longText("log.segment.delete.delay.ms"))
	p.setLog(&c, "log.cleanup.policy", "cleanup.policy", p.listText("log.cleanup.policy"))
	p.setLog(&c, "log.cleaner.delete.retention.ms", "delete.retention.ms", p.longText("log.cleaner.delete.retention.ms"))
	p.setLog(&c, "log.cleaner.min.cleanable.ratio", "min.cleanable.dirty.ratio", p.raw("log.cleaner.min.cleanable.ratio"))
	p.setLog(&c, "log.cleaner.min.compaction.lag.ms", "min.compaction.lag.ms", p.longText("log.cleaner.min.compaction.lag.ms"))
	p.setLog(&c, "log.cleaner.max.compaction.lag.ms", "max.compaction.lag.ms", p.longText("log.cleaner.max.compaction.lag.ms"))
	p.setLog(&c, "message.max.bytes", "max.message.bytes", p.intText("message.max.bytes"))
	p.setLog(&c, "log.message.timestamp.type", "message.timestamp.type", p.raw("log.message.timestamp.type"))
	p.setLog(&c, "log.message.timestamp.before.max.ms", "message.timestamp.before.max.ms", p.longText("log.message.timestamp.before.max.ms"))
	p.setLog(&c, "log.message.timestamp.after.max.ms", "message.timestamp.after.max.ms", p.longText("log.message.timestamp.after.max.ms"))
	p.setLog(&c, "log.message.timestamp.difference.max.ms", "message.timestamp.difference.max.ms", p.longText("log.message.timestamp.difference.max.ms"))
	p.setLog(&c, "min.insync.replicas", "min.insync.replicas", p.intText("min.insync.replicas"))
	p.setLog(&c, "unclean.leader.election.enable", "unclean.leader.election.enable", p.raw("unclean.leader.election.enable"))
	p.setLog(&c, "compression.type", "compression.type", p.raw("compression.type"))
	p.setLog(&c, "log.preallocate", "preallocate", p.raw("log.preallocate"))
	p.setLog(&c, "log.message.downconversion.enable", "message.downconversion.enable", p.raw("log.message.downconversion.enable"))
	return c
}

// setLog applies one broker key's value (already converted to the topic
// key's unit; "" means unset) through storage's topic-level validation, so
// both levels accept the same values; an error names the broker key.
func (p *parser) setLog(c *storage.LogConfig, brokerKey, topicKey, value string) {
	if value == "" || p.err != nil {
		return
	}
	next, err := c.WithOverrides(map[string]string{topicKey: value})
	if err != nil {
		why := err
		if inner := errors.Unwrap(err); inner != nil {
			why = inner
		}
		p.fail(brokerKey, p.s[brokerKey], why.Error())
		return
	}
	*c = next
}

// raw is the trimmed value of key, "" when unset.
func (p *parser) raw(key string) string {
	v, ok := p.s[key]
	if !ok {
		return ""
	}
	return strings.TrimSpace(v)
}

// intText type-checks key as a Kafka INT and returns it as text.
func (p *parser) intText(key string) string {
	if _, ok := p.s[key]; !ok {
		return ""
	}
	return strconv.FormatInt(int64(p.int32(key, 0, math.MinInt32)), 10)
}

// longText type-checks key as a Kafka LONG and returns it as text.
func (p *parser) longText(key string) string {
	if _, ok := p.s[key]; !ok {
		return ""
	}
	return strconv.FormatInt(p.int64(key, 0, math.MinInt64), 10)
}

// listText normalises a comma-separated list.
func (p *parser) listText(key string) string {
	if _, ok := p.s[key]; !ok {
		return ""
	}
	return strings.Join(p.list(key, nil), ",")
}

// millisOrHours is Kafka's "<x>.ms wins over <x>.hours" rule (log.roll.*);
// hours has a lower bound, ms none of its own.
func (p *parser) millisOrHours(msKey, hoursKey string, minHours int32) string {
	if _, ok := p.s[msKey]; ok {
		return p.longText(msKey)
	}
	if _, ok := p.s[hoursKey]; ok {
		h := p.int32(hoursKey, 0, minHours)
		return strconv.FormatInt(int64(h)*msPerHour, 10)
	}
	return ""
}

// retentionMs is KafkaConfig.logRetentionTimeMillis: log.retention.ms, else
// log.retention.minutes, else log.retention.hours; any negative is -1.
func (p *parser) retentionMs() string {
	var ms int64
	switch {
	case p.has("log.retention.ms"):
		ms = p.int64("log.retention.ms", 0, math.MinInt64)
	case p.has("log.retention.minutes"):
		ms = int64(p.int32("log.retention.minutes", 0, math.MinInt32)) * msPerMinute
	case p.has("log.retention.hours"):
		ms = int64(p.int32("log.retention.hours", 0, math.MinInt32)) * msPerHour
	default:
		return ""
	}
	if ms < 0 {
		ms = -1
	}
	return strconv.FormatInt(ms, 10)
}

func (p *parser) has(key string) bool {
	_, ok := p.s[key]
	return ok
}
