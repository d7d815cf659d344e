package storage

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// LogConfig is one topic's log settings (Kafka's LogConfig): the broker's
// defaults (log.* keys) overlaid with the topic's own /config/topics/<t>.
// Field comments give the topic-level key.
type LogConfig struct {
	SegmentBytes       int64 // segment.bytes
	SegmentMs          int64 // segment.ms
	SegmentJitterMs    int64 // segment.jitter.ms
	MaxIndexBytes      int   // segment.index.bytes
	IndexIntervalBytes int   // index.interval.bytes

	FlushMessages int64 // flush.messages
	FlushMs       int64 // flush.ms

	RetentionMs       int64 // retention.ms (-1: no time limit)
	RetentionBytes    int64 // retention.bytes (-1: no size limit)
	FileDeleteDelayMs int64 // file.delete.delay.ms

	CleanupPolicy          []string // cleanup.policy: "delete", "compact" or both
	DeleteRetentionMs      int64    // delete.retention.ms
	MinCleanableDirtyRatio float64  // min.cleanable.dirty.ratio
	MinCompactionLagMs     int64    // min.compaction.lag.ms
	MaxCompactionLagMs     int64    // max.compaction.lag.ms

	MaxMessageBytes      int32  // max.message.bytes
	MessageTimestampType string // message.timestamp.type: CreateTime or LogAppendTime
	// message.timestamp.before.max.ms, .after.max.ms and the deprecated
	// .difference.max.ms: how far a CreateTime record's timestamp may lie
	// before or after the broker's time (KIP-937); math.MaxInt64 is no
	// limit. The effective bounds are TimestampBounds'.
	MessageTimestampBeforeMaxMs     int64
	MessageTimestampAfterMaxMs      int64
	MessageTimestampDifferenceMaxMs int64
	MinInsyncReplicas               int32  // min.insync.replicas
	UncleanLeaderElectionEnable     bool   // unclean.leader.election.enable
	CompressionType                 string // compression.type
	Preallocate                     bool   // preallocate
	// DownConversionDisabled is message.downconversion.enable=false
	// (inverted so that the zero value is Kafka's default, true).
	DownConversionDisabled bool
}

// Config is the name the rest of the project first knew LogConfig by.
type Config = LogConfig

// DefaultLogConfig returns Kafka's defaults.
func DefaultLogConfig() LogConfig {
	return LogConfig{
		SegmentBytes:           1 << 30,
		SegmentMs:              7 * 24 * 60 * 60 * 1000,
		MaxIndexBytes:          10 << 20,
		IndexIntervalBytes:     4096,
		FlushMessages:          math.MaxInt64,
		FlushMs:                math.MaxInt64,
		RetentionMs:            7 * 24 * 60 * 60 * 1000,
		RetentionBytes:         -1,
		FileDeleteDelayMs:      60000,
		CleanupPolicy:          []string{"delete"},
		DeleteRetentionMs:      24 * 60 * 60 * 1000,
		MinCleanableDirtyRatio: 0.5,
		MaxCompactionLagMs:     math.MaxInt64,
		MaxMessageBytes:        1048588,
		MessageTimestampType:   "CreateTime",
		MinInsyncReplicas:      1,

		MessageTimestampBeforeMaxMs:     math.MaxInt64,
		MessageTimestampAfterMaxMs:      math.MaxInt64,
		MessageTimestampDifferenceMaxMs: math.MaxInt64,
		CompressionType:                 "producer",
	}
}

// DefaultConfig is DefaultLogConfig under its first name.
func DefaultConfig() Config { return DefaultLogConfig() }

// TimestampBounds are the effective limits on a CreateTime record's
// timestamp: before.max.ms and after.max.ms, each falling back to the
// deprecated difference.max.ms while it is left at its default
// (LogConfig.getMessageTimestampBeforeMaxMs / AfterMaxMs).
func (c LogConfig) TimestampBounds() (beforeMs, afterMs int64) {
	bound := func(v int64) int64 {
		if v == math.MaxInt64 {
			return c.MessageTimestampDifferenceMaxMs
		}
		return v
	}
	return bound(c.MessageTimestampBeforeMaxMs), bound(c.MessageTimestampAfterMaxMs)
}

// Compact reports whether cleanup.policy includes compact.
func (c LogConfig) Compact() bool { return containsPolicy(c.CleanupPolicy, "compact") }

// Delete reports whether cleanup.policy includes delete.
func (c LogConfig) Delete() bool { return containsPolicy(c.CleanupPolicy, "delete") }

func containsPolicy(policies []string, p string) bool {
	for _, x := range policies {
		if x == p {
			return true
		}
	}
	return false
}

// topicKey describes one topic-level key: how to read it into a LogConfig
// and how to print it back.
type topicKey struct {
	set func(c *LogConfig, v string) error
	get func(c LogConfig) string
}

