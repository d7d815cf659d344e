// Package consoleconsumer is kafka-console-consumer.sh: Kafka 3.7's ConsoleConsumer, which prints
// records with the DefaultMessageFormatter. Like Kafka's, it always consumes in a group when given a
// topic or a pattern (a random "console-consumer-N" group without auto-commit unless --group), and
// assigns the partition directly with --partition.
package consoleconsumer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// ClassName is the Java class kafka-run-class.sh names for this tool.
const ClassName = "kafka.tools.ConsoleConsumer"

const loggerName = "kafka.tools.ConsoleConsumer$"

// Run executes the tool with args (argv[1:]) and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// A reader that went away (`| head`) must make writes fail, not kill the process, so that the
	// consumer commits and reports as Kafka's does.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	return run(ctx, args, stdout, stderr, time.Now)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, now func() time.Time) int {
	c, err := parseConfig(args, func() { fmt.Fprintln(stdout, kafkaVersion) })
	if err != nil {
		var u *usageError
		var x *uncaught
		switch {
		case errors.As(err, &u):
			fmt.Fprintln(stderr, u.msg)
			io.WriteString(stderr, cli.HelpText(optSpecs))
		case errors.As(err, &x):
			fmt.Fprintf(stderr, "Exception in thread \"main\" %s: %s\n", x.class, x.msg)
		default:
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	if c == nil {
		return 0
	}
	logf := func(level, msg, throwable string) {
		io.WriteString(stderr, cli.Log4jLine(now(), level, msg, loggerName, throwable))
	}
	props, err := consumerProps(c)
	if err != nil {
		var ce *conflictError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, ce.msg)
			return 1
		}
		logf("ERROR", "Unknown error when running consumer: ", exceptionString(err))
		return 1
	}
	cons, err := newConsumer(c, props)
	if err != nil {
		logf("ERROR", "Unknown error when running consumer: ", exceptionString(err))
		return 1
	}
	out := bufio.NewWriterSize(stdout, 64*1024)
	count, procErr := cons.process(ctx, c, out, stderr, logf)
	out.Flush()
	cons.close(logf)
	fmt.Fprintf(stderr, "Processed a total of %d messages\n", count)
	if procErr != nil {
		logf("ERROR", "Unknown error when running consumer: ", exceptionString(procErr))
		return 1
	}
	if code := cli.SignalExitCode(ctx); code != 0 {
		if c.systestEvents {
			fmt.Fprintln(stdout, "shutdown_complete")
		}
		return code
	}
	return 0
}

// conflictError is setAutoOffsetResetValue's complaint, printed alone before exiting 1.
type conflictError struct{ msg string }

func (e *conflictError) Error() string { return e.msg }

// configException is org.apache.kafka.common.config.ConfigException.
type configException struct{ msg string }

func (e *configException) Error() string { return e.msg }

// consumerProps is ConsoleConsumer.consumerProps: the properties the KafkaConsumer is created with.
func consumerProps(c *config) (map[string]string, error) {
	props := map[string]string{}
	for k, v := range c.consumerProps {
		props[k] = v
	}
	for k, v := range c.extraConsumerProp {
		props[k] = v
	}
	if v, ok := props["auto.offset.reset"]; ok {
		if c.fromBeginning && v != "earliest" {
			return nil, &conflictError{fmt.Sprintf("Can't simultaneously specify --from-beginning and 'auto.offset.reset=%s', please remove one option", v)}
		}
	} else if c.fromBeginning {
		props["auto.offset.reset"] = "earliest"
	} else {
		props["auto.offset.reset"] = "latest"
	}
	props["bootstrap.servers"] = c.bootstrap
	if _, ok := props["client.id"]; !ok {
		props["client.id"] = "console-consumer"
	}
	if _, ok := props["isolation.level"]; c.hasIsolation || !ok {
		props["isolation.level"] = "read_uncommitted"
		if c.hasIsolation {
			props["isolation.level"] = c.isolation
		}
	}
	return props, nil
}

// exceptionString is an exception's toString.
func exceptionString(err error) string {
	var ce *configException
	var se *serializationError
	var ke *kerr.Error
	switch {
	case errors.As(err, &ce):
		return "org.apache.kafka.common.config.ConfigException: " + ce.msg
	case errors.As(err, &se):
		return se.class + ": " + se.msg
	case errors.As(err, &ke):
		je := cli.KafkaError(ke.Code, nil)
		return je.Class + ": " + je.Msg
	}
	return "org.apache.kafka.common.KafkaException: " + err.Error()
}

// consumer is ConsumerWrapper over a franz-go client.
type consumer struct {
	cl         *kgo.Client
	group      bool
	autoCommit bool
	pending    []*kgo.Record // fetched, not yet printed
}

