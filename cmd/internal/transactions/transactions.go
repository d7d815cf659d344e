// Package transactions is bin/kafka-transactions.sh, Kafka's
// TransactionsCommand (tools/src/main/java/org/apache/kafka/tools/
// TransactionsCommand.java): it lists and describes transactions and the
// producers of a partition, finds hanging transactions (open on a partition
// longer than the maximum transaction timeout, their partition unknown to
// the coordinator) and aborts one by writing an ABORT marker. Options,
// tables (ToolsUtils.prettyPrintTable: columns padded, each followed by a
// tab) and error lines are Kafka 3.9's.
package transactions

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// ClassName is the tool's main class, for kafka-run-class.sh.
const ClassName = "org.apache.kafka.tools.TransactionsCommand"

// version is what -v prints: AppInfoParser's version and commit id (the
// Kafka release whose tool this reproduces; no Kafka commit of ours).
const version = "3.9.2 (Commit:unknown)"

// newParser builds the command line of TransactionsCommand: the base
// parser and each command's sub-parser, in Kafka's order.
func newParser() *parser {
	const prog = "kafka-transactions.sh"
	p := &parser{prog: prog, subTitle: "commands", subMetavar: "COMMAND",
		description: "This tool is used to analyze the transactional state of producers in the cluster. " +
			"It can be used to detect and recover from hanging transactions."}
	p.add(&argument{flags: []string{"-h", "--help"}, help: "show this help message and exit", action: actionHelp})
	p.add(&argument{flags: []string{"-v", "--version"}, help: "show the version of this Kafka distribution and exit", action: actionVersion})
	p.add(&argument{flags: []string{"--command-config"}, help: "property file containing configs to be passed to admin client", metavar: "FILE"})
	p.add(&argument{flags: []string{"--bootstrap-server"}, help: "hostname and port for the broker to connect to, in the form `host:port`  " +
		"(multiple comma-separated entries can be given)", metavar: "host:port", required: true})
	sub := func(name, help string) *parser {
		s := &parser{prog: prog, command: name, main: p, help: help}
		s.add(&argument{flags: []string{"-h", "--help"}, help: "show this help message and exit", action: actionHelp})
		p.subs = append(p.subs, s)
		return s
	}

	list := sub("list", "list transactions")
	list.add(&argument{flags: []string{"--duration-filter"}, typ: typeLong,
		help: "Duration (in millis) to filter by: if < 0, all transactions will be returned; " +
			"otherwise, only transactions running longer than this duration will be returned"})

	describe := sub("describe", "describe the state of an active transactional-id")
	describe.description = "Describe the state of an active transactional-id."
	describe.add(&argument{flags: []string{"--transactional-id"}, help: "transactional id", required: true})

	producers := sub("describe-producers", "describe the states of active producers for a topic partition")
	producers.add(&argument{flags: []string{"--broker-id"}, typ: typeInteger, help: "optional broker id to describe the producer state on a specific replica"})
	producers.add(&argument{flags: []string{"--topic"}, help: "topic name", required: true})
	producers.add(&argument{flags: []string{"--partition"}, typ: typeInteger, help: "partition number", required: true})

	abort := sub("abort", "abort a hanging transaction (requires administrative privileges)")
	abort.add(&argument{flags: []string{"--topic"}, help: "topic name", required: true})
	abort.add(&argument{flags: []string{"--partition"}, typ: typeInteger, help: "partition number", required: true})
	newer := abort.addGroup("Brokers on versions 3.0 and above",
		"For newer brokers, only the start offset of the transaction to be aborted is required")
	abort.add(&argument{flags: []string{"--start-offset"}, typ: typeLong, help: "start offset of the transaction to abort", group: newer})
	older := abort.addGroup("Brokers on versions older than 3.0", "For older brokers, you must provide all of these arguments")
	abort.add(&argument{flags: []string{"--producer-id"}, typ: typeLong, help: "producer id", group: older})
	abort.add(&argument{flags: []string{"--producer-epoch"}, typ: typeShort, help: "producer epoch", group: older})
	abort.add(&argument{flags: []string{"--coordinator-epoch"}, typ: typeInteger, help: "coordinator epoch", group: older})

	hanging := sub("find-hanging", "find hanging transactions")
	hanging.add(&argument{flags: []string{"--broker-id"}, typ: typeInteger, help: "broker id to search for hanging transactions"})
	hanging.add(&argument{flags: []string{"--max-transaction-timeout"}, typ: typeInteger,
		help: "maximum transaction timeout in minutes to limit the scope of the search (15 minutes by default)"})
	hanging.add(&argument{flags: []string{"--topic"}, help: "topic name to limit search to (required if --partition is specified)"})
	hanging.add(&argument{flags: []string{"--partition"}, typ: typeInteger, help: "partition number"})
	return p
}

