package consoleconsumer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The options of Kafka 3.7's ConsoleConsumer.ConsumerConfig (plus --help/--version).
var optSpecs = []cli.Option{
	{Name: "bootstrap-server", Desc: "REQUIRED: The server(s) to connect to.", TakesArg: true, ArgType: "String", ArgDesc: "server to connect to"},
	{Name: "consumer-property", Desc: "A mechanism to pass user-defined properties in the form key=value to the consumer.", TakesArg: true, ArgType: "String", ArgDesc: "consumer_prop"},
	{Name: "consumer.config", Desc: "Consumer config properties file. Note that [consumer-property] takes precedence over this config.", TakesArg: true, ArgType: "String", ArgDesc: "config file"},
	{Name: "enable-systest-events", Desc: "Log lifecycle events of the consumer in addition to logging consumed messages. (This is specific for system tests.)"},
	{Name: "formatter", Desc: "The name of a class to use for formatting kafka messages for display.", TakesArg: true, ArgType: "String", ArgDesc: "class", Default: defaultFormatter},
	{Name: "formatter-config", Desc: "Config properties file to initialize the message formatter. Note that [property] takes precedence over this config.", TakesArg: true, ArgType: "String", ArgDesc: "config file"},
	{Name: "from-beginning", Desc: "If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message."},
	{Name: "group", Desc: "The consumer group id of the consumer.", TakesArg: true, ArgType: "String", ArgDesc: "consumer group id"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "include", Desc: "Regular expression specifying list of topics to include for consumption.", TakesArg: true, ArgType: "String", ArgDesc: "Java regex (String)"},
	{Name: "isolation-level", Desc: "Set to read_committed in order to filter out transactional messages which are not committed. Set to read_uncommitted to read all messages.", TakesArg: true, ArgType: "String", Default: "read_uncommitted"},
	{Name: "key-deserializer", TakesArg: true, ArgType: "String", ArgDesc: "deserializer for key"},
	{Name: "max-messages", Desc: "The maximum number of messages to consume before exiting. If not set, consumption is continual.", TakesArg: true, ArgType: "Integer", ArgDesc: "num_messages"},
	{Name: "offset", Desc: "The offset to consume from (a non-negative number), or 'earliest' which means from beginning, or 'latest' which means from end", TakesArg: true, ArgType: "String", ArgDesc: "consume offset", Default: "latest"},
	{Name: "partition", Desc: "The partition to consume from. Consumption starts from the end of the partition unless '--offset' is specified.", TakesArg: true, ArgType: "Integer", ArgDesc: "partition"},
	{Name: "property", Desc: "The properties to initialize the message formatter. Default properties include:\n print.timestamp=true|false\n print.key=true|false\n print.offset=true|false\n print.partition=true|false\n print.headers=true|false\n print.value=true|false\n key.separator=<key.separator>\n line.separator=<line.separator>\n headers.separator=<line.separator>\n null.literal=<null.literal>\n key.deserializer=<key.deserializer>\n value.deserializer=<value.deserializer>\n header.deserializer=<header.deserializer>\n\nUsers can also pass in customized properties for their formatter; more specifically, users can pass in properties keyed with 'key.deserializer.', 'value.deserializer.' and 'headers.deserializer.' prefixes to configure their deserializers.", TakesArg: true, ArgType: "String", ArgDesc: "prop"},
	{Name: "skip-message-on-error", Desc: "If there is an error when processing a message, skip it instead of halt."},
	{Name: "timeout-ms", Desc: "If specified, exit if no message is available for consumption for the specified interval.", TakesArg: true, ArgType: "Integer", ArgDesc: "timeout_ms"},
	{Name: "topic", Desc: "The topic to consume on.", TakesArg: true, ArgType: "String", ArgDesc: "topic"},
	{Name: "value-deserializer", TakesArg: true, ArgType: "String", ArgDesc: "deserializer for values"},
	{Name: "version", Desc: "Display Kafka version."},
	{Name: "whitelist", Desc: "DEPRECATED, use --include instead; ignored if --include specified. Regular expression specifying list of topics to include for consumption.", TakesArg: true, ArgType: "String", ArgDesc: "Java regex (String)"},
}

const (
	kafkaVersion     = "3.7.0"
	defaultFormatter = "kafka.tools.DefaultMessageFormatter"
	msgHelp          = "This tool helps to read data from Kafka topics and outputs it to standard output."
)

// Offsets --offset can name (ListOffsetsRequest.EARLIEST_TIMESTAMP / LATEST_TIMESTAMP).
const (
	offsetEarliest = -2
	offsetLatest   = -1
)

// usageError is printUsageAndExit: the message and the option table on stderr, exit 1.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// uncaught is an exception thrown by the ConsumerConfig constructor, outside main's try: the JVM
// prints it as thrown in thread "main", exit 1.
type uncaught struct{ class, msg string }

func (u *uncaught) Error() string { return u.msg }

// config is ConsumerConfig after its checks.
type config struct {
	topic, include    string
	partition         *int32
	offset            int64 // offsetEarliest, offsetLatest or an offset
	hasOffset         bool
	fromBeginning     bool
	maxMessages       int // -1: unbounded
	timeoutMs         int // -1: none
	skipOnError       bool
	systestEvents     bool
	groupPassed       bool
	isolation         string
	hasIsolation      bool
	formatter         formatter
	consumerProps     map[string]string // --consumer.config plus group.id
	extraConsumerProp map[string]string // --consumer-property
	bootstrap         string
}

