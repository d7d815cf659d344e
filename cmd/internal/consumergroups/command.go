// Package consumergroups is kafka-consumer-groups.sh: Kafka 3.7's ConsumerGroupCommand
// (kafka.admin.ConsumerGroupCommand) against --bootstrap-server, with its output, messages and exit
// codes. Like Kafka's, the tool exits 0 when an admin call fails after printing "Error: ..."; only
// usage errors exit 1.
package consumergroups

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

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// ClassName is the Java class kafka-run-class.sh names for this tool.
const ClassName = "kafka.admin.ConsumerGroupCommand"

const loggerName = "kafka.admin.ConsumerGroupCommand$"

// env holds what the tool needs from the outside world, so tests can replace it.
type env struct {
	stdout, stderr io.Writer
	now            func() time.Time
	newAdmin       func(props map[string]string) (admin, error)
	readFile       func(path string) ([]byte, error)
}

// Run executes the tool with args (argv[1:]) and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr, now: time.Now, newAdmin: newKgoAdmin, readFile: os.ReadFile}
	return e.run(ctx, args)
}

// thrown is an exception the command raises itself (not through an Admin future): "failed due to"
// prints only its message.
type thrown struct{ class, msg string }

func (t *thrown) Error() string { return t.msg }

func (e *env) run(ctx context.Context, args []string) int {
	o, err := parseArgs(args)
	if err != nil {
		return e.fail(err)
	}
	done, err := checkArgs(o, e.stdout, e.stderr)
	if err != nil {
		return e.fail(err)
	}
	if done {
		return 0
	}
	props := map[string]string{}
	if path, ok := o.Value("command-config"); ok {
		if props, err = cli.LoadProps(path); err != nil {
			var je *cli.JavaError
			errors.As(err, &je)
			return e.fail(&uncaught{class: je.Class, msg: je.Msg})
		}
	}
	props["bootstrap.servers"], _ = o.Value("bootstrap-server")
	adm, err := e.newAdmin(props)
	if err != nil {
		return e.fail(&uncaught{class: "org.apache.kafka.common.KafkaException", msg: "Failed to create new KafkaAdminClient"})
	}
	s := &service{env: e, o: o, adm: adm}
	err = s.execute(ctx)
	adm.Close()
	if err == nil {
		return 0
	}
	var u *usageError
	if errors.As(err, &u) {
		return e.fail(err)
	}
	// printError("Executing consumer group command failed due to ${e.getMessage}", Some(e)).
	msg, trace := describeException(err)
	e.printError("Executing consumer group command failed due to " + msg)
	fmt.Fprintln(e.stderr, trace)
	return 0
}

// describeException returns an exception's getMessage and the first line of its stack trace. Admin
// failures surface as ExecutionException, whose message is its cause's toString.
func describeException(err error) (msg, trace string) {
	var t *thrown
	var je *cli.JavaError
	var oe *cli.OptionError
	switch {
	case errors.As(err, &t):
		return t.msg, t.class + ": " + t.msg
	case errors.As(err, &oe):
		return oe.Msg, oe.Class + ": " + oe.Msg
	case errors.As(err, &je):
		cause := je.Class + ": " + je.Msg
		return cause, "java.util.concurrent.ExecutionException: " + cause
	}
	return err.Error(), "org.apache.kafka.common.KafkaException: " + err.Error()
}

// fail reports an error that ends the tool with exit code 1.
func (e *env) fail(err error) int {
	var u *usageError
	var x *uncaught
	switch {
	case errors.As(err, &u):
		fmt.Fprintln(e.stderr, u.msg)
		io.WriteString(e.stderr, cli.HelpText(optSpecs))
	case errors.As(err, &x):
		fmt.Fprintf(e.stderr, "Exception in thread \"main\" %s: %s\n", x.class, x.msg)
	default:
		fmt.Fprintln(e.stderr, err)
	}
	return 1
}

// printError is ConsumerGroupCommand.printError: a blank line and "Error: msg" on stdout.
func (e *env) printError(msg string) { fmt.Fprintf(e.stdout, "\nError: %s\n", msg) }

func (e *env) warn(msg string) {
	io.WriteString(e.stderr, cli.Log4jLine(e.now(), "WARN", msg, loggerName, ""))
}

// service is ConsumerGroupService.
type service struct {
	*env
	o   *cli.Parsed
	adm admin

	planLoaded bool
	plan       map[string][]tpOffset // --from-file, by group
	planErr    error
}