// exitError is printErrorAndExit: the message on stderr, exit status 1.
type exitError struct{ msg string }

func (e *exitError) Error() string { return e.msg }

// fail is printErrorAndExit(message, cause): "message: cause's message."
// and the hint Kafka prints after it.
func fail(message string, cause error) error {
	return &exitError{msg: message + ": " + cause.Error() + ". Enable debug logging for additional detail."}
}

// Run executes the command and returns its exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, time.Now)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	p := newParser()
	ns, sub, err := p.parse(args)
	switch e := err.(type) {
	case nil:
	case helpRequested:
		io.WriteString(stdout, e.p.helpText())
		return 1
	case versionRequested:
		fmt.Fprintln(stdout, version)
		return 0
	case *parseError:
		io.WriteString(stderr, e.text())
		return 1
	default:
		fmt.Fprintln(stderr, err)
		return 1
	}
	props := map[string]string{}
	if file, ok := ns.str("command_config"); ok {
		loaded, err := cli.LoadProps(file)
		if err != nil {
			fmt.Fprintln(stderr, fail("Failed to load admin client properties", err).Error())
			return 1
		}
		props = loaded
	}
	// KafkaAdminClient.configureDefaultApiTimeoutMs: a default.api.timeout.ms
	// set below request.timeout.ms fails the client's creation.
	if _, set := props["default.api.timeout.ms"]; set && apiTimeout(props) < requestTimeout(props) {
		fmt.Fprint(stderr, "Exception in thread \"main\" org.apache.kafka.common.KafkaException: Failed to create new KafkaAdminClient\n"+
			"Caused by: org.apache.kafka.common.config.ConfigException: The specified value of default.api.timeout.ms must be no smaller "+
			"than the value of request.timeout.ms.\n")
		return 1
	}
	bootstrap, _ := ns.str("bootstrap_server")
	props["bootstrap.servers"] = bootstrap
	cl, err := cli.AdminClient(props)
	if err != nil {
		fmt.Fprintf(stderr, "Exception in thread \"main\" org.apache.kafka.common.KafkaException: Failed to create new KafkaAdminClient\n"+
			"Caused by: %v\n", err)
		return 1
	}
	defer cl.Close()
	a := &admin{cl: cl, log: stderr, apiTimeout: apiTimeout(props), backoff: retryBackoff(props), now: now}
	var out strings.Builder
	var runErr error
	switch sub.command {
	case "list":
		runErr = listCommand(ctx, a, ns, &out)
	case "describe":
		runErr = describeCommand(ctx, a, ns, &out)
	case "describe-producers":
		runErr = describeProducersCommand(ctx, a, ns, &out)
	case "abort":
		runErr = abortCommand(ctx, a, ns)
	case "find-hanging":
		runErr = findHangingCommand(ctx, a, ns, &out)
	}
	io.WriteString(stdout, out.String())
	if runErr != nil {
		fmt.Fprintln(stderr, runErr.Error())
		return 1
	}
	return 0
}

// apiTimeout is the admin client's default.api.timeout.ms (60 s).
func apiTimeout(props map[string]string) time.Duration {
	if v, err := strconv.ParseInt(strings.TrimSpace(props["default.api.timeout.ms"]), 10, 64); err == nil && v > 0 {
		return time.Duration(v) * time.Millisecond
	}
	return 60 * time.Second
}

