// Package reassign is bin/kafka-reassign-partitions.sh, Kafka 3.7's ReassignPartitionsCommand
// (org.apache.kafka.tools.reassign): --generate, --execute, --verify, --cancel and --list
// against --bootstrap-server, with its output, messages and exit codes.
package reassign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const (
	kafkaVersion = "3.7.0"
	helpText     = "This tool helps to move topic partitions between replicas."

	cannotExecuteBecauseOfExisting = "Cannot execute because there is an existing partition assignment.  " +
		"Use --additional to override this and create a new partition assignment in addition to the existing one. " +
		"The --additional flag can also be used to change the throttle by resubmitting the current reassignment."
	mustRunVerify = "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed."

	brokerLeaderThrottle   = "leader.replication.throttled.rate"
	brokerFollowerThrottle = "follower.replication.throttled.rate"
	brokerLogDirThrottle   = "replica.alter.log.dirs.io.max.bytes.per.second"
	topicLeaderThrottle    = "leader.replication.throttled.replicas"
	topicFollowerThrottle  = "follower.replication.throttled.replicas"
)

var options = []cli.Option{
	{Name: "additional", Desc: "Execute this reassignment in addition to any other ongoing ones. This option can also be used to change the throttle of an ongoing reassignment."},
	{Name: "bootstrap-server", Desc: "REQUIRED: the server(s) to use for bootstrapping.", TakesArg: true, ArgType: "String", ArgDesc: "Server(s) to use for bootstrapping"},
	{Name: "broker-list", Desc: "The list of brokers to which the partitions need to be reassigned in the form \"0,1,2\". This is required if --topics-to-move-json-file is used to generate reassignment configuration", TakesArg: true, ArgType: "String", ArgDesc: "brokerlist"},
	{Name: "cancel", Desc: "Cancel an active reassignment."},
	{Name: "command-config", Desc: "Property file containing configs to be passed to Admin Client.", TakesArg: true, ArgType: "String", ArgDesc: "Admin client property file"},
	{Name: "disable-rack-aware", Desc: "Disable rack aware replica assignment"},
	{Name: "execute", Desc: "Kick off the reassignment as specified by the --reassignment-json-file option."},
	{Name: "generate", Desc: "Generate a candidate partition reassignment configuration. Note that this only generates a candidate assignment, it does not execute it."},
	{Name: "help", Desc: "Print usage information."},
	{Name: "list", Desc: "List all active partition reassignments."},
	{Name: "preserve-throttles", Desc: "Do not modify broker or topic throttles."},
	{Name: "reassignment-json-file", Desc: "The JSON file with the partition reassignment configurationThe format to use is - \n{\"partitions\":\n\t[{\"topic\": \"foo\",\n\t  \"partition\": 1,\n\t  \"replicas\": [1,2,3],\n\t  \"log_dirs\": [\"dir1\",\"dir2\",\"dir3\"] }],\n\"version\":1\n}\nNote that \"log_dirs\" is optional. When it is specified, its length must equal the length of the replicas list. The value in this list can be either \"any\" or the absolution path of the log directory on the broker. If absolute log directory path is specified, the replica will be moved to the specified log directory on the broker.", TakesArg: true, ArgType: "String", ArgDesc: "manual assignment json file path"},
	{Name: "replica-alter-log-dirs-throttle", Desc: "The movement of replicas between log directories on the same broker will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s. (default: -1)", TakesArg: true, ArgType: "Long", ArgDesc: "replicaAlterLogDirsThrottle"},
	{Name: "throttle", Desc: "The movement of partitions between brokers will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s. (default: -1)", TakesArg: true, ArgType: "Long", ArgDesc: "throttle"},
	{Name: "timeout", Desc: "The maximum time in ms to wait for log directory replica assignment to begin. (default: 10000)", TakesArg: true, ArgType: "Long", ArgDesc: "timeout"},
	{Name: "topics-to-move-json-file", Desc: "Generate a reassignment configuration to move the partitions of the specified topics to the list of brokers specified by the --broker-list option. The format to use is - \n{\"topics\":\n\t[{\"topic\": \"foo\"},{\"topic\": \"foo1\"}],\n\"version\":1\n}", TakesArg: true, ArgType: "String", ArgDesc: "topics to reassign json file path"},
	{Name: "verify", Desc: "Verify if the reassignment completed as specified by the --reassignment-json-file option. If there is a throttle engaged for the replicas specified, and the rebalance has completed, the throttle will be removed"},
	{Name: "version", Desc: "Display Kafka version."},
}