func (s *service) execute(ctx context.Context) error {
	switch {
	case s.o.Has("list"):
		return s.listGroups(ctx)
	case s.o.Has("describe"):
		return s.describeGroups(ctx)
	case s.o.Has("delete"):
		return s.deleteGroups(ctx)
	case s.o.Has("reset-offsets"):
		plans, err := s.resetOffsets(ctx)
		if err != nil {
			return err
		}
		if s.o.Has("export") {
			fmt.Fprintln(s.stdout, exportCSV(plans, len(s.o.Values["group"]) == 1))
		} else {
			printOffsetsToReset(s.stdout, plans)
		}
		return nil
	case s.o.Has("delete-offsets"):
		return s.deleteOffsets(ctx)
	}
	return nil
}

// call bounds one admin call by --timeout (withTimeoutMs).
func (s *service) call(ctx context.Context) (context.Context, context.CancelFunc, error) {
	ms := int64(5000)
	v, err := s.o.LongValue("timeout")
	if err != nil {
		return nil, nil, err
	}
	if v != nil {
		ms = int64(int32(*v)) // .intValue()
	}
	if ms < 0 {
		return nil, nil, &thrown{class: "java.lang.IllegalArgumentException", msg: "timeoutMs must be non-negative"}
	}
	c, cancel := context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	return c, cancel, nil
}

func (s *service) listConsumerGroups(ctx context.Context, states []string) ([]groupListing, error) {
	c, cancel, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return s.adm.ListGroups(c, states)
}

func (s *service) listGroups(ctx context.Context) error {
	if s.o.Has("state") {
		var states []string
		if v, ok := s.o.Value("state"); ok && v != "" {
			var err error
			if states, err = groupStates(v); err != nil {
				return err
			}
		} else {
			states = []string{}
		}
		ls, err := s.listConsumerGroups(ctx, states)
		if err != nil {
			return err
		}
		printGroupStates(s.stdout, ls)
		return nil
	}
	ls, err := s.listConsumerGroups(ctx, nil)
	if err != nil {
		return err
	}
	for _, l := range ls {
		fmt.Fprintln(s.stdout, l.Group)
	}
	return nil
}

// groupIDs is --all-groups (every consumer group) or the --group values.
func (s *service) groupIDs(ctx context.Context) ([]string, error) {
	if s.o.Has("all-groups") {
		ls, err := s.listConsumerGroups(ctx, nil)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(ls))
		for i, l := range ls {
			ids[i] = l.Group
		}
		return ids, nil
	}
	return dedupe(s.o.Values["group"]), nil
}

func (s *service) describe(ctx context.Context, groups []string) (map[string]groupDesc, error) {
	c, cancel, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return s.adm.DescribeGroups(c, groups)
}