// requestTimeout is the admin client's request.timeout.ms (30 s).
func requestTimeout(props map[string]string) time.Duration {
	if v, err := strconv.ParseInt(strings.TrimSpace(props["request.timeout.ms"]), 10, 64); err == nil && v >= 0 {
		return time.Duration(v) * time.Millisecond
	}
	return 30 * time.Second
}

// retryBackoff is the admin client's retry.backoff.ms (100 ms).
func retryBackoff(props map[string]string) time.Duration {
	if v, err := strconv.ParseInt(strings.TrimSpace(props["retry.backoff.ms"]), 10, 64); err == nil && v >= 0 {
		return time.Duration(v) * time.Millisecond
	}
	return 100 * time.Millisecond
}

// prettyPrintTable is ToolsUtils.prettyPrintTable: every cell padded to
// its column's width and followed by a tab.
func prettyPrintTable(out *strings.Builder, headers []string, rows [][]string) {
	widths := make([]int, len(headers))
	for i, h := range headers {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i := range headers {
			widths[i] = max(widths[i], len(r[i]))
		}
	}
	line := func(r []string) {
		for i, c := range r {
			out.WriteString(c + strings.Repeat(" ", widths[i]-len(c)) + "\t")
		}
		out.WriteString("\n")
	}
	line(headers)
	for _, r := range rows {
		line(r)
	}
}

var listHeaders = []string{"TransactionalId", "Coordinator", "ProducerId", "TransactionState"}

// listCommand is ListTransactionsCommand: the listings of every broker,
// brokers in the order of the HashMap Kafka collects them in.
func listCommand(ctx context.Context, a *admin, ns namespace, out *strings.Builder) error {
	duration, ok := ns.int64("duration_filter")
	if !ok {
		duration = -1
	}
	byBroker, err := a.listTransactions(ctx, nil, duration)
	if err != nil {
		return fail("Failed to list transactions", err)
	}
	var rows [][]string
	for _, id := range brokerOrder(byBroker) {
		for _, l := range byBroker[id] {
			rows = append(rows, []string{l.transactionalID, strconv.Itoa(int(id)), strconv.FormatInt(l.producerID, 10), l.state})
		}
	}
	prettyPrintTable(out, listHeaders, rows)
	return nil
}

// brokerOrder is the iteration order of a HashMap<Integer, ...> keyed by
// broker id (Integer.hashCode is the value).
func brokerOrder[V any](m map[int32]V) []int32 {
	ids := sortedKeys(m)
	hashes := make([]int32, len(ids))
	copy(hashes, ids)
	order := cli.JavaHashMapOrder(hashes)
	out := make([]int32, len(ids))
	for i, j := range order {
		out[i] = ids[j]
	}
	return out
}

var describeHeaders = []string{"CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
	"TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"}

// describeCommand is DescribeTransactionsCommand.
func describeCommand(ctx context.Context, a *admin, ns namespace, out *strings.Builder) error {
	id, _ := ns.str("transactional_id")
	descs, failed, err := a.describeTransactions(ctx, []string{id})
	if err == nil {
		err = failed[id]
	}
	if err != nil {
		return fail("Failed to describe transaction state of transactional-id `"+id+"`", err)
	}
	d := descs[id]
	start, duration := "None", "None"
	if d.startTimeMs >= 0 {
		start = strconv.FormatInt(d.startTimeMs, 10)
		duration = strconv.FormatInt(a.now().UnixMilli()-d.startTimeMs, 10)
	}
	var parts []string
	for _, tp := range topicPartitionSetOrder(d.topicPartition) {
		parts = append(parts, tp.String())
	}
	prettyPrintTable(out, describeHeaders, [][]string{{
		strconv.Itoa(int(d.coordinatorID)), id, strconv.FormatInt(d.producerID, 10), strconv.Itoa(int(d.producerEpoch)),
		d.state, strconv.Itoa(int(d.timeoutMs)), start, duration, strings.Join(parts, ","),
	}})
	return nil
}