var (
	validActions = []string{"generate", "execute", "verify", "cancel", "list"}
	requiredArgs = map[string][]string{
		"verify":   {"reassignment-json-file"},
		"generate": {"topics-to-move-json-file", "broker-list"},
		"execute":  {"reassignment-json-file"},
		"cancel":   {"reassignment-json-file"},
		"list":     nil,
	}
	permittedArgs = map[string][]string{
		"verify":   {"bootstrap-server", "command-config", "preserve-throttles"},
		"generate": {"bootstrap-server", "broker-list", "command-config", "disable-rack-aware"},
		"execute":  {"additional", "bootstrap-server", "command-config", "throttle", "replica-alter-log-dirs-throttle", "timeout"},
		"cancel":   {"bootstrap-server", "command-config", "preserve-throttles", "timeout"},
		"list":     {"bootstrap-server", "command-config"},
	}
)

// env is what a run needs from the outside world, replaceable in tests.
type env struct {
	stdout, stderr io.Writer
	newAdmin       func(props map[string]string) (admin, error)
	rnd            *rand.Rand
	sleep          func(ctx context.Context, d time.Duration) error
	now            func() time.Time
	callTimeout    time.Duration
}

// Run executes the tool with args (argv[1:]) and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{
		stdout: stdout, stderr: stderr,
		newAdmin:    newAdminFromProps,
		rnd:         rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
		sleep:       sleepCtx,
		now:         time.Now,
		callTimeout: 60 * time.Second,
	}
	return e.run(ctx, args)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newAdminFromProps(props map[string]string) (admin, error) {
	timeoutMs := int32(30000)
	if v, err := strconv.ParseInt(props["request.timeout.ms"], 10, 32); err == nil && v > 0 {
		timeoutMs = int32(v)
	}
	return newKgoAdmin(props, timeoutMs)
}

// usageExit is CommandLineUtils.printUsageAndExit.
func (e *env) usageExit(msg string) int {
	fmt.Fprintln(e.stderr, msg)
	io.WriteString(e.stderr, cli.HelpText(options))
	return 1
}

// terseError is org.apache.kafka.tools.TerseException: main prints only its message.
type terseError struct{ msg string }

func (t *terseError) Error() string { return t.msg }

func (e *env) run(ctx context.Context, args []string) int {
	opts, err := cli.Parse(options, args)
	if err != nil {
		// Thrown from the options' constructor, outside main's try: the JVM reports it.
		class, msg := javaClassOf(err)
		fmt.Fprintf(e.stderr, "Exception in thread \"main\" %s: %s\n", class, msg)
		return 1
	}
	if code, done := e.validate(opts, args); done {
		return code
	}
	if err := e.runAction(ctx, opts); err != nil {
		var t *terseError
		if errors.As(err, &t) {
			fmt.Fprintln(e.stdout, t.msg)
			return 1
		}
		class, msg := javaClassOf(err)
		fmt.Fprintln(e.stdout, "Error: "+msg)
		fmt.Fprintf(e.stdout, "%s: %s\n\n", class, msg)
		return 1
	}
	return 0
}

func javaClassOf(err error) (class, msg string) {
	var je *cli.JavaError
	if errors.As(err, &je) {
		return je.Class, je.Msg
	}
	var oe *cli.OptionError
	if errors.As(err, &oe) {
		return oe.Class, oe.Msg
	}
	if class, msg, ok := cli.AuthErrorClass(err); ok {
		return class, msg
	}
	return "org.apache.kafka.common.KafkaException", err.Error()
}

