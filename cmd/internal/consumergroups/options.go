package consumergroups

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kafkazk/kafkazk/cmd/internal/cli"
)

// The options of Kafka 3.7's ConsumerGroupCommandOptions (plus --help/--version from
// CommandDefaultOptions), with their descriptions as the help prints them.
var optSpecs = []cli.Option{
	{Name: "all-groups", Desc: "Apply to all consumer groups."},
	{Name: "all-topics", Desc: "Consider all topics assigned to a group in the `reset-offsets` process."},
	{Name: "bootstrap-server", Desc: "REQUIRED: The server(s) to connect to.", TakesArg: true, ArgType: "String", ArgDesc: "server to connect to"},
	{Name: "by-duration", Desc: "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'", TakesArg: true, ArgType: "String", ArgDesc: "duration"},
	{Name: "command-config", Desc: "Property file containing configs to be passed to Admin Client and Consumer.", TakesArg: true, ArgType: "String", ArgDesc: "command config property file"},
	{Name: "delete", Desc: "Pass in groups to delete topic partition offsets and ownership information over the entire consumer group. For instance --group g1 --group g2"},
	{Name: "delete-offsets", Desc: "Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics."},
	{Name: "describe", Desc: "Describe consumer group and list offset lag (number of messages not yet processed) related to given group."},
	{Name: "dry-run", Desc: "Only show results without executing changes on Consumer Groups. Supported operations: reset-offsets."},
	{Name: "execute", Desc: "Execute operation. Supported operations: reset-offsets."},
	{Name: "export", Desc: "Export operation execution to a CSV file. Supported operations: reset-offsets."},
	{Name: "from-file", Desc: "Reset offsets to values defined in CSV file.", TakesArg: true, ArgType: "String", ArgDesc: "path to CSV file"},
	{Name: "group", Desc: "The consumer group we wish to act on.", TakesArg: true, ArgType: "String", ArgDesc: "consumer group"},
	{Name: "help", Desc: "Print usage information."},
	{Name: "list", Desc: "List all consumer groups."},
	{Name: "members", Desc: "Describe members of the group. This option may be used with '--describe' and '--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 --describe --group group1 --members"},
	{Name: "offsets", Desc: "Describe the group and list all topic partitions in the group along with their offset lag. This is the default sub-action of and may be used with '--describe' and '--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 --describe --group group1 --offsets"},
	{Name: "reset-offsets", Desc: "Reset offsets of consumer group. Supports one consumer group at the time, and instances should be inactive\nHas 2 execution options: --dry-run (the default) to plan which offsets to reset, and --execute to update the offsets. Additionally, the --export option is used to export the results to a CSV format.\nYou must choose one of the following reset specifications: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset.\nTo define the scope use --all-topics or --topic. One scope must be specified unless you use '--from-file'."},
	{Name: "shift-by", Desc: "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative.", TakesArg: true, ArgType: "Long", ArgDesc: "number-of-offsets"},
	{Name: "state", Desc: "When specified with '--describe', includes the state of the group.\nExample: --bootstrap-server localhost:9092 --describe --group group1 --state\nWhen specified with '--list', it displays the state of all groups. It can also be used to list groups with specific states.\nExample: --bootstrap-server localhost:9092 --list --state stable,empty\nThis option may be used with '--describe', '--list' and '--bootstrap-server' options only.", OptionalArg: true, ArgType: "String"},
	{Name: "timeout", Desc: "The timeout that can be set for some use cases. For example, it can be used when describing the group to specify the maximum amount of time in milliseconds to wait before the group stabilizes (when the group is just created, or is going through some changes).", TakesArg: true, ArgType: "Long", ArgDesc: "timeout (ms)", Default: "5000"},
	{Name: "to-current", Desc: "Reset offsets to current offset."},
	{Name: "to-datetime", Desc: "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'", TakesArg: true, ArgType: "String", ArgDesc: "datetime"},
	{Name: "to-earliest", Desc: "Reset offsets to earliest offset."},
	{Name: "to-latest", Desc: "Reset offsets to latest offset."},
	{Name: "to-offset", Desc: "Reset offsets to a specific offset.", TakesArg: true, ArgType: "Long", ArgDesc: "offset"},
	{Name: "topic", Desc: "The topic whose consumer group information should be deleted or topic whose should be included in the reset offset process. In `reset-offsets` case, partitions can be specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be included in the process. Reset-offsets also supports multiple topic inputs.", TakesArg: true, ArgType: "String", ArgDesc: "topic"},
	{Name: "verbose", Desc: "Provide additional information, if any, when describing the group. This option may be used with '--offsets'/'--members'/'--state' and '--bootstrap-server' options only.\nExample: --bootstrap-server localhost:9092 --describe --group group1 --members --verbose"},
	{Name: "version", Desc: "Display Kafka version."},
}

// availableIf is jopt-simple's availableIf(...): these options are refused unless one of the others
// is present.
var availableIf = []struct {
	opt  string
	deps []string
}{
	{"members", []string{"describe"}},
	{"verbose", []string{"describe"}},
	{"offsets", []string{"describe"}},
	{"state", []string{"describe", "list"}},
}

// resetScenarios are allResetOffsetScenarioOpts, in declaration order.
var resetScenarios = []string{"to-offset", "shift-by", "to-datetime", "by-duration", "to-earliest", "to-latest", "to-current", "from-file"}

const (
	kafkaVersion = "3.7.0"
	msgHelp      = "This tool helps to list all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets."
	msgActions   = "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"
	msgNoExecute = "WARN: No action will be performed as the --execute option is missing." +
		"In a future major release, the default behavior of this command will be to prompt the user before " +
		"executing the reset rather than doing a dry run. You should add the --dry-run option explicitly " +
		"if you are scripting this command and want to keep the current default behavior without prompting."
)