// topicPartitionSetOrder is the iteration order of the HashSet
// DescribeTransactionsHandler.collectTopicPartitions fills.
func topicPartitionSetOrder(tps []topicPartition) []topicPartition {
	hashes := make([]int32, len(tps))
	for i, tp := range tps {
		hashes[i] = cli.TopicPartitionHash(tp.topic, tp.partition)
	}
	out := make([]topicPartition, 0, len(tps))
	for _, i := range cli.JavaHashMapOrder(hashes) {
		out = append(out, tps[i])
	}
	return out
}

var producersHeaders = []string{"ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
	"CurrentTransactionStartOffset"}

// describeProducersCommand is DescribeProducersCommand.
func describeProducersCommand(ctx context.Context, a *admin, ns namespace, out *strings.Builder) error {
	topic, _ := ns.str("topic")
	partition, _ := ns.int32("partition")
	tp := topicPartition{topic, partition}
	var brokerID *int32
	if b, ok := ns.int32("broker_id"); ok {
		brokerID = &b
	}
	res, err := a.describeProducers(ctx, brokerID, []topicPartition{tp})
	if err != nil {
		clause := "leader"
		if brokerID != nil {
			clause = fmt.Sprintf("broker %d", *brokerID)
		}
		return fail(fmt.Sprintf("Failed to describe producers for partition %s on %s", tp, clause), err)
	}
	var rows [][]string
	for _, p := range res[tp] {
		start := "None"
		if p.txnStartOffset >= 0 {
			start = strconv.FormatInt(p.txnStartOffset, 10)
		}
		rows = append(rows, []string{strconv.FormatInt(p.producerID, 10), strconv.Itoa(int(p.producerEpoch)),
			strconv.Itoa(int(p.coordinatorEpoch)), strconv.Itoa(int(p.lastSequence)), strconv.FormatInt(p.lastTimestamp, 10), start})
	}
	prettyPrintTable(out, producersHeaders, rows)
	return nil
}

// abortCommand is AbortTransactionCommand: the transaction named by its
// start offset (looked up with DescribeProducers), or by producer id,
// epoch and coordinator epoch.
func abortCommand(ctx context.Context, a *admin, ns namespace) error {
	topic, _ := ns.str("topic")
	partition, _ := ns.int32("partition")
	tp := topicPartition{topic, partition}
	startOffset, hasStart := ns.int64("start_offset")
	producerID, hasProducer := ns.int64("producer_id")
	if !hasStart && !hasProducer {
		return &exitError{msg: "The transaction to abort must be identified either with --start-offset (for brokers on 3.0 " +
			"or above) or with --producer-id, --producer-epoch, and --coordinator-epoch (for older brokers)"}
	}
	var spec abortSpec
	if !hasStart {
		epoch, ok := ns.int16("producer_epoch")
		if !ok {
			return &exitError{msg: "Missing required argument --producer-epoch"}
		}
		coordinatorEpoch, ok := ns.int32("coordinator_epoch")
		if !ok {
			return &exitError{msg: "Missing required argument --coordinator-epoch"}
		}
		// A transaction started by a new producer id that hung before its
		// first commit or abort shows coordinator epoch -1 in
		// DescribeProducers: 0 is at most any coordinator epoch.
		spec = abortSpec{tp: tp, producerID: producerID, producerEpoch: epoch, coordinatorEpoch: max(coordinatorEpoch, 0)}
	} else {
		res, err := a.describeProducers(ctx, nil, []topicPartition{tp})
		if err != nil {
			return fail("Failed to validate producer state for partition "+tp.String(), err)
		}
		i := slices.IndexFunc(res[tp], func(p producerState) bool { return p.txnStartOffset >= 0 && p.txnStartOffset == startOffset })
		if i < 0 {
			return &exitError{msg: fmt.Sprintf("Could not find any open transactions starting at offset %d on partition %s", startOffset, tp)}
		}
		p := res[tp][i]
		spec = abortSpec{tp: tp, producerID: p.producerID, producerEpoch: int16(p.producerEpoch), coordinatorEpoch: max(p.coordinatorEpoch, 0)}
	}
	if err := a.abortTransaction(ctx, spec); err != nil {
		return fail("Failed to abort transaction "+spec.String(), err)
	}
	return nil
}
