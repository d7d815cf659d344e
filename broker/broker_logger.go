package broker

import (
	"log/slog"
	"slices"
	"strconv"

	"github.com/kafkazk/kafkazk/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The BROKER_LOGGER resource is Kafka's Log4jController over this broker's
// slog setup. There is one logger, "root" (Log4jController.ROOT_LOGGER):
// its level is Config.LogLevel, the slog.LevelVar the broker's handler is
// built with, so a SET changes what the broker logs at once.
//
// Kafka's log4j levels map onto slog's numeric levels, four apart as slog's
// own are:
//
//	TRACE -8 (slog.LevelDebug-4)   DEBUG -4 (slog.LevelDebug)
//	INFO   0 (slog.LevelInfo)      WARN   4 (slog.LevelWarn)
//	ERROR  8 (slog.LevelError)     FATAL 12 (slog.LevelError+4)
//
// Only those six can be set (LogLevelConfig.VALID_LOG_LEVELS). A level set
// otherwise (KAFKA_LOG_LEVEL=DEBUG+2) is described by the Kafka level that
// lets the same records through: the next one up; below TRACE it is ALL,
// above FATAL (nothing logged) OFF, log4j's names for those ends.

const rootLoggerName = "root"

// kafkaLogLevels are Kafka's settable levels, lowest first.
var kafkaLogLevels = []struct {
	name  string
	level slog.Level
}{
	{"TRACE", slog.LevelDebug - 4},
	{"DEBUG", slog.LevelDebug},
	{"INFO", slog.LevelInfo},
	{"WARN", slog.LevelWarn},
	{"ERROR", slog.LevelError},
	{"FATAL", slog.LevelError + 4},
}

// validLogLevels is RuntimeLoggerManager.VALID_LOG_LEVELS_STRING: the
// settable names sorted alphabetically.
const validLogLevels = "DEBUG, ERROR, FATAL, INFO, TRACE, WARN"

// slogLevelOf is the slog level of one of Kafka's settable level names,
// matched exactly (upper case) as VALID_LOG_LEVELS.contains does.
func slogLevelOf(name string) (slog.Level, bool) {
	for _, l := range kafkaLogLevels {
		if l.name == name {
			return l.level, true
		}
	}
	return 0, false
}

// kafkaLevelName is the Kafka name a slog level is described with.
func kafkaLevelName(level slog.Level) string {
	if level < kafkaLogLevels[0].level {
		return "ALL"
	}
	for _, l := range kafkaLogLevels {
		if level <= l.level {
			return l.name
		}
	}
	return "OFF"
}

// rootLogLevel is the root logger's current level; INFO (slog's default)
// when the broker was built without a LevelVar.
func (s *Server) rootLogLevel() slog.Level {
	if s.cfg.LogLevel == nil {
		return slog.LevelInfo
	}
	return s.cfg.LogLevel.Level()
}

// describeBrokerLoggers is ConfigHelper.describeConfigs for BROKER_LOGGER
// once the name is this broker's id: every logger of
// Log4jController.loggers (root only here) named in names (all when none),
// each with its level, source DYNAMIC_BROKER_LOGGER_CONFIG, not read-only,
// not sensitive, no synonyms; ConfigHelper sets neither documentation nor
// config_type for them.
func (s *Server) describeBrokerLoggers(names []string) []kmsg.DescribeConfigsResponseResourceConfig {
	loggers := map[string]string{rootLoggerName: kafkaLevelName(s.rootLogLevel())}
	var out []kmsg.DescribeConfigsResponseResourceConfig
	for name, level := range loggers {
		if len(names) > 0 && !slices.Contains(names, name) {
			continue
		}
		c := kmsg.NewDescribeConfigsResponseResourceConfig()
		c.Name, c.Value = name, kmsg.StringPtr(level)
		c.Source = kmsg.ConfigSourceDynamicBrokerLoggerConfig
		out = append(out, c)
	}
	return out
}

// alterBrokerLoggers is RuntimeLoggerManager.applyChangesForResource, run
// from ConfigAdminManager.preprocess after its duplicate and null checks:
// the resource name must be this node's id, every operation is validated
// (validateLogLevelConfigs) before any is applied (alterLogLevelConfigs),
// and validate_only stops after the validation.
func (s *Server) alterBrokerLoggers(name string, ops []kmsg.IncrementalAlterConfigsRequestResourceConfig, validateOnly bool) error {
	// validateResourceNameIsNodeId; Kafka 3.9's message prints its own id
	// where the received one belongs, reproduced as clients see it.
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return protocol.NewAPIError(kerr.InvalidRequest, "Node id must be an integer, but it is: %s", name)
	}
	if int32(id) != s.cfg.BrokerID {
		return protocol.NewAPIError(kerr.InvalidRequest, "Unexpected node id. Expected %d, but received %d", s.cfg.BrokerID, s.cfg.BrokerID)
	}
	for _, op := range ops {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		switch op.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if op.Name != rootLoggerName {
				return protocol.NewAPIError(kerr.InvalidConfig, "Logger %s does not exist!", op.Name)
			}
			if _, ok := slogLevelOf(value); !ok {
				return protocol.NewAPIError(kerr.InvalidConfig, "Cannot set the log level of %s to %s as it is not a supported log level. Valid log levels are %s",
					op.Name, value, validLogLevels)
			}
		case kmsg.IncrementalAlterConfigOpDelete:
			if op.Name != rootLoggerName {
				return protocol.NewAPIError(kerr.InvalidConfig, "Logger %s does not exist!", op.Name)
			}
			// Only root exists, and its level cannot be unset.
			return protocol.NewAPIError(kerr.InvalidRequest, "Removing the log level of the %s logger is not allowed", rootLoggerName)
		case kmsg.IncrementalAlterConfigOpAppend:
			return protocol.NewAPIError(kerr.InvalidRequest, "APPEND operation is not allowed for the BROKER_LOGGER resource")
		case kmsg.IncrementalAlterConfigOpSubtract:
			return protocol.NewAPIError(kerr.InvalidRequest, "SUBTRACT operation is not allowed for the BROKER_LOGGER resource")
		default:
			// OpType.forId answers null for an unknown code and the
			// switch on it throws: UNKNOWN_SERVER_ERROR, no message.
			return kerr.UnknownServerError
		}
	}
	if validateOnly || s.cfg.LogLevel == nil {
		return nil
	}
	for _, op := range ops {
		level, _ := slogLevelOf(*op.Value) // only valid SETs reach here
		s.cfg.LogLevel.Set(level)
		s.logger.Warn("updated the log level", "logger", op.Name, "level", *op.Value)
	}
	return nil
}
