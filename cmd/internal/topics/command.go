// Package topics is kafka-topics.sh: Kafka 3.7's TopicCommand (org.apache.kafka.tools.TopicCommand) against
// --bootstrap-server, with its output, messages and exit codes.
package topics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

const (
	kafkaVersion = "3.7.0"
	loggerName   = "org.apache.kafka.tools.TopicCommand"

	msgNoArgs  = "Create, delete, describe, or change a topic."
	msgHelp    = "This tool helps to create, delete, describe, or change a topic."
	msgActions = "Command must include exactly one action: --list, --describe, --create, --alter or --delete"
	// kafkaConfigsHint is appended to the --alter/--config combination error.
	kafkaConfigsHint = " (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)"
)

var actionOpts = []string{"create", "list", "alter", "describe", "delete"}

// env holds what Run needs from the outside world, so tests can replace it.
type env struct {
	stdout, stderr io.Writer
	now            func() time.Time
	newAdmin       func(props map[string]string) (admin, error)
	apiTimeout     time.Duration // default.api.timeout.ms unless the command config sets it
}

// Run executes the tool with args (argv[1:]), writing to stdout/stderr, and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, now: time.Now, apiTimeout: 60 * time.Second, newAdmin: newAdminFromProps}
	return e.run(ctx, args)
}

func newAdminFromProps(props map[string]string) (admin, error) {
	timeoutMs := int32(30000) // request.timeout.ms, passed as the broker-side timeout of admin requests
	if v, err := strconv.ParseInt(props["request.timeout.ms"], 10, 32); err == nil && v > 0 {
		timeoutMs = int32(v)
	}
	return newKgoAdmin(props, timeoutMs)
}

// usageExit is CommandLineUtils.printUsageAndExit: the message and the option table on stderr, exit 1.
type usageExit struct{ msg string }

func (u *usageExit) Error() string { return u.msg }

func (e *env) run(ctx context.Context, args []string) int {
	opts, err := cli.Parse(topicOptSpecs, args)
	if err == nil {
		var code int
		code, err = e.checkArgs(opts)
		if err == nil && code >= 0 {
			return code
		}
	}
	if err != nil {
		return e.failOutside(err)
	}
	props, err := loadProps(opts)
	if err != nil {
		return e.failOutside(err)
	}
	bs, _ := opts.Value("bootstrap-server")
	props["bootstrap.servers"] = bs
	timeout := e.apiTimeout
	if v, perr := strconv.ParseInt(props["default.api.timeout.ms"], 10, 64); perr == nil && v > 0 {
		timeout = time.Duration(v) * time.Millisecond
	}
	adm, err := e.newAdmin(props)
	if err != nil {
		return e.failOutside(err)
	}
	defer adm.Close()
	c := &command{env: e, opts: opts, adm: adm, timeout: timeout}
	if err := c.execute(ctx); err != nil {
		e.printException(err)
		return 1
	}
	return 0
}

// failOutside reports an exception raised outside TopicCommand.execute's try block (option parsing and
// checks, loading --command-config): mainNoExit prints the message and the stack trace on stderr.
func (e *env) failOutside(err error) int {
	var u *usageExit
	if errors.As(err, &u) {
		fmt.Fprintln(e.stderr, u.msg)
		io.WriteString(e.stderr, cli.HelpText(topicOptSpecs))
		return 1
	}
	class, msg := javaClassOf(err)
	fmt.Fprintln(e.stderr, msg)
	fmt.Fprintf(e.stderr, "%s: %s\n\n", class, msg)
	return 1
}

// printException is TopicCommand.printException: the message on stdout, the ERROR log line on stderr.
func (e *env) printException(err error) {
	class, msg := javaClassOf(err)
	fmt.Fprintln(e.stdout, "Error while executing topic command : "+msg)
	io.WriteString(e.stderr, log4jLine(e.now(), class, msg, loggerName))
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
	if errors.Is(err, context.DeadlineExceeded) {
		return "org.apache.kafka.common.errors.TimeoutException", err.Error()
	}
	if class, msg, ok := cli.AuthErrorClass(err); ok {
		return class, msg
	}
	return "org.apache.kafka.common.KafkaException", err.Error()
}

func illegalArg(msg string) *cli.JavaError {
	return &cli.JavaError{Class: "java.lang.IllegalArgumentException", Msg: msg}
}