func longKey(field func(*LogConfig) *int64, min int64) topicKey {
	return topicKey{
		set: func(c *LogConfig, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return errors.New("Not a number of type LONG")
			}
			if n < min {
				return fmt.Errorf("Value must be at least %d", min)
			}
			*field(c) = n
			return nil
		},
		get: func(c LogConfig) string { return strconv.FormatInt(*field(&c), 10) },
	}
}

func intKey(field func(*LogConfig) *int, min int) topicKey {
	return topicKey{
		set: func(c *LogConfig, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return errors.New("Not a number of type INT")
			}
			if int(n) < min {
				return fmt.Errorf("Value must be at least %d", min)
			}
			*field(c) = int(n)
			return nil
		},
		get: func(c LogConfig) string { return strconv.Itoa(*field(&c)) },
	}
}

func int32Key(field func(*LogConfig) *int32, min int32) topicKey {
	return topicKey{
		set: func(c *LogConfig, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
			if err != nil {
				return errors.New("Not a number of type INT")
			}
			if int32(n) < min {
				return fmt.Errorf("Value must be at least %d", min)
			}
			*field(c) = int32(n)
			return nil
		},
		get: func(c LogConfig) string { return strconv.Itoa(int(*field(&c))) },
	}
}

func boolKey(field func(*LogConfig) *bool) topicKey {
	return topicKey{
		set: func(c *LogConfig, v string) error {
			switch strings.ToLower(strings.TrimSpace(v)) {
			case "true":
				*field(c) = true
			case "false":
				*field(c) = false
			default:
				return errors.New("Expected value to be either true or false")
			}
			return nil
		},
		get: func(c LogConfig) string { return strconv.FormatBool(*field(&c)) },
	}
}

// notBoolKey is a boolean key stored negated.
func notBoolKey(field func(*LogConfig) *bool) topicKey {
	k := boolKey(field)
	return topicKey{
		set: func(c *LogConfig, v string) error {
			if err := k.set(c, v); err != nil {
				return err
			}
			*field(c) = !*field(c)
			return nil
		},
		get: func(c LogConfig) string { return strconv.FormatBool(!*field(&c)) },
	}
}

func oneOfKey(field func(*LogConfig) *string, allowed ...string) topicKey {
	return topicKey{
		set: func(c *LogConfig, v string) error {
			v = strings.TrimSpace(v)
			for _, a := range allowed {
				if v == a {
					*field(c) = v
					return nil
				}
			}
			return fmt.Errorf("String must be one of: %s", strings.Join(allowed, ", "))
		},
		get: func(c LogConfig) string { return *field(&c) },
	}
}

