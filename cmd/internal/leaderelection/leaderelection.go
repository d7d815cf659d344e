// Package leaderelection is bin/kafka-leader-election.sh, Kafka 3.7's LeaderElectionCommand: it asks
// the controller (ElectLeaders) for preferred or unclean leader elections and reports the outcome.
package leaderelection

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/magiconair/properties"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const (
	kafkaVersion = "3.7.0"
	helpText     = "This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas."
	// timeout is the command's Duration.ofMillis(30000): default.api.timeout.ms, and half of it request.timeout.ms.
	timeout = 30 * time.Second
)

var options = []cli.Option{
	{Name: "admin.config", Desc: "Configuration properties files to pass to the admin client", TakesArg: true, ArgType: "String", ArgDesc: "config file"},
	{Name: "all-topic-partitions", Desc: "Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified."},
	{Name: "bootstrap-server", Desc: "A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED.", TakesArg: true, ArgType: "String", ArgDesc: "host:port"},
	{Name: "election-type", Desc: "Type of election to attempt. Possible values are \"preferred\" for preferred leader election or \"unclean\" for unclean leader election. If preferred election is selection, the election is only performed if the current leader is not the preferred leader for the topic partition. If unclean election is selected, the election is only performed if there are no leader for the topic partition. REQUIRED.", TakesArg: true, ArgType: "[PREFERRED,UNCLEAN]", ArgDesc: "election type"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "partition", Desc: "Partition id for which to perform an election. REQUIRED if --topic is specified.", TakesArg: true, ArgType: "Integer", ArgDesc: "partition id"},
	{Name: "path-to-json-file", Desc: "The JSON file with the list  of partition for which leader elections should be performed. This is an example format. \n{\"partitions\":\n\t[{\"topic\": \"foo\", \"partition\": 1},\n\t {\"topic\": \"foobar\", \"partition\": 2}]\n}\nNot allowed if --all-topic-partitions or --topic flags are specified.", TakesArg: true, ArgType: "String", ArgDesc: "Path to JSON file"},
	{Name: "topic", Desc: "Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified.", TakesArg: true, ArgType: "String", ArgDesc: "topic name"},
	{Name: "version", Desc: "Display Kafka version."},
}

// tp is a TopicPartition; its String is Java's "topic-partition".
type tp struct {
	Topic     string
	Partition int32
}

func (p tp) String() string { return fmt.Sprintf("%s-%d", p.Topic, p.Partition) }

// electionType is org.apache.kafka.common.ElectionType.
type electionType int8

const (
	preferred electionType = 0
	unclean   electionType = 1
)

func (t electionType) String() string {
	if t == unclean {
		return "UNCLEAN"
	}
	return "PREFERRED"
}

// admin is what the command uses of Kafka's Admin client.
type admin interface {
	// ElectLeaders runs elections for the partitions (all when nil) and returns each partition's
	// error (nil on success), in the order the controller answered.
	ElectLeaders(ctx context.Context, typ electionType, parts []tp) ([]result, error)
	Close()
}

type result struct {
	TP  tp
	Err *cli.JavaError
}

// env is what a run needs from the outside world, replaceable in tests.
type env struct {
	stdout, stderr io.Writer
	newAdmin       func(props map[string]string) (admin, error)
}

// Run executes the tool with args (argv[1:]) and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, newAdmin: newKgoAdmin}
	return e.run(ctx, args)
}

// usageError is CommandLineUtils.printUsageAndExit.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

// errVersionDone ends a run after printVersionAndExit.
var errVersionDone = errors.New("version printed")

func (e *env) run(ctx context.Context, args []string) int {
	err := e.runCommand(ctx, args)
	if err == nil || errors.Is(err, errVersionDone) {
		return 0
	}
	var u *usageError
	if errors.As(err, &u) {
		fmt.Fprintln(e.stderr, u.msg)
		io.WriteString(e.stderr, cli.HelpText(options))
		return 1
	}
	// main prints the exception's message and its stack trace on stderr. Kafka 3.7 then exits 0
	// (fixed in 3.8 to exit 1, which scripts need): we exit 1.
	class, msg := javaClassOf(err)
	fmt.Fprintln(e.stderr, msg)
	fmt.Fprintf(e.stderr, "%s: %s\n\n", class, msg)
	return 1
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
	return "java.lang.RuntimeException", err.Error()
}

func commandFailed(msg string) *cli.JavaError {
	return &cli.JavaError{Class: "org.apache.kafka.server.common.AdminCommandFailedException", Msg: msg}
}

func operationError(msg string) *cli.JavaError {
	return &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: msg}
}

