package broker

import (
	"log/slog"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Kafka's log level names and the slog levels they set (broker_logger.go),
// and the Kafka name each slog level is described as.
func TestKafkaLogLevels(t *testing.T) {
	for _, tc := range []struct {
		kafka string
		slog  slog.Level
	}{
		{"TRACE", slog.LevelDebug - 4}, {"DEBUG", slog.LevelDebug}, {"INFO", slog.LevelInfo},
		{"WARN", slog.LevelWarn}, {"ERROR", slog.LevelError}, {"FATAL", slog.LevelError + 4},
	} {
		l, ok := slogLevelOf(tc.kafka)
		if !ok || l != tc.slog {
			t.Errorf("%s: slog level %v %v, want %v", tc.kafka, l, ok, tc.slog)
		}
		if got := kafkaLevelName(tc.slog); got != tc.kafka {
			t.Errorf("%v: named %s, want %s", tc.slog, got, tc.kafka)
		}
	}
	// LogLevelConfig.VALID_LOG_LEVELS: exact upper-case names, no OFF/ALL.
	for _, bad := range []string{"debug", "OFF", "ALL", "", "VERBOSE"} {
		if _, ok := slogLevelOf(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	// A level between two of Kafka's is described as the next one up
	// (what it lets through); beyond FATAL nothing is logged: OFF.
	for l, want := range map[slog.Level]string{-2: "INFO", 2: "WARN", 13: "OFF", -9: "ALL"} {
		if got := kafkaLevelName(l); got != want {
			t.Errorf("%v: named %s, want %s", l, got, want)
		}
	}
}

func describeBrokerLogger(t *testing.T, s *Server, version int16, name string, keys []string, docs bool) kmsg.DescribeConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = version
	req.IncludeDocumentation = docs
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.ConfigNames = kmsg.ConfigResourceTypeBrokerLogger, name, keys
	req.Resources = append(req.Resources, rr)
	resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
		return s.handleDescribeConfigs(r.(*kmsg.DescribeConfigsRequest))
	}).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("%d answers", len(resp.Resources))
	}
	return resp.Resources[0]
}

func incrementalAlterBrokerLogger(t *testing.T, s *Server, version int16, name string, validateOnly bool, ops ...kmsg.IncrementalAlterConfigsRequestResourceConfig) (int16, *string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.Version = version
	req.ValidateOnly = validateOnly
	rr := kmsg.NewIncrementalAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName, rr.Configs = kmsg.ConfigResourceTypeBrokerLogger, name, ops
	req.Resources = append(req.Resources, rr)
	resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
		return s.handleIncrementalAlterConfigs(r.(*kmsg.IncrementalAlterConfigsRequest))
	}).(*kmsg.IncrementalAlterConfigsResponse)
	if len(resp.Resources) != 1 {
		t.Fatalf("%d answers", len(resp.Resources))
	}
	return resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage
}

func loggerOp(op kmsg.IncrementalAlterConfigOp, name string, value *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Op, c.Name, c.Value = op, name, value
	return c
}

// DescribeConfigs of BROKER_LOGGER is ConfigHelper.describeConfigs with
// Log4jController.loggers: the root logger with its level, source
// DYNAMIC_BROKER_LOGGER_CONFIG, neither read-only nor sensitive, no
// synonyms, no documentation, no config type.
func TestDescribeBrokerLogger(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	s.cfg.LogLevel = new(slog.LevelVar)
	for version := int16(0); version <= 4; version++ {
		r := describeBrokerLogger(t, s, version, "1", nil, version >= 3)
		if r.ErrorCode != 0 {
			t.Fatalf("v%d: %v %v", version, kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage)
		}
		if len(r.Configs) != 1 {
			t.Fatalf("v%d: %d loggers, want root only", version, len(r.Configs))
		}
		c := r.Configs[0]
		if c.Name != "root" || c.Value == nil || *c.Value != "INFO" || c.ReadOnly || c.IsSensitive || c.IsDefault ||
			len(c.ConfigSynonyms) != 0 || c.Documentation != nil || c.ConfigType != kmsg.ConfigTypeUnknown {
			t.Errorf("v%d: %+v", version, c)
		}
		if version >= 1 && c.Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig {
			t.Errorf("v%d: source %v", version, c.Source)
		}
	}
	// Requested names filter the loggers; an unknown one is left out.
	if r := describeBrokerLogger(t, s, 4, "1", []string{"kafka.server"}, false); r.ErrorCode != 0 || len(r.Configs) != 0 {
		t.Errorf("unknown logger asked: %v %d configs", kerr.ErrorForCode(r.ErrorCode), len(r.Configs))
	}
	if r := describeBrokerLogger(t, s, 4, "1", []string{"root"}, false); r.ErrorCode != 0 || len(r.Configs) != 1 {
		t.Errorf("root asked: %v %d configs", kerr.ErrorForCode(r.ErrorCode), len(r.Configs))
	}
}