func newConsumer(c *config, props map[string]string) (*consumer, error) {
	opts, autoCommit, err := clientOpts(c, props)
	if err != nil {
		return nil, err
	}
	cons := &consumer{group: c.partition == nil, autoCommit: autoCommit && c.partition == nil}
	if cons.autoCommit {
		reset := props["auto.offset.reset"]
		opts = append(opts, kgo.OnOffsetsFetched(func(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
			markStartPositions(ctx, cl, resp, reset)
			return nil
		}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, &configException{err.Error()}
	}
	cons.cl = cl
	return cons, nil
}

// markStartPositions marks for commit the starting position of assigned partitions the group has no
// offset for, as the Java consumer's auto-commit commits every assigned partition's position (so
// --describe shows them) even when nothing was read from it.
func markStartPositions(ctx context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse, reset string) {
	spec := int64(-1)
	switch reset {
	case "earliest":
		spec = -2
	case "latest":
	default:
		return
	}
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	seen := map[string]map[int32]bool{}
	add := func(topic string, partition int32, offset int64) {
		if offset >= 0 || seen[topic][partition] {
			return
		}
		if seen[topic] == nil {
			seen[topic] = map[int32]bool{}
		}
		seen[topic][partition] = true
		var rt *kmsg.ListOffsetsRequestTopic
		for i := range req.Topics {
			if req.Topics[i].Topic == topic {
				rt = &req.Topics[i]
			}
		}
		if rt == nil {
			req.Topics = append(req.Topics, kmsg.NewListOffsetsRequestTopic())
			rt = &req.Topics[len(req.Topics)-1]
			rt.Topic = topic
		}
		p := kmsg.NewListOffsetsRequestTopicPartition()
		p.Partition, p.Timestamp, p.CurrentLeaderEpoch = partition, spec, -1
		rt.Partitions = append(rt.Partitions, p)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			add(t.Topic, p.Partition, p.Offset)
		}
	}
	for _, g := range resp.Groups {
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				add(t.Topic, p.Partition, p.Offset)
			}
		}
	}
	if len(req.Topics) == 0 {
		return
	}
	marks := map[string]map[int32]kgo.EpochOffset{}
	for _, sh := range cl.RequestSharded(ctx, req) {
		if sh.Err != nil {
			continue
		}
		for _, t := range sh.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 || p.Offset < 0 {
					continue
				}
				if marks[t.Topic] == nil {
					marks[t.Topic] = map[int32]kgo.EpochOffset{}
				}
				marks[t.Topic][p.Partition] = kgo.EpochOffset{Epoch: -1, Offset: p.Offset}
			}
		}
	}
	cl.MarkCommitOffsets(marks)
}