// topicKeys are the topic-level keys storage understands, with Kafka's
// validity rules. Keys that belong to other rooms (throttled replicas,
// message format) are accepted by the controller but not listed here.
var topicKeys = map[string]topicKey{
	"segment.bytes":        longKey(func(c *LogConfig) *int64 { return &c.SegmentBytes }, 14),
	"segment.ms":           longKey(func(c *LogConfig) *int64 { return &c.SegmentMs }, 1),
	"segment.jitter.ms":    longKey(func(c *LogConfig) *int64 { return &c.SegmentJitterMs }, 0),
	"segment.index.bytes":  intKey(func(c *LogConfig) *int { return &c.MaxIndexBytes }, 4),
	"index.interval.bytes": intKey(func(c *LogConfig) *int { return &c.IndexIntervalBytes }, 0),
	"flush.messages":       longKey(func(c *LogConfig) *int64 { return &c.FlushMessages }, 1),
	"flush.ms":             longKey(func(c *LogConfig) *int64 { return &c.FlushMs }, 0),
	"retention.ms":         longKey(func(c *LogConfig) *int64 { return &c.RetentionMs }, -1),
	"retention.bytes":      longKey(func(c *LogConfig) *int64 { return &c.RetentionBytes }, -1),
	"file.delete.delay.ms": longKey(func(c *LogConfig) *int64 { return &c.FileDeleteDelayMs }, 0),
	"cleanup.policy": {
		set: func(c *LogConfig, v string) error {
			var out []string
			for _, p := range strings.Split(v, ",") {
				p = strings.TrimSpace(p)
				if p != "delete" && p != "compact" {
					return errors.New("String must be one of: compact, delete") // ValidList.in(compact, delete)
				}
				out = append(out, p)
			}
			c.CleanupPolicy = out
			return nil
		},
		get: func(c LogConfig) string { return strings.Join(c.CleanupPolicy, ",") },
	},
	"delete.retention.ms": longKey(func(c *LogConfig) *int64 { return &c.DeleteRetentionMs }, 0),
	"min.cleanable.dirty.ratio": {
		set: func(c *LogConfig, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			switch {
			case err != nil:
				return errors.New("Not a number of type DOUBLE")
			case f < 0:
				return errors.New("Value must be at least 0") // between(0, 1)
			case f > 1:
				return errors.New("Value must be no more than 1")
			}
			c.MinCleanableDirtyRatio = f
			return nil
		},
		get: func(c LogConfig) string { return strconv.FormatFloat(c.MinCleanableDirtyRatio, 'f', -1, 64) },
	},
	"min.compaction.lag.ms":               longKey(func(c *LogConfig) *int64 { return &c.MinCompactionLagMs }, 0),
	"max.compaction.lag.ms":               longKey(func(c *LogConfig) *int64 { return &c.MaxCompactionLagMs }, 1),
	"max.message.bytes":                   int32Key(func(c *LogConfig) *int32 { return &c.MaxMessageBytes }, 0),
	"message.timestamp.type":              oneOfKey(func(c *LogConfig) *string { return &c.MessageTimestampType }, "CreateTime", "LogAppendTime"),
	"message.timestamp.before.max.ms":     longKey(func(c *LogConfig) *int64 { return &c.MessageTimestampBeforeMaxMs }, 0),
	"message.timestamp.after.max.ms":      longKey(func(c *LogConfig) *int64 { return &c.MessageTimestampAfterMaxMs }, 0),
	"message.timestamp.difference.max.ms": longKey(func(c *LogConfig) *int64 { return &c.MessageTimestampDifferenceMaxMs }, 0),
	"min.insync.replicas":                 int32Key(func(c *LogConfig) *int32 { return &c.MinInsyncReplicas }, 1),
	"unclean.leader.election.enable":      boolKey(func(c *LogConfig) *bool { return &c.UncleanLeaderElectionEnable }),
	"compression.type":                    oneOfKey(func(c *LogConfig) *string { return &c.CompressionType }, "uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
	"preallocate":                         boolKey(func(c *LogConfig) *bool { return &c.Preallocate }),
	"message.downconversion.enable":       notBoolKey(func(c *LogConfig) *bool { return &c.DownConversionDisabled }),
}

// WithOverrides returns c with topic-level overrides applied. Keys storage
// does not own are ignored; a bad value is an error naming its key.
func (c LogConfig) WithOverrides(overrides map[string]string) (LogConfig, error) {
	c.CleanupPolicy = append([]string(nil), c.CleanupPolicy...)
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		key, ok := topicKeys[k]
		if !ok {
			continue
		}
		if err := key.set(&c, overrides[k]); err != nil {
			// ConfigException's message.
			return LogConfig{}, fmt.Errorf("Invalid value %s for configuration %s: %w", overrides[k], k, err)
		}
	}
	return c, nil
}

// Values lists c as topic-level key=value strings (for DescribeConfigs).
func (c LogConfig) Values() map[string]string {
	out := make(map[string]string, len(topicKeys))
	for k, key := range topicKeys {
		out[k] = key.get(c)
	}
	return out
}

// normalized replaces unset or impossible values: zero means the default,
// and segments cannot exceed int32 positions (segment.bytes is an int).
func (c LogConfig) normalized() LogConfig {
	d := DefaultLogConfig()
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = d.SegmentBytes
	}
	if c.SegmentBytes > math.MaxInt32 {
		c.SegmentBytes = math.MaxInt32
	}
	if c.IndexIntervalBytes < 0 {
		c.IndexIntervalBytes = d.IndexIntervalBytes
	}
	if c.MaxIndexBytes <= 0 {
		c.MaxIndexBytes = d.MaxIndexBytes
	}
	if c.SegmentMs <= 0 {
		c.SegmentMs = d.SegmentMs
	}
	if c.FlushMessages <= 0 {
		c.FlushMessages = d.FlushMessages
	}
	if len(c.CleanupPolicy) == 0 {
		c.CleanupPolicy = d.CleanupPolicy
	}
	if c.MaxCompactionLagMs <= 0 {
		c.MaxCompactionLagMs = d.MaxCompactionLagMs
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = d.MaxMessageBytes
	}
	if c.MessageTimestampType == "" {
		c.MessageTimestampType = d.MessageTimestampType
	}
	// All three timestamp limits zero: a LogConfig not built from
	// DefaultLogConfig, so none were given.
	if c.MessageTimestampBeforeMaxMs == 0 && c.MessageTimestampAfterMaxMs == 0 && c.MessageTimestampDifferenceMaxMs == 0 {
		c.MessageTimestampBeforeMaxMs = d.MessageTimestampBeforeMaxMs
		c.MessageTimestampAfterMaxMs = d.MessageTimestampAfterMaxMs
		c.MessageTimestampDifferenceMaxMs = d.MessageTimestampDifferenceMaxMs
	}
	if c.MinInsyncReplicas <= 0 {
		c.MinInsyncReplicas = d.MinInsyncReplicas
	}
	if c.CompressionType == "" {
		c.CompressionType = d.CompressionType
	}
	return c
}