// committed is getCommittedOffsets: the group's committed offsets (-1: listed without an offset) and
// the partitions in the order of the HashMap the Admin client returns them in.
func (s *service) committed(ctx context.Context, group string) (map[tp]int64, []tp, error) {
	c, cancel, err := s.call(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer cancel()
	offs, order, err := s.adm.CommittedOffsets(c, group)
	if err != nil {
		return nil, nil, err
	}
	return offs, inJavaHashMapOrder(order), nil
}

func (s *service) listOffsets(ctx context.Context, tps []tp, spec int64) (map[tp]int64, error) {
	c, cancel, err := s.call(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	return s.adm.ListOffsets(c, tps, spec)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *service) describeGroups(ctx context.Context) error {
	groups, err := s.groupIDs(ctx)
	if err != nil {
		return err
	}
	verbose := s.o.Has("verbose")
	switch {
	case s.o.Has("members") && !s.o.Has("offsets"):
		descs, err := s.describe(ctx, groups)
		if err != nil {
			return err
		}
		for _, g := range sortedKeys(descs) {
			d := descs[g]
			if err := stateError(d.State); err != nil {
				return err
			}
			// Kafka 3.9 prints the members table's header whatever the state
			// (printMembers prints it outside its shouldPrintMemberState check).
			s.shouldPrintMemberState(g, d.State, len(d.Members))
			printMembers(s.stdout, g, d.Members, verbose)
		}
		return nil
	case s.o.Has("state") && !s.o.Has("offsets"):
		descs, err := s.describe(ctx, groups)
		if err != nil {
			return err
		}
		for _, g := range sortedKeys(descs) {
			d := descs[g]
			if err := stateError(d.State); err != nil {
				return err
			}
			if s.shouldPrintMemberState(g, d.State, 1) {
				printState(s.stdout, d)
			}
		}
		return nil
	}
	results, err := s.collectGroupsOffsets(ctx, groups)
	if err != nil {
		return err
	}
	for _, r := range results {
		if err := stateError(r.state); err != nil {
			return err
		}
		if s.shouldPrintMemberState(r.group, r.state, len(r.rows)) {
			printOffsets(s.stdout, r.rows)
		}
	}
	return nil
}

// stateError is the KafkaException shouldPrintMemberState throws for a state it does not know.
func stateError(state string) error {
	switch state {
	case "Dead", "Empty", "PreparingRebalance", "CompletingRebalance", "Stable":
		return nil
	}
	if state == "" {
		state = "NONE"
	}
	return &thrown{class: "org.apache.kafka.common.KafkaException", msg: fmt.Sprintf("Expected a valid consumer group state, but found '%s'.", state)}
}

// shouldPrintMemberState reports the group's state the way Kafka does before its table (known
// states only: stateError has vetted it) and whether the table is printed.
func (s *service) shouldPrintMemberState(group, state string, rows int) bool {
	switch state {
	case "Dead":
		s.printError(fmt.Sprintf("Consumer group '%s' does not exist.", group))
	case "Empty":
		fmt.Fprintf(s.stderr, "\nConsumer group '%s' has no active members.\n", group)
	case "PreparingRebalance", "CompletingRebalance":
		fmt.Fprintf(s.stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group)
	}
	return state != "Dead" && rows > 0
}

type groupOffsets struct {
	group, state string
	rows         []offsetRow
}

// collectGroupsOffsets returns each described group (sorted by id) with its state and rows: the
// partitions assigned to members (largest assignment first), then those with committed offsets but
// no owner.
func (s *service) collectGroupsOffsets(ctx context.Context, groups []string) ([]groupOffsets, error) {
	descs, err := s.describe(ctx, groups)
	if err != nil {
		return nil, err
	}
	var out []groupOffsets
	for _, g := range sortedKeys(descs) {
		d := descs[g]
		committed, committedOrder, err := s.committed(ctx, g)
		if err != nil {
			return nil, err
		}
		var members []member
		for _, m := range d.Members {
			if len(dedupe(m.Assignment)) > 0 {
				members = append(members, m)
			}
		}
		sort.SliceStable(members, func(i, j int) bool {
			return len(dedupe(members[i].Assignment)) > len(dedupe(members[j].Assignment))
		})
		var rows []offsetRow
		assigned := map[tp]bool{}
		for _, m := range members {
			tps := dedupe(m.Assignment)
			tps = reorder(tps, cli.JavaHashSetCopyOrder(tpHashes(tps))) // new HashSet<>(assignment)
			for _, t := range tps {
				assigned[t] = true
			}
			r, err := s.describePartitions(ctx, g, tps, committed, m.ID, m.Host, m.ClientID)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
		var unassigned []tp
		for _, t := range committedOrder {
			if !assigned[t] {
				unassigned = append(unassigned, t)
			}
		}
		if len(unassigned) > 0 {
			r, err := s.describePartitions(ctx, g, unassigned, committed, missing, missing, missing)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r...)
		}
		out = append(out, groupOffsets{group: g, state: d.State, rows: rows})
	}
	return out, nil
}

// describePartitions builds the rows of one member (or of the unowned partitions): sorted by
// partition, then in the order of the Scala Map of log-end offsets.
func (s *service) describePartitions(ctx context.Context, group string, tps []tp, committed map[tp]int64, consumerID, host, clientID string) ([]offsetRow, error) {
	sorted := append([]tp(nil), tps...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Partition < sorted[j].Partition })
	ends, err := s.listOffsets(ctx, sorted, -1)
	if err != nil {
		return nil, err
	}
	var rows []offsetRow
	for _, t := range inScalaMapOrder(sorted) {
		r := offsetRow{Group: group, Topic: t.Topic, Partition: strconv.Itoa(int(t.Partition)),
			Offset: missing, LEO: missing, Lag: missing, ConsumerID: consumerID, Host: host, ClientID: clientID}
		off, hasOff := committed[t]
		hasOff = hasOff && off >= 0
		if hasOff {
			r.Offset = strconv.FormatInt(off, 10)
		}
		if end, ok := ends[t]; ok {
			r.LEO = strconv.FormatInt(end, 10)
			if hasOff && off != -1 {
				r.Lag = strconv.FormatInt(end-off, 10)
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func (s *service) deleteGroups(ctx context.Context) error {
	groups, err := s.groupIDs(ctx)
	if err != nil {
		return err
	}
	c, cancel, err := s.call(ctx)
	if err != nil {
		return err
	}
	results, err := s.adm.DeleteGroups(c, groups)
	cancel()
	if err != nil {
		return err
	}
	// The results are a Scala mutable.HashMap keyed by group id.
	ids := sortedKeys(results)
	ids = reorder(ids, scalaMutableHashMapOrder(cli.JavaStringHashes(ids)))
	var ok, failed []string
	for _, g := range ids {
		if results[g] == nil {
			ok = append(ok, g)
		} else {
			failed = append(failed, g)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(s.stdout, "Deletion of requested consumer groups (%s) was successful.\n", quoteList(ok))
		return nil
	}
	s.printError("Deletion of some consumer groups failed:")
	for _, g := range failed {
		_, trace := describeException(results[g])
		fmt.Fprintf(s.stdout, "* Group '%s' could not be deleted due to: %s\n", g, trace)
	}
	if len(ok) > 0 {
		fmt.Fprintf(s.stdout, "\nThese consumer groups were deleted successfully: %s\n", quoteList(ok))
	}
	return nil
}

// quoteList is mkString("'", "', '", "'").
func quoteList(ids []string) string {
	out := "'"
	for i, id := range ids {
		if i > 0 {
			out += "', '"
		}
		out += id
	}
	return out + "'"
}

func (s *service) deleteOffsets(ctx context.Context) error {
	group, _ := s.o.Value("group")
	topics := s.o.Values["topic"]
	var withParts, plain []string
	for _, t := range topics {
		if strings.Contains(t, ":") {
			withParts = append(withParts, t)
		} else {
			plain = append(plain, t)
		}
	}
	var partitions []tp
	for _, a := range withParts {
		tps, err := parseTopicWithPartitions(a)
		if err != nil {
			return err
		}
		partitions = append(partitions, tps...)
	}
	type result struct {
		tp  tp
		err error
	}
	var results []result
	c, cancel, err := s.call(ctx)
	if err != nil {
		return err
	}
	parts, errs, err := s.adm.TopicPartitions(c, plain)
	cancel()
	if err != nil {
		return err
	}
	for _, t := range plain {
		if e, bad := errs[t]; bad {
			results = append(results, result{tp{t, -1}, e})
			continue
		}
		ps, ok := parts[t]
		if !ok {
			results = append(results, result{tp{t, -1}, javaErr(3, nil)})
			continue
		}
		for _, p := range ps {
			partitions = append(partitions, tp{t, p})
		}
	}
	partitions = dedupe(partitions)
	c, cancel, err = s.call(ctx)
	if err != nil {
		return err
	}
	res, err := s.adm.DeleteOffsets(c, group, partitions)
	cancel()
	if err != nil {
		return err
	}
	switch code := errorCode(res.Top); code {
	case 0:
		fmt.Fprintf(s.stdout, "Request succeed for deleting offsets with topic %s group %s\n", strings.Join(topics, ", "), group)
	case 24: // INVALID_GROUP_ID
		s.printError(fmt.Sprintf("'%s' is not valid.", group))
	case 69: // GROUP_ID_NOT_FOUND
		s.printError(fmt.Sprintf("'%s' does not exist.", group))
	case 30: // GROUP_AUTHORIZATION_FAILED
		s.printError(fmt.Sprintf("Access to '%s' is not authorized.", group))
	case 68: // NON_EMPTY_GROUP
		s.printError(fmt.Sprintf("Deleting offsets of a consumer group '%s' is forbidden if the group is not empty.", group))
	case 86, 29, 3: // GROUP_SUBSCRIBED_TO_TOPIC, TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION
		s.printError("Encounter some partition level error, see the follow-up details:")
	default:
		s.printError(fmt.Sprintf("Encounter some unknown error: %s", errorName(res.Top)))
	}
	for _, pe := range res.Partitions {
		results = append(results, result{pe.TP, pe.Err})
	}
	sort.SliceStable(results, func(i, j int) bool {
		return results[i].tp.Topic+strconv.Itoa(int(results[i].tp.Partition)) < results[j].tp.Topic+strconv.Itoa(int(results[j].tp.Partition))
	})
	rows := make([]deleteOffsetRow, len(results))
	for i, r := range results {
		rows[i] = deleteOffsetRow{Topic: r.tp.Topic, Partition: "Not Provided", Status: "Successful"}
		if r.tp.Partition >= 0 {
			rows[i].Partition = strconv.Itoa(int(r.tp.Partition))
		}
		if r.err != nil {
			msg, _ := describeException(r.err)
			rows[i].Status = "Error: " + msg
		}
	}
	printDeleteOffsets(s.stdout, rows)
	return nil
}