// clientOpts maps the consumer properties onto franz-go options, and reports whether offsets are
// auto-committed.
func clientOpts(c *config, props map[string]string) ([]kgo.Opt, bool, error) {
	var seeds []string
	for _, s := range strings.Split(props["bootstrap.servers"], ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	opts := []kgo.Opt{kgo.SeedBrokers(seeds...), kgo.ClientID(props["client.id"])}
	// CommonClientConfigs: security.protocol with its ssl.* and sasl.* keys.
	sec, err := cli.SecurityOpts(props)
	if err != nil {
		return nil, false, &configException{err.Error()}
	}
	opts = append(opts, sec...)
	invalid := func(key, why string) error {
		return &configException{fmt.Sprintf("Invalid value %s for configuration %s: %s", props[key], key, why)}
	}
	num := func(key string) (int64, bool, error) {
		v, ok := props[key]
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < 0 {
			return 0, false, invalid(key, "Not a valid non-negative number")
		}
		return n, true, nil
	}
	ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }
	boolProp := func(key string, def bool) (bool, error) {
		v, ok := props[key]
		if !ok {
			return def, nil
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
		return false, invalid(key, "Expected value to be either true or false")
	}

	var reset kgo.Offset
	switch props["auto.offset.reset"] {
	case "earliest":
		reset = kgo.NewOffset().AtStart()
	case "latest":
		reset = kgo.NewOffset().AtEnd()
	case "none":
		reset = kgo.NoResetOffset()
	default:
		return nil, false, invalid("auto.offset.reset", "String must be one of: latest, earliest, none")
	}
	opts = append(opts, kgo.ConsumeResetOffset(reset))
	switch props["isolation.level"] {
	case "read_uncommitted":
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadUncommitted()))
	case "read_committed":
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	default:
		return nil, false, invalid("isolation.level", "String must be one of: read_committed, read_uncommitted")
	}
	if auto, err := boolProp("allow.auto.create.topics", true); err != nil {
		return nil, false, err
	} else if auto {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	for key, set := range map[string]func(int64) kgo.Opt{
		"fetch.max.wait.ms":         func(n int64) kgo.Opt { return kgo.FetchMaxWait(ms(n)) },
		"fetch.min.bytes":           func(n int64) kgo.Opt { return kgo.FetchMinBytes(int32(min(n, 1<<31-1))) },
		"fetch.max.bytes":           func(n int64) kgo.Opt { return kgo.FetchMaxBytes(int32(min(n, 1<<31-1))) },
		"max.partition.fetch.bytes": func(n int64) kgo.Opt { return kgo.FetchMaxPartitionBytes(int32(min(n, 1<<31-1))) },
		"metadata.max.age.ms":       func(n int64) kgo.Opt { return kgo.MetadataMaxAge(ms(max(n, 1))) },
	} {
		n, ok, err := num(key)
		if err != nil {
			return nil, false, err
		}
		if ok {
			opts = append(opts, set(n))
		}
	}
	if v := props["client.rack"]; v != "" {
		opts = append(opts, kgo.Rack(v))
	}

	if c.partition != nil {
		off := kgo.NewOffset().At(c.offset)
		switch c.offset {
		case offsetEarliest:
			off = kgo.NewOffset().AtStart()
		case offsetLatest:
			off = kgo.NewOffset().AtEnd()
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: {*c.partition: off}}))
		return opts, false, nil
	}

	opts = append(opts, kgo.ConsumerGroup(props["group.id"]))
	if c.include != "" {
		if _, err := regexp.Compile(c.include); err != nil {
			return nil, false, &configException{fmt.Sprintf("Invalid pattern %q: %v", c.include, err)}
		}
		opts = append(opts, kgo.ConsumeRegex(), kgo.ConsumeTopics("^(?:"+c.include+")$"))
	} else {
		opts = append(opts, kgo.ConsumeTopics(c.topic))
	}
	balancers, err := balancersFor(props)
	if err != nil {
		return nil, false, err
	}
	opts = append(opts, kgo.Balancers(balancers...))
	if v := props["group.instance.id"]; v != "" {
		opts = append(opts, kgo.InstanceID(v))
	}
	for key, set := range map[string]func(int64) kgo.Opt{
		"session.timeout.ms":      func(n int64) kgo.Opt { return kgo.SessionTimeout(ms(n)) },
		"heartbeat.interval.ms":   func(n int64) kgo.Opt { return kgo.HeartbeatInterval(ms(n)) },
		"auto.commit.interval.ms": func(n int64) kgo.Opt { return kgo.AutoCommitInterval(ms(max(n, 1))) },
	} {
		n, ok, err := num(key)
		if err != nil {
			return nil, false, err
		}
		if ok {
			opts = append(opts, set(n))
		}
	}
	rebalance := int64(300000) // max.poll.interval.ms is the JoinGroup rebalance timeout
	if n, ok, err := num("max.poll.interval.ms"); err != nil {
		return nil, false, err
	} else if ok {
		rebalance = n
	}
	opts = append(opts, kgo.RebalanceTimeout(ms(rebalance)))
	autoCommit, err := boolProp("enable.auto.commit", true)
	if err != nil {
		return nil, false, err
	}
	if autoCommit {
		opts = append(opts, kgo.AutoCommitMarks())
	} else {
		opts = append(opts, kgo.DisableAutoCommit())
	}
	return opts, autoCommit, nil
}

// balancersFor is partition.assignment.strategy (default: range, then cooperative-sticky).
func balancersFor(props map[string]string) ([]kgo.GroupBalancer, error) {
	v, ok := props["partition.assignment.strategy"]
	if !ok {
		return []kgo.GroupBalancer{kgo.RangeBalancer(), kgo.CooperativeStickyBalancer()}, nil
	}
	var out []kgo.GroupBalancer
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "class "))
		switch strings.TrimPrefix(name, "org.apache.kafka.clients.consumer.") {
		case "":
			continue
		case "RangeAssignor", "range":
			out = append(out, kgo.RangeBalancer())
		case "RoundRobinAssignor", "roundrobin":
			out = append(out, kgo.RoundRobinBalancer())
		case "StickyAssignor", "sticky":
			out = append(out, kgo.StickyBalancer())
		case "CooperativeStickyAssignor", "cooperative-sticky":
			out = append(out, kgo.CooperativeStickyBalancer())
		default:
			return nil, &configException{fmt.Sprintf("Invalid value %s for configuration partition.assignment.strategy: Class %s cannot be found", v, name)}
		}
	}
	return out, nil
}

// errTimeout is the TimeoutException receive() throws when --timeout-ms passes without a record.
var errTimeout = errors.New("org.apache.kafka.common.errors.TimeoutException")