// checkArgs is TopicCommandOptions.checkArgs. It returns an exit code >= 0 when the tool is done.
func (e *env) checkArgs(o *cli.Parsed) (int, error) {
	if o.NArgs == 0 {
		return 0, &usageExit{msgNoArgs}
	}
	if o.Has("help") {
		return 0, &usageExit{msgHelp}
	}
	if o.Has("version") {
		fmt.Fprintln(e.stdout, kafkaVersion)
		return 0, nil
	}
	actions := 0
	for _, a := range actionOpts {
		if o.Has(a) {
			actions++
		}
	}
	if actions != 1 {
		return 0, &usageExit{msgActions}
	}
	if !o.Has("bootstrap-server") {
		return 0, illegalArg("--bootstrap-server must be specified")
	}
	if o.Has("describe") && o.Has("if-exists") {
		if !o.Has("topic") && !o.Has("topic-id") {
			return 0, &usageExit{"--topic or --topic-id is required to describe a topic"}
		}
		if o.Has("topic") && o.Has("topic-id") {
			fmt.Fprintln(e.stdout, "Only topic id will be used when both --topic and --topic-id are specified and topicId is not Uuid.ZERO_UUID")
		}
	}
	if !o.Has("list") && !o.Has("describe") && !o.Has("topic") {
		return 0, &usageExit{`Missing required argument "[topic]"`}
	}
	if o.Has("alter") {
		if o.Has("bootstrap-server") && o.Has("config") {
			return 0, &usageExit{`Option combination "[[bootstrap-server], [config]]" can't be used with option "[alter]"` + kafkaConfigsHint}
		}
		if !o.Has("partitions") {
			return 0, &usageExit{`Missing required argument "[partitions]"`}
		}
	}
	reports := []string{"under-replicated-partitions", "under-min-isr-partitions", "at-min-isr-partitions", "unavailable-partitions"}
	without := func(all []string, drop ...string) []string {
		var out []string
		for _, a := range all {
			keep := true
			for _, d := range drop {
				keep = keep && a != d
			}
			if keep {
				out = append(out, a)
			}
		}
		return out
	}
	type rule struct {
		used    string
		invalid []string
	}
	rules := []rule{
		{"config", without(actionOpts, "alter", "create")},
		{"delete-config", append(without(actionOpts, "alter"), "bootstrap-server")},
		{"partitions", without(actionOpts, "alter", "create")},
		{"replication-factor", without(actionOpts, "create")},
		{"replica-assignment", without(actionOpts, "create", "alter")},
	}
	if o.Has("create") {
		rules = append(rules, rule{"replica-assignment", []string{"partitions", "replication-factor"}})
	}
	for _, r := range reports {
		rules = append(rules, rule{r, append(append(without(actionOpts, "describe"), without(reports, r)...), "topics-with-overrides")})
	}
	rules = append(rules,
		rule{"topics-with-overrides", append(without(actionOpts, "describe"), reports...)},
		rule{"if-exists", without(actionOpts, "alter", "delete", "describe")},
		rule{"if-not-exists", without(actionOpts, "create")},
		rule{"exclude-internal", without(actionOpts, "list", "describe")},
	)
	for _, r := range rules {
		if !o.Has(r.used) {
			continue
		}
		for _, inv := range r.invalid {
			if o.Has(inv) {
				return 0, &usageExit{fmt.Sprintf(`Option "[%s]" can't be used with option "[%s]"`, r.used, inv)}
			}
		}
	}
	return -1, nil
}

// loadProps reads --command-config as Java properties (Utils.loadProps); unknown keys are ignored.
func loadProps(o *cli.Parsed) (map[string]string, error) {
	props := map[string]string{}
	path, ok := o.Value("command-config")
	if !ok {
		return props, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &cli.JavaError{Class: "java.io.FileNotFoundException", Msg: path + " (No such file or directory)"}
	}
	for k, v := range parseProperties(string(data)) {
		props[k] = v
	}
	return props, nil
}

// parseProperties handles the common subset of java.util.Properties: comments, key=value / key:value /
// key value, surrounding blanks and backslash line continuations.
func parseProperties(text string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		sep := strings.IndexAny(line, "=: \t")
		if sep < 0 {
			out[line] = ""
			continue
		}
		key := line[:sep]
		rest := strings.TrimLeft(line[sep:], " \t")
		if rest != "" && (rest[0] == '=' || rest[0] == ':') {
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		out[key] = rest
	}
	return out
}