// IncrementalAlterConfigs of BROKER_LOGGER is
// RuntimeLoggerManager.applyChangesForResource: the node id, then every
// operation validated (validateLogLevelConfigs) before any is applied.
func TestIncrementalAlterBrokerLogger(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	level := new(slog.LevelVar)
	s.cfg.LogLevel = level
	str := kmsg.StringPtr
	set, del := kmsg.IncrementalAlterConfigOpSet, kmsg.IncrementalAlterConfigOpDelete

	// validate_only changes nothing.
	if code, msg := incrementalAlterBrokerLogger(t, s, 0, "1", true, loggerOp(set, "root", str("DEBUG"))); code != 0 {
		t.Fatalf("validate only: %v %v", kerr.ErrorForCode(code), msg)
	}
	if level.Level() != slog.LevelInfo {
		t.Fatalf("validate only changed the level to %v", level.Level())
	}
	if code, msg := incrementalAlterBrokerLogger(t, s, 1, "1", false, loggerOp(set, "root", str("DEBUG"))); code != 0 {
		t.Fatalf("set root=DEBUG: %v %v", kerr.ErrorForCode(code), msg)
	}
	if level.Level() != slog.LevelDebug {
		t.Fatalf("root level %v after SET DEBUG", level.Level())
	}
	if r := describeBrokerLogger(t, s, 4, "1", nil, false); len(r.Configs) != 1 || *r.Configs[0].Value != "DEBUG" {
		t.Fatalf("described after SET: %+v", r.Configs)
	}

	for _, tc := range []struct {
		name string
		res  string
		ops  []kmsg.IncrementalAlterConfigsRequestResourceConfig
		code *kerr.Error
		msg  *string
	}{
		{"bad level", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("debug"))},
			kerr.InvalidConfig, str("Cannot set the log level of root to debug as it is not a supported log level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN")},
		{"OFF is not settable", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("OFF"))},
			kerr.InvalidConfig, str("Cannot set the log level of root to OFF as it is not a supported log level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN")},
		{"append", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(kmsg.IncrementalAlterConfigOpAppend, "root", str("WARN"))},
			kerr.InvalidRequest, str("APPEND operation is not allowed for the BROKER_LOGGER resource")},
		{"subtract", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(kmsg.IncrementalAlterConfigOpSubtract, "root", str("WARN"))},
			kerr.InvalidRequest, str("SUBTRACT operation is not allowed for the BROKER_LOGGER resource")},
		// OpType.forId gives null, the switch throws: an unexpected error, no message.
		{"unknown op", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(7, "root", str("WARN"))},
			kerr.UnknownServerError, nil},
		{"delete root", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(del, "root", nil)},
			kerr.InvalidRequest, str("Removing the log level of the root logger is not allowed")},
		{"unknown logger set", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "kafka.server.ReplicaManager", str("WARN"))},
			kerr.InvalidConfig, str("Logger kafka.server.ReplicaManager does not exist!")},
		{"unknown logger delete", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(del, "kafka", nil)},
			kerr.InvalidConfig, str("Logger kafka does not exist!")},
		// A valid first operation is not applied when a later one fails.
		{"all or nothing", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("ERROR")), loggerOp(set, "kafka", str("WARN"))},
			kerr.InvalidConfig, str("Logger kafka does not exist!")},
		// preprocess: a logger named twice fails before any is looked at.
		{"duplicate", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("ERROR")), loggerOp(del, "root", nil)},
			kerr.InvalidRequest, str("Error due to duplicate config keys")},
		{"null value", "1", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", nil)},
			kerr.InvalidRequest, str("Null value not supported for : root")},
		{"empty name", "", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("WARN"))},
			kerr.InvalidRequest, str("Node id must be an integer, but it is: ")},
		{"not a number", "one", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("WARN"))},
			kerr.InvalidRequest, str("Node id must be an integer, but it is: one")},
		// RuntimeLoggerManager.validateResourceNameIsNodeId prints its own id twice.
		{"other broker", "5", []kmsg.IncrementalAlterConfigsRequestResourceConfig{loggerOp(set, "root", str("WARN"))},
			kerr.InvalidRequest, str("Unexpected node id. Expected 1, but received 1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := incrementalAlterBrokerLogger(t, s, 1, tc.res, false, tc.ops...)
			if code != tc.code.Code {
				t.Errorf("%v, want %v", kerr.ErrorForCode(code), tc.code)
			}
			if (msg == nil) != (tc.msg == nil) || msg != nil && *msg != *tc.msg {
				t.Errorf("message %v, want %v", msg, tc.msg)
			}
			if level.Level() != slog.LevelDebug {
				t.Errorf("refused request changed the level to %v", level.Level())
			}
		})
	}

	// Every settable level round-trips through DescribeConfigs.
	for _, name := range []string{"TRACE", "WARN", "ERROR", "FATAL", "INFO"} {
		if code, msg := incrementalAlterBrokerLogger(t, s, 1, "1", false, loggerOp(set, "root", str(name))); code != 0 {
			t.Fatalf("set %s: %v %v", name, kerr.ErrorForCode(code), msg)
		}
		if r := describeBrokerLogger(t, s, 4, "1", nil, false); *r.Configs[0].Value != name {
			t.Errorf("set %s, described %s", name, *r.Configs[0].Value)
		}
	}
}