// usageError is CommandLineUtils.printUsageAndExit: the message and the option table on stderr, exit 1.
type usageError struct{ msg string }

func (u *usageError) Error() string { return u.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// uncaught is an exception escaping main (the JVM prints it as thrown in thread "main"), exit 1.
type uncaught struct{ class, msg string }

func (u *uncaught) Error() string { return u.msg }

// parseArgs is the ConsumerGroupCommandOptions constructor's parser.parse: its OptionExceptions are
// not caught by ConsumerGroupCommand.main.
func parseArgs(args []string) (*cli.Parsed, error) {
	o, err := cli.Parse(optSpecs, args)
	if err != nil {
		var oe *cli.OptionError
		if errors.As(err, &oe) {
			return nil, &uncaught{class: oe.Class, msg: oe.Msg}
		}
		return nil, err
	}
	for _, a := range availableIf {
		if !o.Has(a.opt) {
			continue
		}
		ok := false
		for _, d := range a.deps {
			ok = ok || o.Has(d)
		}
		if !ok {
			return nil, &uncaught{class: "joptsimple.UnavailableOptionException",
				msg: "Option(s) [" + a.opt + "] are unavailable given other options on the command line"}
		}
	}
	return o, nil
}

// checkArgs is ConsumerGroupCommandOptions.checkArgs, then main's help/version and action checks. It
// returns done=true when the tool has finished (--version).
func checkArgs(o *cli.Parsed, stdout, stderr io.Writer) (done bool, err error) {
	if !o.Has("bootstrap-server") {
		return false, usagef(`Missing required argument "[bootstrap-server]"`)
	}
	if o.Has("describe") {
		if !o.Has("group") && !o.Has("all-groups") {
			return false, usagef("Option [describe] takes one of these options: [group], [all-groups]")
		}
		n := 0
		for _, s := range []string{"members", "offsets", "state"} {
			if o.Has(s) {
				n++
			}
		}
		if n > 1 {
			return false, usagef("Option [describe] takes at most one of these options: [members], [offsets], [state]")
		}
		if _, ok := o.Value("state"); ok {
			return false, usagef("Option [describe] does not take a value for [state]")
		}
	}
	if o.Has("delete") {
		if !o.Has("group") && !o.Has("all-groups") {
			return false, usagef("Option [delete] takes one of these options: [group], [all-groups]")
		}
		if o.Has("topic") {
			return false, usagef("The consumer does not support topic-specific offset deletion from a consumer group.")
		}
	}
	if o.Has("delete-offsets") && (!o.Has("group") || !o.Has("topic")) {
		return false, usagef("Option [delete-offsets] takes the following options: [group], [topic]")
	}
	if o.Has("reset-offsets") {
		if o.Has("dry-run") && o.Has("execute") {
			return false, usagef("Option [reset-offsets] only accepts one of [execute] and [dry-run]")
		}
		if !o.Has("dry-run") && !o.Has("execute") {
			fmt.Fprintln(stderr, msgNoExecute)
		}
		if !o.Has("group") && !o.Has("all-groups") {
			return false, usagef("Option [reset-offsets] takes one of these options: [group], [all-groups]")
		}
		for _, used := range resetScenarios {
			if !o.Has(used) {
				continue
			}
			for _, other := range resetScenarios {
				if other != used && o.Has(other) {
					return false, usagef(`Option "[%s]" can't be used with option "[%s]"`, used, other)
				}
			}
		}
	}
	if o.Has("group") && o.Has("all-groups") {
		return false, usagef(`Option "[group]" can't be used with option "[all-groups]"`)
	}
	if o.Has("group") && o.Has("list") {
		return false, usagef(`Option "[group]" can't be used with option "[list]"`)
	}
	if o.Has("topic") {
		for _, inv := range []string{"list", "describe"} {
			if o.Has(inv) {
				return false, usagef(`Option "[topic]" can't be used with option "[%s]"`, inv)
			}
		}
	}
	// CommandLineUtils.maybePrintHelpOrVersion
	if o.NArgs == 0 || o.Has("help") {
		return false, &usageError{msgHelp}
	}
	if o.Has("version") {
		fmt.Fprintln(stdout, kafkaVersion)
		return true, nil
	}
	actions := 0
	for _, a := range []string{"list", "describe", "delete", "reset-offsets", "delete-offsets"} {
		if o.Has(a) {
			actions++
		}
	}
	if actions != 1 {
		return false, &usageError{msgActions}
	}
	return false, nil
}

// groupStates is consumerGroupStatesFromString. Kafka 3.7 matches the names exactly (so its own
// example "--state stable,empty" fails there); like Kafka 3.9 we ignore case, and accept (and list)
// 3.9's ConsumerGroupState values, the new protocol's Assigning and Reconciling included.
func groupStates(input string) ([]string, error) {
	valid := []string{"PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty", "Assigning", "Reconciling"}
	var out []string
	seen := map[string]bool{}
	for _, s := range strings.Split(input, ",") {
		s = strings.TrimSpace(s)
		match := ""
		for _, v := range valid {
			if strings.EqualFold(s, v) {
				match = v
			}
		}
		if match == "" {
			return nil, &usageError{fmt.Sprintf("Invalid state list '%s'. Valid states are: %s", input, strings.Join(valid, ", "))}
		}
		if !seen[match] {
			seen[match] = true
			out = append(out, match)
		}
	}
	return out, nil
}