// command runs one action against the admin client (TopicCommand.TopicService).
type command struct {
	*env
	opts    *cli.Parsed
	adm     admin
	timeout time.Duration
}

func (c *command) call(ctx context.Context, name string, f func(ctx context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	err := f(cctx)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		// The Java admin client's message when no broker answered within default.api.timeout.ms.
		return &cli.JavaError{Class: "org.apache.kafka.common.errors.TimeoutException", Msg: "Timed out waiting for a node assignment. Call: " + name}
	}
	return err
}

func (c *command) execute(ctx context.Context) error {
	switch {
	case c.opts.Has("create"):
		return c.create(ctx)
	case c.opts.Has("alter"):
		return c.alter(ctx)
	case c.opts.Has("list"):
		return c.list(ctx)
	case c.opts.Has("describe"):
		return c.describe(ctx)
	case c.opts.Has("delete"):
		return c.delete(ctx)
	}
	return nil
}

// isInternal is Topic.isInternal.
func isInternal(topic string) bool {
	return topic == "__consumer_offsets" || topic == "__transaction_state"
}

// includeList is TopicFilter.IncludeList: a Java regex that must match the whole name; commas mean "|",
// spaces and surrounding quotes are dropped.
type includeList struct{ re *regexp.Regexp }

var (
	leadingQuotes  = regexp.MustCompile(`^["']+`)
	trailingQuotes = regexp.MustCompile(`["']+$`)
)

func newIncludeList(raw string) (*includeList, error) {
	r := strings.TrimSpace(raw)
	r = strings.ReplaceAll(r, ",", "|")
	r = strings.ReplaceAll(r, " ", "")
	r = leadingQuotes.ReplaceAllString(r, "")
	r = trailingQuotes.ReplaceAllString(r, "")
	re, err := regexp.Compile("^(?:" + r + ")$")
	if err != nil {
		return nil, &cli.JavaError{Class: "java.lang.RuntimeException", Msg: r + " is an invalid regex."}
	}
	return &includeList{re: re}, nil
}

func (l *includeList) allowed(topic string, excludeInternal bool) bool {
	return l.re.MatchString(topic) && !(isInternal(topic) && excludeInternal)
}

