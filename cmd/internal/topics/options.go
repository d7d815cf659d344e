package topics

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// optSpec describes one long option the way jopt-simple's OptionParser knows it.
type optSpec struct {
	name     string
	desc     string
	argDesc  string // describedAs(...) when the option takes an argument
	argType  string // "String" or "Integer"
	takesArg bool
}

// The options of Kafka 3.7's TopicCommand (plus --help/--version from CommandDefaultOptions).
var topicOptSpecs = []optSpec{
	{name: "alter", desc: "Alter the number of partitions and replica assignment. Update the configuration of an existing topic via --alter is no longer supported here (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option)."},
	{name: "at-min-isr-partitions", desc: "if set when describing topics, only show partitions whose isr count is equal to the configured minimum."},
	{name: "bootstrap-server", desc: "REQUIRED: The Kafka server to connect to.", takesArg: true, argType: "String", argDesc: "server to connect to"},
	{name: "command-config", desc: "Property file containing configs to be passed to Admin Client. This is used only with --bootstrap-server option for describing and altering broker configs.", takesArg: true, argType: "String", argDesc: "command config property file"},
	{name: "config", desc: "A topic configuration override for the topic being created. The following is a list of valid configurations: \n" + configNamesHelp() + "See the Kafka documentation for full details on the topic configs. It is supported only in combination with --create if --bootstrap-server option is used (the kafka-configs CLI supports altering topic configs with a --bootstrap-server option).", takesArg: true, argType: "String", argDesc: "name=value"},
	{name: "create", desc: "Create a new topic."},
	{name: "delete", desc: "Delete a topic"},
	{name: "delete-config", desc: "A topic configuration override to be removed for an existing topic (see the list of configurations under the --config option). Not supported with the --bootstrap-server option.", takesArg: true, argType: "String", argDesc: "name"},
	{name: "describe", desc: "List details for the given topics."},
	{name: "exclude-internal", desc: "exclude internal topics when running list or describe command. The internal topics will be listed by default"},
	{name: "help", desc: "Print usage information."},
	{name: "if-exists", desc: "if set when altering or deleting or describing topics, the action will only execute if the topic exists."},
	{name: "if-not-exists", desc: "if set when creating topics, the action will only execute if the topic does not already exist."},
	{name: "list", desc: "List all available topics."},
	{name: "partitions", desc: "The number of partitions for the topic being created or altered (WARNING: If partitions are increased for a topic that has a key, the partition logic or ordering of the messages will be affected). If not supplied for create, defaults to the cluster default.", takesArg: true, argType: "Integer", argDesc: "# of partitions"},
	{name: "replica-assignment", desc: "A list of manual partition-to-broker assignments for the topic being created or altered.", takesArg: true, argType: "String", argDesc: "broker_id_for_part1_replica1 : broker_id_for_part1_replica2 , broker_id_for_part2_replica1 : broker_id_for_part2_replica2 , ..."},
	{name: "replication-factor", desc: "The replication factor for each partition in the topic being created. If not supplied, defaults to the cluster default.", takesArg: true, argType: "Integer", argDesc: "replication factor"},
	{name: "topic", desc: "The topic to create, alter, describe or delete. It also accepts a regular expression, except for --create option. Put topic name in double quotes and use the '\\' prefix to escape regular expression symbols; e.g. \"test\\.topic\".", takesArg: true, argType: "String", argDesc: "topic"},
	{name: "topic-id", desc: "The topic-id to describe.This is used only with --bootstrap-server option for describing topics.", takesArg: true, argType: "String", argDesc: "topic-id"},
	{name: "topics-with-overrides", desc: "if set when describing topics, only show topics that have overridden configs"},
	{name: "unavailable-partitions", desc: "if set when describing topics, only show partitions whose leader is not available"},
	{name: "under-min-isr-partitions", desc: "if set when describing topics, only show partitions whose isr count is less than the configured minimum."},
	{name: "under-replicated-partitions", desc: "if set when describing topics, only show under replicated partitions"},
	{name: "version", desc: "Display Kafka version."},
}

// topicConfigNames is Kafka 3.7's LogConfig.configNames (topic-level configs), in its order.
var topicConfigNames = []string{
	"cleanup.policy", "compression.type", "delete.retention.ms", "file.delete.delay.ms", "flush.messages",
	"flush.ms", "follower.replication.throttled.replicas", "index.interval.bytes",
	"leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
	"max.compaction.lag.ms", "max.message.bytes", "message.downconversion.enable", "message.format.version",
	"message.timestamp.after.max.ms", "message.timestamp.before.max.ms", "message.timestamp.difference.max.ms",
	"message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas",
	"preallocate", "remote.storage.enable", "retention.bytes", "retention.ms", "segment.bytes",
	"segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable",
}