func convErr(err error) error {
	var oe *cli.OptionError
	if errors.As(err, &oe) {
		return &uncaught{oe.Class, oe.Msg}
	}
	return err
}

// parseConfig is the ConsumerConfig constructor. It returns nil, nil after printing the version.
func parseConfig(args []string, printVersion func()) (*config, error) {
	o, err := cli.Parse(optSpecs, args)
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if len(args) == 0 || o.Has("help") {
		return nil, &usageError{msgHelp}
	}
	if o.Has("version") {
		printVersion()
		return nil, nil
	}
	c := &config{maxMessages: -1, timeoutMs: -1, systestEvents: o.Has("enable-systest-events")}
	c.extraConsumerProp = cli.ParseKeyValueArgs(o.Values["consumer-property"])
	c.consumerProps = map[string]string{}
	if path, ok := o.Value("consumer.config"); ok {
		if c.consumerProps, err = cli.LoadProps(path); err != nil {
			var je *cli.JavaError
			errors.As(err, &je)
			return nil, &uncaught{je.Class, je.Msg}
		}
	}
	c.fromBeginning = o.Has("from-beginning")
	p, err := o.IntValue("partition")
	if err != nil {
		return nil, convErr(err)
	}
	c.partition = p
	c.skipOnError = o.Has("skip-message-on-error")
	formatterClass := defaultFormatter
	if v, ok := o.Value("formatter"); ok {
		formatterClass = v
	}
	fargs := map[string]string{}
	if path, ok := o.Value("formatter-config"); ok {
		if fargs, err = cli.LoadProps(path); err != nil {
			var je *cli.JavaError
			errors.As(err, &je)
			return nil, &uncaught{je.Class, je.Msg}
		}
	}
	for k, v := range cli.ParseKeyValueArgs(o.Values["property"]) {
		fargs[k] = v
	}
	if n, err := o.IntValue("max-messages"); err != nil {
		return nil, convErr(err)
	} else if n != nil {
		c.maxMessages = int(*n)
	}
	if n, err := o.IntValue("timeout-ms"); err != nil {
		return nil, convErr(err)
	} else if n != nil {
		c.timeoutMs = int(*n)
	}
	c.bootstrap, _ = o.Value("bootstrap-server")
	if v, ok := o.Value("key-deserializer"); ok && v != "" {
		fargs["key.deserializer"] = v
	}
	if v, ok := o.Value("value-deserializer"); ok && v != "" {
		fargs["value.deserializer"] = v
	}
	if c.formatter, err = newFormatter(formatterClass, fargs); err != nil {
		return nil, err
	}

	topic, hasTopic := o.Value("topic")
	include, hasInclude := o.Value("include")
	if !hasInclude {
		include, hasInclude = o.Value("whitelist")
	}
	if hasTopic == hasInclude {
		suffix := "()" // Scala interpolates the missing else branch as ()
		if o.Has("whitelist") {
			suffix = "--whitelist is DEPRECATED use --include instead; ignored if --include specified."
		}
		return nil, &usageError{"Exactly one of --include/--topic is required. " + suffix}
	}
	c.topic, c.include = topic, include
	if c.partition != nil {
		if !hasTopic {
			return nil, &usageError{"The topic is required when partition is specified."}
		}
		if c.fromBeginning && o.Has("offset") {
			return nil, &usageError{"Options from-beginning and offset cannot be specified together."}
		}
	} else if o.Has("offset") {
		return nil, &usageError{"The partition is required when offset is specified."}
	}
	c.offset = offsetLatest
	if v, ok := o.Value("offset"); ok {
		c.hasOffset = true
		switch strings.ToLower(v) {
		case "earliest":
			c.offset = offsetEarliest
		case "latest":
			c.offset = offsetLatest
		default:
			n, err := strconv.ParseInt(strings.ToLower(v), 10, 64)
			if err != nil || n < 0 {
				return nil, &usageError{fmt.Sprintf("The provided offset value '%s' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.", strings.ToLower(v))}
			}
			c.offset = n
		}
	} else if c.fromBeginning {
		c.offset = offsetEarliest
	}
	if !o.Has("bootstrap-server") {
		return nil, &usageError{`Missing required argument "[bootstrap-server]"`}
	}
	// The group id may come from --group, --consumer.config and --consumer-property; they must agree.
	var ids []string
	add := func(v string, ok bool) {
		if ok && !contains(ids, v) {
			ids = append(ids, v)
		}
	}
	add(o.Value("group"))
	add(lookup(c.consumerProps, "group.id"))
	add(lookup(c.extraConsumerProp, "group.id"))
	if len(ids) > 1 {
		return nil, &usageError{"The group ids provided in different places (directly using '--group', via '--consumer-property', or via '--consumer.config') do not match. Detected group ids: '" + strings.Join(ids, "', '") + "'"}
	}
	if len(ids) == 1 {
		c.consumerProps["group.id"] = ids[0]
		c.groupPassed = true
	} else {
		c.consumerProps["group.id"] = fmt.Sprintf("console-consumer-%d", rand.IntN(100000))
		if !hasKey(c.consumerProps, "enable.auto.commit") {
			c.consumerProps["enable.auto.commit"] = "false"
		}
	}
	if c.groupPassed && c.partition != nil {
		return nil, &usageError{"Options group and partition cannot be specified together."}
	}
	c.isolation, c.hasIsolation = o.Value("isolation-level")
	return c, nil
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func lookup(m map[string]string, k string) (string, bool) { v, ok := m[k]; return v, ok }

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