// filterTopics is TopicCommand.doGetTopics over names already sorted.
func filterTopics(all []string, include *string, excludeInternal bool) ([]string, error) {
	var out []string
	if include != nil {
		l, err := newIncludeList(*include)
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			if l.allowed(t, excludeInternal) {
				out = append(out, t)
			}
		}
		return out, nil
	}
	for _, t := range all {
		if !(isInternal(t) && excludeInternal) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (c *command) topicOpt() *string {
	if v, ok := c.opts.Value("topic"); ok {
		return &v
	}
	return nil
}

func (c *command) getTopics(ctx context.Context) ([]string, error) {
	excl := c.opts.Has("exclude-internal")
	var listed []topicListing
	err := c.call(ctx, "listTopics", func(ctx context.Context) error {
		var err error
		listed, err = c.adm.ListTopics(ctx, !excl)
		return err
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(listed))
	for _, l := range listed {
		names = append(names, l.Name)
	}
	sort.Strings(names)
	return filterTopics(names, c.topicOpt(), excl)
}

// ensureTopicExists: a named topic (or pattern) that matched nothing is an error unless --if-exists.
func (c *command) ensureTopicExists(found []string) error {
	t := c.topicOpt()
	if t != nil && *t != "" && !c.opts.Has("if-exists") && len(found) == 0 {
		return illegalArg(fmt.Sprintf("Topic '%s' does not exist as expected", *t))
	}
	return nil
}

func (c *command) list(ctx context.Context) error {
	topics, err := c.getTopics(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, strings.Join(topics, "\n"))
	return nil
}

func (c *command) delete(ctx context.Context) error {
	topics, err := c.getTopics(ctx)
	if err != nil {
		return err
	}
	if err := c.ensureTopicExists(topics); err != nil {
		return err
	}
	if len(topics) == 0 {
		return nil
	}
	return c.call(ctx, "deleteTopics", func(ctx context.Context) error { return c.adm.DeleteTopics(ctx, topics) })
}

// topicPartitionArgs is TopicCommand.CommandTopicPartition: the values --create/--alter act on, converted
// in the order the Java constructor reads them.
type topicPartitionArgs struct {
	name       string
	partitions *int32
	rf         *int32
	assignment [][]int32
	configs    map[string]string
}

func (c *command) topicPartitionArgs() (*topicPartitionArgs, error) {
	t := &topicPartitionArgs{}
	t.name, _ = c.opts.Value("topic")
	var err error
	if t.partitions, err = c.opts.IntValue("partitions"); err != nil {
		return nil, err
	}
	if t.rf, err = c.opts.IntValue("replication-factor"); err != nil {
		return nil, err
	}
	if ra, ok := c.opts.Value("replica-assignment"); ok && ra != "" {
		if t.assignment, err = parseReplicaAssignment(ra); err != nil {
			return nil, err
		}
	}
	if t.configs, err = parseTopicConfigs(c.opts.Values["config"], c.stdout); err != nil {
		return nil, err
	}
	return t, nil
}

// parseReplicaAssignment is TopicCommand.parseReplicaAssignment: "1:2,2:3" → [[1 2] [2 3]].
func parseReplicaAssignment(s string) ([][]int32, error) {
	var out [][]int32
	for i, part := range strings.Split(s, ",") {
		var brokers []int32
		seen := map[int32]bool{}
		var dups []string
		for _, b := range strings.Split(part, ":") {
			b = strings.TrimSpace(b)
			n, err := strconv.ParseInt(b, 10, 32)
			if err != nil {
				return nil, &cli.JavaError{Class: "java.lang.NumberFormatException", Msg: fmt.Sprintf("For input string: \"%s\"", b)}
			}
			if seen[int32(n)] {
				dups = append(dups, b)
			}
			seen[int32(n)] = true
			brokers = append(brokers, int32(n))
		}
		if len(dups) > 0 {
			return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminCommandFailedException", Msg: "Partition replica lists may not contain duplicate entries: " + strings.Join(dups, ",")}
		}
		out = append(out, brokers)
		if len(brokers) != len(out[0]) {
			strs := make([]string, len(brokers))
			for j, b := range brokers {
				strs[j] = strconv.Itoa(int(b))
			}
			return nil, &cli.JavaError{Class: "org.apache.kafka.server.common.AdminOperationException", Msg: fmt.Sprintf("Partition %d has different replication factor: [%s]", i, strings.Join(strs, ", "))}
		}
	}
	return out, nil
}

var configSplit = regexp.MustCompile(`\s*=\s*`)

// parseTopicConfigs is TopicCommand.parseTopicConfigsToBeAdded: each --config must split into exactly
// key and value (Java's String.split drops trailing empty strings), names must be topic configs.
func parseTopicConfigs(raw []string, stdout io.Writer) (map[string]string, error) {
	props := map[string]string{}
	var pairs [][]string
	for _, s := range raw {
		parts := configSplit.Split(s, -1)
		for len(parts) > 0 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		pairs = append(pairs, parts)
	}
	for _, p := range pairs {
		if len(p) != 2 {
			return nil, illegalArg("requirement failed: Invalid topic config: all configs to be added must be in the format \"key=val\".")
		}
	}
	for _, p := range pairs {
		props[strings.TrimSpace(p[0])] = strings.TrimSpace(p[1])
	}
	known := map[string]bool{}
	for _, n := range topicConfigNames {
		known[n] = true
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !known[k] {
			return nil, &cli.JavaError{Class: "org.apache.kafka.common.errors.InvalidConfigurationException", Msg: "Unknown topic config name: " + k}
		}
	}
	if _, ok := props["message.format.version"]; ok {
		// Kafka 3.7 prints this template literally (a Scala interpolation left in Java code).
		fmt.Fprintln(stdout, "WARNING: The configuration ${TopicConfig.MESSAGE_FORMAT_VERSION_CONFIG}=${props.getProperty(TopicConfig.MESSAGE_FORMAT_VERSION_CONFIG)} is specified. "+
			"This configuration will be ignored if the version is newer than the inter.broker.protocol.version specified in the broker or "+
			"if the inter.broker.protocol.version is 3.0 or newer. This configuration is deprecated and it will be removed in Apache Kafka 4.0.")
	}
	return props, nil
}

func (c *command) create(ctx context.Context) error {
	t, err := c.topicPartitionArgs()
	if err != nil {
		return err
	}
	if strings.ContainsAny(t.name, "._") { // Topic.hasCollisionChars
		fmt.Fprintln(c.stdout, "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.")
	}
	if t.rf != nil && (*t.rf > 32767 || *t.rf < 1) {
		return illegalArg("The replication factor must be between 1 and 32767 inclusive")
	}
	if t.partitions != nil && *t.partitions < 1 {
		return illegalArg("The partitions must be greater than 0")
	}
	if t.name == "" {
		return &cli.JavaError{Class: "org.apache.kafka.common.errors.InvalidTopicException", Msg: "The given topic name '' cannot be represented in a request."}
	}
	spec := createSpec{Name: t.name, Partitions: -1, RF: -1, Assignment: t.assignment, Configs: t.configs}
	if t.partitions != nil {
		spec.Partitions = *t.partitions
	}
	if t.rf != nil {
		spec.RF = int16(*t.rf)
	}
	err = c.call(ctx, "createTopics", func(ctx context.Context) error { return c.adm.CreateTopic(ctx, spec) })
	if err != nil {
		var je *cli.JavaError
		if errors.As(err, &je) && je.Class == cli.ErrorClasses[topicExistsCode] && c.opts.Has("if-not-exists") {
			return nil
		}
		return err
	}
	fmt.Fprintf(c.stdout, "Created topic %s.\n", t.name)
	return nil
}

func (c *command) alter(ctx context.Context) error {
	t, err := c.topicPartitionArgs()
	if err != nil {
		return err
	}
	topics, err := c.getTopics(ctx)
	if err != nil {
		return err
	}
	if err := c.ensureTopicExists(topics); err != nil {
		return err
	}
	if len(topics) == 0 {
		return nil
	}
	totals := map[string]int32{}
	assignments := map[string][][]int32{}
	for _, name := range topics {
		totals[name] = *t.partitions
	}
	if len(t.assignment) > 0 {
		var descs []topicDesc
		err := c.call(ctx, "describeTopics", func(ctx context.Context) error {
			var err error
			descs, err = c.adm.DescribeTopics(ctx, topics)
			return err
		})
		if err != nil {
			return err
		}
		for _, d := range descs {
			// The new partitions' replicas: the assignment list minus the partitions that exist.
			if start := len(d.Partitions); start < len(t.assignment) {
				assignments[d.Name] = t.assignment[start:]
			}
		}
	}
	return c.call(ctx, "createPartitions", func(ctx context.Context) error { return c.adm.CreatePartitions(ctx, totals, assignments) })
}

// describeFilter is TopicCommand.DescribeOptions.
type describeFilter struct {
	underReplicated, unavailable, underMinISR, atMinISR, overridesOnly bool
	live                                                               map[int32]bool
}

func (f *describeFilter) describeConfigs() bool {
	return !f.unavailable && !f.underReplicated && !f.underMinISR && !f.atMinISR
}

func (f *describeFilter) describePartitions() bool { return !f.overridesOnly }

func (f *describeFilter) printPartition(p partitionInfo, ra *reassignment, minISR int) bool {
	hasLeader := p.Leader >= 0
	return f.describeConfigs() ||
		(f.underReplicated && replicationFactor(p, ra)-len(p.ISR) > 0) ||
		(f.unavailable && (!hasLeader || !f.live[p.Leader])) ||
		(f.underMinISR && (!hasLeader || len(p.ISR) < minISR)) ||
		(f.atMinISR && len(p.ISR) == minISR)
}

func (c *command) describe(ctx context.Context) error {
	if idStr, ok := c.opts.Value("topic-id"); ok {
		id, err := parseUUID(idStr)
		if err != nil {
			return err
		}
		if id != ([16]byte{}) {
			return c.describeByID(ctx, id)
		}
	}
	topics, err := c.getTopics(ctx)
	if err != nil {
		return err
	}
	if err := c.ensureTopicExists(topics); err != nil {
		return err
	}
	return c.describeNames(ctx, topics)
}

func (c *command) describeByID(ctx context.Context, id [16]byte) error {
	var listed []topicListing
	err := c.call(ctx, "listTopics", func(ctx context.Context) error {
		var err error
		listed, err = c.adm.ListTopics(ctx, !c.opts.Has("exclude-internal"))
		return err
	})
	if err != nil {
		return err
	}
	var names []string
	for _, l := range listed {
		if l.ID == id {
			names = append(names, l.Name)
		}
	}
	if len(names) == 0 {
		if !c.opts.Has("if-exists") {
			return illegalArg(fmt.Sprintf("TopicId '%s' does not exist as expected", uuidString(id)))
		}
		return nil
	}
	return c.describeNames(ctx, names)
}

// parseUUID is Uuid.fromString.
func parseUUID(s string) ([16]byte, error) {
	var id [16]byte
	if len(s) > 24 {
		return id, illegalArg(fmt.Sprintf("Input string with prefix `%s` is too long to be decoded as a base64 UUID", s[:24]))
	}
	raw, err := decodeBase64URL(s)
	if err != nil || len(raw) != 16 {
		return id, illegalArg(fmt.Sprintf("Input string `%s` decoded as %d bytes, which is not equal to the expected 16 bytes of a base64-encoded UUID", s, len(raw)))
	}
	copy(id[:], raw)
	return id, nil
}

func (c *command) describeNames(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	var (
		descs   []topicDesc
		configs map[string][]configEntry
		live    []int32
		ras     map[string]map[int32]*reassignment
	)
	err := c.call(ctx, "describeTopics", func(ctx context.Context) error {
		var err error
		descs, err = c.adm.DescribeTopics(ctx, topics)
		return err
	})
	if err != nil {
		return err
	}
	names := make([]string, len(descs))
	for i, d := range descs {
		names[i] = d.Name
	}
	if err := c.call(ctx, "describeConfigs", func(ctx context.Context) error {
		var err error
		configs, err = c.adm.DescribeConfigs(ctx, names)
		return err
	}); err != nil {
		return err
	}
	if err := c.call(ctx, "listNodes", func(ctx context.Context) error {
		var err error
		live, err = c.adm.LiveBrokers(ctx)
		return err
	}); err != nil {
		return err
	}
	if err := c.call(ctx, "listPartitionReassignments", func(ctx context.Context) error {
		var err error
		ras, err = c.adm.ListReassignments(ctx, descs)
		return err
	}); err != nil {
		return err
	}
	f := &describeFilter{
		underReplicated: c.opts.Has("under-replicated-partitions"),
		unavailable:     c.opts.Has("unavailable-partitions"),
		underMinISR:     c.opts.Has("under-min-isr-partitions"),
		atMinISR:        c.opts.Has("at-min-isr-partitions"),
		overridesOnly:   c.opts.Has("topics-with-overrides"),
		live:            map[int32]bool{},
	}
	for _, b := range live {
		f.live[b] = true
	}
	var out strings.Builder
	for _, td := range describeOrder(descs) {
		entries := configs[td.Name]
		sorted := append([]partitionInfo(nil), td.Partitions...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Partition < sorted[j].Partition })
		if f.describeConfigs() {
			hasNonDefault := false
			for _, e := range entries {
				hasNonDefault = hasNonDefault || !e.IsDefault
			}
			if !f.overridesOnly || hasNonDefault {
				if len(sorted) == 0 {
					io.WriteString(c.stdout, out.String())
					return &cli.JavaError{Class: "java.lang.IndexOutOfBoundsException", Msg: "Index 0 out of bounds for length 0"}
				}
				rf := replicationFactor(sorted[0], ras[td.Name][sorted[0].Partition])
				out.WriteString(formatTopicLine(td.Name, td.ID, len(td.Partitions), rf, entries) + "\n")
			}
		}
		if f.describePartitions() {
			minISR := minInSyncReplicas(entries)
			for _, p := range sorted {
				ra := ras[td.Name][p.Partition]
				if f.printPartition(p, ra, minISR) {
					out.WriteString(formatPartitionLine(td.Name, p, ra) + "\n")
				}
			}
		}
	}
	io.WriteString(c.stdout, out.String())
	return nil
}

func minInSyncReplicas(entries []configEntry) int {
	for _, e := range entries {
		if e.Name == "min.insync.replicas" && e.Value != nil {
			if n, err := strconv.Atoi(*e.Value); err == nil {
				return n
			}
		}
	}
	return 1
}