// validate is validateAndParseArgs; done reports that the tool has finished with code.
func (e *env) validate(opts *cli.Parsed, args []string) (code int, done bool) {
	if len(args) == 0 || opts.Has("help") {
		return e.usageExit(helpText), true
	}
	if opts.Has("version") {
		fmt.Fprintln(e.stdout, kafkaVersion)
		return 0, true
	}
	var actions []string
	for _, a := range validActions {
		if opts.Has(a) {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		names := make([]string, len(validActions))
		for i, a := range validActions {
			names[i] = "--" + a
		}
		return e.usageExit("Command must include exactly one action: " + strings.Join(names, ", ")), true
	}
	action := actions[0]
	if !opts.Has("bootstrap-server") {
		return e.usageExit("Please specify --bootstrap-server"), true
	}
	for _, r := range requiredArgs[action] {
		if !opts.Has(r) {
			return e.usageExit(fmt.Sprintf("Missing required argument \"[%s]\"", r)), true
		}
	}
	for _, o := range seenInOrder(args) {
		if o == action || contains(requiredArgs[action], o) || contains(permittedArgs[action], o) {
			continue
		}
		return e.usageExit(fmt.Sprintf("Option \"[%s]\" can't be used with action \"[%s]\"", o, action)), true
	}
	return 0, false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// seenInOrder lists the options given, once each, in the order jopt-simple detected them.
func seenInOrder(args []string) []string {
	var out []string
	seen := map[string]bool{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		hasVal := false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, hasVal = name[:eq], true
		}
		spec, ok := lookup(name)
		if !ok {
			continue
		}
		if spec.TakesArg && !hasVal {
			i++
		}
		if !seen[spec.Name] {
			seen[spec.Name] = true
			out = append(out, spec.Name)
		}
	}
	return out
}

func lookup(name string) (cli.Option, bool) {
	var match []cli.Option
	for _, s := range options {
		if s.Name == name {
			return s, true
		}
		if strings.HasPrefix(s.Name, name) {
			match = append(match, s)
		}
	}
	if len(match) == 1 {
		return match[0], true
	}
	return cli.Option{}, false
}

// longValue is valueOf on a Long option with a default.
func longValue(opts *cli.Parsed, name string, def int64) (int64, error) {
	v, ok := opts.Value(name)
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, &cli.JavaError{Class: "joptsimple.OptionArgumentConversionException", Msg: fmt.Sprintf("Cannot parse argument '%s' of option %s", v, name)}
	}
	return n, nil
}

// readFile is Utils.readFileAsString.
func readFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &cli.JavaError{Class: "java.nio.file.NoSuchFileException", Msg: path}
	}
	return string(data), nil
}

func loadProps(opts *cli.Parsed) (map[string]string, error) {
	props := map[string]string{}
	if path, ok := opts.Value("command-config"); ok {
		p, err := properties.LoadFile(path, properties.ISO_8859_1)
		if err != nil {
			return nil, &cli.JavaError{Class: "java.nio.file.NoSuchFileException", Msg: path}
		}
		for k, v := range p.Map() {
			props[k] = v
		}
	}
	bs, _ := opts.Value("bootstrap-server")
	props["bootstrap.servers"] = bs
	if _, ok := props["client.id"]; !ok {
		props["client.id"] = "reassign-partitions-tool"
	}
	return props, nil
}

func (e *env) runAction(ctx context.Context, opts *cli.Parsed) error {
	props, err := loadProps(opts)
	if err != nil {
		return err
	}
	adm, err := e.newAdmin(props)
	if err != nil {
		return err
	}
	defer adm.Close()
	c := &command{env: e, adm: adm}
	switch {
	case opts.Has("verify"):
		data, err := readFile(mustValue(opts, "reassignment-json-file"))
		if err != nil {
			return err
		}
		return c.verify(ctx, data, opts.Has("preserve-throttles"))
	case opts.Has("generate"):
		data, err := readFile(mustValue(opts, "topics-to-move-json-file"))
		if err != nil {
			return err
		}
		return c.generate(ctx, data, mustValue(opts, "broker-list"), !opts.Has("disable-rack-aware"))
	case opts.Has("execute"):
		data, err := readFile(mustValue(opts, "reassignment-json-file"))
		if err != nil {
			return err
		}
		throttle, err := longValue(opts, "throttle", -1)
		if err != nil {
			return err
		}
		logDirThrottle, err := longValue(opts, "replica-alter-log-dirs-throttle", -1)
		if err != nil {
			return err
		}
		timeout, err := longValue(opts, "timeout", 10000)
		if err != nil {
			return err
		}
		return c.execute(ctx, opts.Has("additional"), data, throttle, logDirThrottle, time.Duration(timeout)*time.Millisecond)
	case opts.Has("cancel"):
		data, err := readFile(mustValue(opts, "reassignment-json-file"))
		if err != nil {
			return err
		}
		timeout, err := longValue(opts, "timeout", 10000)
		if err != nil {
			return err
		}
		return c.cancel(ctx, data, opts.Has("preserve-throttles"), time.Duration(timeout)*time.Millisecond)
	case opts.Has("list"):
		return c.list(ctx)
	}
	return &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "Unsupported action."}
}

func mustValue(opts *cli.Parsed, name string) string {
	v, _ := opts.Value(name)
	return v
}