func configNamesHelp() string {
	var b strings.Builder
	for _, n := range topicConfigNames {
		b.WriteString("\t" + n + "\n")
	}
	return b.String()
}

// parsedArgs is the OptionSet of a parse: which options were seen and their values in order.
type parsedArgs struct {
	seen   map[string]bool
	values map[string][]string
	nonOpt []string
	nArgs  int
}

func (p *parsedArgs) has(name string) bool { return p.seen[name] }

// intValue converts an Integer option lazily, as jopt-simple's valueOf does; nil when absent.
func (p *parsedArgs) intValue(name string) (*int32, error) {
	v, ok := p.value(name)
	if !ok {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return nil, &optionError{class: "joptsimple.OptionArgumentConversionException", msg: fmt.Sprintf("Cannot parse argument '%s' of option %s", v, name)}
	}
	n32 := int32(n)
	return &n32, nil
}

// value returns the last value of an option (jopt would refuse several; last wins here).
func (p *parsedArgs) value(name string) (string, bool) {
	v := p.values[name]
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}

// optionError is a jopt-simple OptionException: its class name and message.
type optionError struct {
	class string
	msg   string
}

func (e *optionError) Error() string { return e.msg }

// lookupOption resolves a long option name, allowing unambiguous abbreviations as jopt-simple does.
func lookupOption(specs []optSpec, name string) (optSpec, bool) {
	var match []optSpec
	for _, s := range specs {
		if s.name == name {
			return s, true
		}
		if strings.HasPrefix(s.name, name) {
			match = append(match, s)
		}
	}
	if len(match) == 1 {
		return match[0], true
	}
	return optSpec{}, false
}

// parseArgs mimics jopt-simple: "--name value", "--name=value", "--" ends options, a required argument
// takes the next token whatever it looks like, unknown options fail.
func parseArgs(specs []optSpec, args []string) (*parsedArgs, error) {
	p := &parsedArgs{seen: map[string]bool{}, values: map[string][]string{}, nArgs: len(args)}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			p.nonOpt = append(p.nonOpt, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			p.nonOpt = append(p.nonOpt, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "--") {
			name = a[2:]
		} else {
			name = a[1:]
		}
		var val string
		hasVal := false
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, val, hasVal = name[:eq], name[eq+1:], true
		}
		spec, ok := lookupOption(specs, name)
		if !ok {
			return nil, &optionError{class: "joptsimple.UnrecognizedOptionException", msg: name + " is not a recognized option"}
		}
		p.seen[spec.name] = true
		if !spec.takesArg {
			if hasVal {
				return nil, &optionError{class: "joptsimple.UnrecognizedOptionException", msg: name + "=" + val + " is not a recognized option"}
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, &optionError{class: "joptsimple.OptionMissingRequiredArgumentException", msg: "Option " + spec.name + " requires an argument"}
			}
			i++
			val = args[i]
		}
		p.values[spec.name] = append(p.values[spec.name], val)
	}
	return p, nil
}

// Help layout of jopt-simple's BuiltinHelpFormatter: an 80-column table of two 39-wide columns.
const (
	helpColWidth = 39
	helpGutter   = 2
)

// helpText renders the usage table printed after a usage message.
func helpText(specs []optSpec) string {
	sorted := append([]optSpec(nil), specs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var b strings.Builder
	writeHelpRow(&b, []string{"Option"}, []string{"Description"})
	writeHelpRow(&b, []string{"------"}, []string{"-----------"})
	for _, s := range sorted {
		opt := "--" + s.name
		if s.takesArg {
			opt += " <" + s.argType + ": " + s.argDesc + ">"
		}
		left := wrapWords(opt, helpColWidth, 2)
		right := []string{""}
		if s.desc != "" {
			right = nil
			for _, para := range strings.Split(s.desc, "\n") {
				if para == "" {
					continue
				}
				right = append(right, wrapWords(para, helpColWidth, 2)...)
			}
		}
		writeHelpRow(&b, left, right)
	}
	return b.String()
}

func writeHelpRow(b *strings.Builder, left, right []string) {
	n := max(len(left), len(right))
	for i := 0; i < n; i++ {
		l, r := "", ""
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		fmt.Fprintf(b, "%-*s%*s%-*s\n", helpColWidth, l, helpGutter, "", helpColWidth, r)
	}
}

// wrapWords greedily wraps text to width; continuation lines are indented by indent spaces.
func wrapWords(text string, width, indent int) []string {
	words := strings.Fields(strings.ReplaceAll(text, "\t", " "))
	var lines []string
	cur := ""
	for _, w := range words {
		switch {
		case cur == "":
			cur = w
		case len(cur)+1+len(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = strings.Repeat(" ", indent) + w
		}
	}
	if cur != "" || len(lines) == 0 {
		lines = append(lines, cur)
	}
	return lines
}