// receive is ConsumerWrapper.receive: the next record, polling as needed. It returns nil, nil when the
// consumer is woken up (a signal).
func (cons *consumer) receive(ctx context.Context, timeoutMs int, flush func() error) (*kgo.Record, error) {
	start := time.Now()
	for len(cons.pending) == 0 {
		if err := flush(); err != nil {
			return nil, err
		}
		pollCtx, cancel := ctx, context.CancelFunc(func() {})
		if timeoutMs >= 0 {
			pollCtx, cancel = context.WithDeadline(ctx, start.Add(time.Duration(timeoutMs)*time.Millisecond))
		}
		fetches := cons.cl.PollRecords(pollCtx, 500)
		cancel()
		if ctx.Err() != nil {
			return nil, nil
		}
		if err := fatalFetchError(fetches); err != nil {
			return nil, err
		}
		fetches.EachRecord(func(r *kgo.Record) { cons.pending = append(cons.pending, r) })
		if len(cons.pending) == 0 && timeoutMs >= 0 && time.Since(start) >= time.Duration(timeoutMs)*time.Millisecond {
			return nil, errTimeout
		}
	}
	r := cons.pending[0]
	cons.pending = cons.pending[1:]
	return r, nil
}

// fatalFetchError returns the first error that the Java consumer's poll would throw; retriable errors
// and the group (re)joins franz-go reports along the way are not.
func fatalFetchError(fetches kgo.Fetches) error {
	for _, e := range fetches.Errors() {
		err := e.Err
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
			continue
		}
		var dl *kgo.ErrDataLoss
		if errors.As(err, &dl) {
			continue
		}
		var gs *kgo.ErrGroupSession
		var ke *kerr.Error
		if errors.As(err, &gs) {
			if errors.As(gs.Err, &ke) && fatalGroupError(ke) {
				return ke
			}
			continue
		}
		if errors.As(err, &ke) {
			if ke.Retriable || ke == kerr.UnknownTopicOrPartition {
				continue
			}
			return ke
		}
		return err
	}
	return nil
}

func fatalGroupError(ke *kerr.Error) bool {
	switch ke {
	case kerr.GroupAuthorizationFailed, kerr.TopicAuthorizationFailed, kerr.InvalidGroupID,
		kerr.GroupMaxSizeReached, kerr.InconsistentGroupProtocol, kerr.FencedInstanceID, kerr.UnsupportedVersion:
		return true
	}
	return false
}

// errOutput marks a failed write to stdout.
type errOutput struct{ err error }

func (e *errOutput) Error() string { return e.err.Error() }

// process is ConsoleConsumer.process: print records until --max-messages, a timeout, an error or a
// signal. It returns the number of messages processed and an error that ends the tool with exit 1.
func (cons *consumer) process(ctx context.Context, c *config, out *bufio.Writer, stderr io.Writer, logf func(level, msg, throwable string)) (int, error) {
	count := 0
	flush := func() error {
		if err := out.Flush(); err != nil {
			return &errOutput{err}
		}
		return nil
	}
	var eo *errOutput
	for c.maxMessages == -1 || count < c.maxMessages {
		r, err := cons.receive(ctx, c.timeoutMs, flush)
		switch {
		case errors.As(err, &eo):
			fmt.Fprintln(stderr, "Unable to write to standard out, closing consumer.")
			return count, nil
		case errors.Is(err, errTimeout):
			logf("ERROR", "Error processing message, terminating consumer process: ", errTimeout.Error())
			return count, nil
		case err != nil:
			logf("ERROR", "Error processing message, terminating consumer process: ", exceptionString(err))
			return count, nil
		case r == nil:
			return count, nil
		}
		count++
		if cons.autoCommit { // the record is consumed whatever happens to its output
			cons.cl.MarkCommitRecords(r)
		}
		if err := c.formatter.writeTo(out, r); err != nil {
			var se *serializationError
			if !errors.As(err, &se) {
				fmt.Fprintln(stderr, "Unable to write to standard out, closing consumer.")
				return count, nil
			}
			if !c.skipOnError {
				return count, err
			}
			logf("ERROR", "Error processing message, skipping this message: ", exceptionString(err))
		}
	}
	if flush() != nil {
		fmt.Fprintln(stderr, "Unable to write to standard out, closing consumer.")
	}
	return count, nil
}

// close is ConsumerWrapper.cleanup: commit what was printed (when auto-committing) and leave.
func (cons *consumer) close(logf func(level, msg, throwable string)) {
	if cons.autoCommit {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := cons.cl.CommitMarkedOffsets(ctx); err != nil {
			logf("WARN", "Synchronous auto-commit of offsets failed: "+err.Error(), "")
		}
		cancel()
	}
	cons.cl.Close()
}