func (e *env) runCommand(ctx context.Context, args []string) error {
	opts, err := cli.Parse(options, args)
	if err != nil {
		return err
	}
	if len(args) == 0 || opts.Has("help") {
		return &usageError{helpText}
	}
	if opts.Has("version") {
		fmt.Fprintln(e.stdout, kafkaVersion)
		return errVersionDone
	}
	if err := validate(opts); err != nil {
		return err
	}
	typ, err := parseElectionType(opts)
	if err != nil {
		return err
	}
	var parts []tp
	if path, ok := opts.Value("path-to-json-file"); ok {
		data, err := os.ReadFile(path)
		if err != nil {
			return &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "java.nio.file.NoSuchFileException: " + path}
		}
		if parts, err = parseElectionData(string(data)); err != nil {
			return err
		}
	} else if topic, ok := opts.Value("topic"); ok {
		p, err := opts.IntValue("partition")
		if err != nil {
			return err
		}
		parts = []tp{{Topic: topic, Partition: *p}}
	}
	props := map[string]string{}
	if path, ok := opts.Value("admin.config"); ok {
		p, err := properties.LoadFile(path, properties.ISO_8859_1)
		if err != nil {
			return &cli.JavaError{Class: "java.nio.file.NoSuchFileException", Msg: path}
		}
		props = p.Map()
	}
	props["bootstrap.servers"], _ = opts.Value("bootstrap-server")
	if _, ok := props["default.api.timeout.ms"]; !ok {
		props["default.api.timeout.ms"] = strconv.Itoa(int(timeout.Milliseconds()))
	}
	if _, ok := props["request.timeout.ms"]; !ok {
		props["request.timeout.ms"] = strconv.Itoa(int(timeout.Milliseconds() / 2))
	}
	adm, err := e.newAdmin(props)
	if err != nil {
		return err
	}
	defer adm.Close()
	apiTimeout := timeout
	if v, err := strconv.ParseInt(props["default.api.timeout.ms"], 10, 64); err == nil && v > 0 {
		apiTimeout = time.Duration(v) * time.Millisecond
	}
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	return e.electLeaders(cctx, adm, typ, parts)
}

// validate is LeaderElectionCommandOptions.validate.
func validate(opts *cli.Parsed) error {
	var missing []string
	for _, o := range []string{"bootstrap-server", "election-type"} {
		if !opts.Has(o) {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		return commandFailed("Missing required option(s): " + strings.Join(missing, ", "))
	}
	n := 0
	for _, o := range []string{"topic", "all-topic-partitions", "path-to-json-file"} {
		if opts.Has(o) {
			n++
		}
	}
	if n != 1 {
		return commandFailed("One and only one of the following options is required: topic, all-topic-partitions, path-to-json-file")
	}
	if opts.Has("topic") && !opts.Has("partition") {
		return commandFailed("Missing required option(s): partition")
	}
	if !opts.Has("topic") && opts.Has("partition") {
		return commandFailed("Option partition is only allowed if topic is used")
	}
	return nil
}

// parseElectionType is jopt-simple's EnumConverter (case-insensitive), applied by valueOf.
func parseElectionType(opts *cli.Parsed) (electionType, error) {
	v, _ := opts.Value("election-type")
	switch strings.ToUpper(v) {
	case "PREFERRED":
		return preferred, nil
	case "UNCLEAN":
		return unclean, nil
	}
	return 0, &cli.JavaError{Class: "joptsimple.OptionArgumentConversionException",
		Msg: fmt.Sprintf("Cannot parse argument '%s' of option election-type", v)}
}

func (e *env) electLeaders(ctx context.Context, adm admin, typ electionType, parts []tp) error {
	results, err := adm.ElectLeaders(ctx, typ, parts)
	if err != nil {
		var je *cli.JavaError
		switch {
		case errors.As(err, &je) && je.Class == "org.apache.kafka.common.errors.TimeoutException", errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintln(e.stdout, "Timeout waiting for election results")
			return commandFailed("Timeout waiting for election results")
		case errors.As(err, &je) && je.Class == cli.ErrorClasses[kerr.ClusterAuthorizationFailed.Code]:
			fmt.Fprintln(e.stdout, "Not authorized to perform leader election")
			return commandFailed("Not authorized to perform leader election")
		case errors.As(err, &je):
			return &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "java.util.concurrent.ExecutionException: " + je.Class + ": " + je.Msg}
		}
		return &cli.JavaError{Class: "java.lang.RuntimeException", Msg: "java.util.concurrent.ExecutionException: org.apache.kafka.common.KafkaException: " + err.Error()}
	}
	var succeeded, noop, failed []result
	for _, r := range results {
		switch {
		case r.Err == nil:
			succeeded = append(succeeded, r)
		case r.Err.Class == "org.apache.kafka.common.errors.ElectionNotNeededException":
			noop = append(noop, r)
		default:
			failed = append(failed, r)
		}
	}
	if len(succeeded) > 0 {
		fmt.Fprintf(e.stdout, "Successfully completed leader election (%s) for partitions %s\n", typ, joinTPs(hashOrder(succeeded)))
	}
	if len(noop) > 0 {
		fmt.Fprintf(e.stdout, "Valid replica already elected for partitions %s\n", joinTPs(hashOrder(noop)))
	}
	if len(failed) > 0 {
		for _, r := range hashOrder(failed) {
			fmt.Fprintf(e.stdout, "Error completing leader election (%s) for partition: %s: %s: %s\n", typ, r.TP, r.Err.Class, r.Err.Msg)
		}
		return commandFailed(fmt.Sprintf("%d replica(s) could not be elected", len(failed)))
	}
	return nil
}