// SET root really changes what the broker's slog handler lets through.
func TestBrokerLoggerLevelTakesEffect(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	level := new(slog.LevelVar)
	s.cfg.LogLevel = level
	h := slog.NewTextHandler(nil, &slog.HandlerOptions{Level: level})
	if h.Enabled(t.Context(), slog.LevelDebug) {
		t.Fatal("debug enabled at INFO")
	}
	if code, _ := incrementalAlterBrokerLogger(t, s, 1, "1", false, loggerOp(kmsg.IncrementalAlterConfigOpSet, "root", kmsg.StringPtr("DEBUG"))); code != 0 {
		t.Fatal(kerr.ErrorForCode(code))
	}
	if !h.Enabled(t.Context(), slog.LevelDebug) {
		t.Fatal("debug not enabled after SET root=DEBUG")
	}
}

// The legacy AlterConfigs has no BROKER_LOGGER: ConfigAdminManager.preprocess
// refuses it as an unknown resource type, the level untouched.
func TestLegacyAlterConfigsBrokerLogger(t *testing.T) {
	s := newReplicaTestServer(t, 1, t.TempDir())
	level := new(slog.LevelVar)
	s.cfg.LogLevel = level
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version = 2
	rr := kmsg.NewAlterConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, "1"
	c := kmsg.NewAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "root", kmsg.StringPtr("DEBUG")
	rr.Configs = append(rr.Configs, c)
	req.Resources = append(req.Resources, rr)
	resp := roundTrip(t, req, func(r kmsg.Request) kmsg.Response {
		return s.handleAlterConfigs(r.(*kmsg.AlterConfigsRequest))
	}).(*kmsg.AlterConfigsResponse)
	r := resp.Resources[0]
	if r.ErrorCode != kerr.InvalidRequest.Code || r.ErrorMessage == nil || *r.ErrorMessage != "Unknown resource type 8" {
		t.Errorf("%v %v", kerr.ErrorForCode(r.ErrorCode), r.ErrorMessage)
	}
	if level.Level() != slog.LevelInfo {
		t.Errorf("level changed to %v", level.Level())
	}
}