func joinTPs(rs []result) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.TP.String()
	}
	return strings.Join(s, ", ")
}

// hashOrder orders results as a java.util.HashSet/HashMap of TopicPartition iterates them, which is
// the order Kafka's tool prints.
func hashOrder(rs []result) []result {
	hashes := make([]int32, len(rs))
	for i, r := range rs {
		hashes[i] = cli.TopicPartitionHash(r.TP.Topic, r.TP.Partition)
	}
	out := make([]result, 0, len(rs))
	for _, i := range cli.JavaHashMapOrder(hashes) {
		out = append(out, rs[i])
	}
	return out
}

// parseElectionData is parseReplicaElectionData.
func parseElectionData(data string) ([]tp, error) {
	var js any
	dec := newDecoder(data)
	if err := dec.Decode(&js); err != nil {
		return nil, operationError("Replica election data is empty")
	}
	obj, ok := js.(map[string]any)
	if !ok {
		return nil, mappingError("Expected JSON object, received " + nodeText(js))
	}
	list, ok := obj["partitions"]
	if !ok {
		return nil, operationError("Replica election data is missing \"partitions\" field")
	}
	arr, ok := list.([]any)
	if !ok {
		return nil, mappingError("Expected JSON array, received " + nodeText(list))
	}
	var parts []tp
	count := map[tp]int{}
	for _, e := range arr {
		p, err := parsePartition(e)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
		count[p]++
	}
	var dups []result
	for p, n := range count {
		if n > 1 {
			dups = append(dups, result{TP: p})
		}
	}
	if len(dups) > 0 {
		sort.Slice(dups, func(i, j int) bool { return dups[i].TP.String() < dups[j].TP.String() })
		return nil, operationError("Replica election data contains duplicate partitions: [" + joinTPs(hashOrder(dups)) + "]")
	}
	uniq := map[tp]bool{}
	var out []tp
	for _, p := range parts {
		if !uniq[p] {
			uniq[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// kgoAdmin implements admin over a franz-go client.
type kgoAdmin struct {
	cl        *kgo.Client
	timeoutMs int32
}

func newKgoAdmin(props map[string]string) (admin, error) {
	cl, err := cli.AdminClient(props)
	if err != nil {
		return nil, err
	}
	timeoutMs := int32(timeout.Milliseconds())
	if v, err := strconv.ParseInt(props["default.api.timeout.ms"], 10, 32); err == nil && v > 0 {
		timeoutMs = int32(v)
	}
	return &kgoAdmin{cl: cl, timeoutMs: timeoutMs}, nil
}

func (a *kgoAdmin) Close() { a.cl.Close() }

func (a *kgoAdmin) ElectLeaders(ctx context.Context, typ electionType, parts []tp) ([]result, error) {
	req := kmsg.NewPtrElectLeadersRequest()
	req.ElectionType = int8(typ)
	req.TimeoutMillis = a.timeoutMs
	if parts != nil {
		req.Topics = []kmsg.ElectLeadersRequestTopic{}
		idx := map[string]int{}
		for _, p := range parts {
			i, ok := idx[p.Topic]
			if !ok {
				i = len(req.Topics)
				idx[p.Topic] = i
				rt := kmsg.NewElectLeadersRequestTopic()
				rt.Topic = p.Topic
				req.Topics = append(req.Topics, rt)
			}
			req.Topics[i].Partitions = append(req.Topics[i].Partitions, p.Partition)
		}
	}
	resp, err := req.RequestWith(ctx, a.cl)
	if err != nil {
		var ke *kerr.Error
		if errors.As(err, &ke) {
			return nil, cli.KafkaError(ke.Code, nil)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &cli.JavaError{Class: "org.apache.kafka.common.errors.TimeoutException", Msg: "Timed out waiting for a node assignment. Call: electLeaders"}
		}
		return nil, fmt.Errorf("elect leaders: %w", err)
	}
	if resp.ErrorCode != 0 {
		return nil, cli.KafkaError(resp.ErrorCode, nil)
	}
	var out []result
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			r := result{TP: tp{t.Topic, p.Partition}}
			if p.ErrorCode != 0 {
				r.Err = cli.KafkaError(p.ErrorCode, p.ErrorMessage)
			}
			out = append(out, r)
		}
	}
	return out, nil
}
